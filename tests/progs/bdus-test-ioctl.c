// SPDX-License-Identifier: MIT
/*
 * bdus-test-ioctl.c - issues bdus-test-driver's ioctls on a device, for VM
 * tests of the ioctl path.
 *
 *   bdus-test-ioctl DEVICE get         prints the driver's string
 *   bdus-test-ioctl DEVICE set STRING  sets it
 *   bdus-test-ioctl DEVICE inc N       prints N + 1
 *   bdus-test-ioctl DEVICE fail        prints the errno name (expect EPERM)
 *
 * Exit status: 0 if the ioctl succeeded (for "fail": if it failed with
 * EPERM), 1 otherwise, 2 on a usage error.
 */

#include "bdus-test-ioctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: bdus-test-ioctl DEVICE get|set STRING|inc N|"
			"fail\n");
	return 2;
}

static int run(int fd, int argc, char **argv)
{
	const char *op = argv[2];
	char text[64] = { 0 };
	int value;

	if (strcmp(op, "get") == 0 && argc == 3) {
		if (ioctl(fd, BDUS_TEST_IOC_GET, text) != 0)
			return -1;
		printf("%.63s\n", text);
	} else if (strcmp(op, "set") == 0 && argc == 4) {
		snprintf(text, sizeof(text), "%s", argv[3]);
		if (ioctl(fd, BDUS_TEST_IOC_SET, text) != 0)
			return -1;
	} else if (strcmp(op, "inc") == 0 && argc == 4) {
		value = atoi(argv[3]);
		if (ioctl(fd, BDUS_TEST_IOC_INC, &value) != 0)
			return -1;
		printf("%d\n", value);
	} else if (strcmp(op, "fail") == 0 && argc == 3) {
		if (ioctl(fd, BDUS_TEST_IOC_FAIL) == 0) {
			printf("no error\n");
			return 1;
		}
		printf("%s\n", errno == EPERM ? "EPERM" : strerror(errno));
		return errno == EPERM ? 0 : 1;
	} else {
		return usage();
	}
	return 0;
}

int main(int argc, char **argv)
{
	int fd, status;

	if (argc < 3)
		return usage();
	/* _IOW commands need a writable opener. */
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "bdus-test-ioctl: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	status = run(fd, argc, argv);
	if (status < 0) {
		fprintf(stderr, "bdus-test-ioctl: %s %s: %s\n", argv[1], argv[2],
			strerror(errno));
		status = 1;
	}
	close(fd);
	return status;
}
