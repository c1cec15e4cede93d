#!/bin/sh
# echobot.sh [options] JID [xmpp-echo options] - run the echo bot
#
# Runs one session as
#	xmpp-connect ... -- xmpp-parse -- xmpp-echo ... JID
# (xmpp-connect owns it: it starts the two others on the connection,
# learns which ends first and takes the others down, see its OWNER MODE),
# and starts a new session with exponential backoff, unless the session
# ended in a way that retrying cannot fix.

usage() {
	echo "usage: echobot.sh [-hlPvVX] [-C cafile] [-c conflicts] [-f file]" \
	    "[-m mechs] [-n tries] [-p passfile] [-r resource]" \
	    "[-s host[:port]] [-t starttls|direct|plain] [-w dir]" \
	    "jid [xmpp-echo option ...]"
	echo "       (options before the jid are echobot.sh's," \
	    "after it xmpp-echo's: see xmpp-echo(1))"
}

say() { log_line "echobot.sh: $*"; }
# quote ARG: ARG quoted for eval, as one word
quote() { printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
die() { say "$*"; exit 1; }
nl='
'

# The environment block a process started with stays readable in
# /proc/PID/environ whatever unset does: with XMPP_PASSWORD set, start
# again without it, the password on a pipe (fd 9), never on argv.
if [ -n "${XMPP_PASSWORD+1}" ]; then
	_pw=$XMPP_PASSWORD
	unset XMPP_PASSWORD
	case $_pw in
	*"$nl"*) die "XMPP_PASSWORD: holds a newline" ;;
	esac
	ECHOBOT_PASSWORD_FD=9
	export ECHOBOT_PASSWORD_FD
	exec /bin/sh "$0" "$@" 9<<EOF
$_pw
EOF
fi
password='' havepw=''
if [ "${ECHOBOT_PASSWORD_FD-}" = 9 ]; then
	unset ECHOBOT_PASSWORD_FD
	IFS= read -r password <&9 || die "password: cannot read fd 9"
	exec 9<&-
	havepw=1
fi

# The log (LOGGING in echobot.sh(1)).  logto: plain (lines as they are:
# standard error is a terminal, or systemd's journal, which stamps them
# itself), stamp (each line after its UTC time) or syslog (-l, through
# logger(1)).  Stamps: ours here, the stages' and xmpp-connect's by
# xmpp-connect -T, which owns their standard error (a shell reading
# them would cost as much memory as a stage).  Syslog: once the private
# directory exists, every line, the stages' too, goes through one
# reader on its fifo "log", so that they stay in order.  xmpp-echo's
# trace (-v) is left as it is, on the real standard error.
logto='' logpid='' logsys=''

# on_journal: standard error is the stream systemd connected to the
# journal (systemd.exec(5), JOURNAL_STREAM)
on_journal() {
	[ -n "${JOURNAL_STREAM-}" ] && [ "$JOURNAL_STREAM" = \
	    "$(stat -L -c %d:%i /proc/self/fd/9 9>&2 2>/dev/null)" ]
}

log_setup() {
	if [ -t 2 ] || on_journal; then
		logto=plain
	else
		logto=stamp
	fi
}

# log_syslog: -l or "log = syslog", from now on
log_syslog() {
	[ -n "$logsys" ] || return 0
	# logger(1) loses the lines without a word when there is no socket.
	command -v logger >/dev/null || die "-l: logger not found"
	[ -S /dev/log ] || die "-l: no syslog socket /dev/log"
	logto=syslog
}

# log_syslog_lines: the lines of standard input, to syslog
log_syslog_lines() {
	logger -t echobot.sh --id=$$ -p daemon.notice
}

# log_line LINE: one line to the log; to syslog before the first
# session, to standard error as well, where whoever started us looks.
log_line() {
	if [ "$logto" = plain ] || [ -n "$logpid" ]; then
		printf '%s\n' "$1" >&2
	elif [ "$logto" = syslog ]; then
		printf '%s\n' "$1" >&2
		printf '%s\n' "$1" | log_syslog_lines
	else
		printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >&2
	fi
}

