/*
 * Unit tests for proxy/pkgcheck.c: which linked libraries a dpkg status
 * file shows to have moved on, over status texts written here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pkgcheck.h"

/* what a static build on Debian 12 records (contrib/linkinfo.sh) */
static const struct pkg_linked LINKED[] = {
	{ "libevent", "2.1.12-stable-8+deb12u1", "amd64", "libevent_core.a" },
	{ "c-ares", "1.18.1-3", "amd64", "libcares.a" },
	{ "libconfig", "1.5-0.4", "amd64", "libconfig.a" },
	{ "libxcrypt", "1:4.4.33-2", "amd64", "libcrypt.a" },
	{ "glibc", "2.36-9+deb12u14", "amd64", "libc.a" },
	{ NULL, NULL, NULL, NULL }
};

/* the packages of those sources as dpkg lists them, versions as linked */
static const char CURRENT[] =
    "Package: libc6\n"
    "Status: install ok installed\n"
    "Priority: optional\n"
    "Architecture: amd64\n"
    "Multi-Arch: same\n"
    "Source: glibc\n"
    "Version: 2.36-9+deb12u14\n"
    "Depends: libgcc-s1\n"
    "Conffiles:\n"
    " /etc/ld.so.conf.d/x86_64-linux-gnu.conf d4e7a7b88a71b5ffd9e2644e71a0cfab\n"
    "Description: GNU C Library: Shared libraries\n"
    " Contains the standard libraries that are used by nearly all programs on\n"
    " .\n"
    " Version: 9.9 in a description is not a field\n"
    "\n"
    "Package: libc-ares2\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Source: c-ares\n"
    "Version: 1.18.1-3\n"
    "Description: asynchronous name resolver\n"
    "\n"
    "Package: libevent-core-2.1-7\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Source: libevent\n"
    "Version: 2.1.12-stable-8+deb12u1\n"
    "\n"
    "Package: libconfig9\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Source: libconfig\n"
    "Version: 1.5-0.4\n"
    "\n"
    "Package: libcrypt1\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Source: libxcrypt\n"
    "Version: 1:4.4.33-2\n"
    "\n"
    "Package: curl\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Version: 7.88.1-10+deb12u14\n";

/* text scanned line by line, as pkgcheck_file() does */
static int
scan(const char *text, const struct pkg_linked *linked,
    struct pkg_stale *out, int max)
{
	struct pkgscan s;
	const char *p = text, *nl;

	pkgscan_init(&s, linked, out, max);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		pkgscan_line(&s, p, nl != NULL ? (size_t)(nl - p + 1) :
		    strlen(p), 0);
		p = nl != NULL ? nl + 1 : p + strlen(p);
	}
	return pkgscan_end(&s);
}

/* CURRENT with the text s appended as one more paragraph */
static char *
with(const char *s)
{
	size_t n = strlen(CURRENT) + strlen(s) + 3;
	char *t = malloc(n);

	assert_non_null(t);
	snprintf(t, n, "%s\n%s", CURRENT, s);
	return t;
}

static void
test_current(void **state)
{
	struct pkg_stale st[PKG_STALE_MAX];

	(void)state;
	assert_int_equal(scan(CURRENT, LINKED, st, PKG_STALE_MAX), 0);
	/* nothing linked: nothing to compare */
	assert_int_equal(scan(CURRENT, LINKED + 5, st, PKG_STALE_MAX), 0);
	assert_int_equal(scan(CURRENT, NULL, st, PKG_STALE_MAX), 0);
	assert_int_equal(scan("", LINKED, st, PKG_STALE_MAX), 0);
}

static void
test_upgraded(void **state)
{
	struct pkg_stale st[PKG_STALE_MAX];
	char *t = with("Package: libc-ares-dev\n"
	    "Status: install ok installed\n"
	    "Architecture: amd64\n"
	    "Source: c-ares\n"
	    "Version: 1.18.1-3+deb12u1\n");

	(void)state;
	assert_int_equal(scan(t, LINKED, st, PKG_STALE_MAX), 1);
	assert_ptr_equal(st[0].linked, &LINKED[1]);
	assert_string_equal(st[0].package, "libc-ares-dev");
	assert_string_equal(st[0].version, "1.18.1-3+deb12u1");
	free(t);

	/* an older version differs just as well (a downgrade, a pin) */
	t = with("Package: libconfig-dev\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: libconfig\nVersion: 1.5-0.3\n");
	assert_int_equal(scan(t, LINKED, st, PKG_STALE_MAX), 1);
	assert_ptr_equal(st[0].linked, &LINKED[2]);
	assert_string_equal(st[0].version, "1.5-0.3");
	free(t);

	/* an epoch is part of the version */
	t = with("Package: libcrypt-dev\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: libxcrypt\nVersion: 2:4.4.33-2\n");
	assert_int_equal(scan(t, LINKED, st, PKG_STALE_MAX), 1);
	assert_string_equal(st[0].package, "libcrypt-dev");
	free(t);
}

