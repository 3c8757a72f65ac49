# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# VM snapshots: migrate to file: over QMP, savevm/info snapshots/delvm in the human monitor, and
# -incoming file: in a new process. The counter guest (guests/counter.c) must go on with the next
# number, no gap and no repeat. Broken, foreign and mismatching state files end kvmini with exit 1
# and one line. Uses qm_start/qm_talk/qm_expect/qm_wait from test_qmp.sh.

# A failing test leaves no VM behind (the test runs in its own subshell).
sn_reap() {
	trap '[[ -n ${QM_PID:-} ]] && kill -9 "$QM_PID" 2>/dev/null' EXIT
}

# sn_counted FILE...: the guest's numbers in the concatenated files, one a line.
sn_counted() {
	cat "$@" | tr -d '\r' | sed -nE 's/^counter: ([0-9]+)$/\1/p'
}

# sn_check_sequence FILE...: the numbers are exactly 1, 2, 3, ... (at least $SN_MIN of them).
sn_check_sequence() {
	local n=0 v
	while read -r v; do
		n=$((n + 1))
		[[ $v == "$n" ]] || fail "counter: expected $n, got $v (a gap or a repeat)"
	done < <(sn_counted "$@")
	((n >= SN_MIN)) || fail "only $n numbers in $*"
}

# sn_save ARGS...: run the counter with ARGS, let it count, stop, migrate to $T_DIR/vm.state,
# kill -9; the first run's output in $T_DIR/first.out.
sn_save() {
	need_guest counter
	sn_reap
	qm_start -kernel "$GUESTS/counter.elf" "$@"
	sleep 0.7
	qm_talk save 0 "$QM_CAPS"'{"execute": "stop"}{"execute": "migrate", "arguments":
		{"uri": "file:'"$T_DIR"'/vm.state"}}{"execute": "query-status"}'
	qm_expect save '.return.status == "paused"'
	qm_expect_not save '.error'
	kill -9 "$QM_PID"
	wait "$QM_PID" 2>/dev/null
	mv "$T_DIR/vm.out" "$T_DIR/first.out"
	rm -f "$QM_SOCK"
	[[ -s $T_DIR/vm.state ]] || fail "no state file"
	ls "$T_DIR"/vm.state.* >/dev/null 2>&1 && fail "a temporary file is left over"
	SN_SAVED=$(sn_counted "$T_DIR/first.out" | tail -n 1)
}

# Stop, save, kill -9, restore (both with ARGS): the count goes on from the next number.
t_round_trip() {
	local args=("$@")
	SN_MIN=1
	sn_save "${args[@]}"
	qm_start -kernel "$GUESTS/counter.elf" "${args[@]}" -incoming "file:$T_DIR/vm.state"
	sleep 0.7
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	SN_MIN=$((SN_SAVED + 20))
	sn_check_sequence "$T_DIR/first.out" "$T_DIR/vm.out"
	! grep -q 'counter: ready' "$T_DIR/vm.out" || fail "the restored guest started over"
	[[ ! -s $T_DIR/vm.err ]] || fail "stderr: $(cat "$T_DIR/vm.err")"
}

# 32 MiB of RAM the guest filled: after the restore the guest finds its pattern intact.
t_round_trip_fill() {
	local args=(-m 96M -append "fill=32 limit=150")
	SN_MIN=1
	sn_save "${args[@]}"
	((SN_SAVED < 150)) || skip "the guest was done before the save"
	qm_start -kernel "$GUESTS/counter.elf" "${args[@]}" -incoming "file:$T_DIR/vm.state"
	qm_wait
	SN_MIN=150
	sn_check_sequence "$T_DIR/first.out" "$T_DIR/vm.out"
	grep -q '^counter: fill ok' "$T_DIR/vm.out" || fail "the guest's RAM changed: $(tail -n 1 "$T_DIR/vm.out")"
	local size
	size=$(stat -c %s "$T_DIR/vm.state")
	((size > 32 << 20)) || fail "a $size-byte state file cannot hold 32 MiB of filled RAM"
}

