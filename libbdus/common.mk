# SPDX-License-Identifier: MIT
#
# Build settings shared by libbdus, cmd, drivers and the test programs.
# Include it after setting nothing; TOP and BUILD default to this checkout.

# Simply expanded: MAKEFILE_LIST changes as dependency files are included.
ifndef TOP
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
endif
BUILD ?= $(TOP)/build

comma := ,
include $(TOP)/version.mk

CC ?= cc
CFLAGS ?= -O2 -g
BDUS_CFLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread \
	-MMD -MP

# For programs that use libbdus from the build tree.  The run path lets them
# run from build/bin without installing anything, and from $(PREFIX)/bin
# once installed; packages build with BDUS_RPATH= (none: the library is in
# the linker's default path).
BDUS_RPATH ?= $$ORIGIN/../lib
LIBBDUS_CPPFLAGS := -I$(TOP)/libbdus/include
LIBBDUS_LDFLAGS := -L$(BUILD)/lib $(if $(BDUS_RPATH),-Wl$(comma)-rpath$(comma)'$(BDUS_RPATH)')
LIBBDUS_LDLIBS := -lbdus -pthread
LIBBDUS_SO := $(BUILD)/lib/libbdus.so
# What libbdus itself links with (liburing: Debian's liburing-dev).  Users of
# libbdus.so get them through its dependencies; users of libbdus.a add them
# (as bdus.pc's Libs.private says).
LIBBDUS_PRIVATE_LIBS := -luring -pthread

.DEFAULT_GOAL := all

# Built on demand when a program is made on its own (make -C drivers).
ifndef BDUS_BUILDING_LIBBDUS
$(LIBBDUS_SO):
	$(MAKE) -C $(TOP)/libbdus
endif
