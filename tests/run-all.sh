#!/usr/bin/env bash
# Run kvmini's quick test suite and print one summary line:
#   check: N passed, M failed, K skipped
# Usage: tests/run-all.sh [unit|integration|format]...  (default: all of them)
set -uo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export KVMINI=${KVMINI:-$BUILD/kvmini}
export HELPERS=${HELPERS:-$BUILD/tests/helpers}
export GUESTS=${GUESTS:-guests/build}

passed=0 failed=0 skipped=0
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(format unit integration)

run_unit() {
	local bin out status ok bad
	for bin in "$BUILD"/tests/unit/test_*; do
		[ -x "$bin" ] || continue
		out=$("$bin" 2>&1)
		status=$?
		ok=$(grep -c '^\[       OK \]' <<<"$out")
		bad=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test\(s\), listed below.*/\1/p' <<<"$out")
		bad=${bad:-0}
		if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
			bad=1 # crashed before cmocka could report
		fi
		passed=$((passed + ok))
		failed=$((failed + bad))
		if [ "$status" -ne 0 ]; then
			printf '%s\n' "$out"
			echo "FAIL unit $(basename "$bin") (status $status)"
		else
			echo "PASS unit $(basename "$bin") ($ok tests)"
		fi
	done
}

run_integration() {
	local out line
	out=$(mktemp)
	tests/integration/run.sh 2>&1 | tee "$out"
	line=$(grep -E '^integration: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "FAIL integration: the runner printed no summary"
		failed=$((failed + 1))
		return
	fi
	read -r p f s <<<"$(sed -E 's/^integration: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/' <<<"$line")"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + ${s:-0}))
}

run_format() {
	if ! command -v clang-format >/dev/null; then
		echo "SKIP format: clang-format is not installed (make deps)"
		skipped=$((skipped + 1))
	elif make -s format-check >/dev/null 2>&1; then
		echo "PASS format (clang-format)"
		passed=$((passed + 1))
	else
		make -s format-check 2>&1 | head -20
		echo "FAIL format: run 'make format'"
		failed=$((failed + 1))
	fi
}

for s in "${suites[@]}"; do
	case "$s" in
	unit) run_unit ;;
	integration) run_integration ;;
	format) run_format ;;
	*) echo "unknown suite: $s" >&2; exit 2 ;;
	esac
done

echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
