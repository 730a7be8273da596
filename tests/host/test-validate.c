// SPDX-License-Identifier: MIT
/*
 * test-validate.c - libbdus refuses invalid attributes and callbacks with a
 * message naming the field and the rule, before it opens the control
 * device.  This program's open() stands in for libc's: it counts attempts
 * to open /dev/bdus-control and fails them with ENOENT, as on a machine
 * without kbdus.  Prints "PASS name" or "FAIL name: reason".
 */

#include <bdus.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

static int passed, failed;

static void result(const char *name, bool ok, const char *fmt, ...)
{
	va_list args;

	if (ok) {
		printf("PASS %s\n", name);
		passed++;
		return;
	}
	printf("FAIL %s: ", name);
	va_start(args, fmt);
	vprintf(fmt, args);
	va_end(args);
	putchar('\n');
	failed++;
}

static int noop_read(char *b, uint64_t o, uint32_t s, struct bdus_ctx *c)
{
	(void)b, (void)o, (void)s, (void)c;
	return 0;
}

static void *any_alloc_buffers(size_t size, struct bdus_ctx *ctx)
{
	(void)size, (void)ctx;
	return NULL;
}

static void any_free_buffers(void *buffers, size_t size, struct bdus_ctx *ctx)
{
	(void)buffers, (void)size, (void)ctx;
}

static int noop_write(const char *b, uint64_t o, uint32_t s,
		      struct bdus_ctx *c)
{
	(void)b, (void)o, (void)s, (void)c;
	return 0;
}

static int noop_read_ref(const char **d, uint64_t o, uint32_t s,
			 struct bdus_ctx *c)
{
	(void)d, (void)o, (void)s, (void)c;
	return 0;
}

static int noop_write_ref(char **d, uint64_t o, uint32_t s,
			  struct bdus_ctx *c)
{
	(void)d, (void)o, (void)s, (void)c;
	return 0;
}

static const struct bdus_ops read_only_ops = { .read = noop_read };

static struct bdus_attrs valid_attrs(void)
{
	struct bdus_attrs attrs = {
		.logical_block_size = 512,
		.size = 1 << 20,
		.dont_daemonize = true,
	};
	return attrs;
}

/* Expects bdus_run_ext() to fail with errnum and a message containing
 * expected, without touching the control device. */
static void expect_refusal(const char *name, const struct bdus_ops *ops,
			   const struct bdus_attrs *attrs,
			   const struct bdus_ext_attrs *ext, int errnum,
			   const char *expected)
{
	int opens = control_opens;
	bool ok;

	errno = 0;
	ok = bdus_run_ext(ops, attrs, ext, NULL);
	result(name,
	       !ok && errno == errnum &&
		       strstr(bdus_get_error_message(), expected) &&
		       control_opens == opens,
	       "returned %d, errno %d, %d control opens, message \"%s\"", ok,
	       errno, control_opens - opens, bdus_get_error_message());
}

static void attrs_case(const char *name, struct bdus_attrs attrs,
		       const char *expected)
{
	expect_refusal(name, &read_only_ops, &attrs, NULL, EINVAL, expected);
}

static void ext_case(const char *name, struct bdus_ext_attrs ext,
		     const char *expected)
{
	struct bdus_attrs attrs = valid_attrs();

	expect_refusal(name, &read_only_ops, &attrs, &ext, EINVAL, expected);
}

static void test_attrs(void)
{
	static const char lbs_rule[] = "logical_block_size must be a power of "
				       "two between 512 and the page size";
	static const char pbs_rule[] = "physical_block_size must be 0 or a "
				       "power of two between logical_block_size";
	struct bdus_attrs a;

	a = valid_attrs(), a.logical_block_size = 0;
	attrs_case("logical_block_size 0 is refused", a, lbs_rule);
	a = valid_attrs(), a.logical_block_size = 1000;
	attrs_case("logical_block_size 1000 is refused", a, lbs_rule);
	a = valid_attrs(), a.logical_block_size = 256;
	attrs_case("logical_block_size 256 is refused", a, lbs_rule);
	a = valid_attrs(), a.logical_block_size = 1 << 20;
	attrs_case("logical_block_size above the page size is refused", a,
		   lbs_rule);
	a = valid_attrs(), a.physical_block_size = 1536;
	attrs_case("physical_block_size 1536 is refused", a, pbs_rule);
	a = valid_attrs(), a.logical_block_size = 1024,
	a.physical_block_size = 512;
	attrs_case("physical_block_size below logical is refused", a,
		   pbs_rule);
	a = valid_attrs(), a.size = 0;
	attrs_case("size 0 is refused", a,
		   "size must be a positive multiple of physical_block_size");
	a = valid_attrs(), a.physical_block_size = 4096, a.size = 6144;
	attrs_case("size not a multiple of physical_block_size is refused", a,
		   "physical_block_size (4096), got 6144");
	a = valid_attrs(), a.size = (uint64_t)1 << 63;
	attrs_case("size above 2^63 - 1 is refused", a, "size must be at most");
	a = valid_attrs(), a.max_read_write_size = 1024;
	attrs_case("max_read_write_size below the page size is refused", a,
		   "max_read_write_size must be 0 or at least the page size");
	a = valid_attrs(), a.max_write_same_size = 100;
	attrs_case("max_write_same_size below the block size is refused", a,
		   "max_write_same_size must be 0 or at least "
		   "logical_block_size (512)");
	a = valid_attrs(), a.max_write_zeros_size = 100;
	attrs_case("max_write_zeros_size below the block size is refused", a,
		   "max_write_zeros_size must be 0 or at least");
	a = valid_attrs(), a.max_discard_erase_size = 511;
	attrs_case("max_discard_erase_size below the block size is refused",
		   a, "max_discard_erase_size must be 0 or at least");
}