# The restored guest's interrupt set-up works: the power button's SCI (ACPI PM enable bit, the
# PIC) reaches it, and it powers off through S5.
t_powerdown_after_restore() {
	SN_MIN=1
	sn_save
	qm_start -kernel "$GUESTS/counter.elf" -incoming "file:$T_DIR/vm.state"
	sleep 0.3
	qm_talk out 3 "$QM_CAPS"'{"execute": "system_powerdown"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS"
	qm_expect out '.event == "SHUTDOWN" and .data.reason == "guest-shutdown"'
	grep -q '^counter: power button' "$T_DIR/vm.out" || fail "the guest saw no power button"
}

# -incoming with -S: restored but stopped until cont.
t_incoming_paused() {
	SN_MIN=1
	sn_save
	qm_start -w -S -kernel "$GUESTS/counter.elf" -incoming "file:$T_DIR/vm.state"
	qm_talk paused 1 "$QM_CAPS"'{"execute": "query-status"}'
	qm_expect paused '.return.status == "paused"'
	[[ ! -s $T_DIR/vm.out ]] || fail "the guest ran before cont"
	qm_talk cont 1 "$QM_CAPS"'{"execute": "cont"}'
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	SN_MIN=$((SN_SAVED + 5))
	sn_check_sequence "$T_DIR/first.out" "$T_DIR/vm.out"
}

# savevm NAME on a running VM: it runs on; info snapshots lists NAME; delvm removes it. loadvm
# NAME in the same process takes the guest back: the count goes on from the number after the
# save (stopped and resumed around it). The file also restores like a migrate one (-incoming).
t_hmp_savevm() {
	local hmp='{"execute": "human-monitor-command", "arguments": {"command-line": '
	need_guest counter
	sn_reap
	cd "$T_DIR" || fail "no scratch directory"
	qm_start -kernel "$GUESTS/counter.elf"
	sleep 0.5
	qm_talk save 1 "$QM_CAPS$hmp"'"savevm snap1"}}'"$hmp"'"info snapshots"}}'"$hmp"'"savevm snap2"}}'"$hmp"'"delvm snap2"}}{"execute": "query-status"}'
	qm_expect save '.event == "STOP"'
	qm_expect save '.event == "RESUME"'
	qm_expect save '.return | strings | test("\nsnap1 +[0-9]+ ")'
	qm_expect save '.return.status? == "running"'
	[[ -s snap1.kvmini-state && ! -e snap2.kvmini-state ]] || fail "savevm/delvm: $(ls)"
	qm_talk load 1 "$QM_CAPS$hmp"'"loadvm snap1"}}'"$hmp"'"loadvm nosuch"}}{"execute": "query-status"}'
	qm_expect load '.event == "STOP"'
	qm_expect load '.event == "RESUME"'
	qm_expect load '.return == ""'
	qm_expect load '.return | strings | test("^Error: nosuch.kvmini-state: No such file")'
	qm_expect load '.return.status? == "running"'
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	sn_check_back_once vm.out
	mv vm.out first.out
	rm -f "$QM_SOCK"
	qm_start -kernel "$GUESTS/counter.elf" -incoming file:snap1.kvmini-state
	sleep 0.3
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	# The first number after the restore is one the first run printed right after the save.
	local first
	first=$(sn_counted vm.out | head -n 1)
	grep -q "^counter: $first\$" first.out || fail "the restored count starts at $first"
	grep -q "^counter: $((first - 1))\$" first.out || fail "no counter: $((first - 1)) before"
}

# sn_check_back_once FILE: the count goes 1, 2, ... X, then once back to some S + 1 <= X (the
# loadvm), then on by one from there; at least 5 numbers after the jump.
sn_check_back_once() {
	local prev=0 v jumps=0 after=0
	while read -r v; do
		if ((v != prev + 1)); then
			((v <= prev && v > 1 && jumps == 0)) || fail "counter: $v after $prev"
			jumps=1
		fi
		((jumps)) && after=$((after + 1))
		prev=$v
	done < <(sn_counted "$1")
	((jumps == 1 && after >= 5)) || fail "loadvm: $jumps jumps back, $after numbers after"
}

