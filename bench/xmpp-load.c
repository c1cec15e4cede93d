/*
 * xmpp-load - send N chat messages with W in flight, time their echoes
 *
 * A client of its own (plain TCP to loopback, SASL PLAIN, bind), as fast
 * as the server lets it: slixmpp tops out near 2,500 messages/s, which
 * would measure the load generator rather than the bot.
 *
 * With -t JID it first waits for that bot's available presence (the two
 * accounts are each other's contacts), prints "online SECS" (realtime
 * clock), then waits for SIGUSR1 (so that the caller can sample the bot
 * at idle) before the load.  With -t self it messages its own full JID:
 * the server's round trip alone.  The password comes from LOAD_PASSWORD.
 * Result: one line of key=value pairs on standard output.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <expat.h>

#include "expat-eager.h"

#define NSSEP		'\1'
#define NS_CLIENT	"jabber:client"
#define NS_STREAM	"http://etherx.jabber.org/streams"
#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define MAXTEXT		65536
#define PAD		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ."

enum state { S_FEATURES, S_AUTH, S_FEATURES2, S_BIND, S_WAITBOT, S_LOAD };

struct load {
	XML_Parser	 xp;
	int		 fd;
	enum state	 state;
	int		 restart;
	/* the top-level element being read */
	int		 depth;
	char		 top[64];
	char		 from[512], type[32];
	int		 inbody, injid, ready;
	char		 text[MAXTEXT];
	size_t		 textlen;
	/* the run */
	const char	*user, *domain, *pass, *target;
	char		 me[512], bot[512];
	long		 n, window, bodysize, sent, recvd, dups, bad;
	double		*tsend, *lat;
	double		 t0, tlast, online;
	char		*out;
	size_t		 outlen, outcap;
};

static double
now(clockid_t c)
{
	struct timespec	 ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
put(struct load *l, const char *s, size_t n)
{
	if (l->outlen + n > l->outcap) {
		l->outcap = (l->outlen + n) * 2;
		if ((l->out = realloc(l->out, l->outcap)) == NULL)
			err(1, "realloc");
	}
	memcpy(l->out + l->outlen, s, n);
	l->outlen += n;
}

static void
puts_(struct load *l, const char *s)
{
	put(l, s, strlen(s));
}

static void
flush(struct load *l)
{
	size_t	 off;
	ssize_t	 w;

	for (off = 0; off < l->outlen; off += (size_t)w)
		if ((w = write(l->fd, l->out + off, l->outlen - off)) == -1) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			err(1, "write");
		}
	l->outlen = 0;
}

static void
header(struct load *l)
{
	char	 s[512];

	snprintf(s, sizeof(s), "<?xml version='1.0'?><stream:stream to='%s' "
	    "version='1.0' xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams'>", l->domain);
	puts_(l, s);
}

static void
b64(char *dst, const unsigned char *src, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t	 i;

	for (i = 0; i + 2 < n; i += 3) {
		*dst++ = a[src[i] >> 2];
		*dst++ = a[((src[i] & 3) << 4) | (src[i + 1] >> 4)];
		*dst++ = a[((src[i + 1] & 15) << 2) | (src[i + 2] >> 6)];
		*dst++ = a[src[i + 2] & 63];
	}
	if (n - i == 1) {
		*dst++ = a[src[i] >> 2];
		*dst++ = a[(src[i] & 3) << 4];
		*dst++ = '=';
		*dst++ = '=';
	} else if (n - i == 2) {
		*dst++ = a[src[i] >> 2];
		*dst++ = a[((src[i] & 3) << 4) | (src[i + 1] >> 4)];
		*dst++ = a[(src[i + 1] & 15) << 2];
		*dst++ = '=';
	}
	*dst = '\0';
}

static void
auth(struct load *l)
{
	unsigned char	 raw[512];
	char		 enc[700];
	int		 n;

	n = snprintf((char *)raw, sizeof(raw), "%c%s%c%s", 0, l->user, 0,
	    l->pass);
	if (n < 0 || (size_t)n >= sizeof(raw))
		errx(1, "user or password too long");
	b64(enc, raw, (size_t)n);
	puts_(l, "<auth xmlns='" NS_SASL "' mechanism='PLAIN'>");
	puts_(l, enc);
	puts_(l, "</auth>");
}

