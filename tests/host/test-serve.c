// SPDX-License-Identifier: MIT
/*
 * test-serve.c - runs drivers against fake-kbdus: requests of every type
 * through both protocols, the protocol fallbacks, worker threads, errno
 * mapping, bdus_abort, stale replies and bdus_rerun().
 *
 * Each test runs bdus_run_ext() on the main thread while a client thread
 * plays the block layer.  Prints "PASS name" or "FAIL name: reason".
 */

#include <bdus.h>

#include "fake-kbdus.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define DEVICE_SIZE (1u << 20)
#define TIMEOUT_MS 5000

#define TEST_IOR _IOR('t', 1, char[16])
#define TEST_IOW _IOW('t', 2, char[16])
#define TEST_IOWR _IOWR('t', 3, int)
#define TEST_IO_FAIL _IO('t', 4)
#define TEST_IO_DESTROY_SELF _IO('t', 5)
#define TEST_IO_FLUSH_SELF _IO('t', 6)

/* ------------------------------------------------------------------------- */
/* The driver under test */

static struct {
	char store[DEVICE_SIZE];
	char ioctl_value[16];
	pthread_t main_thread;
	atomic_int in_flight, max_in_flight, calls, flushes;
	atomic_bool off_main_thread, initialized, terminated;
	int initialize_result;
	int write_result;
	int read_result;
	int read_delay_ms;
	uint32_t seen_protocol;
	unsigned workers;
} drv;

static void reset_driver(void)
{
	memset(&drv, 0, sizeof(drv));
	drv.main_thread = pthread_self();
}

static void enter(void)
{
	int now = atomic_fetch_add(&drv.in_flight, 1) + 1;
	int max = atomic_load(&drv.max_in_flight);

	while (now > max &&
	       !atomic_compare_exchange_weak(&drv.max_in_flight, &max, now))
		;
	atomic_fetch_add(&drv.calls, 1);
	if (!pthread_equal(pthread_self(), drv.main_thread))
		atomic_store(&drv.off_main_thread, true);
}

static int leave(int result)
{
	atomic_fetch_sub(&drv.in_flight, 1);
	return result;
}

static int on_initialize(struct bdus_ctx *ctx)
{
	drv.seen_protocol = ctx->ext->protocol;
	atomic_store(&drv.initialized, true);
	return drv.initialize_result;
}

