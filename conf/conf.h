/*
 * Configuration: the libconfig file (or the embedded default, plus the
 * quick command-line flags) turned into one owned struct conf.  No libconfig
 * pointer outlives conf_load(); every string here is our own copy.
 */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H

#include <stddef.h>
#include <stdio.h>

#include "../proxy/netaddr.h"

#define CONF_ERRLEN	4096

enum conf_proto {
	CONF_PROTO_SOCKS5 = 0,	/* RFC 1928 */
	CONF_PROTO_HTTP,	/* reserved: the HTTP proxy issue */
	CONF_PROTO_AUTO,	/* reserved: one port for all protocols */
	CONF_PROTO_SOCKS4,	/* reserved: SOCKS4/4a */
};

struct conf_listen {
	enum conf_proto	proto;
	union sockaddr_u addr;		/* address and port to bind */
};

struct conf_user {
	char		*name;		/* 1..255 bytes, no ':' */
	char		*password;	/* plain text from the config, or NULL */
	char		*hash;		/* crypt(3) hash, or NULL */
	char		*origin;	/* "FILE:LINE" it came from, for logs */
};

struct conf {
	char		*path;		/* file it was read from, or NULL */

	struct conf_listen *listen;	/* at least one after conf_finish() */
	int		nlisten;

	int		auth_required;	/* 1: every client must authenticate;
					   -1 until set (then: 1 iff users) */
	struct conf_user *users;	/* config entries, then the users file */
	int		nusers;
	char		*users_file;	/* as resolved (relative to the config) */

	union sockaddr_u *dns_servers;	/* empty: /etc/resolv.conf */
	int		ndns_servers;
	int		dns_timeout_ms;	/* per try */
	int		dns_tries;
	int		dns_cache_ttl;	/* cap in seconds; 0 = no cache */
	int		dns_cache_size;	/* entries per worker */

	int		to_handshake;	/* seconds, each > 0 */
	int		to_connect;
	int		to_idle;
	int		to_drain;

	int		max_connections;	/* 0 = unlimited */
	int		per_client;		/* 0 = unlimited */
	int		per_user;		/* 0 = unlimited */

	int		log_level;	/* enum log_level */
	char		*access_log;	/* path, "-" (stderr) or "off" */

	int		workers;
};

void	conf_init(struct conf *);
void	conf_free(struct conf *);
int	conf_load_file(struct conf *, const char *, char *, size_t);
int	conf_add_listen_uri(struct conf *, const char *, char *, size_t);
int	conf_add_user_arg(struct conf *, const char *, char *, size_t);
int	conf_finish(struct conf *, char *, size_t);
const char *conf_proto_name(enum conf_proto);
void	conf_print(const struct conf *, FILE *);

#endif