/* a binNMU: the binary's version has a suffix, the source's is in () */
static void
test_source_version(void **state)
{
	struct pkg_stale st[PKG_STALE_MAX];
	char *t = with("Package: libc-bin\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: glibc (2.36-9+deb12u14)\n"
	    "Version: 2.36-9+deb12u14+b1\n");

	(void)state;
	assert_int_equal(scan(t, LINKED, st, PKG_STALE_MAX), 0);
	free(t);
	t = with("Package: libc-bin\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: glibc (2.36-9+deb12u15)\n"
	    "Version: 2.36-9+deb12u14\n");
	assert_int_equal(scan(t, LINKED, st, PKG_STALE_MAX), 1);
	assert_ptr_equal(st[0].linked, &LINKED[4]);
	assert_string_equal(st[0].version, "2.36-9+deb12u15");
	free(t);
	/* no Source field: the source is named as the package */
	t = with("Package: libconfig\nStatus: install ok installed\n"
	    "Architecture: amd64\nVersion: 1.7.3-1\n");
	assert_int_equal(scan(t, LINKED, st, PKG_STALE_MAX), 1);
	assert_string_equal(st[0].package, "libconfig");
	free(t);
	/* not the form dpkg writes: the paragraph is not guessed at */
	t = with("Package: libc-bin\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: glibc 2.37\nVersion: 2.37-1\n");
	assert_int_equal(scan(t, LINKED, st, PKG_STALE_MAX), 0);
	free(t);
	t = with("Package: libc-bin\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: glibc (2.37\nVersion: 2.37-1\n");
	assert_int_equal(scan(t, LINKED, st, PKG_STALE_MAX), 0);
	free(t);
}

static void
test_status(void **state)
{
	static const struct {
		const char	*status;
		int		 counts;
	} cases[] = {
		{ "install ok installed", 1 },
		{ "hold ok installed", 1 },
		{ "install ok unpacked", 1 },
		{ "install ok half-configured", 1 },
		{ "install ok triggers-pending", 1 },
		{ "install ok triggers-awaited", 1 },
		{ "deinstall ok config-files", 0 },
		{ "purge ok not-installed", 0 },
		{ "install reinstreq half-installed", 0 },
		{ "install ok installedx", 0 },
		{ "install ok", 0 },
		{ "", 0 },
	};
	struct pkg_stale st[PKG_STALE_MAX];
	char buf[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "Package: libc-ares2\n"
		    "Status: %s\nArchitecture: amd64\nSource: c-ares\n"
		    "Version: 1.19.0-1\n", cases[i].status);
		if (scan(buf, LINKED, st, PKG_STALE_MAX) != cases[i].counts)
			fail_msg("Status: %s", cases[i].status);
	}
	/* no Status at all: not known to be there */
	assert_int_equal(scan("Package: libc-ares2\nArchitecture: amd64\n"
	    "Source: c-ares\nVersion: 1.19.0-1\n", LINKED, st, 8), 0);
}

static void
test_architecture(void **state)
{
	struct pkg_stale st[PKG_STALE_MAX];
	char buf[256];
#define ARCH(a)	snprintf(buf, sizeof(buf), "Package: libc6\n" \
		    "Status: install ok installed\nArchitecture: %s\n" \
		    "Source: glibc\nVersion: 2.36-9+deb12u15\n", a)

	(void)state;
	ARCH("i386");		/* another architecture's copy */
	assert_int_equal(scan(buf, LINKED, st, PKG_STALE_MAX), 0);
	ARCH("all");		/* locales, libc-l10n */
	assert_int_equal(scan(buf, LINKED, st, PKG_STALE_MAX), 1);
	ARCH("amd64");
	assert_int_equal(scan(buf, LINKED, st, PKG_STALE_MAX), 1);
