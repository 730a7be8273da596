// SPDX-License-Identifier: MIT
/*
 * log.c - the messages printed to stderr when attrs->log is set.
 */

#include "internal.h"

#include <inttypes.h>
#include <stdio.h>

void bdus_log(const struct bdus_ctx *ctx, const char *fmt, ...)
{
	va_list args;

	/* One locked stream operation per line keeps threads' lines whole. */
	flockfile(stderr);
	fprintf(stderr, "bdus-%" PRIu64 ": ", ctx->id);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static void log_u64(const struct bdus_ctx *ctx, const char *name,
		    uint64_t value, uint64_t requested)
{
	if (value == requested)
		bdus_log(ctx, "  %-26s %" PRIu64, name, value);
	else
		bdus_log(ctx, "  %-26s %" PRIu64 " (requested %" PRIu64 ")",
			 name, value, requested);
}

static void log_bool(const struct bdus_ctx *ctx, const char *name, bool value,
		     bool requested)
{
	bdus_log(ctx, "  %-26s %s%s", name, value ? "true" : "false",
		 value == requested ? "" :
		 requested ? " (requested true)" : " (requested false)");
}

static void log_callbacks(const struct bdus_ctx *ctx)
{
	const struct bdus_ops *ops = ctx->ops;
	const struct {
		const char *name;
		bool set;
	} callbacks[] = {
		{ "initialize", ops->initialize },
		{ "on_device_available", ops->on_device_available },
		{ "terminate", ops->terminate },
		{ "read", ops->read },
		{ "write", ops->write },
		{ "write_same", ops->write_same },
		{ "write_zeros", ops->write_zeros },
		{ "fua_write", ops->fua_write },
		{ "flush", ops->flush },
		{ "discard", ops->discard },
		{ "secure_erase", ops->secure_erase },
		{ "ioctl", ops->ioctl },
	};

	bdus_log(ctx, "callbacks:");
	for (size_t i = 0; i < sizeof(callbacks) / sizeof(callbacks[0]); i++)
		bdus_log(ctx, "  %-26s %s", callbacks[i].name,
			 callbacks[i].set ? "set" : "NULL");
}

void bdus_log_effective_attrs(const struct bdus_ctx *ctx,
			      const struct bdus_attrs *requested)
{
	const struct bdus_attrs *a = ctx->attrs;
	const struct bdus_ext_attrs *ext = ctx->ext;

	log_callbacks(ctx);
	bdus_log(ctx, "attributes:");
	log_u64(ctx, "logical_block_size", a->logical_block_size,
		requested->logical_block_size);
	log_u64(ctx, "physical_block_size", a->physical_block_size,
		requested->physical_block_size);
	log_u64(ctx, "size", a->size, requested->size);
	log_u64(ctx, "max_concurrent_callbacks", a->max_concurrent_callbacks,
		requested->max_concurrent_callbacks);
	log_u64(ctx, "max_read_write_size", a->max_read_write_size,
		requested->max_read_write_size);
	log_u64(ctx, "max_write_same_size", a->max_write_same_size,
		requested->max_write_same_size);
	log_u64(ctx, "max_write_zeros_size", a->max_write_zeros_size,
		requested->max_write_zeros_size);
	log_u64(ctx, "max_discard_erase_size", a->max_discard_erase_size,
		requested->max_discard_erase_size);
	log_bool(ctx, "disable_partition_scanning",
		 a->disable_partition_scanning,
		 requested->disable_partition_scanning);
	log_bool(ctx, "recoverable", a->recoverable, requested->recoverable);
	log_bool(ctx, "dont_daemonize", a->dont_daemonize,
		 requested->dont_daemonize);
	bdus_log(ctx, "extended attributes:");
	bdus_log(ctx, "  %-26s %s", "protocol",
		 bdus_protocol_name(ext->protocol));
	bdus_log(ctx, "  %-26s %" PRIu32, "num_queues", ext->num_queues);
	bdus_log(ctx, "  %-26s %" PRIu32, "queue_depth", ext->queue_depth);
	bdus_log(ctx, "  %-26s %" PRIu32, "request_timeout_ms",
		 ext->request_timeout_ms);
	bdus_log(ctx, "  %-26s %s", "rotational",
		 ext->flags & BDUS_EXT_ROTATIONAL ? "true" : "false");
	bdus_log(ctx, "  %-26s %" PRIu32, "poll_us", ext->poll_us);
	bdus_log(ctx, "  %-26s %s", "read_ref",
		 ext->read_ref ? "set" : "not set");
	bdus_log(ctx, "  %-26s %s", "write_ref",
		 ext->write_ref ? "set" : "not set");
	bdus_log(ctx, "  %-26s %s", "passthrough",
		 ext->passthrough ? "set" : "not set");
}
