/*
 * Policies and per-user state: see policy.h.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "../auth/auth.h"

int
user_states_init(struct user_states *us)
{
	memset(us, 0, sizeof(*us));
	if (siphash_key_random(&us->key) == -1)
		return -1;
	us->nbuckets = 256;
	us->buckets = calloc(us->nbuckets, sizeof(*us->buckets));
	return us->buckets == NULL ? -1 : 0;
}

void
user_states_free(struct user_states *us)
{
	struct user_state *u;
	size_t i;

	for (i = 0; us->buckets != NULL && i < us->nbuckets; i++)
		while ((u = us->buckets[i]) != NULL) {
			us->buckets[i] = u->next;
			pthread_mutex_destroy(&u->mu);
			free(u);
		}
	free(us->buckets);
	us->buckets = NULL;
}

/*
 * The state of the user called name, created when new.  NULL when memory
 * runs out.
 */
/* Twice the buckets, when the chains grow long (a failure keeps them). */
static void
user_states_grow(struct user_states *us)
{
	size_t n = us->nbuckets * 2, i, b;
	struct user_state **nb, *u;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < us->nbuckets; i++)
		while ((u = us->buckets[i]) != NULL) {
			us->buckets[i] = u->next;
			b = siphash64(&us->key, u->name, strlen(u->name)) &
			    (n - 1);
			u->next = nb[b];
			nb[b] = u;
		}
	free(us->buckets);
	us->buckets = nb;
	us->nbuckets = n;
}

struct user_state *
user_state_get(struct user_states *us, const char *name)
{
	struct user_state *u;
	size_t len = strlen(name), b;

	b = siphash64(&us->key, name, len) & (us->nbuckets - 1);
	for (u = us->buckets[b]; u != NULL; u = u->next)
		if (strcmp(u->name, name) == 0)
			return u;
	if ((u = calloc(1, sizeof(*u) + len + 1)) == NULL)
		return NULL;
	if (pthread_mutex_init(&u->mu, NULL) != 0) {
		free(u);
		return NULL;
	}
	memcpy(u->name, name, len + 1);
	u->next = us->buckets[b];
	us->buckets[b] = u;
	if (++us->count > 2 * us->nbuckets)
		user_states_grow(us);
	return u;
}

/*
 * Write the quota usage to path, atomically (a temporary file renamed over
 * it): "u NAME DAY BYTES MONTH BYTES" per user with usage.  Returns 0, or -1
 * with the reason in err.
 */
int
user_states_save(struct user_states *us, const char *path, char *err,
    size_t errlen)
{
	struct user_state *u;
	char tmp[4096];
	FILE *f;
	size_t i;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	fprintf(f, "# sluice quota usage: u USER DAY BYTES MONTH BYTES\n");
	for (i = 0; i < us->nbuckets; i++)
		for (u = us->buckets[i]; u != NULL; u = u->next) {
			struct user_state c;

			pthread_mutex_lock(&u->mu);
			c.day = u->day;
			c.used_day = u->used_day;
			c.month = u->month;
			c.used_month = u->used_month;
			pthread_mutex_unlock(&u->mu);
			if (c.used_day > 0 || c.used_month > 0)
				fprintf(f, "u %s %lld %llu %lld %llu\n", u->name,
				    (long long)c.day,
				    (unsigned long long)c.used_day,
				    (long long)c.month,
				    (unsigned long long)c.used_month);
		}
	if (fflush(f) == EOF || fsync(fileno(f)) == -1 || fclose(f) == EOF) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* A decimal number of at most 20 digits ending in ' ' or '\n'/'\0'. */
static const char *
parse_u64(const char *p, unsigned long long *v)
{
	const char *start = p;
	unsigned long long x = 0;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			return NULL;
		x = x * 10 + (unsigned)(*p - '0');
	}
	if (p == start)
		return NULL;
	*v = x;
	return p;
}

