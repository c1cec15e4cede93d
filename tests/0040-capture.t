#!/bin/sh
# xmpp-connect -w: a capture of a real session replays through xmpp-parse
# to the records of the live run, holds no secret, is mode 0600; SASL
# payloads are redacted however the reads cut the tags.
. "$(dirname "$0")/lib.sh"
plan 51

XC=${XC:-$TOP/xmpp-connect/xmpp-connect}
XP=${XMPP_PARSE:-$TOP/xmpp-parse/xmpp-parse}
XE=$TOP/xmpp-echo/xmpp-echo
trap '' PIPE

# capcheck.py CAPTURE PASSWORD: the capture is well-formed, both ways
# hold a stream, no secret is in it and every SASL payload is '='.
cat >"$T/capcheck.py" <<'EOF'
import base64, re, sys
data = open(sys.argv[1], 'rb').read()
pw = sys.argv[2].encode()
assert data.startswith(b'xmpp-capture 1\n'), 'magic'
pos, ways = 15, {}
while pos < len(data):
    nl = data.index(b'\n', pos)
    t, d, n = data[pos:nl].split(b' ')
    assert re.fullmatch(rb'\d+\.\d{6}', t), t
    n = int(n)
    ways[d] = ways.get(d, b'') + data[nl + 1:nl + 1 + n]
    assert data[nl + 1 + n:nl + 2 + n] == b'\n', 'newline after a chunk'
    pos = nl + 2 + n
assert b'<' in ways and b'>' in ways, 'both directions'
for s in (pw, b'\0bot\0' + pw, b'bot@localhost\0bot\0' + pw,
          b'\0bot@localhost\0' + pw):
    for shift in range(3):
        for v in (base64.b64encode(b'\0' * shift + s)[4:-4] if shift
                  else base64.b64encode(s), pw):
            assert v not in data, 'secret in the capture'
payloads = 0
for d in (b'<', b'>'):
    for m in re.finditer(rb'<(?:\w+:)?(auth|response|challenge|success)'
                         rb'\b[^>]*?(/?)>(?:([^<]*)<)?', ways[d]):
        if m.group(2) != b'/':
            payloads += 1
            assert re.fullmatch(rb'=*', m.group(3)), m.group(0)
assert payloads > 0, 'no SASL element seen'
EOF

# redacted FILE: records with the text of SASL payloads as '=', as the
# capture has them
redacted() {
	awk -F '\t' 'BEGIN { OFS = "\t" }
	$1 == "auth" || $1 == "response" || $1 == "challenge" ||
	$1 == "success" {
		for (i = 2; i <= NF; i++)
			if ($i ~ /^-/) {
				t = substr($i, 2)
				gsub(/./, "=", t)
				$i = "-" t
			}
	}
	{ print }' "$1"
}

# session NAME ARGS...: the bot pipeline by hand, xmpp-connect -w
# $T/NAME.cap ARGS, xmpp-echo $ECHO_ARGS, records in $T/NAME.live;
# alice ($PEER_ARGS) gets an echo, then SIGTERM makes xmpp-echo close
# its stream, the server closes its own and every stage ends.
session() {
	_s=$1
	shift
	mkfifo "$T/$_s.fifo"
	spawn env N="$_s" ECHO_ARGS="$ECHO_ARGS" sh -c '
	    { "$XC" -w "$T/$N.cap" "$@"; echo $? >"$T/$N.xc"; } <"$T/$N.fifo" |
	    { "$XP"; echo $? >"$T/$N.xp"; } | tee "$T/$N.live" |
	    { sh -c "echo \$\$ >\"\$T/\$N.pid\"; exec \"\$@\"" sh \
	    "$XE" $ECHO_ARGS -p "$T/bot.pass" bot@localhost;
	    echo $? >"$T/$N.xe"; } >"$T/$N.fifo"' sh "$@" 2>"$T/$_s.err"
	_pid=$spawned
	alice $PEER_ARGS --send "$T/ping" --expect 1 --timeout 30 >"$T/$_s.got"
	is "$?:$(jfield body "$T/$_s.got")" '0:"captured"' \
	    "$_s: the echo came back"
	kill -TERM "$(cat "$T/$_s.pid")"
	ended "$_pid" 20 >/dev/null
	is "$(cat "$T/$_s.xc" "$T/$_s.xp" "$T/$_s.xe" 2>&1 | tr '\n' ' ')" \
	    "0 0 0 " "$_s: xmpp-connect, xmpp-parse, xmpp-echo exit 0"
	grep -v '^xmpp-echo: echoed' "$T/$_s.err" | grep -q . &&
	    diag "$(cat "$T/$_s.err")"
}

