#!/bin/sh
# A stanza that Prosody (default limits) accepts but re-serializes past
# xmpp-parse's limit: a 23 KB iq whose 2,000 attributes share one 2 KB
# namespace grows to 4 MB, as Prosody declares the namespace again on
# each.  It is skipped, the iq answered with an error, the session goes
# on (issue 11, finding 3).
. "$(dirname "$0")/lib.sh"
plan 8

# big.py JID BOT PORT NATTR: once the bot answers pings, sends an iq get
# and then a chat message, each with a child of NATTR attributes in one
# 2 KB namespace; waits for the iq's answer, pings the bot, sends "after"
# and waits for its echo.  One JSON line per step on stdout.
cat >"$T/big.py" <<'PY'
import asyncio, json, logging, os, sys, time
from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.jid import JID
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

jid, bot, port, nattr = sys.argv[1], JID(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
URI = 'urn:example:' + 'u' * 2036          # 2 KB namespace name

def out(**kw):
    print(json.dumps(kw), flush=True)

def payload(tag):
    attrs = ''.join(" p:a%d=''" % i for i in range(nattr))
    return "<%s xmlns='urn:example:big' xmlns:p='%s'%s/>" % (tag, URI, attrs)

class Big(ClientXMPP):
    def __init__(self):
        ClientXMPP.__init__(self, jid, os.environ['BIG_PASSWORD'])
        self['feature_mechanisms'].unencrypted_plain = True
        self.register_plugin('xep_0199')
        self.got = {}
        self.echoes = []
        self.result = asyncio.get_event_loop().create_future()
        self.register_handler(Callback('iq', MatchXPath('{jabber:client}iq'), self.iq))
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('message', self.message)

    def iq(self, iq):
        if iq['from'].bare == bot.bare and iq['type'] in ('result', 'error'):
            self.got[iq['id']] = str(iq)

    def message(self, msg):
        if msg['from'].bare == bot.bare:
            self.echoes.append(msg['body'])

    async def until(self, cond, secs):
        end = time.time() + secs
        while not cond():
            if time.time() > end:
                return False
            await asyncio.sleep(0.05)
        return True

    async def start(self, _):
        try:
            await self.steps()
            self.result.set_result(0)
        except Exception as e:
            print('big.py: %r' % e, file=sys.stderr)
            self.result.set_result(1)

    async def steps(self):
        self.send_presence()
        end = time.time() + 20
        while True:                     # the bot answers pings once online
            try:
                await self.plugin['xep_0199'].send_ping(bot, 2)
                break
            except (IqError, IqTimeout):
                if time.time() > end:
                    raise
                await asyncio.sleep(0.2)
        big = payload('query')
        self.send_raw("<iq type='get' id='big1' to='%s'>%s</iq>" % (bot, big))
        out(ev='sent', what='iq', bytes=len(big))
        ok = await self.until(lambda: 'big1' in self.got, 20)
        out(ev='answer', id='big1', xml=self.got.get('big1'))
        self.send_raw("<message type='chat' to='%s'><body>big</body>%s</message>" % (bot, payload('x')))
        out(ev='sent', what='message')
        await self.plugin['xep_0199'].send_ping(bot, 20)
        out(ev='ping')
        self.make_message(mto=bot, mtype='chat', mbody='after').send()
        await self.until(lambda: 'after' in self.echoes, 20)
        out(ev='echoes', bodies=self.echoes)

logging.basicConfig(level=logging.ERROR)
logging.getLogger('asyncio').setLevel(logging.CRITICAL)
c = Big()
c.connect(('127.0.0.1', port), force_starttls=False, disable_starttls=True)
loop = asyncio.get_event_loop()
try:
    code = loop.run_until_complete(asyncio.wait_for(c.result, 90))
except asyncio.TimeoutError:
    code = 1
c.disconnect(wait=2)
sys.exit(code)
PY

echobot_setup
pipeline bot -P -r echo -p "$T/bot.pass" bot@localhost
BIG_PASSWORD=$ALICE_PW $PY "$T/big.py" alice@localhost bot@localhost/echo \
    "$C2S_PORT" 2000 >"$T/big.out" 2>"$T/big.err"
is "$?" 0 "the peer got its answer, a ping answered and an echo" ||
    diag "$(cat "$T/big.err" "$T/big.out" "$T/bot.err")"
answer=$(jfield xml "$T/big.out" | sed -n 2p)
case $answer in
*'type=\"error\"'*'<error type=\"modify\"><policy-violation'*) pass \
    "the oversized iq got an error, policy-violation" ;;
*) fail "the oversized iq got an error, policy-violation"
   diag "$answer" ;;
esac
case $answer in
*urn:example:big*) fail "no payload in the error" ;;
*) pass "no payload in the error" ;;
esac
check "xmpp-parse skipped the iq, over 1 MiB after Prosody" \
    grep -Eq '^xmpp-parse: offset [0-9]+: iq of [0-9]{7,} bytes skipped' \
    "$T/bot.err"
check "and the message" \
    grep -Eq '^xmpp-parse: offset [0-9]+: message of [0-9]{7,} bytes skipped' \
    "$T/bot.err"
is "$(jfield bodies "$T/big.out" | tail -n 1)" '["after"]' \
    "the big message was not echoed, the next one was"
set -- $(counters bot)
is "${3:-}" 1 "the skipped message counted as size-dropped"
check "every stage still runs" eval \
    'alive "$(cat "$T/bot.pid")" && [ ! -e "$T/bot.xp" ] && [ ! -e "$T/bot.xc" ]'
