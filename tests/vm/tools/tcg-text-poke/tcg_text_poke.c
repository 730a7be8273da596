// SPDX-License-Identifier: GPL-2.0
/*
 * Emulator check, not a kbdus test: flips a static key FLIPS times from a
 * kthread on CPU 0 while CPU 1 runs the code it guards, in a kthread and
 * in an hrtimer.  On real x86 hardware the kernel's INT3-based patching
 * makes this safe.  Under QEMU's multi-threaded TCG, CPU 1 soon executes a
 * stale INT3 and the guest oopses ("Oops: int3"); with thread=single it
 * does not.  See ./run and scripts/vm-exec (maxcpus=1).
 */
#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/jump_label.h>
#include <linux/kthread.h>
#include <linux/module.h>

static int flips = 20000;
module_param(flips, int, 0444);

static DEFINE_STATIC_KEY_FALSE(ttp_key);
static DECLARE_COMPLETION(ttp_flips_done);
static struct hrtimer ttp_timer;
static unsigned long ttp_taken, ttp_not_taken;

static noinline void ttp_guarded(void)
{
	if (static_branch_unlikely(&ttp_key))
		ttp_taken++;
	else
		ttp_not_taken++;
}

static enum hrtimer_restart ttp_timer_fn(struct hrtimer *timer)
{
	int i;

	for (i = 0; i < 64; i++)
		ttp_guarded();
	hrtimer_forward_now(timer, ns_to_ktime(20 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void ttp_start_timer(void *unused)
{
	hrtimer_start(&ttp_timer, ns_to_ktime(20 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED);
}

static int ttp_runner(void *unused)
{
	while (!kthread_should_stop()) {
		ttp_guarded();
		cond_resched();
	}
	return 0;
}

static int ttp_flipper(void *unused)
{
	int i;

	for (i = 0; i < flips; i++) {
		if (i & 1)
			static_branch_disable(&ttp_key);
		else
			static_branch_enable(&ttp_key);
	}
	pr_info("tcg_text_poke: %d flips survived (taken %lu, not taken %lu)\n",
		flips, ttp_taken, ttp_not_taken);
	complete(&ttp_flips_done);
	return 0;
}

static int __init ttp_init(void)
{
	struct task_struct *runner, *flipper;

	if (num_online_cpus() < 2 || !cpu_online(1))
		return -ENODEV;
	hrtimer_init(&ttp_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED);
	ttp_timer.function = ttp_timer_fn;
	smp_call_function_single(1, ttp_start_timer, NULL, 1);

	runner = kthread_create(ttp_runner, NULL, "ttp_runner");
	if (IS_ERR(runner))
		goto err_timer;
	kthread_bind(runner, 1);
	flipper = kthread_create(ttp_flipper, NULL, "ttp_flipper");
	if (IS_ERR(flipper))
		goto err_runner;
	kthread_bind(flipper, 0);

	wake_up_process(runner);
	wake_up_process(flipper);
	wait_for_completion(&ttp_flips_done);
	kthread_stop(runner);
	hrtimer_cancel(&ttp_timer);
	return 0;

err_runner:
	kthread_stop(runner);
err_timer:
	hrtimer_cancel(&ttp_timer);
	return -ENOMEM;
}

static void __exit ttp_exit(void)
{
}

module_init(ttp_init);
module_exit(ttp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("QEMU TCG cross-modifying-code check");
