/*
 * HTTP/1.x codec: see http.h.  Pure: no sockets, no clock, no allocation.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "netaddr.h"

#define CHUNK_EXT_MAX	4096	/* bytes of extensions on one size line */
#define CL_DIGITS_MAX	18	/* below 2^63: no overflow */

/* RFC 9110 §5.6.2: tchar */
static int
is_tchar(unsigned char c)
{
	if (isalnum(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 9110 §5.5: field-vchar and the SP/HTAB allowed between them */
static int
is_field_char(unsigned char c)
{
	return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

void
http_parser_init(struct http_parser *p)
{
	memset(p, 0, sizeof(*p));
}

/*
 * Look for the empty line ending the head, from where the last call
 * stopped.  Returns CODEC_OK with *end set just past it, CODEC_AGAIN, or
 * CODEC_ERR with *status (400 bare LF or CR, 414, 431).  skip_empty: a
 * request may be preceded by empty lines (RFC 9112 §2.2); up to two are
 * skipped and counted in p->skipped.  The head proper (after them) is at
 * most lim->head_max bytes, its final CRLF included.
 */
static enum codec_result
scan_head(struct http_parser *p, const char *buf, size_t len,
    const struct http_limits *lim, int skip_empty, uint32_t *end,
    int *status)
{
	size_t i;
	uint32_t linelen;

	for (i = p->scanned; i < len; i++) {
		if (i + 1 - p->skipped > lim->head_max) {
			*status = 431;
			return CODEC_ERR;
		}
		if (buf[i] == '\r') {
			if (i + 1 == len)
				break;		/* look again with more bytes */
			if (buf[i + 1] != '\n') {
				*status = 400;	/* a bare CR */
				return CODEC_ERR;
			}
			continue;
		}
		if (buf[i] != '\n') {
			if (p->lines == 0 && i - p->line_start >= lim->line_max) {
				*status = 414;
				return CODEC_ERR;
			}
			continue;
		}
		if (i == 0 || buf[i - 1] != '\r') {
			*status = 400;		/* a bare LF */
			return CODEC_ERR;
		}
		linelen = (uint32_t)(i - 1 - p->line_start);
		if (linelen == 0) {
			if (p->lines == 0 && skip_empty &&
			    p->line_start < 4) {
				/* up to two empty lines before a request */
				p->skipped = (uint32_t)(i + 1);
				p->line_start = (uint32_t)(i + 1);
				continue;
			}
			if (p->lines == 0) {
				*status = 400;
				return CODEC_ERR;
			}
			*end = (uint32_t)(i + 1);
			p->scanned = (uint32_t)(i + 1);
			return CODEC_OK;
		}
		p->lines++;
		if (p->lines > lim->headers_max + 1) {
			*status = 431;
			return CODEC_ERR;
		}
		p->line_start = (uint32_t)(i + 1);
	}
	p->scanned = (uint32_t)i;
	return CODEC_AGAIN;
}

/* "HTTP/1.0" or "HTTP/1.1" at p: 10, 11; another HTTP/d.d: -505; else -1 */
static int
parse_version(const char *p, size_t len)
{
	if (len != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' ||
	    !isdigit((unsigned char)p[5]) || !isdigit((unsigned char)p[7]))
		return -1;
	if (p[5] == '1' && (p[7] == '0' || p[7] == '1'))
		return 10 + (p[7] - '0');
	return -505;
}

static int
span_ieq(const char *buf, struct http_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && strncasecmp(buf + s.off, lit, n) == 0;
}

/*
 * 1 when the span equals the literal, case-insensitively.
 */
int
http_span_eq(const char *buf, struct http_span s, const char *lit)
{
	return span_ieq(buf, s, lit);
}

/*
 * 1 when the field's name is name (case-insensitive).
 */
int
http_field_is(const char *buf, const struct http_field *f, const char *name)
{
	return span_ieq(buf, f->name, name);
}

/* 1 when the comma list at p[0..len) holds tok[0..n) (case-insensitive). */
static int
list_has(const char *p, size_t len, const char *tok, size_t n)
{
	const char *end = p + len, *e;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		e = p;
		while (e < end && *e != ',')
			e++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - p) == n && strncasecmp(p, tok, n) == 0)
			return 1;
		while (p < end && *p != ',')
			p++;
	}
	return 0;
}

/*
 * 1 when the comma-separated list in the span holds the token
 * (case-insensitive; optional whitespace around elements).
 */
int
http_list_has(const char *buf, struct http_span s, const char *token)
{
	return list_has(buf + s.off, s.len, token, strlen(token));
}

/* Content-Length: one plain number (RFC 9110 §8.6). */
static int
parse_length(const char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > CL_DIGITS_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * Parse the field lines of a complete head.  pos: the first field line.
 * Returns 0 or an HTTP status for the error.
 */
static int
parse_fields(const char *buf, uint32_t pos, uint32_t end, struct http_head *h,
    int response)
{
	struct http_field *f;
	const char *line, *colon, *v, *ve;
	uint32_t eol;
	int hosts = 0, te_seen = 0;

	while (pos < end - 2) {
		line = buf + pos;
		eol = pos;
		while (buf[eol] != '\r')
			eol++;
		if (*line == ' ' || *line == '\t')
			return response ? 502 : 400;	/* obs-fold */
		if (h->nfields == HTTP_HEADERS_MAX)
			return 431;
		colon = line;
		while (colon < buf + eol && is_tchar((unsigned char)*colon))
			colon++;
		if (colon == line || colon == buf + eol || *colon != ':')
			return response ? 502 : 400;	/* "Name :" too */
		v = colon + 1;
		ve = buf + eol;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *c = v; c < ve; c++)
			if (!is_field_char((unsigned char)*c))
				return response ? 502 : 400;
		f = &h->fields[h->nfields];
		f->name.off = pos;
		f->name.len = (uint32_t)(colon - line);
		f->value.off = (uint32_t)(v - buf);
		f->value.len = (uint32_t)(ve - v);

		if (http_field_is(buf, f, "content-length")) {
			if ((h->flags & HTTP_F_HAS_CL) ||
			    parse_length(v, (size_t)(ve - v),
			    &h->content_length) == -1)
				return response ? 502 : 400;
			h->flags |= HTTP_F_HAS_CL;
		} else if (http_field_is(buf, f, "transfer-encoding")) {
			if (te_seen++)
				return response ? 502 : 400;
			h->flags |= HTTP_F_HAS_TE;
		} else if (http_field_is(buf, f, "connection")) {
			if (http_list_has(buf, f->value, "close"))
				h->flags |= HTTP_F_CONN_CLOSE;
			if (http_list_has(buf, f->value, "keep-alive"))
				h->flags |= HTTP_F_CONN_KEEPALIVE;
			if (http_list_has(buf, f->value, "upgrade"))
				h->flags |= HTTP_F_CONN_UPGRADE;
		} else if (http_field_is(buf, f, "proxy-connection")) {
			if (http_list_has(buf, f->value, "close"))
				h->flags |= HTTP_F_PROXY_CONN_CLOSE;
			if (http_list_has(buf, f->value, "keep-alive"))
				h->flags |= HTTP_F_PROXY_CONN_KA;
		} else if (http_field_is(buf, f, "host")) {
			hosts++;
			h->host_field = (int)h->nfields;
		} else if (http_field_is(buf, f, "upgrade"))
			h->upgrade_field = (int)h->nfields;
		else if (http_field_is(buf, f, "expect")) {
			if (http_list_has(buf, f->value, "100-continue"))
				h->flags |= HTTP_F_EXPECT_CONTINUE;
		} else if (http_field_is(buf, f, "proxy-authorization"))
			h->proxy_auth_field = (int)h->nfields;
		h->nfields++;
		pos = eol + 2;
	}
	if (!response && hosts > 1)
		return 400;
	return 0;
}

static int
te_field(const struct http_head *h, const char *buf)
{
	uint32_t i;

	for (i = 0; i < h->nfields; i++)
		if (http_field_is(buf, &h->fields[i], "transfer-encoding"))
			return (int)i;
	return -1;
}

/*
 * 1 when the last coding of a Transfer-Encoding list is "chunked".
 */
static int
te_ends_chunked(const char *buf, struct http_span s)
{
	const char *p = buf + s.off, *e = p + s.len, *last = p;

	for (const char *c = p; c < e; c++)
		if (*c == ',')
			last = c + 1;
	while (last < e && (*last == ' ' || *last == '\t'))
		last++;
	return e - last == 7 && strncasecmp(last, "chunked", 7) == 0;
}

static void
head_reset(struct http_head *h)
{
	memset(h, 0, offsetof(struct http_head, fields));
	h->nfields = 0;
	h->head_len = 0;
	h->skipped = 0;
	h->framing = HTTP_BODY_NONE;
	h->content_length = 0;
	h->flags = 0;
	h->host_field = -1;
	h->upgrade_field = -1;
	h->proxy_auth_field = -1;
}

/*
 * Parse a request head at buf[0..len).  CODEC_AGAIN: feed more (same
 * parser, same buffer start).  CODEC_OK: *h describes the head, which
 * takes h->skipped + h->head_len bytes.  CODEC_ERR: *status is the
 * response to give (400, 414, 431, 501, 505).
 */
enum codec_result
http_parse_request(struct http_parser *p, const char *buf, size_t len,
    const struct http_limits *lim, struct http_head *h, int *status)
{
	const char *s, *sp1, *sp2, *eol;
	uint32_t end = 0, skipped;
	enum codec_result r;
	int v, rc, te;

	head_reset(h);
	r = scan_head(p, buf, len, lim, 1, &end, status);
	if (r != CODEC_OK)
		return r;
	skipped = p->skipped;
	h->skipped = skipped;
	h->head_len = end - skipped;
	s = buf + skipped;
	eol = memchr(s, '\r', end - skipped);
	/* request-line = method SP request-target SP HTTP-version */
	sp1 = s;
	while (sp1 < eol && is_tchar((unsigned char)*sp1))
		sp1++;
	if (sp1 == s || sp1 >= eol || *sp1 != ' ')
		goto bad;
	sp2 = sp1 + 1;
	while (sp2 < eol && *sp2 > 0x20 && *sp2 < 0x7f)
		sp2++;
	if (sp2 == sp1 + 1 || sp2 >= eol || *sp2 != ' ')
		goto bad;
	v = parse_version(sp2 + 1, (size_t)(eol - sp2 - 1));
	if (v == -505) {
		*status = 505;
		return CODEC_ERR;
	}
	if (v < 0)
		goto bad;
	h->version = v;
	h->method.off = skipped;
	h->method.len = (uint32_t)(sp1 - s);
	h->target.off = (uint32_t)(sp1 + 1 - buf);
	h->target.len = (uint32_t)(sp2 - sp1 - 1);

	/* methods are case-sensitive (RFC 9110 §9.1) */
	if (h->method.len == 7 && memcmp(buf + h->method.off, "CONNECT", 7) == 0)
		h->form = HTTP_TARGET_AUTHORITY;
	else if (h->target.len == 1 && buf[h->target.off] == '*')
		h->form = HTTP_TARGET_ASTERISK;
	else if (buf[h->target.off] == '/')
		h->form = HTTP_TARGET_ORIGIN;
	else if (memmem(buf + h->target.off, h->target.len, "://", 3) != NULL)
		h->form = HTTP_TARGET_ABSOLUTE;
	else
		goto bad;

	if ((rc = parse_fields(buf, (uint32_t)(eol + 2 - buf), end, h, 0)) != 0) {
		*status = rc;
		return CODEC_ERR;
	}
	if (h->version == 11 && h->host_field < 0)
		goto bad;
	if (h->flags & HTTP_F_HAS_TE) {
		/* RFC 9112 §6.1: with Content-Length beside it, or from an
		   HTTP/1.0 client, it cannot be trusted; a coding other than
		   a lone "chunked" we cannot decode */
		if ((h->flags & HTTP_F_HAS_CL) || h->version == 10)
			goto bad;
		te = te_field(h, buf);
		if (!span_ieq(buf, h->fields[te].value, "chunked")) {
			*status = te_ends_chunked(buf, h->fields[te].value) ?
			    501 : 400;
			if (h->fields[te].value.len == 0)
				*status = 400;
			return CODEC_ERR;
		}
		h->framing = HTTP_BODY_CHUNKED;
	} else if ((h->flags & HTTP_F_HAS_CL) && h->content_length > 0)
		h->framing = HTTP_BODY_LENGTH;
	return CODEC_OK;
bad:
	*status = 400;
	return CODEC_ERR;
}

/*
 * Parse a response head at buf[0..len), to a request whose method was HEAD
 * when head_request.  The framing follows RFC 9112 §6.3.  CODEC_ERR sets
 * *status to 502 (what the client should get).
 */
enum codec_result
http_parse_response(struct http_parser *p, const char *buf, size_t len,
    const struct http_limits *lim, int head_request, struct http_head *h,
    int *status)
{
	const char *eol, *sp;
	uint32_t end = 0;
	enum codec_result r;
	int v, rc, te;

	head_reset(h);
	r = scan_head(p, buf, len, lim, 0, &end, status);
	if (r == CODEC_ERR)
		*status = 502;
	if (r != CODEC_OK)
		return r;
	h->head_len = end;
	eol = memchr(buf, '\r', end);
	/* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
	if (eol - buf < 12 || buf[8] != ' ')
		goto bad;
	v = parse_version(buf, 8);
	if (v < 0)
		goto bad;
	h->version = v;
	sp = buf + 9;
	if (!isdigit((unsigned char)sp[0]) || !isdigit((unsigned char)sp[1]) ||
	    !isdigit((unsigned char)sp[2]) || sp[0] == '0')
		goto bad;
	h->status = (sp[0] - '0') * 100 + (sp[1] - '0') * 10 + (sp[2] - '0');
	if (sp + 3 < eol && sp[3] != ' ')
		goto bad;
	h->reason.off = (uint32_t)(sp + 3 - buf + (sp + 3 < eol));
	h->reason.len = (uint32_t)(eol - buf) - h->reason.off;
	for (const char *c = buf + h->reason.off; c < eol; c++)
		if (!is_field_char((unsigned char)*c))
			goto bad;
	if ((rc = parse_fields(buf, (uint32_t)(eol + 2 - buf), end, h, 1)) != 0)
		goto bad;
	if (head_request || (h->status >= 100 && h->status < 200) ||
	    h->status == 204 || h->status == 304)
		h->framing = HTTP_BODY_NONE;
	else if ((h->flags & HTTP_F_HAS_TE) && h->version == 10)
		goto bad;	/* RFC 9112 §6.1: faulty framing */
	else if (h->flags & HTTP_F_HAS_TE) {
		/* Transfer-Encoding wins over Content-Length, which the
		   caller then drops */
		te = te_field(h, buf);
		h->framing = te_ends_chunked(buf, h->fields[te].value) ?
		    HTTP_BODY_CHUNKED : HTTP_BODY_CLOSE;
	} else if (h->flags & HTTP_F_HAS_CL)
		h->framing = h->content_length > 0 ? HTTP_BODY_LENGTH :
		    HTTP_BODY_NONE;
	else
		h->framing = HTTP_BODY_CLOSE;
	return CODEC_OK;
bad:
	*status = 502;
	return CODEC_ERR;
}

/* A host we pass to the resolver or connect to: a name or an IPv4. */
static int
host_ok(const char *h, size_t len)
{
	size_t i, dots = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (h[i] == '.')
			dots++;
		else if (!isalnum((unsigned char)h[i]) && h[i] != '-' &&
		    h[i] != '_')
			return 0;
	}
	return dots != len;
}

