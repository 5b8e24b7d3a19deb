/*
 * slload.c - sluice's own load generator, origin server and soak client.
 *
 * One file, libc and pthreads:  cc -std=c11 -O2 -o slload slload.c -lpthread
 *
 *   slload serve --http ADDR:PORT [--echo ADDR:PORT] [--sink ADDR:PORT]
 *                [--body 256] [--max-time S]     (each flag repeatable)
 *   slload wait ADDR:PORT [--timeout S]
 *   slload SCENARIO -t ORIGIN [-p PROXY] [-c N] [-d S] [-n N] [-j THREADS]
 *                [--user U --pass P] [--domain NAME] [--keepalive K]
 *                [--echo ADDR] [--sink ADDR] [--hold-s S]
 *                [--watch-pid PID] [--origin-pid PID] [--json] [--label L]
 *   slload soak -t ORIGIN --echo ADDR --sink ADDR --socks ADDR
 *                --http-proxy ADDR [--auto ADDR] [-c 200] [-d 60]
 *                [--abort-pct 10] [--max-size 4M] [--seed N] [--json]
 *   slload list                                  the scenarios
 *
 * Design.  One epoll loop per thread; every client connection is a small
 * state machine driven by a plan (how to reach the origin: direct, SOCKS5,
 * HTTP forward or HTTP CONNECT; what to do once there: GET, POST, raw
 * upload to the sink port, echo, or hold).  Every message is verified:
 * SOCKS5 replies, HTTP status and Content-Length, the exact byte count and
 * the body, which is compared byte for byte with the origin's pattern (or,
 * in the soak, whose 64-bit checksum is compared with the one the other end
 * computed).  Errors are counted by kind.  Latency is kept in a log-linear
 * histogram (32 steps per power of two, so a percentile is within 3%).
 *
 * The origin ("serve") is one epoll thread: GET / answers a fixed body
 * (256 bytes by default) and honours keep-alive; GET /bytes/N streams N
 * bytes of the pattern with sendfile(2), or with ?seed=S N bytes of a
 * seeded generator and their checksum in an X-Sum header; POST /sink reads
 * a body and answers its length and checksum.  The echo port echoes and
 * half-closes after the client does; the sink port reads a header line
 * ("SINK c ID" checksum, "SINK p ID" compare with the pattern), then
 * everything until EOF, and answers "SUNK bytes checksum bad".  A proxy
 * without half-close (microsocks) closes the tunnel on the client's EOF
 * and the answer is lost: the client then asks the sink port directly,
 * "STAT ID", for the same answer (bench only: the soak requires it).
 *
 * Every loop is bounded: -d, -n, per-operation timeouts (--timeout, 10 s),
 * and the origin's --max-time (2 h by default).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAT_PERIOD	32749		/* pattern period: a prime, so a lost
					   or repeated read never lines up */
#define CHUNK		(256 * 1024)	/* bulk read/write size */
#define PAT_LEN		(PAT_PERIOD + CHUNK)	/* pat[i] == pat[i % PERIOD] */
#define PAT_FILE_LEN	((off_t)PAT_PERIOD * 64)	/* memfd for sendfile */
#define RBUF		4096		/* client: head bytes per connection */
#define OBUF		2048		/* client: message bytes per connection */
#define SV_RBUF		8192		/* origin: request head bytes */
#define ENDLESS		((int64_t)1 << 50)	/* "endless" body length */
#define MAX_THREADS	16
#define HOLD_PING	16		/* bytes of a hold round trip */

/* ------------------------------------------------------------ utilities */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "slload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void
sleep_ms(double ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* "1.2.3.4:80" or "[::1]:80" -> sockaddr; 0 or -1 */
static int
addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon;
	size_t hl;
	long port;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (e == NULL || e[1] != ':')
			return -1;
		hl = (size_t)(e - s - 1);
		if (hl >= sizeof host)
			return -1;
		memcpy(host, s + 1, hl);
		colon = e + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - s);
		if (hl >= sizeof host)
			return -1;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof *a4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof *a6;
		return 0;
	}
	return -1;
}

/* "host:port" text for Host headers and URLs ("[::1]:80" for IPv6) */
static void
addr_text(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char h[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const void *)ss;

		inet_ntop(AF_INET6, &a6->sin6_addr, h, sizeof h);
		snprintf(out, outlen, "[%s]:%u", h, ntohs(a6->sin6_port));
	} else {
		const struct sockaddr_in *a4 = (const void *)ss;

		inet_ntop(AF_INET, &a4->sin_addr, h, sizeof h);
		snprintf(out, outlen, "%s:%u", h, ntohs(a4->sin_port));
	}
}

static unsigned
addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* "4M", "512k", "100" -> bytes */
static int64_t
size_parse(const char *s)
{
	char *e;
	double v = strtod(s, &e);

	switch (*e) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	default: break;
	}
	return (int64_t)v;
}

static void
nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ------------------------------------- pattern, generator and checksum */

/* splitmix64's finaliser: a good 64-bit mixer */
static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static unsigned char *pat;	/* PAT_LEN bytes, period PAT_PERIOD */
static int pat_fd = -1;		/* memfd: the pattern, PAT_FILE_LEN bytes */

static void
pat_init(void)
{
	int i;
	off_t done;

	pat = malloc(PAT_LEN);
	if (pat == NULL)
		die("out of memory");
	for (i = 0; i < PAT_PERIOD; i++)
		pat[i] = (unsigned char)(mix64((uint64_t)i + 0x51u) >> 24);
	for (i = PAT_PERIOD; i < PAT_LEN; i++)
		pat[i] = pat[i - PAT_PERIOD];
	pat_fd = memfd_create("slload-pattern", MFD_CLOEXEC);
	if (pat_fd == -1)
		die("memfd_create: %s", strerror(errno));
	for (done = 0; done < PAT_FILE_LEN; done += PAT_PERIOD)
		if (write(pat_fd, pat, PAT_PERIOD) != PAT_PERIOD)
			die("pattern write: %s", strerror(errno));
}

/* does buf equal the pattern from stream offset off?  len <= CHUNK */
static inline int
pat_ok(const unsigned char *buf, size_t len, uint64_t off)
{
	return memcmp(buf, pat + off % PAT_PERIOD, len) == 0;
}

/*
 * The soak's content: byte i of stream "seed" is byte i%8 of
 * mix64(seed + i/8 * golden).  Random-access, so a partial write is
 * regenerated from its offset, and two streams never look alike.
 */
static void
gen_fill(uint64_t seed, uint64_t off, unsigned char *buf, size_t len)
{
	while (len > 0) {
		uint64_t v = mix64(seed + (off >> 3) * 0x9e3779b97f4a7c15ull);
		unsigned sh = (unsigned)(off & 7);
		size_t n = 8 - sh;

		if (n > len)
			n = len;
		memcpy(buf, (unsigned char *)&v + sh, n);
		buf += n;
		off += n;
		len -= n;
	}
}

/* position-dependent 64-bit checksum over a byte stream, any split */
struct ck64 {
	uint64_t h;
	uint64_t n;			/* bytes seen */
	unsigned char tail[8];		/* bytes of an unfinished word */
	unsigned nt;
};

#define CK_MUL 0x9fb21c651e98df25ull

static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static void
ck_init(struct ck64 *k)
{
	memset(k, 0, sizeof *k);
	k->h = 0x6a09e667f3bcc908ull;
}

static void
ck_update(struct ck64 *k, const unsigned char *p, size_t len)
{
	uint64_t w, h;

	k->n += len;
	if (k->nt > 0) {
		while (k->nt < 8 && len > 0) {
			k->tail[k->nt++] = *p++;
			len--;
		}
		if (k->nt < 8)
			return;
		memcpy(&w, k->tail, 8);
		k->h = (rotl64(k->h, 23) ^ w) * CK_MUL;
		k->nt = 0;
	}
	h = k->h;
	while (len >= 8) {
		memcpy(&w, p, 8);
		h = (rotl64(h, 23) ^ w) * CK_MUL;
		p += 8;
		len -= 8;
	}
	k->h = h;
	memcpy(k->tail, p, len);
	k->nt = (unsigned)len;
}

static uint64_t
ck_final(const struct ck64 *k)
{
	uint64_t w = 0, h = k->h;

	memcpy(&w, k->tail, k->nt);
	h = (rotl64(h, 23) ^ w) * CK_MUL;
	return mix64(h ^ k->n);
}

/* the checksum of bytes [0, len) of stream seed */
static uint64_t
gen_sum(uint64_t seed, uint64_t len, unsigned char *scratch, size_t slen)
{
	struct ck64 k;
	uint64_t off = 0;

	ck_init(&k);
	while (off < len) {
		size_t n = len - off < slen ? (size_t)(len - off) : slen;

		gen_fill(seed, off, scratch, n);
		ck_update(&k, scratch, n);
		off += n;
	}
	return ck_final(&k);
}

/* xoshiro128+-like per-thread random numbers (splitmix64 stepping) */
static inline uint64_t
rng_next(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ull;
	return mix64(*s);
}

static inline double
rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static inline uint64_t
rng_below(uint64_t *s, uint64_t n)
{
	return n == 0 ? 0 : rng_next(s) % n;
}

/* --------------------------------------------------------- histogram */

/*
 * Log-linear: values below 64 ns exact, then 32 steps per power of two
 * (3% resolution).  A histogram is 15 KiB and merging is an addition.
 */
#define HIST_SUB	32
#define HIST_N		(60 * HIST_SUB)

struct hist {
	uint64_t b[HIST_N];
	uint64_t n;
	uint64_t max;
	double sum;
};

static inline int
hist_idx(uint64_t v)
{
	int e;

	if (v < 2 * HIST_SUB)
		return (int)v;
	e = 63 - __builtin_clzll(v);
	return (e - 4) * HIST_SUB + (int)((v >> (e - 5)) - HIST_SUB);
}

static uint64_t
hist_val(int i)
{
	int e;
	uint64_t sub;

	if (i < 2 * HIST_SUB)
		return (uint64_t)i;
	e = i / HIST_SUB + 4;
	sub = (uint64_t)(i % HIST_SUB);
	/* the middle of the bucket */
	return ((sub + HIST_SUB) << (e - 5)) + ((1ull << (e - 5)) >> 1);
}

static void
hist_add(struct hist *h, uint64_t v)
{
	int i = hist_idx(v);

	if (i >= HIST_N)
		i = HIST_N - 1;
	h->b[i]++;
	h->n++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
}

static void
hist_merge(struct hist *to, const struct hist *from)
{
	int i;

	for (i = 0; i < HIST_N; i++)
		to->b[i] += from->b[i];
	to->n += from->n;
	to->sum += from->sum;
	if (from->max > to->max)
		to->max = from->max;
}

static uint64_t
hist_pct(const struct hist *h, double q)
{
	uint64_t want, seen = 0;
	int i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)h->n);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = hist_val(i);

			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* ------------------------------------------------- /proc measurements */

struct psample {
	long rss_kb;		/* VmRSS summed over the process tree */
	long pss_kb;		/* Pss from smaps_rollup, summed */
	double cpu_s;		/* utime + stime of the tree */
	int nproc;
};

/* ppid of pid, from /proc/pid/stat; -1 when gone */
static long
proc_ppid(long pid, double *cpu_s)
{
	char path[64], buf[1024], *p;
	FILE *f;
	long ppid = -1, cut = 0, cst = 0;
	unsigned long ut = 0, st = 0;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof buf, f) != NULL && (p = strrchr(buf, ')'))) {
		/* state ppid pgrp session tty tpgid flags minflt cminflt
		   majflt cmajflt utime stime cutime cstime: a forking
		   proxy's reaped children count in their parent's c*time */
		if (sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%lu %lu %ld %ld", &ppid, &ut, &st, &cut, &cst) != 5)
			ppid = -1;
	}
	fclose(f);
	if (cpu_s != NULL)
		*cpu_s = (double)(ut + st + (unsigned long)cut +
		    (unsigned long)cst) / (double)sysconf(_SC_CLK_TCK);
	return ppid;
}

