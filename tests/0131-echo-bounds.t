#!/bin/sh
# xmpp-echo against a hostile peer and a hostile server, as records on
# stdin: addresses checked (RFC 7622), the JID bound checked, every
# answer from the sender's bucket, nothing written past -L.
. "$(dirname "$0")/lib.sh"
plan 37

BOT=$TOP/xmpp-echo/xmpp-echo
[ -x "$BOT" ] || bail "$BOT not built (make xmpp-echo/xmpp-echo)"

# drive.py NAME SCENARIO -- BOT ARGS: logs the bot in with PLAIN (the
# JID bound is the scenario's), plays the scenario, closes the stream.
# The bot's output goes to $T/NAME.xml, its stderr to $T/NAME.err, its
# exit status to $T/NAME.rc, the bytes of records sent after the login
# to $T/NAME.in.  Every wait is bounded: a hang is a failure.
cat >"$T/drive.py" <<'EOF'
import os, re, select, subprocess, sys, time

T = os.environ["T"]
STREAM = "http://etherx.jabber.org/streams"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND = "urn:ietf:params:xml:ns:xmpp-bind"

def esc(s):
    out = []
    for c in s:
        if c == "\\": out.append("\\\\")
        elif c == "\t": out.append("\\t")
        elif c == "\n": out.append("\\n")
        elif ord(c) < 0x20 or ord(c) == 0x7f: out.append("\\x%02x" % ord(c))
        else: out.append(c)
    return "".join(out)

def rec(kind, *items):
    return kind + "".join("\t" + i for i in items) + "\n"

