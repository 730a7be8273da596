// SPDX-License-Identifier: MIT
/*
 * uapi-badinput: every kbdus ioctl fed wrong sizes, non-zero reserved
 * fields, out-of-range values and bad pointers, plus bogus, duplicate and
 * stale replies on a live session.  Each must fail with the documented
 * errno and leave the kernel clean (the harness checks dmesg).
 *
 * Prints one line per failed check and exits 1 if any failed.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
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

static void *unmapped;

static struct kbdus_device_config good_config(uint32_t protocol)
{
	struct kbdus_device_config c = {
		.size = 4 << 20,
		.logical_block_size = 512,
		.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ) |
				      KBDUS_REQ_BIT(KBDUS_REQ_WRITE),
		.protocol = protocol,
	};
	return c;
}

/* CREATE with one field broken; must fail and leave fd unbound. */
static void check_bad_configs(int fd)
{
	struct kbdus_device_config c;

#define BAD_CONFIG(mutation, err)                                   \
	do {                                                        \
		c = good_config(KBDUS_PROTOCOL_IOCTL);              \
		mutation;                                           \
		EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), err); \
	} while (0)

	BAD_CONFIG(c.id = 1, EINVAL);
	BAD_CONFIG(c.major = 1, EINVAL);
	BAD_CONFIG(c.minor = 1, EINVAL);
	for (int i = 0; i < 5; i++)
		BAD_CONFIG(c.reserved[i] = 1, EINVAL);
	BAD_CONFIG(c.size = 0, EINVAL);
	BAD_CONFIG(c.size = 1000, EINVAL);
	BAD_CONFIG(c.size = UINT64_MAX - 511, EINVAL);
	BAD_CONFIG(c.logical_block_size = 0, EINVAL);
	BAD_CONFIG(c.logical_block_size = 256, EINVAL);
	BAD_CONFIG(c.logical_block_size = 1000, EINVAL);
	BAD_CONFIG(c.logical_block_size = 1 << 20, EINVAL);
	BAD_CONFIG(c.physical_block_size = 256, EINVAL);
	BAD_CONFIG(c.physical_block_size = 3000, EINVAL);
	BAD_CONFIG((c.logical_block_size = 4096, c.physical_block_size = 512), EINVAL);
	BAD_CONFIG(c.supported_requests = 1u << 10, EINVAL);
	BAD_CONFIG(c.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_TERMINATE), EINVAL);
	BAD_CONFIG(c.flags = 1u << 7, EINVAL); /* past KBDUS_CONFIG_FLAGS_MASK */
	BAD_CONFIG(c.flags = KBDUS_CONFIG_WRITE_CACHE, EINVAL); /* no FLUSH */
	BAD_CONFIG((c.flags = KBDUS_CONFIG_FUA,
		    c.supported_requests |= KBDUS_REQ_BIT(KBDUS_REQ_FUA_WRITE)), EINVAL);
	BAD_CONFIG(c.num_queues = KBDUS_MAX_QUEUES + 1, EINVAL);
	BAD_CONFIG(c.queue_depth = KBDUS_MAX_QUEUE_DEPTH + 1, EINVAL);
	BAD_CONFIG(c.request_timeout_ms = 1, EINVAL);
	BAD_CONFIG(c.request_timeout_ms = KBDUS_MAX_REQUEST_TIMEOUT_MS + 1, EINVAL);
	BAD_CONFIG((c.supported_requests |= KBDUS_REQ_BIT(KBDUS_REQ_DISCARD),
		    c.max_discard_erase_size = 100), EINVAL);
	BAD_CONFIG(c.protocol = 0, ENOPROTOOPT);
	BAD_CONFIG(c.protocol = 99, ENOPROTOOPT);
	BAD_CONFIG(c.protocol = KBDUS_PROTOCOL_URING + 1, ENOPROTOOPT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, NULL), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, unmapped), EFAULT);
#undef BAD_CONFIG
}

/* A zoned device of 4 zones of 1 MiB; CREATE with one field broken must
 * fail, and the device itself must be accepted. */
