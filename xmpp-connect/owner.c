/*
 * owner.c - xmpp-connect as the owner of a session: it starts the two
 * stages on the connection and watches them (OWNER MODE in
 * xmpp-connect(1)).
 *
 *   xmpp-connect                     their parent, same process group
 *    |- reader   stdin: the server's clear text   stdout: a pipe
 *    `- writer   stdin: that pipe                 stdout: to the server
 *
 * Clear text: the stages hold the TCP socket itself.  TLS: they hold
 * stunnel's clear side, and only the tcp <-> unix relay of tls.c runs
 * here.  With -w a relay between them and the connection captures.
 * The first of {the connection, the reader, the writer} to end takes
 * the session down, see begin_end.
 */
#define _GNU_SOURCE	/* ppoll, POLLRDHUP */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

/* From the first end: TERM to every stage left, then KILL. */
#define END_TERM	(5 * 1000)
#define END_KILL	(8 * 1000)
/*
 * A stop signal to us may have gone to the whole group, the writer
 * included: its TERM waits a second, as a second TERM would cut short
 * its wait for the server's close; and a second stop signal within a
 * second is the same stop (a launcher passing on one we got too).
 */
#define STOP_GRACE	1000

enum { READER, WRITER, CONNECTION };
static const char *const who_name[] = { "reader", "writer", "connection" };

struct stage {
	char		**argv;
	pid_t		 pid;		/* -1 once reaped */
	int		 status;	/* as the shell shows it */
	int		 sent;		/* the signals we sent it, a mask */
};

static struct stage	 stages[2] = { { NULL, -1, 0, 0 }, { NULL, -1, 0, 0 } };
static int	 stage_err = -1;	/* -T: their stderr, else 2 as it is */
static volatile sig_atomic_t	 got_stop, got_stop2, got_usr1, got_chld;

struct session {
	struct relay	 r[4];	/* 0, 1: capture; 2, 3: tcp <-> stunnel */
	int		 use[4];
	int		 link;	/* the TCP socket, watched in clear text */
	int		 shared;	/* our copy of the stages' socket */
	int		 tls;
	int		 tunnel_up;	/* stunnel not reaped yet */
	int		 first;	/* READER, WRITER, CONNECTION or -1 */
	int		 gone;	/* the link is known gone */
	int		 lost;	/* errno of a socket error on the link */
	int		 said;	/* the status line is out */
	int		 abandon;	/* END_KILL passed: no more waiting */
	int		 statusfd;
	long long	 term_at, kill_at;	/* 0: not set */
	long long	 bye_at;	/* the writer's TERM, after a stop */
	long long	 stop_at;	/* the first stop signal */
};

static void	 owner_signals(void);

/* At any exit: what the stages wrote last. */
static void
stamp_end(void)
{
	stamp_read(1);
}

static void
on_owner_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (got_stop == 0)
		got_stop = sig;
	else
		got_stop2 = sig;
}

static void
signal_to(int sig, void (*fn)(int))
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = SA_NOCLDSTOP;
	sigfillset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) == -1)
		err(EXIT_LOCAL, "sigaction");
}

static void
signal_stage(int which, int sig)
{
	if (stages[which].pid <= 0)
		return;
	stages[which].sent |= 1 << sig;
	(void)kill(stages[which].pid, sig);
}

/* KILL and reap every stage left; for every way out, atexit too. */
static void
stages_kill(void)
{
	int	 i, st;

	for (i = READER; i <= WRITER; i++) {
		if (stages[i].pid <= 0)
			continue;
		signal_stage(i, SIGKILL);
		if (waitpid(stages[i].pid, &st, 0) == stages[i].pid)
			stages[i].status = WIFSIGNALED(st) ?
			    128 + WTERMSIG(st) : WEXITSTATUS(st);
		stages[i].pid = -1;
	}
}

static void
stages_signal(int sig)
{
	int	 i;

	for (i = READER; i <= WRITER; i++)
		signal_stage(i, sig);
}

/*
 * In the child: in is its stdin, out its stdout; nothing else of ours.
 * The reader ignores the stop signals (it ends by end of file) and
 * gets no descriptor beyond 2; the writer keeps what we inherited
 * beyond 2 (ours are all close-on-exec) and ignores HUP only: TERM and
 * INT are its goodbye.
 */
