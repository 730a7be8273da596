# SPDX-License-Identifier: MIT
# Helpers for the tests of the asynchronous API (libbdus-aio*).

# aio_driver PREFIX COUNT ARGS...: runs bdus-test-aio ARGS in the
# background and waits for its COUNT device paths.  Sets PREFIX_PID,
# PREFIX_OUT (its stdout: paths, then "closed <id>" lines), PREFIX_ERR and
# PREFIX_DEVS (an array).
aio_driver() {
	local prefix=$1 count=$2 out_var
	shift 2
	run_background "$prefix" "$count" bdus-test-aio "$@" ||
		fail "bdus-test-aio $* made no $count devices"
	out_var=${prefix}_OUT
	[[ $(grep -c '^/dev/' "${!out_var}") -ge $count ]] ||
		fail "bdus-test-aio $* printed: $(cat "${!out_var}")"
	mapfile -t "${prefix}_DEVS" < <(grep '^/dev/' "${!out_var}")
}

# The process's threads, but io_uring's own workers (iou-wrk-*, which run
# blocking file I/O of a ring) and poller threads (iou-sqp-*).
threads_of() { cat /proc/"$1"/task/*/comm | grep -vc '^iou-'; }

# A verify pass on several devices at once, one fio job each.
fio_verify_all() {
	local args=() dev
	for dev in "$@"; do
		args+=(--name="${dev#/dev/}" --filename="$dev")
	done
	fio --direct=1 --ioengine=libaio --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --rw=randwrite --bs=4k --iodepth=16 --size=12M \
		"${args[@]}" >/tmp/fio.out 2>&1 || { tail -n 30 /tmp/fio.out >&2; return 1; }
	! grep -q 'verify: bad' /tmp/fio.out
}

# aio_held_writes_count ARGS...: bdus-test-aio ARGS holds two writes; the
# device is destroyed meanwhile, and both must still complete and reach
# its backing file.
aio_held_writes_count() {
	rm -rf /dev/shm/held && mkdir -p /dev/shm/held
	aio_driver H 1 "$@" --hold 2 --backing /dev/shm/held 4
	dd if=/dev/urandom of=/tmp/block bs=4k count=2 status=none
	dd if=/tmp/block of="${H_DEVS[0]}" bs=4k count=1 seek=3 oflag=direct status=none &
	local w1=$! w2 destroyer
	dd if=/tmp/block of="${H_DEVS[0]}" bs=4k count=1 skip=1 seek=5 oflag=direct status=none &
	w2=$!
	wait_for "[[ \$(grep -c '^held ' $H_OUT) == 2 ]]" 60 || fail "the driver did not get both writes"
	kill -0 "$w1" && kill -0 "$w2" || fail "a held write completed"
	bdus destroy "${H_DEVS[0]#/dev/bdus-}" &
	destroyer=$!
	wait_exit "$w1" || fail "a held write failed"
	wait_exit "$w2" || fail "a held write failed"
	wait_exit "$destroyer" || fail "bdus destroy failed"
	wait_exit "$H_PID" || fail "the holding driver exited with $?: $(cat "$H_ERR")"
	cmp -n 4096 -i 0:12288 /tmp/block /dev/shm/held/dev0 || fail "first held write lost"
	cmp -n 4096 -i 4096:20480 /tmp/block /dev/shm/held/dev0 || fail "second held write lost"
}

# aio_recover_after_kill FIRST_ARGS... -- NEXT_ARGS...: a recoverable
# device of bdus-test-aio FIRST_ARGS gets a block, its driver is killed
# (-9), a read then waits, and bdus-test-aio NEXT_ARGS attaches and serves
# it with the data.  Sets REC_ID; the new driver is N (N_PID, N_OUT, ...).
aio_recover_after_kill() {
	local first=() reader
	while [[ $1 != -- ]]; do first+=("$1"); shift; done
	shift
	rm -rf /dev/shm/rec && mkdir -p /dev/shm/rec
	aio_driver R 1 "${first[@]}" --recoverable --backing /dev/shm/rec 8
	REC_ID=${R_DEVS[0]#/dev/bdus-}
	dd if=/dev/urandom of=/tmp/block bs=4k count=1 status=none
	dd if=/tmp/block of="${R_DEVS[0]}" bs=4k seek=7 oflag=direct status=none
	kill -9 "$R_PID"
	wait "$R_PID" 2>/dev/null || true
	wait_for "[[ \$(bdus info --state $REC_ID) == inactive ]]" 10 ||
		fail "state $(bdus info --state "$REC_ID") after the driver died"
	dd if="${R_DEVS[0]}" of=/tmp/read bs=4k skip=7 count=1 iflag=direct status=none &
	reader=$!
	sleep 1
	kill -0 "$reader" 2>/dev/null || fail "I/O did not wait for a new driver"
	aio_driver N 1 "$@" --attach "$REC_ID" --backing /dev/shm/rec 8
	wait_exit "$reader" || fail "the waiting read failed"
	cmp /tmp/read /tmp/block || fail "data lost across recovery"
	[[ $(bdus info --state "$REC_ID") == active ]] || fail "state $(bdus info --state "$REC_ID") after attach"
}
