#!/bin/sh
# bench/run.sh - echobot against bare expat, libstrophe and slixmpp
#
# make bench runs it; the tables go to stdout and bench/RESULTS.md.
# Knobs (environment): BENCH_REPS runs of each figure (5), BENCH_MB size
# of the parser stream (150, 0 skips it), BENCH_N messages per echo run
# (20000), BENCH_WINDOW messages in flight (50), BENCH_N1 messages of the
# latency run at one in flight (3000), BENCH_BODY body bytes (100),
# BENCH_MODES (plain direct starttls), BENCH_SLIXMPP the modes the slixmpp
# bot runs in (plain), BENCH_NAGLE=1 keeps Prosody's default Nagle,
# BENCH_PROFILE=0 skips perf, BENCH_BEFORE=FILE adds a comparison with
# the results.dat of an earlier run (its results.meta copied next to it
# as FILE without .dat, plus .meta).  Timings are never asserted.

TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/lib.sh"
B=$TOP/bench
REPS=${BENCH_REPS:-5}
MB=${BENCH_MB:-150}
N=${BENCH_N:-20000}
WINDOW=${BENCH_WINDOW:-50}
BODY=${BENCH_BODY:-100}
N1=${BENCH_N1:-3000}
MODES=$(echo "${BENCH_MODES:-plain direct starttls}" |
    sed 's/\<tls\>/starttls/g')		# tls: the name of old
SLIXMPP_MODES=${BENCH_SLIXMPP:-plain}
PROFILE_N=$((N * 2))
DATA=$T/data
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -g -Wall -Wextra}

say() { echo "bench: $*" >&2; }

# The libstrophe baseline is left out, with a word, when its library is
# missing.
BOTS="self echobot strophe slixmpp"
build() {
	# common/config.h comes with `make all`
	$CC $CFLAGS -I"$TOP/common" -o "$B/expat-bare" "$B/expat-bare.c" \
	    $(pkg-config --cflags --libs expat) &&
	$CC $CFLAGS -I"$TOP/common" -o "$B/xmpp-load" "$B/xmpp-load.c" \
	    $(pkg-config --cflags --libs expat) || return 1
	if pkg-config --exists libstrophe; then
		$CC $CFLAGS -o "$B/strophe-echo" "$B/strophe-echo.c" \
		    $(pkg-config --cflags --libs libstrophe) || return 1
	else
		say "no libstrophe (apt-get install libstrophe-dev):" \
		    "its baseline is skipped"
		BOTS="self echobot slixmpp"
	fi
}

ver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo none; }

# meta: the machine, the versions and the run's parameters, as
# "key: value" lines for the report
meta() {
	{
		echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "machine: $(uname -srm), $(nproc) CPUs:" \
		    "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
		echo "versions: prosody $(ver prosody), stunnel4 $(ver stunnel4)," \
		    "expat $(ver libexpat1), libstrophe $(ver libstrophe0)," \
		    "slixmpp $(ver python3-slixmpp), gcc $(gcc -dumpfullversion)"
		echo "load: $N messages of $BODY-byte bodies, $WINDOW in flight," \
		    "then $N1 with 1 in flight (latency); $REPS runs of everything;" \
		    "modes: $MODES"
		if cg_new 0; then
			echo "CPU: cgroup v1 cpuacct.usage (ns) of a cgroup" \
			    "per bot run, exited processes included;" \
			    "per process: schedstat of every thread"
			cg_remove
		else
			echo "CPU: schedstat of every thread of every live" \
			    "process of the bot (no cpuacct cgroup here:" \
			    "processes that exit during the load are missed)"
		fi
		if [ "${BENCH_NAGLE:-0}" = 1 ]; then
			_n="Nagle on (Prosody's default)"
		else
			_n="network_settings = { nagle = false }"
		fi
		echo "prosody: tests/lib.sh's, with log level warn, $_n"
		echo "niceness: $(nice) (make bench under nice -n -10 shields" \
		    "the measured processes a little from other work)"
		echo "source: commit $(git -C "$TOP" rev-parse --short HEAD)" \
		    "$(git -C "$TOP" status --porcelain -uno -- common \
		    xmpp-connect xmpp-parse xmpp-echo echobot.sh |
		    awk '{ f = f " " $2 } END { if (f != "")
		    print "with uncommitted changes in" f }')"
		echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
	} >"$T/meta"
}

