# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Starting APs: the smp guest sends INIT/SIPI/SIPI through the in-kernel LAPIC, every AP runs a
# real-mode trampoline into long mode and reports its APIC ID ("smp: AP <id> up"); the boot CPU
# prints "smp: N CPUs up, APIC IDs: ..." and exits 0, or says which APs are missing and exits 1
# (status 3). The same scenarios run under QEMU microvm (KVM, and TCG as the reference), with the
# IPIs sent through the xAPIC's MMIO ICR, or through the x2APIC ICR MSR (apic=x2apic, what Linux
# uses on KVM); QEMU 7.2's TCG has no x2APIC.

# smp_args N [CMDLINE...]: -smp N, and "cpus=N" plus CMDLINE on the command line.
smp_args() {
	local n=$1
	shift
	SMP_ARGS=(-kernel "$GUESTS/smp.elf" -smp "$n" -append "cpus=$n${*:+ $*}")
}

# expect_cpus_up N: one "AP k up" line per AP (in any order) and the summary with IDs 0..N-1.
expect_cpus_up() {
	local n=$1 id ids=0

	for ((id = 1; id < n; id++)); do
		expect_stdout_line "smp: AP $id up"
		ids+=" $id"
	done
	expect_stdout_line "smp: $n CPUs up, APIC IDs: $ids"
	[[ $(grep -c '^smp: AP ' "$T_DIR/stdout") == $((n - 1)) ]] ||
		fail "expected $((n - 1)) 'smp: AP' lines"
}

# t_smp VM N [CMDLINE...]
t_smp() {
	local vm=$1 n=$2
	shift 2

	need_guest smp
	smp_args "$n" "$@"
	boot "$vm" "${SMP_ARGS[@]}"
	expect_status 0
	expect_stdout_line "smp: expecting $n CPUs (cpus=)"
	expect_cpus_up "$n"
}

# QEMU with TCG: what the guest does on a CPU that is not virtualized at all.
t_smp_tcg() {
	# shellcheck disable=SC2034 # read by vm_cmd in lib.sh; this test runs in a subshell
	QEMU_MACHINE=(-M microvm -accel tcg)
	t_smp qemu "$@"
}

# The AP lines come in any order once there is more than one AP: compare the rest.
t_smp_diff() {
	need_guest smp
	smp_args "$@"
	diff_boot '!^smp: AP ' "${SMP_ARGS[@]}"
}

# One CPU more on the command line than the VM has: the guest must notice and name it.
t_smp_missing() {
	need_guest smp
	boot kvmini -t 30 -kernel "$GUESTS/smp.elf" -smp 2 -append cpus=3
	expect_status 3
	expect_stdout_line 'smp: AP 1 up'
	expect_stdout_match '^smp: timeout: 1 of 2 APs up .*; missing APIC IDs: 2$'
}

# Without cpus=, the guest expects the enabled local APICs of the ACPI MADT.
t_smp_madt() {
	need_guest smp
	boot "$1" -kernel "$GUESTS/smp.elf" -smp 2
	if [[ $1 == kvmini ]] && grep -qxF 'smp: expecting 1 CPUs (default)' "$T_DIR/stdout"; then
		skip "kvmini gives the guest no ACPI MADT yet"
	fi
	expect_status 0
	expect_stdout_line 'smp: expecting 2 CPUs (MADT)'
	expect_cpus_up 2
}

t_run 'smp.1[kvmini]' t_smp kvmini 1
t_run 'smp.2[kvmini]' t_smp kvmini 2
t_run 'smp.4[kvmini]' t_smp kvmini 4
t_run 'smp.4-sipi-each[kvmini]' t_smp kvmini 4 sipi=each
t_run 'smp.4-x2apic[kvmini]' t_smp kvmini 4 apic=x2apic
t_run 'smp.4-x2apic-sipi-each[kvmini]' t_smp kvmini 4 apic=x2apic sipi=each
t_run 'smp.16[kvmini]' t_smp kvmini 16
t_run 'smp.missing-ap[kvmini]' t_smp_missing
t_run 'smp.madt[kvmini]' t_smp_madt kvmini
t_run 'smp.2[qemu]' t_smp qemu 2
t_run 'smp.4[qemu]' t_smp qemu 4
t_run 'smp.4-sipi-each[qemu]' t_smp qemu 4 sipi=each
t_run 'smp.4-x2apic[qemu]' t_smp qemu 4 apic=x2apic
t_run 'smp.madt[qemu]' t_smp_madt qemu
t_run 'smp.4[qemu-tcg]' t_smp_tcg 4
t_run 'smp.2[diff]' t_smp_diff 2
t_run 'smp.4[diff]' t_smp_diff 4
t_run 'smp.4-x2apic[diff]' t_smp_diff 4 apic=x2apic
