/*
 * Unit tests for the data phase: proxy/relay.c, on real sockets.
 *
 * Each test builds two socket pairs: the "client peer" connected to the
 * relay's end[RELAY_CLIENT] and the "target peer" connected to its
 * end[RELAY_TARGET].  The relay's ends are registered the way session.c
 * does it (EV_READ | EV_WRITE | EV_ET | EV_PERSIST, the callback feeding
 * relay_io()), and the loop is driven with EVLOOP_ONCE, a 2 ms tick
 * keeping every iteration short.  Every wait is bounded by a deadline.
 *
 * Socket pairs are AF_UNIX socketpair() (copy mode and splice where the
 * kernel splices AF_UNIX) or loopback TCP connections (splice mode).  Like
 * the proxy (main.c), the tests ignore SIGPIPE.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/tcp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "clock.h"
#include "relay.h"

#define PEER_CLIENT	RELAY_CLIENT
#define PEER_TARGET	RELAY_TARGET

#define WAIT_MS		3000		/* the most any one wait may take */
#define BIG		(8 * 1024 * 1024)

enum pair_kind {
	PAIR_UNIX,
	PAIR_TCP,
};

struct harness {
	struct event_base *base;
	struct event	tick;		/* bounds EVLOOP_ONCE */
	struct relay_pool pool;
	struct relay	r;
	int		peer[2];	/* the client's and the target's */
	int		added;		/* the relay's events are added */
	enum relay_status status;	/* the last relay_io() result */
	int		ended;		/* relay_io() said DONE or ERROR */
	int		calls;		/* relay_io() calls from events */
	struct event	probe;		/* test_budget_spent_ends_the_pass */
	int		probe_fd[2];	/* its socketpair, or -1 */
	int		probe_armed;	/* poke it from the first call run at
					   the bulk priority */
	int		probe_at;	/* the call that poked it */
	int		probe_seen;	/* calls when the probe ran */
	int64_t		now;		/* passed to relay_io() */
	int		fds_before;	/* open descriptors at setup */
};

/* ----- plumbing ------------------------------------------------------- */

static int
count_fds(void)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
set_nonblock(int fd)
{
	int fl;

	fl = fcntl(fd, F_GETFL);
	assert_int_not_equal(fl, -1);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* Two connected non-blocking stream sockets. */
static void
make_pair(enum pair_kind kind, int *a, int *b)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int sv[2], ls;

	if (kind == PAIR_UNIX) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
		*a = sv[0];
		*b = sv[1];
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(ls, 1), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*a >= 0);
	assert_int_equal(connect(*a, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	*b = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	assert_true(*b >= 0);
	close(ls);
	set_nonblock(*a);
	set_nonblock(*b);
}

static void
relay_event(struct harness *h, int end, short what)
{
	int bulk;

	if (h->ended)
		return;
	bulk = event_get_priority(&h->r.end[end].ev) == h->pool.bulk_pri;
	h->calls++;
	h->status = relay_io(&h->r, end, what, h->now);
	if (h->probe_armed && bulk) {
		h->probe_armed = 0;
		h->probe_at = h->calls;
		assert_int_equal(write(h->probe_fd[1], "x", 1), 1);
	}
	if (h->status != RELAY_OK) {
		/* as session_close() does: the last FIN of a clean end is
		   the close's to send */
		h->ended = 1;
		event_del(&h->r.end[RELAY_CLIENT].ev);
		event_del(&h->r.end[RELAY_TARGET].ev);
		h->added = 0;
		close(h->r.end[RELAY_CLIENT].fd);
		close(h->r.end[RELAY_TARGET].fd);
		h->r.end[RELAY_CLIENT].fd = h->r.end[RELAY_TARGET].fd = -1;
	}
}

static void
client_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	relay_event(arg, RELAY_CLIENT, what);
}

static void
target_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	relay_event(arg, RELAY_TARGET, what);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static int
setup_kind(void **state, enum pair_kind kind, int pipes_max)
{
	struct harness *h;
	struct timeval tv = { 0, 2000 };
	int i;

	h = calloc(1, sizeof(*h));
	assert_non_null(h);
	h->fds_before = count_fds();
	h->probe_fd[0] = h->probe_fd[1] = -1;
	h->base = event_base_new();
	assert_non_null(h->base);
	/* as a worker has them: the default 1, bulk 2 */
	assert_int_equal(event_base_priority_init(h->base, 3), 0);
	event_assign(&h->tick, h->base, -1, EV_PERSIST, tick_cb, h);
	assert_int_equal(event_add(&h->tick, &tv), 0);
	relay_pool_init(&h->pool, pipes_max);
	assert_int_equal(h->pool.bulk_pri, -1);
	h->pool.bulk_pri = 2;
	relay_init(&h->r, &h->pool);
	assert_int_equal(h->r.end[RELAY_CLIENT].fd, -1);
	assert_int_equal(h->r.end[RELAY_TARGET].fd, -1);
	assert_int_equal(h->r.err_end, -1);
	for (i = 0; i < 2; i++)
		make_pair(kind, &h->peer[i], &h->r.end[i].fd);
	event_assign(&h->r.end[RELAY_CLIENT].ev, h->base,
	    h->r.end[RELAY_CLIENT].fd, EV_READ | EV_WRITE | EV_ET | EV_PERSIST,
	    client_cb, h);
	event_assign(&h->r.end[RELAY_TARGET].ev, h->base,
	    h->r.end[RELAY_TARGET].fd, EV_READ | EV_WRITE | EV_ET | EV_PERSIST,
	    target_cb, h);
	h->now = 1000;
	*state = h;
	return 0;
}

static int
setup_unix(void **state)
{
	return setup_kind(state, PAIR_UNIX, 16);
}

static int
setup_tcp(void **state)
{
	return setup_kind(state, PAIR_TCP, 16);
}

static int
setup_tcp_onepipe(void **state)
{
	return setup_kind(state, PAIR_TCP, 1);
}

static int
setup_tcp_nosplice(void **state)
{
	return setup_kind(state, PAIR_TCP, 0);
}

static int
teardown(void **state)
{
	struct harness *h = *state;
	int i;

	if (h->added) {
		event_del(&h->r.end[RELAY_CLIENT].ev);
		event_del(&h->r.end[RELAY_TARGET].ev);
	}
	event_del(&h->tick);
	if (h->probe_fd[0] != -1) {
		event_del(&h->probe);
		close(h->probe_fd[0]);
		close(h->probe_fd[1]);
	}
	relay_release(&h->r);
	relay_pool_free(&h->pool);
	for (i = 0; i < 2; i++) {
		if (h->peer[i] != -1)
			close(h->peer[i]);
		if (h->r.end[i].fd != -1)
			close(h->r.end[i].fd);
	}
	event_base_free(h->base);
	free(h);
	return 0;
}

/*
 * Start the relay as session_start_relay() does: the target's connect
 * completed (writable), the client's event is fresh and its socket
 * writable, then one relay_io(RELAY_CLIENT, 0).
 */
