#!/usr/bin/env python3
"""Soak test: mixed SOCKS5 / HTTP / CONNECT load with aborting clients.

    tests/soak/run.py [--seconds 60] [--conc 200] [--abort-pct 10]
                      [--max-size 4M] [--seed N] [--keep]

Starts an origin (slload serve, on 127.0.0.3 and 127.0.0.1) and sluice
(${SLUICE_BIN:-./sluice}) with socks5, http and auto listeners on
127.0.0.2, runs `slload soak` for --seconds while sampling sluice's RSS
every second, then checks:

  - no failure among the clients that behaved, no checksum mismatch;
  - sluice's descriptor count back to its start within 15 s (idle origin
    connections of the HTTP pool live up to http.pool_idle, 10 s);
  - RSS at the end not above the median of the second half of the run by
    more than max(10%, 1 MiB);
  - sluice still alive and serving (a SOCKS5 and an HTTP request);
  - sluice exits 0 on SIGTERM, and its stderr has no sanitizer report
    (run it with an ASan build: SLUICE_BIN=build/asan/sluice).

Prints PASS or FAIL with the figures; exits 1 on failure, 2 when it could
not run.  Runtime: --seconds plus about 15 s.
"""

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROXY_HOST, ORIGIN_HOST = "127.0.0.2", "127.0.0.3"
FD_WAIT_S = 15
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|"
                       r"ThreadSanitizer|MemorySanitizer)|runtime error:|"
                       r"SUMMARY: (Address|Leak|Undefined)")


def log(msg=""):
    print(msg, flush=True)


def bindable(host, port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_ports():
    """three proxy ports on 127.0.0.2, three origin ports free on .3 and .1"""
    for _ in range(100):
        b = random.randrange(24000, 32000, 20)
        prox = [b, b + 1, b + 2]
        orig = [b + 10, b + 11, b + 12]
        if all(bindable(PROXY_HOST, p) for p in prox) and \
                all(bindable(h, p) for h in (ORIGIN_HOST, "127.0.0.1")
                    for p in orig):
            return prox, orig
    sys.exit("soak: no free ports found")


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def fd_kinds(pid):
    kinds = {}
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                t = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            k = re.sub(r"\[\d+\]", "", t.split(":")[0] if ":" in t else t)
            kinds[k] = kinds.get(k, 0) + 1
    except OSError:
        pass
    return kinds


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def recv_all(s, limit=1 << 16):
    data = b""
    while len(data) < limit:
        d = s.recv(4096)
        if not d:
            break
        data += d
    return data


def check_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    ok = head.startswith(b"HTTP/1.1 200") and len(body) == 256
    return ok, head.split(b"\r\n")[0].decode("latin-1"), len(body)


def final_socks(port, origin):
    """SOCKS5 CONNECT to the origin, GET / with Connection: close"""
    with socket.create_connection((PROXY_HOST, port), timeout=5) as s:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            return False, "bad method reply"
        host, p = origin
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(host) +
                  p.to_bytes(2, "big"))
        rep = b""
        while len(rep) < 10:
            d = s.recv(10 - len(rep))
            if not d:
                break
            rep += d
        if len(rep) < 10 or rep[1] != 0:
            return False, f"SOCKS5 reply {rep!r}"
        s.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{p}\r\n"
                  "Connection: close\r\n\r\n".encode())
        ok, line, n = check_response(recv_all(s))
        return ok, f"{line}, {n} body bytes"


def final_http(port, origin):
    host, p = origin
    with socket.create_connection((PROXY_HOST, port), timeout=5) as s:
        s.sendall(f"GET http://{host}:{p}/ HTTP/1.1\r\nHost: {host}:{p}\r\n"
                  "Connection: close\r\n\r\n".encode())
        ok, line, n = check_response(recv_all(s))
        return ok, f"{line}, {n} body bytes"


