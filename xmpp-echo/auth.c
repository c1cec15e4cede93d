/* auth.c - the stream header and SASL: mechanism, exchange, password wiped */

#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "sasl.h"
#include "extern.h"

void
send_header(struct bot *b)
{
	struct buf x = { 0 };

	buf_adds(&x, "<stream:stream xmlns='" NS_CLIENT "' xmlns:stream='"
	    NS_STREAM "' to='");
	xml_escapes(&x, b->domain);
	buf_adds(&x, "' from='");
	xml_escapes(&x, b->bare);
	buf_adds(&x, "' version='1.0' xml:lang='en'>");
	b->open = 1;
	send_xml(b, &x, NULL);
	buf_free(&x);
}

/*
 * SASL (RFC 6120 section 6).  Payloads are base64 in the element's
 * text; "=" stands for an empty payload (section 6.4.2).
 */

static void
send_sasl(struct bot *b, const char *elem, const char *mech,
    const char *data, size_t len)
{
	struct buf x = { 0 }, red = { 0 };
	char *b64;

	if ((b64 = b64_encode(data, len)) == NULL)
		errx(EX_LOCAL, "base64: message too long");
	buf_printf(&x, "<%s xmlns='" NS_SASL "'", elem);
	if (mech != NULL) {
		buf_adds(&x, " mechanism='");
		xml_escapes(&x, mech);
		buf_addc(&x, '\'');
	}
	buf_addc(&x, '>');
	buf_add(&red, x.p, x.len);
	buf_adds(&x, len == 0 ? "=" : b64);
	buf_printf(&x, "</%s>", elem);
	buf_printf(&red, "[redacted]</%s>", elem);
	send_xml(b, &x, buf_str(&red));
	explicit_bzero(b64, strlen(b64));
	explicit_bzero(x.p, x.cap);
	free(b64);
	buf_free(&x);
	buf_free(&red);
}

/* The decoded payload of a challenge or success; NULL when it has none. */
static unsigned char *
sasl_data(struct bot *b, const struct xnode *n, size_t *len)
{
	unsigned char *d;
	char *t;

	t = xnode_text(n);
	*len = 0;
	if (*t == '\0') {
		free(t);
		return NULL;
	}
	if (strcmp(t, "=") == 0)
		d = (unsigned char *)strdup("");
	else if (b64_decode(t, strlen(t), &d, len) == -1)
		fail(b, EX_AUTH, "SASL: bad base64 from the server");
	if (d == NULL)
		err(EX_LOCAL, "strdup");
	free(t);
	return d;
}

static int
offered(const struct xnode *mechs, const char *name)
{
	const struct xnode *c;
	char *t;
	int yes;

	for (c = mechs->child; c != NULL; c = c->next) {
		if (c->name == NULL || strcmp(c->name, "mechanism") != 0 ||
		    c->ns == NULL || strcmp(c->ns, NS_SASL) != 0)
			continue;
		t = xnode_text(c);
		yes = strcmp(t, name) == 0;
		free(t);
		if (yes)
			return 1;
	}
	return 0;
}

/* " A B C": the mechanisms offered, printable, for a message. */
static char *
mech_list(const struct xnode *mechs)
{
	const struct xnode *c;
	struct buf x = { 0 };
	char *t, *safe;

	for (c = mechs->child; c != NULL; c = c->next) {
		if (c->name == NULL || strcmp(c->name, "mechanism") != 0)
			continue;
		t = xnode_text(c);
		safe = safe_str(t);
		buf_printf(&x, " %s", safe);
		free(safe);
		free(t);
	}
	return buf_str(&x);
}

