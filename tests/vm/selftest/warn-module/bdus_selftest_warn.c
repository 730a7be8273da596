// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-check only: a module whose init triggers a kernel WARNING, so
 * that tests/vm/selftest can verify that the VM test harness notices kernel
 * warnings even when the test itself succeeds.  Never shipped.
 */

#include <linux/bug.h>
#include <linux/module.h>

static int __init bdus_selftest_warn_init(void)
{
	WARN_ON(1);
	return 0;
}

static void __exit bdus_selftest_warn_exit(void)
{
}

module_init(bdus_selftest_warn_init);
module_exit(bdus_selftest_warn_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("BDUS test harness self-check: WARN_ON(1) at load");
