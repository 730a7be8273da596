// SPDX-License-Identifier: MIT
/*
 * bdus-test-driver.c - a memory-backed driver for VM tests that serves every
 * request type and can log, delay, fail or abort on demand.
 *
 * Usage: bdus-test-driver [options] SIZE
 *
 *   --trace FILE        append one line per callback to FILE, e.g.
 *                       "write 4096 8192", "write_zeros 0 512 unmap",
 *                       "ioctl 0x80406501", "flush", "terminate"
 *   --store FILE        keep the data in FILE (mapped shared), so that a
 *                       driver started with --rerun after a crash sees it
 *   --ops LIST          serve only these, comma-separated: read, write,
 *                       write_zeros, fua_write, flush, discard, secure_erase,
 *                       ioctl (default: all)
 *   --fail-writes ERR   fail write and fua_write with errno ERR (a number
 *                       or ENOSPC, ETIMEDOUT, ENOLINK, EIO, EPERM)
 *   --fail-initialize ERR
 *   --fail-flush ERR    fail flush with errno ERR
 *   --abort-after N     return bdus_abort from the Nth request on
 *   --delay-ms N        sleep N ms in every request callback
 *   --write-delay-ms N  sleep N ms more in write, fua_write and write_ref,
 *                       before the data is stored
 *   --read-ref good|bad|null
 *                       serve reads through ext read_ref (traced as
 *                       "read_ref OFFSET SIZE"), pointing at the data; for
 *                       the second MiB of the device, bad points at an
 *                       address that cannot be read and null returns 0
 *                       without setting *data
 *   --write-ref good|bad|null
 *                       serve writes through ext write_ref (traced as
 *                       "write_ref OFFSET SIZE"), pointing where the data
 *                       goes; bad and null as for --read-ref
 *   --passthrough FILE  register FILE (read-write, or read-only with
 *                       --passthrough-ro) and pass requests through to it
 *                       (traced as "passthrough TYPE OFFSET SIZE", TYPE a
 *                       BDUS_REQ_* bit), at the same offset, but those in
 *                       the first MiB, which the callbacks serve; for the
 *                       third MiB the mapping is short, so kbdus refuses it
 *                       and the request fails with EIO
 *   --passthrough-ro FILE
 *   --driver-buffers    request buffers from the driver's own memory (ext
 *                       alloc_buffers, traced as "alloc_buffers SIZE" and
 *                       "free_buffers SIZE"); a read or write whose buffer
 *                       is not inside it fails with EIO and traces
 *                       "buffer-outside", and terminate() traces
 *                       "buffers-live N", those not freed yet
 *   --linger            once bdus_run() failed and its message is out,
 *                       stay alive until killed (whatever bdus_run() left
 *                       behind must not need the process to exit)
 *
 * With --trace, also checks the threading rules: a request callback that
 * runs off the thread that called bdus_run() while it must not (max
 * concurrency 1, or before on_device_available()) traces "off-main-thread",
 * and terminate() traces "max-concurrency N", the most callbacks seen
 * in their delay (or in begin_request()) at once.
 *   --protocol ioctl|mmap|uring, --queues N, --queue-depth N, --concurrency N,
 *   --request-timeout MS, --logical-block-size N, --recoverable,
 *   --foreground, --rerun ID, --log: as for the example drivers
 *
 * The ioctls are those of bdus-test-ioctl.h.  Exit status: 0 if bdus_run
 * returned true, 1 if it failed (message on stderr), 2 on a usage error.
 */

#include <bdus.h>
#include <bdus-passthrough.h>

#include "bdus-test-ioctl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
	int trace_fd;
	const char *store_path;
	int write_error;
	int flush_error;
	int initialize_error;
	long abort_after;
	bool linger;
	unsigned delay_ms;
	unsigned write_delay_ms;
	atomic_long requests;
	char ioctl_text[64];
	char *memory;
	pthread_t main_thread;
	atomic_bool available;
	atomic_long running, max_running;
	const char *backing_path; /* --passthrough */
	bool backing_read_only;
	uint32_t backing_id;
	/* --driver-buffers: the regions alloc_buffers gave out */
	bool driver_buffers;
	pthread_mutex_t regions_lock;
	struct region {
		char *start;
		size_t size;
	} regions[64];
	unsigned num_regions;
} test = { .regions_lock = PTHREAD_MUTEX_INITIALIZER, .trace_fd = -1, .abort_after = -1, .ioctl_text = "bdus" };

