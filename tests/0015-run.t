#!/bin/sh
# xmpp-run on records fed on stdin: hostile bodies come back exact, the
# environment, the bounds on time, runs at once, queue and output, and
# what gets no reply.
. "$(dirname "$0")/lib.sh"
plan 34

RUN=$TOP/xmpp-run/xmpp-run
# run ARGS: xmpp-run ARGS, never for more than 30 s (timeout(1) exits 124)
run() { timeout 30 "$RUN" "$@"; }
enc() { $PY "$TOP/tests/records.py" encode; }
dec() { $PY "$TOP/tests/records.py" decode; }

# Hostile bodies through cat, in order (-c 1): markup, CDATA's end,
# newlines, tabs, CR, backslashes and escapes as text, emoji, RTL.
$PY - >"$T/hostile" <<-'END'
import json
bodies = ["<b>bold</b>", "]]>", "&amp; &#60; &lt;", "\"'",
          "</body></message><message to='x'><body>x</body></message>",
          "line 1\nline 2\n\ttabbed\r\n", "\\t \\n \\x01 \\\\", "\\",
          "trailing newline\n", "\n", "  spaced  ",
          "emoji \U0001F600\U0001F44D\u200d, RTL \u05e9\u05dc\u05d5\u05dd \u202e",
          "message\txmlns=jabber:client\t@to=eve@localhost\t(body\t-forged\t)"]
for b in bodies:
    print(json.dumps(b))
END
enc <"$T/hostile" >"$T/in"
run -c 1 cat <"$T/in" >"$T/out" 2>"$T/err"
is "$?:$(cat "$T/err")" "0:" "cat: exit 0, nothing on stderr"
is "$(wc -l <"$T/out")" "$(wc -l <"$T/hostile")" "one record a message"
dec <"$T/out" >"$T/got"
is "$(jfield body "$T/got")" "$(jnorm "$T/hostile")" \
    "hostile bodies come back byte for byte"
is "$(jfield to "$T/got" | sort -u):$(jfield type "$T/got" | sort -u)" \
    '"alice@localhost/x":"chat"' "to the sender, type chat kept"

# The environment, the thread kept, no type when the message had none.
cat >"$T/env.json" <<-'END'
{"from": "b@localhost/r", "type": null, "id": "m1", "thread": "t-1", "body": "x"}
{"from": "c@localhost/$(x)", "type": "chat", "body": "y"}
END
enc <"$T/env.json" |
    run -c 1 sh -c 'printf "%s|%s|%s|%s|%s|%s" "$XMPP_FROM" "$XMPP_TO" \
    "$XMPP_TYPE" "${XMPP_THREAD-unset}" "${XMPP_ID-unset}" "$(cat)"' |
    dec >"$T/got"
is "$(jfield body "$T/got")" '"b@localhost/r|bot@localhost/r|normal|t-1|m1|x"
"c@localhost/$(x)|bot@localhost/r|chat|unset|unset|y"' \
    "XMPP_FROM, _TO, _TYPE, _THREAD, _ID; the body on stdin"
is "$(jfield thread "$T/got" | tr '\n' ' ')$(jfield type "$T/got" | tr '\n' ' ')" \
    '"t-1" null null "chat" ' "thread kept; no type stays none"

# What gets no reply, silently: errors, groupchat, headline, no body,
# an empty body, no sender.
cat >"$T/quiet.json" <<-'END'
{"type": "error", "body": "e"}
{"type": "groupchat", "body": "g"}
{"type": "headline", "body": "h"}
{"body": null}
{"body": ""}
{"from": null, "body": "nobody sent this"}
END
enc <"$T/quiet.json" | run cat >"$T/out" 2>"$T/err"
is "$?:$(cat "$T/out" "$T/err")" "0:" \
    "error, groupchat, headline, bodyless, empty, senderless: no reply"

