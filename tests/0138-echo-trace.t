#!/bin/sh
# xmpp-echo -v writes a trace line in a few write(2)s, not a byte each.
. "$(dirname "$0")/lib.sh"
plan 5

BOT=$TOP/xmpp-echo/xmpp-echo
[ -x "$BOT" ] || bail "$BOT not built (make xmpp-echo/xmpp-echo)"
S=http://etherx.jabber.org/streams

# A stream header of 1 MB, its last attribute a marker.
$PY -c 'import sys
sys.stdout.write("stream:stream\txmlns=%s\t@version=1.0\t@x=%s\t@end=MARK\n"
                 % (sys.argv[1], "A" * 1000000))' $S >"$T/big.rec"
mkfifo "$T/in"
spawn sh -c 'exec env XMPP_PASSWORD=pw "$0" -v -P bot@localhost <"$T/in" \
    >"$T/out" 2>"$T/err"' "$BOT"
bpid=$spawned
exec 3>"$T/in"
cat "$T/big.rec" >&3
wait_file_grep "$T/err" "end=MARK$" 20
w=$(sed -n 's/^syscw: //p' "/proc/$bpid/io")
# the header and its trace, then the record's trace in pieces of 256 KiB
check "a 1 MB record traced in a few writes: ${w:-?}" \
    test "${w:-1000000}" -le 10
exec 3>&-
ended "$bpid" 10
is "$?" 5 "then the end of input: exit 5"
is "$(grep -c '^< stream:stream' "$T/err")" 1 "the record is one line"
grep '^< ' "$T/err" | cut -c 3- >"$T/traced"
check "the record traced whole" cmp -s "$T/big.rec" "$T/traced"

# A bad record is traced before the bot gives up: a raw control byte
# shows as \xHH, a TAB as itself.
printf 'stream:stream\txmlns=%s\t\001x\n' $S |
    XMPP_PASSWORD=pw "$BOT" -v -P bot@localhost >/dev/null 2>"$T/bad.err"
is "$(grep '^< ' "$T/bad.err")" "< stream:stream	xmlns=$S	\\x01x" \
    "a control byte shown as \\xHH, a TAB kept"
