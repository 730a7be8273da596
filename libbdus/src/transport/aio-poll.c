// SPDX-License-Identifier: MIT
/*
 * aio-poll.c - the asynchronous core's ioctl and mmap transports.
 *
 * Their sessions have no commands to post.  A multishot poll of the
 * session fd on the context's ring says when something waits (kbdus wakes
 * its pollers for every request and notification), and the owner then
 * receives with non-blocking transceives until one finds nothing (EAGAIN).
 * A reply travels with the next receive, in one system call, as in the
 * sync engine; once the device ended or is closing, replies go alone.
 *
 *   ioctl: kbdus copies a request and its data into what the receive
 *          names: one of the device's requests, each with a buffer of its
 *          own (dev->free).  A reply's data is read from the same buffer
 *          before the receive writes it, so a reply and the next receive
 *          share one request.
 *   mmap:  kbdus picks the slot; its descriptor and buffer are in the
 *          session's mapping, and so are a reply's data.
 *
 * Stopping cancels the poll.  Both the poll's last CQE (without
 * IORING_CQE_F_MORE) and the cancel's own come back before the device can
 * close (dev->posted, dev->stops).
 *
 * A context without a ring watches the sessions with its epoll instance
 * instead, edge-triggered: like the multishot poll, it reports each
 * wake-up once, and the receives that follow go on until EAGAIN.
 */

#include "aio/aio.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

static uint64_t aio_poll_user_data(struct bdus_aio_dev *dev, uint64_t kind)
{
	return BDUS_AIO_USER_DATA_TAG | (uintptr_t)dev | kind;
}

static bool aio_poll_arm(struct bdus_aio_dev *dev)
{
	struct io_uring_sqe *sqe;

	if (!dev->aio->ring) {
		struct epoll_event event = {
			.events = EPOLLIN | EPOLLET,
			.data.ptr = dev,
		};

		if (epoll_ctl(dev->aio->epoll, EPOLL_CTL_ADD, dev->fd,
			      &event) < 0) {
			aio_dev_fail(dev, errno,
				     "%s: cannot watch the session with "
				     "epoll: %s",
				     dev->path, strerror(errno));
			return true; /* the device failed, not the context */
		}
		dev->polling = true;
		return true;
	}
	sqe = aio_get_sqe(dev->aio);
	if (!sqe)
		return false;
	io_uring_prep_poll_multishot(sqe, dev->fd, POLLIN);
	sqe->user_data = aio_poll_user_data(dev, AIO_POLL_DATA);
	dev->polling = true;
	dev->posted++;
	return true;
}

static bool aio_poll_start(struct bdus_aio_dev *dev)
{
	/* What waits already (a recovered device's requests) makes the
	 * poll fire at once too, but the first process() need not wait. */
	dev->readable = true;
	return aio_poll_arm(dev);
}

static void aio_poll_stop(struct bdus_aio_dev *dev)
{
	struct io_uring_sqe *sqe;

	dev->readable = false;
	if (!dev->polling)
		return;
	if (!dev->aio->ring) {
		/* Nothing is posted: it is gone at once. */
		epoll_ctl(dev->aio->epoll, EPOLL_CTL_DEL, dev->fd, NULL);
		dev->polling = false;
		return;
	}
	sqe = aio_get_sqe(dev->aio);
	if (!sqe)
		return; /* the context failed */
	/* Not POLL_REMOVE: it fails with -EALREADY while a wake-up's task
	 * work is pending, and the poll would then stay armed.  A cancel
	 * always ends it (with -ECANCELED). */
	io_uring_prep_cancel64(sqe, aio_poll_user_data(dev, AIO_POLL_DATA), 0);
	sqe->user_data = aio_poll_user_data(dev, AIO_CANCEL_DATA);
	dev->stops++;
}

void aio_poll_on_cqe(struct bdus_aio_dev *dev, const struct io_uring_cqe *cqe)
{
	if (cqe->res > 0)
		dev->readable = !dev->closing && !dev->ended;
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	/* The poll ended: cancelled, or the kernel could not keep it. */
	dev->polling = false;
	dev->posted--;
	if (dev->closing)
		return;
	if (cqe->res < 0 && cqe->res != -ECANCELED) {
		aio_dev_fail(dev, -cqe->res, "%s: cannot poll the session: %s",
			     dev->path, strerror(-cqe->res));
		return;
	}
	aio_poll_arm(dev);
}

