/* login.c - the state machine: the login steps, bind, roster, presence */

#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "extern.h"

/* The condition of a failure or error: its first child element. */
const char *
condition(const struct xnode *n, const char *ns)
{
	const struct xnode *c;

	for (c = n->child; c != NULL; c = c->next)
		if (c->name != NULL && strcmp(c->name, "text") != 0 &&
		    c->ns != NULL && strcmp(c->ns, ns) == 0)
			return c->name;
	return "undefined-condition";
}

/* Prints "WHAT: CONDITION (text)" and exits. */

void
fail_cond(struct bot *b, int status, const char *what,
    const struct xnode *n, const char *ns)
{
	const struct xnode *t;
	char *cond, *text = NULL, *s;

	cond = safe_str(condition(n, ns));
	if ((t = xnode_child(n, ns, "text")) != NULL) {
		s = xnode_text(t);
		text = safe_str(s);
		free(s);
	}
	if (text != NULL && *text != '\0')
		fail(b, status, "%s: %s (%s)", what, cond, text);
	fail(b, status, "%s: %s", what, cond);
}

/*
 * Resource binding (RFC 6120 section 7), then the legacy session of
 * RFC 3921 section 3 when the server still requires it, the roster and
 * the initial presence (RFC 6121 sections 2.2 and 4.2).
 */

void
send_iq(struct bot *b, const char *type, const char *to,
    const char *payload_open, const char *value, const char *payload_close)
{
	struct buf x = { 0 };

	free(b->pending);
	b->pending = new_id(b);
	buf_printf(&x, "<iq type='%s' id='", type);
	xml_escapes(&x, b->pending);
	if (to != NULL) {
		buf_adds(&x, "' to='");
		xml_escapes(&x, to);
	}
	buf_adds(&x, "'>");
	buf_adds(&x, payload_open);
	if (value != NULL)
		xml_escapes(&x, value);
	buf_adds(&x, payload_close);
	buf_adds(&x, "</iq>");
	send_xml(b, &x, NULL);
	buf_free(&x);
}

void
send_bind(struct bot *b)
{
	if (b->resource != NULL)
		send_iq(b, "set", NULL, "<bind xmlns='" NS_BIND "'><resource>",
		    b->resource, "</resource></bind>");
	else
		send_iq(b, "set", NULL, "<bind xmlns='" NS_BIND "'/>", NULL,
		    "");
	b->state = S_BIND;
}

/* RFC 6121 section 2.2: the roster before the initial presence. */
static void
send_roster_get(struct bot *b)
{
	send_iq(b, "get", NULL, "<query xmlns='" NS_ROSTER "'/>", NULL, "");
	b->state = S_ROSTER;
}

void
go_online(struct bot *b)
{
	struct buf x = { 0 };

	buf_adds(&x, "<presence>");
	if (b->status != NULL) {
		buf_adds(&x, "<status>");
		xml_texts(&x, b->status);
		buf_adds(&x, "</status>");
	}
	put_caps(&x);
	buf_adds(&x, "</presence>");
	send_xml(b, &x, NULL);
	buf_free(&x);
	b->state = S_ONLINE;
	b->was_online = 1;
	sm_send_carried(b);
	if (b->notes)
		warnx("online");
}

/* The answer to our pending iq, or NULL. */
static const struct xnode *
our_result(const struct bot *b, const struct record *r)
{
	const char *id, *type;

	if (strcmp(r->kind, "iq") != 0 || b->pending == NULL)
		return NULL;
	id = xnode_attr(r->root, "id");
	type = xnode_attr(r->root, "type");
	if (id == NULL || strcmp(id, b->pending) != 0 || type == NULL ||
	    (strcmp(type, "result") != 0 && strcmp(type, "error") != 0))
		return NULL;
	return r->root;
}

/*
 * One handler per state.
 */

int
is_kind(const struct record *r, const char *kind, const char *ns)
{
	return strcmp(r->kind, kind) == 0 && r->root->ns != NULL &&
	    strcmp(r->root->ns, ns) == 0;
}

static void
unexpected(struct bot *b, const struct record *r)
{
	char *k = safe_str(r->kind);

	fail(b, EX_PROTO, "unexpected %s record", k);
}

