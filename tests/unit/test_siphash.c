/*
 * Unit tests for SipHash-2-4: auth/siphash.c.
 *
 * The vectors are those of the reference implementation (vectors.h in
 * https://github.com/veorq/SipHash): key = bytes 00..0f, message of length
 * n = bytes 00..n-1, output bytes as the reference writes them (the 64-bit
 * value little-endian; the 128-bit output as 16 bytes).  Every message is
 * hashed from an exactly sized heap copy, so that ASan reports any read past
 * the length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "siphash.h"

#define NVEC	64

/* vectors_sip64[n]: output bytes for the n-byte message */
static const char *const vec64[NVEC] = {
	"310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d",
	"2d7efbd796666785", "b7877127e09427cf", "8da699cd64557618",
	"cee3fe586e46c9cb", "37d1018bf50002ab", "6224939a79f5f593",
	"b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",
	"fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7",
	"e545be4961ca29a1", "db9bc2577fcc2a3f", "9447be2cf5e99a69",
	"9cd38d96f0b3c14b", "bd6179a71dc96dbb", "98eea21af25cd6be",
	"c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",
	"94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817",
	"adcf6b0763612e2f", "a5c91da7acaa4dde", "716595876650a2a6",
	"28ef495c53a387ad", "42c341d8fa92d832", "ce7cf2722f512771",
	"e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",
	"b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca",
	"5c73336a76d8bf9a", "d0a704536ba93e0e", "925958fcd6420cad",
	"a915c29bc8067318", "952b79f3bc0aa6d4", "f21df2e41d4535f9",
	"87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",
	"51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee",
	"5a1645b276d592a1", "b274cb8ebf87870a", "6f9bb4203de7b381",
	"eaecb2a30b22a87f", "9924a43cc1315724", "bd838d3aafbf8db7",
	"0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",
	"e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5",
	"724506eb4c328a95",
};

/* vectors_sip128[n] */
static const char *const vec128[NVEC] = {
	"a3817f04ba25a8e66df67214c7550293", "da87c1d86b99af44347659119b22fc45",
	"8177228da4a45dc7fca38bdef60affe4", "9c70b60c5267a94e5f33b6b02985ed51",
	"f88164c12d9c8faf7d0f6e7c7bcd5579", "1368875980776f8854527a07690e9627",
	"14eeca338b208613485ea0308fd7a15e", "a1f1ebbed8dbc153c0b84aa61ff08239",
	"3b62a9ba6258f5610f83e264f31497b4", "264499060ad9baabc47f8b02bb6d71ed",
	"00110dc378146956c95447d3f3d0fbba", "0151c568386b6677a2b4dc6f81e5dc18",
	"d626b266905ef35882634df68532c125", "9869e247e9c08b10d029934fc4b952f7",
	"31fcefac66d7de9c7ec7485fe4494902", "5493e99933b0a8117e08ec0f97cfc3d9",
	"6ee2a4ca67b054bbfd3315bf85230577", "473d06e8738db89854c066c47ae47740",
	"a426e5e423bf4885294da481feaef723", "78017731cf65fab074d5208952512eb1",
	"9e25fc833f2290733e9344a5e83839eb", "568e495abe525a218a2214cd3e071d12",
	"4a29b54552d16b9a469c10528eff0aae", "c9d184ddd5a9f5e0cf8ce29a9abf691c",
	"2db479ae78bd50d8882a8a178a6132ad", "8ece5f042d5e447b5051b9eacb8d8f6f",
	"9c0b53b4b3c307e87eaee08678141f66", "abf248af69a6eae4bfd3eb2f129eeb94",
	"0664da1668574b88b935f3027358aef4", "aa4b9dc4bf337de90cd4fd3c467c6ab7",
	"ea5c7f471faf6bde2b1ad7d4686d2287", "2939b0183223fafc1723de4f52c43d35",
	"7c3956ca5eeafc3e363e9d556546eb68", "77c6077146f01c32b6b69d5f4ea9ffcf",
	"37a6986cb8847edf0925f0f1309b54de", "a705f0e69da9a8f907241a2e923c8cc8",
	"3dc47d1f29c448461e9e76ed904f6711", "0d62bf01e6fc0e1a0d3c4751c5d3692b",
	"8c03468bca7c669ee4fd5e084bbee7b5", "528a5bb93baf2c9c4473cce5d0d22bd9",
	"df6a301e95c95dad97ae0cc8c6913bd8", "801189902c857f39e73591285e70b6db",
	"e617346ac9c231bb3650ae34ccca0c5b", "27d93437efb721aa401821dcec5adf89",
	"89237d9ded9c5e78d8b1c9b166cc7342", "4a6d8091bf5e7d651189fa94a250b14c",
	"0e33f96055e7ae893ffc0e3dcf492902", "e61c432b720b19d18ec8d84bdc63151b",
	"f7e5aef549f782cf379055a608269b16", "438d030fd0b7a54fa837f2ad201a6403",
	"a590d3ee4fbf04e3247e0d27f286423f", "5fe2c1a172fe93c4b15cd37caef9f538",
	"2c97325cbd06b36eb2133dd08b3a017c", "92c814227a6bca949ff0659f002ad39e",
	"dce850110bd8328cfbd50841d6911d87", "67f14984c7da791248e32bb5922583da",
	"1938f2cf72d54ee97e94166fa91d2a36", "74481e9646ed49fe0f6224301604698e",
	"57fca5de98a9d6d8006438d0583d8a1d", "9fecde1cefdc1cbed4763674d9575359",
	"e3040c00eb28f15366ca73cbd872e740", "7697009a6a831dfecca91c5993670f7a",
	"5853542321f567a005d547a4f04759bd", "5150d1772f50834a503e069a973fbd7c",
};