static struct kbdus_device_config zoned_config(void)
{
	struct kbdus_device_config c = good_config(KBDUS_PROTOCOL_IOCTL);

	c.flags = KBDUS_CONFIG_ZONED;
	c.supported_requests |= KBDUS_REQ_ZONE_TYPES_MASK;
	c.zone_size = 1 << 20;
	return c;
}

static void check_zoned_configs(void)
{
	struct kbdus_device_config c = zoned_config();
	int fd = open_control();

	/* A kernel without CONFIG_BLK_DEV_ZONED refuses every zoned device. */
	if (ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c) < 0 &&
	    errno == EOPNOTSUPP) {
		printf("no zoned devices on this kernel: skipping their checks\n");
		close(fd);
		return;
	}
	close(fd); /* destroys it: nobody serves its zone report */
	fd = open_control();

#define BAD_ZONED(mutation, err)                                    \
	do {                                                        \
		c = zoned_config();                                 \
		mutation;                                           \
		EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), err); \
	} while (0)

	/* Zoned fields and types without the flag. */
	BAD_ZONED(c.flags = 0, EINVAL);
	BAD_ZONED((c.flags = 0, c.supported_requests &=
				~KBDUS_REQ_ZONE_TYPES_MASK, c.max_open_zones = 1),
		  EINVAL);
	/* The geometry. */
	BAD_ZONED(c.zone_size = 0, EINVAL);
	BAD_ZONED(c.zone_size = 3 << 19, EINVAL); /* not a power of two */
	BAD_ZONED(c.zone_size = 2048, EINVAL); /* under 4096 */
	BAD_ZONED(c.size = 5 << 19, EINVAL); /* not a multiple of zones */
	BAD_ZONED(c.num_conventional_zones = 4, EINVAL); /* all of them */
	BAD_ZONED(c.max_open_zones = 5, EINVAL); /* over the 4 sequential */
	BAD_ZONED((c.num_conventional_zones = 1, c.max_active_zones = 4),
		  EINVAL);
	BAD_ZONED((c.max_open_zones = 3, c.max_active_zones = 2), EINVAL);
	BAD_ZONED(c.max_zone_append_size = 1000, EINVAL);
	/* The request types a zoned device needs, or cannot have. */
	BAD_ZONED(c.supported_requests &= ~KBDUS_REQ_BIT(KBDUS_REQ_REPORT_ZONES),
		  EINVAL);
	BAD_ZONED(c.supported_requests &= ~KBDUS_REQ_BIT(KBDUS_REQ_ZONE_APPEND),
		  EINVAL);
	BAD_ZONED(c.supported_requests &= ~KBDUS_REQ_BIT(KBDUS_REQ_ZONE_RESET_ALL),
		  EINVAL);
	BAD_ZONED(c.supported_requests |= KBDUS_REQ_BIT(KBDUS_REQ_DISCARD),
		  EINVAL);
#undef BAD_ZONED

	/* The same device, unbroken, with its append limit filled in. */
	c = zoned_config();
	c.max_open_zones = 2;
	c.max_active_zones = 3;
	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), 0);
	checks++;
	if (c.max_zone_append_size != c.max_read_write_size ||
	    c.zone_size != 1 << 20 || c.max_open_zones != 2 ||
	    c.max_active_zones != 3) {
		failures++;
		printf("zoned config came back as append %u (max rw %u), zone "
		       "size %llu, open %u, active %u\n",
		       c.max_zone_append_size, c.max_read_write_size,
		       (unsigned long long)c.zone_size, c.max_open_zones,
		       c.max_active_zones);
	}
	close(fd); /* destroys it: nobody serves its zone report */
}

/* The id of a device that existed and is gone. */
static uint64_t gone_device_id(int fd)
{
	struct kbdus_device_config c = good_config(KBDUS_PROTOCOL_IOCTL);
	struct kbdus_destroy_args args = { 0 };
	int session = open_control();

	EXPECT(ioctl(session, KBDUS_IOCTL_CREATE_DEVICE, &c), 0);
	args.id = c.id;
	args.flags = KBDUS_DESTROY_NO_FLUSH;
	EXPECT(ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, &args), 0);
	close(session);
	args.flags = 0;
	EXPECT(ioctl(fd, KBDUS_IOCTL_WAIT_DESTROYED, &args), 0);
	return c.id;
}

