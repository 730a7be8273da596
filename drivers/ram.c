// SPDX-License-Identifier: MIT
/*
 * ram.c - bdus-ram: a volatile device that keeps its data in memory.
 *
 * What it shows a driver author:
 *   - allocating per-device state in initialize(), from the effective
 *     ctx->attrs (so it also works with --rerun, where the size comes from
 *     the existing device), and freeing it in terminate();
 *   - serving read, write, write_zeros, discard and flush;
 *   - data that moves once, as brd's does (ext read_ref and write_ref): the
 *     callbacks say where a read's data is and where a write's data goes,
 *     and kbdus copies it between there and the request's pages
 *     (--no-read-ref, --no-write-ref: through libbdus's buffer);
 *   - callbacks that are safe to run concurrently (--concurrency N): they
 *     share only the memory, and concurrent requests for overlapping ranges
 *     have no defined order on real disks either, so no lock is needed.
 *
 * Usage: bdus-ram [options] SIZE
 */

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char help_text[] =
	"Usage: bdus-ram [<options>] <size>\n"
	"\n"
	"Create a block device that keeps its data in memory, and print its\n"
	"path once it is available.  The data is lost when the driver stops.\n"
	"\n"
	"  <size>   The device's size in bytes, with an optional K, M, G or T\n"
	"           suffix (powers of 1024), e.g. 512M.  Memory is only used\n"
	"           where data is written.  Optional with --rerun.\n"
	"\n"
	"  --no-read-ref   Copy read data through libbdus's buffer (two\n"
	"                  copies) instead of pointing kbdus at it (one).\n"
	"  --no-write-ref  The same for written data.\n"
	"\n";

enum {
	OPT_NO_READ_REF = OPT_FIRST_DRIVER_SPECIFIC,
	OPT_NO_WRITE_REF,
};

static char *memory_of(struct bdus_ctx *ctx)
{
	return ctx->private_data;
}

static int ram_initialize(struct bdus_ctx *ctx)
{
	/* MAP_NORESERVE: untouched pages cost nothing and read as zeros. */
	void *memory = mmap(NULL, ctx->attrs->size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (memory == MAP_FAILED)
		return errno;
	ctx->private_data = memory;
	return 0;
}

static int ram_terminate(struct bdus_ctx *ctx)
{
	munmap(ctx->private_data, ctx->attrs->size);
	return 0;
}

static int ram_read(char *buffer, uint64_t offset, uint32_t size,
		    struct bdus_ctx *ctx)
{
	memcpy(buffer, memory_of(ctx) + offset, size);
	return 0;
}

/* The data is already in memory: no need to copy it anywhere first. */
static int ram_read_ref(const char **data, uint64_t offset, uint32_t size,
			struct bdus_ctx *ctx)
{
	(void)size;
	*data = memory_of(ctx) + offset;
	return 0;
}

/* The data lands where it belongs: no need to copy it from elsewhere. */
static int ram_write_ref(char **data, uint64_t offset, uint32_t size,
			 struct bdus_ctx *ctx)
{
	(void)size;
	*data = memory_of(ctx) + offset;
	return 0;
}

static int ram_write(const char *buffer, uint64_t offset, uint32_t size,
		     struct bdus_ctx *ctx)
{
	memcpy(memory_of(ctx) + offset, buffer, size);
	return 0;
}

/* Zeroes a range, giving whole pages back to the system. */
static void release_range(char *memory, uint64_t offset, uint32_t size)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t first = (offset + page - 1) / page * page;
	uint64_t last = (offset + size) / page * page;

	if (first >= last) {
		memset(memory + offset, 0, size);
		return;
	}
	memset(memory + offset, 0, first - offset);
	/* Private anonymous pages read as zeros once dropped. */
	if (madvise(memory + first, last - first, MADV_DONTNEED) != 0)
		memset(memory + first, 0, last - first);
	memset(memory + last, 0, offset + size - last);
}

static int ram_write_zeros(uint64_t offset, uint32_t size, bool may_unmap,
			   struct bdus_ctx *ctx)
{
	/* Without may_unmap, later writes must not fail for lack of space:
	 * keep the pages. */
	if (may_unmap)
		release_range(memory_of(ctx), offset, size);
	else
		memset(memory_of(ctx) + offset, 0, size);
	return 0;
}

static int ram_discard(uint64_t offset, uint32_t size, struct bdus_ctx *ctx)
{
	release_range(memory_of(ctx), offset, size);
	return 0;
}

/*
 * Memory has no cache to flush.  Serving flush anyway declares a volatile
 * write cache, so the kernel sends flushes: this shows the callback, and
 * lets tools such as fio exercise it.
 */
static int ram_flush(struct bdus_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static const struct bdus_ops ram_ops = {
	.initialize = ram_initialize,
	.terminate = ram_terminate,
	.read = ram_read,
	.write = ram_write,
	.write_zeros = ram_write_zeros,
	.discard = ram_discard,
	.flush = ram_flush,
};

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		DRIVER_COMMON_OPTIONS,
		{ "no-read-ref", no_argument, NULL, OPT_NO_READ_REF },
		{ "no-write-ref", no_argument, NULL, OPT_NO_WRITE_REF },
		{ NULL, 0, NULL, 0 },
	};
	struct driver_options options;
	int opt, handled;

	driver_options_init(&options, "bdus-ram");
	options.ext.read_ref = ram_read_ref;
	options.ext.write_ref = ram_write_ref;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) !=
	       -1) {
		if (opt == 'h') {
			printf("%s%s", help_text, driver_common_help);
			return 0;
		}
		if (opt == OPT_NO_READ_REF) {
			options.ext.read_ref = NULL;
			continue;
		}
		if (opt == OPT_NO_WRITE_REF) {
			options.ext.write_ref = NULL;
			continue;
		}
		handled = driver_parse_common(&options, opt, optarg);
		if (handled < 0)
			return 2;
		if (handled == 0)
			return driver_bad_option(&options, argv, opt);
	}

	if (!driver_parse_size_operand(&options, argc, argv))
		return 2;

	return driver_run(&options, &ram_ops, NULL);
}