static long
proc_status_kb(long pid, const char *file, const char *key)
{
	char path[64], line[256];
	FILE *f;
	long v = 0;
	size_t kl = strlen(key);

	snprintf(path, sizeof path, "/proc/%ld/%s", pid, file);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, kl) == 0) {
			v = strtol(line + kl, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* sample pid and its descendants (danted and squid fork helpers) */
static struct psample
proc_sample(long root, int want_pss)
{
	struct psample s = {0, 0, 0, 0};
	long pids[4096], par[4096];
	int n = 0, i, changed;
	char in[4096];
	DIR *d;
	struct dirent *de;

	if (root <= 0)
		return s;
	d = opendir("/proc");
	if (d == NULL)
		return s;
	while ((de = readdir(d)) != NULL && n < 4096) {
		long pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		pids[n] = pid;
		par[n] = proc_ppid(pid, NULL);
		n++;
	}
	closedir(d);
	memset(in, 0, sizeof in);
	for (i = 0; i < n; i++)
		if (pids[i] == root)
			in[i] = 1;
	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			int j;

			if (in[i])
				continue;
			for (j = 0; j < n; j++)
				if (in[j] && pids[j] == par[i]) {
					in[i] = 1;
					changed = 1;
					break;
				}
		}
	} while (changed);
	for (i = 0; i < n; i++) {
		double c = 0;

		if (!in[i])
			continue;
		if (proc_ppid(pids[i], &c) == -1)
			continue;
		s.cpu_s += c;
		s.rss_kb += proc_status_kb(pids[i], "status", "VmRSS:");
		if (want_pss)
			s.pss_kb += proc_status_kb(pids[i], "smaps_rollup",
			    "Pss:");
		s.nproc++;
	}
	return s;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ============================================================ origin */

enum sv_kind {
	SK_LISTEN_HTTP = 0,
	SK_LISTEN_ECHO,
	SK_LISTEN_SINK,
	SK_HTTP,
	SK_ECHO,
	SK_SINK,
};

enum sv_state {
	SS_HEAD = 0,		/* reading a request head or the sink line */
	SS_BODY_IN,		/* reading a POST body or the sink's data */
	SS_REPLY,		/* writing obuf, then out_left body bytes */
	SS_ECHO,		/* echoing */
};

struct sconn {
	enum sv_kind kind;	/* first member: listeners share it */
	int fd;
	enum sv_state state;
	char *rbuf;		/* request head bytes, SV_RBUF */
	int rlen;
	char *obuf;		/* pending output: head, small body, echo */
	size_t olen, ooff, ocap;
	int64_t out_left;	/* body bytes to send after obuf */
	uint64_t out_off;	/* their stream offset */
	uint64_t out_seed;	/* 0: the pattern by sendfile; else gen */
	int close_after;	/* close once the reply is written */
	int64_t in_left;	/* body bytes to read; -1: until EOF (sink) */
	int in_pattern;		/* sink: compare with the pattern */
	uint64_t in_off;	/* sink: pattern offset of the first byte */
	uint64_t in_got;	/* body bytes read */
	uint64_t in_bad;	/* first wrong offset + 1, or 0 */
	struct ck64 in_ck;
	int eof;		/* the client shut its side */
	int sink_slot;		/* sink: its entry in SV.sinks, or -1 */
};

/* the last sink streams, for "STAT ID" */
#define SV_SINKS 64
struct sv_sink {
	uint64_t id;		/* 0: free */
	int done;		/* the stream ended: got/sum/bad are final */
	uint64_t got, sum, bad;
};

static struct {
	int epfd;
	int body;		/* bytes of GET / */
	unsigned char *scratch;	/* CHUNK */
	uint64_t accepted, requests, errors, live;
	struct sv_sink sinks[SV_SINKS];
	unsigned next_sink;
} SV;

static void
sv_close(struct sconn *c)
{
	if (c->kind == SK_SINK && c->sink_slot >= 0) {
		struct sv_sink *k = &SV.sinks[c->sink_slot];

		k->got = c->in_got;
		k->sum = ck_final(&c->in_ck);
		k->bad = c->in_bad;
		k->done = 1;
	}
	close(c->fd);
	free(c->rbuf);
	free(c->obuf);
	free(c);
	SV.live--;
}

static void
sv_out(struct sconn *c, const void *p, size_t n)
{
	if (c->olen + n > c->ocap) {
		size_t cap = c->ocap ? c->ocap : 1024;
		char *nb;

		while (cap < c->olen + n)
			cap *= 2;
		nb = realloc(c->obuf, cap);
		if (nb == NULL)
			die("out of memory");
		c->obuf = nb;
		c->ocap = cap;
	}
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
}

/* write obuf then the body; 1 all written, 0 EAGAIN, -1 dead */
static int
sv_write(struct sconn *c)
{
	while (c->ooff < c->olen) {
		ssize_t n = send(c->fd, c->obuf + c->ooff, c->olen - c->ooff,
		    MSG_NOSIGNAL | (c->out_left > 0 ? MSG_MORE : 0));

		if (n == -1) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->ooff += (size_t)n;
	}
	c->olen = c->ooff = 0;
	while (c->out_left > 0) {
		ssize_t n;

		if (c->out_seed == 0) {
			off_t fo = (off_t)(c->out_off % PAT_PERIOD);
			size_t want = (size_t)(PAT_FILE_LEN - fo);

			if ((int64_t)want > c->out_left)
				want = (size_t)c->out_left;
			n = sendfile(c->fd, pat_fd, &fo, want);
		} else {
			size_t want = c->out_left < CHUNK ?
			    (size_t)c->out_left : CHUNK;

			gen_fill(c->out_seed, c->out_off, SV.scratch, want);
			n = send(c->fd, SV.scratch, want, MSG_NOSIGNAL);
		}
		if (n == -1) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->out_off += (uint64_t)n;
		c->out_left -= n;
	}
	return 1;
}

/* value of header "name" in head [p, end), or NULL; *len set */
static const char *
head_field(const char *p, const char *end, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' &&
		    strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1, *e = eol;

			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' '))
				e--;
			*len = (size_t)(e - v);
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

static int
field_has(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok), i;

	for (i = 0; v != NULL && i + tl <= len; i++)
		if (strncasecmp(v + i, tok, tl) == 0)
			return 1;
	return 0;
}

static void
sv_reply_head(struct sconn *c, int status, int64_t clen, const char *extra)
{
	char h[512];
	int n;

	n = snprintf(h, sizeof h, "HTTP/1.1 %d %s\r\nContent-Length: %" PRId64
	    "\r\n%s%s\r\n", status, status == 200 ? "OK" :
	    status == 404 ? "Not Found" : "Bad Request", clen,
	    c->close_after ? "Connection: close\r\n" : "", extra ? extra : "");
	sv_out(c, h, (size_t)n);
	c->state = SS_REPLY;
}

static int sv_body(struct sconn *, const unsigned char *, size_t);

/* a complete head is in rbuf: parse it, route it; 0 or -1 (close) */
static int
sv_http_head(struct sconn *c, int hlen)
{
	char *sp1, *sp2, *eol;
	const char *target;
	const char *v, *hend = c->rbuf + hlen;
	size_t vl;
	int http10, post;
	int64_t clen = 0;

	SV.requests++;
	eol = memchr(c->rbuf, '\n', (size_t)hlen);
	sp1 = memchr(c->rbuf, ' ', (size_t)(eol - c->rbuf));
	if (sp1 == NULL)
		return -1;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL)
		return -1;
	*sp2 = '\0';
	target = sp1 + 1;
	http10 = strncmp(sp2 + 1, "HTTP/1.0", 8) == 0;
	post = sp1 - c->rbuf == 4 && strncmp(c->rbuf, "POST", 4) == 0;
	if (strncmp(target, "http://", 7) == 0) {	/* absolute-form */
		target = strchr(target + 7, '/');
		if (target == NULL)
			target = "/";
	}
	v = head_field(eol + 1, hend, "Connection", &vl);
	c->close_after = http10 ? !field_has(v, vl, "keep-alive") :
	    field_has(v, vl, "close");
	v = head_field(eol + 1, hend, "Transfer-Encoding", &vl);
	if (v != NULL)
		return -1;	/* never sent by slload */
	v = head_field(eol + 1, hend, "Content-Length", &vl);
	if (v != NULL)
		clen = strtoll(v, NULL, 10);
	if (clen < 0)
		return -1;
	if (post && strcmp(target, "/sink") == 0) {
		c->state = SS_BODY_IN;
		c->in_left = clen;
		c->in_pattern = 0;
		c->in_got = c->in_bad = 0;
		ck_init(&c->in_ck);
		if (clen == 0)
			sv_body(c, NULL, 0);
		return 0;
	}
	if (clen != 0)
		return -1;	/* a GET with a body: not ours */
	if (strcmp(target, "/") == 0) {
		sv_reply_head(c, 200, SV.body, NULL);
		if (SV.body <= 4096) {
			sv_out(c, pat, (size_t)SV.body);
		} else {
			c->out_left = SV.body;
			c->out_off = 0;
			c->out_seed = 0;
		}
		return 0;
	}
	if (strncmp(target, "/bytes/", 7) == 0) {
		char *q;
		int64_t n = strtoll(target + 7, &q, 10);
		uint64_t seed = 0;
		char extra[64];

		if (n < 0)
			return -1;
		if (strncmp(q, "?seed=", 6) == 0)
			seed = strtoull(q + 6, NULL, 16);
		extra[0] = '\0';
		if (seed != 0)
			snprintf(extra, sizeof extra, "X-Sum: %016" PRIx64 "\r\n",
			    gen_sum(seed, (uint64_t)n, SV.scratch, CHUNK));
		sv_reply_head(c, 200, n, extra);
		c->out_left = n;
		c->out_off = 0;
		c->out_seed = seed;
		return 0;
	}
	sv_reply_head(c, 404, 0, NULL);
	return 0;
}

static void sv_out(struct sconn *, const void *, size_t);

/* "STAT ID": the sink stream ID's verdict, PENDING or UNKNOWN */
static void
sv_sink_stat(struct sconn *c, uint64_t id)
{
	char b[96];
	int i, l = snprintf(b, sizeof b, "UNKNOWN\n");

	for (i = 0; i < SV_SINKS; i++) {
		struct sv_sink *k = &SV.sinks[i];

		if (id == 0 || k->id != id)
			continue;
		if (k->done)
			l = snprintf(b, sizeof b, "SUNK %" PRIu64 " %016" PRIx64
			    " %" PRIu64 "\n", k->got, k->sum, k->bad);
		else
			l = snprintf(b, sizeof b, "PENDING\n");
	}
	sv_out(c, b, (size_t)l);
	c->close_after = 1;
	c->state = SS_REPLY;
}

/* sink's header line, "SINK c|p ID", or "STAT ID"; 0 or -1 */
static int
sv_sink_head(struct sconn *c, int llen)
{
	uint64_t id;

	c->rbuf[llen - 1] = '\0';
	if (strncmp(c->rbuf, "STAT ", 5) == 0) {
		sv_sink_stat(c, strtoull(c->rbuf + 5, NULL, 10));
		return 0;
	}
	if (strncmp(c->rbuf, "SINK ", 5) != 0 || llen < 8)
		return -1;
	c->in_pattern = c->rbuf[5] == 'p';
	c->in_off = 0;
	id = strtoull(c->rbuf + 7, NULL, 10);
	if (id != 0) {
		c->sink_slot = (int)(SV.next_sink++ % SV_SINKS);
		SV.sinks[c->sink_slot].id = id;
		SV.sinks[c->sink_slot].done = 0;
	}
	c->in_left = -1;
	c->in_got = c->in_bad = 0;
	ck_init(&c->in_ck);
	c->state = SS_BODY_IN;
	return 0;
}

/* body bytes in [p, p+n): account them; 1 if the body is complete */
static int
sv_body(struct sconn *c, const unsigned char *p, size_t n)
{
	if (c->in_left >= 0 && (int64_t)n > c->in_left)
		n = (size_t)c->in_left;	/* the rest is the next request */
	if (c->in_pattern) {
		size_t i;

		/* compare in CHUNK pieces against the pattern */
		for (i = 0; i < n && c->in_bad == 0; i += CHUNK) {
			size_t m = n - i < CHUNK ? n - i : CHUNK;

			if (!pat_ok(p + i, m, c->in_off + c->in_got + i))
				c->in_bad = c->in_got + i + 1;
		}
	} else {
		ck_update(&c->in_ck, p, n);
	}
	c->in_got += n;
	if (c->in_left >= 0) {
		c->in_left -= (int64_t)n;
		if (c->in_left == 0) {
			char b[64];
			int l = snprintf(b, sizeof b, "%" PRIu64 " %016" PRIx64
			    "\n", c->in_got, ck_final(&c->in_ck));

			sv_reply_head(c, 200, l, NULL);
			sv_out(c, b, (size_t)l);
			return 1;
		}
	}
	return 0;
}

static void
sv_sink_verdict(struct sconn *c)
{
	char b[96];
	int l = snprintf(b, sizeof b, "SUNK %" PRIu64 " %016" PRIx64 " %"
	    PRIu64 "\n", c->in_got, ck_final(&c->in_ck), c->in_bad);

	sv_out(c, b, (size_t)l);
	c->close_after = 1;
	c->state = SS_REPLY;
}

/*
 * Parse what rbuf holds according to the state.  Returns 0 to go on
 * reading, -1 when the connection was closed.
 */
static int
sv_parse(struct sconn *c)
{
	while (c->rlen > 0) {
		if (c->state == SS_BODY_IN) {
			size_t n = (size_t)c->rlen;

			if (c->in_left >= 0 && (int64_t)n > c->in_left)
				n = (size_t)c->in_left;
			sv_body(c, (unsigned char *)c->rbuf, n);
			memmove(c->rbuf, c->rbuf + n, (size_t)c->rlen - n);
			c->rlen -= (int)n;
			if (c->state == SS_BODY_IN)
				return 0;
			continue;
		}
		if (c->state != SS_HEAD)
			return 0;	/* pipelined bytes wait for the reply */
		if (c->kind == SK_SINK) {
			char *nl = memchr(c->rbuf, '\n', (size_t)c->rlen);
			int l;

			if (nl == NULL) {
				if (c->rlen > 64)
					goto fail;
				return 0;
			}
			l = (int)(nl - c->rbuf) + 1;
			if (sv_sink_head(c, l) == -1)
				goto fail;
			memmove(c->rbuf, c->rbuf + l, (size_t)(c->rlen - l));
			c->rlen -= l;
		} else {
			char *e = memmem(c->rbuf, (size_t)c->rlen, "\r\n\r\n", 4);
			int hl;

			if (e == NULL) {
				if (c->rlen >= SV_RBUF)
					goto fail;
				return 0;
			}
			hl = (int)(e - c->rbuf) + 4;
			if (sv_http_head(c, hl) == -1)
				goto fail;
			memmove(c->rbuf, c->rbuf + hl, (size_t)(c->rlen - hl));
			c->rlen -= hl;
		}
	}
	return 0;
fail:
	SV.errors++;
	sv_close(c);
	return -1;
}

