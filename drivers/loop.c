// SPDX-License-Identifier: MIT
/*
 * loop.c - bdus-loop: a device backed by a file or another block device,
 * like the kernel's loop driver.
 *
 * What it shows a driver author:
 *   - kernel-side passthrough (ext passthrough): the backing file is
 *     registered with kbdus, every request is answered with "the same
 *     bytes of that file", and kbdus does the I/O without the data
 *     entering this process (--no-passthrough: the callbacks below);
 *   - mapping every request type to system calls: pread/pwrite, fdatasync
 *     for flush, fallocate for discard and write-zeros, and a fallback for
 *     files or devices that cannot fallocate;
 *   - declaring a write cache (flush) and FUA writes, since the page cache
 *     of the backing file is a volatile cache;
 *   - deriving geometry from the backing store, and retrying short I/O;
 *   - forwarding a few ioctls, and refusing the rest.
 *
 * Forwarded ioctls: FS_IOC_GETFLAGS, FS_IOC_GETVERSION and
 * FS_IOC_FSGETXATTR, which describe the backing file.  They are safe to
 * forward because they only read, take a fixed-size argument without
 * pointers, and reveal nothing the user of the device could not see anyway.
 * Linux answers many ioctls on /dev/bdus-N itself (block layer, VFS), so
 * these reach the driver only where it does not.  Others fail with ENOTTY.
 *
 * Usage: bdus-loop [options] FILE
 */

#include "common.h"

#include <bdus-passthrough.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help_text[] =
	"Usage: bdus-loop [<options>] <file>\n"
	"\n"
	"Create a block device whose data lives in <file>, a regular file or a\n"
	"block device, and print its path once it is available.  A regular\n"
	"file's size is rounded down to a multiple of the block size.\n"
	"\n"
	"Options:\n"
	"  --direct                  Open <file> with O_DIRECT, bypassing the\n"
	"                            page cache (needs aligned I/O: use a block\n"
	"                            size the file's file system accepts)\n"
	"  --physical-block-size N   For regular files (default: the logical\n"
	"                            block size)\n"
	"  --no-passthrough          Serve requests here, with pread, pwrite\n"
	"                            and friends, instead of having kbdus do\n"
	"                            the I/O on <file> itself\n"
	"\n"
	"A block device backing keeps its own block sizes unless overridden.\n"
	"\n";

enum {
	OPT_DIRECT = OPT_FIRST_DRIVER_SPECIFIC,
	OPT_PHYSICAL_BLOCK_SIZE,
	OPT_NO_PASSTHROUGH,
};

struct backing {
	int fd;
	bool is_block_device;
	atomic_bool no_fallocate; /* learned from EOPNOTSUPP */
	bool passthrough; /* registered with kbdus: it serves the requests */
	uint32_t id; /* ... as this */
};

static struct backing *backing_of(struct bdus_ctx *ctx)
{
	return ctx->private_data;
}

/* ------------------------------------------------------------------------- */
/* Data */

static int loop_read(char *buffer, uint64_t offset, uint32_t size,
		     struct bdus_ctx *ctx)
{
	int fd = backing_of(ctx)->fd;

	while (size > 0) {
		ssize_t done = pread(fd, buffer, size, (off_t)offset);

		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0)
			return errno;
		if (done == 0) { /* the file shrank under us: read zeros */
			memset(buffer, 0, size);
			break;
		}
		buffer += done;
		offset += (uint64_t)done;
		size -= (uint32_t)done;
	}
	return 0;
}

static int loop_write(const char *buffer, uint64_t offset, uint32_t size,
		      struct bdus_ctx *ctx)
{
	int fd = backing_of(ctx)->fd;

	while (size > 0) {
		ssize_t done = pwrite(fd, buffer, size, (off_t)offset);

		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0)
			return errno;
		buffer += done;
		offset += (uint64_t)done;
		size -= (uint32_t)done;
	}
	return 0;
}

static int loop_flush(struct bdus_ctx *ctx)
{
	return fdatasync(backing_of(ctx)->fd) == 0 ? 0 : errno;
}

