/* record.c - the line record codec of xmpp-record(5) */
#include <err.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

/* Deeper records are refused, so that the recursive walks stay shallow. */
#define RECORD_MAXDEPTH	1024

/*
 * Writing.
 */

enum escset { ESC_TEXT, ESC_NAME, ESC_URI };	/* ESC_URI last */

/* Whether byte c is escaped in text, and so in every field. */
static int
must_escape_text(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '\\';
}

/* Whether byte c is escaped in a field of the given set. */
static int
must_escape(unsigned char c, enum escset set)
{
	if (must_escape_text(c))
		return 1;
	if (set == ESC_TEXT)
		return 0;
	if (set == ESC_URI)
		return c == '=' || c == '}';
	/* So that no attribute name reads back as xml:NAME or {URI}NAME. */
	return c == '=' || c == ':' || c == '{';
}

/*
 * must_escape() of every byte for the set, made at the first use: every
 * byte of a record goes through it, where the tests of must_escape()
 * cost several times a look-up.
 */
static const unsigned char *
escape_table(enum escset set)
{
	static unsigned char	 table[ESC_URI + 1][256];
	static int		 made;
	int			 s, c;

	if (!made) {
		for (s = ESC_TEXT; s <= ESC_URI; s++)
			for (c = 0; c < 256; c++)
				table[s][c] = (unsigned char)must_escape(
				    (unsigned char)c, (enum escset)s);
		made = 1;
	}
	return table[set];
}

/*
 * How many bytes at s need no escape in the set.  Text, the bulk of a
 * record, goes 16 bytes at a time with no exit inside a block, which
 * compilers make a few vector instructions; the rest, byte by byte.
 */
static size_t
plain_span(const char *s, size_t n, enum escset set)
{
	const unsigned char	*u = (const unsigned char *)s;
	const unsigned char	*escaped = escape_table(set);
	size_t			 i = 0, j;
	int			 found = 0;

	if (set == ESC_TEXT)
		for (; i + 16 <= n; i += 16) {
			for (j = 0; j < 16; j++)
				found |= must_escape_text(u[i + j]);
			if (found)
				break;
		}
	while (i < n && !escaped[u[i]])
		i++;
	return i;
}

/* Appends s escaped: no TAB, LF, CR or other control byte stays raw. */
static void
put_escaped(struct buf *b, const char *s, size_t n, enum escset set)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 x[4] = { '\\', 'x' };
	unsigned char		 c;
	size_t			 i = 0, start = 0;

	while ((i += plain_span(s + i, n - i, set)) < n) {
		c = (unsigned char)s[i];
		buf_add(b, s + start, i - start);
		start = ++i;
		switch (c) {
		case '\\':	buf_add(b, "\\\\", 2); break;
		case '\t':	buf_add(b, "\\t", 2); break;
		case '\n':	buf_add(b, "\\n", 2); break;
		case '\r':	buf_add(b, "\\r", 2); break;
		default:
			x[2] = hex[c >> 4];
			x[3] = hex[c & 15];
			buf_add(b, x, sizeof(x));
		}
	}
	buf_add(b, s + start, n - start);
}

static void
put_item(struct recw *w, char mark)
{
	buf_addc(&w->out, '\t');
	if (mark != '\0')
		buf_addc(&w->out, mark);
	w->intext = 0;
}

static void
push_ns(struct recw *w, const char *ns)
{
	char	*copy = NULL;

	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		if ((w->ns = reallocarray(w->ns, w->cap, sizeof(*w->ns))) == NULL)
			err(1, "reallocarray");
	}
	if (ns != NULL && (copy = strdup(ns)) == NULL)
		err(1, "strdup");
	w->ns[w->depth++] = copy;
}

static void
pop_ns(struct recw *w)
{
	if (w->depth > 0)
		free(w->ns[--w->depth]);
}

int
ns_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
put_ns(struct recw *w, const char *ns)
{
	put_item(w, '\0');
	buf_adds(&w->out, "xmlns=");
	if (ns != NULL)
		put_escaped(&w->out, ns, strlen(ns), ESC_TEXT);
}

