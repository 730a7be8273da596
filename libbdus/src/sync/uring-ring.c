// SPDX-License-Identifier: MIT
/*
 * uring-ring.c - an io_uring ring that carries kbdus's URING_CMD commands.
 *
 * Rings are set up, in order of preference, with:
 *   - SINGLE_ISSUER | DEFER_TASKRUN (Linux 6.1): kbdus copies requests out
 *     in task work, which then only runs when the ring's thread waits for
 *     completions.  With the other modes it interrupts the thread wherever
 *     it is, so a callback running on it could see EINTR from a system call
 *     such as epoll_wait() that is not restarted;
 *   - COOP_TASKRUN (5.19), then nothing: for kernels without the above.
 * A ring that polls (bdus_ext_attrs.poll_us) asks for TASKRUN_FLAG too,
 * where the kernel takes it with the mode: the kernel then flags in shared
 * memory that it has work for the ring, so that polling needs no system
 * call until there is something to take.
 * The ring is sized so that every command it can have in flight (one per
 * slot, two with read_ref or write_ref (a COMMIT and the FETCH), a STOP per
 * queue, and the eventfd read) fits in the completion queue: nothing is
 * ever held back in the kernel's overflow list.
 */

#include "uring.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Submissions are flushed when the submission queue is full, so it need not
 * hold every command at once. */
#define URING_MAX_SQ_ENTRIES 4096u

#define RING_DEFER (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)

