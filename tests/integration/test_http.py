#!/usr/bin/python3
"""The HTTP forward proxy: real clients (curl, wget, urllib, Chromium) and
hand-made byte sequences against a real sluice with proto = "http" (or
"auto"), the loopback origins (http and https) and the loopback DNS server.
Run through tests/run.sh, or directly:

    /usr/bin/python3 tests/integration/test_http.py
    SLUICE_TESTS=errors_,auth_ /usr/bin/python3 tests/integration/test_http.py
"""

import warnings
warnings.filterwarnings("ignore", category=DeprecationWarning)
import crypt  # noqa: E402  (deprecated, still the simplest crypt(3))
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from harness import (Failure, ORIGIN_HOST, SLOW, Sluice, admin, check,
                     closed_port, curl, eq, free_port, main, mval, origin,
                     parse_metrics, proxy_send_q, run, s5_greeting, s5_request,
                     sha256, test, wait_for)

AUTH_CONF = ('auth = { users = ( { name = "alice"; password = "secret"; } );'
             ' };\n')
HELLO = b"hello from origin\n"


# ----- helpers ----------------------------------------------------------------

def proxy(fx, **kw):
    """A Sluice (the harness reaps what a failed test leaves running)."""
    return Sluice(fx, **kw)




def hp(sl):
    """host:port of the proxy."""
    return "%s:%d" % sl.addr


def purl(sl, user=None):
    """http://[user@]host:port of the proxy."""
    return "http://%s%s:%d" % (user + "@" if user else "", *sl.addr)


def ourl(fx, path, host="origin.test", port=None):
    return "http://%s:%d%s" % (host, port or fx.ports["http"], path)


def authority(fx, host="origin.test", port=None):
    return "%s:%d" % (host, port or fx.ports["http"])


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()) \
        .decode()


def get_req(fx, path, host="origin.test", extra="", version="1.1",
            method="GET", port=None):
    """An absolute-form request head for the proxy."""
    a = authority(fx, host, port)
    return ("%s http://%s%s HTTP/%s\r\nHost: %s\r\n%s\r\n" % (
        method, a, path, version, a, extra)).encode()


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # [(name, value)]
        self.body = body
        self.raw_head = raw_head

    def values(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def get(self, name, default=None):
        v = self.values(name)
        return v[0] if v else default

    def has(self, name):
        return bool(self.values(name))

    def conn_tokens(self):
        return {t.strip().lower() for v in self.values("connection")
                for t in v.split(",")}

    def __repr__(self):
        return "<%d %r %r body %d bytes>" % (self.status, self.reason,
                                             self.headers, len(self.body))


class Client:
    """A raw client connection with a receive buffer, for byte-exact
    requests and response framing checks."""

    def __init__(self, addr, src=None, timeout=10):
        self.sock = socket.socket()
        if src:
            self.sock.bind((src, 0))
        self.sock.settimeout(timeout * SLOW)
        self.sock.connect(addr)
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        if self.eof:
            raise EOFError("connection closed by the proxy")
        try:
            chunk = self.sock.recv(1 << 20)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise EOFError("connection closed by the proxy")
        self.buf += chunk

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until_close(self):
        try:
            while True:
                self._fill()
        except EOFError:
            pass
        out, self.buf = self.buf, b""
        return out

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.fullmatch(r"(HTTP/\d\.\d) (\d{3}) ?(.*)", lines[0])
        if not m:
            raise Failure("bad status line %r" % lines[0])
        headers = []
        for line in lines[1:]:
            k, colon, v = line.partition(":")
            check(colon and k and k == k.strip(), "bad field line %r" % line)
            headers.append((k, v.strip()))
        return m.group(1), int(m.group(2)), m.group(3), headers, head

    def read_response(self, head_request=False, raw_chunks=False):
        """One response; 1xx interim responses are skipped.  raw_chunks:
        the body is returned with its chunk framing."""
        while True:
            version, status, reason, headers, raw = self.read_head()
            if not 100 <= status < 200 or status == 101:
                break
        r = Response(version, status, reason, headers, b"", raw)
        if head_request or 100 <= status < 200 or status in (204, 304):
            return r
        te = r.get("transfer-encoding")
        if te is not None:
            check(te.lower() == "chunked", "Transfer-Encoding %r" % te)
            r.body, r.raw_body = self._read_chunked()
            if raw_chunks:
                r.body = r.raw_body
        elif r.has("content-length"):
            eq(len(r.values("content-length")), 1, "Content-Length fields")
            r.body = self.read_exact(int(r.get("content-length")))
        else:
            r.body = self.read_until_close()
        return r

    def _read_chunked(self):
        body, raw = [], []
        while True:
            line = self.read_line()
            raw.append(line + b"\r\n")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                break
            data = self.read_exact(size + 2)
            check(data.endswith(b"\r\n"), "chunk not followed by CRLF")
            body.append(data[:-2])
            raw.append(data)
        while True:                     # trailers
            line = self.read_line()
            raw.append(line + b"\r\n")
            if not line:
                break
        return b"".join(body), b"".join(raw)

    def closed(self, timeout=5):
        """True when the proxy closes (EOF or reset) within timeout with
        nothing more sent; False if it stays open."""
        if self.buf:
            raise Failure("unexpected bytes %r" % self.buf[:200])
        self.sock.settimeout(timeout * SLOW)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if data:
            raise Failure("unexpected bytes %r" % data[:200])
        return True

    def close(self):
        self.sock.close()


def one_request(sl, data, src=None, timeout=10, head_request=False):
    """Send data on a new connection, read one response, close."""
    c = Client(sl.addr, src, timeout)
    try:
        c.send(data)
        return c.read_response(head_request)
    finally:
        c.close()


def check_error(r, status, name=None):
    """One of sluice's own error answers."""
    eq(r.status, status, "status (%r)" % r)
    ct = r.get("content-type", "")
    check(ct.startswith("text/plain"), "Content-Type %r" % ct)
    check(0 < len(r.body) < 1000, "short body: %r" % r.body[:200])
    if name is not None:
        check(name.encode() in r.body, "body names %s: %r" % (name, r.body))


def access_with(sl, pred, what, timeout=5):
    """Wait (bounded: lines are flushed every 200 ms) for an access-log
    line matching pred; return it."""
    def find():
        for line in sl.access():
            if pred(line):
                return line
        return None
    return wait_for(find, timeout, what)


def curl_ok(r, what="curl"):
    eq(r.returncode, 0, "%s exit (%s)" % (what, r.stderr.decode(
        errors="replace")[-500:]))


class ScriptedOrigin:
    """A one-off origin on 127.0.0.3: for every connection it reads one
    request head, records it, and calls action(sock, head)."""

    def __init__(self, action, backlog=16):
        self.action = action
        self.heads = []
        self.lsock = socket.socket()
        self.lsock.bind((ORIGIN_HOST, 0))
        self.lsock.listen(backlog)
        self.port = self.lsock.getsockname()[1]
        self.stop_flag = False
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        self.lsock.settimeout(0.2)
        while not self.stop_flag:
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        c.settimeout(10)
        try:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            self.heads.append(buf)
            self.action(c, buf)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop_flag = True
        self.t.join(2)
        self.lsock.close()


# ----- curl basics -------------------------------------------------------------

@test
def curl_get_and_head(fx):
    sl = proxy(fx, proto="http")
    r = curl("-x", purl(sl), ourl(fx, "/hello"))
    curl_ok(r)
    eq(r.stdout, HELLO, "body")
    r = curl("-I", "-x", purl(sl), ourl(fx, "/hello"))
    curl_ok(r, "curl -I")
    head = r.stdout.decode("latin-1")
    check(head.startswith("HTTP/1.1 200 "), head)
    check("\r\nContent-Length: 18\r\n" in head, head)
    check(head.endswith("\r\n\r\n"), "no body after a HEAD: %r" % head)
    lines = sl.access(2)
    a = lines[0]
    eq(a["proto"], "http", "proto")
    eq(a["method"], "GET", "method")
    eq(a["url"], ourl(fx, "/hello"), "url")
    eq(a["target"], authority(fx), "target")
    eq(a["connected"], authority(fx, ORIGIN_HOST), "connected")
    eq(a["status"], "200", "status")
    eq(a["end"], "done", "end")
    eq(a["user"], "-", "user")
    check(int(a["down"]) > 18, "down %s" % a["down"])
    eq(lines[1]["method"], "HEAD", "HEAD logged")
    eq(lines[1]["status"], "200", "HEAD status")
    eq(sl.stop(), 0, "exit")


@test
def curl_post_5mib(fx):
    sl = proxy(fx, proto="http")
    n = 5 << 20
    data = os.urandom(n)
    path = os.path.join(fx.tmp, "post5.bin")
    with open(path, "wb") as f:
        f.write(data)
    # more than 1 MiB: curl sends "Expect: 100-continue" too
    r = curl("-x", purl(sl), "--data-binary", "@" + path, "-H",
             "Content-Type: application/octet-stream", ourl(fx, "/sink"))
    curl_ok(r)
    got = json.loads(r.stdout)
    eq(got["bytes"], n, "bytes at the origin")
    eq(got["sha256"], sha256(data), "sha256 at the origin")
    os.unlink(path)
    a = sl.access(1)[0]
    eq((a["method"], a["status"], a["end"]), ("POST", "200", "done"), "log")
    check(int(a["up"]) > n, "up bytes counted: %s" % a["up"])
    eq(sl.stop(), 0, "exit")


@test
def curl_chunked_upload(fx):
    sl = proxy(fx, proto="http")
    n = 3 * 1000 * 1000 + 17
    data = os.urandom(n)
    path = os.path.join(fx.tmp, "chunked-up.bin")
    with open(path, "wb") as f:
        f.write(data)
    r = curl("-x", purl(sl), "-H", "Transfer-Encoding: chunked",
             "--data-binary", "@" + path, ourl(fx, "/sink"))
    curl_ok(r)
    got = json.loads(r.stdout)
    eq(got["bytes"], n, "bytes at the origin")
    eq(got["sha256"], sha256(data), "sha256 at the origin")
    os.unlink(path)
    # and by hand, with chunk extensions and a trailer
    body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    r = one_request(sl, get_req(fx, "/sink", method="POST",
                                extra="Transfer-Encoding: chunked\r\n") +
                    body)
    eq(r.status, 200, "status")
    eq(json.loads(r.body), {"bytes": 11, "sha256": sha256(b"hello world")},
       "hand-made chunked body")
    eq(sl.stop(), 0, "exit")


@test
def curl_http10(fx):
    sl = proxy(fx, proto="http")
    r = curl("--http1.0", "-x", purl(sl), "-D", "-", ourl(fx, "/hello"))
    curl_ok(r)
    out = r.stdout
    check(out.endswith(b"\r\n\r\n" + HELLO), out)
    check(b"Via: 1.0 sluice" in out or b"Via: 1.1 sluice" in out, out)
    r = curl("--http1.0", "-x", purl(sl), ourl(fx, "/headers"))
    curl_ok(r)
    seen = json.loads(r.stdout)
    vias = [v for k, v in seen["headers"] if k.lower() == "via"]
    eq(vias, ["1.0 sluice"], "Via for an HTTP/1.0 client")
    eq(sl.access(2)[0]["status"], "200", "logged")
    eq(sl.stop(), 0, "exit")


@test
def http10_client_gets_chunked_response_dechunked(fx):
    sl = proxy(fx, proto="http")
    n = 100000
    c = Client(sl.addr)
    c.send(("GET %s HTTP/1.0\r\n\r\n" % ourl(fx, "/chunked/%d" % n))
           .encode())
    r = c.read_response()
    eq(r.status, 200, "status")
    check(not r.has("transfer-encoding"), "no Transfer-Encoding to an "
          "HTTP/1.0 client: %r" % r.headers)
    check(not r.has("content-length"), "close-delimited: %r" % r.headers)
    eq(len(r.body), n, "body length")
    check(r.body == origin.pattern(n), "body is the pattern, no framing")
    check(c.eof, "connection closed to end the body")
    c.close()
    eq(sl.access(1)[0]["status"], "200", "logged")
    eq(sl.stop(), 0, "exit")


@test
def curl_keepalive_reuse(fx):
    sl = proxy(fx, proto="http")
    r = curl("-v", "-x", purl(sl), ourl(fx, "/hello"), ourl(fx, "/bytes/1000"))
    curl_ok(r)
    eq(r.stdout, HELLO + origin.pattern(1000), "both bodies")
    err = r.stderr.decode(errors="replace")
    check("Re-using existing connection" in err, "curl re-used the proxy "
          "connection:\n" + err[-1500:])
    lines = sl.access(2)
    eq(lines[0]["id"], lines[1]["id"], "one session id for both requests")
    eq([x["status"] for x in lines], ["200", "200"], "statuses")
    eq(sl.stop(), 0, "exit")


@test
def download_64mib_sha256(fx):
    sl = proxy(fx, proto="http")
    n = 64 << 20
    p = subprocess.Popen(["curl", "-sS", "--max-time", str(int(30 * SLOW)),
                          "-x", purl(sl), ourl(fx, "/bytes/%d" % n)],
                         stdout=subprocess.PIPE)
    h, got = hashlib.sha256(), 0
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        got += len(chunk)
    eq(p.wait(30 * SLOW), 0, "curl exit")
    eq(got, n, "bytes received")
    eq(h.hexdigest(), origin.pattern_sha256(n), "sha256")
    a = sl.access(1)[0]
    check(int(a["down"]) > n, "down bytes counted: %s" % a["down"])
    eq(sl.stop(), 0, "exit")


@test
def chunked_and_close_bodies_intact(fx):
    sl = proxy(fx, proto="http")
    for n in (0, 1, 999, 1000, 1001, 3 * 1000 * 1000 + 7):
        r = curl("-x", purl(sl), ourl(fx, "/chunked/%d" % n))
        curl_ok(r, "chunked/%d" % n)
        check(r.stdout == origin.pattern(n), "chunked/%d body (%d bytes)" %
              (n, len(r.stdout)))
        r = curl("-x", purl(sl), ourl(fx, "/close/%d" % n))
        curl_ok(r, "close/%d" % n)
        check(r.stdout == origin.pattern(n), "close/%d body (%d bytes)" %
              (n, len(r.stdout)))
    # the chunk framing reaches an HTTP/1.1 client as the origin sent it
    c = Client(sl.addr)
    c.send(get_req(fx, "/chunked/2500"))
    r = c.read_response(raw_chunks=True)
    eq(r.get("transfer-encoding"), "chunked", "Transfer-Encoding")
    eq(r.body, b"3e8\r\n" + origin.pattern(1000) + b"\r\n3e8\r\n" +
       origin.pattern(2000)[1000:] + b"\r\n1f4\r\n" +
       origin.pattern(2500)[2000:] + b"\r\n0\r\n\r\n", "framing")
    # and the connection is still good for another request
    c.send(get_req(fx, "/hello"))
    eq(c.read_response().body, HELLO, "next request")
    c.close()
    eq(sl.stop(), 0, "exit")


# ----- persistence, framing, odd requests and clients ---------------------------

@test
def keepalive_semantics(fx):
    sl = proxy(fx, proto="http")
    # HTTP/1.0 with "Connection: keep-alive": kept, and said so
    c = Client(sl.addr)
    c.send(get_req(fx, "/hello", version="1.0",
                   extra="Connection: keep-alive\r\n"))
    r = c.read_response()
    eq(r.body, HELLO, "1.0 keep-alive body")
    check("keep-alive" in r.conn_tokens(), "Connection: keep-alive to an "
          "HTTP/1.0 client: %r" % r.headers)
    c.send(get_req(fx, "/hello", version="1.0"))
    r = c.read_response()
    eq(r.body, HELLO, "second 1.0 request")
    check(c.eof or c.closed(), "closed after a 1.0 request without "
          "keep-alive")
    c.close()
    # HTTP/1.1 with "Connection: close": answered, then closed
    c = Client(sl.addr)
    c.send(get_req(fx, "/hello", extra="Connection: close\r\n"))
    r = c.read_response()
    eq(r.body, HELLO, "body")
    check("close" in r.conn_tokens(), "Connection: close echoed")
    check(c.closed(), "closed")
    c.close()
    # HEAD of a chunked resource, 204, 304, 404 and 500 keep the connection
    c = Client(sl.addr)
    c.send(get_req(fx, "/chunked/5000", method="HEAD"))
    r = c.read_response(head_request=True)
    eq((r.status, r.get("transfer-encoding")), (200, "chunked"), "HEAD")
    for st in (204, 304, 404, 500):
        c.send(get_req(fx, "/status/%d" % st))
        r = c.read_response()
        eq(r.status, st, "status passed on")
    c.send(get_req(fx, "/nothing-here"))
    eq(c.read_response().status, 404, "origin's 404")
    c.send(get_req(fx, "/hello"))
    eq(c.read_response().body, HELLO, "still in sync after bodiless "
       "responses")
    check(not c.closed(0.2), "still open")
    c.close()
    lines = sl.access(10)
    eq([x["status"] for x in lines[-7:]],
       ["200", "204", "304", "404", "500", "404", "200"], "statuses logged")
    eq(sl.stop(), 0, "exit")


@test
def expect_100_continue(fx):
    sl = proxy(fx, proto="http")
    c = Client(sl.addr)
    c.send(get_req(fx, "/sink", method="POST", extra="Content-Length: 5\r\n"
                   "Expect: 100-continue\r\n"))
    version, status, _, _, _ = c.read_head()
    eq(status, 100, "interim 100 Continue passed to an HTTP/1.1 client")
    c.send(b"12345")
    r = c.read_response()
    eq(json.loads(r.body), {"bytes": 5, "sha256": sha256(b"12345")}, "sink")
    # a POST with a body, then a GET, in one write
    c.send(get_req(fx, "/sink", method="POST", extra="Content-Length: 3\r\n")
           + b"xyz" + get_req(fx, "/hello"))
    eq(json.loads(c.read_response().body)["bytes"], 3, "POST")
    eq(c.read_response().body, HELLO, "GET after the body")
    c.close()
    eq(sl.stop(), 0, "exit")


@test
def request_target_forms(fx):
    lines = []

    def answer(sock, head):
        lines.append(head.split(b"\r\n")[0])
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    so = ScriptedOrigin(answer)
    sl = proxy(fx, proto="http")
    try:
        a = "%s:%d" % (ORIGIN_HOST, so.port)
        for target in ("http://%s" % a, "http://%s?q=1" % a,
                       "http://%s/p/a%%20th?q=1&r" % a,
                       "HTTP://%s/upper" % a):
            r = one_request(sl, ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
                                 (target, a)).encode())
            eq(r.status, 200, target)
        eq(lines, [b"GET / HTTP/1.1", b"GET /?q=1 HTTP/1.1",
                   b"GET /p/a%20th?q=1&r HTTP/1.1", b"GET /upper HTTP/1.1"],
           "request lines at the origin")
        r = one_request(sl, ("GET http://%s/frag#x HTTP/1.1\r\nHost: %s\r\n"
                             "\r\n" % (a, a)).encode())
        check(r.status in (200, 400), "fragment: %r" % r)
        r = one_request(sl, ("GET http://user:pw@%s/ HTTP/1.1\r\nHost: %s\r\n"
                             "\r\n" % (a, a)).encode())
        check_error(r, 400)
    finally:
        so.close()
    # an IPv6 literal and a name in upper case
    sl2 = proxy(fx, proto="http")
    r = one_request(sl2, ("GET http://[::1]:%d/headers HTTP/1.1\r\nHost: x\r\n"
                          "\r\n" % fx.ports["http6"]).encode())
    eq(r.status, 200, "IPv6 literal")
    hosts = [v for k, v in seen_headers(json.loads(r.body)) if k == "host"]
    eq(hosts, ["[::1]:%d" % fx.ports["http6"]], "Host for an IPv6 literal")
    r = one_request(sl2, get_req(fx, "/hello", host="ORIGIN.Test"))
    eq(r.body, HELLO, "host names are case-insensitive")
    eq(sl.stop(), 0, "exit")
    eq(sl2.stop(), 0, "exit")


