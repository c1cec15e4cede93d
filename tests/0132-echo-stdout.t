#!/bin/sh
# xmpp-echo's output never blocks, yet it leaves the file descriptions
# it shares blocking: a stderr on the same pipe as stdout (2>&1), and a
# socket stdout that xmpp-parse reads too (xmpp-connect(1) hands both
# stages the connection).  Under the sandbox, the header still goes out.
. "$(dirname "$0")/lib.sh"
plan 6

BOT=$TOP/xmpp-echo/xmpp-echo
[ -x "$BOT" ] || bail "$BOT not built (make xmpp-echo/xmpp-echo)"
(umask 077 && echo pw >"$T/pw")

timeout 60 $PY - "$BOT" "$T/pw" >"$T/out" 2>"$T/err" <<'END'
import os, select, socket, subprocess, sys
args = [sys.argv[1], '-P', '-m', 'PLAIN', '-r', 'echo', '-p', sys.argv[2],
        'bot@localhost']

def nonblock(pid, fd):
    for line in open('/proc/%d/fdinfo/%d' % (pid, fd)):
        if line.startswith('flags:'):
            return bool(int(line.split()[1], 8) & os.O_NONBLOCK)

def header(fd):
    # The stream header is written once the set-up is over.
    got = b''
    while b'<stream:stream' not in got:
        r, _, _ = select.select([fd], [], [], 10)
        if not r:
            return False
        got += os.read(fd, 4096)
    return True

rin, win = os.pipe()
rout, wout = os.pipe()
p = subprocess.Popen(args, stdin=rin, stdout=wout, stderr=wout)
os.close(rin)
os.close(wout)
print('pipe header', header(rout))
print('pipe stdout nonblocking', nonblock(p.pid, 1))
print('pipe stderr nonblocking', nonblock(p.pid, 2))
p.kill()
p.wait()

a, b = socket.socketpair()
rin, win2 = os.pipe()
p = subprocess.Popen(args, stdin=rin, stdout=b.fileno())
os.close(rin)
print('socket header', header(a.fileno()))
print('socket nonblocking', nonblock(p.pid, 1))
p.kill()
print('socket status', p.wait())
END
line() { sed -n "s/^$1 //p" "$T/out"; }
is "$(line 'pipe header')" True "2>&1 on one pipe: the header written"
is "$(line 'pipe stdout nonblocking')" True \
    "2>&1: stdout non-blocking (a file description of its own)"
is "$(line 'pipe stderr nonblocking')" False \
    "2>&1: stderr, the pipe's shared description, stays blocking"
is "$(line 'socket header')" True \
    "a socket as stdout: the header sent (send(2) allowed in the sandbox)"
is "$(line 'socket nonblocking')" False \
    "a socket as stdout: left blocking for the reader that shares it"
is "$(line 'socket status')" -9 "a socket as stdout: not killed by the sandbox"
if [ -s "$T/err" ]; then diag "$(cat "$T/err")"; fi
