// SPDX-License-Identifier: MIT
/*
 * uapi-passthrough: kernel-side passthrough through the raw interface.
 *
 *   uapi-passthrough DIR   DIR is where backing files go (a tmpfs)
 *
 * On an ioctl-protocol device: every bad input to KBDUS_IOCTL_BACKING_*
 * and every passthrough reply kbdus must refuse, each leaving the request
 * with the driver (the good reply that follows would be stale otherwise).
 * Then, on each protocol, requests served from two files at once: a write
 * and a FUA write land in both, a read returns them, a flush, a discard and
 * both write-zeros reach the files, a read past a file's end and a write
 * to a read-only file fail, secure erase is refused.  Over uring, a
 * refused PASSTHROUGH_AND_FETCH completes at once and changes nothing, and
 * an accepted one posts its slot again.
 *
 * Prints one line per failed check and exits 1 if any failed.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kbdus.h>

#define DEV_SIZE (1u << 20)
#define FILE_SIZE (1u << 20)
#define DEPTH 4
#define IO_SIZE 8192u /* every transfer: half in file A, half in file B */
/* Each transfer ends with a read of this block, so the driver knows when
 * the kernel's own requests for it (the flush after a FUA write, say) are
 * over. */
#define SENTINEL (DEV_SIZE - 512)

static int failures, checks;
static const char *dir;

static void die(const char *what)
{
	fprintf(stderr, "uapi-passthrough: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void check(bool ok, const char *what, long got)
{
	checks++;
	if (!ok) {
		failures++;
		printf("FAIL %s (got %ld)\n", what, got);
	}
}

/* ------------------------------------------------------------------------- */
/* Backing files */

enum { FILE_A, FILE_B, FILE_RO, FILE_SHORT, NUM_FILES };

static int files[NUM_FILES]; /* our fds */
static uint32_t ids[NUM_FILES]; /* kbdus's ids */

static int make_file(const char *name, off_t size, int open_flags)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, size) < 0)
		die(path);
	for (off_t off = 0; off < size; off += 4096) {
		char block[4096];

		memset(block, name[0], sizeof(block));
		if (pwrite(fd, block, sizeof(block), off) != sizeof(block))
			die("fill");
	}
	if (open_flags != O_RDWR) {
		close(fd);
		fd = open(path, open_flags | O_CLOEXEC);
		if (fd < 0)
			die(path);
	}
	return fd;
}

static int register_file(int session, int fd)
{
	struct kbdus_backing_args args = { .fd = fd };

	if (ioctl(session, KBDUS_IOCTL_BACKING_REGISTER, &args) < 0)
		return -errno;
	return (int)args.id;
}

static void register_files(int session)
{
	for (int i = 0; i < NUM_FILES; i++) {
		int id = register_file(session, files[i]);

		check(id >= 0, "registering a backing file", id);
		ids[i] = (uint32_t)id;
	}
}

/* Whether size bytes at off of a file equal data (or are all c, if data is
 * NULL). */
static bool file_has(int file, off_t off, const char *data, int c, size_t size)
{
	char *buf = malloc(size);
	bool same;

	if (!buf || pread(files[file], buf, size, off) != (ssize_t)size)
		die("pread");
	if (data) {
		same = !memcmp(buf, data, size);
	} else {
		same = true;
		for (size_t i = 0; i < size; i++)
			same &= buf[i] == (char)c;
	}
	free(buf);
	return same;
}

/* ------------------------------------------------------------------------- */
/* I/O on the device, from another thread */

enum op { OP_READ, OP_WRITE, OP_FUA_WRITE, OP_FLUSH, OP_DISCARD, OP_ZEROOUT,
	  OP_PUNCH, OP_SECURE_ERASE };

struct transfer {
	uint64_t id;
	enum op op;
	off_t offset;
	char *data; /* IO_SIZE bytes */
	char *sentinel; /* 512 bytes */
	int error; /* 0 or errno */
	pthread_t thread;
};

