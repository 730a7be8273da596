// SPDX-License-Identifier: GPL-2.0
/*
 * Host-managed zoned devices (KBDUS_CONFIG_ZONED): their configuration,
 * zone reports, and where zone appends landed.
 *
 * The driver keeps every zone's state (write pointer, condition) and
 * enforces the rules; kbdus only passes the zone requests on, asks for
 * reports, and checks what comes back before Linux believes it:
 *   - a report is a driver-private request (REQ_OP_DRV_IN, like a
 *     forwarded ioctl) whose reply payload is the zone descriptors, taken
 *     in chunks that fit max_read_write_size, each descriptor checked
 *     against the geometry the device was created with;
 *   - a zone append's reply payload is the byte offset where its data
 *     went, which must lie inside the zone it was sent to.
 * Reports run in process context with the queue not frozen (ioctls,
 * revalidation before add_disk, file systems), and wait for the driver as
 * any request does, request timeout included.
 */

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "kbdus.h"

#define ZONED_REQUIRED_TYPES                                          \
	(KBDUS_REQ_BIT(KBDUS_REQ_READ) | KBDUS_REQ_BIT(KBDUS_REQ_WRITE) | \
	 KBDUS_REQ_BIT(KBDUS_REQ_ZONE_RESET) |                           \
	 KBDUS_REQ_BIT(KBDUS_REQ_ZONE_RESET_ALL) |                       \
	 KBDUS_REQ_BIT(KBDUS_REQ_ZONE_APPEND) |                          \
	 KBDUS_REQ_BIT(KBDUS_REQ_REPORT_ZONES))

/* What a sequential zone cannot take, and conventional zones do not need. */
#define ZONED_REFUSED_TYPES                                  \
	(KBDUS_REQ_BIT(KBDUS_REQ_WRITE_SAME) |                   \
	 KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_NO_UNMAP) |         \
	 KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP) |        \
	 KBDUS_REQ_BIT(KBDUS_REQ_DISCARD) |                      \
	 KBDUS_REQ_BIT(KBDUS_REQ_SECURE_ERASE))

static u64 zoned_nr_zones(const struct kbdus_device_config *c)
{
	return c->size >> ilog2(c->zone_size);
}

int kbdus_zoned_check(const struct kbdus_device_config *c, u32 pbs)
{
	u32 types = c->supported_requests;
	u64 nr_zones, nr_seq;

	if (!(c->flags & KBDUS_CONFIG_ZONED))
		return c->zone_size || c->num_conventional_zones ||
				       c->max_open_zones ||
				       c->max_active_zones ||
				       c->max_zone_append_size ||
				       (types & KBDUS_REQ_ZONE_TYPES_MASK) ?
			       -EINVAL :
			       0;

	if (!IS_ENABLED(CONFIG_BLK_DEV_ZONED))
		return -EOPNOTSUPP;
	if ((types & ZONED_REQUIRED_TYPES) != ZONED_REQUIRED_TYPES ||
	    (types & ZONED_REFUSED_TYPES))
		return -EINVAL;

	/* A power of two of at least 4096 bytes is a multiple of every
	 * block size (at most the page size, 4096 here). */
	if (c->zone_size < SZ_4K || c->zone_size < pbs ||
	    !is_power_of_2(c->zone_size) ||
	    (c->zone_size >> SECTOR_SHIFT) > UINT_MAX ||
	    c->size & (c->zone_size - 1))
		return -EINVAL;

	nr_zones = zoned_nr_zones(c);
	if (nr_zones > UINT_MAX || c->num_conventional_zones >= nr_zones)
		return -EINVAL;
	nr_seq = nr_zones - c->num_conventional_zones;
	if (c->max_open_zones > nr_seq || c->max_active_zones > nr_seq ||
	    (c->max_open_zones && c->max_active_zones &&
	     c->max_open_zones > c->max_active_zones))
		return -EINVAL;
	if (c->max_zone_append_size % c->logical_block_size)
		return -EINVAL;
	return 0;
}

