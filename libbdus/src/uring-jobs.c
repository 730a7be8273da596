// SPDX-License-Identifier: MIT
/*
 * uring-jobs.c - failures, and requests that ring threads hand to other
 * threads: the thread that called bdus_run() until the device is available,
 * the pool afterwards when there are more callbacks than queues.
 *
 * A handed-off request counts in its ring's "held" until it comes back
 * through the ring's done list, answered or (after a failure) not; only the
 * ring's thread may commit it, as kbdus takes a queue's commands from one
 * thread.  Whoever makes a done list non-empty wakes the ring through its
 * eventfd, and the ring then takes the whole list, so no answer waits for
 * a wake-up that already happened.
 */

#include "uring.h"

#include <errno.h>
#include <stdarg.h>

/* ------------------------------------------------------------------------- */
/* Failures */

void uring_notify_all(struct uring_server *server)
{
	pthread_cond_broadcast(&server->work);
	pthread_cond_broadcast(&server->changed);
}

bool uring_fail(struct uring_server *server)
{
	pthread_mutex_lock(&server->lock);
	if (!server->failed) {
		server->failed = true;
		bdus_save_error(&server->error);
	}
	atomic_store(&server->stopping, true);
	uring_notify_all(server);
	pthread_mutex_unlock(&server->lock);
	return false;
}

bool uring_report(struct uring_server *server, int errnum, const char *fmt,
		  ...)
{
	va_list args;

	va_start(args, fmt);
	bdus_fail_v(errnum, false, fmt, args);
	va_end(args);
	return uring_fail(server);
}

bool uring_report_abort(struct uring_server *server,
			const struct uring_slot *slot)
{
	return uring_report(server, EIO, BDUS_ABORT_MESSAGE,
			    bdus_request_type_name(slot->message.type));
}

/* ------------------------------------------------------------------------- */
/* Handing off and back */

bool uring_hand_off(struct uring_ring *r, struct uring_slot *slot)
{
	struct uring_server *server = r->server;
	bool queued = false;

	slot->next = NULL;
	pthread_mutex_lock(&server->lock);
	/* Checked under the lock: uring_drop_queued() empties the queue for
	 * good once stopping is set. */
	if (!atomic_load(&server->stopping)) {
		*server->jobs_tail = slot;
		server->jobs_tail = &slot->next;
		pthread_cond_signal(&server->work);
		queued = true;
	}
	pthread_mutex_unlock(&server->lock);
	if (queued)
		r->held++;
	return queued;
}

static void give_back(struct uring_slot *slot, int32_t result)
{
	struct uring_ring *r = slot->ring;
	bool was_empty;

	slot->result = result;
	pthread_mutex_lock(&r->lock);
	was_empty = r->done == NULL;
	slot->next = r->done;
	r->done = slot;
	pthread_mutex_unlock(&r->lock);
	if (was_empty)
		uring_ring_wake(r);
}

struct uring_slot *uring_take_answered(struct uring_ring *r)
{
	struct uring_slot *list;

	pthread_mutex_lock(&r->lock);
	list = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->lock);
	return list;
}

void uring_drop_queued(struct uring_server *server)
{
	struct uring_slot *slot, *next;

	pthread_mutex_lock(&server->lock);
	slot = server->jobs;
	server->jobs = NULL;
	server->jobs_tail = &server->jobs;
	pthread_mutex_unlock(&server->lock);

	for (; slot; slot = next) {
		next = slot->next;
		give_back(slot, URING_DROPPED);
	}
}

struct uring_slot *uring_take_queued(struct uring_ring *r)
{
	struct uring_server *server = r->server;
	struct uring_slot *mine = NULL, **tail = &mine, **link, *slot;

	pthread_mutex_lock(&server->lock);
	server->jobs_tail = &server->jobs;
	for (link = &server->jobs; (slot = *link);) {
		if (slot->ring == r) {
			*link = slot->next;
			*tail = slot;
			tail = &slot->next;
		} else {
			server->jobs_tail = &slot->next;
			link = &slot->next;
		}
	}
	*tail = NULL;
	pthread_mutex_unlock(&server->lock);
	return mine;
}

/* ------------------------------------------------------------------------- */
/* Running them */

/* Runs a handed-off request and gives it back to its ring. */
static void run_job(struct uring_server *server, struct uring_slot *slot,
		    unsigned worker)
{
	int ret = bdus_dispatch(server->ctx, &slot->message, worker);

	if (ret == bdus_abort) {
		uring_report_abort(server, slot);
		give_back(slot, URING_DROPPED); /* left uncompleted */
		return;
	}
	give_back(slot, ret);
}

/* With the lock held: the next job, or NULL when it is time to stop. */
static struct uring_slot *next_job(struct uring_server *server,
				   bool until_available)
{
	struct uring_slot *slot;

	for (;;) {
		if (atomic_load(&server->stopping) ||
		    (until_available && server->available))
			return NULL;
		slot = server->jobs;
		if (slot) {
			server->jobs = slot->next;
			if (!server->jobs)
				server->jobs_tail = &server->jobs;
			return slot;
		}
		if (server->rings_running == 0)
			return NULL;
		pthread_cond_wait(&server->work, &server->lock);
	}
}

void uring_run_jobs(struct uring_server *server, unsigned worker,
		    bool until_available)
{
	struct uring_slot *slot;

	pthread_mutex_lock(&server->lock);
	while ((slot = next_job(server, until_available))) {
		pthread_mutex_unlock(&server->lock);
		run_job(server, slot, worker);
		pthread_mutex_lock(&server->lock);
	}
	pthread_mutex_unlock(&server->lock);
}
