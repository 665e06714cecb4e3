"""The benchmark sink (mta-sink) driven by clients nobody here wrote:
Postfix's smtp-source (counts equal, every Message-ID once) and Python's
smtplib (fault injection percentages within tolerance, duplicates seen);
mta-loadgen into the sink and into our smtpd, in plaintext and with
--tls starttls/smtps and --handshake-only."""
import json
import os
import shutil
import signal
import smtplib
import subprocess
import time
import unittest

from mtatest import BUILD, SANITIZE, SLOW, TOP, free_port, program, scaled


class Sink:
    def __init__(self, testcase, *args):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [program("mta-sink"), "-l", "127.0.0.1:%d" % self.port, "--json"] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        testcase.addCleanup(self.kill)
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("mta-sink did not answer on %d" % self.port)

    def stop(self):
        """SIGTERM; the counts it prints as JSON."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10 * SLOW)
        if self.proc.returncode != 0:
            raise AssertionError("mta-sink exited %s" % self.proc.returncode)
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class SinkTest(unittest.TestCase):

    def test_smtp_source_counts_and_message_ids(self):
        if not shutil.which("smtp-source"):
            self.skipTest("smtp-source (Debian postfix) not installed")
        sink = Sink(self)
        n = scaled(2000, 200)
        subprocess.run(["smtp-source", "-s", "20", "-m", str(n), "-l", "2000",
                        "127.0.0.1:%d" % sink.port], check=True, timeout=120 * SLOW)
        counts = sink.stop()
        self.assertEqual(counts["connections"], n + 1)   # + the readiness probe
        self.assertEqual(counts["messages"], n)
        self.assertEqual(counts["recipients"], n)
        self.assertEqual(counts["unique_ids"], n)
        self.assertEqual(counts["duplicate_ids"], 0)

    def test_idle_client_gets_421_after_timeout(self):
        import socket
        sink = Sink(self, "--timeout", "1")
        with socket.create_connection(("127.0.0.1", sink.port), timeout=10 * SLOW) as s:
            f = s.makefile("rb")
            self.assertTrue(f.readline().startswith(b"220 "))
            t0 = time.monotonic()
            self.assertTrue(f.readline().startswith(b"421 4.4.2"))
            self.assertEqual(f.readline(), b"")          # and closed
            self.assertLess(time.monotonic() - t0, 5 * SLOW)
        self.assertEqual(sink.stop()["timeouts"], 1)

    def test_fault_injection_and_duplicates(self):
        sink = Sink(self, "--seed", "7", "--defer-pct", "20", "--reject-pct", "10")
        n = scaled(600, 200)
        deferred = rejected = accepted = 0
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10 * SLOW) as s:
            s.ehlo()
            for i in range(n):
                s.mail("a@example.test")
                code, _ = s.rcpt("b@example.test")
                if code == 451:
                    deferred += 1
                    s.rset()
                    continue
                if code == 550:
                    rejected += 1
                    s.rset()
                    continue
                self.assertEqual(code, 250)
                # Every message twice under one Message-ID: one duplicate each.
                msgid = "<%d.dup@test.example>" % (i // 2)
                code, _ = s.data(b"Message-ID: " + msgid.encode()
                                 + b"\r\nSubject: x\r\n\r\nbody\r\n")
                self.assertEqual(code, 250)
                accepted += 1
        counts = sink.stop()
        self.assertEqual(counts["rcpt_deferred"], deferred)
        self.assertEqual(counts["rcpt_rejected"], rejected)
        self.assertEqual(counts["messages"], accepted)
        self.assertEqual(counts["unique_ids"] + counts["duplicate_ids"], accepted)
        self.assertGreater(counts["duplicate_ids"], 0)
        # 20 % and 10 % of n draws, within a generous tolerance.
        self.assertLess(abs(deferred / n - 0.20), 0.06, deferred)
        self.assertLess(abs(rejected / n - 0.10 * 0.8), 0.06, rejected)


def loadgen(port, *args):
    """Run mta-loadgen against 127.0.0.1:port; (exit status, JSON report)."""
    p = subprocess.run([program("mta-loadgen"), "--json"] + list(args)
                       + ["127.0.0.1:%d" % port], capture_output=True,
                       timeout=120 * SLOW)
    return p.returncode, json.loads(p.stdout)


class LoadgenTest(unittest.TestCase):

    def test_loadgen_into_sink_counts_match(self):
        sink = Sink(self)
        n = scaled(3000, 300)
        rc, r = loadgen(sink.port, "-c", "30", "-m", str(n), "-s", "5120",
                        "-r", "2", "--messages-per-connection", "5")
        counts = sink.stop()
        self.assertEqual(rc, 0, r)
        self.assertEqual(r["ok"], n)
        self.assertEqual(counts["messages"], n)
        self.assertEqual(counts["recipients"], 2 * n)
        self.assertEqual(counts["unique_ids"], n)
        self.assertEqual(counts["duplicate_ids"], 0)
        self.assertEqual(counts["no_msgid"], 0)
        self.assertEqual(r["latency_ms"]["eod"]["n"], n)

    def test_loadgen_reports_injected_faults(self):
        sink = Sink(self, "--seed", "3", "--defer-pct", "10")
        n = scaled(1000, 200)
        rc, r = loadgen(sink.port, "-c", "10", "-m", str(n))
        counts = sink.stop()
        self.assertEqual(rc, 1, "refused messages must make loadgen fail")
        self.assertEqual(r["replies"]["rcpt"]["4xx"], counts["rcpt_deferred"])
        self.assertEqual(counts["messages"] + counts["rcpt_deferred"], n)
        self.assertLess(abs(counts["rcpt_deferred"] / n - 0.10), 0.05)

    def test_loadgen_into_our_smtpd_every_message_queued(self):
        from mtatest import Mta
        m = Mta(self)
        n = scaled(1000, 100)
        # Not loadgen's default rcpt@localhost: no such local user here;
        # example.test is remote and stays deferred (no DNS).
        rc, r = loadgen(m.port, "-c", "20", "-m", str(n), "-s", "5120",
                        "--to", "rcpt@example.test")
        self.assertEqual(rc, 0, r)
        self.assertEqual(r["ok"], n)
        deadline = time.monotonic() + 10 * SLOW
        while len(m.queued_ids()) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(m.queued_ids()), n)
        m.stop()


class TlsLoadgenTest(unittest.TestCase):
    """mta-loadgen --tls against a live instance: STARTTLS on the relay
    port, smtps (AUTH required there) and --handshake-only on both."""

    USER, PASSWORD = "bench@localhost", "bench-secret"

    @classmethod
    def setUpClass(cls):
        from mtatest import Mta
        cls.smtps = free_port()
        cls.m = Mta(None, smtps_listen="127.0.0.1:%d" % cls.smtps)
        try:
            cls.m.add_user(cls.USER, cls.PASSWORD)
        except AssertionError:
            cls.m.cleanup()
            raise
        # smtpd re-reads users_file at most once a second; a 535 before
        # then would count towards the AUTH failure limit.
        time.sleep(1.5)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.m.stop()
        finally:
            cls.m.cleanup()

    def queued_after(self, before, n):
        deadline = time.monotonic() + 10 * SLOW
        while len(self.m.queued_ids()) - before < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.m.queued_ids()) - before

    def test_starttls_every_message_queued(self):
        n, before = scaled(60, 20), len(self.m.queued_ids())
        rc, r = loadgen(self.m.port, "--tls", "starttls", "-c", "5", "-m", str(n),
                        "-s", "5120", "--to", "rcpt@example.test")
        self.assertEqual(rc, 0, r)
        self.assertEqual(r["ok"], n)
        self.assertEqual(r["tls"]["mode"], "starttls")
        self.assertEqual(r["tls"]["handshakes"], n)
        self.assertEqual(r["tls"]["failed"], 0)
        self.assertEqual(r["replies"]["starttls"]["2xx"], n)
        self.assertEqual(r["replies"]["ehlo"]["2xx"], 2 * n)   # again under TLS
        self.assertEqual(self.queued_after(before, n), n)

    def test_smtps_with_auth_every_message_queued(self):
        n, before = scaled(60, 20), len(self.m.queued_ids())
        rc, r = loadgen(self.smtps, "--tls", "smtps", "-c", "5", "-m", str(n),
                        "-s", "5120", "--to", "rcpt@example.test",
                        "--auth", "%s:%s" % (self.USER, self.PASSWORD),
                        "--from", self.USER)
        self.assertEqual(rc, 0, r)
        self.assertEqual(r["ok"], n)
        self.assertEqual(r["tls"]["handshakes"], n)
        self.assertEqual(r["replies"]["auth"]["2xx"], n)
        self.assertEqual(r["replies"]["starttls"]["2xx"], 0)
        self.assertEqual(self.queued_after(before, n), n)

    def test_handshake_only(self):
        n, before = 30, len(self.m.queued_ids())
        for mode, port in (("smtps", self.smtps), ("starttls", self.m.port)):
            rc, r = loadgen(port, "--tls", mode, "--handshake-only", "-c", "5",
                            "-m", str(n))
            self.assertEqual(rc, 0, r)
            self.assertEqual(r["ok"], n, mode)
            self.assertEqual(r["tls"]["handshakes"], n, mode)
            self.assertEqual(r["tls"]["resumed"], 0, mode)   # off by default
            self.assertGreater(r["tls"]["handshakes_per_s"], 0)
            self.assertEqual(r["replies"]["mail"]["2xx"], 0)
            self.assertEqual(r["replies"]["quit"]["2xx"], n)
            # --tls-resume: every connection but the first five (opened
            # before any ticket came) offers a ticket of its own and resumes.
            rc, r = loadgen(port, "--tls", mode, "--handshake-only",
                            "--tls-resume", "-c", "5", "-m", str(n))
            self.assertEqual(rc, 0, r)
            self.assertEqual(r["tls"]["handshakes"], n, mode)
            self.assertGreaterEqual(r["tls"]["resumed"], n - 5, mode)
        self.assertEqual(len(self.m.queued_ids()), before)


@unittest.skipIf(SANITIZE, "the harness is Python; its C tools are checked "
                 "under the sanitizers by the tests above")
class BenchRunTest(unittest.TestCase):
    """bench/run end to end at a tiny scale, so the script cannot rot."""

    def test_bench_run_small(self):
        out = subprocess.run(
            [os.path.join(TOP, "bench", "run"), "--no-build", "--build", BUILD,
             "--scale", "0.002", "--idle", "20", "--fill", "200", "--no-write",
             "--tls-idle", "20",
             "--no-tools", "--settle", "0",
             "--workdir", os.environ.get("TMPDIR", "/tmp")],
            capture_output=True, text=True, timeout=300 * SLOW)
        self.assertEqual(out.returncode, 0, out.stdout[-2000:] + out.stderr[-2000:])
        self.assertIn("## Acceptance", out.stdout)
        self.assertRegex(out.stdout, r"\| 50 \| 1 \| \d+ \|")
        self.assertIn("restart after kill -9", out.stdout)
        # The mailbox scenarios (200 messages each): ours measured, or a
        # line saying why not while mta-local / mta-pop3d are missing.
        self.assertIn("## Local delivery", out.stdout)
        self.assertIn("## POP3 retrieval", out.stdout)
        # The TLS scenarios (ours only here: no --peer).
        self.assertIn("## TLS", out.stdout)
        self.assertRegex(out.stdout, r"\| STARTTLS acceptance: msg/s \| \d+ \|")
        self.assertRegex(out.stdout, r"\| smtps handshakes/s \(full\) \| \d+ \|")
        self.assertRegex(out.stdout,
                         r"\| idle smtps session: KiB RSS per connection \| -?[\d.]+ \|")
        for prog, row in (("mta-local", r"\| messages/s end to end \| \d+ \|"),
                          ("mta-pop3d", r"\| second session: s to RETR all \| [\d.]+ \|")):
            if os.path.exists(program(prog)):
                self.assertRegex(out.stdout, row)

    def test_profile_small(self):
        """bench/profile: every scenario delivers everything and names each
        daemon's CPU and the tools'."""
        for scenario, daemon in (("relay", "mta-remote"), ("local", "mta-local"),
                                 ("starttls", "mta-remote")):
            if not os.path.exists(program(daemon)):
                continue
            out = subprocess.run(
                [os.path.join(TOP, "bench", "profile"), "--build", BUILD,
                 "--messages", "300", scenario],
                capture_output=True, text=True, timeout=120 * SLOW)
            self.assertEqual(out.returncode, 0, out.stdout[-2000:] + out.stderr[-2000:])
            self.assertRegex(out.stdout, r"%s: 300 messages, \d+ msg/s accepted, "
                             r"\d+ msg/s end to end" % scenario)
            self.assertRegex(out.stdout, r"mta-qwriter\[\d+\] +user [\d.]+  sys [\d.]+ ms/msg")
            self.assertRegex(out.stdout, r"(?m)^  all +[\d.]+ ms/msg$")
            self.assertRegex(out.stdout, r"(?m)^  loadgen \+ sink +[\d.]+ ms/msg$")
