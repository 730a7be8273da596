// SPDX-License-Identifier: MIT
/*
 * aloop.c - bdus-aloop: a loop device over a file, served by one thread
 * that does the file's I/O through io_uring, on the same ring as BDUS's own
 * commands (the asynchronous API's "bring your own ring").
 *
 * What it shows a driver author:
 *   - one ring and one io_uring_enter() for both: BDUS's commands and the
 *     backend's I/O, told apart by their user_data;
 *   - many requests in flight on one thread: a request starts its file
 *     I/O and is completed when that I/O's CQE comes back, in any order;
 *   - short reads and writes resumed where they stopped.
 *
 * It stays in the foreground and exits once the device is destroyed.
 *
 * Usage: bdus-aloop [--direct] [--queues Q] [--queue-depth D] FILE
 */

#include "common.h"

#include <bdus-aio.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static const char help_text[] =
	"Usage: bdus-aloop [<options>] <file>\n"
	"\n"
	"Create a block device whose data is <file>, a regular file (its size\n"
	"rounded down to 512 bytes) or a block device, served by one thread\n"
	"that does the file's I/O through io_uring on the same ring as BDUS's\n"
	"commands, and print its path once it is available.  Runs in the\n"
	"foreground until the device is destroyed.\n"
	"\n"
	"  --direct               Open <file> with O_DIRECT, bypassing the\n"
	"                         page cache.\n"
	"  --queues <n>           Hardware queues (default 1).\n"
	"  --queue-depth <n>      Requests in flight per queue (default 64).\n"
	"  -h, --help             Print this help.\n";

static int file_fd;

/* Requests that found the submission queue full even after a submit (the
 * kernel takes nothing when it cannot allocate requests: -EAGAIN), with
 * their zeroing mode: started again once the loop has reaped.  At most one
 * entry per request in flight. */
static struct waiting_start {
	struct bdus_aio_request *req;
	int mode;
} *waiting;
static unsigned num_waiting;

/* How far a read or write got: kept in the request's user_data. */
static uint32_t done_of(const struct bdus_aio_request *req)
{
	return (uint32_t)(uintptr_t)req->user_data;
}

/* Queues the file I/O that serves req (or its rest, after a short one). */
static void start(struct io_uring *ring, struct bdus_aio_request *req,
		  int mode)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	uint32_t done = done_of(req);

	if (!sqe) { /* full: make room */
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	if (!sqe) {
		waiting[num_waiting++] = (struct waiting_start){ req, mode };
		return;
	}
	switch (req->type) {
	case BDUS_AIO_READ:
		io_uring_prep_read(sqe, file_fd, req->buffer + done,
				   req->size - done, req->offset + done);
		break;
	case BDUS_AIO_WRITE:
	case BDUS_AIO_FUA_WRITE:
		io_uring_prep_write(sqe, file_fd, req->buffer + done,
				    req->size - done, req->offset + done);
		if (req->type == BDUS_AIO_FUA_WRITE)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case BDUS_AIO_FLUSH:
		io_uring_prep_fsync(sqe, file_fd, IORING_FSYNC_DATASYNC);
		break;
	default: /* WRITE_ZEROS, DISCARD: mode says how */
		io_uring_prep_fallocate(sqe, file_fd, mode, (off_t)req->offset,
					(off_t)req->size);
		break;
	}
	/* Our user_data is the request's address: never libbdus's tag. */
	io_uring_sqe_set_data(sqe, req);
}

/* Starts what waited for room, in order; what still finds none waits on. */
static void start_waiting(struct io_uring *ring)
{
	unsigned n = num_waiting;

	num_waiting = 0;
	for (unsigned i = 0; i < n; i++)
		start(ring, waiting[i].req, waiting[i].mode);
}

static int zeroing_mode(const struct bdus_aio_request *req)
{
	if (req->type == BDUS_AIO_DISCARD ||
	    (req->type == BDUS_AIO_WRITE_ZEROS && req->may_unmap))
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
}

static void finish(struct bdus_aio_request *req, int error)
{
	/* Only fails for a request completed twice: a bug of ours. */
	if (bdus_aio_complete(req, error) != 0)
		abort();
}

