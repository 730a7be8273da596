#!/bin/bash
# SPDX-License-Identifier: MIT
# Create, inspect, use and destroy a device over each protocol: sysfs and
# GET_DEVICE_INFO agree, ids are never reused, the device and its node go
# away, and rmmod succeeds right after.
# timeout: 240
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
expected_id=0
size=$((16 << 20))
head -c 1M /dev/urandom >/tmp/data

for protocol in $PROTOCOLS; do
	info "protocol $protocol"
	start_driver D --protocol "$protocol" --size "$size" --queues 2 --depth 8
	[[ $D_ID == "$expected_id" ]] || fail "got id $D_ID, expected $expected_id"

	[[ $(sysfs_attr "$D_ID" id) == "$D_ID" ]] || fail "sysfs id"
	[[ $(sysfs_attr "$D_ID" state) == active ]] || fail "sysfs state"
	[[ $(sysfs_attr "$D_ID" protocol) == "$protocol" ]] || fail "sysfs protocol"
	[[ $(sysfs_attr "$D_ID" queues) == 2 ]] || fail "sysfs queues"
	[[ $(sysfs_attr "$D_ID" queue_depth) == 8 ]] || fail "sysfs queue_depth"
	[[ $(sysfs_attr "$D_ID" driver_pid) == "$D_PID" ]] || fail "sysfs driver_pid"
	[[ $(sysfs_attr "$D_ID" recoverable) == 0 ]] || fail "sysfs recoverable"
	[[ $(blockdev --getsize64 "$D_DEV") == "$size" ]] || fail "size"
	uapi-ctl info "$D_ID" >/tmp/info
	grep -qx "state 2" /tmp/info || fail "info state"
	grep -qx "driver_pid $D_PID" /tmp/info || fail "info pid"
	grep -qx "size $size" /tmp/info || fail "info size"
	[[ $(uapi-ctl list) == "$D_ID" ]] || fail "list"

	dd if=/tmp/data of="$D_DEV" bs=64k oflag=direct status=none
	cmp <(dd if="$D_DEV" bs=64k count=16 iflag=direct status=none) /tmp/data ||
		fail "data read back differs"

	uapi-ctl destroy "$D_ID" || fail "destroy"
	wait_exit "$D_PID" || fail "driver exited with status $?"
	[[ ! -e $D_DEV && ! -e /sys/block/bdus-$D_ID ]] || fail "device still exists"
	expect_error ENODEV uapi-ctl info "$D_ID"
	expect_error ENODEV uapi-ctl destroy "$D_ID"
	uapi-ctl wait "$D_ID" || fail "wait on a gone device must succeed"
	expected_id=$((expected_id + 1))
done

[[ -z $(uapi-ctl list) ]] || fail "devices left"
unload_kbdus
