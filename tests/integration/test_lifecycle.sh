# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2016 # gdb expressions ($pc) are meant literally
# The process around the VM: -daemonize (returns once the VM is set up, errors reach the caller),
# -pidfile (the daemon's pid, locked, removed at every orderly end), -name (the process title,
# query-name), SIGTERM and SIGINT, and the gdb stub while QMP has the VM stopped. The counter guest
# (guests/counter.c) runs until it is told to stop; QMP (socat, jq) stops it.

LC_CAPS='{"execute": "qmp_capabilities"}'

lc_need() {
	need_kvmini
	need_guest counter
	command -v socat >/dev/null 2>&1 || skip "socat is not installed"
	command -v jq >/dev/null 2>&1 || skip "jq is not installed"
}

# lc_qmp OUT HOLD TEXT: send TEXT to $T_DIR/q.sock, keep the connection HOLD seconds; the replies
# go to $T_DIR/OUT.
lc_qmp() {
	{
		printf '%s' "$3"
		sleep "$2"
	} | timeout $(($2 + 5)) socat -t 2 - "UNIX-CONNECT:$T_DIR/q.sock" >"$T_DIR/$1" 2>&1
}

lc_expect() {
	jq -e -s "any(.[]; $2)" "$T_DIR/$1" >/dev/null ||
		fail "$1: no reply matches '$2'; got:"$'\n'"$(t_indent <"$T_DIR/$1")"
}

