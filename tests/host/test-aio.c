// SPDX-License-Identifier: MIT
/*
 * test-aio.c - the asynchronous API refuses bad arguments and calls from
 * the wrong thread with a clear error, before it touches kbdus.  As in
 * test-validate.c, this program's open() fails /dev/bdus-control with
 * ENOENT, so a device that passes every check fails there.  Prints "PASS
 * name" or "FAIL name: reason".
 */

#include <bdus-aio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int control_opens;

int open(const char *path, int flags, ...)
{
	int (*real_open)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
	mode_t mode = 0;
	va_list args;

	if (strcmp(path, "/dev/bdus-control") == 0) {
		control_opens++;
		errno = ENOENT;
		return -1;
	}
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(args, flags);
		mode = va_arg(args, mode_t);
		va_end(args);
	}
	return real_open(path, flags, mode);
}

static int failed;

static void result(const char *name, bool ok, const char *fmt, ...)
{
	va_list args;

	if (ok) {
		printf("PASS %s\n", name);
		return;
	}
	printf("FAIL %s: ", name);
	va_start(args, fmt);
	vprintf(fmt, args);
	va_end(args);
	putchar('\n');
	failed++;
}

static struct bdus_aio *aio;

static const struct bdus_attrs attrs = {
	.logical_block_size = 512,
	.size = 1 << 20,
};

/* Expects bdus_aio_create_dev() to fail with errnum and a message that
 * contains expected, and (unless opens) without opening the control
 * device. */
static void expect_dev_refusal(const char *name,
			       const struct bdus_attrs *a,
			       const struct bdus_ext_attrs *ext,
			       const struct bdus_aio_dev_attrs *dattrs,
			       int errnum, const char *expected, int opens)
{
	int before = control_opens;
	struct bdus_aio_dev *dev;

	errno = 0;
	dev = bdus_aio_create_dev(aio, a, ext, dattrs, NULL);
	result(name,
	       !dev && errno == errnum &&
		       strstr(bdus_get_error_message(), expected) &&
		       control_opens - before == opens,
	       "returned %p, errno %d, %d control opens, message \"%s\"",
	       (void *)dev, errno, control_opens - before,
	       bdus_get_error_message());
}

static void requests_case(const char *name, uint32_t requests,
			  const char *expected)
{
	struct bdus_aio_dev_attrs dattrs = { .requests = requests };

	expect_dev_refusal(name, &attrs, NULL, &dattrs, EINVAL, expected, 0);
}

static int any_read_ref(const char **d, uint64_t o, uint32_t s,
			struct bdus_ctx *c)
{
	(void)d, (void)o, (void)s, (void)c;
	return 0;
}

static int any_write_ref(char **d, uint64_t o, uint32_t s,
			 struct bdus_ctx *c)
{
	(void)d, (void)o, (void)s, (void)c;
	return 0;
}

