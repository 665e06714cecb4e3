"""The queue manager (mta-qmgr) against a fake delivery agent.

mta-qwriter and mta-qmgr run by hand next to each other (no master, so no
real agent competes for the jobs: each binds its own sockets in run/, the
unprivileged fallback).  A fake agent written here connects to
run/agent.sock, says HELLO, takes JOBs with their descriptors
(socket.recv_fds), reads the queue file through the descriptor and
answers per recipient as the test decides.  Messages are submitted with
the writer protocol directly; the control socket run/qmgr.sock is driven
with IPC records.  Covered: sent -> file removed; deferred -> deferred/
with the next attempt as mtime, retried; bounced -> a DSN from <> queued
to the sender; null sender: no DSN; expiry; an agent killed mid-job ->
its jobs deferred and delivered later; hostile agents dropped; slow start
and round robin as seen by the agent; transport_file (also handed over as
a descriptor) and relayhost routing; the active set bound; a finished file
kept until the writer's watermark passes it; restarts; delay warnings;
hold/release/delete/flush/stats/lasterror.  WriterNotices drives the
writer's side of the subscription (CKPT, NEW, a replaced subscriber,
foreign uids); WithMaster checks the real tree, where mta-master starts
mta-qmgr itself.
"""
import fcntl
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import mtatest
from mtatest import SLOW, MtaTestCase, parse_queue_file, program

# lib/ipc.h
HDR = struct.Struct("<HHIQ")
QW_BEGIN, QW_DATA, QW_COMMIT, QW_ABORT, QW_QUEUED, QW_TEMPFAIL, QW_REJECT = range(1, 8)
QM_SUBSCRIBE, QM_NEW, QM_CKPT = 8, 9, 10
AG_HELLO, AG_JOB, AG_RCPT, AG_DONE = 11, 12, 13, 14
CTL_REQ, CTL_REPLY = 15, 16
A_SENDER, A_RCPT, A_CLIENT, A_HELO, A_BODY, A_SMTPUTF8, A_ORIGIN, A_QID, A_TEXT = range(1, 10)
A_UID, A_SIZE, A_KIND, A_SLOTS, A_NEXTHOP, A_RCPT_IDX, A_CLASS, A_DSN, A_RELAY = range(10, 19)
A_CMD, A_ARG, A_STATUS = 19, 20, 21


def record(rtype, rid=0, attrs=(), flags=0):
    payload = b"".join(struct.pack("<HI", t, len(v)) + v for t, v in
                       ((t, v.encode() if isinstance(v, str) else v) for t, v in attrs))
    return HDR.pack(rtype, flags, len(payload), rid) + payload


def parse_attrs(payload):
    out, pos = [], 0
    while pos < len(payload):
        tag, n = struct.unpack_from("<HI", payload, pos)
        out.append((tag, payload[pos + 6:pos + 6 + n]))
        pos += 6 + n
    return out


