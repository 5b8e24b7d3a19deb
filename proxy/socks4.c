/*
 * SOCKS4/4a codec.  See socks4.h.  The protocol has no RFC; the reference
 * is the SOCKS4 protocol document (Ying-Da Lee) and its 4A extension.
 */
#include <arpa/inet.h>

#include <string.h>

#include "socks4.h"
#include "socks5.h"

/*
 * Parse a request.  CODEC_ERR for a version byte other than 4, an empty
 * 4a host name, a user id or a host name longer than the limits, or a
 * host name socks5_host_valid() refuses.  Bytes after the request are
 * not consumed.
 */
enum codec_result
socks4_parse_request(const uint8_t *buf, size_t len, struct socks4_request *r,
    size_t *consumed)
{
	const uint8_t *nul, *hnul;
	size_t ulen, hlen, max;

	if (len < 1)
		return CODEC_AGAIN;
	if (buf[0] != SOCKS4_VERSION)
		return CODEC_ERR;
	if (len < 9)
		return CODEC_AGAIN;
	max = len < 8 + SOCKS4_USERID_MAX + 1 ? len : 8 + SOCKS4_USERID_MAX + 1;
	nul = memchr(buf + 8, '\0', max - 8);
	if (nul == NULL)
		return len >= 8 + SOCKS4_USERID_MAX + 1 ? CODEC_ERR :
		    CODEC_AGAIN;
	ulen = (size_t)(nul - buf - 8);
	memset(&r->addr, 0, sizeof(r->addr));
	r->cmd = buf[1];
	r->port = (uint16_t)(buf[2] << 8 | buf[3]);
	memcpy(r->userid, buf + 8, ulen);
	r->userid[ulen] = '\0';
	/* 4a: 0.0.0.x with x != 0 says a host name follows */
	r->is_4a = buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] != 0;
	if (!r->is_4a) {
		r->addr.in.sin_family = AF_INET;
		memcpy(&r->addr.in.sin_addr, buf + 4, 4);
		r->addr.in.sin_port = htons(r->port);
		netaddr_ip_str(&r->addr, r->host, sizeof(r->host));
		*consumed = 8 + ulen + 1;
		return CODEC_OK;
	}
	max = len - (size_t)(nul + 1 - buf);
	if (max > 256)
		max = 256;
	hnul = memchr(nul + 1, '\0', max);
	if (hnul == NULL)
		return max >= 256 ? CODEC_ERR : CODEC_AGAIN;
	hlen = (size_t)(hnul - nul - 1);
	memcpy(r->host, nul + 1, hlen);
	r->host[hlen] = '\0';
	if (netaddr_parse_ip(r->host, &r->addr) == 0) {
		/* a 4a "name" that is an address: use it as one */
		r->is_4a = 0;
		netaddr_set_port(&r->addr, r->port);
	} else if (!socks5_host_valid(r->host, hlen))
		return CODEC_ERR;
	*consumed = (size_t)(hnul + 1 - buf);
	return CODEC_OK;
}

/*
 * VN=0 CD DSTPORT DSTIP (zeros: clients ignore them for CONNECT).
 * Returns SOCKS4_REPLY_LEN.
 */
size_t
socks4_encode_reply(uint8_t *out, uint8_t cd)
{
	out[0] = 0;
	out[1] = cd;
	memset(out + 2, 0, 6);
	return SOCKS4_REPLY_LEN;
}
