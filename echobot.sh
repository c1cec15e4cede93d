#!/bin/sh
# echobot.sh [options] JID - run the echo bot
#
# Wires one session as
#	xmpp-connect <fifo | xmpp-parse | xmpp-echo JID >fifo
# (every link a fifo in a private directory, so each stage's pid and
# exit status are ours to collect), and starts a new session with
# exponential backoff when one ends, unless it ended in a way that
# retrying cannot fix.

usage() {
	echo "usage: echobot.sh [-hPv] [-C cafile] [-m mechs] [-n tries]" \
	    "[-p passfile] [-r resource] [-s host[:port]]" \
	    "[-t starttls|direct|plain] jid"
}

say() { echo "echobot.sh: $*" >&2; }
die() { say "$*"; exit 1; }

cafile='' mechs='' tries=0 passfile='' resource='' server='' mode=starttls
plain='' verbose=''
while getopts C:hm:n:Pp:r:s:t:v opt; do
	case $opt in
	C) cafile=$OPTARG ;;
	h) usage; exit 0 ;;
	m) mechs=$OPTARG ;;
	n) tries=$OPTARG ;;
	P) plain=1 ;;
	p) passfile=$OPTARG ;;
	r) resource=$OPTARG ;;
	s) server=$OPTARG ;;
	t) mode=$OPTARG ;;
	v) verbose=1 ;;
	*) usage >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { usage >&2; exit 1; }
jid=$1

