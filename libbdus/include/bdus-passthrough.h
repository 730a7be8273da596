// SPDX-License-Identifier: MIT
/*
 * bdus-passthrough.h - kernel-side passthrough: kbdus serves requests from
 * the driver's files itself.
 *
 * A driver registers files (bdus_register_backing()) and sets
 * bdus_ext_attrs.passthrough.  libbdus calls that callback first for every
 * read, write, FUA write, flush, discard and write-zeros request; it either
 * maps the request onto extents of the registered files, and kbdus then
 * does the I/O in the kernel, on the request's own pages, without the data
 * entering the driver's process; or it maps nothing, and the request goes
 * to its usual callback.  So a deduplicating, copy-on-write or caching
 * driver keeps the metadata and lets the kernel move the data.  Since
 * 0.1.3; see docs/library.md.
 *
 * The callback:
 *
 *   int passthrough(struct bdus_extent *extents, uint32_t *num_extents,
 *                   uint32_t type, uint64_t offset, uint32_t size,
 *                   struct bdus_ctx *ctx);
 *
 *   - type is the request's BDUS_REQ_* bit; offset and size are 0 for a
 *     flush;
 *   - to map the request, it fills extents[0 .. n - 1], n at most
 *     BDUS_MAX_EXTENTS, sets *num_extents to n and returns 0.  The
 *     request's bytes map onto the extents in order, so the lengths add up
 *     to size, each a multiple of the logical block size.  A flush lists
 *     the files to sync, offset and length 0.  A discard punches holes in
 *     the extents where the file system can (else it does nothing); a
 *     write-zeros punches holes (may_unmap) or zeroes them, growing the
 *     file if they end past it, and writing zeros where the file cannot
 *     allocate them.  Two extents of one file may not overlap;
 *   - to leave the request to its callback, which must then be set, it
 *     returns 0 with *num_extents left at 0;
 *   - to fail the request, it returns an errno value, as the request
 *     callbacks do (bdus_abort included).
 * If kbdus refuses a mapping (bad extents, an unregistered id, a file
 * opened read-only for a write, ...), the request fails with EIO and
 * libbdus logs why (attrs->log).  Errors of the files fail the request
 * too: ENOSPC as such, others as EIO.  A read past the end of a file
 * fails, rather than return bytes that nobody wrote.  FUA writes reach the
 * file with O_DSYNC semantics.  Files opened with O_DIRECT are accessed
 * that way where the request's pages are aligned enough for the backing
 * device, and through its page cache otherwise.  The I/O is done with the
 * credentials of whoever opened the file.
 *
 * The I/O runs asynchronously in kernel threads: the request completes
 * when the last extent is done, whether or not the driver still lives
 * (a driver killed meanwhile loses nothing); the request timeout does not
 * bound it.
 *
 * Context and thread-safety of the callback: as the request callbacks (see
 * struct bdus_ops).  Not with the asynchronous API (bdus-aio.h), which
 * refuses it.
 */

#ifndef BDUS_PASSTHROUGH_H_
#define BDUS_PASSTHROUGH_H_

#include <bdus.h>

#if BDUS_REQUIRE_VERSION_MAJOR == 0 && BDUS_REQUIRE_VERSION_MINOR == 1 && \
	BDUS_REQUIRE_VERSION_PATCH < 3
#error "bdus-passthrough.h is new in BDUS 0.1.3: require 0.1.3 or later"
#endif

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A piece of a registered file. */
struct bdus_extent {
	uint64_t offset; /* bytes from the start of the file */
	uint32_t length; /* bytes */
	uint32_t backing; /* what bdus_register_backing() returned */
};

/* The most extents one request may map onto. */
#define BDUS_MAX_EXTENTS 8

/*
 * Registers a file for passthrough.  fd is open for reading, writing or
 * both (requests that write need it writable), and is a regular file or a
 * block device.  kbdus keeps its own reference, so the driver may close fd
 * afterwards.  Returns the id that extents name, or -1 with the error
 * message set (bdus_get_error_message()) and errno: EPERM without
 * CAP_SYS_ADMIN; EBADF; EINVAL (not a regular file or block device,
 * opened O_APPEND, or ctx is not the context of a driver this process
 * runs); ELOOP (the file is the device itself, or lives on a file system
 * on it; kbdus looks no deeper, through device mapper or other loop
 * devices, or into btrfs, say); EMFILE (64 files are registered);
 * ENOSYS (kbdus is older than 0.1.3).  Registrations end with the driver:
 * one started with bdus_rerun() registers its files again.
 * Context: from initialize() to terminate() of the driver whose ctx it is.
 * Thread-safety: thread-safe.
 */
int bdus_register_backing(struct bdus_ctx *ctx, int fd);

/*
 * Unregisters a file: later mappings may not name it, and kbdus drops its
 * reference once the I/O already started on it is done.  Returns true, or
 * false with the error message set: ENOENT if no file has that id.
 * Context and thread-safety: as bdus_register_backing().
 */
bool bdus_unregister_backing(struct bdus_ctx *ctx, int backing);

#ifdef __cplusplus
}
#endif

#endif /* BDUS_PASSTHROUGH_H_ */
