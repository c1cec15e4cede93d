#!/bin/sh
# A resumption that fails with the server's count (XEP-0198 section 5,
# <failed h='N'/>): what the server had of ours leaves the queue, and
# the messages it never had are sent after the new session's bind.
# Prosody keeps the count of a session that hibernated too long
# (smacks_hibernation_time, 1 s here).  Which of our stanzas a cut
# loses depends on the pipes' timing; so the state file of the first
# session is given three messages more to alice, sent into the link
# that died: the server never had them.
. "$(dirname "$0")/lib.sh"
plan 6

prosody_config
sed -i 's/"posix" }/"posix", "smacks" }\nsmacks_hibernation_time = 1/' \
    "$PCONF"
echobot_setup

# alice online first, to take the messages of the second session.
PEER_PASSWORD=$ALICE_PW spawn $PY "$TOP/tests/peer.py" --host 127.0.0.1 \
    --port "$C2S_PORT" --jid alice@localhost --to bot@localhost --no-tls \
    --no-wait --expect 3 --timeout 60 >"$T/got"
ALICE=$spawned

pipeline s1 -v -S "$T/sm" -p "$T/bot.pass" bot@localhost
S1=$spawned
wait_file_grep "$T/s1.err" "^< enabled.*@resume=true" 20 ||
    bail "no stream management"
wait_file_grep "$T/s1.err" "^< presence.*@from=alice@localhost/" 20 ||
    bail "alice not seen online"
kill -KILL $(pgrep -s "$S1" -x xmpp-connect)
wait_file_grep "$T/s1.xe" . 10 || bail "session 1 did not end"
wait_file_grep "$PDIR/prosody.log" "Destroying session for hibernating" 20 ||
    bail "the session did not expire"

# Three messages more in the newest slot of the state, as a new one.
$PY - "$T/sm" <<'PYEOF' || bail "state file not changed"
import re, sys
SLOT, HEAD = 2 * 1024 * 1024 + 65536, 64
def fnv(b):
    h = 14695981039346656037
    for c in b:
        h = ((h ^ c) * 1099511628211) % 2**64
    return h
f = open(sys.argv[1], 'r+b')
best = None
for at in (0, SLOT):
    f.seek(at)
    m = re.match(rb'echobot-sm1 (\d{20}) (\d{10}) ([0-9a-f]{16})', f.read(HEAD))
    if m:
        p = f.read(int(m[2]))
        if fnv(p) == int(m[3], 16) and (best is None or int(m[1]) > best[0]):
            best = (int(m[1]), p)
gen, p = best
items, i = [], 0
while i < len(p):
    k, n = p[i:i + 1], int(p[i + 2:p.index(b'\n', i)])
    j = p.index(b'\n', i) + 1
    items.append([k, p[j:j + n]])
    i = j + n + 1
for it in items:
    if it[0] == b'o':
        it[1] = str(int(it[1]) + 3).encode()
for n in (1, 2, 3):
    items.append([b's', b"<message to='alice@localhost' type='chat'>"
                  b"<body>lost %d</body></message>" % n])
p = b''.join(b'%s %d\n%s\n' % (k, len(v), v) for k, v in items)
gen += 1
h = b'echobot-sm1 %020d %010d %016x' % (gen, len(p), fnv(p))
f.seek(gen % 2 * SLOT)
f.write(h.ljust(HEAD - 1) + b'\n' + p)
PYEOF

pipeline s2 -v -S "$T/sm" -p "$T/bot.pass" bot@localhost
check "the resumption failed, with the server's count" \
    wait_file_grep "$T/s2.err" "^< failed.*@h=" 20
check "three messages to send again" wait_file_grep "$T/s2.err" \
    "resumption failed (item-not-found): a new session; 3 messages" 1
ended "$ALICE" 60
is "$?" 0 "alice got them"
is "$(jfield body "$T/got" | tr '\n' ' ')" '"lost 1" "lost 2" "lost 3" ' \
    "in order"
line() { grep -n "$1" "$T/s2.err" | head -n 1 | cut -d: -f1; }
bind=$(line "^> <iq type='set' id='[^']*'><bind")
enable=$(line "^> <enable ")
presence=$(line "^> <presence>")
first=$(line "^> <message to='alice@localhost'")
check "sent after the new bind ($bind), <enable/> ($enable) and presence \
($presence): at $first" test -n "$bind" -a -n "$enable" -a -n "$presence" \
    -a -n "$first" -a "${first:-0}" -gt "${bind:-0}" -a \
    "${first:-0}" -gt "${enable:-0}" -a "${first:-0}" -gt "${presence:-0}"
check "acknowledged in the new session" \
    wait_file_grep "$T/s2.err" "^< a	.*@h=" 20
