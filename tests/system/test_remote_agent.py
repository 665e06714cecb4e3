"""mta-remote alone, without the real queue manager: this test plays qmgr
(listens on $state_dir/run/agent.sock, reads HELLO, sends JOB records with
a queue file descriptor attached, reads RCPT/DONE), writes queue files in
the format of docs/queue-format.md itself, and points the agent at
mta-sink, at a tiny DNS server (c-ares really resolves MX/A records), and
at scripted Python SMTP servers: hostile ones (garbage, over-long lines,
slowloris, endless continuations), 4xx/5xx ones, a STARTTLS one and one
that drops cached connections.  Timeouts are shortened with the
smtp_*_timeout keys so each test takes a few seconds."""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from mtatest import SLOW, free_port, program
from tlssink import make_leaf

# ---------------------------------------------------------------- records

IPC_AG_HELLO, IPC_AG_JOB, IPC_AG_RCPT, IPC_AG_DONE = 11, 12, 13, 14
A_QID, A_TEXT, A_KIND, A_SLOTS = 8, 9, 12, 13
A_NEXTHOP, A_RCPT_IDX, A_CLASS, A_DSN, A_RELAY = 14, 15, 16, 17, 18
ATTR_NAMES = {A_QID: "QID", A_TEXT: "TEXT", A_KIND: "KIND", A_SLOTS: "SLOTS",
              A_RCPT_IDX: "RCPT_IDX", A_CLASS: "CLASS", A_DSN: "DSN",
              A_RELAY: "RELAY"}


def record(rtype, rid, attrs):
    payload = b"".join(struct.pack("<HI", tag, len(v)) + v for tag, v in attrs)
    return struct.pack("<HHIQ", rtype, 0, len(payload), rid) + payload


def parse_attrs(payload):
    out, off = {}, 0
    while off < len(payload):
        tag, n = struct.unpack_from("<HI", payload, off)
        off += 6
        out[ATTR_NAMES.get(tag, tag)] = payload[off:off + n].decode("utf-8", "replace")
        off += n
    return out


# ---------------------------------------------------------------- queue files

def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _esc(v):
    return b"".join(b"%%%02X" % c if c < 0x20 or c in (0x25, 0x7F) else bytes([c])
                    for c in v)


_seq = [0]


def new_qid():
    _seq[0] += 1
    arrival = int(time.time() * 1e6) - 1500000          # 1.5 s ago
    return "%016X" % ((arrival << 12) | (_seq[0] & 0xFFF)), arrival


def queue_file(sender, rcpts, content, body="7BIT", smtputf8=0, status=None):
    """(qid, bytes) of a queue file; status: list of 'P'/'D' per rcpt."""
    qid, arrival = new_qid()
    status = status or ["P"] * len(rcpts)
    head = (b"MTAQ 1\nid " + qid.encode() + b"\narrival %d\n" % arrival
            + b"origin smtp\nclient 192.0.2.1\nhelo client.test\nuid -\n"
            + b"sender <" + _esc(sender.encode()) + b">\nbody " + body.encode()
            + b"\nsmtputf8 %d\n" % smtputf8)
    real = ph = head
    for st, r in zip(status, rcpts):
        field = b"%s 0000000000 %08X" % (st.encode(), crc32c(st.encode() + b" 0000000000"))
        tail = b" <" + _esc(r.encode()) + b">\n"
        real += b"rcpt " + field + tail
        ph += b"rcpt P 0000000000 C7EF507F" + tail
    tail = b"content %d\n" % len(content) + content
    crc = crc32c(ph + tail)
    return qid, real + tail + b"end %08X\n" % crc


MESSAGE = (b"Received: from client.test by test.example\r\n"
           b"From: a@example.test\r\nSubject: hello\r\nMessage-ID: <%s@test>\r\n\r\n"
           b"first line\r\n.a line with a leading dot\r\n..two dots\r\n.\r\nlast\r\n")


def message(tag):
    return MESSAGE.replace(b"%s", tag.encode())


# ---------------------------------------------------------------- the fake qmgr

class FakeQmgr:
    """The queue manager's side of agent.sock."""

    def __init__(self, state_dir):
        run = os.path.join(state_dir, "run")
        os.makedirs(run, exist_ok=True)
        self.path = os.path.join(run, "agent.sock")
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(self.path)
        self.lsock.listen(8)
        self.conn = None
        self.buf = b""
        self.results = {}          # job id -> {idx: attrs}
        self.done = set()
        self.tmp = tempfile.mkdtemp(prefix="mta-remote-q-")

    def close(self):
        for s in (self.conn, self.lsock):
            if s is not None:
                s.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def accept(self, timeout=10):
        self.lsock.settimeout(timeout * SLOW)
        if self.conn is not None:
            self.conn.close()
        self.conn, _ = self.lsock.accept()
        self.conn.settimeout(timeout * SLOW)
        self.buf = b""
        rtype, _, attrs = self.read_record()
        assert rtype == IPC_AG_HELLO, rtype
        return attrs

    def read_record(self):
        while True:
            if len(self.buf) >= 16:
                rtype, flags, n, rid = struct.unpack_from("<HHIQ", self.buf)
                assert flags == 0
                if len(self.buf) >= 16 + n:
                    payload = self.buf[16:16 + n]
                    self.buf = self.buf[16 + n:]
                    return rtype, rid, parse_attrs(payload)
            d = self.conn.recv(65536)
            if not d:
                raise EOFError("agent closed the connection")
            self.buf += d

    def open_file(self, data):
        """A read-only descriptor of a queue file holding data."""
        path = os.path.join(self.tmp, "q%d" % len(os.listdir(self.tmp)))
        with open(path, "wb") as f:
            f.write(data)
        return os.open(path, os.O_RDONLY)

    def send_job(self, jid, qid, nexthop, idxs, data=None, fd=None, extra=()):
        attrs = [(A_QID, qid.encode()), (A_NEXTHOP, nexthop.encode())]
        attrs += [(A_RCPT_IDX, str(i).encode()) for i in idxs] + list(extra)
        rec = record(IPC_AG_JOB, jid, attrs)
        if data is not None:
            fd = self.open_file(data)
        if fd is None:
            self.conn.sendall(rec)
            return
        socket.send_fds(self.conn, [rec], [fd])
        os.close(fd)

    def wait(self, jid, timeout=15):
        """Read until DONE for jid: {idx: attrs}."""
        deadline = time.monotonic() + timeout * SLOW
        while jid not in self.done:
            if time.monotonic() > deadline:
                raise AssertionError("no DONE for job %d" % jid)
            rtype, rid, attrs = self.read_record()
            if rtype == IPC_AG_RCPT:
                self.results.setdefault(rid, {})[int(attrs["RCPT_IDX"])] = attrs
            elif rtype == IPC_AG_DONE:
                self.done.add(rid)
            else:
                raise AssertionError("unexpected record %d" % rtype)
        return self.results.get(jid, {})


