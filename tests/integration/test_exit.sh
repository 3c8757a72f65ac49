# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# How the guest ends and what kvmini's exit status is:
#   isa-debug-exit value N -> (N << 1) | 1; i8042 reset -> 0; triple fault -> 0; ACPI S5 -> 0;
#   (probe's action=exit:0 is the guests' "exit 0": an i8042 reset, then a triple fault -> 0;
#   action=exit:N for N > 0 writes N to isa-debug-exit)
#   a vCPU that cannot go on (code fetch from outside RAM) -> 2 with a register dump on stderr.

# t_exit_code VM N
t_exit_code() {
	need_guest probe
	boot "$1" -kernel "$GUESTS/probe.elf" -append "action=exit:$2"
	expect_status $(($2 ? (($2 << 1) | 1) & 255 : 0))
	expect_stdout_line 'probe: user=500000500000'
}

t_exit_code_diff() {
	need_guest probe
	diff_boot '^probe: (cmdline|user)=' -kernel "$GUESTS/probe.elf" -append "action=exit:$1"
}

t_reset() {
	need_guest probe
	boot kvmini -kernel "$GUESTS/probe.elf" -append action=reset
	expect_status 0
	expect_stdout_line 'probe: user=500000500000'
}

t_triple() {
	need_guest probe
	boot "$1" -kernel "$GUESTS/probe.elf" -append action=triple
	expect_status 0
	expect_stdout_line 'probe: user=500000500000'
}

t_triple_diff() {
	need_guest probe
	diff_boot '^probe: (cmdline|user)=' -kernel "$GUESTS/probe.elf" -append action=triple
}

# ACPI S5: the probe writes SLP_TYP = 5 | SLP_EN where the FADT says: PM1a_CNT on kvmini, the
# sleep control register of hardware-reduced ACPI on QEMU microvm (acpi= is on by default). The
# guest exits 1 (status 3) when it finds no register and 4 (status 9) when the VM goes on.
t_acpi_off() {
	need_guest probe
	boot "$1" -kernel "$GUESTS/probe.elf" -append action=acpi-off
	expect_status 0
	expect_stdout_line 'probe: user=500000500000'
	expect_stdout_line 'probe: action=acpi-off'
}

t_acpi_off_diff() {
	need_guest probe
	diff_boot '^probe: (cmdline|user|action|no FADT|still)' -kernel "$GUESTS/probe.elf" \
		-append action=acpi-off
}

# Without ACPI tables the guest must say so: status 0 above comes from the power-off.
t_acpi_off_no_acpi() {
	# shellcheck disable=SC2034,SC2054 # read by vm_cmd in lib.sh (in a subshell); one -M value
	QEMU_MACHINE=(-M microvm,acpi=off -accel kvm)
	need_guest probe
	boot qemu -kernel "$GUESTS/probe.elf" -append action=acpi-off
	expect_status 3
	expect_stdout_line 'probe: no FADT with a register to power off through'
}

# Under QEMU this ends in "KVM internal error" and QEMU stays paused, so there is no QEMU run.
t_mmio_exec() {
	need_guest probe
	boot kvmini -kernel "$GUESTS/probe.elf" -append action=mmio-exec
	expect_status 2
	expect_stdout_line 'probe: user=500000500000'
	expect_stderr_match 'RIP|rip'
}

for t_n in 0 1 3 42 127; do
	t_run "exit.code-${t_n}[kvmini]" t_exit_code kvmini "$t_n"
	t_run "exit.code-${t_n}[qemu]" t_exit_code qemu "$t_n"
done
t_run 'exit.code-3[diff]' t_exit_code_diff 3
t_run 'exit.code-127[diff]' t_exit_code_diff 127
# QEMU's microvm has no i8042, so a reset through port 0x64 does not end QEMU: kvmini only.
t_run 'exit.reset[kvmini]' t_reset
t_run 'exit.triple[kvmini]' t_triple kvmini
t_run 'exit.triple[qemu]' t_triple qemu
t_run 'exit.triple[diff]' t_triple_diff
t_run 'exit.mmio-exec[kvmini]' t_mmio_exec
t_run 'exit.acpi-off[kvmini]' t_acpi_off kvmini
t_run 'exit.acpi-off[qemu]' t_acpi_off qemu
t_run 'exit.acpi-off[diff]' t_acpi_off_diff
t_run 'exit.acpi-off-no-acpi[qemu]' t_acpi_off_no_acpi
