/*
 * xmpp-connect - connect to an XMPP server and relay stdin/stdout.
 *
 * The server's bytes (clear text, after TLS) go to stdout, stdin goes
 * to the server.  TLS is stunnel(8)'s job, see tls.c.
 */
#define _GNU_SOURCE	/* ppoll */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

#define RELAY_BUF	(64 * 1024)
/* Without it a black-holed address would stall the next one for minutes. */
#define CONNECT_TIMEOUT	(15 * 1000)
/* After a stop signal, how long the relay may run on for a goodbye. */
#define STOP_WAIT	(5 * 1000)

static volatile sig_atomic_t	 relaying;	/* in relay_run */
static volatile sig_atomic_t	 stop_sig;	/* its stop signal, or 0 */

int	notes;		/* -N: a line on stderr for each milestone */

static void
usage(FILE *f, int status)
{
	fprintf(f, "usage: xmpp-connect [-hINTV] [-C cafile] [-d domain] "
	    "[-t mode] [-w file] [host[:port]]\n"
	    "       xmpp-connect [-INTV] [-C cafile] [-d domain] [-s fd] "
	    "[-t mode] [-w file]\n"
	    "                    [host[:port]] -- reader [arg ...] "
	    "-- writer [arg ...]\n");
	exit(status);
}

/* Ends as killed by sig would, stunnel and its directory gone first. */
void
die_by(int sig)
{
	sigset_t	 set;

	tls_cleanup();
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
	sigemptyset(&set);
	sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	_exit(EXIT_LOCAL);
}

/*
 * TERM, INT, HUP: before the relay, the end; while relaying, an end
 * within STOP_WAIT, so that the client's goodbye, written on the same
 * signal to the whole process group, still reaches the server.  A
 * second one ends at once.
 */
static void
on_signal(int sig)
{
	if (relaying && stop_sig == 0)
		stop_sig = sig;
	else
		die_by(sig);
}

/*
 * INT and HUP ignored when we started stay ignored, as for a command run
 * in the background or under nohup(1); TERM is always ours to handle.
 */
static void
catch_signal(int sig)
{
	struct sigaction	 sa, old;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	if (sigaction(sig, NULL, &old) == -1)
		err(EXIT_LOCAL, "sigaction");
	if ((sig == SIGTERM || old.sa_handler != SIG_IGN) &&
	    sigaction(sig, &sa, NULL) == -1)
		err(EXIT_LOCAL, "sigaction");
}

long long
now_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A closed 0, 1 or 2 would be reused by the first socket. */
static void
sanitize_fds(void)
{
	int	 fd;

	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			err(EXIT_LOCAL, "/dev/null");
}

void
set_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		err(EXIT_LOCAL, "fcntl");
}

/*
 * Splits "host", "host:port", "[v6]", "[v6]:port" (and a bare IPv6
 * address) into host and port; arg is modified.
 */
static void
parse_hostport(char *arg, char **host, const char **port)
{
	char		*p;
	const char	*errstr;

	*port = XMPP_PORT;
	if (arg[0] == '[') {
		if ((p = strchr(arg, ']')) == NULL)
			errx(EXIT_LOCAL, "%s: missing ]", arg);
		*p++ = '\0';
		*host = arg + 1;
		if (*p == ':')
			*port = p + 1;
		else if (*p != '\0')
			errx(EXIT_LOCAL, "%s]%s: junk after ]", arg, p);
	} else if ((p = strchr(arg, ':')) != NULL &&
	    strchr(p + 1, ':') == NULL) {
		*p = '\0';
		*host = arg;
		*port = p + 1;
	} else
		*host = arg;
	if (**host == '\0')
		errx(EXIT_LOCAL, "empty host name");
	(void)strtonum(*port, 1, 65535, &errstr);
	if (errstr != NULL)
		errx(EXIT_LOCAL, "port %s: %s", *port, errstr);
}

/*
 * The domain goes into the stunnel configuration and the stream header:
 * host name characters only (and UTF-8 for IDNs), so neither can be
 * forged.
 */
