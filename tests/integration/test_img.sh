# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# kvmini-img against the real qemu-img: images each tool makes must be what the other reads,
# checks and compares as equal; info, map, check and snapshot -l must print what qemu-img prints;
# mistakes end with status 1, one line on stderr naming the file, and no output file left.

KVMINI_IMG=${KVMINI_IMG:-$T_ROOT/build/kvmini-img}

need_img() {
	[[ -x $KVMINI_IMG ]] || fail "kvmini-img not built: $KVMINI_IMG"
	command -v qemu-img >/dev/null || skip "qemu-img is not installed"
	command -v qemu-io >/dev/null || skip "qemu-io is not installed"
	command -v python3 >/dev/null || skip "python3 is not installed"
	cd "$T_DIR" || fail "no scratch directory"
}

run_img() {
	run_cmd -t 60 -- "$KVMINI_IMG" "$@"
}

# q CMD...: a qemu-img or qemu-io step that must work (its output is thrown away).
q() {
	"$@" >"$T_DIR/q.out" 2>&1 || fail "setup step failed: $* ($(head -c 300 "$T_DIR/q.out"))"
}

# mkraw FILE SIZE: a raw image with random data at a few places, holes and zero runs between.
mkraw() {
	truncate -s "$2" "$1"
	python3 - "$1" <<'EOF'
import os, random, sys
random.seed(42)
size = os.path.getsize(sys.argv[1])
with open(sys.argv[1], "r+b") as f:
    for frac, length in ((0, 70000), (0.13, 5000), (0.4, 1 << 20), (0.77, 513), (1, 3000)):
        off = min(int(size * frac) // 512 * 512, size - length)
        f.seek(off)
        f.write(random.randbytes(length))
    f.seek(size // 2)
    f.write(b"a" * 300000)  # compressible
EOF
}

# expect_same_file A B: byte-identical files.
expect_same_file() {
	cmp -s "$1" "$2" || fail "$1 and $2 differ: $(cmp "$1" "$2" 2>&1 | head -1)"
}

# expect_qemu_check FILE: qemu-img check finds nothing wrong.
expect_qemu_check() {
	qemu-img check "$1" >"$T_DIR/qcheck.out" 2>&1 ||
		fail "qemu-img check $1 failed: $(head -c 500 "$T_DIR/qcheck.out")"
}

# expect_qemu_same A B: qemu-img compare says the images read the same.
expect_qemu_same() {
	qemu-img compare "$1" "$2" >"$T_DIR/qcmp.out" 2>&1 ||
		fail "qemu-img compare $1 $2: $(head -c 300 "$T_DIR/qcmp.out")"
}

# json_same A B: two files hold the same JSON value (key order aside).
json_same() {
	python3 - "$1" "$2" <<'EOF' >"$T_DIR/json.diff" || fail "JSON differs: $(cat "$T_DIR/json.diff")"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if a != b:
    print(json.dumps(a, sort_keys=True), "vs", json.dumps(b, sort_keys=True))
    sys.exit(1)
EOF
}

# A qcow2 image made by kvmini-img passes qemu-img check, and qemu-img info agrees on it.
t_create() {
	local compat=$1
	need_img
	shift
	run_img create -f qcow2 "$@" k.qcow2 96M
	expect_status 0
	expect_stdout_match "^Formatting 'k\.qcow2', fmt=qcow2 cluster_size=[0-9]+ .*size=100663296"
	expect_qemu_check k.qcow2
	qemu-img info --output=json k.qcow2 >q.json || fail "qemu-img info failed"
	python3 - "$compat" "$@" <<'EOF' >mismatch || fail "qemu-img info disagrees: $(cat mismatch)"
import json, sys
info = json.load(open("q.json"))
want = {"virtual-size": 100663296, "format": "qcow2", "cluster-size": 65536,
        "compat": sys.argv[1], "lazy-refcounts": False, "compression-type": "zlib"}
for arg in sys.argv[2:]:
    for kv in arg.split(","):
        k, _, v = kv.partition("=")
        if k == "cluster_size":
            want["cluster-size"] = int(v.rstrip("kM")) << {"k": 10, "M": 20}.get(v[-1], 0)
        if k == "lazy_refcounts": want["lazy-refcounts"] = v == "on"
        if k == "compression_type": want["compression-type"] = v
got = dict(info["format-specific"]["data"], **info)
bad = [f"{k}: {got.get(k)!r}, expected {v!r}" for k, v in want.items()
       if got.get(k) != v and not (k == "lazy-refcounts" and want["compat"] == "0.10")]
print("; ".join(bad))
sys.exit(bool(bad))
EOF
	# The image takes data: qemu-io writes, qemu-img check still clean.
	q qemu-io -f qcow2 -c 'write -P 7 1M 3M' k.qcow2
	expect_qemu_check k.qcow2
}

t_create_backing() {
	need_img
	mkdir sub
	q qemu-img create -q -f qcow2 sub/base.qcow2 32M
	run_img create -f qcow2 -b base.qcow2 -F qcow2 sub/top.qcow2
	expect_status 0
	expect_stdout_contains "size=33554432 backing_file=base.qcow2 backing_fmt=qcow2"
	expect_qemu_check sub/top.qcow2
	qemu-img info --output=json sub/top.qcow2 >q.json
	python3 -c 'import json; i = json.load(open("q.json")); assert i["backing-filename"] == "base.qcow2" and i["backing-filename-format"] == "qcow2" and i["virtual-size"] == 33554432, i' ||
		fail "qemu-img info disagrees on the backing file"
	# qemu-img 7.2 refuses -b without -F: so does kvmini-img.
	run_img create -f qcow2 -b sub/base.qcow2 nofmt.qcow2
	expect_status 1
	expect_stderr_line '^kvmini-img: nofmt\.qcow2: backing file specified without backing format'
	[[ ! -e nofmt.qcow2 ]] || fail "nofmt.qcow2 was created"
}

t_create_raw() {
	need_img
	run_img create -f raw r.img 1.5M
	expect_status 0
	expect_stdout_line "Formatting 'r.img', fmt=raw size=1572864"
	[[ $(stat -c %s r.img) == 1572864 ]] || fail "r.img is $(stat -c %s r.img) bytes"
}

# mkqcow2 KIND: q.qcow2 made by qemu-img (and qemu-io) the way KIND says.
mkqcow2() {
	mkraw src.raw 24M
	case $1 in
	v2) q qemu-img convert -f raw -O qcow2 -o compat=0.10 src.raw q.qcow2 ;;
	v3-4k) q qemu-img convert -f raw -O qcow2 -o cluster_size=4k src.raw q.qcow2 ;;
	v3-2m) q qemu-img convert -f raw -O qcow2 -o cluster_size=2M src.raw q.qcow2 ;;
	zlib) q qemu-img convert -c -f raw -O qcow2 src.raw q.qcow2 ;;
	zstd) q qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd src.raw q.qcow2 ;;
	zeros)
		q qemu-img convert -f raw -O qcow2 src.raw q.qcow2
		q qemu-io -f qcow2 -c 'write -z 0 64k' -c 'write -z -u 9M 2M' -c 'discard 20M 1M' q.qcow2
		;;
	chain)
		# Three layers, named relative to their own directories.
		mkdir -p d/e
		q qemu-img convert -f raw -O qcow2 src.raw d/e/base.qcow2
		q qemu-img create -f qcow2 -b e/base.qcow2 -F qcow2 d/mid.qcow2
		q qemu-io -f qcow2 -c 'write -P 0x11 100k 300k' -c 'write -z 9M 1M' d/mid.qcow2
		q qemu-img create -f qcow2 -b d/mid.qcow2 -F qcow2 q.qcow2
		q qemu-io -f qcow2 -c 'write -P 0x22 200k 64k' -c 'write -P 0x33 23M 1M' q.qcow2
		;;
	snap)
		q qemu-img convert -f raw -O qcow2 src.raw q.qcow2
		q qemu-img snapshot -c first q.qcow2
		q qemu-io -f qcow2 -c 'write -P 0x44 0 2M' q.qcow2
		q qemu-img snapshot -c second q.qcow2
		q qemu-io -f qcow2 -c 'write -P 0x55 1M 2M' -c 'write -z 10M 1M' q.qcow2
		;;
	*) fail "test bug: unknown image kind $1" ;;
	esac
}

