#!/bin/sh
# xmpp-echo's flood control is for peers: the server's own iqs (no
# 'from', the domain, the account's bare JID; RFC 6120 8.1.2.1), such as
# its keepalive pings, are all answered, while a stranger's meet the
# bucket.  A scripted server (tests/echo-server.py), no network.
. "$(dirname "$0")/lib.sh"
plan 5

echo_server pings server-pings -- "$TOP/xmpp-echo/xmpp-echo" -P -e \
    -b 3 -R 1 bot@localhost
is "$(cat "$T/pings.rc")" 0 "the stream closed: exit 0"
for k in none domain bare; do
	check "20 pings from the server ($k): 20 answered" \
	    grep -qx "$k 20" "$T/pings.notes"
done
check "20 pings from a stranger: the bucket's 3 answered" \
    grep -qx "stranger 3" "$T/pings.notes"
diag "$(cat "$T/pings.notes")"
