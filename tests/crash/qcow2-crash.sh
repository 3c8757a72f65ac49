#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The qcow2 crash test: ROUNDS times (default 50), boot the blk-crash guest on one qcow2 image
# and kill kvmini with SIGKILL at a random moment while the guest writes (allocating clusters,
# L2 tables and refcount blocks as it goes) and flushes. After each kill:
#   - qemu-img check must find no corruption (exit 0, or 3: leaked clusters are allowed);
#   - every 4 KiB unit the guest saw flushed before the kill ("blk-crash: gen G flushed N")
#     must hold generation G's pattern, read back through qemu-img convert (not our reader).
# The image carries on from round to round, leaks and all: each round opens what the last
# one's crash left. Odd rounds use cache=none, even ones the page cache; the image has a
# qcow2 backing file under it, so partial-cluster writes copy from it.
#
# usage: tests/crash/qcow2-crash.sh [ROUNDS]
# Environment: KVMINI (build/kvmini), GUESTS (guests/build), CRASH_MAX_MS (longest wait before
# the kill, default 2500), CRASH_KEEP=1 keeps the work directory.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KVMINI=$(realpath -m -- "${KVMINI:-$ROOT/build/kvmini}")
GUESTS=$(realpath -m -- "${GUESTS:-$ROOT/guests/build}")
ROUNDS=${1:-50}
MAX_MS=${CRASH_MAX_MS:-2500}

die() {
	echo "crash: $*" >&2
	exit 1
}
[[ -x $KVMINI ]] || die "kvmini not built: $KVMINI"
[[ -r $GUESTS/blk-crash.elf ]] || die "guest not built: $GUESTS/blk-crash.elf"
command -v qemu-img >/dev/null || die "qemu-img (qemu-utils) is needed as the checker"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-crash.XXXXXX") || die "mktemp failed"
[[ ${CRASH_KEEP:-0} == 1 ]] && echo "crash: work directory $WORK" || trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
qemu-img create -q -f qcow2 -o cluster_size=65536 base.qcow2 64M
qemu-io -c 'write -P 0x5a 0 64M' base.qcow2 >/dev/null || die "cannot fill the backing file"
qemu-img create -q -f qcow2 -o cluster_size=65536 -b base.qcow2 -F qcow2 disk.qcow2

corrupt=0 lost=0 leaky=0 unflushed=0
for round in $(seq "$ROUNDS"); do
	cache=writeback
	((round % 2)) && cache=none
	"$KVMINI" -nographic -no-reboot -kernel "$GUESTS/blk-crash.elf" -append "gen=$round" \
		-drive "file=disk.qcow2,format=qcow2,cache=$cache" </dev/null >out 2>err &
	pid=$!
	sleep "$(awk -v r=$RANDOM -v m="$MAX_MS" 'BEGIN { printf "%.3f", r / 32767 * m / 1000 }')"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if grep -q FAIL out || grep -q . err; then
		echo "crash: round $round: the guest or kvmini reported an error:"
		sed 's/^/    /' out err | tail -n 6
		lost=$((lost + 1))
	fi
	flushed=$(sed -nE "s/^blk-crash: gen $round flushed ([0-9]+)$/\1/p" out | tail -n 1)
	units=$(sed -nE "s/^blk-crash: gen $round units ([0-9]+)$/\1/p" out)
	qemu-img check disk.qcow2 >check.out 2>&1
	status=$?
	case $status in
	0) ;;
	3) leaky=$((leaky + 1)) ;;
	*)
		echo "crash: round $round: qemu-img check exit $status:"
		sed 's/^/    /' check.out | head -n 20
		corrupt=$((corrupt + 1))
		cp disk.qcow2 "corrupt-$round.qcow2"
		continue
		;;
	esac
	if [[ -z $flushed ]]; then
		unflushed=$((unflushed + 1))
		continue
	fi
	qemu-img convert -f qcow2 -O raw disk.qcow2 disk.raw || die "qemu-img convert failed"
	if ! python3 - disk.raw "$round" "$flushed" "$units" <<'PY'; then
import struct, sys
img = open(sys.argv[1], "rb")
gen, flushed, units = (int(a) for a in sys.argv[2:5])
for i in range(flushed):
    unit = (i * 0x9e3779b1 + gen * 0x3d) & (units - 1)
    img.seek(unit * 4096)
    got = img.read(4096)
    want = b"".join(struct.pack("<Q", gen << 48 | (unit * 8 + s) << 8 | w)
                    for s in range(8) for w in range(64))
    if got != want:
        sys.exit("unit %d (write %d of %d flushed) does not hold generation %d" %
                 (unit, i, flushed, gen))
PY
		echo "crash: round $round: flushed data lost"
		lost=$((lost + 1))
	fi
	rm -f disk.raw
done
echo "crash: $ROUNDS rounds: $corrupt corrupted, $lost with lost data or errors, $leaky with" \
	"leaks (allowed), $unflushed killed before the first flush"
((corrupt == 0 && lost == 0))
