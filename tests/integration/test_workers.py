#!/usr/bin/python3
"""Several workers (event-loop threads with SO_REUSEPORT listeners of their
own): connections spread over them; the admin listener sums their counters
and reaches their sessions; limits (max_connections, per_client, per_user,
quotas) hold across workers; a reload is taken by every worker before it
is announced; a drain waits for every worker; SIGUSR1 reopens every
worker's access log.  Run through tests/run.sh, or directly:

    /usr/bin/python3 tests/integration/test_workers.py
"""

import json
import os
import signal
import socket
import tempfile
import time

from harness import (DNS_HOST, ORIGIN_HOST, SLOW, Failure, Sluice, Socks5Error,
                     Thread, admin, check, eq, free_port, http_get, main,
                     mval, origin, parse_metrics, parse_response,
                     recv_until_close, s5_connect, sha256, test, wait_for)

HELLO = b"hello from origin\n"
WORKERS = 3           # more than the CPUs of a small machine: still fine
N = 60                # connections: every worker gets some (4-tuple hash)


def conf(fx, extra="", workers=WORKERS, admin_port=None):
    d = tempfile.mkdtemp(prefix="wk-", dir=fx.tmp)
    text = ('dns = { servers = [ "%s:%d" ]; timeout_ms = 1000; tries = 1; };\n'
            'log = { level = "debug"; access = "%s"; };\n'
            'workers = %d;\n' % (DNS_HOST, fx.dns_port,
                                os.path.join(d, "access.log"), workers))
    if admin_port:
        text += 'admin = { address = "127.0.0.1"; port = %d; };\n' % \
            admin_port
    return d, text + extra


def start(fx, extra="", workers=WORKERS, admin_port=None, **kw):
    d, text = conf(fx, extra, workers, admin_port)
    sl = Sluice(fx, conf=text, **kw)
    sl.access_path = os.path.join(d, "access.log")
    return sl


def worker_of(rec):
    return int(rec["id"].split(".")[0])


def hold(sl, fx, n, **kw):
    """n live tunnels to the echo origin, each checked by a round trip."""
    out = []
    for i in range(n):
        s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"], **kw)
        s.sendall(b"ping %d\n" % i)
        eq(s.recv(64), b"ping %d\n" % i, "echo through tunnel %d" % i)
        out.append(s)
    return out


def close_all(socks):
    for s in socks:
        s.close()


def metrics(port):
    status, _, body = admin(("127.0.0.1", port), "GET", "/metrics")
    eq(status, 200, "/metrics")
    return parse_metrics(body.decode())


def sessions(port):
    status, _, body = admin(("127.0.0.1", port), "GET", "/sessions")
    eq(status, 200, "/sessions")
    return json.loads(body)


def threads_of(pid):
    return len(os.listdir("/proc/%d/task" % pid))


