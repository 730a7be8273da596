// SPDX-License-Identifier: MIT
/*
 * aio-uring.c - the asynchronous core's uring transport: every slot of a
 * device keeps a command posted on the context's ring (FETCH, then
 * COMMIT_AND_FETCH with each reply), and the requests arrive as those
 * commands' completions (aio_dev_on_slot()).  With a shared buffer pool,
 * slots are fetched without a buffer and replies go as COMMIT, GET_DATA
 * bringing a write's data in (aio/pool.c).  Stopping is a STOP of each
 * queue, which gives the posted commands back.
 */

#include "aio/aio.h"

static bool aio_queue_command(struct bdus_aio_dev *dev, uint32_t op,
			      const struct kbdus_uring_cmd *cmd,
			      uint64_t user_data)
{
	struct io_uring_sqe *sqe = aio_get_sqe(dev->aio);

	if (!sqe)
		return false;
	bdus_uring_prep_cmd(sqe, dev->fd, false, op, cmd,
			    BDUS_AIO_USER_DATA_TAG | user_data);
	return true;
}

static bool aio_queue_slot(struct bdus_aio_dev *dev, struct aio_request *req,
			   uint32_t op, int32_t result)
{
	struct kbdus_uring_cmd cmd = {
		.queue = req->public.queue,
		.tag = req->tag,
		.result = result,
		.buffer = (uintptr_t)req->slot_buffer,
	};

	if (!aio_queue_command(dev, op, &cmd, (uintptr_t)req))
		return false;
	atomic_store_explicit(&req->state, AIO_REQ_POSTED,
			      memory_order_relaxed);
	dev->posted++;
	return true;
}

bool aio_queue_fetch(struct bdus_aio_dev *dev, struct aio_request *req)
{
	return aio_queue_slot(dev, req, KBDUS_URING_CMD_FETCH, 0);
}

bool aio_queue_commit(struct bdus_aio_dev *dev, struct aio_request *req)
{
	return aio_queue_slot(dev, req, KBDUS_URING_CMD_COMMIT_AND_FETCH,
			      req->result);
}

/* A COMMIT or GET_DATA on req's slot, with the given buffer. */
static bool aio_queue_held(struct bdus_aio_dev *dev, struct aio_request *req,
			   uint32_t op, char *buffer, uint64_t kind)
{
	struct kbdus_uring_cmd cmd = {
		.queue = req->public.queue,
		.tag = req->tag,
		.result = op == KBDUS_URING_CMD_COMMIT ? req->result : 0,
		.buffer = (uintptr_t)buffer,
	};

	if (!aio_queue_command(dev, op, &cmd, (uintptr_t)req | kind))
		return false;
	dev->posted++;
	return true;
}

bool aio_queue_commit_only(struct bdus_aio_dev *dev, struct aio_request *req)
{
	return aio_queue_held(dev, req, KBDUS_URING_CMD_COMMIT,
			      req->commit_buffer, AIO_COMMIT_DATA);
}

bool aio_queue_get_data(struct bdus_aio_dev *dev, struct aio_request *req)
{
	return aio_queue_held(dev, req, KBDUS_URING_CMD_GET_DATA,
			      req->pool_buffer, AIO_GET_DATA);
}

bool aio_queue_stop(struct bdus_aio_dev *dev, uint16_t queue)
{
	struct kbdus_uring_cmd cmd = { .queue = queue };

	if (!aio_queue_command(dev, KBDUS_URING_CMD_STOP, &cmd,
			       (uintptr_t)dev | AIO_STOP_BIT))
		return false;
	dev->stops++;
	return true;
}

/* Posts the first FETCH of every slot. */
static bool aio_uring_start(struct bdus_aio_dev *dev)
{
	for (uint32_t i = 0; i < dev->num_requests; i++)
		if (!aio_queue_fetch(dev, &dev->requests[i]))
			return false; /* the context failed: process() says so */
	return true;
}

static bool aio_uring_commit(struct bdus_aio_dev *dev, struct aio_request *req)
{
	return dev->aio->pool.count ? aio_pool_commit(dev, req) :
				      aio_queue_commit(dev, req);
}

/* Every queue, posted or not: a commit made later must not post a fetch
 * that nothing would take back. */
static void aio_uring_stop(struct bdus_aio_dev *dev)
{
	for (uint32_t q = 0; q < dev->num_queues; q++)
		if (!aio_queue_stop(dev, (uint16_t)(dev->first_queue + q)))
			return; /* the context failed */
}

const struct aio_transport aio_uring_transport = {
	.protocol = KBDUS_PROTOCOL_URING,
	.start = aio_uring_start,
	.commit = aio_uring_commit,
	.stop = aio_uring_stop,
};
