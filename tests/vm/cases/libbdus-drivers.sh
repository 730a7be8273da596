#!/bin/bash
# SPDX-License-Identifier: MIT
# The example drivers as users run them: bdus-ram and bdus-zero daemonize and
# print their path; fio verifies data over both protocols with worker
# threads; a file system works; bdus info/list/flush/destroy see the right
# things and destroying a device ends its driver.
# timeout: 900
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

load_kbdus
[[ $(bdus version --kbdus) == "kbdus   0.1.3" ]] || fail "bdus version: $(bdus version)"

for protocol in ioctl mmap; do
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
	expect_error "bdus-$id: no such device" bdus info "$id"
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
