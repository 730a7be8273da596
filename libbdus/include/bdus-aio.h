// SPDX-License-Identifier: MIT
/*
 * bdus-aio.h - libbdus's asynchronous driver API.
 *
 * bdus.h's bdus_run() calls one synchronous callback per request, on
 * threads it starts.  This API starts no thread and installs no signal
 * handler: the driver runs its own loop, polls one descriptor, takes
 * requests as events and completes them whenever it likes, from any
 * thread, in any order.  One thread can serve many devices.
 *
 * A loop, in the order the contract below relies on:
 *
 *	for (;;) {
 *		int more = bdus_aio_process(aio);     // never blocks
 *		n = bdus_aio_get_events(aio, ev, 64); // requests, device news
 *		...serve or start serving ev[0..n)...
 *		if (more == 0 && n == 0)
 *			poll(bdus_aio_get_fd(aio), POLLIN);
 *	}
 *
 * A context works through an io_uring ring (Linux 6.1 or later), its
 * devices served over kbdus's uring protocol, or over ioctl or mmap where
 * ext->protocol says.  Where io_uring is not allowed, or with
 * BDUS_AIO_NO_RING, it polls ioctl and mmap devices with epoll instead.
 * Since 0.1.3; see docs/library.md and the bdus_aio_*(3) man pages.
 */

#ifndef BDUS_AIO_H_
#define BDUS_AIO_H_

#include <bdus.h>

#if BDUS_REQUIRE_VERSION_MAJOR == 0 && BDUS_REQUIRE_VERSION_MINOR == 1 && \
	BDUS_REQUIRE_VERSION_PATCH < 3
#error "bdus-aio.h is new in BDUS 0.1.3: require 0.1.3 or later"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Contexts */

/*
 * A context serves any number of devices.  It belongs to the thread that
 * created it (its "owner"), which alone may call the functions below that
 * say "Owner only": kbdus takes a device queue's commands from one thread,
 * so requests are fetched on one thread and only completion crosses
 * threads.  Run one context per thread to use several.
 */
struct bdus_aio;

struct io_uring; /* liburing's */
struct io_uring_cqe;

/*
 * bdus_aio_attrs.flags.  BDUS_AIO_NO_RING: the context uses no io_uring.
 * Its devices are then served over the mmap (the default) or ioctl
 * protocol, and bdus_aio_get_fd() is an epoll descriptor.  A context also
 * works this way, without the flag, where the kernel refuses io_uring (for
 * example with sysctl kernel.io_uring_disabled or a seccomp filter).  Not
 * with ring or shared_buffers.  Since 0.1.3.
 */
#define BDUS_AIO_NO_RING (1u << 0)

/* Options of a context.  Zero-initialize it: zero fields are defaults.
 * New fields will only be appended. */
struct bdus_aio_attrs {
	/*
	 * Bring your own ring: NULL, or a liburing ring of the owner thread
	 * that libbdus puts its commands on, so that one io_uring_enter()
	 * serves the driver's own I/O and BDUS's requests (as ublksrv's
	 * targets do).  libbdus then waits on it only in bdus_aio_destroy()
	 * and submits it only to make room in a full SQ: the driver submits
	 * and reaps it, and gives
	 * every CQE whose user_data BDUS_AIO_IS_LIBBDUS_CQE() to
	 * bdus_aio_handle_cqe().  The ring must not be SQPOLL (kbdus refuses
	 * commands from io_uring's threads), its CQ needs room for libbdus's
	 * commands (per device: queues x depth, plus one per queue, plus one)
	 * besides the driver's, and the driver must not use IOSQE_IO_DRAIN
	 * (it would wait behind libbdus's posted commands).  With it,
	 * bdus_aio_get_fd() is -1: the ring's CQEs are the wake-ups.
	 */
	struct io_uring *ring;
	uint32_t flags; /* BDUS_AIO_* flags below, or 0 */
	/*
	 * 0: every request slot of every device has a payload buffer of its
	 * own (the default).  N > 0: the context has N payload buffers that
	 * all its devices share, and hands out a request that carries data
	 * only once one of them is free; the data of a write is copied in
	 * at that point.  So at most N such requests are in the driver's
	 * hands at once, however many devices and slots there are.  Since
	 * 0.1.3, with kbdus 0.1.3.
	 */
	uint32_t shared_buffers;
	/*
	 * With shared_buffers: bytes per shared buffer, a multiple of the
	 * page size up to 1 MiB; 0 is 256 KiB.  A device's
	 * max_read_write_size must not exceed it (0 takes it).
	 */
	uint32_t shared_buffer_size;
	uint32_t reserved[3]; /* zero */
};

