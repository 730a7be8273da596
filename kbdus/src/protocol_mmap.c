// SPDX-License-Identifier: GPL-2.0
/*
 * The mmap protocol: request descriptors and payload buffers live in memory
 * shared with the driver, and KBDUS_IOCTL_MMAP_TRANSCEIVE carries only
 * handles.  Payload is copied once, between the request's pages and the
 * slot's buffer.
 *
 * kbdus only ever writes the shared memory; what the driver writes there is
 * data, never trusted as control.
 */

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "kbdus.h"

struct mmap_session {
	void *area; /* kbdus_shm_alloc(): zeroed, mappable, accounted */
	size_t area_size;
	size_t buffers_offset;
	u32 buffer_size;
	u32 num_slots;
};

static struct mmap_session *mmap_data(struct kbdus_session *session)
{
	return session->protocol_data;
}

static struct kbdus_request *mmap_slot_descriptor(struct mmap_session *ms,
						  struct kbdus_slot *slot)
{
	return (struct kbdus_request *)ms->area + slot->index;
}

static void mmap_slot_buffer_iter(struct mmap_session *ms,
				  struct kbdus_slot *slot,
				  unsigned int direction, u32 size,
				  struct kvec *kvec, struct iov_iter *iter)
{
	kvec->iov_base = ms->area + ms->buffers_offset +
			 (size_t)slot->index * ms->buffer_size;
	kvec->iov_len = size;
	iov_iter_kvec(iter, direction, kvec, 1, size);
}

/* The area's layout for a config: descriptors, then one buffer per slot. */
static size_t mmap_area_layout(const struct kbdus_device_config *config,
			       size_t *buffers_offset, u32 *buffer_size)
{
	u32 num_slots = (u32)config->num_queues * config->queue_depth;

	*buffer_size = PAGE_ALIGN(config->max_read_write_size);
	*buffers_offset = PAGE_ALIGN(num_slots * sizeof(struct kbdus_request));
	return *buffers_offset + (size_t)num_slots * *buffer_size;
}

/* Up to 64 GiB otherwise (queues x depth x 1 MiB). */
static int protocol_mmap_check(const struct kbdus_device_config *config)
{
	size_t buffers_offset;
	u32 buffer_size;

	if (mmap_area_layout(config, &buffers_offset, &buffer_size) >
	    KBDUS_MMAP_MAX_AREA_SIZE)
		return -E2BIG;
	return 0;
}

static int protocol_mmap_init(struct kbdus_session *session,
			      struct kbdus_device *kdev)
{
	struct mmap_session *ms;
	size_t buffers_offset, area_size;
	u32 buffer_size;

	area_size =
		mmap_area_layout(&kdev->config, &buffers_offset, &buffer_size);
	if (WARN_ON_ONCE(area_size > KBDUS_MMAP_MAX_AREA_SIZE))
		return -E2BIG;

	ms = kzalloc(sizeof(*ms), GFP_KERNEL_ACCOUNT);
	if (!ms)
		return -ENOMEM;

	ms->num_slots = kdev->num_slots;
	ms->buffer_size = buffer_size;
	ms->buffers_offset = buffers_offset;
	ms->area_size = area_size;
	ms->area = kbdus_shm_alloc(area_size);
	if (!ms->area) {
		kfree(ms);
		return -ENOMEM;
	}

	session->protocol_data = ms;
	return 0;
}

/* Runs at release, so no mapping of the area remains. */
static void protocol_mmap_destroy(struct kbdus_session *session)
{
	struct mmap_session *ms = mmap_data(session);

	kbdus_shm_free(ms->area);
	kfree(ms);
	session->protocol_data = NULL;
}

static int protocol_mmap_mmap(struct kbdus_session *session,
			      struct vm_area_struct *vma)
{
	struct mmap_session *ms = mmap_data(session);

	return kbdus_shm_mmap(vma, ms->area, ms->area_size, true);
}

static long mmap_ioctl_layout(struct mmap_session *ms,
			      struct kbdus_mmap_layout __user *arg)
{
	struct kbdus_mmap_layout layout = {
		.mmap_size = ms->area_size,
		.buffers_offset = ms->buffers_offset,
		.buffer_size = ms->buffer_size,
		.num_slots = ms->num_slots,
	};

	return copy_to_user(arg, &layout, sizeof(layout)) ? -EFAULT : 0;
}

