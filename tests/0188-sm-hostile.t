#!/bin/sh
# Stream management against a scripted server (tests/echo-server.py):
# an <r/> never answered ends the run like an unanswered ping; an ack
# of more than was sent is a protocol error; the state file survives a
# SIGKILL, and a slot torn in mid-write falls back to the one before.
. "$(dirname "$0")/lib.sh"
plan 9

BOT=$TOP/xmpp-echo/xmpp-echo
[ -x "$BOT" ] || bail "$BOT not built (make xmpp-echo/xmpp-echo)"

args="-P -m PLAIN -r echo -t 2 bot@localhost"

echo_server noack sm-no-ack -- "$BOT" $args
is "$(cat "$T/noack.rc")" 8 "<r/> unanswered: exit 8"
check "<r/> unanswered: said so" grep -qx \
    "xmpp-echo: server did not acknowledge our stanzas in 2 s" "$T/noack.err"

echo_server over sm-over-ack -- "$BOT" $args
is "$(cat "$T/over.rc")" 4 "an ack of more than was sent: exit 4"
check "an ack of more than was sent: said so" grep -q \
    "acknowledged 1000 stanzas, 2 were sent" "$T/over.err"

# 12 messages, then SIGKILL: roster result and 12 messages counted.
mkdir -m 700 "$T/st"
echo_server kill sm-kill -- "$BOT" -S "$T/st/sm" $args
is "$(cat "$T/kill.rc")" -9 "killed"
is "$(stat -c %a "$T/st/sm")" 600 "the state file is private"
cp "$T/st/sm" "$T/st/torn"
echo_server whole sm-refuse -- "$BOT" -S "$T/st/sm" $args
is "$(grep resume "$T/whole.notes")" "resume sm1 13" \
    "after SIGKILL: resumption asked with h 13"
check "refused: a new session" grep -qx bound "$T/whole.notes"

# The newest slot torn: one byte of its payload changed.
$PY - "$T/st/torn" <<'PY'
import sys
f = open(sys.argv[1], "r+b")
slot = 2 * 1024 * 1024 + 65536
heads = []
for at in (0, slot):
    f.seek(at)
    h = f.read(64).split()
    heads.append((int(h[1]) if len(h) > 1 else 0, at))
gen, at = max(heads)
f.seek(at + 64 + 5)
b = f.read(1)
f.seek(at + 64 + 5)
f.write(bytes([b[0] ^ 1]))
PY
echo_server torn sm-refuse -- "$BOT" -S "$T/st/torn" $args
h=$(sed -n 's/^resume sm1 //p' "$T/torn.notes")
check "a torn slot: the one before it, h ${h:-none} < 13" \
    test "${h:-13}" -lt 13
