// SPDX-License-Identifier: MIT
/*
 * fake-kbdus.c - the module's side of fake-kbdus (see fake-kbdus.h): the
 * interposed libc functions and the ioctls.  One global lock protects
 * everything; blocking waits sleep in poll() so that signals interrupt them
 * with EINTR, as the module's interruptible waits do.
 */

#include "fake-kbdus-internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
struct device fake_devices[MAX_DEVICES];
uint64_t fake_next_id;
uint64_t fake_queue_clock;
struct fake_options fake_current_options;
static bool fd_is_control[MAX_FDS];

/* ------------------------------------------------------------------------- */
/* Real libc functions */

static void *real(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn)
		abort();
	return fn;
}

static int real_open(const char *path, int flags, mode_t mode)
{
	int (*fn)(const char *, int, ...) = real("open");

	return fn(path, flags, mode);
}

static int real_ioctl(int fd, unsigned long request, void *arg)
{
	int (*fn)(int, unsigned long, ...) = real("ioctl");

	return fn(fd, request, arg);
}

static int fail(int errnum)
{
	errno = errnum;
	return -1;
}

/* Sleeps a little; -1 with EINTR if a signal handler ran. */
int fake_nap(void)
{
	int ret;

	pthread_mutex_unlock(&fake_lock);
	ret = poll(NULL, 0, 2);
	pthread_mutex_lock(&fake_lock);
	return ret < 0 ? -1 : 0;
}

struct device *fake_device_of(uint64_t id)
{
	return id < MAX_DEVICES && fake_devices[id].exists ? &fake_devices[id] : NULL;
}

