// SPDX-License-Identifier: GPL-2.0
/*
 * The io_uring protocol: the driver keeps one URING_CMD command posted per
 * slot; a request completes its slot's command, and COMMIT_AND_FETCH
 * answers it and posts the slot again, so many requests travel per
 * io_uring_enter().
 *
 * Each slot's command is in one of three states:
 *   IDLE      no command: the driver holds the slot's request, or nothing
 *   POSTED    a command waits for a request (on uring_queue.posted)
 *   ASSIGNED  a request was pulled for it; the queue's task work will
 *             deliver it (on uring_queue.assigned)
 * The session hooks the device's receive wait queue with its own wake
 * function, so queue_rq's one wake-up per batch pulls the batch and
 * schedules one task-work run, in the queue's thread, that copies every
 * request out.  A task work runs on a "carrier": one command of the batch,
 * which nothing else may complete until it has run.
 *
 * Who may complete a command, and with which issue_flags:
 *   - protocol_uring_cmd, for the command it is issuing only by its return
 *     value: an error before the command is POSTED, RES_TERMINATE or
 *     -ECANCELED (stopped queue) instead of posting it, else -EIOCBQUEUED.
 *     COMMIT and GET_DATA are never posted and always complete this way,
 *     and so does a PASSTHROUGH_AND_FETCH or LAND_AND_FETCH whose first
 *     half is refused.
 *     Commands issued from io-wq are refused, so the return always happens
 *     in the queue thread, under the ring lock;
 *   - a STOP (uring_stop_queue), for the queue's POSTED commands but a
 *     carrier, with the STOP's issue_flags: it was issued by the queue's
 *     thread on the queue's ring (both checked), so its lock state is
 *     theirs;
 *   - the queue's task work (uring_task_work), for every ASSIGNED command
 *     it takes off uq->assigned, and for POSTED ones when notifying or once
 *     the queue is stopped, with the carrier's issue_flags.  That is only
 *     right because every command of a queue comes from one ring
 *     (uring_queue.ring), so the carrier's ring lock state is theirs too;
 *   - uring_cancel (IO_URING_F_CANCEL, 6.7+), for its own POSTED command
 *     unless it is the carrier, with its own issue_flags;
 *   - the monitor (6.1), for POSTED commands that are not the carrier of a
 *     queue whose thread is exiting, unlocked.
 * Each of them first moves the tag to IDLE under uq->lock, which is what
 * makes the completion exactly-once.
 *
 * A request ASSIGNED to a command may time out before the task work runs
 * (the queue thread is stopped, say): kbdus_inverter_deliver_begin() then
 * fails and the command goes back to POSTED, completing nothing.
 */

#include <linux/nospec.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/wait.h>

#include "compat.h"
#include "kbdus.h"

/* How often, without cancelable commands, to look for a dead queue thread. */
#define URING_MONITOR_PERIOD (HZ / 10)

enum uring_tag_state {
	URING_TAG_IDLE = 0,
	URING_TAG_POSTED,
	URING_TAG_ASSIGNED,
};

struct uring_tag {
	enum uring_tag_state state;
	struct io_uring_cmd *cmd; /* POSTED or ASSIGNED */
	struct kbdus_slot *slot; /* ASSIGNED */
	u32 generation; /* ASSIGNED: of the request in slot */
	u64 buffer; /* the driver's payload buffer for this slot; 0: none */
	u64 handle; /* delivered and not yet committed; else 0 */
	struct list_head node; /* on posted or assigned */
};

struct uring_session;