static void
start(struct harness *h)
{
	h->r.end[RELAY_TARGET].wr_ready = 1;
	assert_int_equal(event_add(&h->r.end[RELAY_TARGET].ev, NULL), 0);
	assert_int_equal(event_add(&h->r.end[RELAY_CLIENT].ev, NULL), 0);
	h->added = 1;
	h->r.end[RELAY_CLIENT].wr_ready = 1;
	h->r.last_active = h->now;
	h->status = relay_io(&h->r, RELAY_CLIENT, 0, h->now);
	assert_int_equal(h->status, RELAY_OK);
}

static void
loop_once(struct harness *h)
{
	assert_int_not_equal(event_base_loop(h->base, EVLOOP_ONCE), -1);
}

/* Fill buf with a reproducible pseudo-random stream. */
static void
fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed | 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)(x >> 24);
	}
}

/* Send all of buf from a peer, running the loop while it is full. */
static void
peer_send_all(struct harness *h, int side, const void *buf, size_t len)
{
	int64_t deadline = clock_ms() + WAIT_MS;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(h->peer[side], (const char *)buf + off, len - off,
		    MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			fail_msg("peer %d send: %s", side, strerror(errno));
		if (clock_ms() > deadline)
			fail_msg("peer %d: sent %zu of %zu bytes in time", side,
			    off, len);
		loop_once(h);
	}
}

/* Receive exactly len bytes on a peer, running the loop between tries. */
static void
peer_recv_exact(struct harness *h, int side, void *buf, size_t len)
{
	int64_t deadline = clock_ms() + WAIT_MS;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = recv(h->peer[side], (char *)buf + off, len - off, 0);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			fail_msg("peer %d: EOF after %zu of %zu bytes", side,
			    off, len);
		if (errno != EAGAIN && errno != EINTR)
			fail_msg("peer %d recv: %s", side, strerror(errno));
		if (clock_ms() > deadline)
			fail_msg("peer %d: got %zu of %zu bytes in time", side,
			    off, len);
		loop_once(h);
	}
}

/* Receive on a peer and check the bytes. */
static void
peer_expect(struct harness *h, int side, const void *want, size_t len)
{
	uint8_t *got;

	got = malloc(len > 0 ? len : 1);
	assert_non_null(got);
	peer_recv_exact(h, side, got, len);
	if (memcmp(got, want, len) != 0) {
		free(got);
		fail_msg("peer %d: %zu bytes arrived changed", side, len);
	}
	free(got);
}

/* The peer sees EOF (and nothing before it). */
static void
peer_expect_eof(struct harness *h, int side)
{
	int64_t deadline = clock_ms() + WAIT_MS;
	char c;
	ssize_t n;

	for (;;) {
		n = recv(h->peer[side], &c, 1, 0);
		if (n == 0)
			return;
		if (n > 0)
			fail_msg("peer %d: data where EOF was expected", side);
		if (errno != EAGAIN && errno != EINTR)
			fail_msg("peer %d recv: %s", side, strerror(errno));
		if (clock_ms() > deadline)
			fail_msg("peer %d: no EOF in time", side);
		loop_once(h);
	}
}

/* Nothing to read on the peer now (not EOF, no bytes). */
static void
peer_expect_nothing(struct harness *h, int side)
{
	char c;

	assert_int_equal(recv(h->peer[side], &c, 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
}

/* Run the loop a little (ms), for things that must not happen. */
static void
run_for(struct harness *h, int ms)
{
	int64_t until = clock_ms() + ms;

	while (clock_ms() < until)
		loop_once(h);
}

/* Run until the relay ends, bounded. */
static void
run_until_ended(struct harness *h)
{
	int64_t deadline = clock_ms() + WAIT_MS;

	while (!h->ended) {
		if (clock_ms() > deadline)
			fail_msg("the relay did not end in time");
		loop_once(h);
	}
}

/* Run until the relay holds no carrier (an idle tunnel), bounded. */
static void
run_until_idle(struct harness *h)
{
	int64_t deadline = clock_ms() + WAIT_MS;

	while (h->pool.bufs_out != 0 || h->pool.pipes_out != 0) {
		if (clock_ms() > deadline)
			fail_msg("carriers still held: %d bufs, %d pipes",
			    h->pool.bufs_out, h->pool.pipes_out);
		loop_once(h);
	}
	assert_int_equal(relay_in_flight(&h->r, RELAY_UP), 0);
	assert_int_equal(relay_in_flight(&h->r, RELAY_DOWN), 0);
}

/* ----- (1) bytes flow both ways --------------------------------------- */

static void
check_small_both_ways(struct harness *h)
{
	uint8_t up[1000], down[500];

	fill_random(up, sizeof(up), 1);
	fill_random(down, sizeof(down), 2);
	start(h);
	peer_send_all(h, PEER_CLIENT, up, sizeof(up));
	peer_expect(h, PEER_TARGET, up, sizeof(up));
	peer_send_all(h, PEER_TARGET, down, sizeof(down));
	peer_expect(h, PEER_CLIENT, down, sizeof(down));
	peer_send_all(h, PEER_CLIENT, "x", 1);
	peer_expect(h, PEER_TARGET, "x", 1);
	run_until_idle(h);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, sizeof(up) + 1);
	assert_int_equal(h->r.dir[RELAY_DOWN].bytes, sizeof(down));
	/* below RELAY_SPLICE_AFTER: all copied */
	assert_int_equal(h->pool.copied, sizeof(up) + 1 + sizeof(down));
	assert_int_equal(h->pool.spliced, 0);
	assert_int_equal(h->pool.pipes_out + h->pool.npipes, 0);
	assert_int_equal(h->status, RELAY_OK);
	assert_false(h->ended);
	assert_int_equal(h->r.err, 0);
	assert_int_equal(h->r.err_end, -1);
	peer_expect_nothing(h, PEER_CLIENT);
	peer_expect_nothing(h, PEER_TARGET);
}

static void
test_both_ways_unix(void **state)
{
	check_small_both_ways(*state);
}

static void
test_both_ways_tcp(void **state)
{
	check_small_both_ways(*state);
}

/* ----- (2) large transfers -------------------------------------------- */

/*
 * BIG bytes each way at once, the peers writing and reading as fast as
 * the relay goes.
 */
static void
transfer_big(struct harness *h)
{
	uint8_t *src[2], *dst[2];
	size_t sent[2] = { 0, 0 }, got[2] = { 0, 0 };
	int64_t deadline;
	ssize_t n;
	int s, d;

	for (s = 0; s < 2; s++) {
		src[s] = malloc(BIG);
		dst[s] = malloc(BIG);
		assert_non_null(src[s]);
		assert_non_null(dst[s]);
		fill_random(src[s], BIG, 0x1234 + (uint64_t)s);
	}
	start(h);
	deadline = clock_ms() + 4000;
	while (got[0] < BIG || got[1] < BIG) {
		for (s = 0; s < 2; s++) {
			/* s sends to !s: what s sent arrives at !s */
			while (sent[s] < BIG) {
				n = send(h->peer[s], src[s] + sent[s],
				    BIG - sent[s], MSG_NOSIGNAL);
				if (n <= 0)
					break;
				sent[s] += (size_t)n;
			}
			if (sent[s] < BIG && errno != EAGAIN)
				fail_msg("peer %d send: %s", s,
				    strerror(errno));
			d = !s;
			while (got[s] < BIG) {
				n = recv(h->peer[d], dst[s] + got[s],
				    BIG - got[s], 0);
				if (n <= 0)
					break;
				got[s] += (size_t)n;
			}
		}
		/* never more pipes than the pool allows */
		assert_true(h->pool.pipes_out + h->pool.npipes <=
		    h->pool.pipes_max);
		if (h->ended)
			fail_msg("relay ended (%d): err %d at end %d",
			    h->status, h->r.err, h->r.err_end);
		if (clock_ms() > deadline)
			fail_msg("moved %zu up, %zu down of %d in time", got[0],
			    got[1], BIG);
		loop_once(h);
	}
	for (s = 0; s < 2; s++) {
		if (memcmp(src[s], dst[s], BIG) != 0)
			fail_msg("direction %d: data changed on the way", s);
		free(src[s]);
		free(dst[s]);
	}
	run_until_idle(h);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, BIG);
	assert_int_equal(h->r.dir[RELAY_DOWN].bytes, BIG);
	/* each byte delivered once, either way */
	assert_int_equal(h->pool.copied + h->pool.spliced, 2 * (uint64_t)BIG);
	/* every direction copies its first RELAY_SPLICE_AFTER bytes */
	assert_true(h->pool.copied >= 2 * (uint64_t)RELAY_SPLICE_AFTER);
	peer_expect_nothing(h, PEER_CLIENT);
	peer_expect_nothing(h, PEER_TARGET);
	assert_int_equal(h->status, RELAY_OK);
}

