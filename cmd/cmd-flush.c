// SPDX-License-Identifier: MIT
/*
 * cmd-flush.c - "bdus flush": make the data written to devices persistent.
 * kbdus has no flush-by-id call; fsync() on the block special file sends
 * the device a flush, as the kernel does for a file system.
 */

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char help_text[] =
	"Usage: bdus flush [<options>] <device>...\n"
	"\n"
	"Flush each device: return once all data written to it so far is\n"
	"persistent.  Like 'sync <device-path>'.\n"
	"\n"
	"A device is an id (7), a name (bdus-7) or a path (/dev/bdus-7).\n"
	"\n"
	"Options:\n"
	"  -h, --help   Show this help\n";

static bool flush_one(int control_fd, const char *spec)
{
	struct kbdus_device_info info;
	char path[256];
	struct stat st;
	uint64_t id;
	int fd;
	bool ok;

	if (resolve_device(control_fd, spec, &id, true) != RESOLVED)
		return false;
	if (!get_device_info(control_fd, id, &info)) {
		error("bdus-%" PRIu64 ": %s", id, strerror(errno));
		return false;
	}

	device_path(&info, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error("bdus-%" PRIu64 ": cannot open %s: %s", id, path,
		      strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISBLK(st.st_mode) ||
	    st.st_rdev != makedev(info.config.major, info.config.minor)) {
		error("bdus-%" PRIu64 ": %s is not the device's block file",
		      id, path);
		close(fd);
		return false;
	}

	ok = fsync(fd) == 0;
	if (!ok)
		error("bdus-%" PRIu64 ": flush failed: %s", id,
		      strerror(errno));
	close(fd);
	return ok;
}

int cmd_flush(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool ok = true;
	int opt, fd;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt != 'h')
			return bad_option("flush", argv, opt);
		fputs(help_text, stdout);
		return EXIT_OK;
	}
	if (optind >= argc)
		return usage_error("flush", "missing the device to flush");
	for (int i = optind; i < argc; i++)
		if (!check_device_spec(argv[i]))
			return EXIT_FAILED;

	fd = open_control();
	if (fd < 0)
		return EXIT_FAILED;
	for (int i = optind; i < argc; i++)
		ok &= flush_one(fd, argv[i]);
	close(fd);
	return ok ? EXIT_OK : EXIT_FAILED;
}
