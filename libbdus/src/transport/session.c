// SPDX-License-Identifier: MIT
/*
 * session.c - creating or attaching to a device, which turns a control fd
 * into the device's driver session, and setting up its protocol.
 *
 * BDUS_PROTOCOL_DEFAULT means uring, then mmap, then ioctl: the next one is
 * tried when kbdus refuses one (ENOPROTOOPT) or when its setup fails
 * (io_uring disabled, memory that cannot be mapped).  io_uring is tried out
 * before the device is created, so that a system without it does not even
 * start with uring.  The protocol is fixed when the session is bound, so a
 * failed setup needs a new session:
 *   - bdus_run(): the new device has served nobody yet (and cannot be
 *     attached to before it is available), so it is destroyed and created
 *     again with the next protocol;
 *   - bdus_rerun() on a recoverable device: closing the session leaves the
 *     device waiting for a driver, so we attach again with the next one;
 *   - bdus_rerun() on a non-recoverable device: closing would destroy it,
 *     and no other exit exists, so the call fails.
 */

#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* The protocol to fall back to from one that failed; IOCTL always works. */
static uint32_t next_protocol(uint32_t protocol)
{
	return protocol == KBDUS_PROTOCOL_URING ? KBDUS_PROTOCOL_MMAP :
						  KBDUS_PROTOCOL_IOCTL;
}

/* The protocol to try first, or 0 (error set) if the requested one cannot
 * work here. */
static uint32_t first_protocol(uint32_t requested)
{
	struct bdus_saved_error error;

	if (requested == BDUS_PROTOCOL_DEFAULT) {
		bdus_save_error(&error);
		if (bdus_uring_probe(0))
			return KBDUS_PROTOCOL_URING;
		bdus_restore_error(&error); /* not a failure */
		return next_protocol(KBDUS_PROTOCOL_URING);
	}
	if (requested == BDUS_PROTOCOL_URING && !bdus_uring_probe(0))
		return 0;
	return requested;
}

static void reset(struct bdus_session *session)
{
	memset(session, 0, sizeof(*session));
	session->fd = -1;
}

void bdus_session_close(struct bdus_session *session)
{
	int saved_errno = errno;

	if (session->mapping)
		munmap(session->mapping, session->mapping_size);
	if (session->own_buffers)
		munmap(session->own_buffers, session->own_buffers_size);
	bdus_close_quietly(session->fd);
	reset(session);
	errno = saved_errno;
}

/* ------------------------------------------------------------------------- */
/* mmap protocol */

static bool check_layout(const struct kbdus_mmap_layout *layout)
{
	uint64_t page = bdus_page_size();
	uint64_t table = (uint64_t)layout->num_slots *
			 sizeof(struct kbdus_request);
	uint64_t end = layout->buffers_offset +
		       (uint64_t)layout->num_slots * layout->buffer_size;

	/* Callbacks are promised page-aligned buffers. */
	if (layout->num_slots == 0 || layout->buffers_offset % page != 0 ||
	    layout->buffer_size % page != 0 || layout->buffer_size == 0 ||
	    layout->buffers_offset < table || end > layout->mmap_size)
		return bdus_fail(EPROTO,
				 "kbdus reported an unusable mmap layout (%" PRIu32
				 " slots of %" PRIu32 " bytes from offset %" PRIu64
				 ", %" PRIu64 " bytes in all)",
				 layout->num_slots, layout->buffer_size,
				 (uint64_t)layout->buffers_offset,
				 (uint64_t)layout->mmap_size);
	return true;
}

/* driver_buffers: map only the descriptors; the buffers come later
 * (bdus_session_take_driver_buffers()). */
static bool setup_mmap(struct bdus_session *session, bool driver_buffers)
{
	struct kbdus_mmap_layout layout;
	size_t size;
	void *mapping;

	memset(&layout, 0, sizeof(layout));
	if (bdus_ioctl_retry(session->fd, KBDUS_IOCTL_MMAP_LAYOUT, &layout) < 0)
		return bdus_fail_errno(errno,
				       "cannot get the mmap protocol's layout");
	if (!check_layout(&layout))
		return false;

	size = driver_buffers ? layout.buffers_offset : layout.mmap_size;
	mapping = mmap(NULL, size, driver_buffers ? PROT_READ :
						    PROT_READ | PROT_WRITE,
		       MAP_SHARED, session->fd, 0);
	if (mapping == MAP_FAILED)
		return bdus_fail_errno(errno,
				       "cannot map the %zu bytes of request %s",
				       size, driver_buffers ? "descriptors" :
							      "buffers");

	session->mapping = mapping;
	session->mapping_size = size;
	session->descriptors = mapping;
	if (!driver_buffers)
		session->buffers = (char *)mapping + layout.buffers_offset;
	session->buffer_size = layout.buffer_size;
	session->num_slots = layout.num_slots;
	return true;
}

