#!/bin/sh
# xmpp-echo against a scripted server: records in, XML out, no network.
. "$(dirname "$0")/lib.sh"
plan 76

BOT=$TOP/xmpp-echo/xmpp-echo
[ -x "$BOT" ] || bail "$BOT not built (make xmpp-echo/xmpp-echo)"
VERSION=$(sed -n 's/^VERSION = //p' "$TOP/Makefile")

# server.py NAME SCENARIO -- BOT ARGS: plays the server's side as records
# (the bot's iq ids are read from its output), keeps the bot's output in
# $T/NAME.xml (SASL payloads redacted), its stderr in $T/NAME.err, its
# exit status in $T/NAME.rc and what the script itself checked in
# $T/NAME.notes.  Every wait is bounded: a hang is a failure.
cat >"$T/server.py" <<'EOF'
import base64, hashlib, hmac, json, os, re, select, subprocess, sys, time

T = os.environ["T"]
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
STREAM = "http://etherx.jabber.org/streams"
BIND = "urn:ietf:params:xml:ns:xmpp-bind"
SESSION = "urn:ietf:params:xml:ns:xmpp-session"
PASS = "s3cr=t,pass"

def esc(s):
    out = []
    for c in s:
        if c == "\\": out.append("\\\\")
        elif c == "\t": out.append("\\t")
        elif c == "\n": out.append("\\n")
        elif c == "\r": out.append("\\r")
        elif ord(c) < 0x20 or ord(c) == 0x7f: out.append("\\x%02x" % ord(c))
        else: out.append(c)
    return "".join(out)

def rec(kind, *items):
    return kind + "".join("\t" + i for i in items) + "\n"

class Timeout(Exception):
    pass

