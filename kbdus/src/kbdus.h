/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbdus internals.
 *
 * Layers, bottom to top:
 *   device.c     registry, lifecycle and the gendisk (one kbdus_device each)
 *   inverter.c   blk-mq ops and the request slots: requests in, replies out
 *   protocol.c   the protocol registry and shared-memory helpers
 *   protocol_*.c how slots reach user space (ioctl, mmap, uring)
 *   passthrough.c backing files, and replies that kbdus serves from them
 *   control.c    /dev/bdus-control: sessions and ioctl dispatch
 *
 * A protocol only calls the kbdus_inverter_* functions below; it never
 * touches the device's state, so new transports need no change elsewhere.
 */

#ifndef KBDUS_INTERNAL_H
#define KBDUS_INTERNAL_H

#include <linux/blk-mq.h>
#include <linux/io_uring.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <uapi/linux/kbdus.h>

/*
 * Minors of a device and its partitions, as in BDUS 0.1.2: 256 (Linux's
 * DISK_MAX_PARTS), so that every partition has a minor in the disk's range
 * (beyond it Linux hands out blkext numbers), and device slot n owns minors
 * n * 256 onwards.  max_devices (4096 at most) fits MINORBITS.
 */
#define KBDUS_MINORS_PER_DEVICE 256

extern const struct file_operations kbdus_control_fops;

extern unsigned int kbdus_max_devices;
extern struct workqueue_struct *kbdus_wq;

/* ------------------------------------------------------------------------- */
/* Slots */

/*
 * Slot states.  A slot's state and generation live together in
 * kbdus_slot.word so one cmpxchg both checks a handle's generation and
 * claims the request; whoever moves a slot to COMPLETING ends its request,
 * which is how a request completes exactly once when reply, timeout and
 * driver death race.
 *
 * The request timeout bounds every state but DELIVERING (and a reply's
 * copy in COMPLETING).  Those only last while a receiver or replier copies
 * data inside its own system call or task work: nothing in them waits for
 * the driver to be scheduled, only, at worst, for the driver's own memory
 * to fault in (userfaultfd), which its death ends.  A passthrough holds
 * its request COMPLETING until its I/O on the backing files ends: that is
 * bounded by those files, as the kernel's loop driver is, not by the
 * timeout.  A protocol that
 * delivers later (uring, from the queue thread's task work) holds the
 * request ASSIGNED meanwhile, which the timeout may claim.
 */
enum kbdus_slot_state {
	KBDUS_SLOT_FREE = 0,
	KBDUS_SLOT_QUEUED, /* on its queue's pending list */
	KBDUS_SLOT_ASSIGNED, /* pulled for a later delivery; claimable */
	/* a receiver is copying it out, or a late copy of its data runs
	 * (kbdus_inverter_data_begin); untouchable */
	KBDUS_SLOT_DELIVERING,
	KBDUS_SLOT_DELIVERED, /* the owner session may reply */
	KBDUS_SLOT_COMPLETING, /* someone is ending the request */
};

struct kbdus_session;

struct kbdus_slot {
	/* (generation << 8) | state.  Claims (leaving QUEUED, ASSIGNED or
	 * DELIVERED) use cmpxchg; plain stores are made only by the one
	 * party that owns the state: queue_rq for a free tag, the puller
	 * under the queue lock, the receiver (or late copier) for
	 * DELIVERING. */
	atomic64_t word;
	/* Set in queue_rq before the slot becomes QUEUED. */
	struct request *rq;
	/* Session it was delivered to; written by the receiver while the
	 * slot is DELIVERING, read by repliers and at session release. */
	struct kbdus_session *owner;
	/* On kbdus_queue.pending exactly while QUEUED; under that lock. */
	struct list_head pending_node;
	u32 index;
	u16 queue;
};

struct kbdus_queue {
	/* Protects pending, and every move into or out of QUEUED. */
	spinlock_t lock;
	struct list_head pending;
	struct kbdus_device *kdev;
	u16 index;
} ____cacheline_aligned_in_smp;

/* What a driver-private request (REQ_OP_DRV_IN/OUT, no bio) is for. */
enum kbdus_drv_kind {
	KBDUS_DRV_IOCTL, /* an ioctl on the block device */
	KBDUS_DRV_REPORT_ZONES, /* a zone report (zoned.c) */
};

/* Per-request data (blk-mq PDU).  Set by whoever allocates a
 * driver-private request; the rest is the inverter's. */
