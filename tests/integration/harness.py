"""Integration-test harness: fixtures, a sluice launcher, SOCKS5 helpers and
a small runner.

Everything runs on loopback: the origin servers on 127.0.0.3 and ::1, the
test DNS server on 127.0.0.1, sluice on 127.0.0.2 (tinyproxy's trick of one
loopback address per role, so nothing clashes with local services).  Ports
are chosen by the kernel.

Environment:
  SLUICE_BIN      the binary (default: ./sluice at the repository root)
  SLUICE_WRAPPER  a command prefix, e.g. "valgrind --error-exitcode=1"
  SLUICE_TESTS    comma-separated test names (or prefixes) to run
"""

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "fixtures"))
import origin  # noqa: E402  (pattern(), pattern_sha256())

SLUICE = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "sluice"))
WRAPPER = shlex.split(os.environ.get("SLUICE_WRAPPER", ""))
SLOW = 4.0 if WRAPPER else 1.0         # time stretch under valgrind
PROXY_HOST = "127.0.0.2"
ORIGIN_HOST = "127.0.0.3"
DNS_HOST = "127.0.0.1"
TLS_NAME = "origin.test"               # CN and SAN of the https origin

ZONE = {
    "names": {
        "origin.test": {"A": [ORIGIN_HOST], "ttl": 30},
        "origin6.test": {"AAAA": ["::1"], "ttl": 30},
        "dual.test": {"A": [ORIGIN_HOST], "AAAA": ["::1"], "ttl": 30},
        # first address refuses, the second one serves
        "fallback.test": {"A": ["127.0.0.9", ORIGIN_HOST], "ttl": 30},
        "short.test": {"A": [ORIGIN_HOST], "ttl": 1},
        "cached.test": {"A": [ORIGIN_HOST], "ttl": 300},
        "slow.test": {"A": [ORIGIN_HOST], "ttl": 30},
        # the gateway rules (test_gateway.py): names under a *.suffix, and
        # one resolving into a denied address block
        "corp.test": {"A": [ORIGIN_HOST], "ttl": 30},
        "www.corp.test": {"A": [ORIGIN_HOST], "ttl": 30},
        "a.b.corp.test": {"A": [ORIGIN_HOST], "ttl": 30},
        "xcorp.test": {"A": [ORIGIN_HOST], "ttl": 30},
        "evil.test": {"A": ["127.0.0.7"], "ttl": 30},
        "mixed.test": {"A": ["127.0.0.7", ORIGIN_HOST], "ttl": 30},
    },
    "behaviors": {
        "silent.test": "silent",
        "servfail.test": "servfail",
        "garbage.test": "garbage",
        "slow.test": "delay:300",
    },
}


class Failure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise Failure(msg)


def eq(got, want, what="value"):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


def wait_for(pred, timeout, what, step=0.02):
    """Poll pred() until true; fail with what after timeout seconds."""
    end = time.monotonic() + timeout * SLOW
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise Failure("timed out waiting for " + what)
        time.sleep(step)


GIVEN_PORTS = set()     # every port free_port() handed out in this run


def free_port(host=PROXY_HOST, family=socket.AF_INET):
    """A port nothing listens on now, and one this run has not handed
    out before: a test may take a port for a later listener (a reload's,
    an admin's) before the sluice it starts takes its own, and the
    kernel may offer the same free port twice."""
    while True:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        if port not in GIVEN_PORTS:
            GIVEN_PORTS.add(port)
            return port


def read_json_file(path, timeout=10):
    def ready():
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None
    return wait_for(ready, timeout, path)


