// SPDX-License-Identifier: MIT
/*
 * bdus-ext.h - extended attributes (since 0.1.3): struct bdus_ext_attrs,
 * what BDUS 0.1.2's struct bdus_attrs lacks, and bdus_run_ext() and
 * bdus_rerun_ext(), which take it.
 *
 * Part of bdus.h, which includes it when the driver asks for 0.1.3 or
 * later (see "Versions" there); include <bdus.h>, not this.  The
 * conventions of bdus.h apply.
 */

#ifndef BDUS_EXT_H_
#define BDUS_EXT_H_

#ifndef BDUS_H_
#error "include <bdus.h>, which includes bdus-ext.h"
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * How requests travel between kbdus and the driver.  Callbacks see no
 * difference: the choice only affects speed.
 *   - DEFAULT: URING, falling back to MMAP and then IOCTL when kbdus or the
 *     system cannot use one (kbdus without it, io_uring disabled, memory
 *     that cannot be mapped).
 *   - IOCTL: requests and data are copied through an ioctl on each
 *     request; each thread has its own buffer.
 *   - MMAP: data stays in buffers shared with kbdus; only small headers are
 *     exchanged.  No copy between kernel and user space for the payload.
 *   - URING: io_uring commands, one posted per request slot; each hardware
 *     queue is served by one thread with its own ring, and many requests
 *     travel per system call.  Needs io_uring (Linux 6.1 or later, not
 *     disabled by kernel.io_uring_disabled).
 */
enum bdus_protocol {
	BDUS_PROTOCOL_DEFAULT = 0,
	BDUS_PROTOCOL_IOCTL = 1,
	BDUS_PROTOCOL_MMAP = 2,
	BDUS_PROTOCOL_URING = 3
};

/* ext flags: the device is rotational (a hint); bdus_rerun_ext() ignores it. */
#define BDUS_EXT_ROTATIONAL (1u << 0)

struct bdus_extent; /* bdus-passthrough.h */

/*
 * Attributes that BDUS 0.1.2 did not have.  Zero-initialize it: a zero
 * field means "the default".  Passed to bdus_run_ext() or bdus_rerun_ext();
 * the effective values are in ctx->ext.
 *
 * New fields will only ever be appended.  The bdus_run_ext() and
 * bdus_rerun_ext() wrappers pass the struct's size as this header defines
 * it, so a driver compiled against an older header keeps working with a
 * newer libbdus (the missing fields count as zero).  libbdus copies it;
 * ctx->ext is read-only for callbacks.
 */
struct bdus_ext_attrs {
	/* enum bdus_protocol.  bdus_rerun_ext(): DEFAULT also means URING
	 * with fallback; the previous driver's protocol does not matter. */
	uint32_t protocol;

	/* Hardware queues of the device: 0 (= 1) up to 64.  More queues let
	 * the kernel submit from several CPUs without contention.
	 * bdus_rerun_ext(): 0 or the device's. */
	uint32_t num_queues;

	/* Requests in flight per queue: 0 (= 64) up to 1024.
	 * bdus_rerun_ext(): 0 or the device's. */
	uint32_t queue_depth;

	/* How long a request may wait for the driver before the kernel fails
	 * it, in milliseconds: 0 (= 30000) or 100 to 86400000.
	 * bdus_rerun_ext(): 0 or the device's. */
	uint32_t request_timeout_ms;

	/* BDUS_EXT_* flags.  Ignored by bdus_rerun_ext(), which keeps the
	 * device's. */
	uint32_t flags;

	/* How long a serving thread looks for the next request before it
	 * sleeps, in microseconds: 0 (never: the default) to BDUS_MAX_POLL_US.
	 * Lower latency at low queue depths, for a CPU kept busy that long
	 * after each request.  URING only: an error with IOCTL or MMAP,
	 * ignored if DEFAULT falls back to them.  bdus_rerun_ext(): new. */
	uint32_t poll_us;
	uint32_t reserved0; /* zero */

	/*
	 * Optional, for reads that move their data once (since 0.1.3).  If
	 * set, libbdus calls it instead of ops->read, which must be set too:
	 * it points *data at the size bytes at offset in the driver's memory
	 * (NULL fails the read with EIO); over uring kbdus copies them from
	 * there straight into the request's pages (otherwise libbdus copies
	 * them through its buffer).  The memory must stay mapped until the
	 * reply, soon after the callback returns; a write to it meanwhile
	 * races as overlapping I/O does.  Returns as ops->read.  Data that
	 * cannot be read fails the request with EIO and the driver with
	 * EFAULT.  Context and thread-safety: as ops->read.
	 */
	int (*read_ref)(const char **data, uint64_t offset, uint32_t size,
			struct bdus_ctx *ctx);

