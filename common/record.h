/*
 * record.h - the line record codec of xmpp-record(5), and the XML writer.
 *
 * A record is one line: a kind, then items, separated by TABs.  Every
 * stage reads and writes records through this file only, so that content
 * can neither split a record nor forge one.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>
#include <stdint.h>

#define NS_STREAM	"http://etherx.jabber.org/streams"
#define NS_CLIENT	"jabber:client"
#define NS_XML		"http://www.w3.org/XML/1998/namespace"
#define NS_XMLNS	"http://www.w3.org/2000/xmlns/"	/* declarations only */
#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_TLS		"urn:ietf:params:xml:ns:xmpp-tls"
#define NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION	"urn:ietf:params:xml:ns:xmpp-session"
#define NS_STANZAS	"urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_STREAMS_ERR	"urn:ietf:params:xml:ns:xmpp-streams"

#define KIND_OPEN	"stream:stream"		/* the stream header */
#define KIND_CLOSE	"/stream:stream"	/* the stream's end */
#define KIND_ERROR	"#error"		/* xmpp-parse gave up */
#define PARSE_TRUNCATED	"stream truncated"	/* its message: input ended */
#define KIND_SKIPPED	"#skipped"		/* a stanza too large, skipped */

// buf.c: a growable byte buffer; on allocation failure it calls err(3).
struct buf {
	char	*p;
	size_t	 len, cap;
};
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addc(struct buf *, char);
void	 buf_adds(struct buf *, const char *);
void	 buf_addu(struct buf *, unsigned long long);	/* in decimal */
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*buf_str(struct buf *);		/* NUL-terminates, returns p */
void	 buf_reset(struct buf *);	/* len = 0, keeps the memory */
void	 buf_free(struct buf *);
/* Writes all n bytes to fd, through EINTR and, on a non-blocking fd,
 * EAGAIN; returns 0, or -1 with errno set. */
int	 write_all(int, const void *, size_t);

// record.c, writing: the calls follow the XML events of one top-level
// element (or stream event); rec_finish() appends the newline.  Adjacent
// character data is merged into one text item.  ns is a namespace URI,
// or NULL for no namespace; names are local names.
struct recw {
	struct buf	 out;		/* the record being written */
	int		 intext;	/* last item is a text item */
	char		**ns;		/* namespace of each open element */
	size_t		 depth, cap;	/* ns[0] is the record's element */
};
/* Begins a record for a top-level element of namespace ns (or a stream
 * event); the xmlns item is written only where the namespace changes. */
void	 rec_begin(struct recw *, const char *kind, const char *ns);
void	 rec_attr(struct recw *, const char *ns, const char *local,
	    const char *value);
void	 rec_start(struct recw *, const char *ns, const char *local);
void	 rec_text(struct recw *, const char *, size_t);
void	 rec_end(struct recw *);			/* closes a child */
void	 rec_finish(struct recw *);	/* appends the newline */
void	 rec_free(struct recw *);
/* Kind of a top-level element: "stream:" local in the streams namespace,
 * else the local name.  Returns a pointer to a static buffer or to local. */
const char *rec_kind(const char *ns, const char *local);
/* Writes a decoded tree back as a record (the kind of rec). */
struct record;
void	 rec_write(struct recw *, const struct record *);

// record.c, reading: a record decoded into a tree.
int	 ns_equal(const char *, const char *);	/* NULL is no namespace */
struct xattr {
	char	*ns;		/* NULL: no namespace */
	char	*name;		/* local name */
	char	*value;
};
struct xnode {
	char		*name;	/* local name; NULL for a text node */
	char		*ns;	/* resolved namespace URI, may be NULL */
	char		*text;	/* text nodes only */
	size_t		 textlen;
	struct xattr	*attrs;
	size_t		 nattrs;
	struct xnode	*child;	/* first child */
	struct xnode	*next;	/* next sibling */
};
struct record {
	char		*kind;	/* field 1 */
	struct xnode	*root;	/* the element; name is its local name */
	struct block	*mem;	/* where the tree and its strings are */
};
/* Decodes one line (without or with its trailing newline).  Returns 0,
 * or -1 with *errstr saying what is wrong; rec is then empty.  The
 * tree's nodes and strings belong to rec: change them in place, or add
 * to them with record_add_attr(), never free or realloc them. */
int	 record_decode(const char *line, size_t len, struct record *rec,
	    const char **errstr);
void	 record_free(struct record *);	/* the whole tree at once */
/* Appends attribute name=value, of no namespace, to n of rec's tree. */
void	 record_add_attr(struct record *, struct xnode *, const char *name,
	    const char *value);
const char	*xnode_attr(const struct xnode *, const char *local);	/* no-namespace attribute */
const char	*xnode_attr_ns(const struct xnode *, const char *ns, const char *local);
struct xnode	*xnode_child(const struct xnode *, const char *ns, const char *local);
/* Concatenated text of the direct text children; "" when none. Caller frees. */
char		*xnode_text(const struct xnode *);

// xml.c: the one escaping function for XML output, and a writer.
void	 xml_escape(struct buf *, const char *, size_t);	/* text and attribute values */
void	 xml_escapes(struct buf *, const char *);
void	 xml_text(struct buf *, const char *, size_t);	/* text only, shorter */
size_t	 utf8_char(const unsigned char *, size_t, uint32_t *);
int	 stream_error_permanent(const char *);	/* record.c */
int	 xml_chars_ok(const char *, size_t);
void	 xml_texts(struct buf *, const char *);
/* Appends the node as XML; parent_ns is the namespace in scope (NULL at top). */
void	 xml_node(struct buf *, const struct xnode *, const char *parent_ns);

#endif