static void test_devices(void)
{
	struct bdus_aio_dev_attrs dattrs = { .requests = BDUS_REQ_READ };
	struct bdus_ext_attrs ext = { .protocol = BDUS_PROTOCOL_IOCTL };
	struct bdus_attrs bad_attrs = attrs;

	expect_dev_refusal("NULL dattrs", &attrs, NULL, NULL, EINVAL,
			   "dattrs must not be NULL", 0);
	requests_case("no request type", 0, "at least one request type");
	requests_case("write-same", BDUS_REQ_READ | BDUS_REQ_WRITE_SAME,
		      "BDUS_REQ_WRITE_SAME cannot be served");
	requests_case("unknown request bits", BDUS_REQ_READ | (1u << 20),
		      "unknown request bits");
	requests_case("write-zeroes MAY_UNMAP alone",
		      BDUS_REQ_WRITE | BDUS_REQ_WRITE_ZEROS_MAY_UNMAP,
		      "needs BDUS_REQ_WRITE_ZEROS_NO_UNMAP");
	requests_case("FUA without FLUSH", BDUS_REQ_WRITE | BDUS_REQ_FUA_WRITE,
		      "requires the flush");
	dattrs.reserved[3] = 1;
	expect_dev_refusal("dattrs reserved field", &attrs, NULL, &dattrs,
			   EINVAL, "reserved must be zero", 0);
	dattrs.reserved[3] = 0;
	{
		/* Shared buffers need uring's FETCH without a buffer. */
		struct bdus_aio_attrs pool = { .shared_buffers = 4 };
		struct bdus_aio *plain = aio;

		aio = bdus_aio_create(&pool);
		expect_dev_refusal("ioctl protocol with shared buffers", &attrs,
				   &ext, &dattrs, EINVAL, "uring protocol only",
				   0);
		ext.protocol = BDUS_PROTOCOL_MMAP;
		expect_dev_refusal("mmap protocol with shared buffers", &attrs,
				   &ext, &dattrs, EINVAL, "uring protocol only",
				   0);
		bdus_aio_destroy(aio);
		aio = plain;
	}
	/* Without them it gets as far as the control device. */
	ext.protocol = BDUS_PROTOCOL_IOCTL;
	expect_dev_refusal("ioctl protocol reaches the control device", &attrs,
			   &ext, &dattrs, ENOENT, "kbdus is not loaded",
			   geteuid() == 0 ? 2 : 1);
	{
		struct bdus_ext_attrs ref = { .read_ref = any_read_ref };

		expect_dev_refusal("read_ref", &attrs, &ref, &dattrs, EINVAL,
				   "read_ref is for bdus_run_ext()", 0);
	}
	{
		struct bdus_ext_attrs ref = { .write_ref = any_write_ref };

		expect_dev_refusal("write_ref", &attrs, &ref, &dattrs, EINVAL,
				   "write_ref is for bdus_run_ext()", 0);
	}
	expect_dev_refusal("NULL attrs", NULL, NULL, &dattrs, EINVAL,
			   "attrs must not be NULL", 0);
	bad_attrs.logical_block_size = 100;
	expect_dev_refusal("bad logical block size", &bad_attrs, NULL, &dattrs,
			   EINVAL, "logical_block_size", 0);
	ext.protocol = BDUS_PROTOCOL_URING;
	ext.num_queues = 64;
	ext.queue_depth = 1024;
	expect_dev_refusal("more commands than the ring holds", &attrs, &ext,
			   &dattrs, ENOSPC, "room for", 0);
	/* Everything valid: it gets as far as the control device (as root,
	 * libbdus tries modprobe kbdus and opens it again). */
	expect_dev_refusal("a valid device reaches the control device", &attrs,
			   NULL, &dattrs, ENOENT, "kbdus is not loaded",
			   geteuid() == 0 ? 2 : 1);
}

static void *other_thread(void *arg)
{
	struct bdus_aio_event event;
	int *ret = arg;

	errno = 0;
	ret[0] = bdus_aio_process(aio) == -1 && errno == EPERM &&
		 strstr(bdus_get_error_message(), "thread that created");
	errno = 0;
	ret[1] = bdus_aio_get_events(aio, &event, 1) == 0 && errno == EPERM;
	bdus_aio_destroy(aio); /* does nothing off the owner */
	ret[2] = errno == EPERM;
	errno = 0;
	ret[3] = !bdus_aio_share_dev(aio, NULL, 0, 1, NULL) && errno == EPERM;
	return NULL;
}

static void test_threads(void)
{
	int ret[4] = { 0 };
	pthread_t thread;

	pthread_create(&thread, NULL, other_thread, ret);
	pthread_join(thread, NULL);
	result("bdus_aio_process() off the owner thread", ret[0],
	       "did not fail with EPERM");
	result("bdus_aio_get_events() off the owner thread", ret[1],
	       "did not fail with EPERM");
	result("bdus_aio_destroy() off the owner thread", ret[2],
	       "did not fail with EPERM");
	result("bdus_aio_share_dev() off the owner thread", ret[3],
	       "did not fail with EPERM");
	result("bdus_aio_process() with nothing to do", bdus_aio_process(aio) == 0,
	       "returned non-zero: %s", bdus_get_error_message());
}

static void test_share(void)
{
	struct bdus_aio_dev_attrs dattrs = { .requests = BDUS_REQ_READ };

	errno = 0;
	result("bdus_aio_share_dev(NULL)",
	       !bdus_aio_share_dev(aio, NULL, 0, 1, NULL) && errno == EINVAL &&
		       strstr(bdus_get_error_message(), "must not be NULL"),
	       "errno %d, message \"%s\"", errno, bdus_get_error_message());
	/* Not a live handle (one closed and freed, say): found to be none
	 * before it is read, so its bytes do not matter. */
	{
		static uint64_t stale[64];

		memset(stale, 0xff, sizeof(stale));
		errno = 0;
		result("bdus_aio_share_dev() of a handle that is not open",
		       !bdus_aio_share_dev(aio, (struct bdus_aio_dev *)stale, 0,
					   1, NULL) &&
			       errno == ESHUTDOWN,
		       "errno %d, message \"%s\"", errno,
		       bdus_get_error_message());
	}
	/* A part of the queues is valid: it gets as far as kbdus. */
	dattrs.first_queue = 1;
	dattrs.num_queues = 1;
	expect_dev_refusal("a device serving some of its queues reaches the "
			   "control device",
			   &attrs, NULL, &dattrs, ENOENT, "kbdus is not loaded",
			   geteuid() == 0 ? 2 : 1);
	/* Queues past ext->num_queues: refused before a device is made. */
	{
		struct bdus_ext_attrs two = { .num_queues = 2 };

		dattrs.first_queue = 2;
		dattrs.num_queues = 0;
		expect_dev_refusal("a first queue past ext->num_queues", &attrs,
				   &two, &dattrs, EINVAL,
				   "has 2 queues: there is no queue 2", 0);
		dattrs.first_queue = 1;
		dattrs.num_queues = 2;
		expect_dev_refusal("queues past ext->num_queues", &attrs, &two,
				   &dattrs, EINVAL, "are too many", 0);
	}
}