static struct device *session_device(int fd)
{
	for (int i = 0; i < MAX_DEVICES; i++)
		if (fake_devices[i].exists && fake_devices[i].session_fd == fd)
			return &fake_devices[i];
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* Device life */

static void fail_all_requests(struct device *dev)
{
	for (uint32_t i = 0; i < dev->num_slots; i++) {
		struct slot *slot = &dev->slots[i];

		if (slot->state == SLOT_QUEUED || slot->state == SLOT_DELIVERED) {
			slot->state = SLOT_REPLIED;
			slot->error = EIO;
		}
	}
}

static void remove_device(struct device *dev)
{
	fail_all_requests(dev);
	/* Slots and buffers are leaked on purpose: a client may still be
	 * looking at them, and tests are short. */
	dev->exists = false;
	dev->session_fd = -1;
}

static uint32_t round_up(uint32_t value, uint32_t multiple)
{
	return (value + multiple - 1) / multiple * multiple;
}

static bool config_is_valid(const struct kbdus_device_config *c)
{
	uint32_t lbs = c->logical_block_size;
	uint32_t pbs = c->physical_block_size ? c->physical_block_size : lbs;

	return lbs >= 512 && lbs <= 4096 && !(lbs & (lbs - 1)) &&
	       pbs >= lbs && pbs <= 4096 && !(pbs & (pbs - 1)) &&
	       c->size > 0 && c->size % pbs == 0 && c->id == 0 &&
	       c->major == 0 && c->minor == 0 &&
	       !(c->supported_requests & ~KBDUS_REQ_DATA_TYPES_MASK) &&
	       !(c->flags & ~KBDUS_CONFIG_FLAGS_MASK) &&
	       c->num_queues <= KBDUS_MAX_QUEUES &&
	       c->queue_depth <= KBDUS_MAX_QUEUE_DEPTH &&
	       c->max_write_zeros_size % lbs == 0 &&
	       c->max_discard_erase_size % lbs == 0;
}

void fake_adjust_config(struct kbdus_device_config *c, uint64_t id)
{
	uint32_t rw = c->max_read_write_size ? c->max_read_write_size :
					       KBDUS_DEFAULT_MAX_READ_WRITE_SIZE;

	rw -= rw % c->logical_block_size;
	if (rw < 4096)
		rw = 4096;
	if (rw > KBDUS_MAX_MAX_READ_WRITE_SIZE)
		rw = KBDUS_MAX_MAX_READ_WRITE_SIZE;
	c->max_read_write_size = rw;
	if (!c->physical_block_size)
		c->physical_block_size = c->logical_block_size;
	if (!c->num_queues)
		c->num_queues = 1;
	if (!c->queue_depth)
		c->queue_depth = KBDUS_DEFAULT_QUEUE_DEPTH;
	if (!c->request_timeout_ms)
		c->request_timeout_ms = KBDUS_DEFAULT_REQUEST_TIMEOUT_MS;
	c->id = id;
	c->major = FAKE_MAJOR;
	c->minor = (uint32_t)id * 16;
}

void fake_allocate_slots(struct device *dev)
{
	struct kbdus_device_config *c = &dev->config;

	dev->num_slots = (uint32_t)c->num_queues * c->queue_depth;
	dev->buffer_size = round_up(c->max_read_write_size, 4096);
	if (dev->buffer_size < (1u << 14))
		dev->buffer_size = 1u << 14;
	dev->buffers_offset =
		round_up(dev->num_slots * sizeof(struct kbdus_request), 4096);
	dev->mapping_size =
		dev->buffers_offset + (size_t)dev->num_slots * dev->buffer_size;
	dev->mapping = aligned_alloc(4096, dev->mapping_size);
	memset(dev->mapping, 0, dev->mapping_size);
	dev->slots = calloc(dev->num_slots, sizeof(*dev->slots));
	for (uint32_t i = 0; i < dev->num_slots; i++)
		dev->slots[i].data = dev->mapping + dev->buffers_offset +
				     (size_t)i * dev->buffer_size;
}

static bool protocol_ok(const struct device *dev, uint32_t protocol)
{
	if (protocol == KBDUS_PROTOCOL_MMAP)
		return !dev->options.no_mmap_protocol;
	return protocol == KBDUS_PROTOCOL_IOCTL;
}

static int create_device(int fd, struct kbdus_device_config *config)
{
	struct device *dev;

	if (session_device(fd))
		return fail(EALREADY);
	if (!config_is_valid(config))
		return fail(EINVAL);
	if (fake_next_id >= MAX_DEVICES)
		return fail(ENOSPC);

	dev = &fake_devices[fake_next_id];
	memset(dev, 0, sizeof(*dev));
	dev->options = fake_current_options;
	if (!protocol_ok(dev, config->protocol))
		return fail(ENOPROTOOPT);

	fake_adjust_config(config, fake_next_id);
	fake_next_id++;
	dev->exists = true;
	dev->config = *config;
	dev->state = KBDUS_STATE_UNAVAILABLE;
	dev->session_fd = fd;
	dev->announce_pending = !dev->options.manual_announce;
	fake_allocate_slots(dev);
	return 0;
}

static void requeue_unreplied(struct device *dev)
{
	for (uint32_t i = 0; i < dev->num_slots; i++) {
		struct slot *slot = &dev->slots[i];

		if (slot->state == SLOT_DELIVERED) {
			slot->state = SLOT_QUEUED;
			slot->generation++;
		}
	}
}

/* kbdus's errno for a device that is not there: ids are never reused. */
static int fail_missing(uint64_t id)
{
	return fail(id >= fake_next_id ? EINVAL : ENODEV);
}

static int attach_device(int fd, struct kbdus_attach_args *args)
{
	struct device *dev = fake_device_of(args->id);
	uint32_t protocol;

	if (session_device(fd))
		return fail(EALREADY);
	if (!dev)
		return fail_missing(args->id);
	if (dev->state == KBDUS_STATE_UNAVAILABLE)
		return fail(EBUSY);
	if (dev->state == KBDUS_STATE_TERMINATED)
		return fail(ESHUTDOWN);
	protocol = args->protocol ? args->protocol : dev->config.protocol;
	if (!protocol_ok(dev, protocol))
		return fail(ENOPROTOOPT);

	if (dev->session_fd >= 0) {
		/* Live replacement: tell the old session to go away. */
		dev->terminate = true;
		dev->session_gone = false;
		while (!dev->session_gone)
			if (fake_nap() < 0)
				return fail(EINTR);
	}

	requeue_unreplied(dev);
	dev->session_fd = fd;
	dev->terminate = false;
	dev->state = KBDUS_STATE_ACTIVE;
	dev->announce_pending = true;
	args->config = dev->config;
	return 0;
}

static void close_session(struct device *dev)
{
	dev->session_fd = -1;
	dev->session_gone = true;
	if (dev->state == KBDUS_STATE_TERMINATED) {
		remove_device(dev);
	} else if (dev->terminate) {
		/* Replaced: the attach in progress takes over. */
	} else if (dev->config.flags & KBDUS_CONFIG_RECOVERABLE) {
		dev->state = KBDUS_STATE_INACTIVE;
	} else {
		remove_device(dev);
	}
}

void fake_destroy_device(struct device *dev)
{
	dev->state = KBDUS_STATE_TERMINATED;
	dev->terminate = true;
	fail_all_requests(dev);
	if (dev->session_fd < 0)
		remove_device(dev);
}

/* ------------------------------------------------------------------------- */
/* Session ioctls */

/* Like kbdus: EINVAL for a handle that names no slot, ESTALE for one whose
 * request was completed or requeued since. */
static struct slot *slot_of_handle(struct device *dev, uint64_t handle,
				   int *err)
{
	uint32_t index = (uint32_t)handle - 1;

	*err = EINVAL;
	if (handle == 0 || index >= dev->num_slots)
		return NULL;
	*err = ESTALE;
	if (dev->slots[index].generation != (uint32_t)(handle >> 32) ||
	    dev->slots[index].state != SLOT_DELIVERED)
		return NULL;
	return &dev->slots[index];
}

/* As kbdus: an ioctl argument's direction, _IOC_READ (to the caller) and
 * _IOC_WRITE (to the driver), swapped on a device with 0.1's convention. */
uint32_t fake_ioctl_dir(const struct device *dev, uint32_t command)
{
	uint32_t dir = _IOC_DIR(command);

	if ((dev->config.flags & KBDUS_CONFIG_IOCTL_DIR_V01) &&
	    (dir == _IOC_READ || dir == _IOC_WRITE))
		dir ^= _IOC_READ | _IOC_WRITE;
	return dir;
}

bool fake_reply_carries_data(const struct device *dev,
			     const struct kbdus_request *request)
{
	return request->type == KBDUS_REQ_READ ||
	       (request->type == KBDUS_REQ_IOCTL &&
		(fake_ioctl_dir(dev, request->ioctl_command) & _IOC_READ));
}

/* An ioctl's whole argument goes to the driver: the caller's data, or
 * zeros (fake_start() fills them in). */
bool fake_request_carries_data(const struct kbdus_request *request)
{
	return request->type == KBDUS_REQ_WRITE ||
	       request->type == KBDUS_REQ_FUA_WRITE ||
	       request->type == KBDUS_REQ_IOCTL;
}

/* payload: where the ioctl protocol's reply data is, or NULL for mmap. */
static int complete(struct device *dev, uint64_t handle, int32_t error,
		    const char *payload)
{
	int err;
	struct slot *slot = slot_of_handle(dev, handle, &err);

	if (error < 0 || error > 4095)
		return fail(EINVAL);
	if (!slot)
		return fail(err);
	if (payload && error == 0 &&
	    fake_reply_carries_data(dev, &slot->request))
		memcpy(slot->data, payload, slot->request.size);
	slot->error = error;
	slot->state = SLOT_REPLIED;
	return 0;
}

/* Picks what to hand to a receiver: 0 and *out set, or -1 to wait. */
static int next_message(struct device *dev, struct kbdus_request *out,
			int *out_slot)
{
	struct slot *oldest = NULL;

	memset(out, 0, sizeof(*out));
	*out_slot = -1;
	if (dev->terminate) {
		out->type = KBDUS_REQ_TERMINATE;
		return 0;
	}
	if (dev->announce_pending) {
		dev->announce_pending = false;
		dev->state = KBDUS_STATE_ACTIVE;
		out->type = KBDUS_REQ_DEVICE_AVAILABLE;
		return 0;
	}
	for (uint32_t i = 0; i < dev->num_slots; i++)
		if (dev->slots[i].state == SLOT_QUEUED &&
		    (!oldest || dev->slots[i].queued_at < oldest->queued_at))
			oldest = &dev->slots[i];
	if (oldest) {
		oldest->state = SLOT_DELIVERED;
		oldest->request.handle =
			((uint64_t)oldest->generation << 32) |
			(uint64_t)(oldest - dev->slots + 1);
		*out = oldest->request;
		*out_slot = (int)(oldest - dev->slots);
		return 0;
	}
	return -1;
}

static int receive(struct device *dev, struct kbdus_request *out,
		   int *out_slot)
{
	int fd = dev->session_fd;

	while (next_message(dev, out, out_slot) < 0) {
		if (fake_nap() < 0)
			return fail(EINTR);
		if (!dev->exists || dev->session_fd != fd)
			return fail(EBADFD);
	}
	return 0;
}

static int transceive(struct device *dev, struct kbdus_transceive_args *args)
{
	struct kbdus_request request;
	int slot;

	if (dev->config.protocol != KBDUS_PROTOCOL_IOCTL)
		return fail(EPROTOTYPE);
	if (args->flags || args->payload_size < dev->config.max_read_write_size)
		return fail(EINVAL);
	if (args->reply) {
		struct kbdus_reply *reply = (void *)(uintptr_t)args->reply;

		if (complete(dev, reply->handle, reply->error,
			     (const char *)(uintptr_t)args->payload) < 0)
			return -1;
	}
	if (!args->request)
		return 0;
	if (receive(dev, &request, &slot) < 0)
		return -1;
	if (slot >= 0 && fake_request_carries_data(&request))
		memcpy((void *)(uintptr_t)args->payload, dev->slots[slot].data,
		       request.size);
	memcpy((void *)(uintptr_t)args->request, &request, sizeof(request));
	return 0;
}

static int mmap_transceive(struct device *dev,
			   struct kbdus_mmap_transceive_args *args)
{
	struct kbdus_request request;
	int slot;