# Broken, foreign and mismatching state files: exit 1, one line, nothing run.
t_bad_files() {
	local k=(-kernel "$GUESTS/counter.elf")
	SN_MIN=1
	sn_save
	head -c 5000 "$T_DIR/vm.state" >"$T_DIR/trunc.state"
	run_kvmini "${k[@]}" -incoming "file:$T_DIR/trunc.state"
	expect_status 1
	expect_stderr_line '^kvmini: -incoming file:.*trunc.state: truncated: '
	head -c 100000 /dev/urandom >"$T_DIR/random.state"
	run_kvmini "${k[@]}" -incoming "file:$T_DIR/random.state"
	expect_status 1
	expect_stderr_line 'random.state: not a kvmini state file$'
	cp "$T_DIR/vm.state" "$T_DIR/flip.state"
	printf '\xff' | dd of="$T_DIR/flip.state" bs=1 seek=3000 conv=notrunc 2>/dev/null
	run_kvmini "${k[@]}" -incoming "file:$T_DIR/flip.state"
	expect_status 1
	expect_stderr_line 'flip.state: bad checksum in section '
	run_kvmini "${k[@]}" -smp 2 -incoming "file:$T_DIR/vm.state"
	expect_status 1
	expect_stderr_line 'vm.state: the state is for 1 vCPU, this VM has 2$'
	run_kvmini "${k[@]}" -m 64M -incoming "file:$T_DIR/vm.state"
	expect_status 1
	expect_stderr_line 'the state is for 128 MiB of RAM, this VM has 64 MiB$'
	run_kvmini "${k[@]}" -serial none -incoming "file:$T_DIR/vm.state"
	expect_status 1
	expect_stderr_line 'the state has device serial0'
	truncate -s 1M "$T_DIR/disk.img"
	run_kvmini "${k[@]}" -drive "file=$T_DIR/disk.img,format=raw" -incoming "file:$T_DIR/vm.state"
	expect_status 1
	expect_stderr_line 'vm.state: this VM has device virtio-blk@00:01.0, the state does not$'
	run_kvmini "${k[@]}" -incoming "file:$T_DIR/missing.state"
	expect_status 1
	expect_stderr_line 'missing.state: No such file or directory$'
	run_kvmini "${k[@]}" -incoming "exec:cat x"
	expect_status 1
	expect_stderr_line 'expected file:PATH\[,disk-check=off\]'
}

# -incoming defer: stopped ("inmigrate", cont refused) until migrate-incoming loads a state,
# then running (RESUME) and counting on from the saved number; without a control socket, exit 1.
t_incoming_defer() {
	SN_MIN=1
	sn_save
	qm_start -w -kernel "$GUESTS/counter.elf" -incoming defer
	qm_talk wait 0 "$QM_CAPS"'{"execute": "query-status"}{"execute": "cont"}'
	qm_expect wait '.return.status? == "inmigrate"'
	qm_expect wait '.error.desc // "" | test("migrate-incoming")'
	[[ ! -s $T_DIR/vm.out ]] || fail "the guest ran before migrate-incoming"
	qm_talk load 1 "$QM_CAPS"'{"execute": "migrate-incoming", "arguments": {"uri": "file:'"$T_DIR"'/vm.state"}}{"execute": "query-status"}'
	qm_expect load '.event == "RESUME"'
	qm_expect load '.return.status? == "running"'
	qm_expect_not load '.error'
	qm_talk again 0 "$QM_CAPS"'{"execute": "migrate-incoming", "arguments": {"uri": "file:'"$T_DIR"'/vm.state"}}'
	qm_expect again '.error.desc // "" | test("has not been requested")'
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	SN_MIN=$((SN_SAVED + 5))
	sn_check_sequence "$T_DIR/first.out" "$T_DIR/vm.out"
	run_kvmini -kernel "$GUESTS/counter.elf" -incoming defer
	expect_status 1
	expect_stderr_line 'incoming defer: the VM would wait forever: add -qmp or -monitor'
}

# migrate takes file: URIs only: a QMP error, and the VM goes on.
t_migrate_uri() {
	need_guest counter
	sn_reap
	qm_start -kernel "$GUESTS/counter.elf"
	qm_talk save 0 "$QM_CAPS"'{"execute": "migrate", "arguments": {"uri": "tcp:localhost:4444"}}{"execute": "query-status"}'
	qm_expect save '.error.desc // "" | test("file:PATH only")'
	qm_expect save '.return.status? == "running"'
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
}

t_run 'snapshot.round-trip' t_round_trip -smp 1 -m 128M
t_run 'snapshot.round-trip-smp-256M' t_round_trip -smp 2 -m 256M
t_run 'snapshot.round-trip-fill' t_round_trip_fill
t_run 'snapshot.powerdown-after-restore' t_powerdown_after_restore
t_run 'snapshot.incoming-paused' t_incoming_paused
t_run 'snapshot.hmp-savevm' t_hmp_savevm
t_run 'snapshot.bad-files' t_bad_files
t_run 'snapshot.incoming-defer' t_incoming_defer
t_run 'snapshot.migrate-uri' t_migrate_uri

