/*
 * sm.c - stream management (XEP-0198): counters, acks, resumption
 *
 * Both counters start at zero (section 4): out, the stanzas sent, when
 * <enable/> is sent; in, the stanzas handled from the server, when its
 * <enabled/> comes, as the server's count starts when it sends it.
 * A message given to a handler (-x) is counted only once the handler
 * has read it (sm_hold()).
 * The server's <r/> gets <a h='in'/>; every SM_WINDOW stanzas sent we
 * ask for its count, and what it acknowledges leaves the queue.  An
 * <r/> not answered within timeout ms ends the run, as a ping does.
 */
#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "extern.h"

/* Our own XML: a stanza starts with one of these element names. */
static int
is_stanza_xml(const struct buf *x)
{
	static const char *const names[] = { "<message", "<presence",
	    "<iq" };
	size_t i, n;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		n = strlen(names[i]);
		if (x->len > n && memcmp(x->p, names[i], n) == 0 &&
		    strchr(" />", x->p[n]) != NULL)
			return 1;
	}
	return 0;
}

static int
is_stanza_record(const struct record *r)
{
	const struct xnode *n = r->root;

	if (strcmp(r->kind, KIND_SKIPPED) == 0)
		n = n->child;
	return n != NULL && n->name != NULL && ns_equal(n->ns, NS_CLIENT) &&
	    (strcmp(n->name, "message") == 0 ||
	    strcmp(n->name, "presence") == 0 || strcmp(n->name, "iq") == 0);
}

/*
 * The queue, a ring.  It holds the last stanzas sent without a gap:
 * past SM_QUEUE_MAX stanzas or SM_QUEUE_BYTES bytes the oldest are
 * forgotten, and a stanza bigger than that forgets them all.
 */

static void
queue_pop(struct sm *s)
{
	struct buf *x = &s->q[s->qhead];

	s->qbytes -= x->len;
	buf_free(x);
	s->qhead = (s->qhead + 1) % SM_QUEUE_MAX;
	s->qlen--;
}

void
sm_queue_clear(struct sm *s)
{
	while (s->qlen > 0)
		queue_pop(s);
	s->qhead = 0;
}

void
sm_queue_push(struct sm *s, const char *p, size_t len)
{
	struct buf *x;

	if (len > SM_QUEUE_BYTES) {
		s->forgot += s->qlen + 1;
		sm_queue_clear(s);
		return;
	}
	while (s->qlen == SM_QUEUE_MAX || s->qbytes + len > SM_QUEUE_BYTES) {
		queue_pop(s);
		s->forgot++;
	}
	x = &s->q[(s->qhead + s->qlen) % SM_QUEUE_MAX];
	memset(x, 0, sizeof *x);
	buf_add(x, p, len);
	s->qlen++;
	s->qbytes += len;
}

/* A stanza queued for output: counted and kept until acknowledged. */
void
sm_sent(struct bot *b, const struct buf *x)
{
	struct sm *s = &b->sm;

	if (!s->on || !is_stanza_xml(x))
		return;
	s->out++;
	sm_queue_push(s, x->p, x->len);
	s->dirty = 1;
}

/*
 * A stanza from the server handled (or dropped: handled all the same).
 * Counted from <enabled/> on: the server counts from there, and what
 * it sent before it read our <enable/> comes before that in the stream.
 * h is a count, not a set: past a message held for the handler, in
 * stays at the stanza before it, however many after it are done.
 */
void
sm_count_in(struct bot *b, const struct record *r)
{
	struct sm *s = &b->sm;
	struct held *x;

	if (!s->enabled || !is_stanza_record(r))
		return;
	s->rcvd++;
	if (s->hold_next != 0) {
		if (s->hlen == SM_HELD_MAX) {	/* the oldest counted */
			s->hhead = (s->hhead + 1) % SM_HELD_MAX;
			s->hlen--;
		}
		x = &s->held[(s->hhead + s->hlen++) % SM_HELD_MAX];
		x->seq = s->rcvd;
		x->end = s->hold_next;
		x->at = now_ms();
		s->hold_next = 0;
	}
	s->in = s->hlen > 0 ? s->held[s->hhead].seq - 1 : s->rcvd;
	s->dirty = 1;
}

