// SPDX-License-Identifier: MIT
/*
 * fake-kbdus-client.c - the test's side of fake-kbdus: submitting requests
 * and inspecting devices.  See fake-kbdus.h.
 */

#include "fake-kbdus-internal.h"

#include <errno.h>
#include <string.h>

uint64_t fake_add_device(const struct kbdus_device_config *config,
			 uint32_t state)
{
	struct device *dev;
	uint64_t id;

	pthread_mutex_lock(&fake_lock);
	id = fake_next_id++;
	dev = &fake_devices[id];
	memset(dev, 0, sizeof(*dev));
	dev->exists = true;
	dev->config = *config;
	fake_adjust_config(&dev->config, id);
	dev->state = state;
	dev->session_fd = -1;
	dev->options = fake_current_options;
	fake_allocate_slots(dev);
	pthread_mutex_unlock(&fake_lock);
	return id;
}

void fake_set_options(const struct fake_options *options)
{
	pthread_mutex_lock(&fake_lock);
	fake_current_options = *options;
	pthread_mutex_unlock(&fake_lock);
}

bool fake_wait_for_session(uint64_t id, int timeout_ms)
{
	bool found = false;

	pthread_mutex_lock(&fake_lock);
	for (int waited = 0; waited <= timeout_ms; waited += 2) {
		struct device *dev = fake_device_of(id);

		found = dev && dev->session_fd >= 0 && !dev->terminate;
		if (found)
			break;
		fake_nap();
	}
	pthread_mutex_unlock(&fake_lock);
	return found;
}

void fake_announce(uint64_t id)
{
	pthread_mutex_lock(&fake_lock);
	if (fake_device_of(id))
		fake_devices[id].announce_pending = true;
	pthread_mutex_unlock(&fake_lock);
}

int fake_start(uint64_t id, uint32_t type, uint64_t offset, uint32_t size,
	       uint32_t ioctl_command, void *data)
{
	struct device *dev;
	int index = -1;

	pthread_mutex_lock(&fake_lock);
	dev = fake_device_of(id);
	for (uint32_t i = 0; dev && i < dev->num_slots; i++) {
		struct slot *slot = &dev->slots[i];

		if (slot->state != SLOT_FREE)
			continue;
		memset(&slot->request, 0, sizeof(slot->request));
		slot->request.type = (uint16_t)type;
		slot->request.offset = offset;
		slot->request.size = size;
		slot->request.ioctl_command = ioctl_command;
		slot->request.queue = (uint16_t)(i / dev->config.queue_depth);
		if (type == KBDUS_REQ_IOCTL) {
			memset(slot->data, 0, size);
			if (fake_ioctl_dir(dev, ioctl_command) & _IOC_WRITE)
				memcpy(slot->data, data, size);
		} else if (fake_request_carries_data(&slot->request)) {
			memcpy(slot->data, data, size);
		}
		slot->generation++;
		slot->queued_at = ++fake_queue_clock;
		slot->state = SLOT_QUEUED;
		index = (int)i;
		break;
	}
	pthread_mutex_unlock(&fake_lock);
	return index;
}

int fake_wait_reply(uint64_t id, int index, void *data, int timeout_ms)
{
	struct device *dev = &fake_devices[id];
	struct slot *slot = &dev->slots[index];
	int result = -ETIMEDOUT;

	pthread_mutex_lock(&fake_lock);
	for (int waited = 0; waited <= timeout_ms; waited += 2) {
		if (slot->state == SLOT_REPLIED) {
			result = slot->error;
			if (result == 0 &&
			    fake_reply_carries_data(dev, &slot->request))
				memcpy(data, slot->data, slot->request.size);
			slot->state = SLOT_FREE;
			break;
		}
		fake_nap();
	}
	pthread_mutex_unlock(&fake_lock);
	return result;
}

int fake_submit(uint64_t id, uint32_t type, uint64_t offset, uint32_t size,
		uint32_t ioctl_command, void *data, int timeout_ms)
{
	int index = fake_start(id, type, offset, size, ioctl_command, data);

	if (index < 0)
		return -ENODEV;
	return fake_wait_reply(id, index, data, timeout_ms);
}

bool fake_requeue_delivered(uint64_t id)
{
	struct device *dev;
	bool found = false;

	pthread_mutex_lock(&fake_lock);
	dev = fake_device_of(id);
	for (uint32_t i = 0; dev && i < dev->num_slots; i++) {
		if (dev->slots[i].state == SLOT_DELIVERED) {
			dev->slots[i].state = SLOT_QUEUED;
			dev->slots[i].generation++;
			found = true;
		}
	}
	pthread_mutex_unlock(&fake_lock);
	return found;
}

void fake_destroy(uint64_t id)
{
	pthread_mutex_lock(&fake_lock);
	if (fake_device_of(id))
		fake_destroy_device(&fake_devices[id]);
	pthread_mutex_unlock(&fake_lock);
}

uint32_t fake_state(uint64_t id)
{
	uint32_t state;

	pthread_mutex_lock(&fake_lock);
	state = fake_device_of(id) ? fake_devices[id].state : 0;
	pthread_mutex_unlock(&fake_lock);
	return state;
}

uint32_t fake_device_flags(uint64_t id)
{
	uint32_t flags;

	pthread_mutex_lock(&fake_lock);
	flags = fake_device_of(id) ? fake_devices[id].config.flags : 0;
	pthread_mutex_unlock(&fake_lock);
	return flags;
}

uint64_t fake_devices_created(void)
{
	uint64_t count;

	pthread_mutex_lock(&fake_lock);
	count = fake_next_id;
	pthread_mutex_unlock(&fake_lock);
	return count;
}

bool fake_config(uint64_t id, struct kbdus_device_config *out)
{
	bool found;

	pthread_mutex_lock(&fake_lock);
	found = fake_device_of(id) != NULL;
	if (found)
		*out = fake_devices[id].config;
	pthread_mutex_unlock(&fake_lock);
	return found;
}
