#!/bin/sh
# Stream management across sessions (echobot.sh gives xmpp-echo -S):
# alice sends 500 messages; after the first 250 are echoed, the link is
# cut (xmpp-connect killed) while the rest are on their way to the bot,
# some of them echoed into the dead link.  The next session resumes the
# old one, and every message is echoed exactly once.  A resumption the
# server refuses (it was restarted) falls back to a new session.
#
# The cut comes between two stanzas of ours: Prosody 0.12 parses the
# resumed connection with the old connection's parser, so a stanza of
# ours cut in two there makes the resumed stream not-well-formed (see
# xmpp-echo(1), Stream management).
. "$(dirname "$0")/lib.sh"
plan 11

sm_setup
sm_bot_start -b 1000
check "the state file is private, in the launcher's directory" \
    test "$(stat -c %a "$T"/tmp/echobot.*/sm "$T"/tmp/echobot.*)" = \
    "600
700"

# alice stays online through the cut: one client, two batches.
sm_cut_alice r
sm_cut

ended "$ALICE" 150
is "$?" 0 "alice got 500 echoes"
check "session 2 resumed the first" \
    wait_file_grep "$T/bot.err" "^< resumed" 1
check "without binding a resource again" \
    test "$(grep -c "^> <iq type='set' id='[^']*'><bind" "$T/bot.err")" -eq 1
cat "$T/got1" "$T/got2" >"$T/got"
jfield body "$T/got" | sort >"$T/bodies"
is "$(wc -l <"$T/bodies")" 500 "500 echoes"
is "$(uniq -d "$T/bodies" | head -n 5 | tr '\n' ' ')" "" "none echoed twice"
is "$(jnorm "$T/send" | sort | comm -23 - "$T/bodies" | head -n 5 |
    tr '\n' ' ')" "" "none missing"
before=$(sed -n '/session 2:/q;/^> <message/p' "$T/bot.err" | wc -l)
after=$(sed -n '/session 2:/,$p' "$T/bot.err" | grep -c '^< message')
check "cut in the middle: $before echoed before, $after sent again after" \
    test "$before" -ge 250 -a "$before" -lt 500 -a "$after" -gt 0

# The server restarted: the session it kept is gone, the resumption
# fails, a new session echoes.
prosody_stop
prosody_start || bail "prosody did not start again"
check "resumption refused" \
    wait_file_grep "$T/bot.err" "resumption failed (item-not-found)" 30
check "a new session: a resource bound" test "$(grep -c \
    "^> <iq type='set' id='[^']*'><bind" "$T/bot.err")" -eq 2
alice_ping "the new session echoes" --no-tls --timeout 60
