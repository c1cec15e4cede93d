#!/bin/sh
# xmpp-echo gives each step of the login -t seconds, whatever else the
# server sends meanwhile, and echoes nothing before its initial presence.
. "$(dirname "$0")/lib.sh"
plan 11

BOT=$TOP/xmpp-echo/xmpp-echo
[ -x "$BOT" ] || bail "$BOT not built (make xmpp-echo/xmpp-echo)"

# -i 3600: the login's deadline is -t, not a ping's
args="-P -m PLAIN -r echo -i 3600 -t 2 bot@localhost"

echo_server sasl stall-sasl -- "$BOT" $args
is "$(cat "$T/sasl.rc")" 8 "no SASL answer: exit 8"
is "$(cat "$T/sasl.err")" \
    "xmpp-echo: login: no SASL answer from the server in 2 s" \
    "no SASL answer: said so"

# A message, a subscription request and a ping every half second
echo_server bind stall-bind -- "$BOT" $args
is "$(cat "$T/bind.rc")" 8 "no bind result, stanzas meanwhile: exit 8"
is "$(cat "$T/bind.err")" \
    "xmpp-echo: login: no resource binding result from the server in 2 s" \
    "no bind result: said so"
check "no bind result: nothing echoed" \
    sh -c '! grep -q -e "<message" -e "<presence" "$1"' sh "$T/bind.out"
check "no bind result: the pings answered" \
    grep -q "<iq type='result' id='p1' to='localhost'>" "$T/bind.out"

echo_server roster stall-roster -- "$BOT" $args
is "$(cat "$T/roster.rc")" 8 "no roster, stanzas meanwhile: exit 8"
is "$(cat "$T/roster.err")" \
    "xmpp-echo: login: no roster from the server in 2 s" \
    "no roster: said so"
check "no roster: nothing echoed, no presence" \
    sh -c '! grep -q -e "<message" -e "<presence" "$1"' sh "$T/roster.out"
n=$(sed -n 's/^stanzas //p' "$T/roster.notes")
check "no roster: ${n:-?} rounds of stanzas did not keep it alive" \
    test "${n:-0}" -ge 2
check "no roster: the stream closed" \
    sh -c 'tail -c 16 "$1" | grep -qx "</stream:stream>"' sh "$T/roster.out"
