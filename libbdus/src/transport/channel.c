// SPDX-License-Identifier: MIT
/*
 * channel.c - one thread's exchange of replies and requests with kbdus, for
 * either protocol.  Several threads exchange on the same session fd at once;
 * kbdus hands each request to exactly one of them.
 *
 * A reply travels with the next receive, saving a system call per request.
 * Two cases need care:
 *   - EINTR: kbdus consumes the reply before it waits for a request, so an
 *     interrupted wait has already delivered the reply.
 *   - A rejected reply: kbdus refuses a reply for a request that timed out
 *     or was requeued (ESTALE), and then receives nothing.  The reply is
 *     dropped and the receive is tried again on its own.  EINVAL is treated
 *     the same (the UAPI's overview names it for stale handles); if the
 *     receive alone fails too, that failure is reported.
 */

#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

bool bdus_channel_init(struct bdus_channel *channel,
		       struct bdus_session *session, const struct bdus_ctx *ctx)
{
	size_t page = bdus_page_size();
	size_t size = session->config.max_read_write_size;

	memset(channel, 0, sizeof(*channel));
	channel->session = session;
	channel->ctx = ctx;
	if (session->protocol != KBDUS_PROTOCOL_IOCTL)
		return true;

	/* ioctl arguments can be larger than the largest read or write. */
	if (session->config.supported_requests & KBDUS_REQ_BIT(KBDUS_REQ_IOCTL) &&
	    size < BDUS_MAX_IOCTL_SIZE)
		size = BDUS_MAX_IOCTL_SIZE;
	size = bdus_round_up(size ? size : page, page);

	if (ctx->ext && ctx->ext->alloc_buffers) {
		/* Callbacks get ctx without const: so does the allocator. */
		struct bdus_ctx *driver_ctx = (struct bdus_ctx *)ctx;

		channel->payload = ctx->ext->alloc_buffers(size, driver_ctx);
		if (!channel->payload)
			return bdus_fail(ENOMEM, "the driver's alloc_buffers "
						 "gave no memory for a %zu-byte "
						 "request buffer",
					 size);
		channel->payload_size = size;
		channel->driver_payload = true;
		if ((uintptr_t)channel->payload % page != 0) {
			bdus_channel_destroy(channel);
			return bdus_fail(EINVAL, "the driver's alloc_buffers "
						 "returned memory that is not "
						 "page-aligned");
		}
		return true;
	}
	channel->payload = aligned_alloc(page, size);
	if (!channel->payload)
		return bdus_fail_errno(ENOMEM,
				       "cannot allocate a %zu-byte request buffer",
				       size);
	channel->payload_size = size;
	return true;
}

void bdus_channel_destroy(struct bdus_channel *channel)
{
	if (channel->driver_payload)
		channel->ctx->ext->free_buffers(channel->payload,
						channel->payload_size,
						(struct bdus_ctx *)channel->ctx);
	else
		free(channel->payload);
	channel->payload = NULL;
	channel->driver_payload = false;
}

void bdus_channel_set_reply(struct bdus_channel *channel,
			    const struct bdus_message *message, int32_t error)
{
	channel->reply_pending = true;
	channel->reply_handle = message->handle;
	channel->reply_error = error;
	channel->reply_type = message->type;
	channel->reply_passthrough.num_extents = 0;
	if (error == 0 && message->passthrough.num_extents)
		channel->reply_passthrough = message->passthrough;
}

static bool has_passthrough(const struct bdus_channel *channel)
{
	return channel->reply_passthrough.num_extents != 0;
}

/* ------------------------------------------------------------------------- */
/* ioctl protocol */

static int ioctl_transceive(struct bdus_channel *channel,
			    struct kbdus_request *request)
{
	struct kbdus_reply reply;
	struct kbdus_transceive_args args;

	memset(&reply, 0, sizeof(reply));
	memset(&args, 0, sizeof(args));
	if (channel->reply_pending) {
		reply.handle = channel->reply_handle;
		reply.error = channel->reply_error;
		if (has_passthrough(channel)) {
			reply.flags = KBDUS_REPLY_PASSTHROUGH;
			reply.passthrough =
				(uintptr_t)&channel->reply_passthrough;
		}
		args.reply = (uintptr_t)&reply;
	}
	args.request = (uintptr_t)request;
	args.payload = (uintptr_t)channel->payload;
	args.payload_size = (uint32_t)channel->payload_size;

