#!/bin/sh
# Integration tests: real clients against a real sluice on loopback.
# Uses Debian's python3 (for python3-socks), whatever python3 is first on PATH.
set -eu
cd "$(dirname "$0")"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
rc=0
for t in test_*.py; do
	"$PY" -W ignore::DeprecationWarning "$t" || rc=1
done
exit $rc
