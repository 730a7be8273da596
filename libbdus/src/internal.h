// SPDX-License-Identifier: MIT
/*
 * internal.h - declarations shared by the libbdus source files.  Nothing
 * here is exported: the build hides every symbol that is not marked
 * BDUS_API.
 */

#ifndef LIBBDUS_INTERNAL_H_
#define LIBBDUS_INTERNAL_H_

#include <bdus.h>
#include <bdus-passthrough.h>
#include <linux/kbdus.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BDUS_API __attribute__((visibility("default")))
#define BDUS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* The error message when a callback returns bdus_abort (%s: its name).  It
 * starts as BDUS 0.1.2's did, which scripts may match. */
#define BDUS_ABORT_MESSAGE "Driver aborted: the %s callback returned bdus_abort"

/* Size of the argument buffer for ioctl requests: _IOC_SIZE() is 14 bits. */
#define BDUS_MAX_IOCTL_SIZE ((size_t)1 << 14)

/* ------------------------------------------------------------------------- */
/* api/error.c: the calling thread's error message */

/* Sets errno to errnum and the message; returns false, for "return fail()". */
bool bdus_fail(int errnum, const char *fmt, ...) BDUS_PRINTF(2, 3);
/* Same, appending ": <strerror(errnum)>". */
bool bdus_fail_errno(int errnum, const char *fmt, ...) BDUS_PRINTF(2, 3);
bool bdus_fail_v(int errnum, bool append_strerror, const char *fmt,
		 va_list args);

/* Copies the current message, so that it survives calls that may fail. */
struct bdus_saved_error {
	int errnum;
	char message[512];
};
void bdus_save_error(struct bdus_saved_error *saved);
bool bdus_restore_error(const struct bdus_saved_error *saved);

/* ------------------------------------------------------------------------- */
/* api/util.c */

size_t bdus_page_size(void);
bool bdus_is_power_of_two(uint64_t value);
uint64_t bdus_round_down(uint64_t value, uint64_t multiple);
uint64_t bdus_round_up(uint64_t value, uint64_t multiple);
/* ioctl() repeated while it fails with EINTR. */
int bdus_ioctl_retry(int fd, unsigned long command, void *arg);
/* close() that keeps errno. */
void bdus_close_quietly(int fd);
/* "/dev/bdus-<id>" into buf. */
void bdus_device_path(char *buf, size_t size, uint64_t id);
const char *bdus_request_type_name(uint32_t type);
/* Marks the calling thread as running callbacks of device id (on a single
 * thread: no other thread can serve it meanwhile), returning what
 * bdus_leave_device() must restore; for refusing self-deadlocks. */
struct bdus_serving {
	uint64_t id_plus_one;
	bool single_thread;
};
struct bdus_serving bdus_enter_device(uint64_t id, bool single_thread);
void bdus_leave_device(struct bdus_serving previous);
bool bdus_is_serving_device(uint64_t id);
bool bdus_is_serving_device_alone(uint64_t id);
const char *bdus_protocol_name(uint32_t protocol);

/* ------------------------------------------------------------------------- */
/* transport/control.c: /dev/bdus-control */

/* Opens the control device; with check_version, also fails if kbdus is not
 * compatible with this libbdus. */
int bdus_control_open(bool check_version);
/* Fails for kbdus's answer to an id with no device: ENODEV, it was destroyed;
 * EINVAL, it never existed (kbdus never reuses ids). */
bool bdus_fail_missing_device(int errnum, uint64_t id);
/* KBDUS_IOCTL_GET_DEVICE_INFO, with a message naming the device on error. */
bool bdus_control_device_info(int control_fd, uint64_t id,
			      struct kbdus_device_info *info);

/* ------------------------------------------------------------------------- */
/* api/validate.c: the 0.1.x rules, checked before any device exists */

bool bdus_validate_ops(const struct bdus_ops *ops);
bool bdus_validate_attrs_for_run(const struct bdus_attrs *attrs);
bool bdus_validate_ext(const struct bdus_ext_attrs *ext);
/* The ext fields that depend on the callbacks (read_ref). */
/* api/zoned.c: zoned devices */
bool bdus_validate_zoned(const struct bdus_ops *ops,
			 const struct bdus_attrs *attrs,
			 const struct bdus_ext_attrs *ext);
