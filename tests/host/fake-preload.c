// SPDX-License-Identifier: MIT
/*
 * fake-preload.c - fake-kbdus as an LD_PRELOAD library, to run the real
 * bdus command and driver binaries against it.  Environment:
 *
 *   FAKE_KBDUS_DEVICES=N    start with N driverless (inactive) devices,
 *                           ids 0 to N-1, sizes 1 MiB to N MiB
 *   FAKE_KBDUS_CLIENT=MODE  once the program creates a device, play the
 *                           block layer on it from a thread, print
 *                           "fake-kbdus: <MODE> ok" or "... failed: why"
 *                           to stderr, then destroy the device.  MODE is
 *                           "verify" (data written reads back) or "zeros"
 *                           (everything reads as zeros).
 */

#include "fake-kbdus.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MS 10000

static const char *client_mode;
static uint64_t client_device;
static char failure[200];

static bool fail_with(const char *what, int err)
{
	snprintf(failure, sizeof(failure), "%s (error %d)", what, err);
	return false;
}

static bool io(uint32_t type, uint64_t offset, uint32_t size, void *data)
{
	int err = fake_submit(client_device, type, offset, size, 0, data,
			      TIMEOUT_MS);

	return err == 0 || fail_with("a request failed", err);
}

static bool serves(const struct kbdus_device_config *c, uint32_t type)
{
	return c->supported_requests & KBDUS_REQ_BIT(type);
}

/* Writes patterns, reads them back, zeroes, discards and flushes. */
static bool exercise(const struct kbdus_device_config *c, bool expect_zeros)
{
	static char out[65536], in[65536];
	uint32_t size = c->max_read_write_size < sizeof(out) ?
				c->max_read_write_size : sizeof(out);

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i % 251 + 1);
	if (!io(KBDUS_REQ_WRITE, 0, size, out) ||
	    !io(KBDUS_REQ_READ, 0, size, in))
		return false;
	if (memcmp(in, expect_zeros ? memset(out, 0, size) : out, size) != 0)
		return fail_with("read back other data", 0);

	if (serves(c, KBDUS_REQ_FUA_WRITE)) {
		memset(out, 0x5a, 4096);
		if (!io(KBDUS_REQ_FUA_WRITE, 8192, 4096, out) ||
		    !io(KBDUS_REQ_READ, 8192, 4096, in) ||
		    memcmp(in, out, 4096) != 0)
			return fail_with("FUA write not read back", 0);
	}
	if (serves(c, KBDUS_REQ_WRITE_ZEROS_NO_UNMAP)) {
		static const char zeros[8192];

		if (!io(KBDUS_REQ_WRITE_ZEROS_NO_UNMAP, 0, 4096, NULL) ||
		    !io(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP, 4096, 4096, NULL) ||
		    !io(KBDUS_REQ_READ, 0, 8192, in) ||
		    memcmp(in, zeros, 8192) != 0)
			return fail_with("zeroed range not read as zeros", 0);
	}
	if (serves(c, KBDUS_REQ_DISCARD) &&
	    !io(KBDUS_REQ_DISCARD, 0, 8192, NULL))
		return false;
	if (serves(c, KBDUS_REQ_FLUSH) && !io(KBDUS_REQ_FLUSH, 0, 0, NULL))
		return false;
	return true;
}

static void *client_main(void *arg)
{
	struct kbdus_device_config config;
	bool ok;

	(void)arg;
	ok = fake_wait_for_session(client_device, TIMEOUT_MS) &&
	     fake_config(client_device, &config);
	if (!ok)
		fail_with("the program created no device", 0);
	else
		ok = exercise(&config, strcmp(client_mode, "zeros") == 0);

	if (ok)
		fprintf(stderr, "fake-kbdus: %s ok\n", client_mode);
	else
		fprintf(stderr, "fake-kbdus: %s failed: %s\n", client_mode,
			failure);
	fake_destroy(client_device);
	return NULL;
}

static void add_devices(unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		struct kbdus_device_config config = {
			.size = (uint64_t)(i + 1) << 20,
			.logical_block_size = 512,
			.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ) |
					      KBDUS_REQ_BIT(KBDUS_REQ_WRITE) |
					      KBDUS_REQ_BIT(KBDUS_REQ_FLUSH),
			.protocol = KBDUS_PROTOCOL_MMAP,
			.flags = KBDUS_CONFIG_RECOVERABLE |
				 KBDUS_CONFIG_WRITE_CACHE |
				 KBDUS_CONFIG_PARTITION_SCAN,
		};

		fake_add_device(&config, KBDUS_STATE_INACTIVE);
	}
}

__attribute__((constructor)) static void setup(void)
{
	const char *devices = getenv("FAKE_KBDUS_DEVICES");
	pthread_t thread;

	if (devices)
		add_devices((unsigned)atoi(devices));

	client_mode = getenv("FAKE_KBDUS_CLIENT");
	if (client_mode) {
		client_device = fake_devices_created();
		pthread_create(&thread, NULL, client_main, NULL);
		pthread_detach(thread);
	}
}
