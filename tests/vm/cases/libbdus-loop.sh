#!/bin/bash
# SPDX-License-Identifier: MIT
# bdus-loop over a tmpfs file, with kernel-side passthrough (the default)
# and with --no-passthrough: data, FUA writes, flush, discard (hole
# punching) and write-zeros (tmpfs has no FALLOC_FL_ZERO_RANGE, so zeros
# are written instead), and a replacement driver keeps the data.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for mode in --passthrough --no-passthrough; do
	info "bdus-loop $mode"
	opts=(--concurrency 2)
	[[ $mode == --no-passthrough ]] && opts+=(--no-passthrough)
	rm -f /tmp/disk.img
	truncate -s 32M /tmp/disk.img
	dev=$(bdus-loop "${opts[@]}" /tmp/disk.img)
	id=${dev#/dev/bdus-}
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	[[ $(bdus info --requests "$id") == *"fua-write flush discard"* ]] ||
		fail "requests: $(bdus info --requests "$id")"

	fio_verify "$dev" --rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio --size=24M ||
		fail "fio verify"
	dd if=/dev/urandom of=/tmp/block bs=64k count=1 status=none
	dd if=/tmp/block of="$dev" bs=64k seek=3 oflag=direct,dsync status=none
	cmp -n 65536 -i 0:196608 /tmp/block /tmp/disk.img || fail "FUA write not in the file"

	blkdiscard -o 196608 -l 65536 "$dev"
	cmp -n 65536 -i 196608:0 /tmp/disk.img /dev/zero || fail "discard left data"
	dd if=/tmp/block of="$dev" bs=64k seek=3 oflag=direct status=none
	blkdiscard -z -o 196608 -l 65536 "$dev"
	cmp -n 65536 -i 196608:0 /tmp/disk.img /dev/zero || fail "write-zeros left data"

	info "replace the driver"
	dd if=/tmp/block of="$dev" bs=64k seek=5 oflag=direct status=none
	old=$(pgrep -x bdus-loop)
	bdus-loop "${opts[@]}" --rerun "$id" /tmp/disk.img >/tmp/rerun.out || fail "bdus-loop --rerun failed"
	wait_for "! kill -0 $old 2>/dev/null" 10 || fail "the old driver kept running"
	cmp -n 65536 <(dd if="$dev" bs=64k skip=5 count=1 iflag=direct status=none) /tmp/block ||
		fail "data lost across replacement"

	bdus destroy "$id"
	wait_for "! pgrep -x bdus-loop >/dev/null" 10 || fail "bdus-loop kept running"
done
unload_kbdus
