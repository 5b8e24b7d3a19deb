/*
 * HTTP/1.x codec (RFC 9110, RFC 9112): pure and incremental.
 *
 * Heads: http_parse_head() is fed the bytes buffered so far (always from
 * the start of the message; it remembers how far it has looked, so feeding
 * a head one byte at a time costs linear time) and returns CODEC_AGAIN
 * until the empty line that ends the head has arrived, then parses the
 * whole head at once.  Spans in the result point into the caller's buffer,
 * which must not change until the caller is done with them.
 *
 * It is strict where leniency lets requests be smuggled: a bare LF, an
 * obs-fold, whitespace before a colon, a Content-Length that is not one
 * plain number, Content-Length beside Transfer-Encoding, a transfer coding
 * other than a lone "chunked", two Host fields: all are errors (400, or 501
 * for a coding we do not implement).  Limits give 414 (request line), 431
 * (head size, header count).
 *
 * Bodies: http_chunked_step() follows chunked framing (RFC 9112 §7.1)
 * through a body as it passes, to find where the message ends and, when a
 * body must be de-chunked, which bytes are data.
 */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define HTTP_HEAD_MAX_DEFAULT	(64 * 1024)
#define HTTP_LINE_MAX_DEFAULT	(8 * 1024)
#define HTTP_HEADERS_MAX	256	/* hard cap on the header array */

struct http_limits {
	uint32_t	head_max;	/* start line + fields + CRLF: 431 */
	uint32_t	line_max;	/* request line: 414 */
	uint32_t	headers_max;	/* field lines: 431 (<= HTTP_HEADERS_MAX) */
};

struct http_span {
	uint32_t	off;		/* into the parsed buffer */
	uint32_t	len;
};

struct http_field {
	struct http_span name;
	struct http_span value;		/* without surrounding whitespace */
};

enum http_target_form {
	HTTP_TARGET_ORIGIN = 0,		/* "/path?query" */
	HTTP_TARGET_ABSOLUTE,		/* "http://host:port/path" */
	HTTP_TARGET_AUTHORITY,		/* "host:port" (CONNECT) */
	HTTP_TARGET_ASTERISK,		/* "*" */
};

enum http_framing {			/* RFC 9112 §6.3 */
	HTTP_BODY_NONE = 0,		/* no body */
	HTTP_BODY_LENGTH,		/* content_length bytes */
	HTTP_BODY_CHUNKED,		/* chunked, ends with the last chunk */
	HTTP_BODY_CLOSE,		/* response: until the connection ends */
};

#define HTTP_F_CONN_CLOSE	0x0001	/* Connection: close */
#define HTTP_F_CONN_KEEPALIVE	0x0002	/* Connection: keep-alive */
#define HTTP_F_CONN_UPGRADE	0x0004	/* Connection: upgrade */
#define HTTP_F_EXPECT_CONTINUE	0x0008	/* Expect: 100-continue */
#define HTTP_F_HAS_TE		0x0010	/* Transfer-Encoding present */
#define HTTP_F_HAS_CL		0x0020	/* Content-Length present */
#define HTTP_F_PROXY_CONN_CLOSE	0x0040	/* Proxy-Connection: close */
#define HTTP_F_PROXY_CONN_KA	0x0080	/* Proxy-Connection: keep-alive */

struct http_head {
	/* request line (requests) */
	struct http_span method;
	struct http_span target;
	enum http_target_form form;
	/* status line (responses) */
	int		status;		/* 100..999 */
	struct http_span reason;
	int		version;	/* 10 (HTTP/1.0) or 11 (HTTP/1.1) */
	struct http_field fields[HTTP_HEADERS_MAX];
	uint32_t	nfields;
	uint32_t	head_len;	/* bytes of the head, final CRLF included */
	uint32_t	skipped;	/* empty lines skipped before a request */
	enum http_framing framing;
	uint64_t	content_length;	/* with HTTP_BODY_LENGTH */
	unsigned	flags;		/* HTTP_F_* */
	int		host_field;	/* index of Host, -1 when absent */
	int		upgrade_field;	/* index of Upgrade, -1 when absent */
	int		proxy_auth_field; /* Proxy-Authorization, or -1 */
};

/* Incremental state: how far the search for the end of the head got. */
struct http_parser {
	uint32_t	scanned;	/* bytes known not to end the head */
	uint32_t	line_start;	/* start of the line being scanned */
	uint32_t	lines;		/* complete lines seen */
	uint32_t	skipped;	/* empty lines before the request */
};

/* A request target split up (absolute- or authority-form). */
struct http_url {
	char		host[256];	/* NUL-terminated, brackets removed */
	uint16_t	port;
	uint8_t		is_ipv6;	/* host is an IPv6 literal */
	uint8_t		default_port;	/* no port given (absolute-form) */
	struct http_span path;		/* absolute-form: path + query, or
					   len 0 for "/" */
};

enum http_chunk_state {
	HTTP_CHUNK_SIZE = 0,		/* hex digits of a chunk size */
	HTTP_CHUNK_SIZE_WS,		/* whitespace after the size (BWS) */
	HTTP_CHUNK_EXT,			/* after ';': extensions until CRLF */
	HTTP_CHUNK_SIZE_LF,		/* CR seen, LF expected */
	HTTP_CHUNK_DATA,		/* remaining bytes of data */
	HTTP_CHUNK_DATA_CR,		/* CRLF after the data */
	HTTP_CHUNK_DATA_LF,
	HTTP_CHUNK_TRAILER,		/* start of a trailer line */
	HTTP_CHUNK_TRAILER_LINE,	/* inside a trailer line */
	HTTP_CHUNK_TRAILER_LF,		/* CR of a trailer line seen */
	HTTP_CHUNK_END_LF,		/* CR of the final empty line seen */
	HTTP_CHUNK_DONE,		/* the message ended */
	HTTP_CHUNK_ERROR,
};

struct http_chunked {
	enum http_chunk_state state;
	uint64_t	remaining;	/* HTTP_CHUNK_DATA: bytes left */
	uint32_t	digits;		/* hex digits of the current size */
	uint32_t	ext;		/* extension bytes of the current size */
	uint32_t	trailer;	/* trailer bytes so far */
	uint32_t	trailer_max;	/* limit on the trailer section */
};

void		http_parser_init(struct http_parser *);
enum codec_result http_parse_request(struct http_parser *, const char *,
		    size_t, const struct http_limits *, struct http_head *,
		    int *);
enum codec_result http_parse_response(struct http_parser *, const char *,
		    size_t, const struct http_limits *, int, struct http_head *,
		    int *);
int		http_parse_url(const char *, const struct http_head *,
		    struct http_url *);
int		http_span_eq(const char *, struct http_span, const char *);
int		http_field_is(const char *, const struct http_field *,
		    const char *);
int		http_list_has(const char *, struct http_span, const char *);
int		http_is_hop_by_hop(const char *, const struct http_head *,
		    const struct http_field *);
void		http_chunked_init(struct http_chunked *, uint32_t);
size_t		http_chunked_step(struct http_chunked *, const char *, size_t,
		    size_t *, size_t *);
const char	*http_reason(int);

#endif
