# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The control plane: QMP on unix and tcp sockets (socat as the client, jq checking the replies),
# the human monitor on a socket, on stdio and on the console (Ctrl-A c), stop/cont on the counter
# guest (guests/counter.c), the power button, and the SHUTDOWN event for every way the VM ends.

QM_CAPS='{"execute": "qmp_capabilities"}'

# qm_start [-w] ARGS...: kvmini in the background with a QMP socket at $QM_SOCK (-w: without
# nowait, so the VM waits for a client), stdout/stderr in $T_DIR/vm.out and vm.err; returns once
# the guest has printed something (without -w).
qm_start() {
	local mode=',nowait' _
	if [[ $1 == -w ]]; then
		mode=''
		shift
	fi
	need_kvmini
	command -v socat >/dev/null 2>&1 || skip "socat is not installed"
	command -v jq >/dev/null 2>&1 || skip "jq is not installed"
	QM_SOCK=$T_DIR/qmp.sock
	"$KVMINI" "${VM_ARGS[@]}" -qmp "unix:$QM_SOCK,server$mode" "$@" </dev/null \
		>"$T_DIR/vm.out" 2>"$T_DIR/vm.err" &
	QM_PID=$!
	# Up means the socket is there and, unless the VM waits for a client, the guest printing.
	for _ in $(seq 100); do
		[[ -S $QM_SOCK && ( -z $mode || -s $T_DIR/vm.out ) ]] && return 0
		sleep 0.1
	done
	fail "no QMP socket or no guest output after 10 s: $(cat "$T_DIR/vm.err")"
}

# qm_wait: wait for kvmini to end (at most T_TIMEOUT seconds); its status in $QM_STATUS.
qm_wait() {
	local _
	for _ in $(seq $((T_TIMEOUT * 10))); do
		kill -0 "$QM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$QM_PID" 2>/dev/null
	wait "$QM_PID"
	QM_STATUS=$?
}

# qm_talk OUT HOLD TEXT: send TEXT on a new connection, keep it open HOLD seconds for events;
# what came back goes to $T_DIR/OUT, every line checked to be a JSON object.
qm_talk() {
	local out=$T_DIR/$1
	{
		printf '%s' "$3"
		sleep "$2"
	} | timeout $(($2 + 5)) socat -t 2 - "UNIX-CONNECT:$QM_SOCK" >"$out" 2>&1
	tr -d '\r' <"$out" >"$out.tmp" && mv "$out.tmp" "$out"
	jq -e 'type == "object"' "$out" >/dev/null ||
		fail "$1: not a stream of JSON objects:"$'\n'"$(t_indent <"$out")"
}

# qm_expect OUT JQ-FILTER: some reply in $T_DIR/OUT makes the filter true.
qm_expect() {
	jq -e -s "any(.[]; $2)" "$T_DIR/$1" >/dev/null ||
		fail "$1: no reply matches '$2'; got:"$'\n'"$(t_indent <"$T_DIR/$1")"
}

qm_expect_not() {
	! jq -e -s "any(.[]; $2)" "$T_DIR/$1" >/dev/null ||
		fail "$1: a reply matches '$2'; got:"$'\n'"$(t_indent <"$T_DIR/$1")"
}

# The one-liner from the issue, with a drive attached.
t_query_block() {
	need_guest counter
	truncate -s 8M "$T_DIR/disk.img"
	qm_start -kernel "$GUESTS/counter.elf" -drive "file=$T_DIR/disk.img,format=raw,id=d0"
	printf '{"execute": "qmp_capabilities"}{"execute": "query-block"}' |
		timeout 5 socat - "UNIX-CONNECT:$QM_SOCK" >"$T_DIR/out" 2>&1
	jq -e 'type == "object"' "$T_DIR/out" >/dev/null || fail "not JSON: $(cat "$T_DIR/out")"
	qm_expect out '.QMP.version.qemu.major != null and (.QMP.version.package | startswith("kvmini"))'
	qm_expect out '.return[0]? | .device == "d0" and .locked == false and .removable == false
		and .inserted.ro == false and .inserted.drv == "raw"
		and .inserted.image.filename == "'"$T_DIR/disk.img"'"
		and .inserted.image.format == "raw" and .inserted.image["virtual-size"] == 8388608'
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
}

