/*
 * check.c - -x: what a handler may send
 *
 * One stanza of jabber:client that the server takes as it is and that
 * leaves the session as it was: nothing of the stream, the login or
 * the bot's availability, and nothing a parser would call not
 * well-formed (RFC 6120 section 4.9.3.13 ends the stream for that).
 */
#include <stdint.h>
#include <string.h>

#include "record.h"
#include "extern.h"

/* An XML name as XMPP uses them: ASCII, no prefix. */
static int
name_ok(const char *s)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_";

	return *s != '\0' && strchr(first, *s) != NULL &&
	    s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789-.")] == '\0';
}

static int
attr_same(const struct xattr *a, const struct xattr *c)
{
	return strcmp(a->name, c->name) == 0 && ns_equal(a->ns, c->ns);
}

/* Names, values, no attribute twice (that is not XML). */
static const char *
attrs_refused(const struct xnode *n)
{
	const struct xattr *a;
	size_t i, j;

	for (i = 0; i < n->nattrs; i++) {
		a = &n->attrs[i];
		if (!name_ok(a->name))
			return "an attribute name that is not an XML name";
		if (!xml_chars_ok(a->value, strlen(a->value)) ||
		    (a->ns != NULL && !xml_chars_ok(a->ns, strlen(a->ns))))
			return "an attribute value that is not XML text";
		for (j = 0; j < i; j++)
			if (attr_same(a, &n->attrs[j]))
				return "an attribute given twice";
	}
	return NULL;
}

/* What in the tree would not be well-formed XML, or NULL. */
static const char *
tree_refused(const struct xnode *n)
{
	const struct xnode *c;
	const char *why;

	if (n->name == NULL)
		return xml_chars_ok(n->text, n->textlen) ? NULL :
		    "text that is not UTF-8 of XML characters";
	if (!name_ok(n->name))
		return "an element name that is not an XML name";
	if (ns_equal(n->ns, NS_XML) || ns_equal(n->ns, NS_STREAM) ||
	    (n->ns != NULL && !xml_chars_ok(n->ns, strlen(n->ns))))
		return "an element in a namespace of the stream's own";
	if ((why = attrs_refused(n)) != NULL)
		return why;
	for (c = n->child; c != NULL; c = c->next)
		if ((why = tree_refused(c)) != NULL)
			return why;
	return NULL;
}

static int
one_of(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* RFC 6120 section 8.2.3, RFC 6121 sections 4.7.1 and 5.2.2. */
static const char *
type_refused(const char *kind, const char *type)
{
	static const char *const message[] = { "chat", "error", "groupchat",
	    "headline", "normal", NULL };
	static const char *const presence[] = { "error", "probe",
	    "subscribe", "subscribed", "unavailable", "unsubscribe",
	    "unsubscribed", NULL };
	static const char *const iq[] = { "get", "set", "result", "error",
	    NULL };

	if (strcmp(kind, "iq") == 0)
		return type != NULL && one_of(type, iq) ? NULL :
		    "an iq needs a type of get, set, result or error";
	if (type == NULL)
		return NULL;
	if (!one_of(type, strcmp(kind, "message") == 0 ? message : presence))
		return "a type that RFC 6121 does not define";
	return NULL;
}

/*
 * Addresses: a message or an iq goes to someone; 'from' is the
 * server's to stamp (RFC 6120 section 8.1.2.1: a wrong one ends the
 * stream); a presence without 'to' is broadcast, which must never say
 * the bot is gone while its session goes on.
 */
static const char *
address_refused(const struct record *r)
{
	const char *type = xnode_attr(r->root, "type");
	char *to = (char *)xnode_attr(r->root, "to");

	if (xnode_attr(r->root, "from") != NULL)
		return "'from' is the server's to set";
	if (to != NULL)
		return jid_normalize(to) == -1 ? "'to' is not a JID" : NULL;
	if (strcmp(r->kind, "presence") != 0)
		return "a message or iq needs a 'to'";
	if (type != NULL && strcmp(type, "unavailable") == 0)
		return "an unavailable presence to all would take the bot "
		    "offline";
	if (type != NULL)
		return "a presence of this type needs a 'to'";
	return NULL;
}

/* The session's own iqs are xmpp-echo's (RFC 6120 section 7). */
static int
session_iq(const struct record *r)
{
	const struct xnode *c;

	if (strcmp(r->kind, "iq") != 0)
		return 0;
	for (c = r->root->child; c != NULL; c = c->next)
		if (c->name != NULL && (ns_equal(c->ns, NS_BIND) ||
		    ns_equal(c->ns, NS_SESSION)))
			return 1;
	return 0;
}

/* A message, presence or iq of jabber:client. */
int
is_stanza(const struct record *r)
{
	static const char *const kinds[] = { "message", "presence", "iq",
	    NULL };

	return one_of(r->kind, kinds) && ns_equal(r->root->ns, NS_CLIENT);
}

/* Why a stanza may not go, or NULL.  Normalises its 'to' in place. */
const char *
stanza_refused(const struct record *r)
{
	const char *why;

	if ((why = type_refused(r->kind, xnode_attr(r->root, "type"))) ==
	    NULL && (why = address_refused(r)) == NULL &&
	    (why = tree_refused(r->root)) == NULL && session_iq(r))
		why = "resource binding and the session are xmpp-echo's";
	return why;
}