/* ------------------------------------------------------------------------- */
/* uring protocol */

/* The descriptor table, which kbdus lets us map read-only. */
static bool map_descriptors(struct bdus_session *session, uint32_t num_slots)
{
	size_t size = bdus_round_up((uint64_t)num_slots *
					    sizeof(struct kbdus_request),
				    bdus_page_size());
	void *mapping = mmap(NULL, size, PROT_READ, MAP_SHARED, session->fd, 0);

	if (mapping == MAP_FAILED)
		return bdus_fail_errno(errno,
				       "cannot map the %zu bytes of request "
				       "descriptors",
				       size);
	session->mapping = mapping;
	session->mapping_size = size;
	session->descriptors = mapping;
	return true;
}

/* One buffer per slot, in memory that is only backed once used. */
/* uring: the slots' buffer size; their memory too, unless the driver
 * brings it (driver_buffers). */
static bool allocate_buffers(struct bdus_session *session, uint32_t num_slots,
			     bool driver_buffers)
{
	uint32_t buffer_size = (uint32_t)bdus_round_up(
		session->config.max_read_write_size, bdus_page_size());
	size_t size = (size_t)num_slots * buffer_size;
	void *buffers;

	session->buffer_size = buffer_size;
	if (driver_buffers)
		return true;
	buffers = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (buffers == MAP_FAILED)
		return bdus_fail_errno(errno,
				       "cannot allocate the %zu bytes of request "
				       "buffers",
				       size);
	session->own_buffers = buffers;
	session->own_buffers_size = size;
	session->buffers = buffers;
	return true;
}

void bdus_session_drop_buffers(struct bdus_session *session)
{
	if (session->own_buffers)
		munmap(session->own_buffers, session->own_buffers_size);
	session->own_buffers = NULL;
	session->own_buffers_size = 0;
	session->buffers = NULL;
}

/* mmap: kbdus copies to and from the driver's buffers from now on. */
static bool set_mmap_buffers(struct bdus_session *session, char *buffers)
{
	struct kbdus_mmap_buffers_args args = {
		.address = (uintptr_t)buffers,
		.size = (uint64_t)session->num_slots * session->buffer_size,
	};

	if (bdus_ioctl_retry(session->fd, KBDUS_IOCTL_MMAP_SET_BUFFERS,
			     &args) == 0)
		return true;
	if (errno == EPROTOTYPE || errno == ENOTTY)
		return bdus_fail(ENOTSUP, "this kbdus cannot use the driver's "
					  "buffers with the mmap protocol: are "
					  "kbdus and libbdus from the same "
					  "BDUS release?");
	return bdus_fail_errno(errno, "kbdus refused the driver's buffers");
}

bool bdus_session_take_driver_buffers(struct bdus_session *session,
				      struct bdus_ctx *ctx)
{
	const struct bdus_ext_attrs *ext = ctx->ext;
	size_t size = (size_t)session->num_slots * session->buffer_size;
	char *buffers;

	if (session->protocol == KBDUS_PROTOCOL_IOCTL || !ext->alloc_buffers)
		return true;
	buffers = ext->alloc_buffers(size, ctx);
	if (!buffers)
		return bdus_fail(ENOMEM, "the driver's alloc_buffers gave no "
					 "memory for %zu bytes of buffers",
				 size);
	if ((uintptr_t)buffers % bdus_page_size() != 0) {
		ext->free_buffers(buffers, size, ctx);
		return bdus_fail(EINVAL, "the driver's alloc_buffers returned "
					 "memory that is not page-aligned");
	}
	if (session->protocol == KBDUS_PROTOCOL_MMAP &&
	    !set_mmap_buffers(session, buffers)) {
		ext->free_buffers(buffers, size, ctx);
		return false;
	}
	bdus_session_drop_buffers(session);
	session->buffers = buffers;
	session->driver_buffers = true;
	return true;
}

void bdus_session_return_driver_buffers(struct bdus_session *session,
					struct bdus_ctx *ctx)
{
	if (!session->driver_buffers)
		return;
	ctx->ext->free_buffers(session->buffers,
			       (size_t)session->num_slots * session->buffer_size,
			       ctx);
	session->buffers = NULL;
	session->driver_buffers = false;
}

