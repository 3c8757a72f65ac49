# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2030,SC2031
#
# Tiny test framework for kvmini's integration tests; sourced by run.sh.
#
# Environment (all optional):
#   KVMINI     the VMM under test                 (default: <repo>/build/kvmini)
#   QEMU       reference VMM for differential runs (default: qemu-system-x86_64; if it is not
#              installed, or /dev/kvm cannot be opened, QEMU tests are skipped)
#   GUESTS     directory with hello.elf, echo.elf, probe.elf (default: <repo>/guests/build)
#   HELPERS    directory with ptyrun and runstat  (default: <repo>/build/tests/helpers)
#   T_TIMEOUT  seconds a single VM run may take    (default: 10)
#
# A test is a shell function registered with t_run; it runs in a subshell with its own scratch
# directory $T_DIR, and ends as
#   PASS   when the function returns (status 0),
#   FAIL   when it calls fail (or an expect_* helper fails, or it returns non-zero),
#   SKIP   when it calls skip.
#
#   t_run NAME FUNC [ARGS...]        run FUNC ARGS as test NAME (unless filtered out)
#   boot VM [-i FILE|-p DATA|-t S] [--] ARGS...
#                                    run a VM (VM is "kvmini" or "qemu") with $VM_ARGS + ARGS,
#                                    stdin from FILE (default /dev/null) or a pipe fed with DATA
#                                    (printf %b escapes); QEMU runs as "-M microvm -accel kvm"
#   boot_pty VM [PTYRUN_OPTS...] -- ARGS...
#                                    the same, on a pty through ptyrun (-w/-i/-d/-D/-k steps)
#   run_kvmini ARGS...               run "$KVMINI ARGS" exactly (no default arguments)
#   run_cmd [-i FILE|-p DATA|-t S] -- CMD...
#                                    run any command with a timeout and capture it
# After a run: $T_STATUS is the exit status (124 = timed out), $T_DIR/stdout (carriage returns
# removed; raw bytes in $T_DIR/stdout.raw) and $T_DIR/stderr hold the output, and
#   expect_status N [N...]           status is one of the N
#   expect_stdout_contains TEXT      fixed string somewhere in stdout
#   expect_stdout_not_contains TEXT
#   expect_stdout_line TEXT          a whole line of stdout equals TEXT
#   expect_stdout_match ERE          some line of stdout matches ERE
#   expect_stderr_contains TEXT / expect_stderr_match ERE
#   expect_stderr_line ERE           stderr is exactly one line, and it matches ERE
#   expect_stdout_empty
#   expect_file_contains FILE TEXT
#   save_run NAME                    keep this run's results as $T_DIR/NAME.{stdout,stderr,status}
#   expect_same_run A B [FILTER_ERE] two saved runs have the same status and the same stdout
#                                    (only the lines matching FILTER_ERE if given, or only the
#                                    lines not matching it if it is written as !ERE)
#   diff_boot FILTER_ERE [boot options] [--] ARGS...
#   diff_boot_pty FILTER_ERE [ptyrun options] -- ARGS...
#                                    boot kvmini and QEMU the same way and expect_same_run
#   fail REASON / skip REASON / note TEXT
#   need_guest NAME / need_helper NAME / need_qemu / need_kvmini

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KVMINI=${KVMINI:-$T_ROOT/build/kvmini}
QEMU=${QEMU:-qemu-system-x86_64}
GUESTS=${GUESTS:-$T_ROOT/guests/build}
HELPERS=${HELPERS:-$T_ROOT/build/tests/helpers}
T_TIMEOUT=${T_TIMEOUT:-10}

# Arguments every VM run gets, for kvmini as for QEMU: kvmini accepts QEMU's spelling.
# shellcheck disable=SC2054 # the commas belong to the -device argument
VM_ARGS=(-nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)
QEMU_MACHINE=(-M microvm -accel kvm)

T_PASSED=0
T_FAILED=0
T_SKIPPED=0
T_FAILED_NAMES=()
T_FILTERS=()
T_LIST=0
T_WORK=

t_usage() {
	cat <<EOF
usage: $0 [-l] [-k] [PATTERN...]
  Runs kvmini's integration tests (all of them, or those whose name matches a glob PATTERN).
  -l  list the test names only
  -k  keep the scratch directory (printed at the end)
environment: KVMINI=$KVMINI
             QEMU=$QEMU  GUESTS=$GUESTS
             HELPERS=$HELPERS  T_TIMEOUT=$T_TIMEOUT
EOF
}

