// SPDX-License-Identifier: MIT
/*
 * device.c - devices of an asynchronous context: creating or attaching one
 * (a session of any protocol, served through its transport), turning what
 * arrives into events, and closing it.
 *
 * Closing stops the transport (uring: a STOP of every queue, which gives
 * back the commands posted and refuses new ones, a commit still counting;
 * ioctl and mmap: the poll is cancelled), so the device leaves the shared
 * ring without disturbing the other devices on it.  Once nothing of it is
 * in the kernel or in the driver's hands, its session closes, which is a
 * driver's exit for kbdus: a recoverable device keeps what was left
 * uncompleted.
 */

#include "aio/aio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* ------------------------------------------------------------------------- */
/* Room */

/* The CQ entries a device needs.  uring: one per slot (two with a shared
 * pool: a COMMIT and the next FETCH), one per queue's STOP; ioctl, mmap:
 * its poll, and that poll's cancel. */
static uint32_t aio_cq_need(const struct bdus_aio *aio, uint32_t protocol,
			    uint32_t num_queues, uint32_t depth)
{
	if (protocol != BDUS_PROTOCOL_URING)
		return 2;
	num_queues = num_queues ? num_queues : 1;
	depth = depth ? depth : KBDUS_DEFAULT_QUEUE_DEPTH;
	return num_queues * depth * (aio->pool.count ? 2 : 1) + num_queues;
}

bool aio_check_pool_fits(const struct bdus_aio *aio,
			 uint32_t max_read_write_size)
{
	if (aio->pool.count && max_read_write_size > aio->pool.buffer_size)
		return bdus_fail(EINVAL,
				 "max_read_write_size (%" PRIu32 ") exceeds the "
				 "context's shared_buffer_size (%" PRIu32 ")",
				 max_read_write_size, aio->pool.buffer_size);
	return true;
}

static bool aio_check_room(const struct bdus_aio *aio, uint32_t need)
{
	if (need > aio->cq_capacity - aio->cq_reserved)
		return bdus_fail(ENOSPC,
				 "the context has room for %u more commands, "
				 "and the device needs %" PRIu32 " (queues x "
				 "depth, plus one per queue): use fewer queues or "
				 "a smaller depth, or another context",
				 aio->cq_capacity - aio->cq_reserved, need);
	return true;
}

/* ------------------------------------------------------------------------- */
/* Setting up */

static struct bdus_aio_dev *aio_dev_alloc(struct bdus_aio *aio,
					  const struct bdus_attrs *attrs,
					  void *user_data)
{
	struct bdus_aio_dev *dev = calloc(1, sizeof(*dev));

	if (!dev) {
		bdus_fail(ENOMEM, "cannot allocate a device");
		return NULL;
	}
	dev->aio = aio;
	dev->user_data = user_data;
	if (attrs) /* else copied from the handle it shares */
		dev->attrs = *attrs;
	dev->fd = -1;
	atomic_init(&dev->close_asked, false);
	return dev;
}

/* The requests of dev's slots, before it serves them: false (failed) if
 * the context has no room for its commands. */
bool aio_dev_alloc_requests(struct bdus_aio_dev *dev, uint32_t count,
			    uint32_t depth)
{
	struct bdus_aio *aio = dev->aio;

	dev->cq_reserved =
		aio_cq_need(aio, dev->transport->protocol, count, depth);
	if (!aio_check_room(aio, dev->cq_reserved)) {
		dev->cq_reserved = 0;
		return false;
	}
	dev->requests = calloc((size_t)count * depth, sizeof(*dev->requests));
	if (!dev->requests) {
		dev->cq_reserved = 0;
		return bdus_fail(ENOMEM, "cannot allocate %" PRIu32 " requests",
				 count * depth);
	}
	aio->cq_reserved += dev->cq_reserved;
	return true;
}

/* Once dev has its queues: its requests, a place among the context's
 * devices, and the transport begins (uring: the first FETCH of every
 * slot). */
