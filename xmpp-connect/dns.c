/*
 * dns.c - SRV lookup for xmpp-connect(1): RFC 6120 section 3.2.1 and
 * RFC 2782 (priority first, then a weighted random pick).
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

struct srv {
	uint16_t	 prio, weight, port;
	char		 host[NS_MAXDNAME];
	int		 used;
};

static int
byprio(const void *a, const void *b)
{
	const struct srv *x = a, *y = b;

	return (int)x->prio - (int)y->prio;
}

/* Reads the SRV answers of msg into v (at most max); returns how many. */
static size_t
srv_parse(const unsigned char *ans, int len, struct srv *v, size_t max)
{
	ns_msg		 msg;
	ns_rr		 rr;
	const u_char	*rd;
	size_t		 n = 0;
	int		 i, count;

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
		v[n].used = 0;
		n++;
	}
	return n;
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

/* Stable: zero weights to the front of each priority group. */
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
}

int
srv_lookup(const char *service, const char *domain, struct target **tp)
{
	static unsigned char	 ans[NS_MAXMSG];
	char			 name[NS_MAXDNAME];
	struct srv		*v;
	struct target		*t;
	size_t			 n, i, lo, hi, k, out = 0;
	int			 len, r;

	r = snprintf(name, sizeof name, "%s.%s", service, domain);
	if (r < 0 || (size_t)r >= sizeof name)
		errx(EXIT_LOCAL, "%s: domain name too long", domain);
	/* Any failure falls back to the domain itself (RFC 6120 3.2.2). */
	if ((len = res_query(name, ns_c_in, ns_t_srv, ans, sizeof ans)) < 0)
		return 0;
	if ((v = calloc(64, sizeof *v)) == NULL)
		err(EXIT_LOCAL, NULL);
	if ((n = srv_parse(ans, len, v, 64)) == 0) {
		free(v);
		return 0;
	}
	/* RFC 2782: a single "." target means the service is not offered. */
	if (n == 1 && (strcmp(v[0].host, ".") == 0 || v[0].host[0] == '\0')) {
		free(v);
		return -1;
	}
	qsort(v, n, sizeof *v, byprio);
	if ((t = calloc(n, sizeof *t)) == NULL)
		err(EXIT_LOCAL, NULL);
	for (lo = 0; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && v[hi].prio == v[lo].prio; hi++)
			;
		zero_first(v, lo, hi);
		for (k = lo; k < hi; k++) {
			i = pick(v, lo, hi);
			v[i].used = 1;
			if (strcmp(v[i].host, ".") != 0)
				target_set(&t[out++], &v[i]);
		}
	}
	free(v);
	*tp = t;
	return (int)out;
}

void
targets_free(struct target *t, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(t[i].host);
	free(t);
}
