/*
 * Unit tests for the strict base64 decoder (RFC 4648 §4): auth/base64.c.
 *
 * Every input is decoded from an exactly sized heap copy, and every output
 * goes to an exactly sized heap buffer, so that ASan reports a read past
 * the input length or a write past the capacity the decoder was given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"

#define OUTLEN_UNSET	((size_t)0xdeadbeef)

/* An exactly sized heap copy (at least 1 byte allocated for len 0). */
static char *
dup_bytes(const char *buf, size_t len)
{
	char *p;

	p = malloc(len > 0 ? len : 1);
	assert_non_null(p);
	if (len > 0)
		memcpy(p, buf, len);
	return p;
}

/*
 * Decode in[0..len) into a heap buffer of exactly cap bytes.  The decoded
 * bytes are copied to out (which must hold cap bytes) for the caller.
 */
static int
decode(const char *in, size_t len, unsigned char *out, size_t cap,
    size_t *outlen)
{
	unsigned char *o;
	char *p;
	int rc;

	p = dup_bytes(in, len);
	o = malloc(cap > 0 ? cap : 1);
	assert_non_null(o);
	*outlen = OUTLEN_UNSET;
	rc = base64_decode(p, len, o, cap, outlen);
	if (rc == 0 && *outlen <= cap && *outlen > 0)
		memcpy(out, o, *outlen);
	free(o);
	free(p);
	return rc;
}

/* in decodes to want[0..wlen), with a generous and an exact buffer. */
static void
check_decodes(const char *in, const char *want, size_t wlen)
{
	unsigned char out[512];
	size_t outlen;

	if (decode(in, strlen(in), out, sizeof(out), &outlen) != 0)
		fail_msg("\"%s\": rejected", in);
	assert_int_equal(outlen, wlen);
	assert_memory_equal(out, want, wlen);
	/* a buffer of exactly the decoded size is enough */
	memset(out, 0, sizeof(out));
	if (decode(in, strlen(in), out, wlen, &outlen) != 0)
		fail_msg("\"%s\": rejected with an exact buffer of %zu", in,
		    wlen);
	assert_int_equal(outlen, wlen);
	assert_memory_equal(out, want, wlen);
}

static void
check_rejected_n(const char *in, size_t len)
{
	unsigned char out[512];
	size_t outlen;

	if (decode(in, len, out, sizeof(out), &outlen) != -1)
		fail_msg("\"%.*s\" (%zu bytes): accepted, %zu bytes out",
		    (int)len, in, len, outlen);
}

static void
check_rejected(const char *in)
{
	check_rejected_n(in, strlen(in));
}

/* RFC 4648 §10 */
static void
test_rfc4648_vectors(void **state)
{
	(void)state;
	check_decodes("", "", 0);
	check_decodes("Zg==", "f", 1);
	check_decodes("Zm8=", "fo", 2);
	check_decodes("Zm9v", "foo", 3);
	check_decodes("Zm9vYg==", "foob", 4);
	check_decodes("Zm9vYmE=", "fooba", 5);
	check_decodes("Zm9vYmFy", "foobar", 6);
}

static void
test_empty_input(void **state)
{
	unsigned char out[1];
	size_t outlen = OUTLEN_UNSET;
	char in[1] = { 'x' };

	(void)state;
	assert_int_equal(base64_decode(in, 0, out, 0, &outlen), 0);
	assert_int_equal(outlen, 0);
}

static void
test_basic_credentials(void **state)
{
	(void)state;
	check_decodes("YWxpY2U6c2VjcmV0", "alice:secret", 12);
	check_decodes("Ym9iOg==", "bob:", 4);
	check_decodes("OnB3", ":pw", 3);
}

static void
test_whole_alphabet(void **state)
{
	(void)state;
	check_decodes("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/",
	    "\x00\x10\x83\x10\x51\x87\x20\x92\x8b\x30\xd3\x8f\x41\x14\x93"
	    "\x51\x55\x97\x61\x96\x9b\x71\xd7\x9f\x82\x18\xa3\x92\x59\xa7"
	    "\xa2\x9a\xab\xb2\xdb\xaf\xc3\x1c\xb3\xd3\x5d\xb7\xe3\x9e\xbb"
	    "\xf3\xdf\xbf", 48);
	check_decodes("AAECAwQFBgcICQ==",
	    "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", 10);
	check_decodes("////", "\xff\xff\xff", 3);
	check_decodes("AAAA", "\x00\x00\x00", 3);
}

