// SPDX-License-Identifier: GPL-2.0
/*
 * Devices: the registry and the lifecycle
 * UNAVAILABLE -> ACTIVE <-> INACTIVE -> TERMINATED (config.c checks what
 * CREATE asks for).
 *
 * add_disk runs on a workqueue rather than in the CREATE ioctl, because the
 * partition scan it performs reads the device, and those reads are served
 * by the very driver that issued CREATE.
 */

#include <linux/blkdev.h>
#include <linux/cpumask.h>
#include <linux/idr.h>
#include <linux/log2.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "compat.h"
#include "kbdus.h"

/*
 * Protects kbdus_devices, kbdus_next_id and kbdus_num_devices.  Never held
 * while dropping a device reference: the last put takes it.
 */
static DEFINE_MUTEX(kbdus_registry_mutex);
static DEFINE_XARRAY(kbdus_devices); /* id -> device, until its last put */
static u64 kbdus_next_id;
static unsigned int kbdus_num_devices; /* including ones being created */

static DEFINE_IDA(kbdus_minors);
static int kbdus_major;

/* Woken whenever a device is freed; WAIT_DESTROYED sleeps here. */
static DECLARE_WAIT_QUEUE_HEAD(kbdus_destroyed_wq);

static const struct block_device_operations kbdus_bdev_ops;
static const struct attribute_group *kbdus_disk_groups[];

/* ------------------------------------------------------------------------- */
/* References and the registry */

static void kbdus_device_release(struct kref *kref)
{
	struct kbdus_device *kdev =
		container_of(kref, struct kbdus_device, kref);

	kbdus_inverter_free(kdev);
	kbdus_passthrough_device_free(kdev);

	mutex_lock(&kbdus_registry_mutex);
	xa_erase(&kbdus_devices, kdev->id);
	ida_free(&kbdus_minors, kdev->minor_index);
	kbdus_num_devices--;
	mutex_unlock(&kbdus_registry_mutex);

	kfree(kdev);
	wake_up_all(&kbdus_destroyed_wq);
}

void kbdus_device_put(struct kbdus_device *kdev)
{
	kref_put(&kdev->kref, kbdus_device_release);
}

/*
 * The device with that id, with a reference.  Ids are never reused, so a
 * missing device is either gone, ERR_PTR(-ENODEV), or was never created,
 * ERR_PTR(-EINVAL), the distinction BDUS 0.1 made and its users rely on.
 */
struct kbdus_device *kbdus_device_lookup(u64 id)
{
	struct kbdus_device *kdev;

	mutex_lock(&kbdus_registry_mutex);
	if (id >= kbdus_next_id) {
		kdev = ERR_PTR(-EINVAL);
	} else {
		kdev = xa_load(&kbdus_devices, id);
		if (!kdev || !kref_get_unless_zero(&kdev->kref))
			kdev = ERR_PTR(-ENODEV);
	}
	mutex_unlock(&kbdus_registry_mutex);

	return kdev;
}

int kbdus_device_next_id(u64 *id)
{
	unsigned long index = *id;
	void *entry;

	if (*id > ULONG_MAX)
		return -ENOENT;

	mutex_lock(&kbdus_registry_mutex);
	entry = xa_find(&kbdus_devices, &index, ULONG_MAX, XA_PRESENT);
	mutex_unlock(&kbdus_registry_mutex);

	if (!entry)
		return -ENOENT;
	*id = index;
	return 0;
}

static bool device_exists(u64 id)
{
	return xa_load(&kbdus_devices, id) != NULL;
}

int kbdus_device_wait_destroyed(u64 id)
{
	bool never_created;

	mutex_lock(&kbdus_registry_mutex);
	never_created = id >= kbdus_next_id;
	mutex_unlock(&kbdus_registry_mutex);
	if (never_created)
		return -EINVAL;

	/* Restartable: waiting again is harmless. */
	return wait_event_interruptible(kbdus_destroyed_wq, !device_exists(id));
}

/* ------------------------------------------------------------------------- */
/* Termination and destruction */

