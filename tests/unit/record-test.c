/* record-test.c - unit tests of the record codec and the XML escaping (TAP) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

static int	 ntest, nfail;

static void
ok(int cond, const char *what)
{
	ntest++;
	if (!cond)
		nfail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntest, what);
}

static void
is(const char *got, const char *want, const char *what)
{
	ok(got != NULL && strcmp(got, want) == 0, what);
	if (got == NULL || strcmp(got, want) != 0)
		printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)",
		    want);
}

/* Decodes line, writes it back as a record and as XML. */
static int
roundtrip(const char *line, struct buf *xml, struct recw *w)
{
	struct record	 rec;
	const char	*errstr;

	if (record_decode(line, strlen(line), &rec, &errstr) == -1) {
		printf("# decode: %s\n", errstr);
		return -1;
	}
	rec_write(w, &rec);
	buf_str(&w->out);
	buf_reset(xml);
	xml_node(xml, rec.root, NULL);
	buf_str(xml);
	record_free(&rec);
	return 0;
}

static void
test_write(void)
{
	struct recw	 w = { 0 };

	rec_begin(&w, rec_kind(NS_CLIENT, "message"), NS_CLIENT);
	rec_attr(&w, NULL, "from", "a@x/r");
	rec_attr(&w, NULL, "type", "chat");
	rec_attr(&w, NS_XML, "lang", "en");
	rec_start(&w, NS_CLIENT, "body");
	rec_text(&w, "hi\t", 3);
	rec_text(&w, "there\n\\\x01", 8);
	rec_end(&w);
	rec_start(&w, "urn:x", "x");
	rec_start(&w, "urn:x", "y");
	rec_end(&w);
	rec_start(&w, NS_CLIENT, "z");
	rec_end(&w);
	rec_end(&w);
	rec_finish(&w);
	is(buf_str(&w.out), "message\txmlns=jabber:client\t@from=a@x/r\t"
	    "@type=chat\t@xml:lang=en\t(body\t-hi\\tthere\\n\\\\\\x01\t)\t"
	    "(x\txmlns=urn:x\t(y\t)\t(z\txmlns=jabber:client\t)\t)\n",
	    "writer escapes content and writes xmlns only where it changes");

	rec_begin(&w, rec_kind(NS_STREAM, "features"), NS_STREAM);
	rec_attr(&w, "urn:a}b=c", "n", "v");
	rec_finish(&w);
	is(buf_str(&w.out), "stream:features\txmlns=http://etherx.jabber.org/"
	    "streams\t@{urn:a\\x7db\\x3dc}n=v\n",
	    "stream namespace kind; } and = escaped in attribute namespaces");
	rec_free(&w);
}

static void
test_forgery(void)
{
	struct recw	 w = { 0 };
	const char	*evil = "x\n#error\t@offset=0\n/stream:stream\n";
	struct record	 rec;
	const char	*errstr;
	char		*text;
	size_t		 i, lines = 0;

	rec_begin(&w, "message", NS_CLIENT);
	rec_start(&w, NS_CLIENT, "body");
	rec_text(&w, evil, strlen(evil));
	rec_end(&w);
	rec_finish(&w);
	for (i = 0; i < w.out.len; i++)
		lines += w.out.p[i] == '\n';
	ok(lines == 1 && w.out.p[w.out.len - 1] == '\n',
	    "content with newlines and tabs stays one record");
	ok(record_decode(w.out.p, w.out.len, &rec, &errstr) == 0,
	    "the record decodes");
	text = xnode_text(xnode_child(rec.root, NS_CLIENT, "body"));
	is(text, evil, "the body comes back byte for byte");
	free(text);
	record_free(&rec);
	rec_free(&w);
}

