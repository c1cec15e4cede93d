/* flood.c - flood and loop control: a token bucket per sender */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "extern.h"

/*
 * Flood control: a token bucket per bare JID, burst tokens deep, filled
 * at rate tokens a minute.  The table is bounded: past SENDERS_MAX
 * senders, the one seen least recently is forgotten.
 */

static struct sender *
sender_slot(struct bot *b)
{
	struct sender *s, *old;
	size_t i;

	if (b->nsenders < SENDERS_MAX)
		return &b->senders[b->nsenders++];
	old = &b->senders[0];
	for (i = 1; i < b->nsenders; i++)
		if (b->senders[i].seen < old->seen)
			old = &b->senders[i];
	s = old;
	free(s->jid);
	return s;
}

/* The sender's entry, made when new: a key is allocated only then. */
struct sender *
sender_find(struct bot *b, const char *from, int64_t now)
{
	struct sender *s;
	size_t i, barelen = strcspn(from, "/");

	for (i = 0; i < b->nsenders; i++)
		if (is_bare_of(b->senders[i].jid, from, barelen)) {
			b->senders[i].seen = now;
			return &b->senders[i];
		}
	s = sender_slot(b);
	memset(s, 0, sizeof *s);
	s->jid = bare_key(from);
	s->tokens = (double)b->burst;
	s->filled = s->seen = now;
	return s;
}

static int
take_token(struct bot *b, struct sender *s, int64_t now)
{
	s->tokens += (double)(now - s->filled) * (double)b->rate / 60000.0;
	if (s->tokens > (double)b->burst)
		s->tokens = (double)b->burst;
	s->filled = now;
	if (s->tokens < 1.0)
		return 0;
	s->tokens -= 1.0;
	s->told = 0;	/* the bucket was not empty: the episode is over */
	return 1;
}

/* An answer to from may go: a token taken, else a drop counted. */
int
spend_token(struct bot *b, const char *from)
{
	int64_t now = now_ms();

	if (take_token(b, sender_find(b, from, now), now))
		return 1;
	b->count.rate++;
	return 0;
}

/* The bytes of text in the message's bodies. */
static size_t
body_size(const struct xnode *m)
{
	const struct xnode *c, *t;
	size_t n = 0;

	for (c = m->child; c != NULL; c = c->next)
		if (c->name != NULL && strcmp(c->name, "body") == 0)
			for (t = c->child; t != NULL; t = t->next)
				if (t->name == NULL)
					n += t->textlen;
	return n;
}

/* FNV-1a of the bodies' text, to recognise our own echo coming back. */
uint64_t
body_hash(const struct xnode *m)
{
	const struct xnode *c, *t;
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (c = m->child; c != NULL; c = c->next) {
		if (c->name == NULL || strcmp(c->name, "body") != 0)
			continue;
		for (t = c->child; t != NULL; t = t->next)
			for (i = 0; t->name == NULL && i < t->textlen; i++) {
				h ^= (unsigned char)t->text[i];
				h *= 1099511628211ULL;
			}
		h ^= 0x100;	/* a body boundary, unlike any byte */
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Loop control.  Another bot that echoes us sends our echo back, within
 * a round trip: a body we echoed to that sender in the last ECHO_WINDOW
 * ms is taken for our echo come back, and dropped.  Up to ECHOES_KEPT
 * echoes a sender are kept, as many as may be in flight between two
 * bots.  An echo matches once: a person's same text, sent once more in
 * the window, is dropped once, then echoed again.
 */

static void
note_echo(struct sender *s, uint64_t hash, int64_t now)
{
	s->echoes[s->nextecho].hash = hash;
	s->echoes[s->nextecho].at = now;
	s->nextecho = (s->nextecho + 1) % ECHOES_KEPT;
}

/* A message of ours to the address to, sent by the handler (-x). */
void
remember_echo(struct bot *b, const char *to, uint64_t hash)
{
	int64_t now = now_ms();

	note_echo(sender_find(b, to, now), hash, now);
}

static int
came_back(struct sender *s, uint64_t hash, int64_t now)
{
	struct echo *e;
	size_t i;

	for (i = 0; i < ECHOES_KEPT; i++) {
		e = &s->echoes[i];
		if (e->at != 0 && e->hash == hash &&
		    now - e->at <= ECHO_WINDOW) {
			e->at = 0;
			return 1;
		}
	}
	return 0;
}

/*
 * RFC 6120 section 8.3.3.18: the sender is told once that its bucket
 * is empty, when it first finds it so; not again until a message of
 * its gets through.  The error costs no token: there is none.
 */
static void
tell_empty(struct bot *b, struct sender *s, const struct xnode *m)
{
	struct buf text = { 0 };

	if (s->told)
		return;
	s->told = 1;
	buf_printf(&text, "too many messages: the bot echoes %lld at once, "
	    "then %lld a minute; try again later", b->burst, b->rate);
	(void)message_error(b, m, "wait", "resource-constraint",
	    buf_str(&text));
	buf_free(&text);
}

/*
 * Too big, our own echo come back (two bots would otherwise talk
 * forever), or over the sender's rate: dropped and counted.  Else the
 * sender, whose bucket paid for the answer.
 */
struct sender *
admit(struct bot *b, const struct xnode *m)
{
	struct sender *s;
	int64_t now = now_ms();
	uint64_t hash;

	s = sender_find(b, xnode_attr(m, "from"), now);
	if ((long long)body_size(m) > b->maxbody) {
		b->count.size++;
		return NULL;
	}
	hash = body_hash(m);
	if (came_back(s, hash, now)) {
		b->count.loop++;
		return NULL;
	}
	if (!take_token(b, s, now)) {
		b->count.rate++;
		tell_empty(b, s, m);
		return NULL;
	}
	/* With -x, what is compared is what the handler sent to s. */
	if (b->h.cmd == NULL)
		note_echo(s, hash, now);
	return s;
}
