#!/usr/bin/python3
"""rot13.py - a bot in Python: each message comes back in rot13.

    echobot.sh bot@example.org -x 'python3 examples/rot13.py'

It decodes records (xmpp-record(5)) into strings and encodes its
replies, escapes included, with the standard library only: copy
parse() and record() into a bot of your own.
"""
import codecs
import re
import sys

UNESCAPE = {b'\\': b'\\', b't': b'\t', b'n': b'\n', b'r': b'\r'}
ESCAPE = {'\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r'}


def unescape(b):
    """An escaped value or text (bytes) as a string."""
    def one(m):
        e = m.group(1)
        return bytes([int(e[1:], 16)]) if e[:1] == b'x' else UNESCAPE[e]
    b = re.sub(rb'\\(x[0-9a-fA-F]{2}|.)', one, b)
    return b.decode('utf-8', 'surrogateescape')


def escape(s):
    """A string as an escaped value or text."""
    return re.sub(r'[\x00-\x1f\x7f\\]', lambda m: ESCAPE.get(
        m.group(), '\\x%02x' % ord(m.group())), s)


def parse(line):
    """A record: its kind, the attributes of its element, and the text
    of each of its children, by name."""
    items = line.rstrip(b'\n').split(b'\t')
    attrs, texts, path = {}, {}, []
    for item in items[1:]:
        if item[:1] == b'@' and not path:
            name, _, value = item[1:].partition(b'=')
            attrs[name.decode()] = unescape(value)
        elif item[:1] == b'(':
            path.append(item[1:].decode())
        elif item == b')':
            path.pop()
        elif item[:1] == b'-' and len(path) == 1:
            texts.setdefault(path[0], unescape(item[1:]))
    return items[0].decode(), attrs, texts


def record(kind, *items):
    """A record of the kind and items, the items escaped already."""
    line = '\t'.join((kind,) + items) + '\n'
    return line.encode('utf-8', 'surrogateescape')


def answer(attrs, texts):
    body = codecs.encode(texts['body'], 'rot13')
    items = ['xmlns=jabber:client', '@to=' + escape(attrs['from'])]
    if 'type' in attrs:
        items.append('@type=' + escape(attrs['type']))
    items += ['(body', '-' + escape(body), ')']
    if 'thread' in texts:
        items += ['(thread', '-' + escape(texts['thread']), ')']
    return record('message', *items)


for line in sys.stdin.buffer:
    try:
        kind, attrs, texts = parse(line)
    except (KeyError, IndexError, UnicodeDecodeError):
        print('rot13.py: bad record: skipped', file=sys.stderr)
        continue
    if (kind != 'message' or 'from' not in attrs or not texts.get('body')
            or attrs.get('type', 'normal') not in ('chat', 'normal')):
        continue
    sys.stdout.buffer.write(answer(attrs, texts))
    sys.stdout.buffer.flush()
