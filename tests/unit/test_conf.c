/*
 * Unit tests for the configuration loader: conf/conf.c.
 *
 * Valid configurations come from fixtures in tests/unit/data (or the
 * directory named by $SLUICE_TEST_DATA); broken ones are written by each
 * test into a private mkdtemp() directory, so that the line numbers the
 * loader must report are fixed by the test itself.  Every error is checked
 * as a whole line of the error buffer: "FILE:LINE: " then the message.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "log.h"
#include "netaddr.h"

#define FULL_BOB_HASH	"$6$Nlvc7YEJAYjdwNi.$"				\
	"2pB4FQp17YFLu5DlJJEMJoU8E1egARAtM5EP9/3cQtgSvoFiucg8YjaoOjYy"	\
	"kele5FKGyCDJTgBv6qINZ8mpk/"
#define FULL_CAROL_HASH	"$5$G/uAYUipf8qwqjOW$"				\
	"myvd0w5aBumLls2UxO1uuCjp.wGtGCzzxeuWWe/8Oy4"
#define FULL_DAVE_HASH	"$y$j9T$g3g5RPN5dzIJfLngz8Le1/$"		\
	"kurCGJaAjjL5JNuqvC/CS/iP8LTTtgkFV52Lkov6bUB"
#define FULL_ERIN_HASH	"$y$j9T$t/XfUT7ZWrgkpuAkxZlsB/$"		\
	"6nQ3CHdQRFIiukEoI807qvbVYizoX3BOBXFMJcFP2F0"

/* A valid hash to put in generated files. */
#define GOOD_HASH	FULL_CAROL_HASH

static char tmpdir[1024];	/* per run, removed by the teardown */
static int tmpseq;		/* unique file names inside tmpdir */

/* ----- helpers -------------------------------------------------------- */

static const char *
data_dir(void)
{
	const char *d = getenv("SLUICE_TEST_DATA");

	return d != NULL && d[0] != '\0' ? d : "tests/unit/data";
}

static void
data_path(char *buf, size_t len, const char *name)
{
	int n;

	n = snprintf(buf, len, "%s/%s", data_dir(), name);
	assert_true(n > 0 && (size_t)n < len);
}

/* Write text to tmpdir/name; the full path goes to path. */
static void
tmp_write(char *path, size_t len, const char *name, const char *text)
{
	FILE *f;
	int n;

	n = snprintf(path, len, "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < len);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A fresh file name for each generated configuration. */
static void
tmp_conf(char *path, size_t len, const char *text)
{
	char name[32];

	snprintf(name, sizeof(name), "t%03d.conf", ++tmpseq);
	tmp_write(path, len, name, text);
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/*
 * err must hold a line that is exactly "FILE:LINE: " (or "FILE: " when line
 * is 0) followed by a message that starts with msg.
 */
static void
check_err_line(const char *err, const char *file, int line, const char *msg)
{
	char prefix[PATH_MAX + 32];
	const char *p, *eol;
	size_t plen, mlen = strlen(msg);

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", file);
	plen = strlen(prefix);
	for (p = err; *p != '\0'; p = eol + 1) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			fail_msg("error text does not end in a newline: \"%s\"",
			    err);
		if ((size_t)(eol - p) >= plen + mlen &&
		    memcmp(p, prefix, plen) == 0 &&
		    memcmp(p + plen, msg, mlen) == 0)
			return;
	}
	fail_msg("no line \"%s%s...\" in the errors:\n%s", prefix, msg, err);
}

/*
 * Load text as a configuration file: it must fail with exactly one error,
 * at line, whose message starts with msg.
 */
static void
check_one_error(const char *text, int line, const char *msg)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN];

	int rc;

	tmp_conf(path, sizeof(path), text);
	conf_init(&c);
	memset(err, 'x', sizeof(err));
	rc = conf_load_file(&c, path, err, sizeof(err));
	conf_free(&c);		/* first: a failed check leaks nothing */
	if (rc != -1)
		fail_msg("accepted:\n%s", text);
	check_err_line(err, path, line, msg);
	if (count_lines(err) != 1)
		fail_msg("expected one error, got:\n%s", err);
}

/* Load text that must be accepted; c is conf_init()ed here. */
static void
load_ok(struct conf *c, const char *text)
{
	char path[PATH_MAX], err[CONF_ERRLEN];

	tmp_conf(path, sizeof(path), text);
	conf_init(c);
	if (conf_load_file(c, path, err, sizeof(err)) != 0)
		fail_msg("rejected:\n%s\nerrors:\n%s", text, err);
	assert_string_equal(err, "");
}

static void
check_addr(const union sockaddr_u *a, const char *want)
{
	char s[NETADDR_STRLEN];

	assert_string_equal(netaddr_str(a, s, sizeof(s)), want);
}

static int
group_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/sluice-test-conf-XXXXXX",
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
		if (unlink(path) == -1)
			rmdir(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

/* ----- defaults ------------------------------------------------------- */

static void
test_defaults_no_file(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	conf_init(&c);
	assert_int_equal(c.nlisten, 0);
	assert_int_equal(c.auth_required, -1);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(err, "");

	assert_null(c.path);
	/* the embedded default: SOCKS5 and HTTP on loopback */
	assert_int_equal(c.nlisten, 2);
	assert_int_equal(c.listen[0].proto, CONF_PROTO_SOCKS5);
	assert_int_equal(c.listen[0].addr.sa.sa_family, AF_INET);
	check_addr(&c.listen[0].addr, "127.0.0.1:1080");
	assert_int_equal(c.listen[1].proto, CONF_PROTO_HTTP);
	check_addr(&c.listen[1].addr, "127.0.0.1:3128");
	assert_int_equal(c.auth_required, 0);
	assert_int_equal(c.nusers, 0);
	assert_null(c.users);
	assert_null(c.users_file);
	assert_int_equal(c.ndns_servers, 0);
	assert_null(c.dns_servers);
	assert_int_equal(c.dns_timeout_ms, 2000);
	assert_int_equal(c.dns_tries, 2);
	assert_int_equal(c.dns_cache_ttl, 60);
	assert_int_equal(c.dns_cache_size, 4096);
	assert_int_equal(c.to_handshake, 10);
	assert_int_equal(c.to_connect, 10);
	assert_int_equal(c.to_idle, 300);
	assert_int_equal(c.to_drain, 30);
	assert_int_equal(c.max_connections, 20000);
	assert_int_equal(c.per_client, 0);
	assert_int_equal(c.per_user, 0);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_string_equal(c.access_log, "-");
	assert_int_equal(c.workers, 1);
	conf_free(&c);
}

static void
test_empty_file_is_defaults(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	load_ok(&c, "# nothing but a comment\n\n");
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 2);
	check_addr(&c.listen[0].addr, "127.0.0.1:1080");
	assert_int_equal(c.auth_required, 0);
	assert_int_equal(c.dns_timeout_ms, 2000);
	assert_int_equal(c.to_idle, 300);
	assert_string_equal(c.access_log, "-");
	assert_non_null(c.path);
	conf_free(&c);
}

