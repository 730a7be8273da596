// SPDX-License-Identifier: MIT
/*
 * bdus-test-aio.c - a driver on the asynchronous API (bdus-aio.h) for the
 * VM tests: several RAM devices served by one thread, optionally with
 * completions made by another thread in reverse order, data kept in files
 * so that it survives the driver, and deliberate misuse.
 *
 *   bdus-test-aio [options] <size in MiB>
 *     --devices N        serve N devices (default 1)
 *     --attach ID        take over device ID instead (repeatable)
 *     --backing DIR      device i keeps its data in DIR/dev<i>
 *     --recoverable      devices survive the driver's death
 *     --queues Q, --queue-depth D
 *     --worker           a second thread serves and completes every
 *                        request, each batch in reverse order
 *     --shared-buffers N one pool of N payload buffers for every device
 *     --shared-buffer-size BYTES  their size (default 256 KiB)
 *     --misuse           check the API's refusals on the first request,
 *                        and the shared pool's
 *     --hold N           leave the first N writes uncompleted until the
 *                        device terminates, then complete them
 *     --hold-ms MS       with --hold: complete each held write MS ms after
 *                        it arrived instead, even after the device
 *                        terminated (printing "released <offset>")
 *     --timeout-ms MS    the device's request timeout
 *     --threads T        T contexts, one per thread, each serving an equal
 *                        part of every device's queues (bdus_aio_share_dev();
 *                        --queues must be a multiple of T); first checks
 *                        the refusals of sharing
 *     --close-after N    the last thread closes its part of every device
 *                        after it served N requests (of all its devices)
 *     --protocol P       serve over ioctl, mmap or uring (default uring)
 *     --no-ring          a context without io_uring (BDUS_AIO_NO_RING)
 *
 * Prints each device's path once it is available, "held <offset>" for
 * each write it holds, "terminated <id>" and "closed <id>" when a device
 * (or one thread's part of it) terminates and closes (with " thread <t>"
 * after them with --threads), "thread <t> served <n>" for each thread with
 * --threads, and at the end "buffers <n>": how many distinct payload
 * buffers requests came in; exits 0 once every device closed, 1 on a
 * failure, a device's DEVICE_FAILED included.
 */

#include <bdus-aio.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEVICES 16

struct ram {
	char *memory;
	uint64_t size;
};

static struct ram rams[MAX_DEVICES];
static struct bdus_aio_attrs aio_attrs;
static unsigned hold_left;
static struct bdus_aio_request *held[1024];
static unsigned num_held;
static long hold_ms; /* 0: until the device terminates */
static struct timespec held_at[1024];


/* The distinct payload buffers seen (an open-addressing set). */
#define BUFFER_SET_SIZE 8192
static char *buffers_seen[BUFFER_SET_SIZE];
static unsigned num_buffers_seen;
static pthread_mutex_t buffers_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_buffer(char *buffer)
{
	size_t i = ((uintptr_t)buffer >> 12) % BUFFER_SET_SIZE;

	pthread_mutex_lock(&buffers_lock);
	if (!buffer || num_buffers_seen == BUFFER_SET_SIZE / 2) {
		pthread_mutex_unlock(&buffers_lock);
		return;
	}
	while (buffers_seen[i] && buffers_seen[i] != buffer)
		i = (i + 1) % BUFFER_SET_SIZE;
	if (!buffers_seen[i]) {
		buffers_seen[i] = buffer;
		num_buffers_seen++;
	}
	pthread_mutex_unlock(&buffers_lock);
}

/* ------------------------------------------------------------------------- */
/* Serving */

static int serve(struct bdus_aio_request *req)
{
	struct ram *ram = req->dev_user_data;

	switch (req->type) {
	case BDUS_AIO_READ:
		memcpy(req->buffer, ram->memory + req->offset, req->size);
		return 0;
	case BDUS_AIO_WRITE:
	case BDUS_AIO_FUA_WRITE:
		memcpy(ram->memory + req->offset, req->buffer, req->size);
		return 0;
	case BDUS_AIO_WRITE_ZEROS:
	case BDUS_AIO_DISCARD:
		memset(ram->memory + req->offset, 0, req->size);
		return 0;
	case BDUS_AIO_FLUSH:
		return 0;
	default:
		return EOPNOTSUPP;
	}
}

static void die(const char *what)
{
	fprintf(stderr, "bdus-test-aio: %s: %s\n", what,
		bdus_get_error_message());
	exit(1);
}

