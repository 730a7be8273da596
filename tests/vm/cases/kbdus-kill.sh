#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 of the driver during fio.  Non-recoverable: I/O fails with EIO,
# nothing hangs, the device goes away.  Recoverable: I/O waits, a new driver
# attaches, gets the lost requests again, and fio verifies with no error.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	info "non-recoverable, $protocol"
	start_driver D --protocol "$protocol" --size $((64 << 20)) --threads 2
	fio --name=io --filename="$D_DEV" --direct=1 --ioengine=libaio --rw=randrw \
		--bs=4k --iodepth=16 --time_based --runtime=60 >/tmp/fio.out 2>&1 &
	fio_pid=$!
	wait_io "$D_DEV"
	kill -9 "$D_PID"
	start=$SECONDS
	wait_exit "$fio_pid" && fail "fio succeeded although the driver died"
	((SECONDS - start < 30)) || fail "fio took $((SECONDS - start)) s to fail"
	# Requests in flight fail with EIO; once the disk is deleted, Linux
	# itself answers new writes with ENOSPC (capacity 0).  fio reports the
	# first it sees.  (The kernel's per-request error log is rate-limited,
	# so it cannot serve as evidence.)
	grep -qE "Input/output error|No space left on device" /tmp/fio.out ||
		{ cat /tmp/fio.out >&2; fail "fio saw no I/O error"; }
	wait_for "[[ ! -e $D_DEV ]]" 30 || fail "device did not go away"
	uapi-ctl wait "$D_ID"

	info "recoverable, $protocol"
	# fio must still be running at the third kill however fast the guest
	# is: a 2 ms delay per request and at most two threads make its 16384
	# requests last at least 16 s, and I/O only moves while a driver is
	# attached.
	rm -f /dev/shm/disk
	start_driver D --protocol "$protocol" --size $((64 << 20)) --threads 2 \
		--recoverable --backing /dev/shm/disk --delay-us 2000
	fio --name=verify --filename="$D_DEV" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=16 --size=32M --verify=crc32c \
		--verify_fatal=1 >/tmp/fio.out 2>&1 &
	fio_pid=$!
	for round in 1 2 3; do
		wait_io "$D_DEV"
		kill -9 "$D_PID"
		wait_for "[[ \$(sysfs_attr $D_ID state) == inactive ]]" 10 ||
			fail "device not inactive after kill"
		start_driver N --protocol "$protocol" --threads 2 --attach "$D_ID" \
			--backing /dev/shm/disk --delay-us 2000
		[[ $N_ID == "$D_ID" ]] || fail "attached to the wrong device"
		[[ $(sysfs_attr "$D_ID" driver_pid) == "$N_PID" ]] || fail "driver_pid not updated"
		D_PID=$N_PID
	done
	wait_exit "$fio_pid" || { tail -n 20 /tmp/fio.out >&2; fail "fio failed across recovery"; }
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "last driver failed"
done
unload_kbdus
