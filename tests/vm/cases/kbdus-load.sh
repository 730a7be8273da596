#!/bin/bash
# SPDX-License-Identifier: MIT
# timeout: 60
#
# kbdus.ko loads and unloads cleanly (the harness checks dmesg).

set -euo pipefail

if [[ ! -e $BDUS_KO ]]; then
	echo "kbdus.ko not built for $KVER ($BDUS_KO)" >&2
	exit 77
fi
insmod "$BDUS_KO"
[[ -d /sys/module/kbdus ]]
rmmod kbdus
[[ ! -d /sys/module/kbdus ]]
echo "ok: kbdus loaded and unloaded"
