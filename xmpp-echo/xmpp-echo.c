/*
 * xmpp-echo - log in to an XMPP server and echo chat messages
 *
 * Reads the server's stream as records (xmpp-record(5)) on stdin and
 * writes the client's side of the stream as XML on stdout: SASL
 * (RFC 6120 section 6), resource binding (section 7), initial presence,
 * then an echo of every chat or normal message (RFC 6121 section 5).
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <readpassphrase.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "sandbox.h"
#include "sasl.h"

#define JID_PART_MAX	1023	/* RFC 7622 section 3: bytes per part */
#define MAX_MECHS	8

/* Exit statuses, as in xmpp-echo(1). */
enum {
	EX_OK = 0,
	EX_LOCAL = 1,
	EX_AUTH = 2,
	EX_STREAM = 3,
	EX_PROTO = 4,
	EX_EOF = 5
};

enum state {
	S_OPEN,		/* stream header awaited (before SASL) */
	S_FEATURES,	/* features awaited: pick a mechanism */
	S_SASL,		/* challenge, success or failure awaited */
	S_REOPEN,	/* stream header awaited after SASL */
	S_REFEATURES,	/* features awaited: bind */
	S_BIND,		/* bind result awaited */
	S_SESSION,	/* session result awaited */
	S_ONLINE	/* presence sent: echoing */
};

struct bot {
	enum state	 state;
	int		 verbose;
	int		 plain_ok;	/* -e or -P */
	const char	*mechs[MAX_MECHS];	/* acceptable, best first */
	size_t		 nmechs;
	char		*local, *domain, *bare, *resource;
	char		*pass;
	const char	*mech;		/* the one chosen */
	struct scram	 scram;
	int		 session;	/* session required by the server */
	char		 idprefix[9];
	unsigned long	 idseq;
	char		*pending;	/* id of the bind or session iq */
	int		 open;		/* our stream header was sent */
};

static void	 usage(FILE *, int) __attribute__((noreturn));

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: xmpp-echo [-ehPvVX] [-m mechanisms] "
	    "[-p passfile] [-r resource] jid\n");
	exit(status);
}

/*
 * Output and tracing.
 */

/*
 * Diagnostics show bytes, never act on them: control bytes as \xHH,
 * but for the TAB that separates the items of a record.
 */
static void
put_safe(FILE *fp, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			fprintf(fp, "\\x%02x", (unsigned char)s[i]);
		else
			putc(s[i], fp);
	}
}

static void
trace(struct bot *b, char dir, const char *s, size_t n)
{
	if (!b->verbose)
		return;
	fprintf(stderr, "%c ", dir);
	put_safe(stderr, s, n);
	putc('\n', stderr);
	fflush(stderr);
}

