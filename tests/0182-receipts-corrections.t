#!/bin/sh
# XEP-0184 receipts and XEP-0308 corrections against a private Prosody,
# with slixmpp as the peer; an empty body is not echoed.  With -x, the
# receipt goes when the message is queued for the handler.
. "$(dirname "$0")/lib.sh"
plan 11

echobot_setup
bot_start -n 1 -t plain -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"

cat >"$T/send" <<'JSON'
{"id": "r1", "body": "receipt, please", "receipt": true}
{"id": "m1", "body": "helo wrold"}
{"id": "m2", "body": "hello world", "replace": "m1"}
{"id": "m3", "body": "hello, world", "replace": "m1"}
{"id": "m4", "body": "fix of nothing", "replace": "x-unknown"}
{"id": "e1", "body": ""}
{"id": "e2", "body": "", "receipt": true}
{"id": "mk", "body": "marker"}
JSON
alice --no-tls --receipts --send "$T/send" --expect 7 --timeout 30 \
    >"$T/got"
is "$?" 0 "alice got 7 messages in time"

# field N NAME: field NAME of the Nth message alice got
field() {
	sed -n "$1p" "$T/got" >"$T/one"
	jfield "$2" "$T/one"
}
is "$(field 1 received) $(field 1 body)" '"r1" null' \
    "a request with an id: a receipt naming it, first"
is "$(field 2 body) $(field 2 received)" '"receipt, please" null' \
    "then the echo, which is no receipt"
is "$(jfield body "$T/got" | sed 1d | tr '\n' ' ')" \
    '"receipt, please" "helo wrold" "hello world" "hello, world" "fix of nothing" "marker" ' \
    "every body echoed once, in order, the empty ones not at all"
is "$(jfield received "$T/got" | grep -vc null)" 1 \
    "one receipt: none for an empty body"
m1=$(field 3 id)
check "the echo of m1 has an id ($m1)" test "$m1" != null
is "$(field 4 replace)" "$m1" \
    "a correction of m1: echoed as a correction of our echo of m1"
is "$(field 5 replace)" "$m1" \
    "a second correction of m1: of our first echo too"
is "$(field 6 replace) $(field 7 replace)" "null null" \
    "a correction of a message unknown, and the rest: new messages"
kill -0 "$BOT_PID" 2>/dev/null || diag "$(cat "$T/bot.err")"
stop "$BOT_PID"

# -x: a handler that reads every record and answers none.
spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -n 1 -t plain \
    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost \
    -x 'cat >/dev/null' 2>>"$T/xbot.err" </dev/null
echo '{"id": "h1", "body": "to the handler", "receipt": true}' >"$T/send2"
alice --no-tls --receipts --errors --send "$T/send2" --expect 1 \
    --timeout 30 >"$T/got2"
is "$?" 0 "-x: alice got an answer"
is "$(jfield received "$T/got2") $(jfield body "$T/got2")" '"h1" null' \
    "-x: the receipt, once the message is queued for the handler"
