// SPDX-License-Identifier: MIT
/*
 * aio.h - the asynchronous API's internals (bdus-aio.h), shared by
 * context.c (the ring, the loop and events), device.c and dev-attrs.c
 * (creating and closing devices), request.c (completions from any thread) and the transports
 * (transport/aio-*.c), which move requests and replies between a device's
 * session and the core.
 *
 * Every context has one ring, used by the owner thread only (kbdus binds
 * a uring queue to one task and one ring).  A uring device's commands sit
 * on it; an ioctl or mmap device has a poll of its session fd there, and
 * receives and replies with non-blocking ioctls (transport/aio-poll.c).
 * A request slot is one struct aio_request, in one of these states:
 *
 *   IDLE       no command posted, nothing handed out: the slot is unused
 *              (after TERMINATE, a STOP, or a request left uncompleted;
 *              for ioctl and mmap, a slot not received into)
 *   POSTED     (uring) its FETCH or COMMIT_AND_FETCH is in the kernel
 *   WAITING    its request needs a shared buffer and none is free: on
 *              the pool's waiting list (pool.c)
 *   GETTING    its request got a shared buffer, and a GET_DATA copies the
 *              request's data into it
 *   HELD       its request was handed to the driver
 *   COMPLETED  the driver completed or released it; on a completion list,
 *              waiting for the owner to commit it
 *
 * Only HELD -> COMPLETED may happen on another thread (a compare-and-swap,
 * which is what makes a second completion fail cleanly); every other
 * change is the owner's.
 */

#ifndef LIBBDUS_AIO_H_
#define LIBBDUS_AIO_H_

#include "internal.h"
#include "transport/uring-cmd.h"

#include <bdus-aio.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>

enum aio_request_state {
	AIO_REQ_IDLE,
	AIO_REQ_POSTED,
	AIO_REQ_WAITING,
	AIO_REQ_GETTING,
	AIO_REQ_HELD,
	AIO_REQ_COMPLETED,
};

/* aio_request.result of a released request. */
#define AIO_RELEASED INT32_MIN

struct aio_request {
	struct bdus_aio_request public; /* first: request.c casts */
	_Atomic uint32_t state; /* enum aio_request_state */
	int32_t result; /* COMPLETED: the reply, or AIO_RELEASED */
	struct aio_request *next_completed;
	uint16_t tag;
	uint32_t kbdus_type; /* HELD, COMPLETED: of the request */
	/* The slot's payload buffer, named in FETCHes; NULL with a shared
	 * pool, whose buffers come and go with requests (pool_buffer). */
	char *slot_buffer;
	char *pool_buffer; /* GETTING, HELD, COMPLETED: the shared buffer */
	char *commit_buffer; /* read by a COMMIT in the kernel */
	struct aio_request *next_waiting; /* WAITING */
	/* ioctl, mmap: kbdus's handle of the request, for the reply */
	uint64_t handle;
	struct aio_request *next_free; /* ioctl: IDLE, on dev->free */
};

/*
 * What a device's protocol does for the core.  Arrivals go to
 * aio_dev_deliver() and notifications to aio_dev_on_notification(); uring
 * commands come back through context.c's CQE handling, ioctl and mmap
 * sessions are polled on the context's ring and receive().
 */
struct aio_transport {
	uint32_t protocol; /* KBDUS_PROTOCOL_* */
	/* Begins serving dev (its requests are IDLE); false: the context
	 * failed. */
	bool (*start)(struct bdus_aio_dev *dev);
	/* Sends req's reply (req->result); false: the context failed, and
	 * req stays IDLE. */
	bool (*commit)(struct bdus_aio_dev *dev, struct aio_request *req);
	/* Nothing more is delivered; what is posted comes back. */
	void (*stop)(struct bdus_aio_dev *dev);
	/* ioctl, mmap: takes what arrived while dev->readable. */
	void (*receive)(struct bdus_aio_dev *dev);
};

extern const struct aio_transport aio_uring_transport;
extern const struct aio_transport aio_ioctl_transport;
extern const struct aio_transport aio_mmap_transport;

/*
 * What every context serving one device shares (bdus_aio_share_dev()):
 * its session, and which queues are taken.  A device served by one
 * context has one of these too.  Each handle (struct bdus_aio_dev) holds a
 * reference until its own close finished and nothing of it is posted (see
 * stop_refused); the last one closes the session,
 * which is the driver's exit for kbdus.  So the session outlives every
 * command any handle posted on it.
 *
 * Closing is all or nothing: a queue nobody serves would leave its
 * requests waiting forever, so the first handle that begins closing asks
 * every other one to close too (aio_shared_ask_close()).
 */