static void trace(const char *fmt, ...)
{
	char line[128];
	va_list args;
	int len;

	if (test.trace_fd < 0)
		return;
	va_start(args, fmt);
	len = vsnprintf(line, sizeof(line) - 1, fmt, args);
	va_end(args);
	if (len < 0)
		return;
	if (len > (int)sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line: O_APPEND keeps concurrent lines whole. */
	if (write(test.trace_fd, line, (size_t)len) < 0)
		return;
}

static void check_thread(const struct bdus_ctx *ctx)
{
	if ((ctx->attrs->max_concurrent_callbacks == 1 ||
	     !atomic_load(&test.available)) &&
	    !pthread_equal(pthread_self(), test.main_thread))
		trace("off-main-thread");
}

/* Common start of every request callback: delay, count, maybe abort. */
static int begin_request(const struct bdus_ctx *ctx)
{
	long count = atomic_fetch_add(&test.requests, 1) + 1;
	long running = atomic_fetch_add(&test.running, 1) + 1;
	long max = atomic_load(&test.max_running);

	check_thread(ctx);
	while (running > max &&
	       !atomic_compare_exchange_weak(&test.max_running, &max, running))
		;
	if (test.delay_ms)
		usleep(test.delay_ms * 1000u);
	atomic_fetch_sub(&test.running, 1);
	if (test.abort_after >= 0 && count >= test.abort_after)
		return bdus_abort;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Callbacks */

static int on_initialize(struct bdus_ctx *ctx)
{
	size_t size = ctx->attrs->size;
	int fd = -1, flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *memory;

	trace("initialize %s %" PRIu64, ctx->is_rerun ? "rerun" : "run",
	      ctx->id);
	if (test.initialize_error)
		return test.initialize_error;

	if (test.store_path) {
		fd = open(test.store_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
			return errno;
		flags = MAP_SHARED;
	}
	memory = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (fd >= 0)
		close(fd);
	if (memory == MAP_FAILED)
		return errno;
	test.memory = memory;

	if (test.backing_path) {
		int id;

		fd = open(test.backing_path,
			  (test.backing_read_only ? O_RDONLY : O_RDWR) |
				  O_CLOEXEC);
		if (fd < 0)
			return errno;
		id = bdus_register_backing(ctx, fd);
		close(fd); /* kbdus keeps its own reference */
		if (id < 0) {
			fprintf(stderr, "bdus-test-driver: %s\n",
				bdus_get_error_message());
			return errno;
		}
		test.backing_id = (uint32_t)id;
	}
	return 0;
}

static int do_passthrough(struct bdus_extent *extents, uint32_t *num,
			  uint32_t type, uint64_t off, uint32_t size,
			  struct bdus_ctx *c)
{
	(void)c;
	if (type != BDUS_REQ_FLUSH && off < (1u << 20))
		return 0; /* the callback's */
	trace("passthrough %" PRIu32 " %" PRIu64 " %" PRIu32, type, off, size);
	extents[0] = (struct bdus_extent){ off, size, test.backing_id };
	if (off >= (2u << 20) && off < (3u << 20))
		extents[0].length -= 512; /* kbdus must refuse it */
	*num = 1;
	return 0;
}

static int on_available(struct bdus_ctx *ctx)
{
	atomic_store(&test.available, true);
	trace("on_device_available %s", ctx->path);
	printf("%s\n", ctx->path);
	fflush(stdout);
	return 0;
}

/* --driver-buffers */

static void *test_alloc_buffers(size_t size, struct bdus_ctx *ctx)
{
	char *memory;

	(void)ctx;
	trace("alloc_buffers %zu", size);
	pthread_mutex_lock(&test.regions_lock);
	if (test.num_regions == 64) {
		pthread_mutex_unlock(&test.regions_lock);
		return NULL;
	}
	/* Shared, as memory another process could see. */
	memory = mmap(NULL, size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (memory == MAP_FAILED) {
		memory = NULL;
	} else {
		test.regions[test.num_regions++] =
			(struct region){ memory, size };
	}
	pthread_mutex_unlock(&test.regions_lock);
	return memory;
}

static void test_free_buffers(void *buffers, size_t size, struct bdus_ctx *ctx)
{
	bool found = false;

	(void)ctx;
	trace("free_buffers %zu", size);
	pthread_mutex_lock(&test.regions_lock);
	for (unsigned i = 0; i < test.num_regions; i++)
		if (test.regions[i].start == buffers &&
		    test.regions[i].size == size) {
			test.regions[i] = test.regions[--test.num_regions];
			found = true;
			break;
		}
	pthread_mutex_unlock(&test.regions_lock);
	if (!found)
		trace("free_buffers-unknown");
	munmap(buffers, size);
}

/* With --driver-buffers, whether buf's size bytes are in a region. */
static bool buffer_is_drivers(const char *buf, uint32_t size)
{
	bool inside = false;

	if (!test.driver_buffers)
		return true;
	pthread_mutex_lock(&test.regions_lock);
	for (unsigned i = 0; i < test.num_regions; i++)
		if (buf >= test.regions[i].start &&
		    buf + size <= test.regions[i].start + test.regions[i].size)
			inside = true;
	pthread_mutex_unlock(&test.regions_lock);
	if (!inside)
		trace("buffer-outside");
	return inside;
}

static int on_terminate(struct bdus_ctx *ctx)
{
	trace("buffers-live %u", test.num_regions);
	trace("max-concurrency %ld", atomic_load(&test.max_running));
	trace("terminate");
	if (test.store_path)
		msync(test.memory, ctx->attrs->size, MS_SYNC);
	munmap(test.memory, ctx->attrs->size);
	return 0;
}

static int do_read(char *buf, uint64_t off, uint32_t size, struct bdus_ctx *c)
{
	int ret = begin_request(c);

	trace("read %" PRIu64 " %" PRIu32, off, size);
	if (!ret && !buffer_is_drivers(buf, size))
		ret = EIO;
	if (!ret)
		memcpy(buf, test.memory + off, size);
	return ret;
}

static const char *read_ref_mode;

static int do_read_ref(const char **data, uint64_t off, uint32_t size,
		       struct bdus_ctx *c)
{
	int ret = begin_request(c);

	trace("read_ref %" PRIu64 " %" PRIu32, off, size);
	/* Wrong only away from what the partition scan reads. */
	if (off >= (1u << 20) && off < (2u << 20) &&
	    strcmp(read_ref_mode, "good") != 0)
		*data = strcmp(read_ref_mode, "bad") == 0 ? (const char *)16 :
							     NULL;
	else
		*data = test.memory + off;
	return ret;
}

static int store(const char *buf, uint64_t off, uint32_t size, bool fua,
		 const struct bdus_ctx *c)
{
	int ret = begin_request(c);

	trace("%s %" PRIu64 " %" PRIu32, fua ? "fua_write" : "write", off,
	      size);
	if (ret)
		return ret;
	if (test.write_error)
		return test.write_error;
	if (!buffer_is_drivers(buf, size))
		return EIO;
	if (test.write_delay_ms)
		usleep(test.write_delay_ms * 1000u);
	memcpy(test.memory + off, buf, size);
	return 0;
}

static const char *write_ref_mode;

static int do_write_ref(char **data, uint64_t off, uint32_t size,
			struct bdus_ctx *c)
{
	int ret = begin_request(c);

	trace("write_ref %" PRIu64 " %" PRIu32, off, size);
	if (ret)
		return ret;
	if (test.write_error)
		return test.write_error;
	if (test.write_delay_ms)
		usleep(test.write_delay_ms * 1000u);
	if (off >= (1u << 20) && off < (2u << 20) &&
	    strcmp(write_ref_mode, "good") != 0)
		*data = strcmp(write_ref_mode, "bad") == 0 ? (char *)16 : NULL;
	else
		*data = test.memory + off;
	return 0;
}

static int do_write(const char *buf, uint64_t off, uint32_t size,
		    struct bdus_ctx *c)
{
	return store(buf, off, size, false, c);
}

static int do_fua_write(const char *buf, uint64_t off, uint32_t size,
			struct bdus_ctx *c)
{
	return store(buf, off, size, true, c);
}

static int do_write_zeros(uint64_t off, uint32_t size, bool may_unmap,
			  struct bdus_ctx *c)
{
	int ret = begin_request(c);

	trace("write_zeros %" PRIu64 " %" PRIu32 " %s", off, size,
	      may_unmap ? "unmap" : "nounmap");
	if (!ret)
		memset(test.memory + off, 0, size);
	return ret;
}

static int do_flush(struct bdus_ctx *c)
{
	int ret = begin_request(c);

	trace("flush");
	return ret ? ret : test.flush_error;
}

static int do_discard(uint64_t off, uint32_t size, struct bdus_ctx *c)
{
	int ret = begin_request(c);

	trace("discard %" PRIu64 " %" PRIu32, off, size);
	if (!ret)
		memset(test.memory + off, 0, size);
	return ret;
}

static int do_secure_erase(uint64_t off, uint32_t size, struct bdus_ctx *c)
{
	int ret = begin_request(c);

	trace("secure_erase %" PRIu64 " %" PRIu32, off, size);
	if (!ret)
		memset(test.memory + off, 0, size);
	return ret;
}

static int do_ioctl(uint32_t command, void *arg, struct bdus_ctx *c)
{
	int ret = begin_request(c);

	trace("ioctl 0x%08" PRIx32, command);
	if (ret)
		return ret;
	switch (command) {
	case BDUS_TEST_IOC_GET:
		memcpy(arg, test.ioctl_text, sizeof(test.ioctl_text));
		return 0;
	case BDUS_TEST_IOC_SET:
		memcpy(test.ioctl_text, arg, sizeof(test.ioctl_text));
		test.ioctl_text[sizeof(test.ioctl_text) - 1] = '\0';
		return 0;
	case BDUS_TEST_IOC_INC:
		++*(int *)arg;
		return 0;
	case BDUS_TEST_IOC_FAIL:
		return EPERM;
	default:
		return ENOTTY;
	}
}

/* ------------------------------------------------------------------------- */
/* Options */

enum {
	OPT_TRACE = 1000,
	OPT_STORE,
	OPT_OPS,
	OPT_FAIL_WRITES,
	OPT_FAIL_INITIALIZE,
	OPT_FAIL_FLUSH,
	OPT_ABORT_AFTER,
	OPT_LINGER,
	OPT_PASSTHROUGH,
	OPT_PASSTHROUGH_RO,
	OPT_DELAY_MS,
	OPT_WRITE_DELAY_MS,
	OPT_READ_REF,
	OPT_WRITE_REF,
	OPT_DRIVER_BUFFERS,
	OPT_PROTOCOL,
	OPT_QUEUES,
	OPT_QUEUE_DEPTH,
	OPT_CONCURRENCY,
	OPT_TIMEOUT,
	OPT_BLOCK_SIZE,
	OPT_RECOVERABLE,
	OPT_FOREGROUND,
	OPT_RERUN,
	OPT_LOG,
};

static const struct option long_options[] = {
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "ops", required_argument, NULL, OPT_OPS },
	{ "fail-writes", required_argument, NULL, OPT_FAIL_WRITES },
	{ "fail-initialize", required_argument, NULL, OPT_FAIL_INITIALIZE },
	{ "fail-flush", required_argument, NULL, OPT_FAIL_FLUSH },
	{ "abort-after", required_argument, NULL, OPT_ABORT_AFTER },
	{ "linger", no_argument, NULL, OPT_LINGER },
	{ "passthrough", required_argument, NULL, OPT_PASSTHROUGH },
	{ "passthrough-ro", required_argument, NULL, OPT_PASSTHROUGH_RO },
	{ "delay-ms", required_argument, NULL, OPT_DELAY_MS },
	{ "write-delay-ms", required_argument, NULL, OPT_WRITE_DELAY_MS },
	{ "read-ref", required_argument, NULL, OPT_READ_REF },
	{ "write-ref", required_argument, NULL, OPT_WRITE_REF },
	{ "driver-buffers", no_argument, NULL, OPT_DRIVER_BUFFERS },
	{ "protocol", required_argument, NULL, OPT_PROTOCOL },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "queue-depth", required_argument, NULL, OPT_QUEUE_DEPTH },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "request-timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "logical-block-size", required_argument, NULL, OPT_BLOCK_SIZE },
	{ "recoverable", no_argument, NULL, OPT_RECOVERABLE },
	{ "foreground", no_argument, NULL, OPT_FOREGROUND },
	{ "rerun", required_argument, NULL, OPT_RERUN },
	{ "log", no_argument, NULL, OPT_LOG },
	{ NULL, 0, NULL, 0 },
};

static int usage(const char *message, const char *arg)
{
	fprintf(stderr, "bdus-test-driver: %s%s%s\n", message,
		arg ? ": " : "", arg ? arg : "");
	return 2;
}

static bool parse_number(const char *text, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(text, &end, 0);
	if (errno || end == text)
		return false;
	switch (*end) {
	case 'G':
		*out <<= 10;
		/* fall through */
	case 'M':
		*out <<= 10;
		/* fall through */
	case 'K':
		*out <<= 10;
		end++;
	}
	return *end == '\0';
}

static int parse_errno(const char *text)
{
	static const struct {
		const char *name;
		int value;
	} names[] = { { "ENOSPC", ENOSPC }, { "ETIMEDOUT", ETIMEDOUT },
		      { "ENOLINK", ENOLINK }, { "EIO", EIO },
		      { "EPERM", EPERM } };
	uint64_t value;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(text, names[i].name) == 0)
			return names[i].value;
	return parse_number(text, &value) && value > 0 && value < 4096 ?
		       (int)value : -1;
}

/* Keeps only the request callbacks named in list. */
static bool select_ops(struct bdus_ops *ops, const char *list)
{
	struct bdus_ops all = *ops;
	char buf[256], *name, *save;

	ops->read = NULL, ops->write = NULL, ops->write_zeros = NULL;
	ops->fua_write = NULL, ops->flush = NULL, ops->discard = NULL;
	ops->secure_erase = NULL, ops->ioctl = NULL;
	snprintf(buf, sizeof(buf), "%s", list);
	for (name = strtok_r(buf, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (strcmp(name, "read") == 0)
			ops->read = all.read;
		else if (strcmp(name, "write") == 0)
			ops->write = all.write;
		else if (strcmp(name, "write_zeros") == 0)
			ops->write_zeros = all.write_zeros;
		else if (strcmp(name, "fua_write") == 0)
			ops->fua_write = all.fua_write;
		else if (strcmp(name, "flush") == 0)
			ops->flush = all.flush;
		else if (strcmp(name, "discard") == 0)
			ops->discard = all.discard;
		else if (strcmp(name, "secure_erase") == 0)
			ops->secure_erase = all.secure_erase;
		else if (strcmp(name, "ioctl") == 0)
			ops->ioctl = all.ioctl;
		else
			return false;
	}
	return true;
}

struct config {
	struct bdus_ops ops;
	struct bdus_attrs attrs;
	struct bdus_ext_attrs ext;
	const char *rerun;
};

static int parse_test_option(struct config *c, int opt, const char *arg)
{
	uint64_t n;

	switch (opt) {
	case OPT_TRACE:
		test.trace_fd = open(arg, O_WRONLY | O_CREAT | O_APPEND |
						  O_CLOEXEC, 0644);
		return test.trace_fd < 0 ? usage(strerror(errno), arg) : 0;
	case OPT_STORE:
		test.store_path = arg;
		return 0;
	case OPT_OPS:
		return select_ops(&c->ops, arg) ? 0 : usage("bad --ops", arg);
	case OPT_FAIL_WRITES:
		test.write_error = parse_errno(arg);
		return test.write_error > 0 ? 0 : usage("bad errno", arg);
	case OPT_FAIL_FLUSH:
		test.flush_error = parse_errno(arg);
		return test.flush_error > 0 ? 0 : usage("bad errno", arg);
	case OPT_FAIL_INITIALIZE:
		test.initialize_error = parse_errno(arg);
		return test.initialize_error > 0 ? 0 : usage("bad errno", arg);
	case OPT_ABORT_AFTER:
		if (!parse_number(arg, &n))
			return usage("bad --abort-after", arg);
		test.abort_after = (long)n;
		return 0;
	case OPT_LINGER:
		test.linger = true;
		return 0;
	case OPT_PASSTHROUGH:
	case OPT_PASSTHROUGH_RO:
		test.backing_path = arg;
		test.backing_read_only = opt == OPT_PASSTHROUGH_RO;
		c->ext.passthrough = do_passthrough;
		return 0;
	case OPT_DELAY_MS:
		if (!parse_number(arg, &n))
			return usage("bad --delay-ms", arg);
		test.delay_ms = (unsigned)n;
		return 0;
	case OPT_WRITE_DELAY_MS:
		if (!parse_number(arg, &n))
			return usage("bad --write-delay-ms", arg);
		test.write_delay_ms = (unsigned)n;
		return 0;
	case OPT_READ_REF:
		if (strcmp(arg, "good") && strcmp(arg, "bad") &&
		    strcmp(arg, "null"))
			return usage("bad --read-ref", arg);
		read_ref_mode = arg;
		c->ext.read_ref = do_read_ref;
		return 0;
	case OPT_WRITE_REF:
		if (strcmp(arg, "good") && strcmp(arg, "bad") &&
		    strcmp(arg, "null"))
			return usage("bad --write-ref", arg);
		write_ref_mode = arg;
		c->ext.write_ref = do_write_ref;
		return 0;
	case OPT_DRIVER_BUFFERS:
		test.driver_buffers = true;
		c->ext.alloc_buffers = test_alloc_buffers;
		c->ext.free_buffers = test_free_buffers;
		return 0;
	default:
		return -1;
	}
}

static int parse_bdus_option(struct config *c, int opt, const char *arg)
{
	uint64_t n = 0;

	if (opt >= OPT_QUEUES && opt <= OPT_BLOCK_SIZE &&
	    (!parse_number(arg, &n) || n > UINT32_MAX))
		return usage("bad number", arg);

	switch (opt) {
	case OPT_PROTOCOL:
		if (strcmp(arg, "ioctl") == 0)
			c->ext.protocol = BDUS_PROTOCOL_IOCTL;
		else if (strcmp(arg, "mmap") == 0)
			c->ext.protocol = BDUS_PROTOCOL_MMAP;
		else if (strcmp(arg, "uring") == 0)
			c->ext.protocol = BDUS_PROTOCOL_URING;
		else
			return usage("bad --protocol", arg);
		return 0;
	case OPT_QUEUES:
		c->ext.num_queues = (uint32_t)n;
		return 0;
	case OPT_QUEUE_DEPTH:
		c->ext.queue_depth = (uint32_t)n;
		return 0;
	case OPT_CONCURRENCY:
		c->attrs.max_concurrent_callbacks = (uint32_t)n;
		return 0;
	case OPT_TIMEOUT:
		c->ext.request_timeout_ms = (uint32_t)n;
		return 0;
	case OPT_BLOCK_SIZE:
		c->attrs.logical_block_size = (uint32_t)n;
		return 0;
	case OPT_RECOVERABLE:
		c->attrs.recoverable = true;
		return 0;
	case OPT_FOREGROUND:
		c->attrs.dont_daemonize = true;
		return 0;
	case OPT_RERUN:
		c->rerun = arg;
		return 0;
	case OPT_LOG:
		c->attrs.log = true;
		return 0;
	default:
		return usage("unknown option", NULL);
	}
}

int main(int argc, char **argv)
{
	struct config c = {
		.ops = {
			.initialize = on_initialize,
			.on_device_available = on_available,
			.terminate = on_terminate,
			.read = do_read,
			.write = do_write,
			.write_zeros = do_write_zeros,
			.fua_write = do_fua_write,
			.flush = do_flush,
			.discard = do_discard,
			.secure_erase = do_secure_erase,
			.ioctl = do_ioctl,
		},
	};
	uint64_t id = 0;
	int opt, ret;
	bool ok;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		ret = parse_test_option(&c, opt, optarg);
		if (ret < 0)
			ret = parse_bdus_option(&c, opt, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc && !parse_number(argv[optind++], &c.attrs.size))
		return usage("bad size", argv[optind - 1]);
	if (optind < argc || (!c.attrs.size && !c.rerun))
		return usage("usage: bdus-test-driver [options] SIZE", NULL);
	if (c.rerun && !parse_number(c.rerun + (strncmp(c.rerun, "bdus-", 5) ?
							0 : 5),
				     &id) &&
	    !bdus_get_dev_id_from_path(&id, c.rerun)) {
		fprintf(stderr, "bdus-test-driver: %s\n",
			bdus_get_error_message());
		return 1;
	}
	if (!c.rerun && !c.attrs.logical_block_size)
		c.attrs.logical_block_size = 512;

	test.main_thread = pthread_self();
	ok = c.rerun ? bdus_rerun_ext(id, &c.ops, &c.attrs, &c.ext, NULL) :
		       bdus_run_ext(&c.ops, &c.attrs, &c.ext, NULL);
	if (!ok) {
		fprintf(stderr, "bdus-test-driver: %s (errno %d)\n",
			bdus_get_error_message(), errno);
		while (test.linger)
			pause();
	}
	return ok ? 0 : 1;
}
