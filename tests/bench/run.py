#!/usr/bin/env python3
"""sluice's own benchmark: slload against sluice and the installed peers.

    tests/bench/run.py [--systems LIST] [--scenarios LIST] [--duration S]
                       [--reps N] [--conc N] [--hold-n N] [--hold-s S]
                       [--no-pin] [--port-base P] [--out FILE] [--list]

Starts the origin (slload serve) on CPU 1, then each system on CPU 0, one
at a time, runs every scenario --reps times for --duration seconds and
prints a table of medians with the ratio to the best peer, the latency
percentiles and the CPU use.  Systems that are not installed are skipped
with a message.  Memory (s5_hold) is measured on a freshly started process.

Environment: SLUICE_BIN (default ./sluice), SLLOAD (default build/slload,
where make bench puts it), THREADRELAY (default build/threadrelay: a peer
built the way 3proxy is, tests/bench/threadrelay.c, as 3proxy is not
packaged in Debian 12; SOCKS5 and CONNECT only).  Every run is bounded: --duration, slload's own timeouts,
and a wall-clock limit on each subprocess.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AUTH_USER, AUTH_PASS = "benchuser", "benchpass"

ALL_SYSTEMS = ["direct", "sluice", "microsocks", "danted", "tinyproxy", "squid",
               "threadrelay"]
DEFAULT_SYSTEMS = ["sluice", "microsocks", "danted", "tinyproxy", "squid",
                   "threadrelay"]
ALL_SCENARIOS = ["s5_conn", "s5_auth", "s5_domain", "http_ka", "http_new",
                 "http_connect", "s5_bulk_down_1", "s5_bulk_down_8",
                 "s5_bulk_up_1", "hc_bulk_down_1", "hc_bulk_down_8",
                 "hc_bulk_up_1", "s5_hold", "hc_hold"]
DEFAULT_SCENARIOS = ["s5_conn", "s5_auth", "s5_domain", "http_ka",
                     "http_new", "http_connect", "s5_bulk_down_1",
                     "s5_bulk_down_8", "s5_bulk_up_1", "s5_hold"]
# what a scenario needs from a system: socks, s5auth, http (a forward
# proxy: absolute-form requests) or connect (HTTP CONNECT)
NEEDS = {s: ("s5auth" if s == "s5_auth" else
             "socks" if s.startswith("s5_") else
             "connect" if s == "http_connect" or s.startswith("hc_") else
             "http")
         for s in ALL_SCENARIOS}
# the no-proxy run that corresponds to a scenario
DIRECT = {"s5_conn": "direct_conn", "s5_auth": "direct_conn",
          "s5_domain": "direct_conn", "http_new": "direct_conn",
          "http_connect": "direct_conn", "http_ka": "direct_ka",
          "s5_bulk_down_1": "direct_bulk_down_1",
          "hc_bulk_down_1": "direct_bulk_down_1",
          "s5_bulk_down_8": "direct_bulk_down_8",
          "hc_bulk_down_8": "direct_bulk_down_8",
          "s5_bulk_up_1": "direct_bulk_up_1",
          "hc_bulk_up_1": "direct_bulk_up_1"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def port_free(port, host="127.0.0.1"):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def descendants(pid):
    """pid and its descendants, from /proc (we only signal what we started)"""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            parent[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    out, grew = {pid}, True
    while grew:
        grew = False
        for p, pp in parent.items():
            if pp in out and p not in out:
                out.add(p)
                grew = True
    return out


def stop(proc, second_signal=True):
    """SIGTERM (twice: sluice closes live sessions on the second), then KILL"""
    if proc is None or proc.poll() is not None:
        return
    tree = descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(2)
    except subprocess.TimeoutExpired:
        if second_signal:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    for p in tree - {proc.pid}:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


class Bench:
    def __init__(self, a):
        self.a = a
        self.slload = os.environ.get(
            "SLLOAD", os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                   "build", "slload"))
        self.sluice = os.path.abspath(os.environ.get("SLUICE_BIN", "./sluice"))
        self.threadrelay = os.environ.get(
            "THREADRELAY", os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                        "build", "threadrelay"))
        self.work = tempfile.mkdtemp(prefix="sluice-ownbench.")
        os.chmod(self.work, 0o755)
        self.pb = a.port_base
        self.origin = f"127.0.0.1:{self.pb}"
        self.echo = f"127.0.0.1:{self.pb + 1}"
        self.sink = f"127.0.0.1:{self.pb + 2}"
        self.proxy_pin = ["taskset", "-c", "0"] if a.pin else []
        self.client_pin = ["taskset", "-c", "1"] if a.pin else []
        self.origin_proc = None
        self.proc = None
        self.results = []
        self.skipped = {}
        self.out = open(a.out, "w") if a.out else None

    # ---------------------------------------------------------- processes
    def spawn(self, argv, logname, pin=True):
        f = open(os.path.join(self.work, logname), "w")
        return subprocess.Popen((self.proxy_pin if pin else []) + argv,
                                stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                preexec_fn=raise_nofile)

    def wait_port(self, addr, timeout=15):
        return subprocess.call([self.slload, "wait", addr, "--timeout",
                                str(timeout)]) == 0

    def start_origin(self):
        for p in (self.pb, self.pb + 1, self.pb + 2):
            if not port_free(p):
                sys.exit(f"port {p} is busy; use --port-base")
        argv = self.client_pin + [
            self.slload, "serve", "--http", self.origin,
            "--http", f"[::1]:{self.pb}", "--echo", self.echo,
            "--sink", self.sink, "--body", "256", "--max-time", "7200"]
        self.origin_proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.work, "origin.log"), "w"),
            preexec_fn=raise_nofile)
        if not self.wait_port(self.origin, 5):
            sys.exit("the origin did not start")

    # --------------------------------------------------------- the systems
    def caps(self, sys_):
        if sys_ == "sluice":
            return {"socks", "http", "connect", "s5auth"}
        if sys_ == "microsocks":
            return {"socks", "s5auth"}
        if sys_ == "threadrelay":
            return {"socks", "connect", "s5auth"}
        if sys_ == "danted":
            try:
                import pwd
                pwd.getpwnam(AUTH_USER)
                return {"socks", "s5auth"}
            except KeyError:
                return {"socks"}
        return {"http", "connect"}

    def check(self, sys_):
        if sys_ == "sluice":
            if not os.access(self.sluice, os.X_OK):
                return f"{self.sluice} not found (make, or set SLUICE_BIN)"
        elif sys_ == "danted":
            if not os.access("/usr/sbin/danted", os.X_OK):
                return "/usr/sbin/danted not installed"
        elif sys_ == "threadrelay":
            if not os.access(self.threadrelay, os.X_OK):
                return (f"{self.threadrelay} not found (make bench builds "
                        f"it, or set THREADRELAY)")
        elif shutil.which(sys_) is None:
            return f"{sys_} not installed"
        return None

    def start(self, sys_, auth):
        """start sys_ (auth: RFC 1929 instance); returns (socks, http) or None"""
        d = os.path.join(self.work, f"{sys_}-{auth}-{int(time.time()*1000)}")
        os.makedirs(d)
        os.chmod(d, 0o777)
        socks = http = None
        pb = self.pb
        if sys_ == "microsocks":
            socks = pb + 101
            argv = ["microsocks", "-i", "127.0.0.1", "-p", str(socks)]
            if auth:
                argv += ["-u", AUTH_USER, "-P", AUTH_PASS]
            # it logs every connection and cannot be told not to
            self.proc = subprocess.Popen(
                self.proxy_pin + argv, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, preexec_fn=raise_nofile)
        elif sys_ == "danted":
            socks = pb + 111
            conf = os.path.join(d, "danted.conf")
            with open(conf, "w") as f:
                f.write(f"""logoutput: stderr