# No reply, with a line on stderr: a non-zero exit, a signal, output
# over -o, output that is not XML text.  Empty output: no reply, silently.
echo '"x"' | enc >"$T/one"
# noreply DESC PATTERN CMD: sh -c CMD, -o 10, gives no reply and one
# line on stderr matching PATTERN
noreply() {
	run -o 10 sh -c "$3" <"$T/one" >"$T/out" 2>"$T/err"
	st=$?
	check "$1: no reply, '$2' on stderr" test "$st" = 0 -a ! -s "$T/out" \
	    -a "$(grep -c "$2.*no reply" "$T/err")" = 1
}
noreply "exit 3" "exit status not 0" 'echo x; exit 3'
noreply "killed by a signal" "Killed" 'echo x; kill -9 $$'
noreply "11 bytes" "output too long" 'head -c 11 /dev/zero | tr "\0" a'
noreply "a control byte" "output not UTF-8 text" 'printf "a\001b"'
noreply "not UTF-8" "output not UTF-8 text" 'printf "\377"'
noreply "a surrogate" "output not UTF-8 text" 'printf "\355\240\200"'
run -o 10 sh -c 'head -c 10 /dev/zero | tr "\0" a; echo' <"$T/one" |
    dec >"$T/got"
is "$(jfield body "$T/got")" '"aaaaaaaaaa"' "-o bytes and a final newline: a reply"
run true <"$T/one" >"$T/out" 2>"$T/err"
is "$?:$(cat "$T/out" "$T/err")" "0:" "empty output: no reply, nothing said"

# A program that never reads a 1 MB body: the reply still comes.
$PY -c 'import json; print(json.dumps("x" * 1000000))' | enc |
    run echo unread | dec >"$T/got"
is "$(jfield body "$T/got")" '"unread"' "an unread 1 MB body holds nothing up"

# The time limit kills the program and what it started.
run -t 1 sh -c 'sleep 300 & echo $! >"$T/child"; wait; echo late' \
    <"$T/one" >"$T/out" 2>"$T/err"
is "$?:$(cat "$T/out")" "0:" "past -t: exit 0, no reply"
check "past -t: said on stderr" grep -q 'time limit reached, killed' "$T/err"
check "past -t: its background child is gone too" \
    wait_gone "$(cat "$T/child")" 5

# A program that leaves a child behind on success: the child is killed.
run sh -c 'sleep 300 & echo $! >"$T/child"; echo done' <"$T/one" | dec \
    >"$T/got"
is "$(jfield body "$T/got")" '"done"' "a reply from a program that exits"
check "what it left running is gone" wait_gone "$(cat "$T/child")" 5

# -c 2 -q 1, five messages: two run, one waits, two are dropped; the
# runs block until $T/go exists.
mkfifo "$T/fifo"
spawn sh -c 'exec "$0" -c 2 -q 1 sh -c '\''touch "$T/started.$XMPP_ID"
	while [ ! -e "$T/go" ]; do sleep 0.05; done; echo "$XMPP_ID"'\'' \
	<"$T/fifo" >"$T/out" 2>"$T/err"' "$RUN"
RUN_PID=$spawned
exec 3>"$T/fifo"
for i in 1 2 3 4 5; do echo "{\"id\": \"m$i\", \"body\": \"b$i\"}"; done |
    enc >&3
