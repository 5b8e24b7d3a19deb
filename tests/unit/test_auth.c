/*
 * Unit tests for the user table and password checks (auth/auth.c) and the
 * crypt pool (auth/crypt_pool.c) driven by a real event_base.
 *
 * The crypt(3) hashes are made here at start-up ($6$, $5$ and $y$, with
 * fresh salts), so the tests do not depend on fixed strings.  The conf the
 * table is built from is filled in by hand: auth.c reads only the users.
 */
#include <crypt.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "auth.h"
#include "conf.h"
#include "crypt_pool.h"


enum {
	H_SHA512 = 0,		/* $6$: carol */
	H_SHA256,		/* $5$: dave */
	H_YESCRYPT,		/* $y$: erin */
	H_LONG,			/* $6$ of a 255-byte password */
	H_EMPTY,		/* $6$ of "" */
	H_COUNT,
};

static const char *const hash_prefix[H_COUNT] = {
	"$6$", "$5$", "$y$", "$6$", "$6$",
};

static char hashes[H_COUNT][CRYPT_OUTPUT_SIZE];
static char pass255[256];		/* 255 bytes of 'p' + NUL */
static char name255[256];		/* 255 bytes of 'n' + NUL */
static char name256[257];		/* name255 plus one byte */
static struct crypt_data *cd;		/* for auth_crypt_verify */

/* The crypt pool end of the group. */
static struct event_base *base;
static struct crypt_home home;

/* ----- helpers -------------------------------------------------------- */

static const char *
pass_of(int h)
{
	switch (h) {
	case H_SHA512:
		return "carol-pw";
	case H_SHA256:
		return "dave-pw";
	case H_YESCRYPT:
		return "erin-pw";
	case H_LONG:
		return pass255;
	}
	return "";
}

static int
make_hash(int h)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *d;
	const char *out;

	if (crypt_gensalt_rn(hash_prefix[h], 0, NULL, 0, salt,
	    sizeof(salt)) == NULL)
		return -1;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	out = crypt_r(pass_of(h), salt, d);
	if (out == NULL || out[0] == '*' ||
	    strlen(out) >= sizeof(hashes[h])) {
		free(d);
		return -1;
	}
	strcpy(hashes[h], out);
	free(d);
	return 0;
}

/* One user of a test table: a plain password or a hash. */
struct spec {
	const char	*name;		/* 1..255 bytes */
	const char	*password;	/* or NULL */
	const char	*hash;		/* or NULL */
};

/*
 * A conf holding the given users.  Only nusers and users are set (all that
 * auth_db_new() reads); free with free_users_conf().
 */

static void
users_conf(struct conf *c, const struct spec *s, int n)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->nusers = n;
	if (n == 0)
		return;
	c->users = calloc((size_t)n, sizeof(*c->users));
	assert_non_null(c->users);
	for (i = 0; i < n; i++) {
		c->users[i].name = strdup(s[i].name);
		assert_non_null(c->users[i].name);
		if (s[i].password != NULL) {
			c->users[i].password = strdup(s[i].password);
			assert_non_null(c->users[i].password);
		}
		if (s[i].hash != NULL) {
			c->users[i].hash = strdup(s[i].hash);
			assert_non_null(c->users[i].hash);
		}
	}
}

static void
free_users_conf(struct conf *c)
{
	int i;

	for (i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].password);
		free(c->users[i].hash);
	}
	free(c->users);
	memset(c, 0, sizeof(*c));
}

/* The mixed table: plain and hashed users, given unsorted. */
static struct auth_db *
mixed_db(void)
{
	const struct spec s[] = {
		{ "erin", NULL, hashes[H_YESCRYPT] },
		{ "bob", "hunter2", NULL },
		{ "carol", NULL, hashes[H_SHA512] },
		{ "alice", "secret", NULL },
		{ name255, "long-name-pw", NULL },
		{ "dave", NULL, hashes[H_SHA256] },
	};
	struct auth_db *db;
	struct conf c;

	users_conf(&c, s, (int)(sizeof(s) / sizeof(s[0])));
	db = auth_db_new(&c);
	free_users_conf(&c);	/* the table keeps no pointer into conf */
	assert_non_null(db);
	return db;
}

