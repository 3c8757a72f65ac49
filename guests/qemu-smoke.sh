#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Boot every test guest under QEMU (the reference for what the guests should
# do under kvmini) and check output and exit status.
#
#   guests/qemu-smoke.sh            # from the repo root, after make guests
#   ACCELS=tcg guests/qemu-smoke.sh # TCG only (default: tcg, and kvm if usable)
#
# Ends with "N passed, N failed"; exits non-zero if anything failed.
set -u

QEMU=${QEMU:-qemu-system-x86_64}
B=${GUESTS_BUILD:-guests/build}
if [ -z "${ACCELS:-}" ]; then
	ACCELS=tcg
	[ -r /dev/kvm ] && [ -w /dev/kvm ] && ACCELS="tcg kvm"
fi
pass=0
fail=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# run NAME ACCEL TIMEOUT INPUT-COMMAND QEMU-ARGS...: output in $out/$err, status in $rc
run() {
	local name=$1 accel=$2 tmo=$3 input=$4
	shift 4
	local t0=$(date +%s%N)
	bash -c "$input" | timeout "$tmo" "$QEMU" -M microvm -accel "$accel" -nographic \
		-no-reboot -m 256M -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" \
		>"$out" 2>"$err"
	rc=${PIPESTATUS[1]}
	ms=$((($(date +%s%N) - t0) / 1000000))
	label="$name [$accel, ${ms} ms]"
}

ok() {
	echo "ok   $label"
	pass=$((pass + 1))
}

bad() {
	echo "FAIL $label: $1"
	sed 's/^/     out: /' "$out" | head -20
	grep -v 'host doesn.t support requested feature' "$err" | sed 's/^/     err: /' | head -10
	fail=$((fail + 1))
}

# expect_rc RC [GREP-PATTERN...]
expect() {
	local want=$1 p
	shift
	[ "$rc" = "$want" ] || { bad "exit status $rc, expected $want"; return; }
	for p in "$@"; do
		grep -qa -- "$p" "$out" || { bad "no line matching '$p'"; return; }
	done
	ok
}

expect_exact() {
	[ "$rc" = 0 ] || { bad "exit status $rc, expected 0"; return; }
	printf "$1" | cmp -s - "$out" || { bad "output differs from '$1'"; return; }
	ok
}

for a in $ACCELS; do
	run hello "$a" 20 true -kernel "$B/hello.elf"
	expect_exact 'Hello from kvmini guest\n'

	run "echo (piped)" "$a" 20 "printf 'abc\\rquit\\r'" -kernel "$B/echo.elf"
	expect_exact 'echo: ready\nabc\r\nquit\r\necho: bye\n'

	run "echo (typed: IRQ path)" "$a" 20 \
		"sleep 0.3; printf 'ab\\r\\n'; for c in q u i t; do sleep 0.1; printf \$c; done; printf '\\n'" \
		-kernel "$B/echo.elf"
	expect_exact 'echo: ready\nab\r\nquit\r\necho: bye\n'

	run "probe" "$a" 20 true -kernel "$B/probe.elf" -append "x=1 y"
	expect 0 '^probe: cmdline=x=1 y$' '^probe: e820 0x100000 0xff00000 1$' \
		'^probe: ram=261759K$' '^probe: user=500000500000$' '^probe: action=exit:0$'

	run "probe exit:5" "$a" 20 true -kernel "$B/probe.elf" -append "action=exit:5"
	expect 11 '^probe: action=exit:5$'

	run "probe ud2" "$a" 20 true -kernel "$B/probe.elf" -append "action=ud2"
	expect 7 '^guest: unexpected trap: vector 6 (#UD)'

	run "probe triple" "$a" 20 true -kernel "$B/probe.elf" -append "action=triple"
	expect 0 '^probe: action=triple$'

	run "probe reset (i8042)" "$a" 20 true -device i8042 -kernel "$B/probe.elf" \
		-append "action=reset"
	expect 0 '^probe: action=reset$'

	run "probe reset (no i8042)" "$a" 20 true -kernel "$B/probe.elf" -append "action=reset"
	expect 9 '^probe: still running after the i8042 reset$'

	if [ "$a" = kvm ]; then
		# KVM cannot fetch from MMIO: QEMU reports it and pauses the VM.
		run "probe mmio-exec" "$a" 5 true -kernel "$B/probe.elf" -append "action=mmio-exec"
		if [ "$rc" = 124 ] && grep -q 'emulation failure' "$err"; then
			ok
		else
			bad "expected an emulation failure (and QEMU left paused)"
		fi
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
