// SPDX-License-Identifier: MIT
/*
 * version.c - the versions of libbdus and of the loaded kbdus.
 */

#include "internal.h"

#include <errno.h>

static const struct bdus_version libbdus_version = {
	.major = BDUS_HEADER_VERSION_MAJOR,
	.minor = BDUS_HEADER_VERSION_MINOR,
	.patch = BDUS_HEADER_VERSION_PATCH,
};

/* libbdus and kbdus are released together. */
_Static_assert(BDUS_HEADER_VERSION_MAJOR == KBDUS_VERSION_MAJOR &&
		       BDUS_HEADER_VERSION_MINOR == KBDUS_VERSION_MINOR &&
		       BDUS_HEADER_VERSION_PATCH == KBDUS_VERSION_PATCH,
	       "bdus.h and kbdus.h disagree on the version");

BDUS_API const struct bdus_version *bdus_get_libbdus_version(void)
{
	return &libbdus_version;
}

BDUS_API bool bdus_get_kbdus_version(struct bdus_version *out_kbdus_version)
{
	struct kbdus_version version = { 0 };
	int fd = bdus_control_open(false);
	bool ok = true;

	if (fd < 0)
		return false;
	if (bdus_ioctl_retry(fd, KBDUS_IOCTL_GET_VERSION, &version) < 0)
		ok = bdus_fail_errno(errno, "cannot get the version of kbdus");
	bdus_close_quietly(fd);

	if (ok) {
		out_kbdus_version->major = version.major;
		out_kbdus_version->minor = version.minor;
		out_kbdus_version->patch = version.patch;
	}
	return ok;
}
