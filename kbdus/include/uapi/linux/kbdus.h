/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * kbdus.h - the interface between the kbdus kernel module and user space.
 *
 * Drivers normally use libbdus (bdus.h) and never see this header.  It is
 * documented for libbdus itself, for tests, and for people writing drivers
 * in other languages.
 *
 * Model
 * -----
 * /dev/bdus-control is the control device; opening it requires
 * CAP_SYS_ADMIN.  An open file description becomes the *driver session* of a
 * device when it creates one (KBDUS_IOCTL_CREATE_DEVICE) or attaches to one
 * (KBDUS_IOCTL_ATTACH_DEVICE); it stays bound to that device until closed.
 *
 * Each device has num_queues hardware queues of queue_depth slots.  Every
 * request in flight occupies one slot, numbered queue * queue_depth + tag.
 * A request reaches the driver as a struct kbdus_request whose handle
 * encodes the slot and a generation number; the driver completes it by
 * replying with that handle.  Replies with a malformed handle are rejected
 * with EINVAL; a handle that is stale (the request was requeued, timed out
 * or completed) or owned by another session gets ESTALE.  Neither changes
 * anything.
 *
 * Requests travel by one of the protocols, chosen when the device is created
 * or attached:
 *   - KBDUS_PROTOCOL_IOCTL: KBDUS_IOCTL_TRANSCEIVE copies request and reply
 *     headers and the payload through user pointers.
 *   - KBDUS_PROTOCOL_MMAP: the driver mmaps the session's descriptor table
 *     and payload buffers; KBDUS_IOCTL_MMAP_TRANSCEIVE carries only handles.
 *   - KBDUS_PROTOCOL_URING: io_uring URING_CMD commands, one posted per
 *     slot, as in Linux's ublk; many requests travel per system call.
 *
 * Device states: UNAVAILABLE (being created) -> ACTIVE (a driver is attached)
 * <-> INACTIVE (a recoverable device whose driver went away; I/O waits) ->
 * TERMINATED (being destroyed; I/O fails with EIO).
 *
 * All structs have fixed sizes; every reserved field and every "out" field
 * must be zero on input, so that later versions can give them a meaning.
 */

#ifndef _UAPI_LINUX_KBDUS_H
#define _UAPI_LINUX_KBDUS_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KBDUS_VERSION_MAJOR 0
#define KBDUS_VERSION_MINOR 1
#define KBDUS_VERSION_PATCH 3

#define KBDUS_CONTROL_DEVICE_PATH "/dev/bdus-control"

/* ------------------------------------------------------------------------- */
/* Request types.  Bit (1 << type) in kbdus_device_config.supported_requests
 * says the driver serves that type; other types fail with EOPNOTSUPP (or
 * ENOTTY for ioctls) without reaching the driver. */

enum kbdus_request_type {
	KBDUS_REQ_READ = 0,
	KBDUS_REQ_WRITE = 1,
	/* Linux >= 5.18 has no write-same; accepted but never produced. */
	KBDUS_REQ_WRITE_SAME = 2,
	KBDUS_REQ_WRITE_ZEROS_NO_UNMAP = 3,
	KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP = 4,
	KBDUS_REQ_FUA_WRITE = 5,
	KBDUS_REQ_FLUSH = 6,
	KBDUS_REQ_DISCARD = 7,
	KBDUS_REQ_SECURE_ERASE = 8,
	/*
	 * An ioctl on the block device that Linux did not handle itself.
	 * ioctl_command is the command and size is _IOC_SIZE(command).
	 * _IOC_WRITE: the payload holds the caller's argument on delivery.
	 * _IOC_READ: the driver leaves the result in the payload before
	 * replying, and it is copied back to the caller.  Commands whose size
	 * exceeds max_read_write_size, or that have a size but no direction,
	 * fail with EINVAL without reaching the driver.  (BDUS 0.1 used the
	 * opposite meaning of the two directions.)  The reply's error is
	 * returned to the caller as -error.
	 */
	KBDUS_REQ_IOCTL = 9,

	/*
	 * Zoned devices (KBDUS_CONFIG_ZONED; see "Zoned devices" below).
	 * OPEN, CLOSE, FINISH and RESET: offset is the zone's start, size
	 * 0.  RESET_ALL: offset and size 0; every sequential zone.  APPEND:
	 * offset is the zone's start and the payload holds size bytes to
	 * write at its write pointer; the driver replies (error 0) with the
	 * byte offset where they landed as a __u64 at the start of the
	 * reply payload, which is 8 bytes long.
	 */
	KBDUS_REQ_ZONE_OPEN = 10,
	KBDUS_REQ_ZONE_CLOSE = 11,
	KBDUS_REQ_ZONE_FINISH = 12,
	KBDUS_REQ_ZONE_RESET = 13,
	KBDUS_REQ_ZONE_RESET_ALL = 14,
	KBDUS_REQ_ZONE_APPEND = 15,

	/* Notifications: handle is 0 and no reply is expected. */

