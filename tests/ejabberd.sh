# tests/ejabberd.sh - sourced after tests/lib.sh: a private ejabberd
#
# A second real server for the interoperability tests (0200-): Debian's
# ejabberd under $T/ejabberd with its own configuration, spool, logs,
# Erlang node name and cookie, on loopback ports picked here, started
# and stopped by the test.  The system's ejabberd is never touched.
#
# No epmd: the node listens on a port of its own (ERL_DIST_PORT, which
# ejabberdctl turns into -erl_epmd_port and -start_epmd false), and
# ejabberdctl finds it there; so nothing outlives the test.
#
# It sets C2S_PORT (STARTTLS offered, not required; plain TCP works),
# DIRECT_PORT (XEP-0368 direct TLS), EJ_REQ_PORT (STARTTLS required) and
# CA_FILE (the throwaway certificate all three present) as
# prosody_config does, so that lib.sh's bot_start, alice and pipeline
# work unchanged.

EDIR=$T/ejabberd
ECONF=$EDIR/ejabberd.yml

# As root ejabberdctl would su to the ejabberd user (and needs a shell
# and a home there); run it as that user directly instead.
if [ "$(id -u)" -eq 0 ]; then
	as_ejabberd='setpriv --reuid=ejabberd --regid=ejabberd --init-groups'
else
	as_ejabberd=
fi

# ejabberd_require: before the plan; ejabberd installed (else a bail
# out: tests/deps.sh installs it), and runnable, as root or as the
# ejabberd user (else the whole file is skipped: ejabberdctl refuses
# any other user)
ejabberd_require() {
	command -v ejabberdctl >/dev/null ||
	    bail "ejabberd not installed (tests/deps.sh check)"
	if [ -z "$as_ejabberd" ] && [ "$(id -un)" != ejabberd ]; then
		echo "1..0 # SKIP ejabberdctl runs only as root or as ejabberd"
		exit 0
	fi
}

# ectl ARGS...: ejabberdctl ARGS on the private node
ectl() {
	(cd "$EDIR" && HOME=$EDIR $as_ejabberd ejabberdctl \
	    --config-dir "$EDIR" --ctl-config "$EDIR/ejabberdctl.cfg" \
	    --spool "$EDIR/spool" --logs "$EDIR/log" "$@")
}

# ejabberd_modules: the access rules and modules: the few the tests
# need, or with EJ_STOCK=1 those of the configuration Debian installs
# (/etc/ejabberd/ejabberd.yml of 23.01, less those that serve other
# ports), so that the bot meets what a stock server sends: PEP and caps
# queries, offline storage, vCard updates, roster versions ...
ejabberd_modules() {
	if [ "${EJ_STOCK:-0}" != 1 ]; then
		cat <<-EOF
		acl:
		  local:
		    user_regexp: ""
		access_rules:
		  c2s:
		    allow: all
		shaper_rules:
		  max_user_sessions: 10
		modules:
		  mod_admin_extra: {}
		  mod_disco: {}
		  mod_ping: {}
		  mod_roster: {}
		  mod_stream_mgmt:
		    resume_timeout: 300
		EOF
		return
	fi
	cat <<-EOF
	acl:
	  local:
	    user_regexp: ""
	  admin:
	    user: []
	access_rules:
	  c2s:
	    allow: all
	  local:
	    allow: local
	  announce:
	    allow: admin
	  configure:
	    allow: admin
	  muc_create:
	    allow: local
	  pubsub_createnode:
	    allow: local
	shaper_rules:
	  max_user_sessions: 10
	  max_user_offline_messages:
	    100: all
	modules:
	  mod_adhoc: {}
	  mod_admin_extra: {}
	  mod_announce:
	    access: announce
	  mod_avatar: {}
	  mod_blocking: {}
	  mod_caps: {}
	  mod_carboncopy: {}
	  mod_client_state: {}
	  mod_configure: {}
	  mod_disco: {}
	  mod_last: {}
	  mod_muc:
	    access_create: muc_create
	    access_persistent: muc_create
	  mod_offline:
	    access_max_user_messages: max_user_offline_messages
	  mod_ping: {}
	  mod_pres_counter:
	    count: 5
	    interval: 60
	  mod_privacy: {}
	  mod_private: {}
	  mod_pubsub:
	    access_createnode: pubsub_createnode
	    plugins:
	      - flat
	      - pep
	  mod_push: {}
	  mod_push_keepalive: {}
	  mod_roster:
	    versioning: true
	  mod_shared_roster: {}
	  mod_sic: {}
	  mod_stream_mgmt:
	    resend_on_timeout: if_offline
	  mod_vcard:
	    search: false
	  mod_vcard_xupdate: {}
	  mod_version: {}
	EOF
}