# log_start: with syslog, the reader, then standard error to it, the
# real one kept on fd 6.  The reader ignores the signals that stop the
# launcher: it ends when the last writer closes, after the last line.
log_start() {
	[ "$logto" = syslog ] || return 0
	mkfifo -m 600 "$tmp/log" || die "mkfifo failed"
	(trap '' HUP INT TERM; log_syslog_lines >&2) <"$tmp/log" 3>&- 4<&- \
	    5<&- 7>&- 8<&- 9<&- &
	logpid=$!
	exec 6>&2 2>"$tmp/log"
}

# log_traced: xmpp-echo traces, by our -v or its own among the options
# after the jid (any word of letters after a - with a v, to be safe)
log_traced() {
	[ -n "$verbose" ] && return 0
	eval "set -- $echoargs"
	for _a; do
		case $_a in
		-*v*) case ${_a#-} in *[!A-Za-z]*) ;; *) return 0 ;; esac ;;
		esac
	done
	return 1
}

log_stop() {
	[ -n "$logpid" ] || return 0
	exec 2>&6 6>&-
	wait "$logpid"
	logpid=
}

# The configuration file (echobot.conf(5)): key = value lines, read as
# data.  Nothing in them is run or expanded; every value is checked
# here, and a bad line stops the launcher naming the file and line.
conf='' conf_n=0 conf_seen=' ' conf_jid='' conf_echoargs=''
# the control characters but tab
conf_ctl=$(printf '\1\2\3\4\5\6\7\10\13\14\15\16\17\20\21\22\23\24\25\26\27\30\31\32\33\34\35\36\37\177')

conf_bad() { die "$conf:$conf_n: $*"; }