/* libbdus's SQEs on a ring of the driver's own have this top byte in their
 * user_data; the driver keeps its own user_data outside it (user space
 * pointers are). */
#define BDUS_AIO_USER_DATA_TAG ((uint64_t)0xbd << 56)
#define BDUS_AIO_USER_DATA_MASK ((uint64_t)0xff << 56)
#define BDUS_AIO_IS_LIBBDUS_CQE(user_data)                                    \
	(((user_data) & BDUS_AIO_USER_DATA_MASK) == BDUS_AIO_USER_DATA_TAG)

/* The function behind bdus_aio_create(); call the wrapper. */
struct bdus_aio *bdus_aio_create_sized(const struct bdus_aio_attrs *attrs,
				       size_t attrs_size);

/*
 * Makes a context owned by the calling thread; attrs may be NULL.  Returns
 * NULL on failure, with errno and bdus_get_error_message() set (EPERM: the
 * sysctl kernel.io_uring_disabled forbids io_uring).  Thread-safe.
 */
static inline struct bdus_aio *
bdus_aio_create(const struct bdus_aio_attrs *attrs)
{
	return bdus_aio_create_sized(attrs, sizeof(struct bdus_aio_attrs));
}

/*
 * Ends every device of the context as bdus_aio_close_dev() would, waits
 * until the kernel gave back every command, and frees the context.
 * Requests still handed out are released (see bdus_aio_release()), so no
 * other thread may start completing one once the call began (a completion
 * already running is waited for).  Owner only (from another thread it
 * does nothing); blocks while the kernel gives the commands back.  With a
 * ring of the driver's own it waits on that ring, consuming CQEs that are
 * not libbdus's unseen: have no I/O of the driver's in flight then.  (A
 * device whose commands kbdus refused to give back, which it never should:
 * on the context's own ring they are cancelled with it; on the driver's,
 * that device's session and the shared buffers are left behind, not
 * freed, since the kernel may still use them.)
 */
void bdus_aio_destroy(struct bdus_aio *aio);

/*
 * The descriptor to wait on for POLLIN (poll, epoll, libev, glib...):
 * readable means "call bdus_aio_process()".  Wait on it only when the last
 * bdus_aio_process() returned 0 and bdus_aio_get_events() then returned 0;
 * completions the owner makes itself are committed by the next process
 * call and do not make it readable.  Thread-safe; never blocks.
 */
int bdus_aio_get_fd(const struct bdus_aio *aio);

/* ------------------------------------------------------------------------- */
/* Devices */

struct bdus_aio_dev;

/* What a context serves of a device.  Zero-initialize it. */
struct bdus_aio_dev_attrs {
	/*
	 * The request types the driver serves: BDUS_REQ_* bits (bdus.h),
	 * at least one.  BDUS_REQ_WRITE_SAME cannot be served (Linux has no
	 * such request), BDUS_REQ_FUA_WRITE needs BDUS_REQ_FLUSH (a write
	 * cache), and BDUS_REQ_WRITE_ZEROS_MAY_UNMAP needs
	 * BDUS_REQ_WRITE_ZEROS_NO_UNMAP.  FLUSH also tells the kernel the
	 * device has a volatile write cache.
	 */
	uint32_t requests;
	/*
	 * The device queues this context serves: num_queues of them from
	 * first_queue; num_queues 0 is every queue from first_queue on, so
	 * zero for both is all of them.  Leave queues out to serve them from
	 * other contexts (bdus_aio_share_dev()); a queue nobody serves keeps
	 * the requests the kernel routes to it waiting.  kbdus gives a device
	 * at most one queue per CPU: bdus_aio_get_dev_ext_attrs() says how
	 * many it got.
	 */
	uint32_t first_queue;
	uint32_t num_queues;
	uint32_t reserved[5]; /* zero */
};

