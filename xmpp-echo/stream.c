/* stream.c - input: records read, traced, dispatched; stream errors */

#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "extern.h"

static int
stream_error_status(const char *cond)
{
	if (strcmp(cond, "conflict") == 0)
		return EX_CONFLICT;
	return stream_error_permanent(cond) ? EX_STREAM_FATAL : EX_STREAM;
}

void
on_stream_error(struct bot *b, const struct xnode *n)
{
	const struct xnode *c;
	const char *cond = condition(n, NS_STREAMS_ERR);
	char *host, *safe;
	int status = stream_error_status(cond);

	/* The server ends the session with the stream: nothing to resume. */
	sm_forget(b);

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
	/*
	 * A resumed stream may be judged by what the previous connection
	 * left half sent (Prosody 0.12 parses the new connection with the
	 * old one's parser): a new session, without resumption, may well
	 * work.  The state is forgotten, so that happens once.
	 */
	if (b->sm.resumed && status == EX_STREAM_FATAL) {
		warnx("stream error after a resumption: a new session may "
		    "not have it");
		status = EX_STREAM;
	}
	fail_cond(b, status, "stream error", n, NS_STREAMS_ERR);
}

void
finish_close(struct bot *b)
{
	leave(b, EX_OK);
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

/* A record read at now (ms): one clock reading for all of a read's. */
static void
on_line(struct bot *b, int64_t now, const char *line, size_t len)
{
	struct record r;
	const char *errstr;
	enum state prev = b->state;

	b->last_read = now;
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
int
read_input(struct bot *b)
{
	char chunk[65536], *nl;
	size_t start = 0;
	ssize_t n;
	int64_t now;

	if ((n = read(STDIN_FILENO, chunk, sizeof chunk)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 1;
		err(EX_LOCAL, "stdin");
	}
	if (n == 0)
		return 0;
	now = now_ms();
	buf_add(&b->in, chunk, (size_t)n);
	while ((nl = memchr(b->in.p + b->scanned, '\n',
	    b->in.len - b->scanned)) != NULL) {
		b->scanned = (size_t)(nl - b->in.p) + 1;
		on_line(b, now, b->in.p + start,
		    (size_t)(nl - b->in.p) - start);
		start = b->scanned;
	}
	memmove(b->in.p, b->in.p + start, b->in.len - start);
	b->in.len -= start;
	b->scanned = b->in.len;
	if (b->in.len > RECORD_MAX)
		fail(b, EX_PROTO, "record longer than %d bytes", RECORD_MAX);
	return 1;
}

void
end_of_input(struct bot *b)
{
	if (b->state == S_CLOSING)
		finish_close(b);
	/* A close would have ended the run in dispatch(). */
	fail(b, EX_EOF, "input ended before the stream was closed");
}
