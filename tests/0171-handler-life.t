#!/bin/sh
# xmpp-echo -x: broken handlers never stall the bot.  One that never
# reads (the queue's bound, then wait errors), one that closes its
# stdout, one that exits at once forever (backoff, no spin, wait
# errors), one that leaves a child running and one that ignores EOF
# and SIGTERM (nothing left after the end), one that writes 10,000
# replies at once (rate limited, the bot not kicked).
. "$(dirname "$0")/lib.sh"
plan 20

xbot() {
	_n=$1
	shift
	spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -n 1 -t plain \
	    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost "$@" \
	    2>>"$T/$_n.err" </dev/null
	BOT_PID=$spawned
}

# counter NAME FILE: the last value of xmpp-echo's counter NAME in FILE
counter() {
	grep 'handed' "$2" | tail -n 1 | tr ',' '\n' |
	    sed -n "s/^ *$1 \([0-9]*\)$/\1/p"
}

# term: SIGTERM to the launcher, as a user would; its end awaited
term() {
	kill -TERM "$BOT_PID"
	ended "$BOT_PID" 20 >/dev/null
}

echobot_setup
i=1
while [ $i -le 100 ]; do echo "\"m$i\""; i=$((i + 1)); done >"$T/send100"
while [ $i -le 400 ]; do echo "\"m$i\""; i=$((i + 1)); done |
    cat "$T/send100" - >"$T/send400"

# --- never reads its stdin
xbot deaf -b 1000 -x 'exec sleep 1000'
alice --no-tls --send "$T/send400" --expect 100 --ping --errors >"$T/got"
is "$?" 0 "a handler that never reads: 100 answers at least"
is "$(jfield error "$T/got" | grep -v null | sort -u)" \
    '"wait/resource-constraint"' "every one a wait error"
is "$(jfield ping "$T/got" | grep -v null)" '"pong"' \
    "the ping answered while the handler is stuck"
term
handed=$(counter handed "$T/deaf.err")
busy=$(counter busy "$T/deaf.err")
is "$((handed + busy))" 400 "handed $handed, busy $busy: every message"
check "at most 256 queued, and what a 4096-byte pipe holds" \
    test "$handed" -le 300

# --- closes its stdout, keeps reading
xbot mute -b 1000 -x 'exec >&-; while read -r l; do echo "got one" >&2; done'
alice --no-tls --send "$T/send100" --expect 0 --ping --linger 0 \
    >"$T/got"
is "$(jfield ping "$T/got" | grep -v null)" '"pong"' \
    "a handler with its stdout closed: the bot answers a ping"
check "its stderr comes through, prefixed" \
    wait_file_grep "$T/mute.err" "${LOG}handler: got one$" 10
term

# --- exits at once, every time
xbot dead -x 'echo dying >&2; [ -f "$T/crashed" ] && exit 3
	touch "$T/crashed"; kill -SEGV $$'
check "a dead handler reported with its status, restarts after 1, 2, 4, 8 s" \
    wait_file_grep "$T/dead.err" 'status 3; restarting in 8 s' 20
is "$(grep 'xmpp-echo: handler ' "$T/dead.err" | sed 's/.*restarting in //')" \
    "1 s
2 s
4 s
8 s" "no spin: the pause doubles"
check "a crash reported with its signal" \
    grep -q 'handler killed by signal' "$T/dead.err" ||
    diag "$(grep handler "$T/dead.err")"
echo '"anyone?"' >"$T/send"
alice --no-tls --send "$T/send" --expect 1 --errors >"$T/got"
is "$(jfield error "$T/got")" '"wait/resource-constraint"' \
    "meanwhile a sender gets a wait error"
term

# --- leaves a child running; ignores EOF and SIGTERM
cat >"$T/forker.sh" <<'EOF'
echo $$ >"$T/handler.pid"
sleep 1000 &
echo $! >"$T/child.pid"
while read -r l; do :; done
EOF
xbot forker -x "sh $T/forker.sh"
wait_file_grep "$T/child.pid" . 10
echo '"hi"' >"$T/send"
alice --no-tls --send "$T/send" --ping --expect 0 --linger 0 >/dev/null
term
check "SIGTERM: the handler is gone" wait_gone "$(cat "$T/handler.pid")" 5
check "SIGTERM: the child it left running is gone" \
    wait_gone "$(cat "$T/child.pid")" 5
cat >"$T/stubborn.sh" <<'EOF'
trap '' TERM
echo $$ >"$T/stubborn.pid"
while :; do sleep 1; done
EOF
xbot stubborn -x "sh $T/stubborn.sh"
wait_file_grep "$T/stubborn.pid" . 10
alice --no-tls --send "$T/send" --ping --expect 0 --linger 0 >/dev/null
term
check "SIGTERM: a handler that ignores EOF and SIGTERM is killed" \
    wait_gone "$(cat "$T/stubborn.pid")" 5

# --- 10,000 replies at once
cat >"$T/flood.sh" <<'EOF'
IFS= read -r line
from=$(printf '%s\n' "$line" | tr '\t' '\n' | sed -n 's/^@from=//p')
awk -v to="$from" 'BEGIN { for (i = 1; i <= 10000; i++)
	printf "message\txmlns=jabber:client\t@to=%s\t@type=chat\t" \
	    "(body\t-reply %d\t)\n", to, i }'
echo done >"$T/flood.done"
while read -r l; do :; done
EOF
xbot flood -b 20 -O 60 -x "sh $T/flood.sh"
echo '"flood me"' >"$T/send"
alice --no-tls --send "$T/send" --expect 20 --ping >"$T/got"
is "$?" 0 "10,000 replies written: the first 20 (-b 20) arrive"
is "$(jfield ping "$T/got" | grep -v null)" '"pong"' \
    "the ping answered during the flood"
check "the bot still up, in its first session" alive "$BOT_PID"
term
sent=$(counter handler-sent "$T/flood.err")
check "rate limited: $sent of 10,000 sent" test "$sent" -lt 10000
check "no second session (the bot was not kicked)" \
    test "$(grep -c 'session 2' "$T/flood.err")" -eq 0
check "no sanitizer report, no crash" \
    sh -c '! grep -q -e "runtime error" -e Sanitizer -e "core dumped" "$T"/*.err'