	/* The device is now visible to user space (add_disk finished or the
	 * attach completed).  Delivered once per session. */
	KBDUS_REQ_DEVICE_AVAILABLE = 16,
	/* The device is being destroyed or this session was replaced: stop
	 * and close the control fd.  Every later receive returns it again. */
	KBDUS_REQ_TERMINATE = 17,

	/* Zoned devices: the kernel asks for the descriptors of size / 64
	 * zones from the one starting at offset; the driver fills the reply
	 * payload (size bytes) with that many struct kbdus_zone, in order,
	 * before replying. */
	KBDUS_REQ_REPORT_ZONES = 18,
};

#define KBDUS_REQ_BIT(type) (1u << (type))
/* The types a driver may serve (kbdus_device_config.supported_requests). */
#define KBDUS_REQ_DATA_TYPES_MASK 0x4ffffu
#define KBDUS_REQ_ZONE_TYPES_MASK 0x4fc00u

/* ------------------------------------------------------------------------- */
/* Protocols */

enum kbdus_protocol {
	KBDUS_PROTOCOL_IOCTL = 1,
	KBDUS_PROTOCOL_MMAP = 2,
	KBDUS_PROTOCOL_URING = 3,
};

/* ------------------------------------------------------------------------- */
/* Device configuration */

/* kbdus_device_config.flags */
#define KBDUS_CONFIG_RECOVERABLE (1u << 0) /* survive the driver's death */
#define KBDUS_CONFIG_PARTITION_SCAN (1u << 1) /* scan partitions on add */
#define KBDUS_CONFIG_ROTATIONAL (1u << 2) /* report a rotational device */
#define KBDUS_CONFIG_WRITE_CACHE (1u << 3) /* volatile cache: needs FLUSH */
#define KBDUS_CONFIG_FUA (1u << 4) /* needs WRITE_CACHE and FUA_WRITE */
/*
 * ioctl arguments follow BDUS 0.1.x's convention, which named directions
 * from the driver's side: _IOC_READ arguments carry the caller's data to the
 * driver and _IOC_WRITE ones bring the driver's back, the opposite of
 * Linux's.  Without it, Linux's.  Either way the driver gets the whole
 * argument, zeroed where the caller supplies nothing.
 */
#define KBDUS_CONFIG_IOCTL_DIR_V01 (1u << 5)
/* A host-managed zoned device; see "Zoned devices" below. */
#define KBDUS_CONFIG_ZONED (1u << 6)
#define KBDUS_CONFIG_FLAGS_MASK 0x7fu

/* Defaults for zero fields, and the limits kbdus caps values to. */
#define KBDUS_DEFAULT_MAX_READ_WRITE_SIZE (256u << 10)
#define KBDUS_MAX_MAX_READ_WRITE_SIZE (1u << 20)
#define KBDUS_DEFAULT_QUEUE_DEPTH 64
#define KBDUS_MAX_QUEUE_DEPTH 1024
#define KBDUS_MAX_QUEUES 64
#define KBDUS_DEFAULT_REQUEST_TIMEOUT_MS 30000u
#define KBDUS_MIN_REQUEST_TIMEOUT_MS 100u
#define KBDUS_MAX_REQUEST_TIMEOUT_MS 86400000u

/*
 * The geometry and behaviour of a device.  "in" fields are chosen by the
 * creator and validated (EINVAL names no field; libbdus does that); "in/out"
 * fields may be adjusted by kbdus and the adjusted value written back; "out"
 * fields must be zero on input.
 */
struct kbdus_device_config {
	__u64 id; /* out: never reused while kbdus is loaded */
	__u64 size; /* in: bytes; positive multiple of physical_block_size */

	/* in: power of two, 512 to the page size */
	__u32 logical_block_size;
	/* in: 0 (= logical_block_size) or a power of two from
	 * logical_block_size to the page size */
	__u32 physical_block_size;

	/* in/out: largest read, write or FUA write in bytes; 0 = default.
	 * Rounded down to a multiple of logical_block_size, raised to the page
	 * size, capped to KBDUS_MAX_MAX_READ_WRITE_SIZE. */
	__u32 max_read_write_size;
	/* in/out: 0 = no limit (UINT_MAX rounded down); set to 0 on output if
	 * neither write-zeros type is supported.  Multiple of the logical
	 * block size otherwise. */
	__u32 max_write_zeros_size;
	/* in/out: as above, for DISCARD and SECURE_ERASE. */
	__u32 max_discard_erase_size;
	/* in: KBDUS_REQ_BIT() of each type served; data types only. */
	__u32 supported_requests;

	/* in/out: 0 = 1; at most KBDUS_MAX_QUEUES; capped to the number of
	 * CPUs, as blk-mq never uses more hardware queues than that */
	__u16 num_queues;
	__u16 queue_depth; /* in/out: 0 = default; 1..KBDUS_MAX_QUEUE_DEPTH */
	__u32 protocol; /* in: enum kbdus_protocol; ENOPROTOOPT if unknown */
	__u32 flags; /* in: KBDUS_CONFIG_* */
	__u32 request_timeout_ms; /* in/out: 0 = default; min..max above */

	__u32 major; /* out */
	__u32 minor; /* out: of the whole device */