struct uring_queue {
	/*
	 * Protects everything below and the tags.  Taken with interrupts
	 * off because the wake function runs under the wait queue's lock.
	 * Nests outside the inverter's queue lock.
	 */
	spinlock_t lock;
	struct uring_session *us;
	u16 index;
	struct task_struct *task; /* issues this queue's commands; ref held */
	/* kbdus_uring_cmd_ring() of every POSTED or ASSIGNED command; only
	 * meaningful while num_cmds > 0, so a new ring may take over once
	 * the old one's commands are all gone. */
	const void *ring;
	unsigned int num_cmds;
	struct list_head posted;
	struct list_head assigned;
	struct io_uring_cmd *carrier; /* its task work is pending */
	bool dead; /* the queue thread is exiting; set once */
	bool stopped; /* KBDUS_URING_CMD_STOP: takes nothing more; set once */
	struct uring_tag *tags;
};

struct uring_session {
	struct kbdus_session *session;
	struct kbdus_device *kdev;
	struct kbdus_request
		*descriptors; /* kbdus_shm_alloc(), mapped read-only */
	size_t descriptors_size;
	u16 num_queues;
	u16 depth;
	struct uring_queue *queues;
	struct wait_queue_entry wait; /* on kdev->receive_wq */
#if KBDUS_URING_MONITOR
	struct delayed_work monitor;
#endif
};

/* What a posted command remembers, in its pdu. */
struct uring_cmd_pdu {
	struct uring_queue *uq;
	u16 tag;
};

static struct uring_cmd_pdu *cmd_pdu(struct io_uring_cmd *cmd)
{
	BUILD_BUG_ON(sizeof(struct uring_cmd_pdu) > sizeof(cmd->pdu));
	return (struct uring_cmd_pdu *)cmd->pdu;
}

static bool has_notification(struct kbdus_session *session)
{
	return test_bit(KBDUS_SESSION_TERMINATE, &session->flags) ||
	       test_bit(KBDUS_SESSION_AVAILABLE, &session->flags);
}

/* Moves a tag back to IDLE; returns the command it held. */
static struct io_uring_cmd *tag_release(struct uring_queue *uq,
					struct uring_tag *tag)
{
	struct io_uring_cmd *cmd = tag->cmd;

	lockdep_assert_held(&uq->lock);
	uq->num_cmds--;
	list_del_init(&tag->node);
	tag->state = URING_TAG_IDLE;
	tag->cmd = NULL;
	tag->slot = NULL;
	return cmd;
}

/* ------------------------------------------------------------------------- */
/* Delivery */

static void uring_task_work(struct io_uring_cmd *carrier,
			    unsigned int issue_flags);

static bool tag_is_posted(struct kbdus_slot *slot, void *arg)
{
	struct uring_queue *uq = arg;

	/* A dying queue thread or a stopped queue takes nothing new: its
	 * requests stay pending until the session ends, and then follow the
	 * recovery rules. */
	return !uq->dead && !uq->stopped &&
	       uq->tags[slot->index % uq->us->depth].state == URING_TAG_POSTED;
}

/*
 * Assigns every pending request whose slot has a posted command, and makes
 * sure a task work will deliver them (and any notification).  Any context.
 */
static void uring_kick(struct uring_queue *uq)
{
	struct uring_session *us = uq->us;
	struct io_uring_cmd *carrier = NULL;
	struct kbdus_slot *slot;
	struct uring_tag *tag;
	unsigned long flags;
	u32 generation;

	if (list_empty(&us->kdev->queues[uq->index].pending) &&
	    !has_notification(us->session))
		return;

	spin_lock_irqsave(&uq->lock, flags);
	while ((slot = kbdus_inverter_pull_queue(us->kdev, us->session,
						 uq->index, tag_is_posted, uq,
						 &generation))) {
		tag = &uq->tags[slot->index % us->depth];
		tag->state = URING_TAG_ASSIGNED;
		tag->slot = slot;
		tag->generation = generation;
		list_move_tail(&tag->node, &uq->assigned);
		if (!uq->carrier)
			carrier = uq->carrier = tag->cmd;
	}
	if (!uq->carrier && has_notification(us->session) &&
	    !list_empty(&uq->posted)) {
		tag = list_first_entry(&uq->posted, struct uring_tag, node);
		carrier = uq->carrier = tag->cmd;
	}
	spin_unlock_irqrestore(&uq->lock, flags);

	if (carrier)
		kbdus_uring_cmd_do_in_task(carrier, uring_task_work);
}

