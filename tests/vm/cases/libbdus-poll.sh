#!/bin/bash
# SPDX-License-Identifier: MIT
# Polling (bdus_ext_attrs.poll_us, --poll-us): after each request a uring
# serving thread keeps looking for the next one for that long before it
# sleeps.  Under a trickle of requests it keeps a CPU busy, without polling
# it does not, and once requests stop it sleeps again.  Data stays intact
# with one ring thread and with a pool; bad values are refused.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"

# CPU time of a whole process (every thread), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)

# ram PREFIX ARGS...: bdus-ram --foreground ARGS in the background; sets
# PREFIX_PID and PREFIX_DEV.
ram() {
	local prefix=$1 dev
	shift
	run_background "$prefix" 1 bdus-ram --foreground "$@" ||
		fail "bdus-ram $* made no device"
	local out_var=${prefix}_OUT
	dev=$(head -n 1 "${!out_var}")
	printf -v "${prefix}_DEV" %s "$dev"
	wait_for "[[ -b $dev ]]" 10 || fail "no device"
}

# busy_percent PID DEV: the driver's CPU use, in percent of one CPU, while
# fio sends DEV one 4 KiB read every 50 ms for 4 s.  Sets IDEAL_PERCENT:
# the share of that time during which requests came (fio's start-up is
# slow in the emulated guest, and has none).
busy_percent() {
	local pid=$1 dev=$2 t0 c0 t1 c1
	c0=$(cpu_ticks "$pid")
	t0=$(date +%s%N)
	fio --name=trickle --filename="$dev" --direct=1 --ioengine=psync \
		--rw=randread --bs=4k --rate_iops=20 --time_based --runtime=4 \
		>/tmp/fio-trickle.out 2>&1 || { cat /tmp/fio-trickle.out >&2; return 1; }
	c1=$(cpu_ticks "$pid")
	t1=$(date +%s%N)
	IDEAL_PERCENT=$((4 * 100 * 1000000000 / (t1 - t0)))
	echo $(((c1 - c0) * 100 * 1000000000 / ticks_per_s / (t1 - t0)))
}

# idle_percent PID: the same over 2 s without requests.
idle_percent() {
	local c0 c1
	c0=$(cpu_ticks "$1")
	sleep 2
	c1=$(cpu_ticks "$1")
	echo $(((c1 - c0) * 100 / ticks_per_s / 2))
}

load_kbdus

info "without polling, a trickle of requests leaves the driver idle"
ram N --protocol uring 16M
busy_percent "$N_PID" "$N_DEV" >/tmp/busy || fail "reads failed"
busy=$(</tmp/busy)
info "driver busy ${busy}% of a CPU"
((busy < 10)) || fail "the driver used ${busy}% of a CPU without polling"
bdus destroy "${N_DEV#/dev/bdus-}"
wait_exit "$N_PID" || fail "bdus-ram exited with $?"

info "--poll-us 100000: the driver spins between requests, then sleeps"
ram P --protocol uring --poll-us 100000 16M
# Serving starts with a wait like any other: let it end first.
sleep 1
busy_percent "$P_PID" "$P_DEV" >/tmp/busy || fail "reads failed"
busy=$(</tmp/busy)
info "driver busy ${busy}% of a CPU, requests came ${IDEAL_PERCENT}% of the time"
# Each request keeps it spinning for 100 ms, twice the gap between them.
((busy * 2 >= IDEAL_PERCENT)) ||
	fail "the driver used only ${busy}% of a CPU while polling"
idle=$(idle_percent "$P_PID")
info "then ${idle}% with no requests"
((idle < 10)) || fail "the driver kept polling without requests: ${idle}%"
fio_verify "$P_DEV" --rw=randwrite --bs=4k --iodepth=1 --size=2M ||
	fail "fio verify at QD1 while polling"
fio_verify "$P_DEV" --rw=randrw --bs=4k --iodepth=32 --size=8M ||
	fail "fio verify at QD32 while polling"
bdus destroy "${P_DEV#/dev/bdus-}"
wait_exit "$P_PID" || fail "bdus-ram exited with $?"

info "polling ring threads feeding a pool"
ram Q --protocol uring --poll-us 200 --concurrency 4 --queues 2 16M
fio_verify "$Q_DEV" --rw=randrw --bs=4k --iodepth=32 --numjobs=2 --size=4M \
	--offset_increment=4M || fail "fio verify with 2 polling rings and a pool"
bdus destroy "${Q_DEV#/dev/bdus-}"
wait_exit "$Q_PID" || fail "bdus-ram exited with $?"

info "refusals"
expect_error "poll_us needs the uring protocol (or the default), not ioctl" \
	bdus-ram --protocol ioctl --poll-us 10 16M
expect_error "invalid --poll-us '100001'" bdus-ram --poll-us 100001 16M

unload_kbdus
