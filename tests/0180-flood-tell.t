#!/bin/sh
# Flood control tells the sender: past the burst, one error of type wait,
# resource-constraint, naming the limit; then silence while the bucket
# stays empty.  Messages of type error are never answered.
. "$(dirname "$0")/lib.sh"
plan 8

echobot_setup
# One token a minute: the bucket stays empty for the whole test.
pipeline bot -v -P -r echo -b 10 -R 1 -p "$T/bot.pass" bot@localhost
wait_file_grep "$T/bot.err" '^> <presence' 20 || bail "the bot is not online"

i=1
while [ $i -le 30 ]; do
	echo "{\"id\": \"f$i\", \"body\": \"flood $i\"}"
	i=$((i + 1))
done >"$T/send"
alice --no-tls --errors --send "$T/send" --expect 11 --timeout 30 >"$T/got"
is "$?" 0 "alice got 11 answers to 30 messages"
is "$(jfield body "$T/got" | head -n 10 | tr '\n' ' ')" \
    "$(i=1; while [ $i -le 10 ]; do printf '"flood %d" ' $i; i=$((i + 1)); done)" \
    "the burst of 10 echoed"
sed -n 11p "$T/got" >"$T/err"
is "$(jfield error "$T/err") $(jfield id "$T/err")" \
    '"wait/resource-constraint" "f11"' \
    "then an error of type wait, resource-constraint, to the 11th"
is "$(jfield text "$T/err")" \
    '"too many messages: the bot echoes 10 at once, then 1 a minute; try again later"' \
    "its text names the limit"

# Until all 30 are counted: then every answer is queued and traced.
n=50
while [ $n -gt 0 ]; do
	kill -USR1 "$(cat "$T/bot.pid")"
	sleep 0.1
	grep -q '^xmpp-echo: echoed 10, rate-dropped 20,' "$T/bot.err" && break
	n=$((n - 1))
done
check "the counters: 10 echoed, 20 rate-dropped" test $n -gt 0
is "$(grep -c "^> <message .*<resource-constraint " "$T/bot.err")" 1 \
    "one error for the 20 messages over the rate"

# Errors from alice, her bucket still empty: no answer, no error.  To
# the bot's full JID: a server drops errors to a bare JID (RFC 6121
# section 8.5.2.1.1).
printf '{"type": "error", "body": "e%d"}\n' 1 2 3 >"$T/errs"
alice --no-tls --full-jid --send "$T/errs" --linger 0 --timeout 30 >/dev/null
n=50
while [ $n -gt 0 ]; do
	[ "$(grep -c '^< message.*@type=error' "$T/bot.err")" -ge 3 ] && break
	sleep 0.1
	n=$((n - 1))
done
check "the 3 errors reached the bot" test $n -gt 0
is "$(grep -c "^> <message .*type='error'" "$T/bot.err")" 1 \
    "messages of type error: not answered"
