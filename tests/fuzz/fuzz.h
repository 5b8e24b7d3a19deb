/*
 * Helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * A target asserts invariants, not only "no crash": FUZZ_CHECK() prints
 * what was violated and aborts, which libFuzzer reports as a crash and
 * saves the input for.  Parsers are fed exactly sized heap copies, so
 * that ASan catches any read past the length they were given.
 */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant violated: %s: ",	\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* An exactly sized heap copy (one byte allocated for len 0).  The
   caller frees it. */
static inline void *
fuzz_dup(const void *p, size_t len)
{
	void *d = malloc(len > 0 ? len : 1);

	if (d == NULL)
		abort();
	if (len > 0)
		memcpy(d, p, len);
	return d;
}

/* An output buffer for the serialisers; aborts when it would overflow,
   which is a harness bug. */
struct fuzz_buf {
	uint8_t		b[1 << 17];
	size_t		len;
};

static inline void
fuzz_put(struct fuzz_buf *o, const void *p, size_t n)
{
	if (n > sizeof(o->b) - o->len)
		abort();
	memcpy(o->b + o->len, p, n);
	o->len += n;
}

static inline void
fuzz_putc(struct fuzz_buf *o, uint8_t c)
{
	fuzz_put(o, &c, 1);
}

static inline void
fuzz_puts(struct fuzz_buf *o, const char *s)
{
	fuzz_put(o, s, strlen(s));
}

#endif
