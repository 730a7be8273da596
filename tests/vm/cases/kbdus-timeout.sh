#!/bin/bash
# SPDX-License-Identifier: MIT
# A request the driver never answers fails with ETIMEDOUT after the
# configured timeout, and the device keeps working.
# timeout: 240
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	start_driver D --protocol "$protocol" --size $((4 << 20)) --timeout-ms 2000 --stall read
	start=$SECONDS
	expect_error "timed out" dd if="$D_DEV" of=/dev/null bs=4096 count=1 iflag=direct
	((SECONDS - start >= 1)) || fail "timed out too early"
	dd if=/dev/zero of="$D_DEV" bs=4096 count=4 oflag=direct status=none ||
		fail "writes fail after a timeout"
	[[ $(sysfs_attr "$D_ID" state) == active ]] || fail "device not active"
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "driver failed"
done
unload_kbdus