internal: 127.0.0.1 port = {socks}
external: 127.0.0.1
clientmethod: none
socksmethod: {"username" if auth else "none"}
user.privileged: root
user.unprivileged: nobody
timeout.negotiate: 30
timeout.io: 0
client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}
socks pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }}
""")
            self.proc = self.spawn(["/usr/sbin/danted", "-f", conf, "-p",
                                    os.path.join(d, "danted.pid")],
                                   f"{os.path.basename(d)}.log")
        elif sys_ == "tinyproxy":
            http = pb + 122
            conf = os.path.join(d, "tinyproxy.conf")
            with open(conf, "w") as f:
                f.write(f"""User nobody
Group nogroup
Port {http}
Listen 127.0.0.1
Timeout 600
MaxClients 8192
Allow 127.0.0.0/8
LogFile "{d}/tinyproxy.log"
LogLevel Critical
PidFile "{d}/tinyproxy.pid"
DisableViaHeader Yes
""")
            self.proc = self.spawn(["tinyproxy", "-d", "-c", conf],
                                   f"{os.path.basename(d)}.log")
        elif sys_ == "squid":
            http = pb + 132
            conf = os.path.join(d, "squid.conf")
            with open(conf, "w") as f:
                f.write(f"""http_port 127.0.0.1:{http}