static void
test_free_then_init_again(void **state)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	data_path(path, sizeof(path), "full.conf");
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, path, err, sizeof(err)), 0);
	conf_free(&c);
	assert_null(c.users);
	assert_int_equal(c.nusers, 0);
	conf_init(&c);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 2);
	conf_free(&c);
}

/* ----- the full fixture ----------------------------------------------- */

static void
test_full_file(void **state)
{
	struct conf c;
	char path[PATH_MAX], upath[PATH_MAX], origin[PATH_MAX + 16];
	char err[CONF_ERRLEN];

	(void)state;
	data_path(path, sizeof(path), "full.conf");
	data_path(upath, sizeof(upath), "full.users");
	conf_init(&c);
	memset(err, 'x', sizeof(err));
	if (conf_load_file(&c, path, err, sizeof(err)) != 0)
		fail_msg("%s rejected:\n%s", path, err);
	assert_string_equal(err, "");
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.path, path);

	/* listen */
	assert_int_equal(c.nlisten, 4);
	assert_int_equal(c.listen[0].proto, CONF_PROTO_SOCKS5);
	assert_int_equal(c.listen[0].addr.sa.sa_family, AF_INET);
	check_addr(&c.listen[0].addr, "127.0.0.1:1080");
	assert_int_equal(c.listen[1].proto, CONF_PROTO_SOCKS5);
	assert_int_equal(c.listen[1].addr.sa.sa_family, AF_INET6);
	check_addr(&c.listen[1].addr, "[::]:1081");
	assert_int_equal(c.listen[2].proto, CONF_PROTO_SOCKS5);
	assert_int_equal(c.listen[2].addr.sa.sa_family, AF_INET6);
	check_addr(&c.listen[2].addr, "[::1]:1082");
	assert_int_equal(c.listen[3].proto, CONF_PROTO_SOCKS5);
	/* no port: the socks5 default */
	check_addr(&c.listen[3].addr, "10.1.2.3:1080");

	/* auth: config users first, then the users file in file order */
	assert_int_equal(c.auth_required, 1);
	assert_non_null(c.users_file);
	assert_string_equal(c.users_file, upath);
	assert_int_equal(c.nusers, 5);
	assert_string_equal(c.users[0].name, "alice");
	assert_string_equal(c.users[0].password, "secret");
	assert_null(c.users[0].hash);
	snprintf(origin, sizeof(origin), "%s:12", path);
	assert_string_equal(c.users[0].origin, origin);
	assert_string_equal(c.users[1].name, "bob");
	assert_null(c.users[1].password);
	assert_string_equal(c.users[1].hash, FULL_BOB_HASH);
	snprintf(origin, sizeof(origin), "%s:13", path);
	assert_string_equal(c.users[1].origin, origin);
	assert_string_equal(c.users[2].name, "carol");
	assert_null(c.users[2].password);
	assert_string_equal(c.users[2].hash, FULL_CAROL_HASH);
	snprintf(origin, sizeof(origin), "%s:3", upath);
	assert_string_equal(c.users[2].origin, origin);
	/* the spaces around the line are not part of the name */
	assert_string_equal(c.users[3].name, "dave");
	assert_string_equal(c.users[3].hash, FULL_DAVE_HASH);
	snprintf(origin, sizeof(origin), "%s:4", upath);
	assert_string_equal(c.users[3].origin, origin);
	assert_string_equal(c.users[4].name, "erin");
	assert_string_equal(c.users[4].hash, FULL_ERIN_HASH);
	snprintf(origin, sizeof(origin), "%s:7", upath);
	assert_string_equal(c.users[4].origin, origin);

	/* dns */
	assert_int_equal(c.ndns_servers, 4);
	assert_int_equal(c.dns_servers[0].sa.sa_family, AF_INET);
	check_addr(&c.dns_servers[0], "127.0.0.1:5353");
	check_addr(&c.dns_servers[1], "10.0.0.53:53");	/* default port */
	assert_int_equal(c.dns_servers[2].sa.sa_family, AF_INET6);
	check_addr(&c.dns_servers[2], "[::1]:5353");
	assert_int_equal(c.dns_servers[3].sa.sa_family, AF_INET6);
	check_addr(&c.dns_servers[3], "[2001:db8::1]:53");
	assert_int_equal(c.dns_timeout_ms, 1500);
	assert_int_equal(c.dns_tries, 3);
	assert_int_equal(c.dns_cache_ttl, 120);
	assert_int_equal(c.dns_cache_size, 1000);

	/* timeouts, limits, log, workers */
	assert_int_equal(c.to_handshake, 5);
	assert_int_equal(c.to_connect, 7);
	assert_int_equal(c.to_idle, 600);
	assert_int_equal(c.to_drain, 45);
	assert_int_equal(c.max_connections, 100);
	assert_int_equal(c.per_client, 4);
	assert_int_equal(c.per_user, 8);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_string_equal(c.access_log, "/var/log/sluice-access.log");
	assert_int_equal(c.workers, 1);
	conf_free(&c);
}

static void
test_users_without_required(void **state)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	data_path(path, sizeof(path), "users-only.conf");
	conf_init(&c);
	if (conf_load_file(&c, path, err, sizeof(err)) != 0)
		fail_msg("%s rejected:\n%s", path, err);
	assert_int_equal(c.auth_required, -1);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.auth_required, 1);
	assert_int_equal(c.nusers, 1);
	assert_string_equal(c.users[0].name, "zoe");
	assert_string_equal(c.users[0].password, "zoepass");
	conf_free(&c);
}

static void
test_required_false_with_users(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	load_ok(&c, "auth = { required = false;\n"
	    "  users = ( { name = \"a\"; password = \"p\"; } ); };\n");
	assert_int_equal(c.auth_required, 0);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.auth_required, 0);
	assert_int_equal(c.nusers, 1);
	conf_free(&c);
}

