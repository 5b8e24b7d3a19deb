/*
 * Proxy auto-config (PAC) files.  Every HTTP (and auto) listener and the
 * admin listener answer GET /proxy.pac (and /wpad.dat, the WPAD name) with
 * a FindProxyForURL() that sends a browser's requests to this proxy, except
 * for pac.bypass: "*.suffix" and exact names by host name, address blocks
 * on the address the name resolves to (the browser resolves it).
 *
 * The PAC names the listener as the client reached it: the local address
 * of the connection that fetched the file when the listener is bound to a
 * wildcard (0.0.0.0, ::).  Pure code.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pac.h"

/*
 * The listener a PAC points at: the first HTTP or auto one (a browser
 * speaks HTTP to a proxy best), else the first SOCKS5, else SOCKS4.
 * Returns 0 with its protocol and address, or -1 when there is none.
 */
int
pac_pick(const struct conf *c, enum conf_proto *proto,
    union sockaddr_u *addr)
{
	static const enum conf_proto pref[] = { CONF_PROTO_HTTP,
	    CONF_PROTO_SOCKS5, CONF_PROTO_SOCKS4 };
	size_t k;
	int i;

	for (k = 0; k < sizeof(pref) / sizeof(pref[0]); k++)
		for (i = 0; i < c->nlisten; i++) {
			enum conf_proto p = c->listen[i].proto;

			if (p == pref[k] || (p == CONF_PROTO_AUTO &&
			    pref[k] == CONF_PROTO_HTTP)) {
				*proto = p;
				*addr = c->listen[i].addr;
				return 0;
			}
		}
	return -1;
}

/*
 * The address a client should use for a listener bound to listen, given
 * that it reached us at local (the local end of its connection, to this
 * listener or another one): listen itself, unless it is a wildcard; then
 * local's address with listen's port (127.0.0.1 when local is IPv6 and
 * the listener IPv4 only).
 */
void
pac_reached(const union sockaddr_u *listen, const union sockaddr_u *local,
    union sockaddr_u *out)
{
	uint16_t port = netaddr_port(listen);
	union sockaddr_u l = *local;

	if (!netaddr_is_any(listen)) {
		*out = *listen;
		return;
	}
	netaddr_normalize(&l);			/* ::ffff:a.b.c.d */
	if (listen->sa.sa_family == AF_INET && l.sa.sa_family != AF_INET)
		netaddr_parse_ip("127.0.0.1", &l);
	*out = l;
	netaddr_set_port(out, port);
}

/*
 * The PAC result naming the proxy: "PROXY 192.0.2.1:3128",
 * "SOCKS5 [::1]:1080" (SOCKS in a PAC file means SOCKS4).  Returns 0, or
 * -1 when buf is too small.
 */
int
pac_route(char *buf, size_t len, enum conf_proto proto,
    const union sockaddr_u *a)
{
	char hp[NETADDR_STRLEN];
	const char *kind;
	int n;

	switch (proto) {
	case CONF_PROTO_SOCKS5:
		kind = "SOCKS5";
		break;
	case CONF_PROTO_SOCKS4:
		kind = "SOCKS";
		break;
	default:
		kind = "PROXY";
		break;
	}
	n = snprintf(buf, len, "%s %s", kind, netaddr_str(a, hp, sizeof(hp)));
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A prefix length as an IPv4 netmask, for isInNet(). */
static void
v4_mask(int prefix, char *buf, size_t len)
{
	uint32_t m = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);

	snprintf(buf, len, "%u.%u.%u.%u", m >> 24, (m >> 16) & 255,
	    (m >> 8) & 255, m & 255);
}

/*
 * The script: bypass entries answer DIRECT, everything else route.  Names
 * in bypass hold only [a-z0-9._-] (the configuration checks), so they go
 * into JavaScript strings as they are.  Returns a malloc()ed text (its
 * length in *len), or NULL when memory runs out.
 */