# ---- Disks: a restore refuses an image changed since the save, unless disk-check=off ----------

# sn_disk_image FORMAT [DRIVE-OPTIONS]: a fresh 64 MiB image $T_DIR/disk.FORMAT (qcow2 or raw);
# its -drive in SN_DRIVE.
sn_disk_image() {
	local tool
	tool=$(dirname "$KVMINI")/kvmini-img
	[[ -x $tool ]] || tool=qemu-img
	SN_IMG=$T_DIR/disk.$1
	rm -f "$SN_IMG"
	if [[ $1 == qcow2 ]]; then
		"$tool" create -f qcow2 "$SN_IMG" 64M >/dev/null || fail "cannot create $SN_IMG"
	else
		truncate -s 64M "$SN_IMG"
	fi
	SN_DRIVE=(-drive "file=$SN_IMG,format=$1${2:+,$2}")
}

# sn_restore_refused WHAT [OPTIONS]: -incoming file:$T_DIR/vm.state[OPTIONS] with $SN_DRIVE ends
# with exit 1 and the one line saying that disk0 changed (WHAT: an ERE for what follows the
# image's name).
sn_restore_refused() {
	local state=$T_DIR/vm.state
	run_kvmini -kernel "$GUESTS/counter.elf" "${VM_ARGS[@]}" "${SN_DRIVE[@]}" \
		-incoming "file:$state${2:-}"
	expect_status 1
	expect_stderr_line "^kvmini: -incoming file:$state: disk0: $SN_IMG $1; restore anyway with -incoming file:$state,disk-check=off\$"
	[[ ! -s $T_DIR/stdout ]] || fail "the guest ran: $(head -n 3 "$T_DIR/stdout")"
}

# Save a VM with a disk (that the counter guest never touches), kill -9, restore: the count goes
# on, nothing on stderr.
t_disk_round_trip() {
	sn_disk_image "$@"
	t_round_trip "${SN_DRIVE[@]}"
}

# The image written after the save (its mtime, its size) or replaced by a copy: the restore is
# refused with one line, and the guest never runs.
t_disk_changed() {
	SN_MIN=1
	sn_disk_image "$@"
	sn_save "${SN_DRIVE[@]}"
	sleep 0.05
	# Byte 0 written over with itself: the same contents, a new mtime.
	dd if="$SN_IMG" of="$SN_IMG" bs=1 count=1 conv=notrunc 2>/dev/null
	sn_restore_refused 'changed since the state was saved \(modified [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+, last modified [0-9: .-]+ at the save\)'
	# Longer.
	truncate -s +64K "$SN_IMG"
	sn_restore_refused 'changed since the state was saved \(size [0-9]+ bytes, saved with [0-9]+\)'
	# Another file under the same name.
	cp "$SN_IMG" "$SN_IMG.new" && mv "$SN_IMG.new" "$SN_IMG"
	sn_restore_refused 'is not the file the state was saved with \(the name leads to another file now\)'
}

# The same with disk-check=off: a warning, and the guest goes on.
t_disk_check_off() {
	SN_MIN=1
	sn_disk_image qcow2
	sn_save "${SN_DRIVE[@]}"
	qemu-io -c 'write 0 4k' "$SN_IMG" >/dev/null 2>&1 || truncate -s +64K "$SN_IMG"
	qm_start -kernel "$GUESTS/counter.elf" "${SN_DRIVE[@]}" \
		-incoming "file:$T_DIR/vm.state,disk-check=off"
	sleep 0.7
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	SN_MIN=$((SN_SAVED + 20))
	sn_check_sequence "$T_DIR/first.out" "$T_DIR/vm.out"
	[[ $(wc -l <"$T_DIR/vm.err") == 1 ]] || fail "stderr: $(cat "$T_DIR/vm.err")"
	grep -qE "^kvmini: warning: disk0: $SN_IMG changed since the state was saved \(.*\); restoring anyway \(disk-check=off\)\$" \
		"$T_DIR/vm.err" || fail "no warning: $(cat "$T_DIR/vm.err")"
	# disk-check=on is the default, spelled out.
	sn_restore_refused 'changed since the state was saved \(.*\)' ,disk-check=on
	# -incoming defer: a refused migrate-incoming leaves the VM waiting; it may try again.
	rm -f "$QM_SOCK"
	qm_start -w -kernel "$GUESTS/counter.elf" "${SN_DRIVE[@]}" -incoming defer
	local uri='"uri": "file:'"$T_DIR"'/vm.state"'
	qm_talk defer 1 "$QM_CAPS"'{"execute": "migrate-incoming", "arguments": {'"$uri"'}}{"execute": "query-status"}{"execute": "migrate-incoming", "arguments": {'"$uri"', "disk-check": false}}{"execute": "query-status"}'
	qm_expect defer '.error.desc // "" | test("changed since the state was saved .*; restore anyway with migrate-incoming.s \"disk-check\": false$")'
	qm_expect defer '.return.status? == "inmigrate"'
	qm_expect defer '.return.status? == "running"'
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
}

