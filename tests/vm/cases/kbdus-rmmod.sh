#!/bin/bash
# SPDX-License-Identifier: MIT
# Once "wait until destroyed" returns, rmmod succeeds at once (BDUS 0.1 had
# a race here).  Also: rmmod with an orphaned recoverable device destroys it.
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"

for round in 1 2 3 4 5; do
	for protocol in $PROTOCOLS; do
		load_kbdus
		start_driver D --protocol "$protocol" --size $((4 << 20))
		dd if=/dev/zero of="$D_DEV" bs=64k count=4 status=none
		uapi-ctl destroy "$D_ID"
		rmmod kbdus || fail "round $round ($protocol): rmmod right after destroy failed"
		wait_exit "$D_PID" || fail "driver failed"
	done
done

load_kbdus
start_driver D --protocol mmap --recoverable --size $((4 << 20))
kill -9 "$D_PID"
wait_for "[[ \$(sysfs_attr $D_ID state) == inactive ]]" 10 || fail "device not inactive"
rmmod kbdus || fail "rmmod with an orphaned device failed"
[[ ! -e $D_DEV ]] || fail "device survived rmmod"
