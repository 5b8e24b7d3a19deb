/*
 * Configuration loader: libconfig 1.5 -> struct conf.
 *
 * Every section and key is optional; defaults are filled first and the file
 * overrides them.  Anything the loader does not understand (an unknown key, a
 * wrong type, an out-of-range number, a bad address, an unreadable users
 * file) is an error reported as "FILE:LINE: what is wrong"; all errors found
 * are reported, one per line, and the load fails.  libconfig's automatic
 * type conversion stays off, so port = "1080" is an error, not a guess.
 */
#include <sys/stat.h>

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "conf.h"
#include "../proxy/log.h"

#define DEFAULT_SOCKS5_PORT	1080
#define DEFAULT_HTTP_PORT	3128
#define NAME_MAX_LEN		255	/* RFC 1929 ULEN */
#define PASS_MAX_LEN		255	/* RFC 1929 PLEN */

struct ctx {
	struct conf	*c;
	const char	*path;		/* for messages when libconfig has none */
	char		*err;		/* caller's buffer, errors appended */
	size_t		errlen;
	size_t		used;
	int		nerr;
};

static const char *const top_keys[] = {
	"listen", "auth", "dns", "timeouts", "limits", "log", "workers",
	"http", "rules", "allow_open_proxy", "admin", "pac", "user", "group",
	"tcp", "busy_poll_us", NULL,
};
static const char *const tcp_keys[] = {
	"notsent_lowat", "congestion", "loopback_congestion", NULL,
};
static const char *const pac_keys[] = {
	"bypass", NULL,
};
static const char *const listen_keys[] = {
	"proto", "address", "port", NULL,
};
static const char *const auth_keys[] = {
	"required", "users", "file", "socks4_userid", "remember_client",
	"realm", "groups", NULL,
};
static const char *const user_keys[] = {
	"name", "password", "hash", "limits", NULL,
};
static const char *const user_limits_keys[] = {
	"per_user", "user_bandwidth", "user_quota_daily", "user_quota_monthly",
	NULL,
};
static const char *const group_keys[] = {
	"name", "users", NULL,
};
static const char *const rule_keys[] = {
	"action", "name", "dest", "ports", "users", "groups", "clients",
	"protocols", "methods", NULL,
};
static const char *const admin_keys[] = {
	"address", "port", "token", NULL,
};
static const char *const dns_keys[] = {
	"servers", "timeout_ms", "tries", "cache_ttl", "cache_size", NULL,
};
static const char *const timeouts_keys[] = {
	"handshake", "connect", "idle", "drain", NULL,
};
static const char *const limits_keys[] = {
	"max_connections", "per_client", "per_user", "rate_per_client",
	"user_bandwidth", "conn_bandwidth", "user_quota_daily",
	"user_quota_monthly", "state_file", NULL,
};
static const char *const log_keys[] = {
	"level", "access", "format", "interim", "syslog_socket", NULL,
};
static const char *const http_keys[] = {
	"max_header_size", "max_request_line", "max_headers",
	"forwarded_for", "keepalive_timeout", "pool_idle", "pool_max",
	"pool_per_origin", NULL,
};

static void
errf(struct ctx *x, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void	finish_groups(struct ctx *);
static void	finish_rules(struct ctx *);
static void	finish_exposure(struct ctx *);
static void	print_dests(FILE *, const char *, const struct conf_dests *);

/*
 * Append one "FILE:LINE: message" line to the caller's buffer.
 */
static void
errf(struct ctx *x, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	size_t start;
	int n;

	x->nerr++;
	if (x->err == NULL || x->used + 1 >= x->errlen)
		return;
	start = x->used;
	if (file == NULL)
		file = x->path != NULL ? x->path : "(command line)";
	if (line > 0)
		n = snprintf(x->err + x->used, x->errlen - x->used, "%s:%d: ",
		    file, line);
	else
		n = snprintf(x->err + x->used, x->errlen - x->used, "%s: ",
		    file);
	if (n < 0 || (size_t)n >= x->errlen - x->used) {
		x->used = x->errlen - 1;
		return;
	}
	x->used += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(x->err + x->used, x->errlen - x->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= x->errlen - x->used - 1) {
		x->used = x->errlen - 1;
		return;
	}
	x->used += (size_t)n;
	/* a message quotes what it refuses as it is: a control byte in a
	   value (a newline in a string) must not break the one-error-per-line
	   contract, nor reach a terminal */
	for (; start < x->used; start++)
		if ((unsigned char)x->err[start] < 0x20 ||
		    x->err[start] == 0x7f)
			x->err[start] = '?';
	x->err[x->used++] = '\n';
	x->err[x->used] = '\0';
}

static const char *
sfile(struct ctx *x, const config_setting_t *s)
{
	const char *f = s != NULL ? config_setting_source_file(s) : NULL;

	return f != NULL ? f : x->path;
}

static int
sline(const config_setting_t *s)
{
	return s != NULL ? (int)config_setting_source_line(s) : 0;
}

#define serr(x, s, ...)	errf((x), sfile((x), (s)), sline(s), __VA_ARGS__)

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		fprintf(stderr, "sluice: out of memory\n");
		exit(1);
	}
	return p;
}

static void *
xreallocarray(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n, size);

	if (q == NULL) {
		fprintf(stderr, "sluice: out of memory\n");
		exit(1);
	}
	return q;
}

/*
 * Defaults: what `sluice` with no arguments runs.  Listeners are added by
 * conf_finish() when none were configured.
 */
void
conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->auth_required = -1;
	c->dns_timeout_ms = 2000;
	c->dns_tries = 2;
	c->dns_cache_ttl = 60;
	c->dns_cache_size = 4096;
	c->to_handshake = 10;
	c->to_connect = 10;
	c->to_idle = 300;
	c->to_drain = 30;
	c->max_connections = 20000;
	c->log_level = LOG_LVL_INFO;
	c->access_log = xstrdup("-");
	c->realm = xstrdup("sluice");
	c->http_head_max = 64 * 1024;
	c->http_line_max = 8 * 1024;
	c->http_headers_max = 100;
	c->http_keepalive = 60;
	c->pool_idle = 10;
	c->pool_max = 256;
	c->pool_per_origin = 64;
	c->tcp_notsent_lowat = 256 * 1024;
	/* no pacing where it buys nothing: see load_tcp() */
	memcpy(c->tcp_cc_loopback, "reno", sizeof("reno"));
	c->syslog_socket = xstrdup("/dev/log");
	c->workers = 0;
	/* poll briefly after bulk bytes: see worker_run() */
	c->busy_poll_us = 10;
}

static void
free_strv(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
free_dests(struct conf_dests *d)
{
	free(d->cidrs);
	free_strv(d->hosts, d->nhosts);
	free_strv(d->suffixes, d->nsuffixes);
	memset(d, 0, sizeof(*d));
}

static void
free_rule(struct conf_rule *r)
{
	free(r->name);
	free(r->origin);
	free_dests(&r->dest);
	free(r->ports);
	free_strv(r->users, r->nusers);
	free_strv(r->user_names, r->nuser_names);
	free_strv(r->groups, r->ngroups);
	free(r->clients);
	free_strv(r->methods, r->nmethods);
}

/*
 * Free everything conf owns; the struct can be conf_init()ed again.
 */
void
conf_free(struct conf *c)
{
	int i;

	for (i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		if (c->users[i].password != NULL)
			explicit_bzero(c->users[i].password,
			    strlen(c->users[i].password));
		free(c->users[i].password);
		free(c->users[i].hash);
		free(c->users[i].origin);
	}
	free(c->users);
	for (i = 0; i < c->ngroups; i++) {
		free(c->groups[i].name);
		free(c->groups[i].origin);
		free_strv(c->groups[i].users, c->groups[i].nusers);
	}
	free(c->groups);
	for (i = 0; i < c->nrules; i++)
		free_rule(&c->rules[i]);
	free(c->rules);
	free_dests(&c->pac_bypass);
	free(c->run_user);
	free(c->run_group);
	free(c->state_file);
	free(c->admin_token);
	free(c->syslog_socket);
	free(c->listen);
	free(c->dns_servers);
	free(c->users_file);
	free(c->access_log);
	free(c->realm);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

const char *
conf_proto_name(enum conf_proto p)
{
	switch (p) {
	case CONF_PROTO_SOCKS5:
		return "socks5";
	case CONF_PROTO_HTTP:
		return "http";
	case CONF_PROTO_AUTO:
		return "auto";
	case CONF_PROTO_SOCKS4:
		return "socks4";
	}
	return "?";
}

/*
 * Protocol names of listeners.  Returns 0, or -1 with a reason.
 */
static int
proto_parse(const char *s, enum conf_proto *p, const char **why)
{
	static const struct {
		const char	*name;
		enum conf_proto	proto;
	} names[] = {
		{ "socks5", CONF_PROTO_SOCKS5 },
		{ "http", CONF_PROTO_HTTP },
		{ "auto", CONF_PROTO_AUTO },
		{ "socks4", CONF_PROTO_SOCKS4 },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*p = names[i].proto;
			return 0;
		}
	*why = "is not a protocol (socks5, http, auto, socks4)";
	return -1;
}

static int
proto_default_port(enum conf_proto p)
{
	return p == CONF_PROTO_HTTP ? DEFAULT_HTTP_PORT : DEFAULT_SOCKS5_PORT;
}

/* ----- typed accessors ------------------------------------------------ */

static int
check_keys(struct ctx *x, const config_setting_t *group, const char *where,
    const char *const *allowed)
{
	const config_setting_t *m;
	const char *name;
	int i, n, j, ok = 0;

	n = config_setting_length(group);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(group, (unsigned)i);
		name = config_setting_name(m);
		if (name == NULL)
			continue;
		for (j = 0; allowed[j] != NULL; j++)
			if (strcmp(name, allowed[j]) == 0)
				break;
		if (allowed[j] == NULL) {
			serr(x, m, "%s%s%s: unknown key", where,
			    *where ? "." : "", name);
			ok = -1;
		}
	}
	return ok;
}

static const char *
type_name(int t)
{
	switch (t) {
	case CONFIG_TYPE_GROUP:
		return "a group { }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ]";
	case CONFIG_TYPE_LIST:
		return "a list ( )";
	}
	return "nothing";
}

/*
 * Integer member: absent leaves *out alone; wrong type or out of range is
 * an error.  Returns 1 when set, 0 when absent, -1 on error.
 */
static int
get_int(struct ctx *x, const config_setting_t *g, const char *where,
    const char *key, int *out, long long min, long long max)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		serr(x, s, "%s%s%s: expected an integer, found %s", where,
		    *where ? "." : "", key, type_name(config_setting_type(s)));
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		serr(x, s, "%s%s%s: %lld is out of range (%lld..%lld)", where,
		    *where ? "." : "", key, v, min, max);
		return -1;
	}
	*out = (int)v;
	return 1;
}

