#!/bin/sh
# xmpp-echo never blocks on output: a server that stops reading ends the
# session within -t seconds, input waits meanwhile, and a slow reader
# still gets every byte.
. "$(dirname "$0")/lib.sh"
plan 9

BOT=$TOP/xmpp-echo/xmpp-echo
[ -x "$BOT" ] || bail "$BOT not built (make xmpp-echo/xmpp-echo)"

# echo_server (lib.sh): results in $T/NAME.rc, .out, .err, .notes
flood="-P -m PLAIN -r echo -b 1000000 -R 6000000"

# --- online, the server keeps sending but reads nothing more
echo_server stop stop-reading -- "$BOT" $flood -i 2 -t 2 bot@localhost
is "$(cat "$T/stop.rc")" 8 "a server that stops reading: exit 8, not a hang"
check "a server that stops reading: said so" \
    grep -qx "xmpp-echo: server took no output for 2 s" "$T/stop.err"
took=$(sed -n 's/^accepted //p' "$T/stop.notes")
check "input waits while output waits: ${took:-?} bytes taken" \
    test "${took:-0}" -gt 0 -a "${took:-0}" -lt 4194304
check "the counters are still the last word" \
    sh -c 'tail -n 1 "$1" | grep -q "^xmpp-echo: echoed [1-9]"' sh "$T/stop.err"

# --- a server that reads slowly: output waits, input with it, nothing lost
echo_server slow slow-reader -- "$BOT" $flood -t 5 bot@localhost
is "$(cat "$T/slow.rc")" 0 "a slow reader: no timeout while output moves"
is "$(grep echoes "$T/slow.notes")" "echoes 600" "a slow reader: every echo"
is "$(grep bodies "$T/slow.notes")" "bodies same" \
    "a slow reader: the bodies in order, byte for byte"

# --- one write(2) for all the answers to one read, on a pipe
S=http://etherx.jabber.org/streams
SA=urn:ietf:params:xml:ns:xmpp-sasl
{
	printf 'stream:stream\txmlns=%s\t@version=1.0\n' $S
	printf 'stream:features\txmlns=%s\t(mechanisms\txmlns=%s\t' $S $SA
	printf '(mechanism\t-PLAIN\t)\t)\n'
	printf 'success\txmlns=%s\n' $SA
	printf 'stream:stream\txmlns=%s\t@version=1.0\n' $S
	printf 'stream:features\txmlns=%s\t(bind\t' $S
	printf 'xmlns=urn:ietf:params:xml:ns:xmpp-bind\t)\n'
} >"$T/login.rec"
mkfifo "$T/in" "$T/pipe"
spawn sh -c 'exec cat <"$T/pipe" >"$T/one.out"'
spawn sh -c 'exec env XMPP_PASSWORD=pw "$0" -P bot@localhost <"$T/in" \
    >"$T/pipe" 2>"$T/one.err"' "$BOT"
bpid=$spawned
exec 3>"$T/in"
wait_file_grep "$T/one.out" "<stream:stream" 10
cat "$T/login.rec" >&3		# less than PIPE_BUF: one read
wait_file_grep "$T/one.out" "<bind " 10
is "$(sed -n 's/^syscw: //p' "/proc/$bpid/io")" 2 \
    "one write for the header, one for the answers to the records"
exec 3>&-
ended "$bpid" 10
is "$?" 5 "then the end of input: exit 5"
