#!/bin/sh
# The bot's pipeline wired by hand, as in echobot.sh(1), every stage
# under valgrind (-X: the sandboxed stages without their sandbox;
# stunnel, a child of xmpp-connect, not traced): an echo over STARTTLS,
# then SIGTERM to xmpp-echo, and not one error or definite leak.
. "$(dirname "$0")/lib.sh"
plan 9

if ! command -v valgrind >/dev/null; then
	for i in 1 2 3 4 5 6 7 8 9; do skip "valgrind $i" "no valgrind"; done
	exit 0
fi
# A sanitizer build has its own checks and cannot run under valgrind.
if sanitized "$TOP/xmpp-echo/xmpp-echo"; then
	for i in 1 2 3 4 5 6 7 8 9; do skip "valgrind $i" "sanitizer build"; done
	exit 0
fi

PROSODY_TLS=1
echobot_setup
mkfifo "$T/connect.in" "$T/parse.in" "$T/echo.in"

# vg NAME IN OUT CMD...: CMD under valgrind in the background, reading
# IN and writing OUT (xmpp-connect opens OUT first: the fifos open in a
# chain, not a cycle); its pid in $T/NAME.pid, its exit status in $T/NAME.st,
# valgrind's report in $T/NAME.vg.
vg() {
	_n=$1
	shift
	spawn sh -c '
	n=$1 in=$2 out=$3
	shift 3
	if [ "$n" = connect ]; then
		exec 3>"$out" 4<"$in"
	else
		exec 4<"$in" 3>"$out"
	fi
	TMPDIR=$T valgrind -q --error-exitcode=99 --leak-check=full \
	    --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	    --log-file="$T/$n.vg" "$@" <&4 >&3 2>>"$T/$n.err" 3>&- 4<&- &
	exec 3>&- 4<&-
	echo $! >"$T/$n.pid"
	wait $!
	echo $? >"$T/$n.st"' sh "$_n" "$@"
}

vg connect "$T/connect.in" "$T/parse.in" "$TOP/xmpp-connect/xmpp-connect" \
    -N -C "$CA_FILE" -d localhost "127.0.0.1:$C2S_PORT"
vg parse "$T/parse.in" "$T/echo.in" "$TOP/xmpp-parse/xmpp-parse" -X
vg echo "$T/echo.in" "$T/connect.in" "$TOP/xmpp-echo/xmpp-echo" -X -N -e \
    -p "$T/bot.pass" bot@localhost

echo '"under valgrind"' >"$T/ping"
alice --tls-ca "$CA_FILE" --send "$T/ping" --expect 1 --timeout 60 >"$T/got"
is "$?:$(jfield body "$T/got")" '0:"under valgrind"' "the echo came back"

wait_file_grep "$T/echo.pid" . 10
kill -TERM "$(cat "$T/echo.pid")"
for s in echo parse connect; do
	wait_file_grep "$T/$s.st" . 60
	is "$(cat "$T/$s.st" 2>/dev/null)" 0 \
	    "xmpp-$s: exit 0 after SIGTERM to xmpp-echo, no valgrind error" ||
	    diag "$(cat "$T/$s.vg")"
done
for s in connect parse echo; do
	check "xmpp-$s: valgrind ran and found nothing" \
	    sh -c 'test -f "$1" && test ! -s "$1"' sh "$T/$s.vg" ||
	    diag "$(head -n 40 "$T/$s.vg")"
done
check "-N: the milestones of both" sh -c '
    grep -q "^xmpp-connect: TLS established with localhost" "$1/connect.err" &&
    grep -q "^xmpp-echo: online$" "$1/echo.err"' sh "$T"
# ([s]: the pattern does not match the shell that runs pgrep.)
check "no stunnel left" sh -c '! pgrep -f "$1" >/dev/null' sh \
    "[s]tunnel $T/xmpp-connect"
