/*
 * xmpp-run - answer each message by running a program once
 *
 * A handler for xmpp-echo -x: it reads message records (xmpp-record(5))
 * on stdin and, for each chat or normal message with a body, runs the
 * program with the body on its stdin and the sender, type, thread and id
 * in its environment; what the program prints becomes the body of a
 * message record to the sender on stdout.  Runs are bounded in time, in
 * number and in output, and nothing waits: neither a slow program nor a
 * slow reader of stdout holds up the others.
 */
#define _GNU_SOURCE		/* ppoll(2), pipe2(2) */

#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record.h"

#define LINE_MAX_IN	(4 * 1024 * 1024)	/* a 256 KiB stanza, escaped */
#define OUT_MAX		(1024 * 1024)	/* replies not yet written: then wait */
#define MAXRUN_MAX	256
#define MAXQUEUE_MAX	100000
#define MAXOUT_MAX	(256 * 1024)	/* Prosody's stanza limit */
#define SECONDS_MAX	86400

/* A message to answer: waiting in the queue (pid 0) or running. */
struct job {
	char		*from, *type, *thread, *parent, *id, *to;
	struct buf	 body;		/* the program's stdin */
	size_t		 bodyoff;	/* the part of it written */
	pid_t		 pid;
	int		 in, out;	/* its stdin and stdout; -1: closed */
	struct buf	 reply;		/* its stdout so far */
	int64_t		 deadline;	/* ms */
	const char	*failed;	/* why there is no reply, or NULL */
	struct job	*next;		/* in the queue */
};

struct run {
	char		**argv;		/* the program */
	pid_t		 self;		/* our pid, for the programs */
	long long	 maxrun, maxqueue, maxout, seconds;
	struct job	**running;	/* maxrun slots, NULL when free */
	size_t		 nrunning;
	struct job	*head, *tail;	/* the queue */
	size_t		 nqueued;
	struct buf	 in;		/* stdin not yet a whole line */
	size_t		 scanned;	/* bytes of it without a newline */
	int		 skipping;	/* in a line over LINE_MAX_IN */
	unsigned long	 lineno;
	int		 eof;
	int		 inready, outready;	/* as ppoll(2) said */
	struct buf	 out;		/* records not yet written */
	size_t		 outoff;
	char		*told;		/* sender told the queue is full */
	sigset_t	 waitmask;	/* signals let in while waiting */
	sigset_t	 origmask;	/* the programs' mask */
};

static volatile sig_atomic_t	 got_stop;

static void	 usage(FILE *, int) __attribute__((noreturn));

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: xmpp-run [-hV] [-c maxrun] [-o maxout] "
	    "[-q maxqueue] [-t seconds] program [arg ...]\n");
	exit(status);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(1, "clock_gettime");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_signal(int sig)
{
	if (sig != SIGCHLD)
		got_stop = 1;
}

static char *
xstrdup(const char *s)
{
	char	*p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		err(1, "strdup");
	return p;
}

static void
job_free(struct job *j)
{
	free(j->from);
	free(j->type);
	free(j->thread);
	free(j->parent);
	free(j->id);
	free(j->to);
	buf_free(&j->body);
	buf_free(&j->reply);
	free(j);
}

/*
 * Input: message records.
 */

/* Appends the text of n's text children, NUL bytes included. */
static void
node_text(struct buf *b, const struct xnode *n)
{
	const struct xnode	*t;

	for (t = n->child; t != NULL; t = t->next)
		if (t->name == NULL)
			buf_add(b, t->text, t->textlen);
}

/*
 * A job for a message that asks for an answer, else NULL: errors are
 * never answered (RFC 6120 section 8.3.1), nor groupchat or headline
 * messages (RFC 6121 section 5.2.2), nor messages without a body.
 */