@test
def bad_chunked_request_body_400(fx):
    sl = proxy(fx, proto="http")
    c = Client(sl.addr)
    c.send(get_req(fx, "/sink", method="POST",
                   extra="Transfer-Encoding: chunked\r\n") +
           b"5\r\nhello\r\nzz\r\n")
    r = c.read_response()
    check_error(r, 400)
    check("close" in r.conn_tokens(), "Connection: close")
    check(c.closed(), "closed")
    c.close()
    a = sl.access(1)[0]
    eq(a["status"], "400", "logged")
    eq(sl.stop(), 0, "exit")


@test
def origin_response_framing(fx):
    def answer(sock, head):
        if b"/both" in head.split(b"\r\n")[0]:
            # Transfer-Encoding wins; Content-Length must not reach the
            # client beside it
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n"
                         b"3\r\nabc\r\n0\r\n\r\n")
        else:
            sock.sendall(b"HTTP/1.1 200 OK\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n"
                         b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n")
    so = ScriptedOrigin(answer)
    sl = proxy(fx, proto="http")
    try:
        c = Client(sl.addr)
        c.send(get_req(fx, "/both", host=ORIGIN_HOST, port=so.port))
        r = c.read_response()
        eq(r.body, b"abc", "body")
        check(not r.has("content-length"), "Content-Length dropped beside "
              "Transfer-Encoding: %r" % r.headers)
        c.send(get_req(fx, "/trailer", host=ORIGIN_HOST, port=so.port))
        r = c.read_response(raw_chunks=True)
        eq(r.body, b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n",
           "trailer passed with the framing")
        c.close()
    finally:
        so.close()
    eq(sl.stop(), 0, "exit")


def answer_413(sock):
    """An origin's 413 (Connection: close) before the request body is all
    read, then a lingering close, as real servers do: closing with the body
    unread would reset the connection, and the kernel may then drop the
    answer before it ever leaves the origin."""
    sock.sendall(b"HTTP/1.1 413 Content Too Large\r\n"
                 b"Content-Length: 4\r\nConnection: close\r\n\r\n"
                 b"big\n")
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(2)
    try:
        while sock.recv(1 << 20):
            pass
    except OSError:
        pass


@test
def origin_answers_before_request_body(fx):
    """The origin sends its final response (413, Connection: close) before
    reading the request body, then closes.  The response is complete while
    the request is not: the proxy must end the exchange (log it, close the
    client connection, or at least notice when the client closes)."""
    so = ScriptedOrigin(lambda sock, head: answer_413(sock))
    sl = proxy(fx, proto="http", conf="timeouts = { drain = 1; };\n")
    try:
        # curl stops sending on the early answer and closes
        path = os.path.join(fx.tmp, "early-up.bin")
        with open(path, "wb") as f:
            f.write(b"u" * (8 << 20))
        r = curl("-x", purl(sl), "-H", "Expect:", "--data-binary", "@" + path,
                 "http://%s:%d/early" % (ORIGIN_HOST, so.port), timeout=8)
        curl_ok(r, "curl with an early 413")
        eq(r.stdout, b"big\n", "curl got the 413 body")
        os.unlink(path)
        a = access_with(sl, lambda x: True, "the request in the access log "
                        "after curl closed", timeout=3)
        eq(a["status"], "413", "status logged")
        # by hand: 1000 of 100000 body bytes, then we wait
        c = Client(sl.addr)
        c.send(get_req(fx, "/early", host=ORIGIN_HOST, port=so.port,
                       method="POST", extra="Content-Length: 100000\r\n") +
               b"x" * 1000)
        r = c.read_response()
        eq((r.status, r.body), (413, b"big\n"), "early answer")
        closed = c.closed(3)
        c.close()
        check(closed, "the client connection is left open after a complete "
              "response to an incomplete request (response head %r)" %
              r.raw_head)
    finally:
        so.close()
    eq(sl.stop(), 0, "exit")


@test
def connect_needs_credentials(fx):
    sl = proxy(fx, proto="http", conf=AUTH_CONF)
    a = authority(fx, port=fx.ports["echo"])
    r = one_request(sl, ("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (
        a, a)).encode())
    check_error(r, 407)
    url = "https://origin.test:%d/hello" % fx.ports["https"]
    r = curl("-k", "-x", purl(sl), "--proxy-user", "alice:secret", url)
    curl_ok(r)
    eq(r.stdout, HELLO, "https with credentials")
    r = curl("-k", "-x", purl(sl), url)
    check(r.returncode != 0, "https without credentials must fail")
    lines = sl.access(3)
    eq(sorted((x["method"], x["status"], x["user"]) for x in lines),
       [("CONNECT", "200", "alice"), ("CONNECT", "407", "-"),
        ("CONNECT", "407", "-")], "log")
    eq(sl.stop(), 0, "exit")