static void
test_partial_sections_keep_defaults(void **state)
{
	struct conf c;

	(void)state;
	load_ok(&c, "dns = { tries = 5; };\n"
	    "timeouts = { idle = 42; };\n"
	    "limits = { per_user = 3; };\n"
	    "log = { level = \"warn\"; };\n");
	assert_int_equal(c.dns_tries, 5);
	assert_int_equal(c.dns_timeout_ms, 2000);
	assert_int_equal(c.dns_cache_ttl, 60);
	assert_int_equal(c.to_idle, 42);
	assert_int_equal(c.to_handshake, 10);
	assert_int_equal(c.to_connect, 10);
	assert_int_equal(c.to_drain, 30);
	assert_int_equal(c.per_user, 3);
	assert_int_equal(c.max_connections, 20000);
	assert_int_equal(c.log_level, LOG_LVL_WARN);
	assert_string_equal(c.access_log, "-");
	conf_free(&c);
}

static void
test_range_edges_accepted(void **state)
{
	struct conf c;

	(void)state;
	load_ok(&c, "listen = ( { port = 1; }, { port = 65535; } );\n"
	    "dns = { tries = 20; timeout_ms = 1; cache_ttl = 0; };\n"
	    "timeouts = { handshake = 1; drain = 0; };\n"
	    "limits = { max_connections = 0; };\n"
	    "log = { level = \"error\"; access = \"off\"; };\n");
	assert_int_equal(c.nlisten, 2);
	check_addr(&c.listen[0].addr, "127.0.0.1:1");
	check_addr(&c.listen[1].addr, "127.0.0.1:65535");
	assert_int_equal(c.dns_tries, 20);
	assert_int_equal(c.dns_timeout_ms, 1);
	assert_int_equal(c.dns_cache_ttl, 0);
	assert_int_equal(c.to_handshake, 1);
	assert_int_equal(c.to_drain, 0);
	assert_int_equal(c.max_connections, 0);
	assert_int_equal(c.log_level, LOG_LVL_ERR);
	assert_string_equal(c.access_log, "off");
	conf_free(&c);
}

static void
test_dns_single_string(void **state)
{
	struct conf c;

	(void)state;
	load_ok(&c, "dns = { servers = \"192.0.2.1:5300\"; };\n");
	assert_int_equal(c.ndns_servers, 1);
	check_addr(&c.dns_servers[0], "192.0.2.1:5300");
	conf_free(&c);
}

/* ----- users file ----------------------------------------------------- */

static void
test_users_file_relative_to_config(void **state)
{
	struct conf c;
	char cpath[PATH_MAX], upath[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	tmp_write(upath, sizeof(upath), "rel.users",
	    "# comment\n"
	    "\n"
	    "  \t  \n"
	    "\t uma:" GOOD_HASH "  \t\r\n"
	    "   # indented comment\n"
	    "vic:" GOOD_HASH);			/* no final newline */
	tmp_write(cpath, sizeof(cpath), "rel.conf",
	    "auth = { file = \"rel.users\"; };\n");
	conf_init(&c);
	if (conf_load_file(&c, cpath, err, sizeof(err)) != 0)
		fail_msg("rejected:\n%s", err);
	assert_string_equal(c.users_file, upath);
	assert_int_equal(c.nusers, 2);
	assert_string_equal(c.users[0].name, "uma");
	assert_string_equal(c.users[0].hash, GOOD_HASH);
	assert_null(c.users[0].password);
	assert_string_equal(c.users[1].name, "vic");
	assert_string_equal(c.users[1].hash, GOOD_HASH);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.auth_required, 1);
	conf_free(&c);
}

static void
test_users_file_absolute(void **state)
{
	struct conf c;
	char cpath[PATH_MAX], upath[PATH_MAX], text[PATH_MAX + 64];
	char err[CONF_ERRLEN];

	(void)state;
	tmp_write(upath, sizeof(upath), "abs.users", "wes:" GOOD_HASH "\n");
	snprintf(text, sizeof(text), "auth = { file = \"%s\"; };\n", upath);
	tmp_write(cpath, sizeof(cpath), "abs.conf", text);
	conf_init(&c);
	if (conf_load_file(&c, cpath, err, sizeof(err)) != 0)
		fail_msg("rejected:\n%s", err);
	assert_string_equal(c.users_file, upath);
	assert_int_equal(c.nusers, 1);
	assert_string_equal(c.users[0].name, "wes");
	conf_free(&c);
}

static void
test_users_file_missing(void **state)
{
	struct conf c;
	char cpath[PATH_MAX], upath[1100], msg[1200];
	char err[CONF_ERRLEN];

	(void)state;
	tmp_write(cpath, sizeof(cpath), "missing.conf",
	    "# the users file does not exist\n"
	    "auth = {\n"
	    "\tfile = \"no-such.users\";\n"
	    "};\n");
	snprintf(upath, sizeof(upath), "%s/no-such.users", tmpdir);
	snprintf(msg, sizeof(msg), "auth.file: cannot read \"%s\": "
	    "No such file or directory", upath);
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, cpath, err, sizeof(err)), -1);
	check_err_line(err, cpath, 3, msg);
	assert_int_equal(count_lines(err), 1);
	conf_free(&c);
}

static void
test_users_file_bad_lines(void **state)
{
	struct conf c;
	char cpath[PATH_MAX], upath[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	tmp_write(upath, sizeof(upath), "bad.users",
	    "# line 1\n"
	    "good:" GOOD_HASH "\n"
	    "no-colon-here\n"			/* 3 */
	    "\n"
	    "plain:secret\n"			/* 5 */
	    "nine:$9$x\n"			/* 6 */
	    "bad name:" GOOD_HASH "\n"		/* 7 */
	    ":" GOOD_HASH "\n"			/* 8 */
	    "good:" GOOD_HASH "\n"		/* 9: twice in the file */
	    "cfg:" GOOD_HASH "\n");		/* 10: also in the config */
	tmp_write(cpath, sizeof(cpath), "bad.conf",
	    "auth = {\n"
	    "  users = ( { name = \"cfg\"; password = \"pw\"; } );\n"
	    "  file = \"bad.users\";\n"
	    "};\n");
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, cpath, err, sizeof(err)), -1);
	check_err_line(err, upath, 3, "expected name:hash");
	check_err_line(err, upath, 5, "the hash for \"plain\" is not a "
	    "crypt(3) hash");
	check_err_line(err, upath, 6, "the hash for \"nine\" is not a "
	    "crypt(3) hash");
	check_err_line(err, upath, 7, "user name contains ':', a space");
	check_err_line(err, upath, 8, "user name is empty");
	check_err_line(err, upath, 9, "user \"good\" is defined twice");
	check_err_line(err, upath, 10, "user \"cfg\" is defined twice");
	assert_int_equal(count_lines(err), 7);
	/* the good lines were still read */
	assert_int_equal(c.nusers, 2);
	assert_string_equal(c.users[0].name, "cfg");
	assert_string_equal(c.users[1].name, "good");
	conf_free(&c);
}