t_convert_to_raw() {
	need_img
	mkqcow2 "$1"
	q qemu-img convert -O raw q.qcow2 want.raw
	run_img convert -O raw q.qcow2 got.raw
	expect_status 0
	expect_stdout_empty
	expect_same_file got.raw want.raw
}

t_convert_to_qcow2() {
	local src=src.raw
	need_img
	mkraw src.raw 24M
	if [[ $1 == chain ]]; then
		mkqcow2 chain
		src=q.qcow2
	fi
	shift
	run_img convert "$@" -O qcow2 "$src" out.qcow2
	expect_status 0
	expect_qemu_check out.qcow2
	expect_qemu_same "$src" out.qcow2
	qemu-img info --output=json out.qcow2 >info.json
	python3 -c 'import json, sys; i = json.load(open("info.json")); sys.exit("backing-filename" in i)' ||
		fail "the converted image has a backing file"
	[[ $(ls) != *kvmini-tmp* ]] || fail "temporary files left: $(ls)"
}

# Compressed output: clusters really are compressed (qemu-img check counts them).
t_convert_compressed() {
	need_img
	mkraw src.raw 24M
	run_img convert -c -O qcow2 -o "compression_type=$1" src.raw out.qcow2
	expect_status 0
	expect_qemu_same src.raw out.qcow2
	qemu-img check --output=json out.qcow2 >check.json || fail "qemu-img check failed"
	python3 -c 'import json, sys; c = json.load(open("check.json")); sys.exit(c.get("compressed-clusters", 0) == 0)' ||
		fail "no compressed clusters: $(cat check.json)"
	qemu-img info --output=json out.qcow2 >info.json
	grep -q "\"compression-type\": \"$1\"" info.json || fail "compression type is not $1"
}

