#!/bin/sh
# demo.sh - the echo bot against a throwaway Prosody, run by `make demo`
#
# Checks the Debian packages (tests/deps.sh installs the missing ones
# as root), builds, starts a
# private Prosody on loopback (tests/lib.sh), runs echobot.sh and lets
# alice (tests/peer.py) talk to it.  DEMO_KEEP=1 leaves it all running
# until Ctrl-C, for a real chat client.

# the one install path, shared with make check and .ci/run
sh "$(dirname "$0")/deps.sh" demo || exit 1

. "$(dirname "$0")/lib.sh"
make -s -C "$TOP" all || exit 1

# STARTTLS with a certificate made for the occasion, once xmpp-connect
# knows it; else clear text on loopback.
if "$TOP/xmpp-connect/xmpp-connect" -h 2>&1 | grep -q -e "-t mode"; then
	PROSODY_TLS=1
	export PROSODY_TLS
fi
echobot_setup
if [ "${PROSODY_TLS:-0}" = 1 ]; then
	link="-t starttls -C $CA_FILE"
	peerlink="--tls-ca $CA_FILE"
	how="STARTTLS, a certificate made for this run"
else
	link="-t plain"
	peerlink="--no-tls"
	how="clear text on loopback"
fi
echo "demo.sh: a private Prosody on 127.0.0.1:$C2S_PORT, $how"

bot_start $link -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"
cat >"$T/send" <<'END'
"hello, bot"
"<b>tags</b> & ampersands stay text"
"two\nlines and a\ttab"
"ünïcödé ☺"
END
alice $peerlink --send "$T/send" --expect 4 --timeout 30 >"$T/got"
st=$?
jfield body "$T/send" >"$T/sent"
jfield body "$T/got" >"$T/echoed"
while IFS= read -r said; do
	printf "alice -> bot:   %s\n" "$said"
	IFS= read -r heard <&3 || heard="(nothing)"
	printf "bot   -> alice: %s\n" "$heard"
done <"$T/sent" 3<"$T/echoed"

if [ "$st" -ne 0 ]; then
	echo "demo.sh: no echo; the bot said:" >&2
	cat "$T/bot.err" >&2
	exit 1
fi

# Printing a password is what is asked for here: a throwaway account on
# a private server that only listens on loopback and dies with the demo.
if [ "${DEMO_KEEP:-0}" = 1 ]; then
	cat <<-END
	
	The bot stays up until Ctrl-C.  Connect a chat client on this machine:
	    server    127.0.0.1 port $C2S_PORT ($how)
	    account   alice@localhost  password $ALICE_PW
	    bot       bot@localhost (already in alice's contacts)
	END
	[ -n "${CA_FILE:-}" ] && echo "    CA file   $CA_FILE (self-signed)"
	trap 'exit 0' INT TERM
	wait "$BOT_PID"
	exit 0
fi
echo "demo.sh: it works; DEMO_KEEP=1 make demo keeps it running"