# A qcow2 disk the guest wrote (clusters allocated, the file grown ahead of need), saved, then
# quit in order: what the close does to the file (write back caches, give back the space grown
# ahead) happened at the save already, so the restore finds the file as saved.
t_disk_written_quit() {
	need_guest blk-crash
	sn_reap
	sn_disk_image qcow2
	qm_start -kernel "$GUESTS/blk-crash.elf" "${SN_DRIVE[@]}"
	sleep 0.3
	qm_talk save 0 "$QM_CAPS"'{"execute": "stop"}{"execute": "migrate", "arguments":
		{"uri": "file:'"$T_DIR"'/vm.state"}}{"execute": "quit"}'
	qm_expect_not save '.error'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS: $(cat "$T_DIR/vm.err")"
	grep -q 'flushed' "$T_DIR/vm.out" || skip "the guest wrote nothing before the save"
	mv "$T_DIR/vm.out" "$T_DIR/first.out"
	rm -f "$QM_SOCK"
	qm_start -w -S -kernel "$GUESTS/blk-crash.elf" "${SN_DRIVE[@]}" -incoming "file:$T_DIR/vm.state"
	qm_talk status 0 "$QM_CAPS"'{"execute": "query-status"}{"execute": "quit"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "exit status $QM_STATUS: $(grep -v 'waiting for' "$T_DIR/vm.err")"
	qm_expect status '.return.status? == "paused"'
	! grep -v 'waiting for a QMP client' "$T_DIR/vm.err" || fail "stderr: $(cat "$T_DIR/vm.err")"
}

# loadvm into the running VM compares the disk as it is now (what the VM wrote flushed): the
# same file loads; written after the save, it is refused (Error, the VM stays stopped) unless
# loadvm -f (a warning).
t_disk_loadvm() {
	local hmp='{"execute": "human-monitor-command", "arguments": {"command-line": '
	need_guest counter
	sn_reap
	cd "$T_DIR" || fail "no scratch directory"
	sn_disk_image raw
	qm_start -kernel "$GUESTS/counter.elf" "${SN_DRIVE[@]}"
	sleep 0.3
	qm_talk save 1 "$QM_CAPS$hmp"'"savevm s1"}}'"$hmp"'"loadvm s1"}}{"execute": "query-status"}'
	qm_expect save '.return.status? == "running"'
	qm_expect_not save '.return | strings | test("Error")'
	dd if="$SN_IMG" of="$SN_IMG" bs=1 count=1 conv=notrunc 2>/dev/null
	qm_talk load 1 "$QM_CAPS$hmp"'"loadvm s1"}}{"execute": "query-status"}'
	qm_expect load '.return | strings | test("^Error: s1.kvmini-state: disk0: .*disk.raw changed since the state was saved \\(modified .*\\); restore anyway with loadvm -f$")'
	qm_expect load '.return.status? == "running"'
	[[ ! -s $T_DIR/vm.err ]] || fail "stderr: $(cat "$T_DIR/vm.err")"
	qm_talk force 1 "$QM_CAPS$hmp"'"loadvm -f s1"}}{"execute": "cont"}{"execute": "query-status"}'
	qm_expect force '.return == ""'
	qm_expect force '.return.status? == "running"'
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	grep -qE '^kvmini: warning: disk0: .*disk.raw changed since the state was saved \(.*\); restoring anyway \(disk-check=off\)$' \
		"$T_DIR/vm.err" || fail "no warning: $(cat "$T_DIR/vm.err")"
}

