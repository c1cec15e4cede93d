#!/bin/sh
# xmpp-connect as the owner of a session over STARTTLS (and direct TLS)
# against a private Prosody: the stages hold stunnel's clear side (no
# relay of the clear text), the first to end takes the session down,
# a TERM to the group says goodbye and leaves no process and no
# directory; -w captures through a relay; a handshake never answered
# ends at its deadline.
. "$(dirname "$0")/lib.sh"
plan 23

XC=$TOP/xmpp-connect/xmpp-connect
command -v stunnel >/dev/null || bail "stunnel not installed"
PROSODY_TLS=1
echobot_setup

# owner NAME MODE PORT [xmpp-connect option ...]: as in 0190, over TLS
owner() {
	_o=$1 _m=$2 _p=$3
	shift 3
	spawn env N="$_o" TMPDIR="$T/tmp" sh -c 'exec "$@" 3>"$T/$N.st"' sh \
	    "$XC" -N -t "$_m" -C "$CA_FILE" -d localhost -s 3 "$@" \
	    "127.0.0.1:$_p" -- "$TOP/xmpp-parse/xmpp-parse" \
	    -- "$TOP/xmpp-echo/xmpp-echo" -N -e -p /dev/fd/6 \
	    bot@localhost 2>"$T/$_o.err" 6<"$T/bot.pass"
	XC_PID=$spawned
	wait_file_grep "$T/$_o.err" '^xmpp-echo: online$' 20 ||
	    diag "$_o: not online:" "$(cat "$T/$_o.err")"
	READER=$(pgrep -P "$XC_PID" -x xmpp-parse)
	WRITER=$(pgrep -P "$XC_PID" -x xmpp-echo)
	TUNNEL=$(pgrep -P "$XC_PID" -x stunnel)
}

inode() {
	readlink "/proc/$1/fd/$2" 2>/dev/null | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p'
}

# peer_of INODE: the inode of the other end of unix socket INODE
peer_of() {
	ss -xa | awk -v i="$1" '$6 == i { print $8 }' | head -n 1
}

# nothing_left DESC: no process of the group, no stunnel directory
nothing_left() {
	is "$(pgrep -g "$XC_PID")$(ls "$T/tmp")" "" "$1"
}

ping() { alice_ping "$1" --tls-ca "$CA_FILE" --timeout 30; }

# 1. STARTTLS: echo; the stages on stunnel's socketpair.
owner one starttls "$C2S_PORT"
ping "STARTTLS owner: echo"
check "TLS established before the stages, said once" \
    grep -qc "^xmpp-connect: TLS established with localhost" "$T/one.err"
r0=$(inode "$READER" 0)
is "$(inode "$WRITER" 1)" "$r0" "the writer's stdout is the reader's stdin"
check "a unix socket" sh -c 'ss -xa | awk -v i="$1" '\''$6 == i { f = 1 } END { exit !f }'\' sh "$r0"
peer=$(peer_of "$r0")
tfds=$(for f in /proc/"$TUNNEL"/fd/0 /proc/"$TUNNEL"/fd/1; do
	readlink "$f"; done | sort -u)
is "$tfds" "socket:[$peer]" \
    "its other end is stunnel's stdin and stdout: no clear-text relay"

# The reader killed: the writer's goodbye still goes through stunnel.
n=$(closes)
kill -KILL "$READER"
ended "$XC_PID" 20
is "$?" 0 "reader killed: exit 0" || diag "$(cat "$T/one.err")"
goodbye "reader killed: the writer said goodbye over TLS" "$n"
check "reader killed: the -s line ($(cat "$T/one.st"))" \
    grep -qx 'reader 137 writer [0-9]* first reader' "$T/one.st"
nothing_left "reader killed: no process, no directory left"

# 2. A TERM to the group.
owner two starttls "$C2S_PORT"
ping "STARTTLS owner: echo again"
n=$(closes)
kill -s TERM -- "-$XC_PID"
ended "$XC_PID" 20
is "$?" 0 "TERM to the group: exit 0" || diag "$(cat "$T/two.err")"
goodbye "TERM to the group: goodbye over TLS" "$n"
nothing_left "TERM to the group: no process, no directory left"

# 3. Direct TLS, with a capture (a relay that exists for it).
owner three direct "$DIRECT_PORT" -w "$T/cap"
ping "direct TLS owner with -w: echo"
check "-w: the clear text captured" grep -q "<presence" "$T/cap"
check "-w: no password in the capture" sh -c '! grep -qF "$(cat "$1")" "$2"' \
    sh "$T/bot.pass" "$T/cap"
kill -TERM "$XC_PID"
ended "$XC_PID" 20
is "$?" 0 "-w: exit 0 after a TERM" || diag "$(cat "$T/three.err")"
nothing_left "-w: no process, no directory left"

# 4. The server gone: no TERM for the writer.
owner four starttls "$C2S_PORT"
kill -s KILL -- "-$PROSODY_PID"
wait "$PROSODY_PID" 2>/dev/null
ended "$XC_PID" 20
st=$(cat "$T/four.st")
case $st in
*"writer 143 "*) fail "server gone: the writer got no TERM ($st)" ;;
*) pass "server gone: the writer got no TERM ($st)" ;;
esac
nothing_left "server gone: no process, no directory left"

# 5. A server that takes the connection and never answers the
# ClientHello: no stage starts, the end at the deadline, status 3.
mute_server
spawn env TMPDIR="$T/tmp" "$XC" -t direct -C "$CA_FILE" -d localhost \
    "127.0.0.1:$MUTE_PORT" -- sh -c 'echo started >"$1"' \
    sh "$T/mute.reader" -- cat 2>"$T/mute.err"
XC_PID=$spawned
ended "$XC_PID" 45
is "$?:$(cat "$T/mute.err")" "3:xmpp-connect: TLS: no handshake in 30 s" \
    "a server that never answers the handshake: status 3 at 30 s"
check "no stage started" test ! -e "$T/mute.reader"
nothing_left "no handshake: no process, no directory left"