@test
def workers_spread_and_summed(fx):
    """Connections land on every worker; /metrics sums them, /sessions
    lists them all, each with its worker in its ID; the sessions of any
    worker can be closed from the admin listener."""
    ap = free_port("127.0.0.1")
    sl = start(fx, admin_port=ap)
    check("%d workers" % WORKERS in sl.wait_log("workers,", 5),
          "the start log names the workers")
    # the threads start as the log line is written (later under valgrind)
    deadline = time.time() + 5 * SLOW
    while threads_of(sl.pid) < WORKERS and time.time() < deadline:
        time.sleep(0.05)
    check(threads_of(sl.pid) >= WORKERS, "one thread per worker: %d" %
          threads_of(sl.pid))
    socks = hold(sl, fx, N)
    ms = metrics(ap)
    eq(mval(ms, "sluice_workers"), WORKERS, "sluice_workers")
    eq(mval(ms, "sluice_sessions_active"), N, "sessions active")
    eq(mval(ms, "sluice_sessions_total"), N, "sessions total")
    live = sessions(ap)
    eq(len(live), N, "/sessions lists every worker's")
    owners = {int(x["id"].split(".")[0]) for x in live}
    eq(owners, set(range(WORKERS)), "workers that have sessions")
    eq(len({x["id"] for x in live}), N, "IDs are unique")
    # close one session of each worker by ID: its client sees the end
    by_port = {int(x["client"].rsplit(":", 1)[1]): x["id"] for x in live}
    for w in range(WORKERS):
        s = next(s for s in socks if by_port[s.getsockname()[1]]
                 .startswith("%d." % w))
        sid = by_port[s.getsockname()[1]]
        status, _, body = admin(("127.0.0.1", ap), "POST",
                                "/sessions/%s/close" % sid)
        eq((status, json.loads(body)), (200, {"closed": 1}),
           "close %s" % sid)
        s.settimeout(5 * SLOW)
        eq(s.recv(16), b"", "the client of %s sees the end" % sid)
        socks.remove(s)
    eq(admin(("127.0.0.1", ap), "POST", "/sessions/%d.999999/close" %
             (WORKERS - 1))[0], 404, "an unknown session")
    eq(admin(("127.0.0.1", ap), "POST", "/sessions/%d.1/close" % WORKERS)
       [0], 404, "a worker that does not exist")
    wait_for(lambda: mval(metrics(ap), "sluice_sessions_active") ==
             N - WORKERS, 5, "the active count after the closes")
    # bytes: every worker's tunnels moved 2 x 7..8 bytes; all counted
    close_all(socks)
    wait_for(lambda: mval(metrics(ap), "sluice_sessions_active") == 0, 5,
             "every session closed")
    ms = metrics(ap)
    want = sum(len(b"ping %d\n" % i) for i in range(N))
    eq(mval(ms, "sluice_bytes_total", direction="up"), want, "bytes up")
    # down: the echoes and each SOCKS5 reply (10 bytes)
    eq(mval(ms, "sluice_bytes_total", direction="down"), want + 10 * N,
       "bytes down")
    recs = sl.access(N)
    eq({worker_of(r) for r in recs}, set(range(WORKERS)),
       "access-log lines from every worker")
    eq(sl.stop(), 0, "exit")
    log = sl.log()
    check("totals: %d sessions" % N in log, "the totals sum the workers: "
          + log[-600:])


@test
def workers_limits_hold_across(fx):
    """max_connections and per_client count every worker's sessions."""
    aport = free_port("127.0.0.1")
    sl = start(fx, "limits = { max_connections = 10; };\n",
               admin_port=aport)
    socks = hold(sl, fx, 10)
    for i in range(20):     # whichever worker they reach: refused
        try:
            s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"],
                           timeout=3)
            s.close()
            raise Failure("connection %d over max_connections = 10 was "
                          "served" % (11 + i))
        except (Socks5Error, OSError, EOFError):
            pass
    close_all(socks)
    wait_for(lambda: [r["end"] for r in sl.access()].count(
             "limit_max_connections") == 20, 5, "the refusals logged")
    # counted where they were refused, summed over the workers
    eq(mval(metrics(aport), "sluice_ended_total",
            end="limit_max_connections"), 20, "refusals in /metrics")
    # freed: served again, on every worker
    time.sleep(0.2)
    socks = hold(sl, fx, 10)
    close_all(socks)
    eq(sl.stop(), 0, "exit")

    sl = start(fx, "limits = { per_client = 4; };\n")
    socks = hold(sl, fx, 4)
    for i in range(12):
        try:
            s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"],
                           timeout=3)
            s.close()
            raise Failure("a 5th session of one client was served")
        except (Socks5Error, OSError, EOFError):
            pass
    # another client address is not affected
    s = socket.create_connection(sl.addr, 5)
    s.close()
    close_all(socks)
    eq(sl.stop(), 0, "exit")


PW = {"alice": "pw-alice", "bob": "pw-bob"}
AUTH = ('auth = { users = ( { name = "alice"; password = "pw-alice"; },\n'
        '  { name = "bob"; password = "pw-bob"; } ); };\n')


