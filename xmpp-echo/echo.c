/* echo.c - the built-in handler: the echo of a message */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "extern.h"

static int
echoable(const struct bot *b, const struct xnode *m)
{
	const char *type = xnode_attr(m, "type"), *from = xnode_attr(m, "from");

	if (type != NULL && strcmp(type, "chat") != 0 &&
	    strcmp(type, "normal") != 0)
		return 0;
	if (from == NULL || own_bare_jid(b, from))
		return 0;
	return xnode_child(m, NS_CLIENT, "body") != NULL;
}

/* <NAME[ ATTR='..']>text</NAME>, the attribute only when present. */
static void
put_text_elem(struct buf *x, const char *name, const char *attr,
    const char *value, const struct xnode *n)
{
	char *t;

	buf_printf(x, "<%s", name);
	if (value != NULL) {
		buf_printf(x, " %s='", attr);
		xml_escapes(x, value);
		buf_addc(x, '\'');
	}
	buf_addc(x, '>');
	t = xnode_text(n);
	xml_texts(x, t);
	free(t);
	buf_printf(x, "</%s>", name);
}

/*
 * RFC 6120 section 8.3.3.9: a message too long for its echo to fit is
 * not acceptable, with a text that names the limit.  Errors are never
 * answered (section 8.3.1), so neither is this one.
 */
static void
refuse_message(struct bot *b, const struct xnode *m)
{
	const char *id = xnode_attr(m, "id"), *type = xnode_attr(m, "type");
	struct buf x = { 0 };

	if (type != NULL && strcmp(type, "error") == 0)
		return;
	buf_adds(&x, "<message to='");
	xml_escapes(&x, xnode_attr(m, "from"));
	buf_adds(&x, "' type='error'");
	if (id != NULL) {
		buf_adds(&x, " id='");
		xml_escapes(&x, id);
		buf_addc(&x, '\'');
	}
	buf_printf(&x, "><error type='modify'><not-acceptable xmlns='"
	    NS_STANZAS "'/><text xmlns='" NS_STANZAS "' xml:lang='en'>"
	    "echo longer than %lld bytes</text></error></message>",
	    b->maxstanza);
	/* The echo is counted as size-dropped already. */
	if ((long long)x.len <= b->maxstanza)
		send_xml(b, &x, NULL);
	buf_free(&x);
}

void
echo_message(struct bot *b, const struct xnode *m)
{
	const struct xnode *c;
	const char *type = xnode_attr(m, "type");
	struct buf x = { 0 };
	uint64_t hash;
	char *id;

	if (!echoable(b, m) || !admit(b, m, &hash))
		return;
	if (b->h.cmd != NULL) {
		handler_offer(b, m);
		return;
	}
	id = new_id(b);
	buf_adds(&x, "<message to='");
	xml_escapes(&x, xnode_attr(m, "from"));
	if (type != NULL) {
		buf_adds(&x, "' type='");
		xml_escapes(&x, type);
	}
	buf_adds(&x, "' id='");
	xml_escapes(&x, id);
	buf_adds(&x, "'>");
	for (c = m->child; c != NULL; c = c->next) {
		if (c->name == NULL || c->ns == NULL ||
		    strcmp(c->ns, NS_CLIENT) != 0)
			continue;
		if (strcmp(c->name, "body") == 0)
			put_text_elem(&x, "body", "xml:lang",
			    xnode_attr_ns(c, NS_XML, "lang"), c);
		else if (strcmp(c->name, "thread") == 0)
			put_text_elem(&x, "thread", "parent",
			    xnode_attr(c, "parent"), c);
		if ((long long)x.len > b->maxstanza)
			break;	/* too long already: build no more */
	}
	buf_adds(&x, "</message>");
	if (send_bounded(b, &x))
		b->count.echoed++;
	else
		refuse_message(b, m);
	buf_free(&x);
	free(id);
}
