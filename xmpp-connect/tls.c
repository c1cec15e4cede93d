/*
 * tls.c - TLS for xmpp-connect(1): the STARTTLS preamble (RFC 6120
 * section 5) and stunnel(8) in inetd mode.
 *
 * The process tree, for one connection:
 *
 *   xmpp-connect                     stdin/stdout: the clear side
 *    |  relays stdin  <-> sv[0]      (socketpair, stunnel's fd 0 and 1)
 *    |  relays tcp    <-> unix       (accepted once on DIR/tls.sock)
 *    `- stunnel DIR/stunnel.conf     client = yes, connect = DIR/tls.sock
 *
 * stunnel cannot be handed a connected socket, hence the Unix socket in
 * a private directory; our own connect keeps address order and errors
 * the same in every mode.  stunnel is our only child: it is killed on
 * every exit path (atexit, the signal handler of xmpp-connect.c) and
 * with PR_SET_PDEATHSIG, and the directory goes with it.
 */
#define _GNU_SOURCE	/* struct ucred, accept4 */
#include <sys/types.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <expat.h>

#include "expat-eager.h"
#include "record.h"
#include "extern.h"

#define PREAMBLE_MAX	(64 * 1024)	/* the server is untrusted */
#define PREAMBLE_TIMEOUT (30 * 1000)
#define STUNNEL_TIMEOUT	(30 * 1000)	/* until stunnel connects to us */
#define SYSTEM_CAFILE	"/etc/ssl/certs/ca-certificates.crt"
#define NSSEP		' '		/* cannot occur in a namespace URI */

/* The preamble, element by element; see preamble_start/preamble_end. */
enum pstate {
	P_HEADER,	/* waiting for the server's stream header */
	P_FEATURES,	/* waiting for <stream:features> */
	P_PROCEED,	/* <starttls/> sent, waiting for <proceed/> */
	P_DONE		/* <proceed/>: TLS may start */
};

struct preamble {
	XML_Parser	 parser;
	enum pstate	 state;
	int		 fd;
	int		 depth;
	int		 offered;	/* <starttls/> in the features */
	int		 inerror;	/* inside <stream:error> */
	char		 cond[64];	/* its condition */
	char		 fail[128];	/* why the parse stopped */
	int		 status;	/* the exit status that goes with it */
};

static char	 tmpdir[PATH_MAX], confpath[PATH_MAX], sockpath[PATH_MAX],
		 logpath[PATH_MAX], errpath[PATH_MAX];
static pid_t	 child = -1;
static int	 child_status;	/* owner mode: as reaped by owner.c */
static int	 child_killed;	/* owner mode: KILLed by us at the end */
static const struct tlsopt	*the_opt;

/* The preamble goes out whole, or the connection is lost. */
static void
send_preamble(int fd, const char *p, size_t len)
{
	if (write_all(fd, p, len) == -1)
		err(EXIT_LOST, "connection lost: write to server");
}

static void
preamble_fail_status(struct preamble *pr, int status, const char *fmt,
    const char *arg)
{
	if (pr->fail[0] == '\0') {
		(void)snprintf(pr->fail, sizeof pr->fail, fmt, arg);
		pr->status = status;
	}
	XML_StopParser(pr->parser, XML_FALSE);
}

static void
preamble_fail(struct preamble *pr, const char *fmt, const char *arg)
{
	preamble_fail_status(pr, EXIT_STARTTLS, fmt, arg);
}

/* The stream error's condition decides whether a retry may help. */
static void
preamble_stream_error(struct preamble *pr)
{
	int	 status;

	status = stream_error_permanent(pr->cond) ? EXIT_STREAM : EXIT_LOST;
	preamble_fail_status(pr, status, "stream error from server: %s",
	    pr->cond[0] != '\0' ? pr->cond : "(no condition)");
}

/* Splits expat's "URI local" into the namespace test and the local name. */
static int
is(const char *name, const char *ns, const char *local)
{
	size_t	 len = strlen(ns);

	return strncmp(name, ns, len) == 0 && name[len] == NSSEP &&
	    strcmp(name + len + 1, local) == 0;
}

static const char *
localname(const char *name)
{
	const char	*p = strrchr(name, NSSEP);

	return p != NULL ? p + 1 : name;
}