/* Ids are never reused: a device that is gone gives ENODEV, an id no
 * device ever had EINVAL (as BDUS 0.1's kbdus did). */
static void check_missing_devices(int fd)
{
	const uint64_t never = (uint64_t)1 << 62;
	const uint64_t gone = gone_device_id(fd);
	struct kbdus_attach_args attach = { .id = never };
	struct kbdus_device_info info = { .id = never };
	struct kbdus_destroy_args destroy = { .id = never };
	int session = open_control();

	EXPECT(ioctl(session, KBDUS_IOCTL_ATTACH_DEVICE, &attach), EINVAL);
	EXPECT(ioctl(fd, KBDUS_IOCTL_GET_DEVICE_INFO, &info), EINVAL);
	EXPECT(ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, &destroy), EINVAL);
	EXPECT(ioctl(fd, KBDUS_IOCTL_WAIT_DESTROYED, &destroy), EINVAL);

	attach.id = info.id = destroy.id = gone;
	EXPECT(ioctl(session, KBDUS_IOCTL_ATTACH_DEVICE, &attach), ENODEV);
	EXPECT(ioctl(fd, KBDUS_IOCTL_GET_DEVICE_INFO, &info), ENODEV);
	EXPECT(ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, &destroy), ENODEV);
	EXPECT(ioctl(fd, KBDUS_IOCTL_WAIT_DESTROYED, &destroy), 0);
	close(session);
}

static void check_control_ioctls(int fd)
{
	/* A gone device, so that only a reserved field gives EINVAL. */
	const uint64_t gone = gone_device_id(fd);
	struct kbdus_attach_args attach = { .id = gone };
	struct kbdus_device_info info = { .id = gone };
	struct kbdus_destroy_args destroy = { .id = gone };
	struct kbdus_transceive_args tr = { 0 };
	struct kbdus_mmap_transceive_args mtr = { 0 };
	uint64_t id = 0;

	/* Wrong sizes and unknown commands. */
	EXPECT(ioctl(fd, _IOR(KBDUS_IOCTL_TYPE, 0, uint64_t), &id), ENOTTY);
	EXPECT(ioctl(fd, _IOWR(KBDUS_IOCTL_TYPE, 1, uint64_t), &id), ENOTTY);
	EXPECT(ioctl(fd, _IOWR(KBDUS_IOCTL_TYPE, 3, uint64_t), &id), ENOTTY);
	EXPECT(ioctl(fd, _IOW(KBDUS_IOCTL_TYPE, 16, uint64_t), &id), ENOTTY);
	EXPECT(ioctl(fd, _IO(KBDUS_IOCTL_TYPE, 200), 0), ENOTTY);
	EXPECT(ioctl(fd, _IO('X', 1), 0), ENOTTY);

	/* Bad pointers. */
	EXPECT(ioctl(fd, KBDUS_IOCTL_GET_VERSION, NULL), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_GET_VERSION, unmapped), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_ATTACH_DEVICE, NULL), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_GET_DEVICE_INFO, unmapped), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_NEXT_DEVICE_ID, NULL), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, unmapped), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_WAIT_DESTROYED, NULL), EFAULT);

	/* Reserved and out fields, and missing devices. */
	EXPECT(ioctl(fd, KBDUS_IOCTL_ATTACH_DEVICE, &attach), ENODEV);
	attach.flags = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_ATTACH_DEVICE, &attach), EINVAL);
	attach.flags = 0;
	attach.reserved[5] = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_ATTACH_DEVICE, &attach), EINVAL);
	attach.reserved[5] = 0;
	attach.config.size = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_ATTACH_DEVICE, &attach), EINVAL);
	attach.config.size = 0;
	attach.protocol = 77;
	EXPECT(ioctl(fd, KBDUS_IOCTL_ATTACH_DEVICE, &attach), ENOPROTOOPT);

	EXPECT(ioctl(fd, KBDUS_IOCTL_GET_DEVICE_INFO, &info), ENODEV);
	info.state = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_GET_DEVICE_INFO, &info), EINVAL);
	info.state = 0;
	info.reserved[0] = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_GET_DEVICE_INFO, &info), EINVAL);

	EXPECT(ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, &destroy), ENODEV);
	destroy.flags = 2;
	EXPECT(ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, &destroy), EINVAL);
	destroy.flags = 0;
	destroy.reserved0 = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, &destroy), EINVAL);
	destroy.reserved0 = 0;
	destroy.flags = KBDUS_DESTROY_NO_FLUSH; /* not allowed for WAIT */
	EXPECT(ioctl(fd, KBDUS_IOCTL_WAIT_DESTROYED, &destroy), EINVAL);
	destroy.flags = 0;
	EXPECT(ioctl(fd, KBDUS_IOCTL_WAIT_DESTROYED, &destroy), 0);

	id = UINT64_MAX;
	EXPECT(ioctl(fd, KBDUS_IOCTL_NEXT_DEVICE_ID, &id), ENOENT);

	/* Session ioctls on an fd that is no session. */
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EBADFD);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EBADFD);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_LAYOUT, &mtr), EBADFD);
	EXPECT(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0,
	       EBADFD);
}

