/*
 * parse-fuzz - libFuzzer harness for the stream parser of xmpp-parse
 *
 * xmpp-parse.c is compiled in (its main() renamed), so its static
 * functions run without a fork: the input is fed through unwrap() (the
 * stream, or a capture of it) once whole and once in chunks whose sizes
 * come from the input, as read(2) could return them, then unwrap_eof()
 * and at_eof(), as run() does.  Checked each time: the exit status is 0, 2
 * or 3 (1 for a bad capture); every output line decodes with
 * record_decode() and rec_write() gives it back byte for byte; records
 * come in a possible order (a #error last, with status 2 or 3 and an
 * offset inside the input); the XML that xml_node() makes of each
 * record parses back into the same record.  Both runs must give the
 * same records and status when no size limit is near, as where read(2)
 * splits the input must not matter.
 */
#define _GNU_SOURCE	/* memfd_create */
#include <sys/mman.h>

#include <err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The parser's diagnostics would drown libFuzzer's own, and a bad
 * capture file must end the run, not the fuzzer. */
void	fuzz_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fuzz_errx(int, const char *, ...)
	    __attribute__((noreturn, format(printf, 2, 3)));
#define warnx	fuzz_warnx
#define errx	fuzz_errx
#define main	xmpp_parse_main
#include "../../xmpp-parse/xmpp-parse.c"
#include "../../xmpp-parse/skip.c"
#undef main
#undef errx
#undef warnx

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

