#!/bin/sh
# The manual: every page lint-clean; make install and uninstall under a
# DESTDIR; every tool's -h and -V, and its usage against its page's
# SYNOPSIS; the EXAMPLES that need no server, taken from the pages and
# the README, run and print something.
. "$(dirname "$0")/lib.sh"

TOOLS="xmpp-connect/xmpp-connect xmpp-parse/xmpp-parse xmpp-echo/xmpp-echo
xmpp-run/xmpp-run echobot.sh"
PAGES=$(cd "$TOP" && ls man/*.[157])

# letters FILE: the option letters of a usage line, sorted; mletters
# FILE: those of an mdoc SYNOPSIS
letters() {
	grep -o '\[-[A-Za-z][A-Za-z]*' "$1" | sed 's/^\[-//' | fold -w 1 |
	    sort | tr -d '\n'
}
mletters() {
	grep -o '^\.Op Fl [A-Za-z][A-Za-z]*' "$1" | sed 's/^\.Op Fl //' |
	    fold -w 1 | sort | tr -d '\n'
}

# examples FILE: the example blocks of a page (.Dl lines, .Bd -literal
# blocks of its EXAMPLES) or of the README (indented blocks after a
# line ending with a colon), one file each under $T/ex, the "$ "
# prompts and mdoc's escapes removed
examples() {
	awk -v out="$T/ex/$(basename "$1")" '
	function flush() { if (blk != "") print blk > (out "." ++n); blk = "" }
	/^\.Sh / { ex = ($2 == "EXAMPLES") }
	/^\.Dl \$ / && ex { flush(); blk = substr($0, 7) "\n"; flush(); next }
	/^\.Bd -literal/ && ex { lit = 1; next }
	/^\.Ed/ { lit = 0; flush(); next }
	lit { sub(/^\$ /, ""); blk = blk $0 "\n"; next }
	/^    / && md { blk = blk substr($0, 5) "\n"; next }
	/^$/ && md { flush(); next }
	/:$/ && FILENAME ~ /README/ { md = 1; next }
	{ md = 0 }
	END { flush() }' "$1"
	sed -i 's/\\e/\\/g' "$T/ex/$(basename "$1")".* 2>/dev/null
}

mkdir -p "$T/ex"
for p in $PAGES README.md; do
	examples "$TOP/$p"
done
# Runnable here: the examples of xmpp-parse, xmpp-echo and xmpp-run that need no
# server, no capture of a live session (session.cap, capture-*) and follow no file forever.  The
# stream files they name are a recorded Prosody stream, ended by a
# stream error.
sed 's,^</stream:stream>,<stream:error><system-shutdown xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>&,' \
    "$TOP/tests/parse/prosody.xml" >"$T/stream.xml"
RUN=
for f in "$T"/ex/*; do
	grep -q -e xmpp-parse -e xmpp-echo -e xmpp-run "$f" || continue
	grep -q -e xmpp-connect -e 'echobot\.sh' -e mkfifo -e kill -e make \
	    -e session.cap -e capture- -e 'tail .*-f' "$f" && continue
	sed -i "s,\\(stream\\|capture\\)\\.xml,$T/stream.xml,g" "$f"
	RUN="$RUN $f"
done

plan $(($(echo $PAGES | wc -w) * 2 + 3 + 5 * 3 + $(echo $RUN | wc -w)))

for p in $PAGES; do
	mandoc -Tlint -Wwarning "$TOP/$p" >"$T/lint" 2>&1
	is "$?:$(cat "$T/lint")" "0:" "mandoc -Tlint $p: clean"
done

make -s -C "$TOP" install DESTDIR="$T/inst" PREFIX=/usr >"$T/make" 2>&1
is "$?" 0 "make install DESTDIR PREFIX=/usr" || diag "$(cat "$T/make")"
left=
for t in $TOOLS; do
	test -x "$T/inst/usr/bin/${t##*/}" || left="$left ${t##*/}"
done
is "$left" "" "installed executable in /usr/bin"
for p in $PAGES; do
	s=${p##*.}
	f="$T/inst/usr/share/man/man$s/${p##*/}"
	mandoc -Tascii "$f" 2>&1 | col -b >"$T/page"
	check "installed $p renders" grep -q '^DESCRIPTION' "$T/page"
done
make -s -C "$TOP" uninstall DESTDIR="$T/inst" PREFIX=/usr >/dev/null 2>&1
is "$(find "$T/inst" -type f)" "" "make uninstall removes every file"

for t in $TOOLS; do
	n=${t##*/}
	"$TOP/$t" -h >"$T/usage" 2>&1
	st=$?
	is "$st:$(head -c 13 "$T/usage")" "0:$(printf '%.13s' "usage: $n")" \
	    "$n -h: the usage, exit 0"
	"$TOP/$t" -V >"$T/version" 2>&1
	is "$?:$(cat "$T/version")" "0:$n $(sed -n 's/^VERSION = //p' \
	    "$TOP/Makefile")" "$n -V: the version of the Makefile"
	sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/p' "$TOP/man/$n.1" \
	    >"$T/synopsis"
	is "$(letters "$T/usage")" "$(mletters "$T/synopsis")" \
	    "$n: usage and SYNOPSIS have the same options"
done

# The examples: each prints something, without a shell error; exit 0,
# but for xmpp-echo replaying a login, which exits 5 as its page says.
export PATH="$TOP/xmpp-parse:$TOP/xmpp-echo:$TOP/xmpp-run:$PATH"
for f in $RUN; do
	(cd "$TOP" && timeout 20 sh "$f") >"$T/out" 2>"$T/err" </dev/null
	st=$?
	[ "$st" -eq 5 ] && grep -q 'xmpp-echo' "$f" && st=0
	name="$(basename "$f"): $(head -n 1 "$f" | sed "s,$T/,," | cut -c 1-50)"
	if [ "$st" -eq 0 ] && [ -s "$T/out" ] &&
	    ! grep -q 'not found\|syntax error\|usage:' "$T/err"; then
		pass "example $name"
	else
		fail "example $name"
		diag "status $st" "$(head -n 5 "$T/out" "$T/err")"
	fi
done
