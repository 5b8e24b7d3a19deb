#!/usr/bin/python3
"""Egress gateway controls: rules (users, groups, destinations, ports,
protocols, methods, clients), the shared-gateway protection of loopback and
the proxy's own addresses (over a real veth pair into a network namespace),
the open-proxy refusal, limits (per client, per user, rate, bandwidth),
quotas with their state file, the admin listener (/metrics, /sessions,
closing sessions), interim records, access-log formats (sluice, json,
squid, syslog), SIGHUP reloads (good and bad), SIGUSR1 and SIGTERM.  Run
through tests/run.sh, or directly:

    /usr/bin/python3 tests/integration/test_gateway.py
    SLUICE_TESTS=rules_,quota_ \
        /usr/bin/python3 tests/integration/test_gateway.py

The namespace test needs root and iproute2; without them it is skipped with
a message.
"""

import base64
import hashlib
import json
import os
import random
import re
import signal
import socket
import sys
import tempfile
import threading
import time

from harness import (DNS_HOST, Failure, ORIGIN_HOST, PROXY_HOST, SLOW,
                     SLUICE, WRAPPER, Sluice, Socks5Error, Thread, admin,
                     check, closed_port, curl, eq, free_port, http_get, main,
                     mval, origin, parse_access, parse_metrics,
                     parse_response, recv_exact, recv_until_close, run,
                     s5_connect, s5_greeting, sha256,
                     test, wait_for)

HELLO = b"hello from origin\n"
PW = {"alice": "pw-alice", "bob": "pw-bob", "carol": "pw-carol",
      "dave": "pw-dave"}
TOKEN = "0123456789abcdef-admin"
EVIL_HOST = "127.0.0.7"          # evil.test in the harness zone


# ----- configuration helpers ------------------------------------------------

def auth_conf(*users, groups=None, required=True):
    """auth = { ... } with the users (a name, or (name, "limits text"))
    and groups {name: [users]}."""
    ents = []
    for u in users:
        name, lim = (u, None) if isinstance(u, str) else u
        ents.append('{ name = "%s"; password = "%s";%s }' % (
            name, PW[name], " limits = { %s };" % lim if lim else ""))
    text = "auth = { required = %s;\n  users = ( %s );\n" % (
        "true" if required else "false", ",\n    ".join(ents))
    if groups:
        text += "  groups = ( %s );\n" % ", ".join(
            '{ name = "%s"; users = [ %s ]; }' % (
                g, ", ".join('"%s"' % u for u in members))
            for g, members in groups.items())
    return text + "};\n"


def dns_line(fx):
    return ('dns = { servers = [ "%s:%d" ]; timeout_ms = 1000; tries = 1; };'
            '\n' % (DNS_HOST, fx.dns_port))


def gw(fx, conf="", log=None, **kw):
    """A Sluice whose configuration always states dns and log itself (paths
    in conf never meet the harness's "dns"/"log" substring checks), with
    its access log in a directory of its own."""
    d = tempfile.mkdtemp(prefix="gw-", dir=fx.tmp)
    access = os.path.join(d, "access.log")
    if log is None:
        log = 'level = "debug"; access = "%s";' % access
    head = dns_line(fx) + "log = { %s };\n" % log
    sl = Sluice(fx, conf=head + conf, **kw)
    sl.access_path = access
    sl.gw_dir = d
    sl.gw_head = head
    return sl


def gw_reload(sl, conf, **kw):
    """SIGHUP with a new conf (same dns and log); returns the log mark."""
    return sl.reload(sl.gw_head + conf, **kw)


def access_with(sl, pred, what, timeout=5):
    """Wait (lines are flushed every 200 ms) for an access-log line
    matching pred; return it."""
    def find():
        for line in sl.access():
            if pred(line):
                return line
        return None
    return wait_for(find, timeout, what)


def within(got, want, tol, what):
    lo, hi = want * (1 - tol), want * (1 + tol) * SLOW
    check(lo <= got <= hi, "%s: %.2f s, want %.2f s +-%d%% (%.2f..%.2f)" % (
        what, got, want, tol * 100, lo, hi))


# ----- SOCKS5 and HTTP by hand -----------------------------------------------

def s5(proxy, host, port, user=None, src=None, timeout=10, pw=None):
    """A socket tunnelled to host:port (from address src), or
    Socks5Error(rep); the password defaults to the user's in PW."""
    return s5_connect(proxy, host, port, user=user,
                      pw=pw or (PW[user] if user else None),
                      timeout=timeout, src=src)


def s5_rep(proxy, host, port, **kw):
    """The SOCKS5 reply code (0 on success; the tunnel is closed)."""
    try:
        s = s5(proxy, host, port, **kw)
    except Socks5Error as e:
        return e.rep
    s.close()
    return 0


def refused_at_accept(proxy, src=None, timeout=5):
    """True when the proxy closes or resets a new connection before
    answering a SOCKS5 greeting; False when it answers."""
    s = socket.socket()
    if src:
        s.bind((src, 0))
    s.settimeout(timeout * SLOW)
    try:
        s.connect(proxy)
        s.sendall(s5_greeting())
        return s.recv(2) == b""
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        return True
    finally:
        s.close()


def basic(user):
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, PW[user])).encode()).decode()


def http_req(method, url, user=None, body=None, extra=""):
    """An absolute-form request (Connection: close) for the proxy."""
    authority = re.match(r"https?://([^/]+)", url).group(1)
    head = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (
        method, url, authority)
    if user:
        head += "Proxy-Authorization: %s\r\n" % basic(user)
    if body is not None:
        head += "Content-Length: %d\r\n" % len(body)
    return (head + extra + "\r\n").encode() + (body or b"")


def http_exchange(addr, data, src=None, timeout=10):
    """Send data on a new connection, read until close: (status, headers,
    body)."""
    s = socket.socket()
    if src:
        s.bind((src, 0))
    s.settimeout(timeout * SLOW)
    s.connect(addr)
    try:
        s.sendall(data)
        return parse_response(recv_until_close(s, timeout))
    finally:
        s.close()


def http_get_via(sl, fx, path="/hello", host="origin.test", user=None,
                 port=None, src=None, method="GET", body=None, addr=None):
    url = "http://%s:%d%s" % (host, port or fx.ports["http"], path)
    return http_exchange(addr or sl.addr,
                         http_req(method, url, user, body), src)


