#!/bin/bash
# SPDX-License-Identifier: MIT
# Host-managed zoned devices through the raw interface (uapi-ram --zoned,
# which enforces write pointers, conditions and the open and active limits
# as ZBC does), over each protocol:
#   - Linux sees the geometry and limits the device was created with;
#   - blkzone report follows the driver's state through writes, open,
#     close, finish, reset of one zone and of all;
#   - a write not at the write pointer, or to a full zone, fails; opening
#     more zones than max_open_zones fails with ETOOMANYREFS;
#   - fio --zonemode=zbd writes with crc32c verify and reads at random;
#   - a driver whose zone report is impossible gets no device, and dmesg
#     says which zone;
#   - a recoverable zoned device whose driver dies holding writes: the
#     write to a sequential zone, which the driver had applied, fails with
#     EIO rather than being applied twice; the write to a conventional zone
#     waits for the next driver, which serves it.
# Zone appends have no user-space interface on a block device: a zoned
# btrfs makes them, in libbdus-zoned.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-zoned.sh"

ZONE=$((1 << 20)) # 32 zones of 1 MiB (2048 sectors), 2 conventional
ZONE_ARGS=(--size $((32 << 20)) --zoned $ZONE --conventional 2 --max-open 4
	--max-active 6)

load_kbdus
for protocol in $PROTOCOLS; do
	info "$protocol: geometry"
	start_driver Z --protocol "$protocol" --threads 2 "${ZONE_ARGS[@]}"
	q=/sys/block/bdus-$Z_ID/queue
	[[ $(cat $q/zoned) == host-managed ]] || fail "zoned: $(cat $q/zoned)"
	(($(cat $q/chunk_sectors) == 2048 && $(cat $q/nr_zones) == 32)) ||
		fail "zones of $(cat $q/chunk_sectors) sectors, $(cat $q/nr_zones) of them"
	(($(cat $q/max_open_zones) == 4 && $(cat $q/max_active_zones) == 6)) ||
		fail "limits $(cat $q/max_open_zones) open, $(cat $q/max_active_zones) active"
	(($(blkzone report "$Z_DEV" | wc -l) == 32)) || fail "report: $(blkzone report "$Z_DEV")"
	(($(blkzone report "$Z_DEV" | grep -c CONVENTIONAL) == 2)) ||
		fail "not 2 conventional zones: $(blkzone report -c 3 "$Z_DEV")"
	expect_zone "$Z_DEV" 2 1 0

	info "$protocol: writes follow the write pointer"
	write_at "$Z_DEV" $((2 * ZONE)) 65536 || fail "a write at the write pointer failed"
	expect_zone "$Z_DEV" 2 2 128 # implicitly open
	! write_at "$Z_DEV" $((2 * ZONE)) 4096 || fail "a write behind the write pointer worked"
	! write_at "$Z_DEV" $((3 * ZONE + 4096)) 4096 || fail "a write past the write pointer worked"
	# Neither moved a write pointer.  (Linux 6.12 also wants a zone
	# report after a failed write before it sends that zone more, as
	# file systems do.)
	expect_zone "$Z_DEV" 2 2 128
	expect_zone "$Z_DEV" 3 1 0
	write_at "$Z_DEV" $((1 * ZONE + 8192)) 4096 || fail "a write to a conventional zone failed"
	write_at "$Z_DEV" $((2 * ZONE + 65536)) 4096 || fail "a second write at the write pointer failed"
	expect_zone "$Z_DEV" 2 2 136

	info "$protocol: zone management"
	blkzone close -o $((2 * 2048)) -c 1 "$Z_DEV" || fail "close"
	expect_zone "$Z_DEV" 2 4 136
	blkzone finish -o $((2 * 2048)) -c 1 "$Z_DEV" || fail "finish"
	expect_zone "$Z_DEV" 2 14 2048
	! write_at "$Z_DEV" $((2 * ZONE)) 4096 || fail "a write to a full zone worked"
	blkzone reset -o $((2 * 2048)) -c 1 "$Z_DEV" || fail "reset"
	expect_zone "$Z_DEV" 2 1 0
	for zone in 2 3 4 5; do
		blkzone open -o $((zone * 2048)) -c 1 "$Z_DEV" || fail "open zone $zone"
		expect_zone "$Z_DEV" "$zone" 3 0
	done
	out=$(blkzone open -o $((6 * 2048)) -c 1 "$Z_DEV" 2>&1) &&
		fail "a fifth zone opened past max_open_zones 4"
	grep -qi "too many references" <<<"$out" || fail "opening a fifth zone: $out"
	blkzone reset "$Z_DEV" || fail "reset of every zone"
	for zone in 2 3 4 5; do expect_zone "$Z_DEV" "$zone" 1 0; done

	info "$protocol: fio --zonemode=zbd"
	fio_verify "$Z_DEV" --zonemode=zbd --rw=write --bs=64k --offset=$((2 * ZONE)) \
		--size=$((8 * ZONE)) --ioengine=psync ||
		fail "fio zbd sequential write with verify"
	run_fio --filename="$Z_DEV" --zonemode=zbd --rw=randread --bs=4k \
		--offset=$((2 * ZONE)) --size=$((8 * ZONE)) --ioengine=psync \
		--number_ios=200 || fail "fio zbd random reads"
	uapi-ctl destroy "$Z_ID"
	wait_exit "$Z_PID" || fail "$protocol: driver failed"

	info "$protocol: a recoverable zoned device loses its driver mid-write"
	rm -f /dev/shm/zdisk /tmp/zlog
	start_driver R --protocol "$protocol" --threads 2 --recoverable \
		--backing /dev/shm/zdisk --stall write --log /tmp/zlog "${ZONE_ARGS[@]}"
	dd if=/dev/urandom of=/tmp/zblock bs=4k count=1 status=none
	dd if=/tmp/zblock of="$R_DEV" bs=4k seek=$((2 * ZONE / 4096)) oflag=direct \
		status=none 2>/tmp/seq.err &
	seq_pid=$!
	dd if=/tmp/zblock of="$R_DEV" bs=4k seek=$((ZONE / 4096 + 3)) oflag=direct \
		status=none 2>/tmp/conv.err &
	conv_pid=$!
	# uapi-ram logs a request once it applied it, then never answers.
	wait_for "grep -q '^write $((2 * ZONE)) 4096' /tmp/zlog &&
		grep -q '^write $((ZONE + 3 * 4096)) 4096' /tmp/zlog" 30 ||
		fail "the driver did not get both writes: $(cat /tmp/zlog)"
	kill -9 "$R_PID"
	wait "$R_PID" 2>/dev/null || true
	wait_for "[[ \$(sysfs_attr $R_ID state) == inactive ]]" 10 ||
		fail "state $(sysfs_attr "$R_ID" state) after the driver died"
	wait_for "! kill -0 $seq_pid 2>/dev/null" 20 ||
		fail "the write to a sequential zone waits to be delivered again"
	! wait_exit "$seq_pid" || fail "the write to a sequential zone succeeded"
	grep -q "Input/output error" /tmp/seq.err || fail "sequential write: $(cat /tmp/seq.err)"
	sleep 1
	kill -0 "$conv_pid" 2>/dev/null ||
		fail "the write to a conventional zone did not wait for a driver"
	start_driver N --protocol "$protocol" --threads 2 --attach "$R_ID" \
		--backing /dev/shm/zdisk "${ZONE_ARGS[@]}"
	wait_exit "$conv_pid" || fail "the conventional write failed: $(cat /tmp/conv.err)"
	cmp <(dd if="$N_DEV" bs=4k skip=$((ZONE / 4096 + 3)) count=1 iflag=direct \
		status=none) /tmp/zblock || fail "the conventional write's data"
	uapi-ctl destroy "$R_ID"
	wait_exit "$N_PID" || fail "$protocol: the second driver failed"
done

info "an impossible zone report"
! run_background BAD 1 uapi-ram --protocol uring "${ZONE_ARGS[@]}" --bad-report ||
	fail "a device with an impossible zone report became available"
wait_exit "$BAD_PID" || fail "the driver failed after the refused report"
dmesg | grep -q "reported an impossible start or length for zone 0" ||
	fail "dmesg: $(dmesg | tail -n 5)"
wait_for '[[ -z $(uapi-ctl list) ]]' 30 || fail "devices left behind"
unload_kbdus
