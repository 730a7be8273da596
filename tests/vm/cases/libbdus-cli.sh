#!/bin/bash
# SPDX-License-Identifier: MIT
# The bdus command against the real module: versions, errors naming the
# device and the reason, permissions, partitions, exit codes.
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

expect_status() {
	local want=$1 rc=0
	shift
	"$@" >/tmp/out 2>&1 || rc=$?
	[[ $rc -eq $want ]] || fail "'$*' exited with $rc, not $want: $(cat /tmp/out)"
}

lsmod | grep -q '^kbdus ' && rmmod kbdus
expect_status 1 bdus version --kbdus
grep -q '^bdus: kbdus is not loaded' /tmp/out || fail "bdus version --kbdus: $(cat /tmp/out)"
bdus version 2>/dev/null >/tmp/out && fail "bdus version succeeded without kbdus"
[[ $(cat /tmp/out) == $'bdus    0.1.3\nlibbdus 0.1.3' ]] || fail "bdus version: $(cat /tmp/out)"
expect_error "kbdus is not loaded" bdus list

load_kbdus
[[ -z $(bdus list) ]] || fail "bdus list is not empty: $(bdus list)"
[[ $(bdus list --json) == "[]" ]] || fail "bdus list --json: $(bdus list --json)"
# kbdus was just loaded: no device ever had id 7 (BDUS 0.1: an error).
expect_error "bdus-7: the device does not exist" bdus info 7
expect_status 1 bdus destroy 7
grep -q '^bdus: bdus-7: the device does not exist$' /tmp/out || fail "bdus destroy 7: $(cat /tmp/out)"
expect_status 2 bdus info
expect_error "permission denied opening /dev/bdus-control: run as root" \
	setpriv --reuid=65534 --regid=65534 --clear-groups bdus list
expect_error "run as root" \
	setpriv --reuid=65534 --regid=65534 --clear-groups bdus-ram --foreground 1M
expect_error "logical_block_size must be a power of two" bdus-ram --logical-block-size 768 1M

test_driver D 8M
printf 'label: dos\n,4M\n' | sfdisk -q "$D_DEV" || fail "sfdisk"
blockdev --rereadpt "$D_DEV" || true
wait_for "[[ -b ${D_DEV}p1 ]]" 10 || fail "no partition node"
expect_error "a partition of bdus-$D_ID, not the device itself" bdus info "${D_DEV}p1"
[[ $(bdus info --id "$D_DEV") == "$D_ID" ]] || fail "lookup by path"
ln -s "$D_DEV" /tmp/link
[[ $(bdus info --id /tmp/link) == "$D_ID" ]] || fail "lookup through a symlink"
expect_error "/dev/null: not a block device" bdus info /dev/null
[[ $(bdus info --driver-pid "$D_ID") == "$D_PID" ]] ||
	fail "driver pid $(bdus info --driver-pid "$D_ID"), expected $D_PID"
bdus destroy "bdus-$D_ID" || fail "bdus destroy"
wait_exit "$D_PID" || fail "driver exited with $?"
# A destroyed device counts as destroyed (exit 0, as BDUS 0.1).
expect_status 0 bdus destroy "$D_ID"
grep -q "^bdus: bdus-$D_ID: the device no longer exists" /tmp/out || fail "bdus destroy $D_ID again: $(cat /tmp/out)"
expect_error "bdus-$D_ID: the device no longer exists" bdus info "$D_ID"
unload_kbdus
