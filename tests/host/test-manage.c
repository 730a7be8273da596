// SPDX-License-Identifier: MIT
/*
 * test-manage.c - libbdus's device management functions against the fake
 * kbdus: what they answer for devices that are gone or never existed.
 */

#include "fake-kbdus.h"

#include <bdus.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void result(const char *name, bool ok, const char *detail)
{
	if (ok) {
		printf("PASS %s\n", name);
		passed++;
	} else {
		printf("FAIL %s: %s\n", name, detail);
		failed++;
	}
}

/* Calls fn(id) and checks that it fails with errnum and message. */
static void expect_failure(const char *name, bool (*fn)(uint64_t), uint64_t id,
			   int errnum, const char *message)
{
	char detail[512];
	bool ok = !fn(id) && errno == errnum &&
		  strstr(bdus_get_error_message(), message) != NULL;

	snprintf(detail, sizeof(detail), "errno %d, \"%s\"", errno,
		 bdus_get_error_message());
	result(name, ok, detail);
}

/* bdus_get_dev_info() translates kbdus's view; listing finds every device. */
static void test_info_and_listing(void)
{
	const struct kbdus_device_config config = {
		.size = 8 << 20,
		.logical_block_size = 512,
		.physical_block_size = 4096,
		.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ) |
				      KBDUS_REQ_BIT(KBDUS_REQ_FLUSH) |
				      KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP),
		.flags = KBDUS_CONFIG_RECOVERABLE | KBDUS_CONFIG_WRITE_CACHE |
			 KBDUS_CONFIG_PARTITION_SCAN,
		.protocol = KBDUS_PROTOCOL_MMAP,
		.num_queues = 3,
		.queue_depth = 7,
		.request_timeout_ms = 1234,
	};
	struct kbdus_device_config adjusted;
	struct bdus_dev_info info;
	uint64_t first = fake_add_device(&config, KBDUS_STATE_INACTIVE);
	uint64_t second = fake_add_device(&config, KBDUS_STATE_INACTIVE);
	uint64_t id, found[2], count = 0;
	char detail[256];
	unsigned char big[sizeof(info) + 16];

	fake_config(first, &adjusted);
	memset(&info, 0xa5, sizeof(info));
	result("bdus_get_dev_info describes a device",
	       bdus_get_dev_info(first, &info) && info.id == first &&
		       info.major == adjusted.major &&
		       info.minor == adjusted.minor &&
		       info.state == BDUS_DEV_INACTIVE && info.driver_pid == 0 &&
		       info.size == 8 << 20 && info.logical_block_size == 512 &&
		       info.physical_block_size == 4096 &&
		       info.requests == (BDUS_REQ_READ | BDUS_REQ_FLUSH |
					 BDUS_REQ_WRITE_ZEROS_MAY_UNMAP) &&
		       info.protocol == BDUS_PROTOCOL_MMAP &&
		       info.num_queues == 3 && info.queue_depth == 7 &&
		       info.request_timeout_ms == 1234 &&
		       info.flags == (BDUS_DEV_RECOVERABLE |
				      BDUS_DEV_WRITE_CACHE |
				      BDUS_DEV_PARTITION_SCAN) &&
		       info.reserved == 0,
	       bdus_get_error_message());

	memset(big, 0xa5, sizeof(big));
	result("bdus_get_dev_info zeroes what a newer header adds",
	       bdus_get_dev_info_sized(first, (struct bdus_dev_info *)big,
				       sizeof(big)) &&
		       big[sizeof(info)] == 0 && big[sizeof(big) - 1] == 0,
	       bdus_get_error_message());
	memset(big, 0xa5, sizeof(big));
	result("bdus_get_dev_info writes only what an older header knows",
	       bdus_get_dev_info_sized(first, (struct bdus_dev_info *)big, 8) &&
		       big[8] == 0xa5,
	       bdus_get_error_message());

	for (id = first; count < 2 && bdus_get_next_dev_id(&id); id++)
		found[count++] = id;
	snprintf(detail, sizeof(detail), "found %llu devices from %llu",
		 (unsigned long long)count, (unsigned long long)first);
	result("bdus_get_next_dev_id finds each device in order",
	       count == 2 && found[0] == first && found[1] == second, detail);
	id = second + 1;
	result("bdus_get_next_dev_id fails with ENODEV past the last device",
	       !bdus_get_next_dev_id(&id) && errno == ENODEV &&
		       id == second + 1,
	       bdus_get_error_message());
	fake_destroy(first);
	fake_destroy(second);
}

