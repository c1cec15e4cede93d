#!/bin/sh
# xmpp-parse: recorded server streams to records, whatever the chunking
. "${TOP:=$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
P=${XMPP_PARSE:-$TOP/xmpp-parse/xmpp-parse}
F=$TOP/tests/parse

# feed.py MODE PARSER FILE [RECORDS]: runs PARSER on a pipe and checks its
# output against RECORDS.  The next write waits until the pipe is empty,
# so each write is exactly one read(2) of the parser:
#   bytes   one byte per read
#   split   for every k, the first k bytes in one read, the rest in another
#   prompt  the stream up to the end of its first message; the message's
#           record must come out while the parser's input stays open
cat >"$T/feed.py" <<'EOF'
import fcntl, os, select, struct, subprocess, sys, tempfile, termios, time

mode, parser, path = sys.argv[1:4]
data = open(path, 'rb').read()
want = open(sys.argv[4], 'rb').read() if len(sys.argv) > 4 else None

def pending(fd):
    return struct.unpack('i', fcntl.ioctl(fd, termios.FIONREAD, b'\0' * 4))[0]

def run(chunks):
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen([parser], stdin=subprocess.PIPE, stdout=out)
        fd = p.stdin.fileno()
        for c in chunks:
            os.write(fd, c)
            while pending(fd) and p.poll() is None:
                time.sleep(0.0001)
        p.stdin.close()
        rc = p.wait()
        out.seek(0)
        return rc, out.read()

def same(how, chunks):
    rc, got = run(chunks)
    if rc == 0 and got == want:
        return True
    sys.stderr.write('%s: exit %d, got:\n%s' % (how, rc, got.decode(errors='replace')))
    return False

if mode == 'bytes':
    sys.exit(0 if same('bytes', [data[i:i + 1] for i in range(len(data))]) else 1)
if mode == 'split':
    for k in range(1, len(data)):
        if not same('split at %d' % k, [data[:k], data[k:]]):
            sys.exit(1)
    sys.exit(0)
if mode == 'prompt':
    cut = data.index(b'</message>') + len(b'</message>')
    p = subprocess.Popen([parser], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL)
    os.write(p.stdin.fileno(), data[:cut])
    got = b''
    while b'\nmessage\t' not in got:
        r, _, _ = select.select([p.stdout], [], [], 10)
        if not r:
            break
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        got += chunk
    p.stdin.close()
    p.wait()
    sys.exit(0 if b'\nmessage\t' in got else 1)
sys.exit(2)
EOF

# decode.py: every line is one record of xmpp-record(5) whose items
# unescape; prints the text of each body, one per line, as Python repr.
cat >"$T/decode.py" <<'EOF'
import re, sys
esc = {'\\\\': '\\', '\\t': '\t', '\\n': '\n', '\\r': '\r'}
def unescape(s):
    if re.search(r'[\x00-\x1f\x7f]', s):
        raise ValueError('raw control character')
    return re.sub(r'\\(x[0-9a-f]{2}|.)', lambda m: esc.get(m.group(0))
        or chr(int(m.group(1)[1:], 16)), s)
for line in sys.stdin.buffer.read().decode().split('\n')[:-1]:
    items = line.split('\t')
    stack, inbody = 0, False
    for it in items[1:]:
        if it[0] == '(':
            stack += 1
            inbody = it == '(body'
        elif it == ')':
            stack -= 1
            inbody = False
        elif it[0] == '-' and inbody:
            print(repr(unescape(it[1:])))
        elif it[0] not in '@-' and not it.startswith('xmlns='):
            raise ValueError('bad item ' + it)
    assert stack == 0, line
EOF

plan 26

for f in prosody starttls ns; do
	"$P" <"$F/$f.xml" >"$T/$f.out" 2>"$T/$f.err"
	is "$?" 0 "$f: exit status 0"
	if cmp -s "$F/$f.rec" "$T/$f.out"; then
		pass "$f: the expected records"
	else
		fail "$f: the expected records"
		diag "$(diff "$F/$f.rec" "$T/$f.out")"
	fi
	is "$(cat "$T/$f.err")" "" "$f: nothing on stderr"
done

"$P" "$F/starttls.xml" >"$T/arg.out"
check "a file argument replays a capture" cmp -s "$F/starttls.rec" "$T/arg.out"

for f in prosody starttls ns; do
	check "$f: one byte per read" \
	    $PY "$T/feed.py" bytes "$P" "$F/$f.xml" "$F/$f.rec"
done
for f in prosody starttls; do
	check "$f: split in two reads at every byte" \
	    $PY "$T/feed.py" split "$P" "$F/$f.xml" "$F/$f.rec"
done
check "a record comes out while the input stays open" \
    $PY "$T/feed.py" prompt "$P" "$F/prosody.xml"

$PY "$T/decode.py" <"$T/ns.out" >"$T/bodies"
is "$?" 0 "ns: every line decodes as one record"
is "$(cat "$T/bodies")" "$(cat <<'EOF'
"line1\nline2\ttab\\back </body></message><message to='x'>\t😀 שלום עולם <cdata&>\r"
'prefixed'
'x'
EOF
)" "ns: bodies decode to the text sent, markup and all"

n=$(grep -c . "$T/prosody.out")
is "$n" 11 "prosody: one line per record, keepalives make none"

: >"$T/empty"
"$P" <"$T/empty" >"$T/empty.out" 2>&1
is "$?:$(cat "$T/empty.out")" "0:" "empty input: exit 0, no record"

v=$(sed -n 's/^VERSION = //p' "$TOP/Makefile")
is "$("$P" -V)" "xmpp-parse $v" "-V prints the version"
"$P" -h >"$T/h.out" 2>&1
is "$?:$(cat "$T/h.out")" \
    "0:usage: xmpp-parse [-choVX] [-n maxdepth] [-s maxstanza] [file ...]" "-h"
"$P" -s 0 <"$T/empty" 2>"$T/s.err"
is "$?:$(cat "$T/s.err")" "1:xmpp-parse: maxstanza 0: too small" \
    "-s names a bad number"
"$P" -n 64x <"$T/empty" 2>"$T/n.err"
is "$?:$(cat "$T/n.err")" "1:xmpp-parse: maxdepth 64x: invalid" \
    "-n names a bad number"
"$P" -q <"$T/empty" 2>/dev/null
is "$?" 1 "an unknown option is a usage error"
"$P" "$T/nonexistent" 2>"$T/f.err"
is "$?:$(cat "$T/f.err")" \
    "1:xmpp-parse: $T/nonexistent: No such file or directory" \
    "a missing file is exit 1, named"