# A size that is no multiple of 512 or of the cluster: qcow2 rounds it up to 512 bytes.
t_convert_odd_size() {
	need_img
	head -c 1000000 /dev/urandom >src.raw
	dd if=/dev/zero bs=1000 count=300 2>/dev/null >>src.raw
	run_img convert -c -f raw -O qcow2 src.raw out.qcow2
	expect_status 0
	expect_qemu_check out.qcow2
	expect_qemu_same src.raw out.qcow2
	q qemu-img convert -O raw out.qcow2 want.raw
	run_img convert -O raw out.qcow2 got.raw
	expect_status 0
	expect_same_file got.raw want.raw
}

# SIGINT in the middle of a (slow, compressed) convert: no output file is left.
t_convert_interrupted() {
	local pid status
	need_img
	head -c 64M /dev/urandom >src.raw
	"$KVMINI_IMG" convert -c -f raw -O qcow2 src.raw out.qcow2 2>stderr &
	pid=$!
	sleep 0.3
	kill -INT "$pid"
	wait "$pid"
	status=$?
	((status != 0)) || skip "convert finished before the signal"
	[[ $status == 130 ]] || fail "status $status, expected 130 (SIGINT): $(cat stderr)"
	[[ ! -e out.qcow2 && $(ls) != *kvmini-tmp* ]] || fail "output left behind: $(ls)"
}

# The output is written through a symbolic link, and an existing file keeps its mode.
t_convert_symlink() {
	need_img
	mkraw src.raw 4M
	touch target.raw
	chmod 640 target.raw
	ln -s target.raw link.raw
	run_img convert -f raw -O raw src.raw link.raw
	expect_status 0
	[[ -L link.raw ]] || fail "the link was replaced"
	expect_same_file target.raw src.raw
	[[ $(stat -c %a target.raw) == 640 ]] || fail "mode $(stat -c %a target.raw), expected 640"
}

