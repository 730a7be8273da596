// SPDX-License-Identifier: MIT
/*
 * uapi-mmap-buffers: the mmap protocol with the driver's own payload
 * buffers (KBDUS_IOCTL_MMAP_SET_BUFFERS), through the raw interface.
 *
 *   - every bad argument is refused, and so is a second call, a call after
 *     kbdus allocated buffers of its own, and a call on another protocol;
 *   - once set, the mapping cannot reach past the descriptors, and another
 *     process cannot transceive (EPERM);
 *   - a write's data arrives in the driver's memory and a read's reply is
 *     taken from it, at address + slot * buffer_size;
 *   - a receive into memory that faults fails with EFAULT and leaves the
 *     request queued: it arrives again once the memory is back;
 *   - a reply from memory that faults fails with EFAULT and fails the read
 *     with EIO, never returning stale or uninitialised data.
 *
 * Prints one line per failed check and exits 1 if any failed.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kbdus.h>

#include "lib/uapi-check.h"

#define IO_SIZE 8192

/* ------------------------------------------------------------------------- */
/* I/O on the device from another thread */

struct transfer {
	uint64_t id;
	bool write;
	char *data; /* IO_SIZE bytes, page-aligned */
	int error; /* 0, an errno value, or -1 for a short transfer */
	pthread_t thread;
};

static void *transfer_fn(void *arg)
{
	struct transfer *t = arg;
	int fd = open_device(t->id, O_RDWR | O_DIRECT);
	ssize_t ret;

	if (fd < 0) {
		t->error = errno;
		return NULL;
	}
	ret = t->write ? pwrite(fd, t->data, IO_SIZE, 0) :
			 pread(fd, t->data, IO_SIZE, 0);
	t->error = ret < 0 ? errno : ret != IO_SIZE ? -1 : 0;
	close(fd);
	return NULL;
}

static void start(struct transfer *t, uint64_t id, bool write, int fill)
{
	t->id = id;
	t->write = write;
	t->data = aligned_alloc(4096, IO_SIZE);
	if (!t->data)
		die("aligned_alloc");
	memset(t->data, fill, IO_SIZE);
	if (pthread_create(&t->thread, NULL, transfer_fn, t))
		die("pthread_create");
}

static int finish(struct transfer *t)
{
	pthread_join(t->thread, NULL);
	return t->error;
}

static bool all_bytes(const char *p, int c, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (p[i] != (char)c)
			return false;
	return true;
}

/* ------------------------------------------------------------------------- */

/* SET_BUFFERS on an unbound fd and on another protocol's session. */
static void check_wrong_sessions(void)
{
	struct kbdus_device_config c = small_config(KBDUS_PROTOCOL_IOCTL);
	struct kbdus_mmap_buffers_args args = { .address = 4096, .size = 4096 };
	int fd = open_control();

	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_SET_BUFFERS, &args), EBADFD);
	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), 0);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_SET_BUFFERS, &args), EPROTOTYPE);
	close(fd); /* destroys the non-recoverable device */
}

/* kbdus's own buffers come with the first mapping that reaches them, or
 * the first transceive; after that the driver cannot bring its own. */
static void check_too_late(void)
{
	struct kbdus_mmap_transceive_args mtr = { .flags = KBDUS_MMAP_NO_RECEIVE };
	struct kbdus_mmap_buffers_args args = { 0 };
	struct kbdus_device_config c;
	struct kbdus_mmap_layout layout;
	void *area, *buffers;
	int fd;

	for (int way = 0; way < 2; way++) {
		c = small_config(KBDUS_PROTOCOL_MMAP); /* CREATE wrote out fields */
		fd = open_control();
		EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), 0);
		EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_LAYOUT, &layout), 0);
		args.size = layout.mmap_size - layout.buffers_offset;
		buffers = mmap(NULL, args.size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buffers == MAP_FAILED)
			die("mmap buffers");
		args.address = (uintptr_t)buffers;

		/* Mapping only the descriptors decides nothing. */
		area = mmap(NULL, layout.buffers_offset, PROT_READ, MAP_SHARED,
			    fd, 0);
		CHECK(area != MAP_FAILED, "mapping the descriptors: %s",
		      strerror(errno));
		if (area != MAP_FAILED)
			munmap(area, layout.buffers_offset);

		if (way == 0) {
			area = mmap(NULL, layout.mmap_size, PROT_READ,
				    MAP_SHARED, fd, 0);
			CHECK(area != MAP_FAILED, "mapping the whole area: %s",
			      strerror(errno));
			if (area != MAP_FAILED)
				munmap(area, layout.mmap_size);
		} else {
			EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), 0);
		}
		EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_SET_BUFFERS, &args), EBUSY);
		munmap(buffers, args.size);
		close(fd);
	}
}

