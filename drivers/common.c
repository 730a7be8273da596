// SPDX-License-Identifier: MIT
/*
 * common.c - see common.h.
 */

#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

const char driver_common_help[] =
	"Common options:\n"
	"  --protocol ioctl|mmap|uring\n"
	"                            How requests reach the driver (default:\n"
	"                            uring, else mmap, else ioctl: the first\n"
	"                            that kbdus and the system support)\n"
	"  --queues N                Hardware queues, 1 to 64 (default 1)\n"
	"  --queue-depth N           Requests in flight per queue, 1 to 1024\n"
	"                            (default 64)\n"
	"  --concurrency N           Callbacks running at once, on N threads\n"
	"                            (default 1)\n"
	"  --request-timeout MS      Fail requests the driver has not answered\n"
	"                            in MS milliseconds (default 30000)\n"
	"  --poll-us US              uring: look for the next request for US\n"
	"                            microseconds before sleeping, 0 to 100000\n"
	"                            (default 0): lower latency, busier CPU\n"
	"  --logical-block-size N    512, 1024, 2048 or 4096 (default 512)\n"
	"  --recoverable             Keep the device if the driver dies, for\n"
	"                            --rerun to take over\n"
	"  --foreground              Do not daemonize once the device is up\n"
	"  --rerun DEVICE            Drive an existing device (id, bdus-<id> or\n"
	"                            path) instead of creating one, replacing\n"
	"                            its driver if it has one\n"
	"  --log                     Log every callback to stderr\n"
	"  -h, --help                Show this help\n";

void driver_options_init(struct driver_options *options, const char *program)
{
	memset(options, 0, sizeof(*options));
	options->program = program;
}

int driver_usage_error(const struct driver_options *options, const char *fmt,
		       ...)
{
	va_list args;

	fprintf(stderr, "%s: ", options->program);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\nTry '%s --help'.\n", options->program);
	return 2;
}

int driver_bad_option(const struct driver_options *options, char **argv,
		      int opt)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return driver_usage_error(options, "option '%s' needs a value",
					  arg);
	if (optopt && optopt < OPT_PROTOCOL && arg[1] != '-')
		return driver_usage_error(options, "unknown option '-%c'",
					  optopt);
	return driver_usage_error(options, "unknown option '%s'", arg);
}

bool parse_size(const char *text, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	const char *suffix;
	unsigned long long value;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno)
		return false;

	if (*end != '\0') {
		suffix = strchr(suffixes, toupper((unsigned char)*end));
		if (!suffix || end[1] != '\0')
			return false;
		for (const char *s = suffixes; s <= suffix; s++) {
			if (value > UINT64_MAX / 1024)
				return false;
			value *= 1024;
		}
	}
	*out = value;
	return true;
}

bool parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t value;

	if (!parse_size(text, &value) || value < min || value > max)
		return false;
	*out = (uint32_t)value;
	return true;
}

static int bad_value(struct driver_options *options, const char *option,
		     const char *arg, const char *expected)
{
	driver_usage_error(options, "invalid %s '%s': expected %s", option,
			   arg, expected);
	return -1;
}

static int parse_protocol(struct driver_options *options, const char *arg)
{
	if (strcmp(arg, "ioctl") == 0)
		options->ext.protocol = BDUS_PROTOCOL_IOCTL;
	else if (strcmp(arg, "mmap") == 0)
		options->ext.protocol = BDUS_PROTOCOL_MMAP;
	else if (strcmp(arg, "uring") == 0)
		options->ext.protocol = BDUS_PROTOCOL_URING;
	else
		return bad_value(options, "--protocol", arg,
				 "ioctl, mmap or uring");
	return 1;
}

