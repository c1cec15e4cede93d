#!/bin/sh
# echobot.sh [options] JID [xmpp-echo options] - run the echo bot
#
# Wires one session as
#	xmpp-connect <fifo | xmpp-parse | xmpp-echo JID >fifo
# (every link a fifo in a private directory), learns which stage ends
# first, takes the others down within seconds, and starts a new session
# with exponential backoff, unless the session ended in a way that
# retrying cannot fix.

usage() {
	echo "usage: echobot.sh [-hPvVX] [-C cafile] [-c conflicts] [-m mechs]" \
	    "[-n tries] [-p passfile] [-r resource] [-s host[:port]]" \
	    "[-t starttls|direct|plain] [-w dir] jid [xmpp-echo option ...]"
}

say() { echo "echobot.sh: $*" >&2; }
die() { say "$*"; exit 1; }

cafile='' conflicts=3 mechs='' tries=0 passfile='' resource='' server=''
mode=starttls plain='' verbose='' nosandbox='' capdir='' version=''
while getopts C:c:hm:n:Pp:r:s:t:vVw:X opt; do
	case $opt in
	C) cafile=$OPTARG ;;
	c) conflicts=$OPTARG ;;
	h) usage; exit 0 ;;
	m) mechs=$OPTARG ;;
	n) tries=$OPTARG ;;
	P) plain=1 ;;
	p) passfile=$OPTARG ;;
	r) resource=$OPTARG ;;
	s) server=$OPTARG ;;
	t) mode=$OPTARG ;;
	v) verbose=1 ;;
	V) version=1 ;;
	w) capdir=$OPTARG ;;
	X) nosandbox=1 ;;
	*) usage >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))

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

# One version for the whole set: the one the stages were built with.
if [ -n "$version" ]; then
	v=$("$xmpp_echo" -V) || exit 1
	echo "echobot.sh ${v##* }"
	exit 0
fi
[ $# -ge 1 ] || { usage >&2; exit 1; }
jid=$1
shift

# The rest goes to xmpp-echo as it is: quoted once here, so that a
# status text with blanks stays one argument.
quote() { printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
echoargs=
for a; do
	echoargs="$echoargs$(quote "$a")"
done

case $jid in
-*) usage >&2; exit 1 ;;
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
case $conflicts in
''|*[!0-9]*|0) die "conflicts $conflicts: want a number from 1" ;;
esac
[ -z "$passfile" ] || [ -r "$passfile" ] || die "$passfile: cannot read"
if [ -n "$capdir" ]; then
	# Captures hold every message of the session: private.
	[ -d "$capdir" ] || (umask 077 && mkdir -p -- "$capdir") ||
	    die "$capdir: cannot create"
	[ -w "$capdir" ] || die "$capdir: not writable"
fi

# PLAIN over clear text is harmless only when nothing leaves the host.
if [ "$mode" = plain ]; then
	case $server in
	localhost|localhost:*|127.*|::1|\[::1\]*) plain=1 ;;
	esac
fi

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

# (until finish takes over: a stop now leaves no directory behind)
tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"; exit 0' HUP INT TERM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/echobot.XXXXXX") || exit 1
chmod 700 "$tmp"

# Per session: each stage's pid and status (cpid cst, ppid pst, epid
# est), the stage that ended first, the watchdog, whether stages were
# started, whether the status fifo is open on fd 4.
cpid='' ppid='' epid='' cst='' pst='' est='' first='' wpid='' spid=''
running='' open4='' subs='' started=''

# run c|p|e IN OUT CMD [ARG ...]: CMD in the background, reading IN and
# writing OUT, under a subshell that writes "X pid PID" and, when CMD
# ends, "X end STATUS" to the status fifo.  The subshell ignores SIGTERM
# once CMD runs (CMD does not), so a TERM to the whole process group
# still gets the status reported.  xmpp-connect opens its output first:
# the fifos then open in a chain, not a cycle.  The password goes to
# xmpp-echo alone.
run() {
	_x=$1 _i=$2 _o=$3
	shift 3
	(
		if [ "$_x" = c ]; then
			"$@" >"$_o" <"$_i" 3>&- &
		elif [ "$_x" = p ] || [ -z "$havepw" ]; then
			"$@" <"$_i" >"$_o" 3>&- &
		else
			XMPP_PASSWORD=$password
			export XMPP_PASSWORD
			"$@" <"$_i" >"$_o" 3>&- &
		fi
		trap '' TERM
		echo "$_x pid $!" >&3
		wait $! 2>/dev/null
		echo "$_x end $?" >&3
	) 3>"$tmp/status" 4<&- &
	subs="$subs $!"
	started="$started $_x"
}

connect() {
	set -- -t "$mode" -d "$domain"
	[ -n "$cafile" ] && set -- "$@" -C "$cafile"
	[ -n "$capdir" ] && set -- "$@" -w \
	    "$capdir/capture-$(date -u +%Y%m%dT%H%M%S)-$$.xml"
	[ -n "$server" ] && set -- "$@" "$server"
	run c "$tmp/connect.in" "$tmp/parse.in" "$xmpp_connect" "$@"
}

