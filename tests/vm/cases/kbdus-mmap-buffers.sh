#!/bin/bash
# SPDX-License-Identifier: MIT
# The mmap protocol with the driver's own payload buffers, through the raw
# interface (uapi-mmap-buffers): every bad KBDUS_IOCTL_MMAP_SET_BUFFERS is
# refused, data moves between the request and the driver's memory, another
# process cannot transceive, and memory that faults fails the call without
# losing the request (receive) or returning stale data (reply).
# timeout: 120
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
uapi-mmap-buffers || fail "mmap driver-buffer checks failed"
wait_for '[[ -z $(uapi-ctl list) ]]' 30 || fail "devices left behind"
unload_kbdus
