#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Linux boot benchmark: how long the Linux test guest (make linux-guest) takes to reach its
# serial console milestones under kvmini (PVH vmlinux and bzImage) and under QEMU microvm
# (same vmlinux), all in the same run.
#
# usage: tests/bench/bench-linux.sh
#
# Every boot: -smp 2 -m 256M -nographic -no-reboot -kernel IMAGE -initrd initramfs.cpio
# -append CMDLINE; QEMU also gets -M microvm -accel kvm. The serial console is read line by
# line and each line is stamped with $EPOCHREALTIME as it arrives; the clock starts just
# before exec. Milestones: the first kernel message ("Linux version"), "Run /init as init
# process", and the /init marker "KVMINI-INIT:" (only where user space can make system calls:
# not on PVM hosts, where init segfaults and, with panic=-1, the kernel resets).
# A boot is stopped as soon as the init marker is seen, when the VMM reports a KVM internal
# error (QEMU pauses the VM instead of exiting), when the console is silent for too long,
# some seconds after "Run /init" without the marker, or at its timeout.
#
# Environment: KVMINI (default build/kvmini), QEMU (default qemu-system-x86_64; skipped if not
# installed), KVMINI_LINUX_DIR (default guests/build/linux), BENCH_LINUX=0 (skip),
# BENCH_LINUX_RUNS (boots per VMM and format, default 1; the median is shown),
# BENCH_LINUX_TIMEOUT_PVH (240), BENCH_LINUX_TIMEOUT_BZIMAGE (400), BENCH_LINUX_TIMEOUT_QEMU
# (60): seconds per boot; BENCH_LINUX_STALL (120): stop a boot whose console has been silent
# this long; BENCH_LINUX_INIT_GRACE (30): seconds to wait for the marker after "Run /init";
# BENCH_LINUX_LOGS: keep the serial logs in this directory (default: a temporary one, removed).

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KVMINI=${KVMINI:-$ROOT/build/kvmini}
QEMU=${QEMU:-qemu-system-x86_64}
LINUX_DIR=${KVMINI_LINUX_DIR:-$ROOT/guests/build/linux}
RUNS=${BENCH_LINUX_RUNS:-1}
STALL=${BENCH_LINUX_STALL:-120}
INIT_GRACE=${BENCH_LINUX_INIT_GRACE:-30}
LOGS=${BENCH_LINUX_LOGS:-}

# The host notes' command line (it avoids what the PVM CPL0 emulator cannot run); panic=-1
# turns a panic into a reset, which ends a -no-reboot VM instead of leaving it spinning.
CMDLINE="console=ttyS0 nokaslr mitigations=off tsc=reliable no_timer_check lpj=5000000"
CMDLINE+=" noxsave clearcpuid=smap,popcnt,rdrand,rdseed,fsgsbase,invpcid,pcid,movbe,rdpid"
CMDLINE+=",rdtscp,bmi1,bmi2,clflushopt,clwb panic=-1"
VM_ARGS=(-smp 2 -m 256M -nographic -no-reboot -initrd "$LINUX_DIR/initramfs.cpio"
	-append "$CMDLINE")

MARKERS=(first init user)
declare -A PATTERN=([first]='Linux version' [init]='Run /init as init process'
	[user]='KVMINI-INIT:')

die() {
	echo "bench-linux: $*" >&2
	exit 1
}

if [[ ${BENCH_LINUX:-1} == 0 ]]; then
	echo "Linux boot benchmark: skipped (BENCH_LINUX=0)"
	exit 0
fi
for v in BENCH_LINUX_RUNS BENCH_LINUX_STALL BENCH_LINUX_INIT_GRACE BENCH_LINUX_TIMEOUT_PVH \
	BENCH_LINUX_TIMEOUT_BZIMAGE BENCH_LINUX_TIMEOUT_QEMU; do
	if [[ -n ${!v:-} ]] && ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		die "$v must be a positive number"
	fi
done
for f in vmlinux bzImage initramfs.cpio; do
	[[ -r $LINUX_DIR/$f ]] || die "$LINUX_DIR/$f not found (build it with make linux-guest)"