static void
exec_stage(int which, int in, int out, pid_t parent)
{
	char	**argv = stages[which].argv;
	sigset_t	 none;

	/*
	 * A session without its owner must not live on: on a KILL to us
	 * the stages go too (stunnel does, see tls.c), and in clear text
	 * the connection with them.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(126);

	/* (INT as we found it: ignored in the background, as in a shell) */
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGUSR1, SIG_IGN);
	(void)signal(SIGPIPE, SIG_DFL);
	if (which == READER) {
		(void)signal(SIGINT, SIG_IGN);
		(void)signal(SIGTERM, SIG_IGN);
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 ||
	    (stage_err != -1 && dup2(stage_err, 2) == -1)) {
		warn("%s: dup2", who_name[which]);
		_exit(126);
	}
	if (which == READER)
		closefrom(3);
	execvp(argv[0], argv);
	warn("%s: %s", who_name[which], argv[0]);
	_exit(errno == ENOENT ? 127 : 126);
}

static void
start_stage(int which, int in, int out)
{
	pid_t	 pid, parent = getpid();

	if ((pid = fork()) == -1)
		err(EXIT_LOCAL, "fork");
	if (pid == 0)
		exec_stage(which, in, out, parent);
	stages[which].pid = pid;
}

/* The reader on the connection, the writer after it, a pipe between. */
static void
start_stages(int fd)
{
	int	 p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		err(EXIT_LOCAL, "pipe");
	start_stage(READER, fd, p[1]);
	start_stage(WRITER, p[0], fd);
	close(p[0]);
	close(p[1]);
}

/* The link, asked without reading: has the server closed or reset it? */
static int
link_gone(struct session *s)
{
	struct pollfd	 pfd = { .fd = s->link, .events = POLLRDHUP };

	if (s->gone)
		return 1;
	if (s->link >= 0 && poll(&pfd, 1, 0) == 1 && pfd.revents != 0)
		s->gone = 1;
	return s->gone;
}

/*
 * The first end: the writer gets a TERM to say goodbye, unless it is
 * the one that ended or the link is gone (then it keeps its XEP-0198
 * state and meets end of file); END_TERM later every stage left gets a
 * TERM, END_KILL later a KILL.  A stop signal is a first end too.
 */
static void
begin_end(struct session *s, int which)
{
	if (s->first == -1 && which >= 0)
		s->first = which;
	if (s->term_at != 0)
		return;
	if (which == -1)
		s->bye_at = now_ms() + STOP_GRACE;
	else if (which != WRITER && !link_gone(s) && stages[WRITER].pid > 0)
		signal_stage(WRITER, SIGTERM);
	s->term_at = now_ms() + END_TERM;
	s->kill_at = now_ms() + END_KILL;
}

static void
connection_ended(struct session *s)
{
	s->gone = 1;
	begin_end(s, CONNECTION);
}

/* The writer has ended: the server is told so (our half-close). */
static void
writer_ended(struct session *s)
{
	if (s->shared >= 0)
		(void)shutdown(s->shared, SHUT_WR);
	begin_end(s, WRITER);
}

/*
 * Ends reaped together are taken in the order one causes the next:
 * stunnel's end gives the reader end of file, whose end gives the
 * writer end of file.  A link the server closed ended first (but see
 * killed_first).
 */
static void
reap(struct session *s)
{
	pid_t	 pid;
	int	 st, i, ended[3] = { 0, 0, 0 };

	got_chld = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (tls_reaped(pid, st)) {
			s->tunnel_up = 0;
			ended[CONNECTION] = 1;
		}
		for (i = READER; i <= WRITER; i++) {
			if (stages[i].pid != pid)
				continue;
			stages[i].pid = -1;
			stages[i].status = WIFSIGNALED(st) ?
			    128 + WTERMSIG(st) : WEXITSTATUS(st);
			ended[i] = 1;
		}
	}
	if (ended[CONNECTION] || ((ended[READER] || ended[WRITER]) &&
	    s->first == -1 && link_gone(s)))
		connection_ended(s);
	if (ended[READER])
		begin_end(s, READER);
	if (ended[WRITER])
		writer_ended(s);
}

/*
 * A stage killed by a signal not ours (but SIGPIPE, a broken link's)
 * ended of its own, before what its end caused: a writer that met end
 * of file closes its stream, and the server's close, or the writer's
 * own end, may reach us before the dying reader's SIGCHLD does (a
 * process's descriptors close before its parent is told).
 */
static int
killed_first(int first)
{
	int	 i, sig;

	for (i = READER; i <= WRITER; i++) {
		if (stages[i].status <= 128 || stages[i].status >= 128 + 32)
			continue;
		sig = stages[i].status - 128;
		if (sig != SIGPIPE && !(stages[i].sent & 1 << sig))
			return i;
	}
	return first;
}

