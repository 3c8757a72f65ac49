#!/bin/bash
# SPDX-License-Identifier: MIT
#
# virtio-blk benchmark: kvmini against QEMU (q35 + qboot) and host fio, on the same raw file;
# and kvmini on qcow2 images of the same size (fully allocated, and fresh: thin, every write
# allocates) against kvmini on the raw file.
#
# usage: tests/bench/bench-blk.sh
#
# Creates a fully written raw file (BENCH_BLK_SIZE_MB, default 1024) in a temporary directory
# under BENCH_BLK_DIR (default ${TMPDIR:-/tmp}; it must be a real file system: O_DIRECT), then
# runs BENCH_BLK_RUNS rounds (default 3) of: guests/build/blk-bench.elf under kvmini, the same
# under QEMU, and fio on the host with the same parameters. Each prints four figures:
#
#   seqwrite, seqread      bs=64 KiB, queue depth 32, once over the whole file      -> MB/s
#   randread qd1, qdN      bs=4 KiB, queue depth 1 and BENCH_BLK_QD (default 32),
#                          BENCH_BLK_RAND_OPS requests (default 10000)                -> IOPS
#
# and the script reports the median of each over the rounds. MB/s is 10^6 bytes per second.
# With qemu-img installed, each round also runs the guest under kvmini on a qcow2 image made
# with preallocation=full and on a freshly created (empty) one, both cache=none.
# The guest measures with the TSC; KVM guests see the host's TSC rate, which tsc_hz measures
# against CLOCK_MONOTONIC. Both VMMs open the file with cache=none (O_DIRECT) and io_uring; fio
# uses --ioengine=io_uring --direct=1. It reports figures only: the exit status is non-zero only
# when a run failed (a VMM exit status other than 0, a timeout, missing output, a fio error).
#
# Environment: KVMINI (default build/kvmini), QEMU (default qemu-system-x86_64; its column is
# skipped if not installed), QEMU_BIOS (default /usr/share/qemu/qboot.rom), FIO (default fio;
# skipped if not installed), HELPERS (where tsc_hz is; default build/tests/helpers; if it is not
# there, it is compiled from tests/helpers/tsc_hz.c into the temporary directory), GUESTS
# (default guests/build), BENCH_BLK_RUNS, BENCH_BLK_TIMEOUT (seconds per run, default 300),
# BENCH_BLK_SIZE_MB, BENCH_BLK_DIR, BENCH_BLK_QD, BENCH_BLK_RAND_OPS, BENCH_BLK_RAW (file to
# which the raw guest lines and fio figures are written).

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KVMINI=${KVMINI:-$ROOT/build/kvmini}
QEMU=${QEMU:-qemu-system-x86_64}
QEMU_BIOS=${QEMU_BIOS:-/usr/share/qemu/qboot.rom}
FIO=${FIO:-fio}
HELPERS=${HELPERS:-$ROOT/build/tests/helpers}
GUESTS=${GUESTS:-$ROOT/guests/build}
BENCH_BLK_RUNS=${BENCH_BLK_RUNS:-3}
BENCH_BLK_TIMEOUT=${BENCH_BLK_TIMEOUT:-300}
BENCH_BLK_SIZE_MB=${BENCH_BLK_SIZE_MB:-1024}
BENCH_BLK_DIR=${BENCH_BLK_DIR:-${TMPDIR:-/tmp}}
BENCH_BLK_QD=${BENCH_BLK_QD:-32}
BENCH_BLK_RAND_OPS=${BENCH_BLK_RAND_OPS:-10000}
BENCH_BLK_RAW=${BENCH_BLK_RAW:-}

GUEST=$GUESTS/blk-bench.elf
SEQ_BS=65536
RAND_BS=4096
TESTS=(seqwrite seqread randread-qd1 "randread-qd$BENCH_BLK_QD")

die() {
	echo "bench-blk: $*" >&2
	exit 1
}

for v in BENCH_BLK_RUNS BENCH_BLK_TIMEOUT BENCH_BLK_SIZE_MB BENCH_BLK_QD BENCH_BLK_RAND_OPS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number"
done
((BENCH_BLK_QD >= 2 && BENCH_BLK_QD <= 64)) || die "BENCH_BLK_QD must be 2 to 64 (the guest's limit is 64)"
[[ -r $GUEST ]] || die "guest $GUEST not found (build the guests first)"
[[ -x $KVMINI ]] || die "kvmini not found: $KVMINI (build it first, or set KVMINI)"
command -v timeout >/dev/null || die "timeout (coreutils) not found"

