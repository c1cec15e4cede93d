#!/usr/bin/python3
# peer.py [options] - an independent XMPP client that talks to the bot
#
# Run it with /usr/bin/python3: Debian's slixmpp lives there only.
#
# It logs in, sends its initial presence, waits for the bot's available
# presence (the two accounts must be subscribed to each other, see
# prosody_befriend in tests/lib.sh), sends the messages read from --send
# and prints every message that comes back from the bot as one JSON line
# {"from", "type", "body", "thread"} on stdout.  It exits 0 once --expect
# messages arrived, 1 on a timeout or a login failure, 2 on usage errors.
#
# --send FILE holds one JSON value a line: a string is the body of a chat
# message; an object {"type": T, "body": B or null, "thread": X} is sent
# as is (no body element when body is null), for the stanzas the bot
# must not echo (a body of "" is an empty <body/>).  The password comes from the environment variable named
# by --password-env, never from argv.
#
# An object may also carry "id" (the message's id), "receipt": true (an
# XEP-0184 request) and "replace": ID (an XEP-0308 correction of ID).
# Each line printed also holds the message's "id", and, when present,
# "received" (the id in an XEP-0184 <received/>) and "replace" (the id
# in an XEP-0308 <replace/>).  With --receipts, messages without a body
# that hold a <received/> count and print too.
#
# With --errors, error messages without a body count and print too,
# with "error": their type and condition, as "wait/resource-constraint",
# and "text": their text.  --ping sends an XEP-0199 ping to the
# bot's full JID once the messages are sent and prints {"ping": "pong"}
# or {"ping": "error ..."}; --ping-first sends it before them.
#
# --disco, before the messages, prints the XEP-0115 caps of the bot's
# presence as {"caps": {"hash", "node", "ver"}} (null when it had none),
# then asks the bot's full JID for disco#info, without a node and with
# node#ver, and prints each answer as {"disco": NODE, "identities":
# [[category, type, lang, name], ...], "features": [var, ...]}, or
# {"disco": NODE, "error": CONDITION}.

import argparse
import asyncio
import json
import logging
import os
import sys

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.jid import JID
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS_DISCO = 'http://jabber.org/protocol/disco#info'


class Peer(ClientXMPP):
    def __init__(self, opts, password, items):
        ClientXMPP.__init__(self, opts.jid, password)
        self.opts = opts
        self.items = items
        self.bot = JID(opts.to)
        self.botfull = None
        self.caps = None
        self.got = 0
        self.result = asyncio.get_event_loop().create_future()
        self.online = asyncio.get_event_loop().create_future()
        if opts.no_tls:
            # Loopback test server only: PLAIN over clear text.
            self['feature_mechanisms'].unencrypted_plain = True
        if opts.tls_ca:
            self.ca_certs = opts.tls_ca
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('failed_auth', self.failed)
        self.add_event_handler('presence', self.presence)
        self.add_event_handler('message', self.message)
        if opts.errors:
            self.add_event_handler('message_error', self.error)
        if opts.receipts:
            # slixmpp's 'message' event is for messages with a body.
            self.register_handler(Callback('receipt', MatchXPath(
                '{jabber:client}message/{urn:xmpp:receipts}received'),
                self.receipt))
        if opts.ping or opts.ping_first:
            self.register_plugin('xep_0199')

    def finish(self, code, why=None):
        if why:
            print('peer.py: %s' % why, file=sys.stderr)
        if not self.result.done():
            self.result.set_result(code)

    def failed(self, _):
        self.finish(1, 'authentication failed')

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        if self.opts.no_wait and not self.online.done():
            self.online.set_result(None)
        try:
            await asyncio.wait_for(self.online, self.opts.timeout)
        except asyncio.TimeoutError:
            self.finish(1, 'no presence from %s' % self.bot)
            return
        if self.opts.disco:
            await self.disco_bot()
        if self.opts.ping_first:
            await self.ping_bot()
        self.send_all()
        if self.opts.ping:
            await self.ping_bot()
        if self.opts.expect == 0:
            # Nothing to wait for: --linger seconds to see what comes.
            await asyncio.sleep(self.opts.linger)
            self.finish(0)

    async def ping_bot(self):
        to = self.botfull or self.bot
        try:
            await self['xep_0199'].send_ping(to, timeout=self.opts.timeout / 2)
            res = 'pong'
        except Exception as e:
            res = 'error %s' % type(e).__name__
        print(json.dumps({'ping': res}), flush=True)

    async def disco_bot(self):
        c = self.caps
        print(json.dumps({'caps': c}), flush=True)
        nodes = [None]
        if c is not None:
            nodes.append('%s#%s' % (c['node'], c['ver']))
        for node in nodes:
            iq = self.make_iq_get(ito=self.botfull or self.bot)
            q = ET.SubElement(iq.xml, '{%s}query' % NS_DISCO)
            if node is not None:
                q.set('node', node)
            rec = {'disco': node}
            try:
                res = await iq.send(timeout=self.opts.timeout / 2)
                q = res.xml.find('{%s}query' % NS_DISCO)
                rec['node'] = q.get('node')
                rec['identities'] = [
                    [i.get('category'), i.get('type'),
                     i.get('{http://www.w3.org/XML/1998/namespace}lang'),
                     i.get('name')]
                    for i in q.findall('{%s}identity' % NS_DISCO)]
                rec['features'] = [
                    f.get('var') for f in q.findall('{%s}feature' % NS_DISCO)]
            except IqError as e:
                rec['error'] = e.iq['error']['condition']
            except IqTimeout:
                rec['error'] = 'timeout'
            print(json.dumps(rec, ensure_ascii=False), flush=True)

    def presence(self, pres):
        if pres['from'].bare != self.bot.bare:
            return
        if pres['type'] in ('available', 'chat', 'away', 'xa', 'dnd'):
            self.botfull = pres['from']
            c = pres.xml.find('{http://jabber.org/protocol/caps}c')
            self.caps = None if c is None else {
                'hash': c.get('hash'), 'node': c.get('node'),
                'ver': c.get('ver')}
            if not self.online.done():
                self.online.set_result(None)

    def send_all(self):
        to = self.botfull if self.opts.full_jid and self.botfull else self.bot
        for item in self.items:
            if isinstance(item, str):
                item = {'type': 'chat', 'body': item}
            msg = self.make_message(mto=to, mtype=item.get('type', 'chat'))
            if item.get('body') == '':
                ET.SubElement(msg.xml, '{jabber:client}body')
            elif item.get('body') is not None:
                msg['body'] = item['body']
            if item.get('thread') is not None:
                msg['thread'] = item['thread']
            if item.get('id') is not None:
                msg['id'] = item['id']
            if item.get('receipt'):
                ET.SubElement(msg.xml, '{urn:xmpp:receipts}request')
            if item.get('replace') is not None:
                ET.SubElement(msg.xml, '{urn:xmpp:message-correct:0}replace',
                              id=item['replace'])
            msg.send()

    def error(self, msg):
        # An error with a body came through message() already.
        if msg.xml.find('{jabber:client}body') is None:
            self.message(msg)

    def receipt(self, msg):
        if msg.xml.find('{jabber:client}body') is None:
            self.message(msg)

    def message(self, msg):
        if msg['from'].bare != self.bot.bare:
            return
        hasbody = msg.xml.find('{jabber:client}body') is not None
        got = msg.xml.find('{urn:xmpp:receipts}received')
        rec = {'from': str(msg['from']), 'type': msg['type'],
               'body': msg['body'] if hasbody else None,
               'thread': msg['thread'] or None,
               'id': msg['id'] or None}
        if got is not None:
            rec['received'] = got.get('id')
        fix = msg.xml.find('{urn:xmpp:message-correct:0}replace')
        if fix is not None:
            rec['replace'] = fix.get('id')
        if msg['type'] == 'error':
            rec['error'] = '%s/%s' % (msg['error']['type'],
                                      msg['error']['condition'])
            rec['text'] = msg['error']['text'] or None
        print(json.dumps(rec, ensure_ascii=False), flush=True)
        self.got += 1
        if self.got >= self.opts.expect > 0:
            self.finish(0)


