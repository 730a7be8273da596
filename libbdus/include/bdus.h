// SPDX-License-Identifier: MIT
/*
 * bdus.h - the libbdus API: write Linux block device drivers in user space.
 *
 * A driver fills in a struct bdus_ops (callbacks) and a struct bdus_attrs
 * (geometry and behaviour) and calls bdus_run().  libbdus creates the device
 * through the kbdus kernel module and calls the callbacks to serve the
 * requests that reach it, until the device is destroyed.
 *
 * This header is C99 and C++98 (or later) compatible.  It is source
 * compatible with BDUS 0.1.0 to 0.1.2, and programs built against those
 * versions' header run with this libbdus; features added later are only
 * visible to code that asks for them through
 * BDUS_REQUIRE_VERSION_{MAJOR,MINOR,PATCH} (or that defines none of those
 * macros, which means "this header's version").
 *
 * Conventions for every function below, unless its comment says otherwise:
 *   - thread-safety: it may be called from any thread, concurrently with
 *     any other libbdus call;
 *   - context: it may block (it talks to the kernel), so do not call it
 *     from a signal handler;
 *   - errors: on failure it sets errno and the calling thread's error
 *     message (see bdus_get_error_message()).
 */

#ifndef BDUS_H_
#define BDUS_H_

/* ------------------------------------------------------------------------- */
/* Versions */

/*
 * The version of this header.  It is fixed at compile time, and may differ
 * from the version of the library that the program runs against, which
 * bdus_get_libbdus_version() returns.
 */
#define BDUS_HEADER_VERSION_MAJOR 0
#define BDUS_HEADER_VERSION_MINOR 1
#define BDUS_HEADER_VERSION_PATCH 3

/*
 * BDUS_REQUIRE_VERSION_MAJOR, _MINOR, _PATCH: the BDUS version a driver is
 * written for.  Define all three (or none) before including this header.
 *
 *   - If the installed header is not backward compatible with the required
 *     version (another major or minor version, or an older patch version),
 *     compilation fails with an #error.
 *   - Features added after the required version are hidden, so code that
 *     uses them fails to compile: a driver that builds with a given required
 *     version only relies on what that version offers.
 *   - The compiled driver runs with any libbdus backward compatible with the
 *     required version.
 *
 * When none is defined, all three default to this header's version.  Until
 * BDUS 1.0.0, versions with the same major and minor numbers are backward
 * compatible; a higher patch number only adds features.
 */
#if !defined(BDUS_REQUIRE_VERSION_MAJOR) && \
	!defined(BDUS_REQUIRE_VERSION_MINOR) && \
	!defined(BDUS_REQUIRE_VERSION_PATCH)

#define BDUS_REQUIRE_VERSION_MAJOR BDUS_HEADER_VERSION_MAJOR
#define BDUS_REQUIRE_VERSION_MINOR BDUS_HEADER_VERSION_MINOR
#define BDUS_REQUIRE_VERSION_PATCH BDUS_HEADER_VERSION_PATCH

#elif !defined(BDUS_REQUIRE_VERSION_MAJOR) || \
	!defined(BDUS_REQUIRE_VERSION_MINOR) || \
	!defined(BDUS_REQUIRE_VERSION_PATCH)

/* The wording of these two errors is BDUS 0.1.2's: scripts may match it. */
#error "Must either define all of BDUS_REQUIRE_VERSION_MAJOR, BDUS_REQUIRE_VERSION_MINOR, and BDUS_REQUIRE_VERSION_PATCH or none at all"

#elif BDUS_REQUIRE_VERSION_MAJOR != 0 || BDUS_REQUIRE_VERSION_MINOR != 1 || \
	BDUS_REQUIRE_VERSION_PATCH < 0 || BDUS_REQUIRE_VERSION_PATCH > 3

#error "bdus.h has version 0.1.3 but incompatible version was required"

#endif

/* True when the driver may use what BDUS 0.1.<patch> added. */
#define BDUS_HAS_PATCH_FEATURES_(patch) (BDUS_REQUIRE_VERSION_PATCH >= (patch))

