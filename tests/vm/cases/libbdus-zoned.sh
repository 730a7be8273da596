#!/bin/bash
# SPDX-License-Identifier: MIT
# Zoned devices through libbdus: bdus-zoned (the example driver) over each
# protocol: the geometry Linux and bdus info see, writes that follow the write pointer
# and fail elsewhere, the open limit (ETOOMANYREFS), fio --zonemode=zbd
# with crc32c verify; and a zoned btrfs over uring, whose data writes are
# zone appends that bdus-zoned places: files checked after a remount, and
# a clean scrub.
# timeout: 900
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

if command -v mkfs.btrfs >/dev/null && modprobe btrfs 2>/dev/null; then
	info "a zoned btrfs on bdus-zoned"
	foreground_driver B bdus-zoned --protocol uring --concurrency 2 --zone-size 4M --log 128M
	zoned_btrfs "$B_DEV"
	# btrfs writes data with zone appends: they reached the driver.
	grep -q "zone_append" "$B_ERR" || fail "no zone append reached bdus-zoned"
	bdus destroy "$B_ID"
	wait_exit "$B_PID" || fail "the driver exited with $?: $(cat "$B_ERR")"
else
	info "no mkfs.btrfs or btrfs module: skipping btrfs"
fi
unload_kbdus
