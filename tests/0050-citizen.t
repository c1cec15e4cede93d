#!/bin/sh
# xmpp-echo as a citizen of the network: iqs answered once each,
# subscriptions approved, a clean close on SIGTERM, counters on SIGUSR1,
# pings to the server, stream errors told apart by exit status.
. "$(dirname "$0")/lib.sh"
plan 31

BOT=$TOP/xmpp-echo/xmpp-echo
STATUS="Echoing <all> & 'sundry'"

# ev FILE EV KEY: KEY of every event EV in citizen.py's output FILE
ev() {
	$PY -c 'import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(l)
    if e["ev"] == sys.argv[2]:
        print(e.get(sys.argv[3]))' "$@"
}

# iqx FILE ID: the XML of every iq with ID the citizen got, one a line
iqx() {
	$PY -c 'import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(l)
    if e["ev"] == "iq" and e["id"] == sys.argv[2]:
        print(e["xml"])' "$@"
}

echobot_setup
CAROL_PW=$(randpw)
prosody_adduser carol "$CAROL_PW" || bail "prosodyctl adduser carol failed"

pipeline bot -v -P -r echo -s "$STATUS" -p "$T/bot.pass" bot@localhost
spawn env CITIZEN_PASSWORD="$CAROL_PW" $PY "$TOP/tests/citizen.py" \
    --port "$C2S_PORT" --jid carol@localhost --to bot@localhost/echo \
    --subscribe --iqs --linger 2 --until-unavailable --timeout 20 \
    >"$T/carol.out" 2>"$T/carol.err"
CAROL=$spawned
wait_file_grep "$T/carol.out" '"ready"' 40 || diag "$(cat "$T/carol.err")"

# --- subscription and presence
is "$(ev "$T/carol.out" presence type | grep -c '^subscribed$')" 1 \
    "the subscription request is approved"
is "$(ev "$T/carol.out" presence type | grep -c '^subscribe$')" 1 \
    "the bot asks for carol's presence in return"
is "$(ev "$T/carol.out" presence status | grep -v None | sort -u)" \
    "$STATUS" "the bot's presence reaches carol with its status text"

# --- iqs: one answer each, the right one
for id in c-ping c-disco c-version c-unknown; do
	is "$(iqx "$T/carol.out" $id | wc -l)" 1 "$id: exactly one answer"
done
check "ping: a result" grep -q "\"id\": \"c-ping\", \"type\": \"result\"" \
    "$T/carol.out"
disco=$(iqx "$T/carol.out" c-disco)
ident=$(echo "$disco" | grep -o '<identity [^>]*>' |
    grep -o '[a-z]*="[^"]*"' | sort | tr '\n' ' ')
is "$(echo "$disco" | grep -c 'type="result"')$ident" \
    '1category="client" name="echobot" type="bot" ' \
    "disco#info: a result, identity client/bot named echobot"
is "$(echo "$disco" | grep -o 'var="[^"]*"' | tr '\n' ' ')" \
    'var="http://jabber.org/protocol/disco#info" var="jabber:iq:version" var="urn:xmpp:ping" var="urn:xmpp:receipts" var="urn:xmpp:message-correct:0" ' \
    "disco#info: the features supported, no others"
VERSION=$(sed -n 's/^VERSION = //p' "$TOP/Makefile")
check "version: echobot $VERSION" sh -c "$(cat <<-'EOF'
	grep -q '"id": "c-version", "type": "result".*<name>echobot</name><version>'"$1"'</version>' "$2"
	EOF
	)" sh "$VERSION" "$T/carol.out"
unknown=$(iqx "$T/carol.out" c-unknown)
case $unknown in
*'type="error"'*'<frob xmlns="urn:example:frob" n="1"><knob>&lt;x&gt;</knob></frob>'*'<error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" /></error>'*)
	pass "unknown namespace: service-unavailable, the request included" ;;
*)	fail "unknown namespace: service-unavailable, the request included"
	diag "$unknown" ;;
esac
is "$(iqx "$T/carol.out" c-result | wc -l)" 0 "an iq result is not answered"

