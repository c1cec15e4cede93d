#!/bin/sh
# Stream management: the link cut while the bot is writing (xmpp-echo
# held still after its 100th echo of 500, xmpp-connect killed).  The
# server may hold half a stanza of ours; Prosody 0.12 then refuses the
# resumed stream as not-well-formed (xmpp-echo(1), Stream management).
# Whatever happens, the launcher does not give up: a later session
# echoes.
. "$(dirname "$0")/lib.sh"
plan 4

sm_setup
sm_bot_start -b 1000

i=1
while [ $i -le 500 ]; do
	echo "\"c $i\""
	i=$((i + 1))
done >"$T/send"
PEER_PASSWORD=$ALICE_PW spawn $PY "$TOP/tests/peer.py" --host 127.0.0.1 \
    --port "$C2S_PORT" --jid alice@localhost --to bot@localhost \
    --no-tls --send "$T/send" --expect 500 --timeout 60 >"$T/got"
ALICE=$spawned
wait_file_grep "$T/bot.err" "<body>c 100</body>" 60 ||
    bail "the bot did not echo 100 messages"
echo_pid=$(pgrep -s "$BOT_PID" -x xmpp-echo)
kill -STOP "$echo_pid"
kill -KILL $(pgrep -s "$BOT_PID" -x xmpp-connect)
kill -CONT "$echo_pid"

check "session 2 tried to resume" \
    wait_file_grep "$T/bot.err" "^> <resume " 30
if wait_file_grep "$T/bot.err" "stream error after a resumption" 5; then
	skip "exactly once" "the resumed stream failed (half a stanza at the server)"
else
	ended "$ALICE" 90
	st=$?
	jfield body "$T/got" | sort >"$T/bodies"
	is "$st:$(uniq -u "$T/bodies" | wc -l)" "0:500" \
	    "the resumed stream held: 500 echoes, each once"
fi
check "the launcher keeps going" alive "$BOT_PID"
alice_ping "a later session echoes" --no-tls --timeout 60
if grep -q "not retrying" "$T/bot.err"; then
	diag "$(grep echobot.sh: "$T/bot.err")"
fi
