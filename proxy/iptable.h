/*
 * A hash table keyed by client IP address (the port is ignored; IPv4 and
 * IPv6 are distinct), with a keyed hash so clients cannot flood one
 * bucket.  Entries are the caller's structs, of a fixed size given at
 * init, beginning with a struct iptable_entry; they are created zeroed on
 * demand and freed by iptable_remove().  Per-client session counts and the
 * addresses remembered after an HTTP login live in such tables.
 */
#ifndef SLUICE_IPTABLE_H
#define SLUICE_IPTABLE_H

#include <stddef.h>

#include "netaddr.h"
#include "../auth/siphash.h"

struct iptable_entry {
	struct iptable_entry *next;	/* bucket chain */
	union sockaddr_u addr;		/* the address, port 0 */
};

struct iptable {
	struct iptable_entry **buckets;
	size_t		nbuckets;	/* power of two */
	size_t		count;		/* entries */
	size_t		esize;		/* size of the caller's entries */
	struct siphash_key key;
};

int	iptable_init(struct iptable *, size_t, size_t);
void	iptable_free(struct iptable *);
void	*iptable_get(struct iptable *, const union sockaddr_u *, int);
void	iptable_remove(struct iptable *, void *);
void	iptable_sweep(struct iptable *, int (*)(void *, void *), void *);

#endif
