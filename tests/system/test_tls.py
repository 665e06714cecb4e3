"""TLS on the servers, with real clients: STARTTLS (RFC 3207) on the relay
and submission ports, implicit TLS on smtps (RFC 8314), STLS (RFC 2595) and
pop3s.  Clients: Python's smtplib/poplib/ssl, openssl s_client, swaks and
curl.  Also: the self-signed pair of a first start, a configured
certificate and its reload on SIGHUP, a key that does not match, TLS 1.1
refused, session resumption across smtpd workers (shared ticket keys),
commands pipelined after STARTTLS/STLS thrown away (CVE-2011-0411 class)
and garbage instead of a ClientHello."""
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

from mtatest import (Mta, MtaTestCase, SLOW, Smtp, free_port, queue_id,
                     split_received, wait_gone)
from tlssink import make_leaf

USER = "alice@localhost"
PASSWORD = "tls pass"


def client_ctx(cafile=None):
    """A client context that trusts cafile (or nothing: no checks)."""
    if cafile is None:
        return ssl._create_unverified_context()      # noqa: SLF001
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    return ctx


def peer_cn(sock):
    """The subject CN of the server's certificate (verified contexts)."""
    for rdn in sock.getpeercert()["subject"]:
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


def s_client(args, data, timeout=None):
    """openssl s_client with data on stdin (sent after the handshake)."""
    r = subprocess.run(["openssl", "s_client", "-ign_eof"] + args,
                       input=data, capture_output=True,
                       timeout=timeout or 20 * SLOW)
    return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(
        errors="replace")


class TlsServers(MtaTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ports = {k: free_port() for k in ("sub", "smtps", "pop3", "pop3s")}
        cls.m = Mta(None, smtpd_workers=2,
                    submission_listen="127.0.0.1:%d" % cls.ports["sub"],
                    smtps_listen="127.0.0.1:%d" % cls.ports["smtps"],
                    pop3_listen="127.0.0.1:%d" % cls.ports["pop3"],
                    pop3s_listen="127.0.0.1:%d" % cls.ports["pop3s"],
                    pop3_plaintext_loopback="no")
        cls.m.add_user(USER, PASSWORD)
        cls.cert = os.path.join(cls.m.state_dir, "tls", "cert.pem")
        time.sleep(1.2)     # daemons look at users_file once a second

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.m.cleanup()

    def tearDown(self):
        self.m.check_log_clean()

    # ---------------------------------------------------------- the pair

    def test_first_start_generates_a_self_signed_pair(self):
        key = os.path.join(self.m.state_dir, "tls", "key.pem")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.cert).st_mode & 0o777, 0o644)
        self.assertIn("generated a self-signed certificate", self.m.log())
        # Trusting that certificate, a client verifies the chain.
        ctx = client_ctx(self.cert)
        with socket.create_connection(("127.0.0.1", self.ports["smtps"])) as raw, \
                ctx.wrap_socket(raw) as s:
            self.assertEqual(peer_cn(s), self.m.conf["hostname"])

    # ---------------------------------------------------------- SMTP

    def test_starttls_with_smtplib_then_mail(self):
        since = len(self.m.log())
        with smtplib.SMTP("127.0.0.1", self.m.port, timeout=20 * SLOW) as c:
            code, text = c.ehlo("client.example")
            self.assertIn(b"STARTTLS", text)
            self.assertEqual(c.starttls(context=client_ctx(self.cert))[0], 220)
            code, text = c.ehlo("client.example")
            self.assertEqual(code, 250)
            self.assertNotIn(b"STARTTLS", text, "no STARTTLS once TLS is up")
            self.assertIn(c.sock.version(), ("TLSv1.2", "TLSv1.3"))
            # A remote recipient (no DNS here): the message stays queued.
            c.sendmail("s@example.test", ["r@example.test"],
                       b"Subject: over tls\r\n\r\nsecret\r\n")
        qid = self.m.wait_log(r"([0-9A-F]{16}): client=\[127\.0\.0\.1\]",
                              since=since)
        received, _ = split_received(self.m.cat(qid.group(1)))
        self.assertIn(b"with ESMTPS", received)
        self.m.wait_log(r"TLS with \[127\.0\.0\.1\]: TLSv1\.[23] ")

    def test_starttls_on_submission_with_openssl(self):
        rc, out = s_client(["-connect", "127.0.0.1:%d" % self.ports["sub"],
                            "-starttls", "smtp", "-brief"],
                           b"EHLO client.example\r\nQUIT\r\n")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"Protocol version: TLSv1\.[23]")
        self.assertIn("250-" + self.m.conf["hostname"], out)
        self.assertIn("221 2.0.0 Bye", out)

    def test_smtps_greets_over_tls(self):
        with socket.create_connection(("127.0.0.1", self.ports["smtps"]),
                                      timeout=10 * SLOW) as raw, \
                client_ctx().wrap_socket(raw) as s:
            c = Smtp.wrap(s)
            self.assertTrue(c.reply().text.startswith("220 "))
            r = c.cmd("EHLO client.example")
            self.assertEqual(r.code, 250)
            self.assertNotIn("STARTTLS", r.text)
            self.assertEqual(c.cmd("STARTTLS").code, 503)
            self.assertEqual(c.cmd("QUIT").code, 221)

    def test_smtps_with_openssl_and_curl(self):
        rc, out = s_client(["-connect", "127.0.0.1:%d" % self.ports["smtps"],
                            "-brief"], b"EHLO client.example\r\nQUIT\r\n")
        self.assertEqual(rc, 0, out)
        self.assertIn("220 " + self.m.conf["hostname"], out)
        if shutil.which("curl"):
            # curl speaks smtps and verifies against our certificate.
            r = subprocess.run(["curl", "-sS", "--max-time", str(20 * SLOW),
                                "--cacert", self.cert, "--resolve",
                                "%s:%d:127.0.0.1" % (self.m.conf["hostname"],
                                                     self.ports["smtps"]),
                                "-X", "NOOP", "smtps://%s:%d/" % (
                                    self.m.conf["hostname"], self.ports["smtps"])],
                               capture_output=True, timeout=30 * SLOW)
            self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl_smtps_with_auth_sends_a_message(self):
        path = os.path.join(self.m.top, "curl-smtps.msg")
        with open(path, "wb") as f:
            f.write(b"Subject: curl over smtps\r\n\r\nhello\r\n")
        r = subprocess.run(["curl", "-sS", "-v", "--max-time", str(20 * SLOW),
                            "--cacert", self.cert, "--resolve",
                            "%s:%d:127.0.0.1" % (self.m.conf["hostname"],
                                                 self.ports["smtps"]),
                            "--user", "%s:%s" % (USER, PASSWORD),
                            "--mail-from", USER, "--mail-rcpt", "r@example.test",
                            "-T", path, "smtps://%s:%d/client.example" % (
                                self.m.conf["hostname"], self.ports["smtps"])],
                           capture_output=True, timeout=30 * SLOW)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, err)
        self.assertIn("235 2.7.0", err)
        m = re.search(r"< (250 2\.0\.0 Ok: queued as [0-9A-F]{16})", err)
        self.assertTrue(m, err)
        received, _ = split_received(self.m.cat(queue_id(m.group(1))))
        self.assertIn(b"ESMTPSA", received)

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks_tls(self):
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.m.port,
                            "--tls", "--ehlo", "client.example",
                            "--from", "s@example.test", "--to", "postmaster@localhost"],
                           capture_output=True, timeout=30 * SLOW)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
        self.assertIn("TLS started", out)
        m = re.search(r"<~  (250 2\.0\.0 Ok: queued as [0-9A-F]{16})", out)
        self.assertTrue(m, out)
        queue_id(m.group(1))

    def test_pipelined_after_starttls_is_discarded(self):
        c = Smtp(self.m.port)
        c.ehlo()
        # MAIL rides in the same packet as STARTTLS, in the clear: it must
        # never run, neither before the handshake nor after it.
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@example.test>\r\n")
        self.assertEqual(c.reply().code, 220)
        self.assertEqual(c.buf, b"", "nothing may follow the 220 in clear")
        s = client_ctx().wrap_socket(c.sock)
        t = Smtp.wrap(s)
        t.ehlo()
        self.assertEqual(t.cmd("RCPT TO:<postmaster@localhost>").code, 503,
                         "the injected MAIL must not have run")
        self.assertEqual(t.cmd("QUIT").code, 221)
        t.close()
        self.m.wait_log(r"discarded 31 bytes pipelined after STARTTLS from "
                        r"\[127\.0\.0\.1\]")

    def test_session_starts_over_after_starttls(self):
        c = Smtp(self.m.port)
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<s@example.test>").code, 250)
        self.assertEqual(c.cmd("STARTTLS").code, 220)
        t = Smtp.wrap(client_ctx().wrap_socket(c.sock))
        r = t.cmd("RCPT TO:<postmaster@localhost>")
        self.assertEqual(r.code, 503, "the transaction before STARTTLS is gone")
        self.assertEqual(t.cmd("MAIL FROM:<s@example.test>").code, 503,
                         "HELO/EHLO is needed again")
        t.ehlo()
        self.assertEqual(t.cmd("MAIL FROM:<s@example.test>").code, 250)
        t.cmd("QUIT")
        t.close()

    def test_starttls_syntax_and_repeat(self):
        c = Smtp(self.m.port)
        c.ehlo()
        self.assertEqual(c.cmd("STARTTLS now").code, 501)
        self.assertEqual(c.cmd("STARTTLS").code, 220)
        t = Smtp.wrap(client_ctx().wrap_socket(c.sock))
        t.ehlo()
        self.assertEqual(t.cmd("STARTTLS").code, 503)
        t.cmd("QUIT")
        t.close()

    def test_tls_1_1_is_refused(self):
        rc, out = s_client(["-connect", "127.0.0.1:%d" % self.ports["smtps"],
                            "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], b"")
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"(?i)alert protocol version|unsupported protocol")
        rc, out = s_client(["-connect", "127.0.0.1:%d" % self.ports["smtps"],
                            "-tls1_2", "-brief"], b"QUIT\r\n")
        self.assertEqual(rc, 0, out)
        self.assertIn("TLSv1.2", out)

    def test_sessions_resume_on_any_worker(self):
        self.assertEqual(len(self.m.pids("mta-smtpd")), 2)
        ctx = client_ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        session = None
        resumed = 0
        for _ in range(8):
            with socket.create_connection(("127.0.0.1", self.ports["smtps"]),
                                          timeout=10 * SLOW) as raw, \
                    ctx.wrap_socket(raw, session=session) as s:
                c = Smtp.wrap(s)
                c.reply()               # the greeting; the ticket came first
                resumed += s.session_reused
                session = s.session
                c.cmd("QUIT")
        self.assertEqual(resumed, 7, "every connection after the first resumes")
        self.m.wait_log(r"TLS with \[127\.0\.0\.1\]: TLSv1\.3 \S+ \(resumed\)")

    def test_any_server_name_gets_the_one_certificate(self):
        for sni in ("other.example", "x" * 250, "127.0.0.1"):
            with self.subTest(sni=sni[:20]):
                rc, out = s_client(["-connect", "127.0.0.1:%d" % self.ports["smtps"],
                                    "-servername", sni, "-brief"], b"QUIT\r\n")
                self.assertEqual(rc, 0, out)
                self.assertIn("CN = " + self.m.conf["hostname"], out)
                self.assertIn("221 2.0.0 Bye", out)

    def test_garbage_instead_of_a_client_hello(self):
        before = self.m.daemon_pids()
        with socket.create_connection(("127.0.0.1", self.ports["smtps"]),
                                      timeout=10 * SLOW) as s:
            s.sendall(b"EHLO client.example\r\n" * 100)
            s.settimeout(10 * SLOW)
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            self.assertNotIn(b"220 ", data, "no plaintext greeting on smtps")
        self.m.wait_log(r"TLS failed with \[127\.0\.0\.1\]")
        self.assertNoRestarts(self.m, before)
        with socket.create_connection(("127.0.0.1", self.ports["smtps"])) as raw, \
                client_ctx().wrap_socket(raw) as s:
            self.assertTrue(Smtp.wrap(s).reply().text.startswith("220 "))

    # ---------------------------------------------------------- POP3

    def test_pop3_stls_then_login(self):
        p = poplib.POP3("127.0.0.1", self.ports["pop3"], timeout=10 * SLOW)
        caps = p.capa()
        self.assertIn("STLS", caps)
        self.assertNotIn("USER", caps, "no plaintext login offered")
        with self.assertRaises(poplib.error_proto) as e:
            p.user(USER)
        self.assertIn(b"[AUTH]", e.exception.args[0])
        p.stls(context=client_ctx(self.cert))
        caps = p.capa()
        self.assertIn("USER", caps)
        self.assertNotIn("STLS", caps)
        p.user(USER)
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0], 0)
        p.quit()

    def test_pop3_stls_and_pop3s_with_openssl(self):
        login = ("USER %s\r\nPASS %s\r\nSTAT\r\nQUIT\r\n" % (USER, PASSWORD)).encode()
        for args in (["-connect", "127.0.0.1:%d" % self.ports["pop3"],
                      "-starttls", "pop3"],
                     ["-connect", "127.0.0.1:%d" % self.ports["pop3s"]]):
            with self.subTest(args=args[-1]):
                rc, out = s_client(args + ["-brief"], login)
                self.assertEqual(rc, 0, out)
                self.assertRegex(out, r"Protocol version: TLSv1\.[23]")
                self.assertIn("+OK mailbox locked and ready", out)
                self.assertRegex(out, r"\+OK \d+ \d+")

    def test_pop3s_with_poplib_and_curl(self):
        p = poplib.POP3_SSL("127.0.0.1", self.ports["pop3s"], timeout=10 * SLOW,
                            context=client_ctx(self.cert))
        self.assertNotIn("STLS", p.capa())
        p.user(USER)
        p.pass_(PASSWORD)
        p.quit()
        if shutil.which("curl"):
            r = subprocess.run(["curl", "-sS", "-k", "--max-time", str(20 * SLOW),
                                "--user", "%s:%s" % (USER, PASSWORD),
                                "pop3s://127.0.0.1:%d/" % self.ports["pop3s"]],
                               capture_output=True, timeout=30 * SLOW)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_pipelined_after_stls_is_discarded(self):
        with socket.create_connection(("127.0.0.1", self.ports["pop3"]),
                                      timeout=10 * SLOW) as s:
            f = s.makefile("rb")
            self.assertTrue(f.readline().startswith(b"+OK"))
            s.sendall(b"STLS\r\nUSER " + USER.encode() + b"\r\n")
            self.assertTrue(f.readline().startswith(b"+OK Begin TLS"))
            t = client_ctx().wrap_socket(s)
            t.sendall(b"PASS " + PASSWORD.encode() + b"\r\n")
            answer = t.recv(1000)
            self.assertTrue(answer.startswith(b"-ERR USER first"), answer)
            t.close()
        self.m.wait_log(r"discarded \d+ bytes pipelined after STLS")


