/* echo.c - the built-in handler: the echo of a message */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "extern.h"

/*
 * Chat and normal messages with some body text, from someone else: an
 * empty <body/> has nothing to echo (whitespace has, and is echoed).
 */
static int
echoable(const struct bot *b, const struct xnode *m)
{
	const char *type = xnode_attr(m, "type"), *from = xnode_attr(m, "from");
	const struct xnode *c, *t;

	if (type != NULL && strcmp(type, "chat") != 0 &&
	    strcmp(type, "normal") != 0)
		return 0;
	if (from == NULL || own_bare_jid(b, from))
		return 0;
	for (c = m->child; c != NULL; c = c->next)
		if (c->name != NULL && ns_equal(c->ns, NS_CLIENT) &&
		    strcmp(c->name, "body") == 0)
			for (t = c->child; t != NULL; t = t->next)
				if (t->name == NULL && t->textlen > 0)
					return 1;
	return 0;
}

/*
 * The text of n's text children, escaped, up to a NUL byte, which XML
 * cannot carry (a record may: xmpp-record(5)); written from the nodes,
 * without the copy xnode_text() would make of them.
 */
static void
put_text(struct buf *x, const struct xnode *n)
{
	const struct xnode *t;
	const char *nul;

	for (t = n->child; t != NULL; t = t->next) {
		if (t->name != NULL)
			continue;
		if ((nul = memchr(t->text, '\0', t->textlen)) != NULL) {
			xml_text(x, t->text, (size_t)(nul - t->text));
			return;
		}
		xml_text(x, t->text, t->textlen);
	}
}

/* <NAME[ ATTR='..']>text</NAME>, the attribute only when present. */
static void
put_text_elem(struct buf *x, const char *name, const char *attr,
    const char *value, const struct xnode *n)
{
	buf_addc(x, '<');
	buf_adds(x, name);
	if (value != NULL) {
		buf_addc(x, ' ');
		buf_adds(x, attr);
		buf_adds(x, "='");
		xml_escapes(x, value);
		buf_addc(x, '\'');
	}
	buf_addc(x, '>');
	put_text(x, n);
	buf_adds(x, "</");
	buf_adds(x, name);
	buf_addc(x, '>');
}

/*
 * An error in answer to message m: TYPE and COND as RFC 6120 section
 * 8.3.3 has them, TEXT (ours, in English) to say why.  Errors are
 * never answered (section 8.3.1).  Not sent when longer than -L
 * allows: an id of many kilobytes.  Returns whether it went.
 */
int
message_error(struct bot *b, const struct xnode *m, const char *type,
    const char *cond, const char *text)
{
	const char *id = xnode_attr(m, "id"), *mtype = xnode_attr(m, "type");
	struct buf x = { 0 };
	int sent = 0;

	if (mtype != NULL && strcmp(mtype, "error") == 0)
		return 0;
	buf_adds(&x, "<message to='");
	xml_escapes(&x, xnode_attr(m, "from"));
	buf_adds(&x, "' type='error'");
	if (id != NULL) {
		buf_adds(&x, " id='");
		xml_escapes(&x, id);
		buf_addc(&x, '\'');
	}
	buf_printf(&x, "><error type='%s'><%s xmlns='" NS_STANZAS "'/>"
	    "<text xmlns='" NS_STANZAS "' xml:lang='en'>", type, cond);
	xml_texts(&x, text);
	buf_adds(&x, "</text></error></message>");
	if ((long long)x.len <= b->maxstanza) {
		send_xml(b, &x, NULL);
		sent = 1;
	}
	buf_free(&x);
	return sent;
}

/*
 * XEP-0184: a message that asks for a receipt, and has an id to name
 * it by, gets one once it is taken: echoed, or queued for the handler.
 * Our own messages ask for none, which keeps two bots from trading
 * receipts.
 */
static void
send_receipt(struct bot *b, const struct xnode *m)
{
	const char *id = xnode_attr(m, "id");
	struct buf x = { 0 };
	char *ours;

	if (id == NULL || xnode_child(m, NS_RECEIPTS, "request") == NULL)
		return;
	ours = new_id(b);
	buf_adds(&x, "<message to='");
	xml_escapes(&x, xnode_attr(m, "from"));
	buf_printf(&x, "' id='%s'><received xmlns='" NS_RECEIPTS "' id='",
	    ours);
	xml_escapes(&x, id);
	buf_adds(&x, "'/></message>");
	(void)send_bounded(b, &x);
	buf_free(&x);
	free(ours);
}

/*
 * XEP-0308: the id of the message m corrects, as the sender named it,
 * or NULL.  A correction names the message first corrected.
 */
