#!/bin/sh
# echobot.sh checks what it can before its first connection: a wrong
# xmpp-echo option or no password at all stop it at once with one line
# and status 1, no connection made.  Installed by make install and run
# by its absolute path with PATH=/usr/bin:/bin (as cron and systemd run
# it), it finds its stages.  Its usage says whose options go where.
. "$(dirname "$0")/lib.sh"
plan 11

# A listener that counts the connections it gets: there must be none.
cat >"$T/count.py" <<'EOF'
import os, socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(4)
open(sys.argv[1] + '.tmp', 'w').write('%d\n' % s.getsockname()[1])
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
while True:
    c, _ = s.accept()
    open(sys.argv[1] + '.conn', 'a').write('connection\n')
    c.close()
EOF
spawn $PY "$T/count.py" "$T/port"
wait_file_grep "$T/port" '[0-9]' 10 || bail "count.py did not start"
link="-t starttls -s 127.0.0.1:$(cat "$T/port")"
printf 'secret\n' >"$T/pass"
chmod 600 "$T/pass"
mkdir -p "$T/tmp"

# run ARGS...: echobot.sh ARGS in a session of its own (no terminal), its
# status in st, its standard error in $T/err
run() {
	setsid env TMPDIR="$T/tmp" "$TOP/echobot.sh" "$@" </dev/null \
	    >/dev/null 2>"$T/err" &
	ended $! 20
	st=$?
}

run $link -p "$T/pass" bot@localhost -Q
is "$st:$(wc -l <"$T/err")" "1:1" "wrong xmpp-echo option: status 1, one line"
check "wrong xmpp-echo option: named" \
    grep -q "${LOG}echobot.sh: xmpp-echo: invalid option -- 'Q'$" "$T/err"

run $link -p "$T/pass" bot@localhost -l 0
check "xmpp-echo option out of range: status 1, named" sh -c \
    '[ "$1" = 1 ] && grep -q "$3echobot.sh: xmpp-echo: -l 0: too small$" "$2"' \
    sh "$st" "$T/err" "$LOG"

run $link bot@localhost
is "$st" 1 "no password, no -p, no terminal: status 1"
check "no password: says so in one line" sh -c \
    '[ "$(wc -l <"$1")" = 1 ] && grep -q "no password" "$1"' sh "$T/err"
is "$(cat "$T/port.conn" 2>/dev/null)$(ls "$T/tmp")" "" \
    "no connection made, no temp dir"

# The usage says whose options are whose.
"$TOP/echobot.sh" -h >"$T/usage"
check "usage: options after the jid are xmpp-echo's" \
    grep -q "after it xmpp-echo's" "$T/usage"

# Installed under a DESTDIR, run by its absolute path with a minimal PATH.
make -s -C "$TOP" install DESTDIR="$T/inst" PREFIX=/usr/local \
    >"$T/make" 2>&1
is "$?" 0 "make install DESTDIR" || diag "$(cat "$T/make")"
bin=$T/inst/usr/local/bin
v=$(env -i PATH=/usr/bin:/bin "$bin/echobot.sh" -V 2>&1)
is "$v" "echobot.sh $("$TOP/xmpp-echo/xmpp-echo" -V | cut -d ' ' -f 2)" \
    "installed, PATH=/usr/bin:/bin: -V finds xmpp-echo"

echobot_setup
spawn env -i PATH=/usr/bin:/bin TMPDIR="$T/tmp" "$bin/echobot.sh" \
    -t plain -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost \
    2>"$T/bot.err" </dev/null
BOT_PID=$spawned
alice_ping "installed, PATH=/usr/bin:/bin: the bot echoes" --no-tls \
    --timeout 30 || diag "$(cat "$T/bot.err")"
check "installed: the stages run from where it is installed" sh -c \
    '[ "$(readlink "/proc/$(pgrep -s "$1" -x xmpp-echo)/exe")" = "$2/xmpp-echo" ]' \
    sh "$BOT_PID" "$bin"