class Fixtures:
    """The origin servers and the DNS server, shared by all tests."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="sluice-it-")
        self.procs = []
        ready = os.path.join(self.tmp, "origin.json")
        # a self-signed certificate for the origin's https server
        self.tls_cert = os.path.join(self.tmp, "origin-cert.pem")
        self.tls_key = os.path.join(self.tmp, "origin-key.pem")
        tls_args = []
        r = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-days", "2", "-subj", "/CN=" + TLS_NAME, "-addext",
             "subjectAltName=DNS:%s,IP:%s" % (TLS_NAME, ORIGIN_HOST),
             "-keyout", self.tls_key, "-out", self.tls_cert],
            capture_output=True, timeout=30)
        if r.returncode == 0:
            tls_args = ["--tls-cert", self.tls_cert, "--tls-key",
                        self.tls_key]
        else:
            sys.stderr.write("harness: openssl req failed, no https origin:"
                             " %s\n" % r.stderr.decode(errors="replace"))
        self.procs.append(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fixtures", "origin.py"),
             "--host", ORIGIN_HOST, "--host6", "::1", "--ready-file", ready,
             "--max-time", "3600"] + tls_args, stdout=subprocess.DEVNULL))
        self.ports = read_json_file(ready)
        zone = os.path.join(self.tmp, "zone.json")
        with open(zone, "w") as f:
            json.dump(ZONE, f)
        ready = os.path.join(self.tmp, "dns.json")
        self.dns_log = os.path.join(self.tmp, "dns.log")
        self.procs.append(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fixtures", "dnsserver.py"),
             "--host", DNS_HOST, "--zone", zone, "--ready-file", ready,
             "--log", self.dns_log, "--max-time", "3600"],
            stdout=subprocess.DEVNULL))
        self.dns_port = read_json_file(ready)["port"]

    def dns_queries(self, name):
        try:
            with open(self.dns_log) as f:
                return sum(1 for line in f if line.split()[1] == name)
        except OSError:
            return 0

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


STARTED = []     # every Sluice of the running test (for failure reports)


def workers_line(conf):
    """One worker unless the test says otherwise: access-log order, the
    DNS cache and the origin pool are then those of one event loop, which
    the tests rely on.  test_workers.py runs several."""
    return "" if re.search(r"^\s*workers\s*=", conf, re.M) else \
        "workers = 1;\n"


class Sluice:
    """One sluice process with a generated configuration."""

    def __init__(self, fx, conf="", host=PROXY_HOST, args=(), listen=True,
                 dns=True, prefix=(), extra_listen=None, proto="socks5"):
        """proto: the first listener's protocol (socks5, http, auto,
        socks4), on host and a free port (self.addr); extra_listen: more
        (proto, host, port) listeners."""
        self.fx = fx
        self.host = host
        self.proto = proto
        self.dns_on = dns
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.port = free_port(host, fam)
        self.dir = tempfile.mkdtemp(prefix="sluice-", dir=fx.tmp)
        self.conf_path = os.path.join(self.dir, "sluice.conf")
        self.access_path = os.path.join(self.dir, "access.log")
        self.err_path = os.path.join(self.dir, "stderr.log")
        text = ""
        if listen:
            addrs = [(proto, host, self.port)] + list(extra_listen or [])
            text += "listen = ( %s );\n" % ", ".join(
                '{ proto = "%s"; address = "%s"; port = %d; }' % a
                for a in addrs)
        if dns and "dns" not in conf:
            text += 'dns = { servers = [ "%s:%d" ]; timeout_ms = 1000; ' \
                'tries = 1; };\n' % (DNS_HOST, fx.dns_port)
        if "log" not in conf:
            text += 'log = { level = "debug"; access = "%s"; };\n' % \
                self.access_path
        text += workers_line(conf)
        text += conf
        with open(self.conf_path, "w") as f:
            f.write(text)
        cmd = list(prefix) + WRAPPER + [SLUICE, "-c", self.conf_path] + \
            list(args)
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.err, stderr=self.err,
                                     stdin=subprocess.DEVNULL)
        STARTED.append(self)
        self.addr = (host, self.port)
        if listen:
            wait_for(self._listening, 10, "sluice to listen on %s:%d" %
                     self.addr)

    def conf_text(self, conf, proto=None, extra_listen=None):
        """The text __init__ would write for conf: the listeners (the
        first one on self.addr, with proto or the original protocol), the
        test DNS server and the access log unless conf sets them."""
        addrs = [(proto or self.proto, self.host, self.port)] + \
            list(extra_listen or [])
        text = "listen = ( %s );\n" % ", ".join(
            '{ proto = "%s"; address = "%s"; port = %d; }' % a
            for a in addrs)
        if self.dns_on and "dns" not in conf:
            text += 'dns = { servers = [ "%s:%d" ]; timeout_ms = 1000; ' \
                'tries = 1; };\n' % (DNS_HOST, self.fx.dns_port)
        if "log" not in conf:
            text += 'log = { level = "debug"; access = "%s"; };\n' % \
                self.access_path
        return text + workers_line(conf) + conf

    def write_conf(self, text):
        """Replace the configuration file (atomically: a reload never
        reads half of it)."""
        tmp = self.conf_path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.conf_path)

    def reload(self, conf, proto=None, extra_listen=None, raw=False):
        """Rewrite the configuration (conf completed like __init__ does,
        or as is with raw) and send SIGHUP; returns the log offset before
        the signal, for wait_log(..., since=)."""
        self.write_conf(conf if raw else
                        self.conf_text(conf, proto, extra_listen))
        mark = len(self.log())
        self.signal(signal.SIGHUP)
        return mark

    def wait_log(self, text, timeout=5, since=0):
        """Wait until text appears in sluice's log (after offset since);
        returns the log from since."""
        return wait_for(lambda: text in self.log()[since:] and
                        self.log()[since:], timeout, "%r in the log" % text)

    def _listening(self):
        # the log, not a probe connection: a probe would be a session too
        if self.proc.poll() is not None:
            raise Failure("sluice exited with %s:\n%s" %
                          (self.proc.returncode, self.log()))
        return "event backend" in self.log()

    @property
    def pid(self):
        return self.proc.pid

    def url(self, scheme="socks5h"):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (scheme, h, self.port)

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def access(self, wait_for_n=0, timeout=5):
        """The access log as a list of dicts (key=value fields)."""
        def parse():
            try:
                with open(self.access_path) as f:
                    lines = f.read().splitlines()
            except OSError:
                return []
            return [parse_access(line) for line in lines if line]
        if wait_for_n:
            return wait_for(lambda: len(parse()) >= wait_for_n and parse(),
                            timeout, "%d access-log lines" % wait_for_n)
        return parse()

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        """SIGTERM, wait, return the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("sluice did not stop on SIGTERM:\n" +
                              self.log()[-3000:])
        self.err.close()
        log = self.log()
        for mark in SANITIZER_MARKS:
            if mark in log:
                i = log.index(mark)
                raise Failure("sluice reported a memory error:\n" +
                              log[max(0, i - 200):i + 3000])
        return self.proc.returncode


