"""dnsfix: a real DNS server (dnsmasq) on 127.0.0.1 and a free port for
system tests, with MX/A/AAAA/null-MX records given as Python data.

    from dnsfix import DnsServer, NULL_MX
    with DnsServer({
        "example.test":     {"mx": [(10, "mx1.example.test"), (20, "mx2.example.test")]},
        "mx1.example.test": {"a": ["127.0.0.2"]},
        "mx2.example.test": {"a": ["127.0.0.3"], "aaaa": ["::1"]},
        "plain.test":       {"a": ["127.0.0.4"]},          # no MX: implicit MX
        "nullmx.test":      {"mx": NULL_MX},               # RFC 7505
        "broken.test":      {"tempfail": "refused"},       # REFUSED at once
        "slow.test":        {"tempfail": "timeout"},       # never answered
    }) as dns:
        conf["dns_servers"] = dns.servers                  # "127.0.0.1:PORT"

Names under the zones of the records (by default the last label of every
name: "test" above) that have no record answer NXDOMAIN; names outside
them are REFUSED (a temporary failure for the resolver).  A "tempfail"
name and everything under it fails that way even inside a zone.
dnsmasq runs under a keeper shell that kills it when this process's end
of a pipe closes, so it dies with the test even on SIGKILL; stop() and
an atexit hook also stop it.  Run this file to self-test.
"""
import atexit
import os
import random
import socket
import struct
import subprocess
import time

DNSMASQ = "/usr/sbin/dnsmasq"
NULL_MX = "."
_live = []

# Starts "$@" (dnsmasq), prints its pid, kills it when stdin reaches EOF,
# exits with its status when it exits.
_KEEPER = ('exec 3<&0; "$@" </dev/null & p=$!; echo $p; '
           '{ read x <&3; kill $p 2>/dev/null; } & r=$!; '
           'wait $p; s=$?; kill $r 2>/dev/null; exit $s')

TYPES = {"A": 1, "MX": 15, "TXT": 16, "AAAA": 28}