/* driver_buffers: the driver's come later (take_driver_buffers). */
static bool setup_uring(struct bdus_session *session, bool driver_buffers)
{
	const struct kbdus_device_config *config = &session->config;
	uint32_t num_slots = (uint32_t)config->num_queues * config->queue_depth;

	if (num_slots == 0 || config->max_read_write_size == 0)
		return bdus_fail(EPROTO,
				 "kbdus reported an unusable configuration "
				 "(%u queues of %u slots, %" PRIu32 "-byte "
				 "buffers)",
				 (unsigned)config->num_queues,
				 (unsigned)config->queue_depth,
				 config->max_read_write_size);
	session->num_slots = num_slots;
	/* Rings are made by the threads that use them; check now that one
	 * that size can be made, while falling back is still possible. */
	return map_descriptors(session, num_slots) &&
	       allocate_buffers(session, num_slots, driver_buffers) &&
	       bdus_uring_probe(num_slots + config->num_queues);
}

static bool setup_protocol(struct bdus_session *session, bool driver_buffers)
{
	switch (session->protocol) {
	case KBDUS_PROTOCOL_MMAP:
		return setup_mmap(session, driver_buffers);
	case KBDUS_PROTOCOL_URING:
		return setup_uring(session, driver_buffers);
	default:
		return true;
	}
}

/* ------------------------------------------------------------------------- */
/* Creating a device */

static bool fail_create(int errnum, uint32_t protocol)
{
	switch (errnum) {
	case EINVAL:
		return bdus_fail(EINVAL,
				 "kbdus refused a device configuration that "
				 "libbdus accepted: are kbdus and libbdus from "
				 "the same BDUS release?");
	case ENOPROTOOPT:
		return bdus_fail(ENOPROTOOPT,
				 "this kbdus does not support the %s protocol",
				 bdus_protocol_name(protocol));
	case ENOSPC:
		return bdus_fail(ENOSPC,
				 "cannot create the device: kbdus already has "
				 "its maximum number of devices");
	case E2BIG:
		return bdus_fail(E2BIG,
				 "the %s protocol's shared memory would exceed "
				 "%llu MiB: reduce the queues, the queue depth "
				 "or max_read_write_size, or use another "
				 "protocol",
				 bdus_protocol_name(protocol),
				 (unsigned long long)(KBDUS_MMAP_MAX_AREA_SIZE >>
						      20));
	default:
		return bdus_fail_errno(errnum, "cannot create the device");
	}
}

static bool open_and_create(struct bdus_session *session,
			    const struct kbdus_device_config *config,
			    uint32_t protocol, bool may_fall_back)
{
	reset(session);
	session->fd = bdus_control_open(true);
	if (session->fd < 0)
		return false;

	for (;;) {
		session->config = *config;
		session->config.protocol = protocol;
		if (bdus_ioctl_retry(session->fd, KBDUS_IOCTL_CREATE_DEVICE,
				     &session->config) == 0)
			break;
		if ((errno == ENOPROTOOPT || errno == E2BIG) &&
		    may_fall_back && protocol != KBDUS_PROTOCOL_IOCTL) {
			protocol = next_protocol(protocol);
			continue;
		}
		fail_create(errno, protocol);
		bdus_session_close(session);
		return false;
	}

	session->protocol = protocol;
	return true;
}

/* Gets rid of a device that nobody has used yet. */
static void discard_new_device(struct bdus_session *session)
{
	struct kbdus_destroy_args args = {
		.id = session->config.id,
		.flags = KBDUS_DESTROY_NO_FLUSH,
	};

	bdus_ioctl_retry(session->fd, KBDUS_IOCTL_DESTROY_DEVICE, &args);
	bdus_session_close(session);
}

bool bdus_session_create(struct bdus_session *session,
			 const struct kbdus_device_config *config,
			 uint32_t requested)
{
	bool driver_buffers = requested & BDUS_SESSION_DRIVER_BUFFERS;
	bool may_fall_back;
	uint32_t protocol;

	requested &= ~BDUS_SESSION_DRIVER_BUFFERS;
	may_fall_back = requested == BDUS_PROTOCOL_DEFAULT;
	protocol = first_protocol(requested);

	reset(session);
	if (!protocol)
		return false;
	for (;;) {
		if (!open_and_create(session, config, protocol, may_fall_back))
			return false;
		if (setup_protocol(session, driver_buffers))
			return true;

		discard_new_device(session);
		if (!may_fall_back)
			return false;
		protocol = next_protocol(session->protocol);
	}
}

