#!/bin/bash
# SPDX-License-Identifier: MIT
#
# kvmini-img convert against qemu-img convert, in the same run, on the same 1 GiB disk: half of
# it random data in 1 MiB runs, the rest holes (what a used disk image looks like).
#
#   raw->qcow2    convert -f raw -O qcow2 disk.raw out.qcow2
#   qcow2->raw    convert -f qcow2 -O raw disk.qcow2 out.raw (the qcow2 made by qemu-img)
#
# Each timing runs until the output is on the disk: the command, then sync -f on the output
# (qemu-img convert does not flush by default, kvmini-img does; this way both pay for the
# write-back). Medians of BENCH_IMG_RUNS rounds (default 5), alternating the tools; the
# outputs are compared with qemu-img compare once. Reports figures only.
#
# Environment: KVMINI_IMG (build/kvmini-img), BENCH_IMG_RUNS, BENCH_IMG_SIZE_MB (1024),
# BENCH_IMG_DIR (${TMPDIR:-/tmp}).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KVMINI_IMG=${KVMINI_IMG:-$ROOT/build/kvmini-img}
RUNS=${BENCH_IMG_RUNS:-5}
SIZE_MB=${BENCH_IMG_SIZE_MB:-1024}

die() {
	echo "bench-img: $*" >&2
	exit 1
}
[[ -x $KVMINI_IMG ]] || die "kvmini-img not built: $KVMINI_IMG"
command -v qemu-img >/dev/null || {
	echo "bench-img: skipped: qemu-img (qemu-utils) is not installed"
	exit 0
}
WORK=$(mktemp -d "${BENCH_IMG_DIR:-${TMPDIR:-/tmp}}/kvmini-bench-img.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

truncate -s "${SIZE_MB}M" disk.raw
for ((mb = 0; mb < SIZE_MB; mb += 2)); do
	echo "$mb"
done | python3 -c '
import os, sys
with open("disk.raw", "r+b") as f:
    for line in sys.stdin:
        f.seek(int(line) << 20)
        f.write(os.urandom(1 << 20))' || die "cannot write disk.raw"
qemu-img convert -f raw -O qcow2 disk.raw disk.qcow2 || die "qemu-img convert failed"
sync

# timed NAME CMD...: wall seconds of CMD and the write-back of its output (the last argument)
timed() {
	local name=$1 start end
	shift
	rm -f "${!#}"
	start=$(date +%s.%N)
	"$@" >/dev/null 2>"$WORK/err" || die "$name failed: $(head -n 3 "$WORK/err")"
	sync -f "${!#}"
	end=$(date +%s.%N)
	echo "$name $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')" >>"$WORK/times"
}

for ((r = 1; r <= RUNS; r++)); do
	timed kvmini-raw2qcow2 "$KVMINI_IMG" convert -f raw -O qcow2 disk.raw k.qcow2
	timed qemu-raw2qcow2 qemu-img convert -f raw -O qcow2 disk.raw q.qcow2
	timed kvmini-qcow22raw "$KVMINI_IMG" convert -f qcow2 -O raw disk.qcow2 k.raw
	timed qemu-qcow22raw qemu-img convert -f qcow2 -O raw disk.qcow2 q.raw
done
qemu-img compare -q -f qcow2 -F raw k.qcow2 disk.raw || die "kvmini-img's qcow2 differs from the input"
cmp -s k.raw disk.raw || die "kvmini-img's raw output differs from the input"

median() {
	awk -v n="$1" '$1 == n { print $2 }' "$WORK/times" | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "kvmini-img vs qemu-img convert: ${SIZE_MB} MiB disk (half data, half holes), medians of $RUNS"
printf '%-12s %12s %12s %18s\n' direction kvmini-img qemu-img 'qemu-img/kvmini-img'
for d in raw2qcow2 qcow22raw; do
	k=$(median "kvmini-$d")
	q=$(median "qemu-$d")
	label=raw-\>qcow2
	[[ $d == qcow22raw ]] && label=qcow2-\>raw
	printf '%-12s %11ss %11ss %18s\n' "$label" "$k" "$q" \
		"$(awk -v k="$k" -v q="$q" 'BEGIN { printf "%.2f", q / k }')"
done
