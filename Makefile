# sluice: a SOCKS5 forward proxy.  See README.md.
#
#   make          build ./sluice
#   make run      install missing packages, build, run the embedded default
#   make test     install missing packages, build, run unit + integration tests
#   make unit     unit tests only        make integration   integration only
#   make asan     everything again, built with AddressSanitizer + UBSan
#   make valgrind the integration tests with sluice under valgrind
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
       proxy/origin.c proxy/policy.c proxy/relay.c proxy/resolver.c \
       proxy/rules.c proxy/session.c proxy/session_http.c \
       proxy/session_socks.c proxy/socks4.c proxy/socks5.c proxy/tbucket.c \
       proxy/upstream.c \
       proxy/worker.c \
       auth/auth.c auth/base64.c auth/crypt_pool.c auth/siphash.c \
       conf/conf.c
OBJS = $(SRCS:%.c=$(B)/%.o)

# unit test binaries: tests/unit/test_X.c linked with the objects it needs
UNIT = socks5 socks4 http base64 netaddr conf auth dnscache upstream relay \
       siphash acct rules tbucket policy
UNIT_BINS = $(UNIT:%=$(B)/tests/test_%)
UNIT_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

all: $(PROG)

# V=1 shows the commands
Q = $(if $(V),,@)

$(PROG): $(OBJS) $(B)/proxy/main.o
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(OBJS:.o=.d) $(B)/proxy/main.d $(UNIT_BINS:=.d)

$(B)/tests/test_%: tests/unit/test_%.c $(OBJS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -Iproxy -Iauth -Iconf -MMD -MP \
	    $(shell pkg-config --cflags cmocka 2>/dev/null) -o $@ $< $(OBJS) \
	    $(UNIT_LIBS) $(LDLIBS)

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
	$(MAKE) all
	sh tests/run.sh integration

test: deps-test
	$(MAKE) all unit-bins
	sh tests/run.sh all

SAN = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
      -fno-sanitize-recover=undefined
asan: deps-test
	$(MAKE) B=build/asan PROG=build/asan/sluice OPT="$(SAN)" \
	    LDFLAGS="-fsanitize=address,undefined" build/asan/sluice unit-bins
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TEST_BUILD=build/asan SLUICE_BIN=$(CURDIR)/build/asan/sluice \
	    sh tests/run.sh all

valgrind: deps-test
	$(MAKE) all
	command -v valgrind >/dev/null || sh contrib/deps.sh valgrind
	SLUICE_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite --track-fds=yes \
	    --suppressions=$(CURDIR)/contrib/valgrind.supp" \
	    sh tests/run.sh integration

clean:
	rm -rf $(B) $(PROG)

.PHONY: all deps deps-test run unit unit-bins integration test asan valgrind \
	clean
