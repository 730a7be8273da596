#!/bin/bash
# SPDX-License-Identifier: MIT
# make install on a writable copy of the root: DKMS builds kbdus for this
# kernel, libbdus loads it on first use, a driver built with pkg-config
# serves a file system, the CLI works from PATH; then make uninstall leaves
# nothing behind.
# timeout: 1200
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-install.sh"

require_install_prereqs
install_test_kernel none
[[ -e /sys/module/kbdus ]] && unload_kbdus

make_install_root
info "make install"
in_root "make -C \"\$BDUS_ROOT\" install DKMS_KERNELS=\$KVER" >/tmp/install.log 2>&1 ||
	fail "make install: $(tail -n 20 /tmp/install.log)"
in_root "dkms status kbdus/0.1.3 -k \$KVER" | grep -q installed ||
	fail "dkms status: $(in_root 'dkms status')"

info "the installed BDUS"
check_installed_bdus /usr/local

info "make uninstall"
unload_kbdus
in_root "make -C \"\$BDUS_ROOT\" uninstall" >/tmp/uninstall.log 2>&1 ||
	fail "make uninstall: $(tail -n 20 /tmp/uninstall.log)"
left=$(install_leftovers)
[[ -z $left ]] || fail "make uninstall left: $left"
in_root "! modinfo kbdus >/dev/null 2>&1" || fail "kbdus is still installed"
