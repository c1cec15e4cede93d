#!/bin/sh
# Sessions against ejabberd: a stranger (in no roster) subscribes, the
# bot approves and subscribes back, the stranger sees it online and gets
# its echo; two bots with one resource: ejabberd replaces the first
# (conflict, "Replaced by new connection"), which stops with -c 1.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/ejabberd.sh"
ejabberd_require
plan 8

ejabberd_start || bail "ejabberd did not start"
BOT_PW=$(randpw)
CAROL_PW=$(randpw)
# Separate imports: neither in the other's roster.
ejabberd_accounts bot "$BOT_PW" && ejabberd_accounts carol "$CAROL_PW" ||
    bail "ejabberdctl import_piefxis failed"
(umask 077 && printf '%s\n' "$BOT_PW" >"$T/bot.pass")
mkdir -p "$T/tmp"
link="-t plain -s 127.0.0.1:$C2S_PORT"

cat >"$T/carol.py" <<'PY'
# carol.py PORT: as carol, who is in no one's roster: subscribes to the
# bot, approves its subscription back, waits for its presence, sends
# "hello" and waits for the echo; one JSON line per event from the bot.
import asyncio, json, logging, os, sys
from slixmpp import ClientXMPP

BOT = 'bot@localhost'

class Carol(ClientXMPP):
    def __init__(self):
        ClientXMPP.__init__(self, 'carol@localhost', os.environ['PEER_PASSWORD'])
        self['feature_mechanisms'].unencrypted_plain = True
        self.auto_authorize = None      # answered below, by hand
        self.auto_subscribe = False
        loop = asyncio.get_event_loop()
        self.online = loop.create_future()
        self.echo = loop.create_future()
        self.done = loop.create_future()
        self.add_event_handler('session_start', self.start)
        for ev in ('presence_subscribe', 'presence_subscribed',
                   'presence_available'):
            self.add_event_handler(ev, self.presence)
        self.add_event_handler('message', self.message)

    def out(self, **kw):
        print(json.dumps(kw), flush=True)

    def presence(self, p):
        if p['from'].bare != BOT:
            return
        t = p['type']
        self.out(presence=t)
        if t == 'subscribe':
            self.send_presence(pto=BOT, ptype='subscribed')
        elif t in ('available', 'chat', 'away', 'xa', 'dnd') and not self.online.done():
            self.online.set_result(p['from'])

    def message(self, m):
        if m['from'].bare == BOT:
            self.out(body=m['body'])
            if not self.echo.done():
                self.echo.set_result(None)

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        self.send_presence(pto=BOT, ptype='subscribe')
        await self.online
        self.make_message(mto=BOT, mtype='chat', mbody='hello').send()
        await self.echo
        self.done.set_result(0)

logging.basicConfig(level=logging.ERROR)
logging.getLogger('asyncio').setLevel(logging.CRITICAL)
c = Carol()
c.connect(('127.0.0.1', int(sys.argv[1])), force_starttls=False,
          disable_starttls=True)
loop = asyncio.get_event_loop()
try:
    code = loop.run_until_complete(asyncio.wait_for(c.done, 30))
except asyncio.TimeoutError:
    print('carol.py: timeout', file=sys.stderr)
    code = 1
c.disconnect(wait=2)
sys.exit(code)
PY

bot_start -v -c 1 -r same $link -p "$T/bot.pass"
first=$BOT_PID
wait_file_grep "$T/bot.err" "^xmpp-echo: online" 20 || bail "the bot is not online"
PEER_PASSWORD=$CAROL_PW $PY "$T/carol.py" "$C2S_PORT" >"$T/carol" \
    2>"$T/carol.err"
is "$?" 0 "carol subscribed, saw the bot online and got her echo" ||
    diag "$(cat "$T/carol.err")"
# (the presences in the order ejabberd routes them: sorted)
is "$(sort "$T/carol" | tr -d '\n')" \
    '{"body": "hello"}{"presence": "available"}{"presence": "subscribe"}{"presence": "subscribed"}' \
    "carol: approved, asked back, the bot's presence, the echo"
is "$(ectl get_roster bot localhost | cut -f 1,3)" "carol@localhost	both" \
    "the bot's roster: carol, subscription both"

# The second bot takes the resource: the first gets the stream error
# conflict and, with -c 1, stops with status 7; the second echoes.
: >"$T/bot.err"
bot_start -c 1 -r same $link -p "$T/bot.pass"
ended "$first" 30
is "$?" 7 "conflict: the first bot exits 7" ||
    diag "$(grep -v '^[<>] ' "$T/bot.err")"
check "conflict: ejabberd's text is shown" grep -q \
    "stream error: conflict (Replaced by new connection)" "$T/bot.err"
check "conflict: says so, not retrying" grep -q \
    "conflict.*1 times in a row, not retrying" "$T/bot.err"
check "the second bot stays" alive "$BOT_PID"
echo '"hi again"' >"$T/hi"
PEER_PASSWORD=$CAROL_PW $PY "$TOP/tests/peer.py" --host 127.0.0.1 \
    --port "$C2S_PORT" --jid carol@localhost --to bot@localhost --no-tls \
    --send "$T/hi" --expect 1 --timeout 30 >"$T/got" 2>/dev/null
is "$?:$(jfield body "$T/got")" '0:"hi again"' "the second bot echoes carol"
