#!/bin/sh
# echobot.sh under an operator's signals, over STARTTLS: SIGUSR1 prints
# xmpp-echo's counters and the bot goes on; SIGHUP closes the session
# with a goodbye and starts a new one at once; SIGTERM to the whole
# process group (systemd's default) and SIGINT to it (Ctrl-C) end with
# the bot's unavailable presence and stream close reaching the server,
# then exit 0.
. "$(dirname "$0")/lib.sh"
plan 21

PROSODY_TLS=1
echobot_setup
tls="-t starttls -C $CA_FILE -s 127.0.0.1:$C2S_PORT -p $T/bot.pass"
ping() { alice_ping "$1" --tls-ca "$CA_FILE" --timeout 30; }

bot_start $tls
ping "echo over STARTTLS"

# SIGUSR1: the counters, the same session goes on.
epid=$(pgrep -s "$BOT_PID" -x xmpp-echo)
kill -USR1 "$BOT_PID"
check "SIGUSR1: xmpp-echo prints its counters" \
    wait_file_grep "$T/bot.err" "xmpp-echo: echoed 1," 10
check "SIGUSR1: the launcher runs on" alive "$BOT_PID"
is "$(pgrep -s "$BOT_PID" -x xmpp-echo)" "$epid" "SIGUSR1: the same session"
# (another body: xmpp-echo drops a message that repeats the last)
echo '"after SIGUSR1"' >"$T/msg"
alice --tls-ca "$CA_FILE" --timeout 30 --send "$T/msg" --expect 1 >"$T/got"
is "$(jfield body "$T/got")" '"after SIGUSR1"' "SIGUSR1: the bot still echoes"

# SIGHUP: a goodbye, a new session at once, no backoff.
n=$(closes)
kill -HUP "$BOT_PID"
check "SIGHUP: says it reconnects" \
    wait_file_grep "$T/bot.err" "SIGHUP: reconnecting now" 15
goodbye "SIGHUP: the old session said goodbye" "$n"
check "SIGHUP: a second session starts" \
    wait_file_grep "$T/bot.err" "session 2:" 10
check "SIGHUP: no backoff" sh -c '! grep -q "retrying in" "$1"' \
    sh "$T/bot.err"
ping "SIGHUP: the new session echoes"

# SIGTERM to the whole process group: every stage gets it at once.
n=$(closes)
kill -s TERM -- "-$BOT_PID"
ended "$BOT_PID" 20
is "$?" 0 "SIGTERM to the group: exit status 0"
goodbye "SIGTERM to the group: unavailable presence and close reach the server" "$n"
check "SIGTERM to the group: no truncated stream" sh -c \
    '! grep -q "truncated" "$1"' sh "$T/bot.err"
is "$(pgrep -s "$BOT_PID")$(ls "$T/tmp")" "" \
    "SIGTERM to the group: nothing left, no temp dir"

# Ctrl-C: SIGINT to the whole process group.
: >"$T/bot.err"
bot_start $tls
ping "echo again"
n=$(closes)
kill -s INT -- "-$BOT_PID"
ended "$BOT_PID" 20
is "$?" 0 "SIGINT to the group: exit status 0"
goodbye "SIGINT to the group: unavailable presence and close reach the server" "$n"
is "$(pgrep -s "$BOT_PID")$(ls "$T/tmp")" "" \
    "SIGINT to the group: nothing left, no temp dir"

# SIGTERM to the launcher alone.
bot_start $tls
ping "echo once more"
n=$(closes)
kill -TERM "$BOT_PID"
ended "$BOT_PID" 20
is "$?" 0 "SIGTERM to the launcher: exit status 0"
goodbye "SIGTERM to the launcher: goodbye reaches the server" "$n"