static void
st_open(struct bot *b, const struct record *r)
{
	const char *v;

	if (!is_kind(r, KIND_OPEN, NS_STREAM))
		unexpected(b, r);
	/* RFC 6120 section 4.7.5: no version, no SASL. */
	v = xnode_attr(r->root, "version");
	if (v == NULL || strncmp(v, "1.", 2) != 0)
		fail(b, EX_PROTO, "server does not speak XMPP 1.0");
	b->state = b->state == S_OPEN ? S_FEATURES : S_REFEATURES;
}

static void
st_features(struct bot *b, const struct record *r)
{
	const struct xnode *mechs;

	if (!is_kind(r, "stream:features", NS_STREAM))
		unexpected(b, r);
	if ((mechs = xnode_child(r->root, NS_SASL, "mechanisms")) == NULL) {
		if (xnode_child(r->root, NS_TLS, "starttls") != NULL)
			fail(b, EX_AUTH, "server offers no SASL before "
			    "STARTTLS");
		fail(b, EX_AUTH, "server offers no SASL mechanisms");
	}
	b->mech = choose_mech(b, mechs);
	b->state = S_SASL;
	start_auth(b);
}

static void
st_sasl(struct bot *b, const struct record *r)
{
	if (is_kind(r, "challenge", NS_SASL))
		on_challenge(b, r->root);
	else if (is_kind(r, "success", NS_SASL))
		on_success(b, r->root);
	else if (is_kind(r, "failure", NS_SASL))
		fail_cond(b, EX_AUTH, "authentication failed", r->root,
		    NS_SASL);
	else
		unexpected(b, r);
}

static void
st_refeatures(struct bot *b, const struct record *r)
{
	const struct xnode *s;

	if (!is_kind(r, "stream:features", NS_STREAM))
		unexpected(b, r);
	b->sm.offered = xnode_child(r->root, NS_SM, "sm") != NULL;
	if (b->sm.id != NULL && b->sm.offered) {
		sm_resume(b);
		return;
	}
	if (b->sm.id != NULL) {
		warnx("stream management no longer offered: a new session");
		sm_forget(b);
	}
	if (xnode_child(r->root, NS_BIND, "bind") == NULL)
		fail(b, EX_PROTO, "server offers no resource binding");
	/*
	 * The RFC 3921 session is obsolete (RFC 6121 appendix E); servers
	 * that keep it mark it <optional/> when it may be skipped.
	 */
	s = xnode_child(r->root, NS_SESSION, "session");
	b->session = s != NULL &&
	    xnode_child(s, NS_SESSION, "optional") == NULL;
	send_bind(b);
}

/* An iq error: its condition, as for a stream error. */
static void	 fail_iq(struct bot *, const char *, const struct xnode *)
    __attribute__((noreturn));

static void
fail_iq(struct bot *b, const char *what, const struct xnode *iq)
{
	const struct xnode *e;

	if ((e = xnode_child(iq, NS_CLIENT, "error")) == NULL)
		fail(b, EX_PROTO, "%s", what);
	fail_cond(b, EX_PROTO, what, e, NS_STANZAS);
}

/*
 * The JID bound (RFC 6120 section 7.6.1) must be a full JID of our own
 * account: with another, the bot would ignore what is sent to it and
 * answer what is sent to someone else.
 */
static void
check_bound(struct bot *b)
{
	char *safe;

	if (jid_normalize(b->full) == -1)
		fail(b, EX_PROTO, "resource binding: the server bound no "
		    "valid JID");
	if (!own_bare_jid(b, b->full) || strchr(b->full, '/') == NULL) {
		safe = safe_str(b->full);
		fail(b, EX_PROTO, "resource binding: the server bound %s, "
		    "not a full JID of %s", safe, b->bare);
	}
}

/* Our pending iq answered: forget it. */
void
settle(struct bot *b)
{
	free(b->pending);
	b->pending = NULL;
}

/* The JID the server bound: its text, made printable. */
static void
note_bound(const struct bot *b)
{
	char	*t = safe_str(b->full);

	warnx("logged in as %.3071s", t);	/* RFC 7622: 3 x 1023 */
	free(t);
}

