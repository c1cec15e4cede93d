#!/bin/sh
# xmpp-parse: a stanza larger than -s is skipped, not the end of the
# stream: one #skipped record with its start tag's name, id, type, from
# and to, its offset and size; the rest of it still checked, so that a
# stream broken for real ends as before, however reads split the input.
. "${TOP:=$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
P=${XMPP_PARSE:-$TOP/xmpp-parse/xmpp-parse}

H="<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
h=${#H}
MIB=1048576

# feed.py MODE FILE PARSER [ARG...]: runs PARSER on a pipe and prints its
# exit status, its output and its stderr.  The next write waits until the
# pipe is empty, so each write is exactly one read(2) of the parser:
#   whole   the file in one write
#   bytes   one byte per read
#   split   for every k, the first k bytes in one read, the rest in
#           another: prints nothing and exits 0 when each run gives what
#           the whole file gives
cat >"$T/feed.py" <<'EOF'
import fcntl, os, struct, subprocess, sys, tempfile, termios, time

mode, path = sys.argv[1:3]
cmd = sys.argv[3:]
data = open(path, 'rb').read()

def pending(fd):
    return struct.unpack('i', fcntl.ioctl(fd, termios.FIONREAD, b'\0' * 4))[0]

def run(chunks):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out,
                             stderr=err)
        fd = p.stdin.fileno()
        try:
            for c in chunks:
                os.write(fd, c)
                while pending(fd) and p.poll() is None:
                    time.sleep(0.0001)
            p.stdin.close()
        except BrokenPipeError:
            pass
        rc = p.wait()
        out.seek(0)
        err.seek(0)
        return b'%d\n' % rc + out.read() + err.read()

if mode == 'whole':
    sys.stdout.buffer.write(run([data]))
elif mode == 'bytes':
    sys.stdout.buffer.write(run([data[i:i + 1] for i in range(len(data))]))
elif mode == 'split':
    want = run([data])
    for k in range(1, len(data)):
        got = run([data[:k], data[k:]])
        if got != want:
            sys.stdout.buffer.write(b'split at %d:\n%swhole:\n%s' %
                                    (k, got, want))
            sys.exit(1)
EOF

# The stream: stanzas under and over -s 200, over it by their text, by a
# child's start tag (expat holds a tag whole: skip.c takes over inside
# the stanza) or by their own start tag (skip.c takes over at its '<').
# The records are computed here from the stream, offsets included.
cat >"$T/gen.py" <<'EOF'
import sys
H = sys.argv[1]
LIMIT = 200
pad = 'x' * 300
long_jid = 'j' * 3072 + '@example.org'
ok_jid = 'k' * 3059 + '@example.org'      # 3071 bytes: kept
parts = [
    ("<message from='a@b/c'><body>small</body></message>",
     "message\txmlns=jabber:client\t@from=a@b/c\t(body\t-small\t)"),
    ("<iq type='get' id='t1' from='a@b/c'><q xmlns='urn:q'>%s</q></iq>" % pad,
     None),
    ("<iq type='set' id='c1' from='a@b/c' to='bot@b/r'><q xmlns='urn:q'>"
     "<r xmlns:p='urn:p' p:pad='%s'><![CDATA[<x/>]]>&lt;<s/></r></q></iq>"
     % pad, None),
    ("<message xmlns:p='urn:p' p:pad='%s' id='a&#9;b&#10;c&amp;&lt;' "
     "type='chat'\n\tfrom=\"a@b/c\" to='x&#x40;y'><body>%s</body>"
     "<![CDATA[ ]]></message>" % (pad, pad), None),
    ("<c:presence xmlns:c='jabber:client' from='%s' id='%s' c:pad='%s'/>"
     % (long_jid, 'p1', pad), None),
    ("<iq from='%s' pad='%s'/>" % (ok_jid, pad), None),
    ("<presence from='a@b/c'/>",
     "presence\txmlns=jabber:client\t@from=a@b/c"),
]
skipped = [
    ('iq', [('type', 'get'), ('id', 't1'), ('from', 'a@b/c')]),
    ('iq', [('type', 'set'), ('id', 'c1'), ('from', 'a@b/c'),
            ('to', 'bot@b/r')]),
    ('message', [('id', 'a\\tb\\nc&<'), ('type', 'chat'), ('from', 'a@b/c'),
                 ('to', 'x@y')]),
    ('presence', [('id', 'p1')]),
    ('iq', [('from', ok_jid)]),
]
order = ['id', 'type', 'from', 'to']
xml = H
recs = ["stream:stream\txmlns=http://etherx.jabber.org/streams"]
for x, r in parts:
    off = len(xml.encode())
    xml += x + '\n'
    if r is None:
        name, attrs = skipped.pop(0)
        d = dict(attrs)
        r = '#skipped\t@offset=%d\t@size=%d\t(%s\txmlns=jabber:client' % (
            off, len(x.encode()), name)
        r += ''.join('\t@%s=%s' % (k, d[k]) for k in order if k in d) + '\t)'
    recs.append(r)
