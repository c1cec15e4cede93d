.POSIX:
.SUFFIXES:
.SUFFIXES: .c .o

VERSION = 0.1
PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man
# Where echobot@.service looks for NAME.conf and NAME.pass (under
# echobot/), and where systemd finds the unit.
SYSCONFDIR = /etc
SYSTEMDUNITDIR = $(PREFIX)/lib/systemd/system
# The example bots (README.md, "Write your own bot").
EXAMPLEDIR = $(PREFIX)/share/doc/echobot/examples
EXAMPLES = examples/echo.sh examples/ping.awk examples/rot13.py

CC = cc
CFLAGS = -O2 -g -Wall -Wextra
LDFLAGS =

# pkg-config runs in the recipes' shell, so the Makefile stays POSIX.
BSD_CFLAGS = `pkg-config --cflags libbsd-overlay`
# libbsd (strlcpy, strtonum, readpassphrase) and Nettle (SCRAM's hashes)
# are linked in, expat shared: its security updates must reach the
# parser.  A shared library costs each of our processes some 150 KiB
# resident for a few small functions (bench/RESULTS.md); LINK_HELPERS=
# shared links them shared.
LINK_HELPERS = static
BSD_LIBS = `sh common/link.sh $(LINK_HELPERS) libbsd-overlay`
EXPAT_LIBS = `pkg-config --libs expat`
CRYPTO_LIBS = `sh common/link.sh $(LINK_HELPERS) nettle`
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DVERSION=\"$(VERSION)\" -Icommon $(BSD_CFLAGS) $(CFLAGS)

TOOLS = xmpp-connect/xmpp-connect xmpp-parse/xmpp-parse xmpp-echo/xmpp-echo \
	xmpp-run/xmpp-run
MAN1 = man/xmpp-connect.1 man/xmpp-parse.1 man/xmpp-echo.1 man/echobot.sh.1 \
	man/xmpp-run.1
MAN5 = man/xmpp-record.5 man/xmpp-capture.5 man/echobot.conf.5
MAN7 = man/echobot.7
COMMON = common/buf.o common/record.o common/xml.o common/sandbox.o
CONNECT_OBJ = xmpp-connect/xmpp-connect.o xmpp-connect/dns.o xmpp-connect/tls.o \
	xmpp-connect/owner.o xmpp-connect/stamp.o \
	xmpp-connect/capture.o
PARSE_OBJ = xmpp-parse/xmpp-parse.o xmpp-parse/skip.o
ECHO_OBJ = xmpp-echo/xmpp-echo.o xmpp-echo/auth.o xmpp-echo/check.o \
	xmpp-echo/echo.o xmpp-echo/flood.o xmpp-echo/handler.o xmpp-echo/jid.o \
	xmpp-echo/live.o xmpp-echo/login.o xmpp-echo/output.o \
	xmpp-echo/password.o xmpp-echo/sasl.o xmpp-echo/session.o \
	xmpp-echo/sm.o xmpp-echo/smfile.o xmpp-echo/stream.o \
	xmpp-echo/supervise.o
UNIT = tests/unit/record-test tests/unit/sasl-test tests/unit/sandbox-test
RUN_OBJ = xmpp-run/xmpp-run.o

all: $(TOOLS)

.c.o:
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(COMMON): common/record.h common/sandbox.h
$(CONNECT_OBJ): common/record.h xmpp-connect/extern.h common/config.h \
	common/expat-eager.h
$(PARSE_OBJ): common/record.h common/config.h common/expat-eager.h \
	xmpp-parse/skip.h
$(ECHO_OBJ): common/record.h xmpp-echo/sasl.h xmpp-echo/extern.h

# What the installed libraries offer (common/config.sh says why);
# EXPAT_DEFERRAL=no writes it as for an expat before 2.6.0.
common/config.h: common/config.sh
	sh common/config.sh "$(CC)" "$(CFLAGS)" >$@.tmp && mv $@.tmp $@

