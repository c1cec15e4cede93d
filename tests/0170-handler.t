#!/bin/sh
# xmpp-echo -x: a handler of a few lines of sh answers through Prosody;
# hostile text comes back exact, and a handler's junk is refused line
# by line, with nothing of it sent, while iqs and the session carry on.
. "$(dirname "$0")/lib.sh"
plan 29

# xbot NAME ARGS...: echobot.sh ... bot@localhost ARGS (xmpp-echo's
# options after the JID), stderr in $T/NAME.err; BOT_PID
xbot() {
	_n=$1
	shift
	spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -n 1 -t plain \
	    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost "$@" \
	    2>>"$T/$_n.err" </dev/null
	BOT_PID=$spawned
}

echobot_setup

# --- a sh handler: each message record back to its sender, as it came
cat >"$T/back.sh" <<'EOF'
tab=$(printf '\t')
while IFS= read -r line; do
	printf '%s\n' "$line" | sed -e "s/${tab}@to=[^${tab}]*//" \
	    -e "s/${tab}@id=[^${tab}]*//" -e "s/${tab}@from=/${tab}@to=/"
done
EOF
xbot back -x "sh $T/back.sh"
$PY - >"$T/send" <<'EOF'
import json
for b in ["<b>markup</b> & 'quotes' \"too\" <![CDATA[x]]>", "a ]]> b",
          "one\ntwo\n\nthree", "tab\there\t", "emoji \U0001F600 \u00e9t\u00e9"]:
    print(json.dumps(b))
EOF
alice --no-tls --send "$T/send" --expect 5 >"$T/got"
is "$?:$(jfield body "$T/got")" "0:$(jnorm "$T/send")" \
    "hostile text through the sh handler comes back exact"
# seccomp NAME PID: the Seccomp mode of PID, 2 for a filter
seccomp() { sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$1/status"; }
epid=$(pgrep -s "$BOT_PID" -x xmpp-echo | head -n 1)
spid=$(pgrep -P "$epid" -x xmpp-echo)
hpid=$(pgrep -P "$spid" -x sh)
if sanitized "$TOP/xmpp-echo/xmpp-echo"; then
	skip "xmpp-echo confined" "sanitizer build: no sandbox"
else
	is "$(seccomp "$epid")" 2 "xmpp-echo confined by its seccomp filter"
fi
is "$(seccomp "$spid"):$(seccomp "$hpid")" 0:0 \
    "its supervisor and the handler unconfined"
# (the shell may keep its script open: a file, not a pipe or socket)
is "$(for fd in /proc/$hpid/fd/*; do
	case $fd in */[012]) continue ;; esac
	readlink "$fd"; done | grep -c -e pipe -e socket)" 0 \
    "the handler has no pipe or socket but its stdin, stdout and stderr"
stop "$BOT_PID"