static int uring_wake(struct wait_queue_entry *wait, unsigned int mode,
		      int wake_flags, void *key)
{
	struct uring_session *us =
		container_of(wait, struct uring_session, wait);
	u16 i;

	for (i = 0; i < us->num_queues; i++)
		uring_kick(&us->queues[i]);
	return 0;
}

/* Copies a request out to the driver; runs in the queue's thread.  The
 * slot is DELIVERING. */
static int uring_deliver(struct uring_session *us, struct uring_tag *tag,
			 u64 *handle)
{
	struct kbdus_slot *slot = tag->slot;
	struct kbdus_request request;
	struct iov_iter iter;
	u32 size;

	kbdus_inverter_fill_request(slot, &request);

	/* No buffer: the data stays in the kernel until a GET_DATA. */
	size = tag->buffer ? kbdus_inverter_payload_in(slot) : 0;
	if (size) {
		iov_iter_ubuf(&iter, ITER_DEST, u64_to_user_ptr(tag->buffer),
			      size);
		if (kbdus_inverter_copy_to_driver(slot, &iter)) {
			kbdus_inverter_receive_fail(slot, EIO);
			return -EFAULT;
		}
	}

	memcpy(&us->descriptors[slot->index], &request, sizeof(request));
	*handle = request.handle;
	kbdus_inverter_receive_commit(slot);
	return KBDUS_URING_RES_REQUEST;
}

/*
 * Completes up to max POSTED commands with res, and returns how many.  A
 * carrier is skipped: its task work is pending and will see to it.
 */
static unsigned int uring_complete_posted(struct uring_queue *uq, int res,
					  unsigned int max,
					  unsigned int issue_flags)
{
	struct io_uring_cmd *cmds[16];
	unsigned int count, done = 0, i;
	struct uring_tag *tag, *next;
	unsigned long flags;

	do {
		count = 0;
		spin_lock_irqsave(&uq->lock, flags);
		list_for_each_entry_safe(tag, next, &uq->posted, node) {
			if (tag->cmd == uq->carrier)
				continue;
			cmds[count++] = tag_release(uq, tag);
			if (count == ARRAY_SIZE(cmds) || done + count == max)
				break;
		}
		spin_unlock_irqrestore(&uq->lock, flags);

		for (i = 0; i < count; i++)
			kbdus_uring_cmd_done(cmds[i], res, issue_flags);
		done += count;
	} while (count == ARRAY_SIZE(cmds) && done < max);
	return done;
}

/* Completes posted commands with a notification: all of them for
 * TERMINATE, one for DEVICE_AVAILABLE. */
static void uring_notify(struct uring_queue *uq, unsigned int issue_flags)
{
	struct kbdus_session *session = uq->us->session;

	if (test_bit(KBDUS_SESSION_TERMINATE, &session->flags)) {
		uring_complete_posted(uq, KBDUS_URING_RES_TERMINATE, UINT_MAX,
				      issue_flags);
	} else if (!READ_ONCE(uq->stopped) && /* leave it to a live queue */
		   test_and_clear_bit(KBDUS_SESSION_AVAILABLE,
				      &session->flags)) {
		/* Nobody to tell yet: the next FETCH will. */
		if (!uring_complete_posted(uq, KBDUS_URING_RES_DEVICE_AVAILABLE,
					   1, issue_flags))
			set_bit(KBDUS_SESSION_AVAILABLE, &session->flags);
	}
}