static int on_available(struct bdus_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static int on_terminate(struct bdus_ctx *ctx)
{
	(void)ctx;
	atomic_store(&drv.terminated, true);
	return 0;
}

static int do_read(char *buf, uint64_t off, uint32_t size, struct bdus_ctx *c)
{
	(void)c;
	enter();
	if (drv.read_delay_ms)
		usleep((useconds_t)drv.read_delay_ms * 1000);
	if (drv.read_result)
		return leave(drv.read_result);
	memcpy(buf, drv.store + off, size);
	return leave(0);
}

static int do_write(const char *buf, uint64_t off, uint32_t size,
		    struct bdus_ctx *c)
{
	(void)c;
	enter();
	if (drv.write_result)
		return leave(drv.write_result);
	memcpy(drv.store + off, buf, size);
	return leave(0);
}

static int do_zero(uint64_t off, uint32_t size, bool may_unmap,
		   struct bdus_ctx *c)
{
	(void)c;
	(void)may_unmap;
	enter();
	memset(drv.store + off, 0, size);
	return leave(0);
}

static int do_flush(struct bdus_ctx *c)
{
	(void)c;
	enter();
	atomic_fetch_add(&drv.flushes, 1);
	return leave(0);
}

static int do_discard(uint64_t off, uint32_t size, struct bdus_ctx *c)
{
	return do_zero(off, size, true, c);
}

static int do_ioctl(uint32_t command, void *arg, struct bdus_ctx *c)
{
	enter();
	switch (command) {
	case TEST_IOR:
		for (int i = 0; i < 16; i++) /* must start zeroed */
			if (((char *)arg)[i] != 0)
				return leave(EBADMSG);
		memcpy(arg, "from the driver", 16);
		return leave(0);
	case TEST_IOW:
		memcpy(drv.ioctl_value, arg, 16);
		return leave(0);
	case TEST_IOWR:
		++*(int *)arg;
		return leave(0);
	case TEST_IO_DESTROY_SELF:
		return leave(bdus_destroy_dev(c->id) ? 0 : errno);
	case TEST_IO_FLUSH_SELF:
		return leave(bdus_flush_dev(c->id) ? 0 : errno);
	default:
		return leave(EPERM);
	}
}

/*
 * The same commands as a BDUS 0.1.x driver sees them (bdus_run()): 0.1
 * named directions from the driver's side, so TEST_IOR's argument brings
 * the caller's data (changes are dropped) and TEST_IOW's starts zeroed and
 * goes back to the caller.
 */
static int do_ioctl_v01(uint32_t command, void *arg, struct bdus_ctx *c)
{
	(void)c;
	enter();
	switch (command) {
	case TEST_IOR:
		memcpy(drv.ioctl_value, arg, 16);
		memcpy(arg, "dropped!!!!!!!!", 16);
		return leave(0);
	case TEST_IOW:
		for (int i = 0; i < 16; i++) /* must start zeroed */
			if (((char *)arg)[i] != 0)
				return leave(EBADMSG);
		memcpy(arg, "from the driver", 16);
		return leave(0);
	case TEST_IOWR:
		++*(int *)arg;
		return leave(0);
	default:
		return leave(EPERM);
	}
}

static const struct bdus_ops full_ops = {
	.initialize = on_initialize,
	.on_device_available = on_available,
	.terminate = on_terminate,
	.read = do_read,
	.write = do_write,
	.write_zeros = do_zero,
	.fua_write = do_write,
	.flush = do_flush,
	.discard = do_discard,
	.secure_erase = do_discard,
	.ioctl = do_ioctl,
};

/* ------------------------------------------------------------------------- */
/* Test plumbing */

static int passed, failed;
static char failure[256];

static bool check(bool condition, const char *fmt, ...)
{
	va_list args;

	if (!condition && failure[0] == '\0') {
		va_start(args, fmt);
		vsnprintf(failure, sizeof(failure), fmt, args);
		va_end(args);
	}
	return condition;
}

static void report(const char *name)
{
	if (failure[0] == '\0') {
		printf("PASS %s\n", name);
		passed++;
	} else {
		printf("FAIL %s: %s\n", name, failure);
		failed++;
	}
	fflush(stdout);
	failure[0] = '\0';
}

struct client {
	uint64_t id;
	bool (*fn)(uint64_t id);
	bool ok;
};

static void *client_main(void *arg)
{
	struct client *client = arg;

	if (!fake_wait_for_session(client->id, TIMEOUT_MS)) {
		check(false, "no driver session for device %llu",
		      (unsigned long long)client->id);
		fake_destroy(client->id);
		return NULL;
	}
	client->ok = client->fn(client->id);
	return NULL;
}

/* Runs a driver on this thread and fn on a client thread.  Returns what
 * bdus_run_ext() (bdus_run() if api01) returned; *out_id is the device's
 * id. */
static bool run_with_client_api(const struct bdus_ops *ops,
				const struct bdus_attrs *attrs,
				const struct bdus_ext_attrs *ext,
				bool (*fn)(uint64_t), uint64_t *out_id,
				bool api01)
{
	struct client client = { .id = fake_devices_created(), .fn = fn };
	pthread_t thread;
	bool result;

	pthread_create(&thread, NULL, client_main, &client);
	result = api01 ? bdus_run(ops, attrs, NULL) :
			 bdus_run_ext(ops, attrs, ext, NULL);
	pthread_join(thread, NULL);
	check(client.ok, "the client's checks failed");
	if (out_id)
		*out_id = client.id;
	return result;
}

static bool run_with_client(const struct bdus_ops *ops,
			    const struct bdus_attrs *attrs,
			    const struct bdus_ext_attrs *ext,
			    bool (*fn)(uint64_t), uint64_t *out_id)
{
	return run_with_client_api(ops, attrs, ext, fn, out_id, false);
}

static struct bdus_attrs default_attrs(void)
{
	struct bdus_attrs attrs = {
		.logical_block_size = 512,
		.size = DEVICE_SIZE,
		.dont_daemonize = true,
	};
	return attrs;
}

static int submit(uint64_t id, uint32_t type, uint64_t off, uint32_t size,
		  void *data)
{
	return fake_submit(id, type, off, size, 0, data, TIMEOUT_MS);
}

/* ------------------------------------------------------------------------- */
/* Clients */

static bool exercise_every_type(uint64_t id)
{
	static char out[8192], in[8192];
	char arg[16] = "to the driver!!";
	int value = 41, err;
	bool ok = true;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 3);
	ok &= check(submit(id, KBDUS_REQ_WRITE, 4096, 8192, out) == 0, "write");
	ok &= check(submit(id, KBDUS_REQ_READ, 4096, 8192, in) == 0, "read");
	ok &= check(memcmp(in, out, sizeof(in)) == 0, "read back other data");
	ok &= check(submit(id, KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP, 4096, 512,
			   NULL) == 0, "write zeros");
	ok &= check(submit(id, KBDUS_REQ_READ, 4096, 512, in) == 0 &&
			    in[0] == 0 && in[511] == 0,
		    "zeros not read back");
	ok &= check(submit(id, KBDUS_REQ_FUA_WRITE, 0, 512, out) == 0, "fua");
	ok &= check(submit(id, KBDUS_REQ_FLUSH, 0, 0, NULL) == 0, "flush");
	ok &= check(submit(id, KBDUS_REQ_DISCARD, 0, 4096, NULL) == 0,
		    "discard");
	ok &= check(submit(id, KBDUS_REQ_SECURE_ERASE, 0, 4096, NULL) == 0,
		    "secure erase");
	ok &= check(fake_submit(id, KBDUS_REQ_IOCTL, 0, 16, TEST_IOR, arg,
				TIMEOUT_MS) == 0 &&
			    strcmp(arg, "from the driver") == 0,
		    "_IOR ioctl: got \"%.16s\"", arg);
	memcpy(arg, "to the driver!!", 16);
	ok &= check(fake_submit(id, KBDUS_REQ_IOCTL, 0, 16, TEST_IOW, arg,
				TIMEOUT_MS) == 0,
		    "_IOW ioctl");
	ok &= check(fake_submit(id, KBDUS_REQ_IOCTL, 0, sizeof(value),
				TEST_IOWR, &value, TIMEOUT_MS) == 0 &&
			    value == 42,
		    "_IOWR ioctl: got %d", value);
	ok &= check(fake_submit(id, KBDUS_REQ_IOCTL, 0, 0, TEST_IO_FAIL, NULL,
				TIMEOUT_MS) == EPERM,
		    "ioctl errno not passed through");
	ok &= check(fake_submit(id, KBDUS_REQ_IOCTL, 0, 0, TEST_IO_DESTROY_SELF,
				NULL, TIMEOUT_MS) == EDEADLK,
		    "a callback could destroy its own device");
	/* One thread: the flush would wait for it.  Several: another serves
	 * it (here, the fake has no block special file to fsync). */
	err = fake_submit(id, KBDUS_REQ_IOCTL, 0, 0, TEST_IO_FLUSH_SELF, NULL,
			  TIMEOUT_MS);
	ok &= check(drv.workers <= 1 ? err == EDEADLK : err != EDEADLK,
		    "flush from a callback with %u threads: errno %d",
		    drv.workers, err);
	fake_destroy(id);
	return ok;
}