/* ------------------------------------------------------------------------- */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bdus_ops;
struct bdus_attrs;
#if BDUS_HAS_PATCH_FEATURES_(3)
struct bdus_ext_attrs;
#endif

/* ------------------------------------------------------------------------- */
/* Driver development */

/*
 * What a callback knows about its device and driver.
 *
 * Context: libbdus owns it: one instance per bdus_run() or bdus_rerun()
 * call, passed to every callback and valid until terminate() returns.
 * Thread-safety: every field but private_data is read-only; callbacks
 * running concurrently share the instance, so the driver must synchronize
 * its own accesses to private_data and to what it points to.
 */
struct bdus_ctx {
	/* The device's identifier, never reused while kbdus stays loaded. */
	const uint64_t id;

	/* Absolute path of the device's block special file, "/dev/bdus-<id>".
	 * The file is only guaranteed to exist from on_device_available() on. */
	const char *const path;

	/* The driver's callbacks: a copy of what was given to bdus_run(). */
	const struct bdus_ops *const ops;

	/* The effective attributes: defaults filled in and values adjusted,
	 * as each field of struct bdus_attrs describes. */
	const struct bdus_attrs *const attrs;

	/* Whether the driver was started by bdus_rerun(). */
	const bool is_rerun;

	/* Free for the driver.  Starts as the private_data argument of
	 * bdus_run() or bdus_rerun(); libbdus never reads or writes it. */
	void *private_data;

#if BDUS_HAS_PATCH_FEATURES_(1)
	/* The device's major and minor numbers (of the whole disk).
	 * Since 0.1.1. */
	const uint32_t major;
	const uint32_t minor;
#endif

#if BDUS_HAS_PATCH_FEATURES_(3)
	/* The effective extended attributes (protocol, queues, ...), also when
	 * the driver was started without any.  Since 0.1.3. */
	const struct bdus_ext_attrs *const ext;
#endif
};

/*
 * The driver's callbacks.  All are optional: a request type whose callback
 * is NULL is reported as unsupported, and the kernel fails such requests
 * (EOPNOTSUPP) without involving the driver.  Zero-initialize the struct;
 * libbdus copies it.
 *
 * Every callback returns 0 on success or a positive errno value on failure.
 * For the request callbacks (read to ioctl), a failure fails the request:
 * ENOLINK, ENOSPC and ETIMEDOUT reach the submitter as such and any other
 * value becomes EIO (ioctl keeps any errno value).  Any callback may instead
 * return bdus_abort to stop the driver: see bdus_abort.
 *
 * Context and thread-safety: initialize(), on_device_available() and
 * terminate() run on the thread that called bdus_run(), never concurrently
 * with any other callback.  Up to attrs->max_concurrent_callbacks request
 * callbacks run at once, on threads that libbdus starts (see struct
 * bdus_attrs), so they must be thread-safe unless that is 1.  Before the
 * device becomes available (on_device_available()), request callbacks run
 * one at a time on the thread that called bdus_run(): the kernel may read
 * the device (partition scan) before it announces it.  Callbacks must not
 * call bdus_destroy_dev() on their own device (it would wait for itself:
 * libbdus refuses with EDEADLK), nor bdus_flush_dev() on it when
 * max_concurrent_callbacks is 1.
 *
 * Guarantees for the request callbacks, with attrs = ctx->attrs:
 *   - offset and size are multiples of attrs->logical_block_size, size is
 *     positive and offset + size <= attrs->size;
 *   - size is at most the attrs->max_*_size limit for the request type;
 *   - buffer (where there is one) is aligned to the page size.
 */
struct bdus_ops {
	/*
	 * Called once, before any other callback, after the device was
	 * created (or attached to) but before it is served.  If it fails,
	 * terminate() is not called and bdus_run() returns false.  Runs
	 * before the process detaches from the terminal (see dont_daemonize),
	 * in the process that serves the device.  NULL means "do nothing".
	 */
	int (*initialize)(struct bdus_ctx *ctx);

