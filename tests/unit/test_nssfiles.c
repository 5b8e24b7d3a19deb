/*
 * Unit tests for proxy/nssfiles.c: the static build's getpwnam(),
 * getgrnam() and initgroups() over /etc/passwd and /etc/group, here over
 * files written for each test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nssfiles.h"

static char dir[] = "/tmp/test_nssfiles.XXXXXX";
static char passwd[64], group[64];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static const char PASSWD[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "# a comment line\n"
    "\n"
    "this line is not an entry\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "sluice:x:998:997:sluice proxy:/nonexistent:/usr/sbin/nologin";

static const char GROUP[] =
    "root:x:0:\n"
    "adm:x:4:syslog,alice\n"
    "# wheel:x:10:alice\n"
    "sluice:x:997:alice\n"
    "staff:x:50:bob,alice,carol\n"
    "alic:x:60:alicex,xalice,alic\n"
    "nogroup:x:65534:\n"
    "audio:x:29:alice";

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(group, sizeof(group), "%s/group", dir);
	write_file(passwd, PASSWD);
	write_file(group, GROUP);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(passwd);
	unlink(group);
	return rmdir(dir);
}

static void
test_getpwnam(void **state)
{
	struct passwd *pw;

	(void)state;
	pw = nssf_getpwnam(passwd, "root");
	assert_non_null(pw);
	assert_string_equal(pw->pw_name, "root");
	assert_int_equal(pw->pw_uid, 0);
	/* after a comment, a blank line and a line that is no entry */
	pw = nssf_getpwnam(passwd, "nobody");
	assert_non_null(pw);
	assert_int_equal(pw->pw_uid, 65534);
	assert_int_equal(pw->pw_gid, 65534);
	assert_string_equal(pw->pw_dir, "/nonexistent");
	/* the last line has no newline */
	pw = nssf_getpwnam(passwd, "sluice");
	assert_non_null(pw);
	assert_int_equal(pw->pw_uid, 998);
	assert_int_equal(pw->pw_gid, 997);
	assert_string_equal(pw->pw_gecos, "sluice proxy");
}

static void
test_getpwnam_none(void **state)
{
	(void)state;
	/* whole names only; no entry: NULL with errno 0 */
	const char *names[] = { "nobod", "nobody2", "NOBODY", "", "x",
	    "# a comment line", "this line is not an entry" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		errno = EINVAL;
		assert_null(nssf_getpwnam(passwd, names[i]));
		assert_int_equal(errno, 0);
	}
	errno = 0;
	assert_null(nssf_getpwnam("/nonexistent/passwd", "root"));
	assert_int_equal(errno, ENOENT);
}

static void
test_getgrnam(void **state)
{
	struct group *gr;

	(void)state;
	gr = nssf_getgrnam(group, "staff");
	assert_non_null(gr);
	assert_int_equal(gr->gr_gid, 50);
	assert_non_null(gr->gr_mem);
	assert_string_equal(gr->gr_mem[0], "bob");
	assert_string_equal(gr->gr_mem[1], "alice");
	assert_string_equal(gr->gr_mem[2], "carol");
	assert_null(gr->gr_mem[3]);
	gr = nssf_getgrnam(group, "nogroup");
	assert_non_null(gr);
	assert_int_equal(gr->gr_gid, 65534);
	assert_null(gr->gr_mem[0]);
	gr = nssf_getgrnam(group, "audio");	/* the last, no newline */
	assert_non_null(gr);
	assert_int_equal(gr->gr_gid, 29);
	errno = EINVAL;
	assert_null(nssf_getgrnam(group, "wheel"));	/* commented out */
	assert_int_equal(errno, 0);
	assert_null(nssf_getgrnam(group, "staf"));
	assert_int_equal(errno, 0);
	errno = 0;
	assert_null(nssf_getgrnam("/nonexistent/group", "root"));
	assert_int_equal(errno, ENOENT);
}

static int
has(const gid_t *list, int n, gid_t g)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		c += list[i] == g;
	return c;
}

