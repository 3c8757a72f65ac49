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

# Stop, save, kill -9, restore: the count goes on from the next number.
t_round_trip() {
	local args=(-smp "$1" -m "$2")
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

# savevm NAME on a running VM: it runs on; info snapshots lists NAME; delvm removes it; loadvm
# says how to restore. The file restores like a migrate one.
t_hmp_savevm() {
	local hmp='{"execute": "human-monitor-command", "arguments": {"command-line": '
	need_guest counter
	sn_reap
	cd "$T_DIR" || fail "no scratch directory"
	qm_start -kernel "$GUESTS/counter.elf"
	sleep 0.5
	qm_talk save 1 "$QM_CAPS$hmp"'"savevm snap1"}}'"$hmp"'"info snapshots"}}'"$hmp"'"savevm snap2"}}'"$hmp"'"delvm snap2"}}'"$hmp"'"loadvm snap1"}}{"execute": "query-status"}'
	qm_expect save '.event == "STOP"'
	qm_expect save '.event == "RESUME"'
	qm_expect save '.return | strings | test("\nsnap1 +[0-9]+ ")'
	qm_expect save '.return | strings | test("-incoming file:snap1.kvmini-state")'
	qm_expect save '.return.status? == "running"'
	[[ -s snap1.kvmini-state && ! -e snap2.kvmini-state ]] || fail "savevm/delvm: $(ls)"
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
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
	expect_stderr_line 'vm.state: pci0: the state has PCI devices in slots 0x1, this VM in 0x3'
	run_kvmini "${k[@]}" -incoming "file:$T_DIR/missing.state"
	expect_status 1
	expect_stderr_line 'missing.state: No such file or directory$'
	run_kvmini "${k[@]}" -incoming "exec:cat x"
	expect_status 1
	expect_stderr_line 'expected file:PATH$'
}

# A VM with a virtio device cannot be saved yet: a QMP error, no file, the VM goes on.
t_refuse_virtio() {
	need_guest counter
	sn_reap
	truncate -s 1M "$T_DIR/disk.img"
	qm_start -kernel "$GUESTS/counter.elf" -drive "file=$T_DIR/disk.img,format=raw"
	qm_talk save 0 "$QM_CAPS"'{"execute": "migrate", "arguments": {"uri": "file:'"$T_DIR"'/vm.state"}}{"execute": "migrate", "arguments": {"uri": "tcp:localhost:4444"}}{"execute": "query-status"}'
	qm_expect save '.error.desc // "" | test("cannot be saved")'
	qm_expect save '.error.desc // "" | test("file:PATH only")'
	qm_expect save '.event == "RESUME"'
	qm_expect save '.return.status? == "running"'
	[[ ! -e $T_DIR/vm.state ]] || fail "a state file was written"
	ls "$T_DIR"/vm.state.* >/dev/null 2>&1 && fail "a temporary file is left over"
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
}

t_run 'snapshot.round-trip' t_round_trip 1 128M
t_run 'snapshot.round-trip-smp-256M' t_round_trip 2 256M
t_run 'snapshot.round-trip-fill' t_round_trip_fill
t_run 'snapshot.powerdown-after-restore' t_powerdown_after_restore
t_run 'snapshot.incoming-paused' t_incoming_paused
t_run 'snapshot.hmp-savevm' t_hmp_savevm
t_run 'snapshot.bad-files' t_bad_files
t_run 'snapshot.refuse-virtio' t_refuse_virtio
