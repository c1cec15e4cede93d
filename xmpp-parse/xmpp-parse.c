/*
 * xmpp-parse - the XML stream of an XMPP server as records, one per line
 *
 * Reads the server's bytes, parses them with expat as they come and writes
 * one xmpp-record(5) line per top-level element.  The server is not
 * trusted (RFC 6120 section 11): anything outside restricted XML, and any
 * element past the size and depth limits, ends the run with a #error
 * record; but a stanza past the size limit, which any peer can send, is
 * skipped (still checked) and told by a #skipped record.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <expat.h>

#include "expat-eager.h"
#include "record.h"
#include "sandbox.h"
#include "skip.h"

#define BUFSZ		65536		/* one read(2), one XML_Parse() */
#define MAXSTANZA	(1024 * 1024)
#define MAXDEPTH	64
#define MAXDEPTH_MAX	1000		/* record_decode() stops at 1024 */

/* U+0001 is no XML 1.0 character: it can occur in neither names nor
 * namespace URIs, so expat's "URI\1local" splits without ambiguity. */
#define NSSEP		'\1'
#define CAPTURE_MAGIC	"xmpp-capture 1"	/* see xmpp-connect(1) */
#define CAPTURE_WORD	"xmpp-capture "		/* any version */
#define XMLDECL		"<?xml"
#define CAPTURE_LINE	64		/* longest chunk header line */
#define SASL_SUCCESS	NS_SASL "\1" "success"
#define TLS_PROCEED	NS_TLS "\1" "proceed"

enum state {
	S_HEADER,	/* waiting for the stream header */
	S_STREAM,	/* in the stream, between top-level elements */
	S_ELEMENT,	/* in a top-level element */
	S_RESTART,	/* after <success/> or <proceed/>: a new stream follows */
	S_END,		/* after </stream:stream>: only white space may follow */
	S_ERROR,	/* gave up: why, at offset stop */
	S_SKIP,		/* in a stanza too large: skip.c scans it, not expat */
	S_RESUME	/* a fresh parser reads the saved stream header */
};

/* What a #skipped record tells of its stanza: the element and the
 * attributes a bot needs to answer it (RFC 6120 8.3.1), when short. */
static const char *const top_attrs[] = { "id", "type", "from", "to" };
#define NTOP	(sizeof(top_attrs) / sizeof(top_attrs[0]))

struct top {
	struct buf	 name, ns, attr[NTOP];
	int		 hasns, has[NTOP];
};

/* A capture file of xmpp-connect(1), unwrapped chunk by chunk. */
enum cstate {
	C_RAW,		/* no capture: the stream itself */
	C_MAGIC,	/* in the first line */
	C_HEAD,		/* in a chunk header line */
	C_PEEK,		/* -o: the first bytes of a chunk, held */
	C_DATA,		/* in the bytes of a chunk */
	C_LF		/* the newline after them */
};

struct capin {
	enum cstate	 state;
	char		 line[CAPTURE_LINE];
	size_t		 len;
	long long	 left;	/* bytes of the chunk still to come */
	int		 take;	/* the chunk is of the replayed direction */
	const char	*dir;	/* that direction: "<" or ">" */
	long long	 off;	/* in the file, for messages */
};

struct parse {
	XML_Parser	 xp;
	enum state	 state;
	int		 client;	/* -o: the client's stream restarts */
	int		 check;		/* -c: no output */
	long long	 base;	/* input offset of this parser's first byte */
	long long	 mark;	/* where the bytes not yet accounted for begin */
	long long	 stop;	/* input offset of a restart, end or error */
	long long	 maxsize;
	int		 depth, maxdepth;	/* in the top-level element */
	const char	*label;	/* of the input in messages, with several */
	char		 why[160];
	struct recw	 rec;
	struct buf	 out;	/* finished records not yet written */
	struct buf	 ns, attrns;

	/* skipping a stanza larger than maxsize */
	int		 stanza;	/* the top-level element is one */
	int		 over;		/* it is too large: skipped */
	int		 cdata;		/* in a CDATA section */
	int		 synthetic;	/* expat reads bytes of ours */
	long long	 start;		/* its input offset */
	struct top	 top;
	uint64_t	 hash[MAXDEPTH_MAX + 1];	/* open elements' names */
	struct skip	 sk;
	struct buf	 held;		/* input expat has not taken yet */
	long long	 heldoff;	/* input offset of its first byte */
	struct buf	 header;	/* the stream header's start tag */
};