class Bot:
    def __init__(self, name, argv):
        self.err = open("%s/%s.err" % (T, name), "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err)
        self.out = b""
        self.pos = 0
        self.sent = 0

    def send(self, line):
        self.sent += len(line.encode())
        try:
            self.p.stdin.write(line.encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def read(self, until):
        r, _, _ = select.select([self.p.stdout], [], [],
                                max(0, until - time.time()))
        if not r:
            return False
        chunk = os.read(self.p.stdout.fileno(), 1 << 20)
        self.out += chunk
        return bool(chunk)

    def expect(self, pattern, secs=20):
        until = time.time() + secs
        while True:
            m = re.compile(pattern).search(
                self.out.decode("utf-8", "replace"), self.pos)
            if m:
                self.pos = m.end()
                return m
            if not self.read(until):
                raise TimeoutError(pattern)

    def finish(self, secs=20):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        until = time.time() + secs
        while self.read(until):
            pass
        try:
            return self.p.wait(max(0.1, until - time.time()))
        except subprocess.TimeoutExpired:
            self.p.kill()
            return "timeout"

def login(b, jid="bot@localhost/echo"):
    for feats in (["(mechanisms", "xmlns=" + SASL, "(mechanism", "-PLAIN",
                   ")", ")"], ["(bind", "xmlns=" + BIND, ")"]):
        b.expect(r"<stream:stream [^>]*>")
        b.send(rec("stream:stream", "xmlns=" + STREAM, "@from=localhost",
                   "@id=s1", "@version=1.0"))
        b.send(rec("stream:features", "xmlns=" + STREAM, *feats))
        if feats[0] == "(mechanisms":
            b.expect(r"<auth [^>]*>[^<]*</auth>")
            b.send(rec("success", "xmlns=" + SASL))
    m = b.expect(r"<iq type='set' id='([^']+)'><bind ")
    b.send(rec("iq", "xmlns=jabber:client", "@type=result",
               "@id=" + m.group(1), "(bind", "xmlns=" + BIND,
               "(jid", "-" + esc(jid), ")", ")"))
    m = b.expect(r"<iq type='get' id='([^']+)'><query xmlns='jabber:iq:roster'/>")
    b.send(rec("iq", "xmlns=jabber:client", "@type=result",
               "@id=" + m.group(1)))
    b.expect(r"<presence><c [^>]*/></presence>")
    b.sent = 0

def msg(frm, body, to="bot@localhost/echo", typ="chat", mid="m"):
    return rec("message", "xmlns=jabber:client", "@from=" + esc(frm),
               "@to=" + esc(to), "@type=" + typ, "@id=" + esc(mid),
               "(body", "-" + esc(body), ")")

def iq(frm, iid, *payload, typ="get", to="bot@localhost/echo"):
    return rec("iq", "xmlns=jabber:client", "@from=" + esc(frm),
               "@to=" + esc(to), "@type=" + typ, "@id=" + esc(iid), *payload)

PING = ("(ping", "xmlns=urn:xmpp:ping", ")")

def pres(frm, typ):
    return rec("presence", "xmlns=jabber:client", "@from=" + esc(frm),
               "@to=bot@localhost", "@type=" + typ)

def marker(b):
    b.send(msg("zed@localhost/z", "marker"))
    b.expect(r"marker</body></message>")
    b.send(rec("/stream:stream"))
    b.expect(r"</stream:stream>")

LONG = "l" * 1023
BAD = [LONG + "l@localhost/r",              # localpart of 1024 bytes
       "alice@" + "d" * 1024,                # domainpart of 1024 bytes
       "alice@localhost/" + "r" * 1024,      # resourcepart of 1024 bytes
       "a" * 900000 + "@localhost/r",        # the 900 KB of the issue
       "alice@localhost/", "@localhost", "alice@", "",
       "alice@.localhost", "alice@localhost..", "alice@local..host",
       "al ice@localhost", "al'ice@localhost", "a@b@localhost",
       "alice@local host", "alice@local<host", "alice@[::1",
       "alice@localhost/a\x01b", "alice@localhost/a\x7fb",
       "alice@localhost/a\u0085b"]

def addresses(b):
    login(b)
    for j in BAD:
        b.send(msg(j, "bad from"))
        b.send(iq(j, "bad-iq", *PING))
        b.send(pres(j, "subscribe"))
    b.send(msg("alice@localhost/h", "bad to", to="bot@localhost/echo\x01"))
    b.send(msg("alice@LocalHost./h", "final dot"))
    b.send(msg(LONG + "@localhost/" + "\u00e9" * 511, "longest"))
    b.send(msg("carol@[::1]/x", "ip literal"))
    b.send(msg("dora@b\u00fccher.example/x", "idn"))
    b.send(iq("alice@localhost/h", "to-dot", *PING, to="bot@localhost./echo"))
    marker(b)

def flood_jids(b, n=int(os.environ.get("SENDERS", "100"))):
    login(b)
    x = "x" * 900000
    for i in range(n):
        b.send(rec("message", "xmlns=jabber:client",
                   "@from=s%d%s@localhost/r" % (i, x), "@type=chat",
                   "(body", "-big", ")"))
    marker(b)

def bucket(b):
    login(b)
    for i in range(5):
        b.send(pres("dave@localhost", "unsubscribe"))
    for i in range(5):
        b.send(iq("erin@localhost/e", "ping%d" % i, *PING))
    for i in range(5):
        b.send(pres("fay@localhost/f", "subscribe"))
    for i in range(5):
        b.send(iq("gus@localhost/g", "u%d" % i,
                  "(frob", "xmlns=urn:example:frob", ")"))
    marker(b)

def bounds(b):
    login(b)
    b.send(msg("alice@localhost/h", '"' * 12000, mid='big"1'))
    b.send(msg("alice@localhost/h", '"' * 12000, typ="error", mid="e1"))
    b.send(msg("alice@localhost/h", "a" * 9000, mid="fits"))
    attrs = ["@{urn:%s:%04d}a=" % ("n" * 2000, i) for i in range(12)]
    b.send(iq("alice@localhost/h", "ns", "(q", "xmlns=urn:example:q",
              *attrs, ")"))
    b.send(iq("alice@localhost/h", "small", "(q", "xmlns=urn:example:q",
              "@k=v", "-<x>", ")"))
    b.send(iq("alice@localhost/h", "'" * 12000, *PING))
    marker(b)

def bind(jid):
    return lambda b: login(b, jid)

SCENARIOS = {"addresses": addresses, "flood-jids": flood_jids,
             "bucket": bucket, "bounds": bounds,
             "bind-eve": bind("eve@evil.example/x"), "bind-empty": bind(""),
             "bind-bare": bind("bot@localhost"),
             "bind-ctrl": bind("bot@localhost/e\x01cho"),
             "bind-huge": bind("bot@localhost/" + "r" * 900000),
             "bind-case": bind("BOT@LocalHost./echo")}

name, scenario, argv = sys.argv[1], sys.argv[2], sys.argv[4:]
b = Bot(name, argv)
try:
    SCENARIOS[scenario](b)
    if scenario == "bind-case":
        b.send(iq("alice@localhost/h", "after-bind", *PING))
        b.expect(r"<iq type='result' id='after-bind'")
        b.send(rec("/stream:stream"))
        b.expect(r"</stream:stream>")
except TimeoutError as e:
    open("%s/%s.notes" % (T, name), "w").write(
        "timeout waiting for %s\n" % str(e)[:80])
rc = b.finish()
open("%s/%s.xml" % (T, name), "wb").write(b.out)
open("%s/%s.rc" % (T, name), "w").write("%s\n" % rc)
open("%s/%s.in" % (T, name), "w").write("%d\n" % b.sent)
EOF

drive() {
	_n=$1
	shift
	XMPP_PASSWORD=pw timeout 120 $PY "$T/drive.py" "$_n" "$@" ||
	    diag "drive.py $_n failed"
	[ -f "$T/$_n.rc" ] || echo "drive.py failed" >"$T/$_n.rc"
	# where the bot gives up at the binding, the roster never comes
	case $_n in
	bad-*)	;;
	*)	[ -f "$T/$_n.notes" ] && diag "$_n: $(cat "$T/$_n.notes")" ;;
	esac
	return 0
}