/* make all the progress possible; edge-triggered, so until EAGAIN */
static void
sv_run(struct sconn *c)
{
	for (;;) {
		ssize_t n;

		if (c->state == SS_REPLY) {
			int r = sv_write(c);

			if (r == -1) {
				sv_close(c);
				return;
			}
			if (r == 0)
				return;
			if (c->close_after) {
				sv_close(c);
				return;
			}
			c->state = SS_HEAD;
			if (sv_parse(c) == -1)
				return;
			if (c->state == SS_REPLY)
				continue;
		}
		if (c->state == SS_ECHO && c->ooff < c->olen) {
			int r = sv_write(c);

			if (r == -1) {
				sv_close(c);
				return;
			}
			if (r == 0)
				return;
		}
		if (c->eof) {
			/* echo: everything echoed, pass the half-close on */
			if (c->state == SS_ECHO)
				shutdown(c->fd, SHUT_WR);
			sv_close(c);
			return;
		}
		if (c->state == SS_ECHO || c->state == SS_BODY_IN) {
			/* bulk reads go to the scratch buffer */
			size_t room = c->state == SS_ECHO ? 65536 : CHUNK;

			if (c->state == SS_BODY_IN && c->in_left >= 0 &&
			    (int64_t)room > c->in_left)
				room = (size_t)c->in_left;
			if (room == 0)
				room = 1;
			n = recv(c->fd, SV.scratch, room, 0);
			if (n > 0) {
				if (c->state == SS_ECHO) {
					ssize_t w = send(c->fd, SV.scratch,
					    (size_t)n, MSG_NOSIGNAL);

					if (w == -1 && errno != EAGAIN) {
						sv_close(c);
						return;
					}
					if (w < n)
						sv_out(c, SV.scratch +
						    (w > 0 ? w : 0),
						    (size_t)(n - (w > 0 ? w : 0)));
				} else {
					sv_body(c, SV.scratch, (size_t)n);
				}
				continue;
			}
		} else {
			if (c->rbuf == NULL && (c->rbuf = malloc(SV_RBUF)) ==
			    NULL)
				die("out of memory");
			if (c->rlen >= SV_RBUF) {
				SV.errors++;
				sv_close(c);
				return;
			}
			n = recv(c->fd, c->rbuf + c->rlen,
			    (size_t)(SV_RBUF - c->rlen), 0);
			if (n > 0) {
				c->rlen += (int)n;
				if (sv_parse(c) == -1)
					return;
				continue;
			}
		}
		if (n == 0) {
			c->eof = 1;
			if (c->kind == SK_SINK && c->state == SS_BODY_IN) {
				sv_sink_verdict(c);
				c->eof = 0;	/* closes after the verdict */
				continue;
			}
			if (c->state == SS_ECHO)
				continue;	/* flush, then close */
			sv_close(c);
			return;
		}
		if (errno == EAGAIN)
			return;
		if (errno == EINTR)
			continue;
		sv_close(c);
		return;
	}
}

static void
sv_accept(struct sconn *l)
{
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		struct sconn *c;
		struct epoll_event ev;

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;	/* EAGAIN, EMFILE: try at the next event */
		}
		c = calloc(1, sizeof *c);
		if (c == NULL)
			die("out of memory");
		c->fd = fd;
		c->sink_slot = -1;
		SV.accepted++;
		SV.live++;
		switch (l->kind) {
		case SK_LISTEN_ECHO: {
			int one = 1;

			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof one);
			c->kind = SK_ECHO;
			c->state = SS_ECHO;
			break;
		}
		case SK_LISTEN_SINK:
			c->kind = SK_SINK;
			break;
		default:
			c->kind = SK_HTTP;
			break;
		}
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.ptr = c;
		if (epoll_ctl(SV.epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			sv_close(c);
			continue;
		}
		/* TCP_DEFER_ACCEPT: the request is usually there already */
		sv_run(c);
	}
}

static void
sv_listen(const char *spec, enum sv_kind kind)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct sconn *l;
	struct epoll_event ev;
	int one = 1, defer = 5;

	if (addr_parse(spec, &ss, &sl) == -1)
		die("bad address: %s", spec);
	l = calloc(1, sizeof *l);
	if (l == NULL)
		die("out of memory");
	l->kind = kind;
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (l->fd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (kind == SK_LISTEN_HTTP)
		setsockopt(l->fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer,
		    sizeof defer);
	if (bind(l->fd, (struct sockaddr *)&ss, sl) == -1)
		die("bind %s: %s", spec, strerror(errno));
	if (listen(l->fd, 4096) == -1)
		die("listen %s: %s", spec, strerror(errno));
	ev.events = EPOLLIN;
	ev.data.ptr = l;
	if (epoll_ctl(SV.epfd, EPOLL_CTL_ADD, l->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

static volatile sig_atomic_t sv_stop;

static void
sv_stop_cb(int sig)
{
	(void)sig;
	sv_stop = 1;
}

/* the origin: runs until SIGTERM/SIGINT or max_time seconds */
static int
serve_main(char **http, int nh, char **echo, int ne, char **sink, int ns,
    int body, double max_time)
{
	struct epoll_event evs[256];
	uint64_t t_end = now_ns() + (uint64_t)(max_time * 1e9);
	int i;

	SV.epfd = epoll_create1(EPOLL_CLOEXEC);
	SV.body = body;
	SV.scratch = malloc(CHUNK);
	if (SV.epfd == -1 || SV.scratch == NULL)
		die("epoll/malloc: %s", strerror(errno));
	for (i = 0; i < nh; i++)
		sv_listen(http[i], SK_LISTEN_HTTP);
	for (i = 0; i < ne; i++)
		sv_listen(echo[i], SK_LISTEN_ECHO);
	for (i = 0; i < ns; i++)
		sv_listen(sink[i], SK_LISTEN_SINK);
	signal(SIGTERM, sv_stop_cb);
	signal(SIGINT, sv_stop_cb);
	fprintf(stderr, "slload serve: ready\n");
	while (!sv_stop && now_ns() < t_end) {
		int n = epoll_wait(SV.epfd, evs, 256, 1000);

		for (i = 0; i < n; i++) {
			struct sconn *c = evs[i].data.ptr;

			if (c->kind <= SK_LISTEN_SINK)
				sv_accept(c);
			else
				sv_run(c);
		}
	}
	fprintf(stderr, "slload serve: accepted=%" PRIu64 " requests=%" PRIu64
	    " errors=%" PRIu64 " live=%" PRIu64 "\n", SV.accepted, SV.requests,
	    SV.errors, SV.live);
	return 0;
}

/* ============================================================ client */

enum via {
	VIA_DIRECT = 0,
	VIA_SOCKS5,
	VIA_HTTP,		/* forward proxy, absolute-form requests */
	VIA_CONNECT,		/* HTTP CONNECT tunnel */
};

enum work {
	W_GET = 0,		/* GET / or /bytes/N, nreq per connection */
	W_POST,			/* POST /sink (through the forward proxy) */
	W_SINK,			/* raw upload to the sink port */
	W_ECHO,			/* size bytes to the echo port and back */
	W_HOLD,			/* hold: 16-byte round trips on demand */
};

enum abort_phase {
	AB_NONE = 0,
	AB_HANDSHAKE,		/* inside the proxy handshake */
	AB_REQUEST,		/* inside a request head */
	AB_TRANSFER,		/* inside a body, either way */
	AB_N,
};

static const char *abort_names[AB_N] = {
	"none", "handshake", "request", "transfer",
};

enum err {
	E_REFUSED = 0,
	E_CONNECT,
	E_ADDRNOTAVAIL,
	E_RESET,
	E_TIMEOUT,
	E_EOF,			/* closed before the exchange was complete */
	E_S5_PROTO,
	E_S5_METHOD,
	E_S5_AUTH,
	E_S5_REP,		/* E_S5_REP + REP code, 1..8 */
	E_HC_STATUS = E_S5_REP + 9,
	E_HTTP_STATUS,
	E_BAD_HEAD,
	E_LENGTH,		/* Content-Length other than expected */
	E_BAD_BODY,		/* body differs from the pattern */
	E_EXCESS,		/* bytes beyond the end of a message */
	E_CHECKSUM,
	E_SINK,			/* sink verdict: wrong count or bad data */
	E_ECHO,
	E_IO,
	E_N,
};

static const char *err_names[E_N] = {
	"refused", "connect", "addr_not_avail", "reset", "timeout",
	"early_eof", "socks_proto", "socks_method", "socks_auth",
	"socks_rep_0", "socks_rep_1", "socks_rep_2", "socks_rep_3",
	"socks_rep_4", "socks_rep_5", "socks_rep_6", "socks_rep_7",
	"socks_rep_8", "connect_status", "http_status", "bad_head",
	"length_mismatch", "bad_body", "excess_data", "checksum",
	"sink_mismatch", "echo_mismatch", "io",
};

/* soak: what a session does; index into the per-kind counters */
enum kind {
	K_S5_DOWN = 0,
	K_S5_UP,
	K_S5_ECHO,
	K_HTTP_GET,
	K_HTTP_POST,
	K_HC_DOWN,
	K_HC_UP,
	K_HC_ECHO,
	K_N,
};

static const char *kind_names[K_N] = {
	"s5_down", "s5_up", "s5_echo", "http_get", "http_post", "hc_down",
	"hc_up", "hc_echo",
};

struct plan {
	enum via via;
	enum work work;
	const struct sockaddr_storage *to;	/* what to connect to */
	socklen_t tolen;
	int domain;		/* SOCKS5 ATYP domain (O.domain) */
	int auth;		/* RFC 1929 */
	int target;		/* 0 HTTP origin, 1 echo, 2 sink */
	int nreq;		/* requests on the connection (GET/POST) */
	int last_close;		/* last request says Connection: close */
	int64_t size;		/* body bytes; ENDLESS for bulk */
	uint64_t seed;		/* content: 0 the pattern, else gen */
	int path_root;		/* GET / (bench) instead of /bytes/N */
	enum abort_phase abort;
	int64_t abort_at;	/* byte of the phase where it stops */
	int abort_rst;		/* SO_LINGER 0: RST instead of FIN */
	int abort_delay_ms;	/* pause at the abort point */
	int kind;		/* soak: enum kind */
	int listener;		/* soak: 0 dedicated, 1 auto */
};

enum cstate {
	CS_FREE = 0,
	CS_CONNECTING,
	CS_S5_METHOD,		/* greeting sent, waiting for the method */
	CS_S5_AUTH,		/* RFC 1929 request sent */
	CS_S5_REPLY,		/* CONNECT request sent */
	CS_HC_REPLY,		/* HTTP CONNECT sent, waiting for its head */
	CS_RESP_HEAD,		/* request sent, waiting for the head */
	CS_RESP_BODY,
	CS_CLOSE_WAIT,		/* response done, waiting for the close */
	CS_SINK,		/* uploading, then the sink's verdict */
	CS_ECHO,		/* sending and reading back */
	CS_HOLD_PING,		/* hold: ping sent, waiting for its echo */
	CS_HOLD_IDLE,
	CS_ABORT_WAIT,		/* at the abort point, closing at wake */
};

struct conn {
	int fd;
	enum cstate state;
	struct plan p;
	uint64_t t_start;	/* connect() called */
	uint64_t t_req;		/* current request sent */
	uint64_t deadline;	/* no progress until then: timeout */
	uint64_t wake;		/* CS_ABORT_WAIT: when to close */
	int first_byte;		/* first response byte of this request seen */
	int req_done;		/* responses complete */
	int srv_close;		/* the response said Connection: close */
	int counted;		/* bench: the session's ok already counted */
	unsigned char rbuf[RBUF];
	int rlen;
	char obuf[OBUF];
	int olen, ooff;
	int64_t tx_left;	/* body bytes still to send */
	uint64_t tx_off;	/* body bytes sent */
	int64_t rx_need;	/* body bytes expected (-1: a verdict) */
	uint64_t rx_off;	/* body bytes received */
	int verdict;		/* the body is a POST /sink verdict */
	uint64_t x_sum;		/* X-Sum of the response */
	int have_sum;
	struct ck64 ck_tx, ck_rx;
	int64_t ph_sent;	/* bytes of the current abort phase sent */
	int abort_now;		/* cut reached: abort once obuf is out */
	int hs_done;		/* handshake finished (hold: opening) */
	int tx_shut;		/* the upload's end was signalled */
	uint64_t sink_id;	/* names the upload for "STAT ID" */
	int final_sent;		/* hold: the final ping went out */
};

struct kstat {
	uint64_t started, ok, aborted, failed, failed_aborter;
	uint64_t cancelled;
	uint64_t listener[2];	/* dedicated, auto */
};

struct worker {
	int id;
	pthread_t th;
	int epfd;
	struct conn *c;
	int n;			/* connection slots */
	int active;
	int opening;		/* hold: in handshake */
	int opened;		/* hold: sessions started */
	unsigned char *big;	/* CHUNK receive/generate buffer */
	uint64_t rng;
	struct hist lat;	/* bench: time to first byte */
	uint64_t ok, ka_closed, no_half_close;
	uint64_t err[E_N];
	_Atomic uint64_t rx, tx;	/* body bytes, for bulk */
	_Atomic long up, failed, final_ok, dropped;	/* hold */
	/* soak */
	struct kstat ks[K_N];
	uint64_t abort_phase[AB_N], abort_rst, abort_fin;
	uint64_t cksum_checked, bytes_up, bytes_down;
	uint64_t err_wb[E_N];	/* errors of well-behaved sessions */
	int nreport;
};

enum mode {
	M_BENCH = 0,
	M_HOLD,
	M_SOAK,
};

static struct opts {
	enum mode mode;
	const char *scenario;
	struct sockaddr_storage proxy, target, echo, sink;
	socklen_t proxylen, targetlen, echolen, sinklen;
	int have_proxy, have_echo, have_sink;
	struct sockaddr_storage s_socks, s_http, s_auto;	/* soak */
	socklen_t s_sockslen, s_httplen, s_autolen;
	int have_auto;
	enum via via;
	enum work work;
	int conc, threads, keepalive, auth, domain, up;
	int64_t count;
	double duration, hold_s, settle_s, timeout_s, drain_s;
	const char *user, *pass, *dname;
	long watch_pid, origin_pid;
	int json;
	const char *label;
	int open_par;
	int bulk;
	/* soak */
	double abort_pct;
	int64_t max_size;
	uint64_t seed;
	char target_text[80];	/* host:port of the HTTP origin */
} O;

static atomic_int g_run = 1;	/* new sessions may start */
static atomic_int g_quit;	/* close everything and leave */
static atomic_int g_phase;	/* hold: 0 open, 1 hold, 2 final ping */
static _Atomic int64_t g_started;
static _Atomic uint64_t g_sink_seq;	/* sink stream ids */
static _Atomic uint64_t g_t_warm, g_t_end;	/* bench: the window */
static pthread_mutex_t g_report_lock = PTHREAD_MUTEX_INITIALIZER;

static inline int
in_window(uint64_t t)
{
	return t >= g_t_warm && t <= g_t_end;
}

static void
cl_release(struct worker *w, struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	if (O.mode == M_HOLD && !c->hs_done)
		w->opening--;
	c->state = CS_FREE;
	w->active--;
}

static void
cl_report(struct worker *w, struct conn *c, enum err e)
{
	char t[80];

	if (w->nreport >= 10)
		return;
	w->nreport++;
	addr_text(c->p.to, t, sizeof t);
	pthread_mutex_lock(&g_report_lock);
	fprintf(stderr, "slload: failure: %s kind=%s proxy=%s%s target=%s "
	    "size=%" PRId64 " seed=%016" PRIx64 " state=%d req=%d/%d "
	    "tx=%" PRIu64 " rx=%" PRIu64 " aborter=%s\n", err_names[e],
	    O.mode == M_SOAK ? kind_names[c->p.kind] : O.scenario, t,
	    c->p.listener ? " (auto)" : "", c->p.target == 0 ? "http" :
	    c->p.target == 1 ? "echo" : "sink", c->p.size, c->p.seed,
	    c->state, c->req_done, c->p.nreq, c->tx_off, c->rx_off,
	    abort_names[c->p.abort]);
	pthread_mutex_unlock(&g_report_lock);
}

/* the session failed: count it, close it; always -1 */
static int
cl_fail(struct worker *w, struct conn *c, enum err e)
{
	if (O.mode == M_SOAK) {
		struct kstat *k = &w->ks[c->p.kind];

		if (c->p.abort != AB_NONE) {
			k->failed_aborter++;
		} else {
			k->failed++;
			w->err_wb[e]++;
			cl_report(w, c, e);
		}
		w->err[e]++;
	} else if (O.mode == M_HOLD) {
		if (!c->hs_done) {
			w->err[e]++;
			atomic_fetch_add(&w->failed, 1);
		} else {
			w->err[e]++;
			atomic_fetch_add(&w->dropped, 1);
		}
	} else if (atomic_load(&g_run) || O.up) {
		/* after the window, abandoned sessions are not errors; an
		   upload's verdict comes after it */
		w->err[e]++;
		if (w->nreport < 3)
			cl_report(w, c, e);
	}
	cl_release(w, c);
	return -1;
}

static enum err
errno_err(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return E_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return E_RESET;
	case ETIMEDOUT:
		return E_TIMEOUT;
	case EADDRNOTAVAIL:
		return E_ADDRNOTAVAIL;
	default:
		return E_IO;
	}
}

/* the session ended well: count it, close it; always -1 */
static int
cl_success(struct worker *w, struct conn *c)
{
	uint64_t t = now_ns();

	if (O.mode == M_SOAK) {
		struct kstat *k = &w->ks[c->p.kind];

		k->ok++;
		k->listener[c->p.listener]++;
	} else if (O.keepalive <= 1 && !O.bulk && !c->counted &&
	    in_window(t)) {
		w->ok++;
	}
	cl_release(w, c);
	return -1;
}

/* the abort itself: FIN or RST; always -1 */
static int
cl_abort_do(struct worker *w, struct conn *c)
{
	if (c->p.abort_rst) {
		struct linger lg = {1, 0};

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		w->abort_rst++;
	} else {
		w->abort_fin++;
	}
	w->ks[c->p.kind].aborted++;
	w->abort_phase[c->p.abort]++;
	cl_release(w, c);
	return -1;
}

/* the abort point is reached: close now or after a pause */
static int
cl_abort(struct worker *w, struct conn *c)
{
	if (c->p.abort_delay_ms > 0) {
		c->state = CS_ABORT_WAIT;
		c->wake = now_ns() + (uint64_t)c->p.abort_delay_ms * 1000000ull;
		c->deadline = c->wake + 1000000000ull;
		return 0;
	}
	return cl_abort_do(w, c);
}

/*
 * Queue a message of abort phase ph.  An aborting session whose cut falls
 * inside it queues only the bytes before the cut and aborts once they are
 * out.
 */
static void
cl_out(struct conn *c, enum abort_phase ph, const void *msg, int len)
{
	if (ph != AB_NONE && c->p.abort == ph && !c->abort_now &&
	    c->ph_sent + len > c->p.abort_at) {
		len = (int)(c->p.abort_at - c->ph_sent);
		c->abort_now = 1;
	}
	if (len < 0)
		len = 0;
	if (c->olen + len > OBUF)
		die("message too long");
	memcpy(c->obuf + c->olen, msg, (size_t)len);
	c->olen += len;
	c->ph_sent += len;
}

/* the part of the body that may still go before the abort cut */
static int64_t
cl_tx_allowed(struct conn *c)
{
	if (c->p.abort == AB_TRANSFER && c->tx_left > 0) {
		int64_t room = c->p.abort_at - (int64_t)c->tx_off;

		if (room <= 0)
			return 0;
		return room < c->tx_left ? room : c->tx_left;
	}
	return c->tx_left;
}

static int cl_tx_done(struct worker *, struct conn *);

/*
 * Write queued messages, then body bytes.  Returns 0 (go on; maybe
 * EAGAIN) or -1 (the session ended).
 */
static int
cl_flush(struct worker *w, struct conn *c)
{
	while (c->ooff < c->olen) {
		ssize_t n = send(c->fd, c->obuf + c->ooff,
		    (size_t)(c->olen - c->ooff), MSG_NOSIGNAL |
		    (c->tx_left > 0 ? MSG_MORE : 0));

		if (n == -1) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			return cl_fail(w, c, errno_err(errno));
		}
		c->ooff += (int)n;
		c->deadline = now_ns() + (uint64_t)(O.timeout_s * 1e9);
	}
	c->olen = c->ooff = 0;
	if (c->abort_now)
		return cl_abort(w, c);
	if (c->tx_left == 0 && !c->tx_shut)
		return cl_tx_done(w, c);
	while (c->tx_left > 0) {
		int64_t allow = cl_tx_allowed(c);
		ssize_t n;

		if (allow == 0)
			return cl_abort(w, c);
		if (c->p.seed == 0) {
			off_t fo = (off_t)(c->tx_off % PAT_PERIOD);
			size_t want = (size_t)(PAT_FILE_LEN - fo);

			if ((int64_t)want > allow)
				want = (size_t)allow;
			n = sendfile(c->fd, pat_fd, &fo, want);
		} else {
			size_t want = allow < CHUNK ? (size_t)allow : CHUNK;

			gen_fill(c->p.seed, c->tx_off, w->big, want);
			n = send(c->fd, w->big, want, MSG_NOSIGNAL);
			if (n > 0)
				ck_update(&c->ck_tx, w->big, (size_t)n);
		}
		if (n == -1) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			return cl_fail(w, c, errno_err(errno));
		}
		c->tx_off += (uint64_t)n;
		c->tx_left -= n;
		atomic_fetch_add_explicit(&w->tx, (uint64_t)n,
		    memory_order_relaxed);
		c->deadline = now_ns() + (uint64_t)(O.timeout_s * 1e9);
		if (c->tx_left == 0)
			return cl_tx_done(w, c);
	}
	return 0;
}

