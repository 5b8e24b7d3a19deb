/*
 * Unit tests for the resolver's c-ares channel: proxy/resolver.c.
 *
 * The channel is made at the first lookup that needs a query, not with the
 * resolver.  ares_init_options() is wrapped (-Wl,--wrap) to count the
 * channels made and to make one fail.  Queries go to a closed port on
 * loopback and are never answered: the loop is not run, and each test ends
 * with its waiters cancelled and the resolver freed.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <ares.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "netaddr.h"
#include "resolver.h"

int	__real_ares_init_options(ares_channel *, struct ares_options *, int);
int	__wrap_ares_init_options(ares_channel *, struct ares_options *, int);

static int	init_calls;	/* channels asked for */
static int	init_fail;	/* answer ARES_ENOMEM instead */

int
__wrap_ares_init_options(ares_channel *ch, struct ares_options *o, int mask)
{
	init_calls++;
	if (init_fail)
		return ARES_ENOMEM;
	return __real_ares_init_options(ch, o, mask);
}

struct fixture {
	struct event_base *base;
	struct conf	conf;
	union sockaddr_u server;	/* a closed UDP port on loopback */
	struct resolver	*r;
	struct dns_waiter w[4];
};

static void
never_cb(struct dns_waiter *w, int status, struct dns_addrs *addrs)
{
	(void)w;
	(void)status;
	(void)addrs;
	fail_msg("no answer was expected: the loop does not run");
}

/* A UDP port on 127.0.0.1 that nothing listens on. */
static void
closed_udp_port(union sockaddr_u *a)
{
	socklen_t len = sizeof(*a);
	int fd;

	assert_int_equal(netaddr_parse_ip("127.0.0.1", a), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, &a->sa, netaddr_len(a)), 0);
	assert_int_equal(getsockname(fd, &a->sa, &len), 0);
	close(fd);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	conf_init(&f->conf);
	closed_udp_port(&f->server);
	f->conf.dns_servers = &f->server;
	f->conf.ndns_servers = 1;
	init_calls = 0;
	init_fail = 0;
	f->r = resolver_new(f->base, &f->conf, err, sizeof(err));
	assert_non_null(f->r);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(f->w) / sizeof(f->w[0]); i++)
		dns_waiter_cancel(&f->w[i]);
	resolver_free(f->r);
	f->conf.dns_servers = NULL;	/* the fixture's own */
	f->conf.ndns_servers = 0;
	conf_free(&f->conf);
	event_base_free(f->base);
	free(f);
	return 0;
}

static enum resolver_rc
lookup(struct fixture *f, int i, const char *name, int *status)
{
	struct dns_addrs *addrs = NULL;
	enum resolver_rc rc;

	*status = -1;
	rc = resolver_lookup(f->r, name, &f->w[i], never_cb, status, &addrs);
	if (rc == RESOLVER_PENDING)
		assert_null(addrs);
	dns_addrs_release(addrs);
	return rc;
}

/* No channel for a resolver that has not resolved; one for all queries. */
static void
test_channel_made_at_first_lookup(void **state)
{
	struct fixture *f = *state;
	const struct resolver_stats *st = resolver_stats(f->r);
	int status;

	assert_int_equal(init_calls, 0);
	assert_int_equal(lookup(f, 0, "a.example", &status), RESOLVER_PENDING);
	assert_int_equal(init_calls, 1);
	assert_int_equal(lookup(f, 1, "b.example", &status), RESOLVER_PENDING);
	assert_int_equal(lookup(f, 2, "A.example", &status), RESOLVER_PENDING);
	assert_int_equal(init_calls, 1);
	assert_int_equal(st->lookups, 3);
	assert_int_equal(st->queries, 2);
	assert_int_equal(st->shared, 1);
}

/*
 * A channel that cannot be made fails that lookup at once (nothing cached,
 * nothing left waiting) and is asked for again by the next one.
 */
static void
test_channel_failure_answers_and_retries(void **state)
{
	struct fixture *f = *state;
	const struct resolver_stats *st = resolver_stats(f->r);
	int status;

	init_fail = 1;
	assert_int_equal(lookup(f, 0, "a.example", &status), RESOLVER_DONE);
	assert_int_equal(status, ARES_ENOMEM);
	assert_int_equal(f->w[0].pprev == NULL, 1);
	assert_int_equal(lookup(f, 1, "a.example", &status), RESOLVER_DONE);
	assert_int_equal(status, ARES_ENOMEM);
	assert_int_equal(init_calls, 2);
	assert_int_equal(st->failures, 2);
	assert_int_equal(st->queries, 0);
	assert_int_equal(st->shared, 0);
	init_fail = 0;
	assert_int_equal(lookup(f, 2, "a.example", &status), RESOLVER_PENDING);
	assert_int_equal(init_calls, 3);
	assert_int_equal(st->queries, 1);
	assert_int_equal(lookup(f, 3, "a.example", &status), RESOLVER_PENDING);
	assert_int_equal(init_calls, 3);
	assert_int_equal(st->shared, 1);
}

/* A reload before the first lookup makes no channel either. */
static void
test_reload_before_first_lookup(void **state)
{
	struct fixture *f = *state;
	int status;

	f->conf.dns_cache_size = 100;
	resolver_reconfigure(f->r, &f->conf);
	f->conf.ndns_servers = 0;	/* back to /etc/resolv.conf's */
	resolver_reconfigure(f->r, &f->conf);
	f->conf.ndns_servers = 1;
	resolver_reconfigure(f->r, &f->conf);
	assert_int_equal(init_calls, 0);
	assert_int_equal(lookup(f, 0, "a.example", &status), RESOLVER_PENDING);
	assert_int_equal(init_calls, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_channel_made_at_first_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_channel_failure_answers_and_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reload_before_first_lookup, setup, teardown),
	};

	log_init(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