# ---------------------------------------------------------------- the agent

class Agent:
    def __init__(self, tc, dns_port=None, **conf):
        self.top = tempfile.mkdtemp(prefix="mta-remote-")
        tc.addCleanup(shutil.rmtree, self.top, True)
        self.state_dir = os.path.join(self.top, "state")
        os.makedirs(self.state_dir)
        self.qmgr = FakeQmgr(self.state_dir)
        tc.addCleanup(self.qmgr.close)
        self.conf_path = os.path.join(self.top, "mta.conf")
        self.log_path = os.path.join(self.top, "remote.log")
        c = {"hostname": "test.example", "state_dir": self.state_dir,
             "dns_servers": "127.0.0.1:%d" % (dns_port or free_port()),
             "smtp_connect_timeout": "2s", "smtp_command_timeout": "3s",
             "smtp_data_timeout": "3s", "smtp_dot_timeout": "3s",
             "smtp_connection_idle": "10s"}
        c.update({k: str(v) for k, v in conf.items()})
        with open(self.conf_path, "w") as f:
            f.writelines("%s = %s\n" % kv for kv in c.items())
        env = dict(os.environ, MTA_DEBUG="1")
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.pop("MTA_FDS", None)
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([program("mta-remote"), "-c", self.conf_path],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        tc.addCleanup(self.check_sanitizers, tc)
        tc.addCleanup(self.kill)
        self.hello = self.qmgr.accept()

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def check_sanitizers(self, tc):
        log = self.log()
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            tc.assertNotIn(bad, log, log)

    def stop(self, timeout=10):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout * SLOW)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()


STATUS_RE = re.compile(
    r"mta-remote\[\d+\]: ([0-9A-F]{16}): to=<([^>]*)>, relay=(\S+), "
    r"delay=(\d+\.\d\d), dsn=(\d\.\d{1,3}\.\d{1,3}), (?:tls=\S+, )?"
    r"status=(sent|deferred|bounced) \((.*)\)$")


def status_lines(log):
    return [m.groups() for m in map(STATUS_RE.search, log.splitlines()) if m]


# ---------------------------------------------------------------- servers