static void
test_users_file_only_no_colon(void **state)
{
	struct conf c;
	char cpath[PATH_MAX], upath[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	tmp_write(upath, sizeof(upath), "nocolon.users",
	    "\n\n# two blank lines and this comment\n"
	    "  justaname  \n");
	tmp_write(cpath, sizeof(cpath), "nocolon.conf",
	    "auth = { file = \"nocolon.users\"; };\n");
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, cpath, err, sizeof(err)), -1);
	check_err_line(err, upath, 4, "expected name:hash");
	assert_int_equal(count_lines(err), 1);
	conf_free(&c);
}

/* ----- errors, one per file ------------------------------------------- */

static void
test_err_unknown_top_key(void **state)
{
	(void)state;
	check_one_error("workers = 1;\n"
	    "# a comment\n"
	    "frobnicate = 1;\n", 3, "frobnicate: unknown key");
}

static void
test_err_unknown_key_in_sections(void **state)
{
	(void)state;
	check_one_error("listen = (\n"
	    "  { address = \"127.0.0.1\"; prot = \"socks5\"; }\n"
	    ");\n", 2, "listen[0].prot: unknown key");
	check_one_error("listen = (\n"
	    "  { port = 1080; },\n"
	    "  { port = 1081;\n"
	    "    addr = \"::1\"; }\n"
	    ");\n", 4, "listen[1].addr: unknown key");
	check_one_error("auth = {\n"
	    "  require = true;\n"
	    "};\n", 2, "auth.require: unknown key");
	check_one_error("auth = {\n"
	    "  users = (\n"
	    "    { name = \"a\"; password = \"p\";\n"
	    "      passwd = \"q\"; }\n"
	    "  );\n"
	    "};\n", 4, "auth.users[0].passwd: unknown key");
	check_one_error("dns = {\n"
	    "  server = [ \"127.0.0.1\" ];\n"
	    "};\n", 2, "dns.server: unknown key");
	check_one_error("timeouts = {\n"
	    "  handshake = 10;\n"
	    "  read = 10;\n"
	    "};\n", 3, "timeouts.read: unknown key");
	check_one_error("limits = { max_conn = 10; };\n", 1,
	    "limits.max_conn: unknown key");
	check_one_error("log = {\n"
	    "  file = \"x\";\n"
	    "};\n", 2, "log.file: unknown key");
}

static void
test_err_wrong_types(void **state)
{
	(void)state;
	check_one_error("listen = (\n"
	    "  { address = \"127.0.0.1\";\n"
	    "    port = \"1080\"; }\n"
	    ");\n", 3, "listen[0].port: expected an integer, found a string");
	check_one_error("auth = {\n"
	    "  required = 1;\n"
	    "  users = ( { name = \"a\"; password = \"p\"; } );\n"
	    "};\n", 2,
	    "auth.required: expected a boolean (true/false), found an integer");
	check_one_error("dns = {\n"
	    "  timeout_ms = \"x\";\n"
	    "};\n", 2, "dns.timeout_ms: expected an integer, found a string");
	check_one_error("dns = {\n"
	    "  servers = 5;\n"
	    "};\n", 2, "dns.servers: expected an array of strings");
	check_one_error("dns = { servers = [ 5 ]; };\n", 1,
	    "dns.servers[0]: expected a string, found an integer");
	check_one_error("listen = ( { proto = 5; } );\n", 1,
	    "listen[0].proto: expected a string, found an integer");
	check_one_error("listen = ( { address = 127; } );\n", 1,
	    "listen[0].address: expected a string, found an integer");
	check_one_error("listen = ( { port = 1080.0; } );\n", 1,
	    "listen[0].port: expected an integer, found a float");
	check_one_error("listen = { port = 1080; };\n", 1,
	    "listen: expected a list");
	check_one_error("listen = ( \"127.0.0.1:1080\" );\n", 1,
	    "listen[0]: expected a group");
	check_one_error("auth = true;\n", 1,
	    "auth: expected a group { ... }, found a boolean");
	check_one_error("auth = { users = { name = \"a\"; }; };\n", 1,
	    "auth.users: expected a list");
	check_one_error("auth = { users = ( \"a:b\" ); };\n", 1,
	    "auth.users[0]: expected a group");
	check_one_error("auth = { users = ( { name = 5; password = \"p\"; } );"
	    " };\n", 1, "auth.users[0].name: expected a string");
	check_one_error("auth = { file = 5; };\n", 1,
	    "auth.file: expected a string, found an integer");
	check_one_error("timeouts = { idle = \"300\"; };\n", 1,
	    "timeouts.idle: expected an integer, found a string");
	check_one_error("limits = { per_client = true; };\n", 1,
	    "limits.per_client: expected an integer, found a boolean");
	check_one_error("log = { level = 2; };\n", 1,
	    "log.level: expected a string, found an integer");
	check_one_error("dns = ( );\n", 1, "dns: expected a group");
}

static void
test_err_workers_wrong_type(void **state)
{
	/*
	 * The key path is "workers", as for every other key and for the
	 * "workers = 2" message; not ".workers".
	 */
	(void)state;
	check_one_error("workers = \"one\";\n", 1,
	    "workers: expected an integer, found a string");
	check_one_error("workers = 5000;\n", 1,
	    "workers: 5000 is out of range (0..1024)");
}

static void
test_err_out_of_range(void **state)
{
	(void)state;
	check_one_error("listen = ( { port = 0; } );\n", 1,
	    "listen[0].port: 0 is out of range (1..65535)");
	check_one_error("listen = ( { port = 70000; } );\n", 1,
	    "listen[0].port: 70000 is out of range (1..65535)");
	check_one_error("listen = ( { port = -1; } );\n", 1,
	    "listen[0].port: -1 is out of range (1..65535)");
	check_one_error("timeouts = {\n"
	    "  handshake = 0;\n"
	    "};\n", 2, "timeouts.handshake: 0 is out of range (1..86400)");
	check_one_error("timeouts = { connect = 0; };\n", 1,
	    "timeouts.connect: 0 is out of range");
	check_one_error("timeouts = { idle = 0; };\n", 1,
	    "timeouts.idle: 0 is out of range");
	check_one_error("timeouts = { drain = -1; };\n", 1,
	    "timeouts.drain: -1 is out of range");
	check_one_error("dns = {\n"
	    "  tries = 0;\n"
	    "};\n", 2, "dns.tries: 0 is out of range (1..20)");
	check_one_error("dns = { tries = 21; };\n", 1,
	    "dns.tries: 21 is out of range (1..20)");
	check_one_error("dns = { timeout_ms = 0; };\n", 1,
	    "dns.timeout_ms: 0 is out of range");
	check_one_error("dns = { cache_ttl = -1; };\n", 1,
	    "dns.cache_ttl: -1 is out of range");
	check_one_error("limits = { max_connections = -5; };\n", 1,
	    "limits.max_connections: -5 is out of range");
	check_one_error("limits = { per_client = 3000000000L; };\n", 1,
	    "limits.per_client: 3000000000 is out of range");
}