# Every query, with the id echoed back whatever JSON value it is.
t_commands() {
	need_guest counter
	qm_start -kernel "$GUESTS/counter.elf" -smp 2 -name qmptest
	qm_talk out 0 "$QM_CAPS"'
		{"execute": "query-status", "id": 1}
		{"execute": "query-version", "id": "v"}
		{"execute": "query-commands", "id": {"x": [1, 2]}}
		{"execute": "query-name", "id": null}
		{"execute": "query-kvm", "id": 5}
		{"execute": "query-cpus-fast", "id": 6}
		{"execute": "query-block", "id": 7}
		{"execute": "query-chardev", "id": 8}
		{"execute": "human-monitor-command", "arguments": {"command-line": "info status"},
		 "id": 9}'
	qm_expect out '.id == 1 and .return == {"status": "running", "running": true, "singlestep": false}'
	qm_expect out '.id == "v" and .return.qemu.minor != null and (.return.package | startswith("kvmini "))'
	qm_expect out '.id == {"x": [1, 2]} and ([.return[].name] | index("query-cpus-fast") != null)'
	qm_expect out 'has("id") and .id == null and .return == {"name": "qmptest"}'
	qm_expect out '.id == 5 and .return == {"enabled": true, "present": true}'
	qm_expect out '.id == 6 and (.return | length) == 2 and .return[1]["cpu-index"] == 1
		and .return[0].target == "x86_64" and .return[1].props["thread-id"] != null'
	qm_expect out '.id == 7 and .return == []'
	qm_expect out '.id == 8 and .return[0].label == "serial0" and .return[0].filename == "stdio"'
	qm_expect out '.id == 9 and .return == "VM status: running\n"'
	# The thread ids are kvmini's vCPU threads.
	for tid in $(jq -r '.return[]?["thread-id"]? // empty' "$T_DIR/out"); do
		[[ $(cat "/proc/$QM_PID/task/$tid/comm" 2>/dev/null) == vcpu* ]] ||
			fail "thread-id $tid is not a vCPU thread of kvmini"
	done
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS after quit"
}

# Errors get an error reply (with the id when there is one) and the connection goes on.
t_errors() {
	need_guest counter
	qm_start -kernel "$GUESTS/counter.elf"
	qm_talk out 0 '{"execute": "query-status", "id": "early"}'"$QM_CAPS"'
		{"execute": "query-status", "id": 1 garbage}
		nonsense
		{"execute": "no-such-command", "id": 2}
		{"execute": "human-monitor-command", "arguments": {"command-line": 3}, "id": 3}
		{"execute": "query-status", "arguments": {"bogus": 1}, "id": 4}
		{"execute": "query-status", "arguments": [], "id": 5}
		{"execute": "human-monitor-command", "id": 6}
		[1, 2]
		{"exec": "query-status", "id": 7}
		{"execute": "qmp_capabilities", "id": 8}
		{"execute": "query-status", "id": "last"}'
	qm_expect out '.id == "early" and .error.class == "CommandNotFound"
		and .error.desc == "Expecting capabilities negotiation with '"'qmp_capabilities'"'"'
	qm_expect out '(has("id") | not) and .error.class == "GenericError"
		and (.error.desc | startswith("JSON parse error"))'
	qm_expect out '.id == 2 and .error.class == "CommandNotFound"'
	qm_expect out '.id == 3 and .error == {"class": "GenericError",
		"desc": "Invalid parameter type for '"'command-line'"', expected: string"}'
	qm_expect out '.id == 4 and .error.class == "GenericError" and (.error.desc | test("bogus"))'
	qm_expect out '.id == 5 and .error.class == "GenericError" and (.error.desc | test("object"))'
	qm_expect out '.id == 6 and .error.desc == "Parameter '"'command-line'"' is missing"'
	qm_expect out '.error.desc == "QMP input must be a JSON object"'
	qm_expect out '.id == 7 and .error.class == "GenericError"'
	qm_expect out '.id == 8 and .error.class == "CommandNotFound"'
	qm_expect out '.id == "last" and .return.status == "running"'
	[[ $(jq -s '[.[] | select(.error)] | length' "$T_DIR/out") == 11 ]] ||
		fail "expected 11 error replies:"$'\n'"$(t_indent <"$T_DIR/out")"
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
}