/* ---- messages */

static int
msg_s5_greeting(unsigned char *b, int auth)
{
	b[0] = 5;
	b[1] = 1;
	b[2] = auth ? 2 : 0;
	return 3;
}

static int
msg_s5_auth(unsigned char *b)
{
	size_t ul = strlen(O.user), pl = strlen(O.pass);

	/* RFC 1929 §2: VER ULEN UNAME PLEN PASSWD */
	b[0] = 1;
	b[1] = (unsigned char)ul;
	memcpy(b + 2, O.user, ul);
	b[2 + ul] = (unsigned char)pl;
	memcpy(b + 3 + ul, O.pass, pl);
	return (int)(3 + ul + pl);
}

static const struct sockaddr_storage *
plan_dest(const struct plan *p)
{
	return p->target == 1 ? &O.echo : p->target == 2 ? &O.sink : &O.target;
}

static int
msg_s5_request(unsigned char *b, const struct plan *p)
{
	const struct sockaddr_storage *d = plan_dest(p);
	unsigned port = addr_port(d);
	int n = 4;

	/* RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT */
	b[0] = 5;
	b[1] = 1;
	b[2] = 0;
	if (p->domain) {
		size_t l = strlen(O.dname);

		b[3] = 3;
		b[4] = (unsigned char)l;
		memcpy(b + 5, O.dname, l);
		n = 5 + (int)l;
	} else if (d->ss_family == AF_INET6) {
		b[3] = 4;
		memcpy(b + 4, &((const struct sockaddr_in6 *)d)->sin6_addr, 16);
		n = 20;
	} else {
		b[3] = 1;
		memcpy(b + 4, &((const struct sockaddr_in *)d)->sin_addr, 4);
		n = 8;
	}
	b[n] = (unsigned char)(port >> 8);
	b[n + 1] = (unsigned char)port;
	return n + 2;
}

static int
msg_hc(char *b, const struct plan *p)
{
	char t[80];

	addr_text(plan_dest(p), t, sizeof t);
	return snprintf(b, OBUF, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
	    t, t);
}

/* the request head for request number i of the connection */
static int
msg_request(char *b, const struct conn *c, int i)
{
	const struct plan *p = &c->p;
	char path[96];
	int last = i + 1 >= p->nreq;
	const char *conn = last && p->last_close ? "Connection: close\r\n" : "";
	const char *method = p->work == W_POST ? "POST" : "GET";
	char clen[48] = "";

	if (p->path_root)
		snprintf(path, sizeof path, "/");
	else if (p->work == W_POST)
		snprintf(path, sizeof path, "/sink");
	else if (p->seed != 0)
		snprintf(path, sizeof path, "/bytes/%" PRId64 "?seed=%" PRIx64,
		    p->size, p->seed + (uint64_t)i);
	else
		snprintf(path, sizeof path, "/bytes/%" PRId64, p->size);
	if (p->work == W_POST)
		snprintf(clen, sizeof clen, "Content-Length: %" PRId64 "\r\n",
		    p->size);
	if (p->via == VIA_HTTP)
		return snprintf(b, OBUF, "%s http://%s%s HTTP/1.1\r\nHost: %s"
		    "\r\n%s%s\r\n", method, O.target_text, path,
		    O.target_text, clen, conn);
	return snprintf(b, OBUF, "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s\r\n",
	    method, path, O.target_text, clen, conn);
}

static int
msg_sink(char *b, const struct conn *c)
{
	return snprintf(b, OBUF, "SINK %c %" PRIu64 "\n",
	    c->p.seed == 0 ? 'p' : 'c', c->sink_id);
}

/* byte length of the handshake and of the first request's head */
static void
plan_lengths(const struct conn *c, int64_t *hs, int64_t *rq)
{
	unsigned char b[OBUF];

	*hs = 0;
	*rq = 0;
	if (c->p.via == VIA_SOCKS5) {
		*hs = msg_s5_greeting(b, c->p.auth) + msg_s5_request(b, &c->p);
		if (c->p.auth)
			*hs += msg_s5_auth(b);
	} else if (c->p.via == VIA_CONNECT) {
		*hs = msg_hc((char *)b, &c->p);
	}
	if (c->p.work == W_GET || c->p.work == W_POST)
		*rq = msg_request((char *)b, c, 0);
	else if (c->p.work == W_SINK)
		*rq = msg_sink((char *)b, c);
}

/* ---- the exchange */

static void
cl_send_request(struct conn *c)
{
	char b[OBUF];
	int n = msg_request(b, c, c->req_done);

	cl_out(c, AB_REQUEST, b, n);
	c->t_req = now_ns();
	c->first_byte = 0;
	c->srv_close = 0;
	c->have_sum = 0;
	c->state = CS_RESP_HEAD;
	if (c->p.work == W_POST) {
		c->tx_left = c->p.size;
		c->tx_off = 0;
		ck_init(&c->ck_tx);
	}
}

/* the tunnel is up (or there is none): start the work */
static int
cl_tunnel_ready(struct worker *w, struct conn *c)
{
	char b[OBUF];

	if (!c->hs_done) {
		c->hs_done = 1;
		if (O.mode == M_HOLD)
			w->opening--;
	}
	c->ph_sent = 0;
	switch (c->p.work) {
	case W_GET:
	case W_POST:
		cl_send_request(c);
		break;
	case W_SINK:
		cl_out(c, AB_REQUEST, b, msg_sink(b, c));
		c->tx_left = c->p.size;
		c->tx_off = 0;
		ck_init(&c->ck_tx);
		c->state = CS_SINK;
		break;
	case W_ECHO:
		if (c->p.abort == AB_REQUEST)
			cl_out(c, AB_REQUEST, "x", 1);	/* cut at 0 */
		c->tx_left = c->p.size;
		c->tx_off = 0;
		ck_init(&c->ck_tx);
		ck_init(&c->ck_rx);
		c->rx_off = 0;
		c->state = CS_ECHO;
		break;
	case W_HOLD:
		cl_out(c, AB_NONE, pat, HOLD_PING);
		c->state = CS_HOLD_PING;
		break;
	}
	return cl_flush(w, c);
}

/* the body's last byte went out */
static int
cl_tx_done(struct worker *w, struct conn *c)
{
	(void)w;
	if (c->state != CS_SINK && c->state != CS_ECHO)
		return 0;
	c->tx_shut = 1;
	shutdown(c->fd, SHUT_WR);	/* the end of the upload */
	return 0;
}

static int
cl_connected(struct worker *w, struct conn *c)
{
	unsigned char b[OBUF];

	c->ph_sent = 0;
	switch (c->p.via) {
	case VIA_SOCKS5:
		cl_out(c, AB_HANDSHAKE, b, msg_s5_greeting(b, c->p.auth));
		c->state = CS_S5_METHOD;
		return cl_flush(w, c);
	case VIA_CONNECT:
		cl_out(c, AB_HANDSHAKE, b, msg_hc((char *)b, &c->p));
		c->state = CS_HC_REPLY;
		return cl_flush(w, c);
	default:
		return cl_tunnel_ready(w, c);
	}
}

