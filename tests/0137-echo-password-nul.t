#!/bin/sh
# xmpp-echo refuses a password file whose first line holds a NUL byte,
# which would cut the password short, and says so.
. "$(dirname "$0")/lib.sh"
plan 7

BOT=$TOP/xmpp-echo/xmpp-echo
[ -x "$BOT" ] || bail "$BOT not built (make xmpp-echo/xmpp-echo)"

S=http://etherx.jabber.org/streams
SA=urn:ietf:params:xml:ns:xmpp-sasl
{
	printf 'stream:stream\txmlns=%s\t@version=1.0\n' $S
	printf 'stream:features\txmlns=%s\t(mechanisms\txmlns=%s\t' $S $SA
	printf '(mechanism\t-PLAIN\t)\t)\n'
} >"$T/in"

# nul NAME: xmpp-echo -p $T/NAME.pw; $T/NAME.rc, .out, .err
nul() {
	chmod 600 "$T/$1.pw"
	env -u XMPP_PASSWORD "$BOT" -P -p "$T/$1.pw" bot@localhost \
	    <"$T/in" >"$T/$1.out" 2>"$T/$1.err"
	echo $? >"$T/$1.rc"
}

printf 'abc\000def\n' >"$T/mid.pw"
nul mid
is "$(cat "$T/mid.rc")" 1 "a NUL inside: exit 1"
is "$(cat "$T/mid.err")" \
    "xmpp-echo: $T/mid.pw: the password holds a NUL byte" \
    "a NUL inside: said so"
check "a NUL inside: nothing sent" test ! -s "$T/mid.out"

printf '\000secret\n' >"$T/lead.pw"
nul lead
is "$(cat "$T/lead.rc")" 1 "a NUL first: exit 1"
is "$(cat "$T/lead.err")" \
    "xmpp-echo: $T/lead.pw: the password holds a NUL byte" \
    "a NUL first: said so, not \"empty password\""

# Only the first line is the password: a NUL further down is not in it.
printf 'abc\n\000\n' >"$T/later.pw"
nul later
is "$(cat "$T/later.rc")" 5 "a NUL after the first line: logged in as usual"
check "a NUL after the first line: the password abc" grep -q \
    "mechanism='PLAIN'>$(printf '\0bot\0abc' | base64)</auth>" "$T/later.out"