t_abspath() {
	if [[ $1 == /* ]]; then
		echo "$1"
	else
		echo "$PWD/$1"
	fi
}

t_init() {
	local keep=0

	while [[ $# -gt 0 ]]; do
		case $1 in
		-l) T_LIST=1 ;;
		-k) keep=1 ;;
		-h | --help) t_usage; exit 0 ;;
		-*) t_usage >&2; exit 2 ;;
		*) T_FILTERS+=("$1") ;;
		esac
		shift
	done
	# Tests run in their own directories: relative paths would not work there.
	KVMINI=$(t_abspath "$KVMINI")
	GUESTS=$(t_abspath "$GUESTS")
	HELPERS=$(t_abspath "$HELPERS")
	[[ $QEMU == */* ]] && QEMU=$(t_abspath "$QEMU")
	T_WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-it.XXXXXX") || exit 2
	if ((keep)); then
		trap 'echo "# scratch files kept in $T_WORK"' EXIT
	else
		trap 'rm -rf "$T_WORK"' EXIT
	fi
	if ((!T_LIST)); then
		echo "# KVMINI=$KVMINI"
		echo "# QEMU=$QEMU GUESTS=$GUESTS HELPERS=$HELPERS"
	fi
}

t_selected() {
	local pat

	((${#T_FILTERS[@]} == 0)) && return 0
	for pat in "${T_FILTERS[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $pat ]] && return 0
	done
	return 1
}

# t_run NAME FUNC [ARGS...]
t_run() {
	local name=$1 rc
	shift

	t_selected "$name" || return 0
	if ((T_LIST)); then
		echo "$name"
		return 0
	fi
	T_DIR=$T_WORK/$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_')
	mkdir -p "$T_DIR"
	(
		T_NAME=$name
		T_STATUS=
		cd "$T_DIR" || exit 1
		"$@"
	)
	rc=$?
	case $rc in
	0)
		echo "PASS $name"
		((T_PASSED++))
		;;
	77)
		((T_SKIPPED++))
		;;
	*)
		# fail has printed the reason; anything else is a broken test function.
		[[ -e $T_DIR/.failed ]] || echo "FAIL $name: test function exited with status $rc"
		((T_FAILED++))
		T_FAILED_NAMES+=("$name")
		;;
	esac
	return 0
}

t_summary() {
	((T_LIST)) && exit 0
	if ((T_FAILED)); then
		echo "# failed: ${T_FAILED_NAMES[*]}"
	fi
	echo "integration: $T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
	((T_FAILED == 0))
	exit
}

# ---- outcomes (call inside a test function) ----

# Quote captured output: control characters made visible, every line (even an unterminated last
# one) prefixed.
t_indent() {
	cat -v | awk '{ print "    | " $0 }'
}

t_dump() {
	local f

	[[ -n ${T_CMD:-} ]] || return 0
	echo "    command: $T_CMD"
	echo "    status:  $T_STATUS$( ((T_STATUS == 124)) && echo " (timed out)")"
	for f in stdout stderr; do
		if [[ -s $T_DIR/$f ]]; then
			echo "    $f:"
			head -n 40 "$T_DIR/$f" | t_indent
			(($(wc -l <"$T_DIR/$f") > 40)) && echo "    | ..."
		else
			echo "    $f: (empty)"
		fi
	done
}

fail() {
	echo "FAIL $T_NAME: $*"
	t_dump
	: >"$T_DIR/.failed"
	exit 1
}

skip() {
	echo "SKIP $T_NAME: $*"
	exit 77
}

note() {
	echo "     $T_NAME: $*"
}

# ---- requirements ----

need_kvmini() {
	[[ -x $KVMINI ]] || fail "kvmini not built: $KVMINI"
}

need_qemu() {
	command -v "$QEMU" >/dev/null 2>&1 || skip "QEMU not available ($QEMU not found)"
	[[ -r /dev/kvm && -w /dev/kvm ]] || skip "QEMU needs /dev/kvm, which cannot be opened"
}

need_guest() {
	[[ -r $GUESTS/$1.elf ]] || fail "guest not built: $GUESTS/$1.elf"
}

need_helper() {
	[[ -x $HELPERS/$1 ]] || fail "helper not built: $HELPERS/$1"
}

# ---- running things ----