@test
def client_half_close_after_request(fx):
    """A client may shut down its sending side once its request is out
    (RFC 9112 §9.6 only lets a server close after the response); the
    response must still arrive whole."""
    sl = proxy(fx, proto="http")
    cases = [
        ("name, first request", get_req(fx, "/hello"), 200, HELLO),
        ("IP literal", get_req(fx, "/hello", host=ORIGIN_HOST), 200, HELLO),
        ("pooled origin", get_req(fx, "/hello"), 200, HELLO),
        ("300000 bytes", get_req(fx, "/bytes/300000"), 200,
         origin.pattern(300000)),
        ("malformed", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, None),
    ]
    problems = []
    for what, req, status, body in cases:
        c = Client(sl.addr)
        c.send(req)
        c.sock.shutdown(socket.SHUT_WR)
        data = c.read_until_close()
        c.close()
        c.buf = data
        c.eof = True
        try:
            r = c.read_response()
            if r.status != status or (body is not None and r.body != body):
                problems.append("%s: status %d, %d body bytes" % (
                    what, r.status, len(r.body)))
        except (EOFError, Failure) as e:
            problems.append("%s: got %d bytes %r (%s)" % (
                what, len(data), data[:120], e))
        time.sleep(0.05)
    check(not problems, "after a half-close: " + "; ".join(problems))
    eq(sl.stop(), 0, "exit")


@test
def client_half_close_after_pipelined_requests(fx):
    """Requests pipelined before the client's FIN are all answered, in
    order, the last one with Connection: close, and then the proxy closes
    at once (RFC 9112 §9.3.2, §9.6)."""
    sl = proxy(fx, proto="http", conf="http = { keepalive_timeout = 30; };\n")
    # a small answer, a large one (spliced), one the proxy gives itself
    # (its PAC file), and a last one
    reqs = [get_req(fx, "/hello"), get_req(fx, "/bytes/300000"),
            b"GET /proxy.pac HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (
                sl.addr[0].encode(), sl.addr[1]),
            get_req(fx, "/hello", host=ORIGIN_HOST)]
    c = Client(sl.addr)
    c.send(b"".join(reqs))
    c.sock.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    rs = [c.read_response() for _ in reqs]
    closed = c.closed(5)
    took = time.monotonic() - t0
    c.close()
    eq((rs[0].status, rs[0].body), (200, HELLO), "first")
    eq((rs[1].status, rs[1].body), (200, origin.pattern(300000)), "second")
    eq(rs[2].status, 200, "the PAC file")
    check(b"FindProxyForURL" in rs[2].body, "a PAC file: %r" % rs[2].body)
    eq((rs[3].status, rs[3].body), (200, HELLO), "last")
    check(not any("close" in r.conn_tokens() for r in rs[:3]),
          "keep-alive while requests wait: %r" % [r.headers for r in rs])
    check("close" in rs[3].conn_tokens(), "the last answer says close: %r" %
          rs[3].headers)
    check(closed, "the proxy closes after the last answer")
    check(took < 5, "closed in %.1f s, not at the keep-alive timeout" % took)
    lines = sl.access(4)
    eq([(x["status"], x["end"]) for x in lines], [("200", "done")] * 4,
       "all four logged")

    # half-closed after a keep-alive exchange: closed now, not in 30 s
    c = Client(sl.addr)
    c.send(get_req(fx, "/hello"))
    eq(c.read_response().body, HELLO, "keep-alive answer")
    time.sleep(0.1)
    t0 = time.monotonic()
    c.sock.shutdown(socket.SHUT_WR)
    check(c.closed(5), "closed after the client's FIN")
    check(time.monotonic() - t0 < 5, "closed at once")
    c.close()

    # the FIN comes while the answer is on its way, behind a second request
    c = Client(sl.addr)
    c.send(get_req(fx, "/slow/300"))
    time.sleep(0.1)
    c.send(get_req(fx, "/hello"))
    c.sock.shutdown(socket.SHUT_WR)
    r1, r2 = c.read_response(), c.read_response()
    eq((r1.status, r1.body, r2.status, r2.body),
       (200, b"hello from origin\n", 200, HELLO), "slow, then hello")
    check("close" in r2.conn_tokens(), "the last answer says close")
    check(c.closed(5), "closed after both")
    c.close()
    eq(sl.stop(), 0, "exit")


@test
def client_half_close_cuts_a_request(fx):
    """A FIN in the middle of a request head gets a 400 (after the
    answers to the complete requests before it); a FIN in the middle of a
    Content-Length body reaches no origin: the connection is closed."""
    sl = proxy(fx, proto="http")

    def sent_then_fin(data):
        """A connection on which data went out, then the client's FIN."""
        c = Client(sl.addr)
        c.send(data)
        c.sock.shutdown(socket.SHUT_WR)
        return c

    def answered_then_closed(data, closed_what):
        """The one response sent_then_fin(data) gets, the close after it
        checked."""
        c = sent_then_fin(data)
        r = c.read_response()
        check(c.closed(5), closed_what)
        c.close()
        return r

    c = sent_then_fin(get_req(fx, "/hello") +
                      b"GET http://origin.test/ HTTP/1.1\r\nHo")
    r1 = c.read_response()
    r2 = c.read_response()
    eq((r1.status, r1.body), (200, HELLO), "the complete request")
    eq(r2.status, 400, "the cut one")
    check(b"cut short" in r2.body, "says why: %r" % r2.body)
    check("close" in r2.conn_tokens(), "and closes")
    check(c.closed(5), "closed after the 400")
    c.close()

    r = answered_then_closed(b"GET http://origin.test/", "closed")
    eq(r.status, 400, "a head cut before its first line ends")

    # a whole POST body, then the FIN: answered
    r = answered_then_closed(get_req(fx, "/sink", method="POST",
                                     extra="Content-Length: 5000\r\n") +
                             b"p" * 5000, "closed after")
    eq(r.status, 200, "POST with its whole body, then FIN")

    # half a body, then the FIN: no answer, closed, logged
    c = sent_then_fin(get_req(fx, "/sink", method="POST",
                              extra="Content-Length: 5000\r\n") + b"p" * 100)
    eq(c.read_until_close(), b"", "no answer to a cut body")
    c.close()
    a = access_with(sl, lambda x: x["end"] == "client_closed",
                    "the cut POST logged as client_closed")
    eq(a["method"], "POST", "method of the cut request")

    # a chunked body cut by the FIN: forwarded as far as it goes, then
    # the connection ends, with no answer
    c = sent_then_fin(get_req(fx, "/sink", method="POST", host=ORIGIN_HOST,
                              extra="Transfer-Encoding: chunked\r\n") +
                      b"5\r\nhello\r\n")
    eq(c.read_until_close(), b"", "no answer to a cut chunked body")
    c.close()
    access_with(sl, lambda x: x["end"] == "client_closed" and
                x["url"].startswith("http://" + ORIGIN_HOST),
                "the cut chunked POST logged")

    # a body cut while its origin's name is still being resolved (300 ms):
    # nothing is asked, the request is logged, the answer before it stays
    c = Client(sl.addr)
    c.send(get_req(fx, "/hello") +
           get_req(fx, "/sink", method="POST", host="slow.test",
                   extra="Content-Length: 5000\r\n") + b"q" * 10)
    r = c.read_response()
    eq((r.status, r.body), (200, HELLO), "the answer before the cut request")
    time.sleep(0.1)
    c.sock.shutdown(socket.SHUT_WR)
    check(c.closed(5), "closed after the FIN")
    c.close()
    a = access_with(sl, lambda x: x["end"] == "client_closed" and
                    "slow.test" in x["url"],
                    "the POST cut while resolving logged as client_closed")
    eq(a["method"], "POST", "method of the request cut while resolving")

    # a large answer still on its way when the next request turns out cut:
    # it arrives whole before the close
    r = answered_then_closed(get_req(fx, "/bytes/2000000") +
                             get_req(fx, "/sink", method="POST",
                                     extra="Content-Length: 5000\r\n") +
                             b"p" * 10, "then closed")
    eq((r.status, r.body), (200, origin.pattern(2000000)),
       "the answer before the cut request, whole")
    eq(sl.stop(), 0, "exit")


@test
def client_half_close_while_password_checked(fx):
    """A request with credentials that need crypt(3), then the FIN: the
    check finishes and the answer still goes out."""
    h = crypt.crypt("pa55", crypt.mksalt(crypt.METHOD_SHA512))
    sl = proxy(fx, proto="http", conf='auth = { users = ( { name = "carol";'
               ' hash = "%s"; } ); };\n' % h)
    c = Client(sl.addr)
    c.send(get_req(fx, "/hello", extra="Proxy-Authorization: %s\r\n" %
                   basic("carol", "pa55")))
    c.sock.shutdown(socket.SHUT_WR)
    r = c.read_response()
    eq((r.status, r.body), (200, HELLO), "answered after the FIN")
    check(c.closed(5), "closed after")
    c.close()
    eq(sl.stop(), 0, "exit")


@test
def head_split_at_every_byte(fx):
    sl = proxy(fx, proto="http")
    c = Client(sl.addr)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = b"\r\n" + get_req(fx, "/headers", extra="X-A: 1\r\n") + \
        get_req(fx, "/sink", method="POST", extra="Content-Length: 4\r\n") + \
        b"body"
    for b in req:
        c.sock.send(bytes([b]))
        time.sleep(0.001)
    r = c.read_response()
    eq(r.status, 200, "status")
    check(["X-A", "1"] in json.loads(r.body)["headers"], "field arrived")
    eq(json.loads(c.read_response().body)["bytes"], 4, "POST body")
    c.close()
    # a large but allowed head: one 50 KiB field
    r = one_request(sl, get_req(fx, "/headers", extra="X-Big: %s\r\n" %
                                ("v" * 50000)))
    eq(r.status, 200, "50 KiB field")
    check(["X-Big", "v" * 50000] in json.loads(r.body)["headers"],
          "the big field arrived whole")
    eq(sl.stop(), 0, "exit")


