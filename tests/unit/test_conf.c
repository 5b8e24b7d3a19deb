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
	assert_int_equal(c.workers, 0);
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
	    "workers: 5000 is out of range (0..64)");
}

static void
test_busy_poll(void **state)
{
	struct conf c;

	(void)state;
	conf_init(&c);
	assert_int_equal(c.busy_poll_us, 10);
	conf_free(&c);
	load_ok(&c, "busy_poll_us = 0;\n");
	assert_int_equal(c.busy_poll_us, 0);
	conf_free(&c);
	load_ok(&c, "busy_poll_us = 50;\n");
	assert_int_equal(c.busy_poll_us, 50);
	conf_free(&c);
	load_ok(&c, "busy_poll_us = 10000;\n");
	assert_int_equal(c.busy_poll_us, 10000);
	conf_free(&c);
	check_one_error("busy_poll_us = 10001;\n", 1,
	    "busy_poll_us: 10001 is out of range (0..10000)");
	check_one_error("busy_poll_us = -1;\n", 1,
	    "busy_poll_us: -1 is out of range (0..10000)");
	check_one_error("busy_poll_us = true;\n", 1,
	    "busy_poll_us: expected an integer, found a boolean");
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
	assert_int_equal(c.pool_per_origin, 64);
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
test_tcp_keys(void **state)
{
	struct conf c;

	(void)state;
	conf_init(&c);
	assert_int_equal(c.tcp_notsent_lowat, 262144);
	conf_free(&c);
	load_ok(&c, "tcp = { notsent_lowat = 16384; };\n");
	assert_int_equal(c.tcp_notsent_lowat, 16384);
	conf_free(&c);
	load_ok(&c, "tcp = { notsent_lowat = 0; };\n");
	assert_int_equal(c.tcp_notsent_lowat, 0);
	conf_free(&c);
	load_ok(&c, "tcp = { notsent_lowat = 67108864; };\n");
	assert_int_equal(c.tcp_notsent_lowat, 64 * 1024 * 1024);
	conf_free(&c);

	check_one_error("tcp = { notsent_lowat = 67108865; };\n", 1,
	    "tcp.notsent_lowat: 67108865 is out of range (0..67108864)");
	check_one_error("tcp = { notsent_lowat = -1; };\n", 1,
	    "tcp.notsent_lowat: -1 is out of range");
	check_one_error("tcp = { notsent_lowat = \"64K\"; };\n", 1,
	    "tcp.notsent_lowat: expected an integer");
	check_one_error("tcp = { nodelay = true; };\n", 1,
	    "tcp.nodelay: unknown key");
	check_one_error("tcp = 5;\n", 1, "tcp: expected a group");
}

static void
test_tcp_congestion_keys(void **state)
{
	struct conf c;

	(void)state;
	conf_init(&c);
	assert_string_equal(c.tcp_cc, "");
	assert_string_equal(c.tcp_cc_loopback, "reno");
	assert_int_equal(c.tcp_cc_loopback_set, 0);
	conf_free(&c);
	load_ok(&c, "tcp = { congestion = \"cubic\"; };\n");
	assert_string_equal(c.tcp_cc, "cubic");
	assert_string_equal(c.tcp_cc_loopback, "reno");
	assert_int_equal(c.tcp_cc_loopback_set, 0);
	conf_free(&c);
	load_ok(&c, "tcp = { loopback_congestion = \"reno\"; };\n");
	assert_string_equal(c.tcp_cc_loopback, "reno");
	assert_int_equal(c.tcp_cc_loopback_set, 1);
	conf_free(&c);
	load_ok(&c, "tcp = { congestion = \"bbr\"; "
	    "loopback_congestion = \"\"; };\n");
	assert_string_equal(c.tcp_cc, "bbr");
	assert_string_equal(c.tcp_cc_loopback, "");
	conf_free(&c);
	/* the longest a kernel name can be: 15 characters */
	load_ok(&c, "tcp = { loopback_congestion = \"a23456789_12345\"; };\n");
	assert_string_equal(c.tcp_cc_loopback, "a23456789_12345");
	conf_free(&c);
	load_ok(&c, "tcp = { congestion = \"\"; "
	    "loopback_congestion = \"dctcp-x\"; };\n");
	assert_string_equal(c.tcp_cc, "");
	assert_string_equal(c.tcp_cc_loopback, "dctcp-x");
	conf_free(&c);

	check_one_error("tcp = { congestion = \"a23456789_123456\"; };\n", 1,
	    "tcp.congestion: \"a23456789_123456\" is not a congestion "
	    "control name (lower case, at most 15 characters");
	check_one_error("tcp = { congestion = \"BBR\"; };\n", 1,
	    "tcp.congestion: \"BBR\" is not a congestion control name");
	check_one_error("tcp = { loopback_congestion = \"re no\"; };\n", 1,
	    "tcp.loopback_congestion: \"re no\" is not a congestion control "
	    "name");
	check_one_error("tcp = { loopback_congestion = \"reno/\"; };\n", 1,
	    "tcp.loopback_congestion: \"reno/\" is not a congestion control "
	    "name");
	check_one_error("tcp = { congestion = 1; };\n", 1,
	    "tcp.congestion: expected a string, found an integer");
	check_one_error("tcp = { congestion_control = \"reno\"; };\n", 1,
	    "tcp.congestion_control: unknown key");
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
	struct conf c;

	(void)state;

	check_one_error("# at most 64 threads\n"
	    "workers = 65;\n", 2, "workers: 65 is out of range (0..64)");
	check_one_error("workers = -1;\n", 1, "workers: -1 is out of range");
	/* 0: one per CPU (the default), else the number asked for */
	load_ok(&c, "workers = 0;\n");
	assert_int_equal(c.workers, 0);
	conf_free(&c);
	load_ok(&c, "workers = 64;\n");
	assert_int_equal(c.workers, 64);
	conf_free(&c);
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
	load_ok(&c, "listen = ( { address = \"::\"; port = 9050; } );\n"
	    "allow_open_proxy = true;\n");
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
	/* off loopback: -u (auth) keeps it from being an open proxy */
	assert_int_equal(conf_add_user_arg(&c, "u:p", err, sizeof(err)), 0);
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

/* ----- rules, groups, limits, admin, log (the policy keys) ------------ */

#define RULES_TOKEN	"0123456789abcdef-token"

/* Two users for the rules to name (lines 1 and 2). */
#define USERS_AB							\
	"auth = { users = ( { name = \"a\"; password = \"p\"; },\n"	\
	"  { name = \"b\"; password = \"p\"; } ); };\n"
/* The same and a group g = [ a ] (lines 1 to 3). */
#define USERS_AB_GROUP							\
	"auth = { users = ( { name = \"a\"; password = \"p\"; },\n"	\
	"  { name = \"b\"; password = \"p\"; } );\n"			\
	"  groups = ( { name = \"g\"; users = [ \"a\" ]; } ); };\n"

/*
 * Load text (which must load), then conf_finish() must fail with exactly
 * one error, "FILE:LINE: msg..." ("FILE: msg..." for line 0).
 */
static void
check_finish_error(const char *text, int line, const char *msg)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN];
	int rc;

	tmp_conf(path, sizeof(path), text);
	conf_init(&c);
	if (conf_load_file(&c, path, err, sizeof(err)) != 0) {
		conf_free(&c);
		fail_msg("rejected at load:\n%s\nerrors:\n%s", text, err);
	}
	memset(err, 'x', sizeof(err));
	rc = conf_finish(&c, err, sizeof(err));
	conf_free(&c);
	if (rc != -1)
		fail_msg("accepted:\n%s", text);
	check_err_line(err, path, line, msg);
	if (count_lines(err) != 1)
		fail_msg("expected one error, got:\n%s", err);
}

