/* session.c - answers: iqs, presence, the stanzas of the session */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include "record.h"
#include "extern.h"

/*
 * iq (RFC 6120 section 8.2.3): every get or set addressed to us gets
 * exactly one answer, a result or an error; results and errors none.
 */

/*
 * XEP-0030: who we are and what we do.  The same lists make the
 * XEP-0115 ver, so the caps in our presence always say what disco#info
 * answers.
 */
#define ID_CATEGORY	"client"
#define ID_TYPE		"bot"
#define ID_NAME		"echobot"

static const char *const features[] = {
	NS_DISCO_INFO,
	NS_VERSION,
	NS_PING,
	NS_RECEIPTS,
	NS_CORRECT
};
#define NFEATURES	(sizeof features / sizeof features[0])

static void
put_disco_info(struct buf *x, const char *node)
{
	size_t i;

	buf_adds(x, "<query xmlns='" NS_DISCO_INFO "'");
	if (node != NULL) {
		buf_adds(x, " node='");
		xml_escapes(x, node);
		buf_addc(x, '\'');
	}
	buf_adds(x, "><identity category='" ID_CATEGORY "' type='" ID_TYPE
	    "' name='" ID_NAME "'/>");
	for (i = 0; i < NFEATURES; i++)
		buf_printf(x, "<feature var='%s'/>", features[i]);
	buf_adds(x, "</query>");
}

static int
by_octets(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * XEP-0115 section 5.1: the identity as category/type/lang/name, then
 * the features in octet order, each followed by '<'; its SHA-1 in
 * base64.  Made once: the lists never change.
 */
static const char *
caps_ver(void)
{
	static char ver[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) + 1];
	const char *sorted[NFEATURES];
	uint8_t digest[SHA1_DIGEST_SIZE];
	struct sha1_ctx ctx;
	struct buf s = { 0 };
	size_t i;

	if (ver[0] != '\0')
		return ver;
	memcpy(sorted, features, sizeof sorted);
	qsort(sorted, NFEATURES, sizeof sorted[0], by_octets);
	buf_adds(&s, ID_CATEGORY "/" ID_TYPE "//" ID_NAME "<");
	for (i = 0; i < NFEATURES; i++)
		buf_printf(&s, "%s<", sorted[i]);
	sha1_init(&ctx);
	sha1_update(&ctx, s.len, (const uint8_t *)s.p);
	sha1_digest(&ctx, sizeof digest, digest);
	base64_encode_raw(ver, sizeof digest, digest);
	ver[sizeof ver - 1] = '\0';
	buf_free(&s);
	return ver;
}

/* XEP-0115: our caps, for every available presence. */
void
put_caps(struct buf *x)
{
	buf_printf(x, "<c xmlns='" NS_CAPS "' hash='sha-1' node='"
	    CAPS_NODE "' ver='%s'/>", caps_ver());
}

/* The node of our caps, node#ver (XEP-0115 section 6.2)? */
static int
is_caps_node(const char *node)
{
	size_t n = strlen(CAPS_NODE);

	return strncmp(node, CAPS_NODE, n) == 0 && node[n] == '#' &&
	    strcmp(node + n + 1, caps_ver()) == 0;
}

/* XEP-0092: no <os/>, it would tell an attacker what to aim at. */
static const char version_info[] =
    "<query xmlns='" NS_VERSION "'>"
    "<name>echobot</name><version>" VERSION "</version>"
    "</query>";

/* <iq type='TYPE' id='ID' to='FROM'>, the 'to' only when known. */
static void
iq_open(struct buf *x, const struct xnode *iq, const char *type)
{
	const char *from = xnode_attr(iq, "from");

	buf_printf(x, "<iq type='%s' id='", type);
	xml_escapes(x, xnode_attr(iq, "id"));
	if (from != NULL) {
		buf_adds(x, "' to='");
		xml_escapes(x, from);
	}
	buf_adds(x, "'>");
}

static int
iq_result(struct bot *b, const struct xnode *iq, const char *payload)
{
	struct buf x = { 0 };
	int sent;

	iq_open(&x, iq, "result");
	buf_adds(&x, payload);
	buf_adds(&x, "</iq>");
	sent = send_bounded(b, &x);
	buf_free(&x);
	return sent;
}

