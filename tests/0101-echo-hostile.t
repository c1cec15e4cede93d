#!/bin/sh
# Bodies come back byte for byte; what is not a chat message stays
# unanswered.
. "$(dirname "$0")/lib.sh"
plan 5

echobot_setup
bot_start -n 1 -t plain -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"

# Sent to the bot's full JID so that Prosody delivers every type.
cat >"$T/quiet" <<-'END'
{"type": "chat", "body": null}
{"type": "normal", "body": null, "thread": "t1"}
{"type": "error", "body": "an error"}
{"type": "groupchat", "body": "a groupchat"}
{"type": "headline", "body": "a headline"}
"marker"
END
alice --no-tls --full-jid --send "$T/quiet" --expect 1 --timeout 30 \
    >"$T/got1"
is "$?" 0 "an echo came"
is "$(jfield body "$T/got1")" '"marker"' \
    "the marker is the first echo: bodyless, error, groupchat, headline ignored"
n=$(grep 'Sending\[c2s\]: <message ' "$PDIR/prosody.log" |
    grep "to='bot@localhost/" |
    grep -c -e "type='error'" -e "type='groupchat'" -e "type='headline'")
is "$n" 3 "the server did hand error, groupchat and headline to the bot"

$PY - >"$T/hostile" <<-'END'
import json
bodies = ["<", "&", "\"'", "]]>", "&amp; &#60; &lt;",
          "</body></message><message to='x'><body>x</body></message>",
          "line 1\nline 2\n\ttabbed", "  spaced  ", "\\t \\n \\x01",
          "emoji \U0001F600\U0001F44D\u200d, RTL \u05e9\u05dc\u05d5\u05dd "
          "\u0645\u0631\u062d\u0628\u0627 \u202e",
          # 40 KB, 104 KB escaped: under the 128 KiB of -L
          "".join("%05d<&>\n" % i for i in range(40 * 1024 // 9))]
for b in bodies:
    print(json.dumps(b))
END
n=$(wc -l <"$T/hostile")
alice --no-tls --send "$T/hostile" --expect "$n" --timeout 60 >"$T/got2"
is "$?" 0 "$n hostile bodies echoed"
is "$(jfield body "$T/got2")" "$(jnorm "$T/hostile")" "byte for byte"
