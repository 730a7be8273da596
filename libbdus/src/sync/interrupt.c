// SPDX-License-Identifier: MIT
/*
 * interrupt.c - the signal that wakes a worker thread blocked in a receive.
 *
 * kbdus waits for requests interruptibly, and a signal whose handler is
 * installed without SA_RESTART makes the wait fail with EINTR.  libbdus uses
 * BDUS_INTERRUPT_SIGNAL (SIGRTMAX - 1) for that, with a handler that does
 * nothing.  The handler is only installed while some driver in the process
 * runs worker threads, and the previous disposition is restored afterwards.
 */

#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#define BDUS_INTERRUPT_SIGNAL (SIGRTMAX - 1)

static pthread_mutex_t users_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned users;
static struct sigaction previous_action;

static void do_nothing(int signum)
{
	(void)signum;
}

bool bdus_interrupt_acquire(void)
{
	struct sigaction action;
	bool ok = true;

	memset(&action, 0, sizeof(action));
	action.sa_handler = do_nothing;
	sigemptyset(&action.sa_mask);
	action.sa_flags = 0; /* no SA_RESTART: the wait must fail */

	pthread_mutex_lock(&users_lock);
	if (users == 0 &&
	    sigaction(BDUS_INTERRUPT_SIGNAL, &action, &previous_action) != 0)
		ok = bdus_fail_errno(errno,
				     "cannot install the handler for signal %d",
				     BDUS_INTERRUPT_SIGNAL);
	if (ok)
		users++;
	pthread_mutex_unlock(&users_lock);
	return ok;
}

void bdus_interrupt_release(void)
{
	pthread_mutex_lock(&users_lock);
	if (--users == 0)
		sigaction(BDUS_INTERRUPT_SIGNAL, &previous_action, NULL);
	pthread_mutex_unlock(&users_lock);
}

void bdus_interrupt_unblock(void)
{
	sigset_t set;

	/* Threads inherit the creator's mask, which may block everything. */
	sigemptyset(&set);
	sigaddset(&set, BDUS_INTERRUPT_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void bdus_interrupt_thread(pthread_t thread)
{
	pthread_kill(thread, BDUS_INTERRUPT_SIGNAL);
}