def http_connect(addr, host, port, user=None, src=None, timeout=10):
    """CONNECT: (socket, 200, b"") when tunnelled, else (None, status,
    body)."""
    s = socket.socket()
    if src:
        s.bind((src, 0))
    s.settimeout(timeout * SLOW)
    s.connect(addr)
    head = "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n" % (host, port, host,
                                                          port)
    if user:
        head += "Proxy-Authorization: %s\r\n" % basic(user)
    s.sendall((head + "\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    status = int(buf.split(b" ", 2)[1]) if buf else 0
    if status == 200:
        check(buf.endswith(b"\r\n\r\n"), "bytes after the CONNECT answer")
        return s, 200, b""
    rest = buf + recv_until_close(s)
    s.close()
    return None, status, parse_response(rest)[2]


def check_403(status, body, rule, name=None):
    eq(status, 403, "HTTP status (body %r)" % body[:300])
    check(("#%d" % rule).encode() in body, "403 names rule #%d: %r" % (
        rule, body))
    if name is not None:
        check(('"%s"' % name).encode() in body, "403 names %r: %r" % (
            name, body))


def echo_roundtrip(s, n, seed=0):
    data = random.Random(seed).randbytes(n)
    s.sendall(data)
    eq(recv_exact(s, n), data, "echoed bytes")


def close_tunnel(s):
    """Half-close and read to EOF, so the session ends as done."""
    try:
        s.shutdown(socket.SHUT_WR)
        recv_until_close(s, 5)
    except OSError:
        pass
    s.close()


def tunnel_closed(s, timeout=3):
    """True when the peer closes (EOF or reset) within timeout."""
    s.settimeout(timeout * SLOW)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# ----- 1-3: rules ------------------------------------------------------------

@test
def rules_user_host_socks5_http(fx):
    conf = auth_conf("alice", "bob", groups={"staff": ["alice"],
                                             "guests": ["bob"]})
    conf += ('rules = (\n'
             '  { action = "allow"; name = "staff-to-origin"; '
             'groups = [ "staff" ]; dest = [ "origin.test" ]; },\n'
             '  { action = "deny"; name = "guests-nowhere"; '
             'groups = [ "guests" ]; },\n'
             '  { action = "deny"; }\n);\n')
    sl = gw(fx, conf, proto="auto")
    hp = fx.ports["http"]
    # SOCKS5: alice reaches origin.test, bob does not; alice is not
    # allowed to another name of the same address either
    s = s5(sl.addr, "origin.test", hp, user="alice")
    status, _, body = http_get(s, "/hello")
    s.close()
    eq((status, body), (200, HELLO), "alice over SOCKS5")
    eq(s5_rep(sl.addr, "origin.test", hp, user="bob"), 0x02,
       "bob over SOCKS5")
    eq(s5_rep(sl.addr, "dual.test", hp, user="alice"), 0x02,
       "alice to dual.test (not in her rule)")
    # HTTP forward and CONNECT
    status, _, body = http_get_via(sl, fx, user="alice")
    eq((status, body), (200, HELLO), "alice over HTTP")
    status, hdrs, body = http_get_via(sl, fx, user="bob")
    check_403(status, body, 2, "guests-nowhere")
    check(hdrs.get("content-type", "").startswith("text/plain"),
          "403 is text/plain")
    status, _, body = http_get_via(sl, fx, host="dual.test", user="alice")
    check_403(status, body, 3)
    check(b'"' not in body, "an unnamed rule has no name: %r" % body)
    t, status, body = http_connect(sl.addr, "origin.test", hp, user="bob")
    check_403(status, body, 2, "guests-nowhere")
    t, status, _ = http_connect(sl.addr, "origin.test", hp, user="alice")
    eq(status, 200, "alice CONNECT")
    t.sendall(b"GET /hello HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n")
    eq(parse_response(recv_until_close(t))[2], HELLO, "through CONNECT")
    t.close()
    # the access log
    lines = sl.access(8)
    bob = [a for a in lines if a["user"] == "bob"]
    eq(len(bob), 3, "bob's lines")
    for a in bob:
        eq(a["end"], "denied", "bob's end (%r)" % a)
        eq(a["connected"], "-", "nothing connected for bob")
    eq(sorted(a["status"] for a in bob), ["0x02", "403", "403"],
       "bob's statuses")
    ok = [a for a in lines if a["user"] == "alice" and a["end"] != "denied"]
    check(all(a["status"] in ("0x00", "200") for a in ok), ok)
    eq(len(ok), 3, "alice's allowed sessions")
    log = sl.log()
    check('is denied by rule #2 "guests-nowhere"' in log, "log names rule")
    check("is denied by rule #3" in log, "log names rule #3")
    # sluice -t numbers the rules as the 403 does
    r = run([SLUICE, "-t", "-c", sl.conf_path])
    out = r.stdout.decode()
    eq(r.returncode, 0, "-t")
    for want in ('rule #1 "staff-to-origin" allow dest=[origin.test] '
                 'groups=[staff]', 'rule #2 "guests-nowhere" deny',
                 "rule #3 deny"):
        check(want in out, "-t prints %r: %s" % (want, out))
    eq(sl.stop(), 0, "exit")


class AcceptRecorder:
    """A listener that only counts the connections it accepts."""

    def __init__(self, host, port=0):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.accepted = 0
        self.stop_flag = False
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        self.lsock.settimeout(0.1)
        while not self.stop_flag:
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            c.close()

    def close(self):
        self.stop_flag = True
        self.t.join(2)
        self.lsock.close()


def recorder_pair():
    """Accept recorders on 127.0.0.7 and 127.0.0.3, one port number."""
    for _ in range(20):
        a = AcceptRecorder(EVIL_HOST)
        try:
            return a, AcceptRecorder(ORIGIN_HOST, a.port)
        except OSError:
            a.close()
    raise Failure("no port free on both 127.0.0.7 and 127.0.0.3")


@test
def rules_denied_cidr_no_connect(fx):
    rec, rec3 = recorder_pair()
    try:
        conf = ('rules = ( { action = "deny"; name = "no-evil"; '
                'dest = [ "10.0.0.0/8", "127.0.0.7/32", '
                '"*.internal.example" ]; } );\n')
        sl = gw(fx, conf, proto="auto")
        q0 = fx.dns_queries("evil.test")
        eq(s5_rep(sl.addr, "evil.test", rec.port), 0x02, "SOCKS5 by name")
        check(fx.dns_queries("evil.test") > q0,
              "the name was resolved (then refused by address)")
        eq(s5_rep(sl.addr, EVIL_HOST, rec.port), 0x02, "SOCKS5 by address")
        status, _, body = http_get_via(sl, fx, host="evil.test",
                                       port=rec.port)
        check_403(status, body, 1, "no-evil")
        check(b"127.0.0.7" in body, "403 names the address: %r" % body)
        _, status, body = http_connect(sl.addr, "evil.test", rec.port)
        check_403(status, body, 1, "no-evil")
        lines = sl.access(4)
        for a in lines:
            eq(a["end"], "denied", "end (%r)" % a)
            eq(a["connected"], "-", "connected (%r)" % a)
        # a name with a denied and an allowed address: only the allowed
        # one is tried
        s = s5(sl.addr, "mixed.test", rec.port)
        s.close()
        a = access_with(sl, lambda a: a["target"].startswith("mixed.test"),
                        "the mixed.test line")
        eq(a["connected"], "%s:%d" % (ORIGIN_HOST, rec.port), "connected")
        wait_for(lambda: rec3.accepted == 1, 3, "the connection to .3")
        time.sleep(0.3)
        eq(rec.accepted, 0, "connections that reached 127.0.0.7")
        check("127.0.0.7" not in "".join(
            x for x in sl.log().splitlines() if "connect " in x),
            "no connect to 127.0.0.7 logged")
        eq(sl.stop(), 0, "exit")
        # the control: without the rule the same request does connect, so
        # the recorder would have seen one
        sl = gw(fx, "", proto="auto")
        eq(s5_rep(sl.addr, "evil.test", rec.port), 0, "allowed without rule")
        wait_for(lambda: rec.accepted == 1, 3, "the control connection")
        eq(s5_rep(sl.addr, "mixed.test", rec.port), 0, "mixed.test")
        wait_for(lambda: rec.accepted == 2, 3, "mixed.test tries .7 first")
        eq(sl.stop(), 0, "exit")
    finally:
        rec.close()
        rec3.close()


@test
def rules_ports_and_protocols(fx):
    hp, ep, hc = fx.ports["http"], fx.ports["echo"], fx.ports["halfclose"]
    bp = fx.ports["banner"]
    # strings in an array (as documented), integers and strings in a list
    conf = ('rules = (\n  { action = "allow"; ports = [ "%d", "%d-%d" ]; },\n'
            '  { action = "allow"; ports = ( %d, "1-2" ); },\n'
            '  { action = "deny"; name = "other-ports"; }\n);\n' %
            (hp, ep, ep, bp))
    sl = gw(fx, conf)
    eq(s5_rep(sl.addr, ORIGIN_HOST, hp), 0, "port by number")
    eq(s5_rep(sl.addr, ORIGIN_HOST, ep), 0, "port in a range")
    eq(s5_rep(sl.addr, ORIGIN_HOST, bp), 0, "integer port")
    eq(s5_rep(sl.addr, ORIGIN_HOST, hc), 0x02, "other port")
    a = access_with(sl, lambda a: a["end"] == "denied", "the refusal")
    eq(a["target"], "%s:%d" % (ORIGIN_HOST, hc), "refused target")
    check('is denied by rule #3 "other-ports"' in sl.log(), "log")
    eq(sl.stop(), 0, "exit")

    conf = ('rules = (\n'
            '  { action = "allow"; protocols = [ "connect" ]; '
            'ports = [ %d ]; },\n'
            '  { action = "allow"; protocols = [ "socks5" ]; '
            'ports = [ %d ]; },\n'
            '  { action = "allow"; protocols = [ "http" ]; '
            'dest = [ "corp.test" ]; },\n'
            '  { action = "deny"; name = "by-protocol"; }\n);\n' % (ep, hp))
    sl = gw(fx, conf, proto="auto")
    eq(s5_rep(sl.addr, ORIGIN_HOST, hp), 0, "socks5 to the http port")
    eq(s5_rep(sl.addr, ORIGIN_HOST, ep), 0x02, "socks5 to the echo port")
    t, status, _ = http_connect(sl.addr, ORIGIN_HOST, ep)
    eq(status, 200, "CONNECT to the echo port")
    echo_roundtrip(t, 1000)
    t.close()
    _, status, body = http_connect(sl.addr, ORIGIN_HOST, hp)
    check_403(status, body, 4, "by-protocol")
    status, _, body = http_get_via(sl, fx)
    check_403(status, body, 4, "by-protocol")
    status, _, body = http_get_via(sl, fx, host="corp.test")
    eq((status, body), (200, HELLO), "http forward allowed by rule #3")
    _, status, body = http_connect(sl.addr, "corp.test", hp)
    check_403(status, body, 4)
    protos = {(a["proto"], a["end"]) for a in sl.access(7)}
    for p in (("socks5", "denied"), ("connect", "denied"),
              ("http", "denied"), ("connect", "done"), ("http", "done")):
        check(p in protos, "access log has %r: %r" % (p, protos))
    eq(sl.stop(), 0, "exit")


@test
def rules_methods_and_clients(fx):
    conf = ('rules = (\n'
            '  { action = "allow"; clients = [ "127.0.0.5/32", "fd00::/8" ]; '
            'methods = [ "GET", "HEAD" ]; },\n'
            '  { action = "allow"; clients = [ "127.0.0.8/30" ]; },\n'
            '  { action = "deny"; name = "rest"; }\n);\n')
    sl = gw(fx, conf, proto="auto")
    status, _, body = http_get_via(sl, fx, src="127.0.0.5")
    eq((status, body), (200, HELLO), "GET from 127.0.0.5")
    status, hdrs, body = http_get_via(sl, fx, src="127.0.0.5", method="HEAD")
    eq((status, body), (200, b""), "HEAD from 127.0.0.5")
    status, _, body = http_get_via(sl, fx, "/sink", src="127.0.0.5",
                                   method="POST", body=b"x" * 100)
    check_403(status, body, 3, "rest")
    _, status, body = http_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"],
                                   src="127.0.0.5")
    check_403(status, body, 3, "rest")
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"], src="127.0.0.5"),
       0x02, "SOCKS5 has no method: rule #1 does not match")
    status, _, body = http_get_via(sl, fx, src="127.0.0.6")
    check_403(status, body, 3, "rest")
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"], src="127.0.0.6"),
       0x02, "SOCKS5 from 127.0.0.6")
    # 127.0.0.8/30: .8 to .11
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"], src="127.0.0.10"), 0,
       "SOCKS5 from 127.0.0.10")
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"], src="127.0.0.12"),
       0x02, "SOCKS5 from 127.0.0.12")
    lines = sl.access(9)
    six = [a for a in lines if a["client"].startswith("127.0.0.6:")]
    eq(len(six), 2, "127.0.0.6 lines")
    check(all(a["end"] == "denied" for a in six), six)
    eq(sl.stop(), 0, "exit")


@test
def rules_suffix_match(fx):
    hp = fx.ports["http"]
    conf = ('rules = ( { action = "deny"; name = "corp"; dest = [ '
            '"*.corp.test", "*.internal.example", "10.0.0.0/8" ]; } );\n')
    sl = gw(fx, conf, proto="auto")
    for host, want in (("www.corp.test", 0x02), ("a.b.corp.test", 0x02),
                       ("WWW.Corp.TEST.", 0x02), ("corp.test", 0),
                       ("xcorp.test", 0), ("origin.test", 0)):
        eq(s5_rep(sl.addr, host, hp), want, "SOCKS5 to %s" % host)
    status, _, body = http_get_via(sl, fx, host="a.b.corp.test")
    check_403(status, body, 1, "corp")
    status, _, body = http_get_via(sl, fx, host="corp.test")
    eq((status, body), (200, HELLO), "corp.test itself")
    eq(sl.stop(), 0, "exit")
    # the other way round: only the suffix is allowed
    conf = ('rules = ( { action = "allow"; dest = [ "*.corp.test" ]; },\n'
            '  { action = "deny"; } );\n')
    sl = gw(fx, conf, proto="auto")
    for host, want in (("www.corp.test", 0), ("a.b.corp.test", 0),
                       ("corp.test", 0x02), ("xcorp.test", 0x02),
                       (ORIGIN_HOST, 0x02)):
        eq(s5_rep(sl.addr, host, hp), want, "SOCKS5 to %s" % host)
    eq(sl.stop(), 0, "exit")


