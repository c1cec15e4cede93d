#!/bin/sh
# xmpp-connect through stunnel against a private Prosody that requires
# TLS: STARTTLS and direct TLS, certificate checks, no leftovers.
. "$(dirname "$0")/lib.sh"
plan 40

XC=${XC:-$TOP/xmpp-connect/xmpp-connect}
HDR="<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='DOMAIN' version='1.0'>"

command -v stunnel >/dev/null || bail "stunnel not installed"
PROSODY_TLS=1
prosody_config
# A second host whose certificate names someone else, and a stranger's
# self-signed certificate.
# (Not in $PDIR/certs: Prosody would pick them up from there.)
cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
	    -addext "subjectAltName=DNS:$1" -keyout "$3/$2.key" \
	    -out "$3/$2.crt" 2>/dev/null || bail "openssl req failed"
}
mkdir "$PDIR/extra"
cert wrong.example wrong "$PDIR/extra"
cert localhost stranger "$T"
cat >>"$PCONF" <<EOF
VirtualHost "other.test"
	ssl = { certificate = "$PDIR/extra/wrong.crt"; key = "$PDIR/extra/wrong.key" }
EOF
prosody_start || bail "prosody did not start"
mkdir "$T/tmp"

# spawn_in FIFO CMD...: spawn CMD reading FIFO, which the caller holds
# open on fd 3; CMD does not get fd 3, so closing it is CMD's EOF.
spawn_in() {
	spawn sh -c 'exec "$@" <"$0" 3>&-' "$@"
}

# await FILE PATTERN: until FILE matches or xmpp-connect ($_pid) ended
await() {
	_i=100
	while alive "$_pid" && [ $_i -gt 0 ] && ! grep -q "$2" "$1"; do
		sleep 0.1
		_i=$((_i - 1))
	done
}

# session NAME DOMAIN ARGS...: xmpp-connect ARGS with a stream header to
# DOMAIN on stdin; once the server's features or error arrived (or
# xmpp-connect ended), $SEND if set (and its answer awaited), then
# </stream:stream>.  Output in $T/NAME.out, $T/NAME.err, status in rc.
session() {
	_n=$1 _d=$2
	shift 2
	mkfifo "$T/$_n.in"
	exec 3<>"$T/$_n.in"
	spawn_in "$T/$_n.in" env TMPDIR="$T/tmp" "$XC" "$@" >"$T/$_n.out" \
	    2>"$T/$_n.err"
	_pid=$spawned
	printf '%s' "$HDR" | sed "s/DOMAIN/$_d/" >&3
	await "$T/$_n.out" '</stream:features>\|</stream:error>'
	if [ -n "${SEND:-}" ]; then
		printf '%s' "$SEND" >&3
		await "$T/$_n.out" '</failure>\|</stream:error>'
	fi
	printf '</stream:stream>' >&3
	exec 3>&-
	wait_gone "$_pid" 20 || { diag "$_n: timed out"; stop "$_pid"; }
	wait "$_pid"
	rc=$?
}