static void *transfer_fn(void *arg)
{
	struct transfer *t = arg;
	uint64_t range[2] = { (uint64_t)t->offset, IO_SIZE };
	int flags = O_RDWR | O_DIRECT | (t->op == OP_FUA_WRITE ? O_DSYNC : 0);
	char path[64];
	long ret;
	int fd;

	snprintf(path, sizeof(path), "/dev/bdus-%llu", (unsigned long long)t->id);
	/* A new device's node appears a little after the device (devtmpfs):
	 * on a slow kernel, after this thread starts. */
	for (int tries = 0; (fd = open(path, flags)) < 0 && errno == ENOENT &&
			    tries < 300;
	     tries++)
		usleep(100000);
	if (fd < 0) {
		t->error = errno;
		return NULL;
	}
	switch (t->op) {
	case OP_READ:
		ret = pread(fd, t->data, IO_SIZE, t->offset);
		break;
	case OP_WRITE:
	case OP_FUA_WRITE:
		ret = pwrite(fd, t->data, IO_SIZE, t->offset);
		break;
	case OP_FLUSH:
		ret = fsync(fd);
		break;
	case OP_DISCARD:
		ret = ioctl(fd, BLKDISCARD, range);
		break;
	case OP_ZEROOUT:
		ret = ioctl(fd, BLKZEROOUT, range);
		break;
	case OP_PUNCH:
		ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				t->offset, IO_SIZE);
		break;
	default:
		ret = ioctl(fd, BLKSECDISCARD, range);
		break;
	}
	t->error = ret < 0 ? errno : 0;
	if (ret >= 0 && (t->op == OP_READ || t->op == OP_WRITE ||
			 t->op == OP_FUA_WRITE) && ret != IO_SIZE)
		t->error = -1; /* short */
	if (pread(fd, t->sentinel, 512, SENTINEL) != 512 && !t->error)
		t->error = -2;
	close(fd);
	return NULL;
}

static void start(struct transfer *t, uint64_t id, enum op op, off_t offset,
		  const char *data)
{
	t->id = id;
	t->op = op;
	t->offset = offset;
	t->data = aligned_alloc(4096, IO_SIZE);
	t->sentinel = aligned_alloc(4096, 4096);
	if (!t->data || !t->sentinel)
		die("aligned_alloc");
	if (data)
		memcpy(t->data, data, IO_SIZE);
	else
		memset(t->data, 0, IO_SIZE);
	if (pthread_create(&t->thread, NULL, transfer_fn, t))
		die("pthread_create");
}

static int finish(struct transfer *t)
{
	pthread_join(t->thread, NULL);
	free(t->sentinel);
	return t->error;
}

/* ------------------------------------------------------------------------- */
/* A driver session on any protocol */

struct session {
	uint32_t protocol;
	int fd;
	uint64_t id;
	char *payload; /* ioctl: the payload; uring: slot buffers */
	/* mmap */
	void *area;
	struct kbdus_mmap_layout layout;
	/* uring */
	struct io_uring ring;
	const struct kbdus_request *descriptors;
	int tag; /* of the request last received */
	bool stashed; /* a slot's CQE that came early */
	int stashed_tag, stashed_res;
};

static struct kbdus_device_config device_config(uint32_t protocol)
{
	struct kbdus_device_config c = {
		.size = DEV_SIZE,
		.logical_block_size = 512,
		.supported_requests =
			KBDUS_REQ_BIT(KBDUS_REQ_READ) |
			KBDUS_REQ_BIT(KBDUS_REQ_WRITE) |
			KBDUS_REQ_BIT(KBDUS_REQ_FUA_WRITE) |
			KBDUS_REQ_BIT(KBDUS_REQ_FLUSH) |
			KBDUS_REQ_BIT(KBDUS_REQ_DISCARD) |
			KBDUS_REQ_BIT(KBDUS_REQ_SECURE_ERASE) |
			KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_NO_UNMAP) |
			KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP),
		.queue_depth = DEPTH,
		.protocol = protocol,
		.flags = KBDUS_CONFIG_WRITE_CACHE | KBDUS_CONFIG_FUA,
	};
	return c;
}

static void uring_post(struct session *s, uint32_t op, int tag, int32_t result,
		       uint64_t buffer, uint64_t user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	struct kbdus_uring_cmd cmd = { 0, (uint16_t)tag, result, buffer };

	if (!sqe)
		die("io_uring_get_sqe");
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = s->fd;
	sqe->cmd_op = op;
	sqe->user_data = user_data;
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
}

static char *slot_buffer(struct session *s, int tag)
{
	return s->payload + (size_t)tag * KBDUS_DEFAULT_MAX_READ_WRITE_SIZE;
}

