#!/bin/bash
# SPDX-License-Identifier: MIT
# Payload buffers from the driver's own memory (ext alloc_buffers and
# free_buffers): over uring and mmap (one allocation for every slot) and
# ioctl (one per serving thread), fio verify passes with every read and
# write buffer inside the driver's memory, and everything allocated is freed
# before terminate(); and the default protocol, when it cannot use uring,
# falls back to mmap with the driver's buffers.
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

# check_trace TRACE MIN MAX: MIN to MAX allocations, all freed (with the
# same sizes) before terminate(), and no request buffer outside them.
check_trace() {
	local trace=$1 min=$2 max=$3 got
	got=$(grep -c '^alloc_buffers ' "$trace")
	((got >= min && got <= max)) ||
		{ cat "$trace" >&2; fail "$got allocations, expected $min to $max"; }
	diff <(sed -n 's/^alloc_buffers //p' "$trace" | sort) \
		<(sed -n 's/^free_buffers //p' "$trace" | sort) >&2 ||
		fail "what was allocated is not what was freed"
	expect_traced "$trace" "buffers-live 0"
	! grep -q '^buffer-outside\|^free_buffers-unknown' "$trace" ||
		fail "a request buffer outside the driver's memory, or an unknown free"
	# Freed before terminate(): nothing comes after it.
	[[ $(tail -n 1 "$trace") == terminate ]] || fail "trace ends with $(tail -n 1 "$trace")"
}

load_kbdus

# check_one_region PROTOCOL DEPTH: over PROTOCOL, 2 queues of DEPTH slots
# get one allocation, of 2 x DEPTH slots of max_read_write_size (a page
# multiple here), and fio verify passes.
check_one_region() {
	local protocol=$1 depth=$2 max_rw size
	info "$protocol: one allocation for every slot"
	rm -f /tmp/db.trace
	test_driver R --driver-buffers --protocol "$protocol" --queues 2 \
		--queue-depth "$depth" --concurrency 2 --trace /tmp/db.trace 32M
	[[ $(bdus info --protocol "$R_ID") == "$protocol" ]] ||
		fail "not served over $protocol"
	max_rw=$(bdus info --max-read-write-size "$R_ID")
	fio_verify "$R_DEV" --rw=randrw --bsrange=4k-128k --iodepth=16 --size=16M ||
		fail "fio verify over $protocol with the driver's buffers"
	bdus destroy "$R_ID"
	wait_exit "$R_PID" || fail "the driver exited with $?: $(cat "$R_ERR")"
	check_trace /tmp/db.trace 1 1
	size=$(sed -n 's/^alloc_buffers //p' /tmp/db.trace)
	((size == 2 * depth * max_rw)) ||
		fail "$protocol asked for $size bytes, not $((2 * depth)) x $max_rw"
}

check_one_region uring 16
check_one_region mmap 8

info "ioctl: one allocation per serving thread"
rm -f /tmp/db.trace
test_driver I --driver-buffers --protocol ioctl --concurrency 2 \
	--trace /tmp/db.trace 32M
fio_verify "$I_DEV" --rw=randrw --bsrange=4k-128k --iodepth=16 --size=16M ||
	fail "fio verify over ioctl with the driver's buffers"
bdus destroy "$I_ID"
wait_exit "$I_PID" || fail "the driver exited with $?: $(cat "$I_ERR")"
# Both workers, and the thread that served the partition scan before them.
check_trace /tmp/db.trace 2 3

if [[ -w /proc/sys/kernel/io_uring_disabled ]]; then
	info "the default protocol without io_uring falls back to mmap"
	echo 2 >/proc/sys/kernel/io_uring_disabled
	trap 'echo 0 >/proc/sys/kernel/io_uring_disabled' EXIT
	rm -f /tmp/db.trace
	test_driver D --driver-buffers --trace /tmp/db.trace 8M
	[[ $(bdus info --protocol "$D_ID") == mmap ]] ||
		fail "fell back to $(bdus info --protocol "$D_ID")"
	fio_verify "$D_DEV" --rw=randwrite --bs=4k --iodepth=8 --size=4M ||
		fail "fio verify after the fallback"
	bdus destroy "$D_ID"
	wait_exit "$D_PID" || fail "the driver exited with $?: $(cat "$D_ERR")"
	check_trace /tmp/db.trace 1 1
	echo 0 >/proc/sys/kernel/io_uring_disabled
	trap - EXIT
else
	info "no kernel.io_uring_disabled: skipping the fallback check"
fi
unload_kbdus