static struct auth_db *
plain_db(void)
{
	const struct spec s[] = {
		{ "alice", "secret", NULL },
		{ "bob", "hunter2", NULL },
	};
	struct auth_db *db;
	struct conf c;

	users_conf(&c, s, 2);
	db = auth_db_new(&c);
	free_users_conf(&c);
	assert_non_null(db);
	return db;
}

static enum auth_verdict
check(struct auth_db *db, const char *name, const char *pass,
    struct auth_user **u)
{
	/* a value auth_check() must overwrite */
	*u = (struct auth_user *)(uintptr_t)0x1;
	return auth_check(db, name, strlen(name), pass, strlen(pass), u);
}

static int
group_setup(void **state)
{
	int h;

	(void)state;
	memset(pass255, 'p', 255);
	memset(name255, 'n', 255);
	memset(name256, 'n', 256);
	for (h = 0; h < H_COUNT; h++)
		if (make_hash(h) == -1)
			return -1;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	if ((base = event_base_new()) == NULL)
		return -1;
	if (crypt_home_init(&home, base) == -1)
		return -1;
	return 0;
}

/* crypt_pool_stop() is final for the process: it runs once, here. */
static int
group_teardown(void **state)
{
	(void)state;
	crypt_pool_stop();
	crypt_home_free(&home);
	event_base_free(base);
	free(cd);
	return 0;
}

/* ----- the table ------------------------------------------------------ */

static void
test_db_sorted_and_owned(void **state)
{
	static const char *const want[] = {
		"alice", "bob", "carol", "dave", "erin",
	};
	struct auth_db *db;
	int i;

	(void)state;
	db = mixed_db();
	assert_int_equal(db->nusers, 6);
	for (i = 0; i < 5; i++)
		assert_string_equal(db->users[i].name, want[i]);
	assert_string_equal(db->users[5].name, name255);
	assert_null(db->users[0].hash);		/* alice: plain */
	assert_int_equal(db->users[0].has_digest, 1);
	assert_null(db->users[1].hash);
	assert_int_equal(db->users[1].has_digest, 1);
	assert_string_equal(db->users[2].hash, hashes[H_SHA512]);
	assert_int_equal(db->users[2].has_digest, 0);
	assert_string_equal(db->users[3].hash, hashes[H_SHA256]);
	assert_int_equal(db->users[3].has_digest, 0);
	assert_string_equal(db->users[4].hash, hashes[H_YESCRYPT]);
	assert_int_equal(db->users[4].has_digest, 0);
	/* no state yet: policy_bind() ties users to their counters */
	for (i = 0; i < db->nusers; i++)
		assert_null(db->users[i].st);
	/* the first hashed user of the configuration */
	assert_non_null(db->dummy_hash);
	assert_string_equal(db->dummy_hash, hashes[H_YESCRYPT]);
	auth_db_free(db);
}

static void
test_db_plain_digest_is_not_password(void **state)
{
	struct auth_db *db;
	struct auth_user *u;

	(void)state;
	db = plain_db();
	u = auth_db_find(db, "alice", 5);
	assert_non_null(u);
	assert_null(memmem(u->digest, sizeof(u->digest), "secret", 6));
	assert_null(db->dummy_hash);
	auth_db_free(db);
}

static void
test_db_keys_differ(void **state)
{
	struct auth_db *a, *b;
	struct auth_user *ua, *ub;

	(void)state;
	a = plain_db();
	b = plain_db();
	assert_memory_not_equal(&a->key, &b->key, sizeof(a->key));
	ua = auth_db_find(a, "alice", 5);
	ub = auth_db_find(b, "alice", 5);
	assert_memory_not_equal(ua->digest, ub->digest, sizeof(ua->digest));
	auth_db_free(a);
	auth_db_free(b);
}

static void
test_db_empty(void **state)
{
	struct auth_db *db;
	struct auth_user *u;
	struct conf c;

	(void)state;
	users_conf(&c, NULL, 0);
	db = auth_db_new(&c);
	assert_non_null(db);
	assert_int_equal(db->nusers, 0);
	assert_null(db->dummy_hash);
	assert_null(auth_db_find(db, "alice", 5));
	assert_int_equal(auth_check(db, "alice", 5, "secret", 6, &u),
	    AUTH_DENIED);
	assert_null(u);
	auth_db_free(db);
	auth_db_free(NULL);
}

