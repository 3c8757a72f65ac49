#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Save and restore of a 256 MiB guest: kvmini's migrate to file: and -incoming file: against
# QEMU microvm's migrate "exec:cat > FILE" and -incoming "exec:cat FILE", on the counter guest
# with BENCH_SNAP_FILL_MB (default 200) MiB of its RAM filled (guests/counter.c fill=).
#
#   save      QMP stop + migrate sent until the reply, the file on the disk (kvmini syncs before
#             its reply; QEMU: until query-migrate says completed, then sync -f)
#   restore   process start until QMP answers query-status with "paused" (-S: RAM and state
#             loaded, nothing run yet)
#   size      the state file
#
# Medians of BENCH_SNAP_RUNS rounds (default 3). Reports figures only.
# Environment: KVMINI (build/kvmini), QEMU (qemu-system-x86_64), GUESTS (guests/build),
# BENCH_SNAP_RUNS, BENCH_SNAP_FILL_MB, BENCH_SNAP_DIR (${TMPDIR:-/tmp}).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KVMINI=${KVMINI:-$ROOT/build/kvmini}
QEMU=${QEMU:-qemu-system-x86_64}
GUESTS=${GUESTS:-$ROOT/guests/build}
RUNS=${BENCH_SNAP_RUNS:-3}
FILL=${BENCH_SNAP_FILL_MB:-200}
CAPS='{"execute": "qmp_capabilities"}'

die() {
	echo "bench-snapshot: $*" >&2
	exit 1
}
[[ -x $KVMINI ]] || die "kvmini not built: $KVMINI"
[[ -f $GUESTS/counter.elf ]] || die "no $GUESTS/counter.elf (make guests)"
command -v socat >/dev/null || die "socat is not installed"
WORK=$(mktemp -d "${BENCH_SNAP_DIR:-${TMPDIR:-/tmp}}/kvmini-bench-snap.XXXXXX") || die "mktemp"
PID=
trap '[[ -n $PID ]] && kill -9 $PID 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.0f'; }
qmp() { printf '%s' "$CAPS$2" | timeout 60 socat -t "${3:-1}" - "UNIX-CONNECT:$1" 2>/dev/null | tr -d '\r'; }
# qmp_until SOCK COMMANDS N: send, return after N replies (return or error; 60 s at most).
qmp_until() {
	timeout 60 python3 -c '
import re, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
buf = b""
while len(re.findall(rb"\"(return|error)\"", buf)) < int(sys.argv[3]):
    d = s.recv(65536)
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode())
' "$1" "$CAPS$2" "$3"
}

# wait_for SOCK REGEX [QUERY]: poll until a reply matches; 1 after 60 s.
wait_for() {
	local i
	for ((i = 0; i < 6000; i++)); do
		[[ -S $1 ]] && qmp "$1" "${3:-{\"execute\": \"query-status\"\}}" 0.2 | grep -Eq "$2" && return 0
		sleep 0.01
	done
	return 1
}

# run_vm VM SOCK ARGS...: start kvmini or QEMU in the background (PID), serial output in vm.out.
run_vm() {
	local vm=$1 sock=$2
	shift 2
	rm -f "$sock" vm.out
	if [[ $vm == kvmini ]]; then
		"$KVMINI" -m 256M -kernel "$GUESTS/counter.elf" -append "fill=$FILL" \
			-qmp "unix:$sock,server,nowait" "$@" </dev/null >vm.out 2>vm.err &
	else
		"$QEMU" -M microvm -accel kvm -nographic -no-reboot -m 256M -kernel \
			"$GUESTS/counter.elf" -append "fill=$FILL" -qmp "unix:$sock,server,nowait" \
			-monitor none "$@" </dev/null >vm.out 2>vm.err &
	fi
	PID=$!
}

stop_vm() {
	kill -9 "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

# one VM: prints "SAVE_MS RESTORE_MS SIZE", or nothing when something failed.
one() {
	local vm=$1 t0 t1 t2 t3 save
	run_vm "$vm" "$WORK/q.sock"
	for ((i = 0; i < 600; i++)); do
		grep -q '^counter: 2' vm.out 2>/dev/null && break
		sleep 0.1
	done
	grep -q '^counter: 2' vm.out || { echo "$vm: the guest did not start: $(cat vm.err)" >&2; stop_vm; return; }
	rm -f vm.state
	t0=$(now)
	if [[ $vm == kvmini ]]; then
		save='{"execute": "migrate", "arguments": {"uri": "file:'"$WORK"'/vm.state"}}'
		qmp_until "$WORK/q.sock" '{"execute": "stop"}'"$save" 3 >save.out
		t1=$(now)
		grep -q '"error"' save.out && { echo "$vm: $(cat save.out)" >&2; stop_vm; return; }
	else
		save='{"execute": "migrate", "arguments": {"uri": "exec:cat > '"$WORK"'/vm.state"}}'
		qmp_until "$WORK/q.sock" '{"execute": "stop"}'"$save" 3 >save.out
		wait_for "$WORK/q.sock" '"status": "completed"' '{"execute": "query-migrate"}' ||
			{ echo "$vm: the migration did not complete" >&2; stop_vm; return; }
		sync -f vm.state
		t1=$(now)
	fi
	stop_vm
	t2=$(now)
	if [[ $vm == kvmini ]]; then
		run_vm kvmini "$WORK/r.sock" -S -incoming "file:$WORK/vm.state"
	else
		run_vm qemu "$WORK/r.sock" -S -incoming "exec:cat $WORK/vm.state"
	fi
	wait_for "$WORK/r.sock" '"status": "paused"' || { echo "$vm: no restore: $(cat vm.err)" >&2; stop_vm; return; }
	t3=$(now)
	# The restored guest must go on counting.
	qmp "$WORK/r.sock" '{"execute": "cont"}' 0.5 >/dev/null
	sleep 0.5
	stop_vm
	grep -q '^counter: [0-9]' vm.out || { echo "$vm: the restored guest printed nothing" >&2; return; }
	echo "$(ms "$t0" "$t1") $(ms "$t2" "$t3") $(stat -c %s vm.state)"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }

report() {
	local vm=$1 r out=()
	for ((r = 0; r < RUNS; r++)); do
		out+=("$(one "$vm")")
	done
	printf '%s\n' "${out[@]}" | grep -q '[0-9]' || { echo "$vm: no result"; return; }
	printf '%-8s save %5s ms   restore %5s ms   state file %6s MiB\n' "$vm" \
		"$(printf '%s\n' "${out[@]}" | awk 'NF == 3 { print $1 }' | median)" \
		"$(printf '%s\n' "${out[@]}" | awk 'NF == 3 { print $2 }' | median)" \
		"$(printf '%s\n' "${out[@]}" | awk 'NF == 3 { printf "%.1f\n", $3 / 1048576 }' | median)"
}

echo "snapshot save/restore, 256 MiB guest with $FILL MiB filled, median of $RUNS"
report kvmini
if command -v "$QEMU" >/dev/null && [[ -r /dev/kvm ]]; then
	report qemu
else
	echo "qemu: skipped ($QEMU is not installed)"
fi
