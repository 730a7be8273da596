#!/bin/bash
# SPDX-License-Identifier: MIT
# 64 devices at once; the 65th is refused with ENOSPC (max_devices=64);
# all are destroyed and the module unloads.
# timeout: 400
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus max_devices=64
pids=()
for i in $(seq 0 63); do
	start_driver D --protocol ioctl --size $((1 << 20)) --depth 2
	[[ $D_ID == "$i" ]] || fail "device $i got id $D_ID"
	pids+=("$D_PID")
done

[[ $(uapi-ctl list | wc -l) == 64 ]] || fail "list does not show 64 devices"
expect_error "No space left on device" uapi-ram --protocol ioctl --size $((1 << 20))

echo hello | dd of=/dev/bdus-63 oflag=direct conv=sync bs=512 status=none
[[ $(head -c 5 /dev/bdus-63) == hello ]] || fail "device 63 does not work"

for i in $(seq 0 63); do uapi-ctl trigger --no-flush "$i"; done
for i in $(seq 0 63); do uapi-ctl wait "$i"; done
for pid in "${pids[@]}"; do wait_exit "$pid" || fail "a driver failed"; done
[[ -z $(ls /dev/bdus-[0-9]* 2>/dev/null) ]] || fail "device nodes left"
unload_kbdus