# ----- 4-5: shared gateway, open proxy ---------------------------------------

class Netns:
    """A network namespace joined to this one by a veth pair:
    host side HOST (x.x.x.1/30), namespace side PEER (x.x.x.2/30)."""

    def __init__(self):
        pid = os.getpid()
        self.ns = "sluice-t%d" % pid
        self.va, self.vb = "slt%da" % pid, "slt%db" % pid
        used = run(["ip", "-4", "addr", "show"], timeout=10).stdout.decode()
        for k in range(250):
            x = (pid + k) % 250 + 2
            if "10.231.%d." % x not in used:
                break
        self.net = "10.231.%d.0/30" % x
        self.host = "10.231.%d.1" % x
        self.peer = "10.231.%d.2" % x
        self.made = False

    def ip(self, *args):
        r = run(["ip"] + list(args), timeout=15)
        if r.returncode != 0:
            raise OSError("ip %s: %s" % (" ".join(args),
                                         r.stderr.decode().strip()))

    def up(self):
        self.ip("netns", "add", self.ns)
        self.made = True
        self.ip("link", "add", self.va, "type", "veth", "peer", "name",
                self.vb)
        self.ip("link", "set", self.vb, "netns", self.ns)
        self.ip("addr", "add", self.host + "/30", "dev", self.va)
        self.ip("link", "set", self.va, "up")
        self.ip("-n", self.ns, "addr", "add", self.peer + "/30", "dev",
                self.vb)
        self.ip("-n", self.ns, "link", "set", self.vb, "up")
        self.ip("-n", self.ns, "link", "set", "lo", "up")

    def down(self):
        run(["ip", "link", "del", self.va], timeout=15)
        if self.made:
            run(["ip", "netns", "del", self.ns], timeout=15)

    def curl(self, *args):
        return run(["ip", "netns", "exec", self.ns, "curl", "-sS",
                    "--max-time", str(int(10 * SLOW))] + list(args),
                   timeout=20)


def ns_get(n, sl, url, socks=False):
    """curl inside the namespace through sl: (exit, status, body)."""
    proxy = ["--socks5-hostname", "%s:%d" % sl.addr] if socks else \
        ["-x", "http://%s:%d" % sl.addr]
    r = n.curl(*proxy, "-w", "\n%{http_code}", url)
    body, _, code = r.stdout.rpartition(b"\n")
    return r.returncode, int(code or 0), body


@test
def shared_gateway_netns(fx):
    n = None
    try:
        try:
            n = Netns()
            n.up()
        except OSError as e:         # no ip(8), not root, no netns support
            print("      SKIP shared_gateway_netns: cannot make a network "
                  "namespace and veth pair (needs root and iproute2): %s" % e)
            return
        hp = fx.ports["http"]
        clients = 'clients = [ "%s" ];' % n.net
        # protected by default: loopback, the proxy's own address
        sl = gw(fx, 'rules = ( { action = "allow"; %s } );\n' % clients,
                host=n.host, proto="auto")
        check("shared gateway" in sl.log(), "logged as a shared gateway")
        rc, code, body = ns_get(n, sl, "http://%s:%d/hello" % (ORIGIN_HOST,
                                                               hp))
        eq(code, 403, "HTTP to 127.0.0.3 (rc %d, %r)" % (rc, body))
        check(b"protected destination" in body, body)
        rc, code, body = ns_get(n, sl, "http://origin.test:%d/hello" % hp)
        eq(code, 403, "HTTP to origin.test -> 127.0.0.3 (%r)" % body)
        rc, code, body = ns_get(n, sl, "http://%s:%d/" % sl.addr)
        eq(code, 403, "HTTP to the proxy's own address (%r)" % body)
        check(b"protected destination" in body, body)
        rc, code, body = ns_get(n, sl, "http://%s:%d/hello" % (ORIGIN_HOST,
                                                               hp), True)
        check(rc != 0 and body != HELLO, "SOCKS5 to 127.0.0.3 must fail "
              "(rc %d, %r)" % (rc, body))
        a = access_with(sl, lambda a: a["proto"] == "socks5", "socks line")
        eq((a["status"], a["end"]), ("0x02", "denied_protected"),
           "SOCKS5 refusal logged")
        check(a["client"].startswith(n.peer + ":"), a)
        lines = sl.access(4)
        check(all(x["end"] == "denied_protected" for x in lines), lines)
        eq(sl.stop(), 0, "exit")

        # allowed by an explicit address block
        sl = gw(fx, 'rules = ( { action = "allow"; %s dest = [ '
                '"127.0.0.3/32" ]; } );\n' % clients, host=n.host,
                proto="auto")
        url = "http://%s:%d/hello" % (ORIGIN_HOST, hp)
        eq(ns_get(n, sl, url)[1:], (200, HELLO), "HTTP with the rule")
        eq(ns_get(n, sl, url, True), (0, 200, HELLO), "SOCKS5 with the rule")
        eq(ns_get(n, sl, "http://origin.test:%d/hello" % hp, True),
           (0, 200, HELLO), "a name resolving into the block")
        # still not the proxy's own address
        eq(ns_get(n, sl, "http://%s:%d/" % sl.addr)[1], 403,
           "own address without a rule")
        eq(sl.stop(), 0, "exit")

        # a *.suffix is not enough for a protected address; an exact name is
        sl = gw(fx, 'rules = ( { action = "allow"; %s dest = [ "*.test", '
                '"short.test" ]; } );\n' % clients, host=n.host,
                proto="auto")
        rc, code, body = ns_get(n, sl, "http://origin.test:%d/hello" % hp)
        eq(code, 403, "origin.test under *.test (%r)" % body)
        check(b"protected destination" in body, body)
        rc, code, body = ns_get(n, sl, "http://origin.test:%d/hello" % hp,
                                True)
        check(rc != 0, "SOCKS5 origin.test under *.test must fail")
        eq(ns_get(n, sl, "http://short.test:%d/hello" % hp)[1:],
           (200, HELLO), "short.test named exactly")
        eq(ns_get(n, sl, "http://%s:%d/hello" % (ORIGIN_HOST, hp))[1],
           403, "the address itself is not in the rule")
        eq(sl.stop(), 0, "exit")
    finally:
        if n is not None:
            n.down()


def own_global_address():
    """An address of this host off loopback (IPv4), or None."""
    out = run(["ip", "-o", "-4", "addr", "show", "scope", "global"],
              timeout=10).stdout.decode()
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    return m.group(1) if m else None


@test
def dual_stack_gateway_mapped_addresses(fx):
    """A listener on "::" (off loopback: a shared gateway) sees IPv4
    clients as ::ffff:a.b.c.d; rules on clients must still match them, and
    no spelling of a protected address may get through."""
    ep, hp = fx.ports["echo"], fx.ports["http"]
    conf = auth_conf("alice") + (
        'rules = (\n'
        '  { action = "allow"; clients = [ "127.0.0.5/32" ]; '
        'dest = [ "127.0.0.3/32" ]; ports = [ %d ]; },\n'
        '  { action = "allow"; clients = [ "127.0.0.5/32", "::1/128" ]; },\n'
        '  { action = "deny"; name = "rest"; }\n);\n' % ep)
    sl = gw(fx, conf, host="::", proto="auto")
    v4, v6 = (PROXY_HOST, sl.port), ("::1", sl.port)
    kw = {"user": "alice", "src": "127.0.0.5"}
    eq(s5_rep(v4, ORIGIN_HOST, ep, **kw), 0, "127.0.0.5 to the allowed block")
    a = access_with(sl, lambda a: a["status"] == "0x00", "the tunnel")
    check(a["client"].startswith("127.0.0.5:"),
          "the client logged as IPv4: %r" % a["client"])
    eq(s5_rep(v4, "::ffff:127.0.0.3", ep, **kw), 0,
       "the block spelt IPv4-mapped")
    eq(s5_rep(v4, "origin.test", ep, **kw), 0, "a name in the block")
    protected = [(ORIGIN_HOST, hp), ("::ffff:127.0.0.3", hp), ("::1", hp),
                 ("127.0.0.1", hp), ("0.0.0.0", hp), ("::", hp),
                 ("169.254.1.1", 80), ("fe80::1", 80),
                 ("::ffff:169.254.1.1", 80), ("0.1.2.3", 80)]
    own = own_global_address()
    if own:
        protected.append((own, hp))
    else:
        print("      (no global IPv4 address here: own-address check "
              "skipped)")
    for host, port in protected:
        eq(s5_rep(v4, host, port, **kw), 0x02, "protected %s" % host)
    status, _, body = http_get_via(sl, fx, host="[::ffff:127.0.0.3]",
                                   user="alice", src="127.0.0.5", addr=v4)
    eq(status, 403, "HTTP to [::ffff:127.0.0.3] (%r)" % body)
    check(b"protected destination" in body, body)
    n = len(protected) + 1
    lines = sl.access(3 + n)
    prot = [x for x in lines if x["end"] == "denied_protected"]
    eq(len(prot), n, "denied_protected lines: %r" % [
        (x["target"], x["end"]) for x in lines])
    check(all(x["connected"] == "-" for x in prot), "nothing connected")
    # IPv6 client: rule 2 (no dest) cannot open loopback
    eq(s5_rep(v6, ORIGIN_HOST, ep, user="alice"), 0x02, "::1 to 127.0.0.3")
    # another IPv4 client: the last rule
    eq(s5_rep(v4, ORIGIN_HOST, ep, user="alice", src="127.0.0.6"), 0x02,
       "127.0.0.6")
    a = access_with(sl, lambda a: a["client"].startswith("127.0.0.6:"),
                    "127.0.0.6 line")
    eq(a["end"], "denied", "by rule, not protection")
    check('is denied by rule #3 "rest"' in sl.log(), "log")
    eq(sl.stop(), 0, "exit")


def sluice_check(fx, text):
    """sluice -t -c FILE with text: CompletedProcess."""
    d = tempfile.mkdtemp(prefix="t-", dir=fx.tmp)
    path = os.path.join(d, "check.conf")
    with open(path, "w") as f:
        f.write(text)
    return run([SLUICE, "-t", "-c", path], timeout=10), path