/* Load and finish text that must be accepted; c is conf_init()ed here. */
static void
finish_ok(struct conf *c, const char *text)
{
	char err[CONF_ERRLEN];

	load_ok(c, text);
	if (conf_finish(c, err, sizeof(err)) != 0)
		fail_msg("rejected by conf_finish:\n%s\nerrors:\n%s", text,
		    err);
	assert_string_equal(err, "");
}

static void
check_strv(char *const *v, int n, const char *const *want, int nwant)
{
	int i;

	if (n != nwant)
		fail_msg("%d strings, want %d", n, nwant);
	for (i = 0; i < n; i++)
		if (strcmp(v[i], want[i]) != 0)
			fail_msg("[%d] is \"%s\", want \"%s\"", i, v[i],
			    want[i]);
}

static void
check_cidr(const struct netaddr_cidr *c, const char *want)
{
	char s[NETADDR_STRLEN + 8];

	assert_string_equal(netaddr_cidr_str(c, s, sizeof(s)), want);
}

static void
test_rules_fixture(void **state)
{
	static const char *const staff[] = { "alice", "bob" };
	static const char *const carol[] = { "carol" };
	static const char *const methods[] = { "GET", "HEAD" };
	struct conf c;
	const struct conf_rule *r;
	const struct conf_user *u;
	char path[PATH_MAX], spath[PATH_MAX], origin[PATH_MAX + 16];
	char err[CONF_ERRLEN];

	(void)state;
	data_path(path, sizeof(path), "rules.conf");
	data_path(spath, sizeof(spath), "quota.state");
	conf_init(&c);
	memset(err, 'x', sizeof(err));
	if (conf_load_file(&c, path, err, sizeof(err)) != 0)
		fail_msg("%s rejected:\n%s", path, err);
	assert_string_equal(err, "");
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(conf_is_shared(&c), 1);
	assert_int_equal(c.auth_required, 1);
	assert_int_equal(c.allow_open_proxy, 0);

	/* groups */
	assert_int_equal(c.ngroups, 1);
	assert_string_equal(c.groups[0].name, "staff");
	check_strv(c.groups[0].users, c.groups[0].nusers, staff, 2);

	assert_int_equal(c.nrules, 5);
	/* rule 1: deny a block and a suffix */
	r = &c.rules[0];
	assert_int_equal(r->action, CONF_DENY);
	assert_null(r->name);
	snprintf(origin, sizeof(origin), "%s:15", path);
	assert_string_equal(r->origin, origin);
	assert_int_equal(r->has_dest, 1);
	assert_int_equal(r->dest.ncidrs, 1);
	check_cidr(&r->dest.cidrs[0], "10.0.0.0/8");
	assert_int_equal(r->dest.nhosts, 0);
	assert_int_equal(r->dest.nsuffixes, 1);
	assert_string_equal(r->dest.suffixes[0], ".internal.example");
	assert_int_equal(r->nports, 0);
	assert_null(r->ports);
	assert_int_equal(r->has_users, 0);
	assert_int_equal(r->nusers, 0);
	assert_int_equal(r->nclients, 0);
	assert_null(r->clients);
	assert_int_equal(r->protocols, 0);
	assert_int_equal(r->nmethods, 0);
	assert_null(r->methods);

	/* rule 2: staff, *.example.com, three port entries */
	r = &c.rules[1];
	assert_int_equal(r->action, CONF_ALLOW);
	snprintf(origin, sizeof(origin), "%s:16", path);
	assert_string_equal(r->origin, origin);
	assert_int_equal(r->dest.ncidrs, 0);
	assert_int_equal(r->dest.nsuffixes, 1);
	assert_string_equal(r->dest.suffixes[0], ".example.com");
	assert_int_equal(r->nports, 3);
	assert_int_equal(r->ports[0].lo, 80);
	assert_int_equal(r->ports[0].hi, 80);
	assert_int_equal(r->ports[1].lo, 443);
	assert_int_equal(r->ports[1].hi, 443);
	assert_int_equal(r->ports[2].lo, 8000);
	assert_int_equal(r->ports[2].hi, 8100);
	assert_int_equal(r->has_users, 1);
	assert_int_equal(r->nuser_names, 0);
	assert_int_equal(r->ngroups, 1);
	assert_string_equal(r->groups[0], "staff");
	check_strv(r->users, r->nusers, staff, 2);

	/* rule 3: carol, CONNECT and SOCKS5 */
	r = &c.rules[2];
	assert_int_equal(r->action, CONF_ALLOW);
	snprintf(origin, sizeof(origin), "%s:18", path);
	assert_string_equal(r->origin, origin);
	assert_int_equal(r->has_dest, 0);
	assert_int_equal(r->has_users, 1);
	check_strv(r->user_names, r->nuser_names, carol, 1);
	check_strv(r->users, r->nusers, carol, 1);
	assert_int_equal(r->ngroups, 0);
	assert_int_equal(r->protocols, CONF_P_CONNECT | CONF_P_SOCKS5);

	/* rule 4: clients and methods */
	r = &c.rules[3];
	snprintf(origin, sizeof(origin), "%s:20", path);
	assert_string_equal(r->origin, origin);
	assert_int_equal(r->nclients, 2);
	check_cidr(&r->clients[0], "192.168.0.0/16");
	check_cidr(&r->clients[1], "fd00::/8");
	check_strv(r->methods, r->nmethods, methods, 2);
	assert_int_equal(r->has_users, 0);

	/* rule 5: named, no keys */
	r = &c.rules[4];
	assert_int_equal(r->action, CONF_DENY);
	assert_string_equal(r->name, "rest");
	snprintf(origin, sizeof(origin), "%s:22", path);
	assert_string_equal(r->origin, origin);
	assert_int_equal(r->has_dest, 0);
	assert_int_equal(r->has_users, 0);

	/* user limits: alice's own, the others inherit (-1) */
	u = conf_user_find(&c, "alice");
	assert_non_null(u);
	assert_int_equal(u->limits.per_user, 10);
	assert_int_equal(u->limits.bandwidth, 1000000);
	assert_int_equal(u->limits.quota_daily, 1000000000LL);
	assert_int_equal(u->limits.quota_monthly, 10000000000LL);
	u = conf_user_find(&c, "bob");
	assert_non_null(u);
	assert_int_equal(u->limits.per_user, -1);
	assert_int_equal(u->limits.bandwidth, -1);
	assert_int_equal(u->limits.quota_daily, -1);
	assert_int_equal(u->limits.quota_monthly, -1);
	assert_null(conf_user_find(&c, "staff"));
	assert_null(conf_user_find(&c, "Alice"));

	/* limits */
	assert_int_equal(c.rate_per_client, 20);
	assert_int_equal(c.user_bandwidth, 10485760);
	assert_int_equal(c.conn_bandwidth, 64000);
	assert_int_equal(c.user_quota_daily, 1500000000LL);
	assert_int_equal(c.user_quota_monthly, 1073741824LL);
	assert_string_equal(c.state_file, spath);	/* beside the config */

	/* admin */
	assert_int_equal(c.admin_on, 1);
	check_addr(&c.admin_addr, "127.0.0.1:9191");
	assert_string_equal(c.admin_token, RULES_TOKEN);

	/* log */
	assert_int_equal(c.log_format, CONF_LOG_JSON);
	assert_int_equal(c.log_interim, 60);
	assert_string_equal(c.syslog_socket, "/run/sluice-test/log");
	assert_string_equal(c.access_log, "syslog");
	conf_free(&c);
}

