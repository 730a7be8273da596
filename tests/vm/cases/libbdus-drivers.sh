#!/bin/bash
# SPDX-License-Identifier: MIT
# The example drivers as users run them: bdus-ram and bdus-zero daemonize and
# print their path, with uring as the default protocol; fio verifies data
# over every protocol with worker threads; a file system works; bdus
# info/list/flush/destroy see the right things and destroying a device ends
# its driver.
# timeout: 900
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

load_kbdus
[[ $(bdus version --kbdus) == "kbdus   0.1.3" ]] || fail "bdus version: $(bdus version)"

info "bdus-ram, default protocol"
dev=$(bdus-ram 16M)
id=${dev#/dev/bdus-}
[[ $(bdus info --protocol --queues "$id" | tr '\n' ' ') == "uring 1 " ]] ||
	fail "default bdus-ram: $(bdus info --protocol --queues "$id")"
pid=$(bdus info --driver-pid "$id")
[[ $(cat "/proc/$pid/comm" 2>/dev/null) == bdus-ram ]] || fail "driver pid $pid is not bdus-ram"
[[ $(ps -o sid= -p "$pid" | tr -d ' ') == "$pid" ]] || fail "the daemon did not leave the terminal's session"
fio_verify "$dev" --rw=randwrite --bs=4k --iodepth=16 --size=8M || fail "fio verify on default bdus-ram"
bdus destroy "$id" || fail "bdus destroy"
wait_for "[[ ! -e /proc/$pid ]]" 10 || fail "bdus-ram kept running"

for protocol in $PROTOCOLS; do
	info "bdus-ram, $protocol protocol"
	dev=$(bdus-ram --protocol "$protocol" --concurrency 4 --queues 2 64M)
	[[ $dev == /dev/bdus-* ]] || fail "bdus-ram printed '$dev'"
	id=${dev#/dev/bdus-}
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	pgrep -x bdus-ram >/dev/null || fail "no bdus-ram process in the background"

	fields=$(bdus info --id --size --protocol --queues --state --recoverable "$dev" | tr '\n' ' ')
	[[ $fields == "$id 67108864 $protocol 2 active false " ]] || fail "bdus info: $fields"
	bdus list | grep -Eq "^bdus-$id +$dev +64 MiB +active +$protocol " || fail "bdus list: $(bdus list)"
	bdus list --json | grep -q "\"id\":$id," || fail "bdus list --json: $(bdus list --json)"

	fio_verify "$dev" --rw=randwrite --bs=4k --iodepth=32 --ioengine=libaio --size=48M ||
		fail "fio verify on bdus-ram ($protocol)"
	mkfs.ext4 -q -F "$dev"
	mkdir -p /tmp/mnt
	mount "$dev" /tmp/mnt
	echo hello >/tmp/mnt/file
	umount /tmp/mnt
	bdus flush "$id" || fail "bdus flush"
	mount "$dev" /tmp/mnt
	[[ $(cat /tmp/mnt/file) == hello ]] || fail "file content lost"
	umount /tmp/mnt

	bdus destroy "$dev" || fail "bdus destroy"
	[[ ! -e $dev ]] || fail "$dev still exists"
	expect_error "bdus-$id: the device no longer exists" bdus info "$id"
	wait_for "! pgrep -x bdus-ram >/dev/null" 10 || fail "bdus-ram kept running"
done

info "bdus-zero"
dev=$(bdus-zero --queues 2 --concurrency 2 1T)
wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
[[ $(blockdev --getsize64 "$dev") == 1099511627776 ]] || fail "bdus-zero size"
dd if=/dev/urandom of="$dev" bs=1M count=4 oflag=direct status=none
cmp -n 4194304 "$dev" /dev/zero || fail "bdus-zero did not read zeros"
bdus destroy --no-flush "$dev"
wait_for "! pgrep -x bdus-zero >/dev/null" 10 || fail "bdus-zero kept running"

unload_kbdus
