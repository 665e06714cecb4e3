"""relayfix: fixtures for the relay system tests (tests/system/test_relay*.py).

The remote side (mta-sink, Postfix's smtp-sink), an MTA instance set up
for relaying (short retries, transport_file), the INTERFACE.md status log
lines parsed, queue-drain waits and RFC 3464 DSN parsing.  Standard
library only; built on mtatest.py, which it never changes.
"""
import email
import email.policy
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from mtatest import SLOW, Mta, free_port, program

SENDER_DOMAIN = "sender.test"       # where DSNs go (a sink stands in for it)
DEST_DOMAIN = "dest.test"

# INTERFACE.md "Logs": QID: to=<rcpt>, relay=..., delay=S, dsn=X.Y.Z, status=C (text),
# with ", tls=VERSION/CIPHER" before status= for a delivery over TLS (mta-remote(8))
STATUS_RX = re.compile(
    r"(?m)\b(?P<prog>mta-[a-z]+)\[(?P<pid>\d+)\]: (?P<qid>[0-9A-F]{16}): "
    r"to=<(?P<rcpt>[^>]*)>, relay=(?P<relay>[^,\s]+), delay=(?P<delay>\d+(?:\.\d+)?), "
    r"dsn=(?P<dsn>[245]\.\d{1,3}\.\d{1,3}), (?:tls=(?P<tls>[^,\s]+), )?"
    r"status=(?P<status>sent|deferred|bounced|expired|deleted) \((?P<text>.*)\)\r?$")
FINAL = ("sent", "bounced", "expired", "deleted")


