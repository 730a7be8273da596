// SPDX-License-Identifier: MIT
/*
 * fake-kbdus.h - a user-space stand-in for the kbdus module, for host tests.
 *
 * A program linked with fake-kbdus.c gets its own open(), ioctl(), mmap(),
 * munmap() and close(), which take precedence over libc's, also inside
 * libbdus.so.  Opening /dev/bdus-control yields a fake control fd, and the
 * control and session ioctls behave as kbdus.h describes them.  The test
 * plays the block layer through the fake_* functions below: it submits
 * requests and waits for the driver's replies.
 */

#ifndef FAKE_KBDUS_H_
#define FAKE_KBDUS_H_

#include <linux/kbdus.h>
#include <stdbool.h>
#include <stdint.h>

struct fake_options {
	bool no_mmap_protocol; /* CREATE/ATTACH with MMAP: ENOPROTOOPT */
	bool fail_mmap; /* mmap() of a session fails with ENOMEM */
	bool manual_announce; /* no DEVICE_AVAILABLE until fake_announce() */
	uint32_t version_patch; /* reported by GET_VERSION; 0 means 3 */
};

/* Adds a device without a driver, as if created earlier; returns its id. */
uint64_t fake_add_device(const struct kbdus_device_config *config,
			 uint32_t state);

/* Settings for devices created from now on. */
void fake_set_options(const struct fake_options *options);

/* Waits until device id has a driver session; false after timeout_ms. */
bool fake_wait_for_session(uint64_t id, int timeout_ms);

/* Queues DEVICE_AVAILABLE for the device's session. */
void fake_announce(uint64_t id);

/*
 * Submits a request and waits for its reply.  data holds size bytes: what
 * to write (WRITE, FUA_WRITE, ioctl _IOC_WRITE) and where to put what is
 * read (READ, ioctl _IOC_READ).  Returns the reply's error, or -ETIMEDOUT
 * if no reply came within timeout_ms.
 */
int fake_submit(uint64_t id, uint32_t type, uint64_t offset, uint32_t size,
		uint32_t ioctl_command, void *data, int timeout_ms);

/* Starts a request without waiting; fake_wait_reply() collects it. */
int fake_start(uint64_t id, uint32_t type, uint64_t offset, uint32_t size,
	       uint32_t ioctl_command, void *data);
int fake_wait_reply(uint64_t id, int slot, void *data, int timeout_ms);

/* Makes a delivered request time out: it is queued again with a new
 * handle, so that the driver's reply to the old one is stale. */
bool fake_requeue_delivered(uint64_t id);

/* KBDUS_IOCTL_DESTROY_DEVICE without a control fd. */
void fake_destroy(uint64_t id);

/* The device's state (KBDUS_STATE_*), or 0 if it does not exist. */
uint32_t fake_state(uint64_t id);
/* The device's config flags (0 if there is no such device). */
uint32_t fake_device_flags(uint64_t id);
/* How many devices were ever created. */
uint64_t fake_devices_created(void);
/* The config the device was created with (after adjustments). */
bool fake_config(uint64_t id, struct kbdus_device_config *out);

#endif /* FAKE_KBDUS_H_ */