# stop parks the guest: its count stands still until cont; the clients of two sockets all see
# the events.
t_stop_cont() {
	local a b c
	need_guest counter
	qm_start -kernel "$GUESTS/counter.elf" -qmp "unix:$T_DIR/qmp2.sock,server,nowait"
	qm_talk watch1 4 "$QM_CAPS" &
	local w1=$!
	# The second watcher on the second socket: both sockets, several clients.
	QM_SOCK=$T_DIR/qmp2.sock qm_talk watch2 4 "$QM_CAPS" &
	local w2=$!
	qm_talk watch3 4 "$QM_CAPS" &
	local w3=$!
	sleep 1
	qm_talk stop 0 "$QM_CAPS"'{"execute": "stop"}{"execute": "query-status"}'
	qm_expect stop '.return.status == "paused" and .return.running == false'
	sleep 0.2
	a=$(grep -c '^counter: [0-9]' "$T_DIR/vm.out")
	sleep 1
	b=$(grep -c '^counter: [0-9]' "$T_DIR/vm.out")
	[[ $a == "$b" ]] || fail "the guest counted from $a to $b while stopped"
	qm_talk cont 0 "$QM_CAPS"'{"execute": "cont"}{"execute": "query-status"}'
	qm_expect cont '.return.status == "running"'
	sleep 1
	c=$(grep -c '^counter: [0-9]' "$T_DIR/vm.out")
	((c > b)) || fail "the guest did not count on after cont ($b, then $c)"
	wait "$w1" "$w2" "$w3"
	for w in watch1 watch2 watch3; do
		qm_expect $w '.event == "STOP" and (.timestamp.seconds | type) == "number"
			and (.timestamp.microseconds | type) == "number"'
		qm_expect $w '.event == "RESUME"'
	done
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
}

# stop in the middle of the disk writes: what was in flight lands before the stop is reported and
# nothing after it (the image stops growing); after cont the guest finishes without an error.
t_stop_io() {
	local a b _
	need_guest blk-bench
	truncate -s 256M "$T_DIR/disk.img"
	qm_start -kernel "$GUESTS/blk-bench.elf" -append 'rand-ops=200' \
		-drive "file=$T_DIR/disk.img,format=raw"
	for _ in $(seq 100); do
		grep -q 'blk-bench: capacity' "$T_DIR/vm.out" && break
		sleep 0.05
	done
	qm_talk stop 0 "$QM_CAPS"'{"execute": "stop"}'
	a=$(stat -c %b "$T_DIR/disk.img")
	sleep 1
	b=$(stat -c %b "$T_DIR/disk.img")
	[[ $a == "$b" ]] || fail "the image grew from $a to $b blocks while the VM was stopped"
	grep -q 'seqwrite' "$T_DIR/vm.out" && note "the writes were over before the stop"
	qm_talk cont 0 "$QM_CAPS"'{"execute": "cont"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "blk-bench exited $QM_STATUS: $(cat "$T_DIR/vm.out")"
	grep -q 'blk-bench: randread bs=4096 qd=32' "$T_DIR/vm.out" || fail "blk-bench did not finish"
}

# system_powerdown: POWERDOWN, the guest handles the SCI and powers off: SHUTDOWN (guest).
t_powerdown() {
	need_guest counter
	qm_start -kernel "$GUESTS/counter.elf"
	sleep 0.5
	qm_talk out 3 "$QM_CAPS"'{"execute": "system_powerdown"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS"
	qm_expect out '.event == "POWERDOWN"'
	qm_expect out '.event == "SHUTDOWN" and .data == {"guest": true, "reason": "guest-shutdown"}'
	grep -q '^counter: power button' "$T_DIR/vm.out" || fail "the guest saw no power button"
}

# quit: the reply, then SHUTDOWN, then kvmini exits 0.
t_quit() {
	need_guest counter
	qm_start -kernel "$GUESTS/counter.elf"
	qm_talk out 1 "$QM_CAPS"'{"execute": "quit", "id": "q"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS"
	[[ $(jq -s -c '[.[] | select(.id or .event) | (.id // .event)]' "$T_DIR/out") == \
		'["q","SHUTDOWN"]' ]] ||
		fail "expected the reply, then SHUTDOWN:"$'\n'"$(t_indent <"$T_DIR/out")"
	qm_expect out '.event == "SHUTDOWN" and .data == {"guest": false, "reason": "host-qmp-quit"}'
}

