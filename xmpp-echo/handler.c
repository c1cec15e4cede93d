/*
 * handler.c - -x: admitted messages to the handler, its stanzas out
 *
 * The handler reads the message records xmpp-parse wrote, one a line,
 * and writes records of the stanzas to send.  Each of its lines is
 * decoded, checked (check.c) and written as XML by xml_node(), or
 * refused with one line on stderr: the handler is untrusted for the
 * stream, nothing it writes may end the session, change its state or
 * put anything but one well-formed stanza on the wire.  Neither way blocks: records wait
 * in a bounded queue, and the handler's lines are read only as fast as
 * its token bucket lets them go.
 *
 * With stream management a message is counted once the handler has
 * read it (sm_hold(), handler_read_pos()), and when the link is lost
 * what the handler still writes is kept for the next session
 * (handler_collect()).
 */
#define _GNU_SOURCE		/* memrchr(3) */

#include <sys/ioctl.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "extern.h"

#define QUEUE_MAX	256	/* messages waiting for the handler */
#define QUEUE_BYTES	(1024 * 1024)	/* bytes of them, if more than one */
#define STOP_WAIT	5000	/* ms for the supervisor to end it all */

/* The descriptors' places in the poll set, see handler_poll(). */
enum { P_OUT, P_IN, P_CTL };

/* The supervisor forked, the bucket full. */
void
handler_start(struct bot *b)
{
	supervise_start(&b->h);
	b->h.tokens = (double)b->burst;
	b->h.filled = now_ms();
}

/*
 * Messages for the handler.
 */

/* Records queued, the one being written included. */
static size_t
waiting(const struct handler *h)
{
	const char *p = h->q.p + h->qoff, *end = h->q.p + h->q.len;
	size_t n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * RFC 6120 section 8.3.3.18: the handler cannot take the message now,
 * and the sender may try again later.
 */
static void
send_busy(struct bot *b, const struct xnode *m, const char *why)
{
	b->h.busy++;
	(void)message_error(b, m, "wait", "resource-constraint", why);
}

/* An admitted message: its record, as it came, queued for the handler;
 * or a busy error, and 0. */
int
handler_offer(struct bot *b, const struct xnode *m)
{
	struct handler *h = &b->h;
	size_t n = waiting(h);

	if (!h->up) {
		send_busy(b, m, "the bot's handler is not running");
		return 0;
	}
	if (n >= QUEUE_MAX || (n > 0 &&
	    h->q.len - h->qoff + b->linelen + 1 > QUEUE_BYTES)) {
		send_busy(b, m, "the bot's handler is busy");
		return 0;
	}
	buf_add(&h->q, b->line, b->linelen);
	buf_addc(&h->q, '\n');
	h->offered += b->linelen + 1;
	sm_hold(b, h->offered);
	h->handed++;
	return 1;
}

/* What the pipe takes now; the rest waits. */
static void
write_queue(struct bot *b)
{
	struct handler *h = &b->h;
	ssize_t w;

	while (h->qoff < h->q.len) {
		w = write(h->in, h->q.p + h->qoff, h->q.len - h->qoff);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN)
			break;
		if (w <= 0)
			fail(b, EX_LOCAL, "handler's stdin: %s",
			    w == 0 ? "closed" : strerror(errno));
		h->qoff += (size_t)w;
		h->written += (uint64_t)w;
	}
	if (h->qoff == 0 ||
	    (h->qoff < h->q.len && h->qoff < h->q.len - h->qoff))
		return;
	memmove(h->q.p, h->q.p + h->qoff, h->q.len - h->qoff);
	h->q.len -= h->qoff;
	h->qoff = 0;
}

/*
 * How far the handler has read its stdin: what was written less what
 * the pipe still holds.  Should FIONREAD fail, all written is read.
 */
uint64_t
handler_read_pos(const struct bot *b)
{
	int n;

	if (ioctl(b->h.rd, FIONREAD, &n) == -1 || n < 0 ||
	    (uint64_t)n > b->h.written)
		return b->h.written;
	return b->h.written - (uint64_t)n;
}