static const unsigned ring_modes[] = {
	RING_DEFER,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

static const unsigned polling_ring_modes[] = {
	RING_DEFER | IORING_SETUP_TASKRUN_FLAG,
	RING_DEFER,
	IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

/* io_uring_queue_init_params() in the best mode the kernel accepts, for
 * this many commands in flight. */
static int init_ring(struct io_uring *ring, uint32_t completions, bool polls)
{
	uint32_t entries = completions < URING_MAX_SQ_ENTRIES ?
				   completions :
				   URING_MAX_SQ_ENTRIES;
	const unsigned *modes = polls ? polling_ring_modes : ring_modes;
	size_t num_modes = polls ? sizeof(polling_ring_modes) / sizeof(unsigned) :
				   sizeof(ring_modes) / sizeof(unsigned);
	struct io_uring_params params;
	int ret = -EINVAL;

	for (size_t i = 0; i < num_modes; i++) {
		memset(&params, 0, sizeof(params));
		params.flags = modes[i] | IORING_SETUP_CQSIZE |
			       IORING_SETUP_CLAMP;
		params.cq_entries = completions;
		ret = io_uring_queue_init_params(entries, ring, &params);
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

static bool fail_init(int err)
{
	if (err == -EPERM)
		return bdus_fail(EPERM,
				 "cannot create an io_uring ring: io_uring is "
				 "disabled (see sysctl kernel.io_uring_disabled)");
	return bdus_fail_errno(-err, "cannot create an io_uring ring");
}

bool bdus_uring_probe(uint32_t num_commands)
{
	struct io_uring ring;
	int err = init_ring(&ring, (num_commands ? num_commands : 1) + 1, false);

	if (err < 0)
		return fail_init(err);
	io_uring_queue_exit(&ring);
	return true;
}

bool uring_ring_open(struct uring_ring *r, int session_fd, uint32_t num_slots,
		     uint32_t num_queues, const struct bdus_ext_attrs *ext)
{
	uint32_t per_slot = ext->read_ref || ext->write_ref ? 2 : 1;
	/* The eventfd read too. */
	int err = init_ring(&r->ring, num_slots * per_slot + num_queues + 1,
			   ext->poll_us > 0);

	if (err < 0)
		return fail_init(err);
	r->open = true;
	r->poll_ns = (uint64_t)ext->poll_us * 1000;

	/* A fixed file saves a file lookup per command; optional. */
	r->fd = session_fd;
	if (io_uring_register_files(&r->ring, &session_fd, 1) == 0) {
		r->fd = 0;
		r->fixed_file = true;
	}
	return true;
}

void uring_ring_close(struct uring_ring *r)
{
	if (r->open)
		io_uring_queue_exit(&r->ring);
	r->open = false;
	r->event_armed = false;
}

/* ------------------------------------------------------------------------- */
/* Submissions */

static struct io_uring_sqe *get_sqe(struct uring_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe) {
		/* Full: make room.  A failure shows in the next wait. */
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	if (!sqe)
		bdus_fail(EBUSY, "the io_uring submission queue stays full");
	return sqe;
}

static bool queue_command(struct uring_ring *r, uint32_t op,
			  const struct kbdus_uring_cmd *cmd, uint64_t user_data)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return false;
	bdus_uring_prep_cmd(sqe, r->fd, r->fixed_file, op, cmd, user_data);
	return true;
}

/* A command that completes with the slot's next event: posted until then. */
static bool queue_slot_command(struct uring_ring *r, struct uring_slot *slot,
			       uint32_t op, int32_t result, const char *buffer,
			       uint64_t tag)
{
	struct kbdus_uring_cmd cmd = {
		.queue = slot->queue,
		.tag = slot->tag,
		.result = result,
		.buffer = (uintptr_t)buffer,
	};

	if (!queue_command(r, op, &cmd, (uintptr_t)slot | tag))
		return false;
	r->posted++;
	return true;
}

/* FETCH and COMMIT_AND_FETCH name the slot's buffer, unless requests come
 * without their data (see uring_server.data_deferred). */
static const char *fetch_buffer(const struct uring_ring *r,
				const struct uring_slot *slot)
{
	return r->server->data_deferred ? NULL : slot->buffer;
}

_Static_assert(sizeof(struct kbdus_uring_cmd) ==
		       sizeof(struct io_uring_sqe) -
			       offsetof(struct io_uring_sqe, addr3),
	       "the command fills the SQE's command area");

bool uring_ring_fetch(struct uring_ring *r, struct uring_slot *slot)
{
	return queue_slot_command(r, slot, KBDUS_URING_CMD_FETCH, 0,
				  fetch_buffer(r, slot), URING_TAG_SLOT);
}

bool uring_ring_get_data(struct uring_ring *r, struct uring_slot *slot,
			 char *dest, uint64_t tag)
{
	return queue_slot_command(r, slot, KBDUS_URING_CMD_GET_DATA, 0, dest,
				  tag);
}

/* Whether a successful reply carries data out (a read, an ioctl's _IOC_READ
 * argument, a zone report, where a zone append went). */
static bool reply_has_data(const struct bdus_message *message)
{
	return message->type == KBDUS_REQ_READ ||
	       message->type == KBDUS_REQ_REPORT_ZONES ||
	       message->type == KBDUS_REQ_ZONE_APPEND ||
	       (message->type == KBDUS_REQ_IOCTL &&
		(_IOC_DIR(message->ioctl_command) & _IOC_READ));
}

bool uring_ring_commit(struct uring_ring *r, struct uring_slot *slot)
{
	struct bdus_message *message = &slot->message;
	const char *data = message->reply_data;
	struct kbdus_uring_cmd cmd = {
		.queue = slot->queue,
		.tag = slot->tag,
	};

	if (message->passthrough.num_extents && slot->result == 0) {
		/* kbdus reads it while the command is issued, in this
		 * thread's next submission, and posts the slot with the
		 * buffer of its last FETCH. */
		cmd.buffer = (uintptr_t)&message->passthrough;
		if (!queue_command(r, KBDUS_URING_CMD_PASSTHROUGH_AND_FETCH,
				   &cmd, (uintptr_t)slot | URING_TAG_PASS))
			return false;
		r->posted++;
		return true;
	}
	message->passthrough.num_extents = 0;
	if (message->write_dest && slot->result == 0) {
		/* ext->write_ref: kbdus lands the data, then completes the
		 * write and posts the slot, all in one command. */
		char *dest = message->write_dest;

		message->write_dest = NULL;
		return queue_slot_command(r, slot,
					  KBDUS_URING_CMD_LAND_AND_FETCH, 0,
					  dest, URING_TAG_LAND);
	}
	message->write_dest = NULL;
	/* The slot's commands name no buffer (data_deferred): data in the
	 * slot's buffer goes out with a COMMIT from there. */
	if (!data && r->server->data_deferred && slot->result == 0 &&
	    reply_has_data(message))
		data = slot->buffer;
	if (!data || slot->result != 0)
		return queue_slot_command(r, slot,
					  KBDUS_URING_CMD_COMMIT_AND_FETCH,
					  slot->result, fetch_buffer(r, slot),
					  URING_TAG_SLOT);
	cmd.buffer = (uintptr_t)data;
	/* kbdus copies from data while the COMMIT is issued, in this
	 * thread's next submission; the slot keeps its own buffer. */
	slot->message.reply_data = NULL;
	return queue_command(r, KBDUS_URING_CMD_COMMIT, &cmd,
			     URING_COMMIT_DATA) &&
	       uring_ring_fetch(r, slot);
}

bool uring_ring_stop_queue(struct uring_ring *r, uint16_t queue)
{
	struct kbdus_uring_cmd cmd = { .queue = queue };

	return queue_command(r, KBDUS_URING_CMD_STOP, &cmd, URING_STOP_DATA);
}

bool uring_ring_arm_event(struct uring_ring *r)
{
	struct io_uring_sqe *sqe;

	if (r->event_armed)
		return true;
	sqe = get_sqe(r);
	if (!sqe)
		return false;
	io_uring_prep_read(sqe, r->eventfd, &r->event_value,
			   sizeof(r->event_value), 0);
	sqe->user_data = URING_EVENT_DATA;
	r->event_armed = true;
	return true;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Submits what was queued, then looks for completions for up to poll_ns;
 * true if there are some.  The kernel's work for the ring (a request
 * delivered in task work) is run when TASKRUN_FLAG shows it, or on every
 * round where the ring has no such flag. */
static bool poll_completions(struct uring_ring *r)
{
	bool flagged = r->ring.flags & IORING_SETUP_TASKRUN_FLAG;
	uint64_t deadline;
	unsigned rounds = 0;

	if (io_uring_submit(&r->ring) < 0)
		return false; /* the wait that follows reports it */
	deadline = uring_now_ns() + r->poll_ns;
	for (;;) {
		if (io_uring_cq_ready(&r->ring))
			return true;
		if (!flagged || (IO_URING_READ_ONCE(*r->ring.sq.kflags) &
				 IORING_SQ_TASKRUN)) {
			io_uring_get_events(&r->ring);
			if (io_uring_cq_ready(&r->ring))
				return true;
		}
		/* The clock is cheap (vDSO), but not free. */
		if (++rounds % 16 == 0 && uring_now_ns() >= deadline)
			return false;
		cpu_relax();
	}
}

int uring_ring_submit_and_wait(struct uring_ring *r)
{
	int ret;

	if (r->poll_ns && poll_completions(r))
		return 0;
	ret = io_uring_submit_and_wait(&r->ring, 1);

	/* EBUSY and EAGAIN: the kernel is short of room for completions
	 * right now; reaping some makes room. */
	if (ret == -EBUSY || ret == -EAGAIN || ret == -ETIME)
		return -EINTR;
	return ret < 0 ? ret : 0;
}

void uring_ring_submit(struct uring_ring *r)
{
	io_uring_submit(&r->ring);
}

void uring_ring_wake(struct uring_ring *r)
{
	uint64_t one = 1;

	/* Only fails if the counter would overflow: it is awake anyway. */
	(void)!write(r->eventfd, &one, sizeof(one));
}