# system_reset ends the VM (kvmini is always -no-reboot): RESET, SHUTDOWN, status 0.
t_system_reset() {
	need_guest counter
	qm_start -kernel "$GUESTS/counter.elf"
	qm_talk out 1 "$QM_CAPS"'{"execute": "system_reset"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS"
	qm_expect out '.event == "RESET"'
	qm_expect out '.event == "SHUTDOWN" and .data == {"guest": false,
		"reason": "host-qmp-system-reset"}'
}

qm_sigterm() {
	sleep 1
	kill -TERM "$QM_PID"
}

# SIGTERM ends the VM in order, even a stopped one.
t_sigterm() {
	need_guest counter
	qm_start -kernel "$GUESTS/counter.elf"
	qm_sigterm &
	qm_talk out 2 "$QM_CAPS"'{"execute": "stop"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS"
	qm_expect out '.event == "SHUTDOWN" and .data == {"guest": false, "reason": "host-signal"}'
}

# Without nowait the VM starts only once a client is connected; the guest's own reset
# (counter's exit 0) reaches it as SHUTDOWN guest-reset.
t_wait_guest_reset() {
	need_guest counter
	qm_start -w -kernel "$GUESTS/counter.elf" -append limit=100
	sleep 0.5
	[[ ! -s $T_DIR/vm.out ]] || fail "the guest ran before a client connected"
	qm_talk out 4 "$QM_CAPS"
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS"
	grep -q '^counter: 100$' "$T_DIR/vm.out" || fail "the guest did not count to 100"
	qm_expect out '.event == "SHUTDOWN" and .data == {"guest": true, "reason": "guest-reset"}'
}

# -S with a QMP socket and no gdb: paused before the first instruction until cont.
t_start_paused() {
	need_guest counter
	qm_start -w -S -kernel "$GUESTS/counter.elf"
	qm_talk paused 1 "$QM_CAPS"'{"execute": "query-status"}'
	qm_expect paused '.return.status == "paused"'
	[[ ! -s $T_DIR/vm.out ]] || fail "the guest ran before cont"
	qm_talk cont 1 "$QM_CAPS"'{"execute": "cont"}'
	qm_expect cont '.event == "RESUME"'
	grep -q '^counter: 1$' "$T_DIR/vm.out" || fail "the guest did not run after cont"
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
}

t_tcp() {
	local port=$((20000 + RANDOM % 20000))
	need_guest counter
	need_kvmini
	command -v socat >/dev/null 2>&1 || skip "socat is not installed"
	"$KVMINI" "${VM_ARGS[@]}" -qmp "tcp::$port,server,nowait" -kernel "$GUESTS/counter.elf" \
		</dev/null >"$T_DIR/vm.out" 2>"$T_DIR/vm.err" &
	QM_PID=$!
	sleep 0.5
	printf '%s' "$QM_CAPS"'{"execute": "query-status"}{"execute": "quit"}' |
		timeout 5 socat -t 2 - "TCP:127.0.0.1:$port" >"$T_DIR/out" 2>&1
	qm_wait
	qm_expect out '.return.status == "running"'
	qm_expect out '.event == "SHUTDOWN"'
}

# The human monitor on a unix socket.
t_monitor_socket() {
	need_guest counter
	qm_start -kernel "$GUESTS/counter.elf" -monitor "unix:$T_DIR/mon.sock,server,nowait" \
		-nic user,model=virtio-net-pci
	{
		printf 'info status\nstop\ninfo status\ninfo registers\ncont\ninfo snapshots\n'
		printf 'info cpus\nsavevm ../s1\nhelp\ninfo network\n'
		sleep 1
	} | timeout 5 socat -t 2 - "UNIX-CONNECT:$T_DIR/mon.sock" >"$T_DIR/mon.out" 2>&1
	grep -q 'VM status: running' "$T_DIR/mon.out" || fail "no running status"
	grep -q 'VM status: paused' "$T_DIR/mon.out" || fail "no paused status"
	grep -q '^RIP=' "$T_DIR/mon.out" || fail "no registers"
	grep -q 'There is no snapshot available.' "$T_DIR/mon.out" || fail "no info snapshots"
	# test_snapshot.sh saves VMs; here only the name is checked (no file lands in the cwd).
	grep -q "Error: a snapshot name, without '/'" "$T_DIR/mon.out" ||
		fail "savevm ../s1 is not refused"
	grep -q '\* CPU #0: thread_id=[0-9]' "$T_DIR/mon.out" || fail "no info cpus"
	grep -q '^system_reset' "$T_DIR/mon.out" || fail "no help"
	grep -q ': user: ' "$T_DIR/mon.out" || fail "no netdev in info network"
	grep -q 'virtio-net-pci: rx_dropped=0' "$T_DIR/mon.out" || fail "no NIC in info network"
	qm_talk quit 0 "$QM_CAPS"'{"execute": "quit"}'
	qm_wait
	[[ $QM_STATUS == 0 ]] || fail "kvmini exited $QM_STATUS"
}

