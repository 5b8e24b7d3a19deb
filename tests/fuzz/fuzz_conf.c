/*
 * libFuzzer target: the configuration loader, conf_load_file() then
 * conf_finish() and conf_free(), on the input written to a file.
 *
 * The file lives in a private mkdtemp() directory beside a small valid
 * users file (users.txt), so that auth.file = "users.txt" loads.  The
 * loader may only open those two files: conf.o's fopen() is wrapped
 * (-Wl,--wrap=fopen) and refuses every other path while a load runs, so
 * that an input naming /dev/zero, a FIFO or a huge file cannot make the
 * target hang or run out of memory for reasons that are the admin's.
 * For the same reason inputs with libconfig's @include are skipped (its
 * own fopen() is in libconfig.so, out of reach of the wrap).
 *
 * Invariants checked, beyond "no crash" and "no leak" (LeakSanitizer runs
 * at the end of every input):
 *  - conf_load_file() returns -1 exactly when it wrote errors, which
 *    start with "FILE:LINE: " or "FILE: " and end a line; a second load
 *    of the same file gives the same result and the same errors;
 *  - after conf_finish() succeeds: at least one listener, no listener
 *    twice, auth required only with users, user names valid and unique,
 *    each rule's member list sorted without duplicates (rules_match()
 *    bsearches it), its address blocks with zero host bits, its names
 *    lower case without a trailing dot, port ranges in order, the HTTP
 *    limits within what the codec supports (headers_max <=
 *    HTTP_HEADERS_MAX), no open proxy unless allowed;
 *  - conf_print() runs on the result (into a memory stream).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "http.h"
#include "netaddr.h"

#define USERS_TXT							\
	"# users for the fuzz target\n"					\
	"carol:$5$G/uAYUipf8qwqjOW$"					\
	"myvd0w5aBumLls2UxO1uuCjp.wGtGCzzxeuWWe/8Oy4\n"		\
	"\n"								\
	"  dave:$y$j9T$g3g5RPN5dzIJfLngz8Le1/$"				\
	"kurCGJaAjjL5JNuqvC/CS/iP8LTTtgkFV52Lkov6bUB  \n"

int	LLVMFuzzerInitialize(int *, char ***);
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);
FILE	*__real_fopen(const char *, const char *);
FILE	*__wrap_fopen(const char *, const char *);

static char dir[64];		/* the private directory */
static char conf_path[96];	/* dir/sluice.conf: the input */
static char users_path[96];	/* dir/users.txt */
static int loading;		/* inside conf_load_file(): fopen fenced */
static char err1[CONF_ERRLEN], err2[CONF_ERRLEN];

/*
 * libconfig 1.5 leaks the strings its scanner allocated for a file it
 * then rejects with a syntax error (""" at the top level is enough): its
 * bug, not conf.c's, and a few bytes per failed load or reload.
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig_yylex\nleak:strbuf_append\n";
}

/*
 * Those leaks make libFuzzer run a full leak check after most mutated
 * inputs (a syntax error), and a leak check walks the heap, which ASan's
 * default 256 MB quarantine of freed blocks makes large: a small one makes
 * the target five times faster and still catches a use after free within
 * one load.
 */
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=8";
}

/*
 * conf.o's fopen(): while a load runs, only the two files of the
 * directory open.
 */
FILE *
__wrap_fopen(const char *path, const char *mode)
{
	if (loading && strcmp(path, conf_path) != 0 &&
	    strcmp(path, users_path) != 0) {
		errno = ENOENT;
		return NULL;
	}
	return __real_fopen(path, mode);
}

static void
write_file(const char *path, const void *p, size_t len)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || (len > 0 && write(fd, p, len) != (ssize_t)len) ||
	    close(fd) == -1) {
		perror(path);
		abort();
	}
}