/* host[:port] from s[0..len) into u; port_required for CONNECT. */
static int
parse_authority(const char *s, size_t len, struct http_url *u,
    int port_required)
{
	union sockaddr_u a;
	const char *hend, *pstart = NULL;
	size_t hlen;
	uint32_t port = 0;

	if (len == 0 || memchr(s, '@', len) != NULL)
		return 400;
	if (s[0] == '[') {
		hend = memchr(s, ']', len);
		if (hend == NULL)
			return 400;
		hlen = (size_t)(hend - s - 1);
		if (hend + 1 < s + len) {
			if (hend[1] != ':')
				return 400;
			pstart = hend + 2;
		}
		if (hlen == 0 || hlen >= sizeof(u->host))
			return 400;
		memcpy(u->host, s + 1, hlen);
		u->host[hlen] = '\0';
		if (netaddr_parse_ip(u->host, &a) == -1 ||
		    a.sa.sa_family != AF_INET6)
			return 400;
		u->is_ipv6 = 1;
	} else {
		hend = memchr(s, ':', len);
		hlen = hend != NULL ? (size_t)(hend - s) : len;
		if (hend != NULL)
			pstart = hend + 1;
		if (hlen >= sizeof(u->host) || !host_ok(s, hlen))
			return 400;
		memcpy(u->host, s, hlen);
		u->host[hlen] = '\0';
	}
	if (pstart != NULL && pstart < s + len) {
		if (s + len - pstart > 5)
			return 400;
		for (const char *c = pstart; c < s + len; c++) {
			if (!isdigit((unsigned char)*c))
				return 400;
			port = port * 10 + (uint32_t)(*c - '0');
		}
		if (port == 0 || port > 65535)
			return 400;
		u->port = (uint16_t)port;
	} else if (port_required)
		return 400;
	else
		u->default_port = 1;
	return 0;
}