t_map_empty() {
	need_img
	q qemu-img create -f qcow2 q.qcow2 0
	run_img map --output=json q.qcow2
	save_run kvmini
	qemu-img map --output=json q.qcow2 >"$T_DIR/qemu.stdout" 2>"$T_DIR/qemu.stderr"
	echo $? >"$T_DIR/qemu.status"
	expect_same_run kvmini qemu
}

t_convert_progress() {
	need_img
	mkraw src.raw 8M
	run_img convert -p -O qcow2 src.raw out.qcow2
	expect_status 0
	grep -q $'    (100.00/100%)\r' "$T_DIR/stdout.raw" || fail "no progress on stdout"
	expect_qemu_same src.raw out.qcow2
}

# info, human and JSON, prints what qemu-img info prints.
t_info() {
	local f=q.qcow2
	need_img
	case $1 in
	raw)
		mkraw src.raw 5M
		f=src.raw
		;;
	lazy)
		q qemu-img create -f qcow2 -o lazy_refcounts=on,compression_type=zstd q.qcow2 1G
		;;
	dirty)
		# Lazy refcounts, not closed cleanly: the dirty bit (incompatible bit 0) is set.
		q qemu-img create -f qcow2 -o lazy_refcounts=on q.qcow2 8M
		q qemu-io -f qcow2 -c 'write 0 1M' q.qcow2
		python3 -c 'import os; fd = os.open("q.qcow2", os.O_RDWR); os.pwrite(fd, bytes([os.pread(fd, 1, 79)[0] | 1]), 79)'
		;;
	*) mkqcow2 "$1" ;;
	esac
	shift
	run_img info "$@" "$f"
	expect_status 0
	save_run kvmini
	qemu-img info "$@" "$f" >"$T_DIR/qemu.stdout" 2>"$T_DIR/qemu.stderr"
	echo $? >"$T_DIR/qemu.status"
	if [[ " $* " == *json* ]]; then
		json_same kvmini.stdout qemu.stdout
	else
		expect_same_run kvmini qemu
	fi
}

# map --output=json prints exactly what qemu-img map prints.
t_map() {
	local f=q.qcow2
	need_img
	if [[ $1 == raw ]]; then
		mkraw src.raw 5M
		f=src.raw
	else
		mkqcow2 "$1"
	fi
	shift
	run_img map "$@" "$f"
	save_run kvmini
	qemu-img map "$@" "$f" >"$T_DIR/qemu.stdout" 2>"$T_DIR/qemu.stderr"
	echo $? >"$T_DIR/qemu.status"
	expect_same_run kvmini qemu
}

# python3 -c "$refcount_py" IMAGE WHICH VALUE: set a 16-bit refcount in the first refcount block:
# WHICH "l2" is the cluster of the first L2 table, "new" a cluster appended to the file.
refcount_py='
import struct, sys
path, which, value = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "r+b") as f:
    hdr = f.read(104)
    cs = 1 << struct.unpack(">I", hdr[20:24])[0]
    l1_off, = struct.unpack(">Q", hdr[40:48])
    rt_off, = struct.unpack(">Q", hdr[48:56])
    f.seek(rt_off)
    rb_off, = struct.unpack(">Q", f.read(8))
    if which == "l2":
        f.seek(l1_off)
        cluster = (struct.unpack(">Q", f.read(8))[0] & 0x00fffffffffffe00) // cs
    else:
        f.seek(0, 2)
        end = (f.tell() + cs - 1) // cs * cs
        f.truncate(end + cs)
        cluster = end // cs
    f.seek(rb_off + 2 * cluster)
    f.write(struct.pack(">H", value))
'

