/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash, used where an
 * attacker chooses the input: hash tables keyed by client addresses and host
 * names (no hash flooding), and password digests compared in constant time.
 */
#ifndef SLUICE_SIPHASH_H
#define SLUICE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
	uint64_t	k0, k1;
};

uint64_t	siphash64(const struct siphash_key *, const void *, size_t);
void		siphash128(const struct siphash_key *, const void *, size_t,
		    uint8_t out[16]);
int		siphash_key_random(struct siphash_key *);

#endif