	/*
	 * Called once, when the device becomes available to users (its block
	 * special file exists).  For bdus_rerun() it is called too, even if
	 * the device was already available.  Some request callbacks may have
	 * run before it.  If it fails, terminate() is called and bdus_run()
	 * returns false.  The process detaches from the terminal after it
	 * returns, unless attrs->dont_daemonize is set.
	 *
	 * NULL means "print ctx->path and a newline to stdout".
	 */
	int (*on_device_available)(struct bdus_ctx *ctx);

	/*
	 * Called once, after the driver stopped serving requests: when the
	 * device is destroyed, when another driver replaces this one, or
	 * when the driver fails after initialize() succeeded.  Not called if
	 * initialize() failed, nor if the process dies.  No callback runs
	 * after it.  NULL means "do nothing".
	 */
	int (*terminate)(struct bdus_ctx *ctx);

	/* Reads size bytes at offset into buffer.  size is at most
	 * attrs->max_read_write_size. */
	int (*read)(char *buffer, uint64_t offset, uint32_t size,
		    struct bdus_ctx *ctx);

	/* Writes the size bytes in buffer at offset.  size is at most
	 * attrs->max_read_write_size. */
	int (*write)(const char *buffer, uint64_t offset, uint32_t size,
		     struct bdus_ctx *ctx);

	/*
	 * Kept for source compatibility and never called: Linux 5.18 removed
	 * write-same requests.  Setting it is harmless.
	 */
	int (*write_same)(const char *buffer, uint64_t offset, uint32_t size,
			  struct bdus_ctx *ctx);

	/*
	 * Sets size bytes at offset to zero.  If may_unmap is false, later
	 * writes to the range must not fail for lack of space (allocate it).
	 * size is at most attrs->max_write_zeros_size.  If NULL but write is
	 * set, the kernel writes zero-filled buffers instead.
	 */
	int (*write_zeros)(uint64_t offset, uint32_t size, bool may_unmap,
			   struct bdus_ctx *ctx);

	/*
	 * Writes like write() and returns only once the data is persistent
	 * (Force Unit Access).  Requires flush.  size is at most
	 * attrs->max_read_write_size.
	 */
	int (*fua_write)(const char *buffer, uint64_t offset, uint32_t size,
			 struct bdus_ctx *ctx);

	/*
	 * Makes every completed write persistent.  Setting it tells the kernel
	 * the device has a volatile write cache; leaving it NULL says writes
	 * are persistent when they complete.
	 */
	int (*flush)(struct bdus_ctx *ctx);

	/* Discards size bytes at offset: their content becomes unspecified.
	 * size is at most attrs->max_discard_erase_size. */
	int (*discard)(uint64_t offset, uint32_t size, struct bdus_ctx *ctx);

	/* Discards size bytes at offset so that the old content cannot be
	 * recovered.  size is at most attrs->max_discard_erase_size. */
	int (*secure_erase)(uint64_t offset, uint32_t size,
			    struct bdus_ctx *ctx);

	/*
	 * Serves an ioctl on the device that Linux did not handle itself.
	 * The argument is size = _IOC_SIZE(command) bytes (NULL for
	 * _IOC_NONE) and travels by the direction of the command, whose
	 * meaning depends on how the driver was started:
	 *
	 *   - bdus_run() and bdus_rerun() (the BDUS 0.1 API, also when
	 *     called by a program built against 0.1.x): BDUS 0.1.x's
	 *     convention, named from the driver's side.  _IOC_READ: the
	 *     argument holds the caller's bytes (changes are dropped);
	 *     _IOC_WRITE: it starts zeroed and goes back to the caller.
	 *   - bdus_run_ext() and bdus_rerun_ext(): Linux's convention, named
	 *     from the caller's side.  _IOC_WRITE: the argument holds the
	 *     caller's bytes (changes are dropped); _IOC_READ: it starts
	 *     zeroed and goes back to the caller.
	 *
	 * _IOC_READ | _IOC_WRITE: both ways, in either.  Data goes back only
	 * if the callback returns 0; the return value reaches the caller as
	 * -errno.  A device keeps the convention of the API that created it:
	 * a driver started through the other API is refused (EINVAL) when it
	 * tries to take over a device that serves ioctls.  Callers that
	 * opened the device read-only get EBADF, without reaching the
	 * driver, for commands that hand the driver their bytes.
	 */
	int (*ioctl)(uint32_t command, void *argument, struct bdus_ctx *ctx);
};

