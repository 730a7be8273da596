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

	return failed ? 1 : 0;
}