static void session_open(struct session *s, uint32_t protocol)
{
	struct kbdus_device_config c = device_config(protocol);

	memset(s, 0, sizeof(*s));
	s->protocol = protocol;
	s->fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (s->fd < 0 || ioctl(s->fd, KBDUS_IOCTL_CREATE_DEVICE, &c) < 0)
		die("create");
	s->id = c.id;
	s->payload = aligned_alloc(4096, (size_t)DEPTH *
						 KBDUS_DEFAULT_MAX_READ_WRITE_SIZE);
	if (!s->payload)
		die("aligned_alloc");
	memset(s->payload, 0, (size_t)DEPTH * KBDUS_DEFAULT_MAX_READ_WRITE_SIZE);

	if (protocol == KBDUS_PROTOCOL_MMAP) {
		if (ioctl(s->fd, KBDUS_IOCTL_MMAP_LAYOUT, &s->layout) < 0)
			die("layout");
		s->area = mmap(NULL, s->layout.mmap_size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, s->fd, 0);
		if (s->area == MAP_FAILED)
			die("mmap");
	} else if (protocol == KBDUS_PROTOCOL_URING) {
		s->descriptors = mmap(NULL, 4096, PROT_READ, MAP_SHARED, s->fd, 0);
		if (s->descriptors == MAP_FAILED)
			die("mmap");
		if (io_uring_queue_init(32, &s->ring, 0) < 0)
			die("io_uring_queue_init");
		for (int tag = 0; tag < DEPTH; tag++)
			uring_post(s, KBDUS_URING_CMD_FETCH, tag, 0,
				   (uintptr_t)slot_buffer(s, tag), (uint64_t)tag);
		io_uring_submit(&s->ring);
	}
}

/* The next request, serving notifications on the way. */
static struct kbdus_request next_request(struct session *s)
{
	for (;;) {
		struct kbdus_request req = { 0 };

		if (s->protocol == KBDUS_PROTOCOL_IOCTL) {
			struct kbdus_transceive_args tr = {
				.request = (uintptr_t)&req,
				.payload = (uintptr_t)s->payload,
				.payload_size = KBDUS_DEFAULT_MAX_READ_WRITE_SIZE,
			};

			if (ioctl(s->fd, KBDUS_IOCTL_TRANSCEIVE, &tr) < 0)
				die("transceive");
		} else if (s->protocol == KBDUS_PROTOCOL_MMAP) {
			struct kbdus_mmap_transceive_args tr = { 0 };

			if (ioctl(s->fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &tr) < 0)
				die("mmap transceive");
			if (tr.slot != KBDUS_NO_SLOT)
				req = ((struct kbdus_request *)s->area)[tr.slot];
			else
				req.type = tr.type;
		} else {
			struct io_uring_cqe *cqe;
			int res;

			if (s->stashed) {
				s->stashed = false;
				s->tag = s->stashed_tag;
				res = s->stashed_res;
			} else {
				if (io_uring_wait_cqe(&s->ring, &cqe) < 0)
					die("wait");
				s->tag = (int)cqe->user_data;
				res = cqe->res;
				io_uring_cqe_seen(&s->ring, cqe);
			}
			if (s->tag < 0 || s->tag >= DEPTH) {
				check(false, "a CQE of no slot", s->tag);
				exit(1);
			}
			if (res == KBDUS_URING_RES_REQUEST) {
				req = s->descriptors[s->tag];
			} else {
				check(res == KBDUS_URING_RES_DEVICE_AVAILABLE,
				      "CQE of a posted slot", res);
				req.type = KBDUS_REQ_DEVICE_AVAILABLE;
				uring_post(s, KBDUS_URING_CMD_FETCH, s->tag, 0,
					   (uintptr_t)slot_buffer(s, s->tag),
					   (uint64_t)s->tag);
				io_uring_submit(&s->ring);
			}
		}
		if (req.type < KBDUS_REQ_DEVICE_AVAILABLE)
			return req;
	}
}

/* A plain reply (zeros, for a read); over uring the slot is posted again. */
static void reply_error(struct session *s, uint64_t handle, int error)
{
	int ret = 0;

	if (s->protocol == KBDUS_PROTOCOL_IOCTL) {
		struct kbdus_reply reply = { .handle = handle, .error = error };
		struct kbdus_transceive_args tr = {
			.reply = (uintptr_t)&reply,
			.payload = (uintptr_t)s->payload,
			.payload_size = KBDUS_DEFAULT_MAX_READ_WRITE_SIZE,
		};

		memset(s->payload, 0, KBDUS_DEFAULT_MAX_READ_WRITE_SIZE);
		ret = ioctl(s->fd, KBDUS_IOCTL_TRANSCEIVE, &tr);
	} else if (s->protocol == KBDUS_PROTOCOL_MMAP) {
		struct kbdus_mmap_transceive_args tr = {
			.reply_handle = handle,
			.reply_error = error,
			.flags = KBDUS_MMAP_NO_RECEIVE,
		};

		ret = ioctl(s->fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &tr);
	} else {
		memset(slot_buffer(s, s->tag), 0, KBDUS_DEFAULT_MAX_READ_WRITE_SIZE);
		uring_post(s, KBDUS_URING_CMD_COMMIT_AND_FETCH, s->tag, error,
			   (uintptr_t)slot_buffer(s, s->tag), (uint64_t)s->tag);
		io_uring_submit(&s->ring);
	}
	check(ret == 0, "a plain reply", ret < 0 ? -errno : ret);
}

