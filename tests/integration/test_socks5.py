#!/usr/bin/python3
"""SOCKS5 core: real clients (curl, PySocks, ncat, proxychains4, Chromium)
and hand-made byte sequences against a real sluice, loopback origins and a
loopback DNS server.  Run through tests/run.sh, or directly:

    /usr/bin/python3 tests/integration/test_socks5.py
"""

import concurrent.futures
import warnings
warnings.filterwarnings("ignore", category=DeprecationWarning)
import crypt  # noqa: E402  (deprecated, still the simplest crypt(3))
import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from harness import (Failure, ORIGIN_HOST, PROXY_HOST, SLOW, Sluice,
                     Socks5Error, Thread, check, closed_port, curl, eq,
                     http_get, main, origin, proxy_send_q, recv_all,
                     recv_exact, run,
                     s5_auth, s5_connect, s5_expect_rep, s5_greeting,
                     s5_read_reply, s5_request, sha256, test, wait_for)

import socks  # Debian python3-socks (PySocks)


def origin_url(fx, path, host="origin.test"):
    return "http://%s:%d%s" % (host, fx.ports["http"], path)


# ----- command line -------------------------------------------------------

@test
def cli_help_version_usage(fx):
    r = run([sys_sluice(), "--help"])
    eq(r.returncode, 0, "--help exit")
    check(b"usage: sluice" in r.stdout, "usage on stdout")
    eq(r.stderr, b"", "--help stderr")
    r = run([sys_sluice(), "--version"])
    eq(r.returncode, 0, "--version exit")
    check(r.stdout.startswith(b"sluice "), "version text")
    r = run([sys_sluice(), "--bogus"])
    eq(r.returncode, 2, "bad flag exit")
    check(b"usage: sluice" in r.stderr, "usage on stderr")
    eq(r.stdout, b"", "bad flag stdout")
    r = run([sys_sluice(), "-l", "ftp://1.2.3.4:21"])
    eq(r.returncode, 2, "bad -l exit")
    r = run([sys_sluice(), "-u", "nopassword"])
    eq(r.returncode, 2, "bad -u exit")
    r = run([sys_sluice(), "extra-argument"])
    eq(r.returncode, 2, "stray argument exit")


def sys_sluice():
    from harness import SLUICE
    return SLUICE


@test
def cli_check_config(fx):
    d = tempfile.mkdtemp(dir=fx.tmp)
    good = os.path.join(d, "good.conf")
    with open(good, "w") as f:
        f.write('listen = ( { proto = "socks5"; address = "::1"; '
                'port = 1081; } );\n'
                'auth = { users = ( { name = "alice"; password = "s3cret"; '
                '} ); };\ntimeouts = { idle = 60; };\n')
    r = run([sys_sluice(), "-t", "-c", good])
    eq(r.returncode, 0, "-t good exit")
    check(b"configuration OK" in r.stdout, "-t says OK")
    check(b"[::1]:1081" in r.stdout, "-t prints the listener")
    check(b"s3cret" not in r.stdout + r.stderr, "password never printed")
    bad = os.path.join(d, "bad.conf")
    with open(bad, "w") as f:
        f.write('listen = ( { proto = "socks5"; address = "127.0.0.1";\n'
                '  port = "1080"; } );\nbogus = 1;\n')
    r = run([sys_sluice(), "-t", "-c", bad])
    eq(r.returncode, 1, "-t bad exit")
    err = r.stderr.decode()
    check("%s:2: listen[0].port: expected an integer" % bad in err, err)
    check("%s:3: bogus: unknown key" % bad in err, err)
    # the same file refuses to start
    r = run([sys_sluice(), "-c", bad], timeout=10)
    eq(r.returncode, 1, "start with bad config")
    missing = os.path.join(d, "users.conf")
    with open(missing, "w") as f:
        f.write('auth = { file = "nope.txt"; };\n')
    r = run([sys_sluice(), "-t", "-c", missing])
    eq(r.returncode, 1, "unreadable users file")
    check(("%s:1: auth.file: cannot read" % missing).encode() in r.stderr,
          r.stderr)


@test
def embedded_default_listens_on_1080(fx):
    for port in (1080, 3128):
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            print("      (127.0.0.1:%d is taken here: skipped)" % port)
            return
        finally:
            probe.close()
    from harness import WRAPPER
    p = subprocess.Popen(WRAPPER + [sys_sluice()], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        wait_for(lambda: _can_connect(("127.0.0.1", 1080)), 10,
                 "the default listener")
        # no DNS configured for this one: an IP literal target
        s = s5_connect(("127.0.0.1", 1080), ORIGIN_HOST, fx.ports["http"])
        status, _, body = http_get(s, "/hello")
        s.close()
        eq(status, 200, "status")
        eq(body, b"hello from origin\n", "body")
        r = curl("-x", "http://127.0.0.1:3128", "http://%s:%d/hello" %
                 (ORIGIN_HOST, fx.ports["http"]))
        eq(r.stdout, b"hello from origin\n", "HTTP proxy on 3128")
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=15 * SLOW)
    eq(p.returncode, 0, "exit after SIGTERM")
    check(b"listening: socks5 on 127.0.0.1:1080" in err, err[-2000:])
    check(b"listening: http on 127.0.0.1:3128" in err, err[-2000:])
    check(b"event backend epoll" in err, "backend logged")


def _can_connect(addr):
    s = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET)
    try:
        s.connect(addr)
        return True
    except OSError:
        return False
    finally:
        s.close()


# ----- real clients --------------------------------------------------------