/*
 * Split the request target of h (in buf): absolute-form ("http" scheme
 * only: 501 for https, ftp and the rest, which a proxy reaches through
 * CONNECT) or authority-form.  Returns 0, or the status to answer.
 */
int
http_parse_url(const char *buf, const struct http_head *h, struct http_url *u)
{
	const char *t = buf + h->target.off, *end = t + h->target.len;
	const char *auth, *aend;
	int rc;

	memset(u, 0, sizeof(*u));
	if (h->form == HTTP_TARGET_AUTHORITY)
		return parse_authority(t, h->target.len, u, 1);
	if (h->form != HTTP_TARGET_ABSOLUTE)
		return 400;
	auth = memmem(t, h->target.len, "://", 3);
	if (auth == NULL)
		return 400;
	if (auth == t)
		return 400;
	for (const char *c = t; c < auth; c++)
		if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' &&
		    *c != '.')
			return 400;
	if (auth - t != 4 || strncasecmp(t, "http", 4) != 0)
		return 501;
	auth += 3;
	aend = auth;
	while (aend < end && *aend != '/' && *aend != '?' && *aend != '#')
		aend++;
	if (memchr(aend, '#', (size_t)(end - aend)) != NULL)
		return 400;
	if ((rc = parse_authority(auth, (size_t)(aend - auth), u, 0)) != 0)
		return rc;
	if (u->default_port)
		u->port = 80;
	u->path.off = (uint32_t)(aend - buf);
	u->path.len = (uint32_t)(end - aend);
	return 0;
}