/*
 * The device's geometry and the driver's behaviour.  Zero-initialize the
 * struct: a zero field means "the default".  libbdus copies it; the
 * effective values are in ctx->attrs, read-only for callbacks.
 *
 * With bdus_rerun(), the geometry comes from the existing device: each field
 * must be 0 or consistent with the device, as described below.
 */
struct bdus_attrs {
	/*
	 * The smallest unit the driver can address, in bytes: a power of two
	 * from 512 to the page size.  bdus_rerun(): 0 or the device's.
	 */
	uint32_t logical_block_size;

	/*
	 * The smallest unit the driver can write without a read-modify-write:
	 * 0 (= logical_block_size) or a power of two from logical_block_size
	 * to the page size.  bdus_rerun(): 0 or the device's.
	 */
	uint32_t physical_block_size;

	/*
	 * The device's size in bytes: a positive multiple of the physical
	 * block size.  bdus_rerun(): 0 or the device's.
	 */
	uint64_t size;

	/*
	 * How many callbacks may run at the same time.  0 means 1.  The
	 * effective value may be lower (never higher, never 0): it is capped
	 * to the number of requests the device can have in flight.  When it
	 * is 1, every callback runs on the thread that called bdus_run().
	 */
	uint32_t max_concurrent_callbacks;

	/*
	 * The largest size passed to read, write and fua_write: 0 (a default)
	 * or at least the page size.  The effective value may be lower (but
	 * at least the page size), and is 0 if none of those callbacks is
	 * set.  bdus_rerun(): 0 or at least the device's; the effective value
	 * is the device's.
	 */
	uint32_t max_read_write_size;

	/*
	 * For write_same, which is never called: 0 or at least
	 * logical_block_size.  Kept for source compatibility.
	 */
	uint32_t max_write_same_size;

	/*
	 * The largest size passed to write_zeros: 0 (no limit) or at least
	 * logical_block_size; rounded down to a multiple of it.  0 in
	 * ctx->attrs if write_zeros is NULL.  bdus_rerun(): 0 or at least the
	 * device's; the effective value is the device's.
	 */
	uint32_t max_write_zeros_size;

	/*
	 * The largest size passed to discard and secure_erase, with the same
	 * rules as max_write_zeros_size.
	 */
	uint32_t max_discard_erase_size;

	/*
	 * Never look for partitions on the device.  Ignored by bdus_rerun(),
	 * which keeps the device's setting.
	 */
	bool disable_partition_scanning;

	/*
	 * Keep the device when the driver dies (crash, kill, callback
	 * returning bdus_abort) instead of destroying it: its I/O waits until
	 * bdus_rerun() attaches a new driver.  bdus_rerun() can replace a live
	 * driver whatever this says.  Ignored by bdus_rerun(), which keeps the
	 * device's setting.
	 */
	bool recoverable;

	/*
	 * Do not daemonize.  Otherwise bdus_run() forks before it creates the
	 * device (bdus_rerun(): before it attaches); the child serves the
	 * device and, after on_device_available() returns, leaves the
	 * terminal's session (setsid()) and redirects stdin, stdout and stderr
	 * to /dev/null, and the parent exits with status 0.  If the child
	 * stops before that, the parent's call returns the child's result and
	 * error instead.  The working directory and umask are kept.  (Forking
	 * later would take the device away from the threads that serve it.)
	 */
	bool dont_daemonize;

	/*
	 * Log to stderr the effective attributes and every callback
	 * invocation.  Nothing is visible once the process is daemonized.
	 */
	bool log;
};

