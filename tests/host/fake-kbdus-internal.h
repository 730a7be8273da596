// SPDX-License-Identifier: MIT
/*
 * fake-kbdus-internal.h - the state shared by fake-kbdus.c (the module's
 * side) and fake-kbdus-client.c (the test's side).  One lock protects it.
 */

#ifndef FAKE_KBDUS_INTERNAL_H_
#define FAKE_KBDUS_INTERNAL_H_

#include "fake-kbdus.h"

#include <pthread.h>
#include <stddef.h>

#define MAX_DEVICES 64
#define MAX_FDS 1024
#define FAKE_MAJOR 250

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_DELIVERED, SLOT_REPLIED };

struct slot {
	enum slot_state state;
	uint32_t generation;
	struct kbdus_request request;
	char *data;
	int32_t error;
	uint64_t queued_at; /* for FIFO delivery */
};

struct device {
	bool exists;
	struct kbdus_device_config config;
	uint32_t state;
	int session_fd; /* -1: none */
	bool announce_pending;
	bool terminate; /* sticky for the current session */
	bool session_gone; /* the old session closed during an attach */
	struct slot *slots;
	uint32_t num_slots;
	uint32_t buffer_size;
	char *mapping;
	size_t mapping_size;
	uint64_t buffers_offset;
	struct fake_options options;
};

extern pthread_mutex_t fake_lock;
extern struct device fake_devices[MAX_DEVICES];
extern uint64_t fake_next_id;
extern uint64_t fake_queue_clock;
extern struct fake_options fake_current_options;

/* Helpers of fake-kbdus.c for fake-kbdus-client.c; call with the lock. */
int fake_nap(void);
struct device *fake_device_of(uint64_t id);
void fake_adjust_config(struct kbdus_device_config *c, uint64_t id);
void fake_allocate_slots(struct device *dev);
void fake_destroy_device(struct device *dev);
uint32_t fake_ioctl_dir(const struct device *dev, uint32_t command);
bool fake_request_carries_data(const struct kbdus_request *request);
bool fake_reply_carries_data(const struct device *dev,
			     const struct kbdus_request *request);

#endif /* FAKE_KBDUS_INTERNAL_H_ */
