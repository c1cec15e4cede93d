/*
 * sasl-test - the SCRAM client against the examples of RFC 5802 and
 * RFC 7677, and against servers that lie; prints TAP.
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

	printf("1..26\n");
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
