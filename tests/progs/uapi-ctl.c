// SPDX-License-Identifier: MIT
/*
 * uapi-ctl: control ioctls from the shell, for module tests that must not
 * depend on libbdus or the bdus CLI.
 *
 *   uapi-ctl version
 *   uapi-ctl list                      ids, one per line
 *   uapi-ctl info ID                   "key value" lines
 *   uapi-ctl destroy [--no-flush] ID   trigger destruction and wait
 *   uapi-ctl trigger [--no-flush] ID   trigger only
 *   uapi-ctl wait ID
 *   uapi-ctl bdev-ioctl DEV increment|pattern|fail|unknown|malformed
 *   uapi-ctl bdev-ioctl-ro DEV ...     the same through an O_RDONLY fd
 *
 * Errors print the errno name (e.g. "ENODEV") so tests can match it.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kbdus.h>

struct test_ioctl_arg {
	uint32_t values[4];
};
#define TEST_IOCTL_INCREMENT _IOWR('T', 1, struct test_ioctl_arg)
#define TEST_IOCTL_READ_PATTERN _IOR('T', 2, struct test_ioctl_arg)
#define TEST_IOCTL_FAIL _IO('T', 3)
#define TEST_IOCTL_UNKNOWN _IO('T', 99)
/* No direction but a size: malformed. */
#define TEST_IOCTL_MALFORMED _IOC(_IOC_NONE, 'T', 4, 8)

static const char *errno_name(int e)
{
	switch (e) {
	case ENODEV: return "ENODEV";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EIO: return "EIO";
	case ENOTTY: return "ENOTTY";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case EINTR: return "EINTR";
	case EDEADLK: return "EDEADLK";
	case EBADF: return "EBADF";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT: return "ETIMEDOUT";
	default: return strerror(e);
	}
}

static int fail(const char *what)
{
	int e = errno;

	printf("%s\n", errno_name(e));
	fprintf(stderr, "uapi-ctl: %s: %s\n", what, strerror(e));
	return 1;
}

static int open_control(void)
{
	int fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fail(KBDUS_CONTROL_DEVICE_PATH);
		exit(1);
	}
	return fd;
}

static int cmd_info(int fd, uint64_t id)
{
	struct kbdus_device_info info = { .id = id };
	const struct kbdus_device_config *c = &info.config;

	if (ioctl(fd, KBDUS_IOCTL_GET_DEVICE_INFO, &info) < 0)
		return fail("KBDUS_IOCTL_GET_DEVICE_INFO");
	printf("id %llu\nstate %u\ndriver_pid %u\nsize %llu\n"
	       "logical_block_size %u\nphysical_block_size %u\n"
	       "max_read_write_size %u\nmax_write_zeros_size %u\n"
	       "max_discard_erase_size %u\nsupported_requests 0x%x\n"
	       "num_queues %u\nqueue_depth %u\nprotocol %u\nflags 0x%x\n"
	       "request_timeout_ms %u\nmajor %u\nminor %u\n",
	       (unsigned long long)c->id, info.state, info.driver_pid,
	       (unsigned long long)c->size, c->logical_block_size,
	       c->physical_block_size, c->max_read_write_size,
	       c->max_write_zeros_size, c->max_discard_erase_size,
	       c->supported_requests, c->num_queues, c->queue_depth,
	       c->protocol, c->flags, c->request_timeout_ms, c->major,
	       c->minor);
	return 0;
}

static int cmd_bdev_ioctl(const char *path, const char *what, int mode)
{
	struct test_ioctl_arg arg = { { 1, 2, 3, 4 } };
	unsigned long command;
	int fd = open(path, mode | O_CLOEXEC);

	if (fd < 0)
		return fail(path);

	if (!strcmp(what, "increment"))
		command = TEST_IOCTL_INCREMENT;
	else if (!strcmp(what, "pattern"))
		command = TEST_IOCTL_READ_PATTERN;
	else if (!strcmp(what, "fail"))
		command = TEST_IOCTL_FAIL;
	else if (!strcmp(what, "unknown"))
		command = TEST_IOCTL_UNKNOWN;
	else if (!strcmp(what, "malformed"))
		command = TEST_IOCTL_MALFORMED;
	else
		return fprintf(stderr, "uapi-ctl: unknown ioctl %s\n", what), 2;

	if (ioctl(fd, command, &arg) < 0)
		return fail("ioctl");
	printf("%u %u %u %u\n", arg.values[0], arg.values[1], arg.values[2],
	       arg.values[3]);
	return 0;
}

int main(int argc, char **argv)
{
	struct kbdus_destroy_args destroy = { 0 };
	struct kbdus_version version;
	const char *cmd = argc > 1 ? argv[1] : "";
	int arg = 2;
	int fd;

	if (!strcmp(cmd, "bdev-ioctl") && argc == 4)
		return cmd_bdev_ioctl(argv[2], argv[3], O_RDWR);
	if (!strcmp(cmd, "bdev-ioctl-ro") && argc == 4)
		return cmd_bdev_ioctl(argv[2], argv[3], O_RDONLY);

	fd = open_control();

	if (!strcmp(cmd, "version")) {
		if (ioctl(fd, KBDUS_IOCTL_GET_VERSION, &version) < 0)
			return fail("KBDUS_IOCTL_GET_VERSION");
		printf("%u.%u.%u\n", version.major, version.minor, version.patch);
		return 0;
	}
	if (!strcmp(cmd, "list")) {
		for (uint64_t id = 0;; id++) {
			if (ioctl(fd, KBDUS_IOCTL_NEXT_DEVICE_ID, &id) < 0)
				return errno == ENOENT ? 0 : fail("NEXT_DEVICE_ID");
			printf("%llu\n", (unsigned long long)id);
		}
	}

	if (argc > arg && !strcmp(argv[arg], "--no-flush")) {
		destroy.flags = KBDUS_DESTROY_NO_FLUSH;
		arg++;
	}
	if (argc != arg + 1) {
		fprintf(stderr, "uapi-ctl: bad usage\n");
		return 2;
	}
	destroy.id = strtoull(argv[arg], NULL, 0);

	if (!strcmp(cmd, "info"))
		return cmd_info(fd, destroy.id);
	if (!strcmp(cmd, "destroy") || !strcmp(cmd, "trigger")) {
		if (ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, &destroy) < 0)
			return fail("KBDUS_IOCTL_DESTROY_DEVICE");
		if (!strcmp(cmd, "trigger"))
			return 0;
		cmd = "wait";
	}
	if (!strcmp(cmd, "wait")) {
		destroy.flags = 0;
		if (ioctl(fd, KBDUS_IOCTL_WAIT_DESTROYED, &destroy) < 0)
			return fail("KBDUS_IOCTL_WAIT_DESTROYED");
		return 0;
	}
	fprintf(stderr, "uapi-ctl: unknown command '%s'\n", cmd);
	return 2;
}
