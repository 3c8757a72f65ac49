# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2016 # gdb expressions ($pc ...) are meant literally
# kvmini's gdb stub with the real gdb on the gdb-target guest (guests/gdb-target.c, with
# symbols): kvmini -gdb unix:SOCKET -S, gdb -batch connects, and both outputs are checked.

# kg_run KVMINI-ARGS -- GDB-COMMANDS...: start kvmini waiting for gdb on a unix socket, run
# gdb -batch with the commands (one -ex each), wait for kvmini. gdb's output goes to
# $T_DIR/gdb.out, kvmini's to $T_DIR/vm.out/vm.err, its status to $KG_STATUS. With
# KG_INTERRUPT=S, gdb gets a SIGINT (as from Ctrl-C) S seconds after it starts.
kg_run() {
	local args=() pid i
	command -v gdb >/dev/null 2>&1 || skip "gdb is not installed"
	need_guest gdb-target
	while [[ $1 != -- ]]; do
		args+=("$1")
		shift
	done
	shift
	"$KVMINI" -nographic -no-reboot -gdb "unix:$T_DIR/gdb.sock" "${args[@]}" \
		-kernel "$GUESTS/gdb-target.elf" </dev/null >"$T_DIR/vm.out" 2>"$T_DIR/vm.err" &
	pid=$!
	for i in $(seq 50); do
		[[ -S $T_DIR/gdb.sock ]] && break
		sleep 0.1
	done
	local ex=(-ex 'set pagination off' -ex "target remote $T_DIR/gdb.sock")
	for c in "$@"; do
		ex+=(-ex "$c")
	done
	timeout "$T_TIMEOUT" gdb -batch -nx "$GUESTS/gdb-target.elf" "${ex[@]}" >"$T_DIR/gdb.out" 2>&1 &
	local gdb_pid=$!
	if [[ -n ${KG_INTERRUPT:-} ]]; then
		sleep "$KG_INTERRUPT"
		# timeout runs gdb as its child: signal gdb itself.
		pkill -INT -P "$gdb_pid" gdb
	fi
	wait "$gdb_pid"
	for i in $(seq $((T_TIMEOUT * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null
	wait "$pid"
	KG_STATUS=$?
}

expect_gdb() {
	grep -qE -- "$1" "$T_DIR/gdb.out" ||
		fail "gdb's output has no /$1/; it has:"$'\n'"$(t_indent <"$T_DIR/gdb.out")"
}

expect_vm() {
	grep -qF -- "$1" "$T_DIR/vm.out" ||
		fail "the guest's output has no '$1'; it has:"$'\n'"$(t_indent <"$T_DIR/vm.out")"
}

# A software breakpoint set before the first instruction (paging still off) hits in long mode.
t_break() {
	kg_run -S -- 'info registers rip' 'break report' 'continue' 'bt' 'x/2i $pc' \
		'set var answer = 99' 'continue'
	expect_gdb '^rip +0x100000 +0x100000 <pvh_start32>'
	expect_gdb '^Breakpoint 1, report \(\) at .*gdb-target\.c'
	expect_gdb '^#1 +0x[0-9a-f]+ in main \(\)'
	expect_gdb '^=> 0x[0-9a-f]+ <report>:'
	expect_gdb 'exited normally'
	expect_vm 'gdb-target: answer=99'
	[[ $KG_STATUS -eq 0 ]] || fail "kvmini exited $KG_STATUS"
}

# A hardware breakpoint, stepi, and the guest's memory hiding no int3.
t_hbreak_step() {
	kg_run -S -- 'break report' 'hbreak step_one' 'continue' 'info registers rip' 'stepi' \
		'info registers rip' 'x/1xb report' 'delete' 'continue'
	expect_gdb '^Breakpoint 2, step_one \(x=41\)'
	expect_gdb '^rip +0x[0-9a-f]+ +0x[0-9a-f]+ <step_one\+[1-9][0-9]*>'
	expect_gdb '<report>:[[:space:]]+0x48'
	expect_vm 'gdb-target: answer=41'
}

# Two vCPUs are two threads; after detach the guest runs on.
t_threads_detach() {
	kg_run -smp 2 -S -- 'info threads' 'thread 2' 'bt' 'detach'
	expect_gdb '^\* 1 +Thread 1'
	expect_gdb '^ +2 +Thread 2'
	expect_gdb 'Switching to thread 2'
	expect_gdb '^#0 +0x0*fff0 in '
	expect_gdb 'detached'
	expect_vm 'gdb-target: done'
}

# k ends kvmini.
# finish runs to the caller and shows the return value.
t_finish() {
	kg_run -S -- 'break step_one' 'continue' 'finish' 'delete' 'continue'
	expect_gdb '^0x[0-9a-f]+ in main \(\) at .*gdb-target\.c'
	expect_gdb '^Value returned is \$1 = 42'
	expect_vm 'gdb-target: done'
}

# Ctrl-C stops a guest spinning at CPL3; gdb then lets it go by clearing the flag.
t_interrupt() {
	KG_INTERRUPT=2 kg_run -append spin=1 -- 'continue' 'info registers rip' \
		'set var spinning = 0' 'continue'
	expect_gdb 'received signal SIGINT'
	expect_gdb '^rip +0x[0-9a-f]+ +0x[0-9a-f]+ <spin_user'
	expect_vm 'gdb-target: done'
}

# A write watchpoint fires on the guest's store.  PVM hosts never report data breakpoints.
t_watch() {
	[[ -d /sys/module/kvm_pvm ]] && skip "this PVM host does not report data breakpoints"
	kg_run -S -- 'watch watched' 'continue' 'print watched' 'delete' 'continue'
	expect_gdb 'Hardware watchpoint 1: watched'
	expect_gdb '^New value = 42'
	expect_vm 'gdb-target: done'
}

t_kill() {
	kg_run -S -- 'kill'
	[[ ! -s $T_DIR/vm.out ]] || fail "the guest ran: $(cat "$T_DIR/vm.out")"
	[[ $KG_STATUS -eq 0 ]] || fail "kvmini exited $KG_STATUS after kill"
}

t_monitor() {
	kg_run -S -- 'monitor info registers' 'continue'
	expect_gdb '^CPU 0: rip=0000000000100000'
}

t_run 'gdb.break' t_break
t_run 'gdb.hbreak-step' t_hbreak_step
t_run 'gdb.threads-detach' t_threads_detach
t_run 'gdb.finish' t_finish
t_run 'gdb.interrupt' t_interrupt
t_run 'gdb.watch' t_watch
t_run 'gdb.kill' t_kill
t_run 'gdb.monitor' t_monitor
t_run 'gdb.S-needs-gdb' t_bad_args '^kvmini: -S: .*-s or -gdb' -S -kernel "$GUESTS/hello.elf"
t_run 'gdb.bad-address' t_bad_args '^kvmini: -gdb foo: expected tcp:\[HOST\]:PORT or unix:PATH$' \
	-gdb foo -kernel "$GUESTS/hello.elf"
t_run 'gdb.bad-port' t_bad_args '^kvmini: -gdb tcp::99999: ' -gdb tcp::99999 \
	-kernel "$GUESTS/hello.elf"
