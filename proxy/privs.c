/*
 * Privilege drop (the `user` and `group` keys).  Started as root, sluice
 * binds its listeners (ports below 1024 included), opens its logs, then
 * becomes user:group for good: supplementary groups set to the user's
 * (initgroups), then the group, then the user; a check that root cannot
 * be had back.  Files it must keep writing (the access log, the quota
 * state file) are handed to that user first.  Started as someone else,
 * there is nothing to drop: being that user already is fine, any other
 * is an error.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

/*
 * Become user (and group: NULL for the user's own).  files: NULL-ended
 * paths to give to the user when they exist.  With no user, only a
 * warning when running as root.  Returns 0, or -1 with the reason in err.
 */
int
privs_drop(const char *user, const char *group, const char *const *files,
    char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	uid_t uid;
	gid_t gid;

	if (user == NULL) {
		if (geteuid() == 0)
			log_warn("running as root: set user (and group) in "
			    "the configuration to drop to an unprivileged "
			    "user once the listeners are bound");
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user: no user \"%s\"", user);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL) {
			snprintf(err, errlen, "group: no group \"%s\"", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		if (geteuid() == uid && getegid() == gid)
			return 0;
		snprintf(err, errlen, "user: cannot become \"%s\"%s%s: not "
		    "started as root", user, group ? ", group " : "",
		    group ? group : "");
		return -1;
	}
	for (; files != NULL && *files != NULL; files++)
		if (chown(*files, uid, gid) == -1 && errno != ENOENT)
			log_warn("cannot give %s to user %s: %s", *files, user,
			    strerror(errno));
	if (initgroups(user, gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1) {
		snprintf(err, errlen, "cannot become user \"%s\": %s", user,
		    strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		snprintf(err, errlen, "user \"%s\": root could be regained; "
		    "stopping", user);
		return -1;
	}
	log_info("running as user %s (uid %lu), group %lu", user,
	    (unsigned long)uid, (unsigned long)gid);
	return 0;
}
