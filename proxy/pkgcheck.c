/*
 * The static build carries glibc, libevent, c-ares, libconfig and
 * libxcrypt inside it, so an `apt upgrade` of those packages does not
 * reach it: a fix to c-ares, which parses answers from the network, is in
 * sluice only after a rebuild.  This file tells the operator when that
 * rebuild is due.
 *
 * At build time contrib/linkinfo.sh records, for every archive the static
 * link takes, the Debian source package and version it came from
 * (pkg_linked[], build/linkinfo.c).  At start and on every reload
 * pkgcheck_warn() reads dpkg's status file and logs a warning for each of
 * those sources of which a package now installed has another version:
 * the libraries on the system moved on, the copies inside sluice did not.
 * Any package of the source counts (libc-ares2 or libc-ares-dev for
 * c-ares), so the check works whether or not the -dev packages are still
 * installed.  A system without dpkg says nothing; the dynamic build has no
 * pkg_linked[] and never reads the file.
 *
 * The parsing is line by line (pkgscan_line), with no I/O, so the tests
 * feed it any text.  Fields are as deb822(5) and dpkg-query(1) give them:
 * "Name: value" lines, continuation lines starting with a space or a tab,
 * paragraphs separated by blank lines, "Source: name (version)" when a
 * binary package's version differs from its source's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "pkgcheck.h"

/* what the last pkgcheck_warn() found, for /metrics (another thread) */
static atomic_int outdated;

static void
para_reset(struct pkgscan *s)
{
	s->pkg[0] = s->arch[0] = s->src[0] = s->srcver[0] = s->ver[0] = '\0';
	s->on_disk = 0;
	s->bad = 0;
}

/*
 * Starts a scan for the sources of linked (ending with source NULL),
 * reporting into out[0..max).
 */
void
pkgscan_init(struct pkgscan *s, const struct pkg_linked *linked,
    struct pkg_stale *out, int max)
{
	s->linked = linked;
	s->out = out;
	s->max = max;
	s->n = 0;
	para_reset(s);
}