static bool destroy_at_once(uint64_t id)
{
	fake_destroy(id);
	return true;
}

static bool check_errno_mapping(uint64_t id)
{
	char buf[512] = { 0 };
	bool ok = true;

	drv.write_result = ENOSPC;
	ok &= check(submit(id, KBDUS_REQ_WRITE, 0, 512, buf) == ENOSPC,
		    "ENOSPC not kept");
	drv.write_result = ETIMEDOUT;
	ok &= check(submit(id, KBDUS_REQ_WRITE, 0, 512, buf) == ETIMEDOUT,
		    "ETIMEDOUT not kept");
	drv.write_result = EPERM;
	ok &= check(submit(id, KBDUS_REQ_WRITE, 0, 512, buf) == EIO,
		    "EPERM not turned into EIO");
	drv.write_result = -5;
	ok &= check(submit(id, KBDUS_REQ_WRITE, 0, 512, buf) == EIO,
		    "a negative value not turned into EIO");
	fake_destroy(id);
	return ok;
}

/* Many requests at once, each read taking a while. */
static bool parallel_reads(uint64_t id)
{
	static char bufs[32][4096];
	int slots[32];
	bool ok = true;

	drv.read_delay_ms = 20;
	for (int i = 0; i < 32; i++)
		slots[i] = fake_start(id, KBDUS_REQ_READ, (uint64_t)i * 4096,
				      4096, 0, NULL);
	for (int i = 0; i < 32; i++)
		ok &= check(fake_wait_reply(id, slots[i], bufs[i],
					    TIMEOUT_MS) == 0,
			    "read %d failed", i);
	fake_destroy(id);
	return ok;
}