# leftovers NAME: stunnel gone, temp dir removed
leftovers() {
	_left=$(pgrep -f "$T/tmp/xmpp-connect")
	if [ -n "$_left" ]; then
		fail "$1: no stunnel left"
		kill $_left
	elif [ -n "$(ls -A "$T/tmp")" ]; then
		fail "$1: temp dir removed"
		diag "$(ls -A "$T/tmp")"
		rm -rf "$T/tmp"/*
	else
		pass "$1: no stunnel, no temp dir left"
	fi
}

# tls_stream NAME: a TLS stream came out, with SCRAM and without STARTTLS
tls_stream() {
	_o=$(cat "$T/$1.out")
	case $_o in
	"<?xml version='1.0'?><stream:stream "*"from='localhost'"*) pass "$1: the server's stream header" ;;
	*) fail "$1: the server's stream header"; diag "$_o" "$(cat "$T/$1.err")" ;;
	esac
	case $_o in
	*starttls*) fail "$1: features after TLS (SCRAM, no STARTTLS)" ;;
	*'<mechanism>SCRAM-SHA-1</mechanism>'*)
		pass "$1: features after TLS (SCRAM, no STARTTLS)" ;;
	*) fail "$1: features after TLS (SCRAM, no STARTTLS)" ;;
	esac
	is "$(printf %s "$_o" | grep -o '<stream:stream ' | wc -l)" 1 \
	    "$1: one stream header (no clear-text preamble on stdout)"
}

# dir.py CAPTURE DIR: the bytes of the DIR chunks of a capture, end to end
cat >"$T/dir.py" <<'EOF'
import sys
data, want, out, pos = open(sys.argv[1], 'rb').read(), sys.argv[2].encode(), b'', 15
while pos < len(data):
    nl = data.index(b'\n', pos)
    _, d, n = data[pos:nl].split(b' ')
    if d == want:
        out += data[nl + 1:nl + 1 + int(n)]
    pos = nl + 2 + int(n)
sys.stdout.buffer.write(out)
EOF

# captured NAME: the capture of session NAME holds what went through
# stdin and stdout, exactly
captured() {
	$PY "$T/dir.py" "$T/$1.cap" '<' >"$T/$1.from"
	check "$1 -w: the < chunks are standard output" \
	    cmp -s "$T/$1.from" "$T/$1.out"
	printf '%s</stream:stream>' "$HDR" | sed "s/DOMAIN/localhost/" \
	    >"$T/$1.sent"
	$PY "$T/dir.py" "$T/$1.cap" '>' >"$T/$1.to"
	check "$1 -w: the > chunks are standard input" \
	    cmp -s "$T/$1.to" "$T/$1.sent"
}

session starttls localhost -t starttls -C "$CA_FILE" -d localhost \
    -w "$T/starttls.cap" \
    "127.0.0.1:$C2S_PORT"
is "$rc:$(cat "$T/starttls.err")" 0: "starttls: exit 0, quiet"
tls_stream starttls
leftovers starttls
captured starttls
$PY "$T/dir.py" "$T/starttls.cap" 'p<' >"$T/pre.from"
$PY "$T/dir.py" "$T/starttls.cap" 'p>' >"$T/pre.to"
check "starttls -w: the preamble from the server ends with <proceed/>" \
    grep -q "<proceed [^>]*/>\$" "$T/pre.from"
is "$(cat "$T/pre.to")" "$(printf '%s' "$HDR" | sed s/DOMAIN/localhost/)<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" \
    "starttls -w: the preamble to the server"

session direct localhost -t direct -C "$CA_FILE" -d localhost \
    -w "$T/direct.cap" \
    "127.0.0.1:$DIRECT_PORT"
is "$rc:$(cat "$T/direct.err")" 0: "direct: exit 0, quiet"
tls_stream direct
leftovers direct
captured direct
is "$($PY "$T/dir.py" "$T/direct.cap" 'p<' | wc -c)" 0 "direct -w: no preamble"

session untrusted localhost -d localhost "127.0.0.1:$C2S_PORT"
is "$rc" 4 "not in the system store: exit 4"
is "$(cat "$T/untrusted.err")" \
    "xmpp-connect: TLS: server certificate rejected: self-signed certificate" \
    "not in the system store: one clear line"
is "$(wc -c <"$T/untrusted.out")" 0 "not in the system store: nothing on stdout"
leftovers untrusted

session stranger localhost -t direct -C "$T/stranger.crt" \
    -d localhost "127.0.0.1:$DIRECT_PORT"
is "$rc" 4 "-C another self-signed certificate: exit 4"
leftovers stranger

session wrongname other.test -C "$PDIR/extra/wrong.crt" -d other.test \
    "127.0.0.1:$C2S_PORT"
is "$rc" 4 "certificate for another name: exit 4"
is "$(cat "$T/wrongname.err")" \
    "xmpp-connect: TLS: server certificate rejected: not valid for other.test" \
    "certificate for another name: one clear line"
leftovers wrongname

session insecure localhost -I -d localhost "127.0.0.1:$C2S_PORT"
is "$rc" 0 "-I: connects"
check "-I: warns" grep -q "warning: -I: the server certificate is NOT verified" \
    "$T/insecure.err"
check "-I: a TLS stream" grep -q '<mechanism>SCRAM-SHA-1</mechanism>' \
    "$T/insecure.out"
leftovers insecure

# Plain mode relays what the server says about it.
session plain localhost -t plain "127.0.0.1:$C2S_PORT"
check "plain: the server insists on TLS" \
    grep -q "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>" \
    "$T/plain.out"
SEND="<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>" \
    session auth localhost -t plain "127.0.0.1:$C2S_PORT"
SEND=
is "$rc" 0 "plain: exit 0 when the server closes"
check "plain: its refusal of SASL arrives (encryption-required)" \
    grep -q "encryption-required\|policy-violation" "$T/auth.out"

# No stunnel: status 5 and a clear line.
PATH=/nonexistent TMPDIR="$T/tmp" "$XC" -t direct -C "$CA_FILE" \
    -d localhost "127.0.0.1:$DIRECT_PORT" </dev/null >/dev/null 2>"$T/nost.err"
is "$?" 5 "stunnel missing: exit 5"
check "stunnel missing: says so" grep -q "stunnel not found" "$T/nost.err"
leftovers "stunnel missing"

# SIGTERM while connected: stunnel and the temp dir go too.
mkfifo "$T/term.in"
exec 3<>"$T/term.in"
spawn_in "$T/term.in" env TMPDIR="$T/tmp" "$XC" -C "$CA_FILE" -d localhost \
    "127.0.0.1:$C2S_PORT" >"$T/term.out" 2>"$T/term.err"
xc=$spawned
printf '%s' "$HDR" | sed "s/DOMAIN/localhost/" >&3
wait_file_grep "$T/term.out" '</stream:features>' 10
kill -TERM "$xc"
wait_gone "$xc" 10
exec 3>&-
leftovers "SIGTERM"

# The full round trip: echobot.sh over STARTTLS and direct TLS.
if [ -x "$TOP/echobot.sh" ] && [ -x "$TOP/xmpp-parse/xmpp-parse" ] &&
    [ -x "$TOP/xmpp-echo/xmpp-echo" ]; then
	echobot_accounts
	echo '"over TLS"' >"$T/ping"
	for m in starttls direct; do
		p=$C2S_PORT
		[ $m = direct ] && p=$DIRECT_PORT
		bot_start -t $m -C "$CA_FILE" -s "127.0.0.1:$p" -p "$T/bot.pass"
		alice --tls-ca "$CA_FILE" --send "$T/ping" --expect 1 \
		    --timeout 30 >"$T/got"
		is "$?:$(jfield body "$T/got")" '0:"over TLS"' \
		    "echobot.sh -t $m: the echo came back"
		stop "$BOT_PID"
	done
	leftovers "echobot.sh"
else
	skip "echobot.sh -t starttls: the echo came back" "stages not built"
	skip "echobot.sh -t direct: the echo came back" "stages not built"
	skip "echobot.sh: no stunnel, no temp dir left" "stages not built"
fi
