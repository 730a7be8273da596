// SPDX-License-Identifier: MIT
/*
 * bdus-aio.h - DRAFT of libbdus's asynchronous driver API (issue 13).
 *
 * Not implemented yet: this header is the proposal to review before any
 * code is written (see docs/design/async-api.md).  It compiles, and
 * docs/design/aio-ram.c uses it, but libbdus exports none of it.
 *
 * The sync API (bdus_run(), struct bdus_ops) stays as it is; once this
 * exists it becomes a small loop over it, with a pool of worker threads.
 */

#ifndef BDUS_AIO_H_
#define BDUS_AIO_H_

#include <bdus.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct io_uring; /* liburing's */
struct io_uring_cqe;

/* ------------------------------------------------------------------------- */
/* Contexts */

/*
 * A context serves any number of devices from the thread that created it:
 * that thread (the "owner") fetches their requests, and every call below
 * that is not marked otherwise must come from it.  kbdus binds each
 * device's queues to the task that posts their commands, so a context is
 * not shared between threads; run one context per thread to use several.
 *
 * libbdus starts no thread and installs no signal handler for a context.
 */
struct bdus_aio;

/* bdus_aio_attrs.flags */

/* Spin for up to spin_us microseconds before the owner's wait sleeps. */
#define BDUS_AIO_POLL (1u << 0)

struct bdus_aio_attrs {
	/*
	 * Bring your own ring: libbdus queues its uring commands on this
	 * ring instead of one of its own, and never submits it: the owner
	 * submits and reaps it with its own I/O, so that one
	 * io_uring_enter() serves both.  The ring must be the owner's, not
	 * SQPOLL (kbdus refuses commands from io_uring's worker threads),
	 * have a CQ with room for every command posted (num_queues *
	 * queue_depth per device, plus the driver's own), no IOSQE_IO_DRAIN
	 * from the driver (it would wait behind posted fetches), and no
	 * fixed files registered by libbdus.  NULL: libbdus makes its own
	 * ring.  Without io_uring (kernel.io_uring_disabled) creation fails:
	 * the ioctl and mmap transports block and cannot run thread-free.
	 */
	struct io_uring *ring;

	/*
	 * With ring: libbdus's SQEs carry user_data values v with
	 * (v & user_data_mask) == user_data_value; the driver keeps its own
	 * outside that set and hands every CQE inside it to
	 * bdus_aio_handle_cqe().  0 and 0: the top byte 0xbd (mind tagged
	 * pointers, e.g. arm64 TBI, if the driver's user_data are pointers).
	 */
	uint64_t user_data_mask;
	uint64_t user_data_value;

	/* BDUS_AIO_* flags. */
	uint32_t flags;

	/*
	 * Payload buffers shared by every device of the context, in bytes;
	 * 0: enough for each device's queues at full depth.  A smaller pool
	 * bounds the requests in flight over all devices: a device fetches
	 * a request only while a buffer is free.
	 */
	uint64_t buffer_pool_size;

	/* With BDUS_AIO_POLL: how long to spin. */
	uint32_t spin_us;

	uint32_t reserved; /* zero */
};

/* The function behind bdus_aio_create(); call the wrapper. */
struct bdus_aio *bdus_aio_create_sized(const struct bdus_aio_attrs *attrs,
				       size_t attrs_size);

/*
 * Makes a context owned by the calling thread; attrs may be NULL (all
 * defaults).  NULL on failure (errno and bdus_get_error_message()).
 */
static inline struct bdus_aio *
bdus_aio_create(const struct bdus_aio_attrs *attrs)
{
	return bdus_aio_create_sized(attrs, sizeof(struct bdus_aio_attrs));
}

/*
 * Frees the context, as a driver's exit would: a recoverable device keeps
 * its uncompleted requests for its next driver, any other device is
 * destroyed.  No bdus_aio_complete() may run or start meanwhile: the
 * driver stops its threads' completions first.  Owner only.
 */
void bdus_aio_destroy(struct bdus_aio *aio);

/*
 * The descriptor to poll (POLLIN) while the context waits for the kernel
 * or for completions from other threads.  The loop contract: call
 * bdus_aio_process(), take the events, and wait on it only if the call
 * returned 0 and there were no events (completions the owner made while
 * handling them are committed by the next call, and do not wake it);
 * readable means "call bdus_aio_process() again".  Works with poll, epoll, libev, glib.  With a
 * ring of the driver's own there is none (-1): a CQE for
 * bdus_aio_handle_cqe(), including the read of libbdus's eventfd that it
 * keeps posted on that ring, is the wake-up.  Never blocks; any thread.
 */
int bdus_aio_get_fd(const struct bdus_aio *aio);

/* ------------------------------------------------------------------------- */
/* Devices */