static bool read_then_abort(uint64_t id)
{
	static char bufs[8][4096];
	int slots[8];

	drv.read_delay_ms = 5;
	for (int i = 0; i < 8; i++)
		slots[i] = fake_start(id, KBDUS_REQ_READ, 0, 4096, 0, NULL);
	for (int i = 0; i < 4; i++)
		fake_wait_reply(id, slots[i], bufs[i], TIMEOUT_MS);
	drv.read_result = bdus_abort;
	fake_start(id, KBDUS_REQ_READ, 0, 4096, 0, NULL);
	return true;
}

/* A read before the device is announced runs on the calling thread. */
static bool read_before_available(uint64_t id)
{
	char buf[512];
	bool ok = check(submit(id, KBDUS_REQ_READ, 0, 512, buf) == 0,
			"early read failed");

	ok &= check(!atomic_load(&drv.off_main_thread),
		    "the early read ran off the calling thread");
	fake_announce(id);
	usleep(50 * 1000);
	ok &= check(submit(id, KBDUS_REQ_READ, 0, 512, buf) == 0,
		    "late read failed");
	fake_destroy(id);
	return ok;
}

static bool stale_reply(uint64_t id)
{
	char buf[4096];
	int slot;
	bool ok;

	drv.read_delay_ms = 100;
	slot = fake_start(id, KBDUS_REQ_READ, 0, 4096, 0, NULL);
	usleep(30 * 1000); /* delivered, the driver is in its callback */
	ok = check(fake_requeue_delivered(id), "nothing was delivered");
	ok &= check(fake_wait_reply(id, slot, buf, TIMEOUT_MS) == 0,
		    "the requeued read never completed");
	fake_destroy(id);
	return ok;
}

/* ------------------------------------------------------------------------- */
/* Tests */

static void test_every_type(const char *name, uint32_t protocol,
			    uint32_t expected_protocol, unsigned workers)
{
	struct bdus_attrs attrs = default_attrs();
	struct bdus_ext_attrs ext = { .protocol = protocol };
	bool ok;

	reset_driver();
	attrs.max_concurrent_callbacks = workers;
	drv.workers = workers;
	ok = run_with_client(&full_ops, &attrs, &ext, exercise_every_type,
			     NULL);
	check(ok, "bdus_run failed: %s", bdus_get_error_message());
	check(drv.seen_protocol == expected_protocol,
	      "protocol %u used, expected %u", drv.seen_protocol,
	      expected_protocol);
	check(drv.terminated, "terminate was not called");
	check(memcmp(drv.ioctl_value, "to the driver!!", 16) == 0,
	      "the _IOW argument did not reach the driver");
	if (workers <= 1)
		check(!drv.off_main_thread,
		      "a callback ran off the calling thread");
	report(name);
}