@test
def pipelined_burst_in_order(fx):
    sl = proxy(fx, proto="http")
    sizes = [(i * 7919) % 150000 for i in range(40)]
    c = Client(sl.addr, timeout=20)
    c.send(b"".join(get_req(fx, "/bytes/%d" % n) if i % 3 else
                    get_req(fx, "/chunked/%d" % n)
                    for i, n in enumerate(sizes)))
    for i, n in enumerate(sizes):
        r = c.read_response()
        eq(r.status, 200, "response %d" % i)
        check(r.body == origin.pattern(n), "body %d: %d bytes, want %d" %
              (i, len(r.body), n))
    c.close()
    eq(len(sl.access(40)), 40, "40 lines")
    eq(sl.stop(), 0, "exit")


@test
def large_bodies_spliced_keepalive(fx):
    """Content-Length bodies of 256 KiB and more go from the origin to the
    client by splice() (sluice_relay_bytes_total{how="splice"} grows by
    their size), on a keep-alive connection whose other requests (small,
    chunked, and pipelined behind the large ones) are answered whole and
    in order; the origin connection goes back to the pool after a spliced
    body and carries the next request.  The 40 MiB body spends relay
    budgets (its sockets go to the bulk priority, and back to the default
    at its end): the requests behind it are answered as before."""
    aport = free_port("127.0.0.1")
    sl = proxy(fx, proto="http", conf='admin = { address = "127.0.0.1"; '
               'port = %d; };\n' % aport)

    spliced0, reused0 = splice_counters(aport)
    sizes = [1 << 20, 0, 300000, -300000, 5000, 3 << 20, 40 << 20, 262144,
             262143, 7]
    c = Client(sl.addr, timeout=20)
    c.send(b"".join(get_req(fx, "/chunked/%d" % -n) if n < 0 else
                    get_req(fx, "/bytes/%d" % n) for n in sizes))
    for i, n in enumerate(sizes):
        r = c.read_response()
        eq(r.status, 200, "response %d" % i)
        check(r.body == origin.pattern(abs(n)), "body %d: %d bytes, want "
              "%d" % (i, len(r.body), abs(n)))
    c.close()
    spliced1, reused1 = splice_counters(aport)
    # what comes with the head (one read: 64 KiB at most) is copied, the
    # rest goes by splice() if at least 256 KiB of it are still to come;
    # small bodies and the chunked one are copied
    least = sum(n - 65536 for n in sizes if n - 65536 >= 262144)
    most = sum(n for n in sizes if n >= 262144)
    check(least <= spliced1 - spliced0 <= most, "spliced %d bytes, want "
          "%d to %d" % (spliced1 - spliced0, least, most))
    check(reused1 - reused0 >= len(sizes) - 1, "origin connection reused "
          "(%d of %d requests)" % (reused1 - reused0, len(sizes)))
    lines = sl.access(len(sizes))
    eq(len({a["id"] for a in lines}), 1, "one session")
    for a, n in zip(lines, sizes):
        check(int(a["down"]) > abs(n), "down counted: %s for %d" % (
            a["down"], abs(n)))
    eq(sl.stop(), 0, "exit")


def splice_counters(aport):
    """(bytes moved by splice(), origin connections reused) from /metrics."""
    st, _, body = admin(("127.0.0.1", aport), "GET", "/metrics")
    eq(st, 200, "/metrics")
    ms = parse_metrics(body.decode())
    return (mval(ms, "sluice_relay_bytes_total", how="splice"),
            mval(ms, "sluice_origin_pool_reused_total"))


def spliced_bytes(aport):
    return splice_counters(aport)[0]


class Sender(threading.Thread):
    """Sends data on sock in the background (the proxy may stop reading
    or close: the error is kept, not raised)."""

    def __init__(self, sock, data):
        super().__init__(daemon=True)
        self.sock, self.data, self.err = sock, data, None
        self.start()

    def run(self):
        try:
            self.sock.sendall(self.data)
        except OSError as e:
            self.err = e


@test
def large_uploads_spliced_keepalive(fx):
    """Content-Length request bodies with 256 KiB and more still to come go
    from the client to the origin by splice() (the splice counter grows by
    nearly their size), each byte in order (the origin's sha256), on a
    keep-alive connection with requests pipelined right behind the bodies:
    every answer comes whole and in order, the origin connection carries
    the next request, and the access log counts the bytes up."""
    aport = free_port("127.0.0.1")
    sl = proxy(fx, proto="http", conf='admin = { address = "127.0.0.1"; '
               'port = %d; };\n' % aport)
    sizes = [24 << 20, 0, 1 << 20, 262144 + 65536, 5000]
    bodies = [os.urandom(n) for n in sizes]
    spliced0, reused0 = splice_counters(aport)
    c = Client(sl.addr, timeout=30)
    reqs = b"".join(get_req(fx, "/sink", method="POST",
                            extra="Content-Length: %d\r\n" % n) + b
                    for n, b in zip(sizes, bodies)) + get_req(fx, "/conn")
    snd = Sender(c.sock, reqs)
    for i, (n, b) in enumerate(zip(sizes, bodies)):
        r = c.read_response()
        eq(r.status, 200, "response %d" % i)
        eq(json.loads(r.body), {"bytes": n, "sha256": sha256(b)},
           "body %d (%d bytes) as the origin got it" % (i, n))
    r = c.read_response()
    eq(r.status, 200, "the GET pipelined behind the uploads")
    snd.join(10)
    check(snd.err is None, "sending: %r" % snd.err)
    c.close()
    # what is read before the origin connection is up, and one read with
    # the head, is copied (256 KiB at most, then 128 KiB reads until the
    # pump catches up); the rest goes by splice() when 256 KiB or more of
    # the body are still to come
    spliced1, reused1 = splice_counters(aport)
    got = spliced1 - spliced0
    least = sum(n - (512 << 10) for n in sizes if n - (512 << 10) >= 262144)
    most = sum(n for n in sizes if n >= 262144)
    check(least <= got <= most, "spliced %d bytes, want %d to %d" % (
        got, least, most))
    # the origin connection goes back to the pool after a spliced upload
    check(reused1 - reused0 >= len(sizes), "origin connection reused "
          "(%d of %d requests)" % (reused1 - reused0, len(sizes) + 1))
    lines = sl.access(len(sizes) + 1)
    eq(len({a["id"] for a in lines}), 1, "one session")
    for a, n in zip(lines, sizes):
        check(int(a["up"]) > n, "up counted: %s for %d" % (a["up"], n))
        eq(a["end"], "done", "end")
    eq(sl.stop(), 0, "exit")


@test
def spliced_upload_cut_short(fx):
    """A spliced upload ends the way a copied one does: an origin that
    answers after 2 MiB of a 32 MiB body gets its answer to the client
    (and the client connection then closes); an origin that resets after
    2 MiB gives a 502 (or a reset); a client that half-closes after 2 MiB
    of 8 is logged as client_closed and its origin connection closed."""
    def answer(sock, head):
        left = (2 << 20) - (len(head) - head.index(b"\r\n\r\n") - 4)
        while left > 0:
            d = sock.recv(min(left, 1 << 20))
            if not d:
                return
            left -= len(d)
        if b"/reset" in head:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            return                      # closed with unread bytes: RST
        answer_413(sock)
    so = ScriptedOrigin(answer)
    aport = free_port("127.0.0.1")
    sl = proxy(fx, proto="http", conf='admin = { address = "127.0.0.1"; '
               'port = %d; };\ntimeouts = { drain = 1; };\n' % aport)
    try:
        for path in ("/early", "/reset"):
            spliced0 = spliced_bytes(aport)
            c = Client(sl.addr, timeout=20)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
            snd = Sender(c.sock, get_req(
                fx, path, host=ORIGIN_HOST, port=so.port, method="POST",
                extra="Content-Length: %d\r\n" % (32 << 20)) +
                b"u" * (32 << 20))
            try:
                r = c.read_response()
                status, body = r.status, r.body
            except EOFError:
                status, body = None, b""        # reset
            if path == "/early":
                eq((status, body), (413, b"big\n"), "early answer")
            else:
                check(status in (502, None), "after the origin's reset: "
                      "status %r" % status)
            check(c.closed(5), "%s: the client connection stays open" %
                  path)
            c.close()
            snd.join(10)
            check(spliced_bytes(aport) - spliced0 >= 1 << 20,
                  "%s: the body was not spliced before the origin spoke" %
                  path)
            a = access_with(sl, lambda x: x["url"].endswith(path),
                            "the %s request in the access log" % path)
            if path == "/early":
                eq(a["status"], "413", "status logged")
            else:
                check(a["end"] in ("target_reset", "target_closed"),
                      "end %r after the origin's reset" % a["end"])
        # the client's FIN after 2 MiB of 8
        c = Client(sl.addr, timeout=20)
        c.send(get_req(fx, "/sink", method="POST",
                       extra="Content-Length: %d\r\n" % (8 << 20)) +
               b"v" * (2 << 20))
        time.sleep(0.3)
        c.sock.shutdown(socket.SHUT_WR)
        check(c.closed(5), "the connection stays open after a cut body")
        c.close()
        a = access_with(sl, lambda x: x["url"].endswith("/sink"),
                        "the cut upload in the access log")
        eq(a["end"], "client_closed", "end of the cut upload")
        check(int(a["up"]) >= 2 << 20, "up counted: %s" % a["up"])
    finally:
        so.close()
    eq(sl.stop(), 0, "exit")
    # a client that stops sending in the middle: the idle timeout answers
    sl = proxy(fx, proto="http", conf="timeouts = { idle = 1; };\n")
    c = Client(sl.addr, timeout=20)
    c.send(get_req(fx, "/sink", method="POST",
                   extra="Content-Length: %d\r\n" % (8 << 20)) +
           b"w" * (2 << 20))
    t0 = time.monotonic()
    r = c.read_response()
    dt = time.monotonic() - t0
    eq(r.status, 504, "a stalled upload")
    check(0.8 <= dt <= 3 * SLOW, "answered after %.2f s (idle = 1 s)" % dt)
    check(c.closed(5), "the connection stays open after the 504")
    c.close()
    eq(sl.access(1)[0]["end"], "idle_timeout", "logged")
    eq(sl.stop(), 0, "exit")


@test
def full_duplex_body(fx):
    """An origin that answers while it reads (an echo of the request body,
    256 KiB at a time, Content-Length known from the start): both bodies
    must move at once.  A response moved by splice() while the request
    body still comes would leave the client unread, the origin waiting
    for it, and the exchange stuck until the idle timeout."""
    def echo(sock, head):
        n = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        body = head[head.index(b"\r\n\r\n") + 4:]
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
        done = 0
        while done < n:
            if not body:
                body = sock.recv(256 << 10)
                if not body:
                    return
            sock.sendall(body)
            done += len(body)
            body = b""
    so = ScriptedOrigin(echo)
    sl = proxy(fx, proto="http", conf="timeouts = { idle = 5; };\n")
    try:
        n = 16 << 20
        data = os.urandom(n)
        c = Client(sl.addr, timeout=20)
        snd = Sender(c.sock, get_req(fx, "/echo", host=ORIGIN_HOST,
                                     port=so.port, method="POST",
                                     extra="Content-Length: %d\r\n" % n) +
                     data)
        t0 = time.monotonic()
        r = c.read_response()
        dt = time.monotonic() - t0
        eq(r.status, 200, "status")
        check(r.body == data, "the echo: %d bytes back, want %d" % (
            len(r.body), n))
        check(dt < 4 * SLOW, "the echo took %.1f s" % dt)
        snd.join(10)
        check(snd.err is None, "sending: %r" % snd.err)
        c.close()
    finally:
        so.close()
    eq(sl.access(1)[0]["end"], "done", "logged")
    eq(sl.stop(), 0, "exit")


