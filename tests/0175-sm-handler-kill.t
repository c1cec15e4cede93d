#!/bin/sh
# A handler bot's xmpp-echo killed (SIGKILL): the messages its handler
# had not read are not counted, so the server sends them again to the
# resumed session and the next handler answers them, once.  The one the
# handler had read and not answered is lost, as xmpp-echo(1) says.
# The handler reads the first message, writes a line (refused: it
# only wakes xmpp-echo up to see what was read) and then waits on a
# fifo for ever; the next two stay in its pipe and queue.
. "$(dirname "$0")/lib.sh"
plan 6

prosody_config
sed -i 's/"posix" }/"posix", "smacks" }/' "$PCONF"
echobot_setup

mkfifo "$T/gate"
cat >"$T/handler" <<EOF
#!/bin/sh
while IFS= read -r line; do
	printf '%s\n' "\$line" >>"$T/seen"
	if [ ! -e "$T/stuck" ]; then
		: >"$T/stuck"
		echo read	# refused, but xmpp-echo sees it has read
		read go <"$T/gate"
		continue
	fi
	printf '%s\n' "\$line" | sh "$TOP/examples/echo.sh"
done
EOF

spawn $PY -c 'import os, sys; os.execvp(sys.argv[1], sys.argv[1:])' \
    env TMPDIR="$T/tmp" "$TOP/echobot.sh" -v -t plain \
    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost \
    -x "sh $T/handler" 2>>"$T/bot.err" </dev/null
BOT_PID=$spawned
wait_file_grep "$T/bot.err" "^< enabled.*@resume=true" 20 ||
    bail "no stream management"

printf '"k %d"\n' 1 2 3 >"$T/send"
PEER_PASSWORD=$ALICE_PW spawn $PY "$TOP/tests/peer.py" --host 127.0.0.1 \
    --port "$C2S_PORT" --jid alice@localhost --to bot@localhost --no-tls \
    --send "$T/send" --expect 2 --timeout 60 >"$T/got"
ALICE=$spawned
# The kill after an <a/> of ours that followed the third message and
# the handler's line has reached the server, so that the count of
# what went before is in the state file (written before that output)
# and at the server.
n=200
until h=$(awk '/^< message/ { m++ } /handler line 1 refused/ { r = 1 }
    m >= 3 && r && /^> <a / {
    sub(/.* h=./, ""); sub(/.\/>$/, ""); print; exit }' "$T/bot.err") &&
    [ -n "$h" ] && grep -q "Received\[c2s\]: <a [^>]*h='$h'" \
    "$PDIR/prosody.log" || [ $n -le 0 ]; do
	sleep 0.1
	n=$((n - 1))
done
[ -n "$h" ] || bail "no <a/> after the three messages"
kill -KILL $(pgrep -s "$BOT_PID" -x xmpp-echo | head -n 1)

check "session 2 resumed the first" \
    wait_file_grep "$T/bot.err" "^< resumed" 30
ended "$ALICE" 60
is "$?" 0 "alice got two answers"
is "$(jfield body "$T/got" | sort | tr '\n' ' ')" '"k 2" "k 3" ' \
    "the two the handler had not read"
is "$(grep -c '^> <message.*<body>k [23]</body>' "$T/bot.err")" 2 \
    "each answered once"
is "$(grep -c '	-k 1	' "$T/seen")" 1 \
    "the one it had read is not read again"
is "$(sed -n '/session 2:/,$p' "$T/bot.err" | grep -c '^< message')" 2 \
    "the server sent those two again"
