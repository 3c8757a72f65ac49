#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Runs kvmini's integration tests: tests/integration/test_*.sh, each of which registers its tests
# with t_run (see lib.sh for the framework and the environment variables it reads).
#
# usage: tests/integration/run.sh [-l] [-k] [PATTERN...]
# Prints PASS/FAIL/SKIP lines, then exactly one summary line
#   integration: N passed, M failed, K skipped
# and exits non-zero if any test failed.

T_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
source "$T_HERE/lib.sh"

t_init "$@"
# A file may use helpers of one sorted before it (test_snapshot_io.sh those of test_snapshot.sh):
# the C locale's order, whatever the user's.
LC_ALL=C
for t_file in "$T_HERE"/test_*.sh; do
	# shellcheck disable=SC1090
	source "$t_file"
done
t_summary
