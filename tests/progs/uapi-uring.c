// SPDX-License-Identifier: MIT
/*
 * uapi-uring: io_uring protocol checks that need raw control of the ring.
 *
 *   uapi-uring bad            every bad command gets its error CQE
 *   uapi-uring close-ring     close the ring with commands posted, then
 *                             exit; the device must go away
 *   uapi-uring stop           STOP gives every posted command back, so the
 *                             session ends while the process lives
 *   uapi-uring late           slots posted without a buffer: GET_DATA takes
 *                             a write's data later, LAND_AND_FETCH lands it
 *                             and answers at once, COMMIT answers from any
 *                             memory without posting the slot again
 *   uapi-uring fuzz SECONDS   random commands mixed into a working server
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kbdus.h>

#define DEPTH 8
#define SIZE (8u << 20)

static int failures, checks;

static void die(const char *what)
{
	fprintf(stderr, "uapi-uring: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void check(bool ok, const char *what, int got)
{
	checks++;
	if (!ok) {
		failures++;
		printf("FAIL %s (got %d)\n", what, got);
	}
}

/* A device of reads and writes; with write_cache, also FUA writes and
 * flushes. */
static int create_config(uint32_t protocol, uint32_t timeout_ms,
			 bool write_cache, uint64_t *id)
{
	struct kbdus_device_config c = {
		.size = SIZE,
		.logical_block_size = 512,
		.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ) |
				      KBDUS_REQ_BIT(KBDUS_REQ_WRITE),
		.queue_depth = DEPTH,
		.protocol = protocol,
		.request_timeout_ms = timeout_ms,
	};
	int fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (write_cache) {
		c.supported_requests |= KBDUS_REQ_BIT(KBDUS_REQ_FUA_WRITE) |
					KBDUS_REQ_BIT(KBDUS_REQ_FLUSH);
		c.flags = KBDUS_CONFIG_WRITE_CACHE | KBDUS_CONFIG_FUA;
	}

	if (fd < 0 || ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c) < 0)
		die("create");
	*id = c.id;
	return fd;
}

static int create(uint32_t protocol, uint64_t *id)
{
	return create_config(protocol, 0, false, id);
}

/* IOSQE_* flags for the next prep(). */
static unsigned char sqe_flags;

static void prep(struct io_uring *ring, int fd, uint32_t op, uint16_t queue,
		 uint16_t tag, int32_t result, uint64_t buffer, uint64_t user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct kbdus_uring_cmd cmd = { queue, tag, result, buffer };

	if (!sqe)
		die("io_uring_get_sqe");
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	sqe->user_data = user_data;
	sqe->flags = sqe_flags;
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
}

/* Completions of posted slots that arrived while run_one() waited. */
static struct {
	uint64_t tag;
	int res;
} deferred[64];
static unsigned int deferred_count;

/* Submits one command and returns its CQE result, or 1000 if it stayed
 * posted (no completion within 200 ms).  Other completions are kept for
 * next_completion(). */
static int run_one(struct io_uring *ring, int fd, uint32_t op, uint16_t queue,
		   uint16_t tag, int32_t result, uint64_t buffer)
{
	struct __kernel_timespec ts = { .tv_nsec = 200000000 };
	struct io_uring_cqe *cqe;
	int res;

	prep(ring, fd, op, queue, tag, result, buffer, 0x1234);
	io_uring_submit(ring);
	for (;;) {
		if (io_uring_wait_cqe_timeout(ring, &cqe, &ts) < 0)
			return 1000;
		res = cqe->res;
		if (cqe->user_data == 0x1234) {
			io_uring_cqe_seen(ring, cqe);
			return res;
		}
		if (deferred_count < 64) {
			deferred[deferred_count].tag = cqe->user_data;
			deferred[deferred_count++].res = res;
		}
		io_uring_cqe_seen(ring, cqe);
	}
}

/* The next completion of a posted slot: deferred ones first. */
static void next_completion(struct io_uring *ring, int *tag, int *res)
{
	struct io_uring_cqe *cqe;

	if (deferred_count) {
		*tag = (int)deferred[0].tag;
		*res = deferred[0].res;
		memmove(deferred, deferred + 1, --deferred_count * sizeof(*deferred));
		return;
	}
	if (io_uring_wait_cqe(ring, &cqe) < 0)
		die("wait");
	*tag = (int)cqe->user_data;
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
}

static void *read_block(void *arg)
{
	char path[64], *buf = aligned_alloc(4096, 4096);
	int fd;

	snprintf(path, sizeof(path), "/dev/bdus-%llu",
		 (unsigned long long)(uintptr_t)arg);
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd >= 0) {
		(void)!pread(fd, buf, 4096, 0);
		close(fd);
	}
	return NULL;
}

static void *other_thread_fetch(void *arg)
{
	int fd = *(int *)arg;
	static char buf[4096];
	struct io_uring ring;
	int res;

	io_uring_queue_init(4, &ring, 0);
	res = run_one(&ring, fd, KBDUS_URING_CMD_FETCH, 0, 7, 0, (uintptr_t)buf);
	check(res == -EINVAL, "FETCH from a second thread", res);
	io_uring_queue_exit(&ring);
	return NULL;
}