/* parse a response head at the start of rbuf; 1 complete, 0 more, -1 bad */
static int
head_parse(const unsigned char *b, int len, int *hlen, int *status,
    int64_t *clen, int *close_, uint64_t *xsum, int *have_sum)
{
	const char *e = memmem(b, (size_t)len, "\r\n\r\n", 4), *v;
	const char *s = (const char *)b;
	size_t vl;

	if (e == NULL)
		return len >= RBUF ? -1 : 0;
	*hlen = (int)(e - s) + 4;
	if (*hlen < 12 || strncmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ')
		return -1;
	*status = atoi(s + 9);
	*clen = -1;
	v = head_field(s, e + 2, "Content-Length", &vl);
	if (v != NULL)
		*clen = strtoll(v, NULL, 10);
	v = head_field(s, e + 2, "Transfer-Encoding", &vl);
	if (v != NULL)
		return -1;
	v = head_field(s, e + 2, "Connection", &vl);
	*close_ = field_has(v, vl, "close") ||
	    (s[7] == '0' && !field_has(v, vl, "keep-alive"));
	*have_sum = 0;
	v = head_field(s, e + 2, "X-Sum", &vl);
	if (v != NULL) {
		*xsum = strtoull(v, NULL, 16);
		*have_sum = 1;
	}
	return 1;
}

static void
consume(struct conn *c, int n)
{
	memmove(c->rbuf, c->rbuf + n, (size_t)(c->rlen - n));
	c->rlen -= n;
}

/* a response is complete (head and body verified) */
static int
cl_resp_done(struct worker *w, struct conn *c)
{
	uint64_t t = now_ns();

	c->req_done++;
	if (O.mode == M_BENCH && O.keepalive > 1 && in_window(t) &&
	    atomic_load(&g_run))
		w->ok++;
	if (c->rlen > 0)
		return cl_fail(w, c, E_EXCESS);	/* nothing was pipelined */
	if (c->srv_close || (c->req_done >= c->p.nreq && c->p.last_close)) {
		if (c->srv_close && O.keepalive > 1)
			w->ka_closed++;
		c->state = CS_CLOSE_WAIT;
		return 0;
	}
	if (c->req_done >= c->p.nreq || !atomic_load(&g_run))
		return cl_success(w, c);
	cl_send_request(c);
	return cl_flush(w, c);
}

/* body bytes [p, p+n) of the current response */
static int
cl_body(struct worker *w, struct conn *c, const unsigned char *p, size_t n)
{
	if (c->rx_need >= 0 && c->rx_off + n > (uint64_t)c->rx_need)
		return cl_fail(w, c, E_EXCESS);
	if (c->p.seed == 0) {
		if (!pat_ok(p, n, c->rx_off))
			return cl_fail(w, c, E_BAD_BODY);
	} else {
		ck_update(&c->ck_rx, p, n);
	}
	c->rx_off += n;
	if (O.bulk)
		atomic_fetch_add_explicit(&w->rx, n, memory_order_relaxed);
	if (O.mode == M_SOAK)
		w->bytes_down += n;
	if (c->rx_need >= 0 && c->rx_off == (uint64_t)c->rx_need) {
		if (c->have_sum) {
			w->cksum_checked++;
			if (ck_final(&c->ck_rx) != c->x_sum)
				return cl_fail(w, c, E_CHECKSUM);
		}
		return cl_resp_done(w, c);
	}
	if (c->p.abort == AB_TRANSFER && c->p.work == W_GET &&
	    (int64_t)c->rx_off >= c->p.abort_at)
		return cl_abort(w, c);
	return 0;
}

/* POST /sink's answer, "bytes checksum\n", is the whole of rbuf */
static int
cl_verdict(struct worker *w, struct conn *c)
{
	uint64_t got = 0, sum = 0;
	char v[96];

	memcpy(v, c->rbuf, (size_t)c->rlen);
	v[c->rlen] = '\0';
	c->rlen = 0;
	if (sscanf(v, "%" SCNu64 " %" SCNx64, &got, &sum) != 2 ||
	    got != (uint64_t)c->p.size)
		return cl_fail(w, c, E_SINK);
	w->cksum_checked++;
	if (sum != ck_final(&c->ck_tx))
		return cl_fail(w, c, E_CHECKSUM);
	w->bytes_up += got;
	return cl_resp_done(w, c);
}

/*
 * Process the bytes in rbuf according to the state.  Returns 0 to go on
 * reading, -1 when the session ended.
 */
static int
cl_process(struct worker *w, struct conn *c)
{
	for (;;) {
		switch (c->state) {
		case CS_S5_METHOD: {
			unsigned char b[OBUF];

			if (c->rlen < 2)
				return 0;
			if (c->rbuf[0] != 5)
				return cl_fail(w, c, E_S5_PROTO);
			if (c->rbuf[1] != (c->p.auth ? 2 : 0))
				return cl_fail(w, c, E_S5_METHOD);
			consume(c, 2);
			if (c->p.auth) {
				cl_out(c, AB_HANDSHAKE, b, msg_s5_auth(b));
				c->state = CS_S5_AUTH;
			} else {
				cl_out(c, AB_HANDSHAKE, b,
				    msg_s5_request(b, &c->p));
				c->state = CS_S5_REPLY;
			}
			if (cl_flush(w, c) == -1)
				return -1;
			break;
		}
		case CS_S5_AUTH: {
			unsigned char b[OBUF];

			if (c->rlen < 2)
				return 0;
			if (c->rbuf[0] != 1 || c->rbuf[1] != 0)
				return cl_fail(w, c, E_S5_AUTH);
			consume(c, 2);
			cl_out(c, AB_HANDSHAKE, b, msg_s5_request(b, &c->p));
			c->state = CS_S5_REPLY;
			if (cl_flush(w, c) == -1)
				return -1;
			break;
		}
		case CS_S5_REPLY: {
			int need;

			if (c->rlen < 5)
				return 0;
			if (c->rbuf[0] != 5)
				return cl_fail(w, c, E_S5_PROTO);
			if (c->rbuf[1] != 0)
				return cl_fail(w, c, E_S5_REP +
				    (c->rbuf[1] < 9 ? c->rbuf[1] : 1));
			/* RFC 1928 §6: BND.ADDR by ATYP */
			need = c->rbuf[3] == 1 ? 10 : c->rbuf[3] == 4 ? 22 :
			    c->rbuf[3] == 3 ? 7 + c->rbuf[4] : -1;
			if (need < 0)
				return cl_fail(w, c, E_S5_PROTO);
			if (c->rlen < need)
				return 0;
			consume(c, need);
			if (c->rlen > 0)
				return cl_fail(w, c, E_EXCESS);
			if (cl_tunnel_ready(w, c) == -1)
				return -1;
			break;
		}
		case CS_HC_REPLY:
		case CS_RESP_HEAD: {
			int hl, st, cl_, r;
			int64_t clen;

			if (c->rlen == 0)
				return 0;
			if (c->state == CS_RESP_HEAD && !c->first_byte) {
				uint64_t t = now_ns();

				c->first_byte = 1;
				if (O.mode == M_BENCH && in_window(t) &&
				    atomic_load(&g_run)) {
					if (O.keepalive > 1)
						hist_add(&w->lat, t - c->t_req);
					else if (c->req_done == 0 && !O.bulk)
						hist_add(&w->lat,
						    t - c->t_start);
				}
			}
			r = head_parse(c->rbuf, c->rlen, &hl, &st, &clen, &cl_,
			    &c->x_sum, &c->have_sum);
			if (r == 0)
				return 0;
			if (r == -1)
				return cl_fail(w, c, E_BAD_HEAD);
			consume(c, hl);
			if (c->state == CS_HC_REPLY) {
				if (st < 200 || st > 299)
					return cl_fail(w, c, E_HC_STATUS);
				if (c->rlen > 0)
					return cl_fail(w, c, E_EXCESS);
				if (cl_tunnel_ready(w, c) == -1)
					return -1;
				break;
			}
			if (st != 200)
				return cl_fail(w, c, E_HTTP_STATUS);
			c->srv_close = cl_;
			c->verdict = c->p.work == W_POST;
			if (c->verdict) {
				if (c->tx_left != 0)	/* answered early */
					return cl_fail(w, c, E_SINK);
				if (clen < 0 || clen > 80)
					return cl_fail(w, c, E_LENGTH);
			} else if (clen != c->p.size) {
				return cl_fail(w, c, E_LENGTH);
			}
			if (c->p.seed != 0 && !c->verdict && !c->have_sum)
				return cl_fail(w, c, E_BAD_HEAD);
			c->rx_need = clen;
			c->rx_off = 0;
			ck_init(&c->ck_rx);
			c->state = CS_RESP_BODY;
			if (c->p.abort == AB_TRANSFER && c->p.work == W_GET &&
			    c->p.abort_at == 0)
				return cl_abort(w, c);
			if (clen == 0 && cl_body(w, c, c->rbuf, 0) == -1)
				return -1;
			break;
		}
		case CS_RESP_BODY: {
			int n = c->rlen;

			if (n == 0)
				return 0;
			if (c->verdict) {
				/* the verdict text stays in rbuf */
				if (n < c->rx_need)
					return 0;
				if (n > c->rx_need)
					return cl_fail(w, c, E_EXCESS);
				if (cl_verdict(w, c) == -1)
					return -1;
				break;
			}
			c->rlen = 0;
			if (cl_body(w, c, c->rbuf, (size_t)n) == -1)
				return -1;
			break;
		}
		case CS_SINK: {
			char *nl;
			char v[128];
			uint64_t got, sum, bad;

			if (c->rlen == 0)
				return 0;
			if (c->tx_left != 0)
				return cl_fail(w, c, E_SINK);	/* early */
			nl = memchr(c->rbuf, '\n', (size_t)c->rlen);
			if (nl == NULL)
				return c->rlen > 100 ?
				    cl_fail(w, c, E_SINK) : 0;
			if (nl - (char *)c->rbuf >= (long)sizeof v)
				return cl_fail(w, c, E_SINK);
			memcpy(v, c->rbuf, (size_t)(nl - (char *)c->rbuf));
			v[nl - (char *)c->rbuf] = '\0';
			consume(c, (int)(nl - (char *)c->rbuf) + 1);
			if (sscanf(v, "SUNK %" SCNu64 " %" SCNx64 " %" SCNu64,
			    &got, &sum, &bad) != 3 || got != c->tx_off ||
			    bad != 0)
				return cl_fail(w, c, E_SINK);
			if (c->p.seed != 0) {
				w->cksum_checked++;
				if (sum != ck_final(&c->ck_tx))
					return cl_fail(w, c, E_CHECKSUM);
				w->bytes_up += got;
			}
			c->state = CS_CLOSE_WAIT;
			c->req_done = 1;
			break;
		}
		case CS_CLOSE_WAIT:
			if (c->rlen > 0)
				return cl_fail(w, c, E_EXCESS);
			return 0;
		case CS_HOLD_PING:
			if (c->rlen < HOLD_PING)
				return 0;
			if (c->rlen > HOLD_PING || memcmp(c->rbuf, pat,
			    HOLD_PING) != 0)
				return cl_fail(w, c, E_ECHO);
			c->rlen = 0;
			c->state = CS_HOLD_IDLE;
			if (c->final_sent)
				atomic_fetch_add(&w->final_ok, 1);
			else
				atomic_fetch_add(&w->up, 1);
			return 0;
		case CS_HOLD_IDLE:
			if (c->rlen > 0)
				return cl_fail(w, c, E_EXCESS);
			return 0;
		default:
			return 0;
		}
	}
}

/* echo bytes [p, p+n) came back */
static int
cl_echo_data(struct worker *w, struct conn *c, const unsigned char *p,
    size_t n)
{
	if (c->rx_off + n > c->tx_off)
		return cl_fail(w, c, E_ECHO);	/* more than was sent */
	ck_update(&c->ck_rx, p, n);
	c->rx_off += n;
	w->bytes_down += n;
	return 0;
}

/*
 * Ask the sink port directly for upload ID's verdict ("STAT ID"), for a
 * proxy that closed the tunnel on our half-close.  Blocking, bounded by
 * the timeout; only at the end of a bench upload.  0 with *got and *bad
 * set, or -1.
 */
static int
sink_stat(uint64_t id, uint64_t *got, uint64_t *bad)
{
	uint64_t end = now_ns() + (uint64_t)(O.timeout_s * 1e9);
	struct timeval tv = {2, 0};

	while (now_ns() < end) {
		char q[64], r[128];
		int fd = socket(O.sink.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ssize_t n, l = 0;
		uint64_t sum;

		if (fd == -1)
			return -1;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		n = snprintf(q, sizeof q, "STAT %" PRIu64 "\n", id);
		if (connect(fd, (struct sockaddr *)&O.sink, O.sinklen) == 0 &&
		    send(fd, q, (size_t)n, MSG_NOSIGNAL) == n) {
			while (l < (ssize_t)sizeof r - 1 &&
			    (n = recv(fd, r + l, sizeof r - 1 - (size_t)l, 0)) >
			    0)
				l += n;
		}
		close(fd);
		r[l] = '\0';
		if (sscanf(r, "SUNK %" SCNu64 " %" SCNx64 " %" SCNu64, got,
		    &sum, bad) == 3)
			return 0;
		if (strncmp(r, "PENDING", 7) != 0)
			return -1;
		sleep_ms(20);
	}
	return -1;
}

/* EOF from the other side */
static int
cl_eof(struct worker *w, struct conn *c)
{
	switch (c->state) {
	case CS_SINK: {
		uint64_t got, bad;

		/* no verdict: the proxy closed on our half-close */
		if (O.mode != M_BENCH || !c->tx_shut || c->rlen > 0)
			return cl_fail(w, c, E_EOF);
		if (sink_stat(c->sink_id, &got, &bad) == -1 ||
		    got != c->tx_off || bad != 0)
			return cl_fail(w, c, E_SINK);
		w->no_half_close++;
		cl_release(w, c);
		return -1;
	}
	case CS_CLOSE_WAIT:
		return cl_success(w, c);
	case CS_ECHO:
		if (c->tx_left != 0 || c->rx_off != c->tx_off)
			return cl_fail(w, c, E_EOF);
		w->cksum_checked++;
		if (ck_final(&c->ck_rx) != ck_final(&c->ck_tx))
			return cl_fail(w, c, E_CHECKSUM);
		w->bytes_up += c->tx_off;
		return cl_success(w, c);
	case CS_RESP_HEAD:
		/*
		 * Bench keep-alive: a proxy that closes a persistent
		 * connection instead of answering the next request (tinyproxy
		 * does, without Connection: close) is counted, not failed; a
		 * client would retry on a new connection.
		 */
		if (O.mode == M_BENCH && O.keepalive > 1 && c->req_done > 0 &&
		    c->rlen == 0) {
			w->ka_closed++;
			cl_release(w, c);
			return -1;
		}
		return cl_fail(w, c, E_EOF);
	default:
		return cl_fail(w, c, E_EOF);
	}
}

/* read until EAGAIN, processing as we go; 0 or -1 (ended) */
static int
cl_read(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n;
		int bulk = c->state == CS_ECHO || (c->state == CS_RESP_BODY &&
		    !c->verdict && c->rlen == 0);

		if (c->state == CS_ABORT_WAIT)
			return 0;
		if (bulk) {
			size_t room = CHUNK;

			if (c->state == CS_RESP_BODY && c->rx_need >= 0 &&
			    (uint64_t)c->rx_need - c->rx_off < room)
				room = (size_t)((uint64_t)c->rx_need -
				    c->rx_off);
			if (room == 0)
				room = RBUF;	/* excess is an error */
			n = recv(c->fd, w->big, room, 0);
			if (n > 0) {
				c->deadline = now_ns() +
				    (uint64_t)(O.timeout_s * 1e9);
				if (c->state == CS_ECHO) {
					if (cl_echo_data(w, c, w->big,
					    (size_t)n) == -1)
						return -1;
				} else if (cl_body(w, c, w->big, (size_t)n) ==
				    -1) {
					return -1;
				}
				if (c->state == CS_FREE)
					return -1;
				continue;
			}
		} else {
			if (c->rlen >= RBUF)
				return cl_fail(w, c, E_BAD_HEAD);
			n = recv(c->fd, c->rbuf + c->rlen,
			    (size_t)(RBUF - c->rlen), 0);
			if (n > 0) {
				c->rlen += (int)n;
				c->deadline = now_ns() +
				    (uint64_t)(O.timeout_s * 1e9);
				if (cl_process(w, c) == -1)
					return -1;
				if (c->state == CS_FREE)
					return -1;
				continue;
			}
		}
		if (n == 0)
			return cl_eof(w, c);
		if (errno == EAGAIN)
			return 0;
		if (errno == EINTR)
			continue;
		return cl_fail(w, c, errno_err(errno));
	}
}

static void
cl_event(struct worker *w, struct conn *c, uint32_t ev)
{
	if (c->state == CS_FREE || c->state == CS_ABORT_WAIT)
		return;
	if (c->state == CS_CONNECTING) {
		int e = 0;
		socklen_t l = sizeof e;

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
		if (e != 0 || (ev & EPOLLERR)) {
			cl_fail(w, c, e ? errno_err(e) : E_CONNECT);
			return;
		}
		if (cl_connected(w, c) == -1)
			return;
	} else if (ev & EPOLLOUT) {
		if (cl_flush(w, c) == -1)
			return;
	}
	if (c->state == CS_FREE || c->state == CS_ABORT_WAIT)
		return;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		cl_read(w, c);
}

/* ---- plans */

static void
plan_bench(struct plan *p)
{
	memset(p, 0, sizeof *p);
	p->via = O.via;
	p->work = O.work;
	p->auth = O.auth;
	p->domain = O.domain;
	switch (O.work) {
	case W_GET:
		if (O.bulk) {
			p->size = ENDLESS;
			p->nreq = 1;
			p->last_close = 1;
		} else {
			p->path_root = 1;
			p->size = 256;
			p->nreq = O.keepalive > 1 ? O.keepalive : 1;
			p->last_close = O.keepalive <= 1;
		}
		break;
	case W_SINK:
		p->target = 2;
		p->size = ENDLESS;
		break;
	case W_HOLD:
		p->target = 1;
		break;
	default:
		break;
	}
	p->to = O.via == VIA_DIRECT ? plan_dest(p) : &O.proxy;
	p->tolen = O.via != VIA_DIRECT ? O.proxylen : p->target == 1 ?
	    O.echolen : p->target == 2 ? O.sinklen : O.targetlen;
}

/* log-uniform in [0, max]: many small transfers, some large */
static int64_t
rand_size(uint64_t *r, int64_t max)
{
	double u = rng_unit(r);

	if (rng_below(r, 20) == 0)
		return 0;
	return (int64_t)(exp(u * log((double)max + 1))) - 1;
}

static void
plan_soak(struct worker *w, struct conn *c)
{
	struct plan *p = &c->p;
	uint64_t *r = &w->rng;
	int64_t hs, rq;

	memset(p, 0, sizeof *p);
	p->kind = (int)rng_below(r, K_N);
	p->listener = O.have_auto ? (int)rng_below(r, 2) : 0;
	switch (p->kind) {
	case K_S5_DOWN: case K_S5_UP: case K_S5_ECHO:
		p->via = VIA_SOCKS5;
		p->domain = rng_below(r, 4) == 0;
		p->to = p->listener ? &O.s_auto : &O.s_socks;
		p->tolen = p->listener ? O.s_autolen : O.s_sockslen;
		break;
	case K_HTTP_GET: case K_HTTP_POST:
		p->via = VIA_HTTP;
		p->to = p->listener ? &O.s_auto : &O.s_http;
		p->tolen = p->listener ? O.s_autolen : O.s_httplen;
		break;
	default:
		p->via = VIA_CONNECT;
		p->to = p->listener ? &O.s_auto : &O.s_http;
		p->tolen = p->listener ? O.s_autolen : O.s_httplen;
		break;
	}
	switch (p->kind) {
	case K_S5_DOWN: case K_HTTP_GET: case K_HC_DOWN:
		p->work = W_GET;
		p->nreq = 1 + (int)rng_below(r, 3);
		break;
	case K_HTTP_POST:
		p->work = W_POST;
		p->nreq = 1 + (int)rng_below(r, 2);
		break;
	case K_S5_UP: case K_HC_UP:
		p->work = W_SINK;
		p->target = 2;
		break;
	default:
		p->work = W_ECHO;
		p->target = 1;
		break;
	}
	p->last_close = (int)rng_below(r, 2);
	p->size = rand_size(r, O.max_size);
	p->seed = rng_next(r) | 1;
	if (rng_unit(r) * 100 < O.abort_pct) {
		plan_lengths(c, &hs, &rq);
		for (;;) {
			p->abort = (enum abort_phase)(1 + rng_below(r, 3));
			if (p->abort == AB_HANDSHAKE && hs > 0) {
				p->abort_at = (int64_t)rng_below(r,
				    (uint64_t)hs);
				break;
			}
			if (p->abort == AB_REQUEST &&
			    (rq > 0 || p->work == W_ECHO)) {
				p->abort_at = (int64_t)rng_below(r,
				    (uint64_t)rq);
				break;
			}
			if (p->abort == AB_TRANSFER && p->size > 0) {
				p->abort_at = (int64_t)rng_below(r,
				    (uint64_t)p->size);
				break;
			}
		}
		p->abort_rst = (int)rng_below(r, 2);
		p->abort_delay_ms = rng_below(r, 2) ? 0 :
		    (int)rng_below(r, 200);
	}
}

/* open one connection in slot c */
static void
cl_start(struct worker *w, struct conn *c)
{
	struct epoll_event ev;
	int one = 1;

	c->sink_id = ((uint64_t)getpid() << 32) +
	    atomic_fetch_add(&g_sink_seq, 1) + 1;
	if (O.mode == M_SOAK)
		plan_soak(w, c);
	else
		plan_bench(&c->p);
	c->t_start = now_ns();
	c->deadline = c->t_start + (uint64_t)(O.timeout_s * 1e9);
	c->rlen = c->olen = c->ooff = 0;
	c->req_done = c->srv_close = c->counted = c->first_byte = 0;
	c->tx_left = 0;
	c->tx_off = c->rx_off = 0;
	c->rx_need = 0;
	c->verdict = c->have_sum = 0;
	c->ph_sent = 0;
	c->abort_now = c->hs_done = c->final_sent = c->tx_shut = 0;
	c->state = CS_CONNECTING;
	w->active++;
	if (O.mode == M_HOLD) {
		w->opening++;
		w->opened++;
	}
	if (O.mode == M_SOAK) {
		w->ks[c->p.kind].started++;
		if (c->p.abort == AB_HANDSHAKE && c->p.via == VIA_HTTP)
			c->p.abort = AB_REQUEST;	/* no handshake */
	}
	c->fd = socket(c->p.to->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		cl_fail(w, c, E_IO);
		return;
	}
	if (O.bulk || O.mode == M_SOAK)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (const struct sockaddr *)c->p.to, c->p.tolen) ==
	    -1 && errno != EINPROGRESS) {
		cl_fail(w, c, errno_err(errno));
		return;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		cl_fail(w, c, E_IO);
}

