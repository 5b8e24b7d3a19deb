#!/usr/bin/python3
"""What ships beside the binary, and how sluice meets its service manager:
`make install` / `make uninstall` (DESTDIR, PREFIX, files under SYSCONFDIR
never overwritten nor removed), the systemd unit (systemd-analyze verify and
security), the logrotate entry (parsed, and a real rotation with a reopen
on SIGUSR1), the man pages (mandoc lint, every configuration key
documented), the example configurations, sd_notify(3) over $NOTIFY_SOCKET,
the privilege drop (`user`, `group`) and the PAC file (served, evaluated,
used by Chromium).  Run through tests/run.sh, or directly:

    /usr/bin/python3 tests/integration/test_release.py
    SLUICE_TESTS=install_,sd_notify /usr/bin/python3 \\
        tests/integration/test_release.py

privilege_drop needs root and is skipped without it; the JavaScript check
of the PAC file needs node and is skipped without it.
"""

import warnings
warnings.filterwarnings("ignore", category=DeprecationWarning)
import crypt  # noqa: E402  (deprecated, still the simplest crypt(3))
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import time

from harness import (DNS_HOST, Failure, ORIGIN_HOST, PROXY_HOST, ROOT, SLOW,
                     SLUICE, WRAPPER, ZONE, Sluice, admin, check, eq,
                     free_port, http_get, main, parse_metrics, recv_all, run,
                     s5_connect, test, wait_for)

HELLO = b"hello from origin\n"

# Names for the PAC checks, added to the test DNS zone before the fixtures
# start it (harness.main() builds the zone from ZONE).
ZONE["names"].update({
    "www.bypass.test": {"A": [ORIGIN_HOST], "ttl": 30},
    "direct9.test": {"A": ["127.0.0.9"], "ttl": 30},
})


# ----- helpers ----------------------------------------------------------------

def tmpdir(fx, prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=fx.tmp)


def src(*parts):
    return os.path.join(ROOT, *parts)


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def make(*args, timeout=300):
    """make -s -C ROOT args, with the caller's make and install variables
    out of the way (MAKEFLAGS from an outer `make test`, DESTDIR or
    PREFIX from the environment); returns CompletedProcess."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
                        "DESTDIR", "PREFIX", "SBINDIR", "MANDIR", "DOCDIR",
                        "SYSCONFDIR", "UNITDIR", "PROG", "B")}
    r = run(["make", "-s", "-C", ROOT] + list(args), timeout=timeout,
            env=env)
    check(r.returncode == 0, "make %s: exit %d\n%s%s" % (
        " ".join(args), r.returncode, r.stdout.decode(errors="replace"),
        r.stderr.decode(errors="replace")[-3000:]))
    return r


def tree(root):
    """{relative path: mode} of the files (and symlinks) under root."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


def unit_settings(text):
    """The [Service] and other sections' Key=Value lines: {key: [values]}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        k, _, v = line.partition("=")
        out.setdefault(k.strip(), []).append(v.strip())
    return out


# The installed files, relative to DESTDIR, for PREFIX=/usr.
INSTALLED = {
    "usr/sbin/sluice": 0o755,
    "usr/share/man/man8/sluice.8": 0o644,
    "usr/share/man/man5/sluice.conf.5": 0o644,
    "usr/share/doc/sluice/examples/laptop.conf": 0o644,
    "usr/share/doc/sluice/examples/egress-gateway.conf": 0o644,
    "usr/share/doc/sluice/examples/users.txt": 0o644,
    "usr/lib/systemd/system/sluice.service": 0o644,
    "usr/lib/sysusers.d/sluice.conf": 0o644,
    "etc/logrotate.d/sluice": 0o644,
    "etc/sluice/sluice.conf": 0o640,    # may hold passwords
}
SOURCES = {
    "usr/share/man/man8/sluice.8": "contrib/man/sluice.8",
    "usr/share/man/man5/sluice.conf.5": "contrib/man/sluice.conf.5",
    "usr/share/doc/sluice/examples/laptop.conf":
        "contrib/examples/laptop.conf",
    "usr/share/doc/sluice/examples/egress-gateway.conf":
        "contrib/examples/egress-gateway.conf",
    "usr/share/doc/sluice/examples/users.txt": "contrib/examples/users.txt",
    "usr/lib/sysusers.d/sluice.conf": "contrib/systemd/sluice.sysusers",
    "etc/logrotate.d/sluice": "contrib/logrotate/sluice",
    "etc/sluice/sluice.conf": "contrib/examples/laptop.conf",
}


# ----- make install / uninstall ---------------------------------------------------

@test
def install_destdir_lists_files(fx):
    d = tmpdir(fx, "destdir-")
    make("install", "DESTDIR=" + d, "PREFIX=/usr")
    got = tree(d)
    eq(sorted(got), sorted(INSTALLED), "installed files")
    for path, mode in INSTALLED.items():
        eq(oct(got[path]), oct(mode), "mode of " + path)
    for path, source in SOURCES.items():
        check(read(os.path.join(d, path), "rb") == read(src(source), "rb"),
              "%s is a copy of %s" % (path, source))
    check(read(os.path.join(d, "usr/sbin/sluice"), "rb") ==
          read(src("sluice"), "rb"), "the binary is ./sluice")
    unit = read(os.path.join(d, "usr/lib/systemd/system/sluice.service"))
    for ph in ("@SBINDIR@", "@SYSCONFDIR@"):
        check(ph not in unit, "%s left in the unit" % ph)
    want = read(src("contrib/systemd/sluice.service")).replace(
        "@SBINDIR@", "/usr/sbin").replace("@SYSCONFDIR@", "/etc")
    eq(unit, want, "the unit with @SBINDIR@ and @SYSCONFDIR@ replaced")
    s = unit_settings(unit)
    eq(s.get("ExecStart"), ["/usr/sbin/sluice -c /etc/sluice/sluice.conf"],
       "ExecStart")
    r = run([os.path.join(d, "usr/sbin/sluice"), "-V"], timeout=10)
    eq(r.returncode, 0, "installed sluice -V (%r)" % r.stderr)
    check(r.stdout.startswith(b"sluice "), r.stdout)

    # a second install keeps the admin's files under /etc
    conf = os.path.join(d, "etc/sluice/sluice.conf")
    lr = os.path.join(d, "etc/logrotate.d/sluice")
    mine = "# the admin's own\nlisten = ( );\n"
    for p in (conf, lr):
        with open(p, "w") as f:
            f.write(mine)
    os.unlink(os.path.join(d, "usr/sbin/sluice"))
    make("install", "DESTDIR=" + d, "PREFIX=/usr")
    eq(sorted(tree(d)), sorted(INSTALLED), "files after a second install")
    check(read(conf) == mine, "a second install overwrote sluice.conf")
    check(read(lr) == mine, "a second install overwrote logrotate.d/sluice")

    r = make("uninstall", "DESTDIR=" + d, "PREFIX=/usr")
    eq(sorted(tree(d)), ["etc/logrotate.d/sluice", "etc/sluice/sluice.conf"],
       "files left by uninstall")
    check(read(conf) == mine, "uninstall changed sluice.conf")
    check(not os.path.exists(os.path.join(d, "usr/share/doc/sluice")),
          "the doc directory is removed")
    out = r.stdout.decode()
    check(os.path.join(d, "etc/sluice") in out, "uninstall says what it "
          "kept: %r" % out)
    shutil.rmtree(d)


def elf_static(binary):
    """readelf's verdict: (static-pie, dynamic with an interpreter)."""
    hdr = run(["readelf", "-hl", binary]).stdout.decode()
    dyn = run(["readelf", "-d", binary]).stdout.decode()
    check(re.search(r"Type:\s+DYN", hdr), "a position-independent "
          "executable (ASLR): %s" % hdr[:600])
    interp = "INTERP" in hdr or "Requesting program interpreter" in hdr
    return not interp and "NEEDED" not in dyn, interp and "NEEDED" in dyn