static int cmd_bad(void)
{
	static char buffer[DEPTH][1 << 20];
	struct io_uring ring;
	uint64_t id;
	int fd, res;

	/* Not a session, and the wrong protocol. */
	io_uring_queue_init(16, &ring, 0);
	fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	res = run_one(&ring, fd, KBDUS_URING_CMD_FETCH, 0, 0, 0, (uintptr_t)buffer[0]);
	check(res == -EBADFD, "command on an unbound fd", res);
	close(fd);
	fd = create(KBDUS_PROTOCOL_IOCTL, &id);
	res = run_one(&ring, fd, KBDUS_URING_CMD_FETCH, 0, 0, 0, (uintptr_t)buffer[0]);
	check(res == -EPROTOTYPE, "command on an ioctl session", res);
	close(fd);

	fd = create(KBDUS_PROTOCOL_URING, &id);
	check(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED &&
		      errno == EPERM, "writable descriptor mapping", errno);
	const struct kbdus_request *desc =
		mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	check(desc != MAP_FAILED, "read-only descriptor mapping", errno);

#define BAD(op, q, t, r, b, expected)                                      \
	do {                                                              \
		res = run_one(&ring, fd, op, q, t, r, b);                 \
		check(res == (expected), #op " " #q " " #t " " #r " " #b, res); \
	} while (0)

	uint64_t buf0 = (uintptr_t)buffer[0];
	BAD(KBDUS_URING_CMD_FETCH, 1, 0, 0, buf0, -EINVAL);      /* queue */
	BAD(KBDUS_URING_CMD_FETCH, 0xffff, 0, 0, buf0, -EINVAL);
	BAD(KBDUS_URING_CMD_FETCH, 0, DEPTH, 0, buf0, -EINVAL);  /* tag */
	BAD(KBDUS_URING_CMD_GET_DATA, 0, 0, 0, 0, -EINVAL);      /* buffer */
	BAD(KBDUS_URING_CMD_GET_DATA, 0, 0, 1, buf0, -EINVAL);   /* result */
	BAD(KBDUS_URING_CMD_GET_DATA, 0, DEPTH, 0, buf0, -EINVAL); /* tag */
	BAD(KBDUS_URING_CMD_COMMIT, 0, 0, -1, buf0, -EINVAL);    /* result */
	BAD(KBDUS_URING_CMD_COMMIT, 1, 0, 0, buf0, -EINVAL);     /* queue */
	BAD(KBDUS_URING_CMD_COMMIT, 0, 0, 0, buf0, -EINVAL);     /* no request */
	BAD(KBDUS_URING_CMD_GET_DATA, 0, 0, 0, buf0, -EINVAL);
	BAD(KBDUS_URING_CMD_FETCH, 0, 0, 5, buf0, -EINVAL);      /* result */
	BAD(KBDUS_URING_CMD_COMMIT_AND_FETCH, 0, 0, -1, buf0, -EINVAL);
	BAD(KBDUS_URING_CMD_COMMIT_AND_FETCH, 0, 0, 5000, buf0, -EINVAL);
	BAD(_IOW(KBDUS_IOCTL_TYPE, 99, struct kbdus_uring_cmd), 0, 0, 0, buf0, -EINVAL);
	BAD(KBDUS_URING_CMD_COMMIT_AND_FETCH, 0, 0, 0, buf0, -EINVAL); /* no request */
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 0, 0, 0, 0, -EINVAL);      /* buffer */
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 0, 0, -1, buf0, -EINVAL);  /* result */
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 0, 0, 5000, buf0, -EINVAL);
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 0, DEPTH, 0, buf0, -EINVAL); /* tag */
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 1, 0, 0, buf0, -EINVAL);   /* queue */
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 0, 0, 0, buf0, -EINVAL);   /* no request */

	/* Post every slot but 7; slot 0 gets the DEVICE_AVAILABLE. */
	for (uint16_t t = 0; t < DEPTH - 1; t++)
		prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, t, 0,
		     (uintptr_t)buffer[t], t);
	io_uring_submit(&ring);
	BAD(KBDUS_URING_CMD_FETCH, 0, 3, 0, buf0, -EBUSY);       /* posted */
	BAD(KBDUS_URING_CMD_COMMIT_AND_FETCH, 0, 3, 0, buf0, -EBUSY);

	pthread_t thread;
	pthread_create(&thread, NULL, other_thread_fetch, &fd);
	pthread_join(thread, NULL);

	/* A second ring, same thread, while this ring has commands posted:
	 * a batch's task work completes them all with one ring's flags. */
	struct io_uring ring2;
	io_uring_queue_init(4, &ring2, 0);
	res = run_one(&ring2, fd, KBDUS_URING_CMD_FETCH, 0, 7, 0,
		      (uintptr_t)buffer[7]);
	check(res == -EINVAL, "FETCH from a second ring", res);
	io_uring_queue_exit(&ring2);

	/* The first command of a fresh session, issued from an io-wq
	 * worker instead of the queue thread. */
	{
		uint64_t id2;
		int fd2 = create(KBDUS_PROTOCOL_URING, &id2);

		sqe_flags = IOSQE_ASYNC;
		res = run_one(&ring, fd2, KBDUS_URING_CMD_FETCH, 0, 0, 0,
			      (uintptr_t)buffer[7]);
		sqe_flags = 0;
		check(res == -EINVAL, "FETCH issued from io-wq", res);
		close(fd2);
	}

	/* MAP_SHARED through a read-only fd has VM_MAYSHARE but no
	 * VM_SHARED; it is still a shared mapping. */
	{
		struct kbdus_device_config c = {
			.size = SIZE,
			.logical_block_size = 512,
			.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ),
			.queue_depth = DEPTH,
			.protocol = KBDUS_PROTOCOL_URING,
		};
		int rofd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDONLY | O_CLOEXEC);

		if (rofd < 0 || ioctl(rofd, KBDUS_IOCTL_CREATE_DEVICE, &c) < 0)
			die("create on a read-only fd");
		void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, rofd, 0);
		check(m != MAP_FAILED, "descriptor mapping through an O_RDONLY fd",
		      errno);
		if (m != MAP_FAILED)
			munmap(m, 4096);
		close(rofd);
	}

	/* Wait for DEVICE_AVAILABLE, then have a read land on some slot. */
	int request_tag = -1;
	pthread_t reader;
	bool reading = false;
	while (request_tag < 0) {
		int tag, r;

		next_completion(&ring, &tag, &r);
		if (r == KBDUS_URING_RES_DEVICE_AVAILABLE) {
			prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, (uint16_t)tag, 0,
			     (uintptr_t)buffer[tag], (uint64_t)tag);
			io_uring_submit(&ring);
			pthread_create(&reader, NULL, read_block, (void *)(uintptr_t)id);
			reading = true;
		} else if (r == KBDUS_URING_RES_REQUEST) {
			request_tag = tag;
		} else {
			check(false, "unexpected CQE while waiting", r);
			return 1;
		}
	}
	check(desc[request_tag].type == KBDUS_REQ_READ && desc[request_tag].size == 4096,
	      "descriptor of the read", desc[request_tag].type);
	BAD(KBDUS_URING_CMD_FETCH, 0, request_tag, 0, buf0, -EBUSY); /* owed */
	memset(buffer[request_tag], 0xab, 4096);
	res = run_one(&ring, fd, KBDUS_URING_CMD_COMMIT_AND_FETCH, 0,
		      (uint16_t)request_tag, 0, (uintptr_t)buffer[request_tag]);
	check(res == 1000, "COMMIT_AND_FETCH re-posts the slot", res);
	BAD(KBDUS_URING_CMD_COMMIT_AND_FETCH, 0, request_tag, 0, buf0, -EBUSY); /* double */
	if (reading)
		pthread_join(reader, NULL);

	printf("%d checks, %d failed\n", checks, failures);
	/* Exiting with commands posted cancels them. */
	return failures ? 1 : 0;
}