# vm_cmd VM: sets the array VM_CMD to the command line prefix for VM.
vm_cmd() {
	case $1 in
	kvmini)
		need_kvmini
		VM_CMD=("$KVMINI" "${VM_ARGS[@]}")
		;;
	qemu)
		need_qemu
		VM_CMD=("$QEMU" "${QEMU_MACHINE[@]}" "${VM_ARGS[@]}")
		;;
	*)
		fail "test bug: unknown VM '$1'"
		;;
	esac
}

# run_cmd [-i FILE | -p DATA] [-t SECONDS] [--] CMD...
run_cmd() {
	local input=/dev/null data='' use_pipe=0 tmo=$T_TIMEOUT

	while [[ $# -gt 0 ]]; do
		case $1 in
		-i) input=$2; shift 2 ;;
		-p) data=$2; use_pipe=1; shift 2 ;;
		-t) tmo=$2; shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	T_CMD=$(printf '%q ' "$@")
	((use_pipe)) && T_CMD="printf '%b' $(printf '%q' "$data") | $T_CMD"
	if ((use_pipe)); then
		printf '%b' "$data" |
			timeout -k 2 "$tmo" "$@" >"$T_DIR/stdout.raw" 2>"$T_DIR/stderr"
		T_STATUS=${PIPESTATUS[1]}
	else
		timeout -k 2 "$tmo" "$@" <"$input" >"$T_DIR/stdout.raw" 2>"$T_DIR/stderr"
		T_STATUS=$?
	fi
	tr -d '\r' <"$T_DIR/stdout.raw" >"$T_DIR/stdout"
	return 0
}

run_kvmini() {
	need_kvmini
	run_cmd -- "$KVMINI" "$@"
}

# boot VM [-i FILE | -p DATA] [-t SECONDS] [--] ARGS...
boot() {
	local vm=$1 opts=()
	shift

	while [[ $# -gt 0 ]]; do
		case $1 in
		-i | -p | -t) opts+=("$1" "$2"); shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	vm_cmd "$vm"
	run_cmd "${opts[@]}" -- "${VM_CMD[@]}" "$@"
}

# boot_pty VM [PTYRUN_OPTIONS...] -- ARGS...
# Everything the VM writes to the pty (its stdout and stderr) lands in $T_DIR/stdout; $T_DIR/stderr
# holds ptyrun's own messages ("terminal left in raw mode", timeout). $T_STATUS is ptyrun's status:
# the VM's, or 123 (a -w text never appeared), 124 (timeout), 125 (terminal not restored).
boot_pty() {
	local vm=$1 popts=()
	shift

	while [[ $# -gt 0 && $1 != -- ]]; do
		popts+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	need_helper ptyrun
	vm_cmd "$vm"
	run_cmd -t $((T_TIMEOUT + 5)) -- "$HELPERS/ptyrun" -t "$T_TIMEOUT" "${popts[@]}" -- \
		"${VM_CMD[@]}" "$@"
}

save_run() {
	cp "$T_DIR/stdout" "$T_DIR/$1.stdout"
	cp "$T_DIR/stderr" "$T_DIR/$1.stderr"
	echo "$T_STATUS" >"$T_DIR/$1.status"
}

# ---- expectations ----

t_status_text() {
	case $1 in
	123) echo "$1 (ptyrun: the VM exited before the expected output appeared)" ;;
	124) echo "$1 (timed out after ${T_TIMEOUT}s)" ;;
	125) echo "$1 (ptyrun: terminal settings not restored)" ;;
	*) echo "$1" ;;
	esac
}

expect_status() {
	local want

	for want in "$@"; do
		[[ $T_STATUS == "$want" ]] && return 0
	done
	fail "exit status $(t_status_text "$T_STATUS"), expected ${*// / or }"
}

expect_stdout_contains() {
	grep -qF -- "$1" "$T_DIR/stdout" || fail "stdout does not contain '$1'"
}

expect_stdout_not_contains() {
	! grep -qF -- "$1" "$T_DIR/stdout" || fail "stdout contains '$1'"
}

expect_stdout_line() {
	grep -qxF -- "$1" "$T_DIR/stdout" || fail "stdout has no line '$1'"
}

expect_stdout_match() {
	grep -qE -- "$1" "$T_DIR/stdout" || fail "no line of stdout matches /$1/"
}

