// SPDX-License-Identifier: MIT
/*
 * aio.h - the asynchronous API's internals (bdus-aio.h), shared by
 * context.c (the ring, the loop and events), device.c (creating and closing
 * devices) and request.c (completions from any thread).
 *
 * Every device of a context is a uring session whose commands sit on the
 * context's one ring, issued by the owner thread only (kbdus binds a queue
 * to one task and one ring).  A request slot (queue, tag) is one struct
 * aio_request, in one of these states:
 *
 *   IDLE       no command posted, nothing handed out: the slot is unused
 *              (after TERMINATE, a STOP, or a request left uncompleted)
 *   POSTED     its FETCH or COMMIT_AND_FETCH is in the kernel
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

#include "uring.h"

#include <bdus-aio.h>

enum aio_request_state {
	AIO_REQ_IDLE,
	AIO_REQ_POSTED,
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
	char *slot_buffer; /* the slot's payload buffer, named in commands */
};

/* A device served by a context.  Owner only, but the constant fields. */
struct bdus_aio_dev {
	struct bdus_aio *aio;
	struct bdus_aio_dev *next; /* on aio->devices */
	struct bdus_session session;
	uint64_t id;
	struct bdus_attrs attrs; /* effective */
	struct bdus_ext_attrs ext; /* effective */
	char path[32];
	void *user_data;
	struct aio_request *requests; /* num_queues * queue_depth */
	uint32_t num_requests;
	uint32_t num_queues;
	uint32_t cq_reserved; /* this device's share of the ring's CQ */

	unsigned posted; /* slot commands in the kernel */
	unsigned held; /* requests HELD or COMPLETED but not committed */
	unsigned stops; /* STOPs in the kernel */
	bool ended; /* TERMINATED or FAILED was queued */
	bool closing; /* bdus_aio_close_dev() or a failure: STOPs sent */
	bool closed; /* its session is closed and CLOSED queued */
	bool closed_taken; /* CLOSED was handed out: free it */
	/* kbdus refused a STOP (it never should): what is still posted is
	 * left to the ring's teardown, so that the device can close. */
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
#define AIO_ADDRESS_MASK (~BDUS_AIO_USER_DATA_MASK & ~(uint64_t)7)

struct bdus_aio {
	pthread_t owner;
	struct io_uring *ring; /* &own_ring, or the driver's */
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

	bool failed; /* process() fails from then on */
	bool ring_broken; /* the ring itself failed: nothing more is sent */
	struct bdus_saved_error error;

	/* Completions from other threads between their push and their
	 * eventfd write: destroy waits for them before freeing. */
	atomic_uint completing;
};

/* context.c */

/* Whether the calling thread owns the context; fails with EPERM if not. */
bool aio_check_owner(const struct bdus_aio *aio, const char *function);
/* Queues an event; false (context failed) if out of memory. */
bool aio_queue_event(struct bdus_aio *aio, uint32_t type,
		     struct bdus_aio_dev *dev, struct bdus_aio_request *request);
/* Submits what was queued (errors show in the next process()). */
void aio_submit(struct bdus_aio *aio);
/* Queues a slot's FETCH or COMMIT_AND_FETCH (with req->result), or a STOP
 * of one of dev's queues.  false if the ring is broken (context failed). */
bool aio_queue_fetch(struct bdus_aio_dev *dev, struct aio_request *req);
bool aio_queue_commit(struct bdus_aio_dev *dev, struct aio_request *req);
bool aio_queue_stop(struct bdus_aio_dev *dev, uint16_t queue);

/* device.c */

/* Handles the completion of one of dev's slot commands. */
void aio_dev_on_slot(struct bdus_aio_dev *dev, struct aio_request *req,
		     int32_t res);
/* Stops serving dev (STOPs of every queue); nothing more is delivered. */
void aio_dev_begin_close(struct bdus_aio_dev *dev);
/* Fails dev: FAILED (unless it already ended), then closing. */
void aio_dev_fail(struct bdus_aio_dev *dev, int errnum, const char *fmt, ...)
	BDUS_PRINTF(3, 4);
/* Closes dev's session once nothing of it is in the kernel or handed out,
 * and queues CLOSED. */
void aio_dev_finish_close(struct bdus_aio_dev *dev);
/* Frees a device whose CLOSED was taken (or any device, at destroy). */
void aio_dev_free(struct bdus_aio_dev *dev);

#endif /* LIBBDUS_AIO_H_ */