@test
def workers_users_shared(fx):
    """per_user and a daily quota are the user's, whatever worker each of
    the user's sessions is on; closing a user closes them on every
    worker."""
    ap = free_port("127.0.0.1")
    sl = start(fx, AUTH + "limits = { per_user = 6; };\n", admin_port=ap)

    def alice_workers():
        return {int(x["id"].split(".")[0]) for x in sessions(ap)
                if x["user"] == "alice"}
    # the kernel picks each connection's worker (SO_REUSEPORT hashes the
    # source port): all six land on one worker about once in 250 runs, and
    # then nothing here would cross workers; place them again
    for attempt in range(5):
        socks = hold(sl, fx, 6, user="alice", pw=PW["alice"])
        owners = alice_workers()
        if len(owners) >= 2 or WORKERS == 1:
            break
        close_all(socks)
        wait_for(lambda: not alice_workers(), 5, "alice's sessions closed")
    check(len(owners) >= 2 or WORKERS == 1,
          "alice's sessions are on several workers: %r" % owners)
    for i in range(10):
        try:
            s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"],
                       user="alice", pw=PW["alice"]).close()
            raise Failure("alice's 7th session was served")
        except Socks5Error as e:
            eq(e.rep, 2, "per_user refusal")
    bob = hold(sl, fx, 3, user="bob", pw=PW["bob"])
    status, _, body = admin(("127.0.0.1", ap), "POST", "/users/alice/close")
    eq((status, json.loads(body)), (200, {"closed": 6}), "closing alice")
    for s in socks:
        s.settimeout(5 * SLOW)
        eq(s.recv(16), b"", "alice's tunnel closed")
    for s in bob:
        s.sendall(b"x")
        eq(s.recv(1), b"x", "bob's tunnels go on")
    close_all(socks + bob)
    eq(sl.stop(), 0, "exit")

    # a quota of 300000 bytes: downloads on whatever workers add up to it
    d = tempfile.mkdtemp(prefix="wq-", dir=fx.tmp)
    state = os.path.join(d, "q.state")
    sl = start(fx, AUTH + 'limits = { user_quota_daily = 300000; '
               'state_file = "%s"; };\n' % state)
    got = 0
    for i in range(12):
        try:
            s = s5_connect(sl.addr, "origin.test", fx.ports["http"],
                           user="alice", pw=PW["alice"])
        except Socks5Error as e:
            eq(e.rep, 2, "refused once the quota is used")
            break
        s.sendall(b"GET /bytes/40000 HTTP/1.1\r\nHost: o\r\n"
                  b"Connection: close\r\n\r\n")
        got += len(recv_until_close(s, 10))
        s.close()
    else:
        raise Failure("12 downloads of 40 kB under a 300 kB quota all "
                      "served")
    wait_for(lambda: any(r["end"] == "quota_daily" for r in sl.access()),
             5, "the refusal logged")

    def alice():
        recs = [r for r in sl.access() if r["user"] == "alice"]
        return recs, sum(int(r["up"]) + int(r["down"]) for r in recs)

    # each worker flushes its own access-log buffer (log.c: every
    # LOG_FLUSH_MS): the other workers' lines may come a little later
    wait_for(lambda: alice()[1] >= 300000, 5, "every worker's lines")
    recs, used = alice()
    check(300000 <= used <= 300000 + 64 * len(recs), "alice used %d of "
          "300000 over %d sessions on workers %r" % (
              used, len(recs), sorted({worker_of(r) for r in recs})))
    eq(sl.stop(), 0, "exit")
    with open(state) as f:
        line = [x for x in f.read().split("\n") if x.startswith("u alice ")]
    eq(len(line), 1, "alice's usage saved")
    check(int(line[0].split()[3]) >= 300000, "saved usage %r" % line)


def download(sl, fx, n):
    s = s5_connect(sl.addr, "origin.test", fx.ports["http"])
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: o\r\nConnection: close"
              b"\r\n\r\n" % n)
    body = parse_response(recv_until_close(s, 60))[2]
    s.close()
    return body


@test
def workers_reload_everywhere(fx):
    """A reload is announced once every worker has it: right after the
    log line, every new connection (whatever worker) follows the new
    rules; downloads that started before go on to the end."""
    size = 16 << 20
    sl = start(fx, "limits = { conn_bandwidth = \"8M\"; };\n")
    downs = [Thread(download, sl, fx, size) for _ in range(6)]
    for t in downs:
        t.start()
    time.sleep(0.3)
    _, text = conf(fx, 'limits = { conn_bandwidth = "8M"; };\n'
                   'rules = ( { action = "deny"; dest = [ "%s" ]; } );\n'
                   % ORIGIN_HOST)
    mark = sl.reload(text)
    sl.wait_log("configuration reloaded (generation 2)", 10, since=mark)
    for i in range(30):
        try:
            s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"]).close()
            raise Failure("connection %d after the reload was not denied"
                          % i)
        except Socks5Error as e:
            eq(e.rep, 2, "denied by the new rule")
    for t in downs:
        body = t.join(60)
        eq(len(body), size, "a download that started before the reload")
        eq(sha256(body), origin.pattern_sha256(size), "its sha256")
    # and back: every worker takes the next one too
    _, text = conf(fx)
    mark = sl.reload(text)
    sl.wait_log("configuration reloaded (generation 3)", 10, since=mark)
    close_all(hold(sl, fx, 20))
    eq(sl.stop(), 0, "exit")


