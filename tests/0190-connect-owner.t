#!/bin/sh
# xmpp-connect as the owner of a session, in clear text, against a
# private Prosody: xmpp-connect ... -- xmpp-parse -- xmpp-echo.  The
# stages hold the TCP socket itself (no relay); the first to end takes
# the session down (the writer TERMed for its goodbye, but not when
# the server is gone); the -s line; a TERM to the group; -w; a failed
# connection starts nothing; USR1 reaches the writer.
. "$(dirname "$0")/lib.sh"
plan 37

XC=$TOP/xmpp-connect/xmpp-connect
echobot_setup

# owner NAME [xmpp-connect option ...]: the bot's session, owned by
# xmpp-connect (its pid in XC_PID), status line in $T/NAME.st, stderr in
# $T/NAME.err, the password on fd 6 for the writer as the launcher
# passes it; returns once xmpp-echo is online.
owner() {
	_o=$1
	shift
	spawn env N="$_o" sh -c 'exec "$@" 3>"$T/$N.st"' sh "$XC" \
	    -N -t plain -d localhost -s 3 "$@" "127.0.0.1:$C2S_PORT" \
	    -- "$TOP/xmpp-parse/xmpp-parse" \
	    -- "$TOP/xmpp-echo/xmpp-echo" -N -P -p /dev/fd/6 \
	    bot@localhost 2>"$T/$_o.err" 6<"$T/bot.pass"
	XC_PID=$spawned
	wait_file_grep "$T/$_o.err" '^xmpp-echo: online$' 20 ||
	    diag "$_o: not online:" "$(cat "$T/$_o.err")"
	READER=$(pgrep -P "$XC_PID" -x xmpp-parse)
	WRITER=$(pgrep -P "$XC_PID" -x xmpp-echo)
}

# inode PID FD: the inode of PID's FD if it is a socket or a pipe
inode() {
	readlink "/proc/$1/fd/$2" 2>/dev/null | sed -n 's/^[a-z]*:\[\([0-9]*\)\]$/\1/p'
}

# tcp_to_server INODE: INODE is a TCP socket connected to Prosody
tcp_to_server() {
	_port=$(printf '%04X' "$C2S_PORT")
	awk -v i="$1" -v p=":$_port" '$10 == i && substr($3, length($3) - 4) == p { f = 1 }
	    END { exit !f }' /proc/net/tcp
}

# Old form, untouched: no stages, no -s.
"$XC" -s 3 "127.0.0.1:$C2S_PORT" 3>/dev/null 2>"$T/usage.err"
is "$?" 1 "-s without stages: usage error"

# 1. An echo round trip; the stages on the socket itself.
owner one
alice_ping "owner mode: echo in clear text" --no-tls
check "the reader and the writer are xmpp-connect's children" \
    test -n "$READER" -a -n "$WRITER"
sock=$(readlink "/proc/$READER/fd/0")
is "$(readlink "/proc/$WRITER/fd/1")" "$sock" \
    "the writer's stdout is the reader's stdin"
check "that is the TCP socket to the server: no relay" \
    tcp_to_server "$(inode "$READER" 0)"
case $(readlink "/proc/$READER/fd/1") in
pipe:*) pass "reader's stdout: a pipe" ;;
*) fail "reader's stdout: a pipe" ;;
esac
is "$(inode "$WRITER" 0)" "$(inode "$READER" 1)" \
    "the pipe goes from the reader to the writer"
is "$(ls "/proc/$READER/fd" | sort -n | tr '\n' ' ')" "0 1 2 " \
    "the reader has nothing beyond fd 2"
check "the writer has not the -s fd" test ! -e "/proc/$WRITER/fd/3"
check "the writer has the inherited fd 6 (its password)" \
    test -e "/proc/$WRITER/fd/6"
is "$(ps -o pgid= -p "$WRITER" | tr -d ' ')" "$XC_PID" \
    "the stages are in xmpp-connect's process group"
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$READER/status")
is "$(( 0x$ign & 0x4203 ))" "$(( 0x4203 ))" \
    "the reader ignores HUP, INT, TERM and USR1"