static void test_ops(void)
{
	struct bdus_attrs attrs = valid_attrs();
	struct bdus_ops ops = { .fua_write = noop_write };

	expect_refusal("fua_write without flush is refused", &ops, &attrs,
		       NULL, EINVAL,
		       "the fua_write callback requires the flush callback");
	expect_refusal("NULL ops are refused", NULL, &attrs, NULL, EINVAL,
		       "ops must not be NULL");
	expect_refusal("NULL attrs are refused", &read_only_ops, NULL, NULL,
		       EINVAL, "attrs must not be NULL");

	errno = 0;
	result("bdus_rerun checks callbacks before opening the control device",
	       !bdus_rerun(3, &ops, &attrs, NULL) && errno == EINVAL &&
		       control_opens == 0,
	       "errno %d, message \"%s\"", errno, bdus_get_error_message());
}

static void test_ext(void)
{
	struct bdus_ext_attrs ext;
	struct {
		struct bdus_ext_attrs ext;
		uint32_t future_field;
	} newer = { .future_field = 1 };
	struct bdus_attrs attrs = valid_attrs();

	ext = (struct bdus_ext_attrs){ .protocol = 4 };
	ext_case("ext protocol 4 is refused", ext,
		 "ext protocol must be BDUS_PROTOCOL_DEFAULT, _IOCTL, _MMAP or "
		 "_URING, got 4");
	ext = (struct bdus_ext_attrs){ .num_queues = 65 };
	ext_case("ext num_queues 65 is refused", ext,
		 "ext num_queues must be between 0 (default) and 64, got 65");
	ext = (struct bdus_ext_attrs){ .queue_depth = 1025 };
	ext_case("ext queue_depth 1025 is refused", ext,
		 "ext queue_depth must be between 0 (default) and 1024");
	ext = (struct bdus_ext_attrs){ .request_timeout_ms = 99 };
	ext_case("ext request_timeout_ms 99 is refused", ext,
		 "ext request_timeout_ms must be 0 (default) or between 100");
	ext = (struct bdus_ext_attrs){ .flags = 1u << 7 };
	ext_case("unknown ext flags are refused", ext,
		 "ext flags has unknown bits 0x80");
	ext = (struct bdus_ext_attrs){ .poll_us = 100001 };
	ext_case("ext poll_us 100001 is refused", ext,
		 "ext poll_us must be between 0 (no polling) and 100000, "
		 "got 100001");
	ext = (struct bdus_ext_attrs){ .protocol = BDUS_PROTOCOL_IOCTL,
				       .poll_us = 10 };
	ext_case("ext poll_us with the ioctl protocol is refused", ext,
		 "ext poll_us needs the uring protocol (or the default), "
		 "not ioctl");
	ext = (struct bdus_ext_attrs){ .protocol = BDUS_PROTOCOL_MMAP,
				       .poll_us = 10 };
	ext_case("ext poll_us with the mmap protocol is refused", ext,
		 "ext poll_us needs the uring protocol (or the default), "
		 "not mmap");

	ext = (struct bdus_ext_attrs){ .reserved0 = 1 };
	ext_case("ext reserved0 must be zero", ext,
		 "ext reserved0 must be zero");
	ext = (struct bdus_ext_attrs){ .alloc_buffers = any_alloc_buffers };
	ext_case("ext alloc_buffers without free_buffers is refused", ext,
		 "ext alloc_buffers is set without free_buffers");
	ext = (struct bdus_ext_attrs){ .free_buffers = any_free_buffers };
	ext_case("ext free_buffers without alloc_buffers is refused", ext,
		 "ext free_buffers is set without alloc_buffers");
	{
		static const struct bdus_ops write_only_ops = {
			.write = noop_write,
		};
		struct bdus_attrs a = valid_attrs();

		ext = (struct bdus_ext_attrs){ .read_ref = noop_read_ref };
		expect_refusal("ext read_ref without ops->read is refused",
			       &write_only_ops, &a, &ext, EINVAL,
			       "ext read_ref needs ops->read too");
	}
	{
		struct bdus_attrs a = valid_attrs();

		ext = (struct bdus_ext_attrs){ .write_ref = noop_write_ref };
		expect_refusal("ext write_ref without ops->write is refused",
			       &read_only_ops, &a, &ext, EINVAL,
			       "ext write_ref needs ops->write too");
	}

	errno = 0;
	result("ext fields from a newer bdus.h are refused when set",
	       !bdus_run_ext_sized(&read_only_ops, &attrs, &newer.ext,
				   sizeof(newer), NULL) &&
		       errno == E2BIG &&
		       strstr(bdus_get_error_message(), "newer bdus.h"),
	       "errno %d, message \"%s\"", errno, bdus_get_error_message());
}