static void	usage(int) __attribute__((noreturn));

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: xmpp-parse [-choVX] [-n maxdepth] [-s maxstanza] "
	    "[file ...]\n");
	exit(status);
}

/* Input offsets of the current event, and just past it. */
static long long
here(struct parse *p)
{
	return p->base + XML_GetCurrentByteIndex(p->xp);
}

static long long
past(struct parse *p)
{
	return here(p) + XML_GetCurrentByteCount(p->xp);
}

static void
fail(struct parse *p, long long off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Gives up: outside a handler XML_StopParser() is a harmless no-op. */
static void
fail(struct parse *p, long long off, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);	/* truncation is fine */
	va_end(ap);
	p->state = S_ERROR;
	p->stop = off;
	XML_StopParser(p->xp, XML_FALSE);
}

static void
flush(struct parse *p)
{
	if (!p->check && write_all(STDOUT_FILENO, p->out.p, p->out.len) == -1)
		err(1, "write");
	buf_reset(&p->out);
}

static void
emit(struct parse *p)
{
	rec_finish(&p->rec);
	buf_add(&p->out, p->rec.out.p, p->rec.out.len);
	if (p->out.len >= BUFSZ)
		flush(p);
}

/* Splits expat's "URI\1local"; the URI goes to b, NULL when none. */
static const char *
split(struct buf *b, const char *name, const char **local)
{
	const char	*sep;

	if ((sep = strrchr(name, NSSEP)) == NULL) {
		*local = name;
		return NULL;
	}
	*local = sep + 1;
	buf_reset(b);
	buf_add(b, name, (size_t)(sep - name));
	return buf_str(b);
}

static void
attrs(struct parse *p, const char **atts)
{
	const char	*ns, *local;

	for (; *atts != NULL; atts += 2) {
		ns = split(&p->attrns, atts[0], &local);
		rec_attr(&p->rec, ns, local, atts[1]);
	}
}