WORK=$(mktemp -d "$BENCH_BLK_DIR/kvmini-bench-blk.XXXXXX") || die "cannot create a directory in $BENCH_BLK_DIR"
trap 'rm -rf "$WORK"' EXIT
case $(stat -f -c %T "$WORK") in
tmpfs | ramfs | overlayfs)
	die "$BENCH_BLK_DIR is on $(stat -f -c %T "$WORK"): set BENCH_BLK_DIR to a directory on a disk file system"
	;;
esac

TSC_HZ_BIN=$HELPERS/tsc_hz
if [[ ! -x $TSC_HZ_BIN ]]; then
	TSC_HZ_BIN=$WORK/tsc_hz
	${CC:-cc} -std=gnu11 -O2 -o "$TSC_HZ_BIN" "$ROOT/tests/helpers/tsc_hz.c" ||
		die "tsc_hz not found in $HELPERS and could not be compiled"
	echo "bench-blk: note: using tsc_hz compiled into $WORK (not found in $HELPERS)" >&2
fi
TSC_HZ=$("$TSC_HZ_BIN")
[[ $TSC_HZ =~ ^[1-9][0-9]*$ ]] || die "tsc_hz failed"

HAVE_QEMU=0
if command -v "$QEMU" >/dev/null 2>&1; then
	if [[ -r $QEMU_BIOS ]]; then
		HAVE_QEMU=1
	else
		echo "bench-blk: note: $QEMU_BIOS not found: QEMU skipped" >&2
	fi
fi
HAVE_FIO=0
if command -v "$FIO" >/dev/null 2>&1; then
	if command -v python3 >/dev/null 2>&1; then
		HAVE_FIO=1
	else
		echo "bench-blk: note: python3 not found (it parses fio's JSON): fio skipped" >&2
	fi
fi
TIME=()
[[ -x /usr/bin/time ]] && TIME=(/usr/bin/time -f 'user=%U sys=%S wall=%e')

# The disk: allocated and written once, so that every read hits written blocks.
DISK=$WORK/disk.img
fallocate -l "${BENCH_BLK_SIZE_MB}M" "$DISK" 2>/dev/null || : >"$DISK"
dd if=/dev/zero of="$DISK" bs=1M count="$BENCH_BLK_SIZE_MB" oflag=direct conv=notrunc,fsync \
	status=none || die "cannot write $DISK"

HAVE_QCOW2=0
if command -v qemu-img >/dev/null 2>&1; then
	HAVE_QCOW2=1
	qemu-img create -q -f qcow2 -o preallocation=full "$WORK/full.qcow2" "${BENCH_BLK_SIZE_MB}M" ||
		die "qemu-img create failed"
fi

APPEND="qd=$BENCH_BLK_QD rand-ops=$BENCH_BLK_RAND_OPS bs=$SEQ_BS"
# shellcheck disable=SC2054 # the commas belong to the -device and -drive arguments
VM_ARGS=(-nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$GUEST"
	-append "$APPEND" -device virtio-blk-pci,drive=d0)
KVMINI_CMD=("$KVMINI" "${VM_ARGS[@]}" -drive "file=$DISK,format=raw,if=none,id=d0,cache=none")
KVMINI_FULL_CMD=("$KVMINI" "${VM_ARGS[@]}"
	-drive "file=$WORK/full.qcow2,format=qcow2,if=none,id=d0,cache=none")
KVMINI_THIN_CMD=("$KVMINI" "${VM_ARGS[@]}"
	-drive "file=$WORK/thin.qcow2,format=qcow2,if=none,id=d0,cache=none")
KVMINI_SPARSE_CMD=("$KVMINI" "${VM_ARGS[@]}"
	-drive "file=$WORK/sparse.img,format=raw,if=none,id=d0,cache=none")
QEMU_CMD=("$QEMU" -M q35 -accel kvm -bios "$QEMU_BIOS" "${VM_ARGS[@]}"
	-drive "file=$DISK,format=raw,if=none,id=d0,cache=none,aio=io_uring")

FAILED=0
fail() {
	echo "bench-blk: FAIL: $*" >&2
	FAILED=1
}

raw() {
	[[ -z $BENCH_BLK_RAW ]] || echo "$*" >>"$BENCH_BLK_RAW"
}