def install_binary(fx, *variables):
    """make install into a new DESTDIR (PREFIX=/usr) with variables; checks
    the files installed and returns (DESTDIR, the binary's first -V
    line, its path)."""
    d = tmpdir(fx, "inst-link-")
    make("install", "DESTDIR=" + d, "PREFIX=/usr", "NO_SYSUSERS=1",
         *variables)
    eq(sorted(tree(d)), sorted(INSTALLED), "files installed with %r" %
       (variables,))
    binary = os.path.join(d, "usr/sbin/sluice")
    r = run([binary, "-V"], timeout=10)
    eq(r.returncode, 0, "sluice -V")
    return d, r.stdout.decode().splitlines()[0], binary


@test
def install_static_default_dynamic_opt_in(fx):
    """make install takes ./sluice, the static build (static-pie: no
    loader, no shared library, still randomised), which says so in -V
    with the Debian packages it was linked from; make install DYNAMIC=1
    takes ./sluice-dynamic, on the system's shared libraries, and the rest
    as ever."""
    d, line, binary = install_binary(fx)
    check(read(binary, "rb") == read(src("sluice"), "rb"),
          "the binary is ./sluice")
    eq(elf_static(binary), (True, False), "./sluice is linked statically")
    check(line.startswith("sluice ") and
          line.endswith(", linked statically)"), line)
    if shutil.which("dpkg-query"):
        linked = linked_sources(binary)
        eq(sorted(a for _, _, a in linked), sorted(
            ["libevent_core.a", "libcares.a", "libconfig.a", "libcrypt.a",
             "libc.a"]), "the archives -V names")
        for dev, src_name in (("libc-ares-dev", "c-ares"),
                              ("libc6-dev", "glibc")):
            q = run(["dpkg-query", "-W", "-f=${source:Version}", dev])
            check([v for s_, v, _ in linked if s_ == src_name] ==
                  [q.stdout.decode()], "%s's version: %r" % (src_name,
                                                           linked))
    shutil.rmtree(d)

    d, line, binary = install_binary(fx, "DYNAMIC=1")
    check(read(binary, "rb") == read(src("sluice-dynamic"), "rb"),
          "the binary is ./sluice-dynamic")
    eq(elf_static(binary), (False, True),
       "./sluice-dynamic loads shared libraries")
    check(line.startswith("sluice ") and
          line.endswith(", linked dynamically)"), line)
    eq(linked_sources(binary), [], "no Debian packages named")
    shutil.rmtree(d)


def linked_sources(binary):
    """[(source, version, archive)] from -V's second line."""
    out = run([binary, "-V"], timeout=10).stdout.decode().splitlines()
    if len(out) < 2:
        return []
    check(out[1].startswith("linked from Debian packages: "), out)
    return [tuple(m) for m in re.findall(r"(\S+) (\S+) \((\S+)\)",
                                          out[1])]


def status_text(linked, bump=None):
    """A dpkg status file with one installed package per linked source, at
    the linked version, or with bump's appended to source bump's."""
    paras = []
    for source, version, _ in linked:
        if source == bump:
            version += "+deb12u99"
        paras.append("Package: lib%s-runtime\nStatus: install ok installed\n"
                     "Architecture: amd64\nSource: %s\nVersion: %s\n"
                     "Description: x\n Version: 0\n" % (source, source,
                                                         version))
    return "\n".join(paras)