static int
get_bool(struct ctx *x, const config_setting_t *g, const char *where,
    const char *key, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		serr(x, s, "%s%s%s: expected a boolean (true/false), found %s",
		    where, *where ? "." : "", key,
		    type_name(config_setting_type(s)));
		return -1;
	}
	*out = config_setting_get_bool(s);
	return 1;
}

/*
 * String member.  *out points into libconfig: copy it before
 * config_destroy().
 */
static int
get_string(struct ctx *x, const config_setting_t *g, const char *where,
    const char *key, const char **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		serr(x, s, "%s%s%s: expected a string, found %s", where,
		    *where ? "." : "", key, type_name(config_setting_type(s)));
		return -1;
	}
	*out = config_setting_get_string(s);
	return 1;
}

static const config_setting_t *
get_group(struct ctx *x, const config_setting_t *root, const char *key)
{
	const config_setting_t *s = config_setting_get_member(root, key);

	if (s == NULL)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		serr(x, s, "%s: expected a group { ... }, found %s", key,
		    type_name(config_setting_type(s)));
		return NULL;
	}
	return s;
}

/*
 * A byte count or rate: an integer, or a string with a unit: "64K",
 * "10M", "1.5G" are powers of 1000, "64Ki", "10Mi" of 1024; a trailing
 * "B" is allowed ("10MB", "1GiB").
 */
static int
parse_size(const char *t, int64_t *out)
{
	const char *p = t;
	unsigned __int128 mant = 0, unit = 1, pow10 = 1, v;
	int digits = 0, frac = 0;

	while (*p >= '0' && *p <= '9') {
		mant = mant * 10 + (unsigned)(*p++ - '0');
		if (++digits > 19)
			return -1;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			mant = mant * 10 + (unsigned)(*p++ - '0');
			pow10 *= 10;
			if (++digits > 19 || ++frac > 9)
				return -1;
		}
	}
	if (digits == 0)
		return -1;
	while (*p == ' ')
		p++;
	switch (*p) {
	case 'k': case 'K': unit = 1000; break;
	case 'M': unit = 1000000; break;
	case 'G': unit = 1000000000; break;
	case 'T': unit = 1000000000000ULL; break;
	case '\0': case 'B': break;
	default: return -1;
	}
	if (unit > 1) {
		p++;
		if (*p == 'i') {
			/* powers of 1024 */
			unit = unit == 1000 ? 1024 : unit == 1000000 ? 1048576 :
			    unit == 1000000000 ? 1073741824ULL :
			    1099511627776ULL;
			p++;
		}
	}
	if (*p == 'B')
		p++;
	if (*p != '\0')
		return -1;
	/* exact: mantissa * unit / 10^frac, rounded to the nearest byte */
	v = (mant * unit + pow10 / 2) / pow10;
	if (v > (unsigned __int128)INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int
get_size(struct ctx *x, const config_setting_t *g, const char *where,
    const char *key, int64_t *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	int64_t v;

	if (s == NULL)
		return 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_STRING:
		if (parse_size(config_setting_get_string(s), &v) == 0)
			break;
		serr(x, s, "%s.%s: \"%s\" is not a size (a number, or with a "
		    "unit: 64K, 10M, 1G, 10Mi)", where, key,
		    config_setting_get_string(s));
		return -1;
	default:
		serr(x, s, "%s.%s: expected a number of bytes, found %s", where,
		    key, type_name(config_setting_type(s)));
		return -1;
	}
	if (v < 0) {
		serr(x, s, "%s.%s: must not be negative", where, key);
		return -1;
	}
	*out = v;
	return 1;
}

/*
 * A list of strings ([ "a", "b" ] or ( "a", "b" ), or one string), each
 * checked by ok(); the copies are appended to *v.  Returns the setting
 * (NULL when absent), or NULL with an error counted.
 */
static const config_setting_t *
get_strings(struct ctx *x, const config_setting_t *g, const char *where,
    const char *key, char ***v, int *n,
    const char *(*ok)(const char *), int nonempty)
{
	const config_setting_t *s = config_setting_get_member(g, key), *e;
	const char *text, *why;
	int i, len;

	if (s == NULL)
		return NULL;
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		len = 1;
	else if (config_setting_type(s) == CONFIG_TYPE_ARRAY ||
	    config_setting_type(s) == CONFIG_TYPE_LIST)
		len = config_setting_length(s);
	else {
		serr(x, s, "%s.%s: expected an array of strings [ \"...\", ... ]"
		    ", found %s", where, key, type_name(config_setting_type(s)));
		return NULL;
	}
	if (len == 0 && nonempty) {
		/* an empty list would match nothing (or, read loosely,
		   anything): say what is meant by leaving the key out */
		serr(x, s, "%s.%s: the list is empty (leave the key out to "
		    "match anything)", where, key);
		return NULL;
	}
	for (i = 0; i < len; i++) {
		e = config_setting_type(s) == CONFIG_TYPE_STRING ? s :
		    config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			serr(x, e, "%s.%s[%d]: expected a string, found %s",
			    where, key, i, type_name(config_setting_type(e)));
			continue;
		}
		text = config_setting_get_string(e);
		if (ok != NULL && (why = ok(text)) != NULL) {
			serr(x, e, "%s.%s: \"%s\" %s", where, key, text, why);
			continue;
		}
		*v = xreallocarray(*v, (size_t)*n + 1, sizeof(**v));
		(*v)[(*n)++] = xstrdup(text);
	}
	return s;
}

/* ----- sections ------------------------------------------------------- */

static void
add_listen(struct conf *c, enum conf_proto proto, const union sockaddr_u *a)
{
	c->listen = xreallocarray(c->listen, (size_t)c->nlisten + 1,
	    sizeof(*c->listen));
	c->listen[c->nlisten].proto = proto;
	c->listen[c->nlisten].addr = *a;
	c->nlisten++;
}

