// SPDX-License-Identifier: MIT
/*
 * cmd-flush.c - "bdus flush": make the data written to devices persistent
 * (bdus_flush_dev(): fsync() on each one's block special file).
 */

#include "common.h"

#include <getopt.h>

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

static bool flush_one(const char *spec)
{
	uint64_t id;

	if (resolve_device(spec, &id, NULL, true) != RESOLVED)
		return false;
	if (!bdus_flush_dev(id)) {
		error("%s", bdus_get_error_message());
		return false;
	}
	return true;
}

int cmd_flush(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool ok = true;
	int opt;

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

	if (!require_kbdus())
		return EXIT_FAILED;
	for (int i = optind; i < argc; i++)
		ok &= flush_one(argv[i]);
	return ok ? EXIT_OK : EXIT_FAILED;
}
