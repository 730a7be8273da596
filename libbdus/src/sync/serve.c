// SPDX-License-Identifier: MIT
/*
 * serve.c - the receive -> callback -> reply loop of the ioctl and mmap
 * protocols, on the calling thread or on max_concurrent_callbacks worker
 * threads sharing the session fd (uring-serve.c has the uring protocol's).
 *
 * Stopping: TERMINATE is sticky, so every worker sees it and leaves on its
 * own.  A failure (a callback returning bdus_abort, a broken session) is
 * different: the other workers may be blocked waiting for requests that
 * will never come, and kbdus has no call to wake them.  The supervising
 * thread then interrupts their wait with a signal (see interrupt.c) until
 * they have all left.  Only workers waiting for a request are signalled, so
 * that no callback ever sees EINTR because of libbdus.
 */

#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum worker_state { WORKER_BUSY, WORKER_RECEIVING, WORKER_GONE };

struct server;

struct worker {
	struct server *server;
	unsigned index;
	pthread_t thread;
	struct bdus_channel channel;
	atomic_int state;
	enum bdus_serve_outcome outcome;
};

struct server {
	struct bdus_ctx *ctx;
	struct bdus_session *session;
	atomic_bool stopping;

	pthread_mutex_t lock;
	pthread_cond_t changed;
	unsigned running; /* workers not yet gone */
	bool failed;
	struct bdus_saved_error error; /* the first failure */
};

static void server_init(struct server *server, struct bdus_ctx *ctx,
			struct bdus_session *session)
{
	memset(server, 0, sizeof(*server));
	server->ctx = ctx;
	server->session = session;
	atomic_init(&server->stopping, false);
	pthread_mutex_init(&server->lock, NULL);
	pthread_cond_init(&server->changed, NULL);
}

static void server_destroy(struct server *server)
{
	pthread_cond_destroy(&server->changed);
	pthread_mutex_destroy(&server->lock);
}

/* Records the calling thread's error as the server's failure, if it is the
 * first, and asks every worker to stop. */
static enum bdus_serve_outcome record_failure(struct server *server)
{
	pthread_mutex_lock(&server->lock);
	if (!server->failed) {
		server->failed = true;
		bdus_save_error(&server->error);
	}
	atomic_store(&server->stopping, true);
	pthread_cond_broadcast(&server->changed);
	pthread_mutex_unlock(&server->lock);
	return BDUS_SERVE_FAILED;
}

static enum bdus_serve_outcome BDUS_PRINTF(3, 4)
	report_failure(struct server *server, int errnum, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	bdus_fail_v(errnum, false, fmt, args);
	va_end(args);
	return record_failure(server);
}

/* ------------------------------------------------------------------------- */
/* The loop */

static enum bdus_serve_outcome on_notification(struct worker *worker,
					       uint32_t type,
					       bool until_available)
{
	if (type == KBDUS_REQ_TERMINATE)
		return BDUS_SERVE_TERMINATED;
	if (type == KBDUS_REQ_DEVICE_AVAILABLE && until_available)
		return BDUS_SERVE_AVAILABLE;
	if (type == KBDUS_REQ_DEVICE_AVAILABLE)
		return report_failure(worker->server, EPROTO,
				      "kbdus announced the device twice");
	return report_failure(worker->server, EPROTO,
			      "kbdus sent a message of unknown type %u",
			      (unsigned)type);
}

static enum bdus_serve_outcome serve_loop(struct worker *worker,
					  bool until_available)
{
	struct server *server = worker->server;
	/* can_reply_from stays false: replies go through the buffer. */
	struct bdus_message message = { 0 };
	int err, ret;

	for (;;) {
		atomic_store(&worker->state, WORKER_RECEIVING);
		if (atomic_load(&server->stopping)) {
			bdus_channel_flush_reply(&worker->channel);
			return BDUS_SERVE_FAILED;
		}

		err = bdus_channel_exchange(&worker->channel, &message);
		atomic_store(&worker->state, WORKER_BUSY);
		if (err == EINTR)
			continue;
		if (err)
			return report_failure(server, err,
					      "receiving a request from kbdus "
					      "failed: %s",
					      strerror(err));

		if (!bdus_is_data_type(message.type))
			return on_notification(worker, message.type,
					       until_available);

		ret = bdus_dispatch(server->ctx, &message, worker->index);
		if (ret == bdus_abort)
			return report_failure(server, EIO, BDUS_ABORT_MESSAGE,
					      bdus_request_type_name(
						      message.type));
		bdus_channel_set_reply(&worker->channel, &message, ret);
	}
}

/* Serves on the calling thread, as worker 0. */
static enum bdus_serve_outcome serve_here(struct bdus_ctx *ctx,
					  struct bdus_session *session,
					  bool until_available)
{
	struct server server;
	struct worker worker = { .index = 0 };
	enum bdus_serve_outcome outcome;

	server_init(&server, ctx, session);
	worker.server = &server;
	if (!bdus_channel_init(&worker.channel, session, ctx)) {
		server_destroy(&server);
		return BDUS_SERVE_FAILED;
	}

	outcome = serve_loop(&worker, until_available);

	bdus_channel_destroy(&worker.channel);
	if (outcome == BDUS_SERVE_FAILED)
		bdus_restore_error(&server.error);
	server_destroy(&server);
	return outcome;
}