static int
may_start(struct worker *w)
{
	if (!atomic_load(&g_run))
		return 0;
	if (O.mode == M_HOLD)
		return atomic_load(&g_phase) == 0 && w->opened < w->n &&
		    w->opening < O.open_par;
	if (O.count > 0 && atomic_fetch_add(&g_started, 1) >= O.count)
		return 0;
	return 1;
}

/* timeouts and delayed aborts */
static void
cl_scan(struct worker *w, uint64_t t)
{
	int i;

	for (i = 0; i < w->n; i++) {
		struct conn *c = &w->c[i];

		if (c->state == CS_FREE)
			continue;
		if (c->state == CS_ABORT_WAIT) {
			if (t >= c->wake)
				cl_abort_do(w, c);
			continue;
		}
		if (c->state == CS_HOLD_IDLE)
			continue;
		if (t > c->deadline)
			cl_fail(w, c, E_TIMEOUT);
	}
}

/* hold phase 2: ping every idle tunnel once more */
static void
cl_hold_final(struct worker *w)
{
	int i;

	for (i = 0; i < w->n; i++) {
		struct conn *c = &w->c[i];

		if (c->state != CS_HOLD_IDLE)
			continue;
		c->final_sent = 1;
		c->state = CS_HOLD_PING;
		c->deadline = now_ns() + (uint64_t)(O.timeout_s * 1e9);
		cl_out(c, AB_NONE, pat, HOLD_PING);
		if (cl_flush(w, c) == 0)
			cl_read(w, c);
	}
}

/* bench upload: the time is up, end the streams and await verdicts */
static void
cl_end_uploads(struct worker *w)
{
	int i;

	for (i = 0; i < w->n; i++) {
		struct conn *c = &w->c[i];

		if (c->state != CS_SINK || c->tx_shut)
			continue;
		c->tx_left = 0;
		c->deadline = now_ns() + (uint64_t)(O.timeout_s * 1e9);
		if (c->olen == 0)
			cl_tx_done(w, c);
	}
}

/* in the soak's end: sessions still going are cancelled, not failed */
static void
cl_cancel_all(struct worker *w)
{
	int i;

	for (i = 0; i < w->n; i++) {
		struct conn *c = &w->c[i];

		if (c->state == CS_FREE)
			continue;
		if (O.mode == M_SOAK)
			w->ks[c->p.kind].cancelled++;
		cl_release(w, c);
	}
}

static void *
cl_thread(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	uint64_t last_scan = now_ns();
	int final_done = 0, uploads_ended = 0, i;

	for (;;) {
		int n;
		uint64_t t;

		if (atomic_load(&g_quit))
			break;
		if (!atomic_load(&g_run) && w->active == 0)
			break;
		for (i = 0; i < w->n && w->active < w->n; i++) {
			if (w->c[i].state != CS_FREE)
				continue;
			if (!may_start(w))
				break;
			cl_start(w, &w->c[i]);
		}
		if (O.mode == M_HOLD && !final_done &&
		    atomic_load(&g_phase) == 2) {
			final_done = 1;
			cl_hold_final(w);
		}
		n = epoll_wait(w->epfd, evs, 256, 5);
		for (i = 0; i < n; i++)
			cl_event(w, evs[i].data.ptr, evs[i].events);
		t = now_ns();
		if (t - last_scan > 10000000ull) {
			last_scan = t;
			cl_scan(w, t);
		}
		if (O.mode == M_BENCH && !atomic_load(&g_run)) {
			if (!O.up)
				break;	/* conn/s, bulk down: abandon the rest */
			if (!uploads_ended) {
				uploads_ended = 1;
				cl_end_uploads(w);
			}
		}
	}
	cl_cancel_all(w);
	return NULL;
}

/* ---- drivers */

static struct worker W[MAX_THREADS];

static void
workers_start(int total)
{
	int i;

	for (i = 0; i < O.threads; i++) {
		struct worker *w = &W[i];
		int k;

		w->id = i;
		w->n = total / O.threads + (i < total % O.threads);
		w->c = calloc((size_t)(w->n ? w->n : 1), sizeof *w->c);
		w->big = malloc(CHUNK);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->rng = O.seed * 0x100000001b3ull + (uint64_t)i * 7919 + 1;
		if (w->c == NULL || w->big == NULL || w->epfd == -1)
			die("out of memory");
		for (k = 0; k < w->n; k++)
			w->c[k].fd = -1;
		if (pthread_create(&w->th, NULL, cl_thread, w) != 0)
			die("pthread_create");
	}
}

static void
workers_join(void)
{
	int i;

	for (i = 0; i < O.threads; i++)
		pthread_join(W[i].th, NULL);
}

static long
sum_atomic(int which)
{
	long s = 0;
	int i;

	for (i = 0; i < O.threads; i++)
		switch (which) {
		case 0: s += atomic_load(&W[i].up); break;
		case 1: s += atomic_load(&W[i].failed); break;
		case 2: s += atomic_load(&W[i].final_ok); break;
		case 3: s += atomic_load(&W[i].dropped); break;
		case 4: s += (long)atomic_load(&W[i].rx); break;
		default: s += (long)atomic_load(&W[i].tx); break;
		}
	return s;
}

static void
json_errors(FILE *f, const uint64_t *err)
{
	int i, first = 1;

	fprintf(f, "{");
	for (i = 0; i < E_N; i++)
		if (err[i]) {
			fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
			    err_names[i], err[i]);
			first = 0;
		}
	fprintf(f, "}");
}

static void
text_errors(FILE *f, const uint64_t *err)
{
	int i;

	for (i = 0; i < E_N; i++)
		if (err[i])
			fprintf(f, " %s=%" PRIu64, err_names[i], err[i]);
}

