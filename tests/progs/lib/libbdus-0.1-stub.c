// SPDX-License-Identifier: MIT
/*
 * libbdus-0.1-stub.c - stands in for BDUS 0.1.2's libbdus.so.0.1 when
 * linking the abi-* test programs: it has the same soname and entry points
 * and no symbol versions, so the programs reference them as binaries built
 * against 0.1.x do (unversioned), and then run with the real libbdus.
 * Never run: every function aborts.
 */

#include <stdlib.h>

#define STUB(name)                   \
	void name(void);             \
	void name(void) { abort(); }

STUB(bdus_run_0_1_0_)
STUB(bdus_run_0_1_1_)
STUB(bdus_rerun_0_1_0_)
STUB(bdus_rerun_0_1_1_)
STUB(bdus_get_dev_id_from_path_0_1_0_)
STUB(bdus_flush_dev_0_1_0_)
STUB(bdus_destroy_dev_0_1_0_)
STUB(bdus_get_error_message_0_1_0_)
STUB(bdus_get_libbdus_version_0_1_0_)
STUB(bdus_get_kbdus_version_0_1_0_)