static int mmap_send_reply(struct kbdus_session *session,
			   const struct kbdus_mmap_transceive_args *args)
{
	struct mmap_session *ms = mmap_data(session);
	struct kbdus_slot *slot;
	struct iov_iter iter;
	struct kvec kvec;
	int error = args->reply_error;
	u32 size;

	slot = kbdus_inverter_reply_begin(session, args->reply_handle);
	if (IS_ERR(slot))
		return PTR_ERR(slot);

	size = error ? 0 : kbdus_inverter_payload_out(slot);
	if (size) {
		mmap_slot_buffer_iter(ms, slot, ITER_SOURCE, size, &kvec,
				      &iter);
		if (kbdus_inverter_copy_from_driver(slot, &iter))
			error = EIO;
	}

	kbdus_inverter_reply_end(slot, error);
	return 0;
}

static long mmap_ioctl_transceive(struct kbdus_session *session,
				  struct kbdus_mmap_transceive_args __user *arg)
{
	struct mmap_session *ms = mmap_data(session);
	struct kbdus_mmap_transceive_args args;
	struct kbdus_request request;
	struct kbdus_slot *slot;
	struct iov_iter iter;
	struct kvec kvec;
	u32 size;
	u16 type;
	int ret;

	if (copy_from_user(&args, arg, sizeof(args)))
		return -EFAULT;
	if ((args.flags &
	     ~(KBDUS_MMAP_NO_RECEIVE | KBDUS_MMAP_REPLY_PASSTHROUGH)) ||
	    args.reserved0 || args.reserved || args.reply_error < 0 ||
	    args.reply_error > MAX_ERRNO)
		return -EINVAL;
	if (args.flags & KBDUS_MMAP_REPLY_PASSTHROUGH) {
		if (!args.reply_handle || args.reply_error ||
		    !args.reply_passthrough)
			return -EINVAL;
	} else if (args.reply_passthrough) {
		return -EINVAL;
	}

	if (args.flags & KBDUS_MMAP_REPLY_PASSTHROUGH) {
		ret = kbdus_passthrough_reply(session, args.reply_handle,
					      args.reply_passthrough);
		if (ret)
			return ret;
	} else if (args.reply_handle) {
		ret = mmap_send_reply(session, &args);
		if (ret)
			return ret;
	}
	if (args.flags & KBDUS_MMAP_NO_RECEIVE)
		return 0;

	ret = kbdus_inverter_receive(session, false, &slot, &type);
	if (ret)
		return ret;

	args.slot = KBDUS_NO_SLOT;
	args.type = type;

	if (slot) {
		kbdus_inverter_fill_request(slot, &request);
		memcpy(mmap_slot_descriptor(ms, slot), &request,
		       sizeof(request));

		size = kbdus_inverter_payload_in(slot);
		if (size) {
			mmap_slot_buffer_iter(ms, slot, ITER_DEST, size, &kvec,
					      &iter);
			/* Kernel to kernel memory: cannot fault. */
			WARN_ON_ONCE(
				kbdus_inverter_copy_to_driver(slot, &iter));
		}
		args.slot = slot->index;
	}

	if (copy_to_user(arg, &args, sizeof(args))) {
		if (slot)
			kbdus_inverter_receive_abort(session->kdev, slot);
		else if (type == KBDUS_REQ_DEVICE_AVAILABLE)
			set_bit(KBDUS_SESSION_AVAILABLE, &session->flags);
		return -EFAULT;
	}

	if (slot)
		kbdus_inverter_receive_commit(slot);
	return 0;
}

static long protocol_mmap_ioctl(struct kbdus_session *session,
				unsigned int command, void __user *arg)
{
	switch (command) {
	case KBDUS_IOCTL_MMAP_LAYOUT:
		return mmap_ioctl_layout(mmap_data(session), arg);
	case KBDUS_IOCTL_MMAP_TRANSCEIVE:
		return mmap_ioctl_transceive(session, arg);
	default:
		return -ENOIOCTLCMD;
	}
}

const struct kbdus_protocol_ops kbdus_protocol_mmap = {
	.id = KBDUS_PROTOCOL_MMAP,
	.name = "mmap",
	.check = protocol_mmap_check,
	.init = protocol_mmap_init,
	.destroy = protocol_mmap_destroy,
	.ioctl = protocol_mmap_ioctl,
	.mmap = protocol_mmap_mmap,
};