@test
def open_proxy_refused_at_start(fx):
    listen = ('listen = ( { proto = "socks5"; address = "10.231.251.1"; '
              'port = 1080; }, { proto = "http"; address = "127.0.0.1"; '
              'port = 3128; } );\n')
    r, path = sluice_check(fx, listen)
    eq(r.returncode, 1, "-t of an open proxy (%r)" % r.stdout)
    err = r.stderr.decode()
    check("open proxy" in err, "stderr mentions the open proxy: %r" % err)
    check("10.231.251.1" in err, "stderr names the listener: %r" % err)
    # a real start is refused the same way, before binding anything
    r = run(WRAPPER + [SLUICE, "-c", path], timeout=10)
    eq(r.returncode, 1, "start of an open proxy")
    check(b"open proxy" in r.stderr, r.stderr)
    # each of the three ways out
    for extra in ("allow_open_proxy = true;\n",
                  auth_conf("alice"),
                  'rules = ( { action = "allow"; clients = [ '
                  '"10.0.0.0/8" ]; } );\n'):
        r, _ = sluice_check(fx, listen + extra)
        eq(r.returncode, 0, "-t with %r (%r)" % (extra, r.stderr))
        check(b"shared gateway" in r.stdout, r.stdout)
    r, _ = sluice_check(fx, listen + "allow_open_proxy = true;\n")
    check(b"open proxy allowed" in r.stdout, r.stdout)
    # every listener on loopback: a personal proxy, no refusal
    r, _ = sluice_check(fx, 'listen = ( { proto = "socks5"; address = '
                        '"127.0.0.1"; port = 1080; } );\n')
    eq(r.returncode, 0, "-t of a loopback proxy (%r)" % r.stderr)
    check(b"shared gateway" not in r.stdout, r.stdout)
    # the admin listener off loopback needs a token
    base = 'listen = ( { proto = "socks5"; address = "127.0.0.1"; port = ' \
        '1080; } );\n'
    r, apath = sluice_check(fx, base + 'admin = { address = '
                            '"10.231.251.1"; port = 9090; };\n')
    eq(r.returncode, 1, "admin off loopback without a token")
    check(b"admin.token" in r.stderr, r.stderr)
    r2 = run(WRAPPER + [SLUICE, "-c", apath], timeout=10)
    eq(r2.returncode, 1, "start with the admin off loopback, no token")
    check(b"admin.token" in r2.stderr, r2.stderr)
    r, _ = sluice_check(fx, base + 'admin = { address = "10.231.251.1"; '
                        'port = 9090; token = "%s"; };\n' % TOKEN)
    eq(r.returncode, 0, "admin off loopback with a token (%r)" % r.stderr)
    r, _ = sluice_check(fx, base + 'admin = { token = "short"; };\n')
    eq(r.returncode, 1, "a short token")


# ----- 6: limits -------------------------------------------------------------

@test
def limit_per_client(fx):
    sl = gw(fx, "limits = { per_client = 2; };\n")
    ep = fx.ports["echo"]
    held = [s5(sl.addr, ORIGIN_HOST, ep, src="127.0.0.1") for _ in range(2)]
    check(refused_at_accept(sl.addr, src="127.0.0.1"),
          "a third session from 127.0.0.1 must be refused")
    # another address has its own count
    other = s5(sl.addr, ORIGIN_HOST, ep, src="127.0.0.5")
    echo_roundtrip(other, 100)
    for s in held:
        echo_roundtrip(s, 100)
    close_tunnel(held.pop())
    wait_for(lambda: not refused_at_accept(sl.addr, src="127.0.0.1"), 3,
             "a slot for 127.0.0.1 again")
    a = access_with(sl, lambda a: a["end"] == "limit_per_client",
                    "the refusal in the access log")
    check(a["client"].startswith("127.0.0.1:"), a)
    for s in held + [other]:
        s.close()
    eq(sl.stop(), 0, "exit")


@test
def limit_per_user(fx):
    conf = auth_conf("alice", ("bob", "per_user = 2;")) + \
        "limits = { per_user = 1; };\n"
    sl = gw(fx, conf, proto="auto")
    ep = fx.ports["echo"]
    a1 = s5(sl.addr, ORIGIN_HOST, ep, user="alice")
    eq(s5_rep(sl.addr, ORIGIN_HOST, ep, user="alice"), 0x02,
       "alice's second SOCKS5 session")
    status, _, body = http_get_via(sl, fx, user="alice")
    eq(status, 429, "alice over HTTP (%r)" % body)
    check(b"per_user" in body, body)
    b = [s5(sl.addr, ORIGIN_HOST, ep, user="bob") for _ in range(2)]
    eq(s5_rep(sl.addr, ORIGIN_HOST, ep, user="bob"), 0x02,
       "bob's third session (his own per_user = 2)")
    close_tunnel(a1)
    wait_for(lambda: http_get_via(sl, fx, user="alice")[0] == 200, 3,
             "alice served again once her tunnel closed")
    ends = [a["end"] for a in sl.access(5)]
    eq(ends.count("limit_per_user"), 3, "limit_per_user lines: %r" % ends)
    for s in b:
        s.close()
    eq(sl.stop(), 0, "exit")


@test
def limit_rate_per_client(fx):
    sl = gw(fx, "limits = { rate_per_client = 5; };\n")
    results = [refused_at_accept(sl.addr) for _ in range(20)]
    ok = results.count(False)
    check(5 <= ok <= 8, "accepted %d of 20 rapid connections at 5/s: %r" %
          (ok, results))
    check(all(not r for r in results[:5]), "the burst of 5 first: %r" %
          results)
    time.sleep(1.1)
    check(not refused_at_accept(sl.addr), "accepted again after a second")
    a = access_with(sl, lambda a: a["end"] == "limit_rate",
                    "limit_rate in the access log")
    check(a["client"].startswith("127.0.0.1:"), a)
    eq(sl.stop(), 0, "exit")


RATE = 500000        # "500K"
BW_BYTES = 1500000   # 1 s of burst, then 2 s at the rate


def tunnel_download(sl, fx, n, user=None):
    """(seconds, body) of GET /bytes/n through a SOCKS5 tunnel."""
    s = s5(sl.addr, "origin.test", fx.ports["http"], user=user)
    t0 = time.monotonic()
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: o\r\nConnection: close"
              b"\r\n\r\n" % n)
    data = recv_until_close(s, 30)
    dt = time.monotonic() - t0
    s.close()
    return dt, parse_response(data)[2]


def tunnel_upload(sl, fx, data, user=None):
    """Seconds until the halfclose origin has all of data (its answer)."""
    s = s5(sl.addr, ORIGIN_HOST, fx.ports["halfclose"], user=user)
    t0 = time.monotonic()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    answer = recv_until_close(s, 30)
    dt = time.monotonic() - t0
    s.close()
    eq(answer, b"got %d bytes sha256=%s\n" % (len(data),
                                               sha256(data).encode()),
       "the origin got everything")
    return dt


@test
def bandwidth_conn_tunnel(fx):
    sl = gw(fx, 'limits = { conn_bandwidth = "500K"; };\n')
    want = (BW_BYTES - RATE) / RATE
    dt, body = tunnel_download(sl, fx, BW_BYTES)
    eq(len(body), BW_BYTES, "bytes")
    eq(sha256(body), origin.pattern_sha256(BW_BYTES), "sha256")
    within(dt, want, 0.30, "SOCKS5 download of 1.5 MB at 500 kB/s")
    data = random.Random(3).randbytes(BW_BYTES)
    dt = tunnel_upload(sl, fx, data)
    within(dt, want, 0.30, "SOCKS5 upload of 1.5 MB at 500 kB/s")
    eq(sl.stop(), 0, "exit")


@test
def bandwidth_http_forward(fx):
    sl = gw(fx, 'limits = { conn_bandwidth = "500K"; };\n', proto="http")
    want = (BW_BYTES - RATE) / RATE
    t0 = time.monotonic()
    r = curl("-x", "http://%s:%d" % sl.addr, "http://origin.test:%d/bytes/%d"
             % (fx.ports["http"], BW_BYTES))
    dt = time.monotonic() - t0
    eq(r.returncode, 0, "curl (%r)" % r.stderr)
    eq(sha256(r.stdout), origin.pattern_sha256(BW_BYTES), "sha256")
    within(dt, want, 0.30, "HTTP download of 1.5 MB at 500 kB/s")
    path = os.path.join(fx.tmp, "upload.bin")
    data = random.Random(4).randbytes(BW_BYTES)
    with open(path, "wb") as f:
        f.write(data)
    t0 = time.monotonic()
    r = curl("-x", "http://%s:%d" % sl.addr, "--data-binary", "@" + path,
             "-H", "Content-Type: application/octet-stream",
             "http://origin.test:%d/sink" % fx.ports["http"])
    dt = time.monotonic() - t0
    eq(r.returncode, 0, "curl upload (%r)" % r.stderr)
    eq(json.loads(r.stdout), {"bytes": BW_BYTES, "sha256": sha256(data)},
       "the origin got everything")
    within(dt, want, 0.30, "HTTP upload of 1.5 MB at 500 kB/s")
    eq(sl.stop(), 0, "exit")


