/*
 * xmpp-echo - log in to an XMPP server and echo chat messages
 *
 * Reads the server's stream as records (xmpp-record(5)) on stdin and
 * writes the client's side of the stream as XML on stdout: SASL
 * (RFC 6120 section 6), resource binding (section 7), the roster and
 * initial presence (RFC 6121), then an echo of every chat or normal
 * message, within the limits of a per-sender token bucket.  It answers
 * every iq addressed to it, approves subscription requests, keeps the
 * link alive with whitespace and pings, and closes its stream on
 * SIGTERM or SIGINT.
 */
#define _GNU_SOURCE		/* ppoll(2) */

#include <sys/stat.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <readpassphrase.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "sandbox.h"
#include "sasl.h"
#include "extern.h"

static volatile sig_atomic_t	 got_stop, got_usr1;

static void	 usage(FILE *, int) __attribute__((noreturn));

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: xmpp-echo [-AehPvVX] [-b burst] [-i idle] "
	    "[-k keepalive] [-L maxstanza]\n"
	    "                 [-l maxbody] [-m mechanisms] [-O outrate] "
	    "[-p passfile] [-R rate]\n"
	    "                 [-r resource] [-s status] [-t timeout] "
	    "[-x command] jid\n");
	exit(status);
}

int64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(EX_LOCAL, "clock_gettime");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Output and tracing.
 */

/*
 * Diagnostics show bytes, never act on them: control bytes as \xHH,
 * but for the TAB that separates the items of a record.
 */
static void
put_safe(struct buf *x, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			buf_printf(x, "\\x%02x", (unsigned char)s[i]);
		else
			buf_addc(x, s[i]);
	}
}

static void
trace_write(struct buf *x)
{
	fwrite(x->p, 1, x->len, stderr);
	fflush(stderr);
	buf_reset(x);
}

/*
 * stderr is unbuffered: a line goes out in pieces of TRACE_CHUNK bytes
 * of input, one write(2) each, not a byte at a time.
 */
static void
trace(struct bot *b, char dir, const char *s, size_t n)
{
	struct buf x = { 0 };
	size_t i, part;

	if (!b->verbose)
		return;
	buf_printf(&x, "%c ", dir);
	for (i = 0; i < n; i += part) {
		part = n - i < TRACE_CHUNK ? n - i : TRACE_CHUNK;
		put_safe(&x, s + i, part);
		if (i + part < n)
			trace_write(&x);
	}
	buf_addc(&x, '\n');
	trace_write(&x);
	buf_free(&x);
}

/*
 * Queues one chunk of XML; redacted, if given, is traced instead.  The
 * queue is written when the input read so far is handled, before
 * waiting: one write(2) for all the answers to one read.
 */
void
send_xml(struct bot *b, struct buf *x, const char *redacted)
{
	if (redacted != NULL)
		trace(b, '>', redacted, strlen(redacted));
	else
		trace(b, '>', x->p, x->len);
	buf_add(&b->out, x->p, x->len);
}

/*
 * Output never blocks: a server that stops reading must not stop the
 * timers (stdout is non-blocking, see nonblocking_stdout()).  What the
 * pipe does not take waits in the queue, and the queue has timeout ms
 * to move on.
 */

size_t
queued(const struct bot *b)
{
	return b->out.len - b->outoff;
}

/* The queue has not moved for timeout ms: the server stopped reading. */
static int
out_stalled(const struct bot *b, int64_t now)
{
	return queued(b) > 0 && b->out_wait != 0 &&
	    now - b->out_wait >= b->timeout;
}

/*
 * Forgets n bytes written, wiped (they may hold a SASL payload); the
 * rest moves to the front once it is no bigger than what went.
 */
static void
out_written(struct bot *b, size_t n)
{
	size_t left;

	b->outoff += n;
	left = b->out.len - b->outoff;
	if (left > b->outoff)
		return;
	memmove(b->out.p, b->out.p + b->outoff, left);
	explicit_bzero(b->out.p + left, b->outoff);
	b->out.len = left;
	b->outoff = 0;
}

/*
 * Writes what the pipe takes now, without waiting: the whole queue in
 * one write(2) when there is room.  -1 on an error.
 */
static int
write_ready(struct bot *b)
{
	int64_t now = now_ms();
	ssize_t w;

	if (queued(b) > 0 && b->out_wait == 0)
		b->out_wait = now;
	while (queued(b) > 0) {
		w = write(STDOUT_FILENO, b->out.p + b->outoff, queued(b));
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN)
			return 0;
		if (w <= 0)
			return -1;
		out_written(b, (size_t)w);
		b->last_write = b->out_wait = now;
	}
	b->out_wait = 0;
	return 0;
}

/* Writes the queue before an exit, waiting for the pipe until by. */
static int
drain(struct bot *b, int64_t by)
{
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };
	int64_t wait;

	for (;;) {
		if (write_ready(b) == -1)
			return -1;
		if (queued(b) == 0)
			return 0;
		if ((wait = by - now_ms()) <= 0)
			return -1;
		if (poll(&pfd, 1, (int)wait) == -1 && errno != EINTR)
			return -1;
	}
}

/*
 * The last output waits CLOSE_WAIT ms at most, the closing wait when
 * closing, and not at all when the server stopped reading.
 */
static int64_t
exit_deadline(const struct bot *b)
{
	int64_t now = now_ms();

	if (b->state == S_CLOSING)
		return b->close_by;
	if (out_stalled(b, now))
		return now;
	return now + CLOSE_WAIT;
}