class RecordReader:
    """Records from a stream socket (with the fds that came along)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.fds = []

    def next(self, timeout=None):
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= HDR.size:
                rtype, flags, n, rid = HDR.unpack_from(self.buf)
                if len(self.buf) >= HDR.size + n:
                    payload = self.buf[HDR.size:HDR.size + n]
                    self.buf = self.buf[HDR.size + n:]
                    return rtype, rid, parse_attrs(payload)
            data, fds, _, _ = socket.recv_fds(self.sock, 65536, 16)
            if not data:
                for fd in fds:
                    os.close(fd)
                raise EOFError("peer closed")
            self.buf += data
            self.fds.extend(fds)


def sent(_addr):
    return ("sent", "2.0.0", "mx.test[127.0.0.1]:25", "250 ok")


class FakeAgent:
    """A delivery agent: HELLO, then JOBs answered by policy(addr) ->
    (class, dsn, relay, text), or held unanswered when policy returns
    None.  Every job is recorded in self.jobs."""

    def __init__(self, rig, policy=sent, slots=100, kind="remote", hello=True):
        self.rig = rig
        rig.agents.append(self)
        self.policy = policy
        self.jobs = []                   # dicts: id, qid, nexthop, rcpts, t
        self.held = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(rig.path("run", "agent.sock"))
        self.reader = RecordReader(self.sock)
        if hello:
            self.sock.sendall(record(AG_HELLO, 0, [(A_KIND, kind), (A_SLOTS, str(slots))]))
        self.error = None
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            while True:
                rtype, rid, attrs = self.reader.next()
                if rtype != AG_JOB:
                    raise AssertionError("agent got record type %d" % rtype)
                self.job(rid, attrs)
        except (EOFError, OSError):
            pass
        except Exception as e:           # noqa: BLE001 - reported by check()
            self.error = e
        finally:
            self.closed.set()

    def job(self, rid, attrs):
        fd = self.reader.fds.pop(0)
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            raw = b""
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                raw += chunk
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        finally:
            os.close(fd)
        env = parse_queue_file(raw, self.rig.fail)
        qid = [v.decode() for t, v in attrs if t == A_QID][0]
        hop = [v.decode() for t, v in attrs if t == A_NEXTHOP][0]
        idxs = [int(v) for t, v in attrs if t == A_RCPT_IDX]
        job = dict(id=rid, qid=qid, nexthop=hop, idx=idxs, rcpts=[env["rcpts"][i] for i in idxs],
                   t=time.monotonic(), rdonly=(flags & os.O_ACCMODE) == os.O_RDONLY,
                   sender=env["sender"], content=env["content"])
        with self.lock:
            self.jobs.append(job)
        answers = [self.policy(a) for a in job["rcpts"]]
        if any(a is None for a in answers):
            with self.lock:
                self.held.append(job)
            return
        self.answer(job, answers)

    def answer(self, job, answers):
        out = b""
        for i, (cls, dsn, relay, text) in zip(job["idx"], answers):
            out += record(AG_RCPT, job["id"], [(A_RCPT_IDX, str(i)), (A_CLASS, cls),
                                               (A_DSN, dsn), (A_RELAY, relay), (A_TEXT, text)])
        out += record(AG_DONE, job["id"])
        self.sock.sendall(out)

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)

    def check(self):
        if self.error:
            raise self.error

    def wait_jobs(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or 10 * SLOW)
        while time.monotonic() < deadline:
            self.check()
            with self.lock:
                if len(self.jobs) >= n:
                    return list(self.jobs)
            time.sleep(0.02)
        self.rig.fail("agent got %d jobs, expected %d" % (len(self.jobs), n))


class Rig:
    """mta-qwriter and mta-qmgr run by hand on one temp state_dir."""

    def __init__(self, testcase, **conf):
        mtatest.raise_nofile()
        self.top = tempfile.mkdtemp(prefix="mta-qmgr-")
        os.chmod(self.top, 0o755)
        self.state_dir = os.path.join(self.top, "state")
        self.conf_path = os.path.join(self.top, "mta.conf")
        self.log_path = os.path.join(self.top, "daemons.log")
        self.conf = {
            "hostname": "test.example",
            "state_dir": self.state_dir,
            "local_domains": "localhost, example.test",
            "retry_min": "1s",
            "retry_max": "2s",
            "queue_checkpoint_ms": "100",
            "dns_servers": "127.0.0.1:%d" % mtatest.free_port(),
        }
        self.conf.update({k: str(v) for k, v in conf.items()})
        with open(self.conf_path, "w") as f:
            for k, v in self.conf.items():
                f.write("%s = %s\n" % (k, v))
        self.logf = open(self.log_path, "ab")
        self.writer = self.qmgr = None
        self.agents = []
        self.next_id = 1
        testcase.addCleanup(self.cleanup)

    def path(self, *parts):
        return os.path.join(self.state_dir, *parts)

    def spawn(self, prog, fds=None):
        """fds: {role: descriptor} handed over in MTA_FDS like the master."""
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
        env.pop("MTA_FDS", None)
        if fds:
            env["MTA_FDS"] = ",".join("%s:%d" % kv for kv in fds.items())
        return subprocess.Popen([program(prog), "-c", self.conf_path], stdin=subprocess.DEVNULL,
                                stdout=self.logf, stderr=subprocess.STDOUT, cwd=self.top,
                                env=env, pass_fds=list(fds.values()) if fds else ())

    def start(self, qmgr=True):
        if self.writer is None or self.writer.poll() is not None:
            since = len(self.log())
            self.writer = self.spawn("mta-qwriter")
            self.wait_log(r"mta-qwriter\[\d+\]: ready", since=since)
        if qmgr:
            self.start_qmgr()
        return self

    def start_qmgr(self, fds=None):
        since = len(self.log())
        self.qmgr = self.spawn("mta-qmgr", fds)
        self.wait_log(r"mta-qmgr\[\d+\]: subscribed to the queue writer", since=since)

    def stop_qmgr(self, sig=signal.SIGTERM):
        self.qmgr.send_signal(sig)
        rc = self.qmgr.wait(15 * SLOW)
        self.qmgr = None
        return rc

    def cleanup(self):
        for a in self.agents:
            a.close()
        # SIGTERM first: a clean exit (LeakSanitizer runs then).
        for p in (self.qmgr, self.writer):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15 * SLOW)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.logf.close()
        bad = re.search(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:"
                        r"|\(panic\)", self.log())
        if os.environ.get("MTA_KEEP") != "1" and not bad:
            shutil.rmtree(self.top, ignore_errors=True)
        if bad:
            self.fail("sanitizer or panic report in the log: %r" % bad.group(0))

    # -- the log
    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def fail(self, msg):
        tail = "\n".join(self.log().splitlines()[-40:])
        raise AssertionError("%s\n--- %s ---\n%s" % (msg, self.log_path, tail))

    def wait_log(self, pattern, timeout=None, since=0, count=1):
        deadline = time.monotonic() + (timeout or 10 * SLOW)
        rx = re.compile(pattern)
        while True:
            found = rx.findall(self.log()[since:])
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                self.fail("log never matched %r (%d times)" % (pattern, count))
            time.sleep(0.02)

    # -- the writer protocol
    def submit(self, sender, rcpts, body=b"Subject: test\r\n\r\nhello\r\n"):
        """Queue a message like sendmail does; its queue ID."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.path("run", "qwriter.sock"))
            rid = self.next_id
            self.next_id += 1
            attrs = [(A_ORIGIN, "sendmail"), (A_SENDER, sender)] + [(A_RCPT, r) for r in rcpts]
            s.sendall(record(QW_BEGIN, rid, attrs) + HDR.pack(QW_DATA, 0, len(body), rid) +
                      body + record(QW_COMMIT, rid))
            rtype, _, attrs = RecordReader(s).next(10 * SLOW)
            if rtype != QW_QUEUED:
                self.fail("writer answered %d %r" % (rtype, attrs))
            return [v.decode() for t, v in attrs if t == A_QID][0]

    # -- the control socket
    def ctl(self, cmd, arg=""):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.path("run", "qmgr.sock"))
            s.sendall(record(CTL_REQ, 7, [(A_CMD, cmd), (A_ARG, arg)]))
            rtype, rid, attrs = RecordReader(s).next(20 * SLOW)
            assert rtype == CTL_REPLY and rid == 7, (rtype, rid)
            d = dict(attrs)
            return int(d[A_STATUS]), d[A_TEXT].decode()

    def stats(self):
        st, text = self.ctl("stats")
        assert st == 0, text
        return {k: int(v) for k, v in (line.split() for line in text.splitlines())}

    # -- the spool
    def where(self, qid):
        sub = "%02X" % ((int(qid, 16) >> 12) & 0xFF)
        for d in ("incoming", "deferred", "hold", "corrupt"):
            p = self.path("spool", d, sub, qid)
            if os.path.exists(p):
                return d, p
        return None, None

    def wait_where(self, qid, want, timeout=None):
        deadline = time.monotonic() + (timeout or 10 * SLOW)
        while True:
            d, p = self.where(qid)
            if d == want:
                return p
            if time.monotonic() > deadline:
                self.fail("%s is in %s, expected %s" % (qid, d, want))
            time.sleep(0.02)

    def queued(self):
        out = set()
        for d in ("incoming", "deferred", "hold"):
            for sub in os.listdir(self.path("spool", d)):
                out.update(os.listdir(self.path("spool", d, sub)))
        return out

    def envelope(self, qid):
        _, p = self.where(qid)
        with open(p, "rb") as f:
            return parse_queue_file(f.read(), self.fail)

    def statuses(self, qid):
        _, p = self.where(qid)
        with open(p, "rb") as f:
            raw = f.read()
        return re.findall(rb"^rcpt (\S) (\d{10}) ", raw, re.M)


