// SPDX-License-Identifier: MIT
/*
 * uapi-poll: waiting for requests with poll(2) and epoll, and receiving
 * without blocking (KBDUS_TRANSCEIVE_NONBLOCK, KBDUS_MMAP_NONBLOCK),
 * through the raw interface.
 *
 *   - an fd that is no session, and a uring session, report EPOLLERR;
 *   - unknown flags are refused;
 *   - an ioctl and an mmap session report EPOLLIN exactly while a receive
 *     would not wait: for DEVICE_AVAILABLE, for a request, for TERMINATE;
 *     otherwise a non-blocking receive fails with EAGAIN, after consuming
 *     the reply sent with it;
 *   - one thread serves both devices from one epoll set while reads run
 *     on both at once.
 *
 * Prints one line per failed check and exits 1 if any failed.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kbdus.h>

#include "lib/uapi-check.h"

#define IO_SIZE 4096
#define ROUNDS 64

/* poll(2) of one fd: its revents, or 0 after timeout_ms. */
static short poll_one(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret = poll(&p, 1, timeout_ms);

	if (ret < 0)
		die("poll");
	return ret ? p.revents : 0;
}

/* ------------------------------------------------------------------------- */
/* A session of the ioctl or mmap protocol */

struct session {
	uint32_t protocol;
	int fd;
	uint64_t id;
	char *payload; /* ioctl */
	char *area; /* mmap */
	struct kbdus_mmap_layout layout;
	unsigned served; /* reads answered */
};

static void session_open(struct session *s, uint32_t protocol)
{
	struct kbdus_device_config c = small_config(protocol);

	memset(s, 0, sizeof(*s));
	s->protocol = protocol;
	s->fd = open_control();
	if (ioctl(s->fd, KBDUS_IOCTL_CREATE_DEVICE, &c) < 0)
		die("create");
	s->id = c.id;
	if (protocol == KBDUS_PROTOCOL_IOCTL) {
		s->payload = aligned_alloc(4096, KBDUS_DEFAULT_MAX_READ_WRITE_SIZE);
		if (!s->payload)
			die("aligned_alloc");
		return;
	}
	if (ioctl(s->fd, KBDUS_IOCTL_MMAP_LAYOUT, &s->layout) < 0)
		die("layout");
	s->area = mmap(NULL, s->layout.mmap_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, s->fd, 0);
	if (s->area == MAP_FAILED)
		die("mmap");
}

/*
 * Sends the reply to handle (if not 0; a read's data is its offset's low
 * byte everywhere) and receives without blocking.  Returns 0 and the
 * request (type only, for a notification), or -1 with errno.
 */
static int transceive(struct session *s, uint64_t reply_handle,
		      struct kbdus_request *req)
{
	memset(req, 0, sizeof(*req));
	if (s->protocol == KBDUS_PROTOCOL_IOCTL) {
		struct kbdus_reply reply = { .handle = reply_handle };
		struct kbdus_transceive_args tr = {
			.reply = reply_handle ? (uintptr_t)&reply : 0,
			.request = (uintptr_t)req,
			.payload = (uintptr_t)s->payload,
			.payload_size = KBDUS_DEFAULT_MAX_READ_WRITE_SIZE,
			.flags = KBDUS_TRANSCEIVE_NONBLOCK,
		};

		return ioctl(s->fd, KBDUS_IOCTL_TRANSCEIVE, &tr);
	}

	struct kbdus_mmap_transceive_args tr = {
		.reply_handle = reply_handle,
		.flags = KBDUS_MMAP_NONBLOCK,
	};

	if (ioctl(s->fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &tr) < 0)
		return -1;
	if (tr.slot == KBDUS_NO_SLOT)
		req->type = tr.type;
	else
		*req = ((const struct kbdus_request *)s->area)[tr.slot];
	return 0;
}

