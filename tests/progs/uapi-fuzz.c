// SPDX-License-Identifier: MIT
/*
 * uapi-fuzz SECONDS [SEED]: random ioctls against the control device and a
 * live driver session, while a server thread answers requests correctly and
 * an I/O thread keeps requests in flight.  Success means the kernel stayed
 * clean (the harness checks dmesg) and everything can be torn down.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kbdus.h>

#define DEVICE_SIZE (8u << 20)

static const unsigned long commands[] = {
	KBDUS_IOCTL_GET_VERSION,       KBDUS_IOCTL_CREATE_DEVICE,
	KBDUS_IOCTL_ATTACH_DEVICE,     KBDUS_IOCTL_GET_DEVICE_INFO,
	KBDUS_IOCTL_NEXT_DEVICE_ID,    KBDUS_IOCTL_DESTROY_DEVICE,
	KBDUS_IOCTL_WAIT_DESTROYED,    KBDUS_IOCTL_TRANSCEIVE,
	KBDUS_IOCTL_MMAP_LAYOUT,       KBDUS_IOCTL_MMAP_TRANSCEIVE,
	KBDUS_IOCTL_BACKING_REGISTER,  KBDUS_IOCTL_BACKING_UNREGISTER,
};

/* A file the live session may register, so that random passthroughs can
 * reach real I/O. */
static int scratch_fd = -1;

static atomic_bool stop;
static unsigned char *unmapped;
static _Thread_local unsigned int seed;

static uint64_t rnd(void)
{
	return ((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 11) ^
	       (uint64_t)rand_r(&seed);
}

/* A live session: a device served correctly by a thread. */
struct session {
	int fd;
	uint64_t id;
	uint32_t protocol;
	unsigned char *area;
	struct kbdus_mmap_layout layout;
	pthread_t server, io;
	atomic_bool ended;
};

static void *serve(void *arg)
{
	struct session *s = arg;
	unsigned char *payload = malloc(1 << 20);
	unsigned char *disk = calloc(1, DEVICE_SIZE);
	struct kbdus_transceive_args tr = { .payload = (uintptr_t)payload,
					    .payload_size = 1 << 20 };
	struct kbdus_mmap_transceive_args mtr = { 0 };
	struct kbdus_request req;
	struct kbdus_reply reply = { 0 };

	tr.request = (uintptr_t)&req;
	for (;;) {
		int ret;

		if (s->protocol == KBDUS_PROTOCOL_IOCTL)
			ret = ioctl(s->fd, KBDUS_IOCTL_TRANSCEIVE, &tr);
		else
			ret = ioctl(s->fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr);
		tr.reply = 0;
		mtr.reply_handle = 0;
		/* The fuzzer may have completed our request first. */
		if (ret < 0 && (errno == ESTALE || errno == EINTR))
			continue;
		if (ret < 0)
			break;

		unsigned char *data = payload;
		if (s->protocol == KBDUS_PROTOCOL_MMAP) {
			if (mtr.type >= KBDUS_REQ_DEVICE_AVAILABLE) {
				req.type = mtr.type;
			} else {
				req = ((struct kbdus_request *)s->area)[mtr.slot];
				data = s->area + s->layout.buffers_offset +
				       (size_t)mtr.slot * s->layout.buffer_size;
			}
		}
		if (req.type == KBDUS_REQ_TERMINATE)
			break;
		if (req.type == KBDUS_REQ_DEVICE_AVAILABLE)
			continue;

		int error = 0;
		if (req.offset + req.size > DEVICE_SIZE)
			error = EIO;
		else if (req.type == KBDUS_REQ_READ)
			memcpy(data, disk + req.offset, req.size);
		else if (req.type == KBDUS_REQ_WRITE)
			memcpy(disk + req.offset, data, req.size);

		reply.handle = req.handle;
		reply.error = error;
		tr.reply = (uintptr_t)&reply;
		mtr.reply_handle = req.handle;
		mtr.reply_error = error;
	}
	s->ended = true;
	free(payload);
	free(disk);
	return NULL;
}

static void *do_io(void *arg)
{
	struct session *s = arg;
	char path[64];
	void *buf;
	int fd;

	snprintf(path, sizeof(path), "/dev/bdus-%llu", (unsigned long long)s->id);
	for (int i = 0; i < 100 && (fd = open(path, O_RDWR | O_DIRECT)) < 0; i++)
		usleep(50000);
	if (fd < 0)
		return NULL;
	buf = aligned_alloc(4096, 65536);
	while (!stop && !s->ended) {
		off_t off = (off_t)(rnd() % (DEVICE_SIZE / 4096)) * 4096;
		size_t len = 4096 * (1 + rnd() % 16);

		if (off + (off_t)len > DEVICE_SIZE)
			len = DEVICE_SIZE - off;
		if (rnd() & 1)
			(void)!pread(fd, buf, len, off);
		else
			(void)!pwrite(fd, buf, len, off);
	}
	free(buf);
	close(fd);
	return NULL;
}

static void session_start(struct session *s)
{
	struct kbdus_device_config c = {
		.size = DEVICE_SIZE,
		.logical_block_size = 512,
		.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ) |
				      KBDUS_REQ_BIT(KBDUS_REQ_WRITE),
		.queue_depth = 8,
		.request_timeout_ms = 2000,
	};

	memset(s, 0, sizeof(*s));
	s->protocol = rnd() & 1 ? KBDUS_PROTOCOL_IOCTL : KBDUS_PROTOCOL_MMAP;
	c.protocol = s->protocol;
	s->fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (s->fd < 0 || ioctl(s->fd, KBDUS_IOCTL_CREATE_DEVICE, &c) < 0) {
		perror("uapi-fuzz: create");
		exit(1);
	}
	s->id = c.id;
	if (s->protocol == KBDUS_PROTOCOL_MMAP) {
		if (ioctl(s->fd, KBDUS_IOCTL_MMAP_LAYOUT, &s->layout) < 0)
			exit(1);
		s->area = mmap(NULL, s->layout.mmap_size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, s->fd, 0);
		if (s->area == MAP_FAILED)
			exit(1);
	}
	pthread_create(&s->server, NULL, serve, s);
	pthread_create(&s->io, NULL, do_io, s);
}

