#!/bin/bash
# SPDX-License-Identifier: MIT
#
# virtio-net over TAP: kvmini against QEMU (q35 + qboot, -netdev tap with vhost=off: this host
# has no /dev/vhost-net) running the same net-pump guest (guests/net-pump.c, polling at CPL3).
#
# usage: tests/bench/bench-net.sh        (as root: it makes a network namespace and a TAP)
#
# Each round, for frame sizes 64 and 1500 bytes:
#   guest->host  the guest sends BENCH_NET_FRAMES broadcast frames as fast as its TX ring
#                drains; the rate is the guest's (frames over TSC time) and the frames the
#                TAP interface received are checked against it
#   host->guest  tests/helpers/netgen writes frames into the TAP from the namespace at
#                BENCH_NET_RATE frames/s (default 400000, in bursts of 32: a flood would take
#                the CPU the VMM needs on a small host and make the figures noise); the guest
#                counts BENCH_NET_FRAMES of them, and the rate is what it took (frames the VMM
#                could not take in time are dropped by the TAP)
# and prints the medians over BENCH_NET_RUNS rounds (default 3) in frames/s and MB/s (10^6
# bytes of frame per second), with kvmini/QEMU ratios. Reports figures only: the exit status is
# non-zero only when a run failed.
#
# Environment: KVMINI (build/kvmini), QEMU (qemu-system-x86_64; its column is skipped if not
# installed), QEMU_BIOS (/usr/share/qemu/qboot.rom), HELPERS (build/tests/helpers), GUESTS
# (guests/build), BENCH_NET_RUNS, BENCH_NET_FRAMES (default 200000), BENCH_NET_RATE,
# BENCH_NET_TIMEOUT (seconds per run, default 120).

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KVMINI=${KVMINI:-$ROOT/build/kvmini}
QEMU=${QEMU:-qemu-system-x86_64}
QEMU_BIOS=${QEMU_BIOS:-/usr/share/qemu/qboot.rom}
HELPERS=${HELPERS:-$ROOT/build/tests/helpers}
GUESTS=${GUESTS:-$ROOT/guests/build}
BENCH_NET_RUNS=${BENCH_NET_RUNS:-3}
BENCH_NET_FRAMES=${BENCH_NET_FRAMES:-200000}
BENCH_NET_TIMEOUT=${BENCH_NET_TIMEOUT:-120}
BENCH_NET_RATE=${BENCH_NET_RATE:-400000}

GUEST=$GUESTS/net-pump.elf
NS=kvmini-bench-net-$$
SIZES=(64 1500)

die() {
	echo "bench-net: $*" >&2
	exit 1
}

if ((EUID != 0)) || [[ ! -c /dev/net/tun ]]; then
	echo "bench-net: skipped: needs root and /dev/net/tun (a namespace and a TAP device)"
	exit 0
fi
[[ -r $GUEST ]] || die "guest $GUEST not found (build the guests first)"
[[ -x $KVMINI ]] || die "kvmini not found: $KVMINI"
[[ -x $HELPERS/netgen ]] || die "netgen not found in $HELPERS (make builds it)"
HAVE_QEMU=0
command -v "$QEMU" >/dev/null 2>&1 && [[ -r $QEMU_BIOS ]] && HAVE_QEMU=1

WORK=$(mktemp -d) || die "mktemp failed"
cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS" || die "cannot create a network namespace"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add tap0 mode tap || die "cannot create a TAP"
ip -n "$NS" link set tap0 up
# The host side stays quiet: no IPv6 autoconfiguration frames in the guest's counts.
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1

FAILED=0
fail() {
	echo "bench-net: FAIL: $*" >&2
	FAILED=1
}

# shellcheck disable=SC2054 # the commas belong to the -device argument
VM_ARGS=(-nographic -no-reboot -m 128M -device isa-debug-exit,iobase=0xf4,iosize=0x04
	-kernel "$GUEST")
vm_cmd() {
	if [[ $1 == kvmini ]]; then
		CMD=("$KVMINI" "${VM_ARGS[@]}" -netdev tap,id=n0,ifname=tap0,script=no,downscript=no
			-device virtio-net-pci,netdev=n0)
	else
		CMD=("$QEMU" -M q35 -accel kvm -bios "$QEMU_BIOS" "${VM_ARGS[@]}"
			-netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off
			-device virtio-net-pci,netdev=n0,disable-legacy=on)
	fi
}