	if (dev->config.protocol != KBDUS_PROTOCOL_MMAP)
		return fail(EPROTOTYPE);
	if (args->reply_handle &&
	    complete(dev, args->reply_handle, args->reply_error, NULL) < 0)
		return -1;
	if (args->flags & KBDUS_MMAP_NO_RECEIVE)
		return 0;
	if (receive(dev, &request, &slot) < 0)
		return -1;
	args->type = request.type;
	args->slot = slot < 0 ? KBDUS_NO_SLOT : (uint32_t)slot;
	if (slot >= 0)
		memcpy(dev->mapping + (size_t)slot * sizeof(request), &request,
		       sizeof(request));
	return 0;
}

static int mmap_layout(struct device *dev, struct kbdus_mmap_layout *layout)
{
	if (dev->config.protocol != KBDUS_PROTOCOL_MMAP)
		return fail(EPROTOTYPE);
	memset(layout, 0, sizeof(*layout));
	layout->mmap_size = dev->mapping_size;
	layout->buffers_offset = dev->buffers_offset;
	layout->buffer_size = dev->buffer_size;
	layout->num_slots = dev->num_slots;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Control ioctls */

static int device_info(struct kbdus_device_info *info)
{
	struct device *dev = fake_device_of(info->id);

	if (!dev)
		return fail_missing(info->id);
	info->state = dev->state;
	info->driver_pid = dev->session_fd >= 0 ? (uint32_t)getpid() : 0;
	info->config = dev->config;
	return 0;
}

static int next_device_id(uint64_t *id)
{
	for (uint64_t i = *id; i < MAX_DEVICES; i++) {
		if (fake_devices[i].exists) {
			*id = i;
			return 0;
		}
	}
	return fail(ENOENT);
}

static int wait_destroyed(uint64_t id)
{
	if (id >= fake_next_id)
		return fail(EINVAL);
	while (fake_device_of(id))
		if (fake_nap() < 0)
			return fail(EINTR);
	return 0;
}

static int fake_ioctl(int fd, unsigned long command, void *arg)
{
	struct device *session = session_device(fd);
	struct device *dev;

	switch (command) {
	case KBDUS_IOCTL_GET_VERSION: {
		struct kbdus_version *v = arg;

		memset(v, 0, sizeof(*v));
		v->minor = 1;
		v->patch = fake_current_options.version_patch ?
				   fake_current_options.version_patch : 3;
		return 0;
	}
	case KBDUS_IOCTL_CREATE_DEVICE:
		return create_device(fd, arg);
	case KBDUS_IOCTL_ATTACH_DEVICE:
		return attach_device(fd, arg);
	case KBDUS_IOCTL_GET_DEVICE_INFO:
		return device_info(arg);
	case KBDUS_IOCTL_NEXT_DEVICE_ID:
		return next_device_id(arg);
	case KBDUS_IOCTL_DESTROY_DEVICE:
		dev = fake_device_of(((struct kbdus_destroy_args *)arg)->id);
		if (!dev)
			return fail_missing(
				((struct kbdus_destroy_args *)arg)->id);
		fake_destroy_device(dev);
		return 0;
	case KBDUS_IOCTL_WAIT_DESTROYED:
		return wait_destroyed(((struct kbdus_destroy_args *)arg)->id);
	}

	if (!session)
		return fail(EBADFD);
	switch (command) {
	case KBDUS_IOCTL_TRANSCEIVE:
		return transceive(session, arg);
	case KBDUS_IOCTL_MMAP_LAYOUT:
		return mmap_layout(session, arg);
	case KBDUS_IOCTL_MMAP_TRANSCEIVE:
		return mmap_transceive(session, arg);
	default:
		return fail(ENOTTY);
	}
}

/* ------------------------------------------------------------------------- */
/* The interposed libc functions */

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list args;
	int fd;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(args, flags);
		mode = va_arg(args, mode_t);
		va_end(args);
	}
	if (strcmp(path, KBDUS_CONTROL_DEVICE_PATH) != 0)
		return real_open(path, flags, mode);