struct bdus_aio_dev;

/*
 * What a context serves of a device.  Zero-initialize: zero fields are
 * defaults.
 */
struct bdus_aio_dev_attrs {
	/* The request types served (BDUS_REQ_*); bdus_run() derives them
	 * from its callbacks.  FUA_WRITE needs FLUSH, as there. */
	uint32_t requests;

	/* The device's queues this context serves, as a bit mask (queue q:
	 * bit q); 0: all.  Other contexts, on other threads, serve the
	 * rest (bdus_aio_share_dev()), so that one device's queues spread
	 * over threads without a hand-off per request. */
	uint64_t queue_mask;

	uint32_t reserved[4]; /* zero */
};

/* ioctl arguments of devices served through this API follow Linux's
 * direction convention (BDUS 0.1's is only for bdus_run()). */

/*
 * Creates a device served by the context; returns at once.  attrs and ext
 * are those of bdus_run_ext() (ext may be NULL; dont_daemonize, log and
 * max_concurrent_callbacks are ignored).  The device is announced later:
 * BDUS_AIO_DEVICE_AVAILABLE says so, after the requests of the kernel's
 * partition scan.  user_data comes back in every event of the device.
 * NULL on failure.  Owner only.
 */
struct bdus_aio_dev *bdus_aio_create_dev(struct bdus_aio *aio,
					 const struct bdus_attrs *attrs,
					 const struct bdus_ext_attrs *ext,
					 const struct bdus_aio_dev_attrs *dattrs,
					 void *user_data);

/*
 * Attaches to existing device dev_id, as bdus_rerun_ext() does: a live
 * driver is flushed and told to terminate, and the requests it had not
 * completed pass to this context; an inactive recoverable device hands
 * over those of its dead driver.  Blocks until the old driver is gone
 * (kbdus's attach does; a non-blocking attach is a kbdus change to make
 * first), so never for a device this thread serves itself.  NULL on
 * failure.  Owner only.
 */
struct bdus_aio_dev *bdus_aio_attach_dev(struct bdus_aio *aio,
					 uint64_t dev_id,
					 const struct bdus_attrs *attrs,
					 const struct bdus_ext_attrs *ext,
					 const struct bdus_aio_dev_attrs *dattrs,
					 void *user_data);

/*
 * Serves the queues in queue_mask (none served by another context) of a
 * device that another context created or attached, from this context's
 * thread.  Each queue has one context; the device closes when the last of
 * them closes it.  Owner of aio only.
 */
struct bdus_aio_dev *bdus_aio_share_dev(struct bdus_aio *aio,
					struct bdus_aio_dev *dev,
					uint64_t queue_mask, void *user_data);

/* The device's id, path and effective attributes.  Valid until its
 * BDUS_AIO_DEVICE_CLOSED event.  Any thread. */
uint64_t bdus_aio_dev_id(const struct bdus_aio_dev *dev);
const char *bdus_aio_dev_path(const struct bdus_aio_dev *dev);
const struct bdus_attrs *bdus_aio_dev_attrs(const struct bdus_aio_dev *dev);

/*
 * Starts closing the device, as if its driver had exited: a
 * non-recoverable device is destroyed, a recoverable one waits for a new
 * driver with the requests this context leaves uncompleted.  Returns at
 * once; BDUS_AIO_DEVICE_CLOSED, the device's last event, comes once every
 * request handed out was completed or released and the kernel let go of
 * the commands posted for it.  Needs kbdus to abandon one session's
 * commands on a shared ring (today only the ring's or the task's exit
 * cancels them).  Owner only.
 */
void bdus_aio_close_dev(struct bdus_aio_dev *dev);

/*
 * Stops serving the device with an error, from any thread (what a
 * callback's bdus_abort does in the sync API): no more requests come,
 * and BDUS_AIO_DEVICE_FAILED follows with error.  Never blocks.
 */
void bdus_aio_fail_dev(struct bdus_aio_dev *dev, int error);

/* ------------------------------------------------------------------------- */
/* Requests and events */

/* bdus_aio_request.type: as the callbacks of struct bdus_ops. */
enum bdus_aio_request_type {
	BDUS_AIO_READ = 1,
	BDUS_AIO_WRITE,
	BDUS_AIO_WRITE_ZEROS, /* may_unmap says which variant */
	BDUS_AIO_FUA_WRITE,
	BDUS_AIO_FLUSH,
	BDUS_AIO_DISCARD,
	BDUS_AIO_SECURE_ERASE,
	BDUS_AIO_IOCTL
};

/*
 * A request to serve.  libbdus owns it: it, its buffer and its device stay
 * valid until the driver calls bdus_aio_complete() or bdus_aio_release()
 * on it, even after the device terminated or began closing.  The
 * guarantees of struct bdus_ops hold: offset and size are multiples of the
 * logical block size and within the device, buffer is page-aligned.
 */
