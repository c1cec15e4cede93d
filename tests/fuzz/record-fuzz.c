/*
 * record-fuzz - libFuzzer harness for the record codec of common/record.c
 *
 * Any bytes go to record_decode().  When they decode, rec_write() must
 * give a record that decodes to the same tree (adjacent text items may
 * merge), writing that one again must give identical bytes, and
 * xml_node() must cope with the tree.  Leaks are found by LeakSanitizer.
 *
 * Built with -DSKIP_KNOWN, inputs hitting codec issues already reported
 * are skipped, so that a long run can look for others.
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

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

#ifdef SKIP_KNOWN
/*
 * Issues reported to the lead, skipped until they are fixed:
 * 1. "\x00" unescapes to a NUL inside a C string (kind, name, value, URI),
 *    which then truncates it: "\x00" as kind or name rewrites to a record
 *    that does not decode, "xmlns=\x00" turns into no namespace.
 * 2. An attribute name without namespace that begins "xml:" or holds
 *    "{" or "}" (written "\x3a", "\x7b") is written back raw and reads
 *    back as a namespace, or not at all.
 */
static int
known_input(const uint8_t *data, size_t size)
{
	size_t	 i;

	for (i = 0; i + 3 < size; i++)
		if (memcmp(data + i, "\\x00", 4) == 0)
			return 1;
	return 0;
}

static int
known_tree(const struct xnode *n)
{
	const struct xnode	*c;
	size_t			 i;

	for (i = 0; i < n->nattrs; i++)
		if (n->attrs[i].ns == NULL &&
		    (strncmp(n->attrs[i].name, "xml:", 4) == 0 ||
		    strpbrk(n->attrs[i].name, "{}") != NULL))
			return 1;
	for (c = n->child; c != NULL; c = c->next)
		if (c->name != NULL && known_tree(c))
			return 1;
	return 0;
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct buf	 d1, d2, x;
	struct recw		 w1 = { 0 }, w2 = { 0 };
	struct record		 r1, r2;
	const char		*errstr;
	char			*line;

#ifdef SKIP_KNOWN
	if (known_input(data, size))
		return -1;
#endif
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
#ifdef SKIP_KNOWN
	if (known_tree(r1.root)) {
		record_free(&r1);
		return -1;
	}
#endif

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
	record_free(&r1);
	record_free(&r2);
	rec_free(&w1);
	rec_free(&w2);
	return 0;
}
