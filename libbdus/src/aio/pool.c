// SPDX-License-Identifier: MIT
/*
 * pool.c - payload buffers shared by every device of a context (see struct
 * aio_pool in aio.h): handing them to requests as they arrive, copying a
 * write's data in (GET_DATA), and getting them back once the kernel is done
 * with them.
 */

#include "aio/aio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

bool aio_pool_init(struct bdus_aio *aio, uint32_t count, uint32_t buffer_size)
{
	struct aio_pool *pool = &aio->pool;
	size_t page = bdus_page_size();

	pool->waiting_tail = &pool->waiting;
	if (count == 0) {
		if (buffer_size)
			return bdus_fail(EINVAL, "bdus_aio_attrs.shared_buffer_size "
						 "needs shared_buffers");
		return true;
	}
	if (buffer_size == 0)
		buffer_size = KBDUS_DEFAULT_MAX_READ_WRITE_SIZE;
	if (buffer_size % page || buffer_size > KBDUS_MAX_MAX_READ_WRITE_SIZE)
		return bdus_fail(EINVAL,
				 "bdus_aio_attrs.shared_buffer_size must be a "
				 "multiple of the page size (%zu) up to %u, not "
				 "%" PRIu32,
				 page, KBDUS_MAX_MAX_READ_WRITE_SIZE,
				 buffer_size);
	if (count > 65536)
		return bdus_fail(EINVAL, "bdus_aio_attrs.shared_buffers must "
					 "be at most 65536, not %" PRIu32,
				 count);

	pool->memory_size = (size_t)count * buffer_size;
	pool->memory = mmap(NULL, pool->memory_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool->memory == MAP_FAILED) {
		pool->memory = NULL;
		return bdus_fail_errno(errno, "cannot allocate %" PRIu32
					      " shared buffers",
				       count);
	}
	pool->free = malloc(count * sizeof(*pool->free));
	if (!pool->free) {
		aio_pool_free(aio);
		return bdus_fail(ENOMEM, "cannot allocate %" PRIu32
					 " shared buffers",
				 count);
	}
	/* Pushed so that the first buffers are used first. */
	for (uint32_t i = 0; i < count; i++)
		pool->free[i] = pool->memory +
				(size_t)(count - 1 - i) * buffer_size;
	pool->free_count = count;
	pool->count = count;
	pool->buffer_size = buffer_size;
	return true;
}

void aio_pool_free(struct bdus_aio *aio)
{
	struct aio_pool *pool = &aio->pool;

	if (pool->memory)
		munmap(pool->memory, pool->memory_size);
	free(pool->free);
	pool->memory = NULL;
	pool->free = NULL;
	pool->count = 0;
}

/* Whether the kernel has data for the request (a write's, or an ioctl's
 * argument, zeros where the caller gave none). */
static bool aio_pool_data_in(const struct aio_request *req)
{
	return req->kbdus_type != KBDUS_REQ_READ;
}

/* req has its buffer: fetch its data, or hand it out. */
static void aio_pool_fill(struct bdus_aio_dev *dev, struct aio_request *req)
{
	req->public.buffer = req->pool_buffer;
	if (!aio_pool_data_in(req)) {
		aio_dev_hand_out(dev, req);
		return;
	}
	atomic_store_explicit(&req->state, AIO_REQ_GETTING,
			      memory_order_relaxed);
	aio_queue_get_data(dev, req); /* a broken ring fails the context */
}

void aio_pool_take(struct bdus_aio_dev *dev, struct aio_request *req)
{
	struct aio_pool *pool = &dev->aio->pool;

	if (pool->free_count > 0) {
		req->pool_buffer = pool->free[--pool->free_count];
		aio_pool_fill(dev, req);
		return;
	}
	atomic_store_explicit(&req->state, AIO_REQ_WAITING,
			      memory_order_relaxed);
	req->next_waiting = NULL;
	*pool->waiting_tail = req;
	pool->waiting_tail = &req->next_waiting;
}