/*
 * Return this from any callback (on any thread) to stop the driver after an
 * unrecoverable error: no more requests are served, the request in hand is not completed
 * (a recoverable device keeps it for the next driver), terminate() runs
 * (unless initialize() returned it), and bdus_run() returns false with errno
 * set to EIO.
 */
enum { bdus_abort = INT_MIN };

/*
 * Creates a device with the given callbacks and attributes and serves it
 * until it is destroyed.  ops and attrs are copied; private_data becomes
 * ctx->private_data.
 *
 * Invalid attributes or callbacks are refused before anything else happens,
 * with an error message naming the offending field.  Needs CAP_SYS_ADMIN
 * (root) to open /dev/bdus-control, but callbacks may drop privileges.
 *
 * Context: blocks for the device's whole life; callbacks run on the calling
 * thread and, once the device is available, on other threads if
 * max_concurrent_callbacks allows.  Returns true once the device was
 * destroyed and terminate() succeeded, in the daemonized process unless
 * attrs->dont_daemonize; false with errno and the error message set
 * otherwise.
 *
 * Thread-safety: several drivers may run in one process, each on its own
 * thread, only if they all set dont_daemonize (daemonizing forks, which
 * would leave the others' threads behind).  While a driver runs ioctl or
 * mmap worker threads, libbdus handles signal SIGRTMAX - 1 (with a handler
 * that does nothing, to wake them): drivers must not use that signal.
 */
bool bdus_run(const struct bdus_ops *ops, const struct bdus_attrs *attrs,
	      void *private_data);

/*
 * Becomes the driver of the existing device dev_id, serving it until it is
 * destroyed, like bdus_run().
 *
 *   - If the device has a live driver, it is sent a flush (if the device
 *     supports flushing) and told to terminate; its requests in flight are
 *     then passed to the new driver.  If the flush fails and the device is
 *     not recoverable, the device is destroyed and this fails with EIO.
 *   - If the device is recoverable and its driver died, the requests the
 *     dead driver had not completed are served again.
 *
 * The new driver must implement every request type that the device
 * supports; callbacks for other types are never called.  attrs fields must
 * be 0 or consistent with the device (see struct bdus_attrs); the first
 * inconsistency found fails the call, before the running driver is
 * disturbed.
 *
 * Context, thread-safety, privileges and return value: as bdus_run().
 */
bool bdus_rerun(uint64_t dev_id, const struct bdus_ops *ops,
		const struct bdus_attrs *attrs, void *private_data);

/* ------------------------------------------------------------------------- */
/* Extended attributes (since 0.1.3): struct bdus_ext_attrs, bdus_run_ext()
 * and bdus_rerun_ext(), in their own header. */

#if BDUS_HAS_PATCH_FEATURES_(3)
#include "bdus-ext.h"
#endif

/* ------------------------------------------------------------------------- */
/* Device management */

#if BDUS_HAS_PATCH_FEATURES_(3)

/* What a device is doing: bdus_dev_info.state.  Since 0.1.3. */
enum bdus_dev_state {
	BDUS_DEV_UNAVAILABLE = 1, /* being created, not announced yet */
	BDUS_DEV_ACTIVE = 2, /* a driver serves it */
	BDUS_DEV_INACTIVE = 3, /* recoverable, and its driver is gone: I/O
				* waits for bdus_rerun() */
	BDUS_DEV_TERMINATED = 4 /* being destroyed: I/O fails */
};

/* bdus_dev_info.requests: the request types the device serves.  Since
 * 0.1.3. */
#define BDUS_REQ_READ (1u << 0)
#define BDUS_REQ_WRITE (1u << 1)
#define BDUS_REQ_WRITE_SAME (1u << 2)
#define BDUS_REQ_WRITE_ZEROS_NO_UNMAP (1u << 3)
#define BDUS_REQ_WRITE_ZEROS_MAY_UNMAP (1u << 4)
#define BDUS_REQ_FUA_WRITE (1u << 5)
#define BDUS_REQ_FLUSH (1u << 6)
#define BDUS_REQ_DISCARD (1u << 7)
#define BDUS_REQ_SECURE_ERASE (1u << 8)
#define BDUS_REQ_IOCTL (1u << 9)