/* rate and bulk scenarios */
static int
bench_main(void)
{
	struct psample p0, p1, pw, o0, o1, ow, s;
	double c0, c1, cw, el;
	uint64_t t0, t, last = 0, rx0 = 0, tx0 = 0, rx1, tx1;
	uint64_t err[E_N] = {0}, ok = 0, kac = 0, nerr = 0, nhc = 0;
	struct hist *lat = calloc(1, sizeof *lat);
	long peak;
	int i, warm_taken = 0;
	double warm = O.duration / 8 < 0.5 ? O.duration / 8 : 0.5;
	double value;
	const char *unit;

	if (lat == NULL)
		die("out of memory");
	p0 = proc_sample(O.watch_pid, 0);
	o0 = proc_sample(O.origin_pid, 0);
	c0 = self_cpu_s();
	peak = p0.rss_kb;
	t0 = now_ns();
	g_t_warm = t0 + (uint64_t)(warm * 1e9);
	g_t_end = t0 + (uint64_t)(O.duration * 1e9);
	if (O.count > 0) {
		g_t_warm = t0;
		g_t_end = UINT64_MAX;
	}
	pw = p0;
	ow = o0;
	cw = c0;
	workers_start(O.conc);
	for (;;) {
		sleep_ms(5);
		t = now_ns();
		if (!warm_taken && t >= g_t_warm) {
			warm_taken = 1;
			rx0 = (uint64_t)sum_atomic(4);
			tx0 = (uint64_t)sum_atomic(5);
			pw = proc_sample(O.watch_pid, 0);
			ow = proc_sample(O.origin_pid, 0);
			cw = self_cpu_s();
			g_t_warm = t;
		}
		if (O.watch_pid > 0 && t - last > 200000000ull) {
			last = t;
			s = proc_sample(O.watch_pid, 0);
			if (s.rss_kb > peak)
				peak = s.rss_kb;
		}
		if (t >= g_t_end)
			break;
		if (O.count > 0) {
			int idle = 1;

			for (i = 0; i < O.threads; i++)
				if (W[i].active > 0)
					idle = 0;
			if (idle && atomic_load(&g_started) >= O.count)
				break;
			if (t - t0 > (uint64_t)(O.timeout_s * 3e9))
				break;
		}
	}
	rx1 = (uint64_t)sum_atomic(4);
	tx1 = (uint64_t)sum_atomic(5);
	p1 = proc_sample(O.watch_pid, 0);
	o1 = proc_sample(O.origin_pid, 0);
	c1 = self_cpu_s();
	if (O.count > 0)
		g_t_end = t;
	el = (double)(t - g_t_warm) / 1e9;
	atomic_store(&g_run, 0);
	if (O.up) {
		/* the sinks' verdicts: bounded by the timeout */
		uint64_t tq = now_ns() + (uint64_t)(O.timeout_s * 1e9);

		for (;;) {
			int busy = 0;

			for (i = 0; i < O.threads; i++)
				if (W[i].active > 0)
					busy = 1;
			if (!busy || now_ns() > tq)
				break;
			sleep_ms(5);
		}
	}
	atomic_store(&g_quit, 1);
	workers_join();
	for (i = 0; i < O.threads; i++) {
		int k;

		ok += W[i].ok;
		kac += W[i].ka_closed;
		nhc += W[i].no_half_close;
		hist_merge(lat, &W[i].lat);
		for (k = 0; k < E_N; k++) {
			err[k] += W[i].err[k];
			nerr += W[i].err[k];
		}
	}
	if (O.bulk) {
		value = (double)((O.up ? tx1 - tx0 : rx1 - rx0)) * 8 / el / 1e9;
		unit = "Gbit/s";
	} else {
		value = (double)ok / el;
		unit = O.keepalive > 1 ? "req/s" : "conn/s";
	}
	fprintf(stderr, "%s: %s=%.*f ok=%" PRIu64 " lat_us p50=%.0f p99=%.0f "
	    "proxy_cpu=%.0f%% client_cpu=%.0f%% errors=%" PRIu64,
	    O.label ? O.label : O.scenario, unit, O.bulk ? 2 : 0, value,
	    ok, hist_pct(lat, .5) / 1e3, hist_pct(lat, .99) / 1e3,
	    100 * (p1.cpu_s - pw.cpu_s) / el,
	    100 * (c1 - cw + o1.cpu_s - ow.cpu_s) / el, nerr);
	text_errors(stderr, err);
	fprintf(stderr, "\n");
	if (O.json) {
		printf("{\"label\":\"%s\",\"scenario\":\"%s\",\"unit\":\"%s\","
		    "\"value\":%.4f,\"ok\":%" PRIu64 ",\"elapsed_s\":%.3f,"
		    "\"conc\":%d,\"ka_closed\":%" PRIu64 ",\"no_half_close\":%"
		    PRIu64 ",\"bytes\":%" PRIu64
		    ",\"lat_us\":{\"n\":%" PRIu64 ",\"p50\":%.1f,\"p90\":%.1f,"
		    "\"p99\":%.1f,\"max\":%.1f,\"mean\":%.1f},"
		    "\"proxy_cpu\":%.3f,\"client_cpu\":%.3f,"
		    "\"proxy_rss_kb\":%ld,\"proxy_rss_peak_kb\":%ld,"
		    "\"err_total\":%" PRIu64 ",\"errors\":",
		    O.label ? O.label : "", O.scenario, unit, value, ok, el,
		    O.conc, kac, nhc, O.up ? tx1 - tx0 : rx1 - rx0, lat->n,
		    hist_pct(lat, .5) / 1e3, hist_pct(lat, .9) / 1e3,
		    hist_pct(lat, .99) / 1e3, lat->max / 1e3,
		    lat->n ? lat->sum / (double)lat->n / 1e3 : 0,
		    (p1.cpu_s - pw.cpu_s) / el,
		    (c1 - cw + o1.cpu_s - ow.cpu_s) / el, p1.rss_kb,
		    p1.rss_kb > peak ? p1.rss_kb : peak, nerr);
		json_errors(stdout, err);
		printf("}\n");
	}
	(void)p0;
	(void)o0;
	(void)c0;
	free(lat);
	return nerr == 0 && (ok > 0 || O.bulk) ? 0 : 1;
}

/* idle tunnels: KiB of proxy memory per tunnel */
static int
hold_main(void)
{
	struct psample p0, ph, p1;
	uint64_t t0, tq, err[E_N] = {0}, nerr = 0;
	long up, failed, final_ok, dropped;
	double open_ms;
	int i;

	p0 = proc_sample(O.watch_pid, 1);
	t0 = now_ns();
	g_t_warm = t0;
	g_t_end = UINT64_MAX;
	workers_start(O.conc);
	tq = t0 + (uint64_t)(O.timeout_s * 3e9);
	for (;;) {
		sleep_ms(10);
		up = sum_atomic(0);
		failed = sum_atomic(1);
		if (up + failed >= O.conc || now_ns() > tq)
			break;
	}
	open_ms = (double)(now_ns() - t0) / 1e6;
	atomic_store(&g_phase, 1);
	sleep_ms(O.settle_s * 1000);
	ph = proc_sample(O.watch_pid, 1);
	sleep_ms(O.hold_s * 1000);
	atomic_store(&g_phase, 2);
	tq = now_ns() + (uint64_t)(O.timeout_s * 1e9);
	for (;;) {
		sleep_ms(10);
		final_ok = sum_atomic(2);
		dropped = sum_atomic(3);
		if (final_ok + dropped >= up || now_ns() > tq)
			break;
	}
	p1 = proc_sample(O.watch_pid, 1);
	atomic_store(&g_run, 0);
	atomic_store(&g_quit, 1);
	workers_join();
	for (i = 0; i < O.threads; i++) {
		int k;

		for (k = 0; k < E_N; k++) {
			err[k] += W[i].err[k];
			nerr += W[i].err[k];
		}
	}
	fprintf(stderr, "%s: up=%ld failed=%ld final_ok=%ld dropped=%ld "
	    "open_ms=%.0f rss %ld -> %ld kB (%.2f KiB/tunnel) pss %ld -> %ld kB"
	    " errors=%" PRIu64, O.label ? O.label : O.scenario, up, failed,
	    final_ok, dropped, open_ms, p0.rss_kb, ph.rss_kb,
	    up ? (double)(ph.rss_kb - p0.rss_kb) / (double)up : 0,
	    p0.pss_kb, ph.pss_kb, nerr);
	text_errors(stderr, err);
	fprintf(stderr, "\n");
	if (O.json) {
		printf("{\"label\":\"%s\",\"scenario\":\"%s\",\"unit\":"
		    "\"KiB/tunnel\",\"value\":%.3f,\"up\":%ld,\"failed\":%ld,"
		    "\"final_ok\":%ld,\"dropped\":%ld,\"open_ms\":%.1f,"
		    "\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,"
		    "\"rss_end_kb\":%ld,\"pss_before_kb\":%ld,"
		    "\"pss_after_kb\":%ld,\"kib_per_tunnel_pss\":%.3f,"
		    "\"nproc\":%d,\"err_total\":%" PRIu64 ",\"errors\":",
		    O.label ? O.label : "", O.scenario,
		    up ? (double)(ph.rss_kb - p0.rss_kb) / (double)up : 0,
		    up, failed, final_ok, dropped, open_ms, p0.rss_kb,
		    ph.rss_kb, p1.rss_kb, p0.pss_kb, ph.pss_kb,
		    up ? (double)(ph.pss_kb - p0.pss_kb) / (double)up : 0,
		    ph.nproc, nerr);
		json_errors(stdout, err);
		printf("}\n");
	}
	return up == O.conc && final_ok == up ? 0 : 1;
}

/* mixed load with aborting clients; a JSON summary */
static int
soak_main(void)
{
	struct kstat tot[K_N];
	uint64_t t0, tq, err[E_N] = {0}, err_wb[E_N] = {0};
	uint64_t ab_phase[AB_N] = {0}, ab_rst = 0, ab_fin = 0, ck = 0;
	uint64_t up = 0, down = 0, fail_wb = 0, fail_ab = 0, okn = 0;
	uint64_t aborted = 0, started = 0, cancelled = 0, lis[2] = {0, 0};
	double el;
	int i, k, busy;

	memset(tot, 0, sizeof tot);
	t0 = now_ns();
	g_t_warm = t0;
	g_t_end = UINT64_MAX;
	workers_start(O.conc);
	while (now_ns() - t0 < (uint64_t)(O.duration * 1e9))
		sleep_ms(20);
	el = (double)(now_ns() - t0) / 1e9;
	atomic_store(&g_run, 0);
	/* sessions in flight finish, bounded by drain_s */
	tq = now_ns() + (uint64_t)(O.drain_s * 1e9);
	do {
		sleep_ms(10);
		busy = 0;
		for (i = 0; i < O.threads; i++)
			if (W[i].active > 0)
				busy = 1;
	} while (busy && now_ns() < tq);
	atomic_store(&g_quit, 1);
	workers_join();
	for (i = 0; i < O.threads; i++) {
		struct worker *w = &W[i];

		for (k = 0; k < K_N; k++) {
			tot[k].started += w->ks[k].started;
			tot[k].ok += w->ks[k].ok;
			tot[k].aborted += w->ks[k].aborted;
			tot[k].failed += w->ks[k].failed;
			tot[k].failed_aborter += w->ks[k].failed_aborter;
			tot[k].cancelled += w->ks[k].cancelled;
			lis[0] += w->ks[k].listener[0];
			lis[1] += w->ks[k].listener[1];
		}
		for (k = 0; k < E_N; k++) {
			err[k] += w->err[k];
			err_wb[k] += w->err_wb[k];
		}
		for (k = 0; k < AB_N; k++)
			ab_phase[k] += w->abort_phase[k];
		ab_rst += w->abort_rst;
		ab_fin += w->abort_fin;
		ck += w->cksum_checked;
		up += w->bytes_up;
		down += w->bytes_down;
	}
	for (k = 0; k < K_N; k++) {
		started += tot[k].started;
		okn += tot[k].ok;
		aborted += tot[k].aborted;
		fail_wb += tot[k].failed;
		fail_ab += tot[k].failed_aborter;
		cancelled += tot[k].cancelled;
	}
	fprintf(stderr, "soak: %.1f s, %" PRIu64 " sessions: ok=%" PRIu64
	    " aborted=%" PRIu64 " failed(well-behaved)=%" PRIu64
	    " failed(aborters)=%" PRIu64 " cancelled_at_end=%" PRIu64
	    " checksums=%" PRIu64 " mismatches=%" PRIu64 " up=%.1fMB "
	    "down=%.1fMB\n", el, started, okn, aborted, fail_wb, fail_ab,
	    cancelled, ck, err[E_CHECKSUM], up / 1e6, down / 1e6);
	for (k = 0; k < K_N; k++)
		fprintf(stderr, "  %-10s started=%" PRIu64 " ok=%" PRIu64
		    " aborted=%" PRIu64 " failed=%" PRIu64 " failed_aborter=%"
		    PRIu64 "\n", kind_names[k], tot[k].started, tot[k].ok,
		    tot[k].aborted, tot[k].failed, tot[k].failed_aborter);
	if (fail_wb > 0) {
		fprintf(stderr, "  errors of well-behaved sessions:");
		text_errors(stderr, err_wb);
		fprintf(stderr, "\n");
	}
	printf("{\"soak\":true,\"duration_s\":%.2f,\"conc\":%d,\"abort_pct\":"
	    "%.1f,\"max_size\":%" PRId64 ",\"seed\":%" PRIu64 ",\"sessions\":%"
	    PRIu64 ",\"ok\":%" PRIu64 ",\"aborted\":%" PRIu64
	    ",\"failures_well_behaved\":%" PRIu64 ",\"failures_aborters\":%"
	    PRIu64 ",\"cancelled_at_end\":%" PRIu64 ",\"checksums_checked\":%"
	    PRIu64 ",\"checksum_mismatches\":%" PRIu64 ",\"bytes_up\":%" PRIu64
	    ",\"bytes_down\":%" PRIu64 ",\"ok_by_listener\":{\"dedicated\":%"
	    PRIu64 ",\"auto\":%" PRIu64 "},\"kinds\":{", el, O.conc,
	    O.abort_pct, O.max_size, O.seed, started, okn, aborted, fail_wb,
	    fail_ab, cancelled, ck, err[E_CHECKSUM], up, down, lis[0], lis[1]);
	for (k = 0; k < K_N; k++)
		printf("%s\"%s\":{\"started\":%" PRIu64 ",\"ok\":%" PRIu64
		    ",\"aborted\":%" PRIu64 ",\"failed\":%" PRIu64
		    ",\"failed_aborter\":%" PRIu64 ",\"cancelled\":%" PRIu64 "}",
		    k ? "," : "", kind_names[k], tot[k].started, tot[k].ok,
		    tot[k].aborted, tot[k].failed, tot[k].failed_aborter,
		    tot[k].cancelled);
	printf("},\"aborts\":{\"handshake\":%" PRIu64 ",\"request\":%" PRIu64
	    ",\"transfer\":%" PRIu64 ",\"fin\":%" PRIu64 ",\"rst\":%" PRIu64
	    "},\"errors_well_behaved\":", ab_phase[AB_HANDSHAKE],
	    ab_phase[AB_REQUEST], ab_phase[AB_TRANSFER], ab_fin, ab_rst);
	json_errors(stdout, err_wb);
	printf(",\"errors_all\":");
	json_errors(stdout, err);
	printf("}\n");
	fflush(stdout);
	return fail_wb == 0 && err[E_CHECKSUM] == 0 && okn > 0 ? 0 : 1;
}