def mib(kb):
    return "-" if kb is None else f"{kb / 1024:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("SOAK_SECONDS", 60)))
    ap.add_argument("--conc", type=int, default=200)
    ap.add_argument("--abort-pct", type=float, default=10)
    ap.add_argument("--max-size", default="4M")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (kept on failure)")
    a = ap.parse_args()
    sluice = os.path.abspath(os.environ.get("SLUICE_BIN", "./sluice"))
    slload = os.environ.get("SLLOAD", os.path.join(ROOT, "build", "slload"))
    seed = a.seed if a.seed is not None else random.randrange(1, 1 << 31)
    for b, what in ((sluice, "sluice (make, or set SLUICE_BIN)"),
                    (slload, "slload (make soak builds it)")):
        if not os.access(b, os.X_OK):
            log(f"soak: {b} not found: {what}")
            return 2
    work = tempfile.mkdtemp(prefix="sluice-soak.")
    (sp, hp, ap_), (op, ep, kp) = pick_ports()
    origin = (ORIGIN_HOST, op)
    conf = os.path.join(work, "sluice.conf")
    access = os.path.join(work, "access.log")
    with open(conf, "w") as f:
        f.write(f"""# generated by tests/soak/run.py
listen = (
  {{ proto = "socks5"; address = "{PROXY_HOST}"; port = {sp}; }},
  {{ proto = "http";   address = "{PROXY_HOST}"; port = {hp}; }},
  {{ proto = "auto";   address = "{PROXY_HOST}"; port = {ap_}; }}
);
log = {{ level = "warn"; access = "{access}"; }};
timeouts = {{ drain = 5; }};
""")
    chk = subprocess.run([sluice, "-t", "-c", conf], capture_output=True,
                         text=True)
    if chk.returncode != 0:
        log(f"soak: sluice -t rejected the configuration:\n{chk.stderr}")
        return 2
    procs = []
    failures = []
    t_begin = time.time()

    def fail(msg):
        failures.append(msg)

    try:
        orig = subprocess.Popen(
            [slload, "serve",
             "--http", f"{ORIGIN_HOST}:{op}", "--http", f"127.0.0.1:{op}",
             "--echo", f"{ORIGIN_HOST}:{ep}", "--echo", f"127.0.0.1:{ep}",
             "--sink", f"{ORIGIN_HOST}:{kp}", "--sink", f"127.0.0.1:{kp}",
             "--max-time", str(int(a.seconds) + 300)],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(work, "origin.log"), "w"))
        procs.append(orig)
        serr = open(os.path.join(work, "sluice.stderr"), "w")
        px = subprocess.Popen([sluice, "-c", conf], stdout=serr, stderr=serr,
                              stdin=subprocess.DEVNULL)
        procs.append(px)
        for addr in (f"{ORIGIN_HOST}:{op}", f"{PROXY_HOST}:{sp}",
                     f"{PROXY_HOST}:{hp}", f"{PROXY_HOST}:{ap_}"):
            if subprocess.call([slload, "wait", addr, "--timeout", "15"]):
                log(f"soak: nothing listens on {addr}; see {work}")
                return 2
        time.sleep(0.5)
        fd0, rss0, kinds0 = fd_count(px.pid), rss_kb(px.pid), fd_kinds(px.pid)
        log(f"soak: sluice {sluice} pid {px.pid}; {a.seconds:.0f} s, "
            f"{a.conc} clients, {a.abort_pct:g}% aborting, sizes up to "
            f"{a.max_size}, seed {seed}; work dir {work}")
        log(f"  start: {fd0} descriptors, RSS {mib(rss0)} MiB")

        # ------------------------------------------------------------ load
        out = open(os.path.join(work, "slload.json"), "w+")
        lerr = open(os.path.join(work, "slload.stderr"), "w+")
        t0 = time.time()
        load = subprocess.Popen(
            [slload, "soak", "-t", f"{ORIGIN_HOST}:{op}",
             "--echo", f"{ORIGIN_HOST}:{ep}", "--sink", f"{ORIGIN_HOST}:{kp}",
             "--socks", f"{PROXY_HOST}:{sp}",
             "--http-proxy", f"{PROXY_HOST}:{hp}",
             "--auto", f"{PROXY_HOST}:{ap_}", "-c", str(a.conc),
             "-d", str(a.seconds), "--abort-pct", str(a.abort_pct),
             "--max-size", a.max_size, "--seed", str(seed), "--drain", "5"],
            stdout=out, stderr=lerr)
        procs.append(load)
        samples = []        # (seconds since start, rss kB, fds)
        limit = t0 + a.seconds + 30
        next_t = t0 + 1
        while load.poll() is None and time.time() < limit:
            time.sleep(max(0, next_t - time.time()))
            next_t += 1
            if load.poll() is not None:
                break
            samples.append((time.time() - t0, rss_kb(px.pid),
                            fd_count(px.pid)))
        if load.poll() is None:
            load.kill()
            fail("slload did not finish in time")
        load.wait()
        out.seek(0)
        lines = [x for x in out.read().splitlines() if x.startswith("{")]
        res = json.loads(lines[-1]) if lines else {}
        lerr.seek(0)
        lerr_text = lerr.read()

        # -------------------------------------------- descriptors, memory
        t_fd = time.time()
        fd_end = fd_count(px.pid)
        while fd_end is not None and fd_end > fd0 and \
                time.time() - t_fd < FD_WAIT_S:
            time.sleep(0.2)
            fd_end = fd_count(px.pid)
        fd_wait = time.time() - t_fd
        rss_end = rss_kb(px.pid)
        alive = px.poll() is None

        # ----------------------------------------------------- final checks
        fin = []
        if alive:
            for name, fn, port in (("socks5", final_socks, sp),
                                   ("http", final_http, hp)):
                try:
                    ok, what = fn(port, origin)
                except OSError as e:
                    ok, what = False, str(e)
                fin.append((name, ok, what))
        t_term = time.time()
        if alive:
            px.send_signal(signal.SIGTERM)
            try:
                rc = px.wait(15)
            except subprocess.TimeoutExpired:
                px.kill()
                px.wait()
                rc = "still running 15 s after SIGTERM (killed)"
        else:
            rc = px.returncode
        term_s = time.time() - t_term
        serr.close()
        with open(os.path.join(work, "sluice.stderr")) as f:
            stderr_text = f.read()
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    # ---------------------------------------------------------- verdicts
    if not res:
        fail(f"slload printed no summary (exit {load.returncode}); "
             f"stderr: {lerr_text[-500:]}")
    else:
        if res.get("failures_well_behaved"):
            fail(f"{res['failures_well_behaved']} failures among the clients "
                 f"that behaved: {json.dumps(res.get('errors_well_behaved'))}")
        if res.get("checksum_mismatches"):
            fail(f"{res['checksum_mismatches']} checksum mismatches")
        if not res.get("ok"):
            fail("no session completed")
    if not alive:
        fail(f"sluice died during the load (exit status {px.returncode})")
    if fd_end is None or fd_end > fd0:
        fail(f"descriptors: {fd_end} {FD_WAIT_S} s after the load, {fd0} at "
             f"the start (now: {fd_kinds(px.pid) if alive else '-'}; "
             f"start: {kinds0})")
    load_samples = [s for s in samples if s[1] is not None]
    second = [s[1] for s in load_samples if s[0] >= a.seconds / 2]
    med2 = statistics.median(second) if second else None
    margin = max(0.10 * med2, 1024) if med2 else None
    if med2 is not None and rss_end is not None and rss_end > med2 + margin:
        fail(f"RSS grew: {mib(rss_end)} MiB at the end, second-half median "
             f"{mib(med2)} MiB (allowed +{mib(margin)} MiB)")
    for name, ok, what in fin:
        if not ok:
            fail(f"final {name} request failed: {what}")
    if rc != 0:
        fail(f"sluice's exit status after SIGTERM: {rc}")
    san = [x for x in stderr_text.splitlines() if SANITIZER.search(x)]
    if san:
        fail("sanitizer report in sluice's stderr: " + san[0])

    # ------------------------------------------------------------ report
    ends, protos = {}, {}
    try:
        with open(access) as f:
            for line in f:
                m = re.search(r"\bend=(\S+)", line)
                if m:
                    ends[m.group(1)] = ends.get(m.group(1), 0) + 1
                m = re.search(r"\bproto=(\S+)", line)
                if m:
                    protos[m.group(1)] = protos.get(m.group(1), 0) + 1
    except OSError:
        pass
    log("")
    if res:
        log(f"  sessions: {res['sessions']} started, {res['ok']} ok, "
            f"{res['aborted']} aborted on purpose, "
            f"{res['failures_well_behaved']} failed among well-behaved "
            f"clients, {res['failures_aborters']} failed among aborters "
            f"(before their abort point), {res['cancelled_at_end']} "
            f"cancelled at the end")
        log(f"  checksums: {res['checksums_checked']} compared, "
            f"{res['checksum_mismatches']} mismatches; "
            f"{res['bytes_up'] / 1e6:.0f} MB up, "
            f"{res['bytes_down'] / 1e6:.0f} MB down")
        log("  per kind (started/ok/aborted/failed): " + ", ".join(
            f"{k} {v['started']}/{v['ok']}/{v['aborted']}/{v['failed']}"
            for k, v in res["kinds"].items()))
        ab = res["aborts"]
        log(f"  aborts: handshake {ab['handshake']}, request {ab['request']},"
            f" transfer {ab['transfer']}; FIN {ab['fin']}, RST {ab['rst']}; "
            f"ok by listener: dedicated {res['ok_by_listener']['dedicated']},"
            f" auto {res['ok_by_listener']['auto']}")
    if ends:
        log("  access log: " + ", ".join(
            f"{k} {v}" for k, v in sorted(protos.items())) + "; end= " +
            ", ".join(f"{k} {v}" for k, v in
                      sorted(ends.items(), key=lambda x: -x[1])))
    peak_fd = max([s[2] for s in samples if s[2] is not None] or [0])
    log(f"  descriptors: {fd0} at the start, peak {peak_fd} under load, "
        f"{fd_end} after {fd_wait:.1f} s")
    log(f"  RSS MiB: start {mib(rss0)}; every second: " +
        " ".join(mib(s[1]) for s in samples))
    log(f"  RSS MiB: second-half median {mib(med2)}, end {mib(rss_end)} "
        f"(allowed {mib(med2 + margin) if med2 else '-'})")
    for name, ok, what in fin:
        log(f"  final {name} request: {'ok' if ok else 'FAILED'} ({what})")
    log(f"  SIGTERM: exit status {rc} after {term_s:.1f} s; sanitizer "
        f"reports: {len(san)}")
    werr = [x for x in stderr_text.splitlines()
            if " error:" in x or " warn:" in x]
    werr = [x for x in werr if "running as root" not in x]
    if werr:
        log(f"  sluice stderr ({len(werr)} error/warn lines), first: "
            f"{werr[0][:200]}")
    if lerr_text.count("failure:"):
        log("  first failures reported by slload:")
        for x in [y for y in lerr_text.splitlines() if "failure:" in y][:5]:
            log("    " + x)
    total = time.time() - t_begin
    if failures:
        log(f"\nsoak: FAIL ({total:.0f} s; seed {seed}; logs kept in {work})")
        for f_ in failures:
            log(f"  - {f_}")
        return 1
    log(f"\nsoak: PASS ({total:.0f} s; seed {seed})")
    if a.keep:
        log(f"  logs in {work}")
    else:
        for n in os.listdir(work):
            os.unlink(os.path.join(work, n))
        os.rmdir(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
