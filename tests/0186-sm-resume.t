#!/bin/sh
# Stream management across sessions (echobot.sh gives xmpp-echo -S):
# alice sends 500 messages; after the first 250 are echoed, the link is
# cut (xmpp-connect killed) while the rest are on their way to the bot,
# some of them echoed into the dead link.  The next session resumes the
# old one, and every message is echoed exactly once.  A resumption the
# server refuses (it was restarted) falls back to a new session.
#
# The cut comes between two stanzas of ours: Prosody 0.12 parses the
# resumed connection with the old connection's parser, so a stanza of
# ours cut in two there makes the resumed stream not-well-formed (see
# xmpp-echo(1), Stream management).
. "$(dirname "$0")/lib.sh"
plan 11

prosody_config
sed -i 's/"posix" }/"posix", "smacks" }/' "$PCONF"
echobot_setup

# bot_start, with xmpp-echo's options after the JID.
spawn $PY -c 'import os, sys; os.execvp(sys.argv[1], sys.argv[1:])' \
    env TMPDIR="$T/tmp" "$TOP/echobot.sh" -v -t plain \
    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost -b 1000 \
    2>>"$T/bot.err" </dev/null
BOT_PID=$spawned
wait_file_grep "$T/bot.err" "^< enabled.*@resume=true" 20 ||
    bail "no stream management"
check "the state file is private, in the launcher's directory" \
    test "$(stat -c %a "$T"/tmp/echobot.*/sm "$T"/tmp/echobot.*)" = \
    "600
700"

# 1 KiB each: more than the pipes hold, so that the cut loses some on
# their way to the bot.
pad=$(printf '%1000s' '' | tr ' ' .)
i=1
while [ $i -le 500 ]; do
	echo "\"r $i $pad\""
	i=$((i + 1))
done >"$T/send"
head -n 250 "$T/send" >"$T/send1"
tail -n 250 "$T/send" >"$T/send2"
# alice stays online through the cut: one client, two batches.
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
wait_file_grep "$T/got1" "r 250 " 60 || bail "the first 250 not echoed"

# The cut: xmpp-parse held still, so that what the server sends now
# waits on the way; then xmpp-connect killed, xmpp-parse let go.
parse_pid=$(pgrep -s "$BOT_PID" -x xmpp-parse)
kill -STOP "$parse_pid"
echo go >"$T/alice.ctl"
# (until the server has all 500 of alice's messages; polled as
# wait_file_grep does)
n=600
until [ "$(grep -c "Received\[c2s\]: <message[^>]* to='bot@localhost'" \
    "$PDIR/prosody.log")" -ge 500 ] || [ $n -le 0 ]; do
	sleep 0.1
	n=$((n - 1))
done
kill -KILL $(pgrep -s "$BOT_PID" -x xmpp-connect)
kill -CONT "$parse_pid"

ended "$ALICE" 150
is "$?" 0 "alice got 500 echoes"
check "session 2 resumed the first" \
    wait_file_grep "$T/bot.err" "^< resumed" 1
check "without binding a resource again" \
    test "$(grep -c "^> <iq type='set' id='[^']*'><bind" "$T/bot.err")" -eq 1
cat "$T/got1" "$T/got2" >"$T/got"
jfield body "$T/got" | sort >"$T/bodies"
is "$(wc -l <"$T/bodies")" 500 "500 echoes"
is "$(uniq -d "$T/bodies" | head -n 5 | tr '\n' ' ')" "" "none echoed twice"
is "$(jnorm "$T/send" | sort | comm -23 - "$T/bodies" | head -n 5 |
    tr '\n' ' ')" "" "none missing"
before=$(sed -n '/session 2:/q;/^> <message/p' "$T/bot.err" | wc -l)
after=$(sed -n '/session 2:/,$p' "$T/bot.err" | grep -c '^< message')
check "cut in the middle: $before echoed before, $after sent again after" \
    test "$before" -ge 250 -a "$before" -lt 500 -a "$after" -gt 0

# The server restarted: the session it kept is gone, the resumption
# fails, a new session echoes.
prosody_stop
prosody_start || bail "prosody did not start again"
check "resumption refused" \
    wait_file_grep "$T/bot.err" "resumption failed (item-not-found)" 30
check "a new session: a resource bound" test "$(grep -c \
    "^> <iq type='set' id='[^']*'><bind" "$T/bot.err")" -eq 2
alice_ping "the new session echoes" --no-tls --timeout 60
