# gen-stream.py MB - a server-to-client XMPP stream of about MB megabytes
#
# What a busy client sees after login: chat messages (mostly small
# bodies, some of several KiB, escapes and non-ASCII text), presence with
# caps, iq results (roster, disco), white space keepalives.  A fixed seed:
# every run parses the same bytes.  Run by /usr/bin/python3.
import random
import sys

rnd = random.Random(7)
WORDS = ("hello there how are you the build is green again see "
         "ticket meeting at noon ok thanks déjà vu naïve café 日本語 "
         "&amp; &lt;tag&gt; \"quoted\" it's fine").split()


def text(nbytes):
    out, n = [], 0
    while n < nbytes:
        w = rnd.choice(WORDS)
        out.append(w)
        n += len(w.encode()) + 1
    return " ".join(out)


def jid():
    return "user%d@localhost/res%d" % (rnd.randrange(50), rnd.randrange(3))


def message(body_len):
    s = ("<message from='%s' to='bot@localhost/echobot' type='chat' "
         "id='m%d' xml:lang='en'><body>%s</body>"
         % (jid(), rnd.randrange(10**9), text(body_len)))
    if rnd.random() < 0.5:
        s += ("<active xmlns='http://jabber.org/protocol/chatstates'/>")
    if rnd.random() < 0.2:
        s += "<thread>t%d</thread>" % rnd.randrange(1000)
    if rnd.random() < 0.2:
        s += ("<delay xmlns='urn:xmpp:delay' from='localhost' "
              "stamp='2026-11-26T12:00:00Z'/>")
    return s + "</message>"


def presence():
    s = "<presence from='%s' to='bot@localhost/echobot'>" % jid()
    if rnd.random() < 0.5:
        s += "<show>%s</show>" % rnd.choice(("away", "chat", "dnd", "xa"))
    s += "<status>%s</status><priority>%d</priority>" % (
        text(rnd.randrange(5, 60)), rnd.randrange(10))
    s += ("<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
          "node='https://example.org/client' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/>")
    return s + "</presence>"


def iq():
    if rnd.random() < 0.5:
        items = "".join(
            "<item jid='user%d@localhost' subscription='both' name='%s'>"
            "<group>Friends</group></item>"
            % (i, text(10).replace("'", "&apos;"))
            for i in range(rnd.randrange(1, 20)))
        return ("<iq type='result' id='r%d' to='bot@localhost/echobot'>"
                "<query xmlns='jabber:iq:roster' ver='%d'>%s</query></iq>"
                % (rnd.randrange(10**6), rnd.randrange(100), items))
    feats = "".join("<feature var='urn:xmpp:f%d'/>" % i
                    for i in range(rnd.randrange(3, 15)))
    return ("<iq type='result' id='d%d' from='%s' to='bot@localhost/echobot'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'>"
            "<identity category='client' type='pc' name='x'/>%s</query></iq>"
            % (rnd.randrange(10**6), jid(), feats))


def stanza():
    r = rnd.random()
    if r < 0.55:
        return message(rnd.randrange(5, 200))
    if r < 0.62:
        return message(rnd.randrange(2000, 16000))
    if r < 0.87:
        return presence()
    if r < 0.99:
        return iq()
    return "\n"		# keepalive


def main():
    total = int(sys.argv[1]) * 1000 * 1000
    block = "".join(stanza() for _ in range(3000)).encode()
    out = sys.stdout.buffer
    out.write(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
              b"xmlns:stream='http://etherx.jabber.org/streams' "
              b"from='localhost' id='bench' version='1.0' xml:lang='en'>")
    n = 0
    while n < total:
        out.write(block)
        n += len(block)
    out.write(b"</stream:stream>")


main()