@test
def curl_socks5_ip_and_hostname(fx):
    sl = Sluice(fx)
    r = curl("--socks5", "%s:%d" % sl.addr, origin_url(fx, "/hello",
                                                        ORIGIN_HOST))
    eq(r.returncode, 0, "curl --socks5 exit (%s)" % r.stderr)
    eq(r.stdout, b"hello from origin\n", "body")
    r = curl("--socks5-hostname", "%s:%d" % sl.addr,
             origin_url(fx, "/hello"))
    eq(r.returncode, 0, "curl --socks5-hostname exit (%s)" % r.stderr)
    eq(r.stdout, b"hello from origin\n", "body")
    # an IPv6 target by literal and by a name with only AAAA
    r = curl("--socks5-hostname", "%s:%d" % sl.addr,
             "http://[::1]:%d/hello" % fx.ports["http6"])
    eq(r.stdout, b"hello from origin\n", "IPv6 literal (%s)" % r.stderr)
    r = curl("--socks5-hostname", "%s:%d" % sl.addr,
             "http://origin6.test:%d/hello" % fx.ports["http6"])
    eq(r.stdout, b"hello from origin\n", "AAAA-only name (%s)" % r.stderr)
    lines = sl.access(4)
    eq(lines[1]["target"], "origin.test:%d" % fx.ports["http"], "target")
    eq(lines[1]["connected"], "%s:%d" % (ORIGIN_HOST, fx.ports["http"]),
       "connected address")
    eq(lines[3]["connected"], "[::1]:%d" % fx.ports["http6"], "v6 address")
    eq(lines[1]["status"], "0x00", "status")
    eq(lines[1]["user"], "-", "user")
    check(int(lines[1]["down"]) > 18 and int(lines[1]["up"]) > 20, "bytes")
    eq(sl.stop(), 0, "exit status")


@test
def curl_with_password(fx):
    sl = Sluice(fx, conf='auth = { users = ( { name = "alice"; '
                'password = "wonder land"; } ); };\n')
    base = ["--socks5-hostname", "%s:%d" % sl.addr]
    r = curl(*base, "--proxy-user", "alice:wonder land",
             origin_url(fx, "/hello"))
    eq(r.stdout, b"hello from origin\n", "right password (%s)" % r.stderr)
    r = curl(*base, "--proxy-user", "alice:wrong", origin_url(fx, "/hello"))
    check(r.returncode != 0, "wrong password must fail")
    r = curl(*base, origin_url(fx, "/hello"))
    check(r.returncode != 0, "no credentials must fail")
    lines = sl.access(3)
    eq(lines[0]["user"], "alice", "user logged")
    eq(lines[1]["end"], "auth_failed", "wrong password logged")
    eq(lines[2]["end"], "no_method", "no method logged")
    log = sl.log()
    check("wonder land" not in log and "wrong" not in
          open(sl.access_path).read(), "passwords never logged")
    check('authentication failed for user "alice"' in log, "auth failure log")
    eq(sl.stop(), 0, "exit")


@test
def hashed_password_via_crypt_pool(fx):
    users = os.path.join(fx.tmp, "users-hashed.txt")
    with open(users, "w") as f:
        f.write("# name:hash\n\ncarol:%s\n" % crypt.crypt(
            "pa55", crypt.mksalt(crypt.METHOD_SHA512)))
        f.write("dave:%s\n" % crypt.crypt("x", crypt.mksalt(
            crypt.METHOD_SHA256)))
    sl = Sluice(fx, conf='auth = { required = true; file = "%s"; };\n' %
                users)
    for i in range(3):          # the first check runs crypt, later ones hit
        s = s5_connect(sl.addr, "origin.test", fx.ports["http"],
                       user="carol", pw="pa55")
        eq(http_get(s, "/hello")[2], b"hello from origin\n", "body")
        s.close()
    try:
        s5_connect(sl.addr, "origin.test", fx.ports["http"], user="carol",
                   pw="nope")
        raise Failure("wrong password accepted")
    except Socks5Error as e:
        eq(e.rep, 0x101, "RFC 1929 failure status")
    try:
        s5_connect(sl.addr, "origin.test", fx.ports["http"], user="mallory",
                   pw="pa55")
        raise Failure("unknown user accepted")
    except Socks5Error as e:
        eq(e.rep, 0x101, "unknown user status")
    eq(sl.stop(), 0, "exit")


@test
def everything_then_fin_while_password_checked(fx):
    """Greeting, RFC 1929 credentials that need crypt(3), the request and
    tunnel data, then the FIN, all in one write: the password check ends,
    the tunnel opens, the data and the FIN pass on, the echo comes back.
    With the request cut short instead, the session closes."""
    users = os.path.join(fx.tmp, "users-fin.txt")
    with open(users, "w") as f:
        for name in ("erin", "frank"):  # each checked once: no cache hit
            f.write("%s:%s\n" % (name, crypt.crypt("pw", crypt.mksalt(
                crypt.METHOD_SHA512))))
    sl = Sluice(fx, conf='auth = { required = true; file = "%s"; };\n' %
                users)
    s = socket.create_connection(sl.addr, timeout=10)
    s.sendall(s5_greeting("erin") + s5_auth("erin", "pw") +
              s5_request(ORIGIN_HOST, fx.ports["echo"]) + b"ping before FIN")
    s.shutdown(socket.SHUT_WR)
    eq(recv_exact(s, 2), b"\x05\x02", "method: user/password")
    eq(recv_exact(s, 2), b"\x01\x00", "credentials accepted")
    rep, _ = s5_read_reply(s)
    eq(rep, 0, "connected")
    eq(recv_all(s), b"ping before FIN", "the echo, then EOF")
    s.close()

    s = socket.create_connection(sl.addr, timeout=10)
    s.sendall(s5_greeting("frank") + s5_auth("frank", "pw") +
              s5_request(ORIGIN_HOST, fx.ports["echo"])[:5])
    s.shutdown(socket.SHUT_WR)
    eq(recv_exact(s, 2), b"\x05\x02", "method")
    eq(recv_exact(s, 2), b"\x01\x00", "credentials accepted")
    eq(recv_all(s), b"", "then closed: the request never came whole")
    s.close()
    sl.wait_log("closed in the middle of its")
    eq(sl.stop(), 0, "exit")


