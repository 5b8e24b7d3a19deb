/*
 * SipHash-2-4 with 64- and 128-bit output, written from the paper
 * ("SipHash: a fast short-input PRF", §2 and the 128-bit variant of the
 * reference implementation's specification).
 */
#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include "siphash.h"

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

struct sipstate {
	uint64_t	v0, v1, v2, v3;
};

static inline void
sipround(struct sipstate *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static inline uint64_t
load64_le(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56;
}

static inline void
store64_le(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Initialisation and compression of every message block. */
static void
sip_absorb(struct sipstate *s, const struct siphash_key *k, const uint8_t *in,
    size_t len, int wide)
{
	const uint8_t *end = in + (len & ~(size_t)7);
	uint64_t m, b = (uint64_t)len << 56;
	size_t left = len & 7;

	s->v0 = k->k0 ^ 0x736f6d6570736575ULL;
	s->v1 = k->k1 ^ 0x646f72616e646f6dULL;
	s->v2 = k->k0 ^ 0x6c7967656e657261ULL;
	s->v3 = k->k1 ^ 0x7465646279746573ULL;
	if (wide)
		s->v1 ^= 0xee;
	for (; in != end; in += 8) {
		m = load64_le(in);
		s->v3 ^= m;
		sipround(s);
		sipround(s);
		s->v0 ^= m;
	}
	switch (left) {
	case 7: b |= (uint64_t)in[6] << 48; /* FALLTHROUGH */
	case 6: b |= (uint64_t)in[5] << 40; /* FALLTHROUGH */
	case 5: b |= (uint64_t)in[4] << 32; /* FALLTHROUGH */
	case 4: b |= (uint64_t)in[3] << 24; /* FALLTHROUGH */
	case 3: b |= (uint64_t)in[2] << 16; /* FALLTHROUGH */
	case 2: b |= (uint64_t)in[1] << 8;  /* FALLTHROUGH */
	case 1: b |= (uint64_t)in[0];       break;
	case 0: break;
	}
	s->v3 ^= b;
	sipround(s);
	sipround(s);
	s->v0 ^= b;
}

static uint64_t
sip_final(struct sipstate *s, uint8_t xorv2)
{
	s->v2 ^= xorv2;
	sipround(s);
	sipround(s);
	sipround(s);
	sipround(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/*
 * 64-bit SipHash-2-4 of in[0..len).
 */
uint64_t
siphash64(const struct siphash_key *k, const void *in, size_t len)
{
	struct sipstate s;

	sip_absorb(&s, k, in, len, 0);
	return sip_final(&s, 0xff);
}

/*
 * 128-bit SipHash-2-4 of in[0..len) into out, little-endian.
 */
void
siphash128(const struct siphash_key *k, const void *in, size_t len,
    uint8_t out[16])
{
	struct sipstate s;

	sip_absorb(&s, k, in, len, 1);
	store64_le(out, sip_final(&s, 0xee));
	s.v1 ^= 0xdd;
	sipround(&s);
	sipround(&s);
	sipround(&s);
	sipround(&s);
	store64_le(out + 8, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
}

/*
 * A fresh random key from the kernel.  Returns 0, or -1 (errno set).
 */
int
siphash_key_random(struct siphash_key *k)
{
	uint8_t b[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(b)) {
		n = getrandom(b + got, sizeof(b) - got, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	k->k0 = load64_le(b);
	k->k1 = load64_le(b + 8);
	return 0;
}