@test
def static_build_warns_when_libraries_move_on(fx):
    """The static build compares the Debian packages it was linked from
    with dpkg's status file (SLUICE_DPKG_STATUS here) at start and on each
    reload, and warns for each library the system has in another version:
    the copy inside sluice misses that update until a rebuild.  Nothing is
    said when they agree, when the file is absent, or by a dynamic build."""
    static, _ = elf_static(SLUICE)
    linked = linked_sources(SLUICE)
    d = tmpdir(fx, "dpkg-")
    status = os.path.join(d, "status")
    env = ["env", "SLUICE_DPKG_STATUS=" + status]
    aport = free_port("127.0.0.1")
    conf = 'admin = { address = "127.0.0.1"; port = %d; };\n' % aport

    def metrics():
        st, _, body = admin(("127.0.0.1", aport), "GET", "/metrics")
        eq(st, 200, "/metrics")
        m = parse_metrics(body.decode())
        info = [dict(lb) for (n, lb) in m if n == "sluice_build_info"]
        return info, m[("sluice_linked_libraries_outdated", ())]

    if not static:
        # the sanitizer and dynamic builds: libraries are the system's
        eq(linked, [], "a dynamic build names no linked packages")
        with open(status, "w") as f:
            f.write("Package: libc-ares2\nStatus: install ok installed\n"
                    "Source: c-ares\nVersion: 99.0-1\n")
        s = Sluice(fx, conf, prefix=env)
        s.reload(conf)
        s.wait_log("configuration reloaded")
        check("static build" not in s.log(), s.log())
        info, outdated = metrics()
        eq(info[0]["linked"], "dynamic", "sluice_build_info")
        eq(outdated, 0, "sluice_linked_libraries_outdated")
        return
    if not linked:
        print("    (no dpkg at build time: nothing recorded to compare)")
        return
    cares = [v for src_, v, _ in linked if src_ == "c-ares"]
    eq(len(cares), 1, "c-ares is among %r" % linked)
    with open(status, "w") as f:
        f.write(status_text(linked))
    s = Sluice(fx, conf, prefix=env)
    check("static build" not in s.log(), "all agree: %s" % s.log())
    info, outdated = metrics()
    eq(info, [{"version": info[0]["version"], "linked": "static"}],
       "sluice_build_info")
    eq(outdated, 0, "sluice_linked_libraries_outdated")
    c = s5_connect(s.addr, ORIGIN_HOST, fx.ports["http"])
    eq(http_get(c, "/hello")[2], HELLO, "the proxy works")
    c.close()

    # an upgrade of c-ares while it runs: said at the next reload
    with open(status + ".new", "w") as f:
        f.write(status_text(linked, bump="c-ares"))
    os.replace(status + ".new", status)
    mark = s.reload(conf)
    want = ("static build: libcares.a is linked in from c-ares %s, but "
            "libc-ares-runtime %s+deb12u99 is installed: rebuild sluice "
            "(make) and restart it to take the update in" % (cares[0],
                                                             cares[0]))
    log = s.wait_log("configuration reloaded", since=mark)
    check(want in log, "the warning at reload:\n%s" % log)
    eq(log.count("static build"), 1, "one warning, for c-ares only")
    eq(metrics()[1], 1, "sluice_linked_libraries_outdated after the reload")
    # and at the start of a new process
    s2 = Sluice(fx, prefix=env)
    check(want in s2.log(), s2.log())

    # no status file (not Debian): silent; unreadable: said once
    os.unlink(status)
    s3 = Sluice(fx, prefix=env)
    check("static build" not in s3.log(), s3.log())
    s4 = Sluice(fx, prefix=["env", "SLUICE_DPKG_STATUS=" + d])
    check("static build: cannot read %s to compare its libraries" % d
          in s4.log(), s4.log())
    check(s4.alive(), "and it runs")


# ----- the systemd unit -------------------------------------------------------------

HARDENING = {
    "Type": "notify",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "User": "sluice",
    "Group": "sluice",
    "StateDirectory": "sluice",
    "LogsDirectory": "sluice",
    "ConfigurationDirectory": "sluice",
    "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
    "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
    "SystemCallFilter": "@system-service",
    "SystemCallArchitectures": "native",
    "UMask": "0027",
    "LimitNOFILE": "262144",
    "Restart": "on-failure",
    "KillSignal": "SIGTERM",
    "WantedBy": "multi-user.target",
    "Documentation": "man:sluice(8) man:sluice.conf(5)",
}


@test
def systemd_unit_verifies(fx):
    sa = shutil.which("systemd-analyze")
    if sa is None:
        raise Failure("systemd-analyze is not installed (make deps-test)")
    d = tmpdir(fx, "prefix-")
    prefix, etc = os.path.join(d, "usr"), os.path.join(d, "etc")
    make("install", "PREFIX=" + prefix, "SYSCONFDIR=" + etc, "NO_SYSUSERS=1")
    path = os.path.join(prefix, "lib/systemd/system/sluice.service")
    text = read(path)
    s = unit_settings(text)
    eq(s.get("ExecStart"), ["%s/sbin/sluice -c %s/sluice/sluice.conf" % (
        prefix, etc)], "ExecStart")
    for k, v in HARDENING.items():
        check(v in s.get(k, []), "%s=%s in the unit (found %r)" % (
            k, v, s.get(k)))
    # the drain (timeouts.drain, 30 s by default) fits in the stop timeout
    stop = int(s.get("TimeoutStopSec", ["0"])[-1])
    check(30 < stop <= 120, "TimeoutStopSec=%d: above the 30 s drain" % stop)
    check("KillMode" not in s or s["KillMode"] in (["control-group"],
                                                   ["mixed"]),
          "KillMode %r: sluice must get SIGTERM" % s.get("KillMode"))

    # verify: the man pages of Documentation= are looked up with man(1)
    # in the installed tree; without man(1), not at all
    env = dict(os.environ)
    args = [sa, "verify"]
    if shutil.which("man"):
        env["MANPATH"] = os.path.join(prefix, "share/man")
        args.append("--man=yes")
    else:
        args.append("--man=no")
    r = run(args + [path], timeout=60, env=env)
    out = (r.stdout + r.stderr).decode(errors="replace")
    mine = [line for line in out.splitlines()
            if "sluice" in line or path in line]
    eq(mine, [], "systemd-analyze verify about sluice.service")
    eq(r.returncode, 0, "systemd-analyze verify exit (%s)" % out)

    # the exposure score (systemd >= 250 can rate a unit file offline)
    r = run([sa, "security", "--offline=true", "--threshold=25", path],
            timeout=60, env=env)
    out = (r.stdout + r.stderr).decode(errors="replace")
    if "--offline" in out and ("unrecognized" in out or "Unknown" in out):
        print("      SKIP systemd-analyze security --offline: this systemd "
              "is too old")
    else:
        check(r.returncode == 0, "systemd-analyze security: exposure above "
              "2.5:\n" + out[-1500:])
    shutil.rmtree(d)


