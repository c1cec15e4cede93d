#!/usr/bin/python3
# records.py encode|decode - message records (xmpp-record(5)) from and to
# JSON lines, written for the tests from the page alone, so that they do
# not check the C codec against itself.
#
# encode: each JSON line, a string (the body of a chat message from
# alice@localhost/x) or an object {"from", "to", "type", "id", "thread",
# "body"} (null or absent: no such attribute or child), becomes a
# message record.  decode: each message record becomes a JSON object
# {"to", "type", "body", "thread"}; any other line is an error.

import json
import re
import sys

ESC = {'\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r'}


def esc(s):
    return ''.join(ESC.get(c) or ('\\x%02x' % ord(c)
                   if ord(c) < 0x20 or c == '\x7f' else c) for c in s)


def unesc(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != '\\':
            if ord(c) < 0x20 or c == '\x7f':
                raise ValueError('raw control byte: %r' % s)
            out.append(c)
            i += 1
        elif s[i + 1:i + 2] in ('\\', 't', 'n', 'r'):
            out.append({'\\': '\\', 't': '\t', 'n': '\n',
                        'r': '\r'}[s[i + 1]])
            i += 2
        elif re.fullmatch('x[0-9a-f]{2}', s[i + 1:i + 4]):
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
        else:
            raise ValueError('bad escape: %r' % s)
    return ''.join(out)


def encode(v):
    if isinstance(v, str):
        v = {'body': v}
    m = {'from': 'alice@localhost/x', 'to': 'bot@localhost/r',
         'type': 'chat', 'id': None, 'thread': None, 'body': None}
    m.update(v)
    items = ['message', 'xmlns=jabber:client']
    for a in ('from', 'to', 'type', 'id'):
        if m[a] is not None:
            items.append('@%s=%s' % (a, esc(m[a])))
    for c in ('body', 'thread'):
        if m[c] is not None:
            items += ['(' + c] + (['-' + esc(m[c])] if m[c] else []) + [')']
    return '\t'.join(items)


def decode(line):
    items = line.split('\t')
    if items[0] != 'message' or items[1] != 'xmlns=jabber:client':
        raise ValueError('not a message record: %r' % line)
    out = {'to': None, 'type': None, 'body': None, 'thread': None}
    depth, child = 0, None
    for it in items[2:]:
        if it.startswith('@') and depth == 0:
            name, _, value = it[1:].partition('=')
            if name in ('to', 'type'):
                out[name] = unesc(value)
        elif it.startswith('('):
            depth += 1
            child = it[1:] if depth == 1 else None
            if child in ('body', 'thread'):
                out[child] = ''
        elif it == ')':
            depth -= 1
        elif it.startswith('-') and depth == 1 and child in out:
            out[child] += unesc(it[1:])
        elif not it.startswith('@'):
            raise ValueError('unknown item %r' % it)
    if depth != 0:
        raise ValueError('unbalanced: %r' % line)
    return out


def main():
    data = sys.stdin.buffer.read().decode('utf-8', 'surrogateescape')
    for line in data.split('\n')[:-1]:
        if sys.argv[1] == 'encode':
            r = encode(json.loads(line))
        else:
            r = json.dumps(decode(line), ensure_ascii=False)
        sys.stdout.buffer.write(
            (r + '\n').encode('utf-8', 'surrogateescape'))


if __name__ == '__main__':
    main()
