/*
 * supervise.c - -x: the process that runs the handler, unconfined
 *
 * xmpp-echo confines itself to its stdio (common/sandbox.c), where
 * fork, exec, kill and wait are refused.  So before that, and before
 * it reads the password, it forks this supervisor, linked to it by two
 * pipes (the handler's stdin and stdout, handed on to each handler)
 * and a socket: the supervisor says 'u' there when a handler starts
 * and 'd' when it ended; xmpp-echo says 's' at the end of the session,
 * or closes it by exiting.
 *
 * The handler runs with /bin/sh -c in a process group of its own, its
 * stderr passed on line by line after "handler: ".  One that ends is
 * reported, its group killed (what it left behind would read messages
 * meant for the next one), and started again after a pause: one second,
 * doubled each time it dies within LIVED_LONG ms, up to BACKOFF_MAX.
 * At the end: EOF on its stdin, SIGTERM to its group STOP_TERM ms later
 * or as soon as it exits, SIGKILL STOP_KILL ms after that.
 */
#define _GNU_SOURCE		/* ppoll(2) */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "extern.h"

#define BACKOFF_MIN	1000	/* ms before a restart */
#define BACKOFF_MAX	60000
#define LIVED_LONG	10000	/* ms: an end after this is no crash loop */
#define STOP_TERM	1000	/* ms after EOF on its stdin: SIGTERM */
#define STOP_KILL	2000	/* ms after SIGTERM: SIGKILL */
#define LINE_PIECE	4096	/* stderr passed on in lines of this much */
#define PIPE_SIZE	4096	/* bytes the handler's stdin pipe holds */

struct super {
	const char	*cmd;
	int		 in, out, ctl;	/* the handler's stdin, stdout */
	int		 errfd[2];	/* the handler's stderr */
	struct buf	 errline;	/* a line of it not passed on yet */
	pid_t		 pid;		/* the handler; 0: none */
	pid_t		 pgid;		/* its group, until it is gone */
	int64_t		 started, restart_at, backoff;
	int		 stopping;
	int64_t		 term_at, kill_at;	/* INT64_MAX: sent */
	int64_t		 give_up;
};

static volatile sig_atomic_t	 got_chld;

static void
on_chld(int sig)
{
	(void)sig;
	got_chld = 1;
}

static void
say(struct super *s, char c)
{
	while (write(s->ctl, &c, 1) == -1 && errno == EINTR)
		;
}

/* In the child: the handler's descriptors, signals as they were. */
static void
exec_handler(struct super *s)
{
	sigset_t none;

	(void)setpgid(0, 0);
	/* Gone with its supervisor, even if that one is killed. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(s->in, STDIN_FILENO) == -1 ||
	    dup2(s->out, STDOUT_FILENO) == -1 ||
	    dup2(s->errfd[1], STDERR_FILENO) == -1)
		_exit(127);
	closefrom(3);
	execl("/bin/sh", "sh", "-c", s->cmd, (char *)NULL);
	warn("/bin/sh");
	_exit(127);
}

static void
start_handler(struct super *s)
{
	pid_t pid;

	if ((pid = fork()) == -1) {
		warn("handler: fork");
		s->restart_at = now_ms() + s->backoff;
		return;
	}
	if (pid == 0)
		exec_handler(s);
	(void)setpgid(pid, pid);	/* whichever runs first */
	s->pid = s->pgid = pid;
	s->started = now_ms();
	say(s, 'u');
}

/* What the status says, for a message. */
static void
report(const struct super *s, int status, int64_t pause)
{
	char again[64] = "";

	if (!s->stopping)
		snprintf(again, sizeof again, "; restarting in %lld s",
		    (long long)(pause / 1000));
	if (WIFEXITED(status))
		warnx("handler exited with status %d%s", WEXITSTATUS(status),
		    again);
	else if (WIFSIGNALED(status))
		warnx("handler killed by signal %d (%s)%s", WTERMSIG(status),
		    strsignal(WTERMSIG(status)), again);
}