static void session_end(struct session *s)
{
	struct kbdus_destroy_args d = { .id = s->id, .flags = KBDUS_DESTROY_NO_FLUSH };

	ioctl(s->fd, KBDUS_IOCTL_DESTROY_DEVICE, &d);
	pthread_join(s->server, NULL);
	pthread_join(s->io, NULL);
	if (s->area)
		munmap(s->area, s->layout.mmap_size);
	close(s->fd);
}

/* An argument: garbage, or a plausible struct with random damage. */
static void *random_arg(unsigned char *buf, size_t size, const struct session *s)
{
	switch (rnd() % 8) {
	case 0: return NULL;
	case 1: return unmapped;
	case 2: return (void *)0xffff888000000000ull; /* kernel address */
	case 3: return buf + 4096 - 8; /* runs off the end of the mapping */
	default: break;
	}
	memset(buf, 0, size);
	if (rnd() & 1) {
		for (size_t i = 0; i < size; i++)
			buf[i] = (unsigned char)rnd();
	} else {
		/* Mostly-valid: a real id or handle in the first word. */
		uint64_t first = rnd() & 1 ? s->id : rnd() % 4;
		memcpy(buf, &first, sizeof(first));
		buf[8 + rnd() % (size - 8)] = (unsigned char)rnd();
	}
	return buf;
}