# Figure 1: the same bytes through expat alone and through xmpp-parse.
bench_parse() {
	[ "$MB" -gt 0 ] || return 0
	say "generating a $MB MB stream"
	/usr/bin/python3 "$B/gen-stream.py" "$MB" >"$T/stream.xml" || return 1
	_bytes=$(wc -c <"$T/stream.xml")
	cat "$T/stream.xml" >/dev/null		# into the page cache
	_i=0
	while [ $_i -lt "$REPS" ]; do
		_i=$((_i + 1))
		for _p in expat-bare xmpp-parse; do
			case $_p in
			expat-bare) _cmd=$B/expat-bare ;;
			*) _cmd=$TOP/xmpp-parse/xmpp-parse ;;
			esac
			_r=$(/usr/bin/python3 "$B/stats.py" time "$_cmd" \
			    "$T/stream.xml" 2>>"$T/parse.err") ||
			    { say "$_p failed:"; cat "$T/parse.err" >&2; }
			say "parse $_p run $_i: $_r"
			echo "fig=parse prog=$_p rep=$_i bytes=$_bytes $_r" \
			    >>"$DATA"
		done
	done
	rm -f "$T/stream.xml"
}

# A private Prosody from tests/lib.sh, changed for measuring: warnings
# only (its debug log would cost more than the routing), Nagle off unless
# BENCH_NAGLE=1, and with TLS offered but not required, so that the
# loader stays in clear text while the bots use STARTTLS or direct TLS
# (tests/lib.sh's c2s_direct_tls_ports, XEP-0368).
bench_prosody() {
	rm -rf "$PDIR"
	PROSODY_TLS=$1
	prosody_config
	sed -e 's/^\([[:space:]]*\)log = { debug =/\1log = { warn =/' \
	    -e 's/c2s_require_encryption = true/c2s_require_encryption = false/' \
	    "$PCONF" >"$PCONF.new" && mv "$PCONF.new" "$PCONF"
	if [ "${BENCH_NAGLE:-0}" != 1 ]; then
		sed '/^[[:space:]]*VirtualHost/i\
network_settings = { nagle = false }
' "$PCONF" >"$PCONF.new" && mv "$PCONF.new" "$PCONF"
	fi
	prosody_start || return 1
	BOT_PW=$(randpw)
	LOAD_PW=$(randpw)
	prosody_adduser bot "$BOT_PW" && prosody_adduser load "$LOAD_PW" ||
	    return 1
	prosody_befriend load bot
	(umask 077 && printf '%s\n' "$BOT_PW" >"$T/bot.pass")
	mkdir -p "$T/tmp"
}

# bot_cmd BOT MODE: set BOT to the bot's command line; MODE is plain,
# starttls or direct (to Prosody's direct TLS port)
bot_cmd() {
	_c= _port=$C2S_PORT
	[ "$2" = plain ] || _c="-C $CA_FILE"
	[ "$2" = direct ] && _port=$DIRECT_PORT
	_a="$_c 127.0.0.1 $_port bot@localhost $T/bot.pass"
	case $1 in
	echobot)
		if [ "$2" = plain ]; then
			set -- "$TOP/echobot.sh" -t plain -P
		else
			set -- "$TOP/echobot.sh" -t "$2" $_c
		fi
		# xmpp-echo's flood control opened wide: its defaults (a
		# burst of 100, 60 a minute) would drop the load
		BOT="$* -s 127.0.0.1:$_port -p $T/bot.pass bot@localhost"
		BOT="$BOT -b 1000000 -R 6000000" ;;
	strophe)
		BOT="$B/strophe-echo -t $2 $_a" ;;
	slixmpp)
		BOT="/usr/bin/python3 $B/slixmpp-echo.py -t $2 $_a" ;;
	esac
}

