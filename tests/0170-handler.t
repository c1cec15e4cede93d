#!/bin/sh
# xmpp-echo -x: a handler of a few lines of sh answers through Prosody;
# hostile text comes back exact, and the handler's junk is refused line
# by line while iqs and the session carry on.
. "$(dirname "$0")/lib.sh"
plan 1

# xbot NAME ARGS...: echobot.sh ... bot@localhost ARGS (xmpp-echo's
# options after the JID), stderr in $T/NAME.err; BOT_PID
xbot() {
	_n=$1
	shift
	spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -n 1 -t plain \
	    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost "$@" \
	    2>>"$T/$_n.err" </dev/null
	BOT_PID=$spawned
}

echobot_setup

# The sh handler: each message record back to its sender, as it came.
cat >"$T/back.sh" <<'EOF'
tab=$(printf '\t')
while IFS= read -r line; do
	printf '%s\n' "$line" | sed -e "s/${tab}@to=[^${tab}]*//" \
	    -e "s/${tab}@id=[^${tab}]*//" -e "s/${tab}@from=/${tab}@to=/"
done
EOF
xbot back -x "sh $T/back.sh"
$PY - >"$T/send" <<'EOF'
import json
for b in ["<b>markup</b> & 'quotes' \"too\"", "a ]]> b", "one\ntwo\n\nthree",
          "tab\there\t", "emoji \U0001F600 \u00e9t\u00e9"]:
    print(json.dumps(b))
EOF
alice --no-tls --send "$T/send" --expect 5 >"$T/got"
is "$?:$(jfield body "$T/got")" "0:$(jnorm "$T/send")" \
    "hostile text through the sh handler comes back exact"
diag "$(cat $T/back.err)"
