#!/bin/bash
# SPDX-License-Identifier: MIT
# The asynchronous API (bdus-aio.h): the bdus-aio-ram example serves two
# devices; bdus-aloop, its file I/O on the same ring as BDUS's commands,
# passes fio verify and holds an ext4 file system (checksums, fsck); then,
# through bdus-test-aio: one thread (and no thread of libbdus's) serves
# four devices, with one pool of 16 payload buffers, under fio verify at
# once, and the others go on when one closes; completions from another thread in
# reverse order; one device served by contexts in two threads, and closed
# whole when one of them closes; misuse is refused; writes still outstanding when the
# device terminates count; a recoverable device survives kill -9 of its
# async driver and another async driver (with a shared pool) recovers it,
# then replaces it
# live, with the data; fio verify survives async and sync drivers replacing
# each other, killed and live; a non-recoverable device goes with its
# driver.
# timeout: 900
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"
source "$BDUS_ROOT/tests/vm/testlib-aio.sh"

load_kbdus

info "bdus-aio-ram: two devices from one thread"
run_background RAM 2 bdus-aio-ram --devices 2 8M || fail "bdus-aio-ram made no devices"
ram_pid=$RAM_PID
mapfile -t ram_devs <"$RAM_OUT"
[[ ${#ram_devs[@]} == 2 ]] || { cat "$RAM_ERR" >&2; fail "bdus-aio-ram printed: ${ram_devs[*]}"; }
for dev in "${ram_devs[@]}"; do
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	fio_verify "$dev" --rw=randwrite --bs=4k --iodepth=16 --size=6M || fail "fio verify on $dev"
	blkdiscard -z "$dev" || fail "write-zeros on $dev"
	cmp -n 8M "$dev" /dev/zero || fail "$dev is not zero after write-zeros"
done
[[ $(threads_of "$ram_pid") == 1 ]] || fail "bdus-aio-ram has $(threads_of "$ram_pid") threads"
expect_error "Try 'bdus-aio-ram --help'" bdus-aio-ram --devices 0 8M
for dev in "${ram_devs[@]}"; do bdus destroy "$dev"; done
wait_exit "$ram_pid" || fail "bdus-aio-ram exited with $?: $(cat "$RAM_ERR")"

info "bdus-aloop: the file's I/O and BDUS's commands on one ring"
truncate -s 64M /tmp/aloop.img
run_background ALOOP 1 bdus-aloop --queue-depth 32 /tmp/aloop.img ||
	fail "bdus-aloop made no device"
aloop_pid=$ALOOP_PID
aloop=$(head -n 1 "$ALOOP_OUT")
wait_for "[[ -b $aloop ]]" 10 || fail "$aloop did not appear"
[[ $(threads_of "$aloop_pid") == 1 ]] || fail "bdus-aloop has $(threads_of "$aloop_pid") threads"
fio_verify "$aloop" --rw=randrw --bs=4k --iodepth=32 --size=16M || fail "fio verify on bdus-aloop"
dd if=/dev/urandom of=/tmp/block bs=64k count=1 status=none
dd if=/tmp/block of="$aloop" bs=64k seek=5 oflag=direct,dsync status=none
cmp -n 65536 -i 0:327680 /tmp/block /tmp/aloop.img || fail "FUA write not in the file"
blkdiscard -o 327680 -l 65536 "$aloop"
cmp -n 65536 -i 327680:0 /tmp/aloop.img /dev/zero || fail "discard left data"
dd if=/tmp/block of="$aloop" bs=64k seek=5 oflag=direct status=none
blkdiscard -z -o 327680 -l 65536 "$aloop"
cmp -n 65536 -i 327680:0 /tmp/aloop.img /dev/zero || fail "write-zeros left data"
mkfs.ext4 -q -F "$aloop" || fail "mkfs.ext4 on bdus-aloop"
mkdir -p /tmp/mnt
mount "$aloop" /tmp/mnt || fail "mount"
for i in 1 2 3; do head -c 3M /dev/urandom >"/tmp/mnt/file$i"; done
(cd /tmp/mnt && sha256sum file*) >/tmp/sums
umount /tmp/mnt
fsck.ext4 -fn "$aloop" >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out >&2; fail "fsck found errors"; }
mount "$aloop" /tmp/mnt || fail "mount again"
(cd /tmp/mnt && sha256sum -c --quiet /tmp/sums) || fail "checksums differ after remount"
umount /tmp/mnt
bdus destroy "$aloop"
wait_exit "$aloop_pid" || fail "bdus-aloop exited with $?: $(cat "$ALOOP_ERR")"

info "bdus-aloop --direct over a block device, its geometry taken"
modprobe brd rd_nr=1 rd_size=16384 max_part=0 || fail "cannot load brd"
wait_for "[[ -b /dev/ram0 ]]" 10 || fail "no /dev/ram0"
run_background ALOOP 1 bdus-aloop --direct /dev/ram0 ||
	fail "bdus-aloop --direct made no device"
aloop_pid=$ALOOP_PID
aloop=$(head -n 1 "$ALOOP_OUT")
wait_for "[[ -b $aloop ]]" 10 || fail "$aloop did not appear"
[[ $(blockdev --getsize64 "$aloop") == $(blockdev --getsize64 /dev/ram0) ]] ||
	fail "size $(blockdev --getsize64 "$aloop"), not /dev/ram0's"
[[ $(blockdev --getss "$aloop") == $(blockdev --getss /dev/ram0) ]] ||
	fail "logical block size $(blockdev --getss "$aloop"), not /dev/ram0's"
fio_verify "$aloop" --rw=randrw --bs=4k --iodepth=32 --size=8M || fail "fio verify on bdus-aloop --direct"
dd if=/tmp/block of="$aloop" bs=64k seek=3 oflag=direct status=none
cmp -n 65536 -i 0:196608 /tmp/block /dev/ram0 || fail "a write is not on /dev/ram0"
bdus destroy "$aloop"
wait_exit "$aloop_pid" || fail "bdus-aloop --direct exited with $?: $(cat "$ALOOP_ERR")"
rmmod brd || fail "/dev/ram0 still held after bdus-aloop exited"

info "one thread, four devices sharing 16 buffers, fio verify on all at once"
# 64 requests in flight for 16 buffers: most wait for one.
aio_driver F 4 --devices 4 --queues 2 --queue-depth 32 --shared-buffers 16 16
[[ $(threads_of "$F_PID") == 1 ]] || fail "libbdus started threads: $(threads_of "$F_PID")"
for dev in "${F_DEVS[@]}"; do
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
done
fio_verify_all "${F_DEVS[@]}" || fail "fio verify on four devices of one thread"
[[ $(threads_of "$F_PID") == 1 ]] || fail "libbdus started threads: $(threads_of "$F_PID")"
[[ $(bdus info --protocol "${F_DEVS[0]#/dev/bdus-}") == uring ]] || fail "not served over uring"

info "closing one device leaves the others served"
first=${F_DEVS[0]#/dev/bdus-}
bdus destroy "$first"
wait_for "grep -qx 'closed $first' $F_OUT" 30 || fail "no DEVICE_CLOSED for bdus-$first"
kill -0 "$F_PID" || fail "the driver exited with devices left"
fio_verify_all "${F_DEVS[@]:1}" || fail "fio verify after one device closed"
for dev in "${F_DEVS[@]:1}"; do bdus destroy "${dev#/dev/bdus-}"; done
wait_exit "$F_PID" || fail "the driver exited with $?: $(cat "$F_ERR")"
[[ $(grep -c '^closed ' "$F_OUT") == 4 ]] || fail "not four DEVICE_CLOSED: $(cat "$F_OUT")"
# Requests came in at most 16 distinct buffers (without a pool: one per
# slot, up to 256).
used=$(sed -n 's/^buffers //p' "$F_OUT")
((used > 0 && used <= 16)) || fail "requests used $used buffers with a pool of 16"

info "completions from another thread, in reverse order"
aio_driver W 1 --worker --queues 2 16
[[ $(threads_of "$W_PID") == 2 ]] || fail "threads: $(threads_of "$W_PID"), expected the driver's 2"
fio_verify "${W_DEVS[0]}" --rw=randrw --bs=4k --iodepth=32 --size=12M ||
	fail "fio verify with completions from another thread"
bdus destroy "${W_DEVS[0]#/dev/bdus-}"
wait_exit "$W_PID" || fail "the worker driver exited with $?: $(cat "$W_ERR")"
# No pool: each slot's own buffer, so the pool check above can fail.
used=$(sed -n 's/^buffers //p' "$W_OUT")
((used > 16)) || fail "without a pool, requests came in only $used buffers"

info "one device served by two contexts in two threads (bdus_aio_share_dev)"
# Queue 0 in the main thread, queue 1 in another; the program checks the
# refusals of sharing first (a queue taken, out of range, its own context).
aio_driver T 1 --threads 2 --queues 2 --queue-depth 32 16
[[ $(threads_of "$T_PID") == 2 ]] || fail "threads: $(threads_of "$T_PID"), expected 2"
[[ $(bdus info --queues "${T_DEVS[0]#/dev/bdus-}") == 2 ]] || fail "not two queues"
# One job per CPU: blk-mq sends each CPU's requests to its own queue.
fio --name=share --filename="${T_DEVS[0]}" --direct=1 --ioengine=libaio \
	--rw=randrw --bs=4k --iodepth=16 --size=6M --offset_increment=6M \
	--numjobs=2 --cpus_allowed=0,1 --cpus_allowed_policy=split \
	--verify=crc32c --verify_fatal=1 --do_verify=1 >/tmp/fio.out 2>&1 ||
	{ tail -n 30 /tmp/fio.out >&2; fail "fio verify on a shared device"; }
! grep -q 'verify: bad' /tmp/fio.out || fail "fio verify found bad data on a shared device"
bdus destroy "${T_DEVS[0]#/dev/bdus-}"
wait_exit "$T_PID" || fail "the sharing driver exited with $?: $(cat "$T_ERR")"
[[ $(grep -c '^closed ' "$T_OUT") == 2 ]] || fail "not one DEVICE_CLOSED per thread: $(cat "$T_OUT")"
info "requests served: $(grep '^thread ' "$T_OUT" | tr '\n' ' ')"
for t in 0 1; do
	n=$(sed -n "s/^thread $t served //p" "$T_OUT")
	((n > 0)) || fail "thread $t served no request: $(cat "$T_OUT")"
done

info "one context closing its part closes the whole device"
aio_driver U 1 --threads 2 --queues 2 --close-after 100 16
dev=${U_DEVS[0]}
# Only CPU 1 submits, so only the second thread's queue gets requests.
fio --name=close --filename="$dev" --direct=1 --ioengine=libaio --rw=randread \
	--bs=4k --iodepth=8 --size=6M --time_based --runtime=60 \
	--cpus_allowed=1 >/tmp/fio-close.out 2>&1 &
fio_pid=$!
wait_for "! kill -0 $U_PID 2>/dev/null" 60 || fail "the sharing driver did not exit after one part closed"
wait_exit "$U_PID" || fail "the sharing driver exited with $?: $(cat "$U_ERR")"
grep -q "closing after 100" "$U_ERR" || fail "the second thread did not close: $(cat "$U_ERR")"
[[ $(grep -c '^closed ' "$U_OUT") == 2 ]] || fail "not one DEVICE_CLOSED per thread: $(cat "$U_OUT")"
# The thread that did not close is told why, before its part closes.
term=$(grep -n "^terminated ${dev#/dev/bdus-} thread 0\$" "$U_OUT" | cut -d: -f1)
closed=$(grep -n "^closed ${dev#/dev/bdus-} thread 0\$" "$U_OUT" | cut -d: -f1)
[[ -n $term && -n $closed ]] && ((term < closed)) ||
	fail "thread 0 did not see DEVICE_TERMINATED before DEVICE_CLOSED: $(cat "$U_OUT")"
! grep -q "^terminated .* thread 1\$" "$U_OUT" || fail "the closing thread saw DEVICE_TERMINATED: $(cat "$U_OUT")"
wait_for "[[ ! -e $dev ]]" 10 || fail "the device outlived its driver's close"
wait "$fio_pid" 2>/dev/null || true

info "misuse"
aio_driver M 1 --misuse 4
grep -q "misuse checks passed" "$M_ERR" || { cat "$M_ERR" >&2; fail "misuse not checked"; }
grep -q "pool refusals passed" "$M_ERR" || { cat "$M_ERR" >&2; fail "pool refusals not checked"; }
bdus destroy "${M_DEVS[0]#/dev/bdus-}"
wait_exit "$M_PID" || fail "the misuse driver exited with $?: $(cat "$M_ERR")"

info "writes outstanding at termination still count"
aio_held_writes_count

info "kill -9 of a recoverable async driver, recovered by another"
aio_recover_after_kill -- --shared-buffers 4
id=$REC_ID

info "an attach whose shared buffers are too small leaves the live driver"
expect_error "exceeds the context's shared_buffer_size" \
	bdus-test-aio --attach "$id" --shared-buffers 4 --shared-buffer-size 65536 8
kill -0 "$N_PID" || fail "the refused attach ended the live driver"
[[ $(bdus info --state "$id") == active ]] || fail "state $(bdus info --state "$id") after a refused attach"

info "live replacement of an async driver"
aio_driver P 1 --attach "$id" --backing /dev/shm/rec 8
wait_exit "$N_PID" || fail "the replaced driver exited with $?: $(cat "$N_ERR")"
grep -qx "closed $id" "$N_OUT" || fail "the replaced driver saw no DEVICE_CLOSED"
cmp <(dd if="${R_DEVS[0]}" bs=4k skip=7 count=1 iflag=direct status=none) /tmp/block ||
	fail "data lost across replacement"
bdus destroy "$id"
wait_exit "$P_PID" || fail "the last driver exited with $?: $(cat "$P_ERR")"

info "replacements under fio verify: async and sync drivers, killed and live"
mkdir -p /dev/shm/rep
rm -f /dev/shm/rep/dev0
aio_driver A 1 --recoverable --backing /dev/shm/rep 32
dev=${A_DEVS[0]}
id=${dev#/dev/bdus-}
wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
# Passes until told to stop, each with its own seed, so that every
# replacement happens under I/O however fast the guest is.
rm -f /tmp/stop
(
	pass=0
	while [[ ! -e /tmp/stop ]]; do
		pass=$((pass + 1))
		fio --name=rep --filename="$dev" --direct=1 --ioengine=libaio \
			--rw=randwrite --bs=4k --iodepth=16 --size=16M \
			--randseed=$((pass * 7919)) --verify=crc32c \
			--verify_backlog=256 --verify_fatal=1 --do_verify=1 \
			>/tmp/fio.out 2>&1 || exit 1
		! grep -q 'verify: bad\|err= *[1-9]' /tmp/fio.out || exit 1
	done
) &
fio_pid=$!
wait_io "$dev" 200
kill -9 "$A_PID"
wait "$A_PID" 2>/dev/null || true
wait_for "[[ \$(bdus info --state $id) == inactive ]]" 10 || fail "not inactive after kill -9"
aio_driver B 1 --attach "$id" --backing /dev/shm/rep 32
wait_io "$dev" 200
test_driver S --rerun "$id" --store /dev/shm/rep/dev0
wait_exit "$B_PID" || fail "the async driver replaced live exited with $?: $(cat "$B_ERR")"
wait_io "$dev" 200
kill -9 "$S_PID"
wait "$S_PID" 2>/dev/null || true
wait_for "[[ \$(bdus info --state $id) == inactive ]]" 10 || fail "not inactive after kill -9"
aio_driver C 1 --attach "$id" --backing /dev/shm/rep 32
wait_io "$dev" 200
touch /tmp/stop
wait_exit "$fio_pid" || { tail -n 20 /tmp/fio.out >&2; fail "fio failed across the replacements"; }
bdus destroy "$id"
wait_exit "$C_PID" || fail "the last async driver exited with $?: $(cat "$C_ERR")"

info "a non-recoverable device goes with its driver"
aio_driver K 1 4
kill -9 "$K_PID"
wait "$K_PID" 2>/dev/null || true
wait_for "[[ ! -e ${K_DEVS[0]} ]]" 10 || fail "the device outlived its killed driver"

unload_kbdus