/* The worker: takes every queued request at once and completes the batch
 * in reverse order, from its own thread. */
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct bdus_aio_request **queue;
static unsigned queue_len, queue_cap;
static int worker_stop;

static void worker_push(struct bdus_aio_request *req)
{
	pthread_mutex_lock(&queue_lock);
	if (queue_len == queue_cap) {
		queue_cap = queue_cap ? 2 * queue_cap : 256;
		queue = realloc(queue, queue_cap * sizeof(*queue));
		if (!queue) {
			perror("bdus-test-aio: realloc");
			exit(1);
		}
	}
	queue[queue_len++] = req;
	pthread_cond_signal(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
}

static void *worker_main(void *arg)
{
	struct bdus_aio_request **batch = NULL;
	unsigned cap = 0;

	(void)arg;
	for (;;) {
		unsigned n;

		pthread_mutex_lock(&queue_lock);
		while (queue_len == 0 && !worker_stop)
			pthread_cond_wait(&queue_cond, &queue_lock);
		if (queue_len == 0) {
			pthread_mutex_unlock(&queue_lock);
			break;
		}
		if (cap < queue_len) {
			cap = queue_cap;
			batch = realloc(batch, cap * sizeof(*batch));
			if (!batch) {
				perror("bdus-test-aio: realloc");
				exit(1);
			}
		}
		n = queue_len;
		memcpy(batch, queue, n * sizeof(*batch));
		queue_len = 0;
		pthread_mutex_unlock(&queue_lock);

		while (n-- > 0)
			if (bdus_aio_complete(batch[n], serve(batch[n])) != 0)
				die("bdus_aio_complete from the worker");
	}
	free(batch);
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* Misuse */

static void expect_refusal(int ret, int err, const char *what)
{
	if (ret != -1 || errno != err) {
		fprintf(stderr, "bdus-test-aio: misuse: %s returned %d (errno %d), "
				"expected -1 with errno %d\n",
			what, ret, errno, err);
		exit(1);
	}
}

static void check_misuse(struct bdus_aio *aio, struct bdus_aio_request *req)
{
	expect_refusal(bdus_aio_complete(req, -5), EINVAL, "error -5");
	expect_refusal(bdus_aio_complete(req, bdus_abort), EINVAL,
		       "error bdus_abort");
	expect_refusal(bdus_aio_complete(NULL, 0), EINVAL, "NULL request");
	if (bdus_aio_complete(req, serve(req)) != 0)
		die("completing the misuse request");
	expect_refusal(bdus_aio_complete(req, 0), EALREADY,
		       "second completion");
	expect_refusal(bdus_aio_release(req), EALREADY,
		       "release after completion");
	(void)aio;
	fprintf(stderr, "bdus-test-aio: misuse checks passed\n");
}

/* The shared pool's refusals, and a device taking the pool's buffer size
 * as its max_read_write_size. */
static void check_pool_refusals(const struct bdus_attrs *attrs,
				const struct bdus_aio_dev_attrs *dattrs)
{
	struct bdus_aio_attrs bad[] = {
		{ .shared_buffers = 4, .shared_buffer_size = 4097 },
		{ .shared_buffers = 4, .shared_buffer_size = 2u << 20 },
		{ .shared_buffer_size = 65536 },
		{ .shared_buffers = 65537 },
	};
	struct bdus_aio_attrs good = { .shared_buffers = 4,
				       .shared_buffer_size = 65536 };
	struct bdus_attrs big = *attrs;
	struct bdus_aio_dev *dev;
	struct bdus_aio *aio;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		errno = 0;
		if (bdus_aio_create(&bad[i]) || errno != EINVAL) {
			fprintf(stderr, "bdus-test-aio: misuse: pool attrs %zu "
					"accepted (errno %d)\n", i, errno);
			exit(1);
		}
	}
	aio = bdus_aio_create(&good);
	if (!aio)
		die("bdus_aio_create with a pool");
	big.max_read_write_size = 128 << 10;
	errno = 0;
	if (bdus_aio_create_dev(aio, &big, NULL, dattrs, NULL) ||
	    errno != EINVAL || !strstr(bdus_get_error_message(),
					 "shared_buffer_size")) {
		fprintf(stderr, "bdus-test-aio: misuse: a device larger than "
				"the pool's buffers: errno %d, %s\n",
			errno, bdus_get_error_message());
		exit(1);
	}
	dev = bdus_aio_create_dev(aio, attrs, NULL, dattrs, NULL);
	if (!dev)
		die("bdus_aio_create_dev with a pool");
	if (bdus_aio_get_dev_attrs(dev)->max_read_write_size != 65536) {
		fprintf(stderr, "bdus-test-aio: misuse: max_read_write_size "
				"%u with 64 KiB shared buffers\n",
			bdus_aio_get_dev_attrs(dev)->max_read_write_size);
		exit(1);
	}
	bdus_aio_destroy(aio); /* destroys the device */
	fprintf(stderr, "bdus-test-aio: pool refusals passed\n");
}

/* ------------------------------------------------------------------------- */
/* Devices */

static void setup_memory(struct ram *ram, unsigned index, const char *backing,
			 uint64_t size)
{
	char path[4096];
	int fd;

	ram->size = size;
	if (!backing) {
		ram->memory = mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				   -1, 0);
	} else {
		snprintf(path, sizeof(path), "%s/dev%u", backing, index);
		fd = open(path, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
			perror(path);
			exit(1);
		}
		ram->memory = mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0);
		close(fd);
	}
	if (ram->memory == MAP_FAILED) {
		perror("bdus-test-aio: mmap");
		exit(1);
	}
}

/* ------------------------------------------------------------------------- */
/* The loop */

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}



struct loop {
	struct bdus_aio *aio;
	unsigned open_devices;
	bool use_worker; /* hand requests to the worker thread */
	bool misuse; /* check the refusals on the first request */
	bool may_hold; /* --hold applies to this loop */
	unsigned long close_after; /* close every device after N; 0: never */
	unsigned long served;
	bool failed; /* a device failed: the program exits 1 */
	int thread; /* with --threads: its number, printed with events */
	struct bdus_aio_dev *devs[MAX_DEVICES];
	unsigned num_devs;
	/* --hold-ms: devs[i] terminated with writes held, and closes once
	 * they are released (as a driver that finishes its work first). */
	bool close_pending[MAX_DEVICES];
};

static bool holds_writes_of(const struct bdus_aio_dev *dev)
{
	for (unsigned h = 0; h < num_held; h++)
		if (held[h] && held[h]->dev == dev)
			return true;
	return false;
}

/* With --hold-ms: completes the held writes that are due, and closes the
 * terminated devices left without any; returns how long until the next
 * one is due (-1: none held). */
static int release_due(struct loop *l)
{
	int wait = -1;

	for (unsigned h = 0; hold_ms && h < num_held; h++) {
		long left;

		if (!held[h])
			continue;
		left = hold_ms - ms_since(&held_at[h]);
		if (left <= 0) {
			printf("released %" PRIu64 "\n", held[h]->offset);
			fflush(stdout);
			serve(held[h]);
			if (bdus_aio_complete(held[h], 0))
				die("bdus_aio_complete");
			held[h] = NULL;
		} else if (wait < 0 || left < wait) {
			wait = (int)left;
		}
	}
	for (unsigned i = 0; i < l->num_devs; i++)
		if (l->close_pending[i] && !holds_writes_of(l->devs[i])) {
			l->close_pending[i] = false;
			bdus_aio_close_dev(l->devs[i]);
		}
	return wait;
}

static void loop_on_request(struct loop *l, struct bdus_aio_request *req)
{
	note_buffer(req->buffer);
	l->served++;
	if (l->misuse) {
		l->misuse = false;
		check_misuse(l->aio, req);
	} else if (l->may_hold && hold_left > 0 && req->type == BDUS_AIO_WRITE) {
		hold_left--;
		clock_gettime(CLOCK_MONOTONIC, &held_at[num_held]);
		held[num_held++] = req;
		printf("held %" PRIu64 "\n", req->offset);
		fflush(stdout);
	} else if (l->use_worker) {
		worker_push(req);
	} else if (bdus_aio_complete(req, serve(req))) {
		die("bdus_aio_complete");
	}
	if (l->close_after && l->served == l->close_after) {
		fprintf(stderr, "bdus-test-aio: closing after %lu requests\n",
			l->served);
		for (unsigned i = 0; i < l->num_devs; i++)
			bdus_aio_close_dev(l->devs[i]);
	}
}

