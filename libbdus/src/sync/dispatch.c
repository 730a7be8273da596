// SPDX-License-Identifier: MIT
/*
 * dispatch.c - calls the driver's callback for a request and turns its
 * result into the errno value of the reply.
 */

#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>

/* The errno values that mean something specific to the block layer (the
 * zone resource ones only on zoned devices, where kbdus keeps them). */
static int32_t data_reply_error(int ret)
{
	switch (ret) {
	case 0:
	case ENOLINK:
	case ENOSPC:
	case ETIMEDOUT:
	case ETOOMANYREFS:
	case EOVERFLOW:
		return ret;
	default:
		return EIO;
	}
}

/* ioctl callers see any errno; anything that is not one becomes EIO. */
static int32_t ioctl_reply_error(int ret)
{
	return ret >= 0 && ret < 4096 ? ret : EIO;
}

static void log_request(const struct bdus_ctx *ctx,
			const struct bdus_message *message, unsigned worker)
{
	const char *name = bdus_request_type_name(message->type);

	switch (message->type) {
	case KBDUS_REQ_FLUSH:
		bdus_log(ctx, "worker %u: %s()", worker, name);
		break;
	case KBDUS_REQ_IOCTL:
		bdus_log(ctx, "worker %u: ioctl(command=0x%08" PRIx32
			 ", size=%" PRIu32 ")",
			 worker, message->ioctl_command, message->size);
		break;
	case KBDUS_REQ_WRITE_ZEROS_NO_UNMAP:
	case KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP:
		bdus_log(ctx, "worker %u: %s(offset=%" PRIu64 ", size=%" PRIu32
			 ", may_unmap=%s)",
			 worker, name, message->offset, message->size,
			 message->type == KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP ?
				 "true" : "false");
		break;
	default:
		bdus_log(ctx, "worker %u: %s(offset=%" PRIu64 ", size=%" PRIu32
			 ")",
			 worker, name, message->offset, message->size);
		break;
	}
}

static int call_ioctl(struct bdus_ctx *ctx, const struct bdus_message *message)
{
	uint32_t command = message->ioctl_command;
	void *argument = NULL;

	/* kbdus sends the whole argument, zeroed where the caller gives
	 * nothing, in the direction convention of the device. */
	if (_IOC_DIR(command) != _IOC_NONE)
		argument = message->payload;

	return ctx->ops->ioctl(command, argument, ctx);
}

static bool has_callback_for(const struct bdus_ctx *ctx, uint32_t type)
{
	if (type == KBDUS_REQ_WRITE_SAME)
		return ctx->ops->write_same != NULL;
	if (type <= KBDUS_REQ_IOCTL)
		return bdus_supported_requests(ctx->ops) & KBDUS_REQ_BIT(type);
	return bdus_is_data_type(type) &&
	       (bdus_zone_requests(ctx->ext) & KBDUS_REQ_BIT(type));
}

/* A zone append: the reply payload is where the data went, which kbdus
 * takes from the start of the buffer (after the data, which it no longer
 * needs). */
static int call_zone_append(struct bdus_ctx *ctx, struct bdus_message *message)
{
	uint64_t landed = 0;
	int ret = ctx->ext->zone_append(message->payload, message->offset,
					message->size, &landed, ctx);

	if (ret == 0)
		memcpy(message->payload, &landed, sizeof(landed));
	return ret;
}

/* ext->read_ref: the transport sends the data from where the driver keeps
 * it, or it is copied into the buffer here. */
static int call_read_ref(struct bdus_ctx *ctx, struct bdus_message *message)
{
	const char *data = NULL;
	int ret = ctx->ext->read_ref(&data, message->offset, message->size,
				     ctx);

	if (ret != 0)
		return ret;
	if (!data) {
		/* Never the slot's stale buffer, nor a crash in memcpy. */
		if (ctx->attrs->log)
			bdus_log(ctx, "read_ref returned 0 without setting "
				      "*data: the read fails with EIO");
		return EIO;
	}
	if (message->can_reply_from)
		message->reply_data = data;
	else
		memcpy(message->payload, data, message->size);
	return 0;
}

/* ext->write_ref: the transport has the data copied to where the driver
 * wants it, or it is copied from the buffer here. */
static int call_write_ref(struct bdus_ctx *ctx, struct bdus_message *message)
{
	char *data = NULL;
	int ret = ctx->ext->write_ref(&data, message->offset, message->size,
				      ctx);

	if (ret != 0)
		return ret;
	if (!data) {
		if (ctx->attrs->log)
			bdus_log(ctx, "write_ref returned 0 without setting "
				      "*data: the write fails with EIO");
		return EIO;
	}
	if (message->data_deferred)
		message->write_dest = data;
	else
		memcpy(data, message->payload, message->size);
	return 0;
}

bool bdus_passthrough_type(uint32_t type)
{
	switch (type) {
	case KBDUS_REQ_READ:
	case KBDUS_REQ_WRITE:
	case KBDUS_REQ_FUA_WRITE:
	case KBDUS_REQ_FLUSH:
	case KBDUS_REQ_DISCARD:
	case KBDUS_REQ_WRITE_ZEROS_NO_UNMAP:
	case KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP:
		return true;
	default:
		return false;
	}
}

