#!/bin/sh
# A handler bot's xmpp-echo killed (SIGKILL): the messages its handler
# had not read are not counted, so the server sends them again to the
# resumed session and the next handler answers them, once.  The one the
# handler had read and not answered is lost, as xmpp-echo(1) says.
# The handler reads the first message, tells alice so and then waits
# on a fifo for ever; the next two stay in its pipe and queue.
. "$(dirname "$0")/lib.sh"
plan 6

sm_setup

mkfifo "$T/gate"
cat >"$T/handler" <<EOF
#!/bin/sh
while IFS= read -r line; do
	printf '%s\n' "\$line" >>"$T/seen"
	if [ ! -e "$T/stuck" ]; then
		: >"$T/stuck"
		printf 'message\txmlns=jabber:client\t@to=alice@localhost\t(body\t-read k1\t)\n'
		read go <"$T/gate"
		continue
	fi
	printf '%s\n' "\$line" | sh "$TOP/examples/echo.sh"
done
EOF

sm_bot_start -x "sh $T/handler"

printf '"k %d"\n' 1 2 3 >"$T/send"
PEER_PASSWORD=$ALICE_PW spawn $PY "$TOP/tests/peer.py" --host 127.0.0.1 \
    --port "$C2S_PORT" --jid alice@localhost --to bot@localhost --no-tls \
    --send "$T/send" --expect 3 --timeout 60 >"$T/got"
ALICE=$spawned
# Killed once alice has the handler's word: the state that counts k 1
# was written before it (smfile.c), and k 2 and k 3 have come.
wait_file_grep "$T/got" "read k1" 20 || bail "the handler did not read"
wait_file_grep "$T/bot.err" "^< message.*-k 3" 20 || bail "k 3 did not come"
# (xmpp-echo itself, xmpp-connect's child, not its handler's supervisor,
# which has its name too: that one stops the handler once xmpp-echo is
# gone)
xe=$(pgrep -P "$(pgrep -s "$BOT_PID" -x xmpp-connect)" -x xmpp-echo)
[ -n "$xe" ] || bail "no xmpp-echo"
kill -KILL $xe

check "session 2 resumed the first" \
    wait_file_grep "$T/bot.err" "^< resumed" 30
ended "$ALICE" 60
is "$?" 0 "alice got the handler's word and two answers"
is "$(jfield body "$T/got" | tr '\n' ' ')" '"read k1" "k 2" "k 3" ' \
    "to the two the handler had not read"
is "$(grep -c '^> <message.*<body>k [23]</body>' "$T/bot.err")" 2 \
    "each answered once"
is "$(grep -c '	-k 1	' "$T/seen")" 1 \
    "the one it had read is not read again"
is "$(sed -n '/session 2:/,$p' "$T/bot.err" | grep -c '^< message')" 2 \
    "the server sent those two again"
