#!/bin/sh
# xmpp-parse confines itself with seccomp once started (-X: it does not),
# and still does all of its job, errors included, inside the filter.
. "${TOP:=$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
P=${XMPP_PARSE:-$TOP/xmpp-parse/xmpp-parse}
H="<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
trap '' PIPE
plan 11

# watch NAME HOW ARGS...: xmpp-parse ARGS reading a fifo (HOW: "file" as
# its argument, "stdin" redirected); once the stream header's record is
# out, start-up is over: its Seccomp mode in seccomp, then the stream
# ends and its exit status is in rc.
watch() {
	_w=$1 _how=$2
	shift 2
	mkfifo "$T/$_w.in"
	if [ "$_how" = file ]; then
		spawn "$P" "$@" "$T/$_w.in" >"$T/$_w.out" 2>"$T/$_w.err"
	else
		spawn sh -c 'exec "$@" <"$0"' "$T/$_w.in" "$P" "$@" \
		    >"$T/$_w.out" 2>"$T/$_w.err"
	fi
	_pid=$spawned
	exec 3>"$T/$_w.in"
	printf '%s' "$H" >&3
	wait_file_grep "$T/$_w.out" '^stream:stream' 10 ||
	    diag "$_w: no stream header record"
	seccomp=$(sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$_pid/status")
	printf '<message><body>hi</body></message></stream:stream>' >&3
	exec 3>&-
	ended "$_pid" 10
	rc=$?
}

# modes NAME WANT DESC: the Seccomp mode seen, unless a sanitizer build
# (it runs unconfined, see common/sandbox.h)
mode() {
	if [ -n "${XMPP_PARSE:-}" ]; then
		skip "$3" "sanitizer build"
	else
		is "$seccomp" "$2" "$3"
	fi
}
watch confined file
mode confined 2 "file argument: confined by a seccomp filter (mode 2)"
watch stdin stdin
mode stdin 2 "stdin: confined by a seccomp filter (mode 2)"
watch debug file -X
mode debug 0 "-X: not confined (mode 0)"
is "$rc:$(cut -f 1 "$T/debug.out" | tr '\n' ' ')" \
    "0:stream:stream message /stream:stream " "-X: the records, exit 0"
is "$(cut -f 1 "$T/confined.out" | tr '\n' ' ')" \
    "stream:stream message /stream:stream " "confined: the records"
watch again file
is "$rc:$(cat "$T/again.err")" 0: "confined: exit 0, nothing on stderr"

# Errors happen inside the filter: they must end in their exit status
# and message, not in SIGSYS (status 159).
printf '%s<message><!-- x --></message>' "$H" >"$T/bad"
"$P" "$T/bad" >"$T/bad.out" 2>"$T/bad.err"
is "$?:$(cat "$T/bad.err")" "2:xmpp-parse: offset $((${#H} + 9)): comment forbidden" \
    "malformed input: exit 2 and its message"
printf '%s' "$H" >"$T/cut"
"$P" "$T/cut" >/dev/null 2>"$T/cut.err"
is "$?" 3 "truncated input: exit 3"
if [ -w /dev/full ]; then
	"$P" "$TOP/tests/parse/prosody.xml" >/dev/full 2>"$T/full.err"
	is "$?:$(cat "$T/full.err")" \
	    "1:xmpp-parse: write: No space left on device" \
	    "a failed write: exit 1, errno's message"
else
	skip "a failed write: exit 1" "no /dev/full"
fi
printf 'xmpp-capture 1\n1.000000 < x\n' >"$T/badcap"
"$P" "$T/badcap" >/dev/null 2>&1
is "$?" 1 "a bad capture: exit 1"
"$P" -c -s 100 "$TOP/tests/parse/prosody.xml" >"$T/c.out" 2>"$T/c.err"
is "$?:$(wc -c <"$T/c.out"):$(cut -d : -f 1 "$T/c.err")" "2:0:xmpp-parse" \
    "-c: exit 2, nothing on stdout, the error on stderr"