static int
blank(const char *s, size_t n)
{
	for (; n > 0; s++, n--)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

/* The limit counts input bytes, so memory stays bounded whatever the
 * content; it is checked at every event and after every read.  A stanza
 * past it is no longer built but still parsed; bytes held between top-
 * level elements are a start tag, see take_over(). */
static void
check_size(struct parse *p, long long end)
{
	if (!p->over && end - p->mark <= p->maxsize)
		return;
	if (p->state == S_ELEMENT && p->stanza)
		p->over = 1;
	else if (p->state != S_STREAM)
		fail(p, p->mark, "element larger than %lld bytes", p->maxsize);
}

/* The raw bytes of the current event, NULL when expat reads ours. */
static const char *
raw(struct parse *p, size_t *n)
{
	long long	 at = here(p), end = past(p);

	if (p->synthetic || at < p->heldoff ||
	    end > p->heldoff + (long long)p->held.len)
		return NULL;
	*n = (size_t)(end - at);
	return p->held.p + (at - p->heldoff);
}

/* Elements are matched by name in skip.c: the hash of each one open. */
static void
push_name(struct parse *p)
{
	const char	*s;
	size_t		 n;

	if ((s = raw(p, &n)) != NULL)
		p->hash[p->depth] = skip_hash_tag(s, n);
}

/* After a skipped stanza, a new parser starts with this header again. */
static void
save_header(struct parse *p)
{
	const char	*s;
	size_t		 n;

	if ((s = raw(p, &n)) == NULL)
		return;
	buf_reset(&p->header);
	buf_add(&p->header, s, n);
}

static int
is_stanza(const char *ns, const char *local)
{
	return ns != NULL && strcmp(ns, NS_CLIENT) == 0 &&
	    (strcmp(local, "message") == 0 || strcmp(local, "presence") == 0 ||
	    strcmp(local, "iq") == 0);
}

/* What the #skipped record will need, should the stanza be too large. */
static void
save_top(struct parse *p, const char *ns, const char *local,
    const char **atts)
{
	struct top	*t = &p->top;
	size_t		 i;

	buf_reset(&t->name);
	buf_adds(&t->name, local);
	if ((t->hasns = ns != NULL)) {
		buf_reset(&t->ns);
		buf_adds(&t->ns, ns);
	}
	memset(t->has, 0, sizeof(t->has));
	for (; *atts != NULL; atts += 2)
		for (i = 0; i < NTOP; i++)
			if (strcmp(atts[0], top_attrs[i]) == 0 &&
			    strlen(atts[1]) <= SKIP_VALUE_MAX) {
				buf_reset(&t->attr[i]);
				buf_adds(&t->attr[i], atts[1]);
				t->has[i] = 1;
			}
}

static void
free_top(struct parse *p)
{
	size_t	 i;

	buf_free(&p->top.name);
	buf_free(&p->top.ns);
	for (i = 0; i < NTOP; i++)
		buf_free(&p->top.attr[i]);
	buf_free(&p->held);
	buf_free(&p->header);
}

/* The #skipped record of the stanza that began at start and ended
 * just before end. */
static void
emit_skipped(struct parse *p, long long end)
{
	struct top	*t = &p->top;
	char		 num[32];
	size_t		 i;

	rec_begin(&p->rec, KIND_SKIPPED, NULL);
	snprintf(num, sizeof(num), "%lld", p->start);
	rec_attr(&p->rec, NULL, "offset", num);
	snprintf(num, sizeof(num), "%lld", end - p->start);
	rec_attr(&p->rec, NULL, "size", num);
	rec_start(&p->rec, t->hasns ? buf_str(&t->ns) : NULL,
	    buf_str(&t->name));
	for (i = 0; i < NTOP; i++)
		if (t->has[i])
			rec_attr(&p->rec, NULL, top_attrs[i],
			    buf_str(&t->attr[i]));
	rec_end(&p->rec);
	emit(p);
	warnx("%s%soffset %lld: %s of %lld bytes skipped (larger than %lld)",
	    p->label ? p->label : "", p->label ? ": " : "", p->start,
	    buf_str(&t->name), end - p->start, p->maxsize);
	p->over = 0;
}

static void
open_stream(struct parse *p, const char *ns, const char *local,
    const char **atts)
{
	if (ns == NULL || strcmp(ns, NS_STREAM) != 0 ||
	    strcmp(local, "stream") != 0) {
		fail(p, here(p), "not an XMPP stream header");
		return;
	}
	rec_begin(&p->rec, KIND_OPEN, ns);
	attrs(p, atts);
	emit(p);
	save_header(p);
	p->state = S_STREAM;
	p->mark = past(p);
}

static void
open_element(struct parse *p, const char *ns, const char *local,
    const char **atts)
{
	if (ns != NULL && strcmp(ns, NS_STREAM) == 0 &&
	    strcmp(local, "stream") == 0 && p->client) {
		/* A client opens its new stream after the server's
		 * <success/> (RFC 6120 6.4.6), which it never sends. */
		rec_begin(&p->rec, KIND_OPEN, ns);
		attrs(p, atts);
		emit(p);
		save_header(p);
		p->mark = past(p);
		return;
	}
	if (ns != NULL && strcmp(ns, NS_STREAM) == 0 &&
	    strcmp(local, "stream") == 0) {
		fail(p, here(p), "stream header inside the stream");
		return;
	}
	/* Already over: skip.c scanned it, this is its start tag again. */
	if (!p->over)
		p->start = here(p);
	p->state = S_ELEMENT;
	p->mark = p->start;
	p->depth = 1;
	push_name(p);
	if ((p->stanza = is_stanza(ns, local)))
		save_top(p, ns, local, atts);
	rec_begin(&p->rec, rec_kind(ns, local), ns);
	attrs(p, atts);
	check_size(p, past(p));
}

static void
open_child(struct parse *p, const char *ns, const char *local,
    const char **atts)
{
	if (++p->depth > p->maxdepth) {
		fail(p, here(p), "elements nested deeper than %d",
		    p->maxdepth);
		return;
	}
	push_name(p);
	if (p->over)
		return;
	rec_start(&p->rec, ns, local);
	attrs(p, atts);
	check_size(p, past(p));
}

/* RFC 6120 5.4.3.3 and 6.4.6: after these the server sends a new stream
 * header without closing the old stream, so expat must start afresh. */
static void
close_element(struct parse *p, const char *name)
{
	check_size(p, past(p));
	if (p->state == S_ERROR)
		return;
	if (p->over)
		emit_skipped(p, past(p));
	else
		emit(p);
	p->mark = past(p);
	if (strcmp(name, SASL_SUCCESS) == 0 || strcmp(name, TLS_PROCEED) == 0) {
		p->state = S_RESTART;
		p->stop = p->mark;
		XML_StopParser(p->xp, XML_FALSE);
	} else
		p->state = S_STREAM;
}

static void
close_stream(struct parse *p)
{
	rec_begin(&p->rec, KIND_CLOSE, NULL);
	emit(p);
	p->state = S_END;
	p->stop = past(p);
	XML_StopParser(p->xp, XML_FALSE);
}

static void XMLCALL
on_start(void *arg, const char *name, const char **atts)
{
	struct parse	*p = arg;
	const char	*ns, *local;

	ns = split(&p->ns, name, &local);
	switch (p->state) {
	case S_HEADER:
		open_stream(p, ns, local, atts);
		break;
	case S_STREAM:
		open_element(p, ns, local, atts);
		break;
	case S_ELEMENT:
		open_child(p, ns, local, atts);
		break;
	case S_RESUME:	/* the header again: no record */
		p->state = S_STREAM;
		p->mark = past(p);
		break;
	default:	/* stopped */
		break;
	}
}

static void XMLCALL
on_end(void *arg, const char *name)
{
	struct parse	*p = arg;

	switch (p->state) {
	case S_ELEMENT:
		if (p->depth-- > 1) {
			if (!p->over)
				rec_end(&p->rec);
		} else
			close_element(p, name);
		break;
	case S_STREAM:
		close_stream(p);
		break;
	default:
		break;
	}
}

static void XMLCALL
on_text(void *arg, const char *s, int len)
{
	struct parse	*p = arg;
	int		 i;

	switch (p->state) {
	case S_ELEMENT:
		if (p->over)
			break;
		rec_text(&p->rec, s, (size_t)len);
		check_size(p, past(p));
		break;
	case S_STREAM:
		/* white space keepalives (RFC 6120 4.6.1) */
		if (blank(s, (size_t)len)) {
			p->mark = past(p);
			break;
		}
		/* At its first other byte, wherever reads cut the blanks
		 * before it (a run of data bytes here maps one to one). */
		for (i = 0; blank(s + i, 1); i++)
			;
		fail(p, here(p) + i, "text between top-level elements");
		break;
	default:
		break;
	}
}

/* RFC 6120 section 11: UTF-8 only; the parser is made for UTF-8 anyway. */
static void XMLCALL
on_xmldecl(void *arg, const char *version, const char *encoding,
    int standalone)
{
	struct parse	*p = arg;

	(void)version;
	(void)standalone;
	if (encoding != NULL && strcasecmp(encoding, "UTF-8") != 0)
		fail(p, here(p), "encoding is not UTF-8");
}

/* RFC 6120 11.1: no DTD, comments, processing instructions or entity
 * references other than the predefined ones.  Refusing the DOCTYPE
 * itself means no entity is ever declared, so neither entity expansion
 * (billion laughs) nor external entities can happen. */
static void XMLCALL
on_doctype(void *arg, const char *name, const char *sysid,
    const char *pubid, int subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)subset;
	fail(arg, here(arg), "DOCTYPE forbidden");
}

