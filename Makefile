# SPDX-License-Identifier: MIT
#
# Top-level build.  Every output goes under build/:
#   build/kbdus/<kernel>/kbdus.ko   the module, once per kernel with headers
#   build/lib/                      libbdus.so, libbdus.a, bdus.pc
#   build/bin/                      the bdus CLI, the example drivers, test programs
#
# KDIR=/path/to/kernel/build builds the module for that kernel only.

export TOP := $(CURDIR)
export BUILD := $(TOP)/build

.PHONY: all module lib cmd drivers tests check demo bench clean setup

include version.mk

all: module lib cmd drivers tests

module:
	$(MAKE) -C kbdus

lib:
	$(MAKE) -C libbdus

cmd: lib
	$(MAKE) -C cmd

drivers: lib
	$(MAKE) -C drivers

tests: lib
	$(MAKE) -C tests

setup:
	@if [ "$$(id -u)" -eq 0 ]; then scripts/setup; else sudo scripts/setup; fi

# The README's test command: the Debian packages (which the VM tests
# install), sparse on the module, host tests, the harness self-check, then
# every VM test on every kernel.  Ends with "N passed, N failed".
check: setup
	$(MAKE) all
	$(MAKE) deb
	$(MAKE) -C kbdus sparse
	tests/run

# The README's main job: serve a real device from the ram driver in a VM.
demo: setup
	$(MAKE) all
	scripts/demo

bench: setup
	$(MAKE) all
	bench/run

# Long-running stress (not part of check): DURATION=10m, KERNELS=...
.PHONY: soak
soak: setup
	$(MAKE) all
	tests/soak/run

# The VM tests on a debug kernel (KASAN, lockdep, UBSAN, kmemleak, KFENCE)
# built from Debian's linux-source-6.12 and cached; not part of check.  See
# tests/vm/README.md.  TESTS='glob ...' selects tests.
.PHONY: check-debug
check-debug: setup
	tests/debug-kernel/build
	$(MAKE) all
	tests/debug-kernel/check

# make install, make uninstall: see install.mk (PREFIX, DESTDIR, DKMS...).
include install.mk

# The installation tests on every kernel (make check runs each on one).
.PHONY: check-install
check-install: setup
	$(MAKE) all
	$(MAKE) deb
	BDUS_VM_APPEND=bdus.install_tests=all tests/vm/run TESTS='install-*'

# Debian packages (debian/), built from a copy of the tracked and untracked
# (not ignored) files, so that the build tree and its outputs stay out:
# build/deb/*.deb, then lintian's verdict (warnings fail too: there are
# none to explain today).
DEB_SRC := $(BUILD)/deb/bdus-$(BDUS_VERSION)
.PHONY: deb
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(DEB_SRC)
	git ls-files -z --cached --others --exclude-standard | \
		xargs -0 cp --parents -t $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning $(BUILD)/deb/*.changes

clean:
	rm -rf $(BUILD)
