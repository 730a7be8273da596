#!/bin/bash
# SPDX-License-Identifier: MIT
# The example drivers carry real file systems.  For bdus-ram and bdus-loop
# (over a sparse tmpfs file), each over every protocol: fio crc32c
# verification with a backlog at several block sizes, then file systems are
# made, checked, mounted, filled with random files and checked again after a
# remount (and, for bdus-loop, on a new device made from the same file):
# ext4 and xfs over uring (the default), ext4 over ioctl, xfs over mmap.
# Every protocol carries both elsewhere (kbdus-fio-verify, libbdus-*); the
# file systems only add their request mix, which this covers.
# bdus-zero reads zeros whatever was written to it.
# timeout: 1500
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

# xfsprogs >= 5.19 refuses file systems under 300 MB.  bdus-ram only uses
# memory where data is written, and the loop file is sparse.
size=320M
img=/tmp/fs.img
mnt=/tmp/mnt
mkdir -p "$mnt"
# A failed check must not leave a file system holding the device (and kbdus).
trap 'if mountpoint -q "$mnt"; then umount "$mnt" || true; fi' EXIT

# start DRIVER PROTOCOL: starts the driver as users do (it daemonizes) and
# sets dev, id and pid.
start() {
	local what=$1 protocol=$2
	local opts=(--protocol "$protocol" --queues 2 --concurrency 2)
	case $what in
	ram) dev=$(bdus-ram "${opts[@]}" "$size") ;;
	loop) dev=$(bdus-loop "${opts[@]}" "$img") ;;
	esac
	[[ $dev == /dev/bdus-* ]] || fail "bdus-$what printed '$dev'"
	id=${dev#/dev/bdus-}
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	[[ $(bdus info --size --protocol "$id" | tr '\n' ' ') == "335544320 $protocol " ]] ||
		fail "bdus-$what: bdus info: $(bdus info --size --protocol "$id")"
	pid=$(bdus info --driver-pid "$id")
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "bdus-$what" ]] ||
		fail "driver pid $pid of $dev is not bdus-$what"
}

stop() {
	bdus destroy "$id" || fail "bdus destroy $id"
	wait_for "[[ ! -e /proc/$pid ]]" 20 || fail "bdus-$what ($pid) outlived its device"
	[[ ! -e $dev ]] || fail "$dev still exists after bdus destroy"
}

fs_check() {
	case $1 in
	ext4) fsck.ext4 -fn "$dev" >/tmp/fsck.out 2>&1 ;;
	xfs) xfs_repair -n "$dev" >/tmp/fsck.out 2>&1 ;;
	esac || { tail -n 20 /tmp/fsck.out >&2; fail "$label: $1 check of $dev failed ($2)"; }
}

# Files of random data, some in a directory, some of odd sizes, made once
# and unpacked with one tar: every exec costs here (TCG, binaries over 9p).
mkdir -p /tmp/files/dir
dd if=/dev/urandom of=/tmp/files/a bs=1M count=3 status=none
dd if=/dev/urandom of=/tmp/files/dir/b bs=1M count=1 status=none
dd if=/dev/urandom of=/tmp/files/dir/c bs=12345 count=3 status=none
for i in 1 2 3 4 5 6 7 8; do
	dd if=/dev/urandom of=/tmp/files/dir/small$i bs=$((i * 1000 + 7)) count=1 status=none
done
tar -cf /tmp/files.tar -C /tmp/files .
(cd /tmp/files && find . -type f | sort | xargs sha256sum) >/tmp/sums
[[ $(wc -l </tmp/sums) -eq 11 ]] || fail "made $(wc -l </tmp/sums) files"

fill() {
	tar -xf /tmp/files.tar -C "$mnt" || fail "$label: writing files"
}

compare() {
	(cd "$mnt" && sha256sum --quiet -c /tmp/sums) >/tmp/sums.out 2>&1 ||
		{ cat /tmp/sums.out >&2; fail "$label: files changed $1"; }
	[[ $(find "$mnt" -type f | wc -l) -eq 11 ]] ||
		fail "$label: the file system has other files $1"
}

