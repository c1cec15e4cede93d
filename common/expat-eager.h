/*
 * expat-eager.h - make expat report each element as soon as its last
 * byte arrives.
 *
 * Expat 2.6.0 may hold back a small read until more bytes come, to keep
 * huge tokens from being reparsed over and over; an XMPP peer that sent
 * a stanza waits for our answer, so nothing more may come.  Expat before
 * 2.6.0 never holds back and has no such switch (common/config.sh).
 */
#include "config.h"

static inline void
expat_eager(XML_Parser p)
{
#ifdef HAVE_XML_SETREPARSEDEFERRALENABLED
	XML_SetReparseDeferralEnabled(p, XML_FALSE);
#else
	(void)p;
#endif
}
