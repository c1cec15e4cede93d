#!/bin/sh
# echobot.sh against a private Prosody: 100 messages echoed in order.
. "$(dirname "$0")/lib.sh"
plan 5

echobot_setup
bot_start -n 1 -t plain -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"

i=1
while [ $i -le 100 ]; do
	echo "\"msg $i\""
	i=$((i + 1))
done >"$T/send"
alice --no-tls --send "$T/send" --expect 100 --timeout 60 >"$T/got"
is "$?" 0 "alice got 100 echoes in time"
is "$(jfield body "$T/got")" "$(jnorm "$T/send")" "the bodies, in order"
is "$(jfield type "$T/got" | sort -u)" '"chat"' "every echo is type chat"
from=$(jfield from "$T/got" | sort -u)
is "$(echo "$from" | wc -l)" 1 "every echo from one JID"
case $from in
'"bot@localhost/'?*'"') pass "the bot's full JID ($from)" ;;
*) fail "the bot's full JID ($from)" ;;
esac
kill -0 "$BOT_PID" 2>/dev/null || diag "$(cat "$T/bot.err")"
