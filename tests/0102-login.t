#!/bin/sh
# SASL: SCRAM-SHA-1, PLAIN, SCRAM-SHA-256 when offered, a wrong password.
. "$(dirname "$0")/lib.sh"
plan 18

echobot_setup
echo '"ping"' >"$T/ping"
plain="-t plain -s 127.0.0.1:$C2S_PORT"

# mechs: the SASL mechanisms the server offers, one a line
mechs() {
	$PY - "$C2S_PORT" <<-'END'
	import re, socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
	s.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' "
	          b"version='1.0' xmlns='jabber:client' "
	          b"xmlns:stream='http://etherx.jabber.org/streams'>")
	data = b""
	while b"</stream:features>" not in data:
	    chunk = s.recv(4096)
	    if not chunk:
	        break
	    data += chunk
	for m in re.findall(rb"<mechanism>([^<]*)</mechanism>", data):
	    print(m.decode())
	END
}

# botmech: the mechanism of the bot's last login, from the server's log
botmech() {
	awk '/Received\[c2s_unauthed\]: <auth / {
		m = $0; sub(/.*mechanism=./, "", m); sub(/[^A-Z0-9-].*/, "", m)
		last[$4] = m
	}
	/Authenticated as bot@localhost/ { mech = last[$4] }
	END { print mech }' "$PDIR/prosody.log"
}

# login MECH [ARGS]: the bot logs in with MECH and echoes
login() {
	_m=$1
	shift
	: >"$T/bot.err"
	bot_start -n 1 $plain -m "$_m" -p "$T/bot.pass" "$@"
	alice --no-tls --send "$T/ping" --expect 1 --timeout 30 >"$T/got"
	is "$?:$(jfield body "$T/got")" '0:"ping"' "$_m: login and echo"
	is "$(botmech)" "$_m" "$_m: the server saw the bot use $_m"
	check "$_m: no password in any argv" sh -c \
	    '! grep -qaF -f "$1" /proc/[0-9]*/cmdline 2>/dev/null' sh \
	    "$T/bot.pass"
	stop "$BOT_PID"
}

login SCRAM-SHA-1
login PLAIN -P -v
b64=$(printf '\0bot\0%s' "$BOT_PW" | base64 | tr -d '\n')
check "PLAIN: no password in the trace" sh -c \
    '! grep -qF -e "$1" -e "$2" "$3"' sh "$BOT_PW" "$b64" "$T/bot.err"

if mechs | grep -qx SCRAM-SHA-256; then
	login SCRAM-SHA-256
else
	skip "SCRAM-SHA-256: login and echo" "not offered by this server"
	skip "SCRAM-SHA-256: mechanism" "not offered by this server"
	skip "SCRAM-SHA-256: argv" "not offered by this server"
fi

# A wrong password ends it at once: exit 2, no retry loop, and the
# password given through the environment shows up nowhere.
: >"$T/bot.err"
bad=$(randpw)
XMPP_PASSWORD=$bad
export XMPP_PASSWORD
bot_start $plain -v
unset XMPP_PASSWORD
ended "$BOT_PID" 30
st=$?
check "wrong password: echobot.sh stops" test "$st" -ne 255
is "$st" 2 "wrong password: exit status 2" ||
    diag "$(grep -v '^[<>] ' "$T/bot.err" | head -n 8)"
check "wrong password: says authentication failed, not-authorized" sh -c \
    'grep -q "authentication failed" "$1" && grep -q not-authorized "$1"' \
    sh "$T/bot.err"
check "wrong password: no retry, not in the trace" sh -c \
    '! grep -q -e "retrying in" -e "$2" "$1"' sh "$T/bot.err" "$bad"

# No -p, no XMPP_PASSWORD, a terminal: asked for once, not echoed; a
# reconnect does not ask again.
cat >"$T/onatty.py" <<-'END'
import os, pty, sys, time
out, passfile, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
open(out + ".pid", "w").write("%d\n" % pid)
seen, end = b"", time.time() + 20
with open(out, "wb", buffering=0) as f:
    while True:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        f.write(d)
        seen += d
        if b"password for" in seen and time.time() < end:
            os.write(fd, open(passfile, "rb").read())
            seen, end = b"", 0
END
spawn $PY "$T/onatty.py" "$T/tty.out" "$T/bot.pass" \
    env TMPDIR="$T/tmp" "$TOP/echobot.sh" $plain bot@localhost
wait_file_grep "$T/tty.out.pid" . 10 || bail "onatty.py did not start"
tpid=$(cat "$T/tty.out.pid")
alice --no-tls --send "$T/ping" --expect 1 --timeout 30 >"$T/got"
is "$?:$(jfield body "$T/got")" '0:"ping"' "terminal: password asked, login"
cpid=$(pgrep -s "$tpid" -x xmpp-connect)
[ -n "$cpid" ] && kill -TERM "$cpid"
wait_file_grep "$T/tty.out" "session 2:" 30
alice --no-tls --send "$T/ping" --expect 1 --timeout 30 >"$T/got"
is "$?:$(jfield body "$T/got")" '0:"ping"' "terminal: login again after a reconnect"
is "$(grep -c "password for" "$T/tty.out")" 1 "terminal: asked once"
check "terminal: the password was not echoed" sh -c \
    '! grep -qF -f "$1" "$2"' sh "$T/bot.pass" "$T/tty.out"
kill -TERM "$tpid"
