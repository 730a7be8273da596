// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-check only: a module whose init breaks the kernel on purpose,
 * so that tests/vm/selftest can verify that the VM test harness notices it
 * even when the test itself succeeds.  Never shipped.
 *
 *   insmod bdus_selftest_warn.ko              WARN_ON(1)
 *   insmod bdus_selftest_warn.ko mode=uaf     writes to a freed slab object,
 *       which slub_debug's poisoning (or KFENCE, or KASAN) must report
 */

#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/types.h>

static char *mode = "warn";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "warn (default) or uaf");

static struct kmem_cache *uaf_cache;

/*
 * A cache of its own, so that the test can validate it alone through
 * /sys/kernel/slab/bdus_selftest_uaf/validate, and a use-after-free write
 * that poisoning detects: when the object is allocated again (SLUB checks
 * the poison of debug caches then), on validation, or at once (KFENCE).
 */
static int uaf(void)
{
	char *p, *q;

	uaf_cache = kmem_cache_create("bdus_selftest_uaf", 64, 0, 0, NULL);
	if (!uaf_cache)
		return -ENOMEM;
	p = kmem_cache_alloc(uaf_cache, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	kmem_cache_free(uaf_cache, p);
	OPTIMIZER_HIDE_VAR(p);
	/*
	 * The use after free: a plain store, which KASAN instruments (with gcc
	 * < 13 it does not check memset() and friends).
	 */
	WRITE_ONCE(*(u64 *)(p + 16), 0x4242424242424242ULL);
	q = kmem_cache_alloc(uaf_cache, GFP_KERNEL);
	if (q)
		kmem_cache_free(uaf_cache, q);
	return 0;
}

static int __init bdus_selftest_warn_init(void)
{
	if (!strcmp(mode, "uaf")) {
		if (uaf()) {
			kmem_cache_destroy(uaf_cache);
			return -ENOMEM;
		}
		return 0;
	}
	WARN_ON(1);
	return 0;
}

static void __exit bdus_selftest_warn_exit(void)
{
	kmem_cache_destroy(uaf_cache);
}

module_init(bdus_selftest_warn_init);
module_exit(bdus_selftest_warn_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("BDUS test harness self-check: WARN_ON(1) or a use-after-free at load");
