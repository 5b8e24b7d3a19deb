/*
 * threadrelay: a benchmark peer built the way 3proxy is, for the rows
 * where 3proxy would be the one to beat (it is not packaged in Debian 12).
 *
 * One thread per connection, blocking I/O for the handshake, then the
 * relay loop of 3proxy's sockmap() as it runs on Linux by default: both
 * sockets non-blocking, two pipes of 64 KiB (the default size), splice()
 * in and out until nothing moves, then poll() on what it waits for.  No
 * TCP_NODELAY, no buffer tuning.  It is a stand-in for that architecture
 * (about 300 lines, no logging, no ACLs), not 3proxy itself.
 *
 *   threadrelay -s SOCKS_PORT [-c CONNECT_PORT] [-u USER:PASS]
 *
 * SOCKS5 CONNECT (IPv4, IPv6, names resolved with getaddrinfo(), RFC 1929
 * when -u is given) and HTTP CONNECT, on 127.0.0.1.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TR_PIPE		65536		/* bytes a pipe holds at most */
#define TR_IDLE_MS	300000		/* a silent tunnel ends */
#define TR_HEAD_SEC	30		/* handshake reads and writes */

static const char *auth_user, *auth_pass;

static int
read_n(int fd, void *buf, size_t n)
{
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		r = read(fd, (char *)buf + off, n - off);
		if (r > 0)
			off += (size_t)r;
		else if (r == 0 || errno != EINTR)
			return -1;
	}
	return 0;
}

