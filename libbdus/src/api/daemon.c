// SPDX-License-Identifier: MIT
/*
 * daemon.c - moving the driver into the background once its device is
 * available, so that the command that started it returns.
 *
 * The process forks before it creates (or attaches to) the device, not
 * after: kbdus binds each uring queue to the thread that first serves it,
 * for the whole session, and records the creating process as the driver's.
 * Threads do not survive a fork either, so forking later would take the
 * session away from whoever set it up.  Instead:
 *   - the parent waits on a socket, and exits with status 0 once the child
 *     says it detached; if the child stops before that (a failure, or the
 *     device destroyed before it was available), the parent's bdus_run()
 *     returns the child's result and error message, and the child exits;
 *   - the child does everything else; after on_device_available() it
 *     leaves the terminal's session (setsid) and redirects stdin, stdout and
 *     stderr to /dev/null, then tells the parent.
 * Until it detached, the child dies with its parent (PR_SET_PDEATHSIG), as
 * it would have if it were still the same process.  There is no second
 * fork: the driver's process is a session leader.
 */

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the child tells the parent, once. */
struct daemon_report {
	int32_t detached; /* 1: detached, the parent exits with status 0 */
	int32_t ok; /* otherwise: bdus_run()'s result */
	struct bdus_saved_error error; /* if !ok */
};

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

static void send_report(struct bdus_daemon *daemon,
			const struct daemon_report *report)
{
	/* No SIGPIPE: a parent that went away is nobody's problem. */
	(void)!send(daemon->socket, report, sizeof(*report), MSG_NOSIGNAL);
	bdus_close_quietly(daemon->socket);
	daemon->socket = -1;
}

/* ------------------------------------------------------------------------- */
/* The parent */

static bool read_report(int socket, struct daemon_report *report)
{
	size_t done = 0;
	ssize_t ret;

	while (done < sizeof(*report)) {
		ret = recv(socket, (char *)report + done, sizeof(*report) - done,
			   0);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return false;
		done += (size_t)ret;
	}
	return true;
}

static bool fail_child(int status)
{
	if (WIFSIGNALED(status))
		return bdus_fail(EIO,
				 "the driver's process was killed by signal %d "
				 "(%s) before the device was available",
				 WTERMSIG(status), strsignal(WTERMSIG(status)));
	return bdus_fail(EIO,
			 "the driver's process exited with status %d before "
			 "the device was available",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Waits for the child's report; never returns if it detached. */
static bool wait_for_child(int socket, pid_t child)
{
	struct daemon_report report;
	bool reported = read_report(socket, &report);
	int status = 0;

	if (reported && report.detached)
		_exit(0);
	close(socket);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!reported)
		return fail_child(status);
	if (report.ok)
		return true;
	report.error.message[sizeof(report.error.message) - 1] = '\0';
	if (report.error.errnum <= 0)
		report.error.errnum = EIO;
	return bdus_restore_error(&report.error);
}

/* ------------------------------------------------------------------------- */

bool bdus_daemon_fork(struct bdus_daemon *daemon, bool *in_child)
{
	pid_t parent = getpid();
	int sockets[2];
	pid_t pid;

	*in_child = false;
	daemon->socket = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) < 0)
		return bdus_fail_errno(errno,
				       "cannot daemonize: socketpair failed");

	/* Buffered output would otherwise be written by parent and child. */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		bdus_close_quietly(sockets[0]);
		bdus_close_quietly(sockets[1]);
		return bdus_fail_errno(errno, "cannot daemonize: fork failed");
	}
	if (pid > 0) {
		close(sockets[1]);
		return wait_for_child(sockets[0], pid);
	}

	close(sockets[0]);
	daemon->socket = sockets[1];
	/* Die with the parent until detached; it may have died already. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	*in_child = true;
	return true;
}

bool bdus_daemon_detach(struct bdus_daemon *daemon)
{
	struct daemon_report report = { .detached = 1 };

	fflush(NULL);
	if (setsid() < 0)
		return bdus_fail_errno(errno, "cannot daemonize: setsid failed");
	if (!redirect_to_dev_null())
		return false;
	prctl(PR_SET_PDEATHSIG, 0);
	send_report(daemon, &report);
	return true;
}

void bdus_daemon_end(struct bdus_daemon *daemon, bool ok)
{
	struct daemon_report report = { .ok = ok };

	if (daemon->socket < 0)
		return;
	if (!ok)
		bdus_save_error(&report.error);
	fflush(NULL);
	send_report(daemon, &report);
	_exit(ok ? 0 : 1);
}
