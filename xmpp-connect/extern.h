/*
 * extern.h - the parts of xmpp-connect(1).
 *
 * xmpp-connect.c: options, TCP connect, the byte relay; capture.c: -w.
 * dns.c: SRV lookup and ordering (RFC 2782).
 * tls.c: the STARTTLS preamble and the stunnel(8) arrangement.
 */
#ifndef EXTERN_H
#define EXTERN_H

#include <sys/types.h>
#include <poll.h>
#include <stddef.h>

/* Exit statuses, as in the EXIT STATUS section of xmpp-connect(1). */
enum {
	EXIT_CLOSED = 0,	/* the server closed the connection */
	EXIT_LOCAL = 1,		/* usage or local error */
	EXIT_CONNECT = 2,	/* DNS failed or no address answered */
	EXIT_LOST = 3,		/* connection lost after it was up */
	EXIT_CERT = 4,		/* TLS: server certificate rejected */
	EXIT_TLS = 5,		/* TLS: handshake or stunnel failure */
	EXIT_STARTTLS = 6,	/* STARTTLS not offered or refused */
	EXIT_STREAM = 7		/* a stream error retrying would meet again */
};

enum mode {
	MODE_STARTTLS,
	MODE_DIRECT,
	MODE_PLAIN
};

#define XMPP_PORT	"5222"

// dns.c
struct target {
	char	*host;
	char	 port[6];
	int	 direct;	/* from _xmpps-client: TLS from the first byte */
};
/*
 * Looks up the _xmpp-client SRV records of DOMAIN, and with direct its
 * _xmpps-client ones too (XEP-0368), and returns the targets in the
 * order to try them.  Returns the number of targets, 0 when there is no
 * record, -1 when the domain says there is no such service (a "."
 * target and nothing else).
 */
int	 srv_lookup(const char *domain, int direct, struct target **);
void	 targets_free(struct target *, size_t);

// xmpp-connect.c
/* One direction of a relay: bytes read from in are written to out. */
struct relay {
	const char	*from, *to;	/* for messages: "server", "stdin" */
	int		 in, out;
	int		 ours;	/* out is a non-blocking socket we made */
	int		 eofshut;	/* on EOF: shutdown(out, SHUT_WR) */
	int		 fatal;	/* FATAL_READ, FATAL_WRITE: exit at once */
	int		 error;	/* errno of the failure, 0 if none */
	int		 done;	/* EOF seen and everything written */
	int		 eof;
	const char	*capdir;	/* capture what is read, as this DIR */
	void		(*first)(void);	/* called once, on the first bytes read */
	char		*buf;
	size_t		 off, len;
};
#define FATAL_READ	1
#define FATAL_WRITE	2
void	 relay_init(struct relay *, const char *, int, const char *, int,
	    int);
void	 relay_run(struct relay *, size_t, unsigned);
void	 relay_free(struct relay *, size_t);
void	 relay_pollfd(const struct relay *, struct pollfd *);
void	 relay_ready(struct relay *, const struct pollfd *);
void	 set_nonblock(int);
long long	 now_ms(void);	/* CLOCK_MONOTONIC */
void	 clear_nonblock(int);
/* Ends as killed by the signal would, stunnel and its directory gone. */
void	 die_by(int);
extern int	 notes;

// owner.c: owner mode, the two stages on the connection
struct owner {
	char	**reader, **writer;	/* argv, NULL-terminated */
	int	 statusfd;	/* -s, or -1 */
	int	 capture;	/* -w: relay through us */
};
/*
 * Runs the stages on conn (link itself in clear text, else stunnel's
 * clear side, with tcp[0], tcp[1] the relays stunnel <-> server) and
 * returns the exit status once they and the connection have ended.
 */
int	 owner_run(const struct owner *, int link, int conn, struct relay *tcp);

// stamp.c: -T, every line of the log after its UTC time
void	 stamp_start(void);	/* our own stderr stream stamped */
int	 stamping(void);
/* Owner mode: the stages' stderr, a pipe; its read end is stamp_fd. */
int	 stamp_pipe(void);
int	 stamp_fd(void);	/* -1: none, or its writers are gone */
/* Reads the stages' lines: one read, or all (their end: all that is left). */
void	 stamp_read(int all);

// xmpp-connect.c: -w, see CAPTURE FORMAT in xmpp-connect(1)
#define CAP_FROM	"<"	/* from the server: what goes to stdout */
#define CAP_TO		">"	/* to the server: what came from stdin */
#define CAP_PRE_FROM	"p<"	/* the STARTTLS preamble, our own */
#define CAP_PRE_TO	"p>"
void	 capture_open(const char *);
void	 capture(const char *dir, const char *, size_t);

// tls.c
struct tlsopt {
	const char	*domain;	/* name to verify and send as SNI */
	const char	*cafile;	/* NULL: the system store */
	int		 insecure;	/* skip certificate verification */
};
/* Speaks the clear-text preamble on fd up to <proceed/>; exits on failure. */
void	 starttls(int fd, const char *domain);
/* Runs stunnel over fd and relays stdin/stdout; returns the exit status. */
int	 tls_run(int fd, const struct tlsopt *);
/* Kills stunnel, removes its directory; async-signal-safe. */
void	 tls_cleanup(void);
/*
 * Owner mode: stunnel started on fd and its handshake done, *clear its
 * clear side, tcp[0] and tcp[1] the relays to and from the server.
 */
void	 tls_open(int fd, const struct tlsopt *, int *clear, struct relay *tcp);
/* 1 if pid was stunnel's, its status kept for tls_end. */
int	 tls_reaped(pid_t, int status);
/* stunnel KILLed on purpose: its end says nothing of the server. */
void	 tls_kill(void);
/*
 * After the session: exits as tls_run would on a failure, or on a loss
 * if check_lost.
 */
void	 tls_end(struct relay *r, int check_lost);

#endif