static void
test_err_listen_address(void **state)
{
	(void)state;
	check_one_error("listen = (\n"
	    "  { address = \"localhost\"; port = 1080; }\n"
	    ");\n", 2,
	    "listen[0].address: \"localhost\" is not an IPv4 or IPv6 address");
	check_one_error("listen = ( { address = \"1.2.3.4.5\"; } );\n", 1,
	    "listen[0].address: \"1.2.3.4.5\" is not an IPv4 or IPv6 address");
	check_one_error("listen = ( { address = \"[::1]\"; } );\n", 1,
	    "listen[0].address: \"[::1]\" is not an IPv4 or IPv6 address");
	check_one_error("listen = ( { address = \"127.0.0.1:1080\"; } );\n", 1,
	    "listen[0].address: \"127.0.0.1:1080\" is not an IPv4 or IPv6");
	check_one_error("listen = ( );\n", 1, "listen: the list is empty");
}

static void
test_err_listen_proto(void **state)
{
	(void)state;
	check_one_error("listen = (\n"
	    "  { proto = \"ftp\"; port = 21; }\n"
	    ");\n", 2, "listen[0].proto: \"ftp\" is not a protocol (socks5, "
	    "http, auto, socks4)");
	check_one_error("listen = ( { proto = \"SOCKS5\"; } );\n", 1,
	    "listen[0].proto: \"SOCKS5\" is not a protocol");
}

static void
test_listen_protocols(void **state)
{
	struct conf c;

	(void)state;
	load_ok(&c, "listen = ( { proto = \"http\"; },\n"
	    "  { proto = \"auto\"; port = 1081; },\n"
	    "  { proto = \"socks4\"; port = 1082; },\n"
	    "  { proto = \"socks5\"; port = 1083; } );\n");
	assert_int_equal(c.nlisten, 4);
	assert_int_equal(c.listen[0].proto, CONF_PROTO_HTTP);
	check_addr(&c.listen[0].addr, "127.0.0.1:3128");	/* its default */
	assert_int_equal(c.listen[1].proto, CONF_PROTO_AUTO);
	check_addr(&c.listen[1].addr, "127.0.0.1:1081");
	assert_int_equal(c.listen[2].proto, CONF_PROTO_SOCKS4);
	assert_int_equal(c.listen[3].proto, CONF_PROTO_SOCKS5);
	conf_free(&c);
}

static void
test_http_auth_log_keys(void **state)
{
	struct conf c;

	(void)state;
	conf_init(&c);
	assert_int_equal(c.http_head_max, 65536);
	assert_int_equal(c.http_line_max, 8192);
	assert_int_equal(c.http_headers_max, 100);
	assert_int_equal(c.http_forwarded_for, 0);
	assert_int_equal(c.http_keepalive, 60);
	assert_int_equal(c.pool_idle, 10);
	assert_int_equal(c.pool_max, 256);
	assert_int_equal(c.pool_per_origin, 8);
	assert_string_equal(c.realm, "sluice");
	assert_int_equal(c.socks4_userid, 0);
	assert_int_equal(c.remember_client, 0);
	assert_int_equal(c.log_format, CONF_LOG_SLUICE);
	conf_free(&c);

	load_ok(&c, "http = { max_header_size = 32768; max_request_line = 4096;"
	    " max_headers = 50;\n  forwarded_for = true; keepalive_timeout = 5;"
	    " pool_idle = 0; pool_max = 10; pool_per_origin = 2; };\n"
	    "auth = { required = false; socks4_userid = true; "
	    "remember_client = 30; realm = \"corp proxy\"; };\n"
	    "log = { format = \"squid\"; };\n");
	assert_int_equal(c.http_head_max, 32768);
	assert_int_equal(c.http_line_max, 4096);
	assert_int_equal(c.http_headers_max, 50);
	assert_int_equal(c.http_forwarded_for, 1);
	assert_int_equal(c.http_keepalive, 5);
	assert_int_equal(c.pool_idle, 0);
	assert_int_equal(c.pool_max, 10);
	assert_int_equal(c.pool_per_origin, 2);
	assert_int_equal(c.socks4_userid, 1);
	assert_int_equal(c.remember_client, 30);
	assert_string_equal(c.realm, "corp proxy");
	assert_int_equal(c.log_format, CONF_LOG_SQUID);
	conf_free(&c);

	check_one_error("http = { bogus = 1; };\n", 1,
	    "http.bogus: unknown key");
	check_one_error("http = { max_headers = 300; };\n", 1,
	    "http.max_headers: 300 is out of range (8..256)");
	check_one_error("http = { max_header_size = 100; };\n", 1,
	    "http.max_header_size: 100 is out of range");
	check_one_error("http = { forwarded_for = 1; };\n", 1,
	    "http.forwarded_for: expected a boolean");
	check_one_error("auth = { realm = \"a\\\"b\"; };\n", 1,
	    "auth.realm: 1..200 bytes without quotes");
	check_one_error("auth = { remember_client = -1; };\n", 1,
	    "auth.remember_client: -1 is out of range");
	check_one_error("log = { format = \"json5\"; };\n", 1,
	    "log.format: \"json5\" is not one of sluice, squid");
}

static void
test_err_dns_server(void **state)
{
	(void)state;
	check_one_error("dns = {\n"
	    "  servers = [ \"127.0.0.1:53\",\n"
	    "    \"example.com:53\" ];\n"
	    "};\n", 3, "dns.servers: \"example.com:53\" is not ADDRESS[:PORT]");
	check_one_error("dns = { servers = [ \"1.2.3.4:0\" ]; };\n", 1,
	    "dns.servers: \"1.2.3.4:0\" is not ADDRESS[:PORT]");
	check_one_error("dns = { servers = [ \"1.2.3.4:99999\" ]; };\n", 1,
	    "dns.servers: \"1.2.3.4:99999\" is not ADDRESS[:PORT]");
	check_one_error("dns = { servers = [ \"[::1\" ]; };\n", 1,
	    "dns.servers: \"[::1\" is not ADDRESS[:PORT]");
	check_one_error("dns = { servers = [ \"\" ]; };\n", 1,
	    "dns.servers: \"\" is not ADDRESS[:PORT]");
}