@test
def quota_cuts_a_spliced_upload(fx):
    """A transfer quota cuts a spliced upload at its byte, as it cuts a
    copied one: 403 to the client, the origin connection closed with the
    body short, the bytes counted once."""
    aport = free_port("127.0.0.1")
    sl = proxy(fx, proto="http", conf=AUTH_CONF +
               'limits = { user_quota_daily = 1000000; };\n'
               'admin = { address = "127.0.0.1"; port = %d; };\n' % aport)
    spliced0 = spliced_bytes(aport)
    cred = base64.b64encode(b"alice:secret").decode()
    c = Client(sl.addr, timeout=20)
    snd = Sender(c.sock, get_req(
        fx, "/sink", method="POST", extra="Proxy-Authorization: Basic %s"
        "\r\nContent-Length: %d\r\n" % (cred, 4 << 20)) + b"q" * (4 << 20))
    r = c.read_response()
    eq(r.status, 403, "the request over the quota")
    check(b"quota" in r.body, r.body)
    check(c.closed(5), "the connection stays open after the 403")
    c.close()
    snd.join(10)
    check(spliced_bytes(aport) - spliced0 >= 64 << 10,
          "the body was not spliced when the quota cut it")
    a = access_with(sl, lambda x: x["end"] == "quota_exceeded",
                    "the cut upload in the access log")
    check(1000000 <= int(a["up"]) <= 1000000 + 64,
          "alice's upload counted %s bytes up against her 1000000" % a["up"])
    eq(sl.stop(), 0, "exit")


@test
def slow_reader_memory_bounded(fx):
    sl = proxy(fx, proto="http")
    c = Client(sl.addr, timeout=30)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    n = 256 << 20
    c.send(get_req(fx, "/bytes/%d" % n))
    time.sleep(0.3)
    rss0 = sl.rss_kib()
    time.sleep(1.2)            # the origin streams, we do not read
    rss1 = sl.rss_kib()
    check(rss1 - rss0 < 4096, "RSS grew by %d KiB while the client did not "
          "read" % (rss1 - rss0))
    version, status, _, headers, _ = c.read_head()
    eq(status, 200, "status")
    got, h = len(c.buf), hashlib.sha256(c.buf)
    c.buf = b""
    while got < n:
        chunk = c.sock.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
        h.update(chunk)
    eq(got, n, "all bytes")
    eq(h.hexdigest(), origin.pattern_sha256(n), "sha256")
    c.close()
    eq(sl.stop(), 0, "exit")


def stalled_body_queue(fx, conf):
    """Send-Q of sluice's socket to a client that asked for a 256 MiB body
    (spliced: Content-Length) and reads nothing, once it stopped growing;
    and the bytes spliced by then."""
    aport = free_port("127.0.0.1")
    sl = proxy(fx, proto="http", conf=conf + 'admin = { address = '
               '"127.0.0.1"; port = %d; };\n' % aport)
    c = Client(sl.addr, timeout=30)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.send(get_req(fx, "/bytes/%d" % (256 << 20)))
    q = proxy_send_q(sl, c.sock)
    spliced = spliced_bytes(aport)
    c.close()
    eq(sl.stop(), 0, "exit")
    return q, spliced


@test
def slow_reader_send_queue_bounded(fx):
    """tcp.notsent_lowat on a spliced response body, as on a tunnel."""
    on, spliced = stalled_body_queue(fx, "")
    off, _ = stalled_body_queue(fx, "tcp = { notsent_lowat = 0; };\n")
    print("    send queue to a stalled reader: %d bytes with the default, "
          "%d with notsent_lowat = 0 (%d bytes spliced)" % (on, off, spliced))
    check(spliced > 0, "the body was not spliced")
    check(on <= 512 * 1024, "send queue %d bytes with notsent_lowat" % on)
    check(off > 2 * on, "the system's setting queued %d, the default %d: "
          "no difference to show" % (off, on))


@test
def auth_optional(fx):
    sl = proxy(fx, proto="http", conf='auth = { required = false; users = '
               '( { name = "alice"; password = "secret"; } ); };\n')
    r = curl("-x", purl(sl), ourl(fx, "/hello"))
    curl_ok(r, "anonymous")
    eq(r.stdout, HELLO, "anonymous body")
    r = curl("-x", purl(sl), "--proxy-user", "alice:secret",
             ourl(fx, "/hello"))
    eq(r.stdout, HELLO, "alice")
    r = one_request(sl, get_req(fx, "/hello", extra="Proxy-Authorization: "
                                "%s\r\n" % basic("alice", "bad")))
    check_error(r, 407)
    lines = sl.access(3)
    eq([(x["user"], x["status"]) for x in lines],
       [("-", "200"), ("alice", "200"), ("-", "407")], "log")
    eq(sl.stop(), 0, "exit")


# ----- HTTPS through CONNECT -----------------------------------------------------

@test
def https_through_connect(fx):
    check("https" in fx.ports, "the origin has no https server (openssl?)")
    sl = proxy(fx, proto="http")
    url = "https://origin.test:%d/hello" % fx.ports["https"]
    r = curl("-k", "-x", purl(sl), url)
    curl_ok(r, "curl -k")
    eq(r.stdout, HELLO, "body over TLS")
    # verified against the self-signed certificate, by name
    r = curl("--cacert", fx.tls_cert, "-x", purl(sl),
             "https://origin.test:%d/bytes/300000" % fx.ports["https"])
    curl_ok(r, "curl --cacert")
    check(r.stdout == origin.pattern(300000), "300000 bytes over TLS")
    # --proxytunnel: CONNECT for plain http too, then HTTP inside
    r = curl("-p", "-x", purl(sl), ourl(fx, "/headers"))
    curl_ok(r, "curl -p")
    seen = json.loads(r.stdout)
    eq(seen["target"], "/headers", "origin-form inside the tunnel")
    check(not any(k.lower() == "via" for k, _ in seen["headers"]),
          "nothing added inside a tunnel")
    r = curl("-k", "-p", "-x", purl(sl), url)
    curl_ok(r, "curl -k -p https")
    eq(r.stdout, HELLO, "body")
    # a tunnel's line is written when it ends: the order may vary
    lines = sl.access(4)
    https = "origin.test:%d" % fx.ports["https"]
    for a in lines:
        eq((a["proto"], a["method"], a["status"]),
           ("connect", "CONNECT", "200"), "CONNECT logged: %r" % a)
        # curl closes a TLS connection without waiting for the server's
        # close_notify; when that arrives after curl's close, the kernel
        # answers it with a reset: "client_reset" is then the truth
        ends = ("done", "client_reset") if a["target"] == https else \
            ("done",)
        check(a["end"] in ends, "CONNECT end: %r" % a)
    eq(sorted(x["target"] for x in lines),
       sorted(["origin.test:%d" % fx.ports["https"]] * 3 +
              [authority(fx)]), "targets")
    eq(sorted(x["connected"] for x in lines),
       sorted(["%s:%d" % (ORIGIN_HOST, fx.ports["https"])] * 3 +
              [authority(fx, ORIGIN_HOST)]), "connected")
    check(max(int(x["down"]) for x in lines) > 300000,
          "tunnel bytes counted")
    eq(sl.stop(), 0, "exit")


@test
def connect_with_early_data(fx):
    sl = proxy(fx, proto="http")
    a = authority(fx, port=fx.ports["echo"])
    c = Client(sl.addr)
    c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nearly" % (a, a))
           .encode())
    version, status, reason, headers, _ = c.read_head()
    eq(status, 200, "CONNECT status")
    eq(version, "HTTP/1.1", "version")
    eq(c.read_exact(5), b"early", "early bytes reached the echo server")
    c.send(b"later")
    eq(c.read_exact(5), b"later", "then the tunnel")
    c.sock.shutdown(socket.SHUT_WR)
    check(c.closed(), "FIN passed both ways")
    c.close()
    a = sl.access(1)[0]
    eq((a["proto"], a["status"], a["end"]), ("connect", "200", "done"),
       "logged")
    # the early bytes and a FIN in the same write: the FIN is passed on
    h = authority(fx, ORIGIN_HOST, fx.ports["halfclose"])
    c = Client(sl.addr)
    c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nxyz" % (h, h))
           .encode())
    c.sock.shutdown(socket.SHUT_WR)
    data = c.read_until_close()
    c.close()
    check(data.startswith(b"HTTP/1.1 200 "), "CONNECT answered: %r" % data)
    check(data.endswith(b"\r\n\r\ngot 3 bytes sha256=%s\n" %
                        sha256(b"xyz").encode()), "early data and FIN "
          "reached the target: %r" % data)
    eq(sl.stop(), 0, "exit")


# ----- other clients ------------------------------------------------------------------

@test
def wget_http_proxy_env(fx):
    sl = proxy(fx, proto="http")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": fx.tmp, "http_proxy": purl(sl)}
    r = run(["wget", "-q", "--no-config", "-t", "1", "-T", str(int(10 * SLOW)),
             "-O", "-", ourl(fx, "/hello")], timeout=20, env=env)
    eq(r.returncode, 0, "wget exit (%s)" % r.stderr)
    eq(r.stdout, HELLO, "body")
    r = run(["wget", "-q", "--no-config", "-t", "1", "-T", str(int(10 * SLOW)),
             "-O", "-", ourl(fx, "/bytes/200000")], timeout=20, env=env)
    eq(r.returncode, 0, "wget exit (%s)" % r.stderr)
    check(r.stdout == origin.pattern(200000), "200000 bytes")
    lines = sl.access(2)
    eq(lines[0]["url"], ourl(fx, "/hello"), "wget went through sluice")
    eq(sl.stop(), 0, "exit")


def urlopen(url, proxy, timeout=10):
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": proxy}))
    with opener.open(url, timeout=timeout * SLOW) as resp:
        return resp.status, resp.read()


@test
def urllib_proxy_handler(fx):
    sl = proxy(fx, proto="http")
    eq(urlopen(ourl(fx, "/hello"), purl(sl)), (200, HELLO), "urllib")
    eq(sl.stop(), 0, "exit")
    sl = proxy(fx, proto="http", conf=AUTH_CONF)
    eq(urlopen(ourl(fx, "/hello"), purl(sl, "alice:secret")), (200, HELLO),
       "urllib with credentials in the proxy URL")
    try:
        urlopen(ourl(fx, "/hello"), purl(sl))
        raise Failure("no credentials: served")
    except urllib.error.HTTPError as e:
        eq(e.code, 407, "without credentials")
        check('Basic realm="sluice"' in e.headers.get(
            "Proxy-Authenticate", ""), "challenge %r" % e.headers)
    lines = sl.access(2)
    eq(lines[0]["user"], "alice", "user logged")
    eq(lines[1]["status"], "407", "407 logged")
    eq(sl.stop(), 0, "exit")


# ----- pipelining -----------------------------------------------------------------------

