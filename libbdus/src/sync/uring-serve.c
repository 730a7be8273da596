// SPDX-License-Identifier: MIT
/*
 * uring-serve.c - serving a uring session: which threads own the rings,
 * where the callbacks run, and how serving starts and stops.
 *
 * kbdus wants all commands of a queue from one thread, for the whole
 * session, and delivers the queue's requests in that thread.  With C =
 * attrs->max_concurrent_callbacks and Q queues:
 *   - C = 1: the thread that called bdus_run() owns one ring for all queues
 *     and runs every callback itself, as BDUS 0.1 promises.
 *   - C > 1: R = min(C, Q) ring threads, queue q on ring q % R.  Until the
 *     device is available they hand every request to the thread that called
 *     bdus_run(), which runs them one at a time.  Then:
 *       - C <= Q: each ring thread runs its own callbacks (no hand-off, the
 *         fastest for callbacks that do not block; a queue's requests are
 *         served one at a time);
 *       - C > Q: as long as callbacks do not block, the same: a
 *         hand-off costs more than such a callback (one queue at QD32 ran
 *         at 0.6x with C = 4 than with C = 1 when every batch was handed
 *         off).  Once a callback blocks (see URING_SLOW_CALLBACK_NS in
 *         uring.h), ring threads hand requests to a pool of up to C
 *         threads, which grows while requests wait and shrinks when idle,
 *         so that blocking callbacks overlap even within a queue.  Ring
 *         threads then never block in a callback: the replies of other
 *         requests and the next requests would wait for them (a 5 ms
 *         callback at QD32 with C = 16 ran at 7x, not 16x, the rate of
 *         C = 1, when each ring ran the last request of every batch).  The
 *         hand-off's two wake-ups are small next to a callback that
 *         sleeps.
 *   Either way at most C callbacks run at once (the callback slots in
 *   uring.h).
 * Threads are not pinned to CPUs: measured, pinning a queue's thread to the
 * CPUs that submit to it was slower (2 vCPUs, 2 queues).
 *
 * Only a ring's thread sends its COMMITs (see uring-jobs.c for requests
 * run elsewhere).  A ring is done when kbdus sent TERMINATE and nothing is
 * posted or held.  On a failure (bdus_abort, a broken session) every thread
 * stops after its current callback, answers already given are committed (as
 * the other protocols send their pending replies), rings are woken through
 * their eventfd, and a STOP of every queue gets back what is still posted
 * before the rings close: uncompleted requests follow the usual rules (a
 * recoverable device keeps them).  Leaving commands posted for the ring's
 * teardown to cancel would keep the session alive until this thread exits
 * before Linux 6.7 (the device outlives a failed bdus_run()), and on 6.12
 * makes lockdep kernels warn, falsely, in io_uring's exit work.
 */

#include "uring.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ------------------------------------------------------------------------- */
/* Callbacks */

static bool run_inline(struct uring_ring *r, struct uring_slot *slot)
{
	struct uring_server *server = r->server;
	int ret = uring_dispatch(server, slot, r->index);

	if (ret == bdus_abort)
		return uring_report_abort(server, slot);
	slot->result = ret;
	return uring_ring_commit(r, slot) || uring_fail(server);
}

/* While the pool runs: runs the request here if one of the C callback
 * slots is free, else hands it to the pool. */
static bool run_here_or_hand_off(struct uring_ring *r, struct uring_slot *slot)
{
	bool ok;

	if (!uring_take_callback_slot(r->server)) {
		uring_hand_off(r, slot);
		return true;
	}
	ok = run_inline(r, slot);
	uring_put_callback_slot(r->server);
	return ok;
}

/* Once ring threads run callbacks themselves, the requests they handed off
 * and nobody ran yet come back to them. */
static bool run_reclaimed(struct uring_ring *r)
{
	struct uring_slot *list, *slot;

	if (r->held == 0 || !atomic_load(&r->server->run_inline))
		return true;
	list = uring_take_queued(r);
	for (slot = list; slot; slot = slot->next)
		r->held--;
	for (slot = list; slot; slot = list) {
		list = slot->next;
		if (!run_inline(r, slot))
			return false;
	}
	return true;
}