/* Where a read's reply data goes before transceive() sends it. */
static char *reply_buffer(struct session *s, uint64_t handle)
{
	if (s->protocol == KBDUS_PROTOCOL_IOCTL)
		return s->payload;
	return s->area + s->layout.buffers_offset +
	       (size_t)(uint32_t)handle * s->layout.buffer_size;
}

/* ------------------------------------------------------------------------- */
/* Reads on a device, from another thread */

struct reader {
	uint64_t id;
	unsigned count; /* reads of IO_SIZE at 0, IO_SIZE, ... */
	int error; /* 0, an errno value, -1 short, -2 wrong data */
	pthread_t thread;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	char *buf = aligned_alloc(4096, IO_SIZE);
	int fd = open_device(r->id, O_RDONLY | O_DIRECT);

	if (fd < 0 || !buf) {
		r->error = errno;
		return NULL;
	}
	for (unsigned i = 0; i < r->count && !r->error; i++) {
		off_t offset = (off_t)i * IO_SIZE;
		ssize_t ret = pread(fd, buf, IO_SIZE, offset);

		if (ret < 0)
			r->error = errno;
		else if (ret != IO_SIZE)
			r->error = -1;
		else if (buf[0] != (char)(offset >> 12) ||
			 buf[IO_SIZE - 1] != (char)(offset >> 12))
			r->error = -2;
	}
	close(fd);
	free(buf);
	return NULL;
}

static void start_reads(struct reader *r, uint64_t id, unsigned count)
{
	r->id = id;
	r->count = count;
	r->error = 0;
	if (pthread_create(&r->thread, NULL, reader_fn, r))
		die("pthread_create");
}

/* ------------------------------------------------------------------------- */

