// SPDX-License-Identifier: MIT
/*
 * uapi-ram: a RAM-backed test driver written directly against the kbdus
 * UAPI, without libbdus, so the module can be tested on its own.
 *
 * The data lives in a file (default: anonymous memory; --backing puts it
 * in a shared file such as /dev/shm/x so a replacement driver sees it).
 * Prints the device id on stdout once the device is available.
 *
 * Test knobs: --log records every request ("type offset size"), --stall
 * never replies to one request type (timeouts), --exit-after N exits
 * abruptly after N data requests (crash while I/O is in flight),
 * --linger-ms N keeps the session open after TERMINATE until the block
 * device is gone (plus half a second) or N ms passed, so the session is the
 * last to let go of the device.
 *
 * --zoned BYTES makes it a host-managed zoned device with zones of that
 * size (--conventional N of them conventional, --max-open and --max-active
 * limits) that enforces write pointers, conditions and the limits as ZBC
 * does; --bad-report reports the first zone with a wrong start.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#include <linux/fs.h>
#include <linux/kbdus.h>

/* Test ioctls served by this driver (see handle_ioctl). */
struct test_ioctl_arg {
	uint32_t values[4];
};
#define TEST_IOCTL_INCREMENT _IOWR('T', 1, struct test_ioctl_arg)
#define TEST_IOCTL_READ_PATTERN _IOR('T', 2, struct test_ioctl_arg)
#define TEST_IOCTL_FAIL _IO('T', 3)

static struct {
	int protocol;
	uint64_t size;
	unsigned queues, depth, threads;
	unsigned timeout_ms;
	uint32_t flags;
	uint32_t types;
	const char *backing;
	const char *log_path;
	long long attach_id;
	int stall_type;
	long exit_after;
	unsigned delay_us;
	unsigned linger_ms;
	uint64_t zone_size;
	unsigned conventional, max_open, max_active;
	bool bad_report;
} opt = {
	.protocol = KBDUS_PROTOCOL_MMAP,
	.size = 64 << 20,
	.threads = 1,
	.attach_id = -1,
	.stall_type = -1,
	.exit_after = -1,
};

static int control_fd;
static unsigned char *disk;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static long data_requests;
static unsigned char *mmap_area;
static struct kbdus_mmap_layout layout;
static uint32_t max_rw_size;
static struct kbdus_device_config device;
static const struct kbdus_request *uring_descriptors;

static const char *const type_names[] = {
	[KBDUS_REQ_READ] = "read",
	[KBDUS_REQ_WRITE] = "write",
	[KBDUS_REQ_WRITE_SAME] = "write_same",
	[KBDUS_REQ_WRITE_ZEROS_NO_UNMAP] = "write_zeros_no_unmap",
	[KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP] = "write_zeros_may_unmap",
	[KBDUS_REQ_FUA_WRITE] = "fua_write",
	[KBDUS_REQ_FLUSH] = "flush",
	[KBDUS_REQ_DISCARD] = "discard",
	[KBDUS_REQ_SECURE_ERASE] = "secure_erase",
	[KBDUS_REQ_IOCTL] = "ioctl",
	[KBDUS_REQ_ZONE_OPEN] = "zone_open",
	[KBDUS_REQ_ZONE_CLOSE] = "zone_close",
	[KBDUS_REQ_ZONE_FINISH] = "zone_finish",
	[KBDUS_REQ_ZONE_RESET] = "zone_reset",
	[KBDUS_REQ_ZONE_RESET_ALL] = "zone_reset_all",
	[KBDUS_REQ_ZONE_APPEND] = "zone_append",
	[KBDUS_REQ_REPORT_ZONES] = "report_zones",
};

