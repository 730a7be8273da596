// SPDX-License-Identifier: GPL-2.0
/*
 * The inverter: blk-mq pushes requests in, drivers pull them out.
 *
 * Every request in flight sits in the slot of its (hardware queue, tag).
 * queue_rq makes the slot QUEUED and appends it to its queue's pending
 * list; a receiving driver moves it to DELIVERING while copying it out, then
 * to DELIVERED; a reply, a timeout, or the end of the owning session moves it
 * to COMPLETING and ends the request.  See enum kbdus_slot_state.
 */

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/errno.h>
#include <linux/nospec.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "kbdus.h"

#define KBDUS_SLOT_STATE_MASK 0xffull

static inline u64 slot_word(u32 generation, enum kbdus_slot_state state)
{
	return ((u64)generation << 8) | state;
}

static inline enum kbdus_slot_state word_state(u64 word)
{
	return word & KBDUS_SLOT_STATE_MASK;
}

static inline u32 word_generation(u64 word)
{
	return (u32)(word >> 8);
}

/* Generation 0 never names a request, so handle 0 means "no reply". */
static inline u32 next_generation(u32 generation)
{
	return generation + 1 ?: 1;
}

static inline bool slot_claim(struct kbdus_slot *slot, u64 word,
			      enum kbdus_slot_state state)
{
	return atomic64_cmpxchg(&slot->word, word,
				slot_word(word_generation(word), state)) ==
	       word;
}

/* ------------------------------------------------------------------------- */
/* Request classification and completion */

/* The type the driver sees; -1 for operations kbdus never delivers. */
static int rq_request_type(struct kbdus_device *kdev, struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		return KBDUS_REQ_READ;
	case REQ_OP_WRITE:
		return rq->cmd_flags & REQ_FUA ? KBDUS_REQ_FUA_WRITE :
						 KBDUS_REQ_WRITE;
	case REQ_OP_FLUSH:
		return KBDUS_REQ_FLUSH;
	case REQ_OP_DISCARD:
		return KBDUS_REQ_DISCARD;
	case REQ_OP_SECURE_ERASE:
		return KBDUS_REQ_SECURE_ERASE;
	case REQ_OP_WRITE_ZEROES:
		/* Zeroing without unmapping is always allowed, so a driver
		 * that serves only NO_UNMAP serves both (see validation). */
		if ((rq->cmd_flags & REQ_NOUNMAP) ||
		    !(kdev->config.supported_requests &
		      KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP)))
			return KBDUS_REQ_WRITE_ZEROS_NO_UNMAP;
		return KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP;
	case REQ_OP_DRV_IN:
	case REQ_OP_DRV_OUT:
		return kbdus_rq_data(rq)->drv_kind == KBDUS_DRV_REPORT_ZONES ?
			       KBDUS_REQ_REPORT_ZONES :
			       KBDUS_REQ_IOCTL;
	case REQ_OP_ZONE_OPEN:
		return KBDUS_REQ_ZONE_OPEN;
	case REQ_OP_ZONE_CLOSE:
		return KBDUS_REQ_ZONE_CLOSE;
	case REQ_OP_ZONE_FINISH:
		return KBDUS_REQ_ZONE_FINISH;
	case REQ_OP_ZONE_RESET:
		return KBDUS_REQ_ZONE_RESET;
	case REQ_OP_ZONE_RESET_ALL:
		return KBDUS_REQ_ZONE_RESET_ALL;
	case REQ_OP_ZONE_APPEND:
		return KBDUS_REQ_ZONE_APPEND;
	default:
		return -1;
	}
}

static int slot_type(struct kbdus_slot *slot)
{
	return rq_request_type(slot->rq->q->queuedata, slot->rq);
}

/* BDUS keeps ENOLINK, ENOSPC and ETIMEDOUT, and on zoned devices the zone
 * resource errors; everything else is EIO. */
static blk_status_t inverter_errno_to_status(struct kbdus_device *kdev,
					     int error)
{
	if (kdev->config.flags & KBDUS_CONFIG_ZONED) {
		if (error == ETOOMANYREFS)
			return BLK_STS_ZONE_OPEN_RESOURCE;
		if (error == EOVERFLOW)
			return BLK_STS_ZONE_ACTIVE_RESOURCE;
	}

	switch (error) {
	case 0:
		return BLK_STS_OK;
	case ENOLINK:
		return BLK_STS_TRANSPORT;
	case ENOSPC:
		return BLK_STS_NOSPC;
	case ETIMEDOUT:
		return BLK_STS_TIMEOUT;
	default:
		return BLK_STS_IOERR;
	}
}