static void check_errors(void)
{
	struct kbdus_device_config c = small_config(KBDUS_PROTOCOL_URING);
	int fd = open_control();

	CHECK(poll_one(fd, 0) == POLLERR, "an unbound fd: not POLLERR");
	if (ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c) < 0)
		die("create uring");
	CHECK(poll_one(fd, 0) == POLLERR, "a uring session: not POLLERR");
	close(fd);

	struct session s;
	struct kbdus_transceive_args tr = { .flags = 2 };
	struct kbdus_mmap_transceive_args mtr = { .flags = 1u << 3 };

	session_open(&s, KBDUS_PROTOCOL_IOCTL);
	EXPECT(ioctl(s.fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	close(s.fd);
	session_open(&s, KBDUS_PROTOCOL_MMAP);
	EXPECT(ioctl(s.fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	munmap(s.area, s.layout.mmap_size);
	close(s.fd);
}

/* poll(2) says exactly when a receive would not wait. */
static void check_readiness(uint32_t protocol)
{
	struct kbdus_request req;
	struct session s;
	struct reader r;
	uint64_t handle;

	session_open(&s, protocol);
	/* DEVICE_AVAILABLE comes once add_disk finished. */
	CHECK(poll_one(s.fd, 30000) == POLLIN, "no POLLIN for DEVICE_AVAILABLE");
	EXPECT(transceive(&s, 0, &req), 0);
	CHECK(req.type == KBDUS_REQ_DEVICE_AVAILABLE, "got type %u, not "
						       "DEVICE_AVAILABLE",
	      req.type);
	CHECK(poll_one(s.fd, 0) == 0, "readable with nothing pending");
	EXPECT(transceive(&s, 0, &req), EAGAIN);

	/* A read wakes the poller; answering it and receiving without
	 * blocking consumes the reply, then says EAGAIN. */
	start_reads(&r, s.id, 1);
	CHECK(poll_one(s.fd, 30000) == POLLIN, "no POLLIN for a read");
	EXPECT(transceive(&s, 0, &req), 0);
	CHECK(req.type == KBDUS_REQ_READ && req.offset == 0 &&
		      req.size == IO_SIZE,
	      "expected a 4 KiB read at 0, got type %u offset %llu size %u",
	      req.type, (unsigned long long)req.offset, req.size);
	handle = req.handle;
	memset(reply_buffer(&s, handle), 0, IO_SIZE);
	EXPECT(transceive(&s, handle, &req), EAGAIN);
	pthread_join(r.thread, NULL);
	CHECK(r.error == 0, "the read failed: %d", r.error);

	/* Destruction: TERMINATE is pending for ever. */
	struct kbdus_destroy_args destroy = { .id = s.id,
					      .flags = KBDUS_DESTROY_NO_FLUSH };
	int control = open_control();

	EXPECT(ioctl(control, KBDUS_IOCTL_DESTROY_DEVICE, &destroy), 0);
	CHECK(poll_one(s.fd, 30000) == POLLIN, "no POLLIN for TERMINATE");
	EXPECT(transceive(&s, 0, &req), 0);
	CHECK(req.type == KBDUS_REQ_TERMINATE, "got type %u, not TERMINATE",
	      req.type);
	CHECK(poll_one(s.fd, 0) == POLLIN, "not readable after TERMINATE");
	if (s.area)
		munmap(s.area, s.layout.mmap_size);
	close(s.fd);
	destroy.flags = 0;
	EXPECT(ioctl(control, KBDUS_IOCTL_WAIT_DESTROYED, &destroy), 0);
	close(control);
}

/* Serves everything pending on s; false once it saw TERMINATE. */
static bool serve_pending(struct session *s)
{
	struct kbdus_request req;
	uint64_t reply = 0;

	for (;;) {
		if (transceive(s, reply, &req) < 0) {
			if (errno == EAGAIN)
				return true;
			die("transceive");
		}
		reply = 0;
		if (req.type == KBDUS_REQ_TERMINATE)
			return false;
		if (req.type != KBDUS_REQ_READ)
			continue; /* DEVICE_AVAILABLE */
		memset(reply_buffer(s, req.handle), (char)(req.offset >> 12),
		       req.size);
		reply = req.handle;
		s->served++;
	}
}

/* One thread, one epoll set, two devices of two protocols. */
static void check_one_loop(void)
{
	struct session sessions[2];
	struct reader readers[2];
	struct epoll_event ev;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	bool done[2] = { false, false };

	if (ep < 0)
		die("epoll_create1");
	session_open(&sessions[0], KBDUS_PROTOCOL_IOCTL);
	session_open(&sessions[1], KBDUS_PROTOCOL_MMAP);
	for (int i = 0; i < 2; i++) {
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sessions[i].fd, &ev) < 0)
			die("epoll_ctl");
		start_reads(&readers[i], sessions[i].id, ROUNDS);
	}

	while (!done[0] || !done[1]) {
		int n = epoll_wait(ep, &ev, 1, 30000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			CHECK(false, "epoll_wait: nothing for 30 s (%d, %u and "
				     "%u served)",
			      n, sessions[0].served, sessions[1].served);
			break;
		}
		serve_pending(&sessions[ev.data.u32]);
		for (int i = 0; i < 2; i++)
			done[i] = sessions[i].served == ROUNDS;
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(readers[i].thread, NULL);
		CHECK(readers[i].error == 0 && sessions[i].served == ROUNDS,
		      "device %d: reads got %d, %u served", i,
		      readers[i].error, sessions[i].served);
		if (sessions[i].area)
			munmap(sessions[i].area, sessions[i].layout.mmap_size);
		close(sessions[i].fd); /* destroys the device */
	}
	close(ep);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("%s\n", "check_errors");
	check_errors();
	printf("%s\n", "check_readiness ioctl");
	check_readiness(KBDUS_PROTOCOL_IOCTL);
	printf("%s\n", "check_readiness mmap");
	check_readiness(KBDUS_PROTOCOL_MMAP);
	printf("%s\n", "check_one_loop");
	check_one_loop();

	return checks_summary();
}