/* ------------------------------------------------------------------------- */
/* Attaching to a device */

static bool fail_attach(int errnum, uint64_t id, uint32_t protocol)
{
	switch (errnum) {
	case ENODEV:
	case EINVAL:
		return bdus_fail_missing_device(errnum, id);
	case EBUSY:
		return bdus_fail(EBUSY,
				 "bdus-%" PRIu64 ": the device is not available "
				 "yet, or another driver is attaching to it",
				 id);
	case ESHUTDOWN:
		return bdus_fail(ESHUTDOWN,
				 "bdus-%" PRIu64 ": the device is being destroyed",
				 id);
	case EIO:
		return bdus_fail(EIO,
				 "bdus-%" PRIu64 ": its driver failed to flush "
				 "it, and it is not recoverable: it was destroyed "
				 "rather than lose acknowledged writes silently",
				 id);
	case EINTR:
		return bdus_fail(EINTR,
				 "bdus-%" PRIu64 ": interrupted by a signal while "
				 "waiting for the previous driver to terminate",
				 id);
	case ENOPROTOOPT:
		return bdus_fail(ENOPROTOOPT,
				 "this kbdus does not support the %s protocol",
				 bdus_protocol_name(protocol));
	case E2BIG:
		return bdus_fail(E2BIG,
				 "bdus-%" PRIu64 ": the %s protocol's shared "
				 "memory would exceed %llu MiB; use another "
				 "protocol",
				 id, bdus_protocol_name(protocol),
				 (unsigned long long)(KBDUS_MMAP_MAX_AREA_SIZE >>
						      20));
	default:
		return bdus_fail_errno(errnum,
				       "bdus-%" PRIu64 ": cannot attach to the "
				       "device",
				       id);
	}
}

static bool open_and_attach(struct bdus_session *session, uint64_t id,
			    uint32_t protocol, bool may_fall_back)
{
	struct kbdus_attach_args args;

	reset(session);
	session->fd = bdus_control_open(true);
	if (session->fd < 0)
		return false;

	for (;;) {
		memset(&args, 0, sizeof(args));
		args.id = id;
		args.protocol = protocol;
		/* Not retried on EINTR: by then another driver may have
		 * attached, or the device may be gone. */
		if (ioctl(session->fd, KBDUS_IOCTL_ATTACH_DEVICE, &args) == 0)
			break;
		if ((errno == ENOPROTOOPT || errno == E2BIG) &&
		    may_fall_back && protocol != KBDUS_PROTOCOL_IOCTL) {
			protocol = next_protocol(protocol);
			continue;
		}
		fail_attach(errno, id, protocol);
		bdus_session_close(session);
		return false;
	}

	session->config = args.config;
	session->protocol = protocol;
	return true;
}

/* After a failed setup: attaches again with the next protocol, or fails.
 * session is closed. */
static bool fail_setup_after_attach(struct bdus_session *session, uint64_t id,
				    bool may_fall_back)
{
	bool recoverable = session->config.flags & KBDUS_CONFIG_RECOVERABLE;
	struct bdus_saved_error error;

	bdus_save_error(&error);
	bdus_session_close(session);

	if (may_fall_back && recoverable)
		return true;
	if (!recoverable)
		bdus_fail(error.errnum,
			  "%s; bdus-%" PRIu64 " is not recoverable, so it was "
			  "destroyed (use the ioctl protocol with this device)",
			  error.message, id);
	else
		bdus_restore_error(&error);
	return false;
}

bool bdus_session_attach(struct bdus_session *session, uint64_t id,
			 uint32_t requested)
{
	bool driver_buffers = requested & BDUS_SESSION_DRIVER_BUFFERS;
	bool may_fall_back;
	uint32_t protocol;

	requested &= ~BDUS_SESSION_DRIVER_BUFFERS;
	may_fall_back = requested == BDUS_PROTOCOL_DEFAULT;
	protocol = first_protocol(requested);

	reset(session);
	if (!protocol)
		return false;
	for (;;) {
		if (!open_and_attach(session, id, protocol, may_fall_back))
			return false;
		if (setup_protocol(session, driver_buffers))
			return true;

		protocol = next_protocol(session->protocol);
		if (!fail_setup_after_attach(session, id, may_fall_back))
			return false;
	}
}