/* Persistent before it completes: write, then sync.  (pwritev2 with
 * RWF_DSYNC would sync less, but is not supported everywhere.) */
static int loop_fua_write(const char *buffer, uint64_t offset, uint32_t size,
			  struct bdus_ctx *ctx)
{
	int ret = loop_write(buffer, offset, size, ctx);

	return ret ? ret : loop_flush(ctx);
}

/* ------------------------------------------------------------------------- */
/* Zeroing and discarding */

static int write_zero_buffers(uint64_t offset, uint32_t size,
			      struct bdus_ctx *ctx)
{
	static const char zeros[64 * 1024];

	while (size > 0) {
		uint32_t chunk = size < sizeof(zeros) ? size : sizeof(zeros);
		int ret = loop_write(zeros, offset, chunk, ctx);

		if (ret)
			return ret;
		offset += chunk;
		size -= chunk;
	}
	return 0;
}

/* fallocate, or zero-filled writes where the backing cannot do it. */
static int zero_range(uint64_t offset, uint32_t size, int mode,
		      struct bdus_ctx *ctx)
{
	struct backing *backing = backing_of(ctx);

	if (!atomic_load(&backing->no_fallocate)) {
		if (fallocate(backing->fd, mode | FALLOC_FL_KEEP_SIZE,
			      (off_t)offset, (off_t)size) == 0)
			return 0;
		if (errno != EOPNOTSUPP)
			return errno;
		atomic_store(&backing->no_fallocate, true);
	}
	return write_zero_buffers(offset, size, ctx);
}

static int loop_write_zeros(uint64_t offset, uint32_t size, bool may_unmap,
			    struct bdus_ctx *ctx)
{
	/* Punching a hole frees space; ZERO_RANGE keeps it allocated, as
	 * must be when unmapping is not allowed. */
	return zero_range(offset, size,
			  may_unmap ? FALLOC_FL_PUNCH_HOLE :
				      FALLOC_FL_ZERO_RANGE,
			  ctx);
}

/* Discarded data may read as anything; zeros are the easy choice. */
static int loop_discard(uint64_t offset, uint32_t size, struct bdus_ctx *ctx)
{
	return zero_range(offset, size, FALLOC_FL_PUNCH_HOLE, ctx);
}

/* ------------------------------------------------------------------------- */
/* ioctl */

static bool may_forward(uint32_t command)
{
	switch (command) {
	case FS_IOC_GETFLAGS:
	case FS_IOC_GETVERSION:
	case FS_IOC_FSGETXATTR:
		return true;
	default:
		return false;
	}
}

static int loop_ioctl(uint32_t command, void *argument, struct bdus_ctx *ctx)
{
	if (!may_forward(command))
		return ENOTTY;
	return ioctl(backing_of(ctx)->fd, (unsigned long)command, argument) == 0 ?
		       0 :
		       errno;
}

/* ------------------------------------------------------------------------- */
/* Passthrough */

static int loop_initialize(struct bdus_ctx *ctx)
{
	int id;

	if (!ctx->ext->passthrough)
		return 0;
	id = bdus_register_backing(ctx, backing_of(ctx)->fd);
	if (id < 0) {
		int err = errno;

		if (err != ENOSYS) {
			fprintf(stderr, "bdus-loop: %s\n",
				bdus_get_error_message());
			return err;
		}
		/* An older kbdus: the callbacks serve every request. */
		return 0;
	}
	backing_of(ctx)->id = (uint32_t)id;
	backing_of(ctx)->passthrough = true;
	return 0;
}

/* Every request is the same bytes of the backing file; a flush syncs it. */
static int loop_passthrough(struct bdus_extent *extents, uint32_t *num_extents,
			    uint32_t type, uint64_t offset, uint32_t size,
			    struct bdus_ctx *ctx)
{
	(void)type; /* for a flush, offset and size are 0, as kbdus wants */
	if (!backing_of(ctx)->passthrough)
		return 0;
	extents[0] = (struct bdus_extent){
		.offset = offset,
		.length = size,
		.backing = backing_of(ctx)->id,
	};
	*num_extents = 1;
	return 0;
}

