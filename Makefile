# sluice: a SOCKS5 and HTTP forward proxy.  See README.md.
#
#   make          build ./sluice (linked statically: see "Static build" below)
#   make run      install missing packages, build, run the embedded default
#   make test     install missing packages, build, run unit + integration tests
#   make unit     unit tests only        make integration   integration only
#   make asan     everything again, built with AddressSanitizer + UBSan
#   make valgrind the integration tests with the dynamic build under valgrind
#   make dynamic  ./sluice-dynamic: the same program on the system's shared
#                 libraries (what a distribution package ships)
#   make test-dynamic  the integration tests against ./sluice-dynamic
#   make install  binary, man pages, unit, examples (PREFIX, DESTDIR...;
#                 DYNAMIC=1 installs ./sluice-dynamic as the binary)
#   make uninstall
#   make clean

VERSION  = 0.1.0
PROG     = sluice
CC      ?= cc
PKGS     = libevent_core libcares libconfig
B        = build

WARN     = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla -Wwrite-strings -Wundef
OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSLUICE_VERSION='"$(VERSION)"' $(WARN) \
             $(CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt -lpthread

SRCS = proxy/acct.c proxy/admin.c proxy/dnscache.c proxy/http.c \
       proxy/iptable.c proxy/listener.c proxy/log.c proxy/netaddr.c \
       proxy/notify.c proxy/origin.c proxy/pac.c proxy/pkgcheck.c \
       proxy/policy.c \
       proxy/privs.c proxy/relay.c proxy/resolver.c proxy/rules.c \
       proxy/server.c proxy/sio.c \
       proxy/session.c proxy/session_http.c proxy/session_socks.c \
       proxy/socks4.c proxy/socks5.c proxy/tbucket.c proxy/tcpcc.c \
       proxy/upstream.c proxy/worker.c \
       auth/auth.c auth/base64.c auth/crypt_pool.c auth/siphash.c \
       conf/conf.c
OBJS = $(SRCS:%.c=$(B)/%.o)

# unit test binaries: tests/unit/test_X.c linked with the objects it needs
UNIT = socks5 socks4 http base64 netaddr conf auth dnscache upstream relay \
       siphash acct rules tbucket policy pac origin sio resolver \
       nssfiles pkgcheck
UNIT_BINS = $(UNIT:%=$(B)/tests/test_%)
UNIT_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

all: $(PROG)

# V=1 shows the commands
Q = $(if $(V),,@)

# How ./sluice is linked: static (the default) or dynamic.  The sanitizer
# builds below link dynamically, as their runtimes must.
PROG_LINK ?= static
DYN_PROG   = $(PROG)-dynamic

define link_dynamic
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)
endef

# The static build, the default: the same objects, linked with glibc,
# libevent, c-ares, libconfig and libcrypt inside (static-pie, so the
# address space is still randomised).  Lighter to run: no dynamic loader,
# no relocations, only the library code sluice calls (1.5 MiB of RSS
# fresh against 2.4).  What it costs:
# - An `apt upgrade` of those libraries does not reach into the binary.
#   So ./sluice depends on their archives (make relinks it after an
#   upgrade), and records which Debian source package and version each
#   came from (contrib/linkinfo.sh -> $(B)/linkinfo.c); the running
#   proxy warns when dpkg has another version installed
#   (proxy/pkgcheck.c), at start and on reload.
# - Users and groups (the `user` and `group` keys) come from /etc/passwd
#   and /etc/group only, read by proxy/nssfiles.c: glibc's NSS modules
#   cannot be loaded safely into a static binary.
# glibc still warns at link time about the resolver functions libevent and
# c-ares link in (getaddrinfo, getservbyname...), which sluice never calls
# (names go through c-ares with no service name); those known warnings
# stay in $(B)/static-link.log and any other linker message is shown.
# See README "Static build".
STATIC_OBJS = $(B)/proxy/nssfiles.o $(B)/linkinfo.o
STATIC_LIBS = $(shell pkg-config --static --libs $(PKGS) 2>/dev/null) \
              -lcrypt -lpthread
STATIC_WRAP = -Wl,--wrap=getpwnam,--wrap=getgrnam,--wrap=initgroups
# the archives linked: libc's, then each -l of STATIC_LIBS (absent ones
# are left out: deps installs them)
STATIC_ARCHIVES = $(realpath $(foreach l,c $(patsubst -l%,%,$(filter -l%,\
                  $(STATIC_LIBS))),\
                  $(shell $(CC) -print-file-name=lib$(l).a 2>/dev/null)))

