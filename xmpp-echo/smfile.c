/*
 * smfile.c - -S: the state resumption needs, kept in a file
 *
 * XEP-0198 resumption needs the previous session's id, both counters
 * and the stanzas the server has not acknowledged, and the next
 * xmpp-echo needs them after this one is gone, killed or not.  They
 * are written when they change, once per read (before the output that
 * goes with them: an echo never leaves before the count of the message
 * it answers), into a file opened before the sandbox.  The sandbox
 * allows no rename(2), so the file has two slots, written in turn with
 * lseek(2) and write(2), each with a header that gives its generation,
 * length and hash: a slot torn by a kill mid-write fails its hash and
 * the other, older one is read instead.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "extern.h"

#define HEADER_LEN	64	/* "echobot-sm1 GEN LEN HASH\n", padded */
#define SLOT_SIZE	((off_t)SM_QUEUE_BYTES + 65536)
#define ITEM_MAX	(SM_QUEUE_BYTES + 1)

static uint64_t
fnv1a(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * The payload: items "K LEN\n" then LEN bytes and a newline.  j: our
 * bare JID, f: the full JID bound, i: the resumption id, l: the
 * location, h, o, a: the counters in, out and acked, s: one stanza of
 * the queue, oldest first.
 */

static void
put_item(struct buf *x, char k, const char *p, size_t n)
{
	buf_printf(x, "%c %zu\n", k, n);
	buf_add(x, p, n);
	buf_addc(x, '\n');
}

static void
put_str(struct buf *x, char k, const char *s)
{
	if (s != NULL)
		put_item(x, k, s, strlen(s));
}

static void
put_num(struct buf *x, char k, uint32_t n)
{
	char v[16];

	snprintf(v, sizeof v, "%" PRIu32, n);
	put_str(x, k, v);
}

static void
state_build(const struct bot *b, struct buf *x)
{
	const struct sm *s = &b->sm;
	const struct buf *q;
	size_t i;

	if (s->id == NULL)
		return;		/* nothing to resume: an empty state */
	put_str(x, 'j', b->bare);
	put_str(x, 'f', b->full);
	put_str(x, 'i', s->id);
	put_str(x, 'l', s->location);
	put_num(x, 'h', s->in);
	put_num(x, 'o', s->out);
	put_num(x, 'a', s->acked);
	for (i = 0; i < s->qlen; i++) {
		q = &s->q[(s->qhead + i) % SM_QUEUE_MAX];
		put_item(x, 's', q->p, q->len);
	}
}

/*
 * Writes the state, if changed, to the slot not holding the last one.
 * A failed write is an error: a state that did not reach the file
 * could make the next session echo twice.  It is written once per read
 * under load, so the slot is built in place, in a buffer kept from one
 * write to the next: no allocation and no copy per write.  It is not
 * wiped: it holds what the file holds, and no secret (the password and
 * SASL never enter it).
 */
void
sm_state_save(struct bot *b)
{
	struct sm *s = &b->sm;
	struct buf *x = &s->save;
	char h[HEADER_LEN + 1];
	size_t len;
	off_t at;

	if (s->fd == -1 || !s->dirty)
		return;
	memset(h, ' ', sizeof h);
	buf_reset(x);
	buf_add(x, h, HEADER_LEN);	/* its place; written below */
	state_build(b, x);
	len = x->len - HEADER_LEN;
	s->gen++;
	(void)snprintf(h, sizeof h, "echobot-sm1 %020" PRIu64 " %010zu "
	    "%016" PRIx64, s->gen, len, fnv1a(x->p + HEADER_LEN, len));
	memset(h + strlen(h), ' ', HEADER_LEN - strlen(h));
	h[HEADER_LEN - 1] = '\n';
	memcpy(x->p, h, HEADER_LEN);
	at = (off_t)(s->gen % 2) * SLOT_SIZE;
	if (lseek(s->fd, at, SEEK_SET) == -1 ||
	    write_all(s->fd, x->p, x->len) == -1)
		err(EX_LOCAL, "state file");
	s->dirty = 0;
}

/*
 * Reading, before the sandbox.
 */

struct slot {
	uint64_t	 gen;
	char		*p;	/* the payload */
	size_t		 len;
};

/* A slot whose header and hash hold, else gen 0. */
static void
slot_read(int fd, off_t at, struct slot *sl)
{
	char h[HEADER_LEN + 1];
	unsigned long long gen, len, hash;
	ssize_t n;

	memset(sl, 0, sizeof *sl);
	if ((n = pread(fd, h, HEADER_LEN, at)) != HEADER_LEN)
		return;
	h[HEADER_LEN] = '\0';
	if (sscanf(h, "echobot-sm1 %20llu %10llu %16llx", &gen, &len,
	    &hash) != 3 || len > (unsigned long long)SLOT_SIZE)
		return;
	if ((sl->p = malloc(len + 1)) == NULL)
		err(EX_LOCAL, "malloc");
	if (pread(fd, sl->p, len, at + HEADER_LEN) != (ssize_t)len ||
	    fnv1a(sl->p, len) != hash) {
		free(sl->p);
		sl->p = NULL;
		return;
	}
	sl->p[len] = '\0';
	sl->gen = gen;
	sl->len = len;
}

/* The next item of p (len bytes): its key, value and length; -1 at end. */
static int
next_item(const char **p, const char *end, char *k, const char **v,
    size_t *n)
{
	const char *nl;
	char *e;
	unsigned long long len;

	if (*p >= end || end - *p < 4 || (*p)[1] != ' ')
		return -1;
	*k = (*p)[0];
	if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		return -1;
	errno = 0;
	len = strtoull(*p + 2, &e, 10);
	if (errno != 0 || e != nl || len > ITEM_MAX ||
	    len + 1 > (unsigned long long)(end - nl - 1) ||
	    nl[1 + len] != '\n')
		return -1;
	*v = nl + 1;
	*n = (size_t)len;
	*p = nl + 2 + len;
	return 0;
}

static char *
dup_item(const char *v, size_t n)
{
	char *t;

	if (memchr(v, '\0', n) != NULL)
		return NULL;
	if ((t = strndup(v, n)) == NULL)
		err(EX_LOCAL, "strndup");
	return t;
}

static int
num_item(const char *v, size_t n, uint32_t *out)
{
	char t[16], *e;
	unsigned long long x;

	if (n == 0 || n >= sizeof t)
		return -1;
	memcpy(t, v, n);
	t[n] = '\0';
	errno = 0;
	x = strtoull(t, &e, 10);
	if (errno != 0 || *e != '\0' || x > UINT32_MAX)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

/* One item into the state; -1 if it does not belong there. */
static int
load_item(struct bot *b, char k, const char *v, size_t n, int *seen)
{
	struct sm *s = &b->sm;
	char *t = NULL;

	switch (k) {
	case 'j':
		if ((t = dup_item(v, n)) == NULL || strcmp(t, b->bare) != 0) {
			free(t);
			return -1;
		}
		free(t);
		break;
	case 'f':
		free(b->full);
		if ((b->full = dup_item(v, n)) == NULL)
			return -1;
		break;
	case 'i':
	case 'l':
		if (n == 0 || n > SM_ID_MAX || (t = dup_item(v, n)) == NULL)
			return -1;
		free(k == 'i' ? s->id : s->location);
		*(k == 'i' ? &s->id : &s->location) = t;
		break;
	case 'h':
	case 'o':
	case 'a':
		if (num_item(v, n, k == 'h' ? &s->in : k == 'o' ? &s->out :
		    &s->acked) == -1)
			return -1;
		break;
	case 's':
		if (s->qlen == SM_QUEUE_MAX || s->qbytes + n > SM_QUEUE_BYTES)
			return -1;
		sm_queue_push(s, v, n);
		break;
	default:
		return -1;
	}
	*seen |= 1 << (k - 'a');
	return 0;
}

/* The state of slot sl, checked whole; else none. */
static void
state_load(struct bot *b, const struct slot *sl)
{
	struct sm *s = &b->sm;
	const char *p = sl->p, *end = sl->p + sl->len, *v;
	char k;
	size_t n;
	int seen = 0, need;

	need = 1 << ('j' - 'a') | 1 << ('f' - 'a') | 1 << ('i' - 'a') |
	    1 << ('h' - 'a') | 1 << ('o' - 'a') | 1 << ('a' - 'a');
	while (next_item(&p, end, &k, &v, &n) == 0)
		if (k < 'a' || k > 'z' || load_item(b, k, v, n, &seen) == -1)
			break;
	if (p != end || (seen & need) != need ||
	    s->out - s->acked < (uint32_t)s->qlen ||
	    jid_normalize(b->full) == -1 || !own_bare_jid(b, b->full) ||
	    strchr(b->full, '/') == NULL) {
		if (sl->len > 0)
			warnx("state file: not a state of %s: a new session",
			    b->bare);
		sm_forget(b);
		free(b->full);
		b->full = NULL;
	}
	s->rcvd = s->in;	/* nothing is held across sessions */
	s->dirty = 0;
}

/*
 * Opens (creates) the state file, private, and loads the newest state
 * it holds.  It stays open: the sandbox allows no open(2).
 */
void
sm_state_open(struct bot *b, const char *path)
{
	struct sm *s = &b->sm;
	struct slot a, c;
	struct stat st;

	if ((s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		err(EX_LOCAL, "%s", path);
	if (fstat(s->fd, &st) == -1)
		err(EX_LOCAL, "%s", path);
	if (!S_ISREG(st.st_mode))
		errx(EX_LOCAL, "%s: not a regular file", path);
	if (st.st_uid != geteuid())
		errx(EX_LOCAL, "%s: not our own file", path);
	if ((st.st_mode & 077) != 0 && fchmod(s->fd, 0600) == -1)
		err(EX_LOCAL, "%s: chmod", path);
	slot_read(s->fd, 0, &a);
	slot_read(s->fd, SLOT_SIZE, &c);
	if (a.gen == 0 && c.gen == 0)
		return;		/* new, or nothing whole: a new session */
	s->gen = a.gen > c.gen ? a.gen : c.gen;
	state_load(b, a.gen > c.gen ? &a : &c);
	free(a.p);
	free(c.p);
}