case $jid in
?*@?*) ;;
*) die "jid $jid: want user@domain" ;;
esac
domain=${jid#*@}
domain=${domain%%/*}
case $mode in
starttls|direct) encrypted=1 ;;
plain) encrypted= ;;
*) die "mode $mode: want starttls, direct or plain" ;;
esac
case $tries in
''|*[!0-9]*) die "tries $tries: not a number" ;;
esac
[ -z "$passfile" ] || [ -r "$passfile" ] || die "$passfile: cannot read"

# PLAIN over clear text is harmless only when nothing leaves the host.
if [ "$mode" = plain ]; then
	case $server in
	localhost|localhost:*|127.*|::1|\[::1\]*) plain=1 ;;
	esac
fi

# The stages: next to this script in a source tree, else on PATH.
here=$(dirname "$0")
stage() {
	if [ -x "$here/$1/$1" ]; then
		echo "$here/$1/$1"
	else
		command -v "$1" || die "$1: not found"
	fi
}
xmpp_connect=$(stage xmpp-connect) || exit 1
xmpp_parse=$(stage xmpp-parse) || exit 1
xmpp_echo=$(stage xmpp-echo) || exit 1

# The password goes to xmpp-echo alone, through its environment; asked
# for once here so that reconnecting never asks again.
password=${XMPP_PASSWORD-}
havepw=${XMPP_PASSWORD+1}
unset XMPP_PASSWORD
if [ -z "$passfile" ] && [ -z "$havepw" ] && [ -t 0 ]; then
	trap 'stty echo </dev/tty; exit 1' INT TERM
	stty -echo </dev/tty
	printf 'password for %s: ' "$jid" >/dev/tty
	IFS= read -r password </dev/tty
	stty echo </dev/tty
	echo >/dev/tty
	trap - INT TERM
	havepw=1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echobot.XXXXXX") || exit 1
chmod 700 "$tmp"
cpid='' ppid='' epid='' spid='' wpid=''

# watchdog SECS SIG PID...: send SIG to the PIDs in SECS seconds unless
# stopped first.  It runs in its own process group, so that stopping it
# takes its sleep too.
watchdog() {
	setsid sh -c 'sleep "$0"; kill "$@" 2>/dev/null' "$@" &
	wpid=$!
}

# stopwatchdog: with KILL, as a TERM that comes before the forked shell
# has reset its traps is lost; to the process alone if it has not
# reached setsid yet.
stopwatchdog() {
	[ -n "$wpid" ] || return 0
	kill -s KILL -- "-$wpid" 2>/dev/null || kill -KILL "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	wpid=
}

# finish: stop every stage, reap it, remove the directory.  A stage
# that lost its TERM the same way gets a KILL after 5 seconds.
finish() {
	trap - EXIT HUP INT TERM
	stopwatchdog
	pids=$(echo $cpid $ppid $epid $spid)
	if [ -n "$pids" ]; then
		kill -TERM $pids 2>/dev/null
		watchdog 5 -KILL $pids
		for p in $pids; do
			wait "$p" 2>/dev/null
		done
		stopwatchdog
	fi
	rm -rf "$tmp"
}
trap 'finish; exit 0' HUP INT TERM
trap 'st=$?; finish; exit $st' EXIT

connect() {
	set -- -t "$mode" -d "$domain"
	[ -n "$cafile" ] && set -- "$@" -C "$cafile"
	[ -n "$server" ] && set -- "$@" "$server"
	# Opens its output first: the fifos then open in a chain, not a cycle.
	"$xmpp_connect" "$@" >"$tmp/parse.in" <"$tmp/connect.in" &
	cpid=$!
}

parse() {
	"$xmpp_parse" <"$tmp/parse.in" >"$tmp/echo.in" &
	ppid=$!
}

echo_() {
	set --
	[ -n "$encrypted" ] && set -- "$@" -e
	[ -n "$plain" ] && set -- "$@" -P
	[ -n "$verbose" ] && set -- "$@" -v
	[ -n "$mechs" ] && set -- "$@" -m "$mechs"
	[ -n "$passfile" ] && set -- "$@" -p "$passfile"
	[ -n "$resource" ] && set -- "$@" -r "$resource"
	if [ -n "$havepw" ]; then
		XMPP_PASSWORD=$password \
		    "$xmpp_echo" "$@" "$jid" <"$tmp/echo.in" >"$tmp/connect.in" &
	else
		"$xmpp_echo" "$@" "$jid" <"$tmp/echo.in" >"$tmp/connect.in" &
	fi
	epid=$!
}

# session: run the pipeline once; sets cst, pst, est
session() {
	rm -f "$tmp/connect.in" "$tmp/parse.in" "$tmp/echo.in"
	mkfifo -m 600 "$tmp/connect.in" "$tmp/parse.in" "$tmp/echo.in" ||
	    die "mkfifo failed"
	connect
	parse
	echo_
	# xmpp-echo ends every session: when another stage dies, the EOF
	# reaches it.  The others then get 10 s to close, then a TERM.
	# (wait's stderr: dash reports a job killed by a signal there.)
	wait "$epid" 2>/dev/null
	est=$?
	epid=
	watchdog 10 -TERM "$cpid" "$ppid"
	wait "$cpid" 2>/dev/null
	cst=$?
	cpid=
	wait "$ppid" 2>/dev/null
	pst=$?
	ppid=
	stopwatchdog
}

# fatal: did the session end in a way that retrying cannot fix?  A
# stage's 1 counts only when the others show that it came first: a
# usage error ends a stage before it wrote or read anything.
fatal() {
	if [ "$est" -eq 2 ]; then
		st=2 why="xmpp-echo exited 2 (authentication failed)"
	elif [ "$cst" -eq 4 ]; then
		st=4 why="xmpp-connect exited 4 (certificate rejected)"
	elif [ "$est" -eq 1 ] && [ "$cst" -eq 0 ]; then
		st=1 why="xmpp-echo exited 1 (usage or local error)"
	elif [ "$cst" -eq 1 ] && [ "$pst" -eq 0 ]; then
		st=1 why="xmpp-connect exited 1 (usage or local error)"
	elif [ "$pst" -eq 1 ] && [ "$est" -eq 5 ]; then
		st=1 why="xmpp-parse exited 1 (usage or I/O error)"
	else
		return 1
	fi
}

# cause: the status that says why the session ended: xmpp-echo's own
# verdicts (2 to 4) first; its other statuses may only repeat that
# xmpp-connect lost the link.
cause() {
	if [ "$est" -ge 2 ] && [ "$est" -le 4 ]; then
		st=$est
	elif [ "$cst" -ne 0 ]; then
		st=$cst
	elif [ "$pst" -ne 0 ]; then
		st=$pst
	else
		st=$est
	fi
}

attempt=0
delay=1
while :; do
	attempt=$((attempt + 1))
	say "session $attempt: connecting to ${server:-$domain} ($mode)"
	start=$(date +%s)
	session
	say "session $attempt ended: xmpp-connect $cst, xmpp-parse $pst," \
	    "xmpp-echo $est"
	if fatal; then
		say "$why, not retrying"
		exit "$st"
	fi
	cause
	if [ "$tries" -gt 0 ] && [ "$attempt" -ge "$tries" ]; then
		say "$attempt attempts, giving up"
		exit "$st"
	fi
	# A session that stayed up a minute was a success: start over.
	[ $(($(date +%s) - start)) -gt 60 ] && delay=1
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	wait_s=$((delay + r % (delay / 2 + 1)))
	say "retrying in $wait_s s"
	sleep "$wait_s" &
	spid=$!
	wait "$spid"
	spid=
	delay=$((delay * 2))
	[ "$delay" -gt 300 ] && delay=300
done