static void fuzz_once(int fd, struct session *s, unsigned char *buf)
{
	unsigned long command;

	if (rnd() % 16 == 0)
		command = (unsigned long)rnd(); /* anything at all */
	else
		command = commands[rnd() % (sizeof(commands) / sizeof(*commands))];

	/* Keep calls that could block forever or steal the live device out. */
	if (command == KBDUS_IOCTL_WAIT_DESTROYED || command == KBDUS_IOCTL_ATTACH_DEVICE) {
		struct kbdus_destroy_args *d = (void *)buf;

		memset(buf, 0, 256);
		d->id = (1ull << 40) + rnd() % 1000;
		d->flags = (uint32_t)(rnd() % 3);
		ioctl(fd, command, buf);
		return;
	}
	/* Backing files: the scratch file, or anything, on the live session. */
	if (command == KBDUS_IOCTL_BACKING_REGISTER ||
	    command == KBDUS_IOCTL_BACKING_UNREGISTER) {
		struct kbdus_backing_args b = {
			.fd = rnd() % 4 ? scratch_fd : (int)(rnd() % 16) - 1,
			.id = command == KBDUS_IOCTL_BACKING_UNREGISTER ?
				      (uint32_t)(rnd() % 70) :
				      0,
		};

		if (command == KBDUS_IOCTL_BACKING_UNREGISTER && rnd() % 4)
			b.fd = -1;
		if (rnd() % 8 == 0)
			b.flags = 1u << (rnd() % 32);
		ioctl(s->fd, command,
		      rnd() % 8 ? (void *)&b : random_arg(buf, 64, s));
		return;
	}
	/* Replies with random handles on the live session, some of them
	 * passthroughs onto the scratch file. */
	if (command == KBDUS_IOCTL_TRANSCEIVE || command == KBDUS_IOCTL_MMAP_TRANSCEIVE) {
		struct kbdus_mmap_transceive_args m = {
			.reply_handle = rnd() % 2 ? rnd() : (rnd() % 4) << 32 | rnd() % 16,
			.reply_error = (int32_t)(rnd() % 8),
			.flags = KBDUS_MMAP_NO_RECEIVE,
		};
		struct kbdus_reply reply = { .handle = m.reply_handle };
		struct kbdus_transceive_args t = { .reply = (uintptr_t)&reply };
		struct {
			struct kbdus_passthrough h;
			struct kbdus_extent e[KBDUS_PASSTHROUGH_MAX_EXTENTS];
		} pt = { .h.num_extents = 1 + (uint32_t)(rnd() % 3) };

		for (unsigned i = 0; i < KBDUS_PASSTHROUGH_MAX_EXTENTS; i++) {
			pt.e[i].offset = (rnd() % 4096) * 512;
			pt.e[i].length = (uint32_t)(rnd() % 16) * 512;
			pt.e[i].backing = (uint32_t)(rnd() % 4);
		}
		if (rnd() % 4 == 0) {
			void *desc = rnd() % 4 ? (void *)&pt : random_arg(buf, 160, s);

			m.flags |= KBDUS_MMAP_REPLY_PASSTHROUGH;
			m.reply_error = rnd() % 4 ? 0 : m.reply_error;
			m.reply_passthrough = (uintptr_t)desc;
			reply.flags = KBDUS_REPLY_PASSTHROUGH;
			reply.error = m.reply_error;
			reply.passthrough = (uintptr_t)desc;
		}

		if (s->protocol == KBDUS_PROTOCOL_MMAP)
			ioctl(s->fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &m);
		else
			ioctl(s->fd, KBDUS_IOCTL_TRANSCEIVE, &t);
		return;
	}
	/* Control calls on a fresh fd, so a lucky CREATE binds nothing else. */
	if (command == KBDUS_IOCTL_CREATE_DEVICE) {
		int cfd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
		ioctl(cfd, command, random_arg(buf, 128, s));
		close(cfd);
		return;
	}
	ioctl(rnd() & 1 ? fd : s->fd, command, random_arg(buf, 256, s));
}

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 1 ? (unsigned int)atoi(argv[1]) : 60;
	unsigned long calls = 0, sessions = 1;
	struct session s;
	unsigned char *buf;
	time_t end;
	int fd;

	seed = argc > 2 ? (unsigned int)atoi(argv[2]) : (unsigned int)time(NULL);
	printf("uapi-fuzz: seed %u, %u s\n", seed, seconds);

	/* Kept reserved, so no later mapping can land there. */
	unmapped = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* One page followed by a hole. */
	buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(buf + 4096, 4096);

	fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("uapi-fuzz");
		return 1;
	}
	{
		char path[] = "/tmp/uapi-fuzz-backing.XXXXXX";

		scratch_fd = mkstemp(path);
		if (scratch_fd < 0 || ftruncate(scratch_fd, 2 << 20) < 0) {
			perror("uapi-fuzz: scratch file");
			return 1;
		}
		unlink(path);
	}
	session_start(&s);

	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		fuzz_once(fd, &s, buf);
		calls++;
		/* A fuzzed DESTROY may have hit the live device. */
		if (s.ended) {
			session_end(&s);
			session_start(&s);
			sessions++;
		}
	}
	stop = true;
	session_end(&s);
	close(fd);

	printf("uapi-fuzz: %lu calls, %lu sessions\n", calls, sessions);
	return 0;
}