# run_vm NAME ROUND CMD...: one guest run; "TEST VALUE" lines appended to $WORK/res.NAME,
# "user+sys wall" to $WORK/cpu.NAME
run_vm() {
	local vm=$1 round=$2 out=$WORK/out.$1.$2 tfile=$WORK/time.$1.$2 status lines
	shift 2

	if ((${#TIME[@]})); then
		"${TIME[@]}" -o "$tfile" timeout -k 5 "$BENCH_BLK_TIMEOUT" "$@" </dev/null >"$out" 2>&1
	else
		timeout -k 5 "$BENCH_BLK_TIMEOUT" "$@" </dev/null >"$out" 2>&1
	fi
	status=$?
	lines=$(grep -c '^blk-bench: .* ticks=[0-9]' "$out")
	while IFS= read -r l; do raw "$vm round $round: $l"; done < <(grep '^blk-bench:' "$out")
	if ((status != 0 || lines != 4)); then
		((status == 124)) && fail "$vm round $round timed out after ${BENCH_BLK_TIMEOUT}s"
		fail "$vm round $round: exit status $status, $lines result lines; last output:"
		tail -n 5 "$out" | sed 's/^/    /' >&2
		return
	fi
	awk -v hz="$TSC_HZ" '
		/^blk-bench: .* ticks=[0-9]/ {
			for (i = 3; i <= NF; i++) {
				split($i, kv, "=")
				f[kv[1]] = kv[2]
			}
			if (f["ticks"] <= 0)
				next
			s = f["ticks"] / hz
			if ($2 == "randread")
				printf "randread-qd%d %.1f\n", f["qd"], f["ops"] / s
			else
				printf "%s %.1f\n", $2, f["bytes"] / s / 1e6
		}' "$out" >>"$WORK/res.$vm"
	[[ -s $tfile ]] && awk '/^user=/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		printf "%.2f %.2f\n", f["user"] + f["sys"], f["wall"]
	}' "$tfile" >>"$WORK/cpu.$vm"
}

# fio_one TEST ARGS...: one fio job on the disk; "TEST VALUE" appended to $WORK/res.fio
fio_one() {
	local test=$1 json=$WORK/fio.json value
	shift

	if ! timeout -k 5 "$BENCH_BLK_TIMEOUT" "$FIO" --name="$test" --filename="$DISK" \
		--ioengine=io_uring --direct=1 --size="${BENCH_BLK_SIZE_MB}M" --output-format=json \
		"$@" >"$json" 2>"$WORK/fio.err"; then
		fail "fio $test failed:"
		tail -n 5 "$WORK/fio.err" "$json" | sed 's/^/    /' >&2
		return
	fi
	value=$(python3 -c '
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
if job.get("error"):
    sys.exit(1)
d = job["write"] if sys.argv[2] == "seqwrite" else job["read"]
if sys.argv[2].startswith("seq"):
    print("%.1f" % (d["bw_bytes"] / 1e6))
else:
    print("%.1f" % d["iops"])
' "$json" "$test") || {
		fail "fio $test: unreadable JSON output"
		return
	}
	echo "$test $value" >>"$WORK/res.fio"
	raw "fio: $test $value"
}

run_fio() {
	fio_one seqwrite --rw=write --bs=$SEQ_BS --iodepth=32
	fio_one seqread --rw=read --bs=$SEQ_BS --iodepth=32
	fio_one randread-qd1 --rw=randread --bs=$RAND_BS --iodepth=1 --norandommap \
		--number_ios="$BENCH_BLK_RAND_OPS"
	fio_one "randread-qd$BENCH_BLK_QD" --rw=randread --bs=$RAND_BS --iodepth="$BENCH_BLK_QD" \
		--norandommap --number_ios="$BENCH_BLK_RAND_OPS"
}

[[ -n $BENCH_BLK_RAW ]] && : >"$BENCH_BLK_RAW"
COLS=(kvmini)
((HAVE_QEMU)) && COLS+=(qemu)
((HAVE_FIO)) && COLS+=(fio)
((HAVE_QCOW2)) && COLS+=(qcow2 qcow2-thin raw-sparse)
for c in "${COLS[@]}"; do : >"$WORK/res.$c"; done
for ((r = 1; r <= BENCH_BLK_RUNS; r++)); do
	echo "bench-blk: round $r of $BENCH_BLK_RUNS" >&2
	run_vm kvmini "$r" "${KVMINI_CMD[@]}"
	((HAVE_QEMU)) && run_vm qemu "$r" "${QEMU_CMD[@]}"
	((HAVE_FIO)) && run_fio
	if ((HAVE_QCOW2)); then
		run_vm qcow2 "$r" "${KVMINI_FULL_CMD[@]}"
		rm -f "$WORK/thin.qcow2"
		qemu-img create -q -f qcow2 "$WORK/thin.qcow2" "${BENCH_BLK_SIZE_MB}M"
		run_vm qcow2-thin "$r" "${KVMINI_THIN_CMD[@]}"
		rm -f "$WORK/sparse.img"
		truncate -s "${BENCH_BLK_SIZE_MB}M" "$WORK/sparse.img"
		run_vm raw-sparse "$r" "${KVMINI_SPARSE_CMD[@]}"
	fi
done

# median COLUMN TEST: the median of TEST's values in $WORK/res.COLUMN, or "-"
median() {
	awk -v t="$2" '$1 == t { print $2 }' "$WORK/res.$1" 2>/dev/null | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "-"; exit }
			printf "%.1f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 <= 0) print "-"; else printf "%.2f\n", a / b }'
}

echo "kvmini vs QEMU vs host fio: virtio-blk benchmark"
echo "disk:    $DISK: ${BENCH_BLK_SIZE_MB} MiB raw, fully written, on $(stat -f -c %T "$WORK")"
echo "guest:   $GUEST -append \"$APPEND\" (polls at CPL3)"
echo "rounds:  $BENCH_BLK_RUNS, each kvmini, then QEMU, then fio; medians below"
echo "tsc:     $(awk -v h="$TSC_HZ" 'BEGIN { printf "%.2f MHz", h / 1e6 }') (tsc_hz: RDTSC against CLOCK_MONOTONIC)"
echo "kvmini:  ${KVMINI_CMD[*]}"
if ((HAVE_QEMU)); then
	echo "qemu:    ${QEMU_CMD[*]}"
else
	echo "qemu:    $QEMU not found (or no $QEMU_BIOS): its columns are skipped"
fi
if ((HAVE_FIO)); then
	echo "fio:     $FIO --ioengine=io_uring --direct=1 --size=${BENCH_BLK_SIZE_MB}M: bs 64k iodepth 32 write"
	echo "         and read over the file; bs 4k randread --norandommap iodepth 1 and" \
		"$BENCH_BLK_QD, $BENCH_BLK_RAND_OPS ios"
else
	echo "fio:     $FIO or python3 not found: its columns are skipped"
fi
echo
echo "seq in MB/s (10^6 bytes/s), randread in IOPS; higher is better; ratios above 1: kvmini faster"
printf '%-15s %10s %10s %10s %13s %12s\n' test kvmini QEMU fio kvmini/QEMU kvmini/fio
declare -A K Q
for t in "${TESTS[@]}"; do
	K[$t]=$(median kvmini "$t")
	Q[$t]=$(median qemu "$t")
	f=$(median fio "$t")
	printf '%-15s %10s %10s %10s %13s %12s\n' "$t" "${K[$t]}" "${Q[$t]}" "$f" \
		"$(ratio "${K[$t]}" "${Q[$t]}")" "$(ratio "${K[$t]}" "$f")"
done
if [[ -s $WORK/cpu.kvmini || -s $WORK/cpu.qemu ]]; then
	echo
	echo "whole VMM run (all four tests), medians: CPU seconds (user+sys) / wall seconds"
	for vm in kvmini qemu; do
		[[ -s $WORK/cpu.$vm ]] || continue
		printf '  %-7s %s\n' "$vm" "$(sort -g "$WORK/cpu.$vm" | awk '{ c[NR] = $1 }
			END { print c[int((NR + 1) / 2)] }') / $(awk '{ print $2 }' "$WORK/cpu.$vm" |
			sort -g | awk '{ w[NR] = $1 } END { print w[int((NR + 1) / 2)] }')"
	done