/* Commits what other threads answered. */
static bool commit_answered(struct uring_ring *r)
{
	struct uring_slot *list = uring_take_answered(r), *slot;

	for (slot = list; slot; slot = slot->next)
		r->held--;
	for (slot = list; slot; slot = list) {
		list = slot->next;
		if (slot->result != URING_DROPPED &&
		    !uring_ring_commit(r, slot))
			return uring_fail(r->server);
	}
	return true;
}

/* ------------------------------------------------------------------------- */
/* Completions */

/* The request on the slot has its data where its callback wants it: run
 * the callback here or elsewhere. */
static bool on_request_ready(struct uring_ring *r, struct uring_slot *slot)
{
	struct uring_server *server = r->server;

	if (atomic_load(&server->run_inline))
		return run_inline(r, slot);
	/* Not queued once stopping: the request stays uncompleted. */
	if (atomic_load(&server->pool_running)) {
		/* Callbacks that do not block run here: a hand-off would
		 * cost more than they do. */
		if (!uring_callbacks_block(server))
			return run_here_or_hand_off(r, slot);
		/* Blocking ones go to the pool: one blocking here would
		 * hold up the replies of the others and the next requests. */
		uring_hand_off(r, slot);
		return true;
	}
	uring_hand_off(r, slot);
	return true;
}

/* With data_deferred: whether the request's callback needs the data that
 * the kernel still holds (write_ref's writes get theirs later). */
static bool needs_data_first(const struct bdus_message *message)
{
	switch (message->type) {
	case KBDUS_REQ_WRITE_SAME:
	case KBDUS_REQ_FUA_WRITE:
	case KBDUS_REQ_ZONE_APPEND:
		return true;
	case KBDUS_REQ_IOCTL:
		return _IOC_DIR(message->ioctl_command) != _IOC_NONE;
	default:
		return false;
	}
}

static bool on_request(struct uring_ring *r, struct uring_slot *slot)
{
	struct uring_server *server = r->server;
	const struct kbdus_request *request =
		&server->session->descriptors[slot - server->slots];
	struct bdus_message *message = &slot->message;

	message->handle = request->handle;
	message->offset = request->offset;
	message->size = request->size;
	message->ioctl_command = request->ioctl_command;
	message->type = request->type;
	message->payload = slot->buffer;
	message->can_reply_from = true;
	message->reply_data = NULL;
	message->data_deferred = server->data_deferred;
	message->write_dest = NULL;

	if (!bdus_is_data_type(message->type))
		return uring_report(server, EPROTO,
				    "kbdus delivered a request of unknown type "
				    "%" PRIu32,
				    message->type);
	if (server->data_deferred && needs_data_first(message))
		return uring_ring_get_data(r, slot, slot->buffer,
					   URING_TAG_FILL) ||
		       uring_fail(server);
	return on_request_ready(r, slot);
}

/* A GET_DATA into the slot's buffer completed: the data is there, or the
 * request timed out meanwhile (-ESTALE: kbdus ignores the reply that
 * re-posts the slot). */
static bool on_data(struct uring_ring *r, struct uring_slot *slot, int32_t res)
{
	r->posted--;
	if (res == 0)
		return on_request_ready(r, slot);
	if (res == -ESTALE) {
		slot->result = bdus_reply_error(slot->message.type, EIO);
		return uring_ring_commit(r, slot) || uring_fail(r->server);
	}
	/* The request is still held: it fails, and so does the driver. */
	slot->result = bdus_reply_error(slot->message.type, EIO);
	if (!uring_ring_commit(r, slot))
		return uring_fail(r->server);
	return uring_report(r->server, -res,
			    "kbdus could not copy a request's data (queue %u, "
			    "tag %u): %s",
			    (unsigned)slot->queue, (unsigned)slot->tag,
			    strerror(-res));
}

static bool on_available(struct uring_ring *r, struct uring_slot *slot)
{
	struct uring_server *server = r->server;
	bool twice;

	pthread_mutex_lock(&server->lock);
	twice = server->available;
	server->available = true;
	uring_notify_all(server);
	pthread_mutex_unlock(&server->lock);

	if (twice)
		return uring_report(server, EPROTO,
				    "kbdus announced the device twice");
	/* The notification took the slot's command: post it again. */
	return uring_ring_fetch(r, slot) || uring_fail(server);
}