/* "reader S writer S first WHO", once both stages have ended. */
static void
say_status(struct session *s)
{
	if (s->said)
		return;
	s->said = 1;
	if (s->first == CONNECTION || s->first == -1 ||
	    stages[s->first].status < 128)
		s->first = killed_first(s->first);
	if (s->statusfd >= 0 && dprintf(s->statusfd, "reader %d writer %d "
	    "first %s\n", stages[READER].status, stages[WRITER].status,
	    who_name[s->first >= 0 ? s->first : CONNECTION]) < 0)
		warn("-s %d", s->statusfd);
}

static int
stages_done(void)
{
	return stages[READER].pid == -1 && stages[WRITER].pid == -1;
}

/* Relays of a direction that ends the connection when it ends. */
static int
link_relay(const struct session *s, size_t i)
{
	return i == 3 || (i == 1 && !s->tls) || i == 2;
}

/* Once the stages have ended: close our side, let the tunnel finish. */
static void
after_stages(struct session *s)
{
	say_status(s);
	if (s->shared >= 0) {
		close(s->shared);
		if (s->shared == s->link)
			s->link = -1;
		s->shared = -1;
	}
	/* stunnel's close_notify and the server's close, not for ever. */
	if (s->kill_at == 0 || s->kill_at < now_ms() + END_TERM)
		s->kill_at = now_ms() + END_TERM;
}

/*
 * Done when the stages are, and what they wrote has gone on: the
 * capture relay has met their end of file, stunnel has closed.
 */
static int
finished(const struct session *s)
{
	if (!stages_done())
		return 0;
	if (s->abandon)
		return 1;
	if (s->use[0] && !s->r[0].done)
		return 0;
	return !s->tunnel_up && (!s->use[2] || s->r[2].done);
}

static void
timers(struct session *s, long long now)
{
	if (s->bye_at != 0 && now >= s->bye_at) {
		s->bye_at = 0;
		if (!link_gone(s) && stages[WRITER].pid > 0)
			signal_stage(WRITER, SIGTERM);
	}
	if (s->term_at != 0 && now >= s->term_at) {
		s->term_at = -1;
		stages_signal(SIGTERM);
	}
	if (s->kill_at != 0 && now >= s->kill_at) {
		s->kill_at = 0;
		stages_kill();
		/* What the server did not take by now is given up. */
		if (s->tls)
			tls_kill();
		s->tunnel_up = 0;
		s->abandon = 1;
	}
}

static struct timespec *
next_timer(const struct session *s, struct timespec *ts, long long now)
{
	long long	 at = 0, left;

	if (s->term_at > 0)
		at = s->term_at;
	if (s->bye_at > 0 && (at == 0 || s->bye_at < at))
		at = s->bye_at;
	if (s->kill_at > 0 && (at == 0 || s->kill_at < at))
		at = s->kill_at;
	if (at == 0)
		return NULL;
	left = at > now ? at - now : 0;
	ts->tv_sec = left / 1000;
	ts->tv_nsec = left % 1000 * 1000000;
	return ts;
}

static void
signals_now(struct session *s)
{
	int	 sig;

	if (got_usr1) {
		got_usr1 = 0;
		if (stages[WRITER].pid > 0)
			signal_stage(WRITER, SIGUSR1);
	}
	if (got_stop == 0)
		return;
	if (s->stop_at == 0) {
		s->stop_at = now_ms();
		begin_end(s, -1);
	}
	if ((sig = got_stop2) == 0)
		return;
	got_stop2 = 0;
	if (now_ms() - s->stop_at < STOP_GRACE)
		return;
	/* A second one: the end, now. */
	stages_kill();
	say_status(s);
	stamp_read(1);
	die_by(sig);
}

/*
 * One pass: the relays, and in clear text a watch on the link that
 * wakes us only when the server closes or resets it (POLLRDHUP: no
 * wake-up for its data, which the reader takes).
 */
static void
poll_once(struct session *s, const sigset_t *orig)
{
	struct pollfd	 pfd[6];
	struct relay	*who[6];
	struct timespec	 ts, *tsp;
	size_t		 i, np = 0;
	int		 watch = -1, log = -1, e;
	socklen_t	 len = sizeof e;

	for (i = 0; i < 4; i++) {
		if (!s->use[i] || s->r[i].done)
			continue;
		relay_pollfd(&s->r[i], &pfd[np]);
		who[np++] = &s->r[i];
	}
	if (!s->gone && s->link >= 0 && !s->use[1] && !s->tls) {
		watch = np;
		pfd[np].fd = s->link;
		pfd[np].events = POLLRDHUP;
		pfd[np++].revents = 0;
	}
	if (stamp_fd() != -1) {
		log = np;
		pfd[np].fd = stamp_fd();
		pfd[np].events = POLLIN;
		pfd[np++].revents = 0;
	}
	tsp = next_timer(s, &ts, now_ms());
	if (ppoll(pfd, np, tsp, orig) == -1) {
		if (errno != EINTR)
			err(EXIT_LOCAL, "poll");
		return;
	}
	for (i = 0; i < np; i++) {
		if ((int)i == log) {
			if (pfd[i].revents != 0)
				stamp_read(0);
			continue;
		}
		if ((int)i == watch) {
			if (pfd[i].revents == 0)
				continue;
			if ((pfd[i].revents & (POLLERR | POLLHUP)) &&
			    getsockopt(s->link, SOL_SOCKET, SO_ERROR, &e,
			    &len) == 0 && e != 0)
				s->lost = e;
			connection_ended(s);
			continue;
		}
		relay_ready(who[i], &pfd[i]);
		if (who[i]->done && link_relay(s, who[i] - s->r)) {
			if (who[i]->error != 0 && who[i]->in == s->link)
				s->lost = who[i]->error;
			connection_ended(s);
		}
	}
}