def wait_until(pred, timeout, what, fail=None, step=0.05):
    """Poll pred() until it returns something true; that value.  On
    timeout: fail(msg) (an Mta's, with its log) or AssertionError."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            msg = "timed out after %ss waiting for %s" % (timeout * SLOW, what)
            if fail is not None:
                fail(msg)
            raise AssertionError(msg)
        time.sleep(step)


# ---------------------------------------------------------------- sockets

def _proc_net_addr(host, port):
    """(file, "ADDR:PORT") as /proc/net/tcp{,6} spell a local address."""
    if ":" in host:
        raw = socket.inet_pton(socket.AF_INET6, host)
        words = struct.unpack("<4I", raw)       # each 32-bit word host-endian
        return "/proc/net/tcp6", "%s:%04X" % ("".join("%08X" % w for w in words), port)
    return "/proc/net/tcp", "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(host))[0],
                                           port)


def listening(host, port):
    """1 if a TCP socket listens on host:port, from /proc/net/tcp{,6},
    without connecting (a probe would count as a connection at a sink)."""
    path, want = _proc_net_addr(host, port)
    anyaddr = _proc_net_addr("::" if path.endswith("6") else "0.0.0.0", port)[1]
    with open(path) as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and parts[1] in (want, anyaddr):
                return True
    return False


def loopback_addr(port=25, avoid=()):
    """A random 127.x.y.z (not 127.0.0.1) on which port is free, so that
    tests running at once (or other engineers' tests) do not collide."""
    rnd = random.Random()
    for _ in range(200):
        a = "127.%d.%d.%d" % (rnd.randint(1, 254), rnd.randint(0, 255), rnd.randint(1, 254))
        if a in avoid:
            continue
        s = socket.socket()
        try:
            s.bind((a, port))
            return a
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free 127.x.y.z address for port %d" % port)


def can_bind_port25():
    """(ok, reason): binding 127.x.y.z:25 works (root, loopback /8)."""
    if os.geteuid() != 0:
        return False, "not root: sinks cannot listen on port 25"
    try:
        loopback_addr()
    except AssertionError as e:
        return False, str(e)
    return True, ""


# ---------------------------------------------------------------- sinks

class Sink:
    """mta-sink on one or more host:port (default a free 127.0.0.1 port),
    --json always; store=True keeps every message (DIR/<n>.eml).  stop()
    returns the JSON counts; restart() keeps the addresses and the stored
    messages of earlier runs."""

    def __init__(self, testcase, *args, listen=None, store=False):
        self.listen = list(listen or ["127.0.0.1:%d" % free_port()])
        host, port = self.listen[0].rsplit(":", 1)
        self.host, self.port = host.strip("[]"), int(port)
        self.dir = tempfile.mkdtemp(prefix="mta-relay-sink-")
        self.store_dir = os.path.join(self.dir, "store") if store else None
        self.runs = 0
        self.proc = None
        self.history = []               # counts of every finished run
        testcase.addCleanup(self.cleanup)
        self.start(*args)

    @property
    def hop(self):
        """The sink as a bracketed next hop, "[host]:port"."""
        return "[%s]:%d" % (self.host, self.port)

    def start(self, *args):
        self.runs += 1
        argv = [program("mta-sink"), "--json"]
        for l in self.listen:
            argv += ["-l", l]
        if self.store_dir is not None:
            d = os.path.join(self.store_dir, "run%d" % self.runs)
            os.makedirs(d)
            argv += ["--store", d]
        self.args = list(args)
        self.errpath = os.path.join(self.dir, "stderr%d" % self.runs)
        # A stopped sink's listening socket can outlive the process for a
        # moment (its io_uring is torn down asynchronously): wait for it to
        # go, and retry a bind that still finds the address in use.
        wait_until(lambda: not any(listening(*self._hp(l)) for l in self.listen), 10,
                   "the old listener on %s to go away" % self.listen)
        deadline = time.monotonic() + 10 * SLOW
        while True:
            with open(self.errpath, "wb") as err:
                self.proc = subprocess.Popen(argv + self.args, stdout=subprocess.PIPE,
                                             stderr=err, stdin=subprocess.DEVNULL)
            if self._wait_listening(deadline):
                return
            if "Address already in use" not in self.stderr():
                raise AssertionError("mta-sink %s exited %s: %s"
                                     % (self.listen, self.proc.returncode, self.stderr()))
            self.proc.stdout.close()
            time.sleep(0.1)

    def _wait_listening(self, deadline):
        """True once every address listens; False if the sink exited."""
        while True:
            if self.proc.poll() is not None:
                if time.monotonic() > deadline:
                    raise AssertionError("mta-sink %s exited %s: %s" % (
                        self.listen, self.proc.returncode, self.stderr()))
                return False
            # It logs this after binding every address (a failed bind exits).
            if "listening on" in self.stderr():
                return True
            if time.monotonic() > deadline:
                raise AssertionError("mta-sink does not listen on %s" % self.listen)
            time.sleep(0.02)

    @staticmethod
    def _hp(l):
        h, p = l.rsplit(":", 1)
        return h.strip("[]"), int(p)

    def stderr(self):
        try:
            with open(self.errpath, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM; the counts it prints as JSON (also kept in history)."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10 * SLOW)
        if self.proc.returncode != 0:
            raise AssertionError("mta-sink exited %s: %s" % (self.proc.returncode,
                                                             self.stderr()))
        counts = json.loads(out)
        self.history.append(counts)
        return counts

    def restart(self, *args):
        """Stop (the counts of the run that ended) and start with args."""
        counts = self.stop()
        self.start(*args)
        return counts

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if os.environ.get("MTA_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def messages(self):
        """Every stored message (bytes), in arrival order over all runs."""
        if self.store_dir is None:
            raise AssertionError("sink started without store=True")
        out = []
        for r in range(1, self.runs + 1):
            files = glob.glob(os.path.join(self.store_dir, "run%d" % r, "*.eml"))
            for p in sorted(files, key=lambda p: int(os.path.basename(p)[:-4])):
                with open(p, "rb") as f:
                    out.append(f.read())
        return out

    def wait_messages(self, n, timeout=20, fail=None):
        """Wait until at least n messages are stored; the list."""
        return wait_until(lambda: (lambda v: v if len(v) >= n else None)(self.messages()),
                          timeout, "%d messages at the sink %s (have %d)"
                          % (n, self.listen, len(self.messages())), fail)


class PostfixSink:
    """Postfix's smtp-sink on a free 127.0.0.1 port, every transaction
    dumped to a file (envelope as X-*-Args: lines, then the message)."""

    def __init__(self, testcase):
        if not shutil.which("smtp-sink"):
            testcase.skipTest("smtp-sink (Debian postfix) not installed")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mta-relay-psink-")
        argv = ["smtp-sink", "-d", os.path.join(self.dir, "m.")]
        if os.geteuid() == 0:
            try:
                import pwd
                pw = pwd.getpwnam("postfix")
            except KeyError:
                testcase.skipTest("smtp-sink as root needs the user postfix")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            argv += ["-u", "postfix"]
        argv += ["127.0.0.1:%d" % self.port, "100"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        testcase.addCleanup(self.cleanup)
        wait_until(lambda: listening("127.0.0.1", self.port) or self.proc.poll() is not None,
                   10, "smtp-sink to listen")
        if self.proc.poll() is not None:
            raise AssertionError("smtp-sink exited %s" % self.proc.returncode)

    @property
    def hop(self):
        return "[127.0.0.1]:%d" % self.port

    def transactions(self):
        """[(envelope dict: mail, rcpts, helo), message bytes with CRLF)]."""
        out = []
        for p in sorted(glob.glob(os.path.join(self.dir, "m.*")), key=os.path.getmtime):
            with open(p, "rb") as f:
                raw = f.read()
            env = {"rcpts": []}
            lines = raw.split(b"\n")
            i = 0
            while i < len(lines) and lines[i].startswith(b"X-"):
                k, _, v = lines[i].partition(b": ")
                if k == b"X-Rcpt-Args":
                    env["rcpts"].append(v.decode())
                elif k == b"X-Mail-Args":
                    env["mail"] = v.decode()
                elif k == b"X-Helo-Args":
                    env["helo"] = v.decode()
                i += 1
            body = b"\n".join(lines[i:])
            if body.endswith(b"\n\n"):          # smtp-sink adds an empty line
                body = body[:-1]
            out.append((env, body.replace(b"\n", b"\r\n")))
        return out

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if os.environ.get("MTA_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- the MTA

RELAY_DEFAULTS = {
    "smtpd_workers": 1,
    "remote_workers": 1,
    "retry_min": "1s",
    "retry_max": "2s",
    "queue_checkpoint_ms": 50,       # finished files are unlinked soon
    "smtp_connect_timeout": "2s",
}


def relay_mta(testcase, transport=None, start=True, **conf):
    """An Mta set up for relaying: short retries, one worker of each kind,
    transport: {domain: next hop} written to a transport_file."""
    full = dict(RELAY_DEFAULTS)
    full.update(conf)
    m = Mta(testcase, start=False, **full)
    if transport:
        path = os.path.join(m.top, "transport")
        with open(path, "w") as f:
            for dom, hop in transport.items():
                f.write("%s %s\n" % (dom, hop))
        os.chmod(path, 0o644)
        m.conf["transport_file"] = path
        m.write_conf()
    if start:
        m.start()
        wait_until(lambda: m.pids("mta-qmgr") and m.pids("mta-remote"), 10,
                   "mta-qmgr and mta-remote to run", m.fail)
    return m


def make_message(tag, i, size=0, sender="from@" + SENDER_DOMAIN,
                 to="to@" + DEST_DOMAIN):
    """A message with a unique Message-ID <tag.i@sender.test>, a line that
    needs dot-stuffing and optional padding to about size bytes."""
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: relay test %s %d\r\n"
            "Message-ID: <%s.%d@%s>\r\n\r\n" % (sender, to, tag, i, tag, i, SENDER_DOMAIN))
    body = "line one of %s %d\r\n.a line that starts with a dot\r\n..two dots\r\n" % (tag, i)
    pad = ""
    n = 0
    while len(head) + len(body) + len(pad) < size:
        pad += "%05d %s\r\n" % (n, "x" * 70)
        n += 1
    return (head + body + pad + "last line\r\n").encode()


def message_id(raw):
    m = re.search(rb"(?mi)^Message-ID:\s*(<[^>\r\n]*>)", raw)
    return m.group(1).decode() if m else None


def send_messages(m, msgs, sender="from@" + SENDER_DOMAIN, rcpts=("to@" + DEST_DOMAIN,)):
    """Send each message over one SMTP session; the list of queue IDs.
    rcpts: a list, or a function of the message index giving one."""
    qids = []
    with m.smtp() as c:
        c.ehlo()
        for i, data in enumerate(msgs):
            rc = rcpts(i) if callable(rcpts) else list(rcpts)
            qids.append(c.send_message(sender, rc, data))
        try:
            c.cmd("QUIT")
        except (EOFError, OSError):
            pass
    return qids


def strip_received(raw, host=None):
    """(the leading Received: headers, the rest); with host, asserts at
    least one leading Received: header names "by host"."""
    hdrs = []
    rest = raw
    while rest[:9].lower() == b"received:":
        end = rest.index(b"\r\n") + 2
        while rest[end:end + 1] in (b" ", b"\t"):
            end = rest.index(b"\r\n", end) + 2
        hdrs.append(rest[:end])
        rest = rest[end:]
    by = re.compile(rb"\sby " + re.escape((host or "").encode()) + rb"[\s;]")
    if host is not None and not any(by.search(h) for h in hdrs):
        raise AssertionError("no leading 'Received: ... by %s' header in %r" % (host, raw[:400]))
    return hdrs, rest


# ---------------------------------------------------------------- log lines

def status_lines(m, qid=None, status=None, rcpt=None):
    """The INTERFACE.md status lines of the log, as match dicts."""
    out = []
    for mt in STATUS_RX.finditer(m.log()):
        d = mt.groupdict()
        if qid is not None and d["qid"] != qid:
            continue
        if status is not None and d["status"] != status:
            continue
        if rcpt is not None and d["rcpt"] != rcpt:
            continue
        out.append(d)
    return out


def wait_status(m, qid, status, rcpt=None, timeout=20, count=1):
    """Wait for count status=STATUS lines of qid (and rcpt); the lines."""
    return wait_until(lambda: (lambda v: v if len(v) >= count else None)(
        status_lines(m, qid, status, rcpt)), timeout,
        "%d status=%s line(s) for %s %s" % (count, status, qid, rcpt or ""), m.fail)


def wait_final(m, qids, timeout=30):
    """Wait until every qid has a final status line for every recipient
    line seen; {qid: [final lines]}."""
    qids = set(qids)

    def done():
        fin = {}
        for d in status_lines(m):
            if d["status"] in FINAL and d["qid"] in qids:
                fin.setdefault(d["qid"], []).append(d)
        return fin if len(fin) == len(qids) else None
    return wait_until(done, timeout, "a final status line for each of %d messages"
                      % len(qids), m.fail)


def spool_files(m, dirs=("incoming", "deferred", "hold")):
    """Every file under the given spool directories (any name)."""
    out = []
    for d in dirs:
        for root, _, files in os.walk(m.spool(d)):
            out.extend(os.path.join(root, f) for f in files)
    return out


def wait_queue_empty(m, timeout=20):
    """incoming/, deferred/ and hold/ hold no file at all."""
    wait_until(lambda: not spool_files(m), timeout,
               "an empty queue (left: %s)" % spool_files(m), m.fail)


def ctl_ok(m, *args):
    r = m.ctl(*args)
    out = r.stdout.decode(errors="replace")
    if r.returncode != 0:
        m.fail("mtactl %s exited %d: %s%s" % (" ".join(args), r.returncode, out,
                                              r.stderr.decode(errors="replace")))
    return out


def stats(m):
    """mtactl stats as {key: int}."""
    out = {}
    for line in ctl_ok(m, "stats").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


# ---------------------------------------------------------------- DSNs

def parse_dsn(raw):
    """An RFC 3464 DSN: (the message, the per-message fields, the list of
    per-recipient field blocks, the returned original part).  Asserts the
    multipart/report structure."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if msg.get_content_type() != "multipart/report":
        raise AssertionError("DSN is %s, not multipart/report:\n%r"
                             % (msg.get_content_type(), raw[:800]))
    if (msg.get_param("report-type") or "").lower() != "delivery-status":
        raise AssertionError("report-type is %r" % msg.get_param("report-type"))
    parts = msg.get_payload()
    if not isinstance(parts, list) or len(parts) < 2:
        raise AssertionError("a multipart/report needs >= 2 parts: %r" % raw[:800])
    status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    if len(status) != 1:
        raise AssertionError("want one message/delivery-status part, got %s"
                             % [p.get_content_type() for p in parts])
    blocks = status[0].get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        raise AssertionError("delivery-status needs a per-message block and at least "
                             "one per-recipient block: %r" % blocks)
    orig = [p for p in parts if p.get_content_type() in ("text/rfc822-headers",
                                                          "message/rfc822")]
    return msg, blocks[0], blocks[1:], (orig[0] if orig else None)


def original_headers(part):
    """The header text of a returned original (text/rfc822-headers or
    message/rfc822)."""
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) else inner
        return "".join("%s: %s\n" % (k, v) for k, v in inner.items())
    return part.get_payload(decode=True).decode("utf-8", "replace")


class GreetServer:
    """A TCP server on host:port that answers every connection with one
    fixed greeting line (e.g. "421 4.3.2 busy") and closes it: a remote
    whose 4xx greeting must make the client try the next MX."""

    def __init__(self, testcase, host, port, greeting):
        import threading
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.greeting = greeting.encode() + b"\r\n"
        self.connections = 0
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        testcase.addCleanup(self.close)

    def _run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                c.sendall(self.greeting)
                c.settimeout(1)
                c.recv(1024)            # QUIT, perhaps
            except OSError:
                pass
            finally:
                c.close()

    def close(self):
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


# ---------------------------------------------------------------- DNS

def dns_server(testcase, records):
    """dnsfix.DnsServer(records) (dnsmasq on 127.0.0.1), stopped at the
    end of the test; skips the test when dnsmasq is missing."""
    import dnsfix
    if not os.access(dnsfix.DNSMASQ, os.X_OK):
        testcase.skipTest("%s is missing" % dnsfix.DNSMASQ)
    d = dnsfix.DnsServer(records)
    testcase.addCleanup(d.stop)
    return d
