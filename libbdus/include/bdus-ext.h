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
struct bdus_zone; /* below */

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

	/*
	 * Zoned devices (since 0.1.3).  A zone_size that is not 0 makes the
	 * device host-managed zoned: zones of zone_size bytes (a power of
	 * two, at least 4096, dividing attrs->size), of which the first
	 * num_conventional_zones (fewer than all) take writes anywhere and
	 * the others only at their write pointer.  max_open_zones and
	 * max_active_zones (0: no limit; at most the sequential zones, open
	 * at most active) are the limits the driver enforces and Linux
	 * respects; max_zone_append_size (0: as large as reads and writes)
	 * caps zone appends.  The driver keeps every zone's state and
	 * enforces the rules (see bdus-zoned); libbdus and kbdus pass the
	 * requests on.  Needs ops->read, ops->write and the three callbacks
	 * below; refuses ops->write_zeros, discard, secure_erase and
	 * write_same, and recoverable devices.  The effective values are in
	 * ctx->ext.  Errors a zoned driver returns: EIO for a write that is
	 * not at the write pointer, crosses the zone's end or hits a full
	 * zone; ETOOMANYREFS past max_open_zones; EOVERFLOW past
	 * max_active_zones.  Not with the asynchronous API yet.
	 */
	uint64_t zone_size;
	uint32_t num_conventional_zones;
	uint32_t max_open_zones;
	uint32_t max_active_zones;
	uint32_t max_zone_append_size;

	/* Zoned: op (enum bdus_zone_op) on the zone that starts at offset,
	 * or, for BDUS_ZONE_RESET_ALL, on every sequential zone (offset 0).
	 * Returns 0 or an errno value.  Context and thread-safety: as
	 * ops->write. */
	int (*zone_manage)(uint32_t op, uint64_t offset, struct bdus_ctx *ctx);

	/* Zoned: writes the size bytes of buffer at the write pointer of the
	 * zone that starts at zone_offset, and sets *offset to where they
	 * went.  Returns 0 or an errno value.  Context and thread-safety: as
	 * ops->write. */
	int (*zone_append)(const char *buffer, uint64_t zone_offset,
			   uint32_t size, uint64_t *offset,
			   struct bdus_ctx *ctx);

	/* Zoned: fills zones[0..count) with the zones from the one that
	 * starts at offset, in order (bdus_zone_fill() helps).  Linux checks
	 * every field; an impossible zone fails the report.  Returns 0 or an
	 * errno value.  Context and thread-safety: as ops->read. */
	int (*report_zones)(struct bdus_zone *zones, uint64_t offset,
			    uint32_t count, struct bdus_ctx *ctx);
};

/* The operations of ext->zone_manage. */
enum bdus_zone_op {
	BDUS_ZONE_OPEN = 1, /* explicitly open */
	BDUS_ZONE_CLOSE = 2,
	BDUS_ZONE_FINISH = 3, /* make full */
	BDUS_ZONE_RESET = 4, /* make empty */
	BDUS_ZONE_RESET_ALL = 5
};

/* bdus_zone.type */
#define BDUS_ZONE_TYPE_CONVENTIONAL 1
#define BDUS_ZONE_TYPE_SEQ_WRITE_REQUIRED 2

/* bdus_zone.condition: the values of <linux/blkzoned.h>. */
#define BDUS_ZONE_COND_NOT_WP 0x0 /* conventional zones */
#define BDUS_ZONE_COND_EMPTY 0x1
#define BDUS_ZONE_COND_IMP_OPEN 0x2
#define BDUS_ZONE_COND_EXP_OPEN 0x3
#define BDUS_ZONE_COND_CLOSED 0x4
#define BDUS_ZONE_COND_READONLY 0xd
#define BDUS_ZONE_COND_FULL 0xe
#define BDUS_ZONE_COND_OFFLINE 0xf

/* One zone, as ext->report_zones describes it; offsets in bytes. */
struct bdus_zone {
	uint64_t start;
	uint64_t length; /* zone_size */
	uint64_t capacity; /* writable bytes from start: at most length */
	/* bytes from the start of the device: start when EMPTY; ignored
	 * when NOT_WP, FULL, READONLY or OFFLINE */
	uint64_t write_pointer;
	uint8_t type; /* BDUS_ZONE_TYPE_* */
	uint8_t condition; /* BDUS_ZONE_COND_* */
	uint8_t reserved0[6]; /* zero */
	uint64_t reserved[3]; /* zero */
};

/*
 * Fills *zone for the zone that starts at start, of the device of ctx:
 * length and capacity are the zone size, the type follows from its index,
 * and reserved fields are zeroed.  For drivers' report_zones callbacks.
 */
void bdus_zone_fill(struct bdus_zone *zone, uint64_t start,
		    uint64_t write_pointer, uint8_t condition,
		    const struct bdus_ctx *ctx);

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
