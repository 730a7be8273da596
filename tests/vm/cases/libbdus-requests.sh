#!/bin/bash
# SPDX-License-Identifier: MIT
# Every request type reaches libbdus callbacks with the right arguments over
# every protocol (uring with each thread layout), ioctls travel in both
# directions, callback errors map to the right errno, and ext read_ref and
# write_ref move data between the driver's memory and the requests on every
# protocol.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

load_kbdus
# "protocol concurrency queues"; uring: one ring on the calling thread, ring
# threads running callbacks, ring threads and a pool; then uring with every
# request delivered without its data (write_ref), which libbdus fetches for
# the callbacks that need it and sends replies from its buffer; its
# callbacks take 1 ms, so that a pool runs them.
for run in "ioctl 2 1" "mmap 2 1" "uring 1 2" "uring 2 2" "uring 2 1" \
	"uring 2 1 write_ref"; do
	read -r protocol concurrency queues ref <<<"$run"
	info "protocol $protocol, concurrency $concurrency, queues $queues ${ref:-}"
	trace=/tmp/trace-$protocol-$concurrency-$queues-${ref:-}
	test_driver D --protocol "$protocol" --concurrency "$concurrency" \
		--queues "$queues" --trace "$trace" \
		${ref:+--write-ref good --delay-ms 1} 16M
	expect_traced "$trace" "initialize run $D_ID"
	expect_traced "$trace" "on_device_available $D_DEV"
	[[ $(bdus info --protocol "$D_ID") == "$protocol" ]] || fail "protocol"

	dd if="$D_DEV" of=/dev/null bs=4096 count=1 skip=3 iflag=direct status=none
	expect_traced "$trace" "read 12288 4096"
	dd if=/dev/urandom of=/tmp/block8k bs=8192 count=1 status=none
	dd if=/tmp/block8k of="$D_DEV" bs=8192 count=1 seek=2 oflag=direct status=none
	expect_traced "$trace" "${ref:-write} 16384 8192"
	dd if=/tmp/block8k of="$D_DEV" bs=4096 count=1 seek=10 oflag=direct,dsync status=none
	expect_traced "$trace" "fua_write 40960 4096"
	cmp <(dd if="$D_DEV" bs=8192 skip=2 count=1 iflag=direct status=none) /tmp/block8k ||
		fail "a write read back other data"
	cmp <(dd if="$D_DEV" bs=4096 skip=10 count=1 iflag=direct status=none) \
		<(head -c 4096 /tmp/block8k) || fail "a FUA write read back other data"
	sync "$D_DEV"
	expect_traced "$trace" "flush"
	blkdiscard -o 65536 -l 131072 "$D_DEV"
	expect_traced "$trace" "discard 65536 131072"
	blkdiscard -s -o 262144 -l 65536 "$D_DEV"
	expect_traced "$trace" "secure_erase 262144 65536"
	blkdiscard -z -o 524288 -l 65536 "$D_DEV"
	expect_traced "$trace" "write_zeros 524288 65536 nounmap"
	fallocate -p -o 1048576 -l 65536 "$D_DEV"
	expect_traced "$trace" "write_zeros 1048576 65536 unmap"

	[[ $(bdus-test-ioctl "$D_DEV" get) == bdus ]] || fail "_IOR ioctl"
	bdus-test-ioctl "$D_DEV" set hello || fail "_IOW ioctl"
	[[ $(bdus-test-ioctl "$D_DEV" get) == hello ]] || fail "_IOW data lost"
	[[ $(bdus-test-ioctl "$D_DEV" inc 41) == 42 ]] || fail "_IOWR ioctl"
	[[ $(bdus-test-ioctl "$D_DEV" fail) == EPERM ]] || fail "ioctl errno"
	! grep -q '^write_same' "$trace" || fail "write_same was called"

	bdus destroy "$D_ID"
	wait_exit "$D_PID" || fail "driver exited with $?: $(cat "$D_ERR")"
	expect_traced "$trace" "terminate"
	! grep -q off-main-thread "$trace" || fail "a callback ran off the thread that called bdus_run"
done

for protocol in $PROTOCOLS; do
	info "errno mapping, $protocol"
	test_driver E --protocol "$protocol" --fail-writes ENOSPC 1M
	expect_error "No space left" dd if=/dev/zero of="$E_DEV" bs=4k count=1 oflag=direct
	bdus destroy --no-flush "$E_ID"
	wait_exit "$E_PID" || fail "driver exited with $?"
	test_driver E --protocol "$protocol" --fail-writes EPERM 1M
	expect_error "Input/output error" dd if=/dev/zero of="$E_DEV" bs=4k count=1 oflag=direct
	bdus destroy --no-flush "$E_ID"
	wait_exit "$E_PID" || fail "driver exited with $?"
done

# ext read_ref: the driver says where the data is.  Over uring kbdus copies
# it from there, so a bad address fails the read (EIO) and the driver
# (EFAULT) instead of crashing libbdus's copy; the others copy it through
# the buffer.
dd if=/dev/urandom of=/tmp/block bs=64k count=1 status=none
for protocol in $PROTOCOLS; do
	info "read_ref, $protocol"
	trace=/tmp/trace-ref-$protocol
	test_driver R --protocol "$protocol" --read-ref good --trace "$trace" 4M
	dd if=/tmp/block of="$R_DEV" bs=64k seek=3 oflag=direct status=none
	cmp <(dd if="$R_DEV" bs=64k skip=3 count=1 iflag=direct status=none) /tmp/block ||
		fail "read_ref read back other data ($protocol)"
	expect_traced "$trace" "read_ref 196608 65536"
	! grep -q '^read ' "$trace" || fail "ops->read was called besides read_ref"
	bdus destroy "$R_ID"
	wait_exit "$R_PID" || fail "driver exited with $?: $(cat "$R_ERR")"