/* Ends the request of a slot the caller moved to COMPLETING. */
static void slot_end(struct kbdus_slot *slot, int error)
{
	struct request *rq = slot->rq;
	int type = slot_type(slot);

	if (type == KBDUS_REQ_IOCTL) {
		/* Kernel-internal errnos (>= 512) must not reach callers. */
		kbdus_rq_data(rq)->ioctl_error = error < 512 ? error : EIO;
		blk_mq_end_request(rq, error ? BLK_STS_IOERR : BLK_STS_OK);
		return;
	}
	if (type == KBDUS_REQ_ZONE_APPEND && !error)
		error = kbdus_zoned_append_landed(rq);
	blk_mq_end_request(rq, inverter_errno_to_status(rq->q->queuedata,
							 error));
}

/* ------------------------------------------------------------------------- */
/* blk-mq operations */

static bool inverter_has_pending(struct kbdus_device *kdev)
{
	u16 i;

	for (i = 0; i < kdev->config.num_queues; i++) {
		if (!list_empty(&kdev->queues[i].pending))
			return true;
	}
	return false;
}

static blk_status_t kbdus_queue_rq(struct blk_mq_hw_ctx *hctx,
				   const struct blk_mq_queue_data *bd)
{
	struct kbdus_queue *queue = hctx->driver_data;
	struct kbdus_device *kdev = queue->kdev;
	struct request *rq = bd->rq;
	struct kbdus_slot *slot;
	int type = rq_request_type(kdev, rq);
	u64 word;

	if (type < 0 ||
	    !(kdev->config.supported_requests & KBDUS_REQ_BIT(type)))
		return BLK_STS_NOTSUPP;

	slot = &kdev->slots[queue->index * kdev->config.queue_depth + rq->tag];
	slot->rq = rq;
	kbdus_rq_data(rq)->slot = slot;

	blk_mq_start_request(rq);

	spin_lock(&queue->lock);
	if (unlikely(READ_ONCE(kdev->terminated))) {
		spin_unlock(&queue->lock);
		return BLK_STS_IOERR;
	}
	/* The tag is ours: nobody else writes a free slot's word. */
	word = atomic64_read(&slot->word);
	atomic64_set(&slot->word,
		     slot_word(next_generation(word_generation(word)),
			       KBDUS_SLOT_QUEUED));
	list_add_tail(&slot->pending_node, &queue->pending);
	spin_unlock(&queue->lock);

	/* One wake-up per batch; commit_rqs covers batches cut short. */
	if (bd->last)
		wake_up(&kdev->receive_wq);

	return BLK_STS_OK;
}

static void kbdus_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct kbdus_queue *queue = hctx->driver_data;

	wake_up(&queue->kdev->receive_wq);
}

static enum blk_eh_timer_return kbdus_timeout(struct request *rq)
{
	struct kbdus_slot *slot = kbdus_rq_data(rq)->slot;
	struct kbdus_device *kdev = rq->q->queuedata;
	struct kbdus_queue *queue = &kdev->queues[slot->queue];
	bool claimed;
	u64 word;

	for (;;) {
		word = atomic64_read(&slot->word);

		switch (word_state(word)) {
		case KBDUS_SLOT_QUEUED:
			/* With no driver attached, I/O waits for one. */
			if (!READ_ONCE(kdev->session) &&
			    !READ_ONCE(kdev->terminated))
				return BLK_EH_RESET_TIMER;
			spin_lock(&queue->lock);
			claimed = slot_claim(slot, word, KBDUS_SLOT_COMPLETING);
			if (claimed)
				list_del_init(&slot->pending_node);
			spin_unlock(&queue->lock);
			break;
		case KBDUS_SLOT_DELIVERING:
			/* Being copied out right now, by a receiver that is
			 * running (see enum kbdus_slot_state); look again. */
			return BLK_EH_RESET_TIMER;
		case KBDUS_SLOT_ASSIGNED:
		case KBDUS_SLOT_DELIVERED:
			claimed = slot_claim(slot, word, KBDUS_SLOT_COMPLETING);
			break;
		default:
			/* Someone else is completing it. */
			return BLK_EH_DONE;
		}

		if (claimed) {
			slot_end(slot, ETIMEDOUT);
			return BLK_EH_DONE;
		}
	}
}

