#!/bin/sh
# The example bots and xmpp-run as handlers of echobot.sh -x, against a
# private Prosody with the independent peer: hostile text comes back
# exact through each, and "ping" gets "pong" from the awk one.
. "$(dirname "$0")/lib.sh"

if ! "$TOP/xmpp-echo/xmpp-echo" -h 2>&1 | grep -q -- '-x'; then
	echo "1..0 # SKIP xmpp-echo has no -x"
	exit 0
fi

# The handlers; mawk needs -W interactive (examples/ping.awk says why).
if command -v mawk >/dev/null 2>&1; then
	AWK="mawk -W interactive"
else
	AWK=awk
fi
cat >"$T/bots" <<EOF
$AWK -f $TOP/examples/ping.awk
$TOP/examples/echo.sh
$PY $TOP/examples/rot13.py
$TOP/xmpp-run/xmpp-run -c 1 cat
EOF
plan $(($(wc -l <"$T/bots") * 3 + 3))

echobot_setup

# No CR: the sender's XML would turn a raw one into a newline.
$PY - >"$T/hostile" <<-'END'
import json
bodies = ["ping", "<b>bold</b>", "]]>", "&amp; &#60; &lt;", "\"'",
          "</body></message><message to='x'><body>x</body></message>",
          "line 1\nline 2\n\ttabbed", "\\t \\n \\x01 \\\\", "\\",
          "  spaced  ", "(body", "-",
          "emoji \U0001F600\U0001F44D\u200d, RTL \u05e9\u05dc\u05d5\u05dd "
          "\u0645\u0631\u062d\u0628\u0627 \u202e",
          "message\txmlns=jabber:client\t@to=eve@localhost\t(body\t-forged\t)"]
for b in bodies:
    print(json.dumps(b))
END
n=$(wc -l <"$T/hostile")

# want BOT: the bodies BOT answers to those of $T/hostile with
want() {
	case $1 in
	*ping.awk) jnorm "$T/hostile" | sed 's/^"ping"$/"pong"/' ;;
	*rot13.py) $PY -c 'import codecs, json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    print(json.dumps(codecs.encode(json.loads(l), "rot13"), ensure_ascii=False))' \
	    "$T/hostile" ;;
	*) jnorm "$T/hostile" ;;
	esac
}

# xbot HANDLER: echobot.sh with -x HANDLER (xmpp-echo's options go after
# the JID), stderr in $T/bot.err; BOT_PID
xbot() {
	: >"$T/bot.err"
	spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -n 1 -t plain \
	    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost -x "$1" \
	    2>>"$T/bot.err" </dev/null
	BOT_PID=$spawned
}

while IFS= read -r bot; do
	name=$(echo "$bot" | sed "s,$TOP/,,g; s,$PY,python3,")
	xbot "$bot"
	alice --no-tls --send "$T/hostile" --expect "$n" --timeout 60 \
	    >"$T/got" </dev/null
	is "$?" 0 "$name: $n answers through Prosody" ||
	    diag "$(tail -n 20 "$T/bot.err")"
	is "$(jfield body "$T/got")" "$(want "$bot")" \
	    "$name: hostile bodies exact, in order"
	is "$(jfield type "$T/got" | sort -u)" '"chat"' "$name: of type chat"
	stop "$BOT_PID"
done <"$T/bots"

# xmpp-run: the sender in the environment; a program past its time
# limit is killed, and the next message is answered all the same.
cat >"$T/slow.sh" <<'END'
body=$(cat)
[ "$body" = slow ] && exec sleep 300
printf '%s said: %s\n' "$XMPP_FROM" "$body"
END
xbot "$TOP/xmpp-run/xmpp-run -t 1 sh $T/slow.sh"
printf '"slow"\n"hi <there>"\n' >"$T/send"
alice --no-tls --send "$T/send" --expect 1 --timeout 60 >"$T/got" </dev/null
case $(jfield body "$T/got") in
'"alice@localhost/'?*' said: hi <there>"') pass "xmpp-run: XMPP_FROM, the body" ;;
*) fail "xmpp-run: XMPP_FROM, the body"; diag "$(cat "$T/got" "$T/bot.err")" ;;
esac
wait_file_grep "$T/bot.err" 'time limit reached' 10
check "xmpp-run: the slow one killed, said on stderr" \
    grep -q 'time limit reached, killed: no reply' "$T/bot.err"
stop "$BOT_PID"

# The end of the session: a run in progress is not left behind.
xbot "$TOP/xmpp-run/xmpp-run -t 600 sh -c 'echo \$\$ >$T/run.pid; exec sleep 300'"
echo '"stay"' >"$T/send"
alice --no-tls --send "$T/send" --expect 0 --linger 1 >/dev/null </dev/null
wait_file_grep "$T/run.pid" . 20
stop "$BOT_PID"
check "SIGTERM to the bot: the run of xmpp-run is gone" \
    wait_gone "$(cat "$T/run.pid")" 10