static void
send_one(struct load *l)
{
	char	 s[1024];
	long	 seq = l->sent++;
	int	 n;

	n = snprintf(s, sizeof(s), "<message to='%s' type='chat' id='l%ld'>"
	    "<body>%ld ", l->target, seq, seq);
	if (n < 0 || (size_t)n >= sizeof(s))
		errx(1, "target too long");
	put(l, s, (size_t)n);
	for (n = 0; n < l->bodysize; n += 64)
		put(l, PAD, (size_t)(l->bodysize - n < 64 ?
		    l->bodysize - n : 64));
	puts_(l, "</body></message>");
	l->tsend[seq] = now(CLOCK_MONOTONIC);
}

/* Do the two JIDs have the same bare JID? */
static int
bare_is(const char *jid, const char *other)
{
	size_t	 n = strcspn(jid, "/");

	return strcspn(other, "/") == n && strncmp(jid, other, n) == 0;
}

static void
on_echo(struct load *l)
{
	char	*end;
	long	 seq;

	if (strcmp(l->type, "error") == 0)
		errx(1, "error message from %s", l->from);
	if (!bare_is(l->from, l->target) || l->textlen == 0)
		return;
	l->text[l->textlen] = '\0';
	seq = strtol(l->text, &end, 10);
	if (end == l->text || seq < 0 || seq >= l->sent)
		return;
	/* the body came back whole: "SEQ " and the padding */
	if (*end != ' ' || strlen(end + 1) != (size_t)l->bodysize) {
		l->bad++;
		return;
	}
	if (l->lat[seq] >= 0) {
		l->dups++;
		return;
	}
	l->tlast = now(CLOCK_MONOTONIC);
	l->lat[seq] = l->tlast - l->tsend[seq];
	l->recvd++;
	if (l->sent < l->n)
		send_one(l);
}

/* One top-level element has ended. */
static void
stanza(struct load *l)
{
	const char	*t = l->top;

	if (strcmp(t, NS_STREAM "\1error") == 0)
		errx(1, "stream error");
	switch (l->state) {
	case S_FEATURES:
		if (strcmp(t, NS_STREAM "\1features") == 0) {
			auth(l);
			l->state = S_AUTH;
		}
		break;
	case S_AUTH:
		if (strcmp(t, NS_SASL "\1success") == 0) {
			l->restart = 1;
			XML_StopParser(l->xp, XML_FALSE);
			header(l);
			l->state = S_FEATURES2;
		} else if (strcmp(t, NS_SASL "\1failure") == 0)
			errx(1, "authentication failed");
		break;
	case S_FEATURES2:
		if (strcmp(t, NS_STREAM "\1features") == 0) {
			puts_(l, "<iq type='set' id='bind1'><bind xmlns="
			    "'urn:ietf:params:xml:ns:xmpp-bind'><resource>"
			    "load</resource></bind></iq>");
			l->state = S_BIND;
		}
		break;
	case S_BIND:
		if (strcmp(t, NS_CLIENT "\1iq") != 0)
			break;
		if (strcmp(l->type, "result") != 0)
			errx(1, "bind failed");
		if (l->textlen == 0 || l->textlen >= sizeof(l->me))
			errx(1, "bind: bad jid");
		memcpy(l->me, l->text, l->textlen);
		l->me[l->textlen] = '\0';
		puts_(l, "<presence/>");
		l->state = S_WAITBOT;
		break;
	case S_WAITBOT:
		/* our own presence back: the server has us online */
		if (strcmp(t, NS_CLIENT "\1presence") == 0 &&
		    strcmp(l->from, l->me) == 0 && !l->ready) {
			l->ready = 1;
			printf("ready\n");
			fflush(stdout);
		}
		if (strcmp(t, NS_CLIENT "\1presence") == 0 &&
		    l->type[0] == '\0' && bare_is(l->from, l->target)) {
			l->online = now(CLOCK_REALTIME);
			snprintf(l->bot, sizeof(l->bot), "%s", l->from);
			l->state = S_LOAD;
			XML_StopParser(l->xp, XML_TRUE);
		}
		break;
	case S_LOAD:
		if (strcmp(t, NS_CLIENT "\1message") == 0)
			on_echo(l);
		break;
	}
}

