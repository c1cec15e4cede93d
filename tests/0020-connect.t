#!/bin/sh
# xmpp-connect against small loopback servers: the relay, exit statuses,
# and a STARTTLS preamble that must never fall back to clear text.
. "$(dirname "$0")/lib.sh"
plan 28

XC=${XC:-$TOP/xmpp-connect/xmpp-connect}
HDR="<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
REQ="<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
trap '' PIPE

# srv.py ADDR MODE: one connection on a port of its own choosing (written
# to $T/port), what it received in $T/got.
cat >"$T/srv.py" <<'EOF'
import socket, sys, time
addr, mode, d = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET)
s.bind((addr, 0))
s.listen(1)
open(d + '/port.tmp', 'w').write('%d\n' % s.getsockname()[1])
import os; os.rename(d + '/port.tmp', d + '/port')
c, _ = s.accept()
c.settimeout(10)
got = b''
def until(end):
    global got
    while not got.endswith(end):
        x = c.recv(1)
        if not x:
            break
        got += x
def drain():
    global got
    try:
        while True:
            x = c.recv(65536)
            if not x:
                break
            got += x
    except OSError:
        pass
def send_slowly(b):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(b), 7):
        c.sendall(b[i:i + 7])
        time.sleep(0.002)
head = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' from='localhost' "
    b"id='x' version='1.0'>")
tls = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
if mode == 'echo':		# all of it, then an answer after the half-close
    drain()
    c.sendall(b'reply:' + got)
elif mode == 'blob':		# much data, then close without reading
    c.sendall(open(d + '/blob', 'rb').read())
elif mode == 'reset':		# once a byte came: a reset, not a close
    got = c.recv(1)
    c.sendall(b'partial')
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\1\0\0\0\0\0\0\0')
elif mode == 'notls':
    until(b"version='1.0'>")
    c.sendall(head + b"<stream:features><mechanisms xmlns='urn:ietf:params:"
        b"xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
        b"</stream:features>")
    drain()
