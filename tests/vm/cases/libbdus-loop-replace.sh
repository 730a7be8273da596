#!/bin/bash
# SPDX-License-Identifier: MIT
# A recoverable bdus-loop device keeps serving fio's crc32c-verified random
# writes while its driver is replaced every 2 s, eight times, alternating
# kill -9 and a fresh bdus-loop --rerun (which takes over the dead driver's
# requests) with a live bdus-loop --rerun (the old driver then exits 0 on its
# own), over every protocol in turn (each one both killed and replaced live).
# fio must see no error, and bdus info must follow every driver and state
# change.
# timeout: 420
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

img=/dev/shm/replace.img
rounds=8

# loop_driver ARGS...: bdus-loop --foreground ARGS in the background, once it
# printed its device.  Sets pid, out and err.
loop_driver() {
	run_background LOOP 1 bdus-loop --foreground --concurrency 2 "$@" ||
		fail "bdus-loop $* made no device available"
	pid=$LOOP_PID out=$LOOP_OUT err=$LOOP_ERR
}

# Whether the device has requests in flight.
busy() {
	local reads writes
	read -r reads writes <"/sys/block/bdus-$id/inflight"
	((reads + writes > 0))
}

fio_failed() {
	grep -m 5 '^verify:\|^fio:' /tmp/fio.out >&2 || tail -n 20 /tmp/fio.out >&2
	fail "$@"
}

load_kbdus
rm -f "$img"
truncate -s 64M "$img"
loop_driver --recoverable "$img"
dev=$(head -n 1 "$out")
id=${dev#/dev/bdus-}
wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
[[ $(bdus info --recoverable --driver-pid --state --protocol "$id" | tr '\n' ' ') == "true $pid active uring " ]] ||
	fail "bdus info: $(bdus info --recoverable --driver-pid --state --protocol "$id" | tr '\n' ' ')"
old_err=$err

# fio passes one after another until the replacements are over: random
# writes over 32 MiB, each block read back and checked soon after it is
# written, so that every replacement happens under I/O.  fio only notices a
# block left over from an earlier pass (as a driver serving stale data would
# return) by its write number, which it checks with a fixed block size; and
# each pass needs its own seed, or it writes the very same blocks again.
rm -f /tmp/stop /tmp/passes
(
	pass=0
	while [[ ! -e /tmp/stop ]]; do
		pass=$((pass + 1))
		fio --name=replace --filename="$dev" --direct=1 --ioengine=libaio \
			--rw=randwrite --bs=$((pass % 2 ? 4 : 64))k --iodepth=16 \
			--size=32M --randseed=$((pass * 7919)) --verify=crc32c \
			--verify_backlog=256 --verify_fatal=1 --do_verify=1 \
			>/tmp/fio.out 2>&1 || exit 1
		! grep -q 'verify: bad\|err= *[1-9]' /tmp/fio.out || exit 1
		grep -q 'READ: .*io=32\.0MiB' /tmp/fio.out || exit 2
		echo "$pass" >/tmp/passes
	done
) &
fio_pid=$!
# fio starts slowly here (TCG, binaries over 9p): replace drivers only once
# it is busy.
wait_for "(( \$(awk '{ print \$1 + \$5 }' /sys/block/bdus-$id/stat) >= 500 ))" 60 ||
	fail "fio did no I/O on $dev"

for ((round = 1; round <= rounds; round++)); do
	sleep 2
	running "$fio_pid" || fio_failed "fio failed before replacement $round"
	# Between passes fio is starting up (slowly, here), with no I/O.
	wait_for busy 30 || fail "round $round: no I/O in flight on $dev"
	old=$pid
	# uring (kill), mmap (live), mmap (kill), ioctl (live), ioctl (kill),
	# uring (live), uring (kill), mmap (live)
	protocols=(uring mmap ioctl)
	protocol=${protocols[round / 2 % 3]}
	if ((round % 2)); then
		info "round $round: kill -9, then rerun with $protocol"
		kill -9 "$old"
		rc=0
		wait "$old" || rc=$?
		[[ $rc -eq 137 ]] || fail "round $round: the killed driver exited with $rc"
		wait_for "[[ \$(bdus info --state $id) == inactive ]]" 10 ||
			fail "round $round: state $(bdus info --state "$id") after the driver died"
		[[ $(bdus info --driver-pid "$id") == 0 ]] ||
			fail "round $round: driver pid $(bdus info --driver-pid "$id") with no driver"
		[[ -b $dev ]] || fail "round $round: $dev went away with its recoverable driver"
		loop_driver --rerun "$id" --protocol "$protocol" "$img"
	else
		info "round $round: live rerun with $protocol"
		loop_driver --rerun "$dev" --protocol "$protocol" "$img"
		wait_for "! running $old" 30 || fail "round $round: the replaced driver kept running"
		rc=0
		wait "$old" || rc=$?
		[[ $rc -eq 0 ]] || { cat "$old_err" >&2; fail "round $round: the replaced driver exited with $rc"; }
	fi
	[[ $(head -n 1 "$out") == "$dev" ]] || fail "round $round: the new driver printed $(cat "$out")"
	old_err=$err
	fields=$(bdus info --driver-pid --state --protocol "$id" | tr '\n' ' ')
	[[ $fields == "$pid active $protocol " ]] ||
		fail "round $round: bdus info says '$fields', expected '$pid active $protocol '"
done

touch /tmp/stop
rc=0
wait "$fio_pid" || rc=$?
((rc != 2)) || { cat /tmp/fio.out >&2; fail "fio did not read back every block it wrote"; }
((rc == 0)) || fio_failed "fio failed across the replacements"
info "$(cat /tmp/passes) fio passes"

bdus destroy "$id" || fail "bdus destroy"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || { cat "$err" >&2; fail "the last driver exited with $rc"; }
[[ ! -e $dev ]] || fail "$dev outlived bdus destroy"
rm -f "$img"
unload_kbdus