# ----- logrotate ----------------------------------------------------------------------

@test
def logrotate_config_parses(fx):
    lr = shutil.which("logrotate") or "/usr/sbin/logrotate"
    if not os.path.exists(lr):
        raise Failure("logrotate is not installed (make deps-test)")
    text = read(src("contrib/logrotate/sluice"))
    # the postrotate script is valid sh
    m = re.search(r"\n\s*postrotate\n(.*?)\n\s*endscript", text, re.S)
    check(m is not None, "a postrotate ... endscript block")
    r = run(["sh", "-n"], input=m.group(1).encode(), timeout=10)
    eq(r.returncode, 0, "sh -n of postrotate (%r)" % r.stderr)
    check("USR1" in m.group(1), "postrotate sends SIGUSR1")
    for opt in ("daily", "rotate 14", "compress", "delaycompress",
                "missingok", "notifempty", "sharedscripts", "nocreate"):
        check(re.search(r"(?m)^\s*%s\s*$" % opt, text), "option " + opt)

    d = tmpdir(fx, "logrotate-")
    logs = os.path.join(d, "log")
    os.mkdir(logs)
    access = os.path.join(logs, "access.log")
    with open(access, "w") as f:
        f.write("an old line\n")
    conf = os.path.join(d, "sluice.logrotate")
    # Debian's /etc/logrotate.conf says "create": nocreate must win
    with open(conf, "w") as f:
        f.write("create\n" + text.replace("/var/log/sluice", logs))
    os.chmod(conf, 0o644)
    state = os.path.join(d, "state")
    r = run([lr, "-d", "-f", "-s", state, conf], timeout=30)
    out = (r.stdout + r.stderr).decode(errors="replace")
    eq(r.returncode, 0, "logrotate -d exit:\n" + out)
    check(not re.search(r"(?mi)^error", out), "logrotate -d:\n" + out)
    check("renaming %s to %s.1" % (access, access) in out,
          "logrotate -d -f would rotate %s:\n%s" % (access, out))
    check("creating new" not in out, "logrotate must not create the new "
          "file (sluice does, as its own user):\n" + out)

    # a real rotation: the file is renamed, not recreated, and SIGUSR1
    # makes sluice write a new one (here the script signals this sluice,
    # not every process called sluice)
    os.unlink(access)
    # dns stated too: a path in conf could contain "dns" (harness check)
    sl = Sluice(fx, conf='dns = { servers = [ "%s:%d" ]; };\n'
                'log = { level = "debug"; access = "%s"; };\n' % (
                    DNS_HOST, fx.dns_port, access))
    sl.access_path = access
    hp = fx.ports["http"]
    s = s5_connect(sl.addr, ORIGIN_HOST, hp)
    eq(http_get(s, "/hello")[2], HELLO, "first request")
    s.close()
    sl.access(1)
    with open(conf, "w") as f:
        f.write(re.sub(r"postrotate\n.*?\n(\s*)endscript",
                       r"postrotate\n\t\tkill -USR1 %d\n\1endscript" %
                       sl.pid, text.replace("/var/log/sluice", logs),
                       flags=re.S))
    r = run([lr, "-f", "-s", state, conf], timeout=30)
    out = (r.stdout + r.stderr).decode(errors="replace")
    eq(r.returncode, 0, "logrotate -f exit:\n" + out)
    old = os.path.join(logs, "access.log.1")
    check(os.path.exists(old), "access.log.1 after the rotation: %s" %
          os.listdir(logs))
    sl.wait_log("access log reopened")
    s = s5_connect(sl.addr, ORIGIN_HOST, hp)
    eq(http_get(s, "/hello")[2], HELLO, "second request")
    s.close()
    wait_for(lambda: os.path.exists(access) and os.path.getsize(access),
             5, "sluice to write a new access.log")
    eq(len(sl.access()), 1, "one line in the new access.log")
    eq(len(read(old).splitlines()), 1, "one line in access.log.1")
    mode = stat.S_IMODE(os.stat(access).st_mode)
    check(mode & 0o007 == 0, "the new access.log is not for others: %o" %
          mode)
    eq(sl.stop(), 0, "exit")


# ----- man pages --------------------------------------------------------------------------

def conf_key_tables():
    """{table name: [keys]} from the `static const char *const x_keys[]`
    tables of conf/conf.c (top_keys: the top level)."""
    text = read(src("conf/conf.c"))
    out = {}
    for m in re.finditer(r"static\s+const\s+char\s*\*\s*const\s+(\w+_keys)"
                         r"\s*\[\s*\]\s*=\s*\{(.*?)\}\s*;", text, re.S):
        out[m.group(1)] = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))
    return out