@test
def pysocks_clients(fx):
    sl = Sluice(fx, conf='auth = { required = false; users = ( { name = '
                '"bob"; password = "builder"; } ); };\n')
    for rdns, user in ((True, None), (False, None), (True, "bob")):
        s = socks.socksocket()
        s.set_proxy(socks.SOCKS5, sl.host, sl.port, rdns=rdns,
                    username=user, password="builder" if user else None)
        s.settimeout(10)
        s.connect(("origin.test" if rdns else ORIGIN_HOST, fx.ports["echo"]))
        s.sendall(b"ping through pysocks")
        eq(recv_exact(s, 20), b"ping through pysocks", "echo")
        s.close()
    s = socks.socksocket()
    s.set_proxy(socks.SOCKS5, sl.host, sl.port, username="bob",
                password="bad")
    s.settimeout(10)
    try:
        s.connect(("origin.test", fx.ports["echo"]))
        raise Failure("bad password accepted")
    except socks.ProxyError:
        pass
    eq(sl.stop(), 0, "exit")


@test
def ncat_proxy_type_socks5(fx):
    sl = Sluice(fx)
    r = run(["ncat", "--proxy-type", "socks5", "--proxy",
             "%s:%d" % sl.addr, ORIGIN_HOST, str(fx.ports["echo"])],
            input=b"hello ncat\n", timeout=20)
    eq(r.stdout, b"hello ncat\n", "echo via ncat (%s)" % r.stderr)
    eq(sl.stop(), 0, "exit")


@test
def proxychains4_curl(fx):
    sl = Sluice(fx)
    conf = os.path.join(fx.tmp, "proxychains.conf")
    with open(conf, "w") as f:
        f.write("strict_chain\nquiet_mode\nproxy_dns\ntcp_read_time_out "
                "15000\ntcp_connect_time_out 8000\n[ProxyList]\n"
                "socks5 %s %d\n" % sl.addr)
    r = run(["proxychains4", "-q", "-f", conf, "curl", "-sS", "--max-time",
             "20", "http://%s:%d/hello" % (ORIGIN_HOST, fx.ports["http"])],
            timeout=30)
    eq(r.stdout, b"hello from origin\n", "via proxychains (%s)" % r.stderr)
    lines = sl.access(1)
    eq(lines[0]["connected"], "%s:%d" % (ORIGIN_HOST, fx.ports["http"]),
       "proxychains went through sluice")
    eq(sl.stop(), 0, "exit")


@test
def chromium_socks5_page(fx):
    chrome = shutil.which("chromium")
    if chrome is None:
        raise Failure("chromium is not installed (make deps-test)")
    sl = Sluice(fx)
    prof = tempfile.mkdtemp(dir=fx.tmp)
    r = run([chrome, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=" + prof,
             "--proxy-server=socks5://%s:%d" % sl.addr,
             "--dump-dom", "http://origin.test:%d/headers" %
             fx.ports["http"]], timeout=90)
    out = r.stdout.decode(errors="replace")
    check('"target": "/headers"' in out or '"target":"/headers"' in out,
          "page content from the origin (rc %d): %s %s" % (
              r.returncode, out[-500:], r.stderr[-1500:]))
    want = "origin.test:%d" % fx.ports["http"]
    wait_for(lambda: any(a["target"] == want and a["status"] == "0x00"
                         for a in sl.access()), 5,
             "chromium's request in the access log")
    eq(sl.stop(), 0, "exit")


# ----- bulk, half-close ----------------------------------------------------

@test
def download_64mib_sha256(fx):
    sl = Sluice(fx)
    n = 64 << 20
    p = subprocess.Popen(["curl", "-sS", "--max-time", "60",
                          "--socks5-hostname", "%s:%d" % sl.addr,
                          origin_url(fx, "/bytes/%d" % n)],
                         stdout=subprocess.PIPE)
    h, got = hashlib.sha256(), 0
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        got += len(chunk)
    eq(p.wait(60), 0, "curl exit")
    eq(got, n, "bytes received")
    eq(h.hexdigest(), origin.pattern_sha256(n), "sha256")
    line = sl.access(1)[0]
    check(int(line["down"]) > n, "down bytes counted: %s" % line["down"])
    eq(sl.stop(), 0, "exit")


@test
def upload_32mib_sha256(fx):
    sl = Sluice(fx)
    n = 32 << 20
    data = os.urandom(n)
    path = os.path.join(fx.tmp, "upload.bin")
    with open(path, "wb") as f:
        f.write(data)
    r = curl("--socks5-hostname", "%s:%d" % sl.addr, "--data-binary",
             "@" + path, "-H", "Content-Type: application/octet-stream",
             origin_url(fx, "/sink"))
    eq(r.returncode, 0, "curl exit (%s)" % r.stderr)
    got = json.loads(r.stdout)
    eq(got["bytes"], n, "bytes at the origin")
    eq(got["sha256"], sha256(data), "sha256 at the origin")
    os.unlink(path)
    line = sl.access(1)[0]
    check(int(line["up"]) > n, "up bytes counted")
    eq(sl.stop(), 0, "exit")


@test
def half_close_both_ways(fx):
    sl = Sluice(fx)
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["halfclose"])
    payload = os.urandom(300000)
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    reply = recv_all(s, 10)
    eq(reply, b"got %d bytes sha256=%s\n" % (len(payload),
                                             sha256(payload).encode()),
       "the answer sent after our FIN")
    s.close()
    # and the other way: the echo server half-closes after our FIN, and
    # data keeps flowing up until then
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    s.sendall(b"a" * 1000)
    eq(recv_exact(s, 1000), b"a" * 1000, "echo before FIN")
    s.sendall(b"b" * 1000)
    s.shutdown(socket.SHUT_WR)
    eq(recv_all(s), b"b" * 1000, "echo after FIN, then EOF")
    s.close()
    lines = sl.access(2)
    eq([x["end"] for x in lines], ["done", "done"], "clean ends")
    eq(sl.stop(), 0, "exit")