static void
load_listen(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *l, *e;
	const char *proto_s, *addr_s, *why;
	enum conf_proto proto = CONF_PROTO_SOCKS5;
	union sockaddr_u a;
	char where[32];
	int i, n, port, bad;

	l = config_setting_get_member(root, "listen");
	if (l == NULL)
		return;
	if (config_setting_type(l) != CONFIG_TYPE_LIST) {
		serr(x, l, "listen: expected a list ( { ... }, ... ), found %s",
		    type_name(config_setting_type(l)));
		return;
	}
	n = config_setting_length(l);
	if (n == 0)
		serr(x, l, "listen: the list is empty");
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(l, (unsigned)i);
		snprintf(where, sizeof(where), "listen[%d]", i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			serr(x, e, "%s: expected a group { proto; address; "
			    "port; }, found %s", where,
			    type_name(config_setting_type(e)));
			continue;
		}
		bad = check_keys(x, e, where, listen_keys);
		proto_s = "socks5";
		addr_s = "127.0.0.1";
		if (get_string(x, e, where, "proto", &proto_s) == -1)
			bad = -1;
		if (get_string(x, e, where, "address", &addr_s) == -1)
			bad = -1;
		if (proto_parse(proto_s, &proto, &why) == -1) {
			serr(x, config_setting_get_member(e, "proto"),
			    "%s.proto: \"%s\" %s", where, proto_s, why);
			bad = -1;
		}
		port = proto_default_port(proto);
		if (get_int(x, e, where, "port", &port, 1, 65535) == -1)
			bad = -1;
		if (netaddr_parse_ip(addr_s, &a) == -1) {
			serr(x, config_setting_get_member(e, "address"),
			    "%s.address: \"%s\" is not an IPv4 or IPv6 address",
			    where, addr_s);
			bad = -1;
		}
		if (bad == -1)
			continue;
		netaddr_set_port(&a, (uint16_t)port);
		add_listen(x->c, proto, &a);
	}
}

/*
 * A user name we can store and match: 1..255 bytes, printable, no ':' (the
 * users file separator) and no whitespace.
 */
static const char *
user_name_problem(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0)
		return "is empty";
	if (len > NAME_MAX_LEN)
		return "is longer than 255 bytes";
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == ':' || ch <= 0x20 || ch == 0x7f)
			return "contains ':', a space or a control character";
	}
	return NULL;
}

/*
 * A crypt(3) hash whose method libcrypt knows and allows ($y$, $6$, $5$,
 * $2b$, ...).  Returns NULL, or what is wrong.
 */