fi
echo
for t in "${TESTS[@]}"; do
	if ! ((HAVE_QEMU)); then
		echo "$t: kvmini >= QEMU: n/a (QEMU not run)"
	elif [[ ${K[$t]} == - || ${Q[$t]} == - ]]; then
		echo "$t: kvmini >= QEMU: n/a (no result)"
	elif awk -v k="${K[$t]}" -v q="${Q[$t]}" 'BEGIN { exit !(k >= q) }'; then
		echo "$t: kvmini >= QEMU: yes ($(ratio "${K[$t]}" "${Q[$t]}")x)"
	else
		echo "$t: kvmini >= QEMU: no ($(ratio "${K[$t]}" "${Q[$t]}")x)"
	fi
done
if ((HAVE_QCOW2)); then
	echo
	echo "kvmini on qcow2 (64 KiB clusters, cache=none) against kvmini on the raw file, same run"
	echo "  full: ${KVMINI_FULL_CMD[*]: -1} (qemu-img create -o preallocation=full)"
	echo "  thin: a fresh qcow2 each round: the seqwrite pass allocates every cluster; its peer"
	echo "        is a fresh sparse raw file (sparse), where the file system allocates instead"
	printf '%-15s %10s %10s %10s %10s %10s %12s\n' test raw qcow2 qcow2/raw sparse thin \
		thin/sparse
	for t in "${TESTS[@]}"; do
		f=$(median qcow2 "$t")
		n=$(median qcow2-thin "$t")
		sp=$(median raw-sparse "$t")
		printf '%-15s %10s %10s %10s %10s %10s %12s\n' "$t" "${K[$t]}" "$f" \
			"$(ratio "$f" "${K[$t]}")" "$sp" "$n" "$(ratio "$n" "$sp")"
	done
fi
((FAILED)) && echo "bench-blk: some runs failed (see above); their figures are missing" >&2
exit "$FAILED"