/*
 * "u NAME DAY BYTES MONTH BYTES\n", single spaces, nothing else: a name
 * has no whitespace (conf checks), numbers are plain decimal.
 */
static int
parse_state_line(const char *line, char *name, size_t namelen,
    long long *day, unsigned long long *ud, long long *month,
    unsigned long long *um)
{
	unsigned long long v[4];
	const char *p, *sp;
	int i;

	if (strncmp(line, "u ", 2) != 0)
		return -1;
	p = line + 2;
	if ((sp = strchr(p, ' ')) == NULL || sp == p ||
	    (size_t)(sp - p) >= namelen)
		return -1;
	memcpy(name, p, (size_t)(sp - p));
	name[sp - p] = '\0';
	p = sp;
	for (i = 0; i < 4; i++) {
		if (*p != ' ' || (p = parse_u64(p + 1, &v[i])) == NULL)
			return -1;
	}
	if (*p == '\n')
		p++;
	if (*p != '\0' || v[0] > LLONG_MAX || v[2] > LLONG_MAX)
		return -1;
	*day = (long long)v[0];
	*ud = v[1];
	*month = (long long)v[2];
	*um = v[3];
	return 0;
}

/*
 * Read what user_states_save() wrote (a missing file is an empty one).
 * Returns 0, or -1 with the reason in err.
 */
int
user_states_load(struct user_states *us, const char *path, char *err,
    size_t errlen)
{
	struct user_state *u;
	char name[300];
	long long day, month;
	unsigned long long ud, um;
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	FILE *f;
	int n = 0;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "limits.state_file: cannot read \"%s\": "
		    "%s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "limits.state_file: \"%s\" is a "
		    "directory", path);
		fclose(f);
		return -1;
	}
	while (getline(&line, &cap, f) != -1) {
		n++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (parse_state_line(line, name, sizeof(name), &day, &ud,
		    &month, &um) == -1) {
			snprintf(err, errlen, "%s:%d: not \"u USER DAY BYTES "
			    "MONTH BYTES\"", path, n);
			free(line);
			fclose(f);
			return -1;
		}
		if ((u = user_state_get(us, name)) == NULL)
			break;
		pthread_mutex_lock(&u->mu);
		u->day = day;
		u->used_day = ud;
		u->month = month;
		u->used_month = um;
		pthread_mutex_unlock(&u->mu);
	}
	free(line);
	fclose(f);
	return 0;
}

/*
 * Quota periods, in local time (a "day" ends at local midnight): days
 * since 1970 and year * 12 + month of the wall-clock time ms.
 */
static void
local_tm(int64_t wall_ms, struct tm *tm)
{
	/* a session's admission and each charge ask: localtime_r() is
	   ~900 instructions, the answer changes once a second at most */
	static __thread time_t last = -1;
	static __thread struct tm cached;
	time_t t = (time_t)(wall_ms / 1000);

	if (t != last) {
		localtime_r(&t, &cached);
		last = t;
	}
	*tm = cached;
}

int64_t
policy_day(int64_t wall_ms)
{
	struct tm tm;

	local_tm(wall_ms, &tm);
	return (int64_t)(tm.tm_year + 1900) * 400 + tm.tm_yday;
}