# A cpuacct cgroup (v1) per bot run: its usage counts, in ns, every
# process the bot ever ran, those that exited (the launcher's ticker
# sleeps, a stunnel thread) included.  Needs root and the v1 hierarchy;
# without it the sampled processes alone are counted.
CGROOT=/sys/fs/cgroup/cpuacct
CG=
cg_new() {
	CG=$CGROOT/echobot-bench.$$.$1
	if mkdir "$CG" 2>/dev/null && [ -w "$CG/cgroup.procs" ]; then
		return 0
	fi
	rmdir "$CG" 2>/dev/null
	CG=
	return 1
}
cg_usage() { [ -n "$CG" ] && cat "$CG/cpuacct.usage" 2>/dev/null || echo 0; }
# cg_remove: the cgroup empties as its last process is reaped
cg_remove() {
	[ -n "$CG" ] || return 0
	_n=50
	until rmdir "$CG" 2>/dev/null; do
		[ $_n -le 0 ] && { say "$CG stays: a process is left in it"; break; }
		sleep 0.1
		_n=$((_n - 1))
	done
	CG=
}
# at exit the bot may still run: what is left in the cgroup is ours
cg_kill() {
	[ -n "$CG" ] || return 0
	for _p in $(cat "$CG/cgroup.procs" 2>/dev/null); do
		kill -KILL "$_p" 2>/dev/null
	done
	cg_remove
}
trap '_st=$?; cg_kill; (exit $_st); cleanup' EXIT

# spawn_bot ERRFILE: spawn BOT (in the run's cgroup if any)
spawn_bot() {
	spawn env TMPDIR="$T/tmp" CG="$CG" sh -c \
	    '[ -z "$CG" ] || echo $$ >"$CG/cgroup.procs" || exit 1; exec "$@"' \
	    sh $BOT 2>>"$1" </dev/null
}

# tls_checked BOT MODE SAMPLE: in a TLS mode, the bot is known to use TLS:
# ours has a stunnel (xmpp-connect refuses clear text in those modes),
# libstrophe's said "secured", slixmpp forces it
tls_checked() {
	[ "$2" = plain ] && return 0
	case $1 in
	echobot) echo "$3" | grep -q ',stunnel' ;;
	strophe) grep -q 'secured' "$T/bot-strophe.err" ;;
	*) return 0 ;;
	esac
}

sample() { /usr/bin/python3 "$B/stats.py" sample "$@"; }

# others: how many processes of other people's test runs and builds are
# busy on our two cores right now
others() {
	ps -e -o comm= | grep -c -E '^(prove|memcheck|callgrind|cc1|afl-|clang|.*fuzz)'
}

# loader OUT N WINDOW TARGET: spawn xmpp-load; its pid in spawned
loader() {
	: >"$1"
	spawn env LOAD_PASSWORD="$LOAD_PW" "$B/xmpp-load" -n "$2" \
	    -w "$3" -b "$BODY" -t "$4" 127.0.0.1 "$C2S_PORT" load \
	    localhost >"$1" 2>>"$T/load.err"
}

# latency_run TARGET: N1 messages, one in flight, to the bot already
# online (or to the loader itself); sets _lat to "lat1_p50=.. lat1_p99=.."
latency_run() {
	_lat=
	loader "$T/lat.out" "$N1" 1 "$1"
	_qpid=$spawned
	if [ "$1" != self ]; then
		wait_file_grep "$T/lat.out" '^online' 30 ||
		    { say "latency loader: no bot"; stop "$_qpid"; return 1; }
		kill -USR1 "$_qpid"
	fi
	if ! ended "$_qpid" 120 >/dev/null; then
		say "latency run failed"; stop "$_qpid"; return 1
	fi
	_lat=$(sed -n \
	    's/.* p50_ms=\([^ ]*\) p99_ms=\([^ ]*\) .*/lat1_p50=\1 lat1_p99=\2/p' \
	    "$T/lat.out")
}

