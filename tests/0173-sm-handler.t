#!/bin/sh
# Stream management with a handler bot (-x examples/echo.sh): as in
# 0186, alice sends 500 messages and the link is cut (xmpp-connect
# killed) while the second half is on its way.  A message is counted
# only once the handler has read it, and at the cut the handler's
# answers to what it read are kept for the next session: every message
# is answered exactly once.
. "$(dirname "$0")/lib.sh"
plan 6

prosody_config
sed -i 's/"posix" }/"posix", "smacks" }/' "$PCONF"
echobot_setup

spawn $PY -c 'import os, sys; os.execvp(sys.argv[1], sys.argv[1:])' \
    env TMPDIR="$T/tmp" "$TOP/echobot.sh" -v -t plain \
    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost -b 1000 \
    -O 100000 -x "sh $TOP/examples/echo.sh" \
    2>>"$T/bot.err" </dev/null
BOT_PID=$spawned
wait_file_grep "$T/bot.err" "^< enabled.*@resume=true" 20 ||
    bail "no stream management"

pad=$(printf '%1000s' '' | tr ' ' .)
i=1
while [ $i -le 500 ]; do
	echo "\"h $i $pad\""
	i=$((i + 1))
done >"$T/send"
head -n 250 "$T/send" >"$T/send1"
tail -n 250 "$T/send" >"$T/send2"
mkfifo "$T/alice.ctl"
PEER_PASSWORD=$ALICE_PW spawn sh -c '
    "$0" "$1/tests/peer.py" --host 127.0.0.1 --port "$2" \
        --jid alice@localhost --to bot@localhost --no-tls \
        --send "$3/send1" --expect 250 --timeout 60 >"$3/got1" &&
    read go <"$3/alice.ctl" &&
    "$0" "$1/tests/peer.py" --host 127.0.0.1 --port "$2" \
        --jid alice@localhost --to bot@localhost --no-tls --no-wait \
        --send "$3/send2" --expect 250 --timeout 120 >"$3/got2"
    ' $PY "$TOP" "$C2S_PORT" "$T"
ALICE=$spawned
wait_file_grep "$T/got1" "h 250 " 60 || bail "the first 250 not answered"

# The cut, as in 0186: xmpp-parse held still while the server sends
# alice's second half, then xmpp-connect killed, xmpp-parse let go.
parse_pid=$(pgrep -s "$BOT_PID" -x xmpp-parse)
kill -STOP "$parse_pid"
echo go >"$T/alice.ctl"
n=600
until [ "$(grep -c "Received\[c2s\]: <message[^>]* to='bot@localhost'" \
    "$PDIR/prosody.log")" -ge 500 ] || [ $n -le 0 ]; do
	sleep 0.1
	n=$((n - 1))
done
kill -KILL $(pgrep -s "$BOT_PID" -x xmpp-connect)
kill -CONT "$parse_pid"

ended "$ALICE" 150
is "$?" 0 "alice got 500 answers"
check "session 2 resumed the first" \
    wait_file_grep "$T/bot.err" "^< resumed" 1
cat "$T/got1" "$T/got2" >"$T/got"
jfield body "$T/got" | sort >"$T/bodies"
is "$(wc -l <"$T/bodies")" 500 "500 answers"
is "$(uniq -d "$T/bodies" | head -n 5 | tr '\n' ' ')" "" "none answered twice"
is "$(jnorm "$T/send" | sort | comm -23 - "$T/bodies" | head -n 5 |
    tr '\n' ' ')" "" "none missing"
before=$(sed -n '/session 2:/q;/^> <message/p' "$T/bot.err" | wc -l)
after=$(sed -n '/session 2:/,$p' "$T/bot.err" | grep -c '^< message')
check "cut in the middle: $before answered before, $after sent again after" \
    test "$before" -ge 250 -a "$before" -lt 500 -a "$after" -gt 0
