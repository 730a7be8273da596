// SPDX-License-Identifier: MIT
/*
 * share.c - one device served by several contexts (bdus_aio_share_dev()):
 * the part of a device that its handles share, which queues each one
 * serves, and closing all of them when one closes.
 *
 * Who touches struct aio_shared_dev, and each handle's shared pointer:
 *   - the owner of each handle's context: it takes queues when the handle
 *     is made, and at its close drops its reference (aio_shared_put()),
 *     which gives its queues back and clears the handle's pointer;
 *   - the owner of a context that shares the device: it finds the handle
 *     it was given among the live ones (aio_shared_devices) before reading
 *     it, since another context's handle may be freed at any time once a
 *     sibling's close asked it to close;
 *   - whichever owner begins closing first: it sets closing and asks every
 *     other handle to close, writing the eventfd of that handle's context.
 * All of it under aio_shared_lock, one lock for the process: sharing and
 * closing are rare, and a handle's pointer is read by another thread.  A
 * handle leaves shared->handles (under the lock) before its context may
 * free it, so a context's eventfd is written only while it is open, and a
 * handle found on the list can be read until the lock is dropped.
 */

#include "aio/aio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t aio_shared_lock = PTHREAD_MUTEX_INITIALIZER;
/* Every device that has a serving handle, so that the handle given to
 * bdus_aio_share_dev() is found before it is read: its owner may have
 * closed and freed it meanwhile.  Under aio_shared_lock. */
static struct aio_shared_dev *aio_shared_devices;

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

bool aio_check_queue_range(const char *name, uint32_t num_queues,
			   uint32_t first, uint32_t *count)
{
	if (first >= num_queues)
		return bdus_fail(EINVAL,
				 "%s has %" PRIu32 " queues: there is no queue "
				 "%" PRIu32,
				 name, num_queues, first);
	if (*count == 0)
		*count = num_queues - first;
	if (*count > num_queues - first)
		return bdus_fail(EINVAL,
				 "%s has %" PRIu32 " queues: %" PRIu32 " from "
				 "queue %" PRIu32 " are too many",
				 name, num_queues, *count, first);
	return true;
}

/* Marks queues [first, first + count) as dev's; count 0: all from first. */
static bool aio_shared_claim_locked(struct aio_shared_dev *shared,
				    struct bdus_aio_dev *dev, uint32_t first,
				    uint32_t count)
{
	const struct kbdus_device_config *config = &shared->session.config;

	char path[32];

	bdus_device_path(path, sizeof(path), config->id);
	if (!aio_check_queue_range(path, config->num_queues, first, &count))
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
	struct aio_shared_dev *shared = dev->shared;
	bool ok;

	pthread_mutex_lock(&aio_shared_lock);
	ok = aio_shared_claim_locked(shared, dev, first, count);
	if (ok) {
		/* Only now may other contexts share it: dev is complete. */
		shared->next = aio_shared_devices;
		aio_shared_devices = shared;
	}
	pthread_mutex_unlock(&aio_shared_lock);
	return ok;
}

/* The shared part of other, if other is a handle that has not finished
 * closing (and so is not freed); NULL if not. */
static struct aio_shared_dev *
aio_shared_find_locked(const struct bdus_aio_dev *other)
{
	for (struct aio_shared_dev *s = aio_shared_devices; s; s = s->next)
		for (struct bdus_aio_dev *h = s->handles; h; h = h->next_handle)
			if (h == other)
				return s;
	return NULL;
}

/* Whether dev, of another context, may join shared, whose handle other
 * is; copies other's attributes into dev.  False (failed) if not. */
static bool aio_shared_check_join_locked(struct aio_shared_dev *shared,
					 struct bdus_aio_dev *dev,
					 const struct bdus_aio_dev *other)
{
	if (shared->closing)
		return bdus_fail(ESHUTDOWN, "%s is closing", other->path);
	for (struct bdus_aio_dev *h = shared->handles; h; h = h->next_handle)
		if (h->aio == dev->aio)
			return bdus_fail(EINVAL,
					 "%s is already served by this context: "
					 "one context serves its queues through "
					 "one handle",
					 other->path);
	if (shared->session.protocol != KBDUS_PROTOCOL_URING)
		return bdus_fail(EINVAL,
				 "%s is served over the %s protocol: only a "
				 "uring device's queues can be shared",
				 other->path,
				 bdus_protocol_name(shared->session.protocol));
	if (!dev->aio->ring)
		return bdus_fail(EINVAL,
				 "%s is served over uring, and this context has "
				 "no io_uring ring",
				 other->path);
	if (!dev->aio->pool.count && !shared->session.buffers)
		return bdus_fail(EINVAL,
				 "%s is served with shared buffers, so it has "
				 "no buffers per slot: share it from a context "
				 "with shared_buffers too",
				 other->path);
	if (!aio_check_pool_fits(dev->aio, other->attrs.max_read_write_size))
		return false;
	dev->transport = &aio_uring_transport;
	dev->attrs = other->attrs;
	dev->ext = other->ext;
	dev->id = other->id;
	memcpy(dev->path, other->path, sizeof(dev->path));
	return true;
}

bool aio_shared_join(struct bdus_aio_dev *dev, const struct bdus_aio_dev *other,
		     uint32_t first, uint32_t count)
{
	struct aio_shared_dev *shared;
	bool ok;

	pthread_mutex_lock(&aio_shared_lock);
	shared = aio_shared_find_locked(other);
	ok = (shared || bdus_fail(ESHUTDOWN,
				  "the device handle given has closed")) &&
	     aio_shared_check_join_locked(shared, dev, other) &&
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
	if (!ok)
		return false;
	/* Not under the lock: it may fail for this context alone.  If the
	 * device began closing meanwhile, dev was asked to close as well. */
	if (!aio_dev_alloc_requests(dev, dev->num_queues, shared->queue_depth)) {
		aio_shared_put(dev);
		return false;
	}
	return true;
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
	struct aio_shared_dev **link2;
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
	for (uint32_t q = dev->first_queue;
	     q < dev->first_queue + dev->num_queues; q++)
		shared->queue_taken[q] = false;
	last = --shared->refs == 0;
	if (last)
		for (link2 = &aio_shared_devices; *link2;
		     link2 = &(*link2)->next)
			if (*link2 == shared) {
				*link2 = shared->next;
				break;
			}
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