/* v[0..n) into dst, or the paragraph marked bad when it does not fit */
static void
set(struct pkgscan *s, char *dst, const char *v, size_t n)
{
	if (n >= PKG_FIELD) {
		s->bad = 1;
		return;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/*
 * dpkg's package states (dpkg-query(1), "Status"): those in which the
 * package's files, a library among them, are on the disk.
 */
static int
status_on_disk(const char *v, size_t n)
{
	static const char *const states[] = { "installed", "unpacked",
	    "half-configured", "triggers-awaited", "triggers-pending" };
	size_t i = n;

	while (i > 0 && v[i - 1] != ' ')	/* the last word: the state */
		i--;
	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
		if (strlen(states[k]) == n - i &&
		    memcmp(states[k], v + i, n - i) == 0)
			return 1;
	return 0;
}

/* "name" or "name (version)" */
static void
set_source(struct pkgscan *s, const char *v, size_t n)
{
	const char *sp = memchr(v, ' ', n);
	size_t k;

	if (sp == NULL) {
		set(s, s->src, v, n);
		return;
	}
	k = (size_t)(sp - v);
	set(s, s->src, v, k);
	while (k < n && v[k] == ' ')
		k++;
	if (k + 2 > n || v[k] != '(' || v[n - 1] != ')') {
		s->bad = 1;		/* not the form dpkg writes */
		return;
	}
	set(s, s->srcver, v + k + 1, n - k - 2);
}

static int
arch_match(const char *linked, const char *arch)
{
	return linked[0] == '\0' || arch[0] == '\0' ||
	    strcmp(linked, arch) == 0 || strcmp(arch, "all") == 0;
}

/* the paragraph read: a package on the disk from a linked source? */
static void
para_end(struct pkgscan *s)
{
	const char *src, *ver;
	const struct pkg_linked *l;
	int i;

	if (s->bad || s->pkg[0] == '\0' || s->ver[0] == '\0' || !s->on_disk)
		goto out;
	src = s->src[0] != '\0' ? s->src : s->pkg;
	ver = s->srcver[0] != '\0' ? s->srcver : s->ver;
	for (l = s->linked; l != NULL && l->source != NULL; l++) {
		if (strcmp(l->source, src) != 0 ||
		    !arch_match(l->arch, s->arch) ||
		    strcmp(l->version, ver) == 0)
			continue;
		for (i = 0; i < s->n; i++)	/* each source once */
			if (s->out[i].linked == l)
				break;
		if (i < s->n || s->n >= s->max)
			continue;
		s->out[s->n].linked = l;
		strcpy(s->out[s->n].package, s->pkg);
		strcpy(s->out[s->n].version, ver);
		s->n++;
	}
out:
	para_reset(s);
}

/*
 * One line of the status file, with or without its "\n" (a "\r" before it
 * is dropped too).  Lines may be of any length; a field longer than
 * PKG_FIELD makes its paragraph be skipped, not cut and compared.  cut:
 * the line went on past len (the reader kept only its start), so a field
 * compared here is skipped the same way.
 */
void
pkgscan_line(struct pkgscan *s, const char *line, size_t len, int cut)
{
	const char *colon, *v;
	size_t nlen, vlen, k;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (k = 0; k < len && (line[k] == ' ' || line[k] == '\t'); k++)
		;
	if (k == len) {			/* blank: the paragraph ends */
		para_end(s);
		return;
	}
	if (k > 0)			/* a continuation line */
		return;
	if ((colon = memchr(line, ':', len)) == NULL) {
		s->bad = 1;		/* (cut: a name this long is no field) */
		return;
	}
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
#define FIELD(name)	(nlen == sizeof(name) - 1 && \
			    strncasecmp(line, name, nlen) == 0)
	if (cut && (FIELD("Package") || FIELD("Architecture") ||
	    FIELD("Version") || FIELD("Source") || FIELD("Status")))
		s->bad = 1;
	else if (FIELD("Package"))
		set(s, s->pkg, v, vlen);
	else if (FIELD("Architecture"))
		set(s, s->arch, v, vlen);
	else if (FIELD("Version"))
		set(s, s->ver, v, vlen);
	else if (FIELD("Source"))
		set_source(s, v, vlen);
	else if (FIELD("Status"))
		s->on_disk = status_on_disk(v, vlen);
#undef FIELD
}

/* Ends the scan (the last paragraph needs no blank line); the count found. */
int
pkgscan_end(struct pkgscan *s)
{
	para_end(s);
	return s->n;
}

/*
 * Scans the dpkg status file at path for the sources of linked: the
 * count of stale ones put in out[0..max), or -1 with errno set when the
 * file cannot be read.
 *
 * No heap: the file is read through a buffer on the stack, and each line
 * kept up to PKG_LINE_KEEP bytes.  A longer line is cut there and passed
 * as cut: a field compared that long is skipped, as pkgscan_line() skips
 * any over PKG_FIELD; the others (Depends, Description) are not read.
 * (getline() and stdio's buffer left 16 KiB more heap in a fresh
 * process, for good.)
 */
int
pkgcheck_file(const char *path, const struct pkg_linked *linked,
    struct pkg_stale *out, int max)
{
	struct pkgscan s;
	char rb[8192], line[PKG_LINE_KEEP];
	const char *p, *end, *nl;
	size_t ln = 0, k;
	ssize_t n;
	int fd, err = 0, cut = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	pkgscan_init(&s, linked, out, max);
	for (;;) {
		if ((n = read(fd, rb, sizeof(rb))) == -1) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		if (n == 0)
			break;
		for (p = rb, end = rb + n; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			k = (size_t)(nl - p);
			if (k > sizeof(line) - ln) {
				k = sizeof(line) - ln;
				cut = 1;
			}
			memcpy(line + ln, p, k);
			ln += k;
			if (nl == end)
				break;		/* the line goes on in the next read */
			pkgscan_line(&s, line, ln, cut);
			ln = 0;
			cut = 0;
		}
	}
	close(fd);
	if (err != 0) {
		errno = err;
		return -1;
	}
	if (ln > 0)			/* a last line without its newline */
		pkgscan_line(&s, line, ln, cut);
	return pkgscan_end(&s);
}

/*
 * In the static build: one warning per linked library of which the system
 * has another version ($SLUICE_DPKG_STATUS, else dpkg's own file).  The
 * count warned about; 0 in the dynamic build or with no dpkg.
 */
int
pkgcheck_warn(void)
{
	struct pkg_stale st[PKG_STALE_MAX];
	const char *path;
	int n;

	if (pkg_linked == NULL || pkg_linked[0].source == NULL)
		return 0;
	if ((path = getenv("SLUICE_DPKG_STATUS")) == NULL || *path == '\0')
		path = PKG_STATUS;
	if ((n = pkgcheck_file(path, pkg_linked, st, PKG_STALE_MAX)) == -1) {
		if (errno != ENOENT)
			log_warn("static build: cannot read %s to compare its "
			    "libraries: %s", path, strerror(errno));
		n = 0;
	}
	atomic_store(&outdated, n);
	for (int i = 0; i < n; i++)
		log_warn("static build: %s is linked in from %s %s, but %s %s "
		    "is installed: rebuild sluice (make) and restart it to "
		    "take the update in", st[i].linked->archive,
		    st[i].linked->source, st[i].linked->version,
		    st[i].package, st[i].version);
	return n;
}

/* The count the last pkgcheck_warn() warned about (0 before any). */
int
pkgcheck_outdated(void)
{
	return atomic_load(&outdated);
}