static bool on_slot_completion(struct uring_ring *r, struct uring_slot *slot,
			       int32_t res)
{
	r->posted--;
	switch (res) {
	case KBDUS_URING_RES_REQUEST:
		return on_request(r, slot);
	case KBDUS_URING_RES_DEVICE_AVAILABLE:
		return on_available(r, slot);
	case KBDUS_URING_RES_TERMINATE:
		r->terminated = true; /* the slot stays unposted */
		return true;
	}
	if (res < 0)
		return uring_report(r->server, -res,
				    "kbdus failed the command of queue %u, tag "
				    "%u: %s",
				    (unsigned)slot->queue, (unsigned)slot->tag,
				    strerror(-res));
	return uring_report(r->server, EPROTO,
			    "kbdus completed a command with unknown result "
			    "%" PRId32,
			    res);
}

/* A PASSTHROUGH_AND_FETCH or LAND_AND_FETCH that completed at once with an
 * error: kbdus refused its first half and the driver still holds the
 * request.  Accepted ones complete as FETCHes do: with a request, a
 * notification or -ECANCELED. */
static bool fused_refused(int32_t res)
{
	return res < 0 && res != -ECANCELED;
}

/* kbdus did not land a write_ref write's data.  It timed out meanwhile
 * (-ESTALE): the reply below is ignored and only posts the slot.  Else
 * write_ref pointed to memory kbdus cannot write: the write fails with EIO
 * and, unless the ring is already stopping, so does the driver. */
static bool on_land_refused(struct uring_ring *r, struct uring_slot *slot,
			    int32_t res, bool stopping)
{
	r->posted--;
	slot->result = bdus_reply_error(slot->message.type, EIO);
	if (!uring_ring_commit(r, slot))
		return stopping || uring_fail(r->server);
	if (stopping || res == -ESTALE)
		return true;
	return uring_report(r->server, -res,
			    "kbdus could not copy a write's data to where "
			    "write_ref pointed: %s",
			    strerror(-res));
}

static bool on_passthrough_refused(struct uring_ring *r, struct uring_slot *slot,
				   int32_t res)
{
	r->posted--;
	/* Stale: the request timed out meanwhile, and the reply below is
	 * ignored. */
	if (res != -ESTALE)
		bdus_log_refused_passthrough(r->server->ctx,
					     slot->message.type, -res);
	slot->message.passthrough.num_extents = 0;
	slot->result = EIO;
	return uring_ring_commit(r, slot) || uring_fail(r->server);
}

static bool on_completion(struct uring_ring *r, const struct io_uring_cqe *cqe)
{
	if (cqe->user_data == URING_EVENT_DATA) {
		r->event_armed = false; /* a failed read just gets redone */
		return commit_answered(r);
	}
	if (cqe->user_data == URING_COMMIT_DATA) {
		if (cqe->res < 0) /* the request failed with EIO */
			return uring_report(r->server, -cqe->res,
					    "kbdus could not read the data that "
					    "read_ref pointed to: %s",
					    strerror(-cqe->res));
		return true;
	}
	uint64_t tag = cqe->user_data & URING_TAG_MASK;
	struct uring_slot *slot =
		(struct uring_slot *)(uintptr_t)(cqe->user_data & ~URING_TAG_MASK);

	if (tag == URING_TAG_PASS && fused_refused(cqe->res))
		return on_passthrough_refused(r, slot, cqe->res);
	if (tag == URING_TAG_LAND && fused_refused(cqe->res))
		return on_land_refused(r, slot, cqe->res, false);
	if (tag == URING_TAG_FILL)
		return on_data(r, slot, cqe->res);
	return on_slot_completion(r, slot, cqe->res);
}

/* Handles every completion there is.  Callbacks run in the middle: the
 * completion queue has room for every command, so nothing waits on it. */
static void reap(struct uring_ring *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(&r->ring, head, cqe) {
		seen++;
		if (!on_completion(r, cqe))
			break; /* stopping */
	}
	io_uring_cq_advance(&r->ring, seen);
}

/* Once stopping: takes every completion there is and only counts it.  The
 * eventfd read gets re-armed when needed, a slot command leaves posted
 * (a request it carries stays uncompleted), a STOP leaves *stops and sets
 * *failed if kbdus refused it.  false if waiting failed. */