struct aio_shared_dev {
	struct bdus_session session; /* constant once shared */
	uint32_t queue_depth; /* constant */
	/* Under aio_shared_lock (share.c): */
	unsigned refs; /* handles whose close has not finished */
	bool closing; /* a handle began closing: every handle must */
	struct bdus_aio_dev *handles; /* those holding a reference */
	bool *queue_taken; /* [config.num_queues] */
	struct aio_shared_dev *next; /* on aio_shared_devices (share.c) */
};

/* A device served by a context.  Owner only, but the constant fields and
 * those that say otherwise. */
struct bdus_aio_dev {
	struct bdus_aio *aio;
	struct bdus_aio_dev *next; /* on aio->devices */
	/* Until this handle's close finished (then NULL); written under
	 * aio_shared_lock, which other threads read it under. */
	struct aio_shared_dev *shared;
	struct bdus_session *session; /* &shared->session */
	int fd; /* the session's, for commands */
	struct bdus_aio_dev *next_handle; /* on shared->handles */
	const struct aio_transport *transport;
	/* Another handle of the device began closing: set under
	 * aio_shared_lock, read by the owner in bdus_aio_process(). */
	atomic_bool close_asked;
	uint64_t id;
	struct bdus_attrs attrs; /* effective */
	struct bdus_ext_attrs ext; /* effective */
	char path[32];
	void *user_data;
	/* The queues this handle serves: [first_queue, first_queue +
	 * num_queues); requests[i] is slot first_slot + i of the session. */
	uint32_t first_queue;
	uint32_t num_queues;
	uint32_t first_slot;
	struct aio_request *requests; /* num_queues * queue_depth */
	uint32_t num_requests;
	uint32_t cq_reserved; /* this device's share of the ring's CQ */

	/* ioctl, mmap: requests may be waiting (the poll fired, or the last
	 * receive got one); a receive that finds none clears it. */
	bool readable;
	bool polling; /* ioctl, mmap: the poll of the session fd is posted */
	/* ioctl: a receive found every request in the driver's hands; the
	 * next one freed makes dev readable again. */
	bool starved;
	struct aio_request *free; /* ioctl: IDLE requests */
	char *buffers; /* ioctl: one per request, of buffer_size */
	size_t buffers_size;
	uint32_t buffer_size;

	/* slot commands (and COMMITs, GET_DATAs, the poll) in the kernel */
	unsigned posted;
	/* requests WAITING, GETTING, HELD, or COMPLETED but not committed */
	unsigned held;
	unsigned stops; /* STOPs in the kernel */
	bool ended; /* TERMINATED or FAILED was queued */
	bool closing; /* bdus_aio_close_dev() or a failure: STOPs sent */
	bool closed; /* its session is closed and CLOSED queued */
	bool closed_taken; /* CLOSED was handed out: free it */
	/* kbdus refused a STOP (it never should): the device closes with
	 * commands still posted, and keeps its reference and its memory
	 * until they come back or the ring is torn down. */
	bool stop_refused;
	int error; /* FAILED: an errno value */
	char error_message[512]; /* FAILED */
};

/*
 * user_data of libbdus's SQEs: BDUS_AIO_USER_DATA_TAG in the top byte (user
 * space addresses leave it free), then a slot command's request address,
 * a STOP's device address with AIO_STOP_BIT, or AIO_EVENT_DATA for the
 * eventfd read posted on a ring of the driver's own.
 */
#define AIO_STOP_BIT ((uint64_t)1)
#define AIO_EVENT_DATA ((uint64_t)2)
#define AIO_COMMIT_DATA ((uint64_t)3) /* a request's COMMIT */
#define AIO_GET_DATA ((uint64_t)4) /* a request's GET_DATA */
#define AIO_POLL_DATA ((uint64_t)5) /* an ioctl or mmap device's poll */
#define AIO_CANCEL_DATA ((uint64_t)6) /* cancelling that poll */
#define AIO_KIND_MASK ((uint64_t)7)
#define AIO_ADDRESS_MASK (~BDUS_AIO_USER_DATA_MASK & ~AIO_KIND_MASK)

/*
 * The payload buffers that a context's devices share (bdus_aio_attrs.
 * shared_buffers).  Slots are FETCHed without a buffer; a request that
 * carries data takes a free buffer when it arrives, or waits for one, in
 * arrival order.  A write's data is then copied in with GET_DATA.  A read's
 * reply is a COMMIT from the buffer (then a FETCH without one), and the
 * buffer is free again once that COMMIT completed: the kernel reads it
 * while the COMMIT is issued, which may be in the driver's next submission
 * on a ring of its own.  Owner only.
 */