static void aio_dev_serve(struct bdus_aio_dev *dev)
{
	struct bdus_aio *aio = dev->aio;
	uint32_t depth = dev->shared->queue_depth;

	for (uint32_t i = 0; i < dev->num_requests; i++) {
		struct aio_request *req = &dev->requests[i];
		uint32_t slot = dev->first_slot + i;

		req->public.dev = dev;
		req->public.dev_user_data = dev->user_data;
		req->public.queue = (uint16_t)(slot / depth);
		req->tag = (uint16_t)(slot % depth);
		if (dev->buffers) { /* ioctl: ours, for any request */
			req->slot_buffer =
				dev->buffers + (size_t)i * dev->buffer_size;
			req->next_free = dev->free;
			dev->free = req;
		} else if (!aio->pool.count) { /* uring, mmap: the slot's */
			req->slot_buffer = dev->session->buffers +
					   (size_t)slot * dev->session->buffer_size;
		} /* else FETCHes without a buffer: the pool's come later */
		atomic_init(&req->state, AIO_REQ_IDLE);
	}
	dev->next = aio->devices;
	aio->devices = dev;

	dev->transport->start(dev); /* a failure shows in process() */
	aio_submit(aio);
}

/* ioctl: kbdus copies into buffers the receive names, one per request
 * here; ioctl requests' arguments may be larger than a read or write. */
static bool aio_dev_alloc_buffers(struct bdus_aio_dev *dev)
{
	const struct kbdus_device_config *config = &dev->session->config;
	size_t page = bdus_page_size();
	size_t size = config->max_read_write_size;

	if (dev->transport != &aio_ioctl_transport)
		return true;
	if ((config->supported_requests & KBDUS_REQ_BIT(KBDUS_REQ_IOCTL)) &&
	    size < BDUS_MAX_IOCTL_SIZE)
		size = BDUS_MAX_IOCTL_SIZE;
	size = bdus_round_up(size ? size : page, page);
	dev->buffer_size = (uint32_t)size;
	dev->buffers_size = size * dev->num_requests;
	dev->buffers = aligned_alloc(page, dev->buffers_size);
	if (!dev->buffers) {
		dev->buffers_size = 0;
		return bdus_fail(ENOMEM, "cannot allocate %zu bytes of request "
					 "buffers",
				 size * dev->num_requests);
	}
	return true;
}

/* ioctl and mmap sessions receive from every queue at once. */
static bool aio_check_all_queues(const struct bdus_aio_dev *dev)
{
	if (dev->transport == &aio_uring_transport ||
	    dev->num_queues == dev->session->config.num_queues)
		return true;
	return bdus_fail(EINVAL,
			 "%s: a device served over the %s protocol is served "
			 "whole: dattrs first_queue and num_queues are for "
			 "uring",
			 dev->path,
			 bdus_protocol_name(dev->session->protocol));
}

/* Once its session exists: the shared part, the effective attributes, and
 * serving its queues (dattrs->first_queue, num_queues). */
static bool aio_dev_start(struct bdus_aio_dev *dev, struct bdus_session *session,
			  const struct bdus_ops *ops,
			  const struct bdus_aio_dev_attrs *dattrs,
			  bool is_rerun)
{
	struct bdus_aio *aio = dev->aio;
	const struct kbdus_device_config *config = &session->config;
	uint32_t depth = config->queue_depth;

	dev->transport = aio_transport_for(session->protocol);
	if (!aio_shared_init(dev, session, depth))
		return false; /* the caller closes the session */
	session->fd = -1; /* moved */
	dev->id = config->id;
	bdus_device_path(dev->path, sizeof(dev->path), config->id);
	/* Create and attach checked that requests fit the pool's buffers
	 * (kbdus only ever lowers max_read_write_size). */
	if (aio->pool.count)
		bdus_session_drop_buffers(dev->session);
	dev->attrs.max_concurrent_callbacks = 1;
	bdus_effective_attrs(&dev->attrs, &dev->ext, ops, &dev->session->config,
			     dev->session->protocol, is_rerun);

	/* Last: once it has queues, other contexts may share it. */
	if (!aio_shared_claim(dev, dattrs->first_queue, dattrs->num_queues) ||
	    !aio_check_all_queues(dev) ||
	    !aio_dev_alloc_requests(dev, dev->num_queues, depth) ||
	    !aio_dev_alloc_buffers(dev))
		return false;
	aio_dev_serve(dev);
	return true;
}

