#!/bin/bash
# SPDX-License-Identifier: MIT
# Waiting for requests with poll(2) and epoll, and non-blocking receives,
# through the raw interface (uapi-poll): readiness exactly while a receive
# would not wait, EPOLLERR where no receive can work, and one thread serving
# an ioctl and an mmap device from one epoll set.
# timeout: 120
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
uapi-poll || fail "poll checks failed"
wait_for '[[ -z $(uapi-ctl list) ]]' 30 || fail "devices left behind"
unload_kbdus