static void die(const char *what)
{
	fprintf(stderr, "uapi-ram: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int type_from_name(const char *name)
{
	for (unsigned i = 0; i < sizeof(type_names) / sizeof(*type_names); i++)
		if (type_names[i] && !strcmp(type_names[i], name))
			return (int)i;
	fprintf(stderr, "uapi-ram: unknown request type '%s'\n", name);
	exit(2);
}

static uint32_t parse_types(char *list)
{
	uint32_t types = 0;

	for (char *t = strtok(list, ","); t; t = strtok(NULL, ","))
		types |= KBDUS_REQ_BIT(type_from_name(t));
	return types;
}

/* Serves one request; returns the errno for the reply. */
static int handle_ioctl(const struct kbdus_request *req, unsigned char *payload)
{
	struct test_ioctl_arg arg;

	switch (req->ioctl_command) {
	case TEST_IOCTL_INCREMENT:
		memcpy(&arg, payload, sizeof(arg));
		for (int i = 0; i < 4; i++)
			arg.values[i]++;
		memcpy(payload, &arg, sizeof(arg));
		return 0;
	case TEST_IOCTL_READ_PATTERN:
		for (int i = 0; i < 4; i++)
			arg.values[i] = 0xb0d50000u + i;
		memcpy(payload, &arg, sizeof(arg));
		return 0;
	case TEST_IOCTL_FAIL:
		return EPERM;
	default:
		return ENOTTY;
	}
}

/* ------------------------------------------------------------------------- */
/* Zoned mode: every zone's condition and write pointer, under zone_lock. */

struct zone {
	uint64_t wp; /* bytes from the start of the device */
	uint8_t cond; /* KBDUS_ZONE_COND_* */
};

static struct zone *zones;
static uint32_t nr_zones;
static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t zone_start(uint32_t i)
{
	return (uint64_t)i * opt.zone_size;
}

static bool zone_is_open(const struct zone *z)
{
	return z->cond == KBDUS_ZONE_COND_IMP_OPEN ||
	       z->cond == KBDUS_ZONE_COND_EXP_OPEN;
}

static unsigned count_zones(bool active)
{
	unsigned n = 0;

	for (uint32_t i = opt.conventional; i < nr_zones; i++)
		n += zone_is_open(&zones[i]) ||
		     (active && zones[i].cond == KBDUS_ZONE_COND_CLOSED);
	return n;
}

/* Opens zone i (explicitly or for a write), within the limits: an
 * implicitly open zone is closed to make room, as ZBC does. */
static int zone_open(uint32_t i, bool explicit)
{
	struct zone *z = &zones[i];

	if (z->cond == KBDUS_ZONE_COND_FULL)
		return explicit ? 0 : EIO;
	if (zone_is_open(z)) {
		if (explicit)
			z->cond = KBDUS_ZONE_COND_EXP_OPEN;
		return 0;
	}
	if (z->cond == KBDUS_ZONE_COND_EMPTY && opt.max_active &&
	    count_zones(true) >= opt.max_active)
		return EOVERFLOW;
	if (opt.max_open && count_zones(false) >= opt.max_open) {
		uint32_t j;

		for (j = opt.conventional; j < nr_zones; j++)
			if (zones[j].cond == KBDUS_ZONE_COND_IMP_OPEN)
				break;
		if (j == nr_zones)
			return ETOOMANYREFS;
		zones[j].cond = KBDUS_ZONE_COND_CLOSED;
	}
	z->cond = explicit ? KBDUS_ZONE_COND_EXP_OPEN : KBDUS_ZONE_COND_IMP_OPEN;
	return 0;
}

static void zone_reset(uint32_t i)
{
	memset(disk + zone_start(i), 0, opt.zone_size);
	zones[i].wp = zone_start(i);
	zones[i].cond = KBDUS_ZONE_COND_EMPTY;
}

/* A write of size bytes at offset (for an append: at the write pointer,
 * and offset becomes where it went). */
static int zone_write(uint64_t *offset, uint32_t size, const void *data,
		      bool append)
{
	uint32_t i = (uint32_t)(*offset / opt.zone_size);
	struct zone *z = &zones[i];
	int error;

	if (i < opt.conventional) {
		if (append)
			return EIO;
		memcpy(disk + *offset, data, size);
		return 0;
	}
	if (append)
		*offset = z->wp;
	if (*offset != z->wp || z->cond == KBDUS_ZONE_COND_FULL ||
	    size > zone_start(i) + opt.zone_size - z->wp)
		return EIO;
	error = zone_open(i, false);
	if (error)
		return error;
	memcpy(disk + *offset, data, size);
	z->wp += size;
	if (z->wp == zone_start(i) + opt.zone_size)
		z->cond = KBDUS_ZONE_COND_FULL;
	return 0;
}

static int zone_manage(uint32_t type, uint64_t offset)
{
	uint32_t i = (uint32_t)(offset / opt.zone_size);
	struct zone *z = &zones[i];

	if (type == KBDUS_REQ_ZONE_RESET_ALL) {
		for (i = opt.conventional; i < nr_zones; i++)
			zone_reset(i);
		return 0;
	}
	if (i < opt.conventional || offset % opt.zone_size)
		return EIO;
	switch (type) {
	case KBDUS_REQ_ZONE_OPEN:
		return zone_open(i, true);
	case KBDUS_REQ_ZONE_CLOSE:
		if (zone_is_open(z))
			z->cond = z->wp == zone_start(i) ? KBDUS_ZONE_COND_EMPTY :
							   KBDUS_ZONE_COND_CLOSED;
		return 0;
	case KBDUS_REQ_ZONE_FINISH:
		z->wp = zone_start(i) + opt.zone_size;
		z->cond = KBDUS_ZONE_COND_FULL;
		return 0;
	default: /* KBDUS_REQ_ZONE_RESET */
		zone_reset(i);
		return 0;
	}
}

static int zone_report(const struct kbdus_request *req, unsigned char *payload)
{
	struct kbdus_zone *d = (struct kbdus_zone *)payload;
	uint32_t first = (uint32_t)(req->offset / opt.zone_size);
	uint32_t count = req->size / sizeof(*d);

	if (req->offset % opt.zone_size || first + count > nr_zones)
		return EIO;
	memset(payload, 0, req->size);
	for (uint32_t n = 0; n < count; n++) {
		uint32_t i = first + n;

		d[n].start = zone_start(i);
		d[n].length = d[n].capacity = opt.zone_size;
		d[n].write_pointer = zones[i].wp;
		d[n].type = i < opt.conventional ?
				    KBDUS_ZONE_TYPE_CONVENTIONAL :
				    KBDUS_ZONE_TYPE_SEQ_WRITE_REQUIRED;
		d[n].condition = zones[i].cond;
	}
	if (opt.bad_report && first == 0)
		d[0].start = opt.zone_size;
	return 0;
}

static int serve_zoned(const struct kbdus_request *req, unsigned char *payload)
{
	uint64_t offset = req->offset;
	int error;

	pthread_mutex_lock(&zone_lock);
	switch (req->type) {
	case KBDUS_REQ_WRITE:
	case KBDUS_REQ_FUA_WRITE:
		error = zone_write(&offset, req->size, payload, false);
		break;
	case KBDUS_REQ_ZONE_APPEND:
		error = zone_write(&offset, req->size, payload, true);
		if (!error)
			memcpy(payload, &offset, sizeof(offset));
		break;
	case KBDUS_REQ_REPORT_ZONES:
		error = zone_report(req, payload);
		break;
	default:
		error = zone_manage(req->type, req->offset);
		break;
	}
	pthread_mutex_unlock(&zone_lock);
	return error;
}

static void zones_init(void)
{
	if (!opt.zone_size)
		return;
	nr_zones = (uint32_t)(opt.size / opt.zone_size);
	zones = calloc(nr_zones, sizeof(*zones));
	if (!zones)
		die("zones");
	for (uint32_t i = 0; i < nr_zones; i++) {
		zones[i].wp = zone_start(i);
		zones[i].cond = i < opt.conventional ? KBDUS_ZONE_COND_NOT_WP :
						       KBDUS_ZONE_COND_EMPTY;
	}
}

/* ------------------------------------------------------------------------- */

static int serve(const struct kbdus_request *req, unsigned char *payload)
{
	if (req->type != KBDUS_REQ_IOCTL && req->type != KBDUS_REQ_FLUSH &&
	    req->type != KBDUS_REQ_ZONE_RESET_ALL &&
	    (req->offset > opt.size || req->size > opt.size - req->offset)) {
		fprintf(stderr, "uapi-ram: request beyond the end\n");
		return EIO;
	}
	if (opt.zone_size && req->type != KBDUS_REQ_READ &&
	    req->type != KBDUS_REQ_FLUSH && req->type != KBDUS_REQ_IOCTL)
		return serve_zoned(req, payload);

	switch (req->type) {
	case KBDUS_REQ_READ:
		memcpy(payload, disk + req->offset, req->size);
		return 0;
	case KBDUS_REQ_WRITE:
	case KBDUS_REQ_FUA_WRITE:
		memcpy(disk + req->offset, payload, req->size);
		return 0;
	case KBDUS_REQ_WRITE_ZEROS_NO_UNMAP:
	case KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP:
	case KBDUS_REQ_DISCARD:
	case KBDUS_REQ_SECURE_ERASE:
		memset(disk + req->offset, 0, req->size);
		return 0;
	case KBDUS_REQ_FLUSH:
		return 0;
	case KBDUS_REQ_IOCTL:
		return handle_ioctl(req, payload);
	default:
		return EIO;
	}
}

static void log_request(const struct kbdus_request *req)
{
	if (!log_file)
		return;
	pthread_mutex_lock(&log_lock);
	if (req->type == KBDUS_REQ_IOCTL)
		fprintf(log_file, "ioctl 0x%x %u\n", req->ioctl_command,
			req->size);
	else
		fprintf(log_file, "%s %llu %u\n", type_names[req->type],
			(unsigned long long)req->offset, req->size);
	fflush(log_file);
	pthread_mutex_unlock(&log_lock);
}

/* Returns false if the reply must be withheld or the driver must crash. */
static bool before_reply(const struct kbdus_request *req)
{
	log_request(req);
	if (opt.delay_us)
		usleep(opt.delay_us);
	if (opt.exit_after >= 0 &&
	    __atomic_add_fetch(&data_requests, 1, __ATOMIC_SEQ_CST) >
		    opt.exit_after)
		_exit(3);
	return req->type != opt.stall_type;
}

static void announce(uint64_t id)
{
	printf("%llu\n", (unsigned long long)id);
	fflush(stdout);
}

static void *ioctl_worker(void *arg)
{
	struct kbdus_transceive_args args = { 0 };
	struct kbdus_request req;
	struct kbdus_reply reply = { 0 };
	unsigned char *payload;
	uint64_t id = *(uint64_t *)arg;

	payload = aligned_alloc(4096, max_rw_size);
	if (!payload)
		die("payload");

	args.request = (uintptr_t)&req;
	args.payload = (uintptr_t)payload;
	args.payload_size = max_rw_size;

	for (;;) {
		if (ioctl(control_fd, KBDUS_IOCTL_TRANSCEIVE, &args) < 0) {
			/* The reply was consumed before the wait. */
			if (errno == EINTR) {
				args.reply = 0;
				continue;
			}
			die("KBDUS_IOCTL_TRANSCEIVE");
		}
		args.reply = 0;

		if (req.type == KBDUS_REQ_TERMINATE)
			return NULL;
		if (req.type == KBDUS_REQ_DEVICE_AVAILABLE) {
			announce(id);
			continue;
		}
		reply.error = serve(&req, payload);
		if (!before_reply(&req))
			continue;
		reply.handle = req.handle;
		args.reply = (uintptr_t)&reply;
	}
}

static void *mmap_worker(void *arg)
{
	struct kbdus_mmap_transceive_args args = { 0 };
	uint64_t id = *(uint64_t *)arg;

	for (;;) {
		if (ioctl(control_fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &args) < 0) {
			/* The reply was consumed before the wait. */
			if (errno == EINTR) {
				args.reply_handle = 0;
				args.reply_error = 0;
				continue;
			}
			die("KBDUS_IOCTL_MMAP_TRANSCEIVE");
		}
		args.reply_handle = 0;
		args.reply_error = 0;

		if (args.type == KBDUS_REQ_TERMINATE)
			return NULL;
		if (args.type == KBDUS_REQ_DEVICE_AVAILABLE) {
			announce(id);
			continue;
		}

		const struct kbdus_request *req =
			(const struct kbdus_request *)mmap_area + args.slot;
		unsigned char *payload = mmap_area + layout.buffers_offset +
					 (size_t)args.slot * layout.buffer_size;
		struct kbdus_request copy = *req;
		int error = serve(&copy, payload);

		if (!before_reply(&copy))
			continue;
		args.reply_handle = copy.handle;
		args.reply_error = error;
	}
}

static void uring_submit(struct io_uring *ring, uint32_t op, uint16_t queue,
			 uint16_t tag, int32_t result, void *buffer)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct kbdus_uring_cmd cmd = {
		.queue = queue,
		.tag = tag,
		.result = result,
		.buffer = (uintptr_t)buffer,
	};

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			die("io_uring_get_sqe");
	}
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = control_fd;
	sqe->cmd_op = op;
	sqe->user_data = tag;
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
}