# check: exit status and findings as qemu-img check's; -r leaks repairs a leak.
t_check() {
	local want
	need_img
	mkraw src.raw 8M
	q qemu-img convert -f raw -O qcow2 src.raw q.qcow2
	case $1 in
	clean) want=0 ;;
	v2 | v3-4k | v3-2m | zlib | zstd | zeros | chain | snap)
		mkqcow2 "$1"
		want=0
		;;
	leak)
		python3 -c "$refcount_py" q.qcow2 new 1 || fail "cannot make a leak"
		want=3
		;;
	corrupt)
		python3 -c "$refcount_py" q.qcow2 l2 0 || fail "cannot corrupt the image"
		want=2
		;;
	esac
	qemu-img check q.qcow2 >/dev/null 2>&1
	[[ $? == "$want" ]] || fail "test bug: qemu-img check does not exit with $want"
	run_img check q.qcow2
	expect_status "$want"
	save_run kvmini
	qemu-img check q.qcow2 >"$T_DIR/qemu.stdout" 2>"$T_DIR/qemu.stderr"
	echo $? >"$T_DIR/qemu.status"
	expect_same_run kvmini qemu
	run_img check --output=json q.qcow2
	expect_status "$want"
	save_run kvmini
	qemu-img check --output=json q.qcow2 >"$T_DIR/qemu.stdout" 2>/dev/null
	json_same kvmini.stdout qemu.stdout
	if [[ $1 == leak ]]; then
		run_img check -r leaks q.qcow2
		expect_status 0
		expect_stdout_contains "1 leaked clusters"
		expect_qemu_check q.qcow2
	fi
	if [[ $1 == corrupt ]]; then
		# Repairing leaks only leaves the corruption.
		run_img check -r leaks q.qcow2
		expect_status 2
		run_img check -r all q.qcow2
		expect_status 0
		expect_qemu_check q.qcow2
		expect_qemu_same src.raw q.qcow2
	fi
}

t_check_raw() {
	need_img
	truncate -s 1M r.img
	run_img check -f raw r.img
	expect_status 63
	expect_stderr_line '^kvmini-img: r\.img: .*not support checks'
}

# Snapshots taken by one tool are listed and applied by the other.
t_snapshot() {
	need_img
	mkraw src.raw 8M
	q qemu-img convert -f raw -O qcow2 src.raw q.qcow2
	run_img snapshot -c ours q.qcow2
	expect_status 0
	expect_stdout_empty
	expect_qemu_check q.qcow2
	qemu-img snapshot -l q.qcow2 >list || fail "qemu-img snapshot -l failed"
	grep -qE '^1 +ours +0 B ' list || fail "qemu-img does not list it: $(cat list)"
	q qemu-io -f qcow2 -c 'write -P 0x66 0 3M' q.qcow2
	q qemu-img snapshot -c theirs q.qcow2
	q qemu-img convert -O raw q.qcow2 theirs.raw
	q qemu-io -f qcow2 -c 'write -P 0x77 1M 3M' q.qcow2

	run_img snapshot -l q.qcow2
	expect_status 0
	save_run kvmini
	qemu-img snapshot -l q.qcow2 >"$T_DIR/qemu.stdout" 2>/dev/null
	echo 0 >"$T_DIR/qemu.status"
	expect_same_run kvmini qemu

	run_img snapshot -a theirs q.qcow2
	expect_status 0
	expect_qemu_check q.qcow2
	expect_qemu_same theirs.raw q.qcow2
	q qemu-img snapshot -a ours q.qcow2
	expect_qemu_same src.raw q.qcow2
	run_img snapshot -d ours q.qcow2
	expect_status 0
	expect_qemu_check q.qcow2
	qemu-img snapshot -l q.qcow2 >list
	! grep -q ours list || fail "snapshot 'ours' still listed"
	run_img snapshot -a nope q.qcow2
	expect_status 1
	expect_stderr_line "^kvmini-img: q\\.qcow2: .*'nope'"
}