static void
test_policy_defaults(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	conf_init(&c);
	assert_int_equal(c.rate_per_client, 0);
	assert_int_equal(c.user_bandwidth, 0);
	assert_int_equal(c.conn_bandwidth, 0);
	assert_int_equal(c.user_quota_daily, 0);
	assert_int_equal(c.user_quota_monthly, 0);
	assert_null(c.state_file);
	assert_int_equal(c.ngroups, 0);
	assert_int_equal(c.nrules, 0);
	assert_null(c.rules);
	assert_int_equal(c.allow_open_proxy, 0);
	assert_int_equal(c.admin_on, 0);
	assert_null(c.admin_token);
	assert_int_equal(c.log_interim, 0);
	assert_string_equal(c.syslog_socket, "/dev/log");
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(conf_is_shared(&c), 0);
	conf_free(&c);

	/* an empty admin group: on, at 127.0.0.1:9090, no token */
	finish_ok(&c, "admin = { };\n");
	assert_int_equal(c.admin_on, 1);
	check_addr(&c.admin_addr, "127.0.0.1:9090");
	assert_null(c.admin_token);
	conf_free(&c);
	finish_ok(&c, "admin = { address = \"::1\"; port = 1; };\n");
	check_addr(&c.admin_addr, "[::1]:1");
	conf_free(&c);
	/* off loopback with a token */
	finish_ok(&c, "admin = { address = \"0.0.0.0\";\n"
	    "  token = \"" RULES_TOKEN "\"; };\n");
	check_addr(&c.admin_addr, "0.0.0.0:9090");
	assert_string_equal(c.admin_token, RULES_TOKEN);
	/* the admin listener does not make a shared gateway */
	assert_int_equal(conf_is_shared(&c), 0);
	conf_free(&c);
}

/* A rule's users and its groups' members: one sorted list, no repeats. */
static void
test_groups_expanded_sorted(void **state)
{
	static const char *const all[] = { "alice", "bob", "carol", "mallory",
	    "zed" };
	static const char *const written[] = { "zed", "alice" };
	static const char *const groups[] = { "staff", "ops" };
	static const char *const staff[] = { "mallory", "bob", "alice" };
	static const char *const ops[] = { "bob", "carol" };
	struct conf c;

	(void)state;
	finish_ok(&c, "auth = { users = (\n"
	    "  { name = \"zed\"; password = \"p\"; },\n"
	    "  { name = \"mallory\"; password = \"p\"; },\n"
	    "  { name = \"carol\"; password = \"p\"; },\n"
	    "  { name = \"bob\"; password = \"p\"; },\n"
	    "  { name = \"alice\"; password = \"p\"; } );\n"
	    "  groups = ( { name = \"staff\";"
	    " users = [ \"mallory\", \"bob\", \"alice\" ]; },\n"
	    "    { name = \"ops\"; users = ( \"bob\", \"carol\" ); },\n"
	    "    { name = \"empty\"; users = [ ]; } ); };\n"
	    "rules = (\n"
	    "  { action = \"allow\"; users = [ \"zed\", \"alice\" ];"
	    " groups = [ \"staff\", \"ops\" ]; },\n"
	    "  { action = \"allow\"; groups = [ \"empty\" ]; },\n"
	    "  { action = \"allow\"; groups = \"ops\"; },\n"
	    "  { action = \"deny\"; users = \"bob\"; }\n"
	    ");\n");
	assert_int_equal(c.ngroups, 3);
	check_strv(c.groups[0].users, c.groups[0].nusers, staff, 3);
	check_strv(c.groups[1].users, c.groups[1].nusers, ops, 2);
	assert_int_equal(c.groups[2].nusers, 0);
	assert_int_equal(c.nrules, 4);
	check_strv(c.rules[0].users, c.rules[0].nusers, all, 5);
	/* as written, for -t */
	check_strv(c.rules[0].user_names, c.rules[0].nuser_names, written, 2);
	check_strv(c.rules[0].groups, c.rules[0].ngroups, groups, 2);
	/* an empty group: the rule matches nobody, but it has users */
	assert_int_equal(c.rules[1].has_users, 1);
	assert_int_equal(c.rules[1].nusers, 0);
	/* one string for a list of one */
	check_strv(c.rules[2].users, c.rules[2].nusers, ops, 2);
	assert_int_equal(c.rules[3].nusers, 1);
	assert_string_equal(c.rules[3].users[0], "bob");
	conf_free(&c);
}

static void
test_finish_rule_errors(void **state)
{
	struct conf c;
	char path[PATH_MAX], err[CONF_ERRLEN];

	(void)state;
	check_finish_error(USERS_AB "rules = (\n"
	    "  { action = \"allow\"; },\n"
	    "  { action = \"allow\"; users = [ \"a\", \"mallory\" ]; }\n"
	    ");\n", 5, "rules[1].users: user \"mallory\" is not defined");
	check_finish_error(USERS_AB "rules = (\n"
	    "  { action = \"allow\"; groups = [ \"ops\" ]; }\n"
	    ");\n", 4, "rules[0].groups: group \"ops\" is not defined "
	    "(auth.groups)");
	/* a group naming an unknown user, at the group's line */
	check_finish_error("auth = { users = ( { name = \"alice\"; "
	    "password = \"a\"; } );\n"
	    "  groups = ( { name = \"staff\"; users = [ \"alice\", \"zed\" ]; }"
	    " ); };\n", 2, "auth.groups: group \"staff\" names user \"zed\", "
	    "who is not defined");
	/* users by group only need the group: no user check of the rule */
	check_finish_error("auth = { users = ( { name = \"alice\"; "
	    "password = \"a\"; } );\n"
	    "  groups = ( { name = \"staff\"; users = [ \"zed\" ]; } ); };\n"
	    "rules = ( { action = \"allow\"; groups = [ \"staff\" ]; } );\n",
	    2, "auth.groups: group \"staff\" names user \"zed\"");

	/* two problems in one rule: both reported, each at the rule */
	tmp_conf(path, sizeof(path), USERS_AB "rules = (\n"
	    "  { action = \"deny\"; },\n"
	    "  { action = \"deny\"; },\n"
	    "  { action = \"allow\"; users = [ \"x\" ]; groups = [ \"g\" ]; }\n"
	    ");\n");
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), -1);
	check_err_line(err, path, 6, "rules[2].users: user \"x\" is not "
	    "defined");
	check_err_line(err, path, 6, "rules[2].groups: group \"g\" is not "
	    "defined");
	assert_int_equal(count_lines(err), 2);
	conf_free(&c);
}