int driver_parse_common(struct driver_options *options, int opt,
			const char *arg)
{
	struct bdus_attrs *attrs = &options->attrs;
	struct bdus_ext_attrs *ext = &options->ext;

	switch (opt) {
	case OPT_PROTOCOL:
		return parse_protocol(options, arg);
	case OPT_QUEUES:
		return parse_u32(arg, 1, 64, &ext->num_queues) ?
			       1 : bad_value(options, "--queues", arg,
					     "1 to 64");
	case OPT_QUEUE_DEPTH:
		return parse_u32(arg, 1, 1024, &ext->queue_depth) ?
			       1 : bad_value(options, "--queue-depth", arg,
					     "1 to 1024");
	case OPT_CONCURRENCY:
		return parse_u32(arg, 1, 65536,
				 &attrs->max_concurrent_callbacks) ?
			       1 : bad_value(options, "--concurrency", arg,
					     "1 to 65536");
	case OPT_REQUEST_TIMEOUT:
		return parse_u32(arg, 100, 86400000,
				 &ext->request_timeout_ms) ?
			       1 : bad_value(options, "--request-timeout", arg,
					     "100 to 86400000 (ms)");
	case OPT_POLL_US:
		return parse_u32(arg, 0, BDUS_MAX_POLL_US, &ext->poll_us) ?
			       1 : bad_value(options, "--poll-us", arg,
					     "0 to 100000 (microseconds)");
	case OPT_LOGICAL_BLOCK_SIZE:
		/* libbdus checks the value and says what is wrong with it. */
		return parse_u32(arg, 0, UINT32_MAX,
				 &attrs->logical_block_size) ?
			       1 : bad_value(options, "--logical-block-size",
					     arg, "a number of bytes");
	case OPT_RECOVERABLE:
		attrs->recoverable = true;
		return 1;
	case OPT_FOREGROUND:
		attrs->dont_daemonize = true;
		return 1;
	case OPT_RERUN:
		options->rerun = arg;
		return 1;
	case OPT_LOG:
		attrs->log = true;
		return 1;
	default:
		return 0;
	}
}

/* "7", "bdus-7", or a path that libbdus looks up. */
static bool rerun_device_id(const struct driver_options *options,
			    uint64_t *out_id)
{
	const char *text = options->rerun;
	char *end;

	if (strncmp(text, "bdus-", 5) == 0)
		text += 5;
	if (isdigit((unsigned char)text[0])) {
		errno = 0;
		*out_id = strtoull(text, &end, 10);
		if (errno == 0 && *end == '\0')
			return true;
	}
	if (!strchr(options->rerun, '/')) {
		fprintf(stderr, "%s: --rerun %s: not a device id, bdus-<id> or "
				"path\n",
			options->program, options->rerun);
		return false;
	}
	if (!bdus_get_dev_id_from_path(out_id, options->rerun)) {
		fprintf(stderr, "%s: --rerun: %s\n", options->program,
			bdus_get_error_message());
		return false;
	}
	return true;
}

int driver_run(struct driver_options *options, const struct bdus_ops *ops,
	       void *private_data)
{
	uint64_t id;
	bool ok;

	if (options->rerun) {
		if (!rerun_device_id(options, &id))
			return 1;
		/* 0 attributes mean "the device's", as libbdus wants. */
		ok = bdus_rerun_ext(id, ops, &options->attrs, &options->ext,
				    private_data);
	} else {
		if (options->attrs.logical_block_size == 0)
			options->attrs.logical_block_size = 512;
		ok = bdus_run_ext(ops, &options->attrs, &options->ext,
				  private_data);
	}

	if (!ok)
		fprintf(stderr, "%s: %s\n", options->program,
			bdus_get_error_message());
	return ok ? 0 : 1;
}

bool block_device_geometry(const char *program, const char *path, int fd,
			   struct bdus_attrs *attrs)
{
	int lbs, pbs;

	if (ioctl(fd, BLKGETSIZE64, &attrs->size) != 0 ||
	    ioctl(fd, BLKSSZGET, &lbs) != 0 || ioctl(fd, BLKPBSZGET, &pbs) != 0) {
		fprintf(stderr, "%s: %s: cannot get its geometry: %s\n",
			program, path, strerror(errno));
		return false;
	}
	if (attrs->logical_block_size == 0)
		attrs->logical_block_size = (uint32_t)lbs;
	if (attrs->physical_block_size == 0)
		attrs->physical_block_size = (uint32_t)pbs;
	return true;
}

bool driver_parse_size_operand(struct driver_options *options, int argc,
			       char **argv)
{
	if (optind == argc && !options->rerun) {
		driver_usage_error(options, "missing the device size");
		return false;
	}
	if (argc - optind > 1) {
		driver_usage_error(options, "unexpected argument '%s'",
				   argv[optind + 1]);
		return false;
	}
	if (optind < argc && !parse_size(argv[optind], &options->attrs.size)) {
		driver_usage_error(options,
				   "invalid size '%s': expected bytes with an "
				   "optional K, M, G or T suffix",
				   argv[optind]);
		return false;
	}
	return true;
}
