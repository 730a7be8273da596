// SPDX-License-Identifier: MIT
/*
 * cmd-version.c - "bdus version": the versions of this command, of the
 * libbdus it runs with and of the loaded kbdus.
 */

#include "common.h"

#include <bdus.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char help_text[] =
	"Usage: bdus version [<options>]\n"
	"\n"
	"Print the versions of this command, of libbdus and of the loaded kbdus\n"
	"module (\"not loaded\" if it is not).  With options, print only those.\n"
	"\n"
	"Options:\n"
	"  --cmdbdus    This command's version\n"
	"  --libbdus    The version of libbdus in use\n"
	"  --kbdus      The version of kbdus; fails if it is not loaded\n"
	"  -h, --help   Show this help\n";

/* Prints kbdus's version line; false if it could not be determined. */
static bool print_kbdus_version(bool only)
{
	struct kbdus_version v = { 0 };
	int fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	int err = errno;

	if (fd >= 0 && ioctl(fd, KBDUS_IOCTL_GET_VERSION, &v) == 0) {
		printf("kbdus   %u.%u.%u\n", v.major, v.minor, v.patch);
		close(fd);
		return true;
	}
	if (fd >= 0) {
		err = errno;
		close(fd);
	}

	if (err == ENOENT || err == ENXIO || err == ENODEV) {
		printf("kbdus   not loaded\n");
		return !only;
	}
	printf("kbdus   unknown\n");
	if (err == EACCES || err == EPERM)
		error("kbdus: permission denied: run as root");
	else
		error("kbdus: %s", strerror(err));
	return false;
}

int cmd_version(int argc, char **argv)
{
	static const struct option options[] = {
		{ "cmdbdus", no_argument, NULL, 'c' },
		{ "libbdus", no_argument, NULL, 'l' },
		{ "kbdus", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool cmd = false, lib = false, mod = false, ok = true;
	const struct bdus_version *lib_version;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cmd = true;
			break;
		case 'l':
			lib = true;
			break;
		case 'k':
			mod = true;
			break;
		case 'h':
			fputs(help_text, stdout);
			return EXIT_OK;
		default:
			return bad_option("version", argv, opt);
		}
	}
	if (optind < argc)
		return usage_error("version", "unexpected argument '%s'",
				   argv[optind]);
	if (!cmd && !lib && !mod)
		cmd = lib = mod = true;

	if (cmd)
		printf("bdus    %d.%d.%d\n", BDUS_HEADER_VERSION_MAJOR,
		       BDUS_HEADER_VERSION_MINOR, BDUS_HEADER_VERSION_PATCH);
	if (lib) {
		lib_version = bdus_get_libbdus_version();
		printf("libbdus %u.%u.%u\n", lib_version->major,
		       lib_version->minor, lib_version->patch);
	}
	if (mod)
		ok = print_kbdus_version(!cmd && !lib);
	return ok ? EXIT_OK : EXIT_FAILED;
}