static void uring_task_work(struct io_uring_cmd *carrier,
			    unsigned int issue_flags)
{
	struct uring_queue *uq = cmd_pdu(carrier)->uq;
	struct uring_session *us = uq->us;
	/* Run by a fallback worker when the thread is exiting: no copies. */
	bool dead = (current->flags & (PF_EXITING | PF_KTHREAD)) ||
		    current != uq->task;
	struct uring_tag *tag, *next;
	struct io_uring_cmd *cmd;
	bool reposted = false;
	LIST_HEAD(assigned);
	unsigned long flags;
	u64 handle = 0;
	int res;

	spin_lock_irqsave(&uq->lock, flags);
	list_splice_init(&uq->assigned, &assigned);
	uq->carrier = NULL;
	spin_unlock_irqrestore(&uq->lock, flags);

	list_for_each_entry_safe(tag, next, &assigned, node) {
		if (dead) {
			spin_lock_irqsave(&uq->lock, flags);
			uq->dead = true;
			spin_unlock_irqrestore(&uq->lock, flags);
			kbdus_inverter_assigned_abort(us->kdev, tag->slot,
						      tag->generation);
			res = -ECANCELED;
		} else if (!kbdus_inverter_deliver_begin(tag->slot,
							 tag->generation)) {
			/* Timed out while we waited to run: the command
			 * stays posted for the slot's next request. */
			spin_lock_irqsave(&uq->lock, flags);
			tag->state = URING_TAG_POSTED;
			tag->slot = NULL;
			list_move_tail(&tag->node, &uq->posted);
			spin_unlock_irqrestore(&uq->lock, flags);
			reposted = true;
			continue;
		} else {
			res = uring_deliver(us, tag, &handle);
		}

		spin_lock_irqsave(&uq->lock, flags);
		if (res == KBDUS_URING_RES_REQUEST)
			tag->handle = handle;
		cmd = tag_release(uq, tag);
		spin_unlock_irqrestore(&uq->lock, flags);

		kbdus_uring_cmd_done(cmd, res, issue_flags);
	}

	if (dead)
		return;
	uring_notify(uq, issue_flags);
	/* Stopped: the commands a STOP had to leave to this carrier. */
	if (READ_ONCE(uq->stopped))
		uring_complete_posted(uq, -ECANCELED, UINT_MAX, issue_flags);
	/* A request may already wait for a command that went back. */
	if (reposted)
		uring_kick(uq);
}

/* ------------------------------------------------------------------------- */
/* Commands */

/* Answers the request delivered on a slot.  A stale handle means it timed
 * out or was requeued meanwhile: nothing to do.  -EFAULT if the reply's
 * data could not be read (the request then fails with EIO). */
static int uring_commit(struct uring_session *us, u64 handle, int result,
			u64 buffer)
{
	struct kbdus_slot *slot;
	struct iov_iter iter;
	int ret = 0;
	u32 size;

	slot = kbdus_inverter_reply_begin(us->session, handle);
	if (IS_ERR(slot))
		return 0;

	size = result ? 0 : kbdus_inverter_payload_out(slot);
	if (size) {
		iov_iter_ubuf(&iter, ITER_SOURCE, u64_to_user_ptr(buffer),
			      size);
		if (kbdus_inverter_copy_from_driver(slot, &iter)) {
			result = EIO;
			ret = -EFAULT;
		}
	}
	kbdus_inverter_reply_end(slot, result);
	return ret;
}

/* KBDUS_URING_CMD_GET_DATA: copies the data of a request delivered without
 * a buffer.  -ESTALE if it timed out meanwhile (a COMMIT is still owed, and
 * ignored); -EFAULT if the buffer faulted (the request stays delivered). */
static int uring_get_data(struct uring_session *us, u64 handle, u64 buffer,
			  bool landing)
{
	struct kbdus_slot *slot;
	struct iov_iter iter;
	int ret = 0;
	u32 size;

	slot = kbdus_inverter_data_begin(us->session, handle);
	if (IS_ERR(slot))
		return PTR_ERR(slot);

	/* Landing answers the request too: not one whose pages need data,
	 * nor a FUA write, which may complete only once its data is stable,
	 * not once it is in the driver's memory. */
	size = kbdus_inverter_payload_in(slot);
	if (landing && (kbdus_inverter_payload_out(slot) ||
			kbdus_inverter_type(slot) == KBDUS_REQ_FUA_WRITE)) {
		ret = -EINVAL;
	} else if (size) {
		iov_iter_ubuf(&iter, ITER_DEST, u64_to_user_ptr(buffer), size);
		ret = kbdus_inverter_copy_to_driver(slot, &iter);
	}
	kbdus_inverter_data_end(slot);
	return ret;
}