/* A listener off loopback with no auth and no clients rule: open proxy. */
static void
test_finish_open_proxy(void **state)
{
	struct conf c;
	char err[CONF_ERRLEN];

	(void)state;
	check_finish_error("listen = ( { address = \"0.0.0.0\"; port = 1080; } "
	    ");\n", 0, "listen socks5 0.0.0.0:1080: a listener off loopback "
	    "with no auth and no rule on client addresses is an open proxy");
	check_finish_error("listen = ( { proto = \"http\"; address = \"::\"; "
	    "port = 3128; } );\n", 0, "listen http [::]:3128: a listener off "
	    "loopback");
	/* users, but auth.required = false: still open */
	check_finish_error("listen = ( { address = \"0.0.0.0\"; } );\n"
	    "auth = { required = false; users = ( { name = \"a\"; "
	    "password = \"p\"; } ); };\n", 0, "listen socks5 0.0.0.0:1080: ");
	/* rules, but none on clients: still open */
	check_finish_error("listen = ( { address = \"0.0.0.0\"; } );\n"
	    "rules = ( { action = \"deny\"; dest = [ \"10.0.0.0/8\" ]; } );\n",
	    0, "listen socks5 0.0.0.0:1080: ");
	check_finish_error("listen = ( { address = \"0.0.0.0\"; } );\n"
	    "allow_open_proxy = false;\n", 0, "listen socks5 0.0.0.0:1080: ");
	/* one error however many listeners are public */
	check_finish_error("listen = ( { address = \"127.0.0.1\"; },\n"
	    "  { address = \"10.1.2.3\"; }, { address = \"::\"; } );\n", 0,
	    "listen socks5 10.1.2.3:1080: a listener off loopback");

	/* the message says what to do */
	load_ok(&c, "listen = ( { address = \"0.0.0.0\"; } );\n");
	assert_int_equal(conf_finish(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "open proxy"));
	assert_non_null(strstr(err, "allow_open_proxy"));
	conf_free(&c);

	/* with auth */
	finish_ok(&c, "listen = ( { address = \"0.0.0.0\"; } );\n"
	    "auth = { users = ( { name = \"a\"; password = \"p\"; } ); };\n");
	assert_int_equal(conf_is_shared(&c), 1);
	conf_free(&c);
	/* with a clients rule */
	finish_ok(&c, "listen = ( { address = \"0.0.0.0\"; } );\n"
	    "rules = ( { action = \"allow\"; clients = [ \"10.0.0.0/8\" ]; },\n"
	    "  { action = \"deny\"; } );\n");
	conf_free(&c);
	/* with allow_open_proxy */
	finish_ok(&c, "listen = ( { address = \"0.0.0.0\"; } );\n"
	    "allow_open_proxy = true;\n");
	assert_int_equal(c.allow_open_proxy, 1);
	conf_free(&c);
	/* on loopback */
	finish_ok(&c, "listen = ( { address = \"127.0.0.1\"; },\n"
	    "  { address = \"127.0.0.2\"; }, { address = \"::1\"; } );\n");
	assert_int_equal(conf_is_shared(&c), 0);
	conf_free(&c);
	/* -l on 0.0.0.0 without -u */
	conf_init(&c);
	assert_int_equal(conf_add_listen_uri(&c, "http://0.0.0.0:8080", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), -1);
	check_err_line(err, "(command line)", 0, "listen http 0.0.0.0:8080: "
	    "a listener off loopback");
	conf_free(&c);
}

static void
test_finish_admin(void **state)
{
	(void)state;
	check_finish_error("admin = { address = \"0.0.0.0\"; };\n", 0,
	    "admin: 0.0.0.0:9090 is not a loopback address: set admin.token");
	check_finish_error("admin = { address = \"2001:db8::1\"; port = 99; "
	    "};\n", 0, "admin: [2001:db8::1]:99 is not a loopback address");
	check_finish_error("listen = ( { address = \"127.0.0.1\"; "
	    "port = 9090; } );\n"
	    "admin = { };\n", 0, "admin: 127.0.0.1:9090 is also a proxy "
	    "listener");
}

static void
test_is_shared(void **state)
{
	static const struct {
		const char	*listen;
		int		shared;
	} t[] = {
		{ "", 0 },
		{ "listen = ( { address = \"127.0.0.1\"; } );\n", 0 },
		{ "listen = ( { address = \"127.9.9.9\"; } );\n", 0 },
		{ "listen = ( { address = \"::1\"; } );\n", 0 },
		{ "listen = ( { address = \"0.0.0.0\"; } );\n", 1 },
		{ "listen = ( { address = \"::\"; } );\n", 1 },
		{ "listen = ( { address = \"192.0.2.2\"; } );\n", 1 },
		{ "listen = ( { address = \"::1\"; },\n"
		  "  { address = \"fe80::1\"; } );\n", 1 },
	};
	struct conf c;
	char text[512];
	size_t i;
	int shared;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "%sallow_open_proxy = true;\n",
		    t[i].listen);
		finish_ok(&c, text);
		shared = conf_is_shared(&c);
		conf_free(&c);
		if (shared != t[i].shared)
			fail_msg("conf_is_shared %d, want %d:\n%s", shared,
			    t[i].shared, text);
	}
}

struct size_case {
	const char	*text;
	int64_t		value;
};

static void	check_sizes(const struct size_case *, size_t);

/* Sizes: integers, or strings with a unit (powers of 1000 or 1024). */
static void
test_sizes(void **state)
{
	static const struct size_case t[] = {
		{ "0", 0 }, { "5000", 5000 }, { "10000000000L", 10000000000LL },
		{ "\"0\"", 0 }, { "\"100\"", 100 }, { "\"100B\"", 100 },
		{ "\"64K\"", 64000 }, { "\"64k\"", 64000 },
		{ "\"64KB\"", 64000 }, { "\"64Ki\"", 65536 },
		{ "\"64KiB\"", 65536 }, { "\"10M\"", 10000000 },
		{ "\"10MB\"", 10000000 }, { "\"10Mi\"", 10485760 },
		{ "\"1G\"", 1000000000LL }, { "\"1GiB\"", 1073741824LL },
		{ "\"1.5G\"", 1500000000LL }, { "\"2.5Mi\"", 2621440 },
		{ "\"1T\"", 1000000000000LL }, { "\"1Ti\"", 1099511627776LL },
		{ "\"0.5K\"", 500 }, { "\"10 M\"", 10000000 },
		{ "\"2.3M\"", 2300000 }, { "\"1.1K\"", 1100 },
	};

	(void)state;
	check_sizes(t, sizeof(t) / sizeof(t[0]));
}

/* Decimal fractions are exact: "1.001K" is 1001 bytes, not 1000. */
static void
test_sizes_decimal_exact(void **state)
{
	static const struct size_case t[] = {
		{ "\"1.001K\"", 1001 }, { "\"1.003M\"", 1003000 },
		{ "\"1.005G\"", 1005000000LL }, { "\"4.35K\"", 4350 },
		{ "\"1.001T\"", 1001000000000LL },
	};

	(void)state;
	check_sizes(t, sizeof(t) / sizeof(t[0]));
}

static void
check_sizes(const struct size_case *t, size_t n)
{
	struct conf c;
	char text[256];
	int64_t got[4];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "limits = { user_bandwidth = %s; "
		    "conn_bandwidth = %s;\n  user_quota_daily = %s; "
		    "user_quota_monthly = %s; };\n", t[i].text, t[i].text,
		    t[i].text, t[i].text);
		load_ok(&c, text);
		got[0] = c.user_bandwidth;
		got[1] = c.conn_bandwidth;
		got[2] = c.user_quota_daily;
		got[3] = c.user_quota_monthly;
		conf_free(&c);		/* first: a failed check leaks nothing */
		if (got[0] != t[i].value || got[1] != t[i].value ||
		    got[2] != t[i].value || got[3] != t[i].value)
			fail_msg("%s: %lld %lld %lld %lld, want %lld",
			    t[i].text, (long long)got[0], (long long)got[1],
			    (long long)got[2], (long long)got[3],
			    (long long)t[i].value);
		/* and the same in a user's limits */
		snprintf(text, sizeof(text), "auth = { users = ( { name = "
		    "\"a\"; password = \"p\";\n  limits = { user_bandwidth = "
		    "%s; user_quota_daily = %s;\n  user_quota_monthly = %s; "
		    "}; } ); };\n", t[i].text, t[i].text, t[i].text);
		load_ok(&c, text);
		got[0] = c.users[0].limits.bandwidth;
		got[1] = c.users[0].limits.quota_daily;
		got[2] = c.users[0].limits.quota_monthly;
		got[3] = c.users[0].limits.per_user;
		conf_free(&c);
		if (got[0] != t[i].value || got[1] != t[i].value ||
		    got[2] != t[i].value || got[3] != -1)
			fail_msg("user limits %s: %lld %lld %lld per_user "
			    "%lld, want %lld", t[i].text, (long long)got[0],
			    (long long)got[1], (long long)got[2],
			    (long long)got[3], (long long)t[i].value);
	}
}

