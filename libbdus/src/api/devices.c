// SPDX-License-Identifier: MIT
/*
 * devices.c - managing existing devices: finding one from its block special
 * file, describing and listing them, flushing and destroying them.
 *
 * kbdus identifies devices by id only, so a path is matched to a device by
 * comparing device numbers with every device's, and flushing goes through
 * the block special file.
 */

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Looks for the device whose whole-disk number is devnum. */
static bool find_by_devnum(int control_fd, dev_t devnum, uint64_t *out_id)
{
	struct kbdus_device_info info;
	uint64_t id = 0;

	for (;;) {
		if (bdus_ioctl_retry(control_fd, KBDUS_IOCTL_NEXT_DEVICE_ID,
				     &id) < 0)
			return false;
		if (bdus_control_device_info(control_fd, id, &info) &&
		    info.config.major == major(devnum) &&
		    info.config.minor == minor(devnum)) {
			*out_id = id;
			return true;
		}
		if (id == UINT64_MAX)
			return false;
		id++;
	}
}

/* The whole disk that partition devnum belongs to, from sysfs. */
static bool disk_of_partition(dev_t devnum, dev_t *out_disk)
{
	char path[PATH_MAX];
	unsigned disk_major, disk_minor;
	FILE *file;
	int matched;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition",
		 major(devnum), minor(devnum));
	if (access(path, F_OK) != 0)
		return false;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev",
		 major(devnum), minor(devnum));
	file = fopen(path, "re");
	if (!file)
		return false;
	matched = fscanf(file, "%u:%u", &disk_major, &disk_minor);
	fclose(file);
	if (matched != 2)
		return false;

	*out_disk = makedev(disk_major, disk_minor);
	return true;
}

static bool stat_block_device(const char *path, struct stat *st)
{
	if (!path)
		return bdus_fail(EINVAL, "dev_path must not be NULL");
	if (stat(path, st) != 0)
		return errno == ENOENT ?
			       bdus_fail(ENOENT, "%s: no such file", path) :
			       bdus_fail_errno(errno, "%s", path);
	if (!S_ISBLK(st->st_mode))
		return bdus_fail(ENOTBLK, "%s: not a block special file", path);
	return true;
}

BDUS_API bool bdus_get_dev_id_from_path(uint64_t *out_dev_id,
					const char *dev_path)
{
	struct stat st;
	uint64_t id;
	dev_t disk;
	int fd;
	bool found;

	if (!stat_block_device(dev_path, &st))
		return false;
	fd = bdus_control_open(true);
	if (fd < 0)
		return false;

	found = find_by_devnum(fd, st.st_rdev, &id);
	if (!found && disk_of_partition(st.st_rdev, &disk) &&
	    find_by_devnum(fd, disk, &id)) {
		bdus_close_quietly(fd);
		return bdus_fail(EINVAL,
				 "%s: a partition of bdus-%" PRIu64
				 ", not the device itself",
				 dev_path, id);
	}
	bdus_close_quietly(fd);

	if (!found)
		return bdus_fail(EINVAL, "%s: not a BDUS device", dev_path);
	*out_dev_id = id;
	return true;
}

/* ------------------------------------------------------------------------- */

/* Opens the block special file of a device, checking that it is the right
 * one: /dev/bdus-<id> could be stale or missing. */
static int open_device_node(uint64_t id, const struct kbdus_device_config *c)
{
	char path[64];
	struct stat st;
	int fd;

	bdus_device_path(path, sizeof(path), id);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bdus_fail_errno(errno, "bdus-%" PRIu64 ": cannot open %s", id,
				path);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISBLK(st.st_mode) ||
	    st.st_rdev != makedev(c->major, c->minor)) {
		bdus_close_quietly(fd);
		bdus_fail(ENODEV,
			  "bdus-%" PRIu64 ": %s is not its block special file "
			  "(%" PRIu32 ":%" PRIu32 ")",
			  id, path, c->major, c->minor);
		return -1;
	}
	return fd;
}

BDUS_API bool bdus_flush_dev(uint64_t dev_id)
{
	struct kbdus_device_info info;
	int control_fd;
	int fd;
	bool ok;

	/* The flush (and the writes of dirty pages before it) would wait for
	 * a callback, which only this thread may run. */
	if (bdus_is_serving_device_alone(dev_id))
		return bdus_fail(EDEADLK,
				 "bdus-%" PRIu64 ": a driver with one callback "
				 "thread cannot flush its own device from a "
				 "callback: it would wait for itself",
				 dev_id);

	control_fd = bdus_control_open(true);
	if (control_fd < 0)
		return false;
	ok = bdus_control_device_info(control_fd, dev_id, &info);
	bdus_close_quietly(control_fd);
	if (!ok)
		return false;

	fd = open_device_node(dev_id, &info.config);
	if (fd < 0)
		return false;
	ok = fsync(fd) == 0 ||
	     bdus_fail_errno(errno, "bdus-%" PRIu64 ": flush failed", dev_id);
	bdus_close_quietly(fd);
	return ok;
}

