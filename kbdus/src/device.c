// SPDX-License-Identifier: GPL-2.0
/*
 * Devices: the registry, configuration checks, and the lifecycle
 * UNAVAILABLE -> ACTIVE <-> INACTIVE -> TERMINATED.
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
/* Configuration */

static bool block_size_ok(u32 size, u32 min)
{
	return size >= min && size <= PAGE_SIZE && is_power_of_2(size);
}

/* Resolves a size limit for a group of request types: 0 if none of them is
 * supported, "no limit" for 0, and otherwise a multiple of the block size. */
static int resolve_limit(u32 *limit, bool supported, u32 block_size)
{
	if (!supported) {
		*limit = 0;
		return 0;
	}
	*limit = round_down(*limit ?: UINT_MAX, block_size);
	return *limit ? 0 : -EINVAL;
}

int kbdus_config_validate(struct kbdus_device_config *c)
{
	u32 types = c->supported_requests;
	u32 lbs = c->logical_block_size;
	u32 pbs = c->physical_block_size ?: lbs;
	u32 rw_size;

	if (c->id || c->major || c->minor ||
	    !kbdus_all_zero(c->reserved, sizeof(c->reserved)))
		return -EINVAL;

	if (!block_size_ok(lbs, SECTOR_SIZE) || !block_size_ok(pbs, lbs))
		return -EINVAL;
	if (!c->size || c->size % pbs || c->size > (u64)LLONG_MAX)
		return -EINVAL;

	if (types & ~KBDUS_REQ_DATA_TYPES_MASK)
		return -EINVAL;
	if (c->flags & ~KBDUS_CONFIG_FLAGS_MASK)
		return -EINVAL;
	if ((c->flags & KBDUS_CONFIG_WRITE_CACHE) &&
	    !(types & KBDUS_REQ_BIT(KBDUS_REQ_FLUSH)))
		return -EINVAL;
	if ((c->flags & KBDUS_CONFIG_FUA) &&
	    (!(c->flags & KBDUS_CONFIG_WRITE_CACHE) ||
	     !(types & KBDUS_REQ_BIT(KBDUS_REQ_FUA_WRITE))))
		return -EINVAL;

	if (c->num_queues > KBDUS_MAX_QUEUES ||
	    c->queue_depth > KBDUS_MAX_QUEUE_DEPTH)
		return -EINVAL;
	if (c->request_timeout_ms &&
	    (c->request_timeout_ms < KBDUS_MIN_REQUEST_TIMEOUT_MS ||
	     c->request_timeout_ms > KBDUS_MAX_REQUEST_TIMEOUT_MS))
		return -EINVAL;

	if (!kbdus_protocol_find(c->protocol))
		return -ENOPROTOOPT;

	/* Everything valid: now adjust, and the caller sees the result. */
	rw_size = c->max_read_write_size ?: KBDUS_DEFAULT_MAX_READ_WRITE_SIZE;
	rw_size = min(rw_size, KBDUS_MAX_MAX_READ_WRITE_SIZE);
	c->max_read_write_size = max_t(u32, round_down(rw_size, lbs), PAGE_SIZE);

	if (resolve_limit(&c->max_write_zeros_size,
			  types & (KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_NO_UNMAP) |
				   KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP)),
			  lbs) ||
	    resolve_limit(&c->max_discard_erase_size,
			  types & (KBDUS_REQ_BIT(KBDUS_REQ_DISCARD) |
				   KBDUS_REQ_BIT(KBDUS_REQ_SECURE_ERASE)),
			  lbs))
		return -EINVAL;

	c->physical_block_size = pbs;
	/* blk-mq never uses more hardware queues than CPUs. */
	c->num_queues = min_t(u32, c->num_queues ?: 1, nr_cpu_ids);
	c->queue_depth = c->queue_depth ?: KBDUS_DEFAULT_QUEUE_DEPTH;
	c->request_timeout_ms =
		c->request_timeout_ms ?: KBDUS_DEFAULT_REQUEST_TIMEOUT_MS;

	return 0;
}

/* ------------------------------------------------------------------------- */
/* References and the registry */

static void kbdus_device_release(struct kref *kref)
{
	struct kbdus_device *dev = container_of(kref, struct kbdus_device, kref);

	kbdus_inverter_free(dev);

	mutex_lock(&kbdus_registry_mutex);
	xa_erase(&kbdus_devices, dev->id);
	ida_free(&kbdus_minors, dev->minor_index);
	kbdus_num_devices--;
	mutex_unlock(&kbdus_registry_mutex);

	kfree(dev);
	wake_up_all(&kbdus_destroyed_wq);
}

void kbdus_device_put(struct kbdus_device *dev)
{
	kref_put(&dev->kref, kbdus_device_release);
}

struct kbdus_device *kbdus_device_get(u64 id)
{
	struct kbdus_device *dev;

