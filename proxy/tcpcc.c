/*
 * Congestion control per socket: see tcpcc.h.
 *
 * Why a proxy sets it at all: BBR (a common system default) paces, which
 * costs a high-resolution timer and a softirq per burst; over a loopback
 * connection pacing protects no queue, so sluice's loopback legs use
 * "reno" unless told otherwise (conf.c load_tcp()).  Listening sockets
 * get the name their accepted sockets should have (they inherit it:
 * listener.c); an accepted socket whose peer wants another is set once
 * after accept; outbound sockets before connect() (upstream.c).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tcpcc.h"

#define ALLOWED_PATH	"/proc/sys/net/ipv4/tcp_allowed_congestion_control"
#define DEFAULT_PATH	"/proc/sys/net/ipv4/tcp_congestion_control"

/*
 * The name for a socket whose peer is at peer, or NULL for the system's
 * default (nothing to set).
 */
const char *
tcpcc_for(const struct conf *c, const union sockaddr_u *peer)
{
	if (c->tcp_cc_loopback[0] != '\0' && netaddr_is_loopback(peer))
		return c->tcp_cc_loopback;
	return c->tcp_cc[0] != '\0' ? c->tcp_cc : NULL;
}

/* The first line of path into buf (NUL-terminated), or -1. */
static int
read_line(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * Set fd's congestion control to name; NULL: back to the system's default
 * (for a listener whose configured name went away on reload).  Returns 0,
 * or -1 with errno set.
 */
int
tcpcc_set(int fd, const char *name)
{
	char def[CONF_CC_MAX + 1];

	if (name == NULL) {
		if (read_line(DEFAULT_PATH, def, sizeof(def)) == -1)
			return -1;
		name = def;
	}
	return setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name,
	    (socklen_t)strlen(name));
}

/* 1 when name is a word of net.ipv4.tcp_allowed_congestion_control. */
static int
allowed(const char *name)
{
	char buf[1024], *p, *save = NULL;

	if (read_line(ALLOWED_PATH, buf, sizeof(buf)) == -1)
		return 1;	/* cannot tell: let the sockets say */
	for (p = strtok_r(buf, " \t", &save); p != NULL;
	    p = strtok_r(NULL, " \t", &save))
		if (strcmp(p, name) == 0)
			return 1;
	return 0;
}

static int
check_one(const char *where, const char *key, const char *name,
    int drops_privs, char *err, size_t errlen)
{
	int fd, rc, e;

	if (name[0] == '\0')
		return 0;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;	/* no socket to try it on: the listeners will
				   fail louder */
	rc = setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name,
	    (socklen_t)strlen(name));
	e = errno;
	close(fd);
	if (rc == -1 && e == ENOENT) {
		snprintf(err, errlen, "%s: tcp.%s: \"%s\" is not available "
		    "in this kernel (net.ipv4.tcp_available_congestion_control "
		    "lists those that are; modprobe tcp_%s may add it)\n",
		    where, key, name, name);
		return -1;
	}
	if ((rc == -1 && e == EPERM) || (rc == 0 && drops_privs &&
	    !allowed(name))) {
		snprintf(err, errlen, "%s: tcp.%s: \"%s\" is not in "
		    "net.ipv4.tcp_allowed_congestion_control, so only a "
		    "process with CAP_NET_ADMIN may use it%s\n", where, key,
		    name, drops_privs ? " (sluice drops privileges: \"user\")" :
		    "");
		return -1;
	}
	if (rc == -1) {
		snprintf(err, errlen, "%s: tcp.%s: \"%s\": %s\n", where, key,
		    name, strerror(e));
		return -1;
	}
	return 0;
}

/*
 * Can sockets use the configured names?  Tried on a socket of our own,
 * and when privileges will be dropped, looked up in the list of those an
 * unprivileged process may use.  where: the configuration file's name, for
 * the message.  Returns 0; or -1 with the reason in err; or 1 when only
 * the built-in loopback_congestion cannot be used (a system that took
 * "reno" off the allowed list): it is then cleared, so that the loopback
 * legs keep the system's, and err says why (a warning: a default must not
 * stop sluice from starting).
 */
int
tcpcc_check(struct conf *c, const char *where, char *err, size_t errlen)
{
	int drops = c->run_user != NULL;
	size_t n;

	if (check_one(where, "congestion", c->tcp_cc, drops, err, errlen) ==
	    -1)
		return -1;
	if (check_one(where, "loopback_congestion", c->tcp_cc_loopback, drops,
	    err, errlen) == 0)
		return 0;
	if (c->tcp_cc_loopback_set)
		return -1;
	c->tcp_cc_loopback[0] = '\0';
	n = strlen(err);
	if (n > 0 && err[n - 1] == '\n')
		err[--n] = '\0';
	snprintf(err + n, errlen - n, " (the default: loopback legs keep the "
	    "system's)\n");
	return 1;
}
