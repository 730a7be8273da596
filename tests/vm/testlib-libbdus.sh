# SPDX-License-Identifier: MIT
#
# Helpers for the libbdus VM cases (tests/vm/cases/libbdus-*.sh), sourced
# after tests/vm/testlib.sh.

# test_driver PREFIX ARGS...: runs bdus-test-driver --foreground ARGS in the
# background and waits for its device.  Sets PREFIX_PID, _ID and _DEV.
test_driver() {
	local prefix=$1 out pid dev
	shift
	out=$(mktemp /tmp/test-driver.XXXXXX)
	bdus-test-driver --foreground "$@" >"$out" 2>"$out.err" &
	pid=$!
	if ! wait_for "[[ -s $out ]] || ! kill -0 $pid 2>/dev/null" 60 ||
		[[ ! -s $out ]]; then
		cat "$out.err" >&2
		fail "bdus-test-driver $* made no device"
	fi
	dev=$(head -n 1 "$out")
	printf -v "${prefix}_PID" %s "$pid"
	printf -v "${prefix}_DEV" %s "$dev"
	printf -v "${prefix}_ID" %s "${dev#/dev/bdus-}"
	printf -v "${prefix}_ERR" %s "$out.err"
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
}

# Checks that a trace file has a line matching the extended regex.
expect_traced() {
	grep -Eq "^$2\$" "$1" || { cat "$1" >&2; fail "the driver did not see '$2'"; }
}