static void
check_domain(const char *d)
{
	const unsigned char	*p;

	if (*d == '\0' || strlen(d) > 1023)
		errx(EXIT_LOCAL, "domain %s: bad length", d);
	for (p = (const unsigned char *)d; *p != '\0'; p++)
		if (!(*p >= 0x80 || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == ':'))
			errx(EXIT_LOCAL, "domain %s: invalid character", d);
}

static void
check_tlsopt(const struct tlsopt *opt)
{
	check_domain(opt->domain);
	if (opt->cafile != NULL && opt->insecure)
		errx(EXIT_LOCAL, "-C and -I conflict");
	if (opt->cafile != NULL && access(opt->cafile, R_OK) == -1)
		err(EXIT_LOCAL, "%s", opt->cafile);
	/* Every time: -I must never go unnoticed in a log. */
	if (opt->insecure)
		warnx("warning: -I: the server certificate is NOT verified, "
		    "anyone on the path can read and change this connection");
}

static enum mode
parse_mode(const char *s)
{
	if (strcmp(s, "starttls") == 0)
		return MODE_STARTTLS;
	if (strcmp(s, "direct") == 0)
		return MODE_DIRECT;
	if (strcmp(s, "plain") == 0)
		return MODE_PLAIN;
	warnx("mode %s: must be starttls, direct or plain", s);
	usage(stderr, EXIT_LOCAL);
	return MODE_PLAIN;
}

/* Waits for a non-blocking connect(2); returns 0 or an errno. */
static int
connect_wait(int s)
{
	struct pollfd	 pfd = { .fd = s, .events = POLLOUT };
	socklen_t	 len = sizeof(int);
	int		 r, e = 0;

	while ((r = poll(&pfd, 1, CONNECT_TIMEOUT)) == -1 && errno == EINTR)
		;
	if (r == -1)
		return errno;
	if (r == 0)
		return ETIMEDOUT;
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		return errno;
	return e;
}

/*
 * Why each address failed, said in one line once none answered: a
 * launcher that retries then has one line a try to show, or to hold back.
 */
static char	 tried[1024];

/* Adds "host port P (address, family): why"; addr NULL: not resolved. */
static void
tried_add(const char *host, const char *port, const char *addr,
    int family, const char *why)
{
	char	 one[2 * NI_MAXHOST + 128], paren[NI_MAXHOST + 16] = "";
	const char *fam = family == AF_INET ? "IPv4" :
	    family == AF_INET6 ? "IPv6" : "?";

	if (addr != NULL && strcmp(addr, host) != 0)
		(void)snprintf(paren, sizeof paren, " (%s, %s)", addr, fam);
	else if (addr != NULL)
		(void)snprintf(paren, sizeof paren, " (%s)", fam);
	(void)snprintf(one, sizeof one, "%s%s port %s%s: %s",
	    tried[0] != '\0' ? "; " : "", host, port, paren, why);
	/* Past the buffer the line is cut: the first causes are the news. */
	(void)strlcat(tried, one, sizeof tried);
}

/* Tries one address; returns the socket or -1, noting why in tried. */
static int
connect_addr(const struct addrinfo *ai, const char *host)
{
	char	 addr[NI_MAXHOST], port[NI_MAXSERV];
	int	 s, e = 0, one = 1;

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr,
	    port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		(void)strlcpy(addr, "?", sizeof addr);
	if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol)) == -1) {
		tried_add(host, port, addr, ai->ai_family, strerror(errno));
		return -1;
	}
	set_nonblock(s);
	if (connect(s, ai->ai_addr, ai->ai_addrlen) == -1)
		e = errno == EINPROGRESS ? connect_wait(s) : errno;
	if (e != 0) {
		tried_add(host, port, addr, ai->ai_family, strerror(e));
		close(s);
		return -1;
	}
	/* Stanzas are small and interactive: no Nagle delay. */
	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
		warn("%s: TCP_NODELAY", addr);
	if (notes)
		warnx("connected to %s port %s", addr, port);
	return s;
}

