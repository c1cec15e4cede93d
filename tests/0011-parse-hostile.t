#!/bin/sh
# xmpp-parse: hostile server input (RFC 6120 section 11) ends the run with
# a #error record, a message naming the offset and exit 2 (3: truncated)
. "${TOP:=$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
P=${XMPP_PARSE:-$TOP/xmpp-parse/xmpp-parse}

H="<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
h=${#H}
SUCCESS="<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
s=${#SUCCESS}
MIB=1048576

# input FMT [ARG...]: the input of the next case, written with printf
input() {
	_f=$1
	shift
	printf "$_f" "$@" >"$T/in"
}

# hostile DESC STATUS OFFSET MESSAGE [OPTION...]: runs the parser on $T/in
hostile() {
	_d=$1 _st=$2 _off=$3 _msg=$4
	shift 4
	"$P" "$@" <"$T/in" >"$T/out" 2>"$T/err"
	is "$?" "$_st" "$_d: exit $_st"
	is "$(tail -n 1 "$T/out")" "$(printf '#error\t@offset=%s\t-%s' \
	    "$_off" "$_msg")" "$_d: #error record"
	is "$(cat "$T/err")" "xmpp-parse: offset $_off: $_msg" \
	    "$_d: the message names the offset"
}

# peak_rss: kilobytes, or nothing without GNU time (or under a sanitizer)
peak_rss() {
	[ -x /usr/bin/time ] && [ -z "${XMPP_PARSE:-}" ] || return 0
	/usr/bin/time -f %M -o "$T/rss" "$P" <"$T/in" >/dev/null 2>&1
	tail -n 1 "$T/rss"
}

plan 93

input "<?xml version='1.0'?><!DOCTYPE lolz [
<!ENTITY lol 'lol'>
<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>
<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>
<!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>
<!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>
<!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>
<!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>
<!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>
<!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>
]>%s<message><body>&lol9;</body></message>" "$H"
# expat reports the DOCTYPE at its internal subset or its end
hostile "billion laughs" 2 $((21 + 15)) "DOCTYPE forbidden"

input "<!DOCTYPE stream:stream [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>%s<message><body>&xxe;</body></message>" "$H"
hostile "external entity" 2 24 "DOCTYPE forbidden"

input "<!DOCTYPE stream:stream SYSTEM 'http://127.0.0.1:9/x.dtd'>%s" "$H"
hostile "DOCTYPE alone" 2 57 "DOCTYPE forbidden"

input "%s<message><!-- hi --></message>" "$H"
hostile "comment in a stanza" 2 $((h + 9)) "comment forbidden"

input "<!-- hi -->%s" "$H"
hostile "comment before the header" 2 0 "comment forbidden"

input "%s<?php system('id') ?>" "$H"
hostile "processing instruction" 2 "$h" "processing instruction forbidden"

input "%s<message><body>&xxe;</body></message>" "$H"
hostile "undefined entity" 2 $((h + 15)) "undefined entity"

input "<?xml version='1.0' encoding='ISO-8859-1'?>%s" "$H"
hostile "encoding other than UTF-8" 2 0 "encoding is not UTF-8"

# A stanza past the limit is skipped (tests/0013-parse-skip.t); any other
# top-level element past it ends the stream.
{
	printf '%s<stream:features><a>' "$H"
	head -c $((10 * MIB)) /dev/zero | tr '\0' a
	printf '</a></stream:features>'
} >"$T/in"
hostile "10 MiB of text" 2 "$h" "element larger than $MIB bytes"
rss=$(peak_rss)
if [ -n "$rss" ]; then
	check "10 MiB of text: peak RSS ${rss} KiB < 32 MiB" [ "$rss" -lt 32768 ]
else
	skip "10 MiB of text: peak RSS" "no GNU time, or a sanitizer build"
fi

{
	printf "%s<stream:features to='" "$H"
	head -c $((10 * MIB)) /dev/zero | tr '\0' a
	printf "'/>"
} >"$T/in"
hostile "a 10 MiB attribute (one token)" 2 "$h" \
    "element larger than $MIB bytes"
rss=$(peak_rss)
if [ -n "$rss" ]; then
	check "10 MiB attribute: peak RSS ${rss} KiB < 32 MiB" \
	    [ "$rss" -lt 32768 ]
else
	skip "10 MiB attribute: peak RSS" "no GNU time, or a sanitizer build"
fi

# The limit is exact: an element of n bytes passes -s n, fails -s n-1.
stanza="<stream:features><a>0123456789</a></stream:features>"
input "%s%s</stream:stream>" "$H" "$stanza"
"$P" -s ${#stanza} <"$T/in" >/dev/null 2>&1
is "$?" 0 "-s: an element of exactly the limit passes"
hostile "-s: one byte over the limit" 2 "$h" \
    "element larger than $((${#stanza} - 1)) bytes" -s $((${#stanza} - 1))

{
	printf '%s<message>' "$H"
	i=0
	while [ $i -lt 10000 ]; do
		printf '<a>'
		i=$((i + 1))
	done
} >"$T/in"
hostile "10,000 nested elements" 2 $((h + 9 + 63 * 3)) \
    "elements nested deeper than 64"

input "%s<message><a><b><c/></b></a></message>" "$H"
hostile "-n 3" 2 $((h + 15)) "elements nested deeper than 3" -n 3

input "%s<message><body>\377</body></message>" "$H"
hostile "invalid UTF-8" 2 $((h + 15)) "not well-formed (invalid token)"

input "%s<message><body>\300\274</body></message>" "$H"
hostile "overlong UTF-8" 2 $((h + 15)) "not well-formed (invalid token)"

input "%s<message><body>\355\240\200</body></message>" "$H"
hostile "UTF-8 surrogate" 2 $((h + 15)) "not well-formed (invalid token)"

input "%s<message>\000</message>" "$H"
hostile "NUL byte" 2 $((h + 9)) "not well-formed (invalid token)"

input "%s<message><body>&#0;</body></message>" "$H"
hostile "NUL character reference" 2 $((h + 15)) \
    "reference to invalid character number"

input "%s<message><body>hi" "$H"
hostile "truncated in a stanza" 3 $((h + 17)) "stream truncated"

input "%s%s" "$H" "$SUCCESS"
hostile "truncated after <success/>" 3 $((h + s)) "stream truncated"

input "%s" "$H"
hostile "truncated after the header" 3 "$h" "stream truncated"

input 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'
hostile "garbage" 2 4 "not well-formed (invalid token)"

input "<html><body>"
hostile "not a stream" 2 0 "not an XMPP stream header"

input "%s<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>" "$H"
hostile "a stream inside the stream" 2 "$h" "stream header inside the stream"

input "%s hello <message/>" "$H"
hostile "text between stanzas" 2 $((h + 1)) "text between top-level elements"

input "%s</stream:stream>\n \nx" "$H"
hostile "data after the stream end" 2 $((h + 19)) "data after the stream end"

input "%s<message></iq>" "$H"
hostile "mismatched tag" 2 $((h + 11)) "mismatched tag"

# Offsets count from the start of the input, across restarts.
input "%s%s<?xml version='1.0'?><!DOCTYPE x>" "$H" "$SUCCESS"
hostile "DOCTYPE after a restart" 2 $((h + s + 21 + 11)) "DOCTYPE forbidden"

input "%s%s%s<message></iq>" "$H" "$SUCCESS" "$H"
hostile "malformed after a restart" 2 $((h + s + h + 11)) "mismatched tag"

# (not on a sanitizer build given in XMPP_PARSE: the two do not mix;
# -X: valgrind cannot run under the seccomp filter)
if command -v valgrind >/dev/null 2>&1 && [ -z "${XMPP_PARSE:-}" ]; then
	for f in prosody ns; do
		valgrind -q --error-exitcode=99 --leak-check=full "$P" -X \
		    <"$TOP/tests/parse/$f.xml" >/dev/null 2>"$T/vg"
		is "$?" 0 "valgrind: $f.xml, no error"
	done
	{
		printf '%s<stream:features>' "$H"
		head -c $((2 * MIB)) /dev/zero | tr '\0' a
	} >"$T/in"
	valgrind -q --error-exitcode=99 --leak-check=full "$P" -X \
	    <"$T/in" >/dev/null 2>"$T/vg"
	is "$?" 2 "valgrind: an oversized element, no error"
	grep -q . "$T/vg" && diag "$(cat "$T/vg")"
else
	skip "valgrind: prosody.xml" "no valgrind, or a sanitizer build"
	skip "valgrind: ns.xml" "no valgrind, or a sanitizer build"
	skip "valgrind: an oversized element" "no valgrind, or a sanitizer build"
fi
