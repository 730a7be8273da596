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
	 * Bring your own ring: libbdus puts its uring commands on this ring
	 * (which the owner submits and reaps, as for its own I/O) instead
	 * of one of its own, so that one io_uring_enter() serves both.
	 * Needs IORING_SETUP_SQE128 and IORING_SETUP_CQE32 off, and free SQ
	 * entries: up to queue_depth per device per call of
	 * bdus_aio_process().  NULL: libbdus makes its own ring (uring
	 * transport), or uses the ioctl or mmap transport if the kernel
	 * has no io_uring.
	 */
	struct io_uring *ring;

	/*
	 * With ring: the top 8 bits of the user_data of every SQE that
	 * libbdus queues.  The owner hands each CQE whose user_data has
	 * them to bdus_aio_handle_cqe(), and keeps them out of its own
	 * user_data.  0 means 0xbd.
	 */
	uint8_t cqe_tag;

	uint8_t reserved0[3]; /* zero */

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

	uint32_t reserved1; /* zero */
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
 * Closes every device still open (bdus_aio_close_dev()) and frees the
 * context.  Requests not completed by then are treated as a driver's death
 * treats them: a recoverable device keeps them for its next driver, any
 * other fails them.  Owner only.
 */
void bdus_aio_destroy(struct bdus_aio *aio);

/*
 * The descriptor to poll (POLLIN) for the context to have work: events to
 * take, or completions from other threads to commit.  Level-triggered;
 * works with poll, epoll, libev, glib.  Without a ring of the driver's
 * own; with one, its CQEs (handed to bdus_aio_handle_cqe()) and an eventfd
 * registered on it play that part.  Never blocks; any thread.
 */
int bdus_aio_get_fd(const struct bdus_aio *aio);

/* ------------------------------------------------------------------------- */
/* Devices */

struct bdus_aio_dev;

/*
 * Creates a device served by the context; returns at once.  attrs and ext
 * are those of bdus_run_ext() (ext may be NULL); requests is the set of
 * request types the driver serves (BDUS_REQ_*), which bdus_run() derives
 * from its callbacks.  The device is announced later: the event
 * BDUS_AIO_DEVICE_AVAILABLE says so, after the requests of the kernel's
 * partition scan.  user_data comes back in every event of the device.
 * NULL on failure.  Owner only.
 */
struct bdus_aio_dev *bdus_aio_create_dev(struct bdus_aio *aio,
					 const struct bdus_attrs *attrs,
					 const struct bdus_ext_attrs *ext,
					 uint32_t requests, void *user_data);

/*
 * Attaches to existing device dev_id, as bdus_rerun_ext() does: a live
 * driver is flushed and told to terminate, and the requests it had not
 * completed pass to this context; an inactive recoverable device hands
 * over those of its dead driver.  The call does not wait for the old
 * driver: BDUS_AIO_DEVICE_AVAILABLE comes once it is gone.  NULL on
 * failure.  Owner only.
 */
struct bdus_aio_dev *bdus_aio_attach_dev(struct bdus_aio *aio,
					 uint64_t dev_id,
					 const struct bdus_attrs *attrs,
					 const struct bdus_ext_attrs *ext,
					 uint32_t requests, void *user_data);

/* The device's id, path and effective attributes.  Any thread. */
uint64_t bdus_aio_dev_id(const struct bdus_aio_dev *dev);
const char *bdus_aio_dev_path(const struct bdus_aio_dev *dev);
const struct bdus_attrs *bdus_aio_dev_attrs(const struct bdus_aio_dev *dev);

/*
 * Stops serving the device, as if its driver had exited: a non-recoverable
 * device is destroyed, a recoverable one waits for a new driver.  Its
 * requests not yet completed follow the rule of bdus_aio_destroy(); a
 * later bdus_aio_complete() of one of them is harmless and does nothing.
 * dev is freed.  Owner only.
 */
void bdus_aio_close_dev(struct bdus_aio_dev *dev);

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
 * A request to serve.  libbdus owns it; it stays valid, and so does its
 * buffer, until bdus_aio_complete() (or the close of its device).  The
 * guarantees of struct bdus_ops hold: offset and size are multiples of the
 * logical block size and within the device, buffer is page-aligned.
 */
struct bdus_aio_request {
	struct bdus_aio_dev *dev;
	void *dev_user_data;
	uint32_t type; /* enum bdus_aio_request_type */
	uint32_t size; /* bytes; 0 for FLUSH and IOCTL */
	uint64_t offset;
	/* READ: fill it; WRITE, FUA_WRITE: the data; IOCTL: the argument
	 * (in the convention of the API the device was created with);
	 * otherwise NULL. */
	char *buffer;
	uint32_t ioctl_command;
	bool may_unmap; /* WRITE_ZEROS */
	void *user_data; /* free for the driver */
};

enum bdus_aio_event_type {
	/* request: serve it, then call bdus_aio_complete(). */
	BDUS_AIO_REQUEST = 1,
	/* The device exists for everyone: /dev/bdus-<id> can be opened. */
	BDUS_AIO_DEVICE_AVAILABLE,
	/*
	 * The device is being destroyed, or another driver takes it over
	 * (after this driver served its FLUSH).  No more requests come;
	 * completing outstanding ones is allowed and ignored.  Call
	 * bdus_aio_close_dev() once done with it.
	 */
	BDUS_AIO_DEVICE_TERMINATED,
	/*
	 * Serving the device failed (the message is in error_message): it
	 * is treated as closed by a dead driver.  Call bdus_aio_close_dev().
	 */
	BDUS_AIO_DEVICE_FAILED
};

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
 * by other threads), posts the commands that fetch requests, and collects
 * what the kernel delivered.  Call it when bdus_aio_get_fd() is readable
 * (or, with a ring of your own, after reaping its CQEs), then take the
 * events.  With BDUS_AIO_POLL it may spin for up to spin_us when there is
 * nothing to do.  False (and the message) only if the context itself
 * failed; a failing device gives DEVICE_FAILED instead.  Owner only.
 */
bool bdus_aio_process(struct bdus_aio *aio);

/*
 * Takes up to max events collected by bdus_aio_process(), oldest first,
 * without blocking.  Returns how many (0 if none).  Owner only.
 */
unsigned bdus_aio_get_events(struct bdus_aio *aio,
			     struct bdus_aio_event *events, unsigned max);

/*
 * Completes a request: error is 0 or a positive errno value (as a callback
 * of struct bdus_ops returns; bdus_abort is not allowed here: close the
 * device instead).  Any thread, at any time, in any order, once per
 * request; from a thread other than the owner it wakes the owner, which
 * commits it in its next bdus_aio_process().  Never blocks.
 */
void bdus_aio_complete(struct bdus_aio_request *request, int error);

/*
 * With a ring of the driver's own: gives libbdus one CQE whose user_data
 * has the context's tag (the driver still marks it seen).  Returns false
 * for a CQE that is not libbdus's, leaving it alone.  Owner only.
 */
bool bdus_aio_handle_cqe(struct bdus_aio *aio,
			 const struct io_uring_cqe *cqe);

#ifdef __cplusplus
}
#endif

#endif /* BDUS_AIO_H_ */