#undef ARCH
}

/* each source once; never more than max */
static void
test_once_and_max(void **state)
{
	struct pkg_stale st[PKG_STALE_MAX];
	static const char T[] =
	    "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
	    "Source: glibc\nVersion: 2.36-9+deb12u15\n\n"
	    "Package: libc6-dev\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u15\n\n"
	    "Package: libc-ares2\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: c-ares\nVersion: 1.19.0-1\n\n"
	    "Package: libevent-core-2.1-7\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: libevent\nVersion: 2.1.12-stable-9\n";

	(void)state;
	assert_int_equal(scan(T, LINKED, st, PKG_STALE_MAX), 3);
	assert_ptr_equal(st[0].linked, &LINKED[4]);
	assert_string_equal(st[0].package, "libc6");
	assert_ptr_equal(st[1].linked, &LINKED[1]);
	assert_ptr_equal(st[2].linked, &LINKED[0]);
	assert_int_equal(scan(T, LINKED, st, 2), 2);
	assert_int_equal(scan(T, LINKED, st, 0), 0);
}

/* line endings, blank lines of spaces, case, missing last newline */
static void
test_lines(void **state)
{
	struct pkg_stale st[PKG_STALE_MAX];

	(void)state;
	assert_int_equal(scan("Package: libc-ares2\r\n"
	    "Status: install ok installed\r\nArchitecture: amd64\r\n"
	    "Source: c-ares\r\nVersion: 1.19.0-1\r\n\r\n", LINKED, st, 8), 1);
	assert_string_equal(st[0].version, "1.19.0-1");
	assert_int_equal(scan("package:libc-ares2\nSTATUS:  install ok "
	    "installed \nArchitecture:\tamd64\nsource: c-ares\n"
	    "VERSION: 1.19.0-1\t", LINKED, st, 8), 1);
	assert_string_equal(st[0].package, "libc-ares2");
	assert_string_equal(st[0].version, "1.19.0-1");
	/* a line of spaces ends a paragraph as an empty one does */
	assert_int_equal(scan("Package: libc-ares2\nStatus: install ok "
	    "installed\nSource: c-ares\nVersion: 1.19.0-1\n \t \n"
	    "Package: x\nVersion: 1.18.1-3\n", LINKED, st, 8), 1);
	assert_string_equal(st[0].package, "libc-ares2");
	/* fields from two paragraphs are never mixed */
	assert_int_equal(scan("Package: libc-ares2\nStatus: install ok "
	    "installed\nSource: c-ares\n\nVersion: 1.19.0-1\n", LINKED,
	    st, 8), 0);
	/* continuation lines are not fields */
	assert_int_equal(scan("Package: libc-ares2\nStatus: install ok "
	    "installed\nSource: c-ares\nVersion: 1.18.1-3\nDescription: x\n"
	    " Version: 9\n\tVersion: 9\n", LINKED, st, 8), 0);
}

