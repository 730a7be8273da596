#!/bin/bash
# SPDX-License-Identifier: MIT
# Kernel-side passthrough through libbdus (ext passthrough):
#   - bdus-loop (passthrough by default) over a tmpfs file, on every
#     protocol: fio crc32c verification, the device reads as the file, and
#     the data never entered the driver (its /proc/PID/io counts a few KiB,
#     where --no-passthrough counts every byte);
#   - a driver that passes through some requests and serves the others
#     (bdus-test-driver --passthrough): each goes the right way, kbdus's
#     refusal of a bad mapping fails the request with a logged reason, and a
#     read-only file refuses writes;
#   - a file that shrinks under the device: reads past its end fail;
#   - a block device with 4 KiB sectors under 512-byte blocks: I/O that is
#     not aligned to them goes through its page cache, write-zeros that
#     its fallocate refuses are written, and write-zeros past its end fail
#     with ENOSPC;
#   - a realtime file on XFS, whose realtime device has 4 KiB sectors and
#     its main one 512-byte sectors: the direct I/O that XFS refuses (kbdus
#     sees only the main one) goes through the page cache;
#   - on a device without a write cache, which gets no FLUSH, a passed-
#     through write has reached the device below when it completes, not
#     just that device's page cache;
#   - passthrough onto passthrough: bdus-loop --direct over a file on ext4
#     on another bdus-loop, with 512 requests in flight, more than a
#     workqueue runs at once (one shared by both devices deadlocked);
#   - kill -9 of bdus-loop while passthrough I/O is in flight (to a slow
#     bdus device below it): recoverable, a new driver takes over and fio's
#     verification passes; not recoverable, fio fails, the device goes, and
#     the one below is untouched.
# ext4 and xfs on bdus-loop with passthrough: libbdus-filesystems.
# timeout: 900
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

mnt=/tmp/mnt
mkdir -p "$mnt"
# A failed check must not leave a file system holding a device (and kbdus).
trap 'if mountpoint -q "$mnt"; then umount "$mnt" || true; fi' EXIT

# Bytes a process moved with read and write system calls (and the like).
io_bytes() { awk '$1 == "rchar:" || $1 == "wchar:" { n += $2 } END { print n }' "/proc/$1/io"; }