xmpp-connect/xmpp-connect: $(CONNECT_OBJ) $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $(CONNECT_OBJ) $(COMMON) $(EXPAT_LIBS) $(BSD_LIBS) -lresolv

xmpp-parse/xmpp-parse: $(PARSE_OBJ) $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $(PARSE_OBJ) $(COMMON) $(EXPAT_LIBS) $(BSD_LIBS)

xmpp-echo/xmpp-echo: $(ECHO_OBJ) $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $(ECHO_OBJ) $(COMMON) $(CRYPTO_LIBS) $(BSD_LIBS)

$(RUN_OBJ): common/record.h
xmpp-run/xmpp-run: $(RUN_OBJ) $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $(RUN_OBJ) $(COMMON) $(BSD_LIBS)

tests/unit/record-test: tests/unit/record-test.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ tests/unit/record-test.o $(COMMON) $(BSD_LIBS)

tests/unit/sasl-test: tests/unit/sasl-test.o xmpp-echo/sasl.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ tests/unit/sasl-test.o xmpp-echo/sasl.o $(COMMON) $(CRYPTO_LIBS) $(BSD_LIBS)

tests/unit/sandbox-test: tests/unit/sandbox-test.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ tests/unit/sandbox-test.o $(COMMON) $(BSD_LIBS)

tests/unit/sasl-test.o: xmpp-echo/sasl.h

# The test suite: TAP scripts run by prove(1).  TESTS picks a subset.
TESTS = tests/*.t
# tests/deps.sh installs what is missing (as root) or says what to install.
check:
	sh tests/deps.sh check
	$(MAKE) all $(UNIT)
	prove -v $(TESTS)

# The main job on an embedded default: a throwaway Prosody and a real echo.
demo:
	sh tests/demo.sh

# Fuzzing (clang, libFuzzer, AFL++): FUZZTIME seconds per harness.
FUZZTIME = 60
fuzz:
	sh tests/fuzz/run.sh $(FUZZTIME)

# Benchmarks against libstrophe and slixmpp; results in bench/RESULTS.md.
# BENCH_MODES, BENCH_REPS and the rest: bench/README.md.
bench: all
	sh tests/deps.sh bench
	sh bench/run.sh

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1 \
	    $(DESTDIR)$(MANPREFIX)/man5 $(DESTDIR)$(MANPREFIX)/man7
	cp -f $(TOOLS) echobot.sh $(DESTDIR)$(PREFIX)/bin/
	cp -f $(MAN1) $(DESTDIR)$(MANPREFIX)/man1/
	cp -f $(MAN5) $(DESTDIR)$(MANPREFIX)/man5/
	cp -f $(MAN7) $(DESTDIR)$(MANPREFIX)/man7/
	mkdir -p $(DESTDIR)$(EXAMPLEDIR)
	cp -f $(EXAMPLES) $(DESTDIR)$(EXAMPLEDIR)/
	mkdir -p $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's,@BINDIR@,$(PREFIX)/bin,g' -e 's,@SYSCONFDIR@,$(SYSCONFDIR),g' \
	    systemd/echobot@.service.in >$(DESTDIR)$(SYSTEMDUNITDIR)/echobot@.service

uninstall:
	for f in $(TOOLS) echobot.sh; do \
		rm -f $(DESTDIR)$(PREFIX)/bin/$${f##*/}; done
	for f in $(MAN1) $(MAN5) $(MAN7); do \
		s=$${f##*.}; rm -f $(DESTDIR)$(MANPREFIX)/man$$s/$${f##*/}; done
	for f in $(EXAMPLES); do \
		rm -f $(DESTDIR)$(EXAMPLEDIR)/$${f##*/}; done
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/echobot@.service

clean:
	rm -f $(TOOLS) $(UNIT) common/*.o xmpp-*/*.o tests/unit/*.o \
	    common/config.h common/config.h.tmp

.PHONY: all check demo fuzz bench install uninstall clean