static void
attr(const char **atts, const char *name, char *dst, size_t len)
{
	*dst = '\0';
	for (; *atts != NULL; atts += 2)
		if (strcmp(atts[0], name) == 0) {
			snprintf(dst, len, "%s", atts[1]);
			return;
		}
}

static void XMLCALL
on_start(void *arg, const char *name, const char **atts)
{
	struct load	*l = arg;

	l->depth++;
	if (l->depth == 2) {
		snprintf(l->top, sizeof(l->top), "%s", name);
		attr(atts, "from", l->from, sizeof(l->from));
		attr(atts, "type", l->type, sizeof(l->type));
		l->textlen = 0;
	} else if (l->depth == 3)
		l->inbody = strcmp(name, NS_CLIENT "\1body") == 0;
	else if (l->depth == 4)
		l->injid = strcmp(name, "urn:ietf:params:xml:ns:xmpp-bind\1jid")
		    == 0;
}

static void XMLCALL
on_end(void *arg, const char *name)
{
	struct load	*l = arg;

	(void)name;
	if (l->depth == 2)
		stanza(l);
	l->inbody = l->injid = 0;
	l->depth--;
}

static void XMLCALL
on_text(void *arg, const char *s, int len)
{
	struct load	*l = arg;

	if ((l->depth == 3 && l->inbody) || (l->depth == 4 && l->injid)) {
		if (l->textlen + (size_t)len >= MAXTEXT)
			len = (int)(MAXTEXT - 1 - l->textlen);
		memcpy(l->text + l->textlen, s, (size_t)len);
		l->textlen += (size_t)len;
	}
}

static void
newparser(struct load *l)
{
	if (l->xp == NULL)
		l->xp = XML_ParserCreateNS("UTF-8", NSSEP);
	else
		XML_ParserReset(l->xp, "UTF-8");
	if (l->xp == NULL)
		errx(1, "expat");
	XML_SetUserData(l->xp, l);
	XML_SetElementHandler(l->xp, on_start, on_end);
	XML_SetCharacterDataHandler(l->xp, on_text);
	expat_eager(l->xp);
	l->depth = 0;
}

/*
 * Reads and parses what the server sent within ms milliseconds; returns 0
 * on timeout.  Parsing stops early at a stream restart (the server sends
 * nothing after <success/> before our new header) or when the bot comes
 * online (whatever follows stays for the next call).
 */
static char	 rbuf[65536];
static size_t	 rlen, roff;

static int
step(struct load *l, int ms)
{
	struct pollfd	 pfd = { l->fd, POLLIN, 0 };
	XML_ParsingStatus st;
	ssize_t		 n;

	if (roff == rlen) {
		if (poll(&pfd, 1, ms) == -1) {
			if (errno == EINTR)
				return 1;
			err(1, "poll");
		}
		if (pfd.revents == 0)
			return 0;
		if ((n = read(l->fd, rbuf, sizeof(rbuf))) == -1)
			err(1, "read");
		if (n == 0)
			errx(1, "server closed the connection");
		rlen = (size_t)n;
		roff = 0;
		if (XML_Parse(l->xp, rbuf, (int)rlen, 0) == XML_STATUS_ERROR &&
		    XML_GetErrorCode(l->xp) != XML_ERROR_ABORTED)
			errx(1, "server XML: %s",
			    XML_ErrorString(XML_GetErrorCode(l->xp)));
	} else {
		/* resume after a stop */
		if (XML_ResumeParser(l->xp) == XML_STATUS_ERROR)
			errx(1, "server XML: %s",
			    XML_ErrorString(XML_GetErrorCode(l->xp)));
	}
	XML_GetParsingStatus(l->xp, &st);
	if (st.parsing == XML_SUSPENDED)
		return 1;
	roff = rlen;
	if (l->restart) {
		l->restart = 0;
		newparser(l);
	}
	return 1;
}

static int
cmpd(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "usage: xmpp-load [-b bodysize] [-n count] "
	    "[-T timeout] [-w window] -t jid|self host port user domain\n");
	exit(1);
}