static void check_bad_arguments(int fd, const struct kbdus_mmap_layout *layout,
				char *buffers)
{
	uint64_t size = layout->mmap_size - layout->buffers_offset;
	struct kbdus_mmap_buffers_args good = {
		.address = (uintptr_t)buffers,
		.size = size,
	};
	struct kbdus_mmap_buffers_args args;

#define BAD_ARGS(mutation, err)                                           \
	do {                                                              \
		args = good;                                              \
		mutation;                                                 \
		EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_SET_BUFFERS, &args), err); \
	} while (0)

	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_SET_BUFFERS, NULL), EFAULT);
	BAD_ARGS(args.flags = 1, EINVAL);
	BAD_ARGS(args.reserved0 = 1, EINVAL);
	BAD_ARGS(args.reserved[0] = 1, EINVAL);
	BAD_ARGS(args.reserved[1] = 1, EINVAL);
	BAD_ARGS(args.address = 0, EINVAL);
	BAD_ARGS(args.address += 512, EINVAL);
	BAD_ARGS(args.size = 0, EINVAL);
	BAD_ARGS(args.size -= 4096, EINVAL);
	BAD_ARGS(args.size += 4096, EINVAL);
	/* Kernel addresses are not user memory. */
	BAD_ARGS(args.address = 0xffff888000000000ull, EFAULT);
	BAD_ARGS(args.address = UINT64_MAX & ~4095ull, EFAULT);
#undef BAD_ARGS
}

/* A transceive from a forked child: its memory is not the driver's. */
static void check_other_process(int fd)
{
	struct kbdus_mmap_transceive_args mtr = {
		.flags = KBDUS_MMAP_NO_RECEIVE, /* never blocks */
	};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr) < 0 &&
				      errno == EPERM ?
			      0 :
			      1);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "a transceive from another process was not refused with EPERM");
}

/* Receives the next request (notifications are skipped); returns the slot. */
static uint32_t receive(int fd, struct kbdus_mmap_transceive_args *mtr)
{
	for (;;) {
		memset(mtr, 0, sizeof(*mtr));
		if (ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, mtr) < 0)
			die("receive");
		if (mtr->slot != KBDUS_NO_SLOT)
			return mtr->slot;
	}
}

static int reply(int fd, uint64_t handle)
{
	struct kbdus_mmap_transceive_args mtr = {
		.reply_handle = handle,
		.flags = KBDUS_MMAP_NO_RECEIVE,
	};

	return ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr);
}

