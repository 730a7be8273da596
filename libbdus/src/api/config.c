// SPDX-License-Identifier: MIT
/*
 * config.c - from struct bdus_attrs to struct kbdus_device_config and back.
 */

#include "internal.h"

#include <string.h>

/* The public protocol numbers are kbdus's, so they pass through as is. */
_Static_assert((int)BDUS_PROTOCOL_IOCTL == (int)KBDUS_PROTOCOL_IOCTL, "protocol");
_Static_assert((int)BDUS_PROTOCOL_MMAP == (int)KBDUS_PROTOCOL_MMAP, "protocol");
_Static_assert((int)BDUS_PROTOCOL_URING == (int)KBDUS_PROTOCOL_URING,
	       "protocol");

uint32_t bdus_supported_requests(const struct bdus_ops *ops)
{
	uint32_t mask = 0;

	if (ops->read)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_READ);
	if (ops->write)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_WRITE);
	/* write_same is never advertised: Linux >= 5.18 has no such request. */
	if (ops->write_zeros)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_NO_UNMAP) |
			KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP);
	if (ops->fua_write)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_FUA_WRITE);
	if (ops->flush)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_FLUSH);
	if (ops->discard)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_DISCARD);
	if (ops->secure_erase)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_SECURE_ERASE);
	if (ops->ioctl)
		mask |= KBDUS_REQ_BIT(KBDUS_REQ_IOCTL);
	return mask;
}

static uint32_t config_flags(const struct bdus_ops *ops,
			     const struct bdus_attrs *attrs,
			     const struct bdus_ext_attrs *ext)
{
	uint32_t flags = 0;

	if (attrs->recoverable)
		flags |= KBDUS_CONFIG_RECOVERABLE;
	if (!attrs->disable_partition_scanning)
		flags |= KBDUS_CONFIG_PARTITION_SCAN;
	if (ext->flags & BDUS_EXT_ROTATIONAL)
		flags |= KBDUS_CONFIG_ROTATIONAL;
	/* A flush callback means a volatile cache; FUA only makes sense then. */
	if (ops->flush)
		flags |= KBDUS_CONFIG_WRITE_CACHE;
	if (ops->fua_write)
		flags |= KBDUS_CONFIG_FUA;
	return flags;
}

void bdus_config_for_run(struct kbdus_device_config *config,
			 const struct bdus_ops *ops,
			 const struct bdus_attrs *attrs,
			 const struct bdus_ext_attrs *ext, bool ioctl_v01)
{
	uint32_t lbs = attrs->logical_block_size;

	memset(config, 0, sizeof(*config));
	config->size = attrs->size;
	config->logical_block_size = lbs;
	config->physical_block_size = attrs->physical_block_size;
	config->max_read_write_size = attrs->max_read_write_size;
	/* bdus 0.1 accepted any value >= lbs and rounded it down; kbdus wants
	 * multiples of the logical block size. */
	config->max_write_zeros_size =
		(uint32_t)bdus_round_down(attrs->max_write_zeros_size, lbs);
	config->max_discard_erase_size =
		(uint32_t)bdus_round_down(attrs->max_discard_erase_size, lbs);
	config->supported_requests = bdus_supported_requests(ops);
	config->num_queues = (uint16_t)ext->num_queues;
	config->queue_depth = (uint16_t)ext->queue_depth;
	config->protocol = ext->protocol;
	config->flags = config_flags(ops, attrs, ext);
	if (ioctl_v01 && ops->ioctl)
		config->flags |= KBDUS_CONFIG_IOCTL_DIR_V01;
	config->request_timeout_ms = ext->request_timeout_ms;
	bdus_config_zoned(config, ext);
}

/* A limit kbdus reports as 0 ("none") is the largest multiple of lbs. */
static uint32_t effective_limit(bool supported, uint32_t value, uint32_t lbs)
{
	if (!supported)
		return 0;
	if (value == 0)
		return (uint32_t)bdus_round_down(UINT32_MAX, lbs);
	return value;
}

static uint32_t slots_of(const struct kbdus_device_config *config)
{
	uint32_t queues = config->num_queues ? config->num_queues : 1;
	uint32_t depth = config->queue_depth ? config->queue_depth :
					       KBDUS_DEFAULT_QUEUE_DEPTH;

	return queues * depth;
}

static void effective_geometry(struct bdus_attrs *attrs,
			       const struct kbdus_device_config *config)
{
	attrs->logical_block_size = config->logical_block_size;
	attrs->physical_block_size = config->physical_block_size ?
					     config->physical_block_size :
					     config->logical_block_size;
	attrs->size = config->size;
	attrs->disable_partition_scanning =
		!(config->flags & KBDUS_CONFIG_PARTITION_SCAN);
	attrs->recoverable = config->flags & KBDUS_CONFIG_RECOVERABLE;
}

static void effective_limits(struct bdus_attrs *attrs,
			     const struct bdus_ops *ops,
			     const struct kbdus_device_config *config,
			     bool is_rerun)
{
	uint32_t lbs = config->logical_block_size;
	/* Never used (no write-same requests), but keep the 0.1 contract;
	 * kbdus does not store it, so a rerun cannot know the old value. */
	uint32_t same = is_rerun ? 0 :
		(uint32_t)bdus_round_down(attrs->max_write_same_size, lbs);

	attrs->max_read_write_size =
		(ops->read || ops->write || ops->fua_write) ?
			config->max_read_write_size : 0;
	attrs->max_write_same_size =
		effective_limit(ops->write_same != NULL, same, lbs);
	attrs->max_write_zeros_size =
		effective_limit(ops->write_zeros != NULL,
				config->max_write_zeros_size, lbs);
	attrs->max_discard_erase_size =
		effective_limit(ops->discard || ops->secure_erase,
				config->max_discard_erase_size, lbs);
}

void bdus_effective_attrs(struct bdus_attrs *attrs,
			  struct bdus_ext_attrs *ext,
			  const struct bdus_ops *ops,
			  const struct kbdus_device_config *config,
			  uint32_t protocol, bool is_rerun)
{
	uint32_t slots = slots_of(config);

	effective_geometry(attrs, config);
	effective_limits(attrs, ops, config, is_rerun);

	/* More threads than slots would only ever wait. */
	if (attrs->max_concurrent_callbacks == 0)
		attrs->max_concurrent_callbacks = 1;
	if (attrs->max_concurrent_callbacks > slots)
		attrs->max_concurrent_callbacks = slots;

	ext->protocol = protocol;
	ext->num_queues = config->num_queues ? config->num_queues : 1;
	ext->queue_depth = config->queue_depth ? config->queue_depth :
						 KBDUS_DEFAULT_QUEUE_DEPTH;
	ext->request_timeout_ms = config->request_timeout_ms ?
					  config->request_timeout_ms :
					  KBDUS_DEFAULT_REQUEST_TIMEOUT_MS;
	ext->flags = (config->flags & KBDUS_CONFIG_ROTATIONAL) ?
			     BDUS_EXT_ROTATIONAL : 0;
	/* Only uring threads poll (DEFAULT may have fallen back). */
	if (protocol != BDUS_PROTOCOL_URING)
		ext->poll_us = 0;
	bdus_effective_zoned(ext, config);
}