void aio_poll_on_cancel(struct bdus_aio_dev *dev)
{
	/* 0, or -ENOENT if the poll had ended already: either way its last
	 * CQE comes or came, and it is not armed again while closing. */
	dev->stops--;
}

/* ioctl: req is IDLE again.  A receive that found no free request waits
 * for this (dev->starved), not for a wake-up, which may never come. */
static void aio_ioctl_put_free(struct bdus_aio_dev *dev, struct aio_request *req)
{
	req->next_free = dev->free;
	dev->free = req;
	if (dev->starved) {
		dev->starved = false;
		dev->readable = !dev->closing && !dev->ended;
	}
}

/* ------------------------------------------------------------------------- */
/* Exchanging */

/* What one transceive brought. */
struct aio_received {
	struct aio_request *req; /* a request arrived here, */
	const struct kbdus_request *descriptor; /* described so; */
	struct kbdus_request copy; /* (ioctl: the descriptor) */
	uint32_t notification; /* or this notification (if req is NULL) */
};

/* One non-blocking KBDUS_IOCTL_TRANSCEIVE: the reply of *reply (if any)
 * and, into a free request (or *reply's, once its reply went), a receive
 * if got is not NULL.  Returns 0 or an errno. */
static int aio_ioctl_transceive(struct bdus_aio_dev *dev,
				struct aio_request *reply,
				struct aio_received *got)
{
	struct kbdus_transceive_args args;
	struct kbdus_reply kreply;
	struct aio_request *into = NULL;
	int err;

	memset(&args, 0, sizeof(args));
	if (reply) {
		memset(&kreply, 0, sizeof(kreply));
		kreply.handle = reply->handle;
		kreply.error = reply->result;
		args.reply = (uintptr_t)&kreply;
		args.payload = (uintptr_t)reply->slot_buffer;
		into = reply;
	}
	if (got) {
		if (!into) {
			into = dev->free;
			if (!into) {
				dev->starved = true; /* all the driver's */
				return EAGAIN;
			}
			dev->free = into->next_free;
		}
		memset(&got->copy, 0, sizeof(got->copy));
		args.request = (uintptr_t)&got->copy;
		args.payload = (uintptr_t)into->slot_buffer;
		args.flags = KBDUS_TRANSCEIVE_NONBLOCK;
	}
	args.payload_size = dev->buffer_size;

	err = ioctl(dev->fd, KBDUS_IOCTL_TRANSCEIVE, &args) < 0 ? errno : 0;

	if (!err && got && got->copy.handle) {
		got->req = into;
		got->descriptor = &got->copy;
		return 0;
	}
	if (!err && got)
		got->notification = got->copy.type; /* handle 0 */
	/* Nothing arrived in into: it is free again (a reply that went, or
	 * was refused, is done with it). */
	if (into)
		aio_ioctl_put_free(dev, into);
	return err;
}

/* One non-blocking KBDUS_IOCTL_MMAP_TRANSCEIVE, as above. */
static int aio_mmap_transceive(struct bdus_aio_dev *dev,
			       struct aio_request *reply,
			       struct aio_received *got)
{
	struct kbdus_mmap_transceive_args args;

	memset(&args, 0, sizeof(args));
	if (reply) {
		args.reply_handle = reply->handle;
		args.reply_error = reply->result;
	}
	args.flags = got ? KBDUS_MMAP_NONBLOCK : KBDUS_MMAP_NO_RECEIVE;
	if (ioctl(dev->fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &args) < 0)
		return errno;
	if (!got)
		return 0;
	if (args.slot == KBDUS_NO_SLOT) {
		got->notification = args.type;
		return 0;
	}
	if (args.slot >= dev->num_requests)
		return EPROTO;
	got->req = &dev->requests[args.slot];
	got->descriptor = &dev->session->descriptors[args.slot];
	return 0;
}