static void	 leave(struct bot *, int) __attribute__((noreturn));

static void
flush_out(struct bot *b)
{
	if (write_ready(b) == -1) {
		/* Closing, the link may be gone: nothing to wait for. */
		if (b->state == S_CLOSING)
			leave(b, EX_OK);
		err(EX_LOCAL, "write");
	}
}

static void
send_str(struct bot *b, const char *s)
{
	struct buf x = { 0 };

	buf_adds(&x, s);
	send_xml(b, &x, NULL);
	buf_free(&x);
}

static void
print_counters(const struct bot *b)
{
	const struct counters *c = &b->count;
	struct buf x = { 0 };

	buf_printf(&x, "echoed %llu, rate-dropped %llu, size-dropped %llu, "
	    "loop-dropped %llu, iq answered %llu, jid-dropped %llu",
	    c->echoed, c->rate, c->size, c->loop, c->iq, c->jid);
	if (b->h.cmd != NULL)
		handler_counters(b, &x);
	warnx("%s", buf_str(&x));
	buf_free(&x);
}

/* Every exit after the login goes here: the counters are the last word. */
static void
leave(struct bot *b, int status)
{
	(void)drain(b, exit_deadline(b));
	if (b->h.cmd != NULL)
		handler_stop(b);
	if (b->was_online)
		print_counters(b);
	exit(status);
}

/* Gives up: closes our stream if it is open, says why, exits. */
void
fail(struct bot *b, int status, const char *fmt, ...)
{
	va_list ap;

	if (b->open) {
		send_str(b, "</stream:stream>");
		b->open = 0;
	}
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	leave(b, status);
}

/* A printable copy of untrusted text for a message; caller frees. */
char *
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
char *
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
 * RFC 3921 section 3 when the server still requires it, the roster and
 * the initial presence (RFC 6121 sections 2.2 and 4.2).
 */

static void
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

static void
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

static void
go_online(struct bot *b)
{
	struct buf x = { 0 };

	if (b->status == NULL)
		buf_adds(&x, "<presence/>");
	else {
		buf_adds(&x, "<presence><status>");
		xml_texts(&x, b->status);
		buf_adds(&x, "</status></presence>");
	}
	send_xml(b, &x, NULL);
	buf_free(&x);
	b->state = S_ONLINE;
	b->was_online = 1;
}

/*
 * JIDs.  Domain parts and (for the servers we meet) local parts compare
 * without regard to ASCII case; resources exactly.
 */

static int
own_bare_jid(const struct bot *b, const char *jid)
{
	size_t n = strcspn(jid, "/");

	return n == strlen(b->bare) && strncasecmp(jid, b->bare, n) == 0;
}

/* RFC 6120 section 10.3: no 'to', our bare JID or our full JID. */
static int
to_us(const struct bot *b, const char *to)
{
	const char *slash;

	if (to == NULL)
		return 1;
	if (!own_bare_jid(b, to))
		return 0;
	if ((slash = strchr(to, '/')) == NULL)
		return 1;
	return b->full != NULL && (slash = strchr(b->full, '/')) != NULL &&
	    strcmp(strchr(to, '/'), slash) == 0;
}

/* The bare JID of jid, lower case, for keys; caller frees. */
static char *
bare_key(const char *jid)
{
	char *k, *p;

	if ((k = strndup(jid, strcspn(jid, "/"))) == NULL)
		err(EX_LOCAL, "strndup");
	for (p = k; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

/*
 * Addresses as RFC 7622 has them, without the PRECIS tables: each part
 * 1 to JID_PART_MAX bytes of UTF-8 without control characters, the
 * characters it forbids in a localpart, and in a domainpart no ASCII
 * but letters, digits, "-", "_" and single dots between labels.  The
 * bound on each part is also what keeps the flood table small.
 */
#define LOCAL_REFUSED	" \"&'/:<>@"
#define DOMAIN_ALLOWED	"abcdefghijklmnopqrstuvwxyz" \
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

/* Bytes of the UTF-8 character at s, 0 if malformed or a control. */
static size_t
jid_char(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80)
		return s[0] < 0x20 || s[0] == 0x7f ? 0 : 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	c = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, past U+10FFFF, C1 controls. */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff || c <= 0x9f)
		return 0;
	return len;
}

/* A part of n bytes: its length, UTF-8, no ASCII byte of refused. */
static int
jid_part_ok(const char *s, size_t n, const char *refused)
{
	size_t i, len;

	if (n == 0 || n > JID_PART_MAX)
		return 0;
	for (i = 0; i < n; i += len) {
		if ((len = jid_char((const unsigned char *)s + i, n - i)) == 0)
			return 0;
		if (len == 1 && strchr(refused, s[i]) != NULL)
			return 0;
	}
	return 1;
}

/* An IP literal in brackets, or labels of letters, digits, - and _. */
static int
domain_ok(const char *s, size_t n)
{
	size_t i, len;

	if (!jid_part_ok(s, n, ""))
		return 0;
	if (s[0] == '[')
		return n > 2 && s[n - 1] == ']' &&
		    strspn(s + 1, "0123456789abcdefABCDEF:.") == n - 2;
	for (i = 0; i < n; i += len) {
		len = jid_char((const unsigned char *)s + i, n - i);
		if (s[i] == '.' ? i == 0 || s[i - 1] == '.' || i + 1 == n :
		    len == 1 && strchr(DOMAIN_ALLOWED, s[i]) == NULL)
			return 0;
	}
	return 1;
}