t_resize() {
	need_img
	mkraw src.raw 8M
	q qemu-img convert -f raw -O qcow2 src.raw q.qcow2
	run_img resize q.qcow2 +1G
	expect_status 0
	expect_stdout_line "Image resized."
	expect_qemu_check q.qcow2
	qemu-img info --output=json q.qcow2 >info.json
	grep -q '"virtual-size": 1082130432' info.json || fail "not resized: $(cat info.json)"
	expect_qemu_same src.raw q.qcow2
	run_img resize q.qcow2 -- -1G
	expect_status 1
	expect_stderr_line '^kvmini-img: q\.qcow2: .*--shrink'
	run_img resize --shrink q.qcow2 -1G
	expect_status 0
	expect_qemu_check q.qcow2
	expect_qemu_same src.raw q.qcow2
	run_img resize --shrink q.qcow2 1M
	expect_status 1
	expect_stderr_match '^kvmini-img: q\.qcow2: '
	run_img resize -f raw src.raw 10M
	expect_status 0
	[[ $(stat -c %s src.raw) == 10485760 ]] || fail "raw not resized"
}

# t_compare EXPECTED-STATUS SETUP...: kvmini-img compare a.img b.img as qemu-img compare.
t_compare() {
	need_img
	mkraw a.raw 8M
	cp a.raw b.raw
	case $1 in
	same) q qemu-img convert -f raw -O qcow2 a.raw b.qcow2 ;;
	differ)
		printf 'x' | dd of=b.raw bs=1 seek=3000000 conv=notrunc 2>/dev/null
		q qemu-img convert -f raw -O qcow2 b.raw b.qcow2
		;;
	longer-zero)
		truncate -s 9M b.raw
		q qemu-img convert -f raw -O qcow2 b.raw b.qcow2
		;;
	longer-data)
		printf 'x' | dd of=b.raw bs=1 seek=9000000 conv=notrunc 2>/dev/null
		q qemu-img convert -f raw -O qcow2 b.raw b.qcow2
		;;
	strict-zero)
		q qemu-img convert -f raw -O qcow2 a.raw b.qcow2
		q qemu-io -f qcow2 -c 'write -z 7M 64k' b.qcow2
		;;
	esac
	shift
	run_img compare "$@" -f raw a.raw b.qcow2
	save_run kvmini
	qemu-img compare "$@" -f raw a.raw b.qcow2 >"$T_DIR/qemu.stdout" 2>"$T_DIR/qemu.stderr"
	echo $? >"$T_DIR/qemu.status"
	expect_same_run kvmini qemu
}

# compare fails with 2 when it cannot read an image, 1 on a usage error, as qemu-img compare.
t_compare_errors() {
	need_img
	truncate -s 1M a.raw
	run_img compare -f raw a.raw nope.raw
	expect_status 2
	expect_stderr_line '^kvmini-img: nope\.raw: .*No such file'
	run_img compare a.raw
	expect_status 1
	expect_stderr_line '^kvmini-img: compare: '
}

# Mistakes: status 1, one line on stderr, nothing created.
t_bad() {
	local ere=$1
	need_img
	shift
	mkraw src.raw 1M
	run_img "$@"
	expect_status 1
	expect_stderr_line "$ere"
	[[ ! -e out.qcow2 && ! -e out.raw && $(ls) != *kvmini-tmp* ]] ||
		fail "output left behind: $(ls)"
}

# convert fails half-way (an L2 table of the source is misaligned): no output file is left.
t_convert_fails() {
	need_img
	mkraw src.raw 24M
	q qemu-img convert -f raw -O qcow2 -o cluster_size=4k src.raw q.qcow2
	python3 - <<'EOF' || fail "cannot break the image"
import struct
with open("q.qcow2", "r+b") as f:
    hdr = f.read(48)
    l1_off, = struct.unpack(">Q", hdr[40:48])
    f.seek(l1_off + 8 * 8)  # the L2 table of 16 MiB and up
    f.write(struct.pack(">Q", (1 << 63) | 0x1200))  # not cluster-aligned
EOF
	run_img convert -O raw q.qcow2 out.raw
	expect_status 1
	expect_stderr_line '^kvmini-img: q\.qcow2: '
	[[ ! -e out.raw && $(ls) != *kvmini-tmp* ]] || fail "output left behind: $(ls)"
}

