#!/bin/sh
# echobot.sh and secrets: with XMPP_PASSWORD set, no process of the
# launcher's (the launcher, its subshells, the stages) holds the
# password in its environment block, /proc/PID/environ, while the bot
# runs, nor on a command line; -t plain enables PLAIN over clear text
# only for a literal loopback address, never for a name such as
# 127.attacker.example.
. "$(dirname "$0")/lib.sh"
plan 14

echobot_setup
link="-t plain -s 127.0.0.1:$C2S_PORT"

# XMPP_PASSWORD, no -p: the bot logs in and echoes.
spawn env TMPDIR="$T/tmp" XMPP_PASSWORD="$BOT_PW" "$TOP/echobot.sh" $link \
    bot@localhost 2>"$T/bot.err" </dev/null
BOT_PID=$spawned
alice_ping "XMPP_PASSWORD: the bot echoes" --no-tls --timeout 30 ||
    diag "$(cat "$T/bot.err")"

# Every process in the launcher's session, stunnel aside (none here).
pids=$(pgrep -s "$BOT_PID")
n=0 leak= argv=
for p in $pids; do
	[ -r "/proc/$p/environ" ] || continue
	n=$((n + 1))
	tr '\0' '\n' <"/proc/$p/environ" | grep -qF "$BOT_PW" &&
	    leak="$leak $p:$(cat "/proc/$p/comm")"
	tr '\0' '\n' <"/proc/$p/cmdline" | grep -qF "$BOT_PW" &&
	    argv="$argv $p:$(cat "/proc/$p/comm")"
done
check "XMPP_PASSWORD: the launcher and the session were read ($n processes)" \
    test "$n" -ge 4
is "$leak" "" "XMPP_PASSWORD: in no environment block"
is "$argv" "" "XMPP_PASSWORD: on no command line"
stop "$BOT_PID"

# -t plain and the -s host: PLAIN over clear text only for a literal
# loopback address; a name is not checked where it resolves: refused,
# and said so.  (A wrong xmpp-echo option, -Q, stops each run before
# it connects; the names have an empty label besides, so that not even
# a launcher without that check sends a DNS query for them.)
for s in 127.attacker..example localhost 127.0.0.1..example 127.0.0.256 \
    '127.0.0.1
x' '[::2]'; do
	d=$(printf '%s' "$s" | tr '\n' ' ')
	timeout 10 "$TOP/echobot.sh" -t plain -s "$s" -p "$T/bot.pass" \
	    bot@localhost -Q 2>"$T/err" </dev/null
	check "-t plain -s $d: PLAIN stays off" \
	    grep -q "no loopback address, PLAIN stays off" "$T/err"
done
for s in 127.0.0.1 "127.1.2.3:$C2S_PORT" ::1 '[::1]:5222'; do
	timeout 10 "$TOP/echobot.sh" -t plain -s "$s" -p "$T/bot.pass" \
	    bot@localhost -Q 2>"$T/err" </dev/null
	check "-t plain -s $s: PLAIN allowed" \
	    grep -q "PLAIN allowed, a loopback address" "$T/err"
done
