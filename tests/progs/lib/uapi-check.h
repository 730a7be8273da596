// SPDX-License-Identifier: MIT
/*
 * uapi-check.h - what the uapi-* test programs that count checks share:
 * EXPECT() and CHECK() record one check each and print a line for each
 * failure; the program ends with "N checks, N failed" and exits 1 if any
 * failed.  Header-only: each program is one file.
 */

#ifndef BDUS_TESTS_UAPI_CHECK_H_
#define BDUS_TESTS_UAPI_CHECK_H_

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/kbdus.h>

static int failures, checks;

/* call returns < 0 with errno err, or succeeds if err is 0. */
#define EXPECT(call, err)                                                     \
	do {                                                                  \
		int ret_ = (call);                                            \
		int errno_ = errno;                                           \
		checks++;                                                     \
		if ((err) == 0 ? ret_ < 0 : (ret_ >= 0 || errno_ != (err))) { \
			failures++;                                           \
			printf("line %d: %s: got %d (%s), expected %s\n",     \
			       __LINE__, #call, ret_,                         \
			       ret_ < 0 ? strerror(errno_) : "ok",            \
			       (err) ? strerror(err) : "success");            \
		}                                                             \
	} while (0)

/* cond holds; else prints the printf-style message. */
#define CHECK(cond, ...)                               \
	do {                                           \
		checks++;                              \
		if (!(cond)) {                         \
			failures++;                    \
			printf("line %d: ", __LINE__); \
			printf(__VA_ARGS__);           \
			printf("\n");                  \
		}                                      \
	} while (0)

/* For what the checks cannot go on without. */
static inline void die(const char *what)
{
	printf("%s: %s\n", what, strerror(errno));
	exit(1);
}

static inline int open_control(void)
{
	int fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die(KBDUS_CONTROL_DEVICE_PATH);
	return fd;
}

/* A small device that serves reads and writes: 4 MiB, one queue of 4. */
static inline struct kbdus_device_config small_config(uint32_t protocol)
{
	struct kbdus_device_config c = {
		.size = 4 << 20,
		.logical_block_size = 512,
		.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ) |
				      KBDUS_REQ_BIT(KBDUS_REQ_WRITE),
		.queue_depth = 4,
		.protocol = protocol,
	};
	return c;
}

/* Opens /dev/bdus-<id>, whose node appears a little after the device
 * (devtmpfs): waits up to 30 s for it.  -1 with errno on failure. */
static inline int open_device(uint64_t id, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/bdus-%llu", (unsigned long long)id);
	for (int tries = 0; (fd = open(path, flags)) < 0 && errno == ENOENT &&
			    tries < 300;
	     tries++)
		usleep(100000);
	return fd;
}

/* The last line of a program's output, and its exit status. */
static inline int checks_summary(void)
{
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

#endif /* BDUS_TESTS_UAPI_CHECK_H_ */