static const char *
hash_problem(const char *hash)
{
	const char *last = strrchr(hash, '$');
	int r;

	r = hash[0] == '$' ? crypt_checksalt(hash) : CRYPT_SALT_INVALID;
	if (r == CRYPT_SALT_METHOD_DISABLED)
		return "uses a hashing method this libcrypt has disabled";
	if (r != CRYPT_SALT_OK && r != CRYPT_SALT_METHOD_LEGACY &&
	    r != CRYPT_SALT_TOO_CHEAP)
		return "is not a crypt(3) hash ($y$, $6$, $5$, $2b$...)";
	/* every method ends in an encoded hash of 22 characters or more
	   ($2b$ keeps salt and hash in one field of 53): a setting alone,
	   or a truncated hash, could never match */
	if (last == NULL || strlen(last + 1) < 22 ||
	    strspn(last + 1, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz") != strlen(last + 1))
		return "is incomplete (no hash after the salt)";
	return NULL;
}

static int
find_user(const struct conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->nusers; i++)
		if (strcmp(c->users[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * Append a user; the caller has validated it.  Ownership of the strings
 * passes to conf (they are copied).
 */
static void
add_user(struct conf *c, const char *name, const char *password,
    const char *hash, const char *file, int line)
{
	struct conf_user *u;
	char origin[PATH_MAX + 16];

	c->users = xreallocarray(c->users, (size_t)c->nusers + 1,
	    sizeof(*c->users));
	u = &c->users[c->nusers++];
	u->name = xstrdup(name);
	u->password = password != NULL ? xstrdup(password) : NULL;
	u->hash = hash != NULL ? xstrdup(hash) : NULL;
	if (line > 0)
		snprintf(origin, sizeof(origin), "%s:%d", file, line);
	else
		snprintf(origin, sizeof(origin), "%s", file);
	u->origin = xstrdup(origin);
	u->limits.per_user = -1;
	u->limits.bandwidth = -1;
	u->limits.quota_daily = -1;
	u->limits.quota_monthly = -1;
}

/* A user's own limits = { per_user; user_bandwidth; user_quota_*; } */
static void
load_user_limits(struct ctx *x, const config_setting_t *e, const char *where,
    struct conf_user_limits *l)
{
	const config_setting_t *g = config_setting_get_member(e, "limits");
	char w[64];

	if (g == NULL)
		return;
	snprintf(w, sizeof(w), "%s.limits", where);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		serr(x, g, "%s: expected a group { ... }, found %s", w,
		    type_name(config_setting_type(g)));
		return;
	}
	check_keys(x, g, w, user_limits_keys);
	get_int(x, g, w, "per_user", &l->per_user, 0, INT_MAX);
	get_size(x, g, w, "user_bandwidth", &l->bandwidth);
	get_size(x, g, w, "user_quota_daily", &l->quota_daily);
	get_size(x, g, w, "user_quota_monthly", &l->quota_monthly);
}

static void
load_users(struct ctx *x, const config_setting_t *auth)
{
	const config_setting_t *l, *e;
	const char *name, *pass, *hash, *why;
	char where[32];
	int i, n, bad;

	l = config_setting_get_member(auth, "users");
	if (l == NULL)
		return;
	if (config_setting_type(l) != CONFIG_TYPE_LIST) {
		serr(x, l, "auth.users: expected a list ( { name; password; }"
		    ", ... ), found %s", type_name(config_setting_type(l)));
		return;
	}
	n = config_setting_length(l);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(l, (unsigned)i);
		snprintf(where, sizeof(where), "auth.users[%d]", i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			serr(x, e, "%s: expected a group { name; password; }"
			    ", found %s", where,
			    type_name(config_setting_type(e)));
			continue;
		}
		bad = check_keys(x, e, where, user_keys);
		name = pass = hash = NULL;
		if (get_string(x, e, where, "name", &name) == -1 ||
		    get_string(x, e, where, "password", &pass) == -1 ||
		    get_string(x, e, where, "hash", &hash) == -1)
			bad = -1;
		if (bad == -1)
			continue;
		if (name == NULL) {
			serr(x, e, "%s: \"name\" is missing", where);
			continue;
		}
		if ((why = user_name_problem(name)) != NULL) {
			serr(x, config_setting_get_member(e, "name"),
			    "%s.name: user name %s", where, why);
			continue;
		}
		if ((pass == NULL) == (hash == NULL)) {
			serr(x, e, "%s: user \"%s\" needs exactly one of "
			    "\"password\" or \"hash\"", where, name);
			continue;
		}
		if (pass != NULL && (pass[0] == '\0' ||
		    strlen(pass) > PASS_MAX_LEN)) {
			serr(x, config_setting_get_member(e, "password"),
			    "%s.password: must be 1..255 bytes", where);
			continue;
		}
		if (hash != NULL && (why = hash_problem(hash)) != NULL) {
			serr(x, config_setting_get_member(e, "hash"),
			    "%s.hash: %s", where, why);
			continue;
		}
		if (find_user(x->c, name) != -1) {
			serr(x, e, "%s: user \"%s\" is defined twice", where,
			    name);
			continue;
		}
		add_user(x->c, name, pass, hash, sfile(x, e), sline(e));
		load_user_limits(x, e, where,
		    &x->c->users[x->c->nusers - 1].limits);
	}
}

/*
 * The users file: one "name:crypt-hash" per line; blank lines and lines
 * starting with '#' are skipped; spaces around the line are ignored.
 */
static void
load_users_file(struct ctx *x, const char *path,
    const config_setting_t *where_s)
{
	FILE *f;
	char *line = NULL, *p, *end, *colon;
	size_t cap = 0;
	ssize_t len;
	const char *why;
	int lineno = 0;

	f = fopen(path, "re");
	if (f == NULL) {
		serr(x, where_s, "auth.file: cannot read \"%s\": %s", path,
		    strerror(errno));
		return;
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		lineno++;
		p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		colon = strchr(p, ':');
		if (colon == NULL) {
			errf(x, path, lineno, "expected name:hash");
			continue;
		}
		*colon = '\0';
		if ((why = user_name_problem(p)) != NULL) {
			errf(x, path, lineno, "user name %s", why);
			continue;
		}
		if ((why = hash_problem(colon + 1)) != NULL) {
			errf(x, path, lineno, "the hash for \"%s\" %s", p, why);
			continue;
		}
		if (find_user(x->c, p) != -1) {
			errf(x, path, lineno, "user \"%s\" is defined twice",
			    p);
			continue;
		}
		add_user(x->c, p, NULL, colon + 1, path, lineno);
	}
	if (ferror(f))
		serr(x, where_s, "auth.file: error reading \"%s\": %s", path,
		    strerror(errno));
	free(line);
	fclose(f);
}

/*
 * A relative users file is found beside the configuration file.
 */
static char *
resolve_relative(const char *cfgpath, const char *file)
{
	const char *slash;
	char *out;
	size_t dlen;

	if (file[0] == '/' || cfgpath == NULL ||
	    (slash = strrchr(cfgpath, '/')) == NULL)
		return xstrdup(file);
	dlen = (size_t)(slash - cfgpath);
	out = malloc(dlen + 1 + strlen(file) + 1);
	if (out == NULL) {
		fprintf(stderr, "sluice: out of memory\n");
		exit(1);
	}
	memcpy(out, cfgpath, dlen);
	out[dlen] = '/';
	strcpy(out + dlen + 1, file);
	return out;
}

static const char *
name_problem(const char *n)
{
	const char *why = user_name_problem(n);

	return why != NULL ? why : NULL;
}

/* auth.groups = ( { name = "staff"; users = [ "alice", "bob" ]; } ) */
static void
load_groups(struct ctx *x, const config_setting_t *auth)
{
	const config_setting_t *l, *e;
	struct conf_group *g;
	const char *name;
	char where[32], origin[PATH_MAX + 16];
	int i, j, n, rc;

	if ((l = config_setting_get_member(auth, "groups")) == NULL)
		return;
	if (config_setting_type(l) != CONFIG_TYPE_LIST) {
		serr(x, l, "auth.groups: expected a list ( { name; users; }, "
		    "... ), found %s", type_name(config_setting_type(l)));
		return;
	}
	n = config_setting_length(l);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(l, (unsigned)i);
		snprintf(where, sizeof(where), "auth.groups[%d]", i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			serr(x, e, "%s: expected a group { name; users; }",
			    where);
			continue;
		}
		check_keys(x, e, where, group_keys);
		name = NULL;
		if ((rc = get_string(x, e, where, "name", &name)) == -1)
			continue;	/* the type error said it */
		if (rc == 0 || name_problem(name) != NULL) {
			serr(x, e, "%s: needs a name (1..255 bytes, no spaces)",
			    where);
			continue;
		}
		for (j = 0; j < x->c->ngroups; j++)
			if (strcmp(x->c->groups[j].name, name) == 0)
				break;
		if (j < x->c->ngroups) {
			serr(x, e, "%s: group \"%s\" is defined twice", where,
			    name);
			continue;
		}
		x->c->groups = xreallocarray(x->c->groups,
		    (size_t)x->c->ngroups + 1, sizeof(*x->c->groups));
		g = &x->c->groups[x->c->ngroups++];
		memset(g, 0, sizeof(*g));
		g->name = xstrdup(name);
		snprintf(origin, sizeof(origin), "%s:%d", sfile(x, e),
		    sline(e));
		g->origin = xstrdup(origin);
		get_strings(x, e, where, "users", &g->users, &g->nusers,
		    name_problem, 0);
	}
}

static void
load_auth(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *a;
	const char *file = NULL, *realm = NULL;
	int req;

	if ((a = get_group(x, root, "auth")) == NULL)
		return;
	check_keys(x, a, "auth", auth_keys);

	if (get_bool(x, a, "auth", "required", &req) == 1)
		x->c->auth_required = req;
	get_bool(x, a, "auth", "socks4_userid", &x->c->socks4_userid);
	get_int(x, a, "auth", "remember_client", &x->c->remember_client, 0,
	    86400);
	if (get_string(x, a, "auth", "realm", &realm) == 1) {
		if (realm[0] == '\0' || strlen(realm) > 200 ||
		    strpbrk(realm, "\"\\\r\n") != NULL)
			serr(x, config_setting_get_member(a, "realm"),
			    "auth.realm: 1..200 bytes without quotes, "
			    "backslashes or line breaks");
		else {
			free(x->c->realm);
			x->c->realm = xstrdup(realm);
		}
	}
	load_users(x, a);
	load_groups(x, a);
	if (get_string(x, a, "auth", "file", &file) == 1) {
		free(x->c->users_file);
		x->c->users_file = resolve_relative(x->path, file);
		load_users_file(x, x->c->users_file,
		    config_setting_get_member(a, "file"));
	}
}

static void
add_dns_server(struct ctx *x, const config_setting_t *s, const char *text)
{
	union sockaddr_u a;
	struct conf *c = x->c;

	if (netaddr_parse_hostport(text, &a, 53) == -1 ||
	    netaddr_port(&a) == 0) {
		serr(x, s, "dns.servers: \"%s\" is not ADDRESS[:PORT] "
		    "(IPv6 as [ADDRESS]:PORT)", text);
		return;
	}
	c->dns_servers = xreallocarray(c->dns_servers,
	    (size_t)c->ndns_servers + 1, sizeof(*c->dns_servers));
	c->dns_servers[c->ndns_servers++] = a;
}

static void
load_dns(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *d, *l, *e;
	int i, n;

	if ((d = get_group(x, root, "dns")) == NULL)
		return;
	check_keys(x, d, "dns", dns_keys);
	get_int(x, d, "dns", "timeout_ms", &x->c->dns_timeout_ms, 1, 600000);
	get_int(x, d, "dns", "tries", &x->c->dns_tries, 1, 20);
	get_int(x, d, "dns", "cache_ttl", &x->c->dns_cache_ttl, 0, 604800);
	get_int(x, d, "dns", "cache_size", &x->c->dns_cache_size, 0,
	    10000000);
	l = config_setting_get_member(d, "servers");
	if (l == NULL)
		return;
	if (config_setting_type(l) == CONFIG_TYPE_STRING) {
		add_dns_server(x, l, config_setting_get_string(l));
		return;
	}
	if (config_setting_type(l) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(l) != CONFIG_TYPE_LIST) {
		serr(x, l, "dns.servers: expected an array of strings "
		    "[ \"ADDRESS:PORT\", ... ], found %s",
		    type_name(config_setting_type(l)));
		return;
	}
	n = config_setting_length(l);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(l, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			serr(x, e, "dns.servers[%d]: expected a string, "
			    "found %s", i, type_name(config_setting_type(e)));
			continue;
		}
		add_dns_server(x, e, config_setting_get_string(e));
	}
}

static void
load_timeouts(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *t;

	if ((t = get_group(x, root, "timeouts")) == NULL)
		return;
	check_keys(x, t, "timeouts", timeouts_keys);
	get_int(x, t, "timeouts", "handshake", &x->c->to_handshake, 1, 86400);
	get_int(x, t, "timeouts", "connect", &x->c->to_connect, 1, 86400);
	get_int(x, t, "timeouts", "idle", &x->c->to_idle, 1, 30 * 86400);
	get_int(x, t, "timeouts", "drain", &x->c->to_drain, 0, 86400);
}

static void
load_limits(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *l;
	const char *file = NULL;

	if ((l = get_group(x, root, "limits")) == NULL)
		return;
	check_keys(x, l, "limits", limits_keys);
	get_int(x, l, "limits", "max_connections", &x->c->max_connections, 0,
	    INT_MAX);
	get_int(x, l, "limits", "per_client", &x->c->per_client, 0, INT_MAX);
	get_int(x, l, "limits", "per_user", &x->c->per_user, 0, INT_MAX);
	get_int(x, l, "limits", "rate_per_client", &x->c->rate_per_client, 0,
	    1000000);
	get_size(x, l, "limits", "user_bandwidth", &x->c->user_bandwidth);
	get_size(x, l, "limits", "conn_bandwidth", &x->c->conn_bandwidth);
	get_size(x, l, "limits", "user_quota_daily", &x->c->user_quota_daily);
	get_size(x, l, "limits", "user_quota_monthly",
	    &x->c->user_quota_monthly);
	if (get_string(x, l, "limits", "state_file", &file) == 1) {
		free(x->c->state_file);
		x->c->state_file = resolve_relative(x->path, file);
	}
}

static void
load_log(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *l;
	const char *level = NULL, *access = NULL, *format = NULL, *sock;
	enum log_level lvl;

	if ((l = get_group(x, root, "log")) == NULL)
		return;
	check_keys(x, l, "log", log_keys);
	if (get_string(x, l, "log", "level", &level) == 1) {
		if (log_level_parse(level, &lvl) == -1)
			serr(x, config_setting_get_member(l, "level"),
			    "log.level: \"%s\" is not one of error, warn, info,"
			    " debug", level);
		else
			x->c->log_level = lvl;
	}
	if (get_string(x, l, "log", "format", &format) == 1) {
		if (strcmp(format, "sluice") == 0)
			x->c->log_format = CONF_LOG_SLUICE;
		else if (strcmp(format, "squid") == 0)
			x->c->log_format = CONF_LOG_SQUID;
		else if (strcmp(format, "json") == 0)
			x->c->log_format = CONF_LOG_JSON;
		else
			serr(x, config_setting_get_member(l, "format"),
			    "log.format: \"%s\" is not one of sluice, squid, "
			    "json", format);
	}
	get_int(x, l, "log", "interim", &x->c->log_interim, 0, 86400);
	if (get_string(x, l, "log", "syslog_socket", &sock) == 1) {
		free(x->c->syslog_socket);
		x->c->syslog_socket = xstrdup(sock);
	}
	if (get_string(x, l, "log", "access", &access) == 1) {
		if (access[0] == '\0')
			serr(x, config_setting_get_member(l, "access"),
			    "log.access: empty (use a path, \"-\" for stderr "
			    "or \"off\")");
		else {
			free(x->c->access_log);
			/* a file beside the configuration, like every path
			   in it (not the working directory: / under init) */
			x->c->access_log = conf_access_is_file(access) ?
			    resolve_relative(x->path, access) :
			    xstrdup(access);
		}
	}
}

static void
load_http(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *h;
	struct conf *c = x->c;

	if ((h = get_group(x, root, "http")) == NULL)
		return;
	check_keys(x, h, "http", http_keys);
	get_int(x, h, "http", "max_header_size", &c->http_head_max, 1024,
	    1024 * 1024);
	get_int(x, h, "http", "max_request_line", &c->http_line_max, 256,
	    1024 * 1024);
	get_int(x, h, "http", "max_headers", &c->http_headers_max, 8, 256);
	get_bool(x, h, "http", "forwarded_for", &c->http_forwarded_for);
	get_int(x, h, "http", "keepalive_timeout", &c->http_keepalive, 1,
	    86400);
	get_int(x, h, "http", "pool_idle", &c->pool_idle, 0, 3600);
	get_int(x, h, "http", "pool_max", &c->pool_max, 0, 1000000);
	get_int(x, h, "http", "pool_per_origin", &c->pool_per_origin, 1,
	    10000);
}

/*
 * A congestion control name (TCP_CONGESTION): what the kernel's names are
 * made of, at most CONF_CC_MAX - 1 bytes, or "" for the system's.  Whether
 * this kernel has it is checked at start (tcpcc_check()), not here.
 */
static int
get_cc(struct ctx *x, const config_setting_t *t, const char *key, char *out)
{
	const char *v;
	size_t i, n;

	if (get_string(x, t, "tcp", key, &v) != 1)
		return 0;
	n = strlen(v);
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' &&
		    v[i] <= '9') || v[i] == '_' || v[i] == '-'))
			break;
	if (i < n || n >= CONF_CC_MAX) {
		serr(x, config_setting_get_member(t, key), "tcp.%s: \"%s\" is "
		    "not a congestion control name (lower case, at most %d "
		    "characters, such as \"cubic\", \"bbr\" or \"reno\"; \"\" "
		    "for the system's)", key, v, CONF_CC_MAX - 1);
		return 0;
	}
	memcpy(out, v, n + 1);
	return 1;
}