acl localnet src 127.0.0.0/8
acl localnet src ::1
http_access allow localnet
http_access deny all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log {d}/cache.log
debug_options ALL,1
pid_filename {d}/squid.pid
coredump_dir {d}
cache_effective_user proxy
max_filedescriptors 16384
workers 1
pinger_enable off
shutdown_lifetime 0 seconds
forwarded_for delete
via off
logfile_rotate 0
""")
            self.proc = self.spawn(["squid", "-N", "-f", conf],
                                   f"{os.path.basename(d)}.log")
        elif sys_ == "threadrelay":
            socks, http = (pb + 143, None) if auth else (pb + 141, pb + 142)
            argv = [self.threadrelay, "-s", str(socks)]
            if auth:
                argv += ["-u", f"{AUTH_USER}:{AUTH_PASS}"]
            else:
                argv += ["-c", str(http)]
            self.proc = self.spawn(argv, f"{os.path.basename(d)}.log")
        elif sys_ == "sluice":
            socks, http = (pb + 163, None) if auth else (pb + 161, pb + 162)
            conf = os.path.join(d, "sluice.conf")
            with open(conf, "w") as f:
                f.write("# generated by tests/bench/run.py\nlisten = (\n")
                f.write(f'  {{ proto = "socks5"; address = "127.0.0.1"; '
                        f'port = {socks}; }}')
                if http:
                    f.write(f',\n  {{ proto = "http"; address = "127.0.0.1";'
                            f' port = {http}; }}')
                f.write("\n);\n")
                if auth:
                    f.write(f'auth = {{ required = true; users = ( {{ name = '
                            f'"{AUTH_USER}"; password = "{AUTH_PASS}"; }} ); '
                            f'}};\n')
                f.write("timeouts = { handshake = 10; connect = 10; "
                        "idle = 300; };\n"
                        "limits = { max_connections = 20000; };\n"
                        'log = { level = "error"; access = "/dev/null"; };\n')
                if self.a.pin:
                    f.write("workers = 1;\n")
            chk = subprocess.run([self.sluice, "-t", "-c", conf],
                                 capture_output=True, text=True)
            if chk.returncode != 0:
                log(f"  sluice -t rejected {conf}:\n{chk.stderr}")
                return None
            self.proc = self.spawn([self.sluice, "-c", conf],
                                   f"{os.path.basename(d)}.log")
        for p in (socks, http):
            if p and not self.wait_port(f"127.0.0.1:{p}"):
                log(f"  {sys_} did not listen on {p}; logs in {d}")
                stop(self.proc)
                self.proc = None
                return None
        time.sleep(0.3)
        return (f"127.0.0.1:{socks}" if socks else None,
                f"127.0.0.1:{http}" if http else None)

    # ---------------------------------------------------------- scenarios
    def run_one(self, sys_, sc, rep, socks, http):
        a = self.a
        argv = self.client_pin + [self.slload, sc, "-t", self.origin,
                                  "--echo", self.echo, "--sink", self.sink,
                                  "--json", "--label", f"{sys_}/{sc}/{rep}",
                                  "--origin-pid", str(self.origin_proc.pid)]
        if sc.startswith("direct_"):
            pass
        else:
            argv += ["-p", http if NEEDS[sc] in ("http", "connect")
                     else socks]
        if self.proc is not None and not sc.startswith("direct_"):
            argv += ["--watch-pid", str(self.proc.pid)]
        if sc.endswith("_hold"):
            argv += ["-c", str(a.hold_n), "--hold-s", str(a.hold_s)]
        else:
            argv += ["-d", str(a.duration)]
            if "bulk" not in sc:
                argv += ["-c", str(a.conc)]
        if sc == "s5_auth":
            argv += ["--user", AUTH_USER, "--pass", AUTH_PASS]
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=a.duration + a.hold_s + 90)
        except subprocess.TimeoutExpired:
            res = {"error": "slload timed out"}
            summary = "timed out"
        else:
            summary = r.stderr.strip().splitlines()[-1] if r.stderr.strip() \
                else f"exit {r.returncode}"
            try:
                res = json.loads(r.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                res = {"error": f"slload exit {r.returncode}, no result"}
        rec = {"system": sys_, "scenario": sc, "rep": rep, "pin": a.pin,
               "duration_s": a.duration, "conc": a.conc,
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "result": res}
        self.results.append(rec)
        if self.out:
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()
        log(f"  {sys_:10} {sc:15} #{rep}  {summary[:150]}")

    def run_system(self, sys_, scenarios):
        why = self.check(sys_)
        if why:
            log(f"[{sys_}] SKIPPED: {why}")
            self.skipped[sys_] = why
            return
        log(f"[{sys_}]")
        caps = self.caps(sys_)
        todo = [s for s in scenarios if NEEDS[s] in caps]
        for sc in [s for s in todo if s.endswith("_hold")]:
            ep = self.start(sys_, False)
            if ep:
                self.run_one(sys_, sc, 1, *ep)
                stop(self.proc)
                self.proc = None
        main = [s for s in todo if not s.endswith("_hold") and s != "s5_auth"]
        if main:
            ep = self.start(sys_, False)
            if ep:
                for sc in main:
                    for rep in range(1, self.a.reps + 1):
                        self.run_one(sys_, sc, rep, *ep)
                stop(self.proc)
                self.proc = None
        if "s5_auth" in todo:
            ep = self.start(sys_, True)
            if ep:
                for rep in range(1, self.a.reps + 1):
                    self.run_one(sys_, "s5_auth", rep, *ep)
                stop(self.proc)
                self.proc = None

    def run_direct(self, scenarios):
        log("[direct] (no proxy: slload -> origin, the client core's limit)")
        self.proc = None
        done = []
        for sc in scenarios:
            d = DIRECT.get(sc)
            if d is None or d in done:
                continue
            done.append(d)
            for rep in range(1, self.a.reps + 1):
                self.run_one("direct", d, rep, None, None)

    def cleanup(self):
        stop(self.proc)
        stop(self.origin_proc, second_signal=False)


# ------------------------------------------------------------------ report
def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "Gbit/s":
        return f"{v:.2f}"
    if unit.startswith("KiB") or unit.startswith("MiB"):
        return f"{v:.1f}"
    return f"{v:.0f}"


def ratio(v, best):
    r = v / best
    return f" ({r:.3f})" if r < 0.1 else f" ({r:.2f})"


def table(rows, header):
    w = [max(len(str(r[i])) for r in [header] + rows)
         for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w[i]) for i, c in enumerate(header)),
             "  ".join("-" * x for x in w)]
    for r in rows:
        lines.append("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))
    return "\n".join(lines)


def report(results, skipped, reps, duration, pin):
    cells = {}      # (system, scenario) -> list of results
    for r in results:
        if "result" not in r:
            continue
        sc = r["scenario"]
        if r["system"] == "direct":
            for s, d in DIRECT.items():
                if d == sc:
                    cells.setdefault(("direct", s), []).append(r["result"])
            continue
        cells.setdefault((r["system"], sc), []).append(r["result"])
    systems = [s for s in ALL_SYSTEMS if any(k[0] == s for k in cells)]
    peers = [s for s in systems if s not in ("direct", "sluice")]
    seen = []
    for r in results:
        if r["system"] != "direct" and r["scenario"] not in seen:
            seen.append(r["scenario"])
    scen = [s for s in ALL_SCENARIOS if s in seen]

    def med(sys_, sc, key="value", sub=None):
        rs = cells.get((sys_, sc), [])
        vals = []
        for x in rs:
            v = x.get(key) if sub is None else x.get(key, {}).get(sub)
            if v is not None and "error" not in x:
                vals.append(v)
        return statistics.median(vals) if vals else None

    def errs(sys_, sc):
        return sum(x.get("err_total", 0) + (1 if "error" in x else 0)
                   for x in cells.get((sys_, sc), []))

    out = []
    out.append(f"median of {reps} reps, {duration}s each, pinned={int(pin)};"
               " cell = value (ratio to the best peer); ! = errors in some "
               "rep; direct = no proxy (the client core's own limit)")
    rows = []
    hold_rows = []
    notes = set()
    for sc in scen:
        hold = sc.endswith("_hold")
        unit = "KiB/tunnel RSS (lower=better)" if hold else None
        vals = {}
        for s in systems:
            v = med(s, sc)
            if v is not None:
                vals[s] = v
            if unit is None and cells.get((s, sc)):
                unit = cells[(s, sc)][0].get("unit", "?")
        pv = {s: v for s, v in vals.items() if s in peers}
        best = (min(pv, key=pv.get) if hold else max(pv, key=pv.get)) \
            if pv else None
        row = [sc, unit]
        for s in systems:
            v = vals.get(s)
            c = fmt(v, unit)
            if v is not None and best and s != "direct" and pv[best]:
                c += ratio(v, pv[best])
            if errs(s, sc):
                c += " !"
            if "bulk_up" in sc and med(s, sc, "no_half_close"):
                c += " h"
                notes.add("h = no half-close: the proxy closed the tunnel on "
                          "the client's EOF; the byte count was checked with "
                          "the origin directly")
            if sc == "http_ka" and med(s, sc, "ka_closed"):
                c += " c"
                notes.add("c = the proxy closed persistent connections "
                          "(without Connection: close); slload opened new "
                          "ones, so the figure is partly new-connection")
            row.append(c if (s, sc) in cells else "-")
        row.append(f"{best} {fmt(pv[best], unit)}" if best else "-")
        rows.append(row)
        if hold:
            # the PSS row (danted forks: RSS counts shared pages per process)
            prow = [sc, "KiB/tunnel PSS (lower=better)"]
            idle = ["idle RSS", "MiB (lower=better)"]
            pp = {s: med(s, sc, "kib_per_tunnel_pss") for s in peers}
            pp = {s: v for s, v in pp.items() if v is not None}
            pb = min(pp, key=pp.get) if pp else None
            ii = {s: med(s, sc, "rss_before_kb") for s in peers}
            ii = {s: v / 1024 for s, v in ii.items() if v is not None}
            ib = min(ii, key=ii.get) if ii else None
            for s in systems:
                v = med(s, sc, "kib_per_tunnel_pss")
                c = fmt(v, "KiB")
                if v is not None and pb and pp[pb]:
                    c += ratio(v, pp[pb])
                prow.append(c)
                iv = med(s, sc, "rss_before_kb")
                c = fmt(iv / 1024 if iv is not None else None, "MiB")
                if iv is not None and ib and ii[ib]:
                    c += ratio(iv / 1024, ii[ib])
                idle.append(c)
            prow.append(f"{pb} {fmt(pp[pb], 'KiB')}" if pb else "-")
            idle.append(f"{ib} {fmt(ii[ib], 'MiB')}" if ib else "-")
            hold_rows += [prow, idle]
    out.append(table(rows + hold_rows,
                     ["scenario", "unit"] + systems + ["best peer"]))
    out += sorted(notes)

    # latency: connect to first response byte (per request for http_ka)
    lrows = []
    for sc in scen:
        if "bulk" in sc or sc.endswith("_hold"):
            continue
        row = [sc, "per request" if sc == "http_ka" else "per connection"]
        for s in systems:
            p50, p99 = med(s, sc, "lat_us", "p50"), med(s, sc, "lat_us", "p99")
            row.append("-" if p50 is None else
                       f"{p50 / 1000:.2f} / {p99 / 1000:.2f}")
        lrows.append(row)
    if lrows:
        out.append("")
        out.append("latency, ms: p50 / p99 (median over reps) of connect to "
                   "first response byte (http_ka: request to first byte); "
                   "64 in flight")
        out.append(table(lrows, ["scenario", "measured"] + systems))

    crow = []
    for sc in scen:
        if sc.endswith("_hold"):
            continue
        row = [sc]
        for s in systems:
            p = med(s, sc, "proxy_cpu")
            c = med(s, sc, "client_cpu")
            if p is None:
                row.append("-")
            elif s == "direct":
                row.append(f"- / {c * 100:.0f}%")
            else:
                row.append(f"{p * 100:.0f}% / {c * 100:.0f}%")
        crow.append(row)
    if crow:
        out.append("")
        out.append("CPU, % of one core: proxy / client core (slload + origin);"
                   " a client core near 100% means the figure may be "
                   "client-limited")
        out.append(table(crow, ["scenario"] + systems))

    bad = []
    for (s, sc), rs in sorted(cells.items()):
        for i, x in enumerate(rs):
            if x.get("err_total") or "error" in x:
                bad.append(f"  {s}/{sc} rep {i + 1}: "
                           f"{x.get('error') or json.dumps(x.get('errors'))}")
    if bad:
        out.append("")
        out.append("errors:")
        out += bad
    for s, why in skipped.items():
        out.append(f"skipped {s}: {why}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(
        description="sluice's own benchmark (slload vs sluice and peers)")
    ap.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS),
                    help=f"comma list of {','.join(ALL_SYSTEMS)}")
    ap.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                    help=f"comma list of {','.join(ALL_SCENARIOS)}")
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conc", type=int, default=64)
    ap.add_argument("--hold-n", type=int, default=2000)
    ap.add_argument("--hold-s", type=float, default=3)
    ap.add_argument("--no-pin", dest="pin", action="store_false")
    ap.add_argument("--port-base", type=int, default=22000)
    ap.add_argument("--out", help="JSON lines of every run (default: in the "
                    "temporary directory)")
    ap.add_argument("--report", metavar="FILE",
                    help="print the table of an earlier --out file and exit")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        print("systems:  ", " ".join(ALL_SYSTEMS))
        print("scenarios:", " ".join(ALL_SCENARIOS))
        return 0
    if a.report:
        with open(a.report) as f:
            res = [json.loads(x) for x in f if x.strip()]
        print(report(res, {}, "?", "?", True))
        return 0
    systems = [s for s in a.systems.split(",") if s]
    scenarios = [s for s in a.scenarios.split(",") if s]
    for s in systems:
        if s not in ALL_SYSTEMS:
            sys.exit(f"unknown system: {s}")
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            sys.exit(f"unknown scenario: {s}")
    if a.pin and os.cpu_count() < 2:
        log("one CPU: not pinning")
        a.pin = False
    raise_nofile()
    b = Bench(a)
    if not a.out:
        a.out = os.path.join(b.work, "results.jsonl")
        b.out = open(a.out, "w")
    if not os.access(b.slload, os.X_OK):
        sys.exit(f"{b.slload} not built (make bench builds it)")
    t0 = time.time()
    log(f"sluice own bench: systems {','.join(systems)}; scenarios "
        f"{','.join(scenarios)}")
    log(f"  duration={a.duration}s reps={a.reps} conc={a.conc} "
        f"hold={a.hold_n}x{a.hold_s}s "
        + ("pinned: proxy on cpu 0, slload + origin on cpu 1" if a.pin
           else "not pinned") + f"; results {a.out}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        b.start_origin()
        for s in [x for x in ALL_SYSTEMS if x in systems]:
            if s == "direct":
                b.run_direct(scenarios)
            else:
                b.run_system(s, scenarios)
    finally:
        b.cleanup()
    log(f"finished in {time.time() - t0:.0f} s; raw results {a.out}; "
        f"logs {b.work}")
    print(report(b.results, b.skipped, a.reps, a.duration, a.pin))
    return 0


if __name__ == "__main__":
    sys.exit(main())