static const struct bdus_ops loop_ops = {
	.initialize = loop_initialize,
	.read = loop_read,
	.write = loop_write,
	.write_zeros = loop_write_zeros,
	.fua_write = loop_fua_write,
	.flush = loop_flush,
	.discard = loop_discard,
	.ioctl = loop_ioctl,
};

/* ------------------------------------------------------------------------- */
/* Setup */

static bool file_geometry(struct driver_options *options, const char *path,
			  const struct stat *st)
{
	struct bdus_attrs *attrs = &options->attrs;
	uint32_t block;

	if (attrs->logical_block_size == 0)
		attrs->logical_block_size = 512;
	block = attrs->physical_block_size > attrs->logical_block_size ?
			attrs->physical_block_size :
			attrs->logical_block_size;
	attrs->size = (uint64_t)st->st_size / block * block;

	if (attrs->size == 0) {
		fprintf(stderr, "%s: %s: too small (%lld bytes): the device "
				"needs at least one %u-byte block\n",
			options->program, path, (long long)st->st_size, block);
		return false;
	}
	if (attrs->size != (uint64_t)st->st_size)
		fprintf(stderr, "%s: %s: using the first %llu of its %lld "
				"bytes (a multiple of %u)\n",
			options->program, path,
			(unsigned long long)attrs->size,
			(long long)st->st_size, block);
	return true;
}

static bool open_backing(struct driver_options *options, const char *path,
			 bool direct, struct backing *backing)
{
	struct stat st;
	int flags = O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0);

	backing->fd = open(path, flags);
	if (backing->fd < 0 || fstat(backing->fd, &st) != 0) {
		fprintf(stderr, "%s: %s: cannot open: %s\n", options->program,
			path, strerror(errno));
		return false;
	}
	backing->is_block_device = S_ISBLK(st.st_mode);
	if (!backing->is_block_device && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: %s: not a regular file or block device\n",
			options->program, path);
		return false;
	}

	/* With --rerun, the device already has its geometry. */
	if (options->rerun)
		return true;
	if (backing->is_block_device)
		return block_device_geometry(options->program, path,
					     backing->fd, &options->attrs);
	return file_geometry(options, path, &st);
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		DRIVER_COMMON_OPTIONS,
		{ "direct", no_argument, NULL, OPT_DIRECT },
		{ "physical-block-size", required_argument, NULL,
		  OPT_PHYSICAL_BLOCK_SIZE },
		{ "no-passthrough", no_argument, NULL, OPT_NO_PASSTHROUGH },
		{ NULL, 0, NULL, 0 },
	};
	struct driver_options options;
	struct backing backing = { .fd = -1 };
	bool direct = false;
	int opt, handled, status;

	driver_options_init(&options, "bdus-loop");
	options.ext.passthrough = loop_passthrough;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) !=
	       -1) {
		if (opt == 'h') {
			printf("%s%s", help_text, driver_common_help);
			return 0;
		} else if (opt == OPT_DIRECT) {
			direct = true;
		} else if (opt == OPT_NO_PASSTHROUGH) {
			options.ext.passthrough = NULL;
		} else if (opt == OPT_PHYSICAL_BLOCK_SIZE) {
			if (!parse_u32(optarg, 1, UINT32_MAX,
				       &options.attrs.physical_block_size))
				return driver_usage_error(
					&options,
					"invalid --physical-block-size '%s'",
					optarg);
		} else {
			handled = driver_parse_common(&options, opt, optarg);
			if (handled < 0)
				return 2;
			if (handled == 0)
				return driver_bad_option(&options, argv, opt);
		}
	}

	if (optind == argc)
		return driver_usage_error(&options, "missing the backing file");
	if (argc - optind > 1)
		return driver_usage_error(&options, "unexpected argument '%s'",
					  argv[optind + 1]);
	if (!open_backing(&options, argv[optind], direct, &backing)) {
		if (backing.fd >= 0)
			close(backing.fd);
		return 1;
	}

	status = driver_run(&options, &loop_ops, &backing);
	close(backing.fd);
	return status;
}
