/*
 * The static build's users and groups: getpwnam(), getgrnam() and
 * initgroups() answered from /etc/passwd and /etc/group read here.
 *
 * Why: a statically linked glibc still resolves names through the NSS
 * modules /etc/nsswitch.conf lists, and loads them (libnss_systemd,
 * libnss_ldap...) with a dlopen() that pulls the system's shared libc
 * into a process that has its own copy inside.  That works only with the
 * exact glibc the binary was built with; on Debian 12 a lookup of a name
 * /etc/passwd does not have goes on to libnss_systemd and crashes the
 * static binary.  So the static build links its calls to these instead
 * (-Wl,--wrap=getpwnam,--wrap=getgrnam,--wrap=initgroups; see Makefile),
 * and knows exactly the users and groups of the two files: the service
 * user of a package always is there.  The parsing is glibc's own,
 * fgetpwent_r() and fgetgrent_r(), which read a stream and never touch
 * NSS.  The dynamic build does not link this file.
 *
 * Like the functions they replace, the lookups return static storage;
 * sluice calls them from the main thread only (configuration, start).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nssfiles.h"

/*
 * One entry's strings, grown on ERANGE up to a line no file should have.
 * getpwnam() and getgrnam() keep theirs, as glibc's do (an answer of one
 * outlives a call of the other); the group list has its own for a call.
 */
#define ENTRY_MIN	1024
#define ENTRY_MAX	(1024 * 1024)

struct ebuf {
	char	*p;
	size_t	 len;
};

static struct ebuf pwbuf, grbuf;

static int
grow(struct ebuf *b)
{
	size_t n = b->len ? b->len * 2 : ENTRY_MIN;
	char *p;

	if (n > ENTRY_MAX)
		return ERANGE;
	if ((p = realloc(b->p, n)) == NULL)
		return ENOMEM;
	b->p = p;
	b->len = n;
	return 0;
}

/*
 * The next entry of f: a passwd entry into *pw, or (pw NULL) a group
 * entry into *gr.  0, ENOENT at the end, or an errno.  On ERANGE glibc
 * rewinds the stream to the entry's start, so the same entry is read
 * again into a larger buffer.
 */
static int
next_ent(FILE *f, struct passwd *pw, struct group *gr, struct ebuf *b)
{
	struct passwd *pres;
	struct group *gres;
	int rc;

	do {
		if (b->p == NULL && (rc = grow(b)) != 0)
			return rc;
		rc = pw != NULL ? fgetpwent_r(f, pw, b->p, b->len, &pres) :
		    fgetgrent_r(f, gr, b->p, b->len, &gres);
	} while (rc == ERANGE && (rc = grow(b)) == 0);
	return rc;
}

/*
 * The entry named name in the file at path, as next_ent() reads it:
 * ent, or NULL with errno 0 for "none", or with the error (the file's
 * fopen(), or the reading's).
 */
static void *
find(const char *path, const char *name, struct passwd *pw,
    struct group *gr, struct ebuf *b)
{
	FILE *f;
	int rc;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	while ((rc = next_ent(f, pw, gr, b)) == 0)
		if (strcmp(pw != NULL ? pw->pw_name : gr->gr_name, name) == 0)
			break;
	fclose(f);
	if (rc == 0)
		return pw != NULL ? (void *)pw : (void *)gr;
	errno = rc == ENOENT ? 0 : rc;
	return NULL;
}

struct passwd *
nssf_getpwnam(const char *path, const char *name)
{
	static struct passwd pw;

	return find(path, name, &pw, NULL, &pwbuf);
}

struct group *
nssf_getgrnam(const char *path, const char *name)
{
	static struct group gr;

	return find(path, name, NULL, &gr, &grbuf);
}

static int
member(char *const *mem, const char *user)
{
	for (; mem != NULL && *mem != NULL; mem++)
		if (strcmp(*mem, user) == 0)
			return 1;
	return 0;
}

/* add g to list[0..n) unless there; returns the new n */
static int
add(gid_t *list, int n, gid_t g)
{
	for (int i = 0; i < n; i++)
		if (list[i] == g)
			return n;
	list[n] = g;
	return n + 1;
}

int
nssf_grouplist(const char *path, const char *user, gid_t gid, int max,
    gid_t **out)
{
	struct ebuf b = { NULL, 0 };
	struct group gr;
	gid_t *list;
	FILE *f;
	int n, rc;

	if (max < 1) {
		errno = EINVAL;
		return -1;
	}
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if ((list = malloc((size_t)max * sizeof(*list))) == NULL) {
		fclose(f);
		return -1;
	}
	n = add(list, 0, gid);
	while ((rc = next_ent(f, NULL, &gr, &b)) == 0)
		if (n < max && member(gr.gr_mem, user))
			n = add(list, n, gr.gr_gid);
	fclose(f);
	free(b.p);
	if (rc != ENOENT) {
		free(list);
		errno = rc;
		return -1;
	}
	*out = list;
	return n;
}

struct passwd *
__wrap_getpwnam(const char *name)
{
	return nssf_getpwnam(NSSF_PASSWD, name);
}

struct group *
__wrap_getgrnam(const char *name)
{
	return nssf_getgrnam(NSSF_GROUP, name);
}

/* as glibc's: the first NGROUPS_MAX groups when the user has more */
int
__wrap_initgroups(const char *user, gid_t gid)
{
	long max = sysconf(_SC_NGROUPS_MAX);
	gid_t *list;
	int n, rc;

	if (max < 1 || max > 65536)
		max = 65536;
	if ((n = nssf_grouplist(NSSF_GROUP, user, gid, (int)max, &list)) < 0)
		return -1;
	rc = setgroups((size_t)n, list);
	free(list);
	return rc;
}