@test
def target_speaks_first(fx):
    sl = Sluice(fx)
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["banner"])
    eq(recv_exact(s, 18), b"220 banner ready\r\n", "banner")
    s.sendall(b"x")
    eq(recv_exact(s, 1), b"x", "then echo")
    s.close()
    eq(sl.stop(), 0, "exit")


# ----- replies and malformed input -----------------------------------------

@test
def reply_codes(fx):
    sl = Sluice(fx, conf="timeouts = { connect = 2; };\n")
    s5_expect_rep(sl.addr, ORIGIN_HOST, closed_port(), 0x05)
    s5_expect_rep(sl.addr, "no-such-name.test", 80, 0x04)
    s5_expect_rep(sl.addr, "servfail.test", 80, 0x04)
    # commands: BIND and UDP ASSOCIATE are not served (yet)
    for cmd in (2, 3, 9):
        s = socket.create_connection(sl.addr, 5)
        s.sendall(s5_greeting() + s5_request(ORIGIN_HOST, 80, cmd))
        eq(recv_exact(s, 2), b"\x05\x00", "method")
        rep, _ = s5_read_reply(s)
        eq(rep, 0x07, "command 0x%02x" % cmd)
        eq(recv_all(s, 5), b"", "closed after the reply")
        s.close()
    # an unknown address type
    s = socket.create_connection(sl.addr, 5)
    s.sendall(s5_greeting() + b"\x05\x01\x00\x07rest")
    eq(recv_exact(s, 2), b"\x05\x00", "method")
    rep, _ = s5_read_reply(s)
    eq(rep, 0x08, "bad ATYP")
    s.close()
    # a domain name that is no name
    s = socket.create_connection(sl.addr, 5)
    s.sendall(s5_greeting() + b"\x05\x01\x00\x03\x05a b c\x00\x50")
    eq(recv_exact(s, 2), b"\x05\x00", "method")
    eq(s5_read_reply(s)[0], 0x04, "invalid host name")
    s.close()
    ends = [x["end"] for x in sl.access(8)]
    eq(sorted(ends), sorted(["connect_failed", "dns_failed", "dns_failed",
                             "bad_command", "bad_command", "bad_command",
                             "bad_atyp", "bad_host"]), "end reasons")
    eq(sl.stop(), 0, "exit")


@test
def wrong_versions_close_silently(fx):
    sl = Sluice(fx)
    for junk in (b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00",
                 b"GET / HTTP/1.1\r\n\r\n", b"\x00"):
        s = socket.create_connection(sl.addr, 5)
        s.sendall(junk)
        eq(recv_all(s, 5), b"", "no reply to %r" % junk[:8])
        s.close()
    # a bad request version after a good greeting
    s = socket.create_connection(sl.addr, 5)
    s.sendall(s5_greeting())
    eq(recv_exact(s, 2), b"\x05\x00", "method")
    s.sendall(b"\x04\x01\x00\x01\x7f\x00\x00\x01\x00\x50")
    eq(recv_all(s, 5), b"", "closed without a reply")
    s.close()
    # a bad RFC 1929 version
    sl2 = Sluice(fx, conf='auth = { users = ( { name = "u"; password = '
                 '"p"; } ); };\n')
    s = socket.create_connection(sl2.addr, 5)
    s.sendall(s5_greeting("u"))
    eq(recv_exact(s, 2), b"\x05\x02", "method 2")
    s.sendall(b"\x05\x01u\x01p")
    eq(recv_all(s, 5), b"", "closed without a reply")
    s.close()
    # no acceptable method: 0xFF then close
    s = socket.create_connection(sl2.addr, 5)
    s.sendall(b"\x05\x01\x00")
    eq(recv_exact(s, 2), b"\x05\xff", "no acceptable method")
    eq(recv_all(s, 5), b"", "closed")
    s.close()
    eq(sl.stop(), 0, "exit")
    eq(sl2.stop(), 0, "exit")


@test
def handshake_byte_by_byte_and_all_at_once(fx):
    sl = Sluice(fx, conf='auth = { users = ( { name = "u"; password = '
                '"p"; } ); };\n')
    msg = s5_greeting("u") + s5_auth("u", "p") + \
        s5_request("origin.test", fx.ports["echo"])
    # one byte per write, with pauses, then data
    s = socket.create_connection(sl.addr, 10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for b in msg:
        s.send(bytes([b]))
        time.sleep(0.003)
    eq(recv_exact(s, 4), b"\x05\x02\x01\x00", "method + auth ok")
    eq(s5_read_reply(s)[0], 0, "request ok")
    s.sendall(b"after")
    eq(recv_exact(s, 5), b"after", "echo")
    s.close()
    # everything in one write, tunnel data right behind the request
    s = socket.create_connection(sl.addr, 10)
    s.sendall(msg + b"early bytes")
    eq(recv_exact(s, 4), b"\x05\x02\x01\x00", "method + auth ok")
    eq(s5_read_reply(s)[0], 0, "request ok")
    eq(recv_exact(s, 11), b"early bytes", "early bytes reached the target")
    s.close()
    # the early bytes and a FIN in the same write: the FIN is passed on
    s = socket.create_connection(sl.addr, 10)
    s.sendall(s5_greeting("u") + s5_auth("u", "p") +
              s5_request(ORIGIN_HOST, fx.ports["halfclose"]) + b"xyz")
    s.shutdown(socket.SHUT_WR)
    data = recv_all(s, 10)
    eq(data[4:6], b"\x05\x00", "request ok")
    check(data.endswith(b"got 3 bytes sha256=%s\n" %
                        sha256(b"xyz").encode()), data)
    s.close()
    eq(sl.stop(), 0, "exit")


@test
def silent_and_stalled_clients_dropped(fx):
    sl = Sluice(fx, conf="timeouts = { handshake = 1; };\n")
    t0 = time.monotonic()
    silent = socket.create_connection(sl.addr, 10)
    stalled = socket.create_connection(sl.addr, 10)
    stalled.sendall(b"\x05\x01\x00\x05\x01")   # greeting, then half a request
    eq(recv_exact(stalled, 2), b"\x05\x00", "method")
    eq(recv_all(silent, 10), b"", "silent client closed")
    eq(recv_all(stalled, 10), b"", "stalled client closed")
    took = time.monotonic() - t0
    check(0.8 <= took < 4 * SLOW, "dropped after the timeout: %.2fs" % took)
    ends = sorted(x["end"] for x in sl.access(2))
    eq(ends, ["handshake_timeout", "handshake_timeout"], "logged")
    eq(sl.stop(), 0, "exit")


# ----- DNS -------------------------------------------------------------------

@test
def dns_timeout_and_fallback(fx):
    sl = Sluice(fx, conf='dns = { servers = [ "127.0.0.1:%d" ]; '
                'timeout_ms = 300; tries = 1; };\n' % fx.dns_port)
    t0 = time.monotonic()
    s5_expect_rep(sl.addr, "silent.test", 80, 0x04)
    took = time.monotonic() - t0
    check(took < 3 * SLOW, "DNS timeout answered in %.2fs" % took)
    s5_expect_rep(sl.addr, "garbage.test", 80, 0x04)
    # the first address refuses, the second serves
    s = s5_connect(sl.addr, "fallback.test", fx.ports["echo"])
    s.sendall(b"f")
    eq(recv_exact(s, 1), b"f", "echo via the second address")
    s.close()
    lines = sl.access(3)
    eq(lines[0]["end"], "dns_timeout", "timeout logged")
    eq(lines[2]["connected"], "%s:%d" % (ORIGIN_HOST, fx.ports["echo"]),
       "connected to the address that works")
    # the proxy still serves
    s = s5_connect(sl.addr, "origin.test", fx.ports["echo"])
    s.close()
    eq(sl.stop(), 0, "exit")


@test
def dns_cache_and_coalescing(fx):
    sl = Sluice(fx)
    before = fx.dns_queries("cached.test")
    for _ in range(5):
        s = s5_connect(sl.addr, "cached.test", fx.ports["echo"])
        s.close()
    used = fx.dns_queries("cached.test") - before
    # one query per address family at most, not one per connection
    check(1 <= used <= 2, "queries for 5 lookups: %d" % used)
    # concurrent lookups of one slow name share one query
    before = fx.dns_queries("slow.test")
    threads = [Thread(s5_connect, sl.addr, "slow.test", fx.ports["echo"])
               for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15).close()
    used = fx.dns_queries("slow.test") - before
    check(1 <= used <= 2, "queries for 10 concurrent lookups: %d" % used)
    # a short TTL expires
    s5_connect(sl.addr, "short.test", fx.ports["echo"]).close()
    n1 = fx.dns_queries("short.test")
    time.sleep(1.3)
    s5_connect(sl.addr, "short.test", fx.ports["echo"]).close()
    check(fx.dns_queries("short.test") > n1, "TTL of 1 s honoured")
    eq(sl.stop(), 0, "exit")


@test
def ipv6_listener(fx):
    sl = Sluice(fx, host="::1")
    r = curl("--socks5-hostname", "[::1]:%d" % sl.port,
             origin_url(fx, "/hello"))
    eq(r.stdout, b"hello from origin\n", "via [::1] (%s)" % r.stderr)
    eq(sl.access(1)[0]["client"].startswith("[::1]:"), True, "client")
    eq(sl.stop(), 0, "exit")


@test
def etc_hosts_is_honoured(fx):
    sl = Sluice(fx)
    before = fx.dns_queries("localhost")
    try:
        s = s5_connect(sl.addr, "localhost", fx.ports["echo"])
        s.close()
    except Socks5Error as e:
        # localhost may map to an address nothing listens on here: it must
        # still have been resolved, from /etc/hosts
        eq(e.rep, 0x05, "reply for localhost")
    eq(fx.dns_queries("localhost"), before, "no DNS query for localhost")
    line = sl.access(1)[0]
    check(line["connected"] != "-" or line["status"] == "0x05", line)
    eq(sl.stop(), 0, "exit")


@test
def dns_client_gone_mid_query(fx):
    sl = Sluice(fx, conf='dns = { servers = [ "127.0.0.1:%d" ]; '
                'timeout_ms = 700; tries = 1; };\n' % fx.dns_port)
    for i in range(5):
        s = socket.create_connection(sl.addr, 5)
        s.sendall(s5_greeting() + s5_request("silent.test", 80))
        eq(recv_exact(s, 2), b"\x05\x00", "method")
        if i < 3:
            # a reset: the session ends now, its query runs on detached
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        # else a FIN, which may be a half-close after optimistic data: the
        # session waits for the answer and replies (to a closed socket)
        s.close()
    time.sleep(1.2)        # the queries time out
    check(alive_and_serving(sl, fx), "still serving")
    ends = [x["end"] for x in sl.access(6)]
    eq(sorted(ends[:5]), ["client_reset"] * 3 + ["dns_timeout"] * 2,
       "how each ended")
    eq(sl.stop(), 0, "exit")


@test
def dns_negative_answers_cached_briefly(fx):
    sl = Sluice(fx)
    before = fx.dns_queries("nowhere.test")
    for _ in range(4):
        s5_expect_rep(sl.addr, "nowhere.test", 80, 0x04)
    used = fx.dns_queries("nowhere.test") - before
    check(1 <= used <= 2, "queries for 4 NXDOMAIN lookups: %d" % used)
    eq(sl.stop(), 0, "exit")


# ----- failures mid-tunnel ---------------------------------------------------

@test
def target_reset_reaches_client(fx):
    sl = Sluice(fx)
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["reset"])
    got = 0
    try:
        s.settimeout(10)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        raise Failure("EOF instead of a reset after %d bytes" % got)
    except ConnectionResetError:
        pass
    s.close()
    line = sl.access(1)[0]
    eq(line["end"], "target_reset", "logged as a target reset")
    check(alive_and_serving(sl, fx), "still serving")
    eq(sl.stop(), 0, "exit")


