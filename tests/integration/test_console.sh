# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The serial console: input from a pipe and from a terminal, raw mode and its restoration,
# and the Ctrl-A escapes (x quits, h prints help, Ctrl-A Ctrl-A sends one Ctrl-A).
# Terminal runs go through ptyrun, which fails with 125 if the terminal is not left as it was.

t_echo_pipe() {
	need_guest echo
	boot "$1" -p 'hi\rquit\r' -kernel "$GUESTS/echo.elf"
	expect_status 0
	expect_stdout_line 'echo: ready'
	expect_stdout_contains 'hi'
	expect_stdout_line 'echo: bye'
}

t_echo_pipe_diff() {
	need_guest echo
	diff_boot '' -p 'hi\rquit\r' -kernel "$GUESTS/echo.elf"
}

# Input that is already waiting before the guest reads it (a file, not a pipe).
t_echo_file() {
	need_guest echo
	printf 'one\rtwo\rquit\r' >"$T_DIR/input"
	boot kvmini -i "$T_DIR/input" -kernel "$GUESTS/echo.elf"
	expect_status 0
	expect_stdout_contains 'one'
	expect_stdout_contains 'two'
	expect_stdout_line 'echo: bye'
}

t_echo_pty() {
	need_guest echo
	boot_pty "$1" -w 'echo: ready' -i 'hi\r' -w 'hi' -i 'quit\r' -w 'echo: bye' \
		-- -kernel "$GUESTS/echo.elf"
	expect_status 0
	expect_stdout_line 'hi'
	expect_stdout_line 'echo: bye'
}

t_echo_pty_diff() {
	need_guest echo
	diff_boot_pty '' -w 'echo: ready' -i 'hi\r' -w 'hi' -i 'quit\r' -w 'echo: bye' \
		-- -kernel "$GUESTS/echo.elf"
}

# Ctrl-A x: the VM ends with status 0 and the terminal is restored.
t_ctrl_a_x() {
	need_guest echo
	boot_pty "$1" -w 'echo: ready' -i '\x01x' -- -kernel "$GUESTS/echo.elf"
	expect_status 0
}

# The same, with the two bytes arriving in separate reads.
t_ctrl_a_x_split() {
	need_guest echo
	boot_pty kvmini -w 'echo: ready' -D 200 -i '\x01x' -- -kernel "$GUESTS/echo.elf"
	expect_status 0
}

# Ctrl-A h prints a help text that mentions the exit escape; the guest goes on running.
t_ctrl_a_h() {
	need_guest echo
	boot_pty "$1" -w 'echo: ready' -i '\x01h' -d 300 -i 'quit\r' -w 'echo: bye' \
		-- -kernel "$GUESTS/echo.elf"
	expect_status 0
	grep -qiE '(C-a|Ctrl-A|\^A)[[:space:]]*x' "$T_DIR/stdout" ||
		fail "no help line about the exit escape (C-a x / Ctrl-A x) in the output"
}

# Ctrl-A Ctrl-A reaches the guest as one Ctrl-A, which the echo guest echoes back.
t_ctrl_a_ctrl_a() {
	need_guest echo
	boot_pty "$1" -w 'echo: ready' -i 'a\x01\x01b\r' -w 'b' -i 'quit\r' -w 'echo: bye' \
		-- -kernel "$GUESTS/echo.elf"
	expect_status 0
	expect_stdout_contains $'a\x01b'
	expect_stdout_not_contains $'a\x01\x01b'
}

# The guest ends on its own while the terminal is raw: it must be restored on every exit path.
# t_pty_exit_path VM APPEND STATUS
t_pty_exit_path() {
	need_guest probe
	boot_pty "$1" -- -kernel "$GUESTS/probe.elf" -append "$2"
	expect_status "$3"
	expect_stdout_line 'probe: user=500000500000'
}

# A signal ends the VM (status 0, like QEMU's "terminating on signal N"); the terminal is restored.
# t_pty_signal VM SIG
t_pty_signal() {
	need_guest echo
	boot_pty "$1" -w 'echo: ready' -k "$2" -- -kernel "$GUESTS/echo.elf"
	expect_status 0
}

# Bad options are reported before the terminal is touched.
t_pty_bad_args() {
	need_guest hello
	boot_pty kvmini -- -kernel "$GUESTS/hello.elf" -m abc
	expect_status 1
	expect_stdout_match '^kvmini: '
}

for t_vm in kvmini qemu; do
	t_run "echo.pipe[$t_vm]" t_echo_pipe $t_vm
	t_run "echo.pty[$t_vm]" t_echo_pty $t_vm
	t_run "escape.ctrl-a-x[$t_vm]" t_ctrl_a_x $t_vm
	t_run "escape.ctrl-a-h[$t_vm]" t_ctrl_a_h $t_vm
	t_run "escape.ctrl-a-ctrl-a[$t_vm]" t_ctrl_a_ctrl_a $t_vm
done
t_run 'echo.pipe[diff]' t_echo_pipe_diff
t_run 'echo.pty[diff]' t_echo_pty_diff
t_run 'echo.file[kvmini]' t_echo_file
t_run 'escape.ctrl-a-x-split[kvmini]' t_ctrl_a_x_split
t_run 'pty.exit-debug[kvmini]' t_pty_exit_path kvmini action=exit:3 7
t_run 'pty.exit-reset[kvmini]' t_pty_exit_path kvmini action=reset 0
t_run 'pty.exit-triple[kvmini]' t_pty_exit_path kvmini action=triple 0
t_run 'pty.exit-vcpu-error[kvmini]' t_pty_exit_path kvmini action=mmio-exec 2
t_run 'pty.exit-debug[qemu]' t_pty_exit_path qemu action=exit:3 7
t_run 'pty.sigterm[kvmini]' t_pty_signal kvmini TERM
t_run 'pty.sigterm[qemu]' t_pty_signal qemu TERM
t_run 'pty.sighup[kvmini]' t_pty_signal kvmini HUP
t_run 'pty.bad-args[kvmini]' t_pty_bad_args