static void
test_read(void)
{
	const char	*line = "message\txmlns=jabber:client\t@from=a@x/r\t"
	    "@to=b@x\t@type=chat\t@id=1\t(body\t-hi\\tthere\t)\t(thread\t"
	    "@parent=p\t-t1\t)\n";
	struct record	 rec;
	const char	*errstr;
	struct xnode	*body;
	char		*text;

	ok(record_decode(line, strlen(line), &rec, &errstr) == 0,
	    "decode a message");
	is(rec.kind, "message", "kind");
	is(rec.root->name, "message", "root name");
	is(rec.root->ns, NS_CLIENT, "root namespace");
	is(xnode_attr(rec.root, "from"), "a@x/r", "from attribute");
	ok(xnode_attr(rec.root, "nope") == NULL, "missing attribute is NULL");
	body = xnode_child(rec.root, NS_CLIENT, "body");
	ok(body != NULL, "body child found in inherited namespace");
	text = xnode_text(body);
	is(text, "hi\tthere", "body text unescaped");
	free(text);
	is(xnode_attr(xnode_child(rec.root, NS_CLIENT, "thread"), "parent"),
	    "p", "child attribute");
	ok(xnode_child(rec.root, "urn:other", "body") == NULL,
	    "a child is matched by namespace too");
	record_free(&rec);

	line = "stream:stream\txmlns=http://etherx.jabber.org/streams\t"
	    "@from=localhost\t@xml:lang=en";
	ok(record_decode(line, strlen(line), &rec, &errstr) == 0 &&
	    strcmp(rec.root->name, "stream") == 0 &&
	    strcmp(xnode_attr_ns(rec.root, NS_XML, "lang"), "en") == 0,
	    "stream header: root name stream, xml:lang");
	record_free(&rec);
}

static void
test_roundtrip(void)
{
	static const char *lines[] = {
		"message\txmlns=jabber:client\t@from=a@x/r\t(body\t"
		    "-</body></message><message to='x'>]]>&\"\\t\\n\\r\t)\n",
		"iq\txmlns=jabber:client\t@type=result\t@id=b1\t(bind\t"
		    "xmlns=urn:ietf:params:xml:ns:xmpp-bind\t(jid\t-b@x/r\t)\t)"
		    "\t(q\txmlns=\t)\n",
		"x\txmlns=urn:a\t@{urn:b\\x7d}n=1\t@xml:lang=de\t"
		    "-mixed \t(b\t-bold\t)\t- text\n",
		"/stream:stream\n",
	};
	struct recw	 w = { 0 };
	struct buf	 xml = { 0 };
	size_t		 i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		ok(roundtrip(lines[i], &xml, &w) == 0, "decode for round trip");
		is(w.out.p, lines[i], "record -> tree -> same record");
	}
	roundtrip(lines[0], &xml, &w);
	is(xml.p, "<message xmlns='jabber:client' from='a@x/r'><body>"
	    "&lt;/body&gt;&lt;/message&gt;&lt;message to='x'&gt;"
	    "]]&gt;&amp;\"\t\n&#13;</body></message>",
	    "XML text from a record: markup, ]]> and CR escaped, quotes not");
	roundtrip(lines[2], &xml, &w);
	is(xml.p, "<x xmlns='urn:a' xmlns:a0='urn:b}' a0:n='1' xml:lang='de'>"
	    "mixed <b>bold</b> text</x>", "namespaced attributes get a prefix");
	roundtrip(lines[1], &xml, &w);
	is(xml.p, "<iq xmlns='jabber:client' type='result' id='b1'><bind "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>b@x/r</jid></bind>"
	    "<q xmlns=''/></iq>", "namespace changes and the empty namespace");
	buf_reset(&xml);
	xml_escapes(&xml, "<a href='x'>\"&\t\n\r]]>");
	is(buf_str(&xml), "&lt;a href=&apos;x&apos;&gt;&quot;&amp;&#9;&#10;"
	    "&#13;]]&gt;", "attribute values: quotes and white space escaped too");
	buf_reset(&xml);
	xml_texts(&xml, "\"'\"'\n");
	is(buf_str(&xml), "\"'\"'\n", "text: quotes and newlines stay as they are");
	rec_free(&w);
	buf_free(&xml);
}