/*
 * Checks jid; returns 0 and removes the final dot of its domainpart, as
 * RFC 7622 section 3.2 says, in place, or -1 if it is no valid JID.
 */
int
jid_normalize(char *jid)
{
	size_t len = strlen(jid), dend, dstart = 0;
	const char *at;

	dend = strcspn(jid, "/");
	if ((at = memchr(jid, '@', dend)) != NULL) {
		if (!jid_part_ok(jid, (size_t)(at - jid), LOCAL_REFUSED))
			return -1;
		dstart = (size_t)(at - jid) + 1;
	}
	if (jid[dend] == '/' &&
	    !jid_part_ok(jid + dend + 1, len - dend - 1, ""))
		return -1;
	if (dend > dstart && jid[dend - 1] == '.') {
		memmove(jid + dend - 1, jid + dend, len - dend + 1);
		dend--;
	}
	return domain_ok(jid + dstart, dend - dstart) ? 0 : -1;
}

/*
 * A stanza's from and to, normalised; 0, counted, if either is not a
 * JID: nothing is answered to an address that is not one.
 */
static int
addresses_ok(struct bot *b, struct xnode *n)
{
	size_t i;

	for (i = 0; i < n->nattrs; i++)
		if (n->attrs[i].ns == NULL &&
		    (strcmp(n->attrs[i].name, "from") == 0 ||
		    strcmp(n->attrs[i].name, "to") == 0) &&
		    jid_normalize(n->attrs[i].value) == -1) {
			b->count.jid++;
			return 0;
		}
	return 1;
}

/*
 * Flood control: a token bucket per bare JID, burst tokens deep, filled
 * at rate tokens a minute.  The table is bounded: past SENDERS_MAX
 * senders, the one seen least recently is forgotten.
 */

static struct sender *
sender_slot(struct bot *b)
{
	struct sender *s, *old;
	size_t i;

	if (b->nsenders < SENDERS_MAX)
		return &b->senders[b->nsenders++];
	old = &b->senders[0];
	for (i = 1; i < b->nsenders; i++)
		if (b->senders[i].seen < old->seen)
			old = &b->senders[i];
	s = old;
	free(s->jid);
	return s;
}

struct sender *
sender_find(struct bot *b, const char *from, int64_t now)
{
	struct sender *s;
	char *key;
	size_t i;

	key = bare_key(from);
	for (i = 0; i < b->nsenders; i++)
		if (strcmp(b->senders[i].jid, key) == 0) {
			free(key);
			b->senders[i].seen = now;
			return &b->senders[i];
		}
	s = sender_slot(b);
	memset(s, 0, sizeof *s);
	s->jid = key;
	s->tokens = (double)b->burst;
	s->filled = s->seen = now;
	return s;
}

static int
take_token(struct bot *b, struct sender *s, int64_t now)
{
	s->tokens += (double)(now - s->filled) * (double)b->rate / 60000.0;
	if (s->tokens > (double)b->burst)
		s->tokens = (double)b->burst;
	s->filled = now;
	if (s->tokens < 1.0)
		return 0;
	s->tokens -= 1.0;
	return 1;
}

/* An answer to from may go: a token taken, else a drop counted. */
static int
spend_token(struct bot *b, const char *from)
{
	int64_t now = now_ms();

	if (take_token(b, sender_find(b, from, now), now))
		return 1;
	b->count.rate++;
	return 0;
}

/*
 * Whatever is built from a peer's input must fit the server's stanza
 * limit, as written, escaped: past it the server would close our
 * stream (RFC 6120 section 4.9.3.14).  Queued if it fits, else dropped
 * and counted.
 */
static int
send_bounded(struct bot *b, struct buf *x)
{
	if ((long long)x->len > b->maxstanza) {
		b->count.size++;
		return 0;
	}
	send_xml(b, x, NULL);
	return 1;
}

/* The bytes of text in the message's bodies. */
static size_t
body_size(const struct xnode *m)
{
	const struct xnode *c, *t;
	size_t n = 0;

	for (c = m->child; c != NULL; c = c->next)
		if (c->name != NULL && strcmp(c->name, "body") == 0)
			for (t = c->child; t != NULL; t = t->next)
				if (t->name == NULL)
					n += t->textlen;
	return n;
}