/* Posts every slot, closes the ring, and exits; the session must end. */
static int cmd_close_ring(void)
{
	static char buffer[DEPTH][1 << 20];
	struct io_uring ring;
	uint64_t id;
	int fd = create(KBDUS_PROTOCOL_URING, &id);

	io_uring_queue_init(16, &ring, 0);
	for (uint16_t t = 0; t < DEPTH; t++)
		prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, t, 0, (uintptr_t)buffer[t], t);
	io_uring_submit(&ring);
	usleep(300000);
	io_uring_queue_exit(&ring);
	printf("%llu\n", (unsigned long long)id);
	fflush(stdout);
	usleep(300000);
	close(fd);
	return 0;
}

static void *other_thread_stop(void *arg)
{
	int fd = *(int *)arg;
	struct io_uring ring;
	int res;

	io_uring_queue_init(4, &ring, 0);
	res = run_one(&ring, fd, KBDUS_URING_CMD_STOP, 0, 0, 0, 0);
	check(res == -EINVAL, "STOP from a second thread", res);
	io_uring_queue_exit(&ring);
	return NULL;
}

static bool device_exists(uint64_t id)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/bdus-%llu", (unsigned long long)id);
	return access(path, F_OK) == 0;
}

/*
 * Serves the device until it is available, STOPs the queue, and checks that
 * every posted command came back with -ECANCELED, that later FETCHes fail at
 * once, and that closing the ring and the fd then ends the session while
 * this process lives.  The ring is set up as libbdus prefers
 * (SINGLE_ISSUER | DEFER_TASKRUN where the kernel has it), whose teardown
 * with commands posted makes 6.12's lockdep warn.
 */
