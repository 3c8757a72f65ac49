# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The Linux boot protocol: guests/build/bzimage.bin (guests/bzimage/) entered at startup_64 by
# kvmini checks its boot_params (e820, command line, initrd by checksum, -dtb as setup_data, with
# expect_cpus=N the ACPI MADT behind acpi_rsdp_addr listing N enabled CPUs) and prints
# "bzimage: PASS". QEMU boots the same image through its firmware and the image's own 16-bit setup
# code: [diff] compares what both loaders hand over. Bad images and inputs end with status 1 and
# one "kvmini: " line. Also the -initrd of PVH kernels.

BZ_IMAGE=$GUESTS/bzimage.bin
# What both loaders must agree on (QEMU's memory map and boot_params address differ).
BZ_DIFF='^bzimage: (cmdline|entry|initrd|setup_data|PASS|FAIL)'

need_bzimage() {
	[[ -r $BZ_IMAGE ]] || fail "guest not built: $BZ_IMAGE"
}

# The guest's initrd checksum: h = h * 31 + byte, mod 2^32.
bz_sum() {
	local h=0 b

	for b in $(od -An -v -tu1 "$1"); do
		h=$(((h * 31 + b) & 0xffffffff))
	done
	printf '0x%x\n' "$h"
}

# A 6000-byte initrd (not a whole number of pages) that shows any shift.
bz_make_initrd() {
	seq -f '%06g' 1 1000 | tr -d '\n' >"$1"
}

# The smallest valid device tree blob: an empty root node, 72 bytes. Header (big-endian):
# magic, totalsize 72, off_dt_struct 56, off_dt_strings 72, off_mem_rsvmap 40, version 17,
# last_comp_version 16, boot_cpuid_phys, size_dt_strings 0, size_dt_struct 16; then an empty
# reserve map, and FDT_BEGIN_NODE "" FDT_END_NODE FDT_END.
bz_make_dtb() {
	printf '%b' \
		'\xd0\x0d\xfe\xed\x00\x00\x00\x48\x00\x00\x00\x38\x00\x00\x00\x48' \
		'\x00\x00\x00\x28\x00\x00\x00\x11\x00\x00\x00\x10\x00\x00\x00\x00' \
		'\x00\x00\x00\x00\x00\x00\x00\x10' \
		'\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' \
		'\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x09' >"$1"
}

# bz_initrd_args: sets BZ_ARGS to boot the guest with a checked initrd and a command line.
bz_initrd_args() {
	bz_make_initrd "$T_DIR/initrd.img"
	BZ_CMDLINE="console=ttyS0 initrd_size=6000 initrd_sum=$(bz_sum "$T_DIR/initrd.img")"
	BZ_ARGS=(-kernel "$BZ_IMAGE" -initrd "$T_DIR/initrd.img" -append "$BZ_CMDLINE")
}

t_bz_boot() {
	need_bzimage
	bz_initrd_args
	boot "$1" "${BZ_ARGS[@]}"
	expect_status 0
	expect_stdout_line "bzimage: cmdline=$BZ_CMDLINE"
	expect_stdout_line 'bzimage: entry cs=0x10 ds=0x18 ss=0x18 if=0'
	expect_stdout_match '^bzimage: initrd size=6000 sum=0x[0-9a-f]+$'
	expect_stdout_not_contains 'bzimage: error'
	expect_stdout_line 'bzimage: PASS'
}

t_bz_boot_diff() {
	need_bzimage
	bz_initrd_args
	diff_boot "$BZ_DIFF" "${BZ_ARGS[@]}"
	expect_stdout_line 'bzimage: PASS'
}

# kvmini's own boot data: the zero page in its boot data area, its memory map for -m.
t_bz_kvmini_layout() {
	need_bzimage
	boot kvmini -m 64M -kernel "$BZ_IMAGE"
	expect_status 0
	expect_stdout_line 'bzimage: boot_params=0x3000 protocol=0x20f loader=0xff'
	expect_stdout_line 'bzimage: e820 0 0x9fc00 1'
	expect_stdout_line 'bzimage: e820 0x100000 0x3f00000 1'
	expect_stdout_line 'bzimage: initrd none'
	expect_stdout_line 'bzimage: PASS'
}