static int
write_all(const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(STDOUT_FILENO, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes one chunk of XML at once; redacted, if given, is traced instead. */
static void
send_xml(struct bot *b, struct buf *x, const char *redacted)
{
	if (redacted != NULL)
		trace(b, '>', redacted, strlen(redacted));
	else
		trace(b, '>', x->p, x->len);
	if (write_all(x->p, x->len) == -1)
		err(EX_LOCAL, "write");
}

static void
send_str(struct bot *b, const char *s)
{
	struct buf x = { 0 };

	buf_adds(&x, s);
	send_xml(b, &x, NULL);
	buf_free(&x);
}

/* Gives up: closes our stream if it is open, says why, exits. */
static void	 fail(struct bot *, int, const char *, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

static void
fail(struct bot *b, int status, const char *fmt, ...)
{
	va_list ap;

	if (b->open) {
		trace(b, '>', "</stream:stream>", 16);
		(void)write_all("</stream:stream>", 16);
	}
	va_start(ap, fmt);
	verrx(status, fmt, ap);
	va_end(ap);
}

/* A printable copy of untrusted text for a message; caller frees. */
static char *
safe_str(const char *s)
{
	char *t, *p;

	if ((t = strdup(s)) == NULL)
		err(EX_LOCAL, "strdup");
	for (p = t; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return t;
}

static void
send_header(struct bot *b)
{
	struct buf x = { 0 };

	buf_adds(&x, "<stream:stream xmlns='" NS_CLIENT "' xmlns:stream='"
	    NS_STREAM "' to='");
	xml_escapes(&x, b->domain);
	buf_adds(&x, "' from='");
	xml_escapes(&x, b->bare);
	buf_adds(&x, "' version='1.0' xml:lang='en'>");
	b->open = 1;
	send_xml(b, &x, NULL);
	buf_free(&x);
}

/* A fresh iq id: a random prefix (per run) and a counter. */
static char *
new_id(struct bot *b)
{
	struct buf x = { 0 };

	buf_printf(&x, "%s-%lu", b->idprefix, ++b->idseq);
	return buf_str(&x);
}

/*
 * SASL (RFC 6120 section 6).  Payloads are base64 in the element's
 * text; "=" stands for an empty payload (section 6.4.2).
 */

static void
send_sasl(struct bot *b, const char *elem, const char *mech,
    const char *data, size_t len)
{
	struct buf x = { 0 }, red = { 0 };
	char *b64;

	if ((b64 = b64_encode(data, len)) == NULL)
		errx(EX_LOCAL, "base64: message too long");
	buf_printf(&x, "<%s xmlns='" NS_SASL "'", elem);
	if (mech != NULL) {
		buf_adds(&x, " mechanism='");
		xml_escapes(&x, mech);
		buf_addc(&x, '\'');
	}
	buf_addc(&x, '>');
	buf_add(&red, x.p, x.len);
	buf_adds(&x, len == 0 ? "=" : b64);
	buf_printf(&x, "</%s>", elem);
	buf_printf(&red, "[redacted]</%s>", elem);
	send_xml(b, &x, buf_str(&red));
	explicit_bzero(b64, strlen(b64));
	explicit_bzero(x.p, x.cap);
	free(b64);
	buf_free(&x);
	buf_free(&red);
}

/* The decoded payload of a challenge or success; NULL when it has none. */
static unsigned char *
sasl_data(struct bot *b, const struct xnode *n, size_t *len)
{
	unsigned char *d;
	char *t;

	t = xnode_text(n);
	*len = 0;
	if (*t == '\0') {
		free(t);
		return NULL;
	}
	if (strcmp(t, "=") == 0)
		d = (unsigned char *)strdup("");
	else if (b64_decode(t, strlen(t), &d, len) == -1)
		fail(b, EX_AUTH, "SASL: bad base64 from the server");
	if (d == NULL)
		err(EX_LOCAL, "strdup");
	free(t);
	return d;
}

static int
offered(const struct xnode *mechs, const char *name)
{
	const struct xnode *c;
	char *t;
	int yes;

	for (c = mechs->child; c != NULL; c = c->next) {
		if (c->name == NULL || strcmp(c->name, "mechanism") != 0 ||
		    c->ns == NULL || strcmp(c->ns, NS_SASL) != 0)
			continue;
		t = xnode_text(c);
		yes = strcmp(t, name) == 0;
		free(t);
		if (yes)
			return 1;
	}
	return 0;
}

/* " A B C": the mechanisms offered, printable, for a message. */
static char *
mech_list(const struct xnode *mechs)
{
	const struct xnode *c;
	struct buf x = { 0 };
	char *t, *safe;

	for (c = mechs->child; c != NULL; c = c->next) {
		if (c->name == NULL || strcmp(c->name, "mechanism") != 0)
			continue;
		t = xnode_text(c);
		safe = safe_str(t);
		buf_printf(&x, " %s", safe);
		free(safe);
		free(t);
	}
	return buf_str(&x);
}

static const char *
choose_mech(struct bot *b, const struct xnode *mechs)
{
	size_t i;
	int plain_refused = 0;

	for (i = 0; i < b->nmechs; i++) {
		if (!offered(mechs, b->mechs[i]))
			continue;
		/* PLAIN shows the password to whoever sees the link. */
		if (strcmp(b->mechs[i], "PLAIN") == 0 && !b->plain_ok) {
			plain_refused = 1;
			continue;
		}
		return b->mechs[i];
	}
	if (plain_refused)
		fail(b, EX_AUTH, "refusing PLAIN on a link not known to be "
		    "encrypted (use -e or -P if it is safe)");
	fail(b, EX_AUTH, "no acceptable SASL mechanism among:%s",
	    mech_list(mechs));
}

static void
wipe_pass(struct bot *b)
{
	if (b->pass == NULL)
		return;
	explicit_bzero(b->pass, strlen(b->pass));
	free(b->pass);
	b->pass = NULL;
}

static void
start_auth(struct bot *b)
{
	char *msg;
	size_t len;

	if (strcmp(b->mech, "PLAIN") == 0) {
		/* RFC 6120 section 6.3.8: the authcid is the localpart. */
		if ((msg = sasl_plain(b->local, b->pass, &len)) == NULL)
			err(EX_LOCAL, "malloc");
		send_sasl(b, "auth", b->mech, msg, len);
		explicit_bzero(msg, len);
		free(msg);
	} else {
		if (scram_init(&b->scram, b->mech, b->local, b->pass,
		    NULL) == -1)
			errx(EX_LOCAL, "%s: cannot start", b->mech);
		msg = scram_client_first(&b->scram);
		send_sasl(b, "auth", b->mech, msg, strlen(msg));
		free(msg);
	}
	wipe_pass(b);
}

static void
scram_challenge(struct bot *b, const unsigned char *d, size_t len)
{
	const char *errstr;
	char *out;

	switch (b->scram.step) {
	case SCRAM_FIRST:
		if (scram_client_final(&b->scram, (const char *)d, len, &out,
		    &errstr) == -1)
			fail(b, EX_AUTH, "%s: %s", b->mech, errstr);
		send_sasl(b, "response", NULL, out, strlen(out));
		explicit_bzero(out, strlen(out));
		free(out);
		break;
	case SCRAM_FINAL:
		/* The server-final message in a challenge: verify, then
		 * answer with an empty response (RFC 6120 section 6.4.3). */
		if (scram_verify(&b->scram, (const char *)d, len,
		    &errstr) == -1)
			fail(b, EX_AUTH, "%s: %s", b->mech, errstr);
		send_sasl(b, "response", NULL, "", 0);
		break;
	default:
		fail(b, EX_AUTH, "%s: unexpected challenge", b->mech);
	}
}

static void
on_challenge(struct bot *b, const struct xnode *n)
{
	unsigned char *d;
	size_t len;

	if (strcmp(b->mech, "PLAIN") == 0)
		fail(b, EX_AUTH, "PLAIN: unexpected challenge");
	if ((d = sasl_data(b, n, &len)) == NULL)
		fail(b, EX_AUTH, "%s: empty challenge", b->mech);
	scram_challenge(b, d, len);
	free(d);
}

/* A success proves nothing until the SCRAM server signature checks. */
static void
on_success(struct bot *b, const struct xnode *n)
{
	unsigned char *d;
	const char *errstr;
	size_t len;

	d = sasl_data(b, n, &len);
	if (strcmp(b->mech, "PLAIN") != 0) {
		if (b->scram.step == SCRAM_FINAL) {
			if (d == NULL)
				fail(b, EX_AUTH, "%s: no server signature",
				    b->mech);
			if (scram_verify(&b->scram, (const char *)d, len,
			    &errstr) == -1)
				fail(b, EX_AUTH, "%s: %s", b->mech, errstr);
		}
		if (b->scram.step != SCRAM_DONE)
			fail(b, EX_AUTH, "%s: success before the exchange "
			    "ended", b->mech);
		scram_free(&b->scram);
	}
	free(d);
	b->state = S_REOPEN;
	/* RFC 6120 section 6.4.6: a new stream over the same link. */
	send_header(b);
}

/* The condition of a failure or error: its first child element. */
static const char *
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
static void	 fail_cond(struct bot *, int, const char *,
    const struct xnode *, const char *) __attribute__((noreturn));

static void
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
 * RFC 3921 section 3 when the server still requires it.
 */

static void
send_iq_set(struct bot *b, const char *payload_open, const char *value,
    const char *payload_close)
{
	struct buf x = { 0 };

	free(b->pending);
	b->pending = new_id(b);
	buf_adds(&x, "<iq type='set' id='");
	xml_escapes(&x, b->pending);
	buf_adds(&x, "'>");
	buf_adds(&x, payload_open);
	if (value != NULL)
		xml_escapes(&x, value);
	buf_adds(&x, payload_close);
	buf_adds(&x, "</iq>");
	send_xml(b, &x, NULL);
	buf_free(&x);
}

static void
send_bind(struct bot *b)
{
	if (b->resource != NULL)
		send_iq_set(b, "<bind xmlns='" NS_BIND "'><resource>",
		    b->resource, "</resource></bind>");
	else
		send_iq_set(b, "<bind xmlns='" NS_BIND "'/>", NULL, "");
	b->state = S_BIND;
}

static void
go_online(struct bot *b)
{
	send_str(b, "<presence/>");
	b->state = S_ONLINE;
}

/*
 * Stanzas (RFC 6121).
 */

static int
own_bare_jid(const struct bot *b, const char *from)
{
	size_t n = strcspn(from, "/");

	return n == strlen(b->bare) && strncasecmp(from, b->bare, n) == 0;
}

static int
echoable(const struct bot *b, const struct xnode *m)
{
	const char *type = xnode_attr(m, "type"), *from = xnode_attr(m, "from");

	if (type != NULL && strcmp(type, "chat") != 0 &&
	    strcmp(type, "normal") != 0)
		return 0;
	if (from == NULL || own_bare_jid(b, from))
		return 0;
	return xnode_child(m, NS_CLIENT, "body") != NULL;
}

/* <NAME[ ATTR='..']>text</NAME>, the attribute only when present. */
static void
put_text_elem(struct buf *x, const char *name, const char *attr,
    const char *value, const struct xnode *n)
{
	char *t;

	buf_printf(x, "<%s", name);
	if (value != NULL) {
		buf_printf(x, " %s='", attr);
		xml_escapes(x, value);
		buf_addc(x, '\'');
	}
	buf_addc(x, '>');
	t = xnode_text(n);
	xml_escapes(x, t);
	free(t);
	buf_printf(x, "</%s>", name);
}

static void
echo_message(struct bot *b, const struct xnode *m)
{
	const struct xnode *c;
	const char *type = xnode_attr(m, "type");
	struct buf x = { 0 };
	char *id;

	if (!echoable(b, m))
		return;
	id = new_id(b);
	buf_adds(&x, "<message to='");
	xml_escapes(&x, xnode_attr(m, "from"));
	if (type != NULL) {
		buf_adds(&x, "' type='");
		xml_escapes(&x, type);
	}
	buf_adds(&x, "' id='");
	xml_escapes(&x, id);
	buf_adds(&x, "'>");
	for (c = m->child; c != NULL; c = c->next) {
		if (c->name == NULL || c->ns == NULL ||
		    strcmp(c->ns, NS_CLIENT) != 0)
			continue;
		if (strcmp(c->name, "body") == 0)
			put_text_elem(&x, "body", "xml:lang",
			    xnode_attr_ns(c, NS_XML, "lang"), c);
		else if (strcmp(c->name, "thread") == 0)
			put_text_elem(&x, "thread", "parent",
			    xnode_attr(c, "parent"), c);
	}
	buf_adds(&x, "</message>");
	send_xml(b, &x, NULL);
	buf_free(&x);
	free(id);
}

/* RFC 6120 section 8.2.3: every get or set gets an answer. */
static void
answer_iq(struct bot *b, const struct xnode *iq)
{
	const char *type = xnode_attr(iq, "type"), *id = xnode_attr(iq, "id");
	const char *from = xnode_attr(iq, "from");
	struct buf x = { 0 };

	if (type == NULL || id == NULL ||
	    (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
		return;
	buf_adds(&x, "<iq type='error' id='");
	xml_escapes(&x, id);
	if (from != NULL) {
		buf_adds(&x, "' to='");
		xml_escapes(&x, from);
	}
	buf_adds(&x, "'><error type='cancel'><service-unavailable xmlns='"
	    NS_STANZAS "'/></error></iq>");
	send_xml(b, &x, NULL);
	buf_free(&x);
}

static void
on_stanza(struct bot *b, const struct record *r)
{
	const struct xnode *n = r->root;

	if (n->ns == NULL || strcmp(n->ns, NS_CLIENT) != 0)
		return;
	if (strcmp(r->kind, "message") == 0)
		echo_message(b, n);
	else if (strcmp(r->kind, "iq") == 0)
		answer_iq(b, n);
	/* presence and anything else: nothing to say yet */
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

static int
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

static void
st_bind(struct bot *b, const struct record *r)
{
	const struct xnode *iq, *bind;

	if ((iq = our_result(b, r)) == NULL) {
		on_stanza(b, r);
		return;
	}
	if (strcmp(xnode_attr(iq, "type"), "error") == 0)
		fail_iq(b, "resource binding failed", iq);
	/* The full JID itself is not needed: we only answer others. */
	if ((bind = xnode_child(iq, NS_BIND, "bind")) == NULL ||
	    xnode_child(bind, NS_BIND, "jid") == NULL)
		fail(b, EX_PROTO, "resource binding: no JID in the result");
	free(b->pending);
	b->pending = NULL;
	if (b->session) {
		send_iq_set(b, "<session xmlns='" NS_SESSION "'/>", NULL, "");
		b->state = S_SESSION;
	} else
		go_online(b);
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
	free(b->pending);
	b->pending = NULL;
	go_online(b);
}
static void
st_online(struct bot *b, const struct record *r)
{
	on_stanza(b, r);
}

static void (*const handler[])(struct bot *, const struct record *) = {
	[S_OPEN] = st_open,
	[S_FEATURES] = st_features,
	[S_SASL] = st_sasl,
	[S_REOPEN] = st_open,
	[S_REFEATURES] = st_refeatures,
	[S_BIND] = st_bind,
	[S_SESSION] = st_session,
	[S_ONLINE] = st_online
};

/* Records that mean the same in every state, then the state's handler. */
static void
dispatch(struct bot *b, const struct record *r)
{
	const char *off;
	char *t, *msg;

	if (strcmp(r->kind, KIND_ERROR) == 0) {
		off = xnode_attr(r->root, "offset");
		t = xnode_text(r->root);
		msg = safe_str(t);
		free(t);
		fail(b, EX_PROTO, "xmpp-parse gave up at offset %s: %s",
		    off != NULL ? off : "?", msg);
	}
	if (strcmp(r->kind, KIND_CLOSE) == 0) {
		/* RFC 6120 section 4.4: answer the close, then we are done. */
		send_str(b, "</stream:stream>");
		exit(EX_OK);
	}
	if (is_kind(r, "stream:error", NS_STREAM))
		fail_cond(b, EX_STREAM, "stream error", r->root,
		    NS_STREAMS_ERR);
	handler[b->state](b, r);
}

/* The trace of a record, with the SASL payload of a challenge or
 * success replaced. */
static void
trace_record(struct bot *b, const struct record *r, const char *line,
    size_t len)
{
	struct recw w = { 0 };
	const struct xnode *c;
	size_t i;

	if (!b->verbose)
		return;
	if (!is_kind(r, "challenge", NS_SASL) &&
	    !is_kind(r, "success", NS_SASL)) {
		trace(b, '<', line, len);
		return;
	}
	rec_begin(&w, r->kind, r->root->ns);
	for (i = 0; i < r->root->nattrs; i++)
		rec_attr(&w, r->root->attrs[i].ns, r->root->attrs[i].name,
		    r->root->attrs[i].value);
	for (c = r->root->child; c != NULL; c = c->next)
		if (c->name == NULL) {
			rec_text(&w, "[redacted]", 10);
			break;
		}
	rec_finish(&w);
	trace(b, '<', w.out.p, w.out.len - 1);
	rec_free(&w);
}

static void
run(struct bot *b)
{
	struct record r;
	const char *errstr;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	send_header(b);
	while ((n = getline(&line, &cap, stdin)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (record_decode(line, (size_t)n, &r, &errstr) == -1) {
			trace(b, '<', line, (size_t)n);
			fail(b, EX_PROTO, "bad record: %s", errstr);
		}
		trace_record(b, &r, line, (size_t)n);
		dispatch(b, &r);
		record_free(&r);
	}
	if (ferror(stdin))
		err(EX_LOCAL, "stdin");
	free(line);
	/* A close would have ended the run in dispatch(). */
	fail(b, EX_EOF, "input ended before the stream was closed");
}

/*
 * Setup: the JID, the mechanisms, the password.
 */

static char *
xstrndup(const char *s, size_t n)
{
	char *t;

	if ((t = strndup(s, n)) == NULL)
		err(EX_LOCAL, "strndup");
	return t;
}

/* local@domain[/resource]; a localpart is needed to log in. */
static void
parse_jid(struct bot *b, const char *jid)
{
	const char *slash, *at;
	size_t barelen;

	barelen = strcspn(jid, "/");
	slash = jid[barelen] == '/' ? jid + barelen : NULL;
	if ((at = memchr(jid, '@', barelen)) == NULL || at == jid ||
	    at + 1 == jid + barelen)
		errx(EX_LOCAL, "%s: not a JID of the form user@domain", jid);
	if ((size_t)(at - jid) > JID_PART_MAX ||
	    barelen - (size_t)(at - jid) - 1 > JID_PART_MAX ||
	    (slash != NULL && strlen(slash + 1) > JID_PART_MAX))
		errx(EX_LOCAL, "%s: JID part too long", jid);
	if (slash != NULL && slash[1] == '\0')
		errx(EX_LOCAL, "%s: empty resource", jid);
	b->local = xstrndup(jid, (size_t)(at - jid));
	b->domain = xstrndup(at + 1, barelen - (size_t)(at - jid) - 1);
	b->bare = xstrndup(jid, barelen);
	if (slash != NULL && b->resource == NULL)
		b->resource = xstrndup(slash + 1, strlen(slash + 1));
}

static void
parse_mechs(struct bot *b, const char *list)
{
	static const char *known[] = { "SCRAM-SHA-256", "SCRAM-SHA-1",
	    "PLAIN" };
	char *copy, *p, *m;
	size_t i;

	if ((copy = strdup(list)) == NULL)
		err(EX_LOCAL, "strdup");
	b->nmechs = 0;
	for (p = copy; (m = strsep(&p, ",")) != NULL; ) {
		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (strcmp(m, known[i]) == 0)
				break;
		if (i == sizeof known / sizeof known[0])
			errx(EX_LOCAL, "mechanism %s: unsupported", m);
		if (b->nmechs == MAX_MECHS)
			errx(EX_LOCAL, "-m %s: too many mechanisms", list);
		b->mechs[b->nmechs++] = known[i];
	}
	free(copy);
}

static char *
read_passfile(const char *path)
{
	struct stat st;
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if ((fp = fopen(path, "r")) == NULL)
		err(EX_LOCAL, "%s", path);
	/* No stdio buffer: it would keep a copy of the password. */
	setvbuf(fp, NULL, _IONBF, 0);
	if (fstat(fileno(fp), &st) == -1)
		err(EX_LOCAL, "%s", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		warnx("%s: password file is accessible by group or others",
		    path);
	if ((n = getline(&line, &cap, fp)) == -1) {
		if (ferror(fp))
			err(EX_LOCAL, "%s", path);
		errx(EX_LOCAL, "%s: empty password file", path);
	}
	fclose(fp);
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	return line;
}

/* A copy of XMPP_PASSWORD, wiped from the environment; or NULL. */
static char *
env_password(void)
{
	char *v, *p;

	if ((v = getenv("XMPP_PASSWORD")) == NULL)
		return NULL;
	if ((p = strdup(v)) == NULL)
		err(EX_LOCAL, "strdup");
	explicit_bzero(v, strlen(v));
	if (unsetenv("XMPP_PASSWORD") == -1)
		err(EX_LOCAL, "unsetenv");
	return p;
}

static char *
get_password(const char *passfile)
{
	char buf[1024], *p;

	if (passfile != NULL)
		p = read_passfile(passfile);
	else if ((p = env_password()) == NULL) {
		if (readpassphrase("Password: ", buf, sizeof buf,
		    RPP_REQUIRE_TTY) == NULL)
			errx(EX_LOCAL, "no password: use -p passfile, "
			    "XMPP_PASSWORD or a terminal");
		if ((p = strdup(buf)) == NULL)
			err(EX_LOCAL, "strdup");
		explicit_bzero(buf, sizeof buf);
	}
	if (*p == '\0')
		errx(EX_LOCAL, "empty password");
	return p;
}

int
main(int argc, char *argv[])
{
	struct bot b = { 0 };
	const char *passfile = NULL;
	int ch, confine = 1;

	parse_mechs(&b, "SCRAM-SHA-256,SCRAM-SHA-1,PLAIN");
	while ((ch = getopt(argc, argv, "ehm:p:Pr:vVX")) != -1) {
		switch (ch) {
		case 'e':
		case 'P':
			b.plain_ok = 1;
			break;
		case 'h':
			usage(stdout, EX_OK);
		case 'm':
			parse_mechs(&b, optarg);
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'r':
			if (*optarg == '\0' || strlen(optarg) > JID_PART_MAX)
				errx(EX_LOCAL, "resource %s: bad length",
				    optarg);
			b.resource = optarg;
			break;
		case 'v':
			b.verbose = 1;
			break;
		case 'V':
			printf("xmpp-echo %s\n", VERSION);
			return EX_OK;
		case 'X':
			confine = 0;
			break;
		default:
			usage(stderr, EX_LOCAL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage(stderr, EX_LOCAL);
	parse_jid(&b, argv[0]);
	/* A vanished peer is a write error with a message, not a signal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EX_LOCAL, "signal");
	b.pass = get_password(passfile);
	snprintf(b.idprefix, sizeof b.idprefix, "%08x", arc4random());
	/* Everything opened and loaded: from here on, stdio only. */
	if (scram_preload() == -1)
		errx(EX_LOCAL, "libcrypto: SCRAM primitives unavailable");
	if (confine)
		(void)sandbox_stdio();
	run(&b);
	return EX_OK;
}
