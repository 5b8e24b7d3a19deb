/*
 * Configuration: the libconfig file (or the embedded default, plus the
 * quick command-line flags) turned into one owned struct conf.  No libconfig
 * pointer outlives conf_load(); every string here is our own copy.
 */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../proxy/netaddr.h"

#define CONF_ERRLEN	4096
#define CONF_WORKERS_MAX 64
#define CONF_BUSY_POLL_MAX 10000	/* us */
#define CONF_CC_MAX	16	/* TCP_CA_NAME_MAX: a congestion control
				   name and its NUL */

enum conf_proto {
	CONF_PROTO_SOCKS5 = 0,	/* RFC 1928 */
	CONF_PROTO_HTTP,	/* HTTP forward proxy and CONNECT */
	CONF_PROTO_AUTO,	/* SOCKS5, SOCKS4 and HTTP on one port */
	CONF_PROTO_SOCKS4,	/* SOCKS4/4a */
};

enum conf_log_format {
	CONF_LOG_SLUICE = 0,	/* key=value, one line per session/request */
	CONF_LOG_SQUID,		/* Squid's native access.log layout */
	CONF_LOG_JSON,		/* one JSON object per line */
};

enum conf_action {
	CONF_ALLOW = 0,
	CONF_DENY,
};

/* rule "protocols" */
#define CONF_P_SOCKS5	0x01
#define CONF_P_SOCKS4	0x02
#define CONF_P_HTTP	0x04	/* forwarded HTTP requests */
#define CONF_P_CONNECT	0x08	/* HTTP CONNECT */

struct conf_ports {
	uint16_t	lo, hi;		/* inclusive */
};

/* Destinations: address blocks, exact host names, "*.suffix" names. */
struct conf_dests {
	struct netaddr_cidr *cidrs;	/* checked on resolved addresses */
	int		ncidrs;
	char		**hosts;	/* exact names, lower case */
	int		nhosts;
	char		**suffixes;	/* "*.example.com" as ".example.com" */
	int		nsuffixes;
};

/*
 * One entry of "rules": every key optional; a missing key matches
 * anything.  users holds the rule's users and the members of its groups,
 * sorted, so membership is one search.
 */
struct conf_rule {
	enum conf_action action;
	char		*name;		/* or NULL */
	char		*origin;	/* "FILE:LINE" */
	int		has_dest;	/* dest given */
	struct conf_dests dest;
	struct conf_ports *ports;	/* NULL: any port */
	int		nports;
	int		has_users;	/* users or groups given */
	char		**users;	/* sorted, with groups expanded */
	int		nusers;
	char		**user_names;	/* as written (for -t) */
	int		nuser_names;
	char		**groups;	/* as written (for -t) */
	int		ngroups;
	struct netaddr_cidr *clients;	/* NULL: any client */
	int		nclients;
	unsigned	protocols;	/* CONF_P_*; 0: any */
	char		**methods;	/* NULL: any method */
	int		nmethods;
};

struct conf_group {
	char		*name;
	char		*origin;	/* "FILE:LINE" */
	char		**users;
	int		nusers;
};

/* Limits a user entry may override; -1 (or 0 for none) inherits. */
struct conf_user_limits {
	int		per_user;
	int64_t		bandwidth;	/* bytes/s each way */
	int64_t		quota_daily;	/* bytes */
	int64_t		quota_monthly;
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
	struct conf_user_limits limits;	/* -1: the global value */
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
	int		socks4_userid;	/* SOCKS4 USERID names a user (weak) */
	int		remember_client; /* seconds an HTTP login lets the
					   client address use SOCKS; 0 off */
	char		*realm;		/* Basic realm of the 407 */

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
	int		rate_per_client;	/* new connections/s; 0 = off */
	int64_t		user_bandwidth;		/* bytes/s each way; 0 = off */
	int64_t		conn_bandwidth;		/* bytes/s each way; 0 = off */
	int64_t		user_quota_daily;	/* bytes; 0 = none */
	int64_t		user_quota_monthly;	/* bytes; 0 = none */
	char		*state_file;		/* quota usage kept here */

	struct conf_group *groups;
	int		ngroups;
	struct conf_rule *rules;	/* first match wins */
	int		nrules;
	int		allow_open_proxy; /* a public listener without auth or
					   a clients rule may start */
	struct conf_dests pac_bypass;	/* DIRECT in the PAC file */

	char		*run_user;	/* drop to this user after binding */
	char		*run_group;	/* ... and group (NULL: the user's) */

	int		admin_on;	/* the admin listener is configured */
	union sockaddr_u admin_addr;
	char		*admin_token;	/* Bearer token, or NULL */

	int		http_head_max;	/* request/response head bytes: 431 */
	int		http_line_max;	/* request line bytes: 414 */
	int		http_headers_max; /* header fields: 431 */
	int		http_forwarded_for; /* add X-Forwarded-For */
	int		http_keepalive;	/* seconds a client connection waits
					   for its next request */
	int		pool_idle;	/* seconds an origin connection is
					   kept for reuse; 0: no reuse */
	int		pool_max;	/* idle origin connections per worker */
	int		pool_per_origin; /* ... per origin host:port */
	int		tcp_notsent_lowat; /* TCP_NOTSENT_LOWAT of a bulk
					   transfer's sink; 0: the system's */
	char		tcp_cc[CONF_CC_MAX]; /* TCP_CONGESTION of every
					   socket; "": the system's */
	char		tcp_cc_loopback[CONF_CC_MAX]; /* ... of sockets whose
					   peer is a loopback address; "":
					   as tcp_cc */
	int		tcp_cc_loopback_set; /* configured, not the default */

	int		log_level;	/* enum log_level */
	char		*access_log;	/* path, "-" (stderr), "syslog", "off" */
	enum conf_log_format log_format;
	int		log_interim;	/* seconds between records of a long
					   session; 0 = off */
	char		*syslog_socket;	/* where log.access = "syslog" goes */

	int		workers;	/* event-loop threads; 0: one per CPU */
	int		busy_poll_us;	/* poll without sleeping this long after
					   relayed bytes; 0: off */
};

void	conf_init(struct conf *);
void	conf_free(struct conf *);
int	conf_load_file(struct conf *, const char *, char *, size_t);
int	conf_add_listen_uri(struct conf *, const char *, char *, size_t);
int	conf_add_user_arg(struct conf *, const char *, char *, size_t);
int	conf_finish(struct conf *, char *, size_t);
const char *conf_proto_name(enum conf_proto);
void	conf_print(const struct conf *, FILE *);
void	conf_print_rule(const struct conf_rule *, int, FILE *);
const struct conf_user *conf_user_find(const struct conf *, const char *);
int	conf_is_shared(const struct conf *);
int	conf_access_is_file(const char *);

#endif