static int cmd_stop(void)
{
	static char buffer[DEPTH][1 << 20];
	struct io_uring_params params = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	};
	struct io_uring ring;
	uint64_t id, buf0 = (uintptr_t)buffer[0];
	int fd = create(KBDUS_PROTOCOL_URING, &id), res;
	unsigned int cancelled = 0, delivered = 0, other = 0;
	int stop_res = 1000, cancelled_tag = 0;

	if (io_uring_queue_init_params(32, &ring, &params) < 0 &&
	    io_uring_queue_init(32, &ring, 0) < 0)
		die("io_uring_queue_init");

	BAD(KBDUS_URING_CMD_STOP, 1, 0, 0, 0, -EINVAL); /* queue */
	BAD(KBDUS_URING_CMD_STOP, 0, 1, 0, 0, -EINVAL); /* tag */
	BAD(KBDUS_URING_CMD_STOP, 0, 0, 1, 0, -EINVAL); /* result */
	BAD(KBDUS_URING_CMD_STOP, 0, 0, 0, buf0, -EINVAL); /* buffer */

	for (uint16_t t = 0; t < DEPTH; t++)
		prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, t, 0,
		     (uintptr_t)buffer[t], t);
	io_uring_submit(&ring);

	/* Serve (zeros) until the device is available: the partition scan
	 * reads it first. */
	for (bool available = false; !available;) {
		int tag, r;

		next_completion(&ring, &tag, &r);
		if (r == KBDUS_URING_RES_DEVICE_AVAILABLE) {
			available = true;
		} else if (r == KBDUS_URING_RES_REQUEST) {
			memset(buffer[tag], 0, 1 << 20);
			prep(&ring, fd, KBDUS_URING_CMD_COMMIT_AND_FETCH, 0,
			     (uint16_t)tag, 0, (uintptr_t)buffer[tag],
			     (uint64_t)tag);
		} else {
			check(false, "unexpected CQE before STOP", r);
			return 1;
		}
		if (available) /* the notification took the slot */
			prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, (uint16_t)tag,
			     0, (uintptr_t)buffer[tag], (uint64_t)tag);
		io_uring_submit(&ring);
	}

	pthread_t thread;
	pthread_create(&thread, NULL, other_thread_stop, &fd);
	pthread_join(thread, NULL);

	/* Every slot is posted: STOP gives all of them back, but for any
	 * that a request (from some other reader) reached first. */
	prep(&ring, fd, KBDUS_URING_CMD_STOP, 0, 0, 0, 0, 0x5709);
	io_uring_submit(&ring);
	while (cancelled + delivered + other < DEPTH || stop_res == 1000) {
		struct __kernel_timespec ts = { .tv_sec = 5 };
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts) < 0)
			break;
		if (cqe->user_data == 0x5709) {
			stop_res = cqe->res;
		} else if (cqe->res == -ECANCELED) {
			cancelled++;
			cancelled_tag = (int)cqe->user_data;
		} else if (cqe->res == KBDUS_URING_RES_REQUEST) {
			delivered++;
		} else {
			other++;
		}
		io_uring_cqe_seen(&ring, cqe);
	}
	check(stop_res == 0, "STOP completes with 0", stop_res);
	check(cancelled + delivered == DEPTH && cancelled > 0,
	      "STOP gives every posted command back", (int)cancelled);
	check(other == 0, "no other completion after STOP", (int)other);
	BAD(KBDUS_URING_CMD_FETCH, 0, cancelled_tag, 0, buf0, -ECANCELED);
	res = run_one(&ring, fd, KBDUS_URING_CMD_STOP, 0, 0, 0, 0);
	check(res == 0, "a second STOP", res);

	/* Nothing is posted: closing ends the session now, not at exit. */
	io_uring_queue_exit(&ring);
	close(fd);
	for (int i = 0; i < 300 && device_exists(id); i++)
		usleep(100000);
	check(!device_exists(id), "the device went while its driver lives", 0);

	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------------- */

static atomic_bool stop;

static void *do_io(void *arg)
{
	char path[64];
	void *buf = aligned_alloc(4096, 65536);
	int fd = -1;

	snprintf(path, sizeof(path), "/dev/bdus-%llu",
		 (unsigned long long)(uintptr_t)arg);
	for (int i = 0; i < 100 && (fd = open(path, O_RDWR | O_DIRECT)) < 0; i++)
		usleep(50000);
	while (fd >= 0 && !stop) {
		off_t off = (off_t)(rand() % (SIZE / 4096)) * 4096;
		if (rand() & 1)
			(void)!pread(fd, buf, 4096 * (1 + rand() % 8), off % (SIZE - 65536));
		else
			(void)!pwrite(fd, buf, 4096 * (1 + rand() % 8), off % (SIZE - 65536));
	}
	return NULL;
}

