#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 of a non-recoverable bdus-ram (daemonized, as users run it) under
# fio, over every protocol: fio fails with EIO within seconds instead of
# hanging or waiting for the request timeout, the device and its sysfs entry
# go away, and bdus list and bdus info no longer know it.  The same with an
# ext4 file system mounted and being written: writes fail, the file system
# can still be unmounted, and the device then goes away.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

mnt=/tmp/mnt
mkdir -p "$mnt"
# A failed check must not leave a file system holding the device (and kbdus).
trap 'if mountpoint -q "$mnt"; then umount "$mnt" || true; fi' EXIT

# start PROTOCOL: sets dev, id and pid.
start() {
	dev=$(bdus-ram --protocol "$1" --queues 2 --concurrency 2 64M)
	id=${dev#/dev/bdus-}
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	pid=$(bdus info --driver-pid "$id")
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == bdus-ram ]] ||
		fail "driver pid $pid of $dev is not bdus-ram"
	[[ $(bdus info --recoverable "$id") == false ]] || fail "$dev is recoverable"
}

# Requests (reads and writes) the device has completed.
io_count() { awk '{ print $1 + $5 }' "/sys/block/bdus-$id/stat"; }

# Waits until the device served $1 more requests than it had; fio starts
# slowly here (TCG, binaries over 9p), and killing the driver before it
# opened the device would test nothing.
wait_io() {
	local base
	base=$(io_count)
	wait_for "(( \$(io_count) >= $base + $1 ))" 60 || fail "$2: no I/O reached $dev"
}

gone() {
	wait_for "[[ ! -e $dev && ! -e /sys/block/bdus-$id ]]" 20 ||
		fail "$1: $dev did not go away: $(bdus list)"
	wait_for "[[ ! -e /proc/$pid ]]" 10 || fail "$1: the killed driver $pid is still there"
	[[ -z $(bdus list) ]] || fail "$1: bdus list still shows: $(bdus list)"
	[[ $(bdus list --json) == "[]" ]] || fail "$1: bdus list --json: $(bdus list --json)"
	expect_error "bdus-$id: the device no longer exists" bdus info "$id"
}

load_kbdus
for protocol in $PROTOCOLS; do
	info "fio, $protocol"
	start "$protocol"
	# The timeout is long: fio must end because the driver died, not
	# because its requests timed out.
	[[ $(bdus info --request-timeout "$id") == 30000 ]] || fail "request timeout"
	fio --name=io --filename="$dev" --direct=1 --ioengine=libaio --rw=randrw \
		--bssplit=4k/60:64k/40 --iodepth=16 --numjobs=2 --time_based \
		--runtime=120 >/tmp/fio.out 2>&1 &
	fio_pid=$!
	wait_io 500 "$protocol"
	running "$fio_pid" || { cat /tmp/fio.out >&2; fail "$protocol: fio ended before the kill"; }
	kill -9 "$pid"
	start_s=$SECONDS
	if wait_exit "$fio_pid"; then fail "$protocol: fio succeeded although the driver died"; fi
	((SECONDS - start_s < 15)) || fail "$protocol: fio took $((SECONDS - start_s)) s to fail"
	grep -q "Input/output error" /tmp/fio.out || { cat /tmp/fio.out >&2; fail "$protocol: no EIO"; }
	gone "$protocol"
done

info "mounted ext4"
start uring
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4"
mount "$dev" "$mnt" || fail "mount"
(
	i=0
	while dd if=/dev/urandom of="$mnt/f$((i % 8))" bs=256k count=4 conv=fsync status=none; do
		i=$((i + 1))
	done
	exit 1 # only a failed write ends the loop
) 2>/tmp/writer.err &
writer=$!
wait_io 50 "mounted ext4"
running "$writer" || { cat /tmp/writer.err >&2; fail "the writer ended before the kill"; }
kill -9 "$pid"
start_s=$SECONDS
wait_exit "$writer" && fail "the writer went on although the driver died"
((SECONDS - start_s < 15)) || fail "the writer took $((SECONDS - start_s)) s to fail"
grep -Eq "Input/output error|Read-only file system" /tmp/writer.err ||
	fail "the writer failed with: $(cat /tmp/writer.err)"
# The device is dead but the file system holds it: unmounting must work.
if ! timeout 30 umount "$mnt"; then
	umount -l "$mnt" || true
	fail "umount of the dead device's file system failed"
fi
gone "mounted ext4"
unload_kbdus
