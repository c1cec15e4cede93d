#!/bin/sh
# config.sh CC [CFLAGS] - probe the system, write config.h on stdout
#
# Expat 2.6.0 added reparse deferral, on by default, and the function to
# turn it off; older ones (Debian 12 before its security updates, which
# backport both under the version 2.5.0, Ubuntu 22.04's 2.4.7) have
# neither, so nothing is to be turned off there.  The version macros
# cannot tell a backport, so the probe links a call.
# EXPAT_DEFERRAL=no in the environment writes the header for an expat
# without it, whatever is installed (tests/0002-build.t builds that way).

cc=${1:-cc}
cflags=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/echobot-config.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/probe.c" <<'END'
#include <expat.h>
int
main(void)
{
	XML_Parser p = XML_ParserCreate(NULL);
	return XML_SetReparseDeferralEnabled(p, XML_FALSE) != XML_TRUE;
}
END

echo "/* config.h - written by common/config.sh; make clean removes it */"
if [ "${EXPAT_DEFERRAL:-}" != no ] &&
    $cc $cflags $(pkg-config --cflags expat) -o "$tmp/probe" "$tmp/probe.c" \
    $(pkg-config --libs expat) >/dev/null 2>&1; then
	echo "#define HAVE_XML_SETREPARSEDEFERRALENABLED 1"
else
	echo "/* no XML_SetReparseDeferralEnabled: expat before 2.6.0 */"
fi
