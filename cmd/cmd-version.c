// SPDX-License-Identifier: MIT
/*
 * cmd-version.c - "bdus version": the versions of this command, of the
 * libbdus it runs with and of the loaded kbdus.
 */

#include "common.h"

#include <bdus.h>

#include <getopt.h>

static const char help_text[] =
	"Usage: bdus version [<options>]\n"
	"\n"
	"Print the versions of this command, of libbdus and of the loaded kbdus\n"
	"module (libbdus loads it if it is installed).  With options, print only\n"
	"those.  Fails, saying why on stderr, if kbdus's version is asked for\n"
	"(as it is without options) and kbdus cannot be reached.\n"
	"\n"
	"Options:\n"
	"  --cmdbdus    This command's version\n"
	"  --libbdus    The version of libbdus in use\n"
	"  --kbdus      The version of kbdus\n"
	"  -h, --help   Show this help\n";

/* Prints kbdus's version line, or says on stderr why it cannot. */
static bool print_kbdus_version(void)
{
	struct bdus_version v;

	if (!bdus_get_kbdus_version(&v)) {
		fflush(stdout); /* the other versions first */
		error("%s", bdus_get_error_message());
		return false;
	}
	printf("kbdus   %u.%u.%u\n", v.major, v.minor, v.patch);
	return true;
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
		ok = print_kbdus_version();
	return ok ? EXIT_OK : EXIT_FAILED;
}