static struct job *
job_new(const struct record *r)
{
	const struct xnode	*m = r->root, *body, *thread;
	const char		*type = xnode_attr(m, "type");
	struct job		*j;

	if (type != NULL && strcmp(type, "chat") != 0 &&
	    strcmp(type, "normal") != 0)
		return NULL;
	if ((body = xnode_child(m, NS_CLIENT, "body")) == NULL)
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		err(1, "calloc");
	node_text(&j->body, body);
	if (j->body.len == 0 || xnode_attr(m, "from") == NULL) {
		job_free(j);
		return NULL;
	}
	buf_addc(&j->body, '\n');	/* a line, for read(1) and its kin */
	j->from = xstrdup(xnode_attr(m, "from"));
	j->type = xstrdup(type);
	j->id = xstrdup(xnode_attr(m, "id"));
	j->to = xstrdup(xnode_attr(m, "to"));
	if ((thread = xnode_child(m, NS_CLIENT, "thread")) != NULL) {
		j->thread = xnode_text(thread);
		j->parent = xstrdup(xnode_attr(thread, "parent"));
	}
	j->in = j->out = -1;
	return j;
}

static void	 start_jobs(struct run *);

/*
 * A message dropped on a full queue is answered with a wait error
 * (RFC 6120 section 8.3.3.18), as xmpp-echo answers a flood: the sender
 * learns the bot is busy, not dead.  Once per sender in a row while the
 * queue stays full, so that a flood of drops is not a flood of errors.
 */
static void
tell_queue_full(struct run *r, const struct job *j)
{
	struct recw	 w = { 0 };
	char		 text[128];

	if (r->told != NULL && strcmp(r->told, j->from) == 0)
		return;
	free(r->told);
	r->told = xstrdup(j->from);
	(void)snprintf(text, sizeof text, "busy: %lld messages waiting, "
	    "try again later", r->maxqueue);
	rec_begin(&w, "message", NS_CLIENT);
	rec_attr(&w, NULL, "to", j->from);
	rec_attr(&w, NULL, "type", "error");
	if (j->id != NULL)
		rec_attr(&w, NULL, "id", j->id);
	rec_start(&w, NS_CLIENT, "error");
	rec_attr(&w, NULL, "type", "wait");
	rec_start(&w, NS_STANZAS, "resource-constraint");
	rec_end(&w);
	rec_start(&w, NS_STANZAS, "text");
	rec_text(&w, text, strlen(text));
	rec_end(&w);
	rec_end(&w);
	rec_finish(&w);
	buf_add(&r->out, w.out.p, w.out.len);
	rec_free(&w);
}

/* Queued, and started at once if a run is free; past -q, dropped. */
static void
enqueue(struct run *r, struct job *j)
{
	struct job	*prev = r->tail;

	if (r->tail == NULL)
		r->head = j;
	else
		r->tail->next = j;
	r->tail = j;
	r->nqueued++;
	start_jobs(r);
	if (r->nqueued <= (size_t)r->maxqueue) {
		free(r->told);	/* room again: the episode is over */
		r->told = NULL;
		return;
	}
	warnx("queue full (%lld waiting): message from %s dropped",
	    r->maxqueue, j->from);
	tell_queue_full(r, j);
	/* Over the bound, nothing started: j is still the tail, after prev. */
	if ((r->tail = prev) == NULL)
		r->head = NULL;
	else
		prev->next = NULL;
	r->nqueued--;
	job_free(j);
}

static void
on_line(struct run *r, const char *line, size_t len)
{
	struct record	 rec;
	struct job	*j;
	const char	*errstr;

	r->lineno++;
	if (len > LINE_MAX_IN) {
		warnx("line %lu: longer than %d bytes: skipped", r->lineno,
		    LINE_MAX_IN);
		return;
	}
	if (record_decode(line, len, &rec, &errstr) == -1) {
		warnx("line %lu: %s: skipped", r->lineno, errstr);
		return;
	}
	if (strcmp(rec.kind, "message") != 0 || !ns_equal(rec.root->ns,
	    NS_CLIENT))
		warnx("line %lu: not a message record: skipped", r->lineno);
	else if ((j = job_new(&rec)) != NULL)
		enqueue(r, j);
	record_free(&rec);
}

