/*
 * extern.h - the parts of xmpp-echo(1), one job a file.
 *
 * xmpp-echo.c: the options, main().
 * output.c: the output queue, tracing, the exit and its counters.
 * auth.c: the stream header and SASL (sasl.c: SCRAM and PLAIN).
 * login.c: the state machine: the login's steps, bind, roster, online.
 * stream.c: input: records read, traced and dispatched; stream errors.
 * session.c: answers to iqs and presence, stanzas handed on.
 * echo.c: the built-in handler, the echo of a message.
 * flood.c: flood and loop control, a token bucket per sender.
 * jid.c: addresses, ours and peers' (RFC 7622).
 * live.c: timers, keepalive and pings, signals, the main loop's wait.
 * password.c: the password from a file, the environment or a terminal.
 * handler.c: -x, the records to and from the handler.
 * check.c: -x, what a handler may send.
 * supervise.c: -x, the process that runs the handler and restarts it.
 * sm.c: stream management (XEP-0198): counters, acks, resumption.
 * smfile.c: -S, the state resumption needs, kept in a file.
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
#define ECHOES_KEPT	32	/* recent echoes kept per sender: loops */
#define ECHO_WINDOW	10000	/* ms: an echo back within it is a loop */
#define IDS_KEPT	16	/* a sender's ids mapped to our echoes' */
#define ID_MAX		32	/* bytes of our ids, NUL included */
#define CAPS_NODE	"https://echobot.invalid/"	/* XEP-0115 */

#define NS_PING		"urn:xmpp:ping"
#define NS_DISCO_INFO	"http://jabber.org/protocol/disco#info"
#define NS_VERSION	"jabber:iq:version"
#define NS_ROSTER	"jabber:iq:roster"
#define NS_RECEIPTS	"urn:xmpp:receipts"
#define NS_CORRECT	"urn:xmpp:message-correct:0"
#define NS_CAPS		"http://jabber.org/protocol/caps"
#define NS_SM		"urn:xmpp:sm:3"

#define SM_WINDOW	5	/* stanzas sent between two <r/> */
/* Unacknowledged stanzas kept: room for the echoes of all that the
 * pipes from the server can hold when the link dies. */
#define SM_QUEUE_MAX	4096
#define SM_QUEUE_BYTES	(2 * 1024 * 1024)	/* their bytes, at most */
#define SM_ID_MAX	1024	/* bytes of a resumption id or location */
/* -x: messages counted only once the handler has read them, at most
 * this many at a time and for this long (sm.c). */
#define SM_HELD_MAX	512
#define SM_HOLD_MAX	10000	/* ms */

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
	S_REFEATURES,	/* features awaited: bind or resume */
	S_RESUME,	/* <resumed/> or <failed/> awaited */
	S_BIND,		/* bind result awaited */
	S_SESSION,	/* session result awaited */
	S_ROSTER,	/* roster result awaited */
	S_ONLINE,	/* presence sent: echoing */
	S_CLOSING	/* our close sent: the server's awaited */
};

/* An echo sent: the hash of its bodies, when; at 0: none, or seen back. */
struct echo {
	uint64_t	 hash;
	int64_t		 at;
};

/* A message of the sender's (the hash of its id) and our echo of it. */
struct echo_id {
	uint64_t	 theirs;
	char		 ours[ID_MAX];	/* "": none */
};

/* A sender's token bucket, and what we echoed to it lately. */
struct sender {
	char		*jid;		/* bare JID, ASCII lower case */
	double		 tokens;
	int64_t		 filled;	/* ms, tokens last counted */
	int64_t		 seen;		/* ms, last message or request */
	int		 told;		/* told its bucket is empty */
	struct echo	 echoes[ECHOES_KEPT];	/* a ring */
	size_t		 nextecho;
	struct echo_id	 ids[IDS_KEPT];		/* a ring */
	size_t		 nextid;
};

/*
 * Stream management (XEP-0198).  Counters are modulo 2^32 (section 4).
 * The queue holds the last qlen stanzas sent, out - qlen + 1 to out,
 * for a resend after resumption.
 */
/* A message given to the handler, not yet counted (see sm_hold()). */
struct held {
	uint32_t	 seq;		/* its number among those received */
	uint64_t	 end;		/* the handler's stdin byte after it */
	int64_t		 at;		/* ms, when queued */
};

struct sm {
	int		 offered;	/* <sm/> in the features */
	int		 on;		/* <enable/> sent: stanzas counted */
	int		 enabled;	/* <enabled/> or <resumed/> came */
	int		 resumed;	/* <resumed/> came */
	char		*id;		/* resumption id; NULL: none */
	char		*location;	/* kept, never used: see -S */
	uint32_t	 in;		/* h: stanzas handled from the server */
	uint32_t	 rcvd;		/* stanzas received: in, and those held */
	struct held	 held[SM_HELD_MAX];	/* a ring, oldest first */
	size_t		 hhead, hlen;
	uint64_t	 hold_next;	/* the stanza being handled is held */
	int		 owed;		/* an <a/> said less than rcvd */
	struct buf	*carry;		/* messages to send after a new bind */
	size_t		 ncarry;
	uint32_t	 out;		/* stanzas sent */
	uint32_t	 acked;		/* of them, acknowledged by the server */
	uint32_t	 asked;		/* out at our last <r/> */
	int64_t		 r_sent;	/* ms; 0: no <a/> awaited */
	struct buf	*q;		/* a ring of SM_QUEUE_MAX */
	size_t		 qhead, qlen, qbytes;
	unsigned long long forgot, resent;
	int		 fd;		/* -S state file; -1: none */
	int		 dirty;		/* state to write */
	uint64_t	 gen;		/* writes of the state file */
	struct buf	 save;		/* the slot being written, kept */
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
	int		 rd;		/* its stdin's read end: what is unread */
	uint64_t	 written;	/* bytes written to its stdin */
	uint64_t	 offered;	/* bytes queued for it, written or not */
	int		 collecting;	/* stanzas kept for a resend, unsent */
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
	int		 notes;		/* -N: say when logged in, online */