static void
test_chars(void)
{
	static const struct {
		const char	*s;
		int		 ok;
		const char	*what;
	} v[] = {
		{ "plain \t\n\r text", 1, "ASCII with TAB, LF, CR" },
		{ "\xc3\xa9\xe2\x98\xba\xf0\x9f\x98\x80", 1,
		    "two-, three- and four-byte characters" },
		{ "a\x01b", 0, "a C0 control" },
		{ "\xc0\x80", 0, "an overlong NUL" },
		{ "\xe0\x80\xaf", 0, "an overlong three-byte form" },
		{ "\xed\xa0\x80", 0, "a surrogate" },
		{ "\xef\xbf\xbe", 0, "U+FFFE" },
		{ "\xf4\x90\x80\x80", 0, "past U+10FFFF" },
		{ "\xe2\x98", 0, "a truncated sequence" },
		{ "\x80", 0, "a lone continuation byte" },
	};
	uint32_t	 c;
	size_t		 i;
	char		 what[80];

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		snprintf(what, sizeof what, "XML chars: %s %s", v[i].what,
		    v[i].ok ? "taken" : "refused");
		ok(xml_chars_ok(v[i].s, strlen(v[i].s)) == v[i].ok, what);
	}
	ok(utf8_char((const unsigned char *)"\xf0\x9f\x98\x80", 4, &c) == 4 &&
	    c == 0x1f600, "utf8_char: U+1F600, four bytes");
}

static void
test_edges(void)
{
	struct recw	 w = { 0 };
	struct buf	 xml = { 0 };
	struct record	 rec;
	const char	*errstr, *line;

	rec_begin(&w, "x", NULL);
	rec_attr(&w, NULL, "xml:lang", "v");
	rec_attr(&w, NULL, "{a}b", "v");
	rec_finish(&w);
	is(buf_str(&w.out), "x\t@xml\\x3alang=v\t@\\x7ba}b=v\n",
	    "attribute names cannot pose as xml: or {URI} names");
	ok(record_decode(w.out.p, w.out.len, &rec, &errstr) == 0 &&
	    rec.root->attrs[0].ns == NULL &&
	    strcmp(rec.root->attrs[0].name, "xml:lang") == 0 &&
	    rec.root->attrs[1].ns == NULL, "and they read back without namespace");
	record_free(&rec);

	line = "message\t-a\\x00b";
	ok(record_decode(line, strlen(line), &rec, &errstr) == 0 &&
	    rec.root->child->textlen == 3, "text may hold a NUL, kept by length");
	record_free(&rec);

	line = "x\txmlns=urn:a\t(y\txmlns=" NS_XML "\t(z\txmlns=urn:a\t)\t)";
	ok(roundtrip(line, &xml, &w) == 0, "decode an element of the XML namespace");
	is(xml.p, "<x xmlns='urn:a'><xml:y><z/></xml:y></x>",
	    "it is written with the xml prefix, never as a default namespace");
	rec_free(&w);
	buf_free(&xml);
}

static void
test_reject(void)
{
	static const char *bad[] = {
		"", "\tx", "message\tzz", "message\t)", "message\t(a",
		"message\t-a\\q", "message\t-a\\x4", "message\t-a\\",
		"message\t-a\rb", "message\t-\x7f", "message\t(a\t-t\t@b=c\t)",
		"message\t@x=1\txmlns=urn:a", "message\txmlns=a\txmlns=b",
		"message\t@=v", "message\t@novalue", "message\t@{urn:x=v",
		"message\t(", "message\t", "\\x00", "message\t(\\x00",
		"message\t@a=\\x00", "message\txmlns=\\x00",
		"message\txmlns=" NS_XMLNS, "message\t@{" NS_XMLNS "}a=b",
		"message\t@{}a=b", "message\t@xmlns=urn:evil",
	};
	struct record	 rec;
	struct buf	 deep = { 0 };
	const char	*errstr;
	size_t		 i;
	int		 rejected = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (record_decode(bad[i], strlen(bad[i]), &rec, &errstr) == -1)
			rejected++;
		else
			printf("# accepted: '%s'\n", bad[i]);
	}
	ok(rejected == (int)(sizeof(bad) / sizeof(bad[0])),
	    "malformed records are rejected");
	buf_adds(&deep, "x");
	for (i = 0; i < 2000; i++)
		buf_adds(&deep, "\t(a");
	for (i = 0; i < 2000; i++)
		buf_adds(&deep, "\t)");
	ok(record_decode(deep.p, deep.len, &rec, &errstr) == -1,
	    "too deep a record is rejected");
	buf_free(&deep);
}