static int
disco_result(struct bot *b, const struct xnode *iq, const char *node)
{
	struct buf q = { 0 };
	int sent;

	put_disco_info(&q, node);
	sent = iq_result(b, iq, buf_str(&q));
	buf_free(&q);
	return sent;
}

/*
 * RFC 6120 section 8.3.1: the request's payload may go back with it.
 * Only up to IQ_COPY_MAX bytes as written: a bigger one would make the
 * bot an amplifier, namespaced attributes growing many times over.
 */
static int
iq_error(struct bot *b, const struct xnode *iq, const struct xnode *q,
    const char *cond)
{
	struct buf x = { 0 }, copy = { 0 };
	int sent;

	iq_open(&x, iq, "error");
	if (q != NULL) {
		xml_node(&copy, q, NS_CLIENT);
		if (copy.len <= IQ_COPY_MAX)
			buf_add(&x, copy.p, copy.len);
		buf_free(&copy);
	}
	buf_printf(&x, "<error type='cancel'><%s xmlns='" NS_STANZAS
	    "'/></error></iq>", cond);
	sent = send_bounded(b, &x);
	buf_free(&x);
	return sent;
}

/* The payload of an iq: its first child element, or NULL. */
static const struct xnode *
payload(const struct xnode *iq)
{
	const struct xnode *c;

	for (c = iq->child; c != NULL; c = c->next)
		if (c->name != NULL)
			return c;
	return NULL;
}

static int
is_elem(const struct xnode *n, const char *ns, const char *name)
{
	return n != NULL && n->ns != NULL && strcmp(n->ns, ns) == 0 &&
	    strcmp(n->name, name) == 0;
}

/* RFC 6121 section 2.1.6: a roster push comes from our own account. */
static int
roster_push(const struct bot *b, const struct xnode *iq,
    const struct xnode *q)
{
	const char *from = xnode_attr(iq, "from");

	return is_elem(q, NS_ROSTER, "query") &&
	    (from == NULL || (own_bare_jid(b, from) &&
	    strchr(from, '/') == NULL));
}

static void
answer_iq(struct bot *b, const struct xnode *iq)
{
	const char *type = xnode_attr(iq, "type");
	const char *from = xnode_attr(iq, "from");
	const struct xnode *q = payload(iq);
	const char *node;
	int get, sent;

	if (type == NULL || xnode_attr(iq, "id") == NULL ||
	    !to_us(b, xnode_attr(iq, "to")))
		return;
	if (strcmp(type, "get") == 0)
		get = 1;
	else if (strcmp(type, "set") == 0)
		get = 0;
	else
		return;
	/*
	 * Answers cost the asker a token; the server's own asks (its
	 * pings keep the link alive) none.
	 */
	if (!from_server(b, from) && !spend_token(b, from))
		return;
	if (get && is_elem(q, NS_PING, "ping"))
		sent = iq_result(b, iq, "");
	else if (get && is_elem(q, NS_DISCO_INFO, "query") &&
	    ((node = xnode_attr(q, "node")) == NULL || is_caps_node(node)))
		sent = disco_result(b, iq, node);
	else if (get && is_elem(q, NS_VERSION, "query"))
		sent = iq_result(b, iq, version_info);
	else if (!get && roster_push(b, iq, q))
		sent = iq_result(b, iq, "");	/* nothing kept to update */
	else
		sent = iq_error(b, iq, q, "service-unavailable");
	if (sent)
		b->count.iq++;
}

/* The server's answer to our ping, result or error: it is alive. */
static int
ping_answer(struct bot *b, const struct xnode *iq)
{
	const char *id = xnode_attr(iq, "id"), *from = xnode_attr(iq, "from");
	const char *type = xnode_attr(iq, "type");

	if (b->ping_id == NULL || id == NULL || type == NULL ||
	    strcmp(id, b->ping_id) != 0 ||
	    (strcmp(type, "result") != 0 && strcmp(type, "error") != 0) ||
	    (from != NULL && strcasecmp(from, b->domain) != 0 &&
	    !own_bare_jid(b, from)))
		return 0;
	free(b->ping_id);
	b->ping_id = NULL;
	b->ping_sent = 0;
	return 1;
}