static void
test_err_sizes(void **state)
{
	static const char *const bad[] = {
		"", "K", "B", "x", "10X", "1.5.5", "-1", "+1", "1e3", "10KiX",
		"10Bi", "10iB", "0x10", "10 MM", "99999999T",
	};
	char text[128], msg[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "limits = {\n"
		    "  user_quota_daily = \"%s\"; };\n", bad[i]);
		snprintf(msg, sizeof(msg), "limits.user_quota_daily: \"%s\" is "
		    "not a size (a number, or with a unit: 64K, 10M, 1G, 10Mi)",
		    bad[i]);
		check_one_error(text, 2, msg);
	}
	check_one_error("limits = { user_bandwidth = -1; };\n", 1,
	    "limits.user_bandwidth: must not be negative");
	check_one_error("limits = { conn_bandwidth = -5000000000L; };\n", 1,
	    "limits.conn_bandwidth: must not be negative");
	check_one_error("limits = { user_quota_monthly = true; };\n", 1,
	    "limits.user_quota_monthly: expected a number of bytes, found a "
	    "boolean");
	check_one_error("limits = { user_bandwidth = 1.5; };\n", 1,
	    "limits.user_bandwidth: expected a number of bytes, found a "
	    "float");
	check_one_error("limits = { user_bandwidth = [ 1 ]; };\n", 1,
	    "limits.user_bandwidth: expected a number of bytes, found an "
	    "array");
	check_one_error("auth = { users = ( { name = \"a\"; password = \"p\";\n"
	    "  limits = { user_bandwidth = \"lots\"; }; } ); };\n", 2,
	    "auth.users[0].limits.user_bandwidth: \"lots\" is not a size");
	check_one_error("auth = { users = ( { name = \"a\"; password = \"p\";\n"
	    "  limits = { user_quota_daily = -1; }; } ); };\n", 2,
	    "auth.users[0].limits.user_quota_daily: must not be negative");
}

static void
test_limits_keys(void **state)
{
	struct conf c;

	(void)state;
	load_ok(&c, "limits = { rate_per_client = 0; };\n");
	assert_int_equal(c.rate_per_client, 0);
	conf_free(&c);
	load_ok(&c, "limits = { rate_per_client = 1000000;\n"
	    "  state_file = \"/var/lib/sluice/quota\"; };\n");
	assert_int_equal(c.rate_per_client, 1000000);
	assert_string_equal(c.state_file, "/var/lib/sluice/quota");
	conf_free(&c);
	check_one_error("limits = { rate_per_client = -1; };\n", 1,
	    "limits.rate_per_client: -1 is out of range (0..1000000)");
	check_one_error("limits = { rate_per_client = 1000001; };\n", 1,
	    "limits.rate_per_client: 1000001 is out of range (0..1000000)");
	check_one_error("limits = { rate_per_client = \"10\"; };\n", 1,
	    "limits.rate_per_client: expected an integer, found a string");
	check_one_error("limits = { state_file = 5; };\n", 1,
	    "limits.state_file: expected a string, found an integer");
	check_one_error("limits = {\n  rate = 5; };\n", 2,
	    "limits.rate: unknown key");

	/* a user's own limits */
	load_ok(&c, "auth = { users = (\n"
	    "  { name = \"a\"; password = \"p\"; limits = { per_user = 0; }; },"
	    "\n  { name = \"b\"; password = \"p\"; limits = { }; },\n"
	    "  { name = \"c\"; password = \"p\";\n"
	    "    limits = { per_user = 2147483647; }; } ); };\n");
	assert_int_equal(c.users[0].limits.per_user, 0);
	assert_int_equal(c.users[0].limits.bandwidth, -1);
	assert_int_equal(c.users[1].limits.per_user, -1);
	assert_int_equal(c.users[1].limits.quota_monthly, -1);
	assert_int_equal(c.users[2].limits.per_user, 2147483647);
	conf_free(&c);
	check_one_error("auth = { users = ( { name = \"a\"; password = \"p\";\n"
	    "  limits = { per_user = -1; }; } ); };\n", 2,
	    "auth.users[0].limits.per_user: -1 is out of range "
	    "(0..2147483647)");
	check_one_error("auth = { users = ( { name = \"a\"; password = \"p\";\n"
	    "  limits = { conn_bandwidth = 1; }; } ); };\n", 2,
	    "auth.users[0].limits.conn_bandwidth: unknown key");
	check_one_error("auth = { users = ( { name = \"a\"; password = \"p\";\n"
	    "  limits = 5; } ); };\n", 2,
	    "auth.users[0].limits: expected a group { ... }, found an "
	    "integer");
	check_one_error("auth = { users = ( { name = \"a\"; password = \"p\"; "
	    "},\n  { name = \"b\"; password = \"p\";\n"
	    "    limits = { per_user = \"3\"; }; } ); };\n", 3,
	    "auth.users[1].limits.per_user: expected an integer, found a "
	    "string");
}

