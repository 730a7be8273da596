// SPDX-License-Identifier: MIT
/*
 * control.c - opening /dev/bdus-control and the control ioctls shared by
 * several API functions.
 */

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

static bool fail_open(int errnum)
{
	switch (errnum) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return bdus_fail(errnum,
				 "kbdus is not loaded: " KBDUS_CONTROL_DEVICE_PATH
				 " does not exist (load it with modprobe kbdus)");
	case EACCES:
	case EPERM:
		return bdus_fail(errnum,
				 "permission denied opening "
				 KBDUS_CONTROL_DEVICE_PATH
				 ": run as root (CAP_SYS_ADMIN is required)");
	default:
		return bdus_fail_errno(errnum, "cannot open %s",
				       KBDUS_CONTROL_DEVICE_PATH);
	}
}

/* kbdus 0.1.x, x >= 3, speaks the protocol this libbdus was written for. */
static bool check_kbdus_version(int fd)
{
	struct kbdus_version version = { 0 };

	if (bdus_ioctl_retry(fd, KBDUS_IOCTL_GET_VERSION, &version) < 0)
		return bdus_fail_errno(errno,
				       "cannot get the version of kbdus");

	if (version.major != KBDUS_VERSION_MAJOR ||
	    version.minor != KBDUS_VERSION_MINOR ||
	    version.patch < KBDUS_VERSION_PATCH)
		return bdus_fail(ENOTSUP,
				 "kbdus %" PRIu32 ".%" PRIu32 ".%" PRIu32
				 " is not compatible with libbdus %d.%d.%d "
				 "(kbdus 0.1.%d or a later 0.1.x is needed)",
				 version.major, version.minor, version.patch,
				 KBDUS_VERSION_MAJOR, KBDUS_VERSION_MINOR,
				 KBDUS_VERSION_PATCH, KBDUS_VERSION_PATCH);
	return true;
}

int bdus_control_open(bool check_version)
{
	int fd;

	do
		fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);

	if (fd < 0) {
		fail_open(errno);
		return -1;
	}

	if (check_version && !check_kbdus_version(fd)) {
		bdus_close_quietly(fd);
		return -1;
	}
	return fd;
}

bool bdus_control_device_info(int control_fd, uint64_t id,
			      struct kbdus_device_info *info)
{
	*info = (struct kbdus_device_info){ .id = id };

	if (bdus_ioctl_retry(control_fd, KBDUS_IOCTL_GET_DEVICE_INFO, info) == 0)
		return true;

	if (errno == ENODEV)
		return bdus_fail(ENODEV, "bdus-%" PRIu64 ": no such device", id);

	return bdus_fail_errno(errno,
			       "bdus-%" PRIu64 ": cannot get device information",
			       id);
}
