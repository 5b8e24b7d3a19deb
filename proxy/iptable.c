/*
 * Tables keyed by client IP address: see iptable.h.
 */
#include <stdlib.h>
#include <string.h>

#include "iptable.h"

/*
 * An empty table of nbuckets (a power of two) for entries of esize bytes
 * (at least sizeof(struct iptable_entry)).  Returns 0, or -1 (ENOMEM, no
 * random key).
 */
int
iptable_init(struct iptable *t, size_t nbuckets, size_t esize)
{
	memset(t, 0, sizeof(*t));
	if (siphash_key_random(&t->key) == -1)
		return -1;
	t->nbuckets = nbuckets;
	t->esize = esize;
	t->buckets = calloc(nbuckets, sizeof(*t->buckets));
	return t->buckets == NULL ? -1 : 0;
}

void
iptable_free(struct iptable *t)
{
	struct iptable_entry *e;
	size_t i;

	for (i = 0; t->buckets != NULL && i < t->nbuckets; i++)
		while ((e = t->buckets[i]) != NULL) {
			t->buckets[i] = e->next;
			free(e);
		}
	free(t->buckets);
	t->buckets = NULL;
	t->count = 0;
}

/* The address without its port, and its bucket. */
static struct iptable_entry **
bucket(struct iptable *t, const union sockaddr_u *a, union sockaddr_u *key)
{
	uint64_t h;

	memset(key, 0, sizeof(*key));
	key->sa.sa_family = a->sa.sa_family;
	if (a->sa.sa_family == AF_INET) {
		key->in.sin_addr = a->in.sin_addr;
		h = siphash64(&t->key, &key->in.sin_addr, 4);
	} else {
		key->in6.sin6_addr = a->in6.sin6_addr;
		h = siphash64(&t->key, &key->in6.sin6_addr, 16);
	}
	return &t->buckets[h & (t->nbuckets - 1)];
}

/*
 * The entry for a's address; when there is none, a new zeroed one if
 * create, else NULL.  NULL also when memory runs out.
 */
void *
iptable_get(struct iptable *t, const union sockaddr_u *a, int create)
{
	struct iptable_entry **pp, *e;
	union sockaddr_u key;

	pp = bucket(t, a, &key);
	for (e = *pp; e != NULL; e = e->next)
		if (netaddr_ip_equal(&e->addr, &key))
			return e;
	if (!create || (e = calloc(1, t->esize)) == NULL)
		return NULL;
	e->addr = key;
	e->next = *pp;
	*pp = e;
	t->count++;
	return e;
}

/*
 * Unlink and free an entry iptable_get() returned.
 */
void
iptable_remove(struct iptable *t, void *entry)
{
	struct iptable_entry *e = entry, **pp;
	union sockaddr_u key;

	pp = bucket(t, &e->addr, &key);
	while (*pp != NULL && *pp != e)
		pp = &(*pp)->next;
	if (*pp == NULL)
		return;
	*pp = e->next;
	free(e);
	t->count--;
}

/*
 * Remove every entry for which drop(entry, arg) returns 1.
 */
void
iptable_sweep(struct iptable *t, int (*drop)(void *, void *), void *arg)
{
	struct iptable_entry **pp, *e;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		pp = &t->buckets[i];
		while ((e = *pp) != NULL) {
			if (drop(e, arg)) {
				*pp = e->next;
				free(e);
				t->count--;
			} else
				pp = &e->next;
		}
	}
}