static int kbdus_init_hctx(struct blk_mq_hw_ctx *hctx, void *driver_data,
			   unsigned int hctx_idx)
{
	struct kbdus_device *kdev = driver_data;

	hctx->driver_data = &kdev->queues[hctx_idx];
	return 0;
}

const struct blk_mq_ops kbdus_mq_ops = {
	.queue_rq = kbdus_queue_rq,
	.commit_rqs = kbdus_commit_rqs,
	.timeout = kbdus_timeout,
	.init_hctx = kbdus_init_hctx,
};

/* ------------------------------------------------------------------------- */
/* Setup and teardown */

int kbdus_inverter_init(struct kbdus_device *kdev)
{
	const struct kbdus_device_config *config = &kdev->config;
	struct blk_mq_tag_set *set = &kdev->tag_set;
	u32 i;
	int ret;

	kdev->num_slots = (u32)config->num_queues * config->queue_depth;

	kdev->queues =
		kcalloc(config->num_queues, sizeof(*kdev->queues), GFP_KERNEL);
	kdev->slots =
		kvcalloc(kdev->num_slots, sizeof(*kdev->slots), GFP_KERNEL);
	if (!kdev->queues || !kdev->slots) {
		ret = -ENOMEM;
		goto err_free;
	}

	for (i = 0; i < config->num_queues; i++) {
		spin_lock_init(&kdev->queues[i].lock);
		INIT_LIST_HEAD(&kdev->queues[i].pending);
		kdev->queues[i].kdev = kdev;
		kdev->queues[i].index = i;
	}

	for (i = 0; i < kdev->num_slots; i++) {
		atomic64_set(&kdev->slots[i].word,
			     slot_word(0, KBDUS_SLOT_FREE));
		INIT_LIST_HEAD(&kdev->slots[i].pending_node);
		kdev->slots[i].index = i;
		kdev->slots[i].queue = i / config->queue_depth;
	}

	set->ops = &kbdus_mq_ops;
	set->nr_hw_queues = config->num_queues;
	set->queue_depth = config->queue_depth;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = sizeof(struct kbdus_rq_data);
	set->timeout = msecs_to_jiffies(config->request_timeout_ms);
	/* No I/O scheduler by default, as BDUS 0.1.x (and ublk) chose: the
	 * driver reorders as it likes, and blk-mq would otherwise give a
	 * one-queue device mq-deadline.  Users may still pick one in sysfs. */
	set->flags = KBDUS_MQ_F_DEFAULT | BLK_MQ_F_NO_SCHED_BY_DEFAULT;
	set->driver_data = kdev;

	ret = blk_mq_alloc_tag_set(set);
	if (ret)
		goto err_free;

	return 0;

err_free:
	kvfree(kdev->slots);
	kfree(kdev->queues);
	kdev->slots = NULL;
	kdev->queues = NULL;
	return ret;
}

/* Only once the disk and its queue are gone. */
void kbdus_inverter_free(struct kbdus_device *kdev)
{
	blk_mq_free_tag_set(&kdev->tag_set);
	kvfree(kdev->slots);
	kfree(kdev->queues);
}

void kbdus_inverter_wake_all(struct kbdus_device *kdev)
{
	wake_up_all(&kdev->receive_wq);
}

/* Fails every request not yet delivered.  kdev->terminated must be set. */
void kbdus_inverter_fail_queued(struct kbdus_device *kdev)
{
	struct kbdus_slot *slot, *next;
	LIST_HEAD(failed);
	u16 i;

	for (i = 0; i < kdev->config.num_queues; i++) {
		struct kbdus_queue *queue = &kdev->queues[i];

		spin_lock(&queue->lock);
		list_for_each_entry_safe(slot, next, &queue->pending,
					 pending_node) {
			if (slot_claim(slot, atomic64_read(&slot->word),
				       KBDUS_SLOT_COMPLETING))
				list_move_tail(&slot->pending_node, &failed);
		}
		spin_unlock(&queue->lock);
	}

	list_for_each_entry_safe(slot, next, &failed, pending_node) {
		list_del_init(&slot->pending_node);
		slot_end(slot, EIO);
	}
}

