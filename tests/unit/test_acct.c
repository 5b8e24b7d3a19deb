/*
 * Unit tests for accounting: proxy/acct.c.  The per-client concurrency
 * table, and the access log written to a temporary file.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

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

#include <event2/event.h>

#include "acct.h"
#include "iptable.h"
#include "auth.h"
#include "clock.h"
#include "netaddr.h"

#define LINE_MAX_BYTES	1024		/* acct.c's LOG_LINE_MAX */

/* 2024-01-02T03:04:05.678Z */
#define T_SEC		1704164645LL
#define T_USEC		678901L
#define T_STR		"2024-01-02T03:04:05.678Z"

static union sockaddr_u
addr_of(const char *s)
{
	union sockaddr_u a;

	if (netaddr_parse_hostport(s, &a, 0) != 0)
		fail_msg("test address \"%s\" does not parse", s);
	return a;
}

/* ----- per-client table ----------------------------------------------- */

static void
test_clients_limit(void **state)
{
	struct iptable t;
	union sockaddr_u a1, a2, a3, b;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	assert_int_equal(t.count, 0);
	a1 = addr_of("10.0.0.1:1000");
	a2 = addr_of("10.0.0.1:2000");		/* same IP, other ports */
	a3 = addr_of("10.0.0.1:3000");
	b = addr_of("10.0.0.2:1000");

	assert_int_equal(acct_client_acquire(&t, &a1, 2), 0);
	assert_int_equal(t.count, 1);
	assert_int_equal(acct_client_acquire(&t, &a2, 2), 0);
	assert_int_equal(t.count, 1);
	errno = 0;
	assert_int_equal(acct_client_acquire(&t, &a3, 2), -1);
	assert_int_equal(errno, EBUSY);
	errno = 0;
	assert_int_equal(acct_client_acquire(&t, &a1, 2), -1);
	assert_int_equal(errno, EBUSY);

	/* another address has its own count */
	assert_int_equal(acct_client_acquire(&t, &b, 2), 0);
	assert_int_equal(acct_client_acquire(&t, &b, 2), 0);
	assert_int_equal(acct_client_acquire(&t, &b, 2), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(t.count, 2);

	/* a release (from any port of the address) lets one in */
	acct_client_release(&t, &a3);
	assert_int_equal(acct_client_acquire(&t, &a3, 2), 0);
	assert_int_equal(acct_client_acquire(&t, &a3, 2), -1);
	assert_int_equal(errno, EBUSY);

	/* a larger limit for the same address */
	assert_int_equal(acct_client_acquire(&t, &a1, 3), 0);
	assert_int_equal(acct_client_acquire(&t, &a1, 3), -1);

	/* back to zero: the entries go */
	acct_client_release(&t, &a1);
	acct_client_release(&t, &a1);
	assert_int_equal(t.count, 2);
	acct_client_release(&t, &a2);
	assert_int_equal(t.count, 1);
	acct_client_release(&t, &b);
	acct_client_release(&t, &b);
	assert_int_equal(t.count, 0);
	iptable_free(&t);
	assert_null(t.buckets);
}

static void
test_clients_failed_acquire_not_counted(void **state)
{
	struct iptable t;
	union sockaddr_u a;
	int i;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("192.0.2.7:1");
	assert_int_equal(acct_client_acquire(&t, &a, 2), 0);
	assert_int_equal(acct_client_acquire(&t, &a, 2), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(acct_client_acquire(&t, &a, 2), -1);
	acct_client_release(&t, &a);
	assert_int_equal(t.count, 1);
	acct_client_release(&t, &a);
	assert_int_equal(t.count, 0);
	/* and the slate is clean */
	assert_int_equal(acct_client_acquire(&t, &a, 1), 0);
	assert_int_equal(acct_client_acquire(&t, &a, 1), -1);
	acct_client_release(&t, &a);
	assert_int_equal(t.count, 0);
	iptable_free(&t);
}

static void
test_clients_v4_v6_distinct(void **state)
{
	struct iptable t;
	union sockaddr_u v4, v6, v6b, v6c;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	v4 = addr_of("127.0.0.1:80");
	v6 = addr_of("[::1]:80");
	v6b = addr_of("[::1]:8080");
	v6c = addr_of("[2001:db8::1]:80");
	assert_int_equal(acct_client_acquire(&t, &v4, 1), 0);
	assert_int_equal(acct_client_acquire(&t, &v6, 1), 0);
	assert_int_equal(t.count, 2);
	assert_int_equal(acct_client_acquire(&t, &v4, 1), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(acct_client_acquire(&t, &v6b, 1), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(acct_client_acquire(&t, &v6c, 1), 0);
	assert_int_equal(t.count, 3);
	acct_client_release(&t, &v6b);
	assert_int_equal(t.count, 2);
	assert_int_equal(acct_client_acquire(&t, &v4, 1), -1);
	acct_client_release(&t, &v4);
	acct_client_release(&t, &v6c);
	assert_int_equal(t.count, 0);
	iptable_free(&t);
}

static void
test_clients_unlimited(void **state)
{
	struct iptable t;
	union sockaddr_u a;
	int i;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("198.51.100.1:1");
	for (i = 0; i < 1000; i++)
		assert_int_equal(acct_client_acquire(&t, &a, 0), 0);
	assert_int_equal(t.count, 1);
	/* still counted: a limit applied now sees all 1000 */
	assert_int_equal(acct_client_acquire(&t, &a, 1000), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(acct_client_acquire(&t, &a, 1001), 0);
	for (i = 0; i < 1000; i++)
		acct_client_release(&t, &a);
	assert_int_equal(t.count, 1);
	acct_client_release(&t, &a);
	assert_int_equal(t.count, 0);
	iptable_free(&t);
}

static void
test_clients_release_unknown(void **state)
{
	struct iptable t;
	union sockaddr_u a, b;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("203.0.113.1:1");
	b = addr_of("203.0.113.2:1");
	acct_client_release(&t, &a);		/* never acquired */
	assert_int_equal(t.count, 0);
	assert_int_equal(acct_client_acquire(&t, &a, 1), 0);
	acct_client_release(&t, &b);
	assert_int_equal(t.count, 1);
	assert_int_equal(acct_client_acquire(&t, &a, 1), -1);
	acct_client_release(&t, &a);
	acct_client_release(&t, &a);		/* one too many */
	assert_int_equal(t.count, 0);
	assert_int_equal(acct_client_acquire(&t, &a, 1), 0);
	assert_int_equal(acct_client_acquire(&t, &a, 1), -1);
	acct_client_release(&t, &a);
	iptable_free(&t);
}

static void
test_clients_many(void **state)
{
	struct iptable t;
	union sockaddr_u a;
	int i;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	memset(&a, 0, sizeof(a));
	a.in.sin_family = AF_INET;
	/* more addresses than buckets: chains */
	for (i = 0; i < 5000; i++) {
		a.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		assert_int_equal(acct_client_acquire(&t, &a, 1), 0);
	}
	assert_int_equal(t.count, 5000);
	for (i = 0; i < 5000; i += 7) {
		a.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		assert_int_equal(acct_client_acquire(&t, &a, 1), -1);
	}
	for (i = 0; i < 5000; i += 2) {
		a.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		acct_client_release(&t, &a);
	}
	assert_int_equal(t.count, 2500);
	for (i = 1; i < 5000; i += 2) {
		a.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		assert_int_equal(acct_client_acquire(&t, &a, 1), -1);
		acct_client_release(&t, &a);
	}
	assert_int_equal(t.count, 0);
	iptable_free(&t);
}

static void
test_clients_free_with_entries(void **state)
{
	struct iptable t;
	union sockaddr_u a, b;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("10.1.1.1:1");
	b = addr_of("[2001:db8::2]:1");
	assert_int_equal(acct_client_acquire(&t, &a, 0), 0);
	assert_int_equal(acct_client_acquire(&t, &b, 0), 0);
	/* freed with sessions still counted: valgrind checks nothing leaks */
	iptable_free(&t);
	assert_null(t.buckets);
}

/* ----- access log ----------------------------------------------------- */

struct logfile {
	char		path[64];
	struct event_base *base;
	struct acct_log	log;
};

static int
setup_log(void **state)
{
	struct logfile *f;
	char err[256];
	int fd;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/sluice-acct-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->base = event_base_new();
	assert_non_null(f->base);
	err[0] = '\0';
	assert_int_equal(acct_log_open(&f->log, f->path, 0, f->base, err,
	    sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(f->log.fd >= 0);
	*state = f;
	return 0;
}

static int
teardown_log(void **state)
{
	struct logfile *f = *state;

	acct_log_close(&f->log);
	event_base_free(f->base);
	unlink(f->path);
	free(f);
	return 0;
}

/* The whole file, NUL-terminated; *len its size.  Free it. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	if (len != NULL)
		*len = off;
	return buf;
}

static size_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* The example session of the brief. */
static void
example_record(struct acct_record *r, union sockaddr_u *client,
    union sockaddr_u *connected)
{
	*client = addr_of("127.0.0.1:5555");
	*connected = addr_of("93.184.216.34:443");
	memset(r, 0, sizeof(*r));
	r->id = 7;
	r->worker = 0;
	r->proto = "socks5";
	r->client = client;
	r->user = "alice";
	r->target = "example.com";
	r->port = 443;
	r->connected = connected;
	r->status = "0x00";
	r->up = 123;
	r->down = 4567;
	r->dur_ms = 12345;
	r->end = "done";
}

/* Log one record, flush, and return the file (one line expected). */
static char *
log_one(struct logfile *f, const struct acct_record *r)
{
	char *s;

	assert_int_equal(ftruncate(f->log.fd, 0), 0);
	acct_log_session(&f->log, r, T_SEC, T_USEC);
	acct_log_flush(&f->log);
	s = slurp(f->path, NULL);
	return s;
}

static void
test_log_line_format(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s;

	example_record(&r, &client, &connected);
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	/* buffered: nothing written before a flush */
	assert_int_equal(file_size(f->path), 0);
	assert_int_equal(f->log.armed, 1);
	acct_log_flush(&f->log);
	assert_int_equal(f->log.armed, 0);
	assert_int_equal(f->log.len, 0);
	s = slurp(f->path, NULL);
	assert_string_equal(s, T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 up=123 down=4567 dur=12.345 end=done id=0.7\n");
	free(s);

	/* a second line goes after the first */
	r.id = 8;
	r.worker = 3;
	r.up = 0;
	r.down = 18446744073709551615ULL;
	acct_log_session(&f->log, &r, T_SEC + 1, 0);
	acct_log_flush(&f->log);
	s = slurp(f->path, NULL);
	assert_string_equal(s, T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 up=123 down=4567 dur=12.345 end=done id=0.7\n"
	    "2024-01-02T03:04:06.000Z proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 up=0 down=18446744073709551615 dur=12.345 end=done "
	    "id=3.8\n");
	free(s);
	assert_int_equal(f->log.lost, 0);
}

/* The user field of a one-line log for user u. */
static void
check_user(struct logfile *f, const char *u, const char *want)
{
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s, expect[600];

	example_record(&r, &client, &connected);
	r.user = u;
	s = log_one(f, &r);
	snprintf(expect, sizeof(expect), T_STR " proto=socks5 "
	    "client=127.0.0.1:5555 user=%s target=example.com:443 ", want);
	if (strncmp(s, expect, strlen(expect)) != 0)
		fail_msg("user \"%s\": got \"%s\", want a line starting \"%s\"",
		    u, s, expect);
	assert_non_null(strstr(s, " end=done id=0.7\n"));
	assert_int_equal(strchr(s, '\n') - s + 1, strlen(s));
	free(s);
}

static void
test_log_user_quoting(void **state)
{
	struct logfile *f = *state;

	check_user(f, "alice", "alice");
	check_user(f, "a b", "\"a b\"");
	check_user(f, "x\"y", "\"x\\\"y\"");
	check_user(f, "back\\slash", "\"back\\\\slash\"");
	check_user(f, "tab\there", "\"tab\\x09here\"");
	check_user(f, "nl\nx", "\"nl\\x0ax\"");
	check_user(f, "\xc3\xa9t\xc3\xa9", "\"\\xc3\\xa9t\\xc3\\xa9\"");
	check_user(f, "del\x7f", "\"del\\x7f\"");
	check_user(f, "", "\"\"");
	/* printable punctuation is plain */
	check_user(f, "=~!#$%&'()*+,-./:;<>?@[]^_`{|}",
	    "=~!#$%&'()*+,-./:;<>?@[]^_`{|}");
}

static void
test_log_ipv6(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s;

	example_record(&r, &client, &connected);
	client = addr_of("[2001:db8::5]:40000");
	connected = addr_of("[::1]:80");
	r.target = "::1";
	r.port = 80;
	r.id = 12;
	r.worker = 2;
	s = log_one(f, &r);
	assert_string_equal(s, T_STR " proto=socks5 client=[2001:db8::5]:40000 "
	    "user=alice target=[::1]:80 connected=[::1]:80 status=0x00 "
	    "up=123 down=4567 dur=12.345 end=done id=2.12\n");
	free(s);
}

static void
test_log_absent_fields(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s;

	example_record(&r, &client, &connected);
	r.user = NULL;
	r.target = NULL;
	r.port = 0;
	r.connected = NULL;
	r.status = "-";
	r.up = r.down = 0;
	r.dur_ms = 0;
	r.end = "auth_failed";
	s = log_one(f, &r);
	assert_string_equal(s, T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=- target=- connected=- status=- up=0 down=0 dur=0.000 "
	    "end=auth_failed id=0.7\n");
	free(s);

	/* a connected address that was never set (AF_UNSPEC) is absent */
	memset(&connected, 0, sizeof(connected));
	r.connected = &connected;
	s = log_one(f, &r);
	assert_non_null(strstr(s, " connected=- "));
	free(s);
}

static void
test_log_durations(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	static const struct {
		int64_t		ms;
		const char	*want;
	} d[] = {
		{ 0, " dur=0.000 " },
		{ 5, " dur=0.005 " },
		{ 999, " dur=0.999 " },
		{ 1000, " dur=1.000 " },
		{ 61001, " dur=61.001 " },
		{ 86400123, " dur=86400.123 " },
	};
	size_t i;
	char *s;

	example_record(&r, &client, &connected);
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		r.dur_ms = d[i].ms;
		s = log_one(f, &r);
		if (strstr(s, d[i].want) == NULL)
			fail_msg("dur_ms %lld: \"%s\" lacks \"%s\"",
			    (long long)d[i].ms, s, d[i].want);
		free(s);
	}
}

/*
 * The longest user name the configuration accepts (255 bytes, any byte
 * above 0x20 but 0x7f: conf.c's user_name_problem()), in UTF-8, is written
 * with \x escapes, 4 bytes per byte: more than a line holds.  The line
 * must still be one line of at most LOG_LINE_MAX bytes, and nothing may be
 * written outside the line buffer.  Run in a child: a stack overflow must
 * not take the test runner down.
 */
static void
test_log_longest_user(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	const char *prefix = T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=\"\\xc3\\xa9\\xc3\\xa9";
	char user[256], *s, *nl;
	size_t len, i;
	pid_t pid;
	int st;

	for (i = 0; i + 1 < 255; i += 2) {
		user[i] = (char)0xc3;
		user[i + 1] = (char)0xa9;	/* é */
	}
	user[254] = 'x';
	user[255] = '\0';
	assert_int_equal(strlen(user), 255);
	example_record(&r, &client, &connected);
	r.user = user;

	assert_int_equal(ftruncate(f->log.fd, 0), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		/* die of the signal: not cmocka's handler, in the child */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		signal(SIGSYS, SIG_DFL);
		acct_log_session(&f->log, &r, T_SEC, T_USEC);
		acct_log_flush(&f->log);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("acct_log_session() crashed (%s %d)",
		    WIFSIGNALED(st) ? "signal" : "status",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	s = slurp(f->path, &len);
	nl = strchr(s, '\n');
	if (nl == NULL || (size_t)(nl - s) + 1 != len || len > LINE_MAX_BYTES)
		fail_msg("not one line of at most %d bytes: %zu bytes, first "
		    "newline at %td", LINE_MAX_BYTES, len,
		    nl != NULL ? nl - s : (ptrdiff_t)-1);
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("the line starts \"%.90s\"", s);
	free(s);
}

static void
test_log_timer_flushes(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	int64_t start, deadline;
	char *s;

	example_record(&r, &client, &connected);
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	assert_int_equal(f->log.armed, 1);
	assert_int_equal(file_size(f->path), 0);
	start = clock_ms();
	deadline = start + 2000;
	while (file_size(f->path) == 0) {
		if (clock_ms() > deadline)
			fail_msg("the timer did not flush the log in 2 s");
		assert_int_not_equal(event_base_loop(f->base, EVLOOP_ONCE),
		    -1);
	}
	/* LOG_FLUSH_MS (200) after the first line */
	assert_true(clock_ms() - start >= 150);
	assert_int_equal(f->log.armed, 0);
	assert_int_equal(f->log.len, 0);
	s = slurp(f->path, NULL);
	assert_non_null(strstr(s, " id=0.7\n"));
	free(s);
}

static void
test_log_appends(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	const char *old = "old line\n" T_STR " proto=socks5 ";
	char err[256];
	char *s;
	int fd;

	acct_log_close(&f->log);
	fd = open(f->path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old line\n", 9), 9);
	close(fd);
	assert_int_equal(acct_log_open(&f->log, f->path, 0, f->base, err,
	    sizeof(err)), 0);
	example_record(&r, &client, &connected);
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	acct_log_close(&f->log);
	s = slurp(f->path, NULL);
	if (strncmp(s, old, strlen(old)) != 0)
		fail_msg("not appended: \"%s\"", s);
	assert_int_equal(strchr(s + 9, '\n') - s + 1, strlen(s));
	free(s);
	/* closing twice is harmless */
	acct_log_close(&f->log);
}

static void
test_log_many_lines(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	const char *prefix = T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 ";
	char *s, *p, *nl, want[32];
	size_t len, mid;
	int i, n;

	example_record(&r, &client, &connected);
	for (i = 0; i < 5000; i++) {
		r.id = (uint64_t)i;
		r.up = (uint64_t)i * 3;
		acct_log_session(&f->log, &r, T_SEC, T_USEC);
		if (i == 2500) {
			/* batches went out on the way, whole lines only */
			mid = file_size(f->path);
			assert_true(mid > 0);
			s = slurp(f->path, &len);
			assert_int_equal(s[len - 1], '\n');
			free(s);
		}
	}
	acct_log_close(&f->log);
	assert_int_equal(f->log.lost, 0);

	s = slurp(f->path, &len);
	n = 0;
	for (p = s; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			fail_msg("line %d is incomplete", n);
		*nl = '\0';
		if (strncmp(p, prefix, strlen(prefix)) != 0)
			fail_msg("line %d: \"%s\"", n, p);
		snprintf(want, sizeof(want), " up=%d ", n * 3);
		if (strstr(p, want) == NULL)
			fail_msg("line %d: \"%s\" lacks \"%s\"", n, p, want);
		snprintf(want, sizeof(want), " end=done id=0.%d", n);
		if (strlen(p) < strlen(want) ||
		    strcmp(p + strlen(p) - strlen(want), want) != 0)
			fail_msg("line %d: \"%s\" does not end \"%s\"", n, p,
			    want);
		n++;
	}
	assert_int_equal(n, 5000);
	free(s);
}

/*
 * Point stderr at a new temporary file (path in tmpl); returns the saved
 * stderr for restore_stderr().
 */
static int
redirect_stderr(char *tmpl)
{
	int fd, saved;

	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	return saved;
}

static void
restore_stderr(int saved)
{
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
}

static void
test_log_stderr(void **state)
{
	struct acct_log l;
	struct acct_record r;
	union sockaddr_u client, connected;
	struct event_base *base;
	char path[] = "/tmp/sluice-acct-err-XXXXXX", err[64];
	char *s;
	int saved, open_after;

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	example_record(&r, &client, &connected);
	saved = redirect_stderr(path);
	assert_int_equal(acct_log_open(&l, "-", 0, base, err, sizeof(err)), 0);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	acct_log_close(&l);
	/* stderr is not the log's to close */
	open_after = fcntl(STDERR_FILENO, F_GETFD) != -1;
	restore_stderr(saved);
	assert_true(open_after);
	s = slurp(path, NULL);
	unlink(path);
	assert_string_equal(s, T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 up=123 down=4567 dur=12.345 end=done id=0.7\n");
	free(s);
	event_base_free(base);
}

/* A failed write drops the batch, counts it, and goes on. */
static void
test_log_write_error(void **state)
{
	struct acct_log l;
	struct acct_record r;
	union sockaddr_u client, connected;
	struct event_base *base;
	char path[] = "/tmp/sluice-acct-err-XXXXXX", err[64];
	char *s;
	size_t held;
	int saved;

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	base = event_base_new();
	assert_non_null(base);
	example_record(&r, &client, &connected);
	assert_int_equal(acct_log_open(&l, "/dev/full", 0, base, err,
	    sizeof(err)), 0);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	held = l.len;
	assert_true(held > 0);
	saved = redirect_stderr(path);
	acct_log_flush(&l);
	restore_stderr(saved);
	assert_int_equal(l.lost, held);
	assert_int_equal(l.len, 0);
	assert_int_equal(l.armed, 0);
	/* the warning says what was lost */
	s = slurp(path, NULL);
	unlink(path);
	assert_non_null(strstr(s, "/dev/full"));
	free(s);
	acct_log_close(&l);
	event_base_free(base);
}

static void
test_log_off(void **state)
{
	struct acct_log l;
	struct acct_record r;
	union sockaddr_u client, connected;
	struct event_base *base;
	char err[64];

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	assert_int_not_equal(access("off", F_OK), 0);
	err[0] = '\0';
	assert_int_equal(acct_log_open(&l, "off", 0, base, err, sizeof(err)), 0);
	assert_int_equal(l.fd, -1);
	example_record(&r, &client, &connected);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	assert_int_equal(l.len, 0);
	assert_int_equal(l.armed, 0);
	acct_log_flush(&l);
	acct_log_close(&l);
	/* "off" is no file name */
	assert_int_not_equal(access("off", F_OK), 0);
	assert_string_equal(err, "");

	assert_int_equal(acct_log_open(&l, "none", 0, base, err, sizeof(err)), 0);
	assert_int_equal(l.fd, -1);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	acct_log_close(&l);
	assert_int_not_equal(access("none", F_OK), 0);
	event_base_free(base);
}

static void
test_log_open_fails(void **state)
{
	struct acct_log l;
	struct event_base *base;
	char err[256];

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	err[0] = '\0';
	assert_int_equal(acct_log_open(&l, "/nonexistent-sluice-dir/a.log", 0,
	    base, err, sizeof(err)), -1);
	assert_int_equal(l.fd, -1);
	assert_non_null(strstr(err, "cannot open"));
	assert_non_null(strstr(err, "/nonexistent-sluice-dir/a.log"));
	acct_log_close(&l);
	event_base_free(base);
}

/* auth.remember_client: an address remembered after an HTTP login */
static void
test_remember_expiry(void **state)
{
	struct iptable t;
	struct auth_user alice = { .name = (char *)"alice" };
	struct auth_user bob = { .name = (char *)"bob" };
	union sockaddr_u a, b;
	int i;

	(void)state;
	assert_int_equal(acct_remember_init(&t), 0);
	assert_int_equal(netaddr_parse_hostport("127.0.0.7:5000", &a, -1), 0);
	assert_int_equal(netaddr_parse_hostport("[::1]:5000", &b, -1), 0);
	assert_null(acct_remember_find(&t, &a, 0));
	acct_remember_add(&t, &a, &alice, 1000, 31000);
	/* the port does not matter, the family does */
	netaddr_set_port(&a, 6000);
	assert_ptr_equal(acct_remember_find(&t, &a, 30999), &alice);
	assert_null(acct_remember_find(&t, &b, 30999));
	/* a later login replaces it */
	acct_remember_add(&t, &a, &bob, 2000, 32000);
	assert_ptr_equal(acct_remember_find(&t, &a, 31500), &bob);
	assert_int_equal(t.count, 1);
	/* expired: forgotten, and the entry is gone */
	assert_null(acct_remember_find(&t, &a, 32000));
	assert_int_equal(t.count, 0);
	/* stale entries are swept as logins come */
	for (i = 0; i < 1100; i++) {
		union sockaddr_u c;

		memset(&c, 0, sizeof(c));
		c.in.sin_family = AF_INET;
		c.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		acct_remember_add(&t, &c, &alice, 100000 + i, 100000 + i + 10);
	}
	assert_true(t.count < 1100);
	iptable_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clients_limit),
		cmocka_unit_test(test_clients_failed_acquire_not_counted),
		cmocka_unit_test(test_clients_v4_v6_distinct),
		cmocka_unit_test(test_clients_unlimited),
		cmocka_unit_test(test_remember_expiry),
		cmocka_unit_test(test_clients_release_unknown),
		cmocka_unit_test(test_clients_many),
		cmocka_unit_test(test_clients_free_with_entries),
		cmocka_unit_test_setup_teardown(test_log_line_format,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_user_quoting,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_ipv6,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_absent_fields,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_durations,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_longest_user,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_timer_flushes,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_appends,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_many_lines,
		    setup_log, teardown_log),
		cmocka_unit_test(test_log_stderr),
		cmocka_unit_test(test_log_write_error),
		cmocka_unit_test(test_log_off),
		cmocka_unit_test(test_log_open_fails),
	};

	return cmocka_run_group_tests_name("acct", tests, NULL, NULL);
}
