#!/bin/sh
# xmpp-connect finding its server through DNS: SRV records of
# _xmpp-client and _xmpps-client (RFC 6120 3.2, RFC 2782, XEP-0368)
# answered by a private dnsmasq, the resolver's only server.  The test
# runs in a mount and a network namespace of its own: /etc/resolv.conf
# is a bind mount there, every address is on its own loopback, so the
# machine's resolver and ports are never touched.  Listeners record who
# got each connection and its first byte; a private Prosody gives real
# answers over both kinds of TLS.
PATH=$PATH:/usr/sbin:/sbin	# ip and dnsmasq
if [ -z "${DNS_NS:-}" ]; then
	why=
	if [ "$(id -u)" -ne 0 ]; then
		why="not root: unshare and a bind mount over /etc/resolv.conf"
	elif ! command -v dnsmasq >/dev/null; then
		why="no dnsmasq (sh tests/deps.sh check installs dnsmasq-base)"
	elif ! unshare -m -n --propagation private true 2>/dev/null; then
		why="unshare -m -n fails here (no CAP_SYS_ADMIN?)"
	fi
	if [ -n "$why" ]; then
		echo "1..0 # SKIP $why"
		exit 0
	fi
	# private propagation: the bind mount never reaches the machine
	DNS_NS=1 exec unshare -m -n --propagation private sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
plan 36

XC=${XC:-$TOP/xmpp-connect/xmpp-connect}
HDR="<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
DNS=127.53.0.1	# the name server
LIVE=127.53.1.1	# listeners on the SRV ports
DEAD=127.53.1.2	# nothing listens: connection refused
HOME4=127.53.1.3	# domains whose fallback is right, listened to on 5222
TRAP=127.53.1.4	# the other domains, listened to on 5222: caught out
trap '' PIPE

ip link set lo up || bail "ip link set lo up failed"
printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$DNS" \
    >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf ||
    bail "bind mount over /etc/resolv.conf failed"

# Prosody for real answers, on 127.0.0.1 of this namespace.
command -v stunnel >/dev/null || bail "stunnel not installed"
PROSODY_TLS=1
prosody_config

