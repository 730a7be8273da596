# SPDX-License-Identifier: MIT
#
# Host-side helpers shared by scripts/vm-exec, tests/vm/run and friends.
# Source it; it defines functions only.

# Kernels a VM can boot and a module can be built for: an image in /boot and
# headers in /lib/modules/V/build.  Oldest first.  The debug kernel of `make
# check-debug` (release *-kbdus-debug) is left out: ask for it by name
# (KERNELS=..., vm-exec --kernel).
bdus_kernels() {
	local d v
	for d in /lib/modules/*/build; do
		[[ -d $d ]] || continue
		v=${d%/build}
		v=${v##*/}
		[[ $v == *-kbdus-debug ]] && continue
		[[ -e /boot/vmlinuz-$v ]] && printf '%s\n' "$v"
	done | sort -V
}

bdus_newest_kernel() {
	bdus_kernels | tail -n 1
}

# How much slower than a stock kernel kernel $1 runs under TCG:
# BDUS_VM_TIMEOUT_SCALE, else 6 for a debug kernel (KASAN, lockdep,
# kmemleak), else 1.  Timeouts and hang bounds are multiplied by it.
bdus_timeout_scale() {
	if [[ -n ${BDUS_VM_TIMEOUT_SCALE:-} ]]; then
		echo "$BDUS_VM_TIMEOUT_SCALE"
	elif grep -qx 'CONFIG_KASAN=y' "/boot/config-$1" 2>/dev/null; then
		echo 6
	else
		echo 1
	fi
}

# Keep the newest of the kernels given as arguments.
bdus_newest_of() {
	printf '%s\n' "$@" | sort -V | tail -n 1
}
