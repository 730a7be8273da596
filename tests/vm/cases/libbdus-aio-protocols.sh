#!/bin/bash
# SPDX-License-Identifier: MIT
# The asynchronous API over the ioctl and mmap protocols, whose sessions
# the core polls on its ring (libbdus/src/transport/aio-poll.c).  For each:
# one thread serves four devices under fio verify at once, with no thread
# of libbdus's; completions from another thread in reverse order; writes
# held when the device terminates still count; a recoverable device
# survives kill -9 of its driver, is recovered by another over the same
# protocol, and is replaced live by a uring one, with the data; requests
# kept past their timeout, and the requests that reuse their tags.  A device
# served by parts, or with shared buffers, is refused over these
# protocols.  A context without io_uring (BDUS_AIO_NO_RING, and on its
# own where sysctl disables io_uring) serves them through epoll.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"
source "$BDUS_ROOT/tests/vm/testlib-aio.sh"

load_kbdus

for protocol in ioctl mmap; do
	info "$protocol: one thread, four devices, fio verify on all at once"
	aio_driver F 4 --protocol "$protocol" --devices 4 --queues 2 --queue-depth 16 16
	for dev in "${F_DEVS[@]}"; do
		wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	done
	[[ $(bdus info --protocol "${F_DEVS[0]#/dev/bdus-}") == "$protocol" ]] ||
		fail "not served over $protocol"
	fio_verify_all "${F_DEVS[@]}" || fail "fio verify on four $protocol devices of one thread"
	[[ $(threads_of "$F_PID") == 1 ]] || fail "libbdus started threads: $(threads_of "$F_PID")"
	first=${F_DEVS[0]#/dev/bdus-}
	bdus destroy "$first"
	wait_for "grep -qx 'closed $first' $F_OUT" 30 || fail "no DEVICE_CLOSED for bdus-$first"
	fio_verify "${F_DEVS[1]}" --rw=randrw --bs=4k --iodepth=16 --size=6M ||
		fail "fio verify after another $protocol device closed"
	for dev in "${F_DEVS[@]:1}"; do bdus destroy "${dev#/dev/bdus-}"; done
	wait_exit "$F_PID" || fail "the driver exited with $?: $(cat "$F_ERR")"
	[[ $(grep -c '^closed ' "$F_OUT") == 4 ]] || fail "not four DEVICE_CLOSED: $(cat "$F_OUT")"

	info "$protocol: completions from another thread, in reverse order"
	aio_driver W 1 --protocol "$protocol" --worker --queues 2 16
	fio_verify "${W_DEVS[0]}" --rw=randrw --bs=4k --iodepth=32 --size=8M ||
		fail "fio verify with completions from another thread"
	bdus destroy "${W_DEVS[0]#/dev/bdus-}"
	wait_exit "$W_PID" || fail "the worker driver exited with $?: $(cat "$W_ERR")"

	info "$protocol: writes outstanding at termination still count"
	aio_held_writes_count --protocol "$protocol"

	info "$protocol: a terminated device whose driver still holds a write costs no CPU"
	aio_driver T 1 --protocol "$protocol" --hold 1 --hold-ms 5000 4
	dd if=/tmp/block of="${T_DEVS[0]}" bs=4k count=1 oflag=direct status=none &
	w1=$!
	wait_for "grep -q '^held ' $T_OUT" 10 || fail "the driver did not get the write"
	bdus destroy "${T_DEVS[0]#/dev/bdus-}" &
	destroyer=$!
	wait_for "grep -q '^terminated ' $T_OUT" 10 || fail "no DEVICE_TERMINATED"
	# 3 s of the 5 s hold: a loop that spun would use them.
	ticks=$(awk '{print $14 + $15}' /proc/"$T_PID"/stat)
	sleep 3
	ticks=$(($(awk '{print $14 + $15}' /proc/"$T_PID"/stat) - ticks))
	! grep -q '^released ' "$T_OUT" || fail "released before the measurement ended: timing too slow"
	((ticks < 100)) || fail "the driver used $ticks ticks of CPU in 3 s while it waited"
	wait_exit "$w1" || fail "the held write failed: $(cat "$T_OUT" "$T_ERR")"
	wait_exit "$destroyer" || fail "bdus destroy failed"
	wait_exit "$T_PID" || fail "the holding driver exited with $?: $(cat "$T_ERR")"

	info "$protocol: kill -9 of a recoverable driver, recovered, then replaced by uring"
	aio_recover_after_kill --protocol "$protocol" -- --protocol "$protocol"
	id=$REC_ID
	[[ $(bdus info --protocol "$id") == "$protocol" ]] || fail "recovered over $(bdus info --protocol "$id")"
	aio_driver P 1 --protocol uring --attach "$id" --backing /dev/shm/rec 8
	wait_exit "$N_PID" || fail "the replaced driver exited with $?: $(cat "$N_ERR")"
	grep -qx "closed $id" "$N_OUT" || fail "the replaced driver saw no DEVICE_CLOSED"
	cmp <(dd if="${R_DEVS[0]}" bs=4k skip=7 count=1 iflag=direct status=none) /tmp/block ||
		fail "data lost across replacement"
	bdus destroy "$id"
	wait_exit "$P_PID" || fail "the uring driver exited with $?: $(cat "$P_ERR")"

	info "$protocol: requests held past their timeout, and the requests after them"
	# Both tags' requests stay with the driver 6 s, 2 s past their
	# timeout; a read then takes a tag whose old request the driver
	# still holds.  ioctl serves it once those are released; mmap, whose
	# slot is the tag, fails it at once rather than share the buffer.
	aio_driver Q 1 --protocol "$protocol" --queues 1 --queue-depth 2 \
		--hold 2 --hold-ms 6000 --timeout-ms 4000 4
	dev=${Q_DEVS[0]}
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	dd if=/dev/urandom of=/tmp/block bs=4k count=1 status=none
	dd if=/tmp/block of="$dev" bs=4k seek=1 oflag=direct status=none 2>/dev/null &
	w1=$!
	dd if=/tmp/block of="$dev" bs=4k seek=2 oflag=direct status=none 2>/dev/null &
	w2=$!
	wait_for "[[ \$(grep -c '^held ' $Q_OUT) == 2 ]]" 10 || fail "the driver did not get both writes"
	! wait_exit "$w1" || fail "a write held past its timeout succeeded"
	! wait_exit "$w2" || fail "a write held past its timeout succeeded"
	[[ $(grep -c '^released ' "$Q_OUT") == 0 ]] || fail "released before the timeout: timing too slow to test"
	if [[ $protocol == ioctl ]]; then
		dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none ||
			fail "a read after two requests timed out was not served"
	else
		! dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null ||
			fail "a read into a slot the driver holds was served"
	fi
	wait_for "[[ \$(grep -c '^released ' $Q_OUT) == 2 ]]" 10 || fail "the held writes were not released"
	fio_verify "$dev" --rw=randrw --bs=4k --iodepth=2 --size=1M ||
		fail "fio verify after requests timed out"
	bdus destroy "${dev#/dev/bdus-}"
	wait_exit "$Q_PID" || fail "the driver exited with $?: $(cat "$Q_ERR")"

	info "$protocol: what needs uring is refused"
	expect_error "uring protocol only" \
		bdus-test-aio --protocol "$protocol" --shared-buffers 4 4
	expect_error "is served whole" \
		bdus-test-aio --protocol "$protocol" --threads 2 --queues 2 4
	wait_for "! compgen -G '/dev/bdus-[0-9]*' >/dev/null" 10 ||
		fail "a refused device was left behind: $(echo /dev/bdus-*)"
done

info "a context without io_uring: two mmap devices, then ioctl with a worker"
aio_driver G 2 --no-ring --devices 2 8
[[ $(bdus info --protocol "${G_DEVS[0]#/dev/bdus-}") == mmap ]] ||
	fail "a context without a ring did not default to mmap"
for dev in "${G_DEVS[@]}"; do
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
done
fio_verify_all "${G_DEVS[@]}" || fail "fio verify on two devices of a context without a ring"
[[ $(threads_of "$G_PID") == 1 ]] || fail "libbdus started threads: $(threads_of "$G_PID")"
! ls -l /proc/"$G_PID"/fd | grep -q io_uring || fail "a context without a ring has an io_uring fd"
for dev in "${G_DEVS[@]}"; do bdus destroy "${dev#/dev/bdus-}"; done
wait_exit "$G_PID" || fail "the driver exited with $?: $(cat "$G_ERR")"
aio_driver W 1 --no-ring --protocol ioctl --worker --queues 2 16
fio_verify "${W_DEVS[0]}" --rw=randrw --bs=4k --iodepth=32 --size=8M ||
	fail "fio verify without a ring, completions from another thread"
bdus destroy "${W_DEVS[0]#/dev/bdus-}"
wait_exit "$W_PID" || fail "the worker driver exited with $?: $(cat "$W_ERR")"
expect_error "has no io_uring ring" bdus-test-aio --no-ring --protocol uring 4
expect_error "BDUS_AIO_NO_RING cannot go with shared_buffers" \
	bdus-test-aio --no-ring --shared-buffers 4 4

if [[ -e /proc/sys/kernel/io_uring_disabled ]]; then
	info "io_uring disabled by sysctl: a context goes without a ring by itself"
	sysctl -qw kernel.io_uring_disabled=2
	run_background D 1 bdus-test-aio 8
	sysctl -qw kernel.io_uring_disabled=0
	[[ -s $D_OUT ]] || fail "no device with io_uring disabled: $(cat "$D_ERR")"
	dev=$(head -n 1 "$D_OUT")
	[[ $(bdus info --protocol "${dev#/dev/bdus-}") == mmap ]] ||
		fail "served over $(bdus info --protocol "${dev#/dev/bdus-}") with io_uring disabled"
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
	fio_verify "$dev" --rw=randrw --bs=4k --iodepth=16 --size=6M ||
		fail "fio verify with io_uring disabled"
	bdus destroy "${dev#/dev/bdus-}"
	wait_exit "$D_PID" || fail "the driver exited with $?: $(cat "$D_ERR")"
fi

unload_kbdus
