/*
 * Unit tests for policies and per-user state: proxy/policy.c.
 *
 * The per-user table, the quota state file (written to a private mkdtemp()
 * directory), the quota periods (with TZ set by the group setup, so that
 * a wall-clock time has one day and one month), and policies built from
 * configuration text loaded as sluice loads it.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "conf.h"
#include "netaddr.h"
#include "policy.h"
#include "rules.h"

#define STATE_HEADER	"# sluice quota usage: u USER DAY BYTES MONTH BYTES\n"

/* Wall-clock instants (ms since 1970, UTC). */
#define W_2024_01_01	1704067200000LL		/* 2024-01-01T00:00:00Z */
#define W_2024_01_02	(W_2024_01_01 + 86400000LL)
#define W_2024_01_31_15	1706713200000LL		/* 2024-01-31T15:00:00Z */
#define W_2024_02_29_12	1709208000000LL		/* 2024-02-29T12:00:00Z */
#define W_2025_01_01	1735689600000LL		/* 2025-01-01T00:00:00Z */

static char tmpdir[1024];	/* per run, removed by the teardown */
static int tmpseq;

/* ----- helpers -------------------------------------------------------- */

static void
tmp_path(char *path, size_t len, const char *name)
{
	int n;

	n = snprintf(path, len, "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < len);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f;

	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* The whole file, NUL-terminated.  Free it. */
static char *
slurp(const char *path)
{
	struct stat st;
	char *buf;
	FILE *f;

	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f),
	    (size_t)st.st_size);
	buf[st.st_size] = '\0';
	fclose(f);
	return buf;
}