# USR1 to xmpp-connect: the writer's counters.
kill -USR1 "$XC_PID"
check "USR1: xmpp-echo prints its counters" \
    wait_file_grep "$T/one.err" "xmpp-echo: echoed 1," 10
check "USR1: the session goes on" alive "$XC_PID"

# 2. The reader ends first: TERM to the writer, whose goodbye arrives.
n=$(closes)
kill -KILL "$READER"
ended "$XC_PID" 20
is "$?" 0 "reader killed: xmpp-connect exits 0"
goodbye "reader killed: the writer said goodbye" "$n"
check "reader killed: the -s line ($(cat "$T/one.st"))" \
    grep -qx 'reader 137 writer [0-9]* first reader' "$T/one.st"
is "$(pgrep -g "$XC_PID")" "" "reader killed: no process left"

# 3. The server gone: no TERM to the writer, which meets end of file.
owner two
n=$(closes)
kill -s KILL -- "-$PROSODY_PID"
wait "$PROSODY_PID" 2>/dev/null
ended "$XC_PID" 20
is "$?" 0 "server gone: xmpp-connect exits 0 (the server closed)"
st=$(cat "$T/two.st")
case $st in
"reader "[0-9]*" writer "[0-9]*" first connection") pass "server gone: the connection ended first ($st)" ;;
*) fail "server gone: the connection ended first ($st)" ;;
esac
case $st in
*"writer 143 "*) fail "server gone: the writer got no TERM ($st)" ;;
*) pass "server gone: the writer got no TERM ($st)" ;;
esac
is "$(pgrep -g "$XC_PID")" "" "server gone: no process left"
prosody_start || bail "prosody did not start again"

# 4. A TERM to the whole group: goodbye, then nothing left.
owner three
alice_ping "owner mode: echo again" --no-tls
n=$(closes)
kill -s TERM -- "-$XC_PID"
ended "$XC_PID" 20
is "$?" 0 "TERM to the group: xmpp-connect exits 0"
goodbye "TERM to the group: the goodbye reaches the server" "$n"
is "$(pgrep -g "$XC_PID")" "" "TERM to the group: no process left"
grep -Eqx 'reader [0-9]+ writer [0-9]+ first (reader|writer|connection)' \
    "$T/three.st"
is "$?:$(wc -l <"$T/three.st")" "0:1" "the -s line: one line, its format"

# 5. TERM to xmpp-connect alone: the same goodbye.
owner four
n=$(closes)
kill -TERM "$XC_PID"
ended "$XC_PID" 20
is "$?" 0 "TERM to xmpp-connect: exits 0"
goodbye "TERM to xmpp-connect: the writer said goodbye" "$n"
# (first: the reader too, which ends on the server's </stream:stream>,
# at times before the TCP close is seen)
check "TERM to xmpp-connect: both ended by themselves ($(cat "$T/four.st"))" \
    grep -qx 'reader 0 writer 0 first \(reader\|writer\|connection\)' "$T/four.st"

# 6. Capture in owner mode: a relay, the bytes both ways, no password.
owner five -w "$T/cap"
alice_ping "-w: the bot echoes" --no-tls
check "-w: the server's bytes captured" grep -q "^[0-9.]* < [0-9]*$" "$T/cap"
check "-w: the writer's bytes captured" grep -q "<presence" "$T/cap"
check "-w: no password in the capture" sh -c '! grep -qF "$(cat "$1")" "$2"' \
    sh "$T/bot.pass" "$T/cap"
kill -TERM "$XC_PID"
ended "$XC_PID" 20
is "$?" 0 "-w: exits 0 after TERM"

# 7. A connection that fails starts nothing.
port=$(free_port)
"$XC" -t plain -d localhost -s 3 "127.0.0.1:$port" -- sh -c \
    'touch "$T/started"' -- sh -c 'touch "$T/started"' \
    3>"$T/fail.st" 2>"$T/fail.err"
is "$?" 2 "no server: exit 2, as without stages"
is "$(cat "$T/fail.st")$(ls "$T/started" 2>/dev/null)" "" \
    "no server: no stage started, no status line"