/* A live ioctl-protocol session: bogus, duplicate and stale replies. */
static void check_ioctl_session(void)
{
	struct kbdus_device_config c = good_config(KBDUS_PROTOCOL_IOCTL);
	struct kbdus_transceive_args tr = { 0 };
	struct kbdus_mmap_transceive_args mtr = { 0 };
	struct kbdus_request req;
	struct kbdus_reply reply = { 0 };
	static unsigned char payload[1 << 20];
	int fd = open_control();

	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), 0);
	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), EALREADY);
	EXPECT(ioctl(fd, KBDUS_IOCTL_ATTACH_DEVICE,
		     &(struct kbdus_attach_args){ .id = c.id }), EALREADY);
	EXPECT(ioctl(fd, KBDUS_IOCTL_WAIT_DESTROYED,
		     &(struct kbdus_destroy_args){ .id = c.id }), EDEADLK);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EPROTOTYPE);
	EXPECT(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0,
	       ENODEV);

	/* Transceive arguments (flag 1 is KBDUS_TRANSCEIVE_NONBLOCK). */
	tr.flags = 2;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	tr.flags = 0;
	tr.reserved[3] = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	tr.reserved[3] = 0;
	tr.request = (uintptr_t)unmapped;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EFAULT); /* AVAILABLE lost? */
	tr.request = (uintptr_t)&req;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), 0);
	if (req.type != KBDUS_REQ_DEVICE_AVAILABLE) {
		failures++;
		printf("DEVICE_AVAILABLE was lost after EFAULT (type %u)\n", req.type);
	}

	/* Replies with handles that name no delivered request. */
	tr.request = 0;
	tr.reply = (uintptr_t)&reply;
	reply.handle = 0;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.handle = 0xffffffffull | (1ull << 32);
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.handle = 1ull << 32; /* slot 0, never delivered */
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), ESTALE);
	reply.handle = 5;  /* generation 0 */
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.handle = 1ull << 32;
	reply.error = -1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.error = 5000;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.error = 0;
	reply.flags = 1u << 1; /* unknown */
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.flags = 0;
	reply.reserved = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.reserved = 0;
	reply.passthrough = 4096; /* without the flag */
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.flags = KBDUS_REPLY_PASSTHROUGH;
	reply.error = 5; /* a passthrough answers with data */
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.error = 0;
	reply.passthrough = 0;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EINVAL);
	reply.flags = 0;
	tr.reply = (uintptr_t)unmapped;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EFAULT);

	/* A real request: read from a child process, then reply twice. */
	pid_t child = fork();
	if (child == 0) {
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/dev/bdus-%llu",
			 (unsigned long long)c.id);
		int dfd = open(path, O_RDONLY | O_DIRECT);
		_exit(dfd >= 0 && pread(dfd, buf, 512, 4096) == 512 ? 0 : 1);
	}

	tr.reply = 0;
	tr.request = (uintptr_t)&req;
	tr.payload = (uintptr_t)payload;
	tr.payload_size = sizeof(payload);
	do
		EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), 0);
	while (req.type != KBDUS_REQ_READ);

	/* Reply with a payload pointer that faults: the request fails, and
	 * the handle is consumed. */
	memset(&reply, 0, sizeof(reply));
	reply.handle = req.handle;
	tr.request = 0;
	tr.reply = (uintptr_t)&reply;
	tr.payload = (uintptr_t)unmapped;
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), ESTALE); /* duplicate */
	reply.handle = req.handle + (1ull << 32); /* future generation */
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), ESTALE);

	int status;
	waitpid(child, &status, 0);
	checks++;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) {
		failures++;
		printf("the reader should have seen its read fail\n");
	}

	close(fd);
}