/* Entries of tmpdir whose names start with prefix. */
static int
count_files(const char *prefix)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(tmpdir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* Load text as a configuration and finish it; both must succeed. */
static void
conf_from(struct conf *c, const char *text)
{
	char path[PATH_MAX], name[32], err[CONF_ERRLEN];

	snprintf(name, sizeof(name), "p%03d.conf", ++tmpseq);
	tmp_path(path, sizeof(path), name);
	write_file(path, text);
	conf_init(c);
	err[0] = '\0';
	if (conf_load_file(c, path, err, sizeof(err)) != 0 ||
	    conf_finish(c, err, sizeof(err)) != 0)
		fail_msg("rejected:\n%s\nerrors:\n%s", text, err);
}

static struct policy *
policy_from(const char *text, uint64_t generation)
{
	struct conf c;
	struct policy *p;
	char err[256];

	conf_from(&c, text);
	err[0] = '\0';
	p = policy_new(&c, generation, err, sizeof(err));
	if (p == NULL)
		fail_msg("policy_new: %s", err);
	/* the configuration moved into the policy */
	assert_int_equal(c.nusers, 0);
	assert_null(c.users);
	assert_int_equal(c.nlisten, 0);
	assert_null(c.listen);
	conf_free(&c);
	return p;
}

static struct auth_user *
user_of(struct policy *p, const char *name)
{
	struct auth_user *u = auth_db_find(p->auth, name, strlen(name));

	if (u == NULL)
		fail_msg("no user \"%s\" in the policy", name);
	return u;
}

static int
group_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	if (setenv("TZ", "UTC", 1) == -1)
		return -1;
	tzset();
	snprintf(tmpdir, sizeof(tmpdir), "%s/sluice-test-policy-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	(void)state;
	if ((d = opendir(tmpdir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

/* ----- user states ---------------------------------------------------- */

static void
test_states_same_name(void **state)
{
	struct user_states us;
	struct user_state *a, *b, *c;

	(void)state;
	assert_int_equal(user_states_init(&us), 0);
	assert_int_equal(us.count, 0);
	assert_int_equal(us.dirty, 0);
	a = user_state_get(&us, "alice");
	assert_non_null(a);
	assert_string_equal(a->name, "alice");
	assert_int_equal(us.count, 1);
	/* new: all zero */
	assert_int_equal(a->active, 0);
	assert_int_equal(a->sessions, 0);
	assert_int_equal(a->bytes_up, 0);
	assert_int_equal(a->bytes_down, 0);
	assert_int_equal(a->used_day, 0);
	assert_int_equal(a->used_month, 0);
	assert_int_equal(a->day, 0);
	assert_int_equal(a->month, 0);
	assert_int_equal(a->bw_rate, 0);
	a->sessions = 5;
	a->used_day = 1234;

	b = user_state_get(&us, "alice");
	assert_ptr_equal(b, a);
	assert_int_equal(b->sessions, 5);
	assert_int_equal(b->used_day, 1234);
	assert_int_equal(us.count, 1);

	c = user_state_get(&us, "bob");
	assert_non_null(c);
	assert_ptr_not_equal(c, a);
	assert_string_equal(c->name, "bob");
	assert_int_equal(c->sessions, 0);
	assert_int_equal(us.count, 2);
	/* names are exact */
	assert_ptr_not_equal(user_state_get(&us, "Alice"), a);
	assert_ptr_not_equal(user_state_get(&us, "alic"), a);
	assert_ptr_not_equal(user_state_get(&us, "alice "), a);
	assert_int_equal(us.count, 5);
	assert_ptr_equal(user_state_get(&us, "alice"), a);
	assert_ptr_equal(user_state_get(&us, "bob"), c);
	user_states_free(&us);
	assert_null(us.buckets);
}

static void
test_states_many(void **state)
{
	struct user_states us;
	struct user_state **s;
	char name[32], longest[256];
	const int n = 20000;
	int i;

	(void)state;
	assert_int_equal(user_states_init(&us), 0);
	s = calloc((size_t)n, sizeof(*s));
	assert_non_null(s);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "user%05d", i);
		s[i] = user_state_get(&us, name);
		assert_non_null(s[i]);
		s[i]->sessions = (uint64_t)i;
	}
	assert_int_equal(us.count, n);
	/* the table grew: chains stay short (at most 2 a bucket on average) */
	assert_true(us.nbuckets * 2 >= (size_t)n);
	for (i = n - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "user%05d", i);
		if (user_state_get(&us, name) != s[i])
			fail_msg("\"%s\": another state the second time", name);
		assert_string_equal(s[i]->name, name);
		assert_int_equal(s[i]->sessions, (uint64_t)i);
	}
	assert_int_equal(us.count, n);
	/* the longest name a configuration accepts */
	memset(longest, 'z', 255);
	longest[255] = '\0';
	assert_non_null(user_state_get(&us, longest));
	assert_ptr_equal(user_state_get(&us, longest),
	    user_state_get(&us, longest));
	assert_string_equal(user_state_get(&us, longest)->name, longest);
	assert_int_equal(us.count, n + 1);
	free(s);
	user_states_free(&us);
	/* freeing twice is harmless */
	user_states_free(&us);
}

/* ----- the state file ------------------------------------------------- */

static void
test_state_save_load(void **state)
{
	struct user_states us, back;
	struct user_state *u;
	char path[PATH_MAX], err[256];
	char *s;

	(void)state;
	tmp_path(path, sizeof(path), "state1");
	assert_int_equal(user_states_init(&us), 0);
	u = user_state_get(&us, "alice");
	u->day = 809601;
	u->used_day = 123;
	u->month = 24288;
	u->used_month = 456789;
	u->sessions = 99;			/* not saved */
	u = user_state_get(&us, "bob");		/* nothing used: not saved */
	u->day = 809601;
	u->month = 24288;
	u = user_state_get(&us, "carol");
	u->day = 809600;
	u->used_day = 0;
	u->month = 24288;
	u->used_month = 18446744073709551615ULL;
	err[0] = '\0';
	assert_int_equal(user_states_save(&us, path, err, sizeof(err)), 0);
	assert_string_equal(err, "");

	/* the file: a header and one line per user with usage */
	s = slurp(path);
	assert_int_equal(strncmp(s, STATE_HEADER, strlen(STATE_HEADER)), 0);
	assert_non_null(strstr(s, "\nu alice 809601 123 24288 456789\n"));
	assert_non_null(strstr(s, "\nu carol 809600 0 24288 "
	    "18446744073709551615\n"));
	assert_null(strstr(s, "bob"));
	assert_int_equal(strlen(s), strlen(STATE_HEADER) +
	    strlen("u alice 809601 123 24288 456789\n") +
	    strlen("u carol 809600 0 24288 18446744073709551615\n"));
	free(s);
	/* no temporary file is left beside it */
	assert_int_equal(count_files("state1"), 1);

	assert_int_equal(user_states_init(&back), 0);
	assert_int_equal(user_states_load(&back, path, err, sizeof(err)), 0);
	assert_int_equal(back.count, 2);
	u = user_state_get(&back, "alice");
	assert_int_equal(u->day, 809601);
	assert_int_equal(u->used_day, 123);
	assert_int_equal(u->month, 24288);
	assert_int_equal(u->used_month, 456789);
	assert_int_equal(u->sessions, 0);
	u = user_state_get(&back, "carol");
	assert_int_equal(u->day, 809600);
	assert_int_equal(u->used_day, 0);
	assert_int_equal(u->month, 24288);
	assert_int_equal(u->used_month, 18446744073709551615ULL);
	assert_int_equal(back.count, 2);

	/* loaded into a table that knows the user: the same state, updated */
	u = user_state_get(&us, "alice");
	u->used_day = 1;
	u->sessions = 7;
	assert_int_equal(user_states_load(&us, path, err, sizeof(err)), 0);
	assert_ptr_equal(user_state_get(&us, "alice"), u);
	assert_int_equal(u->used_day, 123);
	assert_int_equal(u->sessions, 7);
	assert_int_equal(us.count, 3);

	/* saving an empty table: the header alone */
	user_states_free(&back);
	assert_int_equal(user_states_init(&back), 0);
	assert_int_equal(user_states_save(&back, path, err, sizeof(err)), 0);
	s = slurp(path);
	assert_string_equal(s, STATE_HEADER);
	free(s);
	user_states_free(&back);
	user_states_free(&us);
	unlink(path);
}

/* Every name a configuration accepts survives the file. */
static void
test_state_odd_names(void **state)
{
	static const char *const names[] = {
		"#hash", "#", "a#b", "\xc3\xa9t\xc3\xa9", "x=y", "[v]",
		"0", "-",
	};
	struct user_states us, back;
	struct user_state *u;
	char path[PATH_MAX], err[256], longest[256], lost[1024];
	size_t i;

	(void)state;
	tmp_path(path, sizeof(path), "state-names");
	assert_int_equal(user_states_init(&us), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		u = user_state_get(&us, names[i]);
		u->day = 1;
		u->used_day = 100 + i;
		u->month = 2;
		u->used_month = 200 + i;
	}
	memset(longest, '~', 255);
	longest[255] = '\0';
	u = user_state_get(&us, longest);
	u->used_month = 77;
	assert_int_equal(user_states_save(&us, path, err, sizeof(err)), 0);
	assert_int_equal(user_states_init(&back), 0);
	assert_int_equal(user_states_load(&back, path, err, sizeof(err)), 0);
	lost[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		u = user_state_get(&back, names[i]);
		if (u->used_day != 100 + i || u->used_month != 200 + i)
			snprintf(lost + strlen(lost), sizeof(lost) -
			    strlen(lost), " \"%s\" (used %llu/%llu, want "
			    "%zu/%zu)", names[i],
			    (unsigned long long)u->used_day,
			    (unsigned long long)u->used_month, 100 + i,
			    200 + i);
	}
	assert_int_equal(user_state_get(&back, longest)->used_month, 77);
	user_states_free(&back);
	if (lost[0] != '\0') {
		user_states_free(&us);
		unlink(path);
		fail_msg("lost in the state file:%s", lost);
	}
	user_states_free(&us);
	unlink(path);
}

/*
 * Saving renames a complete file over the old one: a reader that opened
 * the old file keeps reading the old, complete content.
 */
static void
test_state_save_atomic(void **state)
{
	struct user_states us;
	struct user_state *u;
	char path[PATH_MAX], err[256], old[256];
	struct stat st1, st2;
	ssize_t n;
	int fd;

	(void)state;
	tmp_path(path, sizeof(path), "state-atomic");
	write_file(path, STATE_HEADER "u old 1 2 3 4\n");
	assert_int_equal(stat(path, &st1), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);

	assert_int_equal(user_states_init(&us), 0);
	u = user_state_get(&us, "new");
	u->day = 5;
	u->used_day = 6;
	u->month = 7;
	u->used_month = 8;
	assert_int_equal(user_states_save(&us, path, err, sizeof(err)), 0);

	n = read(fd, old, sizeof(old) - 1);
	assert_true(n >= 0);
	old[n] = '\0';
	close(fd);
	assert_string_equal(old, STATE_HEADER "u old 1 2 3 4\n");
	assert_int_equal(stat(path, &st2), 0);
	assert_int_not_equal(st1.st_ino, st2.st_ino);
	{
		char *s = slurp(path);

		assert_string_equal(s, STATE_HEADER "u new 5 6 7 8\n");
		free(s);
	}
	assert_int_equal(count_files("state-atomic"), 1);

	/* a directory that does not exist: an error naming it, no file */
	tmp_path(path, sizeof(path), "no-such-dir/state");
	err[0] = '\0';
	assert_int_equal(user_states_save(&us, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-dir/state"));
	assert_int_equal(count_files("no-such-dir"), 0);
	user_states_free(&us);
	tmp_path(path, sizeof(path), "state-atomic");
	unlink(path);
}

static void
test_state_load_missing(void **state)
{
	struct user_states us;
	char path[PATH_MAX], err[256];

	(void)state;
	tmp_path(path, sizeof(path), "never-written");
	assert_int_equal(user_states_init(&us), 0);
	err[0] = '\0';
	assert_int_equal(user_states_load(&us, path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(us.count, 0);
	user_states_free(&us);
}

/* A malformed line: an error "FILE:LINE: ..." */
static void
check_load_bad(const char *text, int line)
{
	struct user_states us;
	char path[PATH_MAX], err[PATH_MAX + 100], want[PATH_MAX + 100];

	tmp_path(path, sizeof(path), "state-bad");
	write_file(path, text);
	assert_int_equal(user_states_init(&us), 0);
	err[0] = '\0';
	if (user_states_load(&us, path, err, sizeof(err)) != -1)
		fail_msg("accepted:\n%s", text);
	user_states_free(&us);
	snprintf(want, sizeof(want), "%s:%d: not \"u USER DAY BYTES MONTH "
	    "BYTES\"", path, line);
	assert_string_equal(err, want);
	unlink(path);
}

static void
test_state_load_malformed(void **state)
{
	(void)state;
	check_load_bad(STATE_HEADER "u alice 1 2 3 4\n\nu bob x 2 3 4\n", 4);
	check_load_bad("u alice 1 2 3\n", 1);
	check_load_bad("u alice\n", 1);
	check_load_bad("alice 1 2 3 4\n", 1);		/* the old layout */
	check_load_bad(STATE_HEADER "u alice 1 2 3 4\n \n", 3);
	check_load_bad(STATE_HEADER "u alice 1 2 3 4\nu carol 1 2 3 x\n", 3);
	check_load_bad("# one\n# two\n\n\nu alice one 2 3 4\n", 5);
	check_load_bad("u alice 1 -2 3 4\n", 1);	/* no sign */
	check_load_bad("u alice 1 2 3 4 5\n", 1);	/* trailing field */
	check_load_bad("u alice 1 2 3 4x\n", 1);
	check_load_bad("u alice  1 2 3 4\n", 1);	/* two spaces */
	check_load_bad("u  1 2 3 4\n", 1);		/* empty name */
	check_load_bad("u alice 1 18446744073709551616 3 4\n", 1);
	check_load_bad("u alice 9223372036854775808 2 3 4\n", 1);
}

/* ----- quota periods -------------------------------------------------- */

static void
test_roll(void **state)
{
	struct user_state u;

	(void)state;
	memset(&u, 0, sizeof(u));
	u.day = 100;
	u.month = 10;
	u.used_day = 5000;
	u.used_month = 90000;
	/* the same periods: nothing changes */
	user_state_roll(&u, 100, 10);
	assert_int_equal(u.day, 100);
	assert_int_equal(u.used_day, 5000);
	assert_int_equal(u.month, 10);
	assert_int_equal(u.used_month, 90000);
	/* a new day in the same month */
	user_state_roll(&u, 101, 10);
	assert_int_equal(u.day, 101);
	assert_int_equal(u.used_day, 0);
	assert_int_equal(u.month, 10);
	assert_int_equal(u.used_month, 90000);
	u.used_day = 7;
	/* a new month (and so a new day) */
	user_state_roll(&u, 102, 11);
	assert_int_equal(u.day, 102);
	assert_int_equal(u.used_day, 0);
	assert_int_equal(u.month, 11);
	assert_int_equal(u.used_month, 0);
	/* a fresh state (periods 0) starts its periods */
	memset(&u, 0, sizeof(u));
	u.used_day = 3;
	u.used_month = 4;
	user_state_roll(&u, policy_day(W_2024_01_02),
	    policy_month(W_2024_01_02));
	assert_int_equal(u.day, policy_day(W_2024_01_02));
	assert_int_equal(u.month, policy_month(W_2024_01_02));
	assert_int_equal(u.used_day, 0);
	assert_int_equal(u.used_month, 0);
}

static void
test_periods_utc(void **state)
{
	int64_t d1, d2;

	(void)state;
	/* a day: local midnight to midnight (TZ=UTC here) */
	d1 = policy_day(W_2024_01_02);
	assert_int_equal(policy_day(W_2024_01_02 + 3723000), d1);
	assert_int_equal(policy_day(W_2024_01_02 + 86399999), d1);
	d2 = policy_day(W_2024_01_02 + 86400000);
	assert_true(d2 > d1);
	assert_int_equal(d2 - d1, 1);
	assert_int_equal(policy_day(W_2024_01_02 - 1),
	    policy_day(W_2024_01_01));
	assert_int_equal(d1 - policy_day(W_2024_01_01), 1);
	/* 28 and 29 February, 1 March 2024 */
	d1 = policy_day(W_2024_02_29_12 - 86400000);
	d2 = policy_day(W_2024_02_29_12);
	assert_int_equal(d2 - d1, 1);
	assert_int_equal(policy_day(W_2024_02_29_12 + 86400000) - d2, 1);
	/* across a year: later is larger */
	assert_true(policy_day(W_2025_01_01) > policy_day(W_2025_01_01 - 1));
	assert_int_equal(policy_day(W_2025_01_01 - 1),
	    policy_day(W_2025_01_01 - 86400000));

	/* a month: year * 12 + month (0..11) */
	assert_int_equal(policy_month(0), 1970 * 12);
	assert_int_equal(policy_month(W_2024_01_01), 2024 * 12);
	assert_int_equal(policy_month(W_2024_01_01 - 1), 2023 * 12 + 11);
	assert_int_equal(policy_month(W_2024_01_31_15), 2024 * 12);
	assert_int_equal(policy_month(W_2024_02_29_12), 2024 * 12 + 1);
	assert_int_equal(policy_month(W_2025_01_01 - 1), 2024 * 12 + 11);
	assert_int_equal(policy_month(W_2025_01_01), 2025 * 12);
	/* deterministic */
	assert_int_equal(policy_day(W_2024_02_29_12),
	    policy_day(W_2024_02_29_12));
}

/* Periods follow local time: in Japan (UTC+9) the day starts at 15:00Z. */
static void
test_periods_local_time(void **state)
{
	int64_t before, after, m0, m1;

	(void)state;
	assert_int_equal(setenv("TZ", "JST-9", 1), 0);
	tzset();
	before = policy_day(W_2024_01_01 + 15 * 3600000LL - 1);
	after = policy_day(W_2024_01_01 + 15 * 3600000LL);
	m0 = policy_month(W_2024_01_31_15 - 1);
	m1 = policy_month(W_2024_01_31_15);
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
	assert_int_equal(after - before, 1);
	assert_int_equal(m0, 2024 * 12);
	assert_int_equal(m1, 2024 * 12 + 1);
	/* the same instants in UTC: one day, one month */
	assert_int_equal(policy_day(W_2024_01_01 + 15 * 3600000LL - 1),
	    policy_day(W_2024_01_01 + 15 * 3600000LL));
	assert_int_equal(policy_month(W_2024_01_31_15 - 1),
	    policy_month(W_2024_01_31_15));
}

/* ----- policies ------------------------------------------------------- */

static const char limits_conf[] =
    "listen = ( { address = \"127.0.0.1\"; port = 1080; } );\n"
    "auth = { users = (\n"
    "  { name = \"alice\"; password = \"x\"; limits = { per_user = 10;\n"
    "    user_bandwidth = 1000000; user_quota_daily = \"1G\";\n"
    "    user_quota_monthly = \"10G\"; }; },\n"
    "  { name = \"bob\"; password = \"y\"; },\n"
    "  { name = \"carol\"; password = \"z\";\n"
    "    limits = { per_user = 0; user_quota_daily = 0; }; },\n"
    "  { name = \"dave\"; password = \"w\";\n"
    "    limits = { user_bandwidth = \"2M\"; }; }\n"
    "); };\n"
    "limits = { per_user = 3; user_bandwidth = \"64K\";\n"
    "  user_quota_daily = \"500M\"; user_quota_monthly = \"5G\"; };\n";

static void
check_limits(struct policy *p, const char *name, int per_user, int64_t bw,
    int64_t daily, int64_t monthly)
{
	struct auth_user *u = user_of(p, name);

	if (u->per_user != per_user || u->bandwidth != bw ||
	    u->quota_daily != daily || u->quota_monthly != monthly)
		fail_msg("%s: per_user %d bandwidth %lld quota %lld/%lld, want "
		    "%d %lld %lld/%lld", name, u->per_user,
		    (long long)u->bandwidth, (long long)u->quota_daily,
		    (long long)u->quota_monthly, per_user, (long long)bw,
		    (long long)daily, (long long)monthly);
}

/* A user's own limits win; -1 (not given) takes the global value. */
static void
test_policy_effective_limits(void **state)
{
	struct policy *p;

	(void)state;
	p = policy_from(limits_conf, 1);
	assert_int_equal(p->refs, 1);
	assert_int_equal(p->generation, 1);
	assert_int_equal(p->conf.nusers, 4);
	assert_int_equal(p->auth->nusers, 4);
	assert_int_equal(p->conf.per_user, 3);
	check_limits(p, "alice", 10, 1000000, 1000000000LL, 10000000000LL);
	check_limits(p, "bob", 3, 64000, 500000000LL, 5000000000LL);
	/* 0 of its own: none for this user, whatever the global value */
	check_limits(p, "carol", 0, 64000, 0, 5000000000LL);
	check_limits(p, "dave", 3, 2000000, 500000000LL, 5000000000LL);
	/* not bound yet */
	assert_null(user_of(p, "alice")->st);
	policy_release(p);
}

/* No global limits: a user's own apply, the rest are 0 (none). */
static void
test_policy_no_global_limits(void **state)
{
	struct conf c;
	struct policy *p;
	char err[256];

	(void)state;
	conf_from(&c, "auth = { users = (\n"
	    "  { name = \"alice\"; password = \"x\";\n"
	    "    limits = { user_quota_monthly = \"1GiB\"; }; },\n"
	    "  { name = \"bob\"; password = \"y\"; } ); };\n");
	/* a -u user after the file: inherits too */
	assert_int_equal(conf_add_user_arg(&c, "zed:pw", err, sizeof(err)), 0);
	p = policy_new(&c, 7, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(p->generation, 7);
	check_limits(p, "alice", 0, 0, 0, 1073741824LL);
	check_limits(p, "bob", 0, 0, 0, 0);
	check_limits(p, "zed", 0, 0, 0, 0);
	assert_int_equal(p->guard.shared, 0);
	policy_release(p);
	conf_free(&c);
}

/* guard.shared: a listener off loopback. */
static void
test_policy_guard_shared(void **state)
{
	static const struct {
		const char	*listen;
		int		shared;
	} t[] = {
		{ "listen = ( { address = \"127.0.0.1\"; port = 1080; } );\n",
		    0 },
		{ "listen = ( { address = \"127.0.0.2\"; port = 1080; },\n"
		  "  { address = \"::1\"; port = 1080; } );\n", 0 },
		{ "", 0 },	/* the default: loopback */
		{ "listen = ( { address = \"0.0.0.0\"; port = 1080; } );\n",
		    1 },
		{ "listen = ( { address = \"::\"; port = 1080; } );\n", 1 },
		{ "listen = ( { address = \"127.0.0.1\"; port = 1080; },\n"
		  "  { address = \"192.0.2.2\"; port = 1080; } );\n", 1 },
	};
	struct policy *p;
	union sockaddr_u a;
	char text[1024];
	size_t i;
	int j;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "%sauth = { users = ( { name = "
		    "\"alice\"; password = \"x\"; } ); };\n", t[i].listen);
		p = policy_from(text, 1);
		if (p->guard.shared != t[i].shared)
			fail_msg("guard.shared %d, want %d for:\n%s",
			    p->guard.shared, t[i].shared, text);
		assert_int_equal(conf_is_shared(&p->conf), t[i].shared);
		/* this host's addresses, one block of one each */
		assert_true(p->guard.nown >= 1);
		assert_ptr_equal(p->guard.own, p->own);
		for (j = 0; j < p->guard.nown; j++) {
			a = p->own[j].addr;
			assert_true(p->own[j].prefix ==
			    (a.sa.sa_family == AF_INET ? 32 : 128));
			assert_int_equal(netaddr_cidr_match(&p->own[j], &a),
			    1);
			assert_int_equal(rules_protected(&p->guard, &a),
			    t[i].shared);
		}
		/* loopback is among them */
		assert_int_equal(netaddr_parse_ip("127.0.0.1", &a), 0);
		for (j = 0; j < p->guard.nown; j++)
			if (netaddr_cidr_match(&p->own[j], &a))
				break;
		assert_true(j < p->guard.nown);
		policy_release(p);
	}
}

/* Two policies (a reload) share each user's state, by name. */
static void
test_policy_bind_shares_states(void **state)
{
	struct user_states us;
	struct policy *p1, *p2;
	struct user_state *st;

	(void)state;
	assert_int_equal(user_states_init(&us), 0);
	p1 = policy_from("auth = { users = (\n"
	    "  { name = \"alice\"; password = \"x\"; },\n"
	    "  { name = \"bob\"; password = \"y\"; } ); };\n", 1);
	assert_int_equal(policy_bind(p1, &us), 0);
	assert_int_equal(us.count, 2);
	st = user_of(p1, "alice")->st;
	assert_non_null(st);
	assert_string_equal(st->name, "alice");
	assert_ptr_equal(st, user_state_get(&us, "alice"));
	assert_ptr_not_equal(user_of(p1, "bob")->st, st);
	st->active = 2;
	st->used_day = 4096;

	/* the reloaded configuration: alice kept, bob gone, carol new */
	p2 = policy_from("auth = { users = (\n"
	    "  { name = \"carol\"; password = \"z\"; },\n"
	    "  { name = \"alice\"; password = \"new\"; } ); };\n", 2);
	assert_int_equal(policy_bind(p2, &us), 0);
	assert_int_equal(us.count, 3);
	assert_ptr_equal(user_of(p2, "alice")->st, st);
	assert_int_equal(user_of(p2, "alice")->st->active, 2);
	assert_int_equal(user_of(p2, "alice")->st->used_day, 4096);
	assert_ptr_equal(user_of(p2, "carol")->st,
	    user_state_get(&us, "carol"));
	assert_null(auth_db_find(p2->auth, "bob", 3));
	/* the old policy goes; the state stays for the new one */
	policy_release(p1);
	assert_int_equal(user_of(p2, "alice")->st->used_day, 4096);
	/* binding again is harmless */
	assert_int_equal(policy_bind(p2, &us), 0);
	assert_ptr_equal(user_of(p2, "alice")->st, st);
	assert_int_equal(us.count, 3);
	policy_release(p2);
	user_states_free(&us);
}

static void
test_policy_refcount(void **state)
{
	struct policy *p;

	(void)state;
	p = policy_from(limits_conf, 3);
	assert_int_equal(p->refs, 1);
	assert_ptr_equal(policy_ref(p), p);
	assert_int_equal(p->refs, 2);
	assert_ptr_equal(policy_ref(p), p);
	assert_int_equal(p->refs, 3);
	policy_release(p);
	assert_int_equal(p->refs, 2);
	policy_release(p);
	assert_int_equal(p->refs, 1);
	/* the generation and the configuration are intact until the last */
	assert_int_equal(p->generation, 3);
	assert_int_equal(p->conf.per_user, 3);
	policy_release(p);		/* freed: valgrind checks */
	policy_release(NULL);		/* harmless */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states_same_name),
		cmocka_unit_test(test_states_many),
		cmocka_unit_test(test_state_save_load),
		cmocka_unit_test(test_state_odd_names),
		cmocka_unit_test(test_state_save_atomic),
		cmocka_unit_test(test_state_load_missing),
		cmocka_unit_test(test_state_load_malformed),
		cmocka_unit_test(test_roll),
		cmocka_unit_test(test_periods_utc),
		cmocka_unit_test(test_periods_local_time),
		cmocka_unit_test(test_policy_effective_limits),
		cmocka_unit_test(test_policy_no_global_limits),
		cmocka_unit_test(test_policy_guard_shared),
		cmocka_unit_test(test_policy_bind_shares_states),
		cmocka_unit_test(test_policy_refcount),
	};

	return cmocka_run_group_tests_name("policy", tests, group_setup,
	    group_teardown);
}