/* The functions behind the wrappers below; call the wrappers. */
struct bdus_aio_dev *
bdus_aio_create_dev_sized(struct bdus_aio *aio, const struct bdus_attrs *attrs,
			  const struct bdus_ext_attrs *ext, size_t ext_size,
			  const struct bdus_aio_dev_attrs *dattrs,
			  size_t dattrs_size, void *user_data);
struct bdus_aio_dev *
bdus_aio_attach_dev_sized(struct bdus_aio *aio, uint64_t dev_id,
			  const struct bdus_attrs *attrs,
			  const struct bdus_ext_attrs *ext, size_t ext_size,
			  const struct bdus_aio_dev_attrs *dattrs,
			  size_t dattrs_size, void *user_data);

/*
 * Creates a device served by the context and returns at once; nothing is
 * served until bdus_aio_process() runs.  attrs and ext are bdus_run_ext()'s
 * (ext may be NULL; max_concurrent_callbacks, dont_daemonize and log are
 * ignored; ext->protocol DEFAULT means URING; an IOCTL or MMAP device is
 * served whole, by one context without shared_buffers).  The kernel's own
 * requests (the partition scan) come first, then a
 * BDUS_AIO_DEVICE_AVAILABLE event says that /dev/bdus-<id> is there for
 * everyone.  user_data comes back with every event and request of the
 * device.  NULL on failure (errno, bdus_get_error_message()).  Owner only.
 */
static inline struct bdus_aio_dev *
bdus_aio_create_dev(struct bdus_aio *aio, const struct bdus_attrs *attrs,
		    const struct bdus_ext_attrs *ext,
		    const struct bdus_aio_dev_attrs *dattrs, void *user_data)
{
	return bdus_aio_create_dev_sized(aio, attrs, ext,
					 sizeof(struct bdus_ext_attrs), dattrs,
					 sizeof(struct bdus_aio_dev_attrs),
					 user_data);
}

/*
 * Takes over existing device dev_id, as bdus_rerun_ext() does: a driver
 * still serving it first gets a FLUSH and then terminates, and the
 * requests that no driver completed are delivered to this context (a
 * recoverable device keeps them while it has no driver).  Blocks until
 * the previous driver is gone, so never call it for a device that this
 * thread serves.  No DEVICE_AVAILABLE event comes: the device already is.
 * NULL on failure.  Owner only.
 */
static inline struct bdus_aio_dev *
bdus_aio_attach_dev(struct bdus_aio *aio, uint64_t dev_id,
		    const struct bdus_attrs *attrs,
		    const struct bdus_ext_attrs *ext,
		    const struct bdus_aio_dev_attrs *dattrs, void *user_data)
{
	return bdus_aio_attach_dev_sized(aio, dev_id, attrs, ext,
					 sizeof(struct bdus_ext_attrs), dattrs,
					 sizeof(struct bdus_aio_dev_attrs),
					 user_data);
}

/*
 * Serves queues of a device that another context serves already, from
 * this context (and so from its owner thread): num_queues of them (0: all
 * the rest) from first_queue, none of which another context serves.  dev is
 * that other context's handle of the device; this returns a new handle,
 * with its own user_data, whose requests and events come to this context.
 * Each context then runs its own loop, on its own ring, in its own thread.
 *
 * The handles end together: when one begins closing (bdus_aio_close_dev(),
 * a failure, a released request, bdus_aio_destroy()), every other one gets
 * BDUS_AIO_DEVICE_TERMINATED and closes, and the device is closed for
 * kbdus (the driver's exit) once all of them closed.  A termination by the
 * kernel reaches every handle by itself.  BDUS_AIO_DEVICE_AVAILABLE comes
 * on one of them.
 *
 * dev is another context's handle, which its owner may be using, closing
 * or freeing meanwhile: it is looked up among the open handles before it
 * is read, and one that has closed fails with ESHUTDOWN.  (A freed
 * handle's memory may be reused for a new handle of its context, which
 * this would then share: pass a handle that its owner has not yet seen
 * close.)  A context
 * without shared_buffers cannot share a device that one with them created
 * (it has no buffers per slot).  NULL on failure (errno,
 * bdus_get_error_message()): EINVAL for a queue out of range or a device
 * this context serves already, EBUSY for a queue another context serves,
 * ESHUTDOWN for a handle or device that is closing or closed, ENOSPC if
 * the context's ring has no room.
 * Owner (of aio) only.  Since 0.1.3.
 */