static void XMLCALL
on_comment(void *arg, const char *s)
{
	(void)s;
	fail(arg, here(arg), "comment forbidden");
}

static void XMLCALL
on_pi(void *arg, const char *target, const char *data)
{
	(void)target;
	(void)data;
	fail(arg, here(arg), "processing instruction forbidden");
}

static void XMLCALL
on_entitydecl(void *arg, const char *name, int param, const char *value,
    int len, const char *base, const char *sysid, const char *pubid,
    const char *notation)
{
	(void)name;
	(void)param;
	(void)value;
	(void)len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(arg, here(arg), "entity declaration forbidden");
}

/* skip.c must know where it takes over. */
static void XMLCALL
on_cdata_start(void *arg)
{
	((struct parse *)arg)->cdata = 1;
}

static void XMLCALL
on_cdata_end(void *arg)
{
	((struct parse *)arg)->cdata = 0;
}

static void XMLCALL
on_skipped(void *arg, const char *name, int param)
{
	(void)name;
	(void)param;
	fail(arg, here(arg), "entity reference forbidden");
}

/* Handlers go with every reset.  Reparse deferral (expat 2.6) would hold
 * complete stanzas back until more input comes, and would keep the bytes
 * after a restart element inside the old parser. */
static void
setup(struct parse *p)
{
	XML_SetUserData(p->xp, p);
	XML_SetElementHandler(p->xp, on_start, on_end);
	XML_SetCharacterDataHandler(p->xp, on_text);
	XML_SetXmlDeclHandler(p->xp, on_xmldecl);
	XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
	XML_SetCommentHandler(p->xp, on_comment);
	XML_SetProcessingInstructionHandler(p->xp, on_pi);
	XML_SetEntityDeclHandler(p->xp, on_entitydecl);
	XML_SetSkippedEntityHandler(p->xp, on_skipped);
	XML_SetCdataSectionHandler(p->xp, on_cdata_start, on_cdata_end);
	expat_eager(p->xp);
}