/* too long or broken: that paragraph skipped, the next ones read */
static void
test_malformed(void **state)
{
	struct pkg_stale st[PKG_STALE_MAX];
	char *big, *t;
	size_t n = 100000, k;

	(void)state;
	big = malloc(n + 200);
	assert_non_null(big);
	/* a Version of 100,000 bytes, then a good paragraph */
	k = (size_t)sprintf(big, "Package: libc-ares2\nStatus: install ok "
	    "installed\nSource: c-ares\nVersion: ");
	memset(big + k, '9', n);
	strcpy(big + k + n, "\n\nPackage: libconfig9\nStatus: install ok "
	    "installed\nSource: libconfig\nVersion: 1.7-1\n");
	assert_int_equal(scan(big, LINKED, st, 8), 1);
	assert_ptr_equal(st[0].linked, &LINKED[2]);
	free(big);

	/* a value of PKG_FIELD - 1 bytes fits, PKG_FIELD does not */
	t = malloc(512);
	assert_non_null(t);
	snprintf(t, 512, "Package: %0*d\nStatus: install ok installed\n"
	    "Version: 1\n", PKG_FIELD - 1, 0);
	{
		char src[PKG_FIELD];
		struct pkg_linked l[2] = { { src, "0", "", "x.a" },
		    { NULL, NULL, NULL, NULL } };

		memset(src, '0', PKG_FIELD - 1);
		src[PKG_FIELD - 1] = '\0';
		assert_int_equal(scan(t, l, st, 8), 1);
		assert_int_equal(strlen(st[0].package), PKG_FIELD - 1);
		char big_src[PKG_FIELD + 1];

		/* one byte more: skipped, even when the source is named so */
		memset(big_src, '0', PKG_FIELD);
		big_src[PKG_FIELD] = '\0';
		l[0].source = big_src;
		snprintf(t, 512, "Package: %0*d\nStatus: install ok "
		    "installed\nVersion: 1\n", PKG_FIELD, 0);
		assert_int_equal(scan(t, l, st, 8), 0);
	}
	free(t);

	/* a line that is no field spoils its paragraph only */
	assert_int_equal(scan("Package: libc-ares2\nStatus: install ok "
	    "installed\nthis is not a field\nSource: c-ares\n"
	    "Version: 1.19.0-1\n\nPackage: libc6\nStatus: install ok "
	    "installed\nSource: glibc\nVersion: 2.37-1\n", LINKED, st, 8), 1);
	assert_ptr_equal(st[0].linked, &LINKED[4]);
	/* no Package, or no Version: nothing to compare */
	assert_int_equal(scan("Status: install ok installed\nSource: c-ares\n"
	    "Version: 1.19.0-1\n", LINKED, st, 8), 0);
	assert_int_equal(scan("Package: libc-ares2\nStatus: install ok "
	    "installed\nSource: c-ares\n", LINKED, st, 8), 0);
	assert_int_equal(scan("Package: libc-ares2\nStatus: install ok "
	    "installed\nSource: c-ares\nVersion:\n", LINKED, st, 8), 0);
	/* binary junk and NUL bytes inside a line */
	{
		struct pkgscan s;
		const char junk[] = "Pack\0age: x\n";

		pkgscan_init(&s, LINKED, st, 8);
		pkgscan_line(&s, junk, sizeof(junk) - 1, 0);
		pkgscan_line(&s, "\xff\xfe:\x01\n", 5, 0);
		pkgscan_line(&s, ":\n", 2, 0);
		pkgscan_line(&s, "", 0, 0);
		assert_int_equal(pkgscan_end(&s), 0);
	}
}

static void
test_file(void **state)
{
	struct pkg_stale st[PKG_STALE_MAX];
	char path[] = "/tmp/test_pkgcheck.XXXXXX";
	char *t = with("Package: libc-ares2\nStatus: install ok installed\n"
	    "Architecture: amd64\nSource: c-ares\nVersion: 1.18.1-3+deb12u1\n");
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	assert_int_equal(pkgcheck_file(path, LINKED, st, PKG_STALE_MAX), 1);
	assert_string_equal(st[0].version, "1.18.1-3+deb12u1");
	unlink(path);
	free(t);
	errno = 0;
	assert_int_equal(pkgcheck_file(path, LINKED, st, PKG_STALE_MAX), -1);
	assert_int_equal(errno, ENOENT);
	/* a directory opens, and reading it fails */
	assert_int_equal(pkgcheck_file("/tmp", LINKED, st, PKG_STALE_MAX), -1);
	assert_int_equal(errno, EISDIR);
	/* this test binary is linked dynamically: nothing to warn about */
	assert_null(pkg_linked);
	assert_int_equal(pkgcheck_warn(), 0);
}