@test
def man_pages_lint(fx):
    mandoc = shutil.which("mandoc")
    if mandoc is None:
        raise Failure("mandoc is not installed (make deps-test)")
    pages = [src("contrib/man/sluice.8"), src("contrib/man/sluice.conf.5")]
    for p in pages:
        check(os.path.exists(p), "%s is missing" % os.path.relpath(p, ROOT))
    r = run([mandoc, "-T", "lint", "-W", "warning"] + pages, timeout=30)
    out = (r.stdout + r.stderr).decode(errors="replace")
    eq(out, "", "mandoc -T lint -W warning")
    eq(r.returncode, 0, "mandoc exit")

    tables = conf_key_tables()
    check("top_keys" in tables and len(tables) >= 5,
          "the key tables of conf/conf.c: %s" % sorted(tables))
    # the page's source and its rendering (mdoc may split or mark up)
    man5 = read(pages[1])
    r = run([mandoc, "-T", "ascii", pages[1]], timeout=30)
    rendered = re.sub(r".\x08", "", r.stdout.decode(errors="replace"))
    # a top-level key must be marked up (an mdoc macro line such as
    # ".It Ic user", or man(7) bold): "user" or "group" in prose is not
    # documentation; a key inside a section only needs to be there
    macro_lines = "\n".join(line for line in man5.splitlines()
                            if line.startswith("."))
    missing = []
    for table, keys in sorted(tables.items()):
        for k in keys:
            pat = r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(k)
            if table == "top_keys":
                ok = re.search(pat, macro_lines) or re.search(
                    r"\\fB%s\\f" % re.escape(k), man5)
            else:
                ok = re.search(pat, man5) or re.search(pat, rendered)
            if not ok:
                missing.append("%s (%s)" % (k, table))
    eq(missing, [], "configuration keys not in sluice.conf.5")


# ----- example configurations ---------------------------------------------------------------

@test
def example_configs_check(fx):
    # from a copy, run elsewhere: users.txt is found beside the file
    d = tmpdir(fx, "examples-")
    for f in ("laptop.conf", "egress-gateway.conf", "users.txt"):
        shutil.copy(src("contrib/examples", f), d)
    for where in (src("contrib/examples"), d):
        for f in ("laptop.conf", "egress-gateway.conf"):
            r = run(WRAPPER + [SLUICE, "-t", "-c", os.path.join(where, f)],
                    timeout=30 * SLOW, cwd="/")
            eq(r.returncode, 0, "sluice -t -c %s: %s" % (
                os.path.join(where, f), r.stderr.decode(errors="replace")))
            check(b"configuration OK" in r.stdout, r.stdout)
    r = run([SLUICE, "-t", "-c", os.path.join(d, "egress-gateway.conf")],
            timeout=30, cwd="/")
    out = r.stdout.decode()
    check("auth required, 4 users" in out, "the users file and ci-runner "
          "are loaded: %s" % out)
    check(re.search(r"rule #\d+ \"everything else\" deny", out), out)
    check("shared gateway" in out, out)
    check("personal proxy" in run([SLUICE, "-t", "-c", os.path.join(
        d, "laptop.conf")], timeout=30).stdout.decode(), "laptop: loopback")

    # the passwords the comments give are the ones the hashes hold
    users = {}
    for line in read(src("contrib/examples/users.txt")).splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, h = line.strip().partition(":")
            users[name] = h
    eq(sorted(users), ["alice", "bob", "carol"], "users.txt")
    m = re.search(r'name = "ci-runner";\s*hash = "([^"]+)"',
                  read(src("contrib/examples/egress-gateway.conf")))
    check(m, "ci-runner's hash in egress-gateway.conf")
    users["ci-runner"] = m.group(1)
    for name, h in users.items():
        check(h.startswith("$y$"), "%s: a yescrypt hash" % name)
        eq(crypt.crypt("example-" + name, h), h,
           "the example password of %s" % name)


# ----- sd_notify --------------------------------------------------------------------------------

class Notify:
    """An AF_UNIX datagram socket playing systemd's notify socket: a path,
    or an abstract name ("@name" in NOTIFY_SOCKET)."""

    def __init__(self, where):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if where.startswith("@"):
            self.sock.bind("\0" + where[1:])
        else:
            self.sock.bind(where)
        self.env = where
        self.seen = []       # every message, a dict each, in order

    def next(self, timeout):
        self.sock.settimeout(timeout * SLOW)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return None
        msg = {}
        for line in data.decode(errors="replace").split("\n"):
            if line:
                k, _, v = line.partition("=")
                msg[k] = v
        self.seen.append(msg)
        return msg

    def wait(self, key, value="1", timeout=10):
        """The messages up to and including the first with key=value."""
        got = []
        end = time.monotonic() + timeout * SLOW
        while time.monotonic() < end:
            m = self.next(max(0.05, end - time.monotonic()))
            if m is None:
                break
            got.append(m)
            if m.get(key) == value:
                return got
        raise Failure("no %s=%s over NOTIFY_SOCKET; got %r" % (key, value,
                                                               got))

    def quiet(self, t=0.3):
        m = self.next(t)
        return m is None or m

    def close(self):
        self.sock.close()


def notify_sluice(fx, where):
    """A sluice with NOTIFY_SOCKET=where that is not waited for (the READY
    message is what says it listens); returns (sluice, conf text, port)."""
    port = free_port()
    text = 'listen = ( { proto = "socks5"; address = "%s"; port = %d; } );\n' \
        % (PROXY_HOST, port)
    sl = Sluice(fx, conf=text, listen=False,
                prefix=["env", "NOTIFY_SOCKET=" + where])
    return sl, port