/*
 * 1 when the field must not be forwarded by a proxy (RFC 9110 §7.6.1):
 * Connection and the fields it names, Proxy-Connection, Keep-Alive,
 * Proxy-Authorization, Proxy-Authenticate, TE, Trailer, Upgrade.  The
 * fields that frame the message (Content-Length, Transfer-Encoding) and
 * Host are never hop-by-hop, whatever Connection says: the body is
 * forwarded with the framing they gave it, and dropping them would let a
 * client make the next hop read the body as another request.  Chunked
 * bodies pass through as they are, with their framing.
 */
int
http_is_hop_by_hop(const char *buf, const struct http_head *h,
    const struct http_field *f)
{
	static const char *const fixed[] = {
		"connection", "proxy-connection", "keep-alive",
		"proxy-authorization", "proxy-authenticate", "te", "trailer",
		"upgrade", NULL,
	};
	uint32_t i;
	int j;

	if (http_field_is(buf, f, "content-length") ||
	    http_field_is(buf, f, "transfer-encoding") ||
	    http_field_is(buf, f, "host"))
		return 0;
	for (j = 0; fixed[j] != NULL; j++)
		if (http_field_is(buf, f, fixed[j]))
			return 1;
	for (i = 0; i < h->nfields; i++)
		if (http_field_is(buf, &h->fields[i], "connection") &&
		    list_has(buf + h->fields[i].value.off,
		    h->fields[i].value.len, buf + f->name.off, f->name.len))
			return 1;
	return 0;
}

