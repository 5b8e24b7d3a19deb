/*
 * Leaving root: once the listeners are bound and the logs open, switch to
 * the configured user and group for good.
 */
#ifndef SLUICE_PRIVS_H
#define SLUICE_PRIVS_H

#include <stddef.h>

int	privs_drop(const char *, const char *, const char *const *, char *,
	    size_t);

#endif