def alive_and_serving(sl, fx):
    if not sl.alive():
        return False
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    s.sendall(b"?")
    ok = recv_exact(s, 1) == b"?"
    s.close()
    return ok


@test
def client_vanishes_mid_upload(fx):
    sl = Sluice(fx)
    base = sl.fd_count()
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["http"])
    s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: "
              b"100000000\r\n\r\n" + b"z" * 2000000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    wait_for(lambda: sl.access() and sl.fd_count() <= base, 10,
             "the session to be torn down")
    eq(sl.access()[0]["end"], "client_reset", "logged as a client reset")
    eq(sl.stop(), 0, "exit")


@test
def idle_tunnel_closed(fx):
    sl = Sluice(fx, conf="timeouts = { idle = 1; };\n")
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    s.sendall(b"1")
    eq(recv_exact(s, 1), b"1", "echo")
    time.sleep(0.6)
    s.sendall(b"2")            # activity pushes the deadline
    eq(recv_exact(s, 1), b"2", "echo")
    t0 = time.monotonic()
    eq(recv_all(s, 10), b"", "closed when idle")
    took = time.monotonic() - t0
    check(0.7 < took < 3 * SLOW, "idle close after %.2fs" % took)
    eq(sl.access(1)[0]["end"], "idle_timeout", "logged")
    eq(sl.stop(), 0, "exit")


@test
def slow_reader_memory_bounded(fx):
    sl = Sluice(fx)
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["http"])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    n = 256 << 20
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\nConnection: close"
              b"\r\n\r\n" % n)
    rss0 = sl.rss_kib()
    time.sleep(1.5)            # the origin streams, we do not read
    rss1 = sl.rss_kib()
    check(rss1 - rss0 < 4096, "RSS grew by %d KiB while the client "
          "did not read" % (rss1 - rss0))
    got = 0
    s.settimeout(30)
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    s.close()
    check(got > n, "received %d" % got)
    eq(sl.stop(), 0, "exit")


def stalled_download_queue(fx, conf):
    """Send-Q of sluice's socket to a client that asked for 256 MiB and
    reads nothing, once it stopped growing."""
    sl = Sluice(fx, conf)
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["http"])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\nConnection: close"
              b"\r\n\r\n" % (256 << 20))
    q = proxy_send_q(sl, s)
    s.close()
    eq(sl.stop(), 0, "exit")
    return q


@test
def slow_reader_send_queue_bounded(fx):
    """tcp.notsent_lowat: a stalled download keeps little in sluice's send
    queue (the window's worth in flight, a lowat's worth unsent), where
    the system's setting lets the queue grow with the send buffer."""
    on = stalled_download_queue(fx, "")
    off = stalled_download_queue(fx, "tcp = { notsent_lowat = 0; };\n")
    print("    send queue to a stalled reader: %d bytes with the default, "
          "%d with notsent_lowat = 0" % (on, off))
    check(on <= 512 * 1024, "send queue %d bytes with notsent_lowat" % on)
    check(off > 2 * on, "the system's setting queued %d, the default %d: "
          "no difference to show" % (off, on))


def sys_cc():
    with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
        return f.read().strip()


def leg_cc(sl, flt, state="established"):
    """Congestion control of sluice's socket in state matching the ss
    filter flt (None when there is none)."""
    names = {"reno", "cubic", "bbr", sys_cc()}
    with open("/proc/sys/net/ipv4/tcp_available_congestion_control") as f:
        names |= set(f.read().split())
    out = subprocess.run(["ss", "-tinpH", "state", state, flt],
                         capture_output=True, text=True, timeout=10).stdout
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if "pid=%d," % sl.pid not in line:
            continue
        words = " ".join(lines[i:i + 2]).split()
        return next((w for w in words if w in names), None)
    return None


def tunnel_ccs(sl, fx):
    """(client leg, target leg) congestion control of a fresh tunnel to
    the echo origin, after bytes went both ways."""
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    s.sendall(b"x" * 1000)
    eq(recv_exact(s, 1000), b"x" * 1000, "echo")
    client = leg_cc(sl, "( sport = :%d and dport = :%d )" %
                    (sl.port, s.getsockname()[1]))
    target = leg_cc(sl, "( dport = :%d )" % fx.ports["echo"])
    s.close()
    return client, target


@test
def congestion_control_per_leg(fx):
    """tcp.loopback_congestion (default reno: no pacing where no queue
    needs it) and tcp.congestion, on both legs of a tunnel: set on the
    listener (inherited), after accept (a wildcard listener's loopback
    client), before connect (the target), and again on reload."""
    system = sys_cc()
    # a loopback listener and a loopback target: both legs reno
    sl = Sluice(fx)
    eq(tunnel_ccs(sl, fx), ("reno", "reno"), "default, loopback legs")
    # loopback_congestion "": the system's everywhere
    mark = sl.reload('tcp = { loopback_congestion = ""; };\n')
    sl.wait_log("configuration reloaded", since=mark)
    eq(tunnel_ccs(sl, fx), (system, system), "loopback_congestion off")
    eq(leg_cc(sl, "( sport = :%d )" % sl.port, "listening"), system,
       "the listener, loopback_congestion off")
    # and back: the kept listener takes the name again
    mark = sl.reload("")
    sl.wait_log("configuration reloaded", since=mark)
    eq(tunnel_ccs(sl, fx), ("reno", "reno"), "after a second reload")
    eq(leg_cc(sl, "( sport = :%d )" % sl.port, "listening"), "reno",
       "the listener, after a second reload")
    # a name the kernel lacks: the reload is refused, nothing changes
    mark = sl.reload('tcp = { congestion = "no_such_cc"; };\n')
    sl.wait_log('tcp.congestion: "no_such_cc" is not available', since=mark)
    eq(tunnel_ccs(sl, fx), ("reno", "reno"), "after a refused reload")
    eq(sl.stop(), 0, "exit")

    # a wildcard listener: its loopback client is set after accept
    gw = ('rules = ( { action = "allow"; clients = [ "127.0.0.0/8" ]; '
          'dest = [ "%s/32" ]; } );\n' % ORIGIN_HOST)
    sl = Sluice(fx, host="0.0.0.0", conf=gw)
    eq(tunnel_ccs(sl, fx), ("reno", "reno"), "wildcard listener")
    eq(sl.stop(), 0, "exit")
    sl = Sluice(fx, host="0.0.0.0", conf='tcp = { congestion = "reno"; '
                'loopback_congestion = ""; };\n' + gw)
    eq(tunnel_ccs(sl, fx), ("reno", "reno"), "congestion for every leg")
    eq(sl.stop(), 0, "exit")

    # -t refuses a name the kernel does not have, saying where
    path = os.path.join(fx.tmp, "cc.conf")
    with open(path, "w") as f:
        f.write('tcp = { loopback_congestion = "no_such_cc"; };\n')
    r = subprocess.run([sys_sluice(), "-t", "-c", path], capture_output=True,
                       text=True, timeout=10)
    eq(r.returncode, 1, "sluice -t exit")
    check('%s: tcp.loopback_congestion: "no_such_cc" is not available' %
          path in r.stderr, "the reason: %r" % r.stderr)