/* What creating and attaching check and copy first. */
struct aio_dev_args {
	struct bdus_aio_dev_attrs dattrs;
	struct bdus_ext_attrs ext;
	struct bdus_ops ops; /* placeholders for the requests served */
};

static bool aio_dev_args_init(struct aio_dev_args *args, struct bdus_aio *aio,
			      const char *function,
			      const struct bdus_attrs *attrs,
			      const struct bdus_ext_attrs *ext, size_t ext_size,
			      const struct bdus_aio_dev_attrs *dattrs,
			      size_t dattrs_size)
{
	return aio_check_owner(aio, function) &&
	       aio_copy_dattrs(&args->dattrs, dattrs, dattrs_size) &&
	       aio_shape_ops(&args->ops, args->dattrs.requests) &&
	       (attrs || bdus_fail(EINVAL, "attrs must not be NULL")) &&
	       bdus_copy_ext(&args->ext, ext, ext_size) &&
	       aio_check_ext(&args->ext) &&
	       aio_check_protocol(aio, &args->ext.protocol);
}

/* The queues a new device's handle serves, checked against
 * ext->num_queues if set, before kbdus makes the device (which may still
 * give it fewer, and checks them then); *count: how many (0: unknown). */
static bool aio_check_create_queues(const struct aio_dev_args *args,
				    uint32_t *count)
{
	*count = args->dattrs.num_queues;
	return !args->ext.num_queues ||
	       aio_check_queue_range("the new device (ext->num_queues)",
				     args->ext.num_queues,
				     args->dattrs.first_queue, count);
}

BDUS_API struct bdus_aio_dev *
bdus_aio_create_dev_sized(struct bdus_aio *aio, const struct bdus_attrs *attrs,
			  const struct bdus_ext_attrs *ext, size_t ext_size,
			  const struct bdus_aio_dev_attrs *dattrs,
			  size_t dattrs_size, void *user_data)
{
	struct kbdus_device_config config;
	struct bdus_session session;
	struct aio_dev_args args;
	struct bdus_aio_dev *dev;
	uint32_t count;

	if (!aio_dev_args_init(&args, aio, "bdus_aio_create_dev", attrs, ext,
			       ext_size, dattrs, dattrs_size) ||
	    !bdus_validate_attrs_for_run(attrs) ||
	    !aio_check_create_queues(&args, &count) ||
	    !aio_check_room(aio, aio_cq_need(aio, args.ext.protocol, count,
					     args.ext.queue_depth)))
		return NULL;

	dev = aio_dev_alloc(aio, attrs, user_data);
	if (!dev)
		return NULL;
	dev->ext = args.ext;
	bdus_config_for_run(&config, &args.ops, attrs, &args.ext, false);
	/* Exactly the variants asked for (ops only knows "write_zeros"). */
	config.supported_requests = args.dattrs.requests;
	if (!aio_check_pool_fits(aio, config.max_read_write_size))
		goto err_free;
	if (aio->pool.count && config.max_read_write_size == 0)
		config.max_read_write_size = aio->pool.buffer_size;
	if (!bdus_session_create(&session, &config, args.ext.protocol))
		goto err_free;
	if (!aio_dev_start(dev, &session, &args.ops, &args.dattrs, false))
		goto err_destroy;
	return dev;

err_destroy: {
	/* Nobody knows of it yet.  The session is the device's own until
	 * aio_dev_start() moved it into the shared part. */
	struct kbdus_destroy_args destroy = {
		.id = session.config.id,
		.flags = KBDUS_DESTROY_NO_FLUSH,
	};
	struct bdus_saved_error error;

	bdus_save_error(&error);
	bdus_ioctl_retry(dev->shared ? dev->fd : session.fd,
			 KBDUS_IOCTL_DESTROY_DEVICE, &destroy);
	if (!dev->shared)
		bdus_session_close(&session);
	bdus_restore_error(&error);
}
err_free:
	aio_dev_free(dev);
	return NULL;
}

