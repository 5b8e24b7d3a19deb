/*
 * Unit tests for the buffered socket (proxy/sio.c), on real sockets: a
 * loopback TCP connection (resets, EOF after a short read) or an AF_UNIX
 * socketpair, the sio on one end and the test playing the peer on the
 * other.  The loop runs with EVLOOP_NONBLOCK in bounded waits.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

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

#include "clock.h"
#include "sio.h"

struct fx {
	struct event_base *base;
	struct sio	*io;
	int		fd;		/* the sio's end */
	int		peer;		/* the test's end */
	size_t		reads;		/* readcb calls */
	size_t		writes;		/* writecb calls */
	short		events;		/* eventcb: what */
	int		err;		/* eventcb: errno */
	size_t		consume;	/* readcb drains this much (0: none) */
	int		free_in_read;	/* readcb frees the sio */
	int		write_back;	/* readcb echoes what it got */
};

static void
read_cb(struct sio *io, void *arg)
{
	struct fx *fx = arg;
	struct evbuffer *in = sio_in(io);
	size_t n = evbuffer_get_length(in);

	fx->reads++;
	if (fx->write_back) {
		/* two pieces in one turn: they leave in one writev */
		evbuffer_add(sio_out(io), "<", 1);
		evbuffer_remove_buffer(in, sio_out(io), n);
		return;
	}
	if (fx->consume > 0)
		evbuffer_drain(in, n < fx->consume ? n : fx->consume);
	if (fx->free_in_read) {
		sio_free(io);
		fx->io = NULL;
	}
}

static void
write_cb(struct sio *io, void *arg)
{
	struct fx *fx = arg;

	(void)io;
	fx->writes++;
}

static void
event_cb(struct sio *io, short what, void *arg)
{
	struct fx *fx = arg;

	(void)io;
	fx->events |= what;
	fx->err = errno;
}

static void
nonblock(int fd)
{
	assert_int_not_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) |
	    O_NONBLOCK), -1);
}

