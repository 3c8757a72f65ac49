# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# What the guest sees through CPUID: the cpuid guest prints leaf 1 (feature words, initial APIC
# ID, logical CPUs per package), leaf 7, the 0xb topology levels, 0x80000001 and the KVM leaf.
# -smp topologies must show up there; -cpu masks must clear the bits KVM manages. On PVM hosts
# the guest sees the real CPU's bits for features PVM's KVM does not manage, whatever the mask:
# kvmini says so and names the kernel command-line fallback.

# cpuid_word LEAF REG: the hex value of REG in the guest's "cpuid: LEAF ... REG=..." line.
cpuid_word() {
	sed -nE "s/^cpuid: $1 .*$2=([0-9a-f]{8}).*/\\1/p" "$T_DIR/stdout"
}

t_cpu_topology_cores() {
	need_guest cpuid
	boot kvmini -kernel "$GUESTS/cpuid.elf" -smp 4,sockets=1,cores=4,threads=1
	expect_status 0
	expect_stdout_match '^cpuid: 1 .* apic_id=0 logical=4$'
	expect_stdout_line 'cpuid: b.0 shift=0 count=1 type=1 x2apic_id=0'
	expect_stdout_line 'cpuid: b.1 shift=2 count=4 type=2 x2apic_id=0'
}

t_cpu_topology_threads() {
	need_guest cpuid
	boot kvmini -kernel "$GUESTS/cpuid.elf" -smp 8,sockets=2,cores=2,threads=2
	expect_status 0
	expect_stdout_match '^cpuid: 1 .* logical=4$'
	expect_stdout_line 'cpuid: b.0 shift=1 count=2 type=1 x2apic_id=0'
	expect_stdout_line 'cpuid: b.1 shift=2 count=4 type=2 x2apic_id=0'
}

# cx16 is one KVM manages everywhere: -cx16 must clear it.
t_cpu_mask_cx16() {
	local on off

	need_guest cpuid
	boot kvmini -kernel "$GUESTS/cpuid.elf"
	expect_status 0
	on=$(cpuid_word 1 ecx)
	boot kvmini -kernel "$GUESTS/cpuid.elf" -cpu host,-cx16
	expect_status 0
	off=$(cpuid_word 1 ecx)
	[[ -n $on && -n $off ]] || fail "no leaf 1 line"
	((0x$on & (1 << 13))) || skip "this host's KVM does not offer cx16"
	((!(0x$off & (1 << 13)))) || fail "cx16 still set with -cpu host,-cx16 (ecx=$off)"
	(((0x$on & ~(1 << 13)) == 0x$off)) || fail "other bits changed: $on -> $off"
}

# baseline keeps lahf_lm and nothing else in 0x80000001 ECX.
t_cpu_baseline() {
	local ecx

	need_guest cpuid
	boot kvmini -kernel "$GUESTS/cpuid.elf" -cpu baseline
	expect_status 0
	ecx=$(cpuid_word 80000001 ecx)
	[[ -n $ecx ]] || fail "no 0x80000001 line"
	(((0x$ecx & ~1) == 0)) || fail "baseline 0x80000001 ecx=$ecx has more than lahf_lm"
}

# On PVM: VMCALL-based PV features hidden, and a warning for masks that cannot work.
t_cpu_pvm() {
	local kvm

	[[ -e /sys/module/kvm_pvm ]] || skip "not a PVM host"
	need_guest cpuid
	boot kvmini -kernel "$GUESTS/cpuid.elf" -cpu host,-smap
	expect_status 0
	expect_stderr_contains "hide it from a Linux guest with clearcpuid=smap"
	kvm=$(cpuid_word kvm eax)
	[[ -n $kvm ]] || fail "no KVM leaf"
	# kvm-pv-unhalt (7), kvm-pv-ipi (11), kvm-pv-sched-yield (13)
	((!(0x$kvm & (1 << 7 | 1 << 11 | 1 << 13)))) || fail "PV hypercall features shown: $kvm"
}

t_run 'cpu.topology-cores[kvmini]' t_cpu_topology_cores
t_run 'cpu.topology-threads[kvmini]' t_cpu_topology_threads
t_run 'cpu.mask-cx16[kvmini]' t_cpu_mask_cx16
t_run 'cpu.baseline[kvmini]' t_cpu_baseline
t_run 'cpu.pvm-host[kvmini]' t_cpu_pvm