/* Puts a slot the caller owns (DELIVERED or DELIVERING) back in its queue,
 * under a new generation so the old handle is stale.  Fails it instead if
 * the device is terminating. */
static void slot_requeue(struct kbdus_device *kdev, struct kbdus_slot *slot,
			 u64 word, bool at_head)
{
	struct kbdus_queue *queue = &kdev->queues[slot->queue];
	bool requeued = false;

	spin_lock(&queue->lock);
	if (!READ_ONCE(kdev->terminated) &&
	    atomic64_cmpxchg(&slot->word, word,
			     slot_word(next_generation(word_generation(word)),
				       KBDUS_SLOT_QUEUED)) == word) {
		if (at_head)
			list_add(&slot->pending_node, &queue->pending);
		else
			list_add_tail(&slot->pending_node, &queue->pending);
		requeued = true;
	}
	spin_unlock(&queue->lock);

	if (requeued)
		wake_up(&kdev->receive_wq);
	else if (slot_claim(slot, word, KBDUS_SLOT_COMPLETING))
		slot_end(slot, EIO);
}

/*
 * A request a gone session held on a zoned device: whether it may go to the
 * next driver depends on the request (kbdus_zoned_may_redeliver()), which
 * may only be looked at once it is ours: the timeout may end it meanwhile
 * and its tag take another request.  DELIVERING makes it ours (the timeout
 * waits on it), as a receiver does.
 */
static void inverter_release_zoned(struct kbdus_device *kdev,
				   struct kbdus_slot *slot, u64 word)
{
	u64 owned = slot_word(word_generation(word), KBDUS_SLOT_DELIVERING);

	if (atomic64_cmpxchg(&slot->word, word, owned) != word)
		return; /* someone else is ending it */
	if (kbdus_zoned_may_redeliver(kdev, slot->rq)) {
		slot_requeue(kdev, slot, owned, false);
	} else {
		atomic64_set_release(&slot->word,
				     slot_word(word_generation(word),
					       KBDUS_SLOT_COMPLETING));
		slot_end(slot, EIO);
	}
}

/*
 * A session went away: its uncompleted requests go back to the queues (for
 * a successor) or fail.  No call on the session can run concurrently: it is
 * only called from the file's release.
 */
void kbdus_inverter_release_session(struct kbdus_device *kdev,
				    struct kbdus_session *session, bool requeue)
{
	u32 i;

	for (i = 0; i < kdev->num_slots; i++) {
		struct kbdus_slot *slot = &kdev->slots[i];
		/* Acquire: pairs with the release that published owner. */
		u64 word = atomic64_read_acquire(&slot->word);

		if ((word_state(word) != KBDUS_SLOT_DELIVERED &&
		     word_state(word) != KBDUS_SLOT_ASSIGNED) ||
		    READ_ONCE(slot->owner) != session)
			continue;

		/* An ASSIGNED request never reached the driver. */
		if (requeue && (word_state(word) == KBDUS_SLOT_ASSIGNED ||
				!(kdev->config.flags & KBDUS_CONFIG_ZONED)))
			slot_requeue(kdev, slot, word, false);
		else if (requeue)
			inverter_release_zoned(kdev, slot, word);
		else if (slot_claim(slot, word, KBDUS_SLOT_COMPLETING))
			slot_end(slot, EIO);
	}
}

/* ------------------------------------------------------------------------- */
/* The protocol interface */

/*
 * Takes the oldest pending request of one queue that accept (when given)
 * agrees to and moves it to state to (ASSIGNED or DELIVERING).  Refused
 * requests keep their place, so one request the driver cannot take yet does
 * not hold up the others.  Only the device's current session may take
 * requests.  The device is passed in because a session being attached is
 * woken before session->kdev is set.
 */