/*
 * tcp: socket options for the relay.  Pacing (which BBR asks for) spreads
 * a flow's segments over time so that no queue on the path overflows; on
 * a loopback connection there is no such queue, and each paced burst
 * costs a timer and a softirq of its own, so loopback legs default to
 * "reno", which does not pace.
 */
static void
load_tcp(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *t;

	if ((t = get_group(x, root, "tcp")) == NULL)
		return;
	check_keys(x, t, "tcp", tcp_keys);
	get_int(x, t, "tcp", "notsent_lowat", &x->c->tcp_notsent_lowat, 0,
	    64 * 1024 * 1024);
	(void)get_cc(x, t, "congestion", x->c->tcp_cc);
	if (get_cc(x, t, "loopback_congestion", x->c->tcp_cc_loopback))
		x->c->tcp_cc_loopback_set = 1;
}

/* ----- rules ------------------------------------------------------------ */

static const char *
cidr_problem(const char *t)
{
	struct netaddr_cidr c;

	return netaddr_parse_cidr(t, &c) == 0 ? NULL :
	    "is not an address or ADDRESS/PREFIX (with zero host bits)";
}

static const char *
method_problem(const char *t)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH" };
	char up[24];
	size_t i;

	if (t[0] == '\0' || strlen(t) > 20)
		return "is not an HTTP method";
	for (i = 0; t[i] != '\0'; i++) {
		if (!isalnum((unsigned char)t[i]) && strchr("!#$%&'*+-.^_`|~",
		    t[i]) == NULL)
			return "is not an HTTP method";
		up[i] = (char)toupper((unsigned char)t[i]);
	}
	up[i] = '\0';
	/* "get" would never match: methods are case-sensitive (RFC 9110
	   9.1) and clients send GET */
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(up, known[i]) == 0 && strcmp(t, known[i]) != 0)
			return "is not a method clients send (methods are "
			    "case-sensitive: write it in capitals)";
	return NULL;
}

static const char *
dest_problem(const char *t)
{
	const char *h = t;
	size_t i, n;

	if (netaddr_parse_cidr(t, &(struct netaddr_cidr){ 0 }) == 0)
		return NULL;
	if (strchr(t, '/') != NULL || strchr(t, ':') != NULL)
		return "is not a valid address block";
	if (t[0] == '*') {
		if (t[1] != '.' || t[2] == '\0')
			return "is not a host name, *.suffix or address block";
		h = t + 2;
	}
	n = strlen(h);
	if (n == 0 || n > 253)
		return "is not a host name, *.suffix or address block";
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' &&
		    h[i] != '_' && h[i] != '.')
			return "is not a host name, *.suffix or address block";
	return NULL;
}

static char *
lower_dup(const char *t)
{
	char *d = xstrdup(t);
	size_t n;

	for (n = 0; d[n] != '\0'; n++)
		d[n] = (char)tolower((unsigned char)d[n]);
	while (n > 1 && d[n - 1] == '.')	/* "example.com." */
		d[--n] = '\0';
	return d;
}

/* Entries that passed dest_problem() into d. */
static void
add_dests(struct conf_dests *d, char **v, int n)
{
	struct netaddr_cidr c;
	int i;

	for (i = 0; i < n; i++) {
		if (netaddr_parse_cidr(v[i], &c) == 0) {
			d->cidrs = xreallocarray(d->cidrs, (size_t)d->ncidrs + 1,
			    sizeof(c));
			d->cidrs[d->ncidrs++] = c;
		} else if (v[i][0] == '*') {
			d->suffixes = xreallocarray(d->suffixes,
			    (size_t)d->nsuffixes + 1, sizeof(char *));
			d->suffixes[d->nsuffixes++] = lower_dup(v[i] + 1);
		} else {
			d->hosts = xreallocarray(d->hosts, (size_t)d->nhosts + 1,
			    sizeof(char *));
			d->hosts[d->nhosts++] = lower_dup(v[i]);
		}
	}
}

static void
rule_dest(struct ctx *x, const config_setting_t *e, const char *where,
    struct conf_rule *r)
{
	char **v = NULL;
	int n = 0;

	if (get_strings(x, e, where, "dest", &v, &n, dest_problem, 1) == NULL)
		return;
	r->has_dest = 1;
	add_dests(&r->dest, v, n);
	free_strv(v, n);
}

/* "80", "8000-8100" or 443 */
static void
rule_ports(struct ctx *x, const config_setting_t *e, const char *where,
    struct conf_rule *r)
{
	const config_setting_t *s = config_setting_get_member(e, "ports"), *p;
	long lo, hi;
	char *end;
	int i, n;

	if (s == NULL)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		serr(x, s, "%s.ports: expected an array [ \"80\", \"8000-8100\" ]",
		    where);
		return;
	}
	n = config_setting_length(s);
	if (n == 0) {
		serr(x, s, "%s.ports: the list is empty (leave the key out to "
		    "match anything)", where);
		return;
	}
	r->ports = xreallocarray(NULL, (size_t)n + 1, sizeof(*r->ports));
	for (i = 0; i < n; i++) {
		p = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(p) == CONFIG_TYPE_INT) {
			lo = hi = config_setting_get_int(p);
		} else if (config_setting_type(p) == CONFIG_TYPE_STRING) {
			const char *t = config_setting_get_string(p);

			errno = 0;
			lo = strtol(t, &end, 10);
			hi = lo;
			if (end != t && *end == '-') {
				if (!isdigit((unsigned char)end[1]))
					lo = -1;
				hi = strtol(end + 1, &end, 10);
			}
			if (errno != 0 || end == t || *end != '\0' ||
			    !isdigit((unsigned char)t[0]))
				lo = hi = -1;
		} else
			lo = hi = -1;
		if (lo < 1 || hi > 65535 || lo > hi) {
			serr(x, p, "%s.ports[%d]: expected a port or a range "
			    "\"LOW-HIGH\" within 1..65535", where, i);
			continue;
		}
		r->ports[r->nports].lo = (uint16_t)lo;
		r->ports[r->nports].hi = (uint16_t)hi;
		r->nports++;
	}
}

static const char *
protocol_problem(const char *t)
{
	if (strcmp(t, "socks5") == 0 || strcmp(t, "socks4") == 0 ||
	    strcmp(t, "http") == 0 || strcmp(t, "connect") == 0)
		return NULL;
	return "is not one of socks5, socks4, http, connect";
}