BDUS_API struct bdus_aio_dev *
bdus_aio_attach_dev_sized(struct bdus_aio *aio, uint64_t dev_id,
			  const struct bdus_attrs *attrs,
			  const struct bdus_ext_attrs *ext, size_t ext_size,
			  const struct bdus_aio_dev_attrs *dattrs,
			  size_t dattrs_size, void *user_data)
{
	struct kbdus_device_config config;
	struct bdus_session session;
	struct aio_dev_args args;
	struct bdus_aio_dev *dev;
	uint32_t count;
	char path[32];

	if (!aio_dev_args_init(&args, aio, "bdus_aio_attach_dev", attrs, ext,
			       ext_size, dattrs, dattrs_size))
		return NULL;
	/* Checked before attaching: attaching ends the current driver. */
	count = args.dattrs.num_queues;
	bdus_device_path(path, sizeof(path), dev_id);
	if (!bdus_validate_against_device(dev_id, &args.ops, attrs, &args.ext,
					  false, &config) ||
	    !aio_check_queue_range(path, config.num_queues,
				   args.dattrs.first_queue, &count) ||
	    !aio_check_room(aio, aio_cq_need(aio, args.ext.protocol, count,
					     config.queue_depth)) ||
	    !aio_check_pool_fits(aio, config.max_read_write_size))
		return NULL;
	if ((config.supported_requests & ~args.dattrs.requests) != 0) {
		bdus_fail(EINVAL,
			  "bdus-%" PRIu64 " serves request types 0x%" PRIx32
			  " that dattrs->requests (0x%" PRIx32 ") lacks",
			  dev_id, config.supported_requests,
			  args.dattrs.requests);
		return NULL;
	}

	dev = aio_dev_alloc(aio, attrs, user_data);
	if (!dev)
		return NULL;
	dev->ext = args.ext;
	if (!bdus_session_attach(&session, dev_id, args.ext.protocol))
		goto err_free;
	/* On failure, closing the session gives the device back. */
	if (!aio_dev_start(dev, &session, &args.ops, &args.dattrs, true)) {
		if (!dev->shared)
			bdus_session_close(&session);
		goto err_free;
	}
	return dev;

err_free:
	aio_dev_free(dev);
	return NULL;
}

BDUS_API struct bdus_aio_dev *
bdus_aio_share_dev(struct bdus_aio *aio, struct bdus_aio_dev *other,
		   uint32_t first_queue, uint32_t num_queues, void *user_data)
{
	struct bdus_aio_dev *dev;

	if (!aio_check_owner(aio, "bdus_aio_share_dev"))
		return NULL;
	if (!other) {
		bdus_fail(EINVAL, "dev must not be NULL");
		return NULL;
	}
	/* other is read only once found live, under the lock (share.c). */
	dev = aio_dev_alloc(aio, NULL, user_data);
	if (!dev)
		return NULL;
	if (!aio_shared_join(dev, other, first_queue, num_queues)) {
		aio_dev_free(dev);
		return NULL;
	}
	aio_dev_serve(dev);
	return dev;
}

/* ------------------------------------------------------------------------- */
/* Accessors */

BDUS_API uint64_t bdus_aio_get_dev_id(const struct bdus_aio_dev *dev)
{
	return dev->id;
}

BDUS_API const char *bdus_aio_get_dev_path(const struct bdus_aio_dev *dev)
{
	return dev->path;
}

BDUS_API const struct bdus_attrs *
bdus_aio_get_dev_attrs(const struct bdus_aio_dev *dev)
{
	return &dev->attrs;
}

BDUS_API const struct bdus_ext_attrs *
bdus_aio_get_dev_ext_attrs(const struct bdus_aio_dev *dev)
{
	return &dev->ext;
}

