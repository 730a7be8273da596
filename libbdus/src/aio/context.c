// SPDX-License-Identifier: MIT
/*
 * context.c - a context of the asynchronous API: its ring, one
 * bdus_aio_process() step, and the events it collects.
 *
 * The ring is made in the owner thread with SINGLE_ISSUER | DEFER_TASKRUN:
 * kbdus copies requests out in task work, which then runs only inside
 * bdus_aio_process() and never interrupts the driver's own system calls.
 * An eventfd registered with the ring becomes readable when the kernel has
 * something for us (on 6.1 and later this includes deferred task work), and
 * other threads write it when they complete a request: that is the one
 * descriptor the driver polls.  process() reads it first, then looks at
 * everything, so a wake-up that comes later is never lost.
 *
 * The CQ has room for every command a context can have in flight (each
 * device reserves one entry per slot, two with a shared pool (a COMMIT and
 * the next FETCH), and one per queue for its STOPs), so nothing ever waits
 * in the kernel's overflow list.
 */

#include "aio/aio.h"

#include <errno.h>
#include <sched.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define AIO_SQ_ENTRIES 1024u
#define AIO_CQ_ENTRIES 32768u

bool aio_check_owner(const struct bdus_aio *aio, const char *function)
{
	if (!pthread_equal(pthread_self(), aio->owner))
		return bdus_fail(EPERM,
				 "%s() must be called by the thread that created "
				 "the context",
				 function);
	return true;
}

/* ------------------------------------------------------------------------- */
/* The ring */

