#!/bin/bash
# SPDX-License-Identifier: MIT
# bdus_abort on a worker thread stops the whole driver; a recoverable device
# survives its driver (killed or aborted) and bdus_rerun takes it over with
# the data and the pending request, replacing a uring driver with an ioctl
# one, live with a uring one, and a killed uring driver with a uring one; a
# non-recoverable device goes with its driver; bdus_rerun refuses an
# inconsistent driver without disturbing the running one.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

load_kbdus

info "abort, non-recoverable"
test_driver A --concurrency 4 --abort-after 20 1M
dd if="$A_DEV" of=/dev/null bs=4k count=64 iflag=direct status=none 2>/dev/null || true
if wait_exit "$A_PID"; then fail "an aborted driver exited with 0"; fi
grep -q "bdus_abort" "$A_ERR" || fail "no abort message: $(cat "$A_ERR")"
wait_for "[[ ! -e $A_DEV ]]" 10 || fail "the device outlived its aborted driver"

info "kill -9, recoverable"
rm -f /dev/shm/store
test_driver R --recoverable --store /dev/shm/store --concurrency 2 4M
dd if=/dev/urandom of=/tmp/block bs=4k count=1 status=none
dd if=/tmp/block of="$R_DEV" bs=4k seek=7 oflag=direct status=none
kill -9 "$R_PID"
wait "$R_PID" 2>/dev/null || true
wait_for "[[ \$(bdus info --state $R_ID) == inactive ]]" 10 ||
	fail "state $(bdus info --state "$R_ID") after the driver died"
dd if="$R_DEV" of=/tmp/read bs=4k skip=7 count=1 iflag=direct status=none &
reader=$!
sleep 1
kill -0 "$reader" 2>/dev/null || fail "I/O did not wait for a new driver"

expect_error "size must be 0 or equal to the device's" \
	bdus-test-driver --foreground --rerun "$R_ID" --store /dev/shm/store 8M
expect_error "the device serves write-zeros requests, so the write_zeros callback is required" \
	bdus-test-driver --foreground --rerun "$R_ID" --ops read,write,flush
[[ $(bdus info --protocol "$R_ID") == uring ]] || fail "the killed driver did not use uring"
test_driver N --rerun "$R_ID" --store /dev/shm/store --protocol ioctl
wait_exit "$reader" || fail "the waiting read failed"
cmp /tmp/read /tmp/block || fail "data lost across recovery"
[[ $(bdus info --state --protocol "$R_ID" | tr '\n' ' ') == "active ioctl " ]] ||
	fail "after rerun: $(bdus info --state --protocol "$R_ID")"

info "live replacement"
test_driver M --rerun "/dev/bdus-$R_ID" --store /dev/shm/store --concurrency 3
wait_exit "$N_PID" || fail "the replaced driver exited with $?: $(cat "$N_ERR")"
[[ $(bdus info --state --protocol "$R_ID" | tr '\n' ' ') == "active uring " ]] ||
	fail "after live rerun: $(bdus info --state --protocol "$R_ID")"
cmp <(dd if="$M_DEV" bs=4k skip=7 count=1 iflag=direct status=none) /tmp/block ||
	fail "data lost across replacement"

info "kill -9 of a uring driver, rerun with uring"
dd if=/dev/urandom of=/tmp/block2 bs=4k count=1 status=none
dd if=/tmp/block2 of="$M_DEV" bs=4k seek=9 oflag=direct status=none
kill -9 "$M_PID"
wait "$M_PID" 2>/dev/null || true
wait_for "[[ \$(bdus info --state $R_ID) == inactive ]]" 10 ||
	fail "state $(bdus info --state "$R_ID") after the uring driver died"
dd if="$M_DEV" of=/tmp/read2 bs=4k skip=9 count=1 iflag=direct status=none &
reader=$!
sleep 1
kill -0 "$reader" 2>/dev/null || fail "I/O did not wait for a new driver"
test_driver U --rerun "$R_ID" --store /dev/shm/store --protocol uring --concurrency 2
wait_exit "$reader" || fail "the waiting read failed"
cmp /tmp/read2 /tmp/block2 || fail "data lost across recovery by uring"
[[ $(bdus info --state --protocol "$R_ID" | tr '\n' ' ') == "active uring " ]] ||
	fail "after uring rerun: $(bdus info --state --protocol "$R_ID")"
bdus destroy "$R_ID"
wait_exit "$U_PID" || fail "the last driver exited with $?"
unload_kbdus