/* A live mmap-protocol session. */
static void check_mmap_session(void)
{
	struct kbdus_device_config c = good_config(KBDUS_PROTOCOL_MMAP);
	struct kbdus_mmap_transceive_args mtr = { 0 };
	struct kbdus_transceive_args tr = { 0 };
	struct kbdus_mmap_layout layout;
	int fd = open_control();

	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), 0);
	EXPECT(ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr), EPROTOTYPE);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_LAYOUT, NULL), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_LAYOUT, &layout), 0);

	/* Private, too large, or offset mappings are refused. */
	EXPECT(mmap(NULL, layout.mmap_size, PROT_READ, MAP_PRIVATE, fd, 0) ==
			       MAP_FAILED ? -1 : 0, EINVAL);
	EXPECT(mmap(NULL, layout.mmap_size + 4096, PROT_READ, MAP_SHARED, fd, 0) ==
			       MAP_FAILED ? -1 : 0, EINVAL);
	EXPECT(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096) == MAP_FAILED ? -1 : 0,
	       EINVAL);
	void *area = mmap(NULL, layout.mmap_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, fd, 0);
	checks++;
	if (area == MAP_FAILED) {
		failures++;
		printf("mmap of the session area failed: %s\n", strerror(errno));
	}

	mtr.flags = 2;
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	mtr.flags = 0;
	mtr.reserved0 = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	mtr.reserved0 = 0;
	mtr.reserved = 1;
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	mtr.reserved = 0;
	mtr.reply_passthrough = 4096; /* without the flag */
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	mtr.reply_passthrough = 0;
	mtr.flags = KBDUS_MMAP_REPLY_PASSTHROUGH; /* no handle, no descriptor */
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	mtr.reply_handle = 1ull << 32;
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	mtr.reply_passthrough = 4096;
	mtr.reply_error = 5;
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	mtr.reply_error = 0;
	/* The descriptor is read first: page 1 is never mapped. */
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EFAULT);
	mtr.reply_handle = 0;
	mtr.reply_passthrough = 0;
	mtr.flags = 0;
	mtr.reply_error = -5;
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	mtr.reply_error = 0;
	mtr.reply_handle = (uint64_t)layout.num_slots | (1ull << 32);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), EINVAL);
	mtr.reply_handle = 1ull << 32;
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), ESTALE);
	mtr.reply_handle = 0;
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, unmapped), EFAULT);
	EXPECT(ioctl(fd, KBDUS_IOCTL_MMAP_TRANSCEIVE, &mtr), 0);
	checks++;
	if (mtr.type != KBDUS_REQ_DEVICE_AVAILABLE || mtr.slot != KBDUS_NO_SLOT) {
		failures++;
		printf("expected DEVICE_AVAILABLE, got type %u slot %u\n", mtr.type,
		       mtr.slot);
	}

	if (area != MAP_FAILED)
		munmap(area, layout.mmap_size);
	close(fd);
}

/* Shared-memory limit, write-zeroes adjustment, and an ATTACH whose
 * copy-out faults. */
