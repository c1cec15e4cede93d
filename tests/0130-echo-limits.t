#!/bin/sh
# A peer's message or request of any content, up to what the server
# takes from it, never gets the bot's stream closed: a private Prosody
# with its default limits (256 KiB a stanza), 45 KB of characters that
# escaping made six times longer (quotes: now echoed as they are), and
# of characters that must be escaped (<: four times longer).
. "$(dirname "$0")/lib.sh"
plan 12

# raw.py: alice logs in, waits for the bot's presence, sends the lines
# of --send as they are (one stanza each, written raw: slixmpp would
# escape the quotes itself), and prints every stanza the bot sends her
# as a JSON line {kind, type, id, len, cond, text, body, child}, until
# --expect came.  Exit 0, or 1 on a timeout.
cat >"$T/raw.py" <<'EOF'
import argparse, asyncio, json, logging, os, sys
from slixmpp import ClientXMPP
from slixmpp.jid import JID
from slixmpp.xmlstream import tostring
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

C = "{jabber:client}"
E = "{urn:ietf:params:xml:ns:xmpp-stanzas}"

class Raw(ClientXMPP):
    def __init__(self, o, pw, lines):
        ClientXMPP.__init__(self, o.jid, pw)
        self.o, self.lines, self.got = o, lines, 0
        self.bot = JID(o.to)
        self.done = asyncio.get_event_loop().create_future()
        self.online = asyncio.get_event_loop().create_future()
        self['feature_mechanisms'].unencrypted_plain = True
        for k in ("message", "iq"):
            self.register_handler(Callback("bot " + k,
                                  MatchXPath(C + k), self.answer))
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("presence", self.presence)

    def presence(self, p):
        if p["from"] == self.bot and not self.online.done():
            self.online.set_result(None)

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        await asyncio.wait_for(self.online, self.o.timeout)
        for l in self.lines:
            self.send_raw(l)

    def answer(self, s):
        x = s.xml
        if JID(x.get("from", "")).bare != self.bot.bare:
            return
        err = x.find(C + "error")
        cond = text = None
        if err is not None:
            for c in err:
                if c.tag == E + "text":
                    text = c.text
                elif c.tag.startswith(E):
                    cond = c.tag[len(E):]
        body = x.find(C + "body")
        child = [c.tag for c in x if c.tag != C + "error"]
        print(json.dumps({"kind": x.tag[len(C):], "type": x.get("type"),
                          "id": x.get("id"), "len": len(tostring(x)),
                          "cond": cond, "text": text,
                          "body": body.text if body is not None else None,
                          "child": child}), flush=True)
        self.got += 1
        if self.got >= self.o.expect and not self.done.done():
            self.done.set_result(0)

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int)
ap.add_argument("--jid")
ap.add_argument("--to")
ap.add_argument("--send")
ap.add_argument("--expect", type=int)
ap.add_argument("--timeout", type=float, default=30)
o = ap.parse_args()
logging.basicConfig(level=logging.CRITICAL)
r = Raw(o, os.environ["PEER_PASSWORD"], open(o.send).read().splitlines())
r.connect(("127.0.0.1", o.port), force_starttls=False, disable_starttls=True)
loop = asyncio.get_event_loop()
try:
    code = loop.run_until_complete(asyncio.wait_for(r.done, o.timeout))
except asyncio.TimeoutError:
    print("raw.py: timeout, %d stanzas" % r.got, file=sys.stderr)
    code = 1
r.disconnect(wait=2)
sys.exit(code)
EOF

echobot_setup
# Two bots on one account, one for messages and one for requests, each
# a pipeline by hand: xmpp-echo exits on the first stream error, with no
# launcher to hide it by reconnecting.
pipeline m -P -r m -p "$T/bot.pass" bot@localhost
pipeline q -P -r q -p "$T/bot.pass" bot@localhost

