// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration CREATE asks for: every field checked, then the
 * defaults and limits resolved, so that the caller gets back the device it
 * will have.  Zoned fields are zoned.c's; the protocol may add its own
 * checks.
 */

#include <linux/blkdev.h>
#include <linux/cpumask.h>
#include <linux/log2.h>

#include "compat.h"
#include "kbdus.h"

static bool config_block_size_ok(u32 size, u32 min)
{
	return size >= min && size <= PAGE_SIZE && is_power_of_2(size);
}

/* Resolves a size limit for a group of request types: 0 if none of them is
 * supported, "no limit" for 0, and otherwise a multiple of the block size. */
static int config_resolve_limit(u32 *limit, bool supported, u32 block_size)
{
	if (!supported) {
		*limit = 0;
		return 0;
	}
	*limit = round_down(*limit ?: UINT_MAX, block_size);
	return *limit ? 0 : -EINVAL;
}

int kbdus_config_validate(struct kbdus_device_config *c)
{
	u32 types = c->supported_requests;
	u32 lbs = c->logical_block_size;
	u32 pbs = c->physical_block_size ?: lbs;
	const struct kbdus_protocol_ops *protocol;
	u32 rw_size;
	int ret;

	if (c->id || c->major || c->minor ||
	    !kbdus_all_zero(c->reserved, sizeof(c->reserved)))
		return -EINVAL;

	if (!config_block_size_ok(lbs, SECTOR_SIZE) ||
	    !config_block_size_ok(pbs, lbs))
		return -EINVAL;
	if (!c->size || c->size % pbs || c->size > (u64)LLONG_MAX)
		return -EINVAL;

	if (types & ~KBDUS_REQ_DATA_TYPES_MASK)
		return -EINVAL;
	if (c->flags & ~KBDUS_CONFIG_FLAGS_MASK)
		return -EINVAL;
	if ((c->flags & KBDUS_CONFIG_WRITE_CACHE) &&
	    !(types & KBDUS_REQ_BIT(KBDUS_REQ_FLUSH)))
		return -EINVAL;
	if ((c->flags & KBDUS_CONFIG_FUA) &&
	    (!(c->flags & KBDUS_CONFIG_WRITE_CACHE) ||
	     !(types & KBDUS_REQ_BIT(KBDUS_REQ_FUA_WRITE))))
		return -EINVAL;

	ret = kbdus_zoned_check(c, pbs);
	if (ret)
		return ret;

	if (c->num_queues > KBDUS_MAX_QUEUES ||
	    c->queue_depth > KBDUS_MAX_QUEUE_DEPTH)
		return -EINVAL;
	if (c->request_timeout_ms &&
	    (c->request_timeout_ms < KBDUS_MIN_REQUEST_TIMEOUT_MS ||
	     c->request_timeout_ms > KBDUS_MAX_REQUEST_TIMEOUT_MS))
		return -EINVAL;

	protocol = kbdus_protocol_find(c->protocol);
	if (!protocol)
		return -ENOPROTOOPT;

	/* Everything valid: now adjust, and the caller sees the result. */

	/*
	 * Linux sends both write-zeroes variants once the queue advertises
	 * write-zeroes.  MAY_UNMAP requests can be served as NO_UNMAP (not
	 * unmapping is always allowed), but not the other way round: a
	 * driver that serves only MAY_UNMAP gets no write-zeroes at all, and
	 * the bit is cleared so that it can tell.
	 */
	if (!(types & KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_NO_UNMAP))) {
		types &= ~KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP);
		c->supported_requests = types;
	}

	rw_size = c->max_read_write_size ?: KBDUS_DEFAULT_MAX_READ_WRITE_SIZE;
	rw_size = min(rw_size, KBDUS_MAX_MAX_READ_WRITE_SIZE);
	c->max_read_write_size =
		max_t(u32, round_down(rw_size, lbs), PAGE_SIZE);

	if (config_resolve_limit(
		    &c->max_write_zeros_size,
		    types & (KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_NO_UNMAP) |
			     KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP)),
		    lbs) ||
	    config_resolve_limit(&c->max_discard_erase_size,
				 types & (KBDUS_REQ_BIT(KBDUS_REQ_DISCARD) |
					  KBDUS_REQ_BIT(KBDUS_REQ_SECURE_ERASE)),
				 lbs))
		return -EINVAL;

	kbdus_zoned_adjust(c);

	c->physical_block_size = pbs;
	/* blk-mq never uses more hardware queues than CPUs. */
	c->num_queues = min_t(u32, c->num_queues ?: 1, nr_cpu_ids);
	c->queue_depth = c->queue_depth ?: KBDUS_DEFAULT_QUEUE_DEPTH;
	c->request_timeout_ms = c->request_timeout_ms ?:
					KBDUS_DEFAULT_REQUEST_TIMEOUT_MS;

	return protocol->check ? protocol->check(c) : 0;
}