static void test_requests(void)
{
	errno = 0;
	result("bdus_aio_complete(NULL)",
	       bdus_aio_complete(NULL, 0) == -1 && errno == EINVAL,
	       "errno %d", errno);
	errno = 0;
	result("bdus_aio_complete() with a negative error",
	       bdus_aio_complete(NULL, -1) == -1 && errno == EINVAL &&
		       strstr(bdus_get_error_message(), "errno value"),
	       "errno %d, message \"%s\"", errno, bdus_get_error_message());
	errno = 0;
	result("bdus_aio_release(NULL)",
	       bdus_aio_release(NULL) == -1 && errno == EINVAL, "errno %d",
	       errno);
}

/* A context without io_uring: epoll to poll, ioctl and mmap only. */
static void test_no_ring(void)
{
	struct bdus_aio_attrs no_ring = { .flags = BDUS_AIO_NO_RING };
	struct bdus_aio_dev_attrs dattrs = { .requests = BDUS_REQ_READ };
	struct bdus_ext_attrs ext = { .protocol = BDUS_PROTOCOL_URING };
	struct bdus_aio *plain = aio;

	no_ring.shared_buffers = 4;
	errno = 0;
	result("BDUS_AIO_NO_RING with shared_buffers",
	       !bdus_aio_create(&no_ring) && errno == EINVAL &&
		       strstr(bdus_get_error_message(), "cannot go with"),
	       "errno %d, message \"%s\"", errno, bdus_get_error_message());
	no_ring.shared_buffers = 0;
	aio = bdus_aio_create(&no_ring);
	if (!aio) {
		result("BDUS_AIO_NO_RING context", false, "errno %d, \"%s\"",
		       errno, bdus_get_error_message());
		aio = plain;
		return;
	}
	result("BDUS_AIO_NO_RING: bdus_aio_get_fd() is an epoll fd",
	       bdus_aio_get_fd(aio) >= 0 &&
		       fcntl(bdus_aio_get_fd(aio), F_GETFD) >= 0,
	       "returned %d", bdus_aio_get_fd(aio));
	result("BDUS_AIO_NO_RING: bdus_aio_process() with nothing to do",
	       bdus_aio_process(aio) == 0, "errno %d", errno);
	expect_dev_refusal("BDUS_AIO_NO_RING: a uring device", &attrs, &ext,
			   &dattrs, EINVAL, "has no io_uring ring", 0);
	expect_dev_refusal("BDUS_AIO_NO_RING: the default protocol reaches "
			   "the control device",
			   &attrs, NULL, &dattrs, ENOENT, "kbdus is not loaded",
			   geteuid() == 0 ? 2 : 1);
	bdus_aio_destroy(aio);
	aio = plain;
}

int main(void)
{
	struct bdus_aio_attrs bad = { .flags = 1u << 7 };

	setvbuf(stdout, NULL, _IOLBF, 0);

	errno = 0;
	result("unknown context flags", !bdus_aio_create(&bad) && errno == EINVAL,
	       "errno %d", errno);
	bad.flags = 0;
	bad.reserved[2] = 7;
	errno = 0;
	result("context reserved field", !bdus_aio_create(&bad) && errno == EINVAL,
	       "errno %d", errno);

	test_no_ring();
	aio = bdus_aio_create(NULL);
	if (!aio) {
		result("bdus_aio_create()", false, "errno %d, message \"%s\"",
		       errno, bdus_get_error_message());
		return 1;
	}
	result("bdus_aio_get_fd()", bdus_aio_get_fd(aio) >= 0, "returned %d",
	       bdus_aio_get_fd(aio));
	test_devices();
	test_threads();
	test_share();
	test_requests();
	bdus_aio_destroy(aio);
	return failed ? 1 : 0;
}
