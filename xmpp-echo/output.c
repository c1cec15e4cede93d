/* output.c - what goes out: the output queue, tracing, the exit */

#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "extern.h"

int	output_socket;

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
void
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
	sm_sent(b, x);
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
int
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
		w = output_socket ? send(STDOUT_FILENO, b->out.p + b->outoff,
		    queued(b), MSG_DONTWAIT | MSG_NOSIGNAL) :
		    write(STDOUT_FILENO, b->out.p + b->outoff, queued(b));
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

void
flush_out(struct bot *b)
{
	if (write_ready(b) == -1) {
		/* Closing, the link may be gone: nothing to wait for. */
		if (b->state == S_CLOSING)
			leave(b, EX_OK);
		warn("write");
		leave(b, EX_LOCAL);
	}
}

void
send_str(struct bot *b, const char *s)
{
	struct buf x = { 0 };

	buf_adds(&x, s);
	send_xml(b, &x, NULL);
	buf_free(&x);
}

void
print_counters(const struct bot *b)
{
	const struct counters *c = &b->count;
	struct buf x = { 0 };

	buf_printf(&x, "echoed %llu, rate-dropped %llu, size-dropped %llu, "
	    "loop-dropped %llu, iq answered %llu, jid-dropped %llu",
	    c->echoed, c->rate, c->size, c->loop, c->iq, c->jid);
	if (b->h.cmd != NULL)
		handler_counters(b, &x);
	if (b->sm.resent > 0 || b->sm.forgot > 0)
		buf_printf(&x, ", resent %llu, forgotten %llu",
		    b->sm.resent, b->sm.forgot);
	warnx("%s", buf_str(&x));
	buf_free(&x);
}

/* Every exit after the login goes here: the counters are the last word. */
void
leave(struct bot *b, int status)
{
	/* The handler's answers to what was counted go with the count. */
	if (b->h.cmd != NULL && b->state == S_ONLINE && sm_resumable(b))
		handler_collect(b);
	/* The state before the output: see sm_state_save(). */
	sm_state_save(b);
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

/* A fresh iq id: a random prefix (per run) and a counter. */
char *
new_id(struct bot *b)
{
	struct buf x = { 0 };

	buf_adds(&x, b->idprefix);
	buf_addc(&x, '-');
	buf_addu(&x, ++b->idseq);
	return buf_str(&x);
}

/*
 * Whatever is built from a peer's input must fit the server's stanza
 * limit, as written, escaped: past it the server would close our
 * stream (RFC 6120 section 4.9.3.14).  Queued if it fits, else dropped
 * and counted.
 */
int
send_bounded(struct bot *b, struct buf *x)
{
	if ((long long)x->len > b->maxstanza) {
		b->count.size++;
		return 0;
	}
	send_xml(b, x, NULL);
	return 1;
}
