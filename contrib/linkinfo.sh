#!/bin/sh
# contrib/linkinfo.sh ARCHIVE...
# Prints the C table pkg_linked[] (proxy/pkgcheck.h): for each static
# archive the static build links, the Debian source package and version it
# came from, the architecture of its package and its file name.  The
# running binary compares them with what dpkg has installed and warns when
# the system's libraries moved on (proxy/pkgcheck.c).  An archive dpkg does
# not know (built by hand, no dpkg) is left out: nothing to compare.
set -eu

seen=""
echo "/* made by contrib/linkinfo.sh when the static build is linked */"
echo "#include <stddef.h>"
echo
echo "#include \"pkgcheck.h\""
echo
echo "const struct pkg_linked pkg_linked[] = {"
if command -v dpkg-query >/dev/null 2>&1; then
	for a in "$@"; do
		p=$(realpath "$a" 2>/dev/null) || continue
		# "libc-ares-dev:amd64: /usr/lib/x86_64-linux-gnu/libcares.a"
		pkg=$(dpkg -S "$p" 2>/dev/null |
		    sed -n 's|^\([^ :]*\(:[a-z0-9]*\)\{0,1\}\): /.*|\1|p' |
		    head -n 1) || true
		[ -n "$pkg" ] || continue
		# shellcheck disable=SC2046
		set -- $(dpkg-query -W -f='${source:Package} ${source:Version} ${Architecture}\n' \
		    "$pkg" 2>/dev/null | head -n 1)
		[ $# -eq 3 ] || continue
		# Debian names and versions: nothing to escape in C
		case "$1$2$3" in
		*[!A-Za-z0-9.+~:-]*) continue ;;
		esac
		# a source once, by its first archive (libc.a, not libpthread.a)
		case " $seen " in
		*" $1 "*) continue ;;
		esac
		seen="$seen $1"
		printf '\t{ "%s", "%s", "%s", "%s" },\n' \
		    "$1" "$2" "$3" "$(basename "$p")"
	done
fi
printf '\t{ NULL, NULL, NULL, NULL }\n'
echo "};"