	/* KBDUS_CONFIG_ZONED only; zero otherwise.  See "Zoned devices". */
	__u64 zone_size; /* in: bytes */
	__u32 num_conventional_zones; /* in: the first zones */
	__u32 max_open_zones; /* in: 0 = no limit */
	__u32 max_active_zones; /* in: 0 = no limit */
	/* in/out: 0 = max_read_write_size; a multiple of the logical block
	 * size, capped to max_read_write_size */
	__u32 max_zone_append_size;
	__u64 reserved[5]; /* must be zero */
};

/*
 * Zoned devices.  With KBDUS_CONFIG_ZONED the device is host-managed: it is
 * split into zones of zone_size bytes (a power of two, a multiple of the
 * physical block size and of 4096, that divides size), of which the first
 * num_conventional_zones (fewer than all) take writes anywhere and the
 * others only at their write pointer, in order.  max_open_zones and
 * max_active_zones (at most the number of sequential zones, and open
 * at most active when both are set) are what the driver enforces; kbdus
 * only tells Linux.  The driver must serve READ, WRITE, ZONE_RESET,
 * ZONE_RESET_ALL, ZONE_APPEND and REPORT_ZONES, may serve FUA_WRITE,
 * FLUSH, IOCTL and the other zone types, and may serve none of the
 * discard, erase, write-zeros and write-same types.  Any other
 * combination fails CREATE with EINVAL.
 *
 * A recoverable zoned device keeps its zone state in the driver, across
 * drivers.  A driver that goes away (death, or closing after a live
 * replacement) holding a write to a sequential zone or a zone append does
 * not get it delivered to the next driver: it may already have applied
 * it, so the request fails with EIO, as an aborted command of a drive
 * does.  Every other request it held is delivered again, as on any
 * recoverable device.
 *
 * Errors the kernel and file systems expect, as reply errors: EIO for a
 * write not at the write pointer or past a zone's end, or to a full or
 * read-only zone; ETOOMANYREFS when opening a zone would exceed
 * max_open_zones; EOVERFLOW when it would exceed max_active_zones.
 *
 * Zone descriptors (REPORT_ZONES) are checked before Linux sees them: a
 * zone that is not the one asked for, of the wrong type or size, or whose
 * condition or write pointer cannot be, fails the report with EIO.
 */
#define KBDUS_ZONE_TYPE_CONVENTIONAL 1
#define KBDUS_ZONE_TYPE_SEQ_WRITE_REQUIRED 2

/* The zone conditions of <linux/blkzoned.h>, with the same values. */
#define KBDUS_ZONE_COND_NOT_WP 0x0 /* conventional zones */
#define KBDUS_ZONE_COND_EMPTY 0x1
#define KBDUS_ZONE_COND_IMP_OPEN 0x2
#define KBDUS_ZONE_COND_EXP_OPEN 0x3
#define KBDUS_ZONE_COND_CLOSED 0x4
#define KBDUS_ZONE_COND_READONLY 0xd
#define KBDUS_ZONE_COND_FULL 0xe
#define KBDUS_ZONE_COND_OFFLINE 0xf

struct kbdus_zone {
	__u64 start; /* bytes from the start of the device */
	__u64 length; /* bytes: zone_size */
	/* bytes from start that can be written: a multiple of the logical
	 * block size, at most length; length for conventional zones */
	__u64 capacity;
	/* bytes from the start of the device: start for EMPTY zones, from
	 * start to start + capacity otherwise; ignored for conventional,
	 * full, read-only and offline zones */
	__u64 write_pointer;
	__u8 type; /* KBDUS_ZONE_TYPE_* */
	__u8 condition; /* KBDUS_ZONE_COND_* */
	__u8 reserved0[6]; /* zero */
	__u64 reserved[3]; /* zero */
};

/* ------------------------------------------------------------------------- */
/* Requests and replies, common to every protocol */

struct kbdus_request {
	__u64 handle; /* echoed in the reply; 0 for notifications */
	__u64 offset; /* bytes from the start of the device */
	__u32 size; /* bytes to transfer or affect; ioctl: argument size */
	__u32 ioctl_command; /* KBDUS_REQ_IOCTL only */
	__u16 type; /* enum kbdus_request_type */
	__u16 queue; /* hardware queue the request came from */
	__u32 reserved0;
	__u64 reserved[4]; /* zero */
};

struct kbdus_reply {
	__u64 handle; /* of the request being completed */
	/* 0 on success, else a positive errno.  For data requests ENOLINK,
	 * ENOSPC and ETIMEDOUT (and on zoned devices ETOOMANYREFS and
	 * EOVERFLOW) keep their meaning and any other value becomes EIO; for
	 * ioctls, the caller gets exactly -error. */
	__s32 error;
	__u32 flags; /* KBDUS_REPLY_* */
	/* KBDUS_REPLY_PASSTHROUGH: address of a struct kbdus_passthrough;
	 * else must be zero. */
	__u64 passthrough;
	__u64 reserved; /* must be zero */
};

/* kbdus_reply.flags: serve the request from backing files (see "Kernel-side
 * passthrough" below); error must then be 0 and no payload is read. */