/* "<what> <id>", and " thread <t>" with --threads. */
static void loop_print(const struct loop *l, const char *what,
		       const struct bdus_aio_dev *dev)
{
	printf("%s %" PRIu64, what, bdus_aio_get_dev_id(dev));
	if (l->thread >= 0)
		printf(" thread %d", l->thread);
	printf("\n");
	fflush(stdout);
}

/* Serves until every device of the loop closed; 0, or 1 on a failure
 * (also if a device failed). */
static int loop_run(struct loop *l)
{
	while (l->open_devices > 0) {
		struct bdus_aio_event events[64];
		struct pollfd pfd = { .fd = bdus_aio_get_fd(l->aio),
				      .events = POLLIN };
		/* First: the owner's completions go with this process(). */
		int wait = release_due(l);
		int more = bdus_aio_process(l->aio);
		unsigned n;

		if (more < 0)
			die("bdus_aio_process");
		n = bdus_aio_get_events(l->aio, events, 64);
		for (unsigned i = 0; i < n; i++) {
			struct bdus_aio_event *e = &events[i];

			switch (e->type) {
			case BDUS_AIO_REQUEST:
				loop_on_request(l, e->request);
				break;
			case BDUS_AIO_DEVICE_AVAILABLE:
				printf("%s\n", bdus_aio_get_dev_path(e->dev));
				fflush(stdout);
				break;
			case BDUS_AIO_DEVICE_FAILED:
				fprintf(stderr, "bdus-test-aio: %s\n",
					e->error_message);
				l->failed = true;
				/* fall through */
			case BDUS_AIO_DEVICE_TERMINATED:
				if (e->type == BDUS_AIO_DEVICE_TERMINATED)
					loop_print(l, "terminated", e->dev);
				/* Held writes still count, after the fact (with
				 * --hold-ms, when they are due). */
				for (unsigned h = 0;
				     l->may_hold && !hold_ms && h < num_held;
				     h++)
					if (held[h] && held[h]->dev == e->dev) {
						serve(held[h]);
						bdus_aio_complete(held[h], 0);
						held[h] = NULL;
					}
				for (unsigned i = 0; i < l->num_devs; i++)
					if (l->devs[i] == e->dev && hold_ms &&
					    holds_writes_of(e->dev))
						l->close_pending[i] = true;
				if (!hold_ms || !holds_writes_of(e->dev))
					bdus_aio_close_dev(e->dev);
				break;
			case BDUS_AIO_DEVICE_CLOSED:
				loop_print(l, "closed", e->dev);
				l->open_devices--;
				break;
			}
		}
		if (more == 0 && n == 0 && poll(&pfd, 1, wait) < 0 &&
		    errno != EINTR) {
			perror("bdus-test-aio: poll");
			return 1;
		}
	}
	return l->failed ? 1 : 0;
}

/* ------------------------------------------------------------------------- */
/* Sharing devices between threads (--threads) */

struct sharer {
	pthread_t thread;
	struct loop loop;
	uint32_t first_queue, num_queues;
	struct bdus_aio_dev **origins; /* thread 0's handles */
	unsigned count;
	/* Set once the thread shares every device, or failed to. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state; /* 0 sharing, 1 serving, -1 failed */
};

static void expect_share_refusal(struct bdus_aio *aio,
				 struct bdus_aio_dev *dev, uint32_t first,
				 uint32_t count, int err, const char *what)
{
	errno = 0;
	if (bdus_aio_share_dev(aio, dev, first, count, NULL) || errno != err) {
		fprintf(stderr, "bdus-test-aio: sharing %s: errno %d (%s), "
				"expected %d\n",
			what, errno, bdus_get_error_message(), err);
		exit(1);
	}
}

static void sharer_set_state(struct sharer *sh, int state)
{
	pthread_mutex_lock(&sh->lock);
	sh->state = state;
	pthread_cond_signal(&sh->cond);
	pthread_mutex_unlock(&sh->lock);
}

