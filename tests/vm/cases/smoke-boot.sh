#!/bin/bash
# SPDX-License-Identifier: MIT
# timeout: 120
#
# The guest sees the repo and its environment, and the kernel autoloads
# modules from the host's /lib/modules: loop device, ext4, mount.

set -euo pipefail

[[ -x $BDUS_ROOT/tests/vm/run && $PWD == "$BDUS_ROOT" ]]
[[ $KVER == "$(uname -r)" && $BDUS_KO == "$BDUS_ROOT/build/kbdus/$KVER/kbdus.ko" ]]
[[ :$PATH: == *":$BDUS_ROOT/build/bin:"* ]]
if touch "$BDUS_ROOT/.vm-write-test" 2>/dev/null; then
	echo "the host root should be read-only" >&2
	exit 1
fi

img=$(mktemp /tmp/smoke.XXXXXX)
mnt=$(mktemp -d /tmp/smoke-mnt.XXXXXX)
truncate -s 64M "$img"
dev=$(losetup --find --show "$img")
trap 'umount "$mnt" 2>/dev/null || true; losetup -d "$dev"; rm -rf "$img" "$mnt"' EXIT
mkfs.ext4 -q "$dev"
mount "$dev" "$mnt"
echo hello >"$mnt/file"
sync
[[ $(cat "$mnt/file") == hello ]]
umount "$mnt"
echo "ok: $KVER sees $BDUS_ROOT; $dev formatted and mounted"
