#!/bin/bash
# SPDX-License-Identifier: MIT
# Partitions on the example drivers, which leave partition scanning on: a
# GPT written with sfdisk on a bdus-ram device shows up as /dev/bdus-Np1..p3
# of the right offsets and sizes; data written through a partition is at its
# offset on the whole device and the other way round; ext4 on a partition
# survives a remount without touching its neighbours.  A bdus-loop device
# made from a copy of that disk finds the partitions when it is created, and
# a new DOS table replaces them on a re-read.  A device has 256 minors, as in
# BDUS 0.1.2: its 20th partition is still on the disk's major, at the disk's
# minor + 20, and the disk's minor is a multiple of 256.
# timeout: 420
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

mnt=/tmp/mnt
mkdir -p "$mnt"
# A failed check must not leave a file system holding the device (and kbdus).
trap 'if mountpoint -q "$mnt"; then umount "$mnt" || true; fi' EXIT
MiB=1048576

# check_parts DEV START,SIZE...: the partitions of DEV are exactly these
# (in MiB).
check_parts() {
	local dev=$1 name=${1#/dev/} n=0 want
	shift
	for want in "$@"; do
		n=$((n + 1))
		wait_for "[[ -b ${dev}p$n ]]" 10 || fail "${dev}p$n did not appear: $(ls /dev/bdus-*)"
		local start size
		start=$(cat "/sys/block/$name/${name}p$n/start")
		size=$(blockdev --getsize64 "${dev}p$n")
		[[ $((start * 512 / MiB)),$((size / MiB)) == "$want" ]] ||
			fail "${dev}p$n: start $start sectors, $size bytes; expected $want MiB"
	done
	local parts
	parts=$(find /sys/block/"$name"/ -maxdepth 1 -name "${name}p*" | wc -l)
	[[ $parts -eq $n ]] || fail "$dev has $parts partitions, not $n"
	[[ ! -e ${dev}p$((n + 1)) ]] || fail "${dev}p$((n + 1)) exists"
}

# same FILE1 OFFSET1 FILE2 OFFSET2 BYTES: byte ranges (offsets in bytes) are
# equal, read with O_DIRECT from block devices.
same() {
	cmp <(dd if="$1" bs=64k skip="$2" count="$5" iflag=direct,skip_bytes,count_bytes status=none) \
		<(dd if="$3" bs=64k skip="$4" count="$5" iflag=direct,skip_bytes,count_bytes status=none)
}

load_kbdus
dev=$(bdus-ram --concurrency 2 64M)
id=${dev#/dev/bdus-}
wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
bdus info --json "$id" | grep -q '"partition_scanning":true' ||
	fail "bdus-ram does not scan partitions: $(bdus info --json "$id")"
[[ ! -e ${dev}p1 ]] || fail "${dev}p1 exists before any partition table"

info "GPT with three partitions"
sfdisk -q "$dev" >/tmp/sfdisk.out 2>&1 <<EOF || { cat /tmp/sfdisk.out >&2; fail "sfdisk (gpt)"; }
label: gpt
start=1MiB, size=24MiB, name=fs
start=25MiB, size=8MiB, name=raw
start=40MiB, size=16MiB, name=tail
EOF
check_parts "$dev" 1,24 25,8 40,16
[[ $(sfdisk --part-label "$dev" 2) == raw ]] || fail "partition 2 label: $(sfdisk --part-label "$dev" 2)"

info "data through partitions and the whole device"
dd if=/dev/urandom of=/tmp/raw bs=1M count=8 status=none
dd if=/tmp/raw of="${dev}p2" bs=1M oflag=direct status=none || fail "write to ${dev}p2"
same "${dev}p2" 0 "$dev" $((25 * MiB)) $((8 * MiB)) || fail "${dev}p2 data is not at 25 MiB on $dev"
cmp /tmp/raw "${dev}p2" || fail "${dev}p2 did not read back"
dd if=/dev/urandom of=/tmp/tail bs=1M count=3 status=none
dd if=/tmp/tail of="$dev" bs=1M seek=50 oflag=direct status=none || fail "write to $dev"
same "$dev" $((50 * MiB)) "${dev}p3" $((10 * MiB)) $((3 * MiB)) ||
	fail "data at 50 MiB on $dev is not at 10 MiB in ${dev}p3"
expect_error "No space left" dd if=/dev/zero of="${dev}p2" bs=1M seek=8 count=1 oflag=direct

info "ext4 on ${dev}p1"
mkfs.ext4 -q -F "${dev}p1" >/tmp/mkfs.out 2>&1 || { cat /tmp/mkfs.out >&2; fail "mkfs.ext4"; }
fsck.ext4 -fn "${dev}p1" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out >&2; fail "fsck after mkfs"; }
mount "${dev}p1" "$mnt" || fail "mount ${dev}p1"
grep -q "^${dev}p1 $mnt ext4 " /proc/mounts || fail "${dev}p1 is not mounted: $(grep bdus /proc/mounts)"
dd if=/dev/urandom of="$mnt/a" bs=1M count=5 status=none
dd if=/dev/urandom of="$mnt/b" bs=4321 count=7 status=none
(cd "$mnt" && sha256sum a b) >/tmp/sums
umount "$mnt"
fsck.ext4 -fn "${dev}p1" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out >&2; fail "fsck after writing"; }
echo 3 >/proc/sys/vm/drop_caches
mount "${dev}p1" "$mnt" || fail "remount ${dev}p1"
(cd "$mnt" && sha256sum --quiet -c /tmp/sums) || fail "files on ${dev}p1 changed across a remount"
umount "$mnt"
# The file system stayed inside its partition.
cmp /tmp/raw "${dev}p2" || fail "ext4 on ${dev}p1 overwrote ${dev}p2"
same "$dev" $((50 * MiB)) "${dev}p3" $((10 * MiB)) $((3 * MiB)) || fail "${dev}p3 changed"
# The ext4 superblock (magic 0xEF53 at 1080) is at 1 MiB on the disk.
[[ $(dd if="$dev" bs=1 skip=$((MiB + 1080)) count=2 status=none | od -An -tx1 | tr -d ' ') == 53ef ]] ||
	fail "no ext4 superblock at 1 MiB + 1024 on $dev"