# echo_run BOT MODE REP: one load run, then one latency run; appends a
# DATA line
echo_run() {
	_out=$T/load.out
	_target=bot@localhost
	[ "$1" = self ] && _target=self
	_line="fig=echo bot=$1 mode=$2 rep=$3 server_pid=$PROSODY_PID"
	_line="$_line others=$(others) loadavg=$(cut -d ' ' -f 1 /proc/loadavg)"
	loader "$_out" "$N" "$WINDOW" "$_target"
	_lpid=$spawned
	if [ "$1" = self ]; then
		_s0=$(sample 0 "$PROSODY_PID")
		if ! ended "$_lpid" 300 >/dev/null; then
			say "self run $3: loader failed"; stop "$_lpid"; return 1
		fi
		_s1=$(sample 0 "$PROSODY_PID")
		latency_run self
		_line="$_line $_lat"
	else
		wait_file_grep "$_out" '^ready' 20 ||
		    { say "loader not ready"; stop "$_lpid"; return 1; }
		bot_cmd "$1" "$2"
		: >"$T/bot-$1.err"
		cg_new "$2.$3.$1"
		_launch=$(date +%s.%N)
		spawn_bot "$T/bot-$1.err"
		_bpid=$spawned
		if ! wait_file_grep "$_out" '^online' 60; then
			say "$1 ($2) never came online:"
			tail -n 5 "$T/bot-$1.err" "$T/load.err" >&2
			stop "$_bpid"; stop "$_lpid"; cg_remove; return 1
		fi
		sleep 0.5	# let a login settle before the idle sample
		_c0=$(cg_usage)
		_s0=$(sample "$_bpid" "$PROSODY_PID")
		kill -USR1 "$_lpid"
		if ! ended "$_lpid" 300 >/dev/null; then
			say "$1 ($2) run $3: load failed or lost messages"
			tail -n 5 "$T/load.err" >&2
		fi
		_c1=$(cg_usage)
		_s1=$(sample "$_bpid" "$PROSODY_PID")
		_tls=yes
		tls_checked "$1" "$2" "$_s1" || _tls=NO
		[ "$_tls" = yes ] || say "$1 ($2) run $3: TLS not in use"
		latency_run bot@localhost
		stop "$_bpid"
		cg_remove
		_line="$_line launch=$_launch $(sed -n 's/^online /online=/p' "$_out")"
		_line="$_line cg0=$_c0 cg1=$_c1 tls=$_tls $_lat"
	fi
	_res=$(grep '^sent=' "$_out")
	[ -n "$_res" ] || { say "no result from the loader"; return 1; }
	say "$1 $2 run $3: $_res"
	echo "$_line $_res idle=$_s0 busy=$_s1" >>"$DATA"
}

bench_echo() {
	for _mode in $MODES; do
		_tls=1
		[ "$_mode" = plain ] && _tls=0
		bench_prosody $_tls || { say "prosody failed"; return 1; }
		_i=0
		while [ $_i -lt "$REPS" ]; do
			_i=$((_i + 1))
			# the pair swaps its order every other run, so that
			# load that grows along the run weighs on both
			_order=$BOTS
			[ $((_i % 2)) = 0 ] && _order=$(echo "$BOTS" |
			    sed 's/echobot strophe/strophe echobot/')
			for _bot in $_order; do
				if [ "$_bot" = slixmpp ]; then
					case " $SLIXMPP_MODES " in
					*" $_mode "*) ;;
					*) continue ;;
					esac
				fi
				echo_run $_bot "$_mode" $_i
			done
		done
		prosody_stop
	done
}

# perf_top FILE SORT N: the top N lines of a flat perf profile
perf_top() {
	perf report -i "$1" --no-children --sort "$2" --stdio 2>/dev/null |
	    grep -v -e '^#' -e '^$' | head -n "$3" |
	    sed -e 's/[[:space:]]*-[[:space:]]*-[[:space:]]*$//' \
	    -e 's/[[:space:]]*$//'
}

