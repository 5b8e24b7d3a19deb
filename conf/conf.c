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
#include <limits.h>
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
	"http", NULL,
};
static const char *const listen_keys[] = {
	"proto", "address", "port", NULL,
};
static const char *const auth_keys[] = {
	"required", "users", "file", "socks4_userid", "remember_client",
	"realm", NULL,
};
static const char *const user_keys[] = {
	"name", "password", "hash", NULL,
};
static const char *const dns_keys[] = {
	"servers", "timeout_ms", "tries", "cache_ttl", "cache_size", NULL,
};
static const char *const timeouts_keys[] = {
	"handshake", "connect", "idle", "drain", NULL,
};
static const char *const limits_keys[] = {
	"max_connections", "per_client", "per_user", NULL,
};
static const char *const log_keys[] = {
	"level", "access", "format", NULL,
};
static const char *const http_keys[] = {
	"max_header_size", "max_request_line", "max_headers",
	"forwarded_for", "keepalive_timeout", "pool_idle", "pool_max",
	"pool_per_origin", NULL,
};

static void
errf(struct ctx *x, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Append one "FILE:LINE: message" line to the caller's buffer.
 */
static void
errf(struct ctx *x, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	x->nerr++;
	if (x->err == NULL || x->used + 1 >= x->errlen)
		return;
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
	c->pool_per_origin = 8;
	c->workers = 1;
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
		serr(x, s, "%s.%s: expected a boolean (true/false), found %s",
		    where, key, type_name(config_setting_type(s)));
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
		serr(x, s, "%s.%s: expected a string, found %s", where, key,
		    type_name(config_setting_type(s)));
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

	if ((l = get_group(x, root, "limits")) == NULL)
		return;
	check_keys(x, l, "limits", limits_keys);
	get_int(x, l, "limits", "max_connections", &x->c->max_connections, 0,
	    INT_MAX);
	get_int(x, l, "limits", "per_client", &x->c->per_client, 0, INT_MAX);
	get_int(x, l, "limits", "per_user", &x->c->per_user, 0, INT_MAX);
}

static void
load_log(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *l;
	const char *level = NULL, *access = NULL, *format = NULL;
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
		else
			serr(x, config_setting_get_member(l, "format"),
			    "log.format: \"%s\" is not one of sluice, squid",
			    format);
	}
	if (get_string(x, l, "log", "access", &access) == 1) {
		if (access[0] == '\0')
			serr(x, config_setting_get_member(l, "access"),
			    "log.access: empty (use a path, \"-\" for stderr "
			    "or \"off\")");
		else {
			free(x->c->access_log);
			x->c->access_log = xstrdup(access);
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

static void
load_workers(struct ctx *x, const config_setting_t *root)
{
	const config_setting_t *s = config_setting_get_member(root, "workers");
	int w = 1;

	if (get_int(x, root, "", "workers", &w, 0, 1024) != 1)
		return;
	if (w != 1) {
		serr(x, s, "workers: %d: this version runs one event-loop "
		    "thread (workers = 1)", w);
		return;
	}
	x->c->workers = w;
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
	return x.nerr > 0 ? -1 : 0;
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
	if (c->socks4_userid || c->remember_client > 0)
		fprintf(f, "auth socks4_userid %s, remember_client %d s\n",
		    c->socks4_userid ? "on" : "off", c->remember_client);
	fprintf(f, "log level %s, access log %s (%s format)\n",
	    c->log_level == LOG_LVL_ERR ? "error" :
	    c->log_level == LOG_LVL_WARN ? "warn" :
	    c->log_level == LOG_LVL_INFO ? "info" : "debug", c->access_log,
	    c->log_format == CONF_LOG_SQUID ? "squid" : "sluice");
	fprintf(f, "workers %d\n", c->workers);
}