# lc_gone PID: wait (T_TIMEOUT seconds at most) until PID, not necessarily our child, has ended.
lc_gone() {
	local _
	for _ in $(seq $((T_TIMEOUT * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "process $1 is still there after ${T_TIMEOUT}s"
}

# lc_lines FILE: the number of counter lines the guest has written.
lc_lines() {
	grep -c '^counter: [0-9]' "$1"
}

lc_daemon() {
	run_kvmini -daemonize -kernel "$GUESTS/counter.elf" -serial "file:$T_DIR/serial.out" \
		-qmp "unix:$T_DIR/q.sock,server,nowait" -pidfile "$T_DIR/vm.pid" "$@"
}

# -daemonize returns once the VM is set up, the guest running; the daemon's pid is in the
# pidfile, which is locked; quit ends it and removes the file.
t_daemonize() {
	local pid a b
	lc_need
	lc_daemon -name lcvm
	expect_status 0
	[[ ! -s $T_DIR/stdout && ! -s $T_DIR/stderr ]] || fail "the caller got output"
	[[ -S $T_DIR/q.sock ]] || fail "no QMP socket when -daemonize returned"
	pid=$(<"$T_DIR/vm.pid")
	if [[ ! $pid =~ ^[0-9]+$ ]] || ! kill -0 "$pid"; then
		fail "no live pid in the pidfile: '$pid'"
	fi
	# Detached: a session of its own, no terminal, stdio on /dev/null.
	[[ $(ps -o sid= -p "$pid" | tr -d ' ') != "$(ps -o sid= -p $$ | tr -d ' ')" ]] ||
		fail "the daemon is still in the caller's session"
	for fd in 0 1 2; do
		[[ $(readlink "/proc/$pid/fd/$fd") == /dev/null ]] ||
			fail "fd $fd of the daemon is $(readlink "/proc/$pid/fd/$fd"), not /dev/null"
	done
	[[ $(<"/proc/$pid/comm") == kvmini:lcvm ]] ||
		fail "/proc/$pid/comm is '$(<"/proc/$pid/comm")', expected kvmini:lcvm"
	sleep 0.5
	a=$(lc_lines "$T_DIR/serial.out")
	sleep 0.5
	b=$(lc_lines "$T_DIR/serial.out")
	((b > a)) || fail "the guest does not run ($a, then $b lines)"
	# A second kvmini on the same pidfile is refused before it builds anything.
	run_kvmini -daemonize -kernel "$GUESTS/counter.elf" -serial "file:$T_DIR/serial2.out" \
		-pidfile "$T_DIR/vm.pid"
	expect_status 1
	expect_stderr_line "^kvmini: -pidfile $T_DIR/vm.pid: another kvmini \\(pid $pid\\) holds it\$"
	[[ ! -e $T_DIR/serial2.out ]] || fail "the refused kvmini opened its serial file"
	lc_qmp out 1 "$LC_CAPS"'{"execute": "query-name"}{"execute": "quit"}'
	lc_expect out '.return == {"name": "lcvm"}'
	lc_expect out '.event == "SHUTDOWN" and .data.reason == "host-qmp-quit"'
	lc_gone "$pid"
	[[ ! -e $T_DIR/vm.pid ]] || fail "the pidfile is still there after quit"
	[[ ! -e $T_DIR/q.sock ]] || fail "the QMP socket is still there after quit"
}

# SIGTERM ends the daemon in order: SHUTDOWN host-signal, the pidfile removed.
t_daemon_sigterm() {
	local pid
	lc_need
	lc_daemon
	expect_status 0
	pid=$(<"$T_DIR/vm.pid")
	(
		sleep 1
		kill -TERM "$pid"
	) &
	lc_qmp out 3 "$LC_CAPS"
	lc_expect out '.event == "SHUTDOWN" and .data == {"guest": false, "reason": "host-signal"}'
	lc_gone "$pid"
	[[ ! -e $T_DIR/vm.pid ]] || fail "the pidfile is still there after SIGTERM"
}

# Setup failures reach the caller as one line and status 1; no daemon, no pidfile is left.
t_daemonize_errors() {
	lc_need
	run_kvmini -daemonize -kernel "$T_DIR/missing.elf" -serial none -pidfile "$T_DIR/vm.pid"
	expect_status 1
	expect_stderr_line "^kvmini: -kernel $T_DIR/missing.elf: No such file or directory\$"
	[[ ! -e $T_DIR/vm.pid ]] || fail "a failed setup left its pidfile"
	run_kvmini -daemonize -kernel "$GUESTS/counter.elf" -serial none -pidfile "$T_DIR/vm.pid" \
		-drive "file=$T_DIR/missing.img,format=raw"
	expect_status 1
	expect_stderr_line "^kvmini: -drive file=$T_DIR/missing.img: No such file or directory\$"
	[[ ! -e $T_DIR/vm.pid ]] || fail "a failed setup left its pidfile"
	# Nothing may be on the stdio the daemon leaves (QEMU's words where QEMU has the rule).
	run_kvmini -daemonize -nographic -kernel "$GUESTS/counter.elf" -serial none
	expect_status 1
	expect_stderr_line '^kvmini: -nographic cannot be used with -daemonize$'
	run_kvmini -daemonize -kernel "$GUESTS/counter.elf" -serial stdio
	expect_status 1
	expect_stderr_line '^kvmini: -serial stdio: cannot use stdio with -daemonize$'
	run_kvmini -daemonize -kernel "$GUESTS/counter.elf" -serial none -monitor stdio
	expect_status 1
	expect_stderr_line '^kvmini: -monitor stdio: cannot use stdio with -daemonize$'
	run_kvmini -daemonize -kernel "$GUESTS/counter.elf"
	expect_status 1
	expect_stderr_line '^kvmini: -daemonize: the serial console would be on stdio'
	run_kvmini -kernel "$GUESTS/counter.elf" -name 'vm,xx=1'
	expect_status 1
	expect_stderr_line "^kvmini: -name vm,xx=1: parameter 'xx' is not supported"
	run_kvmini -kernel "$GUESTS/counter.elf" -serial none -pidfile "$T_DIR/no/such/dir/vm.pid"
	expect_status 1
	expect_stderr_line "^kvmini: -pidfile $T_DIR/no/such/dir/vm.pid: No such file or directory\$"
}

# QEMU refuses the same command lines, in the same words.
t_daemonize_qemu() {
	need_qemu
	need_guest counter
	run_cmd -- "$QEMU" "${QEMU_MACHINE[@]}" -daemonize -nographic -kernel "$GUESTS/counter.elf"
	expect_status 1
	expect_stderr_match ': -nographic cannot be used with -daemonize$'
	run_cmd -- "$QEMU" "${QEMU_MACHINE[@]}" -daemonize -display none -serial none \
		-monitor stdio -kernel "$GUESTS/counter.elf"
	expect_status 1
	expect_stderr_match ': -monitor stdio: cannot use stdio with -daemonize$'
}

# In the foreground: the pidfile holds kvmini's pid; SIGTERM: SHUTDOWN host-signal, status 0,
# the pidfile removed; -name's process= is the process title.
t_pidfile_sigterm() {
	local pid status _
	lc_need
	"$KVMINI" -kernel "$GUESTS/counter.elf" -serial "file:$T_DIR/serial.out" \
		-qmp "unix:$T_DIR/q.sock,server,nowait" -pidfile "$T_DIR/vm.pid" \
		-name 'fgvm,process=lc-title' </dev/null >"$T_DIR/vm.out" 2>"$T_DIR/vm.err" &
	pid=$!
	for _ in $(seq 100); do
		[[ -s $T_DIR/vm.pid && -S $T_DIR/q.sock ]] && break
		sleep 0.1
	done
	[[ $(<"$T_DIR/vm.pid") == "$pid" ]] || fail "the pidfile has '$(<"$T_DIR/vm.pid")', not $pid"
	[[ $(<"/proc/$pid/comm") == lc-title ]] ||
		fail "/proc/$pid/comm is '$(<"/proc/$pid/comm")', expected lc-title"
	(
		sleep 1
		kill -TERM "$pid"
	) &
	lc_qmp out 3 "$LC_CAPS"'{"execute": "query-name"}'
	lc_expect out '.return == {"name": "fgvm"}'
	lc_expect out '.event == "SHUTDOWN" and .data == {"guest": false, "reason": "host-signal"}'
	wait "$pid"
	status=$?
	((status == 0)) || fail "kvmini exited $status on SIGTERM: $(cat "$T_DIR/vm.err")"
	grep -qx 'kvmini: terminating on signal 15' "$T_DIR/vm.err" ||
		fail "no 'terminating on signal 15': $(cat "$T_DIR/vm.err")"
	[[ ! -e $T_DIR/vm.pid ]] || fail "the pidfile is still there after SIGTERM"
}

# The guest ends itself (counter limit=N: a reset): the pidfile goes too.
t_pidfile_guest_exit() {
	lc_need
	run_kvmini -kernel "$GUESTS/counter.elf" -append limit=20 -serial "file:$T_DIR/serial.out" \
		-pidfile "$T_DIR/vm.pid"
	expect_status 0
	grep -qx 'counter: 20' "$T_DIR/serial.out" || fail "the guest did not count to 20"
	[[ ! -e $T_DIR/vm.pid ]] || fail "the pidfile is still there after the guest ended"
}

# SIGINT with stdin not a terminal ends kvmini as SIGTERM does (status 0), as QEMU's does.
t_sigint_pipe() {
	local pid status
	lc_need
	"$KVMINI" "${VM_ARGS[@]}" -kernel "$GUESTS/counter.elf" </dev/null >"$T_DIR/vm.out" \
		2>"$T_DIR/vm.err" &
	pid=$!
	sleep 1
	kill -INT "$pid"
	lc_gone "$pid"
	wait "$pid"
	status=$?
	((status == 0)) || fail "kvmini exited $status on SIGINT"
	grep -qx 'kvmini: terminating on signal 2' "$T_DIR/vm.err" ||
		fail "no 'terminating on signal 2': $(cat "$T_DIR/vm.err")"
	grep -q '^counter: 1$' "$T_DIR/vm.out" || fail "the guest did not run"
}

# On a terminal (raw mode) Ctrl-C is a byte for the guest: the echo guest echoes it and runs on.
t_ctrl_c_pty() {
	need_guest echo
	boot_pty "$1" -w 'echo: ready' -i 'a\x03b\r' -w 'b' -d 300 -i 'quit\r' -w 'echo: bye' \
		-- -kernel "$GUESTS/echo.elf"
	expect_status 0
	expect_stdout_contains $'a\x03b'
}

# A SIGINT from elsewhere (kill) still ends the VM on a terminal, status 0, terminal restored.
t_sigint_pty() {
	need_guest echo
	boot_pty "$1" -w 'echo: ready' -k INT -- -kernel "$GUESTS/echo.elf"
	expect_status 0
}

# QMP stop, then a gdb session: the stub answers while the VM is stopped (it lives on the I/O
# thread's main loop, not the device loop), reads the registers, detaches; cont runs the guest on.
t_gdb_while_stopped() {
	local pid a b c
	lc_need
	command -v gdb >/dev/null 2>&1 || skip "gdb is not installed"
	"$KVMINI" -kernel "$GUESTS/counter.elf" -serial "file:$T_DIR/serial.out" \
		-qmp "unix:$T_DIR/q.sock,server,nowait" -gdb "unix:$T_DIR/gdb.sock" \
		</dev/null >"$T_DIR/vm.out" 2>"$T_DIR/vm.err" &
	pid=$!
	for _ in $(seq 100); do
		[[ -S $T_DIR/q.sock && -S $T_DIR/gdb.sock && -s $T_DIR/serial.out ]] && break
		sleep 0.1
	done
	lc_qmp stop 0 "$LC_CAPS"'{"execute": "stop"}'
	lc_expect stop '.event == "STOP"'
	a=$(lc_lines "$T_DIR/serial.out")
	timeout "$T_TIMEOUT" gdb -batch -nx -ex "target remote $T_DIR/gdb.sock" \
		-ex 'info registers rip' -ex 'x/1i $pc' -ex 'detach' >"$T_DIR/gdb.out" 2>&1 ||
		fail "gdb failed or hung on the stopped VM:"$'\n'"$(t_indent <"$T_DIR/gdb.out")"
	grep -qE '^rip +0x[0-9a-f]+' "$T_DIR/gdb.out" ||
		fail "gdb read no rip:"$'\n'"$(t_indent <"$T_DIR/gdb.out")"
	b=$(lc_lines "$T_DIR/serial.out")
	((a == b)) || fail "the guest counted from $a to $b while stopped"
	lc_qmp cont 0 "$LC_CAPS"'{"execute": "query-status"}{"execute": "cont"}'
	lc_expect cont '.return.status == "paused"'
	lc_expect cont '.event == "RESUME"'
	sleep 1
	c=$(lc_lines "$T_DIR/serial.out")
	((c > b)) || fail "the guest did not run on after cont ($b, then $c lines)"
	lc_qmp quit 1 "$LC_CAPS"'{"execute": "quit"}'
	lc_gone "$pid"
	wait "$pid" || fail "kvmini exited $?: $(cat "$T_DIR/vm.err")"
}

t_run 'lifecycle.daemonize' t_daemonize
t_run 'lifecycle.daemon-sigterm' t_daemon_sigterm
t_run 'lifecycle.daemonize-errors' t_daemonize_errors
t_run 'lifecycle.daemonize-errors[qemu]' t_daemonize_qemu
t_run 'lifecycle.pidfile-sigterm' t_pidfile_sigterm
t_run 'lifecycle.pidfile-guest-exit' t_pidfile_guest_exit
t_run 'lifecycle.sigint-pipe' t_sigint_pipe
t_run 'lifecycle.ctrl-c-pty[kvmini]' t_ctrl_c_pty kvmini
t_run 'lifecycle.ctrl-c-pty[qemu]' t_ctrl_c_pty qemu
t_run 'lifecycle.sigint-pty[kvmini]' t_sigint_pty kvmini
t_run 'lifecycle.sigint-pty[qemu]' t_sigint_pty qemu
t_run 'lifecycle.gdb-while-stopped' t_gdb_while_stopped
