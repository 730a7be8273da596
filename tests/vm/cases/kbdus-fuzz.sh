#!/bin/bash
# SPDX-License-Identifier: MIT
# 60 s of random ioctls against the control device and a live session,
# then every device is torn down, a fresh device still keeps data intact,
# and the module unloads.
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
uapi-fuzz 60 "${FUZZ_SEED:-$RANDOM}" || fail "fuzzer failed"
# Random CREATEs may have made recoverable devices without a driver.
for id in $(uapi-ctl list); do uapi-ctl trigger --no-flush "$id" || true; done
for id in $(uapi-ctl list); do uapi-ctl wait "$id"; done

start_driver D --protocol mmap --size $((16 << 20))
fio_verify "$D_DEV" --rw=randwrite --bs=4k --iodepth=16 --size=8M || fail "verify after fuzzing"
uapi-ctl destroy "$D_ID"
wait_exit "$D_PID" || fail "driver failed"
unload_kbdus
