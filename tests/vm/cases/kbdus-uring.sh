#!/bin/bash
# SPDX-License-Identifier: MIT
# io_uring protocol specifics: bad commands (queue, tag, buffer, result,
# opcode, not owned, FETCH of a posted slot, double COMMIT, second thread)
# get error CQEs; closing the ring or exiting with commands posted cancels
# them and ends the session; STOP gives a queue's posted commands back (the
# session then ends while the driver lives); slots posted without a buffer
# (GET_DATA fetches a write's data, COMMIT answers from any memory, a
# timed-out request is stale); 60 s of random commands mixed into a working
# server leave the kernel clean.
# timeout: 400
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
uapi-uring bad || fail "bad-command checks failed"
wait_for '[[ -z $(uapi-ctl list) ]]' 30 || fail "a device outlived its driver"

id=$(uapi-uring close-ring) || fail "close-ring failed"
wait_for "[[ ! -e /dev/bdus-$id ]]" 30 || fail "device stayed after its ring closed"

uapi-uring stop || fail "STOP checks failed"
uapi-uring late || fail "GET_DATA / COMMIT checks failed"
wait_for '[[ -z $(uapi-ctl list) ]]' 30 || fail "a device outlived its driver after late"

uapi-uring fuzz 60 "${FUZZ_SEED:-$RANDOM}" || fail "fuzzer failed"
wait_for '[[ -z $(uapi-ctl list) ]]' 30 || fail "device left after fuzzing"

start_driver D --protocol uring --size $((16 << 20))
fio_verify "$D_DEV" --rw=randwrite --bs=4k --iodepth=16 --size=8M || fail "verify after fuzzing"
uapi-ctl destroy "$D_ID"
wait_exit "$D_PID" || fail "driver failed"
unload_kbdus