static long
num(const char *s, long lo, long hi, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi)
		errx(1, "%s %s: out of range %ld..%ld", what, s, lo, hi);
	return v;
}

int
main(int argc, char *argv[])
{
	struct load		 l = { 0 };
	struct sockaddr_in	 sa = { 0 };
	struct timespec		 ts = { 0 };
	sigset_t		 ss;
	double			 secs, p50, p99, max;
	long			 i, timeout = 10, m;
	int			 ch, one = 1;

	l.n = 10000;
	l.window = 50;
	l.bodysize = 100;
	while ((ch = getopt(argc, argv, "b:n:t:T:w:")) != -1) {
		switch (ch) {
		case 'b':
			l.bodysize = num(optarg, 0, 60000, "bodysize");
			break;
		case 'n':
			l.n = num(optarg, 1, 10000000, "count");
			break;
		case 't':
			l.target = optarg;
			break;
		case 'T':
			timeout = num(optarg, 1, 3600, "timeout");
			break;
		case 'w':
			l.window = num(optarg, 1, 100000, "window");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 4 || l.target == NULL)
		usage();
	l.user = argv[2];
	l.domain = argv[3];
	if ((l.pass = getenv("LOAD_PASSWORD")) == NULL)
		errx(1, "LOAD_PASSWORD not set");
	if (l.window > l.n)
		l.window = l.n;

	sigemptyset(&ss);
	sigaddset(&ss, SIGUSR1);
	sigprocmask(SIG_BLOCK, &ss, NULL);

	if ((l.tsend = calloc((size_t)l.n, sizeof(double))) == NULL ||
	    (l.lat = malloc((size_t)l.n * sizeof(double))) == NULL)
		err(1, "malloc");
	for (i = 0; i < l.n; i++)
		l.lat[i] = -1;

	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)num(argv[1], 1, 65535, "port"));
	if (inet_pton(AF_INET, argv[0], &sa.sin_addr) != 1)
		errx(1, "%s: want an IPv4 address", argv[0]);
	if ((l.fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (connect(l.fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		err(1, "connect %s:%s", argv[0], argv[1]);
	setsockopt(l.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	newparser(&l);
	header(&l);
	flush(&l);
	while (l.state != S_WAITBOT) {
		if (!step(&l, 10000))
			errx(1, "login: server silent for 10 s");
		flush(&l);
	}
	if (strcmp(l.target, "self") == 0) {
		l.target = l.me;
		l.state = S_LOAD;
	} else {
		while (l.state == S_WAITBOT)
			if (!step(&l, 60000))
				errx(1, "no presence from %s in 60 s",
				    l.target);
		l.target = l.bot;
		printf("online %.6f\n", l.online);
		fflush(stdout);
		ts.tv_sec = 60;
		if (sigtimedwait(&ss, NULL, &ts) == -1)
			errx(1, "no SIGUSR1 in 60 s");
	}

	l.t0 = now(CLOCK_MONOTONIC);
	for (i = 0; i < l.window; i++)
		send_one(&l);
	flush(&l);
	while (l.recvd < l.n) {
		if (!step(&l, (int)timeout * 1000))
			break;
		flush(&l);
	}
	puts_(&l, "</stream:stream>");
	flush(&l);

	m = 0;
	for (i = 0; i < l.sent; i++)
		if (l.lat[i] >= 0)
			l.lat[m++] = l.lat[i];
	qsort(l.lat, (size_t)m, sizeof(double), cmpd);
	p50 = m ? l.lat[m / 2] : -1;
	p99 = m ? l.lat[(m * 99) / 100 < m ? (m * 99) / 100 : m - 1] : -1;
	max = m ? l.lat[m - 1] : -1;
	secs = l.recvd > 0 ? l.tlast - l.t0 : 0;
	printf("sent=%ld echoed=%ld lost=%ld dups=%ld bad=%ld secs=%.4f "
	    "rate=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", l.sent,
	    l.recvd, l.n - l.recvd, l.dups, l.bad, secs, secs > 0 ? l.recvd / secs : 0,
	    p50 * 1e3, p99 * 1e3, max * 1e3);
	close(l.fd);
	return l.recvd == l.n ? 0 : 2;
}