static void
restart(struct parse *p)
{
	if (XML_ParserReset(p->xp, "UTF-8") != XML_TRUE)
		errx(1, "XML_ParserReset failed");
	setup(p);
	p->base = p->mark = p->stop;
	p->state = S_HEADER;
	p->over = p->cdata = 0;
}

static void
xml_error(struct parse *p)
{
	enum XML_Error	 e = XML_GetErrorCode(p->xp);

	fail(p, here(p), "%s", XML_ErrorString(e));
}

static void
trailer(struct parse *p, const char *s, size_t n, long long off)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!blank(s + i, 1)) {
			fail(p, off + (long long)i, "data after the stream end");
			return;
		}
}

/* Drops the held bytes before input offset to. */
static void
drop(struct parse *p, long long to)
{
	size_t	 n;

	if (to <= p->heldoff)
		return;
	n = to - p->heldoff < (long long)p->held.len ?
	    (size_t)(to - p->heldoff) : p->held.len;
	memmove(p->held.p, p->held.p + n, p->held.len - n);
	p->held.len -= n;
	p->heldoff += (long long)n;
}

/* Keeps a copy of what expat holds, the partial token at the end of
 * its input: skip.c may have to take it over.  The n bytes at off are
 * new, or the end of the copy when a restart left them to a new parser. */
static void
hold(struct parse *p, const char *s, size_t n, long long off)
{
	long long	 end = p->heldoff + (long long)p->held.len;

	if (end == off + (long long)n && off >= p->heldoff) {
		drop(p, off);
		return;
	}
	if (end != off) {
		buf_reset(&p->held);
		p->heldoff = off;
	}
	buf_add(&p->held, s, n);
}

/* After XML_Parse(): expat's position is the start of what it holds. */
static void
taken(struct parse *p)
{
	XML_Index	 i = XML_GetCurrentByteIndex(p->xp);

	if (i >= 0)
		drop(p, p->base + i);
}

/* A parser afresh after a skipped stanza ending at end: the saved stream
 * header, then the stanza's start tag as skip.c kept it, if it read it
 * (the #skipped record comes of it), all fed as if they ended at end. */
static void
resume(struct parse *p, long long end)
{
	struct buf	*sub = &p->sk.sub;

	if (sub->len == 0)
		emit_skipped(p, end);
	if (XML_ParserReset(p->xp, "UTF-8") != XML_TRUE)
		errx(1, "XML_ParserReset failed");
	setup(p);
	p->synthetic = 1;
	p->base = end - (long long)(p->header.len + sub->len);
	p->state = S_RESUME;
	p->over = sub->len > 0;
	p->cdata = 0;
	if ((XML_Parse(p->xp, p->header.p, (int)p->header.len, 0) !=
	    XML_STATUS_OK || XML_Parse(p->xp, sub->p, (int)sub->len, 0) !=
	    XML_STATUS_OK) && p->state != S_ERROR)
		fail(p, p->start, "%s",
		    XML_ErrorString(XML_GetErrorCode(p->xp)));
	p->synthetic = 0;
	if (p->state == S_ERROR)
		return;
	p->mark = end;
	buf_reset(&p->held);
	p->heldoff = end;
}

/* skip.c on the bytes of a stanza too large; returns how many it took. */
static size_t
skip_some(struct parse *p, const char *s, size_t n, long long off)
{
	size_t	 used;

	switch (skip_scan(&p->sk, s, n, off, &used)) {
	case SKIP_MORE:
		break;
	case SKIP_DONE:
		resume(p, p->sk.at);
		break;
	case SKIP_BAD:
		fail(p, p->sk.at, "%s", p->sk.why);
		break;
	case SKIP_OTHER:
		fail(p, p->start, "element larger than %lld bytes",
		    p->maxsize);
		break;
	}
	return used;
}

static void	feed_xml(struct parse *, const char *, size_t, long long);

/*
 * Expat holds a start tag whole, and a start tag has no size limit but
 * the server's: past maxsize, skip.c takes over from the start of what
 * expat holds, in the stanza (its element known) or at its '<'.
 */
static void
take_over(struct parse *p)
{
	struct buf	 b = p->held;

	if (p->state == S_STREAM) {
		p->start = p->mark;
		p->depth = 0;
		p->cdata = 0;
	}
	skip_begin(&p->sk, p->depth, p->cdata, p->hash, p->maxdepth);
	p->state = S_SKIP;
	memset(&p->held, 0, sizeof(p->held));
	feed_xml(p, b.p, b.len, p->heldoff);
	buf_free(&b);
}