struct bdus_aio_dev *bdus_aio_share_dev(struct bdus_aio *aio,
					struct bdus_aio_dev *dev,
					uint32_t first_queue,
					uint32_t num_queues, void *user_data);

/* The device's id, its path ("/dev/bdus-<id>") and its effective
 * attributes.  Valid until the device's BDUS_AIO_DEVICE_CLOSED event has
 * been taken.  Thread-safe. */
uint64_t bdus_aio_get_dev_id(const struct bdus_aio_dev *dev);
const char *bdus_aio_get_dev_path(const struct bdus_aio_dev *dev);
const struct bdus_attrs *bdus_aio_get_dev_attrs(const struct bdus_aio_dev *dev);
const struct bdus_ext_attrs *
bdus_aio_get_dev_ext_attrs(const struct bdus_aio_dev *dev);

/*
 * Starts ending the device's service, as if its driver had exited: no
 * request is delivered any more, a non-recoverable device is destroyed, a
 * recoverable one waits for a new driver with the requests left
 * uncompleted.  Returns at once.  The device's last event,
 * BDUS_AIO_DEVICE_CLOSED, comes once every request handed out was
 * completed or released and the kernel gave its commands back.  (Should
 * kbdus refuse to give them back, which it never should, CLOSED comes
 * anyway, after an error, and the device stays open for kbdus until the
 * commands return or the context is destroyed.)  Calling it again does
 * nothing.  Owner only.
 */
void bdus_aio_close_dev(struct bdus_aio_dev *dev);

/* ------------------------------------------------------------------------- */
/* Requests and events */

/* bdus_aio_request.type */
enum bdus_aio_request_type {
	BDUS_AIO_READ = 1,
	BDUS_AIO_WRITE,
	BDUS_AIO_WRITE_ZEROS, /* may_unmap: which variant */
	BDUS_AIO_FUA_WRITE,
	BDUS_AIO_FLUSH,
	BDUS_AIO_DISCARD,
	BDUS_AIO_SECURE_ERASE,
	BDUS_AIO_IOCTL
};

/*
 * A request to serve.  libbdus owns it: it and its buffer stay valid until
 * the driver completes or releases it, even after the device terminated or
 * began closing; afterwards the pointer may be reused for another request.
 * As with struct bdus_ops: offset and size are multiples of the logical
 * block size and within the device, the buffer is page-aligned, and the
 * driver never says how many bytes it served: all of them, or an error.
 */
struct bdus_aio_request {
	struct bdus_aio_dev *dev;
	void *dev_user_data; /* the device's user_data */
	uint32_t type; /* enum bdus_aio_request_type */
	uint32_t size; /* bytes; IOCTL: the argument's; FLUSH: 0 */
	uint64_t offset;
	/* READ: fill it; WRITE, FUA_WRITE: the data; IOCTL: the argument,
	 * read and written as its direction says; otherwise NULL. */
	char *buffer;
	uint32_t ioctl_command;
	uint16_t queue; /* the device queue it came through */
	bool may_unmap; /* WRITE_ZEROS */
	void *user_data; /* free for the driver */
};