/* Every address of host, in getaddrinfo(3) order, until one answers. */
static int
connect_host(const char *host, const char *port)
{
	struct addrinfo	 hints, *res, *ai;
	int		 s = -1, e;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		tried_add(host, port, NULL, AF_UNSPEC, e == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL && s == -1; ai = ai->ai_next)
		s = connect_addr(ai, host);
	freeaddrinfo(res);
	return s;
}

/* The targets in order until one answers; *which is that one. */
static int
connect_targets(const struct target *t, size_t n, size_t *which)
{
	size_t	 i;
	int	 s = -1;

	for (i = 0; i < n && s == -1; i++)
		s = connect_host(t[i].host, t[i].port);
	*which = i - 1;
	return s;
}

/*
 * Without a host: the SRV targets of the domain, falling back to the
 * domain itself on port 5222 (RFC 6120 3.2).  In direct mode the
 * _xmpps-client targets join them (XEP-0368) and each target gets its
 * own kind of TLS: STARTTLS on an _xmpp-client one or the fallback.
 */
static int
connect_domain(const char *domain, enum mode *mode)
{
	struct target	*t, fallback;
	size_t		 i;
	int		 n, s;

	if ((n = srv_lookup(domain, *mode == MODE_DIRECT, &t)) == -1)
		errx(EXIT_CONNECT, "%s: no XMPP service (SRV target \".\")",
		    domain);
	if (n == 0) {
		fallback.host = (char *)domain;
		(void)strlcpy(fallback.port, XMPP_PORT, sizeof fallback.port);
		fallback.direct = 0;
		t = &fallback;
	}
	s = connect_targets(t, n > 0 ? (size_t)n : 1, &i);
	if (s != -1 && *mode == MODE_DIRECT && !t[i].direct)
		*mode = MODE_STARTTLS;
	if (n > 0)
		targets_free(t, n);
	return s;
}

/* A message of one byte, the mode, with room for one descriptor. */
struct fdmsg {
	struct msghdr	 msg;
	struct iovec	 iov;
	unsigned char	 mode;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} c;
};

static void
fdmsg_init(struct fdmsg *f)
{
	memset(f, 0, sizeof *f);
	f->iov.iov_base = &f->mode;
	f->iov.iov_len = 1;
	f->msg.msg_iov = &f->iov;
	f->msg.msg_iovlen = 1;
	f->msg.msg_control = f->c.buf;
	f->msg.msg_controllen = sizeof f->c.buf;
}

/* Passes s, and the mode it speaks, on the socket sp. */
static void
socket_send(int sp, int s, enum mode mode)
{
	struct fdmsg	 f;
	struct cmsghdr	*cm;

	fdmsg_init(&f);
	f.mode = mode;
	cm = CMSG_FIRSTHDR(&f.msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &s, sizeof(int));
	if (sendmsg(sp, &f.msg, MSG_NOSIGNAL) != 1)
		err(EXIT_LOCAL, "sendmsg");
}

