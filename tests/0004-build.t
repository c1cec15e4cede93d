#!/bin/sh
# The build against any expat from 2.2 on: with and without
# XML_SetReparseDeferralEnabled (added in 2.6.0, backported by Debian
# under 2.5.0), warning-free, and the parser as eager either way.
. "$(dirname "$0")/lib.sh"

plan 8

# build DIR [VAR=VALUE ...]: a copy of the sources, built in DIR
build() {
	_dir=$1
	shift
	mkdir -p "$_dir" &&
	(cd "$TOP" && tar cf - --exclude='*.o' --exclude=config.h \
	    --exclude=xmpp-connect/xmpp-connect --exclude=xmpp-parse/xmpp-parse \
	    --exclude=xmpp-echo/xmpp-echo --exclude=xmpp-run/xmpp-run \
	    Makefile common xmpp-connect xmpp-parse xmpp-echo xmpp-run) |
	    (cd "$_dir" && tar xf -) &&
	# a plain build, whatever flags an outer make passes down
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$@" make -s -C "$_dir" \
	    CFLAGS="-O2 -Wall -Wextra -Werror" LDFLAGS= all \
	    >"$_dir.log" 2>&1 || { cat "$_dir.log"; return 1; }
}

# eager DIR: xmpp-parse writes a stanza's record before the stream goes on
eager() {
	rm -f "$T/in" "$T/out" && mkfifo "$T/in" &&
	spawn sh -c "exec '$1/xmpp-parse/xmpp-parse' <'$T/in' >'$T/out'"
	exec 3>"$T/in"
	printf '%s' "<stream:stream xmlns='jabber:client'" \
	    " xmlns:stream='http://etherx.jabber.org/streams'>" \
	    "<message to='a@b'><body>hi</body></message>" >&3
	wait_file_grep "$T/out" '^message' 10
	_st=$?
	exec 3>&-
	return $_st
}

lib=$(pkg-config --variable=libdir expat)/libexpat.so
if nm -D "$lib" 2>/dev/null | grep -q ' XML_SetReparseDeferralEnabled$'
then has=yes; else has=no; fi
diag "installed expat: $(pkg-config --modversion expat), the function: $has"

check "build as the probe finds expat, no warning" build "$T/probe"
if [ $has = yes ]; then
	check "config.h: the function found" \
	    grep -q '^#define HAVE_XML_SETREPARSEDEFERRALENABLED 1' \
	    "$T/probe/common/config.h"
else
	check "config.h: no function, nothing called" \
	    grep -q 'no XML_SetReparseDeferralEnabled' "$T/probe/common/config.h"
fi
check "that build: a stanza is a record at once" eager "$T/probe"

check "build as for an expat without the function" \
    build "$T/old" EXPAT_DEFERRAL=no
check "config.h says so" \
    grep -q 'no XML_SetReparseDeferralEnabled' "$T/old/common/config.h"
if nm "$T/old/xmpp-parse/xmpp-parse" "$T/old/xmpp-connect/xmpp-connect" |
    grep -q XML_SetReparseDeferralEnabled; then
	fail "no reference to the function in that build"
else
	pass "no reference to the function in that build"
fi
check "that build: a stanza is a record at once" eager "$T/old"
"$T/old/xmpp-parse/xmpp-parse" "$TOP/tests/parse/prosody.xml" >"$T/old.rec" &&
"$TOP/xmpp-parse/xmpp-parse" "$TOP/tests/parse/prosody.xml" >"$T/main.rec"
check "that build: the same records as the main one" \
    cmp -s "$T/old.rec" "$T/main.rec"
