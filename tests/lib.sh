# tests/lib.sh - sourced by every tests/*.t: TAP, scratch dir, processes, Prosody
#
# TOP is the repository root, T a scratch directory removed at exit.
# Every process started with spawn is killed at exit, also on failure.

: "${TOP:=$(cd "$(dirname "$0")/.." && pwd)}"
PY=/usr/bin/python3	# Debian's python modules (slixmpp) load only here
T=$(mktemp -d "${TMPDIR:-/tmp}/echobot-test.XXXXXX") || exit 1
chmod 711 "$T"		# the prosody user must traverse it to its files
export TOP T

# TAP
ntest=0
nfail=0
nplan=

plan() { nplan=$1; echo "1..$1"; }
pass() { ntest=$((ntest + 1)); echo "ok $ntest - $*"; }
fail() { ntest=$((ntest + 1)); nfail=$((nfail + 1)); echo "not ok $ntest - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
skip() { ntest=$((ntest + 1)); echo "ok $ntest - $1 # SKIP $2"; }
bail() { echo "Bail out! $*"; exit 255; }

# check DESC CMD [ARG ...]: ok when CMD succeeds
check() {
	_d=$1
	shift
	if "$@"; then pass "$_d"; else fail "$_d"; fi
}

# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		diag "got:  '$(printf %s "$1" | head -c 300)'" \
		    "want: '$(printf %s "$2" | head -c 300)'"
		return 1
	fi
}

# Processes: spawn CMD [ARG ...] runs CMD in the background in its own
# process group (setsid execs in place, so $! is the group id) and
# records it; the redirections of the call apply to CMD.  They are made
# by the calling shell, before the fork: a fifo there blocks the caller
# until its other end opens (spawn sh -c 'exec CMD <fifo' instead).
spawn() {
	setsid "$@" &
	spawned=$!
	echo "$spawned" >>"$T/pids"
}

# alive PID: running, neither gone nor a zombie waiting to be reaped
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	_state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c 1)
	[ "$_state" != Z ]
}

