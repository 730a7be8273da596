#!/bin/bash
# SPDX-License-Identifier: MIT
# A stopped driver cannot hold destruction hostage: with the driver
# SIGSTOPped while a read is in flight, the request timeout ends the read
# and destroy completes; the driver, continued, gets TERMINATE and exits.
# Over uring the request is handed to a command whose task work cannot run
# while the thread is stopped, which must not stop the timeout.
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	info "protocol $protocol"
	start_driver D --protocol "$protocol" --size $((4 << 20)) --timeout-ms 2000
	# Every uring command is posted once the device answered a read.
	dd if="$D_DEV" of=/dev/null bs=4096 count=1 iflag=direct status=none
	kill -STOP "$D_PID"
	# Every thread stopped, so none can take the next request.
	wait_for "! grep -qv '^T' <(awk '{ print \$3 }' /proc/$D_PID/task/*/stat)" 30 ||
		fail "driver did not stop"
	dd if="$D_DEV" of=/dev/null bs=4096 count=1 skip=5 iflag=direct status=none \
		2>/tmp/dd.err &
	dd_pid=$!
	# In flight, or already timed out (a loaded host can take longer
	# to look than the timeout takes to fire).
	wait_for "(( \$(awk '{ print \$1 + \$2 }' /sys/block/bdus-$D_ID/inflight) > 0 )) ||
		! kill -0 $dd_pid 2>/dev/null" 30 ||
		fail "the read never reached the device"
	uapi-ctl trigger --no-flush "$D_ID"
	wait_for "[[ ! -e /sys/block/bdus-$D_ID ]]" 60 || {
		kill -CONT "$D_PID"
		fail "destroy waited for a stopped driver ($protocol)"
	}
	if wait_exit "$dd_pid"; then
		fail "the read succeeded with its driver stopped"
	fi
	kill -CONT "$D_PID"
	wait_exit "$D_PID" || fail "driver failed after SIGCONT"
	wait_for "[[ -z \$(uapi-ctl list) ]]" 30 || fail "device left after its driver"
done
unload_kbdus