elif mode == 'failure':
    until(b"version='1.0'>")
    send_slowly(head + b"<stream:features>" + tls + b"</stream:features>")
    until(b"xmpp-tls'/>")
    send_slowly(b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    drain()
elif mode == 'doctype':
    until(b"version='1.0'>")
    c.sendall(b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]>" + head)
    drain()
elif mode == 'proceed':		# then no TLS at all
    until(b"version='1.0'>")
    c.sendall(head + b"<stream:features>" + tls + b"</stream:features>")
    until(b"xmpp-tls'/>")
    c.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    c.recv(5)
open(d + '/got', 'wb').write(got)
c.close()
EOF

# server ADDR MODE: starts srv.py, sets PORT and SRV
server() {
	rm -f "$T/port" "$T/got"
	spawn $PY "$T/srv.py" "$1" "$2" "$T" 2>>"$T/srv.err"
	SRV=$spawned
	wait_file_grep "$T/port" '[0-9]' 10 || bail "srv.py did not start"
	PORT=$(cat "$T/port")
}

# finish PID: waits (bounded) for PID, its status in rc
finish() {
	wait_gone "$1" 20 || { diag "timed out"; stop "$1"; }
	wait "$1"
	rc=$?
}

# Both ways, exact bytes; stdin EOF half-closes, the answer still arrives.
server 127.0.0.1 echo
printf 'a\tb\0c\r\nd\377' >"$T/in"
"$XC" -t plain "127.0.0.1:$PORT" <"$T/in" >"$T/out" 2>"$T/err"
is "$?" 0 "plain: exit 0 when the server closes"
finish "$SRV"
check "plain: the server got the exact bytes, then EOF" cmp -s "$T/in" "$T/got"
printf 'reply:' | cat - "$T/in" >"$T/want"
check "plain: the answer sent after the half-close arrives" \
    cmp -s "$T/want" "$T/out"
is "$(cat "$T/err")" "" "plain: nothing on stderr"

# The server sends 1 MiB and closes while stdin stays open.
head -c 1048576 /dev/urandom >"$T/blob"
server 127.0.0.1 blob
mkfifo "$T/fifo"
exec 3<>"$T/fifo"	# read-write: opening does not wait for a reader
spawn sh -c 'exec "$@" <"$0" 3>&-' "$T/fifo" "$XC" -t plain "127.0.0.1:$PORT" \
    >"$T/out" 2>"$T/err"
xc=$spawned
finish "$xc"
exec 3>&-
is "$rc" 0 "server closes first: exit 0"
check "server closes first: every byte flushed to stdout" \
    cmp -s "$T/blob" "$T/out"
finish "$SRV"

# A reset: status 3, connection lost.
server 127.0.0.1 reset
mkfifo "$T/fifo2"
exec 3<>"$T/fifo2"
printf x >&3
"$XC" -t plain "127.0.0.1:$PORT" <"$T/fifo2" >/dev/null 2>"$T/err" 3>&-
is "$?" 3 "reset by the server: exit 3"
exec 3>&-
check "reset by the server: connection lost" \
    grep -q "connection lost: read from server: Connection reset" "$T/err"
finish "$SRV"

# Nothing listens: status 2 naming the address.
port=$(free_port)
"$XC" -t plain "127.0.0.1:$port" </dev/null >/dev/null 2>"$T/err"
is "$?" 2 "connection refused: exit 2"
check "connection refused: the message names address and port" \
    grep -q "could not connect: 127.0.0.1 port $port (IPv4): Connection refused" "$T/err"

# Bad arguments: status 1, the bad port named.
"$XC" -t plain 127.0.0.1:99999 </dev/null >/dev/null 2>"$T/err"
is "$?" 1 "port 99999: exit 1"
check "port 99999: named" grep -q "port 99999: too large" "$T/err"
"$XC" -t plain 127.0.0.1:x </dev/null >/dev/null 2>"$T/err"
is "$?" 1 "port x: exit 1"
"$XC" -t bogus localhost </dev/null >/dev/null 2>"$T/err"
is "$?:$(grep -c usage: "$T/err")" 1:1 "-t bogus: usage, exit 1"
"$XC" </dev/null >/dev/null 2>"$T/err"
is "$?" 1 "no host and no -d: exit 1"
is "$("$XC" -V)" "xmpp-connect $(sed -n 's/^VERSION = //p' "$TOP/Makefile")" \
    "-V prints the version"
"$XC" -h >"$T/h.out" 2>&1
is "$?:$(head -n 1 "$T/h.out")" "0:usage: xmpp-connect [-hINTV] [-C cafile] [-d domain] [-t mode] [-w file] [host[:port]]" \
    "-h prints the usage, as the man page's SYNOPSIS"

# IPv6 loopback, bracketed.
if $PY -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null; then
	server ::1 echo
	printf 'six' | "$XC" -t plain "[::1]:$PORT" >"$T/out" 2>"$T/err"
	is "$?:$(cat "$T/out")" "0:reply:six" "[::1]:port: relayed both ways"
	finish "$SRV"
else
	skip "[::1]:port: relayed both ways" "no IPv6 loopback"
fi

# STARTTLS not offered: status 6, nothing sent but the stream header.
server 127.0.0.1 notls
echo "<auth>secret</auth>" |
    "$XC" -d localhost "127.0.0.1:$PORT" >"$T/out" 2>"$T/err"
is "$?" 6 "no STARTTLS offered: exit 6"
finish "$SRV"
is "$(cat "$T/got")" "$HDR" "no STARTTLS offered: only the stream header sent"
is "$(wc -c <"$T/out")" 0 "no STARTTLS offered: nothing on stdout"
check "no STARTTLS offered: says so" grep -q "does not offer STARTTLS" \
    "$T/err"

# <failure/>, sent in 7-byte pieces: status 6, no clear text after it.
server 127.0.0.1 failure
echo "<auth>secret</auth>" |
    "$XC" -d localhost "127.0.0.1:$PORT" >"$T/out" 2>"$T/err"
is "$?" 6 "STARTTLS <failure/>: exit 6"
finish "$SRV"
is "$(cat "$T/got")" "$HDR$REQ" "STARTTLS <failure/>: nothing sent after it"

# A DOCTYPE in the preamble is refused.
server 127.0.0.1 doctype
"$XC" -d localhost "127.0.0.1:$PORT" </dev/null >/dev/null 2>"$T/err"
is "$?" 6 "DOCTYPE before TLS: exit 6"
finish "$SRV"

# <proceed/>, then no TLS: status 5 from the handshake, no temp dir left.
mkdir "$T/tmp"
server 127.0.0.1 proceed
TMPDIR=$T/tmp "$XC" -d localhost "127.0.0.1:$PORT" </dev/null >/dev/null \
    2>"$T/err"
is "$?" 5 "<proceed/> without TLS: exit 5 (handshake failed)"
is "$(wc -l <"$T/err"):$(cut -c 1-36 "$T/err")" \
    "1:xmpp-connect: TLS: handshake failed:" \
    "<proceed/> without TLS: one line saying the handshake failed"
finish "$SRV"
is "$(ls -A "$T/tmp")" "" "<proceed/> without TLS: temp dir removed"