void aio_pool_put(struct bdus_aio *aio, char *buffer)
{
	struct aio_pool *pool = &aio->pool;
	struct aio_request *next = pool->waiting;

	if (!buffer)
		return;
	if (!next) {
		pool->free[pool->free_count++] = buffer;
		return;
	}
	pool->waiting = next->next_waiting;
	if (!pool->waiting)
		pool->waiting_tail = &pool->waiting;
	next->pool_buffer = buffer;
	aio_pool_fill(next->public.dev, next);
}

void aio_pool_forget_dev(struct bdus_aio_dev *dev)
{
	struct aio_pool *pool = &dev->aio->pool;
	struct aio_request **link = &pool->waiting, *req;

	while ((req = *link)) {
		if (req->public.dev != dev) {
			link = &req->next_waiting;
			continue;
		}
		/* Left uncompleted, as a request arriving now would be. */
		*link = req->next_waiting;
		atomic_store_explicit(&req->state, AIO_REQ_IDLE,
				      memory_order_relaxed);
		dev->held--;
	}
	pool->waiting_tail = link;
}

/* The request goes back unserved: its buffer too. */
static void aio_pool_drop(struct bdus_aio_dev *dev, struct aio_request *req)
{
	char *buffer = req->pool_buffer;

	atomic_store_explicit(&req->state, AIO_REQ_IDLE, memory_order_relaxed);
	dev->held--;
	req->pool_buffer = NULL;
	aio_pool_put(dev->aio, buffer);
}

void aio_pool_on_get_data(struct bdus_aio_dev *dev, struct aio_request *req,
			  int32_t res)
{
	if (dev->closing) {
		aio_pool_drop(dev, req); /* uncompleted, as on arrival */
		return;
	}
	if (res == -ESTALE) {
		/* It timed out before its data came: kbdus ignores the reply,
		 * which only re-posts the slot. */
		aio_pool_drop(dev, req);
		req->result = EIO;
		aio_queue_commit(dev, req);
		return;
	}
	if (res < 0) {
		aio_pool_drop(dev, req);
		aio_dev_fail(dev, -res,
			     "%s: kbdus could not copy the data of a request "
			     "(queue %u, tag %u): %s",
			     dev->path, (unsigned)req->public.queue,
			     (unsigned)req->tag, strerror(-res));
		return;
	}
	aio_dev_hand_out(dev, req);
}

void aio_pool_on_commit(struct bdus_aio_dev *dev, struct aio_request *req,
			int32_t res)
{
	char *buffer = req->commit_buffer;

	req->commit_buffer = NULL;
	aio_pool_put(dev->aio, buffer);
	if (res < 0)
		aio_dev_fail(dev, -res,
			     "%s: kbdus could not read the reply of a request "
			     "(queue %u, tag %u): %s",
			     dev->path, (unsigned)req->public.queue,
			     (unsigned)req->tag, strerror(-res));
}

/* Whether a successful reply carries data out of the buffer. */
static bool aio_pool_data_out(const struct aio_request *req)
{
	if (req->result != 0)
		return false;
	if (req->kbdus_type == KBDUS_REQ_READ)
		return true;
	return req->kbdus_type == KBDUS_REQ_IOCTL &&
	       (_IOC_DIR(req->public.ioctl_command) & _IOC_READ);
}

bool aio_pool_commit(struct bdus_aio_dev *dev, struct aio_request *req)
{
	char *buffer = req->pool_buffer;

	req->pool_buffer = NULL;
	if (!aio_pool_data_out(req)) {
		/* The kernel reads nothing from the buffer. */
		aio_pool_put(dev->aio, buffer);
		return aio_queue_commit(dev, req);
	}
	/* The buffer comes back with the COMMIT's completion (the slot may
	 * meanwhile hold a new request); the slot is posted again, without
	 * a buffer. */
	req->commit_buffer = buffer;
	return aio_queue_commit_only(dev, req) && aio_queue_fetch(dev, req);
}

void aio_pool_release(struct bdus_aio *aio, struct aio_request *req)
{
	char *buffer = req->pool_buffer;

	req->pool_buffer = NULL;
	aio_pool_put(aio, buffer);
}