static void
load_rules(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *l, *e, *s;
	struct conf_rule *r;
	const char *action, *name;
	char where[32], **v, origin[PATH_MAX + 16];
	int i, j, n, nv, rc;

	if ((l = config_setting_get_member(root, "rules")) == NULL)
		return;
	if (config_setting_type(l) != CONFIG_TYPE_LIST) {
		serr(x, l, "rules: expected a list ( { action = ...; }, ... ), "
		    "found %s", type_name(config_setting_type(l)));
		return;
	}
	n = config_setting_length(l);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(l, (unsigned)i);
		snprintf(where, sizeof(where), "rules[%d]", i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			serr(x, e, "%s: expected a group { action = ...; }",
			    where);
			continue;
		}
		check_keys(x, e, where, rule_keys);
		x->c->rules = xreallocarray(x->c->rules,
		    (size_t)x->c->nrules + 1, sizeof(*x->c->rules));
		r = &x->c->rules[x->c->nrules++];
		memset(r, 0, sizeof(*r));
		snprintf(origin, sizeof(origin), "%s:%d", sfile(x, e),
		    sline(e));
		r->origin = xstrdup(origin);
		action = NULL;
		if ((rc = get_string(x, e, where, "action", &action)) == 0)
			serr(x, e, "%s: \"action\" (\"allow\" or \"deny\") is "
			    "missing", where);
		else if (rc == -1)
			;	/* the type error said it */
		else if (strcmp(action, "allow") == 0)
			r->action = CONF_ALLOW;
		else if (strcmp(action, "deny") == 0)
			r->action = CONF_DENY;
		else
			serr(x, config_setting_get_member(e, "action"),
			    "%s.action: \"%s\" is not allow or deny", where,
			    action);
		if (get_string(x, e, where, "name", &name) == 1)
			r->name = xstrdup(name);
		rule_dest(x, e, where, r);
		rule_ports(x, e, where, r);
		if (get_strings(x, e, where, "users", &r->user_names,
		    &r->nuser_names, name_problem, 1) != NULL)
			r->has_users = 1;
		if (get_strings(x, e, where, "groups", &r->groups,
		    &r->ngroups, name_problem, 1) != NULL)
			r->has_users = 1;
		v = NULL;
		nv = 0;
		if ((s = get_strings(x, e, where, "clients", &v, &nv,
		    cidr_problem, 1)) != NULL) {
			r->clients = xreallocarray(NULL, (size_t)nv + 1,
			    sizeof(*r->clients));
			for (j = 0; j < nv; j++)
				netaddr_parse_cidr(v[j], &r->clients[j]);
			r->nclients = nv;
		}
		free_strv(v, nv);
		v = NULL;
		nv = 0;
		if (get_strings(x, e, where, "protocols", &v, &nv,
		    protocol_problem, 1) != NULL) {
			for (j = 0; j < nv; j++)
				r->protocols |= strcmp(v[j], "socks5") == 0 ?
				    CONF_P_SOCKS5 : strcmp(v[j], "socks4") == 0 ?
				    CONF_P_SOCKS4 : strcmp(v[j], "http") == 0 ?
				    CONF_P_HTTP : CONF_P_CONNECT;
		}
		free_strv(v, nv);
		get_strings(x, e, where, "methods", &r->methods, &r->nmethods,
		    method_problem, 1);
	}
}

static void
load_admin(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *a;
	const char *addr = "127.0.0.1", *token = NULL;
	int port = 9090;

	if ((a = get_group(x, root, "admin")) == NULL)
		return;
	check_keys(x, a, "admin", admin_keys);
	get_string(x, a, "admin", "address", &addr);
	get_int(x, a, "admin", "port", &port, 1, 65535);
	if (get_string(x, a, "admin", "token", &token) == 1) {
		if (strlen(token) < 16 || strpbrk(token, " \t\r\n") != NULL)
			serr(x, config_setting_get_member(a, "token"),
			    "admin.token: at least 16 characters, no spaces");
		else
			x->c->admin_token = xstrdup(token);
	}
	if (netaddr_parse_ip(addr, &x->c->admin_addr) == -1) {
		serr(x, config_setting_get_member(a, "address"),
		    "admin.address: \"%s\" is not an IPv4 or IPv6 address",
		    addr);
		return;
	}
	netaddr_set_port(&x->c->admin_addr, (uint16_t)port);
	x->c->admin_on = 1;
}

/* pac = { bypass = [ "*.corp.example", "10.0.0.0/8" ]; } */
static void
load_pac(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *p;
	char **v = NULL;
	int n = 0;

	if ((p = get_group(x, root, "pac")) == NULL)
		return;
	check_keys(x, p, "pac", pac_keys);
	if (get_strings(x, p, "pac", "bypass", &v, &n, dest_problem, 0) ==
	    NULL)
		return;
	free_dests(&x->c->pac_bypass);
	add_dests(&x->c->pac_bypass, v, n);
	free_strv(v, n);
}

/*
 * user = "sluice"; group = "sluice";  Both must exist here and now (the
 * drop happens at start, after binding).
 */
static void
load_run_user(struct ctx *x, const config_setting_t *root)
{
	const char *u, *g;

	if (get_string(x, root, "", "user", &u) == 1) {
		if (getpwnam(u) == NULL)
			serr(x, config_setting_get_member(root, "user"),
			    "user: no user \"%s\" on this system", u);
		else {
			free(x->c->run_user);
			x->c->run_user = xstrdup(u);
		}
	}
	if (get_string(x, root, "", "group", &g) == 1) {
		if (config_setting_get_member(root, "user") == NULL) {
			serr(x, config_setting_get_member(root, "group"),
			    "group: needs user (the user to run as)");
			return;
		}
		if (getgrnam(g) == NULL)
			serr(x, config_setting_get_member(root, "group"),
			    "group: no group \"%s\" on this system", g);
		else {
			free(x->c->run_group);
			x->c->run_group = xstrdup(g);
		}
	}
}

/* workers: 0 (one per CPU, the default) or 1..CONF_WORKERS_MAX threads */
static void
load_workers(struct ctx *x, const config_setting_t *root)
{
	get_int(x, root, "", "workers", &x->c->workers, 0, CONF_WORKERS_MAX);
	get_int(x, root, "", "busy_poll_us", &x->c->busy_poll_us, 0,
	    CONF_BUSY_POLL_MAX);
}

/* 1 when log.access names a file ("-", "syslog", "off", "none" do not). */
int
conf_access_is_file(const char *spec)
{
	return strcmp(spec, "-") != 0 && strcmp(spec, "syslog") != 0 &&
	    strcmp(spec, "off") != 0 && strcmp(spec, "none") != 0;
}

/*
 * Read FILE into c (which holds defaults from conf_init()).  Returns 0, or
 * -1 with every problem found written to err as "FILE:LINE: ..." lines.
 */
int
conf_load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct ctx x = { .c = c, .path = path, .err = err, .errlen = errlen };
	config_t cfg;
	const config_setting_t *root;
	char *dir, *slash;
	struct stat st;

	if (errlen > 0)
		err[0] = '\0';
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		errf(&x, path, 0, "is a directory");
		return -1;
	}
	free(c->path);
	c->path = xstrdup(path);

	config_init(&cfg);
	config_set_auto_convert(&cfg, 0);
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		config_set_include_dir(&cfg, dir);
	}
	if (config_read_file(&cfg, path) == CONFIG_FALSE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			errf(&x, path, 0, "cannot read: %s", strerror(errno));
		else
			errf(&x, config_error_file(&cfg) != NULL ?
			    config_error_file(&cfg) : path,
			    config_error_line(&cfg), "%s",
			    config_error_text(&cfg));
		goto done;
	}
	root = config_root_setting(&cfg);
	check_keys(&x, root, "", top_keys);
	load_listen(&x, root);
	load_auth(&x, root);
	load_dns(&x, root);
	load_timeouts(&x, root);
	load_limits(&x, root);
	load_log(&x, root);
	load_http(&x, root);
	load_tcp(&x, root);
	load_rules(&x, root);
	load_admin(&x, root);
	get_bool(&x, root, "", "allow_open_proxy", &c->allow_open_proxy);
	load_pac(&x, root);
	load_run_user(&x, root);
	load_workers(&x, root);
done:
	config_destroy(&cfg);
	free(dir);
	return x.nerr > 0 ? -1 : 0;
}

/*
 * -l URI: "socks5://ADDR:PORT", "http://", "auto://", "socks4://" (IPv6
 * in brackets; the port defaults to the protocol's: 1080, or 3128 for
 * http).  Returns 0, or -1 with the reason in err.
 */