static void
test_find(void **state)
{
	struct auth_db *db;
	struct auth_user *u;

	(void)state;
	db = mixed_db();
	u = auth_db_find(db, "alice", 5);
	assert_non_null(u);
	assert_string_equal(u->name, "alice");
	u = auth_db_find(db, "erin", 4);
	assert_non_null(u);
	assert_string_equal(u->name, "erin");
	/* only len bytes count: no NUL needed after the name */
	u = auth_db_find(db, "carolXYZ", 5);
	assert_non_null(u);
	assert_string_equal(u->name, "carol");

	assert_null(auth_db_find(db, "mallory", 7));
	assert_null(auth_db_find(db, "alic", 4));	/* prefix */
	assert_null(auth_db_find(db, "alicea", 6));	/* extension */
	assert_null(auth_db_find(db, "Alice", 5));	/* case matters */
	assert_null(auth_db_find(db, "alice", 0));
	assert_null(auth_db_find(db, "", 0));
	auth_db_free(db);
}

static void
test_find_nul_inside(void **state)
{
	struct auth_db *db;

	(void)state;
	db = mixed_db();
	assert_null(auth_db_find(db, "alice\0", 6));
	assert_null(auth_db_find(db, "ali\0ce", 6));
	assert_null(auth_db_find(db, "\0alice", 6));
	assert_null(auth_db_find(db, "\0", 1));
	auth_db_free(db);
}

static void
test_find_length_255_256(void **state)
{
	struct auth_db *db;
	struct auth_user *u;
	char buf[300];

	(void)state;
	db = mixed_db();
	/* exactly sized, not NUL-terminated */
	memcpy(buf, name255, 255);
	buf[255] = 'Z';
	u = auth_db_find(db, buf, 255);
	assert_non_null(u);
	assert_string_equal(u->name, name255);
	assert_null(auth_db_find(db, name256, 256));
	assert_null(auth_db_find(db, buf, 256));
	assert_null(auth_db_find(db, name255, 254));
	auth_db_free(db);
}

/* ----- auth_check ----------------------------------------------------- */

static void
test_check_plain_ok(void **state)
{
	struct auth_db *db;
	struct auth_user *u;

	(void)state;
	db = mixed_db();
	assert_int_equal(check(db, "alice", "secret", &u), AUTH_OK);
	assert_ptr_equal(u, auth_db_find(db, "alice", 5));
	assert_int_equal(check(db, "bob", "hunter2", &u), AUTH_OK);
	assert_ptr_equal(u, auth_db_find(db, "bob", 3));
	assert_int_equal(auth_check(db, name255, 255, "long-name-pw", 12, &u),
	    AUTH_OK);
	assert_string_equal(u->name, name255);
	auth_db_free(db);
}

static void
test_check_plain_denied(void **state)
{
	struct auth_db *db;
	struct auth_user *u, *alice;

	(void)state;
	db = mixed_db();
	alice = auth_db_find(db, "alice", 5);
	assert_int_equal(check(db, "alice", "secreT", &u), AUTH_DENIED);
	/* a known name with a wrong password still sets *user */
	assert_ptr_equal(u, alice);
	assert_int_equal(check(db, "alice", "hunter2", &u), AUTH_DENIED);
	assert_int_equal(check(db, "alice", "secret1", &u), AUTH_DENIED);
	assert_int_equal(check(db, "alice", "secre", &u), AUTH_DENIED);
	assert_int_equal(check(db, "alice", "s", &u), AUTH_DENIED);
	assert_int_equal(check(db, "alice", pass255, &u), AUTH_DENIED);
	assert_int_equal(check(db, "alice", "", &u), AUTH_DENIED);
	assert_ptr_equal(u, alice);
	assert_int_equal(auth_check(db, "alice", 5, "secret\0", 7, &u),
	    AUTH_DENIED);
	assert_int_equal(auth_check(db, "alice", 5, "secret", 5, &u),
	    AUTH_DENIED);
	assert_int_equal(auth_check(db, "alice", 5, "\0secret", 7, &u),
	    AUTH_DENIED);
	/* the right password still works after all that */
	assert_int_equal(check(db, "alice", "secret", &u), AUTH_OK);
	auth_db_free(db);
}