	/* liveness, in ms of the monotonic clock */
	int64_t		 keepalive, idle, timeout;	/* -k, -i, -t */
	int64_t		 last_read, last_write;
	struct buf	 out;		/* XML not yet written */
	struct buf	 echo;		/* send_echo()'s, kept */
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
	struct sm	 sm;
	const char	*line;		/* the record being handled, raw */
	size_t		 linelen;

	struct buf	 in;		/* input not yet a whole record */
	size_t		 scanned;	/* bytes of it without a newline */
	sigset_t	 waitmask;	/* signals let in while waiting */
};

struct pollfd;

// output.c
extern int	 output_socket;	/* stdout is a socket: send(2), MSG_DONTWAIT */
int64_t	 now_ms(void);
void	 trace(struct bot *, char, const char *, size_t);
void	 send_xml(struct bot *, struct buf *, const char *);
size_t	 queued(const struct bot *);
int	 out_stalled(const struct bot *, int64_t);
void	 flush_out(struct bot *);
void	 send_str(struct bot *, const char *);
void	 print_counters(const struct bot *);
void	 leave(struct bot *, int) __attribute__((noreturn));
void	 fail(struct bot *, int, const char *, ...)
	    __attribute__((noreturn, format(printf, 3, 4)));
char	*safe_str(const char *);
char	*new_id(struct bot *);
int	 send_bounded(struct bot *, struct buf *);

// auth.c
void	 send_header(struct bot *);
const char	*choose_mech(struct bot *, const struct xnode *);
void	 start_auth(struct bot *);
void	 on_challenge(struct bot *, const struct xnode *);
void	 on_success(struct bot *, const struct xnode *);

// login.c
const char	*condition(const struct xnode *, const char *);
void	 fail_cond(struct bot *, int, const char *, const struct xnode *,
	    const char *) __attribute__((noreturn));
void	 send_iq(struct bot *, const char *, const char *, const char *,
	    const char *, const char *);
void	 send_bind(struct bot *);
void	 go_online(struct bot *);
int	 is_kind(const struct record *, const char *, const char *);
void	 settle(struct bot *);
void	 dispatch(struct bot *, const struct record *);
void	 login_progress(struct bot *, enum state, const struct record *);

// jid.c
int	 own_bare_jid(const struct bot *, const char *);
int	 is_bare_of(const char *bare, const char *jid, size_t barelen);
int	 from_server(const struct bot *, const char *);
int	 to_us(const struct bot *, const char *);
char	*bare_key(const char *);
int	 jid_part_ok(const char *, size_t, const char *);
int	 jid_normalize(char *);
int	 addresses_ok(struct bot *, struct xnode *);

// flood.c
struct sender	*sender_find(struct bot *, const char *, int64_t);
int	 spend_token(struct bot *, const char *);
uint64_t	 body_hash(const struct xnode *);
void	 remember_echo(struct bot *, const char *, uint64_t);
struct sender	*admit(struct bot *, const struct xnode *);

// echo.c
void	 echo_message(struct bot *, const struct xnode *);
int	 message_error(struct bot *, const struct xnode *, const char *,
	    const char *, const char *);

// session.c
void	 on_stanza(struct bot *, const struct record *);
void	 on_skipped(struct bot *, const struct record *);
void	 put_caps(struct buf *);

// stream.c
void	 on_stream_error(struct bot *, const struct xnode *)
	    __attribute__((noreturn));
void	 finish_close(struct bot *);
int	 read_input(struct bot *);
void	 end_of_input(struct bot *) __attribute__((noreturn));

// live.c
void	 setup_signals(struct bot *);
void	 run(struct bot *);

// password.c
char	*get_password(const char *);

// handler.c
void	 handler_start(struct bot *);
int	 handler_offer(struct bot *, const struct xnode *);
int	 handler_poll(struct bot *, struct pollfd *);
void	 handler_io(struct bot *, const struct pollfd *);
int64_t	 handler_deadline(const struct bot *);
void	 handler_stop(struct bot *);
void	 handler_collect(struct bot *);
uint64_t	 handler_read_pos(const struct bot *);
void	 handler_counters(const struct bot *, struct buf *);

// check.c
int	 is_stanza(const struct record *);
const char	*stanza_refused(const struct record *);

// supervise.c
void	 supervise_start(struct handler *);

// sm.c
void	 sm_enable(struct bot *);
void	 sm_resume(struct bot *);
void	 sm_record(struct bot *, const struct record *);
void	 sm_count_in(struct bot *, const struct record *);
void	 sm_hold(struct bot *, uint64_t);
void	 sm_taken(struct bot *);
int	 sm_resumable(const struct bot *);
void	 sm_send_carried(struct bot *);
void	 sm_sent(struct bot *, const struct buf *);
void	 sm_tick(struct bot *);
int	 sm_request_idle(struct bot *);
int64_t	 sm_deadline(const struct bot *);
void	 sm_check_timer(struct bot *, int64_t);
void	 sm_forget(struct bot *);
void	 sm_queue_push(struct sm *, const char *, size_t);
void	 sm_queue_clear(struct sm *);

// smfile.c
void	 sm_state_open(struct bot *, const char *);
void	 sm_state_save(struct bot *);

#endif
