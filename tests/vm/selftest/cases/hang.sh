#!/bin/bash
# SPDX-License-Identifier: MIT
# timeout: 10
# expect: ^timeout after [0-9]+s
#
# Harness self-check: a hung test must be reported as FAIL at its timeout,
# and the next test must run in a fresh VM.

echo "hanging on purpose"
sleep infinity