static void
test_check_hashed_needs_crypt(void **state)
{
	struct auth_db *db;
	struct auth_user *u;

	(void)state;
	db = mixed_db();
	assert_int_equal(check(db, "carol", "carol-pw", &u), AUTH_NEED_CRYPT);
	assert_ptr_equal(u, auth_db_find(db, "carol", 5));
	assert_int_equal(check(db, "carol", "wrong", &u), AUTH_NEED_CRYPT);
	assert_ptr_equal(u, auth_db_find(db, "carol", 5));
	assert_int_equal(check(db, "dave", "dave-pw", &u), AUTH_NEED_CRYPT);
	assert_int_equal(check(db, "erin", "erin-pw", &u), AUTH_NEED_CRYPT);
	assert_ptr_equal(u, auth_db_find(db, "erin", 4));
	auth_db_free(db);
}

static void
test_check_hashed_empty_or_nul_denied(void **state)
{
	struct auth_db *db;
	struct auth_user *u;

	(void)state;
	db = mixed_db();
	assert_int_equal(check(db, "carol", "", &u), AUTH_DENIED);
	assert_ptr_equal(u, auth_db_find(db, "carol", 5));
	assert_int_equal(auth_check(db, "carol", 5, "carol-pw\0", 9, &u),
	    AUTH_DENIED);
	assert_int_equal(auth_check(db, "carol", 5, "car\0ol-pw", 9, &u),
	    AUTH_DENIED);
	assert_int_equal(auth_check(db, "erin", 4, "\0", 1, &u), AUTH_DENIED);
	auth_db_free(db);
}

static void
test_check_remember_fast_path(void **state)
{
	struct auth_db *db;
	struct auth_user *u, *carol;

	(void)state;
	db = mixed_db();
	carol = auth_db_find(db, "carol", 5);
	assert_int_equal(check(db, "carol", "carol-pw", &u), AUTH_NEED_CRYPT);
	assert_int_equal(auth_crypt_verify(carol->hash, "carol-pw", 8, cd), 1);
	auth_remember(db, carol, "carol-pw", 8);
	assert_int_equal(carol->has_digest, 1);
	assert_int_equal(check(db, "carol", "carol-pw", &u), AUTH_OK);
	assert_ptr_equal(u, carol);
	/* anything else still goes to crypt(3), never straight to OK */
	assert_int_equal(check(db, "carol", "carol-pW", &u), AUTH_NEED_CRYPT);
	assert_ptr_equal(u, carol);
	assert_int_equal(check(db, "carol", "carol-pw2", &u),
	    AUTH_NEED_CRYPT);
	assert_int_equal(check(db, "carol", "x", &u), AUTH_NEED_CRYPT);
	assert_int_equal(check(db, "carol", "", &u), AUTH_DENIED);
	assert_int_equal(auth_check(db, "carol", 5, "carol-pw\0", 9, &u),
	    AUTH_DENIED);
	/* the fast path is per user */
	assert_int_equal(check(db, "dave", "carol-pw", &u), AUTH_NEED_CRYPT);
	assert_int_equal(check(db, "carol", "carol-pw", &u), AUTH_OK);
	auth_db_free(db);
}

static void
test_check_remember_first_stays(void **state)
{
	struct auth_db *db;
	struct auth_user *u, *dave;

	(void)state;
	db = mixed_db();
	dave = auth_db_find(db, "dave", 4);
	auth_remember(db, dave, "dave-pw", 7);
	/*
	 * The first digest stays: workers share the user and read it
	 * without a lock, so it is written once.  A hash accepts one
	 * password, so a second is not expected (a changed hash comes with
	 * a reload, and a new user entry).
	 */
	auth_remember(db, dave, "dave-new", 8);
	assert_int_equal(check(db, "dave", "dave-pw", &u), AUTH_OK);
	assert_int_equal(check(db, "dave", "dave-new", &u), AUTH_NEED_CRYPT);
	auth_db_free(db);
}

static void
test_remember_ignores_plain_and_null(void **state)
{
	struct auth_db *db;
	struct auth_user *u, *alice;

	(void)state;
	db = mixed_db();
	alice = auth_db_find(db, "alice", 5);
	auth_remember(db, alice, "other", 5);
	assert_int_equal(check(db, "alice", "secret", &u), AUTH_OK);
	assert_int_equal(check(db, "alice", "other", &u), AUTH_DENIED);
	auth_remember(db, NULL, "other", 5);
	auth_db_free(db);
}