# A writer fails cleanly on an image QEMU is running with.
t_locked() {
	local pid
	need_img
	need_qemu
	q qemu-img create -f qcow2 q.qcow2 16M
	"$QEMU" -M microvm -accel tcg -display none -S \
		-drive "file=$T_DIR/q.qcow2,format=qcow2,if=none,id=d0" \
		-device virtio-blk-device,drive=d0 >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		grep -q "$(stat -c %i q.qcow2) 100 " /proc/locks && break
		sleep 0.1
	done
	run_img resize q.qcow2 +1M
	save_run resize
	run_img snapshot -c s q.qcow2
	save_run snapshot
	run_img create -f qcow2 q.qcow2 1M
	save_run create
	truncate -s 1M src.raw
	run_img convert -f raw -O qcow2 src.raw q.qcow2
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	expect_status 1
	expect_stderr_line '^kvmini-img: q\.qcow2: .*in use'
	[[ $(ls) != *kvmini-tmp* ]] || fail "output left behind: $(ls)"
	[[ $(<resize.status) == 1 && $(<snapshot.status) == 1 && $(<create.status) == 1 ]] ||
		fail "resize, snapshot -c or create worked on an image in use"
	grep -q 'in use' resize.stderr || fail "resize: $(cat resize.stderr)"
	grep -q 'in use' create.stderr || fail "create: $(cat create.stderr)"
	qemu-img info --output=json q.qcow2 | grep -q '"virtual-size": 16777216' ||
		fail "the image was changed"
	expect_qemu_check q.qcow2
	qemu-img snapshot -l q.qcow2 | grep -q . && fail "a snapshot was taken"
	return 0
}

# info without --backing-chain does not need the backing file, as qemu-img's.
t_info_missing_backing() {
	need_img
	q qemu-img create -f qcow2 base.qcow2 4M
	q qemu-img create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
	rm base.qcow2
	run_img info top.qcow2
	expect_status 0
	save_run kvmini
	qemu-img info top.qcow2 >"$T_DIR/qemu.stdout" 2>/dev/null
	echo $? >"$T_DIR/qemu.status"
	expect_same_run kvmini qemu
	run_img convert -O raw top.qcow2 out.raw
	expect_status 1
	expect_stderr_line '^kvmini-img: .*base\.qcow2'
	[[ ! -e out.raw && $(ls) != *kvmini-tmp* ]] || fail "output left behind: $(ls)"
}

# -q silences stdout; writing to a raw image whose format was probed warns, as qemu-img does.
t_quiet_and_probe() {
	need_img
	run_img create -q -f raw r.img 1M
	expect_status 0
	expect_stdout_empty
	run_img resize r.img 2M
	expect_status 0
	expect_stdout_line "Image resized."
	expect_stderr_line '^kvmini-img: warning: r\.img: .*-f raw'
	run_img resize -f raw -q r.img 3M
	expect_status 0
	expect_stdout_empty
	[[ ! -s $T_DIR/stderr ]] || fail "stderr is not empty"
	[[ $(stat -c %s r.img) == 3145728 ]] || fail "r.img is $(stat -c %s r.img) bytes"
}

t_help() {
	need_img
	run_img --help
	expect_status 0
	expect_stdout_contains "convert"
	run_img --version
	expect_status 0
	expect_stdout_match '^kvmini-img version '
	run_img frobnicate
	expect_status 1
	expect_stderr_line "^kvmini-img: unknown command 'frobnicate'"
	run_img info --bogus x
	expect_status 1
	expect_stderr_line "^kvmini-img: info: unknown option '--bogus'"
}

t_run 'img.create-v3' t_create 1.1
t_run 'img.create-v3-4k' t_create 1.1 -o cluster_size=4096
t_run 'img.create-v3-2m' t_create 1.1 -o cluster_size=2M
t_run 'img.create-lazy' t_create 1.1 -o lazy_refcounts=on
t_run 'img.create-zstd' t_create 1.1 -o compression_type=zstd
t_run 'img.create-v2' t_create 0.10 -o compat=0.10
t_run 'img.create-v2-4k' t_create 0.10 -o compat=0.10,cluster_size=4096
t_run 'img.create-backing' t_create_backing
t_run 'img.create-raw' t_create_raw
for k in v2 v3-4k v3-2m zlib zstd zeros chain snap; do
	t_run "img.convert-to-raw.$k" t_convert_to_raw "$k"