static void
test_length_not_multiple_of_4(void **state)
{
	(void)state;
	check_rejected("Z");
	check_rejected("Zg");
	check_rejected("Zg=");
	check_rejected("Zm9");
	check_rejected("Zm9vY");
	check_rejected("Zm9vYg");
	check_rejected("Zm9vYg=");
	check_rejected("Zm9vYmFy=");
	check_rejected("YWxpY2U6c2VjcmV0A");
}

static void
test_bad_characters(void **state)
{
	(void)state;
	check_rejected("Zm9!");
	check_rejected("!m9v");
	check_rejected("Zm 9");
	check_rejected("Zm9 ");
	check_rejected(" Zm9");
	check_rejected("Zm9\n");
	check_rejected("Zm9v\r\nYmFy");
	check_rejected("Zm9v\nYmFy");
	check_rejected("Zm9\t");
	/* the URL-safe alphabet (RFC 4648 §5) is not base64 */
	check_rejected("Zm-_");
	check_rejected("____");
	check_rejected("----");
	check_rejected("Zm9.");
	check_rejected("Zm9:");
	check_rejected("Zm9\x80");
	check_rejected("\xff\xff\xff\xff");
	check_rejected_n("Zm\0v", 4);
	check_rejected_n("Zm9v\0\0\0\0", 8);
}

static void
test_padding_in_the_middle(void **state)
{
	(void)state;
	check_rejected("Zg==Zg==");
	check_rejected("Zm8=Zm8=");
	check_rejected("Zg==Zm9v");
	check_rejected("Zm9v====");
	check_rejected("Zm9v=m9v");
	check_rejected("Zg=a");
	check_rejected("Z=g=");
	check_rejected("Zm=v");
}

static void
test_padding_in_wrong_places(void **state)
{
	(void)state;
	check_rejected("Z===");
	check_rejected("====");
	check_rejected("=Zg=");
	check_rejected("==Zg");
	check_rejected("Zm9vZ===");
	check_rejected("Zm9v====");
}

/* RFC 4648 §3.5: the pad bits must be zero for a canonical encoding */
static void
test_non_canonical_padding_bits(void **state)
{
	(void)state;
	check_decodes("Zg==", "f", 1);
	check_rejected("Zh==");
	check_rejected("Zi==");
	check_rejected("Zv==");
	check_decodes("Zm8=", "fo", 2);
	check_rejected("Zm9=");
	check_rejected("Zm/=");
	check_rejected("Zm9vYh==");
	check_rejected("Zm9vYmF=");
	/* "QQ==" is "A"; "QR==" .. "QZ==" differ only in the pad bits */
	check_decodes("QQ==", "A", 1);
	check_rejected("QR==");
	check_rejected("QZ==");
	check_rejected("Q/==");
}

static void
test_output_too_small(void **state)
{
	unsigned char out[16];
	size_t outlen;

	(void)state;
	assert_int_equal(decode("Zm9vYmFy", 8, out, 5, &outlen), -1);
	assert_int_equal(decode("Zm9vYmFy", 8, out, 0, &outlen), -1);
	assert_int_equal(decode("Zm9vYg==", 8, out, 3, &outlen), -1);
	assert_int_equal(decode("Zm9vYmE=", 8, out, 4, &outlen), -1);
	assert_int_equal(decode("Zg==", 4, out, 0, &outlen), -1);
	assert_int_equal(decode("YWxpY2U6c2VjcmV0", 16, out, 11, &outlen), -1);
}