/* COMMIT and GET_DATA act on the request the driver holds on a tag and
 * complete by their return value: they need the queue's thread, not its
 * ring. */
static int uring_held_request_cmd(struct uring_session *us,
				  struct uring_queue *uq,
				  struct uring_tag *tag, u32 op, s32 result,
				  u64 buffer)
{
	unsigned long flags;
	u64 handle;

	spin_lock_irqsave(&uq->lock, flags);
	if (uq->task != current) {
		spin_unlock_irqrestore(&uq->lock, flags);
		return -EINVAL;
	}
	handle = tag->handle;
	if (op == KBDUS_URING_CMD_COMMIT)
		tag->handle = 0;
	spin_unlock_irqrestore(&uq->lock, flags);

	if (!handle)
		return -EINVAL; /* no request on that tag */
	if (op == KBDUS_URING_CMD_COMMIT)
		return uring_commit(us, handle, result, buffer);
	return uring_get_data(us, handle, buffer, false);
}

/*
 * Everything the fetch half of a fused reply checks, for its first half to
 * run before it: once that half has acted, the fetch half must not fail.
 * Sets *handle to the request the tag holds.
 */
static int uring_check_fused(struct uring_queue *uq, struct uring_tag *tag,
			     const void *ring, u64 *handle)
{
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&uq->lock, flags);
	if (uq->task != current || (uq->num_cmds && uq->ring != ring))
		ret = -EINVAL;
	else if (tag->state != URING_TAG_IDLE)
		ret = -EBUSY;
	else
		ret = tag->handle ? 0 : -EINVAL; /* no request on that tag */
	*handle = tag->handle;
	spin_unlock_irqrestore(&uq->lock, flags);
	return ret;
}

/*
 * The passthrough half of PASSTHROUGH_AND_FETCH.  On success the request
 * is the passthrough's, the tag holds nothing, and *buffer is the one the
 * fetch half posts it with: the tag's last.  A refusal changes nothing.
 * Only the queue's thread touches an IDLE tag, and this is it, so the tag
 * cannot change between the two halves.
 */
static int uring_passthrough(struct uring_session *us, struct uring_queue *uq,
			     struct uring_tag *tag, const void *ring,
			     u64 descriptor, u64 *buffer)
{
	unsigned long flags;
	u64 handle;
	int ret;

	ret = uring_check_fused(uq, tag, ring, &handle);
	if (ret)
		return ret;

	ret = kbdus_passthrough_reply(us->session, handle, descriptor);
	if (ret)
		return ret;

	spin_lock_irqsave(&uq->lock, flags);
	tag->handle = 0;
	*buffer = tag->buffer;
	spin_unlock_irqrestore(&uq->lock, flags);
	return 0;
}

/*
 * The landing half of LAND_AND_FETCH: copies the held request's data to
 * buffer, as GET_DATA does, so that the commit half may answer it in the
 * same issue.  A refusal changes nothing (the driver still holds the
 * request): -EINVAL for a request whose reply carries data (a read, whose
 * pages nothing would fill) or a FUA write, -EFAULT, and -ESTALE for a
 * request that timed out meanwhile.  The last one matters: nothing landed,
 * and a driver that treats the buffer as written data must know.
 */
static int uring_land(struct uring_session *us, struct uring_queue *uq,
		      struct uring_tag *tag, const void *ring, u64 buffer)
{
	u64 handle;
	int ret;

	ret = uring_check_fused(uq, tag, ring, &handle);
	if (ret)
		return ret;
	return uring_get_data(us, handle, buffer, true);
}

