#!/bin/bash
# SPDX-License-Identifier: MIT
# A BDUS device exported with standard servers (docs/network.md), checked
# from clients in the same guest over the loopback address:
#   - NBD: nbdkit's file plugin serves the device over TCP; through the
#     kernel's NBD client fio verifies crc32c, nbdinfo and qemu-img (two
#     independent clients) see its size and read back exactly what the
#     device holds, and an ext4 made through the network checks clean on
#     the device itself;
#   - NVMe over TCP: the kernel's own target (nvmet, nvmet-tcp, set up
#     through configfs) exports the device, nvme connect attaches it, fio
#     verifies through it, and an XFS made through it checks clean on the
#     device itself.  Skipped where the kernel has no nvmet-tcp.
# timeout: 900
source "$BDUS_ROOT/tests/vm/testlib.sh"
source "$BDUS_ROOT/tests/vm/testlib-libbdus.sh"

PORT=10809
NQN=nqn.2026-12.org.bdus:export-test
CFG=/sys/kernel/config/nvmet

# The device's first 32 MiB (where fio wrote) as a client read them (a
# block device, or a file a client wrote), against the device itself.
same_as_device() {
	local direct=
	[[ -b $1 ]] && direct=iflag=direct
	cmp <(dd if="$1" bs=1M count=32 $direct status=none) \
		<(dd if="$R_DEV" bs=1M count=32 iflag=direct status=none)
}

load_kbdus
foreground_driver R bdus-ram --protocol uring --concurrency 2 512M

info "NBD: nbdkit's file plugin, over TCP"
modprobe nbd nbds_max=1 || fail "modprobe nbd"
nbdkit --foreground --exit-with-parent -i 127.0.0.1 -p $PORT file "$R_DEV" \
	2>/tmp/nbdkit.err &
nbdkit_pid=$!
wait_for "nbdinfo --size nbd://127.0.0.1:$PORT >/dev/null 2>&1" 30 ||
	fail "nbdkit did not start: $(cat /tmp/nbdkit.err)"
