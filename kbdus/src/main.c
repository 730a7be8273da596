// SPDX-License-Identifier: GPL-2.0
/*
 * kbdus: block devices whose requests are served by user-space drivers.
 */

#include <linux/build_bug.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/workqueue.h>

#include "kbdus.h"

unsigned int kbdus_max_devices = 256;
module_param_named(max_devices, kbdus_max_devices, uint, 0444);
MODULE_PARM_DESC(
	max_devices,
	"Maximum number of devices that may exist at once (1-4096, default 256)");

/* Runs add_disk and destruction, which may wait on drivers for long. */
struct workqueue_struct *kbdus_wq;

static struct miscdevice kbdus_control_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "bdus-control",
	.fops = &kbdus_control_fops,
	.mode = 0600,
};

static void kbdus_check_uapi(void)
{
	BUILD_BUG_ON(sizeof(struct kbdus_device_config) != 128);
	BUILD_BUG_ON(sizeof(struct kbdus_request) != 64);
	BUILD_BUG_ON(sizeof(struct kbdus_reply) != 32);
	BUILD_BUG_ON(sizeof(struct kbdus_version) != 16);
	BUILD_BUG_ON(sizeof(struct kbdus_attach_args) != 64 + 128);
	BUILD_BUG_ON(sizeof(struct kbdus_device_info) != 64 + 128);
	BUILD_BUG_ON(sizeof(struct kbdus_destroy_args) != 32);
	BUILD_BUG_ON(sizeof(struct kbdus_transceive_args) != 64);
	BUILD_BUG_ON(sizeof(struct kbdus_mmap_layout) != 56);
	BUILD_BUG_ON(sizeof(struct kbdus_mmap_transceive_args) != 40);
	BUILD_BUG_ON(sizeof(struct kbdus_passthrough) != 32);
	BUILD_BUG_ON(sizeof(struct kbdus_extent) != 16);
	BUILD_BUG_ON(sizeof(struct kbdus_backing_args) != 32);
	BUILD_BUG_ON(sizeof(struct kbdus_mmap_buffers_args) != 40);
	BUILD_BUG_ON(sizeof(struct kbdus_zone) != 64);
	/* Every data type fits the supported_requests mask. */
	BUILD_BUG_ON(KBDUS_REQ_BIT(KBDUS_REQ_IOCTL) >
		     KBDUS_REQ_DATA_TYPES_MASK);
	BUILD_BUG_ON((KBDUS_REQ_ZONE_TYPES_MASK & ~KBDUS_REQ_DATA_TYPES_MASK) ||
		     KBDUS_REQ_ZONE_TYPES_MASK !=
			     (KBDUS_REQ_BIT(KBDUS_REQ_ZONE_OPEN) |
			      KBDUS_REQ_BIT(KBDUS_REQ_ZONE_CLOSE) |
			      KBDUS_REQ_BIT(KBDUS_REQ_ZONE_FINISH) |
			      KBDUS_REQ_BIT(KBDUS_REQ_ZONE_RESET) |
			      KBDUS_REQ_BIT(KBDUS_REQ_ZONE_RESET_ALL) |
			      KBDUS_REQ_BIT(KBDUS_REQ_ZONE_APPEND) |
			      KBDUS_REQ_BIT(KBDUS_REQ_REPORT_ZONES)));
}

static int __init kbdus_init(void)
{
	int ret;

	kbdus_check_uapi();

	if (kbdus_max_devices < 1 || kbdus_max_devices > 4096) {
		pr_err("max_devices must be between 1 and 4096\n");
		return -EINVAL;
	}

	kbdus_wq = alloc_workqueue("kbdus", WQ_UNBOUND, 0);
	if (!kbdus_wq)
		return -ENOMEM;

	ret = kbdus_devices_init();
	if (ret)
		goto err_wq;

	ret = misc_register(&kbdus_control_misc);
	if (ret)
		goto err_devices;

	pr_info("loaded, version %u.%u.%u\n", KBDUS_VERSION_MAJOR,
		KBDUS_VERSION_MINOR, KBDUS_VERSION_PATCH);
	return 0;

err_devices:
	kbdus_devices_exit();
err_wq:
	destroy_workqueue(kbdus_wq);
	return ret;
}

static void __exit kbdus_exit(void)
{
	misc_deregister(&kbdus_control_misc);
	kbdus_devices_exit();
	destroy_workqueue(kbdus_wq);
}

module_init(kbdus_init);
module_exit(kbdus_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Block devices in user space");
MODULE_VERSION(__stringify(KBDUS_VERSION_MAJOR) "." __stringify(
	KBDUS_VERSION_MINOR) "." __stringify(KBDUS_VERSION_PATCH));