static bool exercise_ioctl_v01(uint64_t id)
{
	char arg[16] = "to the driver!!";
	int value = 41;
	bool ok = true;

	ok &= check(fake_device_flags(id) & KBDUS_CONFIG_IOCTL_DIR_V01,
		    "kbdus was not told of 0.1's convention");
	ok &= check(fake_submit(id, KBDUS_REQ_IOCTL, 0, 16, TEST_IOR, arg,
				TIMEOUT_MS) == 0 &&
			    memcmp(arg, "to the driver!!", 16) == 0,
		    "0.1 _IOR: the caller got \"%.16s\" back", arg);
	memcpy(arg, "not for driver!", 16);
	ok &= check(fake_submit(id, KBDUS_REQ_IOCTL, 0, 16, TEST_IOW, arg,
				TIMEOUT_MS) == 0 &&
			    memcmp(arg, "from the driver", 16) == 0,
		    "0.1 _IOW: the caller got \"%.16s\"", arg);
	ok &= check(fake_submit(id, KBDUS_REQ_IOCTL, 0, sizeof(value),
				TEST_IOWR, &value, TIMEOUT_MS) == 0 &&
			    value == 42,
		    "0.1 _IOWR: got %d", value);
	fake_destroy(id);
	return ok;
}

/* A driver that enters through bdus_run() gets 0.1.x's ioctl directions,
 * and kbdus is told so (KBDUS_CONFIG_IOCTL_DIR_V01). */
static void test_ioctl_v01(void)
{
	struct bdus_ops ops = { .ioctl = do_ioctl_v01 };
	struct bdus_attrs attrs = default_attrs();

	reset_driver();
	check(run_with_client_api(&ops, &attrs, NULL, exercise_ioctl_v01,
				  NULL, true),
	      "bdus_run failed: %s", bdus_get_error_message());
	check(memcmp(drv.ioctl_value, "to the driver!!", 16) == 0,
	      "the 0.1 _IOR argument did not reach the driver");
	report("bdus_run gives ioctl callbacks 0.1.x's directions");
}

static void test_fallbacks(void)
{
	struct bdus_attrs attrs = default_attrs();
	struct fake_options options = { .no_mmap_protocol = true };
	uint64_t before;

	reset_driver();
	fake_set_options(&options);
	check(run_with_client(&full_ops, &attrs, NULL, destroy_at_once, NULL),
	      "bdus_run failed: %s", bdus_get_error_message());
	check(drv.seen_protocol == BDUS_PROTOCOL_IOCTL,
	      "no fallback to ioctl when kbdus lacks mmap");
	report("default protocol falls back to ioctl without mmap support");

	reset_driver();
	options = (struct fake_options){ .fail_mmap = true };
	fake_set_options(&options);
	before = fake_devices_created();
	/* The first device is destroyed, the second is the one served. */
	{
		struct client client = { .id = before + 1,
					 .fn = destroy_at_once };
		pthread_t thread;

		pthread_create(&thread, NULL, client_main, &client);
		check(bdus_run(&full_ops, &attrs, NULL), "bdus_run failed: %s",
		      bdus_get_error_message());
		pthread_join(thread, NULL);
	}
	check(drv.seen_protocol == BDUS_PROTOCOL_IOCTL,
	      "no fallback to ioctl when mmap() fails");
	check(fake_state(before) == 0, "the first device was not destroyed");
	report("default protocol falls back to ioctl when mmap() fails");

	reset_driver();
	before = fake_devices_created();
	{
		struct bdus_ext_attrs ext = { .protocol = BDUS_PROTOCOL_MMAP };

		check(!bdus_run_ext(&full_ops, &attrs, &ext, NULL) &&
			      errno == ENOMEM,
		      "explicit mmap did not fail with ENOMEM");
		check(strstr(bdus_get_error_message(), "map") != NULL,
		      "unexpected message: %s", bdus_get_error_message());
	}
	check(fake_state(before) == 0, "the device was left behind");
	report("explicit mmap protocol does not fall back");

	/* The fake has no io_uring side: it refuses uring like an older
	 * kbdus would. */
	reset_driver();
	before = fake_devices_created();
	{
		struct bdus_ext_attrs ext = { .protocol = BDUS_PROTOCOL_URING };

		check(!bdus_run_ext(&full_ops, &attrs, &ext, NULL) &&
			      errno == ENOPROTOOPT,
		      "explicit uring did not fail with ENOPROTOOPT");
		check(strstr(bdus_get_error_message(),
			     "does not support the uring protocol") != NULL,
		      "unexpected message: %s", bdus_get_error_message());
	}
	check(fake_devices_created() == before, "a device was created");
	report("explicit uring protocol on a kbdus without it fails");

	options = (struct fake_options){ 0 };
	fake_set_options(&options);
}

