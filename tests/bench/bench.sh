#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Startup benchmark: kvmini against QEMU microvm on the same guest ELF.
#
# usage: tests/bench/bench.sh [GUEST.elf [EXTRA VM ARGS...]]
#
# Runs the guest (default guests/build/hello.elf) BENCH_RUNS times (default 15, at least 10)
# under each VMM, alternating between them after one unmeasured warm-up run each, every run
# through runstat, and prints the medians of wall time and peak RSS, and QEMU/kvmini ratios.
#
# Both VMMs get: -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
#                -kernel GUEST [EXTRA VM ARGS]; QEMU also gets -M microvm -accel kvm.
#
# Environment: KVMINI (default build/kvmini), QEMU (default qemu-system-x86_64; skipped if not
# installed), HELPERS (where runstat is; default build/tests/helpers; if it is not there, runstat
# is compiled from tests/helpers/runstat.c into a temporary directory), BENCH_RUNS,
# BENCH_TIMEOUT (seconds per run, default 30), BENCH_RAW (file to which the raw runstat lines
# are written).

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KVMINI=${KVMINI:-$ROOT/build/kvmini}
QEMU=${QEMU:-qemu-system-x86_64}
HELPERS=${HELPERS:-$ROOT/build/tests/helpers}
BENCH_RUNS=${BENCH_RUNS:-15}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-30}
BENCH_RAW=${BENCH_RAW:-}

GUEST=${1:-$ROOT/guests/build/hello.elf}
shift $(($# > 0 ? 1 : 0))
EXTRA=("$@")
# shellcheck disable=SC2054 # the commas belong to the -device argument
VM_ARGS=(-nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$GUEST"
	"${EXTRA[@]}")

die() {
	echo "bench: $*" >&2
	exit 1
}

if ! [[ $BENCH_RUNS =~ ^[0-9]+$ ]] || ((BENCH_RUNS < 10)); then
	die "BENCH_RUNS must be a number, 10 or more"
fi
[[ -r $GUEST ]] || die "guest $GUEST not found (build the guests first)"
[[ -x $KVMINI ]] || die "kvmini not found: $KVMINI (build it first, or set KVMINI)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-bench.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

RUNSTAT=$HELPERS/runstat
if [[ ! -x $RUNSTAT ]]; then
	RUNSTAT=$WORK/runstat
	${CC:-cc} -std=gnu11 -O2 -o "$RUNSTAT" "$ROOT/tests/helpers/runstat.c" ||
		die "runstat not found in $HELPERS and could not be compiled"
	echo "bench: note: using runstat compiled into $WORK (not found in $HELPERS)" >&2
fi

HAVE_QEMU=0
command -v "$QEMU" >/dev/null 2>&1 && HAVE_QEMU=1

VMS=(kvmini)
((HAVE_QEMU)) && VMS+=(qemu)
# The host's floor: any VMM with an in-kernel irqchip pays this (mostly KVM's VM teardown).
KVMFLOOR=$HELPERS/kvmfloor
[[ -x $KVMFLOOR ]] && VMS+=(floor)

# measure VM: one runstat run, its line appended to $WORK/VM
measure() {
	local line

	case $1 in
	kvmini) line=$("$RUNSTAT" -t "$BENCH_TIMEOUT" -- "$KVMINI" "${VM_ARGS[@]}") ;;
	qemu) line=$("$RUNSTAT" -t "$BENCH_TIMEOUT" -- "$QEMU" -M microvm -accel kvm "${VM_ARGS[@]}") ;;
	floor) line=$("$RUNSTAT" -t "$BENCH_TIMEOUT" -- "$KVMFLOOR") ;;
	esac
	[[ $line == wall_us=* ]] || die "runstat failed for $1"
	echo "$line" >>"$WORK/$1"
	[[ -n $BENCH_RAW ]] && echo "$1 $line" >>"$BENCH_RAW"
	return 0
}

[[ -n $BENCH_RAW ]] && : >"$BENCH_RAW"
for vm in "${VMS[@]}"; do
	measure "$vm"
	: >"$WORK/$vm"	# the warm-up run does not count
done
for ((i = 0; i < BENCH_RUNS; i++)); do
	for vm in "${VMS[@]}"; do
		measure "$vm"
	done
done

# field FILE KEY: the values of KEY=N, one a line
field() {
	awk -v key="$2" '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == key)
				print kv[2]
		}
	}' "$1"
}

# median (of numbers on stdin), printed with the awk format FMT after dividing by DIV
median() {
	sort -n | awk -v div="$1" -v fmt="$2" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "-"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf fmt "\n", m / div
		}'
}

