/*
 * dns.c - SRV lookup for xmpp-connect(1): RFC 6120 section 3.2.1 and
 * RFC 2782 (priority first, then a weighted random pick), with the
 * _xmpps-client records of XEP-0368 in the same list.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <err.h>
#include <netdb.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* Records read per service; further ones are ignored. */
#define SRV_MAX		64

/* What one service's answer says. */
enum srv_answer {
	SRV_NONE,	/* no record, or the lookup failed */
	SRV_DOT,	/* only the target ".": the service is not offered */
	SRV_SOME	/* records, added to the list */
};

struct srv {
	uint16_t	 prio, weight, port;
	int		 direct;	/* from _xmpps-client: TLS at once */
	int		 used;
	char		 host[NS_MAXDNAME];
};

/*
 * Priority first; at equal priority direct TLS before STARTTLS, the
 * preference among both kinds that XEP-0368 leaves to the client.
 */
static int
byprio(const void *a, const void *b)
{
	const struct srv *x = a, *y = b;

	if (x->prio != y->prio)
		return (int)x->prio - (int)y->prio;
	return y->direct - x->direct;
}

/* RFC 2782: the target "." (the root) says "no such service here". */
static int
is_root(const char *host)
{
	return strcmp(host, ".") == 0 || host[0] == '\0';
}

/*
 * Adds the SRV answers of msg to v (at most max), all but "." targets;
 * returns how many; *dots counts the "." targets.
 */
static size_t
srv_parse(const unsigned char *ans, int len, struct srv *v, size_t max,
    size_t *dots)
{
	ns_msg		 msg;
	ns_rr		 rr;
	const u_char	*rd;
	size_t		 n = 0;
	int		 i, count;

	*dots = 0;
	if (ns_initparse(ans, len, &msg) == -1)
		return 0;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count && n < max; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			break;
		if (ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7)
			continue;
		rd = ns_rr_rdata(rr);
		v[n].prio = ns_get16(rd);
		v[n].weight = ns_get16(rd + 2);
		v[n].port = ns_get16(rd + 4);
		if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg),
		    rd + 6, v[n].host, sizeof v[n].host) == -1)
			continue;
		if (is_root(v[n].host)) {
			(*dots)++;
			continue;
		}
		v[n].used = 0;
		n++;
	}
	return n;
}

/*
 * Adds the records of SERVICE.DOMAIN to v[*n] on (at most SRV_MAX),
 * marked direct or not, and says what the answer was.
 */
static enum srv_answer
srv_query(const char *service, const char *domain, int direct,
    struct srv *v, size_t *n)
{
	static unsigned char	 ans[NS_MAXMSG];
	char			 name[NS_MAXDNAME];
	size_t			 i, got, dots;
	int			 len, r;

	r = snprintf(name, sizeof name, "%s.%s", service, domain);
	if (r < 0 || (size_t)r >= sizeof name)
		errx(EXIT_LOCAL, "%s: domain name too long", domain);
	if ((len = res_query(name, ns_c_in, ns_t_srv, ans, sizeof ans)) < 0)
		return SRV_NONE;
	got = srv_parse(ans, len, v + *n, SRV_MAX, &dots);
	for (i = *n; i < *n + got; i++)
		v[i].direct = direct;
	*n += got;
	if (got > 0)
		return SRV_SOME;
	return dots > 0 ? SRV_DOT : SRV_NONE;
}

/*
 * RFC 2782: within one priority, pick records at random with a chance
 * proportional to their weight, zero-weight records first in the list.
 */
static size_t
pick(struct srv *v, size_t lo, size_t hi)
{
	uint32_t	 sum = 0, r, run = 0;
	size_t		 i;

	for (i = lo; i < hi; i++)
		if (!v[i].used)
			sum += v[i].weight;
	r = arc4random_uniform(sum + 1);
	for (i = lo; i < hi; i++) {
		if (v[i].used)
			continue;
		run += v[i].weight;
		if (run >= r)
			return i;
	}
	return lo;	/* not reached: the last unused record matches */
}

/* Stable: zero weights to the front of each group. */
static void
zero_first(struct srv *v, size_t lo, size_t hi)
{
	struct srv	 t;
	size_t		 i, j;

	for (i = lo + 1; i < hi; i++)
		for (j = i; j > lo && v[j].weight == 0 &&
		    v[j - 1].weight != 0; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static void
target_set(struct target *t, const struct srv *s)
{
	if ((t->host = strdup(s->host)) == NULL)
		err(EXIT_LOCAL, NULL);
	(void)snprintf(t->port, sizeof t->port, "%u", s->port);
	t->direct = s->direct;
}

/* One group: the same priority and the same kind. */
static int
same_group(const struct srv *a, const struct srv *b)
{
	return a->prio == b->prio && a->direct == b->direct;
}

int
srv_lookup(const char *domain, int direct, struct target **tp)
{
	struct srv		*v;
	struct target		*t;
	enum srv_answer		 c, d = SRV_NONE;
	size_t			 n = 0, i, lo, hi, k;

	if ((v = calloc(2 * SRV_MAX, sizeof *v)) == NULL)
		err(EXIT_LOCAL, NULL);
	c = srv_query("_xmpp-client._tcp", domain, 0, v, &n);
	if (direct)
		d = srv_query("_xmpps-client._tcp", domain, 1, v, &n);
	if (n == 0) {
		free(v);
		/*
		 * A "." says the domain has SRV records, so no fallback to
		 * its address: RFC 6120 3.2.1, and XEP-0368 for an
		 * _xmpps-client "." without _xmpp-client records.
		 */
		if (c == SRV_DOT || d == SRV_DOT)
			return -1;
		return 0;
	}
	/* XEP-0368: both kinds are one list, ordered by priority. */
	qsort(v, n, sizeof *v, byprio);
	if ((t = calloc(n, sizeof *t)) == NULL)
		err(EXIT_LOCAL, NULL);
	for (lo = k = 0; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && same_group(&v[hi], &v[lo]); hi++)
			;
		zero_first(v, lo, hi);
		for (; k < hi; k++) {
			i = pick(v, lo, hi);
			v[i].used = 1;
			target_set(&t[k], &v[i]);
		}
	}
	free(v);
	*tp = t;
	return (int)n;
}

void
targets_free(struct target *t, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(t[i].host);
	free(t);
}