static void
test_err_users(void **state)
{
	char text[600];

	(void)state;
	check_one_error("auth = { users = (\n"
	    "  { password = \"p\"; }\n"
	    "); };\n", 2, "auth.users[0]: \"name\" is missing");
	check_one_error("auth = { users = (\n"
	    "  { name = \"a\"; password = \"p\"; },\n"
	    "  { name = \"b\"; password = \"p\"; hash = \"" GOOD_HASH "\"; }\n"
	    "); };\n", 3, "auth.users[1]: user \"b\" needs exactly one of "
	    "\"password\" or \"hash\"");
	check_one_error("auth = { users = (\n"
	    "  { name = \"c\"; }\n"
	    "); };\n", 2, "auth.users[0]: user \"c\" needs exactly one of");
	check_one_error("auth = { users = (\n"
	    "  { name = \"a\"; password = \"p\"; },\n"
	    "  { name = \"b\"; password = \"p\"; },\n"
	    "  { name = \"a\"; hash = \"" GOOD_HASH "\"; }\n"
	    "); };\n", 4, "auth.users[2]: user \"a\" is defined twice");
	check_one_error("auth = { users = (\n"
	    "  { name = \"a\";\n"
	    "    hash = \"plain\"; }\n"
	    "); };\n", 3, "auth.users[0].hash: is not a crypt(3) hash");
	check_one_error("auth = { users = (\n"
	    "  { name = \"a\"; hash = \"$9$x\"; }\n"
	    "); };\n", 2, "auth.users[0].hash: is not a crypt(3) hash");
	check_one_error("auth = { users = (\n"
	    "  { name = \"a\"; password = \"\"; }\n"
	    "); };\n", 2, "auth.users[0].password: must be 1..255 bytes");
	check_one_error("auth = { users = (\n"
	    "  { name = \"\"; password = \"p\"; }\n"
	    "); };\n", 2, "auth.users[0].name: user name is empty");
	check_one_error("auth = { users = (\n"
	    "  { name = \"a b\"; password = \"p\"; }\n"
	    "); };\n", 2, "auth.users[0].name: user name contains ':'");
	check_one_error("auth = { users = (\n"
	    "  { name = \"a:b\"; password = \"p\"; }\n"
	    "); };\n", 2, "auth.users[0].name: user name contains ':'");
	snprintf(text, sizeof(text), "auth = { users = (\n"
	    "  { name = \"a\"; password = \"%0256d\"; }\n"
	    "); };\n", 0);
	check_one_error(text, 2, "auth.users[0].password: must be 1..255");
	snprintf(text, sizeof(text), "auth = { users = (\n"
	    "  { name = \"%0256d\"; password = \"p\"; }\n"
	    "); };\n", 0);
	check_one_error(text, 2, "auth.users[0].name: user name is longer "
	    "than 255 bytes");
}

static void
test_users_length_edges_accepted(void **state)
{
	struct conf c;
	char text[700];

	(void)state;
	snprintf(text, sizeof(text), "auth = { users = (\n"
	    "  { name = \"%0255d\"; password = \"%0255d\"; }\n"
	    "); };\n", 0, 0);
	load_ok(&c, text);
	assert_int_equal(c.nusers, 1);
	assert_int_equal(strlen(c.users[0].name), 255);
	assert_int_equal(strlen(c.users[0].password), 255);
	conf_free(&c);
}

static void
test_err_log(void **state)
{
	(void)state;
	check_one_error("log = {\n"
	    "  level = \"verbose\";\n"
	    "};\n", 2, "log.level: \"verbose\" is not one of error, warn, "
	    "info, debug");
	check_one_error("log = {\n"
	    "  level = \"info\";\n"
	    "  access = \"\";\n"
	    "};\n", 3, "log.access: empty");
}

static void
test_err_workers(void **state)
{
	(void)state;
	check_one_error("# one thread only\n"
	    "workers = 2;\n", 2, "workers: 2: this version runs one "
	    "event-loop thread");
	check_one_error("workers = 0;\n", 1, "workers: 0: this version");
}

static void
test_err_syntax(void **state)
{
	(void)state;
	check_one_error("workers = 1;\n"
	    "dns = {\n"
	    "  tries = 2;\n"
	    "  timeout_ms = = 100;\n"
	    "};\n", 4, "syntax error");
	check_one_error("listen = ( { port = 1080; } ;\n", 1, "syntax error");
}

static void
test_err_duplicate_setting(void **state)
{
	/* libconfig itself refuses a key given twice in one group */
	(void)state;
	check_one_error("workers = 1;\n"
	    "workers = 1;\n", 2, "duplicate setting name");
}

static void
test_err_missing_file(void **state)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, path, err, sizeof(err)), -1);
	check_err_line(err, path, 0, "cannot read");
	assert_int_equal(count_lines(err), 1);
	conf_free(&c);
}

static void
test_err_directory(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, tmpdir, err, sizeof(err)), -1);
	check_err_line(err, tmpdir, 0, "is a directory");
	assert_int_equal(count_lines(err), 1);
	conf_free(&c);
}

static void
test_err_many_in_one_file(void **state)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	tmp_conf(path, sizeof(path),
	    "# five mistakes, all reported\n"
	    "listen = (\n"
	    "  { address = \"localhost\"; },\n"		/* 3 */
	    "  { port = 0; }\n"				/* 4 */
	    ");\n"
	    "timeouts = {\n"
	    "  handshake = 0;\n"			/* 7 */
	    "  idle = 60;\n"
	    "};\n"
	    "log = { level = \"loud\"; };\n"		/* 10 */
	    "colour = \"blue\";\n");			/* 11 */
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, path, err, sizeof(err)), -1);
	check_err_line(err, path, 3, "listen[0].address: \"localhost\"");
	check_err_line(err, path, 4, "listen[1].port: 0 is out of range");
	check_err_line(err, path, 7, "timeouts.handshake: 0 is out of range");
	check_err_line(err, path, 10, "log.level: \"loud\"");
	check_err_line(err, path, 11, "colour: unknown key");
	assert_int_equal(count_lines(err), 5);
	/* the good parts were still taken */
	assert_int_equal(c.to_idle, 60);
	conf_free(&c);
}