void
rec_begin(struct recw *w, const char *kind, const char *ns)
{
	while (w->depth > 0)
		pop_ns(w);
	buf_reset(&w->out);
	put_escaped(&w->out, kind, strlen(kind), ESC_TEXT);
	w->intext = 0;
	push_ns(w, ns);
	if (ns != NULL)
		put_ns(w, ns);
}

void
rec_attr(struct recw *w, const char *ns, const char *local, const char *value)
{
	put_item(w, '@');
	if (ns != NULL && strcmp(ns, NS_XML) == 0)
		buf_adds(&w->out, "xml:");
	else if (ns != NULL) {
		buf_addc(&w->out, '{');
		put_escaped(&w->out, ns, strlen(ns), ESC_URI);
		buf_addc(&w->out, '}');
	}
	put_escaped(&w->out, local, strlen(local), ESC_NAME);
	buf_addc(&w->out, '=');
	put_escaped(&w->out, value, strlen(value), ESC_TEXT);
}

void
rec_start(struct recw *w, const char *ns, const char *local)
{
	const char	*parent = w->depth > 0 ? w->ns[w->depth - 1] : NULL;

	put_item(w, '(');
	put_escaped(&w->out, local, strlen(local), ESC_TEXT);
	if (!ns_equal(ns, parent))
		put_ns(w, ns);
	push_ns(w, ns);
}

void
rec_text(struct recw *w, const char *s, size_t n)
{
	if (!w->intext)
		put_item(w, '-');
	put_escaped(&w->out, s, n, ESC_TEXT);
	w->intext = 1;
}

void
rec_end(struct recw *w)
{
	put_item(w, ')');
	if (w->depth > 1)
		pop_ns(w);
}

void
rec_finish(struct recw *w)
{
	buf_addc(&w->out, '\n');
	w->intext = 0;
	while (w->depth > 0)
		pop_ns(w);
}

void
rec_free(struct recw *w)
{
	while (w->depth > 0)
		pop_ns(w);
	free(w->ns);
	w->ns = NULL;
	w->cap = 0;
	buf_free(&w->out);
}

const char *
rec_kind(const char *ns, const char *local)
{
	static struct buf	 kind;

	if (ns == NULL || strcmp(ns, NS_STREAM) != 0)
		return local;
	buf_reset(&kind);
	buf_adds(&kind, "stream:");
	buf_adds(&kind, local);
	return buf_str(&kind);
}

static void
write_children(struct recw *w, const struct xnode *n)
{
	const struct xnode	*c;
	size_t			 i;

	for (c = n->child; c != NULL; c = c->next) {
		if (c->name == NULL) {
			rec_text(w, c->text, c->textlen);
			continue;
		}
		rec_start(w, c->ns, c->name);
		for (i = 0; i < c->nattrs; i++)
			rec_attr(w, c->attrs[i].ns, c->attrs[i].name,
			    c->attrs[i].value);
		write_children(w, c);
		rec_end(w);
	}
}

void
rec_write(struct recw *w, const struct record *rec)
{
	const struct xnode	*root = rec->root;
	size_t			 i;

	rec_begin(w, rec->kind, root->ns);
	for (i = 0; i < root->nattrs; i++)
		rec_attr(w, root->attrs[i].ns, root->attrs[i].name,
		    root->attrs[i].value);
	write_children(w, root);
	rec_finish(w);
}

/*
 * Reading.
 */

/*
 * A decoded record lives in a few blocks of memory, freed together by
 * record_free(): a malloc() and a free() for each node and each string
 * cost more than all the rest of decoding a message.  The first block
 * fits the record's strings and a few nodes; each next one is twice
 * the last, or as large as one allocation needs.
 */
struct block {
	struct block	*next;
	size_t		 used, size;	/* bytes of data */
	max_align_t	 data[];
};
#define BLOCK_EXTRA	1024	/* the first block: the line's length and this */

static void
add_block(struct record *rec, size_t need)
{
	struct block	*b;
	size_t		 size = need;

	if (rec->mem != NULL && rec->mem->size * 2 > size)
		size = rec->mem->size * 2;
	if ((b = malloc(sizeof(*b) + size)) == NULL)
		err(1, "malloc");
	b->next = rec->mem;
	b->used = 0;
	b->size = size;
	rec->mem = b;
}

