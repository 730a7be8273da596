# SPDX-License-Identifier: MIT
# Helpers for the zoned device tests (kbdus-zoned, libbdus-zoned).
# Zones are 1 MiB (2048 sectors) unless a test says otherwise.

ZONE_SECTORS=${ZONE_SECTORS:-2048}

# Sourcing it skips the test on a kernel without zoned devices.
grep -q '^CONFIG_BLK_DEV_ZONED=y' "/boot/config-$(uname -r)" ||
	skip "$(uname -r) has no CONFIG_BLK_DEV_ZONED"

# zone_field DEV ZONE FIELD: a field of blkzone's report of one zone:
# wptr (sectors from the zone's start) or zcond (its number).
zone_field() {
	blkzone report -o $(($2 * ZONE_SECTORS)) -c 1 "$1" |
		sed -n "s/.*$3:* *\(0x[0-9a-f]*\|[0-9]*\).*/\1/p" | head -n 1
}

# expect_zone DEV ZONE COND WPTR: zone ZONE's condition and write pointer.
expect_zone() {
	local cond wptr
	cond=$(zone_field "$1" "$2" zcond)
	wptr=$(zone_field "$1" "$2" wptr)
	((cond == $3 && wptr == $4)) ||
		fail "zone $2: condition $cond and write pointer $wptr," \
			"expected $3 and $4: $(blkzone report -o $(($2 * ZONE_SECTORS)) -c 1 "$1")"
}

# write_at DEV OFFSET BYTES: one direct write.
write_at() {
	dd if=/dev/urandom of="$1" bs="$3" count=1 seek="$2" oflag=direct,seek_bytes \
		status=none 2>/dev/null
}

# zoned_files FSTYPE DEV: mounts DEV on /tmp/zmnt, writes four files, keeps
# their checksums in /tmp/zsums and unmounts.
zoned_files() {
	mkdir -p /tmp/zmnt
	mount -t "$1" "$2" /tmp/zmnt || fail "mount $1: $(dmesg | tail -n 5)"
	for i in 1 2 3 4; do
		dd if=/dev/urandom of=/tmp/zmnt/f$i bs=1M count=4 status=none ||
			fail "writing f$i"
	done
	(cd /tmp/zmnt && sha256sum f1 f2 f3 f4) >/tmp/zsums
	umount /tmp/zmnt || fail "umount"
}

# zoned_files_check FSTYPE DEV: mounts DEV again and checks the files.
# Leaves it mounted.
zoned_files_check() {
	mount -t "$1" "$2" /tmp/zmnt || fail "mount $1 again"
	(cd /tmp/zmnt && sha256sum -c --quiet /tmp/zsums) || fail "files changed"
}

# zoned_btrfs DEV: mkfs -O zoned (whose data writes are zone appends),
# files written, checked after a remount, and a clean scrub.
zoned_btrfs() {
	local dev=$1
	mkfs.btrfs -q -f -O zoned -d single -m single "$dev" >/tmp/mkfs.out 2>&1 ||
		fail "mkfs.btrfs -O zoned: $(cat /tmp/mkfs.out)"
	zoned_files btrfs "$dev"
	zoned_files_check btrfs "$dev"
	zoned_scrub
}

# zoned_scrub: a clean scrub of the btrfs on /tmp/zmnt, then unmounts it.
zoned_scrub() {
	btrfs scrub start -B /tmp/zmnt >/tmp/scrub.out 2>&1 ||
		fail "scrub: $(cat /tmp/scrub.out)"
	grep -q "no errors found\\|Error summary: *no errors" /tmp/scrub.out ||
		fail "scrub: $(cat /tmp/scrub.out)"
	umount /tmp/zmnt || fail "umount after scrub"
}

# zoned_f2fs DEV: mkfs.f2fs -m (its metadata goes on the conventional
# zones, its logs on the sequential ones), files written, a clean
# fsck.f2fs, which also checks every write pointer, and the files checked
# after a remount.
zoned_f2fs() {
	local dev=$1
	mkfs.f2fs -f -m "$dev" >/tmp/mkfs.out 2>&1 ||
		fail "mkfs.f2fs -m: $(cat /tmp/mkfs.out)"
	zoned_files f2fs "$dev"
	fsck.f2fs -f "$dev" >/tmp/fsck.out 2>&1 || fail "fsck.f2fs: $(cat /tmp/fsck.out)"
	zoned_files_check f2fs "$dev"
	umount /tmp/zmnt || fail "umount"
}
