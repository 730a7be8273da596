// SPDX-License-Identifier: MIT
/*
 * util.c - small helpers without a better home.
 */

#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

size_t bdus_page_size(void)
{
	long size = sysconf(_SC_PAGESIZE);

	return size > 0 ? (size_t)size : 4096;
}

bool bdus_is_power_of_two(uint64_t value)
{
	return value != 0 && (value & (value - 1)) == 0;
}

uint64_t bdus_round_down(uint64_t value, uint64_t multiple)
{
	return value - value % multiple;
}

uint64_t bdus_round_up(uint64_t value, uint64_t multiple)
{
	return bdus_round_down(value + multiple - 1, multiple);
}

int bdus_ioctl_retry(int fd, unsigned long command, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, command, arg);
	while (ret < 0 && errno == EINTR);
	return ret;
}

void bdus_close_quietly(int fd)
{
	int saved_errno = errno;

	if (fd >= 0)
		close(fd);
	errno = saved_errno;
}

void bdus_device_path(char *buf, size_t size, uint64_t id)
{
	snprintf(buf, size, "/dev/bdus-%" PRIu64, id);
}

const char *bdus_request_type_name(uint32_t type)
{
	switch (type) {
	case KBDUS_REQ_READ:
		return "read";
	case KBDUS_REQ_WRITE:
		return "write";
	case KBDUS_REQ_WRITE_SAME:
		return "write_same";
	case KBDUS_REQ_WRITE_ZEROS_NO_UNMAP:
	case KBDUS_REQ_WRITE_ZEROS_MAY_UNMAP:
		return "write_zeros";
	case KBDUS_REQ_FUA_WRITE:
		return "fua_write";
	case KBDUS_REQ_FLUSH:
		return "flush";
	case KBDUS_REQ_DISCARD:
		return "discard";
	case KBDUS_REQ_SECURE_ERASE:
		return "secure_erase";
	case KBDUS_REQ_IOCTL:
		return "ioctl";
	case KBDUS_REQ_ZONE_OPEN:
		return "zone_open";
	case KBDUS_REQ_ZONE_CLOSE:
		return "zone_close";
	case KBDUS_REQ_ZONE_FINISH:
		return "zone_finish";
	case KBDUS_REQ_ZONE_RESET:
		return "zone_reset";
	case KBDUS_REQ_ZONE_RESET_ALL:
		return "zone_reset_all";
	case KBDUS_REQ_ZONE_APPEND:
		return "zone_append";
	case KBDUS_REQ_REPORT_ZONES:
		return "report_zones";
	case KBDUS_REQ_DEVICE_AVAILABLE:
		return "device-available notification";
	case KBDUS_REQ_TERMINATE:
		return "terminate notification";
	default:
		return "unknown";
	}
}

const char *bdus_protocol_name(uint32_t protocol)
{
	switch (protocol) {
	case KBDUS_PROTOCOL_IOCTL:
		return "ioctl";
	case KBDUS_PROTOCOL_MMAP:
		return "mmap";
	case KBDUS_PROTOCOL_URING:
		return "uring";
	default:
		return "default";
	}
}

/*
 * The device whose callbacks this thread runs, plus one (0: none), and
 * whether its callbacks all run on one thread (max_concurrent_callbacks 1).
 */
static _Thread_local struct bdus_serving serving_device;

struct bdus_serving bdus_enter_device(uint64_t id, bool single_thread)
{
	struct bdus_serving previous = serving_device;

	serving_device.id_plus_one = id + 1;
	serving_device.single_thread = single_thread;
	return previous;
}

void bdus_leave_device(struct bdus_serving previous)
{
	serving_device = previous;
}

bool bdus_is_serving_device(uint64_t id)
{
	return serving_device.id_plus_one == id + 1;
}

bool bdus_is_serving_device_alone(uint64_t id)
{
	return bdus_is_serving_device(id) && serving_device.single_thread;
}