def main():
    ap = argparse.ArgumentParser(prog='peer.py')
    ap.add_argument('--jid', required=True)
    ap.add_argument('--password-env', default='PEER_PASSWORD')
    ap.add_argument('--to', required=True, help="the bot's JID")
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=5222)
    ap.add_argument('--tls-ca', metavar='FILE')
    ap.add_argument('--no-tls', action='store_true',
                    help='plain TCP, PLAIN allowed (loopback only)')
    ap.add_argument('--direct-tls', action='store_true')
    ap.add_argument('--send', metavar='FILE')
    ap.add_argument('--expect', type=int, default=0)
    ap.add_argument('--timeout', type=float, default=20)
    ap.add_argument('--linger', type=float, default=1,
                    help='with --expect 0: seconds to listen after sending')
    ap.add_argument('--full-jid', action='store_true',
                    help="send to the bot's full JID seen in its presence")
    ap.add_argument('--no-wait', action='store_true',
                    help="do not wait for the bot's presence")
    ap.add_argument('--errors', action='store_true',
                    help='count and print error messages without a body')
    ap.add_argument('--receipts', action='store_true',
                    help='count and print receipts without a body')
    ap.add_argument('--disco', action='store_true',
                    help="print the bot's caps and disco#info first")
    ap.add_argument('--ping', action='store_true',
                    help="ping the bot's full JID after sending")
    ap.add_argument('--ping-first', action='store_true',
                    help="ping the bot's full JID before sending")
    ap.add_argument('--debug', action='store_true')
    opts = ap.parse_args()

    password = os.environ.get(opts.password_env)
    if password is None:
        ap.error('%s is not set' % opts.password_env)
    items = []
    if opts.send:
        with open(opts.send, encoding='utf-8') as f:
            items = [json.loads(line) for line in f if line.strip()]
    logging.basicConfig(level=logging.DEBUG if opts.debug else logging.ERROR,
                        format='peer.py: %(levelname)s %(message)s')
    # asyncio complains about slixmpp's tasks left at exit: noise.
    logging.getLogger('asyncio').setLevel(logging.CRITICAL)

    peer = Peer(opts, password, items)
    peer.connect((opts.host, opts.port), use_ssl=opts.direct_tls,
                 force_starttls=not (opts.no_tls or opts.direct_tls),
                 disable_starttls=opts.no_tls or opts.direct_tls)
    loop = asyncio.get_event_loop()
    try:
        code = loop.run_until_complete(
            asyncio.wait_for(peer.result, opts.timeout))
    except asyncio.TimeoutError:
        print('peer.py: timeout: %d of %d messages' %
              (peer.got, opts.expect), file=sys.stderr)
        code = 1
    peer.disconnect(wait=2)
    try:
        loop.run_until_complete(asyncio.wait_for(peer.disconnected, 3))
    except asyncio.TimeoutError:
        pass
    return code


if __name__ == '__main__':
    sys.exit(main())
