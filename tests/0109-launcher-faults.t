#!/bin/sh
# echobot.sh against connections that fail: a refused port and an
# unresolvable name are said once, in one line naming the host, port,
# address family and the system's error, nothing repeated a try, -n bounding the tries; a server that accepts and then says nothing is
# retried; a stream error before STARTTLS (a JID whose domain the
# server does not serve) is named and stops the launcher with status 6.
. "$(dirname "$0")/lib.sh"
plan 21

PROSODY_TLS=1
echobot_setup

# Nothing listens: three tries, one line from xmpp-connect.
port=$(free_port)
bot_start -n 3 -t plain -s "127.0.0.1:$port" -p "$T/bot.pass"
ended "$BOT_PID" 30
is "$?" 3 "refused: -n 3 gives up with status 3"
is "$(grep -c "xmpp-connect: could not connect: 127.0.0.1 port $port (IPv4): Connection refused$" "$T/bot.err")" 1 \
    "refused: said once, with host, port, family and error"
check "refused: gives up after 3 sessions" \
    grep -q "could not connect); 3 sessions, giving up" "$T/bot.err"
check "refused: no broken pipe, nothing from the other stages" sh -c \
    '! grep -q -e "Broken pipe" -e "xmpp-parse:" -e "xmpp-echo:" "$1"' \
    sh "$T/bot.err"
n=$(wc -l <"$T/bot.err")
check "refused: at most 6 lines for 3 tries ($n)" test "$n" -le 6
diag "$(cat "$T/bot.err")"

# An unresolvable name (an empty label: no DNS query leaves the host).
: >"$T/bot.err"
bot_start -n 2 -t starttls -s nosuch..invalid -p "$T/bot.pass"
ended "$BOT_PID" 30
is "$?" 3 "unresolvable: -n 2 gives up with status 3"
is "$(grep -c 'xmpp-connect: could not connect: nosuch..invalid port 5222: ' "$T/bot.err")" 1 \
    "unresolvable: said once, naming the host and port"

# A domain the server does not serve: Prosody's host-unknown comes
# before STARTTLS, and retrying would meet it again.
: >"$T/bot.err"
spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -t starttls -C "$CA_FILE" \
    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@other.example \
    2>>"$T/bot.err" </dev/null
BOT_PID=$spawned
ended "$BOT_PID" 30
is "$?" 6 "host-unknown before STARTTLS: exit status 6"
check "host-unknown before STARTTLS: named" \
    grep -q "xmpp-connect: STARTTLS: stream error from server: host-unknown$" \
    "$T/bot.err"
check "host-unknown before STARTTLS: not retried" \
    grep -q "not retrying" "$T/bot.err"
diag "$(cat "$T/bot.err")"

# A server that accepts, reads and says nothing: STARTTLS times out
# (30 s), a transient fault: with -n 1, given up as one worth retrying.
cat >"$T/mute.py" <<'EOF'
import os, socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(4)
open(sys.argv[1] + '.tmp', 'w').write('%d\n' % s.getsockname()[1])
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
EOF
spawn $PY "$T/mute.py" "$T/mute.port"
wait_file_grep "$T/mute.port" '[0-9]' 10 || bail "mute.py did not start"
: >"$T/bot.err"
# xmpp-echo's own login deadline after the jid, past xmpp-connect's 30 s,
# so that which of the two notices first is no race
spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -n 1 -t starttls -C "$CA_FILE" \
    -s "127.0.0.1:$(cat "$T/mute.port")" -p "$T/bot.pass" bot@localhost \
    -t 60 2>>"$T/bot.err" </dev/null
BOT_PID=$spawned
ended "$BOT_PID" 90
is "$?" 3 "silent server: status 3, worth retrying"
check "silent server: says it was silent" \
    grep -q "xmpp-connect: STARTTLS: server silent for 30 s$" "$T/bot.err"
check "silent server: a retry, not a stop" sh -c \
    'grep -q "1 sessions, giving up" "$1" && ! grep -q "not retrying" "$1"' \
    sh "$T/bot.err"
diag "$(cat "$T/bot.err")"

# Without -n the silent server is retried: a second session starts.
: >"$T/bot.err"
bot_start -t starttls -C "$CA_FILE" -s "127.0.0.1:$(cat "$T/mute.port")" \
    -p "$T/bot.pass"
check "silent server, no -n: retried" \
    wait_file_grep "$T/bot.err" "session 2:" 70
# A TERM to the group, as systemd sends it, waited for as long as the
# goodbye may take (stop's 5 s before a KILL are too few on a slow,
# sanitized build, and a KILL leaves the temp dir).
kill -s TERM -- "-$BOT_PID"
ended "$BOT_PID" 30
is "$?" 0 "silent server: a TERM to the group, exit 0"
is "$(ls "$T/tmp")" "" "silent server: no temp dir left"

# Refused, then refused again (not said again), then a server that
# ends the stream with host-unknown: a new failure, said.
cat >"$T/unknown.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
c, _ = s.accept()
c.recv(4096)
c.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' id='x' "
          b"from='localhost' version='1.0'><stream:error><host-unknown "
          b"xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
          b"</stream:stream>")
c.close()
EOF
port=$(free_port)
: >"$T/bot.err"
bot_start -t starttls -s "127.0.0.1:$port" -p "$T/bot.pass"
# (the third session on is quiet: no "session 3:" line to wait for)
wait_file_grep "$T/bot.err" "session 2:" 20 || diag "no second session"
spawn $PY "$T/unknown.py" "$port"
ended "$BOT_PID" 60
is "$?" 6 "refused, then host-unknown: stops with status 6"
is "$(grep -c 'could not connect' "$T/bot.err")" 2 \
    "refused twice or more: xmpp-connect's line said once (and the cause)"
check "refused again: nothing from the other stages" sh -c \
    '! grep -q -e "xmpp-parse:" -e "xmpp-echo:" "$1"' sh "$T/bot.err"
check "then another failure: xmpp-connect's line said" \
    grep -q "xmpp-connect: STARTTLS: stream error from server: host-unknown$" \
    "$T/bot.err"
diag "$(cat "$T/bot.err")"
is "$(ls "$T/tmp")" "" "no temp dir left"
