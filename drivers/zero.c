// SPDX-License-Identifier: MIT
/*
 * zero.c - bdus-zero: a device that reads as zeros and ignores writes,
 * like /dev/zero as a block device.
 *
 * What it shows a driver author: the smallest useful driver.  It keeps no
 * state, so its callbacks can run on any number of threads; it is also a
 * way to measure BDUS's own overhead, since the callbacks do nothing.
 *
 * Usage: bdus-zero [options] SIZE
 */

#include "common.h"

#include <stdio.h>
#include <string.h>

static const char help_text[] =
	"Usage: bdus-zero [<options>] <size>\n"
	"\n"
	"Create a block device whose reads return zeros and whose writes are\n"
	"discarded, and print its path once it is available.\n"
	"\n"
	"  <size>   The device's size in bytes, with an optional K, M, G or T\n"
	"           suffix (powers of 1024), e.g. 1T.  Optional with --rerun.\n"
	"\n";

static int zero_read(char *buffer, uint64_t offset, uint32_t size,
		     struct bdus_ctx *ctx)
{
	(void)offset;
	(void)ctx;
	memset(buffer, 0, size);
	return 0;
}

static int zero_write(const char *buffer, uint64_t offset, uint32_t size,
		      struct bdus_ctx *ctx)
{
	(void)buffer;
	(void)offset;
	(void)size;
	(void)ctx;
	return 0;
}

/* Zeroing and discarding change nothing on a device that is all zeros. */
static int zero_write_zeros(uint64_t offset, uint32_t size, bool may_unmap,
			    struct bdus_ctx *ctx)
{
	(void)offset;
	(void)size;
	(void)may_unmap;
	(void)ctx;
	return 0;
}

static int zero_discard(uint64_t offset, uint32_t size, struct bdus_ctx *ctx)
{
	(void)offset;
	(void)size;
	(void)ctx;
	return 0;
}

static const struct bdus_ops zero_ops = {
	.read = zero_read,
	.write = zero_write,
	.write_zeros = zero_write_zeros,
	.discard = zero_discard,
};

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		DRIVER_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct driver_options options;
	int opt, handled;

	driver_options_init(&options, "bdus-zero");
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) !=
	       -1) {
		if (opt == 'h') {
			printf("%s%s", help_text, driver_common_help);
			return 0;
		}
		handled = driver_parse_common(&options, opt, optarg);
		if (handled < 0)
			return 2;
		if (handled == 0)
			return driver_bad_option(&options, argv, opt);
	}

	if (!driver_parse_size_operand(&options, argc, argv))
		return 2;

	return driver_run(&options, &zero_ops, NULL);
}
