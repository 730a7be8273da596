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

.PHONY: all module lib cmd drivers tests check demo bench install clean setup

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

# The README's test command: sparse on the module, host tests, the harness
# self-check, then every VM test on every kernel.  Ends with "N passed, N failed".
check: setup
	$(MAKE) all
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

install:
	@echo "make install: not implemented yet" >&2; exit 1

clean:
	rm -rf $(BUILD)