static void
test_err_small_buffer(void **state)
{
	struct conf c;
	char path[PATH_MAX], err[16];

	(void)state;
	tmp_conf(path, sizeof(path), "a = 1;\nb = 2;\nc = 3;\n");
	conf_init(&c);
	memset(err, 'x', sizeof(err));
	assert_int_equal(conf_load_file(&c, path, err, sizeof(err)), -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	conf_free(&c);
}

/* ----- conf_finish ---------------------------------------------------- */

static void
test_finish_duplicate_listener_file(void **state)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	tmp_conf(path, sizeof(path), "listen = (\n"
	    "  { address = \"127.0.0.1\"; port = 1080; },\n"
	    "  { address = \"::1\"; port = 1080; },\n"
	    "  { address = \"127.0.0.1\"; }\n"
	    ");\n");
	conf_init(&c);
	if (conf_load_file(&c, path, err, sizeof(err)) != 0)
		fail_msg("rejected:\n%s", err);
	assert_int_equal(c.nlisten, 3);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), -1);
	check_err_line(err, path, 0, "listen: 127.0.0.1:1080 is listed twice");
	assert_int_equal(count_lines(err), 1);
	conf_free(&c);
}

static void
test_finish_duplicate_listener_uri(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	conf_init(&c);
	assert_int_equal(conf_add_listen_uri(&c, "socks5://[::1]:1081", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_add_listen_uri(&c, "socks5://[::1]:1081", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), -1);
	check_err_line(err, "(command line)", 0,
	    "listen: [::1]:1081 is listed twice");
	assert_int_equal(count_lines(err), 1);
	conf_free(&c);
}

static void
test_finish_required_without_users(void **state)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	tmp_conf(path, sizeof(path), "auth = {\n  required = true;\n};\n");
	conf_init(&c);
	if (conf_load_file(&c, path, err, sizeof(err)) != 0)
		fail_msg("rejected:\n%s", err);
	assert_int_equal(c.auth_required, 1);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), -1);
	check_err_line(err, path, 0, "auth.required is true but no users "
	    "are defined");
	assert_int_equal(count_lines(err), 1);
	conf_free(&c);
}

static void
test_finish_keeps_configured_listeners(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	load_ok(&c, "listen = ( { address = \"::\"; port = 9050; } );\n");
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 1);
	check_addr(&c.listen[0].addr, "[::]:9050");
	conf_free(&c);
}

/* ----- conf_add_listen_uri -------------------------------------------- */

static void
test_listen_uri_valid(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	conf_init(&c);
	assert_int_equal(conf_add_listen_uri(&c, "socks5://127.0.0.1:1080",
	    err, sizeof(err)), 0);
	assert_int_equal(conf_add_listen_uri(&c, "socks5://[::1]:1081",
	    err, sizeof(err)), 0);
	assert_int_equal(conf_add_listen_uri(&c, "socks5://0.0.0.0",
	    err, sizeof(err)), 0);
	assert_int_equal(conf_add_listen_uri(&c, "socks5://[::]",
	    err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 4);
	assert_int_equal(c.listen[0].proto, CONF_PROTO_SOCKS5);
	check_addr(&c.listen[0].addr, "127.0.0.1:1080");
	assert_int_equal(c.listen[1].proto, CONF_PROTO_SOCKS5);
	assert_int_equal(c.listen[1].addr.sa.sa_family, AF_INET6);
	check_addr(&c.listen[1].addr, "[::1]:1081");
	check_addr(&c.listen[2].addr, "0.0.0.0:1080");
	check_addr(&c.listen[3].addr, "[::]:1080");
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 4);		/* no default added */
	conf_free(&c);
}

static void
check_uri_bad(const char *uri, const char *msg)
{
	struct conf c;
	char err[CONF_ERRLEN];

	conf_init(&c);
	err[0] = '\0';
	if (conf_add_listen_uri(&c, uri, err, sizeof(err)) != -1)
		fail_msg("\"%s\" accepted", uri);
	if (strstr(err, msg) == NULL)
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", uri, err, msg);
	assert_int_equal(c.nlisten, 0);
	conf_free(&c);
}

static void
test_listen_uri_errors(void **state)
{
	(void)state;
	check_uri_bad("127.0.0.1:1080",
	    "-l 127.0.0.1:1080: expected SCHEME://ADDRESS:PORT");
	check_uri_bad("", "-l : expected SCHEME://ADDRESS:PORT");
	check_uri_bad("ftp://127.0.0.1:21", "\"ftp\" is not a protocol");
	check_uri_bad("averyveryverylongscheme://127.0.0.1:1080",
	    "expected SCHEME://ADDRESS:PORT");
	check_uri_bad("socks5://host:80",
	    "-l socks5://host:80: \"host:80\" is not ADDRESS:PORT");
	check_uri_bad("socks5://1.2.3.4:0",
	    "\"1.2.3.4:0\" is not ADDRESS:PORT");
	check_uri_bad("socks5://1.2.3.4:99999",
	    "\"1.2.3.4:99999\" is not ADDRESS:PORT");
	check_uri_bad("socks5://", "\"\" is not ADDRESS:PORT");
	check_uri_bad("socks5://1.2.3.4:", "is not ADDRESS:PORT");
	check_uri_bad("socks5://[::1:1080", "is not ADDRESS:PORT");
}

/* ----- conf_add_user_arg ---------------------------------------------- */

static void
test_user_arg_valid(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	conf_init(&c);
	assert_int_equal(conf_add_user_arg(&c, "alice:secret", err,
	    sizeof(err)), 0);
	assert_int_equal(c.auth_required, 1);
	assert_int_equal(conf_add_user_arg(&c, "bob:pa:ss word", err,
	    sizeof(err)), 0);
	assert_int_equal(c.nusers, 2);
	assert_string_equal(c.users[0].name, "alice");
	assert_string_equal(c.users[0].password, "secret");
	assert_null(c.users[0].hash);
	assert_string_equal(c.users[0].origin, "-u");
	assert_string_equal(c.users[1].name, "bob");
	assert_string_equal(c.users[1].password, "pa:ss word");
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.auth_required, 1);
	conf_free(&c);
}

static void
test_user_arg_overrides_required_false(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	load_ok(&c, "auth = { required = false; };\n");
	assert_int_equal(c.auth_required, 0);
	assert_int_equal(conf_add_user_arg(&c, "u:p", err, sizeof(err)), 0);
	assert_int_equal(c.auth_required, 1);
	conf_free(&c);
}

static void
check_user_arg_bad(struct conf *c, const char *arg, const char *msg)
{
	char err[CONF_ERRLEN];
	int before = c->nusers;

	err[0] = '\0';
	if (conf_add_user_arg(c, arg, err, sizeof(err)) != -1)
		fail_msg("\"%s\" accepted", arg);
	if (strstr(err, msg) == NULL)
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", arg, err, msg);
	assert_int_equal(c->nusers, before);
}

