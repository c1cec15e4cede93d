#!/bin/sh
# The whole bot against a hostile server on the loopback: one that stops
# reading, one that never sends the roster but chats meanwhile.  Either
# way xmpp-echo ends the session with status 8 and echobot.sh retries.
. "$(dirname "$0")/lib.sh"
plan 9

# hostile.py MODE SESSIONS: an XMPP server on 127.0.0.1 (its port in
# $T/port) that lets the bot log in with PLAIN, then, per MODE:
#   stop    answers the roster, then sends 32 KiB messages and reads
#           nothing more
#   roster  never answers the roster request, and sends a message every
#           half second
# What it received in session N is in $T/got.N.  It serves SESSIONS
# sessions, each ending when the bot hangs up (or after 60 s).
cat >"$T/hostile.py" <<'PY'
import os, re, socket, sys, time
mode, sessions = sys.argv[1], int(sys.argv[2])
T = os.environ["T"]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)
open(T + "/port.tmp", "w").write("%d\n" % ls.getsockname()[1])
os.rename(T + "/port.tmp", T + "/port")
HEAD = ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' from='localhost' "
        "id='s%d' version='1.0'>")
FEAT = "<stream:features>%s</stream:features>"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
MSG = ("<message from='alice@localhost/a' to='bot@localhost/echo' "
       "type='chat'><body>%d %s</body></message>")

def serve(c, n):
    got = open("%s/got.%d" % (T, n), "wb")
    buf = b""
    def expect(pat):
        nonlocal buf
        while True:
            m = re.search(pat, buf)
            if m:
                buf = buf[m.end():]
                return m
            d = c.recv(65536)
            if not d:
                raise EOFError
            got.write(d)
            got.flush()
            buf += d
    send = lambda s: c.sendall(s.encode())
    expect(rb"<stream:stream [^>]*>")
    send(HEAD % 1 + FEAT % ("<mechanisms xmlns='%s'><mechanism>PLAIN"
                            "</mechanism></mechanisms>" % SASL))
    expect(rb"</auth>")
    send("<success xmlns='%s'/>" % SASL)
    expect(rb"<stream:stream [^>]*>")
    send(HEAD % 2 + FEAT % "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>")
    m = expect(rb"<iq type='set' id='([^']+)'><bind ")
    send("<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:"
         "xmpp-bind'><jid>bot@localhost/echo</jid></bind></iq>"
         % m.group(1).decode())
    m = expect(rb"<iq type='get' id='([^']+)'><query xmlns='jabber:iq:roster'/>")
    end = time.time() + 60
    i = 0
    if mode == "roster":
        c.settimeout(0.5)
        while time.time() < end:
            i += 1
            send(MSG % (i, "hello"))
            try:
                d = c.recv(65536)
            except socket.timeout:
                continue
            if not d:
                break
            got.write(d)
            got.flush()
        return
    send("<iq type='result' id='%s'/>" % m.group(1).decode())
    expect(rb"<presence><c [^>]*/></presence>")
    c.settimeout(1)
    body = "x" * 32768
    while time.time() < end:
        i += 1
        try:
            send(MSG % (i, body))
        except socket.timeout:
            continue	# the bot reads no more: keep trying
        except OSError:
            break

for n in range(1, sessions + 1):
    c, _ = ls.accept()
    try:
        serve(c, n)
    except (EOFError, OSError):
        pass
    c.close()
PY

# hostile MODE SESSIONS XMPP-ECHO-ARGS...: the server, then echobot.sh
# -n SESSIONS against it; BOT_PID, its stderr in $T/bot.err
hostile() {
	_m=$1 _s=$2
	shift 2
	rm -f "$T/port" "$T"/got.*
	: >"$T/bot.err"
	spawn $PY "$T/hostile.py" "$_m" "$_s"
	wait_file_grep "$T/port" . 10 || bail "hostile.py did not start"
	spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -n "$_s" -P -t plain \
	    -s "127.0.0.1:$(cat "$T/port")" -p "$T/pw" -r echo bot@localhost \
	    "$@" 2>>"$T/bot.err" </dev/null
	BOT_PID=$spawned
}
mkdir -p "$T/tmp"
(umask 077 && echo pw >"$T/pw")

# --- the issue's case: -i 2 -t 2, a server that stops reading
hostile stop 1 -i 2 -t 2 -b 1000000 -R 6000000
ended "$BOT_PID" 60
is "$?" 3 "a server that stops reading: the session ends, status 3"
check "xmpp-echo said why" \
    grep -q "${LOG}xmpp-echo: server took no output for 2 s$" "$T/bot.err"
check "the launcher named it" grep -q \
    "xmpp-echo exited 8 (server stopped answering or reading)" "$T/bot.err"
check "it had echoed" grep -q "${LOG}xmpp-echo: echoed [1-9]" "$T/bot.err"

# --- no roster, a message every half second: retried, nothing echoed
hostile roster 2 -t 2
ended "$BOT_PID" 60
is "$?" 3 "no roster: two sessions, then status 3"
is "$(grep -c "${LOG}xmpp-echo: login: no roster from the server in 2 s$" \
    "$T/bot.err")" 2 "no roster: xmpp-echo said why, each session"
check "no roster: the launcher tried again" \
    grep -q "${LOG}echobot.sh: session 2: connecting" "$T/bot.err"
check "no roster: both sessions got messages" \
    sh -c 'test -s "$1" && test -s "$2"' sh "$T/got.1" "$T/got.2"
check "no roster: nothing echoed, no presence" sh -c \
    '! grep -q -e "<message" -e "<presence" "$1" "$2"' sh "$T/got.1" "$T/got.2"
