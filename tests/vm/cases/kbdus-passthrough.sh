#!/bin/bash
# SPDX-License-Identifier: MIT
# Kernel-side passthrough through the raw interface (uapi-passthrough): every
# bad registration and every passthrough reply kbdus must refuse, each
# leaving the request with the driver; then, on each protocol, reads, writes,
# FUA writes, flushes, discards and write-zeros served from two tmpfs files
# at once and checked there; reads past a file's end and writes to a
# read-only file fail.
# timeout: 300
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
mkdir -p /tmp/pt
uapi-passthrough /tmp/pt || fail "passthrough checks failed"
wait_for '[[ -z $(uapi-ctl list) ]]' 30 || fail "devices left behind"
unload_kbdus