/* The zone request types ext's callbacks serve (none if not zoned). */
uint32_t bdus_zone_requests(const struct bdus_ext_attrs *ext);
void bdus_config_zoned(struct kbdus_device_config *config,
		       const struct bdus_ext_attrs *ext);
void bdus_effective_zoned(struct bdus_ext_attrs *ext,
			  const struct kbdus_device_config *config);
/* enum bdus_zone_op of a zone management request type. */
uint32_t bdus_zone_op(uint32_t type);
/* Whether a kbdus request type is one a driver may serve (the rest are
 * notifications, or unknown). */
static inline bool bdus_is_data_type(uint32_t type)
{
	return type < 32 && (KBDUS_REQ_BIT(type) & KBDUS_REQ_DATA_TYPES_MASK);
}

bool bdus_validate_ext_ops(const struct bdus_ext_attrs *ext,
			   const struct bdus_ops *ops);
bool bdus_validate_for_rerun(const struct bdus_ops *ops,
			     const struct bdus_attrs *attrs,
			     const struct bdus_ext_attrs *ext,
			     const struct kbdus_device_config *config);

/* (api/driver.c) Checks a takeover of device id against the device as kbdus
 * has it now, filling *config (if not NULL) with its configuration. */
bool bdus_validate_against_device(uint64_t id, const struct bdus_ops *ops,
				  const struct bdus_attrs *attrs,
				  const struct bdus_ext_attrs *ext,
				  bool ioctl_v01,
				  struct kbdus_device_config *config);

/* Copies a caller's ext of ext_size bytes (possibly NULL) into *out. */
bool bdus_copy_ext(struct bdus_ext_attrs *out,
		   const struct bdus_ext_attrs *ext, size_t ext_size);

/* ------------------------------------------------------------------------- */
/* api/config.c: translating between bdus attributes and kbdus configs */

uint32_t bdus_supported_requests(const struct bdus_ops *ops);
void bdus_config_for_run(struct kbdus_device_config *config,
			 const struct bdus_ops *ops,
			 const struct bdus_attrs *attrs,
			 const struct bdus_ext_attrs *ext, bool ioctl_v01);
/* Fills in the effective attributes once the device exists. */
void bdus_effective_attrs(struct bdus_attrs *attrs,
			  struct bdus_ext_attrs *ext,
			  const struct bdus_ops *ops,
			  const struct kbdus_device_config *config,
			  uint32_t protocol, bool is_rerun);

/* ------------------------------------------------------------------------- */
/* transport/session.c: a driver session (a control fd bound to a device) */

struct bdus_session {
	int fd;
	uint32_t protocol; /* KBDUS_PROTOCOL_* */
	struct kbdus_device_config config;

	/* mmap and uring protocols: slot i's descriptor and buffer */
	void *mapping; /* of the session fd: descriptors (and mmap buffers) */
	size_t mapping_size;
	const struct kbdus_request *descriptors;
	char *buffers;
	uint32_t buffer_size;
	uint32_t num_slots;

	/* uring protocol: the buffers are ours, not kbdus's */
	void *own_buffers;
	size_t own_buffers_size;
	/* uring, mmap: buffers are the driver's (ext->alloc_buffers) */
	bool driver_buffers;
};

/* OR'ed into the protocol given to bdus_session_create() and _attach():
 * the driver brings its own buffers (bdus_session_take_driver_buffers()),
 * so uring allocates none and mmap maps only the descriptors. */
#define BDUS_SESSION_DRIVER_BUFFERS (1u << 31)

/* protocol is a BDUS_PROTOCOL_* value; DEFAULT tries URING, then MMAP, then
 * IOCTL. */
bool bdus_session_create(struct bdus_session *session,
			 const struct kbdus_device_config *config,
			 uint32_t protocol);
bool bdus_session_attach(struct bdus_session *session, uint64_t id,
			 uint32_t protocol);
/* uring protocol: frees the per-slot buffers, for a caller that brings
 * its own (the asynchronous API's shared pool). */