static void
cleanup(void)
{
	unlink(conf_path);
	unlink(users_path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/sluice-fuzz-conf.%ld.XXXXXX",
	    (long)getpid());
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(conf_path, sizeof(conf_path), "%s/sluice.conf", dir);
	snprintf(users_path, sizeof(users_path), "%s/users.txt", dir);
	write_file(users_path, USERS_TXT, sizeof(USERS_TXT) - 1);
	atexit(cleanup);
	return 0;
}

static int
has_include(const uint8_t *p, size_t len)
{
	static const char inc[] = "@include";
	size_t i, n = sizeof(inc) - 1;

	for (i = 0; i + n <= len; i++)
		if (p[i] == '@' && strncasecmp((const char *)p + i, inc, n) ==
		    0)
			return 1;
	return 0;
}

/*
 * Errors are "FILE:LINE: message" or "FILE: message" lines, FILE being
 * the input or the users file, and nothing else: a value quoted in a
 * message has its control bytes replaced, so a newline in it cannot split
 * one error in two or imitate another (tests/fuzz/crashes/
 * conf-newline-in-error.conf).  The last line may be cut where the buffer
 * ends.
 */
static void
check_errors(int rc, const char *err)
{
	const char *line, *nl;
	size_t len = strlen(err), cl = strlen(conf_path),
	    ul = strlen(users_path);
	int cut = len >= CONF_ERRLEN - 2;

	FUZZ_CHECK((rc == -1) == (err[0] != '\0'), "rc %d with errors \"%s\"",
	    rc, err);
	if (rc == 0)
		return;
	FUZZ_CHECK(err[len - 1] == '\n' || cut,
	    "errors do not end a line: \"%s\"", err);
	for (line = err; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL) {
			FUZZ_CHECK(cut, "errors without a newline: \"%s\"",
			    err);
			break;
		}
		FUZZ_CHECK((strncmp(line, conf_path, cl) == 0 &&
		    line[cl] == ':') || (strncmp(line, users_path, ul) == 0 &&
		    line[ul] == ':'), "error line without \"FILE:\": \"%.*s\"",
		    (int)(nl - line), line);
		FUZZ_CHECK(memmem(line, (size_t)(nl - line), ": ", 2) != NULL,
		    "error line without \": \": \"%.*s\"", (int)(nl - line),
		    line);
	}
}

static void
check_dests(const struct conf_dests *d)
{
	char s[NETADDR_STRLEN];
	struct netaddr_cidr back;
	size_t n;
	int i;

	for (i = 0; i < d->ncidrs; i++) {
		netaddr_cidr_str(&d->cidrs[i], s, sizeof(s));
		FUZZ_CHECK(netaddr_parse_cidr(s, &back) == 0 &&
		    back.prefix == d->cidrs[i].prefix &&
		    netaddr_ip_equal(&back.addr, &d->cidrs[i].addr),
		    "dest block %s", s);
	}
	for (i = 0; i < d->nhosts; i++) {
		n = strlen(d->hosts[i]);
		FUZZ_CHECK(n > 0 && (n == 1 || d->hosts[i][n - 1] != '.'),
		    "dest name \"%s\"", d->hosts[i]);
		for (const char *c = d->hosts[i]; *c != '\0'; c++)
			FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'), "dest name \"%s\" "
			    "not lower case", d->hosts[i]);
	}
	/* XXX "*.." is accepted and kept as the suffix ".", which no name
	   can end in once its trailing dots are dropped: it matches nothing */
	for (i = 0; i < d->nsuffixes; i++)
		FUZZ_CHECK(d->suffixes[i][0] == '.', "dest suffix \"%s\"",
		    d->suffixes[i]);
}

