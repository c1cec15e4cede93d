#!/bin/sh
# echobot@.service: make install writes its paths in; systemd-analyze
# verify finds nothing to say; it is confined as echobot.conf(5) says and
# does not restart on the statuses of echobot.sh(1) that retrying cannot
# fix.  Its ExecStart, run by hand as systemd would (its user, an empty
# environment but PATH, the password as a credential, standard error the
# journal), echoes over STARTTLS, holds the password in no environment,
# and a SIGTERM to its process group ends it with status 0.
. "$(dirname "$0")/lib.sh"
plan 21

make -s -C "$TOP" install PREFIX="$T/p" SYSCONFDIR="$T/etc" >"$T/make" 2>&1
is "$?" 0 "make install PREFIX SYSCONFDIR" || diag "$(cat "$T/make")"
U=$T/p/lib/systemd/system/echobot@.service
check "the unit under PREFIX/lib/systemd/system" test -f "$U"

# key NAME: the value of NAME= in the unit
key() { sed -n "s/^$1=//p" "$U"; }

is "$(key ExecStart)" "$T/p/bin/echobot.sh -f $T/etc/echobot/%i.conf" \
    "ExecStart: the installed launcher, the instance's file in SYSCONFDIR"
is "$(key LoadCredential)" "password:$T/etc/echobot/%i.pass" \
    "the password: a credential"
is "$(grep -v '^#' "$U" | grep -c -e '^Environment' -e '^PassEnvironment' \
    -e '@[A-Z]*@' -e '^User=')" 0 "no environment, no user, every path written in"
missing=
for k in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes CapabilityBoundingSet= \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
    SystemCallFilter=@system-service MemoryMax=64M Restart=on-failure; do
	grep -qx "$k" "$U" || missing="$missing $k"
done
is "$missing" "" "confined as echobot.conf(5) says"
# Every status of EXIT STATUS in echobot.sh(1) but 0 and 3 (worth a retry).
want=$(sed -n '/^\.Sh EXIT STATUS/,/^\.Sh /s/^\.It \([0-9]*\)$/\1/p' \
    "$TOP/man/echobot.sh.1" | grep -vx -e 0 -e 3 | tr '\n' ' ')
is "$(key RestartPreventExitStatus) " "$want" \
    "RestartPreventExitStatus: the statuses of echobot.sh(1) not worth a retry"

if command -v systemd-analyze >/dev/null; then
	# verify runs man(1) on Documentation=: the pages just installed.
	(cd "$T" && MANPATH="$T/p/share/man" systemd-analyze verify "$U") \
	    >"$T/verify" 2>&1
	is "$?:$(cat "$T/verify")" 0: "systemd-analyze verify: clean"
	# Its exposure score, 0 to 10: at most 2, "OK" on its scale.
	systemd-analyze security --offline=yes --threshold=20 "$U" \
	    >"$T/security" 2>&1
	is "$?" 0 "systemd-analyze security: exposure at most 2.0" ||
	    diag "$(tail -n 1 "$T/security")"
else
	for d in "systemd-analyze verify: clean" \
	    "systemd-analyze security: exposure at most 2.0"; do
		skip "$d" "no systemd-analyze (package systemd, tests/deps.sh)"
	done
fi

PROSODY_TLS=1
echobot_setup

# The instance bot: its file, readable by all, and its credential, the
# service user's own, mode 0400, as systemd makes it.
mkdir -p "$T/etc/echobot" "$T/cred" "$T/utmp"
cat >"$T/etc/echobot/bot.conf" <<EOF
jid = bot@localhost
server = 127.0.0.1:$C2S_PORT
tls = starttls
cafile = $CA_FILE
resource = unit
EOF
chmod 644 "$T/etc/echobot/bot.conf"
cp "$T/bot.pass" "$T/cred/password"
chmod 400 "$T/cred/password"
# DynamicUser=: some unprivileged uid; PrivateTmp=: a /tmp of its own.
if [ "$(id -u)" -eq 0 ]; then
	as_unit='setpriv --reuid=65534 --regid=65534 --clear-groups'
	chown -R 65534:65534 "$T/cred" "$T/utmp"
	uid=65534
else
	as_unit=
	uid=$(id -u)
fi
: >"$T/unit.err"
journal=$(stat -c %d:%i "$T/unit.err")
spawn env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CREDENTIALS_DIRECTORY="$T/cred" JOURNAL_STREAM="$journal" \
    TMPDIR="$T/utmp" $as_unit sh -c 'umask 077; exec "$@"' sh \
    $(key ExecStart | sed 's/%i/bot/g') 2>>"$T/unit.err" </dev/null
BOT=$spawned
alice_ping "the unit's ExecStart, as its user: echo" --tls-ca "$CA_FILE" \
    --timeout 60
xe=$(pgrep -s "$BOT" -x xmpp-echo)
is "$(ps -o uid= -p "$xe" | tr -d ' ')" "$uid" "run as the unit's user"
leak=
for p in $(pgrep -s "$BOT"); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
	    grep -qF -e "$BOT_PW" -e XMPP_PASSWORD && leak="$leak $p"
done
is "$leak" "" "the password in no process's environment"
check "stderr the journal: lines as they are, no time" sh -c \
    '! grep -q "^[0-9]\{4\}-" "$1"' sh "$T/unit.err"
for e in "echobot.sh: session 1: connecting to 127.0.0.1:$C2S_PORT" \
    "xmpp-connect: connected to 127.0.0.1 port $C2S_PORT" \
    "xmpp-connect: TLS established with localhost: TLSv1" \
    "xmpp-echo: logged in as bot@localhost/unit" "xmpp-echo: online"; do
	is "$(grep -c "^$e" "$T/unit.err")" 1 "the log: $e..."
done

# systemctl stop: SIGTERM to every process of the unit.
kill -s TERM -- "-$BOT"
ended "$BOT" 15
is "$?" 0 "SIGTERM to the process group: status 0, not a failure"
is "$(ls -A "$T/utmp")" "" "nothing left in its /tmp"

make -s -C "$TOP" uninstall PREFIX="$T/p" SYSCONFDIR="$T/etc" >/dev/null 2>&1
check "make uninstall removes the unit" test ! -e "$U"
