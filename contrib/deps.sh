#!/bin/sh
# Install the Debian packages sluice needs, quietly when all are present.
#   contrib/deps.sh build   to build ./sluice
#   contrib/deps.sh test    to build and run every test
#   contrib/deps.sh valgrind  the same, and valgrind
# Needs root (apt-get) only when something is missing.
set -eu

BUILD="gcc make pkg-config libc6-dev libevent-dev libc-ares-dev libconfig-dev libcrypt-dev"
# make asan and make fuzz: clang, libclang-rt-14-dev (libFuzzer and the
# sanitizer runtimes), llvm (llvm-symbolizer, for readable stacks)
TEST="$BUILD libcmocka-dev python3 python3-socks curl wget ncat proxychains4 chromium procps iproute2 systemd mandoc logrotate clang libclang-rt-14-dev llvm"

case "${1:-build}" in
build) want=$BUILD ;;
test) want=$TEST ;;
valgrind) want="$TEST valgrind" ;;
*) echo "usage: $0 build|test|valgrind" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "need root to run: apt-get install$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi
