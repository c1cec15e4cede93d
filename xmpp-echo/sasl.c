/*
 * sasl.c - SASL PLAIN and SCRAM-SHA-1/-256/-512 client messages.
 *
 * No channel binding: TLS lives in stunnel, so the GS2 header is "n,,"
 * (RFC 5802 section 6: the client does not support channel binding)
 * and -PLUS mechanisms are never chosen.  Every primitive comes from
 * Nettle: hashes, HMAC, PBKDF2, base64 and the constant-time compare.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/nettle-meta.h>
#include <nettle/pbkdf2.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "record.h"
#include "sasl.h"

#define GS2_HEADER	"n,,"
#define GS2_HEADER_B64	"biws"		/* base64 of "n,," */

struct scram_hash {
	const char		*mech;
	const struct nettle_hash *hash;
	void			(*pbkdf2)(size_t, const uint8_t *, unsigned,
				    size_t, const uint8_t *, size_t, uint8_t *);
};

static const struct scram_hash scram_hashes[] = {
	{ "SCRAM-SHA-1", &nettle_sha1, pbkdf2_hmac_sha1 },
	{ "SCRAM-SHA-256", &nettle_sha256, pbkdf2_hmac_sha256 },
	{ "SCRAM-SHA-512", &nettle_sha512, pbkdf2_hmac_sha512 },
};

/* Room for the state of any hash above. */
union hash_ctx {
	struct sha1_ctx		 sha1;
	struct sha256_ctx	 sha256;
	struct sha512_ctx	 sha512;
};

static const struct scram_hash *
scram_hash(const char *mech)
{
	size_t i;

	for (i = 0; i < sizeof scram_hashes / sizeof scram_hashes[0]; i++)
		if (strcmp(mech, scram_hashes[i].mech) == 0)
			return &scram_hashes[i];
	return NULL;
}

int
scram_supported(const char *name)
{
	return scram_hash(name) != NULL;
}

/* RFC 5802 section 5.1: '=' and ',' in a username are escaped. */
static char *
escape_user(const char *user)
{
	const char *p;
	char *s, *q;

	if ((s = malloc(3 * strlen(user) + 1)) == NULL)
		return NULL;
	for (p = user, q = s; *p != '\0'; p++) {
		if (*p == '=') {
			memcpy(q, "=3D", 3);
			q += 3;
		} else if (*p == ',') {
			memcpy(q, "=2C", 3);
			q += 3;
		} else
			*q++ = *p;
	}
	*q = '\0';
	return s;
}

/* printable = %x21-2B / %x2D-7E, the nonce alphabet of RFC 5802. */
static int
printable(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e || *s == ',')
			return 0;
	return 1;
}

static int
random_nonce(char *out, size_t outsz)
{
	unsigned char raw[SCRAM_NONCE_LEN / 4 * 3];
	char *s;

	arc4random_buf(raw, sizeof raw);
	s = b64_encode(raw, sizeof raw);
	if (s == NULL || strlcpy(out, s, outsz) >= outsz) {
		free(s);
		return -1;
	}
	free(s);
	return 0;
}

int
scram_init(struct scram *s, const char *mech, const char *user,
    const char *pass, const char *nonce)
{
	const struct scram_hash *h;

	memset(s, 0, sizeof *s);
	if ((h = scram_hash(mech)) == NULL)
		return -1;
	s->hash = h;
	s->hlen = h->hash->digest_size;
	if (nonce == NULL) {
		if (random_nonce(s->cnonce, sizeof s->cnonce) == -1)
			return -1;
	} else if (!printable(nonce) ||
	    strlcpy(s->cnonce, nonce, sizeof s->cnonce) >= sizeof s->cnonce)
		return -1;
	s->user = escape_user(user);
	s->pass = strdup(pass);
	if (s->user == NULL || s->pass == NULL) {
		scram_free(s);
		return -1;
	}
	return 0;
}

char *
scram_client_first(struct scram *s)
{
	struct buf b = { 0 };

	buf_printf(&b, GS2_HEADER "n=%s,r=%s", s->user, s->cnonce);
	s->step = SCRAM_FIRST;
	return buf_str(&b);
}

struct sfirst {
	char		*nonce;
	unsigned char	*salt;
	size_t		 saltlen;
	int		 iter;
};

/*
 * server-first-message = [reserved-mext ","] nonce "," salt ","
 *     iteration-count ["," extensions]; an m= (mandatory extension) is
 * something we cannot honour, so it fails like any other surprise.
 */