/* ----- TCP_NOTSENT_LOWAT on the sink of a bulk direction ------------- */

static int
lowat_of(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v,
	    &len), 0);
	return v;
}

static void
eq_lowat_both(struct harness *h, int want)
{
	assert_int_equal(lowat_of(h->r.end[RELAY_CLIENT].fd), want);
	assert_int_equal(lowat_of(h->r.end[RELAY_TARGET].fd), want);
}

/* len bytes from one peer to the other through the relay, checked. */
static void
transfer_one_way(struct harness *h, int from, size_t len)
{
	uint8_t *src = malloc(len), *dst = malloc(len);
	size_t sent = 0, got = 0;
	int64_t deadline = clock_ms() + 4000;
	ssize_t n;

	assert_non_null(src);
	assert_non_null(dst);
	fill_random(src, len, 99);
	while (got < len) {
		while (sent < len && (n = send(h->peer[from], src + sent,
		    len - sent, MSG_NOSIGNAL)) > 0)
			sent += (size_t)n;
		while (got < len && (n = recv(h->peer[!from], dst + got,
		    len - got, 0)) > 0)
			got += (size_t)n;
		if (h->ended)
			fail_msg("relay ended: err %d at end %d", h->r.err,
			    h->r.err_end);
		if (clock_ms() > deadline)
			fail_msg("moved %zu of %zu in time", got, len);
		loop_once(h);
	}
	if (memcmp(src, dst, len) != 0)
		fail_msg("data changed on the way");
	free(src);
	free(dst);
}

/*
 * Both directions go bulk: each sink gets the relay's notsent_lowat, by
 * splice (setup_tcp) or by copy (setup_tcp_nosplice) alike.
 */
static void
test_lowat_bulk_sinks(void **state)
{
	struct harness *h = *state;
	int sys = lowat_of(h->r.end[RELAY_CLIENT].fd);

	assert_int_not_equal(sys, 65536);
	eq_lowat_both(h, sys);
	h->r.notsent_lowat = 65536;
	transfer_big(h);
	eq_lowat_both(h, 65536);
}

/* A short exchange (below RELAY_SPLICE_AFTER) never pays the call. */
static void
test_lowat_short_untouched(void **state)
{
	struct harness *h = *state;
	int sys = lowat_of(h->r.end[RELAY_CLIENT].fd);

	h->r.notsent_lowat = 65536;
	check_small_both_ways(h);
	eq_lowat_both(h, sys);
}

/* Only the direction that went bulk: a download caps the client's side. */
static void
test_lowat_one_direction(void **state)
{
	struct harness *h = *state;
	int sys = lowat_of(h->r.end[RELAY_CLIENT].fd);

	h->r.notsent_lowat = 32768;
	start(h);
	transfer_one_way(h, PEER_TARGET, RELAY_SPLICE_AFTER - 1);
	assert_int_equal(lowat_of(h->r.end[RELAY_CLIENT].fd), sys);
	transfer_one_way(h, PEER_TARGET, 2 * 1024 * 1024);
	assert_int_equal(lowat_of(h->r.end[RELAY_CLIENT].fd), 32768);
	assert_int_equal(lowat_of(h->r.end[RELAY_TARGET].fd), sys);
	/* now the upload */
	transfer_one_way(h, PEER_CLIENT, 2 * 1024 * 1024);
	assert_int_equal(lowat_of(h->r.end[RELAY_TARGET].fd), 32768);
}

/* 0: the system's setting stays. */
static void
test_lowat_off(void **state)
{
	struct harness *h = *state;
	int sys = lowat_of(h->r.end[RELAY_CLIENT].fd);

	h->r.notsent_lowat = 0;
	transfer_big(h);
	eq_lowat_both(h, sys);
}

/* ----- a cap (a quota's rest) ----------------------------------------- */

/*
 * With cap bytes left the relay reads exactly that much, both directions
 * together, then stops reading (the bytes it read are delivered); a new
 * cap lets it go on.  cap is well past RELAY_SPLICE_AFTER on TCP, so the
 * splice path is capped too.
 */