t_run 'snapshot.disk-round-trip-qcow2' t_disk_round_trip qcow2
t_run 'snapshot.disk-round-trip-raw' t_disk_round_trip raw
t_run 'snapshot.disk-changed-qcow2' t_disk_changed qcow2
t_run 'snapshot.disk-changed-raw-readonly' t_disk_changed raw readonly=on
t_run 'snapshot.disk-check-off' t_disk_check_off
t_run 'snapshot.disk-written-quit' t_disk_written_quit
t_run 'snapshot.disk-loadvm' t_disk_loadvm

# ---- savevm/loadvm/delvm with qcow2 disks: internal snapshots, as QEMU ------------------------

# sn_wait_lines N: wait (at most 10 s) until the running VM has printed N numbers or ended.
sn_wait_lines() {
	local _
	for _ in $(seq 100); do
		(($(sn_counted "$T_DIR/vm.out" | wc -l) >= $1)) && return 0
		kill -0 "$QM_PID" 2>/dev/null || return 0
		sleep 0.1
	done
}

# sn_runs FILE: the runs of consecutive numbers in FILE, one "START LENGTH" a line. A save or a
# loadvm that stops the guest in the middle of a line may leave one odd number (the line's start
# from one run, its end from the other), a run of its own.
sn_runs() {
	sn_counted "$1" | awk 'NR == 1 || $1 != prev + 1 { if (NR > 1) print start, len
		start = $1; len = 0 } { len++; prev = $1 } END { if (NR) print start, len }'
}

# sn_no_bad FILE: the guest never found its disk wrong.
sn_no_bad() {
	! grep -q 'BAD' "$1" || fail "$1: $(grep -m 3 'BAD' "$1")"
}