static int noop_discard(uint64_t o, uint32_t s, struct bdus_ctx *c)
{
	(void)o, (void)s, (void)c;
	return 0;
}

static int noop_zone_manage(uint32_t op, uint64_t o, struct bdus_ctx *c)
{
	(void)op, (void)o, (void)c;
	return 0;
}

static int noop_zone_append(const char *b, uint64_t zo, uint32_t s,
			    uint64_t *o, struct bdus_ctx *c)
{
	(void)b, (void)zo, (void)s, (void)o, (void)c;
	return 0;
}

static int noop_report_zones(struct bdus_zone *z, uint64_t o, uint32_t n,
			     struct bdus_ctx *c)
{
	(void)z, (void)o, (void)n, (void)c;
	return 0;
}

/* 1 MiB of 64 KiB zones, with every zone callback. */
static struct bdus_ext_attrs zoned_ext(void)
{
	struct bdus_ext_attrs ext = {
		.zone_size = 64 << 10,
		.zone_manage = noop_zone_manage,
		.zone_append = noop_zone_append,
		.report_zones = noop_report_zones,
	};
	return ext;
}

static void zoned_case(const char *name, struct bdus_ext_attrs ext,
		       struct bdus_attrs attrs, const char *expected)
{
	static const struct bdus_ops rw_ops = { .read = noop_read,
						.write = noop_write };

	expect_refusal(name, &rw_ops, &attrs, &ext, EINVAL, expected);
}

/* Every bad zoned configuration is refused before kbdus, naming the
 * attribute. */
static void test_zoned(void)
{
	struct bdus_attrs attrs = valid_attrs();
	struct bdus_ext_attrs ext;

	ext = (struct bdus_ext_attrs){ .max_open_zones = 2 };
	zoned_case("zoned attributes without zone_size are refused", ext, attrs,
		   "ext max_open_zones is set but zone_size is 0");
	ext = (struct bdus_ext_attrs){ .report_zones = noop_report_zones };
	zoned_case("zone callbacks without zone_size are refused", ext, attrs,
		   "ext report_zones is set but zone_size is 0");
	ext = zoned_ext();
	ext.zone_size = 3 << 16;
	zoned_case("a zone size that is not a power of two is refused", ext,
		   attrs, "ext zone_size must be a power of two of at least 4096");
	ext = zoned_ext();
	ext.zone_size = 2048;
	zoned_case("a zone size under 4096 is refused", ext, attrs,
		   "ext zone_size must be a power of two of at least 4096");
	ext = zoned_ext();
	attrs.size = 5 << 15;
	zoned_case("zones that do not divide the size are refused", ext, attrs,
		   "ext zone_size (65536) must divide the size (163840 bytes)");
	attrs = valid_attrs();
	ext = zoned_ext();
	ext.num_conventional_zones = 16;
	zoned_case("all zones conventional is refused", ext, attrs,
		   "ext num_conventional_zones (16) must be fewer than the 16 "
		   "zones");
	ext = zoned_ext();
	ext.num_conventional_zones = 4;
	ext.max_open_zones = 13;
	zoned_case("an open limit above the sequential zones is refused", ext,
		   attrs,
		   "ext max_open_zones (13) must be at most the 12 sequential "
		   "zones");
	ext = zoned_ext();
	ext.max_active_zones = 17;
	zoned_case("an active limit above the zones is refused", ext, attrs,
		   "ext max_active_zones (17) must be at most the 16 sequential "
		   "zones");
	ext = zoned_ext();
	ext.max_open_zones = 4;
	ext.max_active_zones = 3;
	zoned_case("more open than active zones is refused", ext, attrs,
		   "ext max_open_zones (4) must not exceed max_active_zones (3)");
	ext = zoned_ext();
	ext.max_zone_append_size = 1000;
	zoned_case("an append size that is not in blocks is refused", ext,
		   attrs, "ext max_zone_append_size (1000) must be a multiple");
	ext = zoned_ext();
	ext.zone_append = NULL;
	zoned_case("zoned without zone_append is refused", ext, attrs,
		   "a zoned device needs ext zone_append");
	ext = zoned_ext();
	expect_refusal("zoned without ops->write is refused", &read_only_ops,
		       &attrs, &ext, EINVAL,
		       "a zoned device needs ops->write");
	{
		static const struct bdus_ops discard_ops = {
			.read = noop_read,
			.write = noop_write,
			.discard = noop_discard,
		};

		expect_refusal("zoned with a discard callback is refused",
			       &discard_ops, &attrs, &ext, EINVAL,
			       "a zoned device cannot have ops->discard");
	}
	{
		static const struct bdus_ops zoned_ops = {
			.read = noop_read,
			.write = noop_write,
		};
		int opens = control_opens;

		/* It passes every check, so it gets as far as the control
		 * device, which these tests do not have. */
		attrs.recoverable = true;
		errno = 0;
		result("a recoverable zoned device is accepted",
		       !bdus_run_ext(&zoned_ops, &attrs, &ext, NULL) &&
			       errno == ENOENT && control_opens > opens,
		       "errno %d, message \"%s\"", errno,
		       bdus_get_error_message());
	}
}

