#!/bin/sh
# XEP-0115 entity capabilities against a private Prosody: the bot's
# presence carries caps whose ver the peer computes from the bot's
# disco#info answer, and disco#info for node#ver says the same.
. "$(dirname "$0")/lib.sh"
plan 7

echobot_setup
bot_start -n 1 -t plain -s "127.0.0.1:$C2S_PORT" -p "$T/bot.pass"

alice --no-tls --disco --timeout 30 --linger 0 >"$T/got"
is "$?" 0 "alice saw the bot's presence and asked"
sed -n 1p "$T/got" >"$T/caps"
sed -n 2p "$T/got" >"$T/plain"
sed -n 3p "$T/got" >"$T/node"
caps=$(jfield caps "$T/caps")
check "the presence has caps ($caps)" test "$caps" != null
is "$($PY -c 'import json, sys
c = json.load(open(sys.argv[1]))["caps"]
print(c["hash"], c["node"].startswith(("http://", "https://")))' "$T/caps")" \
    "sha-1 True" "caps: hash sha-1, a node that is a URL"
features=$(jfield features "$T/plain")
check "disco#info answered, with features" test -n "$features" -a \
    "$features" != null -a "$features" != "[]"

# XEP-0115 section 5.1, from the answer alice got
ver() {
	$PY -c 'import base64, hashlib, json, sys
d = json.load(open(sys.argv[1]))
ids = sorted(tuple(x or "" for x in i) for i in d["identities"])
s = "".join("%s/%s/%s/%s<" % i for i in ids)
s += "".join(f + "<" for f in sorted(d["features"], key=lambda f: f.encode()))
print(base64.b64encode(hashlib.sha1(s.encode()).digest()).decode())' "$1"
}
is "\"$(ver "$T/plain")\"" "$($PY -c 'import json, sys
print(json.dumps(json.load(open(sys.argv[1]))["caps"]["ver"]))' "$T/caps")" \
    "caps: ver is the hash of what disco#info answers"
is "$(jfield disco "$T/node") $(jfield node "$T/node")" \
    "$(jfield disco "$T/node") $(jfield disco "$T/node")" \
    "disco#info for node#ver: answered, with the node"
is "$(jfield identities "$T/node") $(jfield features "$T/node")" \
    "$(jfield identities "$T/plain") $(jfield features "$T/plain")" \
    "disco#info for node#ver: the same identity and features"
kill -0 "$BOT_PID" 2>/dev/null || diag "$(cat "$T/bot.err")"
