// SPDX-License-Identifier: MIT
/*
 * share.c - one device served by several contexts (bdus_aio_share_dev()):
 * the part of a device that its handles share, which queues each one
 * serves, and closing all of them when one closes.
 *
 * Who touches struct aio_shared_dev, and each handle's shared pointer:
 *   - the owner of each handle's context: it takes queues when the handle
 *     is made, and at its close drops its reference (aio_shared_put()),
 *     which clears the handle's pointer;
 *   - the owner of a context that shares the device: it reads another
 *     context's handle's pointer (bdus_aio_share_dev());
 *   - whichever owner begins closing first: it sets closing and asks every
 *     other handle to close, writing the eventfd of that handle's context.
 * All of it under aio_shared_lock, one lock for the process: sharing and
 * closing are rare, and a handle's pointer is read by another thread.  A
 * handle leaves shared->handles (under the lock) before its context may
 * free it, so a context's eventfd is written only while it is open.
 */

#include "aio/aio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t aio_shared_lock = PTHREAD_MUTEX_INITIALIZER;

bool aio_shared_init(struct bdus_aio_dev *dev, struct bdus_session *session,
		     uint32_t queue_depth)
{
	uint32_t num_queues = session->config.num_queues;
	struct aio_shared_dev *shared = calloc(1, sizeof(*shared));

	if (!shared || !(shared->queue_taken = calloc(num_queues ? num_queues : 1,
						      sizeof(bool)))) {
		free(shared);
		return bdus_fail(ENOMEM, "cannot allocate a device");
	}
	shared->session = *session;
	shared->queue_depth = queue_depth;
	shared->refs = 1;
	shared->handles = dev;
	dev->next_handle = NULL;
	dev->shared = shared;
	dev->session = &shared->session;
	dev->fd = shared->session.fd;
	return true;
}

bool aio_check_queue_range(uint64_t id, uint32_t num_queues, uint32_t first,
			   uint32_t *count)
{
	if (first >= num_queues)
		return bdus_fail(EINVAL,
				 "bdus-%" PRIu64 " has %" PRIu32 " queues: there "
				 "is no queue %" PRIu32,
				 id, num_queues, first);
	if (*count == 0)
		*count = num_queues - first;
	if (*count > num_queues - first)
		return bdus_fail(EINVAL,
				 "bdus-%" PRIu64 " has %" PRIu32 " queues: "
				 "%" PRIu32 " from queue %" PRIu32 " are too many",
				 id, num_queues, *count, first);
	return true;
}

/* Marks queues [first, first + count) as dev's; count 0: all from first. */
static bool aio_shared_claim_locked(struct aio_shared_dev *shared,
				    struct bdus_aio_dev *dev, uint32_t first,
				    uint32_t count)
{
	const struct kbdus_device_config *config = &shared->session.config;

	if (!aio_check_queue_range((uint64_t)config->id, config->num_queues, first,
				   &count))
		return false;
	for (uint32_t q = first; q < first + count; q++)
		if (shared->queue_taken[q])
			return bdus_fail(EBUSY,
					 "queue %" PRIu32 " of bdus-%" PRIu64
					 " is already served by a context",
					 q, (uint64_t)config->id);
	for (uint32_t q = first; q < first + count; q++)
		shared->queue_taken[q] = true;
	dev->first_queue = first;
	dev->num_queues = count;
	dev->first_slot = first * shared->queue_depth;
	dev->num_requests = count * shared->queue_depth;
	return true;
}

bool aio_shared_claim(struct bdus_aio_dev *dev, uint32_t first,
		      uint32_t count)
{
	bool ok;

	pthread_mutex_lock(&aio_shared_lock);
	ok = aio_shared_claim_locked(dev->shared, dev, first, count);
	pthread_mutex_unlock(&aio_shared_lock);
	return ok;
}

/* What sharing needs of the device; false (failed) if it lacks it. */
static bool aio_shared_check_join(const struct aio_shared_dev *shared,
				  const struct bdus_aio_dev *other,
				  const struct bdus_aio *aio)
{
	if (!shared || shared->closing)
		return bdus_fail(ESHUTDOWN, "%s is closing", other->path);
	if (!aio->pool.count && !shared->session.buffers)
		return bdus_fail(EINVAL,
				 "%s is served with shared buffers, so it has "
				 "no buffers per slot: share it from a context "
				 "with shared_buffers too",
				 other->path);
	return true;
}

bool aio_shared_join(struct bdus_aio_dev *dev, struct bdus_aio_dev *other,
		     uint32_t first, uint32_t count)
{
	struct aio_shared_dev *shared;
	bool ok;

	pthread_mutex_lock(&aio_shared_lock);
	shared = other->shared;
	ok = aio_shared_check_join(shared, other, dev->aio) &&
	     aio_check_queue_range(other->id,
				   shared->session.config.num_queues, first,
				   &count) &&
	     aio_dev_alloc_requests(dev, count, shared->queue_depth) &&
	     aio_shared_claim_locked(shared, dev, first, count);
	if (ok) {
		shared->refs++;
		dev->next_handle = shared->handles;
		shared->handles = dev;
		dev->shared = shared;
		dev->session = &shared->session;
		dev->fd = shared->session.fd;
	}
	pthread_mutex_unlock(&aio_shared_lock);
	return ok;
}

void aio_shared_ask_close(struct bdus_aio_dev *dev)
{
	struct aio_shared_dev *shared = dev->shared;
	const uint64_t one = 1;

	if (!shared)
		return;
	pthread_mutex_lock(&aio_shared_lock);
	if (!shared->closing) {
		shared->closing = true;
		for (struct bdus_aio_dev *h = shared->handles; h;
		     h = h->next_handle) {
			if (h == dev)
				continue;
			atomic_store(&h->close_asked, true);
			atomic_store(&h->aio->close_asked, true);
			/* Wakes its owner, as a completion does. */
			(void)!write(h->aio->eventfd, &one, sizeof(one));
		}
	}
	pthread_mutex_unlock(&aio_shared_lock);
}

void aio_shared_put(struct bdus_aio_dev *dev)
{
	struct aio_shared_dev *shared = dev->shared;
	struct bdus_aio_dev **link;
	bool last;

	if (!shared)
		return;
	pthread_mutex_lock(&aio_shared_lock);
	for (link = &shared->handles; *link; link = &(*link)->next_handle)
		if (*link == dev) {
			*link = dev->next_handle;
			break;
		}
	last = --shared->refs == 0;
	dev->shared = NULL;
	pthread_mutex_unlock(&aio_shared_lock);
	dev->session = NULL;
	dev->fd = -1;
	if (!last)
		return;
	bdus_session_close(&shared->session);
	free(shared->queue_taken);
	free(shared);
}

void aio_shared_handle_asks(struct bdus_aio *aio)
{
	if (!atomic_exchange(&aio->close_asked, false))
		return;
	for (struct bdus_aio_dev *dev = aio->devices; dev; dev = dev->next) {
		if (!atomic_exchange(&dev->close_asked, false) || dev->closing)
			continue;
		/* Its requests stop with the others': as a termination. */
		if (!dev->ended) {
			dev->ended = true;
			aio_queue_event(aio, BDUS_AIO_DEVICE_TERMINATED, dev,
					NULL);
		}
		aio_dev_begin_close(dev);
	}
}