static int aio_init_ring(struct io_uring *ring)
{
	static const unsigned modes[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		/* Before 6.1: task work interrupts the owner anywhere. */
		0,
	};
	struct io_uring_params params;
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++) {
		memset(&params, 0, sizeof(params));
		params.flags = modes[i] | IORING_SETUP_CQSIZE |
			       IORING_SETUP_CLAMP;
		params.cq_entries = AIO_CQ_ENTRIES;
		ret = io_uring_queue_init_params(AIO_SQ_ENTRIES, ring, &params);
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

/* The context fails (process() says so); if the ring itself broke, it
 * also sends nothing more, even to close devices. */
static bool aio_fail(struct bdus_aio *aio, bool ring_broken)
{
	if (!aio->failed) {
		aio->failed = true;
		bdus_save_error(&aio->error);
	}
	aio->ring_broken |= ring_broken;
	return false;
}

static bool aio_fail_ring(struct bdus_aio *aio, int errnum, const char *what)
{
	bdus_fail(errnum, "%s failed: %s", what, strerror(errnum));
	return aio_fail(aio, true);
}

void aio_submit(struct bdus_aio *aio)
{
	if (aio->ring && !aio->ring_broken)
		io_uring_submit(aio->ring);
}

struct io_uring_sqe *aio_get_sqe(struct bdus_aio *aio)
{
	struct io_uring_sqe *sqe;
	int ret;

	if (aio->ring_broken)
		return NULL;
	sqe = io_uring_get_sqe(aio->ring);
	if (!sqe) {
		/* Full: make room.  Since Linux 5.13 a submission takes SQEs
		 * even while completions wait in the overflow list, and
		 * stops early only after taking at least one; it takes none
		 * only when it cannot allocate (-EAGAIN).  -EBUSY and -EINTR
		 * can come from flushing that list, after the SQEs went. */
		ret = io_uring_submit(aio->ring);
		if (ret < 0 && ret != -EAGAIN && ret != -EBUSY && ret != -EINTR)
			aio_fail_ring(aio, -ret, "io_uring submission");
		sqe = io_uring_get_sqe(aio->ring);
	}
	if (!sqe && !aio->ring_broken) {
		/* A command that cannot be queued would leave its slot (or
		 * a STOP) unaccounted for: fail rather than hang. */
		bdus_fail(ENOMEM, "the kernel took no io_uring submission "
				  "(out of memory)");
		aio_fail(aio, true);
	}
	return sqe;
}

/* ------------------------------------------------------------------------- */
/* Creating and destroying */

/* A context without a ring: the driver polls an epoll descriptor that
 * watches the eventfd, and every ioctl or mmap device's session once it
 * is served (transport/aio-poll.c). */
static bool aio_init_epoll(struct bdus_aio *aio)
{
	struct epoll_event event = { .events = EPOLLIN, .data.ptr = NULL };

	aio->epoll = epoll_create1(EPOLL_CLOEXEC);
	if (aio->epoll < 0)
		return bdus_fail_errno(errno, "cannot create an epoll instance");
	if (epoll_ctl(aio->epoll, EPOLL_CTL_ADD, aio->eventfd, &event) < 0) {
		bdus_fail_errno(errno, "cannot watch an eventfd with epoll");
		bdus_close_quietly(aio->epoll);
		aio->epoll = -1;
		return false;
	}
	/* Room is only counted for a ring's CQ. */
	aio->cq_capacity = UINT32_MAX;
	return true;
}

BDUS_API struct bdus_aio *
bdus_aio_create_sized(const struct bdus_aio_attrs *attrs, size_t attrs_size)
{
	struct bdus_aio_attrs copy;
	struct bdus_aio *aio;
	int ret;

	memset(&copy, 0, sizeof(copy));
	if (attrs) {
		const unsigned char *extra = (const unsigned char *)attrs;

		/* A newer caller's fields we do not know must be zero. */
		for (size_t i = sizeof(copy); i < attrs_size; i++)
			if (extra[i]) {
				bdus_fail(EINVAL,
					  "bdus_aio_attrs has a field this "
					  "libbdus does not know");
				return NULL;
			}
		memcpy(&copy, attrs,
		       attrs_size < sizeof(copy) ? attrs_size : sizeof(copy));
	}
	if (copy.ring && (copy.ring->flags & IORING_SETUP_SQPOLL)) {
		bdus_fail(EINVAL, "bdus_aio_attrs.ring must not be an SQPOLL "
				  "ring: kbdus refuses commands from io_uring's "
				  "threads");
		return NULL;
	}
	if (copy.flags & ~BDUS_AIO_NO_RING) {
		bdus_fail(EINVAL, "bdus_aio_attrs.flags has unknown flags 0x%x",
			  copy.flags & ~BDUS_AIO_NO_RING);
		return NULL;
	}
	if ((copy.flags & BDUS_AIO_NO_RING) &&
	    (copy.ring || copy.shared_buffers)) {
		bdus_fail(EINVAL, "BDUS_AIO_NO_RING cannot go with %s: it "
				  "needs io_uring",
			  copy.ring ? "bdus_aio_attrs.ring" :
				      "shared_buffers");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(copy.reserved) / sizeof(*copy.reserved);
	     i++)
		if (copy.reserved[i]) {
			bdus_fail(EINVAL,
				  "bdus_aio_attrs.reserved must be zero");
			return NULL;
		}

	aio = calloc(1, sizeof(*aio));
	if (!aio) {
		bdus_fail(ENOMEM, "cannot allocate a context");
		return NULL;
	}
	if (!aio_pool_init(aio, copy.shared_buffers,
			   copy.shared_buffer_size)) {
		free(aio);
		return NULL;
	}
	aio->owner = pthread_self();
	aio->epoll = -1;
	atomic_init(&aio->completed, NULL);
	atomic_init(&aio->completing, 0);
	atomic_init(&aio->close_asked, false);
	aio->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (aio->eventfd < 0) {
		bdus_fail_errno(errno, "cannot create an eventfd");
		goto err_free;
	}
	if (copy.ring) {
		aio->ring = copy.ring;
		aio->cq_capacity = aio->ring->cq.ring_entries;
		aio->cq_reserved = 1; /* the eventfd read */
		return aio;
	}
	if (copy.flags & BDUS_AIO_NO_RING) {
		if (!aio_init_epoll(aio))
			goto err_close;
		return aio;
	}
	aio->ring = &aio->own_ring_storage;
	aio->own_ring = true;
	ret = aio_init_ring(aio->ring);
	if ((ret == -EPERM || ret == -ENOSYS) && !copy.shared_buffers) {
		/* io_uring is refused here: ioctl and mmap still work. */
		aio->ring = NULL;
		aio->own_ring = false;
		if (!aio_init_epoll(aio))
			goto err_close;
		return aio;
	}
	if (ret < 0) {
		if (ret == -EPERM)
			bdus_fail(EPERM, "cannot create an io_uring ring: "
					 "io_uring is disabled (see sysctl "
					 "kernel.io_uring_disabled)");
		else
			bdus_fail_errno(-ret, "cannot create an io_uring ring");
		goto err_close;
	}
	aio->cq_capacity = aio->ring->cq.ring_entries;
	ret = io_uring_register_eventfd(aio->ring, aio->eventfd);
	if (ret < 0) {
		bdus_fail_errno(-ret, "cannot register an eventfd with io_uring");
		goto err_exit;
	}
	return aio;

err_exit:
	io_uring_queue_exit(aio->ring);
err_close:
	bdus_close_quietly(aio->eventfd);
err_free:
	aio_pool_free(aio);
	free(aio);
	return NULL;
}

BDUS_API int bdus_aio_get_fd(const struct bdus_aio *aio)
{
	if (!aio->ring)
		return aio->epoll;
	return aio->own_ring ? aio->eventfd : -1;
}

/* ------------------------------------------------------------------------- */
/* Events */

bool aio_queue_event(struct bdus_aio *aio, uint32_t type,
		     struct bdus_aio_dev *dev, struct bdus_aio_request *request)
{
	struct bdus_aio_event *e;

	if (aio->events_count == aio->events_capacity) {
		unsigned capacity = aio->events_capacity ?
					    2 * aio->events_capacity :
					    64;
		struct bdus_aio_event *events =
			malloc(capacity * sizeof(*events));

		if (!events) {
			bdus_fail(ENOMEM, "cannot queue an event");
			return aio_fail(aio, false);
		}
		/* Unwrap into the new array. */
		for (unsigned i = 0; i < aio->events_count; i++)
			events[i] = aio->events[(aio->events_head + i) %
						aio->events_capacity];
		free(aio->events);
		aio->events = events;
		aio->events_head = 0;
		aio->events_capacity = capacity;
	}
	e = &aio->events[(aio->events_head + aio->events_count) %
			 aio->events_capacity];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->dev = dev;
	e->dev_user_data = dev->user_data;
	e->request = request;
	if (type == BDUS_AIO_DEVICE_FAILED) {
		e->error = dev->error;
		e->error_message = dev->error_message;
	}
	aio->events_count++;
	return true;
}

/* Frees the devices whose CLOSED event was handed out. */
static void aio_free_closed(struct bdus_aio *aio)
{
	struct bdus_aio_dev **link = &aio->devices, *dev;

	while ((dev = *link)) {
		/* Not while commands of it are posted (see stop_refused). */
		if (dev->closed_taken && !dev->posted) {
			*link = dev->next;
			aio_dev_free(dev);
		} else {
			link = &dev->next;
		}
	}
}

BDUS_API unsigned bdus_aio_get_events_sized(struct bdus_aio *aio,
					    struct bdus_aio_event *events,
					    unsigned max, size_t event_size)
{
	size_t known = event_size < sizeof(struct bdus_aio_event) ?
			       event_size :
			       sizeof(struct bdus_aio_event);
	unsigned taken = 0;

	if (!aio_check_owner(aio, "bdus_aio_get_events"))
		return 0;
	aio_free_closed(aio);
	while (taken < max && aio->events_count > 0) {
		struct bdus_aio_event *e = &aio->events[aio->events_head];
		/* The caller's struct may be newer and larger: fields we do
		 * not know are zero. */
		char *out = (char *)events + (size_t)taken * event_size;

		if (e->type == BDUS_AIO_DEVICE_CLOSED)
			e->dev->closed_taken = true;
		memcpy(out, e, known);
		memset(out + known, 0, event_size - known);
		aio->events_head = (aio->events_head + 1) %
				   aio->events_capacity;
		aio->events_count--;
		taken++;
	}
	return taken;
}

/* ------------------------------------------------------------------------- */
/* One step */

/* Reverses a completion list, so that requests commit in completion order. */
static struct aio_request *aio_reverse(struct aio_request *list)
{
	struct aio_request *reversed = NULL, *next;

	for (; list; list = next) {
		next = list->next_completed;
		list->next_completed = reversed;
		reversed = list;
	}
	return reversed;
}

static void aio_commit_list(struct bdus_aio *aio, struct aio_request *list)
{
	struct aio_request *req, *next;

	for (req = aio_reverse(list); req; req = next) {
		struct bdus_aio_dev *dev = req->public.dev;

		next = req->next_completed;
		dev->held--;
		if (req->result == AIO_RELEASED) {
			/* Left uncompleted for kbdus: the device closes. */
			atomic_store_explicit(&req->state, AIO_REQ_IDLE,
					      memory_order_relaxed);
			aio_pool_release(aio, req);
			aio_dev_begin_close(dev);
		} else if (!dev->transport->commit(dev, req)) {
			atomic_store_explicit(&req->state, AIO_REQ_IDLE,
					      memory_order_relaxed);
		}
	}
}

/* Commits every completion made since the last step. */
static void aio_commit_completed(struct bdus_aio *aio)
{
	struct aio_request *list = aio->owner_completed;

	aio->owner_completed = NULL;
	aio_commit_list(aio, list);
	list = atomic_exchange_explicit(&aio->completed, NULL,
					memory_order_acquire);
	aio_commit_list(aio, list);
}

static void aio_on_cqe(struct bdus_aio *aio, const struct io_uring_cqe *cqe)
{
	void *address = (void *)(uintptr_t)(cqe->user_data & AIO_ADDRESS_MASK);

	if (cqe->user_data == (BDUS_AIO_USER_DATA_TAG | AIO_EVENT_DATA)) {
		aio->event_armed = false; /* re-armed by the next process() */
		return;
	}
	switch (cqe->user_data & AIO_KIND_MASK) {
	case AIO_POLL_DATA:
		aio_poll_on_cqe(address, cqe);
		return;
	case AIO_CANCEL_DATA:
		aio_poll_on_cancel(address);
		return;
	}
	if ((cqe->user_data & AIO_KIND_MASK) == AIO_STOP_BIT) {
		struct bdus_aio_dev *dev = address;

		dev->stops--;
		if (cqe->res < 0) {
			dev->stop_refused = true;
			aio_dev_fail(dev, -cqe->res,
				     "%s: kbdus refused to stop a queue: %s",
				     dev->path, strerror(-cqe->res));
		}
		return;
	}
	struct aio_request *req = address;

	if (req->public.dev->closed) {
		/* A COMMIT's pool buffer is the context's: it goes back. */
		if ((cqe->user_data & AIO_KIND_MASK) == AIO_COMMIT_DATA &&
		    req->commit_buffer) {
			aio_pool_put(aio, req->commit_buffer);
			req->commit_buffer = NULL;
		}
		aio_dev_on_late_cqe(req->public.dev);
		return;
	}
	req->public.dev->posted--;
	switch (cqe->user_data & AIO_KIND_MASK) {
	case AIO_COMMIT_DATA:
		aio_pool_on_commit(req->public.dev, req, cqe->res);
		break;
	case AIO_GET_DATA:
		aio_pool_on_get_data(req->public.dev, req, cqe->res);
		break;
	default:
		aio_dev_on_slot(req->public.dev, req, cqe->res);
		break;
	}
}

/* Handles the completions there are; false if there may be more. */
static bool aio_reap(struct bdus_aio *aio)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(aio->ring, head, cqe) {
		aio_on_cqe(aio, cqe);
		if (++seen == 256)
			break;
	}
	io_uring_cq_advance(aio->ring, seen);
	return seen < 256;
}