static void *sharer_main(void *arg)
{
	struct sharer *sh = arg;
	struct loop *l = &sh->loop;
	uint32_t num_queues =
		bdus_aio_get_dev_ext_attrs(sh->origins[0])->num_queues;

	l->aio = bdus_aio_create(&aio_attrs);
	if (!l->aio)
		die("bdus_aio_create (a sharing thread)");
	/* The refusals first: what thread 0 serves, and beyond the last. */
	expect_share_refusal(l->aio, sh->origins[0], 0, 1, EBUSY,
			     "a queue another context serves");
	expect_share_refusal(l->aio, sh->origins[0], num_queues, 1, EINVAL,
			     "a queue out of range");
	expect_share_refusal(l->aio, sh->origins[0], sh->first_queue,
			     num_queues, EINVAL, "too many queues");
	for (unsigned i = 0; i < sh->count; i++) {
		struct bdus_aio_dev *dev =
			bdus_aio_share_dev(l->aio, sh->origins[i],
					   sh->first_queue, sh->num_queues,
					   &rams[i]);

		if (!dev) {
			fprintf(stderr, "bdus-test-aio: bdus_aio_share_dev: "
					"%s\n", bdus_get_error_message());
			sharer_set_state(sh, -1);
			return NULL;
		}
		l->devs[l->num_devs++] = dev;
		l->open_devices++;
	}
	/* Through another context's handle, so that only a check of every
	 * handle of the device finds this context among them. */
	expect_share_refusal(l->aio, sh->origins[0], sh->first_queue, 1, EINVAL,
			     "a device this context serves already");
	sharer_set_state(sh, 1);
	if (loop_run(l) != 0)
		exit(1);
	bdus_aio_destroy(l->aio);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "devices", required_argument, NULL, 'n' },
		{ "attach", required_argument, NULL, 'a' },
		{ "backing", required_argument, NULL, 'b' },
		{ "recoverable", no_argument, NULL, 'r' },
		{ "queues", required_argument, NULL, 'q' },
		{ "queue-depth", required_argument, NULL, 'd' },
		{ "worker", no_argument, NULL, 'w' },
		{ "misuse", no_argument, NULL, 'm' },
		{ "shared-buffers", required_argument, NULL, 's' },
		{ "shared-buffer-size", required_argument, NULL, 'S' },
		{ "hold", required_argument, NULL, 'H' },
		{ "hold-ms", required_argument, NULL, 'h' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "threads", required_argument, NULL, 't' },
		{ "close-after", required_argument, NULL, 'c' },
		{ "protocol", required_argument, NULL, 'p' },
		{ "no-ring", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct bdus_aio_dev_attrs dattrs = {
		.requests = BDUS_REQ_READ | BDUS_REQ_WRITE |
			    BDUS_REQ_WRITE_ZEROS_NO_UNMAP |
			    BDUS_REQ_WRITE_ZEROS_MAY_UNMAP | BDUS_REQ_FLUSH |
			    BDUS_REQ_FUA_WRITE | BDUS_REQ_DISCARD,
	};
	struct bdus_attrs attrs = { .logical_block_size = 512 };
	struct bdus_ext_attrs ext = { 0 };
	uint64_t attach_ids[MAX_DEVICES];
	unsigned count = 1, num_attach = 0, num_threads = 1;
	unsigned long close_after = 0;
	struct sharer *sharers = NULL;
	const char *backing = NULL;
	struct loop main_loop = { 0 };
	bool use_worker = false;
	pthread_t worker;
	uint32_t per_thread;
	uint64_t size;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			count = (unsigned)atoi(optarg);
			break;
		case 'a':
			if (num_attach == MAX_DEVICES)
				return 2;
			attach_ids[num_attach++] = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			backing = optarg;
			break;
		case 'r':
			attrs.recoverable = true;
			break;
		case 'R':
			aio_attrs.flags |= BDUS_AIO_NO_RING;
			break;
		case 'h':
			hold_ms = atol(optarg);
			break;
		case 'T':
			ext.request_timeout_ms = (uint32_t)atoi(optarg);
			break;
		case 'p':
			if (!strcmp(optarg, "ioctl"))
				ext.protocol = BDUS_PROTOCOL_IOCTL;
			else if (!strcmp(optarg, "mmap"))
				ext.protocol = BDUS_PROTOCOL_MMAP;
			else if (!strcmp(optarg, "uring"))
				ext.protocol = BDUS_PROTOCOL_URING;
			else
				return 2;
			break;
		case 'q':
			ext.num_queues = (uint32_t)atoi(optarg);
			break;
		case 'd':
			ext.queue_depth = (uint32_t)atoi(optarg);
			break;
		case 'w':
			use_worker = true;
			break;
		case 'm':
			main_loop.misuse = true;
			break;
		case 's':
			aio_attrs.shared_buffers = (uint32_t)atoi(optarg);
			break;
		case 'S':
			aio_attrs.shared_buffer_size = (uint32_t)atoi(optarg);
			break;
		case 'H':
			hold_left = (unsigned)atoi(optarg);
			break;
		case 't':
			num_threads = (unsigned)atoi(optarg);
			break;
		case 'c':
			close_after = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (num_attach)
		count = num_attach;
	per_thread = num_threads ? (ext.num_queues ? ext.num_queues : 1) /
					   num_threads :
				   0;
	if (optind != argc - 1 || count == 0 || count > MAX_DEVICES ||
	    hold_left > 1024 || per_thread == 0 ||
	    per_thread * num_threads != (ext.num_queues ? ext.num_queues : 1)) {
		fprintf(stderr, "usage: bdus-test-aio [options] <MiB>\n");
		return 2;
	}
	size = strtoull(argv[optind], NULL, 10) << 20;
	attrs.size = size;
	if (num_threads > 1)
		dattrs.num_queues = per_thread; /* the first part: thread 0's */

	if (main_loop.misuse)
		check_pool_refusals(&attrs, &dattrs);
	main_loop.aio = bdus_aio_create(&aio_attrs);
	if (!main_loop.aio)
		die("bdus_aio_create");
	main_loop.use_worker = use_worker;
	main_loop.may_hold = true;
	main_loop.thread = num_threads > 1 ? 0 : -1;
	if (num_threads == 1)
		main_loop.close_after = close_after;
	if (use_worker && pthread_create(&worker, NULL, worker_main, NULL))
		return 1;

	for (unsigned i = 0; i < count; i++) {
		struct bdus_aio *aio = main_loop.aio;
		struct bdus_aio_dev *dev;

		setup_memory(&rams[i], i, backing, size);
		if (num_attach) {
			dev = bdus_aio_attach_dev(aio, attach_ids[i], &attrs,
						  &ext, &dattrs, &rams[i]);
			if (dev) {
				printf("%s\n", bdus_aio_get_dev_path(dev));
				fflush(stdout);
			}
		} else {
			dev = bdus_aio_create_dev(aio, &attrs, &ext, &dattrs,
						  &rams[i]);
		}
		if (!dev)
			die(num_attach ? "bdus_aio_attach_dev" :
					 "bdus_aio_create_dev");
		main_loop.devs[main_loop.num_devs++] = dev;
		main_loop.open_devices++;
	}

	if (num_threads > 1) {
		/* Thread 0's own device must not be shared with itself. */
		expect_share_refusal(main_loop.aio, main_loop.devs[0],
				     per_thread, 1, EINVAL, "with its own context");
		sharers = calloc(num_threads - 1, sizeof(*sharers));
		if (!sharers)
			return 1;
	}
	for (unsigned t = 1; t < num_threads; t++) {
		struct sharer *sh = &sharers[t - 1];

		sh->first_queue = t * per_thread;
		sh->num_queues = per_thread;
		sh->origins = main_loop.devs;
		sh->count = count;
		if (t == num_threads - 1)
			sh->loop.close_after = close_after;
		sh->loop.thread = (int)t;
		pthread_mutex_init(&sh->lock, NULL);
		pthread_cond_init(&sh->cond, NULL);
		if (pthread_create(&sh->thread, NULL, sharer_main, sh))
			return 1;
		/* One at a time, so that the refusals see what they expect. */
		pthread_mutex_lock(&sh->lock);
		while (sh->state == 0)
			pthread_cond_wait(&sh->cond, &sh->lock);
		pthread_mutex_unlock(&sh->lock);
		if (sh->state < 0)
			return 1;
	}

	ret = loop_run(&main_loop);
	for (unsigned t = 1; t < num_threads; t++)
		pthread_join(sharers[t - 1].thread, NULL);
	if (ret != 0)
		return 1;
	if (num_threads > 1) {
		printf("thread 0 served %lu\n", main_loop.served);
		for (unsigned t = 1; t < num_threads; t++)
			printf("thread %u served %lu\n", t,
			       sharers[t - 1].loop.served);
	}

	if (use_worker) {
		pthread_mutex_lock(&queue_lock);
		worker_stop = 1;
		pthread_cond_signal(&queue_cond);
		pthread_mutex_unlock(&queue_lock);
		pthread_join(worker, NULL);
	}
	bdus_aio_destroy(main_loop.aio);
	free(sharers);
	printf("buffers %u\n", num_buffers_seen);
	return 0;
}