# The counter with blk=1 on a qcow2 disk (tick N writes sector N % 64 with N and reads back
# sector N - 1): savevm s1 takes the internal snapshot s1; after 70 more ticks every sector was
# written over, and loadvm s1 (no -f) reverts the disk with the rest, so the guest goes on from
# the saved tick with no BAD line. The state also restores in a new process (-incoming, which
# reverts the disk too), delvm removes the snapshot and the file, and a state whose snapshot
# was deleted is refused with one line.
t_disk_qcow2_savevm() {
	local hmp='{"execute": "human-monitor-command", "arguments": {"command-line": '
	local args lines target first_start first_len last_len start
	local -a runs
	need_guest counter
	command -v qemu-img >/dev/null || skip "no qemu-img"
	sn_reap
	cd "$T_DIR" || fail "no scratch directory"
	sn_disk_image qcow2
	args=(-kernel "$GUESTS/counter.elf" -append blk=1 "${SN_DRIVE[@]}")
	qm_start "${args[@]}"
	sn_wait_lines 10
	qm_talk save 1 "$QM_CAPS$hmp"'"savevm s1"}}{"execute": "query-status"}'
	qm_expect save '.return == ""'
	qm_expect save '.return.status? == "running"'
	lines=$(sn_counted vm.out | wc -l)
	sn_wait_lines $((lines + 75))
	qm_talk load 1 "$QM_CAPS$hmp"'"loadvm s1"}}{"execute": "query-status"}'
	qm_expect load '.event == "STOP"'
	qm_expect load '.return == ""'
	qm_expect load '.return.status? == "running"'
	# 70 ticks more, so that the image holds none of the saved sectors when it is quit.
	lines=$(sn_counted vm.out | wc -l)
	sn_wait_lines $((lines + 75))
	sn_no_bad vm.out
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS: $(tail -n 2 vm.out)"
	sn_no_bad vm.out
	# 1, 2, ... X, then back to the tick after the save (at most one odd line between) and on
	# for 70 ticks at least.
	mapfile -t runs < <(sn_runs vm.out)
	read -r first_start first_len <<<"${runs[0]}"
	read -r target last_len <<<"${runs[-1]}"
	((${#runs[@]} >= 2 && ${#runs[@]} <= 3 && first_start == 1)) ||
		fail "loadvm: the count went $(printf '%s, ' "${runs[@]}")(start length)"
	((target < first_len && last_len >= 70)) ||
		fail "loadvm: back to $target after $first_len, then $last_len ticks"
	[[ ! -s vm.err ]] || fail "stderr: $(cat vm.err)"
	qemu-img snapshot -l "$SN_IMG" | grep -qE '^[0-9]+ +s1 ' ||
		fail "no snapshot s1: $(qemu-img snapshot -l "$SN_IMG")"
	qemu-img check "$SN_IMG" >/dev/null 2>&1 || fail "qemu-img check: $(qemu-img check "$SN_IMG" 2>&1)"

	# A new process: -incoming reverts the disk as loadvm did, the count goes on from there.
	mv vm.out first.out
	rm -f "$QM_SOCK"
	cp s1.kvmini-state keep.kvmini-state
	qm_start "${args[@]}" -incoming file:s1.kvmini-state
	sn_wait_lines 80
	sn_no_bad vm.out
	qm_talk del 1 "$QM_CAPS$hmp"'"delvm s1"}}{"execute": "query-status"}'
	qm_expect del '.return == ""'
	qm_expect del '.return.status? == "running"'
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "the restored kvmini exited $QM_STATUS: $(tail -n 2 vm.out)"
	sn_no_bad vm.out
	# On from the saved tick (give or take a line cut by the save) for 70 ticks, no gap.
	mapfile -t runs < <(sn_runs vm.out)
	read -r start last_len <<<"${runs[-1]}"
	((${#runs[@]} == 1 || (${#runs[@]} == 2 && ${runs[0]#* } == 1))) ||
		fail "-incoming: the count went $(printf '%s, ' "${runs[@]}")(start length)"
	((start >= target - 1 && start <= target + 1 && last_len >= 70)) ||
		fail "-incoming: the count starts at $start ($last_len ticks), saved at $target"
	! grep -q 'counter: ready' vm.out || fail "the restored guest started over"
	[[ ! -s vm.err ]] || fail "stderr: $(cat vm.err)"

	# delvm: the snapshot and the file are gone.
	[[ ! -e s1.kvmini-state ]] || fail "delvm left s1.kvmini-state"
	! qemu-img snapshot -l "$SN_IMG" | grep -qE '^[0-9]+ +s1 ' ||
		fail "delvm left the snapshot: $(qemu-img snapshot -l "$SN_IMG")"
	qemu-img check "$SN_IMG" >/dev/null 2>&1 || fail "qemu-img check: $(qemu-img check "$SN_IMG" 2>&1)"

	# The state whose snapshot was deleted: refused, the guest never runs.
	run_kvmini "${args[@]}" -incoming file:keep.kvmini-state
	expect_status 1
	expect_stderr_line "^kvmini: -incoming file:keep.kvmini-state: disk0: $SN_IMG has no internal snapshot 's1' \\(it was deleted\\?\\)\$"
	[[ ! -s $T_DIR/stdout ]] || fail "the guest ran: $(head -n 3 "$T_DIR/stdout")"
}

# A raw disk has no internal snapshots: savevm records its identity, and once the guest wrote
# it, loadvm is refused as before (the VM runs on).
t_disk_raw_savevm() {
	local hmp='{"execute": "human-monitor-command", "arguments": {"command-line": '
	local lines
	need_guest counter
	sn_reap
	cd "$T_DIR" || fail "no scratch directory"
	sn_disk_image raw
	qm_start -kernel "$GUESTS/counter.elf" -append blk=1 "${SN_DRIVE[@]}"
	sn_wait_lines 10
	qm_talk save 1 "$QM_CAPS$hmp"'"savevm s1"}}{"execute": "query-status"}'
	qm_expect save '.return == ""'
	lines=$(sn_counted vm.out | wc -l)
	sn_wait_lines $((lines + 10))
	qm_talk load 1 "$QM_CAPS$hmp"'"loadvm s1"}}{"execute": "query-status"}'
	qm_expect load '.return | strings | test("^Error: s1.kvmini-state: disk0: .*disk.raw changed since the state was saved \\(.*\\); restore anyway with loadvm -f$")'
	qm_expect load '.return.status? == "running"'
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS: $(tail -n 2 vm.out)"
	sn_no_bad vm.out
	SN_MIN=20
	sn_check_sequence vm.out
	[[ ! -s vm.err ]] || fail "stderr: $(cat vm.err)"
}

t_run 'snapshot.disk-qcow2-savevm' t_disk_qcow2_savevm
t_run 'snapshot.disk-raw-savevm' t_disk_raw_savevm