void bdus_session_drop_buffers(struct bdus_session *session);
void bdus_session_close(struct bdus_session *session);
/* uring or mmap protocol with ext->alloc_buffers: the slots' buffers
 * become the driver's (after ops->initialize; for mmap, kbdus is told);
 * given back with return, which must come before the session closes.
 * Nothing for ioctl, whose channels ask for their own. */
bool bdus_session_take_driver_buffers(struct bdus_session *session,
				      struct bdus_ctx *ctx);
void bdus_session_return_driver_buffers(struct bdus_session *session,
					struct bdus_ctx *ctx);

/* ------------------------------------------------------------------------- */
/* transport/channel.c: one thread's way of receiving requests and sending replies */

/* A passthrough reply as kbdus reads it: struct kbdus_passthrough's
 * header, then the extents (spelled out: C has no struct with a flexible
 * array inside another). */
struct bdus_passthrough {
	uint32_t num_extents; /* 0: none */
	uint32_t flags;
	uint64_t reserved[3];
	struct kbdus_extent extents[KBDUS_PASSTHROUGH_MAX_EXTENTS];
};

_Static_assert(offsetof(struct bdus_passthrough, num_extents) ==
			       offsetof(struct kbdus_passthrough, num_extents) &&
		       offsetof(struct bdus_passthrough, reserved) ==
			       offsetof(struct kbdus_passthrough, reserved) &&
		       offsetof(struct bdus_passthrough, extents) ==
			       offsetof(struct kbdus_passthrough, extents),
	       "struct bdus_passthrough is laid out as kbdus reads it");

/* A received request or notification. */
struct bdus_message {
	uint64_t handle;
	uint64_t offset;
	uint32_t size;
	uint32_t ioctl_command;
	uint32_t type; /* enum kbdus_request_type */
	char *payload; /* where its data is, and where read data goes */
	/* Set by the transport: it can send read data from any address.
	 * Then bdus_dispatch() may set reply_data instead of filling
	 * payload (ext->read_ref). */
	bool can_reply_from;
	const char *reply_data;
	/* Set by the transport: a write's data is still in the kernel, and
	 * it can have it copied to any address.  Then bdus_dispatch() may
	 * set write_dest instead of consuming payload (ext->write_ref). */
	bool data_deferred;
	char *write_dest;
	/* Set by bdus_dispatch() if ext->passthrough mapped the request: the
	 * reply is this passthrough (and its error 0). */
	struct bdus_passthrough passthrough;
};

struct bdus_channel {
	struct bdus_session *session;
	char *payload; /* ioctl protocol: this thread's buffer */
	size_t payload_size;
	bool reply_pending;
	uint64_t reply_handle;
	int32_t reply_error;
	/* A copy of the reply's passthrough: num_extents 0 if none. */
	struct bdus_passthrough reply_passthrough;
	uint32_t reply_type; /* for the log */
	const struct bdus_ctx *ctx; /* for the log, and ext->free_buffers */
	bool driver_payload; /* payload came from ext->alloc_buffers */
};

bool bdus_channel_init(struct bdus_channel *channel,
		       struct bdus_session *session, const struct bdus_ctx *ctx);
void bdus_channel_destroy(struct bdus_channel *channel);
/* Queues the reply to send with the next exchange: message's passthrough
 * if it has one and error is 0, else error. */
void bdus_channel_set_reply(struct bdus_channel *channel,
			    const struct bdus_message *message, int32_t error);
/* Sends the pending reply (if any) and waits for the next message.  Returns
 * 0, or an errno value: EINTR if a signal interrupted the wait (the reply
 * was sent), anything else is a failure of the session. */
int bdus_channel_exchange(struct bdus_channel *channel,
			  struct bdus_message *message);
/* Sends the pending reply, if any, without waiting for a request. */
int bdus_channel_flush_reply(struct bdus_channel *channel);

/* ------------------------------------------------------------------------- */
/* sync/dispatch.c: calling the driver's callbacks */

/* Serves a data request.  Returns the errno for the reply (0 on success) or
 * bdus_abort. */
int bdus_dispatch(struct bdus_ctx *ctx, struct bdus_message *message,
		  unsigned worker);