# stop PID: TERM its process group, KILL it after 5 s, reap it.
stop() {
	kill -s TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null
	_n=50
	while alive "$1" && [ $_n -gt 0 ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	kill -s KILL -- "-$1" 2>/dev/null || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	_st=$?
	trap - EXIT INT TERM
	if [ -f "$T/pids" ]; then
		# the last started first: the bot before its server
		for _p in $(sed '1!G;h;$!d' "$T/pids"); do stop "$_p"; done
	fi
	rm -rf "$T"
	if [ -n "$nplan" ] && [ "$ntest" -ne "$nplan" ]; then
		echo "# planned $nplan tests, ran $ntest"
		[ "$_st" -eq 0 ] && _st=255
	fi
	[ -n "$nplan" ] && echo "# $ntest tests, $nfail failed"
	[ "$nfail" -gt 0 ] && [ "$_st" -eq 0 ] && _st=1
	exit "$_st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waiting for events, never longer than SECS.
free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_port HOST PORT SECS: until something listens there
wait_port() {
	$PY - "$@" <<'EOF'
import socket, sys, time
host, port, end = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while True:
    try:
        socket.create_connection((host, port), 1).close()
        sys.exit(0)
    except OSError:
        if time.time() > end:
            sys.exit(1)
        time.sleep(0.05)
EOF
}

# wait_file_grep FILE PATTERN SECS: until FILE has a line matching PATTERN
wait_file_grep() {
	_n=$(($3 * 10))
	until grep -q -e "$2" "$1" 2>/dev/null; do
		[ $_n -le 0 ] && return 1
		sleep 0.1
		_n=$((_n - 1))
	done
}

# wait_gone PID SECS: until PID has exited
wait_gone() {
	_n=$(($2 * 10))
	while alive "$1"; do
		[ $_n -le 0 ] && return 1
		sleep 0.1
		_n=$((_n - 1))
	done
}

# ended PID SECS: PID's exit status once it has exited, within SECS
# seconds; else 255 (it is left to the cleanup)
ended() {
	wait_gone "$1" "$2" || return 255
	wait "$1"
}

# sanitized FILE: FILE was built with ASan or UBSan (make CFLAGS=
# -fsanitize=...): valgrind cannot run it, and its sandbox is off.
sanitized() {
	ldd "$1" 2>/dev/null | grep -q -e libasan -e libubsan
}

# A private Prosody under $T/prosody: loopback, ports picked here, its own
# data, pid and log files; the system's Prosody is never touched.  As root
# it runs as the prosody user (as root it may die in mod_posix).
PDIR=$T/prosody
PCONF=$PDIR/prosody.cfg.lua
XMPP_DOMAIN=localhost
export XMPP_DOMAIN
if [ "$(id -u)" -eq 0 ]; then
	as_prosody='setpriv --reuid=prosody --regid=prosody --init-groups'
else
	as_prosody=
fi

prosody_config() {
	mkdir -p "$PDIR/data" "$PDIR/certs"
	C2S_PORT=$(free_port)
	DIRECT_PORT=$(free_port)
	export C2S_PORT DIRECT_PORT
	_tls='c2s_require_encryption = false'
	if [ "${PROSODY_TLS:-0}" = 1 ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
		    -keyout "$PDIR/certs/localhost.key" \
		    -out "$PDIR/certs/localhost.crt" 2>/dev/null ||
		    bail "openssl req failed"
		CA_FILE=$PDIR/certs/localhost.crt
		export CA_FILE
		_tls="c2s_require_encryption = true
c2s_direct_tls_ports = { $DIRECT_PORT }
ssl = { certificate = \"$CA_FILE\"; key = \"$PDIR/certs/localhost.key\" }"
	fi
	cat >"$PCONF" <<-EOF
	pidfile = "$PDIR/prosody.pid"
	data_path = "$PDIR/data"
	log = { debug = "$PDIR/prosody.log" }
	daemonize = false
	interfaces = { "127.0.0.1" }
	c2s_ports = { $C2S_PORT }
	s2s_ports = { }
	http_ports = { }
	https_ports = { }
	admin_socket = "$PDIR/admin.sock"
	modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "posix" }
	modules_disabled = { "s2s" }
	authentication = "internal_hashed"
	allow_unencrypted_plain_auth = true
	certificates = "$PDIR/certs"
	$_tls
	VirtualHost "localhost"
	EOF
}

# prosody_start: configure (once), start, wait until it listens
prosody_start() {
	[ -f "$PCONF" ] || prosody_config
	[ -n "$as_prosody" ] && chown -R prosody:prosody "$PDIR"
	spawn $as_prosody prosody --config "$PCONF" -F \
	    >>"$PDIR/stdout" 2>&1
	PROSODY_PID=$spawned
	if ! wait_port 127.0.0.1 "$C2S_PORT" 20; then
		diag "prosody did not start:" "$(tail -n 20 "$PDIR/stdout" \
		    "$PDIR/prosody.log" 2>/dev/null)"
		return 1
	fi
}

prosody_stop() {
	[ -n "${PROSODY_PID:-}" ] && stop "$PROSODY_PID"
	PROSODY_PID=
}

# prosody_adduser USER PASS: the password goes on prosodyctl's stdin
# (asked for twice), never on argv.
prosody_adduser() {
	printf '%s\n%s\n' "$2" "$2" |
	    $as_prosody prosodyctl --config "$PCONF" adduser "$1@localhost" \
	    >/dev/null 2>&1
	[ -f "$PDIR/data/localhost/accounts/$1.dat" ]
}

# prosody_befriend A B: A and B see each other's presence.  Writes both
# rosters in Prosody's file storage format before either logs in: there
# is no prosodyctl command for it, and it spares the bot from handling
# subscription requests.
prosody_befriend() {
	mkdir -p "$PDIR/data/localhost/roster"
	for _u in "$1 $2" "$2 $1"; do
		set -- $_u
		cat >"$PDIR/data/localhost/roster/$1.dat" <<-EOF
		return {
			[false] = { ["version"] = 1; };
			["$2@localhost"] = { ["subscription"] = "both"; ["groups"] = {}; };
		};
		EOF
	done
	[ -n "$as_prosody" ] && chown -R prosody:prosody "$PDIR/data"
	return 0
}

# randpw: a throwaway password
randpw() {
	od -An -N12 -tx1 /dev/urandom | tr -d ' \n'
}

# jfield NAME FILE: field NAME of every JSON line of FILE (a line that
# is no object stands for itself), as JSON
jfield() {
	$PY -c 'import json, sys
for l in open(sys.argv[2], encoding="utf-8"):
    v = json.loads(l)
    v = v.get(sys.argv[1]) if isinstance(v, dict) else v
    print(json.dumps(v, ensure_ascii=False))' "$@"
}

# jnorm FILE: every JSON line of FILE in peer.py's spelling
jnorm() {
	$PY -c 'import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    print(json.dumps(json.loads(l), ensure_ascii=False))' "$1"
}

# echobot_setup: private Prosody with accounts bot and alice, as
# echobot_accounts makes them.
echobot_setup() {
	prosody_start || bail "prosody did not start"
	echobot_accounts
}

# echobot_accounts: accounts bot and alice on the running Prosody (random
# passwords, $T/bot.pass and ALICE_PW), friends, so that peer.py sees
# the bot come online.
echobot_accounts() {
	BOT_PW=$(randpw)
	ALICE_PW=$(randpw)
	prosody_adduser bot "$BOT_PW" && prosody_adduser alice "$ALICE_PW" ||
	    bail "prosodyctl adduser failed"
	prosody_befriend alice bot
	(umask 077 && printf '%s\n' "$BOT_PW" >"$T/bot.pass")
	mkdir -p "$T/tmp"
}

# LOG: in a grep pattern, the start of a line of the launcher's log,
# which starts with its time when stderr is not a terminal (echobot.sh(1));
# exported, for sh -c scripts
LOG='^\([0-9]\{4\}-[0-9-]*T[0-9:]*Z \)\{0,1\}'
export LOG

# bot_start ARGS...: echobot.sh ARGS... bot@localhost in the background,
# stderr in $T/bot.err, its temp dir under $T/tmp; BOT_PID.  SIGINT goes
# back to its default first, as for a command started from a terminal
# (a script's background job starts with it ignored, for good).
bot_start() {
	spawn $PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' \
	    env TMPDIR="$T/tmp" "$TOP/echobot.sh" "$@" bot@localhost \
	    2>>"$T/bot.err" </dev/null
	BOT_PID=$spawned
}

# alice ARGS...: peer.py as alice talking to the bot over plain TCP
alice() {
	PEER_PASSWORD=$ALICE_PW $PY "$TOP/tests/peer.py" --host 127.0.0.1 \
	    --port "$C2S_PORT" --jid alice@localhost --to bot@localhost "$@"
}

# alice_ping DESC ARGS...: alice sends "ping" (peer.py ARGS say how);
# one test that the bot echoed it
alice_ping() {
	_d=$1
	shift
	echo '"ping"' >"$T/ping"
	alice "$@" --send "$T/ping" --expect 1 >"$T/got"
	is "$?:$(jfield body "$T/got")" '0:"ping"' "$_d"
}

# pipeline NAME ARGS...: xmpp-connect | xmpp-parse | xmpp-echo ARGS by
# hand, to the private Prosody; the exit statuses in $T/NAME.xc, .xp,
# .xe, xmpp-echo's pid in $T/NAME.pid, every stage's stderr in $T/NAME.err
pipeline() {
	_n=$1
	shift
	mkfifo "$T/$_n.fifo"
	spawn env N="$_n" sh -c '
	    { "$TOP/xmpp-connect/xmpp-connect" -t plain -d localhost \
	        "127.0.0.1:$C2S_PORT"; echo $? >"$T/$N.xc"; } <"$T/$N.fifo" |
	    { "$TOP/xmpp-parse/xmpp-parse"; echo $? >"$T/$N.xp"; } |
	    { sh -c '\''echo $$ >"$T/$N.pid"; exec "$0" "$@"'\'' \
	        "$TOP/xmpp-echo/xmpp-echo" "$@" >"$T/$N.fifo"
	      echo $? >"$T/$N.xe"; }' sh "$@" 2>"$T/$_n.err"
	wait_file_grep "$T/$_n.pid" . 10 || bail "$_n: xmpp-echo did not start"
}

# mute_server: a server on loopback that takes connections, holds them
# and says nothing; its port in MUTE_PORT
mute_server() {
	spawn $PY -c 'import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(s.accept()[0])' "$T/mute.port"
	wait_file_grep "$T/mute.port" . 10 || bail "no listener"
	MUTE_PORT=$(cat "$T/mute.port")
}

# echo_server NAME ARGS...: tests/echo-server.py NAME ARGS... (a scripted
# server that misbehaves as ARGS say, running the client after --), the
# password "pw" in the environment; $T/NAME.rc is always written, and
# the script's own timeouts are shown.
echo_server() {
	_n=$1
	shift
	XMPP_PASSWORD=pw $PY "$TOP/tests/echo-server.py" "$_n" "$@"
	[ -f "$T/$_n.rc" ] || echo "echo-server.py failed" >"$T/$_n.rc"
	grep -q timeout "$T/$_n.notes" 2>/dev/null && diag "$(cat "$T/$_n.notes")"
	return 0
}

# counters NAME: pipeline NAME's xmpp-echo counters now (its USR1 line,
# numbers only: "echoed rate size loop ..."), or 1 after 5 s
counters() {
	_c=$(grep -c '^xmpp-echo: echoed' "$T/$1.err")
	kill -USR1 "$(cat "$T/$1.pid")"
	_n=50
	while [ "$(grep -c '^xmpp-echo: echoed' "$T/$1.err")" -le "$_c" ]; do
		[ $_n -le 0 ] && return 1
		sleep 0.1
		_n=$((_n - 1))
	done
	grep '^xmpp-echo: echoed' "$T/$1.err" | tail -n 1 |
	    sed 's/[^0-9]*\([0-9]*\)[^0-9]*/\1 /g; s/ $//'
}

# bot_pair: accounts a and b, each an echo bot by pipeline (traced, -v),
# both online; b's stream to the server is $T/b.fifo
bot_pair() {
	A_PW=$(randpw) B_PW=$(randpw)
	prosody_adduser a "$A_PW" && prosody_adduser b "$B_PW" ||
	    bail "prosodyctl adduser failed"
	(umask 077 && echo "$A_PW" >"$T/a.pass" && echo "$B_PW" >"$T/b.pass")
	pipeline a -v -P -r echo -p "$T/a.pass" a@localhost
	pipeline b -v -P -r echo -p "$T/b.pass" b@localhost
	wait_file_grep "$T/a.err" '^> <presence' 20 &&
	    wait_file_grep "$T/b.err" '^> <presence' 20 ||
	    bail "a and b not online"
}

# sm_setup: echobot_setup, Prosody with mod_smacks (XEP-0198)
sm_setup() {
	prosody_config
	sed -i 's/"posix" }/"posix", "smacks" }/' "$PCONF"
	echobot_setup
}

# sm_bot_start [ARG ...]: echobot.sh -v in clear text to the private
# Prosody, ARGs after the JID (xmpp-echo's), stderr in $T/bot.err; its
# pid in BOT_PID, once stream management is enabled, resumable.
sm_bot_start() {
	spawn $PY -c 'import os, sys; os.execvp(sys.argv[1], sys.argv[1:])' \
	    env TMPDIR="$T/tmp" "$TOP/echobot.sh" -v -t plain \
	    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost "$@" \
	    2>>"$T/bot.err" </dev/null
	BOT_PID=$spawned
	wait_file_grep "$T/bot.err" "^< enabled.*@resume=true" 20 ||
	    bail "no stream management"
}

# sm_cut_alice TAG: alice sends 500 messages "TAG N ..." of 1 KiB (more
# than the pipes hold, so that a cut catches some on their way), all in
# $T/send, in two batches of 250 by one client that stays online; the
# second waits for sm_cut.  ALICE is her pid; the replies go to
# $T/got1 and $T/got2.  Bails out unless the first 250 come back.
sm_cut_alice() {
	_pad=$(printf '%1000s' '' | tr ' ' .)
	_i=1
	while [ $_i -le 500 ]; do
		echo "\"$1 $_i $_pad\""
		_i=$((_i + 1))
	done >"$T/send"
	head -n 250 "$T/send" >"$T/send1"
	tail -n 250 "$T/send" >"$T/send2"
	mkfifo "$T/alice.ctl"
	PEER_PASSWORD=$ALICE_PW spawn sh -c '
	    "$0" "$1/tests/peer.py" --host 127.0.0.1 --port "$2" \
	        --jid alice@localhost --to bot@localhost --no-tls \
	        --send "$3/send1" --expect 250 --timeout 60 >"$3/got1" &&
	    read go <"$3/alice.ctl" &&
	    "$0" "$1/tests/peer.py" --host 127.0.0.1 --port "$2" \
	        --jid alice@localhost --to bot@localhost --no-tls --no-wait \
	        --send "$3/send2" --expect 250 --timeout 120 >"$3/got2"
	    ' $PY "$TOP" "$C2S_PORT" "$T"
	ALICE=$spawned
	wait_file_grep "$T/got1" "$1 250 " 60 ||
	    bail "the first 250 did not come back"
}

# sm_cut: the link of the bot of sm_bot_start cut between two stanzas
# of ours: its xmpp-parse held still, alice's second batch let go, and
# once the server has all 500 (polled as wait_file_grep does, 60 s),
# xmpp-connect killed, xmpp-parse let go.
sm_cut() {
	_parse=$(pgrep -s "$BOT_PID" -x xmpp-parse)
	kill -STOP "$_parse"
	echo go >"$T/alice.ctl"
	_n=600
	until [ "$(grep -c "Received\[c2s\]: <message[^>]* to='bot@localhost'" \
	    "$PDIR/prosody.log")" -ge 500 ] || [ $_n -le 0 ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	kill -KILL $(pgrep -s "$BOT_PID" -x xmpp-connect)
	kill -CONT "$_parse"
}

# closes: how many of the bot's streams Prosody saw closed by the bot
# (not cut), each after the bot's unavailable presence
closes() {
	grep 'c2s stream for bot@localhost/[^ ]* closed: session closed' \
	    "$PDIR/prosody.log" | cut -f 1 | cut -d ' ' -f 4 >"$T/sids"
	_n=0
	while read -r _sid; do
		grep -q "$_sid.*Received\[c2s\]: <presence[^>]* type='unavailable'" \
		    "$PDIR/prosody.log" && _n=$((_n + 1))
	done <"$T/sids"
	echo "$_n"
}

# goodbye DESC BEFORE: one test that Prosody saw one more clean close
# (closes) than BEFORE, within 10 s
goodbye() {
	_n=100
	while [ "$(closes)" -le "$2" ] && [ $_n -gt 0 ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	check "$1" test "$(closes)" -gt "$2"
}
