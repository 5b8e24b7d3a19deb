/*
 * Base64 decoding.  See base64.h.
 */
#include <string.h>

#include "base64.h"

static int
val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode in[0..len) into out (cap bytes).  Returns 0 with *outlen set, or
 * -1 for anything that is not canonical base64 or does not fit.
 */
int
base64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
    size_t *outlen)
{
	size_t i, o = 0, pad = 0;
	unsigned int acc = 0;
	int v, j;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		acc = 0;
		for (j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)in[i + (size_t)j];

			if (c == '=') {
				/* only in the last group, only at its end */
				if (i + 4 != len || j < 2)
					return -1;
				pad++;
				v = 0;
			} else {
				if (pad > 0 || (v = val(c)) < 0)
					return -1;
			}
			acc = acc << 6 | (unsigned int)v;
		}
		if (o + 3 - pad > cap)
			return -1;
		out[o++] = (unsigned char)(acc >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(acc >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)acc;
		/* the bits under the padding must be zero (canonical) */
		if ((pad == 1 && (acc & 0xff)) || (pad == 2 && (acc & 0xffff)))
			return -1;
	}
	*outlen = o;
	return 0;
}