@test
def workers_drain_and_reopen(fx):
    """SIGUSR1 reopens every worker's access log; SIGTERM: every worker
    stops accepting, their tunnels go on until they end, then the
    process exits 0."""
    sl = start(fx)
    close_all(hold(sl, fx, 20))
    recs = sl.access(20)
    check(len({worker_of(r) for r in recs}) > 1, "lines from several "
          "workers")
    os.rename(sl.access_path, sl.access_path + ".1")
    sl.signal(signal.SIGUSR1)
    sl.wait_log("access log reopened", 5)
    close_all(hold(sl, fx, 20))
    recs = sl.access(20)
    eq(len(recs), 20, "the new file has the new sessions only")
    check(len({worker_of(r) for r in recs}) > 1, "every worker reopened")

    socks = hold(sl, fx, 12)
    sl.signal(signal.SIGTERM)
    sl.wait_log("stopped accepting; 12 sessions", 5)
    time.sleep(0.2)
    for i, s in enumerate(socks):
        s.sendall(b"still %d\n" % i)
        eq(s.recv(64), b"still %d\n" % i, "a tunnel during the drain")
    try:
        s5_connect(sl.addr, ORIGIN_HOST, fx.ports["echo"], timeout=2)
        raise Failure("a new client was served during the drain")
    except (Socks5Error, OSError, EOFError):
        pass
    check(sl.alive(), "sluice waits for the tunnels")
    close_all(socks)
    wait_for(lambda: not sl.alive(), 10, "the exit once all are closed")
    eq(sl.stop(), 0, "exit status")


@test
def workers_default_one_per_cpu(fx):
    """workers = 0 (the default): one per CPU the process may use."""
    ap = free_port("127.0.0.1")
    sl = start(fx, workers=0, admin_port=ap)
    eq(mval(metrics(ap), "sluice_workers"), len(os.sched_getaffinity(0)),
       "workers for %d CPUs" % len(os.sched_getaffinity(0)))
    eq(sl.stop(), 0, "exit")
    # pinned to one CPU: one worker
    sl = start(fx, workers=0, admin_port=ap, prefix=["taskset", "-c", "0"])
    eq(mval(metrics(ap), "sluice_workers"), 1, "pinned to one CPU")
    eq(sl.stop(), 0, "exit")


@test
def workers_http_everywhere(fx):
    """HTTP forward requests and CONNECT tunnels on every worker, each
    with its origin pool and DNS cache."""
    sl = start(fx, proto="http")
    seen = set()
    for i in range(40):
        s = socket.create_connection(sl.addr, 5)
        s.sendall(b"GET http://origin.test:%d/hello HTTP/1.1\r\nHost: "
                  b"origin.test\r\nConnection: close\r\n\r\n" %
                  fx.ports["http"])
        status, _, body = parse_response(recv_until_close(s, 10))
        s.close()
        eq((status, body), (200, HELLO), "request %d" % i)
    for r in sl.access(40):
        seen.add(worker_of(r))
    eq(seen, set(range(WORKERS)), "workers that served requests")
    s = socket.create_connection(sl.addr, 5)
    s.sendall(b"CONNECT origin.test:%d HTTP/1.1\r\nHost: x\r\n\r\n" %
              fx.ports["http"])
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    check(head.startswith(b"HTTP/1.1 200"), head)
    eq(http_get(s, "/hello")[2], HELLO, "a request through CONNECT")
    s.close()
    eq(sl.stop(), 0, "exit")


if __name__ == "__main__":
    raise SystemExit(main())
