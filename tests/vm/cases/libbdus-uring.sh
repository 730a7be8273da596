#!/bin/bash
# SPDX-License-Identifier: MIT
# The uring protocol's thread layouts, for concurrency C and queues Q: one
# ring on the calling thread (C = 1, any Q), ring threads running their own
# callbacks (1 < C <= Q) and ring threads feeding a pool (C > Q).  Each one
# passes fio verification, has the threads the layout says, never runs more
# than C callbacks at once (and, with a pool, more than Q), never runs one
# off the calling thread when it must not, and stops on bdus_abort, giving
# its commands back so that the device goes while the process lives.  With
# io_uring disabled (sysctl, Linux >= 6.6) the default protocol falls back to
# mmap for bdus_run and bdus_rerun, and an explicit uring request fails
# before it disturbs anything.
# timeout: 900
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

threads_of() { ls "/proc/$1/task" | wc -l; }

load_kbdus
# "C Q threads" before any load: the VM has 2 CPUs, so kbdus allows at most
# 2 queues.  A pool (C > Q) starts empty and grows only while callbacks
# block (libbdus-workers tests that); the 1 ms callbacks below do.
for layout in "1 1 1" "1 2 1" "2 2 3" "2 1 2" "3 2 3"; do
	read -r c q threads <<<"$layout"
	label="concurrency $c, queues $q"
	info "$label"
	trace=/tmp/trace-$c-$q
	rm -f "$trace"
	test_driver D --protocol uring --concurrency "$c" --queues "$q" \
		--delay-ms 1 --trace "$trace" 16M
	[[ $(bdus info --protocol --queues "$D_ID" | tr '\n' ' ') == "uring $q " ]] ||
		fail "$label: bdus info: $(bdus info --protocol --queues "$D_ID")"
	wait_for "[[ \$(threads_of $D_PID) -eq $threads ]]" 10 ||
		fail "$label: $(threads_of "$D_PID") threads, expected $threads"

	fio_verify "$D_DEV" --rw=randwrite --bs=4k --iodepth=16 --numjobs=2 \
		--size=4M --offset_increment=4M || fail "$label: fio verify"
	bdus destroy "$D_ID"
	wait_exit "$D_PID" || fail "$label: driver exited with $?: $(cat "$D_ERR")"
	! grep -q off-main-thread "$trace" ||
		fail "$label: a callback ran off the thread that called bdus_run"
	max=$(sed -n 's/^max-concurrency //p' "$trace")
	[[ -n $max ]] && ((max >= 1 && max <= c)) ||
		fail "$label: $max callbacks ran at once"
	if ((c > q)); then
		((max > q)) || fail "$label: the pool never ran more than $max callbacks at once"
	fi
	info "$label: at most $max callbacks at once"

	info "$label: abort"
	test_driver A --protocol uring --concurrency "$c" --queues "$q" \
		--abort-after 20 --linger 1M
	dd if="$A_DEV" of=/dev/null bs=4k count=64 iflag=direct status=none 2>/dev/null || true
	wait_for "grep -q bdus_abort $A_ERR" 30 || fail "$label: no abort message: $(cat "$A_ERR")"
	# bdus_run() took its commands back before returning: the session ends
	# while the process lives on (before Linux 6.7 io_uring alone would
	# cancel them only when the thread exits).
	wait_for "[[ ! -e $A_DEV ]]" 10 || fail "$label: the device outlived the failed bdus_run()"
	kill -0 "$A_PID" 2>/dev/null || fail "$label: the lingering driver exited"
	kill "$A_PID"
	wait "$A_PID" 2>/dev/null || true
done

if [[ ! -w /proc/sys/kernel/io_uring_disabled ]]; then
	info "no kernel.io_uring_disabled: skipping the fallback checks"
	unload_kbdus
	exit 0
fi

info "io_uring disabled"
rm -f /dev/shm/store
test_driver R --recoverable --store /dev/shm/store 4M
[[ $(bdus info --protocol "$R_ID") == uring ]] || fail "the default protocol is not uring"
dd if=/dev/urandom of=/tmp/block bs=4k count=1 status=none
dd if=/tmp/block of="$R_DEV" bs=4k seek=3 oflag=direct status=none
echo 2 >/proc/sys/kernel/io_uring_disabled
trap 'echo 0 >/proc/sys/kernel/io_uring_disabled' EXIT

expect_error "io_uring is disabled" \
	bdus-test-driver --foreground --rerun "$R_ID" --store /dev/shm/store --protocol uring
[[ $(bdus info --state --driver-pid "$R_ID" | tr '\n' ' ') == "active $R_PID " ]] ||
	fail "a refused uring rerun disturbed the running driver"
expect_error "io_uring is disabled" bdus-test-driver --foreground --protocol uring 4M
[[ $(bdus list | wc -l) -eq 1 ]] || fail "a refused uring run left a device: $(bdus list)"

test_driver N --rerun "$R_ID" --store /dev/shm/store
wait_exit "$R_PID" || fail "the replaced driver exited with $?"
[[ $(bdus info --state --protocol "$R_ID" | tr '\n' ' ') == "active mmap " ]] ||
	fail "rerun without io_uring: $(bdus info --state --protocol "$R_ID")"
cmp <(dd if="$R_DEV" bs=4k skip=3 count=1 iflag=direct status=none) /tmp/block ||
	fail "data lost across the rerun"

test_driver F 4M
[[ $(bdus info --protocol "$F_ID") == mmap ]] || fail "bdus_run without io_uring did not fall back to mmap"
dev=$(bdus-ram 4M)
[[ $(bdus info --protocol "${dev#/dev/bdus-}") == mmap ]] || fail "bdus-ram without io_uring"
bdus destroy "$dev"
bdus destroy "$F_ID"
bdus destroy "$R_ID"
wait_exit "$F_PID" || fail "driver exited with $?"
wait_exit "$N_PID" || fail "driver exited with $?"
unload_kbdus
