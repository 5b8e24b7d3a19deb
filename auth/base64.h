/*
 * Base64 (RFC 4648 §4) decoding, strict: the alphabet, padding only at the
 * end and only to a multiple of four.  Used for HTTP Basic credentials.
 */
#ifndef SLUICE_BASE64_H
#define SLUICE_BASE64_H

#include <stddef.h>

int	base64_decode(const char *, size_t, unsigned char *, size_t, size_t *);

#endif
