#!/bin/sh
# Stream management (XEP-0198) against ejabberd's mod_stream_mgmt, as
# 0186 and 0187 against Prosody: alice sends 500 messages; the link is
# cut (xmpp-connect killed) while the second 250 are on their way to
# the bot, then again while the bot writes its echoes.  Each time the
# next session resumes the old one and every message is echoed exactly
# once.  ejabberd parses each connection anew, so the second cut, which
# may leave half a stanza of ours at the server, must resume too (it
# need not with Prosody 0.12).  A resumption the server refuses (it was
# killed and started again) falls back to a new session; a server that
# stops ends the stream with system-shutdown, and no resumption is
# asked.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/ejabberd.sh"
ejabberd_require
plan 15

ejabberd_setup

# bot_start, with xmpp-echo's options after the JID.
spawn env TMPDIR="$T/tmp" "$TOP/echobot.sh" -v -t plain \
    -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass" bot@localhost -b 2000 \
    2>>"$T/bot.err" </dev/null
BOT_PID=$spawned
wait_file_grep "$T/bot.err" "^< enabled.*@resume=true" 20 ||
    bail "no stream management"

# alice.py PORT BOT OUT CTL FILE...: as alice, once BOT is online, for
# each FILE (one JSON string a line) waits for a line on the fifo CTL
# (not for the first), sends its messages, pings the server, writes
# "sent N" to OUT.ctl (the server then holds them all: it handles a
# stream in order), and waits until each is echoed; every echo's body
# goes to OUT, one JSON string a line.
cat >"$T/alice.py" <<'PY'
import asyncio, json, logging, os, sys
from slixmpp import ClientXMPP

port, bot, out, ctl, files = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

class Alice(ClientXMPP):
    def __init__(self):
        ClientXMPP.__init__(self, 'alice@localhost', os.environ['PEER_PASSWORD'])
        self['feature_mechanisms'].unencrypted_plain = True
        self.register_plugin('xep_0199')
        self.echoes = 0
        self.out = open(out, 'w')
        self.online = asyncio.get_event_loop().create_future()
        self.done = asyncio.get_event_loop().create_future()
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('presence_available', self.presence)
        self.add_event_handler('message', self.message)

    def presence(self, p):
        if p['from'].bare == bot and not self.online.done():
            self.online.set_result(None)

    def message(self, m):
        if m['from'].bare == bot and m['type'] == 'chat':
            print(json.dumps(m['body']), file=self.out, flush=True)
            self.echoes += 1

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        await self.online
        want = 0
        loop = asyncio.get_event_loop()
        for i, f in enumerate(files):
            if i > 0:
                await loop.run_in_executor(None, lambda: open(ctl).readline())
            bodies = [json.loads(l) for l in open(f, encoding='utf-8')]
            for b in bodies:
                self.make_message(mto=bot, mtype='chat', mbody=b).send()
            await self['xep_0199'].send_ping(self.boundjid.domain, timeout=30)
            want += len(bodies)
            with open(out + '.ctl', 'a') as c:
                print('sent', want, file=c, flush=True)
            while self.echoes < want:
                await asyncio.sleep(0.05)
        self.done.set_result(0)

logging.basicConfig(level=logging.ERROR)
logging.getLogger('asyncio').setLevel(logging.CRITICAL)
a = Alice()
a.connect(('127.0.0.1', port), force_starttls=False, disable_starttls=True)
loop = asyncio.get_event_loop()
try:
    code = loop.run_until_complete(asyncio.wait_for(a.done, 120))
except asyncio.TimeoutError:
    print('alice.py: timeout, %d echoes' % a.echoes, file=sys.stderr)
    code = 1
a.disconnect(wait=2)
sys.exit(code)
PY

# run NAME N: alice sends N messages of 1 KiB (more than the pipes hold)
# named NAME: $T/NAME.1 and $T/NAME.2, half each, the second half on a
# line to $T/NAME.go; echoes in $T/NAME.got; ALICE
run() {
	pad=$(printf '%1000s' '' | tr ' ' .)
	i=1
	while [ $i -le "$2" ]; do
		echo "\"$1 $i $pad\""
		i=$((i + 1))
	done >"$T/$1"
	head -n $(($2 / 2)) "$T/$1" >"$T/$1.1"
	tail -n $(($2 - $2 / 2)) "$T/$1" >"$T/$1.2"
	mkfifo "$T/$1.go"
	PEER_PASSWORD=$ALICE_PW spawn $PY "$T/alice.py" "$C2S_PORT" \
	    bot@localhost "$T/$1.got" "$T/$1.go" "$T/$1.1" "$T/$1.2" \
	    2>"$T/$1.err"
	ALICE=$spawned
}