/*
 * The stanza being handled, a message queued for the handler, is not
 * counted before the handler has read its stdin up to end: a kill of
 * xmpp-echo or a cut link before that, and the server sends it again
 * to the next session (XEP-0198 section 4: h counts stanzas handled).
 */
void
sm_hold(struct bot *b, uint64_t end)
{
	if (b->sm.enabled)
		b->sm.hold_next = end;
}

/*
 * What the handler has read, and what was held SM_HOLD_MAX ms, is
 * counted: a handler that does not read must not hold the server's
 * queue of our session (Prosody's ends it at 500) nor its acks forever.
 */
void
sm_taken(struct bot *b)
{
	struct sm *s = &b->sm;
	uint64_t pos;
	int64_t now;
	uint32_t was = s->in;

	if (s->hlen == 0)
		return;
	pos = handler_read_pos(b);
	now = now_ms();
	while (s->hlen > 0 && (s->held[s->hhead].end <= pos ||
	    now - s->held[s->hhead].at >= SM_HOLD_MAX)) {
		s->hhead = (s->hhead + 1) % SM_HELD_MAX;
		s->hlen--;
	}
	s->in = s->hlen > 0 ? s->held[s->hhead].seq - 1 : s->rcvd;
	if (s->in != was)
		s->dirty = 1;
}

/* A session the next xmpp-echo can resume. */
int
sm_resumable(const struct bot *b)
{
	return b->sm.enabled && b->sm.id != NULL && b->sm.fd != -1;
}

/* The session can no longer be resumed: its state goes. */
void
sm_forget(struct bot *b)
{
	struct sm *s = &b->sm;

	free(s->id);
	free(s->location);
	s->id = s->location = NULL;
	s->on = s->enabled = 0;
	s->in = s->rcvd = s->out = s->acked = s->asked = 0;
	s->hhead = s->hlen = 0;
	s->hold_next = 0;
	s->owed = 0;
	s->r_sent = 0;
	sm_queue_clear(s);
	s->dirty = 1;
}

/*
 * After resource binding (section 3): from here on, counters run.
 * Resumption only with a state file for the next xmpp-echo: else the
 * server would keep a dead session, online and holding our messages,
 * for as long as it waits for a resumption that never comes.
 */
void
sm_enable(struct bot *b)
{
	sm_forget(b);
	if (b->sm.fd != -1)
		send_str(b, "<enable xmlns='" NS_SM "' resume='true'/>");
	else
		send_str(b, "<enable xmlns='" NS_SM "'/>");
	b->sm.on = 1;
}

/* Instead of binding: the previous session, with our count of it. */
void
sm_resume(struct bot *b)
{
	struct buf x = { 0 };

	buf_adds(&x, "<resume xmlns='" NS_SM "' previd='");
	xml_escapes(&x, b->sm.id);
	buf_printf(&x, "' h='%lu'/>", (unsigned long)b->sm.in);
	send_xml(b, &x, NULL);
	buf_free(&x);
	b->state = S_RESUME;
}

static void	 send_ack(struct bot *);

static void
send_ack_request(struct bot *b)
{
	send_str(b, "<r xmlns='" NS_SM "'/>");
	b->sm.asked = b->sm.out;
	if (b->sm.r_sent == 0)
		b->sm.r_sent = now_ms();
}

/* Per read: ask for an ack every SM_WINDOW stanzas; the state saved. */
void
sm_tick(struct bot *b)
{
	struct sm *s = &b->sm;

	if (s->enabled && s->out - s->asked >= SM_WINDOW)
		send_ack_request(b);
	sm_taken(b);
	/* Section 4: an <a/> may come unasked; the server's queue of what
	 * an earlier one did not count can go. */
	if (s->owed && s->in == s->rcvd && b->state == S_ONLINE)
		send_ack(b);
	sm_state_save(b);
}

/* Idle with stanzas unacknowledged: an <r/> instead of a space. */
int
sm_request_idle(struct bot *b)
{
	struct sm *s = &b->sm;

	if (!s->enabled || s->out == s->acked)
		return 0;
	send_ack_request(b);
	return 1;
}

