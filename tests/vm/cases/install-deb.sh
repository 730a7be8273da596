#!/bin/bash
# SPDX-License-Identifier: MIT
# The Debian packages of `make deb` (build/deb), installed with apt on a
# writable copy of the root: bdus-dkms builds kbdus with DKMS, libbdus loads
# it on first use, a driver built with pkg-config serves a file system, the
# CLI works from PATH; then apt purge leaves nothing behind.
# timeout: 1500
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-install.sh"

require_install_prereqs
install_test_kernel none
debs=()
for p in bdus-dkms libbdus0.1 libbdus-dev bdus; do
	f=$(ls "$BDUS_ROOT"/build/deb/"$p"_*.deb 2>/dev/null | head -n 1)
	[[ -n $f ]] || fail "no $p package in build/deb: run make deb (make check does)"
	debs+=("$f")
done
[[ -e /sys/module/kbdus ]] && unload_kbdus

make_install_root
# man-db's trigger would rebuild its whole index, slowly under emulation.
# apt gets no package lists: the dependencies must already be installed
# (the guest cannot download), whatever the host's apt state.
rm -f "$INSTALL_ROOT/var/lib/man-db/auto-update"
mkdir -p "$INSTALL_ROOT/tmp/lists/partial"
apt_opts="-o Dpkg::Use-Pty=0 -o Dir::State::Lists=/tmp/lists -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache="
info "apt install ${debs[*]##*/}"
in_root "apt-get install -y $apt_opts ${debs[*]}" \
	>/tmp/apt.log 2>&1 || fail "apt install: $(tail -n 20 /tmp/apt.log)"
in_root "dkms status kbdus/0.1.3 -k \$KVER" | grep -q installed ||
	fail "dkms status: $(in_root 'dkms status'; tail -n 20 /tmp/apt.log)"

info "the installed BDUS"
check_installed_bdus /usr

info "apt purge"
unload_kbdus
in_root "apt-get purge -y $apt_opts bdus-dkms libbdus0.1 libbdus-dev bdus" \
	>/tmp/purge.log 2>&1 || fail "apt purge: $(tail -n 20 /tmp/purge.log)"
touch "$INSTALL_ROOT/var/lib/man-db/auto-update" 2>/dev/null || true
left=$(install_leftovers)
[[ -z $left ]] || fail "apt purge left: $left"
in_root "! modinfo kbdus >/dev/null 2>&1" || fail "kbdus is still installed"
