// SPDX-License-Identifier: MIT
/*
 * uapi-race: lifecycle races made deterministic.
 *
 *   uapi-race create-destroy N   N times: DESTROY a device while its CREATE
 *                                is stopped between registering it and
 *                                starting it (the CREATE's copy-out is held
 *                                by a userfaultfd write-protect fault)
 *   uapi-race create-fail N      the same, but the copy-out then faults:
 *                                CREATE fails, and the fd must be as new
 *                                (a second CREATE on it works normally)
 *   uapi-race attach ID          ATTACH (ioctl protocol) and print
 *                                "attached" or the errno name, then exit
 *
 * Exit status: 0 pass, 1 fail, 77 if this kernel cannot hold the fault.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/kbdus.h>

static void die(const char *what)
{
	fprintf(stderr, "uapi-race: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int open_control(void)
{
	int fd = open(KBDUS_CONTROL_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die(KBDUS_CONTROL_DEVICE_PATH);
	return fd;
}

struct create_job {
	int fd;
	struct kbdus_device_config *config;
	int ret, error;
};

static void *do_create(void *arg)
{
	struct create_job *job = arg;

	job->ret = ioctl(job->fd, KBDUS_IOCTL_CREATE_DEVICE, job->config);
	job->error = errno;
	return NULL;
}

static void write_protect(int uffd, void *page, int on)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)page, .len = 4096 },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0)
		die("UFFDIO_WRITEPROTECT");
}

/* The newest device id, or -1. */
static long long newest_id(int fd)
{
	long long newest = -1;

	for (uint64_t id = 0;; id++) {
		if (ioctl(fd, KBDUS_IOCTL_NEXT_DEVICE_ID, &id) < 0)
			return newest;
		newest = (long long)id;
	}
}

/* Receives one message on a fresh ioctl session; true if of type. */
static int receive_is(int fd, uint16_t type)
{
	struct kbdus_transceive_args tr = { 0 };
	struct kbdus_request req;

	tr.request = (uintptr_t)&req;
	if (ioctl(fd, KBDUS_IOCTL_TRANSCEIVE, &tr) < 0)
		die("TRANSCEIVE");
	if (req.type != type)
		fprintf(stderr, "received type %u, expected %u\n", req.type,
			type);
	return req.type == type;
}

static void wait_destroyed(int control, uint64_t id)
{
	struct kbdus_destroy_args args = { .id = id };

	if (ioctl(control, KBDUS_IOCTL_WAIT_DESTROYED, &args) < 0)
		die("WAIT_DESTROYED");
}

static int one_create_destroy(int control, int make_fail)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	struct kbdus_destroy_args destroy = { .flags = KBDUS_DESTROY_NO_FLUSH };
	struct uffdio_register reg;
	struct create_job job;
	struct uffd_msg msg;
	struct pollfd pfd;
	pthread_t thread;
	long long before, id;
	void *page;
	int uffd;

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		die("mmap");
	memset(page, 0, 4096);

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0) {
		fprintf(stderr, "userfaultfd write-protect unavailable: %s\n",
			strerror(errno));
		exit(77);
	}
	reg.range.start = (uintptr_t)page;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
		fprintf(stderr, "userfaultfd write-protect unavailable: %s\n",
			strerror(errno));
		exit(77);
	}

	job.config = page;
	job.config->size = 4 << 20;
	job.config->logical_block_size = 512;
	job.config->supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ) |
					 KBDUS_REQ_BIT(KBDUS_REQ_WRITE);
	job.config->protocol = KBDUS_PROTOCOL_IOCTL;
	write_protect(uffd, page, 1);

	before = newest_id(control);
	job.fd = open_control();
	if (pthread_create(&thread, NULL, do_create, &job))
		die("pthread_create");

	/* CREATE copies the config in, registers the device, then blocks
	 * writing the config back. */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 30000) != 1) {
		fprintf(stderr, "CREATE never wrote its config back\n");
		return 1;
	}
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		die("read userfaultfd");

	id = newest_id(control);
	if (id <= before) {
		fprintf(stderr, "the device being created is not listed\n");
		return 1;
	}
	destroy.id = (uint64_t)id;
	if (ioctl(control, KBDUS_IOCTL_DESTROY_DEVICE, &destroy) < 0)
		die("DESTROY");
	/* Give a (wrong) immediate destruction every chance to run. */
	usleep(300000);

	if (make_fail) {
		/* The retried fault finds a read-only page: EFAULT. */
		struct uffdio_range range = { .start = (uintptr_t)page,
					      .len = 4096 };

		if (mprotect(page, 4096, PROT_READ) < 0 ||
		    ioctl(uffd, UFFDIO_WAKE, &range) < 0)
			die("mprotect/UFFDIO_WAKE");
	} else {
		write_protect(uffd, page, 0);
	}
	pthread_join(thread, NULL);

	if (make_fail) {
		if (job.ret == 0 || job.error != EFAULT) {
			fprintf(stderr, "CREATE: %d (%s), expected EFAULT\n",
				job.ret, strerror(job.error));
			return 1;
		}
		/* The fd is unbound and clean: a new CREATE is served. */
		struct kbdus_device_config again = {
			.size = 4 << 20,
			.logical_block_size = 512,
			.supported_requests = KBDUS_REQ_BIT(KBDUS_REQ_READ),
			.protocol = KBDUS_PROTOCOL_IOCTL,
		};
		if (ioctl(job.fd, KBDUS_IOCTL_CREATE_DEVICE, &again) < 0)
			die("second CREATE");
		if (!receive_is(job.fd, KBDUS_REQ_DEVICE_AVAILABLE))
			return 1;
		close(job.fd); /* not recoverable: this destroys it */
		wait_destroyed(control, again.id);
	} else if (job.ret == 0) {
		/* Created, but destroyed: the driver is told to stop. */
		if (!receive_is(job.fd, KBDUS_REQ_TERMINATE))
			return 1;
		close(job.fd);
	} else if (job.error != ESHUTDOWN) {
		errno = job.error;
		die("CREATE");
	}

	wait_destroyed(control, (uint64_t)id);
	close(uffd);
	munmap(page, 4096);
	return 0;
}

static int cmd_create_destroy(int n, int make_fail)
{
	int control = open_control();

	for (int i = 0; i < n; i++) {
		if (one_create_destroy(control, make_fail))
			return 1;
	}
	printf("%d create/destroy races survived\n", n);
	return 0;
}

static const char *errno_name(int e)
{
	switch (e) {
	case EBUSY: return "EBUSY";
	case EINTR: return "EINTR";
	case ESHUTDOWN: return "ESHUTDOWN";
	case ENODEV: return "ENODEV";
	default: return strerror(e);
	}
}

static int cmd_attach(uint64_t id)
{
	struct kbdus_attach_args args = { .id = id,
					  .protocol = KBDUS_PROTOCOL_IOCTL };
	int fd = open_control();

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("attaching\n");
	if (ioctl(fd, KBDUS_IOCTL_ATTACH_DEVICE, &args) < 0) {
		printf("%s\n", errno_name(errno));
		return 1;
	}
	printf("attached\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "create-destroy"))
		return cmd_create_destroy(atoi(argv[2]), 0);
	if (argc == 3 && !strcmp(argv[1], "create-fail"))
		return cmd_create_destroy(atoi(argv[2]), 1);
	if (argc == 3 && !strcmp(argv[1], "attach"))
		return cmd_attach(strtoull(argv[2], NULL, 0));
	fprintf(stderr, "usage: uapi-race create-destroy N | create-fail N | "
			"attach ID\n");
	return 2;
}