# The guest must notice a wrong initrd: the test can fail.
t_bz_wrong_sum() {
	need_bzimage
	bz_make_initrd "$T_DIR/initrd.img"
	boot kvmini -kernel "$BZ_IMAGE" -initrd "$T_DIR/initrd.img" \
		-append "initrd_size=6000 initrd_sum=0x1234"
	expect_status 3
	expect_stdout_contains "bzimage: error: the initrd's checksum"
	expect_stdout_line 'bzimage: FAIL (1 problems)'
}

t_bz_dtb() {
	need_bzimage
	bz_make_dtb "$T_DIR/empty.dtb"
	boot "$1" -kernel "$BZ_IMAGE" -dtb "$T_DIR/empty.dtb" -append dtb_size=72
	expect_status 0
	expect_stdout_line 'bzimage: setup_data type=2 len=72'
	expect_stdout_line 'bzimage: PASS'
}

t_bz_dtb_diff() {
	need_bzimage
	bz_make_dtb "$T_DIR/empty.dtb"
	diff_boot "$BZ_DIFF" -kernel "$BZ_IMAGE" -dtb "$T_DIR/empty.dtb" -append dtb_size=72
}

# t_bz_madt N: -smp N, and the MADT that acpi_rsdp_addr leads to lists APIC IDs 0..N-1.
t_bz_madt() {
	local id

	need_bzimage
	boot kvmini -smp "$1" -kernel "$BZ_IMAGE" -append "expect_cpus=$1"
	expect_status 0
	expect_stdout_match '^bzimage: acpi_rsdp_addr=0x[0-9a-f]+$'
	for ((id = 0; id < $1; id++)); do
		expect_stdout_line "bzimage: madt cpu $id"
	done
	expect_stdout_line "bzimage: madt cpus=$1"
	expect_stdout_line 'bzimage: PASS'
}

# The guest must notice a MADT with another number of CPUs: the test can fail.
t_bz_madt_wrong() {
	need_bzimage
	boot kvmini -smp 2 -kernel "$BZ_IMAGE" -append expect_cpus=3
	expect_status 3
	expect_stdout_line 'bzimage: madt cpus=2'
	expect_stdout_line 'bzimage: error: the MADT does not list expect_cpus= enabled CPUs'
	expect_stdout_line 'bzimage: FAIL (1 problems)'
}

for t_vm in kvmini qemu; do
	t_run "bzimage.boot[$t_vm]" t_bz_boot $t_vm
	t_run "bzimage.dtb[$t_vm]" t_bz_dtb $t_vm
done
t_run 'bzimage.boot[diff]' t_bz_boot_diff
t_run 'bzimage.dtb[diff]' t_bz_dtb_diff
t_run 'bzimage.kvmini-layout' t_bz_kvmini_layout
t_run 'bzimage.wrong-initrd-sum' t_bz_wrong_sum
t_run 'bzimage.madt-2' t_bz_madt 2
t_run 'bzimage.madt-3' t_bz_madt 3
t_run 'bzimage.madt-wrong-count' t_bz_madt_wrong

# ---- bad images and inputs: status 1, one line ----

# t_bz_bad ERE ARGS...
t_bz_bad() {
	local ere=$1
	shift
	run_kvmini "${VM_ARGS[@]}" "$@"
	expect_status 1
	expect_stdout_empty
	expect_stderr_line "$ere"
}

# bz_patch FILE OFFSET BYTES: a copy of the guest with BYTES (printf escapes) at OFFSET.
bz_patch() {
	cp "$BZ_IMAGE" "$1"
	printf '%b' "$3" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}

t_bz_truncated() {
	need_bzimage
	head -c 5000 "$BZ_IMAGE" >"$T_DIR/cut.bin"
	t_bz_bad '^kvmini: .*bzImage is truncated: the kernel is [0-9]+ bytes at offset 0x400' \
		-kernel "$T_DIR/cut.bin"
}

t_bz_old_protocol() {
	need_bzimage
	bz_patch "$T_DIR/old.bin" 0x206 '\x04\x02'
	t_bz_bad '^kvmini: .*: boot protocol 2\.04 is too old; kvmini needs 2\.06 or later$' \
		-kernel "$T_DIR/old.bin"
}

