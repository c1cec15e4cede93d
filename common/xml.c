/* xml.c - escaping for XML output, a tree writer, character checks */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "record.h"

/*
 * The entity for a byte that must not appear raw in text, or NULL.
 * Quotes and the other white space may: only attribute values need
 * more (attr_entity), and a peer's text of quotes or newlines must not
 * grow five or six times on its way back (issue 11: the echo of 45 KB
 * of quotes was past the server's stanza limit).
 */
static const char *
text_entity(char c)
{
	switch (c) {
	case '<':	return "&lt;";
	case '>':	return "&gt;";	/* so "]]>" never appears */
	case '&':	return "&amp;";
	case '\r':	return "&#13;";	/* parsers turn a raw one into \n */
	default:	return NULL;
	}
}

/* The entity for a byte that must not appear raw in a value, or NULL. */
static const char *
attr_entity(char c)
{
	switch (c) {
	case '<':	return "&lt;";
	case '>':	return "&gt;";	/* so "]]>" never appears */
	case '&':	return "&amp;";
	case '\'':	return "&apos;";
	case '"':	return "&quot;";
	/* Parsers normalise these in attribute values: keep them. */
	case '\r':	return "&#13;";
	case '\n':	return "&#10;";
	case '\t':	return "&#9;";
	default:	return NULL;
	}
}

/* A context's entities by byte, made from its function at the first use:
 * a look-up a byte costs less than the switch. */
struct entities {
	const char	*(*entity)(char);
	int		 made;
	const char	*of[256];
};

static struct entities	 in_text = { text_entity, 0, { NULL } };
static struct entities	 in_attr = { attr_entity, 0, { NULL } };

/* The one escaping loop; the context says which bytes it forbids. */
static void
escape(struct buf *b, const char *s, size_t n, struct entities *ctx)
{
	const char	*e;
	size_t		 i, start;
	int		 c;

	if (!ctx->made) {
		for (c = 0; c < 256; c++)
			ctx->of[c] = ctx->entity((char)c);
		ctx->made = 1;
	}
	for (i = start = 0; i < n; i++) {
		if ((e = ctx->of[(unsigned char)s[i]]) == NULL)
			continue;
		buf_add(b, s + start, i - start);
		buf_adds(b, e);
		start = i + 1;
	}
	buf_add(b, s + start, n - start);
}

/* Safe in text and in attribute values of either quoting style. */
void
xml_escape(struct buf *b, const char *s, size_t n)
{
	escape(b, s, n, &in_attr);
}

/* Safe in text (element content) only, and shorter there. */
void
xml_text(struct buf *b, const char *s, size_t n)
{
	escape(b, s, n, &in_text);
}

void
xml_texts(struct buf *b, const char *s)
{
	xml_text(b, s, strlen(s));
}

void
xml_escapes(struct buf *b, const char *s)
{
	xml_escape(b, s, strlen(s));
}

static void
xml_attrs(struct buf *b, const struct xnode *n)
{
	const struct xattr	*a;
	size_t			 i;
	int			 k = 0;

	for (i = 0; i < n->nattrs; i++) {
		a = &n->attrs[i];
		if (a->ns == NULL)
			buf_printf(b, " %s='", a->name);
		else if (strcmp(a->ns, NS_XML) == 0)
			buf_printf(b, " xml:%s='", a->name);
		else {
			/* Other namespaced attributes need a prefix of their own. */
			buf_printf(b, " xmlns:a%d='", k);
			xml_escapes(b, a->ns);
			buf_printf(b, "' a%d:%s='", k++, a->name);
		}
		xml_escapes(b, a->value);
		buf_addc(b, '\'');
	}
}

/*
 * The XML namespace is bound to the prefix xml and to no other name
 * (Namespaces in XML, section 3), so its elements are written xml:NAME.
 */
void
xml_node(struct buf *b, const struct xnode *n, const char *parent_ns)
{
	const struct xnode	*c;
	const char		*prefix = "", *scope = n->ns;

	if (n->name == NULL) {
		xml_text(b, n->text, n->textlen);
		return;
	}
	if (n->ns != NULL && strcmp(n->ns, NS_XML) == 0) {
		prefix = "xml:";
		scope = parent_ns;
	}
	buf_printf(b, "<%s%s", prefix, n->name);
	if (!ns_equal(scope, parent_ns)) {
		buf_adds(b, " xmlns='");
		if (n->ns != NULL)
			xml_escapes(b, n->ns);
		buf_addc(b, '\'');
	}
	xml_attrs(b, n);
	if (n->child == NULL) {
		buf_adds(b, "/>");
		return;
	}
	buf_addc(b, '>');
	for (c = n->child; c != NULL; c = c->next)
		xml_node(b, c, scope);
	buf_printf(b, "</%s%s>", prefix, n->name);
}

/*
 * The UTF-8 sequence at s (n bytes at most): its length, its code point
 * in *cp; 0 for a malformed or overlong sequence, a surrogate, or past
 * U+10FFFF (RFC 3629 section 3).
 */
size_t
utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
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
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

/*
 * Whether s is UTF-8 of XML 1.0 Chars only (section 2.2): no control
 * character but TAB, LF and CR, no U+FFFE or U+FFFF.  What a server's
 * parser refuses ends our stream, so nothing else may be written.
 */
int
xml_chars_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c;
	size_t i, len;

	for (i = 0; i < n; i += len) {
		if ((len = utf8_char(u + i, n - i, &c)) == 0)
			return 0;
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    c == 0xfffe || c == 0xffff)
			return 0;
	}
	return 1;
}