#define KBDUS_REPLY_PASSTHROUGH (1u << 0)

/*
 * Kernel-side passthrough.
 *
 * A session registers files (KBDUS_IOCTL_BACKING_REGISTER) and may then
 * answer a request with a list of extents of those files instead of data;
 * kbdus does the I/O itself, asynchronously, and the data never enters
 * user space.  The request's bytes map onto the extents in order:
 *   - READ, WRITE, FUA_WRITE: read or written there (FUA: written with
 *     O_DSYNC semantics).  A short read (the file ended) fails the request
 *     with EIO, so the device never returns bytes nobody wrote;
 *   - DISCARD: holes punched (fallocate PUNCH_HOLE | KEEP_SIZE) where the
 *     file can; elsewhere nothing happens, which a discard allows;
 *   - WRITE_ZEROS_MAY_UNMAP: holes punched; WRITE_ZEROS_NO_UNMAP: fallocate
 *     ZERO_RANGE | KEEP_SIZE.  Past a file's end, ZERO_RANGE growing it;
 *     zeros are written where the file cannot allocate them;
 *   - FLUSH: each extent names a file to fsync (offset and length 0).
 * On a device without KBDUS_CONFIG_WRITE_CACHE, which gets no FLUSH, every
 * write, discard and write-zeros is stable before it completes, as a FUA
 * write is (O_DSYNC, or fdatasync of the range after fallocate).
 * Direct I/O (a file opened O_DIRECT) goes through the page cache where
 * the file's alignment rules refuse it.
 * The I/O runs in the device's own kernel workers, with the credentials of
 * whoever opened each file, and takes as long as the files take: the
 * request timeout does not apply to it.
 * Other types cannot be passed through.  Errors from the files fail the
 * request: ENOSPC stays ENOSPC, anything else becomes EIO.
 *
 * A passthrough reply is validated before anything happens; if it is
 * refused, the request stays with the driver, which may answer it again:
 *   EINVAL      a reserved field or flag is set; num_extents is 0 or over
 *               KBDUS_PASSTHROUGH_MAX_EXTENTS; a length is not a multiple
 *               of the logical block size (or not 0, for FLUSH); the
 *               lengths do not add up to the request's size; an extent
 *               ends past the largest file offset; two extents of one
 *               file overlap (name one file twice, for FLUSH), whatever
 *               ids or opens of it they name;
 *   EOPNOTSUPP  the request's type cannot be passed through;
 *   EBADF       an extent names no registered file, or a file that was
 *               not opened for what the request does (a write to a file
 *               opened O_RDONLY, say);
 *   EFAULT      the descriptor cannot be read;
 *   ENOMEM;
 *   ESTALE      as for any reply.
 */
#define KBDUS_PASSTHROUGH_MAX_EXTENTS 8
#define KBDUS_MAX_BACKING_FILES 64

struct kbdus_extent {
	__u64 offset; /* bytes from the start of the backing file */
	__u32 length; /* bytes */
	__u32 backing; /* id from KBDUS_IOCTL_BACKING_REGISTER */
};

struct kbdus_passthrough {
	__u32 num_extents; /* 1..KBDUS_PASSTHROUGH_MAX_EXTENTS */
	__u32 flags; /* must be zero */
	__u64 reserved[3]; /* must be zero */
	struct kbdus_extent extents[]; /* num_extents of them */
};

/*
 * KBDUS_IOCTL_BACKING_REGISTER: fd (in) is opened for reading, writing or
 * both, and is a regular file or a block device; id (out) names it in
 * extents until it is unregistered or the session ends.  The session keeps
 * its own reference: the fd may be closed.  Errors: EPERM without
 * CAP_SYS_ADMIN; EBADF fd is not open; EINVAL a reserved field is set, or
 * the file is neither a regular file nor a block device, or was opened
 * O_APPEND, or cannot be read or written with iterators; ELOOP the file is
 * this session's device, or lives on a file system whose device it is
 * (kbdus looks no deeper: device mapper, md or loop devices in between are
 * not seen, nor file systems that keep no single device, such as btrfs, or
 * whose journal or log alone is on it); EMFILE KBDUS_MAX_BACKING_FILES are
 * registered.
 * KBDUS_IOCTL_BACKING_UNREGISTER: id (in) is released; fd must be -1.
 * Passthrough I/O already started keeps the file until it finishes.
 * Errors: EINVAL; ENOENT no file has that id.
 */
struct kbdus_backing_args {
	__s32 fd;
	__u32 id;
	__u32 flags; /* must be zero */
	__u32 reserved0; /* must be zero */
	__u64 reserved[2]; /* must be zero */
};

/* ------------------------------------------------------------------------- */
/* Control ioctls, on any /dev/bdus-control fd */

struct kbdus_version {
	__u32 major;
	__u32 minor;
	__u32 patch;
	__u32 reserved; /* zero */
};

