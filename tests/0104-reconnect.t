#!/bin/sh
# echobot.sh keeps the bot up: a stage killed takes its whole session
# down and a new session echoes; a restarted server is found again; a
# resource taken by another session stops it after -c conflicts;
# SIGTERM ends every stage with 0 and the server sees the stream closed.
. "$(dirname "$0")/lib.sh"
plan 21

echobot_setup
ping() { alice_ping "$1" --no-tls --timeout 60; }
link="-t plain -s 127.0.0.1:$C2S_PORT"

bot_start -v $link -p "$T/bot.pass"
ping "echo"

# Each stage in turn killed: the launcher names it, every stage of the
# session is gone once the session is reported ended, and the next
# session echoes.
n=1
for s in xmpp-connect xmpp-parse xmpp-echo; do
	pids=$(pgrep -s "$BOT_PID" -x 'xmpp-(connect|parse|echo)')
	kill -KILL $(pgrep -s "$BOT_PID" -x "$s")
	check "$s killed: session $n ends" \
	    wait_file_grep "$T/bot.err" "session $n ended:.*$s SIGKILL" 20
	check "$s killed: named as the cause" \
	    wait_file_grep "$T/bot.err" "$s killed by SIGKILL; retrying" 5
	left=
	for p in $pids; do alive "$p" && left="$left $p"; done
	is "$left" "" "$s killed: no stage of session $n left"
	n=$((n + 1))
	ping "$s killed: session $n echoes"
done

# The server stops and comes back on the same port: retried with
# backoff until it answers.
prosody_stop
check "server stopped: session $n ends" \
    wait_file_grep "$T/bot.err" "session $n ended:" 20
prosody_start || bail "prosody did not start again"
ping "server restarted: the bot echoes again"

# SIGTERM to the launcher alone: xmpp-echo says goodbye, every stage
# ends with 0, the server sees the stream closed.
n=$(grep -c 'session [0-9]*:' "$T/bot.err")
kill -TERM "$BOT_PID"
ended "$BOT_PID" 20
is "$?" 0 "SIGTERM: exit status 0"
check "SIGTERM: every stage exited 0" grep -q \
    "session $n ended: xmpp-connect 0, xmpp-parse 0, xmpp-echo 0" "$T/bot.err"
sid=$(grep 'c2s stream for bot@localhost/[^ ]* closed: session closed' \
    "$PDIR/prosody.log" | tail -n 1 | cut -f 1 | cut -d ' ' -f 4)
check "SIGTERM: the server saw the bot close its stream" test -n "$sid"
check "SIGTERM: after the bot's unavailable presence" grep -q \
    "$sid.*Received\[c2s\]: <presence[^>]* type='unavailable'" \
    "$PDIR/prosody.log"

# Two bots with one resource take it from each other: with -c 1, the
# first conflict stops the one kicked out, with status 7.
: >"$T/bot.err"
bot_start -c 1 -r same $link -p "$T/bot.pass"
first=$BOT_PID
wait_file_grep "$PDIR/prosody.log" "Resource bound: bot@localhost/same" 20
bot_start -c 1 -r same $link -p "$T/bot.pass"
ended "$first" 30
is "$?" 7 "conflict: the first bot exits 7" || diag "$(grep -v '^[<>] ' "$T/bot.err")"
check "conflict: says so" grep -q "conflict.*1 times in a row, not retrying" "$T/bot.err"