static struct kbdus_slot *
inverter_pull(struct kbdus_device *kdev, struct kbdus_session *session,
	      u16 queue_index, bool (*accept)(struct kbdus_slot *, void *),
	      void *arg, enum kbdus_slot_state to, u32 *generation)
{
	struct kbdus_queue *queue = &kdev->queues[queue_index];
	struct kbdus_slot *slot;
	u64 word;

	if (list_empty(&queue->pending) || READ_ONCE(kdev->session) != session)
		return NULL;

	spin_lock(&queue->lock);
	list_for_each_entry(slot, &queue->pending, pending_node) {
		if (!accept || accept(slot, arg))
			goto found;
	}
	slot = NULL;
found:
	if (slot) {
		list_del_init(&slot->pending_node);
		word = atomic64_read(&slot->word);
		/* Leaving QUEUED happens only under this lock. */
		WARN_ON_ONCE(word_state(word) != KBDUS_SLOT_QUEUED);
		WRITE_ONCE(slot->owner, session);
		/* Release: the owner is visible to whoever sees the state. */
		atomic64_set_release(&slot->word,
				     slot_word(word_generation(word), to));
		*generation = word_generation(word);
	}
	spin_unlock(&queue->lock);

	return slot;
}

struct kbdus_slot *
kbdus_inverter_pull_queue(struct kbdus_device *kdev,
			  struct kbdus_session *session, u16 queue_index,
			  bool (*accept)(struct kbdus_slot *, void *),
			  void *arg, u32 *generation)
{
	return inverter_pull(kdev, session, queue_index, accept, arg,
			     KBDUS_SLOT_ASSIGNED, generation);
}

/* An ASSIGNED request is about to be copied out.  False if the timeout (or
 * anyone else) took it meanwhile: the caller must forget it. */
bool kbdus_inverter_deliver_begin(struct kbdus_slot *slot, u32 generation)
{
	return slot_claim(slot, slot_word(generation, KBDUS_SLOT_ASSIGNED),
			  KBDUS_SLOT_DELIVERING);
}

/* An ASSIGNED request cannot be delivered now: back to the front of its
 * queue, or failed if the device is terminating.  No-op if it timed out. */
void kbdus_inverter_assigned_abort(struct kbdus_device *kdev,
				   struct kbdus_slot *slot, u32 generation)
{
	slot_requeue(kdev, slot, slot_word(generation, KBDUS_SLOT_ASSIGNED),
		     true);
}

static struct kbdus_slot *inverter_pull_request(struct kbdus_device *kdev,
						struct kbdus_session *session)
{
	u16 num_queues = kdev->config.num_queues;
	unsigned int start = READ_ONCE(session->next_queue);
	struct kbdus_slot *slot;
	u16 i;

	u32 generation;

	for (i = 0; i < num_queues; i++) {
		u16 index = (start + i) % num_queues;

		slot = inverter_pull(kdev, session, index, NULL, NULL,
				     KBDUS_SLOT_DELIVERING, &generation);
		if (slot) {
			WRITE_ONCE(session->next_queue, index + 1);
			/* A batch woke one receiver: pass the baton on. */
			if (inverter_has_pending(kdev))
				wake_up(&kdev->receive_wq);
			return slot;
		}
	}

	return NULL;
}

static bool inverter_session_has_work(struct kbdus_device *kdev,
				      struct kbdus_session *session)
{
	return test_bit(KBDUS_SESSION_TERMINATE, &session->flags) ||
	       test_bit(KBDUS_SESSION_AVAILABLE, &session->flags) ||
	       (READ_ONCE(kdev->session) == session &&
		inverter_has_pending(kdev));
}

int kbdus_inverter_receive(struct kbdus_session *session, bool nonblock,
			   struct kbdus_slot **slotp, u16 *type)
{
	struct kbdus_device *kdev = session->kdev;
	struct kbdus_slot *slot;
	pid_t pid = task_tgid_vnr(current);

	/* Follow a driver that forked (daemonized) after binding; written
	 * only when it changes, so the hot path stays read-only. */
	if (unlikely(READ_ONCE(session->pid) != pid))
		WRITE_ONCE(session->pid, pid);

	for (;;) {
		*slotp = NULL;

		if (test_bit(KBDUS_SESSION_TERMINATE, &session->flags)) {
			*type = KBDUS_REQ_TERMINATE;
			return 0;
		}
		if (test_and_clear_bit(KBDUS_SESSION_AVAILABLE,
				       &session->flags)) {
			*type = KBDUS_REQ_DEVICE_AVAILABLE;
			return 0;
		}
		if (READ_ONCE(kdev->session) == session) {
			slot = inverter_pull_request(kdev, session);
			if (slot) {
				*slotp = slot;
				*type = slot_type(slot);
				return 0;
			}
		}
		if (nonblock)
			return -EAGAIN;
		/* Not restartable: a reply sent before waiting is consumed. */
		if (wait_event_interruptible_exclusive(
			    kdev->receive_wq,
			    inverter_session_has_work(kdev, session)))
			return -EINTR;
	}
}