/* Hands every whole line to on_line; a line too long is skipped. */
static void
read_input(struct run *r)
{
	char	 chunk[65536], *nl;
	size_t	 start = 0;
	ssize_t	 n;

	if ((n = read(STDIN_FILENO, chunk, sizeof chunk)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		err(1, "stdin");
	}
	if (n == 0) {
		if (r->in.len > 0 && !r->skipping)
			warnx("line %lu: no newline at the end: skipped",
			    r->lineno + 1);
		r->eof = 1;
		return;
	}
	buf_add(&r->in, chunk, (size_t)n);
	while ((nl = memchr(r->in.p + r->scanned, '\n',
	    r->in.len - r->scanned)) != NULL) {
		r->scanned = (size_t)(nl - r->in.p) + 1;
		if (r->skipping) {
			r->skipping = 0;
			r->lineno++;
		} else
			on_line(r, r->in.p + start,
			    (size_t)(nl - r->in.p) - start);
		start = r->scanned;
	}
	memmove(r->in.p, r->in.p + start, r->in.len - start);
	r->in.len -= start;
	r->scanned = r->in.len;
	if (r->in.len > LINE_MAX_IN) {
		if (!r->skipping)
			warnx("line %lu: longer than %d bytes: skipped",
			    r->lineno + 1, LINE_MAX_IN);
		r->skipping = 1;
		buf_reset(&r->in);
		r->scanned = 0;
	}
}

/*
 * Running a program.
 */

static void
set_env(const char *name, const char *value)
{
	if (value == NULL ? unsetenv(name) : setenv(name, value, 1))
		err(127, "%s", name);
}

/* In the child: its own process group, so that a kill reaches all. */
static void	 exec_program(struct run *, struct job *, int, int)
    __attribute__((noreturn));

static void
exec_program(struct run *r, struct job *j, int in, int out)
{
	if (setpgid(0, 0) == -1)
		err(127, "setpgid");
#ifdef __linux__
	/* Killed with us even by SIGKILL, which leaves us no time to kill
	 * its group (xmpp-echo -x sends it to ours 3 s after EOF). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != r->self)
		_exit(127);
#endif
	if (dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1)
		err(127, "dup2");
	set_env("XMPP_FROM", j->from);
	set_env("XMPP_TO", j->to);
	set_env("XMPP_TYPE", j->type != NULL ? j->type : "normal");
	set_env("XMPP_THREAD", j->thread);
	set_env("XMPP_ID", j->id);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &r->origmask, NULL);
	execvp(r->argv[0], r->argv);
	err(127, "%s", r->argv[0]);
}

static int
nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

static void
start_job(struct run *r, struct job *j, size_t slot)
{
	int	 in[2], out[2];

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		err(1, "pipe2");
	if ((j->pid = fork()) == -1)
		err(1, "fork");
	if (j->pid == 0)
		exec_program(r, j, in[0], out[1]);
	/* Here too: a kill may come before the child's own setpgid. */
	(void)setpgid(j->pid, j->pid);
	close(in[0]);
	close(out[1]);
	j->in = in[1];
	j->out = out[0];
	if (nonblock(j->in) == -1 || nonblock(j->out) == -1)
		err(1, "fcntl");
	j->deadline = now_ms() + r->seconds * 1000;
	r->running[slot] = j;
	r->nrunning++;
}

/* Starts queued jobs while there is room, and while stdout keeps up. */
static void
start_jobs(struct run *r)
{
	struct job	*j;
	size_t		 i;

	for (i = 0; i < (size_t)r->maxrun && r->head != NULL; i++) {
		if (r->running[i] != NULL)
			continue;
		if (r->out.len - r->outoff > OUT_MAX)
			return;
		j = r->head;
		if ((r->head = j->next) == NULL)
			r->tail = NULL;
		j->next = NULL;
		r->nqueued--;
		start_job(r, j, i);
	}
}

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/* Kills the job's whole process group: the program and what it started. */
static void
kill_job(struct job *j, const char *why)
{
	if (j->failed == NULL)
		j->failed = why;
	(void)kill(-j->pid, SIGKILL);
	close_fd(&j->in);
}

static void
feed_job(struct job *j)
{
	ssize_t	 n;

	n = write(j->in, j->body.p + j->bodyoff, j->body.len - j->bodyoff);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		close_fd(&j->in);	/* EPIPE: it does not read: fine */
		return;
	}
	j->bodyoff += (size_t)n;
	if (j->bodyoff == j->body.len)
		close_fd(&j->in);
}

