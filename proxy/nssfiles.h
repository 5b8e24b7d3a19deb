/*
 * Users and groups read from /etc/passwd and /etc/group themselves, for
 * the static build (see nssfiles.c).
 */
#ifndef SLUICE_NSSFILES_H
#define SLUICE_NSSFILES_H

#include <sys/types.h>

#include <grp.h>
#include <pwd.h>

#define NSSF_PASSWD	"/etc/passwd"
#define NSSF_GROUP	"/etc/group"

/* the entry named name in the file at path, or NULL (errno 0: none) */
struct passwd *nssf_getpwnam(const char *path, const char *name);
struct group *nssf_getgrnam(const char *path, const char *name);

/*
 * The groups of user, as initgroups() gives them, over the group file at
 * path: gid first, then the gid of every group listing user as a member,
 * each once, at most max.  Returns the count with the list in *out (the
 * caller frees it), or -1 with errno set when the file cannot be read.
 */
int nssf_grouplist(const char *path, const char *user, gid_t gid, int max,
    gid_t **out);

/* the libc functions the static build links to these (-Wl,--wrap=) */
struct passwd *__wrap_getpwnam(const char *name);
struct group *__wrap_getgrnam(const char *name);
int __wrap_initgroups(const char *user, gid_t gid);

#endif
