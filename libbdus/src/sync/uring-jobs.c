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
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

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
/* Measuring callbacks */

uint64_t uring_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int uring_dispatch(struct uring_server *server, struct uring_slot *slot,
		   unsigned worker)
{
	struct rusage before, after;
	uint64_t start, end;
	int ret;

	/* Without a pool (C <= Q) nothing reads the measure: skip its four
	 * calls on the request path. */
	if (server->concurrency <= server->num_queues)
		return bdus_dispatch(server->ctx, &slot->message, worker);

	/* Blocked, not merely preempted: it slept (a voluntary context
	 * switch), and long enough to matter. */
	getrusage(RUSAGE_THREAD, &before);
	start = uring_now_ns();
	ret = bdus_dispatch(server->ctx, &slot->message, worker);
	end = uring_now_ns();
	getrusage(RUSAGE_THREAD, &after);
	if (end - start > URING_SLOW_CALLBACK_NS &&
	    after.ru_nvcsw != before.ru_nvcsw)
		atomic_store_explicit(&server->last_slow_ns, end,
				      memory_order_relaxed);
	return ret;
}

bool uring_callbacks_block(struct uring_server *server)
{
	uint64_t last = atomic_load_explicit(&server->last_slow_ns,
					     memory_order_relaxed);

	return last != 0 && uring_now_ns() - last < URING_SLOW_MEMORY_NS;
}

bool uring_take_callback_slot(struct uring_server *server)
{
	unsigned running = atomic_load(&server->callbacks_running);

	do {
		if (running >= server->concurrency)
			return false;
	} while (!atomic_compare_exchange_weak(&server->callbacks_running,
					       &running, running + 1));
	return true;
}

void uring_put_callback_slot(struct uring_server *server)
{
	atomic_fetch_sub(&server->callbacks_running, 1);
	/* Pairs with next_job(): it counts itself a waiter before it looks
	 * at the slots again, so one of the two sees the other. */
	if (atomic_load(&server->slot_waiters) > 0) {
		pthread_mutex_lock(&server->lock);
		pthread_cond_broadcast(&server->work);
		pthread_mutex_unlock(&server->lock);
	}
}

/* ------------------------------------------------------------------------- */
/* The pool */

struct uring_worker {
	struct uring_server *server;
	unsigned index;
};

static void *worker_main(void *arg)
{
	struct uring_worker worker = *(struct uring_worker *)arg;

	free(arg);
	bdus_enter_device(worker.server->ctx->id, false);
	/* Leaves the pool (num_workers) as it returns: the server may be
	 * gone right after. */
	uring_run_jobs(worker.server, worker.index, false);
	return NULL;
}

/* With the lock held: starts a pool thread if a job waits with no idle
 * worker to take it and the pool is below its cap.  The thread counts from
 * now on, so concurrent calls never exceed the cap.  Returns an errno value
 * if no thread could start while none runs: the job would wait forever. */
static int maybe_grow(struct uring_server *server)
{
	struct uring_worker *worker;
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	if (!atomic_load(&server->pool_running) || server->idle_workers > 0 ||
	    server->num_workers >= server->max_workers)
		return 0;
	worker = malloc(sizeof(*worker));
	if (!worker) {
		err = ENOMEM;
		goto out_fail;
	}
	worker->server = server;
	worker->index = server->num_rings + server->next_worker_index++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&thread, &attr, worker_main, worker);
	pthread_attr_destroy(&attr);
	if (err) {
		free(worker);
		goto out_fail;
	}
	server->num_workers++;
	return 0;

out_fail:
	/* A running worker will take the job in time. */
	return server->num_workers > 0 ? 0 : err;
}

/* Without the lock: no pool thread runs and none could start. */
static void report_no_thread(struct uring_server *server, int err)
{
	uring_report(server, err, "cannot start a thread to run callbacks: %s",
		     strerror(err));
}

void uring_grow_for_queued(struct uring_server *server)
{
	int err = 0;

	/* A thread just started is not idle yet: each call can add one. */
	for (struct uring_slot *slot = server->jobs; slot && !err;
	     slot = slot->next)
		err = maybe_grow(server);
	if (err) {
		/* uring_fail() takes the lock. */
		pthread_mutex_unlock(&server->lock);
		report_no_thread(server, err);
		pthread_mutex_lock(&server->lock);
	}
}

