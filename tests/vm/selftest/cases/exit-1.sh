#!/bin/bash
# SPDX-License-Identifier: MIT
# expect: ^exit status 1$
#
# Harness self-check: a failing exit status must be reported as FAIL.

echo "failing on purpose"
exit 1
