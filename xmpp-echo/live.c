/* live.c - liveness: timers, keepalive and pings, signals, the wait */
#define _GNU_SOURCE		/* ppoll(2) */

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "extern.h"

static volatile sig_atomic_t	 got_stop, got_usr1;

/*
 * Liveness.  Online: a space after keepalive ms without writing (RFC 6120
 * section 4.6.1), a ping to the server after idle ms without reading
 * (XEP-0199), and the end when it is not answered within timeout ms.
 * Before that, each step of the login has timeout ms.  In every state,
 * output that does not move for timeout ms is the end.
 */

static void
send_ping(struct bot *b)
{
	send_iq(b, "get", b->domain, "<ping xmlns='" NS_PING "'/>", NULL, "");
	/* send_iq keeps the id as pending: online, nothing else is. */
	free(b->ping_id);
	b->ping_id = b->pending;
	b->pending = NULL;
	b->ping_sent = now_ms();
}

/* The next moment a timer needs us; INT64_MAX for none. */
static int64_t
next_deadline(const struct bot *b)
{
	int64_t t;

	switch (b->state) {
	case S_CLOSING:
		return b->close_by;
	case S_ONLINE:
		/* A keepalive only when nothing else waits to go. */
		t = queued(b) == 0 ? b->last_write + b->keepalive : INT64_MAX;
		if (b->ping_sent != 0 && b->ping_sent + b->timeout < t)
			t = b->ping_sent + b->timeout;
		if (b->ping_sent == 0 && b->last_read + b->idle < t)
			t = b->last_read + b->idle;
		if (sm_deadline(b) < t)
			t = sm_deadline(b);
		break;
	default:
		t = b->step_by;
	}
	if (queued(b) > 0 && b->out_wait != 0 && b->out_wait + b->timeout < t)
		t = b->out_wait + b->timeout;
	if (b->h.cmd != NULL && handler_deadline(b) < t)
		t = handler_deadline(b);
	return t;
}

/* What the login awaits in each state, for a message. */
static const char *const awaited[] = {
	[S_OPEN] = "stream header",
	[S_FEATURES] = "stream features",
	[S_SASL] = "SASL answer",
	[S_REOPEN] = "stream header",
	[S_REFEATURES] = "stream features",
	[S_RESUME] = "resumption answer",
	[S_BIND] = "resource binding result",
	[S_SESSION] = "session result",
	[S_ROSTER] = "roster"
};

static void
check_timers(struct bot *b)
{
	int64_t now = now_ms();

	if (b->state != S_CLOSING && out_stalled(b, now))
		fail(b, EX_TIMEOUT, "server took no output for %lld s",
		    (long long)(b->timeout / 1000));
	switch (b->state) {
	case S_CLOSING:
		if (now >= b->close_by)
			finish_close(b);
		break;
	case S_ONLINE:
		if (b->ping_sent != 0 && now - b->ping_sent >= b->timeout)
			fail(b, EX_TIMEOUT, "server did not answer a ping in "
			    "%lld s", (long long)(b->timeout / 1000));
		sm_check_timer(b, now);
		if (b->ping_sent == 0 && now - b->last_read >= b->idle)
			send_ping(b);
		if (queued(b) == 0 && now - b->last_write >= b->keepalive &&
		    !sm_request_idle(b))
			send_str(b, " ");
		break;
	default:
		if (now >= b->step_by)
			fail(b, EX_TIMEOUT, "login: no %s from the server in "
			    "%lld s", awaited[b->state],
			    (long long)(b->timeout / 1000));
	}
}

/*
 * Signals: SIGTERM and SIGINT close the stream, SIGUSR1 prints the
 * counters.  They are blocked but while waiting in ppoll(2).
 */

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

void
setup_signals(struct bot *b)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	/* A vanished peer is a write error with a message, not a signal. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		err(EX_LOCAL, "sigaction");
	sa.sa_handler = on_signal;	/* no SA_RESTART: ppoll says EINTR */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1)
		err(EX_LOCAL, "sigaction");
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &block, &b->waitmask) == -1)
		err(EX_LOCAL, "sigprocmask");
	sigdelset(&b->waitmask, SIGTERM);
	sigdelset(&b->waitmask, SIGINT);
	sigdelset(&b->waitmask, SIGUSR1);
}

/* Unavailable presence, our close; the server's close is awaited. */
static void
begin_close(struct bot *b)
{
	static const char bye[] = "<presence type='unavailable'/>";

	if (b->state == S_CLOSING)
		finish_close(b);	/* asked twice: no more waiting */
	/*
	 * A stop ends the session for good, so its resumption state goes
	 * first (saved before this output is written, flush_out()): no
	 * next session can resume it and send the goodbye again.  Queued:
	 * a write error then ends the wait.
	 */
	if (b->sm.enabled)
		sm_forget(b);
	if (b->state == S_ONLINE)
		send_str(b, bye);
	send_str(b, "</stream:stream>");
	b->open = 0;
	b->state = S_CLOSING;
	b->close_by = now_ms() + CLOSE_WAIT;
}

/*
 * Waits for input, for room in the pipe when output waits, or for the
 * next deadline; returns 1 when stdin is ready.  With OUT_MAX bytes
 * queued, input is not read: a server that does not read cannot make
 * us keep what it sends.
 */
static int
wait_input(struct bot *b)
{
	struct pollfd pfd[5] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = STDOUT_FILENO, .events = POLLOUT }
	};
	struct timespec ts;
	int64_t wait;
	nfds_t n = 2;

	if (b->h.cmd != NULL)
		n += (nfds_t)handler_poll(b, pfd + 2);
	if (queued(b) >= OUT_MAX)
		pfd[0].fd = -1;
	if (queued(b) == 0)
		pfd[1].fd = -1;
	if ((wait = next_deadline(b) - now_ms()) < 0)
		wait = 0;
	ts.tv_sec = (time_t)(wait / 1000);
	ts.tv_nsec = (long)(wait % 1000) * 1000000;
	switch (ppoll(pfd, n, &ts, &b->waitmask)) {
	case -1:
		if (errno != EINTR)
			err(EX_LOCAL, "ppoll");
		return 0;
	case 0:
		break;
	default:
		if (b->h.cmd != NULL)
			handler_io(b, pfd + 2);
		return pfd[0].revents != 0;
	}
	if (b->h.cmd != NULL)
		handler_io(b, pfd + 2);
	return 0;
}

void
run(struct bot *b)
{
	b->last_read = now_ms();
	b->step_by = b->last_read + b->timeout;
	send_header(b);
	for (;;) {
		if (got_usr1) {
			got_usr1 = 0;
			print_counters(b);
		}
		if (got_stop) {
			got_stop = 0;
			begin_close(b);
		}
		check_timers(b);
		sm_tick(b);
		flush_out(b);
		if (wait_input(b) && !read_input(b))
			end_of_input(b);
	}
}
