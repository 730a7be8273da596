// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/bdus-control: each open file is a session that may become a device's
 * driver.  Control ioctls work on any fd; session ioctls go to the bound
 * protocol.
 */

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "kbdus.h"

static bool control_is_session_ioctl(unsigned int command)
{
	switch (command) {
	case KBDUS_IOCTL_TRANSCEIVE:
	case KBDUS_IOCTL_MMAP_LAYOUT:
	case KBDUS_IOCTL_MMAP_TRANSCEIVE:
	case KBDUS_IOCTL_MMAP_SET_BUFFERS:
	case KBDUS_IOCTL_BACKING_REGISTER:
	case KBDUS_IOCTL_BACKING_UNREGISTER:
		return true;
	default:
		return false;
	}
}

/* ------------------------------------------------------------------------- */
/* Control ioctls */

static long control_get_version(struct kbdus_version __user *arg)
{
	const struct kbdus_version version = {
		.major = KBDUS_VERSION_MAJOR,
		.minor = KBDUS_VERSION_MINOR,
		.patch = KBDUS_VERSION_PATCH,
	};

	return copy_to_user(arg, &version, sizeof(version)) ? -EFAULT : 0;
}

static long control_create(struct kbdus_session *session,
			   struct kbdus_device_config __user *arg)
{
	const struct kbdus_protocol_ops *protocol;
	struct kbdus_device_config config;
	struct kbdus_device *kdev;
	long ret;

	if (copy_from_user(&config, arg, sizeof(config)))
		return -EFAULT;

	mutex_lock(&session->bind_mutex);

	if (session->kdev) {
		ret = -EALREADY;
		goto out;
	}

	ret = kbdus_config_validate(&config);
	if (ret)
		goto out;
	protocol = kbdus_protocol_find(config.protocol);

	session->protocol = protocol;
	session->pid = task_tgid_vnr(current);

	kdev = kbdus_device_create(&config, session);
	if (IS_ERR(kdev)) {
		ret = PTR_ERR(kdev);
		goto out;
	}

	ret = protocol->init(session, kdev);
	if (ret)
		goto err_detach;

	if (copy_to_user(arg, &config, sizeof(config))) {
		ret = -EFAULT;
		goto err_protocol;
	}

	smp_store_release(&session->kdev, kdev);
	kbdus_device_start(kdev);
	goto out;

err_protocol:
	/* As at release: detach, then the protocol, then our reference. */
	kbdus_device_detach(kdev, session);
	protocol->destroy(session);
	goto err_start;
err_detach:
	kbdus_device_detach(kdev, session);
err_start:
	/* Detaching terminated it, so starting it destroys it. */
	kbdus_device_start(kdev);
	kbdus_device_put(kdev);
	/* A DESTROY may have told this session to terminate; the fd is
	 * unbound again and may still create or attach. */
	session->flags = 0;
out:
	mutex_unlock(&session->bind_mutex);
	return ret;
}

static long control_attach(struct kbdus_session *session,
			   struct kbdus_attach_args __user *arg)
{
	const struct kbdus_protocol_ops *protocol = NULL;
	struct kbdus_attach_args args;
	struct kbdus_device_info info;
	struct kbdus_device *kdev;
	long ret;

	if (copy_from_user(&args, arg, sizeof(args)))
		return -EFAULT;
	if (args.flags ||
	    !kbdus_all_zero(args.reserved, sizeof(args.reserved)) ||
	    !kbdus_all_zero(&args.config, sizeof(args.config)))
		return -EINVAL;
	if (args.protocol) {
		protocol = kbdus_protocol_find(args.protocol);
		if (!protocol)
			return -ENOPROTOOPT;
	}

	mutex_lock(&session->bind_mutex);

	if (session->kdev) {
		ret = -EALREADY;
		goto out;
	}

	kdev = kbdus_device_lookup(args.id);
	if (IS_ERR(kdev)) {
		ret = PTR_ERR(kdev);
		goto out;
	}

	/* The config never changes after CREATE, so it can be copied out
	 * before binding: a bad pointer then leaves this fd unbound. */
	memset(&info, 0, sizeof(info));
	kbdus_device_fill_info(kdev, &info);
	if (copy_to_user(&arg->config, &info.config, sizeof(info.config))) {
		ret = -EFAULT;
		goto out_put;
	}

	session->protocol = protocol ?:
				       kbdus_protocol_find(info.config.protocol);
	session->pid = task_tgid_vnr(current);

	if (session->protocol->check) {
		ret = session->protocol->check(&info.config);
		if (ret)
			goto out_put;
	}

	ret = session->protocol->init(session, kdev);
	if (ret)
		goto out_put;

	ret = kbdus_device_attach(kdev, session);
	if (ret) {
		session->protocol->destroy(session);
		goto out_put;
	}
	smp_store_release(&session->kdev, kdev);

out_put:
	/* On success the session holds its own reference. */
	kbdus_device_put(kdev);
out:
	mutex_unlock(&session->bind_mutex);
	return ret;
}

