#!/bin/bash
# SPDX-License-Identifier: MIT
# A driver binary as BDUS 0.1.x built them (abi-0.1-driver: unversioned
# references to bdus_run_0_1_1_ and the other versioned entry points) runs
# with this libbdus: it creates a device that holds data, finds its id,
# flushes it, answers ioctls written with 0.1.x's direction convention (the
# command that hands it data is an _IOR), refuses a takeover through the
# extended API, is replaced through bdus_rerun_0_1_1_ after being killed,
# and destroys it.
source "$BDUS_ROOT/tests/vm/testlib.sh"

drv=abi-0.1-driver
if nm -D "$(command -v $drv)" | grep -q ' U bdus_run_0_1_1_@'; then
	fail "$drv references versioned symbols: not built as 0.1.x binaries are"
fi
load_kbdus
[[ $($drv version) == "0.1.3 0.1.3" ]] || fail "versions: $($drv version)"

dev=$($drv run 16777216)
[[ $dev == /dev/bdus-* ]] || fail "$drv run printed '$dev'"
wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
id=$($drv id "$dev")
[[ $id == "${dev#/dev/bdus-}" ]] || fail "$drv id: $id"

head -c 8M /dev/urandom >/tmp/data
dd if=/tmp/data of="$dev" bs=1M oflag=direct status=none
$drv flush "$id" || fail "flush"
cmp <(dd if="$dev" bs=1M count=8 iflag=direct status=none) /tmp/data || fail "data read back differs"

info "ioctls in 0.1.x's convention"
$drv set "$dev" hello || fail "set: the _IOR did not reach the driver"
[[ $($drv get "$dev") == hello ]] || fail "get: the _IOW brought back '$($drv get "$dev")'"
expect_error "direction convention" bdus-test-driver --foreground --rerun "$id"
[[ $(bdus info --state "$id") == active ]] || fail "a refused takeover disturbed the device"

info "kill the driver, then bdus_rerun_0_1_1_"
pid=$(bdus info --driver-pid "$id")
kill -9 "$pid"
wait_for "[[ \$(bdus info --state $id) == inactive ]]" 10 || fail "state: $(bdus info --state "$id")"
[[ $($drv rerun "$id") == "$dev" ]] || fail "rerun did not print $dev"
wait_for "[[ \$(bdus info --state $id) == active ]]" 10 || fail "state after rerun: $(bdus info --state "$id")"
dd if=/tmp/data of="$dev" bs=1M oflag=direct status=none
cmp <(dd if="$dev" bs=1M count=8 iflag=direct status=none) /tmp/data || fail "data read back differs after rerun"

$drv destroy "$id" || fail "destroy"
[[ ! -e $dev ]] || fail "$dev still exists"
expect_error "the device no longer exists" bdus info "$id"
