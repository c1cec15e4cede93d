#!/bin/sh
# Stream management with a handler bot (-x examples/echo.sh): as in
# 0186, alice sends 500 messages and the link is cut (xmpp-connect
# killed) while the second half is on its way.  A message is counted
# only once the handler has read it, and at the cut the handler's
# answers to what it read are kept for the next session: every message
# is answered exactly once.
. "$(dirname "$0")/lib.sh"
plan 6

sm_setup
sm_bot_start -b 1000 -O 100000 -x "sh $TOP/examples/echo.sh"

sm_cut_alice h
# The cut, as in 0186.
sm_cut

ended "$ALICE" 150
is "$?" 0 "alice got 500 answers"
check "session 2 resumed the first" \
    wait_file_grep "$T/bot.err" "^< resumed" 1
cat "$T/got1" "$T/got2" >"$T/got"
jfield body "$T/got" | sort >"$T/bodies"
is "$(wc -l <"$T/bodies")" 500 "500 answers"
is "$(uniq -d "$T/bodies" | head -n 5 | tr '\n' ' ')" "" "none answered twice"
is "$(jnorm "$T/send" | sort | comm -23 - "$T/bodies" | head -n 5 |
    tr '\n' ' ')" "" "none missing"
before=$(sed -n '/session 2:/q;/^> <message/p' "$T/bot.err" | wc -l)
after=$(sed -n '/session 2:/,$p' "$T/bot.err" | grep -c '^< message')
check "cut in the middle: $before answered before, $after sent again after" \
    test "$before" -ge 250 -a "$before" -lt 500 -a "$after" -gt 0