_Static_assert(sizeof(struct bdus_extent) == sizeof(struct kbdus_extent) &&
		       BDUS_MAX_EXTENTS == KBDUS_PASSTHROUGH_MAX_EXTENTS,
	       "libbdus's extents are kbdus's");

/* ext->passthrough: true if it answered the request, by mapping it
 * (message->passthrough) or by failing it (*ret); false if the request's
 * callback is to serve it. */
static bool call_passthrough(struct bdus_ctx *ctx, struct bdus_message *message,
			     int *ret)
{
	struct bdus_extent extents[BDUS_MAX_EXTENTS];
	uint32_t num = 0;

	if (!ctx->ext->passthrough || !bdus_passthrough_type(message->type))
		return false;

	*ret = ctx->ext->passthrough(extents, &num,
				     (uint32_t)1 << message->type,
				     message->offset, message->size, ctx);
	if (*ret != 0)
		return true;
	if (num == 0)
		return false;
	if (num > BDUS_MAX_EXTENTS) {
		if (ctx->attrs->log)
			bdus_log(ctx,
				 "passthrough mapped a request onto %" PRIu32
				 " extents, more than %d: it fails with EIO",
				 num, BDUS_MAX_EXTENTS);
		*ret = EIO;
		return true;
	}
	message->passthrough.num_extents = num;
	memcpy(message->passthrough.extents, extents,
	       num * sizeof(extents[0]));
	return true;
}

void bdus_log_refused_passthrough(const struct bdus_ctx *ctx, uint32_t type,
				  int err)
{
	if (ctx && ctx->attrs->log)
		bdus_log(ctx, "kbdus refused the passthrough of a %s: %s; the "
			      "request fails with EIO",
			 bdus_request_type_name(type), strerror(err));
}

/* The callback for message->type must exist. */
static int call_callback(struct bdus_ctx *ctx, struct bdus_message *message)
{
	const struct bdus_ops *ops = ctx->ops;
	char *buffer = message->payload;
	uint64_t offset = message->offset;
	uint32_t size = message->size;

	switch (message->type) {
	case KBDUS_REQ_READ:
		if (ctx->ext->read_ref)
			return call_read_ref(ctx, message);
		return ops->read(buffer, offset, size, ctx);
	case KBDUS_REQ_WRITE:
		if (ctx->ext->write_ref)
			return call_write_ref(ctx, message);
		return ops->write(buffer, offset, size, ctx);
	case KBDUS_REQ_WRITE_SAME:
		return ops->write_same(buffer, offset, size, ctx);
	case KBDUS_REQ_WRITE_ZEROS_NO_UNMAP:
		return ops->write_zeros(offset, size, false, ctx);
	case KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP:
		return ops->write_zeros(offset, size, true, ctx);
	case KBDUS_REQ_FUA_WRITE:
		return ops->fua_write(buffer, offset, size, ctx);
	case KBDUS_REQ_FLUSH:
		return ops->flush(ctx);
	case KBDUS_REQ_DISCARD:
		return ops->discard(offset, size, ctx);
	case KBDUS_REQ_SECURE_ERASE:
		return ops->secure_erase(offset, size, ctx);
	case KBDUS_REQ_ZONE_OPEN:
	case KBDUS_REQ_ZONE_CLOSE:
	case KBDUS_REQ_ZONE_FINISH:
	case KBDUS_REQ_ZONE_RESET:
	case KBDUS_REQ_ZONE_RESET_ALL:
		return ctx->ext->zone_manage(bdus_zone_op(message->type), offset,
					     ctx);
	case KBDUS_REQ_ZONE_APPEND:
		return call_zone_append(ctx, message);
	case KBDUS_REQ_REPORT_ZONES:
		return ctx->ext->report_zones((struct bdus_zone *)buffer, offset,
					      size / sizeof(struct bdus_zone),
					      ctx);
	default:
		return call_ioctl(ctx, message);
	}
}

int bdus_dispatch(struct bdus_ctx *ctx, struct bdus_message *message,
		  unsigned worker)
{
	bool is_ioctl = message->type == KBDUS_REQ_IOCTL;
	int ret;

	if (ctx->attrs->log)
		log_request(ctx, message, worker);

	message->passthrough.num_extents = 0;
	/* kbdus only sends what the driver serves; be safe anyway. */
	if (!has_callback_for(ctx, message->type))
		ret = is_ioctl ? ENOTTY : EOPNOTSUPP;
	else if (!call_passthrough(ctx, message, &ret))
		ret = call_callback(ctx, message);

	if (ret == bdus_abort)
		return bdus_abort;

	if (ret != 0 && ctx->attrs->log)
		bdus_log(ctx, "worker %u: %s failed with %s (%d)", worker,
			 bdus_request_type_name(message->type),
			 ret > 0 ? strerror(ret) : "an invalid value", ret);

	return bdus_reply_error(message->type, ret);
}

int32_t bdus_reply_error(uint32_t type, int ret)
{
	return type == KBDUS_REQ_IOCTL ? ioctl_reply_error(ret) :
					 data_reply_error(ret);
}

int bdus_call_lifecycle(struct bdus_ctx *ctx,
			int (*callback)(struct bdus_ctx *ctx), const char *name)
{
	if (ctx->attrs->log)
		bdus_log(ctx, "%s()%s", name, callback ? "" : " [not set]");
	return callback ? callback(ctx) : 0;
}