# --- SIGUSR1: the counters
pid=$(cat "$T/bot.pid")
kill -USR1 "$pid"
wait_file_grep "$T/bot.err" "iq answered" 10
# iqs answered: carol's four and the roster pushes of the subscription,
# as many as the trace shows answers written before the counters
n=$(awk '/^> <iq type=.(result|error)/ { n++ }
    /^xmpp-echo: echoed/ { print n + 0; exit }' "$T/bot.err")
check "SIGUSR1: the counters" grep -qx \
    "xmpp-echo: echoed 0, rate-dropped 0, size-dropped 0, loop-dropped 0, iq answered $n, jid-dropped 0" \
    "$T/bot.err"
check "SIGUSR1: carol's four iqs and the roster pushes answered" \
    test "$n" -ge 5
check "SIGUSR1: the bot goes on" alive "$pid"

# --- SIGTERM: unavailable, the stream closed, every stage exits 0
kill -TERM "$pid"
ended "$CAROL" 20
is "$?" 0 "SIGTERM: carol saw the bot go unavailable"
is "$(ev "$T/carol.out" presence type | tail -n 1)" unavailable \
    "SIGTERM: the bot's last presence is unavailable"
wait_file_grep "$T/bot.xc" . 10
is "$(cat "$T/bot.xc" "$T/bot.xp" "$T/bot.xe" 2>&1 | tr '\n' ' ')" "0 0 0 " \
    "SIGTERM: xmpp-connect, xmpp-parse and xmpp-echo exit 0"
is "$(grep -c "echoed 0," "$T/bot.err")" 2 "SIGTERM: the counters once more"

# --- a scripted server: login, then pings that may go unanswered
cat >"$T/server.py" <<'EOF'
import os, re, select, subprocess, sys, time
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
STREAM = "http://etherx.jabber.org/streams"
BIND = "urn:ietf:params:xml:ns:xmpp-bind"

def rec(kind, *items):
    return (kind + "".join("\t" + i for i in items) + "\n").encode()

answer, argv = sys.argv[1] == "answer", sys.argv[2:]
p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out, end = b"", time.time() + 20

def expect(pat):
    global out
    while True:
        m = re.search(pat.encode(), out)
        if m:
            out = out[m.end():]
            return m
        r, _, _ = select.select([p.stdout], [], [], max(0, end - time.time()))
        d = os.read(p.stdout.fileno(), 65536) if r else b""
        if not d:
            print("server.py: no %r in %r" % (pat, out), file=sys.stderr)
            p.kill()
            sys.exit(1)
        sys.stdout.buffer.write(d)
        sys.stdout.flush()
        out += d

def send(line):
    p.stdin.write(line)
    p.stdin.flush()

hdr = rec("stream:stream", "xmlns=" + STREAM, "@from=localhost", "@id=s",
          "@version=1.0")
expect("<stream:stream [^>]*>")
send(hdr + rec("stream:features", "xmlns=" + STREAM, "(mechanisms",
               "xmlns=" + SASL, "(mechanism", "-PLAIN", ")", ")"))
expect("</auth>")
send(rec("success", "xmlns=" + SASL))
expect("<stream:stream [^>]*>")
send(hdr + rec("stream:features", "xmlns=" + STREAM, "(bind",
               "xmlns=" + BIND, ")"))
m = expect("<iq type='set' id='([^']+)'>")
send(rec("iq", "xmlns=jabber:client", "@type=result", "@id=" + m.group(1).decode(),
         "(bind", "xmlns=" + BIND, "(jid", "-bot@localhost/echo", ")", ")"))
m = expect("<iq type='get' id='([^']+)'><query xmlns='jabber:iq:roster'/>")
send(rec("iq", "xmlns=jabber:client", "@type=result", "@id=" + m.group(1).decode()))
expect("<presence><c [^>]*/></presence>")
if answer:
    for i in range(2):
        m = expect("<iq type='get' id='([^']+)' to='localhost'>"
                   "<ping xmlns='urn:xmpp:ping'/></iq>")
        send(rec("iq", "xmlns=jabber:client", "@type=result", "@from=localhost",
                 "@id=" + m.group(1).decode()))
    send(rec("/stream:stream"))
try:
    rc = p.wait(max(0.1, end - time.time()))
    out += p.stdout.read()
except subprocess.TimeoutExpired:
    p.kill()
    rc = "timeout"
    out += p.stdout.read()
sys.stdout.buffer.write(out)
print("\nrc=%s" % rc)
EOF
XMPP_PASSWORD=pw $PY "$T/server.py" silent "$BOT" -P -k 1 -i 1 -t 2 \
    bot@localhost >"$T/silent.out" 2>"$T/silent.err"
is "$(tail -n 1 "$T/silent.out")" "rc=8" "an unanswered ping: exit 8"
check "an unanswered ping: a ping to the domain" grep -q \
    "<iq type='get' id='[^']*' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>" \
    "$T/silent.out"
check "an unanswered ping: a whitespace keepalive" grep -q "urn:xmpp:ping'/></iq> " \
    "$T/silent.out"
is "$(grep -v '^xmpp-echo: echoed' "$T/silent.err")" \
    "xmpp-echo: server did not answer a ping in 2 s" \
    "an unanswered ping: said so"
XMPP_PASSWORD=pw $PY "$T/server.py" answer "$BOT" -P -k 1 -i 1 -t 2 \
    bot@localhost >"$T/answer.out" 2>"$T/answer.err"
is "$(tail -n 1 "$T/answer.out")" "rc=0" \
    "answered pings: the bot goes on until the server closes"

# --- stream errors: the condition decides whether a retry makes sense
S=http://etherx.jabber.org/streams
E=urn:ietf:params:xml:ns:xmpp-streams
serr() {
	printf 'stream:stream\txmlns=%s\t@from=localhost\t@version=1.0\n' $S
	printf 'stream:error\txmlns=%s\t(%s\txmlns=%s\t%s)\n' $S "$1" $E "$2"
}
for c in conflict:7 host-unknown:6 system-shutdown:3 not-well-formed:6 \
    policy-violation:3; do
	serr "${c%:*}" | XMPP_PASSWORD=pw "$BOT" -P bot@localhost \
	    >/dev/null 2>"$T/serr.err"
	is "$?:$(cat "$T/serr.err")" \
	    "${c#*:}:xmpp-echo: stream error: ${c%:*}" "${c%:*}: exit ${c#*:}"
done
serr see-other-host '-xmpp.example.net:5223	' |
    XMPP_PASSWORD=pw "$BOT" -P bot@localhost >/dev/null 2>"$T/serr.err"
is "$?:$(cat "$T/serr.err")" \
    "3:xmpp-echo: stream error: see-other-host xmpp.example.net:5223" \
    "see-other-host: exit 3, the host named"