static void check_serving(void)
{
	struct kbdus_device_config c = small_config(KBDUS_PROTOCOL_MMAP);
	struct kbdus_mmap_transceive_args mtr;
	struct kbdus_mmap_layout layout;
	const struct kbdus_request *descriptors, *req;
	struct transfer t;
	uint64_t size;
	uint32_t slot;
	char *buffers;
	int fd = open_control();

	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), 0);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_LAYOUT, &layout), 0);
	size = layout.mmap_size - layout.buffers_offset;
	CHECK(layout.num_slots == 4 && size == 4ull * layout.buffer_size,
	      "layout: %u slots of %u bytes, %llu bytes of buffers",
	      layout.num_slots, layout.buffer_size, (unsigned long long)size);
	buffers = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buffers == MAP_FAILED)
		die("mmap buffers");

	check_bad_arguments(fd, &layout, buffers);
	struct kbdus_mmap_buffers_args args = {
		.address = (uintptr_t)buffers,
		.size = size,
	};
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_SET_BUFFERS, &args), 0);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_SET_BUFFERS, &args), EBUSY);

	/* Only the descriptors can be mapped now. */
	EXPECT(mmap(NULL, layout.mmap_size, PROT_READ, MAP_SHARED, fd, 0) ==
			       MAP_FAILED ? -1 : 0,
	       EINVAL);
	EXPECT(mmap(NULL, layout.buffers_offset + 4096, PROT_READ, MAP_SHARED,
		    fd, 0) == MAP_FAILED ?
		       -1 :
		       0,
	       EINVAL);
	descriptors = mmap(NULL, layout.buffers_offset, PROT_READ, MAP_SHARED,
			   fd, 0);
	if (descriptors == MAP_FAILED)
		die("mmap descriptors");

	check_other_process(fd);

	/* A write lands in the driver's buffer of its slot; a receive into
	 * memory that faults leaves it queued. */
	start(&t, c.id, true, 0x5a);
	usleep(200000);
	mprotect(buffers, size, PROT_READ);
	memset(&mtr, 0, sizeof(mtr));
	for (;;) {
		int ret = ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr);

		if (ret == 0 && mtr.slot == KBDUS_NO_SLOT)
			continue; /* DEVICE_AVAILABLE */
		CHECK(ret < 0 && errno == EFAULT,
		      "a receive into read-only memory: %d (%s), slot %u",
		      ret, ret < 0 ? strerror(errno) : "ok", mtr.slot);
		break;
	}
	mprotect(buffers, size, PROT_READ | PROT_WRITE);
	slot = receive(fd, &mtr);
	req = &descriptors[slot];
	CHECK(slot < layout.num_slots && mtr.type == KBDUS_REQ_WRITE &&
		      req->type == KBDUS_REQ_WRITE && req->offset == 0 &&
		      req->size == IO_SIZE,
	      "expected an 8 KiB write at 0, got slot %u type %u/%u offset "
	      "%llu size %u",
	      slot, mtr.type, req->type, (unsigned long long)req->offset,
	      req->size);
	CHECK(all_bytes(buffers + (size_t)slot * layout.buffer_size, 0x5a,
			IO_SIZE),
	      "the write's data is not in the driver's buffer of slot %u", slot);
	EXPECT(reply(fd, req->handle), 0);
	CHECK(finish(&t) == 0, "the write failed: %d", t.error);

	/* A read's reply comes from the driver's buffer. */
	start(&t, c.id, false, 0);
	slot = receive(fd, &mtr);
	req = &descriptors[slot];
	CHECK(req->type == KBDUS_REQ_READ && req->size == IO_SIZE,
	      "expected an 8 KiB read, got type %u size %u", req->type,
	      req->size);
	memset(buffers + (size_t)slot * layout.buffer_size, 0x3c, IO_SIZE);
	EXPECT(reply(fd, req->handle), 0);
	CHECK(finish(&t) == 0 && all_bytes(t.data, 0x3c, IO_SIZE),
	      "the read got %d and not the driver's data", t.error);

	/* A reply from memory that faults fails the read. */
	start(&t, c.id, false, 0x77);
	slot = receive(fd, &mtr);
	req = &descriptors[slot];
	mprotect(buffers, size, PROT_NONE);
	EXPECT(reply(fd, req->handle), EFAULT);
	mprotect(buffers, size, PROT_READ | PROT_WRITE);
	CHECK(finish(&t) == EIO, "a read whose reply faulted got %d, not EIO",
	      t.error);
	EXPECT(reply(fd, req->handle), ESTALE);

	munmap((void *)descriptors, layout.buffers_offset);
	close(fd); /* destroys the device */
	munmap(buffers, size);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("%s\n", "check_wrong_sessions");
	check_wrong_sessions();
	printf("%s\n", "check_too_late");
	check_too_late();
	printf("%s\n", "check_serving");
	check_serving();

	return checks_summary();
}