static void
relays_free(struct session *s)
{
	size_t	 i;

	for (i = 0; i < 4; i++)
		if (s->use[i])
			relay_free(&s->r[i], 1);
}

/* The -w relay between the stages (the socketpair's cp[0]) and conn. */
static int
capture_relays(struct session *s, int conn)
{
	int	 cp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cp) == -1)
		err(EXIT_LOCAL, "socketpair");
	set_nonblock(cp[0]);
	relay_init(&s->r[0], "stages", cp[0], s->tls ? "stunnel" : "server",
	    conn, 1);
	s->r[0].capdir = CAP_TO;
	s->r[0].eofshut = 1;
	relay_init(&s->r[1], s->tls ? "stunnel" : "server", conn, "stages",
	    cp[0], 1);
	s->r[1].capdir = CAP_FROM;
	s->r[1].eofshut = 1;
	s->use[0] = s->use[1] = 1;
	return cp[1];
}

/*
 * Runs the session on conn (the TCP socket link, or stunnel's clear
 * side with tcp and u the two ends of the relay): the stages started,
 * watched and ended; returns xmpp-connect's exit status.
 */
int
owner_run(const struct owner *o, int link, int conn, struct relay *tcp)
{
	struct session	 s;
	sigset_t	 block, orig;
	int		 fd;

	memset(&s, 0, sizeof s);
	s.first = -1;
	s.link = link;
	s.tls = tcp != NULL;
	s.tunnel_up = s.tls;
	s.statusfd = o->statusfd;
	stages[READER].argv = o->reader;
	stages[WRITER].argv = o->writer;
	if (s.tls) {
		s.r[2] = tcp[0];
		s.r[3] = tcp[1];
		s.use[2] = s.use[3] = 1;
	}
	set_nonblock(conn);
	fd = o->capture ? capture_relays(&s, conn) : conn;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &block, &orig) == -1)
		err(EXIT_LOCAL, "sigprocmask");
	owner_signals();
	got_chld = 1;	/* stunnel may have ended already */
	/* (their last lines are read once they are gone) */
	if (stamping() && atexit(stamp_end) != 0)
		errx(EXIT_LOCAL, "atexit failed");
	if (atexit(stages_kill) != 0)
		errx(EXIT_LOCAL, "atexit failed");
	if (stamping())
		stage_err = stamp_pipe();
	/* The stages' socket must be blocking for them, as a pipe is. */
	clear_nonblock(fd);
	start_stages(fd);
	s.shared = fd;
	if (stage_err != -1) {
		close(stage_err);
		stage_err = -1;
	}

	while (!finished(&s)) {
		if (got_chld)
			reap(&s);
		signals_now(&s);
		timers(&s, now_ms());
		if (stages_done() && !s.said)
			after_stages(&s);
		if (finished(&s))
			break;
		poll_once(&s, &orig);
	}
	say_status(&s);
	stamp_read(1);
	/*
	 * A loss is news only when the connection ended first: once a
	 * stage has ended, a reset is the server's answer to our close.
	 */
	if (s.tls)
		tls_end(s.r, s.first == CONNECTION);
	relays_free(&s);
	if (s.lost != 0 && s.first == CONNECTION)
		errx(EXIT_LOST, "connection lost: server: %s",
		    strerror(s.lost));
	return EXIT_CLOSED;
}

/* In owner mode our signals wake ppoll only, which acts on them. */
static void
owner_signals(void)
{
	static const int	 sigs[] = { SIGINT, SIGHUP };
	struct sigaction	 old;
	size_t			 i;

	signal_to(SIGTERM, on_owner_signal);
	/* INT and HUP ignored when we started stay so, as in main. */
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			signal_to(sigs[i], on_owner_signal);
	signal_to(SIGUSR1, on_owner_signal);
	signal_to(SIGCHLD, on_owner_signal);
}