/* ------------------------------------------------------------------------- */
/* Device information and listing */

static uint32_t public_requests(uint32_t supported)
{
	static const struct {
		uint32_t kbdus, bdus;
	} map[] = {
		{ KBDUS_REQ_READ, BDUS_REQ_READ },
		{ KBDUS_REQ_WRITE, BDUS_REQ_WRITE },
		{ KBDUS_REQ_WRITE_SAME, BDUS_REQ_WRITE_SAME },
		{ KBDUS_REQ_WRITE_ZEROS_NO_UNMAP, BDUS_REQ_WRITE_ZEROS_NO_UNMAP },
		{ KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP, BDUS_REQ_WRITE_ZEROS_MAY_UNMAP },
		{ KBDUS_REQ_FUA_WRITE, BDUS_REQ_FUA_WRITE },
		{ KBDUS_REQ_FLUSH, BDUS_REQ_FLUSH },
		{ KBDUS_REQ_DISCARD, BDUS_REQ_DISCARD },
		{ KBDUS_REQ_SECURE_ERASE, BDUS_REQ_SECURE_ERASE },
		{ KBDUS_REQ_IOCTL, BDUS_REQ_IOCTL },
	};
	uint32_t requests = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (supported & KBDUS_REQ_BIT(map[i].kbdus))
			requests |= map[i].bdus;
	return requests;
}

static uint32_t public_flags(uint32_t config_flags)
{
	uint32_t flags = 0;

	if (config_flags & KBDUS_CONFIG_RECOVERABLE)
		flags |= BDUS_DEV_RECOVERABLE;
	if (config_flags & KBDUS_CONFIG_WRITE_CACHE)
		flags |= BDUS_DEV_WRITE_CACHE;
	if (config_flags & KBDUS_CONFIG_FUA)
		flags |= BDUS_DEV_FUA;
	if (config_flags & KBDUS_CONFIG_ROTATIONAL)
		flags |= BDUS_DEV_ROTATIONAL;
	if (config_flags & KBDUS_CONFIG_PARTITION_SCAN)
		flags |= BDUS_DEV_PARTITION_SCAN;
	if (config_flags & KBDUS_CONFIG_ZONED)
		flags |= BDUS_DEV_ZONED;
	return flags;
}

static uint32_t public_protocol(uint32_t protocol)
{
	switch (protocol) {
	case KBDUS_PROTOCOL_IOCTL:
		return BDUS_PROTOCOL_IOCTL;
	case KBDUS_PROTOCOL_MMAP:
		return BDUS_PROTOCOL_MMAP;
	case KBDUS_PROTOCOL_URING:
		return BDUS_PROTOCOL_URING;
	default:
		return BDUS_PROTOCOL_DEFAULT; /* one this libbdus does not know */
	}
}

static uint32_t public_state(uint32_t state)
{
	switch (state) {
	case KBDUS_STATE_UNAVAILABLE:
		return BDUS_DEV_UNAVAILABLE;
	case KBDUS_STATE_ACTIVE:
		return BDUS_DEV_ACTIVE;
	case KBDUS_STATE_INACTIVE:
		return BDUS_DEV_INACTIVE;
	default:
		return BDUS_DEV_TERMINATED;
	}
}

BDUS_API bool bdus_get_dev_info_sized(uint64_t dev_id,
				      struct bdus_dev_info *out_info,
				      size_t info_size)
{
	const struct kbdus_device_config *c;
	struct kbdus_device_info kinfo;
	struct bdus_dev_info info;
	int fd;
	bool ok;

	if (!out_info)
		return bdus_fail(EINVAL, "out_info must not be NULL");

	fd = bdus_control_open(true);
	if (fd < 0)
		return false;
	ok = bdus_control_device_info(fd, dev_id, &kinfo);
	bdus_close_quietly(fd);
	if (!ok)
		return false;

	c = &kinfo.config;
	info = (struct bdus_dev_info){
		.id = kinfo.id,
		.major = c->major,
		.minor = c->minor,
		.state = public_state(kinfo.state),
		.driver_pid = kinfo.driver_pid,
		.size = c->size,
		.logical_block_size = c->logical_block_size,
		.physical_block_size = c->physical_block_size,
		.max_read_write_size = c->max_read_write_size,
		.max_write_zeros_size = c->max_write_zeros_size,
		.max_discard_erase_size = c->max_discard_erase_size,
		.requests = public_requests(c->supported_requests),
		.protocol = public_protocol(kinfo.protocol ? kinfo.protocol :
							     c->protocol),
		.num_queues = c->num_queues,
		.queue_depth = c->queue_depth,
		.request_timeout_ms = c->request_timeout_ms,
		.flags = public_flags(c->flags),
		.zone_size = c->zone_size,
		.num_conventional_zones = c->num_conventional_zones,
		.max_open_zones = c->max_open_zones,
		.max_active_zones = c->max_active_zones,
		.max_zone_append_size = c->max_zone_append_size,
	};

	/* A caller built against an older header knows a prefix of the
	 * struct; one built against a newer one gets zeros for the rest. */
	if (info_size <= sizeof(info)) {
		memcpy(out_info, &info, info_size);
	} else {
		memcpy(out_info, &info, sizeof(info));
		memset((char *)out_info + sizeof(info), 0,
		       info_size - sizeof(info));
	}
	return true;
}

