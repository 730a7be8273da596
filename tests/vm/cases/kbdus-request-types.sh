#!/bin/bash
# SPDX-License-Identifier: MIT
# Every request type reaches the driver with the right offset and size, over
# each protocol; unsupported types fail with EOPNOTSUPP / ENOTTY without
# reaching it; write-same is never produced.
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	info "protocol $protocol"
	log=/tmp/requests-$protocol.log
	start_driver D --protocol "$protocol" --size $((16 << 20)) --write-cache --fua --log "$log"

	dd if="$D_DEV" of=/dev/null bs=4096 count=1 skip=3 iflag=direct status=none
	expect_logged "read 12288 4096"
	dd if=/dev/urandom of="$D_DEV" bs=8192 count=1 seek=2 oflag=direct status=none
	expect_logged "write 16384 8192"
	dd if=/dev/urandom of="$D_DEV" bs=4096 count=1 seek=10 oflag=direct,dsync status=none
	expect_logged "fua_write 40960 4096"
	dd if=/dev/urandom of="$D_DEV" bs=4096 count=1 seek=11 oflag=direct conv=fsync status=none
	expect_logged "flush 0 0"

	dd if=/dev/urandom of="$D_DEV" bs=1M count=4 oflag=direct status=none
	blkdiscard -o 65536 -l 131072 "$D_DEV"
	expect_logged "discard 65536 131072"
	blkdiscard -s -o 262144 -l 65536 "$D_DEV"
	expect_logged "secure_erase 262144 65536"
	blkdiscard -z -o 524288 -l 65536 "$D_DEV"
	expect_logged "write_zeros_no_unmap 524288 65536"
	fallocate -p -o 1048576 -l 65536 "$D_DEV"
	expect_logged "write_zeros_may_unmap 1048576 65536"
	cmp -n 65536 <(dd if="$D_DEV" bs=64k skip=1 count=1 iflag=direct status=none) /dev/zero ||
		fail "discarded range not zero"

	[[ $(uapi-ctl bdev-ioctl "$D_DEV" increment) == "2 3 4 5" ]] || fail "ioctl increment"
	expect_logged "ioctl 0xc0105401 16"
	[[ $(uapi-ctl bdev-ioctl "$D_DEV" pattern) == "2966749184 2966749185 2966749186 2966749187" ]] ||
		fail "ioctl read pattern"
	expect_error EPERM uapi-ctl bdev-ioctl "$D_DEV" fail
	expect_error ENOTTY uapi-ctl bdev-ioctl "$D_DEV" unknown
	expect_error EINVAL uapi-ctl bdev-ioctl "$D_DEV" malformed
	# Commands that pass data to the driver need a writable opener;
	# read-only ones do not.
	expect_error EBADF uapi-ctl bdev-ioctl-ro "$D_DEV" increment
	[[ $(uapi-ctl bdev-ioctl-ro "$D_DEV" pattern) == "2966749184 2966749185 2966749186 2966749187" ]] ||
		fail "read-only opener cannot run an _IOR ioctl"
	! grep -q "^ioctl 0x85404 " "$log" || fail "malformed ioctl reached the driver"
	! grep -q "^write_same" "$log" || fail "write-same was produced"

	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "driver failed"

	info "unsupported types ($protocol)"
	log=/tmp/requests-min-$protocol.log
	start_driver D --protocol "$protocol" --size $((4 << 20)) --types read,write --log "$log"
	expect_error "not supported" blkdiscard -o 0 -l 65536 "$D_DEV"
	expect_error "not supported" blkdiscard -s -o 0 -l 65536 "$D_DEV"
	expect_error ENOTTY uapi-ctl bdev-ioctl "$D_DEV" increment
	dd if=/dev/zero of="$D_DEV" bs=4096 count=1 oflag=direct conv=fsync status=none
	! grep -qE "^(discard|secure_erase|flush|ioctl|fua_write)" "$log" ||
		fail "an unsupported type reached the driver"
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "driver failed"
done
unload_kbdus
