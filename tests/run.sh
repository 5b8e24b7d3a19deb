#!/bin/sh
# Run the unit tests (every build/tests/test_* binary, cmocka) and/or the
# integration tests, then print one summary line: "N passed, M failed".
#   tests/run.sh unit | integration | all
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # file -> adds cmocka/integration counts
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p; s/^integration: \([0-9]*\) passed.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p; s/^integration: [0-9]* passed, \([0-9]*\) failed.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
}

if [ "$what" = unit ] || [ "$what" = all ]; then
	echo "== unit tests"
	for t in "${TEST_BUILD:-build}"/tests/test_*; do
		case "$t" in *.d) continue ;; esac
		[ -x "$t" ] || continue
		if ! "$t" >"$log" 2>&1; then
			if ! grep -q '^\[  FAILED  \]' "$log"; then
				# a crash or a sanitizer report at exit: show it
				failed=$((failed + 1))
				echo "$(basename "$t"): exited badly after its" \
				    "tests; the end of its output:"
				tail -n 40 "$log" | sed 's/^/  | /'
			fi
		fi
		grep -E '^\[ *(PASSED|FAILED) *\]|^\[  ERROR   \]|^\[  FAILED  \] test' "$log" |
			sed "s|^|$(basename "$t"): |"
		count "$log"
	done
fi
if [ "$what" = integration ] || [ "$what" = all ]; then
	echo "== integration tests"
	sh tests/integration/run.sh >"$log" 2>&1
	rc=$?
	cat "$log"
	count "$log"
	if [ $rc -ne 0 ] && ! grep -q '^integration: ' "$log"; then
		failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