/* Reads what the program printed, up to -o bytes; beyond, kills it. */
static void
drain_job(struct run *r, struct job *j)
{
	char	 chunk[16384];
	ssize_t	 n;

	while (j->out != -1) {
		if ((n = read(j->out, chunk, sizeof chunk)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				close_fd(&j->out);
			return;
		}
		if (n == 0) {
			close_fd(&j->out);
			return;
		}
		buf_add(&j->reply, chunk, (size_t)n);
		if ((long long)j->reply.len > r->maxout + 1) {
			kill_job(j, "output too long");
			close_fd(&j->out);
		}
	}
}

/*
 * Answering.
 */

/* The reply: to the sender, of its type, in its thread. */
static void
put_reply(struct run *r, const struct job *j, const char *text, size_t n)
{
	struct recw	 w = { 0 };

	rec_begin(&w, "message", NS_CLIENT);
	rec_attr(&w, NULL, "to", j->from);
	if (j->type != NULL)
		rec_attr(&w, NULL, "type", j->type);
	rec_start(&w, NS_CLIENT, "body");
	rec_text(&w, text, n);
	rec_end(&w);
	if (j->thread != NULL) {
		rec_start(&w, NS_CLIENT, "thread");
		if (j->parent != NULL)
			rec_attr(&w, NULL, "parent", j->parent);
		rec_text(&w, j->thread, strlen(j->thread));
		rec_end(&w);
	}
	rec_finish(&w);
	buf_add(&r->out, w.out.p, w.out.len);
	rec_free(&w);
}

/* The job's program is gone: a reply if it earned one, else a word why. */
static void
finish_job(struct run *r, struct job *j, int status)
{
	size_t	 n = j->reply.len;

	if (n > 0 && j->reply.p[n - 1] == '\n')
		n--;	/* the newline that ends most programs' output */
	if (j->failed == NULL && WIFSIGNALED(status))
		j->failed = strsignal(WTERMSIG(status));
	else if (j->failed == NULL && WEXITSTATUS(status) != 0)
		j->failed = "exit status not 0";
	else if (j->failed == NULL && (long long)n > r->maxout)
		j->failed = "output too long";
	else if (j->failed == NULL && !xml_chars_ok(j->reply.p, n))
		j->failed = "output not UTF-8 text allowed in XML";
	if (j->failed != NULL)
		warnx("%s: message from %s: %s: no reply", r->argv[0],
		    j->from, j->failed);
	else if (n > 0)
		put_reply(r, j, j->reply.p, n);
}

/*
 * Whether the job's program has exited; if so, what it left running
 * in its group is killed (the zombie keeps the group's id from being
 * reused meanwhile), its output drained, then it is reaped.
 */
static int
reap_job(struct run *r, struct job *j)
{
	siginfo_t	 si;
	int		 status;

	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG | WNOWAIT)
	    == -1)
		err(1, "waitid");
	if (si.si_pid == 0)
		return 0;
	(void)kill(-j->pid, SIGKILL);
	drain_job(r, j);
	close_fd(&j->in);
	close_fd(&j->out);
	if (waitpid(j->pid, &status, 0) == -1)
		err(1, "waitpid");
	finish_job(r, j, status);
	return 1;
}

static void
check_jobs(struct run *r, int64_t now)
{
	struct job	*j;
	size_t		 i;

	for (i = 0; i < (size_t)r->maxrun; i++) {
		if ((j = r->running[i]) == NULL)
			continue;
		if (now >= j->deadline && j->failed == NULL)
			kill_job(j, "time limit reached, killed");
		if (reap_job(r, j)) {
			job_free(j);
			r->running[i] = NULL;
			r->nrunning--;
		}
	}
}

