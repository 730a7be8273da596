// SPDX-License-Identifier: MIT
/*
 * abi-0.1.c - the entry points that programs built against BDUS 0.1.0 to
 * 0.1.2 call.  Those versions' bdus.h wrapped every function in a static
 * inline function calling a versioned name (bdus_run_0_1_1_, ...), so their
 * binaries and objects need these names.  Each one forwards to the function
 * that today's bdus.h calls directly, which keeps 0.1.x's behaviour.
 *
 * The declarations are here, not in bdus.h: new code has no reason to call
 * them.
 */

#include "internal.h"

BDUS_API bool bdus_run_0_1_0_(const struct bdus_ops *ops,
			      const struct bdus_attrs *attrs,
			      void *private_data);
BDUS_API bool bdus_run_0_1_1_(const struct bdus_ops *ops,
			      const struct bdus_attrs *attrs,
			      void *private_data);
BDUS_API bool bdus_rerun_0_1_0_(uint64_t dev_id, const struct bdus_ops *ops,
				const struct bdus_attrs *attrs,
				void *private_data);
BDUS_API bool bdus_rerun_0_1_1_(uint64_t dev_id, const struct bdus_ops *ops,
				const struct bdus_attrs *attrs,
				void *private_data);
BDUS_API bool bdus_get_dev_id_from_path_0_1_0_(uint64_t *out_dev_id,
					       const char *dev_path);
BDUS_API bool bdus_flush_dev_0_1_0_(uint64_t dev_id);
BDUS_API bool bdus_destroy_dev_0_1_0_(uint64_t dev_id);
BDUS_API const char *bdus_get_error_message_0_1_0_(void);
BDUS_API const struct bdus_version *bdus_get_libbdus_version_0_1_0_(void);
BDUS_API bool bdus_get_kbdus_version_0_1_0_(struct bdus_version *out);

/*
 * 0.1.0 and 0.1.1 differ only in struct bdus_ctx, which libbdus allocates
 * at its largest, so both run entry points are the same function.
 */
BDUS_API bool bdus_run_0_1_0_(const struct bdus_ops *ops,
			      const struct bdus_attrs *attrs,
			      void *private_data)
{
	return bdus_run(ops, attrs, private_data);
}

BDUS_API bool bdus_run_0_1_1_(const struct bdus_ops *ops,
			      const struct bdus_attrs *attrs,
			      void *private_data)
{
	return bdus_run(ops, attrs, private_data);
}

BDUS_API bool bdus_rerun_0_1_0_(uint64_t dev_id, const struct bdus_ops *ops,
				const struct bdus_attrs *attrs,
				void *private_data)
{
	return bdus_rerun(dev_id, ops, attrs, private_data);
}

BDUS_API bool bdus_rerun_0_1_1_(uint64_t dev_id, const struct bdus_ops *ops,
				const struct bdus_attrs *attrs,
				void *private_data)
{
	return bdus_rerun(dev_id, ops, attrs, private_data);
}

BDUS_API bool bdus_get_dev_id_from_path_0_1_0_(uint64_t *out_dev_id,
					       const char *dev_path)
{
	return bdus_get_dev_id_from_path(out_dev_id, dev_path);
}

BDUS_API bool bdus_flush_dev_0_1_0_(uint64_t dev_id)
{
	return bdus_flush_dev(dev_id);
}

BDUS_API bool bdus_destroy_dev_0_1_0_(uint64_t dev_id)
{
	return bdus_destroy_dev(dev_id);
}

BDUS_API const char *bdus_get_error_message_0_1_0_(void)
{
	return bdus_get_error_message();
}

BDUS_API const struct bdus_version *bdus_get_libbdus_version_0_1_0_(void)
{
	return bdus_get_libbdus_version();
}

BDUS_API bool bdus_get_kbdus_version_0_1_0_(struct bdus_version *out)
{
	return bdus_get_kbdus_version(out);
}
