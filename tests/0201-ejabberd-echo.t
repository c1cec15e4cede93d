#!/bin/sh
# The echo bot against a private ejabberd, with slixmpp as the peer:
# 100 messages echoed in order, iq answers (ping, disco#info and caps,
# version, an unknown query), receipts and corrections, the server's own
# pings (mod_ping send_pings) and a roster push from the bot's account,
# a clean close.  ejabberd writes stanzas its own way (xml:lang on each,
# its attribute order, an <r/> after every stanza it sends).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/ejabberd.sh"
ejabberd_require
plan 20

ejabberd_config
# The server pings a client silent for a second.
sed -i 's/^  mod_ping: {}$/  mod_ping: {send_pings: true, ping_interval: 1}/' \
    "$ECONF"
ejabberd_setup
# bot_start, with a burst that the 100 messages leave room in (-b after
# the JID is xmpp-echo's).
spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -v -n 1 -t plain \
    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost -b 1000 \
    2>>"$T/bot.err" </dev/null
BOT_PID=$spawned

i=1
while [ $i -le 100 ]; do
	echo "\"msg $i\""
	i=$((i + 1))
done >"$T/send"
alice --no-tls --send "$T/send" --expect 100 --timeout 40 >"$T/got"
is "$?" 0 "alice got 100 echoes in time"
is "$(jfield body "$T/got")" "$(jnorm "$T/send")" "the bodies, in order"
is "$(jfield type "$T/got" | sort -u)" '"chat"' "every echo is type chat"
from=$(jfield from "$T/got" | sort -u)
case $from in
'"bot@localhost/'?*'"') pass "every echo from the bot's full JID ($from)" ;;
*) fail "every echo from the bot's full JID ($from)" ;;
esac

# Caps and disco#info (XEP-0115 section 5.1), and a ping.
alice --no-tls --disco --ping --timeout 30 --linger 0 >"$T/disco"
is "$?" 0 "alice saw the bot's presence, asked and pinged"
sed -n 1p "$T/disco" >"$T/caps"
sed -n 2p "$T/disco" >"$T/info"
$PY -c 'import base64, hashlib, json, sys
caps = json.load(open(sys.argv[1]))["caps"]
d = json.load(open(sys.argv[2]))
ids = sorted(tuple(x or "" for x in i) for i in d["identities"])
s = "".join("%s/%s/%s/%s<" % i for i in ids)
s += "".join(f + "<" for f in sorted(d["features"], key=lambda f: f.encode()))
ver = base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()
sys.exit(caps is None or caps["ver"] != ver)' "$T/caps" "$T/info"
is "$?" 0 "caps in the presence ejabberd relayed: ver is the disco#info hash" ||
    diag "$(cat "$T/disco")"
is "$(jfield ping "$T/disco" | grep -v null)" '"pong"' "ping: answered"

# iq.py: as alice, once the bot is online, asks its full JID for its
# version and for something it does not know; one JSON line an answer.
cat >"$T/iq.py" <<'PY'
import asyncio, json, logging, os, sys
from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

class Asker(ClientXMPP):
    def __init__(self):
        ClientXMPP.__init__(self, 'alice@localhost', os.environ['PEER_PASSWORD'])
        self['feature_mechanisms'].unencrypted_plain = True
        self.bot = asyncio.get_event_loop().create_future()
        self.done = asyncio.get_event_loop().create_future()
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('presence_available', self.presence)

    def presence(self, p):
        if p['from'].bare == 'bot@localhost' and not self.bot.done():
            self.bot.set_result(p['from'])

    async def ask(self, to, ns):
        iq = self.make_iq_get(ito=to)
        ET.SubElement(iq.xml, '{%s}query' % ns)
        try:
            res = await iq.send(timeout=10)
            q = res.xml.find('{%s}query' % ns)
            out = {'ns': ns, 'result': {c.tag.split('}')[1]: c.text for c in q}}
        except IqError as e:
            out = {'ns': ns, 'error': '%s/%s' % (e.iq['error']['type'],
                                                 e.iq['error']['condition'])}
        except IqTimeout:
            out = {'ns': ns, 'error': 'timeout'}
        print(json.dumps(out), flush=True)

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        to = await asyncio.wait_for(self.bot, 20)
        await self.ask(to, 'jabber:iq:version')
        await self.ask(to, 'urn:example:unknown')
        self.done.set_result(0)

