#!/bin/sh
# echobot.sh: bounded retries, reconnects when a stage dies, stops
# cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"
plan 10

echobot_setup
echo '"ping"' >"$T/ping"
ping() {
	alice --no-tls --send "$T/ping" --expect 1 --timeout 30 >"$T/got"
	is "$?:$(jfield body "$T/got")" '0:"ping"' "$1"
}

# Nothing listens on a port we picked: two attempts, then xmpp-connect's
# status 2 (could not connect).
bot_start -n 2 -t plain -s "127.0.0.1:$(free_port)" -p "$T/bot.pass"
wait_gone "$BOT_PID" 30
wait "$BOT_PID"
is "$?" 2 "-n 2 against a closed port: gives up with status 2"
is "$(grep -c 'session [0-9]*:' "$T/bot.err")" 2 "after two attempts"

: >"$T/bot.err"
bot_start -t plain -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"
ping "echo"

# Kill xmpp-connect under it: the launcher starts a new session.
cpid=$(pgrep -P "$BOT_PID" -x xmpp-connect)
check "xmpp-connect found" test -n "$cpid"
kill -TERM $cpid
check "a second session starts" wait_file_grep "$T/bot.err" "session 2:" 30
ping "echo after reconnecting"

stages=$(pgrep -P "$BOT_PID")
kill -TERM "$BOT_PID"
check "SIGTERM: echobot.sh exits" wait_gone "$BOT_PID" 20
wait "$BOT_PID"
is "$?" 0 "SIGTERM: exit status 0"
left=
for p in $stages; do
	alive "$p" && left="$left $(cat "/proc/$p/comm")"
done
is "$left" "" "SIGTERM: no stage left running"
is "$(ls "$T/tmp")" "" "SIGTERM: temp dir removed"