void kbdus_zoned_adjust(struct kbdus_device_config *c)
{
	u64 append;

	if (!(c->flags & KBDUS_CONFIG_ZONED))
		return;
	append = c->max_zone_append_size ?: c->max_read_write_size;
	append = min_t(u64, append, c->max_read_write_size);
	c->max_zone_append_size = min_t(u64, append, c->zone_size);
}

void kbdus_zoned_settings(const struct kbdus_device_config *c,
			  struct kbdus_queue_settings *s)
{
	if (!(c->flags & KBDUS_CONFIG_ZONED))
		return;
	s->zoned = true;
	s->zone_sectors = c->zone_size >> SECTOR_SHIFT;
	s->max_zone_append_sectors = c->max_zone_append_size >> SECTOR_SHIFT;
	s->max_open_zones = c->max_open_zones;
	s->max_active_zones = c->max_active_zones;
}

/* Before add_disk: Linux learns every zone (by asking for a report). */
int kbdus_zoned_revalidate(struct kbdus_device *kdev)
{
	if (!(kdev->config.flags & KBDUS_CONFIG_ZONED))
		return 0;
	return kbdus_revalidate_disk_zones(kdev->disk);
}

int kbdus_zoned_append_landed(struct request *rq)
{
	struct kbdus_device *kdev = rq->q->queuedata;
	u64 zone_start = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 offset = kbdus_rq_data(rq)->append_offset;
	u32 bytes = blk_rq_bytes(rq);

	if (offset % kdev->config.logical_block_size || offset < zone_start ||
	    offset - zone_start > kdev->config.zone_size ||
	    bytes > kdev->config.zone_size - (offset - zone_start)) {
		pr_warn_ratelimited("bdus-%llu: the driver put a zone append of %u bytes to the zone at %llu at %llu, outside it\n",
				    kdev->id, bytes, zone_start, offset);
		return EIO;
	}
	rq->__sector = offset >> SECTOR_SHIFT;
	return 0;
}

/*
 * A driver went away holding rq (it died, or a live replacement closed it
 * mid-request).  A recoverable device normally hands such requests to the
 * next driver, but a write to a sequential zone or a zone append may
 * already have been applied: delivered again, the write would find the
 * write pointer moved and fail anyway, and the append would store its data
 * twice.  They fail with EIO instead, as a drive's aborted command does;
 * the host then learns the write pointer from a report.  Reads, flushes,
 * zone management (each leaves the zone in the same state when repeated)
 * and writes to conventional zones are delivered again.
 */
bool kbdus_zoned_may_redeliver(const struct kbdus_device *kdev,
			       struct request *rq)
{
	const struct kbdus_device_config *c = &kdev->config;
	u64 offset;

	switch (req_op(rq)) {
	case REQ_OP_ZONE_APPEND:
		return false;
	case REQ_OP_WRITE:
		offset = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
		return offset >> ilog2(c->zone_size) < c->num_conventional_zones;
	default:
		return true;
	}
}

/* ------------------------------------------------------------------------- */
/* Zone reports */

/* Zone index's descriptor d as Linux's; -EIO (and why, in the log) if it
 * cannot be. */
