/*
 * record-fuzz - libFuzzer harness for the record codec of common/record.c
 *
 * Any bytes go to record_decode().  When they decode, rec_write() must
 * give a record that decodes to the same tree (adjacent text items may
 * merge), writing that one again must give identical bytes, and
 * xml_node() must cope with the tree.  Where the tree is one that XML
 * can carry (names, no control characters, ...), the XML of xml_node()
 * must parse, with expat, back into the same record.  Leaks are found by
 * LeakSanitizer.
 *
 * Built with -DSKIP_KNOWN, inputs hitting issues already reported (see
 * regress/TODO) are skipped, so that a long run can look for others.
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "record.h"

#define NS_XMLNS	"http://www.w3.org/2000/xmlns/"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
dump_str(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_adds(b, "N;");
		return;
	}
	buf_printf(b, "%zu:", strlen(s));
	buf_adds(b, s);
}

/* An unambiguous dump of the tree, adjacent text nodes merged. */
static void
dump_node(struct buf *b, const struct xnode *n)
{
	const struct xnode	*c;
	size_t			 i;
	int			 intext = 0;

	buf_adds(b, "E");
	dump_str(b, n->name);
	dump_str(b, n->ns);
	buf_printf(b, "A%zu", n->nattrs);
	for (i = 0; i < n->nattrs; i++) {
		dump_str(b, n->attrs[i].ns);
		dump_str(b, n->attrs[i].name);
		dump_str(b, n->attrs[i].value);
	}
	for (c = n->child; c != NULL; c = c->next) {
		if (c->name == NULL) {
			if (!intext)
				buf_adds(b, "T");
			/* Lengths would tell merged pieces apart: escape instead. */
			for (i = 0; i < c->textlen; i++) {
				if (c->text[i] == '\\' || c->text[i] == '|')
					buf_addc(b, '\\');
				buf_addc(b, c->text[i]);
			}
			intext = 1;
			continue;
		}
		if (intext)
			buf_addc(b, '|');
		intext = 0;
		dump_node(b, c);
	}
	if (intext)
		buf_addc(b, '|');
	buf_adds(b, "/");
}

static void
dump(struct buf *b, const struct record *rec)
{
	buf_reset(b);
	dump_str(b, rec->kind);
	dump_node(b, rec->root);
	buf_str(b);
}

/* ASCII only, to keep it simple: expat checks the rest. */
static int
ncname(const char *s)
{
	const char	*p;

	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	    *s == '_'))
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    *p == '.'))
			return 0;
	return 1;
}

/* Printable ASCII, TAB, LF or CR: XML 1.0 characters, valid UTF-8. */
static int
xmlchars(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t' &&
		    s[i] != '\n' && s[i] != '\r') || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
nsok(const char *ns)
{
	return ns == NULL || (*ns != '\0' && xmlchars(ns, strlen(ns)) &&
	    strcmp(ns, NS_XMLNS) != 0);
}

/* Whether XML can carry the tree: what the parser could have read. */
static int
carried(const struct xnode *n)
{
	const struct xnode	*c;
	const struct xattr	*a, *b;
	size_t			 i, j;

	if (!ncname(n->name) || !nsok(n->ns))
		return 0;
	for (i = 0; i < n->nattrs; i++) {
		a = &n->attrs[i];
		if (!ncname(a->name) || !nsok(a->ns) ||
		    !xmlchars(a->value, strlen(a->value)))
			return 0;
		for (j = 0; j < i; j++) {
			b = &n->attrs[j];
			if (strcmp(a->name, b->name) == 0 &&
			    ((a->ns == NULL && b->ns == NULL) ||
			    (a->ns != NULL && b->ns != NULL &&
			    strcmp(a->ns, b->ns) == 0)))
				return 0;	/* a duplicate */
		}
	}
	for (c = n->child; c != NULL; c = c->next) {
		if (c->name == NULL) {
			/* An empty text item has no XML. */
			if (c->textlen == 0 || !xmlchars(c->text, c->textlen))
				return 0;
		} else if (!carried(c))
			return 0;
	}
	return 1;
}

/* The record again from the XML, as xmpp-parse writes it. */
struct reparse {
	XML_Parser	 xp;
	struct recw	 w;
	const char	*kind;
	int		 depth;
	struct buf	 ns, attrns;
};

static const char *
split(struct buf *b, const char *name, const char **local)
{
	const char	*sep;

	if ((sep = strrchr(name, '\1')) == NULL) {
		*local = name;
		return NULL;
	}
	*local = sep + 1;
	buf_reset(b);
	buf_add(b, name, (size_t)(sep - name));
	return buf_str(b);
}