static void
toplevel_start(struct preamble *pr, const char *name)
{
	if (is(name, NS_STREAM, "features") && pr->state == P_FEATURES)
		return;
	if (is(name, NS_STREAM, "error")) {
		pr->inerror = 1;
		return;
	}
	if (is(name, NS_TLS, "proceed") && pr->state == P_PROCEED)
		return;
	if (is(name, NS_TLS, "failure"))
		preamble_fail(pr, "%s", "server refused STARTTLS (<failure/>)");
	else
		preamble_fail(pr, "unexpected <%s> before TLS",
		    localname(name));
}

static void XMLCALL
preamble_start(void *arg, const char *name, const char **attrs)
{
	struct preamble	*pr = arg;

	(void)attrs;
	if (pr->depth == 0) {
		if (!is(name, NS_STREAM, "stream"))
			preamble_fail(pr, "<%s> is not an XMPP stream",
			    localname(name));
		pr->state = P_FEATURES;
	} else if (pr->depth == 1)
		toplevel_start(pr, name);
	else if (pr->depth == 2 && pr->inerror && pr->cond[0] == '\0' &&
	    strncmp(name, NS_STREAMS_ERR " ", sizeof NS_STREAMS_ERR) == 0)
		(void)strlcpy(pr->cond, localname(name), sizeof pr->cond);
	else if (pr->depth == 2 && is(name, NS_TLS, "starttls"))
		pr->offered = 1;
	pr->depth++;
}

static void
send_starttls(struct preamble *pr)
{
	static const char	 req[] =
	    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

	capture(CAP_PRE_TO, req, sizeof req - 1);
	send_preamble(pr->fd, req, sizeof req - 1);
	pr->state = P_PROCEED;
}

static void XMLCALL
preamble_end(void *arg, const char *name)
{
	struct preamble	*pr = arg;

	/* A close without an error: a server going down, worth a retry. */
	if (--pr->depth == 0)
		preamble_fail_status(pr, EXIT_LOST, "%s",
		    "server closed the stream");
	if (pr->depth != 1)
		return;
	if (pr->inerror)
		preamble_stream_error(pr);
	else if (is(name, NS_STREAM, "features") && !pr->offered)
		preamble_fail(pr, "%s", "server does not offer STARTTLS");
	else if (is(name, NS_STREAM, "features"))
		send_starttls(pr);
	else if (is(name, NS_TLS, "proceed")) {
		pr->state = P_DONE;
		XML_StopParser(pr->parser, XML_FALSE);
	}
}

/* XMPP forbids these (RFC 6120 11.1); a DOCTYPE could also declare entities. */
static void XMLCALL
forbid_doctype(void *arg, const XML_Char *n, const XML_Char *s,
    const XML_Char *p, int i)
{
	(void)n, (void)s, (void)p, (void)i;
	preamble_fail(arg, "%s", "server sent a DOCTYPE");
}

static void XMLCALL
forbid_pi(void *arg, const XML_Char *target, const XML_Char *data)
{
	(void)target, (void)data;
	preamble_fail(arg, "%s", "server sent a processing instruction");
}

static void XMLCALL
forbid_comment(void *arg, const XML_Char *data)
{
	(void)data;
	preamble_fail(arg, "%s", "server sent a comment");
}