static void
write_output(struct run *r)
{
	ssize_t	 n;

	n = write(STDOUT_FILENO, r->out.p + r->outoff, r->out.len - r->outoff);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		err(1, "stdout");
	}
	r->outoff += (size_t)n;
	if (r->outoff == r->out.len) {
		buf_reset(&r->out);
		r->outoff = 0;
	}
}

/*
 * The loop: one ppoll(2) over stdin, stdout and every program's pipes,
 * woken by SIGCHLD too, until the input has ended and every job is done.
 */

static void
stop_all(struct run *r)
{
	struct job	*j;
	size_t		 i;

	for (i = 0; i < (size_t)r->maxrun; i++) {
		if ((j = r->running[i]) == NULL)
			continue;
		kill_job(j, "stopped");
		close_fd(&j->out);
		(void)waitpid(j->pid, NULL, 0);	/* SIGKILL: soon */
		job_free(j);
		r->running[i] = NULL;
	}
	r->nrunning = 0;
}

static int
poll_timeout(const struct run *r, struct timespec *ts)
{
	int64_t		 first = -1, now = now_ms();
	size_t		 i;

	for (i = 0; i < (size_t)r->maxrun; i++)
		if (r->running[i] != NULL && r->running[i]->failed == NULL &&
		    (first == -1 || r->running[i]->deadline < first))
			first = r->running[i]->deadline;
	if (first == -1)
		return 0;
	first = first > now ? first - now : 0;
	ts->tv_sec = first / 1000;
	ts->tv_nsec = (first % 1000) * 1000000;
	return 1;
}

static void
add_fd(struct pollfd *pfd, size_t *n, int fd, short events)
{
	pfd[*n].fd = fd;
	pfd[*n].events = events;
	pfd[*n].revents = 0;
	(*n)++;
}

static void
wait_events(struct run *r, struct pollfd *pfd)
{
	struct timespec	 ts;
	struct job	*j;
	size_t		 i, n = 0;
	int		 pin = -1, pout = -1;

	if (!r->eof && r->out.len - r->outoff <= OUT_MAX) {
		pin = (int)n;
		add_fd(pfd, &n, STDIN_FILENO, POLLIN);
	}
	if (r->out.len > r->outoff) {
		pout = (int)n;
		add_fd(pfd, &n, STDOUT_FILENO, POLLOUT);
	}
	for (i = 0; i < (size_t)r->maxrun; i++) {
		if ((j = r->running[i]) == NULL)
			continue;
		if (j->in != -1)
			add_fd(pfd, &n, j->in, POLLOUT);
		if (j->out != -1)
			add_fd(pfd, &n, j->out, POLLIN);
	}
	if (ppoll(pfd, n, poll_timeout(r, &ts) ? &ts : NULL, &r->waitmask)
	    == -1) {
		if (errno != EINTR)
			err(1, "ppoll");
		return;
	}
	r->inready = pin != -1 && pfd[pin].revents != 0;
	r->outready = pout != -1 && pfd[pout].revents != 0;
}

static int
done(const struct run *r)
{
	return r->eof && r->nrunning == 0 && r->head == NULL &&
	    r->out.len == r->outoff;
}

static void
loop(struct run *r)
{
	struct pollfd	*pfd;
	size_t		 i;

	if ((pfd = calloc((size_t)r->maxrun * 2 + 2, sizeof(*pfd))) == NULL)
		err(1, "calloc");
	while (!done(r) && !got_stop) {
		start_jobs(r);
		r->inready = r->outready = 0;
		wait_events(r, pfd);
		if (got_stop)
			break;
		for (i = 0; i < (size_t)r->maxrun; i++) {
			if (r->running[i] == NULL)
				continue;
			if (r->running[i]->in != -1)
				feed_job(r->running[i]);
			drain_job(r, r->running[i]);
		}
		check_jobs(r, now_ms());
		if (r->inready)
			read_input(r);
		if (r->outready)
			write_output(r);
	}
	stop_all(r);
	free(pfd);
}