int64_t
sm_deadline(const struct bot *b)
{
	const struct sm *s = &b->sm;
	int64_t t = s->r_sent != 0 ? s->r_sent + b->timeout : INT64_MAX;

	if (s->hlen > 0 && s->held[s->hhead].at + SM_HOLD_MAX < t)
		t = s->held[s->hhead].at + SM_HOLD_MAX;
	return t;
}

void
sm_check_timer(struct bot *b, int64_t now)
{
	if (b->sm.r_sent != 0 && now - b->sm.r_sent >= b->timeout)
		fail(b, EX_TIMEOUT, "server did not acknowledge our stanzas "
		    "in %lld s", (long long)(b->timeout / 1000));
}

/* A counter as the server wrote it: 0 to 2^32 - 1. */
static int
parse_h(const struct xnode *n, uint32_t *h)
{
	const char *v = xnode_attr(n, "h"), *errstr;
	long long x;

	if (v == NULL)
		return -1;
	x = strtonum(v, 0, UINT32_MAX, &errstr);
	if (errstr != NULL)
		return -1;
	*h = (uint32_t)x;
	return 0;
}

/*
 * The server has handled h of our stanzas: those leave the queue.  More
 * than we sent is a broken count, and no resend could be trusted.
 */
static void
acknowledged(struct bot *b, const struct xnode *n)
{
	struct sm *s = &b->sm;
	uint32_t h, newly, unacked, gone;

	if (parse_h(n, &h) == -1)
		fail(b, EX_PROTO, "stream management: ack without a valid h");
	newly = h - s->acked;
	unacked = s->out - s->acked;
	if (newly > unacked)
		fail(b, EX_PROTO, "stream management: the server acknowledged "
		    "%lu stanzas, %lu were sent", (unsigned long)h,
		    (unsigned long)s->out);
	/* The first unacked - qlen were forgotten already. */
	gone = unacked - (uint32_t)s->qlen;
	while (newly > gone && s->qlen > 0) {
		queue_pop(s);
		newly--;
	}
	s->acked = h;
	s->r_sent = 0;
	s->dirty = 1;
}

/* A printable id of sane length, or NULL. */
static char *
sm_text(const char *v)
{
	const char *p;
	char *t;

	if (v == NULL || *v == '\0' || strlen(v) > SM_ID_MAX)
		return NULL;
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return NULL;
	if ((t = strdup(v)) == NULL)
		err(EX_LOCAL, "strdup");
	return t;
}

static void
on_enabled(struct bot *b, const struct xnode *n)
{
	const char *resume = xnode_attr(n, "resume");
	struct sm *s = &b->sm;

	if (!s->on || s->enabled)
		fail(b, EX_PROTO, "stream management: <enabled/> unasked");
	s->enabled = 1;
	/* Section 5: resume is a boolean, "true" or "1". */
	if (resume != NULL && (strcmp(resume, "true") == 0 ||
	    strcmp(resume, "1") == 0)) {
		s->id = sm_text(xnode_attr(n, "id"));
		s->location = sm_text(xnode_attr(n, "location"));
	}
	s->dirty = 1;
}

/* Section 5: what the server did not handle goes again, in order. */
static void
resend_unacked(struct bot *b)
{
	struct sm *s = &b->sm;
	struct buf *x;
	uint32_t lost;
	size_t i;

	lost = s->out - s->acked - (uint32_t)s->qlen;
	if (lost > 0)
		warnx("resumed: %lu stanzas not acknowledged were forgotten "
		    "(past %d or %d bytes), not sent again",
		    (unsigned long)lost, SM_QUEUE_MAX, SM_QUEUE_BYTES);
	for (i = 0; i < s->qlen; i++) {
		x = &s->q[(s->qhead + i) % SM_QUEUE_MAX];
		trace(b, '>', x->p, x->len);
		buf_add(&b->out, x->p, x->len);
		s->resent++;
	}
}

/*
 * Resumed: the session goes on as it was, bound, with its roster and
 * presence (section 5: nothing of it is to be done again).
 */
static void
on_resumed(struct bot *b, const struct xnode *n)
{
	const char *previd = xnode_attr(n, "previd");

	if (b->state != S_RESUME)
		fail(b, EX_PROTO, "stream management: <resumed/> unasked");
	if (previd == NULL || strcmp(previd, b->sm.id) != 0)
		fail(b, EX_PROTO, "stream management: another session "
		    "resumed");
	b->sm.on = b->sm.enabled = b->sm.resumed = 1;
	acknowledged(b, n);
	resend_unacked(b);
	b->state = S_ONLINE;
	b->was_online = 1;
}