def bounce(_addr):
    return ("bounced", "5.1.1", "mx.test[127.0.0.1]:25", "550 5.1.1 no such user")


def defer(_addr):
    return ("deferred", "4.4.2", "mx.test[127.0.0.1]:25", "421 try later")


class Qmgr(MtaTestCase):

    def rig(self, **conf):
        return Rig(self, **conf).start()

    def test_sent_message_is_removed(self):
        r = self.rig()
        agent = FakeAgent(r)
        qid = r.submit("alice@example.org", ["bob@remote.test", "carol@remote.test"])
        jobs = agent.wait_jobs(1)
        self.assertEqual(jobs[0]["qid"], qid)
        self.assertEqual(jobs[0]["nexthop"], "mx:remote.test")
        self.assertEqual(jobs[0]["rcpts"], ["bob@remote.test", "carol@remote.test"])
        self.assertTrue(jobs[0]["rdonly"], "the queue file fd must be read-only")
        r.wait_log(qid + r": removed")
        self.assertEqual(r.where(qid), (None, None))
        r.wait_log(qid + r": from=<alice@example.org>, size=\d+, nrcpt=2 \(queue active\)")
        st = r.stats()
        self.assertEqual(st["delivered"], 2)
        self.assertEqual(st["queue_active"], 0)
        agent.close()

    def test_deferred_goes_to_deferred_and_is_retried(self):
        r = self.rig(retry_min="1s", retry_max="1s")
        answers = [defer, sent]
        agent = FakeAgent(r, policy=lambda a: answers[0](a))
        t0 = time.time()
        qid = r.submit("alice@example.org", ["bob@remote.test"])
        agent.wait_jobs(1)
        p = r.wait_where(qid, "deferred")
        # The agent logs its status=deferred line; qmgr sets the mtime to
        # the next attempt, retry_min (1 s) after this one.
        mtime = os.stat(p).st_mtime
        self.assertGreaterEqual(mtime, int(t0) + 1)
        self.assertLessEqual(mtime, time.time() + 2)
        self.assertEqual(r.statuses(qid)[0][0], b"P")
        self.assertGreaterEqual(int(r.statuses(qid)[0][1]), int(t0))
        st, text = r.ctl("lasterror")
        self.assertIn("%s 4.4.2 421 try later" % qid, text)
        answers.pop(0)
        jobs = agent.wait_jobs(2, timeout=10 * SLOW)
        self.assertEqual(jobs[1]["qid"], qid)
        self.assertGreaterEqual(jobs[1]["t"] - jobs[0]["t"], 0.8)
        r.wait_log(qid + r": removed")
        st = r.stats()
        self.assertEqual((st["delivered"], st["deferred"]), (1, 1))

    def test_many_recipients_marked_in_one_attempt_keep_the_file_whole(self):
        """One attempt with results of both kinds: each recipient's status
        field is right, the file still decodes (its CRC covers the
        addresses between the fields), and the next attempt takes exactly
        the one recipient left."""
        r = self.rig(retry_min="1s", retry_max="1s")
        rcpts = ["bob@remote.test", "carol@remote.test", "dave@remote.test",
                 "erin@remote.test"]
        first = {"carol@remote.test": defer}
        agent = FakeAgent(r, policy=lambda a: first.get(a, sent)(a))
        qid = r.submit("alice@example.org", rcpts)
        self.assertEqual(agent.wait_jobs(1)[0]["rcpts"], rcpts)
        r.wait_where(qid, "deferred")
        self.assertEqual([st for st, _ in r.statuses(qid)], [b"D", b"P", b"D", b"D"])
        first.clear()
        jobs = agent.wait_jobs(2, timeout=10 * SLOW)
        self.assertEqual(jobs[1]["rcpts"], ["carol@remote.test"])
        r.wait_log(qid + r": removed")
        self.assertEqual(r.stats()["delivered"], 4)
        self.assertEqual([f for _, _, fs in os.walk(r.path("spool", "corrupt"))
                          for f in fs], [])

    def test_bounce_queues_a_dsn_to_the_sender(self):
        import email
        r = self.rig()
        agent = FakeAgent(r, policy=lambda a: bounce(a) if a.startswith("bob") else sent(a))
        qid = r.submit("alice@example.org", ["bob@remote.test", "carol@remote.test"],
                       b"Subject: hello there\r\nMessage-ID: <m1@example.org>\r\n\r\nbody\r\n")
        m = r.wait_log(qid + r": sender non-delivery notification: ([0-9A-F]{16})")
        dsn = m[0]
        jobs = agent.wait_jobs(2)
        j = [j for j in jobs if j["qid"] == dsn][0]
        self.assertEqual(j["sender"], "")
        self.assertEqual(j["rcpts"], ["alice@example.org"])
        self.assertEqual(j["nexthop"], "mx:example.org")
        msg = email.message_from_bytes(j["content"])
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        parts = {p.get_content_type(): p for p in msg.walk()}
        self.assertIn("message/delivery-status", parts)
        status = parts["message/delivery-status"].as_string()
        self.assertIn("bob@remote.test", status)
        self.assertNotIn("carol@remote.test", status)
        self.assertRegex(status, r"(?i)action: failed")
        self.assertRegex(status, r"(?i)status: 5\.1\.1")
        r.wait_log(qid + r": removed")
        r.wait_log(dsn + r": removed")
        self.assertEqual(r.stats()["bounced"], 1)

    def test_null_sender_gets_no_dsn(self):
        r = self.rig()
        agent = FakeAgent(r, policy=bounce)
        qid = r.submit("", ["bob@remote.test"])
        r.wait_log(qid + r": dsn suppressed for null sender")
        r.wait_log(qid + r": removed")
        time.sleep(0.3)
        self.assertEqual(len(agent.jobs), 1)
        self.assertNotIn("notification", r.log())

    def test_expiry_bounces_with_status_expired(self):
        r = self.rig(queue_lifetime="2s", retry_min="1s", retry_max="1s")
        agent = FakeAgent(r, policy=lambda a: defer(a) if a.startswith("bob") else sent(a))
        qid = r.submit("alice@example.org", ["bob@remote.test"])
        r.wait_log(qid + r": to=<bob@remote.test>, relay=none, delay=[\d.]+, dsn=4\.4\.7, "
                   r"status=expired \(message expired", timeout=15 * SLOW)
        dsn = r.wait_log(qid + r": sender non-delivery notification: ([0-9A-F]{16})")[0]
        r.wait_log(qid + r": removed")
        j = [j for j in agent.wait_jobs(3, timeout=10 * SLOW) if j["qid"] == dsn][0]
        self.assertRegex(j["content"].decode(), r"(?i)status: 4\.4\.7")
        self.assertGreaterEqual(r.stats()["expired"], 1)

    def test_agent_killed_mid_job_is_redelivered(self):
        r = self.rig(retry_min="1s", retry_max="1s")
        agent = FakeAgent(r, policy=lambda a: None)
        qid = r.submit("alice@example.org", ["bob@remote.test"])
        agent.wait_jobs(1)
        agent.close()
        r.wait_log(qid + r": to=<bob@remote.test>, relay=none, delay=[\d.]+, dsn=4\.3\.0, "
                   r"status=deferred \(delivery agent failed\)")
        r.wait_where(qid, "deferred")
        again = FakeAgent(r)
        again.wait_jobs(1, timeout=10 * SLOW)
        r.wait_log(qid + r": removed")

    def test_local_recipients_wait_without_a_local_agent(self):
        r = self.rig()
        agent = FakeAgent(r)
        qid = r.submit("alice@example.org", ["joe@example.test", "bob@remote.test"])
        r.wait_log(qid + r": to=<joe@example.test>, relay=none, delay=[\d.]+, dsn=4\.3\.0, "
                   r"status=deferred \(local delivery not available yet\)")
        jobs = agent.wait_jobs(1)
        self.assertEqual(jobs[0]["rcpts"], ["bob@remote.test"])
        r.wait_where(qid, "deferred")
        self.assertEqual([s for s, _ in r.statuses(qid)], [b"P", b"D"])
        local = FakeAgent(r, kind="local")
        jobs = local.wait_jobs(1, timeout=10 * SLOW)
        self.assertEqual((jobs[0]["nexthop"], jobs[0]["rcpts"]), ("local", ["joe@example.test"]))
        r.wait_log(qid + r": removed")
        self.assertEqual(len(agent.jobs), 1)

    def test_routing_transport_file_and_grouping(self):
        tp = os.path.join(tempfile.mkdtemp(prefix="mta-tp-"), "transport")
        self.addCleanup(shutil.rmtree, os.path.dirname(tp), True)
        with open(tp, "w") as f:
            f.write("# test\nrelay.test [127.0.0.1]:2525\n.sub.test host.sub.test:26\n"
                    "loc.test local\n")
        r = self.rig(transport_file=tp, smtp_rcpt_limit=2)
        agent = FakeAgent(r)
        rc = ["a@relay.test", "b@x.sub.test", "c@Remote.Test", "d@remote.test", "e@remote.test",
              "f@[192.0.2.7]"]
        qid = r.submit("alice@example.org", rc)
        r.wait_log(qid + r": removed")
        got = sorted((j["nexthop"], tuple(j["rcpts"])) for j in agent.jobs)
        self.assertEqual(got, [
            ("addr:127.0.0.1:2525", ("a@relay.test",)),
            ("addr:192.0.2.7:25", ("f@[192.0.2.7]",)),
            ("host:host.sub.test:26", ("b@x.sub.test",)),
            ("mx:remote.test", ("c@Remote.Test", "d@remote.test")),
            ("mx:remote.test", ("e@remote.test",)),
        ])
        # The file is reloaded when it changes.
        time.sleep(1.1)
        with open(tp, "w") as f:
            f.write("remote.test [10.0.0.1]\n")
        r.wait_log(r"transport_file .*: 1 entries")
        qid = r.submit("alice@example.org", ["x@remote.test"])
        r.wait_log(qid + r": removed")
        self.assertEqual(agent.jobs[-1]["nexthop"], "addr:10.0.0.1:25")

    def test_transport_file_handed_over_as_a_descriptor(self):
        d = tempfile.mkdtemp(prefix="mta-tp-")
        self.addCleanup(shutil.rmtree, d, True)
        tp = os.path.join(d, "transport")
        with open(tp, "w") as f:
            f.write("remote.test [10.0.0.1]\n")
        r = Rig(self, transport_file=tp).start(qmgr=False)
        fd = os.open(tp, os.O_RDWR)
        self.addCleanup(os.close, fd)
        r.start_qmgr(fds={"transport": fd})
        agent = FakeAgent(r)
        q = r.submit("alice@example.org", ["x@remote.test"])
        r.wait_log(q + r": removed")
        self.assertEqual(agent.jobs[-1]["nexthop"], "addr:10.0.0.1:25")
        # The path goes away: the descriptor is still read, in place.
        os.unlink(tp)
        time.sleep(1.1)
        os.pwrite(fd, b"remote.test [10.0.0.2]\n", 0)
        r.wait_log(r"transport_file .*: 1 entries", count=2)
        q = r.submit("alice@example.org", ["x@remote.test"])
        r.wait_log(q + r": removed")
        self.assertEqual(agent.jobs[-1]["nexthop"], "addr:10.0.0.2:25")
        # A new file under the name wins over the descriptor.
        with open(tp, "w") as f:
            f.write("remote.test [10.0.0.3]\n")
        r.wait_log(r"transport_file .*: 1 entries", count=3)
        q = r.submit("alice@example.org", ["x@remote.test"])
        r.wait_log(q + r": removed")
        self.assertEqual(agent.jobs[-1]["nexthop"], "addr:10.0.0.3:25")

    def test_relayhost(self):
        r = self.rig(relayhost="smarthost.test:2526")
        agent = FakeAgent(r)
        qid = r.submit("alice@example.org", ["x@remote.test"])
        r.wait_log(qid + r": removed")
        self.assertEqual(agent.jobs[0]["nexthop"], "host:smarthost.test:2526")


    def test_hostile_agents_are_dropped(self):
        r = self.rig(retry_min="1s", retry_max="1s")
        hostile = [
            record(AG_RCPT, 1, [(A_RCPT_IDX, "0")]),                       # before HELLO
            record(AG_HELLO, 0, [(A_KIND, "martian"), (A_SLOTS, "1")]),
            record(AG_HELLO, 0, [(A_KIND, "remote"), (A_SLOTS, "0")]),
            record(AG_HELLO, 0, [(A_KIND, "remote")]),
            record(AG_HELLO, 0, [(A_KIND, "remote"), (A_SLOTS, "1"), (A_SLOTS, "2")]),
            record(AG_JOB, 0, []),                                          # wrong direction
            HDR.pack(AG_HELLO, 0, 1 << 20, 0),                              # oversized
            HDR.pack(999, 0, 0, 0),                                         # unknown type
            record(AG_HELLO, 0, [(A_KIND, "remote"), (A_SLOTS, "1")], flags=1),
            b"\x0b\x00\x00\x00\x05\x00\x00\x00" + bytes(8) + b"\x0c\x00\xff\xff\xff",
        ]
        for data in hostile:
            a = FakeAgent(r, hello=False)
            a.send(data)
            self.assertTrue(a.closed.wait(5 * SLOW), "agent not dropped after %r" % data)
            a.close()
        # Well-formed but wrong: answers for jobs or recipients it lacks.
        qid = r.submit("alice@example.org", ["bob@remote.test", "carol@remote.test"])
        liar = FakeAgent(r, policy=lambda a: None)
        job = liar.wait_jobs(1)[0]
        liar.send(record(AG_RCPT, job["id"], [(A_RCPT_IDX, "0"), (A_CLASS, "sent"),
                                              (A_DSN, "5.0.0")]))
        self.assertTrue(liar.closed.wait(5 * SLOW))
        r.wait_log(r"agent pid=\d+ uid=\d+: bad DSN for its CLASS; connection dropped")
        r.wait_log(qid + r": to=<bob@remote.test>.*status=deferred \(delivery agent failed\)")
        r.wait_where(qid, "deferred")
        r.ctl("flush")
        for bad in ([(A_RCPT_IDX, "7"), (A_CLASS, "sent"), (A_DSN, "2.0.0")],
                    [(A_RCPT_IDX, "0"), (A_CLASS, "sent"), (A_DSN, "2.0.0"),
                     (A_TEXT, "x\r\nforged log line")],
                    [(A_RCPT_IDX, "00"), (A_CLASS, "sent"), (A_DSN, "2.0.0")],
                    [(A_RCPT_IDX, "0"), (A_CLASS, "sent"), (A_DSN, "2.0.0"), (A_TEXT, "x" * 1001)],
                    [(A_RCPT_IDX, "0"), (A_CLASS, "sent"), (A_DSN, "2.0.0"), (A_KIND, "x")]):
            liar = FakeAgent(r, policy=lambda a: None)
            job = liar.wait_jobs(1, timeout=10 * SLOW)[0]
            liar.send(record(AG_RCPT, job["id"], bad))
            self.assertTrue(liar.closed.wait(5 * SLOW), "kept after %r" % bad)
            liar.close()
            r.wait_where(qid, "deferred")
            r.ctl("flush")          # no need to wait for retry_min
        liar = FakeAgent(r, policy=lambda a: None)
        job = liar.wait_jobs(1, timeout=10 * SLOW)[0]
        liar.send(record(AG_DONE, job["id"] + 1000))
        self.assertTrue(liar.closed.wait(5 * SLOW))
        r.wait_where(qid, "deferred")
        r.ctl("flush")
        self.assertNotIn("forged", r.log())
        good = FakeAgent(r)
        good.wait_jobs(1, timeout=10 * SLOW)
        r.wait_log(qid + r": removed")
        self.assertIsNone(r.qmgr.poll())

    def test_slow_start_per_destination(self):
        r = self.rig(destination_concurrency=4)
        for i in range(8):
            r.submit("alice@example.org", ["u%d@slow.test" % i])
        agent = FakeAgent(r, policy=lambda a: None, slots=100)
        agent.wait_jobs(2)
        time.sleep(0.5)
        self.assertEqual(len(agent.jobs), 2, "slow start begins at 2 jobs in flight")
        agent.answer(agent.held[0], [sent(None)])
        agent.wait_jobs(4)
        time.sleep(0.3)
        self.assertEqual(len(agent.jobs), 4, "one success: 3 in flight")
        agent.answer(agent.held[1], [sent(None)])
        agent.wait_jobs(6)
        time.sleep(0.3)
        self.assertEqual(len(agent.jobs), 6, "two successes: 4 (the limit) in flight")
        # Connection failures: back to 1, then dead for a while.
        for j in agent.held[2:6]:
            agent.answer(j, [("deferred", "4.4.1", "none", "connect: refused")])
        agent.wait_jobs(7)
        time.sleep(0.3)
        self.assertEqual(len(agent.jobs), 7, "after connection failures: 1 in flight")

    def test_round_robin_across_destinations(self):
        r = self.rig(destination_concurrency=10)
        ids = [r.submit("alice@example.org", ["u%d@big.test" % i]) for i in range(12)]
        ids += [r.submit("alice@example.org", ["u%d@small.test" % i]) for i in range(2)]
        r.wait_log(r"\(queue active\)", count=14)
        agent = FakeAgent(r, slots=1)
        for q in ids:
            r.wait_log(q + r": removed")
        hops = [j["nexthop"] for j in agent.jobs]
        first = hops[:4]
        self.assertEqual(first.count("mx:small.test"), 2,
                         "small.test must not wait behind big.test: %s" % hops)

    def test_control_hold_release_delete_flush(self):
        r = self.rig(retry_min="1h", retry_max="1h")
        answers = [defer]
        agent = FakeAgent(r, policy=lambda a: answers[0](a))
        q1 = r.submit("alice@example.org", ["bob@remote.test"])
        q2 = r.submit("alice@example.org", ["carol@remote.test", "dave@remote.test"])
        r.wait_where(q1, "deferred")
        r.wait_where(q2, "deferred")
        self.assertEqual(r.ctl("hold", q1), (0, "%s held\n" % q1))
        r.wait_where(q1, "hold")
        self.assertEqual(r.ctl("hold", "0000000000000001")[0], 1)
        self.assertEqual(r.ctl("frobnicate")[0], 64)
        self.assertEqual(r.ctl("hold", "not-an-id")[0], 64)
        st = r.stats()
        self.assertEqual(st["queue_hold"], 1)
        self.assertEqual(r.ctl("delete", q2), (0, "%s deleted\n" % q2))
        r.wait_log(q2 + r": to=<carol@remote.test>, relay=none, delay=[\d.]+, dsn=5\.0\.0, "
                   r"status=deleted \(deleted by the operator\)")
        r.wait_log(q2 + r": to=<dave@remote.test>.*status=deleted")
        r.wait_log(q2 + r": removed")
        answers[0] = sent
        n = len(agent.jobs)
        self.assertEqual(r.ctl("flush")[0], 0)
        time.sleep(0.5)
        self.assertEqual(len(agent.jobs), n, "a held message is not flushed")
        self.assertEqual(r.ctl("release", q1), (0, "%s released\n" % q1))
        r.wait_log(q1 + r": removed")
        self.assertEqual(r.ctl("release", q1)[0], 1)
        # flush: a deferred message goes again at once, not in an hour.
        answers[0] = defer
        q3 = r.submit("alice@example.org", ["erin@remote.test"])
        r.wait_where(q3, "deferred")
        answers[0] = sent
        self.assertEqual(r.ctl("flush")[0], 0)
        r.wait_log(q3 + r": removed")

    def test_delete_all(self):
        r = self.rig(retry_min="1h", retry_max="1h")
        FakeAgent(r, policy=defer)
        ids = [r.submit("alice@example.org", ["u%d@remote.test" % i]) for i in range(5)]
        for q in ids:
            r.wait_where(q, "deferred")
        self.assertEqual(r.ctl("hold", ids[0])[0], 0)
        r.stop_qmgr()
        ids.append(r.submit("alice@example.org", ["new@remote.test"]))
        r.start_qmgr()
        st, text = r.ctl("delete", "all")
        self.assertEqual((st, text), (0, "6 messages deleted\n"))
        for q in ids:
            r.wait_log(q + r": removed")
        self.assertEqual(r.queued(), set())

    def test_restart_scans_incoming_and_deferred(self):
        r = self.rig(retry_min="1s", retry_max="1s")
        r.stop_qmgr()
        q1 = r.submit("alice@example.org", ["bob@remote.test"])
        r.start_qmgr()
        agent = FakeAgent(r, policy=defer)
        agent.wait_jobs(1)
        r.wait_where(q1, "deferred")
        r.stop_qmgr()
        agent.close()
        q2 = r.submit("alice@example.org", ["carol@remote.test"])
        r.start_qmgr()
        agent = FakeAgent(r)
        for q in (q1, q2):
            r.wait_log(q + r": removed", timeout=10 * SLOW)

    def test_finished_file_waits_for_the_watermark(self):
        r = self.rig(queue_checkpoint_ms=1500)
        agent = FakeAgent(r)
        qid = r.submit("alice@example.org", ["bob@remote.test"])
        agent.wait_jobs(1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and r.statuses(qid) != [(b"D", b"0000000000")]:
            time.sleep(0.01)
        self.assertEqual(r.statuses(qid), [(b"D", b"0000000000")])
        self.assertNotIn(qid + ": removed", r.log())
        r.wait_log(qid + r": removed", timeout=10 * SLOW)

    def test_active_set_is_bounded(self):
        r = self.rig(qmgr_active_limit=100)
        r.stop_qmgr()
        ids = [r.submit("alice@example.org", ["u%d@d%d.test" % (i, i % 7)]) for i in range(150)]
        r.start_qmgr()
        agent = FakeAgent(r, policy=lambda a: None, slots=1000)
        agent.wait_jobs(14)
        time.sleep(0.5)
        self.assertEqual(r.stats()["queue_active"], 100)
        with agent.lock:
            held, agent.held = agent.held, []
        agent.policy = sent
        for j in held:
            agent.answer(j, [sent(None)])
        for q in ids:
            r.wait_log(q + r": removed", timeout=20 * SLOW)

    def test_delay_warning_once(self):
        import email
        r = self.rig(delay_warning_time="1s", retry_min="1s", retry_max="1s",
                     queue_lifetime="1h")
        agent = FakeAgent(r, policy=lambda a: defer(a) if a.startswith("bob") else sent(a))
        qid = r.submit("alice@example.org", ["bob@remote.test"])
        dsn = r.wait_log(qid + r": sender delay notification: ([0-9A-F]{16})",
                         timeout=10 * SLOW)[0]
        jobs = agent.wait_jobs(3, timeout=10 * SLOW)
        time.sleep(2.5)
        self.assertEqual(len(re.findall(qid + r": sender delay notification", r.log())), 1)
        j = [j for j in agent.jobs if j["qid"] == dsn][0]
        msg = email.message_from_bytes(j["content"])
        status = [p for p in msg.walk() if p.get_content_type() == "message/delivery-status"]
        self.assertRegex(status[0].as_string(), r"(?i)action: delayed")
        self.assertEqual(j["sender"], "")

    @unittest.skipUnless(mtatest.is_root(), "needs root to act as another uid")
    def test_writer_refuses_a_foreign_subscriber(self):
        import pwd
        r = Rig(self).start(qmgr=False)
        nobody = pwd.getpwnam("nobody")
        os.chmod(self.tmp_parent(r), 0o755)
        code = ("import socket,struct,sys\n"
                "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])\n"
                "s.sendall(struct.pack('<HHIQ',8,0,0,0))\n"
                "print(repr(s.recv(100)))\n")
        out = subprocess.run(["python3", "-c", code, r.path("run", "qwriter.sock")],
                             user=nobody.pw_uid, group=nobody.pw_gid, capture_output=True,
                             timeout=10 * SLOW)
        self.assertEqual(out.stdout.strip(), b"b''", out)
        r.wait_log(r"client uid=%d pid=\d+: SUBSCRIBE from a foreign uid; connection dropped"
                   % nobody.pw_uid)

    def tmp_parent(self, r):
        return r.top



class WriterNotices(MtaTestCase):
    """The writer's side of the subscription, driven by hand."""

    def subscribe(self, r):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(r.path("run", "qwriter.sock"))
        s.sendall(record(QM_SUBSCRIBE))
        return s, RecordReader(s)

    def test_ckpt_at_subscribe_new_after_publish_watermark_after_checkpoint(self):
        r = Rig(self, queue_checkpoint_ms=200).start(qmgr=False)
        s, rd = self.subscribe(r)
        rtype, rid, attrs = rd.next(5 * SLOW)
        self.assertEqual((rtype, rid), (QM_CKPT, 0))
        self.assertRegex(dict(attrs)[A_QID].decode(), r"^[0-9A-F]{16}$")
        qid = r.submit("a@example.org", ["b@remote.test"])
        got = []
        deadline = time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline:
            rtype, _, attrs = rd.next(5 * SLOW)
            got.append((rtype, dict(attrs)[A_QID].decode()))
            if rtype == QM_CKPT and got[-1][1] >= qid:
                break
        self.assertIn((QM_NEW, qid), got)
        new_at = got.index((QM_NEW, qid))
        ckpts = [q for t, q in got if t == QM_CKPT]
        self.assertTrue(ckpts and ckpts[-1] >= qid, got)
        self.assertTrue(all(q < qid for t, q in got[:new_at] if t == QM_CKPT),
                        "no watermark passes a message before it is published")
        # A second subscriber replaces the first.
        s2, rd2 = self.subscribe(r)
        self.assertEqual(rd2.next(5 * SLOW)[0], QM_CKPT)
        q2 = r.submit("a@example.org", ["b@remote.test"])
        while True:
            rtype, _, attrs = rd2.next(5 * SLOW)
            if rtype == QM_NEW:
                self.assertEqual(dict(attrs)[A_QID].decode(), q2)
                break
        s.settimeout(0.5)
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                self.assertNotIn(q2.encode(), data)
        except socket.timeout:
            pass
        s.close()
        s2.close()

    def test_malformed_subscribe_is_dropped(self):
        r = Rig(self).start(qmgr=False)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(r.path("run", "qwriter.sock"))
            s.sendall(record(QM_SUBSCRIBE, 0, [(A_TEXT, "x")]))
            s.settimeout(5 * SLOW)
            self.assertEqual(s.recv(100), b"")
        r.wait_log(r"malformed SUBSCRIBE; connection dropped")

    @unittest.skipUnless(mtatest.is_root(), "needs root to act as another uid")
    def test_foreign_uid_may_not_claim_origin_qmgr(self):
        import pwd
        r = Rig(self).start(qmgr=False)
        nobody = pwd.getpwnam("nobody")
        code = ("import socket,struct,sys\n"
                "def rec(t,i,a):\n"
                " p=b''.join(struct.pack('<HI',k,len(v))+v for k,v in a)\n"
                " return struct.pack('<HHIQ',t,0,len(p),i)+p\n"
                "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])\n"
                "s.sendall(rec(1,1,[(7,b'qmgr'),(1,b''),(2,b'x@remote.test')])+"
                "rec(2,1,[])+rec(3,1,[]))\n"
                "print(s.recv(100)[22:38].decode())\n")
        out = subprocess.run(["python3", "-c", code, r.path("run", "qwriter.sock")],
                             user=nobody.pw_uid, group=nobody.pw_gid, capture_output=True,
                             timeout=10 * SLOW)
        qid = out.stdout.decode().strip()
        self.assertRegex(qid, r"^[0-9A-F]{16}$", out)
        r.wait_log(r"client uid=%d pid=\d+: claims ORIGIN qmgr; recorded as sendmail"
                   % nobody.pw_uid)
        r.wait_where(qid, "incoming")
        self.assertEqual(r.envelope(qid)["origin"], "sendmail")


class WithMaster(MtaTestCase):
    """The real tree: mta-master starts mta-qmgr itself."""

    def test_deferred_mail_waits_with_its_next_attempt(self):
        # (Local mail used to wait here for want of a local agent; now it
        # is delivered, so a remote domain without DNS stands in.)
        m = self.mta()
        m.wait_pids("mta-qmgr")
        m.wait_log(r"mta-qmgr\[\d+\]: subscribed to the queue writer")
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@example.test"],
                                 b"Subject: deferred\r\n\r\nbody\r\n")
        m.wait_log(qid + r": to=<b@example\.test>, relay=\S+, delay=[\d.]+, dsn=4\.\d+\.\d+, "
                   r"status=deferred ")
        path = m.queue_file(qid)
        self.assertIn(os.sep + "deferred" + os.sep, path)
        # retry_min is 5 minutes by default: the mtime says when.
        self.assertAlmostEqual(os.stat(path).st_mtime, time.time() + 300, delta=30)
        r = m.ctl("stats")
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout.decode(), r"(?m)^queue_active 0$")
        m.stop()


if __name__ == "__main__":
    unittest.main()
