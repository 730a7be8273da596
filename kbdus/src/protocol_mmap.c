// SPDX-License-Identifier: GPL-2.0
/*
 * The mmap protocol: request descriptors and payload buffers live in memory
 * shared with the driver, and KBDUS_IOCTL_MMAP_TRANSCEIVE carries only
 * handles.  Payload is copied once, between the request's pages and the
 * slot's buffer, which is kbdus's (mapped by the driver) or, after
 * KBDUS_IOCTL_MMAP_SET_BUFFERS, the driver's own memory.
 *
 * kbdus only ever writes the shared memory; what the driver writes there is
 * data, never trusted as control.
 */

#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "kbdus.h"

/*
 * Where a session's payload buffers are.  Decided once, under setup_lock,
 * and published by a release store of buffers_mode (read with acquire), so
 * that whoever sees the mode also sees the fields it makes valid:
 *   UNDECIDED  at first; KBDUS_IOCTL_MMAP_SET_BUFFERS makes them DRIVER,
 *              and the first mmap reaching past the descriptors or the
 *              first MMAP_TRANSCEIVE makes them KBDUS;
 *   KBDUS      buffers (kernel memory, which the driver maps);
 *   DRIVER     driver_address in driver_mm, copied to and from with the
 *              user access functions, by that process only.
 */
enum mmap_buffers_mode {
	MMAP_BUFFERS_UNDECIDED,
	MMAP_BUFFERS_KBDUS,
	MMAP_BUFFERS_DRIVER,
};

struct mmap_session {
	void *descriptors; /* kbdus_shm_alloc(): zeroed, mappable, accounted */
	size_t buffers_offset; /* the descriptor table's size, page-aligned */
	size_t area_size; /* buffers_offset + num_slots * buffer_size */
	u32 buffer_size;
	u32 num_slots;

	struct mutex setup_lock; /* serialises deciding buffers_mode */
	int buffers_mode; /* enum mmap_buffers_mode; see above */
	void *buffers; /* KBDUS: kbdus_shm_alloc() */
	u64 driver_address; /* DRIVER */
	struct mm_struct *driver_mm; /* DRIVER: mmgrab()bed */
};

static struct mmap_session *mmap_data(struct kbdus_session *session)
{
	return session->protocol_data;
}

static size_t mmap_buffers_size(const struct mmap_session *ms)
{
	return ms->area_size - ms->buffers_offset;
}

/* The session's buffers mode, deciding KBDUS (and allocating them) if
 * nothing was decided yet; -ENOMEM if they cannot be allocated. */
static int mmap_buffers_mode(struct mmap_session *ms)
{
	int mode = smp_load_acquire(&ms->buffers_mode);
	void *buffers;

	if (mode != MMAP_BUFFERS_UNDECIDED)
		return mode;

	mutex_lock(&ms->setup_lock);
	mode = ms->buffers_mode;
	if (mode == MMAP_BUFFERS_UNDECIDED) {
		buffers = kbdus_shm_alloc(mmap_buffers_size(ms));
		if (buffers) {
			ms->buffers = buffers;
			mode = MMAP_BUFFERS_KBDUS;
			smp_store_release(&ms->buffers_mode, mode);
		} else {
			mode = -ENOMEM;
		}
	}
	mutex_unlock(&ms->setup_lock);
	return mode;
}

static struct kbdus_request *mmap_slot_descriptor(struct mmap_session *ms,
						  struct kbdus_slot *slot)
{
	return (struct kbdus_request *)ms->descriptors + slot->index;
}

/* An iterator over the first size bytes of the slot's buffer, wherever
 * mode (decided) says it is. */
static void mmap_slot_buffer_iter(struct mmap_session *ms, int mode,
				  struct kbdus_slot *slot,
				  unsigned int direction, u32 size,
				  struct kvec *kvec, struct iov_iter *iter)
{
	size_t offset = (size_t)slot->index * ms->buffer_size;

	if (mode == MMAP_BUFFERS_DRIVER) {
		iov_iter_ubuf(iter, direction,
			      u64_to_user_ptr(ms->driver_address + offset),
			      size);
		return;
	}
	kvec->iov_base = ms->buffers + offset;
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

/* The buffers wait for the driver's choice (mmap_buffers_mode()). */
static int protocol_mmap_init(struct kbdus_session *session,
			      struct kbdus_device *kdev)
{
	struct mmap_session *ms;

	ms = kzalloc(sizeof(*ms), GFP_KERNEL_ACCOUNT);
	if (!ms)
		return -ENOMEM;

	ms->num_slots = kdev->num_slots;
	ms->area_size = mmap_area_layout(&kdev->config, &ms->buffers_offset,
					 &ms->buffer_size);
	if (WARN_ON_ONCE(ms->area_size > KBDUS_MMAP_MAX_AREA_SIZE)) {
		kfree(ms);
		return -E2BIG;
	}
	mutex_init(&ms->setup_lock);
	ms->buffers_mode = MMAP_BUFFERS_UNDECIDED;
	ms->descriptors = kbdus_shm_alloc(ms->buffers_offset);
	if (!ms->descriptors) {
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

	kbdus_shm_free(ms->descriptors);
	if (ms->buffers)
		kbdus_shm_free(ms->buffers);
	if (ms->driver_mm)
		mmdrop(ms->driver_mm);
	mutex_destroy(&ms->setup_lock);
	kfree(ms);
	session->protocol_data = NULL;
}

/* The descriptors, then (if the mapping reaches them) kbdus's buffers. */
static int protocol_mmap_mmap(struct kbdus_session *session,
			      struct vm_area_struct *vma)
{
	struct mmap_session *ms = mmap_data(session);
	unsigned long length = vma->vm_end - vma->vm_start;
	int mode, ret;