range() {
	sort -n | awk -v div="$1" '
		NR == 1 { lo = $1 }
		{ hi = $1 }
		END { printf "%.1f..%.1f\n", lo / div, hi / div }'
}

# statuses FILE: "0" if all runs ended with status 0, else e.g. "1 (x14), 124 (x1)"
statuses() {
	field "$1" status | sort -n | uniq -c | awk '
		{ s[NR] = $2; c[NR] = $1 }
		END {
			if (NR == 1) { print s[1]; exit }
			for (i = 1; i <= NR; i++)
				printf "%s%s (x%d)", (i > 1 ? ", " : ""), s[i], c[i]
			print ""
		}'
}

declare -A WALL RSS
echo "kvmini vs QEMU microvm: startup-to-exit benchmark"
echo "guest:   $GUEST${EXTRA[*]:+ (extra args: ${EXTRA[*]})}"
echo "runs:    $BENCH_RUNS per VMM, measured after 1 warm-up run each, the VMMs alternating"
echo "kvmini:  $KVMINI ${VM_ARGS[*]}"
if ((HAVE_QEMU)); then
	echo "qemu:    $QEMU -M microvm -accel kvm ${VM_ARGS[*]}"
else
	echo "qemu:    $QEMU not found: kvmini only"
fi
echo
echo "wall ms  = time from fork() to the VMM process being reaped (exec, VM setup, guest run,"
echo "           teardown), CLOCK_MONOTONIC, measured by runstat; stdin/stdout/stderr /dev/null"
echo "RSS MiB  = peak resident set size of the VMM process (wait4() ru_maxrss)"
echo "status   = the VMM's exit status (all runs; should match between the VMMs)"
[[ -x $KVMFLOOR ]] &&
	echo "floor    = tests/helpers/kvmfloor: create a VM with RAM, in-kernel irqchip, PIT and one" &&
	echo "           vCPU, run one OUT instruction, exit — the host's cost that no VMM avoids"
echo
printf '%-8s %16s %18s %21s  %s\n' VMM "median wall ms" "wall ms min..max" \
	"median peak RSS MiB" status
for vm in "${VMS[@]}"; do
	WALL[$vm]=$(field "$WORK/$vm" wall_us | median 1000 '%.2f')
	RSS[$vm]=$(field "$WORK/$vm" maxrss_kb | median 1024 '%.1f')
	printf '%-8s %16s %18s %21s  %s\n' "$vm" "${WALL[$vm]}" \
		"$(field "$WORK/$vm" wall_us | range 1000)" "${RSS[$vm]}" "$(statuses "$WORK/$vm")"
done
echo
if ((HAVE_QEMU)); then
	awk -v qw="${WALL[qemu]}" -v kw="${WALL[kvmini]}" -v qr="${RSS[qemu]}" -v kr="${RSS[kvmini]}" '
		function ratio(q, k) { return k > 0 ? sprintf("%.1fx", q / k) : "n/a" }
		BEGIN {
			printf "QEMU/kvmini ratio of median wall time: %s  (above 1: kvmini is faster)\n",
				ratio(qw, kw)
			printf "QEMU/kvmini ratio of median peak RSS:  %s  (above 1: kvmini uses less memory)\n",
				ratio(qr, kr)
		}'
	if [[ -x $KVMFLOOR ]]; then
		awk -v qw="${WALL[qemu]}" -v kw="${WALL[kvmini]}" -v fw="${WALL[floor]}" '
			BEGIN {
				printf "time above the floor: kvmini %.2f ms, QEMU %.2f ms", kw - fw, qw - fw
				if (kw - fw > 0.5)
					printf " (QEMU/kvmini %.1fx)", (qw - fw) / (kw - fw)
				printf "\n"
			}'
	fi
	[[ $(statuses "$WORK/kvmini") == "$(statuses "$WORK/qemu")" ]] ||
		echo "warning: the exit statuses differ between kvmini and QEMU"
else
	echo "ratios: n/a (QEMU not found)"
fi

# Part 2, only when the Linux test guest has been built (make linux-guest): minutes, not ms.
LINUX_DIR=$ROOT/guests/build/linux
echo
if [[ ${BENCH_LINUX:-1} == 0 ]]; then
	echo "Linux boot benchmark: skipped (BENCH_LINUX=0)"
elif [[ -e $LINUX_DIR/vmlinux && -e $LINUX_DIR/bzImage && -e $LINUX_DIR/initramfs.cpio ]]; then
	KVMINI=$KVMINI QEMU=$QEMU KVMINI_LINUX_DIR=$LINUX_DIR "$ROOT/tests/bench/bench-linux.sh"
else
	echo "Linux boot benchmark: skipped ($LINUX_DIR has no vmlinux, bzImage and initramfs.cpio;"
	echo "build them with make linux-guest)"
fi