/* The messages still waiting are dropped: we were told to stop. */
static void
free_all(struct run *r)
{
	struct job	*j;

	while ((j = r->head) != NULL) {
		r->head = j->next;
		job_free(j);
	}
	free(r->running);
	free(r->told);
	buf_free(&r->in);
	buf_free(&r->out);
}

/*
 * The program is looked for as execvp(3) will, once at the start: a
 * typo is one clear line now, not a failure per message later.
 */
static void
check_program(const char *prog)
{
	const char	*path, *p, *end;
	char		 full[4096];
	int		 len;

	if (strchr(prog, '/') != NULL) {
		if (access(prog, X_OK) == -1)
			err(1, "%s", prog);
		return;
	}
	if ((path = getenv("PATH")) == NULL)
		path = "/bin:/usr/bin";
	for (p = path; ; p = end + 1) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		/* An empty entry is the current directory. */
		len = snprintf(full, sizeof full, "%.*s%s%s", (int)(end - p),
		    p, end == p ? "." : "", "/");
		if (len > 0 && (size_t)len + strlen(prog) < sizeof full) {
			(void)strlcat(full, prog, sizeof full);
			if (access(full, X_OK) == 0)
				return;
		}
		if (*end == '\0')
			break;
	}
	errx(1, "%s: not found in PATH", prog);
}

static long long
number(int opt, const char *arg, long long min, long long max)
{
	const char	*errstr;
	long long	 n;

	n = strtonum(arg, min, max, &errstr);
	if (errstr != NULL)
		errx(1, "-%c %s: %s", opt, arg, errstr);
	return n;
}

/* Signals wait blocked, to be let in by ppoll(2) only: none is lost. */
static void
setup_signals(struct run *r)
{
	struct sigaction	 sa;
	sigset_t		 block;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1)
		err(1, "sigaction");
	signal(SIGPIPE, SIG_IGN);	/* EPIPE instead */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &block, &r->origmask) == -1)
		err(1, "sigprocmask");
	r->waitmask = r->origmask;
	sigdelset(&r->waitmask, SIGCHLD);
	sigdelset(&r->waitmask, SIGTERM);
	sigdelset(&r->waitmask, SIGINT);
	sigdelset(&r->waitmask, SIGHUP);
}

/* Non-blocking stdin and stdout, if pipes or sockets: not a terminal's,
 * which the shell shares. */
static void
setup_stdio(void)
{
	struct stat	 st;
	int		 fd;

	for (fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++) {
		if (fstat(fd, &st) == -1)
			err(1, "%s", fd ? "stdout" : "stdin");
		if ((S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
		    nonblock(fd) == -1)
			err(1, "fcntl");
	}
}

int
main(int argc, char *argv[])
{
	struct run	 r = { 0 };
	int		 ch;

	r.maxrun = 4;
	r.maxqueue = 64;
	r.maxout = 16384;
	r.seconds = 10;
	/* "+": glibc's getopt would take the program's options as ours. */
	while ((ch = getopt(argc, argv, "+c:ho:q:t:V")) != -1) {
		switch (ch) {
		case 'c':
			r.maxrun = number(ch, optarg, 1, MAXRUN_MAX);
			break;
		case 'h':
			usage(stdout, 0);
		case 'o':
			r.maxout = number(ch, optarg, 1, MAXOUT_MAX);
			break;
		case 'q':
			r.maxqueue = number(ch, optarg, 0, MAXQUEUE_MAX);
			break;
		case 't':
			r.seconds = number(ch, optarg, 1, SECONDS_MAX);
			break;
		case 'V':
			puts("xmpp-run " VERSION);
			return 0;
		default:
			usage(stderr, 1);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(stderr, 1);
	check_program(argv[0]);
	r.argv = argv;
	r.self = getpid();
	if ((r.running = calloc((size_t)r.maxrun, sizeof(*r.running))) == NULL)
		err(1, "calloc");
	setup_signals(&r);
	setup_stdio();
	loop(&r);
	free_all(&r);
	return 0;
}
