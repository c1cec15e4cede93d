#!/bin/sh
# xmpp-echo -x under valgrind (-X: without its sandbox; the supervisor
# it forks is traced too, the handler it execs is not): replies through
# a sh handler, a refused line, SIGTERM, and not one error or definite
# leak in either process.
. "$(dirname "$0")/lib.sh"
plan 5

if ! command -v valgrind >/dev/null; then
	for i in 1 2 3 4 5; do skip "valgrind $i" "no valgrind"; done
	exit 0
fi
if sanitized "$TOP/xmpp-echo/xmpp-echo"; then
	for i in 1 2 3 4 5; do skip "valgrind $i" "sanitizer build"; done
	exit 0
fi

echobot_setup
cat >"$T/back.sh" <<'EOF'
tab=$(printf '\t')
while IFS= read -r line; do
	echo junk
	printf '%s\n' "$line" | sed -e "s/${tab}@to=[^${tab}]*//" \
	    -e "s/${tab}@id=[^${tab}]*//" -e "s/${tab}@from=/${tab}@to=/"
done
EOF
# As tests/lib.sh's pipeline, xmpp-echo under valgrind.
mkfifo "$T/fifo"
spawn sh -c '
    "$TOP/xmpp-connect/xmpp-connect" -t plain -d localhost \
        "127.0.0.1:$C2S_PORT" <"$T/fifo" |
    "$TOP/xmpp-parse/xmpp-parse" |
    { sh -c '\''echo $$ >"$T/echo.pid"; exec "$@"'\'' sh \
        valgrind -q --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite --errors-for-leak-kinds=definite \
        --trace-children=yes --trace-children-skip="/bin/sh,*/sh" \
        --child-silent-after-fork=no --log-file="$T/vg.%p" \
        "$TOP/xmpp-echo/xmpp-echo" -X -e -p "$T/bot.pass" \
        -x "sh $T/back.sh" bot@localhost >"$T/fifo"
      echo $? >"$T/echo.st"; }' 2>"$T/bot.err"
wait_file_grep "$T/echo.pid" . 10 || bail "xmpp-echo did not start"

echo '"under valgrind <&> ]]>"' >"$T/send"
alice --no-tls --send "$T/send" --expect 1 --timeout 60 >"$T/got"
is "$?:$(jfield body "$T/got")" '0:"under valgrind <&> ]]>"' \
    "the handler's reply came back"
check "its junk refused" grep -q 'handler line 1 refused' "$T/bot.err"
kill -TERM "$(cat "$T/echo.pid")"
wait_file_grep "$T/echo.st" . 60
is "$(cat "$T/echo.st")" 0 "xmpp-echo: exit 0 after SIGTERM, no valgrind error"
# xmpp-echo, its supervisor, and the handler's fork until its exec
check "xmpp-echo and its supervisor traced" \
    test "$(ls "$T"/vg.* | wc -l)" -ge 2
is "$(cat "$T"/vg.*)" "" "valgrind: nothing to report in either"
