// SPDX-License-Identifier: MIT
/*
 * aio-ram.c - bdus-aio-ram: several RAM devices served by one thread, on
 * the asynchronous API (bdus-aio.h).
 *
 * What it shows a driver author:
 *   - a context, with no thread started by libbdus, serving many devices;
 *   - the loop: process, take events, wait on the descriptor only when
 *     both found nothing;
 *   - requests completed as they are served (a driver whose backend is
 *     asynchronous would start its I/O here and call bdus_aio_complete()
 *     later, from whichever thread sees it finish);
 *   - the end of a device: TERMINATED, then bdus_aio_close_dev(), then
 *     CLOSED;
 *   - optionally, one pool of payload buffers for every device
 *     (--shared-buffers): memory for N requests in flight, not for every
 *     slot of every device.
 *
 * It stays in the foreground and exits once every device is destroyed
 * (bdus destroy), or when killed, which destroys them.
 *
 * Usage: bdus-aio-ram [--devices N] [--queues Q] [--queue-depth D]
 *                     [--shared-buffers N] SIZE
 */

#include "common.h"

#include <bdus-aio.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_DEVICES 64

static const char help_text[] =
	"Usage: bdus-aio-ram [<options>] <size>\n"
	"\n"
	"Create <count> block devices that keep their data in memory, all\n"
	"served by one thread through the asynchronous API, and print their\n"
	"paths as they become available.  Runs in the foreground until every\n"
	"device is destroyed.\n"
	"\n"
	"  <size>                 Each device's size, with an optional K, M, G\n"
	"                         or T suffix, e.g. 512M.\n"
	"  --devices <count>      How many devices (1 to 64, default 1).\n"
	"  --queues <n>           Hardware queues per device (default 1).\n"
	"  --queue-depth <n>      Requests in flight per queue (default 64).\n"
	"  --shared-buffers <n>   One pool of <n> payload buffers for all the\n"
	"                         devices, instead of one buffer per request\n"
	"                         slot (1 to 65536; default: no pool).\n"
	"  -h, --help             Print this help.\n";

/* Serves one request at once: memory never waits. */
static void serve(struct bdus_aio_request *req)
{
	char *memory = req->dev_user_data;
	int error = 0;

	switch (req->type) {
	case BDUS_AIO_READ:
		memcpy(req->buffer, memory + req->offset, req->size);
		break;
	case BDUS_AIO_WRITE:
		memcpy(memory + req->offset, req->buffer, req->size);
		break;
	case BDUS_AIO_WRITE_ZEROS:
	case BDUS_AIO_DISCARD:
		memset(memory + req->offset, 0, req->size);
		break;
	default:
		error = EOPNOTSUPP; /* not advertised: never sent */
		break;
	}
	/* Only fails for a request completed twice: a bug of ours. */
	if (bdus_aio_complete(req, error) != 0)
		abort();
}

/* Handles one batch of events; returns how many devices remain open. */
static unsigned handle(struct bdus_aio_event *events, unsigned count,
		       unsigned open)
{
	for (unsigned i = 0; i < count; i++) {
		struct bdus_aio_event *e = &events[i];

		switch (e->type) {
		case BDUS_AIO_REQUEST:
			serve(e->request);
			break;
		case BDUS_AIO_DEVICE_AVAILABLE:
			printf("%s\n", bdus_aio_get_dev_path(e->dev));
			fflush(stdout);
			break;
		case BDUS_AIO_DEVICE_FAILED:
			fprintf(stderr, "bdus-aio-ram: %s\n", e->error_message);
			/* fall through */
		case BDUS_AIO_DEVICE_TERMINATED:
			/* serve() completes everything at once, so nothing
			 * is outstanding. */
			bdus_aio_close_dev(e->dev);
			break;
		case BDUS_AIO_DEVICE_CLOSED:
			open--;
			break;
		}
	}
	return open;
}

static int fail(const char *what)
{
	fprintf(stderr, "bdus-aio-ram: %s: %s\n", what,
		bdus_get_error_message());
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "devices", required_argument, NULL, 'n' },
		{ "queues", required_argument, NULL, 'q' },
		{ "queue-depth", required_argument, NULL, 'd' },
		{ "shared-buffers", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Memory has no volatile cache: no FLUSH, no FUA. */
	const struct bdus_aio_dev_attrs dattrs = {
		.requests = BDUS_REQ_READ | BDUS_REQ_WRITE |
			    BDUS_REQ_WRITE_ZEROS_NO_UNMAP |
			    BDUS_REQ_WRITE_ZEROS_MAY_UNMAP | BDUS_REQ_DISCARD,
	};
	struct bdus_attrs attrs = { .logical_block_size = 512 };
	struct bdus_ext_attrs ext = { 0 };
	struct bdus_aio_attrs aio_attrs = { 0 };
	uint32_t count = 1;
	unsigned open = 0;
	struct bdus_aio *aio;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (!parse_u32(optarg, 1, MAX_DEVICES, &count))
				goto usage;
			break;
		case 'q':
			if (!parse_u32(optarg, 1, 64, &ext.num_queues))
				goto usage;
			break;
		case 'd':
			if (!parse_u32(optarg, 1, 1024, &ext.queue_depth))
				goto usage;
			break;
		case 'b':
			if (!parse_u32(optarg, 1, 65536,
				       &aio_attrs.shared_buffers))
				goto usage;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || !parse_size(argv[optind], &attrs.size))
		goto usage;

	aio = bdus_aio_create(&aio_attrs);
	if (!aio)
		return fail("cannot create a context");

	for (uint32_t i = 0; i < count; i++) {
		/* Pages are only backed once written. */
		char *memory = mmap(NULL, attrs.size, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				    -1, 0);

		if (memory == MAP_FAILED ||
		    !bdus_aio_create_dev(aio, &attrs, &ext, &dattrs, memory)) {
			if (memory == MAP_FAILED)
				perror("bdus-aio-ram: mmap");
			else
				fail("cannot create a device");
			bdus_aio_destroy(aio); /* and the devices made so far */
			return 1;
		}
		open++;
	}

	/* The whole driver.  Completions made while handling events are
	 * committed by the next bdus_aio_process(), so wait only when that
	 * call and the events it gave found nothing to do. */
	while (open > 0) {
		struct bdus_aio_event events[64];
		struct pollfd pfd = { .fd = bdus_aio_get_fd(aio),
				      .events = POLLIN };
		int more = bdus_aio_process(aio);
		unsigned n;

		if (more < 0) {
			fail("serving failed");
			break;
		}
		n = bdus_aio_get_events(aio, events, 64);
		open = handle(events, n, open);
		if (more == 0 && n == 0 && open > 0 && poll(&pfd, 1, -1) < 0 &&
		    errno != EINTR) {
			perror("bdus-aio-ram: poll");
			break;
		}
	}

	/* Destroys any device still open (after a failure). */
	bdus_aio_destroy(aio);
	return open == 0 ? 0 : 1;

usage:
	fprintf(stderr, "Try 'bdus-aio-ram --help'.\n");
	return 2;
}