def check_message(m):
    """Only the tags sluice may send, with sane values."""
    for k, v in m.items():
        check(k in ("READY", "RELOADING", "STOPPING", "STATUS", "MAINPID",
                    "MONOTONIC_USEC", "ERRNO", "EXIT_STATUS"),
              "unexpected tag %s=%s" % (k, v))
        if k in ("READY", "RELOADING", "STOPPING"):
            eq(v, "1", k)
        if k in ("MAINPID", "MONOTONIC_USEC", "ERRNO"):
            check(v.isdigit(), "%s=%s" % (k, v))


@test
def sd_notify_lifecycle(fx):
    d = tmpdir(fx, "notify-")
    n = Notify(os.path.join(d, "notify.sock"))
    try:
        sl, port = notify_sluice(fx, n.env)
        got = n.wait("READY", timeout=10)
        # READY=1 means bound: the port accepts, and serves, right now
        s = s5_connect((PROXY_HOST, port), ORIGIN_HOST, fx.ports["http"])
        eq(http_get(s, "/hello")[2], HELLO, "a request after READY=1")
        s.close()
        check(sl.alive(), "sluice runs")
        check(all(m.get("RELOADING") is None for m in got), got)
        for m in got:
            check_message(m)
        if "MAINPID" in got[-1]:
            eq(got[-1]["MAINPID"], str(sl.pid), "MAINPID")

        # a reload: RELOADING=1, then READY=1 in a later message (systemd
        # reads READY=1 first when both come in one datagram)
        for what, text in (("a good reload", None),
                           ("a refused reload", "listen = ( oops\n")):
            mark = len(sl.log())
            if text is not None:
                sl.write_conf(text)
            sl.signal(signal.SIGHUP)
            got = n.wait("READY", timeout=10)
            for m in got:
                check_message(m)
            rel = [i for i, m in enumerate(got) if m.get("RELOADING") == "1"]
            check(rel, "%s: RELOADING=1 before READY=1: %r" % (what, got))
            check(rel[0] < len(got) - 1, "%s: RELOADING=1 and READY=1 in "
                  "separate messages: %r" % (what, got))
            mu = got[rel[0]].get("MONOTONIC_USEC")
            if mu is not None:
                now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
                check(abs(now - int(mu)) < 30e6 * SLOW, "MONOTONIC_USEC=%s "
                      "is CLOCK_MONOTONIC (now %d)" % (mu, now))
            if text is not None:
                sl.wait_log("reload refused", since=mark)
            check(sl.alive(), "alive after " + what)
        s = s5_connect((PROXY_HOST, port), ORIGIN_HOST, fx.ports["http"])
        eq(http_get(s, "/hello")[2], HELLO, "a request after the reloads")
        s.close()

        # SIGTERM: STOPPING=1, then the exit
        sl.signal(signal.SIGTERM)
        got = n.wait("STOPPING", timeout=10)
        for m in got:
            check_message(m)
        eq(sl.stop(), 0, "exit")
        extra = n.quiet()
        check(extra is True or "READY" not in extra, "READY=1 after "
              "STOPPING=1: %r" % extra)
    finally:
        n.close()

    # the abstract namespace: NOTIFY_SOCKET=@name
    name = "@sluice-it-%d-%d" % (os.getpid(), int(time.time() * 1000))
    n = Notify(name)
    try:
        sl, port = notify_sluice(fx, name)
        n.wait("READY", timeout=10)
        s = s5_connect((PROXY_HOST, port), ORIGIN_HOST, fx.ports["http"])
        eq(http_get(s, "/hello")[2], HELLO, "a request after READY=1")
        s.close()
        sl.signal(signal.SIGTERM)
        n.wait("STOPPING", timeout=10)
        eq(sl.stop(), 0, "exit")
    finally:
        n.close()

    # without NOTIFY_SOCKET nothing changes, and a socket that is not there
    # does not stop sluice
    sl = Sluice(fx, prefix=["env", "NOTIFY_SOCKET=" + os.path.join(
        d, "nobody-listens.sock")])
    s = s5_connect(sl.addr, ORIGIN_HOST, fx.ports["http"])
    eq(http_get(s, "/hello")[2], HELLO, "with a dead NOTIFY_SOCKET")
    s.close()
    sl.signal(signal.SIGHUP)
    time.sleep(0.2)
    check(sl.alive(), "alive after SIGHUP with a dead NOTIFY_SOCKET")
    eq(sl.stop(), 0, "exit")


# ----- privilege drop ---------------------------------------------------------------------------

def proc_ids(pid):
    """{"Uid": [4 ints], "Gid": [...], "Groups": [...], "CapEff": int} of
    every thread of pid: a list, one per task."""
    out = []
    for t in os.listdir("/proc/%d/task" % pid):
        d = {}
        for line in read("/proc/%d/task/%s/status" % (pid, t)).splitlines():
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                d[k] = [int(x) for x in v.split()]
            elif k == "CapEff":
                d[k] = int(v.strip(), 16)
        out.append(d)
    return out