/* ------------------------------------------------------------------------- */
/* Commands coming back */

/* The request type the driver sees, or 0 for one it cannot serve. */
static uint32_t aio_request_type(uint32_t kbdus_type)
{
	switch (kbdus_type) {
	case KBDUS_REQ_READ:
		return BDUS_AIO_READ;
	case KBDUS_REQ_WRITE:
		return BDUS_AIO_WRITE;
	case KBDUS_REQ_WRITE_ZEROS_NO_UNMAP:
	case KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP:
		return BDUS_AIO_WRITE_ZEROS;
	case KBDUS_REQ_FUA_WRITE:
		return BDUS_AIO_FUA_WRITE;
	case KBDUS_REQ_FLUSH:
		return BDUS_AIO_FLUSH;
	case KBDUS_REQ_DISCARD:
		return BDUS_AIO_DISCARD;
	case KBDUS_REQ_SECURE_ERASE:
		return BDUS_AIO_SECURE_ERASE;
	case KBDUS_REQ_IOCTL:
		return BDUS_AIO_IOCTL;
	default:
		return 0;
	}
}

static bool aio_has_payload(uint32_t kbdus_type, uint32_t ioctl_command)
{
	switch (kbdus_type) {
	case KBDUS_REQ_READ:
	case KBDUS_REQ_WRITE:
	case KBDUS_REQ_FUA_WRITE:
		return true;
	case KBDUS_REQ_IOCTL:
		return _IOC_DIR(ioctl_command) != _IOC_NONE;
	default:
		return false;
	}
}

void aio_dev_deliver(struct bdus_aio_dev *dev, struct aio_request *req,
		     const struct kbdus_request *d)
{
	struct bdus_aio_request *r = &req->public;
	uint32_t kbdus_type;

	/* Once closing, it stays uncompleted (see bdus_aio_close_dev()). */
	if (dev->closing)
		return;
	kbdus_type = d->type;
	r->type = aio_request_type(kbdus_type);
	if (!r->type) {
		aio_dev_fail(dev, EPROTO,
			     "%s: kbdus delivered a request of unknown type "
			     "%" PRIu32,
			     dev->path, kbdus_type);
		return;
	}
	r->size = d->size;
	r->offset = d->offset;
	req->handle = d->handle;
	r->ioctl_command = d->ioctl_command;
	r->may_unmap = kbdus_type == KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP;
	r->buffer = NULL;
	r->user_data = NULL;
	req->kbdus_type = kbdus_type;
	dev->held++;
	if (!aio_has_payload(kbdus_type, d->ioctl_command)) {
		aio_dev_hand_out(dev, req);
	} else if (dev->aio->pool.count) {
		aio_pool_take(dev, req); /* hands it out once it has a buffer */
	} else {
		r->buffer = req->slot_buffer;
		aio_dev_hand_out(dev, req);
	}
}

void aio_dev_hand_out(struct bdus_aio_dev *dev, struct aio_request *req)
{
	atomic_store_explicit(&req->state, AIO_REQ_HELD, memory_order_release);
	aio_queue_event(dev->aio, BDUS_AIO_REQUEST, dev, &req->public);
}

bool aio_dev_on_notification(struct bdus_aio_dev *dev, uint32_t type)
{
	switch (type) {
	case KBDUS_REQ_DEVICE_AVAILABLE:
		return dev->closing ||
		       aio_queue_event(dev->aio, BDUS_AIO_DEVICE_AVAILABLE,
				       dev, NULL);
	case KBDUS_REQ_TERMINATE:
		/* It comes again with every command or receive: report it
		 * once. */
		if (!dev->ended && !dev->closing) {
			dev->ended = true;
			aio_queue_event(dev->aio, BDUS_AIO_DEVICE_TERMINATED,
					dev, NULL);
		}
		return true;
	default:
		aio_dev_fail(dev, EPROTO,
			     "%s: kbdus sent a notification of unknown type "
			     "%" PRIu32,
			     dev->path, type);
		return false;
	}
}