@test
def pipelined_requests(fx):
    sl = proxy(fx, proto="http")
    c = Client(sl.addr)
    c.send(get_req(fx, "/hello") + get_req(fx, "/headers?p=2"))
    r1 = c.read_response()
    r2 = c.read_response()
    eq((r1.status, r1.body), (200, HELLO), "first response")
    eq(r2.status, 200, "second status")
    eq(json.loads(r2.body)["target"], "/headers?p=2", "second in order")
    check("close" not in r1.conn_tokens() | r2.conn_tokens(),
          "connection kept")
    check(not c.closed(0.3), "connection stays open")
    c.send(get_req(fx, "/bytes/5000"))
    r3 = c.read_response()
    eq(r3.body, origin.pattern(5000), "third request after")
    # three at once, the middle one a HEAD, then a POST with a body
    c.send(get_req(fx, "/hello") + get_req(fx, "/hello", method="HEAD") +
           get_req(fx, "/sink", method="POST",
                   extra="Content-Length: 3\r\n") + b"abc")
    eq(c.read_response().body, HELLO, "GET")
    h = c.read_response(head_request=True)
    eq((h.status, h.get("content-length")), (200, "18"), "HEAD")
    eq(json.loads(c.read_response().body)["bytes"], 3, "POST")
    c.close()
    lines = sl.access(6)
    eq(len({x["id"] for x in lines}), 1, "one connection")
    eq(sl.stop(), 0, "exit")


# ----- 407 ---------------------------------------------------------------------

@test
def auth_407_flow(fx):
    sl = proxy(fx, proto="http", conf=AUTH_CONF)
    url = ourl(fx, "/hello")
    r = curl("-i", "-x", purl(sl), url)
    curl_ok(r)
    out = r.stdout.decode("latin-1")
    check(out.startswith("HTTP/1.1 407 "), out[:200])
    check('\r\nProxy-Authenticate: Basic realm="sluice"\r\n' in out, out)
    r = curl("-i", "-x", purl(sl), "--proxy-user", "alice:wrong", url)
    check(r.stdout.startswith(b"HTTP/1.1 407 "), r.stdout[:200])
    r = curl("-x", purl(sl), "--proxy-user", "bob:secret", url)
    r = curl("-f", "-x", purl(sl), "--proxy-user", "alice:secret", url)
    curl_ok(r, "right credentials")
    eq(r.stdout, HELLO, "body")
    # the same raw, with the challenge's details
    r = one_request(sl, get_req(fx, "/hello"))
    check_error(r, 407)
    eq(r.values("proxy-authenticate"), ['Basic realm="sluice"'],
       "challenge")
    r = one_request(sl, get_req(fx, "/hello", extra="Proxy-Authorization: "
                                "Bearer abc\r\n"))
    check_error(r, 407)
    r = one_request(sl, get_req(fx, "/hello", extra="Proxy-Authorization: "
                                "Basic !!!notbase64\r\n"))
    check_error(r, 407)
    lines = sl.access(7)
    eq([x["status"] for x in lines],
       ["407", "407", "407", "200", "407", "407", "407"], "statuses")
    eq(lines[3]["user"], "alice", "user")
    eq(lines[0]["end"], "auth_required", "end for a 407")
    log = sl.log() + open(sl.access_path).read()
    check("secret" not in log and basic("alice", "secret")[6:] not in log,
          "passwords never logged")
    eq(sl.stop(), 0, "exit")


@test
def auth_custom_realm(fx):
    sl = proxy(fx, proto="http", conf='auth = { realm = "Test Realm 1"; '
                'users = ( { name = "alice"; password = "secret"; } ); };\n')
    r = one_request(sl, get_req(fx, "/hello"))
    check_error(r, 407)
    eq(r.values("proxy-authenticate"), ['Basic realm="Test Realm 1"'],
       "challenge")
    eq(sl.stop(), 0, "exit")


@test
def auth_keepalive_after_407(fx):
    sl = proxy(fx, proto="http", conf=AUTH_CONF)
    c = Client(sl.addr)
    c.send(get_req(fx, "/hello"))
    r = c.read_response()
    check_error(r, 407)
    check("close" not in r.conn_tokens(), "connection kept after a 407 "
          "for a request without a body: %r" % r.headers)
    c.send(get_req(fx, "/hello", extra="Proxy-Authorization: %s\r\n" %
                   basic("alice", "secret")))
    r = c.read_response()
    eq((r.status, r.body), (200, HELLO), "the same connection, credentials")
    # a 407 to a request with a body that is not read: closed
    c.send(get_req(fx, "/sink", method="POST",
                   extra="Content-Length: 10\r\n") + b"0123456789")
    r = c.read_response()
    check_error(r, 407)
    check("close" in r.conn_tokens(), "Connection: close after a 407 with "
          "a body: %r" % r.headers)
    check(c.closed(), "closed")
    c.close()
    lines = sl.access(3)
    eq(lines[0]["id"], lines[1]["id"], "one connection")
    eq(sl.stop(), 0, "exit")


@test
def auth_hashed_user(fx):
    h = crypt.crypt("pa55", crypt.mksalt(crypt.METHOD_SHA512))
    sl = proxy(fx, proto="http", conf='auth = { users = ( { name = "carol";'
                ' hash = "%s"; } ); };\n' % h)
    for i in range(3):          # the first check runs crypt, later ones hit
        r = curl("-f", "-x", purl(sl), "--proxy-user", "carol:pa55",
                 ourl(fx, "/hello"))
        curl_ok(r, "carol, try %d" % i)
        eq(r.stdout, HELLO, "body")
    r = one_request(sl, get_req(fx, "/hello", extra="Proxy-Authorization: "
                                "%s\r\n" % basic("carol", "nope")))
    check_error(r, 407)
    r = one_request(sl, get_req(fx, "/hello", extra="Proxy-Authorization: "
                                "%s\r\n" % basic("mallory", "pa55")))
    check_error(r, 407)
    # keep-alive with a crypt check in the middle
    c = Client(sl.addr)
    c.send(get_req(fx, "/hello", extra="Proxy-Authorization: %s\r\n" %
                   basic("carol", "pa55")) * 2)
    eq(c.read_response().body, HELLO, "pipelined 1")
    eq(c.read_response().body, HELLO, "pipelined 2")
    c.close()
    lines = sl.access(7)
    eq([x["status"] for x in lines],
       ["200"] * 3 + ["407", "407", "200", "200"], "statuses")
    eq(sl.stop(), 0, "exit")


# ----- header hygiene --------------------------------------------------------------

def seen_headers(seen):
    return [(k.lower(), v) for k, v in seen["headers"]]


@test
def request_header_hygiene(fx):
    sl = proxy(fx, proto="http", conf=AUTH_CONF)
    extra = ("Proxy-Authorization: %s\r\n"
             "Proxy-Connection: keep-alive\r\n"
             "Keep-Alive: timeout=5\r\n"
             "TE: trailers\r\n"
             "Connection: X-Secret, TE\r\n"
             "X-Secret: 1\r\n"
             "Upgrade: websocket\r\n"
             "X-Kept: yes\r\n"
             "User-Agent: hygiene-test\r\n" % basic("alice", "secret"))
    a = authority(fx)
    req = ("GET http://%s/headers?x=1 HTTP/1.1\r\nHost: wrong.example\r\n%s"
           "\r\n" % (a, extra)).encode()
    c = Client(sl.addr)
    c.send(req)
    r = c.read_response()
    eq(r.status, 200, "status")
    seen = json.loads(r.body)
    hdrs = seen_headers(seen)
    names = [k for k, _ in hdrs]
    for bad in ("proxy-authorization", "proxy-connection", "keep-alive",
                "te", "connection", "x-secret", "upgrade"):
        check(bad not in names, "%s reached the origin: %r" % (bad, hdrs))
    eq([v for k, v in hdrs if k == "host"], [a], "exactly one Host, the "
       "URL's authority")
    eq([v for k, v in hdrs if k == "via"], ["1.1 sluice"], "Via")
    eq(seen["target"], "/headers?x=1", "origin-form target")
    eq(seen["version"], "HTTP/1.1", "version to the origin")
    check(("x-kept", "yes") in hdrs and ("user-agent", "hygiene-test") in
          hdrs, "end-to-end fields kept: %r" % hdrs)
    check("x-forwarded-for" not in names, "no X-Forwarded-For by default")
    # the response carries Via, and the client's Connection is ours
    check(any(v.endswith("sluice") for v in r.values("via")),
          "Via on the response: %r" % r.headers)
    c.close()
    eq(sl.stop(), 0, "exit")


@test
def forwarded_for_option(fx):
    sl = proxy(fx, proto="http", conf="http = { forwarded_for = true; };\n")
    r = one_request(sl, get_req(fx, "/headers"), src="127.0.0.6")
    hdrs = seen_headers(json.loads(r.body))
    eq([v for k, v in hdrs if k == "x-forwarded-for"], ["127.0.0.6"],
       "X-Forwarded-For is the client address")
    eq(sl.stop(), 0, "exit")
    sl = proxy(fx, proto="http", conf="http = { forwarded_for = false; };\n")
    r = one_request(sl, get_req(fx, "/headers"), src="127.0.0.6")
    hdrs = seen_headers(json.loads(r.body))
    check("x-forwarded-for" not in [k for k, _ in hdrs], "absent: %r" % hdrs)
    eq(sl.stop(), 0, "exit")


@test
def response_hop_by_hop_dropped(fx):
    def answer(sock, head):
        sock.sendall(b"HTTP/1.1 200 OK\r\n"
                     b"Content-Type: text/plain\r\n"
                     b"Content-Length: 3\r\n"
                     b"Connection: keep-alive, X-Hop\r\n"
                     b"Keep-Alive: timeout=5, max=100\r\n"
                     b"X-Hop: secret\r\n"
                     b"Upgrade: h2c\r\n"
                     b"X-End-To-End: kept\r\n"
                     b"\r\n"
                     b"abc")
    so = ScriptedOrigin(answer)
    sl = proxy(fx, proto="http")
    try:
        c = Client(sl.addr)
        c.send(get_req(fx, "/", host=ORIGIN_HOST, port=so.port))
        r = c.read_response()
        eq((r.status, r.body), (200, b"abc"), "response")
        names = [k.lower() for k, _ in r.headers]
        for bad in ("keep-alive", "x-hop", "upgrade"):
            check(bad not in names, "%s passed to the client: %r" % (
                bad, r.headers))
        check(not any("x-hop" in v.lower() for v in r.values("connection")),
              "the origin's Connection passed on: %r" % r.values(
                  "connection"))
        eq(r.get("x-end-to-end"), "kept", "end-to-end field")
        eq(r.values("via"), ["1.1 sluice"], "Via")
        c.close()
    finally:
        so.close()
    eq(sl.stop(), 0, "exit")


# ----- errors --------------------------------------------------------------------

@test
def errors_upstream(fx):
    sl = proxy(fx, proto="http")
    r = one_request(sl, get_req(fx, "/", host="no-such-name.test", port=80))
    check_error(r, 502, "no-such-name.test")
    check("close" in r.conn_tokens(), "Connection: close")
    port = closed_port()
    r = one_request(sl, get_req(fx, "/", host=ORIGIN_HOST, port=port))
    check_error(r, 502, ORIGIN_HOST)
    r = one_request(sl, ("CONNECT %s:%d HTTP/1.1\r\nHost: x\r\n\r\n" % (
        ORIGIN_HOST, port)).encode())
    check_error(r, 502)
    lines = sl.access(3)
    eq([x["status"] for x in lines], ["502", "502", "502"], "logged")
    eq([x["end"] for x in lines], ["dns_failed", "connect_failed",
                                   "connect_failed"], "ends")
    eq(sl.stop(), 0, "exit")


