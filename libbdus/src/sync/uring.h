// SPDX-License-Identifier: MIT
/*
 * uring.h - the io_uring protocol's pieces, shared by uring-ring.c (rings
 * and their commands) and uring-serve.c (threads and callbacks).
 */

#ifndef LIBBDUS_URING_H_
#define LIBBDUS_URING_H_

#include "internal.h"
#include "transport/uring-cmd.h"

#include <liburing.h>
#include <stdatomic.h>

struct uring_server;
struct uring_ring;

/* One request slot (queue, tag): its buffer and the request it holds. */
struct uring_slot {
	struct uring_slot *next; /* in the job queue or a ring's done list */
	struct uring_ring *ring; /* the ring that serves its queue */
	uint16_t queue;
	uint16_t tag;
	int32_t result; /* the reply, once its callback ran on another thread */
	/* The slot's payload buffer: named in its FETCHes, or (with
	 * data_deferred) where GET_DATA puts the data a callback needs. */
	char *buffer;
	struct bdus_message message; /* the request it holds */
};

/*
 * A ring and the thread that owns it.  kbdus takes a queue's commands from
 * one thread only, so everything below but done is touched by that thread
 * alone: other threads hand answered requests back through done and wake
 * the owner with the eventfd.
 */
struct uring_ring {
	struct uring_server *server;
	unsigned index;
	struct io_uring ring;
	bool open;
	int fd; /* the session fd, or 0 in the fixed file table */
	bool fixed_file;

	/* A read of it is kept posted, to be woken.  Open from before the
	 * thread starts until after it is joined, so any thread may write
	 * to it at any time. */
	int eventfd;
	uint64_t event_value;
	bool event_armed;

	/* How long uring_ring_submit_and_wait() looks for completions
	 * before it sleeps (bdus_ext_attrs.poll_us; 0: it never looks). */
	uint64_t poll_ns;

	unsigned posted; /* slot commands not yet completed */
	unsigned held; /* requests handed to other threads */
	bool terminated; /* kbdus sent TERMINATE */

	pthread_mutex_t lock; /* protects done */
	struct uring_slot *done; /* answered by other threads, to commit */

	pthread_t thread;
	bool thread_started;
};

/* user_data of the eventfd read and of STOPs; slot commands carry the
 * slot's address, with one of the URING_TAG_* in its low bits. */
#define URING_EVENT_DATA ((uint64_t)1)
#define URING_STOP_DATA ((uint64_t)2)
/* user_data of a COMMIT whose read data comes from the driver's memory
 * (ext->read_ref) or, with data_deferred, from the slot's buffer, followed
 * by a FETCH of the slot. */
#define URING_COMMIT_DATA ((uint64_t)3)

/* What a slot command's completion means: a FETCH or COMMIT_AND_FETCH (a
 * request or a notification), a GET_DATA of a request's data into the
 * slot's buffer before its callback runs, or a reply fused with a FETCH
 * that kbdus may refuse at once (then the driver still holds the request)
 * and that else completes as a FETCH: a LAND_AND_FETCH to where
 * ext->write_ref pointed, or a PASSTHROUGH_AND_FETCH. */
#define URING_TAG_SLOT ((uint64_t)0)
#define URING_TAG_FILL ((uint64_t)1)
#define URING_TAG_LAND ((uint64_t)2)
#define URING_TAG_PASS ((uint64_t)3)
#define URING_TAG_MASK ((uint64_t)3)
_Static_assert(_Alignof(struct uring_slot) > URING_TAG_MASK,
	       "a slot's address leaves room for a tag");

/* uring_slot.result of a request handed back unanswered, after a failure. */
#define URING_DROPPED INT32_MIN

/*
 * The pool (C > Q) grows and shrinks with the load.  A callback that sleeps
 * and runs longer than URING_SLOW_CALLBACK_NS marks the callbacks as
 * blocking for URING_SLOW_MEMORY_NS: meanwhile ring threads hand requests to
 * the pool, which starts a thread whenever a request waits and no worker is
 * idle, up to C.  Otherwise ring threads run every callback themselves, with
 * no hand-off, as C = 1 does.  A worker ends after URING_WORKER_IDLE_NS
 * without work.
 *
 * Who may run a callback, while the pool runs: whoever holds one of the C
 * callback slots (uring_server.callbacks_running < C).  A ring thread takes
 * one for a callback it runs itself, or hands the request off if none is
 * free; a pool thread takes one with each job, and waits for one with the
 * job left queued.  So at most C callbacks run at once, however the ring
 * threads and the pool share them.
 */
#define URING_SLOW_CALLBACK_NS (200 * 1000ull)
#define URING_SLOW_MEMORY_NS (100 * 1000 * 1000ull)
#define URING_WORKER_IDLE_NS (100 * 1000 * 1000ull)

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t uring_now_ns(void);

/* Everything serving a uring session; see uring-serve.c. */
struct uring_server {
	struct bdus_ctx *ctx;
	struct bdus_session *session;
	uint32_t num_queues;
	uint32_t depth;
	unsigned concurrency; /* C */
	struct uring_slot *slots; /* num_queues * depth */
	/* ext->write_ref is set: slots are posted without a buffer, so that
	 * a write's data stays in the kernel until write_ref has said where
	 * it goes.  Other requests' data is fetched into the slot's buffer
	 * before their callbacks run, and replies with data are COMMITs
	 * from it. */
	bool data_deferred;
	struct uring_ring *rings;
	unsigned num_rings; /* R */
	unsigned max_workers; /* C, when C > Q */

