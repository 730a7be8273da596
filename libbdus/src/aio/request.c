// SPDX-License-Identifier: MIT
/*
 * request.c - completing and releasing requests, from any thread.
 *
 * A completion moves the request from HELD to COMPLETED with one
 * compare-and-swap, so that of two completions of one request exactly one
 * counts, and puts it on a list for the owner to commit: its own list when
 * the owner completes (committed by its next bdus_aio_process()), else the
 * shared lock-free list, whose first entry also writes the context's
 * eventfd.  Whoever finds the shared list empty writes, after pushing, and
 * the owner reads the eventfd before taking the list: a completion is
 * either taken by the owner's current step or wakes it for the next one.
 */

#include "aio/aio.h"

#include <errno.h>
#include <unistd.h>

/* Completes (error) or releases the request; see bdus_aio_complete(). */
static int aio_finish(struct bdus_aio_request *request, int error,
		      bool release, const char *function)
{
	struct aio_request *req = (struct aio_request *)request;
	struct bdus_aio *aio;
	uint32_t expected = AIO_REQ_HELD;
	struct aio_request *head;
	int eventfd;

	if (!request) {
		bdus_fail(EINVAL, "%s(): request must not be NULL", function);
		return -1;
	}
	if (!atomic_compare_exchange_strong_explicit(
		    &req->state, &expected, AIO_REQ_COMPLETED,
		    memory_order_acquire, memory_order_relaxed)) {
		bdus_fail(EALREADY,
			  "%s(): the request is not the driver's: it was "
			  "completed or released already",
			  function);
		return -1;
	}
	/* Ours now: the owner does not touch it until it is pushed. */
	req->result = release ? AIO_RELEASED :
				bdus_reply_error(req->kbdus_type, error);
	aio = request->dev->aio;

	if (pthread_equal(pthread_self(), aio->owner)) {
		req->next_completed = aio->owner_completed;
		aio->owner_completed = req;
		return 0;
	}
	/* Once pushed, the request may be committed, its device closed and
	 * the context destroyed: read what the wake-up needs first, and
	 * make destroy wait until it is done. */
	eventfd = aio->eventfd;
	atomic_fetch_add_explicit(&aio->completing, 1, memory_order_relaxed);
	head = atomic_load_explicit(&aio->completed, memory_order_relaxed);
	do {
		req->next_completed = head;
	} while (!atomic_compare_exchange_weak_explicit(
		&aio->completed, &head, req, memory_order_release,
		memory_order_relaxed));
	if (!head) {
		uint64_t one = 1;

		/* Fails only if the counter would overflow: awake anyway. */
		(void)!write(eventfd, &one, sizeof(one));
	}
	atomic_fetch_sub_explicit(&aio->completing, 1, memory_order_release);
	return 0;
}

BDUS_API int bdus_aio_complete(struct bdus_aio_request *request, int error)
{
	if (error < 0 || error > 4095) {
		bdus_fail(EINVAL,
			  "bdus_aio_complete(): error must be 0 or an errno "
			  "value, got %d",
			  error);
		return -1;
	}
	return aio_finish(request, error, false, "bdus_aio_complete");
}

BDUS_API int bdus_aio_release(struct bdus_aio_request *request)
{
	return aio_finish(request, 0, true, "bdus_aio_release");
}
