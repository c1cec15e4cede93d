/*
 * stamp.c - -T: every line of our standard error, and in owner mode
 * the stages' too, after its UTC time.
 *
 * A log file wants the time of each line; the launcher used to run a
 * shell for it, a process as big as a stage.  Our own lines go through
 * a stdio stream of ours that stamps them; the stages' standard error
 * is a pipe read in the owner's loop.  Our own lines never pass through
 * that pipe: a stage filling it must not block us.
 */
#define _GNU_SOURCE	/* fopencookie */
#include <sys/types.h>
#include <sys/uio.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

/* A longer line is cut into lines of this length, each stamped. */
#define STAMP_LINE	4096
#define STAMP_LEN	(sizeof "2026-01-01T00:00:00Z " - 1)

static int	 logfd = -1;	/* the real standard error */
static int	 pipe_r = -1;	/* the stages' lines, to read */
static char	 part[STAMP_LINE];	/* a stage's line not ended yet */
static size_t	 partlen;

/*
 * One line (with its newline, or one is added) after the time, in one
 * write, so that lines written at once do not mix.
 */
static void
stamp_line(const char *s, size_t n)
{
	struct iovec	 iov[3];
	struct tm	 tm;
	time_t		 t = time(NULL);
	char		 when[STAMP_LEN + 1];
	ssize_t		 w;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ ", &tm) == 0)
		strlcpy(when, "0000-00-00T00:00:00Z ", sizeof when);
	iov[0].iov_base = when;
	iov[0].iov_len = strlen(when);
	iov[1].iov_base = (char *)s;
	iov[1].iov_len = n;
	iov[2].iov_base = "\n";
	iov[2].iov_len = n > 0 && s[n - 1] == '\n' ? 0 : 1;
	/* (a log we cannot write loses its line; nowhere to say so) */
	do
		w = writev(logfd, iov, 3);
	while (w == -1 && errno == EINTR);
}

/*
 * Stamps the lines of s, a line cut at STAMP_LINE; the end of a line
 * not ended yet is left, unless all.  Returns the length stamped.
 */
static size_t
stamp_lines(const char *s, size_t len, int all)
{
	const char	*nl, *p = s;
	size_t		 left = len, n;

	while (left > 0) {
		if ((nl = memchr(p, '\n', left)) != NULL)
			n = nl - p + 1;
		else if (left >= STAMP_LINE || all)
			n = left;
		else
			break;
		if (n > STAMP_LINE)
			n = STAMP_LINE;
		stamp_line(p, n);
		p += n;
		left -= n;
	}
	return len - left;
}

/* Our own stderr stream, line buffered: its lines come whole. */
static ssize_t
own_write(void *cookie, const char *buf, size_t n)
{
	(void)cookie;
	return stamp_lines(buf, n, 1);
}

/* The stages' lines read so far, all of them: a line not ended too. */
static void
part_out(int all)
{
	size_t	 n = stamp_lines(part, partlen, all);

	memmove(part, part + n, partlen - n);
	partlen -= n;
}

/*
 * -T: our stderr stream stamps its lines (glibc lets stderr be set).
 * The descriptor 2 stays as it was, for stunnel and what we run.
 */
void
stamp_start(void)
{
	static const cookie_io_functions_t	 io = { .write = own_write };
	FILE	*f;

	if ((logfd = fcntl(2, F_DUPFD_CLOEXEC, 3)) == -1)
		err(EXIT_LOCAL, "-T: dup");
	if ((f = fopencookie(NULL, "w", io)) == NULL)
		err(EXIT_LOCAL, "-T: fopencookie");
	if (setvbuf(f, NULL, _IOLBF, STAMP_LINE) != 0)
		errx(EXIT_LOCAL, "-T: setvbuf failed");
	stderr = f;
}

int
stamping(void)
{
	return logfd != -1;
}

/*
 * Owner mode: the write end for the stages' stderr (to close once they
 * have it); the read end is ours, non-blocking.
 */
int
stamp_pipe(void)
{
	int	 p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		err(EXIT_LOCAL, "-T: pipe");
	pipe_r = p[0];
	set_nonblock(pipe_r);
	return p[1];
}

/* The pipe to poll, -1 when none or once all its writers are gone. */
int
stamp_fd(void)
{
	return pipe_r;
}

/*
 * Reads what the stages wrote: one read; or all, what is there now,
 * a line not ended too (a bound: a process left behind that holds the
 * pipe may write on for ever).
 */
void
stamp_read(int all)
{
	ssize_t	 n = -1;
	int	 reads = 0;

	if (pipe_r == -1)
		return;
	while (reads < (all ? 64 : 1)) {
		n = read(pipe_r, part + partlen, sizeof part - partlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		reads++;
		partlen += n;
		part_out(0);
	}
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		close(pipe_r);
		pipe_r = -1;
	}
	if (n == 0 || all)
		part_out(1);
}