static int
too_much_held(const struct parse *p)
{
	return (p->state == S_STREAM || (p->state == S_ELEMENT && p->over)) &&
	    p->held.len > (size_t)p->maxsize;
}

/* Parses n bytes found at input offset off.  A restart or the stream end
 * stops the parser in the middle of them: the rest goes to the new
 * parser, or to the trailer check; the end of a skipped stanza gives
 * them back to expat. */
static void
feed_xml(struct parse *p, const char *s, size_t n, long long off)
{
	size_t	 used;

	while (n > 0) {
		if (p->state == S_END) {
			trailer(p, s, n, off);
			return;
		}
		if (p->state == S_SKIP) {
			used = skip_some(p, s, n, off);
			if (p->state == S_ERROR)
				return;
			s += used;
			n -= used;
			off += (long long)used;
			continue;
		}
		hold(p, s, n, off);
		if (XML_Parse(p->xp, s, (int)n, 0) == XML_STATUS_OK) {
			taken(p);
			check_size(p, off + (long long)n);
			if (too_much_held(p))
				take_over(p);
			return;
		}
		switch (p->state) {
		case S_RESTART:
		case S_END:
			if (p->stop < off || p->stop > off + (long long)n)
				errx(1, "offset %lld: stop outside the input "
				    "given to expat", p->stop);
			used = (size_t)(p->stop - off);
			s += used;
			n -= used;
			off = p->stop;
			if (p->state == S_RESTART)
				restart(p);
			break;
		case S_ERROR:
			return;
		default:
			xml_error(p);
			return;
		}
	}
}

/* XML 1.0 has no U+0000, and expat 2.5 tells it differently depending
 * on where reads end ("\r\0": truncated, or invalid at 1): refuse it
 * here, at its offset, as expat would. */
static void
feed(struct parse *p, const char *s, size_t n, long long off)
{
	const char	*nul;

	if ((nul = memchr(s, '\0', n)) == NULL) {
		feed_xml(p, s, n, off);
		return;
	}
	feed_xml(p, s, (size_t)(nul - s), off);
	if (p->state == S_END)
		trailer(p, nul, n - (size_t)(nul - s), off + (nul - s));
	else if (p->state != S_ERROR)
		fail(p, off + (nul - s), "%s",
		    XML_ErrorString(XML_ERROR_INVALID_TOKEN));
}

/* Writes the #error record and the diagnostic; returns status. */
static int
give_up(struct parse *p, int status)
{
	char	 off[32];

	snprintf(off, sizeof(off), "%lld", p->stop);
	rec_begin(&p->rec, KIND_ERROR, NULL);
	rec_attr(&p->rec, NULL, "offset", off);
	rec_text(&p->rec, p->why, strlen(p->why));
	emit(p);
	flush(p);
	warnx("%s%soffset %lld: %s", p->label ? p->label : "",
	    p->label ? ": " : "", p->stop, p->why);
	return status;
}

/* An empty input is no stream at all, not a truncated one.  Otherwise
 * expat tells a stream cut short from one that is wrong already. */
static int
at_eof(struct parse *p, long long off)
{
	if (p->state == S_END || off == 0)
		return 0;
	if (p->state == S_SKIP) {
		fail(p, off, "%s", PARSE_TRUNCATED);
		return give_up(p, 3);
	}
	if (XML_Parse(p->xp, NULL, 0, 1) == XML_STATUS_ERROR &&
	    p->state != S_ERROR) {
		switch (XML_GetErrorCode(p->xp)) {
		case XML_ERROR_NO_ELEMENTS:
		case XML_ERROR_UNCLOSED_TOKEN:
		case XML_ERROR_PARTIAL_CHAR:
		case XML_ERROR_UNCLOSED_CDATA_SECTION:
			break;
		default:
			xml_error(p);
		}
	}
	if (p->state == S_ERROR)
		return give_up(p, 2);
	fail(p, off, "%s", PARSE_TRUNCATED);
	return give_up(p, 3);
}

static void
capture_fail(struct parse *p, const struct capin *c, const char *name,
    const char *why)
{
	flush(p);
	errx(1, "%s: capture offset %lld: %s", name, c->off, why);
}

/* The first line: the format and its version. */
static void
capture_magic(struct parse *p, struct capin *c, const char *name)
{
	if (strcmp(c->line, CAPTURE_MAGIC) == 0)
		c->state = C_HEAD;
	else
		capture_fail(p, c, name, "unknown capture version");
}

