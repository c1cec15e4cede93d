#!/bin/sh
# The example bots of examples/ on records fed on stdin: each answers
# while its input stays open, hostile text comes back exact, and what
# asks for no answer (errors, groupchat, no body, junk) gets none.
. "$(dirname "$0")/lib.sh"

enc() { $PY "$TOP/tests/records.py" encode; }
dec() { $PY "$TOP/tests/records.py" decode; }

# The awks here: mawk needs -W interactive (examples/ping.awk says why).
AWKS=
for a in mawk gawk original-awk busybox; do
	command -v $a >/dev/null 2>&1 || continue
	case $a in
	mawk) AWKS="$AWKS|mawk -W interactive -f" ;;
	busybox) busybox awk 'BEGIN {}' 2>/dev/null &&
	    AWKS="$AWKS|busybox awk -f" ;;
	*) AWKS="$AWKS|$a -f" ;;
	esac
done
[ -z "$AWKS" ] && AWKS="|awk -f"
{
	printf '%s\n' "${AWKS#|}" | tr '|' '\n' |
	    sed "s,\$, $TOP/examples/ping.awk,"
	echo "sh $TOP/examples/echo.sh"
	echo "$PY $TOP/examples/rot13.py"
} >"$T/bots"
plan $(($(wc -l <"$T/bots") * 4))

$PY - >"$T/hostile" <<-'END'
import json
bodies = ["ping", "<b>bold</b>", "]]>", "&amp; &#60; &lt;", "\"'",
          "</body></message><message to='x'><body>x</body></message>",
          "line 1\nline 2\n\ttabbed\r\n", "\\t \\n \\x01 \\\\", "\\",
          "  spaced  ", "*", "-", "(body", ")",
          "emoji \U0001F600\U0001F44D\u200d, RTL \u05e9\u05dc\u05d5\u05dd \u202e",
          "message\txmlns=jabber:client\t@to=eve@localhost\t(body\t-forged\t)"]
for b in bodies:
    print(json.dumps(b))
END
enc <"$T/hostile" >"$T/in"
# want BOT FILE: the bodies BOT should answer to those of FILE with
want() {
	case $1 in
	*ping.awk) jnorm "$2" | sed 's/^"ping"$/"pong"/' ;;
	*echo.sh) jnorm "$2" ;;
	*rot13.py) $PY -c 'import codecs, json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    print(json.dumps(codecs.encode(json.loads(l), "rot13"), ensure_ascii=False))' \
	    "$2" ;;
	esac
}

# Not to be answered, then junk, then one to answer.
cat >"$T/quiet.json" <<-'END'
{"type": "error", "body": "e"}
{"type": "groupchat", "body": "g"}
{"type": "headline", "body": "h"}
{"body": null}
{"from": null, "body": "nobody sent this"}
END
{
	enc <"$T/quiet.json"
	printf 'stream:stream\txmlns=http://etherx.jabber.org/streams\n'
	printf 'iq\txmlns=jabber:client\t@from=a@b/c\t@type=get\t@id=1\n'
	printf 'junk\n\n'
	printf 'message\txmlns=jabber:client\t@from=a@b/c\t(x\t(body\t-deep\t)\t)\n'
	echo '{"type": "normal", "body": "last"}' | enc
} >"$T/quiet"

echo '"last"' >"$T/last"
mkfifo "$T/fifo"
while IFS= read -r bot; do
	name=$(echo "$bot" | sed "s,$TOP/,,g")
	timeout 30 $bot <"$T/in" >"$T/out" 2>"$T/err"
	is "$?:$(cat "$T/err")" "0:" "$name: exit 0, nothing on stderr"
	dec <"$T/out" >"$T/got"
	is "$(jfield body "$T/got")" "$(want "$bot" "$T/hostile")" \
	    "$name: hostile bodies exact, in order"
	timeout 30 $bot <"$T/quiet" 2>/dev/null | dec >"$T/got"
	is "$(jfield body "$T/got"):$(jfield type "$T/got")" \
	    "$(want "$bot" "$T/last"):\"normal\"" \
	    "$name: errors, groupchat, headline, bodyless, nested, junk: no answer"
	# Its input stays open: the answer must come all the same.
	rm -f "$T/live"
	spawn sh -c 'exec "$@" <"$T/fifo" >"$T/live"' sh $bot
	pid=$spawned
	exec 3>"$T/fifo"
	head -n 1 "$T/in" >&3
	wait_file_grep "$T/live" '(body' 10
	is "$(dec <"$T/live" | jfield body /dev/stdin)" \
	    "$(want "$bot" "$T/hostile" | sed -n 1p)" \
	    "$name: answers while its input is open"
	exec 3>&-
	stop "$pid"
done <"$T/bots"