static void
check_cap(struct harness *h, size_t cap)
{
	size_t len = cap + 300000;
	uint8_t *up = malloc(len), *got = malloc(len);
	uint64_t moved;

	assert_non_null(up);
	assert_non_null(got);
	fill_random(up, len, 7);
	h->r.cap = 100;
	start(h);
	peer_send_all(h, PEER_TARGET, "0123456789", 10);
	peer_expect(h, PEER_CLIENT, "0123456789", 10);
	assert_int_equal(h->r.cap, 90);
	h->r.cap = cap - 10;
	/* the client sends more than the cap: the target gets cap - 10 */
	{
		int64_t deadline = clock_ms() + WAIT_MS;
		size_t off = 0;
		ssize_t n;

		while (h->r.dir[RELAY_UP].bytes < cap - 10) {
			if (off < len) {
				n = send(h->peer[PEER_CLIENT], up + off,
				    len - off, MSG_NOSIGNAL);
				if (n > 0)
					off += (size_t)n;
			}
			n = recv(h->peer[PEER_TARGET], got, len, 0);
			(void)n;
			if (clock_ms() > deadline)
				fail_msg("moved %llu of %zu in time",
				    (unsigned long long)
				    h->r.dir[RELAY_UP].bytes, cap - 10);
			loop_once(h);
		}
	}
	run_for(h, 50);
	moved = h->r.dir[RELAY_UP].bytes;
	assert_int_equal(moved, cap - 10);
	assert_int_equal(h->r.cap, 0);
	assert_false(h->ended);
	if (cap > 2 * RELAY_SPLICE_AFTER && h->pool.pipes_max > 0)
		assert_true(h->pool.spliced > 0);
	/* no cap: the rest flows on the next event */
	h->r.cap = RELAY_NO_CAP;
	relay_event(h, RELAY_CLIENT, EV_READ);
	run_for(h, 50);
	assert_true(h->r.dir[RELAY_UP].bytes > moved);
	assert_int_equal(h->r.cap, RELAY_NO_CAP);
	free(up);
	free(got);
}

static void
test_cap_unix(void **state)
{
	check_cap(*state, 5000);
}

static void
test_cap_tcp_splice(void **state)
{
	check_cap(*state, 3 * RELAY_SPLICE_AFTER + 12345);
}

static void
test_big_tcp_splices(void **state)
{
	struct harness *h = *state;

	transfer_big(h);
	assert_true(h->pool.spliced > 0);
	assert_true(h->pool.copied > 0);
	assert_int_equal(h->pool.splice_ok, 1);
	/* pipes were used and all came back */
	assert_int_equal(h->pool.pipes_out, 0);
	assert_true(h->pool.npipes >= 1);
	assert_true(h->pool.npipes <= 2);
}

static void
test_big_tcp_no_pipes_copies(void **state)
{
	struct harness *h = *state;

	assert_int_equal(h->pool.splice_ok, 0);
	transfer_big(h);
	assert_int_equal(h->pool.spliced, 0);
	assert_int_equal(h->pool.copied, 2 * (uint64_t)BIG);
	assert_int_equal(h->pool.npipes, 0);
}

/* One pipe for two directions: one splices, the other copies meanwhile. */
static void
test_big_tcp_one_pipe(void **state)
{
	struct harness *h = *state;

	transfer_big(h);
	assert_true(h->pool.spliced > 0);
	assert_int_equal(h->pool.npipes, 1);
}

static void
test_big_unix(void **state)
{
	struct harness *h = *state;

	/* AF_UNIX splices on Linux too; either way nothing may be lost */
	transfer_big(h);
	print_message("AF_UNIX: %llu bytes spliced, %llu copied, splice %s\n",
	    (unsigned long long)h->pool.spliced,
	    (unsigned long long)h->pool.copied,
	    h->pool.splice_ok ? "kept" : "refused");
	if (h->pool.splice_ok)
		assert_true(h->pool.spliced > 0);
	else
		assert_int_equal(h->pool.spliced, 0);
}

/* ----- (3) half-close ------------------------------------------------- */

static void
check_half_close(struct harness *h)
{
	start(h);
	peer_send_all(h, PEER_CLIENT, "bye", 3);
	assert_int_equal(shutdown(h->peer[PEER_CLIENT], SHUT_WR), 0);
	peer_expect(h, PEER_TARGET, "bye", 3);
	peer_expect_eof(h, PEER_TARGET);
	assert_int_equal(h->r.dir[RELAY_UP].eof, 1);
	assert_int_equal(h->r.dir[RELAY_UP].shut, 1);
	assert_int_equal(h->r.dir[RELAY_DOWN].shut, 0);
	assert_false(h->ended);
	assert_int_equal(h->status, RELAY_OK);

	/* the other way still flows */
	peer_send_all(h, PEER_TARGET, "late answer", 11);
	peer_expect(h, PEER_CLIENT, "late answer", 11);
	peer_send_all(h, PEER_TARGET, "and more", 8);
	peer_expect(h, PEER_CLIENT, "and more", 8);
	run_for(h, 20);
	assert_false(h->ended);

	assert_int_equal(shutdown(h->peer[PEER_TARGET], SHUT_WR), 0);
	run_until_ended(h);
	assert_int_equal(h->status, RELAY_DONE);
	assert_int_equal(h->r.dir[RELAY_DOWN].shut, 1);
	assert_int_equal(h->r.err, 0);
	assert_int_equal(h->r.err_end, -1);
	peer_expect_eof(h, PEER_CLIENT);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, 3);
	assert_int_equal(h->r.dir[RELAY_DOWN].bytes, 19);
	assert_int_equal(h->pool.bufs_out, 0);
	assert_int_equal(h->pool.pipes_out, 0);
}

static void
test_half_close_unix(void **state)
{
	check_half_close(*state);
}

static void
test_half_close_tcp(void **state)
{
	check_half_close(*state);
}

static uint32_t
segs_out(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_true(len >= offsetof(struct tcp_info, tcpi_segs_out) +
	    sizeof(ti.tcpi_segs_out));
	return ti.tcpi_segs_out;
}

/*
 * A short answer with the target's EOF right behind it reaches the client
 * in one segment, the FIN in the answer's: the relay reads on to the EOF
 * before it writes, and writes with MSG_MORE.  Then the client's own
 * close ends the relay cleanly.
 */
static void
test_answer_and_fin_one_segment_tcp(void **state)
{
	struct harness *h = *state;
	char answer[315];
	uint32_t before;

	memset(answer, 'a', sizeof(answer));
	start(h);
	peer_send_all(h, PEER_CLIENT, "GET /", 5);
	peer_expect(h, PEER_TARGET, "GET /", 5);
	run_for(h, 50);		/* delayed ACKs, if any, go now */
	before = segs_out(h->r.end[RELAY_CLIENT].fd);
	peer_send_all(h, PEER_TARGET, answer, sizeof(answer));
	assert_int_equal(shutdown(h->peer[PEER_TARGET], SHUT_WR), 0);
	peer_expect(h, PEER_CLIENT, answer, sizeof(answer));
	peer_expect_eof(h, PEER_CLIENT);
	assert_int_equal(segs_out(h->r.end[RELAY_CLIENT].fd) - before, 1);
	assert_int_equal(h->r.dir[RELAY_DOWN].shut, 1);
	assert_false(h->ended);

	assert_int_equal(shutdown(h->peer[PEER_CLIENT], SHUT_WR), 0);
	run_until_ended(h);
	assert_int_equal(h->status, RELAY_DONE);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, 5);
	assert_int_equal(h->r.dir[RELAY_DOWN].bytes, sizeof(answer));
	assert_int_equal(h->pool.bufs_out, 0);
}