	atomic_bool stopping;
	/* Ring threads run callbacks themselves (C = 1 always; C <= Q once
	 * the device is available).  Never cleared once set. */
	atomic_bool run_inline;
	atomic_bool pool_running; /* C > Q and the device is available */

	pthread_mutex_t lock;
	pthread_cond_t work; /* for threads waiting for jobs */
	pthread_cond_t changed; /* for the supervising thread */
	struct uring_slot *jobs; /* requests handed off, oldest first */
	struct uring_slot **jobs_tail;
	unsigned num_workers; /* pool threads running */
	unsigned idle_workers; /* ... of which waiting for a job */
	unsigned next_worker_index; /* for the log: R, R + 1, ... */
	/* When a callback last slept and ran over URING_SLOW_CALLBACK_NS. */
	_Atomic uint64_t last_slow_ns;
	/* Callbacks running while the pool runs, at most C; and pool threads
	 * waiting for one of them to end (see above). */
	atomic_uint callbacks_running;
	atomic_uint slot_waiters;
	bool available; /* kbdus sent DEVICE_AVAILABLE */
	unsigned rings_running;
	bool failed;
	struct bdus_saved_error error; /* the first failure */
};

/* uring-jobs.c: failures, and requests handed from rings to other threads */

/* Makes the calling thread's error the server's failure, if it is the
 * first, and asks everyone to stop.  Returns false, for "return fail()". */
bool uring_fail(struct uring_server *server);
bool uring_report(struct uring_server *server, int errnum, const char *fmt,
		  ...) BDUS_PRINTF(3, 4);
bool uring_report_abort(struct uring_server *server,
			const struct uring_slot *slot);
/* Broadcasts a change of the server's state; with its lock held. */
void uring_notify_all(struct uring_server *server);

/* Queues a ring's request for another thread; false (and nothing queued)
 * once stopping.  Ring thread. */
bool uring_hand_off(struct uring_ring *r, struct uring_slot *slot);
/* Runs queued requests until the device is available (until_available) or
 * until every ring is done, or until stopping. */
void uring_run_jobs(struct uring_server *server, unsigned worker,
		    bool until_available);
/* Runs a request's callback, noting whether it blocked; returns its reply
 * or bdus_abort. */
int uring_dispatch(struct uring_server *server, struct uring_slot *slot,
		   unsigned worker);
/* Whether callbacks have been blocking lately (see URING_SLOW_*). */
bool uring_callbacks_block(struct uring_server *server);
/* Takes one of the C callback slots, if one is free; gives it back, waking
 * a pool thread that waits for one. */
bool uring_take_callback_slot(struct uring_server *server);
void uring_put_callback_slot(struct uring_server *server);
/* With server->lock held, once the pool runs: starts a pool thread for each
 * queued request, up to the cap; reports a failure if none could start. */
void uring_grow_for_queued(struct uring_server *server);
/* Once stopping: waits until every pool thread ended. */
void uring_wait_workers(struct uring_server *server);
/* Takes the ring's requests that are still queued (to run them inline), or
 * the ones other threads answered (to commit them).  Ring thread. */
struct uring_slot *uring_take_queued(struct uring_ring *r);
struct uring_slot *uring_take_answered(struct uring_ring *r);
/* Once stopping: hands every queued request back to its ring, unanswered. */
void uring_drop_queued(struct uring_server *server);

/* uring-ring.c */

/* Creates the ring in the calling thread, which must be the only one to use
 * it, for commands on up to num_slots slots of num_queues queues, polling
 * for ext->poll_us before each wait (0: never).  false with the error
 * set. */
bool uring_ring_open(struct uring_ring *r, int session_fd, uint32_t num_slots,
		     uint32_t num_queues, const struct bdus_ext_attrs *ext);
/* Closes it.  Commands still posted are cancelled when io_uring tears the
 * ring down (before Linux 6.7: when the thread exits): STOP first. */
void uring_ring_close(struct uring_ring *r);
/* Queue a FETCH or a COMMIT_AND_FETCH (with slot->result) of the slot, for
 * the next submission; a reply whose data is at message.reply_data (or, with
 * data_deferred, in the slot's buffer) is a COMMIT from there and a FETCH,
 * and one with a passthrough (message.passthrough) a PASSTHROUGH_AND_FETCH.
 * A write_ref write whose data must still land (message.write_dest) is a
 * LAND_AND_FETCH to there.  false (error set) if the ring is broken. */
bool uring_ring_fetch(struct uring_ring *r, struct uring_slot *slot);
bool uring_ring_commit(struct uring_ring *r, struct uring_slot *slot);
/* Queues a GET_DATA of the slot's request to dest (user_data: the slot,
 * tagged); counted in posted until it completes. */
bool uring_ring_get_data(struct uring_ring *r, struct uring_slot *slot,
			 char *dest, uint64_t tag);
/* Queues a STOP of the queue (user_data URING_STOP_DATA): kbdus gives back
 * every command of it that is posted, and takes no more.  Not counted in
 * posted. */
bool uring_ring_stop_queue(struct uring_ring *r, uint16_t queue);
/* Queues a read of the eventfd, unless one is posted. */
bool uring_ring_arm_event(struct uring_ring *r);
/* Submits what was queued and waits for at least one completion, polling
 * first for poll_ns.  0, or a negative errno (EINTR: just try again). */
int uring_ring_submit_and_wait(struct uring_ring *r);
/* Submits what was queued without waiting; errors are left for the next
 * uring_ring_submit_and_wait(). */
void uring_ring_submit(struct uring_ring *r);
/* Wakes the ring's thread; any thread. */
void uring_ring_wake(struct uring_ring *r);

#endif /* LIBBDUS_URING_H_ */
