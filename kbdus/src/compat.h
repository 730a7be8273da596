/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only place that knows kernel versions.  Everything else calls these
 * wrappers, so a new kernel means editing this file alone.
 */

#ifndef KBDUS_COMPAT_H
#define KBDUS_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/version.h>

/* 6.5 replaced fmode_t with blk_mode_t in block_device_operations. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
typedef blk_mode_t kbdus_blk_mode_t;

static inline bool kbdus_blk_mode_writable(kbdus_blk_mode_t mode)
{
	return mode & BLK_OPEN_WRITE;
}
#else
typedef fmode_t kbdus_blk_mode_t;

static inline bool kbdus_blk_mode_writable(kbdus_blk_mode_t mode)
{
	return mode & FMODE_WRITE;
}
#endif

/* Merging was made the default (and the flag removed) in 6.14. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 14, 0)
#define KBDUS_MQ_F_DEFAULT BLK_MQ_F_SHOULD_MERGE
#else
#define KBDUS_MQ_F_DEFAULT 0
#endif

/* The queue settings kbdus uses, independent of how a kernel takes them. */
struct kbdus_queue_settings {
	unsigned int logical_block_size;
	unsigned int physical_block_size;
	unsigned int max_hw_sectors;
	unsigned int max_write_zeroes_sectors;
	unsigned int max_discard_sectors;
	unsigned int max_secure_erase_sectors;
	bool rotational;
	bool write_cache;
	bool fua;
	/* Host-managed zoned (zoned.c); the rest only then. */
	bool zoned;
	unsigned int zone_sectors;
	unsigned int max_zone_append_sectors;
	unsigned int max_open_zones; /* 0: no limit */
	unsigned int max_active_zones; /* 0: no limit */
};

/*
 * 6.9 moved queue limits into blk_mq_alloc_disk() and 6.11 moved the
 * rotational, write-cache and FUA flags into them as features.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)

static inline struct gendisk *
kbdus_alloc_disk(struct blk_mq_tag_set *set,
		 const struct kbdus_queue_settings *s, void *queuedata)
{
	struct queue_limits lim = {
		.logical_block_size = s->logical_block_size,
		.physical_block_size = s->physical_block_size,
		.io_min = s->physical_block_size,
		.max_hw_sectors = s->max_hw_sectors,
		.max_write_zeroes_sectors = s->max_write_zeroes_sectors,
		.max_hw_discard_sectors = s->max_discard_sectors,
		.max_secure_erase_sectors = s->max_secure_erase_sectors,
		.discard_granularity =
			s->max_discard_sectors ? s->logical_block_size : 0,
		/* Payload is copied by the CPU: any alignment will do. */
		.dma_alignment = 3,
	};

	if (s->rotational)
		lim.features |= BLK_FEAT_ROTATIONAL;
	if (s->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (s->fua)
		lim.features |= BLK_FEAT_FUA;
#ifdef CONFIG_BLK_DEV_ZONED
	if (s->zoned) {
		lim.features |= BLK_FEAT_ZONED;
		lim.chunk_sectors = s->zone_sectors;
		lim.max_zone_append_sectors = s->max_zone_append_sectors;
		lim.max_open_zones = s->max_open_zones;
		lim.max_active_zones = s->max_active_zones;
	}
#endif

	return blk_mq_alloc_disk(set, &lim, queuedata);
}

/* Zone writes are kept in order by zone write plugging, whatever the
 * scheduler. */
static inline int kbdus_revalidate_disk_zones(struct gendisk *disk)
{
#ifdef CONFIG_BLK_DEV_ZONED
	return blk_revalidate_disk_zones(disk);
#else
	return -EOPNOTSUPP;
#endif
}

#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
#error "kbdus does not support Linux 6.9 and 6.10"
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)

static inline struct gendisk *
kbdus_alloc_disk(struct blk_mq_tag_set *set,
		 const struct kbdus_queue_settings *s, void *queuedata)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, queuedata);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;

	q = disk->queue;
	blk_queue_logical_block_size(q, s->logical_block_size);
	blk_queue_physical_block_size(q, s->physical_block_size);
	blk_queue_io_min(q, s->physical_block_size);
	blk_queue_max_hw_sectors(q, s->max_hw_sectors);
	blk_queue_max_write_zeroes_sectors(q, s->max_write_zeroes_sectors);
	blk_queue_max_discard_sectors(q, s->max_discard_sectors);
	blk_queue_max_secure_erase_sectors(q, s->max_secure_erase_sectors);
	if (s->max_discard_sectors)
		q->limits.discard_granularity = s->logical_block_size;
	blk_queue_dma_alignment(q, 3);

	if (s->rotational)
		blk_queue_flag_clear(QUEUE_FLAG_NONROT, q);
	else
		blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_write_cache(q, s->write_cache, s->fua);