# result VM DIR SIZE OUTFILE: "DIR-SIZE FPS MBPS" appended to $WORK/res.VM from the guest's line
result() {
	awk -v key="$2-$3" -v size="$3" '
		/^net-pump: (tx|rx) frames=[0-9]/ {
			for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			if (f["ticks"] > 0 && f["tsc_hz"] > 0) {
				s = f["ticks"] / f["tsc_hz"]
				printf "%s %.0f %.1f\n", key, f["frames"] / s, f["frames"] * size / s / 1e6
				found = 1
			}
		}
		END { exit !found }' "$4" >>"$WORK/res.$1"
}

# run VM ROUND SIZE: both directions for one VM and frame size
run() {
	local vm=$1 round=$2 size=$3 out before after gen status
	vm_cmd "$vm"

	out=$WORK/tx.$vm.$round.$size
	before=$(ip netns exec "$NS" cat /sys/class/net/tap0/statistics/rx_packets)
	ip netns exec "$NS" timeout -k 5 "$BENCH_NET_TIMEOUT" "${CMD[@]}" \
		-append "mode=tx size=$size count=$BENCH_NET_FRAMES" </dev/null >"$out" 2>&1
	status=$?
	after=$(ip netns exec "$NS" cat /sys/class/net/tap0/statistics/rx_packets)
	if ! result "$vm" g2h "$size" "$out" || ((status != 0 && status != 1)); then
		fail "$vm guest->host size $size round $round: status $status; last output:"
		tail -n 5 "$out" | sed 's/^/    /' >&2
	elif ((after - before < BENCH_NET_FRAMES)); then
		fail "$vm guest->host size $size: the TAP received $((after - before)) of $BENCH_NET_FRAMES frames"
	fi

	out=$WORK/rx.$vm.$round.$size
	ip netns exec "$NS" timeout -k 5 "$BENCH_NET_TIMEOUT" "${CMD[@]}" \
		-append "mode=rx count=$BENCH_NET_FRAMES timeout=60" </dev/null >"$out" 2>&1 &
	local pid=$!
	for _ in $(seq 300); do
		grep -q '^net-pump: rx ready' "$out" && break
		sleep 0.1
	done
	ip netns exec "$NS" "$HELPERS/netgen" tap0 "$size" 1000000000 "$BENCH_NET_TIMEOUT" \
		"$BENCH_NET_RATE" >"$WORK/netgen.out" 2>&1 &
	gen=$!
	wait "$pid"
	status=$?
	kill "$gen" 2>/dev/null
	wait "$gen" 2>/dev/null
	if ! result "$vm" h2g "$size" "$out" || ((status != 0 && status != 1)); then
		fail "$vm host->guest size $size round $round: status $status; last output:"
		tail -n 5 "$out" | sed 's/^/    /' >&2
	fi
}

VMS=(kvmini)
((HAVE_QEMU)) && VMS+=(qemu)
for round in $(seq "$BENCH_NET_RUNS"); do
	for size in "${SIZES[@]}"; do
		for vm in "${VMS[@]}"; do
			run "$vm" "$round" "$size"
		done
	done
done

median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

echo "bench-net: TAP, net-pump guest, $BENCH_NET_FRAMES frames per run, medians of $BENCH_NET_RUNS rounds;"
echo "           host->guest offered at $BENCH_NET_RATE frames/s"
printf '%-14s %14s %10s %14s %10s %8s\n' test kvmini-fps MB/s qemu-fps MB/s ratio
for dir in g2h h2g; do
	for size in "${SIZES[@]}"; do
		key=$dir-$size
		k=$(awk -v k="$key" '$1 == k { print $2 }' "$WORK/res.kvmini" 2>/dev/null | median)
		kb=$(awk -v k="$key" '$1 == k { print $3 }' "$WORK/res.kvmini" 2>/dev/null | median)
		q=$(awk -v k="$key" '$1 == k { print $2 }' "$WORK/res.qemu" 2>/dev/null | median)
		qb=$(awk -v k="$key" '$1 == k { print $3 }' "$WORK/res.qemu" 2>/dev/null | median)
		ratio=-
		[[ -n $k && -n $q ]] && ratio=$(awk -v a="$k" -v b="$q" 'BEGIN { printf "%.2f", a / b }')
		printf '%-14s %14s %10s %14s %10s %8s\n' "$key" "${k:--}" "${kb:--}" "${q:--}" \
			"${qb:--}" "$ratio"
	done
done
exit $FAILED