static int cmd_fuzz(int seconds, unsigned int seed)
{
	static char buffer[DEPTH][1 << 20];
	static char disk[SIZE];
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	const struct kbdus_request *desc;
	pthread_t io;
	unsigned long commands = 0, requests = 0;
	uint64_t id;
	time_t end = time(NULL) + seconds;
	int fd;

	srand(seed);
	printf("uapi-uring fuzz: seed %u, %d s\n", seed, seconds);
	fd = create(KBDUS_PROTOCOL_URING, &id);
	desc = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (desc == MAP_FAILED)
		die("mmap");
	io_uring_queue_init(64, &ring, 0);
	for (uint16_t t = 0; t < DEPTH; t++)
		prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, t, 0, (uintptr_t)buffer[t], t);
	pthread_create(&io, NULL, do_io, (void *)(uintptr_t)id);

	/* A backing file, for random passthroughs to reach real I/O. */
	static struct {
		struct kbdus_passthrough h;
		struct kbdus_extent e[2];
	} pt;
	{
		char path[] = "/tmp/uapi-uring-backing.XXXXXX";
		int backing = mkstemp(path);
		struct kbdus_backing_args b = { .fd = backing };

		if (backing < 0 || ftruncate(backing, SIZE) < 0 ||
		    ioctl(fd, KBDUS_IOCTL_BACKING_REGISTER, &b) < 0)
			die("backing file");
		unlink(path);
		close(backing);
	}

	while (time(NULL) < end) {
		struct __kernel_timespec ts = { .tv_nsec = 50000000 };

		/* Random commands: any opcode, queue, tag, result, buffer. */
		for (int i = rand() % 3; i > 0; i--) {
			uint64_t buffers[] = { 0, 1, (uintptr_t)buffer[rand() % DEPTH],
					       0xffff888000000000ull, (uint64_t)rand() << 12,
					       (uintptr_t)&pt };
			uint32_t ops[] = { KBDUS_URING_CMD_FETCH,
					   KBDUS_URING_CMD_COMMIT_AND_FETCH,
					   KBDUS_URING_CMD_COMMIT,
					   KBDUS_URING_CMD_GET_DATA,
					   KBDUS_URING_CMD_PASSTHROUGH_AND_FETCH,
					   KBDUS_URING_CMD_LAND_AND_FETCH,
					   (uint32_t)rand() };

			/* Mostly plausible: one or two extents of the file. */
			pt.h.num_extents = 1 + (uint32_t)(rand() % 2);
			for (int e = 0; e < 2; e++)
				pt.e[e] = (struct kbdus_extent){
					(uint64_t)(rand() % 1024) * 4096,
					(uint32_t)(rand() % 64) * 512,
					(uint32_t)(rand() % 8 ? 0 : rand() % 70) };
			prep(&ring, fd, ops[rand() % 7], (uint16_t)(rand() % 3),
			     (uint16_t)(rand() % (DEPTH + 2)), rand() % 3 ? 0 : rand() % 6000 - 100,
			     buffers[rand() % 6], 1000);
			commands++;
		}
		io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);

		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			uint64_t tag = cqe->user_data;
			seen++;
			if (tag >= DEPTH || cqe->res != KBDUS_URING_RES_REQUEST) {
				if (tag < DEPTH && cqe->res == KBDUS_URING_RES_DEVICE_AVAILABLE)
					prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, (uint16_t)tag,
					     0, (uintptr_t)buffer[tag], tag);
				continue;
			}
			struct kbdus_request req = desc[tag];
			if (req.offset + req.size <= SIZE) {
				if (req.type == KBDUS_REQ_READ)
					memcpy(buffer[tag], disk + req.offset, req.size);
				else if (req.type == KBDUS_REQ_WRITE)
					memcpy(disk + req.offset, buffer[tag], req.size);
			}
			requests++;
			prep(&ring, fd, KBDUS_URING_CMD_COMMIT_AND_FETCH, 0, (uint16_t)tag, 0,
			     (uintptr_t)buffer[tag], tag);
		}
		io_uring_cq_advance(&ring, seen);
	}
	stop = true;
	/* Destroying the device ends the I/O thread's requests. */
	struct kbdus_destroy_args d = { .id = id, .flags = KBDUS_DESTROY_NO_FLUSH };
	ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, &d);
	pthread_join(io, NULL);
	printf("uapi-uring fuzz: %lu random commands, %lu requests served\n", commands,
	       requests);
	return 0;
}

/* ------------------------------------------------------------------------- */

/* An O_DIRECT transfer on /dev/bdus-<id>, run on its own thread. */
struct transfer {
	uint64_t id;
	bool write;
	int flags; /* more open flags */
	off_t offset;
	size_t size;
	char *data;
	ssize_t result;
	int error;
	atomic_bool done;
	pthread_t thread;
};

static void *transfer_fn(void *arg)
{
	struct transfer *t = arg;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/bdus-%llu", (unsigned long long)t->id);
	fd = open(path, (t->write ? O_WRONLY : O_RDONLY) | O_DIRECT | t->flags);
	if (fd < 0) {
		t->result = -1;
		t->error = errno;
		atomic_store(&t->done, true);
		return NULL;
	}
	if (t->write)
		t->result = pwrite(fd, t->data, t->size, t->offset);
	else
		t->result = pread(fd, t->data, t->size, t->offset);
	t->error = t->result < 0 ? errno : 0;
	close(fd);
	atomic_store(&t->done, true);
	return NULL;
}

/* A transfer whose device is opened with O_DIRECT | flags. */
static void start_transfer_flags(struct transfer *t, uint64_t id, bool write,
				 off_t offset, size_t size, int flags)
{
	t->id = id;
	t->write = write;
	t->flags = flags;
	atomic_store(&t->done, false);
	t->offset = offset;
	t->size = size;
	t->data = aligned_alloc(4096, size);
	memset(t->data, write ? 0x5a : 0, size);
	if (write)
		for (size_t i = 0; i < size; i += 512)
			t->data[i] = (char)(i / 512 + 1);
	pthread_create(&t->thread, NULL, transfer_fn, t);
}

static void start_transfer(struct transfer *t, uint64_t id, bool write,
			   off_t offset, size_t size)
{
	start_transfer_flags(t, id, write, offset, size, 0);
}

/*
 * Serves a device whose slots are all posted without a buffer: the
 * partition scan's reads get zeros (COMMIT from a buffer, then a FETCH
 * without one), until DEVICE_AVAILABLE.
 */
