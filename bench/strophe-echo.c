/*
 * strophe-echo - the same echo bot written with libstrophe, as a baseline
 *
 * usage: strophe-echo -t plain|starttls|direct [-C cafile] host port jid
 *            passfile
 *
 * Logs in (the library picks SCRAM-SHA-1 from Prosody's offer), sends
 * initial presence and echoes every chat or normal message with a body,
 * like xmpp-echo; no roster fetch, no stream management, like xmpp-echo.
 * With -t starttls or direct (XEP-0368, libstrophe's "legacy SSL") it
 * exits unless the session is encrypted, and says "secured" on standard
 * error once it is: the bench compares TLS with TLS.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <strophe.h>

static int	 want_tls;

static int
on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	xmpp_ctx_t	*ctx = arg;
	xmpp_stanza_t	*reply;
	const char	*type;
	char		*body;

	type = xmpp_stanza_get_type(st);
	if (type != NULL && strcmp(type, "chat") != 0 &&
	    strcmp(type, "normal") != 0)
		return 1;
	if (xmpp_stanza_get_child_by_name(st, "body") == NULL)
		return 1;
	if ((body = xmpp_message_get_body(st)) == NULL)
		return 1;
	reply = xmpp_stanza_reply(st);
	if (xmpp_stanza_get_type(reply) == NULL)
		xmpp_stanza_set_type(reply, "chat");
	xmpp_message_set_body(reply, body);
	xmpp_send(conn, reply);
	xmpp_stanza_release(reply);
	xmpp_free(ctx, body);
	return 1;
}

static void
on_conn(xmpp_conn_t *conn, xmpp_conn_event_t status, int error,
    xmpp_stream_error_t *stream_error, void *arg)
{
	xmpp_ctx_t	*ctx = arg;
	xmpp_stanza_t	*pres;

	(void)error;
	(void)stream_error;
	if (status == XMPP_CONN_CONNECT) {
		if (want_tls) {
			if (!xmpp_conn_is_secured(conn))
				errx(1, "session not encrypted");
			fprintf(stderr, "strophe-echo: secured\n");
		}
		xmpp_handler_add(conn, on_message, NULL, "message", NULL, ctx);
		pres = xmpp_presence_new(ctx);
		xmpp_send(conn, pres);
		xmpp_stanza_release(pres);
	} else
		xmpp_stop(ctx);
}

static char *
readpass(const char *path)
{
	FILE	*fp;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	if ((n = getline(&line, &cap, fp)) <= 0)
		errx(1, "%s: empty", path);
	fclose(fp);
	if (line[n - 1] == '\n')
		line[n - 1] = '\0';
	return line;
}

int
main(int argc, char *argv[])
{
	xmpp_ctx_t	*ctx;
	xmpp_conn_t	*conn;
	const char	*mode = "starttls", *cafile = NULL;
	char		*pass;
	long		 flags;
	int		 ch;

	while ((ch = getopt(argc, argv, "C:t:")) != -1) {
		switch (ch) {
		case 'C':
			cafile = optarg;
			break;
		case 't':
			mode = optarg;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 4)
		goto usage;
	if (strcmp(mode, "plain") == 0)
		flags = XMPP_CONN_FLAG_DISABLE_TLS;
	else if (strcmp(mode, "starttls") == 0)
		flags = XMPP_CONN_FLAG_MANDATORY_TLS;
	else if (strcmp(mode, "direct") == 0)
		flags = XMPP_CONN_FLAG_LEGACY_SSL;
	else
		goto usage;
	want_tls = (flags & XMPP_CONN_FLAG_DISABLE_TLS) == 0;
	pass = readpass(argv[3]);

	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, xmpp_get_default_logger(XMPP_LEVEL_ERROR));
	conn = xmpp_conn_new(ctx);
	xmpp_conn_set_flags(conn, flags | XMPP_CONN_FLAG_DISABLE_SM);
	if (cafile != NULL)
		xmpp_conn_set_cafile(conn, cafile);
	xmpp_conn_set_jid(conn, argv[2]);
	xmpp_conn_set_pass(conn, pass);
	if (xmpp_connect_client(conn, argv[0],
	    (unsigned short)atoi(argv[1]), on_conn, ctx) != XMPP_EOK)
		errx(1, "xmpp_connect_client failed");
	xmpp_run(ctx);
	xmpp_conn_release(conn);
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	return 0;
usage:
	fprintf(stderr, "usage: strophe-echo -t plain|starttls|direct "
	    "[-C cafile] host port jid passfile\n");
	return 1;
}
