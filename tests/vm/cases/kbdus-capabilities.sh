#!/bin/bash
# SPDX-License-Identifier: MIT
# The block device advertises only what the driver serves: a driver without
# WRITE gets a read-only disk (buffered writes fail at once instead of being
# lost at writeback); write-zeroes with unmapping allowed is served by a
# driver that only serves NO_UNMAP; a driver that only serves MAY_UNMAP gets
# no write-zeroes at all.  Devices start with no I/O scheduler (none), as in
# BDUS 0.1.2, with one queue or several.
# timeout: 240
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	info "read-only driver ($protocol)"
	start_driver D --protocol "$protocol" --size $((4 << 20)) --types read
	[[ $(blockdev --getro "$D_DEV") == 1 ]] || fail "a driver without WRITE got a writable disk"
	grep -q '\[none\]' "/sys/block/bdus-$D_ID/queue/scheduler" ||
		fail "one queue: scheduler $(cat "/sys/block/bdus-$D_ID/queue/scheduler")"
	expect_error "not permitted\|Read-only" dd if=/dev/zero of="$D_DEV" bs=4096 count=1 status=none
	dd if="$D_DEV" of=/dev/null bs=4096 count=4 iflag=direct status=none || fail "reads fail"
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "driver failed"

	info "write-zeroes NO_UNMAP only ($protocol)"
	log=/tmp/wz-$protocol.log
	: >"$log"
	start_driver D --protocol "$protocol" --size $((4 << 20)) \
		--types read,write,write_zeros_no_unmap --log "$log"
	dd if=/dev/urandom of="$D_DEV" bs=64k count=4 oflag=direct status=none
	fallocate -p -o 65536 -l 65536 "$D_DEV" || fail "punch hole (MAY_UNMAP) failed"
	expect_logged "write_zeros_no_unmap 65536 65536"
	blkdiscard -z -o 131072 -l 65536 "$D_DEV" || fail "zero-out (NO_UNMAP) failed"
	expect_logged "write_zeros_no_unmap 131072 65536"
	cmp -n 131072 <(dd if="$D_DEV" bs=64k skip=1 count=2 iflag=direct status=none) /dev/zero ||
		fail "zeroed range not zero"
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "driver failed"

	info "write-zeroes MAY_UNMAP only ($protocol)"
	: >"$log"
	start_driver D --protocol "$protocol" --size $((4 << 20)) \
		--types read,write,write_zeros_may_unmap --log "$log"
	[[ $(cat "/sys/block/bdus-$D_ID/queue/write_zeroes_max_bytes") == 0 ]] ||
		fail "write-zeroes advertised for a MAY_UNMAP-only driver"
	# The block layer writes zeroes itself instead.
	blkdiscard -z -o 0 -l 65536 "$D_DEV" || fail "zero-out fallback failed"
	! grep -q "^write_zeros" "$log" || fail "write-zeroes reached the driver"
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "driver failed"
done
unload_kbdus
