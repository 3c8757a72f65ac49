# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Instructions a nested PVM host's KVM cannot emulate at CPL0: the insn guest runs int3, int n,
# clac/stac, popcnt, cmpxchg16b, the x87 control instructions and xgetbv/xsetbv at CPL0, checks
# their results and exceptions, prints "insn: PASS|FAIL <test>" per test and "insn: N failed",
# and exits 0 only if all passed. kvmini completes what KVM gives up on (vmm/insn_fallback.c).
# QEMU's TCG is the reference, but for the tests where QEMU 7.2 does not do what the CPU does:
#   int-not-present         #NP error code vector*16+2 in 64-bit mode (the SDM: vector*8+2; later
#                           QEMU releases fixed it)
#   cmpxchg16b-not-present  #PF error code without W: the CPU reports the locked read-modify-write
#                           as a write (measured at CPL3, which runs natively on PVM: 0x6, not 0x4)
# Under -accel kvm on such a host QEMU stops at the first of them ("emulation failure").

INSN_TCG_DEVIATIONS='^insn: (PASS|FAIL) (int-not-present|cmpxchg16b-not-present)$'

# insn_results FILE: the PASS/FAIL lines without their details.
insn_results() {
	sed -nE 's/^(insn: (PASS|FAIL) [a-z0-9-]+).*/\1/p' "$1"
}

t_insn_kvmini() {
	local t

	need_guest insn
	boot kvmini -kernel "$GUESTS/insn.elf"
	expect_status 0
	expect_stdout_line 'insn: 0 failed'
	for t in int3-rip int-rip stac clac popcnt-r64 popcnt-m64 cmpxchg16b-equal \
		cmpxchg16b-differ cmpxchg16b-not-present fldcw-cpu fwait-mf fnclex xsetbv; do
		expect_stdout_line "insn: PASS $t"
	done
}

# The same PASS/FAIL lines as QEMU's TCG, but for its known deviations.
t_insn_tcg() {
	need_guest insn
	boot kvmini -kernel "$GUESTS/insn.elf"
	save_run kvmini
	# shellcheck disable=SC2034 # read by vm_cmd in lib.sh; this test runs in a subshell
	QEMU_MACHINE=(-M microvm -accel tcg -cpu max)
	boot qemu -kernel "$GUESTS/insn.elf"
	save_run tcg
	grep -q '^insn: [0-9]* failed$' "$T_DIR/tcg.stdout" || fail "the guest did not finish under TCG"
	insn_results "$T_DIR/kvmini.stdout" | grep -vE "$INSN_TCG_DEVIATIONS" >"$T_DIR/kvmini.cmp"
	insn_results "$T_DIR/tcg.stdout" | grep -vE "$INSN_TCG_DEVIATIONS" >"$T_DIR/tcg.cmp"
	if ! cmp -s "$T_DIR/kvmini.cmp" "$T_DIR/tcg.cmp"; then
		# shellcheck disable=SC2034 # read by fail (t_dump) in lib.sh
		T_CMD=
		fail "results differ from TCG's:"$'\n'"$(diff -u --label kvmini --label tcg \
			"$T_DIR/kvmini.cmp" "$T_DIR/tcg.cmp" | sed 's/^/    | /')"
	fi
	grep -E '^insn: FAIL (int-not-present|cmpxchg16b-not-present)' "$T_DIR/tcg.stdout" |
		while read -r line; do note "TCG (known QEMU 7.2 deviation): ${line#insn: }"; done
}

# On a host whose KVM emulates these instructions QEMU runs the guest to the end; where it cannot
# (PVM), QEMU reports the emulation failure and stays paused until the timeout.
t_insn_qemu_kvm() {
	need_guest insn
	boot qemu -t 3 -kernel "$GUESTS/insn.elf"
	if grep -q '^emulation failure' "$T_DIR/stderr"; then
		expect_status 124
		note "QEMU -accel kvm stopped: KVM internal error, emulation failure (as kvmini would without its fallback)"
		return 0
	fi
	expect_status 0
	expect_stdout_line 'insn: 0 failed'
}

# -d insn counts what kvmini completed: int3 reaches kvmini on PVM hosts only.
t_insn_debug() {
	need_guest insn
	boot kvmini -d insn -kernel "$GUESTS/insn.elf"
	expect_status 0
	expect_stderr_contains 'instructions kvmini completed for KVM'
	if grep -q 'insn: PASS int3-rip' "$T_DIR/stdout" && [[ -e /sys/module/kvm_pvm ]]; then
		expect_stderr_match '^  int3 +1 +0$'
	fi
}

t_run 'insn[kvmini]' t_insn_kvmini
t_run 'insn.debug-counts[kvmini]' t_insn_debug
t_run 'insn[tcg]' t_insn_tcg
t_run 'insn[qemu-kvm]' t_insn_qemu_kvm