static void
tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_not_equal(l = socket(AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	assert_int_not_equal(*b = socket(AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(connect(*b, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_not_equal(*a = accept(l, NULL, NULL), -1);
	close(l);
	(void)setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int
setup_common(void **state, int tcp)
{
	static struct fx fx;
	int sv[2];

	memset(&fx, 0, sizeof(fx));
	signal(SIGPIPE, SIG_IGN);
	fx.base = event_base_new();
	assert_non_null(fx.base);
	if (tcp)
		tcp_pair(&sv[0], &sv[1]);
	else
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblock(sv[0]);
	fx.fd = sv[0];
	fx.peer = sv[1];
	fx.io = sio_new(fx.base, fx.fd, 1);
	assert_non_null(fx.io);
	sio_setcb(fx.io, read_cb, write_cb, event_cb, &fx);
	*state = &fx;
	return 0;
}

static int
setup_tcp(void **state)
{
	return setup_common(state, 1);
}

static int
setup_unix(void **state)
{
	return setup_common(state, 0);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->io != NULL)
		sio_free(fx->io);
	if (fx->peer != -1)
		close(fx->peer);
	event_base_free(fx->base);
	return 0;
}

static void
spin(struct fx *fx, int ms)
{
	int64_t end = clock_ms() + ms;

	while (clock_ms() < end) {
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static int
until(struct fx *fx, int (*cond)(struct fx *), int ms)
{
	int64_t end = clock_ms() + ms;

	while (!cond(fx)) {
		if (clock_ms() >= end)
			return 0;
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
		if (!cond(fx))
			usleep(500);
	}
	return 1;
}

static int
got_eof(struct fx *fx)
{
	return (fx->events & SIO_EOF) != 0;
}

static int
got_error(struct fx *fx)
{
	return (fx->events & SIO_ERROR) != 0;
}

static size_t want_in;

static int
input_is(struct fx *fx)
{
	return fx->io != NULL && evbuffer_get_length(sio_in(fx->io)) >=
	    want_in;
}

static int
output_empty(struct fx *fx)
{
	return evbuffer_get_length(sio_out(fx->io)) == 0;
}

static int
was_freed(struct fx *fx)
{
	return fx->io == NULL;
}

/* Read from the peer until n bytes came or ms passed. */
static size_t
peer_read(struct fx *fx, char *buf, size_t n, int ms)
{
	int64_t end = clock_ms() + ms;
	size_t got = 0;
	ssize_t r;

	nonblock(fx->peer);
	while (got < n && clock_ms() < end) {
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
		r = read(fx->peer, buf + got, n - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
		else
			usleep(500);
	}
	return got;
}

/* Bytes arriving one at a time all reach the input, in order. */
static void
test_read_byte_at_a_time(void **state)
{
	struct fx *fx = *state;
	const char *msg = "GET http://a/ HTTP/1.1\r\n\r\n";
	size_t i, n = strlen(msg);
	char buf[64];

	for (i = 0; i < n; i++) {
		assert_int_equal(write(fx->peer, msg + i, 1), 1);
		want_in = i + 1;
		assert_true(until(fx, input_is, 1000));
	}
	assert_int_equal(evbuffer_remove(sio_in(fx->io), buf, sizeof(buf)),
	    (int)n);
	assert_memory_equal(buf, msg, n);
	assert_true(fx->reads >= 1);
	assert_int_equal(fx->events, 0);
}

/*
 * A large burst is read whole (small first read, then large ones), and
 * the data and the FIN that follows it in one go both arrive: the EOF is
 * not lost behind a short read.
 */
static void
test_burst_then_eof(void **state)
{
	struct fx *fx = *state;
	static char big[300000], back[300000];
	size_t off = 0;
	ssize_t r;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 251);
	nonblock(fx->peer);
	while (off < sizeof(big)) {
		r = write(fx->peer, big + off, sizeof(big) - off);
		if (r > 0)
			off += (size_t)r;
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(shutdown(fx->peer, SHUT_WR), 0);
	assert_true(until(fx, got_eof, 2000));
	assert_int_equal(evbuffer_get_length(sio_in(fx->io)), sizeof(big));
	assert_int_equal(evbuffer_remove(sio_in(fx->io), back, sizeof(back)),
	    (int)sizeof(big));
	assert_memory_equal(back, big, sizeof(big));
	assert_false(fx->events & SIO_ERROR);
}

/* A short message and the FIN in the same segment train: EOF seen. */
static void
test_short_then_eof(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(write(fx->peer, "hello", 5), 5);
	assert_int_equal(shutdown(fx->peer, SHUT_WR), 0);
	assert_true(until(fx, got_eof, 2000));
	assert_int_equal(evbuffer_get_length(sio_in(fx->io)), 5);
	/* writing still works after the peer's half-close */
	assert_int_equal(sio_write(fx->io, "bye", 3), 0);
	{
		char buf[8];

		assert_int_equal(peer_read(fx, buf, 3, 1000), 3);
		assert_memory_equal(buf, "bye", 3);
	}
}

/*
 * What one callback queues in pieces leaves in one turn, in order, and
 * the write callback says when the output drained.
 */
static void
test_echo_in_order(void **state)
{
	struct fx *fx = *state;
	char buf[16];

	fx->write_back = 1;
	assert_int_equal(write(fx->peer, "abc", 3), 3);
	assert_int_equal(peer_read(fx, buf, 4, 1000), 4);
	assert_memory_equal(buf, "<abc", 4);
	assert_true(fx->writes >= 1);
	assert_int_equal(evbuffer_get_length(sio_out(fx->io)), 0);
}

/*
 * Backpressure: output to a peer that does not read stays queued (the
 * socket is full) and goes out, all of it and in order, once it reads;
 * the write callback runs when the output is at its low watermark.
 */
static void
test_write_backpressure(void **state)
{
	struct fx *fx = *state;
	static char big[4 << 20], back[4 << 20];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 13 + i / 4093);
	sio_set_write_low(fx->io, 0);
	assert_int_equal(sio_write(fx->io, big, sizeof(big)), 0);
	spin(fx, 30);
	assert_true(evbuffer_get_length(sio_out(fx->io)) > 0);
	assert_false(fx->io->wr_ready);
	assert_int_equal(fx->writes, 0);
	assert_int_equal(peer_read(fx, back, sizeof(back), 5000), sizeof(big));
	assert_memory_equal(back, big, sizeof(big));
	assert_true(until(fx, output_empty, 1000));
	assert_true(fx->writes >= 1);
}

/*
 * The read watermark: input stops growing at it, and reading resumes
 * when the consumer takes input.
 */
static void
test_read_hwm(void **state)
{
	struct fx *fx = *state;
	static char big[200000];
	size_t sent = 0, total = 0;
	ssize_t r;

	memset(big, 'x', sizeof(big));
	sio_set_read_hwm(fx->io, 16384);
	nonblock(fx->peer);
	while (sent < sizeof(big)) {
		r = write(fx->peer, big + sent, sizeof(big) - sent);
		if (r <= 0)
			break;
		sent += (size_t)r;
	}
	spin(fx, 30);
	assert_true(evbuffer_get_length(sio_in(fx->io)) <= 16384);
	assert_true(evbuffer_get_length(sio_in(fx->io)) > 0);
	/* drain from outside a callback, as a consumer that caught up */
	while (total < sent) {
		size_t n = evbuffer_get_length(sio_in(fx->io));

		total += n;
		evbuffer_drain(sio_in(fx->io), n);
		if (total < sent) {
			want_in = 1;
			assert_true(until(fx, input_is, 2000));
		}
		assert_true(evbuffer_get_length(sio_in(fx->io)) <= 16384);
	}
	assert_int_equal(total, sent);
}

/* Reading off: bytes wait in the kernel; on again: they come. */
static void
test_read_off_on(void **state)
{
	struct fx *fx = *state;

	sio_read_off(fx->io);
	assert_int_equal(write(fx->peer, "data", 4), 4);
	spin(fx, 20);
	assert_int_equal(fx->reads, 0);
	sio_read_on(fx->io);
	want_in = 4;
	assert_true(until(fx, input_is, 1000));
	assert_int_equal(fx->reads, 1);
}

static void
peer_reset(struct fx *fx)
{
	struct linger l = { 1, 0 };

	assert_int_equal(setsockopt(fx->peer, SOL_SOCKET, SO_LINGER, &l,
	    sizeof(l)), 0);
	close(fx->peer);
	fx->peer = -1;
}

/*
 * A reset while the sio does not read (paused: nothing to write either)
 * is still reported, as an error.
 */
static void
test_reset_while_paused(void **state)
{
	struct fx *fx = *state;

	sio_read_off(fx->io);
	assert_int_equal(write(fx->peer, "unread", 6), 6);
	spin(fx, 10);
	peer_reset(fx);
	assert_true(until(fx, got_error, 2000));
	assert_int_equal(fx->err, ECONNRESET);
}

/*
 * Bytes and a reset together, in one edge: a greedy sio (its owner waits
 * on the bytes) reads the bytes and then finds the reset; it is not lost
 * behind the short read.
 */
static void
test_reset_after_data_greedy(void **state)
{
	struct fx *fx = *state;

	sio_set_greedy(fx->io, 1);
	assert_int_equal(write(fx->peer, "last words", 10), 10);
	peer_reset(fx);
	usleep(10000);
	assert_true(until(fx, got_error, 2000));
	assert_int_equal(fx->err, ECONNRESET);
	assert_int_equal(evbuffer_get_length(sio_in(fx->io)), 10);
	assert_int_equal(fx->reads, 1);
}

/* The read callback may free the sio: nothing touches it afterwards. */
static void
test_free_in_callback(void **state)
{
	struct fx *fx = *state;

	fx->free_in_read = 1;
	assert_int_equal(write(fx->peer, "x", 1), 1);
	assert_true(until(fx, was_freed, 1000));
	spin(fx, 10);		/* no use after free (ASan) */
	assert_int_equal(fx->reads, 1);
}

/*
 * Letting go of the socket: the descriptor stays open for its new owner,
 * what the sio knew of its readiness comes with it.
 */
static void
test_release(void **state)
{
	struct fx *fx = *state;
	int rd = -1, wr = -1, fd;
	char c;

	fd = sio_release(fx->io, &rd, &wr);
	fx->io = NULL;
	assert_int_equal(fd, fx->fd);
	assert_int_equal(wr, 1);
	assert_int_equal(rd, 0);
	assert_int_equal(write(fx->peer, "z", 1), 1);
	spin(fx, 10);			/* no callback without the sio */
	assert_int_equal(fx->reads, 0);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'z');
	close(fd);
}

static void
trigger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fx *fx = arg;
	char c;

	(void)what;
	assert_int_equal(read(fd, &c, 1), 1);
	/* the sio's event is queued behind this one with its read edge */
	assert_int_equal(sio_set_priority(fx->io, 2), 0);
}

/*
 * The event's priority changes when idle, and when it is queued to run
 * (libevent refuses that one): the read edge it was queued with is not
 * lost.
 */
static void
test_set_priority(void **state)
{
	struct fx *fx = *state;
	struct event trigger;
	int sv[2];

	assert_int_equal(event_base_priority_init(fx->base, 3), 0);
	assert_int_equal(sio_set_priority(fx->io, 1), 0);
	assert_int_equal(event_get_priority(fx->io->ev), 1);
	spin(fx, 10);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblock(sv[0]);
	event_assign(&trigger, fx->base, sv[0], EV_READ, trigger_cb, fx);
	assert_int_equal(event_priority_set(&trigger, 0), 0);
	assert_int_equal(event_add(&trigger, NULL), 0);
	/* one poll reports both; the trigger runs first and moves the sio */
	assert_int_equal(write(fx->peer, "abc", 3), 3);
	assert_int_equal(write(sv[1], "t", 1), 1);
	want_in = 3;
	assert_true(until(fx, input_is, 1000));
	assert_int_equal(event_get_priority(fx->io->ev), 2);
	assert_int_equal(fx->events, 0);
	event_del(&trigger);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_byte_at_a_time,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_burst_then_eof,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_burst_then_eof,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_short_then_eof,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_short_then_eof,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_echo_in_order,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_write_backpressure,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_read_hwm,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_read_off_on,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_reset_while_paused,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_reset_after_data_greedy,
		    setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_callback,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_release,
		    setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_set_priority,
		    setup_unix, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