define link_static
	@echo "  LD      $@ (static)"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -static-pie $(STATIC_WRAP) -o $@ \
	    $(filter %.o,$^) $(STATIC_LIBS) 2>$(B)/static-link.log || \
	    { cat $(B)/static-link.log >&2; exit 1; }
	@grep -v -e "in statically linked applications requires at runtime" \
	    -e ": in function .*:$$" $(B)/static-link.log >&2 || true
endef

ifeq ($(PROG_LINK),static)
$(PROG): $(OBJS) $(B)/proxy/main.o $(STATIC_OBJS) $(STATIC_ARCHIVES)
	$(link_static)
else
$(PROG): $(OBJS) $(B)/proxy/main.o
	$(link_dynamic)
endif

$(DYN_PROG): $(OBJS) $(B)/proxy/main.o
	$(link_dynamic)

dynamic: deps
	$(MAKE) $(DYN_PROG)

$(B)/linkinfo.c: contrib/linkinfo.sh $(STATIC_ARCHIVES)
	@mkdir -p $(dir $@)
	$(Q)sh contrib/linkinfo.sh $(STATIC_ARCHIVES) >$@.tmp && mv -f $@.tmp $@

$(B)/linkinfo.o: $(B)/linkinfo.c proxy/pkgcheck.h
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -Iproxy -c -o $@ $<

# DYNAMIC=1: make install, make bench and make soak take ./sluice-dynamic
SEL_PROG = $(if $(DYNAMIC),$(DYN_PROG),$(PROG))

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(OBJS:.o=.d) $(B)/proxy/main.d $(B)/proxy/nssfiles.d \
    $(UNIT_BINS:=.d)