static void device_destroy_work_fn(struct work_struct *work)
{
	struct kbdus_device *kdev =
		container_of(work, struct kbdus_device, destroy_work);

	/* disk_added is only written by the add_disk work. */
	flush_work(&kdev->add_disk_work);

	if (kdev->disk_added) {
		/* Waits for requests in flight; the driver was told to stop
		 * and the request timeout bounds the wait, but for
		 * passthroughs, which their backing files' I/O bounds. */
		del_gendisk(kdev->disk);
		put_disk(kdev->disk); /* ->free_disk drops the disk's ref */
	} else {
		/* A zone report (kbdus_zoned_revalidate()) may have run on
		 * the queue, arming its request timeout timer, which must not
		 * outlive it: del_gendisk() would stop it, put_disk() does
		 * not. */
		blk_sync_queue(kdev->disk->queue);
		put_disk(
			kdev->disk); /* no ->free_disk for a disk never added */
		kbdus_device_put(kdev);
	}

	kbdus_device_put(kdev); /* the registry's reference */
}

/* Makes the device fail all I/O and tells its driver to stop.  Idempotent.
 * Called with kdev->mutex held. */
static void device_terminate_locked(struct kbdus_device *kdev)
{
	lockdep_assert_held(&kdev->mutex);

	if (kdev->destroying)
		return;

	WRITE_ONCE(kdev->destroying, true);
	WRITE_ONCE(kdev->state, KBDUS_STATE_TERMINATED);
	/* An attach waiting for a retiring session gives up. */
	wake_up_all(&kdev->session_wq);
	WRITE_ONCE(kdev->terminated, true);
	if (kdev->session)
		set_bit(KBDUS_SESSION_TERMINATE, &kdev->session->flags);

	kbdus_inverter_wake_all(kdev);
	kbdus_inverter_fail_queued(kdev);
	/* Before kbdus_device_start(), destruction waits for it (see there). */
	if (kdev->started)
		queue_work(kbdus_wq, &kdev->destroy_work);
}

/* Writes back the page cache and flushes the driver's volatile cache. */
static int device_flush_disk(struct kbdus_device *kdev)
{
	struct block_device *bdev = kdev->disk->part0;
	int ret;

	ret = sync_blockdev(bdev);
	if (!ret && (kdev->config.flags & KBDUS_CONFIG_WRITE_CACHE))
		ret = blkdev_issue_flush(bdev);
	return ret;
}

/* Flushes the device if it has a driver to serve the flush.  The disk is
 * pinned so a concurrent destruction cannot free it under us. */
static int device_flush_if_active(struct kbdus_device *kdev)
{
	bool active;
	int ret = 0;

	mutex_lock(&kdev->mutex);
	active = kdev->state == KBDUS_STATE_ACTIVE && !kdev->destroying;
	if (active)
		get_device(disk_to_dev(kdev->disk));
	mutex_unlock(&kdev->mutex);

	if (active) {
		ret = device_flush_disk(kdev);
		put_device(disk_to_dev(kdev->disk));
	}
	return ret;
}