static void
test_err_rules(void **state)
{
	static const struct {
		const char	*dest;
		const char	*why;
	} dest[] = {
		{ "10.0.0.1/8", "is not a valid address block" },
		{ "1.2.3.4/33", "is not a valid address block" },
		{ "::1/129", "is not a valid address block" },
		{ "fd00::1/8", "is not a valid address block" },
		{ "10.0.0.0/", "is not a valid address block" },
		{ "fe80::1%eth0", "is not a valid address block" },
		{ "*.", "is not a host name, *.suffix or address block" },
		{ "*", "is not a host name, *.suffix or address block" },
		{ "*example.com", "is not a host name, *.suffix or address "
		  "block" },
		{ "a b", "is not a host name, *.suffix or address block" },
		{ "", "is not a host name, *.suffix or address block" },
		{ "a.*.com", "is not a host name, *.suffix or address block" },
		{ "http://x", "is not a valid address block" },
	};
	static const char *const ports[] = {
		"\"0\"", "\"70000\"", "\"90-80\"", "\"abc\"", "\"80-\"",
		"\"-80\"", "\"80-70000\"", "\"\"", "\" 80\"", "\"80x\"", "0",
		"65536", "true",
	};
	struct conf c;
	char text[256], msg[256];
	size_t i;

	(void)state;
	check_one_error("rules = { };\n", 1, "rules: expected a list ( { "
	    "action = ...; }, ... ), found a group { }");
	check_one_error("rules = ( 5 );\n", 1, "rules[0]: expected a group "
	    "{ action = ...; }");
	check_one_error("rules = (\n  { action = \"deny\"; },\n"
	    "  { name = \"x\"; }\n);\n", 3, "rules[1]: \"action\" (\"allow\" "
	    "or \"deny\") is missing");
	check_one_error("rules = (\n  { action = \"permit\"; }\n);\n", 2,
	    "rules[0].action: \"permit\" is not allow or deny");
	check_one_error("rules = (\n  { action = \"Allow\"; }\n);\n", 2,
	    "rules[0].action: \"Allow\" is not allow or deny");
	check_one_error("rules = (\n  { action = \"deny\";\n"
	    "    port = [ \"80\" ]; }\n);\n", 3, "rules[0].port: unknown key");
	check_one_error("rules = ( { action = \"deny\"; name = 5; } );\n", 1,
	    "rules[0].name: expected a string, found an integer");
	for (i = 0; i < sizeof(dest) / sizeof(dest[0]); i++) {
		snprintf(text, sizeof(text), "rules = ( { action = \"deny\";\n"
		    "  dest = [ \"10.0.0.0/8\",\n    \"%s\" ]; } );\n",
		    dest[i].dest);
		snprintf(msg, sizeof(msg), "rules[0].dest: \"%s\" %s",
		    dest[i].dest, dest[i].why);
		check_one_error(text, 3, msg);
	}
	check_one_error("rules = ( { action = \"deny\"; dest = 5; } );\n", 1,
	    "rules[0].dest: expected an array of strings [ \"...\", ... ], "
	    "found an integer");
	check_one_error("rules = ( { action = \"deny\";\n  dest = ( \"a.b\", "
	    "5 ); } );\n", 2, "rules[0].dest[1]: expected a string, found an "
	    "integer");
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		snprintf(text, sizeof(text), "rules = ( { action = \"deny\";\n"
		    "  ports = ( \"80\", %s ); } );\n", ports[i]);
		check_one_error(text, 2, "rules[0].ports[1]: expected a port "
		    "or a range \"LOW-HIGH\" within 1..65535");
	}
	check_one_error("rules = ( { action = \"deny\"; ports = \"80\"; } );\n",
	    1, "rules[0].ports: expected an array [ \"80\", \"8000-8100\" ]");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  clients = [ \"10.0.0.1/8\", \"fd00::/8\" ]; } );\n", 2,
	    "rules[0].clients: \"10.0.0.1/8\" is not an address or "
	    "ADDRESS/PREFIX (with zero host bits)");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  clients = [ \"10.0.0.0/8\", \"lan.example\" ]; } );\n", 2,
	    "rules[0].clients: \"lan.example\" is not an address or "
	    "ADDRESS/PREFIX");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  clients = [ ]; } );\n", 2, "rules[0].clients: the list is "
	    "empty");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  protocols = [ \"socks5\", \"ftp\" ]; } );\n", 2,
	    "rules[0].protocols: \"ftp\" is not one of socks5, socks4, http, "
	    "connect");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  protocols = [ \"SOCKS5\" ]; } );\n", 2,
	    "rules[0].protocols: \"SOCKS5\" is not one of");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  methods = [ \"GE T\" ]; } );\n", 2,
	    "rules[0].methods: \"GE T\" is not an HTTP method");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  methods = [ \"\" ]; } );\n", 2,
	    "rules[0].methods: \"\" is not an HTTP method");
	/* "get" would never match what clients send */
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  methods = [ \"GET\", \"get\" ]; } );\n", 2,
	    "rules[0].methods: \"get\" is not a method clients send "
	    "(methods are case-sensitive: write it in capitals)");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  methods = [ \"Patch\" ]; } );\n", 2,
	    "rules[0].methods: \"Patch\" is not a method clients send");
	load_ok(&c, "rules = ( { action = \"deny\"; "
	    "methods = [ \"PROPFIND\", \"purge\" ]; } );\n");
	assert_int_equal(c.rules[0].nmethods, 2);	/* extension methods */
	conf_free(&c);
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  methods = [ \"ABCDEFGHIJKLMNOPQRSTU\" ]; } );\n", 2,
	    "rules[0].methods: \"ABCDEFGHIJKLMNOPQRSTU\" is not an HTTP "
	    "method");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  users = [ \"a b\" ]; } );\n", 2, "rules[0].users: \"a b\" "
	    "contains ':', a space or a control character");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  users = [ \"\" ]; } );\n", 2, "rules[0].users: \"\" is empty");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  groups = [ \"a:b\" ]; } );\n", 2, "rules[0].groups: \"a:b\" "
	    "contains ':'");
	check_one_error("allow_open_proxy = 1;\n", 1, "allow_open_proxy: "
	    "expected a boolean (true/false), found an integer");
}

/*
 * One mistake, one message: a value of the wrong type is not also
 * "missing", and a list whose only entry is bad is not also "empty".
 */
static void
test_err_one_message_each(void **state)
{
	(void)state;
	check_one_error("rules = (\n  { action = 5; }\n);\n", 2,
	    "rules[0].action: expected a string, found an integer");
	check_one_error("rules = ( { action = \"deny\";\n"
	    "  clients = [ \"10.0.0.1/8\" ]; } );\n", 2,
	    "rules[0].clients: \"10.0.0.1/8\" is not an address or "
	    "ADDRESS/PREFIX (with zero host bits)");
	check_one_error("auth = { groups = (\n  { name = 5; } ); };\n", 2,
	    "auth.groups[0].name: expected a string, found an integer");
}

static void
test_rules_accepted_edges(void **state)
{
	struct conf c;
	const struct conf_rule *r;

	(void)state;
	load_ok(&c, "rules = (\n"
	    "  { action = \"allow\"; ports = [ \"1\", \"65535\", \"1-65535\","
	    " \"7-7\" ];\n"
	    "    methods = [ \"M-SEARCH\", \"PROPFIND\","
	    " \"ABCDEFGHIJKLMNOPQRST\" ];\n"
	    "    dest = \"*.A.Example.\"; },\n"
	    "  { action = \"deny\"; dest = [ \"LocalHost\", \"0.0.0.0/0\","
	    " \"::/0\",\n    \"a_b.example\", \"fe80::/10\", \"192.0.2.1\","
	    " \"::1\" ];\n"
	    "    clients = \"::/0\"; protocols = [ \"socks4\", \"http\","
	    " \"http\" ]; }\n"
	    ");\n");
	assert_int_equal(c.nrules, 2);
	r = &c.rules[0];
	assert_int_equal(r->nports, 4);
	assert_int_equal(r->ports[0].lo, 1);
	assert_int_equal(r->ports[0].hi, 1);
	assert_int_equal(r->ports[1].lo, 65535);
	assert_int_equal(r->ports[2].lo, 1);
	assert_int_equal(r->ports[2].hi, 65535);
	assert_int_equal(r->ports[3].lo, 7);
	assert_int_equal(r->ports[3].hi, 7);
	assert_int_equal(r->nmethods, 3);
	assert_string_equal(r->methods[0], "M-SEARCH");
	assert_int_equal(r->dest.nsuffixes, 1);
	assert_string_equal(r->dest.suffixes[0], ".a.example");
	r = &c.rules[1];
	assert_int_equal(r->dest.nhosts, 2);
	assert_string_equal(r->dest.hosts[0], "localhost");
	assert_string_equal(r->dest.hosts[1], "a_b.example");
	assert_int_equal(r->dest.ncidrs, 5);
	check_cidr(&r->dest.cidrs[0], "0.0.0.0/0");
	check_cidr(&r->dest.cidrs[1], "::/0");
	check_cidr(&r->dest.cidrs[2], "fe80::/10");
	check_cidr(&r->dest.cidrs[3], "192.0.2.1/32");
	check_cidr(&r->dest.cidrs[4], "::1/128");
	assert_int_equal(r->nclients, 1);
	check_cidr(&r->clients[0], "::/0");
	assert_int_equal(r->protocols, CONF_P_SOCKS4 | CONF_P_HTTP);
	conf_free(&c);
}

