#!/bin/bash
# SPDX-License-Identifier: MIT
# The sync API's pool follows the load (uring, more callbacks than queues):
# with callbacks that sleep 5 ms under fio at QD32, threads start until
# callbacks overlap, never beyond --concurrency (traced by the driver), and
# end again within a second of the load stopping; data stays verified.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }

load_kbdus
rm -f /tmp/trace
test_driver D --concurrency 16 --delay-ms 5 --trace /tmp/trace 32M
wait_for "[[ \$(threads_of $D_PID) == 2 ]]" 10 ||
	fail "$(threads_of "$D_PID") threads before any load, expected 2 (bdus_run's and the ring's)"

fio --name=load --filename="$D_DEV" --direct=1 --ioengine=libaio --rw=randread \
	--bs=4k --iodepth=32 --time_based --runtime=8 >/tmp/fio.out 2>&1 &
fio_pid=$!
most=2
while kill -0 "$fio_pid" 2>/dev/null; do
	n=$(threads_of "$D_PID")
	((n > most)) && most=$n
	sleep 0.2
done
wait_exit "$fio_pid" || { tail -n 20 /tmp/fio.out >&2; fail "fio failed"; }
info "at most $most threads under load"
((most >= 6)) || fail "the pool did not grow: at most $most threads"
# bdus_run's thread, one ring thread, and at most 16 pool threads.
((most <= 18)) || fail "$most threads, more than --concurrency allows"
wait_for "[[ \$(threads_of $D_PID) == 2 ]]" 10 ||
	fail "the pool did not shrink: $(threads_of "$D_PID") threads after the load"

fio_verify "$D_DEV" --rw=randwrite --bs=4k --iodepth=32 --size=4M ||
	fail "fio verify with a growing pool"
bdus destroy "$D_ID"
wait_exit "$D_PID" || fail "the driver exited with $?: $(cat "$D_ERR")"
concurrency=$(sed -n 's/^max-concurrency //p' /tmp/trace)
info "at most $concurrency callbacks at once"
((concurrency >= 4 && concurrency <= 16)) ||
	fail "max-concurrency $concurrency, expected 4 to 16"
unload_kbdus