/* key bytes 00..0f, loaded little-endian */
static const struct siphash_key ref_key = {
	0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL,
};

/* ----- helpers -------------------------------------------------------- */

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	unsigned int v;
	size_t i;

	assert_int_equal(strlen(s), 2 * n);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static uint64_t
load64_le(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The n-byte reference message 00 01 .. n-1 in an exactly sized copy. */
static uint8_t *
ref_message(size_t n)
{
	uint8_t *p;
	size_t i;

	p = malloc(n > 0 ? n : 1);
	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)i;
	return p;
}

static uint64_t
want64(size_t n)
{
	uint8_t b[8];

	unhex(vec64[n], b, sizeof(b));
	return load64_le(b);
}

/* ----- vectors -------------------------------------------------------- */

static void
test_sip64_paper_vectors(void **state)
{
	uint8_t *m;

	(void)state;
	m = ref_message(0);
	assert_int_equal(siphash64(&ref_key, m, 0), 0x726fdb47dd0e0e31ULL);
	free(m);
	/* the example in the SipHash paper, appendix A */
	m = ref_message(15);
	assert_int_equal(siphash64(&ref_key, m, 15), 0xa129ca6149be45e5ULL);
	free(m);
	m = ref_message(8);
	assert_int_equal(siphash64(&ref_key, m, 8), 0x93f5f5799a932462ULL);
	free(m);
}

static void
test_sip64_reference_vectors(void **state)
{
	uint64_t got;
	uint8_t *m;
	size_t n;

	(void)state;
	for (n = 0; n < NVEC; n++) {
		m = ref_message(n);
		got = siphash64(&ref_key, m, n);
		free(m);
		if (got != want64(n))
			fail_msg("%zu-byte message: %016llx, want %016llx", n,
			    (unsigned long long)got,
			    (unsigned long long)want64(n));
	}
}

