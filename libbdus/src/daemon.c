// SPDX-License-Identifier: MIT
/*
 * daemon.c - moving the driver into the background once its device is
 * available, so that the command that started it returns.
 */

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static bool redirect_to_dev_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return bdus_fail_errno(errno, "cannot open /dev/null");
	for (int target = STDIN_FILENO; target <= STDERR_FILENO; target++) {
		if (dup2(fd, target) < 0) {
			bdus_close_quietly(fd);
			return bdus_fail_errno(errno,
					       "cannot redirect fd %d to /dev/null",
					       target);
		}
	}
	close(fd);
	return true;
}

/* Forks, letting the parent exit with status 0. */
static bool fork_and_leave_parent(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return bdus_fail_errno(errno, "cannot daemonize: fork failed");
	if (pid > 0)
		_exit(0);
	return true;
}

/*
 * The classic double fork: the first child leaves the caller's session, the
 * second can never reacquire a controlling terminal.  Must run while the
 * process has a single thread.  The session fd and its mapping are
 * inherited, so serving goes on in the grandchild.
 */
bool bdus_daemonize(void)
{
	/* Buffered output would otherwise be written by parent and child. */
	fflush(NULL);

	if (!fork_and_leave_parent())
		return false;
	if (setsid() < 0)
		return bdus_fail_errno(errno, "cannot daemonize: setsid failed");
	if (!fork_and_leave_parent())
		return false;
	return redirect_to_dev_null();
}