/*
 * Attach to an existing device, becoming its driver session.
 *   - INACTIVE device: requests the dead driver had received but not
 *     completed are delivered again to this session.
 *   - ACTIVE device (live replacement): the old session gets a FLUSH (if
 *     supported) and then TERMINATE; this ioctl waits until it has closed
 *     its fd, then takes over its uncompleted requests.
 * Errors: ENODEV device destroyed; EINVAL bad field, or no device ever had
 * that id; EBUSY device not yet available, or another attach is in
 * progress; EALREADY this fd is already a session; ESHUTDOWN device is
 * being destroyed; EINTR; E2BIG as for CREATE; EIO the old session failed the FLUSH of a non-recoverable
 * device, which is then destroyed.  args.config is written before the
 * session binds, so a failure (EFAULT included) never leaves this fd bound.
 */
struct kbdus_attach_args {
	__u64 id; /* in */
	__u32 protocol; /* in: 0 = the protocol the device was created with */
	__u32 flags; /* in: must be zero */
	__u64 reserved[6]; /* must be zero */
	struct kbdus_device_config config; /* out: the device's config */
};

/* Device state, as in struct kbdus_device_info and sysfs. */
enum kbdus_device_state {
	KBDUS_STATE_UNAVAILABLE = 1,
	KBDUS_STATE_ACTIVE = 2,
	KBDUS_STATE_INACTIVE = 3,
	KBDUS_STATE_TERMINATED = 4,
};

struct kbdus_device_info {
	__u64 id; /* in */
	__u32 state; /* out: enum kbdus_device_state */
	/* out: tgid of the process that last received on the driver
	 * session (so it follows a driver that daemonized); 0 if none */
	__u32 driver_pid;
	/* out: the attached driver's protocol (config.protocol is the one
	 * the device was created with, and never changes); 0 if none */
	__u32 protocol;
	__u32 reserved0; /* must be zero */
	__u64 reserved[5]; /* must be zero */
	struct kbdus_device_config config; /* out */
};

/* kbdus_destroy_args.flags */
#define KBDUS_DESTROY_NO_FLUSH (1u << 0)

struct kbdus_destroy_args {
	__u64 id;
	__u32 flags; /* DESTROY: KBDUS_DESTROY_*; WAIT: must be zero */
	__u32 reserved0;
	__u64 reserved[2];
};

/* KBDUS_IOCTL_TRANSCEIVE argument (ioctl protocol).  First the reply, if
 * any, is consumed; then the next request, if asked for, is received.  An
 * error can come from either half, with the same errnos (EFAULT, EINVAL):
 * a driver that must know whether a passthrough reply was refused, to
 * serve the request itself, sends it without receiving (request 0). */
struct kbdus_transceive_args {
	__u64 reply; /* in: address of a struct kbdus_reply, or 0 */
	__u64 request; /* in: address for a struct kbdus_request, or 0 */
	/* in: the payload: read data for the reply, and write (or ioctl)
	 * data of the received request.  Needed when either carries data. */
	__u64 payload;
	__u32 payload_size; /* in: at least max_read_write_size */
	__u32 flags; /* in: KBDUS_TRANSCEIVE_* */
	__u64 reserved[4]; /* must be zero */
};

/* Fail the receive with EAGAIN instead of waiting when no request or
 * notification is pending (a reply in the same call is consumed first, as
 * always).  For drivers that wait in poll(2) or epoll (see below). */
#define KBDUS_TRANSCEIVE_NONBLOCK (1u << 0)

/*
 * poll(2), select(2) and epoll on a session fd of the ioctl or mmap
 * protocol report EPOLLIN | EPOLLRDNORM while a receive would return at
 * once with a request or a notification, so that one thread can wait for
 * several devices and receive with KBDUS_TRANSCEIVE_NONBLOCK or
 * KBDUS_MMAP_NONBLOCK.  Every poller of a session is woken for a request
 * that only one receive gets: the others' non-blocking receives fail with
 * EAGAIN.  On an fd that is no session, or a uring session (whose requests
 * arrive as CQEs), poll reports EPOLLERR at once.
 */

/*
 * mmap protocol.  mmap(2) of the session fd at offset 0 maps, contiguously:
 *   - the descriptor table: one struct kbdus_request per slot, padded to a
 *     page (kbdus writes it; it never reads it back);
 *   - the payload buffers: one per slot, of kbdus_mmap_layout.buffer_size.
 * The mapping must be MAP_SHARED and no larger than mmap_size (or than
 * buffers_offset, once the session uses the driver's buffers).
 */
struct kbdus_mmap_layout {
	__u64 mmap_size; /* out */
	__u64 buffers_offset; /* out: where the first buffer starts */
	__u32 buffer_size; /* out: bytes per slot buffer */
	__u32 num_slots; /* out */
	__u64 reserved[4]; /* must be zero */
};

/*
 * KBDUS_IOCTL_MMAP_SET_BUFFERS (mmap protocol): the payload buffers are in
 * the driver's own memory from now on, slot i's at address + i *
 * buffer_size, instead of in the mapped area.  kbdus copies to and from
 * them during MMAP_TRANSCEIVE, in the caller's address space: it keeps no
 * reference to the pages, and memory the driver unmaps faults there like
 * a bad pointer (a request being received goes back to its queue and the
 * call fails with EFAULT; a reply fails its request with EIO and the call
 * with EFAULT).  Allowed once, before kbdus has buffers of its own for the
 * session, which it allocates on the first mmap that reaches past
 * buffers_offset or the first MMAP_TRANSCEIVE.
 * Errors: EINVAL a reserved field or flag is set, address is 0 or not
 * page-aligned, or size is not num_slots * buffer_size; EFAULT the range
 * is not user memory; EBUSY the session already has buffers.  Afterwards
 * MMAP_TRANSCEIVE from any other process fails with EPERM.
 */
