#!/bin/sh
# The bot against ejabberd with the modules Debian's configuration loads
# (EJ_STOCK=1): messages stored while the bot was offline are echoed
# when it comes online; ejabberd's caps lookup (mod_caps), a disco#info
# query from the bot's own full JID, is answered; and the language of an
# echo.  ejabberd writes xml:lang on every stanza it routes (RFC 6120
# section 8.1.5: the sender's stream default, when the stanza had none),
# and a body without its own xml:lang is in the language of its message.
# The echo keeps it: a German message comes back German, and two bodies
# stay two languages (RFC 6121 section 5.2.3), not both the bot's stream
# default, English.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/ejabberd.sh"
ejabberd_require
plan 8

EJ_STOCK=1
ejabberd_setup

# Offline: alice online first, sends two messages to the bot, which is
# not; once ejabberd has stored them, the bot starts.
printf '"while away 1"\n"while away 2"\n' >"$T/away"
PEER_PASSWORD=$ALICE_PW spawn $PY "$TOP/tests/peer.py" --host 127.0.0.1 \
    --port "$C2S_PORT" --jid alice@localhost --to bot@localhost --no-tls \
    --no-wait --send "$T/away" --expect 2 --timeout 40 >"$T/away.got"
ALICE=$spawned
n=100
until [ "$(ectl get_offline_count bot localhost 2>/dev/null)" = 2 ] ||
    [ $n -le 0 ]; do
	sleep 0.1
	n=$((n - 1))
done
is "$(ectl get_offline_count bot localhost)" 2 "ejabberd stored 2 messages"
bot_start -v -n 1 -t plain -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"
ended "$ALICE" 40
is "$?:$(jfield body "$T/away.got" | tr '\n' ' ')" \
    '0:"while away 1" "while away 2" ' \
    "stored messages echoed once the bot is online, in order"
check "they came with ejabberd's delay mark" \
    grep -q "^< message	.*(delay	xmlns=urn:xmpp:delay" "$T/bot.err"

# mod_caps asks the bot's full JID, as the bot itself, for node#ver.
q="^< iq	.*@from=bot@localhost/[^	]*	@type=get.*(query	xmlns=http://jabber.org/protocol/disco#info	@node=https://echobot.invalid/#"
wait_file_grep "$T/bot.err" "$q" 10
id=$(grep "$q" "$T/bot.err" | head -n 1 | sed 's/.*@id=\([^	]*\).*/\1/')
check "ejabberd's caps query, from the bot's own JID, answered" \
    wait_file_grep "$T/bot.err" "^> <iq type='result' id='$id'" 10

cat >"$T/lang.py" <<'PY'
# lang.py PORT FILE: as alice, once the bot is online, sends each line
# of FILE (a message stanza's XML, to the bot) and waits for as many
# echoes; for each echo prints its bodies as [language, text] pairs,
# the language each body has by RFC 6120 section 8.1.5 (its own
# xml:lang, else the message's, else the stream's), sorted.
import asyncio, json, logging, os, sys
from slixmpp import ClientXMPP

XL = '{http://www.w3.org/XML/1998/namespace}lang'
port, stanzas = int(sys.argv[1]), open(sys.argv[2]).read().splitlines()

class Alice(ClientXMPP):
    def __init__(self):
        ClientXMPP.__init__(self, 'alice@localhost', os.environ['PEER_PASSWORD'])
        self['feature_mechanisms'].unencrypted_plain = True
        loop = asyncio.get_event_loop()
        self.online = loop.create_future()
        self.done = loop.create_future()
        self.got = 0
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('presence_available', self.presence)
        self.add_event_handler('message', self.message)

    def presence(self, p):
        if p['from'].bare == 'bot@localhost' and not self.online.done():
            self.online.set_result(None)

    def message(self, m):
        if m['from'].bare != 'bot@localhost' or m['type'] == 'error':
            return
        deflang = m.xml.get(XL) or self.stream_lang
        bodies = sorted([b.get(XL) or deflang, b.text or '']
                        for b in m.xml.findall('{jabber:client}body'))
        print(json.dumps(bodies, ensure_ascii=False), flush=True)
        self.got += 1
        if self.got == len(stanzas) and not self.done.done():
            self.done.set_result(0)

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        await self.online
        for s in stanzas:
            self.send_raw(s)

logging.basicConfig(level=logging.ERROR)
logging.getLogger('asyncio').setLevel(logging.CRITICAL)
a = Alice()
a.stream_lang = 'en'
a.connect(('127.0.0.1', port), force_starttls=False, disable_starttls=True)
loop = asyncio.get_event_loop()
try:
    code = loop.run_until_complete(asyncio.wait_for(a.done, 30))
except asyncio.TimeoutError:
    print('lang.py: timeout, %d echoes' % a.got, file=sys.stderr)
    code = 1
a.disconnect(wait=2)
sys.exit(code)
PY

# One message a line, as alice writes it to her server.
cat >"$T/stanzas" <<'XML'
<message to='bot@localhost' type='chat' xml:lang='de'><body>Hallo</body><body xml:lang='en'>Hello</body></message>
<message to='bot@localhost' type='chat'><body>no lang</body></message>
<message to='bot@localhost' type='chat' xml:lang='fr'><body>Bonjour</body></message>
<message to='bot@localhost' type='chat' xml:lang='de'><body xml:lang='it'>Ciao</body></message>
XML
PEER_PASSWORD=$ALICE_PW $PY "$T/lang.py" "$C2S_PORT" "$T/stanzas" \
    >"$T/got" 2>"$T/lang.err"
is "$?" 0 "the language: alice got 4 echoes" || diag "$(cat "$T/lang.err")"
is "$(sed -n 1p "$T/got")" '[["de", "Hallo"], ["en", "Hello"]]' \
    "two bodies: German and English, as sent"
is "$(sed -n 2,3p "$T/got" | tr '\n' ' ')" \
    '[["en", "no lang"]] [["fr", "Bonjour"]] ' \
    "the stream's language (ejabberd's mark), French"
is "$(sed -n 4p "$T/got")" '[["it", "Ciao"]]' "a body's own xml:lang wins"