static int
write_n(int fd, const void *buf, size_t n)
{
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		r = send(fd, (const char *)buf + off, n - off, MSG_NOSIGNAL);
		if (r > 0)
			off += (size_t)r;
		else if (r == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

static int
write_str(int fd, const char *s)
{
	return write_n(fd, s, strlen(s));
}

/* A blocking connect to host:port (a name or an address), or -1. */
static int
dial(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* One pipe's direction: src -> pipe -> dst. */
struct way {
	int	src, dst;
	int	rfd, wfd;	/* the pipe */
	size_t	held;		/* bytes in the pipe */
	int	eof;		/* src said EOF */
	int	shut;		/* dst was shut for writing */
};

/*
 * Move what can move now, as sockmap() does: out of the pipe first, then
 * into it.  1 when something moved (or ended), 0 when nothing could,
 * -1 on an error.
 */
static int
way_step(struct way *w)
{
	ssize_t n;

	if (w->held > 0) {
		n = splice(w->rfd, NULL, w->dst, NULL, w->held,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			w->held -= (size_t)n;
			return 1;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	if (!w->eof && w->held < TR_PIPE) {
		n = splice(w->src, NULL, w->wfd, NULL, TR_PIPE - w->held,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			w->held += (size_t)n;
			return 1;
		}
		if (n == 0) {
			w->eof = 1;
			return 1;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
	if (w->eof && w->held == 0 && !w->shut) {
		(void)shutdown(w->dst, SHUT_WR);
		w->shut = 1;
		return 1;
	}
	return 0;
}

static void
relay(int c, int t)
{
	struct way w[2];
	struct pollfd p[2];
	int fds[4], i, moved, rc;

	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1)
		return;
	if (pipe2(fds + 2, O_NONBLOCK | O_CLOEXEC) == -1) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	memset(w, 0, sizeof(w));
	w[0].src = c;		/* up */
	w[0].dst = t;
	w[0].rfd = fds[0];
	w[0].wfd = fds[1];
	w[1].src = t;		/* down */
	w[1].dst = c;
	w[1].rfd = fds[2];
	w[1].wfd = fds[3];
	(void)fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
	(void)fcntl(t, F_SETFL, fcntl(t, F_GETFL) | O_NONBLOCK);
	while (!(w[0].shut && w[1].shut)) {
		moved = 0;
		for (i = 0; i < 2; i++) {
			if ((rc = way_step(&w[i])) == -1)
				goto out;
			moved |= rc;
		}
		if (moved)
			continue;
		/* wait for what each way waits on */
		p[0].fd = c;
		p[1].fd = t;
		p[0].events = p[1].events = 0;
		for (i = 0; i < 2; i++) {
			if (!w[i].eof && w[i].held < TR_PIPE)
				p[i].events |= POLLIN;		/* src */
			if (w[i].held > 0)
				p[!i].events |= POLLOUT;	/* dst */
		}
		rc = poll(p, 2, TR_IDLE_MS);
		if (rc == 0 || (rc == -1 && errno != EINTR))
			goto out;
	}
out:
	for (i = 0; i < 4; i++)
		close(fds[i]);
}

/* RFC 1928/1929 server side; the target's socket, or -1 (replied). */
static int
socks5(int c)
{
	unsigned char b[520], rep[10] = { 5, 0, 0, 1 };
	char host[256], port[8];
	unsigned char want = auth_user != NULL ? 2 : 0;
	int i, t;

	if (read_n(c, b, 2) == -1 || b[0] != 5 || read_n(c, b + 2, b[1]))
		return -1;
	for (i = 0; i < b[1] && b[2 + i] != want; i++)
		;
	if (i == b[1]) {
		(void)write_n(c, "\5\377", 2);
		return -1;
	}
	b[1] = want;
	if (write_n(c, b, 2) == -1)
		return -1;
	if (want == 2) {
		char u[256], pw[256];

		if (read_n(c, b, 2) == -1 || read_n(c, u, b[1]) == -1)
			return -1;
		u[b[1]] = '\0';
		if (read_n(c, b, 1) == -1 || read_n(c, pw, b[0]) == -1)
			return -1;
		pw[b[0]] = '\0';
		i = strcmp(u, auth_user) == 0 && strcmp(pw, auth_pass) == 0;
		if (write_n(c, i ? "\1\0" : "\1\1", 2) == -1 || !i)
			return -1;
	}
	if (read_n(c, b, 4) == -1 || b[0] != 5 || b[1] != 1)
		return -1;
	switch (b[3]) {
	case 1:
		if (read_n(c, b + 4, 6) == -1)
			return -1;
		inet_ntop(AF_INET, b + 4, host, sizeof(host));
		i = 8;
		break;
	case 3:
		if (read_n(c, b + 4, 1) == -1 || read_n(c, b + 5, b[4] + 2u))
			return -1;
		memcpy(host, b + 5, b[4]);
		host[b[4]] = '\0';
		i = 5 + b[4];
		break;
	case 4:
		if (read_n(c, b + 4, 18) == -1)
			return -1;
		inet_ntop(AF_INET6, b + 4, host, sizeof(host));
		i = 20;
		break;
	default:
		return -1;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)(b[i] << 8 | b[i + 1]));
	if ((t = dial(host, port)) == -1) {
		rep[1] = 5;
		(void)write_n(c, rep, sizeof(rep));
		return -1;
	}
	if (write_n(c, rep, sizeof(rep)) == -1) {
		close(t);
		return -1;
	}
	return t;
}

/* HTTP CONNECT host:port; the target's socket, or -1 (answered). */
static int
http_connect(int c)
{
	char b[4096], host[256], port[8];
	size_t n = 0;
	ssize_t r;
	int t;

	/* byte by byte up to the blank line: nothing of the tunnel is read */
	while (n < sizeof(b) - 1) {
		if ((r = read(c, b + n, 1)) <= 0)
			return -1;
		n++;
		if (n >= 4 && memcmp(b + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	b[n] = '\0';
	if (sscanf(b, "CONNECT %255[^: ]:%7[0-9] HTTP/1.", host, port) != 2) {
		(void)write_str(c, "HTTP/1.1 400 Bad Request\r\n\r\n");
		return -1;
	}
	if ((t = dial(host, port)) == -1) {
		(void)write_str(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n");
		return -1;
	}
	if (write_str(c, "HTTP/1.1 200 Connection established\r\n\r\n")) {
		close(t);
		return -1;
	}
	return t;
}

struct conn {
	int	fd;
	int	http;
};

static void *
serve(void *arg)
{
	struct conn *k = arg;
	struct timeval tv = { TR_HEAD_SEC, 0 };
	int c = k->fd, t;

	(void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t = k->http ? http_connect(c) : socks5(c);
	free(k);
	if (t != -1) {
		relay(c, t);
		close(t);
	}
	close(c);
	return NULL;
}

static int
listen_on(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1 || listen(fd, 4096) == -1) {
		perror("threadrelay: listen");
		exit(1);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	pthread_attr_t at;
	struct pollfd l[2];
	struct conn *k;
	pthread_t th;
	char *colon;
	int opt, nl = 0, i, fd, http[2];

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "s:c:u:")) != -1) {
		switch (opt) {
		case 's':
		case 'c':
			if (nl == 2)
				goto usage;
			l[nl].fd = listen_on(atoi(optarg));
			l[nl].events = POLLIN;
			http[nl++] = opt == 'c';
			break;
		case 'u':
			if ((colon = strchr(optarg, ':')) == NULL)
				goto usage;
			*colon = '\0';
			auth_user = optarg;
			auth_pass = colon + 1;
			break;
		default:
			goto usage;
		}
	}
	if (nl == 0 || optind != argc)
		goto usage;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 128 * 1024);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	for (;;) {
		if (poll(l, (nfds_t)nl, -1) == -1)
			continue;
		for (i = 0; i < nl; i++) {
			if (!(l[i].revents & POLLIN))
				continue;
			fd = accept4(l[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd == -1)
				continue;
			if ((k = malloc(sizeof(*k))) == NULL) {
				close(fd);
				continue;
			}
			k->fd = fd;
			k->http = http[i];
			if (pthread_create(&th, &at, serve, k) != 0) {
				free(k);
				close(fd);
			}
		}
	}
usage:
	fprintf(stderr, "usage: threadrelay -s SOCKS_PORT [-c CONNECT_PORT] "
	    "[-u USER:PASS]\n");
	return 2;
}
