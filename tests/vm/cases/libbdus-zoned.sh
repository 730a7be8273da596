#!/bin/bash
# SPDX-License-Identifier: MIT
# Zoned devices through libbdus: bdus-zoned (the example driver) over each
# protocol: the geometry Linux and bdus info see, writes that follow the write pointer
# and fail elsewhere, the open limit (ETOOMANYREFS), fio --zonemode=zbd
# with crc32c verify; and a zoned btrfs over uring, whose data writes are
# zone appends that bdus-zoned places: files checked after a remount, and
# a clean scrub; a zoned f2fs over mmap.  Recoverable (bdus-zoned --store): a kill -9 and a rerun
# keep every zone's condition and write pointer and the data; a zoned btrfs
# whose driver is replaced live while it writes (its zone appends in
# flight) keeps its files.
# timeout: 1200
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"
source "$BDUS_ROOT/tests/vm/testlib-zoned.sh"

ZONE=$((1 << 20))

load_kbdus
for protocol in ioctl mmap uring; do
	info "$protocol: bdus-zoned"
	foreground_driver Z bdus-zoned --protocol "$protocol" --concurrency 2 --zone-size 1M \
		--conventional 1 --max-open 3 32M
	q=/sys/block/bdus-$Z_ID/queue
	[[ $(cat $q/zoned) == host-managed ]] || fail "zoned: $(cat $q/zoned)"
	(($(cat $q/nr_zones) == 32 && $(cat $q/max_open_zones) == 3)) ||
		fail "$(cat $q/nr_zones) zones, $(cat $q/max_open_zones) open"
	bdus info "$Z_ID" | grep -q "zone model *host-managed" ||
		fail "bdus info: $(bdus info "$Z_ID")"
	bdus info "$Z_ID" | grep -q "zones *1 MiB x 32 (1 conventional)" ||
		fail "bdus info: $(bdus info "$Z_ID")"
	expect_zone "$Z_DEV" 1 1 0
	write_at "$Z_DEV" $ZONE 8192 || fail "a write at the write pointer failed"
	expect_zone "$Z_DEV" 1 2 16
	! write_at "$Z_DEV" $((ZONE + 4096)) 4096 || fail "a write behind the pointer worked"
	for zone in 2 3; do
		blkzone open -o $((zone * 2048)) -c 1 "$Z_DEV" || fail "open zone $zone"
	done
	# Zone 1 is implicitly open: the third explicit open closes it.
	blkzone open -o $((4 * 2048)) -c 1 "$Z_DEV" || fail "open zone 4"
	expect_zone "$Z_DEV" 1 4 16
	out=$(blkzone open -o $((5 * 2048)) -c 1 "$Z_DEV" 2>&1) &&
		fail "a fourth zone opened past max_open_zones 3"
	grep -qi "too many references" <<<"$out" || fail "opening a fourth zone: $out"
	blkzone reset "$Z_DEV" || fail "reset of every zone"
	fio_verify "$Z_DEV" --zonemode=zbd --rw=write --bs=64k --offset=$ZONE \
		--size=$((8 * ZONE)) --ioengine=psync || fail "$protocol: fio zbd verify"
	bdus destroy "$Z_ID"
	wait_exit "$Z_PID" || fail "the driver exited with $?: $(cat "$Z_ERR")"
done

info "recovery: zone state survives the driver"
rm -f /dev/shm/zstore
foreground_driver R bdus-zoned --protocol uring --concurrency 2 --recoverable \
	--store /dev/shm/zstore --zone-size 1M --conventional 1 --max-open 3 32M
dd if=/dev/urandom of=/tmp/zdata bs=8k count=1 status=none
dd if=/tmp/zdata of="$R_DEV" bs=8k seek=$((ZONE / 8192)) oflag=direct status=none ||
	fail "a write at the write pointer failed"
blkzone open -o $((2 * 2048)) -c 1 "$R_DEV" || fail "open zone 2"
blkzone finish -o $((3 * 2048)) -c 1 "$R_DEV" || fail "finish zone 3"
kill -9 "$R_PID"
wait "$R_PID" 2>/dev/null || true
wait_for "[[ \$(bdus info --state $R_ID) == inactive ]]" 10 ||
	fail "state $(bdus info --state "$R_ID") after the driver died"