	fd = real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC), 0);
	if (fd >= 0 && fd < MAX_FDS) {
		pthread_mutex_lock(&fake_lock);
		fd_is_control[fd] = true;
		pthread_mutex_unlock(&fake_lock);
	}
	return fd;
}

int ioctl(int fd, unsigned long request, ...)
{
	va_list args;
	void *arg;
	int ret;

	va_start(args, request);
	arg = va_arg(args, void *);
	va_end(args);

	if (fd < 0 || fd >= MAX_FDS || !fd_is_control[fd])
		return real_ioctl(fd, request, arg);

	pthread_mutex_lock(&fake_lock);
	ret = fake_ioctl(fd, request, arg);
	pthread_mutex_unlock(&fake_lock);
	return ret;
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd,
	   off_t offset)
{
	void *(*fn)(void *, size_t, int, int, int, off_t) = real("mmap");
	struct device *dev;
	void *result = MAP_FAILED;

	if (fd < 0 || fd >= MAX_FDS || !fd_is_control[fd])
		return fn(addr, length, prot, flags, fd, offset);

	pthread_mutex_lock(&fake_lock);
	dev = session_device(fd);
	errno = EINVAL;
	if (dev && dev->options.fail_mmap)
		errno = ENOMEM;
	else if (dev && offset == 0 && length <= dev->mapping_size &&
		 (flags & MAP_SHARED))
		result = dev->mapping;
	pthread_mutex_unlock(&fake_lock);
	return result;
}

int munmap(void *addr, size_t length)
{
	int (*fn)(void *, size_t) = real("munmap");
	bool fake = false;

	pthread_mutex_lock(&fake_lock);
	for (int i = 0; i < MAX_DEVICES; i++)
		if (fake_devices[i].mapping && fake_devices[i].mapping == addr)
			fake = true;
	pthread_mutex_unlock(&fake_lock);
	return fake ? 0 : fn(addr, length);
}

int close(int fd)
{
	int (*fn)(int) = real("close");
	struct device *dev;

	if (fd >= 0 && fd < MAX_FDS && fd_is_control[fd]) {
		pthread_mutex_lock(&fake_lock);
		fd_is_control[fd] = false;
		dev = session_device(fd);
		if (dev)
			close_session(dev);
		pthread_mutex_unlock(&fake_lock);
	}
	return fn(fd);
}