int
conf_add_listen_uri(struct conf *c, const char *uri, char *err,
    size_t errlen)
{
	const char *sep = strstr(uri, "://"), *why;
	char scheme[16];
	enum conf_proto proto;
	union sockaddr_u a;
	size_t n;

	if (sep == NULL || (n = (size_t)(sep - uri)) >= sizeof(scheme)) {
		snprintf(err, errlen, "-l %s: expected SCHEME://ADDRESS:PORT "
		    "(socks5, http, auto, socks4)", uri);
		return -1;
	}
	memcpy(scheme, uri, n);
	scheme[n] = '\0';
	if (proto_parse(scheme, &proto, &why) == -1) {
		snprintf(err, errlen, "-l %s: \"%s\" %s", uri, scheme, why);
		return -1;
	}
	if (netaddr_parse_hostport(sep + 3, &a, proto_default_port(proto))
	    == -1 ||
	    netaddr_port(&a) == 0) {
		snprintf(err, errlen, "-l %s: \"%s\" is not ADDRESS:PORT "
		    "(IPv6 as [ADDRESS]:PORT)", uri, sep + 3);
		return -1;
	}
	add_listen(c, proto, &a);
	return 0;
}

/*
 * -u USER:PASS: adds a user with a plain password and turns auth on.
 */
int
conf_add_user_arg(struct conf *c, const char *arg, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':'), *why;
	char name[NAME_MAX_LEN + 2];
	size_t n;

	if (colon == NULL) {
		snprintf(err, errlen, "-u: expected USER:PASSWORD");
		return -1;
	}
	n = (size_t)(colon - arg);
	if (n >= sizeof(name)) {
		snprintf(err, errlen, "-u: user name is longer than 255 bytes");
		return -1;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	if ((why = user_name_problem(name)) != NULL) {
		snprintf(err, errlen, "-u: user name %s", why);
		return -1;
	}
	if (colon[1] == '\0' || strlen(colon + 1) > PASS_MAX_LEN) {
		snprintf(err, errlen, "-u %s: password must be 1..255 bytes",
		    name);
		return -1;
	}
	if (find_user(c, name) != -1) {
		snprintf(err, errlen, "-u %s: user is defined twice", name);
		return -1;
	}
	add_user(c, name, colon + 1, NULL, "-u", 0);
	c->auth_required = 1;
	return 0;
}

/*
 * Complete the configuration after the file and the flags: the default
 * listeners when none were given, auth defaults, cross-checks.  Returns 0,
 * or -1 with the problems in err.
 */
int
conf_finish(struct conf *c, char *err, size_t errlen)
{
	struct ctx x = { .c = c, .path = c->path, .err = err,
	    .errlen = errlen };
	union sockaddr_u a;
	char s1[NETADDR_STRLEN];
	int i, j;

	if (errlen > 0)
		err[0] = '\0';
	if (c->nlisten == 0) {
		/* the embedded default: SOCKS5 and HTTP on loopback */
		netaddr_parse_hostport("127.0.0.1:1080", &a, -1);
		add_listen(c, CONF_PROTO_SOCKS5, &a);
		netaddr_parse_hostport("127.0.0.1:3128", &a, -1);
		add_listen(c, CONF_PROTO_HTTP, &a);
	}
	for (i = 0; i < c->nlisten; i++)
		for (j = 0; j < i; j++)
			if (netaddr_ip_equal(&c->listen[i].addr,
			    &c->listen[j].addr) &&
			    netaddr_port(&c->listen[i].addr) ==
			    netaddr_port(&c->listen[j].addr))
				errf(&x, NULL, 0, "listen: %s is listed twice",
				    netaddr_str(&c->listen[i].addr, s1,
				    sizeof(s1)));
	if (c->auth_required == -1)
		c->auth_required = c->nusers > 0;
	if (c->auth_required && c->nusers == 0)
		errf(&x, NULL, 0, "auth.required is true but no users are "
		    "defined (auth.users, auth.file or -u)");
	finish_groups(&x);
	finish_rules(&x);
	finish_exposure(&x);
	return x.nerr > 0 ? -1 : 0;
}

/*
 * 1 when a listener is on an address other than loopback: the proxy is a
 * shared gateway and protects loopback, link-local and its own addresses.
 */
int
conf_is_shared(const struct conf *c)
{
	int i;

	for (i = 0; i < c->nlisten; i++)
		if (!netaddr_is_loopback(&c->listen[i].addr))
			return 1;
	return 0;
}

const struct conf_user *
conf_user_find(const struct conf *c, const char *name)
{
	int i = find_user(c, name);

	return i >= 0 ? &c->users[i] : NULL;
}

static const struct conf_group *
find_group(const struct conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return &c->groups[i];
	return NULL;
}

