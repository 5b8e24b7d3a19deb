/*
 * SOCKS5 codec (RFC 1928, RFC 1929): pure and incremental.  Each parser
 * looks at the bytes buffered so far from the start of one message and
 * returns CODEC_AGAIN until the whole message is there, then CODEC_OK with
 * *consumed set to its length.  Bytes after the message are not touched:
 * they belong to the next message or to the tunnel.
 */
#ifndef SLUICE_SOCKS5_H
#define SLUICE_SOCKS5_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "netaddr.h"

#define SOCKS5_VERSION		0x05
#define SOCKS5_AUTH_VERSION	0x01	/* RFC 1929 §2 */

/* RFC 1928 §3: METHOD values */
#define SOCKS5_METHOD_NOAUTH	0x00
#define SOCKS5_METHOD_GSSAPI	0x01
#define SOCKS5_METHOD_USERPASS	0x02
#define SOCKS5_METHOD_NONE	0xff	/* no acceptable methods */

/* RFC 1928 §4: CMD values */
#define SOCKS5_CMD_CONNECT	0x01
#define SOCKS5_CMD_BIND		0x02
#define SOCKS5_CMD_UDP		0x03

/* RFC 1928 §4/§5: ATYP values */
#define SOCKS5_ATYP_IPV4	0x01
#define SOCKS5_ATYP_DOMAIN	0x03
#define SOCKS5_ATYP_IPV6	0x04

/* RFC 1928 §6: REP values */
#define SOCKS5_REP_SUCCESS	0x00
#define SOCKS5_REP_FAILURE	0x01	/* general SOCKS server failure */
#define SOCKS5_REP_NOT_ALLOWED	0x02	/* connection not allowed by ruleset */
#define SOCKS5_REP_NET_UNREACH	0x03
#define SOCKS5_REP_HOST_UNREACH	0x04
#define SOCKS5_REP_REFUSED	0x05
#define SOCKS5_REP_TTL_EXPIRED	0x06
#define SOCKS5_REP_CMD_UNSUPP	0x07
#define SOCKS5_REP_ATYP_UNSUPP	0x08
#define SOCKS5_REP_NONE		0xff	/* ours: close without any reply */

/* RFC 1929 §2: STATUS */
#define SOCKS5_AUTH_OK		0x00
#define SOCKS5_AUTH_FAIL	0x01

#define SOCKS5_GREETING_MAX	(2 + 255)
#define SOCKS5_AUTH_MAX		(3 + 255 + 255)
#define SOCKS5_REQUEST_MAX	(4 + 1 + 255 + 2)
#define SOCKS5_REPLY_MAX	(4 + 16 + 2)

struct socks5_greeting {
	uint8_t		nmethods;	/* RFC 1928 §3: 1..255 (0 accepted) */
	uint8_t		methods[255];	/* as offered, in order */
};

struct socks5_auth {
	uint8_t		ulen;		/* RFC 1929: 1..255 (0 parsed too) */
	uint8_t		plen;
	char		user[256];	/* NUL-terminated copy */
	char		pass[256];	/* NUL-terminated copy */
};

struct socks5_request {
	uint8_t		cmd;		/* SOCKS5_CMD_*, or any other value */
	uint8_t		atyp;		/* SOCKS5_ATYP_* as sent */
	uint8_t		is_ip;		/* addr holds the target (ATYP 1/4, or
					   a domain that is an IP literal) */
	uint8_t		hostlen;	/* ATYP 3: length of host */
	uint16_t	port;		/* DST.PORT, host order */
	char		host[256];	/* ATYP 3: name as sent, NUL-terminated;
					   ATYP 1/4: the address as text */
	union sockaddr_u addr;		/* valid when is_ip, port set */
};

enum codec_result socks5_parse_greeting(const uint8_t *, size_t,
		    struct socks5_greeting *, size_t *);
int		socks5_greeting_offers(const struct socks5_greeting *, uint8_t);
uint8_t		socks5_select_method(const struct socks5_greeting *,
		    int auth_required, int auth_available);
enum codec_result socks5_parse_auth(const uint8_t *, size_t,
		    struct socks5_auth *, size_t *);
enum codec_result socks5_parse_request(const uint8_t *, size_t,
		    struct socks5_request *, size_t *, uint8_t *);
int		socks5_host_valid(const char *, size_t);
size_t		socks5_encode_method(uint8_t *, uint8_t);
size_t		socks5_encode_auth_status(uint8_t *, uint8_t);
size_t		socks5_encode_reply(uint8_t *, uint8_t,
		    const union sockaddr_u *);
const char	*socks5_rep_str(uint8_t);

#endif