(($(nbdinfo --size nbd://127.0.0.1:$PORT) == 512 << 20)) ||
	fail "nbdinfo: size $(nbdinfo --size nbd://127.0.0.1:$PORT)"
nbd-client 127.0.0.1 $PORT /dev/nbd0 >/tmp/nbd-client.out 2>&1 ||
	fail "nbd-client: $(cat /tmp/nbd-client.out)"
wait_for "(( \$(blockdev --getsize64 /dev/nbd0 2>/dev/null || echo 0) == 512 << 20 ))" 10 ||
	fail "/dev/nbd0 did not connect"
fio_verify /dev/nbd0 --rw=randwrite --bs=4k --size=32M --iodepth=16 ||
	fail "fio verify through NBD"
# nbdkit writes through the device's page cache: flush it before reading
# the device with O_DIRECT.
blockdev --flushbufs /dev/nbd0 "$R_DEV"
same_as_device /dev/nbd0 || fail "the NBD client reads other data than the device holds"
qemu-img dd -f raw -O raw bs=1M count=32 if=nbd://127.0.0.1:$PORT of=/tmp/qemu-copy.img ||
	fail "qemu-img dd from NBD"
same_as_device /tmp/qemu-copy.img || fail "qemu-img read other data than the device holds"
rm -f /tmp/qemu-copy.img

info "NBD: an ext4 made through the network"
mkfs.ext4 -q -F /dev/nbd0 || fail "mkfs.ext4 over NBD"
mkdir -p /tmp/mnt
mount /dev/nbd0 /tmp/mnt || fail "mount over NBD"
dd if=/dev/urandom of=/tmp/mnt/file bs=1M count=16 status=none
sha256sum /tmp/mnt/file | cut -d' ' -f1 >/tmp/sum
umount /tmp/mnt
nbd-client -d /dev/nbd0 >/dev/null 2>&1 || fail "nbd-client -d"
kill "$nbdkit_pid"
wait "$nbdkit_pid" 2>/dev/null || true
blockdev --flushbufs "$R_DEV"
e2fsck -fn "$R_DEV" >/tmp/fsck.out 2>&1 || fail "e2fsck on the device: $(cat /tmp/fsck.out)"
mount "$R_DEV" /tmp/mnt || fail "mounting the device itself"
[[ $(sha256sum /tmp/mnt/file | cut -d' ' -f1) == "$(cat /tmp/sum)" ]] ||
	fail "the file written through NBD differs on the device"
umount /tmp/mnt
rmmod nbd

if modprobe nvmet-tcp 2>/dev/null && modprobe nvme-tcp 2>/dev/null; then
	info "NVMe over TCP: the kernel's nvmet target"
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	sub=$CFG/subsystems/$NQN
	mkdir "$sub" || fail "configfs: $sub"
	echo 1 >"$sub/attr_allow_any_host"
	mkdir "$sub/namespaces/1"
	echo -n "$R_DEV" >"$sub/namespaces/1/device_path"
	echo 1 >"$sub/namespaces/1/enable" || fail "nvmet would not enable $R_DEV"
	mkdir "$CFG/ports/1"
	echo tcp >"$CFG/ports/1/addr_trtype"
	echo ipv4 >"$CFG/ports/1/addr_adrfam"
	echo 127.0.0.1 >"$CFG/ports/1/addr_traddr"
	echo 4420 >"$CFG/ports/1/addr_trsvcid"
	ln -s "$sub" "$CFG/ports/1/subsystems/$NQN"
	nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$NQN" \
		--hostnqn "nqn.2014-08.org.nvmexpress:uuid:$(cat /proc/sys/kernel/random/uuid)" \
		>/tmp/nvme.out 2>&1 || fail "nvme connect: $(cat /tmp/nvme.out)"
	wait_for "ls /dev/nvme*n1 >/dev/null 2>&1" 30 || fail "no NVMe namespace appeared"
	nvme_dev=$(ls /dev/nvme*n1 | head -n 1)
	(($(blockdev --getsize64 "$nvme_dev") == 512 << 20)) ||
		fail "$nvme_dev: size $(blockdev --getsize64 "$nvme_dev")"
	fio_verify "$nvme_dev" --rw=randwrite --bs=4k --size=32M --iodepth=16 ||
		fail "fio verify through NVMe/TCP"
	same_as_device "$nvme_dev" || fail "the NVMe client reads other data than the device holds"

	info "NVMe over TCP: an XFS made through the network"
	mkfs.xfs -q -f "$nvme_dev" || fail "mkfs.xfs over NVMe/TCP"
	mount "$nvme_dev" /tmp/mnt || fail "mount over NVMe/TCP"
	dd if=/dev/urandom of=/tmp/mnt/file bs=1M count=16 status=none
	sha256sum /tmp/mnt/file | cut -d' ' -f1 >/tmp/sum
	umount /tmp/mnt
	nvme disconnect -n "$NQN" >/dev/null || fail "nvme disconnect"
	rm "$CFG/ports/1/subsystems/$NQN"
	rmdir "$CFG/ports/1"
	echo 0 >"$sub/namespaces/1/enable"
	rmdir "$sub/namespaces/1" "$sub"
	xfs_repair -n "$R_DEV" >/tmp/repair.out 2>&1 ||
		fail "xfs_repair on the device: $(cat /tmp/repair.out)"
	mount "$R_DEV" /tmp/mnt || fail "mounting the device itself"
	[[ $(sha256sum /tmp/mnt/file | cut -d' ' -f1) == "$(cat /tmp/sum)" ]] ||
		fail "the file written through NVMe/TCP differs on the device"
	umount /tmp/mnt
else
	info "no nvmet-tcp or nvme-tcp in $(uname -r): skipping NVMe over TCP"
fi

bdus destroy "$R_ID"
wait_exit "$R_PID" || fail "the driver exited with $?: $(cat "$R_ERR")"
unload_kbdus