/* bdus_dev_info.flags.  Since 0.1.3. */
#define BDUS_DEV_RECOVERABLE (1u << 0) /* survives its driver's death */
#define BDUS_DEV_WRITE_CACHE (1u << 1) /* has a volatile write cache */
#define BDUS_DEV_FUA (1u << 2) /* serves forced-unit-access writes */
#define BDUS_DEV_ROTATIONAL (1u << 3)
#define BDUS_DEV_PARTITION_SCAN (1u << 4) /* partitions are looked for */
#define BDUS_DEV_ZONED (1u << 5) /* host-managed zoned (bdus-ext.h) */

/*
 * What kbdus knows about a device: bdus_get_dev_info() fills it.  Plain
 * data.  New fields will only ever be appended (see bdus_get_dev_info()).
 * Since 0.1.3.
 */
struct bdus_dev_info {
	uint64_t id;
	uint32_t major; /* of the whole disk */
	uint32_t minor;
	uint32_t state; /* enum bdus_dev_state */
	uint32_t driver_pid; /* the serving driver's process; 0 if none */
	uint64_t size; /* in bytes */
	uint32_t logical_block_size;
	uint32_t physical_block_size;
	uint32_t max_read_write_size;
	uint32_t max_write_zeros_size;
	uint32_t max_discard_erase_size;
	uint32_t requests; /* BDUS_REQ_* */
	uint32_t protocol; /* enum bdus_protocol: the driver's, if one is
			    * attached, else the one the device was made with */
	uint32_t num_queues;
	uint32_t queue_depth;
	uint32_t request_timeout_ms;
	uint32_t flags; /* BDUS_DEV_* */
	uint32_t reserved; /* zero */
	/* BDUS_DEV_ZONED: its zones, as bdus_ext_attrs has them; zero
	 * otherwise.  Since 0.1.3. */
	uint64_t zone_size;
	uint32_t num_conventional_zones;
	uint32_t max_open_zones; /* 0: no limit */
	uint32_t max_active_zones; /* 0: no limit */
	uint32_t max_zone_append_size;
};

/* The function behind bdus_get_dev_info(), taking sizeof(*out_info) as
 * this header sees it.  Call the wrapper instead. */
bool bdus_get_dev_info_sized(uint64_t dev_id, struct bdus_dev_info *out_info,
			     size_t info_size);

/*
 * Fills *out_info with what kbdus knows about device dev_id (a snapshot:
 * the state and driver may change at any time).  Fails with ENODEV if the
 * device was destroyed and with EINVAL if no device ever had that id; then
 * *out_info is left alone.  A driver compiled against an older header gets
 * the fields it knows.  Needs CAP_SYS_ADMIN.  Thread-safe; does not block.
 * Since 0.1.3.
 */
static inline bool bdus_get_dev_info(uint64_t dev_id,
				     struct bdus_dev_info *out_info)
{
	return bdus_get_dev_info_sized(dev_id, out_info,
				       sizeof(struct bdus_dev_info));
}

/*
 * Lists devices: stores in *dev_id the smallest id of an existing device
 * that is at least *dev_id.  Fails with ENODEV if there is none (leaving
 * *dev_id alone).  Start from 0 and continue from the id found plus 1:
 *
 *     for (uint64_t id = 0; bdus_get_next_dev_id(&id); id++)
 *             ...;
 *
 * Devices created or destroyed meanwhile may or may not be seen.  Needs
 * CAP_SYS_ADMIN.  Thread-safe; does not block.  Since 0.1.3.
 */
bool bdus_get_next_dev_id(uint64_t *dev_id);

/* bdus_destroy_dev_ext() flags.  Since 0.1.3. */
#define BDUS_DESTROY_NO_FLUSH (1u << 0) /* cached writes are lost */
#define BDUS_DESTROY_NO_WAIT (1u << 1) /* return once destruction started */

