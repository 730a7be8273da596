# SPDX-License-Identifier: MIT
#
# Helpers for the installation tests (sourced after testlib.sh).  The guest's
# root is the host's, read-only; these tests need a machine they can install
# software on, so they get one: an overlay of that root with a tmpfs upper
# layer, entered with chroot.  What a test installs lands in the upper layer,
# which also shows what an uninstall leaves behind.  Everything is undone
# when the test exits.

INSTALL_ROOT=
INSTALL_UPPER=

# Skips where an installation test cannot run or says nothing new.
require_install_prereqs() {
	command -v dkms >/dev/null || skip "dkms is not installed (scripts/setup installs it)"
	[[ -e /lib/modules/$KVER/build ]] || skip "no headers for $KVER"
	# The debug lane checks the module's memory safety, which these tests
	# do not add to; DKMS compiling under KASAN emulation would take long.
	if grep -qx 'CONFIG_KASAN=y' "/boot/config-$KVER" 2>/dev/null; then
		skip "installation is not tested on the debug kernel"
	fi
}

# install_test_kernel oldest|none: each installation test costs minutes
# (DKMS compiling and depmod indexing every module, under emulation; 512 s
# for install-make on 6.1, the longest test of make check), more than make
# check's budget allows: both are left to make check-install, which boots
# with bdus.install_tests=all and runs them on every kernel.  make check
# still builds the packages and runs lintian, on the host.
install_test_kernel() {
	local k kernels=() pick
	grep -qw 'bdus.install_tests=all' /proc/cmdline && return 0
	[[ $1 == none ]] && skip "make check-install runs this test"
	for k in /lib/modules/*/build; do
		k=${k%/build}
		k=${k##*/}
		[[ -e /boot/vmlinuz-$k ]] || continue
		grep -qx 'CONFIG_KASAN=y' "/boot/config-$k" 2>/dev/null && continue
		kernels+=("$k")
	done
	pick=$(printf '%s\n' "${kernels[@]}" | sort -V | head -n 1)
	[[ $KVER == "$pick" ]] ||
		skip "make check runs this test on the oldest kernel ($pick); make check-install on every kernel"
}

# Makes the writable root under a tmpfs of its own.
make_install_root() {
	local base
	base=$(mktemp -d /tmp/install-root.XXXXXX)
	mount -t tmpfs -o mode=755 tmpfs "$base"
	mkdir "$base/upper" "$base/work" "$base/root"
	modprobe -q overlay || true
	mount -t overlay overlay \
		-o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$base/root" ||
		fail "cannot mount an overlay of / (is overlayfs available?)"
	local m
	for m in dev dev/pts proc sys; do
		mount --bind "/$m" "$base/root/$m"
	done
	mount -t tmpfs -o mode=1777 tmpfs "$base/root/tmp"
	mount -t tmpfs -o mode=755 tmpfs "$base/root/run"
	# A machine with this kernel only: DKMS would build for the others too
	# (minutes each here), and they are tested in their own guests.
	for m in /lib/modules/*; do
		[[ ${m##*/} == "$KVER" ]] && continue
		mount -t tmpfs -o ro,mode=755 tmpfs "$base/root$m"
	done
	INSTALL_ROOT=$base/root INSTALL_UPPER=$base/upper
	trap destroy_install_root EXIT
}

destroy_install_root() {
	local base=${INSTALL_ROOT%/root} m
	[[ -n $INSTALL_ROOT ]] || return 0
	for m in /lib/modules/*; do
		[[ ${m##*/} == "$KVER" ]] || umount -l "$INSTALL_ROOT$m" 2>/dev/null
	done
	for m in run tmp sys proc dev/pts dev; do
		umount -l "$INSTALL_ROOT/$m" 2>/dev/null
	done
	umount -l "$INSTALL_ROOT" 2>/dev/null
	umount -l "$base" 2>/dev/null
	INSTALL_ROOT=
}