static void late_wait_available(struct io_uring *ring, int fd)
{
	static char zeros[1 << 20];

	for (;;) {
		int tag, r;

		next_completion(ring, &tag, &r);
		if (tag == 0x77) { /* one of the COMMITs below */
			check(r == 0, "COMMIT during the partition scan", r);
			continue;
		}
		if (tag >= DEPTH ||
		    (r != KBDUS_URING_RES_REQUEST &&
		     r != KBDUS_URING_RES_DEVICE_AVAILABLE)) {
			check(false, "unexpected CQE before DEVICE_AVAILABLE", r);
			exit(1);
		}
		if (r == KBDUS_URING_RES_REQUEST)
			prep(ring, fd, KBDUS_URING_CMD_COMMIT, 0, (uint16_t)tag,
			     0, (uintptr_t)zeros, 0x77);
		prep(ring, fd, KBDUS_URING_CMD_FETCH, 0, (uint16_t)tag, 0, 0,
		     (uint64_t)tag);
		io_uring_submit(ring);
		if (r == KBDUS_URING_RES_DEVICE_AVAILABLE)
			return;
	}
}

/* The tag of the next request, once the device is available. */
static int late_next_request(struct io_uring *ring)
{
	int tag, r;

	next_completion(ring, &tag, &r);
	if (tag >= DEPTH || r != KBDUS_URING_RES_REQUEST) {
		check(false, "unexpected CQE", r);
		exit(1);
	}
	return tag;
}

/* Posts every slot without a buffer and serves until the device is
 * available. */
static void late_start(struct io_uring *ring, int fd)
{
	for (uint16_t i = 0; i < DEPTH; i++)
		prep(ring, fd, KBDUS_URING_CMD_FETCH, 0, i, 0, 0, i);
	io_uring_submit(ring);
	late_wait_available(ring, fd);
}

/* Serves FLUSHes, each with a COMMIT_AND_FETCH, until transfer t ends. */
static void late_serve_flushes(struct io_uring *ring, int fd,
			       struct transfer *t,
			       const struct kbdus_request *desc)
{
	while (!atomic_load(&t->done)) {
		struct __kernel_timespec ts = { .tv_nsec = 100000000 };
		struct io_uring_cqe *cqe;
		int tag, r;

		if (!deferred_count &&
		    io_uring_wait_cqe_timeout(ring, &cqe, &ts) < 0)
			continue;
		next_completion(ring, &tag, &r);
		if (tag >= DEPTH || r != KBDUS_URING_RES_REQUEST ||
		    desc[tag].type != KBDUS_REQ_FLUSH) {
			check(false, "only FLUSHes while the transfer ends", r);
			exit(1);
		}
		prep(ring, fd, KBDUS_URING_CMD_COMMIT_AND_FETCH, 0,
		     (uint16_t)tag, 0, 0, (uint64_t)tag);
		io_uring_submit(ring);
	}
}

static void *other_thread_late(void *arg)
{
	int *args = arg; /* fd, tag */
	static char buf[1 << 16];
	struct io_uring ring;
	int res;

	io_uring_queue_init(4, &ring, 0);
	res = run_one(&ring, args[0], KBDUS_URING_CMD_GET_DATA, 0,
		      (uint16_t)args[1], 0, (uintptr_t)buf);
	check(res == -EINVAL, "GET_DATA from a second thread", res);
	res = run_one(&ring, args[0], KBDUS_URING_CMD_COMMIT, 0,
		      (uint16_t)args[1], 0, 0);
	check(res == -EINVAL, "COMMIT from a second thread", res);
	io_uring_queue_exit(&ring);
	return NULL;
}

