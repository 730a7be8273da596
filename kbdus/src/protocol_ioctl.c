// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl protocol: KBDUS_IOCTL_TRANSCEIVE copies headers and payload
 * through user pointers.  Simple and portable; every byte is copied once.
 */

#include <linux/uaccess.h>
#include <linux/uio.h>

#include "kbdus.h"

static int ioctl_consume_reply(struct kbdus_session *session,
			       const struct kbdus_transceive_args *args)
{
	struct kbdus_reply reply;
	struct kbdus_slot *slot;
	struct iov_iter iter;
	u32 size;
	int error;
	int ret = 0;

	if (copy_from_user(&reply, u64_to_user_ptr(args->reply), sizeof(reply)))
		return -EFAULT;
	if ((reply.flags & ~KBDUS_REPLY_PASSTHROUGH) || reply.reserved ||
	    reply.error < 0 || reply.error > MAX_ERRNO)
		return -EINVAL;
	if (reply.flags & KBDUS_REPLY_PASSTHROUGH) {
		if (reply.error || !reply.passthrough)
			return -EINVAL;
		return kbdus_passthrough_reply(session, reply.handle,
					       reply.passthrough);
	}
	if (reply.passthrough)
		return -EINVAL;

	slot = kbdus_inverter_reply_begin(session, reply.handle);
	if (IS_ERR(slot))
		return PTR_ERR(slot);

	/* The request is ours now: whatever happens, it must be ended. */
	error = reply.error;
	size = error ? 0 : kbdus_inverter_payload_out(slot);
	if (size) {
		if (args->payload_size < size) {
			ret = -EINVAL;
		} else {
			iov_iter_ubuf(&iter, ITER_SOURCE,
				      u64_to_user_ptr(args->payload), size);
			ret = kbdus_inverter_copy_from_driver(slot, &iter);
		}
		if (ret)
			error = EIO;
	}

	kbdus_inverter_reply_end(slot, error);
	return ret;
}

static int ioctl_receive_request(struct kbdus_session *session,
				 const struct kbdus_transceive_args *args,
				 bool nonblock)
{
	struct kbdus_request request;
	struct kbdus_slot *slot;
	struct iov_iter iter;
	u32 size;
	u16 type;
	int ret;

	ret = kbdus_inverter_receive(session, nonblock, &slot, &type);
	if (ret)
		return ret;

	if (!slot) {
		memset(&request, 0, sizeof(request));
		request.type = type;
		if (!copy_to_user(u64_to_user_ptr(args->request), &request,
				  sizeof(request)))
			return 0;
		/* Deliver the notification again next time. */
		if (type == KBDUS_REQ_DEVICE_AVAILABLE)
			set_bit(KBDUS_SESSION_AVAILABLE, &session->flags);
		return -EFAULT;
	}

	kbdus_inverter_fill_request(slot, &request);

	size = kbdus_inverter_payload_in(slot);
	if (size) {
		if (args->payload_size < size) {
			ret = -EINVAL;
		} else {
			iov_iter_ubuf(&iter, ITER_DEST,
				      u64_to_user_ptr(args->payload), size);
			ret = kbdus_inverter_copy_to_driver(slot, &iter);
		}
	}
	if (!ret && copy_to_user(u64_to_user_ptr(args->request), &request,
				 sizeof(request)))
		ret = -EFAULT;

	if (ret)
		kbdus_inverter_receive_abort(session->kdev, slot);
	else
		kbdus_inverter_receive_commit(slot);
	return ret;
}

static long protocol_ioctl_ioctl(struct kbdus_session *session,
				 unsigned int command, void __user *arg)
{
	struct kbdus_transceive_args args;
	int ret;

	if (command != KBDUS_IOCTL_TRANSCEIVE)
		return -ENOIOCTLCMD;

	if (copy_from_user(&args, arg, sizeof(args)))
		return -EFAULT;
	if ((args.flags & ~KBDUS_TRANSCEIVE_NONBLOCK) ||
	    !kbdus_all_zero(args.reserved, sizeof(args.reserved)))
		return -EINVAL;

	if (args.reply) {
		ret = ioctl_consume_reply(session, &args);
		if (ret)
			return ret;
	}
	if (args.request)
		return ioctl_receive_request(
			session, &args, args.flags & KBDUS_TRANSCEIVE_NONBLOCK);
	return 0;
}

static int protocol_ioctl_init(struct kbdus_session *session,
			       struct kbdus_device *kdev)
{
	return 0;
}

static void protocol_ioctl_destroy(struct kbdus_session *session)
{
}

const struct kbdus_protocol_ops kbdus_protocol_ioctl = {
	.id = KBDUS_PROTOCOL_IOCTL,
	.name = "ioctl",
	.init = protocol_ioctl_init,
	.destroy = protocol_ioctl_destroy,
	.ioctl = protocol_ioctl_ioctl,
};
