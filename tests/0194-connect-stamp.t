#!/bin/sh
# xmpp-connect -T: its own lines and its stages' standard error, each
# line after its UTC time (what echobot.sh uses when its log is a file):
# lines whole, a last line without its newline, a line longer than
# 4096 bytes, a process left behind holding the pipe does not keep the
# session from ending; without -T the lines are as written.
. "$(dirname "$0")/lib.sh"
plan 9

XC=$TOP/xmpp-connect/xmpp-connect
STAMP='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z '

# A server that takes connections and says nothing.
mute_server
port=$MUTE_PORT

# The reader: a line, one of 5000 bytes, then one without its newline,
# and ends.  The writer waits for its TERM.
long=$(printf '%5000s' '' | tr ' ' y)
spawn sh -c 'exec "$@" 2>"$T/one.err"' sh "$XC" -N -T -t plain \
    "127.0.0.1:$port" \
    -- sh -c 'echo "reader: one line" >&2; printf "%s\n" "$1" >&2
	printf "reader: cut" >&2' sh "$long" \
    -- sh -c 'exec cat >/dev/null'
ended "$spawned" 20
is "$?" 0 "the reader's end ends the session: status 0"
check "every line stamped" sh -c '! grep -v "^$1" "$2"' sh "$STAMP" \
    "$T/one.err"
check "xmpp-connect's own line" grep -q \
    "^${STAMP}xmpp-connect: connected to 127.0.0.1 port $port\$" \
    "$T/one.err"
check "a stage's line" grep -q "^${STAMP}reader: one line\$" "$T/one.err"
check "the last line, its newline added" sh -c \
    '[ "$(tail -c 1 "$2" | od -An -c | tr -d " ")" = "\\n" ] &&
    grep -q "^${1}reader: cut\$" "$2"' sh "$STAMP" "$T/one.err"
check "a long line: 4096 bytes, then the rest, each stamped" sh -c '
    grep -q "^$1y\{4096\}\$" "$2" && grep -q "^${1}y\{904\}\$" "$2"' \
    sh "$STAMP" "$T/one.err"

# A process the reader left behind holds the pipe: the session ends
# all the same, with what was written until then.
spawn sh -c 'exec "$@" 2>"$T/two.err"' sh "$XC" -T -t plain \
    "127.0.0.1:$port" \
    -- sh -c 'sleep 3600.25 & echo "reader: bye" >&2' \
    -- sh -c 'exec cat >/dev/null'
ended "$spawned" 20
is "$?" 0 "a process left holding the pipe: the session ends"
check "its lines until then" grep -q "^${STAMP}reader: bye\$" "$T/two.err"
pkill -f 'sleep 3600.25'

# Without -T: as written.
"$XC" -t plain 127.0.0.1:1 2>"$T/three.err"
check "without -T: lines as written" grep -q '^xmpp-connect: could not connect' \
    "$T/three.err"