/* One thread and one ring per queue; one command posted per slot. */
static void *uring_worker(void *arg)
{
	uint16_t queue = (uint16_t)(uintptr_t)arg;
	unsigned depth = device.queue_depth, live = depth;
	unsigned char **buffers = calloc(depth, sizeof(*buffers));
	/* Stalled requests: when to answer them (0: not stalled), and how. */
	struct timespec *stalled_until = calloc(depth, sizeof(*stalled_until));
	int *stalled_error = calloc(depth, sizeof(*stalled_error));
	struct io_uring ring;
	struct io_uring_cqe *cqe;

	if (io_uring_queue_init(depth, &ring, 0) < 0)
		die("io_uring_queue_init");
	for (unsigned t = 0; t < depth; t++) {
		buffers[t] = aligned_alloc(4096, max_rw_size);
		uring_submit(&ring, KBDUS_URING_CMD_FETCH, queue, (uint16_t)t, 0,
			     buffers[t]);
	}

	while (live) {
		struct __kernel_timespec wait = { 0 };
		struct timespec now;
		bool stalled = false;

		/* Answer the stalled requests that are due; wait until the
		 * next one is, at most. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (unsigned t = 0; t < depth; t++) {
			long long left;

			if (!stalled_until[t].tv_sec)
				continue;
			left = (stalled_until[t].tv_sec - now.tv_sec) * 1000000000ll +
			       stalled_until[t].tv_nsec - now.tv_nsec;
			if (left <= 0) {
				stalled_until[t].tv_sec = 0;
				uring_submit(&ring, KBDUS_URING_CMD_COMMIT_AND_FETCH,
					     queue, (uint16_t)t, stalled_error[t],
					     buffers[t]);
			} else if (!stalled || left < wait.tv_sec * 1000000000ll + wait.tv_nsec) {
				wait.tv_sec = left / 1000000000ll;
				wait.tv_nsec = left % 1000000000ll;
				stalled = true;
			}
		}
		if (io_uring_submit(&ring) < 0)
			die("io_uring_submit");
		int ret = stalled ? io_uring_wait_cqe_timeout(&ring, &cqe, &wait) :
				    io_uring_wait_cqe(&ring, &cqe);
		if (ret < 0 && ret != -ETIME && ret != -EINTR) {
			errno = -ret;
			die("io_uring_wait_cqe");
		}
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			uint16_t tag = (uint16_t)cqe->user_data;
			struct kbdus_request req;

			seen++;
			switch (cqe->res) {
			case KBDUS_URING_RES_TERMINATE:
				live--;
				continue;
			case KBDUS_URING_RES_DEVICE_AVAILABLE:
				announce(device.id);
				uring_submit(&ring, KBDUS_URING_CMD_FETCH, queue, tag,
					     0, buffers[tag]);
				continue;
			case KBDUS_URING_RES_REQUEST:
				break;
			default:
				errno = -cqe->res;
				die("uring command");
			}
			req = uring_descriptors[queue * depth + tag];
			int error = serve(&req, buffers[tag]);
			/* A slot's command only comes back with its commit, so
			 * a stalled request is answered late, not never: after
			 * twice the timeout, as blk-mq rounds timeouts up to
			 * seconds.  The other slots are served meanwhile. */
			if (!before_reply(&req)) {
				unsigned ms = (opt.timeout_ms ? opt.timeout_ms : 30000) * 2 + 2000;

				clock_gettime(CLOCK_MONOTONIC, &stalled_until[tag]);
				stalled_until[tag].tv_sec += ms / 1000;
				stalled_error[tag] = error;
				continue;
			}
			uring_submit(&ring, KBDUS_URING_CMD_COMMIT_AND_FETCH, queue,
				     tag, error, buffers[tag]);
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
	free(stalled_until);
	free(stalled_error);
	return NULL;
}

static void open_backing(void)
{
	int fd;

	if (!opt.backing) {
		disk = mmap(NULL, opt.size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (disk == MAP_FAILED)
			die("mmap");
		return;
	}
	fd = open(opt.backing, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)opt.size) < 0)
		die(opt.backing);
	disk = mmap(NULL, opt.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (disk == MAP_FAILED)
		die("mmap backing");
	close(fd);
}

static void usage(void)
{
	fputs("usage: uapi-ram [--protocol ioctl|mmap|uring] [--size BYTES] [--queues N]\n"
	      "  [--depth N] [--threads N] [--timeout-ms N] [--recoverable]\n"
	      "  [--partition-scan] [--write-cache] [--fua] [--types LIST]\n"
	      "  [--backing FILE] [--log FILE] [--attach ID] [--stall TYPE]\n"
	      "  [--exit-after N] [--delay-us N] [--linger-ms N]\n"
	      "  [--zoned BYTES [--conventional N] [--max-open N] [--max-active N]\n"
	      "   [--bad-report]]\n",
	      stderr);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option options[] = {
		{ "protocol", required_argument, 0, 'p' },
		{ "size", required_argument, 0, 's' },
		{ "queues", required_argument, 0, 'q' },
		{ "depth", required_argument, 0, 'd' },
		{ "threads", required_argument, 0, 't' },
		{ "timeout-ms", required_argument, 0, 'T' },
		{ "recoverable", no_argument, 0, 'r' },
		{ "partition-scan", no_argument, 0, 'P' },
		{ "write-cache", no_argument, 0, 'w' },
		{ "fua", no_argument, 0, 'f' },
		{ "types", required_argument, 0, 'y' },
		{ "backing", required_argument, 0, 'b' },
		{ "log", required_argument, 0, 'l' },
		{ "attach", required_argument, 0, 'a' },
		{ "stall", required_argument, 0, 'S' },
		{ "exit-after", required_argument, 0, 'x' },
		{ "delay-us", required_argument, 0, 'D' },
		{ "linger-ms", required_argument, 0, 'L' },
		{ "zoned", required_argument, 0, 'z' },
		{ "conventional", required_argument, 0, 'C' },
		{ "max-open", required_argument, 0, 'O' },
		{ "max-active", required_argument, 0, 'A' },
		{ "bad-report", no_argument, 0, 'B' },
		{ 0 },
	};
	int c;

	opt.types = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			opt.protocol = !strcmp(optarg, "ioctl") ? KBDUS_PROTOCOL_IOCTL :
				       !strcmp(optarg, "mmap")	? KBDUS_PROTOCOL_MMAP :
				       !strcmp(optarg, "uring") ? KBDUS_PROTOCOL_URING :
									  atoi(optarg);
			break;
		case 's': opt.size = strtoull(optarg, NULL, 0); break;
		case 'q': opt.queues = atoi(optarg); break;
		case 'd': opt.depth = atoi(optarg); break;
		case 't': opt.threads = atoi(optarg); break;
		case 'T': opt.timeout_ms = atoi(optarg); break;
		case 'r': opt.flags |= KBDUS_CONFIG_RECOVERABLE; break;
		case 'P': opt.flags |= KBDUS_CONFIG_PARTITION_SCAN; break;
		case 'w': opt.flags |= KBDUS_CONFIG_WRITE_CACHE; break;
		case 'f': opt.flags |= KBDUS_CONFIG_FUA; break;
		case 'y': opt.types = parse_types(optarg); break;
		case 'b': opt.backing = optarg; break;
		case 'l': opt.log_path = optarg; break;
		case 'a': opt.attach_id = atoll(optarg); break;
		case 'S': opt.stall_type = type_from_name(optarg); break;
		case 'x': opt.exit_after = atol(optarg); break;
		case 'D': opt.delay_us = atoi(optarg); break;
		case 'L': opt.linger_ms = atoi(optarg); break;
		case 'z': opt.zone_size = strtoull(optarg, NULL, 0); break;
		case 'C': opt.conventional = atoi(optarg); break;
		case 'O': opt.max_open = atoi(optarg); break;
		case 'A': opt.max_active = atoi(optarg); break;
		case 'B': opt.bad_report = true; break;
		default: usage();
		}
	}
	if (optind != argc || !opt.threads)
		usage();
	/* Every type the device can have, if not told otherwise. */
	if (!opt.types)
		opt.types = opt.zone_size ?
				    KBDUS_REQ_ZONE_TYPES_MASK |
					    KBDUS_REQ_BIT(KBDUS_REQ_READ) |
					    KBDUS_REQ_BIT(KBDUS_REQ_WRITE) |
					    KBDUS_REQ_BIT(KBDUS_REQ_FLUSH) |
					    KBDUS_REQ_BIT(KBDUS_REQ_IOCTL) :
				    KBDUS_REQ_DATA_TYPES_MASK &
					    ~KBDUS_REQ_ZONE_TYPES_MASK;
	if (opt.zone_size)
		opt.flags |= KBDUS_CONFIG_ZONED;
}