BDUS_API bool bdus_aio_handle_cqe(struct bdus_aio *aio,
				  const struct io_uring_cqe *cqe)
{
	if (!BDUS_AIO_IS_LIBBDUS_CQE(cqe->user_data))
		return false;
	aio_on_cqe(aio, cqe);
	return true;
}

/* On the driver's ring: keeps a read of the eventfd posted, so that a
 * completion from another thread gives the owner a CQE. */
static void aio_arm_event(struct bdus_aio *aio)
{
	struct io_uring_sqe *sqe;

	if (!aio->ring || aio->own_ring || aio->event_armed)
		return;
	sqe = aio_get_sqe(aio);
	if (!sqe)
		return;
	io_uring_prep_read(sqe, aio->eventfd, &aio->event_value,
			   sizeof(aio->event_value), 0);
	sqe->user_data = BDUS_AIO_USER_DATA_TAG | AIO_EVENT_DATA;
	aio->event_armed = true;
}

/* Without a ring: which sessions were woken (edge-triggered, so each
 * wake-up is seen once, as a multishot poll's CQE would be). */
static void aio_collect_epoll(struct bdus_aio *aio)
{
	struct epoll_event events[64];
	int n;

	do {
		n = epoll_wait(aio->epoll, events, 64, 0);
		for (int i = 0; i < n; i++) {
			struct bdus_aio_dev *dev = events[i].data.ptr;

			/* NULL: the eventfd, drained by process(). */
			if (dev && !dev->closing && !dev->ended)
				dev->readable = true;
		}
	} while (n == 64);
}

