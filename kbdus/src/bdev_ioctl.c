// SPDX-License-Identifier: GPL-2.0
/*
 * Ioctls on a bdus block device that Linux does not handle itself, sent to
 * the driver as driver-private requests (KBDUS_REQ_IOCTL): the argument
 * travels in a zeroed kernel buffer, so the driver never sees stale kernel
 * memory, and the caller gets the driver's errno.
 */

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kbdus.h"

int kbdus_bdev_ioctl_forward(struct kbdus_device *kdev, unsigned int command,
			     unsigned long arg)
{
	void __user *user_arg = (void __user *)arg;
	u32 size = _IOC_SIZE(command);
	u32 dir = kbdus_ioctl_dir(kdev, command);
	struct kbdus_rq_data *data;
	void *buffer = NULL;
	struct request *rq;
	blk_status_t status;
	int ret;

	if (!(kdev->config.supported_requests & KBDUS_REQ_BIT(KBDUS_REQ_IOCTL)))
		return -ENOTTY;

	/* A size with no direction, or one that cannot fit a slot buffer. */
	if ((dir == _IOC_NONE) != (size == 0) ||
	    size > kdev->config.max_read_write_size)
		return -EINVAL;

	if (size) {
		/* Zeroed: the driver never sees stale kernel memory. */
		buffer = kvzalloc(size, GFP_KERNEL);
		if (!buffer)
			return -ENOMEM;
		if ((dir & _IOC_WRITE) &&
		    copy_from_user(buffer, user_arg, size)) {
			ret = -EFAULT;
			goto out_free;
		}
	}

	rq = blk_mq_alloc_request(
		kdev->disk->queue,
		dir & _IOC_READ ? REQ_OP_DRV_IN : REQ_OP_DRV_OUT, 0);
	if (IS_ERR(rq)) {
		ret = PTR_ERR(rq);
		goto out_free;
	}

	data = kbdus_rq_data(rq);
	data->drv_kind = KBDUS_DRV_IOCTL;
	data->drv_buffer = buffer;
	data->ioctl_command = command;
	data->ioctl_dir = dir;
	data->ioctl_error = 0;

	status = blk_execute_rq(rq, false);
	ret = data->ioctl_error ? -data->ioctl_error :
				  blk_status_to_errno(status);
	blk_mq_free_request(rq);

	if (!ret && (dir & _IOC_READ) && copy_to_user(user_arg, buffer, size))
		ret = -EFAULT;

out_free:
	kvfree(buffer);
	return ret;
}
