#!/bin/sh
# xmpp-parse FILE...: several inputs, as cat(1) takes them, each a stream
# of its own, their records in order; the exit status is the first that
# is not 0.  xmpp-capture(5)'s example, xmpp-parse caps/capture-*.xml,
# with the two captures of a session that reconnected once.
. "${TOP:=$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
P=${XMPP_PARSE:-$TOP/xmpp-parse/xmpp-parse}
F=$TOP/tests/parse

H="<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"

# capture FILE < STREAM: STREAM as an xmpp-capture(5) file of server
# chunks of 100 bytes, with a client chunk between them
capture() {
	$PY -c 'import sys
data = sys.stdin.buffer.read()
out = [b"xmpp-capture 1\n"]
for i in range(0, len(data), 100):
    c = data[i:i + 100]
    out.append(b"1764547200.%06d < %d\n" % (i, len(c)) + c + b"\n")
    out.append(b"1764547200.%06d > 3\n<x>\n" % i)
sys.stdout.buffer.write(b"".join(out))' >"$1"
}

plan 21

mkdir -p "$T/caps"
capture "$T/caps/capture-1.xml" <"$F/prosody.xml"
capture "$T/caps/capture-2.xml" <"$F/ns.xml"
"$P" "$T/caps/capture-1.xml" >"$T/one" 2>&1
"$P" "$T/caps/capture-2.xml" >>"$T/one" 2>&1
"$P" "$T/caps"/capture-*.xml >"$T/two" 2>&1
is "$?" 0 "xmpp-parse caps/capture-*.xml: exit 0"
check "the records of each capture, in order" cmp -s "$T/one" "$T/two"
is "$(grep -c '^stream:stream' "$T/two")" 3 \
    "three stream headers: one file restarts after <success/>"
"$P" -c "$T/caps"/capture-*.xml >"$T/out" 2>&1
is "$?:$(cat "$T/out")" 0: "-c: both complete, nothing said"

# Each file is a stream from its first byte: offsets restart at 0.
printf '%s<message>' "$H" >"$T/cut.xml"
"$P" "$F/prosody.xml" "$T/cut.xml" >"$T/out" 2>"$T/err"
is "$?" 3 "a truncated second file: exit 3"
is "$(tail -n 1 "$T/out")" "$(printf '#error\t@offset=%s\t-stream truncated' \
    "$(wc -c <"$T/cut.xml")")" "its #error offset counts from its own start"
is "$(cat "$T/err")" \
    "xmpp-parse: $T/cut.xml: offset $(wc -c <"$T/cut.xml"): stream truncated" \
    "with several files, the message names the file"

# After a file gives up, the next is read all the same: the first
# status that is not 0 is the exit status.
printf '%s<message><!-- c --></message>' "$H" >"$T/bad.xml"
"$P" "$T/bad.xml" "$T/cut.xml" "$F/ns.xml" >"$T/out" 2>"$T/err"
is "$?" 2 "malformed, then truncated, then fine: exit 2, the first"
is "$(cut -f 1 "$T/out" | tr '\n' ' ')" \
    "stream:stream #error stream:stream #error $(cut -f 1 "$F/ns.rec" |
    tr '\n' ' ')" "every file's records, in order"
is "$(wc -l <"$T/err")" 2 "one message for each file that gave up"
"$P" "$T/cut.xml" "$T/bad.xml" >/dev/null 2>&1
is "$?" 3 "truncated, then malformed: exit 3"

# A file that cannot be opened is named, the others read (as cat(1)).
"$P" "$T/nosuch" "$F/ns.xml" >"$T/out" 2>"$T/err"
is "$?" 1 "a missing file: exit 1"
check "the next file read all the same" cmp -s "$F/ns.rec" "$T/out"
is "$(cat "$T/err")" "xmpp-parse: $T/nosuch: No such file or directory" \
    "the missing file named"

# "-" is standard input among the files.
"$P" "$F/ns.xml" - "$F/ns.xml" <"$F/prosody.xml" >"$T/out" 2>&1
is "$?" 0 "-: standard input between two files"
cat "$F/ns.rec" "$F/prosody.rec" "$F/ns.rec" >"$T/want"
check "its records in their place" cmp -s "$T/want" "$T/out"

# A stanza skipped at the end of a file is not carried into the next.
{
	printf "%s<iq type='get' id='1' pad='" "$H"
	head -c 400 /dev/zero | tr '\0' x
} >"$T/skipcut.xml"
"$P" -s 300 "$T/skipcut.xml" "$F/ns.xml" >"$T/out" 2>/dev/null
is "$?" 3 "truncated inside a skipped stanza: exit 3"
is "$(sed -n 3,\$p "$T/out")" "$(cat "$F/ns.rec")" \
    "the next file parsed afresh"

# A file that begins as a capture and breaks the format ends the run.
printf 'xmpp-capture 1\nnonsense\n' >"$T/broken.cap"
"$P" "$T/broken.cap" "$F/ns.xml" >"$T/out" 2>"$T/err"
is "$?" 1 "a broken capture: exit 1"
is "$(wc -c <"$T/out")" 0 "nothing read after it"

# -o: the client's side of each capture.
"$P" -o "$T/caps"/capture-*.xml >"$T/out" 2>/dev/null
is "$?:$(grep -c '^#error' "$T/out")" 2:2 \
    "-o: the client side of each on its own (<x> is no stream), exit 2"
