#!/bin/bash
# SPDX-License-Identifier: MIT
# expect: kernel problem in dmesg: (BUG [^ ]+ \(|\[?Poison overwritten|BUG: KFENCE: use-after-free|BUG: KASAN: )
#
# Harness self-check: this test succeeds, but the module it loads writes to a
# freed slab object; the memory-error detectors that scripts/vm-exec turns on
# (slub_debug=FZPU poisoning, else KFENCE or KASAN) must report it and the
# harness must report FAIL.

set -euo pipefail

ko=$BDUS_ROOT/build/selftest/$KVER/bdus_selftest_warn.ko
if [[ ! -e $ko ]]; then
	echo "$ko is not built (make -C tests)" >&2
	exit 1
fi
insmod "$ko" mode=uaf
# Checks every object of the cache, in case the reallocation did not.
echo 1 >/sys/kernel/slab/bdus_selftest_uaf/validate
rmmod bdus_selftest_warn
echo "use after free done; the harness must still report FAIL"