@test
def bandwidth_user_shared(fx):
    # alice's own limit (500K) overrides the global user_bandwidth
    conf = auth_conf(("alice", 'user_bandwidth = "500K";'), "bob") + \
        'limits = { user_bandwidth = "100M"; };\n'
    sl = gw(fx, conf)
    half = BW_BYTES // 2
    ts = [Thread(tunnel_download, sl, fx, half, "alice") for _ in range(2)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    res = [t.join(30) for t in ts]
    dt = time.monotonic() - t0
    for d, body in res:
        eq(sha256(body), origin.pattern_sha256(half), "sha256")
    within(dt, (BW_BYTES - RATE) / RATE, 0.30,
           "two tunnels of alice sharing 500 kB/s")
    # bob has the global 100M: fast
    dt, body = tunnel_download(sl, fx, BW_BYTES, "bob")
    eq(len(body), BW_BYTES, "bob's bytes")
    check(dt < 1.0 * SLOW, "bob is not limited to 500 kB/s: %.2f s" % dt)
    eq(sl.stop(), 0, "exit")


# ----- 7: quotas -------------------------------------------------------------

QUOTA_CUT = 2000000     # more than one relay pass (1 MiB): must be cut
                        # at the quota, not a pass later


def state_usage(path):
    """{user: (bytes today, bytes this month)} from the state file (one
    line a user ending in "NAME DAY BYTES MONTH BYTES"), or None."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        t = line.split()
        if not t or t[0].startswith("#"):
            continue
        check(len(t) >= 5 and all(x.isdigit() for x in t[-4:]),
              "state line %r" % line)
        out[t[-5]] = (int(t[-3]), int(t[-1]))
    return out


@test
def quota_daily_cut_refused_and_persisted(fx):
    d = tempfile.mkdtemp(prefix="q-", dir=fx.tmp)
    state = os.path.join(d, "quota.state")
    conf = auth_conf("alice", ("bob", "user_quota_daily = 100000;"),
                     ("carol", 'user_quota_monthly = "50K";')) + \
        'limits = { user_quota_daily = 300000; state_file = "%s"; };\n' % \
        state
    sl = gw(fx, conf, proto="auto")
    dt, body = tunnel_download(sl, fx, 200000, "alice")
    eq(len(body), 200000, "alice's first 200 kB")
    eq(sha256(body), origin.pattern_sha256(200000), "sha256")
    dt, body = tunnel_download(sl, fx, QUOTA_CUT, "alice")
    check(len(body) < QUOTA_CUT, "alice's 2 MB download must be cut at the "
          "300 kB quota (got %d)" % len(body))
    a = access_with(sl, lambda a: a["user"] == "alice" and
                    a["end"] == "quota_exceeded", "alice's cut tunnel")
    first = access_with(sl, lambda a: a["user"] == "alice" and
                        a["end"] == "done", "alice's first tunnel")
    used = sum(int(x["up"]) + int(x["down"]) for x in (first, a))
    # a tunnel reads no more than the quota's rest: the cut is at the
    # byte, give or take the SOCKS reply sent before the relay ran
    check(300000 <= used <= 300000 + 64,
          "alice used %d bytes of her 300000 quota: %r, %r" % (used,
                                                               first, a))
    eq(s5_rep(sl.addr, "origin.test", fx.ports["http"], user="alice"),
       0x02, "alice's next session")
    access_with(sl, lambda a: a["user"] == "alice" and
                a["end"] == "quota_daily" and a["status"] == "0x02",
                "alice refused for the daily quota")
    status, _, body = http_get_via(sl, fx, user="alice")
    eq(status, 403, "alice over HTTP (%r)" % body)
    check(b"quota" in body, body)
    # bob's own quota (100 kB), over HTTP: the response is cut, then 403
    status, _, body = http_get_via(sl, fx, "/bytes/%d" % QUOTA_CUT,
                                   user="bob")
    eq(status, 200, "bob's response started")
    check(len(body) < QUOTA_CUT, "bob's response must be cut (%d)" %
          len(body))
    cut = access_with(sl, lambda a: a["user"] == "bob" and
                      a["end"] == "quota_exceeded", "bob's cut request")
    # an HTTP body is cut at the byte too, however much one read brought
    used = int(cut["up"]) + int(cut["down"])
    check(100000 <= used <= 100000 + 64,
          "bob used %d bytes of his 100000 quota: %r" % (used, cut))
    # "down" counts the response head as well
    check(0 < int(cut["down"]) - len(body) < 512,
          "bob received every body byte counted (%d of %s with the head): "
          "none is lost at the cut" % (len(body), cut["down"]))
    status, _, body = http_get_via(sl, fx, user="bob")
    eq(status, 403, "bob's next request")
    check(b"daily" in body, body)
    # carol's monthly quota (50 kB, under the daily 300 kB): 200 kB may
    # pass whole or be cut, the next session is refused
    dt, body = tunnel_download(sl, fx, 200000, "carol")
    eq(body, origin.pattern(len(body)), "carol's bytes")
    eq(s5_rep(sl.addr, "origin.test", fx.ports["http"], user="carol"),
       0x02, "carol's next session")
    access_with(sl, lambda a: a["user"] == "carol" and
                a["end"] == "quota_monthly", "carol refused (monthly)")
    eq(sl.stop(), 0, "exit")
    # the usage is saved at exit...
    rows = state_usage(state)
    check(rows and set(rows) >= {"alice", "bob", "carol"},
          "state rows: %r" % rows)
    check(rows["alice"][0] >= 300000, "alice's day usage %r" %
          (rows["alice"],))
    check(rows["carol"][1] >= 50000, "carol's month usage %r" %
          (rows["carol"],))
    # ...and read at start: still refused after a restart
    sl = gw(fx, conf, proto="auto")
    eq(s5_rep(sl.addr, "origin.test", fx.ports["http"], user="alice"),
       0x02, "alice after a restart")
    eq(http_get_via(sl, fx, user="bob")[0], 403, "bob after a restart")
    eq(s5_rep(sl.addr, "origin.test", fx.ports["http"], user="carol"),
       0x02, "carol after a restart")
    eq(sl.stop(), 0, "exit")


@test
def quota_state_saved_periodically(fx):
    """The usage reaches the state file while sluice runs (every 10 s), so
    a crash does not forget it."""
    d = tempfile.mkdtemp(prefix="q-", dir=fx.tmp)
    state = os.path.join(d, "quota.state")
    conf = auth_conf("alice") + \
        'limits = { user_quota_daily = 300000; state_file = "%s"; };\n' % \
        state
    sl = gw(fx, conf)
    t0 = time.monotonic()
    tunnel_download(sl, fx, QUOTA_CUT, "alice")
    eq(s5_rep(sl.addr, "origin.test", fx.ports["http"], user="alice"),
       0x02, "alice over quota")

    rows = wait_for(lambda: (state_usage(state) or {}).get("alice"), 12,
                    "the state file while running", step=0.2)
    check(time.monotonic() - t0 < 11.5 * SLOW, "saved within ~10 s")
    check(rows[0] >= 300000, "alice's usage %r" % (rows,))
    sl.proc.kill()                   # no exit path: what was saved counts
    sl.proc.wait()
    sl = gw(fx, conf)
    eq(s5_rep(sl.addr, "origin.test", fx.ports["http"], user="alice"),
       0x02, "alice after a crash and a restart")
    eq(sl.stop(), 0, "exit")


# ----- 8-9: the admin listener -----------------------------------------------

@test
def metrics_match_traffic(fx):
    aport = free_port("127.0.0.1")
    conf = auth_conf("alice") + \
        'admin = { address = "127.0.0.1"; port = %d; };\n' % aport + \
        'rules = ( { action = "deny"; name = "blocked"; ' \
        'dest = [ "www.corp.test" ]; } );\n'
    sl = gw(fx, conf, proto="auto")
    adm = ("127.0.0.1", aport)
    ep, n = fx.ports["echo"], 50000
    for i in range(3):
        s = s5(sl.addr, ORIGIN_HOST, ep, user="alice", src="127.0.0.1")
        echo_roundtrip(s, n, i)
        close_tunnel(s)
    for i in range(2):
        status, _, body = http_get_via(sl, fx, user="alice", src="127.0.0.1")
        eq((status, body), (200, HELLO), "HTTP request %d" % i)
    eq(s5_rep(sl.addr, "www.corp.test", fx.ports["http"], user="alice",
              src="127.0.0.1"), 0x02, "the denied request")
    eq(s5_rep(sl.addr, ORIGIN_HOST, closed_port(), user="alice",
              src="127.0.0.1"), 0x05, "the refused connect")
    eq(s5_rep(sl.addr, ORIGIN_HOST, ep, user="alice", pw="wrong",
              src="127.0.0.1"), 0x101, "the failed authentication")
    sl.access(8)
    wait_for(lambda: "sluice_sessions_active 0\n" in
             admin(adm, "GET", "/metrics")[2].decode(), 3,
             "every session closed")
    status, hdrs, body = admin(adm, "GET", "/metrics")
    eq(status, 200, "/metrics")
    check(hdrs["content-type"].startswith("text/plain; version=0.0.4"),
          hdrs)
    ms = parse_metrics(body.decode())
    # sluice_ended_total: one per access-log record, by its end= value
    ended = {dict(k[1])["end"]: v for k, v in ms.items()
             if k[0] == "sluice_ended_total"}
    logged = {}
    for rec in sl.access():
        logged[rec["end"]] = logged.get(rec["end"], 0) + 1
    eq(sum(logged.values()), 8, "access-log records")
    eq({e: v for e, v in ended.items() if v}, logged,
       "sluice_ended_total against the access log")
    for e in ("denied", "connect_failed", "auth_failed"):
        eq(ended[e], 1, "ended %s" % e)
    eq(ended["other"], 0, "ended with a value not in the list")
    eq(sum(ended.values()), 8, "ended in all")
    # the README names every value the metric lists
    readme = open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "..", "..", "README.md")).read()
    doc = readme.split("`end` why it\nended:", 1)[1].split(".\n", 1)[0]
    documented = set(re.findall(r"`([a-z_]+)`", doc)) - {"interim", "log"}
    eq(documented, set(ended) - {"other"},
       "end= values in README against sluice_ended_total's")
    man = open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "..", "contrib", "man",
                            "sluice.conf.5")).read()
    doc = man.split("why it ended:\n", 1)[1].split(".It Cm json", 1)[0]
    eq(set(re.findall(r"^\.Cm ([a-z_]+)", doc, re.M)) - {"interim"},
       set(ended) - {"other"}, "end= values in sluice.conf(5)")
    eq(mval(ms, "sluice_sessions_total"), 8, "sessions_total")
    eq(mval(ms, "sluice_sessions_active"), 0, "sessions_active")
    eq(mval(ms, "sluice_config_generation"), 1, "generation")
    up = mval(ms, "sluice_bytes_total", direction="up")
    down = mval(ms, "sluice_bytes_total", direction="down")
    check(3 * n <= up < 3 * n + 4000, "bytes up %d for 3 x %d" % (up, n))
    check(3 * n + 2 * len(HELLO) <= down < 3 * n + 4000,
          "bytes down %d" % down)
    eq(mval(ms, "sluice_denied_total"), 1, "denied_total")
    eq(mval(ms, "sluice_connect_failures_total", reason="refused"), 1,
       "connect failures (refused)")
    eq(mval(ms, "sluice_connect_failures_total", reason="timeout"), 0,
       "connect failures (timeout)")
    eq(mval(ms, "sluice_auth_failures_total"), 1, "auth failures")
    eq(mval(ms, "sluice_user_sessions_total", user="alice"), 7,
       "alice's sessions")
    eq(mval(ms, "sluice_user_sessions_active", user="alice"), 0,
       "alice's active sessions")
    uup = mval(ms, "sluice_user_bytes_total", user="alice", direction="up")
    check(uup >= 3 * n, "alice's bytes up %d" % uup)
    eq(mval(ms, "sluice_client_sessions_total", client="127.0.0.1"), 8,
       "client 127.0.0.1 sessions")
    cdown = mval(ms, "sluice_client_bytes_total", client="127.0.0.1",
                 direction="down")
    check(cdown >= 3 * n, "client bytes down %d" % cdown)
    eq(mval(ms, "sluice_listener_sessions_total",
            listener="auto %s:%d" % sl.addr), 8, "listener sessions")
    for limit in ("per_client", "per_user", "rate_per_client", "quota"):
        eq(mval(ms, "sluice_refused_total", limit=limit), 0,
           "refused %s" % limit)
    for h in ("sluice_connect_seconds", "sluice_dns_seconds"):
        count = mval(ms, h + "_count")
        eq(mval(ms, h + "_bucket", le="+Inf"), count, h + " +Inf bucket")
        mval(ms, h + "_sum")
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in ms.items()
                         if k[0] == h + "_bucket")
        check(len(buckets) >= 5, "%s buckets: %r" % (h, buckets))
        vals = [v for _, v in buckets]
        check(vals == sorted(vals), "%s buckets cumulative: %r" % (h, vals))
    check(mval(ms, "sluice_connect_seconds_count") >= 4,
          "connects timed (3 tunnels, at least 1 HTTP)")
    check(mval(ms, "sluice_dns_seconds_count") >= 1, "lookups timed")
    status, _, body = admin(adm, "GET", "/healthz")
    eq((status, body), (200, b"ok\n"), "/healthz")
    eq(admin(adm, "GET", "/nope")[0], 404, "unknown path")
    eq(admin(adm, "POST", "/metrics")[0], 405, "POST /metrics")
    eq(sl.stop(), 0, "exit")


@test
def metrics_live_transfers(fx):
    """/metrics while transfers run: "byte totals include what live
    sessions have moved so far" (admin.c), for tunnels and for HTTP
    forward requests alike."""
    aport = free_port("127.0.0.1")
    sl = gw(fx, 'limits = { conn_bandwidth = "500K"; };\n'
            'admin = { address = "127.0.0.1"; port = %d; };\n' % aport,
            proto="auto")
    adm = ("127.0.0.1", aport)
    socks = Thread(tunnel_download, sl, fx, BW_BYTES)
    socks.start()
    fwd = Thread(http_get_via, sl, fx, "/bytes/%d" % BW_BYTES)
    fwd.start()
    time.sleep(1.0)
    live = json.loads(admin(adm, "GET", "/sessions")[2])
    ms = parse_metrics(admin(adm, "GET", "/metrics")[2].decode())
    eq(mval(ms, "sluice_sessions_active"), 2, "two live sessions")
    eq(sorted(x["proto"] for x in live), ["http", "socks5"], "live: %r" %
       live)
    for x in live:
        check(x["down"] >= RATE, "%s moved at least the burst: %r" % (
            x["proto"], x))
    down = mval(ms, "sluice_bytes_total", direction="down")
    want = sum(x["down"] for x in live)
    check(down >= want, "sluice_bytes_total{direction=\"down\"} %d while "
          "the live sessions have moved %d (%s)" % (down, want, ", ".join(
              "%s %d" % (x["proto"], x["down"]) for x in live)))
    eq(len(socks.join(30)[1]), BW_BYTES, "tunnel download")
    eq(len(fwd.join(30)[2]), BW_BYTES, "HTTP download")
    eq(sl.stop(), 0, "exit")


@test
def admin_token(fx):
    aport = free_port("127.0.0.1")
    sl = gw(fx, 'admin = { address = "127.0.0.1"; port = %d; token = "%s";'
            ' };\n' % (aport, TOKEN))
    adm = ("127.0.0.1", aport)
    status, hdrs, _ = admin(adm, "GET", "/metrics")
    eq(status, 401, "no token")
    check("bearer" in hdrs.get("www-authenticate", "").lower(), hdrs)
    eq(admin(adm, "GET", "/metrics", token=TOKEN + "x")[0], 401,
       "wrong token")
    eq(admin(adm, "GET", "/sessions", token="wrong-token-abcdefgh")[0], 401,
       "/sessions with a wrong token")
    eq(admin(adm, "POST", "/users/alice/close")[0], 401,
       "POST without a token")
    status, _, body = admin(adm, "GET", "/metrics", token=TOKEN)
    eq(status, 200, "the right token")
    check(b"sluice_sessions_total" in body, body[:200])
    eq(admin(adm, "GET", "/healthz")[:3:2], (200, b"ok\n"),
       "/healthz needs no token")
    check("token required" in sl.log(), "the log says a token is needed")
    eq(sl.stop(), 0, "exit")


@test
def sessions_endpoint(fx):
    aport = free_port("127.0.0.1")
    sl = gw(fx, auth_conf("alice", "bob") +
            'admin = { address = "127.0.0.1"; port = %d; };\n' % aport)
    adm = ("127.0.0.1", aport)
    ep = fx.ports["echo"]
    t = s5(sl.addr, ORIGIN_HOST, ep, user="alice")
    echo_roundtrip(t, 3000)
    status, hdrs, body = admin(adm, "GET", "/sessions")
    eq(status, 200, "/sessions")
    check(hdrs["content-type"].startswith("application/json"), hdrs)
    lst = json.loads(body)
    eq(len(lst), 1, "one live session: %r" % lst)
    e = lst[0]
    eq(e["user"], "alice", "user")
    eq(e["proto"], "socks5", "proto")
    eq(e["state"], "relay", "state")
    eq(e["client"], "%s:%d" % t.getsockname(), "client")
    eq(e["target"], "%s:%d" % (ORIGIN_HOST, ep), "target")
    eq(e["connected"], "%s:%d" % (ORIGIN_HOST, ep), "connected")
    eq(e["up"], 3000, "bytes up")
    check(e["down"] >= 3000, "bytes down %r" % e)
    check(e["age"] >= 0, e)
    status, _, body = admin(adm, "POST", "/sessions/%s/close" % e["id"])
    eq((status, json.loads(body)), (200, {"closed": 1}), "close one")
    check(tunnel_closed(t), "the client sees its tunnel closed")
    t.close()
    a = access_with(sl, lambda a: a["end"] == "admin_closed",
                    "admin_closed in the access log")
    eq(a["id"], e["id"], "the closed session's id")
    eq(admin(adm, "POST", "/sessions/%s/close" % e["id"])[0], 404,
       "closing it again")
    eq(admin(adm, "GET", "/sessions/%s/close" % e["id"])[0], 405,
       "GET on a POST path")
    # all of a user's sessions
    ts = [s5(sl.addr, ORIGIN_HOST, ep, user=u)
          for u in ("alice", "alice", "bob")]
    for s in ts:
        echo_roundtrip(s, 10)
    eq(len(json.loads(admin(adm, "GET", "/sessions")[2])), 3, "3 sessions")
    status, _, body = admin(adm, "POST", "/users/alice/close")
    eq((status, json.loads(body)), (200, {"closed": 2}), "close alice's")
    check(tunnel_closed(ts[0]) and tunnel_closed(ts[1]),
          "alice's tunnels closed")
    echo_roundtrip(ts[2], 100)
    lst = json.loads(admin(adm, "GET", "/sessions")[2])
    eq([x["user"] for x in lst], ["bob"], "bob's tunnel is left")
    eq(json.loads(admin(adm, "POST", "/users/nobody/close")[2]),
       {"closed": 0}, "a user with no sessions")
    for s in ts:
        s.close()
    check('the admin closed 2 sessions of user "alice"' in sl.log(),
          "logged")
    eq(sl.stop(), 0, "exit")


# ----- 10-11: access-log records and formats ---------------------------------

HOLD = 4.2           # seconds a tunnel is held in interim_records


@test
def interim_records(fx):
    """log.interim = 1: a live tunnel and a live HTTP request get a record
    (end=interim, the bytes so far) every second.  Records come from
    sluice's one-second tick for sessions at least log.interim old, so a
    session held 4.2 s spans at least three such ticks."""
    d = tempfile.mkdtemp(prefix="i-", dir=fx.tmp)
    access = os.path.join(d, "access.log")
    sl = gw(fx, 'limits = { conn_bandwidth = "300K"; };\n', proto="auto",
            log='level = "debug"; access = "%s"; interim = 1;' % access)
    sl.access_path = access
    # an HTTP forward request of about 4.2 s (300 kB of burst, then
    # 300 kB/s), beside a tunnel
    big = 1550000
    fwd = Thread(http_get_via, sl, fx, "/bytes/%d" % big)
    fwd.start()
    t = s5(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < HOLD:
        echo_roundtrip(t, 1000, i)
        i += 1
        time.sleep(0.1)
    close_tunnel(t)
    eq(len(fwd.join(15)[2]), big, "the HTTP download")
    final = access_with(sl, lambda a: a["proto"] == "socks5" and
                        a["end"] == "done", "the tunnel's final line")
    hfinal = access_with(sl, lambda a: a["proto"] == "http" and
                         a["end"] == "done", "the HTTP request's line")
    # the HTTP request's records
    lines = [a for a in sl.access() if a["proto"] == "http"]
    hinterim = [a for a in lines if a["end"] == "interim"]
    check(hinterim, "no interim line for the HTTP request: %r" % lines)
    eq(lines[-1]["end"], "done", "the HTTP final line comes last")
    downs = [int(a["down"]) for a in hinterim] + [int(hfinal["down"])]
    check(all(x < y for x, y in zip(downs, downs[1:])),
          "HTTP bytes grow: %r" % downs)
    for a in hinterim:
        eq((a["method"], a["url"], a["status"]),
           (hfinal["method"], hfinal["url"], "200"), "HTTP interim fields")
    # the tunnel's records
    lines = [a for a in sl.access() if a["id"] == final["id"]]
    interim = [a for a in lines if a["end"] == "interim"]
    eq(lines[-1]["end"], "done", "the final line comes last")
    check(interim, "no interim line for the tunnel: %r" % lines)
    ups = [int(a["up"]) for a in interim] + [int(final["up"])]
    check(all(x < y for x, y in zip(ups, ups[1:])), "bytes grow: %r" % ups)
    eq(int(final["up"]), 1000 * i, "final bytes up")
    for a in interim:
        eq((a["status"], a["target"], a["connected"]),
           ("0x00", final["target"], final["connected"]), "interim fields")
    # the cadence: one record a second
    durs = [float(a["dur"]) for a in interim]
    check(0.5 <= durs[0] <= 2.05, "the first interim record at %.3f s "
          "(interim = 1, a one-second tick)" % durs[0])
    hdurs = [float(a["dur"]) for a in hinterim]
    check(all(len(x) >= 3 and all(0.7 <= b - a <= 1.3 for a, b in
                                  zip(x, x[1:])) for x in (durs, hdurs)),
          "one interim record a second over %.1f s (interim = 1): records "
          "at %r s of the tunnel's life; the HTTP request's at %r" % (
              HOLD, durs, hdurs))
    eq(sl.stop(), 0, "exit")


def three_kinds(sl, fx):
    """A SOCKS5 tunnel, an HTTP request, a denied request (rule 1 denies
    www.corp.test)."""
    s = s5(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    echo_roundtrip(s, 500)
    close_tunnel(s)
    eq(http_get_via(sl, fx)[0], 200, "HTTP request")
    eq(s5_rep(sl.addr, "www.corp.test", fx.ports["http"]), 0x02, "denied")


DENY_CORP = 'rules = ( { action = "deny"; dest = [ "www.corp.test" ]; } );\n'


@test
def log_format_json_and_squid(fx):
    d = tempfile.mkdtemp(prefix="f-", dir=fx.tmp)
    path = os.path.join(d, "access.json")
    sl = gw(fx, DENY_CORP, proto="auto",
            log='access = "%s"; format = "json";' % path)
    three_kinds(sl, fx)

    def lines():
        try:
            with open(path) as f:
                return f.read().splitlines()
        except OSError:
            return []
    wait_for(lambda: len(lines()) >= 3, 5, "3 json lines")
    recs = [json.loads(x) for x in lines()]
    for r in recs:
        for k in ("time", "proto", "client", "user", "target", "connected",
                  "status", "up", "down", "duration", "end", "id"):
            check(k in r, "json record lacks %s: %r" % (k, r))
        check(isinstance(r["up"], int) and isinstance(r["down"], int), r)
    eq([r["proto"] for r in recs], ["socks5", "http", "socks5"], "protos")
    eq((recs[0]["up"], recs[0]["end"], recs[0]["user"]), (500, "done", None),
       "the tunnel")
    eq((recs[1]["method"], recs[1]["status"]), ("GET", "200"), "the request")
    eq((recs[2]["status"], recs[2]["end"], recs[2]["connected"]),
       ("0x02", "denied", None), "the denied one")
    eq(sl.stop(), 0, "exit")

    path = os.path.join(d, "access.squid")
    sl = gw(fx, DENY_CORP, proto="auto",
            log='access = "%s"; format = "squid";' % path)
    three_kinds(sl, fx)
    wait_for(lambda: len(lines()) >= 3, 5, "3 squid lines")
    squid = re.compile(r"^\d+\.\d{3}\s+\d+ (\S+) ([A-Z_]+)/(\d{3}) (\d+) "
                       r"(\S+) (\S+) (\S+) ([A-Z_]+)/(\S+) (\S+)$")
    ms = [squid.match(x) for x in lines()]
    check(all(ms), "squid layout: %r" % lines())
    eq(ms[0].group(2, 3, 5, 6), ("TCP_TUNNEL", "200", "CONNECT",
                                 "%s:%d" % (ORIGIN_HOST, fx.ports["echo"])),
       "the tunnel")
    eq(ms[0].group(4), "510", "bytes to the client (500 + the reply)")
    eq(ms[1].group(2, 3, 5), ("TCP_MISS", "200", "GET"), "the request")
    eq(ms[2].group(2, 3, 8), ("TCP_DENIED", "403", "HIER_NONE"), "denied")
    eq(sl.stop(), 0, "exit")


@test
def log_syslog(fx):
    d = tempfile.mkdtemp(prefix="s-", dir=fx.tmp)
    path = os.path.join(d, "log.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(5 * SLOW)
    try:
        sl = gw(fx, DENY_CORP, proto="auto",
                log='access = "syslog"; syslog_socket = "%s";' % path)
        three_kinds(sl, fx)
        got = [rx.recv(4096).decode() for _ in range(3)]
        prefix = "<30>sluice[%d]: " % sl.pid
        for g in got:
            check(g.startswith(prefix), "datagram %r, want %r..." % (
                g, prefix))
            check("\n" not in g, "one line per datagram: %r" % g)
        recs = [parse_access(g[len(prefix):]) for g in got]
        eq([(r["proto"], r["end"]) for r in recs],
           [("socks5", "done"), ("http", "done"), ("socks5", "denied")],
           "records")
        # the syslog daemon restarts (a new socket at the path): SIGUSR1
        # connects to it again
        rx.close()
        os.unlink(path)
        rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        rx.bind(path)
        rx.settimeout(5 * SLOW)
        mark = len(sl.log())
        sl.signal(signal.SIGUSR1)
        sl.wait_log("SIGUSR1: access log reopened", since=mark)
        eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "a session")
        g = rx.recv(4096).decode()
        check(g.startswith(prefix), g)
        eq(parse_access(g[len(prefix):])["end"], "done", "after SIGUSR1")
        eq(sl.stop(), 0, "exit")
    finally:
        rx.close()


@test
def log_access_stderr_and_off(fx):
    sl = gw(fx, DENY_CORP, proto="auto", log='access = "-";')
    three_kinds(sl, fx)
    recs = wait_for(lambda: [parse_access(x) for x in sl.log().splitlines()
                             if " proto=" in x][2:] and
                    [parse_access(x) for x in sl.log().splitlines()
                     if " proto=" in x], 5, "3 access lines on stderr")
    eq([(r["proto"], r["end"]) for r in recs],
       [("socks5", "done"), ("http", "done"), ("socks5", "denied")],
       "records on stderr")
    eq(sl.stop(), 0, "exit")
    sl = gw(fx, DENY_CORP, proto="auto", log='access = "off";')
    three_kinds(sl, fx)
    time.sleep(0.4)
    eq(sl.stop(), 0, "exit")
    check(" proto=" not in sl.log(), "no access lines: %s" % sl.log()[-800:])
    check("access log off" in sl.log(), "the log says it is off")


# ----- 12-15: signals --------------------------------------------------------

BIG = 64 << 20


class Download:
    """A 64 MiB GET read in two steps: first a part, then the rest."""

    def __init__(self, sock, request):
        self.s = sock
        self.s.settimeout(30 * SLOW)
        self.s.sendall(request)
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            check(chunk, "EOF in the response head")
            self.buf += chunk
        head, _, body = self.buf.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200"), head[:100])
        self.h = hashlib.sha256(body)
        self.got = len(body)

    def read(self, upto):
        while self.got < upto:
            chunk = self.s.recv(min(1 << 20, upto - self.got))
            check(chunk, "EOF after %d bytes" % self.got)
            self.h.update(chunk)
            self.got += len(chunk)

    def finish(self):
        self.read(BIG)
        eq(self.h.hexdigest(), origin.pattern_sha256(BIG), "sha256")


@test
def reload_during_download(fx):
    hp = fx.ports["http"]
    port_b, port_c = free_port(), free_port()
    conf1 = auth_conf("alice")
    sl = gw(fx, conf1, extra_listen=[("http", PROXY_HOST, port_b)])
    req = b"GET /bytes/%d HTTP/1.1\r\nHost: origin.test\r\n\r\n" % BIG
    # a SOCKS5 tunnel, an HTTP forward request (keep-alive), a CONNECT
    d1 = Download(s5(sl.addr, "origin.test", hp, user="alice"), req)
    fwd = socket.create_connection((PROXY_HOST, port_b), 10)
    d2 = Download(fwd, b"GET http://origin.test:%d/bytes/%d HTTP/1.1\r\n"
                  b"Host: origin.test:%d\r\nProxy-Authorization: %s\r\n\r\n"
                  % (hp, BIG, hp, basic("alice").encode()))
    t, status, _ = http_connect((PROXY_HOST, port_b), "origin.test", hp,
                                user="alice")
    eq(status, 200, "CONNECT")
    d3 = Download(t, req)
    for d in (d1, d2, d3):
        d.read(1 << 20)
    # the reload: origin.test denied, the http listener moves from port_b
    # to port_c, a new user
    mark = gw_reload(sl, auth_conf("alice", "dave") +
                     'rules = ( { action = "deny"; name = "origin-closed"; '
                     'dest = [ "origin.test" ]; } );\n',
                     extra_listen=[("http", PROXY_HOST, port_c)])
    log = sl.wait_log("configuration reloaded (generation 2)", since=mark)
    check("3 sessions go on as they were" in log, log[-500:])
    # new connections see the new rules; the old ones are not touched
    eq(s5_rep(sl.addr, "origin.test", hp, user="alice"), 0x02,
       "a new SOCKS5 session to origin.test")
    status, _, body = http_get_via(sl, fx, user="alice",
                                   addr=(PROXY_HOST, port_c))
    check_403(status, body, 1, "origin-closed")
    try:
        socket.create_connection((PROXY_HOST, port_b), 2).close()
        raise Failure("the removed listener still accepts")
    except ConnectionRefusedError:
        pass
    s = s5(sl.addr, ORIGIN_HOST, fx.ports["echo"], user="dave")
    echo_roundtrip(s, 1000)
    close_tunnel(s)
    for d in (d1, d2, d3):
        d.finish()
    d1.s.close()
    d3.s.close()
    # the next request on the old keep-alive connection runs under the
    # new policy
    fwd.sendall(b"GET http://origin.test:%d/hello HTTP/1.1\r\nHost: "
                b"origin.test:%d\r\nProxy-Authorization: %s\r\n"
                b"Connection: close\r\n\r\n" % (hp, hp, basic("alice")
                                                 .encode()))
    status, _, body = parse_response(recv_until_close(fwd))
    fwd.close()
    check_403(status, body, 1, "origin-closed")
    wait_for(lambda: len([a for a in sl.access() if int(a["down"]) >= BIG])
             == 3, 5, "three complete downloads in the access log")
    eq(sl.stop(), 0, "exit")


@test
def reload_admin_and_access_log(fx):
    """SIGHUP moves the admin listener and switches the access log (path
    and format); a log that cannot be opened keeps the old one."""
    a1, a2 = free_port("127.0.0.1"), free_port("127.0.0.1")
    d = tempfile.mkdtemp(prefix="r-", dir=fx.tmp)
    log1, log2 = os.path.join(d, "one.log"), os.path.join(d, "two.json")
    sl = gw(fx, 'admin = { address = "127.0.0.1"; port = %d; };\n' % a1,
            log='level = "debug"; access = "%s";' % log1)
    sl.access_path = log1
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "a session")
    sl.access(1)
    text = sl.conf_text(dns_line(fx) + 'log = { level = "debug"; access = '
                        '"%s"; format = "json"; };\nadmin = { address = '
                        '"127.0.0.1"; port = %d; };\n' % (log2, a2))
    mark = sl.reload(text, raw=True)
    sl.wait_log("configuration reloaded (generation 2)", since=mark)
    ms = parse_metrics(admin(("127.0.0.1", a2), "GET", "/metrics")[2]
                       .decode())
    eq(mval(ms, "sluice_config_generation"), 2, "generation on the new port")
    try:
        admin(("127.0.0.1", a1), "GET", "/healthz")
        raise Failure("the old admin port still answers")
    except ConnectionRefusedError:
        pass
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "another session")
    recs = wait_for(lambda: os.path.exists(log2) and
                    [json.loads(x) for x in open(log2).read().splitlines()],
                    5, "a JSON line in the new log")
    eq(len(recs), 1, "the new log has the new session only")
    eq(recs[0]["end"], "done", "its end")
    eq(len(sl.access()), 1, "the old log keeps the first session only")
    # an access log that cannot be opened: the rest of the reload applies,
    # the log stays
    text = sl.conf_text(dns_line(fx) + 'log = { level = "debug"; access = '
                        '"%s"; format = "json"; };\n' % d)
    mark = sl.reload(text, raw=True)
    log = sl.wait_log("configuration reloaded (generation 3)", since=mark)
    check("the access log stays as it was" in log, log)
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "a third session")
    wait_for(lambda: len(open(log2).read().splitlines()) == 2, 5,
             "the third session in the JSON log")
    eq(sl.stop(), 0, "exit")


@test
def reload_log_level_and_relative_log(fx):
    """A reload applies log.level (info -> debug -> info); a relative
    log.access path is found beside the configuration file."""
    sl = gw(fx, "", log='level = "info"; access = "rel.log";')
    sl.access_path = os.path.join(os.path.dirname(sl.conf_path), "rel.log")
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "a session")
    sl.access(1)
    check("state s5-greeting" not in sl.log(), "no debug lines at info")
    mark = sl.reload(sl.conf_text(dns_line(fx) + 'log = { level = "debug"; '
                                  'access = "rel.log"; };\n'), raw=True)
    sl.wait_log("configuration reloaded (generation 2)", since=mark)
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "a session")
    sl.wait_log("state s5-greeting", since=mark)
    mark = sl.reload(sl.conf_text(dns_line(fx) + 'log = { level = "info"; '
                                  'access = "rel.log"; };\n'), raw=True)
    sl.wait_log("configuration reloaded (generation 3)", since=mark)
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "a session")
    sl.access(3)
    check("state s5-greeting" not in sl.log()[mark:],
          "debug lines after going back to info")
    eq(sl.stop(), 0, "exit")


@test
def reload_listener_protocol_change(fx):
    """A reload that changes only the protocol of a listener (socks5 to
    auto on the same address and port) takes effect: the port then speaks
    HTTP too, and still SOCKS5."""
    sl = gw(fx, "")
    mark = gw_reload(sl, "", proto="auto")
    log = wait_for(lambda: re.search(r"configuration reloaded|reload "
                                     r"refused", sl.log()[mark:]) and
                   sl.log()[mark:], 5, "the reload's outcome")
    check("configuration reloaded (generation 2)" in log,
          "changing socks5 to auto on %s:%d by SIGHUP: %s" % (
              sl.addr + (log.strip(),)))
    status, _, body = http_get_via(sl, fx)
    eq((status, body), (200, HELLO), "HTTP on the port after the reload")
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "SOCKS5 still")
    eq(sl.stop(), 0, "exit")


@test
def reload_dns_servers_before_first_lookup(fx):
    """A worker makes its c-ares channel at its first lookup: dns.servers
    changed by a reload before then are the ones that channel uses, and a
    reload after it moves the channel's servers again."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((DNS_HOST, 0))
    dead = u.getsockname()[1]	# nothing answers there once closed
    u.close()
    hp = fx.ports["http"]

    def dns(port):
        return ('dns = { servers = [ "%s:%d" ]; timeout_ms = 500; '
                'tries = 1; };\nworkers = 2;\n' % (DNS_HOST, port))

    def reload(port, gen):
        mark = sl.reload(dns(port))
        sl.wait_log("configuration reloaded (generation %d)" % gen,
                    since=mark)
        return mark

    sl = Sluice(fx, conf=dns(dead))
    asked = fx.dns_queries("origin.test")
    reload(fx.dns_port, 2)
    # connections from several source ports reach both workers
    for i in range(6):
        eq(s5_rep(sl.addr, "origin.test", hp), 0,
           "lookup %d after the reload to the live server" % i)
    check(fx.dns_queries("origin.test") > asked, "the live server was asked")
    mark = reload(dead, 3)
    for i in range(4):
        eq(s5_rep(sl.addr, "origin.test", hp), 0x04,
           "lookup %d after the reload to a dead server" % i)
    # a timeout, or "unreachable" where an ICMP error comes back
    sl.wait_log("resolve origin.test: DNS", since=mark)
    reload(fx.dns_port, 4)
    eq(s5_rep(sl.addr, "origin.test", hp), 0, "back on the live server")
    eq(sl.stop(), 0, "exit")


@test
def invalid_reload_keeps_old(fx):
    conf = 'rules = ( { action = "deny"; name = "corp"; ' \
        'dest = [ "www.corp.test" ]; } );\n'
    sl = gw(fx, conf, proto="auto")
    hp = fx.ports["http"]
    # a bad value: FILE:LINE of the key
    bad = sl.conf_text(sl.gw_head + 'rules = ( { action = "deny"; },\n'
                       '  { action = "sometimes"; } );\n')
    mark = sl.reload(bad, raw=True)
    log = sl.wait_log("the running configuration stays", since=mark)
    line = bad.count("\n")         # the last line
    want = "reload refused: %s:%d: rules[1].action" % (sl.conf_path, line)
    check(want in log, "want %r in %r" % (want, log))
    # a syntax error
    mark = sl.reload(sl.conf_text(sl.gw_head + "rules = ( { action = ; } );"
                                  "\n"), raw=True)
    log = sl.wait_log("the running configuration stays", since=mark)
    check(re.search(r"reload refused: %s:\d+: " % re.escape(sl.conf_path),
                    log), log)
    # an unknown user in a group: a whole-file error
    mark = sl.reload(sl.conf_text(
        sl.gw_head + 'auth = { users = ( { name = "alice"; password = "x"; '
        '} ); groups = ( { name = "g"; users = [ "zed" ]; } ); };\n'),
        raw=True)
    sl.wait_log("the running configuration stays", since=mark)
    check(sl.alive(), "still running")
    check("configuration reloaded" not in sl.log(), "nothing reloaded")
    # the old rules still apply: no auth, www.corp.test denied
    eq(s5_rep(sl.addr, "www.corp.test", hp), 0x02, "still denied")
    eq(s5_rep(sl.addr, "origin.test", hp), 0, "still allowed")
    status, _, body = http_get_via(sl, fx, host="www.corp.test")
    check_403(status, body, 1, "corp")
    # a good reload afterwards is generation 2: the bad ones did not count
    mark = gw_reload(sl, "")
    sl.wait_log("configuration reloaded (generation 2)", since=mark)
    eq(s5_rep(sl.addr, "www.corp.test", hp), 0, "allowed after the reload")
    eq(sl.stop(), 0, "exit")


@test
def sigusr1_reopen(fx):
    sl = gw(fx)
    s = s5(sl.addr, ORIGIN_HOST, fx.ports["echo"])
    echo_roundtrip(s, 100)
    close_tunnel(s)
    first = sl.access(1)
    old = sl.access_path + ".1"
    os.rename(sl.access_path, old)
    mark = len(sl.log())
    sl.signal(signal.SIGUSR1)
    sl.wait_log("SIGUSR1: access log reopened", since=mark)
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "a new session")
    eq(s5_rep(sl.addr, ORIGIN_HOST, fx.ports["echo"]), 0, "another one")
    new = sl.access(2)
    eq(len(new), 2, "lines in the new file")
    with open(old) as f:
        old_lines = [parse_access(x) for x in f.read().splitlines()]
    eq([a["id"] for a in old_lines], [a["id"] for a in first],
       "the old file holds the earlier line only")
    check(all(a["id"] not in {b["id"] for b in old_lines} for a in new),
          "new lines in the new file only")
    eq(os.stat(sl.access_path).st_mode & 0o777, 0o640, "new file mode")
    eq(sl.stop(), 0, "exit")