__poll_t kbdus_inverter_poll(struct kbdus_session *session, struct file *file,
			     poll_table *wait)
{
	struct kbdus_device *kdev = session->kdev;

	/* Every change that gives a session work wakes receive_wq. */
	poll_wait(file, &kdev->receive_wq, wait);
	return inverter_session_has_work(kdev, session) ? EPOLLIN | EPOLLRDNORM :
							  0;
}

/* Only the receiver moves a slot out of DELIVERING, so plain stores do;
 * release ordering publishes the copied request before repliers and the
 * timeout can see the new state. */
void kbdus_inverter_receive_commit(struct kbdus_slot *slot)
{
	u64 word = atomic64_read(&slot->word);

	atomic64_set_release(&slot->word, slot_word(word_generation(word),
						    KBDUS_SLOT_DELIVERED));
}

void kbdus_inverter_receive_abort(struct kbdus_device *kdev,
				  struct kbdus_slot *slot)
{
	slot_requeue(kdev, slot, atomic64_read(&slot->word), true);
}

/* The driver cannot take a request it was being handed: fail it. */
void kbdus_inverter_receive_fail(struct kbdus_slot *slot, int error)
{
	u64 word = atomic64_read(&slot->word);

	atomic64_set_release(&slot->word, slot_word(word_generation(word),
						    KBDUS_SLOT_COMPLETING));
	slot_end(slot, error);
}

/* Validates a handle of the session's and moves its DELIVERED slot to
 * state to: ERR_PTR(-EINVAL) if malformed, -ESTALE if it names nothing the
 * session holds. */
static struct kbdus_slot *inverter_claim_delivered(struct kbdus_session *session,
						   u64 handle,
						   enum kbdus_slot_state to)
{
	struct kbdus_device *kdev = session->kdev;
	u32 index = lower_32_bits(handle);
	u32 generation = upper_32_bits(handle);
	struct kbdus_slot *slot;

	if (index >= kdev->num_slots || generation == 0)
		return ERR_PTR(-EINVAL);

	slot = &kdev->slots[array_index_nospec(index, kdev->num_slots)];

	/*
	 * The generation pins the delivery: a slot delivered again (to any
	 * session) has a new one, so an owner read before a successful
	 * cmpxchg belongs to this very delivery.
	 */
	if (READ_ONCE(slot->owner) != session ||
	    !slot_claim(slot, slot_word(generation, KBDUS_SLOT_DELIVERED), to))
		return ERR_PTR(-ESTALE);

	return slot;
}

struct kbdus_slot *kbdus_inverter_reply_begin(struct kbdus_session *session,
					      u64 handle)
{
	return inverter_claim_delivered(session, handle,
					KBDUS_SLOT_COMPLETING);
}

void kbdus_inverter_reply_end(struct kbdus_slot *slot, int error)
{
	slot_end(slot, error);
}

/*
 * A delivered request's data is copied to the driver after delivery (the
 * uring protocol's GET_DATA).  The slot goes back to DELIVERING for the
 * copy, so that a timeout waits for it as it waits for a receiver; the
 * session cannot end meanwhile, because the caller is one of its file's
 * calls.  _data_end() hands it back to the driver under the same handle.
 */
struct kbdus_slot *kbdus_inverter_data_begin(struct kbdus_session *session,
					     u64 handle)
{
	return inverter_claim_delivered(session, handle, KBDUS_SLOT_DELIVERING);
}

void kbdus_inverter_data_end(struct kbdus_slot *slot)
{
	kbdus_inverter_receive_commit(slot);
}

void kbdus_inverter_fill_request(struct kbdus_slot *slot,
				 struct kbdus_request *request)
{
	struct request *rq = slot->rq;
	u64 word = atomic64_read(&slot->word);
	int type = slot_type(slot);

	memset(request, 0, sizeof(*request));
	request->handle = ((u64)word_generation(word) << 32) | slot->index;
	request->type = type;
	request->queue = slot->queue;

