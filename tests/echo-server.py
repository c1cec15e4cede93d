#!/usr/bin/python3
# echo-server.py NAME SCENARIO -- BOT [ARG ...]: a hostile server, speaking
# records to xmpp-echo on its stdin and reading its XML on its stdout,
# no network.  Results in $T/NAME.out (the bot's output), $T/NAME.err
# (its stderr), $T/NAME.rc (its exit status, "hang" when it did not
# exit in time) and $T/NAME.notes (what the scenario saw, one a line).
# Every wait is bounded; a wait for the bot to exit on its own is the
# last thing a scenario does, and what it measures.
import os, re, select, subprocess, sys, time

T = os.environ["T"]
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
STREAM = "http://etherx.jabber.org/streams"
BIND = "urn:ietf:params:xml:ns:xmpp-bind"
HANG = 20	# s: a bot still running then is hung


def rec(kind, *items):
    return kind + "".join("\t" + i for i in items) + "\n"


def msg(frm, body):
    return rec("message", "xmlns=jabber:client", "@to=bot@localhost/echo",
               "@from=" + frm, "@type=chat", "(body", "-" + body, ")")


class Timeout(Exception):
    pass


class Bot:
    def __init__(self, name, argv):
        self.err = open("%s/%s.err" % (T, name), "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err)
        self.out = b""
        self.pos = 0
        self.notes = []
        self.rc = None
        self.eof = False

    def send(self, line):
        self.p.stdin.write(line.encode())
        self.p.stdin.flush()

    def read(self, until):
        r, _, _ = select.select([self.p.stdout], [], [],
                                max(0, until - time.time()))
        if not r:
            return False
        chunk = os.read(self.p.stdout.fileno(), 65536)
        self.out += chunk
        self.eof = not chunk
        return bool(chunk)

    # Reads what comes for secs; False at the end of the bot's output.
    def pause(self, secs):
        until = time.time() + secs
        while time.time() < until and self.read(until):
            pass
        return not self.eof

    def expect(self, pattern, secs=10):
        until = time.time() + secs
        while True:
            m = re.compile(pattern).search(
                self.out.decode("utf-8", "replace"), self.pos)
            if m:
                self.pos = m.end()
                return m
            if not self.read(until):
                raise Timeout(pattern)

    # The bot's own exit, within HANG s; what it still writes is read
    # only if keep_reading (a server that stopped reading does not).
    def wait_exit(self, keep_reading=True):
        until = time.time() + HANG
        while self.p.poll() is None and time.time() < until:
            if keep_reading:
                self.read(min(until, time.time() + 0.2))
            else:
                try:
                    self.p.wait(0.2)
                except subprocess.TimeoutExpired:
                    pass
        if self.p.poll() is None:
            self.rc = "hang"
            self.p.kill()
        else:
            self.rc = self.p.returncode


def opening(b):
    b.expect(r"<stream:stream [^>]*>")
    b.send(rec("stream:stream", "xmlns=" + STREAM, "@from=localhost",
               "@id=s1", "@version=1.0"))


def sasl(b):
    opening(b)
    b.send(rec("stream:features", "xmlns=" + STREAM, "(mechanisms",
               "xmlns=" + SASL, "(mechanism", "-PLAIN", ")", ")"))
    b.expect(r"<auth xmlns='%s' mechanism='PLAIN'>" % SASL)
    b.send(rec("success", "xmlns=" + SASL))
    opening(b)
    b.send(rec("stream:features", "xmlns=" + STREAM, "(bind",
               "xmlns=" + BIND, ")"))


def bound(b):
    m = b.expect(r"<iq type='set' id='([^']+)'><bind ")
    b.send(rec("iq", "xmlns=jabber:client", "@type=result",
               "@id=" + m.group(1), "(bind", "xmlns=" + BIND, "(jid",
               "-bot@localhost/echo", ")", ")"))


# The roster answered; the initial presence comes.
def roster_presence(b):
    m = b.expect(r"<iq type='get' id='([^']+)'><query xmlns='jabber:iq:roster'/>")
    b.send(rec("iq", "xmlns=jabber:client", "@type=result",
               "@id=" + m.group(1)))
    b.expect(r"<presence><c [^>]*/></presence>")


def online(b):
    sasl(b)
    bound(b)
    roster_presence(b)


# Online, the server stops reading and keeps sending 4 KiB messages as
# fast as the bot takes them.  Notes how much it took.
def stop_reading(b):
    online(b)
    fd = b.p.stdin.fileno()
    os.set_blocking(fd, False)
    body = "x" * 4096
    sent, pending, n = 0, b"", 0
    until = time.time() + HANG
    while b.p.poll() is None and time.time() < until and sent < 64 << 20:
        _, w, _ = select.select([], [fd], [], 0.2)
        if not w:
            continue
        if not pending:
            n += 1
            pending = msg("alice@localhost/a", "%d %s" % (n, body)).encode()
        try:
            k = os.write(fd, pending)
        except BlockingIOError:
            continue
        except BrokenPipeError:
            break
        sent += k
        pending = pending[k:]
    b.notes.append("accepted %d" % sent)
    b.wait_exit(keep_reading=False)


# Online, a server that reads slowly: it sends N messages as fast as the
# bot takes them and reads 4 KiB of output only when it cannot send.
# Every echo must come through, in order, byte for byte.
def slow_reader(b, count=600):
    online(b)
    b.pos = len(b.out)
    fd = b.p.stdin.fileno()
    os.set_blocking(fd, False)
    out = b.p.stdout.fileno()
    body = "y" * 4000
    n, pending = 0, b""
    want = "".join("<body>%d %s</body>" % (i, body)
                   for i in range(1, count + 1))
    until = time.time() + 60
    got = b""
    while time.time() < until and got.count(b"</message>") < count:
        w = [fd] if n < count or pending else []
        r, w, _ = select.select([out], w, [], 1)
        if w:
            if not pending:
                n += 1
                pending = msg("alice@localhost/a",
                              "%d %s" % (n, body)).encode()
            try:
                pending = pending[os.write(fd, pending):]
            except BlockingIOError:
                pass
            continue
        if r:
            got += os.read(out, 4096)
    echoed = "".join(re.findall(r"<body>[^<]*</body>",
                                got.decode("utf-8", "replace")))
    b.notes.append("echoes %d" % got.count(b"</message>"))
    b.notes.append("bodies %s" % ("same" if echoed == want else "differ"))
    os.set_blocking(fd, True)
    b.out += got
    b.send(rec("/stream:stream"))
    b.wait_exit()


# The login stalls at STEP (the request is never answered) while the
# server sends a message, a presence and an iq every half second.
def stall_login(b, step):
    if step == "sasl":
        opening(b)
        b.send(rec("stream:features", "xmlns=" + STREAM, "(mechanisms",
                   "xmlns=" + SASL, "(mechanism", "-PLAIN", ")", ")"))
        b.expect(r"<auth ")
    else:
        sasl(b)
        if step == "roster":
            bound(b)
            b.expect(r"<query xmlns='jabber:iq:roster'/>")
        else:
            b.expect(r"<bind ")
    until = time.time() + HANG
    i = 0
    while b.p.poll() is None and time.time() < until:
        i += 1
        if step != "sasl":
            try:
                b.send(msg("alice@localhost/a", "hello %d" % i))
                b.send(rec("presence", "xmlns=jabber:client",
                           "@from=carol@localhost", "@type=subscribe"))
                b.send(rec("iq", "xmlns=jabber:client", "@type=get",
                           "@id=p%d" % i, "@from=localhost", "(ping",
                           "xmlns=urn:xmpp:ping", ")"))
            except BrokenPipeError:
                break
        if not b.pause(0.5):
            break
    b.notes.append("stanzas %d" % i)
    b.wait_exit()


# Stream management (XEP-0198): SASL, then features with <sm/>.
SM = "urn:xmpp:sm:3"


def sm_sasl(b):
    opening(b)
    b.send(rec("stream:features", "xmlns=" + STREAM, "(mechanisms",
               "xmlns=" + SASL, "(mechanism", "-PLAIN", ")", ")"))
    b.expect(r"<auth xmlns='%s' mechanism='PLAIN'>" % SASL)
    b.send(rec("success", "xmlns=" + SASL))
    opening(b)
    b.send(rec("stream:features", "xmlns=" + STREAM, "(bind",
               "xmlns=" + BIND, ")", "(sm", "xmlns=" + SM, ")"))


def sm_online(b):
    sm_sasl(b)
    bound(b)
    b.expect(r"<enable xmlns='%s'( resume='true')?/>" % SM)
    b.send(rec("enabled", "xmlns=" + SM, "@id=sm1", "@resume=true"))
    roster_presence(b)


# Enabled; 6 messages echoed, the bot's <r/> never answered.
def sm_no_ack(b):
    sm_online(b)
    for i in range(6):
        b.send(msg("alice@localhost/a", "m %d" % i))
    b.expect(r"<r xmlns='%s'/>" % SM)
    b.notes.append("asked")
    b.wait_exit()


# Enabled; an ack of 1000 stanzas, more than were sent.
def sm_over_ack(b):
    sm_online(b)
    b.send(rec("a", "xmlns=" + SM, "@h=1000"))
    b.wait_exit()


# Enabled; 12 messages echoed, then the bot killed: the state stays.
def sm_kill(b):
    sm_online(b)
    for i in range(12):
        b.send(msg("alice@localhost/a", "k %d" % i))
    b.expect(r"<body>k 11</body>")
    b.send(rec("r", "xmlns=" + SM))
    b.expect(r"<a xmlns='%s' h='(\d+)'/>" % SM)
    b.p.kill()
    b.wait_exit()


# The bot asks to resume: noted; refused; a new session bound.
def sm_refuse(b):
    sm_sasl(b)
    m = b.expect(r"<resume xmlns='%s' previd='([^']*)' h='(\d+)'/>" % SM)
    b.notes.append("resume %s %s" % (m.group(1), m.group(2)))
    b.send(rec("failed", "xmlns=" + SM, "(item-not-found",
               "xmlns=urn:ietf:params:xml:ns:xmpp-stanzas", ")"))
    bound(b)
    b.notes.append("bound")
    b.send(rec("/stream:stream"))
    b.wait_exit()


# Online, pings from the server (no 'from', the domain, the bot's bare
# JID), then from a stranger: notes how many of each got their result.
def server_pings(b, n=20):
    online(b)
    froms = {"none": None, "domain": "localhost", "bare": "bot@localhost",
             "stranger": "eve@localhost/x"}
    for kind, frm in froms.items():
        for i in range(n):
            b.send(rec("iq", "xmlns=jabber:client", "@type=get",
                       "@id=%s-%d" % (kind, i),
                       *([] if frm is None else ["@from=" + frm]),
                       "(ping", "xmlns=urn:xmpp:ping", ")"))
    # A marker the bot answers after all of them: a ping from nowhere.
    b.send(rec("iq", "xmlns=jabber:client", "@type=get", "@id=last",
               "(ping", "xmlns=urn:xmpp:ping", ")"))
    b.expect(r"<iq [^>]*id='last'")
    out = b.out.decode("utf-8", "replace")
    for kind in froms:
        got = len(re.findall(r"<iq [^>]*type='result'[^>]*id='%s-\d+'|"
                             r"<iq [^>]*id='%s-\d+'[^>]*type='result'"
                             % (kind, kind), out))
        b.notes.append("%s %d" % (kind, got))
    b.send(rec("/stream:stream"))
    b.wait_exit()


SCENARIOS = {
    "server-pings": server_pings,
    "sm-no-ack": sm_no_ack,
    "sm-over-ack": sm_over_ack,
    "sm-kill": sm_kill,
    "sm-refuse": sm_refuse,
    "stop-reading": stop_reading,
    "slow-reader": slow_reader,
    "stall-sasl": lambda b: stall_login(b, "sasl"),
    "stall-bind": lambda b: stall_login(b, "bind"),
    "stall-roster": lambda b: stall_login(b, "roster"),
}

name, scenario, argv = sys.argv[1], sys.argv[2], sys.argv[4:]
b = Bot(name, argv)
try:
    SCENARIOS[scenario](b)
except Timeout as e:
    b.notes.append("timeout waiting for " + str(e))
    b.wait_exit()
open("%s/%s.out" % (T, name), "wb").write(b.out)
open("%s/%s.notes" % (T, name), "w").write("".join(n + "\n" for n in b.notes))
open("%s/%s.rc" % (T, name), "w").write("%s\n" % b.rc)