static void
test_user_arg_errors(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN], arg[600];

	(void)state;
	conf_init(&c);
	check_user_arg_bad(&c, "alice", "-u: expected USER:PASSWORD");
	check_user_arg_bad(&c, "alice:", "-u alice: password must be 1..255");
	check_user_arg_bad(&c, ":secret", "-u: user name is empty");
	check_user_arg_bad(&c, "al ice:secret", "-u: user name contains ':', "
	    "a space");
	check_user_arg_bad(&c, "al\tice:secret", "user name contains");
	snprintf(arg, sizeof(arg), "%0256d:p", 0);
	check_user_arg_bad(&c, arg, "user name is longer than 255 bytes");
	snprintf(arg, sizeof(arg), "%0300d:p", 0);
	check_user_arg_bad(&c, arg, "user name is longer than 255 bytes");
	snprintf(arg, sizeof(arg), "u:%0256d", 0);
	check_user_arg_bad(&c, arg, "-u u: password must be 1..255 bytes");
	/* failures change nothing */
	assert_int_equal(c.auth_required, -1);

	assert_int_equal(conf_add_user_arg(&c, "alice:secret", err,
	    sizeof(err)), 0);
	check_user_arg_bad(&c, "alice:other",
	    "-u alice: user is defined twice");
	assert_int_equal(c.nusers, 1);
	conf_free(&c);
}

static void
test_user_arg_length_edges(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN], arg[600];

	(void)state;
	conf_init(&c);
	snprintf(arg, sizeof(arg), "%0255d:%0255d", 0, 1);
	assert_int_equal(conf_add_user_arg(&c, arg, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.users[0].name), 255);
	assert_int_equal(strlen(c.users[0].password), 255);
	conf_free(&c);
}

static void
test_user_arg_duplicate_of_config(void **state)
{
	struct conf c;

	(void)state;
	load_ok(&c, "auth = { users = ( { name = \"alice\";"
	    " hash = \"" GOOD_HASH "\"; } ); };\n");
	check_user_arg_bad(&c, "alice:secret", "-u alice: user is defined "
	    "twice");
	conf_free(&c);
}

/* ----- conf_print ----------------------------------------------------- */

static void
test_print_hides_passwords(void **state)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN], *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	data_path(path, sizeof(path), "full.conf");
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(conf_add_user_arg(&c, "zed:cmdline-pw", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	conf_print(&c, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	if (strstr(buf, "secret") != NULL || strstr(buf, "cmdline-pw") != NULL)
		fail_msg("a password is printed:\n%s", buf);
	if (strstr(buf, "$6$") != NULL || strstr(buf, "$y$") != NULL ||
	    strstr(buf, "$5$") != NULL)
		fail_msg("a hash is printed:\n%s", buf);
	assert_non_null(strstr(buf, "listen socks5 127.0.0.1:1080\n"));
	assert_non_null(strstr(buf, "listen socks5 [::]:1081\n"));
	assert_non_null(strstr(buf, "auth required, 6 users (2 with a plain "
	    "password, 4 hashed)\n"));
	assert_non_null(strstr(buf, "dns servers 127.0.0.1:5353 10.0.0.53:53 "
	    "[::1]:5353 [2001:db8::1]:53, timeout 1500 ms x 3 tries"));
	assert_non_null(strstr(buf, "log level debug, access log "
	    "/var/log/sluice-access.log (sluice format)\n"));
	assert_non_null(strstr(buf, "workers 1\n"));
	free(buf);
	conf_free(&c);
}

static void
test_proto_names(void **state)
{
	(void)state;
	assert_string_equal(conf_proto_name(CONF_PROTO_SOCKS5), "socks5");
	assert_string_equal(conf_proto_name(CONF_PROTO_HTTP), "http");
	assert_string_equal(conf_proto_name(CONF_PROTO_AUTO), "auto");
	assert_string_equal(conf_proto_name(CONF_PROTO_SOCKS4), "socks4");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_no_file),
		cmocka_unit_test(test_empty_file_is_defaults),
		cmocka_unit_test(test_free_then_init_again),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_users_without_required),
		cmocka_unit_test(test_required_false_with_users),
		cmocka_unit_test(test_partial_sections_keep_defaults),
		cmocka_unit_test(test_range_edges_accepted),
		cmocka_unit_test(test_dns_single_string),
		cmocka_unit_test(test_users_file_relative_to_config),
		cmocka_unit_test(test_users_file_absolute),
		cmocka_unit_test(test_users_file_missing),
		cmocka_unit_test(test_users_file_bad_lines),
		cmocka_unit_test(test_users_file_only_no_colon),
		cmocka_unit_test(test_err_unknown_top_key),
		cmocka_unit_test(test_err_unknown_key_in_sections),
		cmocka_unit_test(test_err_wrong_types),
		cmocka_unit_test(test_err_workers_wrong_type),
		cmocka_unit_test(test_err_out_of_range),
		cmocka_unit_test(test_err_listen_address),
		cmocka_unit_test(test_err_listen_proto),
		cmocka_unit_test(test_listen_protocols),
		cmocka_unit_test(test_http_auth_log_keys),
		cmocka_unit_test(test_err_dns_server),
		cmocka_unit_test(test_err_users),
		cmocka_unit_test(test_users_length_edges_accepted),
		cmocka_unit_test(test_err_log),
		cmocka_unit_test(test_err_workers),
		cmocka_unit_test(test_err_syntax),
		cmocka_unit_test(test_err_duplicate_setting),
		cmocka_unit_test(test_err_missing_file),
		cmocka_unit_test(test_err_directory),
		cmocka_unit_test(test_err_many_in_one_file),
		cmocka_unit_test(test_err_small_buffer),
		cmocka_unit_test(test_finish_duplicate_listener_file),
		cmocka_unit_test(test_finish_duplicate_listener_uri),
		cmocka_unit_test(test_finish_required_without_users),
		cmocka_unit_test(test_finish_keeps_configured_listeners),
		cmocka_unit_test(test_listen_uri_valid),
		cmocka_unit_test(test_listen_uri_errors),
		cmocka_unit_test(test_user_arg_valid),
		cmocka_unit_test(test_user_arg_overrides_required_false),
		cmocka_unit_test(test_user_arg_errors),
		cmocka_unit_test(test_user_arg_length_edges),
		cmocka_unit_test(test_user_arg_duplicate_of_config),
		cmocka_unit_test(test_print_hides_passwords),
		cmocka_unit_test(test_proto_names),
	};

	return cmocka_run_group_tests_name("conf", tests, group_setup,
	    group_teardown);
}