void uring_wait_workers(struct uring_server *server)
{
	pthread_mutex_lock(&server->lock);
	uring_notify_all(server);
	while (server->num_workers > 0)
		pthread_cond_wait(&server->changed, &server->lock);
	pthread_mutex_unlock(&server->lock);
}

/* ------------------------------------------------------------------------- */
/* Handing off and back */

bool uring_hand_off(struct uring_ring *r, struct uring_slot *slot)
{
	struct uring_server *server = r->server;
	bool queued = false;
	int err = 0;

	slot->next = NULL;
	pthread_mutex_lock(&server->lock);
	/* Checked under the lock: uring_drop_queued() empties the queue for
	 * good once stopping is set. */
	if (!atomic_load(&server->stopping)) {
		*server->jobs_tail = slot;
		server->jobs_tail = &slot->next;
		pthread_cond_signal(&server->work);
		err = maybe_grow(server);
		queued = true;
	}
	pthread_mutex_unlock(&server->lock);
	if (queued)
		r->held++;
	/* Stopping gives the queued job back to its ring, unanswered. */
	if (err)
		report_no_thread(server, err);
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

/* Runs a handed-off request, with a callback slot taken for it, and gives
 * it back to its ring. */
static void run_job(struct uring_server *server, struct uring_slot *slot,
		    unsigned worker)
{
	int ret = uring_dispatch(server, slot, worker);

	uring_put_callback_slot(server);

	if (ret == bdus_abort) {
		uring_report_abort(server, slot);
		give_back(slot, URING_DROPPED); /* left uncompleted */
		return;
	}
	give_back(slot, ret);
}

/* With the lock held: the next job, with a callback slot taken for it, or
 * NULL when it is time to stop (a pool thread also stops after
 * URING_WORKER_IDLE_NS without work). */
static struct uring_slot *next_job(struct uring_server *server,
				   bool until_available, bool pool_thread)
{
	struct uring_slot *slot;
	struct timespec deadline;
	int err;

	for (;;) {
		if (atomic_load(&server->stopping) ||
		    (until_available && server->available))
			return NULL;
		slot = server->jobs;
		if (slot) {
			if (!uring_take_callback_slot(server)) {
				/* C callbacks run: the job waits for one of
				 * them to end (uring_put_callback_slot()). */
				atomic_fetch_add(&server->slot_waiters, 1);
				if (!uring_take_callback_slot(server)) {
					pthread_cond_wait(&server->work,
							  &server->lock);
					atomic_fetch_sub(&server->slot_waiters,
							 1);
					continue;
				}
				atomic_fetch_sub(&server->slot_waiters, 1);
			}
			server->jobs = slot->next;
			if (!server->jobs)
				server->jobs_tail = &server->jobs;
			return slot;
		}
		if (server->rings_running == 0)
			return NULL;
		if (!pool_thread) {
			pthread_cond_wait(&server->work, &server->lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += (long)(URING_WORKER_IDLE_NS % 1000000000ull);
		deadline.tv_sec += (time_t)(URING_WORKER_IDLE_NS / 1000000000ull) +
				   deadline.tv_nsec / 1000000000;
		deadline.tv_nsec %= 1000000000;
		server->idle_workers++;
		err = pthread_cond_timedwait(&server->work, &server->lock,
					     &deadline);
		server->idle_workers--;
		if (err == ETIMEDOUT && !server->jobs)
			return NULL;
	}
}

void uring_run_jobs(struct uring_server *server, unsigned worker,
		    bool until_available)
{
	/* worker 0 is the thread that called bdus_run(); pool threads have
	 * higher numbers. */
	bool pool_thread = worker >= server->num_rings;
	struct uring_slot *slot;

	pthread_mutex_lock(&server->lock);
	while ((slot = next_job(server, until_available, pool_thread))) {
		pthread_mutex_unlock(&server->lock);
		run_job(server, slot, worker);
		pthread_mutex_lock(&server->lock);
	}
	/* A pool thread leaves the count in the same hold of the lock as it
	 * decided to end, so that a hand-off never counts on a thread that
	 * is ending: it starts another one instead. */
	if (pool_thread) {
		server->num_workers--;
		uring_notify_all(server);
	}
	pthread_mutex_unlock(&server->lock);
}