BDUS_API bool bdus_get_next_dev_id(uint64_t *dev_id)
{
	uint64_t id;
	int fd;
	bool ok = true;

	if (!dev_id)
		return bdus_fail(EINVAL, "dev_id must not be NULL");

	fd = bdus_control_open(true);
	if (fd < 0)
		return false;
	id = *dev_id;
	if (bdus_ioctl_retry(fd, KBDUS_IOCTL_NEXT_DEVICE_ID, &id) < 0)
		ok = errno == ENOENT ?
			     bdus_fail(ENODEV,
				       "no device has an id of %" PRIu64
				       " or more",
				       *dev_id) :
			     bdus_fail_errno(errno, "cannot list devices");
	bdus_close_quietly(fd);
	if (ok)
		*dev_id = id;
	return ok;
}

/* ------------------------------------------------------------------------- */
/* Destroying */

static bool fail_destroy(int errnum, uint64_t id)
{
	switch (errnum) {
	case ENODEV:
	case EINVAL:
		return bdus_fail_missing_device(errnum, id);
	case EIO:
		return bdus_fail(EIO,
				 "bdus-%" PRIu64 ": flushing the device failed, "
				 "so it was not destroyed",
				 id);
	default:
		return bdus_fail_errno(errnum,
				       "bdus-%" PRIu64 ": cannot destroy the "
				       "device",
				       id);
	}
}

/* WAIT_DESTROYED on an open control fd. */
static bool wait_destroyed(int fd, uint64_t id)
{
	struct kbdus_destroy_args args = { .id = id };

	if (bdus_ioctl_retry(fd, KBDUS_IOCTL_WAIT_DESTROYED, &args) == 0)
		return true;
	if (errno == EINVAL)
		return bdus_fail_missing_device(EINVAL, id);
	return bdus_fail_errno(errno,
			       "bdus-%" PRIu64 ": waiting for the device to be "
			       "destroyed failed",
			       id);
}

static bool fail_own_device(uint64_t id)
{
	return bdus_fail(EDEADLK,
			 "bdus-%" PRIu64 ": a driver cannot destroy its own "
			 "device from its callbacks: it would wait for itself",
			 id);
}

BDUS_API bool bdus_destroy_dev_ext(uint64_t dev_id, uint32_t flags)
{
	struct kbdus_destroy_args args = { .id = dev_id };
	bool ok = true;
	int fd;

	if (flags & ~(uint32_t)(BDUS_DESTROY_NO_FLUSH | BDUS_DESTROY_NO_WAIT))
		return bdus_fail(EINVAL, "unknown flags 0x%" PRIx32, flags);
	/* Without NO_WAIT it would wait for itself; with it, a driver may
	 * still not destroy its device from a callback: the flush would
	 * wait for the callback that asks. */
	if (bdus_is_serving_device(dev_id))
		return fail_own_device(dev_id);

	fd = bdus_control_open(true);
	if (fd < 0)
		return false;

	if (flags & BDUS_DESTROY_NO_FLUSH)
		args.flags = KBDUS_DESTROY_NO_FLUSH;
	if (bdus_ioctl_retry(fd, KBDUS_IOCTL_DESTROY_DEVICE, &args) < 0)
		ok = fail_destroy(errno, dev_id);
	if (ok && !(flags & BDUS_DESTROY_NO_WAIT))
		ok = wait_destroyed(fd, dev_id);

	bdus_close_quietly(fd);
	return ok;
}

BDUS_API bool bdus_destroy_dev(uint64_t dev_id)
{
	return bdus_destroy_dev_ext(dev_id, 0);
}

BDUS_API bool bdus_wait_dev_destroyed(uint64_t dev_id)
{
	int fd;
	bool ok;

	if (bdus_is_serving_device(dev_id))
		return bdus_fail(EDEADLK,
				 "bdus-%" PRIu64 ": a driver cannot wait for "
				 "its own device to be destroyed from its "
				 "callbacks: it would wait for itself",
				 dev_id);

	fd = bdus_control_open(true);
	if (fd < 0)
		return false;
	ok = wait_destroyed(fd, dev_id);
	bdus_close_quietly(fd);
	return ok;
}