/*
 * Follow chunked framing with at most trailer_max bytes of trailers.
 */
void
http_chunked_init(struct http_chunked *c, uint32_t trailer_max)
{
	memset(c, 0, sizeof(*c));
	c->state = HTTP_CHUNK_SIZE;
	c->trailer_max = trailer_max;
}

static int
hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (unsigned char)tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/*
 * Walk chunked framing in buf[0..len).  Returns the bytes consumed; stops
 * right after a span of chunk data (*data_off, *data_len: where it is in
 * buf; *data_len is 0 when the step had none), at the end of the message
 * (state HTTP_CHUNK_DONE; bytes after it are not consumed), on an error
 * (HTTP_CHUNK_ERROR), or when buf is used up.
 */
size_t
http_chunked_step(struct http_chunked *c, const char *buf, size_t len,
    size_t *data_off, size_t *data_len)
{
	size_t i = 0, n;
	int d;
	unsigned char ch;

	*data_off = 0;
	*data_len = 0;
	while (i < len) {
		ch = (unsigned char)buf[i];
		switch (c->state) {
		case HTTP_CHUNK_SIZE:
			if ((d = hexval(ch)) >= 0) {
				if (++c->digits > 16)	/* 2^64 - 1 at most */
					goto err;
				c->remaining = c->remaining << 4 | (uint64_t)d;
				i++;
				break;
			}
			if (c->digits == 0)
				goto err;
			/* FALLTHROUGH */
		case HTTP_CHUNK_SIZE_WS:
			/* RFC 9112 §7.1.1: BWS, then ";" or the CRLF */
			if (ch == '\r')
				c->state = HTTP_CHUNK_SIZE_LF;
			else if (ch == ';')
				c->state = HTTP_CHUNK_EXT;
			else if (ch == ' ' || ch == '\t')
				c->state = HTTP_CHUNK_SIZE_WS;
			else
				goto err;
			if (++c->ext > CHUNK_EXT_MAX)
				goto err;
			i++;
			break;
		case HTTP_CHUNK_EXT:
			if (ch == '\r')
				c->state = HTTP_CHUNK_SIZE_LF;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f ||
			    ++c->ext > CHUNK_EXT_MAX)
				goto err;
			i++;
			break;
		case HTTP_CHUNK_SIZE_LF:
			if (ch != '\n')
				goto err;
			i++;
			c->digits = 0;
			c->ext = 0;
			c->state = c->remaining > 0 ? HTTP_CHUNK_DATA :
			    HTTP_CHUNK_TRAILER;
			break;
		case HTTP_CHUNK_DATA:
			n = len - i;
			if (n > c->remaining)
				n = (size_t)c->remaining;
			c->remaining -= n;
			*data_off = i;
			*data_len = n;
			if (c->remaining == 0)
				c->state = HTTP_CHUNK_DATA_CR;
			return i + n;
		case HTTP_CHUNK_DATA_CR:
			if (ch != '\r')
				goto err;
			c->state = HTTP_CHUNK_DATA_LF;
			i++;
			break;
		case HTTP_CHUNK_DATA_LF:
			if (ch != '\n')
				goto err;
			c->state = HTTP_CHUNK_SIZE;
			i++;
			break;
		case HTTP_CHUNK_TRAILER:
			/* the trailer section: field lines, then CRLF (only
			   the field lines count against trailer_max) */
			if (ch == '\r') {
				c->state = HTTP_CHUNK_END_LF;
				i++;
				break;
			}
			if (!is_tchar(ch) || ++c->trailer > c->trailer_max)
				goto err;
			c->state = HTTP_CHUNK_TRAILER_LINE;
			i++;
			break;
		case HTTP_CHUNK_TRAILER_LINE:
			if (ch == '\r')
				c->state = HTTP_CHUNK_TRAILER_LF;
			else if (ch == '\n' || (ch < 0x20 && ch != '\t') ||
			    ch == 0x7f)
				goto err;
			if (++c->trailer > c->trailer_max)
				goto err;
			i++;
			break;
		case HTTP_CHUNK_TRAILER_LF:
			if (ch != '\n' || ++c->trailer > c->trailer_max)
				goto err;
			c->state = HTTP_CHUNK_TRAILER;
			i++;
			break;
		case HTTP_CHUNK_END_LF:
			if (ch != '\n')
				goto err;
			c->state = HTTP_CHUNK_DONE;
			return i + 1;
		case HTTP_CHUNK_DONE:
		case HTTP_CHUNK_ERROR:
			return i;
		}
	}
	return i;
err:
	c->state = HTTP_CHUNK_ERROR;
	return i;
}

/*
 * The reason phrase for a status sluice itself answers with.
 */
const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