struct kbdus_mmap_buffers_args {
	__u64 address; /* in */
	__u64 size; /* in: bytes */
	__u32 flags; /* in: must be zero */
	__u32 reserved0; /* must be zero */
	__u64 reserved[2]; /* must be zero */
};

#define KBDUS_NO_SLOT 0xffffffffu
/* The largest mmap_size: CREATE and ATTACH fail with E2BIG over it (reduce
 * num_queues, queue_depth or max_read_write_size, or use another protocol). */
#define KBDUS_MMAP_MAX_AREA_SIZE (1ull << 30)

struct kbdus_mmap_transceive_args {
	/* in: the request to complete, or 0.  Read (and ioctl _IOC_READ)
	 * data is taken from that slot's buffer. */
	__u64 reply_handle;
	__s32 reply_error; /* in: as kbdus_reply.error */
	__u32 flags; /* in: KBDUS_MMAP_* */
	/* out: slot whose descriptor holds the received request (and whose
	 * buffer holds its data), or KBDUS_NO_SLOT for a notification. */
	__u32 slot;
	__u16 type; /* out: the received request's type */
	__u16 reserved0; /* must be zero */
	/* in: KBDUS_MMAP_REPLY_PASSTHROUGH: address of the reply's struct
	 * kbdus_passthrough; else must be zero. */
	__u64 reply_passthrough;
	__u64 reserved; /* must be zero */
};

/* Only send the reply; do not wait for a request. */
#define KBDUS_MMAP_NO_RECEIVE (1u << 0)
/* The reply is a passthrough (reply_error must be 0); if it is refused,
 * the ioctl fails with its error and nothing is received.  A failed receive
 * after an accepted reply fails it too (EFAULT): to tell the two apart, send
 * the passthrough with KBDUS_MMAP_NO_RECEIVE. */
#define KBDUS_MMAP_REPLY_PASSTHROUGH (1u << 1)
/* As KBDUS_TRANSCEIVE_NONBLOCK. */
#define KBDUS_MMAP_NONBLOCK (1u << 2)