/* A pause that doubles while the handler keeps dying young. */
static int64_t
next_pause(struct super *s, int64_t now)
{
	int64_t pause;

	if (now - s->started >= LIVED_LONG)
		s->backoff = BACKOFF_MIN;
	pause = s->backoff;
	s->backoff = pause * 2 < BACKOFF_MAX ? pause * 2 : BACKOFF_MAX;
	return pause;
}

static void	 read_ctl(struct super *);

/* An 's' that came with the handler's end: then that end is no crash. */
static void
stop_said(struct super *s)
{
	struct pollfd pfd = { .fd = s->ctl, .events = POLLIN };

	if (!s->stopping && poll(&pfd, 1, 0) == 1)
		read_ctl(s);
}

static void
reap(struct super *s)
{
	int64_t now = now_ms(), pause;
	int status;
	pid_t r;

	got_chld = 0;
	stop_said(s);
	if (s->pid == 0 ||
	    (r = waitpid(s->pid, &status, WNOHANG)) == 0)
		return;
	if (r == -1 && errno == EINTR)
		return;
	s->pid = 0;
	/* What it started goes with it. */
	(void)kill(-s->pgid, SIGTERM);
	if (s->stopping) {
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
		    !(WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM ||
		    WTERMSIG(status) == SIGKILL)))
			report(s, status, 0);
		s->term_at = INT64_MAX;		/* sent just above */
		s->kill_at = now + STOP_KILL;
		s->give_up = s->kill_at + STOP_KILL;
		return;
	}
	say(s, 'd');
	s->restart_at = now + (pause = next_pause(s, now));
	report(s, status, pause);
	s->pgid = 0;
}

/* Its stderr: each line after "handler: ", in one write. */
static void
pass_stderr(struct super *s, int all)
{
	struct buf x = { 0 };
	char *p = s->errline.p, *end = p + s->errline.len, *nl;
	size_t n;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (nl == NULL && n < LINE_PIECE && !all)
			break;
		if (n > LINE_PIECE)
			n = LINE_PIECE;
		buf_adds(&x, "handler: ");
		buf_add(&x, p, n);
		buf_addc(&x, '\n');
		p += n + (nl != NULL && p + n == nl);
	}
	if (x.len > 0)
		(void)write_all(STDERR_FILENO, x.p, x.len);
	buf_free(&x);
	s->errline.len = (size_t)(end - p);
	if (s->errline.len > 0)
		memmove(s->errline.p, p, s->errline.len);
}

static void
read_stderr(struct super *s)
{
	char chunk[LINE_PIECE];
	ssize_t n;

	if ((n = read(s->errfd[0], chunk, sizeof chunk)) <= 0)
		return;
	buf_add(&s->errline, chunk, (size_t)n);
	pass_stderr(s, 0);
}

/* xmpp-echo said 's', or is gone: EOF on the handler's stdin. */
static void
begin_stop(struct super *s)
{
	int64_t now = now_ms();

	s->stopping = 1;
	s->term_at = now + STOP_TERM;
	s->kill_at = s->term_at + STOP_KILL;
	s->give_up = s->kill_at + STOP_KILL;
}

static void
read_ctl(struct super *s)
{
	char c[64];
	ssize_t n;

	if ((n = read(s->ctl, c, sizeof c)) == -1 && errno == EINTR)
		return;
	if (n <= 0 || memchr(c, 's', (size_t)n) != NULL)
		begin_stop(s);
}

/* The last of its stderr, what the pipe still holds, then the end. */
static void	 finish(struct super *) __attribute__((noreturn));

static void
finish(struct super *s)
{
	struct pollfd pfd = { .fd = s->errfd[0], .events = POLLIN };

	while (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) &&
	    s->errline.len < 1024 * 1024)
		read_stderr(s);
	pass_stderr(s, 1);
	_exit(0);
}

/* Every process of the group gone, or given up on: done. */
static void
stop_step(struct super *s)
{
	int64_t now = now_ms();

	if (now >= s->term_at && s->pgid != 0) {
		(void)kill(-s->pgid, SIGTERM);
		s->term_at = INT64_MAX;
	}
	if (now >= s->kill_at && s->pgid != 0) {
		(void)kill(-s->pgid, SIGKILL);
		s->kill_at = INT64_MAX;
	}
	/* A process that not even SIGKILL ends (a stopped tracee, a
	 * hung disk) must not keep the supervisor forever. */
	if ((s->pid == 0 && (s->pgid == 0 || kill(-s->pgid, 0) == -1)) ||
	    now >= s->give_up)
		finish(s);
}

