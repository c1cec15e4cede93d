/* password.c - the password: from a file, the environment or the terminal */

#include <sys/stat.h>

#include <err.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "extern.h"

static char *
read_passfile(const char *path)
{
	struct stat st;
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if ((fp = fopen(path, "r")) == NULL)
		err(EX_LOCAL, "%s", path);
	/* No stdio buffer: it would keep a copy of the password. */
	setvbuf(fp, NULL, _IONBF, 0);
	if (fstat(fileno(fp), &st) == -1)
		err(EX_LOCAL, "%s", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		warnx("%s: password file is accessible by group or others",
		    path);
	if ((n = getline(&line, &cap, fp)) == -1) {
		if (ferror(fp))
			err(EX_LOCAL, "%s", path);
		errx(EX_LOCAL, "%s: empty password file", path);
	}
	fclose(fp);
	/* From here on it is a C string: a NUL would cut it short. */
	if (memchr(line, '\0', (size_t)n) != NULL) {
		explicit_bzero(line, (size_t)n);
		errx(EX_LOCAL, "%s: the password holds a NUL byte", path);
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	return line;
}

/* A copy of XMPP_PASSWORD, wiped from the environment; or NULL. */
static char *
env_password(void)
{
	char *v, *p;

	if ((v = getenv("XMPP_PASSWORD")) == NULL)
		return NULL;
	if ((p = strdup(v)) == NULL)
		err(EX_LOCAL, "strdup");
	explicit_bzero(v, strlen(v));
	if (unsetenv("XMPP_PASSWORD") == -1)
		err(EX_LOCAL, "unsetenv");
	return p;
}

char *
get_password(const char *passfile)
{
	char buf[1024], *p;

	if (passfile != NULL)
		p = read_passfile(passfile);
	else if ((p = env_password()) == NULL) {
		if (readpassphrase("Password: ", buf, sizeof buf,
		    RPP_REQUIRE_TTY) == NULL)
			errx(EX_LOCAL, "no password: use -p passfile, "
			    "XMPP_PASSWORD or a terminal");
		if ((p = strdup(buf)) == NULL)
			err(EX_LOCAL, "strdup");
		explicit_bzero(buf, sizeof buf);
	}
	if (*p == '\0')
		errx(EX_LOCAL, "empty password");
	return p;
}