# once NAME N DESC: alice got N echoes of NAME, each once
once() {
	ended "$ALICE" 90
	_st=$?
	sort "$T/$1.got" >"$T/$1.bodies"
	is "$_st:$(wc -l <"$T/$1.bodies")" "0:$2" "$3: $2 echoes" ||
	    diag "$(cat "$T/$1.err")"
	is "$(uniq -d "$T/$1.bodies" | head -n 3 | cut -c 1-20 | tr '\n' ' ')$(
	    jnorm "$T/$1" | sort | comm -23 - "$T/$1.bodies" | head -n 3 |
	    cut -c 1-20 | tr '\n' ' ')" "" "$3: none twice, none missing"
}

# The cut on the way in: xmpp-parse held still while the server holds
# the second 250, so that some wait in the pipes and socket; then
# xmpp-connect killed, xmpp-parse let go.
run r 500
wait_file_grep "$T/r.got.ctl" "sent 250" 60 &&
    wait_file_grep "$T/r.got" "r 250 " 60 || bail "the first 250 not echoed"
parse_pid=$(pgrep -s "$BOT_PID" -x xmpp-parse)
kill -STOP "$parse_pid"
echo go >"$T/r.go"
wait_file_grep "$T/r.got.ctl" "sent 500" 60 || bail "alice could not send"
kill -KILL $(pgrep -s "$BOT_PID" -x xmpp-connect)
kill -CONT "$parse_pid"
once r 500 "cut on the way in"
check "session 2 resumed the first" \
    wait_file_grep "$T/bot.err" "^< resumed" 1
check "without binding a resource again" \
    test "$(grep -c "^> <iq type='set' id='[^']*'><bind" "$T/bot.err")" -eq 1
before=$(sed -n '/session 2:/q;/^> <message/p' "$T/bot.err" | wc -l)
after=$(sed -n '/session 2:/,/session 3:/p' "$T/bot.err" | grep -c '^< message')
check "cut in the middle: $before echoed before, $after sent again after" \
    test "$before" -ge 250 -a "$before" -lt 500 -a "$after" -gt 0

# The cut on the way out: xmpp-echo held still after its 100th echo of
# the second batch, xmpp-connect killed: the server may hold half an
# echo.  ejabberd must resume all the same.
run w 500
wait_file_grep "$T/w.got" "w 250 " 60 || bail "the first 250 not echoed"
echo go >"$T/w.go"
wait_file_grep "$T/bot.err" "<body>w 350 " 60 ||
    bail "the bot did not echo 350 messages"
echo_pid=$(pgrep -s "$BOT_PID" -x xmpp-echo)
kill -STOP "$echo_pid"
kill -KILL $(pgrep -s "$BOT_PID" -x xmpp-connect)
kill -CONT "$echo_pid"
once w 500 "cut on the way out"
check "session 3 resumed" test "$(grep -c "^< resumed" "$T/bot.err")" -eq 2
check "no stream error after it" sh -c \
    '! grep -q "stream error" "$1"' sh "$T/bot.err"

# The server killed and started again: the session it kept is gone, the
# resumption fails, a new session echoes.
kill -s KILL -- "-$EJ_PID"
wait_file_grep "$T/bot.err" "session 3 ended" 10
ejabberd_stop
ejabberd_start || bail "ejabberd did not start again"
check "killed: resumption refused" \
    wait_file_grep "$T/bot.err" "resumption failed (item-not-found)" 30
check "killed: a new session, a resource bound" wait_file_grep \
    "$T/bot.err" "^> <iq type='set' id='[^']*'><bind" 1
alice_ping "killed: the new session echoes" --no-tls --timeout 60

# Stopped (ejabberdctl stop): ejabberd ends the stream with
# system-shutdown, a stream error, so the state is forgotten and the next session is a new one,
# with no attempt to resume.
: >"$T/bot.err"
ejabberd_stop
ejabberd_start || bail "ejabberd did not start again"
check "stopped: system-shutdown, the state forgotten" \
    wait_file_grep "$T/bot.err" "stream error: system-shutdown" 1
if wait_file_grep "$T/bot.err" "^> <iq type='set' id='[^']*'><bind" 30 &&
    ! grep -q "^> <resume " "$T/bot.err"; then
	pass "stopped: a new session, no resumption asked"
else
	fail "stopped: a new session, no resumption asked"
fi
alice_ping "stopped: the new session echoes" --no-tls --timeout 60