/* io_uring is cancelling a posted command (its ring or task is going). */
static void uring_cancel(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct uring_cmd_pdu *pdu = cmd_pdu(cmd);
	struct uring_queue *uq = pdu->uq;
	struct uring_tag *tag = &uq->tags[pdu->tag];
	bool cancel = false;
	unsigned long flags;

	spin_lock_irqsave(&uq->lock, flags);
	/* An ASSIGNED command or a carrier is completed by its task work. */
	if (tag->state == URING_TAG_POSTED && tag->cmd == cmd &&
	    uq->carrier != cmd) {
		tag_release(uq, tag);
		cancel = true;
	}
	spin_unlock_irqrestore(&uq->lock, flags);

	if (cancel)
		kbdus_uring_cmd_done(cmd, -ECANCELED, issue_flags);
}

/* KBDUS_URING_CMD_STOP: the driver gives the queue up for this session. */
static int uring_stop_queue(struct uring_queue *uq, const void *ring,
			    unsigned int issue_flags)
{
	unsigned long flags;

	spin_lock_irqsave(&uq->lock, flags);
	/* The same rules as for posting: see "Who may complete a command".
	 * A STOP claims an unused queue as a FETCH would, so that no other
	 * thread can give it up. */
	if ((uq->task && uq->task != current) ||
	    (uq->num_cmds && uq->ring != ring)) {
		spin_unlock_irqrestore(&uq->lock, flags);
		return -EINVAL;
	}
	if (!uq->task) {
		get_task_struct(current);
		uq->task = current;
	}
	WRITE_ONCE(uq->stopped, true);
	spin_unlock_irqrestore(&uq->lock, flags);

	uring_complete_posted(uq, -ECANCELED, UINT_MAX, issue_flags);
	return 0;
}