static enum bdus_serve_outcome
serve_until_available(struct bdus_ctx *ctx, struct bdus_session *session)
{
	return serve_here(ctx, session, true);
}

/* ------------------------------------------------------------------------- */
/* Worker threads */

static void *worker_main(void *arg)
{
	struct worker *worker = arg;
	struct server *server = worker->server;

	bdus_interrupt_unblock();
	bdus_enter_device(server->ctx->id,
			  server->ctx->attrs->max_concurrent_callbacks == 1);
	worker->outcome = serve_loop(worker, false);

	pthread_mutex_lock(&server->lock);
	atomic_store(&worker->state, WORKER_GONE);
	server->running--;
	pthread_cond_broadcast(&server->changed);
	pthread_mutex_unlock(&server->lock);
	return NULL;
}

static unsigned start_workers(struct server *server, struct worker *workers,
			      unsigned count)
{
	unsigned started;
	int err;

	for (started = 0; started < count; started++) {
		struct worker *worker = &workers[started];

		worker->server = server;
		worker->index = started;
		atomic_init(&worker->state, WORKER_BUSY);
		if (!bdus_channel_init(&worker->channel, server->session,
				       server->ctx)) {
			record_failure(server);
			break;
		}

		pthread_mutex_lock(&server->lock);
		server->running++;
		pthread_mutex_unlock(&server->lock);

		err = pthread_create(&worker->thread, NULL, worker_main, worker);
		if (err) {
			pthread_mutex_lock(&server->lock);
			server->running--;
			pthread_mutex_unlock(&server->lock);
			bdus_channel_destroy(&worker->channel);
			report_failure(server, err,
				       "cannot create worker thread %u: %s",
				       started, strerror(err));
			break;
		}
	}
	return started;
}

static void wait_for_change(struct server *server, long timeout_ns)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += timeout_ns;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&server->changed, &server->lock, &deadline);
}

/* Repeats the interruption: a signal that lands just before a worker starts
 * waiting is lost, so one round is not enough. */
static void interrupt_workers(struct server *server, struct worker *workers,
			      unsigned count)
{
	pthread_mutex_lock(&server->lock);
	while (server->running > 0) {
		for (unsigned i = 0; i < count; i++)
			if (atomic_load(&workers[i].state) == WORKER_RECEIVING)
				bdus_interrupt_thread(workers[i].thread);
		wait_for_change(server, 10 * 1000 * 1000);
	}
	pthread_mutex_unlock(&server->lock);
}

static void supervise(struct server *server, struct worker *workers,
		      unsigned count)
{
	pthread_mutex_lock(&server->lock);
	while (server->running > 0 && !atomic_load(&server->stopping))
		pthread_cond_wait(&server->changed, &server->lock);
	pthread_mutex_unlock(&server->lock);

	if (atomic_load(&server->stopping))
		interrupt_workers(server, workers, count);

	for (unsigned i = 0; i < count; i++) {
		pthread_join(workers[i].thread, NULL);
		bdus_channel_destroy(&workers[i].channel);
	}
}

static enum bdus_serve_outcome serve_on_workers(struct bdus_ctx *ctx,
						struct bdus_session *session,
						unsigned count)
{
	struct server server;
	struct worker *workers;
	unsigned started;
	bool failed;

	workers = calloc(count, sizeof(*workers));
	if (!workers) {
		bdus_fail(ENOMEM, "cannot allocate %u worker threads", count);
		return BDUS_SERVE_FAILED;
	}
	if (!bdus_interrupt_acquire()) {
		free(workers);
		return BDUS_SERVE_FAILED;
	}

	server_init(&server, ctx, session);
	started = start_workers(&server, workers, count);
	supervise(&server, workers, started);
	bdus_interrupt_release();

	failed = server.failed;
	if (failed)
		bdus_restore_error(&server.error);
	server_destroy(&server);
	free(workers);
	return failed ? BDUS_SERVE_FAILED : BDUS_SERVE_TERMINATED;
}

static enum bdus_serve_outcome
serve_until_terminated(struct bdus_ctx *ctx, struct bdus_session *session)
{
	unsigned count = ctx->attrs->max_concurrent_callbacks;

	if (count <= 1)
		return serve_here(ctx, session, false);
	return serve_on_workers(ctx, session, count);
}

enum bdus_serve_outcome bdus_serve(struct bdus_ctx *ctx,
				   struct bdus_session *session,
				   bdus_announce_fn announce, void *arg)
{
	enum bdus_serve_outcome outcome;

	if (session->protocol == KBDUS_PROTOCOL_URING)
		return bdus_uring_serve(ctx, session, announce, arg);

	outcome = serve_until_available(ctx, session);
	if (outcome != BDUS_SERVE_AVAILABLE)
		return outcome; /* TERMINATED: destroyed before it was available */
	if (!announce(ctx, arg))
		return BDUS_SERVE_FAILED;
	return serve_until_terminated(ctx, session);
}
