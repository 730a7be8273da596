// SPDX-License-Identifier: MIT
/*
 * common.c - helpers shared by the bdus subcommands.
 */

#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

void error(const char *fmt, ...)
{
	va_list args;

	fflush(stdout); /* keep the order of what was printed */
	fputs("bdus: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

int usage_error(const char *command, const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "bdus %s: ", command);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\nTry 'bdus %s --help'.\n", command);
	return EXIT_USAGE;
}

int bad_option(const char *command, char **argv, int opt)
{
	extern int optind, optopt;
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return usage_error(command, "option '%s' needs a value", arg);
	if (optopt && !(arg[0] == '-' && arg[1] == '-'))
		return usage_error(command, "unknown option '-%c'", optopt);
	return usage_error(command, "unknown option '%s'", arg);
}

/* ------------------------------------------------------------------------- */

static bool check_version(int fd)
{
	struct kbdus_version v = { 0 };

	if (ioctl(fd, KBDUS_IOCTL_GET_VERSION, &v) < 0) {
		error("cannot get the version of kbdus: %s", strerror(errno));
		return false;
	}
	if (v.major != KBDUS_VERSION_MAJOR || v.minor != KBDUS_VERSION_MINOR ||
	    v.patch < KBDUS_VERSION_PATCH) {
		error("kbdus %u.%u.%u is not compatible with this bdus (%d.%d.%d)",
		      v.major, v.minor, v.patch, KBDUS_VERSION_MAJOR,
		      KBDUS_VERSION_MINOR, KBDUS_VERSION_PATCH);
		return false;
	}
	return true;
}

int open_control(void)
{
	int fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			error("kbdus is not loaded (%s does not exist)",
			      KBDUS_CONTROL_DEVICE_PATH);
		else if (errno == EACCES || errno == EPERM)
			error("permission denied: run as root");
		else
			error("cannot open %s: %s", KBDUS_CONTROL_DEVICE_PATH,
			      strerror(errno));
		return -1;
	}
	if (!check_version(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

bool get_device_info(int control_fd, uint64_t id,
		     struct kbdus_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = id;
	if (ioctl(control_fd, KBDUS_IOCTL_GET_DEVICE_INFO, info) != 0)
		return false;
	/* Show the protocol the attached driver uses, not the one the
	 * device was created with (older kbdus leave this 0). */
	if (info->protocol)
		info->config.protocol = info->protocol;
	return true;
}

/* ------------------------------------------------------------------------- */
/* Resolving device arguments */

static bool parse_id(const char *text, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	*out = strtoull(text, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool find_by_devnum(int control_fd, dev_t devnum, uint64_t *out_id)
{
	struct kbdus_device_info info;
	uint64_t id = 0;

	while (ioctl(control_fd, KBDUS_IOCTL_NEXT_DEVICE_ID, &id) == 0) {
		if (get_device_info(control_fd, id, &info) &&
		    info.config.major == major(devnum) &&
		    info.config.minor == minor(devnum)) {
			*out_id = id;
			return true;
		}
		if (id++ == UINT64_MAX)
			break;
	}
	return false;
}

/* For a partition, the device number of its disk (from sysfs). */
static bool disk_of(dev_t devnum, dev_t *out_disk)
{
	char path[128];
	unsigned maj, min;
	FILE *file;
	bool ok;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition",
		 major(devnum), minor(devnum));
	if (access(path, F_OK) != 0)
		return false;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev",
		 major(devnum), minor(devnum));
	file = fopen(path, "re");
	if (!file)
		return false;
	ok = fscanf(file, "%u:%u", &maj, &min) == 2;
	fclose(file);
	*out_disk = makedev(maj, min);
	return ok;
}

static bool stat_block_device(const char *path, struct stat *st)
{
	if (stat(path, st) != 0) {
		error("%s: %s", path, errno == ENOENT ? "no such file or device" :
				      strerror(errno));
		return false;
	}
	if (!S_ISBLK(st->st_mode)) {
		error("%s: not a block device", path);
		return false;
	}
	return true;
}

static bool is_path(const char *spec)
{
	return strchr(spec, '/') != NULL;
}

/* The id in "7" or "bdus-7", if spec is one of those. */
static bool id_of_spec(const char *spec, uint64_t *out_id)
{
	if (strncmp(spec, "bdus-", 5) == 0)
		spec += 5;
	return parse_id(spec, out_id);
}

bool check_device_spec(const char *spec)
{
	struct stat st;
	uint64_t id;

	if (id_of_spec(spec, &id))
		return true;
	if (!is_path(spec)) {
		error("%s: not a device id, bdus-<id> or path", spec);
		return false;
	}
	return stat_block_device(spec, &st);
}

static enum resolve_result resolve_path(int control_fd, const char *path,
					uint64_t *out_id)
{
	struct stat st;
	dev_t disk;

	if (!stat_block_device(path, &st))
		return NOT_RESOLVED;
	if (find_by_devnum(control_fd, st.st_rdev, out_id))
		return RESOLVED;
	if (disk_of(st.st_rdev, &disk) &&
	    find_by_devnum(control_fd, disk, out_id))
		error("%s: a partition of bdus-%" PRIu64
		      ", not the device itself",
		      path, *out_id);
	else
		error("%s: not a BDUS device", path);
	return NOT_RESOLVED;
}

enum resolve_result resolve_device(int control_fd, const char *spec,
				   uint64_t *out_id, bool report_missing)
{
	struct kbdus_device_info info;

	if (!id_of_spec(spec, out_id)) {
		if (!check_device_spec(spec))
			return NOT_RESOLVED;
		return resolve_path(control_fd, spec, out_id);
	}

	if (get_device_info(control_fd, *out_id, &info))
		return RESOLVED;
	/* kbdus never reuses ids: EINVAL, none was ever created with it. */
	if (errno == EINVAL) {
		error("bdus-%" PRIu64 ": the device does not exist", *out_id);
		return NOT_RESOLVED;
	}
	if (errno != ENODEV) {
		error("bdus-%" PRIu64 ": %s", *out_id, strerror(errno));
		return NOT_RESOLVED;
	}
	if (report_missing)
		error("bdus-%" PRIu64 ": the device no longer exists", *out_id);
	return DEVICE_GONE;
}

/* ------------------------------------------------------------------------- */
/* Formatting */

void device_path(const struct kbdus_device_info *info, char *buf, size_t size)
{
	char path[128], line[256];
	FILE *file;

	snprintf(buf, size, "/dev/bdus-%" PRIu64, (uint64_t)info->id);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent",
		 info->config.major, info->config.minor);
	file = fopen(path, "re");
	if (!file)
		return;
	while (fgets(line, sizeof(line), file)) {
		if (strncmp(line, "DEVNAME=", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, size, "/dev/%s", line + 8);
			break;
		}
	}
	fclose(file);
}

void format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	unsigned unit = 0;
	uint64_t scale = 1;

	while (unit + 1 < sizeof(units) / sizeof(units[0]) &&
	       bytes / scale >= 1024) {
		scale *= 1024;
		unit++;
	}
	if (bytes % scale == 0)
		snprintf(buf, size, "%" PRIu64 " %s", bytes / scale,
			 units[unit]);
	else
		snprintf(buf, size, "%.1f %s", (double)bytes / (double)scale,
			 units[unit]);
}

const char *state_name(uint32_t state)
{
	switch (state) {
	case KBDUS_STATE_UNAVAILABLE:
		return "unavailable";
	case KBDUS_STATE_ACTIVE:
		return "active";
	case KBDUS_STATE_INACTIVE:
		return "inactive";
	case KBDUS_STATE_TERMINATED:
		return "terminated";
	default:
		return "unknown";
	}
}

const char *protocol_name(uint32_t protocol)
{
	switch (protocol) {
	case KBDUS_PROTOCOL_IOCTL:
		return "ioctl";
	case KBDUS_PROTOCOL_MMAP:
		return "mmap";
	case KBDUS_PROTOCOL_URING:
		return "uring";
	default:
		return "unknown";
	}
}

void format_requests(uint32_t supported, char *buf, size_t size)
{
	static const char *const names[] = {
		[KBDUS_REQ_READ] = "read",
		[KBDUS_REQ_WRITE] = "write",
		[KBDUS_REQ_WRITE_SAME] = "write-same",
		[KBDUS_REQ_WRITE_ZEROS_NO_UNMAP] = "write-zeros",
		[KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP] = "write-zeros-unmap",
		[KBDUS_REQ_FUA_WRITE] = "fua-write",
		[KBDUS_REQ_FLUSH] = "flush",
		[KBDUS_REQ_DISCARD] = "discard",
		[KBDUS_REQ_SECURE_ERASE] = "secure-erase",
		[KBDUS_REQ_IOCTL] = "ioctl",
	};
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned type = 0; type < sizeof(names) / sizeof(names[0]);
	     type++) {
		if (!(supported & KBDUS_REQ_BIT(type)) || used >= size)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
					 used ? " " : "", names[type]);
	}
}
