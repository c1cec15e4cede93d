#!/bin/sh
# echobot.sh runs a session as one command: xmpp-connect owns it, the
# stages are its children on the socket itself, the launcher's own
# child is xmpp-connect only: it stamps the log lines (-T) too.
. "$(dirname "$0")/lib.sh"
plan 7

echobot_setup
bot_start -t plain -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"
alice_ping "echo" --no-tls --timeout 30

xc=$(pgrep -s "$BOT_PID" -x xmpp-connect)
is "$(ps -o ppid= -p "$xc" | tr -d ' ')" "$BOT_PID" \
    "xmpp-connect is the launcher's child"
kids=$(pgrep -P "$xc" | xargs -r ps -o comm= -p | sort | tr '\n' ' ')
is "$kids" "xmpp-echo xmpp-parse " "the stages are xmpp-connect's children"
lk=$(pgrep -P "$BOT_PID" | xargs -r ps -o comm= -p | sort | tr '\n' ' ')
is "$lk" "xmpp-connect " \
    "the launcher's only child: xmpp-connect, no log reader, no subshells"
r=$(pgrep -P "$xc" -x xmpp-parse)
case $(readlink "/proc/$r/fd/0") in
socket:*) pass "xmpp-parse reads the socket" ;;
*) fail "xmpp-parse reads the socket" ;;
esac
tmp=$(ls -d "$T"/tmp/echobot.*)
is "$(cd "$tmp" && ls | sort | tr '\n' ' ')" "sm status " \
    "the private directory: sm state and the status file, no fifo"
kill -TERM "$BOT_PID"
ended "$BOT_PID" 20
is "$?" 0 "SIGTERM: exit 0"
