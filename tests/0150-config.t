#!/bin/sh
# echobot.sh -f: a configuration file echoes as the command line does,
# its values are data (nothing in them runs), options after -f win; a
# bad line is refused naming the file and line, before any connection.
. "$(dirname "$0")/lib.sh"
plan 24

echobot_setup
ping() { alice_ping "$1" --no-tls --timeout 60; }
STAMP='^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:]\{8\}Z '

cat >"$T/bot.conf" <<EOF2
# the test bot
jid = bot@localhost
server = 127.0.0.1:$C2S_PORT
	tls	=plain
password-file = $T/bot.pass
resource = from-the-file
echo-option = -s \$(touch $T/pwned) 'it is data'
echo-option = -A
EOF2

spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -v -f "$T/bot.conf" \
    2>>"$T/bot.err" </dev/null
BOT_PID=$spawned
ping "a good file: echo"
check "the resource of the file" grep -q \
    "xmpp-echo: logged in as bot@localhost/from-the-file$" "$T/bot.err"
check "echo-option: its argument one word, as written, not run" sh -c \
    'grep -qF "<status>\$(touch $1/pwned) '"'it is data'"'</status>" "$2" &&
    ! test -e "$1/pwned"' sh "$T" "$T/bot.err"
check "stderr a file: the launcher's lines stamped" grep -q \
    "${STAMP}echobot.sh: session 1: connecting to 127.0.0.1:$C2S_PORT" \
    "$T/bot.err"
check "-v: xmpp-echo's trace as it is, not stamped" grep -q '^> <presence>' \
    "$T/bot.err"
stop "$BOT_PID"

# Options after -f win over the file; the jid operand over its jid.
: >"$T/bot.err"
bot_start -f "$T/bot.conf" -r from-the-command-line
ping "-f then -r: echo"
check "-f then -r: the command line's resource" grep -q \
    "logged in as bot@localhost/from-the-command-line$" "$T/bot.err"
check "the milestones, stamped, one line each" sh -c '
    for e in "xmpp-connect: connected to 127.0.0.1 port $3" \
	"xmpp-echo: logged in as" "xmpp-echo: online"; do
	[ "$(grep -c "$1$e" "$2")" = 1 ] || exit 1
    done' sh "$STAMP" "$T/bot.err" "$C2S_PORT"
stop "$BOT_PID"

# handler: xmpp-echo's -x, its command one argument.
printf '%s\n' "server = 127.0.0.1:$C2S_PORT" "tls = plain" \
    "password-file = $T/bot.pass" "handler = cat -u" >"$T/h.conf"
: >"$T/bot.err"
bot_start -f "$T/h.conf"
wait_file_grep "$T/bot.err" "xmpp-echo: online" 30
check "handler: xmpp-echo's -x, one argument" sh -c '
    tr "\\0" "\\n" <"/proc/$(pgrep -o -s "$1" -x xmpp-echo)/cmdline" |
    grep -qx "cat -u"' sh "$BOT_PID"
stop "$BOT_PID"

# Bad files.  A listener counts connections: there must be none.
LPORT=$(free_port)
spawn $PY -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    open(sys.argv[2], "a").write("connection\n")
    c.close()' "$LPORT" "$T/connections"
wait_port 127.0.0.1 "$LPORT" 10 &&
    wait_file_grep "$T/connections" connection 10 || bail "no listener"
: >"$T/connections"

# refused DESC LINE MESSAGE: a file of a good first part, then LINE (line
# 5): exit 1, one line naming file:5 and saying MESSAGE
refused() {
	cat >"$T/bad.conf" <<-EOF2
	jid = bot@localhost
	server = 127.0.0.1:$LPORT
	tls = plain
	password-file = $T/bot.pass
	$2
	EOF2
	env TMPDIR="$T/tmp" "$TOP/echobot.sh" -n 1 -f "$T/bad.conf" \
	    </dev/null >/dev/null 2>"$T/bad.err"
	_st=$?
	_want="echobot.sh: $T/bad.conf:5: $3"
	if [ "$_st" = 1 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] &&
	    grep -q "${STAMP}" "$T/bad.err" && grep -qF -- "$_want" "$T/bad.err"
	then
		pass "$1"
	else
		fail "$1"
		diag "status $_st" "$(cat "$T/bad.err")" "want: $_want"
	fi
}
refused "unknown key" "colour = blue" "colour: unknown key"
refused "bad value" "log = journal" "log journal: want stderr or syslog"
refused "not key = value" "just some words" "not a key = value line"
refused "a key given twice" "jid = other@localhost" "jid: given twice"
refused "no value" "resource =" "resource: no value"
refused "a relative path" "cafile = ca.pem" "cafile ca.pem: want an absolute path"
refused "a number that is none" "tries = ten" "tries ten: not a number"
refused "an option the launcher sets" "echo-option = -p /etc/passwd" \
    "echo-option -p /etc/passwd: set by the launcher, use its key"
refused "shell in a key: not run" "\$(touch $T/pwned2) = x" \
    "\$(touch $T/pwned2): not a key"
check "shell in a key: not run" test ! -e "$T/pwned2"
refused "a password in the file" "password = hunter2" \
    "password: never in this file; give password-file"
check "the password in the file: not repeated" sh -c \
    '! grep -q hunter2 "$1"' sh "$T/bad.err"

env TMPDIR="$T/tmp" "$TOP/echobot.sh" -f "$T/nonexistent.conf" \
    </dev/null >/dev/null 2>"$T/bad.err"
is "$?:$(sed "s/$STAMP//" "$T/bad.err")" \
    "1:echobot.sh: $T/nonexistent.conf: cannot read" "a missing file: said so"
printf 'tls = plain\n' >"$T/nojid.conf"
env TMPDIR="$T/tmp" "$TOP/echobot.sh" -f "$T/nojid.conf" \
    </dev/null >/dev/null 2>"$T/bad.err"
is "$?:$(sed "s/$STAMP//" "$T/bad.err")" \
    "1:echobot.sh: $T/nojid.conf: no jid, and none given" "no jid: said so"
is "$(cat "$T/connections" 2>/dev/null)" "" "bad files: no connection attempted"