# bdus-loop --direct of 512-byte blocks over backing (opened O_DIRECT), whose
# direct I/O needs 4 KiB alignment: a 4 KiB write and read at 512 bytes in
# go through its page cache, and the write reaches it.
check_unaligned_direct() {
	local backing=$1 what=$2 dev id
	dev=$(bdus-loop --direct --logical-block-size 512 "$backing")
	id=${dev#/dev/bdus-}
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	dd if=/tmp/blk of="$dev" bs=4k count=1 seek=512 oflag=direct,seek_bytes status=none ||
		fail "a 4 KiB write at 512 bytes, over $what"
	cmp -n 4096 /tmp/blk <(dd if="$dev" bs=4k count=1 skip=512 iflag=direct,skip_bytes status=none) ||
		fail "a 4 KiB read at 512 bytes, over $what"
	bdus destroy "$id"
	wait_for "! pgrep -x bdus-loop >/dev/null" 20 || fail "bdus-loop kept running"
	cmp -n 4096 /tmp/blk <(dd if="$backing" bs=512 count=8 skip=1 status=none) ||
		fail "the write at 512 bytes did not reach $what"
}

load_kbdus

truncate -s 64M /tmp/pt.img
for protocol in $PROTOCOLS; do
	info "bdus-loop, $protocol"
	dev=$(bdus-loop --protocol "$protocol" --queues 2 --concurrency 2 /tmp/pt.img)
	id=${dev#/dev/bdus-}
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	pid=$(bdus info --driver-pid "$id")
	before=$(io_bytes "$pid")
	fio_verify "$dev" --rw=randrw --bsrange=4k-128k --iodepth=16 --size=16M \
		--verify_backlog=64 || fail "$protocol: fio verify"
	moved=$(($(io_bytes "$pid") - before))
	((moved < 1048576)) || fail "$protocol: the driver moved $moved bytes itself"
	cmp <(dd if="$dev" bs=1M iflag=direct status=none) /tmp/pt.img ||
		fail "$protocol: the device does not read as its file"
	bdus destroy "$id"
	wait_for "[[ ! -e /proc/$pid ]]" 20 || fail "bdus-loop outlived its device"
done

info "bdus-loop --no-passthrough moves the data itself"
dev=$(bdus-loop --no-passthrough /tmp/pt.img)
id=${dev#/dev/bdus-}
wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
pid=$(bdus info --driver-pid "$id")
before=$(io_bytes "$pid")
dd if=/dev/urandom of="$dev" bs=1M count=4 oflag=direct status=none
moved=$(($(io_bytes "$pid") - before))
((moved >= 4194304)) || fail "--no-passthrough: the driver moved only $moved bytes"
bdus destroy "$id"
wait_for "[[ ! -e /proc/$pid ]]" 20 || fail "bdus-loop outlived its device"

info "some requests passed through, some served, one refused"
truncate -s 4M /tmp/back.img
rm -f /tmp/trace
test_driver T --trace /tmp/trace --passthrough /tmp/back.img --log 4M
dd if=/dev/urandom of=/tmp/data bs=1M count=2 status=none
dd if=/tmp/data of="$T_DEV" bs=64k oflag=direct status=none
expect_traced /tmp/trace "write 0 65536"
expect_traced /tmp/trace "passthrough 2 1048576 65536"
grep -Eq '^(write|fua_write) 1[0-9]{6} ' /tmp/trace && fail "a write past 1 MiB reached the callback"
cmp -n 1048576 -i 1048576:1048576 /tmp/data /tmp/back.img || fail "passed-through data not in the file"
cmp -n 1048576 /tmp/back.img /dev/zero || fail "served data reached the file"
cmp -n 2097152 <(dd if="$T_DEV" bs=64k count=32 iflag=direct status=none) /tmp/data ||
	fail "the device does not read back what was written"
dd if=/dev/zero of="$T_DEV" bs=4k count=1 seek=300 oflag=direct conv=fsync status=none
expect_traced /tmp/trace "passthrough 64 0 0"
expect_error "Input/output error" dd if="$T_DEV" of=/dev/null bs=4k count=1 skip=600 iflag=direct
wait_for "grep -q 'kbdus refused the passthrough of a read: Invalid argument' $T_ERR" 10 ||
	{ cat "$T_ERR" >&2; fail "the refusal was not logged"; }
kill -0 "$T_PID" || fail "a refused passthrough killed the driver"
bdus destroy "$T_ID"
wait_exit "$T_PID" || fail "bdus-test-driver failed"

info "a read-only file serves reads and refuses writes"
cp /tmp/back.img /tmp/back.before
test_driver R --passthrough-ro /tmp/back.img --log 4M
cmp -n 1048576 <(dd if="$R_DEV" bs=64k skip=16 count=16 iflag=direct status=none) \
	<(dd if=/tmp/back.img bs=64k skip=16 count=16 status=none) || fail "read-only: reads"
expect_error "Input/output error" dd if=/dev/zero of="$R_DEV" bs=4k count=1 seek=300 oflag=direct
wait_for "grep -q 'kbdus refused the passthrough of a write: Bad file descriptor' $R_ERR" 10 ||
	{ cat "$R_ERR" >&2; fail "the read-only refusal was not logged"; }
cmp /tmp/back.before /tmp/back.img || fail "read-only: the file changed"
bdus destroy "$R_ID"
wait_exit "$R_PID" || fail "bdus-test-driver failed"

info "a file that shrinks"
truncate -s 16M /tmp/shrink.img
dev=$(bdus-loop /tmp/shrink.img)
id=${dev#/dev/bdus-}
wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
dd if=/dev/urandom of="$dev" bs=1M count=16 oflag=direct status=none
truncate -s 8M /tmp/shrink.img
dd if="$dev" of=/dev/null bs=1M count=1 skip=4 iflag=direct status=none || fail "a read before the end"
expect_error "Input/output error" dd if="$dev" of=/dev/null bs=1M count=1 skip=12 iflag=direct
bdus destroy "$id"

info "a block device with 4 KiB sectors, under 512-byte blocks"
truncate -s 4M /tmp/4kn.img
disk=$(losetup --sector-size 4096 --find --show /tmp/4kn.img) || fail "losetup"
dd if=/dev/urandom of=/tmp/blk bs=4k count=1 status=none
# O_DIRECT to the disk needs 4 KiB positions: one at 512 bytes in goes
# through its page cache instead.
check_unaligned_direct "$disk" "a disk with 4 KiB sectors"

# Write-zeros: where the disk's fallocate refuses a range that is not
# aligned to its sectors, zeros are written; past its end it fails as a
# write there does, not cut short in silence.
dd if=/dev/urandom of="$disk" bs=1M count=4 oflag=direct status=none
rm -f /tmp/trace
test_driver Z --trace /tmp/trace --passthrough "$disk" --log 8M
# Sectors 2056 to 2059 (in the second MiB, passed through); zeros on two.
dd if="$disk" of=/tmp/before bs=4k count=1 skip=257 iflag=direct status=none
{
	dd if=/tmp/before bs=512 count=1 status=none
	head -c 1024 /dev/zero
	dd if=/tmp/before bs=512 count=1 skip=3 status=none
} >/tmp/expect
blkdiscard -f -z -o $((2057 * 512)) -l 1024 "$Z_DEV" || fail "write-zeros at 512-byte blocks"
expect_traced /tmp/trace "passthrough 8 $((2057 * 512)) 1024"
cmp /tmp/expect <(dd if="$Z_DEV" bs=2k count=1 skip=$((2056 * 512)) iflag=direct,skip_bytes status=none) ||
	fail "write-zeros at 512-byte blocks did not zero just its sectors"
expect_error "No space left on device" blkdiscard -f -z -o $(((4 << 20) - 4096)) -l 8192 "$Z_DEV"
expect_traced /tmp/trace "passthrough 8 $(((4 << 20) - 4096)) 8192"
bdus destroy "$Z_ID"
wait_exit "$Z_PID" || fail "bdus-test-driver failed"
losetup -d "$disk"

# A realtime file's data lives on XFS's realtime device, here of 4 KiB
# sectors, while kbdus can only see the main device, of 512-byte sectors:
# XFS refuses the direct I/O that kbdus finds aligned.
if grep -qx CONFIG_XFS_RT=y "/boot/config-$(uname -r)"; then
	info "direct I/O that XFS refuses goes through its page cache"
	truncate -s 512M /tmp/xfs.img
	truncate -s 64M /tmp/xfs-rt.img
	disk=$(losetup --find --show /tmp/xfs.img) || fail "losetup"
	rtdisk=$(losetup --sector-size 4096 --find --show /tmp/xfs-rt.img) || fail "losetup"
	mkfs.xfs -q -f -s size=4096 -r rtdev="$rtdisk" "$disk" || fail "mkfs.xfs with a realtime device"
	mount -o rtdev="$rtdisk" "$disk" "$mnt" || fail "mount $disk"
	xfs_io -c "chattr +t" "$mnt" || fail "chattr +t" # new files are realtime
	truncate -s 8M "$mnt/back.img"
	xfs_io -c stat "$mnt/back.img" | grep -q 'xflags = 0x[0-9a-f]* \[r' ||
		fail "the file is not realtime: $(xfs_io -c stat "$mnt/back.img" | grep xflags)"
	check_unaligned_direct "$mnt/back.img" "a realtime file"
	umount "$mnt"
	losetup -d "$disk" "$rtdisk"
	rm -f /tmp/xfs.img /tmp/xfs-rt.img
else
	info "skipped: this kernel's XFS has no realtime devices"
fi

# No flush callback, so no write cache: no FLUSH will ever follow a write,
# which must reach the device below (its driver's store) before it
# completes, not wait in that device's page cache.  The device below takes
# 3 s to store a write, so that writeback that starts on its own cannot
# land the data before the check.
info "without a write cache, a passed-through write is stable when it completes"
rm -f /tmp/low.store
test_driver LOW --store /tmp/low.store --write-delay-ms 3000 4M
test_driver NC --ops read,write --passthrough "$LOW_DEV" 4M
dd if=/dev/urandom of=/tmp/blk64 bs=64k count=1 status=none
dd if=/tmp/blk64 of="$NC_DEV" bs=64k seek=16 oflag=direct status=none ||
	fail "a write without a write cache"
cmp -n 65536 -i 0:1048576 /tmp/blk64 /tmp/low.store ||
	fail "a write without a write cache completed before it reached the device below"
bdus destroy "$NC_ID"
wait_exit "$NC_PID" || fail "bdus-test-driver failed"
bdus destroy "$LOW_ID"
wait_exit "$LOW_PID" || fail "the device below's driver failed"

info "passthrough onto passthrough, 512 requests in flight"
truncate -s 128M /tmp/lower.img
lower=$(bdus-loop /tmp/lower.img)
wait_for "[[ -b $lower ]]" 10 || fail "$lower did not appear"
mkfs.ext4 -q "$lower" || fail "mkfs.ext4 $lower"
mount "$lower" "$mnt" || fail "mount $lower"
fallocate -l 32M "$mnt/upper.img"
upper=$(bdus-loop --direct --queue-depth 512 "$mnt/upper.img")
wait_for "[[ -b $upper ]]" 10 || fail "$upper did not appear"
fio_verify "$upper" --rw=randwrite --bs=4k --iodepth=512 --size=8M ||
	fail "fio verify with 512 requests in flight"
bdus destroy "${upper#/dev/bdus-}"
wait_for "[[ ! -e $upper ]]" 20 || fail "$upper did not go away"
umount "$mnt"
bdus destroy "${lower#/dev/bdus-}"
wait_for "! pgrep -x bdus-loop >/dev/null" 20 || fail "bdus-loop kept running"

# kill -9 of bdus-loop while its requests wait, in the kernel, for a slow
# device below it.
for recoverable in true false; do
	info "kill -9 with passthrough I/O in flight, recoverable=$recoverable"
	test_driver LOW --delay-ms 20 --concurrency 4 --queue-depth 32 32M
	opts=(--direct --concurrency 2)
	[[ $recoverable == true ]] && opts+=(--recoverable)
	dev=$(bdus-loop "${opts[@]}" "$LOW_DEV")
	id=${dev#/dev/bdus-}
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	pid=$(bdus info --driver-pid "$id")
	fio_verify "$dev" --rw=randwrite --bs=4k --iodepth=16 --size=4M \
		>/dev/null 2>&1 &
	fio_pid=$!
	wait_io "$dev" 20
	kill -9 "$pid"
	if [[ $recoverable == true ]]; then
		wait_for "[[ \$(bdus info --state $id) == inactive ]]" 20 ||
			fail "state $(bdus info --state "$id") after kill -9"
		bdus-loop --rerun "$id" --direct "$LOW_DEV" >/dev/null ||
			fail "bdus-loop --rerun failed"
		wait_exit "$fio_pid" || fail "fio verify across kill -9 and rerun"
		bdus destroy "$id"
	else
		wait_exit "$fio_pid" && fail "fio succeeded on a dead non-recoverable device"
		wait_for "[[ ! -e $dev ]]" 20 || fail "$dev did not go away"
	fi
	wait_for "! pgrep -x bdus-loop >/dev/null" 20 || fail "bdus-loop kept running"
	dd if="$LOW_DEV" of=/dev/null bs=1M count=4 iflag=direct status=none ||
		fail "the device below stopped working"
	bdus destroy "$LOW_ID"
	wait_exit "$LOW_PID" || fail "the device below's driver failed"
done

wait_for '[[ -z $(bdus list) ]]' 30 || fail "devices left behind: $(bdus list)"
unload_kbdus