done
[[ -x $KVMINI ]] || die "kvmini not found: $KVMINI (build it first, or set KVMINI)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-bench-linux.XXXXXX") || exit 1
VM_PID=''
# Never leave a VMM behind: a bzImage boot would go on for minutes.
cleanup() {
	[[ -n $VM_PID ]] && kill "$VM_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[[ -n $LOGS ]] || LOGS=$WORK
mkdir -p "$LOGS" || die "cannot create $LOGS"

# What is booted: VMM/format, each with its timeout (vm_cmd builds the command line).
CONFS=(kvmini/pvh kvmini/bzImage)
declare -A TIMEOUT=([kvmini/pvh]=${BENCH_LINUX_TIMEOUT_PVH:-240}
	[kvmini/bzImage]=${BENCH_LINUX_TIMEOUT_BZIMAGE:-400}
	[qemu/pvh]=${BENCH_LINUX_TIMEOUT_QEMU:-60})
HAVE_QEMU=0
command -v "$QEMU" >/dev/null 2>&1 && HAVE_QEMU=1 && CONFS+=(qemu/pvh)

vm_cmd() {
	case $1 in
	kvmini/pvh) CMD=("$KVMINI" -kernel "$LINUX_DIR/vmlinux") ;;
	kvmini/bzImage) CMD=("$KVMINI" -kernel "$LINUX_DIR/bzImage") ;;
	qemu/pvh) CMD=("$QEMU" -M microvm -accel kvm -kernel "$LINUX_DIR/vmlinux") ;;
	esac
	CMD+=("${VM_ARGS[@]}")
}

# EPOCHREALTIME as integer microseconds (its decimal point follows the locale).
usec() {
	echo "${1//[.,]/}"
}

# boot CONF RUN: one boot; appends "first=US init=US user=US" (the markers seen, µs after
# exec) to $WORK/CONF's file and prints a one-line summary.
boot() {
	local conf=$1 run=$2 fifo=$WORK/fifo log pid fd line now t0='' partial='' stop='' status
	local key last deadline init_at='' seen=''
	local -A at=()

	log=$LOGS/${conf//\//-}-$run.log
	vm_cmd "$conf"
	printf '%q ' "${CMD[@]}" >"$log.cmd"
	echo >>"$log.cmd"
	rm -f "$fifo"
	mkfifo "$fifo" || die "mkfifo failed"
	# The first line on the pipe is the start time, taken in the child just before exec.
	{
		printf 'START %s\n' "$EPOCHREALTIME"
		exec "${CMD[@]}" </dev/null 2>"$log.stderr"
	} >"$fifo" &
	pid=$!
	VM_PID=$pid
	exec {fd}<"$fifo"
	: >"$log"
	last=$(usec "$EPOCHREALTIME")
	deadline=$((last + TIMEOUT[$conf] * 1000000))
	while :; do
		# A 1 s timeout lets the loop notice stalls and QEMU's internal errors; a line cut
		# by it is kept and completed by the next read.
		if IFS= read -r -t 1 -u "$fd" line; then
			now=$(usec "$EPOCHREALTIME")
			line=${partial}${line%$'\r'}
			partial=''
			last=$now
			if [[ -z $t0 && $line == START\ * ]]; then
				t0=$(usec "${line#START }")
				continue
			fi
			echo "$line" >>"$log"
			for key in "${MARKERS[@]}"; do
				if [[ -z ${at[$key]:-} && $line == *"${PATTERN[$key]}"* ]]; then
					at[$key]=$((now - t0))
				fi
			done
			[[ -n ${at[init]:-} && -z $init_at ]] && init_at=$now
			if [[ -n ${at[user]:-} ]]; then
				stop="stopped at the init marker"
				break
			fi
		else
			status=$?
			partial+=$line
			((status > 128)) || break # EOF: the VMM has exited
			now=$(usec "$EPOCHREALTIME")
			if grep -q 'KVM internal error' "$log.stderr" 2>/dev/null; then
				stop="stopped: the VMM reported a KVM internal error"
			elif [[ -n $init_at ]] && ((now - init_at >= INIT_GRACE * 1000000)); then
				stop="stopped $INIT_GRACE s after Run /init without the init marker"
			elif ((now >= deadline)); then
				stop="timed out after ${TIMEOUT[$conf]} s"
			elif ((now - last >= STALL * 1000000)); then
				stop="stopped: no console output for $STALL s"
			fi
			[[ -z $stop ]] || break
		fi
	done
	[[ -n $partial ]] && echo "$partial" >>"$log"
	if [[ -n $stop ]]; then
		kill "$pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$pid" 2>/dev/null
	fi
	exec {fd}<&-
	wait "$pid"
	status=$?
	VM_PID=''
	[[ -n $stop ]] || stop="exited by itself with status $status"

	for key in "${MARKERS[@]}"; do
		[[ -n ${at[$key]:-} ]] && seen+="$key=${at[$key]} "
	done
	echo "$seen" >>"$WORK/${conf//\//-}"
	printf '%-15s run %d: first message %s, Run /init %s, init marker %s; %s\n' "$conf" "$run" \
		"$(secs "${at[first]:-}")" "$(secs "${at[init]:-}")" "$(secs "${at[user]:-}")" "$stop"
}

# secs [US]: seconds with two decimals, or "not reached"
secs() {
	if [[ -n ${1:-} ]]; then
		awk -v us="$1" 'BEGIN { printf "%.2f s\n", us / 1e6 }'
	else
		echo "not reached"
	fi
}

# median FILE KEY: "S" (the median in seconds over the runs that reached KEY), "S (k/n)" when
# only k of the n runs did, "not reached" when none did
median() {
	awk -v key="$2" '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == key)
				print kv[2]
		}
	}' "$1" | sort -n | awk -v runs="$RUNS" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "not reached"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.2f%s\n", m / 1e6, NR < runs ? sprintf(" (%d/%d)", NR, runs) : ""
		}'
}