const char *
choose_mech(struct bot *b, const struct xnode *mechs)
{
	size_t i;
	int plain_refused = 0;

	for (i = 0; i < b->nmechs; i++) {
		if (!offered(mechs, b->mechs[i]))
			continue;
		/* PLAIN shows the password to whoever sees the link. */
		if (strcmp(b->mechs[i], "PLAIN") == 0 && !b->plain_ok) {
			plain_refused = 1;
			continue;
		}
		return b->mechs[i];
	}
	if (plain_refused)
		fail(b, EX_AUTH, "refusing PLAIN on a link not known to be "
		    "encrypted (use -e or -P if it is safe)");
	fail(b, EX_AUTH, "no acceptable SASL mechanism among:%s",
	    mech_list(mechs));
}

static void
wipe_pass(struct bot *b)
{
	if (b->pass == NULL)
		return;
	explicit_bzero(b->pass, strlen(b->pass));
	free(b->pass);
	b->pass = NULL;
}

void
start_auth(struct bot *b)
{
	char *msg;
	size_t len;

	if (strcmp(b->mech, "PLAIN") == 0) {
		/* RFC 6120 section 6.3.8: the authcid is the localpart. */
		if ((msg = sasl_plain(b->local, b->pass, &len)) == NULL)
			err(EX_LOCAL, "malloc");
		send_sasl(b, "auth", b->mech, msg, len);
		explicit_bzero(msg, len);
		free(msg);
	} else {
		if (scram_init(&b->scram, b->mech, b->local, b->pass,
		    NULL) == -1)
			errx(EX_LOCAL, "%s: cannot start", b->mech);
		msg = scram_client_first(&b->scram);
		send_sasl(b, "auth", b->mech, msg, strlen(msg));
		free(msg);
	}
	wipe_pass(b);
}

static void
scram_challenge(struct bot *b, const unsigned char *d, size_t len)
{
	const char *errstr;
	char *out;

	switch (b->scram.step) {
	case SCRAM_FIRST:
		if (scram_client_final(&b->scram, (const char *)d, len, &out,
		    &errstr) == -1)
			fail(b, EX_AUTH, "%s: %s", b->mech, errstr);
		send_sasl(b, "response", NULL, out, strlen(out));
		explicit_bzero(out, strlen(out));
		free(out);
		break;
	case SCRAM_FINAL:
		/* The server-final message in a challenge: verify, then
		 * answer with an empty response (RFC 6120 section 6.4.3). */
		if (scram_verify(&b->scram, (const char *)d, len,
		    &errstr) == -1)
			fail(b, EX_AUTH, "%s: %s", b->mech, errstr);
		send_sasl(b, "response", NULL, "", 0);
		break;
	default:
		fail(b, EX_AUTH, "%s: unexpected challenge", b->mech);
	}
}

void
on_challenge(struct bot *b, const struct xnode *n)
{
	unsigned char *d;
	size_t len;

	if (strcmp(b->mech, "PLAIN") == 0)
		fail(b, EX_AUTH, "PLAIN: unexpected challenge");
	if ((d = sasl_data(b, n, &len)) == NULL)
		fail(b, EX_AUTH, "%s: empty challenge", b->mech);
	scram_challenge(b, d, len);
	free(d);
}

/* A success proves nothing until the SCRAM server signature checks. */
void
on_success(struct bot *b, const struct xnode *n)
{
	unsigned char *d;
	const char *errstr;
	size_t len;

	d = sasl_data(b, n, &len);
	if (strcmp(b->mech, "PLAIN") != 0) {
		if (b->scram.step == SCRAM_FINAL) {
			if (d == NULL)
				fail(b, EX_AUTH, "%s: no server signature",
				    b->mech);
			if (scram_verify(&b->scram, (const char *)d, len,
			    &errstr) == -1)
				fail(b, EX_AUTH, "%s: %s", b->mech, errstr);
		}
		if (b->scram.step != SCRAM_DONE)
			fail(b, EX_AUTH, "%s: success before the exchange "
			    "ended", b->mech);
		scram_free(&b->scram);
	}
	free(d);
	b->state = S_REOPEN;
	/* RFC 6120 section 6.4.6: a new stream over the same link. */
	send_header(b);
}