/* FNV-1a of the bodies' text, to recognise our own echo coming back. */
uint64_t
body_hash(const struct xnode *m)
{
	const struct xnode *c, *t;
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (c = m->child; c != NULL; c = c->next) {
		if (c->name == NULL || strcmp(c->name, "body") != 0)
			continue;
		for (t = c->child; t != NULL; t = t->next)
			for (i = 0; t->name == NULL && i < t->textlen; i++) {
				h ^= (unsigned char)t->text[i];
				h *= 1099511628211ULL;
			}
		h ^= 0x100;	/* a body boundary, unlike any byte */
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Stanzas (RFC 6121).
 */

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

/*
 * Too big, our own echo come back (two bots would otherwise talk
 * forever), or over the sender's rate: dropped and counted.
 */
static int
admit(struct bot *b, const struct xnode *m, uint64_t *hash)
{
	struct sender *s;
	int64_t now = now_ms();

	s = sender_find(b, xnode_attr(m, "from"), now);
	if ((long long)body_size(m) > b->maxbody) {
		b->count.size++;
		return 0;
	}
	*hash = body_hash(m);
	if (s->echoed && s->last_echo == *hash) {
		b->count.loop++;
		return 0;
	}
	if (!take_token(b, s, now)) {
		b->count.rate++;
		return 0;
	}
	/* With -x, what is compared is what the handler sent to s. */
	if (b->h.cmd == NULL) {
		s->last_echo = *hash;
		s->echoed = 1;
	}
	return 1;
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
	xml_texts(x, t);
	free(t);
	buf_printf(x, "</%s>", name);
}

/*
 * RFC 6120 section 8.3.3.9: a message too long for its echo to fit is
 * not acceptable, with a text that names the limit.  Errors are never
 * answered (section 8.3.1), so neither is this one.
 */
static void
refuse_message(struct bot *b, const struct xnode *m)
{
	const char *id = xnode_attr(m, "id"), *type = xnode_attr(m, "type");
	struct buf x = { 0 };

	if (type != NULL && strcmp(type, "error") == 0)
		return;
	buf_adds(&x, "<message to='");
	xml_escapes(&x, xnode_attr(m, "from"));
	buf_adds(&x, "' type='error'");
	if (id != NULL) {
		buf_adds(&x, " id='");
		xml_escapes(&x, id);
		buf_addc(&x, '\'');
	}
	buf_printf(&x, "><error type='modify'><not-acceptable xmlns='"
	    NS_STANZAS "'/><text xmlns='" NS_STANZAS "' xml:lang='en'>"
	    "echo longer than %lld bytes</text></error></message>",
	    b->maxstanza);
	/* The echo is counted as size-dropped already. */
	if ((long long)x.len <= b->maxstanza)
		send_xml(b, &x, NULL);
	buf_free(&x);
}

static void
echo_message(struct bot *b, const struct xnode *m)
{
	const struct xnode *c;
	const char *type = xnode_attr(m, "type");
	struct buf x = { 0 };
	uint64_t hash;
	char *id;

	if (!echoable(b, m) || !admit(b, m, &hash))
		return;
	if (b->h.cmd != NULL) {
		handler_offer(b, m);
		return;
	}
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
		if ((long long)x.len > b->maxstanza)
			break;	/* too long already: build no more */
	}
	buf_adds(&x, "</message>");
	if (send_bounded(b, &x))
		b->count.echoed++;
	else
		refuse_message(b, m);
	buf_free(&x);
	free(id);
}

/*
 * iq (RFC 6120 section 8.2.3): every get or set addressed to us gets
 * exactly one answer, a result or an error; results and errors none.
 */

static const char disco_info[] =
    "<query xmlns='" NS_DISCO_INFO "'>"
    "<identity category='client' type='bot' name='echobot'/>"
    "<feature var='" NS_DISCO_INFO "'/>"
    "<feature var='" NS_VERSION "'/>"
    "<feature var='" NS_PING "'/>"
    "</query>";

/* XEP-0092: no <os/>, it would tell an attacker what to aim at. */
static const char version_info[] =
    "<query xmlns='" NS_VERSION "'>"
    "<name>echobot</name><version>" VERSION "</version>"
    "</query>";

/* <iq type='TYPE' id='ID' to='FROM'>, the 'to' only when known. */
static void
iq_open(struct buf *x, const struct xnode *iq, const char *type)
{
	const char *from = xnode_attr(iq, "from");

	buf_printf(x, "<iq type='%s' id='", type);
	xml_escapes(x, xnode_attr(iq, "id"));
	if (from != NULL) {
		buf_adds(x, "' to='");
		xml_escapes(x, from);
	}
	buf_adds(x, "'>");
}

static int
iq_result(struct bot *b, const struct xnode *iq, const char *payload)
{
	struct buf x = { 0 };
	int sent;

	iq_open(&x, iq, "result");
	buf_adds(&x, payload);
	buf_adds(&x, "</iq>");
	sent = send_bounded(b, &x);
	buf_free(&x);
	return sent;
}

/*
 * RFC 6120 section 8.3.1: the request's payload may go back with it.
 * Only up to IQ_COPY_MAX bytes as written: a bigger one would make the
 * bot an amplifier, namespaced attributes growing many times over.
 */
static int
iq_error(struct bot *b, const struct xnode *iq, const struct xnode *q,
    const char *cond)
{
	struct buf x = { 0 }, copy = { 0 };
	int sent;

	iq_open(&x, iq, "error");
	if (q != NULL) {
		xml_node(&copy, q, NS_CLIENT);
		if (copy.len <= IQ_COPY_MAX)
			buf_add(&x, copy.p, copy.len);
		buf_free(&copy);
	}
	buf_printf(&x, "<error type='cancel'><%s xmlns='" NS_STANZAS
	    "'/></error></iq>", cond);
	sent = send_bounded(b, &x);
	buf_free(&x);
	return sent;
}

/* The payload of an iq: its first child element, or NULL. */
static const struct xnode *
payload(const struct xnode *iq)
{
	const struct xnode *c;

	for (c = iq->child; c != NULL; c = c->next)
		if (c->name != NULL)
			return c;
	return NULL;
}

static int
is_elem(const struct xnode *n, const char *ns, const char *name)
{
	return n != NULL && n->ns != NULL && strcmp(n->ns, ns) == 0 &&
	    strcmp(n->name, name) == 0;
}

/* RFC 6121 section 2.1.6: a roster push comes from our own account. */
static int
roster_push(const struct bot *b, const struct xnode *iq,
    const struct xnode *q)
{
	const char *from = xnode_attr(iq, "from");

	return is_elem(q, NS_ROSTER, "query") &&
	    (from == NULL || (own_bare_jid(b, from) &&
	    strchr(from, '/') == NULL));
}

static void
answer_iq(struct bot *b, const struct xnode *iq)
{
	const char *type = xnode_attr(iq, "type");
	const char *from = xnode_attr(iq, "from");
	const struct xnode *q = payload(iq);
	int get, sent;

	if (type == NULL || xnode_attr(iq, "id") == NULL ||
	    !to_us(b, xnode_attr(iq, "to")))
		return;
	if (strcmp(type, "get") == 0)
		get = 1;
	else if (strcmp(type, "set") == 0)
		get = 0;
	else
		return;
	/* Answers cost the asker a token; the server's own asks none. */
	if (from != NULL && !spend_token(b, from))
		return;
	if (get && is_elem(q, NS_PING, "ping"))
		sent = iq_result(b, iq, "");
	else if (get && is_elem(q, NS_DISCO_INFO, "query") &&
	    xnode_attr(q, "node") == NULL)
		sent = iq_result(b, iq, disco_info);
	else if (get && is_elem(q, NS_VERSION, "query"))
		sent = iq_result(b, iq, version_info);
	else if (!get && roster_push(b, iq, q))
		sent = iq_result(b, iq, "");	/* nothing kept to update */
	else
		sent = iq_error(b, iq, q, "service-unavailable");
	if (sent)
		b->count.iq++;
}

/* The server's answer to our ping, result or error: it is alive. */
static int
ping_answer(struct bot *b, const struct xnode *iq)
{
	const char *id = xnode_attr(iq, "id"), *from = xnode_attr(iq, "from");
	const char *type = xnode_attr(iq, "type");

	if (b->ping_id == NULL || id == NULL || type == NULL ||
	    strcmp(id, b->ping_id) != 0 ||
	    (strcmp(type, "result") != 0 && strcmp(type, "error") != 0) ||
	    (from != NULL && strcasecmp(from, b->domain) != 0 &&
	    !own_bare_jid(b, from)))
		return 0;
	free(b->ping_id);
	b->ping_id = NULL;
	b->ping_sent = 0;
	return 1;
}

/*
 * Presence (RFC 6121 section 3): a subscription request is approved and
 * returned, unless -A; an unsubscribe is honoured.
 */

static void
send_presence(struct bot *b, const char *to, const char *type)
{
	struct buf x = { 0 };

	buf_adds(&x, "<presence to='");
	xml_escapes(&x, to);
	buf_printf(&x, "' type='%s'/>", type);
	send_xml(b, &x, NULL);
	buf_free(&x);
}

static void
on_presence(struct bot *b, const struct xnode *p)
{
	const char *type = xnode_attr(p, "type"), *from = xnode_attr(p, "from");
	char *bare;

	if (type == NULL || from == NULL || own_bare_jid(b, from))
		return;
	if (strcmp(type, "subscribe") == 0 && b->approve) {
		/* Two answers per request: the bucket bounds them too. */
		if (!spend_token(b, from))
			return;
		bare = bare_key(from);
		send_presence(b, bare, "subscribed");
		send_presence(b, bare, "subscribe");
		free(bare);
	} else if (strcmp(type, "unsubscribe") == 0) {
		if (!spend_token(b, from))
			return;
		bare = bare_key(from);
		send_presence(b, bare, "unsubscribed");
		free(bare);
	}
	/* unsubscribed, probes, errors, availability: nothing to do */
}

static void
on_stanza(struct bot *b, const struct record *r)
{
	const struct xnode *n = r->root;

	if (n->ns == NULL || strcmp(n->ns, NS_CLIENT) != 0)
		return;
	/* Before the initial presence, iqs get their answer (RFC 6120
	 * section 8.2.3); messages and presence wait for the session. */
	if (b->state != S_ONLINE && strcmp(r->kind, "iq") != 0)
		return;
	if (!addresses_ok(b, r->root))
		return;
	if (strcmp(r->kind, "message") == 0)
		echo_message(b, n);
	else if (strcmp(r->kind, "iq") == 0) {
		if (!ping_answer(b, n))
			answer_iq(b, n);
	} else if (strcmp(r->kind, "presence") == 0)
		on_presence(b, n);
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
static void
settle(struct bot *b)
{
	free(b->pending);
	b->pending = NULL;
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

/*
 * A stanza too large for xmpp-parse, told by a #skipped record (its
 * start tag only).  A request still gets its one answer (RFC 6120
 * 8.2.3): an error, without the payload, from the sender's bucket.  A
 * message is dropped as too big.  Our roster, which we do not keep,
 * counts as received.
 */
static void
on_skipped(struct bot *b, const struct record *r)
{
	struct xnode *n = r->root->child;
	const char *type, *id, *from;
	struct buf x = { 0 };

	if (n == NULL || n->name == NULL || !ns_equal(n->ns, NS_CLIENT) ||
	    b->state < S_BIND || b->state == S_CLOSING ||
	    !addresses_ok(b, n))
		return;
	type = xnode_attr(n, "type");
	id = xnode_attr(n, "id");
	from = xnode_attr(n, "from");
	if (strcmp(n->name, "message") == 0 && b->state == S_ONLINE)
		b->count.size++;
	if (strcmp(n->name, "iq") != 0 || type == NULL || id == NULL)
		return;
	if (b->state == S_ROSTER && b->pending != NULL &&
	    strcmp(id, b->pending) == 0 && (strcmp(type, "result") == 0 ||
	    strcmp(type, "error") == 0)) {
		settle(b);
		go_online(b);
		return;
	}
	if ((strcmp(type, "get") != 0 && strcmp(type, "set") != 0) ||
	    !to_us(b, xnode_attr(n, "to")) ||
	    (from != NULL && !spend_token(b, from)))
		return;
	iq_open(&x, n, "error");
	buf_adds(&x, "<error type='modify'><policy-violation xmlns='"
	    NS_STANZAS "'/></error></iq>");
	if (send_bounded(b, &x))
		b->count.iq++;
	buf_free(&x);
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
	[S_BIND] = st_bind,
	[S_SESSION] = st_session,
	[S_ROSTER] = st_roster,
	[S_ONLINE] = st_online,
	[S_CLOSING] = st_closing
};

/*
 * Stream errors (RFC 6120 section 4.9.3).  Some say the same would
 * happen again, whatever the retry: the launcher should stop.
 */
static const char *const stream_fatal[] = {
	"bad-format", "bad-namespace-prefix", "host-gone", "host-unknown",
	"improper-addressing", "invalid-from", "invalid-namespace",
	"invalid-xml", "not-authorized", "not-well-formed", "restricted-xml",
	"unsupported-encoding", "unsupported-feature",
	"unsupported-stanza-type", "unsupported-version"
};

static int
stream_error_status(const char *cond)
{
	size_t i;

	if (strcmp(cond, "conflict") == 0)
		return EX_CONFLICT;
	for (i = 0; i < sizeof stream_fatal / sizeof stream_fatal[0]; i++)
		if (strcmp(cond, stream_fatal[i]) == 0)
			return EX_STREAM_FATAL;
	return EX_STREAM;
}

static void	 on_stream_error(struct bot *, const struct xnode *)
    __attribute__((noreturn));

static void
on_stream_error(struct bot *b, const struct xnode *n)
{
	const struct xnode *c;
	const char *cond = condition(n, NS_STREAMS_ERR);
	char *host, *safe;

	/* The host to try instead is the element's text (section 4.9.3.19). */
	if (strcmp(cond, "see-other-host") == 0 &&
	    (c = xnode_child(n, NS_STREAMS_ERR, cond)) != NULL) {
		host = xnode_text(c);
		safe = safe_str(host);
		free(host);
		if (*safe != '\0')
			fail(b, EX_STREAM, "stream error: see-other-host %s",
			    safe);
		free(safe);
	}
	fail_cond(b, stream_error_status(cond), "stream error", n,
	    NS_STREAMS_ERR);
}

static void
finish_close(struct bot *b)
{
	leave(b, EX_OK);
}

/* Records that mean the same in every state, then the state's handler. */
static void
dispatch(struct bot *b, const struct record *r)
{
	const char *off;
	char *t, *msg;

	if (b->state == S_CLOSING && (strcmp(r->kind, KIND_CLOSE) == 0 ||
	    strcmp(r->kind, KIND_ERROR) == 0 ||
	    is_kind(r, "stream:error", NS_STREAM)))
		finish_close(b);
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
		leave(b, EX_OK);
	}
	if (is_kind(r, "stream:error", NS_STREAM))
		on_stream_error(b, r->root);
	if (strcmp(r->kind, KIND_SKIPPED) == 0) {
		on_skipped(b, r);
		return;
	}
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

/*
 * During the login each request has timeout ms to be answered: the
 * clock starts again when the login moves on (a new state, a SASL
 * challenge answered), never for other stanzas, which would keep a
 * login that goes nowhere alive.
 */
static void
login_progress(struct bot *b, enum state prev, const struct record *r)
{
	if (b->state != prev || is_kind(r, "challenge", NS_SASL))
		b->step_by = now_ms() + b->timeout;
}

static void
on_line(struct bot *b, const char *line, size_t len)
{
	struct record r;
	const char *errstr;
	enum state prev = b->state;

	b->last_read = now_ms();
	b->line = line;
	b->linelen = len;
	if (record_decode(line, len, &r, &errstr) == -1) {
		trace(b, '<', line, len);
		fail(b, EX_PROTO, "bad record: %s", errstr);
	}
	trace_record(b, &r, line, len);
	dispatch(b, &r);
	login_progress(b, prev, &r);
	record_free(&r);
}

/*
 * Input: records are read as they come, between the timers' deadlines,
 * with ppoll(2), so that a signal is seen at once and never lost
 * between a check of its flag and the wait.
 */

/* Hands every whole line to on_line; returns 0 at the end of input. */
static int
read_input(struct bot *b)
{
	char chunk[65536], *nl;
	size_t start = 0;
	ssize_t n;

	if ((n = read(STDIN_FILENO, chunk, sizeof chunk)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 1;
		err(EX_LOCAL, "stdin");
	}
	if (n == 0)
		return 0;
	buf_add(&b->in, chunk, (size_t)n);
	while ((nl = memchr(b->in.p + b->scanned, '\n',
	    b->in.len - b->scanned)) != NULL) {
		b->scanned = (size_t)(nl - b->in.p) + 1;
		on_line(b, b->in.p + start, (size_t)(nl - b->in.p) - start);
		start = b->scanned;
	}
	memmove(b->in.p, b->in.p + start, b->in.len - start);
	b->in.len -= start;
	b->scanned = b->in.len;
	if (b->in.len > RECORD_MAX)
		fail(b, EX_PROTO, "record longer than %d bytes", RECORD_MAX);
	return 1;
}

static void	 end_of_input(struct bot *) __attribute__((noreturn));

static void
end_of_input(struct bot *b)
{
	if (b->state == S_CLOSING)
		finish_close(b);
	/* A close would have ended the run in dispatch(). */
	fail(b, EX_EOF, "input ended before the stream was closed");
}

/*
 * Liveness.  Online: a space after keepalive ms without writing (RFC 6120
 * section 4.6.1), a ping to the server after idle ms without reading
 * (XEP-0199), and the end when it is not answered within timeout ms.
 * Before that, each step of the login has timeout ms.  In every state,
 * output that does not move for timeout ms is the end.
 */

static void
send_ping(struct bot *b)
{
	send_iq(b, "get", b->domain, "<ping xmlns='" NS_PING "'/>", NULL, "");
	/* send_iq keeps the id as pending: online, nothing else is. */
	free(b->ping_id);
	b->ping_id = b->pending;
	b->pending = NULL;
	b->ping_sent = now_ms();
}

/* The next moment a timer needs us; INT64_MAX for none. */
static int64_t
next_deadline(const struct bot *b)
{
	int64_t t;

	switch (b->state) {
	case S_CLOSING:
		return b->close_by;
	case S_ONLINE:
		/* A keepalive only when nothing else waits to go. */
		t = queued(b) == 0 ? b->last_write + b->keepalive : INT64_MAX;
		if (b->ping_sent != 0 && b->ping_sent + b->timeout < t)
			t = b->ping_sent + b->timeout;
		if (b->ping_sent == 0 && b->last_read + b->idle < t)
			t = b->last_read + b->idle;
		break;
	default:
		t = b->step_by;
	}
	if (queued(b) > 0 && b->out_wait != 0 && b->out_wait + b->timeout < t)
		t = b->out_wait + b->timeout;
	if (b->h.cmd != NULL && handler_deadline(b) < t)
		t = handler_deadline(b);
	return t;
}

/* What the login awaits in each state, for a message. */
static const char *const awaited[] = {
	[S_OPEN] = "stream header",
	[S_FEATURES] = "stream features",
	[S_SASL] = "SASL answer",
	[S_REOPEN] = "stream header",
	[S_REFEATURES] = "stream features",
	[S_BIND] = "resource binding result",
	[S_SESSION] = "session result",
	[S_ROSTER] = "roster"
};

static void
check_timers(struct bot *b)
{
	int64_t now = now_ms();

	if (b->state != S_CLOSING && out_stalled(b, now))
		fail(b, EX_TIMEOUT, "server took no output for %lld s",
		    (long long)(b->timeout / 1000));
	switch (b->state) {
	case S_CLOSING:
		if (now >= b->close_by)
			finish_close(b);
		break;
	case S_ONLINE:
		if (b->ping_sent != 0 && now - b->ping_sent >= b->timeout)
			fail(b, EX_TIMEOUT, "server did not answer a ping in "
			    "%lld s", (long long)(b->timeout / 1000));
		if (b->ping_sent == 0 && now - b->last_read >= b->idle)
			send_ping(b);
		if (queued(b) == 0 && now - b->last_write >= b->keepalive)
			send_str(b, " ");
		break;
	default:
		if (now >= b->step_by)
			fail(b, EX_TIMEOUT, "login: no %s from the server in "
			    "%lld s", awaited[b->state],
			    (long long)(b->timeout / 1000));
	}
}

/*
 * Signals: SIGTERM and SIGINT close the stream, SIGUSR1 prints the
 * counters.  They are blocked but while waiting in ppoll(2).
 */

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

static void
setup_signals(struct bot *b)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	/* A vanished peer is a write error with a message, not a signal. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		err(EX_LOCAL, "sigaction");
	sa.sa_handler = on_signal;	/* no SA_RESTART: ppoll says EINTR */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1)
		err(EX_LOCAL, "sigaction");
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &block, &b->waitmask) == -1)
		err(EX_LOCAL, "sigprocmask");
	sigdelset(&b->waitmask, SIGTERM);
	sigdelset(&b->waitmask, SIGINT);
	sigdelset(&b->waitmask, SIGUSR1);
}