#ifdef CONFIG_BLK_DEV_ZONED
	if (s->zoned) {
		/* The zone size first: the append limit is capped to it. */
		disk_set_zoned(disk, BLK_ZONED_HM);
		blk_queue_chunk_sectors(q, s->zone_sectors);
		blk_queue_max_zone_append_sectors(q, s->max_zone_append_sectors);
		disk_set_max_open_zones(disk, s->max_open_zones);
		disk_set_max_active_zones(disk, s->max_active_zones);
		blk_queue_flag_set(QUEUE_FLAG_ZONE_RESETALL, q);
		/* Only mq-deadline keeps a zone's writes in order before
		 * 6.10; add_disk picks it for this. */
		blk_queue_required_elevator_features(q,
						     ELEVATOR_F_ZBD_SEQ_WRITE);
	}
#endif

	return disk;
}

static inline int kbdus_revalidate_disk_zones(struct gendisk *disk)
{
#ifdef CONFIG_BLK_DEV_ZONED
	return blk_revalidate_disk_zones(disk, NULL);
#else
	return -EOPNOTSUPP;
#endif
}

#else
#error "kbdus needs Linux 6.0 or later"
#endif

/*
 * io_uring commands.  6.7 moved them to <linux/io_uring/cmd.h>, reached the
 * SQE through cmd->sqe, and added cancelable commands: io_uring then calls
 * ->uring_cmd with IO_URING_F_CANCEL when the ring or its task goes away.
 * Older kernels never cancel a posted command, so kbdus watches the
 * issuing task instead and cancels when it exits (KBDUS_URING_MONITOR).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#include <linux/io_uring/cmd.h>

#define KBDUS_URING_F_CANCEL IO_URING_F_CANCEL
#define KBDUS_URING_MONITOR 0

static inline const void *kbdus_uring_cmd_payload(struct io_uring_cmd *cmd)
{
	return io_uring_sqe_cmd(cmd->sqe);
}

static inline void kbdus_uring_mark_cancelable(struct io_uring_cmd *cmd,
					       unsigned int issue_flags)
{
	io_uring_cmd_mark_cancelable(cmd, issue_flags);
}
#else
#include <linux/io_uring.h>
#include <linux/io_uring_types.h>

#define KBDUS_URING_F_CANCEL 0
#define KBDUS_URING_MONITOR 1

static inline const void *kbdus_uring_cmd_payload(struct io_uring_cmd *cmd)
{
	return cmd->cmd;
}

static inline void kbdus_uring_mark_cancelable(struct io_uring_cmd *cmd,
					       unsigned int issue_flags)
{
}
#endif

/*
 * Completing commands and running task work.  Every call goes through these
 * wrappers: after 6.12, io_uring_cmd_done() loses res2 and task-work
 * callbacks take a struct io_tw_req instead of the command and issue flags,
 * so a newer kernel only needs new bodies here.
 */
typedef void (*kbdus_uring_tw_fn)(struct io_uring_cmd *cmd,
				  unsigned int issue_flags);

static inline void kbdus_uring_cmd_done(struct io_uring_cmd *cmd, int res,
					unsigned int issue_flags)
{
	io_uring_cmd_done(cmd, res, 0, issue_flags);
}

static inline void kbdus_uring_cmd_do_in_task(struct io_uring_cmd *cmd,
					      kbdus_uring_tw_fn fn)
{
	io_uring_cmd_complete_in_task(cmd, fn);
}

/*
 * The ring a command was submitted to, as an opaque cookie that is only
 * compared, never dereferenced.  A posted command pins its ring, so two
 * posted commands with equal cookies come from the same ring.
 */
static inline const void *kbdus_uring_cmd_ring(struct io_uring_cmd *cmd)
{
	return cmd_to_io_kiocb(cmd)->ctx;
}

/* MAP_SHARED, whether or not the mapping is writable (VM_SHARED is only
 * set for writable shared mappings). */
static inline bool kbdus_vma_is_shared(struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_MAYSHARE;
}

/* 6.3 made vm_flags read-only outside these helpers. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
static inline void kbdus_vma_forbid_write(struct vm_area_struct *vma)
{
	vm_flags_clear(vma, VM_MAYWRITE);
}

static inline void kbdus_vma_set_flags(struct vm_area_struct *vma,
				       unsigned long flags)
{
	vm_flags_set(vma, flags);
}
#else
static inline void kbdus_vma_forbid_write(struct vm_area_struct *vma)
{
	vma->vm_flags &= ~VM_MAYWRITE;
}

static inline void kbdus_vma_set_flags(struct vm_area_struct *vma,
				       unsigned long flags)
{
	vma->vm_flags |= flags;
}
#endif

#endif /* KBDUS_COMPAT_H */