def privileged_port():
    """A free port below 1024 on the proxy address (981 if free)."""
    for p in [981] + list(range(900, 1024)):
        s = socket.socket()
        try:
            s.bind((PROXY_HOST, p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise Failure("no free port below 1024 on " + PROXY_HOST)


@test
def privilege_drop(fx):
    if os.geteuid() != 0:
        print("      SKIP privilege_drop: needs root (to bind below 1024 "
              "and to drop)")
        return
    nobody = pwd.getpwnam("nobody")
    daemon = grp.getgrnam("daemon")
    hp = fx.ports["http"]
    # the access log on stderr: the test's directories are root's (0700)
    log = 'log = { level = "debug"; access = "-"; };\n'
    for conf, uid, gid in (
            ('user = "nobody";\n', nobody.pw_uid, nobody.pw_gid),
            ('user = "nobody"; group = "daemon";\n', nobody.pw_uid,
             daemon.gr_gid)):
        low = privileged_port()
        sl = Sluice(fx, conf=log + conf,
                    extra_listen=[("socks5", PROXY_HOST, low)])
        # bound as root, then dropped: the low port serves
        s = s5_connect((PROXY_HOST, low), "origin.test", hp)
        eq(http_get(s, "/hello")[2], HELLO, "SOCKS5 through port %d" % low)
        s.close()
        allowed = set([gid] + [g.gr_gid for g in grp.getgrall()
                               if "nobody" in g.gr_mem])
        for t in proc_ids(sl.pid):
            eq(t["Uid"], [uid] * 4, "Uid (real, effective, saved, fs) of "
               "every thread with %r" % conf)
            eq(t["Gid"], [gid] * 4, "Gid of every thread with %r" % conf)
            check(set(t["Groups"]) <= allowed, "supplementary groups %r "
                  "(root's must be gone)" % t["Groups"])
            eq(t["CapEff"], 0, "no capabilities left")
        eq(sl.stop(), 0, "exit")

    # users and groups that do not exist: a clear error, exit 1
    for conf, name in (('user = "no-such-user-xyz";\n', "no-such-user-xyz"),
                       ('user = "nobody"; group = "no-such-group-xyz";\n',
                        "no-such-group-xyz")):
        d = tmpdir(fx, "drop-")
        path = os.path.join(d, "sluice.conf")
        port = free_port()
        with open(path, "w") as f:
            f.write('listen = ( { proto = "socks5"; address = "%s"; '
                    'port = %d; } );\n%s%s' % (PROXY_HOST, port, log, conf))
        for args in (["-c", path], ["-t", "-c", path]):
            r = run(WRAPPER + [SLUICE] + args, timeout=15)
            err = r.stderr.decode(errors="replace")
            eq(r.returncode, 1, "sluice %s with %r (%s)" % (
                " ".join(args), conf, err))
            check(name in err, "the error names %s: %r" % (name, err))
        s = socket.socket()
        s.settimeout(1)
        try:
            check(s.connect_ex((PROXY_HOST, port)) != 0,
                  "nothing listens after the failed start")
        finally:
            s.close()


# ----- PAC -----------------------------------------------------------------------------------------

PAC_STUBS = r"""
var ZONE = %(zone)s;
function dnsDomainIs(host, domain) {
    return host.length >= domain.length &&
        host.substring(host.length - domain.length) == domain;
}
function shExpMatch(str, pat) {
    var re = pat.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")
        .replace(/\?/g, ".");
    return new RegExp("^" + re + "$").test(str);
}
function isPlainHostName(host) { return host.indexOf(".") < 0; }
function ip4(s) {
    var p = s.split(".");
    if (p.length != 4) return null;
    return (((+p[0]) << 24) >>> 0) + ((+p[1]) << 16) + ((+p[2]) << 8) + (+p[3]);
}
function dnsResolve(host) {
    var a = (ZONE[host] || []).filter(function (x) { return x.indexOf(":") < 0; });
    return a.length ? a[0] : null;
}
function isInNet(host, pattern, mask) {
    var a = /^[0-9.]+$/.test(host) ? host : dnsResolve(host);
    if (!a) return false;
    return ((ip4(a) & ip4(mask)) >>> 0) == ((ip4(pattern) & ip4(mask)) >>> 0);
}
var chromium = %(chromium)s;
if (chromium) {
    var dnsResolveEx = function (host) { return (ZONE[host] || []).join(";"); };
    var isInNetEx = function (ip, prefix) {
        var p = prefix.split("/");
        if (ip.indexOf(":") >= 0 || p[0].indexOf(":") >= 0)
            return false;   /* IPv6: not needed by this test */
        var bits = +p[1];
        var mask = bits == 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        return ((ip4(ip) & mask) >>> 0) == ((ip4(p[0]) & mask) >>> 0);
    };
}
"""


def pac_eval(fx, pac, urls):
    """{browser: {url: FindProxyForURL(url, host)}} with node, for a
    Chromium-like (dnsResolveEx, isInNetEx) and a Firefox-like host; None
    when node is missing."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        return None
    zone = {n: v.get("A", []) + v.get("AAAA", [])
            for n, v in ZONE["names"].items()}
    d = tmpdir(fx, "pac-")
    out = {}
    for browser in ("chromium", "firefox"):
        js = os.path.join(d, browser + ".js")
        with open(js, "w") as f:
            f.write(PAC_STUBS % {"zone": json.dumps(zone),
                                 "chromium": json.dumps(browser ==
                                                        "chromium")})
            f.write(pac)
            f.write("\nvar urls = %s, res = {};\n" % json.dumps(urls))
            f.write("urls.forEach(function (u) {\n"
                    "  var host = u.replace(/^[a-z]+:\\/\\//, '')"
                    ".replace(/\\/.*$/, '');\n"
                    "  if (host.charAt(0) == '[') host = host.substring(0,"
                    " host.indexOf(']') + 1);\n"
                    "  else host = host.replace(/:[0-9]+$/, '');\n"
                    "  res[u] = FindProxyForURL(u, host);\n"
                    "});\nconsole.log(JSON.stringify(res));\n")
        r = run([node, js], timeout=30)
        check(r.returncode == 0, "node %s: %s" % (browser, r.stderr.decode(
            errors="replace")[-2000:]))
        out[browser] = json.loads(r.stdout)
    return out


def raw_get(addr, path, host, timeout=10):
    """GET path in origin form on a fresh connection: (status, headers,
    body)."""
    s = socket.create_connection(addr, timeout=timeout * SLOW)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, host)).encode())
        data = recv_all(s, timeout)
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    check(lines[0].startswith("HTTP/1."), "a response: %r" % data[:200])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body


class DirectServer:
    """A tiny HTTP server on 127.0.0.9 (a bypass address): a page that can
    only have been fetched without the proxy."""

    BODY = b"<html><body>direct-page-marker</body></html>"

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.9", 0))
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.hits = 0
        self.stop_flag = False
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        while not self.stop_flag:
            try:
                c, _ = self.ls.accept()
            except OSError:
                continue
            try:
                c.settimeout(5)
                buf = b""
                while b"\r\n\r\n" not in buf:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                if buf:
                    self.hits += 1
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html"
                              b"\r\nContent-Length: %d\r\nConnection: close"
                              b"\r\n\r\n" % len(self.BODY) + self.BODY)
            except OSError:
                pass
            finally:
                c.close()

    def close(self):
        self.stop_flag = True
        self.t.join(2)
        self.ls.close()


def chromium(fx, pac_url, url, extra=(), timeout=60):
    """Chromium headless with a PAC URL (the flags of test_http.py's
    chromium_dump): the CompletedProcess of --dump-dom url."""
    chrome = shutil.which("chromium")
    if chrome is None:
        raise Failure("chromium is not installed (make deps-test)")
    prof = tempfile.mkdtemp(dir=fx.tmp)
    return run([chrome, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + prof, "--proxy-pac-url=" + pac_url] +
               list(extra) + ["--dump-dom", url], timeout=timeout)


@test
def pac_file_served_and_used_by_chromium(fx):
    hp = fx.ports["http"]
    admin_port = free_port()
    sl = Sluice(fx, proto="http", conf=(
        'pac = { bypass = [ "*.bypass.test", "127.0.0.9/32" ]; };\n'
        'admin = { address = "%s"; port = %d; };\n' % (PROXY_HOST,
                                                       admin_port)))
    route = "PROXY %s:%d" % sl.addr
    status, hdrs, pac = raw_get(sl.addr, "/proxy.pac", "%s:%d" % sl.addr)
    eq(status, 200, "GET /proxy.pac (%r)" % pac[:300])
    eq(hdrs.get("content-type"), "application/x-ns-proxy-autoconfig",
       "Content-Type")
    if "content-length" in hdrs:
        eq(int(hdrs["content-length"]), len(pac), "Content-Length")
    pac = pac.decode()
    for want in ("function FindProxyForURL(url, host)", route,
                 ".bypass.test", "127.0.0.9"):
        check(want in pac, "%r in the PAC file:\n%s" % (want, pac))

    # the admin listener's PAC points at the HTTP listener
    status, hdrs, apac = raw_get((PROXY_HOST, admin_port), "/proxy.pac",
                                 "%s:%d" % (PROXY_HOST, admin_port))
    eq(status, 200, "admin GET /proxy.pac (%r)" % apac[:300])
    eq(hdrs.get("content-type"), "application/x-ns-proxy-autoconfig",
       "admin Content-Type")
    apac = apac.decode()
    check(route in apac, "%r in the admin's PAC:\n%s" % (route, apac))
    check("function FindProxyForURL(url, host)" in apac, apac)

    # evaluated as a browser would (node: skipped when missing)
    cases = {
        "http://a.bypass.test/": "DIRECT",
        "http://www.bypass.test:8080/x": "DIRECT",
        "http://a.b.bypass.test./": "DIRECT",
        "http://bypass.test/": route,
        "http://xbypass.test/": route,
        "http://origin.test/": route,
        "http://origin.test:%d/headers" % hp: route,
        "http://127.0.0.9/": "DIRECT",
        "http://direct9.test/": "DIRECT",
        "http://127.0.0.3/": route,
        "https://[::1]:8443/": route,
    }
    res = pac_eval(fx, pac, sorted(cases))
    if res is None:
        print("      SKIP the JavaScript check of the PAC file: no node")
    else:
        for browser, got in res.items():
            for url, want in cases.items():
                g = got[url].split(";")[0].strip()
                eq(g, want, "%s: FindProxyForURL(%s)" % (browser, url))

    # Chromium with the PAC URL: a page by name, through sluice
    pac_url = "http://%s:%d/proxy.pac" % sl.addr
    url = "http://origin.test:%d/headers" % hp
    r = chromium(fx, pac_url, url)
    out = r.stdout.decode(errors="replace")
    check('"target": "/headers"' in out or '"target":"/headers"' in out,
          "page content from the origin (rc %d): %s %s" % (
              r.returncode, out[-500:], r.stderr[-1500:]))
    check('"1.1 sluice"' in out, "the origin saw Via: %s" % out[-800:])
    wait_for(lambda: any(a.get("url") == url and a["status"] == "200"
                         for a in sl.access()), 5,
             "chromium's request in the access log")

    # a bypass name directly, not through sluice.  (Not an address:
    # Chromium never proxies loopback addresses, PAC or not.)  Chromium
    # resolves www.bypass.test to 127.0.0.9 by a host rule; sluice would
    # resolve it to 127.0.0.3, where nothing serves that port.
    ds = DirectServer()
    try:
        durl = "http://www.bypass.test:%d/page" % ds.port
        r = chromium(fx, pac_url, durl, ["--host-resolver-rules=MAP "
                                         "www.bypass.test 127.0.0.9"])
        out = r.stdout.decode(errors="replace")
        check("direct-page-marker" in out, "the direct page (rc %d): %s %s"
              % (r.returncode, out[-500:], r.stderr[-1500:]))
        check(ds.hits >= 1, "the direct server was asked")
        time.sleep(0.3)
        check(not any("bypass.test" in a.get("target", "") for a in
                      sl.access()), "the bypass name went around sluice")
    finally:
        ds.close()
    eq(sl.stop(), 0, "exit")


if __name__ == "__main__":
    sys.exit(main())