logging.basicConfig(level=logging.ERROR)
logging.getLogger('asyncio').setLevel(logging.CRITICAL)
c = Asker()
c.connect(('127.0.0.1', int(sys.argv[1])), force_starttls=False,
          disable_starttls=True)
loop = asyncio.get_event_loop()
code = loop.run_until_complete(asyncio.wait_for(c.done, 40))
c.disconnect(wait=2)
sys.exit(code)
PY
PEER_PASSWORD=$ALICE_PW $PY "$T/iq.py" "$C2S_PORT" >"$T/iq" 2>"$T/iq.err"
is "$?" 0 "iq.py: both asked" || diag "$(cat "$T/iq.err")"
is "$(sed -n 1p "$T/iq")" \
    '{"ns": "jabber:iq:version", "result": {"name": "echobot", "version": "0.1"}}' \
    "version: echobot and its version, no os"
is "$(sed -n 2p "$T/iq")" \
    '{"ns": "urn:example:unknown", "error": "cancel/service-unavailable"}' \
    "an unknown query: service-unavailable"

# XEP-0184 receipts and XEP-0308 corrections.
cat >"$T/send2" <<'JSON'
{"id": "r1", "body": "receipt, please", "receipt": true}
{"id": "m1", "body": "helo wrold"}
{"id": "m2", "body": "hello world", "replace": "m1"}
{"id": "e1", "body": ""}
{"id": "mk", "body": "marker"}
JSON
alice --no-tls --receipts --send "$T/send2" --expect 5 --timeout 30 \
    >"$T/got2"
is "$?" 0 "receipts: alice got 5 messages in time"
is "$(jfield received "$T/got2" | tr '\n' ' ')" \
    '"r1" null null null null ' "a receipt naming r1, first"
is "$(jfield body "$T/got2" | sed 1d | tr '\n' ' ')" \
    '"receipt, please" "helo wrold" "hello world" "marker" ' \
    "every body echoed once, in order, the empty one not at all"
m1=$(sed -n 3p "$T/got2" | jfield id /dev/stdin)
is "$(sed -n 4p "$T/got2" | jfield replace /dev/stdin)" "$m1" \
    "a correction of m1: of our echo of m1"

# The server's pings, from its domain, each answered with a result.
wait_file_grep "$T/bot.err" "^< iq	.*@from=localhost	@type=get.*(ping	xmlns=urn:xmpp:ping" 10
id=$(grep "^< iq	.*@from=localhost	@type=get.*(ping	xmlns=urn:xmpp:ping" \
    "$T/bot.err" | head -n 1 | sed 's/.*@id=\([^	]*\).*/\1/')
check "ejabberd pings the bot; its ping is answered" grep -qF \
    "> <iq type='result' id='$id' to='localhost'></iq>" "$T/bot.err"

# A roster push (RFC 6121 section 2.1.6): from the bot's bare JID.
ectl add_rosteritem bot localhost carol localhost carol "" none >/dev/null
wait_file_grep "$T/bot.err" "^< iq	.*@from=bot@localhost	@type=set.*jid=carol@localhost" 10
id=$(grep "^< iq	.*@from=bot@localhost	@type=set.*jid=carol@localhost" \
    "$T/bot.err" | sed 's/.*@id=\([^	]*\).*/\1/')
check "a roster push is answered with a result" wait_file_grep "$T/bot.err" \
    "^> <iq type='result' id='$id' to='bot@localhost'></iq>" 10

alice_ping "still online, still echoing" --no-tls --timeout 30

# SIGTERM: goodbye, the stream closed on both sides, exit 0.
kill -TERM "$BOT_PID"
ended "$BOT_PID" 20
is "$?" 0 "SIGTERM: echobot.sh exits 0"
check "SIGTERM: unavailable presence, then the stream closed by both" sh -c \
    'grep -q "^> <presence type=.unavailable./>" "$1" &&
    grep -q "^> </stream:stream>" "$1" && grep -q "^< /stream:stream" "$1"' \
    sh "$T/bot.err"
if grep -q "\[error\]" "$EDIR/log/ejabberd.log"; then
	fail "ejabberd logged no error"
	diag "$(grep -A 5 "\[error\]" "$EDIR/log/ejabberd.log" | head -n 40)"
else
	pass "ejabberd logged no error"
fi