/* NO_WAIT returns at once, and the wait is then separate. */
static void test_destroy_ext(uint64_t never)
{
	const struct kbdus_device_config config = {
		.size = 1 << 20,
		.logical_block_size = 512,
		.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ),
		.protocol = KBDUS_PROTOCOL_IOCTL,
	};
	uint64_t id = fake_add_device(&config, KBDUS_STATE_INACTIVE);

	result("bdus_destroy_dev_ext refuses unknown flags",
	       !bdus_destroy_dev_ext(id, 1u << 7) && errno == EINVAL &&
		       fake_state(id) == KBDUS_STATE_INACTIVE,
	       bdus_get_error_message());
	result("bdus_destroy_dev_ext NO_FLUSH | NO_WAIT destroys",
	       bdus_destroy_dev_ext(id, BDUS_DESTROY_NO_FLUSH |
						BDUS_DESTROY_NO_WAIT) &&
		       fake_state(id) == 0,
	       bdus_get_error_message());
	result("bdus_wait_dev_destroyed succeeds for a destroyed device",
	       bdus_wait_dev_destroyed(id), bdus_get_error_message());
	result("bdus_wait_dev_destroyed fails with EINVAL for an id no "
	       "device had",
	       !bdus_wait_dev_destroyed(never) && errno == EINVAL &&
		       strstr(bdus_get_error_message(), "does not exist"),
	       bdus_get_error_message());
}

static int dummy_read(char *buffer, uint64_t offset, uint32_t size,
		      struct bdus_ctx *ctx)
{
	(void)buffer, (void)offset, (void)size, (void)ctx;
	return 0;
}

int main(void)
{
	const struct kbdus_device_config config = {
		.size = 1 << 20,
		.logical_block_size = 512,
		.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ),
		.protocol = KBDUS_PROTOCOL_IOCTL,
	};
	const struct bdus_ops ops = { .read = dummy_read };
	const struct bdus_attrs attrs = { .dont_daemonize = true };
	uint64_t gone, never;

	setvbuf(stdout, NULL, _IOLBF, 0);

	/* As in BDUS 0.1: a destroyed device "no longer exists" (ENODEV), and
	 * an id that no device ever had "does not exist" (EINVAL). */
	gone = fake_add_device(&config, KBDUS_STATE_INACTIVE);
	fake_destroy(gone);
	never = fake_devices_created() + 10;

	expect_failure("bdus_destroy_dev of a destroyed device: ENODEV",
		       bdus_destroy_dev, gone, ENODEV,
		       "the device no longer exists");
	expect_failure("bdus_flush_dev of a destroyed device: ENODEV",
		       bdus_flush_dev, gone, ENODEV,
		       "the device no longer exists");
	expect_failure("bdus_destroy_dev of an id no device had: EINVAL",
		       bdus_destroy_dev, never, EINVAL,
		       "the device does not exist");
	expect_failure("bdus_flush_dev of an id no device had: EINVAL",
		       bdus_flush_dev, never, EINVAL, "the device does not exist");
	result("bdus_rerun of an id no device had: EINVAL",
	       !bdus_rerun(never, &ops, &attrs, NULL) && errno == EINVAL &&
		       strstr(bdus_get_error_message(), "does not exist"),
	       bdus_get_error_message());

	test_info_and_listing();
	test_destroy_ext(never);

	return failed ? 1 : 0;
}