/* Not a capture after all: the bytes held so far begin the stream.  It
 * cannot be XML either, but the parser is the one to say so. */
static void
capture_raw(struct parse *p, struct capin *c, long long *off,
    const char *name)
{
	if (p->client)
		capture_fail(p, c, name, "not a capture (-o)");
	c->state = C_RAW;
	feed(p, c->line, c->len, *off);
	*off += (long long)c->len;
}

/* "SECONDS.MICROS DIR LENGTH": is the chunk ours, and how long. */
static void
capture_head(struct parse *p, struct capin *c, const char *name)
{
	char		*t = c->line, *dir, *len;
	const char	*errstr;

	if ((dir = strchr(t, ' ')) == NULL ||
	    (len = strchr(dir + 1, ' ')) == NULL) {
		capture_fail(p, c, name, "bad chunk header");
		return;
	}
	*dir++ = '\0';
	*len++ = '\0';
	if (*t == '\0' || strspn(t, "0123456789.") != strlen(t) ||
	    *dir == '\0')
		capture_fail(p, c, name, "bad chunk header");
	c->left = strtonum(len, 0, 1LL << 30, &errstr);
	if (errstr != NULL)
		capture_fail(p, c, name, "bad chunk length");
	c->take = strcmp(dir, c->dir) == 0;
	c->state = c->left == 0 ? C_LF : c->take && p->client ? C_PEEK :
	    C_DATA;
}

/*
 * A client restarts its stream after the server's <success/>, which is
 * not in its own stream, often with an XML declaration expat refuses in
 * the middle of a document.  It comes at the start of a chunk, as the
 * client writes it only once it read the <success/>: a chunk that begins
 * with one between top-level elements starts a new document there.
 */
static void
capture_peek(struct parse *p, struct capin *c, long long *off)
{
	if (c->len == sizeof(XMLDECL) - 1 && memcmp(c->line, XMLDECL,
	    c->len) == 0 && p->state == S_STREAM) {
		p->stop = *off;
		restart(p);
	}
	feed(p, c->line, c->len, *off);
	*off += (long long)c->len;
	c->len = 0;
	c->state = c->left > 0 ? C_DATA : C_LF;
}

/* Feeds the bytes of the replayed direction's chunks; *off counts them,
 * so offsets are those of the stream, as in the live run. */
static void
unwrap(struct parse *p, struct capin *c, const char *s, size_t n,
    long long *off, const char *name)
{
	size_t	 k;

	while (n > 0 && p->state != S_ERROR) {
		k = 1;
		if (c->state == C_MAGIC && c->len < sizeof(CAPTURE_WORD) - 1 &&
		    *s != CAPTURE_WORD[c->len]) {
			capture_raw(p, c, off, name);
			continue;
		}
		switch (c->state) {
		case C_RAW:
			k = n;
			feed(p, s, k, *off);
			*off += (long long)k;
			break;
		case C_MAGIC:
		case C_HEAD:
			if (*s != '\n') {
				if (c->len == sizeof(c->line) - 1)
					capture_fail(p, c, name,
					    "line too long");
				c->line[c->len++] = *s;
				break;
			}
			c->line[c->len] = '\0';
			c->len = 0;
			if (c->state == C_MAGIC)
				capture_magic(p, c, name);
			else
				capture_head(p, c, name);
			break;
		case C_PEEK:
			c->line[c->len++] = *s;
			if (--c->left == 0 || c->len == sizeof(XMLDECL) - 1)
				capture_peek(p, c, off);
			break;
		case C_DATA:
			k = n < (unsigned long long)c->left ? n :
			    (size_t)c->left;
			if (c->take) {
				feed(p, s, k, *off);
				*off += (long long)k;
			}
			if ((c->left -= (long long)k) == 0)
				c->state = C_LF;
			break;
		case C_LF:
			if (*s != '\n')
				capture_fail(p, c, name,
				    "no newline after a chunk");
			c->state = C_HEAD;
			break;
		}
		s += k;
		n -= k;
		c->off += (long long)k;
	}
}

/* Input that ended inside the word "xmpp-capture " was the stream; a
 * chunk cut short still has its first bytes to give. */
static void
unwrap_eof(struct parse *p, struct capin *c, long long *off,
    const char *name)
{
	if (c->state == C_MAGIC && c->len < sizeof(CAPTURE_WORD) - 1)
		capture_raw(p, c, off, name);
	else if (c->state == C_PEEK)
		capture_peek(p, c, off);
}