/* text into a new file; its path in path[] (a mkstemp() template) */
static void
write_tmp(char *path, const char *text, size_t len)
{
	int fd;

	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/*
 * pkgcheck_file() reads through an 8 KiB buffer and keeps 256 bytes of a
 * line: lines across reads, lines far longer than either, fields cut.
 */
static void
test_file_lines(void **state)
{
	struct pkg_stale st[PKG_STALE_MAX];
	static const char TAIL[] = "Package: libc-ares2\n"
	    "Status: install ok installed\nArchitecture: amd64\n"
	    "Source: c-ares\nVersion: 1.18.1-3+deb12u1\n";
	size_t cap = 300000, n;
	char *t = malloc(cap);
	char path[32];

	(void)state;
	assert_non_null(t);
	/* the stale paragraph at every offset around the first read's end */
	for (int shift = -120; shift <= 120; shift++) {
		n = (size_t)snprintf(t, cap, "Package: filler\nStatus: install "
		    "ok installed\nVersion: 1\nDescription: x\n");
		for (; n < (size_t)(8192 + shift - 60); n++)	/* continued */
			t[n] = n % 70 == 0 ? '\n' : (n % 70 == 1 ? ' ' : 'y');
		t[n++] = '\n';
		t[n++] = '\n';
		memcpy(t + n, TAIL, sizeof(TAIL) - 1);
		n += sizeof(TAIL) - 1;
		strcpy(path, "/tmp/test_pkgcheck.XXXXXX");
		write_tmp(path, t, n);
		if (pkgcheck_file(path, LINKED, st, 8) != 1 ||
		    strcmp(st[0].version, "1.18.1-3+deb12u1") != 0)
			fail_msg("shift %d", shift);
		unlink(path);
	}

	/* 100 KB and 5 KB lines (Description, Depends) in the paragraph
	   compared, and a last line with no newline */
	n = (size_t)snprintf(t, cap, "Package: libc-ares2\nStatus: install "
	    "ok installed\nArchitecture: amd64\nDepends: ");
	for (int i = 0; i < 500; i++)
		n += (size_t)snprintf(t + n, cap - n, "libdep%d (>= 1.0), ", i);
	n += (size_t)snprintf(t + n, cap - n, "\nDescription: ");
	memset(t + n, 'z', 100000);
	n += 100000;
	n += (size_t)snprintf(t + n, cap - n, "\nSource: c-ares\n"
	    "Version: 1.19.0-1");
	strcpy(path, "/tmp/test_pkgcheck.XXXXXX");
	write_tmp(path, t, n);
	assert_int_equal(pkgcheck_file(path, LINKED, st, 8), 1);
	assert_string_equal(st[0].version, "1.19.0-1");
	unlink(path);

	/* a field compared that is cut: skipped, whatever its start says */
	n = (size_t)snprintf(t, cap, "Package: libc-ares2\nStatus: install "
	    "ok installed\nSource: c-ares\nVersion:%0*d1.19.0-1\n\n"
	    "Package: libc6\nStatus: install ok installed\nSource: glibc\n"
	    "Version: 2.37-1\n", 300, 0);
	for (char *q = strstr(t, "Version:") + 8; *q == '0'; q++)
		*q = ' ';		/* 300 spaces, then the value */
	strcpy(path, "/tmp/test_pkgcheck.XXXXXX");
	write_tmp(path, t, n);
	assert_int_equal(pkgcheck_file(path, LINKED, st, 8), 1);
	assert_ptr_equal(st[0].linked, &LINKED[4]);
	unlink(path);
	/* the same value after a short run of spaces fits: compared */
	{
		struct pkgscan sc;
		char l[PKG_LINE_KEEP];

		n = (size_t)snprintf(l, sizeof(l), "Version:%*s1.19.0-1", 100,
		    "");
		pkgscan_init(&sc, LINKED, st, 8);
		pkgscan_line(&sc, "Package: libc-ares2", 19, 0);
		pkgscan_line(&sc, "Status: install ok installed", 28, 0);
		pkgscan_line(&sc, "Source: c-ares", 14, 0);
		pkgscan_line(&sc, l, n, 0);
		assert_int_equal(pkgscan_end(&sc), 1);
		pkgscan_init(&sc, LINKED, st, 8);
		pkgscan_line(&sc, "Package: libc-ares2", 19, 0);
		pkgscan_line(&sc, "Status: install ok installed", 28, 0);
		pkgscan_line(&sc, "Source: c-ares", 14, 0);
		pkgscan_line(&sc, l, n, 1);	/* said to be cut */
		assert_int_equal(pkgscan_end(&sc), 0);
		/* cut lines of other fields change nothing */
		pkgscan_init(&sc, LINKED, st, 8);
		pkgscan_line(&sc, "Package: libc-ares2", 19, 0);
		pkgscan_line(&sc, "Status: install ok installed", 28, 0);
		pkgscan_line(&sc, "Depends: libc6 (>= 2.", 21, 1);
		pkgscan_line(&sc, " continued", 10, 1);
		pkgscan_line(&sc, "Source: c-ares", 14, 0);
		pkgscan_line(&sc, "Version: 1.19.0-1", 17, 0);
		assert_int_equal(pkgscan_end(&sc), 1);
	}
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current),
		cmocka_unit_test(test_upgraded),
		cmocka_unit_test(test_source_version),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_architecture),
		cmocka_unit_test(test_once_and_max),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_lines),
	};

	return cmocka_run_group_tests_name("pkgcheck", tests, NULL, NULL);
}
