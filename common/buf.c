/* buf.c - a growable byte buffer */
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"

static void
buf_grow(struct buf *b, size_t need)
{
	size_t	 cap;

	if (b->cap - b->len > need)	/* keeps room for the NUL */
		return;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= need) {
		if (cap > SIZE_MAX / 2)
			errx(1, "buffer too large");
		cap *= 2;
	}
	if ((b->p = realloc(b->p, cap)) == NULL)
		err(1, "realloc");
	b->cap = cap;
}

/* The room is checked here, before a call: most adds need none. */
void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n)
		buf_grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
buf_addc(struct buf *b, char c)
{
	if (b->cap - b->len <= 1)
		buf_grow(b, 1);
	b->p[b->len++] = c;
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* n in decimal: ids and counters, which printf would cost many times. */
void
buf_addu(struct buf *b, unsigned long long n)
{
	char	 d[24], *p = d + sizeof(d);

	do {
		*--p = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	buf_add(b, p, (size_t)(d + sizeof(d) - p));
}

/* Formats into the room there is, and again only when it was short. */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	buf_grow(b, 0);
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		err(1, "vsnprintf");
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

char *
buf_str(struct buf *b)
{
	buf_grow(b, 0);
	b->p[b->len] = '\0';
	return b->p;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int
write_all(int fd, const void *p, size_t n)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLOUT };
	const char	*s = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, s, n)) == -1) {
			if (errno == EAGAIN)
				(void)poll(&pfd, 1, -1);
			else if (errno != EINTR)
				return -1;
			continue;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}