static void
test_err_groups(void **state)
{
	(void)state;
	check_one_error("auth = {\n  groups = { }; };\n", 2,
	    "auth.groups: expected a list ( { name; users; }, ... ), found a "
	    "group { }");
	check_one_error("auth = { groups = (\n  \"staff\" ); };\n", 2,
	    "auth.groups[0]: expected a group { name; users; }");
	check_one_error("auth = { groups = (\n  { users = [ ]; } ); };\n", 2,
	    "auth.groups[0]: needs a name (1..255 bytes, no spaces)");
	check_one_error("auth = { groups = (\n  { name = \"a b\"; } ); };\n",
	    2, "auth.groups[0]: needs a name");
	check_one_error("auth = { groups = (\n  { name = \"\"; } ); };\n", 2,
	    "auth.groups[0]: needs a name");
	check_one_error("auth = { groups = ( { name = \"staff\"; },\n"
	    "  { name = \"staff\"; } ); };\n", 2,
	    "auth.groups[1]: group \"staff\" is defined twice");
	check_one_error("auth = { groups = ( { name = \"staff\";\n"
	    "  members = [ \"a\" ]; } ); };\n", 2,
	    "auth.groups[0].members: unknown key");
	check_one_error("auth = { groups = ( { name = \"staff\";\n"
	    "  users = [ \"a\", \"b c\" ]; } ); };\n", 2,
	    "auth.groups[0].users: \"b c\" contains ':', a space or a control "
	    "character");
	check_one_error("auth = { groups = ( { name = \"staff\";\n"
	    "  users = 5; } ); };\n", 2,
	    "auth.groups[0].users: expected an array of strings");
}

static void
test_err_admin(void **state)
{
	(void)state;
	check_one_error("admin = 5;\n", 1, "admin: expected a group { ... }, "
	    "found an integer");
	check_one_error("admin = {\n  token = \"0123456789abcde\"; };\n", 2,
	    "admin.token: at least 16 characters, no spaces");
	check_one_error("admin = {\n  token = \"0123456789 abcdef\"; };\n", 2,
	    "admin.token: at least 16 characters, no spaces");
	check_one_error("admin = {\n  token = \"0123456789abcdef\\t\"; };\n",
	    2, "admin.token: at least 16 characters, no spaces");
	check_one_error("admin = {\n  token = 1234567890123456; };\n", 2,
	    "admin.token: expected a string, found an integer");
	check_one_error("admin = {\n  address = \"localhost\"; };\n", 2,
	    "admin.address: \"localhost\" is not an IPv4 or IPv6 address");
	check_one_error("admin = {\n  address = \"127.0.0.1:9090\"; };\n", 2,
	    "admin.address: \"127.0.0.1:9090\" is not an IPv4 or IPv6 "
	    "address");
	check_one_error("admin = {\n  port = 0; };\n", 2,
	    "admin.port: 0 is out of range (1..65535)");
	check_one_error("admin = {\n  port = 65536; };\n", 2,
	    "admin.port: 65536 is out of range (1..65535)");
	check_one_error("admin = {\n  tokn = \"x\"; };\n", 2,
	    "admin.tokn: unknown key");
}

static void
test_log_new_keys(void **state)
{
	struct conf c;

	(void)state;
	load_ok(&c, "log = { format = \"json\"; interim = 0;\n"
	    "  access = \"syslog\"; };\n");
	assert_int_equal(c.log_format, CONF_LOG_JSON);
	assert_int_equal(c.log_interim, 0);
	assert_string_equal(c.access_log, "syslog");
	assert_string_equal(c.syslog_socket, "/dev/log");
	conf_free(&c);
	load_ok(&c, "log = { interim = 86400; syslog_socket = \"/tmp/s\"; "
	    "format = \"sluice\"; };\n");
	assert_int_equal(c.log_interim, 86400);
	assert_string_equal(c.syslog_socket, "/tmp/s");
	assert_int_equal(c.log_format, CONF_LOG_SLUICE);
	conf_free(&c);
	check_one_error("log = {\n  interim = -1; };\n", 2,
	    "log.interim: -1 is out of range (0..86400)");
	check_one_error("log = {\n  interim = 86401; };\n", 2,
	    "log.interim: 86401 is out of range (0..86400)");
	check_one_error("log = {\n  syslog_socket = 5; };\n", 2,
	    "log.syslog_socket: expected a string, found an integer");
	check_one_error("log = {\n  format = \"JSON\"; };\n", 2,
	    "log.format: \"JSON\" is not one of sluice, squid, json");
	/* a relative access log: beside the configuration, as every path */
	{
		char path[PATH_MAX], err[CONF_ERRLEN], want[PATH_MAX + 16];

		tmp_conf(path, sizeof(path), "log = { access = "
		    "\"logs/access.log\"; };\n");
		conf_init(&c);
		assert_int_equal(conf_load_file(&c, path, err, sizeof(err)),
		    0);
		snprintf(want, sizeof(want), "%.*s/logs/access.log",
		    (int)(strrchr(path, '/') - path), path);
		assert_string_equal(c.access_log, want);
		conf_free(&c);
	}
	load_ok(&c, "log = { access = \"/var/log/a.log\"; };\n");
	assert_string_equal(c.access_log, "/var/log/a.log");
	conf_free(&c);
}

/* pac.bypass: the dest syntax, sorted into blocks, names and suffixes. */
static void
test_pac_keys(void **state)
{
	struct conf c;
	char b[NETADDR_STRLEN];

	(void)state;
	load_ok(&c, "pac = { bypass = [ \"*.Corp.Example\", \"wiki\",\n"
	    "  \"10.0.0.0/8\", \"fd00::/8\", \"192.0.2.1\", \"Intra.Example.\" ]; };\n");
	assert_int_equal(c.pac_bypass.nsuffixes, 1);
	assert_string_equal(c.pac_bypass.suffixes[0], ".corp.example");
	assert_int_equal(c.pac_bypass.nhosts, 2);
	assert_string_equal(c.pac_bypass.hosts[0], "wiki");
	assert_string_equal(c.pac_bypass.hosts[1], "intra.example");
	assert_int_equal(c.pac_bypass.ncidrs, 3);
	assert_string_equal(netaddr_cidr_str(&c.pac_bypass.cidrs[1], b,
	    sizeof(b)), "fd00::/8");
	assert_string_equal(netaddr_cidr_str(&c.pac_bypass.cidrs[2], b,
	    sizeof(b)), "192.0.2.1/32");
	conf_free(&c);
	/* empty and absent: nothing bypassed */
	load_ok(&c, "pac = { bypass = [ ]; };\n");
	assert_int_equal(c.pac_bypass.ncidrs + c.pac_bypass.nhosts +
	    c.pac_bypass.nsuffixes, 0);
	conf_free(&c);
	load_ok(&c, "pac = { };\n");
	assert_int_equal(c.pac_bypass.nhosts, 0);
	conf_free(&c);
	check_one_error("pac = {\n  bypass = [ \"10.0.0.1/8\" ]; };\n", 2,
	    "pac.bypass");
	check_one_error("pac = {\n  bypass = [ \"*example.com\" ]; };\n", 2,
	    "pac.bypass");
	check_one_error("pac = {\n  bypass = [ \"a b\" ]; };\n", 2,
	    "pac.bypass");
	/* one string for a one-entry list, as everywhere */
	load_ok(&c, "pac = { bypass = \"wiki\"; };\n");
	assert_int_equal(c.pac_bypass.nhosts, 1);
	conf_free(&c);
	check_one_error("pac = {\n  bypass = 5; };\n", 2, "pac.bypass");
	check_one_error("pac = {\n  direct = [ \"wiki\" ]; };\n", 2,
	    "pac.direct: unknown key");
	check_one_error("pac = [ \"wiki\" ];\n", 1, "pac: expected a group");
}

