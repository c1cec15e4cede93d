#!/bin/sh
# xmpp-echo under a flood: one sender's 1000 messages meet its token
# bucket, the bot still answers others; two bots talking to each other
# stop after one round.
. "$(dirname "$0")/lib.sh"
plan 11

BURST=10 RATE=60	# per minute: one a second

echobot_setup
CAROL_PW=$(randpw)
prosody_adduser carol "$CAROL_PW" || bail "prosodyctl adduser carol failed"

# --- 1000 messages from carol in one go
pipeline bot -P -r echo -b $BURST -R $RATE -p "$T/bot.pass" bot@localhost
CITIZEN_PASSWORD=$CAROL_PW timeout 120 $PY "$TOP/tests/citizen.py" \
    --port "$C2S_PORT" --jid carol@localhost --to bot@localhost/echo \
    --flood 1000 --timeout 60 >"$T/carol.out" 2>"$T/carol.err"
is "$?" 0 "carol sent 1000 messages, then a ping came back"
set -- $($PY -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["ev"] == "flood":
        print(e["echoes"], e["secs"], e["pings"])' "$T/carol.out")
echoes=${1:-0} secs=${2:-0} pings=${3:-0}
diag "$echoes echoes of 1000 in $secs s, $pings pings"
# The bucket starts full and gains RATE/60 tokens a second: between the
# first message and the ping's answer no more than that came in.  The
# ping answered before the flood took one.
max=$($PY -c "import math; print($BURST + math.ceil($secs * $RATE / 60) + 1)")
check "echoes within the bucket: $((BURST - 1)) <= $echoes <= $max" \
    test "$echoes" -ge $((BURST - 1)) -a "$echoes" -le "$max"
set -- $(counters bot)
is "$1" "$echoes" "the counters: every echo carol got"
check "the counters: the rest rate-dropped, and pings over the rate" \
    test "$2" -ge $((1000 - echoes)) -a "$2" -le $((1000 - echoes + pings))
is "$3 $4" "0 0" "the counters: nothing size- or loop-dropped"

# Still there for others: alice's message comes back, and a ping.
echo '"after the flood"' >"$T/after"
alice --no-tls --no-wait --to bot@localhost/echo --send "$T/after" \
    --expect 1 --timeout 30 >"$T/alice.got"
is "$?:$(jfield body "$T/alice.got")" '0:"after the flood"' \
    "after the flood: another sender's message echoed"
CITIZEN_PASSWORD=$ALICE_PW timeout 60 $PY "$TOP/tests/citizen.py" \
    --port "$C2S_PORT" --jid alice@localhost --to bot@localhost/echo \
    --iqs --linger 0 --timeout 20 >"$T/alice2.out" 2>&1
check "after the flood: a ping answered" grep -q \
    '"id": "c-ping", "type": "result"' "$T/alice2.out"

# --- two bots, each echoing the other: one message, then silence
bot_pair
# b's side of the stream gets a message to a, as if b had written it.
exec 3>"$T/b.fifo"
printf "<message to='a@localhost/echo' type='chat' id='x'><body>%s</body></message>" \
    "who's there?" >&3
exec 3>&-
# Until the counters stand still for a second (20 s at most).
prev= n=20
while [ $n -gt 0 ]; do
	sleep 1
	now="$(counters a) / $(counters b)"
	[ "$now" = "$prev" ] && break
	prev=$now
	n=$((n - 1))
done
check "two bots: the exchange stopped" test $n -gt 0
set -- ${prev% / *}
a_echoed=$1 a_loop=$4
set -- ${prev#* / }
is "$a_echoed $1" "1 1" "two bots: each echoed once"
is "$a_loop $4" "1 0" "two bots: a saw its own echo come back and dropped it"
is "$(grep -c "^< message" "$T/a.err") $(grep -c "^< message" "$T/b.err")" \
    "2 1" "two bots: a got the message and its echo, b the first echo"
diag "a: $(counters a)" "b: $(counters b)"
