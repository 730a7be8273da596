# SPDX-License-Identifier: MIT
#
# Helpers for the libbdus VM cases (tests/vm/cases/libbdus-*.sh), sourced
# after tests/vm/testlib.sh.

# foreground_driver PREFIX PROGRAM ARGS...: runs a libbdus driver with
# --foreground ARGS in the background and waits for its device.  Sets
# PREFIX_PID, _ID and _DEV.
foreground_driver() {
	local prefix=$1 program=$2 dev out_var
	shift 2
	run_background "$prefix" 1 "$program" --foreground "$@" ||
		fail "$program $* made no device"
	out_var=${prefix}_OUT
	dev=$(head -n 1 "${!out_var}")
	printf -v "${prefix}_DEV" %s "$dev"
	printf -v "${prefix}_ID" %s "${dev#/dev/bdus-}"
	wait_for "[[ -b $dev ]]" 10 || fail "$dev did not appear"
}

# test_driver PREFIX ARGS...: foreground_driver with bdus-test-driver.
test_driver() {
	local prefix=$1
	shift
	foreground_driver "$prefix" bdus-test-driver "$@"
}

# Checks that a trace file has a line matching the extended regex.
expect_traced() {
	grep -Eq "^$2\$" "$1" || { cat "$1" >&2; fail "the driver did not see '$2'"; }
}