# ejabberd_config: the files, once; the modules as ejabberd_modules
# says
ejabberd_config() {
	mkdir -p "$EDIR/spool" "$EDIR/log"
	C2S_PORT=$(free_port)
	DIRECT_PORT=$(free_port)
	EJ_REQ_PORT=$(free_port)
	EJ_DIST_PORT=$(free_port)
	export C2S_PORT DIRECT_PORT EJ_REQ_PORT
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	    -keyout "$EDIR/localhost.key" -out "$EDIR/localhost.crt" \
	    2>/dev/null || bail "openssl req failed"
	cat "$EDIR/localhost.crt" "$EDIR/localhost.key" >"$EDIR/localhost.pem"
	CA_FILE=$EDIR/localhost.crt
	export CA_FILE
	# The cookie: in $HOME, where Erlang looks, never on argv.
	(umask 077 && randpw >"$EDIR/.erlang.cookie")
	# Erlang's resolver: localhost from this file, nothing else.
	echo '{lookup,["file"]}. {host,{127,0,0,1},["localhost"]}.' \
	    >"$EDIR/inetrc"
	cat >"$EDIR/ejabberdctl.cfg" <<-EOF
	ERLANG_NODE=echobot$$@localhost
	ERL_DIST_PORT=$EJ_DIST_PORT
	INET_DIST_INTERFACE=127.0.0.1
	ERL_EPMD_ADDRESS=127.0.0.1
	EJABBERD_BYPASS_WARNINGS=true
	EOF
	# Passwords stored plain: ejabberd offers every SCRAM (SHA-1,
	# SHA-256, SHA-512) only then; with stored SCRAM keys, one hash.
	cat >"$ECONF" <<-EOF
	hosts: [localhost]
	loglevel: debug
	log_rotate_count: 0
	certfiles: ["$EDIR/localhost.pem"]
	auth_method: internal
	auth_password_format: plain
	c2s_protocol_options: [no_sslv3, no_tlsv1, no_tlsv1_1]
	listen:
	  - port: $C2S_PORT
	    ip: "127.0.0.1"
	    module: ejabberd_c2s
	    max_stanza_size: 262144
	    starttls: true
	  - port: $DIRECT_PORT
	    ip: "127.0.0.1"
	    module: ejabberd_c2s
	    max_stanza_size: 262144
	    tls: true
	  - port: $EJ_REQ_PORT
	    ip: "127.0.0.1"
	    module: ejabberd_c2s
	    max_stanza_size: 262144
	    starttls_required: true
	EOF
	ejabberd_modules >>"$ECONF"
	[ -n "$as_ejabberd" ] && chown -R ejabberd:ejabberd "$EDIR"
	return 0
}

# ejabberd_start: configure (once), start, wait until it listens (its
# listeners open last, once its modules are up); EJ_PID
ejabberd_start() {
	[ -f "$ECONF" ] || ejabberd_config
	spawn sh -c 'cd "$0" && HOME=$0 exec "$@"' "$EDIR" $as_ejabberd \
	    ejabberdctl --config-dir "$EDIR" \
	    --ctl-config "$EDIR/ejabberdctl.cfg" --spool "$EDIR/spool" \
	    --logs "$EDIR/log" foreground >>"$EDIR/stdout" 2>&1
	EJ_PID=$spawned
	# Listening is not ready: ejabberdctl's commands (the accounts'
	# import) work once the start is logged as done.
	if ! wait_port 127.0.0.1 "$C2S_PORT" 60 ||
	    ! wait_port 127.0.0.1 "$DIRECT_PORT" 5 ||
	    ! wait_file_grep "$EDIR/log/ejabberd.log" \
	    "ejabberd .* is started in the node" 60; then
		diag "ejabberd did not start:" "$(tail -n 20 "$EDIR/stdout" \
		    "$EDIR/log/ejabberd.log" 2>/dev/null)"
		return 1
	fi
}

# ejabberd_stop: as an administrator stops it, with `ejabberdctl stop`:
# every client gets the stream error system-shutdown.  (On SIGTERM the
# Erlang VM shuts down too, but ejabberd's connections may be closed
# before that error is written.)
ejabberd_stop() {
	[ -n "${EJ_PID:-}" ] || return 0
	ectl stop >/dev/null 2>&1
	wait_gone "$EJ_PID" 20
	stop "$EJ_PID"
	EJ_PID=
}

# ejabberd_accounts USER PASS [USER PASS ...]: the accounts, each in the
# others' rosters (subscription both, so that peer.py sees the bot come
# online), imported from an XEP-0227 file: the passwords never go on
# argv, as `ejabberdctl register` would put them.  (PASS as randpw makes
# it: nothing to escape.)
ejabberd_accounts() {
	_f=$EDIR/import.xml
	_names=$(printf '%s\n' "$@" | sed -n 'p;n')
	(umask 077 && {
		echo "<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'>"
		while [ $# -ge 2 ]; do
			echo "<user name='$1' password='$2'>"
			echo "<query xmlns='jabber:iq:roster'>"
			for _o in $_names; do
				[ "$_o" = "$1" ] || echo "<item jid='$_o@localhost'" \
				    "subscription='both'/>"
			done
			echo "</query></user>"
			shift 2
		done
		echo "</host></server-data>"
	} >"$_f")
	[ -n "$as_ejabberd" ] && chown ejabberd "$_f"
	ectl import_piefxis "$_f" >"$EDIR/import.out" 2>&1
	_st=$?
	rm -f "$_f"
	[ $_st -eq 0 ] || return 1
	# (an import that fails on the file's content still exits 0)
	ectl registered_users localhost >"$EDIR/users" || return 1
	for _o in $_names; do
		grep -qx "$_o" "$EDIR/users" || return 1
	done
}

# ejabberd_setup: private ejabberd with accounts bot and alice, friends
# (random passwords, $T/bot.pass and ALICE_PW), as echobot_setup does
ejabberd_setup() {
	ejabberd_start || bail "ejabberd did not start"
	BOT_PW=$(randpw)
	ALICE_PW=$(randpw)
	if ! ejabberd_accounts bot "$BOT_PW" alice "$ALICE_PW"; then
		diag "$(cat "$EDIR/import.out" "$EDIR/users" 2>/dev/null)"
		bail "ejabberdctl import_piefxis failed"
	fi
	(umask 077 && printf '%s\n' "$BOT_PW" >"$T/bot.pass")
	mkdir -p "$T/tmp"
}
