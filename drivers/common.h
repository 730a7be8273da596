// SPDX-License-Identifier: MIT
/*
 * common.h - command-line handling shared by the example drivers: the
 * options every driver takes, number parsing, and running the driver.
 * Nothing BDUS-specific is hidden here: driver_run() is bdus_run_ext() or
 * bdus_rerun_ext() plus error reporting.
 */

#ifndef BDUS_DRIVERS_COMMON_H_
#define BDUS_DRIVERS_COMMON_H_

#include <bdus.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

/* What the common options set.  A zero attribute was not given: with
 * --rerun it means "the device's", otherwise the default. */
struct driver_options {
	const char *program; /* for messages */
	struct bdus_attrs attrs;
	struct bdus_ext_attrs ext;
	const char *rerun; /* device to take over, or NULL */
};

/* getopt_long values of the common options. */
enum {
	OPT_PROTOCOL = 1000,
	OPT_QUEUES,
	OPT_QUEUE_DEPTH,
	OPT_CONCURRENCY,
	OPT_REQUEST_TIMEOUT,
	OPT_LOGICAL_BLOCK_SIZE,
	OPT_RECOVERABLE,
	OPT_FOREGROUND,
	OPT_RERUN,
	OPT_LOG,
	OPT_POLL_US,
	OPT_FIRST_DRIVER_SPECIFIC, /* drivers number their own from here */
};

/* Put this in a driver's struct option array. */
#define DRIVER_COMMON_OPTIONS                                                  \
	{ "protocol", required_argument, NULL, OPT_PROTOCOL },                 \
	{ "queues", required_argument, NULL, OPT_QUEUES },                     \
	{ "queue-depth", required_argument, NULL, OPT_QUEUE_DEPTH },           \
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },           \
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },   \
	{ "logical-block-size", required_argument, NULL,                       \
	  OPT_LOGICAL_BLOCK_SIZE },                                            \
	{ "recoverable", no_argument, NULL, OPT_RECOVERABLE },                 \
	{ "foreground", no_argument, NULL, OPT_FOREGROUND },                   \
	{ "rerun", required_argument, NULL, OPT_RERUN },                       \
	{ "log", no_argument, NULL, OPT_LOG },                                  \
	{ "poll-us", required_argument, NULL, OPT_POLL_US },                   \
	{ "help", no_argument, NULL, 'h' }

/* The help text of the common options. */
extern const char driver_common_help[];

void driver_options_init(struct driver_options *options,
			 const char *program);

/* Handles a common option: 1 if it was one, 0 if not, -1 if its value is
 * bad (the message is printed). */
int driver_parse_common(struct driver_options *options, int opt,
			const char *arg);

/* Prints "<program>: <message>" and "Try '<program> --help'"; returns 2. */
int driver_usage_error(const struct driver_options *options, const char *fmt,
		       ...) __attribute__((format(printf, 2, 3)));
/* For a getopt_long failure on argv[optind - 1]. */
int driver_bad_option(const struct driver_options *options, char **argv,
		      int opt);

/* "4096", "64K", "1.5G" is not accepted: integers with an optional K, M,
 * G or T suffix (powers of 1024). */
bool parse_size(const char *text, uint64_t *out);
bool parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out);

/* The <size> operand after the options (argv[optind]) into attrs->size:
 * required unless --rerun.  False, with the usage message printed, if it
 * is missing, bad, or followed by more. */
bool driver_parse_size_operand(struct driver_options *options, int argc,
			       char **argv);

/* A block device's size into attrs, and its logical and physical block
 * sizes where attrs has 0; false with a message if it cannot tell. */
bool block_device_geometry(const char *program, const char *path, int fd,
			   struct bdus_attrs *attrs);

/* Runs the driver (bdus_run_ext, or bdus_rerun_ext with --rerun) and
 * returns the exit status, printing libbdus's message on failure.  A new
 * device without --logical-block-size gets 512. */
int driver_run(struct driver_options *options, const struct bdus_ops *ops,
	       void *private_data);

#endif /* BDUS_DRIVERS_COMMON_H_ */