struct bdus_aio_request {
	struct bdus_aio_dev *dev;
	void *dev_user_data;
	uint32_t type; /* enum bdus_aio_request_type */
	uint32_t size; /* bytes; IOCTL: the argument's; FLUSH: 0 */
	uint64_t offset;
	/* READ: fill it; WRITE, FUA_WRITE: the data; IOCTL: the argument;
	 * otherwise NULL. */
	char *buffer;
	uint32_t ioctl_command;
	uint16_t queue; /* the device queue it came from */
	bool may_unmap; /* WRITE_ZEROS */
	void *user_data; /* free for the driver */
};

enum bdus_aio_event_type {
	/* request: serve it, then bdus_aio_complete() it. */
	BDUS_AIO_REQUEST = 1,
	/* The device exists for everyone: /dev/bdus-<id> can be opened. */
	BDUS_AIO_DEVICE_AVAILABLE,
	/*
	 * The device is being destroyed, or another driver takes it over
	 * (after this driver served its FLUSH).  No more requests come;
	 * complete the outstanding ones (the results still count: a
	 * recoverable device's next driver does not redo them), then
	 * bdus_aio_close_dev().
	 */
	BDUS_AIO_DEVICE_TERMINATED,
	/* Serving the device failed (error, error_message), or
	 * bdus_aio_fail_dev() was called: as TERMINATED otherwise. */
	BDUS_AIO_DEVICE_FAILED,
	/* The device's last event: dev is freed after it. */
	BDUS_AIO_DEVICE_CLOSED
};

/* New fields will only be appended; bdus_aio_get_events() takes the size
 * the caller was compiled with. */
struct bdus_aio_event {
	uint32_t type; /* enum bdus_aio_event_type */
	int error; /* DEVICE_FAILED: an errno value */
	struct bdus_aio_dev *dev;
	void *dev_user_data;
	struct bdus_aio_request *request; /* REQUEST */
	const char *error_message; /* DEVICE_FAILED; valid until the next
				      bdus_aio_get_events() */
};

/*
 * Makes progress without blocking: commits completions (also those made
 * by other threads), queues the commands that fetch requests (submitting
 * them unless the ring is the driver's), and collects what the kernel
 * delivered.  Returns 1 if it should be called again before waiting (more
 * work, or SQEs left for lack of SQ space), 0 if the context may now wait
 * (bdus_aio_get_fd() or, with the driver's ring, its CQEs), -1 if the
 * context itself failed (errno and message; a failing device gives
 * DEVICE_FAILED instead).  With BDUS_AIO_POLL it may spin for up to
 * spin_us before returning 0.  Owner only.
 */
int bdus_aio_process(struct bdus_aio *aio);

/* The function behind bdus_aio_get_events(); call the wrapper. */
unsigned bdus_aio_get_events_sized(struct bdus_aio *aio,
				   struct bdus_aio_event *events, unsigned max,
				   size_t event_size);

/*
 * Takes up to max events collected by bdus_aio_process(), oldest first,
 * without blocking.  Returns how many (0 if none).  Owner only.
 */
static inline unsigned bdus_aio_get_events(struct bdus_aio *aio,
					   struct bdus_aio_event *events,
					   unsigned max)
{
	return bdus_aio_get_events_sized(aio, events, max,
					 sizeof(struct bdus_aio_event));
}

/*
 * Completes a request: error is 0 or a positive errno value (as a callback
 * of struct bdus_ops returns; for bdus_abort, use bdus_aio_fail_dev()).
 * Any thread, at any time, in any order, exactly once per request (or
 * bdus_aio_release() instead).  From the owner it is committed by the next
 * bdus_aio_process(); from another thread it also wakes the owner.  Never
 * blocks.
 */
void bdus_aio_complete(struct bdus_aio_request *request, int error);

/*
 * Gives a request back uncompleted, like a driver that dies with it in
 * hand: a recoverable device hands it to its next driver, any other fails
 * it.  For drivers shutting down with I/O they will not finish.  Any
 * thread; instead of bdus_aio_complete().
 */
void bdus_aio_release(struct bdus_aio_request *request);

/*
 * With a ring of the driver's own: gives libbdus one CQE whose user_data
 * is in the context's set (the driver still marks it seen).  Returns false
 * for a CQE that is not libbdus's, leaving it alone.  Call
 * bdus_aio_process() after a batch of them.  Owner only.
 */
bool bdus_aio_handle_cqe(struct bdus_aio *aio,
			 const struct io_uring_cqe *cqe);

#ifdef __cplusplus
}
#endif

#endif /* BDUS_AIO_H_ */