static void
test_grouplist(void **state)
{
	gid_t *list = NULL;
	int n;

	(void)state;
	/* the primary group first; alice's own "sluice" group only once */
	n = nssf_grouplist(group, "alice", 997, 64, &list);
	assert_int_equal(n, 4);
	assert_int_equal(list[0], 997);
	assert_int_equal(has(list, n, 4), 1);
	assert_int_equal(has(list, n, 50), 1);
	assert_int_equal(has(list, n, 29), 1);
	assert_int_equal(has(list, n, 997), 1);
	assert_int_equal(has(list, n, 10), 0);	/* commented out */
	assert_int_equal(has(list, n, 60), 0);	/* alicex, xalice: others */
	free(list);

	/* a user in no group: its own gid */
	n = nssf_grouplist(group, "nobody", 65534, 64, &list);
	assert_int_equal(n, 1);
	assert_int_equal(list[0], 65534);
	free(list);

	/* a prefix of members' names is not a member */
	n = nssf_grouplist(group, "alic", 1000, 64, &list);
	assert_int_equal(n, 2);
	assert_int_equal(list[0], 1000);
	assert_int_equal(list[1], 60);
	free(list);

	/* at most max, the primary group kept */
	n = nssf_grouplist(group, "alice", 997, 2, &list);
	assert_int_equal(n, 2);
	assert_int_equal(list[0], 997);
	assert_int_equal(list[1], 4);
	free(list);
	n = nssf_grouplist(group, "alice", 997, 1, &list);
	assert_int_equal(n, 1);
	assert_int_equal(list[0], 997);
	free(list);

	list = NULL;
	errno = 0;
	assert_int_equal(nssf_grouplist(group, "alice", 997, 0, &list), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(nssf_grouplist("/nonexistent/group", "alice", 997,
	    64, &list), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(list);
}

/* as with glibc, one lookup's answer outlives calls of the others */
static void
test_answers_kept(void **state)
{
	struct passwd *pw;
	struct group *gr;
	gid_t *list;
	int n;

	(void)state;
	pw = nssf_getpwnam(passwd, "sluice");
	assert_non_null(pw);
	gr = nssf_getgrnam(group, "staff");
	assert_non_null(gr);
	n = nssf_grouplist(group, "alice", 997, 64, &list);
	assert_int_equal(n, 4);
	free(list);
	assert_string_equal(pw->pw_name, "sluice");
	assert_string_equal(pw->pw_gecos, "sluice proxy");
	assert_string_equal(pw->pw_shell, "/usr/sbin/nologin");
	assert_string_equal(gr->gr_name, "staff");
	assert_string_equal(gr->gr_mem[2], "carol");
}

/* an entry longer than the first buffer, then one longer than any */
static void
test_long_entries(void **state)
{
	size_t big = 300 * 1000, huge = 1100 * 1000;
	size_t len = big + huge + 4096;
	char *text = malloc(len), *p = text;
	char lp[80];
	struct passwd *pw;
	struct group *gr;
	gid_t *list;
	int n;

	(void)state;
	assert_non_null(text);
	snprintf(lp, sizeof(lp), "%s/long", dir);

	/* passwd: a 300 kB comment field, a good entry, a 1.1 MB one */
	p += sprintf(p, "first:x:1:1::/:/bin/sh\nbig:x:2:2:");
	memset(p, 'g', big);
	p += big;
	p += sprintf(p, ":/home/big:/bin/sh\nafter:x:3:3::/:/bin/sh\n"
	    "huge:x:4:4:");
	memset(p, 'h', huge);
	p += huge;
	p += sprintf(p, ":/:/bin/sh\nlast:x:5:5::/:/bin/sh\n");
	write_file(lp, text);
	pw = nssf_getpwnam(lp, "big");
	assert_non_null(pw);
	assert_int_equal(pw->pw_uid, 2);
	assert_int_equal(strlen(pw->pw_gecos), big);
	assert_string_equal(pw->pw_dir, "/home/big");
	pw = nssf_getpwnam(lp, "after");
	assert_non_null(pw);
	assert_int_equal(pw->pw_uid, 3);
	assert_non_null(nssf_getpwnam(lp, "first"));
	/* past the 1 MiB line: an error, not a wrong answer */
	errno = 0;
	assert_null(nssf_getpwnam(lp, "last"));
	assert_int_equal(errno, ERANGE);

	/* group: 30,000 members, the user last */
	p = text;
	p += sprintf(p, "crowd:x:70:");
	for (int i = 0; i < 30000; i++)
		p += sprintf(p, "user%05d,", i);
	p += sprintf(p, "alice\nsmall:x:71:alice\n");
	write_file(lp, text);
	gr = nssf_getgrnam(lp, "crowd");
	assert_non_null(gr);
	assert_int_equal(gr->gr_gid, 70);
	assert_string_equal(gr->gr_mem[30000], "alice");
	assert_null(gr->gr_mem[30001]);
	n = nssf_grouplist(lp, "alice", 100, 64, &list);
	assert_int_equal(n, 3);
	assert_int_equal(list[0], 100);
	assert_int_equal(list[1], 70);
	assert_int_equal(list[2], 71);
	free(list);

	unlink(lp);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getpwnam),
		cmocka_unit_test(test_getpwnam_none),
		cmocka_unit_test(test_getgrnam),
		cmocka_unit_test(test_grouplist),
		cmocka_unit_test(test_answers_kept),
		cmocka_unit_test(test_long_entries),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