class TlsConfig(MtaTestCase):
    def test_configured_certificate_and_reload_on_sighup(self):
        m = self.mta(start=False)
        first = make_leaf(m.top, "first.example")
        m.conf.update(tls_cert_file=first[0], tls_key_file=first[1],
                      smtps_listen="127.0.0.1:%d" % free_port())
        m.write_conf()
        m.start()
        port = int(m.conf["smtps_listen"].rsplit(":", 1)[1])
        self.assertFalse(os.path.exists(os.path.join(m.state_dir, "tls", "cert.pem")),
                         "nothing generated when a certificate is configured")

        def cn(cafile):
            with socket.create_connection(("127.0.0.1", port)) as raw, \
                    client_ctx(cafile).wrap_socket(raw) as s:
                return peer_cn(s)
        self.assertEqual(cn(first[0]), "first.example")
        second = make_leaf(m.top, "second.example")
        m.conf.update(tls_cert_file=second[0], tls_key_file=second[1])
        m.write_conf()
        old = m.pids("mta-smtpd")
        m.proc.send_signal(signal.SIGHUP)
        m.wait_pids("mta-smtpd", count=len(old), exclude=old)
        # An old worker still shares the listening socket until it exits
        # and would answer a connection it takes while stopping with 421.
        self.assertEqual(wait_gone(old, 10 * SLOW), [])
        self.assertEqual(cn(second[0]), "second.example")

    def test_a_key_that_does_not_match_stops_the_start(self):
        m = self.mta(start=False)
        a = make_leaf(m.top, "a.example")
        b = make_leaf(m.top, "b.example")
        m.conf.update(tls_cert_file=a[0], tls_key_file=b[1])
        m.write_conf()
        m.start(wait=False)
        self.assertNotEqual(m.wait_exit(), 0)
        self.assertRegex(m.log(), r"TLS: tls_key_file does not match tls_cert_file")

    def test_a_missing_configured_certificate_stops_the_start(self):
        m = self.mta(start=False)
        m.conf.update(tls_cert_file=os.path.join(m.top, "nope.pem"))
        m.write_conf()
        m.start(wait=False)
        self.assertNotEqual(m.wait_exit(), 0)
        self.assertRegex(m.log(), r"TLS: .*nope\.pem: No such file")


if __name__ == "__main__":
    unittest.main()