/*
 * io_uring protocol.  The driver keeps one IORING_OP_URING_CMD command posted
 * on the session fd for every slot it serves, with the slot's command in the
 * SQE's command area (a 64-byte SQE has room for it):
 *   - mmap(2) of the session fd at offset 0, read-only and MAP_SHARED, maps
 *     the descriptor table: one struct kbdus_request per slot, index
 *     queue * queue_depth + tag, written by kbdus;
 *   - KBDUS_URING_CMD_FETCH posts a slot, naming the driver's payload buffer
 *     for it (max_read_write_size bytes of the driver's own memory), or 0
 *     for none: the request's data then stays in the kernel until a
 *     GET_DATA, so a driver need not keep a buffer per posted slot;
 *   - when a request lands on a posted slot, its command completes with
 *     KBDUS_URING_RES_REQUEST: the descriptor holds the request and write
 *     (and ioctl _IOC_WRITE) data is already in the slot's buffer;
 *   - KBDUS_URING_CMD_COMMIT_AND_FETCH completes that request (result as in
 *     kbdus_reply.error; read data is taken from the buffer) and posts the
 *     slot again, with that buffer.  A request that timed out meanwhile is
 *     silently dropped, and so is a reply whose data cannot be read (a
 *     buffer of 0 where the reply carries data, say): the request then
 *     fails with EIO, and the CQE does not say so;
 *   - KBDUS_URING_CMD_COMMIT completes the request likewise, read data
 *     taken from buffer (any of the driver's memory; 0 where the reply
 *     carries none), without posting the slot.  It completes at once: 0,
 *     or -EFAULT if the data could not be read (the request fails: EIO);
 *   - KBDUS_URING_CMD_GET_DATA copies what would have been copied on
 *     delivery into buffer, which must not be 0: a write's data, or an
 *     ioctl's whole argument (_IOC_SIZE bytes, zeros where the caller gives
 *     none); nothing for other requests.  It completes at once: 0,
 *     -ESTALE if the request timed out meanwhile (commit it anyway; it is
 *     ignored), or -EFAULT (the request stays held).  With COMMIT, it lets
 *     a driver choose where each request's data lives once it has the
 *     request: a shared pool, or the data's final place (one copy);
 *   - KBDUS_URING_CMD_STOP gives a queue up for the rest of the session
 *     (queue names it; tag, result and buffer must be 0).  Every command of
 *     the queue that waits for a request completes with -ECANCELED; one
 *     whose request or notification is already on its way still completes
 *     with it (a request may still be committed).  Every later FETCH, or
 *     fetch half of a COMMIT_AND_FETCH, completes at once: -ECANCELED, or
 *     TERMINATE once the session is ending.  The STOP itself completes
 *     with 0.  The queue's requests stay pending until the session ends,
 *     then wait for the next session or fail, by the usual rules.
 *     A driver that stops serving while its thread lives uses it to get
 *     its commands back before closing the ring: closing a ring cancels
 *     posted commands only from Linux 6.7, and before that only once the
 *     thread exits.
 *   - KBDUS_URING_CMD_PASSTHROUGH_AND_FETCH answers the slot's request
 *     with a passthrough (buffer: the address of its struct
 *     kbdus_passthrough; result: 0) and posts the slot again with the
 *     buffer of its last FETCH or COMMIT_AND_FETCH.  A refused
 *     passthrough completes the command at once with the error (see
 *     "Kernel-side passthrough") and changes nothing: the driver still
 *     holds the request and answers it with another command.  Once
 *     accepted, the command is a FETCH and completes as one.
 *   - KBDUS_URING_CMD_LAND_AND_FETCH is a GET_DATA to buffer (not 0) and a
 *     COMMIT_AND_FETCH with result and no buffer, in one command: the
 *     request's data lands where the driver wants it (whatever result
 *     is), the request completes, and the slot is posted again without a
 *     buffer.  For a driver that knows its answer before it has the data
 *     (one copy into its own memory, at queue depth 1 without a second
 *     round trip).  A refusal completes the command at once, and the
 *     driver still holds the request: -EINVAL for a request whose reply
 *     carries data (a read, an _IOC_READ ioctl; whatever result is) and
 *     for a FUA write (it completes once its data is stable, which only
 *     the driver can tell: fetch it with GET_DATA), -EFAULT if buffer
 *     faulted (part of it may have been written), -ESTALE if the request
 *     timed out meanwhile (nothing landed; commit it anyway, which is
 *     ignored and posts the slot), and what COMMIT_AND_FETCH's fetch half
 *     refuses (-EBUSY for a posted slot, say).  Past the refusals, the
 *     command is a FETCH; on a stopped queue, the request completes and
 *     the command with -ECANCELED, as a COMMIT_AND_FETCH's.
 * Every command of one queue must come from one thread and, while any is
 * posted, one ring (COMMIT and GET_DATA: any ring): kbdus delivers requests
 * in that thread's context, one task-work run per batch.  When the ring or the thread goes away, posted
 * commands complete with -ECANCELED and the session's requests follow the
 * usual recovery rules.
 * CQE results, besides the ones below: -EINVAL (bad queue, tag, result,
 * buffer or opcode, a COMMIT, GET_DATA or fused reply for a slot that holds no request, a command
 * from a second thread, or from a second ring while commands of the queue
 * from another ring are posted), -EBUSY (the slot is already posted: FETCH
 * twice or COMMIT_AND_FETCH twice; a FETCH while the slot's request is unanswered), -EBADFD / -EPROTOTYPE (not a uring session), -EFAULT (the
 * buffer faulted while a request was delivered: that request fails with
 * EIO), -ECANCELED.
 */
struct kbdus_uring_cmd {
	__u16 queue;
	__u16 tag;
	/* COMMIT_AND_FETCH, COMMIT, LAND_AND_FETCH: 0 or a positive errno;
	 * FETCH, GET_DATA, PASSTHROUGH_AND_FETCH, STOP: 0 */
	__s32 result;
	/* FETCH, COMMIT_AND_FETCH: the slot's payload buffer, or 0 (none; a
	 * COMMIT_AND_FETCH's reply then carries no data); COMMIT: the reply's
	 * data; GET_DATA, LAND_AND_FETCH: where the request's data goes;
	 * PASSTHROUGH_AND_FETCH: its struct kbdus_passthrough; STOP: 0. */
	__u64 buffer;
};

#define KBDUS_URING_RES_REQUEST 0 /* a request is in the slot's descriptor */
/* Notifications: the slot is no longer posted; post it again (FETCH). */
#define KBDUS_URING_RES_DEVICE_AVAILABLE 1
/* Stop: every posted command completes with it, and so does every later
 * FETCH and COMMIT_AND_FETCH (after the latter's result has been applied);
 * COMMIT and GET_DATA still act on the requests the driver holds. */
#define KBDUS_URING_RES_TERMINATE 2

#define KBDUS_IOCTL_TYPE 0xbd

/* Fills in the module's version.  Never fails but for EFAULT. */
#define KBDUS_IOCTL_GET_VERSION _IOR(KBDUS_IOCTL_TYPE, 0, struct kbdus_version)
/* Creates a device; this fd becomes its session.  The device becomes
 * available asynchronously: the driver must start receiving requests (the
 * partition scan reads it) and gets KBDUS_REQ_DEVICE_AVAILABLE.  Errors:
 * EINVAL, ENOPROTOOPT, ENOSPC (max_devices reached), EALREADY, ENOMEM,
 * E2BIG (the mmap protocol's area would exceed KBDUS_MMAP_MAX_AREA_SIZE). */