static void
check_conf(const struct conf *c)
{
	const struct conf_rule *r;
	int i, j, clients = 0;
	char *buf = NULL;
	size_t blen = 0;
	FILE *f;

	FUZZ_CHECK(c->nlisten >= 1, "no listener");
	for (i = 0; i < c->nlisten; i++) {
		FUZZ_CHECK(netaddr_port(&c->listen[i].addr) != 0,
		    "listener on port 0");
		for (j = 0; j < i; j++)
			FUZZ_CHECK(!(netaddr_ip_equal(&c->listen[i].addr,
			    &c->listen[j].addr) &&
			    netaddr_port(&c->listen[i].addr) ==
			    netaddr_port(&c->listen[j].addr)), "listener twice");
	}
	FUZZ_CHECK(c->auth_required == 0 || c->auth_required == 1,
	    "auth_required %d", c->auth_required);
	FUZZ_CHECK(!c->auth_required || c->nusers > 0, "auth without users");
	for (i = 0; i < c->nusers; i++) {
		FUZZ_CHECK(c->users[i].name != NULL &&
		    strlen(c->users[i].name) >= 1 &&
		    strlen(c->users[i].name) <= 255, "user name");
		FUZZ_CHECK((c->users[i].password == NULL) !=
		    (c->users[i].hash == NULL), "password and hash");
		FUZZ_CHECK(conf_user_find(c, c->users[i].name) == &c->users[i],
		    "user \"%s\" twice", c->users[i].name);
	}
	FUZZ_CHECK(c->http_head_max >= 1024 && c->http_line_max >= 256 &&
	    c->http_headers_max >= 1 &&
	    c->http_headers_max <= HTTP_HEADERS_MAX, "http limits %d %d %d",
	    c->http_head_max, c->http_line_max, c->http_headers_max);
	FUZZ_CHECK(c->workers >= 0, "workers %d", c->workers);

	for (i = 0; i < c->nrules; i++) {
		r = &c->rules[i];
		clients |= r->nclients > 0;
		FUZZ_CHECK(r->action == CONF_ALLOW || r->action == CONF_DENY,
		    "rule %d action", i);
		check_dests(&r->dest);
		for (j = 0; j < r->nports; j++)
			FUZZ_CHECK(r->ports[j].lo <= r->ports[j].hi,
			    "rule %d ports %u-%u", i, r->ports[j].lo,
			    r->ports[j].hi);
		for (j = 1; j < r->nusers; j++)
			FUZZ_CHECK(strcmp(r->users[j - 1], r->users[j]) < 0,
			    "rule %d members not sorted or duplicated", i);
		for (j = 0; j < r->nusers; j++)
			FUZZ_CHECK(conf_user_find(c, r->users[j]) != NULL,
			    "rule %d member \"%s\" undefined", i, r->users[j]);
		FUZZ_CHECK(r->origin != NULL, "rule %d without origin", i);
	}
	check_dests(&c->pac_bypass);
	for (i = 0; i < c->nlisten; i++)
		FUZZ_CHECK(netaddr_is_loopback(&c->listen[i].addr) ||
		    c->auth_required || clients || c->allow_open_proxy,
		    "open proxy accepted");

	f = open_memstream(&buf, &blen);
	FUZZ_CHECK(f != NULL, "open_memstream");
	conf_print(c, f);
	fclose(f);
	FUZZ_CHECK(blen > 0, "conf_print printed nothing");
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	int rc1, rc2;

	if (has_include(data, size))
		return 0;
	write_file(conf_path, data, size);

	conf_init(&c);
	loading = 1;
	rc1 = conf_load_file(&c, conf_path, err1, sizeof(err1));
	loading = 0;
	check_errors(rc1, err1);
	conf_free(&c);

	conf_init(&c);
	loading = 1;
	rc2 = conf_load_file(&c, conf_path, err2, sizeof(err2));
	loading = 0;
	FUZZ_CHECK(rc1 == rc2 && strcmp(err1, err2) == 0,
	    "a second load differs: %d \"%s\", then %d \"%s\"", rc1, err1,
	    rc2, err2);
	if (rc2 == 0) {
		rc2 = conf_finish(&c, err2, sizeof(err2));
		check_errors(rc2, err2);
		if (rc2 == 0)
			check_conf(&c);
	}
	conf_free(&c);
	return 0;
}