# replay NAME: the checks of one captured session
replay() {
	_c=$T/$1.cap
	is "$(stat -c %a "$_c")" 600 "$1: the capture is mode 0600"
	is "$(head -n 1 "$_c")" "xmpp-capture 1" "$1: the first line names the format"
	check "$1: well-formed, no password, no SASL payload" \
	    $PY "$T/capcheck.py" "$_c" "$BOT_PW"
	"$XP" "$_c" >"$T/$1.replay" 2>"$T/$1.rerr"
	is "$?" 0 "$1: the replay exits 0"
	redacted "$T/$1.live" >"$T/$1.want"
	if cmp -s "$T/$1.want" "$T/$1.replay"; then
		pass "$1: the replay gives the records of the live run"
	else
		fail "$1: the replay gives the records of the live run"
		diag "$(diff "$T/$1.want" "$T/$1.replay" | head -n 20)"
	fi
	check "$1: the live run saw the echoed message" \
	    grep -q "^message	.*-captured" "$T/$1.live"
	"$XP" -o "$_c" >"$T/$1.client" 2>"$T/$1.cerr"
	is "$?:$(cat "$T/$1.cerr")" 0: "$1: the client side replays (-o)"
	is "$(grep -c '^stream:stream	' "$T/$1.client")" 2 \
	    "$1: the client side has its two streams"
	check "$1: the client side has the echo" \
	    grep -q "^message	.*@to=alice@localhost.*-captured" "$T/$1.client"
	"$XP" -c "$_c" >"$T/$1.check" 2>&1
	is "$?:$(cat "$T/$1.check")" 0: "$1: -c: exit 0, no output"
}

echo '"captured"' >"$T/ping"
export XC XP XE T

# Plain TCP with PLAIN: no payload from the server, the records must be
# exactly those of the live run.
echobot_setup
ECHO_ARGS="-P -m PLAIN" PEER_ARGS=--no-tls
session plain -t plain -d localhost "127.0.0.1:$C2S_PORT"
replay plain
check "plain: the client's <auth/> is redacted in the replay" \
    grep -q "^auth	.*@mechanism=PLAIN	-==*\$" "$T/plain.client"
is "$(redacted "$T/plain.live")" "$(cat "$T/plain.live")" \
    "plain: PLAIN left nothing to redact from the server"

# STARTTLS with SCRAM: the clear text after TLS, the preamble marked.
prosody_stop
rm -rf "$PDIR"
PROSODY_TLS=1
echobot_setup
ECHO_ARGS= PEER_ARGS="--tls-ca $CA_FILE"
session tls -C "$CA_FILE" -d localhost "127.0.0.1:$C2S_PORT"
replay tls
check "tls: the preamble is there, marked p< and p>" \
    grep -q "^[0-9.]* p> [0-9]*\$" "$T/tls.cap"
check "tls: the stream after TLS is clear text" \
    grep -q "<mechanism>SCRAM-SHA-1</mechanism>" "$T/tls.cap"
check "tls: the SCRAM challenge was redacted" \
    grep -q "^challenge	.*	-==*\$" "$T/tls.replay"

# (-X: valgrind cannot run under the seccomp filter)
if command -v valgrind >/dev/null 2>&1 && [ -z "${XMPP_PARSE:-}" ]; then
	for side in "" -o; do
		valgrind -q --error-exitcode=99 --leak-check=full "$XP" -X \
		    $side "$T/tls.cap" >/dev/null 2>"$T/vg"
		is "$?" 0 "valgrind: tls.cap replayed ${side:-(server side)}, no error"
		grep -q . "$T/vg" && diag "$(cat "$T/vg")"
	done
else
	skip "valgrind: tls.cap replayed" "no valgrind, or a sanitizer build"
	skip "valgrind: tls.cap replayed -o" "no valgrind, or a sanitizer build"
fi

# Redaction whatever the reads: a server that sends one byte per write,
# tags with '>' in attribute values, prefixes, CDATA, children.
cat >"$T/srv.py" <<'EOF'
import os, socket, sys, time
d = sys.argv[1]
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(1)
open(d + '/port.tmp', 'w').write('%d\n' % s.getsockname()[1])
os.rename(d + '/port.tmp', d + '/port')
c, _ = s.accept()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
blob = open(d + '/blob', 'rb').read()
for i in range(len(blob)):
    c.sendall(blob[i:i + 1])
    time.sleep(0.0005)
while c.recv(65536):
    pass
c.close()
EOF
H="<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
SASL="xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"
printf '%s' "$H<challenge $SASL x='a>b' y=\"'\">SECRET1</challenge><success $SASL><![CDATA[SECRET2]]></success>$H<message><response>visible</response></message><s:challenge xmlns:s='urn:ietf:params:xml:ns:xmpp-sasl'>SECRET3<x a='SECRET4'/>&amp;SECRET5</s:challenge></stream:stream>" >"$T/blob"
rm -f "$T/port"
spawn $PY "$T/srv.py" "$T"
srv=$spawned
wait_file_grep "$T/port" '[0-9]' 10 || bail "srv.py did not start"
printf '%s' "$H<auth $SASL mechanism='PLAIN'>SECRET6</auth><response $SASL/><response $SASL>SECRET7</response></stream:stream>" |
    $PY -c 'import os, sys, time