static long control_get_device_info(struct kbdus_device_info __user *arg)
{
	struct kbdus_device_info info;
	struct kbdus_device *kdev;

	if (copy_from_user(&info, arg, sizeof(info)))
		return -EFAULT;
	if (info.state || info.driver_pid || info.protocol || info.reserved0 ||
	    !kbdus_all_zero(info.reserved, sizeof(info.reserved)) ||
	    !kbdus_all_zero(&info.config, sizeof(info.config)))
		return -EINVAL;

	kdev = kbdus_device_lookup(info.id);
	if (IS_ERR(kdev))
		return PTR_ERR(kdev);
	kbdus_device_fill_info(kdev, &info);
	kbdus_device_put(kdev);

	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long control_next_device_id(u64 __user *arg)
{
	u64 id;
	int ret;

	if (get_user(id, arg))
		return -EFAULT;
	ret = kbdus_device_next_id(&id);
	if (ret)
		return ret;
	return put_user(id, arg);
}

static int control_copy_destroy_args(struct kbdus_destroy_args *args,
				     struct kbdus_destroy_args __user *arg,
				     u32 allowed_flags)
{
	if (copy_from_user(args, arg, sizeof(*args)))
		return -EFAULT;
	if ((args->flags & ~allowed_flags) || args->reserved0 ||
	    !kbdus_all_zero(args->reserved, sizeof(args->reserved)))
		return -EINVAL;
	return 0;
}

static long control_destroy(struct kbdus_destroy_args __user *arg)
{
	struct kbdus_destroy_args args;
	struct kbdus_device *kdev;
	int ret;

	ret = control_copy_destroy_args(&args, arg, KBDUS_DESTROY_NO_FLUSH);
	if (ret)
		return ret;

	kdev = kbdus_device_lookup(args.id);
	if (IS_ERR(kdev))
		return PTR_ERR(kdev);
	ret = kbdus_device_destroy(kdev,
				   !(args.flags & KBDUS_DESTROY_NO_FLUSH));
	kbdus_device_put(kdev);

	return ret;
}

static long control_wait_destroyed(struct kbdus_session *session,
				   struct kbdus_destroy_args __user *arg)
{
	struct kbdus_device *own = kbdus_session_device(session);
	struct kbdus_destroy_args args;
	int ret;

	ret = control_copy_destroy_args(&args, arg, 0);
	if (ret)
		return ret;

	/* The session itself keeps its device alive. */
	if (own && own->id == args.id)
		return -EDEADLK;

	return kbdus_device_wait_destroyed(args.id);
}

/* ------------------------------------------------------------------------- */
/* File operations */

static int kbdus_control_open(struct inode *inode, struct file *file)
{
	struct kbdus_session *session;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	session = kzalloc(sizeof(*session), GFP_KERNEL);
	if (!session)
		return -ENOMEM;

	mutex_init(&session->bind_mutex);
	kbdus_backing_init(session);
	file->private_data = session;
	return 0;
}

static int kbdus_control_release(struct inode *inode, struct file *file)
{
	struct kbdus_session *session = file->private_data;
	struct kbdus_device *kdev = session->kdev;

	if (kdev) {
		/* Requests go back or fail before the buffers go away, and
		 * the device outlives the protocol, which may touch it. */
		kbdus_device_detach(kdev, session);
		session->protocol->destroy(session);
		kbdus_device_put(kdev);
	}

	kbdus_backing_release(session);
	kfree(session);
	return 0;
}

static long kbdus_control_ioctl(struct file *file, unsigned int command,
				unsigned long arg)
{
	struct kbdus_session *session = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	switch (command) {
	case KBDUS_IOCTL_GET_VERSION:
		return control_get_version(uarg);
	case KBDUS_IOCTL_CREATE_DEVICE:
		return control_create(session, uarg);
	case KBDUS_IOCTL_ATTACH_DEVICE:
		return control_attach(session, uarg);
	case KBDUS_IOCTL_GET_DEVICE_INFO:
		return control_get_device_info(uarg);
	case KBDUS_IOCTL_NEXT_DEVICE_ID:
		return control_next_device_id(uarg);
	case KBDUS_IOCTL_DESTROY_DEVICE:
		return control_destroy(uarg);
	case KBDUS_IOCTL_WAIT_DESTROYED:
		return control_wait_destroyed(session, uarg);
	}

	if (!control_is_session_ioctl(command))
		return -ENOTTY;
	if (!kbdus_session_device(session))
		return -EBADFD;

	/* Backing files serve every protocol. */
	if (command == KBDUS_IOCTL_BACKING_REGISTER ||
	    command == KBDUS_IOCTL_BACKING_UNREGISTER)
		return kbdus_backing_ioctl(session, command, uarg);

	ret = session->protocol->ioctl(session, command, uarg);
	return ret == -ENOIOCTLCMD ? -EPROTOTYPE : ret;
}

static int kbdus_control_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kbdus_session *session = file->private_data;

	if (!kbdus_session_device(session))
		return -EBADFD;
	if (!session->protocol->mmap)
		return -ENODEV;
	return session->protocol->mmap(session, vma);
}

/* Only ioctl and mmap sessions receive by system call: on anything else a
 * receive fails at once, which EPOLLERR says. */
static __poll_t kbdus_control_poll(struct file *file, poll_table *wait)
{
	struct kbdus_session *session = file->private_data;

	if (!kbdus_session_device(session) || session->protocol->uring_cmd)
		return EPOLLERR;
	return kbdus_inverter_poll(session, file, wait);
}

static int kbdus_control_uring_cmd(struct io_uring_cmd *cmd,
				   unsigned int issue_flags)
{
	struct kbdus_session *session = cmd->file->private_data;

	if (!kbdus_session_device(session))
		return -EBADFD;
	if (!session->protocol->uring_cmd)
		return -EPROTOTYPE;
	return session->protocol->uring_cmd(session, cmd, issue_flags);
}

const struct file_operations kbdus_control_fops = {
	.owner = THIS_MODULE,
	.open = kbdus_control_open,
	.release = kbdus_control_release,
	.unlocked_ioctl = kbdus_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = kbdus_control_mmap,
	.poll = kbdus_control_poll,
	.uring_cmd = kbdus_control_uring_cmd,
	.llseek = noop_llseek,
};