static void XMLCALL
re_start(void *arg, const char *name, const char **atts)
{
	struct reparse	*r = arg;
	const char	*ns, *local, *ans;

	ns = split(&r->ns, name, &local);
	if (r->depth++ == 0)
		rec_begin(&r->w, r->kind, ns);
	else
		rec_start(&r->w, ns, local);
	for (; *atts != NULL; atts += 2) {
		ans = split(&r->attrns, atts[0], &local);
		rec_attr(&r->w, ans, local, atts[1]);
	}
}

static void XMLCALL
re_end(void *arg, const char *name)
{
	struct reparse	*r = arg;

	(void)name;
	if (--r->depth > 0)
		rec_end(&r->w);
	else
		rec_finish(&r->w);
}

static void XMLCALL
re_text(void *arg, const char *s, int len)
{
	struct reparse	*r = arg;

	rec_text(&r->w, s, (size_t)len);
}

static void
check_xml(const struct record *rec, const struct buf *xml,
    const struct buf *want)
{
	struct reparse	 r = { 0 };

	if (!carried(rec->root))
		return;
	if ((r.xp = XML_ParserCreateNS("UTF-8", '\1')) == NULL)
		errx(1, "XML_ParserCreateNS failed");
	r.kind = rec->kind;
	XML_SetUserData(r.xp, &r);
	XML_SetElementHandler(r.xp, re_start, re_end);
	XML_SetCharacterDataHandler(r.xp, re_text);
	if (XML_Parse(r.xp, xml->p, (int)xml->len, 1) != XML_STATUS_OK) {
		fprintf(stderr, "record: %.*sxml: %.*s\n", (int)want->len,
		    want->p, (int)xml->len, xml->p);
		errx(1, "xml_node wrote XML that does not parse: %s",
		    XML_ErrorString(XML_GetErrorCode(r.xp)));
	}
	if (r.w.out.len != want->len ||
	    memcmp(r.w.out.p, want->p, want->len) != 0) {
		fprintf(stderr, "record: %.*sxml: %.*s\nparsed: %.*s",
		    (int)want->len, want->p, (int)xml->len, xml->p,
		    (int)r.w.out.len, r.w.out.p);
		errx(1, "xml_node wrote XML that means something else");
	}
	XML_ParserFree(r.xp);
	rec_free(&r.w);
	buf_free(&r.ns);
	buf_free(&r.attrns);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct buf	 d1, d2, x;
	struct recw		 w1 = { 0 }, w2 = { 0 };
	struct record		 r1, r2;
	const char		*errstr;
	char			*line;

	/* An exact copy, so that ASan sees any read past the end. */
	if ((line = malloc(size ? size : 1)) == NULL)
		err(1, "malloc");
	memcpy(line, data, size);
	if (record_decode(line, size, &r1, &errstr) == -1) {
		if (r1.kind != NULL || r1.root != NULL)
			errx(1, "failed decode left a record: %s", errstr);
		free(line);
		return 0;
	}
	free(line);

	buf_reset(&x);
	xml_node(&x, r1.root, NULL);

	rec_write(&w1, &r1);
	if (w1.out.len == 0 || w1.out.p[w1.out.len - 1] != '\n' ||
	    memchr(w1.out.p, '\n', w1.out.len) != w1.out.p + w1.out.len - 1)
		errx(1, "rec_write: not one line");
	if (record_decode(w1.out.p, w1.out.len, &r2, &errstr) == -1) {
		fprintf(stderr, "rewritten: %.*s", (int)w1.out.len, w1.out.p);
		errx(1, "rec_write gave a record that does not decode: %s",
		    errstr);
	}
	dump(&d1, &r1);
	dump(&d2, &r2);
	if (d1.len != d2.len || memcmp(d1.p, d2.p, d1.len) != 0) {
		fprintf(stderr, "before: %s\nafter:  %s\n", d1.p, d2.p);
		errx(1, "rec_write then record_decode changed the record");
	}
	rec_write(&w2, &r2);
	if (w1.out.len != w2.out.len ||
	    memcmp(w1.out.p, w2.out.p, w1.out.len) != 0) {
		fprintf(stderr, "first:  %.*ssecond: %.*s",
		    (int)w1.out.len, w1.out.p, (int)w2.out.len, w2.out.p);
		errx(1, "rec_write is not stable");
	}
	check_xml(&r1, &x, &w1.out);
	record_free(&r1);
	record_free(&r2);
	rec_free(&w1);
	rec_free(&w2);
	return 0;
}