static void test_workers(void)
{
	struct bdus_attrs attrs = default_attrs();
	uint64_t id;

	reset_driver();
	attrs.max_concurrent_callbacks = 4;
	check(run_with_client(&full_ops, &attrs, NULL, parallel_reads, &id),
	      "bdus_run failed: %s", bdus_get_error_message());
	check(drv.max_in_flight > 1 && drv.max_in_flight <= 4,
	      "%d callbacks ran at once, expected 2 to 4", drv.max_in_flight);
	check(drv.off_main_thread, "callbacks ran on the calling thread");
	report("4 worker threads serve requests concurrently");
}

static void test_abort(unsigned workers, const char *name)
{
	struct bdus_attrs attrs = default_attrs();
	bool ok;

	reset_driver();
	attrs.max_concurrent_callbacks = workers;
	ok = run_with_client(&full_ops, &attrs, NULL, read_then_abort, NULL);
	check(!ok && errno == EIO, "bdus_run did not fail with EIO");
	/* BDUS 0.1.2's message starts it: scripts may match that. */
	check(strncmp(bdus_get_error_message(), "Driver aborted: ", 16) == 0 &&
		      strstr(bdus_get_error_message(), "bdus_abort") != NULL,
	      "unexpected message: %s", bdus_get_error_message());
	check(drv.terminated, "terminate was not called");
	report(name);
}

static void test_errno_mapping(void)
{
	struct bdus_attrs attrs = default_attrs();

	reset_driver();
	check(run_with_client(&full_ops, &attrs, NULL, check_errno_mapping,
			      NULL),
	      "bdus_run failed: %s", bdus_get_error_message());
	report("callback errors map to ENOSPC, ETIMEDOUT or EIO");
}

static void test_early_requests(void)
{
	struct bdus_attrs attrs = default_attrs();
	struct fake_options options = { .manual_announce = true };

	reset_driver();
	fake_set_options(&options);
	attrs.max_concurrent_callbacks = 4;
	check(run_with_client(&full_ops, &attrs, NULL, read_before_available,
			      NULL),
	      "bdus_run failed: %s", bdus_get_error_message());
	options.manual_announce = false;
	fake_set_options(&options);
	report("requests before the device is available are served");
}

static void test_stale_reply(void)
{
	struct bdus_attrs attrs = default_attrs();

	reset_driver();
	check(run_with_client(&full_ops, &attrs, NULL, stale_reply, NULL),
	      "bdus_run failed: %s", bdus_get_error_message());
	report("a reply to a requeued request is dropped, not fatal");
}

static void test_initialize_failure(void)
{
	struct bdus_attrs attrs = default_attrs();
	uint64_t id = fake_devices_created();

	reset_driver();
	drv.initialize_result = ENOMEM;
	attrs.recoverable = true;
	check(!bdus_run(&full_ops, &attrs, NULL) && errno == ENOMEM,
	      "bdus_run did not fail with ENOMEM");
	check(strstr(bdus_get_error_message(), "initialize") != NULL,
	      "unexpected message: %s", bdus_get_error_message());
	check(!drv.terminated, "terminate was called");
	check(fake_state(id) == 0, "the device was left behind");
	report("a failing initialize destroys the new device");
}

static void test_version_mismatch(void)
{
	struct bdus_attrs attrs = default_attrs();
	struct fake_options options = { .version_patch = 2 };

	fake_set_options(&options);
	check(!bdus_run(&full_ops, &attrs, NULL) && errno == ENOTSUP,
	      "bdus_run did not fail with ENOTSUP");
	check(strstr(bdus_get_error_message(), "kbdus 0.1.2") != NULL,
	      "unexpected message: %s", bdus_get_error_message());
	options.version_patch = 0;
	fake_set_options(&options);
	report("an older kbdus is refused");
}

