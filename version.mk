# SPDX-License-Identifier: MIT
#
# The BDUS version (libbdus, the bdus command and kbdus are released
# together) and libbdus's soname, for every Makefile.
BDUS_VERSION := 0.1.3
BDUS_SONAME := libbdus.so.0.1
