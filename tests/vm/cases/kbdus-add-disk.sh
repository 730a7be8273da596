#!/bin/bash
# SPDX-License-Identifier: MIT
# add_disk completes while the driver serves its partition-scan reads; a
# driver that dies during add_disk leaves no device behind; partitions made
# with sfdisk appear and work.
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	for flags in "" --recoverable; do
		info "driver exits during add_disk ($protocol $flags)"
		uapi-ram --protocol "$protocol" --partition-scan $flags --exit-after 0 \
			--size $((4 << 20)) >/dev/null 2>&1 && fail "driver should have crashed"
		wait_for '[[ -z $(uapi-ctl list) ]]' 30 || fail "device left behind"
	done

	info "partitions ($protocol)"
	start_driver D --protocol "$protocol" --partition-scan --size $((32 << 20))
	printf 'label: dos\n,8M\n,8M\n' | sfdisk -q "$D_DEV"
	wait_for "[[ -b ${D_DEV}p1 && -b ${D_DEV}p2 ]]" 10 || fail "partitions did not appear"
	head -c 1M /dev/urandom >/tmp/p2
	dd if=/tmp/p2 of="${D_DEV}p2" bs=64k oflag=direct status=none
	cmp <(head -c 1M "${D_DEV}p2") /tmp/p2 || fail "partition data differs"
	cmp <(dd if="$D_DEV" bs=512 skip=$((8 * 2048 + 2048)) count=2048 status=none) /tmp/p2 ||
		fail "partition 2 is not where sfdisk put it"
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "driver failed"
done
unload_kbdus
