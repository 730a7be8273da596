// SPDX-License-Identifier: MIT
/*
 * aio-ram.c - DRAFT example of the asynchronous API (docs/design/bdus-aio.h):
 * several RAM devices served by one thread with poll(), no thread started
 * by libbdus.  It compiles against the draft header; nothing implements
 * the API yet, so it does not link.
 *
 *   aio-ram <count> <size in MiB>
 */

#include "bdus-aio.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEVICES 16

struct ram {
	char *memory;
};

/* Serves one request at once: RAM never waits.  A driver whose backend is
 * asynchronous would start the I/O here and call bdus_aio_complete() from
 * its own completion, on any thread. */
static void serve(struct bdus_aio_request *req)
{
	struct ram *ram = req->dev_user_data;
	int error = 0;

	switch (req->type) {
	case BDUS_AIO_READ:
		memcpy(req->buffer, ram->memory + req->offset, req->size);
		break;
	case BDUS_AIO_WRITE:
	case BDUS_AIO_FUA_WRITE:
		memcpy(ram->memory + req->offset, req->buffer, req->size);
		break;
	case BDUS_AIO_WRITE_ZEROS:
		memset(ram->memory + req->offset, 0, req->size);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	bdus_aio_complete(req, error);
}

/* Handles every event collected (*handled: how many); returns how many
 * devices are still open. */
static unsigned handle_events(struct bdus_aio *aio, unsigned open,
			      unsigned *handled)
{
	struct bdus_aio_event events[64];
	unsigned count;

	*handled = 0;
	while ((count = bdus_aio_get_events(aio, events, 64)) > 0) {
		*handled += count;
		for (unsigned i = 0; i < count; i++) {
			struct bdus_aio_event *e = &events[i];

			switch (e->type) {
			case BDUS_AIO_REQUEST:
				serve(e->request);
				break;
			case BDUS_AIO_DEVICE_AVAILABLE:
				printf("%s\n", bdus_aio_dev_path(e->dev));
				fflush(stdout);
				break;
			case BDUS_AIO_DEVICE_FAILED:
				fprintf(stderr, "aio-ram: %s\n",
					e->error_message);
				/* fall through */
			case BDUS_AIO_DEVICE_TERMINATED:
				/* Nothing outstanding: serve() completes at
				 * once. */
				bdus_aio_close_dev(e->dev);
				break;
			case BDUS_AIO_DEVICE_CLOSED:
				open--;
				break;
			}
		}
	}
	return open;
}

int main(int argc, char **argv)
{
	static struct ram rams[MAX_DEVICES];
	unsigned count = argc == 3 ? (unsigned)atoi(argv[1]) : 0;
	uint64_t size = argc == 3 ? strtoull(argv[2], NULL, 10) << 20 : 0;
	/* RAM has no cache to flush: FLUSH and FUA_WRITE are not served. */
	const struct bdus_aio_dev_attrs dattrs = {
		.requests = BDUS_REQ_READ | BDUS_REQ_WRITE |
			    BDUS_REQ_WRITE_ZEROS_NO_UNMAP |
			    BDUS_REQ_WRITE_ZEROS_MAY_UNMAP,
	};
	struct bdus_attrs attrs = { .logical_block_size = 512 };
	struct bdus_aio *aio;
	unsigned open = 0;
	int status = 0;

	if (count == 0 || count > MAX_DEVICES || size == 0) {
		fprintf(stderr, "usage: aio-ram <count 1-%d> <MiB>\n",
			MAX_DEVICES);
		return 2;
	}

	aio = bdus_aio_create(NULL);
	if (!aio) {
		fprintf(stderr, "aio-ram: %s\n", bdus_get_error_message());
		return 1;
	}

	attrs.size = size;
	for (unsigned i = 0; i < count; i++) {
		rams[i].memory = calloc(1, size);
		if (!rams[i].memory ||
		    !bdus_aio_create_dev(aio, &attrs, NULL, &dattrs,
					 &rams[i])) {
			fprintf(stderr, "aio-ram: %s\n",
				rams[i].memory ? bdus_get_error_message() :
						 "out of memory");
			bdus_aio_destroy(aio);
			return 1;
		}
		open++;
	}

	/* The whole driver, in the loop contract's order: make progress,
	 * handle what came, and wait only when neither found anything (the
	 * completions just made are committed by the next process call). */
	while (open > 0) {
		int more = bdus_aio_process(aio);
		struct pollfd pfd = { .fd = bdus_aio_get_fd(aio),
				      .events = POLLIN };
		unsigned handled;

		if (more < 0) {
			fprintf(stderr, "aio-ram: %s\n",
				bdus_get_error_message());
			status = 1;
			break;
		}
		open = handle_events(aio, open, &handled);
		if (more == 0 && handled == 0 && open > 0 &&
		    poll(&pfd, 1, -1) < 0 &&
		    errno != EINTR) {
			perror("aio-ram: poll");
			status = 1;
			break;
		}
	}

	bdus_aio_destroy(aio);
	for (unsigned i = 0; i < count; i++)
		free(rams[i].memory);
	return status;
}