	ret = kbdus_shm_prepare_vma(vma, ms->area_size, true);
	if (ret)
		return ret;
	if (length > ms->buffers_offset) {
		mode = mmap_buffers_mode(ms);
		if (mode < 0)
			return mode;
		if (mode != MMAP_BUFFERS_KBDUS)
			return -EINVAL; /* the driver's: nothing to map */
	}

	ret = kbdus_shm_insert(vma, 0, ms->descriptors,
			       min_t(unsigned long, length, ms->buffers_offset));
	if (ret || length <= ms->buffers_offset)
		return ret;
	return kbdus_shm_insert(vma, ms->buffers_offset, ms->buffers,
				length - ms->buffers_offset);
}

static long mmap_ioctl_set_buffers(struct mmap_session *ms,
				   struct kbdus_mmap_buffers_args __user *arg)
{
	struct kbdus_mmap_buffers_args args;
	long ret = 0;

	if (copy_from_user(&args, arg, sizeof(args)))
		return -EFAULT;
	if (args.flags || args.reserved0 ||
	    !kbdus_all_zero(args.reserved, sizeof(args.reserved)) ||
	    !args.address || !IS_ALIGNED(args.address, PAGE_SIZE) ||
	    args.size != mmap_buffers_size(ms))
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(args.address), args.size))
		return -EFAULT;

	mutex_lock(&ms->setup_lock);
	if (ms->buffers_mode != MMAP_BUFFERS_UNDECIDED) {
		ret = -EBUSY;
	} else {
		mmgrab(current->mm);
		ms->driver_mm = current->mm;
		ms->driver_address = args.address;
		smp_store_release(&ms->buffers_mode, MMAP_BUFFERS_DRIVER);
	}
	mutex_unlock(&ms->setup_lock);
	return ret;
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

static int mmap_send_reply(struct kbdus_session *session, int mode,
			   const struct kbdus_mmap_transceive_args *args)
{
	struct mmap_session *ms = mmap_data(session);
	struct kbdus_slot *slot;
	struct iov_iter iter;
	struct kvec kvec;
	int error = args->reply_error;
	int ret = 0;
	u32 size;

	slot = kbdus_inverter_reply_begin(session, args->reply_handle);
	if (IS_ERR(slot))
		return PTR_ERR(slot);

	/* The request is ours now: whatever happens, it must be ended. */
	size = error ? 0 : kbdus_inverter_payload_out(slot);
	if (size) {
		mmap_slot_buffer_iter(ms, mode, slot, ITER_SOURCE, size, &kvec,
				      &iter);
		ret = kbdus_inverter_copy_from_driver(slot, &iter);
		if (ret)
			error = EIO;
	}

	kbdus_inverter_reply_end(slot, error);
	return ret;
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
	int mode, ret;
	u32 size;
	u16 type;

	if (copy_from_user(&args, arg, sizeof(args)))
		return -EFAULT;
	if ((args.flags & ~(KBDUS_MMAP_NO_RECEIVE |
			    KBDUS_MMAP_REPLY_PASSTHROUGH | KBDUS_MMAP_NONBLOCK)) ||
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

	mode = mmap_buffers_mode(ms);
	if (mode < 0)
		return mode;
	/* Addresses in the driver's buffers mean nothing in another mm. */
	if (mode == MMAP_BUFFERS_DRIVER && current->mm != ms->driver_mm)
		return -EPERM;

	if (args.flags & KBDUS_MMAP_REPLY_PASSTHROUGH) {
		ret = kbdus_passthrough_reply(session, args.reply_handle,
					      args.reply_passthrough);
		if (ret)
			return ret;
	} else if (args.reply_handle) {
		ret = mmap_send_reply(session, mode, &args);
		if (ret)
			return ret;
	}
	if (args.flags & KBDUS_MMAP_NO_RECEIVE)
		return 0;

	ret = kbdus_inverter_receive(session, args.flags & KBDUS_MMAP_NONBLOCK,
				     &slot, &type);
	if (ret)
		return ret;

	args.slot = KBDUS_NO_SLOT;
	args.type = type;

	if (slot) {
		size = kbdus_inverter_payload_in(slot);
		if (size) {
			mmap_slot_buffer_iter(ms, mode, slot, ITER_DEST, size,
					      &kvec, &iter);
			ret = kbdus_inverter_copy_to_driver(slot, &iter);
			/* Kernel to kernel memory cannot fault. */
			WARN_ON_ONCE(ret && mode == MMAP_BUFFERS_KBDUS);
			if (ret) {
				kbdus_inverter_receive_abort(session->kdev,
							     slot);
				return ret;
			}
		}
		kbdus_inverter_fill_request(slot, &request);
		memcpy(mmap_slot_descriptor(ms, slot), &request,
		       sizeof(request));
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
	case KBDUS_IOCTL_MMAP_SET_BUFFERS:
		return mmap_ioctl_set_buffers(mmap_data(session), arg);
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