	if (type == KBDUS_REQ_IOCTL) {
		request->ioctl_command = kbdus_rq_data(rq)->ioctl_command;
		request->size = _IOC_SIZE(request->ioctl_command);
	} else if (type == KBDUS_REQ_REPORT_ZONES) {
		request->offset = kbdus_rq_data(rq)->report_offset;
		request->size = kbdus_rq_data(rq)->report_size;
	} else if (type != KBDUS_REQ_FLUSH) {
		request->offset = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
		request->size = blk_rq_bytes(rq);
	}
}

int kbdus_inverter_type(struct kbdus_slot *slot)
{
	return slot_type(slot);
}

u32 kbdus_inverter_payload_in(struct kbdus_slot *slot)
{
	switch (slot_type(slot)) {
	case KBDUS_REQ_WRITE:
	case KBDUS_REQ_FUA_WRITE:
	case KBDUS_REQ_ZONE_APPEND:
		return blk_rq_bytes(slot->rq);
	case KBDUS_REQ_IOCTL:
		/* All of it: the caller's data, or zeros where the caller
		 * supplies none, so the driver never sees stale bytes. */
		return _IOC_SIZE(kbdus_rq_data(slot->rq)->ioctl_command);
	default:
		return 0;
	}
}

u32 kbdus_inverter_payload_out(struct kbdus_slot *slot)
{
	switch (slot_type(slot)) {
	case KBDUS_REQ_READ:
		return blk_rq_bytes(slot->rq);
	case KBDUS_REQ_IOCTL:
		if (kbdus_rq_data(slot->rq)->ioctl_dir & _IOC_READ)
			return _IOC_SIZE(kbdus_rq_data(slot->rq)->ioctl_command);
		return 0;
	case KBDUS_REQ_REPORT_ZONES:
		return kbdus_rq_data(slot->rq)->report_size;
	case KBDUS_REQ_ZONE_APPEND:
		return sizeof(kbdus_rq_data(slot->rq)->append_offset);
	default:
		return 0;
	}
}

int kbdus_inverter_copy_to_driver(struct kbdus_slot *slot, struct iov_iter *to)
{
	struct request *rq = slot->rq;
	struct req_iterator iter;
	struct bio_vec bvec;

	if (slot_type(slot) == KBDUS_REQ_IOCTL) {
		size_t size = kbdus_inverter_payload_in(slot);

		return copy_to_iter(kbdus_rq_data(rq)->drv_buffer, size, to) ==
				       size ?
			       0 :
			       -EFAULT;
	}

	rq_for_each_segment(bvec, rq, iter) {
		if (copy_page_to_iter(bvec.bv_page, bvec.bv_offset, bvec.bv_len,
				      to) != bvec.bv_len)
			return -EFAULT;
	}
	return 0;
}

int kbdus_inverter_copy_from_driver(struct kbdus_slot *slot,
				    struct iov_iter *from)
{
	struct request *rq = slot->rq;
	struct req_iterator iter;
	struct bio_vec bvec;

	void *dest = NULL;
	size_t size;

	switch (slot_type(slot)) {
	case KBDUS_REQ_IOCTL:
	case KBDUS_REQ_REPORT_ZONES:
		dest = kbdus_rq_data(rq)->drv_buffer;
		break;
	case KBDUS_REQ_ZONE_APPEND:
		dest = &kbdus_rq_data(rq)->append_offset;
		break;
	}
	if (dest) {
		size = kbdus_inverter_payload_out(slot);
		return copy_from_iter(dest, size, from) == size ? 0 : -EFAULT;
	}

	rq_for_each_segment(bvec, rq, iter) {
		if (copy_page_from_iter(bvec.bv_page, bvec.bv_offset,
					bvec.bv_len, from) != bvec.bv_len)
			return -EFAULT;
	}
	return 0;
}

u32 kbdus_inverter_nr_bvecs(struct kbdus_slot *slot)
{
	struct req_iterator iter;
	struct bio_vec bvec;
	u32 n = 0;

	rq_for_each_bvec(bvec, slot->rq, iter)
		n++;
	return n;
}

void kbdus_inverter_get_bvecs(struct kbdus_slot *slot, struct bio_vec *bvecs)
{
	struct req_iterator iter;
	struct bio_vec bvec;

	rq_for_each_bvec(bvec, slot->rq, iter)
		*bvecs++ = bvec;
}
