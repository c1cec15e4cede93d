#!/bin/sh
# echobot.sh over STARTTLS: bounded retries, no retry on a rejected
# certificate, reconnects when a stage dies, stops cleanly on SIGTERM
# and on Ctrl-C.
. "$(dirname "$0")/lib.sh"
plan 17

PROSODY_TLS=1
echobot_setup
tls="-t starttls -C $CA_FILE"
ping() { alice_ping "$1" --tls-ca "$CA_FILE" --timeout 30; }

# Nothing listens on a port we picked: two attempts, then xmpp-connect's
# status 2 (could not connect).
bot_start -n 2 $tls -s "127.0.0.1:$(free_port)" -p "$T/bot.pass"
ended "$BOT_PID" 30
is "$?" 3 "-n 2 against a closed port: gives up with status 3"
is "$(grep -c 'session [0-9]*:' "$T/bot.err")" 2 "after two attempts"

# A certificate from another CA: status 4 at once, no retry.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$T/other.key" -out "$T/other.crt" 2>/dev/null
: >"$T/bot.err"
bot_start -t starttls -C "$T/other.crt" -s "127.0.0.1:$C2S_PORT" \
    -p "$T/bot.pass"
ended "$BOT_PID" 30
is "$?" 4 "unknown CA: exit status 4"
check "unknown CA: certificate rejected, not retried" sh -c \
    'grep -q "certificate rejected" "$1" && ! grep -q "retrying in" "$1"' \
    sh "$T/bot.err"

# A usage error of a stage (an unknown mechanism): status 1, found
# before any session.
: >"$T/bot.err"
bot_start $tls -m BOGUS -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"
ended "$BOT_PID" 30
is "$?" 1 "a stage's usage error: exit status 1"
is "$(grep -c 'session [0-9]*:' "$T/bot.err")" 0 "a stage's usage error: no session"

: >"$T/bot.err"
bot_start $tls -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"
ping "echo over STARTTLS"

# Kill xmpp-connect under it: the launcher starts a new session.
cpid=$(pgrep -s "$BOT_PID" -x xmpp-connect)
check "xmpp-connect found" test -n "$cpid"
kill -TERM $cpid
check "a second session starts" wait_file_grep "$T/bot.err" "session 2:" 30
ping "echo after reconnecting"

# spawn made echobot.sh a session leader: everything it started (stunnel
# too) is in its session.
kill -TERM "$BOT_PID"
ended "$BOT_PID" 20
is "$?" 0 "SIGTERM: exit status 0"
is "$(pgrep -s "$BOT_PID")" "" "SIGTERM: nothing left in its session"
check "SIGTERM: no 'Terminated' noise" sh -c '! grep -q Terminated "$1"' \
    sh "$T/bot.err"
is "$(ls "$T/tmp")" "" "SIGTERM: temp dirs removed"

# Ctrl-C: SIGINT to the whole process group, stages included.
: >"$T/bot.err"
bot_start $tls -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"
ping "echo again"
kill -s INT -- "-$BOT_PID"
ended "$BOT_PID" 20
is "$?" 0 "SIGINT to the group: exit status 0"
is "$(pgrep -s "$BOT_PID")$(ls "$T/tmp")" "" \
    "SIGINT to the group: nothing left, temp dirs removed"