done
test_driver R --protocol uring --read-ref bad 4M
expect_error "Input/output error" dd if="$R_DEV" of=/dev/null bs=4k skip=256 count=1 iflag=direct
rc=0
wait_exit "$R_PID" || rc=$?
[[ $rc == 1 ]] || fail "a bad read_ref address: the driver exited with $rc, not 1"
grep -q "could not read the data that read_ref pointed to" "$R_ERR" ||
	{ cat "$R_ERR" >&2; fail "no message about the bad read_ref address"; }
# A read_ref that sets no address fails the read, never answering with
# whatever the slot's buffer held.
for protocol in $PROTOCOLS; do
	test_driver R --protocol "$protocol" --read-ref null 4M
	dd if=/dev/urandom of="$R_DEV" bs=64k seek=16 count=1 oflag=direct status=none
	expect_error "Input/output error" dd if="$R_DEV" of=/dev/null bs=64k skip=16 count=1 iflag=direct
	bdus destroy "$R_ID"
	rc=0
	wait_exit "$R_PID" || rc=$?
	((rc == 0)) || { cat "$R_ERR" >&2; fail "driver exited with $rc ($protocol)"; }
done
expect_error "read_ref needs ops->read" bdus-test-driver --ops write --read-ref good 4M

# ext write_ref: the driver says where a write's data goes.  Over uring kbdus
# copies it there, so a bad address fails the write (EIO) and the driver
# (EFAULT); the others copy it from the buffer.
for protocol in $PROTOCOLS; do
	info "write_ref, $protocol"
	trace=/tmp/trace-wref-$protocol
	test_driver W --protocol "$protocol" --write-ref good --trace "$trace" 4M
	dd if=/tmp/block of="$W_DEV" bs=64k seek=3 oflag=direct status=none
	expect_traced "$trace" "write_ref 196608 65536"
	cmp <(dd if="$W_DEV" bs=64k skip=3 count=1 iflag=direct status=none) /tmp/block ||
		fail "write_ref wrote other data ($protocol)"
	! grep -q '^write ' "$trace" || fail "ops->write was called besides write_ref"
	bdus destroy "$W_ID"
	wait_exit "$W_PID" || fail "driver exited with $?: $(cat "$W_ERR")"
	# A write_ref that sets no address fails the write.
	test_driver W --protocol "$protocol" --write-ref null 4M
	expect_error "Input/output error" dd if=/tmp/block of="$W_DEV" bs=64k seek=16 oflag=direct
	bdus destroy "$W_ID"
	rc=0
	wait_exit "$W_PID" || rc=$?
	((rc == 0)) || { cat "$W_ERR" >&2; fail "driver exited with $rc ($protocol)"; }
done
# Recoverable: a write left unanswered would wait for the next driver
# instead of failing.
test_driver W --protocol uring --write-ref bad --recoverable 4M
expect_error "Input/output error" timeout 60 dd if=/tmp/block of="$W_DEV" bs=64k seek=16 oflag=direct
rc=0
wait_exit "$W_PID" || rc=$?
[[ $rc == 1 ]] || fail "a bad write_ref address: the driver exited with $rc, not 1"
grep -q "could not copy a write's data to where write_ref pointed" "$W_ERR" ||
	{ cat "$W_ERR" >&2; fail "no message about the bad write_ref address"; }
bdus destroy "$W_ID"
# A write that times out before write_ref returns: over uring kbdus lands
# nothing (ESTALE), the write fails, and the driver goes on serving.
info "write_ref of a write that times out"
test_driver W --protocol uring --write-ref good --write-delay-ms 2500 \
	--request-timeout 1000 4M
expect_error "Connection timed out" dd if=/tmp/block of="$W_DEV" bs=64k seek=8 oflag=direct
sleep 2 # the callback returns, and its landing is refused
dd if="$W_DEV" of=/dev/null bs=64k count=1 iflag=direct status=none ||
	{ cat "$W_ERR" >&2; fail "a read after the timed-out write_ref"; }
kill -0 "$W_PID" || { cat "$W_ERR" >&2; fail "a timed-out write_ref killed the driver"; }
bdus destroy "$W_ID"
wait_exit "$W_PID" || fail "driver exited with $?: $(cat "$W_ERR")"
expect_error "write_ref needs ops->write" bdus-test-driver --ops read --write-ref good 4M
# Both refs under fio verify, with callbacks slow enough (1 ms) that a pool
# runs them: write_ref's data then lands from the ring thread after the
# pool's answer comes back to it.
info "read_ref and write_ref under fio verify, with a pool"
test_driver W --protocol uring --concurrency 4 --queues 1 --delay-ms 1 \
	--read-ref good --write-ref good --trace /tmp/trace-refs 16M
fio_verify "$W_DEV" --rw=randwrite --bs=4k-128k --iodepth=16 --size=16M ||
	fail "fio verify through read_ref and write_ref"
grep -q '^write_ref ' /tmp/trace-refs || fail "write_ref was not called"
bdus destroy "$W_ID"
wait_exit "$W_PID" || fail "driver exited with $?: $(cat "$W_ERR")"
# One queue has one ring thread: callbacks that overlapped ran in the pool.
max=$(sed -n 's/^max-concurrency //p' /tmp/trace-refs)
((max >= 2)) || fail "callbacks never overlapped (max-concurrency ${max:-none}): no pool ran them"
unload_kbdus