# conf_path VALUE: an absolute path
conf_path() {
	case $1 in
	/*) ;;
	*) conf_bad "$_k $1: want an absolute path" ;;
	esac
}

# conf_number VALUE MIN: a decimal number from MIN
conf_number() {
	case $1 in
	''|*[!0-9]*) conf_bad "$_k $1: not a number" ;;
	esac
	[ "${#1}" -le 9 ] && [ "$1" -ge "$2" ] ||
	    conf_bad "$_k $1: want a number from $2 to 999999999"
}

# conf_echo VALUE: "-x" or "-x argument", for xmpp-echo; the options the
# launcher sets itself have keys of their own.
conf_echo() {
	case $1 in
	-[ehmNPprvVX]|-[ehmNPprvVX][[:blank:]]*)
		conf_bad "$_k $1: set by the launcher, use its key" ;;
	-[A-Za-z]) conf_echoargs="$conf_echoargs$(quote "$1")" ;;
	-[A-Za-z][[:blank:]]*)
		_a=${1#-?}
		_a=${_a#"${_a%%[![:blank:]]*}"}
		conf_echoargs="$conf_echoargs$(quote "${1%"${1#-?}"}")"
		conf_echoargs="$conf_echoargs$(quote "$_a")" ;;
	*) conf_bad "$_k $1: want -x or -x argument" ;;
	esac
}

# conf_line LINE: one line of the file
conf_line() {
	_l=$1
	_l=${_l#"${_l%%[![:blank:]]*}"}
	_l=${_l%"${_l##*[![:blank:]]}"}
	case $_l in
	''|'#'*) return 0 ;;
	*[$conf_ctl]*) conf_bad "a control character" ;;
	?*=*) ;;
	*) conf_bad "not a key = value line" ;;
	esac
	_k=${_l%%=*} _v=${_l#*=}
	_k=${_k%"${_k##*[![:blank:]]}"}
	_v=${_v#"${_v%%[![:blank:]]*}"}
	case $_k in
	*[!a-z-]*) conf_bad "$_k: not a key" ;;
	esac
	[ -n "$_v" ] || conf_bad "$_k: no value"
	case $conf_seen in
	*" $_k "*) [ "$_k" = echo-option ] || conf_bad "$_k: given twice" ;;
	esac
	conf_seen="$conf_seen$_k "
	case $_k in
	jid)
		case $_v in
		*[[:blank:]]*|-*) conf_bad "jid $_v: want user@domain" ;;
		?*@?*) conf_jid=$_v ;;
		*) conf_bad "jid $_v: want user@domain" ;;
		esac ;;
	server)
		case $_v in
		*[[:blank:]]*|-*) conf_bad "server $_v: want host[:port]" ;;
		esac
		server=$_v ;;
	tls)
		case $_v in
		starttls|direct|plain) mode=$_v ;;
		*) conf_bad "tls $_v: want starttls, direct or plain" ;;
		esac ;;
	cafile)
		conf_path "$_v"
		[ -f "$_v" ] && [ -r "$_v" ] || conf_bad "cafile $_v: cannot read"
		cafile=$_v ;;
	resource)
		[ "${#_v}" -le 1023 ] || conf_bad "resource: longer than 1023 bytes"
		resource=$_v ;;
	password-file)
		conf_path "$_v"
		[ -f "$_v" ] && [ -r "$_v" ] ||
		    conf_bad "password-file $_v: cannot read"
		passfile=$_v ;;
	password)
		conf_bad "password: never in this file; give password-file" ;;
	mechanisms)
		case $_v in
		*[!A-Z0-9,-]*) conf_bad "mechanisms $_v: want a list such as SCRAM-SHA-256,SCRAM-SHA-1" ;;
		esac
		mechs=$_v ;;
	allow-plain)
		case $_v in
		yes) plain=1 ;;
		no) plain= ;;
		*) conf_bad "allow-plain $_v: want yes or no" ;;
		esac ;;
	tries) conf_number "$_v" 0; tries=$_v ;;
	conflicts) conf_number "$_v" 1; conflicts=$_v ;;
	capture-dir) conf_path "$_v"; capdir=$_v ;;
	log)
		case $_v in
		stderr) logsys= ;;
		syslog) logsys=1 ;;
		*) conf_bad "log $_v: want stderr or syslog" ;;
		esac ;;
	echo-option) conf_echo "$_v" ;;
	handler)
		conf_echoargs="$conf_echoargs$(quote -x)$(quote "$_v")" ;;
	*) conf_bad "$_k: unknown key" ;;
	esac
}

# conf_read FILE: its settings, as if given as options where -f is
conf_read() {
	[ -z "$conf" ] || die "-f $1: one file only"
	conf=$1
	[ -f "$conf" ] && [ -r "$conf" ] || die "$conf: cannot read"
	while IFS= read -r _line || [ -n "$_line" ]; do
		conf_n=$((conf_n + 1))
		conf_line "$_line"
	done <"$conf"
}

cafile='' conflicts=3 mechs='' tries=0 passfile='' resource='' server=''
mode=starttls plain='' verbose='' nosandbox='' capdir='' version=''
log_setup
while getopts C:c:f:hlm:n:Pp:r:s:t:vVw:X opt; do
	case $opt in
	C) cafile=$OPTARG ;;
	c) conflicts=$OPTARG ;;
	f) conf_read "$OPTARG" ;;
	h) usage; exit 0 ;;
	l) logsys=1 ;;
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
log_syslog
# A jid from -f when none is given.
if [ $# -eq 0 ] && [ -n "$conf" ]; then
	[ -n "$conf_jid" ] || die "$conf: no jid, and none given"
	set -- "$conf_jid"
fi

# A stop before the first session: nothing to take down yet.
trap 'exit 0' HUP INT TERM

# The stages: in a source tree next to this script (xmpp-echo/xmpp-echo),
# installed next to it, else on PATH.  cron and systemd run us by an
# absolute path with a PATH that misses where we are installed.
here=$(dirname "$0")
stage() {
	for _p in "$here/$1/$1" "$here/$1"; do
		if [ -f "$_p" ] && [ -x "$_p" ]; then
			echo "$_p"
			return 0
		fi
	done
	command -v "$1" || die "$1: not found in $here nor on PATH"
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

# The rest goes to xmpp-echo as it is: quoted once (quote), so that a
# status text with blanks stays one argument.
echoargs=$conf_echoargs
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

[ -z "$cafile" ] || [ -r "$cafile" ] || die "$cafile: cannot read"

# loopback HOST[:PORT]: HOST is a literal loopback address, 127.0.0.0/8
# or ::1.  No name counts, localhost included: what a name resolves to
# is up to /etc/hosts, nsswitch.conf and DNS search domains when
# xmpp-connect looks it up, and a name like 127.example.org is anyone's.
loopback() {
	case $1 in
	::1|\[::1\]|\[::1\]:*) return 0 ;;
	*[!0-9.:]*) return 1 ;;
	esac
	printf '%s\n' "${1%:*}" | grep -Eqx \
	    '127(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}'
}

# PLAIN over clear text is harmless only when nothing leaves the host.
if [ "$mode" = plain ] && [ -z "$plain" ]; then
	if loopback "$server"; then
		plain=1
		say "-t plain to $server: PLAIN allowed, a loopback address"
	else
		say "-t plain to ${server:-$domain}: no loopback address," \
		    "PLAIN stays off (-P allows it)"
	fi
fi

# Under systemd, the unit's credential (LoadCredential=password:...).
if [ -z "$passfile" ] && [ -z "$havepw" ] &&
    [ -f "${CREDENTIALS_DIRECTORY:-/nonexistent}/password" ]; then
	passfile=$CREDENTIALS_DIRECTORY/password
fi

# Asked for once here, so that reconnecting never asks again.
if [ -z "$passfile" ] && [ -z "$havepw" ] && [ -t 0 ]; then
	trap 'stty echo </dev/tty; exit 1' INT TERM
	stty -echo </dev/tty
	printf 'password for %s: ' "$jid" >/dev/tty
	IFS= read -r password </dev/tty
	stty echo </dev/tty
	echo >/dev/tty
	trap 'exit 0' INT TERM
	havepw=1
fi

# xmpp-echo's arguments, quoted for eval: ours, then those after the
# jid (so that theirs win), then the jid.  The password, when we hold
# it, goes to xmpp-echo alone, on a pipe as its fd 6: never through an
# environment or a command line.
eargs=
[ -n "$havepw" ] && eargs="-p /dev/fd/6 "
[ -n "$passfile" ] && eargs="-p $(quote "$passfile")"
[ -n "$resource" ] && eargs="$eargs-r $(quote "$resource")"
[ -n "$mechs" ] && eargs="$eargs-m $(quote "$mechs")"
[ -n "$nosandbox" ] && eargs="$eargs-X "
[ -n "$verbose" ] && eargs="$eargs-v "
[ -n "$plain" ] && eargs="$eargs-P "
[ -n "$encrypted" ] && eargs="$eargs-e "
eargs="$eargs-N "
eargs="$eargs$echoargs$(quote "$jid")"

# with_password CMD [ARG ...]: CMD with the password on fd 6, if we hold it
with_password() {
	if [ -n "$havepw" ]; then
		"$@" 6<<EOF
$password
EOF
	else
		"$@"
	fi
}

# Everything xmpp-echo can check before a connection (its options, the
# password) is checked now: a mistake there stops us before the first
# session, with xmpp-echo's first line.
check_echo() {
	eval "set -- $eargs"
	_out=$(with_password "$xmpp_echo" -T "$@" 2>&1 </dev/null) && {
		[ -z "$_out" ] || printf '%s\n' "$_out" >&2
		return 0
	}
	_line=$(printf '%s\n' "$_out" | sed -n '/./{p;q;}')
	_line=${_line#"$xmpp_echo: "}
	_line=${_line#xmpp-echo: }
	die "xmpp-echo: $_line"
}
check_echo

# (until finish takes over: a stop now leaves no directory behind)
tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"; exit 0' HUP INT TERM PIPE
tmp=$(mktemp -d "${TMPDIR:-/tmp}/echobot.XXXXXX") || exit 1
chmod 700 "$tmp"
log_start

# Per session: xmpp-connect's pid (cpid, while it runs) and each
# stage's status (cst pst est), the stage that ended first (c, p or e),
# whether the stages never ran (silenced), whether xmpp-connect has had
# its TERM (stop_sent); a signal came (interrupted), SIGHUP asked for a
# new session (reconnect).
cpid='' cst='' pst='' est='' first='' silenced='' stop_sent='' spid=''
interrupted='' reconnect='' stop_asked='' qpid=''

# connect_quiet: after a session that failed, xmpp-connect's lines but
# its milestones are kept in connect.err, said only if this session
# ends another way (connect_said): a server down for hours is said once.
# The stages share xmpp-connect's standard error: their lines go on live.
connect_quiet() {
	: >"$tmp/connect.err"
	while IFS= read -r _l; do
		_m=$_l
		[ "$logto" = stamp ] && _m=${_l#* }
		case $_m in
		"xmpp-connect: connected to "*|"xmpp-connect: TLS established "*)
			printf '%s\n' "$_l" >&2 ;;
		"xmpp-connect: "*)
			printf '%s\n' "$_l" >>"$tmp/connect.err" ;;
		*)	printf '%s\n' "$_l" >&2 ;;
		esac
	done
}

# connect_said: what connect_quiet kept, said
connect_said() {
	[ -s "$tmp/connect.err" ] && cat "$tmp/connect.err" >&2
	rm -f "$tmp/connect.err"
}

# session_cmd: the session's command, for eval: xmpp-connect
# owns it, and runs xmpp-parse and xmpp-echo on the connection
# (xmpp-connect(1), OWNER MODE); -T stamps their lines.  xmpp-echo's
# trace (-v) is not stamped: its standard error is the real one, passed
# on fd 5.
session_cmd() {
	_c="\"\$xmpp_connect\" -N -s 3 -t \"\$mode\" -d \"\$domain\""
	[ "$logto" = stamp ] && _c="$_c -T"
	[ -n "$cafile" ] && _c="$_c -C \"\$cafile\""
	[ -n "$capdir" ] && _c="$_c -w $(quote \
	    "$capdir/capture-$(date -u +%Y%m%dT%H%M%S)-$$.xml")"
	[ -n "$server" ] && _c="$_c \"\$server\""
	_c="$_c -- \"\$xmpp_parse\""
	[ -n "$nosandbox" ] && _c="$_c -X"
	_c="$_c --"
	[ "$logto" != plain ] && log_traced &&
	    _c="$_c /bin/sh -c 'exec \"\$@\" 2>&5 5>&-' sh"
	_c="$_c \"\$xmpp_echo\" -S \"\$tmp/sm\" $eargs"
	printf '%s\n' "$_c"
}

# start CMD: the session in the background, its pid in cpid; the -s
# line on fd 3 to the status file, standard error as fd 4, the real one
# on fd 5, the password (if we hold it) on fd 6, for xmpp-echo alone.
start() {
	case $logto in
	stamp) _5='5>&2' ;;
	syslog) _5='5>&6' ;;
	*) _5= ;;
	esac
	if [ -n "$havepw" ]; then
		eval "$1" "$_5" '3>"$tmp/status" 2>&4 4>&-' '6<<EOF &
$password
EOF'
	else
		eval "$1" "$_5" '3>"$tmp/status" 2>&4 4>&-' '6>&- &'
	fi
	cpid=$!
}

# session_term: TERM to xmpp-connect, once: xmpp-echo says goodbye,
# xmpp-connect takes the session down (a second TERM would cut it)
session_term() {
	[ -n "$cpid" ] && [ -z "$stop_sent" ] || return 0
	stop_sent=1
	kill -TERM "$cpid" 2>/dev/null
}

# session_wait: until xmpp-connect has ended, its status in cst; a
# trap interrupts the wait, which is then waited for again (a shell
# that forgot the status says 127: the one the trap interrupted).
session_wait() {
	_prev=''
	while :; do
		interrupted=''
		wait "$cpid"
		cst=$?
		[ -n "$interrupted" ] || break
		if [ "$cst" = 127 ] && [ -n "$_prev" ]; then
			cst=$_prev
			break
		fi
		_prev=$cst
	done
	cpid=''
}

# session_status: the stages' statuses and the first to end, from
# xmpp-connect's -s line; none from an xmpp-connect that exited: the
# stages never ran (the connection failed), its own line says it all.
session_status() {
	if read -r _a pst _b est _c _w <"$tmp/status" 2>/dev/null &&
	    [ "$_a.$_b.$_c" = reader.writer.first ]; then
		case $_w in
		reader) first=p ;;
		writer) first=e ;;
		*) first=c ;;
		esac
	else
		# (killed, xmpp-connect could not say: their statuses unknown)
		pst=255 est=255 first=c
		[ "$cst" -gt 128 ] || silenced=pe
	fi
}

# session: run one session; sets cst, pst, est and first
session() {
	cst='' pst='' est='' first='' silenced='' stop_sent='' qpid=''
	_cmd=$(session_cmd)
	: >"$tmp/status"
	if [ -n "$last" ] && [ -z "$verbose" ]; then
		rm -f "$tmp/connect.err.in"
		mkfifo -m 600 "$tmp/connect.err.in" || die "mkfifo failed"
		connect_quiet <"$tmp/connect.err.in" &
		qpid=$!
		exec 4>"$tmp/connect.err.in"
	else
		exec 4>&2
	fi
	start "$_cmd"
	exec 4>&-
	# a stop that came while it started
	[ -z "$stop_asked$reconnect" ] || session_term
	session_wait
	# (what it kept is said by connect_said, after this)
	[ -z "$qpid" ] || wait "$qpid"
	session_status
}

# finish: stop the session, if any, as a stop signal does; remove the
# directory.
finish() {
	# Ignored, not reset: timeout(1) sends a TERM to us, then another
	# to the group, and an impatient Ctrl-C comes twice.
	trap - EXIT
	trap '' HUP INT TERM USR1 PIPE
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
	fi
	if [ -n "$cpid" ]; then
		session_term
		wait "$cpid"
		cst=$? cpid=''
		session_status
		report
	fi
	rm -rf "$tmp"
	log_stop
}
trap 'st=$?; finish; exit $st' EXIT

# stopped [report]: after a stop signal, the end (after the session's
# report)
stopped() {
	[ -n "$stop_asked" ] || return 0
	[ -n "$1" ] && report
	finish
	exit 0
}
on_stop() {
	stop_asked=1 interrupted=1
	session_term
}
trap on_stop INT TERM PIPE

# SIGUSR1: xmpp-echo prints its counters (xmpp-connect passes it on);
# SIGHUP: a new session now, the current one closed as on a stop,
# without waiting for a backoff.
on_usr1() {
	interrupted=1
	if [ -n "$cpid" ]; then
		kill -USR1 "$cpid" 2>/dev/null
	else
		say "SIGUSR1: no session up, session $attempt ended"
	fi
}
on_hup() {
	interrupted=1 reconnect=1
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	session_term
}
trap on_usr1 USR1
trap on_hup HUP

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

# report: every stage's status; for a connection never made
# xmpp-connect's own line says it all.
report() {
	[ -n "$silenced" ] && return 0
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
	c.3) _w="connection lost or server silent" ;;
	c.4) _w="certificate rejected" ;;
	c.5) _w="TLS handshake or stunnel failure" ;;
	c.6) _w="STARTTLS not offered or refused" ;;
	c.7) _w="stream error that retrying cannot fix" ;;
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
# or our own SIGTERM or SIGKILL (xmpp-connect's) from a stage that did
# not end first ranks last.
rank() {
	case $silenced in
	*$1*) echo 9; return ;;		# our KILL
	esac
	case $1.$2 in
	e.2|e.6|e.7|c.4|c.6|c.7) echo 1 ;;
	*.141) echo 9 ;;		# SIGPIPE: its reader died
	*.143|*.137)			# TERM, KILL: ours, unless it came first
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
	c.7|e.6) st=6 ;;
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

# pause SECS: the backoff; a SIGHUP cuts it short, a SIGUSR1 does not.
pause() {
	sleep "$1" &
	spid=$!
	while [ -z "$reconnect$stop_asked" ] && kill -0 "$spid" 2>/dev/null; do
		wait "$spid"
	done
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	spid=
}

# A session that fails as the one before is not reported again (unless
# -v): one line for a server down, not one a try for hours.
attempt=0 delay=1 last='' quiet=''
while :; do
	stopped
	attempt=$((attempt + 1))
	[ -n "$quiet" ] ||
	    say "session $attempt: connecting to ${server:-$domain} ($mode)"
	start=$(date +%s)
	session
	stopped report
	if verdict; then stop=1; else stop=''; fi
	cause=$why
	if [ -z "$verbose$stop$reconnect" ] && [ "$cause" = "$last" ]; then
		quiet=1
	else
		quiet=''
		connect_said
		report
	fi
	last=$cause
	if [ -n "$stop" ]; then
		say "$why, not retrying"
		exit "$st"
	fi
	if [ "$tries" -gt 0 ] && [ "$attempt" -ge "$tries" ]; then
		say "$why; $attempt sessions, giving up"
		exit "$st"
	fi
	if [ -n "$reconnect" ]; then
		say "SIGHUP: reconnecting now"
		reconnect='' delay=1 last=''
		continue
	fi
	# A session that stayed up a minute was a success: start over.
	[ $(($(date +%s) - start)) -gt 60 ] && delay=1
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	wait_s=$((delay + r % (delay / 2 + 1)))
	[ -n "$quiet" ] || say "$why; retrying in $wait_s s" \
	    "(and then quietly while it fails the same way)"
	pause "$wait_s"
	stopped
	if [ -n "$reconnect" ]; then
		reconnect='' delay=1
	else
		delay=$((delay * 2))
		[ "$delay" -gt 300 ] && delay=300
	fi
done