/* ioctl and mmap devices: receives what their polls said waits.  true
 * if some device may have more. */
static bool aio_receive_ready(struct bdus_aio *aio)
{
	bool more = false;

	for (struct bdus_aio_dev *dev = aio->devices; dev; dev = dev->next) {
		if (!dev->readable)
			continue;
		dev->transport->receive(dev);
		more |= dev->readable;
	}
	return more;
}

static void aio_finish_closing(struct bdus_aio *aio)
{
	for (struct bdus_aio_dev *dev = aio->devices; dev; dev = dev->next)
		if (dev->closing && !dev->closed)
			aio_dev_finish_close(dev);
}

/* Submits what was queued and runs the kernel's deferred work, which
 * posts its completions.  Waits for one if wait.  false: the ring broke. */
static bool aio_enter(struct bdus_aio *aio, bool wait)
{
	int ret = wait ? io_uring_submit_and_wait(aio->ring, 1) :
			 io_uring_submit_and_get_events(aio->ring);

	/* Short of room for completions, or a signal: the next step retries. */
	if (ret >= 0 || ret == -EINTR || ret == -EAGAIN || ret == -EBUSY ||
	    ret == -ETIME)
		return true;
	return aio_fail_ring(aio, -ret, "io_uring_enter");
}

static void aio_drain_eventfd(struct bdus_aio *aio)
{
	uint64_t value;

	/* Non-blocking: EAGAIN when nothing was signalled. */
	(void)!read(aio->eventfd, &value, sizeof(value));
}