wait_file_grep "$T/err" 'queue full' 10
n=0
until [ "$(grep -c 'queue full' "$T/err")" -ge 2 ] &&
    [ "$(ls "$T" | grep -c '^started')" -ge 2 ] || [ $n -gt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
is "$(grep -c 'queue full.*dropped' "$T/err")" 2 "-q 1: two dropped, said"
is "$(ls "$T" | grep '^started' | tr '\n' ' ')" "started.m1 started.m2 " \
    "-c 2: the first two run, the third waits"
touch "$T/go"
exec 3>&-
ended "$RUN_PID" 20
is "$?" 0 "end of input: the runs finish, exit 0"
grep -v '@type=error' "$T/out" >"$T/replies"
is "$(dec <"$T/replies" | jfield body /dev/stdin | sort | tr '\n' ' ')" \
    '"m1" "m2" "m3" ' "the waiting one ran after: three replies"
# The sender of the dropped two is told once: a wait error to the first.
grep '@type=error' "$T/out" >"$T/errors"
is "$(wc -l <"$T/errors") $(grep -c '@id=m4' "$T/errors")" "1 1" \
    "a full queue: one error to the sender, for the first dropped"
check "the error is wait, resource-constraint" grep -q \
    'type=wait.*(resource-constraint.*xmpp-stanzas' "$T/errors"

# A program that cannot be run: one line at the start, exit 1.
run no-such-program-here </dev/null >"$T/out" 2>"$T/err"
is "$?:$(cat "$T/err")" \
    "1:xmpp-run: no-such-program-here: not found in PATH" \
    "a program not in PATH: said at the start, exit 1"
run ./no/such/file </dev/null >"$T/out" 2>"$T/err"
is "$?:$(cat "$T/err")" "1:xmpp-run: ./no/such/file: No such file or directory" \
    "a program path that is not there: said, exit 1"

# Junk lines are skipped, each with a line on stderr; the session goes on.
{
	printf 'message\txmlns=jabber:client\t(body\t-x\n'
	printf 'message\txmlns=jabber:client\t@from=a@b/c\t(body\t-\\q\t)\n'
	printf 'message\txmlns=jabber:client\t@from=a@b/c\t(body\t-\001\t)\n'
	printf 'message\tjunk\n'
	printf 'stream:stream\txmlns=http://etherx.jabber.org/streams\n'
	printf 'iq\txmlns=jabber:client\t@type=get\n'
	head -c 5000000 /dev/zero | tr '\0' x
	echo
	printf 'message\txmlns=jabber:client\t@from=a@b/c\t(body\t-ok\t)\n'
} | run cat >"$T/out" 2>"$T/err"
is "$?:$(dec <"$T/out" | jfield body /dev/stdin)" '0:"ok"' \
    "after 7 junk lines, a message is answered"
is "$(sed 's/:.*//' "$T/err" | sort -u):$(cut -d : -f 2 "$T/err" | tr '\n' ,)" \
    "xmpp-run: line 1, line 2, line 3, line 4, line 5, line 6, line 7," \
    "one line on stderr for each, naming it"

# SIGTERM: the runs and their children are killed, exit 0.
rm -f "$T/child"
spawn sh -c 'exec "$0" sh -c '\''sleep 300 & echo $! >"$T/child"; wait'\'' \
	<"$T/fifo" 2>"$T/err"' "$RUN"
RUN_PID=$spawned
exec 3>"$T/fifo"
enc <"$T/hostile" >&3
wait_file_grep "$T/child" . 10
kill -TERM "$RUN_PID"
ended "$RUN_PID" 10
is "$?" 0 "SIGTERM: exit 0"
check "SIGTERM: the program's child is gone" wait_gone "$(cat "$T/child")" 5
exec 3>&-

# Under valgrind: hostile bodies, junk, a time limit, a full queue.
if ! command -v valgrind >/dev/null; then
	skip "valgrind: no error, no leak" "no valgrind"
elif sanitized "$RUN"; then
	skip "valgrind: no error, no leak" "sanitizer build"
else
	{ grep emoji "$T/in"; cat "$T/in"; printf 'junk\tx\n'; } >"$T/vg.in"
	timeout 60 valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=all "$RUN" -c 2 -q 5 -t 1 sh -c \
	    'case $(cat) in *emoji*) sleep 5 ;; esac; echo y' \
	    <"$T/vg.in" >/dev/null 2>"$T/vg"
	is "$?:$(grep -v '^xmpp-run: ' "$T/vg")" "0:" "valgrind: no error, no leak"
	diag "$(cut -d : -f 3- "$T/vg" | sort | uniq -c)"
fi