struct kbdus_rq_data {
	struct kbdus_slot *slot;
	/* Driver-private requests: */
	enum kbdus_drv_kind drv_kind;
	/* A kernel buffer: the ioctl's argument, or the zone descriptors. */
	void *drv_buffer;
	u32 ioctl_command;
	u32 ioctl_dir; /* kbdus_ioctl_dir() of the command */
	int ioctl_error; /* positive errno from the driver */
	u64 report_offset; /* REPORT_ZONES: bytes, the first zone's start */
	u32 report_size; /* REPORT_ZONES: bytes of descriptors asked for */
	/* ZONE_APPEND: the byte offset where the driver says the data went,
	 * copied from its reply. */
	u64 append_offset;
};

static inline struct kbdus_rq_data *kbdus_rq_data(struct request *rq)
{
	return blk_mq_rq_to_pdu(rq);
}

/* ------------------------------------------------------------------------- */
/* Devices */

struct kbdus_device {
	/* Immutable once created. */
	u64 id;
	struct kbdus_device_config config;
	int minor_index;
	u32 num_slots;
	struct kbdus_queue *queues;
	struct kbdus_slot *slots;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;

	/*
	 * References: the registry's (dropped when destruction finishes),
	 * the gendisk's (dropped in ->free_disk, or by hand if the disk was
	 * never added), and one per session bound to the device.  The last
	 * put frees everything and wakes the destroy waiters.
	 */
	struct kref kref;

	/*
	 * Serialises lifecycle changes: state, session, retiring, replacing,
	 * started, destroying, disk_added.  The I/O path reads state, session and
	 * terminated with READ_ONCE and never takes it.
	 */
	struct mutex mutex;
	enum kbdus_device_state state;
	struct kbdus_session *session; /* receives requests; may be NULL */
	/* A replaced session that has not closed yet; attach waits on
	 * session_wq until detach clears it. */
	struct kbdus_session *retiring;
	bool replacing; /* an attach is in progress */
	bool started; /* kbdus_device_start() ran: destroy_work may run */
	bool destroying;
	bool disk_added;
	/* Set under the mutex before draining the queues; queue_rq checks it
	 * under each queue's lock, so no request slips in after the drain. */
	bool terminated;

	/* Drivers waiting for requests or notifications (exclusive waits;
	 * notifications wake everyone). */
	wait_queue_head_t receive_wq;
	/* Attach waits here for a replaced session to go away. */
	wait_queue_head_t session_wq;

	struct work_struct add_disk_work;
	struct work_struct destroy_work;

	/* Runs this device's passthrough I/O; made with the first backing
	 * file (set once, cmpxchg), destroyed with the device.  One per
	 * device, so that a device passed through onto another never waits
	 * for workers that are all busy with its own requests. */
	struct workqueue_struct *passthrough_wq;
};

/* config.c */
int kbdus_config_validate(struct kbdus_device_config *config);

/* device.c */
struct kbdus_device *kbdus_device_create(struct kbdus_device_config *config,
					 struct kbdus_session *session);
void kbdus_device_start(struct kbdus_device *kdev);
struct kbdus_device *kbdus_device_lookup(u64 id);
void kbdus_device_put(struct kbdus_device *kdev);
int kbdus_device_next_id(u64 *id);
int kbdus_device_attach(struct kbdus_device *kdev,
			struct kbdus_session *session);
void kbdus_device_detach(struct kbdus_device *kdev,
			 struct kbdus_session *session);
int kbdus_device_destroy(struct kbdus_device *kdev, bool flush);
int kbdus_device_wait_destroyed(u64 id);
void kbdus_device_fill_info(struct kbdus_device *kdev,
			    struct kbdus_device_info *info);
int kbdus_devices_init(void);
void kbdus_devices_exit(void);

/* inverter.c */
extern const struct blk_mq_ops kbdus_mq_ops;
int kbdus_inverter_init(struct kbdus_device *kdev);
void kbdus_inverter_free(struct kbdus_device *kdev);
void kbdus_inverter_wake_all(struct kbdus_device *kdev);
void kbdus_inverter_fail_queued(struct kbdus_device *kdev);
void kbdus_inverter_release_session(struct kbdus_device *kdev,
				    struct kbdus_session *session,
				    bool requeue);

/* zoned.c */
struct kbdus_queue_settings;
/* CREATE's checks of the zoned fields (pbs: the resolved physical block
 * size), then their adjustment once max_read_write_size is known. */
