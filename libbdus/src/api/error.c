// SPDX-License-Identifier: MIT
/*
 * error.c - the per-thread error message behind bdus_get_error_message().
 */

#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char error_message[512];

bool bdus_fail_v(int errnum, bool append_strerror, const char *fmt,
		 va_list args)
{
	int len = vsnprintf(error_message, sizeof(error_message), fmt, args);

	if (append_strerror && len >= 0 &&
	    (size_t)len < sizeof(error_message)) {
		char buf[128];
		const char *text = strerror_r(errnum, buf, sizeof(buf));

		snprintf(error_message + len, sizeof(error_message) - len,
			 ": %s", text);
	}
	errno = errnum;
	return false;
}

bool bdus_fail(int errnum, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	bdus_fail_v(errnum, false, fmt, args);
	va_end(args);
	return false;
}

bool bdus_fail_errno(int errnum, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	bdus_fail_v(errnum, true, fmt, args);
	va_end(args);
	return false;
}

void bdus_save_error(struct bdus_saved_error *saved)
{
	saved->errnum = errno;
	snprintf(saved->message, sizeof(saved->message), "%s", error_message);
}

bool bdus_restore_error(const struct bdus_saved_error *saved)
{
	return bdus_fail(saved->errnum, "%s", saved->message);
}

BDUS_API const char *bdus_get_error_message(void)
{
	return error_message;
}