for b in sys.stdin.buffer.read():
    os.write(1, bytes([b]))
    time.sleep(0.0005)' |
    (umask 0; "$XC" -t plain -w "$T/split.cap" "127.0.0.1:$(cat "$T/port")" \
    >/dev/null 2>"$T/split.err")
is "$?" 0 "split: exit 0"
ended "$srv" 10 >/dev/null
is "$(grep -c SECRET "$T/split.cap")" 0 "split: no secret in the capture"
is "$(stat -c %a "$T/split.cap")" 600 "split: mode 0600 even with umask 0"
check "split: many chunks" [ "$(grep -c '^[0-9.]* < 1$' "$T/split.cap")" -gt 100 ]
"$XP" "$T/split.cap" >"$T/split.rec"
is "$?" 0 "split: the server side replays"
is "$(cut -f 1 "$T/split.rec" | tr '\n' ' ')" \
    "stream:stream challenge success stream:stream message challenge /stream:stream " \
    "split: every element is still there"
check "split: a child named like a payload, in a stanza, is kept" \
    grep -q "(response	-visible	)" "$T/split.rec"
check "split: '>' in an attribute value does not end the tag" \
    grep -q "^challenge	.*@x=a>b	@y='	-=======\$" "$T/split.rec"
"$XP" -o "$T/split.cap" >"$T/split.client"
is "$?:$(cut -f 1 "$T/split.client" | tr '\n' ' ')" \
    "0:stream:stream auth response response /stream:stream " \
    "split: the client side replays"

# A client that restarts with an XML declaration, as many do.
{
	printf 'xmpp-capture 1\n'
	for c in "<?xml version='1.0'?>$H" "<auth $SASL>====</auth> " \
	    "<?xml version='1.0'?>$H<iq type='set' id='1'/>" "</stream:stream>"; do
		printf '1.000000 > %d\n%s\n' ${#c} "$c"
	done
} >"$T/decl.cap"
"$XP" -o "$T/decl.cap" >"$T/decl.rec"
is "$?:$(cut -f 1 "$T/decl.rec" | tr '\n' ' ')" \
    "0:stream:stream auth stream:stream iq /stream:stream " \
    "-o: a client's new stream with an XML declaration"

# The capture file itself: never through a symbolic link; an older file
# is truncated and narrowed to 0600; a bad path fails before connecting.
ln -s "$T/target" "$T/link"
"$XC" -t plain -w "$T/link" 127.0.0.1:9 </dev/null >/dev/null 2>"$T/err"
is "$?:$(ls "$T/target" 2>/dev/null)" 1: "-w: a symbolic link is refused, exit 1"
check "-w: says why" grep -q "link: Too many levels of symbolic links" "$T/err"
printf 'old old old\n' >"$T/old"
chmod 644 "$T/old"
port=$(free_port)
"$XC" -t plain -w "$T/old" "127.0.0.1:$port" </dev/null >/dev/null 2>&1
is "$?:$(stat -c %a "$T/old"):$(cat "$T/old")" "2:600:xmpp-capture 1" \
    "-w: an older file is truncated, made 0600"
"$XC" -t plain -w "$T/nodir/cap" "127.0.0.1:$port" </dev/null >/dev/null \
    2>"$T/err"
is "$?" 1 "-w: a file that cannot be made is exit 1"
if [ -w /dev/full ]; then
	"$XC" -t plain -w /dev/full "127.0.0.1:$port" </dev/null >/dev/null \
	    2>"$T/err"
	is "$?:$(cat "$T/err")" \
	    "1:xmpp-connect: capture /dev/full: No space left on device" \
	    "-w: a capture that cannot be written is exit 1, named"
else
	skip "-w: a capture that cannot be written is exit 1" "no /dev/full"
fi

# Truncated or broken captures.
head -c $(($(wc -c <"$T/tls.cap") / 2)) "$T/tls.cap" >"$T/cut.cap"
"$XP" "$T/cut.cap" >/dev/null 2>&1
is "$?" 3 "a capture cut in the middle is a truncated stream"
printf "xmpp-capture 1\n1.000000 < 99\n$H" >"$T/bad.cap"
"$XP" "$T/bad.cap" >/dev/null 2>&1
is "$?" 3 "a chunk cut short is the end of the input"
printf 'xmpp-capture 1\n1.000000 < x\n' >"$T/bad.cap"
"$XP" "$T/bad.cap" >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" \
    "1:xmpp-parse: $T/bad.cap: capture offset 27: bad chunk length" \
    "a bad chunk header: exit 1, named"
printf 'xmpp-capture 2\n' >"$T/bad.cap"
"$XP" "$T/bad.cap" >/dev/null 2>&1
is "$?" 1 "an unknown capture version: exit 1"
"$XP" -o <"$TOP/tests/parse/prosody.xml" >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" \
    "1:xmpp-parse: stdin: capture offset 0: not a capture (-o)" \
    "-o on a raw stream: exit 1"