int kbdus_zoned_check(const struct kbdus_device_config *c, u32 pbs);
void kbdus_zoned_adjust(struct kbdus_device_config *c);
void kbdus_zoned_settings(const struct kbdus_device_config *c,
			  struct kbdus_queue_settings *s);
int kbdus_zoned_revalidate(struct kbdus_device *kdev);
/* A zone append the driver answered: its sector becomes where the data
 * went; EIO if that is outside the zone. */
int kbdus_zoned_append_landed(struct request *rq);
/* Whether a request a dead or replaced driver held may go to the next
 * (zoned devices; the caller owns rq). */
bool kbdus_zoned_may_redeliver(const struct kbdus_device *kdev,
			       struct request *rq);
int kbdus_zoned_report(struct gendisk *disk, sector_t sector,
		       unsigned int nr_zones, report_zones_cb cb, void *cb_data);

/* bdev_ioctl.c */
int kbdus_bdev_ioctl_forward(struct kbdus_device *kdev, unsigned int command,
			     unsigned long arg);

/*
 * Which way an ioctl's argument travels, as _IOC_READ (to the caller) and
 * _IOC_WRITE (to the driver) bits: the command's own direction, or, on a
 * device with BDUS 0.1.x's convention (KBDUS_CONFIG_IOCTL_DIR_V01), the
 * command's with the two bits swapped.
 */
static inline u32 kbdus_ioctl_dir(const struct kbdus_device *kdev,
				  unsigned int command)
{
	u32 dir = _IOC_DIR(command);

	if ((kdev->config.flags & KBDUS_CONFIG_IOCTL_DIR_V01) &&
	    (dir == _IOC_READ || dir == _IOC_WRITE))
		dir ^= _IOC_READ | _IOC_WRITE;
	return dir;
}

/* ------------------------------------------------------------------------- */
/* Sessions and protocols */

struct kbdus_protocol_ops {
	u32 id;
	const char *name;
	/* Optional: refuses a (validated) config this protocol cannot
	 * serve, before CREATE makes a device or ATTACH binds. */
	int (*check)(const struct kbdus_device_config *config);
	/* Called once the session knows its device, before any request can
	 * reach it.  May sleep. */
	int (*init)(struct kbdus_session *session, struct kbdus_device *kdev);
	void (*destroy)(struct kbdus_session *session);
	/* Returns -ENOIOCTLCMD for commands it does not own. */
	long (*ioctl)(struct kbdus_session *session, unsigned int command,
		      void __user *arg);
	int (*mmap)(struct kbdus_session *session, struct vm_area_struct *vma);
	/* io_uring URING_CMD on the session fd; NULL if not supported. */
	int (*uring_cmd)(struct kbdus_session *session,
			 struct io_uring_cmd *cmd, unsigned int issue_flags);
};

extern const struct kbdus_protocol_ops kbdus_protocol_ioctl;
extern const struct kbdus_protocol_ops kbdus_protocol_mmap;
extern const struct kbdus_protocol_ops kbdus_protocol_uring;

/* protocol.c */
const struct kbdus_protocol_ops *kbdus_protocol_find(u32 id);
void *kbdus_shm_alloc(size_t size);
void kbdus_shm_free(void *area);
int kbdus_shm_mmap(struct vm_area_struct *vma, void *area, size_t size,
		   bool writable);
int kbdus_shm_prepare_vma(struct vm_area_struct *vma, size_t size,
			  bool writable);
int kbdus_shm_insert(struct vm_area_struct *vma, unsigned long offset,
		     void *area, unsigned long length);

/* Session flags (bit numbers in kbdus_session.flags). */
enum {
	KBDUS_SESSION_TERMINATE, /* sticky: every receive returns TERMINATE */
	KBDUS_SESSION_AVAILABLE, /* DEVICE_AVAILABLE not yet delivered */
	KBDUS_SESSION_REPLACED, /* uncompleted requests go to the successor */
};

/*
 * A session's backing files for passthrough (passthrough.c).  lock protects
 * files[]; each non-NULL entry holds a reference, dropped when it is
 * unregistered or the session ends.  Passthrough I/O takes references of
 * its own, so entries may go while it runs.
 */
struct kbdus_backing_table {
	spinlock_t lock;
	struct file *files[KBDUS_MAX_BACKING_FILES];
};

struct kbdus_session {
	/* Serialises create/attach on this file. */
	struct mutex bind_mutex;
	/* Set once (release store) when bound; never changes afterwards. */
	struct kbdus_device *kdev;
	const struct kbdus_protocol_ops *protocol;
	void *protocol_data;
	pid_t pid;
	unsigned long flags;
	/* Where the next receive starts scanning queues; a hint, racy. */
	unsigned int next_queue;
	struct kbdus_backing_table backing;
};