expect_stdout_empty() {
	[[ ! -s $T_DIR/stdout ]] || fail "stdout is not empty"
}

expect_stderr_contains() {
	grep -qF -- "$1" "$T_DIR/stderr" || fail "stderr does not contain '$1'"
}

expect_stderr_match() {
	grep -qE -- "$1" "$T_DIR/stderr" || fail "no line of stderr matches /$1/"
}

# expect_stderr_line ERE: exactly one line (newline-terminated), matching ERE.
expect_stderr_line() {
	local lines

	lines=$(awk 'END { print NR }' "$T_DIR/stderr")
	[[ -s $T_DIR/stderr ]] || fail "stderr is empty, expected one line matching /$1/"
	[[ $lines == 1 ]] || fail "stderr has $lines lines, expected exactly one matching /$1/"
	[[ $(tail -c 1 "$T_DIR/stderr" | od -An -c | tr -d ' ') == '\n' ]] ||
		fail "stderr line does not end with a newline"
	grep -qE -- "$1" "$T_DIR/stderr" || fail "stderr line does not match /$1/"
}

expect_file_contains() {
	[[ -e $1 ]] || fail "$1 does not exist"
	grep -qF -- "$2" "$1" || fail "$1 does not contain '$2' (it has: $(head -c 300 "$1" | cat -v))"
}

# expect_same_run A B [FILTER_ERE]
expect_same_run() {
	local a=$1 b=$2 filter=${3:-} sa sb

	sa=$(<"$T_DIR/$a.status")
	sb=$(<"$T_DIR/$b.status")
	if [[ $filter == '!'* ]]; then
		grep -vE -- "${filter#!}" "$T_DIR/$a.stdout" >"$T_DIR/$a.cmp"
		grep -vE -- "${filter#!}" "$T_DIR/$b.stdout" >"$T_DIR/$b.cmp"
	elif [[ -n $filter ]]; then
		grep -E -- "$filter" "$T_DIR/$a.stdout" >"$T_DIR/$a.cmp"
		grep -E -- "$filter" "$T_DIR/$b.stdout" >"$T_DIR/$b.cmp"
	else
		cp "$T_DIR/$a.stdout" "$T_DIR/$a.cmp"
		cp "$T_DIR/$b.stdout" "$T_DIR/$b.cmp"
	fi
	if [[ $sa != "$sb" ]]; then
		T_CMD=
		fail "exit status differs: $a $(t_status_text "$sa"), $b $(t_status_text "$sb")" \
			"$(t_diff_runs "$a" "$b")"
	fi
	if ! cmp -s "$T_DIR/$a.cmp" "$T_DIR/$b.cmp"; then
		T_CMD=
		fail "stdout differs${filter:+ (lines matching /$filter/)}:" \
			$'\n'"$(diff -u --label "$a" --label "$b" "$T_DIR/$a.cmp" "$T_DIR/$b.cmp" |
				cat -v | sed 's/^/    | /')" "$(t_diff_runs "$a" "$b")"
	fi
}

t_diff_runs() {
	local r

	for r in "$@"; do
		printf '\n    %s stdout:\n' "$r"
		head -n 20 "$T_DIR/$r.stdout" | t_indent
		printf '    %s stderr:\n' "$r"
		head -n 20 "$T_DIR/$r.stderr" | t_indent
	done
}

# Differential run: the same arguments under kvmini and under QEMU must give the same status
# and stdout (restricted to FILTER_ERE lines if non-empty).
# diff_boot FILTER_ERE [boot options] [--] ARGS...
diff_boot() {
	local filter=$1
	shift

	need_qemu
	boot kvmini "$@"
	save_run kvmini
	boot qemu "$@"
	save_run qemu
	expect_same_run kvmini qemu "$filter"
}

# On a pty the VMs' stderr is mixed into stdout: their own messages are left out of the comparison
# (QEMU warns about CPUID features, prints "QEMU: Terminated", ...) unless FILTER_ERE is given.
T_VMM_MESSAGE='!^(QEMU|qemu-system-[a-z0-9_]+|kvmini): '

# diff_boot_pty FILTER_ERE [ptyrun options] -- ARGS...
diff_boot_pty() {
	local filter=${1:-$T_VMM_MESSAGE}
	shift

	need_qemu
	boot_pty kvmini "$@"
	save_run kvmini
	boot_pty qemu "$@"
	save_run qemu
	expect_same_run kvmini qemu "$filter"
}
