/*
 * expat-bare - the floor for xmpp-parse: expat over a file, doing nothing
 *
 * Same parser set-up as xmpp-parse (namespace processing with a separator,
 * no reparse deferral, 64 KiB reads), empty handlers, no output.  What
 * xmpp-parse costs above this is its own.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <expat.h>

#include "expat-eager.h"

#define BUFSZ	65536

static void XMLCALL
on_start(void *arg, const char *name, const char **atts)
{
	(void)arg;
	(void)name;
	(void)atts;
}

static void XMLCALL
on_end(void *arg, const char *name)
{
	(void)arg;
	(void)name;
}

static void XMLCALL
on_text(void *arg, const char *s, int len)
{
	(void)arg;
	(void)s;
	(void)len;
}

int
main(int argc, char *argv[])
{
	static char	 buf[BUFSZ];
	XML_Parser	 xp;
	ssize_t		 n;
	int		 fd = STDIN_FILENO;

	if (argc > 2) {
		fprintf(stderr, "usage: expat-bare [file]\n");
		return 1;
	}
	if (argc == 2 && (fd = open(argv[1], O_RDONLY)) == -1)
		err(1, "%s", argv[1]);
	if ((xp = XML_ParserCreateNS("UTF-8", '\1')) == NULL)
		errx(1, "XML_ParserCreateNS failed");
	XML_SetElementHandler(xp, on_start, on_end);
	XML_SetCharacterDataHandler(xp, on_text);
	expat_eager(xp);
	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "read");
		}
		if (XML_Parse(xp, buf, (int)n, n == 0) != XML_STATUS_OK)
			errx(1, "offset %ld: %s",
			    (long)XML_GetCurrentByteIndex(xp),
			    XML_ErrorString(XML_GetErrorCode(xp)));
		if (n == 0)
			break;
	}
	XML_ParserFree(xp);
	return 0;
}