	mutex_lock(&kbdus_registry_mutex);
	dev = xa_load(&kbdus_devices, id);
	if (dev && !kref_get_unless_zero(&dev->kref))
		dev = NULL;
	mutex_unlock(&kbdus_registry_mutex);

	return dev;
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
	/* Restartable: waiting again is harmless. */
	return wait_event_interruptible(kbdus_destroyed_wq, !device_exists(id));
}

/* ------------------------------------------------------------------------- */
/* Termination and destruction */

static void destroy_work_fn(struct work_struct *work)
{
	struct kbdus_device *dev =
		container_of(work, struct kbdus_device, destroy_work);

	/* disk_added is only written by the add_disk work. */
	flush_work(&dev->add_disk_work);

	if (dev->disk_added) {
		/* Waits for requests in flight; the driver was told to stop
		 * and the request timeout bounds the wait. */
		del_gendisk(dev->disk);
		put_disk(dev->disk); /* ->free_disk drops the disk's ref */
	} else {
		put_disk(dev->disk); /* no ->free_disk for a disk never added */
		kbdus_device_put(dev);
	}

	kbdus_device_put(dev); /* the registry's reference */
}

/* Makes the device fail all I/O and tells its driver to stop.  Idempotent.
 * Called with dev->mutex held. */
static void terminate_locked(struct kbdus_device *dev)
{
	lockdep_assert_held(&dev->mutex);

	if (dev->destroying)
		return;

	dev->destroying = true;
	dev->state = KBDUS_STATE_TERMINATED;
	WRITE_ONCE(dev->terminated, true);
	if (dev->session)
		set_bit(KBDUS_SESSION_TERMINATE, &dev->session->flags);

	kbdus_inverter_wake_all(dev);
	kbdus_inverter_fail_queued(dev);
	queue_work(kbdus_wq, &dev->destroy_work);
}

/* Writes back the page cache and flushes the driver's volatile cache. */
static int flush_disk(struct kbdus_device *dev)
{
	struct block_device *bdev = dev->disk->part0;
	int ret;

	ret = sync_blockdev(bdev);
	if (!ret && (dev->config.flags & KBDUS_CONFIG_WRITE_CACHE))
		ret = blkdev_issue_flush(bdev);
	return ret;
}

/* Flushes the device if it has a driver to serve the flush.  The disk is
 * pinned so a concurrent destruction cannot free it under us. */
static int flush_if_active(struct kbdus_device *dev)
{
	bool active;
	int ret = 0;

	mutex_lock(&dev->mutex);
	active = dev->state == KBDUS_STATE_ACTIVE && !dev->destroying;
	if (active)
		get_device(disk_to_dev(dev->disk));
	mutex_unlock(&dev->mutex);

	if (active) {
		ret = flush_disk(dev);
		put_device(disk_to_dev(dev->disk));
	}
	return ret;
}