int main(int argc, char **argv)
{
	struct kbdus_device_config config = { 0 };
	struct kbdus_attach_args attach = { 0 };
	uint64_t id;
	pthread_t *threads;

	parse_args(argc, argv);

	control_fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (control_fd < 0)
		die(KBDUS_CONTROL_DEVICE_PATH);

	if (opt.log_path) {
		log_file = fopen(opt.log_path, "a");
		if (!log_file)
			die(opt.log_path);
	}

	if (opt.attach_id >= 0) {
		attach.id = (uint64_t)opt.attach_id;
		attach.protocol = (uint32_t)opt.protocol;
		if (ioctl(control_fd, KBDUS_IOCTL_ATTACH_DEVICE, &attach) < 0)
			die("KBDUS_IOCTL_ATTACH_DEVICE");
		config = attach.config;
		opt.size = config.size;
	} else {
		config.size = opt.size;
		config.logical_block_size = 512;
		config.supported_requests = opt.types;
		config.num_queues = (uint16_t)opt.queues;
		config.queue_depth = (uint16_t)opt.depth;
		config.protocol = (uint32_t)opt.protocol;
		config.flags = opt.flags;
		config.request_timeout_ms = opt.timeout_ms;
		config.zone_size = opt.zone_size;
		config.num_conventional_zones = opt.conventional;
		config.max_open_zones = opt.max_open;
		config.max_active_zones = opt.max_active;
		if (ioctl(control_fd, KBDUS_IOCTL_CREATE_DEVICE, &config) < 0)
			die("KBDUS_IOCTL_CREATE_DEVICE");
	}
	id = config.id;
	max_rw_size = config.max_read_write_size;
	open_backing();
	zones_init();

	if (opt.protocol == KBDUS_PROTOCOL_MMAP) {
		if (ioctl(control_fd, KBDUS_IOCTL_MMAP_LAYOUT, &layout) < 0)
			die("KBDUS_IOCTL_MMAP_LAYOUT");
		mmap_area = mmap(NULL, layout.mmap_size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, control_fd, 0);
		if (mmap_area == MAP_FAILED)
			die("mmap control fd");
	}

	device = config;
	if (opt.protocol == KBDUS_PROTOCOL_URING) {
		size_t size = (size_t)config.num_queues * config.queue_depth *
			      sizeof(struct kbdus_request);

		uring_descriptors = mmap(NULL, size, PROT_READ, MAP_SHARED,
					 control_fd, 0);
		if (uring_descriptors == MAP_FAILED)
			die("mmap descriptors");
		opt.threads = config.num_queues;
	}

	threads = calloc(opt.threads, sizeof(*threads));
	for (unsigned i = 0; i < opt.threads; i++)
		if (pthread_create(&threads[i], NULL,
				   opt.protocol == KBDUS_PROTOCOL_URING ? uring_worker :
				   opt.protocol == KBDUS_PROTOCOL_MMAP	? mmap_worker :
									  ioctl_worker,
				   opt.protocol == KBDUS_PROTOCOL_URING ?
					   (void *)(uintptr_t)i :
					   (void *)&id))
			die("pthread_create");
	for (unsigned i = 0; i < opt.threads; i++)
		pthread_join(threads[i], NULL);

	if (opt.linger_ms) {
		char path[64];

		snprintf(path, sizeof(path), "/sys/block/bdus-%llu",
			 (unsigned long long)id);
		for (unsigned ms = 0; ms < opt.linger_ms; ms += 100) {
			if (access(path, F_OK) < 0) {
				usleep(500000);
				break;
			}
			usleep(100000);
		}
	}
	return 0;
}