done
t_run 'img.convert-raw-to-qcow2' t_convert_to_qcow2 raw
t_run 'img.convert-raw-to-qcow2-v2-4k' t_convert_to_qcow2 raw -o compat=0.10,cluster_size=4k
t_run 'img.convert-chain-to-qcow2' t_convert_to_qcow2 chain
t_run 'img.convert-compressed-zlib' t_convert_compressed zlib
t_run 'img.convert-compressed-zstd' t_convert_compressed zstd
t_run 'img.convert-progress' t_convert_progress
t_run 'img.convert-odd-size' t_convert_odd_size
t_run 'img.convert-interrupted' t_convert_interrupted
t_run 'img.convert-symlink' t_convert_symlink
t_run 'img.convert-fails-midway' t_convert_fails
for k in raw v2 v3-2m zstd lazy dirty chain snap; do
	t_run "img.info.$k" t_info "$k"
	t_run "img.info-json.$k" t_info "$k" --output=json
done
t_run 'img.info-backing-chain' t_info chain --backing-chain
t_run 'img.info-backing-chain-json' t_info chain --backing-chain --output=json
for k in raw v2 v3-4k v3-2m zlib zstd zeros chain snap; do
	t_run "img.map-json.$k" t_map "$k" --output=json
done
for k in raw v3-4k zeros chain; do
	t_run "img.map-human.$k" t_map "$k"
done
t_run 'img.map-human.zlib' t_map zlib
t_run 'img.map-empty' t_map_empty
t_run 'img.check-clean' t_check clean
for k in v2 v3-4k v3-2m zlib zstd zeros chain snap; do
	t_run "img.check-clean.$k" t_check "$k"
done
t_run 'img.check-leak' t_check leak
t_run 'img.check-corrupt' t_check corrupt
t_run 'img.check-raw' t_check_raw
t_run 'img.snapshot' t_snapshot
t_run 'img.resize' t_resize
t_run 'img.compare-same' t_compare same
t_run 'img.compare-differ' t_compare differ
t_run 'img.compare-longer-zero' t_compare longer-zero
t_run 'img.compare-longer-data' t_compare longer-data
t_run 'img.compare-strict-size' t_compare longer-zero -s
t_run 'img.compare-strict' t_compare same -s
t_run 'img.compare-strict-zero' t_compare strict-zero -s
t_run 'img.compare-errors' t_compare_errors
t_run 'img.bad-missing-file' t_bad '^kvmini-img: nope\.qcow2: .*No such file' \
	convert -O raw nope.qcow2 out.raw
t_run 'img.bad-size' t_bad "^kvmini-img: invalid size '12Q'" create -f qcow2 out.qcow2 12Q
t_run 'img.bad-option' t_bad "^kvmini-img: out\\.qcow2: invalid parameter 'foo'" \
	create -f qcow2 -o foo=1 out.qcow2 1M
t_run 'img.bad-convert-option' t_bad "^kvmini-img: out\\.qcow2: invalid parameter 'foo'" \
	convert -O qcow2 -o foo=1 src.raw out.qcow2
t_run 'img.bad-format' t_bad "^kvmini-img: unknown format 'vmdk'" create -f vmdk out.qcow2 1M
t_run 'img.bad-output-dir' t_bad '^kvmini-img: nodir/out\.raw: ' \
	convert -f raw -O raw src.raw nodir/out.raw
t_run 'img.bad-not-qcow2' t_bad '^kvmini-img: src\.raw: .*bad magic' info -f qcow2 src.raw
t_run 'img.locked' t_locked
t_run 'img.info-missing-backing' t_info_missing_backing
t_run 'img.quiet-and-probe' t_quiet_and_probe
t_run 'img.help' t_help