static int protocol_uring_cmd(struct kbdus_session *session,
			      struct io_uring_cmd *cmd,
			      unsigned int issue_flags)
{
	struct uring_session *us = session->protocol_data;
	const struct kbdus_uring_cmd *ucmd;
	struct uring_queue *uq;
	struct uring_tag *tag;
	const void *ring = kbdus_uring_cmd_ring(cmd);
	u16 queue_index, tag_index;
	unsigned long flags;
	bool terminated, stopped;
	u64 buffer, handle = 0;
	s32 result;
	int ret;

	if (issue_flags & KBDUS_URING_F_CANCEL) {
		uring_cancel(cmd, issue_flags);
		return 0;
	}
	/* Issued by an io-wq worker (IOSQE_ASYNC, links, drain): requests
	 * must be delivered in the queue thread, and completions must not
	 * race our return (see "Who may complete a command"). */
	if (current->flags & PF_IO_WORKER)
		return -EINVAL;

	/* The SQE is shared with user space: read every field once. */
	ucmd = kbdus_uring_cmd_payload(cmd);
	queue_index = READ_ONCE(ucmd->queue);
	tag_index = READ_ONCE(ucmd->tag);
	result = READ_ONCE(ucmd->result);
	buffer = READ_ONCE(ucmd->buffer);

	if (queue_index >= us->num_queues)
		return -EINVAL;
	uq = &us->queues[array_index_nospec(queue_index, us->num_queues)];

	switch (cmd->cmd_op) {
	case KBDUS_URING_CMD_FETCH:
		if (result)
			return -EINVAL;
		break;
	case KBDUS_URING_CMD_COMMIT_AND_FETCH:
	case KBDUS_URING_CMD_COMMIT:
		if (result < 0 || result > MAX_ERRNO)
			return -EINVAL;
		break;
	case KBDUS_URING_CMD_LAND_AND_FETCH:
		if (result < 0 || result > MAX_ERRNO || !buffer)
			return -EINVAL;
		break;
	case KBDUS_URING_CMD_GET_DATA:
	case KBDUS_URING_CMD_PASSTHROUGH_AND_FETCH:
		if (result || !buffer)
			return -EINVAL;
		break;
	case KBDUS_URING_CMD_STOP:
		if (tag_index || result || buffer)
			return -EINVAL;
		return uring_stop_queue(uq, ring, issue_flags);
	default:
		return -EINVAL;
	}
	if (tag_index >= us->depth)
		return -EINVAL;
	tag = &uq->tags[array_index_nospec(tag_index, us->depth)];

	if (cmd->cmd_op == KBDUS_URING_CMD_COMMIT ||
	    cmd->cmd_op == KBDUS_URING_CMD_GET_DATA)
		return uring_held_request_cmd(us, uq, tag, cmd->cmd_op, result,
					      buffer);
	if (cmd->cmd_op == KBDUS_URING_CMD_PASSTHROUGH_AND_FETCH) {
		/* Then on as a FETCH of the tag's buffer. */
		ret = uring_passthrough(us, uq, tag, ring, buffer, &buffer);
		if (ret)
			return ret;
	} else if (cmd->cmd_op == KBDUS_URING_CMD_LAND_AND_FETCH) {
		/* Then on as a COMMIT_AND_FETCH that posts no buffer. */
		ret = uring_land(us, uq, tag, ring, buffer);
		if (ret)
			return ret;
		buffer = 0;
	}

	spin_lock_irqsave(&uq->lock, flags);
	if (!uq->task) {
		get_task_struct(current);
		uq->task = current;
		/* The driver is whoever serves the queues (see receive). */
		WRITE_ONCE(session->pid, task_tgid_vnr(current));
	} else if (uq->task != current) {
		ret = -EINVAL;
		goto out_unlock;
	}
	/* One ring per queue: see "Who may complete a command" above. */
	if (uq->num_cmds && uq->ring != ring) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (tag->state != URING_TAG_IDLE) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (cmd->cmd_op == KBDUS_URING_CMD_COMMIT_AND_FETCH ||
	    cmd->cmd_op == KBDUS_URING_CMD_LAND_AND_FETCH) {
		if (!tag->handle) {
			ret = -EINVAL;
			goto out_unlock;
		}
		handle = tag->handle;
		tag->handle = 0;
	} else if (tag->handle) {
		ret = -EBUSY; /* the slot's request is still unanswered */
		goto out_unlock;
	}

	/* Posted before the commit ends the old request, so the next
	 * request on this tag finds it. */
	terminated = test_bit(KBDUS_SESSION_TERMINATE, &session->flags);
	stopped = uq->stopped;
	if (!terminated && !stopped) {
		cmd_pdu(cmd)->uq = uq;
		cmd_pdu(cmd)->tag = tag_index;
		tag->state = URING_TAG_POSTED;
		tag->cmd = cmd;
		tag->buffer = buffer;
		list_add_tail(&tag->node, &uq->posted);
		uq->ring = ring;
		uq->num_cmds++;
	}
	spin_unlock_irqrestore(&uq->lock, flags);

	if (handle)
		uring_commit(us, handle, result, buffer); /* a fault fails it */
	if (terminated)
		return KBDUS_URING_RES_TERMINATE;
	if (stopped)
		return -ECANCELED;

	/* Nothing can complete it before we return: task work and STOPs run
	 * in this thread (never an io-wq worker, see above), and cancellation
	 * needs this ring's lock. */
	kbdus_uring_mark_cancelable(cmd, issue_flags);
	uring_kick(uq);
	return -EIOCBQUEUED;

out_unlock:
	spin_unlock_irqrestore(&uq->lock, flags);
	return ret;
}

/* ------------------------------------------------------------------------- */
/* Kernels without cancelable commands: cancel when a queue thread exits */

#if KBDUS_URING_MONITOR
static void uring_monitor_fn(struct work_struct *work)
{
	struct uring_session *us = container_of(to_delayed_work(work),
						struct uring_session, monitor);
	u16 i;

	for (i = 0; i < us->num_queues; i++) {
		struct uring_queue *uq = &us->queues[i];

		if (!READ_ONCE(uq->task) || !(uq->task->flags & PF_EXITING))
			continue;

		uring_complete_posted(uq, -ECANCELED, UINT_MAX,
				      IO_URING_F_UNLOCKED);
	}

	queue_delayed_work(kbdus_wq, &us->monitor, URING_MONITOR_PERIOD);
}
#endif