static int zoned_convert(struct kbdus_device *kdev, u64 index,
			 const struct kbdus_zone *d, struct blk_zone *z)
{
	const struct kbdus_device_config *c = &kdev->config;
	bool conventional = index < c->num_conventional_zones;
	u64 start = index * c->zone_size;
	const char *why = NULL;

	if (d->start != start || d->length != c->zone_size)
		why = "start or length";
	else if (memchr_inv(d->reserved0, 0, sizeof(d->reserved0)) ||
		 !kbdus_all_zero(d->reserved, sizeof(d->reserved)))
		why = "reserved field";
	else if (d->type != (conventional ? KBDUS_ZONE_TYPE_CONVENTIONAL :
					     KBDUS_ZONE_TYPE_SEQ_WRITE_REQUIRED))
		why = "type";
	else if (conventional ? d->capacity != d->length :
				!d->capacity || d->capacity > d->length ||
					d->capacity % c->logical_block_size)
		why = "capacity";
	if (why)
		goto bad;

	*z = (struct blk_zone){
		.start = start >> SECTOR_SHIFT,
		.len = d->length >> SECTOR_SHIFT,
		.capacity = d->capacity >> SECTOR_SHIFT,
		.wp = (start + d->length) >> SECTOR_SHIFT,
		.type = d->type,
		.cond = d->condition,
	};

	switch (d->condition) {
	case KBDUS_ZONE_COND_NOT_WP:
		if (!conventional)
			why = "condition";
		return why ? -EIO : 0;
	case KBDUS_ZONE_COND_EMPTY:
		if (conventional || d->write_pointer != start)
			why = "condition or write pointer";
		break;
	case KBDUS_ZONE_COND_IMP_OPEN:
	case KBDUS_ZONE_COND_EXP_OPEN:
	case KBDUS_ZONE_COND_CLOSED:
		/* At the capacity, the zone would be full. */
		if (conventional || d->write_pointer < start ||
		    d->write_pointer - start >= d->capacity ||
		    d->write_pointer % c->logical_block_size)
			why = "condition or write pointer";
		break;
	case KBDUS_ZONE_COND_FULL:
	case KBDUS_ZONE_COND_READONLY:
	case KBDUS_ZONE_COND_OFFLINE:
		if (conventional)
			why = "condition";
		return why ? -EIO : 0;
	default:
		why = "condition";
		break;
	}
	if (why)
		goto bad;
	z->wp = d->write_pointer >> SECTOR_SHIFT;
	return 0;

bad:
	pr_warn_ratelimited("bdus-%llu: the driver reported an impossible %s for zone %llu\n",
			    kdev->id, why, index);
	return -EIO;
}

/* Asks the driver for count descriptors from zone first, into buffer. */
static int zoned_ask(struct kbdus_device *kdev, u64 first, u32 count,
		     struct kbdus_zone *buffer)
{
	struct kbdus_rq_data *data;
	struct request *rq;
	blk_status_t status;

	rq = blk_mq_alloc_request(kdev->disk->queue, REQ_OP_DRV_IN, 0);
	if (IS_ERR(rq))
		return PTR_ERR(rq);
	data = kbdus_rq_data(rq);
	data->drv_kind = KBDUS_DRV_REPORT_ZONES;
	data->drv_buffer = buffer;
	data->report_offset = first * kdev->config.zone_size;
	data->report_size = count * sizeof(*buffer);

	status = blk_execute_rq(rq, false);
	blk_mq_free_request(rq);
	return blk_status_to_errno(status);
}

int kbdus_zoned_report(struct gendisk *disk, sector_t sector,
		       unsigned int nr_zones, report_zones_cb cb, void *cb_data)
{
	struct kbdus_device *kdev = disk->private_data;
	u64 total = zoned_nr_zones(&kdev->config);
	u64 index = ((u64)sector << SECTOR_SHIFT) >> ilog2(kdev->config.zone_size);
	u32 per_request = kdev->config.max_read_write_size /
			  sizeof(struct kbdus_zone);
	struct kbdus_zone *buffer;
	unsigned int done = 0;
	struct blk_zone zone;
	u32 count, i;
	int ret = 0;

	if (index >= total)
		return 0;
	nr_zones = min_t(u64, nr_zones, total - index);

	/* Zeroed: what the driver does not fill reads as an impossible
	 * zone, never as stale kernel memory. */
	buffer = kvzalloc(min(nr_zones, per_request) * sizeof(*buffer),
			  GFP_KERNEL);
	if (!buffer)
		return -ENOMEM;

	while (done < nr_zones) {
		count = min(nr_zones - done, per_request);
		memset(buffer, 0, count * sizeof(*buffer));
		ret = zoned_ask(kdev, index, count, buffer);
		if (ret)
			break;
		for (i = 0; i < count; i++, index++, done++) {
			ret = zoned_convert(kdev, index, &buffer[i], &zone);
			if (!ret)
				ret = cb(&zone, done, cb_data);
			if (ret)
				goto out;
		}
	}
out:
	kvfree(buffer);
	return ret ?: done;
}
