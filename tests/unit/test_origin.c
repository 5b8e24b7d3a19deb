/*
 * Unit tests for the origin connection pool: proxy/origin.c.
 *
 * Keys (case, IPv6 brackets, ports, truncation), and the pool on real
 * socket pairs: per-origin and total bounds with the oldest going first,
 * lookups by key, trimming, and a pooled connection whose origin closes
 * being dropped by the event loop.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "netaddr.h"
#include "origin.h"

#define NCONN	8

struct fx {
	struct event_base *base;
	struct origin_pool pool;
	int		peer[NCONN];	/* the origin's end of each pair */
	union sockaddr_u addr;
};

static int
setup(void **state)
{
	static struct fx fx;
	int i;

	memset(&fx, 0, sizeof(fx));
	fx.base = event_base_new();
	assert_non_null(fx.base);
	assert_int_equal(origin_pool_init(&fx.pool, fx.base, 4, 2, 30), 0);
	for (i = 0; i < NCONN; i++)
		fx.peer[i] = -1;
	fx.addr.in.sin_family = AF_INET;
	fx.addr.in.sin_addr.s_addr = htonl(0x7f000003);
	fx.addr.in.sin_port = htons(80);
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	int i;

	origin_pool_free(&fx->pool);
	for (i = 0; i < NCONN; i++)
		if (fx->peer[i] != -1)
			close(fx->peer[i]);
	event_base_free(fx->base);
	return 0;
}

/* Connection i to key, its other end kept in fx->peer[i]. */
static struct origin_conn *
conn(struct fx *fx, int i, const char *key)
{
	struct origin_conn *oc;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	fx->peer[i] = sv[1];
	oc = origin_conn_new(fx->base, sv[0], &fx->addr, key);
	assert_non_null(oc);
	return oc;
}

/*
 * Whether the proxy's end of pair i was closed (EOF on the peer), after
 * the loop ran what was pending.
 */
static int
closed(struct fx *fx, int i)
{
	char c;

	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	return read(fx->peer[i], &c, 1) == 0;
}

static void
test_key(void **state)
{
	char buf[264], small[8];

	(void)state;
	assert_int_equal(origin_key(buf, sizeof(buf), "Example.COM", 80), 14);
	assert_string_equal(buf, "example.com:80");
	origin_key(buf, sizeof(buf), "2001:DB8::1", 8080);
	assert_string_equal(buf, "[2001:db8::1]:8080");
	origin_key(buf, sizeof(buf), "10.0.0.1", 0);
	assert_string_equal(buf, "10.0.0.1:0");
	origin_key(buf, sizeof(buf), "a", 65535);
	assert_string_equal(buf, "a:65535");
	/* cut to the buffer, terminated; never a match for a whole key */
	assert_int_equal(origin_key(small, sizeof(small), "example.com", 80),
	    7);
	assert_string_equal(small, "example");
	assert_int_equal(origin_key(small, 0, "x", 1), 0);
}

static void
test_get_by_key(void **state)
{
	struct fx *fx = *state;
	struct origin_conn *a, *b, *got;

	a = conn(fx, 0, "a.test:80");
	b = conn(fx, 1, "b.test:80");
	origin_pool_put(&fx->pool, a);
	origin_pool_put(&fx->pool, b);
	assert_int_equal(fx->pool.idle, 2);
	assert_null(origin_pool_get(&fx->pool, "c.test:80"));
	assert_null(origin_pool_get(&fx->pool, "a.test:8080"));
	got = origin_pool_get(&fx->pool, "b.test:80");
	assert_ptr_equal(got, b);
	assert_null(origin_pool_get(&fx->pool, "b.test:80"));
	assert_int_equal(fx->pool.idle, 1);
	assert_int_equal(fx->pool.reused, 1);
	origin_conn_free(got);
	assert_true(closed(fx, 1));
	assert_false(closed(fx, 0));
}

static void
test_bounds(void **state)
{
	struct fx *fx = *state;
	int i;

	/* per origin: 2 at most, the third closed at once */
	for (i = 0; i < 3; i++)
		origin_pool_put(&fx->pool, conn(fx, i, "a.test:80"));
	assert_int_equal(fx->pool.idle, 2);
	assert_true(closed(fx, 2));
	/* in all: 4 at most, the oldest going first */
	origin_pool_put(&fx->pool, conn(fx, 3, "b.test:80"));
	origin_pool_put(&fx->pool, conn(fx, 4, "b.test:80"));
	assert_int_equal(fx->pool.idle, 4);
	origin_pool_put(&fx->pool, conn(fx, 5, "c.test:80"));
	assert_int_equal(fx->pool.idle, 4);
	assert_true(closed(fx, 0));
	assert_false(closed(fx, 1));
	/* trimming keeps the newest */
	assert_int_equal(origin_pool_trim(&fx->pool, 1), 3);
	assert_int_equal(fx->pool.idle, 1);
	assert_true(closed(fx, 1) && closed(fx, 3) && closed(fx, 4));
	assert_false(closed(fx, 5));
	/* a reload to no pool closes the rest */
	origin_pool_configure(&fx->pool, 0, 2, 30);
	assert_int_equal(fx->pool.idle, 0);
	assert_true(closed(fx, 5));
	origin_pool_put(&fx->pool, conn(fx, 6, "d.test:80"));
	assert_int_equal(fx->pool.idle, 0);
	assert_true(closed(fx, 6));
}

/* The origin closes a pooled connection: the loop drops it from the pool. */
static void
test_origin_closes(void **state)
{
	struct fx *fx = *state;
	struct origin_conn *oc;

	origin_pool_put(&fx->pool, conn(fx, 0, "a.test:80"));
	origin_pool_put(&fx->pool, conn(fx, 1, "a.test:80"));
	close(fx->peer[0]);
	fx->peer[0] = -1;
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	assert_int_equal(fx->pool.idle, 1);
	oc = origin_pool_get(&fx->pool, "a.test:80");
	assert_non_null(oc);
	assert_null(origin_pool_get(&fx->pool, "a.test:80"));
	origin_conn_free(oc);
}

/* Bytes from an origin with no request pending: the connection is unusable. */
static void
test_origin_talks(void **state)
{
	struct fx *fx = *state;
	struct origin_conn *oc;

	origin_pool_put(&fx->pool, conn(fx, 0, "a.test:80"));
	assert_int_equal(write(fx->peer[0], "HTTP/1.1 408 x\r\n\r\n", 18), 18);
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	oc = origin_pool_get(&fx->pool, "a.test:80");
	assert_null(oc);
	assert_int_equal(fx->pool.idle, 0);
	assert_true(closed(fx, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test_setup_teardown(test_get_by_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_origin_closes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_origin_talks, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