/* The wait: until the next restart or stop step; 100 ms while a
 * group whose leader is gone is watched. */
static int
wait_ms(const struct super *s)
{
	int64_t t = INT64_MAX, now = now_ms();

	if (s->stopping) {
		t = s->term_at < s->kill_at ? s->term_at : s->kill_at;
		if (s->give_up < t)
			t = s->give_up;
		if (s->pid == 0 && t > now + 100)
			t = now + 100;
	} else if (s->pid == 0)
		t = s->restart_at;
	if (t == INT64_MAX)
		return -1;
	return t <= now ? 0 : (int)(t - now);
}

static void	 supervise(struct super *) __attribute__((noreturn));

static void
supervise(struct super *s)
{
	struct pollfd pfd[2];
	struct timespec ts, *tp;
	sigset_t mask;
	int ms;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigdelset(&mask, SIGCHLD);
	s->backoff = BACKOFF_MIN;
	start_handler(s);
	for (;;) {
		if (got_chld)
			reap(s);
		if (s->stopping)
			stop_step(s);
		else if (s->pid == 0 && now_ms() >= s->restart_at)
			start_handler(s);
		pfd[0].fd = s->stopping ? -1 : s->ctl;
		pfd[0].events = POLLIN;
		pfd[1].fd = s->errfd[0];
		pfd[1].events = POLLIN;
		tp = NULL;
		if ((ms = wait_ms(s)) >= 0) {
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (long)(ms % 1000) * 1000000;
			tp = &ts;
		}
		if (ppoll(pfd, 2, tp, &mask) == -1) {
			if (errno != EINTR)
				err(1, "handler: ppoll");
			continue;
		}
		if (pfd[0].revents != 0)
			read_ctl(s);
		if (pfd[1].revents != 0)
			read_stderr(s);
	}
}

/*
 * In the child: nothing of xmpp-echo's left but stderr; the server's
 * pipes become /dev/null, so that no handler can write to the stream.
 */
static void
become_supervisor(struct super *s)
{
	struct sigaction sa;
	sigset_t chld;
	char *pw;
	int null;

	if ((pw = getenv("XMPP_PASSWORD")) != NULL) {
		explicit_bzero(pw, strlen(pw));
		unsetenv("XMPP_PASSWORD");
	}
	if ((null = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 ||
	    dup2(null, STDOUT_FILENO) == -1)
		err(1, "handler: /dev/null");
	close(null);
	/* Its end is xmpp-echo's: the signals for the session are not. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_chld;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (pipe2(s->errfd, O_CLOEXEC) == -1)
		err(1, "handler: pipe");
	supervise(s);
}

static void
nonblocking(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		err(EX_LOCAL, "fcntl");
}

/* Forks the supervisor; h gets xmpp-echo's ends, non-blocking. */
void
supervise_start(struct handler *h)
{
	struct super s = { .cmd = h->cmd };
	int in[2], out[2], ctl[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) == -1)
		err(EX_LOCAL, "handler: pipe");
#ifdef F_SETPIPE_SZ
	/* Messages wait in xmpp-echo's bounded queue, not in the pipe. */
	(void)fcntl(in[1], F_SETPIPE_SZ, PIPE_SIZE);
#endif
	if ((pid = fork()) == -1)
		err(EX_LOCAL, "handler: fork");
	if (pid == 0) {
		close(in[1]);
		close(out[0]);
		close(ctl[0]);
		s.in = in[0];
		s.out = out[1];
		s.ctl = ctl[1];
		become_supervisor(&s);
	}
	/* in[0] stays: FIONREAD tells what the handler has not read. */
	close(out[1]);
	close(ctl[1]);
	h->rd = in[0];
	h->in = in[1];
	h->out = out[0];
	h->ctl = ctl[0];
	nonblocking(h->in);
	nonblocking(h->out);
	nonblocking(h->ctl);
}