static inline struct kbdus_device *kbdus_session_device(struct kbdus_session *s)
{
	return smp_load_acquire(&s->kdev);
}

/*
 * The inverter's interface to protocols.
 *
 * Receiving: kbdus_inverter_receive() returns a slot in DELIVERING state
 * (or a notification, with *slot NULL).  The protocol copies the request
 * out, then calls _commit (the driver now owns it), _abort (it goes back to
 * the front of its queue, nothing lost) or _fail (it cannot be delivered).
 *
 * Protocols that push requests (they hook kdev->receive_wq with their own
 * wake function to learn when to pull) use kbdus_inverter_pull_queue()
 * instead: it takes a request of one queue without waiting and leaves it
 * ASSIGNED under the returned generation.  Later, _deliver_begin() moves it
 * to DELIVERING (false if it timed out meanwhile: forget it), or
 * _assigned_abort() gives it back.
 *
 * Replying: kbdus_inverter_reply_begin() validates a handle and claims the
 * request; the protocol copies read data in, then calls _reply_end.
 *
 * Late data: kbdus_inverter_data_begin() validates a handle and holds a
 * delivered request while the protocol copies its data out (the request
 * was delivered without it), then _data_end gives it back to the driver.
 */
int kbdus_inverter_receive(struct kbdus_session *session, bool nonblock,
			   struct kbdus_slot **slot, u16 *type);
/* poll(2) of an ioctl or mmap session: EPOLLIN while a receive would not
 * wait. */
__poll_t kbdus_inverter_poll(struct kbdus_session *session, struct file *file,
			     poll_table *wait);
struct kbdus_slot *
kbdus_inverter_pull_queue(struct kbdus_device *kdev,
			  struct kbdus_session *session, u16 queue_index,
			  bool (*accept)(struct kbdus_slot *, void *),
			  void *arg, u32 *generation);
bool kbdus_inverter_deliver_begin(struct kbdus_slot *slot, u32 generation);
void kbdus_inverter_assigned_abort(struct kbdus_device *kdev,
				   struct kbdus_slot *slot, u32 generation);
void kbdus_inverter_receive_commit(struct kbdus_slot *slot);
void kbdus_inverter_receive_fail(struct kbdus_slot *slot, int error);
void kbdus_inverter_receive_abort(struct kbdus_device *kdev,
				  struct kbdus_slot *slot);
struct kbdus_slot *kbdus_inverter_reply_begin(struct kbdus_session *session,
					      u64 handle);
void kbdus_inverter_reply_end(struct kbdus_slot *slot, int error);
struct kbdus_slot *kbdus_inverter_data_begin(struct kbdus_session *session,
					     u64 handle);
void kbdus_inverter_data_end(struct kbdus_slot *slot);

void kbdus_inverter_fill_request(struct kbdus_slot *slot,
				 struct kbdus_request *request);
/* The held request's KBDUS_REQ_* type. */
int kbdus_inverter_type(struct kbdus_slot *slot);
/* Bytes that travel to the driver on delivery / back on reply. */
u32 kbdus_inverter_payload_in(struct kbdus_slot *slot);
u32 kbdus_inverter_payload_out(struct kbdus_slot *slot);
int kbdus_inverter_copy_to_driver(struct kbdus_slot *slot, struct iov_iter *to);
int kbdus_inverter_copy_from_driver(struct kbdus_slot *slot,
				    struct iov_iter *from);
/* The data segments of a read or write, for I/O on its own pages. */
u32 kbdus_inverter_nr_bvecs(struct kbdus_slot *slot);
void kbdus_inverter_get_bvecs(struct kbdus_slot *slot, struct bio_vec *bvecs);

/* passthrough.c */
void kbdus_passthrough_device_free(struct kbdus_device *kdev);
void kbdus_backing_init(struct kbdus_session *session);
void kbdus_backing_release(struct kbdus_session *session);
long kbdus_backing_ioctl(struct kbdus_session *session, unsigned int command,
			 struct kbdus_backing_args __user *uarg);
int kbdus_passthrough_reply(struct kbdus_session *session, u64 handle,
			    u64 descriptor);

/* True if every byte in [p, p + size) is zero. */
static inline bool kbdus_all_zero(const void *p, size_t size)
{
	return !memchr_inv(p, 0, size);
}

#endif /* KBDUS_INTERNAL_H */