/* The target ends first, after a large answer (splice mode), over TCP. */
static void
test_half_close_target_first_tcp(void **state)
{
	struct harness *h = *state;
	uint8_t *big;
	size_t len = 512 * 1024;

	big = malloc(len);
	assert_non_null(big);
	fill_random(big, len, 77);
	start(h);
	peer_send_all(h, PEER_TARGET, big, len);
	assert_int_equal(shutdown(h->peer[PEER_TARGET], SHUT_WR), 0);
	peer_expect(h, PEER_CLIENT, big, len);
	peer_expect_eof(h, PEER_CLIENT);
	free(big);
	assert_false(h->ended);
	assert_true(h->pool.spliced > 0);
	peer_send_all(h, PEER_CLIENT, "thanks", 6);
	peer_expect(h, PEER_TARGET, "thanks", 6);
	assert_int_equal(shutdown(h->peer[PEER_CLIENT], SHUT_WR), 0);
	peer_expect_eof(h, PEER_TARGET);
	run_until_ended(h);
	assert_int_equal(h->status, RELAY_DONE);
	assert_int_equal(h->r.dir[RELAY_DOWN].bytes, len);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, 6);
}

/* Both peers close before anything moved. */
static void
test_close_at_once_unix(void **state)
{
	struct harness *h = *state;

	assert_int_equal(shutdown(h->peer[PEER_CLIENT], SHUT_WR), 0);
	assert_int_equal(shutdown(h->peer[PEER_TARGET], SHUT_WR), 0);
	start(h);
	run_until_ended(h);
	assert_int_equal(h->status, RELAY_DONE);
	peer_expect_eof(h, PEER_CLIENT);
	peer_expect_eof(h, PEER_TARGET);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, 0);
	assert_int_equal(h->r.dir[RELAY_DOWN].bytes, 0);
	assert_int_equal(h->pool.bufs_out, 0);
}

/*
 * Down-path socket buffers that hold several budgets, so that one relay
 * call can spend a whole one.  Root only (SO_SNDBUFFORCE): the test is
 * skipped otherwise, as the budget cannot be reached.
 */
static void
buffers_for_budgets(struct harness *h)
{
	int big = 8 * RELAY_BUDGET;

	if (setsockopt(h->peer[PEER_TARGET], SOL_SOCKET, SO_SNDBUFFORCE,
	    &big, sizeof(big)) == -1 || setsockopt(h->r.end[RELAY_CLIENT].fd,
	    SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) == -1)
		skip();
}

/*
 * len bytes (a stream from seed), all waiting in the target's socket
 * before the relay runs, reach the client peer.
 */
static void
burst_down(struct harness *h, size_t len, uint64_t seed)
{
	uint8_t *buf;

	buf = malloc(len);
	assert_non_null(buf);
	fill_random(buf, len, seed);
	assert_int_equal(send(h->peer[PEER_TARGET], buf, len, MSG_NOSIGNAL),
	    (ssize_t)len);
	peer_expect(h, PEER_CLIENT, buf, len);
	free(buf);
}

/*
 * A tunnel that spends its byte budget in one go is a bulk transfer: both
 * of its events go to the pool's bulk priority (below handshakes and
 * interactive tunnels in a worker); one that does not keeps the default.
 * Needs buffers_for_budgets() (root).
 */
static void
test_budget_spent_lowers_priority(void **state)
{
	struct harness *h = *state;

	buffers_for_budgets(h);
	start(h);
	peer_send_all(h, PEER_CLIENT, "hello", 5);
	peer_expect(h, PEER_TARGET, "hello", 5);
	peer_send_all(h, PEER_TARGET, "hi", 2);
	peer_expect(h, PEER_CLIENT, "hi", 2);
	assert_int_equal(event_get_priority(&h->r.end[RELAY_CLIENT].ev), 1);
	assert_int_equal(event_get_priority(&h->r.end[RELAY_TARGET].ev), 1);

	burst_down(h, 3 * RELAY_BUDGET, 5);
	assert_int_equal(event_get_priority(&h->r.end[RELAY_CLIENT].ev), 2);
	assert_int_equal(event_get_priority(&h->r.end[RELAY_TARGET].ev), 2);
	assert_false(h->ended);
}

static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct harness *h = arg;
	char c;

	(void)what;
	assert_int_equal(read(fd, &c, 1), 1);
	h->probe_seen = h->calls;
}

/*
 * A relay that spends its budget ends the loop pass: an event that became
 * ready meanwhile (in a worker: a handshake, a request) runs before the
 * relay's next budget, however much the relay still has to move.  This
 * base has no dispatch limit: without the pass ending there, the relay
 * would move all of it first.  Root only, as above.
 */
static void
test_budget_spent_ends_the_pass(void **state)
{
	struct harness *h = *state;
	size_t len = 4 * RELAY_BUDGET;

	buffers_for_budgets(h);
	/* the harness owns the probe: teardown removes it even when an
	   assertion ends the test early */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, h->probe_fd), 0);
	event_assign(&h->probe, h->base, h->probe_fd[0], EV_READ | EV_PERSIST,
	    probe_cb, h);
	assert_int_equal(event_add(&h->probe, NULL), 0);
	start(h);

	/* the first budget spent moves the relay to the bulk priority; the
	   first call run there pokes the probe, which must run next */
	h->probe_armed = 1;
	burst_down(h, len, 6);
	if (h->probe_seen == 0)
		fail_msg("the relay moved all %zu bytes before the probe "
		    "poked at its call %d ran", len, h->probe_at);
	if (h->probe_seen != h->probe_at)
		fail_msg("the probe ran after relay call %d, not right after "
		    "call %d", h->probe_seen, h->probe_at);
	assert_true(h->probe_at > 0);
	assert_true(h->calls > h->probe_at);	/* more budgets after */
	assert_false(h->ended);
}

/* ----- (4) backpressure ----------------------------------------------- */

/*
 * The target peer does not read: the client peer writes until its
 * writes stay refused.  The relay holds at most one carrier in the up
 * direction.  Returns the bytes the client peer wrote (all in src).
 */
static size_t
fill_until_stuck(struct harness *h, const uint8_t *src, size_t max)
{
	int64_t deadline = clock_ms() + WAIT_MS;
	size_t sent = 0;
	ssize_t n;
	int stuck = 0;

	while (stuck < 25) {
		n = send(h->peer[PEER_CLIENT], src + sent, max - sent,
		    MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			stuck = 0;
		} else {
			if (n == -1 && errno != EAGAIN)
				fail_msg("client send: %s", strerror(errno));
			stuck++;
		}
		if (sent == max)
			fail_msg("%zu bytes went: no backpressure", max);
		if (clock_ms() > deadline)
			fail_msg("the client peer never got stuck");
		loop_once(h);
		/* one carrier: a buffer, or a pipe of at most the size
		   the relay asks for */
		assert_true(relay_in_flight(&h->r, RELAY_UP) <=
		    (h->r.dir[RELAY_UP].pipe != NULL ? RELAY_PIPE_SIZE :
		    RELAY_BUF_SIZE));
		assert_true(h->pool.bufs_out + h->pool.pipes_out <= 1);
		assert_int_equal(relay_in_flight(&h->r, RELAY_DOWN), 0);
	}
	return sent;
}

