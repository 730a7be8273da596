// SPDX-License-Identifier: MIT
/*
 * cmd-destroy.c - "bdus destroy": flush (unless --no-flush) and destroy
 * devices, one after the other, waiting until each is gone.
 */

#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static const char help_text[] =
	"Usage: bdus destroy [<options>] <device>...\n"
	"\n"
	"Flush each device, then destroy it: its driver is told to terminate\n"
	"and its block special file goes away.  Waits until each device is gone,\n"
	"which includes every program closing it.  A device that no longer\n"
	"exists counts as destroyed; an id that no device ever had is an error.\n"
	"\n"
	"A device is an id (7), a name (bdus-7) or a path (/dev/bdus-7).\n"
	"\n"
	"Options:\n"
	"  --no-flush    Do not flush first: data still in the device's write\n"
	"                cache is lost.  For devices whose driver is stuck.\n"
	"  -q, --quiet   Print nothing but errors\n"
	"  -h, --help    Show this help\n";

/* What to print if a step takes long, and the alarm that prints it.  Only
 * async-signal-safe calls in the handler. */
#define HINT_DELAY_S 3
static char hint[256];

static void print_hint(int signum)
{
	(void)signum;
	if (write(STDERR_FILENO, hint, strlen(hint)) < 0)
		return;
}

/* Runs step(id, arg) with the alarm armed, so that the hint (unless quiet)
 * is printed if it takes more than HINT_DELAY_S.  Keeps step's errno. */
static bool with_hint(bool quiet, bool (*step)(uint64_t, uint32_t),
		      uint64_t id, uint32_t arg)
{
	bool ok;
	int errnum;

	if (quiet)
		hint[0] = '\0';
	alarm(HINT_DELAY_S);
	ok = step(id, arg);
	errnum = errno;
	alarm(0);
	errno = errnum;
	return ok;
}

static bool wait_destroyed(uint64_t id, uint32_t unused)
{
	(void)unused;
	return bdus_wait_dev_destroyed(id);
}

static bool destroy_one(const char *spec, bool flush, bool quiet)
{
	uint32_t flags = BDUS_DESTROY_NO_WAIT;
	uint64_t id;

	switch (resolve_device(spec, &id, NULL, false)) {
	case NOT_RESOLVED:
		return false;
	case DEVICE_GONE:
		if (!quiet)
			error("bdus-%" PRIu64 ": the device no longer exists "
			      "(nothing to destroy)", id);
		return true;
	case RESOLVED:
		break;
	}

	if (!flush)
		flags |= BDUS_DESTROY_NO_FLUSH;
	snprintf(hint, sizeof(hint),
		 "bdus: bdus-%" PRIu64 ": still flushing; 'bdus destroy "
		 "--no-flush %" PRIu64 "' would skip the flush\n",
		 id, id);
	if (!with_hint(quiet, bdus_destroy_dev_ext, id, flags)) {
		if (errno == ENODEV)
			return true; /* destroyed meanwhile */
		if (errno == EIO)
			error("bdus-%" PRIu64 ": the flush failed, so the "
			      "device was not destroyed (--no-flush skips it)",
			      id);
		else
			error("%s", bdus_get_error_message());
		return false;
	}

	snprintf(hint, sizeof(hint),
		 "bdus: bdus-%" PRIu64 ": waiting for programs to close the "
		 "device (is it mounted?)\n",
		 id);
	if (!with_hint(quiet, wait_destroyed, id, 0)) {
		error("%s", bdus_get_error_message());
		return false;
	}
	return true;
}

static void install_hint_handler(void)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_handler = print_hint;
	action.sa_flags = SA_RESTART;
	sigemptyset(&action.sa_mask);
	sigaction(SIGALRM, &action, NULL);
}

int cmd_destroy(int argc, char **argv)
{
	static const struct option options[] = {
		{ "no-flush", no_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool flush = true, quiet = false, ok = true;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
		switch (opt) {
		case 'F':
			flush = false;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(help_text, stdout);
			return EXIT_OK;
		default:
			return bad_option("destroy", argv, opt);
		}
	}
	if (optind >= argc)
		return usage_error("destroy", "missing the device to destroy");
	for (int i = optind; i < argc; i++)
		if (!check_device_spec(argv[i]))
			return EXIT_FAILED;

	if (!require_kbdus())
		return EXIT_FAILED;
	install_hint_handler();
	for (int i = optind; i < argc; i++)
		ok &= destroy_one(argv[i], flush, quiet);
	return ok ? EXIT_OK : EXIT_FAILED;
}
