# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Command-line handling: every bad input ends with status 1, nothing on stdout and exactly one
# line on stderr starting with "kvmini: ". -h and -version succeed.

# t_bad_args ERE ARGS...: kvmini ARGS must fail with one stderr line matching ERE.
t_bad_args() {
	local ere=$1
	shift
	run_kvmini "$@"
	expect_status 1
	expect_stdout_empty
	expect_stderr_line "$ere"
}

t_bad_with_hello() {
	local ere=$1
	shift
	need_guest hello
	t_bad_args "$ere" -kernel "$GUESTS/hello.elf" "$@"
}

t_not_elf() {
	printf 'this is not an ELF file\n%.0s' {1..100} >"$T_DIR/not-elf.bin"
	t_bad_args '^kvmini: ' -kernel "$T_DIR/not-elf.bin"
}

t_empty_kernel() {
	: >"$T_DIR/empty.elf"
	t_bad_args '^kvmini: ' -kernel "$T_DIR/empty.elf"
}

# A valid static x86-64 ELF executable without the PVH (Xen PHYS32_ENTRY) note.
t_elf_without_pvh() {
	local cc=${CC:-gcc}

	command -v "$cc" >/dev/null 2>&1 || skip "no host C compiler ($cc) to build a non-PVH ELF"
	printf 'void _start(void)\n{\n\tfor (;;)\n\t\t;\n}\n' >"$T_DIR/nopvh.c"
	"$cc" -nostdlib -static -o "$T_DIR/nopvh.elf" "$T_DIR/nopvh.c" 2>"$T_DIR/cc.log" ||
		skip "host compiler cannot build a static ELF: $(head -n 1 "$T_DIR/cc.log")"
	t_bad_args '^kvmini: ' -kernel "$T_DIR/nopvh.elf"
}

t_help() {
	run_kvmini "$1"
	expect_status 0
	expect_stdout_contains '-kernel'
}

t_version() {
	run_kvmini -version
	expect_status 0
	expect_stdout_contains 'kvmini'
}

t_run 'cli.unknown-option' t_bad_with_hello '^kvmini: -vnc: not supported$' -vnc :0
t_run 'cli.unknown-option-first' t_bad_args '^kvmini: -vnc: not supported$' -vnc :0 -kernel x.elf
t_run 'cli.no-kernel-option' t_bad_args '^kvmini: '
t_run 'cli.missing-kernel-file' t_bad_args '^kvmini: .*does-not-exist\.elf' \
	-kernel /nonexistent/does-not-exist.elf
t_run 'cli.kernel-not-elf' t_not_elf
t_run 'cli.kernel-empty' t_empty_kernel
t_run 'cli.kernel-without-pvh-note' t_elf_without_pvh
t_run 'cli.mem-zero' t_bad_with_hello '^kvmini: ' -m 0
t_run 'cli.mem-too-big' t_bad_with_hello '^kvmini: ' -m 99999G
t_run 'cli.mem-not-a-number' t_bad_with_hello '^kvmini: ' -m abc
t_run 'cli.mem-bad-suffix' t_bad_with_hello '^kvmini: ' -m 64X
t_run 'cli.smp-zero' t_bad_with_hello '^kvmini: ' -smp 0
t_run 'cli.missing-argument' t_bad_with_hello '^kvmini: ' -m
t_run 'cli.missing-kernel-argument' t_bad_args '^kvmini: ' -kernel
t_run 'cli.serial-unsupported' t_bad_with_hello '^kvmini: ' -serial tcp::4444
t_run 'cli.accel-unsupported' t_bad_with_hello '^kvmini: ' -accel tcg
t_run 'cli.device-unsupported' t_bad_with_hello '^kvmini: ' -device e1000
t_run 'cli.stray-argument' t_bad_with_hello '^kvmini: ' stray.img
t_run 'cli.help-h' t_help -h
t_run 'cli.help-long' t_help --help
t_run 'cli.version' t_version