int kbdus_device_destroy(struct kbdus_device *dev, bool flush)
{
	if (flush && flush_if_active(dev))
		return -EIO;

	mutex_lock(&dev->mutex);
	terminate_locked(dev);
	mutex_unlock(&dev->mutex);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Creation */

static void add_disk_work_fn(struct work_struct *work)
{
	struct kbdus_device *dev =
		container_of(work, struct kbdus_device, add_disk_work);
	int ret;

	ret = device_add_disk(NULL, dev->disk, kbdus_disk_groups);

	mutex_lock(&dev->mutex);
	if (ret) {
		pr_warn("bdus-%llu: add_disk failed (%d)\n", dev->id, ret);
		terminate_locked(dev);
	} else {
		dev->disk_added = true;
		if (dev->state == KBDUS_STATE_UNAVAILABLE && dev->session) {
			dev->state = KBDUS_STATE_ACTIVE;
			set_bit(KBDUS_SESSION_AVAILABLE, &dev->session->flags);
			kbdus_inverter_wake_all(dev);
		}
	}
	mutex_unlock(&dev->mutex);
}

static struct gendisk *alloc_disk(struct kbdus_device *dev)
{
	const struct kbdus_device_config *c = &dev->config;
	u32 types = c->supported_requests;
	struct kbdus_queue_settings settings = {
		.logical_block_size = c->logical_block_size,
		.physical_block_size = c->physical_block_size,
		.max_hw_sectors = c->max_read_write_size >> SECTOR_SHIFT,
		.max_write_zeroes_sectors = c->max_write_zeros_size >> SECTOR_SHIFT,
		.max_discard_sectors =
			types & KBDUS_REQ_BIT(KBDUS_REQ_DISCARD) ?
				c->max_discard_erase_size >> SECTOR_SHIFT : 0,
		.max_secure_erase_sectors =
			types & KBDUS_REQ_BIT(KBDUS_REQ_SECURE_ERASE) ?
				c->max_discard_erase_size >> SECTOR_SHIFT : 0,
		.rotational = c->flags & KBDUS_CONFIG_ROTATIONAL,
		.write_cache = c->flags & KBDUS_CONFIG_WRITE_CACHE,
		.fua = c->flags & KBDUS_CONFIG_FUA,
	};
	struct gendisk *disk;

	disk = kbdus_alloc_disk(&dev->tag_set, &settings, dev);
	if (IS_ERR(disk))
		return disk;

	disk->major = kbdus_major;
	disk->first_minor = dev->minor_index * KBDUS_MINORS_PER_DEVICE;
	disk->minors = KBDUS_MINORS_PER_DEVICE;
	disk->fops = &kbdus_bdev_ops;
	disk->private_data = dev;
	if (!(c->flags & KBDUS_CONFIG_PARTITION_SCAN))
		disk->flags |= GENHD_FL_NO_PART;
	snprintf(disk->disk_name, DISK_NAME_LEN, "bdus-%llu", dev->id);
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
	struct kbdus_device *dev;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);

	mutex_init(&dev->mutex);
	init_waitqueue_head(&dev->receive_wq);
	init_waitqueue_head(&dev->session_wq);
	INIT_WORK(&dev->add_disk_work, add_disk_work_fn);
	INIT_WORK(&dev->destroy_work, destroy_work_fn);
	dev->state = KBDUS_STATE_UNAVAILABLE;

	mutex_lock(&kbdus_registry_mutex);
	if (kbdus_num_devices >= kbdus_max_devices) {
		mutex_unlock(&kbdus_registry_mutex);
		ret = -ENOSPC;
		goto err_free;
	}
	dev->minor_index = ida_alloc_max(&kbdus_minors, kbdus_max_devices - 1,
					 GFP_KERNEL);
	if (dev->minor_index < 0) {
		mutex_unlock(&kbdus_registry_mutex);
		ret = dev->minor_index == -ENOMEM ? -ENOMEM : -ENOSPC;
		goto err_free;
	}
	dev->id = kbdus_next_id++;
	kbdus_num_devices++;
	mutex_unlock(&kbdus_registry_mutex);

	config->id = dev->id;
	config->major = kbdus_major;
	config->minor = dev->minor_index * KBDUS_MINORS_PER_DEVICE;
	dev->config = *config;

	ret = kbdus_inverter_init(dev);
	if (ret)
		goto err_unreserve;

	dev->disk = alloc_disk(dev);
	if (IS_ERR(dev->disk)) {
		ret = PTR_ERR(dev->disk);
		goto err_inverter;
	}

	/* The registry's, the disk's and the session's references. */
	kref_init(&dev->kref);
	kref_get(&dev->kref);
	kref_get(&dev->kref);
	dev->session = session;

	mutex_lock(&kbdus_registry_mutex);
	ret = xa_err(xa_store(&kbdus_devices, dev->id, dev, GFP_KERNEL));
	mutex_unlock(&kbdus_registry_mutex);
	if (ret) {
		put_disk(dev->disk);
		goto err_inverter;
	}

	return dev;

err_inverter:
	kbdus_inverter_free(dev);
err_unreserve:
	mutex_lock(&kbdus_registry_mutex);
	ida_free(&kbdus_minors, dev->minor_index);
	kbdus_num_devices--;
	mutex_unlock(&kbdus_registry_mutex);
err_free:
	kfree(dev);
	return ERR_PTR(ret);
}

void kbdus_device_start(struct kbdus_device *dev)
{
	queue_work(kbdus_wq, &dev->add_disk_work);
}

/* ------------------------------------------------------------------------- */
/* Sessions */

int kbdus_device_attach(struct kbdus_device *dev, struct kbdus_session *session)
{
	struct kbdus_session *old;
	int ret = 0;

	mutex_lock(&dev->mutex);

	if (dev->destroying) {
		ret = -ESHUTDOWN;
		goto out;
	}
	if (dev->state == KBDUS_STATE_UNAVAILABLE || dev->replacing) {
		ret = -EBUSY;
		goto out;
	}

	old = dev->session;
	if (old) {
		/* Live replacement: the old driver flushes, then stops. */
		dev->replacing = true;
		mutex_unlock(&dev->mutex);
		flush_if_active(dev);
		mutex_lock(&dev->mutex);

		if (dev->session == old) {
			set_bit(KBDUS_SESSION_REPLACED, &old->flags);
			set_bit(KBDUS_SESSION_TERMINATE, &old->flags);
			WRITE_ONCE(dev->session, NULL);
			WRITE_ONCE(dev->retiring, old);
			if (!dev->destroying)
				dev->state = KBDUS_STATE_INACTIVE;
			kbdus_inverter_wake_all(dev);
		}
	}

	/* Two drivers never serve a device at once: wait for the old one to
	 * close, so its uncompleted requests are requeued for us. */
	while (dev->retiring && !ret) {
		mutex_unlock(&dev->mutex);
		ret = wait_event_killable(dev->session_wq,
					  !READ_ONCE(dev->retiring));
		mutex_lock(&dev->mutex);
	}
	dev->replacing = false;

	if (ret) {
		/* Nobody will drive a non-recoverable device now. */
		if (!(dev->config.flags & KBDUS_CONFIG_RECOVERABLE))
			terminate_locked(dev);
		ret = -EINTR;
		goto out;
	}
	if (dev->destroying) {
		ret = -ESHUTDOWN;
		goto out;
	}

	kref_get(&dev->kref);
	dev->config.protocol = session->protocol->id;
	dev->state = KBDUS_STATE_ACTIVE;
	set_bit(KBDUS_SESSION_AVAILABLE, &session->flags);
	WRITE_ONCE(dev->session, session);
	kbdus_inverter_wake_all(dev);
out:
	mutex_unlock(&dev->mutex);
	return ret;
}

