/*
 * The systemd notification protocol (sd_notify(3)), without libsystemd:
 * datagrams "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..." to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" in the
 * abstract namespace).  Silent when the variable is not set.
 */
#ifndef SLUICE_NOTIFY_H
#define SLUICE_NOTIFY_H

int	notify_init(void);
void	notify_send(const char *, ...) __attribute__((format(printf, 1, 2)));
void	notify_close(void);

#endif