/* The supervisor says 'u' when a handler starts, 'd' when it ended. */
static void
read_ctl(struct bot *b)
{
	char c[64];
	ssize_t n, i;

	if ((n = read(b->h.ctl, c, sizeof c)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		fail(b, EX_LOCAL, "handler's supervisor: %s", strerror(errno));
	}
	if (n == 0)
		fail(b, EX_LOCAL, "handler's supervisor ended");
	for (i = 0; i < n; i++)
		b->h.up = c[i] == 'u';
}

/*
 * The handler's lines.
 */

static void	 refuse(struct bot *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* One line on stderr, and nothing sent. */
static void
refuse(struct bot *b, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof why, fmt, ap);	/* cut is fine */
	va_end(ap);
	b->h.refused++;
	warnx("handler line %llu refused: %s", b->h.lineno, why);
}

/* Refuses what may not go; 0 then, 1 when it may. */
static int
stanza_ok(struct bot *b, const struct record *r)
{
	const char *why;
	char *kind;

	if (!is_stanza(r)) {
		kind = safe_str(r->kind);
		refuse(b, "%s is no stanza of jabber:client (message, "
		    "presence or iq)", kind);
		free(kind);
		return 0;
	}
	if ((why = stanza_refused(r)) != NULL) {
		refuse(b, "%s: %s", r->kind, why);
		return 0;
	}
	return 1;
}

/* RFC 6120 section 8.1.3: an id, ours when the handler gave none. */
static void
fill_id(struct bot *b, struct record *r)
{
	char *id;

	if (xnode_attr(r->root, "id") != NULL)
		return;
	id = new_id(b);
	record_add_attr(r, r->root, "id", id);
	free(id);
}

/*
 * A message the handler sends is what the loop control compares a
 * peer's next one with: another bot sending it back is a loop.
 */
static void
remember_reply(struct bot *b, const struct record *r)
{
	if (strcmp(r->kind, "message") != 0 ||
	    xnode_child(r->root, NS_CLIENT, "body") == NULL)
		return;
	remember_echo(b, xnode_attr(r->root, "to"), body_hash(r->root));
}

static void
handle_line(struct bot *b, const char *line, size_t len)
{
	struct record r;
	struct buf x = { 0 };
	const char *errstr;

	b->h.lineno++;
	if (record_decode(line, len, &r, &errstr) == -1) {
		refuse(b, "not a record: %s", errstr);
		return;
	}
	if (stanza_ok(b, &r)) {
		fill_id(b, &r);
		xml_node(&x, r.root, NS_CLIENT);
		if ((long long)x.len > b->maxstanza)
			refuse(b, "%s: longer than %lld bytes as XML",
			    r.kind, b->maxstanza);
		else if (b->h.collecting) {
			sm_sent(b, &x);		/* for the next session */
			b->h.sent++;
		} else {
			send_xml(b, &x, NULL);
			remember_reply(b, &r);
			b->h.sent++;
		}
	}
	buf_free(&x);
	record_free(&r);
}

/*
 * The handler's own token bucket: -b deep, filled with -O a minute.
 * Every line it writes costs one, refused or not.
 */
static void
refill(struct handler *h, long long burst, int64_t now)
{
	h->tokens += (double)(now - h->filled) * (double)h->rate / 60000.0;
	if (h->tokens > (double)burst)
		h->tokens = (double)burst;
	h->filled = now;
}

static int
has_line(const struct handler *h)
{
	return h->lines.len > 0 &&
	    memchr(h->lines.p, '\n', h->lines.len) != NULL;
}

/* Whole lines while the bucket and the output queue let them go. */
static void
handle_lines(struct bot *b)
{
	struct handler *h = &b->h;
	char *p = h->lines.p, *end = p + h->lines.len, *nl;

	refill(h, b->burst, now_ms());
	if (h->lines.len == 0)
		return;
	while ((h->collecting || (h->tokens >= 1.0 && queued(b) < OUT_MAX)) &&
	    (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (!h->collecting)
			h->tokens -= 1.0;
		handle_line(b, p, (size_t)(nl - p));
		p = nl + 1;
	}
	h->lines.len = (size_t)(end - p);
	memmove(h->lines.p, p, h->lines.len);
}

/*
 * Takes what the handler wrote.  A line longer than -L is refused as
 * it comes, without keeping it: what follows its newline is the next.
 */
static void
take_output(struct bot *b, const char *s, size_t n)
{
	struct handler *h = &b->h;
	const char *nl;
	char *last;
	size_t tail;

	if (h->skipping) {
		if ((nl = memchr(s, '\n', n)) == NULL)
			return;
		h->skipping = 0;
		n -= (size_t)(nl + 1 - s);
		s = nl + 1;
	}
	if (n > 0)
		buf_add(&h->lines, s, n);
	if (h->lines.len == 0)
		return;
	last = memrchr(h->lines.p, '\n', h->lines.len);
	tail = last == NULL ? h->lines.len :
	    h->lines.len - (size_t)(last + 1 - h->lines.p);
	if ((long long)tail <= b->maxstanza)
		return;
	h->lines.len -= tail;
	h->lineno++;
	refuse(b, "longer than %lld bytes", b->maxstanza);
	h->skipping = 1;
}

static void
read_output(struct bot *b)
{
	char chunk[65536];
	ssize_t n;

	if ((n = read(b->h.out, chunk, sizeof chunk)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		fail(b, EX_LOCAL, "handler's stdout: %s", strerror(errno));
	}
	if (n == 0)	/* the supervisor keeps it open */
		fail(b, EX_LOCAL, "handler's supervisor ended");
	take_output(b, chunk, (size_t)n);
}

/*
 * The main loop's view: what to wait for, and when.
 */

/* Its lines are read only as fast as they can go. */
static int
want_output(const struct bot *b)
{
	return b->state == S_ONLINE && b->h.tokens >= 1.0 &&
	    queued(b) < OUT_MAX && !has_line(&b->h);
}

/* Fills three pollfds (P_OUT, P_IN, P_CTL); returns 3. */
int
handler_poll(struct bot *b, struct pollfd *pfd)
{
	struct handler *h = &b->h;

	pfd[P_OUT].fd = want_output(b) ? h->out : -1;
	pfd[P_OUT].events = POLLIN;
	pfd[P_IN].fd = h->qoff < h->q.len ? h->in : -1;
	pfd[P_IN].events = POLLOUT;
	pfd[P_CTL].fd = h->ctl;
	pfd[P_CTL].events = POLLIN;
	pfd[P_OUT].revents = pfd[P_IN].revents = pfd[P_CTL].revents = 0;
	return 3;
}

void
handler_io(struct bot *b, const struct pollfd *pfd)
{
	if (pfd[P_CTL].revents != 0)
		read_ctl(b);
	if (pfd[P_IN].revents != 0)
		write_queue(b);
	if (pfd[P_OUT].revents != 0)
		read_output(b);
	if (b->state == S_ONLINE)
		handle_lines(b);
}

/* When the bucket has a token for a line that waits; else INT64_MAX. */
int64_t
handler_deadline(const struct bot *b)
{
	const struct handler *h = &b->h;

	if (b->state != S_ONLINE || h->tokens >= 1.0 || !has_line(h))
		return INT64_MAX;
	return h->filled + (int64_t)((1.0 - h->tokens) * 60000.0 /
	    (double)h->rate) + 1;
}

/*
 * The end of the session: EOF on the handler's stdin, then the
 * supervisor ends it (supervise.c) and closes its end of ctl.
 */
void
handler_stop(struct bot *b)
{
	struct pollfd pfd = { .fd = b->h.ctl, .events = POLLIN };
	int64_t by = now_ms() + STOP_WAIT, wait;
	char c[64];

	if (b->h.in == -1)
		return;
	/* 's' first: the handler's end on EOF is then no crash. */
	if (write(b->h.ctl, "s", 1) != 1)
		return;
	close(b->h.in);
	b->h.in = -1;
	while ((wait = by - now_ms()) > 0) {
		if (poll(&pfd, 1, (int)wait) == -1 && errno != EINTR)
			return;
		if (pfd.revents != 0 && read(b->h.ctl, c, sizeof c) == 0)
			return;
	}
	warnx("handler's supervisor did not end in %d s", STOP_WAIT / 1000);
}

/*
 * The link is gone, and the next xmpp-echo can resume the session:
 * the handler gets EOF now, and its answers to what it read (counted,
 * see sm_taken()) are kept for the next session with the count, not
 * written, until it has ended, STOP_WAIT ms at most.  They go past its
 * bucket: they were the handler's to send in this session.
 */
void
handler_collect(struct bot *b)
{
	struct handler *h = &b->h;
	struct pollfd pfd = { .fd = h->out, .events = POLLIN };
	int64_t by = now_ms() + STOP_WAIT, wait;
	char chunk[65536];
	ssize_t n;

	if (h->in == -1 || write(h->ctl, "s", 1) != 1)
		return;
	close(h->in);
	h->in = -1;
	h->collecting = 1;
	while ((wait = by - now_ms()) > 0) {
		if (poll(&pfd, 1, (int)wait) == -1 && errno != EINTR)
			break;
		if (pfd.revents == 0)
			continue;
		if ((n = read(h->out, chunk, sizeof chunk)) == -1 &&
		    (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;		/* the supervisor has ended */
		take_output(b, chunk, (size_t)n);
		handle_lines(b);
	}
	if (wait <= 0)
		warnx("handler's supervisor did not end in %d s",
		    STOP_WAIT / 1000);
	sm_taken(b);
}

void
handler_counters(const struct bot *b, struct buf *x)
{
	const struct handler *h = &b->h;

	buf_printf(x, ", handed %llu, handler-sent %llu, handler-refused "
	    "%llu, busy %llu", h->handed, h->sent, h->refused, h->busy);
}
