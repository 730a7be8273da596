#!/bin/bash
# SPDX-License-Identifier: MIT
# expect: kernel problem in dmesg: WARNING:
#
# Harness self-check: this test succeeds, but the module it loads triggers a
# kernel WARNING, which the harness must report as FAIL.

set -euo pipefail

ko=$BDUS_ROOT/build/selftest/$KVER/bdus_selftest_warn.ko
if [[ ! -e $ko ]]; then
	echo "$ko is not built (make -C tests)" >&2
	exit 1
fi
insmod "$ko"
rmmod bdus_selftest_warn
echo "module loaded and unloaded; the harness must still report FAIL"