# What our pipeline spends its time on: perf samples (cpu-clock, so it
# works without hardware counters) of xmpp-parse over the stream, and of
# every process of the bot during one extra plain run, not in the tables.
bench_profile() {
	_p=$T/profile
	: >"$_p"
	[ "${BENCH_PROFILE:-1}" = 1 ] || return 0
	if ! perf record -q -e cpu-clock -o "$T/perf.test" true \
	    >/dev/null 2>&1; then
		echo "perf record does not work here: no profile." >>"$_p"
		return 0
	fi
	/usr/bin/python3 "$B/gen-stream.py" 50 >"$T/stream.xml"
	perf record -q -e cpu-clock -F 2999 -o "$T/perf.parse" \
	    "$TOP/xmpp-parse/xmpp-parse" "$T/stream.xml" >/dev/null 2>&1
	rm -f "$T/stream.xml"
	{
		echo "xmpp-parse over a 50 MB stream, by library:"
		echo '```'
		perf_top "$T/perf.parse" dso 6
		echo '```'
		echo "and by function (expat's own are unnamed: no debug symbols):"
		echo '```'
		perf_top "$T/perf.parse" dso,symbol 15
		echo '```'
	} >>"$_p"

	bench_prosody 0 || return 1
	prof_bot echobot || return 1
	[ -x "$B/strophe-echo" ] && { prof_bot strophe || return 1; }
	prosody_stop
	{
		echo
		echo "Our pipeline (plain) echoing $PROFILE_N messages," \
		    "by process and library:"
		echo '```'
		perf_top "$T/perf.bot" comm,dso 12
		echo '```'
		echo "and by function:"
		echo '```'
		perf_top "$T/perf.bot" comm,symbol 25
		echo '```'
		echo
		echo "System calls and context switches per echoed message" \
		    "(perf stat, same runs):"
		echo '```'
		/usr/bin/python3 "$B/stats.py" perstat "$PROFILE_N" \
		    "$T"/perfstat.*
		echo '```'
	} >>"$_p"
}

# prof_bot BOT: a plain load run of PROFILE_N messages with the bot's
# processes under perf stat (and perf record for ours)
prof_bot() {
	: >"$T/load.out"
	spawn env LOAD_PASSWORD="$LOAD_PW" "$B/xmpp-load" -n "$PROFILE_N" \
	    -w "$WINDOW" -b "$BODY" -t bot@localhost 127.0.0.1 "$C2S_PORT" \
	    load localhost >"$T/load.out" 2>>"$T/load.err"
	_lpid=$spawned
	wait_file_grep "$T/load.out" '^ready' 20 || return 1
	bot_cmd "$1" plain
	spawn_bot "$T/bot-prof.err"
	_bpid=$spawned
	wait_file_grep "$T/load.out" '^online' 60 || return 1
	sleep 0.5
	_pids=$(sample "$_bpid" | tr ';' '\n' | cut -d , -f 1 | paste -s -d , -)
	_rpid=
	if [ "$1" = echobot ]; then
		spawn perf record -q -e cpu-clock -F 2999 -o "$T/perf.bot" \
		    -p "$_pids" >/dev/null 2>&1
		_rpid=$spawned
	fi
	spawn perf stat --per-thread -x , -e raw_syscalls:sys_enter \
	    -e context-switches -o "$T/perfstat.$1" -p "$_pids"
	_spid=$spawned
	sleep 1		# perf attaching
	kill -USR1 "$_lpid"
	ended "$_lpid" 300 >/dev/null
	for _q in $_spid $_rpid; do
		kill -INT "$_q"
		wait_gone "$_q" 20
		stop "$_q"
	done
	stop "$_bpid"
}

main() {
	build || { say "cannot build the bench programs"; exit 1; }
	: >"$DATA"
	meta
	bench_parse
	bench_echo
	bench_profile || say "profiling failed"
	echo "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)" \
	    >>"$T/meta"
	cp "$DATA" "$B/results.dat"
	cp "$T/meta" "$B/results.meta"
	/usr/bin/python3 "$B/stats.py" report "$DATA" "$T/meta" "$B/RESULTS.md" \
	    "${BENCH_BEFORE:-}"
	if [ -s "$T/profile" ]; then
		printf '## Profile\n\n' >>"$B/RESULTS.md"
		cat "$T/profile" >>"$B/RESULTS.md"
		printf '## Profile\n\n'
		cat "$T/profile"
	fi
}

main
