/*
 * extern.h - the parts of xmpp-echo(1).
 *
 * xmpp-echo.c: options, login, the session, answers and timers.
 * handler.c: -x, the records to and from the handler, checked.
 * supervise.c: -x, the process that runs the handler and restarts it.
 * sasl.c: SCRAM and PLAIN (sasl.h).
 */
#ifndef EXTERN_H
#define EXTERN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "record.h"
#include "sasl.h"

#define JID_PART_MAX	1023	/* RFC 7622 section 3: bytes per part */
#define MAX_MECHS	8
#define RECORD_MAX	(64 * 1024 * 1024)	/* a 16 MiB stanza, escaped */
#define SENDERS_MAX	1024	/* token buckets kept; the oldest goes */
#define CLOSE_WAIT	3000	/* ms to wait for the server's close */
#define OUT_MAX		(1024 * 1024)	/* bytes queued: then input waits */
#define TRACE_CHUNK	(256 * 1024)	/* bytes traced per write(2) */
#define STANZA_MIN	10000	/* -L: room for an error to any JID */
#define IQ_COPY_MAX	1024	/* bytes of a request copied in an error */

#define NS_PING		"urn:xmpp:ping"
#define NS_DISCO_INFO	"http://jabber.org/protocol/disco#info"
#define NS_VERSION	"jabber:iq:version"
#define NS_ROSTER	"jabber:iq:roster"

/* Exit statuses, as in xmpp-echo(1). */
enum {
	EX_OK = 0,
	EX_LOCAL = 1,
	EX_AUTH = 2,
	EX_STREAM = 3,		/* stream error: retrying may help */
	EX_PROTO = 4,
	EX_EOF = 5,
	EX_STREAM_FATAL = 6,	/* stream error: retrying cannot help */
	EX_CONFLICT = 7,	/* another session took our resource */
	EX_TIMEOUT = 8		/* the server stopped answering */
};

enum state {
	S_OPEN,		/* stream header awaited (before SASL) */
	S_FEATURES,	/* features awaited: pick a mechanism */
	S_SASL,		/* challenge, success or failure awaited */
	S_REOPEN,	/* stream header awaited after SASL */
	S_REFEATURES,	/* features awaited: bind */
	S_BIND,		/* bind result awaited */
	S_SESSION,	/* session result awaited */
	S_ROSTER,	/* roster result awaited */
	S_ONLINE,	/* presence sent: echoing */
	S_CLOSING	/* our close sent: the server's awaited */
};

/* A sender's token bucket, and what we last echoed to it. */
struct sender {
	char		*jid;		/* bare JID, ASCII lower case */
	double		 tokens;
	int64_t		 filled;	/* ms, tokens last counted */
	int64_t		 seen;		/* ms, last message or request */
	uint64_t	 last_echo;	/* hash of its bodies */
	int		 echoed;	/* last_echo is set */
};

struct counters {
	unsigned long long	 echoed, rate, size, loop, iq, jid;
};

/*
 * The handler of -x, as xmpp-echo sees it: three descriptors to a
 * supervisor process forked before the sandbox (supervise.c), which
 * runs the command and restarts it.
 */
struct handler {
	const char	*cmd;		/* NULL: messages are echoed */
	int		 in;		/* the handler's stdin */
	int		 out;		/* the handler's stdout */
	int		 ctl;		/* the supervisor: "up", "down" */
	int		 up;		/* the handler runs */
	struct buf	 q;		/* records not yet in its stdin */
	size_t		 qoff;		/* the part of q already written */
	struct buf	 lines;		/* its output not yet handled */
	int		 skipping;	/* dropping a line too long */
	double		 tokens;	/* what it may send now */
	int64_t		 filled;
	long long	 rate;		/* -O, stanzas a minute */
	unsigned long long lineno;	/* lines read from it */
	unsigned long long handed, sent, refused, busy;
};

struct bot {
	enum state	 state;
	int		 verbose;
	int		 plain_ok;	/* -e or -P */
	int		 approve;	/* approve subscription requests */
	const char	*status;	/* -s */
	const char	*mechs[MAX_MECHS];	/* acceptable, best first */
	size_t		 nmechs;
	char		*local, *domain, *bare, *resource;
	char		*full;		/* bound JID */
	char		*pass;
	const char	*mech;		/* the one chosen */
	struct scram	 scram;
	int		 session;	/* session required by the server */
	char		 idprefix[9];
	unsigned long	 idseq;
	char		*pending;	/* id of the bind, session, roster iq */
	int		 open;		/* our stream header was sent */
	int		 was_online;	/* counters worth printing */

	/* liveness, in ms of the monotonic clock */
	int64_t		 keepalive, idle, timeout;	/* -k, -i, -t */
	int64_t		 last_read, last_write;
	struct buf	 out;		/* XML not yet written */
	size_t		 outoff;	/* the part of it already written */
	int64_t		 out_wait;	/* queued or last written; 0: empty */
	int64_t		 step_by;	/* login: the answer awaited by then */
	int64_t		 ping_sent;	/* 0: no ping awaited */
	char		*ping_id;
	int64_t		 close_by;	/* S_CLOSING: give up then */

	/* flood control */
	struct sender	*senders;
	size_t		 nsenders;
	long long	 burst, rate;	/* -b, -R (per minute) */
	long long	 maxbody;	/* -l */
	long long	 maxstanza;	/* -L: bytes of one stanza written */
	struct counters	 count;

	struct handler	 h;		/* -x */
	const char	*line;		/* the record being handled, raw */
	size_t		 linelen;

	struct buf	 in;		/* input not yet a whole record */
	size_t		 scanned;	/* bytes of it without a newline */
	sigset_t	 waitmask;	/* signals let in while waiting */
};

struct pollfd;

// xmpp-echo.c
int64_t	 now_ms(void);
void	 fail(struct bot *, int, const char *, ...)
	    __attribute__((noreturn, format(printf, 3, 4)));
char	*safe_str(const char *);
void	 send_xml(struct bot *, struct buf *, const char *);
size_t	 queued(const struct bot *);
char	*new_id(struct bot *);
int	 jid_normalize(char *);
struct sender	*sender_find(struct bot *, const char *, int64_t);
uint64_t	 body_hash(const struct xnode *);

// handler.c
void	 handler_offer(struct bot *, const struct xnode *);
int	 handler_poll(struct bot *, struct pollfd *);
void	 handler_io(struct bot *, const struct pollfd *);
int64_t	 handler_deadline(const struct bot *);
void	 handler_stop(struct bot *);
void	 handler_counters(const struct bot *, struct buf *);

// supervise.c
void	 supervise_start(struct handler *);

#endif