# stanzas NAME: the bot's stanzas after the login, one a line
stanzas() {
	$PY - "$T/$1.xml" <<-'EOF'
	import re, sys
	s = open(sys.argv[1], encoding="utf-8", errors="replace").read()
	s = s[s.index("</presence>") + 11:]
	for m in re.finditer(r"<(message|iq|presence)\b[^>]*?(/>|>.*?</\1>)", s, re.S):
	    print(m.group(0))
	EOF
}

counters() { tail -n 1 "$T/$1.err"; }

# --- finding 6: addresses
drive addr addresses -- "$BOT" -P -r echo bot@localhost
is "$(cat "$T/addr.rc")" 0 "addresses: exit 0 at the server's close"
stanzas addr >"$T/addr.out"
is "$(grep -c 'bad' "$T/addr.out")" 0 \
    "no answer to a stanza from or to an invalid JID"
is "$(counters addr)" "xmpp-echo: echoed 5, rate-dropped 0, size-dropped 0, \
loop-dropped 0, iq answered 1, jid-dropped 61" \
    "each of them counted as jid-dropped"
check "a final dot in the domain removed, case kept" grep -q \
    "^<message to='alice@LocalHost/h' type='chat' id='[^']*'><body>final dot</body>" \
    "$T/addr.out"
check "parts of 1023 bytes, UTF-8 in the resource: echoed" grep -q \
    "^<message to='l\{1023\}@localhost/\(é\)\{511\}' .*longest</body>" \
    "$T/addr.out"
check "an IP literal domain: echoed" grep -q \
    "^<message to='carol@\[::1\]/x' .*ip literal</body>" "$T/addr.out"
check "an internationalized domain: echoed" grep -q \
    "^<message to='dora@bücher.example/x' .*idn</body>" "$T/addr.out"
check "to our full JID with a final dot: answered" grep -q \
    "^<iq type='result' id='to-dot' to='alice@localhost/h'>" "$T/addr.out"

drive fj flood-jids -- "$BOT" -P -r echo bot@localhost
is "$(cat "$T/fj.rc")" 0 "100 senders of 900 KB JIDs: exit 0"
is "$(counters fj)" "xmpp-echo: echoed 1, rate-dropped 0, size-dropped 0, \
loop-dropped 0, iq answered 0, jid-dropped 100" \
    "100 senders of 900 KB JIDs: all dropped, counted"

# --- finding 7: the JID bound
for c in eve empty bare ctrl huge; do
	drive bad-$c bind-$c -- "$BOT" -P -r echo bot@localhost
done
is "$(cat "$T/bad-eve.rc")" 4 "bound to another account: exit 4"
check "bound to another account: said so" grep -qx "xmpp-echo: resource \
binding: the server bound eve@evil.example/x, not a full JID of bot@localhost" \
    "$T/bad-eve.err"
