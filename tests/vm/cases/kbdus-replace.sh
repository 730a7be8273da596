#!/bin/bash
# SPDX-License-Identifier: MIT
# Live replacement: a new driver attaches to an active device; the old one
# gets a flush and then TERMINATE, exits cleanly, and fio verifies across
# every handover.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	rm -f /dev/shm/disk /tmp/old.log
	start_driver D --protocol "$protocol" --size $((64 << 20)) --threads 2 \
		--write-cache --backing /dev/shm/disk --log /tmp/old.log
	fio --name=verify --filename="$D_DEV" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=16 --size=32M --loops=4 \
		--verify=crc32c --verify_fatal=1 >/tmp/fio.out 2>&1 &
	fio_pid=$!
	for round in 1 2 3; do
		# Handover under I/O: 20 more requests first.  A fast host
		# may finish fio before the last handover, which then happens
		# without I/O: waiting for more would never end.
		start=$(io_count "$D_DEV")
		wait_for "(( \$(io_count $D_DEV) >= $start + 20 )) || ! running $fio_pid" 120 ||
			fail "no I/O reached $D_DEV in round $round"
		old_pid=$D_PID
		start_driver N --protocol "$protocol" --threads 2 --attach "$D_ID" \
			--backing /dev/shm/disk
		wait_exit "$old_pid" || fail "replaced driver exited with $?"
		D_PID=$N_PID
	done
	grep -qx "flush 0 0" /tmp/old.log || fail "the replaced driver got no flush"
	wait_exit "$fio_pid" || { tail -n 20 /tmp/fio.out >&2; fail "fio failed across replacement"; }
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "last driver failed"
done
unload_kbdus
