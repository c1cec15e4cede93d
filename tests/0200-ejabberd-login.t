#!/bin/sh
# echobot.sh against a second real server, a private ejabberd: SASL with
# SCRAM-SHA-512 (ejabberd offers it, and SHA-256 and the -PLUS variants
# over TLS, which Prosody 0.12 does not), SCRAM-SHA-256, SCRAM-SHA-1 and
# PLAIN forced with -m, STARTTLS and direct TLS (XEP-0368) with a throwaway
# certificate, a listener that requires STARTTLS, a user name that SCRAM
# escapes, a wrong password.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/ejabberd.sh"
ejabberd_require
plan 31

command -v stunnel >/dev/null || bail "stunnel not installed"
ejabberd_setup
echo '"ping"' >"$T/ping"

# botmech N: the mechanism of the bot's login after the Nth, once
# ejabberd has logged it (within 10 s)
botmech() {
	_n=100
	while [ "$(grep -c "Accepted c2s .* for bot@localhost" \
	    "$EDIR/log/ejabberd.log")" -le "$1" ] && [ $_n -gt 0 ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	grep "Accepted c2s .* authentication for bot@localhost" \
	    "$EDIR/log/ejabberd.log" | sed -n "$(($1 + 1))p" |
	    sed 's/.*Accepted c2s \([^ ]*\) .*/\1/'
}

# login DESC WANT ARGS...: echobot.sh ARGS logs in with mechanism WANT
# and echoes alice's ping; the password shows up in no argv.
login() {
	_d=$1 _w=$2
	shift 2
	: >"$T/bot.err"
	_before=$(grep -c "Accepted c2s .* for bot@localhost" \
	    "$EDIR/log/ejabberd.log")
	bot_start -v -n 1 "$@" -p "$T/bot.pass"
	alice --tls-ca "$CA_FILE" --send "$T/ping" --expect 1 \
	    --timeout 30 >"$T/got"
	is "$?:$(jfield body "$T/got")" '0:"ping"' "$_d: login and echo" ||
	    diag "$(grep -v '^[<>] ' "$T/bot.err" | tail -n 8)"
	is "$(botmech "$_before")" "$_w" "$_d: ejabberd saw the bot use $_w"
	check "$_d: no password in any argv" sh -c \
	    '! grep -qaF -f "$1" /proc/[0-9]*/cmdline 2>/dev/null' sh \
	    "$T/bot.pass"
	stop "$BOT_PID"
}

plain="-t plain -s 127.0.0.1:$C2S_PORT"
login "default" SCRAM-SHA-512 $plain
login "-m SCRAM-SHA-256" SCRAM-SHA-256 $plain -m SCRAM-SHA-256
login "-m SCRAM-SHA-1" SCRAM-SHA-1 $plain -m SCRAM-SHA-1
login "-m PLAIN" PLAIN $plain -m PLAIN
b64=$(printf '\0bot\0%s' "$BOT_PW" | base64 | tr -d '\n')
check "-m PLAIN: no password in the trace" sh -c \
    '! grep -qF -e "$1" -e "$2" "$3"' sh "$BOT_PW" "$b64" "$T/bot.err"

# Over TLS ejabberd offers the -PLUS variants too; TLS lives in
# stunnel, so there is no channel binding: never picked.
login "-t starttls" SCRAM-SHA-512 -t starttls -C "$CA_FILE" \
    -s "127.0.0.1:$C2S_PORT"
check "-t starttls: -PLUS offered, and passed over" \
    grep -q "(mechanism	-SCRAM-SHA-512-PLUS	)" "$T/bot.err"
login "-t direct" SCRAM-SHA-512 -t direct -C "$CA_FILE" \
    -s "127.0.0.1:$DIRECT_PORT"
login "STARTTLS required" SCRAM-SHA-512 -t starttls -C "$CA_FILE" \
    -s "127.0.0.1:$EJ_REQ_PORT"

# A user name with '=' and ',', which SCRAM escapes (RFC 5802 section
# 5.1) and PLAIN does not: ejabberd must find the account either way.
ODD_PW=$(randpw)
ejabberd_accounts "o=d,d" "$ODD_PW" || bail "ejabberdctl import_piefxis failed"
(umask 077 && printf '%s\n' "$ODD_PW" >"$T/odd.pass")
for m in SCRAM-SHA-512 SCRAM-SHA-256 SCRAM-SHA-1 PLAIN; do
	: >"$T/odd.err"
	spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -n 1 $plain -m $m \
	    -p "$T/odd.pass" "o=d,d@localhost" 2>>"$T/odd.err" </dev/null
	wait_file_grep "$T/odd.err" "xmpp-echo: online" 20
	check "o=d,d@localhost: $m login" wait_file_grep \
	    "$EDIR/log/ejabberd.log" \
	    "Accepted c2s $m authentication for o=d,d@localhost" 10
	stop "$spawned"
done

# -t plain to the listener that requires STARTTLS: ends at once, says
# why, no retry loop.
: >"$T/bot.err"
bot_start -t plain -s "127.0.0.1:$EJ_REQ_PORT" -p "$T/bot.pass"
ended "$BOT_PID" 30
is "$?" 2 "-t plain where STARTTLS is required: exit status 2"
check "-t plain where STARTTLS is required: says so, no retry" sh -c \
    'grep -q "server offers no SASL before STARTTLS" "$1" &&
    ! grep -q "retrying in" "$1"' sh "$T/bot.err"

# A wrong password ends it at once: exit 2, no retry loop.
: >"$T/bot.err"
XMPP_PASSWORD=$(randpw)
export XMPP_PASSWORD
bot_start $plain
unset XMPP_PASSWORD
ended "$BOT_PID" 30
is "$?" 2 "wrong password: exit status 2"
check "wrong password: authentication failed, not-authorized, no retry" \
    sh -c 'grep -q "authentication failed" "$1" &&
    grep -q not-authorized "$1" && ! grep -q "retrying in" "$1"' sh \
    "$T/bot.err"
