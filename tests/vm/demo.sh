#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The main job, run inside the VM by scripts/demo: load kbdus, serve a device
# from the ram driver, put ext4 on it, write files, remount and verify them,
# show `bdus list` and `bdus info`, destroy the device, unload the module.

set -euo pipefail

step() { printf '\n== %s\n' "$*"; }
failed() {
	echo
	echo "demo: FAILED ($*)"
	exit 1
}
trap 'failed "the step above failed (line $LINENO)"' ERR

mnt=/tmp/demo-mnt
files=32

step "kernel $(uname -r): loading kbdus"
[[ -e $BDUS_KO ]] || failed "kbdus.ko is not built for $KVER; run make"
insmod "$BDUS_KO"
bdus version

step "bdus-ram --concurrency 4 256M (prints its device, then daemonizes)"
dev=$(bdus-ram --concurrency 4 256M)
echo "device: $dev"

step "bdus list"
bdus list
step "bdus info $dev"
bdus info "$dev"

step "mkfs.ext4 $dev, mount, write $files files of random data"
mkfs.ext4 -q -F "$dev"
mkdir -p "$mnt"
mount "$dev" "$mnt"
for i in $(seq 1 "$files"); do
	head -c $((256 << 10)) /dev/urandom >"$mnt/file$i"
done
(cd "$mnt" && sha256sum file* >/tmp/demo-sums)
df -h "$mnt"

step "unmount, fsck, remount, verify checksums (reads come from the driver)"
umount "$mnt"
fsck.ext4 -fn "$dev"
mount "$dev" "$mnt"
(cd "$mnt" && sha256sum --quiet -c /tmp/demo-sums)
echo "all $files checksums match"
umount "$mnt"

step "bdus destroy $dev"
bdus destroy "$dev"
[[ ! -e $dev ]] || failed "$dev still exists after destroy"
pgrep -x bdus-ram >/dev/null && failed "bdus-ram is still running"
rmmod kbdus

if dmesg | grep -qE 'BUG:|WARNING:|Oops|Call Trace|blocked for more than'; then
	dmesg | tail -n 40
	failed "the kernel reported a problem (dmesg above)"
fi

echo
echo "demo: OK - ext4 on $dev, served by the user-space ram driver on $(uname -r):"
echo "      $files files written, remounted and verified; device destroyed, kbdus unloaded"