info "bdus-loop scans partitions when it creates its device"
dd if="$dev" of=/tmp/disk.img bs=1M iflag=direct status=none
bdus destroy "$id" || fail "bdus destroy"
wait_for "[[ ! -e ${dev}p1 && ! -e $dev ]]" 10 || fail "$dev or its partitions outlived the device"
dev=$(bdus-loop --protocol ioctl /tmp/disk.img)
id=${dev#/dev/bdus-}
# No re-read: the partitions must be there as soon as the device is.
[[ -b ${dev}p1 && -b ${dev}p3 ]] || fail "no partitions when bdus-loop announced $dev"
check_parts "$dev" 1,24 25,8 40,16
cmp /tmp/raw "${dev}p2" || fail "${dev}p2 on bdus-loop"
mount "${dev}p1" "$mnt" || fail "mount ${dev}p1 of bdus-loop"
(cd "$mnt" && sha256sum --quiet -c /tmp/sums) || fail "files on ${dev}p1 of bdus-loop"
umount "$mnt"

info "a DOS table replaces the GPT"
sfdisk -q --wipe always "$dev" >/tmp/sfdisk.out 2>&1 <<EOF || { cat /tmp/sfdisk.out >&2; fail "sfdisk (dos)"; }
label: dos
start=2048, size=16MiB, type=83
start=36864, size=32MiB, type=83
EOF
wait_for "[[ ! -e ${dev}p3 ]]" 10 || fail "${dev}p3 of the old table is still there"
check_parts "$dev" 1,16 18,32
[[ $(sfdisk --dump "$dev" | grep -c "^${dev}p") -eq 2 ]] || fail "sfdisk --dump: $(sfdisk --dump "$dev")"
# Only the tables were written: the old p2's data, at 25 MiB on the disk,
# is now 7 MiB into the new p2.
same "$dev" $((25 * MiB)) "${dev}p2" $((7 * MiB)) $((8 * MiB)) ||
	fail "the old ${dev}p2 data is not at 7 MiB in the new ${dev}p2"
info "20 partitions, all in the device's 256 minors"
{
	echo "label: gpt"
	for i in $(seq 20); do echo "size=1MiB"; done
} | sfdisk -q --wipe always "$dev" >/tmp/sfdisk.out 2>&1 || { cat /tmp/sfdisk.out >&2; fail "sfdisk (20)"; }
wait_for "[[ -b ${dev}p20 ]]" 10 || fail "no ${dev}p20"
read -r major minor < <(stat -c '%t %T' "$dev")
read -r pmajor pminor < <(stat -c '%t %T' "${dev}p20")
((16#$minor % 256 == 0)) || fail "the disk's minor $((16#$minor)) is not a multiple of 256"
[[ $pmajor == "$major" ]] && ((16#$pminor == 16#$minor + 20)) ||
	fail "${dev}p20 is $((16#$pmajor)):$((16#$pminor)), not on $((16#$major)):$((16#$minor + 20))"
bdus destroy "$id" || fail "bdus destroy"
wait_for "[[ ! -e ${dev}p1 && ! -e $dev ]]" 10 || fail "$dev or its partitions outlived the device"
wait_for "! pgrep -x bdus-loop >/dev/null" 10 || fail "bdus-loop kept running"
rm -f /tmp/disk.img
unload_kbdus
