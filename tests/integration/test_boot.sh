# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Booting the test guests: hello, probe (command line, memory size, user-mode loop), serial modes.
# Each scenario runs under kvmini and under QEMU microvm (a check of the guest and of the test's
# expectations); [diff] tests compare kvmini's and QEMU's output and status directly.

HELLO_LINE='Hello from kvmini guest'

t_hello() {
	need_guest hello
	boot "$1" -kernel "$GUESTS/hello.elf"
	expect_status 0
	expect_stdout_line "$HELLO_LINE"
}

t_hello_diff() {
	need_guest hello
	diff_boot '' -kernel "$GUESTS/hello.elf"
}

# kvmini with nothing but -kernel: serial on stdio, exit 0 on the guest's reset.
t_hello_bare() {
	need_guest hello
	run_kvmini -kernel "$GUESTS/hello.elf"
	expect_status 0
	expect_stdout_line "$HELLO_LINE"
}

# The options kvmini accepts for QEMU compatibility do not change anything.
t_hello_options() {
	need_guest hello
	boot kvmini "$@" -kernel "$GUESTS/hello.elf"
	expect_status 0
	expect_stdout_line "$HELLO_LINE"
}

# Without -nographic: QEMU refuses "-nographic -serial stdio" (its monitor is on stdio then).
t_hello_serial_stdio() {
	need_guest hello
	run_kvmini -serial stdio -kernel "$GUESTS/hello.elf"
	expect_status 0
	expect_stdout_line "$HELLO_LINE"
}

t_run 'hello[kvmini]' t_hello kvmini
t_run 'hello[qemu]' t_hello qemu
t_run 'hello[diff]' t_hello_diff
t_run 'hello.bare-args' t_hello_bare
t_run 'hello.accel-kvm' t_hello_options -accel kvm -smp 1 -name kvmini-test
t_run 'hello.enable-kvm' t_hello_options -enable-kvm -m 128M
t_run 'hello.serial-stdio' t_hello_serial_stdio

# ---- probe ----

PROBE_CMDLINE='kvmini-test foo=bar  two-spaces "quoted arg" action=exit:0'

t_probe_cmdline() {
	need_guest probe
	boot "$1" -kernel "$GUESTS/probe.elf" -append "$PROBE_CMDLINE"
	expect_status 0
	expect_stdout_line "probe: cmdline=$PROBE_CMDLINE"
}

t_probe_no_append() {
	need_guest probe
	boot "$1" -kernel "$GUESTS/probe.elf"
	expect_status 0
	expect_stdout_match '^probe: cmdline= *$'
}

t_probe_user() {
	need_guest probe
	boot "$1" -kernel "$GUESTS/probe.elf" -append action=exit:0
	expect_status 0
	expect_stdout_line 'probe: user=500000500000'
}

# The first number on the first "probe: e820" line (the start address) must be zero.
probe_first_e820_start() {
	sed -n 's/^probe: e820[^0-9]*\(0[xX][0-9a-fA-F]\{1,\}\|[0-9]\{1,\}\).*/\1/p' \
		"$T_DIR/stdout" | head -n 1
}

# t_probe_mem VM SIZE_MIB
t_probe_mem() {
	local mib=$2 ram start min max

	need_guest probe
	boot "$1" -m "${mib}M" -kernel "$GUESTS/probe.elf" -append action=exit:0
	expect_status 0
	expect_stdout_match '^probe: e820 '
	start=$(probe_first_e820_start)
	[[ -n $start ]] || fail "cannot find the start address of the first e820 entry"
	((start == 0)) || fail "first e820 entry starts at $start, not 0"
	ram=$(sed -n 's/^probe: ram=\([0-9]\{1,\}\)K$/\1/p' "$T_DIR/stdout" | head -n 1)
	[[ -n $ram ]] || fail "no 'probe: ram=NK' line"
	# Usable RAM: at most the size given, at least 85% of it (holes below 1 MiB, tables...).
	max=$((mib * 1024))
	min=$((max * 85 / 100))
	((ram <= max && ram >= min)) ||
		fail "probe: ram=${ram}K with -m ${mib}M, expected ${min}K..${max}K"
}

# Differential: command line, user loop result and status equal; e820 maps may differ.
t_probe_diff() {
	need_guest probe
	diff_boot '^probe: (cmdline|user)=' -kernel "$GUESTS/probe.elf" "$@"
}

for t_vm in kvmini qemu; do
	t_run "probe.cmdline[$t_vm]" t_probe_cmdline $t_vm
	t_run "probe.no-append[$t_vm]" t_probe_no_append $t_vm
	t_run "probe.user[$t_vm]" t_probe_user $t_vm
	t_run "probe.mem-64M[$t_vm]" t_probe_mem $t_vm 64
	t_run "probe.mem-512M[$t_vm]" t_probe_mem $t_vm 512
done
t_run 'probe.cmdline[diff]' t_probe_diff -append "$PROBE_CMDLINE"
t_run 'probe.no-append[diff]' t_probe_diff
t_run 'probe.mem-64M[diff]' t_probe_diff -m 64M -append action=exit:0

# ---- serial back ends ----

t_serial_file() {
	need_guest hello
	boot "$1" -serial "file:$T_DIR/serial.log" -kernel "$GUESTS/hello.elf"
	expect_status 0
	expect_file_contains "$T_DIR/serial.log" "$HELLO_LINE"
	expect_stdout_not_contains "$HELLO_LINE"
}

t_serial_none() {
	need_guest hello
	boot "$1" -serial none -kernel "$GUESTS/hello.elf"
	expect_status 0
	expect_stdout_not_contains "$HELLO_LINE"
}

# The guest's stdout stays the same whatever the serial back end: compare file contents.
t_serial_file_diff() {
	need_qemu
	need_guest probe
	boot kvmini -serial "file:$T_DIR/kvmini.log" -kernel "$GUESTS/probe.elf" -append 'x=1'
	save_run kvmini
	grep -E '^probe: (cmdline|user)=' "$T_DIR/kvmini.log" | tr -d '\r' >"$T_DIR/kvmini.stdout"
	boot qemu -serial "file:$T_DIR/qemu.log" -kernel "$GUESTS/probe.elf" -append 'x=1'
	save_run qemu
	grep -E '^probe: (cmdline|user)=' "$T_DIR/qemu.log" | tr -d '\r' >"$T_DIR/qemu.stdout"
	[[ -s $T_DIR/qemu.stdout ]] || fail "QEMU's serial file has no probe lines"
	expect_same_run kvmini qemu
}

for t_vm in kvmini qemu; do
	t_run "serial.file[$t_vm]" t_serial_file $t_vm
	t_run "serial.none[$t_vm]" t_serial_none $t_vm
done
t_run 'serial.file[diff]' t_serial_file_diff