void
fuzz_warnx(const char *fmt, ...)
{
	char	 msg[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
}

static int	 outfd;		/* stdout: a memfd */
static jmp_buf	 badcapture;	/* where capture_fail() lands */
static int	 parsing;

/* capture_fail() ends xmpp-parse with 1 on a bad capture file: here the
 * run ends so.  Any other errx() is a failed assertion, as in main(). */
void
fuzz_errx(int status, const char *fmt, ...)
{
	va_list	 ap;

	if (parsing && (strcmp(fmt, "%s: capture offset %lld: %s") == 0 ||
	    strcmp(fmt, "%s: -o: not a capture") == 0))
		longjmp(badcapture, 1);
	va_start(ap, fmt);
	verrx(status, fmt, ap);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((outfd = memfd_create("parse-fuzz-out", 0)) == -1)
		err(1, "memfd_create");
	if (dup2(outfd, STDOUT_FILENO) == -1)
		err(1, "dup2");
	return 0;
}

/* A small deterministic generator for the chunk sizes. */
static uint32_t
next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Feeds data as run() would, chunk sizes drawn from seed (0: whole);
 * the output goes to out.  A capture file is replayed, the client's
 * side of it with client set, as with -o. */
static int
parse(const uint8_t *data, size_t size, uint32_t seed, int client,
    int maxdepth, long long maxsize, struct buf *out)
{
	/* Static: they live across the longjmp() of a bad capture. */
	static struct parse	 p;
	static struct capin	 cap;
	static char		*chunk;
	long long		 off = 0;
	size_t			 pos, n, max;
	char			 tmp[4096];
	off_t			 at;
	ssize_t			 r;
	int			 status = -1;

	if (ftruncate(outfd, 0) == -1 || lseek(outfd, 0, SEEK_SET) == -1)
		err(1, "memfd");
	memset(&p, 0, sizeof(p));
	memset(&cap, 0, sizeof(cap));
	p.client = client;
	p.maxsize = maxsize;
	p.maxdepth = maxdepth;
	cap.state = C_MAGIC;
	cap.dir = p.client ? ">" : "<";
	if ((p.xp = XML_ParserCreateNS("UTF-8", NSSEP)) == NULL)
		errx(1, "XML_ParserCreateNS failed");
	setup(&p);
	if (setjmp(badcapture) != 0) {
		free(chunk);
		chunk = NULL;
		status = 1;
		goto done;
	}
	parsing = 1;
	/* Mostly small chunks: they split tokens, characters and restarts. */
	max = seed % 4 == 0 ? 1 : seed % 4 == 1 ? 7 : seed % 4 == 2 ? 64 : 4096;
	for (pos = 0; pos < size; pos += n) {
		n = seed == 0 ? size : 1 + next(&seed) % max;
		if (n > size - pos)
			n = size - pos;
		/* An exact copy, so that ASan sees any read past it. */
		if ((chunk = malloc(n)) == NULL)
			err(1, "malloc");
		memcpy(chunk, data + pos, n);
		unwrap(&p, &cap, chunk, n, &off, "fuzz");
		free(chunk);
		chunk = NULL;
		if (p.state == S_ERROR) {
			status = give_up(&p, 2);
			break;
		}
		flush(&p);
	}
	if (status == -1) {
		unwrap_eof(&p, &cap, &off, "fuzz");
		if (p.state == S_ERROR)
			status = give_up(&p, 2);
		else
			status = at_eof(&p, off);
	}
done:
	parsing = 0;
	XML_ParserFree(p.xp);
	skip_free(&p.sk);
	free_top(&p);
	rec_free(&p.rec);
	buf_free(&p.out);
	buf_free(&p.ns);
	buf_free(&p.attrns);

	buf_reset(out);
	for (at = 0; (r = pread(outfd, tmp, sizeof(tmp), at)) > 0; at += r)
		buf_add(out, tmp, (size_t)r);
	if (r == -1)
		err(1, "pread");
	buf_str(out);
	return status;
}

/*
 * The XML that xml_node() writes of a record (what xmpp-echo sends) must
 * mean the same element: parsed again, in a stream of its own, it must
 * give the very same record.
 */
static void
check_xml(const struct record *rec, const char *line, size_t len)
{
	static const char	 head[] = "<stream:stream xmlns:stream='"
	    NS_STREAM "'>";
	static struct buf	 x, out;
	const char		*nl;
	int			 status;

	/* The stream events have no XML of their own. */
	if (strcmp(rec->kind, KIND_OPEN) == 0 ||
	    strcmp(rec->kind, KIND_CLOSE) == 0 ||
	    strcmp(rec->kind, KIND_ERROR) == 0 ||
	    strcmp(rec->kind, KIND_SKIPPED) == 0)
		return;
	buf_reset(&x);
	buf_adds(&x, head);
	xml_node(&x, rec->root, NULL);
	status = parse((const uint8_t *)x.p, x.len, 0, 0, MAXDEPTH_MAX,
	    1LL << 30, &out);
	nl = memchr(out.p, '\n', out.len);
	if (status != 3 || nl == NULL || (size_t)(out.p + out.len - nl) <= len ||
	    memcmp(nl + 1, line, len) != 0) {
		fprintf(stderr, "record: %.*s\nxml: %s\nparsed (%d): %s",
		    (int)len, line, x.p + sizeof(head) - 1, status, out.p);
		errx(1, "xml_node wrote XML that means something else");
	}
}

static int
restarts(const struct record *rec)
{
	const char	*ns = rec->root->ns;

	if (ns == NULL)
		return 0;
	return (strcmp(rec->kind, "success") == 0 && strcmp(ns, NS_SASL) == 0) ||
	    (strcmp(rec->kind, "proceed") == 0 && strcmp(ns, NS_TLS) == 0);
}

/* Every line decodes, writes back identically, and comes in order. */
static void
check_output(const struct buf *out, int status, size_t size, int capture,
    int client)
{
	struct recw	 w = { 0 };
	struct record	 rec;
	const char	*line, *nl, *errstr, *off, *end = out->p + out->len;
	enum { HEADER, STREAM, END, ERROR } st = HEADER;
	long long	 o;

	/* 1: a bad capture file, no #error then */
	if (status != 0 && !(status == 1 && capture) && status != 2 &&
	    status != 3)
		errx(1, "exit status %d", status);
	if (out->len > 0 && end[-1] != '\n')
		errx(1, "output does not end with a newline");
	for (line = out->p; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (record_decode(line, (size_t)(nl + 1 - line), &rec,
		    &errstr) == -1)
			errx(1, "record does not decode (%s): %.*s", errstr,
			    (int)(nl - line), line);
		rec_write(&w, &rec);
		if (w.out.len != (size_t)(nl + 1 - line) ||
		    memcmp(w.out.p, line, w.out.len) != 0)
			errx(1, "record written back differs: %.*s",
			    (int)(nl - line), line);
		if (st == ERROR)
			errx(1, "record after #error: %s", rec.kind);
		if (strcmp(rec.kind, KIND_ERROR) == 0) {
			if ((off = xnode_attr(rec.root, "offset")) == NULL ||
			    (o = strtoll(off, NULL, 10)) < 0 ||
			    o > (long long)size)
				errx(1, "#error offset %s outside the input",
				    off ? off : "missing");
			st = ERROR;
		} else if (strcmp(rec.kind, KIND_OPEN) == 0) {
			/* -o: the client's new stream after <success/> */
			if (st != HEADER && !(client && st == STREAM))
				errx(1, "stream header out of place");
			st = STREAM;
		} else if (st != STREAM)
			errx(1, "%s out of place", rec.kind);
		else if (strcmp(rec.kind, KIND_CLOSE) == 0)
			st = END;
		else if (restarts(&rec))
			st = HEADER;	/* a new stream follows */
		check_xml(&rec, line, (size_t)(nl + 1 - line));
		record_free(&rec);
	}
	rec_free(&w);
	if ((status == 0 || status == 1) != (st != ERROR))
		errx(1, "exit status %d but %s #error record", status,
		    st == ERROR ? "a" : "no");
	if (status == 0 && size > 0 && st != END && st != HEADER)
		errx(1, "exit status 0 inside a stream");
}

/* The offset and the message of the #error record ending out, if any;
 * *rest is the length of the output before it. */
static const char *
last_error(const struct buf *out, long long *off, size_t *rest)
{
	const char	*e, *msg;
	char		*end;

	if (out->len == 0)
		return NULL;
	for (e = out->p + out->len - 1; e > out->p && e[-1] != '\n'; e--)
		;
	if (strncmp(e, "#error\t@offset=", 15) != 0)
		return NULL;
	*off = strtoll(e + 15, &end, 10);
	if (strncmp(end, "\t-", 2) != 0)
		return NULL;
	msg = end + 2;
	*rest = (size_t)(e - out->p);
	return msg;
}

/*
 * Whether two runs on the same input, split differently, agree.  Where
 * both give up, they may name different errors: expat reports a token
 * only once it has seen all of it, so text followed by "]]>" is "text
 * between top-level elements" when a read ends inside the text, and "not
 * well-formed" when not.  Then the records before must still agree, and
 * so must the exit status.  The same error must be at the same offset.
 */
static int
agree(const uint8_t *data, size_t size, const struct buf *a, int sa,
    const struct buf *b, int sb)
{
	const char	*ma, *mb;
	long long	 oa, ob;
	size_t		 ra, rb;

	if (sa == sb && a->len == b->len && memcmp(a->p, b->p, a->len) == 0)
		return 1;
	(void)data;
	(void)size;
	if (sa != sb || (ma = last_error(a, &oa, &ra)) == NULL ||
	    (mb = last_error(b, &ob, &rb)) == NULL || ra != rb ||
	    memcmp(a->p, b->p, ra) != 0)
		return 0;
	return strcmp(ma, mb) != 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct buf	 whole, split;
	uint32_t		 seed = 1;
	long long		 maxsize = MAXSTANZA;
	int			 maxdepth = MAXDEPTH, s1, s2, capture, client;
	size_t			 i;

	/* The split, the side of a capture and the limits come from the
	 * input. */
	for (i = 0; i < size; i++)
		seed = seed * 31 + data[i];
	if (seed == 0)
		seed = 1;
	capture = size > 0 && data[0] == 'x';
	client = capture && (seed >> 28) % 2;
	if (size > 0 && data[size - 1] % 8 == 0) {
		maxsize = 1 + (seed >> 8) % 512;
		maxdepth = 1 + (int)((seed >> 20) % 8);
	}
	s1 = parse(data, size, 0, client, maxdepth, maxsize, &whole);
	check_output(&whole, s1, size, capture, client);
	s2 = parse(data, size, seed, client, maxdepth, maxsize, &split);
	check_output(&split, s2, size, capture, client);
	if (maxsize > (long long)size &&
	    !agree(data, size, &whole, s1, &split, s2)) {
		fprintf(stderr, "whole (%d):\n%ssplit (%d, seed %u):\n%s",
		    s1, whole.p, s2, seed, split.p);
		errx(1, "the output depends on where reads split the input");
	}
	return 0;
}