# srv NAME TARGET PORT PRIO WEIGHT, or srv NAME alone for ".": a record
srv() {
	if [ $# -eq 1 ]; then
		echo "srv-host=$1"
	else
		echo "srv-host=$1,$2,$3,$4,$5"
	fi
}
C=_xmpp-client._tcp
S=_xmpps-client._tcp
{
	cat <<-EOF
	port=53
	listen-address=$DNS
	bind-interfaces
	no-resolv
	no-hosts
	no-poll
	local=/test/
	local=/localhost/
	log-queries
	log-facility=$T/dns.log
	host-record=live.test,$LIVE
	host-record=dead.test,$DEAD
	host-record=nosrv.test,$HOME4
	host-record=donly.test,$HOME4
	host-record=xmpp.test,127.0.0.1
	EOF
	for d in dot sdot sdotonly both mixed prio fall dfall order weight; do
		echo "host-record=$d.test,$TRAP"
	done
	# priority first, whatever the order of the answer
	srv $C.prio.test live.test 5002 20 0
	srv $C.prio.test live.test 5001 10 0
	srv $C.prio.test live.test 5003 30 0
	# dead and unknown targets are passed over
	srv $C.fall.test nxhost.test 5001 5 0
	srv $C.fall.test dead.test 5001 10 0
	srv $C.fall.test live.test 5002 20 0
	# "." alone: no service, no fallback to the domain
	srv $C.dot.test
	# XEP-0368: at equal priority direct TLS first, whatever the weights
	srv $C.both.test live.test 5011 10 65535
	srv $S.both.test live.test 5012 10 0
	# ... and both kinds ordered by priority together
	srv $C.mixed.test live.test 5013 5 0
	srv $S.mixed.test live.test 5014 10 0
	# _xmpps-client "." (no direct TLS): the _xmpp-client records
	srv $S.sdot.test
	srv $C.sdot.test live.test 5015 10 0
	# ... but no fallback to the domain (XEP-0368)
	srv $S.sdotonly.test
	# _xmpps-client only
	srv $S.donly.test live.test 5016 10 0
	# a dead direct TLS target, then STARTTLS
	srv $S.dfall.test dead.test 5017 10 0
	srv $C.dfall.test live.test 5018 20 0
	# the whole order over both kinds, every target but the last dead
	srv $S.order.test dead.test 6001 10 0
	srv $C.order.test dead.test 6002 10 0
	srv $C.order.test dead.test 6003 5 0
	srv $S.order.test dead.test 6004 20 0
	srv $C.order.test live.test 5019 30 0
	# weights within a priority; the next priority never first
	srv $C.weight.test live.test 5021 10 0
	srv $C.weight.test live.test 5022 10 10
	srv $C.weight.test live.test 5023 10 30
	srv $C.weight.test live.test 5024 20 65535
	# the real server: a dead direct TLS target first
	srv $S.localhost dead.test 5222 5 0
	srv $S.localhost xmpp.test "$DIRECT_PORT" 10 0
	srv $C.localhost xmpp.test "$C2S_PORT" 20 0
} >"$T/dnsmasq.conf"

spawn dnsmasq --keep-in-foreground \
    --conf-file="$T/dnsmasq.conf" --pid-file="$T/dnsmasq.pid" \
    2>"$T/dnsmasq.err"
# "started" is logged once the sockets are bound.
wait_file_grep "$T/dns.log" 'started' 10 ||
    bail "dnsmasq did not start: $(cat "$T/dnsmasq.err")"

# lsn.py LOG READY ADDR:PORT...: accepts on every ADDR:PORT, one
# connection at a time, and logs "ADDR:PORT KIND" before closing: tls
# (a ClientHello), xml (a stream header, STARTTLS), eof (plain mode,
# empty stdin).
cat >"$T/lsn.py" <<'EOF'
import selectors, socket, sys
log, ready = sys.argv[1], sys.argv[2]
sel = selectors.DefaultSelector()
for a in sys.argv[3:]:
    host, port = a.rsplit(':', 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(8)
    sel.register(s, selectors.EVENT_READ, a)
out = open(log, 'a', buffering=1)
open(ready, 'w').write('ready\n')
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.settimeout(10)
        try:
            b = c.recv(1)
        except OSError:
            b = b'?'
        kind = {b'\x16': 'tls', b'<': 'xml', b'': 'eof'}.get(b, 'other')
        out.write('%s %s\n' % (key.data, kind))
        c.close()
EOF
ports=
for p in 5001 5002 5003 5011 5012 5013 5014 5015 5016 5018 5019 5021 \
    5022 5023 5024; do
	ports="$ports $LIVE:$p"
done
spawn $PY "$T/lsn.py" "$T/lsn.log" "$T/lsn.ready" $ports "$HOME4:5222" \
    "$TRAP:5222" 2>"$T/lsn.err"
wait_file_grep "$T/lsn.ready" ready 10 ||
    bail "lsn.py did not start: $(cat "$T/lsn.err")"

# try MODE DOMAIN: xmpp-connect -t MODE -d DOMAIN with an empty stdin;
# its status in rc, stderr in $T/err, the listeners it reached as
# "ADDR:PORT KIND" in got, without the $LIVE: of the SRV targets.
try() {
	: >"$T/lsn.log"
	TMPDIR=$T "$XC" -t "$1" -d "$2" </dev/null >/dev/null 2>"$T/err"
	rc=$?
	got=$(sed "s/^$LIVE://" "$T/lsn.log" | tr '\n' ' ' | sed 's/ $//')
}

# within N LO HI: LO <= N <= HI
within() {
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

try plain prio.test
is "$rc:$got" "0:5001 eof" "priority: the lowest value first"
try plain fall.test
is "$got" "5002 eof" "dead targets: the next one answers"
# one line for the targets passed over, in the order tried
check "dead targets: the unknown name is reported" \
    grep -q "^xmpp-connect: passed over: .*nxhost.test port " "$T/err"
check "dead targets: the refused address is reported" \
    grep -q "port 5001 ($DEAD, IPv4): Connection refused" "$T/err"
is "$(grep -o -e nxhost.test -e "($DEAD" "$T/err" | tr '\n' ' ')" \
    "nxhost.test ($DEAD " "dead targets: in priority order"

try plain dot.test
is "$rc:$got" "2:" "target \".\": exit 2, no connection, no fallback"
check "target \".\": says there is no service" \
    grep -q 'dot.test: no XMPP service' "$T/err"

try plain nosrv.test
is "$rc:$got" "0:$HOME4:5222 eof" "no SRV record: the domain itself on 5222"

try direct both.test
is "$got" "5012 tls" "both kinds at one priority: direct TLS first"
try starttls both.test
is "$got" "5011 xml" "-t starttls: only _xmpp-client, STARTTLS"
try plain both.test
is "$rc:$got" "0:5011 eof" "-t plain: only _xmpp-client, clear text"
try direct mixed.test
is "$got" "5013 xml" "both kinds by priority: STARTTLS first when lower"
try direct dfall.test
is "$got" "5018 xml" "dead direct TLS target: STARTTLS on the next"
check "dead direct TLS target: reported" \
    grep -q "passed over: .*port 5017 ($DEAD, IPv4): Connection refused" \
    "$T/err"
try direct order.test
is "$got" "5019 xml" "both kinds, all dead but the last: STARTTLS on it"
is "$(grep -o 'port 600[0-9]' "$T/err" | tr '\n' ' ')" \
    "port 6003 port 6001 port 6002 port 6004 " \
    "both kinds, all dead but the last: tried by priority, direct first"
try direct sdot.test
is "$got" "5015 xml" "_xmpps-client \".\": STARTTLS on _xmpp-client"
try direct sdotonly.test
is "$rc:$got" "2:" "_xmpps-client \".\" alone: exit 2, no fallback (XEP-0368)"
try direct donly.test
is "$got" "5016 tls" "_xmpps-client only: direct TLS"
try starttls donly.test
is "$got" "$HOME4:5222 xml" "_xmpps-client only, -t starttls: the domain on 5222"
try direct prio.test
is "$got" "5001 xml" "-t direct, no _xmpps-client: STARTTLS by priority"
try direct nosrv.test
is "$got" "$HOME4:5222 xml" "-t direct, no SRV at all: STARTTLS on 5222"

# Weights (RFC 2782): 0, 10 and 30 at one priority are picked first
# with odds 1:10:30 (of 41); the record of the next priority never,
# whatever its weight.  The bounds are five standard deviations wide
# (200 tries): a correct order fails them about once in a million runs.
n=0
: >"$T/first"
while [ $n -lt 200 ]; do
	try plain weight.test
	echo "$got" >>"$T/first"
	n=$((n + 1))
done
c1=$(grep -c '^5021 eof$' "$T/first")
c2=$(grep -c '^5022 eof$' "$T/first")
c3=$(grep -c '^5023 eof$' "$T/first")
c4=$(grep -c '^5024 ' "$T/first")
diag "first picks of weights 0, 10, 30 (prio 10), 65535 (prio 20):" \
    "$c1 $c2 $c3 $c4 of 200"
is "$((c1 + c2 + c3))" 200 "weights: every try reached a priority-10 target"
is "$c4" 0 "weights: the next priority never first"
check "weights: weight 30 first 55-90% of the time (odds 73%)" \
    within "$c3" 110 180
check "weights: weight 10 first 10-40% of the time (odds 24%)" \
    within "$c2" 20 80
check "weights: weight 0 first rarely (odds 2.4%)" within "$c1" 0 20

# The real server.
prosody_start || bail "prosody did not start"

# session NAME MODE: xmpp-connect -t MODE -d localhost, the stream
# header on stdin, </stream:stream> once the features arrived (or
# xmpp-connect ended); out in $T/NAME.out, $T/NAME.err, status in rc.
session() {
	mkfifo "$T/$1.in"
	exec 3<>"$T/$1.in"
	spawn sh -c 'exec "$@" <"$0" 3>&-' "$T/$1.in" env TMPDIR="$T" \
	    "$XC" -t "$2" -C "$CA_FILE" -d localhost -w "$T/$1.cap" \
	    >"$T/$1.out" 2>"$T/$1.err"
	_pid=$spawned
	printf '%s' "$HDR" >&3
	_i=100
	while alive "$_pid" && [ $_i -gt 0 ] &&
	    ! grep -q '</stream:features>' "$T/$1.out"; do
		sleep 0.1
		_i=$((_i - 1))
	done
	printf '</stream:stream>' >&3
	exec 3>&-
	ended "$_pid" 20
	rc=$?
	pre=$(grep -ac '^[0-9.]* p< [0-9]*$' "$T/$1.cap")
}

session sdirect direct
is "$rc" 0 "Prosody, -t direct: exit 0"
check "Prosody, -t direct: features over TLS (SCRAM, no STARTTLS)" \
    sh -c 'grep -q "<mechanism>SCRAM-SHA-1</mechanism>" "$0" &&
        ! grep -q starttls "$0"' "$T/sdirect.out"
is "$(cat "$T/sdirect.err")" \
    "xmpp-connect: passed over: dead.test port 5222 ($DEAD, IPv4): Connection refused" \
    "Prosody, -t direct: the dead first target passed over"
is "$pre" 0 "Prosody, -t direct: no STARTTLS preamble (-w)"

session sstarttls starttls
is "$rc" 0 "Prosody, -t starttls: exit 0"
check "Prosody, -t starttls: features after STARTTLS (SCRAM)" \
    grep -q "<mechanism>SCRAM-SHA-1</mechanism>" "$T/sstarttls.out"
is "$(cat "$T/sstarttls.err")" "" "Prosody, -t starttls: quiet"
check "Prosody, -t starttls: after a STARTTLS preamble (-w)" [ "$pre" -gt 0 ]

# The resolver outside is untouched: these are our own records.
check "the queries went to the private server" \
    grep -q "query\[SRV\] _xmpps-client._tcp.localhost" "$T/dns.log"
