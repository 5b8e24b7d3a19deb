/*
 * Result of the pure protocol codecs (socks5.c, and the HTTP codec later):
 * bytes in, a parsed message, "need more" or a precise error out.  The shape
 * is nginx's NGX_OK / NGX_AGAIN / NGX_ERROR.
 */
#ifndef SLUICE_CODEC_H
#define SLUICE_CODEC_H

enum codec_result {
	CODEC_OK = 0,		/* a whole message was parsed, *consumed set */
	CODEC_AGAIN,		/* the bytes so far are a valid prefix: wait */
	CODEC_ERR,		/* the bytes can never become a valid message */
};

#endif