static bool reap_stopping(struct uring_ring *r, unsigned *stops, bool *failed)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int err = uring_ring_submit_and_wait(r);

	if (err && err != -EINTR)
		return false;
	io_uring_for_each_cqe(&r->ring, head, cqe) {
		seen++;
		if (cqe->user_data == URING_EVENT_DATA) {
			r->event_armed = false;
		} else if (cqe->user_data == URING_STOP_DATA) {
			(*stops)--;
			*failed |= cqe->res < 0;
		} else if (cqe->user_data == URING_COMMIT_DATA) {
			/* not a slot command */
		} else if ((cqe->user_data & URING_TAG_MASK) ==
				   URING_TAG_LAND &&
			   fused_refused(cqe->res)) {
			on_land_refused(r, (struct uring_slot *)(uintptr_t)(
				cqe->user_data & ~URING_TAG_MASK),
				cqe->res, true); /* a broken ring leaves it */
		} else if ((cqe->user_data & URING_TAG_MASK) ==
				   URING_TAG_PASS &&
			   fused_refused(cqe->res)) {
			on_passthrough_refused(r, (struct uring_slot *)(
				uintptr_t)(cqe->user_data & ~URING_TAG_MASK),
				cqe->res); /* a broken ring leaves it */
		} else {
			r->posted--;
		}
	}
	io_uring_cq_advance(&r->ring, seen);
	return true;
}

/* Gets back every slot command still posted: STOPs the ring's queues and
 * reaps until kbdus completed them all.  Gives up (leaving the rest to the
 * ring's teardown) if a STOP fails or waiting does. */
static void reclaim_posted(struct uring_ring *r)
{
	struct uring_server *server = r->server;
	unsigned stops = 0;
	bool failed = false;

	if (r->posted == 0)
		return;
	for (uint32_t q = r->index; q < server->num_queues;
	     q += server->num_rings) {
		if (!uring_ring_stop_queue(r, (uint16_t)q))
			return;
		stops++;
	}
	while ((r->posted > 0 || stops > 0) && !failed)
		if (!reap_stopping(r, &stops, &failed))
			return;
}

/* After a failure: commits what callbacks already answered (the other
 * protocols send such replies too), waits for the callbacks still running
 * elsewhere, and gets the ring's commands back.  Every other request stays
 * uncompleted, and kbdus fails or keeps it when the session ends. */
static void stop_ring(struct uring_ring *r)
{
	unsigned no_stops = 0;
	bool failed = false;

	for (;;) {
		commit_answered(r);
		if (r->held == 0 || !uring_ring_arm_event(r))
			break;
		if (!reap_stopping(r, &no_stops, &failed))
			break;
	}
	reclaim_posted(r);
}

/* ------------------------------------------------------------------------- */
/* Rings */

static bool is_available(struct uring_server *server)
{
	bool available;

	pthread_mutex_lock(&server->lock);
	available = server->available;
	pthread_mutex_unlock(&server->lock);
	return available;
}

/* Serves the ring until it is done, until a failure, or (if
 * until_available) until the device is available.  Every failure sets
 * stopping, which the next round handles. */
static enum bdus_serve_outcome ring_loop(struct uring_ring *r,
					 bool until_available)
{
	struct uring_server *server = r->server;
	int err;

	for (;;) {
		if (atomic_load(&server->stopping)) {
			stop_ring(r);
			return BDUS_SERVE_FAILED;
		}
		if (!run_reclaimed(r))
			continue;
		if (r->terminated && r->posted == 0 && r->held == 0)
			return BDUS_SERVE_TERMINATED;
		if (until_available && is_available(server)) {
			uring_ring_submit(r);
			return BDUS_SERVE_AVAILABLE;
		}

		if (!uring_ring_arm_event(r)) {
			uring_fail(server);
			continue;
		}
		err = uring_ring_submit_and_wait(r);
		if (err && err != -EINTR)
			uring_report(server, -err,
				     "waiting for io_uring completions failed: %s",
				     strerror(-err));
		else
			reap(r);
	}
}

/* Queue q is on ring q % num_rings. */
static uint32_t ring_num_queues(const struct uring_server *server,
				const struct uring_ring *r)
{
	return (server->num_queues - r->index + server->num_rings - 1) /
	       server->num_rings;
}