/* Unavailable presence, our close; the server's close is awaited. */
static void
begin_close(struct bot *b)
{
	static const char bye[] = "<presence type='unavailable'/>";

	if (b->state == S_CLOSING)
		finish_close(b);	/* asked twice: no more waiting */
	/* Queued: a write error then ends the wait (flush_out()). */
	if (b->state == S_ONLINE)
		send_str(b, bye);
	send_str(b, "</stream:stream>");
	b->open = 0;
	b->state = S_CLOSING;
	b->close_by = now_ms() + CLOSE_WAIT;
}

/*
 * Waits for input, for room in the pipe when output waits, or for the
 * next deadline; returns 1 when stdin is ready.  With OUT_MAX bytes
 * queued, input is not read: a server that does not read cannot make
 * us keep what it sends.
 */
static int
wait_input(struct bot *b)
{
	struct pollfd pfd[5] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = STDOUT_FILENO, .events = POLLOUT }
	};
	struct timespec ts;
	int64_t wait;
	nfds_t n = 2;

	if (b->h.cmd != NULL)
		n += (nfds_t)handler_poll(b, pfd + 2);
	if (queued(b) >= OUT_MAX)
		pfd[0].fd = -1;
	if (queued(b) == 0)
		pfd[1].fd = -1;
	if ((wait = next_deadline(b) - now_ms()) < 0)
		wait = 0;
	ts.tv_sec = (time_t)(wait / 1000);
	ts.tv_nsec = (long)(wait % 1000) * 1000000;
	switch (ppoll(pfd, n, &ts, &b->waitmask)) {
	case -1:
		if (errno != EINTR)
			err(EX_LOCAL, "ppoll");
		return 0;
	case 0:
		break;
	default:
		if (b->h.cmd != NULL)
			handler_io(b, pfd + 2);
		return pfd[0].revents != 0;
	}
	if (b->h.cmd != NULL)
		handler_io(b, pfd + 2);
	return 0;
}