static int cmd_late(void)
{
	static char data[1 << 16], store[1 << 16];
	struct io_uring ring, ring2;
	struct transfer t;
	uint64_t id;
	int fd = create_config(KBDUS_PROTOCOL_URING, 0, true, &id);
	int res, tag;
	const struct kbdus_request *desc =
		mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

	if (desc == MAP_FAILED)
		die("mmap");
	io_uring_queue_init(32, &ring, 0);
	io_uring_queue_init(4, &ring2, 0);

	BAD(KBDUS_URING_CMD_GET_DATA, 0, 0, 0, (uintptr_t)data, -EINVAL);
	late_start(&ring, fd);

	/* A write: its data waits in the kernel until GET_DATA. */
	start_transfer(&t, id, true, 65536, 16384);
	tag = late_next_request(&ring);
	check(desc[tag].type == KBDUS_REQ_WRITE && desc[tag].size == 16384 &&
		      desc[tag].offset == 65536,
	      "descriptor of the write", desc[tag].type);
	memset(data, 0, sizeof(data));
	BAD(KBDUS_URING_CMD_GET_DATA, 0, tag, 0, 1, -EFAULT);
	res = run_one(&ring, fd, KBDUS_URING_CMD_GET_DATA, 0, (uint16_t)tag, 0,
		      (uintptr_t)data);
	check(res == 0 && !memcmp(data, t.data, 16384),
	      "GET_DATA copies the write's data", res);
	memset(data, 0, sizeof(data));
	res = run_one(&ring2, fd, KBDUS_URING_CMD_GET_DATA, 0, (uint16_t)tag, 0,
		      (uintptr_t)data + 1);
	check(res == 0 && !memcmp(data + 1, t.data, 16384),
	      "GET_DATA again, another ring, unaligned", res);
	{
		int args[2] = { fd, tag };
		pthread_t thread;

		pthread_create(&thread, NULL, other_thread_late, args);
		pthread_join(thread, NULL);
	}
	BAD(KBDUS_URING_CMD_FETCH, 0, tag, 0, 0, -EBUSY); /* owed */
	res = run_one(&ring, fd, KBDUS_URING_CMD_COMMIT, 0, (uint16_t)tag, 0, 0);
	check(res == 0, "COMMIT of the write, no buffer", res);
	pthread_join(t.thread, NULL);
	check(t.result == 16384, "the write succeeded", t.error);
	BAD(KBDUS_URING_CMD_COMMIT, 0, tag, 0, 0, -EINVAL); /* twice */
	BAD(KBDUS_URING_CMD_GET_DATA, 0, tag, 0, (uintptr_t)data, -EINVAL);
	/* COMMIT did not post the slot: a FETCH is accepted. */
	{
		struct __kernel_timespec ts = { .tv_nsec = 200000000 };
		struct io_uring_cqe *cqe;

		prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, (uint16_t)tag, 0, 0,
		     (uint64_t)tag);
		io_uring_submit(&ring);
		res = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
		check(res == -ETIME, "FETCH after COMMIT stays posted",
		      res ? res : cqe->res);
	}

	/* A read, answered from any memory: one copy. */
	for (size_t i = 0; i < sizeof(store); i++)
		store[i] = (char)(i * 7 + 3);
	start_transfer(&t, id, false, 8192, 8192);
	tag = late_next_request(&ring);
	check(desc[tag].type == KBDUS_REQ_READ && desc[tag].size == 8192,
	      "descriptor of the read", desc[tag].type);
	BAD(KBDUS_URING_CMD_GET_DATA, 0, tag, 0, (uintptr_t)data, 0); /* none */
	res = run_one(&ring2, fd, KBDUS_URING_CMD_COMMIT, 0, (uint16_t)tag, 0,
		      (uintptr_t)store + 100);
	check(res == 0, "COMMIT of the read from another ring", res);
	pthread_join(t.thread, NULL);
	check(t.result == 8192 && !memcmp(t.data, store + 100, 8192),
	      "the read got the committed data", t.error);
	prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, (uint16_t)tag, 0, 0, tag);
	io_uring_submit(&ring);

	/* A read whose reply data cannot be read fails with EIO. */
	start_transfer(&t, id, false, 0, 4096);
	tag = late_next_request(&ring);
	res = run_one(&ring, fd, KBDUS_URING_CMD_COMMIT, 0, (uint16_t)tag, 0, 0);
	check(res == -EFAULT, "COMMIT of a read without data", res);
	pthread_join(t.thread, NULL);
	check(t.result < 0 && t.error == EIO, "that read failed with EIO",
	      t.error);
	prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, (uint16_t)tag, 0, 0, tag);
	io_uring_submit(&ring);

	/* LAND_AND_FETCH: a write's data lands where the driver says and
	 * the write completes, in one command that then stays posted. */
	start_transfer(&t, id, true, 32768, 12288);
	tag = late_next_request(&ring);
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 0, tag, 0, 1, -EFAULT);
	memset(store, 0, sizeof(store));
	prep(&ring, fd, KBDUS_URING_CMD_LAND_AND_FETCH, 0, (uint16_t)tag, 0,
	     (uintptr_t)store + 3, (uint64_t)tag);
	io_uring_submit(&ring);
	pthread_join(t.thread, NULL);
	check(t.result == 12288 && !memcmp(store + 3, t.data, 12288),
	      "LAND_AND_FETCH landed the write's data and completed it",
	      t.error);
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 0, tag, 0, (uintptr_t)store,
	    -EBUSY); /* it is posted */
	BAD(KBDUS_URING_CMD_COMMIT, 0, tag, 0, 0, -EINVAL); /* none held */
	/* The landing answers with the driver's result too, and lands the
	 * data whatever the result. */
	start_transfer(&t, id, true, 0, 4096);
	tag = late_next_request(&ring);
	memset(store, 0, sizeof(store));
	prep(&ring, fd, KBDUS_URING_CMD_LAND_AND_FETCH, 0, (uint16_t)tag,
	     ENOSPC, (uintptr_t)store, (uint64_t)tag);
	io_uring_submit(&ring);
	pthread_join(t.thread, NULL);
	check(t.result < 0 && t.error == ENOSPC,
	      "LAND_AND_FETCH with ENOSPC fails the write", t.error);
	check(!memcmp(store, t.data, 4096), "and its data landed", 0);
	BAD(KBDUS_URING_CMD_FETCH, 0, tag, 0, 0, -EBUSY); /* it is posted */
	/* A read has nothing to land, and its pages nothing to fill them:
	 * refused, and the driver still holds it. */
	start_transfer(&t, id, false, 4096, 4096);
	tag = late_next_request(&ring);
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 0, tag, 0, (uintptr_t)store,
	    -EINVAL);
	for (size_t i = 0; i < 4096; i++)
		store[i] = (char)(i * 5 + 1);
	res = run_one(&ring, fd, KBDUS_URING_CMD_COMMIT, 0, (uint16_t)tag, 0,
		      (uintptr_t)store);
	check(res == 0, "COMMIT of the read LAND_AND_FETCH refused", res);
	pthread_join(t.thread, NULL);
	check(t.result == 4096 && !memcmp(t.data, store, 4096),
	      "that read got the committed data", t.error);
	prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, (uint16_t)tag, 0, 0, tag);
	io_uring_submit(&ring);

	/* A FUA write may complete only once its data is stable, which only
	 * the driver can tell: LAND_AND_FETCH refuses it, and the driver
	 * still holds it.  (O_DIRECT | O_DSYNC; a FLUSH follows.) */
	start_transfer_flags(&t, id, true, 16384, 4096, O_DSYNC);
	tag = late_next_request(&ring);
	check(desc[tag].type == KBDUS_REQ_FUA_WRITE && desc[tag].size == 4096,
	      "descriptor of the FUA write", desc[tag].type);
	memset(store, 0, 4096);
	BAD(KBDUS_URING_CMD_LAND_AND_FETCH, 0, tag, 0, (uintptr_t)store,
	    -EINVAL);
	check(store[0] == 0, "nothing of the FUA write landed", store[0]);
	res = run_one(&ring, fd, KBDUS_URING_CMD_GET_DATA, 0, (uint16_t)tag, 0,
		      (uintptr_t)data);
	check(res == 0 && !memcmp(data, t.data, 4096),
	      "GET_DATA of the FUA write after the refusal", res);
	prep(&ring, fd, KBDUS_URING_CMD_COMMIT_AND_FETCH, 0, (uint16_t)tag, 0,
	     0, tag);
	io_uring_submit(&ring);
	late_serve_flushes(&ring, fd, &t, desc);
	pthread_join(t.thread, NULL);
	check(t.result == 4096, "the FUA write succeeded", t.error);

	/* On a device with a 1 s timeout, a held write times out: GET_DATA
	 * and a LAND_AND_FETCH's landing are stale, and the COMMIT after
	 * either is ignored. */
	io_uring_queue_exit(&ring);
	io_uring_queue_init(32, &ring, 0);
	fd = create_config(KBDUS_PROTOCOL_URING, 1000, false, &id);
	desc = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (desc == MAP_FAILED)
		die("mmap");
	late_start(&ring, fd);
	start_transfer(&t, id, true, 0, 4096);
	tag = late_next_request(&ring);
	pthread_join(t.thread, NULL);
	check(t.result < 0 && t.error == ETIMEDOUT, "the held write timed out",
	      t.error);
	res = run_one(&ring, fd, KBDUS_URING_CMD_GET_DATA, 0, (uint16_t)tag, 0,
		      (uintptr_t)data);
	check(res == -ESTALE, "GET_DATA after the timeout", res);
	res = run_one(&ring, fd, KBDUS_URING_CMD_COMMIT, 0, (uint16_t)tag, 0, 0);
	check(res == 0, "COMMIT after the timeout", res);
	prep(&ring, fd, KBDUS_URING_CMD_FETCH, 0, (uint16_t)tag, 0, 0, tag);
	io_uring_submit(&ring);
	start_transfer(&t, id, true, 8192, 4096);
	tag = late_next_request(&ring);
	pthread_join(t.thread, NULL);
	check(t.result < 0 && t.error == ETIMEDOUT,
	      "the second held write timed out", t.error);
	memset(data, 0, sizeof(data));
	res = run_one(&ring, fd, KBDUS_URING_CMD_LAND_AND_FETCH, 0,
		      (uint16_t)tag, 0, (uintptr_t)data);
	check(res == -ESTALE, "LAND_AND_FETCH after the timeout is stale",
	      res);
	check(data[0] == 0, "nothing landed from a timed-out write", data[0]);
	/* Stays posted (run_one's 1000): the driver still held the request,
	 * and its COMMIT_AND_FETCH is ignored; the last command. */
	res = run_one(&ring, fd, KBDUS_URING_CMD_COMMIT_AND_FETCH, 0,
		      (uint16_t)tag, 0, 0);
	check(res == 1000, "COMMIT_AND_FETCH after a stale landing posts",
	      res);
	BAD(KBDUS_URING_CMD_COMMIT, 0, tag, 0, 0, -EINVAL); /* none held */

	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "bad"))
		return cmd_bad();
	if (argc == 2 && !strcmp(argv[1], "close-ring"))
		return cmd_close_ring();
	if (argc == 2 && !strcmp(argv[1], "stop"))
		return cmd_stop();
	if (argc == 2 && !strcmp(argv[1], "late"))
		return cmd_late();
	if (argc >= 3 && !strcmp(argv[1], "fuzz"))
		return cmd_fuzz(atoi(argv[2]),
				argc > 3 ? (unsigned int)atoi(argv[3]) : (unsigned int)time(NULL));
	fprintf(stderr, "usage: uapi-uring bad | close-ring | stop | late | fuzz SECONDS [SEED]\n");
	return 2;
}