static void
test_output_exact_fit(void **state)
{
	unsigned char out[16];
	size_t outlen;

	(void)state;
	assert_int_equal(decode("Zm9vYmFy", 8, out, 6, &outlen), 0);
	assert_int_equal(outlen, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(decode("Zm9vYg==", 8, out, 4, &outlen), 0);
	assert_int_equal(outlen, 4);
	assert_memory_equal(out, "foob", 4);
	assert_int_equal(decode("Zm9vYmE=", 8, out, 5, &outlen), 0);
	assert_int_equal(outlen, 5);
	assert_memory_equal(out, "fooba", 5);
	assert_int_equal(decode("Zg==", 4, out, 1, &outlen), 0);
	assert_int_equal(outlen, 1);
	assert_memory_equal(out, "f", 1);
	assert_int_equal(decode("YWxpY2U6c2VjcmV0", 16, out, 12, &outlen), 0);
	assert_int_equal(outlen, 12);
	assert_memory_equal(out, "alice:secret", 12);
}

/* Only the len bytes given are decoded: what follows does not matter. */
static void
test_uses_length(void **state)
{
	unsigned char out[16];
	size_t outlen = OUTLEN_UNSET;

	(void)state;
	assert_int_equal(base64_decode("Zm9vYmFy!!!!", 8, out, sizeof(out),
	    &outlen), 0);
	assert_int_equal(outlen, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(base64_decode("Zm9vYmFy", 4, out, sizeof(out),
	    &outlen), 0);
	assert_int_equal(outlen, 3);
	assert_memory_equal(out, "foo", 3);
}

/* Every 1..3 byte string round-trips through a reference encoder. */
static void
encode_ref(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/";
	uint32_t v;
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

static void
test_round_trip_two_bytes(void **state)
{
	unsigned char in[2], out[4];
	char enc[8];
	size_t outlen;
	unsigned v;

	(void)state;
	for (v = 0; v < 65536; v++) {
		in[0] = (unsigned char)(v >> 8);
		in[1] = (unsigned char)v;
		encode_ref(in, 1, enc);
		if (base64_decode(enc, 4, out, 1, &outlen) != 0 ||
		    outlen != 1 || out[0] != in[0])
			fail_msg("\"%s\" did not decode to 0x%02x", enc, in[0]);
		encode_ref(in, 2, enc);
		if (base64_decode(enc, 4, out, 2, &outlen) != 0 ||
		    outlen != 2 || memcmp(out, in, 2) != 0)
			fail_msg("\"%s\" did not decode to 0x%02x%02x", enc,
			    in[0], in[1]);
	}
}

/* Exhaustively: "XY==" and "XYZ=" are accepted iff the pad bits are 0. */
static void
test_pad_bits_exhaustive(void **state)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/";
	unsigned char out[2];
	char in[4];
	size_t outlen;
	int x, y, z, rc;

	(void)state;
	for (x = 0; x < 64; x++) {
		for (y = 0; y < 64; y++) {
			in[0] = a[x];
			in[1] = a[y];
			in[2] = in[3] = '=';
			rc = base64_decode(in, 4, out, 1, &outlen);
			if (rc != ((y & 0x0f) == 0 ? 0 : -1))
				fail_msg("\"%.4s\": %d", in, rc);
			if (rc == 0 && (outlen != 1 ||
			    out[0] != (unsigned char)(x << 2 | y >> 4)))
				fail_msg("\"%.4s\": wrong byte", in);
			for (z = 0; z < 64; z++) {
				in[2] = a[z];
				rc = base64_decode(in, 4, out, 2, &outlen);
				if (rc != ((z & 0x03) == 0 ? 0 : -1))
					fail_msg("\"%.4s\": %d", in, rc);
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_basic_credentials),
		cmocka_unit_test(test_whole_alphabet),
		cmocka_unit_test(test_length_not_multiple_of_4),
		cmocka_unit_test(test_bad_characters),
		cmocka_unit_test(test_padding_in_the_middle),
		cmocka_unit_test(test_padding_in_wrong_places),
		cmocka_unit_test(test_non_canonical_padding_bits),
		cmocka_unit_test(test_output_too_small),
		cmocka_unit_test(test_output_exact_fit),
		cmocka_unit_test(test_uses_length),
		cmocka_unit_test(test_round_trip_two_bytes),
		cmocka_unit_test(test_pad_bits_exhaustive),
	};

	return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