static void
st_bind(struct bot *b, const struct record *r)
{
	const struct xnode *iq, *bind, *jid;

	if ((iq = our_result(b, r)) == NULL) {
		on_stanza(b, r);
		return;
	}
	if (strcmp(xnode_attr(iq, "type"), "error") == 0)
		fail_iq(b, "resource binding failed", iq);
	if ((bind = xnode_child(iq, NS_BIND, "bind")) == NULL ||
	    (jid = xnode_child(bind, NS_BIND, "jid")) == NULL)
		fail(b, EX_PROTO, "resource binding: no JID in the result");
	/* The full JID tells which iqs are addressed to us. */
	free(b->full);
	b->full = xnode_text(jid);
	check_bound(b);
	settle(b);
	if (b->notes)
		note_bound(b);
	/* XEP-0198 section 3: once bound; the rest is counted. */
	if (b->sm.offered)
		sm_enable(b);
	if (b->session) {
		send_iq(b, "set", NULL, "<session xmlns='" NS_SESSION "'/>",
		    NULL, "");
		b->state = S_SESSION;
	} else
		send_roster_get(b);
}

static void
st_session(struct bot *b, const struct record *r)
{
	const struct xnode *iq;

	if ((iq = our_result(b, r)) == NULL) {
		on_stanza(b, r);
		return;
	}
	if (strcmp(xnode_attr(iq, "type"), "error") == 0)
		fail_iq(b, "session failed", iq);
	settle(b);
	send_roster_get(b);
}

/* Nothing of the roster is kept: a refusal costs nothing either. */
static void
st_roster(struct bot *b, const struct record *r)
{
	if (our_result(b, r) == NULL) {
		on_stanza(b, r);
		return;
	}
	settle(b);
	go_online(b);
}

/* Only <resumed/> or <failed/> may come (sm.c), nothing else. */
static void
st_resume(struct bot *b, const struct record *r)
{
	unexpected(b, r);
}

static void
st_online(struct bot *b, const struct record *r)
{
	on_stanza(b, r);
}

/* Our close is sent: what comes before the server's is not answered. */
static void
st_closing(struct bot *b, const struct record *r)
{
	(void)b;
	(void)r;
}

static void (*const handler[])(struct bot *, const struct record *) = {
	[S_OPEN] = st_open,
	[S_FEATURES] = st_features,
	[S_SASL] = st_sasl,
	[S_REOPEN] = st_open,
	[S_REFEATURES] = st_refeatures,
	[S_RESUME] = st_resume,
	[S_BIND] = st_bind,
	[S_SESSION] = st_session,
	[S_ROSTER] = st_roster,
	[S_ONLINE] = st_online,
	[S_CLOSING] = st_closing
};

/* Records that mean the same in every state, then the state's handler. */
void
dispatch(struct bot *b, const struct record *r)
{
	const char *off;
	char *t, *msg;
	int counted;

	if (b->state == S_CLOSING && (strcmp(r->kind, KIND_CLOSE) == 0 ||
	    strcmp(r->kind, KIND_ERROR) == 0 ||
	    is_kind(r, "stream:error", NS_STREAM)))
		finish_close(b);
	if (strcmp(r->kind, KIND_ERROR) == 0) {
		off = xnode_attr(r->root, "offset");
		t = xnode_text(r->root);
		msg = safe_str(t);
		free(t);
		/* A cut connection, not a server at fault (xmpp-record(5)). */
		if (strcmp(msg, PARSE_TRUNCATED) == 0)
			fail(b, EX_EOF, "input ended before the stream was "
			    "closed (cut at offset %s)", off != NULL ? off : "?");
		fail(b, EX_PROTO, "xmpp-parse gave up at offset %s: %s",
		    off != NULL ? off : "?", msg);
	}
	if (strcmp(r->kind, KIND_CLOSE) == 0) {
		/* RFC 6120 section 4.4: answer the close, then we are done;
		 * so is the session (XEP-0198 section 5). */
		sm_forget(b);
		send_str(b, "</stream:stream>");
		leave(b, EX_OK);
	}
	if (is_kind(r, "stream:error", NS_STREAM))
		on_stream_error(b, r->root);
	if (ns_equal(r->root->ns, NS_SM)) {
		sm_record(b, r);
		return;
	}
	/* Counted once handled: a stanza that ends the run is not. */
	counted = b->sm.enabled;
	if (strcmp(r->kind, KIND_SKIPPED) == 0)
		on_skipped(b, r);
	else
		handler[b->state](b, r);
	if (counted)
		sm_count_in(b, r);
}

/*
 * During the login each request has timeout ms to be answered: the
 * clock starts again when the login moves on (a new state, a SASL
 * challenge answered), never for other stanzas, which would keep a
 * login that goes nowhere alive.
 */
void
login_progress(struct bot *b, enum state prev, const struct record *r)
{
	if (b->state != prev || is_kind(r, "challenge", NS_SASL))
		b->step_by = now_ms() + b->timeout;
}
