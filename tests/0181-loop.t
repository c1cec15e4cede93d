#!/bin/sh
# The loop guard with many messages in flight: two bots pointed at each
# other with 20 messages started stop within two rounds.  A person's
# same text again is echoed: the second of three in a row is taken for
# an echo come back, and one sent past the window of 10 s is echoed.
. "$(dirname "$0")/lib.sh"
plan 8

echobot_setup
bot_pair

# b's side of the stream gets 20 messages to a, as if b had written
# them, in one write (under PIPE_BUF: not mixed with b's own output).
i=1 msgs=
while [ $i -le 20 ]; do
	msgs="$msgs<message to='a@localhost/echo' type='chat' id='x$i'><body>in flight $i</body></message>"
	i=$((i + 1))
done
printf '%s' "$msgs" >"$T/b.fifo"

# Until a has dropped its 20 echoes come back, or 30 s.
n=300
while [ $n -gt 0 ]; do
	set -- $(counters a)
	[ "${4:-0}" -ge 20 ] && break
	sleep 0.1
	n=$((n - 1))
done
check "two bots: a saw its 20 echoes come back" test $n -gt 0
a=$(counters a) b=$(counters b)
set -- $a
a_echoed=$1 a_loop=$4
set -- $b
is "$a_echoed $1" "20 20" "two bots, 20 in flight: each echoed 20, once"
is "$a_loop $4" "20 0" "two bots: a dropped the 20 echoes of its echoes"
is "$(grep -c '^< message' "$T/a.err") $(grep -c '^< message' "$T/b.err")" \
    "40 20" "two bots: a got 20 and their echoes, b a's 20 echoes"
diag "a: $a" "b: $b"

# A person, alice, to a.
PC() {
	alice --no-tls --no-wait --to a@localhost/echo "$@"
}
printf '"ok"\n"ok"\n"ok"\n"marker"\n' >"$T/oks"
PC --send "$T/oks" --expect 3 --timeout 30 >"$T/got"
is "$?" 0 "alice: three answers"
is "$(jfield body "$T/got" | tr '\n' ' ')" '"ok" "ok" "marker" ' \
    "alice's ok three times in a row: the second taken for a loop"
# Time itself is what is tested: the window of 10 s must pass.
sleep 11
echo '"ok"' >"$T/ok"
PC --send "$T/ok" --expect 1 --timeout 30 >"$T/got2"
is "$?:$(jfield body "$T/got2")" '0:"ok"' \
    "alice's ok again past the window: echoed"
set -- $(counters a)
is "$4" 21 "a's counters: one more loop drop, alice's second ok"
