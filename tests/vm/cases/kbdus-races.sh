#!/bin/bash
# SPDX-License-Identifier: MIT
# Lifecycle races, made deterministic:
#  - DESTROY of a device whose CREATE has registered it but not started it
#    (the CREATE is held by a userfaultfd fault on its copy-out), also when
#    that CREATE then fails: its fd must be reusable;
#  - two ATTACHes after an interrupted live replacement: exactly one binds,
#    the other gets EBUSY, and never two drivers at once.
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus

info "destroy during create"
uapi-race create-destroy 10 || fail "create/destroy race"
[[ -z $(uapi-ctl list) ]] || fail "a device survived"
info "destroy during a create that then fails"
uapi-race create-fail 3 || fail "create/destroy race with a failing create"
[[ -z $(uapi-ctl list) ]] || fail "a device survived"

info "attaches racing an interrupted replacement"
# The old driver lingers after TERMINATE, so its session stays retiring.
start_driver OLD --recoverable --size $((4 << 20)) --linger-ms 60000
uapi-race attach "$OLD_ID" >/tmp/attach-a.out &
a=$!
wait_for "grep -q attaching /tmp/attach-a.out" 30 || fail "attach A did not start"
wait_for "[[ \$(sysfs_attr $OLD_ID state) == inactive ]]" 30 ||
	fail "the old driver was not told to stop"
kill -9 "$a"
wait "$a" 2>/dev/null || true

uapi-race attach "$OLD_ID" >/tmp/attach-b.out &
b=$!
wait_for "grep -q attaching /tmp/attach-b.out" 30 || fail "attach B did not start"
sleep 1 # B now waits for the old session
uapi-race attach "$OLD_ID" >/tmp/attach-c.out &
c=$!
wait_for "[[ \$(wc -l </tmp/attach-c.out) -ge 2 ]]" 10 ||
	{ kill -9 "$OLD_PID"; fail "attach C waited although B is attaching"; }
[[ $(tail -n 1 /tmp/attach-c.out) == EBUSY ]] ||
	fail "attach C: $(tail -n 1 /tmp/attach-c.out), expected EBUSY"
kill -9 "$OLD_PID"
wait "$OLD_PID" 2>/dev/null || true
wait_for "[[ \$(wc -l </tmp/attach-b.out) -ge 2 ]]" 30 || fail "attach B never returned"
[[ $(tail -n 1 /tmp/attach-b.out) == attached ]] ||
	fail "attach B: $(tail -n 1 /tmp/attach-b.out), expected attached"
wait "$b" 2>/dev/null || true
wait "$c" 2>/dev/null || true
uapi-ctl destroy --no-flush "$OLD_ID"
unload_kbdus