/* ------------------------------------------------------------------------- */
/* Session setup */

static void uring_session_free(struct uring_session *us)
{
	u16 i;

	if (us->queues) {
		for (i = 0; i < us->num_queues; i++) {
			if (us->queues[i].task)
				put_task_struct(us->queues[i].task);
			kfree(us->queues[i].tags);
		}
	}
	kfree(us->queues);
	kbdus_shm_free(us->descriptors);
	kfree(us);
}

static int protocol_uring_init(struct kbdus_session *session,
			       struct kbdus_device *kdev)
{
	struct uring_session *us;
	u16 i, t;

	us = kzalloc(sizeof(*us), GFP_KERNEL_ACCOUNT);
	if (!us)
		return -ENOMEM;

	us->session = session;
	us->kdev = kdev;
	us->num_queues = kdev->config.num_queues;
	us->depth = kdev->config.queue_depth;
	us->descriptors_size =
		PAGE_ALIGN(kdev->num_slots * sizeof(struct kbdus_request));
	us->descriptors = kbdus_shm_alloc(us->descriptors_size);
	us->queues = kcalloc(us->num_queues, sizeof(*us->queues),
			     GFP_KERNEL_ACCOUNT);
	if (!us->descriptors || !us->queues)
		goto err;

	for (i = 0; i < us->num_queues; i++) {
		struct uring_queue *uq = &us->queues[i];

		spin_lock_init(&uq->lock);
		INIT_LIST_HEAD(&uq->posted);
		INIT_LIST_HEAD(&uq->assigned);
		uq->us = us;
		uq->index = i;
		uq->tags = kcalloc(us->depth, sizeof(*uq->tags),
				   GFP_KERNEL_ACCOUNT);
		if (!uq->tags)
			goto err;
		for (t = 0; t < us->depth; t++)
			INIT_LIST_HEAD(&uq->tags[t].node);
	}

	session->protocol_data = us;
	init_waitqueue_func_entry(&us->wait, uring_wake);
	add_wait_queue(&kdev->receive_wq, &us->wait);
#if KBDUS_URING_MONITOR
	INIT_DELAYED_WORK(&us->monitor, uring_monitor_fn);
	queue_delayed_work(kbdus_wq, &us->monitor, URING_MONITOR_PERIOD);
#endif
	return 0;

err:
	uring_session_free(us);
	return -ENOMEM;
}

/* At release: every command holds a file reference, so none is left. */
static void protocol_uring_destroy(struct kbdus_session *session)
{
	struct uring_session *us = session->protocol_data;

	remove_wait_queue(&us->kdev->receive_wq, &us->wait);
#if KBDUS_URING_MONITOR
	cancel_delayed_work_sync(&us->monitor);
#endif
	uring_session_free(us);
	session->protocol_data = NULL;
}

/* The descriptor table, read-only: descriptors are kbdus's to write. */
static int protocol_uring_mmap(struct kbdus_session *session,
			       struct vm_area_struct *vma)
{
	struct uring_session *us = session->protocol_data;

	return kbdus_shm_mmap(vma, us->descriptors, us->descriptors_size,
			      false);
}

static long protocol_uring_ioctl(struct kbdus_session *session,
				 unsigned int command, void __user *arg)
{
	return -ENOIOCTLCMD;
}

const struct kbdus_protocol_ops kbdus_protocol_uring = {
	.id = KBDUS_PROTOCOL_URING,
	.name = "uring",
	.init = protocol_uring_init,
	.destroy = protocol_uring_destroy,
	.ioctl = protocol_uring_ioctl,
	.mmap = protocol_uring_mmap,
	.uring_cmd = protocol_uring_cmd,
};
