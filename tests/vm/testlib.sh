# SPDX-License-Identifier: MIT
#
# Helpers for VM test cases (sourced).  Tests run as root in the guest with
# BDUS_ROOT, KVER, BDUS_KO and PATH (build/bin first) set by the harness.
# Convention: exit 0 pass, 77 skip, anything else fail.

set -euo pipefail

# Every kbdus protocol; tests loop over them.
PROTOCOLS=${PROTOCOLS:-ioctl mmap uring}

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*" >&2; exit 77; }
info() { echo "# [${SECONDS}s] $*"; }

# Runs "$@", which must fail, and checks its stderr/stdout mention $1.
expect_error() {
	local pattern=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "expected failure ($pattern) from: $*"
	fi
	grep -q -- "$pattern" <<<"$out" || fail "expected '$pattern' from: $*; got: $out"
}

load_kbdus() {
	[[ -e $BDUS_KO ]] || skip "kbdus.ko not built for $KVER"
	lsmod | grep -q '^kbdus ' && rmmod kbdus
	insmod "$BDUS_KO" "$@"
	wait_for "[[ -c /dev/bdus-control ]]" 10 || fail "/dev/bdus-control did not appear"
}

# running PID: whether a child still runs (kill -0 succeeds on a zombie
# that was not waited for).
running() {
	[[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

unload_kbdus() {
	rmmod kbdus || fail "rmmod kbdus failed"
}

# wait_for CONDITION SECONDS: polls a shell condition every 0.1 s.
wait_for() {
	local deadline=$((SECONDS + $2))
	until eval "$1"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# start_driver PREFIX ARGS...: runs uapi-ram ARGS in the background and waits
# until its device is available.  Sets ${PREFIX}_PID, ${PREFIX}_ID and
# ${PREFIX}_DEV.
start_driver() {
	local prefix=$1 id out_var
	shift
	run_background "$prefix" 1 uapi-ram "$@" ||
		fail "driver ($*) did not make a device available"
	out_var=${prefix}_OUT
	id=$(head -n1 "${!out_var}")
	printf -v "${prefix}_ID" %s "$id"
	printf -v "${prefix}_DEV" %s "/dev/bdus-$id"
	wait_for "[[ -b /dev/bdus-$id ]]" 10 || fail "/dev/bdus-$id did not appear"
}

# run_background PREFIX LINES CMD...: runs CMD in the background and waits
# up to 60 s until it has printed LINES lines (its devices' paths) or has
# exited.  Its stdout and stderr go to new files: with a reused name, the
# shell would empty the file only once the child runs, so a check made
# before that could read an earlier run's output as this one's.  Sets
# ${PREFIX}_PID, ${PREFIX}_OUT and ${PREFIX}_ERR; returns 1, showing
# CMD's stderr, if fewer lines came.
run_background() {
	local prefix=$1 lines=$2 out pid
	shift 2
	out=$(mktemp /tmp/background.XXXXXX)
	"$@" >"$out" 2>"$out.err" &
	pid=$!
	printf -v "${prefix}_PID" %s "$pid"
	printf -v "${prefix}_OUT" %s "$out"
	printf -v "${prefix}_ERR" %s "$out.err"
	wait_for "[[ \$(wc -l <$out) -ge $lines ]] || ! kill -0 $pid 2>/dev/null" 60
	(($(wc -l <"$out") >= lines)) || { cat "$out.err" >&2; return 1; }
}

# expect_logged LINE: the driver's --log file ($log) has exactly LINE.
expect_logged() {
	grep -qx "$1" "$log" || { cat "$log" >&2; fail "driver did not see '$1'"; }
}

# Waits for a background process and returns its exit status.
wait_exit() {
	local rc=0
	wait "$1" || rc=$?
	return "$rc"
}

sysfs_attr() { cat "/sys/block/bdus-$1/bdus/$2"; }

# Reads plus writes a block device has completed.
io_count() { awk '{ print $1 + $5 }' "/sys/block/${1#/dev/}/stat"; }

# wait_io DEV [N]: waits until DEV completed N more requests (default 20),
# so a test acts while I/O is really in flight, however slow the VM.
wait_io() {
	local start
	start=$(io_count "$1")
	wait_for "(( \$(io_count $1) >= $start + ${2:-20} ))" 120 || {
		tail -n 5 /tmp/fio.out >&2
		fail "no I/O reached $1 ($start then $(io_count "$1") requests," \
			"state $(cat "/sys/block/${1#/dev/}/bdus/state")," \
			"in flight $(cat "/sys/block/${1#/dev/}/inflight"))"
	}
}

# fio with common options; extra arguments are appended.
run_fio() {
	fio --output-format=terse --terse-version=3 --minimal --direct=1 \
		--group_reporting --name=job "$@" >/tmp/fio.out 2>/tmp/fio.err ||
		{ cat /tmp/fio.err >&2; return 1; }
}

# Data-integrity pass: writes with crc32c headers and verifies them.
fio_verify() {
	local dev=$1
	shift
	fio --name=verify --filename="$dev" --direct=1 --ioengine=libaio \
		--verify=crc32c --verify_fatal=1 --do_verify=1 "$@" \
		>/tmp/fio.out 2>&1 || { tail -n 30 /tmp/fio.out >&2; return 1; }
	! grep -q 'verify: bad' /tmp/fio.out
}
