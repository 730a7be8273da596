#!/bin/bash
# SPDX-License-Identifier: MIT
# Every ioctl rejects wrong sizes, reserved bits, out-of-range values, bad
# pointers and bogus/duplicate/stale replies with the documented errno;
# opening the control device needs CAP_SYS_ADMIN.
# timeout: 60
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
uapi-badinput || fail "bad-input checks failed"
expect_error "Operation not permitted" setpriv --bounding-set=-sys_admin uapi-ctl version
expect_error "Permission denied" \
	setpriv --reuid=65534 --regid=65534 --clear-groups uapi-ctl version
wait_for '[[ -z $(uapi-ctl list) ]]' 30 || fail "devices left behind"
unload_kbdus