class Sink:
    """mta-sink on a free port (as the remote MX)."""

    def __init__(self, tc, *args, host="127.0.0.1", port=None):
        self.port = port or free_port()
        self.store = tempfile.mkdtemp(prefix="mta-remote-sink-")
        tc.addCleanup(shutil.rmtree, self.store, True)
        self.proc = subprocess.Popen(
            [program("mta-sink"), "-l", "%s:%d" % (host, self.port), "--json",
             "--store", self.store] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        tc.addCleanup(self.kill)
        deadline = time.monotonic() + 10 * SLOW
        while True:
            try:
                socket.create_connection((host, self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10 * SLOW)
        counts = json.loads(out)
        counts["connections"] -= 1          # the readiness probe
        return counts

    def stored(self):
        out = []
        names = [n for n in os.listdir(self.store) if n.endswith(".eml")]
        for name in sorted(names, key=lambda n: int(n.split(".")[0])):
            with open(os.path.join(self.store, name), "rb") as f:
                out.append(f.read())
        return out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Script:
    """A TCP server whose every connection runs handler(conn, n, server) in
    a thread; keeps what the handlers record."""

    def __init__(self, tc, handler, host="127.0.0.1", port=0, backlog=16):
        self.handler = handler
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.n = 0
        self.got = []              # (connection number, what) events
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        tc.addCleanup(self.close)

    def _run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.n += 1
            threading.Thread(target=self._one, args=(conn, self.n), daemon=True).start()

    def _one(self, conn, n):
        conn.settimeout(30)
        try:
            self.handler(conn, n, self)
        except (OSError, EOFError, ValueError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self):
        self.stopping = True
        self.sock.close()


class Lines:
    """Line reader over a socket (plain or TLS)."""

    def __init__(self, conn):
        self.conn, self.buf = conn, b""

    def line(self):
        while b"\n" not in self.buf:
            d = self.conn.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def data(self):
        lines = []
        while True:
            line = self.line()
            if line == b".":
                return b"".join(x + b"\r\n" for x in lines)
            lines.append(line[1:] if line.startswith(b".") else line)


def smtp_server(replies=None, ext=(b"PIPELINING", b"8BITMIME", b"SIZE 10000000"),
                greeting=b"220 script.test ESMTP\r\n", tls_ctx=None, record_cmds=True,
                close_after_data=False):
    """A handler for Script: a small SMTP server.  replies(cmd, n, state)
    may return bytes to send instead of the default reply (or b"" for no
    reply and closing)."""
    def handler(conn, n, server):
        conn.sendall(greeting)
        rd = Lines(conn)
        state = {"tls": False, "n": n}
        while True:
            cmd = rd.line()
            if record_cmds:
                server.got.append((n, cmd))
            up = cmd.upper()
            custom = replies(cmd, n, state) if replies else None
            if custom is not None:
                if custom == b"":
                    return
                conn.sendall(custom)
                if up == b"DATA" and custom.startswith(b"354"):
                    server.got.append((n, b"MESSAGE " + rd.data()))
                    final = replies(b"<DOT>", n, state) or b"250 2.0.0 ok\r\n"
                    conn.sendall(final)
                continue
            if up.startswith(b"EHLO"):
                e = list(ext) + ([b"STARTTLS"] if tls_ctx and not state["tls"] else [])
                conn.sendall(b"250-script.test\r\n" + b"".join(
                    (b"250 " if i == len(e) - 1 else b"250-") + x + b"\r\n"
                    for i, x in enumerate(e)))
            elif up.startswith(b"HELO"):
                conn.sendall(b"250 script.test\r\n")
            elif up == b"STARTTLS" and tls_ctx:
                conn.sendall(b"220 2.0.0 go ahead\r\n")
                conn = tls_ctx.wrap_socket(conn, server_side=True)
                rd = Lines(conn)
                state["tls"] = True
                server.got.append((n, b"TLS " + conn.version().encode()))
            elif up == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                server.got.append((n, b"MESSAGE " + rd.data()))
                conn.sendall(b"250 2.0.0 Ok: stored\r\n")
                if close_after_data:
                    return
            elif up == b"QUIT":
                conn.sendall(b"221 2.0.0 bye\r\n")
                return
            else:
                conn.sendall(b"250 2.0.0 ok\r\n")
    return handler


class FakeDns(threading.Thread):
    """UDP DNS server for MX/A/AAAA: zone = {name: {"MX": [(pref, host)],
    "A": [ip], "AAAA": [ip]}}; unknown names are NXDOMAIN."""
    TYPES = {1: "A", 15: "MX", 28: "AAAA"}

    def __init__(self, tc, zone):
        super().__init__(daemon=True)
        self.zone = {k.lower(): v for k, v in zone.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = []
        tc.addCleanup(self.sock.close)
        self.start()

    @staticmethod
    def _dname(n):
        return b"".join(bytes([len(p)]) + p.encode() for p in n.rstrip(".").split(".") if p) + b"\0"

    def run(self):
        while True:
            try:
                q, addr = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                self.sock.sendto(self.answer(q), addr)
            except (IndexError, struct.error, OSError):
                pass

    def answer(self, q):
        qid, flags = struct.unpack_from(">HH", q)
        off, labels = 12, []
        while q[off]:
            labels.append(q[off + 1:off + 1 + q[off]].decode())
            off += 1 + q[off]
        qtype = struct.unpack_from(">H", q, off + 1)[0]
        question = q[12:off + 5]
        name = ".".join(labels).lower()
        self.queries.append((name, self.TYPES.get(qtype, qtype)))
        rrs = []
        entry = self.zone.get(name)
        for v in (entry or {}).get(self.TYPES.get(qtype), []):
            if qtype == 15:
                rdata = struct.pack(">H", v[0]) + self._dname(v[1])
            elif qtype == 1:
                rdata = socket.inet_pton(socket.AF_INET, v)
            else:
                rdata = socket.inet_pton(socket.AF_INET6, v)
            rrs.append(b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 60, len(rdata)) + rdata)
        rcode = 3 if entry is None else 0
        hdr = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, len(rrs), 0, 0)
        return hdr + question + b"".join(rrs)


def self_signed(tc):
    d = tempfile.mkdtemp(prefix="mta-remote-tls-")
    tc.addCleanup(shutil.rmtree, d, True)
    cert, key = make_leaf(d, "script.test")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


# ---------------------------------------------------------------- tests

class RemoteAgentTest(unittest.TestCase):

    def job(self, agent, jid, nexthop, rcpts, content=None, sender="alice@example.test",
            idxs=None, **kw):
        qid, data = queue_file(sender, rcpts, content or message("m%d" % jid), **kw)
        agent.qmgr.send_job(jid, qid, nexthop, range(len(rcpts)) if idxs is None else idxs,
                            data=data)
        return qid

    def assertClasses(self, res, want, agent):
        got = {i: r["CLASS"] for i, r in res.items()}
        self.assertEqual(got, want, agent.log())

    def test_hello_delivery_reuse_and_log_format(self):
        sink = Sink(self)
        a = Agent(self)
        self.assertEqual(a.hello["KIND"], "remote")
        self.assertGreater(int(a.hello["SLOTS"]), 0)
        hop = "addr:127.0.0.1:%d" % sink.port
        qids = []
        for jid in (1, 2, 3):
            qids.append(self.job(a, jid, hop, ["bob%d@example.net" % jid, "carol@example.net"]))
            res = a.qmgr.wait(jid)
            self.assertClasses(res, {0: "sent", 1: "sent"}, a)
            for r in res.values():
                self.assertEqual(r["DSN"], "2.0.0")
                self.assertEqual(r["RELAY"], "127.0.0.1[127.0.0.1]:%d" % sink.port)
                self.assertTrue(r["TEXT"].startswith("250 "), r)
        self.assertEqual(a.stop(), 0, a.log())
        counts = sink.stop()
        self.assertEqual(counts["messages"], 3)
        self.assertEqual(counts["recipients"], 6)
        self.assertEqual(counts["connections"], 1, "one connection reused: %s" % a.log())
        stored = sink.stored()
        self.assertEqual(len(stored), 3)
        self.assertIn(message("m1"), stored[0])   # dot-stuffing undone by the sink
        lines = status_lines(a.log())
        self.assertEqual(len(lines), 6, a.log())
        for qid, rcpt, relay, delay, dsn, cls, text in lines:
            self.assertIn(qid, qids)
            self.assertEqual((relay, dsn, cls), ("127.0.0.1[127.0.0.1]:%d" % sink.port,
                                                 "2.0.0", "sent"))
            self.assertGreaterEqual(float(delay), 1.0)    # arrival was 1.5 s ago
            self.assertTrue(text.startswith("250 "))

    def test_rcpt_deferrals_and_rejections_from_the_sink(self):
        sink = Sink(self, "--seed", "5", "--defer-pct", "30", "--reject-pct", "30")
        a = Agent(self)
        rcpts = ["r%d@example.net" % i for i in range(20)]
        self.job(a, 1, "addr:127.0.0.1:%d" % sink.port, rcpts)
        res = a.qmgr.wait(1)
        self.assertEqual(a.stop(), 0)
        counts = sink.stop()
        by = {}
        for r in res.values():
            by.setdefault(r["CLASS"], []).append(r)
        self.assertEqual(len(res), 20)
        self.assertEqual(len(by.get("deferred", [])), counts["rcpt_deferred"], a.log())
        self.assertEqual(len(by.get("bounced", [])), counts["rcpt_rejected"], a.log())
        self.assertEqual(len(by.get("sent", [])), counts["recipients"], a.log())
        self.assertGreater(counts["rcpt_deferred"], 0)
        self.assertGreater(counts["rcpt_rejected"], 0)
        self.assertEqual(counts["messages"], 1)
        for r in by["deferred"]:
            self.assertEqual(r["DSN"], "4.3.0")
            self.assertTrue(r["TEXT"].startswith("451 4.3.0"), r)
        for r in by["bounced"]:
            self.assertEqual(r["DSN"], "5.1.1")
            self.assertTrue(r["TEXT"].startswith("550 5.1.1"), r)
        self.assertEqual(len(status_lines(a.log())), 20)

    def _mapping(self, pipelining):
        """MAIL 4xx/5xx, RCPT 4xx/5xx, DATA-final 5xx against a script."""
        def replies(cmd, n, state):
            up = cmd.upper()
            if up.startswith(b"MAIL FROM:<GREY@"):
                return b"451 4.7.1 greylisted, come back later\r\n"
            if up.startswith(b"MAIL FROM:<BAD@"):
                return b"553-5.1.8 sender\r\n553 5.1.8 refused\r\n"
            if up.startswith(b"MAIL FROM:<SPAM@"):
                state["spam"] = True
            if up.startswith(b"MAIL"):
                state.setdefault("spam", False)
            if up.startswith(b"RCPT TO:<NO@"):
                return b"550 5.1.1 no such user\r\n"
            if up.startswith(b"RCPT TO:<FULL@"):
                return b"452 4.2.2 mailbox full\r\n"
            if up == b"<DOT>" and state.get("spam"):
                state["spam"] = False
                return b"554 5.7.1 looks like spam\r\n"
            if up == b"DATA":
                return b"354 go\r\n"
            return None
        ext = (b"PIPELINING", b"8BITMIME") if pipelining else (b"8BITMIME",)
        srv = Script(self, smtp_server(replies, ext=ext))
        a = Agent(self)
        hop = "addr:127.0.0.1:%d" % srv.port
        self.job(a, 1, hop, ["x@e.net", "y@e.net"], sender="grey@example.test")
        self.assertClasses(a.qmgr.wait(1), {0: "deferred", 1: "deferred"}, a)
        self.assertEqual(a.qmgr.results[1][0]["DSN"], "4.7.1")
        self.assertEqual(a.qmgr.results[1][0]["TEXT"],
                         "451 4.7.1 greylisted, come back later")
        self.job(a, 2, hop, ["x@e.net"], sender="bad@example.test")
        self.assertClasses(a.qmgr.wait(2), {0: "bounced"}, a)
        self.assertEqual(a.qmgr.results[2][0]["DSN"], "5.1.8")
        self.assertEqual(a.qmgr.results[2][0]["TEXT"], "553 5.1.8 sender 5.1.8 refused")
        self.job(a, 3, hop, ["no@e.net", "full@e.net", "ok@e.net"], sender="spam@example.test")
        res = a.qmgr.wait(3)
        self.assertClasses(res, {0: "bounced", 1: "deferred", 2: "bounced"}, a)
        self.assertEqual([res[i]["DSN"] for i in range(3)], ["5.1.1", "4.2.2", "5.7.1"])
        self.job(a, 4, hop, ["no@e.net", "ok@e.net", "ok2@e.net"])
        res = a.qmgr.wait(4)
        self.assertClasses(res, {0: "bounced", 1: "sent", 2: "sent"}, a)
        self.job(a, 5, hop, ["no@e.net", "no@e.net"])
        self.assertClasses(a.qmgr.wait(5), {0: "bounced", 1: "bounced"}, a)
        self.assertEqual(a.stop(), 0, a.log())
        self.assertEqual(srv.n, 1, "one connection for all: %s" % a.log())
        cmds = [c for _, c in srv.got]
        self.assertEqual(sum(1 for c in cmds if c.startswith(b"MESSAGE R")), 2, cmds)
        self.assertEqual(cmds.count(b"RSET"), 4, cmds)
        self.assertEqual(cmds.count(b"QUIT"), 1, cmds)
        return cmds

    def test_result_mapping_pipelined(self):
        cmds = self._mapping(True)
        # DATA always goes out pipelined; when it got 354 with nothing
        # to send (MAIL failed, every RCPT refused) the data ends at once.
        self.assertEqual(cmds.count(b"DATA"), 5, cmds)
        self.assertEqual(cmds.count(b"MESSAGE "), 3, cmds)

    def test_result_mapping_one_command_at_a_time(self):
        cmds = self._mapping(False)
        # No DATA after a failed MAIL or when every RCPT was refused.
        self.assertEqual(cmds.count(b"DATA"), 2, cmds)

    def test_mx_order_and_dead_targets_fall_through(self):
        port = free_port()
        refused = Script(self, smtp_server(greeting=b"421 4.3.2 busy\r\n"),
                         host="127.0.0.3", port=port)
        sink = Sink(self, port=port)
        dns = FakeDns(self, {
            "relay.test": {"MX": [(30, "mx3.relay.test"), (10, "mx1.relay.test"),
                                  (20, "mx2.relay.test")]},
            "mx1.relay.test": {"A": ["127.0.0.2"]},
            "mx2.relay.test": {"A": ["127.0.0.3"]},
            "mx3.relay.test": {"A": ["127.0.0.1"]},
            "nullmx.test": {"MX": [(0, ".")]},
        })
        a = Agent(self, dns_port=dns.port)
        qid = self.job(a, 1, "host:relay.test:%d" % port, ["bob@example.net"])
        res = a.qmgr.wait(1)
        self.assertClasses(res, {0: "sent"}, a)
        self.assertEqual(res[0]["RELAY"], "mx3.relay.test[127.0.0.1]:%d" % port)
        log = a.log()
        i1 = log.index("%s: connect to mx1.relay.test[127.0.0.2]:%d: Connection refused"
                       % (qid, port))
        i2 = log.index("%s: host mx2.relay.test[127.0.0.3]:%d refused to talk to me: "
                       "421 4.3.2 busy" % (qid, port))
        self.assertLess(i1, i2)
        self.assertEqual(refused.n, 1)
        self.job(a, 2, "mx:nullmx.test", ["bob@nullmx.test"])
        res = a.qmgr.wait(2)
        self.assertClasses(res, {0: "bounced"}, a)
        self.assertEqual(res[0]["DSN"], "5.1.10")
        self.job(a, 3, "mx:nxdomain.test", ["bob@nxdomain.test"])
        res = a.qmgr.wait(3)
        self.assertClasses(res, {0: "bounced"}, a)
        self.assertEqual(res[0]["DSN"], "5.1.2")
        self.job(a, 4, "host:nxdomain.test:%d" % port, ["bob@example.net"])
        res = a.qmgr.wait(4)
        self.assertClasses(res, {0: "deferred"}, a)    # a relayhost typo defers
        self.assertEqual(a.stop(), 0, a.log())
        self.assertEqual(sink.stop()["messages"], 1)

    def test_no_target_answers(self):
        # A listener whose accept queue is full drops SYNs: connect hangs.
        full = socket.socket()
        self.addCleanup(full.close)
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        fillers = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(full.getsockname())
            fillers.append(c)
        self.addCleanup(lambda: [c.close() for c in fillers])
        a = Agent(self, smtp_connect_timeout="1s")
        dead = free_port()
        self.job(a, 1, "addr:127.0.0.1:%d" % dead, ["bob@example.net"])
        res = a.qmgr.wait(1)
        self.assertClasses(res, {0: "deferred"}, a)
        self.assertEqual((res[0]["DSN"], res[0]["RELAY"]), ("4.4.1", "none"))
        self.assertEqual(res[0]["TEXT"], "connect to 127.0.0.1[127.0.0.1]:%d: "
                         "Connection refused" % dead)
        t0 = time.monotonic()
        self.job(a, 2, "addr:127.0.0.1:%d" % full.getsockname()[1], ["bob@example.net"])
        res = a.qmgr.wait(2)
        self.assertClasses(res, {0: "deferred"}, a)
        self.assertIn("Connection timed out", res[0]["TEXT"])
        self.assertLess(time.monotonic() - t0, 4 * SLOW)
        self.assertEqual(a.stop(), 0, a.log())

    def test_hostile_servers_defer_within_the_timeouts(self):
        def garbage(conn, n, srv):
            conn.sendall(b"hello there, I am no SMTP server\r\n")
            time.sleep(5)

        def endless(conn, n, srv):
            conn.sendall(b"220 ok\r\n")
            Lines(conn).line()
            conn.sendall(b"250-x\r\n" * 20000 + b"250 ok\r\n")
            time.sleep(5)

        def slowloris(conn, n, srv):
            for ch in b"220 " + b"x" * 1000:
                conn.sendall(bytes([ch]))
                time.sleep(0.2)

        def longline(cmd, n, state):
            if cmd.upper().startswith(b"RCPT"):
                return b"250 " + b"x" * 5000 + b"\r\n"
            return None

        def mismatch(cmd, n, state):
            if cmd.upper().startswith(b"MAIL"):
                return b"250-ok\r\n550 no\r\n"
            return None

        def silent_dot(cmd, n, state):
            if cmd.upper() == b"DATA":
                return b"354 go\r\n"
            if cmd == b"<DOT>":
                time.sleep(10)
            return None

        def data250(cmd, n, state):
            return b"250 2.0.0 sure\r\n" if cmd.upper() == b"DATA" else None

        def rcpt421(cmd, n, state):
            if cmd.upper().startswith(b"RCPT"):
                return b"421 4.3.2 shutting down\r\n"
            return None

        def bare_lf(conn, n, srv):
            conn.sendall(b"220 lf\n")
            rd = Lines(conn)
            while True:
                cmd = rd.line().upper()
                if cmd.startswith(b"EHLO"):
                    conn.sendall(b"250-lf\n250 PIPELINING\n")
                elif cmd == b"DATA":
                    conn.sendall(b"354 go\n")
                    rd.data()
                    conn.sendall(b"250 2.0.0 fine\n")
                elif cmd == b"QUIT":
                    conn.sendall(b"221 bye\n")
                    return
                else:
                    conn.sendall(b"250 ok\n")

        servers = {
            "garbage": Script(self, garbage), "endless": Script(self, endless),
            "slowloris": Script(self, slowloris),
            "longline": Script(self, smtp_server(longline)),
            "mismatch": Script(self, smtp_server(mismatch)),
            "silent_dot": Script(self, smtp_server(silent_dot)),
            "bare_lf": Script(self, bare_lf),
            "data250": Script(self, smtp_server(data250)),
            "rcpt421": Script(self, smtp_server(rcpt421)),
        }
        a = Agent(self, smtp_command_timeout="2s", smtp_dot_timeout="2s")
        names = sorted(servers)
        t0 = time.monotonic()
        for jid, name in enumerate(names, 1):
            self.job(a, jid, "addr:127.0.0.1:%d" % servers[name].port, ["u@example.net"])
        got = {name: a.qmgr.wait(jid)[0] for jid, name in enumerate(names, 1)}
        self.assertLess(time.monotonic() - t0, 6 * SLOW, a.log())
        want = {
            "garbage": ("deferred", "4.4.1", "malformed reply line"),
            "endless": ("deferred", "4.4.1", "too many reply lines"),
            "slowloris": ("deferred", "4.4.1", "timed out while receiving the initial"),
            "longline": ("deferred", "4.5.0", "reply line too long"),
            "mismatch": ("deferred", "4.5.0", "reply code changed"),
            "silent_dot": ("deferred", "4.4.2", "timed out while sending end of data"),
            "bare_lf": ("sent", "2.0.0", "250 2.0.0 fine"),
            "data250": ("deferred", "4.5.0", "unexpected reply to DATA: 250 2.0.0 sure"),
            "rcpt421": ("deferred", "4.3.2", "421 4.3.2 shutting down"),
        }
        for name, (cls, dsn, text) in want.items():
            r = got[name]
            self.assertEqual((r["CLASS"], r["DSN"]), (cls, dsn), "%s: %r" % (name, r))
            self.assertIn(text, r["TEXT"], name)
        self.assertIsNone(a.proc.poll())
        self.assertEqual(a.stop(), 0, a.log())
    def test_size_and_smtputf8_refused_locally(self):
        sink = Sink(self, "--size", "100")
        srv = Script(self, smtp_server())          # no SMTPUTF8
        a = Agent(self)
        self.job(a, 1, "addr:127.0.0.1:%d" % sink.port, ["bob@example.net"])
        res = a.qmgr.wait(1)
        self.assertClasses(res, {0: "bounced"}, a)
        self.assertEqual(res[0]["DSN"], "5.3.4")
        self.assertIn("exceeds size limit 100 of server", res[0]["TEXT"])
        hop = "addr:127.0.0.1:%d" % srv.port
        self.job(a, 2, hop, ["b\u00f6b@example.net", "bob@example.net"], smtputf8=1)
        res = a.qmgr.wait(2)
        self.assertClasses(res, {0: "bounced", 1: "bounced"}, a)
        self.assertEqual(res[0]["DSN"], "5.6.7")
        # Requested, but nothing needs it: sent without the parameter.
        self.job(a, 3, hop, ["bob@example.net"], smtputf8=1, body="8BITMIME")
        self.assertClasses(a.qmgr.wait(3), {0: "sent"}, a)
        self.assertEqual(a.stop(), 0, a.log())
        self.assertEqual(sink.stop()["messages"], 0)
        self.assertIn((1, b"MAIL FROM:<alice@example.test> SIZE=%d BODY=8BITMIME"
                       % len(message("m3"))), srv.got)

    def test_cached_connection_dropped_is_retried_on_a_new_one(self):
        def replies(cmd, n, state):
            if n == 1 and cmd.upper() == b"RSET":
                return b"421 4.4.2 idle too long, closing\r\n"
            return None
        srv = Script(self, smtp_server(replies))
        a = Agent(self)
        hop = "addr:127.0.0.1:%d" % srv.port
        self.job(a, 1, hop, ["bob@example.net"])
        self.assertClasses(a.qmgr.wait(1), {0: "sent"}, a)
        self.job(a, 2, hop, ["bob@example.net"])
        self.assertClasses(a.qmgr.wait(2), {0: "sent"}, a)
        self.assertEqual(srv.n, 2)
        self.assertIn("retrying on a new connection", a.log())
        # Only one status line per recipient: the retry is transparent.
        self.assertEqual(len(status_lines(a.log())), 2, a.log())
        # A server that drops an idle connection silently: the agent sees
        # it go, and the next job opens a new one.
        srv2 = Script(self, smtp_server(close_after_data=True))
        hop2 = "addr:127.0.0.1:%d" % srv2.port
        for jid in (3, 4):
            self.job(a, jid, hop2, ["bob@example.net"])
            self.assertClasses(a.qmgr.wait(jid), {0: "sent"}, a)
            time.sleep(0.3)
        self.assertEqual(srv2.n, 2)
        self.assertEqual(a.log().count("retrying on a new connection"), 1)
        self.assertEqual(a.stop(), 0, a.log())

    def test_reuse_limit_and_idle_quit(self):
        sink = Sink(self)
        a = Agent(self, smtp_connection_reuse_limit=2, smtp_connection_idle="1s")
        hop = "addr:127.0.0.1:%d" % sink.port
        for jid in range(1, 6):
            self.job(a, jid, hop, ["bob@example.net"])
            self.assertClasses(a.qmgr.wait(jid), {0: "sent"}, a)
        want = "closing connection to 127.0.0.1[127.0.0.1]:%d after 1 message" % sink.port
        deadline = time.monotonic() + 3 * SLOW     # the idle one ends with QUIT
        while want not in a.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn(want, a.log())
        self.assertEqual(a.stop(), 0, a.log())
        counts = sink.stop()
        self.assertEqual((counts["messages"], counts["connections"]), (5, 3))

    def test_malformed_jobs_are_answered_deferred(self):
        sink = Sink(self)
        a = Agent(self)
        q = a.qmgr
        nfds = len(os.listdir("/proc/%d/fd" % a.proc.pid))
        hop = "addr:127.0.0.1:%d" % sink.port
        qid, data = queue_file("a@example.test", ["x@e.net", "y@e.net"], message("x"),
                               status=["P", "D"])
        q.send_job(1, qid, hop, [0])                     # no descriptor
        q.send_job(2, qid, hop, [0, 7, 1, 0], data=data)  # range, done, twice
        q.send_job(3, "0" * 16, hop, [0], data=data)      # another message's file
        q.send_job(4, qid, "local", [0], data=data)
        q.send_job(5, qid, hop, [0], data=b"MTAQ 1\ngarbage")
        q.conn.sendall(record(IPC_AG_JOB, 6, [(A_QID, qid.encode()),
                                              (A_RCPT_IDX, b"01"), (A_RCPT_IDX, b"0")]))
        q.conn.sendall(record(IPC_AG_DONE, 7, []))       # not for an agent
        for jid, idxs in ((1, [0]), (2, [0, 1, 7]), (3, [0]), (4, [0]), (5, [0]), (6, [0])):
            res = q.wait(jid)
            self.assertEqual(sorted(res), idxs, (jid, a.log()))
            for r in res.values():
                self.assertEqual((r["CLASS"], r["DSN"], r["RELAY"]),
                                 ("deferred", "4.3.0", "none"))
                self.assertTrue(r["TEXT"].startswith("malformed delivery job: "), r)
        # A good job whose record arrives in pieces (the descriptor with
        # the first five bytes), glued to a record without one before it.
        qid2, data2 = queue_file("a@example.test", ["bob@example.net"], message("y"))
        rec = record(IPC_AG_JOB, 8, [(A_QID, qid2.encode()), (A_NEXTHOP, hop.encode()),
                                     (A_RCPT_IDX, b"0")])
        fd = q.open_file(data2)
        q.conn.sendall(record(IPC_AG_JOB, 9, [(A_QID, qid.encode()),
                                              (A_NEXTHOP, hop.encode()), (A_RCPT_IDX, b"0")]))
        socket.send_fds(q.conn, [rec[:5]], [fd])
        os.close(fd)
        time.sleep(0.1)
        q.conn.sendall(rec[5:])
        self.assertClasses(q.wait(8), {0: "sent"}, a)
        self.assertEqual(q.wait(9)[0]["TEXT"],
                         "malformed delivery job: no queue file descriptor")
        # Extra descriptors with one record are closed, and so is every
        # descriptor of a finished job: one socket more than at the start
        # (the cached connection to the sink).
        qid3, data3 = queue_file("a@example.test", ["bob@example.net"], message("z"))
        fds = [q.open_file(data3) for _ in range(3)]
        socket.send_fds(q.conn, [record(IPC_AG_JOB, 10, [
            (A_QID, qid3.encode()), (A_NEXTHOP, hop.encode()), (A_RCPT_IDX, b"0")])], fds)
        for fd in fds:
            os.close(fd)
        self.assertClasses(q.wait(10), {0: "sent"}, a)
        self.assertEqual(len(os.listdir("/proc/%d/fd" % a.proc.pid)), nfds + 1)
        log = a.log()
        self.assertIn("malformed job 1 from the queue manager: no queue file descriptor", log)
        self.assertIn("record of type 14; ignored", log)
        self.assertEqual(a.stop(), 0, log)
        self.assertEqual(sink.stop()["messages"], 2)

    def test_garbage_from_qmgr_breaks_the_link(self):
        a = Agent(self)
        a.qmgr.conn.sendall(b"\xff" * 16)
        self.assertEqual(a.qmgr.accept(timeout=5)["KIND"], "remote")
        rec = record(IPC_AG_JOB, 1, [(A_QID, b"x")])
        a.qmgr.conn.sendall(rec[:4] + struct.pack("<I", 1 << 30) + rec[8:])
        self.assertEqual(a.qmgr.accept(timeout=5)["KIND"], "remote")
        self.assertIn("malformed record", a.log())
        self.assertEqual(a.stop(), 0, a.log())

    def test_qmgr_link_breaks_and_comes_back(self):
        def mute(conn, n, srv):
            time.sleep(10)
        srv = Script(self, mute)
        sink = Sink(self)
        a = Agent(self)
        self.job(a, 1, "addr:127.0.0.1:%d" % srv.port, ["bob@example.net"])
        time.sleep(0.3)
        a.qmgr.conn.close()                 # qmgr goes away, a job in flight
        a.qmgr.conn = None
        t0 = time.monotonic()
        hello = a.qmgr.accept(timeout=5)
        self.assertLess(time.monotonic() - t0, 3 * SLOW)
        self.assertEqual(hello["KIND"], "remote")
        self.job(a, 2, "addr:127.0.0.1:%d" % sink.port, ["bob@example.net"])
        self.assertClasses(a.qmgr.wait(2), {0: "sent"}, a)
        self.assertNotIn(1, a.qmgr.done)
        self.assertIn("connection to the queue manager lost", a.log())
        self.assertEqual(a.stop(), 0, a.log())

    def test_sigterm_answers_jobs_in_flight_and_exits(self):
        def mute(conn, n, srv):
            time.sleep(20)
        srv = Script(self, mute)
        a = Agent(self, smtp_command_timeout="60s")
        self.job(a, 1, "addr:127.0.0.1:%d" % srv.port, ["bob@example.net", "c@example.net"])
        time.sleep(0.3)
        t0 = time.monotonic()
        a.proc.send_signal(signal.SIGTERM)
        res = a.qmgr.wait(1)
        self.assertClasses(res, {0: "deferred", 1: "deferred"}, a)
        self.assertEqual(res[0]["TEXT"], "delivery agent stopped")
        self.assertEqual(a.proc.wait(timeout=10 * SLOW), 0)
        self.assertLess(time.monotonic() - t0, 5 * SLOW)

    def test_starttls_and_fallback_to_plaintext(self):
        ctx = self_signed(self)
        srv = Script(self, smtp_server(tls_ctx=ctx))
        a = Agent(self)
        self.job(a, 1, "addr:127.0.0.1:%d" % srv.port, ["bob@example.net"])
        self.assertClasses(a.qmgr.wait(1), {0: "sent"}, a)
        self.job(a, 2, "addr:127.0.0.1:%d" % srv.port, ["bob@example.net"])
        self.assertClasses(a.qmgr.wait(2), {0: "sent"}, a)
        cmds = [c for _, c in srv.got]
        self.assertIn(b"TLS TLSv1.3", cmds)
        self.assertEqual(cmds.count(b"STARTTLS"), 1, cmds)
        self.assertEqual(sum(1 for c in cmds if c.startswith(b"EHLO")), 2, cmds)
        self.assertEqual(sum(1 for c in cmds if c.startswith(b"MESSAGE R")), 2)
        self.assertRegex(a.log(), r"connected to 127.0.0.1\[127.0.0.1\]:\d+, "
                         r"pipelining, TLS TLSv1.3 \S+")

        def broken_tls(conn, n, srv2):
            rd = Lines(conn)
            conn.sendall(b"220 broken ESMTP\r\n")
            while True:
                cmd = rd.line().upper()
                srv2.got.append((n, cmd))
                if cmd.startswith(b"EHLO"):
                    conn.sendall(b"250-broken\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
                elif cmd == b"STARTTLS":
                    conn.sendall(b"220 go ahead\r\n")
                    rd.conn.recv(4096)                 # the ClientHello
                    if n == 1:
                        conn.sendall(b"this is no TLS at all\r\n" * 4)
                    return                             # n == 2: hang up
                elif cmd == b"DATA":
                    conn.sendall(b"354 go\r\n")
                    rd.data()
                    conn.sendall(b"250 2.0.0 plain\r\n")
                elif cmd == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")
        srv2 = Script(self, broken_tls)
        qid = self.job(a, 3, "addr:127.0.0.1:%d" % srv2.port, ["bob@example.net"])
        res = a.qmgr.wait(3)
        self.assertClasses(res, {0: "sent"}, a)
        self.assertEqual(res[0]["TEXT"], "250 2.0.0 plain")
        self.assertEqual(srv2.n, 2)
        self.assertNotIn((2, b"STARTTLS"), srv2.got)
        self.assertRegex(a.log(), qid + r": TLS handshake failed.* with 127.0.0.1\[127.0.0.1\]"
                         r":\d+; retrying without STARTTLS")
        # A server that hangs up in the handshake: plaintext again, too.
        srv2.n = 1      # (another spelling of the next hop: no cached connection)
        qid = self.job(a, 4, "addr:[127.0.0.1]:%d" % srv2.port, ["bob@example.net"])
        self.assertClasses(a.qmgr.wait(4), {0: "sent"}, a)
        self.assertIn(qid + ": lost connection with 127.0.0.1[127.0.0.1]:%d during the TLS "
                      "handshake; retrying without STARTTLS" % srv2.port, a.log())
        self.assertEqual(a.stop(), 0, a.log())

    def test_large_message_streams_with_dots_intact(self):
        sink = Sink(self)
        a = Agent(self)
        body = b"".join(b".%d line starting with a dot\r\n%s\r\n" % (i, b"x" * (i % 900))
                        for i in range(1500))
        content = b"Subject: big\r\nMessage-ID: <big@test>\r\n\r\n" + body
        self.job(a, 1, "addr:127.0.0.1:%d" % sink.port, ["bob@example.net"], content=content)
        self.assertClasses(a.qmgr.wait(1), {0: "sent"}, a)
        self.assertEqual(a.stop(), 0, a.log())
        self.assertEqual(sink.stop()["messages"], 1)
        self.assertGreater(len(content), 600000)
        self.assertEqual(sink.stored()[0], content)

    def test_ipv6_and_many_jobs_at_once(self):
        try:
            sink6 = Sink(self, host="::1")
        except OSError:
            self.skipTest("no IPv6 loopback")
        sink = Sink(self)
        a = Agent(self)
        self.job(a, 1, "addr:[::1]:%d" % sink6.port, ["bob@example.net"])
        res = a.qmgr.wait(1)
        self.assertClasses(res, {0: "sent"}, a)
        self.assertEqual(res[0]["RELAY"], "::1[::1]:%d" % sink6.port)
        n = 200
        for jid in range(2, n + 2):
            self.job(a, jid, "addr:127.0.0.1:%d" % sink.port,
                     ["r%d@example.net" % jid, "s%d@example.net" % jid])
        for jid in range(2, n + 2):
            self.assertClasses(a.qmgr.wait(jid), {0: "sent", 1: "sent"}, a)
        self.assertEqual(a.stop(), 0, a.log())
        counts = sink.stop()
        self.assertEqual((counts["messages"], counts["recipients"]), (n, 2 * n))
        self.assertEqual(counts["duplicate_ids"], 0)
        self.assertLessEqual(counts["connections"], n)
        self.assertEqual(sink6.stop()["messages"], 1)


if __name__ == "__main__":
    unittest.main()