parse() {
	set --
	[ -n "$nosandbox" ] && set -- -X
	run p "$tmp/parse.in" "$tmp/echo.in" "$xmpp_parse" "$@"
}

echo_() {
	eval "set -- $echoargs"
	[ -n "$encrypted" ] && set -- -e "$@"
	[ -n "$plain" ] && set -- -P "$@"
	[ -n "$verbose" ] && set -- -v "$@"
	[ -n "$nosandbox" ] && set -- -X "$@"
	[ -n "$mechs" ] && set -- -m "$mechs" "$@"
	[ -n "$passfile" ] && set -- -p "$passfile" "$@"
	[ -n "$resource" ] && set -- -r "$resource" "$@"
	set -- -S "$tmp/sm" "$@"	# XEP-0198 resumption, see xmpp-echo(1)
	run e "$tmp/echo.in" "$tmp/connect.in" "$xmpp_echo" "$@" "$jid"
}

# stopwatchdog: stop the teardown's timer, with KILL, as a TERM that
# comes before the forked shell has reset its traps is lost; to the
# process alone if it has not reached setsid yet.
stopwatchdog() {
	[ -n "$wpid" ] || return 0
	kill -s KILL -- "-$wpid" 2>/dev/null || kill -KILL "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	wpid=
}

# live: the pids of the stages still running, in $live
live() {
	live=
	[ -z "$cst" ] && live="$live $cpid"
	[ -z "$pst" ] && live="$live $ppid"
	[ -z "$est" ] && live="$live $epid"
}

# teardown: once one stage has ended, or we are asked to stop: a TERM to
# xmpp-echo, which says goodbye to the server if it still can; the
# others end by end of file.  Whatever runs 5 seconds later gets a TERM,
# 3 more seconds and a KILL.  Waits until it knows every pid.
teardown() {
	[ -n "$wpid" ] && return 0
	for _y in $started; do
		eval "[ -n \"\$${_y}pid\" ]" || return 0
	done
	[ -z "$est" ] && kill -TERM "$epid" 2>/dev/null
	live
	setsid sh -c 'sleep 5; kill -TERM "$@" 2>/dev/null; sleep 3;
	    kill -KILL "$@" 2>/dev/null' sh $live 4<&- &
	wpid=$!
}

# pending: a stage started has not ended yet (a TERM may come between
# two starts)
pending() {
	for _y in $started; do
		eval "[ -n \"\$${_y}st\" ]" || return 0
	done
	return 1
}

# collect [stop]: read the status fifo until every stage has ended (or
# every writer is gone); the first end starts the teardown, as does
# "stop", the launcher's own end.
collect() {
	stopping=$1
	[ -n "$first$stopping" ] && teardown
	while pending; do
		read -r _x _what _v <&4 || break
		case $_x.$_what in
		c.pid) cpid=$_v ;;
		p.pid) ppid=$_v ;;
		e.pid) epid=$_v ;;
		c.end) cst=$_v ;;
		p.end) pst=$_v ;;
		e.end) est=$_v ;;
		esac
		[ "$_what" = end ] && first=${first:-$_x}
		[ -n "$first$stopping" ] && teardown
	done
	exec 4<&-
	running='' open4=''
	stopwatchdog
	wait $subs 2>/dev/null
	subs=
	# A status never reported (its subshell was killed): unknown.
	cst=${cst:-255} pst=${pst:-255} est=${est:-255} first=${first:-e}
}

# session: run the pipeline once; sets cst, pst, est and first
session() {
	cpid='' ppid='' epid='' cst='' pst='' est='' first='' started=''
	rm -f "$tmp/connect.in" "$tmp/parse.in" "$tmp/echo.in" "$tmp/status"
	mkfifo -m 600 "$tmp/connect.in" "$tmp/parse.in" "$tmp/echo.in" \
	    "$tmp/status" || die "mkfifo failed"
	running=1
	connect
	parse
	echo_
	exec 4<"$tmp/status"
	open4=1
	collect
}

# finish: stop the session, if any, as teardown does; remove the
# directory.
finish() {
	trap - EXIT HUP INT TERM
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
	fi
	if [ -n "$running" ]; then
		# (the subshells wait for a reader before they start a stage)
		[ -n "$open4" ] || exec 4<"$tmp/status"
		open4=1
		collect stop
		report
	fi
	rm -rf "$tmp"
}
trap 'finish; exit 0' HUP INT TERM
trap 'st=$?; finish; exit $st' EXIT

# name c|p|e: the stage's name
name() {
	case $1 in
	c) echo xmpp-connect ;;
	p) echo xmpp-parse ;;
	*) echo xmpp-echo ;;
	esac
}

# status STATUS: a status as the report shows it, a signal by its name
status() {
	if [ "$1" -gt 128 ] && [ "$1" -lt 255 ]; then
		echo "SIG$(kill -l "$1")"
	else
		echo "$1"
	fi
}

report() {
	say "session $attempt ended: xmpp-connect $(status "$cst")," \
	    "xmpp-parse $(status "$pst"), xmpp-echo $(status "$est")"
}

