/*
 * xmpp-echo - log in to an XMPP server and echo chat messages
 *
 * Reads the server's stream as records (xmpp-record(5)) on stdin and
 * writes the client's side of the stream as XML on stdout: SASL
 * (RFC 6120 section 6), resource binding (section 7), the roster and
 * initial presence (RFC 6121), then an echo of every chat or normal
 * message, within the limits of a per-sender token bucket.  It answers
 * every iq addressed to it, approves subscription requests, keeps the
 * link alive with whitespace and pings, and closes its stream on
 * SIGTERM or SIGINT.  With -x, a handler of the user's answers the
 * messages instead of the echo.
 *
 * This file holds the options and main(); extern.h lists the others.
 */
#include <sys/stat.h>

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "sandbox.h"
#include "extern.h"

static void	 usage(FILE *, int) __attribute__((noreturn));

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: xmpp-echo [-AehNPTvVX] [-b burst] [-i idle] "
	    "[-k keepalive] [-L maxstanza]\n"
	    "                 [-l maxbody] [-m mechanisms] [-O outrate] "
	    "[-p passfile] [-R rate]\n"
	    "                 [-r resource] [-S statefile] [-s status] "
	    "[-t timeout]\n"
	    "                 [-x command] jid\n");
	exit(status);
}

/*
 * Setup: the JID, the mechanisms, the password.
 */

static char *
xstrndup(const char *s, size_t n)
{
	char *t;

	if ((t = strndup(s, n)) == NULL)
		err(EX_LOCAL, "strndup");
	return t;
}

/* local@domain[/resource]; a localpart is needed to log in. */
static void
parse_jid(struct bot *b, const char *jid)
{
	const char *slash, *at;
	size_t barelen;

	barelen = strcspn(jid, "/");
	slash = jid[barelen] == '/' ? jid + barelen : NULL;
	if ((at = memchr(jid, '@', barelen)) == NULL || at == jid ||
	    at + 1 == jid + barelen)
		errx(EX_LOCAL, "%s: not a JID of the form user@domain", jid);
	if ((size_t)(at - jid) > JID_PART_MAX ||
	    barelen - (size_t)(at - jid) - 1 > JID_PART_MAX ||
	    (slash != NULL && strlen(slash + 1) > JID_PART_MAX))
		errx(EX_LOCAL, "%s: JID part too long", jid);
	if (slash != NULL && slash[1] == '\0')
		errx(EX_LOCAL, "%s: empty resource", jid);
	b->local = xstrndup(jid, (size_t)(at - jid));
	b->domain = xstrndup(at + 1, barelen - (size_t)(at - jid) - 1);
	b->bare = xstrndup(jid, barelen);
	if (slash != NULL && b->resource == NULL)
		b->resource = xstrndup(slash + 1, strlen(slash + 1));
	/* The rules peers' JIDs are held to; no final dot in the domain. */
	if (jid_normalize(b->bare) == -1 || jid_normalize(b->domain) == -1)
		errx(EX_LOCAL, "%s: not a valid JID", jid);
	if (b->resource != NULL &&
	    !jid_part_ok(b->resource, strlen(b->resource), ""))
		errx(EX_LOCAL, "resource %s: not valid", b->resource);
}

static void
parse_mechs(struct bot *b, const char *list)
{
	static const char *known[] = { "SCRAM-SHA-512", "SCRAM-SHA-256",
	    "SCRAM-SHA-1", "PLAIN" };
	char *copy, *p, *m;
	size_t i;

	if ((copy = strdup(list)) == NULL)
		err(EX_LOCAL, "strdup");
	b->nmechs = 0;
	for (p = copy; (m = strsep(&p, ",")) != NULL; ) {
		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (strcmp(m, known[i]) == 0)
				break;
		if (i == sizeof known / sizeof known[0])
			errx(EX_LOCAL, "mechanism %s: unsupported", m);
		if (b->nmechs == MAX_MECHS)
			errx(EX_LOCAL, "-m %s: too many mechanisms", list);
		b->mechs[b->nmechs++] = known[i];
	}
	free(copy);
}

/*
 * Output must not block (see write_ready()), but O_NONBLOCK belongs to
 * the open file description, which others may share: a pipe's is shared
 * with a 2>&1 on the same pipe, a socket's with the xmpp-parse that
 * reads the same connection (xmpp-connect(1) hands both the socket), and
 * a terminal's with the shell.  So a pipe is opened again, for a file
 * description of our own; a socket stays blocking and is written with
 * MSG_DONTWAIT (output_socket); a terminal stays as it is.
 */
static void
nonblocking_stdout(void)
{
	struct stat st;
	int fd, fl;

	if (isatty(STDOUT_FILENO))
		return;
	if (fstat(STDOUT_FILENO, &st) == -1)
		err(EX_LOCAL, "stdout");
	if (S_ISSOCK(st.st_mode)) {
		output_socket = 1;
		return;
	}
	if (S_ISFIFO(st.st_mode) &&
	    (fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK)) != -1) {
		if (dup2(fd, STDOUT_FILENO) == -1)
			err(EX_LOCAL, "stdout");
		close(fd);
		return;
	}
	/* No /proc: the shared way. */
	if ((fl = fcntl(STDOUT_FILENO, F_GETFL)) == -1 ||
	    fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK) == -1)
		err(EX_LOCAL, "stdout");
}