BDUS_API int bdus_aio_process(struct bdus_aio *aio)
{
	bool all_reaped, more;

	if (!aio_check_owner(aio, "bdus_aio_process"))
		return -1;
	if (aio->failed)
		return bdus_restore_error(&aio->error), -1;

	if (!aio->ring) {
		aio_drain_eventfd(aio);
		aio_commit_completed(aio);
		aio_shared_handle_asks(aio);
		aio_collect_epoll(aio);
		more = aio_receive_ready(aio);
		aio_finish_closing(aio);
		if (aio->failed)
			return bdus_restore_error(&aio->error), -1;
		return more || aio->owner_completed ||
		       atomic_load_explicit(&aio->completed,
					    memory_order_relaxed);
	}
	if (!aio->own_ring) {
		/* The driver submits and reaps its ring, and hands our CQEs
		 * to bdus_aio_handle_cqe(). */
		aio_commit_completed(aio);
		aio_shared_handle_asks(aio);
		more = aio_receive_ready(aio);
		aio_arm_event(aio);
		aio_finish_closing(aio);
		if (aio->failed)
			return bdus_restore_error(&aio->error), -1;
		return more;
	}

	aio_drain_eventfd(aio);
	aio_commit_completed(aio);
	aio_shared_handle_asks(aio);
	if (!aio->ring_broken)
		aio_enter(aio, false);
	all_reaped = aio_reap(aio);
	more = aio_receive_ready(aio);
	aio_finish_closing(aio);
	if (aio->failed)
		return bdus_restore_error(&aio->error), -1;

	return !all_reaped || more || io_uring_sq_ready(aio->ring) > 0 ||
	       aio->owner_completed ||
	       atomic_load_explicit(&aio->completed, memory_order_relaxed);
}