/* A recoverable device whose driver aborted is taken over by bdus_rerun(). */
static uint64_t rerun_id;

static void *rerun_client(void *arg)
{
	char buf[512];
	bool *ok = arg;

	*ok = fake_wait_for_session(rerun_id, TIMEOUT_MS) &&
	      submit(rerun_id, KBDUS_REQ_READ, 0, 512, buf) == 0;
	fake_destroy(rerun_id);
	return NULL;
}

static void test_rerun(void)
{
	struct bdus_attrs attrs = default_attrs();
	struct bdus_ops ops = full_ops;
	pthread_t thread;
	bool client_ok = false;

	reset_driver();
	attrs.recoverable = true;
	check(!run_with_client(&full_ops, &attrs, NULL, read_then_abort,
			       &rerun_id),
	      "the first driver did not abort");
	check(fake_state(rerun_id) == KBDUS_STATE_INACTIVE,
	      "the device is not waiting for a new driver");

	attrs = (struct bdus_attrs){ .size = 4096, .dont_daemonize = true };
	check(!bdus_rerun(rerun_id, &full_ops, &attrs, NULL) &&
		      errno == EINVAL &&
		      strstr(bdus_get_error_message(), "size") != NULL,
	      "a wrong size was accepted: %s", bdus_get_error_message());
	ops.discard = NULL;
	attrs.size = 0;
	check(!bdus_rerun(rerun_id, &ops, &attrs, NULL) && errno == EINVAL &&
		      strstr(bdus_get_error_message(), "discard") != NULL,
	      "a missing discard callback was accepted: %s",
	      bdus_get_error_message());
	/* Made by bdus_run_ext(), with ioctls: Linux's convention, so not
	 * for a 0.1 driver. */
	check(!bdus_rerun(rerun_id, &full_ops, &attrs, NULL) &&
		      errno == EINVAL &&
		      strstr(bdus_get_error_message(), "bdus_rerun_ext()"),
	      "a 0.1 driver took over a device with Linux's ioctls: %s",
	      bdus_get_error_message());
	check(fake_state(rerun_id) == KBDUS_STATE_INACTIVE,
	      "a refused rerun changed the device");

	reset_driver();
	pthread_create(&thread, NULL, rerun_client, &client_ok);
	check(bdus_rerun_ext(rerun_id, &full_ops, &attrs, NULL, NULL),
	      "bdus_rerun_ext failed: %s", bdus_get_error_message());
	pthread_join(thread, NULL);
	check(client_ok, "the new driver did not serve requests");
	check(drv.calls >= 2, "the aborted request was not served again");
	report("bdus_rerun_ext validates and takes over a recoverable device");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_every_type("every request type, ioctl protocol",
			BDUS_PROTOCOL_IOCTL, BDUS_PROTOCOL_IOCTL, 1);
	test_every_type("every request type, mmap protocol",
			BDUS_PROTOCOL_MMAP, BDUS_PROTOCOL_MMAP, 1);
	test_every_type("every request type, default protocol falls back "
			"from uring to mmap",
			BDUS_PROTOCOL_DEFAULT, BDUS_PROTOCOL_MMAP, 1);
	test_every_type("every request type, ioctl protocol, 3 workers",
			BDUS_PROTOCOL_IOCTL, BDUS_PROTOCOL_IOCTL, 3);
	test_every_type("every request type, mmap protocol, 3 workers",
			BDUS_PROTOCOL_MMAP, BDUS_PROTOCOL_MMAP, 3);
	test_ioctl_v01();
	test_fallbacks();
	test_workers();
	test_abort(1, "bdus_abort stops a single-threaded driver");
	test_abort(4, "bdus_abort stops every worker thread");
	test_errno_mapping();
	test_early_requests();
	test_stale_reply();
	test_initialize_failure();
	test_version_mismatch();
	test_rerun();

	return failed ? 1 : 0;
}
