/* capture.c - the -w capture of xmpp-connect, with SASL payloads redacted */
#include <sys/types.h>
#include <sys/stat.h>
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

/*
 * The capture (-w): every chunk read, both ways, with its time.  The
 * SASL payloads are overwritten with '=' on the way to the file, byte
 * for byte, so the password (or anything an offline guesser could use)
 * never lands there while offsets and lengths stay those of the wire.
 * A small scanner over the bytes finds them, however the reads cut the
 * tags; it keeps no more than a tag's local name.
 */
enum rstate {
	R_TEXT,		/* character data */
	R_LT,		/* after '<' */
	R_NAME,		/* in a start tag's name */
	R_ATTRS,	/* in a start tag, after the name */
	R_QUOTE,	/* in an attribute value */
	R_SLASH,	/* '/' in a start tag */
	R_ENDTAG,	/* in an end tag */
	R_BANG,		/* after "<!" */
	R_CDATA_OPEN,	/* in "<![CDATA[" */
	R_SPECIAL	/* in a CDATA section, comment, PI or declaration */
};

struct redact {
	enum rstate	 state;
	int		 depth;		/* 1: in the stream element */
	int		 secret;	/* depth of a payload's content, or 0 */
	int		 empty;		/* the start tag ends with "/>" */
	char		 name[16];	/* local name of the tag, "" if long */
	size_t		 namelen;
	char		 quote;
	const char	*term;		/* what ends R_SPECIAL */
	size_t		 match;		/* bytes of term seen */
};

static void	 capture_flush(void);

static FILE		*capf;
static const char	*cappath;
static struct redact	 red_from, red_to;

/* Top-level elements whose text is secret: RFC 6120 6.4 and the
 * like-named ones of SASL2 (XEP-0388), whatever their namespace. */
static int
sasl_payload(const char *name)
{
	return strcmp(name, "auth") == 0 || strcmp(name, "response") == 0 ||
	    strcmp(name, "challenge") == 0 || strcmp(name, "success") == 0 ||
	    strcmp(name, "authenticate") == 0;
}

static void
tag_start_end(struct redact *r)
{
	r->name[r->namelen < sizeof r->name ? r->namelen : 0] = '\0';
	r->state = R_TEXT;
	/* A new stream restarts after <success/> without closing the old. */
	if (strcmp(r->name, "stream") == 0) {
		r->depth = 1;
		return;
	}
	if (r->empty)
		return;
	if (++r->depth == 2 && sasl_payload(r->name))
		r->secret = 2;
}

static void
name_add(struct redact *r, char c)
{
	if (c == ':')		/* the prefix goes */
		r->namelen = 0;
	else if (r->namelen < sizeof r->name - 1)
		r->name[r->namelen++] = c;
	else
		r->namelen = sizeof r->name;	/* too long for a match */
}

static void
special(struct redact *r, const char *term)
{
	r->state = R_SPECIAL;
	r->term = term;
	r->match = 0;
}

/* One byte: returns it, or '=' when it is part of a payload. */
static char
redact_byte(struct redact *r, char c)
{
	int	 hide = r->secret != 0;
	int	 space = c == ' ' || c == '\t' || c == '\n' || c == '\r';

	switch (r->state) {
	case R_TEXT:
		if (c != '<')
			return hide ? '=' : c;
		r->state = R_LT;
		return c;
	case R_LT:
		r->namelen = 0;
		r->empty = 0;
		if (c == '/')
			r->state = R_ENDTAG;
		else if (c == '!')
			r->state = R_BANG;
		else if (c == '?')
			special(r, "?>");
		else {
			r->state = R_NAME;
			name_add(r, c);
		}
		return c;
	case R_NAME:
		if (space)
			r->state = R_ATTRS;
		else if (c == '/')
			r->state = R_SLASH;
		else if (c == '>')
			tag_start_end(r);
		else
			name_add(r, c);
		return c;
	case R_SLASH:
		if (c == '>') {
			r->empty = 1;
			tag_start_end(r);
			return c;
		}
		r->state = R_ATTRS;
		/* FALLTHROUGH */
	case R_ATTRS:
		if (c == '"' || c == '\'') {
			r->quote = c;
			r->state = R_QUOTE;
		} else if (c == '/')
			r->state = R_SLASH;
		else if (c == '>')
			tag_start_end(r);
		return c;
	case R_QUOTE:
		if (c == r->quote) {
			r->state = R_ATTRS;
			return c;
		}
		return hide ? '=' : c;
	case R_ENDTAG:
		if (c == '>') {
			r->state = R_TEXT;
			if (r->depth > 0)
				r->depth--;
			if (r->depth < r->secret)
				r->secret = 0;
		}
		return c;
	case R_BANG:
		if (c == '[')
			r->state = R_CDATA_OPEN;
		else if (c == '-')
			special(r, "-->");
		else {
			special(r, ">");
			return hide ? '=' : c;
		}
		return c;
	case R_CDATA_OPEN:
		if (c == '[')
			special(r, "]]>");
		return c;
	case R_SPECIAL:
		if (c == r->term[r->match]) {
			if (r->term[++r->match] == '\0')
				r->state = R_TEXT;
		} else if (c != r->term[0])
			r->match = 0;
		/* else "]]]>", "--->", "??>": still a match so far */
		return hide && strchr(r->term, c) == NULL ? '=' : c;
	}
	return c;
}

/* Opens the capture before anything is connected: a bad path costs
 * nothing.  0600 whatever the umask or an older file said; never
 * through a symbolic link. */
void
capture_open(const char *path)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		err(EXIT_LOCAL, "%s", path);
	if (fstat(fd, &st) == -1)
		err(EXIT_LOCAL, "%s", path);
	if (S_ISREG(st.st_mode) && (st.st_mode & 07777) != 0600 &&
	    fchmod(fd, 0600) == -1)
		err(EXIT_LOCAL, "%s: chmod 0600", path);
	if ((capf = fdopen(fd, "w")) == NULL)
		err(EXIT_LOCAL, "%s", path);
	cappath = path;
	fprintf(capf, "xmpp-capture 1\n");
	capture_flush();
}

static void
capture_flush(void)
{
	if (fflush(capf) == EOF || ferror(capf))
		err(EXIT_LOCAL, "capture %s", cappath);
}

/* "SECONDS.MICROS DIR LENGTH\n", the bytes (redacted), "\n". */
void
capture(const char *dir, const char *p, size_t len)
{
	struct timespec	 ts;
	struct redact	*r = NULL;
	size_t		 i;

	if (capf == NULL || len == 0)
		return;
	if (strcmp(dir, CAP_FROM) == 0)
		r = &red_from;
	else if (strcmp(dir, CAP_TO) == 0)
		r = &red_to;
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		err(EXIT_LOCAL, "clock_gettime");
	fprintf(capf, "%lld.%06ld %s %zu\n", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000, dir, len);
	for (i = 0; i < len; i++)
		putc(r != NULL ? redact_byte(r, p[i]) : p[i], capf);
	putc('\n', capf);
	/* Whole chunks on disk, for tail -f and for a killed session. */
	capture_flush();
}
