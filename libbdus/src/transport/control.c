// SPDX-License-Identifier: MIT
/*
 * control.c - opening /dev/bdus-control and the control ioctls shared by
 * several API functions.
 */

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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

static int open_control(void)
{
	int fd;

	do
		fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd;
}

/*
 * Loads kbdus as BDUS 0.1.x's libbdus did, so that an installed module
 * needs no modprobe of its own (kbdus has a dynamic misc minor, so there is
 * no devname alias for the kernel to autoload it on open).  Only for root:
 * others could not open the control device anyway.  Quiet: if it fails,
 * the caller reports the missing control device.
 */
static void load_kbdus(void)
{
	static const char *const paths[] = { "/usr/sbin/modprobe",
					     "/sbin/modprobe" };
	char *argv[] = { (char *)"modprobe", (char *)"-q", (char *)"kbdus",
			 NULL };
	posix_spawn_file_actions_t actions;
	pid_t pid = -1;
	int status;

	if (geteuid() != 0 || posix_spawn_file_actions_init(&actions) != 0)
		return;
	if (posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
					     "/dev/null", O_WRONLY, 0) == 0 &&
	    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
					     "/dev/null", O_WRONLY, 0) == 0) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			if (access(paths[i], X_OK) == 0 &&
			    posix_spawn(&pid, paths[i], &actions, NULL, argv,
					environ) == 0)
				break;
			pid = -1;
		}
	}
	posix_spawn_file_actions_destroy(&actions);

	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

int bdus_control_open(bool check_version)
{
	int fd = open_control();

	if (fd < 0 && errno == ENOENT) {
		load_kbdus();
		fd = open_control();
		if (fd < 0)
			errno = ENOENT;
	}

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

bool bdus_fail_missing_device(int errnum, uint64_t id)
{
	if (errnum == EINVAL)
		return bdus_fail(EINVAL,
				 "bdus-%" PRIu64 ": the device does not exist",
				 id);
	return bdus_fail(ENODEV, "bdus-%" PRIu64 ": the device no longer exists",
			 id);
}

bool bdus_control_device_info(int control_fd, uint64_t id,
			      struct kbdus_device_info *info)
{
	*info = (struct kbdus_device_info){ .id = id };

	if (bdus_ioctl_retry(control_fd, KBDUS_IOCTL_GET_DEVICE_INFO, info) == 0)
		return true;

	if (errno == ENODEV || errno == EINVAL)
		return bdus_fail_missing_device(errno, id);

	return bdus_fail_errno(errno,
			       "bdus-%" PRIu64 ": cannot get device information",
			       id);
}