static void
test_check_unknown_with_hashed_users(void **state)
{
	struct auth_db *db;
	struct auth_user *u;

	(void)state;
	db = mixed_db();
	assert_int_equal(check(db, "mallory", "secret", &u), AUTH_NEED_CRYPT);
	assert_null(u);
	assert_non_null(db->dummy_hash);
	/* the dummy check must fail for what an attacker would guess */
	assert_int_equal(auth_crypt_verify(db->dummy_hash, "secret", 6, cd),
	    0);
	/* an empty password fails at once, whoever the name is */
	assert_int_equal(check(db, "mallory", "", &u), AUTH_DENIED);
	assert_null(u);
	assert_int_equal(check(db, "bob", "", &u), AUTH_DENIED);
	assert_int_equal(auth_check(db, "alice\0", 6, "secret", 6, &u),
	    AUTH_NEED_CRYPT);
	assert_null(u);
	assert_int_equal(auth_check(db, name256, 256, "x", 1, &u),
	    AUTH_NEED_CRYPT);
	assert_null(u);
	auth_db_free(db);
}

static void
test_check_unknown_plain_only(void **state)
{
	struct auth_db *db;
	struct auth_user *u;

	(void)state;
	db = plain_db();
	assert_int_equal(check(db, "mallory", "secret", &u), AUTH_DENIED);
	assert_null(u);
	assert_int_equal(check(db, "", "secret", &u), AUTH_DENIED);
	assert_null(u);
	assert_int_equal(auth_check(db, "alice\0", 6, "secret", 6, &u),
	    AUTH_DENIED);
	assert_null(u);
	auth_db_free(db);
}

/* ----- auth_crypt_verify ---------------------------------------------- */

static void
test_crypt_verify_methods(void **state)
{
	static const int hs[] = { H_SHA512, H_SHA256, H_YESCRYPT };
	const char *p;
	size_t i, n;

	(void)state;
	assert_memory_equal(hashes[H_SHA512], "$6$", 3);
	assert_memory_equal(hashes[H_SHA256], "$5$", 3);
	assert_memory_equal(hashes[H_YESCRYPT], "$y$", 3);
	for (i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		p = pass_of(hs[i]);
		n = strlen(p);
		if (auth_crypt_verify(hashes[hs[i]], p, n, cd) != 1)
			fail_msg("%s: right password refused", hashes[hs[i]]);
		assert_int_equal(auth_crypt_verify(hashes[hs[i]], "wrong", 5,
		    cd), 0);
		assert_int_equal(auth_crypt_verify(hashes[hs[i]], p, n - 1,
		    cd), 0);
		assert_int_equal(auth_crypt_verify(hashes[hs[i]], "x-pw", 4,
		    cd), 0);
		/* the output buffer is wiped */
		assert_null(memmem(cd->output, sizeof(cd->output),
		    hashes[hs[i]] + 3, strlen(hashes[hs[i]]) - 3));
	}
	/* one user's password against another's hash */
	assert_int_equal(auth_crypt_verify(hashes[H_SHA256], "carol-pw", 8,
	    cd), 0);
}

static void
test_crypt_verify_lengths(void **state)
{
	char buf[300];

	(void)state;
	assert_int_equal(auth_crypt_verify(hashes[H_LONG], pass255, 255, cd),
	    1);
	assert_int_equal(auth_crypt_verify(hashes[H_LONG], pass255, 254, cd),
	    0);
	memcpy(buf, pass255, 255);
	buf[255] = 'p';
	buf[256] = '\0';
	assert_int_equal(auth_crypt_verify(hashes[H_LONG], buf, 256, cd), 0);
	/* a hash of "" never matches: RFC 1929 passwords are 1..255 bytes */
	assert_int_equal(auth_crypt_verify(hashes[H_EMPTY], "", 0, cd), 0);
	assert_int_equal(auth_crypt_verify(hashes[H_SHA512], "", 0, cd), 0);
	/* a NUL inside never reaches crypt(3) */
	assert_int_equal(auth_crypt_verify(hashes[H_SHA512], "carol-pw\0", 9,
	    cd), 0);
	assert_int_equal(auth_crypt_verify(hashes[H_SHA512], "carol-pw\0x", 10,
	    cd), 0);
}

