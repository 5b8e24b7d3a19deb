#!/bin/sh
# Run the libFuzzer targets that make fuzz-build put in build/fuzz/.
#   tests/fuzz/run.sh fuzz SECONDS NAME...   each target for SECONDS, on a
#                                            copy of its corpus
#   tests/fuzz/run.sh regress 0 NAME...      each target once over every
#                                            input of its corpus
# Prints one line per target with libFuzzer's final figures; on a crash,
# leak, timeout or broken invariant, the end of its log and the input it
# saved (path and hex).  Exits 1 when any target failed.
set -u
cd "$(dirname "$0")/../.." || exit 2
mode=$1
secs=$2
shift 2
bin=build/fuzz
work=$bin/work
failed=""
# -fno-sanitize-recover=all already stops at the first UBSan report
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

# last "cov: N" / "ft: N" figure libFuzzer printed
figure() { # key log
	sed -n "s/.* $1 \([0-9]*\).*/\1/p" "$2" | tail -n 1
}

count() { # dir: files in it
	find "$1" -type f | wc -l
}

for t in "$@"; do
	corpus=tests/fuzz/corpus/$t
	dir=$work/$t
	log=$work/$t.log
	rm -rf "$dir" "$log"
	mkdir -p "$dir/corpus"
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
	case $mode in
	fuzz)
		# a copy: new inputs found here must not grow the checked-in
		# corpus (tests/fuzz/make-corpus.py owns it)
		cp "$corpus"/* "$dir/corpus/"
		# shellcheck disable=SC2086
		"$bin/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		    -rss_limit_mb=2048 -print_final_stats=1 $dict \
		    -artifact_prefix="$dir/" "$dir/corpus" >"$log" 2>&1
		rc=$?
		;;
	regress)
		# -runs=0: run every input of the corpus once, then stop
		"$bin/fuzz_$t" -runs=0 -timeout=10 -rss_limit_mb=2048 \
		    -print_final_stats=1 -artifact_prefix="$dir/" \
		    "$corpus" >"$log" 2>&1
		rc=$?
		;;
	*)
		echo "usage: $0 fuzz SECONDS NAME... | regress 0 NAME..." >&2
		exit 2
		;;
	esac
	status=$([ "$rc" -eq 0 ] && echo ok || echo FAIL)
	if [ "$mode" = fuzz ]; then
		printf '%-20s %-4s %ss: %s execs, %s exec/s, cov %s, ft %s, ' \
		    "fuzz_$t" "$status" "$secs" \
		    "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" \
		    "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")" \
		    "$(figure cov: "$log")" "$(figure ft: "$log")"
		echo "corpus $(count "$corpus") -> $(count "$dir/corpus")"
	else
		printf '%-20s %-4s %s inputs, cov %s, ft %s\n' "fuzz_$t" \
		    "$status" "$(count "$corpus")" \
		    "$(figure cov: "$log")" "$(figure ft: "$log")"
	fi
	if [ "$rc" -ne 0 ]; then
		failed="$failed $t"
		echo "---- end of $log"
		tail -n 40 "$log"
		for a in "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* \
		    "$dir"/oom-* "$dir"/slow-unit-*; do
			[ -f "$a" ] || continue
			echo "---- input saved: $a ($(wc -c <"$a") bytes)"
			od -A d -t x1z "$a" | head -n 32
			echo "reproduce: $bin/fuzz_$t $a"
		done
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz $mode: FAILED:$failed"
	exit 1
fi
echo "fuzz $mode: $# targets passed"
