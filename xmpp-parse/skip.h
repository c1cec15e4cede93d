/*
 * skip.h - the rest of a stanza too large to keep: scanned for
 * well-formedness, never held.
 *
 * Expat holds a start tag whole before it reports it, and a start tag
 * can be any size (RFC 6120 servers re-serialize namespaced attributes
 * with a declaration each).  This lexer takes over from expat in the
 * middle of a stanza, or at its first '<', and follows it byte by byte
 * to its end in memory bounded by the nesting limit.
 */
#ifndef SKIP_H
#define SKIP_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define SKIP_NAME_MAX	1023	/* the element name of a skipped stanza */
#define SKIP_VALUE_MAX	3071	/* a value kept: the longest JID (RFC 7622) */

enum skip_end {
	SKIP_MORE,	/* the stanza goes on */
	SKIP_DONE,	/* it ended: at is just past its last '>' */
	SKIP_BAD,	/* not well-formed: why, at the offset at */
	SKIP_OTHER	/* its start tag is of no stanza (message, presence, iq) */
};

struct skip {
	int		 lex, ret;	/* lexer state; where a reference returns */
	int		 depth, maxdepth;
	uint64_t	*hash;		/* [d]: qname of the element open at depth d */
	uint64_t	 h;		/* of the name being read */
	long long	 tag;		/* offset of the current '<' */
	uint32_t	 cp, min;	/* the UTF-8 sequence being read */
	int		 need;
	long long	 lead;		/* its first byte's offset */
	int		 quote, rsqb, cr, k;
	int		 colons, colon;	/* in the name being read; its last */
	long long	 amp;		/* offset of the reference's '&' */
	uint32_t	 ref;		/* character reference */
	char		 ent[8];	/* entity reference */
	size_t		 entlen;
	int		 top;		/* in the top-level start tag */
	int		 keep;		/* the value being read is kept */
	struct buf	 qname, aname, value;
	struct buf	 sub;		/* that start tag, the kept part, as XML */
	const char	*why;
	char		 msg[64];	/* why, when it has a number */
	long long	 at;
};

/* Starts at depth (0: at the '<' of a top-level start tag) with the
 * hashes of the elements open, inside a CDATA section or not. */
void		skip_begin(struct skip *, int depth, int cdata, uint64_t *hash,
		    int maxdepth);
/* Scans n bytes at input offset off; *used says how many were taken. */
enum skip_end	skip_scan(struct skip *, const char *, size_t, long long off,
		    size_t *used);
/* The hash of the qname of the tag that begins at s (its '<'). */
uint64_t	skip_hash_tag(const char *s, size_t n);
void		skip_free(struct skip *);

#endif