static void
test_crypt_verify_bad_hashes(void **state)
{
	char trunc[CRYPT_OUTPUT_SIZE];

	(void)state;
	assert_int_equal(auth_crypt_verify("*", "x", 1, cd), 0);
	assert_int_equal(auth_crypt_verify("!", "x", 1, cd), 0);
	assert_int_equal(auth_crypt_verify("$9$x", "x", 1, cd), 0);
	assert_int_equal(auth_crypt_verify("", "x", 1, cd), 0);
	/* a hash cut short never matches its password */
	strcpy(trunc, hashes[H_SHA512]);
	trunc[strlen(trunc) - 1] = '\0';
	assert_int_equal(auth_crypt_verify(trunc, "carol-pw", 8, cd), 0);
	/* a salt alone is no hash */
	*strrchr(trunc, '$') = '\0';
	assert_int_equal(auth_crypt_verify(trunc, "carol-pw", 8, cd), 0);
}

/* ----- auth_ct_equal -------------------------------------------------- */

static void
test_ct_equal(void **state)
{
	uint8_t a[32], b[32];
	size_t i;
	int bit;

	(void)state;
	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(auth_ct_equal(a, b, sizeof(a)), 1);
	assert_int_equal(auth_ct_equal(a, b, 0), 1);
	assert_int_equal(auth_ct_equal("abc", "xyz", 0), 1);
	for (i = 0; i < sizeof(a); i++) {
		for (bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			if (auth_ct_equal(a, b, sizeof(a)) != 0)
				fail_msg("byte %zu bit %d flipped: equal", i,
				    bit);
			/* a difference past n does not count */
			assert_int_equal(auth_ct_equal(a, b, i), 1);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(auth_ct_equal(a, b, sizeof(a)), 1);
	assert_int_equal(auth_ct_equal("\0\0", "\0\x01", 2), 0);
	assert_int_equal(auth_ct_equal("\xff", "\x7f", 1), 0);
}

/* ----- crypt pool ----------------------------------------------------- */

struct result {
	int		called;		/* times done() ran */
	int		ok;		/* job->ok as delivered */
	int		plen_ok;	/* the job still held its password */
};

static int pool_delivered;		/* done() calls so far */
static int pool_expected;		/* loop breaks at this count */
static int pool_timed_out;

static void
pool_done(struct crypt_job *j)
{
	struct result *r = j->arg;

	r->called++;
	r->ok = j->ok;
	r->plen_ok = j->plen > 0;
	assert_ptr_equal(j->home, &home);
	crypt_job_free(j);
	if (++pool_delivered >= pool_expected)
		event_base_loopbreak(base);
}

static int detached_called;

static void
detached_done(struct crypt_job *j)
{
	detached_called += j->arg == NULL ? 1 : 100;
	crypt_job_free(j);
	if (++pool_delivered >= pool_expected)
		event_base_loopbreak(base);
}

static void
pool_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	pool_timed_out = 1;
	event_base_loopbreak(base);
}

/* Run the loop until pool_expected results came, 10 s at most. */
static void
run_until_delivered(int expected)
{
	struct timeval tv = { 10, 0 };
	struct event *t;

	pool_delivered = 0;
	pool_expected = expected;
	pool_timed_out = 0;
	t = evtimer_new(base, pool_timeout_cb, NULL);
	assert_non_null(t);
	assert_int_equal(evtimer_add(t, &tv), 0);
	while (pool_delivered < expected && !pool_timed_out)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			break;
	event_free(t);
	if (pool_timed_out)
		fail_msg("crypt pool: %d of %d results after 10 s",
		    pool_delivered, expected);
	assert_int_equal(pool_delivered, expected);
}

static void
test_pool_end_to_end(void **state)
{
	struct {
		int		h;
		const char	*pass;
		int		want;
	} jobs[] = {
		{ H_SHA512, "carol-pw", 1 },
		{ H_SHA512, "carol-pW", 0 },
		{ H_SHA256, "dave-pw", 1 },
		{ H_YESCRYPT, "erin-pw", 1 },
		{ H_YESCRYPT, "dave-pw", 0 },
	};
	struct result res[5];
	struct crypt_job *j;
	size_t i;

	(void)state;
	memset(res, 0, sizeof(res));
	for (i = 0; i < 5; i++) {
		j = crypt_job_new(&home, hashes[jobs[i].h], jobs[i].pass,
		    strlen(jobs[i].pass), pool_done, &res[i]);
		assert_non_null(j);
		assert_int_equal(j->ok, 0);
		if (crypt_pool_submit(j) != 0) {
			crypt_job_free(j);
			fail_msg("job %zu refused", i);
		}
	}
	assert_int_equal(home.pending, 5);
	run_until_delivered(5);
	assert_int_equal(home.pending, 0);
	for (i = 0; i < 5; i++) {
		if (res[i].called != 1)
			fail_msg("job %zu: done() ran %d times", i,
			    res[i].called);
		if (res[i].ok != jobs[i].want)
			fail_msg("job %zu (%s): ok %d, want %d", i,
			    jobs[i].pass, res[i].ok, jobs[i].want);
		assert_int_equal(res[i].plen_ok, 1);
	}
	/* nothing more arrives */
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(res[i].called, 1);
}

static void
test_pool_long_and_odd_passwords(void **state)
{
	struct result res[3];
	struct crypt_job *j;

	(void)state;
	memset(res, 0, sizeof(res));
	j = crypt_job_new(&home, hashes[H_LONG], pass255, 255, pool_done,
	    &res[0]);
	assert_non_null(j);
	assert_int_equal(crypt_pool_submit(j), 0);
	j = crypt_job_new(&home, hashes[H_SHA512], "carol-pw\0", 9, pool_done,
	    &res[1]);
	assert_non_null(j);
	assert_int_equal(crypt_pool_submit(j), 0);
	j = crypt_job_new(&home, "*", "x", 1, pool_done, &res[2]);
	assert_non_null(j);
	assert_int_equal(crypt_pool_submit(j), 0);
	run_until_delivered(3);
	assert_int_equal(res[0].called, 1);
	assert_int_equal(res[0].ok, 1);
	assert_int_equal(res[1].called, 1);
	assert_int_equal(res[1].ok, 0);
	assert_int_equal(res[2].called, 1);
	assert_int_equal(res[2].ok, 0);
	/* a password that does not fit is refused up front */
	assert_null(crypt_job_new(&home, hashes[H_LONG], pass255, 256,
	    pool_done, &res[0]));
}

static void
test_pool_detached_job(void **state)
{
	struct crypt_job *j;

	(void)state;
	detached_called = 0;
	j = crypt_job_new(&home, hashes[H_SHA512], "carol-pw", 8,
	    detached_done, NULL);
	assert_non_null(j);
	assert_int_equal(crypt_pool_submit(j), 0);
	run_until_delivered(1);
	assert_int_equal(detached_called, 1);
	assert_int_equal(home.pending, 0);
}

static void
test_pool_detach_after_submit(void **state)
{
	struct result res;
	struct crypt_job *j;

	(void)state;
	detached_called = 0;
	memset(&res, 0, sizeof(res));
	j = crypt_job_new(&home, hashes[H_YESCRYPT], "erin-pw", 7,
	    detached_done, &res);
	assert_non_null(j);
	assert_int_equal(crypt_pool_submit(j), 0);
	j->arg = NULL;		/* the asker went away meanwhile */
	run_until_delivered(1);
	assert_int_equal(detached_called, 1);
	assert_int_equal(res.called, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_sorted_and_owned),
		cmocka_unit_test(test_db_plain_digest_is_not_password),
		cmocka_unit_test(test_db_keys_differ),
		cmocka_unit_test(test_db_empty),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_find_nul_inside),
		cmocka_unit_test(test_find_length_255_256),
		cmocka_unit_test(test_check_plain_ok),
		cmocka_unit_test(test_check_plain_denied),
		cmocka_unit_test(test_check_hashed_needs_crypt),
		cmocka_unit_test(test_check_hashed_empty_or_nul_denied),
		cmocka_unit_test(test_check_remember_fast_path),
		cmocka_unit_test(test_check_remember_first_stays),
		cmocka_unit_test(test_remember_ignores_plain_and_null),
		cmocka_unit_test(test_check_unknown_with_hashed_users),
		cmocka_unit_test(test_check_unknown_plain_only),
		cmocka_unit_test(test_crypt_verify_methods),
		cmocka_unit_test(test_crypt_verify_lengths),
		cmocka_unit_test(test_crypt_verify_bad_hashes),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_pool_end_to_end),
		cmocka_unit_test(test_pool_long_and_odd_passwords),
		cmocka_unit_test(test_pool_detached_job),
		cmocka_unit_test(test_pool_detach_after_submit),
	};

	return cmocka_run_group_tests_name("auth", tests, group_setup,
	    group_teardown);
}