static const char *
corrected_id(const struct xnode *m)
{
	const struct xnode *r = xnode_child(m, NS_CORRECT, "replace");

	return r == NULL ? NULL : xnode_attr(r, "id");
}

/* A hash of a sender's message id: ids may be long, hashes are not. */
static uint64_t
id_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Our echo of the sender's message named id, or NULL. */
static const char *
our_echo_of(const struct sender *s, const char *id)
{
	uint64_t h = id_hash(id);
	size_t i;

	for (i = 0; i < IDS_KEPT; i++)
		if (s->ids[i].ours[0] != '\0' && s->ids[i].theirs == h)
			return s->ids[i].ours;
	return NULL;
}

/*
 * The sender's id, mapped to ours: the id of our first echo, when this
 * is a correction of it, so that a client that corrects a correction
 * still finds it.  The oldest of IDS_KEPT goes.
 */
static void
remember_ids(struct sender *s, const char *theirs, const char *ours)
{
	struct echo_id *e = &s->ids[s->nextid];

	e->theirs = id_hash(theirs);
	if (strlcpy(e->ours, ours, sizeof e->ours) >= sizeof e->ours)
		e->ours[0] = '\0';
	s->nextid = (s->nextid + 1) % IDS_KEPT;
}

/*
 * RFC 6120 section 8.3.3.9: a message too long for its echo to fit is
 * not acceptable, with a text that names the limit.
 */
static void
refuse_message(struct bot *b, const struct xnode *m)
{
	struct buf text = { 0 };

	/* The echo is counted as size-dropped already. */
	buf_printf(&text, "echo longer than %lld bytes", b->maxstanza);
	(void)message_error(b, m, "modify", "not-acceptable",
	    buf_str(&text));
	buf_free(&text);
}

/*
 * The echo: to the full JID it came from, with its type, language,
 * bodies and thread; a correction as a correction of our echo of what it corrects,
 * when we know that one.  Built in a buffer kept from one echo to the
 * next, as echoes are the bulk of what the bot writes.
 */
static void
send_echo(struct bot *b, struct sender *s, const struct xnode *m)
{
	const struct xnode *c;
	const char *type = xnode_attr(m, "type"), *theirs = xnode_attr(m, "id");
	const char *lang = xnode_attr_ns(m, NS_XML, "lang");
	const char *fixes = corrected_id(m), *prev;
	struct buf *x = &b->echo;
	char *id, fixed[ID_MAX] = "";

	id = new_id(b);
	buf_reset(x);
	if (fixes != NULL && (prev = our_echo_of(s, fixes)) != NULL)
		(void)strlcpy(fixed, prev, sizeof fixed);
	buf_adds(x, "<message to='");
	xml_escapes(x, xnode_attr(m, "from"));
	if (type != NULL) {
		buf_adds(x, "' type='");
		xml_escapes(x, type);
	}
	/*
	 * A body without xml:lang is in the language of its message (RFC
	 * 6120 section 8.1.5), which servers such as ejabberd always mark:
	 * without it, the echo's bodies would take our stream's language.
	 */
	if (lang != NULL) {
		buf_adds(x, "' xml:lang='");
		xml_escapes(x, lang);
	}
	buf_adds(x, "' id='");
	xml_escapes(x, id);
	buf_adds(x, "'>");
	for (c = m->child; c != NULL; c = c->next) {
		if (c->name == NULL || c->ns == NULL ||
		    strcmp(c->ns, NS_CLIENT) != 0)
			continue;
		if (strcmp(c->name, "body") == 0)
			put_text_elem(x, "body", "xml:lang",
			    xnode_attr_ns(c, NS_XML, "lang"), c);
		else if (strcmp(c->name, "thread") == 0)
			put_text_elem(x, "thread", "parent",
			    xnode_attr(c, "parent"), c);
		if ((long long)x->len > b->maxstanza)
			break;	/* too long already: build no more */
	}
	if (fixed[0] != '\0')
		buf_printf(x, "<replace xmlns='" NS_CORRECT "' id='%s'/>",
		    fixed);
	buf_adds(x, "</message>");
	if (send_bounded(b, x)) {
		b->count.echoed++;
		if (theirs != NULL)
			remember_ids(s, theirs, fixed[0] != '\0' ? fixed : id);
	} else
		refuse_message(b, m);
	free(id);
}

void
echo_message(struct bot *b, const struct xnode *m)
{
	struct sender *s;

	if (!echoable(b, m) || (s = admit(b, m)) == NULL)
		return;
	if (b->h.cmd != NULL) {
		if (handler_offer(b, m))
			send_receipt(b, m);
		return;
	}
	send_receipt(b, m);
	send_echo(b, s, m);
}
