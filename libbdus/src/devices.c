// SPDX-License-Identifier: MIT
/*
 * devices.c - managing existing devices: finding one from its block special
 * file, flushing it, destroying it.
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

BDUS_API bool bdus_destroy_dev(uint64_t dev_id)
{
	struct kbdus_destroy_args args = { .id = dev_id };
	bool ok = true;
	int fd;

	if (bdus_is_serving_device(dev_id))
		return bdus_fail(EDEADLK,
				 "bdus-%" PRIu64 ": a driver cannot destroy its "
				 "own device from its callbacks: it would wait "
				 "for itself",
				 dev_id);

	fd = bdus_control_open(true);
	if (fd < 0)
		return false;

	if (bdus_ioctl_retry(fd, KBDUS_IOCTL_DESTROY_DEVICE, &args) < 0)
		ok = fail_destroy(errno, dev_id);

	args.flags = 0;
	if (ok && bdus_ioctl_retry(fd, KBDUS_IOCTL_WAIT_DESTROYED, &args) < 0)
		ok = bdus_fail_errno(errno,
				     "bdus-%" PRIu64 ": waiting for the device "
				     "to be destroyed failed",
				     dev_id);

	bdus_close_quietly(fd);
	return ok;
}