static void
run(struct bot *b)
{
	b->last_read = now_ms();
	b->step_by = b->last_read + b->timeout;
	send_header(b);
	for (;;) {
		if (got_usr1) {
			got_usr1 = 0;
			print_counters(b);
		}
		if (got_stop) {
			got_stop = 0;
			begin_close(b);
		}
		check_timers(b);
		flush_out(b);
		if (wait_input(b) && !read_input(b))
			end_of_input(b);
	}
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
	/* The rules peers' JIDs are held to; no final dot in the domain. */
	if (jid_normalize(b->bare) == -1 || jid_normalize(b->domain) == -1)
		errx(EX_LOCAL, "%s: not a valid JID", jid);
	if (b->resource != NULL &&
	    !jid_part_ok(b->resource, strlen(b->resource), ""))
		errx(EX_LOCAL, "resource %s: not valid", b->resource);
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
	/* From here on it is a C string: a NUL would cut it short. */
	if (memchr(line, '\0', (size_t)n) != NULL) {
		explicit_bzero(line, (size_t)n);
		errx(EX_LOCAL, "%s: the password holds a NUL byte", path);
	}
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
/*
 * Output must not block (see write_ready()).  A terminal stays as it
 * is: the shell shares its file description.
 */
static void
nonblocking_stdout(void)
{
	int fl;

	if (isatty(STDOUT_FILENO))
		return;
	if ((fl = fcntl(STDOUT_FILENO, F_GETFL)) == -1 ||
	    fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK) == -1)
		err(EX_LOCAL, "stdout");
}