/*
 * mmap: kbdus delivered into a slot whose request the driver still holds.
 * That request timed out, and its tag took a new one; the slot's buffer is
 * the driver's until it completes the old request (whose reply kbdus will
 * refuse).  The new request fails at once rather than share the buffer.
 */
static void aio_mmap_refuse(struct bdus_aio_dev *dev, uint64_t handle)
{
	struct kbdus_mmap_transceive_args args;

	memset(&args, 0, sizeof(args));
	args.reply_handle = handle;
	args.reply_error = EIO;
	args.flags = KBDUS_MMAP_NO_RECEIVE;
	if (ioctl(dev->fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &args) < 0 &&
	    errno != ESTALE && errno != EINVAL)
		aio_dev_fail(dev, errno, "%s: kbdus refused a reply: %s",
			     dev->path, strerror(errno));
}

/*
 * Sends reply's reply (if reply is not NULL) and receives one request or
 * notification if the device still takes them; hands out what came.
 * false once nothing more may come now (no request waits, or dev ended or
 * failed).
 */
static bool aio_poll_exchange(struct bdus_aio_dev *dev,
			      struct aio_request *reply)
{
	bool receive = !dev->closing && !dev->ended;
	struct aio_received got = { 0 };
	int err;

	if (!reply && !receive) {
		dev->readable = false;
		return false;
	}
	if (reply)
		atomic_store_explicit(&reply->state, AIO_REQ_IDLE,
				      memory_order_relaxed);
	if (dev->transport == &aio_ioctl_transport)
		err = aio_ioctl_transceive(dev, reply, receive ? &got : NULL);
	else
		err = aio_mmap_transceive(dev, reply, receive ? &got : NULL);

	switch (err) {
	case 0:
		break;
	case EAGAIN: /* nothing waits (a reply in the call went) */
		dev->readable = false;
		return false;
	case EINTR: /* nothing was received: again */
		return receive;
	case ESTALE: /* the reply's request timed out or was requeued, */
	case EINVAL: /* or so the UAPI says for a stale handle */
		if (reply) {
			/* Refused alone: nothing was received, so the
			 * receive is owed. */
			dev->readable = receive;
			return receive;
		}
		/* A receive alone must not fail: */
		/* fallthrough */
	default:
		aio_dev_fail(dev, err, "%s: kbdus refused a %s: %s", dev->path,
			     receive ? "receive" : "reply", strerror(err));
		return false;
	}
	if (!receive)
		return false;
	if (!got.req)
		return aio_dev_on_notification(dev, got.notification);
	if (atomic_load_explicit(&got.req->state, memory_order_relaxed) !=
	    AIO_REQ_IDLE) {
		/* Only mmap lets kbdus pick the slot. */
		aio_mmap_refuse(dev, got.descriptor->handle);
		return !dev->ended && !dev->closing;
	}
	/* ioctl: a request is not bound to a slot, so neither to a queue. */
	got.req->public.queue = got.descriptor->queue;
	aio_dev_deliver(dev, got.req, got.descriptor);
	return true;
}

/* Receives while requests wait, at most one per request (so that one busy
 * device does not starve the others: process() comes back to it). */
static void aio_poll_receive(struct bdus_aio_dev *dev)
{
	for (uint32_t i = 0; i < dev->num_requests; i++)
		if (!dev->readable || !aio_poll_exchange(dev, NULL))
			return;
}

static bool aio_poll_commit(struct bdus_aio_dev *dev, struct aio_request *req)
{
	aio_poll_exchange(dev, req);
	return true;
}

const struct aio_transport aio_ioctl_transport = {
	.protocol = KBDUS_PROTOCOL_IOCTL,
	.start = aio_poll_start,
	.commit = aio_poll_commit,
	.stop = aio_poll_stop,
	.receive = aio_poll_receive,
};

const struct aio_transport aio_mmap_transport = {
	.protocol = KBDUS_PROTOCOL_MMAP,
	.start = aio_poll_start,
	.commit = aio_poll_commit,
	.stop = aio_poll_stop,
	.receive = aio_poll_receive,
};
