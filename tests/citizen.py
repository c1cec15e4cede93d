#!/usr/bin/python3
# citizen.py [options] - a slixmpp client that checks how the bot behaves
#
# Run it with /usr/bin/python3: Debian's slixmpp lives there only.
#
# It logs in over plain TCP (loopback test servers only) and prints what
# it sees of the bot as JSON lines on stdout, flushed at once:
#   {"ev": "presence", "from", "type", "status"}
#   {"ev": "iq", "from", "id", "type", "xml"}     every iq from the bot
#   {"ev": "message", "from", "body"}
#   {"ev": "ready"}                                the steps below are done
#   {"ev": "flood", "sent", "echoes", "secs", "pings"}
# Steps, in this order, each optional:
#   --subscribe    ask for the bot's presence; wait for it to be available
#   --iqs          send ping, disco#info, version, an unknown namespace and
#                  a result (ids c-ping, c-disco, c-version, c-unknown,
#                  c-result) to --to, then listen --linger seconds more
#                  than it takes the four answers to come
#   --flood N      send N chat messages to --to at once, then pings (the
#                  bot's answers take tokens from the same bucket as its
#                  echoes) until one is answered: then every message was
#                  handled; "pings" counts them all, those before too
# then, with --until-unavailable, it stays until the bot's unavailable
# presence comes.  Exit 0, or 1 on a timeout or a failed login.
# The password comes from the environment variable CITIZEN_PASSWORD.

import argparse
import asyncio
import json
import logging
import os
import sys
import time

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.jid import JID
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

IQS = [("c-ping", "get", "<ping xmlns='urn:xmpp:ping'/>"),
       ("c-disco", "get",
        "<query xmlns='http://jabber.org/protocol/disco#info'/>"),
       ("c-version", "get", "<query xmlns='jabber:iq:version'/>"),
       ("c-unknown", "set", "<frob xmlns='urn:example:frob' n='1'>"
        "<knob>&lt;x&gt;</knob></frob>"),
       ("c-result", "result", "")]


def out(**kw):
    print(json.dumps(kw, ensure_ascii=False), flush=True)


class Citizen(ClientXMPP):
    def __init__(self, opts, password):
        ClientXMPP.__init__(self, opts.jid, password)
        self.opts = opts
        self.bot = JID(opts.to)
        self.loop = asyncio.get_event_loop()
        self.result = self.loop.create_future()
        self.online = self.loop.create_future()
        self.gone = self.loop.create_future()
        self.answered = set()
        self.echoes = 0
        self.ready = False
        self['feature_mechanisms'].unencrypted_plain = True
        self.register_plugin('xep_0199')
        self.register_handler(Callback('bot iq',
                              MatchXPath('{jabber:client}iq'), self.iq))
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('failed_auth', self.failed)
        self.add_event_handler('presence', self.presence)
        self.add_event_handler('message', self.message)

    def finish(self, code, why=None):
        if why:
            print('citizen.py: %s' % why, file=sys.stderr)
        if not self.result.done():
            self.result.set_result(code)

    def failed(self, _):
        self.finish(1, 'authentication failed')

    def presence(self, pres):
        if pres['from'].bare != self.bot.bare:
            return
        out(ev='presence', **{'from': str(pres['from'])},
            type=pres['type'], status=pres['status'] or None)
        if pres['type'] in ('available', 'chat', 'away', 'xa', 'dnd'):
            if not self.online.done():
                self.online.set_result(None)
        elif (pres['type'] == 'unavailable' and self.ready and
              not self.gone.done()):
            self.gone.set_result(None)

    def iq(self, iq):
        if iq['from'].bare != self.bot.bare:
            return
        out(ev='iq', **{'from': str(iq['from'])}, id=iq['id'],
            type=iq['type'], xml=str(iq))
        if iq['type'] in ('result', 'error'):
            self.answered.add(iq['id'])

    def message(self, msg):
        if msg['from'].bare != self.bot.bare:
            return
        self.echoes += 1
        if not self.opts.flood:
            out(ev='message', **{'from': str(msg['from'])},
                body=msg['body'])

    async def until(self, cond, secs):
        end = time.time() + secs
        while not cond():
            if time.time() > end:
                return False
            await asyncio.sleep(0.05)
        return True

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        try:
            await self.steps()
        except (asyncio.TimeoutError, IqError, IqTimeout) as e:
            self.finish(1, 'step failed: %r' % e)

    async def steps(self):
        o = self.opts
        if o.subscribe:
            self.send_presence(pto=self.bot.bare, ptype='subscribe')
            await asyncio.wait_for(self.online, o.timeout)
        if o.iqs:
            for iid, typ, payload in IQS:
                self.send_raw("<iq type='%s' id='%s' to='%s'>%s</iq>" %
                              (typ, iid, self.bot, payload))
            want = {i for i, t, _ in IQS if t != 'result'}
            await self.until(lambda: want <= self.answered, o.timeout)
            # Long enough for a second answer, if the bot sent one.
            await asyncio.sleep(o.linger)
        if o.flood:
            pings = await self.wait_bot()
            n0, t0 = self.echoes, time.time()
            for i in range(o.flood):
                self.make_message(mto=self.bot, mtype='chat',
                                  mbody='flood %d' % i).send()
            pings += await self.wait_bot()
            out(ev='flood', sent=o.flood, echoes=self.echoes - n0,
                secs=time.time() - t0, pings=pings)
        out(ev='ready')
        self.ready = True
        if o.until_unavailable:
            await asyncio.wait_for(self.gone, o.timeout)
        self.finish(0)

    # The bot's resource answers pings once it is online, and while its
    # bucket for us has a token; returns the pings sent.
    async def wait_bot(self):
        end = time.time() + self.opts.timeout
        n = 0
        while True:
            try:
                n += 1
                await self.plugin['xep_0199'].send_ping(self.bot, timeout=2)
                return n
            except (IqError, IqTimeout):
                if time.time() > end:
                    raise
                await asyncio.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(prog='citizen.py')
    ap.add_argument('--jid', required=True)
    ap.add_argument('--to', required=True, help="the bot's JID")
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=5222)
    ap.add_argument('--subscribe', action='store_true')
    ap.add_argument('--iqs', action='store_true')
    ap.add_argument('--flood', type=int, default=0)
    ap.add_argument('--until-unavailable', action='store_true')
    ap.add_argument('--linger', type=float, default=1)
    ap.add_argument('--timeout', type=float, default=20)
    ap.add_argument('--debug', action='store_true')
    opts = ap.parse_args()

    password = os.environ.get('CITIZEN_PASSWORD')
    if password is None:
        ap.error('CITIZEN_PASSWORD is not set')
    logging.basicConfig(level=logging.DEBUG if opts.debug else logging.ERROR,
                        format='citizen.py: %(levelname)s %(message)s')
    logging.getLogger('asyncio').setLevel(logging.CRITICAL)

    c = Citizen(opts, password)
    c.connect((opts.host, opts.port), force_starttls=False,
              disable_starttls=True)
    loop = asyncio.get_event_loop()
    try:
        code = loop.run_until_complete(
            asyncio.wait_for(c.result, 3 * opts.timeout))
    except asyncio.TimeoutError:
        print('citizen.py: timeout', file=sys.stderr)
        code = 1
    c.disconnect(wait=2)
    try:
        loop.run_until_complete(asyncio.wait_for(c.disconnected, 3))
    except asyncio.TimeoutError:
        pass
    return code


if __name__ == '__main__':
    sys.exit(main())