/* The session's file is being released. */
void kbdus_device_detach(struct kbdus_device *dev, struct kbdus_session *session)
{
	bool requeue;

	mutex_lock(&dev->mutex);
	if (dev->session == session) {
		WRITE_ONCE(dev->session, NULL);
		if (dev->state == KBDUS_STATE_ACTIVE &&
		    (dev->config.flags & KBDUS_CONFIG_RECOVERABLE))
			dev->state = KBDUS_STATE_INACTIVE;
		else
			terminate_locked(dev);
	}
	requeue = !dev->destroying;
	mutex_unlock(&dev->mutex);

	/* Outside the mutex: this ends requests. */
	kbdus_inverter_release_session(dev, session, requeue);

	mutex_lock(&dev->mutex);
	if (dev->retiring == session) {
		WRITE_ONCE(dev->retiring, NULL);
		wake_up_all(&dev->session_wq);
	}
	mutex_unlock(&dev->mutex);

	kbdus_device_put(dev);
}

void kbdus_device_fill_info(struct kbdus_device *dev,
			    struct kbdus_device_info *info)
{
	mutex_lock(&dev->mutex);
	info->state = dev->state;
	info->driver_pid = dev->session ? READ_ONCE(dev->session->pid) : 0;
	info->config = dev->config;
	mutex_unlock(&dev->mutex);
}

/* ------------------------------------------------------------------------- */
/* Block device operations and sysfs */

static int kbdus_bdev_ioctl(struct block_device *bdev, kbdus_blk_mode_t mode,
			    unsigned int command, unsigned long arg)
{
	return kbdus_inverter_bdev_ioctl(bdev->bd_disk->private_data, command,
					 arg);
}

static void kbdus_free_disk(struct gendisk *disk)
{
	kbdus_device_put(disk->private_data);
}

static const struct block_device_operations kbdus_bdev_ops = {
	.owner = THIS_MODULE,
	.ioctl = kbdus_bdev_ioctl,
	.free_disk = kbdus_free_disk,
};

static struct kbdus_device *sysfs_device(struct device *d)
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
	return sysfs_emit(buf, "%llu\n", sysfs_device(d)->id);
}

static ssize_t state_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  kbdus_state_names[READ_ONCE(sysfs_device(d)->state)]);
}

static ssize_t protocol_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	const struct kbdus_protocol_ops *protocol =
		kbdus_protocol_find(READ_ONCE(sysfs_device(d)->config.protocol));

	return sysfs_emit(buf, "%s\n", protocol ? protocol->name : "unknown");
}

static ssize_t queues_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", sysfs_device(d)->config.num_queues);
}

static ssize_t queue_depth_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%u\n", sysfs_device(d)->config.queue_depth);
}

static ssize_t driver_pid_show(struct device *d, struct device_attribute *attr,
			       char *buf)
{
	struct kbdus_device *dev = sysfs_device(d);
	pid_t pid;

	mutex_lock(&dev->mutex);
	pid = dev->session ? READ_ONCE(dev->session->pid) : 0;
	mutex_unlock(&dev->mutex);

	return sysfs_emit(buf, "%d\n", pid);
}

static ssize_t recoverable_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%d\n", !!(sysfs_device(d)->config.flags &
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
	struct kbdus_device *dev;
	u64 id = 0;

	while (!kbdus_device_next_id(&id)) {
		dev = kbdus_device_get(id);
		if (dev) {
			kbdus_device_destroy(dev, false);
			kbdus_device_put(dev);
		}
		id++;
	}

	wait_event(kbdus_destroyed_wq, !READ_ONCE(kbdus_num_devices));
	unregister_blkdev(kbdus_major, "bdus");
	ida_destroy(&kbdus_minors);
}