/* Waits until fd has input (or its end); 0, or -1 with errno. */
static int
wait_readable(int fd)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	while (poll(&pfd, 1, -1) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Every input goes through unwrap(): a capture is known by its first
 * line, anything else is the stream itself. */
static int
run(struct parse *p, int fd, const char *name)
{
	static char	 buf[BUFSZ];
	struct capin	 cap = { .state = C_MAGIC };
	long long	 off = 0;
	ssize_t		 n;

	cap.dir = p->client ? ">" : "<";
	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			/*
			 * Under xmpp-connect's owner mode our stdin is the
			 * socket the writer writes to, one file description:
			 * xmpp-echo makes it non-blocking for itself.
			 */
			if (errno == EAGAIN && wait_readable(fd) == 0)
				continue;
			flush(p);
			err(1, "%s", name);
		}
		if (n == 0)
			break;
		unwrap(p, &cap, buf, (size_t)n, &off, name);
		if (p->state == S_ERROR)
			return give_up(p, 2);
		flush(p);	/* before read(2) may block */
	}
	unwrap_eof(p, &cap, &off, name);
	if (p->state == S_ERROR)
		return give_up(p, 2);
	return at_eof(p, off);
}

/* Every input is a stream of its own, its offsets counted from 0. */
static void
next_input(struct parse *p)
{
	p->stop = 0;
	restart(p);
	buf_reset(&p->held);
	p->heldoff = 0;
	buf_reset(&p->header);
}

/* "-" is standard input, as for cat(1); -1 when it cannot be opened. */
static int
open_input(const char *name)
{
	int	 fd;

	if (strcmp(name, "-") == 0)
		return STDIN_FILENO;
	if ((fd = open(name, O_RDONLY)) == -1)
		warn("%s", name);
	return fd;
}

/* Each input in turn, as cat(1) reads them; the first status that is
 * not 0 is the exit status. */
static int
run_all(struct parse *p, int n, char **names, const int *fds)
{
	int	 i, st, status = 0;

	for (i = 0; i < n; i++) {
		if (i > 0)
			next_input(p);
		if (n > 1)
			p->label = names[i];
		if (fds[i] == -1)
			st = 1;
		else
			st = run(p, fds[i], fds[i] == STDIN_FILENO ? "stdin" :
			    names[i]);
		if (fds[i] > STDIN_FILENO)
			close(fds[i]);
		if (status == 0)
			status = st;
	}
	return status;
}

int
main(int argc, char *argv[])
{
	static char	*std[] = { "-", NULL };
	struct parse	 p = { 0 };
	const char	*errstr;
	int		 ch, i, *fds, status, confine = 1;

	p.maxsize = MAXSTANZA;
	p.maxdepth = MAXDEPTH;
	while ((ch = getopt(argc, argv, "chn:os:VX")) != -1) {
		switch (ch) {
		case 'c':
			p.check = 1;
			break;
		case 'h':
			usage(0);
		case 'n':
			p.maxdepth = (int)strtonum(optarg, 1, MAXDEPTH_MAX,
			    &errstr);
			if (errstr != NULL)
				errx(1, "maxdepth %s: %s", optarg, errstr);
			break;
		case 'o':
			p.client = 1;
			break;
		case 's':
			p.maxsize = strtonum(optarg, 1, 1LL << 30, &errstr);
			if (errstr != NULL)
				errx(1, "maxstanza %s: %s", optarg, errstr);
			break;
		case 'V':
			puts("xmpp-parse " VERSION);
			return 0;
		case 'X':
			confine = 0;
			break;
		default:
			usage(1);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		argc = 1;
		argv = std;
	}
	/* All opened before the confinement below. */
	if ((fds = calloc((size_t)argc, sizeof(*fds))) == NULL)
		err(1, "calloc");
	for (i = 0; i < argc; i++)
		fds[i] = open_input(argv[i]);
	if ((p.xp = XML_ParserCreateNS("UTF-8", NSSEP)) == NULL)
		errx(1, "XML_ParserCreateNS failed");
	/* From here on only read, write and memory: the server's bytes
	 * cannot make the parser open, exec or connect anything. */
	if (confine)
		(void)sandbox_stdio();

	setup(&p);
	status = run_all(&p, argc, argv, fds);
	free(fds);
	XML_ParserFree(p.xp);
	skip_free(&p.sk);
	free_top(&p);
	rec_free(&p.rec);
	buf_free(&p.out);
	buf_free(&p.ns);
	buf_free(&p.attrns);
	return status;
}