/* A number option within bounds, or an error naming it. */
static long long
number(int opt, const char *arg, long long min, long long max)
{
	const char *errstr;
	long long n;

	n = strtonum(arg, min, max, &errstr);
	if (errstr != NULL)
		errx(EX_LOCAL, "-%c %s: %s", opt, arg, errstr);
	return n;
}

/* The defaults, as xmpp-echo(1) gives them. */
static void
defaults(struct bot *b)
{
	parse_mechs(b, "SCRAM-SHA-512,SCRAM-SHA-256,SCRAM-SHA-1,PLAIN");
	b->approve = 1;
	b->burst = 100;
	b->rate = 60;
	b->maxbody = 64 * 1024;
	b->maxstanza = 128 * 1024;
	b->keepalive = 60 * 1000;
	b->idle = 90 * 1000;
	b->timeout = 30 * 1000;
	b->h.rate = 600;
	b->sm.fd = -1;
}

/* The options of limits and timers; 0 if ch is none of them. */
static int
number_option(struct bot *b, int ch, const char *arg)
{
	switch (ch) {
	case 'b':
		b->burst = number(ch, arg, 1, 1000000);
		break;
	case 'i':
		b->idle = number(ch, arg, 1, 86400) * 1000;
		break;
	case 'k':
		b->keepalive = number(ch, arg, 1, 86400) * 1000;
		break;
	case 'L':
		b->maxstanza = number(ch, arg, STANZA_MIN, 16 * 1024 * 1024);
		break;
	case 'l':
		b->maxbody = number(ch, arg, 1, 16 * 1024 * 1024);
		break;
	case 'O':
		b->h.rate = number(ch, arg, 1, 6000000);
		break;
	case 'R':
		b->rate = number(ch, arg, 1, 6000000);
		break;
	case 't':
		b->timeout = number(ch, arg, 1, 3600) * 1000;
		break;
	default:
		return 0;
	}
	return 1;
}

/* The options that take a text; 0 if ch is none of them. */
static int
text_option(struct bot *b, int ch, char *arg)
{
	switch (ch) {
	case 'm':
		parse_mechs(b, arg);
		break;
	case 'r':
		if (*arg == '\0' || strlen(arg) > JID_PART_MAX)
			errx(EX_LOCAL, "resource %s: bad length", arg);
		b->resource = arg;
		break;
	case 's':
		if (strlen(arg) > 1024)
			errx(EX_LOCAL, "-s: status longer than 1024 bytes");
		b->status = arg;
		break;
	case 'x':
		if (*arg == '\0')
			errx(EX_LOCAL, "-x: empty command");
		b->h.cmd = arg;
		break;
	default:
		return 0;
	}
	return 1;
}

int
main(int argc, char *argv[])
{
	struct bot b = { 0 };
	const char *passfile = NULL, *statefile = NULL;
	int ch, confine = 1, checkonly = 0;

	defaults(&b);
	while ((ch = getopt(argc, argv,
	    "Ab:ehi:k:L:l:m:NO:p:PR:r:S:s:t:TvVx:X")) != -1) {
		if (number_option(&b, ch, optarg) ||
		    text_option(&b, ch, optarg))
			continue;
		switch (ch) {
		case 'A':
			b.approve = 0;
			break;
		case 'N':
			b.notes = 1;
			break;
		case 'e':
		case 'P':
			b.plain_ok = 1;
			break;
		case 'h':
			usage(stdout, EX_OK);
		case 'p':
			passfile = optarg;
			break;
		case 'S':
			statefile = optarg;
			break;
		case 'T':
			checkonly = 1;
			break;
		case 'v':
			b.verbose = 1;
			break;
		case 'V':
			printf("xmpp-echo %s\n", VERSION);
			return EX_OK;
		case 'X':
			confine = 0;
			break;
		default:
			usage(stderr, EX_LOCAL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage(stderr, EX_LOCAL);
	parse_jid(&b, argv[0]);
	if ((b.senders = calloc(SENDERS_MAX, sizeof *b.senders)) == NULL ||
	    (b.sm.q = calloc(SM_QUEUE_MAX, sizeof *b.sm.q)) == NULL)
		err(EX_LOCAL, "calloc");
	/* For echobot.sh: the options and password, before connecting. */
	if (checkonly) {
		b.pass = get_password(passfile);
		exit(EX_OK);	/* not return: what b holds stays reachable */
	}
	/* The handler is the user's code, unconfined, and never sees the
	 * password: its supervisor is forked before it is read. */
	if (b.h.cmd != NULL)
		handler_start(&b);
	b.pass = get_password(passfile);
	/* Open for good: the sandbox allows no open(2). */
	if (statefile != NULL)
		sm_state_open(&b, statefile);
	nonblocking_stdout();
	setup_signals(&b);
	snprintf(b.idprefix, sizeof b.idprefix, "%08x", arc4random());
	/* Everything opened and loaded: from here on, stdio only. */
	if (confine)
		(void)sandbox_stdio();
	run(&b);
	return EX_OK;
}
