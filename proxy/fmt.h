/*
 * Decimal digits without printf, for the lines and heads built on hot
 * paths (access-log lines, HTTP heads, addresses, pool keys).
 */
#ifndef SLUICE_FMT_H
#define SLUICE_FMT_H

#include <stdint.h>

#define FMT_U64_LEN	20	/* digits of UINT64_MAX */

/* v in decimal, ending just before end; returns where its digits start. */
static inline char *
fmt_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

#endif