/* The reply's errno for a callback's result ret (0 or an errno value) to a
 * request of kbdus type: block I/O only has a few errno values of its own,
 * the others become EIO; an ioctl's caller sees any errno. */
int32_t bdus_reply_error(uint32_t type, int ret);
/* Whether kbdus may serve requests of this type from backing files. */
bool bdus_passthrough_type(uint32_t type);
/* A passthrough that kbdus refused (err) for a request of kbdus type:
 * logs it; the request is then answered with EIO. */
void bdus_log_refused_passthrough(const struct bdus_ctx *ctx, uint32_t type,
				  int err);
/* Calls initialize, on_device_available or terminate (by name, for the
 * log), returning its result; NULL callbacks succeed. */
int bdus_call_lifecycle(struct bdus_ctx *ctx,
			int (*callback)(struct bdus_ctx *ctx),
			const char *name);

/* ------------------------------------------------------------------------- */
/* api/log.c */

void bdus_log(const struct bdus_ctx *ctx, const char *fmt, ...)
	BDUS_PRINTF(2, 3);
void bdus_log_effective_attrs(const struct bdus_ctx *ctx,
			      const struct bdus_attrs *requested);

/* ------------------------------------------------------------------------- */
/* sync/serve.c: the receive -> callback -> reply loops */

enum bdus_serve_outcome {
	BDUS_SERVE_AVAILABLE, /* got DEVICE_AVAILABLE */
	BDUS_SERVE_TERMINATED, /* got TERMINATE */
	BDUS_SERVE_FAILED, /* error set */
};

/* Called once the device is available, on the thread that called
 * bdus_serve(), while no callback runs; false (error set) stops serving. */
typedef bool (*bdus_announce_fn)(struct bdus_ctx *ctx, void *arg);

/* Serves the session until TERMINATE: requests one at a time on the calling
 * thread until the device is available, then announce(), then up to
 * attrs->max_concurrent_callbacks at once.  Returns TERMINATED or FAILED. */
enum bdus_serve_outcome bdus_serve(struct bdus_ctx *ctx,
				   struct bdus_session *session,
				   bdus_announce_fn announce, void *arg);

/* ------------------------------------------------------------------------- */
/* sync/uring-serve.c, sync/uring-ring.c: the io_uring protocol */

/* Whether io_uring rings can be created here (false with the error set).
 * num_commands (slots plus queues, as a ring serving them all needs) sizes
 * the test ring: 0 for a small one. */
bool bdus_uring_probe(uint32_t num_commands);
/* bdus_serve() for a uring session. */
enum bdus_serve_outcome bdus_uring_serve(struct bdus_ctx *ctx,
					 struct bdus_session *session,
					 bdus_announce_fn announce, void *arg);

/* ------------------------------------------------------------------------- */
/* sync/interrupt.c: waking worker threads blocked in a receive */

/* Installs the interrupt signal's handler (reference counted). */
bool bdus_interrupt_acquire(void);
void bdus_interrupt_release(void);
/* Unblocks the interrupt signal in the calling thread. */
void bdus_interrupt_unblock(void);
void bdus_interrupt_thread(pthread_t thread);

/* ------------------------------------------------------------------------- */
/* api/daemon.c: running in the background */

/* A driver process that has yet to tell the waiting parent how it went. */
struct bdus_daemon {
	int socket; /* to the parent; -1 once it was told */
};

/* Forks.  In the child: returns true with *in_child set.  In the parent:
 * waits; exits with status 0 once the child detached, or returns the
 * child's result if it stopped first (or false if the fork failed). */
bool bdus_daemon_fork(struct bdus_daemon *daemon, bool *in_child);
/* In the child: leaves the terminal's session, redirects stdin, stdout and
 * stderr to /dev/null, and lets the parent exit. */
bool bdus_daemon_detach(struct bdus_daemon *daemon);
/* In a child that has not detached: reports ok (and the error) to the
 * parent and exits.  Returns at once if there is nobody to report to. */
void bdus_daemon_end(struct bdus_daemon *daemon, bool ok);

#endif /* LIBBDUS_INTERNAL_H_ */
