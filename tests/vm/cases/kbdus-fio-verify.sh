#!/bin/bash
# SPDX-License-Identifier: MIT
# Data integrity over each protocol: fio crc32c verification, random and
# sequential, several block sizes, iodepth 16, two queues and two threads;
# and the uring protocol with 1, 2 and 4 queues.
# timeout: 600
source "$BDUS_ROOT/tests/vm/testlib.sh"

load_kbdus
for protocol in $PROTOCOLS; do
	start_driver D --protocol "$protocol" --size $((64 << 20)) --queues 2 --threads 2
	fio_verify "$D_DEV" --rw=randwrite --bs=4k --iodepth=16 --size=16M ||
		fail "$protocol: random 4k"
	fio_verify "$D_DEV" --rw=write --bs=128k --iodepth=16 --size=32M ||
		fail "$protocol: sequential 128k"
	fio_verify "$D_DEV" --rw=randwrite --bssplit=512/20:4k/40:64k/30:1m/10 \
		--iodepth=16 --size=16M --offset=32M ||
		fail "$protocol: mixed sizes"
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "$protocol: driver failed"
done

# The uring protocol with 1, 2 and 4 queues (blk-mq caps them to the CPUs),
# one fio job per queue on its own region.
for queues in 1 2 4; do
	start_driver D --protocol uring --size $((64 << 20)) --queues "$queues"
	fio_verify "$D_DEV" --rw=randwrite --bs=4k --iodepth=16 --size=16M \
		--numjobs=2 --offset_increment=16M || fail "uring, $queues queues"
	uapi-ctl destroy "$D_ID"
	wait_exit "$D_PID" || fail "uring, $queues queues: driver failed"
done
unload_kbdus