$(B)/tests/test_%: tests/unit/test_%.c $(OBJS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -Iproxy -Iauth -Iconf -MMD -MP \
	    $(shell pkg-config --cflags cmocka 2>/dev/null) -o $@ $< $(OBJS) \
	    $(UNIT_OBJS) $(UNIT_LDFLAGS) $(UNIT_LIBS) $(LDLIBS)

# the static build's own object
$(B)/tests/test_nssfiles: $(B)/proxy/nssfiles.o
$(B)/tests/test_nssfiles: UNIT_OBJS = $(B)/proxy/nssfiles.o

# counts and fails the c-ares channels the resolver makes
$(B)/tests/test_resolver: UNIT_LDFLAGS = -Wl,--wrap=ares_init_options

deps:
	@sh contrib/deps.sh build

deps-test:
	@sh contrib/deps.sh test

run: deps
	$(MAKE) all
	./$(PROG)

unit-bins: $(UNIT_BINS)

unit: deps-test
	$(MAKE) unit-bins
	sh tests/run.sh unit

integration: deps-test
	$(MAKE) all $(SLLOAD)
	sh tests/run.sh integration

test: deps-test
	$(MAKE) all unit-bins $(SLLOAD) $(THREADRELAY)
	sh tests/run.sh all

# clang, as make fuzz uses: one compiler and one sanitizer runtime.  It
# warns about two things gcc accepts, both intended here: a struct ending
# in a flexible array used as a list sentinel, and adjacent string literals
# in test tables
CLANG_WNO = -Wno-gnu-variable-sized-type-not-at-end -Wno-string-concatenation
SAN = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
      -fno-sanitize-recover=all $(CLANG_WNO)
asan: deps-test
	@# objects from an older gcc build cannot link with clang's runtime
	@[ -e build/asan/.clang ] || rm -rf build/asan
	@mkdir -p build/asan && touch build/asan/.clang
	$(MAKE) CC=clang B=build/asan PROG=build/asan/sluice PROG_LINK=dynamic \
	    OPT="$(SAN)" \
	    LDFLAGS="-fsanitize=address,undefined" build/asan/sluice unit-bins
	$(MAKE) $(SLLOAD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TEST_BUILD=build/asan SLUICE_BIN=$(CURDIR)/build/asan/sluice \
	    sh tests/run.sh all

# ThreadSanitizer: sluice with every worker thread, against the
# integration tests (halt on the first data race)
TSAN = -O1 -g -fno-omit-frame-pointer -fsanitize=thread $(CLANG_WNO)
tsan: deps-test
	@[ -e build/tsan/.clang ] || rm -rf build/tsan
	@mkdir -p build/tsan && touch build/tsan/.clang
	$(MAKE) CC=clang B=build/tsan PROG=build/tsan/sluice PROG_LINK=dynamic \
	    OPT="$(TSAN)" \
	    LDFLAGS="-fsanitize=thread" build/tsan/sluice
	$(MAKE) $(SLLOAD)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	SLUICE_BIN=$(CURDIR)/build/tsan/sluice sh tests/run.sh integration

# every integration test again, against the dynamic build
test-dynamic: deps-test
	$(MAKE) all $(DYN_PROG) $(SLLOAD)
	SLUICE_BIN=$(CURDIR)/$(DYN_PROG) sh tests/run.sh integration

# the dynamic build: valgrind replaces malloc only in a program that
# loads shared libraries
valgrind: deps-test
	$(MAKE) all $(DYN_PROG) $(SLLOAD)
	command -v valgrind >/dev/null || sh contrib/deps.sh valgrind
	SLUICE_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite --track-fds=yes \
	    --suppressions=$(CURDIR)/contrib/valgrind.supp" \
	    SLUICE_BIN=$(CURDIR)/$(DYN_PROG) sh tests/run.sh integration

clean:
	rm -rf $(B) $(PROG) $(DYN_PROG)

.PHONY: all deps deps-test run unit unit-bins integration test asan tsan valgrind \
	clean dynamic test-dynamic

# ----- install / uninstall --------------------------------------------------
#   make install [PREFIX=/usr/local] [DESTDIR=/tmp/pkg] [SYSCONFDIR=/etc]
#                [NO_SYSUSERS=1: do not create the sluice user now]
#                [DYNAMIC=1: install the dynamic build, ./sluice-dynamic]
#   make uninstall (same variables)
# Files under SYSCONFDIR (the configuration, the logrotate entry) are
# installed only when absent and never removed: they are the admin's.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/sluice
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DESTDIR    ?=
INSTALL    ?= install

EXAMPLES = contrib/examples/laptop.conf contrib/examples/egress-gateway.conf \
           contrib/examples/users.txt

# install only when absent: $(call install_new,SRC,DEST,MODE)
install_new = if [ -e "$(2)" ]; then \
	    echo "  KEEP    $(2) (exists, not overwritten)"; \
	else \
	    echo "  INSTALL $(2)"; \
	    $(INSTALL) -D -m $(3) $(1) "$(2)"; \
	fi

install: $(SEL_PROG)
	$(INSTALL) -D -m 0755 $(SEL_PROG) "$(DESTDIR)$(SBINDIR)/sluice"
	$(INSTALL) -D -m 0644 contrib/man/sluice.8 \
	    "$(DESTDIR)$(MANDIR)/man8/sluice.8"
	$(INSTALL) -D -m 0644 contrib/man/sluice.conf.5 \
	    "$(DESTDIR)$(MANDIR)/man5/sluice.conf.5"
	$(INSTALL) -d "$(DESTDIR)$(DOCDIR)/examples"
	$(INSTALL) -m 0644 $(EXAMPLES) "$(DESTDIR)$(DOCDIR)/examples/"
	$(INSTALL) -d "$(DESTDIR)$(UNITDIR)"
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    contrib/systemd/sluice.service \
	    >"$(DESTDIR)$(UNITDIR)/sluice.service.tmp"
	chmod 0644 "$(DESTDIR)$(UNITDIR)/sluice.service.tmp"
	mv -f "$(DESTDIR)$(UNITDIR)/sluice.service.tmp" \
	    "$(DESTDIR)$(UNITDIR)/sluice.service"
	$(INSTALL) -D -m 0644 contrib/systemd/sluice.sysusers \
	    "$(DESTDIR)$(SYSUSERSDIR)/sluice.conf"
	@$(call install_new,contrib/logrotate/sluice,$(DESTDIR)$(SYSCONFDIR)/logrotate.d/sluice,0644)
	@$(call install_new,contrib/examples/laptop.conf,$(DESTDIR)$(SYSCONFDIR)/sluice/sluice.conf,0640)
	@# on the running system (no DESTDIR): the user now, the file its group
	@if [ -z "$(DESTDIR)" ] && [ -z "$(NO_SYSUSERS)" ] && \
	    command -v systemd-sysusers >/dev/null; then \
	    systemd-sysusers "$(SYSUSERSDIR)/sluice.conf" && \
	    chgrp sluice "$(SYSCONFDIR)/sluice/sluice.conf" && \
	    echo "  USER    sluice (systemd-sysusers); $(SYSCONFDIR)/sluice/sluice.conf root:sluice 0640"; \
	fi

uninstall:
	rm -f "$(DESTDIR)$(SBINDIR)/sluice" \
	    "$(DESTDIR)$(MANDIR)/man8/sluice.8" \
	    "$(DESTDIR)$(MANDIR)/man5/sluice.conf.5" \
	    "$(DESTDIR)$(UNITDIR)/sluice.service" \
	    "$(DESTDIR)$(SYSUSERSDIR)/sluice.conf" \
	    $(foreach f,$(notdir $(EXAMPLES)),"$(DESTDIR)$(DOCDIR)/examples/$(f)")
	rmdir "$(DESTDIR)$(DOCDIR)/examples" "$(DESTDIR)$(DOCDIR)" 2>/dev/null || true
	@echo "  KEPT    $(DESTDIR)$(SYSCONFDIR)/sluice/ and" \
	    "$(DESTDIR)$(SYSCONFDIR)/logrotate.d/sluice (configuration:" \
	    "remove them by hand if wanted)"

.PHONY: install uninstall

# ----- fuzzing (libFuzzer, clang) --------------------------------------------
#   make fuzz [FUZZ_SECONDS=60]  every target for N seconds, on a copy of its
#                                corpus; fails on any crash, leak or broken
#                                invariant and prints the input saved for it
#   make fuzz-regress            every target once over its checked-in corpus
# Targets: tests/fuzz/fuzz_NAME.c, corpus in tests/fuzz/corpus/NAME/ (made
# by tests/fuzz/make-corpus.py).  Objects and binaries go to build/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ      = socks5 http_request http_response chunked rules conf
FUZZ_SAN  = -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all \
            -fsanitize=fuzzer-no-link,address,undefined $(CLANG_WNO)
FUZZ_OBJS = $(addprefix $(B)/,proxy/http.o proxy/log.o proxy/netaddr.o \
            proxy/rules.o proxy/socks4.o proxy/socks5.o conf/conf.o)
FUZZ_BINS = $(FUZZ:%=$(B)/fuzz_%)

-include $(FUZZ_BINS:=.d)

# conf.o may open only the target's own files (see fuzz_conf.c)
$(B)/fuzz_conf: FUZZ_LDFLAGS = -Wl,--wrap=fopen

$(B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -Iproxy -Iconf -MMD -MP \
	    $(FUZZ_LDFLAGS) -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

fuzz-bins: $(FUZZ_BINS)

fuzz-build: deps-test
	$(MAKE) CC=clang B=build/fuzz OPT="$(FUZZ_SAN)" fuzz-bins

fuzz: fuzz-build
	sh tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ)

fuzz-regress: fuzz-build
	sh tests/fuzz/run.sh regress 0 $(FUZZ)

.PHONY: fuzz fuzz-regress fuzz-build fuzz-bins

# ----- the project's own benchmark and soak test ---------------------------
#   make bench  slload (tests/bench/slload.c) against ./sluice, the
#               installed peers and threadrelay (tests/bench/threadrelay.c,
#               built the way 3proxy is), a table of medians; options for
#               tests/bench/run.py in BENCH_ARGS, e.g.
#               BENCH_ARGS="--systems sluice,microsocks --duration 5"
#   make soak   mixed load with aborting clients for SOAK_SECONDS (60),
#               then the descriptor, memory and shutdown checks; another
#               binary with SLUICE_BIN=build/asan/sluice
#   DYNAMIC=1   either of them on the dynamic build, ./sluice-dynamic
SLLOAD       = $(B)/slload
THREADRELAY  = $(B)/threadrelay
SOAK_SECONDS ?= 60
BENCH_ARGS   ?=

$(SLLOAD): tests/bench/slload.c
	@echo "  CC      $<"
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -o $@ $< -lpthread -lm

# a peer built the way 3proxy is (not packaged in Debian 12)
$(THREADRELAY): tests/bench/threadrelay.c
	@echo "  CC      $<"
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -o $@ $< -lpthread

bench: $(SEL_PROG) $(SLLOAD) $(THREADRELAY)
	SLUICE_BIN=$(CURDIR)/$(SEL_PROG) SLLOAD=$(CURDIR)/$(SLLOAD) \
	    THREADRELAY=$(CURDIR)/$(THREADRELAY) \
	    python3 tests/bench/run.py $(BENCH_ARGS)

soak: $(SLLOAD) $(if $(SLUICE_BIN),,$(SEL_PROG))
	SLUICE_BIN=$(if $(SLUICE_BIN),$(SLUICE_BIN),$(CURDIR)/$(SEL_PROG)) \
	    SLLOAD=$(CURDIR)/$(SLLOAD) python3 tests/soak/run.py --seconds $(SOAK_SECONDS)

.PHONY: bench soak
