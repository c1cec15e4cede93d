#!/bin/sh
# echobot.sh leaves no temporary directory and no process behind when
# timeout(1) ends it (a TERM to its whole process group), at any point
# of a session, nor when the reader of its output goes away (| head).
. "$(dirname "$0")/lib.sh"
plan 6

echobot_setup
link="-t plain -s 127.0.0.1:$C2S_PORT -p $T/bot.pass"
mkdir -p "$T/tmp"

# Ten runs cut at different points: before, during and after the login.
st=
for t in 0.2 0.5 0.8 1 1.3 1.6 2 2.5 3 3; do
	TMPDIR="$T/tmp" timeout "$t" "$TOP/echobot.sh" $link bot@localhost \
	    2>>"$T/timeout.err" </dev/null
	st="$st $?"
done
is "$(ls "$T/tmp")" "" "timeout: no temp dir left after 10 runs"
check "timeout: every run ended by the TERM exits 0 or as timeout says" \
    sh -c 'for s in $1; do case $s in 0|124) ;; *) exit 1 ;; esac; done' \
    sh "$st"
check "timeout: no stage left running" sh -c \
    '! pgrep -f "xmpp-(connect|parse|echo).* $1" >/dev/null' sh "$C2S_PORT"

# The reader of standard error goes away: the next line the launcher
# writes meets a broken pipe: against a closed port, with -v, it writes
# lines at every retry.
closed="-t plain -s 127.0.0.1:$(free_port) -p $T/bot.pass"
: >"$T/ended"
for i in 1 2 3 4 5; do
	spawn sh -c 'TMPDIR="$T/tmp" "$TOP/echobot.sh" -v '"$closed"' \
	    bot@localhost 2>&1 </dev/null | head -n 3 >/dev/null
	    echo done >>"$T/ended"'
done
n=300
while [ "$(wc -l <"$T/ended")" -lt 5 ] && [ $n -gt 0 ]; do
	sleep 0.1
	n=$((n - 1))
done
is "$(wc -l <"$T/ended")" 5 "| head: every launcher ends"
is "$(ls "$T/tmp")" "" "| head: no temp dir left"
check "| head: no stage left running" sh -c \
    '! pgrep -f "xmpp-(connect|parse|echo).* $1" >/dev/null' sh "$C2S_PORT"