/* user and group: they must exist (Debian has nobody and nogroup). */
static void
test_run_user_keys(void **state)
{
	struct conf c;

	(void)state;
	load_ok(&c, "user = \"nobody\";\n");
	assert_string_equal(c.run_user, "nobody");
	assert_null(c.run_group);
	conf_free(&c);
	load_ok(&c, "user = \"nobody\"; group = \"nogroup\";\n");
	assert_string_equal(c.run_user, "nobody");
	assert_string_equal(c.run_group, "nogroup");
	conf_free(&c);
	load_ok(&c, "");
	assert_null(c.run_user);
	conf_free(&c);
	check_one_error("\nuser = \"no-such-user-xyz\";\n", 2,
	    "user: no user \"no-such-user-xyz\" on this system");
	check_one_error("user = \"nobody\";\ngroup = \"no-such-group-xyz\";\n",
	    2, "group: no group \"no-such-group-xyz\" on this system");
	check_one_error("group = \"nogroup\";\n", 1,
	    "group: needs user (the user to run as)");
	check_one_error("user = 65534;\n", 1,
	    "user: expected a string, found an integer");
}

/* The effective rules and limits, as `sluice -t` prints them. */
static void
test_print_rules(void **state)
{
	struct conf c;
	char path[PATH_MAX], spath[PATH_MAX], err[CONF_ERRLEN];
	char want[5 * PATH_MAX + 1024], *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	data_path(path, sizeof(path), "rules.conf");
	data_path(spath, sizeof(spath), "quota.state");
	conf_init(&c);
	assert_int_equal(conf_load_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(conf_finish(&c, err, sizeof(err)), 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	conf_print(&c, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	/* the token is a secret too */
	if (strstr(buf, RULES_TOKEN) != NULL || strstr(buf, "0123456789") !=
	    NULL)
		fail_msg("the admin token is printed:\n%s", buf);
	snprintf(want, sizeof(want), "\nrule #1 deny dest=[10.0.0.0/8,"
	    "*.internal.example]  (%s:15)\n"
	    "rule #2 allow dest=[*.example.com] ports=[80,443,8000-8100] "
	    "groups=[staff]  (%s:16)\n"
	    "rule #3 allow users=[carol] protocols=[socks5,connect]  (%s:18)\n"
	    "rule #4 allow clients=[192.168.0.0/16,fd00::/8] "
	    "methods=[GET,HEAD]  (%s:20)\n"
	    "rule #5 \"rest\" deny  (%s:22)\n", path, path, path, path, path);
	if (strstr(buf, want) == NULL)
		fail_msg("no rules\n%s\nin\n%s", want, buf);
	snprintf(want, sizeof(want), "\nlimits rate_per_client 20/s, "
	    "user_bandwidth 10485760 B/s, conn_bandwidth 64000 B/s, quota "
	    "1500000000 B/day 1073741824 B/month, state in %s\n", spath);
	if (strstr(buf, want) == NULL)
		fail_msg("no line\n%s\nin\n%s", want, buf);
	assert_non_null(strstr(buf, "\ngroup staff: 2 users\n"));
	assert_non_null(strstr(buf, "\nshared gateway (a listener is off "
	    "loopback): destinations on loopback, link-local (169.254.0.0/16, "
	    "fe80::/10) and this host's own addresses are refused unless a "
	    "rule with dest allows them\n"));
	assert_non_null(strstr(buf, "\nadmin 127.0.0.1:9191 (token "
	    "required)\n"));
	assert_non_null(strstr(buf, "\nlog interim records every 60 s\n"));
	assert_non_null(strstr(buf, "\nlog level info, access log syslog "
	    "(json format)\n"));
	assert_null(strstr(buf, "rules: none"));
	free(buf);
	conf_free(&c);

	/* no rules, loopback, no admin, no new limits */
	buf = NULL;
	finish_ok(&c, "allow_open_proxy = true;\n");
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	conf_print(&c, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "\nrules: none (everything allowed)\n"));
	assert_null(strstr(buf, "rule #"));
	assert_null(strstr(buf, "shared gateway"));
	assert_null(strstr(buf, "\nadmin "));
	assert_null(strstr(buf, "\nlimits rate_per_client"));
	assert_null(strstr(buf, "interim"));
	free(buf);
	conf_free(&c);

	/* open proxy allowed, said so */
	buf = NULL;
	finish_ok(&c, "listen = ( { address = \"0.0.0.0\"; } );\n"
	    "allow_open_proxy = true;\n");
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	conf_print(&c, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "unless a rule with dest allows them; "
	    "open proxy allowed\n"));
	free(buf);
	conf_free(&c);
}

/* One rule, numbered by the caller: every key, in print order. */
static void
test_print_one_rule(void **state)
{
	struct conf c;
	char want[PATH_MAX + 1024], *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	finish_ok(&c, USERS_AB_GROUP "rules = (\n"
	    "  { action = \"deny\"; dest = [ \"*.b.example\", \"Host.Example\","
	    " \"fd00::/8\", \"10.0.0.0/8\" ];\n"
	    "    ports = ( 22, \"8000-8100\" ); users = [ \"b\", \"a\" ];"
	    " groups = [ \"g\" ];\n"
	    "    clients = [ \"192.0.2.0/24\" ];"
	    " protocols = [ \"connect\", \"http\", \"socks4\", \"socks5\" ];\n"
	    "    methods = [ \"PUT\" ]; name = \"all keys\"; }\n"
	    ");\n");
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	conf_print_rule(&c.rules[0], 42, f);
	assert_int_equal(fclose(f), 0);
	snprintf(want, sizeof(want), "rule #42 \"all keys\" deny "
	    "dest=[fd00::/8,10.0.0.0/8,host.example,*.b.example] "
	    "ports=[22,8000-8100] users=[b,a] groups=[g] "
	    "clients=[192.0.2.0/24] protocols=[socks5,socks4,http,connect] "
	    "methods=[PUT]  (%s:5)\n", c.path);
	assert_string_equal(buf, want);
	free(buf);
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

/*
 * A refused value is quoted in its error as it is, but a control byte in
 * it (a newline in a string) must neither split the error in two lines
 * nor forge a "FILE:LINE:" line of its own: it is printed as '?'.
 */
static void
test_error_control_bytes(void **state)
{
	(void)state;
	check_one_error("log = { level = \"warn\\nx.conf:9: forged\\t\"; };\n",
	    1, "log.level: \"warn?x.conf:9: forged?\" is not one of");
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
		cmocka_unit_test(test_tcp_keys),
		cmocka_unit_test(test_tcp_congestion_keys),
		cmocka_unit_test(test_busy_poll),
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
		cmocka_unit_test(test_rules_fixture),
		cmocka_unit_test(test_policy_defaults),
		cmocka_unit_test(test_groups_expanded_sorted),
		cmocka_unit_test(test_finish_rule_errors),
		cmocka_unit_test(test_finish_open_proxy),
		cmocka_unit_test(test_finish_admin),
		cmocka_unit_test(test_is_shared),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_sizes_decimal_exact),
		cmocka_unit_test(test_err_sizes),
		cmocka_unit_test(test_limits_keys),
		cmocka_unit_test(test_err_rules),
		cmocka_unit_test(test_err_one_message_each),
		cmocka_unit_test(test_rules_accepted_edges),
		cmocka_unit_test(test_err_groups),
		cmocka_unit_test(test_err_admin),
		cmocka_unit_test(test_log_new_keys),
		cmocka_unit_test(test_pac_keys),
		cmocka_unit_test(test_run_user_keys),
		cmocka_unit_test(test_print_rules),
		cmocka_unit_test(test_print_one_rule),
		cmocka_unit_test(test_proto_names),
		cmocka_unit_test(test_error_control_bytes),
	};

	return cmocka_run_group_tests_name("conf", tests, group_setup,
	    group_teardown);
}