#define KBDUS_IOCTL_CREATE_DEVICE \
	_IOWR(KBDUS_IOCTL_TYPE, 1, struct kbdus_device_config)
#define KBDUS_IOCTL_ATTACH_DEVICE \
	_IOWR(KBDUS_IOCTL_TYPE, 2, struct kbdus_attach_args)
/* Ids are never reused.  Every ioctl that names a device fails with ENODEV
 * if it was destroyed and with EINVAL if no device ever had that id. */
#define KBDUS_IOCTL_GET_DEVICE_INFO \
	_IOWR(KBDUS_IOCTL_TYPE, 3, struct kbdus_device_info)
/* Sets *arg to the smallest device id >= *arg; ENOENT if none. */
#define KBDUS_IOCTL_NEXT_DEVICE_ID _IOWR(KBDUS_IOCTL_TYPE, 4, __u64)
/* Starts destroying a device: flushes it (unless NO_FLUSH; a failed flush
 * fails the ioctl with EIO and destroys nothing), then fails all I/O and
 * tells its driver to terminate.  Returns at once; idempotent. */
#define KBDUS_IOCTL_DESTROY_DEVICE \
	_IOW(KBDUS_IOCTL_TYPE, 5, struct kbdus_destroy_args)
/* Waits until the device no longer exists (destroyed, its driver gone and
 * the block device closed by everyone).  Returns 0 at once if it is gone;
 * EINVAL if no device ever had that id.  EINTR if interrupted. */
#define KBDUS_IOCTL_WAIT_DESTROYED \
	_IOW(KBDUS_IOCTL_TYPE, 6, struct kbdus_destroy_args)

/*
 * Session ioctls.  Errors:
 *   EBADFD      the fd is not a driver session;
 *   EPROTOTYPE  the command belongs to another protocol;
 *   EINVAL      a reserved field or flag is set, a reply's error is not in
 *               0..4095, a handle is malformed (slot out of range or
 *               generation 0), or the payload is too small for the request;
 *   ESTALE      the handle names no request this session may complete
 *               (already completed, timed out, requeued, or another
 *               session's); nothing happened, and no request was received;
 *   EFAULT      a pointer is bad.  A request being received goes back to
 *               its queue; a request being replied to fails with EIO;
 *   EINTR       a signal arrived while waiting for a request (a reply sent
 *               in the same call has been consumed: do not resend it);
 *   EPERM       (mmap) the session's buffers are another process's memory;
 *   ENOMEM      (mmap) kbdus could not allocate the session's buffers.
 * A receive returns KBDUS_REQ_TERMINATE for ever once the device is being
 * destroyed or the session was replaced.
 */
#define KBDUS_IOCTL_TRANSCEIVE \
	_IOW(KBDUS_IOCTL_TYPE, 16, struct kbdus_transceive_args)
/* Describes the session's shared memory (mmap protocol only). */
#define KBDUS_IOCTL_MMAP_LAYOUT \
	_IOR(KBDUS_IOCTL_TYPE, 17, struct kbdus_mmap_layout)
#define KBDUS_IOCTL_MMAP_TRANSCEIVE \
	_IOWR(KBDUS_IOCTL_TYPE, 18, struct kbdus_mmap_transceive_args)
/* Any protocol; see struct kbdus_backing_args. */
#define KBDUS_IOCTL_BACKING_REGISTER \
	_IOWR(KBDUS_IOCTL_TYPE, 19, struct kbdus_backing_args)
#define KBDUS_IOCTL_BACKING_UNREGISTER \
	_IOW(KBDUS_IOCTL_TYPE, 20, struct kbdus_backing_args)
/* mmap protocol; see struct kbdus_mmap_buffers_args. */
#define KBDUS_IOCTL_MMAP_SET_BUFFERS \
	_IOW(KBDUS_IOCTL_TYPE, 21, struct kbdus_mmap_buffers_args)

/* io_uring command opcodes (io_uring_sqe.cmd_op); see above. */
#define KBDUS_URING_CMD_FETCH _IOW(KBDUS_IOCTL_TYPE, 32, struct kbdus_uring_cmd)
#define KBDUS_URING_CMD_COMMIT_AND_FETCH \
	_IOW(KBDUS_IOCTL_TYPE, 33, struct kbdus_uring_cmd)
#define KBDUS_URING_CMD_STOP _IOW(KBDUS_IOCTL_TYPE, 34, struct kbdus_uring_cmd)
#define KBDUS_URING_CMD_COMMIT _IOW(KBDUS_IOCTL_TYPE, 35, struct kbdus_uring_cmd)
#define KBDUS_URING_CMD_GET_DATA \
	_IOW(KBDUS_IOCTL_TYPE, 36, struct kbdus_uring_cmd)
#define KBDUS_URING_CMD_PASSTHROUGH_AND_FETCH \
	_IOW(KBDUS_IOCTL_TYPE, 37, struct kbdus_uring_cmd)
#define KBDUS_URING_CMD_LAND_AND_FETCH \
	_IOW(KBDUS_IOCTL_TYPE, 38, struct kbdus_uring_cmd)

#endif /* _UAPI_LINUX_KBDUS_H */
