// SPDX-License-Identifier: MIT
/*
 * abi-0.1-driver.c - a driver as BDUS 0.1.2's header compiled it: every
 * call goes to a versioned entry point (bdus_run_0_1_1_, ...), which is
 * what binaries built against 0.1.x need from today's libbdus.so.  The
 * types come from bdus.h, required at 0.1.1, whose layouts are 0.1.x's.
 *
 *   abi-0.1-driver run SIZE         a recoverable RAM device (daemonizes,
 *                                   printing its path)
 *   abi-0.1-driver rerun ID         takes it over (data starts zeroed)
 *   abi-0.1-driver id PATH          prints the device's id
 *   abi-0.1-driver flush|destroy ID
 *   abi-0.1-driver version          prints libbdus's and kbdus's versions
 *   abi-0.1-driver set PATH LABEL   as a client: stores LABEL in the driver
 *   abi-0.1-driver get PATH         as a client: prints the driver's label
 *
 * Its ioctls are written as 0.1.x drivers wrote them: 0.1 named argument
 * directions from the driver's side, so the command that hands the driver
 * data is an _IOR and the one that brings data back is an _IOW.
 *
 * Exit status 0 on success; 1 with libbdus's message on failure.
 */

#define BDUS_REQUIRE_VERSION_MAJOR 0
#define BDUS_REQUIRE_VERSION_MINOR 1
#define BDUS_REQUIRE_VERSION_PATCH 1
#include <bdus.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define ABI01_SET_LABEL _IOR('b', 1, char[16]) /* 0.1: to the driver */
#define ABI01_GET_LABEL _IOW('b', 2, char[16]) /* 0.1: to the caller */

static char label[16];

/* 0.1.1's and 0.1.2's bdus.h declared these and called them from inline
 * wrappers; the binaries they built reference them by name. */
bool bdus_run_0_1_1_(const struct bdus_ops *ops,
		     const struct bdus_attrs *attrs, void *private_data);
bool bdus_rerun_0_1_1_(uint64_t dev_id, const struct bdus_ops *ops,
		       const struct bdus_attrs *attrs, void *private_data);
bool bdus_get_dev_id_from_path_0_1_0_(uint64_t *out_dev_id,
				      const char *dev_path);
bool bdus_flush_dev_0_1_0_(uint64_t dev_id);
bool bdus_destroy_dev_0_1_0_(uint64_t dev_id);
const char *bdus_get_error_message_0_1_0_(void);
const struct bdus_version *bdus_get_libbdus_version_0_1_0_(void);
bool bdus_get_kbdus_version_0_1_0_(struct bdus_version *out_kbdus_version);

/* The device's size is only known here for a rerun: allocate here. */
static int ram_initialize(struct bdus_ctx *ctx)
{
	ctx->private_data = calloc(1, ctx->attrs->size);
	return ctx->private_data ? 0 : ENOMEM;
}

static int ram_read(char *buffer, uint64_t offset, uint32_t size,
		    struct bdus_ctx *ctx)
{
	memcpy(buffer, (char *)ctx->private_data + offset, size);
	return 0;
}

static int ram_write(const char *buffer, uint64_t offset, uint32_t size,
		     struct bdus_ctx *ctx)
{
	memcpy((char *)ctx->private_data + offset, buffer, size);
	return 0;
}

static int ram_flush(struct bdus_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static int label_ioctl(uint32_t command, void *argument,
		       struct bdus_ctx *ctx)
{
	(void)ctx;
	switch (command) {
	case ABI01_SET_LABEL:
		memcpy(label, argument, sizeof(label));
		return 0;
	case ABI01_GET_LABEL:
		memcpy(argument, label, sizeof(label));
		return 0;
	default:
		return ENOTTY;
	}
}

static const struct bdus_ops ram_ops = {
	.initialize = ram_initialize,
	.read = ram_read,
	.write = ram_write,
	.flush = ram_flush,
	.ioctl = label_ioctl,
};

/* The client side: plain ioctl(2) on the block device. */
static int label_client(const char *path, const char *set)
{
	char buf[16] = { 0 };
	int fd = open(path, set ? O_RDWR : O_RDONLY);

	if (fd < 0) {
		perror(path);
		return 1;
	}
	if (set)
		strncpy(buf, set, sizeof(buf) - 1);
	if (ioctl(fd, set ? ABI01_SET_LABEL : ABI01_GET_LABEL, buf) != 0) {
		fprintf(stderr, "abi-0.1-driver: ioctl: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	if (!set)
		printf("%.15s\n", buf);
	return 0;
}

static int failed(void)
{
	fprintf(stderr, "abi-0.1-driver: %s\n",
		bdus_get_error_message_0_1_0_());
	return 1;
}

int main(int argc, char **argv)
{
	struct bdus_attrs attrs = { 0 };
	const struct bdus_version *lib;
	struct bdus_version mod;
	uint64_t id;

	if (argc == 2 && strcmp(argv[1], "version") == 0) {
		lib = bdus_get_libbdus_version_0_1_0_();
		if (!bdus_get_kbdus_version_0_1_0_(&mod))
			return failed();
		printf("%" PRIu32 ".%" PRIu32 ".%" PRIu32 " %" PRIu32
		       ".%" PRIu32 ".%" PRIu32 "\n",
		       lib->major, lib->minor, lib->patch, mod.major,
		       mod.minor, mod.patch);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "set") == 0)
		return label_client(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "get") == 0)
		return label_client(argv[2], NULL);
	if (argc != 3) {
		fprintf(stderr, "usage: abi-0.1-driver run SIZE | rerun ID | "
				"id PATH | flush ID | destroy ID | version | "
				"set PATH LABEL | get PATH\n");
		return 2;
	}

	if (strcmp(argv[1], "id") == 0) {
		if (!bdus_get_dev_id_from_path_0_1_0_(&id, argv[2]))
			return failed();
		printf("%" PRIu64 "\n", id);
		return 0;
	}
	id = strtoull(argv[2], NULL, 10);
	if (strcmp(argv[1], "flush") == 0)
		return bdus_flush_dev_0_1_0_(id) ? 0 : failed();
	if (strcmp(argv[1], "destroy") == 0)
		return bdus_destroy_dev_0_1_0_(id) ? 0 : failed();

	attrs.logical_block_size = 512;
	attrs.recoverable = true;
	if (strcmp(argv[1], "run") == 0) {
		attrs.size = id;
		return bdus_run_0_1_1_(&ram_ops, &attrs, NULL) ? 0 : failed();
	}
	if (strcmp(argv[1], "rerun") == 0) {
		attrs.logical_block_size = 0; /* 0: the device's */
		return bdus_rerun_0_1_1_(id, &ram_ops, &attrs, NULL) ? 0 :
									failed();
	}
	return 2;
}