static void
finish_groups(struct ctx *x)
{
	const struct conf_group *g;
	int i, j;

	for (i = 0; i < x->c->ngroups; i++) {
		g = &x->c->groups[i];
		for (j = 0; j < g->nusers; j++)
			if (find_user(x->c, g->users[j]) == -1)
				errf(x, g->origin, 0, "auth.groups: group \"%s\" "
				    "names user \"%s\", who is not defined",
				    g->name, g->users[j]);
	}
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
add_member(struct conf_rule *r, const char *name)
{
	int i;

	for (i = 0; i < r->nusers; i++)
		if (strcmp(r->users[i], name) == 0)
			return;
	r->users = xreallocarray(r->users, (size_t)r->nusers + 1,
	    sizeof(char *));
	r->users[r->nusers++] = xstrdup(name);
}

/* Resolve each rule's users and groups into one sorted member list. */
static void
finish_rules(struct ctx *x)
{
	struct conf_rule *r;
	const struct conf_group *g;
	int i, j, k;

	for (i = 0; i < x->c->nrules; i++) {
		r = &x->c->rules[i];
		free_strv(r->users, r->nusers);
		r->users = NULL;
		r->nusers = 0;
		for (j = 0; j < r->nuser_names; j++) {
			if (find_user(x->c, r->user_names[j]) == -1)
				errf(x, r->origin, 0, "rules[%d].users: user "
				    "\"%s\" is not defined", i,
				    r->user_names[j]);
			add_member(r, r->user_names[j]);
		}
		for (j = 0; j < r->ngroups; j++) {
			if ((g = find_group(x->c, r->groups[j])) == NULL) {
				errf(x, r->origin, 0, "rules[%d].groups: group "
				    "\"%s\" is not defined (auth.groups)", i,
				    r->groups[j]);
				continue;
			}
			for (k = 0; k < g->nusers; k++)
				add_member(r, g->users[k]);
		}
		if (r->nusers > 1)
			qsort(r->users, (size_t)r->nusers, sizeof(char *),
			    strp_cmp);
	}
}

/*
 * A listener on an address other than loopback makes a shared gateway:
 * without auth and without a rule on client addresses it would be an open
 * proxy, which sluice refuses unless allow_open_proxy says so.  The admin
 * listener off loopback needs a token.
 */
static void
finish_exposure(struct ctx *x)
{
	const struct conf *c = x->c;
	char a[NETADDR_STRLEN];
	int i, clients = 0;

	for (i = 0; i < c->nrules; i++)
		clients |= c->rules[i].nclients > 0;
	for (i = 0; i < c->nlisten; i++) {
		if (netaddr_is_loopback(&c->listen[i].addr) ||
		    c->auth_required || clients || c->allow_open_proxy)
			continue;
		errf(x, NULL, 0, "listen %s %s: a listener off loopback with "
		    "no auth and no rule on client addresses is an open proxy "
		    "(require auth, add a rule with clients = [ ... ], or set "
		    "allow_open_proxy = true)", conf_proto_name(
		    c->listen[i].proto), netaddr_str(&c->listen[i].addr, a,
		    sizeof(a)));
		break;
	}
	if (!c->admin_on)
		return;
	if (!netaddr_is_loopback(&c->admin_addr) && c->admin_token == NULL)
		errf(x, NULL, 0, "admin: %s is not a loopback address: set "
		    "admin.token", netaddr_str(&c->admin_addr, a, sizeof(a)));
	for (i = 0; i < c->nlisten; i++)
		if (netaddr_ip_equal(&c->listen[i].addr, &c->admin_addr) &&
		    netaddr_port(&c->listen[i].addr) ==
		    netaddr_port(&c->admin_addr))
			errf(x, NULL, 0, "admin: %s is also a proxy listener",
			    netaddr_str(&c->admin_addr, a, sizeof(a)));
}

/*
 * The effective configuration, as `sluice -t` prints it.  Passwords and
 * hashes are never printed.
 */
void
conf_print(const struct conf *c, FILE *f)
{
	char s[NETADDR_STRLEN];
	int i, nplain = 0;

	for (i = 0; i < c->nlisten; i++)
		fprintf(f, "listen %s %s\n", conf_proto_name(c->listen[i].proto),
		    netaddr_str(&c->listen[i].addr, s, sizeof(s)));
	for (i = 0; i < c->nusers; i++)
		nplain += c->users[i].password != NULL;
	fprintf(f, "auth %s, %d users (%d with a plain password, %d hashed)\n",
	    c->auth_required ? "required" : "off", c->nusers, nplain,
	    c->nusers - nplain);
	if (c->ndns_servers == 0)
		fprintf(f, "dns servers from /etc/resolv.conf");
	else {
		fprintf(f, "dns servers");
		for (i = 0; i < c->ndns_servers; i++)
			fprintf(f, " %s", netaddr_str(&c->dns_servers[i], s,
			    sizeof(s)));
	}
	fprintf(f, ", timeout %d ms x %d tries, cache ttl cap %d s, "
	    "%d entries\n", c->dns_timeout_ms, c->dns_tries,
	    c->dns_cache_ttl, c->dns_cache_size);
	fprintf(f, "timeouts handshake %d s, connect %d s, idle %d s, "
	    "drain %d s\n", c->to_handshake, c->to_connect, c->to_idle,
	    c->to_drain);
	fprintf(f, "limits max_connections %d, per_client %d, per_user %d "
	    "(0 = unlimited)\n", c->max_connections, c->per_client,
	    c->per_user);
	fprintf(f, "http head %d bytes, request line %d, %d fields; "
	    "keep-alive %d s; origin pool %d (%d per origin, %d s)%s\n",
	    c->http_head_max, c->http_line_max, c->http_headers_max,
	    c->http_keepalive, c->pool_max, c->pool_per_origin, c->pool_idle,
	    c->http_forwarded_for ? "; X-Forwarded-For" : "");
	if (c->tcp_notsent_lowat > 0)
		fprintf(f, "tcp notsent_lowat %d bytes (bulk transfers)\n",
		    c->tcp_notsent_lowat);
	else
		fprintf(f, "tcp notsent_lowat off (the system's)\n");
	fprintf(f, "tcp congestion %s, on loopback %s\n", c->tcp_cc[0] ?
	    c->tcp_cc : "(the system's)", c->tcp_cc_loopback[0] ?
	    c->tcp_cc_loopback : c->tcp_cc[0] ? c->tcp_cc : "(the system's)");
	if (c->socks4_userid || c->remember_client > 0)
		fprintf(f, "auth socks4_userid %s, remember_client %d s\n",
		    c->socks4_userid ? "on" : "off", c->remember_client);
	fprintf(f, "log level %s, access log %s (%s format)\n",
	    c->log_level == LOG_LVL_ERR ? "error" :
	    c->log_level == LOG_LVL_WARN ? "warn" :
	    c->log_level == LOG_LVL_INFO ? "info" : "debug", c->access_log,
	    c->log_format == CONF_LOG_SQUID ? "squid" :
	    c->log_format == CONF_LOG_JSON ? "json" : "sluice");
	if (c->rate_per_client || c->user_bandwidth || c->conn_bandwidth ||
	    c->user_quota_daily || c->user_quota_monthly)
		fprintf(f, "limits rate_per_client %d/s, user_bandwidth %lld "
		    "B/s, conn_bandwidth %lld B/s, quota %lld B/day %lld "
		    "B/month%s%s\n", c->rate_per_client,
		    (long long)c->user_bandwidth, (long long)c->conn_bandwidth,
		    (long long)c->user_quota_daily,
		    (long long)c->user_quota_monthly,
		    c->state_file ? ", state in " : "",
		    c->state_file ? c->state_file : "");
	for (i = 0; i < c->nusers; i++) {
		const struct conf_user_limits *ul = &c->users[i].limits;

		if (ul->per_user < 0 && ul->bandwidth < 0 &&
		    ul->quota_daily < 0 && ul->quota_monthly < 0)
			continue;
		fprintf(f, "user %s limits:", c->users[i].name);
		if (ul->per_user >= 0)
			fprintf(f, " per_user %d", ul->per_user);
		if (ul->bandwidth >= 0)
			fprintf(f, " user_bandwidth %lld B/s",
			    (long long)ul->bandwidth);
		if (ul->quota_daily >= 0)
			fprintf(f, " quota %lld B/day",
			    (long long)ul->quota_daily);
		if (ul->quota_monthly >= 0)
			fprintf(f, " quota %lld B/month",
			    (long long)ul->quota_monthly);
		fprintf(f, "\n");
	}
	for (i = 0; i < c->ngroups; i++)
		fprintf(f, "group %s: %d users\n", c->groups[i].name,
		    c->groups[i].nusers);
	if (conf_is_shared(c))
		fprintf(f, "shared gateway (a listener is off loopback): "
		    "destinations on loopback, link-local (169.254.0.0/16, "
		    "fe80::/10) and this host's own addresses are refused "
		    "unless a rule with dest allows them%s\n",
		    c->allow_open_proxy ? "; open proxy allowed" : "");
	else
		fprintf(f, "personal proxy (every listener on loopback): "
		    "loopback and link-local destinations allowed unless a "
		    "rule denies them\n");
	if (c->nrules == 0)
		fprintf(f, "rules: none (everything allowed)\n");
	for (i = 0; i < c->nrules; i++)
		conf_print_rule(&c->rules[i], i + 1, f);
	if (c->admin_on)
		fprintf(f, "admin %s%s\n", netaddr_str(&c->admin_addr, s,
		    sizeof(s)), c->admin_token ? " (token required)" : "");
	if (c->log_interim)
		fprintf(f, "log interim records every %d s\n", c->log_interim);
	if (c->pac_bypass.ncidrs + c->pac_bypass.nhosts +
	    c->pac_bypass.nsuffixes > 0) {
		print_dests(f, "pac bypass", &c->pac_bypass);
		fprintf(f, "\n");
	}
	if (c->run_user != NULL || c->run_group != NULL)
		fprintf(f, "run as user %s, group %s (when started as root)\n",
		    c->run_user ? c->run_user : "(unchanged)",
		    c->run_group ? c->run_group : "(the user's)");
	if (c->workers > 0)
		fprintf(f, "workers %d\n", c->workers);
	else
		fprintf(f, "workers 0 (one per CPU)\n");
	if (c->busy_poll_us > 0)
		fprintf(f, "busy poll %d us after relayed bytes\n",
		    c->busy_poll_us);
	else
		fprintf(f, "busy poll off\n");
}

/* key=[10.0.0.0/8,exact.example,*.suffix.example] */
static void
print_dests(FILE *f, const char *key, const struct conf_dests *d)
{
	char b[NETADDR_STRLEN];
	int i, first = 1;

	fprintf(f, "%s=[", key);
	for (i = 0; i < d->ncidrs; i++, first = 0)
		fprintf(f, "%s%s", first ? "" : ",",
		    netaddr_cidr_str(&d->cidrs[i], b, sizeof(b)));
	for (i = 0; i < d->nhosts; i++, first = 0)
		fprintf(f, "%s%s", first ? "" : ",", d->hosts[i]);
	for (i = 0; i < d->nsuffixes; i++, first = 0)
		fprintf(f, "%s*%s", first ? "" : ",", d->suffixes[i]);
	fprintf(f, "]");
}

static void
print_list(FILE *f, const char *key, char *const *v, int n)
{
	int i;

	if (n == 0)
		return;
	fprintf(f, " %s=[", key);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? "," : "", v[i]);
	fprintf(f, "]");
}

/*
 * One rule, numbered as the HTTP 403 and the logs name it.
 */
void
conf_print_rule(const struct conf_rule *r, int n, FILE *f)
{
	static const char *const protos[] = { "socks5", "socks4", "http",
	    "connect" };
	char b[NETADDR_STRLEN];
	int i, first;

	fprintf(f, "rule #%d%s%s%s %s", n, r->name ? " \"" : "",
	    r->name ? r->name : "", r->name ? "\"" : "",
	    r->action == CONF_ALLOW ? "allow" : "deny");
	if (r->has_dest)
		print_dests(f, " dest", &r->dest);
	if (r->nports > 0) {
		fprintf(f, " ports=[");
		for (i = 0; i < r->nports; i++) {
			if (r->ports[i].lo == r->ports[i].hi)
				fprintf(f, "%s%u", i ? "," : "", r->ports[i].lo);
			else
				fprintf(f, "%s%u-%u", i ? "," : "",
				    r->ports[i].lo, r->ports[i].hi);
		}
		fprintf(f, "]");
	}
	print_list(f, "users", r->user_names, r->nuser_names);
	print_list(f, "groups", r->groups, r->ngroups);
	if (r->nclients > 0) {
		fprintf(f, " clients=[");
		for (i = 0; i < r->nclients; i++)
			fprintf(f, "%s%s", i ? "," : "",
			    netaddr_cidr_str(&r->clients[i], b, sizeof(b)));
		fprintf(f, "]");
	}
	if (r->protocols) {
		fprintf(f, " protocols=[");
		for (i = 0, first = 1; i < 4; i++)
			if (r->protocols & (1u << i)) {
				fprintf(f, "%s%s", first ? "" : ",", protos[i]);
				first = 0;
			}
		fprintf(f, "]");
	}
	print_list(f, "methods", r->methods, r->nmethods);
	fprintf(f, "  (%s)\n", r->origin);
}