static int
parse_sfirst(char *msg, struct sfirst *sf, const char **errstr)
{
	char *r, *salt, *iter;
	const char *e;
	long long n;

	r = strsep(&msg, ",");
	salt = strsep(&msg, ",");
	iter = strsep(&msg, ",");
	if (strncmp(r, "m=", 2) == 0) {
		*errstr = "server demands an unknown SCRAM extension";
		return -1;
	}
	if (salt == NULL || iter == NULL || strncmp(r, "r=", 2) != 0 ||
	    strncmp(salt, "s=", 2) != 0 || strncmp(iter, "i=", 2) != 0) {
		*errstr = "malformed server-first message";
		return -1;
	}
	sf->nonce = r + 2;
	if (!printable(sf->nonce)) {
		*errstr = "bad characters in the server nonce";
		return -1;
	}
	if (b64_decode(salt + 2, strlen(salt + 2), &sf->salt,
	    &sf->saltlen) == -1 || sf->saltlen == 0) {
		*errstr = "bad salt in the server-first message";
		return -1;
	}
	/* Digits only: strtonum would also take blanks and a sign. */
	if (iter[2] == '\0' ||
	    strspn(iter + 2, "0123456789") != strlen(iter + 2)) {
		*errstr = "bad iteration count";
		return -1;
	}
	n = strtonum(iter + 2, SCRAM_MIN_ITER, SCRAM_MAX_ITER, &e);
	if (e != NULL) {
		*errstr = strcmp(e, "too small") == 0 ?
		    "iteration count too small" : "bad iteration count";
		return -1;
	}
	sf->iter = (int)n;
	return 0;
}

/* HMAC(key, d) with the mechanism's hash; the key is hlen bytes. */
static void
hmac(const struct scram *s, const unsigned char *key, const void *d,
    size_t n, unsigned char *out)
{
	const struct nettle_hash *h = s->hash->hash;
	union hash_ctx outer, inner, state;

	hmac_set_key(&outer, &inner, &state, h, s->hlen, key);
	hmac_update(&state, h, n, d);
	hmac_digest(&outer, &inner, &state, h, s->hlen, out);
	explicit_bzero(&outer, sizeof outer);
	explicit_bzero(&inner, sizeof inner);
	explicit_bzero(&state, sizeof state);
}

static void
digest(const struct scram *s, const unsigned char *d, size_t n,
    unsigned char *out)
{
	const struct nettle_hash *h = s->hash->hash;
	union hash_ctx ctx;

	h->init(&ctx);
	h->update(&ctx, n, d);
	h->digest(&ctx, s->hlen, out);
	explicit_bzero(&ctx, sizeof ctx);
}

int
scram_hi(const char *mech, const char *pass, const unsigned char *salt,
    size_t saltlen, unsigned iter, unsigned char *out, size_t outlen)
{
	const struct scram_hash *h;

	if ((h = scram_hash(mech)) == NULL || iter == 0)
		return -1;
	h->pbkdf2(strlen(pass), (const uint8_t *)pass, iter, saltlen, salt,
	    outlen, out);
	return 0;
}

/*
 * RFC 5802 section 3: SaltedPassword, ClientKey, StoredKey,
 * ClientSignature, the proof, and the ServerSignature to expect.
 */
static int
compute_proof(struct scram *s, const struct sfirst *sf, unsigned char *proof)
{
	unsigned char salted[SCRAM_MAXHASH], ckey[SCRAM_MAXHASH];
	unsigned char stored[SCRAM_MAXHASH], csig[SCRAM_MAXHASH];
	unsigned char skey[SCRAM_MAXHASH];
	size_t alen = strlen(s->authmsg), i;
	int rv = -1;

	if (scram_hi(s->hash->mech, s->pass, sf->salt, sf->saltlen,
	    (unsigned)sf->iter, salted, s->hlen) == -1)
		goto out;
	hmac(s, salted, "Client Key", 10, ckey);
	digest(s, ckey, s->hlen, stored);
	hmac(s, stored, s->authmsg, alen, csig);
	hmac(s, salted, "Server Key", 10, skey);
	hmac(s, skey, s->authmsg, alen, s->server_sig);
	for (i = 0; i < s->hlen; i++)
		proof[i] = ckey[i] ^ csig[i];
	rv = 0;
out:
	explicit_bzero(salted, sizeof salted);
	explicit_bzero(ckey, sizeof ckey);
	explicit_bzero(stored, sizeof stored);
	explicit_bzero(csig, sizeof csig);
	explicit_bzero(skey, sizeof skey);
	return rv;
}