/* Creates the ring in the calling thread and posts its slots. */
static bool start_ring(struct uring_ring *r)
{
	struct uring_server *server = r->server;
	uint32_t queues = ring_num_queues(server, r);

	if (!uring_ring_open(r, server->session->fd, queues * server->depth,
			     queues, server->ctx->ext))
		return false;
	for (uint32_t q = r->index; q < server->num_queues; q += server->num_rings)
		for (uint32_t t = 0; t < server->depth; t++)
			if (!uring_ring_fetch(r, &server->slots[q * server->depth + t]))
				return false;
	return true;
}

static void *ring_main(void *arg)
{
	struct uring_ring *r = arg;
	struct uring_server *server = r->server;

	bdus_enter_device(server->ctx->id,
			  server->ctx->attrs->max_concurrent_callbacks == 1);
	if (start_ring(r)) {
		ring_loop(r, false); /* a failure is recorded */
	} else {
		uring_fail(server);
		stop_ring(r);
	}
	uring_ring_close(r);

	pthread_mutex_lock(&server->lock);
	server->rings_running--;
	uring_notify_all(server);
	pthread_mutex_unlock(&server->lock);
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* Setting up and tearing down */

static void server_destroy(struct uring_server *server)
{
	for (unsigned i = 0; server->rings && i < server->num_rings; i++) {
		bdus_close_quietly(server->rings[i].eventfd);
		pthread_mutex_destroy(&server->rings[i].lock);
	}
	free(server->rings);
	free(server->slots);
	pthread_cond_destroy(&server->changed);
	pthread_cond_destroy(&server->work);
	pthread_mutex_destroy(&server->lock);
}

static bool init_rings(struct uring_server *server)
{
	for (unsigned i = 0; i < server->num_rings; i++) {
		struct uring_ring *r = &server->rings[i];

		r->server = server;
		r->index = i;
		pthread_mutex_init(&r->lock, NULL);
		r->eventfd = eventfd(0, EFD_CLOEXEC);
		if (r->eventfd < 0)
			return bdus_fail_errno(errno, "cannot create an eventfd");
	}
	return true;
}

static void init_slots(struct uring_server *server)
{
	struct bdus_session *session = server->session;

	for (uint32_t i = 0; i < server->num_queues * server->depth; i++) {
		struct uring_slot *slot = &server->slots[i];

		slot->queue = (uint16_t)(i / server->depth);
		slot->tag = (uint16_t)(i % server->depth);
		slot->ring = &server->rings[slot->queue % server->num_rings];
		slot->buffer = session->buffers + (size_t)i * session->buffer_size;
	}
}

static bool server_init(struct uring_server *server, struct bdus_ctx *ctx,
			struct bdus_session *session)
{
	uint32_t queues = session->config.num_queues;
	unsigned concurrency = ctx->attrs->max_concurrent_callbacks;

	memset(server, 0, sizeof(*server));
	server->ctx = ctx;
	server->session = session;
	server->num_queues = queues;
	server->depth = session->config.queue_depth;
	server->concurrency = concurrency ? concurrency : 1;
	server->num_rings = server->concurrency < queues ? server->concurrency :
							   queues;
	server->jobs_tail = &server->jobs;
	server->data_deferred = ctx->ext->write_ref != NULL;
	atomic_init(&server->stopping, false);
	atomic_init(&server->run_inline, server->concurrency == 1);
	atomic_init(&server->pool_running, false);
	atomic_init(&server->last_slow_ns, 0);
	atomic_init(&server->callbacks_running, 0);
	atomic_init(&server->slot_waiters, 0);
	pthread_mutex_init(&server->lock, NULL);
	pthread_cond_init(&server->work, NULL);
	pthread_cond_init(&server->changed, NULL);

	server->slots = calloc((size_t)queues * server->depth,
			       sizeof(*server->slots));
	server->rings = calloc(server->num_rings, sizeof(*server->rings));
	if (!server->slots || !server->rings) {
		server_destroy(server);
		return bdus_fail(ENOMEM, "cannot allocate the io_uring state");
	}
	for (unsigned i = 0; i < server->num_rings; i++)
		server->rings[i].eventfd = -1;
	if (!init_rings(server)) {
		server_destroy(server);
		return false;
	}
	init_slots(server);
	return true;
}

/* ------------------------------------------------------------------------- */
/* C = 1: everything on the calling thread */

static enum bdus_serve_outcome serve_here(struct uring_server *server,
					  bdus_announce_fn announce, void *arg)
{
	struct uring_ring *r = &server->rings[0];
	enum bdus_serve_outcome outcome = BDUS_SERVE_FAILED;

	/* ring_loop() stops the ring itself when it fails. */
	if (!start_ring(r)) {
		stop_ring(r);
	} else {
		outcome = ring_loop(r, true);
		if (outcome == BDUS_SERVE_AVAILABLE) {
			if (announce(server->ctx, arg)) {
				outcome = ring_loop(r, false);
			} else {
				stop_ring(r);
				outcome = BDUS_SERVE_FAILED;
			}
		}
	}
	uring_ring_close(r);
	if (outcome == BDUS_SERVE_FAILED && server->failed)
		bdus_restore_error(&server->error);
	return outcome;
}

/* ------------------------------------------------------------------------- */
/* C > 1: ring threads, and a pool if C > Q */

static void start_rings(struct uring_server *server)
{
	int err;

	for (unsigned i = 0; i < server->num_rings; i++) {
		struct uring_ring *r = &server->rings[i];

		pthread_mutex_lock(&server->lock);
		server->rings_running++;
		pthread_mutex_unlock(&server->lock);

		err = pthread_create(&r->thread, NULL, ring_main, r);
		if (err) {
			pthread_mutex_lock(&server->lock);
			server->rings_running--;
			pthread_mutex_unlock(&server->lock);
			uring_report(server, err,
				     "cannot create the thread of ring %u: %s", i,
				     strerror(err));
			return;
		}
		r->thread_started = true;
	}
}

/* Once the device is available: up to C callbacks at once. */
static void start_concurrency(struct uring_server *server)
{
	if (server->concurrency > server->num_queues) {
		/* The pool starts empty and grows when callbacks block, and
		 * now for the requests that bdus_run()'s thread left queued
		 * (a rerun's first requests): no hand-off will come for them. */
		pthread_mutex_lock(&server->lock);
		server->max_workers = server->concurrency;
		atomic_store(&server->pool_running, true);
		uring_grow_for_queued(server);
		pthread_mutex_unlock(&server->lock);
		return;
	}
	atomic_store(&server->run_inline, true);
	/* Requests handed off but not yet run go back to their rings. */
	for (unsigned i = 0; i < server->num_rings; i++)
		uring_ring_wake(&server->rings[i]);
}

/* Waits until every ring is done or something failed, then stops them. */
static void supervise(struct uring_server *server)
{
	pthread_mutex_lock(&server->lock);
	while (server->rings_running > 0 && !atomic_load(&server->stopping))
		pthread_cond_wait(&server->changed, &server->lock);
	pthread_mutex_unlock(&server->lock);

	/* Requests nobody will run go back to their rings, and an eventfd
	 * keeps a wake-up until it is read: one is enough. */
	if (atomic_load(&server->stopping)) {
		uring_drop_queued(server);
		for (unsigned i = 0; i < server->num_rings; i++)
			uring_ring_wake(&server->rings[i]);
	}

	for (unsigned i = 0; i < server->num_rings; i++)
		if (server->rings[i].thread_started)
			pthread_join(server->rings[i].thread, NULL);
	uring_wait_workers(server);
}

static enum bdus_serve_outcome serve_on_threads(struct uring_server *server,
						bdus_announce_fn announce,
						void *arg)
{
	start_rings(server);

	/* Until the device is available, callbacks run here. */
	uring_run_jobs(server, 0, true);
	if (!atomic_load(&server->stopping) && is_available(server)) {
		if (announce(server->ctx, arg))
			start_concurrency(server);
		else
			uring_fail(server);
	}

	supervise(server);
	if (server->failed) {
		bdus_restore_error(&server->error);
		return BDUS_SERVE_FAILED;
	}
	return BDUS_SERVE_TERMINATED;
}

enum bdus_serve_outcome bdus_uring_serve(struct bdus_ctx *ctx,
					 struct bdus_session *session,
					 bdus_announce_fn announce, void *arg)
{
	struct uring_server server;
	enum bdus_serve_outcome outcome;

	if (!server_init(&server, ctx, session))
		return BDUS_SERVE_FAILED;
	if (server.concurrency == 1)
		outcome = serve_here(&server, announce, arg);
	else
		outcome = serve_on_threads(&server, announce, arg);
	server_destroy(&server);
	return outcome;
}
