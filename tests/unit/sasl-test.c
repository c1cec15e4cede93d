/*
 * sasl-test - the SCRAM client against the examples of RFC 5802 and
 * RFC 7677, its Hi() against the PBKDF2 vectors of RFC 6070 and
 * RFC 7914, and against servers that lie; prints TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../xmpp-echo/sasl.h"

struct vector {
	const char	*mech;
	const char	*cnonce;
	const char	*cfirst;
	const char	*sfirst;
	const char	*cfinal;
	const char	*sfinal;
};

/* RFC 5802 section 5 and RFC 7677 section 3: user "user", "pencil". */
static const struct vector rfc5802 = {
	"SCRAM-SHA-1",
	"fyko+d2lbbFgONRv9qkxdawL",
	"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,"
	    "i=4096",
	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	    "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
};
static const struct vector rfc7677 = {
	"SCRAM-SHA-256",
	"rOprNGfwEbeRWgbNEkqO",
	"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
};

static int	 tests, failed;
static char	 lasterr[128];

static void
ok(int cond, const char *what)
{
	tests++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests, what);
}

static int
streq(const char *got, const char *want)
{
	if (got != NULL && strcmp(got, want) == 0)
		return 1;
	printf("# got:  %s\n# want: %s\n", got ? got : "(null)", want);
	return 0;
}

/* Runs a whole exchange; the server's messages may be swapped for lies. */
static int
exchange(const struct vector *v, const char *sfirst, const char *sfinal,
    const char **errstr, int check)
{
	struct scram s;
	char *first, *final = NULL;
	int rv = -1;

	*errstr = NULL;
	if (scram_init(&s, v->mech, "user", "pencil", v->cnonce) == -1) {
		*errstr = "scram_init failed";
		return -1;
	}
	first = scram_client_first(&s);
	if (check)
		ok(streq(first, v->cfirst), "client-first message");
	if (scram_client_final(&s, sfirst, strlen(sfirst), &final,
	    errstr) == -1)
		goto out;
	if (check)
		ok(streq(final, v->cfinal), "client-final message and proof");
	rv = scram_verify(&s, sfinal, strlen(sfinal), errstr);
out:
	/* The error may live in s, which scram_free wipes. */
	if (*errstr != NULL) {
		strlcpy(lasterr, *errstr, sizeof lasterr);
		*errstr = lasterr;
	}
	free(first);
	free(final);
	scram_free(&s);
	return rv;
}

static void
rfc_example(const struct vector *v, const char *name)
{
	const char *errstr;
	int rv;

	printf("# %s\n", name);
	rv = exchange(v, v->sfirst, v->sfinal, &errstr, 1);
	if (rv == -1)
		printf("# %s\n", errstr);
	ok(rv == 0, "server signature verified");
}

static void
refused(const struct vector *v, const char *sfirst, const char *sfinal,
    const char *what)
{
	const char *errstr;
	int rv;

	rv = exchange(v, sfirst, sfinal, &errstr, 0);
	if (errstr != NULL)
		printf("# %s\n", errstr);
	ok(rv == -1, what);
}

static void
b64_tests(void)
{
	unsigned char *d;
	size_t n;
	char *e;

	ok(b64_decode("", 0, &d, &n) == 0 && n == 0, "base64 of nothing");
	free(d);
	ok(b64_decode("YQ==", 4, &d, &n) == 0 && n == 1 && d[0] == 'a',
	    "base64 with two padding bytes");
	free(d);
	ok(b64_decode("YWI=", 4, &d, &n) == 0 && n == 2, "one padding byte");
	free(d);
	ok(b64_decode("YW I=", 5, &d, &n) == -1, "base64 with a blank refused");
	ok(b64_decode("Y=I=", 4, &d, &n) == -1, "padding inside refused");
	e = b64_encode("\0user\0pencil", 12);
	ok(streq(e, "AHVzZXIAcGVuY2ls"), "PLAIN message encoded");
	free(e);
}

struct hi_vector {
	const char	*mech, *pass, *salt;
	unsigned	 iter;
	size_t		 len;
	const char	*hex;
};

/*
 * RFC 6070 section 2 (PBKDF2-HMAC-SHA1; not the 16777216 rounds, nor
 * the password with a NUL, which xmpp-echo refuses) and RFC 7914
 * section 11 (PBKDF2-HMAC-SHA256, output longer than one block).
 */
