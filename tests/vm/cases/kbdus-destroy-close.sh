#!/bin/bash
# SPDX-License-Identifier: MIT
# Destroy, then the driver closes its fd last: the session's protocol must
# be torn down before the session lets go of the device, which its close
# may free.  The driver keeps its fd open until the block device is gone.
# timeout: 240
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	for round in 1 2 3; do
		info "$protocol, round $round"
		start_driver D --protocol "$protocol" --size $((4 << 20)) --linger-ms 30000
		dd if="$D_DEV" of=/dev/null bs=4096 count=8 iflag=direct status=none
		uapi-ctl trigger "$D_ID"
		wait_for "[[ ! -e /sys/block/bdus-$D_ID ]]" 60 ||
			fail "device $D_ID not removed ($protocol, round $round)"
		wait_exit "$D_PID" || fail "driver failed ($protocol)"
		wait_for "[[ -z \$(uapi-ctl list) ]]" 30 ||
			fail "device $D_ID outlived its last driver ($protocol)"
	done
done
unload_kbdus