int64_t
policy_month(int64_t wall_ms)
{
	struct tm tm;

	local_tm(wall_ms, &tm);
	return (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
}

/*
 * The user's shared bandwidth buckets at rate (bytes/s each way), set up
 * again when the rate changed (a reload).
 */
void
user_state_bw_init(struct user_state *st, int64_t rate, int64_t now)
{
	pthread_mutex_lock(&st->mu);
	if (st->bw_rate != rate) {
		tbucket_init(&st->bw[0], rate, rate, now);
		tbucket_init(&st->bw[1], rate, rate, now);
		st->bw_rate = rate;
	}
	pthread_mutex_unlock(&st->mu);
}

/*
 * Start new quota periods when the day or month changed.
 */
void
user_state_roll(struct user_state *u, int64_t day, int64_t month)
{
	if (u->day != day) {
		u->day = day;
		u->used_day = 0;
	}
	if (u->month != month) {
		u->month = month;
		u->used_month = 0;
	}
}

/* This host's addresses, as blocks of one: the protected "own" set. */
static int
load_own(struct policy *p)
{
	struct ifaddrs *ifa, *i;
	union sockaddr_u a;
	int n = 0, cap = 8;

	if ((p->own = calloc((size_t)cap, sizeof(*p->own))) == NULL)
		return -1;
	if (getifaddrs(&ifa) == -1)
		return 0;	/* loopback and link-local still protected */
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
		    i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a, i->ifa_addr, i->ifa_addr->sa_family == AF_INET ?
		    sizeof(a.in) : sizeof(a.in6));
		if (n == cap) {
			struct netaddr_cidr *g = reallocarray(p->own,
			    (size_t)cap * 2, sizeof(*g));

			if (g == NULL)
				break;
			p->own = g;
			cap *= 2;
		}
		memset(&p->own[n], 0, sizeof(p->own[n]));
		p->own[n].addr.sa.sa_family = a.sa.sa_family;
		if (a.sa.sa_family == AF_INET) {
			p->own[n].addr.in.sin_addr = a.in.sin_addr;
			p->own[n].prefix = 32;
		} else {
			p->own[n].addr.in6.sin6_addr = a.in6.sin6_addr;
			p->own[n].prefix = 128;
		}
		n++;
	}
	freeifaddrs(ifa);
	p->guard.own = p->own;
	p->guard.nown = n;
	return 0;
}

/*
 * A policy from conf (moved into it: *c is left empty), with the user
 * table built.  NULL with the reason in err.
 */
struct policy *
policy_new(struct conf *c, uint64_t generation, char *err, size_t errlen)
{
	struct policy *p;
	struct auth_user *u;
	const struct conf_user *cu;
	int i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto oom;
	p->refs = 1;
	p->generation = generation;
	p->conf = *c;
	memset(c, 0, sizeof(*c));
	if ((p->auth = auth_db_new(&p->conf)) == NULL)
		goto oom;
	for (i = 0; i < p->auth->nusers; i++) {
		u = &p->auth->users[i];
		cu = conf_user_find(&p->conf, u->name);
		u->per_user = cu->limits.per_user >= 0 ? cu->limits.per_user :
		    p->conf.per_user;
		u->bandwidth = cu->limits.bandwidth >= 0 ?
		    cu->limits.bandwidth : p->conf.user_bandwidth;
		u->quota_daily = cu->limits.quota_daily >= 0 ?
		    cu->limits.quota_daily : p->conf.user_quota_daily;
		u->quota_monthly = cu->limits.quota_monthly >= 0 ?
		    cu->limits.quota_monthly : p->conf.user_quota_monthly;
	}
	p->guard.shared = conf_is_shared(&p->conf);
	if (load_own(p) == -1)
		goto oom;
	return p;
oom:
	snprintf(err, errlen, "out of memory building the policy: %s",
	    strerror(errno));
	policy_release(p);
	return NULL;
}

/*
 * Tie each user of the policy to its state in us (by name: the states
 * outlive reloads).  Returns 0, or -1 (ENOMEM).
 */
int
policy_bind(struct policy *p, struct user_states *us)
{
	int i;

	for (i = 0; i < p->auth->nusers; i++)
		if ((p->auth->users[i].st = user_state_get(us,
		    p->auth->users[i].name)) == NULL)
			return -1;
	return 0;
}

/* References come and go on every worker thread: atomic counts. */
struct policy *
policy_ref(struct policy *p)
{
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

/*
 * Drop a reference; the last one frees the policy.
 */
void
policy_release(struct policy *p)
{
	if (p == NULL || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	auth_db_free(p->auth);
	conf_free(&p->conf);
	free(p->own);
	free(p);
}