static const struct hi_vector hi_vectors[] = {
	{ "SCRAM-SHA-1", "password", "salt", 1, 20,
	    "0c60c80f961f0e71f3a9b524af6012062fe037a6" },
	{ "SCRAM-SHA-1", "password", "salt", 2, 20,
	    "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957" },
	{ "SCRAM-SHA-1", "password", "salt", 4096, 20,
	    "4b007901b765489abead49d926f721d065a429c1" },
	{ "SCRAM-SHA-1", "passwordPASSWORDpassword",
	    "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 25,
	    "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038" },
	{ "SCRAM-SHA-256", "passwd", "salt", 1, 64,
	    "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	    "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783" },
};

static void
hi_tests(void)
{
	unsigned char out[64];
	char hex[129], what[80];
	size_t i, j;
	const struct hi_vector *v;

	for (i = 0; i < sizeof hi_vectors / sizeof hi_vectors[0]; i++) {
		v = &hi_vectors[i];
		memset(out, 0, sizeof out);
		hex[0] = '\0';
		if (scram_hi(v->mech, v->pass, (const unsigned char *)v->salt,
		    strlen(v->salt), v->iter, out, v->len) == 0)
			for (j = 0; j < v->len; j++)
				snprintf(hex + 2 * j, 3, "%02x", out[j]);
		snprintf(what, sizeof what, "Hi() %s, %u rounds, %zu bytes",
		    v->mech, v->iter, v->len);
		ok(streq(hex, v->hex), what);
	}
	ok(scram_hi("SCRAM-SHA-1", "p", (const unsigned char *)"s", 1, 0,
	    out, 20) == -1, "Hi() with 0 rounds refused");
}

static void
escape_test(void)
{
	struct scram s;
	char *first;

	if (scram_init(&s, "SCRAM-SHA-1", "a=b,c", "x", "abc") == -1) {
		ok(0, "username escaped");
		return;
	}
	first = scram_client_first(&s);
	ok(streq(first, "n,,n=a=3Db=2Cc,r=abc"), "username escaped");
	free(first);
	scram_free(&s);
}

int
main(void)
{
	struct scram s;

	printf("1..32\n");
	rfc_example(&rfc5802, "RFC 5802 SCRAM-SHA-1 example");
	rfc_example(&rfc7677, "RFC 7677 SCRAM-SHA-256 example");
	refused(&rfc5802, rfc5802.sfirst, "v=rmF9pqV8S7suAoZWja4dJRkFsKM=",
	    "wrong server signature refused");
	refused(&rfc7677, rfc7677.sfirst, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	    "signature of the wrong length refused");
	refused(&rfc5802, rfc5802.sfirst, "",
	    "missing server signature refused");
	refused(&rfc5802, "r=Xyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	    "s=QSXCR+Q6sek8bf92,i=4096", rfc5802.sfinal,
	    "server nonce not extending ours refused");
	refused(&rfc5802, "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,"
	    "i=4096", rfc5802.sfinal, "server nonce equal to ours refused");
	refused(&rfc5802, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	    "s=QSXCR+Q6sek8bf92,i=4095", rfc5802.sfinal,
	    "too few iterations refused");
	refused(&rfc5802, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	    "s=QSXCR+Q6sek8bf92,i=10000001", rfc5802.sfinal,
	    "too many iterations refused");
	refused(&rfc5802, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	    "s=QSXCR+Q6sek8bf92,i= 4096", rfc5802.sfinal,
	    "iteration count with a blank refused");
	refused(&rfc5802, "m=x,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	    "s=QSXCR+Q6sek8bf92,i=4096", rfc5802.sfinal,
	    "mandatory extension refused");
	refused(&rfc5802, rfc5802.sfirst, "e=invalid-proof",
	    "server error e= refused");
	ok(streq(lasterr, "server error: invalid-proof"),
	    "server error e= reported");
	b64_tests();
	hi_tests();
	escape_test();
	ok(scram_init(&s, "SCRAM-SHA-1-PLUS", "u", "p", NULL) == -1,
	    "SCRAM-SHA-1-PLUS is not supported");
	if (scram_init(&s, "SCRAM-SHA-256", "u", "p", NULL) == 0) {
		ok(strlen(s.cnonce) == SCRAM_NONCE_LEN, "random nonce length");
		scram_free(&s);
	} else
		ok(0, "random nonce length");
	return failed != 0;
}