truncate -s 1M /dev/shm/zstore-other
expect_error "another geometry's store" \
	bdus-zoned --foreground --rerun "$R_ID" --store /dev/shm/zstore-other
rm -f /dev/shm/zstore-other
foreground_driver N bdus-zoned --rerun "$R_ID" --store /dev/shm/zstore
expect_zone "$R_DEV" 1 2 16 # implicitly open, 8 KiB written
expect_zone "$R_DEV" 2 3 0 # explicitly open
expect_zone "$R_DEV" 3 14 2048 # full
cmp <(dd if="$R_DEV" bs=8k skip=$((ZONE / 8192)) count=1 iflag=direct status=none) \
	/tmp/zdata || fail "data lost across recovery"
write_at "$R_DEV" $((ZONE + 8192)) 4096 || fail "a write at the kept write pointer failed"
expect_zone "$R_DEV" 1 2 24
bdus destroy "$R_ID"
wait_exit "$N_PID" || fail "the second driver exited with $?: $(cat "$N_ERR")"
rm -f /dev/shm/zstore

if command -v mkfs.btrfs >/dev/null && modprobe btrfs 2>/dev/null; then
	info "a zoned btrfs on bdus-zoned"
	foreground_driver B bdus-zoned --protocol uring --concurrency 2 --zone-size 4M --log 128M
	zoned_btrfs "$B_DEV"
	# btrfs writes data with zone appends: they reached the driver.
	grep -q "zone_append" "$B_ERR" || fail "no zone append reached bdus-zoned"
	bdus destroy "$B_ID"
	wait_exit "$B_PID" || fail "the driver exited with $?: $(cat "$B_ERR")"

	info "a zoned btrfs whose driver is replaced live while it writes"
	rm -f /dev/shm/bstore
	foreground_driver B bdus-zoned --protocol uring --concurrency 2 --recoverable \
		--store /dev/shm/bstore --zone-size 4M 128M
	mkfs.btrfs -q -f -O zoned -d single -m single "$B_DEV" >/tmp/mkfs.out 2>&1 ||
		fail "mkfs.btrfs -O zoned: $(cat /tmp/mkfs.out)"
	mkdir -p /tmp/zmnt
	mount -t btrfs "$B_DEV" /tmp/zmnt || fail "mount"
	(for i in $(seq 1 24); do
		dd if=/dev/urandom of=/tmp/zmnt/f$i bs=256k count=4 conv=fsync \
			status=none || exit 1
	done) &
	writer=$!
	wait_io "$B_DEV"
	foreground_driver M bdus-zoned --rerun "$B_ID" --protocol uring --concurrency 2 \
		--store /dev/shm/bstore --log
	wait_exit "$B_PID" || fail "the replaced driver exited with $?: $(cat "$B_ERR")"
	wait_exit "$writer" || fail "writing files across the replacement failed"
	grep -q "zone_append" "$M_ERR" || fail "no zone append reached the new driver"
	(cd /tmp/zmnt && sha256sum f*) >/tmp/zsums
	umount /tmp/zmnt || fail "umount"
	zoned_files_check btrfs "$B_DEV"
	zoned_scrub
	bdus destroy "$B_ID"
	wait_exit "$M_PID" || fail "the new driver exited with $?: $(cat "$M_ERR")"
	rm -f /dev/shm/bstore
else
	info "no mkfs.btrfs or btrfs module: skipping btrfs"
fi

if command -v mkfs.f2fs >/dev/null && modprobe f2fs 2>/dev/null; then
	info "a zoned f2fs on bdus-zoned"
	foreground_driver F bdus-zoned --protocol mmap --concurrency 2 --zone-size 4M \
		--conventional 16 512M
	zoned_f2fs "$F_DEV"
	bdus destroy "$F_ID"
	wait_exit "$F_PID" || fail "the driver exited with $?: $(cat "$F_ERR")"
else
	info "no mkfs.f2fs or f2fs module: skipping f2fs"
fi
unload_kbdus
