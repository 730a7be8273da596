#!/bin/bash
# SPDX-License-Identifier: MIT
# bdus_rerun on a device whose running driver fails the flush that precedes
# its replacement (BDUS 0.1.2's rule): a non-recoverable device is
# destroyed and the rerun fails with EIO, rather than a new driver serving
# it without the old one's cached writes; a recoverable one is taken over.
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	info "non-recoverable, $protocol"
	test_driver A --fail-flush EIO --protocol "$protocol" 4M
	dd if=/dev/urandom of="$A_DEV" bs=4k count=4 status=none # cached, dirty
	expect_error "failed to flush" bdus-test-driver --foreground --rerun "$A_ID"
	wait_exit "$A_PID" || true
	wait_for "[[ ! -e $A_DEV ]]" 20 || fail "$A_DEV survived a failed flush"
	expect_error "the device no longer exists" bdus info "$A_ID"

	info "recoverable, $protocol"
	test_driver R --recoverable --fail-flush EIO --protocol "$protocol" 4M
	dd if=/dev/urandom of="$R_DEV" bs=4k count=4 status=none
	test_driver S --rerun "$R_ID" --recoverable --protocol "$protocol"
	wait_exit "$R_PID" || true
	[[ $(bdus info --state "$R_ID") == active ]] ||
		fail "state after taking over: $(bdus info --state "$R_ID")"
	bdus destroy "$R_ID" || fail "bdus destroy"
	wait_exit "$S_PID" || fail "the new driver exited with $?"
done
unload_kbdus
