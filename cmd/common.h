// SPDX-License-Identifier: MIT
/*
 * common.h - helpers shared by the bdus subcommands.
 */

#ifndef BDUS_CMD_COMMON_H_
#define BDUS_CMD_COMMON_H_

#include <bdus.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

#define BDUS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Each subcommand: argv[0] is its name.  Returns the exit status. */
int cmd_destroy(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* "bdus: <message>" on stderr. */
void error(const char *fmt, ...) BDUS_PRINTF(1, 2);
/* "bdus <command>: <message>" and a pointer to --help; returns EXIT_USAGE. */
int usage_error(const char *command, const char *fmt, ...) BDUS_PRINTF(2, 3);
/* Reports getopt_long's complaint about argv[optind - 1]. */
int bad_option(const char *command, char **argv, int opt);

/* Checks that kbdus can be reached (libbdus loads it if it is installed);
 * on failure prints why. */
bool require_kbdus(void);

enum resolve_result { RESOLVED, DEVICE_GONE, NOT_RESOLVED };

/* Checks what can be checked without kbdus: the syntax, and that a path is
 * a block device.  Prints why on failure. */
bool check_device_spec(const char *spec);

/*
 * Turns "7", "bdus-7" or a path to the device's block special file into a
 * device id, and fills *info (if not NULL).  Prints why on failure.
 * DEVICE_GONE: a device had that id and was destroyed (an id that no device
 * ever had is NOT_RESOLVED); *out_id is set and the message is printed only
 * if report_missing.
 */
enum resolve_result resolve_device(const char *spec, uint64_t *out_id,
				   struct bdus_dev_info *info,
				   bool report_missing);

/* The block special file of a device, from sysfs; "/dev/bdus-<id>" if sysfs
 * does not know. */
void device_path(const struct bdus_dev_info *info, char *buf, size_t size);

/* "512 B", "4 KiB", "1.5 GiB". */
void format_size(uint64_t bytes, char *buf, size_t size);

const char *state_name(uint32_t state);
const char *protocol_name(uint32_t protocol);

/* Space-separated names of the request types (BDUS_REQ_*) a device serves. */
void format_requests(uint32_t requests, char *buf, size_t size);

#endif /* BDUS_CMD_COMMON_H_ */