load_kbdus
for what in ram loop; do
	for protocol in $PROTOCOLS; do
		label="bdus-$what $protocol"
		info "$label"
		if [[ $what == loop ]]; then
			rm -f "$img"
			truncate -s "$size" "$img"
		fi
		start "$what" "$protocol"

		# One fio, three jobs one after another (each fio start costs
		# here): random 4k, sequential 128k, random mixed sizes.
		verify=(--filename="$dev" --direct=1 --ioengine=libaio --verify=crc32c
			--verify_fatal=1 --do_verify=1 --stonewall)
		fio_verify "$dev" --rw=randwrite --bs=4k --iodepth=16 --size=4M \
			--verify_backlog=512 \
			--name=seq "${verify[@]}" --rw=write --bs=128k --iodepth=16 \
			--size=16M --offset=100M --verify_backlog=32 \
			--name=mixed "${verify[@]}" --rw=randwrite --iodepth=24 \
			--bssplit=512/20:4k/40:64k/30:1m/10 --size=8M --offset=200M \
			--verify_backlog=64 || fail "$label: fio"
		# All three ran and read back all they wrote.
		[[ $(sed -n 's/^ *READ: .*io=\([^ ]*\) .*/\1/p' /tmp/fio.out | tr '\n' ' ') == \
			"4096KiB 16.0MiB 8192KiB " ]] ||
			{ cat /tmp/fio.out >&2; fail "$label: fio did not verify all it wrote"; }

		case $protocol in
		ioctl) filesystems="ext4" ;;
		mmap) filesystems="xfs" ;;
		*) filesystems="ext4 xfs" ;;
		esac
		for fs in $filesystems; do
			label="bdus-$what $protocol $fs"
			info "$label"
			case $fs in
			ext4) mkfs.ext4 -q -F "$dev" ;;
			xfs) mkfs.xfs -q -f "$dev" ;;
			esac >/tmp/mkfs.out 2>&1 || { cat /tmp/mkfs.out >&2; fail "$label: mkfs"; }
			mount -t "$fs" "$dev" "$mnt" || fail "$label: mount"
			fill
			umount "$mnt" || fail "$label: umount"
			fs_check "$fs" "after writing"

			# Nothing may come from caches: the data must be read
			# back from the driver.
			echo 3 >/proc/sys/vm/drop_caches
			blockdev --flushbufs "$dev"
			mount -t "$fs" "$dev" "$mnt" || fail "$label: remount"
			compare "after a remount"
			umount "$mnt" || fail "$label: umount"

			if [[ $what == loop ]]; then
				# The data is in the file: a new device sees it.
				stop
				start loop "$protocol"
				mount -t "$fs" "$dev" "$mnt" || fail "$label: mount on a new device"
				compare "on a new device"
				umount "$mnt" || fail "$label: umount"
			fi
		done
		stop
	done
done
rm -f "$img"

for protocol in $PROTOCOLS; do
	label="bdus-zero $protocol"
	info "$label"
	dev=$(bdus-zero --protocol "$protocol" --queues 2 --concurrency 2 64G)
	id=${dev#/dev/bdus-}
	wait_for "[[ -b $dev ]]" 10 || fail "$label: $dev did not appear"
	pid=$(bdus info --driver-pid "$id")
	what=zero
	# Writes are ignored: whatever fio writes, every read returns zeros.
	run_fio --filename="$dev" --ioengine=libaio --rw=randwrite --bs=64k \
		--iodepth=16 --size=32M --offset=1G || fail "$label: fio write"
	fio --name=zeros --filename="$dev" --direct=1 --ioengine=libaio --readonly \
		--rw=randread --bssplit=4k/50:64k/40:1m/10 --iodepth=16 --size=64M \
		--offset=1G --verify=pattern --verify_pattern=0x00 --verify_only=1 \
		--verify_fatal=1 >/tmp/fio.out 2>&1 ||
		{ tail -n 20 /tmp/fio.out >&2; fail "$label: reads returned non-zero data"; }
	grep -Eq 'READ: .*io=64\.0MiB' /tmp/fio.out ||
		{ cat /tmp/fio.out >&2; fail "$label: fio did not read 64 MiB"; }
	stop
done
unload_kbdus
