// SPDX-License-Identifier: MIT
/*
 * first-driver.c - the driver of docs/writing-a-driver.md: a 64 MiB block
 * device whose data lives in this process's memory.
 *
 * Build:  cc first-driver.c $(pkg-config --cflags --libs bdus) -o first-driver
 * Run:    sudo ./first-driver      (prints /dev/bdus-<id>, then backgrounds)
 * Stop:   sudo bdus destroy /dev/bdus-<id>
 */

#include <bdus.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_SIZE (64 * 1024 * 1024)

/* Copy from our memory to the kernel's buffer. */
static int device_read(char *buffer, uint64_t offset, uint32_t size,
		       struct bdus_ctx *ctx)
{
	char *memory = ctx->private_data;

	memcpy(buffer, memory + offset, size);
	return 0;
}

/* Copy from the kernel's buffer to our memory. */
static int device_write(const char *buffer, uint64_t offset, uint32_t size,
			struct bdus_ctx *ctx)
{
	char *memory = ctx->private_data;

	memcpy(memory + offset, buffer, size);
	return 0;
}

int main(void)
{
	/* Callbacks left out (NULL) are request types the device refuses. */
	const struct bdus_ops ops = {
		.read = device_read,
		.write = device_write,
	};
	/* Fields left at zero take their default values. */
	const struct bdus_attrs attrs = {
		.logical_block_size = 512,
		.size = DEVICE_SIZE,
	};
	char *memory = calloc(1, DEVICE_SIZE);

	if (!memory) {
		fprintf(stderr, "first-driver: out of memory\n");
		return 1;
	}

	/* Returns once the device is destroyed (or could not be created). */
	if (!bdus_run(&ops, &attrs, memory)) {
		fprintf(stderr, "first-driver: %s\n", bdus_get_error_message());
		free(memory);
		return 1;
	}

	free(memory);
	return 0;
}
