/*
 * skip.c - a lexer for the rest of a stanza too large to keep
 *
 * It checks what expat would (XML 1.0 syntax, UTF-8, characters,
 * references, tags matching, the nesting limit, and the restrictions of
 * RFC 6120 section 11), but not the namespaces nor repeated attributes,
 * which would need the names held.  End tags are matched by a 64-bit
 * hash of their names.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <expat.h>

#include "skip.h"

#define FNV_BASIS	14695981039346656037ULL
#define FNV_PRIME	1099511628211ULL
#define CDATA_OPEN	"[CDATA["

enum lex {
	L_TEXT,		/* character data */
	L_LT,		/* after '<' */
	L_BANG,		/* after "<!" */
	L_CDOPEN,	/* in "<![CDATA[" */
	L_CDATA,	/* in a CDATA section */
	L_STAG,		/* in the name of a start tag */
	L_TAG,		/* in a start tag, after white space */
	L_ANAME,	/* in an attribute name */
	L_AEQ,		/* before its '=' */
	L_AQ,		/* before its opening quote */
	L_AVAL,		/* in its value */
	L_AEND,		/* after its closing quote */
	L_EMPTY,	/* after the '/' of an empty-element tag */
	L_ETAG,		/* after "</" */
	L_ETAGNAME,	/* in the name of an end tag */
	L_ETAGEND,	/* after it */
	L_REF,		/* after '&' */
	L_ENT,		/* in an entity name */
	L_CREF,		/* after "&#" */
	L_CNUM		/* in its digits */
};

/* The attributes of a skipped stanza worth reporting. */
static const char *const kept[] = { "id", "type", "from", "to", "xmlns" };