# -monitor stdio with the serial port elsewhere: the monitor has stdio to itself.
t_monitor_stdio() {
	need_guest counter
	boot kvmini -p 'info status\ninfo chardev\nquit\n' -- -kernel "$GUESTS/counter.elf" \
		-serial "file:$T_DIR/serial.out" -monitor stdio
	expect_status 0
	expect_stdout_contains '(kvmini) VM status: running'
	expect_stdout_contains "serial0: filename=file:$T_DIR/serial.out"
}

# Ctrl-A c on the console: the monitor, then back to the guest.
t_console_monitor() {
	need_guest echo
	boot kvmini -p 'hello\r\001cinfo status\r\001cbye\r' -t 5 -- -kernel "$GUESTS/echo.elf"
	expect_stdout_contains 'kvmini 0.1.0 monitor'
	expect_stdout_contains '(kvmini) '
	expect_stdout_contains 'VM status: running'
	expect_stdout_line 'bye'
}

# The same on a terminal: the monitor echoes what is typed (raw mode), stop/cont from there, the
# guest gets its input back after the second Ctrl-A c, the terminal is restored.
t_console_monitor_pty() {
	need_guest echo
	boot_pty kvmini -w 'echo: ready' -i '\x01c' -w '(kvmini) ' -i 'stpo\x7f\x7fop\r' \
		-w '(kvmini) ' -i 'info status\r' -w 'VM status: paused' -i 'c\r' -w '(kvmini) ' \
		-i '\x01c' -i 'quit\r' -w 'echo: bye' -- -kernel "$GUESTS/echo.elf"
	expect_status 0
	expect_stdout_contains 'info status'
	expect_stdout_line 'quit'
}

t_cli_errors() {
	run_kvmini -kernel /dev/null -qmp stdio
	expect_status 1
	expect_stderr_line 'QMP on stdio is not supported'
	run_kvmini -kernel /dev/null -qmp "unix:$T_DIR/x.sock"
	expect_status 1
	expect_stderr_line 'only server sockets'
	run_kvmini -kernel /dev/null -qmp 'udp::4444,server'
	expect_status 1
	expect_stderr_line '^kvmini: -qmp udp::4444,server: expected unix:PATH'
	run_kvmini -kernel /dev/null -monitor "unix:$T_DIR/x.sock,server,bogus=1"
	expect_status 1
	expect_stderr_line "unknown parameter 'bogus=1'"
	run_kvmini -kernel /dev/null -monitor vc
	expect_status 1
	expect_stderr_line 'stdio or none'
}

t_run 'qmp.query-block' t_query_block
t_run 'qmp.commands' t_commands
t_run 'qmp.errors' t_errors
t_run 'qmp.stop-cont' t_stop_cont
t_run 'qmp.stop-io' t_stop_io
t_run 'qmp.powerdown' t_powerdown
t_run 'qmp.quit' t_quit
t_run 'qmp.system-reset' t_system_reset
t_run 'qmp.sigterm' t_sigterm
t_run 'qmp.wait-guest-reset' t_wait_guest_reset
t_run 'qmp.start-paused' t_start_paused
t_run 'qmp.tcp' t_tcp
t_run 'qmp.monitor-socket' t_monitor_socket
t_run 'qmp.monitor-stdio' t_monitor_stdio
t_run 'qmp.console-monitor' t_console_monitor
t_run 'qmp.console-monitor-pty' t_console_monitor_pty
t_run 'qmp.cli-errors' t_cli_errors
