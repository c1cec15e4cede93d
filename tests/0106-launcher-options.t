#!/bin/sh
# echobot.sh -w: one capture a session in a private directory, which
# xmpp-parse replays; -X: stages without their sandbox; -v: the trace;
# arguments after the jid reach xmpp-echo.
. "$(dirname "$0")/lib.sh"
plan 11

echobot_setup
ping() { alice_ping "$1" --no-tls --timeout 60; }
link="-t plain -s 127.0.0.1:$C2S_PORT"

# bot_start puts the jid last: here xmpp-echo's -s comes after it.
spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -v -w "$T/cap/sub" $link \
    -p "$T/bot.pass" bot@localhost -s 'echoing, with "quotes"' \
    2>>"$T/bot.err" </dev/null
BOT_PID=$spawned
ping "-w: echo"
cpid=$(pgrep -s "$BOT_PID" -x xmpp-connect)
kill -TERM $cpid
wait_file_grep "$T/bot.err" "session 2:" 20
ping "-w: echo in a second session"
is "$(stat -c %a "$T/cap/sub")" 700 "-w: the directory is made private"
is "$(ls "$T/cap/sub" | grep -c '^capture-[0-9]\{8\}T[0-9]\{6\}-[0-9]*\.xml$')" 2 \
    "-w: one capture a session, named by time"
stop "$BOT_PID"
cap=$(ls "$T/cap/sub"/capture-* | head -n 1)
"$TOP/xmpp-parse/xmpp-parse" "$cap" >"$T/replay" 2>/dev/null
check "-w: the capture replays to the message the bot got" \
    grep -q "^message.*-ping" "$T/replay"
check "-w: no password in the captures" sh -c \
    '! grep -qF -f "$1" "$2"/*' sh "$T/bot.pass" "$T/cap/sub"
check "after the jid: xmpp-echo's -s, one argument" grep -q \
    "^> <presence><status>echoing, with \"quotes\"</status>" \
    "$T/bot.err"

# -X and -v: no seccomp filter on xmpp-parse and xmpp-echo; the trace.
: >"$T/bot.err"
bot_start -X -v $link -p "$T/bot.pass"
ping "-X -v: echo"
seccomp() {
	grep '^Seccomp:' "/proc/$(pgrep -s "$BOT_PID" -x "$1")/status" | cut -f 2
}
is "$(seccomp xmpp-parse) $(seccomp xmpp-echo)" "0 0" "-X: no sandbox"
check "-v: records in, XML out" sh -c 'grep -q "^< message	" "$1" &&
    grep -q "^> <message " "$1"' sh "$T/bot.err"
check "-v: no password in the trace" sh -c \
    '! grep -qF -f "$1" "$2"' sh "$T/bot.pass" "$T/bot.err"