/* ------------------------------------------------------------------------- */
/* Destroying */

static bool aio_busy(const struct bdus_aio *aio)
{
	if (aio->event_armed)
		return true;
	for (const struct bdus_aio_dev *dev = aio->devices; dev; dev = dev->next)
		if (!dev->closed)
			return true;
	return false;
}

/* Waits for one CQE and handles every CQE there is; on the driver's ring,
 * those that are not ours are consumed unseen (see bdus_aio_destroy()). */
static void aio_wait_and_reap(struct bdus_aio *aio)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	if (!aio_enter(aio, true))
		return;
	io_uring_for_each_cqe(aio->ring, head, cqe) {
		if (BDUS_AIO_IS_LIBBDUS_CQE(cqe->user_data))
			aio_on_cqe(aio, cqe);
		seen++;
	}
	io_uring_cq_advance(aio->ring, seen);
}

BDUS_API void bdus_aio_destroy(struct bdus_aio *aio)
{
	struct bdus_saved_error error;
	struct bdus_aio_dev *dev, *next;
	bool leave_pool = false;

	if (!aio || !aio_check_owner(aio, "bdus_aio_destroy"))
		return;
	bdus_save_error(&error);

	/* What was completed counts; what is still handed out is released,
	 * and every device closes. */
	aio_commit_completed(aio);
	for (dev = aio->devices; dev; dev = dev->next) {
		for (uint32_t i = 0; i < dev->num_requests; i++) {
			struct aio_request *req = &dev->requests[i];

			if (atomic_load(&req->state) == AIO_REQ_HELD) {
				atomic_store(&req->state, AIO_REQ_IDLE);
				dev->held--;
			}
		}
		aio_dev_begin_close(dev);
	}
	aio_finish_closing(aio);
	/* The eventfd read posted on the driver's ring must come back before
	 * the memory it reads into is freed. */
	if (aio->event_armed) {
		uint64_t one = 1;

		(void)!write(aio->eventfd, &one, sizeof(one));
	}
	/* Without a ring nothing is posted: every device closed above. */
	while (aio->ring && !aio->ring_broken && aio_busy(aio)) {
		aio_wait_and_reap(aio);
		aio_finish_closing(aio);
	}

	/* Our ring first: whatever is still posted (only after a failure)
	 * is cancelled before the sessions close. */
	if (aio->own_ring)
		io_uring_queue_exit(aio->ring);
	/* A completer on another thread may still be about to write the
	 * eventfd (see request.c). */
	while (atomic_load(&aio->completing) > 0)
		sched_yield();
	for (dev = aio->devices; dev; dev = next) {
		next = dev->next;
		/* A STOP kbdus refused (it never should): on the driver's
		 * ring, its commands may still name the session's and the
		 * pool's memory, so both are left behind rather than freed. */
		if (!aio->own_ring && dev->posted) {
			leave_pool = true;
			continue;
		}
		aio_dev_free(dev);
	}
	if (aio->epoll >= 0)
		bdus_close_quietly(aio->epoll);
	bdus_close_quietly(aio->eventfd);
	if (!leave_pool)
		aio_pool_free(aio);
	free(aio->events);
	free(aio);
	bdus_restore_error(&error);
}