/*
 * Small kernel buffers on the up path (TCP autotuning would take ~10 MB
 * before the client peer is stuck): keeps backpressure tests small.
 */
static void
shrink_buffers(struct harness *h)
{
	int sz = 64 * 1024;

	assert_int_equal(setsockopt(h->peer[PEER_CLIENT], SOL_SOCKET,
	    SO_SNDBUF, &sz, sizeof(sz)), 0);
	assert_int_equal(setsockopt(h->r.end[RELAY_CLIENT].fd, SOL_SOCKET,
	    SO_RCVBUF, &sz, sizeof(sz)), 0);
	assert_int_equal(setsockopt(h->r.end[RELAY_TARGET].fd, SOL_SOCKET,
	    SO_SNDBUF, &sz, sizeof(sz)), 0);
	assert_int_equal(setsockopt(h->peer[PEER_TARGET], SOL_SOCKET,
	    SO_RCVBUF, &sz, sizeof(sz)), 0);
}

static void
check_backpressure(struct harness *h)
{
	size_t max = 8 * 1024 * 1024, sent;
	uint8_t *src;

	src = malloc(max);
	assert_non_null(src);
	fill_random(src, max, 99);
	start(h);
	sent = fill_until_stuck(h, src, max);
	assert_true(sent > RELAY_BUF_SIZE);
	/* stuck: bytes held in flight, bounded by one carrier */
	assert_true(relay_in_flight(&h->r, RELAY_UP) <=
	    (h->r.dir[RELAY_UP].pipe != NULL ? RELAY_PIPE_SIZE :
	    RELAY_BUF_SIZE));
	assert_true(h->r.dir[RELAY_UP].bytes < sent);
	assert_false(h->ended);
	/* the target reads: everything arrives, in order */
	peer_expect(h, PEER_TARGET, src, sent);
	free(src);
	run_until_idle(h);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, sent);
	peer_expect_nothing(h, PEER_TARGET);
}

static void
test_backpressure_unix(void **state)
{
	check_backpressure(*state);
}

static void
test_backpressure_tcp(void **state)
{
	struct harness *h = *state;

	shrink_buffers(h);
	check_backpressure(h);
	/* past RELAY_SPLICE_AFTER the up direction spliced */
	assert_true(h->pool.spliced > 0);
}

/* ----- (5) preload ---------------------------------------------------- */

static void
test_preload_small(void **state)
{
	struct harness *h = *state;

	assert_int_equal(relay_preload(&h->r, RELAY_DOWN, "hello", 5), 0);
	assert_int_equal(relay_preload(&h->r, RELAY_UP, "world", 5), 0);
	assert_int_equal(relay_in_flight(&h->r, RELAY_DOWN), 5);
	assert_int_equal(relay_in_flight(&h->r, RELAY_UP), 5);
	assert_int_equal(h->pool.bufs_out, 2);
	/* nothing for an empty preload */
	assert_int_equal(relay_preload(&h->r, RELAY_UP, "", 0), 0);
	assert_int_equal(h->pool.bufs_out, 2);
	assert_int_equal(relay_in_flight(&h->r, RELAY_UP), 5);
	/* the peers spoke already: their bytes come after the preload */
	peer_send_all(h, PEER_CLIENT, "C1", 2);
	peer_send_all(h, PEER_TARGET, "T1", 2);
	start(h);
	peer_expect(h, PEER_CLIENT, "helloT1", 7);
	peer_expect(h, PEER_TARGET, "worldC1", 7);
	peer_send_all(h, PEER_CLIENT, "C2", 2);
	peer_expect(h, PEER_TARGET, "C2", 2);
	peer_send_all(h, PEER_TARGET, "T2", 2);
	peer_expect(h, PEER_CLIENT, "T2", 2);
	run_until_idle(h);
	assert_int_equal(h->r.dir[RELAY_DOWN].bytes, 9);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, 9);
}

/* A preload appended to, as session_start_relay() does (three calls). */
static void
test_preload_appends(void **state)
{
	struct harness *h = *state;

	assert_int_equal(relay_preload(&h->r, RELAY_DOWN, "\x05\x00", 2), 0);
	assert_int_equal(relay_preload(&h->r, RELAY_DOWN, "reply", 5), 0);
	assert_int_equal(relay_preload(&h->r, RELAY_DOWN, "!", 1), 0);
	assert_int_equal(relay_in_flight(&h->r, RELAY_DOWN), 8);
	assert_int_equal(h->pool.bufs_out, 1);
	start(h);
	peer_expect(h, PEER_CLIENT, "\x05\x00reply!", 8);
	run_until_idle(h);
	assert_int_equal(h->r.dir[RELAY_DOWN].bytes, 8);
}

static void
test_preload_large(void **state)
{
	struct harness *h = *state;
	size_t len = 100000;
	uint8_t *big, *want;

	big = malloc(len);
	want = malloc(len + 5);
	assert_non_null(big);
	assert_non_null(want);
	fill_random(big, len, 5);

	/* down: small, then large appended; up: large, then small */
	assert_int_equal(relay_preload(&h->r, RELAY_DOWN, "hello", 5), 0);
	assert_int_equal(relay_preload(&h->r, RELAY_DOWN, big, len), 0);
	assert_int_equal(relay_preload(&h->r, RELAY_UP, big, len), 0);
	assert_int_equal(relay_preload(&h->r, RELAY_UP, "world", 5), 0);
	assert_int_equal(relay_in_flight(&h->r, RELAY_DOWN), len + 5);
	assert_int_equal(relay_in_flight(&h->r, RELAY_UP), len + 5);
	assert_int_equal(h->pool.bufs_out, 2);
	start(h);

	memcpy(want, "hello", 5);
	memcpy(want + 5, big, len);
	peer_expect(h, PEER_CLIENT, want, len + 5);
	memcpy(want, big, len);
	memcpy(want + len, "world", 5);
	peer_expect(h, PEER_TARGET, want, len + 5);
	free(big);
	free(want);

	/* then normal data, in order */
	peer_send_all(h, PEER_TARGET, "T1", 2);
	peer_expect(h, PEER_CLIENT, "T1", 2);
	peer_send_all(h, PEER_CLIENT, "C1", 2);
	peer_expect(h, PEER_TARGET, "C1", 2);
	run_until_idle(h);
	assert_int_equal(h->r.dir[RELAY_DOWN].bytes, len + 7);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, len + 7);
	/* the oversized buffers were not kept */
	assert_true(h->pool.nbufs <= 2);
}

/* ----- (6) errors ----------------------------------------------------- */

