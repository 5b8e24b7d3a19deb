#!/bin/sh
# threadrelay-as-3proxy.sh CONFIG: start threadrelay from the 3proxy
# configuration ../shared/bench/run.sh writes, so that harness can run it
# in its 3proxy slot:
#
#   THREEPROXY_BIN=$PWD/tests/bench/threadrelay-as-3proxy.sh \
#       ../shared/bench/run.sh --systems direct,3proxy,sluice \
#       --scenarios s5_bulk_down_1,s5_bulk_down_8,hc_bulk_down_1
#
# Its "3proxy" column is then threadrelay (tests/bench/threadrelay.c, built
# the way 3proxy is), not 3proxy.  The CONNECT port takes only CONNECT:
# leave http_ka and http_new out.  THREADRELAY: the binary (default
# build/threadrelay, which make bench builds).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${THREADRELAY:-$here/../../build/threadrelay}
[ $# -eq 1 ] && [ -r "$1" ] || { echo "usage: $0 3PROXY-CONFIG" >&2; exit 2; }
set -- $(awk '
	$1 == "users" { split($2, u, ":"); printf "-u %s:%s ", u[1], u[3] }
	$1 == "socks" || $1 == "proxy" {
		for (i = 2; i <= NF; i++)
			if ($i ~ /^-p[0-9]+$/)
				printf "%s %s ", ($1 == "socks" ? "-s" : "-c"),
				    substr($i, 3)
	}' "$1")
exec "$bin" "$@"