# --- a handler that answers each message with junk, then a reply
tab=$(printf '\t')
{
	echo 'garbage'
	printf 'message\txmlns=jabber:client\t@to=alice@localhost\t-\001\n'
	printf 'stream:stream\txmlns=http://etherx.jabber.org/streams\t'
	printf '@to=localhost\t@version=1.0\n'
	echo '/stream:stream'
	printf 'auth\txmlns=urn:ietf:params:xml:ns:xmpp-sasl\t'
	printf '@mechanism=PLAIN\t-AGJvdABwdw==\n'
	printf 'starttls\txmlns=urn:ietf:params:xml:ns:xmpp-tls\n'
	printf 'iq\txmlns=jabber:client\t@type=set\t@to=localhost\t'
	printf '(bind\txmlns=urn:ietf:params:xml:ns:xmpp-bind\t'
	printf '(resource\t-evil\t)\t)\n'
	printf 'message\txmlns=jabber:client\t@type=chat\t(body\t-no to\t)\n'
	printf 'message\txmlns=jabber:client\t@to=alice@localhost\t'
	printf '(body\t-unclosed\n'
	printf 'message\txmlns=jabber:client\t@to=alice@localhost\t)\t)\n'
	printf 'message\txmlns=jabber:client\t@to=alice@localhost\t'
	printf '(body><evil\t-x\t)\n'
	printf 'message\txmlns=jabber:client\t@to=alice@localhost\t'
	printf '@to=bob@localhost\t(body\t-twice\t)\n'
	printf 'message\txmlns=jabber:client\t@to=alice@localhost\t'
	printf '(body\t-nul \\x00 and \\x01\t)\n'
	printf 'message\txmlns=jabber:client\t@to=alice@localhost\t'
	printf '@from=carol@localhost\t(body\t-forged\t)\n'
	printf 'presence\txmlns=jabber:client\t@type=unavailable\n'
	printf 'message\txmlns=jabber:client\t@to=alice@localhost\t(body\t-'
	head -c 10000000 /dev/zero | tr '\0' a
	printf '\t)\n'
} >"$T/junk"
njunk=$(wc -l <"$T/junk")
cat >"$T/junk.sh" <<'EOF'
while IFS= read -r line; do
	from=$(printf '%s\n' "$line" | tr '\t' '\n' | sed -n 's/^@from=//p')
	cat "$T/junk"
	printf 'message\txmlns=jabber:client\t@to=%s\t@type=chat\t' "$from"
	printf '(body\t-ok after the junk\t)\n'
done
EOF
xbot junk -v -x "sh $T/junk.sh"
echo '"junk please"' >"$T/send"
alice --no-tls --send "$T/send" --expect 1 --ping >"$T/got"
is "$?:$(jfield body "$T/got" | grep -v null)" '0:"ok after the junk"' \
    "after $njunk lines of junk, the handler's reply goes out"
is "$(jfield ping "$T/got" | grep -v null)" '"pong"' \
    "the bot answers a ping after the junk"
grep 'handler line [0-9]* refused' "$T/junk.err" | cut -c 1-200 >"$T/refused"
is "$(wc -l <"$T/refused")" "$njunk" "every junk line refused, one line each"
for why in \
    '1 refused: garbage is no stanza' \
    '2 refused: not a record: raw control byte' \
    '3 refused: stream:stream is no stanza' \
    '4 refused: /stream:stream is no stanza' \
    '5 refused: auth is no stanza' \
    '6 refused: starttls is no stanza' \
    '7 refused: iq: resource binding' \
    "8 refused: message: a message or iq needs a 'to'" \
    '9 refused: not a record: unclosed element' \
    '10 refused: not a record: unbalanced )' \
    '11 refused: message: an element name that is not an XML name' \
    '12 refused: message: an attribute given twice' \
    '13 refused: message: text that is not UTF-8 of XML characters' \
    "14 refused: message: 'from' is the server's to set" \
    '15 refused: presence: an unavailable presence to all' \
    '16 refused: longer than 131072 bytes' \
    ; do
	check "line $why" grep -q "line $why" "$T/refused"
done
# The trace (-v): what went to the server.
stop "$BOT_PID"
grep '^> ' "$T/junk.err" | cut -c 1-60 >"$T/sent"
is "$(grep -c '^> <auth ' "$T/sent"):$(grep -c '<bind' "$T/sent")" 1:1 \
    "one auth, one bind: the login's own"
is "$(grep -c '^> <stream:stream ' "$T/sent")" 2 \
    "two stream headers: the login's own"
is "$(grep -c '^> <message' "$T/sent")" 1 "one message sent: the reply"
is "$(grep -c '^> </stream:stream>' "$T/sent")" 1 \
    "one stream end: the bot's own, at SIGTERM"
check "no starttls, no unavailable presence but the last" \
    test "$(grep -c -e starttls -e unavailable "$T/sent")" -le 1
check "no sanitizer report, no crash" \
    sh -c '! grep -q -e "runtime error" -e Sanitizer -e "core dumped" "$T"/*.err'