int kbdus_device_destroy(struct kbdus_device *kdev, bool flush)
{
	if (flush && device_flush_if_active(kdev))
		return -EIO;

	mutex_lock(&kdev->mutex);
	device_terminate_locked(kdev);
	mutex_unlock(&kdev->mutex);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Creation */

static void device_add_disk_work_fn(struct work_struct *work)
{
	struct kbdus_device *kdev =
		container_of(work, struct kbdus_device, add_disk_work);
	int ret;

	/* Here, not at creation: a report needs the driver to serve it. */
	ret = kbdus_zoned_revalidate(kdev);
	if (ret) {
		pr_warn("bdus-%llu: the driver's zones could not be read (%d)\n",
			kdev->id, ret);
	} else {
		ret = device_add_disk(NULL, kdev->disk, kbdus_disk_groups);
		if (ret)
			pr_warn("bdus-%llu: add_disk failed (%d)\n", kdev->id,
				ret);
	}

	mutex_lock(&kdev->mutex);
	if (ret) {
		device_terminate_locked(kdev);
	} else {
		kdev->disk_added = true;
		if (kdev->state == KBDUS_STATE_UNAVAILABLE && kdev->session) {
			WRITE_ONCE(kdev->state, KBDUS_STATE_ACTIVE);
			set_bit(KBDUS_SESSION_AVAILABLE, &kdev->session->flags);
			kbdus_inverter_wake_all(kdev);
		}
	}
	mutex_unlock(&kdev->mutex);
}

static struct gendisk *device_alloc_disk(struct kbdus_device *kdev)
{
	const struct kbdus_device_config *c = &kdev->config;
	u32 types = c->supported_requests;
	struct kbdus_queue_settings settings = {
		.logical_block_size = c->logical_block_size,
		.physical_block_size = c->physical_block_size,
		.max_hw_sectors = c->max_read_write_size >> SECTOR_SHIFT,
		.max_write_zeroes_sectors = c->max_write_zeros_size >>
					    SECTOR_SHIFT,
		.max_discard_sectors =
			types & KBDUS_REQ_BIT(KBDUS_REQ_DISCARD) ?
				c->max_discard_erase_size >> SECTOR_SHIFT :
				0,
		.max_secure_erase_sectors =
			types & KBDUS_REQ_BIT(KBDUS_REQ_SECURE_ERASE) ?
				c->max_discard_erase_size >> SECTOR_SHIFT :
				0,
		.rotational = c->flags & KBDUS_CONFIG_ROTATIONAL,
		.write_cache = c->flags & KBDUS_CONFIG_WRITE_CACHE,
		.fua = c->flags & KBDUS_CONFIG_FUA,
	};
	struct gendisk *disk;

	kbdus_zoned_settings(c, &settings);
	disk = kbdus_alloc_disk(&kdev->tag_set, &settings, kdev);
	if (IS_ERR(disk))
		return disk;

	disk->major = kbdus_major;
	disk->first_minor = kdev->minor_index * KBDUS_MINORS_PER_DEVICE;
	disk->minors = KBDUS_MINORS_PER_DEVICE;
	disk->fops = &kbdus_bdev_ops;
	disk->private_data = kdev;
	if (!(c->flags & KBDUS_CONFIG_PARTITION_SCAN))
		disk->flags |= GENHD_FL_NO_PART;
	/* Otherwise buffered writes would succeed and be lost at writeback. */
	if (!(types & KBDUS_REQ_BIT(KBDUS_REQ_WRITE)))
		set_disk_ro(disk, true);
	snprintf(disk->disk_name, DISK_NAME_LEN, "bdus-%llu", kdev->id);
	set_capacity(disk, c->size >> SECTOR_SHIFT);

	return disk;
}

/*
 * Builds a device from a validated config, registers it and binds session
 * as its driver.  Fills in config's out fields.  The disk is added later, by
 * kbdus_device_start(), once the session's protocol is ready.
 */
struct kbdus_device *kbdus_device_create(struct kbdus_device_config *config,
					 struct kbdus_session *session)
{
	struct kbdus_device *kdev;
	int ret;

	kdev = kzalloc(sizeof(*kdev), GFP_KERNEL);
	if (!kdev)
		return ERR_PTR(-ENOMEM);

	mutex_init(&kdev->mutex);
	init_waitqueue_head(&kdev->receive_wq);
	init_waitqueue_head(&kdev->session_wq);
	INIT_WORK(&kdev->add_disk_work, device_add_disk_work_fn);
	INIT_WORK(&kdev->destroy_work, device_destroy_work_fn);
	kdev->state = KBDUS_STATE_UNAVAILABLE;

	mutex_lock(&kbdus_registry_mutex);
	if (kbdus_num_devices >= kbdus_max_devices) {
		mutex_unlock(&kbdus_registry_mutex);
		ret = -ENOSPC;
		goto err_free;
	}
	kdev->minor_index =
		ida_alloc_max(&kbdus_minors, kbdus_max_devices - 1, GFP_KERNEL);
	if (kdev->minor_index < 0) {
		mutex_unlock(&kbdus_registry_mutex);
		ret = kdev->minor_index == -ENOMEM ? -ENOMEM : -ENOSPC;
		goto err_free;
	}
	kdev->id = kbdus_next_id++;
	kbdus_num_devices++;
	mutex_unlock(&kbdus_registry_mutex);

	config->id = kdev->id;
	config->major = kbdus_major;
	config->minor = kdev->minor_index * KBDUS_MINORS_PER_DEVICE;
	kdev->config = *config;

	ret = kbdus_inverter_init(kdev);
	if (ret)
		goto err_unreserve;

	kdev->disk = device_alloc_disk(kdev);
	if (IS_ERR(kdev->disk)) {
		ret = PTR_ERR(kdev->disk);
		goto err_inverter;
	}

	/* The registry's, the disk's and the session's references. */
	kref_init(&kdev->kref);
	kref_get(&kdev->kref);
	kref_get(&kdev->kref);
	kdev->session = session;

	mutex_lock(&kbdus_registry_mutex);
	ret = xa_err(xa_store(&kbdus_devices, kdev->id, kdev, GFP_KERNEL));
	mutex_unlock(&kbdus_registry_mutex);
	if (ret) {
		put_disk(kdev->disk);
		goto err_inverter;
	}

	return kdev;

err_inverter:
	kbdus_inverter_free(kdev);
err_unreserve:
	mutex_lock(&kbdus_registry_mutex);
	ida_free(&kbdus_minors, kdev->minor_index);
	kbdus_num_devices--;
	mutex_unlock(&kbdus_registry_mutex);
err_free:
	kfree(kdev);
	return ERR_PTR(ret);
}

/*
 * Hands a device from its creator to the workqueue: adds the disk, or, if
 * the device was terminated meanwhile (a DESTROY can find it in the
 * registry as soon as it is created, and a failed CREATE terminates it),
 * destroys it.  Either way destroy_work runs after add_disk_work was queued
 * or never will be, so its flush_work() sees the final disk_added.
 */
void kbdus_device_start(struct kbdus_device *kdev)
{
	mutex_lock(&kdev->mutex);
	kdev->started = true;
	if (kdev->destroying)
		queue_work(kbdus_wq, &kdev->destroy_work);
	else
		queue_work(kbdus_wq, &kdev->add_disk_work);
	mutex_unlock(&kdev->mutex);
}

/* ------------------------------------------------------------------------- */
/* Sessions */

/*
 * Binds session as the device's driver.  At most one attach is in progress
 * at a time (kdev->replacing, held across every wait), and the new session
 * is only bound once no other session is bound or retiring, so two drivers
 * never serve the device at once, even after an interrupted replacement.
 */
int kbdus_device_attach(struct kbdus_device *kdev,
			struct kbdus_session *session)
{
	struct kbdus_session *old;
	int flush_ret;
	int ret = 0;

	mutex_lock(&kdev->mutex);

	if (kdev->destroying) {
		ret = -ESHUTDOWN;
		goto out;
	}
	if (kdev->state == KBDUS_STATE_UNAVAILABLE || kdev->replacing) {
		ret = -EBUSY;
		goto out;
	}
	kdev->replacing = true;

	old = kdev->session;
	if (old) {
		/*
		 * Live replacement: the old driver flushes, then stops.  If it
		 * cannot flush a non-recoverable device, its cached writes die
		 * with it: fail and destroy the device, as BDUS 0.1.2 did,
		 * rather than let a new driver serve data older than what was
		 * acknowledged.  A recoverable device is taken over anyway.
		 */
		mutex_unlock(&kdev->mutex);
		flush_ret = device_flush_if_active(kdev);
		mutex_lock(&kdev->mutex);
		if (flush_ret &&
		    !(kdev->config.flags & KBDUS_CONFIG_RECOVERABLE)) {
			kdev->replacing = false;
			device_terminate_locked(kdev);
			ret = -EIO;
			goto out;
		}

		if (kdev->session == old) {
			set_bit(KBDUS_SESSION_REPLACED, &old->flags);
			set_bit(KBDUS_SESSION_TERMINATE, &old->flags);
			WRITE_ONCE(kdev->session, NULL);
			WRITE_ONCE(kdev->retiring, old);
			if (!kdev->destroying)
				WRITE_ONCE(kdev->state, KBDUS_STATE_INACTIVE);
			kbdus_inverter_wake_all(kdev);
		}
	}

	/* Wait for the old driver to close, so its uncompleted requests are
	 * requeued for us. */
	while (kdev->retiring && !kdev->destroying && !ret) {
		mutex_unlock(&kdev->mutex);
		ret = wait_event_killable(kdev->session_wq,
					  !READ_ONCE(kdev->retiring) ||
						  READ_ONCE(kdev->destroying));
		mutex_lock(&kdev->mutex);
	}
	kdev->replacing = false;

	if (ret) {
		/* Nobody will drive a non-recoverable device now. */
		if (!(kdev->config.flags & KBDUS_CONFIG_RECOVERABLE))
			device_terminate_locked(kdev);
		ret = -EINTR;
		goto out;
	}
	if (kdev->destroying) {
		ret = -ESHUTDOWN;
		goto out;
	}
	/* Only attaches bind sessions, and they are serialised above. */
	if (WARN_ON_ONCE(kdev->session)) {
		ret = -EBUSY;
		goto out;
	}

	kref_get(&kdev->kref);
	WRITE_ONCE(kdev->state, KBDUS_STATE_ACTIVE);
	set_bit(KBDUS_SESSION_AVAILABLE, &session->flags);
	WRITE_ONCE(kdev->session, session);
	kbdus_inverter_wake_all(kdev);
out:
	mutex_unlock(&kdev->mutex);
	return ret;
}

/*
 * The session's file is being released: unbinds it and ends or requeues its
 * requests.  The session's device reference is left to the caller, to drop
 * once the protocol no longer touches the device (kbdus_device_put()).
 */
void kbdus_device_detach(struct kbdus_device *kdev,
			 struct kbdus_session *session)
{
	bool requeue;

	mutex_lock(&kdev->mutex);
	if (kdev->session == session) {
		WRITE_ONCE(kdev->session, NULL);
		if (kdev->state == KBDUS_STATE_ACTIVE &&
		    (kdev->config.flags & KBDUS_CONFIG_RECOVERABLE))
			WRITE_ONCE(kdev->state, KBDUS_STATE_INACTIVE);
		else
			device_terminate_locked(kdev);
	}
	requeue = !kdev->destroying;
	mutex_unlock(&kdev->mutex);

	/* Outside the mutex: this ends requests. */
	kbdus_inverter_release_session(kdev, session, requeue);

	mutex_lock(&kdev->mutex);
	if (kdev->retiring == session) {
		WRITE_ONCE(kdev->retiring, NULL);
		wake_up_all(&kdev->session_wq);
	}
	mutex_unlock(&kdev->mutex);
}

void kbdus_device_fill_info(struct kbdus_device *kdev,
			    struct kbdus_device_info *info)
{
	mutex_lock(&kdev->mutex);
	info->state = kdev->state;
	info->driver_pid = kdev->session ? READ_ONCE(kdev->session->pid) : 0;
	info->protocol = kdev->session ? kdev->session->protocol->id : 0;
	info->config = kdev->config;
	mutex_unlock(&kdev->mutex);
}

/* ------------------------------------------------------------------------- */
/* Block device operations and sysfs */

static int kbdus_bdev_ioctl(struct block_device *bdev, kbdus_blk_mode_t mode,
			    unsigned int command, unsigned long arg)
{
	struct kbdus_device *kdev = bdev->bd_disk->private_data;

	/* A command that hands the driver data may change the device: it
	 * needs an opener that may write, as BLKDISCARD does. */
	if ((kbdus_ioctl_dir(kdev, command) & _IOC_WRITE) &&
	    !kbdus_blk_mode_writable(mode))
		return -EBADF;
	return kbdus_bdev_ioctl_forward(kdev, command, arg);
}

static void kbdus_free_disk(struct gendisk *disk)
{
	kbdus_device_put(disk->private_data);
}

static const struct block_device_operations kbdus_bdev_ops = {
	.owner = THIS_MODULE,
	.ioctl = kbdus_bdev_ioctl,
	.compat_ioctl = blkdev_compat_ptr_ioctl,
	.free_disk = kbdus_free_disk,
	.report_zones = kbdus_zoned_report,
};

static struct kbdus_device *device_from_sysfs(struct device *d)
{
	return dev_to_disk(d)->private_data;
}

static const char *const kbdus_state_names[] = {
	[KBDUS_STATE_UNAVAILABLE] = "unavailable",
	[KBDUS_STATE_ACTIVE] = "active",
	[KBDUS_STATE_INACTIVE] = "inactive",
	[KBDUS_STATE_TERMINATED] = "terminated",
};

static ssize_t id_show(struct device *d, struct device_attribute *attr,
		       char *buf)
{
	return sysfs_emit(buf, "%llu\n", device_from_sysfs(d)->id);
}

static ssize_t state_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(
		buf, "%s\n",
		kbdus_state_names[READ_ONCE(device_from_sysfs(d)->state)]);
}