/* The socket socket_send passed, and its mode; -1 when none came. */
static int
socket_recv(int sp, enum mode *mode)
{
	struct fdmsg	 f;
	struct cmsghdr	*cm;
	ssize_t		 n;
	int		 s = -1;

	fdmsg_init(&f);
	while ((n = recvmsg(sp, &f.msg, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n != 1)
		return -1;
	for (cm = CMSG_FIRSTHDR(&f.msg); cm != NULL;
	    cm = CMSG_NXTHDR(&f.msg, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&s, CMSG_DATA(cm), sizeof(int));
	if (s != -1)
		*mode = f.mode;
	return s;
}

/*
 * In the child: the connection, and with STARTTLS its preamble, made
 * and passed to the parent on sp; its own errors and exit statuses.
 */
static void
connect_child(int sp, const char *host, const char *port,
    const char *domain, enum mode mode)
{
	int	 s;

	/* (no connection of ours lives on without the one who asked) */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		err(EXIT_LOCAL, "prctl");
	if (host != NULL)
		s = connect_host(host, port);
	else
		s = connect_domain(domain, &mode);
	if (s == -1)
		errx(EXIT_CONNECT, "could not connect: %s", tried);
	/* A dead target the next one stood in for is worth one line. */
	if (tried[0] != '\0')
		warnx("passed over: %s", tried);
	if (mode == MODE_STARTTLS)
		starttls(s, domain);
	socket_send(sp, s, mode);
	exit(0);
}

/*
 * The connection (its address found, connected, the STARTTLS preamble
 * spoken) is made by a child, which passes the socket on: the resolver,
 * the name service modules and the preamble's parser are then never
 * part of the process that stays up with the session (some 250 KiB
 * resident).  The child's failure is ours: its status, its signal.
 */
static int
connect_session(const char *host, const char *port, const char *domain,
    enum mode *mode)
{
	pid_t	 pid;
	int	 sp[2], s, st;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		err(EXIT_LOCAL, "socketpair");
	if ((pid = fork()) == -1)
		err(EXIT_LOCAL, "fork");
	if (pid == 0) {
		close(sp[0]);
		connect_child(sp[1], host, port, domain, *mode);
	}
	close(sp[1]);
	s = socket_recv(sp[0], mode);
	close(sp[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			err(EXIT_LOCAL, "waitpid");
	if (s != -1)
		return s;
	if (WIFSIGNALED(st))
		die_by(WTERMSIG(st));
	if (WEXITSTATUS(st) != 0)
		exit(WEXITSTATUS(st));
	errx(EXIT_LOCAL, "connecting: no socket from the child");
}

void
clear_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		err(EXIT_LOCAL, "fcntl");
}

void
relay_init(struct relay *r, const char *from, int in, const char *to,
    int out, int ours)
{
	memset(r, 0, sizeof *r);
	r->from = from;
	r->to = to;
	r->in = in;
	r->out = out;
	r->ours = ours;
	if ((r->buf = malloc(RELAY_BUF)) == NULL)
		err(EXIT_LOCAL, NULL);
}

void
relay_free(struct relay *r, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(r[i].buf);
}

static void
relay_eof(struct relay *r)
{
	r->eof = 1;
	if (r->len > 0)
		return;
	r->done = 1;
	if (r->eofshut)
		(void)shutdown(r->out, SHUT_WR);
}

static void
relay_fail(struct relay *r, int which)
{
	const char	*what = which == FATAL_READ ? "read from" : "write to";
	const char	*name = which == FATAL_READ ? r->from : r->to;

	r->error = errno;
	/* Trouble on the server's socket is a lost connection. */
	if ((r->fatal & which) && strcmp(name, "server") == 0)
		errx(EXIT_LOST, "connection lost: %s %s: %s", what, name,
		    strerror(r->error));
	if (r->fatal & which)
		errx(EXIT_LOCAL, "%s %s: %s", what, name, strerror(r->error));
	r->len = 0;
	relay_eof(r);
}

static void	 relay_write(struct relay *);

static void
relay_read(struct relay *r)
{
	ssize_t	 n;

	if ((n = read(r->in, r->buf, RELAY_BUF)) == -1) {
		if (errno != EINTR && errno != EAGAIN)
			relay_fail(r, FATAL_READ);
	} else if (n == 0)
		relay_eof(r);
	else {
		if (r->capdir != NULL)
			capture(r->capdir, r->buf, n);
		if (r->first != NULL) {
			r->first();
			r->first = NULL;
		}
		r->off = 0;
		r->len = n;
		/* A socket of ours takes it at once, most often: no poll. */
		if (r->ours)
			relay_write(r);
	}
}

static void
relay_write(struct relay *r)
{
	size_t	 len = r->len;
	ssize_t	 n;

	/*
	 * stdout is shared with the pipeline and stays blocking: POLLOUT
	 * promises room for PIPE_BUF bytes only.
	 */
	if (!r->ours && len > PIPE_BUF)
		len = PIPE_BUF;
	if ((n = write(r->out, r->buf + r->off, len)) == -1) {
		if (errno != EINTR && errno != EAGAIN)
			relay_fail(r, FATAL_WRITE);
		return;
	}
	r->off += n;
	r->len -= n;
	if (r->len == 0 && r->eof)
		relay_eof(r);
}

/* What r waits for: room to write what it holds, or input. */
void
relay_pollfd(const struct relay *r, struct pollfd *pfd)
{
	if (r->len > 0) {
		pfd->fd = r->out;
		pfd->events = POLLOUT;
	} else {
		pfd->fd = r->in;
		pfd->events = POLLIN;
	}
	pfd->revents = 0;
}

/* Acts on what poll said of the pollfd relay_pollfd filled in. */
void
relay_ready(struct relay *r, const struct pollfd *pfd)
{
	if (pfd->revents == 0)
		return;
	if (pfd->events == POLLOUT)
		relay_write(r);
	else if (pfd->revents & POLLNVAL)
		relay_eof(r);
	else
		relay_read(r);
}

static int
relay_finished(const struct relay *r, size_t n, unsigned need)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((need & 1U << i) && !r[i].done)
			return 0;
	return 1;
}

/*
 * Relays until every r[i] with bit i set in need is done: its input
 * ended and all it read is written.  A direction reads only when its
 * buffer is empty, so a slow reader slows its writer down.
 */
void
relay_run(struct relay *r, size_t n, unsigned need)
{
	struct pollfd	 pfd[8];
	struct relay	*who[8];
	struct timespec	 ts, *tsp;
	sigset_t	 block, orig;
	long long	 end = 0, left;
	size_t		 i, np;

	/* Stop signals get through in ppoll only: none is missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &block, &orig) == -1)
		err(EXIT_LOCAL, "sigprocmask");
	relaying = 1;
	while (!relay_finished(r, n, need)) {
		for (i = np = 0; i < n && np < 8; i++) {
			if (r[i].done)
				continue;
			relay_pollfd(&r[i], &pfd[np]);
			who[np++] = &r[i];
		}
		tsp = NULL;
		if (stop_sig != 0) {
			if (end == 0)
				end = now_ms() + STOP_WAIT;
			if ((left = end - now_ms()) <= 0)
				die_by(stop_sig);
			ts.tv_sec = left / 1000;
			ts.tv_nsec = left % 1000 * 1000000;
			tsp = &ts;
		}
		if (ppoll(pfd, np, tsp, &orig) == -1) {
			if (errno == EINTR)
				continue;
			err(EXIT_LOCAL, "poll");
		}
		for (i = 0; i < np; i++)
			relay_ready(who[i], &pfd[i]);
	}
	relaying = 0;
	if (sigprocmask(SIG_SETMASK, &orig, NULL) == -1)
		err(EXIT_LOCAL, "sigprocmask");
}

/* Plain mode: stdin -> server, server -> stdout. */
static int
plain_run(int s)
{
	struct relay	 r[2];

	relay_init(&r[0], "stdin", 0, "server", s, 1);
	r[0].capdir = CAP_TO;
	r[0].eofshut = 1;
	/* A server that closed first shows as EOF on the read side. */
	r[0].fatal = FATAL_READ;
	relay_init(&r[1], "server", s, "stdout", 1, 0);
	r[1].capdir = CAP_FROM;
	r[1].fatal = FATAL_READ | FATAL_WRITE;
	relay_run(r, 2, 1 << 1);
	relay_free(r, 2);
	return EXIT_CLOSED;
}

/* -s fd: open, and none of the stages' business. */
static int
status_fd(const char *arg)
{
	const char	*errstr;
	int		 fd;

	fd = strtonum(arg, 1, INT_MAX, &errstr);
	if (errstr != NULL || fd == 2)
		errx(EXIT_LOCAL, "-s %s: want a descriptor, 1 or from 3",
		    arg);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		err(EXIT_LOCAL, "-s %d", fd);
	return fd;
}

/*
 * The operands after the options: [host[:port]] [-- reader ... --
 * writer ...].  getopt has eaten the first "--" when no host came
 * before it (eaten: argv[-1], the word before the operands, is "--"
 * and was no option's argument).
 */
static void
parse_operands(int argc, char *argv[], int eaten, char **hostport,
    struct owner *o)
{
	int	 i;

	*hostport = NULL;
	if (!eaten && argc > 0 && strcmp(argv[0], "--") != 0) {
		*hostport = argv[0];
		argc--;
		argv++;
	}
	if (!eaten) {
		if (argc == 0)
			return;
		if (strcmp(argv[0], "--") != 0)
			usage(stderr, EXIT_LOCAL);
		argc--;
		argv++;
	} else if (argc == 0)
		usage(stderr, EXIT_LOCAL);
	/* The reader's words up to the next "--", the writer's the rest. */
	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		;
	if (i == 0 || i >= argc - 1) {
		warnx("want -- reader [arg ...] -- writer [arg ...]");
		usage(stderr, EXIT_LOCAL);
	}
	argv[i] = NULL;
	o->reader = argv;
	o->writer = argv + i + 1;
}

/* Clear text: the socket itself is the stages', or the -w relay's. */
static int
owner_plain(const struct owner *o, int s)
{
	return owner_run(o, s, s, NULL);
}

static int
owner_tls(const struct owner *o, int s, const struct tlsopt *opt)
{
	struct relay	 tcp[2];
	int		 clear;

	tls_open(s, opt, &clear, tcp);
	return owner_run(o, s, clear, tcp);
}

int
main(int argc, char *argv[])
{
	struct tlsopt	 opt;
	struct owner	 own;
	enum mode	 mode = MODE_STARTTLS;
	const char	*domain = NULL, *port = XMPP_PORT, *capfile = NULL;
	char		*host = NULL, *hostport, *lastarg = NULL;
	int		 ch, s, eaten;

	memset(&opt, 0, sizeof opt);
	memset(&own, 0, sizeof own);
	own.statusfd = -1;
	sanitize_fds();
	catch_signal(SIGTERM);
	catch_signal(SIGINT);
	catch_signal(SIGHUP);
	/* '+': options first, the stages' own options are theirs. */
	while ((ch = getopt(argc, argv, "+C:d:hINs:t:TVw:")) != -1) {
		lastarg = optarg;
		switch (ch) {
		case 'C':
			opt.cafile = optarg;
			break;
		case 'd':
			domain = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'I':
			opt.insecure = 1;
			break;
		case 'N':
			notes = 1;
			break;
		case 's':
			own.statusfd = status_fd(optarg);
			break;
		case 't':
			mode = parse_mode(optarg);
			break;
		case 'T':
			if (!stamping())
				stamp_start();
			break;
		case 'V':
			printf("xmpp-connect %s\n", VERSION);
			return 0;
		case 'w':
			capfile = optarg;
			break;
		default:
			usage(stderr, EXIT_LOCAL);
		}
	}
	eaten = optind > 1 && strcmp(argv[optind - 1], "--") == 0 &&
	    argv[optind - 1] != lastarg;
	argc -= optind;
	argv += optind;
	parse_operands(argc, argv, eaten, &hostport, &own);
	if (own.statusfd != -1 && own.reader == NULL) {
		warnx("-s: only with a reader and a writer");
		usage(stderr, EXIT_LOCAL);
	}
	if (hostport != NULL)
		parse_hostport(hostport, &host, &port);
	if (domain == NULL && host == NULL) {
		warnx("a host or -d domain is needed");
		usage(stderr, EXIT_LOCAL);
	}
	opt.domain = domain != NULL ? domain : host;
	check_tlsopt(&opt);
	if (capfile != NULL)
		capture_open(capfile);
	own.capture = capfile != NULL;

	/* A vanished reader shows up as EPIPE, handled where it happens. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(EXIT_LOCAL, "signal");
	s = connect_session(host, port, opt.domain, &mode);
	if (own.reader != NULL && mode == MODE_PLAIN)
		return owner_plain(&own, s);
	if (own.reader != NULL)
		return owner_tls(&own, s, &opt);
	if (mode == MODE_PLAIN)
		return plain_run(s);
	return tls_run(s, &opt);
}
