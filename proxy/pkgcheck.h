/*
 * Does the static build still hold the libraries the system has?  See
 * pkgcheck.c.
 */
#ifndef SLUICE_PKGCHECK_H
#define SLUICE_PKGCHECK_H

#include <stddef.h>

#define PKG_STATUS	"/var/lib/dpkg/status"
#define PKG_FIELD	128	/* longest name or version kept, NUL included */
#define PKG_STALE_MAX	8	/* stale sources reported at most */
#define PKG_LINE_KEEP	256	/* bytes of a line pkgcheck_file() keeps */

/* a library linked into the binary: where it came from */
struct pkg_linked {
	const char	*source;	/* Debian source package: "c-ares" */
	const char	*version;	/* its version at build time */
	const char	*arch;		/* of the -dev package: "amd64" */
	const char	*archive;	/* the file linked: "libcares.a" */
};

/*
 * The libraries the static build linked, ending with source NULL; made at
 * build time by contrib/linkinfo.sh.  Weak: the dynamic build has none
 * (pkg_linked is then NULL), as apt upgrades reach its libraries.
 */
extern const struct pkg_linked pkg_linked[] __attribute__((weak));

/* a linked source of which the system has another version installed */
struct pkg_stale {
	const struct pkg_linked *linked;	/* the entry it differs from */
	char	package[PKG_FIELD];	/* the installed package seen: "libc-ares2" */
	char	version[PKG_FIELD];	/* its source version: "1.18.1-3+deb12u1" */
};

/* a dpkg status file being read, line by line */
struct pkgscan {
	const struct pkg_linked	*linked;	/* what to look for */
	struct pkg_stale	*out;		/* found, [0..n) */
	int			 max;		/* room in out */
	int			 n;		/* found so far */
	/* the paragraph (one package) being read */
	char	pkg[PKG_FIELD];		/* Package: */
	char	arch[PKG_FIELD];	/* Architecture: */
	char	src[PKG_FIELD];		/* Source: its name, "" for none */
	char	srcver[PKG_FIELD];	/* Source: "(version)", "" for none */
	char	ver[PKG_FIELD];		/* Version: */
	int	on_disk;		/* Status: its files are unpacked */
	int	bad;			/* a field too long to compare: skip it */
};

void	pkgscan_init(struct pkgscan *, const struct pkg_linked *,
	    struct pkg_stale *, int);
void	pkgscan_line(struct pkgscan *, const char *, size_t, int);
int	pkgscan_end(struct pkgscan *);
int	pkgcheck_file(const char *, const struct pkg_linked *,
	    struct pkg_stale *, int);
int	pkgcheck_warn(void);
int	pkgcheck_outdated(void);

#endif