is "$(cat "$T/bad-empty.rc")" 4 "bound to an empty JID: exit 4"
check "bound to an empty JID: said so" grep -qx \
    "xmpp-echo: resource binding: the server bound no valid JID" \
    "$T/bad-empty.err"
is "$(cat "$T/bad-bare.rc")" 4 "bound to our bare JID, no resource: exit 4"
is "$(cat "$T/bad-ctrl.rc")" 4 "bound JID with a control character: exit 4"
is "$(cat "$T/bad-huge.rc")" 4 "bound JID of 900 KB: exit 4"
check "bound JID of 900 KB: a short message" \
    test "$(wc -c <"$T/bad-huge.err")" -lt 200
is "$(cat "$T"/bad-eve.xml "$T"/bad-empty.xml "$T"/bad-bare.xml \
    "$T"/bad-ctrl.xml "$T"/bad-huge.xml | grep -c '<presence')" 0 \
    "no presence sent after any bad binding"
drive bind-case bind-case -- "$BOT" -P -r echo bot@localhost
is "$(cat "$T/bind-case.rc")" 0 \
    "bound JID differing in ASCII case and a final dot: accepted"
check "then an iq to bot@localhost/echo is ours" \
    grep -q "<iq type='result' id='after-bind'" "$T/bind-case.xml"

# --- finding 12 (and 2): every answer from the bucket
drive bucket bucket -- "$BOT" -P -r echo -b 2 -R 1 bot@localhost
stanzas bucket >"$T/bucket.out"
is "$(grep -c "type='unsubscribed'" "$T/bucket.out")" 2 \
    "-b 2: two of five unsubscribes answered"
is "$(grep -c "^<iq type='result' id='ping" "$T/bucket.out")" 2 \
    "-b 2: two of five pings answered"
is "$(grep -c "type='subscribed'" "$T/bucket.out")" 2 \
    "-b 2: two of five subscription requests approved"
is "$(grep -c "^<iq type='error' id='u" "$T/bucket.out")" 2 \
    "-b 2: two of five unknown requests answered with an error"
is "$(counters bucket)" "xmpp-echo: echoed 1, rate-dropped 12, \
size-dropped 0, loop-dropped 0, iq answered 4, jid-dropped 0" \
    "-b 2: the rest counted as rate-dropped"

# --- finding 1 and 2: nothing written past -L, no amplifier
drive bounds bounds -- "$BOT" -P -r echo -L 10000 bot@localhost
is "$(cat "$T/bounds.rc")" 0 "bounds: exit 0"
stanzas bounds >"$T/bounds.out"
longest=$(awk '{ if (length($0) > n) n = length($0) } END { print n }' \
    "$T/bounds.out")
check "-L 10000: no stanza written longer ($longest)" test "$longest" -le 10000
is "$(grep -c "<body>\"" "$T/bounds.out")" 0 "12000 quotes: not echoed"
check "12000 quotes: not-acceptable, modify, the limit named" grep -qx \
    "<message to='alice@localhost/h' type='error' id='big&quot;1'><error \
type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>echo longer \
than 10000 bytes</text></error></message>" "$T/bounds.out"
is "$(grep -c "id='e1'" "$T/bounds.out")" 0 "a message of type error: no error"
check "9000 bytes of text: echoed" grep -q "<body>a\{9000\}</body>" \
    "$T/bounds.out"
ns=$(grep "^<iq type='error' id='ns'" "$T/bounds.out")
is "$(printf %s "$ns" | grep -c "service-unavailable")" 1 \
    "namespaced attributes: service-unavailable"
check "namespaced attributes: no copy, ${#ns} bytes" test "${#ns}" -lt 300
check "a small request: copied in the error" grep -q \
    "^<iq type='error' id='small' to='alice@localhost/h'><q xmlns='urn:example:q' k='v'>&lt;x&gt;</q><error " \
    "$T/bounds.out"
is "$(grep -c "<iq type='result' id='&apos;" "$T/bounds.out")" 0 \
    "an id of 12000 quotes: no answer"
is "$(counters bounds)" "xmpp-echo: echoed 2, rate-dropped 0, \
size-dropped 2, loop-dropped 0, iq answered 2, jid-dropped 0" \
    "bounds: the two too long counted as size-dropped"
diag "bounds: $(cat "$T/bounds.in") bytes of records in," \
    "$(wc -c <"$T/bounds.xml") bytes of XML out (login included)"
