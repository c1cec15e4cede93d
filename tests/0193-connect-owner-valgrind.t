#!/bin/sh
# xmpp-connect's owner mode under valgrind (the stages and stunnel, its
# children, not traced), over STARTTLS: an echo, a TERM, and not one
# error or definite leak.
. "$(dirname "$0")/lib.sh"
plan 4

if ! command -v valgrind >/dev/null; then
	for i in 1 2 3 4; do skip "valgrind $i" "no valgrind"; done
	exit 0
fi
if sanitized "$TOP/xmpp-connect/xmpp-connect"; then
	for i in 1 2 3 4; do skip "valgrind $i" "sanitizer build"; done
	exit 0
fi

PROSODY_TLS=1
echobot_setup
spawn sh -c 'exec "$@" 3>"$T/st"' sh env TMPDIR="$T/tmp" \
    valgrind -q --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --log-file="$T/vg" "$TOP/xmpp-connect/xmpp-connect" -N -C "$CA_FILE" \
    -d localhost -s 3 "127.0.0.1:$C2S_PORT" -- "$TOP/xmpp-parse/xmpp-parse" \
    -- "$TOP/xmpp-echo/xmpp-echo" -N -e -p "$T/bot.pass" bot@localhost \
    2>"$T/err"
pid=$spawned
wait_file_grep "$T/err" '^xmpp-echo: online$' 60 || diag "$(cat "$T/err")"
alice_ping "owner mode under valgrind: echo" --tls-ca "$CA_FILE" --timeout 60
kill -TERM "$pid"
ended "$pid" 60
is "$?" 0 "exit 0 after a TERM, no valgrind error" || diag "$(cat "$T/err")"
check "valgrind ran and found nothing" sh -c 'test -f "$1" && test ! -s "$1"' \
    sh "$T/vg" || diag "$(head -n 40 "$T/vg")"
# (first: the reader too, which ends on the server's </stream:stream>,
# at times before stunnel's end or the TCP close is seen)
check "the -s line: both exited 0 ($(cat "$T/st"))" \
    grep -qx 'reader 0 writer 0 first \(reader\|writer\|connection\)' "$T/st"