static void test_control_device_missing(void)
{
	struct bdus_attrs attrs = valid_attrs();
	struct bdus_version version;
	int opens = control_opens;

	/* As root, libbdus tries modprobe kbdus and opens it again. */
	errno = 0;
	result("valid attributes reach the control device",
	       !bdus_run(&read_only_ops, &attrs, NULL) && errno == ENOENT &&
		       control_opens - opens == (geteuid() == 0 ? 2 : 1) &&
		       strstr(bdus_get_error_message(), "kbdus is not loaded"),
	       "errno %d, %d opens, message \"%s\"", errno,
	       control_opens - opens, bdus_get_error_message());

	errno = 0;
	result("bdus_get_kbdus_version fails without kbdus",
	       !bdus_get_kbdus_version(&version) && errno == ENOENT,
	       "errno %d", errno);
	result("bdus_destroy_dev fails without kbdus",
	       !bdus_destroy_dev(0) && errno == ENOENT, "errno %d", errno);
	result("bdus_flush_dev fails without kbdus",
	       !bdus_flush_dev(0) && errno == ENOENT, "errno %d", errno);
}

static void test_dev_id_from_path(void)
{
	uint64_t id = 42;

	errno = 0;
	result("bdus_get_dev_id_from_path: missing file",
	       !bdus_get_dev_id_from_path(&id, "/nonexistent/dev") &&
		       errno == ENOENT && id == 42 &&
		       strstr(bdus_get_error_message(), "/nonexistent/dev"),
	       "errno %d, message \"%s\"", errno, bdus_get_error_message());
	errno = 0;
	result("bdus_get_dev_id_from_path: not a block device",
	       !bdus_get_dev_id_from_path(&id, "/dev/null") &&
		       errno == ENOTBLK && id == 42,
	       "errno %d, message \"%s\"", errno, bdus_get_error_message());
}

static void *read_message(void *arg)
{
	*(const char **)arg = bdus_get_error_message();
	return NULL;
}

static void test_errors_and_versions(void)
{
	const struct bdus_version *v = bdus_get_libbdus_version();
	const char *other_thread_message = NULL;
	pthread_t thread;

	pthread_create(&thread, NULL, read_message, &other_thread_message);
	pthread_join(thread, NULL);
	result("error messages are per thread",
	       other_thread_message && other_thread_message[0] == '\0' &&
		       bdus_get_error_message()[0] != '\0',
	       "another thread saw \"%s\"", other_thread_message);

	result("libbdus version is 0.1.3",
	       v->major == 0 && v->minor == 1 && v->patch == 3,
	       "got %u.%u.%u", v->major, v->minor, v->patch);
	result("bdus_abort is INT_MIN", bdus_abort == INT_MIN, "it is %d",
	       (int)bdus_abort);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_attrs();
	test_ops();
	test_ext();
	test_zoned();
	test_control_device_missing();
	test_dev_id_from_path();
	test_errors_and_versions();
	return failed ? 1 : 0;
}
