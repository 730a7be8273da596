// SPDX-License-Identifier: MIT
/*
 * common.c - helpers shared by the bdus subcommands.
 */

#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

bool require_kbdus(void)
{
	struct bdus_version version;

	if (bdus_get_kbdus_version(&version))
		return true;
	error("%s", bdus_get_error_message());
	return false;
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

enum resolve_result resolve_device(const char *spec, uint64_t *out_id,
				   struct bdus_dev_info *info,
				   bool report_missing)
{
	struct bdus_dev_info scratch;
	bool gone;

	if (!id_of_spec(spec, out_id)) {
		if (!check_device_spec(spec))
			return NOT_RESOLVED;
		if (!bdus_get_dev_id_from_path(out_id, spec)) {
			error("%s", bdus_get_error_message());
			return NOT_RESOLVED;
		}
	}

	if (bdus_get_dev_info(*out_id, info ? info : &scratch))
		return RESOLVED;
	/* ENODEV: destroyed; EINVAL: kbdus never reuses ids, and none was
	 * ever created with this one. */
	gone = errno == ENODEV;
	if (!gone || report_missing)
		error("%s", bdus_get_error_message());
	return gone ? DEVICE_GONE : NOT_RESOLVED;
}

/* ------------------------------------------------------------------------- */
/* Formatting */

void device_path(const struct bdus_dev_info *info, char *buf, size_t size)
{
	char path[128], line[256];
	FILE *file;

	snprintf(buf, size, "/dev/bdus-%" PRIu64, (uint64_t)info->id);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent",
		 info->major, info->minor);
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
	case BDUS_DEV_UNAVAILABLE:
		return "unavailable";
	case BDUS_DEV_ACTIVE:
		return "active";
	case BDUS_DEV_INACTIVE:
		return "inactive";
	case BDUS_DEV_TERMINATED:
		return "terminated";
	default:
		return "unknown";
	}
}

const char *protocol_name(uint32_t protocol)
{
	switch (protocol) {
	case BDUS_PROTOCOL_IOCTL:
		return "ioctl";
	case BDUS_PROTOCOL_MMAP:
		return "mmap";
	case BDUS_PROTOCOL_URING:
		return "uring";
	default:
		return "unknown";
	}
}

void format_requests(uint32_t requests, char *buf, size_t size)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ BDUS_REQ_READ, "read" },
		{ BDUS_REQ_WRITE, "write" },
		{ BDUS_REQ_WRITE_SAME, "write-same" },
		{ BDUS_REQ_WRITE_ZEROS_NO_UNMAP, "write-zeros" },
		{ BDUS_REQ_WRITE_ZEROS_MAY_UNMAP, "write-zeros-unmap" },
		{ BDUS_REQ_FUA_WRITE, "fua-write" },
		{ BDUS_REQ_FLUSH, "flush" },
		{ BDUS_REQ_DISCARD, "discard" },
		{ BDUS_REQ_SECURE_ERASE, "secure-erase" },
		{ BDUS_REQ_IOCTL, "ioctl" },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(requests & names[i].bit) || used >= size)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
					 used ? " " : "", names[i].name);
	}
}