static void
test_sip128_empty(void **state)
{
	static const uint8_t want[16] = {
		0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
		0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93,
	};
	uint8_t out[16], *m;

	(void)state;
	m = ref_message(0);
	memset(out, 0x5a, sizeof(out));
	siphash128(&ref_key, m, 0, out);
	free(m);
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_sip128_reference_vectors(void **state)
{
	uint8_t out[18], want[16], *m;
	size_t n;

	(void)state;
	for (n = 0; n < NVEC; n++) {
		unhex(vec128[n], want, sizeof(want));
		m = ref_message(n);
		memset(out, 0x5a, sizeof(out));
		siphash128(&ref_key, m, n, out);
		free(m);
		if (memcmp(out, want, sizeof(want)) != 0)
			fail_msg("%zu-byte message: 128-bit output differs "
			    "from vectors_sip128[%zu]", n, n);
		/* exactly 16 bytes written */
		assert_int_equal(out[16], 0x5a);
		assert_int_equal(out[17], 0x5a);
	}
}

/* The same bytes at every alignment give the same hash. */
static void
test_unaligned_input(void **state)
{
	uint8_t buf[64 + 8], out[16], want[16];
	size_t n, off, i;

	(void)state;
	for (n = 0; n < NVEC; n++) {
		unhex(vec128[n], want, sizeof(want));
		for (off = 1; off < 8; off++) {
			for (i = 0; i < n; i++)
				buf[off + i] = (uint8_t)i;
			if (siphash64(&ref_key, buf + off, n) != want64(n))
				fail_msg("64-bit, %zu bytes at offset %zu", n,
				    off);
			siphash128(&ref_key, buf + off, n, out);
			if (memcmp(out, want, sizeof(want)) != 0)
				fail_msg("128-bit, %zu bytes at offset %zu", n,
				    off);
		}
	}
}

/* ----- properties ----------------------------------------------------- */

static void
test_every_length_runs(void **state)
{
	uint64_t seen[65];
	uint8_t out[16], *m;
	size_t n, k;

	(void)state;
	for (n = 0; n <= 64; n++) {
		m = ref_message(n);
		seen[n] = siphash64(&ref_key, m, n);
		siphash128(&ref_key, m, n, out);
		/* the 128-bit variant is not the 64-bit one widened */
		assert_int_not_equal(load64_le(out), seen[n]);
		free(m);
		for (k = 0; k < n; k++)
			if (seen[k] == seen[n])
				fail_msg("lengths %zu and %zu collide", k, n);
	}
}

static void
test_trailing_zero_bytes_matter(void **state)
{
	static const uint8_t zeros[16];
	size_t n;

	/* the length is part of the hash: "" != "\0" != "\0\0" ... */
	(void)state;
	for (n = 0; n < sizeof(zeros); n++)
		assert_int_not_equal(siphash64(&ref_key, zeros, n),
		    siphash64(&ref_key, zeros, n + 1));
}

static void
test_different_keys(void **state)
{
	struct siphash_key k0 = ref_key, k1 = ref_key, k2 = ref_key;
	uint8_t a[16], b[16], c[16];
	const char *msg = "sluice";

	(void)state;
	k1.k0 ^= 1;
	k2.k1 ^= 0x8000000000000000ULL;
	assert_int_not_equal(siphash64(&k0, msg, 6), siphash64(&k1, msg, 6));
	assert_int_not_equal(siphash64(&k0, msg, 6), siphash64(&k2, msg, 6));
	assert_int_not_equal(siphash64(&k1, msg, 6), siphash64(&k2, msg, 6));
	siphash128(&k0, msg, 6, a);
	siphash128(&k1, msg, 6, b);
	siphash128(&k2, msg, 6, c);
	assert_memory_not_equal(a, b, 16);
	assert_memory_not_equal(a, c, 16);
	assert_memory_not_equal(b, c, 16);
	/* and the same key gives the same output */
	siphash128(&k1, msg, 6, c);
	assert_memory_equal(b, c, 16);
	assert_int_equal(siphash64(&k2, msg, 6), siphash64(&k2, msg, 6));
}

static void
test_key_random(void **state)
{
	struct siphash_key a, b;
	const char *msg = "x";

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(siphash_key_random(&a), 0);
	assert_int_equal(siphash_key_random(&b), 0);
	assert_memory_not_equal(&a, &b, sizeof(a));
	assert_false(a.k0 == 0 && a.k1 == 0);
	assert_int_not_equal(siphash64(&a, msg, 1), siphash64(&b, msg, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sip64_paper_vectors),
		cmocka_unit_test(test_sip64_reference_vectors),
		cmocka_unit_test(test_sip128_empty),
		cmocka_unit_test(test_sip128_reference_vectors),
		cmocka_unit_test(test_unaligned_input),
		cmocka_unit_test(test_every_length_runs),
		cmocka_unit_test(test_trailing_zero_bytes_matter),
		cmocka_unit_test(test_different_keys),
		cmocka_unit_test(test_key_random),
	};

	return cmocka_run_group_tests_name("siphash", tests, NULL, NULL);
}
