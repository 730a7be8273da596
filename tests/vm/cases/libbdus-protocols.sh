#!/bin/bash
# SPDX-License-Identifier: MIT
# The default protocol is uring; when the buffers cannot be allocated or
# mapped (here: an address-space limit), bdus_run falls back to mmap and
# then ioctl on a new device each time and bdus_rerun on a recoverable
# device attaches again the same way, while an explicit uring or mmap
# request fails with a clear message.  (libbdus-uring.sh checks the
# fallback when io_uring is disabled.)
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

# 2 x 1024 slots of 256 KiB: a 512 MiB mapping, more than the limit allows.
big=(--queues 2 --queue-depth 1024)
limit=400000 # KiB of address space

# limited LIMIT CMD...: CMD with at most LIMIT KiB of address space.
limited() {
	exec bash -c 'ulimit -v "$1" && shift && exec "$@"' limited "$@"
}

load_kbdus
test_driver D 4M
[[ $(bdus info --protocol "$D_ID") == uring ]] || fail "the default protocol is not uring"
bdus destroy "$D_ID"
wait_exit "$D_PID" || fail "driver exited with $?"

info "explicit mmap under the limit"
expect_error "cannot map the" \
	limited "$limit" bdus-test-driver --foreground --protocol mmap "${big[@]}" 4M
wait_for "[[ -z \$(bdus list) ]]" 10 || fail "a device was left behind: $(bdus list)"

info "explicit uring under the limit"
expect_error "cannot allocate the .* bytes of request buffers" \
	limited "$limit" bdus-test-driver --foreground --protocol uring "${big[@]}" 4M
wait_for "[[ -z \$(bdus list) ]]" 10 || fail "a device was left behind: $(bdus list)"

info "default protocol under the limit"
run_background FB 1 limited "$limit" bdus-test-driver --foreground \
	"${big[@]}" --recoverable 4M || fail "no device"
pid=$FB_PID
dev=$(head -n 1 "$FB_OUT")
id=${dev#/dev/bdus-}
[[ $(bdus info --protocol "$id") == ioctl ]] || fail "no fallback to ioctl"
[[ $(bdus list | wc -l) -eq 1 ]] || fail "the failed uring or mmap device was left behind: $(bdus list)"
dd if=/dev/urandom of=/tmp/block bs=4k count=1 status=none
dd if=/tmp/block of="$dev" bs=4k oflag=direct status=none

info "rerun with the default protocol under the limit"
run_background RR 1 limited "$limit" bdus-test-driver --foreground \
	--rerun "$id" || fail "rerun failed"
new=$RR_PID
wait_exit "$pid" || fail "the replaced driver exited with $?"
[[ $(bdus info --protocol --state "$id" | tr '\n' ' ') == "ioctl active " ]] ||
	fail "after rerun: $(bdus info --protocol --state "$id")"
dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none || fail "I/O after rerun"
bdus destroy "$id"
wait_exit "$new" || fail "the new driver exited with $?"
unload_kbdus
