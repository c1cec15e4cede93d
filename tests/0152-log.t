#!/bin/sh
# echobot.sh's log: one line per event; as they are on a terminal; to
# syslog with -l, through logger(1), every stage's line, the last ones
# after a SIGTERM to the whole group too; -l without a syslog socket is
# refused before connecting.  (Stamps in a file: 0150; the journal: 0151.)
. "$(dirname "$0")/lib.sh"
plan 9

echobot_setup
link="-t plain -s 127.0.0.1:$C2S_PORT -p $T/bot.pass"

# A terminal: script(1) gives the launcher one on stdin, stdout, stderr.
port=$(free_port)
TMPDIR="$T/tmp" script -q -e -c "'$TOP/echobot.sh' -n 1 -t plain \
    -s 127.0.0.1:$port -p '$T/bot.pass' bot@localhost" "$T/tty.out" \
    </dev/null >/dev/null 2>&1
is "$?" 3 "on a terminal: -n 1 to a closed port, status 3"
check "on a terminal: lines as they are, no time" grep -q \
    "^echobot.sh: session 1: connecting to 127.0.0.1:$port" "$T/tty.out"

if [ -S /dev/log ]; then
	skip "-l without /dev/log: refused" "this machine has a /dev/log"
else
	env TMPDIR="$T/tmp" "$TOP/echobot.sh" -l $link bot@localhost \
	    </dev/null >/dev/null 2>"$T/nolog.err"
	is "$?:$(cut -d ' ' -f 2- "$T/nolog.err")" \
	    "1:echobot.sh: -l: no syslog socket /dev/log" \
	    "-l without /dev/log: refused, before connecting"
fi

# Syslog: a receiver on a socket of ours, made /dev/log in a mount
# namespace of the launcher's own (/dev rebuilt there from the nodes it
# uses), so that the machine's /dev is not touched.
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	for d in "-l: echo" "-l: priority daemon.notice, tag echobot.sh[pid]" \
	    "-l: the stages' milestones" "-l: the last lines after SIGTERM" \
	    "-l: nothing on stderr" "-l: SIGTERM to the group: status 0"; do
		skip "$d" "needs root and unshare -m for a private /dev/log"
	done
	exit 0
fi
spawn $PY -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".ready", "w").write("ready\n")
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")' "$T/log.sock" "$T/syslog"
wait_file_grep "$T/syslog.ready" ready 10 || bail "no syslog receiver"
mkdir "$T/dev"
for n in null zero random urandom tty log; do : >"$T/dev/$n"; done
ln -s /proc/self/fd "$T/dev/fd"
spawn unshare -m sh -c '
	for n in null zero random urandom tty; do
		mount --bind "/dev/$n" "$T/dev/$n" || exit 99
	done
	mount --bind "$T/log.sock" "$T/dev/log" &&
	    mount --rbind "$T/dev" /dev || exit 99
	exec env TMPDIR="$T/tmp" "$TOP/echobot.sh" -l "$@" bot@localhost' \
    sh $link </dev/null 2>"$T/bot.err"
BOT_PID=$spawned
alice_ping "-l: echo" --no-tls --timeout 60
check "-l: priority daemon.notice, tag echobot.sh[pid]" grep -q \
    "^<29>.* echobot.sh\[[0-9]*\]: echobot.sh: session 1: connecting to" \
    "$T/syslog"
check "-l: the stages' milestones" sh -c '
    for e in "xmpp-connect: connected to" "xmpp-echo: logged in as" \
	"xmpp-echo: online"; do
	grep -q "echobot.sh\[[0-9]*\]: $e" "$1" || exit 1
    done' sh "$T/syslog"
kill -s TERM -- "-$BOT_PID"
ended "$BOT_PID" 15
st=$?
check "-l: the last lines after SIGTERM" grep -q \
    "echobot.sh: session 1 ended:" "$T/syslog"
is "$(grep -c -e session -e '^xmpp-' "$T/bot.err")" 0 \
    "-l: nothing of the sessions on stderr"
is "$st" 0 "-l: SIGTERM to the group: status 0"