static void
reset_peer(struct harness *h, int side)
{
	struct linger lg = { 1, 0 };

	assert_int_equal(setsockopt(h->peer[side], SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	assert_int_equal(close(h->peer[side]), 0);
	h->peer[side] = -1;
}

/* The side peer resets while the other one sends. */
static void
check_reset(struct harness *h, int side)
{
	int64_t deadline;
	uint8_t buf[4096];

	memset(buf, 'r', sizeof(buf));
	start(h);
	peer_send_all(h, !side, "first", 5);
	peer_expect(h, side, "first", 5);
	reset_peer(h, side);
	deadline = clock_ms() + WAIT_MS;
	while (!h->ended) {
		(void)send(h->peer[!side], buf, sizeof(buf), MSG_NOSIGNAL);
		if (clock_ms() > deadline)
			fail_msg("no error reported in time");
		loop_once(h);
	}
	assert_int_equal(h->status, RELAY_ERROR);
	assert_int_equal(h->r.err_end, side);
	if (h->r.err != ECONNRESET && h->r.err != EPIPE)
		fail_msg("err %d (%s): not ECONNRESET or EPIPE", h->r.err,
		    strerror(h->r.err));
	relay_release(&h->r);
	assert_int_equal(h->pool.bufs_out, 0);
	assert_int_equal(h->pool.pipes_out, 0);
}

static void
test_target_reset_tcp(void **state)
{
	check_reset(*state, RELAY_TARGET);
}

static void
test_client_reset_tcp(void **state)
{
	check_reset(*state, RELAY_CLIENT);
}

/* A reset in splice mode, with bytes stuck in a pipe. */
static void
test_target_reset_while_splicing_tcp(void **state)
{
	struct harness *h = *state;
	size_t max = 8 * 1024 * 1024, sent;
	int64_t deadline;
	uint8_t *src;

	shrink_buffers(h);
	src = malloc(max);
	assert_non_null(src);
	memset(src, 's', max);
	start(h);
	sent = fill_until_stuck(h, src, max);
	free(src);
	assert_true(sent > RELAY_SPLICE_AFTER);
	assert_int_equal(h->pool.pipes_out, 1);
	assert_true(relay_in_flight(&h->r, RELAY_UP) > 0);
	reset_peer(h, PEER_TARGET);
	deadline = clock_ms() + WAIT_MS;
	while (!h->ended) {
		if (clock_ms() > deadline)
			fail_msg("no error reported in time");
		loop_once(h);
	}
	assert_int_equal(h->status, RELAY_ERROR);
	assert_int_equal(h->r.err_end, RELAY_TARGET);
	if (h->r.err != ECONNRESET && h->r.err != EPIPE)
		fail_msg("err %d (%s): not ECONNRESET or EPIPE", h->r.err,
		    strerror(h->r.err));
}

/* A reset in copy mode (no pipes), with bytes stuck in a buffer. */
static void
test_target_reset_while_copying_tcp(void **state)
{
	struct harness *h = *state;
	size_t max = 8 * 1024 * 1024, sent;
	int64_t deadline;
	uint8_t *src;

	shrink_buffers(h);
	src = malloc(max);
	assert_non_null(src);
	memset(src, 'c', max);
	start(h);
	sent = fill_until_stuck(h, src, max);
	free(src);
	assert_true(sent > RELAY_BUF_SIZE);
	assert_int_equal(h->pool.bufs_out, 1);
	assert_int_equal(h->pool.pipes_out, 0);
	assert_true(relay_in_flight(&h->r, RELAY_UP) > 0);
	reset_peer(h, PEER_TARGET);
	deadline = clock_ms() + WAIT_MS;
	while (!h->ended) {
		if (clock_ms() > deadline)
			fail_msg("no error reported in time");
		loop_once(h);
	}
	assert_int_equal(h->status, RELAY_ERROR);
	assert_int_equal(h->r.err_end, RELAY_TARGET);
	if (h->r.err != ECONNRESET && h->r.err != EPIPE)
		fail_msg("err %d (%s): not ECONNRESET or EPIPE", h->r.err,
		    strerror(h->r.err));
	assert_int_equal(h->pool.spliced, 0);
}

/* ----- (7) release and the pool --------------------------------------- */

static void
test_release_returns_carriers(void **state)
{
	struct harness *h = *state;
	size_t max = 8 * 1024 * 1024;
	uint8_t *src;

	shrink_buffers(h);
	src = malloc(max);
	assert_non_null(src);
	memset(src, 'p', max);
	assert_int_equal(relay_preload(&h->r, RELAY_DOWN, "reply", 5), 0);
	start(h);
	peer_expect(h, PEER_CLIENT, "reply", 5);
	(void)fill_until_stuck(h, src, max);
	free(src);
	/* splice mode, stuck: a pipe with bytes in it */
	assert_int_equal(h->pool.pipes_out, 1);
	assert_true(relay_in_flight(&h->r, RELAY_UP) > 0);
	/* and a preload that never went out, down */
	assert_int_equal(relay_preload(&h->r, RELAY_DOWN, "unsent", 6), 0);
	assert_int_equal(h->pool.bufs_out, 1);

	event_del(&h->r.end[RELAY_CLIENT].ev);
	event_del(&h->r.end[RELAY_TARGET].ev);
	h->added = 0;
	relay_release(&h->r);
	assert_int_equal(h->pool.bufs_out, 0);
	assert_int_equal(h->pool.pipes_out, 0);
	assert_null(h->r.dir[RELAY_UP].pipe);
	assert_null(h->r.dir[RELAY_DOWN].buf);
	assert_int_equal(relay_in_flight(&h->r, RELAY_UP), 0);
	assert_int_equal(relay_in_flight(&h->r, RELAY_DOWN), 0);
	/* the buffer is kept for reuse; a pipe with bytes is not */
	assert_true(h->pool.nbufs >= 1);
	/* twice is harmless */
	relay_release(&h->r);
	assert_int_equal(h->pool.bufs_out, 0);

	relay_pool_free(&h->pool);
	assert_null(h->pool.bufs);
	assert_null(h->pool.pipes);
	assert_int_equal(h->pool.nbufs, 0);
	assert_int_equal(h->pool.npipes, 0);
}

/* After everything is closed, no descriptor (a pipe) is left open. */
static void
check_no_fd_leak(void **state)
{
	struct harness *h = *state;
	int before = h->fds_before;

	teardown(state);
	assert_int_equal(count_fds(), before);
}

static void
test_pool_free_closes_pipes(void **state)
{
	struct harness *h = *state;

	transfer_big(h);
	assert_true(h->pool.npipes >= 1);
	check_no_fd_leak(state);
	*state = NULL;
}

static void
test_release_closes_stuck_pipe(void **state)
{
	test_release_returns_carriers(state);
	check_no_fd_leak(state);
	*state = NULL;
}

static int
teardown_maybe(void **state)
{
	if (*state != NULL)
		return teardown(state);
	return 0;
}

/* ----- (8) last_active ------------------------------------------------ */

static void
test_last_active(void **state)
{
	struct harness *h = *state;
	char buf[16];

	h->now = 1000;
	start(h);
	assert_int_equal(h->r.last_active, 1000);

	/* events without bytes do not count */
	h->now = 5000;
	assert_int_equal(relay_io(&h->r, RELAY_CLIENT, 0, 5000), RELAY_OK);
	assert_int_equal(relay_io(&h->r, RELAY_TARGET, EV_WRITE, 5000),
	    RELAY_OK);
	run_for(h, 20);
	assert_int_equal(h->r.last_active, 1000);

	/* up */
	h->now = 7000;
	peer_send_all(h, PEER_CLIENT, "ping", 4);
	peer_recv_exact(h, PEER_TARGET, buf, 4);
	assert_int_equal(h->r.last_active, 7000);

	/* down */
	h->now = 9000;
	peer_send_all(h, PEER_TARGET, "pong", 4);
	peer_recv_exact(h, PEER_CLIENT, buf, 4);
	assert_int_equal(h->r.last_active, 9000);

	/* idle again */
	h->now = 12000;
	run_for(h, 20);
	assert_int_equal(h->r.last_active, 9000);

	/* an EOF is activity too */
	h->now = 15000;
	assert_int_equal(shutdown(h->peer[PEER_CLIENT], SHUT_WR), 0);
	peer_expect_eof(h, PEER_TARGET);
	assert_int_equal(h->r.last_active, 15000);
}

/* relay_io() on its own, without the loop: budget-free small moves. */
static void
test_relay_io_direct(void **state)
{
	struct harness *h = *state;
	char buf[8];

	/* no events registered: only the calls below move bytes */
	assert_int_equal(send(h->peer[PEER_CLIENT], "abc", 3, 0), 3);
	assert_int_equal(relay_io(&h->r, RELAY_CLIENT, EV_READ, 1), RELAY_OK);
	/* the target end was never writable: the bytes wait in flight */
	assert_int_equal(relay_in_flight(&h->r, RELAY_UP), 3);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, 0);
	assert_int_equal(h->r.last_active, 1);
	assert_int_equal(relay_io(&h->r, RELAY_TARGET, EV_WRITE, 2), RELAY_OK);
	assert_int_equal(relay_in_flight(&h->r, RELAY_UP), 0);
	assert_int_equal(h->r.dir[RELAY_UP].bytes, 3);
	assert_int_equal(h->r.last_active, 2);
	assert_int_equal(h->pool.bufs_out, 0);
	assert_int_equal(recv(h->peer[PEER_TARGET], buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "abc", 3);
	/* nothing readable now: the source is not read again */
	assert_int_equal(relay_io(&h->r, RELAY_CLIENT, 0, 3), RELAY_OK);
	assert_int_equal(h->r.last_active, 2);
}

/*
 * A splice that stops with bytes in its pipe hands them to buffered I/O:
 * relay_pipe_drain() appends them to a buffer, in order, after what the
 * buffer held, and leaves the pipe empty for the pool.
 */
static void
test_pipe_drain(void **state)
{
	struct harness *h = *state;
	struct relay_pipe *pp;
	struct evbuffer *buf;
	char data[200000], got[sizeof(data) + 3];
	size_t i, in = 0;
	ssize_t n;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + i / 251);
	assert_non_null(pp = relay_pipe_get(&h->pool));
	assert_non_null(buf = evbuffer_new());
	assert_int_equal(evbuffer_add(buf, "pre", 3), 0);
	/* an empty pipe: nothing to add */
	assert_int_equal(relay_pipe_drain(pp, buf), 0);
	assert_int_equal(evbuffer_get_length(buf), 3);
	peer_send_all(h, PEER_CLIENT, data, sizeof(data) / 2);
	while (in < sizeof(data) / 2) {
		n = relay_pipe_in(pp, h->r.end[RELAY_CLIENT].fd,
		    sizeof(data) / 2 - in);
		assert_true(n > 0);
		in += (size_t)n;
	}
	assert_int_equal(pp->bytes, in);
	assert_int_equal(relay_pipe_drain(pp, buf), 0);
	assert_int_equal(pp->bytes, 0);
	/* and the pipe carries on from there */
	peer_send_all(h, PEER_CLIENT, data + in, sizeof(data) - in);
	while (in < sizeof(data)) {
		n = relay_pipe_in(pp, h->r.end[RELAY_CLIENT].fd,
		    sizeof(data) - in);
		assert_true(n > 0);
		in += (size_t)n;
	}
	assert_int_equal(relay_pipe_drain(pp, buf), 0);
	assert_int_equal(evbuffer_get_length(buf), sizeof(got));
	assert_int_equal(evbuffer_remove(buf, got, sizeof(got)), sizeof(got));
	assert_memory_equal(got, "pre", 3);
	assert_memory_equal(got + 3, data, sizeof(data));
	/* a pipe that says it holds more than it does */
	pp->bytes = 10;
	assert_int_equal(relay_pipe_drain(pp, buf), -1);
	pp->bytes = 0;
	relay_pipe_put(&h->pool, pp);
	assert_int_equal(h->pool.npipes, 1);	/* kept: it was empty */
	evbuffer_free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_both_ways_unix,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_both_ways_tcp,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_cap_unix, setup_unix,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cap_tcp_splice, setup_tcp,
		    teardown),
		cmocka_unit_test_setup_teardown(test_big_tcp_splices,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_pipe_drain, setup_tcp,
		    teardown),
		cmocka_unit_test_setup_teardown(test_big_tcp_no_pipes_copies,
		    setup_tcp_nosplice, teardown),
		cmocka_unit_test_setup_teardown(test_lowat_bulk_sinks,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_lowat_bulk_sinks,
		    setup_tcp_nosplice, teardown),
		cmocka_unit_test_setup_teardown(test_lowat_short_untouched,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_lowat_one_direction,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_lowat_off, setup_tcp,
		    teardown),
		cmocka_unit_test_setup_teardown(test_big_tcp_one_pipe,
		    setup_tcp_onepipe, teardown),
		cmocka_unit_test_setup_teardown(test_big_unix,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(
		    test_budget_spent_lowers_priority, setup_unix, teardown),
		cmocka_unit_test_setup_teardown(
		    test_budget_spent_ends_the_pass, setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_half_close_unix,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_half_close_tcp,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(
		    test_answer_and_fin_one_segment_tcp, setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(
		    test_half_close_target_first_tcp, setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_close_at_once_unix,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure_unix,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure_tcp,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_preload_small,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_preload_appends,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_preload_large,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_target_reset_tcp,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_client_reset_tcp,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(
		    test_target_reset_while_splicing_tcp, setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(
		    test_target_reset_while_copying_tcp, setup_tcp_nosplice,
		    teardown),
		cmocka_unit_test_setup_teardown(test_release_returns_carriers,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_release_closes_stuck_pipe,
		    setup_tcp, teardown_maybe),
		cmocka_unit_test_setup_teardown(test_pool_free_closes_pipes,
		    setup_tcp, teardown_maybe),
		cmocka_unit_test_setup_teardown(test_last_active,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_relay_io_direct,
		    setup_unix, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("relay", tests, NULL, NULL);
}