# what AddressSanitizer, UBSan, LeakSanitizer, ThreadSanitizer and valgrind
# print
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer",
                   "ERROR: LeakSanitizer", "Invalid read of", "Invalid write of",
                   "Invalid free", "uninitialised value", "are definitely lost")

ACCESS_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def proxy_send_q(sl, client):
    """Bytes queued in sluice's socket to client (ss: Send-Q) once two
    looks 0.25 s apart agree (at most 10 s)."""
    port = client.getsockname()[1]
    last = q = None
    for _ in range(40):
        time.sleep(0.25)
        out = subprocess.run(
            ["ss", "-tnH", "state", "established",
             "( sport = :%d and dport = :%d )" % (sl.port, port)],
            capture_output=True, text=True, timeout=10).stdout
        q = next((int(f[1]) for f in map(str.split, out.splitlines())
                  if len(f) >= 4), None)
        check(q is not None, "sluice's socket to the client not found")
        if q == last:
            break
        last = q
    return q


def parse_access(line):
    d = {"time": line.split(" ", 1)[0]}
    for k, v in ACCESS_RE.findall(line):
        if v.startswith('"'):
            v = v[1:-1].encode().decode("unicode_escape")
        d[k] = v
    return d


# ----- SOCKS5 by hand ---------------------------------------------------

