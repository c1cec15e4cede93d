/* xml.c - escaping for XML output, and a tree writer */
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

/* The one escaping loop; entity says which bytes a context forbids. */
static void
escape(struct buf *b, const char *s, size_t n, const char *(*entity)(char))
{
	const char	*e;
	size_t		 i, start;

	for (i = start = 0; i < n; i++) {
		if ((e = entity(s[i])) == NULL)
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
	escape(b, s, n, attr_entity);
}

/* Safe in text (element content) only, and shorter there. */
void
xml_text(struct buf *b, const char *s, size_t n)
{
	escape(b, s, n, text_entity);
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