@test
def sigterm_reports_sessions(fx):
    sl = gw(fx, "timeouts = { drain = 1; };\n")
    ep = fx.ports["echo"]
    ts = [s5(sl.addr, ORIGIN_HOST, ep) for _ in range(2)]
    mark = len(sl.log())
    sl.signal(signal.SIGTERM)
    sl.wait_log("stopped accepting; 2 sessions may finish within 1 s",
                since=mark)
    try:
        socket.create_connection(sl.addr, 2).close()
        raise Failure("still accepting after SIGTERM")
    except ConnectionRefusedError:
        pass
    for s in ts:
        echo_roundtrip(s, 1000)      # the tunnels work while draining
    close_tunnel(ts.pop())           # one finishes on its own
    sl.wait_log("drain time is over: closing 1 sessions", 3 * SLOW,
                since=mark)
    check(tunnel_closed(ts[0]), "the last tunnel is closed")
    ts[0].close()
    eq(sl.proc.wait(5 * SLOW), 0, "exit after the drain")
    eq(sl.stop(), 0, "exit")
    ends = sorted(a["end"] for a in sl.access())
    eq(ends, ["done", "shutdown"], "access log ends")
    # with nothing open: stops at once
    sl = gw(fx, "timeouts = { drain = 30; };\n")
    t0 = time.monotonic()
    eq(sl.stop(), 0, "exit")
    check(time.monotonic() - t0 < 3 * SLOW, "no wait without sessions")
    check("Terminated: stopping" in sl.log(), sl.log()[-500:])
    # a second SIGTERM closes what is left at once
    sl = gw(fx, "timeouts = { drain = 30; };\n")
    t = s5(sl.addr, ORIGIN_HOST, ep)
    mark = len(sl.log())
    sl.signal(signal.SIGTERM)
    sl.wait_log("1 sessions may finish within 30 s", since=mark)
    sl.signal(signal.SIGTERM)
    sl.wait_log("Terminated again: closing 1 sessions now", since=mark)
    check(tunnel_closed(t), "closed by the second signal")
    t.close()
    eq(sl.proc.wait(5 * SLOW), 0, "exit")
    eq(sl.stop(), 0, "exit")


if __name__ == "__main__":
    sys.exit(main())
