/*
 * User table and password checks.  See auth.h.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "../conf/conf.h"

static int
user_cmp(const void *a, const void *b)
{
	const struct auth_user *ua = a, *ub = b;

	return strcmp(ua->name, ub->name);
}

/*
 * Build the table from the configuration's users.  Plain passwords become
 * digests here (the configuration still holds its copy until it is freed).
 * Returns NULL on allocation failure or when no random key can be had.
 */
struct auth_db *
auth_db_new(const struct conf *c)
{
	struct auth_db *db;
	struct auth_user *u;
	const struct conf_user *cu;
	int i;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	if (siphash_key_random(&db->key) == -1)
		goto fail;
	if (c->nusers > 0 &&
	    (db->users = calloc((size_t)c->nusers, sizeof(*u))) == NULL)
		goto fail;
	for (i = 0; i < c->nusers; i++) {
		cu = &c->users[i];
		u = &db->users[db->nusers++];
		if ((u->name = strdup(cu->name)) == NULL)
			goto fail;
		if (cu->hash != NULL) {
			if ((u->hash = strdup(cu->hash)) == NULL)
				goto fail;
			if (db->dummy_hash == NULL &&
			    (db->dummy_hash = strdup(cu->hash)) == NULL)
				goto fail;
		} else {
			siphash128(&db->key, cu->password,
			    strlen(cu->password), u->digest);
			u->has_digest = 1;
		}
	}
	if (db->nusers > 1)
		qsort(db->users, (size_t)db->nusers, sizeof(*db->users),
		    user_cmp);
	return db;
fail:
	auth_db_free(db);
	return NULL;
}

void
auth_db_free(struct auth_db *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < db->nusers; i++) {
		free(db->users[i].name);
		free(db->users[i].hash);
	}
	free(db->users);
	free(db->dummy_hash);
	explicit_bzero(&db->key, sizeof(db->key));
	free(db);
}

/*
 * The user called name[0..len), or NULL.  A name with a NUL byte inside
 * matches nobody.
 */
struct auth_user *
auth_db_find(const struct auth_db *db, const char *name, size_t len)
{
	struct auth_user key = { .name = NULL };
	char buf[256];

	if (db->nusers == 0 || len == 0 || len >= sizeof(buf) ||
	    memchr(name, '\0', len) != NULL)
		return NULL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	key.name = buf;
	return bsearch(&key, db->users, (size_t)db->nusers,
	    sizeof(*db->users), user_cmp);
}

/*
 * Compare n bytes without an early exit: the time does not depend on where
 * the first difference is.  1 when equal.
 */
int
auth_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/*
 * Check name/password.  *user is set to the user when the name is known
 * (even when the password is wrong), else NULL.  AUTH_NEED_CRYPT means a
 * crypt(3) check must decide.  For an unknown name, when hashed users
 * exist, that check runs against dummy_hash (a copy of a real hash) and its
 * result is ignored by the caller, which rejects: an unknown name then costs
 * what a known hashed one costs.  Passwords are compared through a keyed
 * digest, so neither their length nor their bytes show in the time taken.
 * An empty password, or one with a NUL byte, fails at once for any name.
 */
enum auth_verdict
auth_check(struct auth_db *db, const char *name, size_t nlen,
    const char *pass, size_t plen, struct auth_user **user)
{
	struct auth_user *u;
	uint8_t d[16];

	*user = u = auth_db_find(db, name, nlen);
	if (plen == 0 || memchr(pass, '\0', plen) != NULL)
		return AUTH_DENIED;
	if (u == NULL)
		return db->dummy_hash != NULL ? AUTH_NEED_CRYPT : AUTH_DENIED;
	if (__atomic_load_n(&u->has_digest, __ATOMIC_ACQUIRE)) {
		siphash128(&db->key, pass, plen, d);
		if (auth_ct_equal(d, u->digest, sizeof(d)))
			return AUTH_OK;
		if (u->hash == NULL)
			return AUTH_DENIED;
	}
	return AUTH_NEED_CRYPT;
}

/*
 * crypt(3) check of pass[0..plen) against hash.  Thread-safe with a
 * per-thread crypt_data.  1 when it matches, else 0.
 */
int
auth_crypt_verify(const char *hash, const char *pass, size_t plen,
    struct crypt_data *cd)
{
	char buf[256];
	const char *out;
	size_t hlen = strlen(hash);
	int ok;

	if (plen == 0 || plen >= sizeof(buf) || memchr(pass, '\0', plen))
		return 0;
	memcpy(buf, pass, plen);
	buf[plen] = '\0';
	out = crypt_r(buf, hash, cd);
	explicit_bzero(buf, sizeof(buf));
	ok = out != NULL && out[0] != '*' && strlen(out) == hlen &&
	    auth_ct_equal(out, hash, hlen);
	explicit_bzero(cd->output, sizeof(cd->output));
	return ok;
}

/*
 * After crypt(3) accepted pass for a hashed user, remember its digest so
 * the next check of the same password is fast.  The plain text is not kept.
 * Workers share the user: the digest is written once, under a flag taken
 * atomically, and published (release) after it is complete.
 */
void
auth_remember(struct auth_db *db, struct auth_user *u, const char *pass,
    size_t plen)
{
	int expect = 0;

	if (u == NULL || u->hash == NULL ||
	    !__atomic_compare_exchange_n(&u->digest_taken, &expect, 1, 0,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	siphash128(&db->key, pass, plen, u->digest);
	__atomic_store_n(&u->has_digest, 1, __ATOMIC_RELEASE);
}