struct aio_pool {
	uint32_t count; /* 0: no pool, buffers per slot */
	uint32_t buffer_size;
	char *memory;
	size_t memory_size;
	char **free; /* a stack of free buffers */
	uint32_t free_count;
	struct aio_request *waiting; /* oldest first */
	struct aio_request **waiting_tail;
};
struct bdus_aio {
	pthread_t owner;
	/* &own_ring, the driver's, or NULL: then ioctl and mmap devices are
	 * polled with epoll (BDUS_AIO_NO_RING, or io_uring refused). */
	struct io_uring *ring;
	/* Without a ring: the descriptor the driver polls, watching the
	 * eventfd and (edge-triggered) every device's session; else -1. */
	int epoll;
	bool own_ring;
	struct io_uring own_ring_storage;
	unsigned cq_capacity; /* every command in flight fits in the CQ */
	unsigned cq_reserved;
	/* Written by other threads' completions.  With our own ring it is
	 * also registered with it, so that the kernel's completions make it
	 * readable; on the driver's ring a read of it is kept posted. */
	int eventfd;
	bool event_armed; /* the driver's ring: the read is posted */
	uint64_t event_value;

	/* Completions from other threads, newest first. */
	_Atomic(struct aio_request *) completed;
	/* Completions by the owner, newest first. */
	struct aio_request *owner_completed;

	struct bdus_aio_dev *devices; /* every device not freed yet */

	/* Events not taken yet: a circular array. */
	struct bdus_aio_event *events;
	unsigned events_head;
	unsigned events_count;
	unsigned events_capacity;

	struct aio_pool pool;

	bool failed; /* process() fails from then on */
	bool ring_broken; /* the ring itself failed: nothing more is sent */
	struct bdus_saved_error error;

	/* Completions from other threads between their push and their
	 * eventfd write: destroy waits for them before freeing. */
	atomic_uint completing;
	/* Some device's close_asked was set (by another context's thread). */
	atomic_bool close_asked;
};

/* context.c */

/* Whether the calling thread owns the context; fails with EPERM if not. */
bool aio_check_owner(const struct bdus_aio *aio, const char *function);
/* Queues an event; false (context failed) if out of memory. */
bool aio_queue_event(struct bdus_aio *aio, uint32_t type,
		     struct bdus_aio_dev *dev, struct bdus_aio_request *request);
/* Submits what was queued (errors show in the next process()). */
void aio_submit(struct bdus_aio *aio);
/* An SQE to fill; NULL if the ring is broken (the context failed). */
struct io_uring_sqe *aio_get_sqe(struct bdus_aio *aio);

/* transport/aio-uring.c */

/* Queues a slot's FETCH or COMMIT_AND_FETCH (with req->result), or a STOP
 * of one of dev's queues.  false if the ring is broken (context failed). */
bool aio_queue_fetch(struct bdus_aio_dev *dev, struct aio_request *req);
bool aio_queue_commit(struct bdus_aio_dev *dev, struct aio_request *req);
bool aio_queue_stop(struct bdus_aio_dev *dev, uint16_t queue);
/* With a shared pool: a COMMIT (reply data from req->pool_buffer) and a
 * GET_DATA into req->pool_buffer. */
bool aio_queue_commit_only(struct bdus_aio_dev *dev, struct aio_request *req);
bool aio_queue_get_data(struct bdus_aio_dev *dev, struct aio_request *req);

/* dev-attrs.c */

/* Copies dattrs (a caller's struct of dattrs size) into out; false
 * (failed) if it is NULL or has a field set this libbdus does not know. */
bool aio_copy_dattrs(struct bdus_aio_dev_attrs *out,
		     const struct bdus_aio_dev_attrs *dattrs, size_t size);
/* Checks the request types served, and makes placeholder ops for them:
 * the sync API's validation and configuration work on struct bdus_ops. */
bool aio_shape_ops(struct bdus_ops *ops, uint32_t requests);
/* Checks what this API takes of ext. */
bool aio_check_ext(struct bdus_ext_attrs *ext);
/* Picks the default protocol for this context, and checks what the
 * protocol asked for cannot do with it. */
bool aio_check_protocol(const struct bdus_aio *aio, uint32_t *protocol);
const struct aio_transport *aio_transport_for(uint32_t protocol);

/* device.c */

/* Whether every request of a device (up to max_read_write_size) fits in
 * one of aio's shared buffers, if it has them; false (failed) if not. */
bool aio_check_pool_fits(const struct bdus_aio *aio,
			 uint32_t max_read_write_size);
/* Allocates the requests of count queues of depth slots for dev, and
 * reserves their room in the CQ; false (failed) if there is none. */
bool aio_dev_alloc_requests(struct bdus_aio_dev *dev, uint32_t count,
			    uint32_t depth);