/* A number option within bounds, or an error naming it. */
static long long
number(int opt, const char *arg, long long min, long long max)
{
	const char *errstr;
	long long n;

	n = strtonum(arg, min, max, &errstr);
	if (errstr != NULL)
		errx(EX_LOCAL, "-%c %s: %s", opt, arg, errstr);
	return n;
}

int
main(int argc, char *argv[])
{
	struct bot b = { 0 };
	const char *passfile = NULL;
	int ch, confine = 1;

	parse_mechs(&b, "SCRAM-SHA-256,SCRAM-SHA-1,PLAIN");
	b.approve = 1;
	b.burst = 100;
	b.rate = 60;
	b.maxbody = 64 * 1024;
	b.maxstanza = 128 * 1024;
	b.keepalive = 60 * 1000;
	b.idle = 90 * 1000;
	b.timeout = 30 * 1000;
	b.h.rate = 600;
	while ((ch = getopt(argc, argv, "Ab:ehi:k:L:l:m:O:p:PR:r:s:t:vVx:X")) != -1) {
		switch (ch) {
		case 'A':
			b.approve = 0;
			break;
		case 'b':
			b.burst = number(ch, optarg, 1, 1000000);
			break;
		case 'e':
		case 'P':
			b.plain_ok = 1;
			break;
		case 'h':
			usage(stdout, EX_OK);
		case 'i':
			b.idle = number(ch, optarg, 1, 86400) * 1000;
			break;
		case 'k':
			b.keepalive = number(ch, optarg, 1, 86400) * 1000;
			break;
		case 'L':
			b.maxstanza = number(ch, optarg, STANZA_MIN,
			    16 * 1024 * 1024);
			break;
		case 'l':
			b.maxbody = number(ch, optarg, 1, 16 * 1024 * 1024);
			break;
		case 'm':
			parse_mechs(&b, optarg);
			break;
		case 'O':
			b.h.rate = number(ch, optarg, 1, 6000000);
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'R':
			b.rate = number(ch, optarg, 1, 6000000);
			break;
		case 'r':
			if (*optarg == '\0' || strlen(optarg) > JID_PART_MAX)
				errx(EX_LOCAL, "resource %s: bad length",
				    optarg);
			b.resource = optarg;
			break;
		case 's':
			if (strlen(optarg) > 1024)
				errx(EX_LOCAL, "-s: status longer than 1024 "
				    "bytes");
			b.status = optarg;
			break;
		case 't':
			b.timeout = number(ch, optarg, 1, 3600) * 1000;
			break;
		case 'v':
			b.verbose = 1;
			break;
		case 'V':
			printf("xmpp-echo %s\n", VERSION);
			return EX_OK;
		case 'x':
			if (*optarg == '\0')
				errx(EX_LOCAL, "-x: empty command");
			b.h.cmd = optarg;
			break;
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
	if ((b.senders = calloc(SENDERS_MAX, sizeof *b.senders)) == NULL)
		err(EX_LOCAL, "calloc");
	/* The handler is the user's code, unconfined, and never sees the
	 * password: its supervisor is forked before it is read. */
	if (b.h.cmd != NULL) {
		supervise_start(&b.h);
		b.h.tokens = (double)b.burst;
		b.h.filled = now_ms();
	}
	b.pass = get_password(passfile);
	nonblocking_stdout();
	setup_signals(&b);
	snprintf(b.idprefix, sizeof b.idprefix, "%08x", arc4random());
	/* Everything opened and loaded: from here on, stdio only. */
	if (confine)
		(void)sandbox_stdio();
	run(&b);
	return EX_OK;
}