static void check_limits_and_attach(void)
{
	struct kbdus_device_config c = good_config(KBDUS_PROTOCOL_MMAP);
	struct kbdus_device_info info = { 0 };
	struct kbdus_attach_args *args;
	int fd = open_control();
	int fd2;

	/* 1 MiB buffers x 1024 slots already reach 1 GiB with the
	 * descriptors: refused before anything is allocated. */
	c.queue_depth = 1024;
	c.max_read_write_size = 1 << 20;
	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), E2BIG);
	close(fd);
	fd = open_control();

	/* A driver that serves only MAY_UNMAP write-zeroes gets none. */
	c = good_config(KBDUS_PROTOCOL_IOCTL);
	c.supported_requests |= KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP);
	c.flags = KBDUS_CONFIG_RECOVERABLE;
	EXPECT(ioctl(fd, KBDUS_IOCTL_CREATE_DEVICE, &c), 0);
	checks++;
	if ((c.supported_requests &
	     KBDUS_REQ_BIT(KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP)) ||
	    c.max_write_zeros_size) {
		failures++;
		printf("MAY_UNMAP-only write-zeroes kept: types %#x max %u\n",
		       c.supported_requests, c.max_write_zeros_size);
	}

	/* Wait until the device is available, then let it go inactive. */
	info.id = c.id;
	for (int i = 0; i < 300; i++) {
		memset(&info, 0, sizeof(info));
		info.id = c.id;
		if (ioctl(fd, KBDUS_IOCTL_GET_DEVICE_INFO, &info) == 0 &&
		    info.state == KBDUS_STATE_ACTIVE)
			break;
		usleep(100000);
	}
	close(fd);

	/* ATTACH with its config in a read-only page: EFAULT, and the fd
	 * must not be bound, so the same fd can attach afterwards. */
	char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	args = (struct kbdus_attach_args *)(pages + 4096 -
					    offsetof(struct kbdus_attach_args,
						     config));
	memset(args, 0, offsetof(struct kbdus_attach_args, config));
	args->id = c.id;
	memset(pages + 4096, 0, 4096);
	mprotect(pages + 4096, 4096, PROT_READ);
	fd2 = open_control();
	for (int i = 0; i < 300; i++) {
		if (ioctl(fd2, KBDUS_IOCTL_ATTACH_DEVICE, args) == 0 ||
		    errno != EBUSY)
			break;
		usleep(100000); /* the creator's session is still closing */
	}
	checks++;
	if (errno != EFAULT) {
		failures++;
		printf("ATTACH with a read-only config: %s, expected EFAULT\n",
		       strerror(errno));
	}
	struct kbdus_attach_args good = { .id = c.id };
	EXPECT(ioctl(fd2, KBDUS_IOCTL_ATTACH_DEVICE, &good), 0);
	close(fd2);
	munmap(pages, 8192);

	struct kbdus_destroy_args destroy = { .id = c.id,
					      .flags = KBDUS_DESTROY_NO_FLUSH };
	fd = open_control();
	EXPECT(ioctl(fd, KBDUS_IOCTL_DESTROY_DEVICE, &destroy), 0);
	destroy.flags = 0;
	EXPECT(ioctl(fd, KBDUS_IOCTL_WAIT_DESTROYED, &destroy), 0);
	close(fd);
}

int main(void)
{
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Kept reserved, so no later mapping can land there. */
	unmapped = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	fd = open_control();
	printf("%s\n", "check_bad_configs");
	check_bad_configs(fd);
	printf("%s\n", "check_zoned_configs");
	check_zoned_configs();
	printf("%s\n", "check_control_ioctls");
	check_control_ioctls(fd);
	printf("%s\n", "check_missing_devices");
	check_missing_devices(fd);
	close(fd);

	printf("%s\n", "check_ioctl_session");
	check_ioctl_session();
	printf("%s\n", "check_mmap_session");
	check_mmap_session();
	printf("%s\n", "check_limits_and_attach");
	check_limits_and_attach();

	return checks_summary();
}