/* Handles the completion of one of dev's slot commands (uring). */
void aio_dev_on_slot(struct bdus_aio_dev *dev, struct aio_request *req,
		     int32_t res);
/* A request arrived in req, described by d: hands it out (or to the pool). */
void aio_dev_deliver(struct bdus_aio_dev *dev, struct aio_request *req,
		     const struct kbdus_request *d);
/* A notification (KBDUS_REQ_DEVICE_AVAILABLE or _TERMINATE) arrived;
 * false if it is neither (dev failed). */
bool aio_dev_on_notification(struct bdus_aio_dev *dev, uint32_t type);
/* Hands a request that arrived (and has what it needs) to the driver. */
void aio_dev_hand_out(struct bdus_aio_dev *dev, struct aio_request *req);
/* Stops serving dev (STOPs of every queue); nothing more is delivered. */
void aio_dev_begin_close(struct bdus_aio_dev *dev);
/* Fails dev: FAILED (unless it already ended), then closing. */
void aio_dev_fail(struct bdus_aio_dev *dev, int errnum, const char *fmt, ...)
	BDUS_PRINTF(3, 4);
/* Closes dev's session once nothing of it is in the kernel or handed out,
 * and queues CLOSED. */
void aio_dev_finish_close(struct bdus_aio_dev *dev);
/* A command of dev came back after dev closed (a STOP was refused). */
void aio_dev_on_late_cqe(struct bdus_aio_dev *dev);
/* Frees a device whose CLOSED was taken (or any device, at destroy). */
void aio_dev_free(struct bdus_aio_dev *dev);

/* transport/aio-poll.c: an ioctl or mmap device's poll completed, or its
 * cancel did. */
void aio_poll_on_cqe(struct bdus_aio_dev *dev, const struct io_uring_cqe *cqe);
void aio_poll_on_cancel(struct bdus_aio_dev *dev);

/* share.c */

/* Whether a device (name, for the message) with num_queues queues has
 * count queues from first (count 0: all from first, and *count says how
 * many); fails if not. */
bool aio_check_queue_range(const char *name, uint32_t num_queues,
			   uint32_t first, uint32_t *count);
/* A new device's shared part, owning session (moved in); false if out of
 * memory (the session is then left to the caller). */
bool aio_shared_init(struct bdus_aio_dev *dev, struct bdus_session *session,
		     uint32_t queue_depth);
/* Takes queues [first, first + count) (count 0: all from first) for dev,
 * and sets dev's queue and slot ranges; false (failed) if they are out of
 * range or taken.  claim: for the handle aio_shared_init() made, once its
 * attributes are set (other contexts may then share it).  join: for a new
 * handle of other's device, which gets other's attributes and its own
 * requests and holds a reference; also false if other has closed, the
 * device is closing, this context serves it already or lacks what it
 * needs. */
bool aio_shared_claim(struct bdus_aio_dev *dev, uint32_t first,
		      uint32_t count);
bool aio_shared_join(struct bdus_aio_dev *dev, const struct bdus_aio_dev *other,
		     uint32_t first, uint32_t count);
/* dev begins closing: every other handle is asked to close too. */
void aio_shared_ask_close(struct bdus_aio_dev *dev);
/* dev's close finished (or dev is freed): drops its reference; the last
 * one closes the session. */
void aio_shared_put(struct bdus_aio_dev *dev);
/* bdus_aio_process(): begins closing the devices asked to. */
void aio_shared_handle_asks(struct bdus_aio *aio);

/* pool.c */

bool aio_pool_init(struct bdus_aio *aio, uint32_t count, uint32_t buffer_size);
void aio_pool_free(struct bdus_aio *aio);
/* A request that carries data arrived: gives it a buffer (and its data),
 * or queues it until one is free. */
void aio_pool_take(struct bdus_aio_dev *dev, struct aio_request *req);
/* A buffer the kernel is done with goes to the oldest waiting request, or
 * back to the pool.  NULL: nothing. */
void aio_pool_put(struct bdus_aio *aio, char *buffer);
/* A request left uncompleted gives its buffer back. */
void aio_pool_release(struct bdus_aio *aio, struct aio_request *req);
/* Completion of a request's GET_DATA or COMMIT. */
void aio_pool_on_get_data(struct bdus_aio_dev *dev, struct aio_request *req,
			  int32_t res);
void aio_pool_on_commit(struct bdus_aio_dev *dev, struct aio_request *req,
			int32_t res);
/* Queues the reply of a request completed by the driver. */
bool aio_pool_commit(struct bdus_aio_dev *dev, struct aio_request *req);
/* A closing device's requests leave the waiting list, unserved. */
void aio_pool_forget_dev(struct bdus_aio_dev *dev);

#endif /* LIBBDUS_AIO_H_ */