void aio_dev_on_slot(struct bdus_aio_dev *dev, struct aio_request *req,
		     int32_t res)
{
	atomic_store_explicit(&req->state, AIO_REQ_IDLE, memory_order_relaxed);
	switch (res) {
	case KBDUS_URING_RES_REQUEST:
		aio_dev_deliver(dev, req,
				&dev->session->descriptors
					 [dev->first_slot + (req - dev->requests)]);
		return;
	case KBDUS_URING_RES_DEVICE_AVAILABLE:
		/* The notification took the slot's command: post it again. */
		if (aio_dev_on_notification(dev, KBDUS_REQ_DEVICE_AVAILABLE) &&
		    !dev->closing)
			aio_queue_fetch(dev, req);
		return;
	case KBDUS_URING_RES_TERMINATE:
		aio_dev_on_notification(dev, KBDUS_REQ_TERMINATE);
		return;
	case -ECANCELED:
		if (dev->closing)
			return; /* our STOP gave it back */
		break;
	}
	if (res < 0)
		aio_dev_fail(dev, -res,
			     "%s: kbdus failed the command of queue %u, tag %u: "
			     "%s",
			     dev->path, (unsigned)req->public.queue,
			     (unsigned)req->tag, strerror(-res));
	else
		aio_dev_fail(dev, EPROTO,
			     "%s: kbdus completed a command with unknown result "
			     "%" PRId32,
			     dev->path, res);
}

/* ------------------------------------------------------------------------- */
/* Closing */

void aio_dev_begin_close(struct bdus_aio_dev *dev)
{
	if (dev->closing)
		return;
	dev->closing = true;
	aio_shared_ask_close(dev);
	aio_pool_forget_dev(dev);
	if (dev->transport) /* not if it never started */
		dev->transport->stop(dev);
}

void aio_dev_fail(struct bdus_aio_dev *dev, int errnum, const char *fmt, ...)
{
	va_list args;

	if (!dev->ended && !dev->closing) {
		va_start(args, fmt);
		vsnprintf(dev->error_message, sizeof(dev->error_message), fmt,
			  args);
		va_end(args);
		dev->error = errnum;
		dev->ended = true;
		aio_queue_event(dev->aio, BDUS_AIO_DEVICE_FAILED, dev, NULL);
	}
	aio_dev_begin_close(dev);
}

BDUS_API void bdus_aio_close_dev(struct bdus_aio_dev *dev)
{
	if (aio_check_owner(dev->aio, "bdus_aio_close_dev")) {
		aio_dev_begin_close(dev);
		aio_submit(dev->aio);
	}
}

/* dev's close finished and nothing of it is in the kernel: its reference
 * (the last handle closes the session) and its room in the CQ. */
static void aio_dev_release(struct bdus_aio_dev *dev)
{
	aio_shared_put(dev);
	dev->aio->cq_reserved -= dev->cq_reserved;
	dev->cq_reserved = 0;
}

void aio_dev_on_late_cqe(struct bdus_aio_dev *dev)
{
	if (--dev->posted == 0)
		aio_dev_release(dev);
}

void aio_dev_finish_close(struct bdus_aio_dev *dev)
{
	struct bdus_aio *aio = dev->aio;

	if (!dev->closing || dev->closed || (dev->posted && !dev->stop_refused) ||
	    dev->stops || dev->held)
		return;
	dev->closed = true;
	/* With commands still posted (a STOP was refused), the session and
	 * its buffers stay, and so does dev after CLOSED was taken, until
	 * they come back (aio_dev_on_late_cqe()) or the ring is torn down. */
	if (!dev->posted)
		aio_dev_release(dev);
	aio_queue_event(aio, BDUS_AIO_DEVICE_CLOSED, dev, NULL);
}

void aio_dev_free(struct bdus_aio_dev *dev)
{
	aio_dev_release(dev);
	free(dev->requests);
	free(dev->buffers);
	free(dev);
}