# why c|p|e STATUS: what the stage's status means (its man page)
why() {
	if [ "$2" -gt 128 ] && [ "$2" -lt 255 ]; then
		_s=$(status "$2")
		[ "$_s" = SIGSYS ] && _s="SIGSYS (sandbox)"
		echo "$(name "$1") killed by $_s"
		return
	fi
	case $1.$2 in
	c.0) _w="the server closed the connection" ;;
	p.0) _w="the stream ended" ;;
	e.0) _w="the stream was closed" ;;
	?.1) _w="usage or local error" ;;
	?.255) _w="status unknown" ;;
	c.2) _w="could not connect" ;;
	c.3) _w="connection lost" ;;
	c.4) _w="certificate rejected" ;;
	c.5) _w="TLS handshake or stunnel failure" ;;
	c.6) _w="STARTTLS not offered or refused" ;;
	p.2) _w="malformed or forbidden XML from the server" ;;
	p.3) _w="server stream truncated" ;;
	e.2) _w="authentication failed" ;;
	e.3) _w="stream error" ;;
	e.4) _w="protocol error" ;;
	e.5) _w="input ended before the stream was closed" ;;
	e.6) _w="stream error that retrying cannot fix" ;;
	e.7) _w="conflict: another session took the resource" ;;
	e.8) _w="server stopped answering or reading" ;;
	*) _w="unknown status" ;;
	esac
	echo "$(name "$1") exited $2 ($_w)"
}

# rank c|p|e STATUS: how well the status tells why the session ended,
# 1 best.  When a stage dies, its neighbours see end of file or a
# broken pipe and exit too, sometimes reported before the dying one;
# what they say then (xmpp-parse's "truncated", xmpp-echo's "input
# ended") ranks below any real cause, and a 1 (a failed write), SIGPIPE
# or our own SIGTERM from a stage that did not end first ranks last.
rank() {
	case $1.$2 in
	e.2|e.6|e.7|c.4|c.6) echo 1 ;;
	*.141) echo 9 ;;		# SIGPIPE: its reader died
	*.143)				# SIGTERM: ours, unless it came first
		if [ "$1" = "$first" ]; then echo 2; else echo 9; fi ;;
	?.1)				# a failed write, unless it came first
		if [ "$1" = "$first" ]; then echo 5; else echo 9; fi ;;
	*.255) echo 7 ;;		# unknown
	*.129|*.1[3-9][0-9]|*.2[0-5][0-9]) echo 2 ;;	# a signal
	c.2|c.3|c.5|p.2|e.3|e.8) echo 3 ;;
	e.4|p.3) echo 4 ;;
	?.0) echo 8 ;;
	*) echo 7 ;;
	esac
}

# verdict: the cause (the best ranked status; on a tie the stage that
# ended first, else xmpp-echo, xmpp-connect, xmpp-parse) in why and the
# launcher's status in st; returns 0 when retrying cannot help.  A
# stage's 1 stops the launcher only when nothing better explains it and
# the stage ended first.
nconflict=0
verdict() {
	_x='' _r=10
	for _y in $first e c p; do
		eval "_t=\${${_y}st}"
		_n=$(rank "$_y" "$_t")
		[ "$_n" -lt "$_r" ] && _x=$_y _r=$_n _s=$_t
	done
	why=$(why "$_x" "$_s")
	if [ "$_x.$_s" = e.7 ]; then
		nconflict=$((nconflict + 1))
	else
		nconflict=0
	fi
	case $_x.$_s in
	?.1)
		# A usage or local error ends a stage before it talks to
		# the others; a 1 after another stage ended is a failed
		# write to it.
		if [ "$_x" != "$first" ]; then
			st=3
			return 1
		fi
		st=1
		;;
	e.2) st=2 ;;
	c.4) st=4 ;;
	c.6) st=5 ;;
	e.6) st=6 ;;
	e.7)
		if [ "$nconflict" -lt "$conflicts" ]; then
			st=3
			return 1
		fi
		st=7 why="$why, $nconflict times in a row"
		;;
	*.0) st=0; return 1 ;;
	*) st=3; return 1 ;;
	esac
}

attempt=0
delay=1
while :; do
	attempt=$((attempt + 1))
	say "session $attempt: connecting to ${server:-$domain} ($mode)"
	start=$(date +%s)
	session
	report
	if verdict; then
		say "$why, not retrying"
		exit "$st"
	fi
	if [ "$tries" -gt 0 ] && [ "$attempt" -ge "$tries" ]; then
		say "$why; $attempt sessions, giving up"
		exit "$st"
	fi
	# A session that stayed up a minute was a success: start over.
	[ $(($(date +%s) - start)) -gt 60 ] && delay=1
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	wait_s=$((delay + r % (delay / 2 + 1)))
	say "$why; retrying in $wait_s s"
	sleep "$wait_s" &
	spid=$!
	wait "$spid"
	spid=
	delay=$((delay * 2))
	[ "$delay" -gt 300 ] && delay=300
done