@test
def errors_dns_timeout_504(fx):
    sl = proxy(fx, proto="http", conf='dns = { servers = [ "127.0.0.1:%d" '
                ']; timeout_ms = 300; tries = 1; };\n' % fx.dns_port)
    t0 = time.monotonic()
    r = one_request(sl, get_req(fx, "/", host="silent.test", port=80))
    took = time.monotonic() - t0
    check_error(r, 504, "silent.test")
    check(took < 3 * SLOW, "answered in %.2fs" % took)
    a = sl.access(1)[0]
    eq((a["status"], a["end"]), ("504", "dns_timeout"), "logged")
    eq(sl.stop(), 0, "exit")


@test
def errors_connect_timeout_504(fx):
    # a listener whose accept queue is full: the kernel drops further SYNs,
    # as a firewall would (no root, no iptables needed)
    full = socket.socket()
    full.bind((ORIGIN_HOST, 0))
    full.listen(0)
    port = full.getsockname()[1]
    filler = socket.socket()
    filler.settimeout(2)
    filler.connect((ORIGIN_HOST, port))
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        probe.connect((ORIGIN_HOST, port))
        probe.close()
        filler.close()
        full.close()
        print("      (SYNs to a full listener are not dropped here: "
              "skipped)")
        return
    except socket.timeout:
        pass
    finally:
        probe.close()
    sl = proxy(fx, proto="http", conf="timeouts = { connect = 1; };\n")
    try:
        t0 = time.monotonic()
        r = one_request(sl, get_req(fx, "/", host=ORIGIN_HOST, port=port))
        took = time.monotonic() - t0
        check_error(r, 504, ORIGIN_HOST)
        check(0.8 <= took < 3 * SLOW, "after the timeout: %.2fs" % took)
        r = one_request(sl, ("CONNECT %s:%d HTTP/1.1\r\nHost: x\r\n\r\n" % (
            ORIGIN_HOST, port)).encode())
        check_error(r, 504)
        lines = sl.access(2)
        eq([(x["status"], x["end"]) for x in lines],
           [("504", "connect_timeout")] * 2, "logged")
    finally:
        filler.close()
        full.close()
    eq(sl.stop(), 0, "exit")


MALFORMED = [
    ("bare LF", lambda fx: ("GET %s HTTP/1.1\nHost: %s\n\n" % (
        ourl(fx, "/hello"), authority(fx))).encode(), 400),
    ("CL and TE", lambda fx: get_req(
        fx, "/sink", method="POST", extra="Content-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n") + b"0\r\n\r\n", 400),
    ("obs-fold", lambda fx: get_req(
        fx, "/hello", extra="X-Folded: a\r\n  b\r\n"), 400),
    ("two Content-Lengths", lambda fx: get_req(
        fx, "/sink", method="POST", extra="Content-Length: 1\r\n"
        "Content-Length: 2\r\n") + b"ab", 400),
    ("space before colon", lambda fx: get_req(
        fx, "/hello", extra="X-Bad : 1\r\n"), 400),
    ("two Hosts", lambda fx: get_req(fx, "/hello", extra="Host: b\r\n"), 400),
    ("no Host in 1.1", lambda fx: ("GET %s HTTP/1.1\r\n\r\n" % ourl(
        fx, "/hello")).encode(), 400),
    ("origin-form", lambda fx: b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n",
     400),
    ("https scheme", lambda fx: b"GET https://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
     501),
    ("HTTP/2.0", lambda fx: ("GET %s HTTP/2.0\r\nHost: x\r\n\r\n" % ourl(
        fx, "/hello")).encode(), 505),
    ("request line 9000", lambda fx: get_req(
        fx, "/hello?" + "a" * 9000), 414),
    ("head over 64 KiB", lambda fx: get_req(
        fx, "/hello", extra="".join("X-Big-%02d: %s\r\n" % (i, "b" * 1000)
                                    for i in range(70))), 431),
    ("101 fields", lambda fx: get_req(
        fx, "/hello", extra="".join("X-F%d: v\r\n" % i
                                    for i in range(100))), 431),
]


@test
def errors_malformed_requests(fx):
    sl = proxy(fx, proto="http")
    for what, make, status in MALFORMED:
        c = Client(sl.addr)
        try:
            c.send(make(fx))
            r = c.read_response()
            check_error(r, status)
            check("close" in r.conn_tokens(), "%s: Connection: close (%r)" %
                  (what, r.headers))
            check(c.closed(), "%s: closed" % what)
        except (Failure, EOFError, OSError) as e:
            raise Failure("%s: %s" % (what, e))
        finally:
            c.close()
    lines = sl.access(len(MALFORMED))
    eq([x["status"] for x in lines], [str(s) for _, _, s in MALFORMED],
       "statuses logged")
    # 100 fields are fine (the limit), and the proxy still serves
    r = one_request(sl, get_req(fx, "/headers", extra="".join(
        "X-F%d: v\r\n" % i for i in range(99))))
    eq(r.status, 200, "100 fields")
    eq(sl.stop(), 0, "exit")


@test
def errors_head_limits_configurable(fx):
    sl = proxy(fx, proto="http", conf="http = { max_header_size = 2048; "
                "max_request_line = 300; max_headers = 10; };\n")
    r = one_request(sl, get_req(fx, "/hello?" + "a" * 300))
    check_error(r, 414)
    r = one_request(sl, get_req(fx, "/hello", extra="X-A: %s\r\n" %
                                ("a" * 2100)))
    check_error(r, 431)
    r = one_request(sl, get_req(fx, "/hello", extra="".join(
        "X-F%d: v\r\n" % i for i in range(10))))
    check_error(r, 431)
    r = one_request(sl, get_req(fx, "/hello", extra="".join(
        "X-F%d: v\r\n" % i for i in range(9))))
    eq((r.status, r.body), (200, HELLO), "10 fields with Host")
    eq(sl.stop(), 0, "exit")


# ----- origin misbehaviour ------------------------------------------------------------

@test
def origin_closes_before_responding(fx):
    so = ScriptedOrigin(lambda sock, head: None)       # read head, close
    sl = proxy(fx, proto="http")
    try:
        r = one_request(sl, get_req(fx, "/x", host=ORIGIN_HOST,
                                    port=so.port))
        check_error(r, 502)
        check("close" in r.conn_tokens(), "Connection: close")
        eq(len(so.heads), 1, "the origin got the request once")
        a = sl.access(1)[0]
        eq(a["status"], "502", "logged")
    finally:
        so.close()
    eq(sl.stop(), 0, "exit")


@test
def origin_malformed_response_502(fx):
    so = ScriptedOrigin(lambda sock, head: sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"
        b"abcd"))
    sl = proxy(fx, proto="http")
    try:
        r = one_request(sl, get_req(fx, "/x", host=ORIGIN_HOST,
                                    port=so.port))
        check_error(r, 502)
    finally:
        so.close()
    eq(sl.stop(), 0, "exit")


@test
def origin_read_until_close(fx):
    sl = proxy(fx, proto="http")
    n = 2 * 1000 * 1000 + 3
    c = Client(sl.addr)
    c.send(get_req(fx, "/close/%d" % n))
    r = c.read_response()
    eq(r.status, 200, "status")
    check(not r.has("content-length") and not r.has("transfer-encoding"),
          "close-delimited: %r" % r.headers)
    check("close" in r.conn_tokens(), "Connection: close to the client")
    eq(len(r.body), n, "all bytes")
    check(r.body == origin.pattern(n), "the pattern")
    check(c.eof, "closed")
    c.close()
    eq(sl.access(1)[0]["end"], "done", "logged as done")
    eq(sl.stop(), 0, "exit")


@test
def origin_pool_reuse(fx):
    sl = proxy(fx, proto="http")
    ports = []
    for i in range(3):
        r = one_request(sl, get_req(fx, "/conn"))
        eq(r.status, 200, "status")
        ports.append(int(r.body))
        wait_for(lambda: len(sl.access()) > i, 5, "request %d done" % i)
    eq(len(set(ports)), 1, "one origin connection for three clients: "
       "origin saw peer ports %r" % ports)
    # "Connection: close" from the client does not close the pooled origin
    r = one_request(sl, get_req(fx, "/conn", extra="Connection: close\r\n"))
    eq(int(r.body), ports[0], "still the same origin connection")
    # two at the same time need two origin connections
    a, b = Client(sl.addr), Client(sl.addr)
    a.send(get_req(fx, "/slow/300"))
    time.sleep(0.05)
    b.send(get_req(fx, "/conn"))
    eq(a.read_response().body, HELLO, "slow")
    other = int(b.read_response().body)
    check(other != ports[0], "a busy connection is not shared")
    a.close()
    b.close()
    eq(sl.stop(), 0, "exit")


@test
def origin_pool_stale_connection_retried(fx):
    sl = proxy(fx, proto="http")
    dropped = []

    def answer(sock, head):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        # keep-alive promised; the next request on this connection is read
        # and dropped unanswered (a keep-alive timeout racing a request)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = sock.recv(65536)
            if not d:
                return
            buf += d
        dropped.append(buf)
    so = ScriptedOrigin(answer)
    try:
        for i in range(3):
            r = one_request(sl, get_req(fx, "/x%d" % i, host=ORIGIN_HOST,
                                        port=so.port))
            eq((r.status, r.body), (200, b"ok"), "request %d" % i)
            wait_for(lambda: len(sl.access()) > i, 5, "request %d done" % i)
        eq(len(so.heads), 3, "answered on three connections")
        eq(len(dropped), 2, "sent twice on a stale pooled connection")
        check(b"GET /x1 " in dropped[0] and b"GET /x1 " in so.heads[1],
              "the same request again on a fresh connection")
        eq([x["status"] for x in sl.access()], ["200"] * 3, "logged")
    finally:
        so.close()
    eq(sl.stop(), 0, "exit")


# ----- auto port, SOCKS4 ----------------------------------------------------------------

@test
def auto_port_all_protocols(fx):
    sl = proxy(fx, proto="auto")
    url = ourl(fx, "/hello")
    for what, args, u in (
            ("socks5h", ["--socks5-hostname", hp(sl)], url),
            ("http", ["-x", purl(sl)], url),
            ("socks4", ["--socks4", hp(sl)], ourl(fx, "/hello", ORIGIN_HOST)),
            ("socks4a", ["--socks4a", hp(sl)], url),
            ("connect", ["-p", "-x", purl(sl)], url)):
        r = curl(*args, u)
        curl_ok(r, what)
        eq(r.stdout, HELLO, what)
    r = run(["ncat", "--proxy-type", "socks5", "--proxy", hp(sl),
             ORIGIN_HOST, str(fx.ports["echo"])], input=b"hello ncat\n",
            timeout=15)
    eq(r.stdout, b"hello ncat\n", "ncat socks5 (%s)" % r.stderr)
    # a TLS ClientHello is none of them: closed without an answer
    c = Client(sl.addr)
    c.send(b"\x16\x03\x01\x00\x05hello")
    check(c.closed(), "garbage closed")
    c.close()
    lines = sl.access(7)
    bad = [x for x in lines if x["end"] == "bad_protocol"]
    eq(len(bad), 1, "garbage logged: %r" % lines)
    eq(sorted(x["proto"] for x in lines if x is not bad[0]),
       sorted(["socks5", "http", "socks4", "socks4", "connect", "socks5"]),
       "protocols")
    check(all(x["status"] in ("0x00", "0x5a", "200") for x in lines
              if x is not bad[0]), "all served: %r" % lines)
    eq(sl.stop(), 0, "exit")