int
scram_client_final(struct scram *s, const char *sfirst, size_t len,
    char **out, const char **errstr)
{
	struct sfirst sf = { 0 };
	struct buf fin = { 0 }, am = { 0 };
	unsigned char proof[SCRAM_MAXHASH];
	char *msg = NULL, *p64 = NULL;
	int rv = -1;

	*out = NULL;
	if (s->step != SCRAM_FIRST) {
		*errstr = "server-first message out of turn";
		goto out;
	}
	if (memchr(sfirst, '\0', len) != NULL ||
	    (msg = strndup(sfirst, len)) == NULL) {
		*errstr = "malformed server-first message";
		goto out;
	}
	if (parse_sfirst(msg, &sf, errstr) == -1)
		goto out;
	/* The server's nonce must extend ours, or this is a replay. */
	if (strncmp(sf.nonce, s->cnonce, strlen(s->cnonce)) != 0 ||
	    strlen(sf.nonce) == strlen(s->cnonce)) {
		*errstr = "server nonce does not extend the client nonce";
		goto out;
	}
	buf_printf(&fin, "c=" GS2_HEADER_B64 ",r=%s", sf.nonce);
	buf_printf(&am, "n=%s,r=%s,", s->user, s->cnonce);
	buf_add(&am, sfirst, len);
	buf_printf(&am, ",%s", buf_str(&fin));
	free(s->authmsg);
	s->authmsg = buf_str(&am);
	if (compute_proof(s, &sf, proof) == -1 ||
	    (p64 = b64_encode(proof, s->hlen)) == NULL) {
		*errstr = "SCRAM computation failed";
		goto out;
	}
	buf_printf(&fin, ",p=%s", p64);
	*out = buf_str(&fin);
	fin.p = NULL;
	s->step = SCRAM_FINAL;
	rv = 0;
out:
	explicit_bzero(proof, sizeof proof);
	if (p64 != NULL)
		explicit_bzero(p64, strlen(p64));
	free(p64);
	buf_free(&fin);
	free(msg);
	free(sf.salt);
	/* The password has done its work: only the expected signature stays. */
	if (s->pass != NULL) {
		explicit_bzero(s->pass, strlen(s->pass));
		free(s->pass);
		s->pass = NULL;
	}
	return rv;
}

/* Keeps the server's e= value, printable and bounded, for messages. */
static void
keep_error(struct scram *s, const char *e, size_t len)
{
	static const char prefix[] = "server error: ";
	size_t i, n = sizeof prefix - 1;

	memcpy(s->err, prefix, n);
	for (i = 0; i < len && n < sizeof s->err - 1; i++)
		s->err[n++] = e[i] >= 0x20 && e[i] < 0x7f ? e[i] : '?';
	s->err[n] = '\0';
}

/* server-final-message = (server-error / verifier) ["," extensions] */
int
scram_verify(struct scram *s, const char *sfinal, size_t len,
    const char **errstr)
{
	unsigned char *sig = NULL;
	const char *end;
	size_t vlen, siglen;
	int rv = -1;

	if (s->step != SCRAM_FINAL) {
		*errstr = "server-final message out of turn";
		return -1;
	}
	if (memchr(sfinal, '\0', len) != NULL) {
		*errstr = "malformed server-final message";
		return -1;
	}
	if ((end = memchr(sfinal, ',', len)) == NULL)
		end = sfinal + len;
	vlen = end - sfinal;
	if (vlen >= 2 && strncmp(sfinal, "e=", 2) == 0) {
		keep_error(s, sfinal + 2, vlen - 2);
		*errstr = s->err;
		return -1;
	}
	if (vlen < 2 || strncmp(sfinal, "v=", 2) != 0 ||
	    b64_decode(sfinal + 2, vlen - 2, &sig, &siglen) == -1) {
		*errstr = "malformed server-final message";
		goto out;
	}
	if (siglen != s->hlen ||
	    !memeql_sec(sig, s->server_sig, s->hlen)) {
		*errstr = "wrong server signature";
		goto out;
	}
	s->step = SCRAM_DONE;
	rv = 0;
out:
	free(sig);
	return rv;
}

void
scram_free(struct scram *s)
{
	if (s->pass != NULL)
		explicit_bzero(s->pass, strlen(s->pass));
	free(s->pass);
	free(s->user);
	if (s->authmsg != NULL)
		explicit_bzero(s->authmsg, strlen(s->authmsg));
	free(s->authmsg);
	explicit_bzero(s, sizeof *s);
}

char *
sasl_plain(const char *user, const char *pass, size_t *len)
{
	size_t ul = strlen(user), pl = strlen(pass);
	char *m;

	if ((m = malloc(ul + pl + 2)) == NULL)
		return NULL;
	m[0] = '\0';
	memcpy(m + 1, user, ul);
	m[ul + 1] = '\0';
	memcpy(m + ul + 2, pass, pl);
	*len = ul + pl + 2;
	return m;
}

char *
b64_encode(const void *in, size_t len)
{
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	if ((out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1)) == NULL)
		return NULL;
	base64_encode_raw(out, len, in);
	out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
	return out;
}

static int
b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Nettle's decoder skips blanks and takes unpadded input, so the input
 * is checked here first: padded base64 of the RFC 4648 alphabet only.
 */
int
b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	struct base64_decode_ctx ctx;
	size_t i, pad = 0, n;

	*out = NULL;
	if (len % 4 != 0 || len > SIZE_MAX - 4)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	for (i = 0; i < len - pad; i++)
		if (!b64_char(in[i]))
			return -1;
	if ((*out = malloc(BASE64_DECODE_LENGTH(len) + 1)) == NULL)
		return -1;
	base64_decode_init(&ctx);
	n = BASE64_DECODE_LENGTH(len);
	if (!base64_decode_update(&ctx, &n, *out, len, in) ||
	    !base64_decode_final(&ctx)) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*outlen = n;
	(*out)[n] = '\0';
	return 0;
}