/* A CQE of the driver's own file I/O. */
static void on_file_cqe(struct io_uring *ring, const struct io_uring_cqe *cqe)
{
	struct bdus_aio_request *req = io_uring_cqe_get_data(cqe);
	uint32_t done = done_of(req);

	if (cqe->res < 0) {
		/* No ZERO_RANGE here (tmpfs): punching reads back as zeros
		 * too. */
		if (cqe->res == -EOPNOTSUPP &&
		    req->type == BDUS_AIO_WRITE_ZEROS && !req->may_unmap) {
			start(ring, req,
			      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
			return;
		}
		finish(req, -cqe->res);
		return;
	}
	if (req->type == BDUS_AIO_READ || req->type == BDUS_AIO_WRITE ||
	    req->type == BDUS_AIO_FUA_WRITE) {
		if (cqe->res == 0) {
			/* The file shrank under us: reads see zeros. */
			if (req->type != BDUS_AIO_READ) {
				finish(req, EIO);
				return;
			}
			memset(req->buffer + done, 0, req->size - done);
			finish(req, 0);
			return;
		}
		done += (uint32_t)cqe->res;
		if (done < req->size) {
			req->user_data = (void *)(uintptr_t)done;
			start(ring, req, 0);
			return;
		}
	}
	finish(req, 0);
}

static int fail(const char *what)
{
	fprintf(stderr, "bdus-aloop: %s: %s\n", what, bdus_get_error_message());
	return 1;
}

static int init_ring(struct io_uring *ring, unsigned cq_entries)
{
	struct io_uring_params params;
	int ret;

	/* As libbdus's own rings: deferred task work runs only when we
	 * wait, so the kernel never interrupts us elsewhere. */
	memset(&params, 0, sizeof(params));
	params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		       IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
	params.cq_entries = cq_entries;
	ret = io_uring_queue_init_params(256, ring, &params);
	if (ret == -EINVAL) {
		memset(&params, 0, sizeof(params));
		params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
		params.cq_entries = cq_entries;
		ret = io_uring_queue_init_params(256, ring, &params);
	}
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "direct", no_argument, NULL, 'D' },
		{ "queues", required_argument, NULL, 'q' },
		{ "queue-depth", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct bdus_aio_dev_attrs dattrs = {
		.requests = BDUS_REQ_READ | BDUS_REQ_WRITE | BDUS_REQ_FLUSH |
			    BDUS_REQ_FUA_WRITE | BDUS_REQ_WRITE_ZEROS_NO_UNMAP |
			    BDUS_REQ_WRITE_ZEROS_MAY_UNMAP | BDUS_REQ_DISCARD,
	};
	struct bdus_attrs attrs = { .logical_block_size = 512 };
	struct bdus_ext_attrs ext = { 0 };
	struct bdus_aio_attrs aio_attrs = { 0 };
	struct io_uring ring;
	struct bdus_aio *aio;
	struct stat st;
	uint32_t queues = 1, depth = 64;
	bool open_device = true, direct = false;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'D':
			direct = true;
			break;
		case 'q':
			if (!parse_u32(optarg, 1, 64, &queues))
				goto usage;
			break;
		case 'd':
			if (!parse_u32(optarg, 1, 1024, &depth))
				goto usage;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;

	file_fd = open(argv[optind],
		       O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (file_fd < 0 || fstat(file_fd, &st) != 0) {
		fprintf(stderr, "bdus-aloop: %s: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	if (S_ISBLK(st.st_mode)) {
		/* Its own geometry, so that O_DIRECT I/O stays aligned. */
		attrs.logical_block_size = 0;
		if (!block_device_geometry("bdus-aloop", argv[optind], file_fd,
					   &attrs))
			return 1;
	} else if (S_ISREG(st.st_mode)) {
		attrs.size = (uint64_t)st.st_size / 512 * 512;
	}
	if (!(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) || attrs.size == 0) {
		fprintf(stderr, "bdus-aloop: %s: not a regular file of at least "
				"512 bytes, nor a block device\n",
			argv[optind]);
		return 1;
	}
	ext.num_queues = queues;
	ext.queue_depth = depth;

	/* Room for BDUS's commands and one file I/O per request (and at
	 * least twice the submission queue, as io_uring wants). */
	ret = init_ring(&ring, 2 * (queues * depth + queues) + 512);
	if (ret < 0) {
		fprintf(stderr, "bdus-aloop: cannot create an io_uring ring: %s\n",
			strerror(-ret));
		return 1;
	}
	waiting = calloc((size_t)queues * depth, sizeof(*waiting));
	if (!waiting) {
		fputs("bdus-aloop: out of memory\n", stderr);
		return 1;
	}
	aio_attrs.ring = &ring;
	aio = bdus_aio_create(&aio_attrs);
	if (!aio)
		return fail("cannot create a context");
	if (!bdus_aio_create_dev(aio, &attrs, &ext, &dattrs, NULL)) {
		bdus_aio_destroy(aio);
		return fail("cannot create the device");
	}

	/* The whole driver: one ring, one wait. */
	while (open_device) {
		struct bdus_aio_event events[64];
		struct io_uring_cqe *cqe;
		unsigned n, head, seen = 0;

		if (bdus_aio_process(aio) < 0)
			return fail("serving failed");
		n = bdus_aio_get_events(aio, events, 64);
		for (unsigned i = 0; i < n; i++) {
			struct bdus_aio_event *e = &events[i];

			switch (e->type) {
			case BDUS_AIO_REQUEST:
				e->request->user_data = NULL; /* nothing done */
				start(&ring, e->request,
				      zeroing_mode(e->request));
				break;
			case BDUS_AIO_DEVICE_AVAILABLE:
				printf("%s\n", bdus_aio_get_dev_path(e->dev));
				fflush(stdout);
				break;
			case BDUS_AIO_DEVICE_FAILED:
				fprintf(stderr, "bdus-aloop: %s\n",
					e->error_message);
				/* fall through */
			case BDUS_AIO_DEVICE_TERMINATED:
				/* File I/O in flight still completes; CLOSED
				 * waits for it. */
				bdus_aio_close_dev(e->dev);
				break;
			case BDUS_AIO_DEVICE_CLOSED:
				open_device = false;
				break;
			}
		}
		if (!open_device)
			break;

		/* Wait only when nothing new came: events may have queued
		 * file I/O, and the next process() commits what completed. */
		ret = n ? io_uring_submit(&ring) :
			  io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fprintf(stderr, "bdus-aloop: io_uring_enter: %s\n",
				strerror(-ret));
			return 1;
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			if (!bdus_aio_handle_cqe(aio, cqe))
				on_file_cqe(&ring, cqe);
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
		start_waiting(&ring);
	}

	bdus_aio_destroy(aio);
	io_uring_queue_exit(&ring);
	free(waiting);
	return 0;

usage:
	fprintf(stderr, "Try 'bdus-aloop --help'.\n");
	return 2;
}