static void
send_header(int fd, const char *domain)
{
	struct buf	 b = { 0 };

	/* No from attribute: the account must not leak before TLS. */
	buf_adds(&b, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' to='");
	xml_escapes(&b, domain);
	buf_adds(&b, "' version='1.0'>");
	capture(CAP_PRE_TO, b.p, b.len);
	send_preamble(fd, b.p, b.len);
	buf_free(&b);
}

/* Reads what the server says, at most PREAMBLE_MAX bytes in all. */
static ssize_t
preamble_read(int fd, char *buf, size_t size, size_t total)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	ssize_t		 n;
	int		 r;

	if (total >= PREAMBLE_MAX)
		errx(EXIT_STARTTLS, "STARTTLS: server sent more than %d bytes "
		    "before <proceed/>", PREAMBLE_MAX);
	if (size > PREAMBLE_MAX - total)
		size = PREAMBLE_MAX - total;
	for (;;) {
		/* A hang is no proof of a bad configuration: a retry may do. */
		if ((r = poll(&pfd, 1, PREAMBLE_TIMEOUT)) == 0)
			errx(EXIT_LOST, "STARTTLS: server silent for %d s",
			    PREAMBLE_TIMEOUT / 1000);
		if (r == -1 && errno != EINTR)
			err(EXIT_LOCAL, "poll");
		if (r == -1 || (n = read(fd, buf, size)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err(EXIT_LOST, "connection lost: read from server");
		}
		if (n == 0)
			errx(EXIT_LOST, "STARTTLS: server closed the "
			    "connection");
		return n;
	}
}

static XML_Parser
preamble_parser(struct preamble *pr)
{
	XML_Parser	 p;

	if ((p = XML_ParserCreateNS(NULL, NSSEP)) == NULL)
		err(EXIT_LOCAL, "XML_ParserCreateNS");
	XML_SetUserData(p, pr);
	expat_eager(p);
	XML_SetElementHandler(p, preamble_start, preamble_end);
	XML_SetStartDoctypeDeclHandler(p, forbid_doctype);
	XML_SetProcessingInstructionHandler(p, forbid_pi);
	XML_SetCommentHandler(p, forbid_comment);
	return p;
}

/*
 * Leaves fd right after the server's <proceed/>: the next byte on the
 * wire is stunnel's ClientHello.  Nothing but the stream header and
 * <starttls/> is ever sent in clear text.
 */
void
starttls(int fd, const char *domain)
{
	struct preamble	 pr;
	char		 buf[4096];
	size_t		 total = 0, used;
	ssize_t		 n;

	memset(&pr, 0, sizeof pr);
	pr.fd = fd;
	pr.state = P_HEADER;
	pr.parser = preamble_parser(&pr);
	send_header(fd, domain);
	while (pr.state != P_DONE) {
		n = preamble_read(fd, buf, sizeof buf, total);
		capture(CAP_PRE_FROM, buf, n);
		total += n;
		if (XML_Parse(pr.parser, buf, n, 0) == XML_STATUS_OK)
			continue;
		if (pr.fail[0] != '\0')
			errx(pr.status, "STARTTLS: %s", pr.fail);
		if (pr.state != P_DONE)
			errx(EXIT_STARTTLS, "STARTTLS: bad XML from server: %s",
			    XML_ErrorString(XML_GetErrorCode(pr.parser)));
	}
	/* The server must wait for our ClientHello (RFC 6120 5.4.3.3). */
	used = XML_GetCurrentByteIndex(pr.parser) +
	    XML_GetCurrentByteCount(pr.parser);
	if (used != total)
		errx(EXIT_STARTTLS, "STARTTLS: server sent data after "
		    "<proceed/>");
	XML_ParserFree(pr.parser);
}

/* Async-signal-safe: runs from atexit and from the signal handler. */
void
tls_cleanup(void)
{
	int	 saved = errno;

	/* KILL: stunnel ignores TERM, see exec_stunnel. */
	if (child > 0) {
		(void)kill(child, SIGKILL);
		(void)waitpid(child, NULL, 0);
		child = -1;
	}
	if (tmpdir[0] != '\0') {
		(void)unlink(sockpath);
		(void)unlink(confpath);
		(void)unlink(logpath);
		(void)unlink(errpath);
		(void)rmdir(tmpdir);
		tmpdir[0] = '\0';
	}
	errno = saved;
}

static void
path_in_tmpdir(char *dst, const char *name)
{
	int	 r;

	r = snprintf(dst, PATH_MAX, "%s/%s", tmpdir, name);
	if (r < 0 || r >= PATH_MAX)
		errx(EXIT_LOCAL, "%s: path too long", tmpdir);
}

/* A value for the stunnel configuration: one line, no edge blanks. */
static void
check_confvalue(const char *what, const char *s)
{
	size_t	 len = strlen(s);

	if (strpbrk(s, "\r\n") != NULL || len == 0 || s[0] == ' ' ||
	    s[len - 1] == ' ')
		errx(EXIT_LOCAL, "%s %s: unusable in a stunnel configuration",
		    what, s);
}

static void
make_tmpdir(void)
{
	const char	*base;
	char		 tmpl[PATH_MAX];
	int		 r;

	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	r = snprintf(tmpl, sizeof tmpl, "%s/xmpp-connect.XXXXXXXXXX", base);
	if (r < 0 || (size_t)r >= sizeof tmpl)
		errx(EXIT_LOCAL, "TMPDIR %s: too long", base);
	check_confvalue("TMPDIR", tmpl);
	if (atexit(tls_cleanup) != 0)
		errx(EXIT_LOCAL, "atexit failed");
	/* mkdtemp in place: a signal from now on finds the name to remove. */
	(void)strlcpy(tmpdir, tmpl, sizeof tmpdir);
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';
		err(EXIT_LOCAL, "mkdtemp %s", tmpl);
	}
	path_in_tmpdir(confpath, "stunnel.conf");
	path_in_tmpdir(sockpath, "tls.sock");
	path_in_tmpdir(logpath, "stunnel.log");
	path_in_tmpdir(errpath, "stunnel.err");
}

