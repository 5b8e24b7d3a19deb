/*
 * The user table and password checks shared by every protocol (RFC 1929
 * for SOCKS5; Basic for HTTP later).  Plain passwords are never kept: the
 * table holds a keyed digest of each, compared in constant time.  crypt(3)
 * hashes are slow on purpose, so checking one is left to the caller (the
 * crypt pool runs it off the event loop); a password that verified once is
 * remembered as a digest so the next check is fast.
 */
#ifndef SLUICE_AUTH_H
#define SLUICE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "siphash.h"

struct conf;
struct crypt_data;
struct user_state;

struct auth_user {
	char		*name;		/* NUL-terminated, 1..255 bytes */
	char		*hash;		/* crypt(3) hash, NULL for plain */
	uint8_t		digest[16];	/* plain: of the password; hashed: of
					   the first password that verified */
	int		has_digest;	/* digest is valid */
	int		digest_taken;	/* a thread is writing it (hashed) */
	struct user_state *st;		/* counts and buckets (by name; they
					   outlive a reload) */
	int		per_user;	/* effective limits: the user's own, */
	int64_t		bandwidth;	/* else the global ones; 0: none */
	int64_t		quota_daily;
	int64_t		quota_monthly;
};

struct auth_db {
	struct auth_user *users;	/* sorted by name */
	int		nusers;
	struct siphash_key key;		/* random per process */
	char		*dummy_hash;	/* checked (and the result ignored) for
					   unknown names, so they cost what a
					   known hashed one costs */
};

enum auth_verdict {
	AUTH_OK = 0,		/* the password matches */
	AUTH_DENIED,		/* it does not (or no such user) */
	AUTH_NEED_CRYPT,	/* only crypt(3) can tell: see crypt_pool */
};

struct auth_db	*auth_db_new(const struct conf *);
void		 auth_db_free(struct auth_db *);
struct auth_user *auth_db_find(const struct auth_db *, const char *, size_t);
enum auth_verdict auth_check(struct auth_db *, const char *, size_t,
		    const char *, size_t, struct auth_user **);
int		 auth_crypt_verify(const char *, const char *, size_t,
		    struct crypt_data *);
void		 auth_remember(struct auth_db *, struct auth_user *,
		    const char *, size_t);
int		 auth_ct_equal(const void *, const void *, size_t);

#endif