/* Text that must be escaped at any place in it comes back the same:
 * the escaping goes 16 bytes at a time, then byte by byte. */
static void
test_escape_places(void)
{
	static const char special[] = { '\t', '\n', '\\', '\x01', '\x7f' };
	char		 text[64];
	struct recw	 w = { 0 };
	struct record	 rec;
	const char	*errstr;
	char		*got;
	size_t		 len, at, k;
	int		 same = 0, tries = 0;

	for (len = 1; len < sizeof(text); len++)
		for (at = 0; at < len; at++)
			for (k = 0; k < sizeof(special); k++) {
				memset(text, 'a', len);
				text[at] = special[k];
				rec_begin(&w, "message", NS_CLIENT);
				rec_start(&w, NS_CLIENT, "body");
				rec_text(&w, text, len);
				rec_end(&w);
				rec_finish(&w);
				tries++;
				if (record_decode(w.out.p, w.out.len, &rec,
				    &errstr) == -1)
					continue;
				got = xnode_text(xnode_child(rec.root,
				    NS_CLIENT, "body"));
				if (strlen(got) == len &&
				    memcmp(got, text, len) == 0)
					same++;
				free(got);
				record_free(&rec);
			}
	ok(same == tries, "escaped bytes at every place of a text come back");
	rec_free(&w);
}

static void
test_addu(void)
{
	struct buf	 b = { 0 };

	buf_addu(&b, 0);
	buf_addc(&b, ' ');
	buf_addu(&b, 7);
	buf_addc(&b, ' ');
	buf_addu(&b, 1234567890);
	buf_addc(&b, ' ');
	buf_addu(&b, 18446744073709551615ULL);
	is(buf_str(&b), "0 7 1234567890 18446744073709551615",
	    "buf_addu writes numbers in decimal");
	buf_free(&b);
}

/* A raw control byte is refused wherever it is in the line: the check
 * goes 16 bytes at a time, then byte by byte. */
static void
test_raw_control(void)
{
	static const char ctl[] = { '\x01', '\n', '\r', '\x1f', '\x7f' };
	char		 line[64];
	struct record	 rec;
	const char	*errstr;
	size_t		 len, at, k;
	int		 refused = 0, tries = 0, clean = 1;

	for (len = 10; len < sizeof(line); len++) {
		memset(line, 'a', len);
		memcpy(line, "message\t-", 9);
		if (record_decode(line, len, &rec, &errstr) == -1)
			clean = 0;
		else
			record_free(&rec);
		for (at = 0; at < len; at++)
			for (k = 0; k < sizeof(ctl); k++) {
				/* A last newline ends the line. */
				if (ctl[k] == '\n' && at == len - 1)
					continue;
				memset(line, 'a', len);
				memcpy(line, "message\t-", 9);
				line[at] = ctl[k];
				tries++;
				errstr = "accepted";
				if (record_decode(line, len, &rec, &errstr) ==
				    0)
					record_free(&rec);
				if (strcmp(errstr, "raw control byte in record")
				    == 0)
					refused++;
				else
					printf("# len %zu, byte %zu: %s\n",
					    len, at, errstr);
			}
	}
	ok(clean, "records of 10 to 63 bytes decode");
	ok(refused == tries,
	    "a raw control byte is refused at every place in them");
}

int
main(void)
{
	test_write();
	test_forgery();
	test_read();
	test_roundtrip();
	test_edges();
	test_chars();
	test_reject();
	test_raw_control();
	test_escape_places();
	test_addu();
	printf("1..%d\n", ntest);
	return nfail != 0;
}