xml += '</stream:stream>'
recs.append('/stream:stream')
open(sys.argv[2], 'w').write(xml)
open(sys.argv[3], 'w').write('\n'.join(recs) + '\n')
EOF

plan 49

$PY "$T/gen.py" "$H" "$T/skip.xml" "$T/skip.rec"
"$P" -s 200 <"$T/skip.xml" >"$T/out" 2>"$T/err"
is "$?" 0 "five stanzas over -s skipped: exit 0"
if cmp -s "$T/skip.rec" "$T/out"; then
	pass "their #skipped records, the others as usual"
else
	fail "their #skipped records, the others as usual"
	diag "$(diff "$T/skip.rec" "$T/out")"
fi
is "$(grep -c 'bytes skipped (larger than 200)$' "$T/err")" 5 \
    "one line on stderr for each"
$PY "$T/feed.py" whole "$T/skip.xml" "$P" -s 200 >"$T/whole"
$PY "$T/feed.py" bytes "$T/skip.xml" "$P" -s 200 >"$T/bytes"
check "one byte per read: the same" cmp -s "$T/whole" "$T/bytes"
check "split in two reads at every byte: the same" \
    $PY "$T/feed.py" split "$T/skip.xml" "$P" -s 200

# The limit is exact: a stanza of n bytes is kept with -s n.
stanza="<message><body>0123456789</body></message>"
printf '%s%s</stream:stream>' "$H" "$stanza" >"$T/in"
"$P" -s ${#stanza} <"$T/in" >"$T/out" 2>&1
is "$(sed -n 2p "$T/out" | cut -f 1)" message "-s n: a stanza of n bytes kept"
"$P" -s $((${#stanza} - 1)) <"$T/in" >"$T/out" 2>/dev/null
is "$(sed -n 2p "$T/out")" "$(printf '#skipped\t@offset=%s\t@size=%s\t(message\txmlns=jabber:client\t)' "$h" ${#stanza})" \
    "-s n-1: skipped"

# skipping WHERE FAULT: a stanza over -s 200 with FAULT in its start tag
# (top) or in its content (child), after the bytes that put it over
skipping() {
	_pad=$(head -c 300 /dev/zero | tr '\0' x)
	if [ "$1" = top ]; then
		printf "%s<iq type='get' id='1' pad='%s' $2></iq></stream:stream>" \
		    "$H" "$_pad"
	else
		printf "%s<iq type='get' id='1'><q xmlns='q' pad='%s'/><a><b>$2</b></a></iq></stream:stream>" \
		    "$H" "$_pad"
	fi >"$T/in"
}

# same WHERE DESC FAULT: the stream ends as it does when the stanza is
# under the limit, at the same offset with the same message, whether
# expat reads the rest of the stanza (one read) or skip.c does (one byte
# per read: expat holds the start tag)
same() {
	skipping "$1" "$3"
	$PY "$T/feed.py" whole "$T/in" "$P" -n 4 >"$T/ref"
	$PY "$T/feed.py" whole "$T/in" "$P" -n 4 -s 200 | grep -v skipped \
	    >"$T/whole"
	$PY "$T/feed.py" bytes "$T/in" "$P" -n 4 -s 200 | grep -v skipped \
	    >"$T/bytes"
	if [ "$(head -n 1 "$T/ref")" != 0 ] && cmp -s "$T/ref" "$T/whole" &&
	    cmp -s "$T/ref" "$T/bytes"; then
		pass "$1: $2: $(tail -n 1 "$T/ref" | cut -d ' ' -f 2-)"
	else
		fail "$1: $2"
		diag "$(cat "$T/ref")" "one read:" "$(cat "$T/whole")" \
		    "one byte per read:" "$(cat "$T/bytes")"
	fi
}

same child "mismatched tag" "</wrong>"
same child "invalid UTF-8" '\377'
same child "overlong UTF-8" '\300\274'
same child "UTF-8 surrogate" '\355\240\200'
same child "control character" '\001'
same child "NUL" '\000'
same child "comment" "<!-- c -->"
same child "processing instruction" "<?pi x?>"
same child "DOCTYPE" "<!DOCTYPE x>"
same child "undefined entity" "&xxe;"
same child "NUL reference" "&#0;"
same child "reference without digits" "&#;"
same child "undefined entity in a value" "<a b='&xxe;'/>"
same child "surrogate reference" "&#xD800;"
same child "]]> in text" "]]>"
same child "< in a value" "<a b='<'/>"
same child "nested deeper than -n" "<c><d><e/></d></c>"
same child "two colons" "<a:b:c/>"
same child "unquoted value" "<a b=1/>"
same child "no space between attributes" "<a b='1'c='2'/>"
same child "bad CDATA" "<![CDATX["
same child "name starting with a digit" "<1a/>"
same top "< in a value" "a='<'"
same top "unquoted value" "a=1"
same top "attribute without value" "a"
same top "comment in the tag" "<!-- c -->"
same top "invalid UTF-8" '\377'
same top "undefined entity" "a='&xxe;'"
same top "reference without digits" "a='&#x;'"
same top "colon first" ":a='1'"
same top "two colons" "a:b:c='1'"

# Not checked in the skipped part, as it would need every name held:
# repeated attributes and namespace prefixes (xmpp-parse(1)).
for f in "<a b='1' b='2'/>" "<p:a/>"; do
	skipping child "$f"
	$PY "$T/feed.py" bytes "$T/in" "$P" -s 200 >"$T/bytes"
	is "$(head -n 1 "$T/bytes"):$(grep -c '^#skipped' "$T/bytes")" 0:1 \
	    "not checked once skip.c reads it: $f"
done

# Only stanzas are skipped: another element past the limit ends the
# stream, as an iq in another namespace does.
printf "%s<iq xmlns='urn:x'>%s</iq></stream:stream>" "$H" \
    "$(head -c 300 /dev/zero | tr '\0' x)" >"$T/in"
$PY "$T/feed.py" whole "$T/in" "$P" -s 200 >"$T/whole"
$PY "$T/feed.py" bytes "$T/in" "$P" -s 200 >"$T/bytes"
is "$(tail -n 1 "$T/whole")" "xmpp-parse: offset $h: element larger than 200 bytes" \
    "an iq in another namespace, over the limit: the end"
check "the same, one byte per read" cmp -s "$T/whole" "$T/bytes"
printf "%s<iq xmlns:p='%s' pad='%s'>" "$H" \
    "$(head -c 300 /dev/zero | tr '\0' u)" \
    "$(head -c 300 /dev/zero | tr '\0' x)" >"$T/in"
$PY "$T/feed.py" bytes "$T/in" "$P" -s 200 >"$T/bytes"
is "$(head -n 1 "$T/bytes"):$(tail -n 1 "$T/bytes")" \
    "3:xmpp-parse: offset $(wc -c <"$T/in"): stream truncated" \
    "truncated in a skipped stanza: exit 3"

# Bounded: 10 MiB of start tag or of text, skipped in a few MiB.
# peak_rss: kilobytes, or nothing without GNU time (or under a sanitizer)
peak_rss() {
	[ -x /usr/bin/time ] && [ -z "${XMPP_PARSE:-}" ] || return 0
	/usr/bin/time -f %M -o "$T/rss" "$P" <"$T/in" >/dev/null 2>&1
	tail -n 1 "$T/rss"
}
for what in tag text; do
	{
		printf "%s<iq type='get' id='big' xmlns:p='urn:p'" "$H"
		if [ $what = tag ]; then
			head -c $((5 * MIB)) /dev/zero | tr '\0' a |
			    fold -w 8 | awk '{ printf " p:%s%d=\x27\x27", $0, NR }'
			printf '/>'
		else
			printf '><a>'
			head -c $((10 * MIB)) /dev/zero | tr '\0' a
			printf '</a></iq>'
		fi
		printf "<message><body>after</body></message></stream:stream>"
	} >"$T/in"
	"$P" <"$T/in" >"$T/out" 2>/dev/null
	is "$?:$(cut -f 1 "$T/out" | tr '\n' ' ')" \
	    "0:stream:stream #skipped message /stream:stream " \
	    "10 MiB of $what: skipped, the next stanza kept"
	rss=$(peak_rss)
	if [ -n "$rss" ]; then
		check "10 MiB of $what: peak RSS ${rss} KiB < 32 MiB" \
		    [ "$rss" -lt 32768 ]
	else
		skip "10 MiB of $what: peak RSS" "no GNU time, or a sanitizer build"
	fi
done

# valgrind on both ways of skipping (-X: no seccomp under valgrind)
if command -v valgrind >/dev/null 2>&1 && ! sanitized "$P" &&
    [ -z "${XMPP_PARSE:-}" ]; then
	valgrind -q --error-exitcode=99 --leak-check=full "$P" -X -s 200 \
	    <"$T/skip.xml" >/dev/null 2>"$T/vg"
	is "$?" 0 "valgrind: skipping, one read"
	$PY "$T/feed.py" bytes "$T/skip.xml" valgrind -q --error-exitcode=99 \
	    --leak-check=full "$P" -X -s 200 >"$T/vg"
	is "$(head -n 1 "$T/vg")" 0 "valgrind: skipping, one byte per read"
else
	skip "valgrind: skipping, one read" "no valgrind, or a sanitizer build"
	skip "valgrind: skipping, one byte per read" "no valgrind"
fi
