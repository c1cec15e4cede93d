#!/bin/sh
# The README's awk example, taken from the README as people copy it:
# it decodes \n, \t and \\ in what it prints, leaves other control
# characters escaped, and takes a body only when its first item is text.
# The pages that suggest awk say that mawk reads and writes a pipe in
# blocks.
. "$(dirname "$0")/lib.sh"
plan 6

# The example: from its "| awk -F" line to the closing "}'".
awk '/^    xmpp-parse.*\| awk -F/ { f = 1 } f { print } f && /^    }'"'"'$/ { exit }' \
    "$TOP/README.md" | sed 's/^    //' >"$T/example.sh"
check "the README has the example" grep -q 'function text' "$T/example.sh"

cat >"$T/stream.xml" <<'EOF'
<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='1' version='1.0'>
<message from='alice@localhost/a' type='chat'><body>one
two	three \ four \n</body></message>
<message from='eve@localhost/e' type='chat'><body><b>x</b>forged</body></message>
<message from='bob@localhost/b' type='chat'><body>ring&#xD;bell</body></message>
</stream:stream>
EOF
sed "s,tests/parse/prosody.xml,$T/stream.xml," "$T/example.sh" >"$T/run.sh"
(cd "$TOP" && sh "$T/run.sh") >"$T/out" 2>"$T/err"
is "$?:$(cat "$T/err")" "0:" "the example runs"
printf 'alice@localhost/a: one\ntwo\tthree \\ four \\n\n' >"$T/want.alice"
grep -A 1 '^alice' "$T/out" >"$T/got.alice"
check "the escapes of newline, tab and backslash decoded" cmp -s "$T/want.alice" "$T/got.alice" ||
    diag "$(cat "$T/out")"
check "a body whose first item is an element is not taken as text" sh -c \
    '! grep -q "^eve" "$1"' sh "$T/out"
is "$(grep '^bob' "$T/out")" 'bob@localhost/b: ring\rbell' \
    "other control characters (a carriage return) stay escaped"

left=
for f in $(cd "$TOP" && grep -l '| awk' README.md man/*.[157]); do
	grep -q 'mawk -W interactive' "$TOP/$f" || left="$left $f"
done
is "$left" "" "every page suggesting awk says how mawk reads a pipe"
