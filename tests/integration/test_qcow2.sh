# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# qcow2 disks: the blk-rw guest (see test_blk.sh) runs on qcow2 images (thin, over a backing file,
# fully allocated, O_DIRECT); afterwards qemu-img check must pass and qemu-img's raw view of the
# image must hold exactly what the guest wrote over what was there. -drive without format= probes
# qcow2 silently and warns when it guesses raw; format=qcow2 on a raw file is refused.

QCOW2_SIZE=64M

# qcow2_expect_image IMAGE [BASE]: qemu-img check passes, and IMAGE (as qemu-img converts it to
# raw) holds BASE (zeros if none) with the guest's pattern ranges (the "blk-rw: pattern" lines of
# stdout) over it, zeros where it wrote zeros (sectors 4000-4015), and anything where it discarded
# (3000-3015).
qcow2_expect_image() {
	local img=$1 base=${2:-} out

	command -v qemu-img >/dev/null || skip "qemu-img is not installed"
	qemu-img check -q "$img" >"$T_DIR/check.out" 2>&1 ||
		fail "qemu-img check $img: $(head -c 500 "$T_DIR/check.out")"
	qemu-img convert -O raw "$img" "$T_DIR/image.raw" || fail "qemu-img convert $img failed"
	out=$(python3 - "$T_DIR/image.raw" "$base" "$T_DIR/stdout" 2>&1 <<'PY'
import re, struct, sys
img = open(sys.argv[1], "rb").read()
want = bytearray(open(sys.argv[2], "rb").read() if sys.argv[2] else len(img))
ranges = [tuple(map(int, m.groups())) for m in
          re.finditer(r"^blk-rw: pattern (\d+) (\d+)$", open(sys.argv[3]).read(), re.M)]
if not ranges:
    sys.exit("no 'blk-rw: pattern' lines")
for start, count in ranges:
    for s in range(start, start + count):
        want[s * 512:(s + 1) * 512] = b"".join(
            struct.pack("<Q", s << 16 | w << 8 | 0x5a) for w in range(64))
want[4000 * 512:4016 * 512] = bytes(16 * 512)
want[3000 * 512:3016 * 512] = img[3000 * 512:3016 * 512]
if len(img) != len(want):
    sys.exit("image is %d bytes, expected %d" % (len(img), len(want)))
if img != want:
    bad = next(i for i in range(len(img)) if img[i] != want[i])
    sys.exit("image differs first at byte %d (sector %d): %#x, expected %#x"
             % (bad, bad // 512, img[bad], want[bad]))
print("%d ranges ok" % len(ranges))
PY
	) || fail "disk image check: $out"
}

# qcow2_boot_rw DRIVE-OPTIONS: blk-rw on -drive DRIVE-OPTIONS, all its checks passing.
qcow2_boot_rw() {
	need_guest blk-rw
	boot kvmini -t 30 -- -drive "$1" -kernel "$GUESTS/blk-rw.elf"
	expect_status 0
	expect_stdout_match '^blk-rw: [0-9]+ passed, 0 failed$'
	expect_stdout_line 'blk-rw: PASS rw-chain'
	expect_stdout_line 'blk-rw: PASS write-zeroes'
	expect_stdout_line 'blk-rw: PASS flush'
	expect_stdout_not_contains 'FAIL'
}

# t_qcow2_rw CREATE-OPTIONS [DRIVE-SUFFIX]: a fresh image made with qemu-img create CREATE-OPTIONS.
t_qcow2_rw() {
	command -v qemu-img >/dev/null || skip "qemu-img is not installed"
	# shellcheck disable=SC2086 # the options are words
	qemu-img create -q -f qcow2 $1 disk.qcow2 "$QCOW2_SIZE" || fail "qemu-img create failed"
	qcow2_boot_rw "file=disk.qcow2,format=qcow2,if=virtio${2:-}"
	qcow2_expect_image disk.qcow2
}

# Over a raw backing file of random data: partial clusters are copied from it.
t_qcow2_backing() {
	command -v qemu-img >/dev/null || skip "qemu-img is not installed"
	head -c "$((64 << 20))" /dev/urandom >base.raw || fail "cannot create base.raw"
	cp base.raw base.orig
	qemu-img create -q -f qcow2 -b base.raw -F raw disk.qcow2 || fail "qemu-img create failed"
	qcow2_boot_rw "file=disk.qcow2,format=qcow2,if=virtio"
	qcow2_expect_image disk.qcow2 base.raw
	cmp -s base.raw base.orig || fail "the backing file changed"
}

# Without format= a qcow2 image is probed, silently.
t_qcow2_probe() {
	command -v qemu-img >/dev/null || skip "qemu-img is not installed"
	qemu-img create -q -f qcow2 disk.qcow2 "$QCOW2_SIZE" || fail "qemu-img create failed"
	qcow2_boot_rw "file=disk.qcow2,if=virtio"
	[[ ! -s $T_DIR/stderr ]] || fail "stderr: $(cat "$T_DIR/stderr")"
	qcow2_expect_image disk.qcow2
}

# Without format= a raw image works, with QEMU's warning.
t_qcow2_raw_probe_warns() {
	need_guest blk-rw
	truncate -s "$QCOW2_SIZE" disk.img || fail "cannot create disk.img"
	qcow2_boot_rw "file=disk.img,if=virtio"
	expect_stderr_line "^kvmini: warning: image format was not specified for 'disk\\.img' and \
probing guessed raw; specify format=raw explicitly to remove this warning$"
}

# format=qcow2 on a raw file: one line saying so.
t_qcow2_on_raw() {
	need_guest hello
	truncate -s 1M disk.img || fail "cannot create disk.img"
	run_kvmini -kernel "$GUESTS/hello.elf" -nographic -drive file=disk.img,format=qcow2
	expect_status 1
	expect_stdout_empty
	expect_stderr_line '^kvmini: -drive file=disk\.img: .*not a qcow2 image \(bad magic\)$'
}

# A read-only qcow2 disk (over a backing file): writes fail, the files stay as they were.
t_qcow2_ro() {
	command -v qemu-img >/dev/null || skip "qemu-img is not installed"
	need_guest blk-rw
	head -c 1M /dev/urandom >base.raw || fail "cannot create base.raw"
	qemu-img create -q -f qcow2 -b base.raw -F raw disk.qcow2 "$QCOW2_SIZE" ||
		fail "qemu-img create failed"
	cp disk.qcow2 disk.orig
	boot kvmini -t 30 -- -drive file=disk.qcow2,format=qcow2,if=virtio,readonly=on \
		-kernel "$GUESTS/blk-rw.elf" -append ro=1
	expect_status 0
	expect_stdout_line 'blk-rw: PASS ro-write'
	expect_stdout_match '^blk-rw: [0-9]+ passed, 0 failed$'
	cmp -s disk.qcow2 disk.orig || fail "the read-only image changed"
}

t_run 'qcow2.rw-thin' t_qcow2_rw ''
t_run 'qcow2.rw-v2-4k' t_qcow2_rw '-o compat=0.10,cluster_size=4k'
t_run 'qcow2.rw-allocated' t_qcow2_rw '-o preallocation=full'
t_run 'qcow2.rw-lazy-refcounts' t_qcow2_rw '-o lazy_refcounts=on,cluster_size=2M'
t_run 'qcow2.rw-direct' t_qcow2_rw '' ',cache=none'
t_run 'qcow2.backing' t_qcow2_backing
t_run 'qcow2.probe' t_qcow2_probe
t_run 'qcow2.raw-probe-warns' t_qcow2_raw_probe_warns
t_run 'qcow2.format-on-raw' t_qcow2_on_raw
t_run 'qcow2.ro' t_qcow2_ro