t_bz_no_kernel64() {
	need_bzimage
	bz_patch "$T_DIR/no64.bin" 0x236 '\x00\x00'
	t_bz_bad '^kvmini: .*no 64-bit entry point' -kernel "$T_DIR/no64.bin"
}

t_bz_initrd_too_big() {
	local ere="^kvmini: .*-initrd: 300 MiB initrd does not fit below the kernel's "

	ere+='initrd_addr_max \(2048 MiB\) with -m 256M: give more memory with -m$'
	need_bzimage
	truncate -s 300M "$T_DIR/big.img"
	t_bz_bad "$ere" -m 256M -kernel "$BZ_IMAGE" -initrd "$T_DIR/big.img"
}

t_bz_dtb_garbage() {
	need_bzimage
	head -c 4096 "$BZ_IMAGE" >"$T_DIR/garbage.dtb"
	t_bz_bad '^kvmini: .*-dtb: not a valid device tree blob \(FDT_ERR_BADMAGIC\)$' \
		-kernel "$BZ_IMAGE" -dtb "$T_DIR/garbage.dtb"
}

t_bz_cmdline_too_long() {
	local line

	need_bzimage
	line=$(printf 'x%.0s' {1..2048})
	t_bz_bad '^kvmini: .*kernel command line too long \(2048 bytes; this kernel takes at most '\
'2047\)$' -kernel "$BZ_IMAGE" -append "$line"
}

# At the limit: the guest gets all of it.
t_bz_cmdline_longest() {
	local line

	need_bzimage
	line=$(printf 'y%.0s' {1..2047})
	boot kvmini -kernel "$BZ_IMAGE" -append "$line"
	expect_status 0
	expect_stdout_line "bzimage: cmdline=$line"
}

t_bz_not_enough_ram() {
	need_bzimage
	# init_size is 28 KiB from 1 MiB: 2 MiB of RAM is enough, so make the kernel ask for more.
	bz_patch "$T_DIR/fat.bin" 0x260 '\x00\x00\x00\x10'
	t_bz_bad '^kvmini: .*the kernel needs 256 MiB of RAM from 0x100000 \(its init_size\): give '\
'more memory with -m \(at least 257M\)$' -m 128M -kernel "$T_DIR/fat.bin"
}

t_run 'bzimage.bad.truncated' t_bz_truncated
t_run 'bzimage.bad.old-protocol' t_bz_old_protocol
t_run 'bzimage.bad.no-64-bit-entry' t_bz_no_kernel64
t_run 'bzimage.bad.initrd-too-big' t_bz_initrd_too_big
t_run 'bzimage.bad.dtb-garbage' t_bz_dtb_garbage
t_run 'bzimage.bad.cmdline-too-long' t_bz_cmdline_too_long
t_run 'bzimage.bad.not-enough-ram' t_bz_not_enough_ram
t_run 'bzimage.cmdline-longest' t_bz_cmdline_longest

# ---- PVH kernels: -initrd as a module, -dtb refused ----

t_pvh_initrd() {
	need_guest hello
	bz_make_initrd "$T_DIR/initrd.img"
	boot "$1" -kernel "$GUESTS/hello.elf" -initrd "$T_DIR/initrd.img"
	expect_status 0
	expect_stdout_line 'Hello from kvmini guest'
}

t_pvh_initrd_too_big() {
	need_guest hello
	truncate -s 100M "$T_DIR/big.img"
	t_bz_bad '^kvmini: .*-initrd: 100 MiB initrd does not fit in RAM between the kernel and 4 '\
'GiB with -m 64M: give more memory with -m$' -m 64M -kernel "$GUESTS/hello.elf" \
		-initrd "$T_DIR/big.img"
}

t_pvh_dtb() {
	need_guest hello
	bz_make_dtb "$T_DIR/empty.dtb"
	t_bz_bad '^kvmini: .*-dtb needs a bzImage kernel' -kernel "$GUESTS/hello.elf" \
		-dtb "$T_DIR/empty.dtb"
}

for t_vm in kvmini qemu; do
	t_run "pvh.initrd[$t_vm]" t_pvh_initrd $t_vm
done
t_run 'pvh.initrd-too-big' t_pvh_initrd_too_big
t_run 'pvh.dtb-refused' t_pvh_dtb
