# SPDX-License-Identifier: MIT
#
# The soak guest's chaos actions; sourced by tests/soak/guest, whose helpers
# and state they use.

# --- Chaos.

# Waits up to 5 s for requests in flight on bdus-$1, so that kills and
# replacements hit I/O.
wait_inflight() {
	# shellcheck disable=SC2034 # set by the condition
	local r w
	wait_until "read -r r w </sys/block/bdus-$1/inflight 2>/dev/null && ((r + w > 0))" 5 || true
}

live_slots() {
	local s
	for s in "$W"/slot/*; do
		[[ -e $s/dead || $(slot_get "${s##*/}" state) != up || -e $s/killed ]] && continue
		[[ ${s##*/} == $1* ]] || continue
		[[ -z ${2:-} || -n $(slot_get "${s##*/}" file) ]] || continue
		printf '%s ' "${s##*/}"
	done
}

# kill -9 a recoverable device's driver, then attach a new one (any
# protocol): the device waits meanwhile and must lose nothing.
chaos_kill_rec() {
	local s id drv pid file proto name rc
	read -ra c <<<"$(live_slots r)"
	((${#c[@]})) || return 0
	s=$(pick "${c[@]}")
	id=$(slot_get "$s" id) drv=$(slot_get "$s" drv) file=$(slot_get "$s" file)
	read -r pid <"$W/drv/$drv.pid"
	is_driver "$pid" || { failure "$s: driver $drv (pid $pid) is not running"; : >"$W/slot/$s/dead"; return; }
	wait_inflight "$id"
	kill -9 "$pid"
	log "$s: killed $drv (pid $pid)"
	if ! wait_until "drv_exited $drv" "$OP_BOUND"; then
		hang "$s: killed driver $drv (pid $pid) did not exit"
		: >"$W/slot/$s/dead"
		return
	fi
	rc=$(drv_rc "$drv")
	((rc == 137)) || failure "$s: killed driver $drv exited with $rc"
	if ! wait_until "[[ \$(state_of $id) == inactive ]]" "$OP_BOUND"; then
		hang "$s: bdus-$id is '$(state_of "$id")', not inactive, after its driver died"
		: >"$W/slot/$s/dead"
		return
	fi
	snooze $((RANDOM % 3))
	for _ in 1 2 3; do
		proto=$(pick "${PROTOCOLS[@]}")
		SEQ=$((SEQ + 1))
		name=$s-$WHO$SEQ
		drv_start "$name" bdus-loop --rerun "$id" --protocol "$proto" \
			--concurrency $((1 + RANDOM % 3)) "$file"
		rc=$?
		((rc == 1)) || break
		snooze 1
	done
	if ((rc)); then
		: >"$W/slot/$s/dead"
		return
	fi
	slot_set "$s" drv "$name"
	if [[ $(state_of "$id") != active ]]; then
		failure "$s: bdus-$id is '$(state_of "$id")' after the new driver attached"
		return
	fi
	event KILL_SURVIVED "$id"
	say "$s: bdus-$id survived kill -9 of $drv; now $name over $proto"
}

# A new bdus-loop replaces a live one (recoverable or not): the old one must
# exit 0 and the device must lose nothing.
chaos_replace() {
	local s id old file proto name rc
	read -ra c <<<"$(live_slots '' loop)"
	((${#c[@]})) || return 0
	s=$(pick "${c[@]}")
	id=$(slot_get "$s" id) old=$(slot_get "$s" drv) file=$(slot_get "$s" file)
	proto=$(pick "${PROTOCOLS[@]}")
	SEQ=$((SEQ + 1))
	name=$s-$WHO$SEQ
	wait_inflight "$id"
	drv_start "$name" bdus-loop --rerun "$id" --protocol "$proto" \
		--concurrency $((1 + RANDOM % 3)) "$file"
	rc=$?
	if ((rc == 2)); then
		: >"$W/slot/$s/dead"
		return
	fi
	((rc)) && return
	slot_set "$s" drv "$name"
	if ! wait_until "drv_exited $old" "$OP_BOUND"; then
		hang "$s: replaced driver $old still running ${OP_BOUND}s after $name took over"
		return
	fi
	rc=$(drv_rc "$old")
	if ((rc != 0)); then
		failure "$s: replaced driver $old exited with $rc: $(tail -n 2 "$W/drv/$old.err" | tr '\n' ' ')"
		return
	fi
	if [[ $(state_of "$id") != active ]]; then
		failure "$s: bdus-$id is '$(state_of "$id")' after the replacement"
		return
	fi
	event REPLACE_SURVIVED "$id"
	say "$s: bdus-$id: $old replaced live by $name over $proto"
}

# kill -9 a non-recoverable device's driver: its fio must fail and the
# device go away; the slot's worker then creates a new device.
chaos_kill_nonrec() {
	local s drv pid id
	read -ra c <<<"$(live_slots n)"
	((${#c[@]})) || return 0
	s=$(pick "${c[@]}")
	id=$(slot_get "$s" id) drv=$(slot_get "$s" drv)
	read -r pid <"$W/drv/$drv.pid"
	is_driver "$pid" || { failure "$s: driver $drv (pid $pid) is not running"; return; }
	wait_inflight "$id"
	now
	printf '%s %s\n' "$NOWF" "$drv" >"$W/slot/$s/killed"
	kill -9 "$pid"
	event KILL_NONREC "$id"
	say "$s: killed $drv (pid $pid), the driver of non-recoverable bdus-$id"
}

# An extra device: any driver and protocol, recoverable or not, sometimes
# with unverified fio load that runs until the device is destroyed.
chaos_extra_create() {
	local drv proto size name file='' load='' args rc
	drv=$(pick ram zero loop)
	proto=$(pick ioctl mmap uring default)
	size=$(pick 16 32)
	SEQ=$((SEQ + 1))
	name=x-$SEQ
	args=(--queues $((1 + RANDOM % 2)) --concurrency $((1 + RANDOM % 3)))
	[[ $proto != default ]] && args+=(--protocol "$proto")
	((RANDOM % 2)) && args+=(--recoverable)
	if [[ $drv == loop ]]; then
		file=$W/$name.img
		truncate -s "${size}M" "$file"
		drv_start "$name" bdus-loop "${args[@]}" "$file"
	else
		drv_start "$name" "bdus-$drv" "${args[@]}" "${size}M"
	fi
	rc=$?
	if ((rc)); then
		[[ -n $file ]] && rm -f "$file"
		return
	fi
	event CREATED "$DRV_ID"
	if ((RANDOM % 2)); then
		(cd "$W/tmp" && exec fio --name=load --filename="$DRV_DEV" --allow_file_create=0 --direct=1 --thread \
			--rw=randrw --bs=4k --ioengine=libaio --iodepth=8 --time_based \
			--runtime=100000 --output-format=terse) >"$W/extra/$DRV_ID.load" 2>&1 &
		load=$!
	fi
	printf '%s %s %s\n' "$name" "$file" "$load" >"$W/extra/$DRV_ID"
	log "extra bdus-$DRV_ID: $name ${args[*]}${load:+, with fio load $load}"
}

# destroy_dev ID MODE: bdus destroy [--no-flush] ID, bounded, then checks the
# device is gone.  Returns 2 on a hang.
destroy_dev() {
	local id=$1 mode=$2 rc
	if [[ $mode == no-flush ]]; then
		bounded "$OP_BOUND" "$W/destroy.out" bdus destroy --no-flush "$id"
	else
		bounded "$OP_BOUND" "$W/destroy.out" bdus destroy "$id"
	fi
	rc=$?
	((rc == 124)) && return 2
	if ((rc)); then
		failure "bdus destroy ($mode) bdus-$id failed ($rc): $(tr '\n' ' ' <"$W/destroy.out")"
		return 1
	fi
	if ! dev_gone "$id"; then
		failure "bdus-$id still there after bdus destroy returned"
		wait_until "dev_gone $id" "$OP_BOUND" || { hang "bdus-$id never went away"; return 2; }
	fi
	event DESTROYED "$id"
}

chaos_extra_destroy() {
	local x id name file load pid rec mode rc expect=0
	local xs=("$W"/extra/*[0-9])
	((${#xs[@]})) || return 0
	x=$(pick "${xs[@]}")
	id=${x##*/}
	read -r name file load <"$x"
	read -r pid <"$W/drv/$name.pid"
	read -r rec <"/sys/block/bdus-$id/bdus/recoverable" 2>/dev/null || rec='?'
	mode=$(pick flush no-flush kill)
	if [[ $mode == kill ]]; then
		# Recoverable: kill, then destroy the driverless device
		# (--no-flush: a flush would wait for a driver).
		# Non-recoverable: the device goes with its driver.
		expect=137
		kill -9 "$pid"
		if ! wait_until "drv_exited $name" "$OP_BOUND"; then
			hang "extra bdus-$id: killed driver $name did not exit"
			rm -f "$x"
			return
		fi
		if [[ $rec == 1 ]]; then
			if ! wait_until "[[ \$(state_of $id) == inactive ]]" "$OP_BOUND"; then
				hang "extra bdus-$id: '$(state_of "$id")', not inactive, after its driver died"
				rm -f "$x"
				return
			fi
			destroy_dev "$id" no-flush
			rc=$?
			mode="kill, destroy --no-flush"
		else
			if wait_until "dev_gone $id" "$OP_BOUND"; then
				event DESTROYED "$id"
				rc=0
			else
				hang "extra bdus-$id still there after its driver was killed"
				rc=2
			fi
		fi
	else
		destroy_dev "$id" "$mode"
		rc=$?
	fi
	rm -f "$x"
	((rc == 2)) && return
	if ! wait_until "drv_exited $name" "$OP_BOUND"; then
		hang "extra bdus-$id: driver $name still running after the device went away"
		return
	fi
	[[ $(drv_rc "$name") == "$expect" ]] ||
		failure "extra bdus-$id: driver $name exited with $(drv_rc "$name"), expected $expect"
	if [[ -n $load ]] && ! wait_until "! running $load" "$OP_BOUND"; then
		hang "extra bdus-$id: fio load still running after the device went away"
		kill -9 "$load" 2>/dev/null
	fi
	[[ -n $file ]] && rm -f "$file"
	say "extra bdus-$id ($name${load:+, under load}) destroyed: $mode"
}

# --inject corrupt: zero r-mmap's backing file behind its driver's back, so
# that the blocks fio wrote before read back wrong.
inject_corruption() {
	local file
	file=$(slot_get r-mmap file)
	[[ -n $file ]] || return 0
	dd if=/dev/zero of="$file" bs=1M count="$DEV_MIB" conv=notrunc status=none
	log "injected corruption: zeroed $file"
}

# Rounds of the five kinds of action, shuffled, so that even a short run
# does each of them.
chaos() {
	local n xs round=() i j t
	WHO=chaos
	RANDOM=$((SEED * 31 + 17))
	while [[ ! -e $W/stop ]]; do
		snooze $((1 + RANDOM % 3))
		[[ -e $W/stop ]] && break
		[[ $INJECT == corrupt ]] && inject_corruption
		if ((${#round[@]} == 0)); then
			round=(kill_rec replace kill_nonrec extra extra)
			for ((i = ${#round[@]} - 1; i > 0; i--)); do
				j=$((RANDOM % (i + 1)))
				t=${round[i]} round[i]=${round[j]} round[j]=$t
			done
		fi
		t=${round[0]}
		round=("${round[@]:1}")
		xs=("$W"/extra/*[0-9])
		n=${#xs[@]}
		case $t in
		kill_rec) chaos_kill_rec ;;
		replace) chaos_replace ;;
		kill_nonrec) chaos_kill_nonrec ;;
		extra)
			if ((n == 0 || (n < MAX_EXTRA && RANDOM % 2))); then
				chaos_extra_create
			else
				chaos_extra_destroy
			fi
			;;
		esac
	done
	log "chaos done"
	: >"$W/chaos.done"
}