def cpu_seconds(pid):
    """User + system CPU time of process pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def download_through(sl, fx, size):
    """size bytes from the origin through a tunnel: the body's length."""
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["http"])
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\nConnection: close"
              b"\r\n\r\n" % size)
    data = recv_all(s, 30)
    s.close()
    return len(data.split(b"\r\n\r\n", 1)[1])


@test
def busy_poll_stops_when_idle(fx):
    """busy_poll_us: the loop polls without sleeping only for that long
    after relayed bytes; once nothing moves sluice sleeps again (no CPU
    burnt while idle), and a reload turns it off and on."""
    sl = Sluice(fx, conf="busy_poll_us = 5000;\n")
    eq(download_through(sl, fx, 64 << 20), 64 << 20, "body through")
    time.sleep(0.2)
    t0 = cpu_seconds(sl.pid)
    time.sleep(1.0)
    idle = cpu_seconds(sl.pid) - t0
    print("    CPU while idle after a transfer: %.3f s in 1 s" % idle)
    check(idle < 0.2, "sluice used %.2f s of CPU in 1 s idle" % idle)
    mark = sl.reload("busy_poll_us = 0;\n")
    sl.wait_log("configuration reloaded", since=mark)
    eq(download_through(sl, fx, 16 << 20), 16 << 20, "busy poll off")
    mark = sl.reload("busy_poll_us = 50;\n")
    sl.wait_log("configuration reloaded", since=mark)
    eq(download_through(sl, fx, 16 << 20), 16 << 20, "busy poll on again")
    time.sleep(0.2)
    t0 = cpu_seconds(sl.pid)
    time.sleep(1.0)
    idle = cpu_seconds(sl.pid) - t0
    check(idle < 0.2, "sluice used %.2f s of CPU in 1 s idle" % idle)
    eq(sl.stop(), 0, "exit")


@test
def busy_poll_not_for_a_trickle(fx):
    """A window as long as 10 ms, and small exchanges 10 ms apart: the
    loop polls only after a bulk burst (64 KiB since it last slept), so a
    trickle costs what it costs without busy polling."""
    sl = Sluice(fx, conf="busy_poll_us = 10000;\n")
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    t0 = cpu_seconds(sl.pid)
    for _ in range(100):
        s.sendall(b"y" * 100)
        eq(recv_exact(s, 100), b"y" * 100, "echo")
        time.sleep(0.01)
    used = cpu_seconds(sl.pid) - t0
    print("    CPU for 100 small echoes over ~1 s: %.3f s" % used)
    check(used < 0.3, "sluice used %.2f s of CPU for a trickle" % used)
    s.close()
    eq(sl.stop(), 0, "exit")


# ----- limits -------------------------------------------------------------------

@test
def limits_max_per_client_per_user(fx):
    sl = Sluice(fx, conf="limits = { max_connections = 2; };\n")
    a = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    b = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    try:
        c = socket.create_connection(sl.addr, 5)
        c.sendall(s5_greeting())
        eq(recv_all(c, 5), b"", "third client refused")
        c.close()
    except ConnectionResetError:
        pass
    a.close()
    wait_for(lambda: len(sl.access()) >= 2, 5, "a to be gone")
    d = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    d.close()
    b.close()
    check(any(x["end"] == "limit_max_connections" for x in sl.access()),
          "refusal logged")
    eq(sl.stop(), 0, "exit")

    sl = Sluice(fx, conf='limits = { per_client = 1; per_user = 1; };\n'
                'auth = { users = ( { name = "u"; password = "p"; }, '
                '{ name = "v"; password = "p"; } ); };\n')
    a = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"], user="u", pw="p")
    # same client address: refused at accept
    try:
        c = socket.create_connection(sl.addr, 5)
        c.sendall(s5_greeting("u"))
        eq(recv_all(c, 5), b"", "second session from one address refused")
        c.close()
    except ConnectionResetError:
        pass
    # another client address (127.0.0.4), same user: 0x02
    c = socket.socket()
    c.bind(("127.0.0.4", 0))
    c.settimeout(5)
    c.connect(sl.addr)
    c.sendall(s5_greeting("u") + s5_auth("u", "p") +
              s5_request(ORIGIN_HOST, fx.ports["echo"]))
    eq(recv_exact(c, 4), b"\x05\x02\x01\x00", "auth ok")
    eq(s5_read_reply(c)[0], 0x02, "per_user over the cap")
    c.close()
    # another user from that address is fine
    c = socket.socket()
    c.bind(("127.0.0.4", 0))
    c.settimeout(5)
    c.connect(sl.addr)
    c.sendall(s5_greeting("v") + s5_auth("v", "p") +
              s5_request(ORIGIN_HOST, fx.ports["echo"]))
    eq(recv_exact(c, 4), b"\x05\x02\x01\x00", "auth ok")
    eq(s5_read_reply(c)[0], 0x00, "another user")
    c.close()
    a.close()
    ends = [x["end"] for x in sl.access(4)]
    check("limit_per_client" in ends and "limit_per_user" in ends, ends)
    eq(sl.stop(), 0, "exit")