/* The attached driver's protocol, else the one the device was created
 * with (the config never changes). */
static ssize_t protocol_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	struct kbdus_device *kdev = device_from_sysfs(d);
	const struct kbdus_protocol_ops *protocol;

	mutex_lock(&kdev->mutex);
	protocol = kdev->session ? kdev->session->protocol :
				   kbdus_protocol_find(kdev->config.protocol);
	mutex_unlock(&kdev->mutex);

	return sysfs_emit(buf, "%s\n", protocol ? protocol->name : "unknown");
}

static ssize_t queues_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", device_from_sysfs(d)->config.num_queues);
}

static ssize_t queue_depth_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  device_from_sysfs(d)->config.queue_depth);
}

static ssize_t driver_pid_show(struct device *d, struct device_attribute *attr,
			       char *buf)
{
	struct kbdus_device *kdev = device_from_sysfs(d);
	pid_t pid;

	mutex_lock(&kdev->mutex);
	pid = kdev->session ? READ_ONCE(kdev->session->pid) : 0;
	mutex_unlock(&kdev->mutex);

	return sysfs_emit(buf, "%d\n", pid);
}

static ssize_t recoverable_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  !!(device_from_sysfs(d)->config.flags &
			     KBDUS_CONFIG_RECOVERABLE));
}