def socks4_request(port, ip, userid=b"", host=None):
    msg = b"\x04\x01" + struct.pack("!H", port)
    if host:
        msg += b"\x00\x00\x00\x01" + userid + b"\x00" + host.encode() + \
            b"\x00"
    else:
        msg += socket.inet_aton(ip) + userid + b"\x00"
    return msg


@test
def socks4_on_auth_proxy(fx):
    sl = proxy(fx, proto="auto", conf=AUTH_CONF)
    r = curl("--socks4", hp(sl), ourl(fx, "/hello", ORIGIN_HOST))
    check(r.returncode != 0, "SOCKS4 without a password must fail")
    c = Client(sl.addr)
    c.send(socks4_request(fx.ports["echo"], ORIGIN_HOST, b"alice"))
    eq(c.read_exact(2), b"\x00\x5b", "rejected (userid not honoured)")
    c.close()
    lines = sl.access(2)
    eq([x["end"] for x in lines], ["auth_required"] * 2, "logged")
    eq(sl.stop(), 0, "exit")

    sl = proxy(fx, proto="auto", conf='auth = { socks4_userid = true; '
                'users = ( { name = "alice"; password = "secret"; } ); };\n')
    r = curl("-x", "socks4://alice@%s" % hp(sl),
             ourl(fx, "/hello", ORIGIN_HOST))
    curl_ok(r, "socks4 with a user id")
    eq(r.stdout, HELLO, "body")
    r = curl("-x", "socks4a://alice@%s" % hp(sl), ourl(fx, "/hello"))
    curl_ok(r, "socks4a with a user id")
    eq(r.stdout, HELLO, "body")
    c = Client(sl.addr)
    c.send(socks4_request(fx.ports["echo"], ORIGIN_HOST, b"mallory"))
    eq(c.read_exact(8)[:2], b"\x00\x5d", "unknown user id: 0x5D")
    check(c.closed(), "closed")
    c.close()
    lines = sl.access(3)
    eq(sorted((x["user"], x["end"]) for x in lines),
       [("-", "auth_failed"), ("alice", "done"), ("alice", "done")],
       "users and ends")
    eq(sl.stop(), 0, "exit")


@test
def remember_client_http_then_socks5(fx):
    sl = proxy(fx, proto="auto", conf='auth = { remember_client = 30; '
                'users = ( { name = "alice"; password = "secret"; } ); };\n')
    # before any HTTP authentication: SOCKS5 without a password is refused
    c = Client(sl.addr, src="127.0.0.4")
    c.send(s5_greeting())
    eq(c.read_exact(2), b"\x05\xff", "not remembered yet")
    c.close()
    r = one_request(sl, get_req(fx, "/hello", extra="Proxy-Authorization: "
                                "%s\r\n" % basic("alice", "secret")),
                    src="127.0.0.4")
    eq((r.status, r.body), (200, HELLO), "HTTP with credentials")
    c = Client(sl.addr, src="127.0.0.4")
    c.send(s5_greeting() + s5_request(ORIGIN_HOST, fx.ports["echo"]))
    eq(c.read_exact(2), b"\x05\x00", "no-auth method for a remembered "
       "client")
    rep = c.read_exact(10)
    eq(rep[:4], b"\x05\x00\x00\x01", "request ok")
    c.send(b"hi")
    eq(c.read_exact(2), b"hi", "echo")
    c.close()
    c = Client(sl.addr, src="127.0.0.5")
    c.send(s5_greeting())
    eq(c.read_exact(2), b"\x05\xff", "another address is not remembered")
    c.close()
    lines = sl.access(4)
    ok = [x for x in lines if x["proto"] == "socks5" and
          x["status"] == "0x00"]
    eq(len(ok), 1, "one SOCKS5 session served: %r" % lines)
    eq(ok[0]["user"], "alice", "remembered user logged")
    eq(ok[0]["client"].split(":")[0], "127.0.0.4", "client")
    eq(sorted(x["end"] for x in lines if x["proto"] == "socks5" and
              x is not ok[0]), ["no_method", "no_method"], "refusals logged")
    eq(sl.stop(), 0, "exit")


# ----- the squid log format ---------------------------------------------------------

@test
def squid_log_format(fx):
    path = os.path.join(tempfile.mkdtemp(dir=fx.tmp), "squid.log")
    sl = proxy(fx, proto="http", conf='auth = { required = false; users = '
                '( { name = "alice"; password = "secret"; } ); };\n'
                'log = { level = "debug"; access = "%s"; format = "squid"; '
                '};\n' % path)
    r = curl("-x", purl(sl), ourl(fx, "/hello"))
    curl_ok(r)
    r = curl("-k", "-x", purl(sl), "https://origin.test:%d/hello" %
             fx.ports["https"])
    curl_ok(r, "https")
    r = one_request(sl, get_req(fx, "/hello", extra="Proxy-Authorization: "
                                "%s\r\n" % basic("alice", "bad")))
    eq(r.status, 407, "wrong password")

    def lines():
        try:
            with open(path) as f:
                return f.read().splitlines()
        except OSError:
            return []
    got = wait_for(lambda: len(lines()) >= 3 and lines(), 5, "3 lines")
    pats = [
        r"^\d+\.\d{3}\s+\d+ 127\.0\.0\.\d+ TCP_MISS/200 \d+ GET "
        r"http://\S+ - HIER_DIRECT/127\.0\.0\.3 text/plain$",
        r"^\d+\.\d{3}\s+\d+ 127\.0\.0\.\d+ TCP_TUNNEL/200 \d+ CONNECT "
        r"origin\.test:%d - HIER_DIRECT/127\.0\.0\.3 -$" % fx.ports["https"],
        r"^\d+\.\d{3}\s+\d+ 127\.0\.0\.\d+ TCP_DENIED/407 \d+ GET "
        r"http://\S+ \S+ HIER_NONE/- \S+$",
    ]
    # a tunnel's line is written when it ends: the order may vary
    for pat in pats:
        match = [line for line in got if re.match(pat, line)]
        eq(len(match), 1, "lines matching %r in %r" % (pat, got))
    check(any(ourl(fx, "/hello") in line and "TCP_MISS" in line
              for line in got), got)
    eq(sl.stop(), 0, "exit")


# ----- Upgrade -----------------------------------------------------------------------

@test
def upgrade_websocket_tunnel(fx):
    sl = proxy(fx, proto="http")
    c = Client(sl.addr)
    c.send(get_req(fx, "/upgrade", extra="Connection: Upgrade\r\n"
                   "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"))
    version, status, reason, headers, _ = c.read_head()
    r = Response(version, status, reason, headers, b"", b"")
    eq(status, 101, "status (%r)" % headers)
    eq([v.lower() for v in r.values("upgrade")], ["websocket"], "Upgrade")
    check("upgrade" in r.conn_tokens(), "Connection: upgrade")
    check(not c.buf, "nothing after the 101 head yet")
    for i in range(3):
        c.send(b"frame %d" % i)
        eq(c.read_exact(7), b"frame %d" % i, "echo %d" % i)
    big = os.urandom(500000)
    c.send(big)
    eq(c.read_exact(len(big)), big, "500000 bytes echoed")
    c.send(b"last")
    c.sock.shutdown(socket.SHUT_WR)
    eq(c.read_until_close(), b"last", "half-close: the rest, then EOF")
    c.close()
    a = sl.access(1)[0]
    eq((a["method"], a["status"], a["end"]), ("GET", "101", "done"),
       "logged when the tunnel ended")
    check(int(a["up"]) > 500000 and int(a["down"]) > 500000,
          "tunnel bytes counted: %r" % a)
    # without "Connection: upgrade" the Upgrade is not passed on
    r = one_request(sl, get_req(fx, "/upgrade", extra="Upgrade: websocket"
                                "\r\n"))
    eq(r.status, 426, "the origin saw no upgrade request")
    eq(sl.stop(), 0, "exit")


# ----- slow and idle clients -----------------------------------------------------------

@test
def slow_head_408(fx):
    sl = proxy(fx, proto="http", conf="timeouts = { handshake = 1; };\n")
    c = Client(sl.addr)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = get_req(fx, "/hello")
    t0 = time.monotonic()
    got = None
    for b in req:
        try:
            c.sock.send(bytes([b]))
        except OSError:
            break
        c.sock.settimeout(0.1)
        try:
            got = c.sock.recv(65536)
            break
        except socket.timeout:
            pass
        if time.monotonic() - t0 > 5 * SLOW:
            break
    check(got is not None, "no answer to a trickled head after %.1fs" %
          (time.monotonic() - t0))
    c.buf = got
    c.sock.settimeout(5 * SLOW)
    r = c.read_response()
    took = time.monotonic() - t0
    check_error(r, 408)
    check("close" in r.conn_tokens(), "Connection: close")
    check(0.8 <= took < 3 * SLOW, "after the handshake timeout: %.2fs" %
          took)
    check(c.closed(), "closed")
    c.close()
    a = sl.access(1)[0]
    eq((a["status"], a["end"]), ("408", "handshake_timeout"), "logged")
    eq(sl.stop(), 0, "exit")


@test
def keepalive_idle_timeout(fx):
    sl = proxy(fx, proto="http", conf="http = { keepalive_timeout = 1; };\n")
    c = Client(sl.addr)
    c.send(get_req(fx, "/hello"))
    eq(c.read_response().body, HELLO, "first request")
    time.sleep(0.5)
    c.send(get_req(fx, "/hello"))            # within the timeout: served
    eq(c.read_response().body, HELLO, "second request")
    t0 = time.monotonic()
    check(c.closed(5), "idle persistent connection closed")
    took = time.monotonic() - t0
    check(0.7 <= took < 3 * SLOW, "closed after %.2fs" % took)
    c.close()
    eq([x["status"] for x in sl.access(2)], ["200", "200"], "two requests")
    eq(sl.stop(), 0, "exit")


# ----- Chromium ----------------------------------------------------------------------

def chromium_dump(fx, proxy):
    chrome = shutil.which("chromium")
    if chrome is None:
        raise Failure("chromium is not installed (make deps-test)")
    prof = tempfile.mkdtemp(dir=fx.tmp)
    r = run([chrome, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=" + prof,
             "--proxy-server=" + proxy, "--dump-dom",
             ourl(fx, "/headers")], timeout=40)
    out = r.stdout.decode(errors="replace")
    check('"target": "/headers"' in out, "page content from the origin "
          "(rc %d): %s %s" % (r.returncode, out[-500:], r.stderr[-1500:]))
    return out


@test
def chromium_http_proxy(fx):
    sl = proxy(fx, proto="http")
    out = chromium_dump(fx, purl(sl))
    check('"1.1 sluice"' in out, "the origin saw Via: %s" % out[-800:])
    access_with(sl, lambda a: a.get("url") == ourl(fx, "/headers") and
                a["status"] == "200", "chromium's request in the access log")
    eq(sl.stop(), 0, "exit")


@test
def chromium_socks5_on_auto_port(fx):
    sl = proxy(fx, proto="auto")
    chromium_dump(fx, "socks5://%s" % hp(sl))
    access_with(sl, lambda a: a["proto"] == "socks5" and
                a["target"] == authority(fx) and a["status"] == "0x00",
                "chromium's SOCKS5 session in the access log")
    eq(sl.stop(), 0, "exit")


if __name__ == "__main__":
    sys.exit(main())