# in_root COMMAND: runs a bash command in the writable root as a clean root
# login would: the standard PATH only, so that nothing comes from build/.
in_root() {
	chroot "$INSTALL_ROOT" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		BDUS_ROOT="$BDUS_ROOT" KVER="$KVER" /bin/bash -euo pipefail -c "$1"
}

# What the installation left in the upper layer, one path per line: new
# files, links and whiteouts (deleted lower files), and lower files whose
# content changed.  Not the system's own state: the dynamic linker's cache,
# DKMS's signing key, caches and logs.
install_leftovers() {
	local path
	(cd "$INSTALL_UPPER" && find . -mindepth 1 \( -type f -o -type c -o -type l \) |
		sed 's|^\.||' | sort) | while IFS= read -r path; do
		case $path in
		/etc/ld.so.cache | /var/lib/dkms/mok.key | /var/lib/dkms/mok.pub | \
			/var/lib/dpkg/status-old | /var/cache/* | /var/log/* | \
			/root/.cache/*) continue ;;
		esac
		# A file rewritten with its old content (depmod's indexes).
		if [[ -f $INSTALL_UPPER$path && ! -L $INSTALL_UPPER$path && -f $path ]] &&
			cmp -s "$INSTALL_UPPER$path" "$path"; then
			continue
		fi
		echo "$path"
	done
}

# The end-to-end check of an installed BDUS, run in the writable root after
# kbdus was unloaded: libbdus loads the module that DKMS built for this
# kernel, a driver compiled with pkg-config serves a file system, and the
# CLI and the example drivers come from PATH.
check_installed_bdus() {
	local prefix=$1
	in_root "
		[[ \$(modinfo -n kbdus) == /lib/modules/$KVER/updates/dkms/kbdus.ko* ]] ||
			{ echo \"kbdus is not DKMS's: \$(modinfo -n kbdus)\"; exit 1; }
		[[ \$(command -v bdus) == $prefix/bin/bdus ]] || { echo 'bdus is not on PATH'; exit 1; }
		man -w bdus_run >/dev/null && man -w 8 bdus >/dev/null
		man -w bdus_aio_process >/dev/null && man -w 8 bdus-aio-ram >/dev/null
		printf '#include <bdus-aio.h>\nint f(void) { return bdus_aio_get_fd(0); }\n' |
			cc -x c -std=c99 -Wall -Werror -c \$(pkg-config --cflags bdus) -o /dev/null -
		cc -std=c11 -Wall -Werror \"\$BDUS_ROOT/docs/examples/first-driver.c\" \
			\$(pkg-config --cflags --libs bdus) -o /tmp/first-driver
		printf '#include <kbdus.h>\nint v = KBDUS_VERSION_MAJOR;\n' |
			cc -x c -c \$(pkg-config --cflags bdus) -o /dev/null -
		if ldd /tmp/first-driver | grep \"\$BDUS_ROOT\"; then exit 1; fi
		dev=\$(/tmp/first-driver)
		[[ \$dev == /dev/bdus-* && -e /sys/module/kbdus ]]
		mkfs.ext4 -q -F \"\$dev\"
		mkdir -p /tmp/mnt
		mount \"\$dev\" /tmp/mnt
		head -c 4M /dev/urandom >/tmp/data
		cp /tmp/data /tmp/mnt/data
		umount /tmp/mnt
		bdus flush \"\$dev\"
		mount \"\$dev\" /tmp/mnt
		cmp /tmp/data /tmp/mnt/data
		umount /tmp/mnt
		bdus list | grep \"^\${dev#/dev/} \" >/dev/null
		bdus destroy \"\$dev\"
		dev=\$(bdus-ram 8M)
		dd if=/dev/urandom of=\"\$dev\" bs=1M count=8 oflag=direct status=none
		bdus destroy \"\$dev\"
	" || fail "the installed BDUS does not work"
}