/* n bytes of rec's memory, aligned for any object. */
static void *
rec_alloc(struct record *rec, size_t n)
{
	struct block	*b;
	void		*p;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) *
	    sizeof(max_align_t);
	if (rec->mem == NULL || rec->mem->size - rec->mem->used < n)
		add_block(rec, n);
	b = rec->mem;
	p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

static char *
rec_strndup(struct record *rec, const char *s, size_t n)
{
	char	*t = rec_alloc(rec, n + 1);

	memcpy(t, s, n);
	t[n] = '\0';
	return t;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescapes s[0..n) into a new NUL-terminated string; NULL if malformed.
 * Only text, whose length is kept, may hold a NUL (outlen != NULL). */
static char *
unescape(struct record *rec, const char *s, size_t n, size_t *outlen)
{
	const char	*esc;
	char		*out, *o;
	size_t		 i, run;
	int		 hi, lo;

	out = rec_alloc(rec, n + 1);
	for (i = 0, o = out; i < n; i++) {
		/* The bytes up to the next backslash go as they are. */
		if ((esc = memchr(s + i, '\\', n - i)) == NULL)
			esc = s + n;
		run = (size_t)(esc - s) - i;
		memcpy(o, s + i, run);
		o += run;
		if ((i += run) == n)
			break;
		if (++i == n)
			return NULL;
		switch (s[i]) {
		case '\\':	*o++ = '\\'; break;
		case 't':	*o++ = '\t'; break;
		case 'n':	*o++ = '\n'; break;
		case 'r':	*o++ = '\r'; break;
		case 'x':
			if (n - i < 3 || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return NULL;
			if ((*o++ = (char)(hi << 4 | lo)) == '\0' &&
			    outlen == NULL)
				return NULL;
			i += 2;
			break;
		default:
			return NULL;
		}
	}
	*o = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(o - out);
	return out;
}

static struct xnode *
new_node(struct record *rec)
{
	struct xnode	*n = rec_alloc(rec, sizeof(*n));

	memset(n, 0, sizeof(*n));
	return n;
}

void
record_free(struct record *rec)
{
	struct block	*b, *next;

	for (b = rec->mem; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	rec->kind = NULL;
	rec->root = NULL;
	rec->mem = NULL;
}

struct decoder {
	struct record	*rec;
	struct xnode	*stack[RECORD_MAXDEPTH + 1];
	struct xnode	*last[RECORD_MAXDEPTH + 1];	/* last child */
	int		 nsset[RECORD_MAXDEPTH + 1];	/* xmlns item seen */
	size_t		 depth;
	size_t		 attrcap;	/* room in cur()'s attrs */
};

static struct xnode *
cur(struct decoder *d)
{
	return d->stack[d->depth];
}

static void
append_child(struct decoder *d, struct xnode *c)
{
	if (d->last[d->depth] == NULL)
		cur(d)->child = c;
	else
		d->last[d->depth]->next = c;
	d->last[d->depth] = c;
}

static const char *
item_xmlns(struct decoder *d, const char *s, size_t n)
{
	struct xnode	*e = cur(d);
	char		*uri;

	if (e->child != NULL || e->nattrs > 0 || d->nsset[d->depth])
		return "xmlns item out of place";
	if ((uri = unescape(d->rec, s, n, NULL)) == NULL)
		return "bad escape in xmlns";
	if (strcmp(uri, NS_XMLNS) == 0)
		return "the xmlns namespace is reserved";
	e->ns = *uri == '\0' ? NULL : uri;
	d->nsset[d->depth] = 1;
	return NULL;
}

/* n's attributes moved to room for cap of them in rec's memory. */
static void
attrs_move(struct record *rec, struct xnode *n, size_t cap)
{
	struct xattr	*a = rec_alloc(rec, cap * sizeof(*a));

	if (n->nattrs > 0)
		memcpy(a, n->attrs, n->nattrs * sizeof(*a));
	n->attrs = a;
}

/* A new attribute of cur(): attributes come only before its content,
 * so the array of the element being written is the one that grows. */
static struct xattr *
new_attr(struct decoder *d)
{
	struct xnode	*e = cur(d);

	if (e->nattrs == d->attrcap) {
		d->attrcap = d->attrcap ? d->attrcap * 2 : 8;
		attrs_move(d->rec, e, d->attrcap);
	}
	return &e->attrs[e->nattrs++];
}

static const char *
item_attr(struct decoder *d, const char *s, size_t n)
{
	struct xattr	*a;
	const char	*name = s, *eq, *rb;
	char		*ns = NULL;

	if (cur(d)->child != NULL)
		return "attribute after content";
	if (n > 0 && s[0] == '{') {
		if ((rb = memchr(s, '}', n)) == NULL)
			return "unterminated {namespace}";
		if ((ns = unescape(d->rec, s + 1, (size_t)(rb - s - 1),
		    NULL)) == NULL)
			return "bad escape in attribute namespace";
		if (*ns == '\0' || strcmp(ns, NS_XMLNS) == 0)
			return "bad attribute namespace";
		name = rb + 1;
	} else if (n > 4 && memcmp(s, "xml:", 4) == 0) {
		ns = rec_strndup(d->rec, NS_XML, strlen(NS_XML));
		name = s + 4;
	}
	if ((eq = memchr(name, '=', n - (size_t)(name - s))) == NULL ||
	    eq == name)
		return "attribute without name=value";
	a = new_attr(d);
	a->ns = ns;
	a->name = unescape(d->rec, name, (size_t)(eq - name), NULL);
	a->value = unescape(d->rec, eq + 1, n - (size_t)(eq + 1 - s), NULL);
	if (a->name == NULL || a->value == NULL)
		return "bad escape in attribute";
	/* xml_node() would write it as a namespace declaration. */
	if (a->ns == NULL && strcmp(a->name, "xmlns") == 0)
		return "attribute xmlns is reserved";
	return NULL;
}

/* A child element, of its parent's namespace until an xmlns item. */
static const char *
item_start(struct decoder *d, const char *s, size_t n)
{
	struct xnode	*c;

	if (n == 0)
		return "element without a name";
	if (d->depth == RECORD_MAXDEPTH)
		return "record nested too deeply";
	c = new_node(d->rec);
	append_child(d, c);
	if ((c->name = unescape(d->rec, s, n, NULL)) == NULL)
		return "bad escape in element name";
	c->ns = cur(d)->ns;
	d->depth++;
	d->stack[d->depth] = c;
	d->last[d->depth] = NULL;
	d->nsset[d->depth] = 0;
	d->attrcap = 0;
	return NULL;
}

static const char *
item_text(struct decoder *d, const char *s, size_t n)
{
	struct xnode	*t = new_node(d->rec);

	append_child(d, t);
	if ((t->text = unescape(d->rec, s, n, &t->textlen)) == NULL)
		return "bad escape in text";
	return NULL;
}

static const char *
decode_item(struct decoder *d, const char *s, size_t n)
{
	if (n >= 6 && memcmp(s, "xmlns=", 6) == 0)
		return item_xmlns(d, s + 6, n - 6);
	if (n == 0)
		return "empty item";
	switch (s[0]) {
	case '@':
		return item_attr(d, s + 1, n - 1);
	case '(':
		return item_start(d, s + 1, n - 1);
	case ')':
		if (n != 1 || d->depth == 0)
			return "unbalanced )";
		d->depth--;
		return NULL;
	case '-':
		return item_text(d, s + 1, n - 1);
	default:
		return "unknown item";
	}
}

static char *
root_name(struct record *rec, const char *kind)
{
	if (strcmp(kind, KIND_OPEN) == 0)
		kind = "stream";
	else if (strncmp(kind, "stream:", 7) == 0)
		kind += 7;
	return rec_strndup(rec, kind, strlen(kind));
}

static int
is_raw_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * Whether s holds a control byte but TAB, or DEL, which a record never
 * holds raw.  Every byte of every record is checked: in blocks of 16
 * with no exit inside one, a loop compilers make a few vector
 * instructions a block, where a test and a branch a byte cost more than
 * decoding the record.
 */
static int
has_raw_control(const char *s, size_t n)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i, j;
	int			 found = 0;

	for (i = 0; i + 16 <= n && !found; i += 16)
		for (j = 0; j < 16; j++)
			found |= is_raw_control(u[i + j]);
	for (; i < n && !found; i++)
		found = is_raw_control(u[i]);
	return found;
}

/*
 * The decoder's stack is on ours and left uninitialised but for its
 * bottom level: item_start() sets each level it opens.  A calloc() of
 * its 20 KiB per record was the costliest step of decoding a message
 * (the zeroing, and glibc's consolidation of small free chunks that a
 * request that large sets off).
 */
int
record_decode(const char *line, size_t len, struct record *rec,
    const char **errstr)
{
	struct decoder	 dec, *d = &dec;
	const char	*p, *end, *tab, *why = NULL;

	memset(rec, 0, sizeof(*rec));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (has_raw_control(line, len)) {
		*errstr = "raw control byte in record";
		return -1;
	}
	end = line + len;
	if ((tab = memchr(line, '\t', len)) == NULL)
		tab = end;
	add_block(rec, len + BLOCK_EXTRA);
	if (tab == line || (rec->kind = unescape(rec, line,
	    (size_t)(tab - line), NULL)) == NULL) {
		record_free(rec);
		*errstr = "bad record kind";
		return -1;
	}
	d->rec = rec;
	d->depth = 0;
	d->last[0] = NULL;
	d->nsset[0] = 0;
	d->attrcap = 0;
	rec->root = d->stack[0] = new_node(rec);
	rec->root->name = root_name(rec, rec->kind);
	for (p = tab; p < end && why == NULL; p = tab) {
		p++;
		if ((tab = memchr(p, '\t', (size_t)(end - p))) == NULL)
			tab = end;
		why = decode_item(d, p, (size_t)(tab - p));
	}
	if (why == NULL && d->depth != 0)
		why = "unclosed element";
	if (why != NULL) {
		record_free(rec);
		*errstr = why;
		return -1;
	}
	return 0;
}

/* Attributes added after decoding: a new array, in the record's memory. */
void
record_add_attr(struct record *rec, struct xnode *n, const char *name,
    const char *value)
{
	struct xattr	*a;

	attrs_move(rec, n, n->nattrs + 1);
	a = &n->attrs[n->nattrs++];
	a->ns = NULL;
	a->name = rec_strndup(rec, name, strlen(name));
	a->value = rec_strndup(rec, value, strlen(value));
}

const char *
xnode_attr_ns(const struct xnode *n, const char *ns, const char *local)
{
	size_t	 i;

	for (i = 0; i < n->nattrs; i++)
		if (ns_equal(n->attrs[i].ns, ns) &&
		    strcmp(n->attrs[i].name, local) == 0)
			return n->attrs[i].value;
	return NULL;
}

const char *
xnode_attr(const struct xnode *n, const char *local)
{
	return xnode_attr_ns(n, NULL, local);
}

struct xnode *
xnode_child(const struct xnode *n, const char *ns, const char *local)
{
	struct xnode	*c;

	for (c = n->child; c != NULL; c = c->next)
		if (c->name != NULL && strcmp(c->name, local) == 0 &&
		    ns_equal(c->ns, ns))
			return c;
	return NULL;
}

char *
xnode_text(const struct xnode *n)
{
	const struct xnode	*c;
	struct buf		 b = { 0 };

	for (c = n->child; c != NULL; c = c->next)
		if (c->name == NULL)
			buf_add(&b, c->text, c->textlen);
	return buf_str(&b);
}

/*
 * Stream errors (RFC 6120 section 4.9.3) that a new connection would
 * meet again, whatever the retry: host-unknown for a JID whose domain
 * the server does not serve, say.  Any other is transient.
 */
int
stream_error_permanent(const char *cond)
{
	static const char *const permanent[] = {
		"bad-format", "bad-namespace-prefix", "host-gone",
		"host-unknown", "improper-addressing", "invalid-from",
		"invalid-namespace", "invalid-xml", "not-authorized",
		"not-well-formed", "restricted-xml", "unsupported-encoding",
		"unsupported-feature", "unsupported-stanza-type",
		"unsupported-version"
	};
	size_t i;

	for (i = 0; i < sizeof permanent / sizeof permanent[0]; i++)
		if (strcmp(cond, permanent[i]) == 0)
			return 1;
	return 0;
}