char *
pac_script(const struct conf_dests *bypass, const char *route, size_t *len)
{
	char ip[NETADDR_STRLEN], mask[16], *text = NULL;
	const struct netaddr_cidr *c;
	FILE *f;
	int i, v4 = 0, v6 = 0, more;

	if ((f = open_memstream(&text, len)) == NULL)
		return NULL;
	fprintf(f, "// Proxy auto-config from sluice, generated from its "
	    "configuration.\n"
	    "function FindProxyForURL(url, host) {\n"
	    "\tvar h = host.toLowerCase();\n"
	    "\tif (h.charAt(0) == \"[\")\n"
	    "\t\th = h.substring(1, h.length - 1);\n"
	    "\tif (h.length > 1 && h.charAt(h.length - 1) == \".\")\n"
	    "\t\th = h.substring(0, h.length - 1);\n");
	for (i = 0; i < bypass->nhosts; i++)
		fprintf(f, "\tif (h == \"%s\")\n\t\treturn \"DIRECT\";\n",
		    bypass->hosts[i]);
	for (i = 0; i < bypass->nsuffixes; i++)
		fprintf(f, "\tif (dnsDomainIs(h, \"%s\"))\n"
		    "\t\treturn \"DIRECT\";\n", bypass->suffixes[i]);
	for (i = 0; i < bypass->ncidrs; i++)
		if (bypass->cidrs[i].addr.sa.sa_family == AF_INET)
			v4 = 1;
		else
			v6 = 1;
	if (v4 || v6) {
		fprintf(f, "\tvar a = sluiceAddresses(h);\n"
		    "\tfor (var i = 0; i < a.length; i++) {\n");
		if (v4) {
			fprintf(f, "\t\tif (a[i].indexOf(\":\") < 0 && (");
			more = 0;
			for (i = 0, c = bypass->cidrs; i < bypass->ncidrs;
			    i++, c++) {
				if (c->addr.sa.sa_family != AF_INET)
					continue;
				v4_mask(c->prefix, mask, sizeof(mask));
				fprintf(f, "%sisInNet(a[i], \"%s\", \"%s\")",
				    more++ ? " ||\n\t\t    " : "",
				    netaddr_ip_str(&c->addr, ip, sizeof(ip)),
				    mask);
			}
			fprintf(f, "))\n\t\t\treturn \"DIRECT\";\n");
		}
		if (v6) {
			/* isInNetEx(): Chromium, Edge; elsewhere skipped */
			fprintf(f, "\t\tif (a[i].indexOf(\":\") >= 0 && "
			    "typeof isInNetEx == \"function\" && (");
			more = 0;
			for (i = 0, c = bypass->cidrs; i < bypass->ncidrs;
			    i++, c++) {
				if (c->addr.sa.sa_family != AF_INET6)
					continue;
				fprintf(f, "%sisInNetEx(a[i], \"%s\")",
				    more++ ? " ||\n\t\t    " : "",
				    netaddr_cidr_str(c, ip, sizeof(ip)));
			}
			fprintf(f, "))\n\t\t\treturn \"DIRECT\";\n");
		}
		fprintf(f, "\t}\n");
	}
	fprintf(f, "\treturn \"%s\";\n}\n", route);
	if (v4 || v6)
		fprintf(f, "\n// The host's addresses: itself when it is one, "
		    "else what it resolves to.\n"
		    "function sluiceAddresses(h) {\n"
		    "\tif (/^[0-9.]+$/.test(h) || h.indexOf(\":\") >= 0)\n"
		    "\t\treturn [h];\n"
		    "\tvar r = typeof dnsResolveEx == \"function\" ?\n"
		    "\t    dnsResolveEx(h) : dnsResolve(h);\n"
		    "\treturn r ? r.split(\";\") : [];\n"
		    "}\n");
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * 1 when an origin-form request target asks for the PAC: "/proxy.pac" or
 * "/wpad.dat", a query allowed.
 */
int
pac_is_request(const char *target, size_t len)
{
	static const char *const paths[] = { "/proxy.pac", "/wpad.dat" };
	size_t i, n;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		n = strlen(paths[i]);
		if (len >= n && memcmp(target, paths[i], n) == 0 &&
		    (len == n || target[n] == '?'))
			return 1;
	}
	return 0;
}