def hold_tunnels(sl, fx, n):
    held, refused = [], 0
    for _ in range(n):
        try:
            held.append(s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"],
                                   timeout=3))
        except (OSError, EOFError, Socks5Error):
            refused += 1
    return held, refused


def knock(sl, n):
    """n clients that try while the proxy is full; returns nothing."""
    for _ in range(n):
        try:
            with socket.create_connection(sl.addr, 2) as c:
                c.sendall(s5_greeting())
                c.settimeout(2)
                c.recv(10)
        except OSError:
            pass


def check_recovers(sl, fx, held):
    for s in held:
        s.close()
    for _ in range(5):
        s = wait_for(lambda: _try_tunnel(sl, fx), 5, "service again")
        s.sendall(b"ok")
        eq(recv_exact(s, 2), b"ok", "served again")
        s.close()


def _try_tunnel(sl, fx):
    try:
        return s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"], timeout=3)
    except (OSError, EOFError, Socks5Error):
        return None


@test
def fd_budget_refuses_and_recovers(fx):
    # started with 40 descriptors: the budget refuses before EMFILE
    sl = Sluice(fx, prefix=["prlimit", "--nofile=40:40", "--"])
    held, refused = hold_tunnels(sl, fx, 30)
    check(refused > 0 and len(held) >= 5, "held %d, refused %d" %
          (len(held), refused))
    cpu0 = sl.cpu_seconds()
    knock(sl, 20)
    time.sleep(0.5)
    check(sl.cpu_seconds() - cpu0 < 0.5, "no busy loop")
    check("refusing new clients" in sl.log(), "logged")
    ends = [r["end"] for r in sl.access()]
    check(ends.count("limit_descriptors") >= refused + 20,
          "refusals logged as limit_descriptors: %d for %d + 20 knocks" % (
              ends.count("limit_descriptors"), refused))
    check("limit_max_connections" not in ends, "not as max_connections")
    check_recovers(sl, fx, held)
    eq(sl.stop(), 0, "exit")


@test
def emfile_sheds_and_recovers(fx):
    # the limit drops under a running proxy: real EMFILE on accept and on
    # the outbound socket
    sl = Sluice(fx)
    eq(run(["prlimit", "--pid", str(sl.pid), "--nofile=30:30"]).returncode,
       0, "prlimit")
    held, refused = hold_tunnels(sl, fx, 30)
    check(refused > 0 and len(held) >= 3, "held %d, refused %d" %
          (len(held), refused))
    cpu0 = sl.cpu_seconds()
    knock(sl, 30)
    time.sleep(1)
    spent = sl.cpu_seconds() - cpu0
    check(spent < 0.5, "no busy loop: %.2f s CPU" % spent)
    check("out of file descriptors" in sl.log(), "logged:\n" + sl.log())
    check_recovers(sl, fx, held)
    eq(sl.stop(), 0, "exit")


# ----- signals ---------------------------------------------------------------

@test
def sigterm_drains_live_tunnels(fx):
    sl = Sluice(fx, conf="timeouts = { drain = 10; };\n")
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    s.sendall(b"before")
    eq(recv_exact(s, 6), b"before", "echo")
    sl.signal(signal.SIGTERM)
    wait_for(lambda: not _can_connect(sl.addr), 5, "the listener to close")
    s.sendall(b"during drain")
    eq(recv_exact(s, 12), b"during drain", "tunnel lives on")
    check(sl.alive(), "still running while a tunnel is open")
    s.close()
    wait_for(lambda: not sl.alive(), 5, "exit once the tunnel ended")
    eq(sl.stop(), 0, "exit status")

    sl = Sluice(fx, conf="timeouts = { drain = 1; };\n")
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    t0 = time.monotonic()
    sl.signal(signal.SIGINT)
    eq(recv_all(s, 10), b"", "closed at the end of the drain time")
    check(time.monotonic() - t0 >= 0.8, "waited for the drain time")
    wait_for(lambda: not sl.alive(), 5, "exit")
    eq(sl.stop(), 0, "exit status")
    eq(sl.access(1)[0]["end"], "shutdown", "logged")


# ----- many at once, and the end state ---------------------------------------

@test
def many_concurrent_tunnels_and_no_leaks(fx):
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, max(
        4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
    sl = Sluice(fx)
    base = sl.fd_count()
    n = 500

    def one(i):
        s = s5_connect(sl.addr, "origin.test", fx.ports["echo"], timeout=20)
        return s

    with concurrent.futures.ThreadPoolExecutor(50) as ex:
        socks_ = list(ex.map(one, range(n)))
    check(sl.fd_count() >= base + 2 * n, "all %d tunnels open" % n)
    for i, s in enumerate(socks_):
        s.sendall(b"%05d" % i)
    for i, s in enumerate(socks_):
        eq(recv_exact(s, 5, 20), b"%05d" % i, "round trip %d" % i)
    for s in socks_:
        s.close()
    wait_for(lambda: sl.fd_count() <= base, 10 * SLOW,
             "descriptors back to %d (now %d)" % (base, sl.fd_count()))
    check(alive_and_serving(sl, fx), "alive and serving a new client")
    wait_for(lambda: sl.fd_count() == base, 5, "descriptors back to %d "
             "after the last client" % base)
    eq(len(sl.access(n + 1)), n + 1, "one access line per session")
    eq(sl.stop(), 0, "exit")


if __name__ == "__main__":
    sys.exit(main())
