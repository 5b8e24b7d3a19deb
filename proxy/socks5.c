/*
 * SOCKS5 codec (RFC 1928, RFC 1929).  Pure: no sockets, no clock, no
 * allocation.  See socks5.h for the calling convention.
 */
#include <arpa/inet.h>

#include <string.h>

#include "socks5.h"

/*
 * RFC 1928 §3: VER NMETHODS METHODS.  CODEC_ERR only for a version byte
 * other than 5: the peer does not speak SOCKS5 and gets no reply.  A greeting
 * that offers no methods is well framed; socks5_select_method() answers it
 * with 0xFF.
 */
enum codec_result
socks5_parse_greeting(const uint8_t *buf, size_t len,
    struct socks5_greeting *g, size_t *consumed)
{
	size_t need;

	if (len < 1)
		return CODEC_AGAIN;
	if (buf[0] != SOCKS5_VERSION)
		return CODEC_ERR;
	if (len < 2)
		return CODEC_AGAIN;
	need = 2 + (size_t)buf[1];
	if (len < need)
		return CODEC_AGAIN;
	g->nmethods = buf[1];
	memcpy(g->methods, buf + 2, g->nmethods);
	*consumed = need;
	return CODEC_OK;
}

/*
 * 1 when the greeting lists the method.
 */
int
socks5_greeting_offers(const struct socks5_greeting *g, uint8_t method)
{
	return memchr(g->methods, method, g->nmethods) != NULL;
}

/*
 * RFC 1928 §3: pick the method to answer with.  With auth required only
 * USERNAME/PASSWORD will do.  With auth optional and a user table, a client
 * that offers USERNAME/PASSWORD wants to be known (curl --proxy-user offers
 * both methods): it authenticates, and a wrong password fails rather than
 * silently going anonymous.  Otherwise NO AUTHENTICATION.
 * SOCKS5_METHOD_NONE when nothing fits.
 */
uint8_t
socks5_select_method(const struct socks5_greeting *g, int auth_required,
    int auth_available)
{
	if (auth_required)
		return socks5_greeting_offers(g, SOCKS5_METHOD_USERPASS) ?
		    SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
	if (auth_available && socks5_greeting_offers(g, SOCKS5_METHOD_USERPASS))
		return SOCKS5_METHOD_USERPASS;
	if (socks5_greeting_offers(g, SOCKS5_METHOD_NOAUTH))
		return SOCKS5_METHOD_NOAUTH;
	return SOCKS5_METHOD_NONE;
}

/*
 * RFC 1929 §2: VER ULEN UNAME PLEN PASSWD.  CODEC_ERR for a VER other than
 * 1.  Lengths of 0 are framed correctly and parsed; they can never match a
 * user, so the check fails them.
 */
enum codec_result
socks5_parse_auth(const uint8_t *buf, size_t len, struct socks5_auth *a,
    size_t *consumed)
{
	size_t ulen, plen;

	if (len < 1)
		return CODEC_AGAIN;
	if (buf[0] != SOCKS5_AUTH_VERSION)
		return CODEC_ERR;
	if (len < 2)
		return CODEC_AGAIN;
	ulen = buf[1];
	if (len < 2 + ulen + 1)
		return CODEC_AGAIN;
	plen = buf[2 + ulen];
	if (len < 3 + ulen + plen)
		return CODEC_AGAIN;
	a->ulen = (uint8_t)ulen;
	a->plen = (uint8_t)plen;
	memcpy(a->user, buf + 2, ulen);
	a->user[ulen] = '\0';
	memcpy(a->pass, buf + 3 + ulen, plen);
	a->pass[plen] = '\0';
	*consumed = 3 + ulen + plen;
	return CODEC_OK;
}

/*
 * A host name we are willing to pass to the resolver: letters, digits,
 * '-', '_' and '.', 1..255 bytes.  IP literals are recognised before this.
 */
int
socks5_host_valid(const char *h, size_t len)
{
	size_t i, dots = 0;
	char c;

	if (len == 0 || len > 255)
		return 0;
	for (i = 0; i < len; i++) {
		c = h[i];
		if (c == '.')
			dots++;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	/* "." or ".." and the like name nothing */
	return dots != len;
}

/* A domain-name target that is really an IP literal, bracketed or not. */
static int
parse_literal(const char *h, size_t len, union sockaddr_u *a)
{
	char tmp[256];

	/* the text parsers stop at a NUL: "1.2.3.4\0junk" is no literal */
	if (len >= sizeof(tmp) || memchr(h, '\0', len) != NULL)
		return -1;
	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		memcpy(tmp, h + 1, len - 2);
		tmp[len - 2] = '\0';
		return netaddr_parse_ip(tmp, a) == 0 &&
		    a->sa.sa_family == AF_INET6 ? 0 : -1;
	}
	return netaddr_parse_ip(h, a);
}

/*
 * RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT.
 * CODEC_OK for every well-framed request, whatever its CMD (the caller
 * answers 0x07 for what it does not serve).  CODEC_ERR sets *rep to the reply
 * to send: SOCKS5_REP_NONE (close silently) for a wrong version,
 * SOCKS5_REP_ATYP_UNSUPP for an unknown ATYP (the rest cannot be framed),
 * SOCKS5_REP_HOST_UNREACH for an empty or unusable domain name (*consumed
 * then covers the message).  RSV is ignored, as most servers do.
 */