def _free_port():
    """A loopback port free for TCP and UDP (dnsmasq binds both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free loopback port")


def _name(n):
    n = n.rstrip(".").lower()
    if not n or any(c in n for c in ",/#= \t\n"):
        raise ValueError("bad DNS name %r" % n)
    return n


def dnsmasq_args(records, zones=None):
    """The dnsmasq options that serve records (see the module doc)."""
    args = []
    zones = set(zones) if zones is not None else {_name(n).rsplit(".", 1)[-1] for n in records}
    for z in sorted(zones):
        args.append("--local=/%s/" % _name(z))
    for name, rr in records.items():
        name = _name(name)
        unknown = set(rr) - {"mx", "a", "aaaa", "tempfail"}
        if unknown:
            raise ValueError("%s: unknown record kinds %s" % (name, sorted(unknown)))
        mx = rr.get("mx")
        if mx == NULL_MX:
            args.append("--dns-rr=%s,15,000000" % name)   # preference 0, root
        elif mx:
            for pref, host in mx:
                if not 0 <= int(pref) <= 65535:
                    raise ValueError("%s: MX preference %r" % (name, pref))
                args.append("--mx-host=%s,%s,%d" % (name, _name(host), int(pref)))
        for fam, key in ((socket.AF_INET, "a"), (socket.AF_INET6, "aaaa")):
            for addr in rr.get(key, ()):
                socket.inet_pton(fam, addr)               # validate
                args.append("--host-record=%s,%s" % (name, addr))
        tf = rr.get("tempfail")
        if tf == "refused":
            args.append("--server=/%s/#" % name)          # no upstream
        elif tf == "timeout":
            args.append("--server=/%s/127.0.0.1#1" % name)  # nobody there
        elif tf is not None:
            raise ValueError("%s: tempfail is 'refused' or 'timeout'" % name)
    return args


class DnsServer:
    """dnsmasq serving records on 127.0.0.1:port; started at construction."""

    def __init__(self, records, zones=None, dnsmasq=DNSMASQ):
        if not os.access(dnsmasq, os.X_OK):
            raise RuntimeError("%s is missing: system tests with DNS need dnsmasq "
                               "(apt-get install dnsmasq-base; scripts/deps does)" % dnsmasq)
        self.records = records
        self.args = dnsmasq_args(records, zones)
        self.dnsmasq = dnsmasq
        self.port = None
        self.pid = None                    # dnsmasq's own pid
        self._keeper = None
        self._start()

    @property
    def servers(self):
        """The dns_servers config value."""
        return "127.0.0.1:%d" % self.port

    def _spawn(self, port, quiet):
        cmd = [self.dnsmasq, "--keep-in-foreground", "--port=%d" % port,
               "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
               "--no-hosts", "--conf-file=/dev/null", "--pid-file="] + self.args
        return subprocess.Popen(["/bin/sh", "-c", _KEEPER, "sh"] + cmd,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL if quiet else None)

    def _start(self):
        for attempt in range(5):
            port = _free_port()
            k = self._spawn(port, quiet=attempt < 4)
            pid = int(k.stdout.readline() or 0)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and k.poll() is None:
                try:
                    query(port, "ready.probe.invalid", "A", timeout=0.1)
                except OSError:
                    continue
                self.port, self.pid, self._keeper = port, pid, k
                _live.append(self)
                return
            k.stdin.close()                # port taken after all: retry
            k.wait()
            k.stdout.close()
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        """Stop dnsmasq (idempotent)."""
        k, self._keeper = self._keeper, None
        if k is None:
            return
        k.stdin.close()                    # the keeper kills dnsmasq
        try:
            k.wait(timeout=5)
        except subprocess.TimeoutExpired:
            k.kill()
            k.wait()
            try:
                os.kill(self.pid, 9)
            except OSError:
                pass
        k.stdout.close()
        if self in _live:
            _live.remove(self)

    def query(self, name, qtype="A", timeout=2.0):
        """(rcode, [answers]) from this server; see query()."""
        return query(self.port, name, qtype, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


@atexit.register
def _stop_all():
    for s in list(_live):
        s.stop()


# ------------------------------------------------------- a tiny DNS client

def _read_name(msg, off):
    labels, jumped, end = [], False, off
    for _ in range(128):
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off, jumped = ((n & 0x3F) << 8) | msg[off + 1], True
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else off + 1)
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    raise ValueError("name loop")


def query(port, name, qtype="A", timeout=2.0):
    """Ask 127.0.0.1:port over UDP.  Returns (rcode, answers) where answers
    are address strings for A/AAAA, (pref, host) for MX ("" is the root),
    raw bytes otherwise.  OSError (socket.timeout) if nobody answers."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode("ascii")
    q += b"\0" + struct.pack(">HH", TYPES[qtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        while True:
            msg = s.recv(65535)
            if len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid:
                break
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = _read_name(msg, off)[1] + 4
    out = []
    for _ in range(an):
        _, off = _read_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if rtype == 1 and TYPES[qtype] == 1:
            out.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28 and TYPES[qtype] == 28:
            out.append(socket.inet_ntop(socket.AF_INET6, rdata))
        elif rtype == 15 and TYPES[qtype] == 15:
            out.append((struct.unpack(">H", rdata[:2])[0], _read_name(msg, off + 2)[0]))
        elif rtype == TYPES[qtype]:
            out.append(rdata)
        off += rdlen
    return flags & 0xF, out


# ------------------------------------------------------------ self-test

def _selftest():
    recs = {
        "example.test": {"mx": [(20, "mx2.example.test"), (10, "mx1.example.test")]},
        "mx1.example.test": {"a": ["127.0.0.2"]},
        "mx2.example.test": {"a": ["127.0.0.3"], "aaaa": ["::1"]},
        "plain.test": {"a": ["127.0.0.4", "127.0.0.5"]},
        "nullmx.test": {"mx": NULL_MX},
        "broken.test": {"tempfail": "refused"},
    }
    with DnsServer(recs) as dns:
        assert dns.servers == "127.0.0.1:%d" % dns.port
        rc, mx = dns.query("example.test", "MX")
        assert rc == 0 and sorted(mx) == [(10, "mx1.example.test"), (20, "mx2.example.test")], mx
        assert dns.query("mx1.example.test", "A") == (0, ["127.0.0.2"])
        assert dns.query("mx2.example.test", "AAAA") == (0, ["::1"])
        assert dns.query("mx1.example.test", "AAAA") == (0, [])          # NODATA
        assert dns.query("plain.test", "MX") == (0, [])                  # no MX
        assert sorted(dns.query("plain.test", "A")[1]) == ["127.0.0.4", "127.0.0.5"]
        assert dns.query("nullmx.test", "MX") == (0, [(0, "")])          # null MX
        assert dns.query("nothing.test", "MX")[0] == 3                   # NXDOMAIN
        assert dns.query("x.broken.test", "A")[0] == 5                   # REFUSED
        assert dns.query("elsewhere.example", "MX")[0] == 5              # outside
        pid = dns.pid
        assert os.path.exists("/proc/%d" % pid)
    time.sleep(0.1)
    assert not _running(pid), "dnsmasq survived stop()"
    # A test process killed with SIGKILL takes its dnsmasq with it.
    code = ("import os, sys; sys.path.insert(0, %r); import dnsfix; "
            "d = dnsfix.DnsServer({'a.test': {'a': ['127.0.0.9']}}); "
            "print(d.pid, flush=True); os.kill(os.getpid(), 9)"
            % os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(["python3", "-c", code], stdout=subprocess.PIPE, check=False).stdout
    pid = int(out.split()[0])
    for _ in range(50):
        if not _running(pid):
            break
        time.sleep(0.05)
    assert not _running(pid), "dnsmasq %d outlived a killed test" % pid
    print("dnsfix self-test: 1 passed, 0 failed")


def _running(pid):
    """True if pid is alive and not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    _selftest()
