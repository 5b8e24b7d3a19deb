#!/usr/bin/env python3
"""Write the seed corpus of every fuzz target into tests/fuzz/corpus/NAME/.

    python3 tests/fuzz/make-corpus.py

Each target directory is emptied and refilled, so the corpus is exactly
what this script says: valid messages of every kind, the edge cases the
unit tests name (limits, smuggling vectors, every ATYP, lengths 0 and 255)
and a few broken ones.  File names say what each seed is.  The input
layout of each target is described at the top of its tests/fuzz/fuzz_*.c.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    names = set()
    for name, data in seeds:
        assert name not in names, (target, name)
        names.add(name)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds")


# ----- SOCKS5 / SOCKS4: one selector byte, then the message -------------
GREETING, AUTH, REQUEST, SOCKS4 = 0, 1, 2, 3


def s5_req(cmd, atyp, addr, port, ver=5, rsv=0):
    return bytes([ver, cmd, rsv, atyp]) + addr + struct.pack(">H", port)


def s5_dom(name, port=80, cmd=1):
    return s5_req(cmd, 3, bytes([len(name)]) + name, port)


def s4(cmd, port, ip, user=b"", host=None):
    m = bytes([4, cmd]) + struct.pack(">H", port) + bytes(ip) + user + b"\0"
    if host is not None:
        m += host + b"\0"
    return m


def socks_seeds():
    s = []
    g = [
        ("noauth", b"\x05\x01\x00"),
        ("noauth-userpass", b"\x05\x02\x00\x02"),
        ("userpass", b"\x05\x01\x02"),
        ("gssapi", b"\x05\x01\x01"),
        ("zero-methods", b"\x05\x00"),
        ("255-methods", b"\x05\xff" + bytes(range(255))),
        ("truncated", b"\x05\x03\x00\x01"),
        ("version-only", b"\x05"),
        ("version-4", b"\x04\x01\x00"),
        ("trailing-bytes", b"\x05\x01\x00\x05\x01\x00\x01"),
    ]
    s += [("greeting-" + n, bytes([GREETING]) + m) for n, m in g]
    a = [
        ("alice", b"\x01\x05alice\x06secret"),
        ("empty-both", b"\x01\x00\x00"),
        ("empty-user", b"\x01\x00\x04pass"),
        ("empty-pass", b"\x01\x04user\x00"),
        ("max-both", b"\x01\xff" + b"u" * 255 + b"\xff" + b"p" * 255),
        ("nul-in-user", b"\x01\x03a\x00b\x01x"),
        ("truncated-user", b"\x01\x05ali"),
        ("truncated-plen", b"\x01\x05alice"),
        ("version-5", b"\x05\x01a\x01b"),
        ("trailing", b"\x01\x01a\x01bGET / HTTP/1.1\r\n"),
    ]
    s += [("auth-" + n, bytes([AUTH]) + m) for n, m in a]
    r = [
        ("ipv4", s5_req(1, 1, bytes([127, 0, 0, 1]), 80)),
        ("ipv4-zero", s5_req(1, 1, bytes(4), 0)),
        ("ipv6", s5_req(1, 4, bytes(15) + b"\x01", 443)),
        ("ipv6-mapped", s5_req(1, 4, bytes(10) + b"\xff\xff\x0a\x00\x00\x01",
                               22)),
        ("domain", s5_dom(b"example.com")),
        ("domain-upper-dot", s5_dom(b"WWW.Example.COM.", 8080)),
        ("domain-ipv4-literal", s5_dom(b"10.1.2.3", 443)),
        ("domain-ipv6-literal", s5_dom(b"::1", 443)),
        ("domain-ipv6-bracket", s5_dom(b"[2001:db8::1]", 443)),
        ("domain-bracket-v4", s5_dom(b"[1.2.3.4]", 443)),
        ("domain-empty", s5_dom(b"")),
        ("domain-dot", s5_dom(b".")),
        ("domain-space", s5_dom(b"bad host")),
        ("domain-nul", s5_dom(b"1.2.3.4\x00junk")),
        ("domain-255", s5_dom(b".".join(c * 63 for c in
                                        (b"a", b"b", b"c", b"d")))),
        ("domain-underscore", s5_dom(b"_srv.my-host.example")),
        ("bind", s5_req(2, 1, bytes([0, 0, 0, 0]), 0)),
        ("udp", s5_req(3, 4, bytes(16), 53)),
        ("cmd-ff", s5_dom(b"x", 1, cmd=0xff)),
        ("atyp-2", b"\x05\x01\x00\x02\x01\x02\x03\x04\x00\x50"),
        ("atyp-0", b"\x05\x01\x00\x00"),
        ("rsv-set", s5_req(1, 1, bytes([1, 2, 3, 4]), 80, rsv=0xff)),
        ("version-4", s5_req(1, 1, bytes([1, 2, 3, 4]), 80, ver=4)),
        ("truncated-port", s5_req(1, 1, bytes([1, 2, 3, 4]), 80)[:-1]),
        ("truncated-domain", s5_dom(b"example.com")[:9]),
        ("with-data", s5_dom(b"example.com") + b"GET / HTTP/1.1\r\n"),
    ]
    s += [("request-" + n, bytes([REQUEST]) + m) for n, m in r]
    f = [
        ("connect", s4(1, 80, [127, 0, 0, 1], b"alice")),
        ("connect-no-user", s4(1, 443, [10, 0, 0, 1])),
        ("bind", s4(2, 0, [0, 0, 0, 0])),
        ("4a", s4(1, 80, [0, 0, 0, 1], b"", b"example.com")),
        ("4a-user", s4(1, 80, [0, 0, 0, 255], b"bob", b"Example.COM")),
        ("4a-ipv4-literal", s4(1, 80, [0, 0, 0, 1], b"", b"10.0.0.1")),
        ("4a-ipv6-literal", s4(1, 80, [0, 0, 0, 1], b"", b"::1")),
        ("4a-empty-host", s4(1, 80, [0, 0, 0, 1], b"u", b"")),
        ("4a-bad-host", s4(1, 80, [0, 0, 0, 1], b"", b"a b")),
        ("4a-host-255", s4(1, 80, [0, 0, 0, 9], b"", b"h" * 255)),
        ("4a-host-256", s4(1, 80, [0, 0, 0, 9], b"", b"h" * 256)),
        ("userid-255", s4(1, 80, [1, 2, 3, 4], b"u" * 255)),
        ("userid-256", s4(1, 80, [1, 2, 3, 4], b"u" * 256)),
        ("userid-unterminated", s4(1, 80, [1, 2, 3, 4], b"u" * 40)[:-1]),
        ("truncated-header", s4(1, 80, [1, 2, 3, 4])[:6]),
        ("4a-truncated-host", s4(1, 80, [0, 0, 0, 1], b"", b"abc")[:-1]),
        ("version-5", b"\x05\x01\x00\x50\x01\x02\x03\x04\x00"),
        ("with-data", s4(1, 80, [0, 0, 0, 1], b"", b"h") + b"\x16\x03\x01"),
    ]
    s += [("socks4-" + n, bytes([SOCKS4]) + m) for n, m in f]
    return s


# ----- HTTP: limits (3 bytes), split byte, [HEAD flag], message ---------
DEFAULT = bytes([0, 0, 0])
SMALL = bytes([16, 16, 5])          # head 256, line 64, 4 fields
TINY = bytes([2, 4, 2])             # head 32, line 16, 1 field


def req_seeds():
    H = b"Host: example.com\r\n"
    reqs = [
        ("get-origin", b"GET / HTTP/1.1\r\n" + H + b"\r\n"),
        ("get-absolute", b"GET http://example.com/path?q=1 HTTP/1.1\r\n" + H +
         b"User-Agent: fuzz\r\nAccept: */*\r\n\r\n"),
        ("get-absolute-port", b"GET http://example.com:8080/ HTTP/1.1\r\n" +
         b"Host: example.com:8080\r\n\r\n"),
        ("get-absolute-noslash", b"GET http://example.com HTTP/1.1\r\n" + H +
         b"\r\n"),
        ("get-absolute-query", b"GET http://h?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("get-http10", b"GET http://example.com/ HTTP/1.0\r\n\r\n"),
        ("get-empty-port", b"GET http://h:/x HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("get-upper-scheme", b"GET HTTP://H.Example/ HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("get-ipv6", b"GET http://[::1]:8080/x HTTP/1.1\r\nHost: [::1]:8080\r\n"
         b"\r\n"),
        ("get-ipv4", b"GET http://10.0.0.1/ HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n"),
        ("connect", b"CONNECT example.com:443 HTTP/1.1\r\n"
         b"Host: example.com:443\r\n\r\n"),
        ("connect-ipv6", b"CONNECT [2001:db8::1]:443 HTTP/1.1\r\n"
         b"Host: [2001:db8::1]:443\r\nProxy-Authorization: Basic YTpi\r\n\r\n"),
        ("connect-no-port", b"CONNECT example.com HTTP/1.1\r\n" + H + b"\r\n"),
        ("connect-port-0", b"CONNECT h:0 HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("connect-port-big", b"CONNECT h:99999 HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("connect-userinfo", b"CONNECT u@h:443 HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("post-length", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Content-Length: 5\r\n\r\nhello"),
        ("post-length-0", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Content-Length: 0\r\n\r\n"),
        ("post-chunked", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("post-chunked-upper", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"transfer-encoding:   CHUNKED  \r\n\r\n"),
        ("te-and-cl", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("te-gzip-chunked", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Transfer-Encoding: gzip, chunked\r\n\r\n"),
        ("te-gzip", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Transfer-Encoding: gzip\r\n\r\n"),
        ("te-empty", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Transfer-Encoding:\r\n\r\n"),
        ("te-twice", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("te-http10", b"POST http://h/ HTTP/1.0\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n"),
        ("cl-twice", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Content-Length: 5\r\nContent-Length: 5\r\n\r\n"),
        ("cl-list", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Content-Length: 5, 5\r\n\r\n"),
        ("cl-plus", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Content-Length: +5\r\n\r\n"),
        ("cl-huge", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Content-Length: 999999999999999999\r\n\r\n"),
        ("cl-19-digits", b"POST http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Content-Length: 1000000000000000000\r\n\r\n"),
        ("host-twice", b"GET http://h/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ("no-host-11", b"GET http://h/ HTTP/1.1\r\n\r\n"),
        ("connection-fields", b"GET http://h/ HTTP/1.1\r\nHost: h\r\n"
         b"Connection: close, Keep-Alive, upgrade, X-Foo\r\nX-Foo: 1\r\n"
         b"Upgrade: websocket\r\nProxy-Connection: keep-alive, close\r\n"
         b"Expect: 100-continue\r\nKeep-Alive: 5\r\nTE: trailers\r\n\r\n"),
        ("options-star", b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("https-scheme", b"GET https://h/ HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("ftp-scheme", b"GET ftp://h/f HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("bad-scheme", b"GET ht_tp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("fragment", b"GET http://h/p#frag HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("relative-target", b"GET foo HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("http2", b"GET / HTTP/2.0\r\nHost: h\r\n\r\n"),
        ("http-bad-version", b"GET / HTTP/1.x\r\nHost: h\r\n\r\n"),
        ("lowercase-method", b"get / HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("odd-method", b"M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("double-space", b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("leading-crlf", b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("leading-2crlf", b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("leading-3crlf", b"\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"),
        ("space-before-colon", b"GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
        ("bare-lf", b"GET / HTTP/1.1\nHost: h\n\n"),
        ("bare-cr", b"GET / HTTP/1.1\rHost: h\r\n\r\n"),
        ("empty-name", b"GET / HTTP/1.1\r\n: v\r\nHost: h\r\n\r\n"),
        ("no-colon", b"GET / HTTP/1.1\r\nHost h\r\n\r\n"),
        ("empty-value", b"GET / HTTP/1.1\r\nHost: h\r\nX-E:\r\n\r\n"),
        ("utf8-value", b"GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n"),
        ("ctl-value", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n"),
        ("nul-target", b"GET /\x00 HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("tab-value", b"GET / HTTP/1.1\r\nHost:\th\t\r\nX: a\tb\r\n\r\n"),
        ("incomplete", b"GET / HTTP/1.1\r\nHost: h\r\n"),
        ("incomplete-cr", b"GET / HTTP/1.1\r\nHost: h\r\n\r"),
        ("pipelined", b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n"
         b"Host: h\r\n\r\n"),
        ("empty", b""),
    ]
    s = []
    for i, (n, m) in enumerate(reqs):
        split = bytes([(i * 37) % 256])
        s.append(("req-" + n, DEFAULT + split + m))
    many = b"GET / HTTP/1.1\r\nHost: h\r\n" + b"".join(
        b"X-%d: v\r\n" % i for i in range(8)) + b"\r\n"
    longline = b"GET /" + b"a" * 80 + b" HTTP/1.1\r\nHost: h\r\n\r\n"
    big = b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"v" * 300 + b"\r\n\r\n"
    s += [
        ("req-small-ok", SMALL + b"\x80" + reqs[0][1]),
        ("req-small-too-many-fields", SMALL + b"\x10" + many),
        ("req-small-line-414", SMALL + b"\x40" + longline),
        ("req-small-head-431", SMALL + b"\xf0" + big),
        ("req-tiny-ok", TINY + b"\x00" + b"GET / HTTP/1.0\r\n\r\n"),
        ("req-tiny-one-field", TINY + b"\xff" +
         b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("req-zero-fields-max", bytes([0, 0, 1, 9]) +
         b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("req-head-max-exact", bytes([2, 0, 0, 0]) +
         b"GET / HTTP/1.1\r\nHost: abcdefgh\r\n\r\n"),
    ]
    return s


def resp_seeds():
    resps = [
        ("200-length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        ("200-length-0", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ("200-chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"5\r\nhello\r\n0\r\n\r\n"),
        ("200-te-gzip", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
        ("200-te-gzip-chunked", b"HTTP/1.1 200 OK\r\n"
         b"Transfer-Encoding: gzip, chunked\r\n\r\n"),
        ("200-te-and-cl", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n"),
        ("200-te-http10", b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n"
         b"\r\n"),
        ("200-close", b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody"),
        ("200-no-reason", b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx"),
        ("200-empty-reason", b"HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx"),
        ("200-reason-spaces", b"HTTP/1.1 200  Very  OK \r\n\r\n"),
        ("200-reason-utf8", b"HTTP/1.1 200 Tr\xc3\xa8s bien\r\n\r\n"),
        ("100-continue", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
        ("101-upgrade", b"HTTP/1.1 101 Switching Protocols\r\n"
         b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
        ("204", b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"),
        ("304", b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n"
         b"\r\n"),
        ("407", b"HTTP/1.1 407 Proxy Authentication Required\r\n"
         b"Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n"),
        ("999", b"HTTP/1.1 999 Odd\r\n\r\n"),
        ("099", b"HTTP/1.1 099 Low\r\n\r\n"),
        ("status-4-digits", b"HTTP/1.1 2000 OK\r\n\r\n"),
        ("status-letters", b"HTTP/1.1 2x0 OK\r\n\r\n"),
        ("http2", b"HTTP/2.0 200 OK\r\n\r\n"),
        ("http09", b"HTTP/0.9 200 OK\r\n\r\n"),
        ("lower-version", b"http/1.1 200 OK\r\n\r\n"),
        ("short-line", b"HTTP/1.1 20\r\n\r\n"),
        ("cl-twice", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
         b"Content-Length: 1\r\n\r\n"),
        ("cl-bad", b"HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n"),
        ("obs-fold", b"HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n"),
        ("bare-lf", b"HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
        ("leading-crlf", b"\r\nHTTP/1.1 200 OK\r\n\r\n"),
        ("two-hosts", b"HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\n"
         b"Connection: keep-alive\r\n\r\n"),
        ("incomplete", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"),
        ("empty", b""),
    ]
    s = []
    for i, (n, m) in enumerate(resps):
        split = bytes([(i * 53) % 256])
        s.append(("resp-" + n, DEFAULT + split + b"\x00" + m))
    s += [
        ("resp-head-200-length", DEFAULT + b"\x80\x01" + resps[0][1]),
        ("resp-head-200-chunked", DEFAULT + b"\x20\x01" + resps[2][1]),
        ("resp-small-many", SMALL + b"\x90\x00" + b"HTTP/1.1 200 OK\r\n" +
         b"".join(b"X-%d: v\r\n" % i for i in range(6)) + b"\r\n"),
        ("resp-tiny-431", TINY + b"\x10\x00" + b"HTTP/1.1 200 OK\r\n"
         b"Content-Length: 0\r\n\r\n"),
    ]
    return s


# ----- chunked: trailer limit (2 bytes LE), split byte, body ------------
def chunked_seeds():
    bodies = [
        ("one", b"5\r\nhello\r\n0\r\n\r\n"),
        ("two", b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        ("empty-body", b"0\r\n\r\n"),
        ("upper-hex", b"A\r\n0123456789\r\n0\r\n\r\n"),
        ("leading-zeros", b"0005\r\nhello\r\n000\r\n\r\n"),
        ("ext", b"5;name=value\r\nhello\r\n0;last\r\n\r\n"),
        ("ext-quoted", b"5;a=\"b;c\"\t;d\r\nhello\r\n0\r\n\r\n"),
        ("bws", b"5 \t;x\r\nhello\r\n0  \r\n\r\n"),
        ("trailers", b"5\r\nhello\r\n0\r\nX-Sum: 1\r\nY:2\r\n\r\n"),
        ("after-end", b"1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n"),
        ("16-digits", b"000000000000000a\r\n0123456789\r\n0\r\n\r\n"),
        ("17-digits", b"0000000000000000a\r\n"),
        ("huge", b"ffffffffffffffff\r\nabc"),
        ("no-digits", b"\r\n\r\n"),
        ("non-hex", b"5g\r\nhello\r\n"),
        ("bare-lf-size", b"5\nhello\r\n0\r\n\r\n"),
        ("bare-lf-data", b"5\r\nhello\n0\r\n\r\n"),
        ("missing-crlf", b"5\r\nhelloX\r\n0\r\n\r\n"),
        ("ctl-ext", b"5;\x01\r\nhello\r\n0\r\n\r\n"),
        ("digit-after-bws", b"5 5\r\nhello\r\n"),
        ("trailer-bad", b"0\r\n: x\r\n\r\n"),
        ("trailer-bare-lf", b"0\r\nX: 1\n\r\n"),
        ("trailer-ctl", b"0\r\nX: \x00\r\n\r\n"),
        ("truncated-data", b"a\r\nhel"),
        ("truncated-size", b"1"),
        ("truncated-end", b"0\r\n\r"),
        ("empty", b""),
    ]
    s = []
    for i, (n, b) in enumerate(bodies):
        split = bytes([(i * 41) % 256])
        s.append(("chunked-" + n, b"\x00\x10" + split + b))
    long_trailer = b"0\r\nX-Long: " + b"t" * 40 + b"\r\n\r\n"
    s += [
        ("chunked-trailer-over-limit", b"\x10\x00\x80" + long_trailer),
        ("chunked-trailer-at-limit", bytes([len(long_trailer) - 5, 0]) +
         b"\x40" + long_trailer),
        ("chunked-trailer-limit-0", b"\x00\x00\x33" +
         b"0\r\nX: 1\r\n\r\n"),
        ("chunked-many-small", b"\x00\x01\x99" + b"".join(
            b"1\r\n%c\r\n" % (97 + i) for i in range(20)) + b"0\r\n\r\n"),
    ]
    return s


# ----- rules: 24-byte header, then lines --------------------------------
def rules_hdr(ip, v6=False, mapped=False, shared=False, deny=False,
              prefix=24, port=443, lo=1, hi=65535):
    flags = (1 if v6 else 0) | (2 if mapped else 0) | \
        (4 if shared else 0) | (8 if deny else 0)
    raw = bytes(ip) + bytes(16 - len(ip))
    return bytes([flags]) + raw + bytes([prefix]) + \
        struct.pack(">HHH", port, lo, hi)


def rules_seeds():
    v4 = [10, 1, 2, 3]
    lo = [127, 0, 0, 1]
    v6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
    v6lo = [0] * 15 + [1]
    ll6 = [0xfe, 0x80] + [0] * 13 + [5]
    cases = [
        ("v4-in-block", rules_hdr(v4),
         b"10.0.0.0/8\nwww.example.com\n10.0.0.0/8\n*.example.com\n"),
        ("v4-out-of-block", rules_hdr([192, 168, 1, 1], prefix=16),
         b"10.0.0.0/8\nexample.com\n10.0.0.0/8\nexample.com\n"),
        ("v4-host-bits", rules_hdr(v4), b"10.0.0.1/8\nx\n"),
        ("v4-slash-0", rules_hdr(v4, prefix=0), b"0.0.0.0/0\nx\n0.0.0.0/0\n"),
        ("v4-slash-32", rules_hdr(v4, prefix=32), b"10.1.2.3/32\nx\n10.1.2.3\n"),
        ("v4-slash-33", rules_hdr(v4), b"10.1.2.3/33\nx\n"),
        ("v4-leading-zero-prefix", rules_hdr(v4), b"10.0.0.0/08\nx\n"),
        ("v4-plus-prefix", rules_hdr(v4), b"10.0.0.0/+8\nx\n"),
        ("v4-empty-prefix", rules_hdr(v4), b"10.0.0.0/\nx\n"),
        ("v4-odd-prefix", rules_hdr(v4, prefix=13), b"10.0.0.0/13\nx\n"),
        ("v6-block", rules_hdr(v6, v6=True, prefix=48),
         b"2001:db8::/32\nhost\n2001:db8::/32\n"),
        ("v6-slash-0", rules_hdr(v6, v6=True, prefix=0), b"::/0\nx\n::/0\n"),
        ("v6-slash-128", rules_hdr(v6lo, v6=True, prefix=128),
         b"::1/128\nlocalhost\n::1\n"),
        ("v6-link-local", rules_hdr(ll6, v6=True, prefix=10, shared=True),
         b"fe80::/10\nx\nfe80::/10\n"),
        ("v6-compat", rules_hdr(v6, v6=True), b"::1.2.3.4/128\nx\n"),
        ("mapped-block", rules_hdr(v4, v6=True, mapped=True, prefix=104),
         b"::ffff:10.0.0.0/104\nx\n::ffff:10.0.0.0/104\n"),
        ("mapped-95", rules_hdr(v4, v6=True, mapped=True, prefix=95),
         b"::ffff:0.0.0.0/95\nx\n"),
        ("mapped-96", rules_hdr(v4, v6=True, mapped=True, prefix=96),
         b"::ffff:0.0.0.0/96\nx\n"),
        ("mapped-address", rules_hdr(lo, v6=True, mapped=True, shared=True),
         b"127.0.0.0/8\nlocalhost\n"),
        ("shared-loopback", rules_hdr(lo, shared=True),
         b"127.0.0.1\nlocalhost\n*.example.com\n"),
        ("shared-loopback-named", rules_hdr(lo, shared=True),
         b"127.0.0.1\nlocalhost\nlocalhost\n"),
        ("shared-loopback-block", rules_hdr(lo, shared=True),
         b"127.0.0.0/8\nx\n127.0.0.0/8\n"),
        ("shared-zero-net", rules_hdr([0, 1, 2, 3], shared=True), b"\nx\n"),
        ("shared-metadata", rules_hdr([169, 254, 169, 254], shared=True),
         b"169.254.0.0/16\nmetadata\n*.internal\n"),
        ("deny-rule", rules_hdr(v4, deny=True), b"\nevil.example\n"
         b"evil.example\n*.evil.example\n"),
        ("host-case", rules_hdr(v4), b"\nWWW.Example.COM.\n*.EXAMPLE.com\n"
         b"Exact.Example.\n"),
        ("host-trailing-dots", rules_hdr(v4), b"\nexample.com...\n"
         b"example.com\n"),
        ("host-suffix-itself", rules_hdr(v4), b"\nexample.com\n*.example.com\n"),
        ("host-dot", rules_hdr(v4), b"\n.\n.\n*..\n"),
        ("host-long", rules_hdr(v4), b"\n" + b"a" * 255 + b"\n" +
         b"a" * 253 + b"\n*." + b"a" * 200 + b"\n"),
        ("bad-dests", rules_hdr(v4), b"\nx\n*\n*.\na b\nfoo/bar\nfoo:80\n"
         b"*x.com\n"),
        ("ports-match", rules_hdr(v4, port=8080, lo=8000, hi=8100),
         b"\nexample.com\nexample.com\n"),
        ("ports-miss", rules_hdr(v4, port=80, lo=443, hi=443),
         b"\nexample.com\nexample.com\n"),
        ("ports-none", rules_hdr(v4, port=80, lo=9, hi=1), b"\nx\nx\n"),
        ("many-dests", rules_hdr(v6, v6=True),
         b"fd00::/8\nh.example\n10.0.0.0/8\nfd00::/8\n2001:db8::/32\n"
         b"a.example\n*.b.example\nh.example\n192.168.0.0/16\n"),
        ("garbage", rules_hdr([255, 255, 255, 255], prefix=255),
         b"1.2.3.4.5\n\xff\xfe\n::ffff:1.2.3.4.5/200\n"),
    ]
    return [("rules-" + n, h + t) for n, h, t in cases]


# ----- configuration files ----------------------------------------------
def conf_seeds():
    s = []
    for path in ["contrib/examples/laptop.conf",
                 "contrib/examples/egress-gateway.conf",
                 "tests/unit/data/full.conf", "tests/unit/data/rules.conf",
                 "tests/unit/data/users-only.conf"]:
        p = os.path.join(ROOT, path)
        if os.path.exists(p):
            with open(p, "rb") as f:
                data = f.read()
            # the fuzz target may only open users.txt beside the file
            data = data.replace(b'"full.users"', b'"users.txt"')
            s.append(("file-" + os.path.basename(path), data))
    confs = [
        ("empty", b""),
        ("comment", b"# nothing\n// nothing\n/* nothing */\n"),
        ("listen-one", b'listen = ( { proto = "socks5"; address = "127.0.0.1";'
         b" port = 1080; } );\n"),
        ("listen-all-protos", b'listen = (\n { proto = "socks5"; port = 1; },\n'
         b' { proto = "http"; address = "::1"; },\n'
         b' { proto = "auto"; address = "127.0.0.2"; port = 8080; },\n'
         b' { proto = "socks4"; address = "127.0.0.3"; port = 65535; }\n);\n'),
        ("listen-twice", b'listen = ( { port = 1080; }, { port = 1080; } );\n'),
        ("listen-empty", b"listen = ( );\n"),
        ("listen-bad", b'listen = ( { proto = "gopher"; address = "x";'
         b" port = 0; } );\n"),
        ("listen-not-list", b"listen = 5;\n"),
        ("open-proxy", b'listen = ( { address = "0.0.0.0"; port = 1080; } );\n'),
        ("open-proxy-allowed", b'listen = ( { address = "0.0.0.0"; } );\n'
         b"allow_open_proxy = true;\n"),
        ("auth-users", b'auth = { required = true; users = (\n'
         b' { name = "alice"; password = "secret"; },\n'
         b' { name = "bob"; hash = "$5$G/uAYUipf8qwqjOW$myvd0w5aBumLls2UxO1uu'
         b'Cjp.wGtGCzzxeuWWe/8Oy4"; limits = { per_user = 3;'
         b' user_bandwidth = "1M"; user_quota_daily = "1G";'
         b' user_quota_monthly = 1000; }; }\n); realm = "proxy";'
         b" socks4_userid = true; remember_client = 60; };\n"),
        ("auth-file", b'auth = { file = "users.txt"; };\n'),
        ("auth-file-missing", b'auth = { file = "nope.txt"; };\n'),
        ("auth-required-no-users", b"auth = { required = true; };\n"),
        ("auth-bad-users", b'auth = { users = ( { name = "a:b"; password = ""; },'
         b' { name = "c"; password = "x"; hash = "y"; },'
         b' { name = "d"; hash = "$6$short"; }, { password = "x"; },'
         b' { name = "c"; password = "x"; } ); };\n'),
        ("groups", b'auth = { users = ( { name = "alice"; password = "x"; },'
         b' { name = "bob"; password = "y"; } );\n groups = ( { name = "staff";'
         b' users = [ "alice", "bob" ]; }, { name = "none"; users = [ ]; } );'
         b" };\n"),
        ("groups-unknown-user", b'auth = { groups = ( { name = "g";'
         b' users = [ "ghost" ]; } ); };\n'),
        ("rules", b'auth = { users = ( { name = "alice"; password = "x"; } );\n'
         b' groups = ( { name = "staff"; users = [ "alice" ]; } ); };\n'
         b'rules = (\n { action = "deny"; dest = [ "10.0.0.0/8", "fd00::/8",'
         b' "*.internal.example", "Exact.Example." ]; },\n'
         b' { action = "allow"; users = [ "alice" ]; groups = [ "staff", "staff" ];'
         b' ports = [ "80", "443", "8000-8100", 22 ];'
         b' protocols = [ "socks5", "socks4", "http", "connect" ];'
         b' methods = [ "GET", "POST" ]; },\n'
         b' { action = "allow"; name = "lan"; clients = [ "192.168.0.0/16",'
         b' "::1" ]; },\n { action = "deny"; }\n);\n'),
        ("rules-bad", b'rules = ( { action = "maybe"; dest = [ "10.0.0.1/8",'
         b' "*", "a b", "*." ]; ports = [ "90-80", "0", "x" ];'
         b' users = [ "ghost" ]; groups = [ "nogroup" ]; clients = [ "x" ];'
         b' protocols = [ "ftp" ]; methods = [ "get", "" ]; extra = 1; },'
         b" 5 );\n"),
        ("dns", b'dns = { servers = [ "127.0.0.1:5353", "[::1]:53", "10.0.0.53" ];'
         b" timeout_ms = 100; tries = 1; cache_ttl = 0; cache_size = 1; };\n"),
        ("dns-bad", b'dns = { servers = [ "nameserver", "[::1" ]; tries = -1; };\n'),
        ("timeouts", b"timeouts = { handshake = 1; connect = 2; idle = 3;"
         b" drain = 4; };\n"),
        ("timeouts-bad", b'timeouts = { handshake = 0; connect = "2"; };\n'),
        ("limits", b'limits = { max_connections = 0; per_client = 1; per_user = 2;'
         b' rate_per_client = 5; user_bandwidth = "10Mi";'
         b' conn_bandwidth = "64K"; user_quota_daily = "1.5G";'
         b' user_quota_monthly = "1GiB"; state_file = "quota.state"; };\n'),
        ("limits-bad-size", b'limits = { user_bandwidth = "10Q";'
         b' conn_bandwidth = "-1"; user_quota_daily = "99999999999T"; };\n'),
        ("log", b'log = { level = "debug"; access = "access.log";'
         b' format = "squid"; interim = 60; syslog_socket = "/dev/log"; };\n'),
        ("log-json-syslog", b'log = { format = "json"; access = "syslog"; };\n'),
        ("log-bad", b'log = { level = "loud"; access = ""; format = "xml"; };\n'),
        ("http", b"http = { max_header_size = 1024; max_request_line = 256;"
         b" max_headers = 256; forwarded_for = true; keepalive_timeout = 5;"
         b" pool_idle = 0; pool_max = 1; pool_per_origin = 1; };\n"),
        ("http-bad", b"http = { max_header_size = 1; max_headers = 257; };\n"),
        ("admin", b'admin = { address = "127.0.0.1"; port = 9191;'
         b' token = "secret-token"; };\n'),
        ("admin-public", b'admin = { address = "0.0.0.0"; port = 9191; };\n'),
        ("admin-on-listener", b'listen = ( { port = 1080; } );\n'
         b'admin = { address = "127.0.0.1"; port = 1080; };\n'),
        ("pac", b'pac = { bypass = [ "10.0.0.0/8", "*.corp.example", "intranet" ];'
         b" };\n"),
        ("run-as", b'user = "root"; group = "root";\n'),
        ("run-as-unknown", b'user = "no-such-user-here"; group = "nogroup";\n'),
        ("group-without-user", b'group = "root";\n'),
        ("workers", b"workers = 1;\n"),
        ("workers-4", b"workers = 4;\n"),
        ("unknown-key", b"frobnicate = true;\n"),
        ("syntax-error", b"listen = ( { port = 1080; }\n"),
        ("bad-string", b'auth = { realm = "unterminated; };\n'),
        ("int64", b"limits = { user_bandwidth = 10000000000L; };\n"),
        ("types", b'allow_open_proxy = "yes"; workers = 1.5;'
         b" listen = [ 1, 2 ];\n"),
        ("escapes", b'auth = { realm = "a\\"b\\\\c\\x41\\n\\t"; };\n'),
        ("colon-syntax", b"timeouts: { idle: 10; drain: 20 };\n"),
        # tests/fuzz/crashes/conf-newline-in-error.conf: a refused value
        # with a newline must give one error line
        ("newline-in-error", b'user = "nobody-here\n'
         b'/etc/sluice.conf:99: fake error";\n'),
    ]
    s += [("conf-" + n, c) for n, c in confs]
    return s


def main():
    write("socks5", socks_seeds())
    write("http_request", req_seeds())
    write("http_response", resp_seeds())
    write("chunked", chunked_seeds())
    write("rules", rules_seeds())
    write("conf", conf_seeds())


if __name__ == "__main__":
    main()