	return ioctl(channel->session->fd, KBDUS_IOCTL_TRANSCEIVE, &args) < 0 ?
		       errno : 0;
}

static void message_from_request(struct bdus_message *message,
				 const struct kbdus_request *request,
				 char *payload)
{
	message->handle = request->handle;
	message->offset = request->offset;
	message->size = request->size;
	message->ioctl_command = request->ioctl_command;
	message->type = request->type;
	message->payload = payload;
}

/* ------------------------------------------------------------------------- */
/* mmap protocol */

static int mmap_transceive(struct bdus_channel *channel,
			   struct kbdus_mmap_transceive_args *args,
			   uint32_t flags)
{
	memset(args, 0, sizeof(*args));
	if (channel->reply_pending) {
		args->reply_handle = channel->reply_handle;
		args->reply_error = channel->reply_error;
		if (has_passthrough(channel)) {
			flags |= KBDUS_MMAP_REPLY_PASSTHROUGH;
			args->reply_passthrough =
				(uintptr_t)&channel->reply_passthrough;
		}
	}
	args->flags = flags;

	return ioctl(channel->session->fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, args) <
			       0 ?
		       errno :
		       0;
}

static int message_from_slot(const struct bdus_session *session,
			     const struct kbdus_mmap_transceive_args *args,
			     struct bdus_message *message)
{
	memset(message, 0, sizeof(*message));
	message->type = args->type;
	if (args->slot == KBDUS_NO_SLOT)
		return 0; /* a notification */
	if (args->slot >= session->num_slots)
		return EPROTO;

	message_from_request(message, &session->descriptors[args->slot],
			     session->buffers +
				     (size_t)args->slot * session->buffer_size);
	return 0;
}

/* ------------------------------------------------------------------------- */

static int transceive_once(struct bdus_channel *channel,
			   struct bdus_message *message)
{
	struct bdus_session *session = channel->session;
	int err;

	if (session->protocol == KBDUS_PROTOCOL_IOCTL) {
		struct kbdus_request request;

		memset(&request, 0, sizeof(request));
		err = ioctl_transceive(channel, &request);
		if (!err)
			message_from_request(message, &request,
					     channel->payload);
		return err;
	} else {
		struct kbdus_mmap_transceive_args args;

		err = mmap_transceive(channel, &args, 0);
		return err ? err : message_from_slot(session, &args, message);
	}
}

static bool is_rejected_reply(int err)
{
	return err == ESTALE || err == EINVAL;
}

/* kbdus refuses a passthrough it cannot serve, and nothing else happens:
 * the request is still ours.  It fails instead, and the caller sends
 * again. */
static bool refused_passthrough(struct bdus_channel *channel, int err)
{
	switch (err) {
	case EINVAL:
	case EBADF:
	case EOPNOTSUPP:
	case EFAULT:
	case ENOMEM:
		break;
	default:
		return false;
	}
	if (!channel->reply_pending || !has_passthrough(channel))
		return false;
	bdus_log_refused_passthrough(channel->ctx, channel->reply_type, err);
	channel->reply_passthrough.num_extents = 0;
	channel->reply_error = EIO;
	return true;
}

int bdus_channel_exchange(struct bdus_channel *channel,
			  struct bdus_message *message)
{
	int err = transceive_once(channel, message);

	if (refused_passthrough(channel, err))
		err = transceive_once(channel, message);
	if (is_rejected_reply(err) && channel->reply_pending) {
		/* A stale reply: drop it and just receive. */
		channel->reply_pending = false;
		err = transceive_once(channel, message);
	}

	if (err == 0 || err == EINTR)
		channel->reply_pending = false;
	return err;
}

int bdus_channel_flush_reply(struct bdus_channel *channel)
{
	struct bdus_session *session = channel->session;
	int err;

	if (!channel->reply_pending)
		return 0;

	do {
		if (session->protocol == KBDUS_PROTOCOL_IOCTL) {
			err = ioctl_transceive(channel, NULL);
		} else {
			struct kbdus_mmap_transceive_args args;

			err = mmap_transceive(channel, &args,
					      KBDUS_MMAP_NO_RECEIVE);
		}
	} while (refused_passthrough(channel, err));

	channel->reply_pending = false;
	/* A stale reply does not matter any more. */
	return is_rejected_reply(err) ? 0 : err;
}