enum bdus_aio_event_type {
	/* request: serve it, then complete it. */
	BDUS_AIO_REQUEST = 1,
	/* /dev/bdus-<id> now exists for everyone (bdus_aio_create_dev()). */
	BDUS_AIO_DEVICE_AVAILABLE,
	/*
	 * The device is being destroyed, or another driver takes it over
	 * (after this one served its FLUSH).  No request comes any more;
	 * requests still outstanding may be completed (it counts) or
	 * released.  Then call bdus_aio_close_dev().
	 */
	BDUS_AIO_DEVICE_TERMINATED,
	/* Serving the device failed (error, error_message); otherwise as
	 * TERMINATED. */
	BDUS_AIO_DEVICE_FAILED,
	/* The device's last event: dev is freed before the next
	 * bdus_aio_get_events() returns. */
	BDUS_AIO_DEVICE_CLOSED
};

/* New fields will only be appended. */
struct bdus_aio_event {
	uint32_t type; /* enum bdus_aio_event_type */
	int error; /* DEVICE_FAILED: an errno value */
	struct bdus_aio_dev *dev;
	void *dev_user_data;
	struct bdus_aio_request *request; /* REQUEST */
	/* DEVICE_FAILED; valid until the device's DEVICE_CLOSED is taken */
	const char *error_message;
};

/*
 * Makes progress without blocking: commits completed requests (also those
 * completed on other threads), posts the commands that fetch requests, and
 * collects what the kernel delivered as events.  Returns 1 if it should be
 * called again before waiting, 0 if the owner may wait on
 * bdus_aio_get_fd() (once bdus_aio_get_events() found nothing), -1 if the
 * context failed (errno, bdus_get_error_message()); a device that fails
 * gives BDUS_AIO_DEVICE_FAILED instead.  Owner only.
 */
int bdus_aio_process(struct bdus_aio *aio);

/* The function behind bdus_aio_get_events(); call the wrapper. */
unsigned bdus_aio_get_events_sized(struct bdus_aio *aio,
				   struct bdus_aio_event *events, unsigned max,
				   size_t event_size);

/*
 * Takes up to max of the events that bdus_aio_process() collected, oldest
 * first, without blocking; returns how many.  Owner only.
 */
static inline unsigned bdus_aio_get_events(struct bdus_aio *aio,
					   struct bdus_aio_event *events,
					   unsigned max)
{
	return bdus_aio_get_events_sized(aio, events, max,
					 sizeof(struct bdus_aio_event));
}

/*
 * Completes a request: error is 0 or a positive errno value, as a
 * callback of struct bdus_ops returns (there is no bdus_abort here: close
 * the device instead).  Any thread, any time, any order, once per request.
 * A completion from another thread wakes the owner; the owner's own are
 * committed by its next bdus_aio_process().  Never blocks.
 *
 * Returns 0, or -1 with errno: EINVAL for an error out of range (the
 * request stays the driver's), EALREADY for a request that is not the
 * driver's (completed or released already).  That check is a safety net,
 * not a guarantee: once the owner committed a request, its struct may
 * carry the next request of the same slot, which a stale second
 * completion would then complete.  Completing a pointer that libbdus never
 * handed out is undefined behaviour.
 */
int bdus_aio_complete(struct bdus_aio_request *request, int error);

/*
 * Gives a request back uncompleted, as a driver that dies with it in hand:
 * a recoverable device delivers it again to its next driver, any other
 * fails it with EIO when the device closes.  It is for drivers that give
 * up: releasing a request also closes its device, as bdus_aio_close_dev()
 * does.  Any thread, instead of bdus_aio_complete(); returns as it does.
 */
int bdus_aio_release(struct bdus_aio_request *request);

/*
 * With a ring of the driver's own (bdus_aio_attrs.ring): handles one CQE
 * of that ring.  Returns false, leaving it alone, if it is not libbdus's
 * (see BDUS_AIO_IS_LIBBDUS_CQE()); the driver marks it seen either way.
 * Its events can be taken at once; call bdus_aio_process() before the
 * ring is submitted again, to commit completions and post fetches.
 * Owner only.
 */
bool bdus_aio_handle_cqe(struct bdus_aio *aio, const struct io_uring_cqe *cqe);

#ifdef __cplusplus
}
#endif

#endif /* BDUS_AIO_H_ */
