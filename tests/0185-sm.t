#!/bin/sh
# Stream management (XEP-0198) with Prosody's mod_smacks: enabled after
# binding, the server's <r/> answered with the count of what it sent,
# our stanzas acknowledged as they go, counters as the server keeps them.
. "$(dirname "$0")/lib.sh"
plan 8

sm_setup
pipeline sm -v -b 1000 -p "$T/bot.pass" bot@localhost
wait_file_grep "$T/sm.err" "^< enabled" 20

i=1
while [ $i -le 50 ]; do
	echo "\"sm $i\""
	i=$((i + 1))
done >"$T/send"
alice --no-tls --send "$T/send" --expect 50 --timeout 60 >"$T/got"
is "$?:$(jfield body "$T/got" | tr -d '\n')" \
    "0:$(jnorm "$T/send" | tr -d '\n')" "50 messages echoed, in order"

check "<enable/>, without resumption: no -S" \
    grep -q "^> <enable xmlns='urn:xmpp:sm:3'/>" "$T/sm.err"
bind=$(grep -n "^< iq.*xmpp-bind" "$T/sm.err" | head -n 1 | cut -d : -f 1)
enable=$(grep -n "^> <enable " "$T/sm.err" | cut -d : -f 1)
check "enable after bind" test "${enable:-0}" -gt "${bind:-99999}"
check "enabled" grep -q "^< enabled	xmlns=urn:xmpp:sm:3" "$T/sm.err"

# Every <a/> we send counts the stanzas from the server before it: the
# trace holds both, so recount them.
awk -F '\t' '
/^< enabled/ { on = 1; n = 0; next }
on && /^< (message|presence|iq)\t/ { n++ }
on && /^> <a xmlns=.urn:xmpp:sm:3. h=/ {
	split($0, p, "h=\x27"); split(p[2], q, "\x27")
	if (q[1] != n) { print "h " q[1] " after " n; bad = 1 } ; acks++ }
END { if (!acks) print "no <a/>"; exit (bad || !acks) }' "$T/sm.err" \
    >"$T/acks"
is "$?:$(cat "$T/acks")" "0:" "each <a h/> counts the stanzas received"

# Ours: an <r/> every 5 stanzas; the server's last <a/> counts them all.
check "<r/> sent" grep -q "^> <r xmlns='urn:xmpp:sm:3'/>" "$T/sm.err"
sent=$(awk '/^> <enable /{on = 1; next}
    on && /^> <(message|presence|iq)[ \/>]/ { n++ } END { print n + 0 }' \
    "$T/sm.err")
last=$(grep "^< a	" "$T/sm.err" | tail -n 1 | sed 's/.*@h=//')
check "the server acknowledged our stanzas (last h $last of $sent)" \
    test "${last:-0}" -ge 40 -a "${last:-0}" -le "$sent"
check "Prosody saw no bad count" sh -c \
    "! grep -qi 'acknowledged more\|policy-violation\|undefined-condition' \
    '$PDIR/prosody.log'"
