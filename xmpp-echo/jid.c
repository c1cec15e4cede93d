/* jid.c - addresses: our own, the validity of peers' (RFC 7622) */

#include <ctype.h>
#include <err.h>
#include <stdint.h>
#include <string.h>

#include "record.h"
#include "extern.h"

/*
 * JIDs.  Domain parts and (for the servers we meet) local parts compare
 * without regard to ASCII case; resources exactly.
 */

int
own_bare_jid(const struct bot *b, const char *jid)
{
	return is_bare_of(b->bare, jid, strcspn(jid, "/"));
}

/* Whether bare is the bare JID of jid, barelen bytes long there (case
 * aside, as in bare_key()). */
int
is_bare_of(const char *bare, const char *jid, size_t barelen)
{
	return strncasecmp(bare, jid, barelen) == 0 && bare[barelen] == '\0';
}

/*
 * The server, or it on our account's behalf (RFC 6120 section 8.1.2.1):
 * no 'from', our domain, or our bare JID.  A peer cannot send that.
 */
int
from_server(const struct bot *b, const char *from)
{
	return from == NULL || strcasecmp(from, b->domain) == 0 ||
	    (strchr(from, '/') == NULL && own_bare_jid(b, from));
}

/* RFC 6120 section 10.3: no 'to', our bare JID or our full JID. */
int
to_us(const struct bot *b, const char *to)
{
	const char *slash;

	if (to == NULL)
		return 1;
	if (!own_bare_jid(b, to))
		return 0;
	if ((slash = strchr(to, '/')) == NULL)
		return 1;
	return b->full != NULL && (slash = strchr(b->full, '/')) != NULL &&
	    strcmp(strchr(to, '/'), slash) == 0;
}

/* The bare JID of jid, lower case, for keys; caller frees. */
char *
bare_key(const char *jid)
{
	char *k, *p;

	if ((k = strndup(jid, strcspn(jid, "/"))) == NULL)
		err(EX_LOCAL, "strndup");
	for (p = k; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

/*
 * Addresses as RFC 7622 has them, without the PRECIS tables: each part
 * 1 to JID_PART_MAX bytes of UTF-8 without control characters, the
 * characters it forbids in a localpart, and in a domainpart no ASCII
 * but letters, digits, "-", "_" and single dots between labels.  The
 * bound on each part is also what keeps the flood table small.
 */
#define LOCAL_REFUSED	" \"&'/:<>@"

/* Bytes of the UTF-8 character at s, 0 if malformed or a control. */
static size_t
jid_char(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t len;

	if ((len = utf8_char(s, n, &c)) == 0)
		return 0;
	/* C0 controls, DEL and the C1 controls. */
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
		return 0;
	return len;
}

/*
 * An ASCII byte allowed in a part: no control, none of refused.  Most
 * JIDs are ASCII: checked here without utf8_char(), and refused is
 * searched only for the punctuation it can hold.
 */
static int
jid_ascii_ok(unsigned char c, const char *refused)
{
	if (c < 0x20 || c == 0x7f)
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return strchr(refused, c) == NULL;
}

/* A part of n bytes: its length, UTF-8, no ASCII byte of refused. */
int
jid_part_ok(const char *s, size_t n, const char *refused)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, len;

	if (n == 0 || n > JID_PART_MAX)
		return 0;
	for (i = 0; i < n; i += len) {
		len = 1;
		if (u[i] < 0x80 ? !jid_ascii_ok(u[i], refused) :
		    (len = jid_char(u + i, n - i)) == 0)
			return 0;
	}
	return 1;
}

/* In a domain label: ASCII letters, digits, "-" and "_", or not ASCII. */
static int
label_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c >= 0x80;
}

/*
 * An IP literal in brackets, or labels of letters, digits, - and _.
 * Byte by byte: once the part is UTF-8, a byte of 0x80 or more is of a
 * character past ASCII, which labels may hold.
 */
static int
domain_ok(const char *s, size_t n)
{
	size_t i;

	if (!jid_part_ok(s, n, ""))
		return 0;
	if (s[0] == '[')
		return n > 2 && s[n - 1] == ']' &&
		    strspn(s + 1, "0123456789abcdefABCDEF:.") == n - 2;
	for (i = 0; i < n; i++)
		if (s[i] == '.' ? i == 0 || s[i - 1] == '.' || i + 1 == n :
		    !label_byte_ok((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Checks jid; returns 0 and removes the final dot of its domainpart, as
 * RFC 7622 section 3.2 says, in place, or -1 if it is no valid JID.
 */
int
jid_normalize(char *jid)
{
	size_t len = strlen(jid), dend, dstart = 0;
	const char *at;

	dend = strcspn(jid, "/");
	if ((at = memchr(jid, '@', dend)) != NULL) {
		if (!jid_part_ok(jid, (size_t)(at - jid), LOCAL_REFUSED))
			return -1;
		dstart = (size_t)(at - jid) + 1;
	}
	if (jid[dend] == '/' &&
	    !jid_part_ok(jid + dend + 1, len - dend - 1, ""))
		return -1;
	if (dend > dstart && jid[dend - 1] == '.') {
		memmove(jid + dend - 1, jid + dend, len - dend + 1);
		dend--;
	}
	return domain_ok(jid + dstart, dend - dstart) ? 0 : -1;
}

/*
 * A stanza's from and to, normalised; 0, counted, if either is not a
 * JID: nothing is answered to an address that is not one.
 */
int
addresses_ok(struct bot *b, struct xnode *n)
{
	size_t i;

	for (i = 0; i < n->nattrs; i++)
		if (n->attrs[i].ns == NULL &&
		    (strcmp(n->attrs[i].name, "from") == 0 ||
		    strcmp(n->attrs[i].name, "to") == 0) &&
		    jid_normalize(n->attrs[i].value) == -1) {
			b->count.jid++;
			return 0;
		}
	return 1;
}
