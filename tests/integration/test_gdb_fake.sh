# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2016 # gdb expressions ($pc, $1 = ...) are meant literally
# The gdb stub's server with the real gdb, on the fake target of tests/helpers/gdb_fake.c
# (2 CPUs, 4 KiB of memory at 0xffffffff81000000 virtual / 0x100000 physical; continue stops
# at the first breakpoint or watchpoint, a step adds 1 to rip).  No KVM needed.

GF_MEM=0xffffffff81000000

need_gdb() {
	command -v gdb >/dev/null 2>&1 || skip "gdb is not installed"
}

# gf_start [gdb_fake options]: start the fake target on a free port; sets GF_PORT and GF_PID,
# its output goes to $T_DIR/fake.log.
gf_start() {
	need_helper gdb_fake
	need_gdb
	for _ in 1 2 3 4 5; do
		GF_PORT=$((20000 + (RANDOM % 20000)))
		"$HELPERS/gdb_fake" "$@" "tcp:127.0.0.1:$GF_PORT" >"$T_DIR/fake.log" 2>&1 &
		GF_PID=$!
		for _ in $(seq 50); do
			grep -q '^fake: listening' "$T_DIR/fake.log" && return 0
			kill -0 "$GF_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$GF_PID" 2>/dev/null
		wait "$GF_PID" 2>/dev/null
	done
	fail "gdb_fake did not start: $(cat "$T_DIR/fake.log")"
}

# gf_wait: the fake target must exit by itself (after detach or kill) within T_TIMEOUT.
gf_wait() {
	for _ in $(seq $((T_TIMEOUT * 10))); do
		kill -0 "$GF_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$GF_PID" 2>/dev/null; then
		kill "$GF_PID"
		wait "$GF_PID" 2>/dev/null
		fail "gdb_fake did not exit after gdb left; its log: $(cat "$T_DIR/fake.log")"
	fi
	wait "$GF_PID"
	GF_STATUS=$?
}

expect_fake_log() {
	grep -qF -- "$1" "$T_DIR/fake.log" ||
		fail "the fake target's log has no '$1'; it has:"$'\n'"$(t_indent <"$T_DIR/fake.log")"
}

# gf_gdb SCRIPT_LINES...: run gdb -batch on the fake target with these commands (and the
# lines of $GF_PRE before connecting).
gf_gdb() {
	{
		echo 'set architecture i386:x86-64'
		echo 'set pagination off'
		[[ -n ${GF_PRE:-} ]] && echo "$GF_PRE"
		echo "target remote 127.0.0.1:$GF_PORT"
		printf '%s\n' "$@"
	} >"$T_DIR/cmds.gdb"
	run_cmd -- gdb -batch -nx -x "$T_DIR/cmds.gdb"
	# gdb must take our target description as it is.
	if grep -qiE 'target description|could not load|unknown type|remote .g. packet' \
		"$T_DIR/stdout" "$T_DIR/stderr"; then
		fail "gdb did not accept target.xml"
	fi
}