echo "Linux boot benchmark: exec to serial console milestones of the Linux test guest"
echo "kernel:  $LINUX_DIR/{vmlinux,bzImage}, Linux $(sed -n 's/^release=//p' \
	"$LINUX_DIR/kernel.info" 2>/dev/null | head -n 1)"
echo "args:    -kernel IMAGE ${VM_ARGS[*]}"
if ((HAVE_QEMU)); then
	echo "qemu:    $QEMU -M microvm -accel kvm, the vmlinux"
else
	echo "qemu:    $QEMU not found: kvmini only"
fi
echo "runs:    $RUNS per VMM and format, in turn; timeouts (s):$(for c in "${CONFS[@]}"; do
	printf ' %s %s' "$c" "${TIMEOUT[$c]}"
done)"
echo

# Read the images once so that no run pays for the page cache.
cat "$LINUX_DIR/vmlinux" "$LINUX_DIR/bzImage" "$LINUX_DIR/initramfs.cpio" >/dev/null
for ((i = 1; i <= RUNS; i++)); do
	for c in "${CONFS[@]}"; do
		boot "$c" "$i"
	done
done

echo
echo "first message = exec to the kernel's first line on the serial console (\"Linux version\","
echo "                printed when the console driver registers, replaying the log buffer)"
echo "Run /init     = exec to \"Run /init as init process\": the kernel has booted"
echo "init marker   = exec to /init's \"KVMINI-INIT:\" line: user space runs (not on PVM hosts,"
echo "                where init's first system call faults)"
echo "seconds, wall clock (\$EPOCHREALTIME at each line's arrival), median of $RUNS run(s)"
echo
declare -A FIRST
printf '%-16s %16s %16s %16s\n' "VMM/format" "first message s" "Run /init s" "init marker s"
for c in "${CONFS[@]}"; do
	FIRST[$c]=$(median "$WORK/${c//\//-}" first)
	printf '%-16s %16s %16s %16s\n' "$c" "${FIRST[$c]}" "$(median "$WORK/${c//\//-}" init)" \
		"$(median "$WORK/${c//\//-}" user)"
done
echo
if ((HAVE_QEMU)); then
	awk -v q="${FIRST[qemu/pvh]}" -v k="${FIRST[kvmini/pvh]}" 'BEGIN {
		r = (q + 0 > 0 && k + 0 > 0) ? sprintf("%.2fx", q / k) : "n/a"
		printf "QEMU/kvmini ratio of the first-message time (same vmlinux, PVH): %s", r
		print "  (above 1: kvmini is faster)"
	}'
else
	echo "QEMU/kvmini ratio: n/a (QEMU not found)"
fi
[[ $LOGS == "$WORK" ]] || echo "serial logs: $LOGS"