/* A passthrough reply: 0 if accepted, else kbdus's -errno. */
static int reply_passthrough(struct session *s, uint64_t handle,
			     const void *descriptor)
{
	if (s->protocol == KBDUS_PROTOCOL_IOCTL) {
		struct kbdus_reply reply = {
			.handle = handle,
			.flags = KBDUS_REPLY_PASSTHROUGH,
			.passthrough = (uintptr_t)descriptor,
		};
		struct kbdus_transceive_args tr = { .reply = (uintptr_t)&reply };

		return ioctl(s->fd, KBDUS_IOCTL_TRANSCEIVE, &tr) < 0 ? -errno : 0;
	} else if (s->protocol == KBDUS_PROTOCOL_MMAP) {
		struct kbdus_mmap_transceive_args tr = {
			.reply_handle = handle,
			.flags = KBDUS_MMAP_NO_RECEIVE |
				 KBDUS_MMAP_REPLY_PASSTHROUGH,
			.reply_passthrough = (uintptr_t)descriptor,
		};

		return ioctl(s->fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &tr) < 0 ?
			       -errno :
			       0;
	} else {
		/* Refused: completes at once.  Accepted: the slot is posted
		 * and stays so until the next request. */
		struct __kernel_timespec ts = { .tv_nsec = 200000000 };
		struct io_uring_cqe *cqe;
		int res;

		uring_post(s, KBDUS_URING_CMD_PASSTHROUGH_AND_FETCH, s->tag, 0,
			   (uintptr_t)descriptor, (uint64_t)s->tag);
		io_uring_submit(&s->ring);
		if (io_uring_wait_cqe_timeout(&s->ring, &cqe, &ts) < 0)
			return 0;
		res = cqe->res;
		if (res >= 0) {
			/* Accepted, and the next request came already. */
			s->stashed = true;
			s->stashed_tag = (int)cqe->user_data;
			s->stashed_res = res;
			io_uring_cqe_seen(&s->ring, cqe);
			return 0;
		}
		check(cqe->user_data == (uint64_t)s->tag,
		      "a refused PASSTHROUGH_AND_FETCH completes its own tag",
		      (long)cqe->user_data);
		io_uring_cqe_seen(&s->ring, cqe);
		return res;
	}
}

/* The next request that is not the kernel's own (partition scan, say):
 * those are answered with zeros. */
static struct kbdus_request expect_request(struct session *s, uint32_t type,
					   uint64_t offset)
{
	for (;;) {
		struct kbdus_request req = next_request(s);

		if (req.type == type &&
		    (type == KBDUS_REQ_FLUSH || req.offset == offset))
			return req;
		check(req.type == KBDUS_REQ_READ, "an unexpected request",
		      req.type);
		reply_error(s, req.handle, 0);
	}
}

/* Serves what follows a transfer's request until its sentinel read. */
static void drain(struct session *s)
{
	for (;;) {
		struct kbdus_request req = next_request(s);

		reply_error(s, req.handle, 0);
		if (req.type == KBDUS_REQ_READ && req.offset == SENTINEL)
			return;
		check(req.type == KBDUS_REQ_READ || req.type == KBDUS_REQ_FLUSH,
		      "an unexpected request", req.type);
	}
}

/* ------------------------------------------------------------------------- */
/* Descriptors */

struct descriptor {
	struct kbdus_passthrough header;
	struct kbdus_extent extents[KBDUS_PASSTHROUGH_MAX_EXTENTS + 1];
};

/* The usual mapping: the request's first half in A, the second in B, at
 * the request's own offset. */
static struct descriptor split(uint64_t offset, uint32_t size)
{
	struct descriptor d = { .header.num_extents = 2 };

	d.extents[0] = (struct kbdus_extent){ offset, size / 2, ids[FILE_A] };
	d.extents[1] = (struct kbdus_extent){ offset, size / 2, ids[FILE_B] };
	return d;
}

static struct descriptor flush_both(void)
{
	struct descriptor d = { .header.num_extents = 2 };

	d.extents[0].backing = ids[FILE_A];
	d.extents[1].backing = ids[FILE_B];
	return d;
}