class Socks5Error(Exception):
    def __init__(self, rep, msg=""):
        super().__init__("SOCKS5 reply 0x%02x %s" % (rep, msg))
        self.rep = rep


def recv_exact(s, n, timeout=10):
    s.settimeout(timeout * SLOW)
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("EOF after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_all(s, timeout=10):
    s.settimeout(timeout * SLOW)
    out = []
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return b"".join(out)
        out.append(chunk)


def s5_addr(host, port):
    try:
        return b"\x01" + socket.inet_pton(socket.AF_INET, host) + \
            struct.pack("!H", port)
    except OSError:
        pass
    try:
        return b"\x04" + socket.inet_pton(socket.AF_INET6, host) + \
            struct.pack("!H", port)
    except OSError:
        pass
    h = host.encode()
    return b"\x03" + bytes([len(h)]) + h + struct.pack("!H", port)


def s5_greeting(user=None):
    return b"\x05\x01\x02" if user is not None else b"\x05\x01\x00"


def s5_auth(user, pw):
    u, p = user.encode(), pw.encode()
    return b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p


def s5_request(host, port, cmd=1):
    return b"\x05" + bytes([cmd]) + b"\x00" + s5_addr(host, port)


def s5_read_reply(s, timeout=10):
    head = recv_exact(s, 4, timeout)
    check(head[0] == 5, "reply version %r" % head[:1])
    atyp = head[3]
    if atyp == 1:
        rest = recv_exact(s, 6, timeout)
    elif atyp == 4:
        rest = recv_exact(s, 18, timeout)
    else:
        raise Failure("reply ATYP %d" % atyp)
    return head[1], rest


def s5_connect(proxy, host, port, user=None, pw=None, timeout=10, src=None):
    """A socket tunnelled to host:port (from address src), or
    Socks5Error(rep)."""
    fam = socket.AF_INET6 if ":" in proxy[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(timeout * SLOW)
    s.connect(proxy)
    try:
        s.sendall(s5_greeting(user))
        m = recv_exact(s, 2, timeout)
        if m[1] == 0xFF:
            raise Socks5Error(0xFF, "no acceptable method")
        if m[1] == 2:
            s.sendall(s5_auth(user, pw))
            st = recv_exact(s, 2, timeout)
            if st[1] != 0:
                raise Socks5Error(0x100 | st[1], "auth failed")
        s.sendall(s5_request(host, port))
        rep, _ = s5_read_reply(s, timeout)
        if rep != 0:
            raise Socks5Error(rep)
        return s
    except BaseException:
        s.close()
        raise


def s5_expect_rep(proxy, host, port, want, **kw):
    try:
        s = s5_connect(proxy, host, port, **kw)
    except Socks5Error as e:
        eq(e.rep, want, "SOCKS5 reply")
        return
    s.close()
    raise Failure("expected reply 0x%02x, got success" % want)


def http_get(s, path, host="origin.test"):
    """GET over an open tunnel; returns (status, headers dict, body)."""
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
               (path, host)).encode())
    data = recv_all(s, 30)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


# ----- HTTP answers and the admin listener --------------------------------

def parse_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def recv_until_close(s, timeout=10):
    s.settimeout(timeout * SLOW)
    out = []
    while True:
        try:
            chunk = s.recv(1 << 20)
        except ConnectionResetError:
            break
        if not chunk:
            break
        out.append(chunk)
    return b"".join(out)


def admin(addr, method, path, token=None, timeout=5):
    """(status, headers, body) of one admin request."""
    s = socket.create_connection(addr, timeout * SLOW)
    try:
        req = "%s %s HTTP/1.1\r\nHost: admin\r\n" % (method, path)
        if token:
            req += "Authorization: Bearer %s\r\n" % token
        if method == "POST":
            req += "Content-Length: 0\r\n"
        s.sendall((req + "\r\n").encode())
        return parse_response(recv_until_close(s, timeout))
    finally:
        s.close()


METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text: {(name, ((label, value), ...)): float}; every
    sample's family must have a # TYPE line."""
    out, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = METRIC_RE.match(line)
        check(m, "metric line %r" % line)
        name, labels = m.group(1), m.group(2) or ""
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        check(name in types or family in types, "no # TYPE for %s" % name)
        key = (name, tuple(sorted(LABEL_RE.findall(labels))))
        out[key] = float(m.group(3))
    return out


def mval(ms, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    if key not in ms:
        raise Failure("metric %s%r missing; have: %s" % (
            name, labels, sorted(k for k in ms if k[0] == name)))
    return ms[key]


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def closed_port():
    """A port on the origin address where nothing listens."""
    s = socket.socket()
    s.bind((ORIGIN_HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def curl(*args, timeout=60):
    """curl -sS with a time limit; returns CompletedProcess."""
    return run(["curl", "-sS", "--max-time", str(int(timeout * SLOW))] +
               list(args), timeout=timeout * SLOW + 5)


def run(cmd, timeout=60, **kw):
    """subprocess.run with captured output; returns CompletedProcess."""
    return subprocess.run(cmd, capture_output=True, timeout=timeout * SLOW,
                          **kw)


# ----- the runner ---------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def report_sluices():
    """After a failure: the end of each sluice's logs, for the CI output."""
    for sl in STARTED:
        print("  --- sluice pid %d (%s), stderr tail:" % (
            sl.proc.pid, "running" if sl.alive() else
            "exit %s" % sl.proc.returncode))
        for line in sl.log().splitlines()[-25:]:
            print("  | " + line)
        try:
            with open(sl.access_path) as f:
                lines = f.read().splitlines()[-10:]
        except OSError:
            lines = []
        for line in lines:
            print("  a " + line)


def reap_sluices():
    """Kill what a test left running, so the next test starts clean."""
    for sl in STARTED:
        if sl.proc.poll() is None:
            sl.proc.kill()
            sl.proc.wait()
        if not sl.err.closed:
            sl.err.close()
    del STARTED[:]


def main(fixtures_factory=Fixtures):
    only = [t for t in os.environ.get("SLUICE_TESTS", "").split(",") if t]
    selected = [t for t in TESTS
                if not only or any(t.__name__.startswith(o) for o in only)]
    fx = fixtures_factory()
    passed = failed = 0
    failures = []
    try:
        for t in selected:
            t0 = time.monotonic()
            try:
                t(fx)
                passed += 1
                print("ok    %-44s %6.2fs" % (t.__name__,
                                             time.monotonic() - t0),
                      flush=True)
            except Exception as e:  # report and go on
                failed += 1
                failures.append(t.__name__)
                print("FAIL  %-44s %6.2fs  %s: %s" % (
                    t.__name__, time.monotonic() - t0, type(e).__name__, e),
                    flush=True)
                traceback.print_exc(limit=6, file=sys.stdout)
                report_sluices()
            finally:
                reap_sluices()
    finally:
        fx.stop()
        if not failed:      # kept after a failure, for a look at the logs
            shutil.rmtree(fx.tmp, ignore_errors=True)
    print("integration: %d passed, %d failed%s" % (
        passed, failed, (" (" + ", ".join(failures) + ")") if failed else ""))
    return 1 if failed else 0


class Thread(threading.Thread):
    """A thread whose exception is re-raised by join()."""

    def __init__(self, fn, *args):
        super().__init__(daemon=True)
        self.fn, self.args, self.exc, self.result = fn, args, None, None

    def run(self):
        try:
            self.result = self.fn(*self.args)
        except BaseException as e:  # re-raised in join
            self.exc = e

    def join(self, timeout=None):
        super().join(timeout)
        if self.is_alive():
            raise Failure("thread %s still running" % self.fn.__name__)
        if self.exc:
            raise self.exc
        return self.result