/*
 * Presence (RFC 6121 section 3): a subscription request is approved and
 * returned, unless -A; an unsubscribe is honoured.
 */

static void
send_presence(struct bot *b, const char *to, const char *type)
{
	struct buf x = { 0 };

	buf_adds(&x, "<presence to='");
	xml_escapes(&x, to);
	buf_printf(&x, "' type='%s'/>", type);
	send_xml(b, &x, NULL);
	buf_free(&x);
}

static void
on_presence(struct bot *b, const struct xnode *p)
{
	const char *type = xnode_attr(p, "type"), *from = xnode_attr(p, "from");
	char *bare;

	if (type == NULL || from == NULL || own_bare_jid(b, from))
		return;
	if (strcmp(type, "subscribe") == 0 && b->approve) {
		/* Two answers per request: the bucket bounds them too. */
		if (!spend_token(b, from))
			return;
		bare = bare_key(from);
		send_presence(b, bare, "subscribed");
		send_presence(b, bare, "subscribe");
		free(bare);
	} else if (strcmp(type, "unsubscribe") == 0) {
		if (!spend_token(b, from))
			return;
		bare = bare_key(from);
		send_presence(b, bare, "unsubscribed");
		free(bare);
	}
	/* unsubscribed, probes, errors, availability: nothing to do */
}

void
on_stanza(struct bot *b, const struct record *r)
{
	const struct xnode *n = r->root;

	if (n->ns == NULL || strcmp(n->ns, NS_CLIENT) != 0)
		return;
	/* Before the initial presence, iqs get their answer (RFC 6120
	 * section 8.2.3); messages and presence wait for the session. */
	if (b->state != S_ONLINE && strcmp(r->kind, "iq") != 0)
		return;
	if (!addresses_ok(b, r->root))
		return;
	if (strcmp(r->kind, "message") == 0)
		echo_message(b, n);
	else if (strcmp(r->kind, "iq") == 0) {
		if (!ping_answer(b, n))
			answer_iq(b, n);
	} else if (strcmp(r->kind, "presence") == 0)
		on_presence(b, n);
}

/*
 * A stanza too large for xmpp-parse, told by a #skipped record (its
 * start tag only).  A request still gets its one answer (RFC 6120
 * 8.2.3): an error, without the payload, from the sender's bucket.  A
 * message is dropped as too big.  Our roster, which we do not keep,
 * counts as received.
 */
void
on_skipped(struct bot *b, const struct record *r)
{
	struct xnode *n = r->root->child;
	const char *type, *id, *from;
	struct buf x = { 0 };

	if (n == NULL || n->name == NULL || !ns_equal(n->ns, NS_CLIENT) ||
	    b->state < S_BIND || b->state == S_CLOSING ||
	    !addresses_ok(b, n))
		return;
	type = xnode_attr(n, "type");
	id = xnode_attr(n, "id");
	from = xnode_attr(n, "from");
	if (strcmp(n->name, "message") == 0 && b->state == S_ONLINE)
		b->count.size++;
	if (strcmp(n->name, "iq") != 0 || type == NULL || id == NULL)
		return;
	if (b->state == S_ROSTER && b->pending != NULL &&
	    strcmp(id, b->pending) == 0 && (strcmp(type, "result") == 0 ||
	    strcmp(type, "error") == 0)) {
		settle(b);
		go_online(b);
		return;
	}
	if ((strcmp(type, "get") != 0 && strcmp(type, "set") != 0) ||
	    !to_us(b, xnode_attr(n, "to")) ||
	    (!from_server(b, from) && !spend_token(b, from)))
		return;
	iq_open(&x, n, "error");
	buf_adds(&x, "<error type='modify'><policy-violation xmlns='"
	    NS_STANZAS "'/></error></iq>");
	if (send_bounded(b, &x))
		b->count.iq++;
	buf_free(&x);
}