static void
write_config(const struct tlsopt *opt)
{
	char	 ca[PATH_MAX];
	FILE	*f;
	int	 fd;

	if ((fd = open(confpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || (f = fdopen(fd, "w")) == NULL)
		err(EXIT_LOCAL, "%s", confpath);
	/* Global options only, no [service]: inetd mode on fd 0 and 1. */
	fprintf(f, "; xmpp-connect: one connection to %s\n"
	    "foreground = yes\npid =\nsyslog = no\ndebug = info\n"
	    "output = %s\nclient = yes\nconnect = %s\n"
	    "sslVersionMin = TLSv1.2\nsni = %s\n",
	    opt->domain, logpath, sockpath, opt->domain);
	if (opt->insecure)
		fprintf(f, "verifyChain = no\n");
	else {
		if (realpath(opt->cafile ? opt->cafile : SYSTEM_CAFILE,
		    ca) == NULL)
			err(EXIT_LOCAL, "%s", opt->cafile ? opt->cafile :
			    SYSTEM_CAFILE);
		check_confvalue("CA file", ca);
		/* The name is the XMPP domain, never the SRV target or IP. */
		fprintf(f, "verifyChain = yes\ncheckHost = %s\nCAfile = %s\n",
		    opt->domain, ca);
	}
	if (fclose(f) == EOF)
		err(EXIT_LOCAL, "%s", confpath);
}

static int
listen_unix(void)
{
	struct sockaddr_un	 sun;
	int			 s;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockpath, sizeof sun.sun_path) >=
	    sizeof sun.sun_path)
		errx(EXIT_LOCAL, "%s: path too long for a socket", sockpath);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(EXIT_LOCAL, "socket");
	if (bind(s, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(s, 1) == -1)
		err(EXIT_LOCAL, "%s", sockpath);
	return s;
}

static void
exec_stunnel(int clear, pid_t parent)
{
	int	 fd;

	/* stunnel must not outlive us, even after a SIGKILL. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(126);
	(void)signal(SIGPIPE, SIG_DFL);
	/*
	 * A TERM to the whole process group must not cut the link before
	 * the client's goodbye has gone through: we end stunnel ourselves.
	 */
	(void)signal(SIGTERM, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	if ((fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    dup2(clear, 0) == -1 || dup2(clear, 1) == -1 || dup2(fd, 2) == -1)
		_exit(126);
	/* Nothing of the pipeline's (fifos, sockets) may outlive us in it. */
	closefrom(3);
	execlp("stunnel", "stunnel", confpath, (char *)NULL);
	dprintf(2, "stunnel: %s\n", strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static int
spawn_stunnel(void)
{
	pid_t	 parent = getpid();
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		err(EXIT_LOCAL, "socketpair");
	switch (child = fork()) {
	case -1:
		err(EXIT_LOCAL, "fork");
	case 0:
		exec_stunnel(sv[1], parent);
	}
	close(sv[1]);
	return sv[0];
}

/* Copies the text after "LOGn[..]: " of the last line holding key. */
static int
log_find(const char *key, char *out, size_t size)
{
	FILE	*f;
	char	*line = NULL, *p;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 found = 0;

	if ((f = fopen(logpath, "r")) == NULL)
		return 0;
	while ((n = getline(&line, &cap, f)) != -1) {
		if ((p = strstr(line, key)) == NULL)
			continue;
		found = 1;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if ((p = strstr(line, "]: ")) != NULL)
			p += 3;
		else
			p = line;
		(void)strlcpy(out, p, size);
	}
	free(line);
	fclose(f);
	return found;
}

/* stunnel's stderr: configuration errors, or why exec failed. */
static int
first_line(const char *path, char *out, size_t size)
{
	FILE	*f;
	int	 found = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(out, size, f) != NULL) {
		out[strcspn(out, "\n")] = '\0';
		found = out[0] != '\0';
	}
	fclose(f);
	return found;
}

/* "SSL_connect: ../ssl/x.c:1889: error:0A000086:SSL routines::why": why */
static const char *
openssl_reason(const char *line)
{
	const char	*p, *why = line;

	for (p = line; (p = strstr(p, "::")) != NULL; p += 2)
		why = p + 2;
	return *why != '\0' ? why : line;
}

/* Maps stunnel's log to one line and an exit status; 0 if no failure. */
static int
tls_failure(const struct tlsopt *opt, int status)
{
	char	 line[512], *p;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		errx(EXIT_TLS, "TLS: stunnel not found: install stunnel4");
	if (log_find("CERT: Pre-verification error: ", line, sizeof line) ||
	    log_find("CERT: Verification error: ", line, sizeof line)) {
		p = strstr(line, "error: ") + 7;
		errx(EXIT_CERT, "TLS: server certificate rejected: %s", p);
	}
	if (log_find("CERT: Subject checks failed", line, sizeof line))
		errx(EXIT_CERT, "TLS: server certificate rejected: "
		    "not valid for %s", opt->domain);
	if (log_find("Rejected by CERT", line, sizeof line) ||
	    log_find("certificate verify failed", line, sizeof line))
		errx(EXIT_CERT, "TLS: server certificate rejected: %s", line);
	if (log_find("TLS connected", line, sizeof line))
		return 0;
	if (log_find("LOG3[", line, sizeof line))
		errx(EXIT_TLS, "TLS: handshake failed: %s",
		    openssl_reason(line));
	if (first_line(errpath, line, sizeof line))
		errx(EXIT_TLS, "TLS: %s", line);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		errx(EXIT_TLS, "TLS: stunnel failed (status %d)", status);
	errx(EXIT_TLS, "TLS: stunnel ended before the handshake");
}

/*
 * With -N: the first clear-text bytes from stunnel mean the handshake
 * is done; its log names the protocol and cipher by then.
 */
static const char	*peer_name;

static void
note_tls(void)
{
	char	 line[512];

	if (log_find("ciphersuite: ", line, sizeof line))
		warnx("TLS established with %s: %s", peer_name, line);
	else
		warnx("TLS established with %s", peer_name);
}

/* Waits until stunnel connects to our socket, or dies trying. */
static int
accept_stunnel(int l, int clear, const struct tlsopt *opt)
{
	struct pollfd	 pfd[2];
	struct ucred	 cred;
	socklen_t	 len = sizeof cred;
	int		 u, r, status;

	pfd[0].fd = l;
	pfd[0].events = POLLIN;
	pfd[1].fd = clear;
	pfd[1].events = POLLIN;
	while ((r = poll(pfd, 2, STUNNEL_TIMEOUT)) == -1 && errno == EINTR)
		;
	if (r == 0)
		errx(EXIT_TLS, "TLS: stunnel did not start");
	if (r == -1)
		err(EXIT_LOCAL, "poll");
	if (!(pfd[0].revents & POLLIN)) {
		/* stunnel closed its side: it failed before connecting. */
		(void)waitpid(child, &status, 0);
		child = -1;
		(void)tls_failure(opt, status);
		errx(EXIT_TLS, "TLS: stunnel exited at start (see its "
		    "configuration errors)");
	}
	if ((u = accept4(l, NULL, NULL, SOCK_CLOEXEC)) == -1)
		err(EXIT_LOCAL, "accept");
	if (getsockopt(u, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.pid != child)
		errx(EXIT_LOCAL, "%s: not connected by our stunnel", sockpath);
	close(l);
	(void)unlink(sockpath);
	return u;
}

/*
 * After a handshake: a socket error or a TLS error (say a bad record)
 * is a lost connection, unless the server's close_notify came first.
 * Prosody, for one, resets the connection with our last bytes unread.
 */
static void
lost_check(const struct relay *r)
{
	char	 line[512];
	int	 e = r[3].error ? r[3].error : r[2].error;

	if (log_find("TLS closed (SSL_read)", line, sizeof line))
		return;
	if (e != 0)
		errx(EXIT_LOST, "connection lost: server: %s", strerror(e));
	if (log_find("LOG3[", line, sizeof line))
		errx(EXIT_LOST, "connection lost: TLS: %s",
		    openssl_reason(line));
}

/*
 * stunnel started in its directory and connected to us; tcp[0] and
 * tcp[1] set up to relay between it and the server's socket fd.
 * Returns stunnel's clear side.
 */
static int
tunnel_start(int fd, const struct tlsopt *opt, struct relay *tcp)
{
	int	 l, u, clear;

	make_tmpdir();
	write_config(opt);
	l = listen_unix();
	clear = spawn_stunnel();
	u = accept_stunnel(l, clear, opt);
	set_nonblock(u);
	set_nonblock(fd);
	relay_init(&tcp[0], "stunnel", u, "server", fd, 1);
	tcp[0].eofshut = 1;
	relay_init(&tcp[1], "server", fd, "stunnel", u, 1);
	tcp[1].eofshut = 1;
	return clear;
}

int
tls_run(int fd, const struct tlsopt *opt)
{
	struct relay	 r[4];
	int		 clear, status;

	clear = tunnel_start(fd, opt, r + 2);
	set_nonblock(clear);

	relay_init(&r[0], "stdin", 0, "stunnel", clear, 1);
	r[0].capdir = CAP_TO;
	r[0].eofshut = 1;
	r[0].fatal = FATAL_READ;
	relay_init(&r[1], "stunnel", clear, "stdout", 1, 0);
	r[1].capdir = CAP_FROM;
	r[1].fatal = FATAL_WRITE;
	if (notes) {
		peer_name = opt->domain;
		r[1].first = note_tls;
	}
	/* Until stunnel has closed both its clear side and its TLS side. */
	relay_run(r, 4, 1 << 1 | 1 << 2);

	close(clear);
	(void)waitpid(child, &status, 0);
	child = -1;
	(void)tls_failure(opt, status);
	lost_check(r);
	close(r[2].in);
	relay_free(r, 4);
	close(fd);
	return EXIT_CLOSED;
}

/*
 * Owner mode starts the stages once TLS is up: until stunnel logs
 * "TLS connected" (inotify on its directory wakes us for each line),
 * the handshake is relayed here; a failure ends us as in tls_run.
 */
static void
handshake_wait(int clear, struct relay *tcp, const struct tlsopt *opt)
{
	struct pollfd	 pfd[4];
	struct relay	*who[2];
	char		 line[512], ev[4096];
	size_t		 i, np;
	int		 in, r, status;
	long long	 end = now_ms() + STUNNEL_TIMEOUT, left;

	if ((in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1 ||
	    inotify_add_watch(in, tmpdir, IN_MODIFY | IN_CLOSE_WRITE) == -1)
		err(EXIT_LOCAL, "inotify %s", tmpdir);
	while (!log_find("TLS connected", line, sizeof line)) {
		for (i = np = 0; i < 2; i++) {
			if (tcp[i].done)
				continue;
			relay_pollfd(&tcp[i], &pfd[np]);
			who[np++] = &tcp[i];
		}
		pfd[np].fd = in;
		pfd[np].events = POLLIN;
		pfd[np + 1].fd = clear;
		pfd[np + 1].events = POLLIN;
		/* A deadline: a server trickling bytes does not move it. */
		left = end - now_ms();
		if (left <= 0 || (r = poll(pfd, np + 2, left)) == 0)
			errx(EXIT_LOST, "TLS: no handshake in %d s",
			    STUNNEL_TIMEOUT / 1000);
		if (r == -1 && errno != EINTR)
			err(EXIT_LOCAL, "poll");
		if (r == -1)
			continue;
		for (i = 0; i < np; i++)
			relay_ready(who[i], &pfd[i]);
		while (read(in, ev, sizeof ev) > 0)
			;
		/* Nothing comes clear before we speak: stunnel has ended. */
		if (pfd[np + 1].revents != 0 &&
		    !log_find("TLS connected", line, sizeof line)) {
			(void)waitpid(child, &status, 0);
			child = -1;
			(void)tls_failure(opt, status);
		}
	}
	close(in);
	if (notes) {
		peer_name = opt->domain;
		note_tls();
	}
}

void
tls_open(int fd, const struct tlsopt *opt, int *clear, struct relay *tcp)
{
	the_opt = opt;
	*clear = tunnel_start(fd, opt, tcp);
	handshake_wait(*clear, tcp, opt);
}

int
tls_reaped(pid_t pid, int status)
{
	if (pid != child || child <= 0)
		return 0;
	child = -1;
	child_status = status;
	return 1;
}

void
tls_kill(void)
{
	if (child > 0)
		child_killed = 1;
	tls_cleanup();
}

/* r[2] and r[3] are the relays of tls_open. */
void
tls_end(struct relay *r, int check_lost)
{
	if (child_killed)
		return;
	if (child > 0) {
		(void)waitpid(child, &child_status, 0);
		child = -1;
	}
	(void)tls_failure(the_opt, child_status);
	if (check_lost)
		lost_check(r);
}