enum codec_result
socks5_parse_request(const uint8_t *buf, size_t len, struct socks5_request *r,
    size_t *consumed, uint8_t *rep)
{
	size_t alen, need;
	const uint8_t *p;

	if (len < 1)
		return CODEC_AGAIN;
	if (buf[0] != SOCKS5_VERSION) {
		*rep = SOCKS5_REP_NONE;
		return CODEC_ERR;
	}
	if (len < 4)
		return CODEC_AGAIN;
	switch (buf[3]) {
	case SOCKS5_ATYP_IPV4:
		alen = 4;
		need = 4 + 4 + 2;
		break;
	case SOCKS5_ATYP_IPV6:
		alen = 16;
		need = 4 + 16 + 2;
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (len < 5)
			return CODEC_AGAIN;
		alen = buf[4];
		need = 4 + 1 + alen + 2;
		break;
	default:
		*rep = SOCKS5_REP_ATYP_UNSUPP;
		*consumed = 4;
		return CODEC_ERR;
	}
	if (len < need)
		return CODEC_AGAIN;

	memset(&r->addr, 0, sizeof(r->addr));
	r->cmd = buf[1];
	r->atyp = buf[3];
	r->is_ip = 0;
	r->hostlen = 0;
	p = buf + need - 2;
	r->port = (uint16_t)(p[0] << 8 | p[1]);
	*consumed = need;

	switch (r->atyp) {
	case SOCKS5_ATYP_IPV4:
		r->addr.in.sin_family = AF_INET;
		memcpy(&r->addr.in.sin_addr, buf + 4, 4);
		break;
	case SOCKS5_ATYP_IPV6:
		r->addr.in6.sin6_family = AF_INET6;
		memcpy(&r->addr.in6.sin6_addr, buf + 4, 16);
		break;
	case SOCKS5_ATYP_DOMAIN:
		r->hostlen = (uint8_t)alen;
		memcpy(r->host, buf + 5, alen);
		r->host[alen] = '\0';
		if (parse_literal(r->host, alen, &r->addr) == 0) {
			r->is_ip = 1;
			netaddr_set_port(&r->addr, r->port);
			return CODEC_OK;
		}
		if (!socks5_host_valid(r->host, alen)) {
			*rep = SOCKS5_REP_HOST_UNREACH;
			return CODEC_ERR;
		}
		return CODEC_OK;
	}
	r->is_ip = 1;
	netaddr_set_port(&r->addr, r->port);
	netaddr_ip_str(&r->addr, r->host, sizeof(r->host));
	return CODEC_OK;
}

/*
 * RFC 1928 §3: VER METHOD.  Returns the length written (2).
 */
size_t
socks5_encode_method(uint8_t *out, uint8_t method)
{
	out[0] = SOCKS5_VERSION;
	out[1] = method;
	return 2;
}

/*
 * RFC 1929 §2: VER STATUS.  Returns the length written (2).
 */
size_t
socks5_encode_auth_status(uint8_t *out, uint8_t status)
{
	out[0] = SOCKS5_AUTH_VERSION;
	out[1] = status;
	return 2;
}

/*
 * RFC 1928 §6: VER REP RSV ATYP BND.ADDR BND.PORT into out (at least
 * SOCKS5_REPLY_MAX bytes).  bnd NULL (or unset) gives 0.0.0.0:0, which is
 * what failure replies carry.  Returns the length written (10 or 22).
 */
size_t
socks5_encode_reply(uint8_t *out, uint8_t rep, const union sockaddr_u *bnd)
{
	uint16_t port;

	out[0] = SOCKS5_VERSION;
	out[1] = rep;
	out[2] = 0;
	if (bnd != NULL && bnd->sa.sa_family == AF_INET6) {
		out[3] = SOCKS5_ATYP_IPV6;
		memcpy(out + 4, &bnd->in6.sin6_addr, 16);
		port = bnd->in6.sin6_port;
		memcpy(out + 20, &port, 2);
		return 22;
	}
	out[3] = SOCKS5_ATYP_IPV4;
	if (bnd != NULL && bnd->sa.sa_family == AF_INET) {
		memcpy(out + 4, &bnd->in.sin_addr, 4);
		port = bnd->in.sin_port;
	} else {
		memset(out + 4, 0, 4);
		port = 0;
	}
	memcpy(out + 8, &port, 2);
	return 10;
}

/*
 * Short text for a reply code, for logs.
 */
const char *
socks5_rep_str(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_SUCCESS:
		return "succeeded";
	case SOCKS5_REP_FAILURE:
		return "general failure";
	case SOCKS5_REP_NOT_ALLOWED:
		return "not allowed";
	case SOCKS5_REP_NET_UNREACH:
		return "network unreachable";
	case SOCKS5_REP_HOST_UNREACH:
		return "host unreachable";
	case SOCKS5_REP_REFUSED:
		return "connection refused";
	case SOCKS5_REP_TTL_EXPIRED:
		return "TTL expired";
	case SOCKS5_REP_CMD_UNSUPP:
		return "command not supported";
	case SOCKS5_REP_ATYP_UNSUPP:
		return "address type not supported";
	case SOCKS5_REP_NONE:
		return "no reply";
	default:
		return "unknown";
	}
}
