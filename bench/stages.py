#!/usr/bin/python3
# stages.py [-c] [-n N] [-w W] [-b BODY] [DIR] - the two stages alone
#
# Plays a server on the pipes of xmpp-parse | xmpp-echo from DIR (the
# source tree, by default the one this file is in): the login (PLAIN,
# bind, roster), then N chat messages of BODY bytes with W in flight,
# a new one sent for each echo, then the close.  No network and no
# Prosody: what one stage costs is all that is measured, and two
# builds can be compared on a busy machine by alternating their runs.
# Prints each stage's user and system CPU time (wait4) per message in
# microseconds; with -c, both run under callgrind (without their
# sandbox, -X) and it prints the instructions per message instead:
# slow, but the same from run to run.
import getopt
import os
import re
import select
import subprocess
import sys
import tempfile

SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
STREAM = "http://etherx.jabber.org/streams"
BIND = "urn:ietf:params:xml:ns:xmpp-bind"
HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
          "xmlns:stream='" + STREAM + "' from='localhost' id='s%d' "
          "version='1.0' xml:lang='en'>")
WAIT = 10       # s: a stage silent that long is stuck


def usage():
    sys.exit("usage: stages.py [-c] [-n N] [-w W] [-b BODY] [DIR]")


class Stages:
    def __init__(self, top, tmp, callgrind):
        pw = os.path.join(tmp, "pass")
        with open(os.open(pw, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("secret\n")
        parse = [top + "/xmpp-parse/xmpp-parse"]
        echo = [top + "/xmpp-echo/xmpp-echo", "-P", "-p", pw,
                "-S", os.path.join(tmp, "sm"),
                "-b", "1000000", "-R", "6000000", "bot@localhost"]
        if callgrind:
            parse = self.callgrind(tmp, "parse", parse)
            echo = self.callgrind(tmp, "echo", echo)
        r, w = os.pipe()
        self.parse = subprocess.Popen(parse, stdin=subprocess.PIPE,
                                      stdout=w)
        os.close(w)
        self.echo = subprocess.Popen(echo, stdin=r, stdout=subprocess.PIPE)
        os.close(r)
        self.inp = self.parse.stdin.fileno()
        self.out = self.echo.stdout.fileno()
        self.got = b""

    @staticmethod
    def callgrind(tmp, name, argv):
        return ["valgrind", "-q", "--tool=callgrind",
                "--callgrind-out-file=%s/%s.cg" % (tmp, name),
                argv[0], "-X"] + argv[1:]

    def send(self, s):
        s = s.encode()
        while s:
            s = s[os.write(self.inp, s):]

    def read(self):
        if not select.select([self.out], [], [], WAIT)[0]:
            sys.exit("stages.py: no output from xmpp-echo in %d s" % WAIT)
        chunk = os.read(self.out, 65536)
        if not chunk:
            sys.exit("stages.py: xmpp-echo ended early")
        self.got += chunk

    def expect(self, pattern):
        while True:
            m = re.search(pattern.encode(), self.got)
            if m:
                self.got = self.got[m.end():]
                return m.group(m.lastindex or 0).decode()
            self.read()

    def login(self):
        self.expect(r"<stream:stream [^>]*>")
        self.send(HEADER % 1 + "<stream:features><mechanisms xmlns='" +
                  SASL + "'><mechanism>PLAIN</mechanism></mechanisms>"
                  "</stream:features>")
        self.expect(r"<auth [^>]*>[^<]*</auth>")
        self.send("<success xmlns='" + SASL + "'/>")
        self.expect(r"<stream:stream [^>]*>")
        self.send(HEADER % 2 + "<stream:features><bind xmlns='" + BIND +
                  "'/></stream:features>")
        i = self.expect(r"<iq type='set' id='([^']+)'>")
        self.send("<iq type='result' id='%s'><bind xmlns='%s'><jid>"
                  "bot@localhost/echo</jid></bind></iq>" % (i, BIND))
        i = self.expect(r"<iq type='get' id='([^']+)'>")
        self.send("<iq type='result' id='%s'/>" % i)
        self.expect(r"<presence>.*?</presence>")

    # n messages, window in flight: one more for each echo back.
    def load(self, n, window, body):
        pad = "x" * body
        msg = ("<message type='chat' id='m%d' to='bot@localhost' "
               "from='load@localhost/stages' xmlns='jabber:client'>"
               "<body>%d " + pad + "</body></message>")
        sent = min(window, n)
        self.send("".join(msg % (i, i) for i in range(sent)))
        echoed = self.got.count(b"</message>")
        self.got = b""
        while echoed < n:
            self.read()
            k = self.got.count(b"</message>")
            if k == 0:
                continue
            end = self.got.rfind(b"</message>") + len(b"</message>")
            self.got = self.got[end:]
            echoed += k
            more = min(k, n - sent)
            self.send("".join(msg % (sent + i, sent + i)
                              for i in range(more)))
            sent += more

    # The close; each stage's rusage.
    def close(self):
        self.send("</stream:stream>")
        self.parse.stdin.close()
        while os.read(self.out, 65536):
            pass
        return [os.wait4(p.pid, 0)[2] for p in (self.parse, self.echo)]


def instructions(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    sys.exit("stages.py: no total in " + path)


def main():
    try:
        opts, args = getopt.getopt(sys.argv[1:], "b:cn:w:")
    except getopt.GetoptError:
        usage()
    n, window, body, callgrind = 20000, 50, 100, False
    for o, v in opts:
        if o == "-c":
            callgrind = True
        elif not v.isdigit() or int(v) < 1:
            usage()
        elif o == "-n":
            n = int(v)
        elif o == "-w":
            window = int(v)
        else:
            body = int(v)
    if len(args) > 1:
        usage()
    top = args[0] if args else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        s = Stages(top, tmp, callgrind)
        s.login()
        s.load(n, window, body)
        usage_of = s.close()
        for name, ru in zip(("xmpp-parse", "xmpp-echo"), usage_of):
            if callgrind:
                print("%-10s %8.0f instructions/msg" % (
                    name, instructions("%s/%s.cg" % (tmp, name[5:])) / n))
            else:
                print("%-10s %6.3f us/msg (user %.3f, sys %.3f)" % (
                    name, (ru.ru_utime + ru.ru_stime) * 1e6 / n,
                    ru.ru_utime * 1e6 / n, ru.ru_stime * 1e6 / n))


main()