static int
wait_main(const char *spec, double timeout_s)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t end = now_ns() + (uint64_t)(timeout_s * 1e9);

	if (addr_parse(spec, &ss, &sl) == -1)
		die("bad address: %s", spec);
	while (now_ns() < end) {
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd != -1 && connect(fd, (struct sockaddr *)&ss, sl) == 0) {
			close(fd);
			return 0;
		}
		if (fd != -1)
			close(fd);
		sleep_ms(50);
	}
	return 1;
}

/* ------------------------------------------------------ scenarios */

struct scenario {
	const char *name;
	enum via via;
	enum work work;
	int conc;		/* default -c */
	int keepalive;
	int auth, domain, bulk, up;
	const char *what;
};

static const struct scenario scenarios[] = {
	{"s5_conn", VIA_SOCKS5, W_GET, 64, 1, 0, 0, 0, 0,
	    "SOCKS5 CONNECT + GET + close, conn/s"},
	{"s5_auth", VIA_SOCKS5, W_GET, 64, 1, 1, 0, 0, 0,
	    "the same with RFC 1929 user/password"},
	{"s5_domain", VIA_SOCKS5, W_GET, 64, 1, 0, 1, 0, 0,
	    "the same with ATYP domain name"},
	{"http_ka", VIA_HTTP, W_GET, 64, 100, 0, 0, 0, 0,
	    "forward proxy, 100 GETs per connection, req/s"},
	{"http_new", VIA_HTTP, W_GET, 64, 1, 0, 0, 0, 0,
	    "forward proxy, one GET per connection, req/s"},
	{"http_connect", VIA_CONNECT, W_GET, 64, 1, 0, 0, 0, 0,
	    "CONNECT, then GET inside, conn/s"},
	{"s5_bulk_down_1", VIA_SOCKS5, W_GET, 1, 1, 0, 0, 1, 0,
	    "download over 1 SOCKS5 tunnel, Gbit/s"},
	{"s5_bulk_down_8", VIA_SOCKS5, W_GET, 8, 1, 0, 0, 1, 0,
	    "download over 8 SOCKS5 tunnels, Gbit/s"},
	{"s5_bulk_up_1", VIA_SOCKS5, W_SINK, 1, 1, 0, 0, 1, 1,
	    "upload over 1 SOCKS5 tunnel, Gbit/s"},
	{"hc_bulk_down_1", VIA_CONNECT, W_GET, 1, 1, 0, 0, 1, 0,
	    "download over 1 CONNECT tunnel, Gbit/s"},
	{"hc_bulk_down_8", VIA_CONNECT, W_GET, 8, 1, 0, 0, 1, 0,
	    "download over 8 CONNECT tunnels, Gbit/s"},
	{"hc_bulk_up_1", VIA_CONNECT, W_SINK, 1, 1, 0, 0, 1, 1,
	    "upload over 1 CONNECT tunnel, Gbit/s"},
	{"s5_hold", VIA_SOCKS5, W_HOLD, 2000, 1, 0, 0, 0, 0,
	    "idle SOCKS5 tunnels held, KiB of proxy RSS each"},
	{"hc_hold", VIA_CONNECT, W_HOLD, 2000, 1, 0, 0, 0, 0,
	    "idle CONNECT tunnels held, KiB of proxy RSS each"},
	{"direct_conn", VIA_DIRECT, W_GET, 64, 1, 0, 0, 0, 0,
	    "no proxy: GET + close, conn/s"},
	{"direct_ka", VIA_DIRECT, W_GET, 64, 100, 0, 0, 0, 0,
	    "no proxy: 100 GETs per connection, req/s"},
	{"direct_bulk_down_1", VIA_DIRECT, W_GET, 1, 1, 0, 0, 1, 0,
	    "no proxy: download, Gbit/s"},
	{"direct_bulk_down_8", VIA_DIRECT, W_GET, 8, 1, 0, 0, 1, 0,
	    "no proxy: download over 8 connections, Gbit/s"},
	{"direct_bulk_up_1", VIA_DIRECT, W_SINK, 1, 1, 0, 0, 1, 1,
	    "no proxy: upload, Gbit/s"},
};

static void
usage(int code)
{
	size_t i;

	fprintf(code ? stderr : stdout,
	    "usage:\n"
	    "  slload serve --http ADDR:PORT [--echo ADDR:PORT] "
	    "[--sink ADDR:PORT] [--body 256] [--max-time S]\n"
	    "  slload wait ADDR:PORT [--timeout S]\n"
	    "  slload SCENARIO -t ORIGIN [-p PROXY] [--echo ADDR] "
	    "[--sink ADDR] [options]\n"
	    "  slload soak -t ORIGIN --echo ADDR --sink ADDR --socks ADDR "
	    "--http-proxy ADDR [--auto ADDR] [options]\n"
	    "options:\n"
	    "  -c N             connections in flight (scenario default)\n"
	    "  -d S             seconds (3; soak 60)\n"
	    "  -n N             stop after N sessions instead\n"
	    "  -j N             client threads (1)\n"
	    "  --user U --pass P  RFC 1929 credentials (s5_auth)\n"
	    "  --domain NAME    ATYP domain name (localhost)\n"
	    "  --keepalive K    requests per connection\n"
	    "  --hold-s S       hold: seconds held (3); --settle S (1)\n"
	    "  --timeout S      per-operation timeout (10)\n"
	    "  --watch-pid PID  the proxy: CPU and RSS of its process tree\n"
	    "  --origin-pid PID the origin: CPU, counted as client side\n"
	    "  --json           one JSON object on stdout\n"
	    "  --label L        name in the output\n"
	    "  --abort-pct P    soak: share of aborting clients (10)\n"
	    "  --max-size B     soak: largest transfer (4M)\n"
	    "  --seed N         soak: random seed (time)\n"
	    "  --drain S        soak: wait for sessions at the end (5)\n"
	    "scenarios:\n");
	for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		fprintf(code ? stderr : stdout, "  %-20s %s\n",
		    scenarios[i].name, scenarios[i].what);
	exit(code);
}

static void
need_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	if (addr_parse(spec, ss, len) == -1)
		die("bad address (want IP:PORT or [IPv6]:PORT): %s", spec);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"http", 1, 0, 1}, {"echo", 1, 0, 2}, {"sink", 1, 0, 3},
		{"body", 1, 0, 4}, {"max-time", 1, 0, 5}, {"timeout", 1, 0, 6},
		{"user", 1, 0, 7}, {"pass", 1, 0, 8}, {"domain", 1, 0, 9},
		{"keepalive", 1, 0, 10}, {"hold-s", 1, 0, 11},
		{"settle", 1, 0, 12}, {"watch-pid", 1, 0, 13},
		{"origin-pid", 1, 0, 14}, {"json", 0, 0, 15},
		{"label", 1, 0, 16}, {"abort-pct", 1, 0, 17},
		{"max-size", 1, 0, 18}, {"seed", 1, 0, 19},
		{"socks", 1, 0, 20}, {"http-proxy", 1, 0, 21},
		{"auto", 1, 0, 22}, {"drain", 1, 0, 23},
		{"open-par", 1, 0, 24}, {"help", 0, 0, 'h'},
		{0, 0, 0, 0},
	};
	char *http[8], *echo[8], *sink[8];
	int nh = 0, ne = 0, ns = 0, body = 256, opt, conc = -1;
	double max_time = 7200, timeout = -1;
	const struct scenario *sc = NULL;
	const char *mode;
	size_t i;

	if (argc < 2)
		usage(2);
	mode = argv[1];
	if (strcmp(mode, "-h") == 0 || strcmp(mode, "--help") == 0 ||
	    strcmp(mode, "list") == 0)
		usage(0);
	signal(SIGPIPE, SIG_IGN);
	nofile_raise();
	O.threads = 1;
	O.duration = -1;
	O.hold_s = 3;
	O.settle_s = 1;
	O.timeout_s = 10;
	O.drain_s = 5;
	O.user = "benchuser";
	O.pass = "benchpass";
	O.dname = "localhost";
	O.open_par = 64;
	O.abort_pct = 10;
	O.max_size = 4 << 20;
	O.seed = (uint64_t)time(NULL);
	optind = 2;
	while ((opt = getopt_long(argc, argv, "p:t:c:d:n:j:h", lo, NULL)) !=
	    -1) {
		switch (opt) {
		case 'p':
			need_addr(optarg, &O.proxy, &O.proxylen);
			O.have_proxy = 1;
			break;
		case 't':
			need_addr(optarg, &O.target, &O.targetlen);
			break;
		case 'c': conc = atoi(optarg); break;
		case 'd': O.duration = atof(optarg); break;
		case 'n': O.count = atoll(optarg); break;
		case 'j': O.threads = atoi(optarg); break;
		case 1:
			if (nh < 8)
				http[nh++] = optarg;
			break;
		case 2:
			if (ne < 8)
				echo[ne++] = optarg;
			need_addr(optarg, &O.echo, &O.echolen);
			O.have_echo = 1;
			break;
		case 3:
			if (ns < 8)
				sink[ns++] = optarg;
			need_addr(optarg, &O.sink, &O.sinklen);
			O.have_sink = 1;
			break;
		case 4: body = atoi(optarg); break;
		case 5: max_time = atof(optarg); break;
		case 6: timeout = atof(optarg); break;
		case 7: O.user = optarg; break;
		case 8: O.pass = optarg; break;
		case 9: O.dname = optarg; break;
		case 10: O.keepalive = atoi(optarg); break;
		case 11: O.hold_s = atof(optarg); break;
		case 12: O.settle_s = atof(optarg); break;
		case 13: O.watch_pid = atol(optarg); break;
		case 14: O.origin_pid = atol(optarg); break;
		case 15: O.json = 1; break;
		case 16: O.label = optarg; break;
		case 17: O.abort_pct = atof(optarg); break;
		case 18: O.max_size = size_parse(optarg); break;
		case 19: O.seed = strtoull(optarg, NULL, 10); break;
		case 20:
			need_addr(optarg, &O.s_socks, &O.s_sockslen);
			break;
		case 21:
			need_addr(optarg, &O.s_http, &O.s_httplen);
			break;
		case 22:
			need_addr(optarg, &O.s_auto, &O.s_autolen);
			O.have_auto = 1;
			break;
		case 23: O.drain_s = atof(optarg); break;
		case 24: O.open_par = atoi(optarg); break;
		case 'h': usage(0); break;
		default: usage(2); break;
		}
	}
	if (timeout > 0)
		O.timeout_s = timeout;
	if (strcmp(mode, "wait") == 0) {
		if (optind >= argc)
			usage(2);
		return wait_main(argv[optind], timeout > 0 ? timeout : 10);
	}
	pat_init();
	if (strcmp(mode, "serve") == 0) {
		if (nh + ne + ns == 0)
			die("serve: nothing to listen on");
		return serve_main(http, nh, echo, ne, sink, ns, body, max_time);
	}
	if (O.threads < 1 || O.threads > MAX_THREADS)
		die("-j: 1 to %d", MAX_THREADS);
	if (O.targetlen == 0)
		die("-t ORIGIN is required");
	addr_text(&O.target, O.target_text, sizeof O.target_text);
	if (strcmp(mode, "soak") == 0) {
		if (!O.have_echo || !O.have_sink || O.s_sockslen == 0 ||
		    O.s_httplen == 0)
			die("soak: --echo, --sink, --socks and --http-proxy "
			    "are required");
		if (O.max_size < 1)
			die("--max-size must be positive");
		O.mode = M_SOAK;
		O.scenario = "soak";
		O.conc = conc > 0 ? conc : 200;
		if (O.duration <= 0)
			O.duration = 60;
		fprintf(stderr, "soak: seed=%" PRIu64 " conc=%d duration=%.0fs "
		    "abort=%.0f%% max_size=%" PRId64 "\n", O.seed, O.conc,
		    O.duration, O.abort_pct, O.max_size);
		return soak_main();
	}
	for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		if (strcmp(scenarios[i].name, mode) == 0)
			sc = &scenarios[i];
	if (sc == NULL) {
		fprintf(stderr, "slload: unknown mode or scenario: %s\n", mode);
		usage(2);
	}
	O.scenario = sc->name;
	O.via = O.have_proxy ? sc->via : VIA_DIRECT;
	if (sc->via != VIA_DIRECT && !O.have_proxy)
		die("%s needs -p PROXY", sc->name);
	O.work = sc->work;
	O.auth = sc->auth;
	O.domain = sc->domain;
	O.bulk = sc->bulk;
	O.up = sc->up;
	if (O.keepalive == 0)
		O.keepalive = sc->keepalive;
	O.conc = conc > 0 ? conc : sc->conc;
	if (O.duration <= 0)
		O.duration = O.count > 0 ? 0 : 3;
	if (sc->work == W_SINK && !O.have_sink)
		die("%s needs --sink ADDR", sc->name);
	if (sc->work == W_HOLD) {
		if (!O.have_echo)
			die("%s needs --echo ADDR", sc->name);
		O.mode = M_HOLD;
		return hold_main();
	}
	O.mode = M_BENCH;
	return bench_main();
}