static int
space(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* XML 1.0 Fifth Edition, 2.3 */
static int
name_start(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    c == '_' || c == ':' || (c >= 0xc0 && c <= 0xd6) ||
	    (c >= 0xd8 && c <= 0xf6) || (c >= 0xf8 && c <= 0x2ff) ||
	    (c >= 0x370 && c <= 0x37d) || (c >= 0x37f && c <= 0x1fff) ||
	    c == 0x200c || c == 0x200d || (c >= 0x2070 && c <= 0x218f) ||
	    (c >= 0x2c00 && c <= 0x2fef) || (c >= 0x3001 && c <= 0xd7ff) ||
	    (c >= 0xf900 && c <= 0xfdcf) || (c >= 0xfdf0 && c <= 0xfffd) ||
	    (c >= 0x10000 && c <= 0xeffff);
}

static int
name_char(uint32_t c)
{
	return name_start(c) || c == '-' || c == '.' ||
	    (c >= '0' && c <= '9') || c == 0xb7 ||
	    (c >= 0x300 && c <= 0x36f) || c == 0x203f || c == 0x2040;
}

/* XML 1.0 Fifth Edition, 2.2; surrogates never get this far. */
static int
xml_char(uint32_t c)
{
	return c == '\t' || c == '\n' || c == '\r' ||
	    (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
	    (c >= 0x10000 && c <= 0x10ffff);
}

static size_t
utf8_put(char *s, uint32_t c)
{
	if (c < 0x80) {
		s[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		s[0] = (char)(0xc0 | c >> 6);
		s[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		s[0] = (char)(0xe0 | c >> 12);
		s[1] = (char)(0x80 | (c >> 6 & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	s[0] = (char)(0xf0 | c >> 18);
	s[1] = (char)(0x80 | (c >> 12 & 0x3f));
	s[2] = (char)(0x80 | (c >> 6 & 0x3f));
	s[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* Adds c to b, unless b would pass max; returns 0 once it has. */
static int
put_max(struct buf *b, uint32_t c, size_t max)
{
	char	 u[4];
	size_t	 n = utf8_put(u, c);

	if (b->len + n > max)
		return 0;
	buf_add(b, u, n);
	return 1;
}

static void
hash_add(struct skip *sk, uint32_t c)
{
	char	 u[4];
	size_t	 i, n = utf8_put(u, c);

	for (i = 0; i < n; i++) {
		sk->h ^= (unsigned char)u[i];
		sk->h *= FNV_PRIME;
	}
}

uint64_t
skip_hash_tag(const char *s, size_t n)
{
	uint64_t	 h = FNV_BASIS;
	size_t		 i;

	for (i = 1; i < n && !space((unsigned char)s[i]) && s[i] != '/' &&
	    s[i] != '>'; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV_PRIME;
	}
	return h;
}

void
skip_begin(struct skip *sk, int depth, int cdata, uint64_t *hash,
    int maxdepth)
{
	sk->lex = cdata ? L_CDATA : L_TEXT;
	sk->depth = depth;
	sk->maxdepth = maxdepth;
	sk->hash = hash;
	sk->need = sk->rsqb = sk->cr = 0;
	sk->top = depth == 0;
	sk->why = NULL;
	buf_reset(&sk->sub);
}

void
skip_free(struct skip *sk)
{
	buf_free(&sk->qname);
	buf_free(&sk->aname);
	buf_free(&sk->value);
	buf_free(&sk->sub);
}

static enum skip_end
bad(struct skip *sk, long long at, const char *why)
{
	sk->why = why;
	sk->at = at;
	return SKIP_BAD;
}

static enum skip_end
invalid(struct skip *sk, long long at)
{
	return bad(sk, at, XML_ErrorString(XML_ERROR_INVALID_TOKEN));
}

/* The element name of the top-level start tag: a stanza's, or why go on. */
static enum skip_end
top_name(struct skip *sk)
{
	const char	*q = buf_str(&sk->qname), *local;

	if ((local = strchr(q, ':')) == NULL)
		local = q;
	else
		local++;
	if (strcmp(local, "message") != 0 && strcmp(local, "presence") != 0 &&
	    strcmp(local, "iq") != 0)
		return SKIP_OTHER;
	buf_printf(&sk->sub, "<%s", q);
	return SKIP_MORE;
}

/* Is the attribute just named one to report, or the element's own
 * namespace declaration? */
static int
keep_attr(struct skip *sk)
{
	const char	*a = buf_str(&sk->aname), *q, *colon;
	size_t		 i;

	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (strcmp(a, kept[i]) == 0)
			return 1;
	q = buf_str(&sk->qname);
	return strncmp(a, "xmlns:", 6) == 0 && (colon = strchr(q, ':')) &&
	    (size_t)(colon - q) == strlen(a + 6) &&
	    strncmp(a + 6, q, (size_t)(colon - q)) == 0;
}

/* A kept value goes to the substitute tag, if it fit; a namespace
 * declaration that did not leaves the element's namespace unknown. */
static enum skip_end
end_value(struct skip *sk)
{
	const char	*a = buf_str(&sk->aname);

	if (!sk->keep)
		return SKIP_MORE;
	if (sk->keep < 0)
		return strncmp(a, "xmlns", 5) == 0 ? SKIP_OTHER : SKIP_MORE;
	buf_printf(&sk->sub, " %s='", a);
	xml_escape(&sk->sub, buf_str(&sk->value), sk->value.len);
	buf_addc(&sk->sub, '\'');
	return SKIP_MORE;
}

static void
value_add(struct skip *sk, uint32_t c)
{
	if (sk->keep > 0 && !put_max(&sk->value, c, SKIP_VALUE_MAX))
		sk->keep = -1;
}

/* Attribute-value normalization (XML 1.0, 3.3.3), for what is kept. */
static void
value_char(struct skip *sk, uint32_t c)
{
	if (c == '\n' && sk->cr) {
		sk->cr = 0;
		return;
	}
	sk->cr = c == '\r';
	value_add(sk, space(c) ? ' ' : c);
}

/* Namespaces in XML 1.0: a qualified name has one colon at most, and
 * neither begins nor ends with it.  c == 0 is the name's end. */
static enum skip_end
colon(struct skip *sk, uint32_t c, int first, long long at)
{
	if (c == 0)
		return sk->colon ? invalid(sk, at) : SKIP_MORE;
	sk->colon = c == ':';
	if (sk->colon && (first || sk->colons++ > 0))
		return invalid(sk, at);
	return SKIP_MORE;
}

static enum skip_end
begin_name(struct skip *sk, uint32_t c, long long at)
{
	sk->h = FNV_BASIS;
	hash_add(sk, c);
	buf_reset(&sk->qname);
	if (sk->top)
		put_max(&sk->qname, c, SKIP_NAME_MAX);
	sk->colons = 0;
	return colon(sk, c, 1, at);
}

static enum skip_end
name_add(struct skip *sk, uint32_t c, long long at)
{
	hash_add(sk, c);
	if (sk->top && !put_max(&sk->qname, c, SKIP_NAME_MAX))
		return SKIP_OTHER;
	return colon(sk, c, 0, at);
}

static enum skip_end
open_tag(struct skip *sk, int empty, long long at)
{
	if (sk->top) {
		buf_adds(&sk->sub, "/>");
		sk->top = 0;
	}
	sk->lex = L_TEXT;
	if (empty)
		return sk->depth == 0 ? (sk->at = at + 1, SKIP_DONE) :
		    SKIP_MORE;
	if (++sk->depth > sk->maxdepth) {
		snprintf(sk->msg, sizeof(sk->msg),
		    "elements nested deeper than %d", sk->maxdepth);
		return bad(sk, sk->tag, sk->msg);
	}
	sk->hash[sk->depth] = sk->h;
	return SKIP_MORE;
}

static enum skip_end
close_tag(struct skip *sk, long long at)
{
	if (sk->h != sk->hash[sk->depth])
		return bad(sk, sk->tag, XML_ErrorString(XML_ERROR_TAG_MISMATCH));
	sk->lex = L_TEXT;
	if (--sk->depth > 0)
		return SKIP_MORE;
	sk->at = at + 1;
	return SKIP_DONE;
}

/* The end of a reference: the character it stands for. */
static enum skip_end
ref_char(struct skip *sk, uint32_t c)
{
	sk->lex = sk->ret;
	sk->cr = 0;
	if (sk->lex == L_AVAL)
		value_add(sk, c);
	return SKIP_MORE;
}

static enum skip_end
entity(struct skip *sk, long long at)
{
	static const struct {
		const char	*name;
		char		 c;
	} predef[] = {
		{ "lt", '<' }, { "gt", '>' }, { "amp", '&' }, { "apos", '\'' },
		{ "quot", '"' }
	};
	size_t	 i;

	for (i = 0; i < sizeof(predef) / sizeof(predef[0]); i++)
		if (sk->entlen == strlen(predef[i].name) &&
		    memcmp(sk->ent, predef[i].name, sk->entlen) == 0)
			return ref_char(sk, (unsigned char)predef[i].c);
	/* As expat: at the reference, or in a value at its tag. */
	(void)at;
	return bad(sk, sk->ret == L_AVAL ? sk->tag : sk->amp,
	    XML_ErrorString(XML_ERROR_UNDEFINED_ENTITY));
}

static int
digit(uint32_t c, int hex)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (hex && c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	if (hex && c >= 'A' && c <= 'F')
		return (int)(c - 'A' + 10);
	return -1;
}

static enum skip_end
in_ref(struct skip *sk, uint32_t c, long long at)
{
	int	 d;

	switch (sk->lex) {
	case L_REF:
		if (c == '#') {
			sk->lex = L_CREF;
			sk->ref = 0;
			sk->entlen = 0;	/* digits */
		} else if (name_start(c)) {
			sk->lex = L_ENT;
			sk->entlen = 0;
			sk->ent[sk->entlen++] = (char)(c < 0x80 ? c : '?');
		} else
			return invalid(sk, at);
		return SKIP_MORE;
	case L_ENT:
		if (c == ';')
			return entity(sk, at);
		if (!name_char(c))
			return invalid(sk, at);
		if (sk->entlen < sizeof(sk->ent))
			sk->ent[sk->entlen++] = (char)(c < 0x80 ? c : '?');
		return SKIP_MORE;
	case L_CREF:
		sk->lex = L_CNUM;
		if (c == 'x') {
			sk->k = 16;
			return SKIP_MORE;
		}
		sk->k = 10;
		/* FALLTHROUGH */
	default:
		if (c == ';' && sk->entlen > 0 && xml_char(sk->ref))
			return ref_char(sk, sk->ref);
		if (c == ';' && sk->entlen > 0)
			return bad(sk, sk->amp,
			    XML_ErrorString(XML_ERROR_BAD_CHAR_REF));
		if ((d = digit(c, sk->k == 16)) < 0)
			return invalid(sk, at);
		sk->entlen = 1;
		sk->ref = sk->ref * (uint32_t)sk->k + (uint32_t)d;
		if (sk->ref > 0x10ffff)
			sk->ref = 0x110000;	/* stays invalid */
		return SKIP_MORE;
	}
}

/* Between tags: text, CDATA, and what a '<' begins. */
static enum skip_end
in_content(struct skip *sk, uint32_t c, long long at)
{
	switch (sk->lex) {
	case L_TEXT:
		if (c == '<') {
			sk->tag = at;
			sk->lex = L_LT;
		} else if (c == '&') {
			sk->ret = L_TEXT;
			sk->lex = L_REF;
			sk->amp = at;
		} else if ((c == '>' && sk->rsqb >= 2) ||
		    (sk->depth == 0 && !space(c)))
			return invalid(sk, at);	/* "]]>", or text at the top */
		sk->rsqb = c == ']' ? sk->rsqb + 1 : 0;
		return SKIP_MORE;
	case L_LT:
		if (c == '/' && sk->depth == 0)
			return SKIP_OTHER;	/* a stream end, padded */
		if (c == '/')
			sk->lex = L_ETAG;
		else if (c == '!')
			sk->lex = L_BANG;
		else if (c == '?')
			return bad(sk, sk->tag, "processing instruction forbidden");
		else if (!name_start(c))
			return invalid(sk, at);
		else {
			sk->lex = L_STAG;
			return begin_name(sk, c, at);
		}
		return SKIP_MORE;
	case L_BANG:
		if (c == '-')
			return bad(sk, sk->tag, "comment forbidden");
		if (c != '[' || sk->depth == 0)
			return invalid(sk, at);
		sk->lex = L_CDOPEN;
		sk->k = 1;
		return SKIP_MORE;
	case L_CDOPEN:
		if (c != (unsigned char)CDATA_OPEN[sk->k])
			return invalid(sk, at);
		if (++sk->k == sizeof(CDATA_OPEN) - 1) {
			sk->lex = L_CDATA;
			sk->rsqb = 0;
		}
		return SKIP_MORE;
	default:	/* L_CDATA */
		if (c == '>' && sk->rsqb >= 2)
			sk->lex = L_TEXT;
		sk->rsqb = c == ']' ? sk->rsqb + 1 : 0;
		return SKIP_MORE;
	}
}

/* The name of a start tag and its attributes. */
static enum skip_end
in_stag(struct skip *sk, uint32_t c, long long at)
{
	enum skip_end	 e = SKIP_MORE;

	switch (sk->lex) {
	case L_STAG:
		if (name_char(c))
			return name_add(sk, c, at);
		if ((!space(c) && c != '>' && c != '/') ||
		    colon(sk, 0, 0, at) != SKIP_MORE)
			return invalid(sk, at);
		if (sk->top && (e = top_name(sk)) != SKIP_MORE)
			return e;
		sk->lex = L_TAG;
		break;
	case L_AEND:
		if (!space(c) && c != '>' && c != '/')
			return invalid(sk, at);
		sk->lex = L_TAG;
		break;
	case L_TAG:
		if (name_start(c)) {
			buf_reset(&sk->aname);
			if (sk->top)
				put_max(&sk->aname, c, SKIP_NAME_MAX);
			sk->lex = L_ANAME;
			sk->colons = 0;
			return colon(sk, c, 1, at);
		}
		break;
	case L_ANAME:
		if (name_char(c)) {
			if (sk->top)
				put_max(&sk->aname, c, SKIP_NAME_MAX);
			return colon(sk, c, 0, at);
		}
		if ((c != '=' && !space(c)) || colon(sk, 0, 0, at) != SKIP_MORE)
			return invalid(sk, at);
		sk->lex = c == '=' ? L_AQ : L_AEQ;
		return SKIP_MORE;
	case L_AEQ:
		if (c == '=')
			sk->lex = L_AQ;
		else if (!space(c))
			return invalid(sk, at);
		return SKIP_MORE;
	case L_AQ:
		if (c != '\'' && c != '"')
			return space(c) ? SKIP_MORE : invalid(sk, at);
		sk->quote = (int)c;
		sk->keep = sk->top && keep_attr(sk);
		sk->cr = 0;
		buf_reset(&sk->value);
		sk->lex = L_AVAL;
		return SKIP_MORE;
	case L_AVAL:
		if (c == (uint32_t)sk->quote) {
			sk->lex = L_AEND;
			return end_value(sk);
		}
		if (c == '<')
			return invalid(sk, at);
		if (c == '&') {
			sk->ret = L_AVAL;
			sk->lex = L_REF;
			sk->amp = at;
		} else
			value_char(sk, c);
		return SKIP_MORE;
	default:	/* L_EMPTY */
		return c == '>' ? open_tag(sk, 1, at) : invalid(sk, at);
	}
	/* L_TAG: between attributes */
	if (c == '>')
		return open_tag(sk, 0, at);
	if (c == '/')
		sk->lex = L_EMPTY;
	else if (!space(c))
		return invalid(sk, at);
	return SKIP_MORE;
}

static enum skip_end
in_etag(struct skip *sk, uint32_t c, long long at)
{
	switch (sk->lex) {
	case L_ETAG:
		if (!name_start(c))
			return invalid(sk, at);
		/* As expat: a mismatch told at the name, which is only
		 * compared with the start tag's. */
		sk->tag = at;
		sk->lex = L_ETAGNAME;
		sk->h = FNV_BASIS;
		hash_add(sk, c);
		return SKIP_MORE;
	case L_ETAGNAME:
		if (name_char(c)) {
			hash_add(sk, c);
			return SKIP_MORE;
		}
		/* FALLTHROUGH */
	default:	/* L_ETAGEND */
		if (c == '>')
			return close_tag(sk, at);
		if (!space(c))
			return invalid(sk, at);
		sk->lex = L_ETAGEND;
		return SKIP_MORE;
	}
}

static enum skip_end
step(struct skip *sk, uint32_t c, long long at)
{
	if (!xml_char(c))
		return invalid(sk, at);
	switch (sk->lex) {
	case L_TEXT:
	case L_LT:
	case L_BANG:
	case L_CDOPEN:
	case L_CDATA:
		return in_content(sk, c, at);
	case L_ETAG:
	case L_ETAGNAME:
	case L_ETAGEND:
		return in_etag(sk, c, at);
	case L_REF:
	case L_ENT:
	case L_CREF:
	case L_CNUM:
		return in_ref(sk, c, at);
	default:
		return in_stag(sk, c, at);
	}
}

/* One byte of UTF-8: 1 and *c when a character is complete, 0 when
 * more is needed, -1 when it is no UTF-8 (overlong, surrogate, past
 * U+10FFFF). */
static int
utf8(struct skip *sk, unsigned char b, uint32_t *c)
{
	if (sk->need == 0) {
		if (b < 0x80) {
			*c = b;
			return 1;
		}
		if (b >= 0xc2 && b <= 0xdf) {
			sk->need = 1;
			sk->cp = b & 0x1f;
			sk->min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			sk->need = 2;
			sk->cp = b & 0x0f;
			sk->min = 0x800;
		} else if (b >= 0xf0 && b <= 0xf4) {
			sk->need = 3;
			sk->cp = b & 0x07;
			sk->min = 0x10000;
		} else
			return -1;
		return 0;
	}
	if ((b & 0xc0) != 0x80)
		return -1;
	sk->cp = sk->cp << 6 | (b & 0x3f);
	if (--sk->need > 0)
		return 0;
	if (sk->cp < sk->min || sk->cp > 0x10ffff ||
	    (sk->cp >= 0xd800 && sk->cp <= 0xdfff))
		return -1;
	*c = sk->cp;
	return 1;
}

enum skip_end
skip_scan(struct skip *sk, const char *s, size_t n, long long off,
    size_t *used)
{
	enum skip_end	 e = SKIP_MORE;
	uint32_t	 c;
	size_t		 i;
	int		 r;

	for (i = 0; i < n && e == SKIP_MORE; i++) {
		if (sk->need == 0)
			sk->lead = off + (long long)i;
		if ((r = utf8(sk, (unsigned char)s[i], &c)) == 0)
			continue;
		if (r < 0)
			e = invalid(sk, sk->lead);
		else
			e = step(sk, c, sk->lead);
	}
	*used = i;
	return e;
}