class Bot:
    def __init__(self, name, argv):
        self.name = name
        self.err = open("%s/%s.err" % (T, name), "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err)
        self.out = b""
        self.pos = 0
        self.notes = []

    def send(self, line):
        try:
            self.p.stdin.write(line.encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def read(self, until):
        r, _, _ = select.select([self.p.stdout], [], [], max(0, until - time.time()))
        if not r:
            return False
        chunk = os.read(self.p.stdout.fileno(), 65536)
        self.out += chunk
        return bool(chunk)

    def expect(self, pattern, secs=10):
        until = time.time() + secs
        while True:
            m = re.compile(pattern).search(self.out.decode("utf-8", "replace"), self.pos)
            if m:
                self.pos = m.end()
                return m
            if not self.read(until):
                raise Timeout(pattern)

    def finish(self, secs=10):
        # What was sent stays in the pipe: the bot reads it, then EOF.
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        until = time.time() + secs
        while self.read(until):
            pass
        try:
            rc = self.p.wait(max(0.1, until - time.time()))
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = "timeout"
        return rc

def opening(b):
    b.expect(r"<stream:stream [^>]*>")
    b.send(rec("stream:stream", "xmlns=" + STREAM, "@from=localhost",
               "@id=s1", "@version=1.0", "@xml:lang=en"))

def features(b, *mechs):
    b.send(rec("stream:features", "xmlns=" + STREAM, "(mechanisms",
               "xmlns=" + SASL,
               *sum([["(mechanism", "-" + m, ")"] for m in mechs], []), ")"))

def payload(m):
    return base64.b64decode(m.group(1)) if m.group(1) != "=" else b""

def plain_login(b):
    opening(b)
    features(b, "SCRAM-SHA-1", "PLAIN")
    m = b.expect(r"<auth xmlns='%s' mechanism='PLAIN'>([^<]*)</auth>" % SASL)
    if payload(m) == b"\0bot\0" + PASS.encode():
        b.notes.append("plain payload ok")
    b.send(rec("success", "xmlns=" + SASL))

def scram_login(b, mech, where="success", lie=False,
                offered=("PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256")):
    h = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256",
         "SCRAM-SHA-512": "sha512"}[mech]
    opening(b)
    features(b, *offered)
    m = b.expect(r"<auth xmlns='%s' mechanism='%s'>([^<]*)</auth>" % (SASL, mech))
    cfirst = payload(m).decode()
    cm = re.fullmatch(r"n,,n=([^,]*),r=([^,]*)", cfirst)
    if cm and cm.group(1) == "bot":
        b.notes.append("client-first ok")
    salt, it = os.urandom(16), 4096
    nonce = cm.group(2) + "srvnonce"
    sfirst = "r=%s,s=%s,i=%d" % (nonce, base64.b64encode(salt).decode(), it)
    b.send(rec("challenge", "xmlns=" + SASL, "-" + base64.b64encode(sfirst.encode()).decode()))
    m = b.expect(r"<response xmlns='%s'>([^<]*)</response>" % SASL)
    cfinal = payload(m).decode()
    without, proof = cfinal.rsplit(",p=", 1)
    am = ("n=bot,r=%s,%s,%s" % (cm.group(2), sfirst, without)).encode()
    sp = hashlib.pbkdf2_hmac(h, PASS.encode(), salt, it)
    ck = hmac.new(sp, b"Client Key", h).digest()
    cs = hmac.new(hashlib.new(h, ck).digest(), am, h).digest()
    if (without == "c=biws,r=" + nonce and
            base64.b64decode(proof) == bytes(x ^ y for x, y in zip(ck, cs))):
        b.notes.append("client proof ok")
    ss = hmac.new(hmac.new(sp, b"Server Key", h).digest(), am, h).digest()
    if lie:
        ss = bytes([ss[0] ^ 1]) + ss[1:]
    v = base64.b64encode(b"v=" + base64.b64encode(ss)).decode()
    if where == "success":
        b.send(rec("success", "xmlns=" + SASL, "-" + v))
    elif where == "challenge":
        b.send(rec("challenge", "xmlns=" + SASL, "-" + v))
        b.expect(r"<response xmlns='%s'>=</response>" % SASL)
        b.send(rec("success", "xmlns=" + SASL))
    else:
        b.send(rec("success", "xmlns=" + SASL))

CAPS = r"<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='[^']*' ver='[^']*'/>"

def bind(b, session=True, presence=r"<presence>" + CAPS + "</presence>"):
    opening(b)
    items = ["(bind", "xmlns=" + BIND, ")"]
    if session:
        items += ["(session", "xmlns=" + SESSION, ")"]
    b.send(rec("stream:features", "xmlns=" + STREAM, *items))
    m = b.expect(r"<iq type='set' id='([^']+)'><bind xmlns='%s'>"
                 r"<resource>echo</resource></bind></iq>" % BIND)
    b.send(rec("iq", "xmlns=jabber:client", "@type=result", "@id=" + m.group(1),
               "(bind", "xmlns=" + BIND, "(jid", "-bot@localhost/echo", ")", ")"))
    if session:
        m = b.expect(r"<iq type='set' id='([^']+)'><session xmlns='%s'/></iq>" % SESSION)
        b.send(rec("iq", "xmlns=jabber:client", "@type=result", "@id=" + m.group(1)))
    m = b.expect(r"<iq type='get' id='([^']+)'><query xmlns='jabber:iq:roster'/></iq>")
    b.send(rec("iq", "xmlns=jabber:client", "@type=result", "@id=" + m.group(1),
               "(query", "xmlns=jabber:iq:roster", ")"))
    b.expect(presence)

def msg(frm, typ, *children, lang=None):
    items = ["xmlns=jabber:client", "@to=bot@localhost/echo", "@id=m1"]
    if frm is not None:
        items.append("@from=" + esc(frm))
    if typ is not None:
        items.append("@type=" + typ)
    if lang is not None:
        items.append("@xml:lang=" + esc(lang))
    for name, attrs, text in children:
        items.append("(" + name)
        items += ["@%s=%s" % (k, esc(v)) for k, v in attrs]
        items += ["-" + esc(text), ")"]
    return rec("message", *items)

HOSTILE = ("</body></message><message to='x'><body>x & &amp; < > \" ' ]]> "
           "\\n \\x01 \n\ttab \U0001F600 \u05e9\u05dc\u05d5\u05dd")

def chat(b):
    open(T + "/hostile.json", "w").write(json.dumps(HOSTILE) + "\n")
    plain_login(b)
    bind(b)
    b.send(msg("alice@localhost/h", "chat", ("body", [], HOSTILE)))
    b.send(msg("alice@localhost/g", "groupchat", ("body", [], "no")))
    b.send(msg("alice@localhost/g", "headline", ("body", [], "no")))
    b.send(msg("alice@localhost/g", "error", ("body", [], "no")))
    b.send(msg("alice@localhost/g", "chat", ("thread", [], "t")))
    b.send(msg("BOT@LocalHost/other", "chat", ("body", [], "no")))
    b.send(msg(None, "chat", ("body", [], "no")))
    b.send(msg("carol@localhost/n", None,
               ("body", [("xml:lang", "de")], "hallo"),
               ("body", [("xml:lang", "fr")], "salut"),
               ("thread", [("parent", "p'1")], "th<1>")))
    b.send(rec("iq", "xmlns=jabber:client", "@type=get", "@id=q'1",
               "@from=alice@localhost/h", "(query", "xmlns=urn:example:unknown", ")"))
    b.send(rec("iq", "xmlns=jabber:client", "@type=result", "@id=r1",
               "@from=alice@localhost/h"))
    b.send(msg("alice@localhost/m", "normal", ("body", [], "marker"),
               lang="'<x\"&"))
    b.expect(r"marker</body></message>")
    b.send(rec("/stream:stream"))
    b.expect(r"</stream:stream>")

def iq(frm, typ, iid, *items, to=None):
    head = ["xmlns=jabber:client", "@type=" + typ, "@id=" + iid]
    if frm is not None:
        head.append("@from=" + frm)
    if to is not None:
        head.append("@to=" + to)
    return rec("iq", *(head + list(items)))

def pres(frm, typ):
    return rec("presence", "xmlns=jabber:client", "@from=" + frm, "@type=" + typ)

def citizen(b):
    plain_login(b)
    bind(b, False, r"<presence><status>a &lt;b&gt; &amp; 'c'</status>" + CAPS +
         "</presence>")
    A = "alice@localhost/h"
    b.send(iq(A, "get", "other", "(ping", "xmlns=urn:xmpp:ping", ")",
              to="someone@localhost/x"))
    b.send(iq(A, "get", "otherres", "(ping", "xmlns=urn:xmpp:ping", ")",
              to="bot@localhost/other"))
    b.send(iq(A, "get", "full", "(ping", "xmlns=urn:xmpp:ping", ")",
              to="bot@localhost/echo"))
    b.send(iq(A, "get", "node", "(query", "xmlns=http://jabber.org/protocol/disco#info",
              "@node=n", ")"))
    b.send(iq(A, "set", "pushx", "(query", "xmlns=jabber:iq:roster", ")"))
    b.send(iq("bot@localhost", "set", "push", "(query", "xmlns=jabber:iq:roster", ")"))
    b.send(iq(None, "set", "push0", "(query", "xmlns=jabber:iq:roster", ")"))
    b.send(iq(A, "error", "err", "(ping", "xmlns=urn:xmpp:ping", ")"))
    b.send(pres("carol@localhost/c", "subscribe"))
    b.send(pres("dave@localhost", "unsubscribe"))
    b.send(pres("erin@localhost", "unsubscribed"))
    b.send(msg(A, "chat", ("body", [], "0123456789")))
    b.send(msg(A, "chat", ("body", [], "0123456789+")))
    b.send(msg(A, "chat", ("body", [], "0123456789")))
    b.send(msg(A, "chat", ("body", [], "again")))
    b.send(msg("alice@localhost/other", "chat", ("body", [], "again")))
    b.send(msg("bob@localhost/b", "chat", ("body", [], "marker")))
    b.expect(r"marker</body></message>")
    b.send(rec("/stream:stream"))
    b.expect(r"</stream:stream>")

# -b 1: carol's bucket is empty after her first echo, until 1024 other
# senders push her out of the table and she comes back as new.
def evict(b):
    plain_login(b)
    bind(b, False)
    b.send(msg("carol@localhost/c", "chat", ("body", [], "first")))
    b.send(msg("carol@localhost/c", "chat", ("body", [], "over")))
    for i in range(1024):
        b.send(msg("s%d@localhost/r" % i, "chat", ("body", [], "x")))
    b.send(msg("carol@localhost/c", "chat", ("body", [], "back")))
    b.expect(r"back</body></message>")
    b.send(rec("/stream:stream"))
    b.expect(r"</stream:stream>")

SCENARIOS = {
    "chat": chat,
    "evict": evict,
    "citizen": citizen,
    "sha1": lambda b: (scram_login(b, "SCRAM-SHA-1"), bind(b, False),
                       b.send(rec("/stream:stream")), b.expect("</stream:stream>")),
    "sha256": lambda b: (scram_login(b, "SCRAM-SHA-256"), bind(b, False),
                         b.send(rec("/stream:stream")), b.expect("</stream:stream>")),
    "sha512": lambda b: (scram_login(b, "SCRAM-SHA-512", offered=(
                             "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256",
                             "SCRAM-SHA-512")), bind(b, False),
                         b.send(rec("/stream:stream")), b.expect("</stream:stream>")),
    "final-in-challenge": lambda b: (scram_login(b, "SCRAM-SHA-256", "challenge"),
                                     bind(b, False)),
    "lying-server": lambda b: scram_login(b, "SCRAM-SHA-256", lie=True),
    "no-signature": lambda b: scram_login(b, "SCRAM-SHA-1", "none"),
}

name, scenario, argv = sys.argv[1], sys.argv[2], sys.argv[4:]
b = Bot(name, argv)
try:
    SCENARIOS[scenario](b)
except Timeout as e:
    b.notes.append("timeout waiting for " + str(e))
rc = b.finish()
out = b.out.decode("utf-8", "replace")
out = re.sub(r"(<(auth|response)[^>]*>)[^<]*", r"\1[redacted]", out)
open("%s/%s.xml" % (T, name), "w").write(out)
open("%s/%s.notes" % (T, name), "w").write("".join(n + "\n" for n in b.notes))
open("%s/%s.rc" % (T, name), "w").write("%s\n" % rc)
EOF

# xq NAME PATH [ATTR]: what PATH finds in the second stream of NAME.xml,
# one line each: ATTR's value, or the text as a JSON string.
cat >"$T/xq.py" <<'EOF'
import json, sys, xml.etree.ElementTree as ET
name, path = sys.argv[1], sys.argv[2]
attr = sys.argv[3] if len(sys.argv) > 3 else None
if attr == "xml:lang":
    attr = "{http://www.w3.org/XML/1998/namespace}lang"
s = open(name).read()
s = s[s.index("<stream:stream", 1):]
s = s[s.index(">") + 1:]
s = s.replace("</stream:stream>", "")
root = ET.fromstring("<s xmlns='jabber:client'>" + s + "</s>")
for e in root.findall(path, {"c": "jabber:client",
        "e": "urn:ietf:params:xml:ns:xmpp-stanzas"}):
    print(e.get(attr, "-") if attr else json.dumps(e.text or ""))
EOF
xq() { $PY "$T/xq.py" "$T/$1.xml" "$2" ${3:+"$3"}; }

server() {
	_n=$1
	shift
	XMPP_PASSWORD='s3cr=t,pass' timeout 60 $PY "$T/server.py" "$_n" "$@"
	[ -f "$T/$_n.rc" ] || echo "server.py failed" >"$T/$_n.rc"
	[ -s "$T/$_n.err" ] && diag "stderr of $_n:" "$(tail -n 2 "$T/$_n.err")"
	grep -q timeout "$T/$_n.notes" && diag "$(cat "$T/$_n.notes")"
	return 0
}

# --- a PLAIN login and a session of stanzas, to the end of the stream
server chat chat -- "$BOT" -P -m PLAIN -r echo bot@localhost
is "$(cat "$T/chat.rc")" 0 "exit 0 after the server closed the stream"
is "$(head -c 149 "$T/chat.xml")" "<stream:stream xmlns='jabber:client' \
xmlns:stream='http://etherx.jabber.org/streams' to='localhost' \
from='bot@localhost' version='1.0' xml:lang='en'>" "stream header"
check "the PLAIN payload is NUL bot NUL password" \
    grep -qx "plain payload ok" "$T/chat.notes"
is "$(grep -o '<stream:stream ' "$T/chat.xml" | wc -l)" 2 \
    "a new stream after SASL success"
check "session iq sent as the server required it" \
    grep -q "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>" \
    "$T/chat.xml"
is "$(xq chat c:presence | wc -l)" 1 "one initial presence"
is "$(xq chat c:message | wc -l)" 3 \
    "three echoes: no groupchat, headline, error, bodyless, own or fromless"
is "$(xq chat c:message[1] to)" "alice@localhost/h" "echo to the full JID"
is "$(xq chat c:message[1] type)" "chat" "type chat kept"
is "$(xq chat c:message[1]/c:body)" "$(cat "$T/hostile.json")" \
    "hostile body echoed byte for byte, as well-formed XML"
is "$(xq chat c:message[2] to)" "carol@localhost/n" "normal message echoed"
is "$(xq chat c:message[2] type)" "-" "absent type stays absent"
is "$(xq chat c:message[2]/c:body xml:lang | tr '\n' ' ')" "de fr " \
    "both bodies with their xml:lang"
is "$(xq chat c:message[2]/c:body | tr '\n' ' ')" '"hallo" "salut" ' \
    "both bodies' text"
is "$(xq chat c:message[2]/c:thread)" '"th<1>"' "thread kept"
is "$(xq chat c:message[2]/c:thread parent)" "p'1" "thread parent kept"
is "$(xq chat c:message[3] type)" "normal" "type normal kept"
is "$(xq chat c:message[3] xml:lang)" "'<x\"&" \
    "the message's xml:lang kept, escaped"
is "$(xq chat c:message[2] xml:lang)" "-" "no xml:lang: none on the echo"
is "$(xq chat "c:iq[@type='error']" id)" "q'1" "iq get answered with its id"
is "$(xq chat "c:iq[@type='error']" to)" "alice@localhost/h" \
    "iq error goes to the asker"
is "$(xq chat "c:iq[@type='error']/c:error/e:service-unavailable" | wc -l)" \
    1 "iq error is service-unavailable"
is "$(xq chat "c:iq[@type='error']" | wc -l)" 1 "iq result not answered"
is "$(tail -c 16 "$T/chat.xml")" "</stream:stream>" "close answered"

# --- answers, presence, flood control
server cit citizen -- "$BOT" -P -m PLAIN -r echo -l 10 -s "a <b> & 'c'" \
    bot@localhost
is "$(cat "$T/cit.rc")" 0 "citizen: exit 0"
check "-s: the status text, escaped" grep -q \
    "<presence><status>a &lt;b&gt; &amp; 'c'</status><c " \
    "$T/cit.xml"
is "$(xq cit "c:iq" id | sed 1,2d | tr '\n' ' ')" "full node pushx push push0 " \
    "iqs to others unanswered, to our full JID answered, errors unanswered"
is "$(xq cit "c:iq[@id='full']" type)" result "ping to the full JID: result"
is "$(xq cit "c:iq[@id='node']/c:error/e:service-unavailable" | wc -l)" 1 \
    "disco#info of a node: service-unavailable"
is "$(xq cit "c:iq[@id='pushx']/c:error/e:service-unavailable" | wc -l)" 1 \
    "roster push from a stranger: service-unavailable"
is "$(xq cit "c:iq[@type='result']" id | tr '\n' ' ')" "full push push0 " \
    "roster pushes from our account: results"
is "$(xq cit "c:presence[@to]" type | tr '\n' ' ')" \
    "subscribed subscribe unsubscribed " \
    "subscribe: subscribed and subscribe; unsubscribe: unsubscribed"
is "$(xq cit "c:presence[@to]" to | sort -u | tr '\n' ' ')" \
    "carol@localhost dave@localhost " "presence answers go to bare JIDs"
is "$(xq cit "c:message/c:body" | tr '\n' ' ')" '"0123456789" "again" "marker" ' \
    "too long dropped, the same body again dropped, any resource"
is "$(tail -n 1 "$T/cit.err")" "xmpp-echo: echoed 3, rate-dropped 0, \
size-dropped 1, loop-dropped 2, iq answered 5, jid-dropped 0" \
    "the counters at the exit"
server noauto citizen -- "$BOT" -A -P -m PLAIN -r echo -l 10 \
    -s "a <b> & 'c'" bot@localhost
is "$(xq noauto "c:presence[@to]" type | tr '\n' ' ')" "unsubscribed " \
    "-A: subscription requests ignored, unsubscribe honoured"

server evict evict -- "$BOT" -P -m PLAIN -r echo -b 1 -R 1 bot@localhost
is "$(xq evict "c:message[@to='carol@localhost/c']/c:body" | tr '\n' ' ')" \
    '"first" "back" ' "-b 1: over the rate dropped; 1024 senders later, a new bucket"
is "$(tail -n 1 "$T/evict.err")" "xmpp-echo: echoed 1026, rate-dropped 1, \
size-dropped 0, loop-dropped 0, iq answered 0, jid-dropped 0" \
    "-b 1: the counters"

# --- SCRAM against a scripted server that checks the client proof
server sha1 sha1 -- "$BOT" -m SCRAM-SHA-1 -r echo bot@localhost
is "$(cat "$T/sha1.rc")" 0 "SCRAM-SHA-1 login"
is "$(cat "$T/sha1.notes")" "client-first ok
client proof ok" "SCRAM-SHA-1 client proof verified by the server"
server sha256 sha256 -- "$BOT" -v -r echo bot@localhost
is "$(cat "$T/sha256.rc")" 0 "SCRAM-SHA-256 preferred and logged in"
is "$(cat "$T/sha256.notes")" "client-first ok
client proof ok" "SCRAM-SHA-256 client proof verified by the server"
server sha512 sha512 -- "$BOT" -r echo bot@localhost
is "$(cat "$T/sha512.rc")" 0 "SCRAM-SHA-512 preferred when offered, and logged in"
is "$(cat "$T/sha512.notes")" "client-first ok
client proof ok" "SCRAM-SHA-512 client proof verified by the server"
is "$(grep -c -e '^< challenge	.*	-\[redacted\]$' -e '^< success	.*	-\[redacted\]$' \
    -e '^> <auth .*>\[redacted\]</auth>$' \
    -e '^> <response .*>\[redacted\]</response>$' "$T/sha256.err")" 4 \
    "-v: SCRAM payloads redacted both ways"
check "-v: no SCRAM payload in the trace" \
    sh -c "! grep -q -e 'biws' -e 'cj1' -e ',r=' '$T/sha256.err'"
server fic final-in-challenge -- "$BOT" -r echo bot@localhost
check "server signature in a challenge, then success: bound" \
    grep -q "<presence><c " "$T/fic.xml"
is "$(cat "$T/fic.rc")" 5 "input ended before the close: exit 5"
server lie lying-server -- "$BOT" -r echo bot@localhost
is "$(cat "$T/lie.rc")" 2 "wrong server signature: exit 2"
check "wrong server signature: said so" \
    grep -q "wrong server signature" "$T/lie.err"
check "wrong server signature: no bind" \
    sh -c "! grep -q '<iq' '$T/lie.xml'"
server nosig no-signature -- "$BOT" -m SCRAM-SHA-1 -r echo bot@localhost
is "$(cat "$T/nosig.rc")" 2 "success without a server signature: exit 2"

# --- static record files
S=http://etherx.jabber.org/streams
SA=urn:ietf:params:xml:ns:xmpp-sasl
open="stream:stream	xmlns=$S	@from=localhost	@id=1	@version=1.0"
only_plain="stream:features	xmlns=$S	(mechanisms	xmlns=$SA	(mechanism	-PLAIN	)	)"
only_scram="stream:features	xmlns=$S	(mechanisms	xmlns=$SA	(mechanism	-SCRAM-SHA-1	)	)"
run() {
	_n=$1
	shift
	XMPP_PASSWORD='s3cr=t,pass' timeout 20 "$BOT" "$@" >"$T/$_n.out" \
	    2>"$T/$_n.err" <"$T/in"
	echo $? >"$T/$_n.rc"
}
printf '%s\n' "$open" "$only_plain" >"$T/in"
run noplain bot@localhost
is "$(cat "$T/noplain.rc")" 2 "only PLAIN on a link not known safe: exit 2"
check "only PLAIN: the message names -e and -P" grep -q "PLAIN.*-e or -P" \
    "$T/noplain.err"
check "only PLAIN: no auth sent" sh -c "! grep -q '<auth' '$T/noplain.out'"
printf '%s\n' "$open" "$only_scram" >"$T/in"
run nomech -m PLAIN -P bot@localhost
is "$(cat "$T/nomech.rc")" 2 "-m PLAIN against SCRAM only: exit 2"
printf '%s\n' "$open" "$only_plain" "success	xmlns=$SA	-AAAA" \
    "$open" "stream:error	xmlns=$S	(host-unknown	xmlns=urn:ietf:params:xml:ns:xmpp-streams	)	(text	xmlns=urn:ietf:params:xml:ns:xmpp-streams	-no such host	)" \
    >"$T/in"
run serr -e -v bot@localhost
is "$(cat "$T/serr.rc")" 6 "stream error host-unknown: exit 6"
check "stream error: condition and text printed" grep -qx \
    "xmpp-echo: stream error: host-unknown (no such host)" "$T/serr.err"
check "-v: auth payload redacted" grep -q "^> <auth .*>\[redacted\]</auth>" \
    "$T/serr.err"
check "-v: success payload redacted" \
    grep -q "^< success	xmlns=$SA	-\[redacted\]" "$T/serr.err"
check "-v: no password, plain or base64" \
    sh -c "! grep -q -e 's3cr' -e 'AGJvdABzM2NyPXQscGFzcw' '$T/serr.err'"
printf '%s\n' "$open" "$only_plain" "failure	xmlns=$SA	(not-authorized	)	(text	-bad creds	)" >"$T/in"
run fail -P bot@localhost
is "$(cat "$T/fail.rc")" 2 "SASL failure: exit 2"
check "SASL failure: condition printed" \
    grep -q "not-authorized (bad creds)" "$T/fail.err"
printf '%s\n' "$open" "#error	@offset=9	-junk" >"$T/in"
run perr bot@localhost
is "$(cat "$T/perr.rc")" 4 "#error record: exit 4"
printf '%s\n' "$open" >"$T/in"
run eof bot@localhost
is "$(cat "$T/eof.rc")" 5 "EOF before the close: exit 5"
printf '%s\n' "$open" "#error	@offset=77	-stream truncated" >"$T/in"
run cut bot@localhost
is "$(cat "$T/cut.rc"):$(cat "$T/cut.err")" "5:xmpp-echo: input ended before the stream was closed (cut at offset 77)" \
    "xmpp-parse's truncated stream: a cut, exit 5, not a protocol error"

# --- options
is "$("$BOT" -V)" "xmpp-echo $VERSION" "-V"
"$BOT" -h >"$T/h.out" 2>&1
is "$?:$(head -n 1 "$T/h.out")" "0:usage: xmpp-echo [-AehNPTvVX] [-b burst] \
[-i idle] [-k keepalive] [-L maxstanza]" "-h prints the usage, exit 0"
</dev/null "$BOT" -m SCRAM-SHA-1-PLUS bot@localhost 2>/dev/null
is "$?" 1 "-PLUS mechanisms refused: exit 1"

# --- the password: a file, never argv; none at all is an error
printf '%s\n' "$open" "$only_plain" >"$T/in"
printf 'file pass\nsecond line\n' >"$T/pass"
chmod 600 "$T/pass"
run pfile -P -p "$T/pass" bot@localhost
check "-p: the first line is the password" \
    grep -q "mechanism='PLAIN'>AGJvdABmaWxlIHBhc3M=</auth>" "$T/pfile.out"
is "$(cat "$T/pfile.err")" "xmpp-echo: input ended before the stream was closed" \
    "-p: no warning for a private file"
chmod 644 "$T/pass"
run pfile2 -P -p "$T/pass" bot@localhost
check "-p: a warning for a file others can read" \
    grep -q "accessible by group or others" "$T/pfile2.err"
setsid -w env -u XMPP_PASSWORD "$BOT" bot@localhost <"$T/in" >/dev/null \
    2>"$T/nopw.err"
is "$?" 1 "no password and no terminal: exit 1"
check "no password: said so" grep -q "no password" "$T/nopw.err"

# --- confined once it has its password, unless -X.  The bot opens the
# fifo itself, in its process, then meets our end of it.
confined() {
	rm -f "$T/hold" "$T/hold.out"
	mkfifo "$T/hold"
	spawn sh -c 'exec env XMPP_PASSWORD=pw "$0" "$@" bot@localhost \
	    <"$T/hold" >"$T/hold.out" 2>/dev/null' "$BOT" "$@"
	exec 3>"$T/hold"
	wait_file_grep "$T/hold.out" "stream:stream" 10 &&
	    sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$spawned/status"
	exec 3>&-
	wait_gone "$spawned" 10
}
if ldd "$BOT" | grep -q -e libasan -e libtsan; then
	skip "seccomp filter on" "sanitizer build"
	skip "-X: no seccomp filter" "sanitizer build"
else
	is "$(confined)" 2 "seccomp filter on"
	is "$(confined -X)" 0 "-X: no seccomp filter"
fi