static DEVICE_ATTR_RO(id);
static DEVICE_ATTR_RO(state);
static DEVICE_ATTR_RO(protocol);
static DEVICE_ATTR_RO(queues);
static DEVICE_ATTR_RO(queue_depth);
static DEVICE_ATTR_RO(driver_pid);
static DEVICE_ATTR_RO(recoverable);

static struct attribute *kbdus_disk_attrs[] = {
	&dev_attr_id.attr,	    &dev_attr_state.attr,
	&dev_attr_protocol.attr,    &dev_attr_queues.attr,
	&dev_attr_queue_depth.attr, &dev_attr_driver_pid.attr,
	&dev_attr_recoverable.attr, NULL,
};

static const struct attribute_group kbdus_disk_group = {
	.name = "bdus",
	.attrs = kbdus_disk_attrs,
};

static const struct attribute_group *kbdus_disk_groups[] = {
	&kbdus_disk_group,
	NULL,
};

/* ------------------------------------------------------------------------- */
/* Module setup */

int kbdus_devices_init(void)
{
	kbdus_major = register_blkdev(0, "bdus");
	return kbdus_major < 0 ? kbdus_major : 0;
}

/* Only devices without a driver or an opener can remain at module exit:
 * both hold a module reference. */
void kbdus_devices_exit(void)
{
	struct kbdus_device *kdev;
	u64 id = 0;

	while (!kbdus_device_next_id(&id)) {
		kdev = kbdus_device_lookup(id);
		if (!IS_ERR(kdev)) {
			kbdus_device_destroy(kdev, false);
			kbdus_device_put(kdev);
		}
		id++;
	}

	wait_event(kbdus_destroyed_wq, !READ_ONCE(kbdus_num_devices));
	unregister_blkdev(kbdus_major, "bdus");
	ida_destroy(&kbdus_minors);
}