t_gdb_session() {
	gf_start -1
	gf_gdb 'info registers' \
		"x/4xb $GF_MEM" \
		"set {int}($GF_MEM + 4) = 0x12345678" \
		"set var *(char *)($GF_MEM + 8) = 0x5a" \
		"x/1xw $GF_MEM + 4" \
		"x/1xb $GF_MEM + 8" \
		'p $k_gs_base' \
		'p/x $cr0' \
		'p/x $mxcsr' \
		"break *($GF_MEM + 0x20)" \
		"hbreak *($GF_MEM + 0x30)" \
		"watch *(int *)($GF_MEM + 0x100)" \
		'info threads' \
		'thread 2' \
		'stepi' \
		'p/x $pc' \
		'continue' \
		'p/x $pc' \
		'monitor info' \
		'monitor phys on' \
		'x/2xb 0x100000' \
		'detach'
	expect_status 0
	expect_stdout_match '^rip +0xffffffff81000000 '
	expect_stdout_match '^rax +0x1000 '
	expect_stdout_match '^cr0 +0x80050033 '
	expect_stdout_match '^efer +0xd01 '
	expect_stdout_match '^k_gs_base +<unavailable>'
	expect_stdout_line '0xffffffff81000000:	0x01	0x08	0x0f	0x16'
	expect_stdout_line '0xffffffff81000004:	0x12345678'
	expect_stdout_line '0xffffffff81000008:	0x5a'
	expect_stdout_line '$1 = <unavailable>'
	expect_stdout_line '$2 = 0x80050033'
	expect_stdout_line '$3 = 0x1f80'
	expect_stdout_match '^Breakpoint 1 at 0xffffffff81000020$'
	expect_stdout_match '^Hardware assisted breakpoint 2 at 0xffffffff81000030$'
	expect_stdout_match '^Hardware watchpoint 3: '
	expect_stdout_match '^\* 1 +Thread 1 \(CPU 0\) '
	expect_stdout_match '^  2 +Thread 2 \(CPU 1\) '
	expect_stdout_match '^\[Switching to thread 2 '
	expect_stdout_line '$4 = 0xffffffff81000011'
	expect_stdout_match '^Thread 1 hit Breakpoint 1, 0xffffffff81000020 '
	expect_stdout_line '$5 = 0xffffffff81000020'
	# Monitor output goes to gdb's stderr.
	grep -qxF 'fake target: 2 CPUs, stopped' "$T_DIR/stderr" || fail "no 'monitor info' output"
	grep -qxF 'memory accesses are guest-physical' "$T_DIR/stderr" ||
		fail "no 'monitor phys on' output"
	expect_stdout_line '0x100000:	0x01	0x08'
	expect_stdout_contains '[Inferior 1 (Remote target) detached]'
	gf_wait
	[[ $GF_STATUS == 0 ]] || fail "gdb_fake exited with status $GF_STATUS"
	# Connecting stopped the "running" target; the calls gdb's commands made.
	expect_fake_log 'fake: interrupt'
	expect_fake_log 'fake: write_mem virt 0xffffffff81000004 len 4'
	expect_fake_log 'fake: insert_bp type=0 addr=0xffffffff81000020 len=1'
	expect_fake_log 'fake: insert_bp type=1 addr=0xffffffff81000030 len=1'
	expect_fake_log 'fake: insert_bp type=2 addr=0xffffffff81000100 len=4'
	expect_fake_log 'fake: resume 1=cont 2=step'
	expect_fake_log 'fake: resume 1=cont 2=cont'
	expect_fake_log 'fake: detach'
}

# A read-or-write watchpoint reports its address; gdb names the watchpoint.
t_gdb_awatch() {
	gf_start -1
	gf_gdb "awatch *(int *)($GF_MEM + 0x40)" 'continue' 'p/x $pc' 'detach'
	expect_status 0
	expect_stdout_match '^Hardware access \(read/write\) watchpoint 1: '
	expect_stdout_match '^Value = '
	gf_wait
	expect_fake_log 'fake: insert_bp type=4 addr=0xffffffff81000040 len=4'
}

# Started stopped (-S): nothing to interrupt; kill ends the target.
t_gdb_start_stopped_kill() {
	gf_start -S
	gf_gdb 'p/x $rip' 'kill'
	expect_status 0
	expect_stdout_line '$1 = 0xffffffff81000000'
	expect_stdout_contains '[Inferior 1 (Remote target) killed]'
	gf_wait
	expect_fake_log 'fake: kill'
	! grep -q '^fake: interrupt' "$T_DIR/fake.log" || fail "the stopped target was interrupted"
}

# gdb's debug log: target.xml fetched, no-ack mode and vCont in use.
t_gdb_debug_remote() {
	gf_start -1
	GF_PRE='set debug remote 1'
	gf_gdb 'info threads' 'stepi' 'detach'
	expect_status 0
	grep -qF 'qXfer:features:read:target.xml' "$T_DIR/stderr" ||
		fail "gdb did not read target.xml"
	grep -qF 'QStartNoAckMode' "$T_DIR/stderr" || fail "no-ack mode not negotiated"
	grep -qE 'vCont;s:[12]' "$T_DIR/stderr" || fail "gdb did not step with vCont"
	gf_wait
}

# A second client is closed at once and logged; the first one goes on.
t_gdb_second_client() {
	local reply=''

	gf_start -1
	exec 3<>"/dev/tcp/127.0.0.1/$GF_PORT" || fail "cannot connect"
	exec 4<>"/dev/tcp/127.0.0.1/$GF_PORT" || fail "cannot connect a second time"
	# The second connection reads end-of-file (nothing was written to it).
	if read -r -t 3 -n 1 reply <&4; then
		fail "the second client got '$reply'"
	fi
	exec 4<&-
	printf '$?#3f' >&3
	read -r -t 3 -n 15 reply <&3
	[[ $reply == '+$T02thread:1;#' ]] || fail "reply to '?': '$reply'"
	exec 3<&-
	gf_wait
	expect_fake_log 'kvmini: warning: gdb: a second client connected; refused'
	expect_fake_log 'fake: detach'
}

t_run 'gdb.fake.session' t_gdb_session
t_run 'gdb.fake.awatch' t_gdb_awatch
t_run 'gdb.fake.start-stopped-kill' t_gdb_start_stopped_kill
t_run 'gdb.fake.debug-remote' t_gdb_debug_remote
t_run 'gdb.fake.second-client' t_gdb_second_client