/* Our own XML: a message stanza. */
static int
is_message_xml(const struct buf *x)
{
	return x->len > 8 && memcmp(x->p, "<message", 8) == 0 &&
	    strchr(" />", x->p[8]) != NULL;
}

/*
 * Section 5: the server's h on <failed/> tells which of our stanzas
 * it had; the messages among the rest were never delivered and go in
 * the new session, after its presence.  Our iq answers and presence
 * belong to the old one: they are not sent again.  Returns the
 * stanzas not sent again.
 */
static uint32_t
carry_unacked(struct bot *b, const struct xnode *n)
{
	struct sm *s = &b->sm;
	struct buf *x;
	uint32_t lost;

	if (xnode_attr(n, "h") == NULL)
		return s->out - s->acked;
	acknowledged(b, n);
	lost = s->out - s->acked - (uint32_t)s->qlen;
	if ((s->carry = calloc(s->qlen + 1, sizeof *s->carry)) == NULL)
		err(EX_LOCAL, "calloc");
	while (s->qlen > 0) {
		x = &s->q[s->qhead];
		if (is_message_xml(x))
			buf_add(&s->carry[s->ncarry++], x->p, x->len);
		else
			lost++;
		queue_pop(s);
	}
	return lost;
}

/* After a new session's presence: what <failed h/> left us to send. */
void
sm_send_carried(struct bot *b)
{
	struct sm *s = &b->sm;
	size_t i;

	for (i = 0; i < s->ncarry; i++) {
		send_xml(b, &s->carry[i], NULL);
		buf_free(&s->carry[i]);
		s->resent++;
	}
	free(s->carry);
	s->carry = NULL;
	s->ncarry = 0;
}

/*
 * Failed: after <resume/>, a new session as if there had been none;
 * after <enable/>, the session goes on unmanaged.
 */
static void
on_failed(struct bot *b, const struct xnode *n)
{
	char *cond = safe_str(condition(n, NS_STANZAS));
	unsigned long lost;

	if (b->state == S_RESUME) {
		lost = (unsigned long)carry_unacked(b, n);
		warnx("resumption failed (%s): a new session; %zu messages "
		    "not delivered to send again, %lu stanzas not "
		    "acknowledged lost", cond, b->sm.ncarry, lost);
		sm_forget(b);
		free(cond);
		free(b->full);
		b->full = NULL;
		send_bind(b);
		return;
	}
	warnx("stream management refused (%s)", cond);
	free(cond);
	sm_forget(b);
}

static void
send_ack(struct bot *b)
{
	struct buf x = { 0 };

	sm_taken(b);
	b->sm.owed = b->sm.in != b->sm.rcvd;
	buf_printf(&x, "<a xmlns='" NS_SM "' h='%lu'/>",
	    (unsigned long)b->sm.in);
	send_xml(b, &x, NULL);
	buf_free(&x);
}

void
sm_record(struct bot *b, const struct record *r)
{
	if (b->state < S_REFEATURES)
		fail(b, EX_PROTO, "stream management before authentication");
	/* Our close is sent: nothing may follow it (RFC 6120 4.4). */
	if (b->state == S_CLOSING)
		return;
	if (strcmp(r->kind, "r") == 0) {
		/* Asked before <enable/> was sent: nothing was counted. */
		if (!b->sm.on)
			fail(b, EX_PROTO, "stream management: <r/> unasked");
		send_ack(b);
	} else if (strcmp(r->kind, "a") == 0) {
		if (!b->sm.enabled)
			fail(b, EX_PROTO, "stream management: <a/> unasked");
		acknowledged(b, r->root);
	} else if (strcmp(r->kind, "enabled") == 0)
		on_enabled(b, r->root);
	else if (strcmp(r->kind, "resumed") == 0)
		on_resumed(b, r->root);
	else if (strcmp(r->kind, "failed") == 0)
		on_failed(b, r->root);
	else {
		char *k = safe_str(r->kind);

		fail(b, EX_PROTO, "stream management: unexpected %s", k);
	}
}
