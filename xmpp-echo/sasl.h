/*
 * sasl.h - the client side of SASL PLAIN (RFC 4616) and SCRAM
 * (RFC 5802, RFC 7677), without channel binding, for xmpp-echo.
 *
 * Messages go in and out as raw SASL text; the base64 of the XMPP
 * framing (RFC 6120 section 6.4.2) is done by b64_encode/b64_decode.
 * Usernames and passwords are used as UTF-8 bytes as given: ASCII
 * passes SASLprep unchanged, non-ASCII is sent unnormalised.
 */
#ifndef SASL_H
#define SASL_H

#include <stddef.h>

/*
 * Iteration counts a server may ask for.  RFC 7677 section 4 wants at
 * least 4096; beyond ten million PBKDF2 rounds a hostile server would
 * only be burning our CPU for seconds.
 */
#define SCRAM_MIN_ITER	4096
#define SCRAM_MAX_ITER	10000000

#define SCRAM_MAXHASH	64		/* room for any digest */
#define SCRAM_NONCE_LEN	24		/* base64 of 18 random bytes */

enum scram_step {
	SCRAM_INIT,		/* nothing sent yet */
	SCRAM_FIRST,		/* client-first sent */
	SCRAM_FINAL,		/* client-final sent, server-final awaited */
	SCRAM_DONE		/* server signature verified */
};

struct scram_hash;

struct scram {
	enum scram_step	 step;
	const struct scram_hash *hash;	/* the mechanism's primitives */
	size_t		 hlen;		/* its output length */
	char		*user;		/* escaped: = -> =3D, , -> =2C */
	char		*pass;
	char		 cnonce[SCRAM_NONCE_LEN + 1];
	char		*authmsg;	/* RFC 5802 AuthMessage */
	unsigned char	 server_sig[SCRAM_MAXHASH];
	char		 err[128];	/* the server's e= value */
};

/* Whether name is a SCRAM mechanism we support ("SCRAM-SHA-1",
 * "SCRAM-SHA-256"); -PLUS variants are never supported. */
int	 scram_supported(const char *name);
/*
 * Sets up an exchange.  nonce is NULL for a random client nonce; a test
 * passes the fixed nonce of an RFC example.  Returns -1 for an
 * unsupported mechanism or a nonce that is empty or has a ','.
 */
int	 scram_init(struct scram *, const char *mech, const char *user,
	    const char *pass, const char *nonce);
/* The client-first message, "n,,n=USER,r=NONCE".  Caller frees. */
char	*scram_client_first(struct scram *);
/*
 * Takes the server-first message and returns the client-final message
 * in *out (caller frees, after explicit_bzero).  Returns 0, or -1 with
 * *errstr saying why the server's message is refused.
 */
int	 scram_client_final(struct scram *, const char *sfirst, size_t len,
	    char **out, const char **errstr);
/*
 * Checks the server-final message, "v=SIGNATURE" (or "e=ERROR").
 * Returns 0 when the server proved it knows our password, else -1 with
 * *errstr; for e=, *errstr is the server's error, kept in the struct.
 */
int	 scram_verify(struct scram *, const char *sfinal, size_t len,
	    const char **errstr);
/* Wipes the password and every derived key, frees. */
void	 scram_free(struct scram *);
/*
 * Hi(pass, salt, iter) of RFC 5802 section 2.2, which is PBKDF2 with
 * HMAC of the mechanism's hash (RFC 6070 has SHA-1 vectors); outlen
 * bytes into out.  Returns -1 for an unknown mechanism or iter 0.
 */
int	 scram_hi(const char *mech, const char *pass,
	    const unsigned char *salt, size_t saltlen, unsigned iter,
	    unsigned char *out, size_t outlen);

/* The PLAIN message: empty authzid, NUL, user, NUL, pass.  Caller
 * wipes and frees; *len gets its length. */
char	*sasl_plain(const char *user, const char *pass, size_t *len);

/* Base64 (RFC 4648, padded).  Caller frees.  b64_decode returns -1 for
 * anything but padded base64 without spaces; the result is also
 * NUL-terminated. */
char	*b64_encode(const void *, size_t);
int	 b64_decode(const char *, size_t, unsigned char **, size_t *);

#endif