$PY - bot@localhost/m bot@localhost/q "$T" <<'EOF'
import sys
m, q, t = sys.argv[1:]
with open(t + "/m.send", "w") as f:
    print("<message to='%s' type='chat' id='quotes'><body>%s</body></message>"
          % (m, '"' * 45000), file=f)
    print("<message to='%s' type='chat' id='lt'><body>%s</body></message>"
          % (m, '&lt;' * 45000), file=f)
    print("<message to='%s' type='chat'><body>%s</body></message>"
          % (m, "a" * 45000), file=f)
    print("<message to='%s' type='chat'><body>after</body></message>" % m,
          file=f)
with open(t + "/q.send", "w") as f:
    print("<iq to='%s' type='get' id='apos'><q xmlns='urn:example:q'>%s</q></iq>"
          % (q, "'" * 45000), file=f)
    print("<iq to='%s' type='set' id='nsattr'><q xmlns='urn:example:q' %s/></iq>"
          % (q, " ".join("xmlns:p%d='urn:%d:%s' p%d:a='1' p%d:b='2' p%d:c='3'"
                         % (i, i, "n" * 1000, i, i, i) for i in range(22))),
          file=f)
    print("<iq to='%s' type='get' id='ping'><ping xmlns='urn:xmpp:ping'/></iq>"
          % q, file=f)
EOF
diag "sent: $(wc -c <"$T/m.send") bytes in 4 messages," \
    "$(wc -c <"$T/q.send") in 3 iqs"

# raw NAME N: alice sends NAME.send to bot@localhost/NAME; the N
# answers in NAME.got
raw() {
	PEER_PASSWORD=$ALICE_PW timeout 90 $PY "$T/raw.py" --port "$C2S_PORT" \
	    --jid alice@localhost --to "bot@localhost/$1" --send "$T/$1.send" \
	    --expect "$2" --timeout 60 >"$T/$1.got" 2>"$T/$1.raw"
	_st=$?
	[ $_st -eq 0 ] || diag "$(cat "$T/$1.raw")" "$(cut -c 1-200 "$T/$1.got")"
	return $_st
}

# field NAME ID KEY: KEY of the answer with ID in NAME.got
field() {
	$PY -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["id"] == sys.argv[2]:
        print(e[sys.argv[3]])' "$T/$1.got" "$2" "$3"
}

# running NAME: xmpp-echo NAME still runs, and no stage has exited
running() {
	alive "$(cat "$T/$1.pid")" && test ! -e "$T/$1.xe" -a ! -e "$T/$1.xc"
}

# --- finding 2: requests
raw q 3
is "$?" 0 "iqs: three answers came"
is "$(field q apos type) $(field q apos cond) $(field q apos child)" \
    "error service-unavailable []" \
    "45 KB of apostrophes in an iq: an error without the payload"
is "$(field q nsattr type) $(field q nsattr child)" "error []" \
    "a request of namespaced attributes: an error without the payload"
diag "answers: $(field q apos len), $(field q nsattr len) bytes"
is "$(field q ping type)" result "then a ping: answered"
check "the bot for iqs still runs, its stages too" running q

# --- finding 1: messages
raw m 4
is "$?" 0 "messages: four answers came"
is "$(field m lt type) $(field m lt cond)" "error not-acceptable" \
    "45 KB of <: not echoed but refused, not-acceptable"
is "$(field m lt text)" "echo longer than 131072 bytes" \
    "45 KB of <: the limit named"
# The echoes have ids of their own: told by their bodies.
chats=$($PY -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["kind"] == "message" and e["type"] == "chat":
        print(e["body"] if len(e["body"]) < 10 else len(e["body"]))' \
    "$T/m.got")
is "$(echo $chats)" "45000 45000 after" \
    "45 KB of quotes and of text: echoed whole; then a message: echoed"
is "$($PY -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["type"] == "chat" and e["body"].startswith("\""):
        print(e["body"] == "\"" * 45000)' "$T/m.got")" \
    "True" "45 KB of quotes: the same quotes back (within -L: not escaped)"
check "the bot for messages still runs, its stages too" running m

check "Prosody closed no stream for a stanza's size" sh -c \
    "! grep -q -e 'policy-violation' -e 'stanza size' '$PDIR/prosody.log'"