/* Every refusal, on a write the driver holds; it must still hold it. */
static void check_refusals(struct session *s, const struct kbdus_request *req,
			   void *unmapped)
{
	uint64_t h = req->handle;
	struct descriptor good = split(req->offset, req->size), d;

#define REFUSED(mutation, err)                                              \
	do {                                                                \
		d = good;                                                   \
		mutation;                                                   \
		int ret_ = reply_passthrough(s, h, &d);                     \
		check(ret_ == -(err), "refused: " #mutation, ret_);         \
	} while (0)

	REFUSED(d.header.num_extents = 0, EINVAL);
	REFUSED(d.header.num_extents = KBDUS_PASSTHROUGH_MAX_EXTENTS + 1, EINVAL);
	REFUSED(d.header.flags = 1, EINVAL);
	for (int i = 0; i < 3; i++)
		REFUSED(d.header.reserved[i] = 1, EINVAL);
	REFUSED(d.extents[0].length = 0, EINVAL);
	REFUSED((d.extents[0].length = 100, d.extents[1].length = IO_SIZE - 100),
		EINVAL);
	REFUSED(d.header.num_extents = 1, EINVAL); /* half the request */
	REFUSED(d.extents[1].length = IO_SIZE, EINVAL); /* past the request */
	REFUSED(d.extents[0].offset = UINT64_MAX - 1024, EINVAL);
	REFUSED(d.extents[0].offset = (1ull << 63) - 2048, EINVAL);
	/* Overlapping pieces of one file. */
	REFUSED((d.extents[1].backing = ids[FILE_A],
		 d.extents[1].offset = req->offset + 2048),
		EINVAL);
	REFUSED(d.extents[1].backing = 40, EBADF); /* not registered */
	REFUSED(d.extents[1].backing = KBDUS_MAX_BACKING_FILES, EBADF);
	REFUSED(d.extents[1].backing = 100000, EBADF);
	REFUSED(d.extents[1].backing = ids[FILE_RO], EBADF); /* a write */
	check(reply_passthrough(s, h, unmapped) == -EFAULT,
	      "refused: an unreadable descriptor", 0);
	check(reply_passthrough(s, h + (1ull << 32), &good) == -ESTALE,
	      "refused: a stale handle", 0);
	if (s->protocol == KBDUS_PROTOCOL_IOCTL) {
		check(reply_passthrough(s, h, NULL) == -EINVAL,
		      "refused: no descriptor", 0);
		/* An id that was unregistered. */
		int id = register_file(s->fd, files[FILE_A]);
		struct kbdus_backing_args args = { .fd = -1, .id = (uint32_t)id };

		check(id >= 0 && ioctl(s->fd, KBDUS_IOCTL_BACKING_UNREGISTER,
				       &args) == 0,
		      "unregistering", id);
		REFUSED(d.extents[1].backing = (uint32_t)id, EBADF);

		/* File a opened again, under a new id: still one file, whose
		 * pieces overlap. */
		char path[512];
		int again;

		snprintf(path, sizeof(path), "%s/a", dir);
		again = open(path, O_RDWR | O_CLOEXEC);
		id = register_file(s->fd, again);
		check(again >= 0 && id >= 0, "registering file a again", id);
		REFUSED((d.extents[1].backing = (uint32_t)id,
			 d.extents[1].offset = req->offset + 2048),
			EINVAL);
		args.id = (uint32_t)id;
		check(ioctl(s->fd, KBDUS_IOCTL_BACKING_UNREGISTER, &args) == 0,
		      "unregistering", -errno);
		close(again);
	}
#undef REFUSED
}

/* ------------------------------------------------------------------------- */

static void check_registration(int session, uint64_t id)
{
	struct kbdus_backing_args args;
	char path[64];
	int fd, pipe_fds[2];

#define BAD_ARGS(mutation, err)                                                \
	do {                                                                   \
		args = (struct kbdus_backing_args){ .fd = files[FILE_A] };     \
		mutation;                                                      \
		int ret_ = ioctl(session, KBDUS_IOCTL_BACKING_REGISTER, &args) < \
					   0 ? -errno : 0;                     \
		check(ret_ == -(err), "register: " #mutation, ret_);           \
	} while (0)

	BAD_ARGS(args.flags = 1, EINVAL);
	BAD_ARGS(args.reserved0 = 1, EINVAL);
	BAD_ARGS(args.reserved[0] = 1, EINVAL);
	BAD_ARGS(args.reserved[1] = 1, EINVAL);
	BAD_ARGS(args.id = 3, EINVAL); /* an "out" field */
	BAD_ARGS(args.fd = -1, EBADF);
	BAD_ARGS(args.fd = 9999, EBADF);
	BAD_ARGS(args.fd = session, EINVAL); /* not a file or block device */
	if (pipe(pipe_fds) < 0)
		die("pipe");
	BAD_ARGS(args.fd = pipe_fds[0], EINVAL);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	BAD_ARGS(args.fd = fd, EINVAL);
	close(fd);
	fd = open(dir, O_PATH);
	BAD_ARGS(args.fd = fd, EBADF);
	close(fd);
	snprintf(path, sizeof(path), "%s/a", dir);
	fd = open(path, O_WRONLY | O_APPEND);
	BAD_ARGS(args.fd = fd, EINVAL); /* writes would go to the end */
	close(fd);
	/* The device itself: serving it from itself would deadlock. */
	snprintf(path, sizeof(path), "/dev/bdus-%llu", (unsigned long long)id);
	fd = open(path, O_RDONLY);
	check(fd >= 0, "opening the device", fd);
	BAD_ARGS(args.fd = fd, ELOOP);
	close(fd);
	check(ioctl(session, KBDUS_IOCTL_BACKING_REGISTER, NULL) < 0 &&
		      errno == EFAULT,
	      "register: NULL", 0);

	/* The table is bounded, and unregistering frees its entries. */
	int got[KBDUS_MAX_BACKING_FILES], n = 0, ret;

	while (n < KBDUS_MAX_BACKING_FILES &&
	       (ret = register_file(session, files[FILE_A])) >= 0)
		got[n++] = ret;
	check(n == KBDUS_MAX_BACKING_FILES - NUM_FILES,
	      "the table holds KBDUS_MAX_BACKING_FILES files", n);
	ret = register_file(session, files[FILE_A]);
	check(ret == -EMFILE, "register: the table is full", ret);
	for (int i = 0; i < n; i++) {
		args = (struct kbdus_backing_args){ .fd = -1, .id = (uint32_t)got[i] };
		check(ioctl(session, KBDUS_IOCTL_BACKING_UNREGISTER, &args) == 0,
		      "unregister", -errno);
	}
	args = (struct kbdus_backing_args){ .fd = -1, .id = (uint32_t)got[0] };
	check(ioctl(session, KBDUS_IOCTL_BACKING_UNREGISTER, &args) < 0 &&
		      errno == ENOENT,
	      "unregister twice", 0);
	args = (struct kbdus_backing_args){ .fd = 0, .id = ids[FILE_A] };
	check(ioctl(session, KBDUS_IOCTL_BACKING_UNREGISTER, &args) < 0 &&
		      errno == EINVAL,
	      "unregister with an fd", 0);
	args = (struct kbdus_backing_args){ .fd = -1,
					    .id = KBDUS_MAX_BACKING_FILES };
	check(ioctl(session, KBDUS_IOCTL_BACKING_UNREGISTER, &args) < 0 &&
		      errno == EINVAL,
	      "unregister past the table", 0);

	/* Without CAP_SYS_ADMIN, even on a session fd: EPERM. */
	pid_t child = fork();

	if (child == 0) {
		struct __user_cap_header_struct hdr = {
			_LINUX_CAPABILITY_VERSION_3, 0
		};
		struct __user_cap_data_struct data[2] = { { 0 } };

		if (syscall(SYS_capset, &hdr, data) < 0)
			_exit(2);
		_exit(register_file(session, files[FILE_A]) == -EPERM ? 0 : 1);
	}
	int status;

	waitpid(child, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "register without CAP_SYS_ADMIN: EPERM",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
#undef BAD_ARGS
}

/* Serves one transfer with a passthrough; returns the transfer's error. */
static int serve(struct session *s, enum op op, uint32_t type, off_t offset,
		 const char *data, const struct descriptor *d, int expect_ret)
{
	struct transfer t;
	struct kbdus_request req;
	int ret;

	start(&t, s->id, op, offset, data);
	req = expect_request(s, type, (uint64_t)offset);
	ret = reply_passthrough(s, req.handle, d);
	check(ret == expect_ret, "the passthrough's acceptance", ret);
	if (ret != 0)
		reply_error(s, req.handle, EIO);
	drain(s);
	ret = finish(&t);
	if (op == OP_READ && ret == 0 && data)
		check(!memcmp(t.data, data, IO_SIZE), "read data", 0);
	free(t.data);
	return ret;
}

static void check_protocol(uint32_t protocol, void *unmapped)
{
	static const char *names[] = { "", "ioctl", "mmap", "uring" };
	char data[IO_SIZE], both[IO_SIZE];
	struct descriptor d;
	struct session s;
	struct transfer t;
	struct kbdus_request req;
	const off_t w = 65536;
	int ret;

	printf("%s\n", names[protocol]);
	if (ftruncate(files[FILE_SHORT], 4096) < 0) /* grown by a write-zeros */
		die("ftruncate");
	session_open(&s, protocol);
	if (protocol == KBDUS_PROTOCOL_IOCTL) {
		struct kbdus_backing_args args = { .fd = files[FILE_A] };
		int unbound = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);

		check(ioctl(unbound, KBDUS_IOCTL_BACKING_REGISTER, &args) < 0 &&
			      errno == EBADFD,
		      "register on an unbound fd", 0);
		close(unbound);
	}
	register_files(s.fd);
	if (protocol == KBDUS_PROTOCOL_IOCTL) {
		/* The device's node exists once it is available; a thread's
		 * read waits for that. */
		start(&t, s.id, OP_READ, 0, NULL);
		req = expect_request(&s, KBDUS_REQ_READ, 0);
		reply_error(&s, req.handle, 0);
		drain(&s);
		check(finish(&t) == 0, "a first read", t.error);
		free(t.data);
		check_registration(s.fd, s.id);
	}

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 13 + protocol);

	/* A write, refused every way first (over ioctl), then served. */
	start(&t, s.id, OP_WRITE, w, data);
	req = expect_request(&s, KBDUS_REQ_WRITE, (uint64_t)w);
	if (protocol == KBDUS_PROTOCOL_IOCTL)
		check_refusals(&s, &req, unmapped);
	else
		check(reply_passthrough(&s, req.handle, unmapped) == -EFAULT,
		      "refused: an unreadable descriptor", 0);
	d = split(req.offset, req.size);
	ret = reply_passthrough(&s, req.handle, &d);
	check(ret == 0, "the write's passthrough", ret);
	drain(&s);
	check(finish(&t) == 0, "the write", t.error);
	free(t.data);
	check(file_has(FILE_A, w, data, 0, IO_SIZE / 2) &&
		      file_has(FILE_B, w, data + IO_SIZE / 2, 0, IO_SIZE / 2),
	      "the write's data is in both files", 0);

	/* O_APPEND set on the registered file since (F_SETFL): a write still
	 * lands where its extents say, not at the end. */
	int fl = fcntl(files[FILE_A], F_GETFL);

	if (fl < 0 || fcntl(files[FILE_A], F_SETFL, fl | O_APPEND) < 0)
		die("F_SETFL");
	d = split(5 * w, IO_SIZE);
	check(serve(&s, OP_WRITE, KBDUS_REQ_WRITE, 5 * w, data, &d, 0) == 0,
	      "a write to a file made O_APPEND", 0);
	check(file_has(FILE_A, 5 * w, data, 0, IO_SIZE / 2),
	      "it landed at its offset", 0);
	if (fcntl(files[FILE_A], F_SETFL, fl) < 0)
		die("F_SETFL");

	/* Read it back, the halves swapped: four extents, two per file. */
	memcpy(both, data + IO_SIZE / 2, IO_SIZE / 2);
	memcpy(both + IO_SIZE / 2, data, IO_SIZE / 2);
	d = (struct descriptor){ .header.num_extents = 4 };
	d.extents[0] = (struct kbdus_extent){ w, 2048, ids[FILE_B] };
	d.extents[1] = (struct kbdus_extent){ w + 2048, 2048, ids[FILE_B] };
	d.extents[2] = (struct kbdus_extent){ w, 1024, ids[FILE_A] };
	d.extents[3] = (struct kbdus_extent){ w + 1024, 3072, ids[FILE_A] };
	check(serve(&s, OP_READ, KBDUS_REQ_READ, w, both, &d, 0) == 0,
	      "a read from four extents", 0);

	/* A FUA write, then a flush of both files. */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 31 + 7);
	d = split(2 * w, IO_SIZE);
	check(serve(&s, OP_FUA_WRITE, KBDUS_REQ_FUA_WRITE, 2 * w, data, &d, 0) ==
		      0,
	      "a FUA write", 0);
	check(file_has(FILE_A, 2 * w, data, 0, IO_SIZE / 2),
	      "the FUA write's data", 0);
	d = flush_both();
	d.extents[1].offset = 512;
	check(serve(&s, OP_FLUSH, KBDUS_REQ_FLUSH, 0, NULL, &d, -EINVAL) == EIO,
	      "a flush with an offset is refused", 0);
	d = flush_both();
	d.extents[1].backing = ids[FILE_A];
	check(serve(&s, OP_FLUSH, KBDUS_REQ_FLUSH, 0, NULL, &d, -EINVAL) == EIO,
	      "a flush of one file twice is refused", 0);
	d = flush_both();
	check(serve(&s, OP_FLUSH, KBDUS_REQ_FLUSH, 0, NULL, &d, 0) == 0,
	      "a flush", 0);

	/* Discard and both write-zeros: the files read zeros there. */
	d = split(w, IO_SIZE);
	check(serve(&s, OP_DISCARD, KBDUS_REQ_DISCARD, w, NULL, &d, 0) == 0,
	      "a discard", 0);
	check(file_has(FILE_A, w, NULL, 0, IO_SIZE / 2),
	      "the discard punched a hole", 0);
	d = split(2 * w, IO_SIZE);
	check(serve(&s, OP_ZEROOUT, KBDUS_REQ_WRITE_ZEROS_NO_UNMAP, 2 * w, NULL,
		    &d, 0) == 0,
	      "a write-zeros", 0);
	check(file_has(FILE_A, 2 * w, NULL, 0, IO_SIZE / 2) &&
		      file_has(FILE_B, 2 * w, NULL, 0, IO_SIZE / 2),
	      "the write-zeros zeroed both files", 0);
	d = split(3 * w, IO_SIZE);
	check(serve(&s, OP_PUNCH, KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP, 3 * w, NULL,
		    &d, 0) == 0,
	      "a write-zeros that may unmap", 0);
	check(file_has(FILE_B, 3 * w, NULL, 0, IO_SIZE / 2),
	      "it zeroed the file", 0);

	/* Failures: past a file's end, a write to a read-only file, a type
	 * that cannot be passed through. */
	d = split(4 * w, IO_SIZE);
	d.extents[1].backing = ids[FILE_SHORT];
	check(serve(&s, OP_READ, KBDUS_REQ_READ, 4 * w, NULL, &d, 0) == EIO,
	      "a read past the end of a file fails", 0);
	/* Zeros past the end grow the file: they read back as zeros. */
	check(serve(&s, OP_ZEROOUT, KBDUS_REQ_WRITE_ZEROS_NO_UNMAP, 4 * w, NULL,
		    &d, 0) == 0,
	      "a write-zeros past the end of a file", 0);
	memset(both, 0, sizeof(both));
	check(serve(&s, OP_READ, KBDUS_REQ_READ, 4 * w, both, &d, 0) == 0,
	      "zeros written past the end read back", 0);
	check(ftruncate(files[FILE_SHORT], 4096) == 0, "ftruncate", errno);
	check(serve(&s, OP_PUNCH, KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP, 4 * w, NULL,
		    &d, 0) == 0,
	      "a write-zeros that may unmap past the end of a file", 0);
	check(serve(&s, OP_READ, KBDUS_REQ_READ, 4 * w, both, &d, 0) == 0,
	      "those zeros read back too", 0);
	d.extents[1].backing = ids[FILE_RO];
	check(serve(&s, OP_READ, KBDUS_REQ_READ, 4 * w, NULL, &d, 0) == 0,
	      "a read from a read-only file", 0);
	check(serve(&s, OP_WRITE, KBDUS_REQ_WRITE, 4 * w, data, &d, -EBADF) ==
		      EIO,
	      "a write to a read-only file is refused", 0);
	check(file_has(FILE_RO, 4 * w, NULL, 'r', IO_SIZE / 2),
	      "the read-only file is untouched", 0);
	check(serve(&s, OP_SECURE_ERASE, KBDUS_REQ_SECURE_ERASE, 5 * w, NULL, &d,
		    -EOPNOTSUPP) == EIO,
	      "a secure erase is refused", 0);

	/* Over uring, the accepted passthroughs posted their slots again:
	 * every request since reached a posted slot, or it would hang. */
	if (protocol == KBDUS_PROTOCOL_URING)
		io_uring_queue_exit(&s.ring);
	close(s.fd); /* no driver: the device goes away */
}

int main(int argc, char **argv)
{
	void *unmapped;

	if (argc != 2) {
		fprintf(stderr, "usage: uapi-passthrough DIR\n");
		return 2;
	}
	dir = argv[1];
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (unmapped == MAP_FAILED)
		die("mmap");

	files[FILE_A] = make_file("a", FILE_SIZE, O_RDWR);
	files[FILE_B] = make_file("b", FILE_SIZE, O_RDWR);
	files[FILE_RO] = make_file("ro", FILE_SIZE, O_RDONLY);
	files[FILE_SHORT] = make_file("short", 4096, O_RDWR);

	check_protocol(KBDUS_PROTOCOL_IOCTL, unmapped);
	check_protocol(KBDUS_PROTOCOL_MMAP, unmapped);
	check_protocol(KBDUS_PROTOCOL_URING, unmapped);

	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
