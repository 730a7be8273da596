#!/bin/bash
# SPDX-License-Identifier: MIT
# Drivers over a disk that completes from a timer interrupt, as a real one
# does: null_blk keeping its data in memory and ending each request after
# 2 ms.  The same setups as the bench's slow rows (which once panicked a
# 6.12 guest without the memory-error detectors), with the data checked:
#   - bdus-loop --direct (kernel-side passthrough, whose I/O to the disk
#     waits on bios that the interrupt ends) with 1 and 16 callback
#     threads, over every protocol: fio crc32c verification at QD32 through
#     io_uring (io-wq takes what cannot be issued without blocking), and
#     from two synchronous jobs at once;
#   - bdus-aloop --direct (the disk I/O on the ring that carries the BDUS
#     commands): the same verification;
#   - the disk then reads as what the device reads.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"

disk=/dev/nullb0
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	pkill -x bdus-loop || true
	pkill -x bdus-aloop || true
	wait_for "! pgrep -x 'bdus-a?loop' >/dev/null" 20 || true
	if lsmod | grep -q '^null_blk '; then rmmod null_blk || true; fi
}
trap cleanup EXIT

modprobe null_blk nr_devices=1 gb=1 bs=512 memory_backed=1 queue_mode=2 \
	irqmode=2 completion_nsec=2000000 submit_queues=1 hw_queue_depth=64 ||
	skip "no null_blk module"
wait_for "[[ -b $disk ]]" 10 || fail "$disk did not appear"
load_kbdus

# Both kinds of load on the device; fails the test on a verify error.
verify_both() {
	local dev=$1 what=$2
	# Sized for time: every 4k request of the synchronous jobs waits 2 ms.
	fio_verify "$dev" --ioengine=io_uring --rw=randrw --bsrange=4k-128k \
		--iodepth=32 --size=8M --verify_backlog=64 ||
		fail "$what: fio verify at QD32"
	fio_verify "$dev" --ioengine=psync --rw=randwrite --bs=4k --numjobs=2 \
		--offset_increment=8M --size=2M ||
		fail "$what: fio verify from two synchronous jobs"
}

# The device and the disk below must hold the same bytes.
same_as_disk() {
	local dev=$1 what=$2
	cmp <(dd if="$dev" bs=1M count=16 iflag=direct status=none) \
		<(dd if="$disk" bs=1M count=16 iflag=direct status=none) ||
		fail "$what: the device and the disk differ"
}

# protocol:threads; uring, the bench's, with both.
for setup in uring:1 uring:16 ioctl:16 mmap:1; do
	protocol=${setup%:*} concurrency=${setup#*:}
	what="bdus-loop --direct, $protocol, $concurrency threads"
	info "$what"
	dev=$(bdus-loop --protocol "$protocol" --concurrency "$concurrency" \
		--direct "$disk") || fail "$what: bdus-loop failed"
	id=${dev#/dev/bdus-}
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	verify_both "$dev" "$what"
	same_as_disk "$dev" "$what"
	bdus destroy "$id"
	wait_for "[[ ! -e $dev ]]" 20 || fail "$dev did not go away"
done

info "bdus-aloop --direct"
run_background ALOOP 1 bdus-aloop --direct "$disk" || fail "bdus-aloop made no device"
dev=$(head -n 1 "$ALOOP_OUT")
wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
verify_both "$dev" "bdus-aloop"
same_as_disk "$dev" "bdus-aloop"
bdus destroy "${dev#/dev/bdus-}"
wait_exit "$ALOOP_PID" || fail "bdus-aloop exited with $?: $(cat "$ALOOP_ERR")"

wait_for "! pgrep -x bdus-loop >/dev/null" 20 || fail "bdus-loop kept running"
wait_for '[[ -z $(bdus list) ]]' 30 || fail "devices left behind: $(bdus list)"
unload_kbdus