/*
 * bdus_destroy_dev() with flags: NO_FLUSH destroys without flushing first
 * (for a device whose driver no longer answers); NO_WAIT returns once the
 * destruction started, without waiting until the device is gone (see
 * bdus_wait_dev_destroyed()).  Unknown flags fail with EINVAL.  Otherwise
 * as bdus_destroy_dev().  Since 0.1.3.
 */
bool bdus_destroy_dev_ext(uint64_t dev_id, uint32_t flags);

/*
 * Blocks until device dev_id is gone: destroyed, its driver gone, and
 * closed by every user.  Succeeds at once if it is already gone; fails with
 * EINVAL if no device ever had that id, and with EDEADLK from a callback of
 * the device itself.  Needs CAP_SYS_ADMIN.  Thread-safe; blocks, possibly
 * for long.  Since 0.1.3.
 */
bool bdus_wait_dev_destroyed(uint64_t dev_id);

#endif /* BDUS_HAS_PATCH_FEATURES_(3) */

/*
 * Stores in *out_dev_id the id of the BDUS device that the block special
 * file dev_path refers to.  Fails (leaving *out_dev_id alone) if dev_path is
 * not a block special file, is a partition, or is not a BDUS device.  Needs
 * CAP_SYS_ADMIN.  Thread-safe; may block briefly.
 */
bool bdus_get_dev_id_from_path(uint64_t *out_dev_id, const char *dev_path);

/*
 * Flushes device dev_id: returns once all data written to it before the
 * call is persistent, like fsync() on its block special file (which must
 * exist under /dev).  Needs CAP_SYS_ADMIN.  Thread-safe; blocks until the
 * device's driver has served the flush.  Not from a callback of the device
 * itself when max_concurrent_callbacks is 1: no other thread could serve
 * the flush (EDEADLK).  ENODEV and EINVAL as for bdus_destroy_dev().
 */
bool bdus_flush_dev(uint64_t dev_id);

/*
 * Flushes device dev_id, then destroys it: its driver is told to terminate,
 * and the call blocks until the device is gone (which includes every user
 * closing it).  If the flush fails, nothing is destroyed.  Fails with ENODEV
 * if the device was already destroyed, and with EINVAL if no device ever had
 * that id (ids are never reused), as 0.1.x did.  Needs CAP_SYS_ADMIN.  Thread-safe; blocks,
 * possibly for long (until every user closes the device).  Never from a
 * callback of the device itself (EDEADLK).
 */
bool bdus_destroy_dev(uint64_t dev_id);

/* ------------------------------------------------------------------------- */
/* Errors */

/*
 * The message describing the calling thread's last libbdus failure, or ""
 * if none failed yet.  Every failing libbdus function sets it; nothing else
 * changes it.  Each thread has its own.  The text may change between
 * compatible versions; errno values do not.  Valid until the thread's next
 * libbdus call.  Thread-safe (it reads only the caller's message); never
 * fails and never blocks, so it may be called from any context.
 */
const char *bdus_get_error_message(void);

/* ------------------------------------------------------------------------- */
/* Versions */

/* A version number: major.minor.patch.  Plain data. */
struct bdus_version {
	uint32_t major;
	uint32_t minor;
	uint32_t patch;
};

/* The version of the libbdus the program runs with.  Never fails, never
 * blocks, thread-safe; the result points to static storage. */
const struct bdus_version *bdus_get_libbdus_version(void);

/* Stores in *out_kbdus_version the version of the loaded kbdus module.
 * Needs CAP_SYS_ADMIN (to open /dev/bdus-control).  Thread-safe. */
bool bdus_get_kbdus_version(struct bdus_version *out_kbdus_version);

#ifdef __cplusplus
}
#endif

/* A helper of this header only; BDUS_REQUIRE_VERSION_* stay defined. */
#undef BDUS_HAS_PATCH_FEATURES_

#endif /* BDUS_H_ */
