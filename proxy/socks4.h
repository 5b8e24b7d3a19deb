/*
 * SOCKS4 and SOCKS4a codec: pure and incremental like socks5.c.
 * SOCKS4: VN=4 CD DSTPORT DSTIP USERID NUL.  SOCKS4a: DSTIP 0.0.0.x (x != 0)
 * and the host name after the USERID, NUL-terminated; the proxy resolves
 * it.  Replies: VN=0 CD DSTPORT DSTIP, CD 0x5A granted, 0x5B rejected or
 * failed, 0x5C/0x5D identd (0x5D: the user id is not one we know).
 */
#ifndef SLUICE_SOCKS4_H
#define SLUICE_SOCKS4_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "netaddr.h"

#define SOCKS4_VERSION		0x04
#define SOCKS4_CMD_CONNECT	0x01
#define SOCKS4_CMD_BIND		0x02

#define SOCKS4_REP_GRANTED	0x5a
#define SOCKS4_REP_REJECTED	0x5b
#define SOCKS4_REP_NO_IDENTD	0x5c
#define SOCKS4_REP_BAD_USERID	0x5d

#define SOCKS4_USERID_MAX	255
#define SOCKS4_REQUEST_MAX	(8 + SOCKS4_USERID_MAX + 1 + 255 + 1)
#define SOCKS4_REPLY_LEN	8

struct socks4_request {
	uint8_t		cmd;
	uint8_t		is_4a;		/* host holds a name to resolve */
	uint16_t	port;		/* host order */
	union sockaddr_u addr;		/* SOCKS4: the target, port set */
	char		userid[SOCKS4_USERID_MAX + 1];
	char		host[256];	/* 4a: the name; 4: the address text */
};

enum codec_result socks4_parse_request(const uint8_t *, size_t,
		    struct socks4_request *, size_t *);
size_t		socks4_encode_reply(uint8_t *, uint8_t);

#endif
