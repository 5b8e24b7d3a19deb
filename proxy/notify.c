/*
 * sd_notify(3) by hand: one datagram socket, opened at start (before any
 * privilege drop), and a message per state change.  Failures to send are
 * ignored: the service manager's problem is not the proxy's.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static int		notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t	notify_len;

/*
 * Open the socket when $NOTIFY_SOCKET names one.  Returns 0 (also when it
 * is not set), or -1 when it is set but unusable (logged).
 */
int
notify_init(void)
{
	const char *p = getenv("NOTIFY_SOCKET");
	size_t n;

	if (p == NULL || p[0] == '\0')
		return 0;
	n = strlen(p);
	if ((p[0] != '/' && p[0] != '@') || n >= sizeof(notify_addr.sun_path)) {
		log_warn("NOTIFY_SOCKET=\"%s\": not an AF_UNIX socket path "
		    "or @name; no notifications", p);
		return -1;
	}
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, p, n);
	if (p[0] == '@')
		notify_addr.sun_path[0] = '\0';	/* the abstract namespace */
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd == -1) {
		log_warn("NOTIFY_SOCKET: %s; no notifications",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Send one message: lines "KEY=value", newline-separated. */
void
notify_send(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	if (notify_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (sendto(notify_fd, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_addr, notify_len) == -1)
		log_debug("NOTIFY_SOCKET: %s", strerror(errno));
}

void
notify_close(void)
{
	if (notify_fd != -1)
		close(notify_fd);
	notify_fd = -1;
}