	/*
	 * Optional, for writes that move their data once (since 0.1.3).  If
	 * set, libbdus calls it instead of ops->write, which must be set too:
	 * it points *data at the size bytes at offset in the driver's memory
	 * where the write's data is to land (NULL fails the write with EIO),
	 * and libbdus has it copied there: over uring by kbdus, straight from
	 * the request's pages (otherwise from libbdus's buffer).  The write
	 * succeeds once the data is there, after the callback returns and
	 * before the reply, so the memory must stay mapped and writable until
	 * then; a read of it meanwhile races as overlapping I/O does.  Returns
	 * as ops->write.  Over uring, data that cannot be written there fails
	 * the request with EIO and the driver with EFAULT, and every request
	 * reaches libbdus without its data: the data of those whose callbacks
	 * need it (FUA writes, write-same, ioctls) is fetched before they run
	 * (one more system call per batch).  FUA writes still go to
	 * ops->fua_write.  Context and thread-safety: as ops->write.
	 */
	int (*write_ref)(char **data, uint64_t offset, uint32_t size,
			 struct bdus_ctx *ctx);

	/* Optional: kernel-side passthrough, where kbdus serves requests from
	 * the driver's files itself (since 0.1.3).  See bdus-passthrough.h. */
	int (*passthrough)(struct bdus_extent *extents, uint32_t *num_extents,
			   uint32_t type, uint64_t offset, uint32_t size,
			   struct bdus_ctx *ctx);

	/*
	 * Optional, both or neither (since 0.1.3): payload buffers in the
	 * driver's own memory (huge pages, memory shared with another
	 * process).  alloc_buffers returns size bytes (a page multiple),
	 * page-aligned and writable, or NULL (the driver fails with ENOMEM);
	 * free_buffers takes them back once unused.  Callbacks' buffers then
	 * point into it.  Asked once per device over uring and mmap (kbdus
	 * copies straight to and from it), per serving thread over ioctl.
	 * Called after ops->initialize and before ops->terminate, possibly
	 * from several serving threads at once.  Over mmap, kbdus serves the
	 * device only to the process whose memory it is.
	 */
	void *(*alloc_buffers)(size_t size, struct bdus_ctx *ctx);
	void (*free_buffers)(void *buffers, size_t size, struct bdus_ctx *ctx);
};

/* The largest bdus_ext_attrs.poll_us: 100 ms. */
#define BDUS_MAX_POLL_US 100000u

/* The functions behind the wrappers below, taking sizeof(*ext) as this
 * header sees it.  Call the wrappers instead. */
bool bdus_run_ext_sized(const struct bdus_ops *ops,
			const struct bdus_attrs *attrs,
			const struct bdus_ext_attrs *ext, size_t ext_size,
			void *private_data);
bool bdus_rerun_ext_sized(uint64_t dev_id, const struct bdus_ops *ops,
			  const struct bdus_attrs *attrs,
			  const struct bdus_ext_attrs *ext, size_t ext_size,
			  void *private_data);

/*
 * bdus_run() with extended attributes; ext may be NULL (all defaults).
 * Context, thread-safety, privileges and return value: as bdus_run().
 */
static inline bool bdus_run_ext(const struct bdus_ops *ops,
				const struct bdus_attrs *attrs,
				const struct bdus_ext_attrs *ext,
				void *private_data)
{
	return bdus_run_ext_sized(ops, attrs, ext,
				  sizeof(struct bdus_ext_attrs), private_data);
}

/*
 * bdus_rerun() with extended attributes; ext may be NULL (all defaults).
 * Context, thread-safety, privileges and return value: as bdus_run().
 */
static inline bool bdus_rerun_ext(uint64_t dev_id, const struct bdus_ops *ops,
				  const struct bdus_attrs *attrs,
				  const struct bdus_ext_attrs *ext,
				  void *private_data)
{
	return bdus_rerun_ext_sized(dev_id, ops, attrs, ext,
				    sizeof(struct bdus_ext_attrs),
				    private_data);
}

#ifdef __cplusplus
}
#endif

#endif /* BDUS_EXT_H_ */
