"""SMTP AUTH (RFC 4954) in mta-smtpd with real clients: Python smtplib
(PLAIN and LOGIN), swaks --auth and raw sockets.  Accounts come from
`mtactl user add --password-stdin` (yescrypt).  With auth_plaintext_loopback
= yes (what `make run` users and these tests use): logins, a wrong password
answered 535 5.7.8 only after smtpd_auth_fail_delay, brute force blocked
with 421 4.7.0 (the limit set low), the Received: header (ESMTPA and the
identity) and the log lines, relaying for an authenticated client outside
mynetworks (mynetworks empty) while an anonymous one gets 554 5.7.1, a user
who cannot send as another (553 5.7.1), and a client that hangs up while
its password is checked, and cached logins (auth_cache_ttl) ended by a
password change or a deleted account.  With the default (no): AUTH is not offered and
gets 530 5.7.0 before TLS; after STARTTLS (smtplib starttls(), swaks
--tls) it works, and the submission port wants AUTH before MAIL."""
import base64
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import time
import unittest

from mtatest import Mta, SLOW, Smtp, free_port, queue_id, split_received

ALICE, ALICE_PW = "alice@localhost", "alice pass 1"
BOB, BOB_PW = "bob@localhost", "bob-pass-2"
DELAY = 1                       # smtpd_auth_fail_delay, seconds
REMOTE = "friend@remote.example"    # relayed: stays deferred in the queue


def plain(user, password, authzid=""):
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, password)).encode()).decode()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def start_mta(aliases=None, **conf):
    """An instance with ALICE and BOB in users_file (added before the start,
    so the first check already sees them)."""
    base = dict(smtpd_workers=1, remote_workers=1, mynetworks="",
                smtpd_auth_fail_delay=DELAY)
    base.update(conf)
    m = Mta(None, start=False, **base)
    os.makedirs(m.state_dir, exist_ok=True)
    if aliases is not None:
        path = os.path.join(m.top, "aliases")
        with open(path, "w") as f:
            f.write(aliases)
        os.chmod(path, 0o644)
        m.conf["aliases_file"] = path
        m.write_conf()
    for user, pw in ((ALICE, ALICE_PW), (BOB, BOB_PW)):
        m.add_user(user, pw)
    m.start()
    return m


def wait_maildir(m, user, needle, timeout=None):
    """The content of the message in user's Maildir (new/) holding needle."""
    local, domain = user.split("@")
    new = os.path.join(m.state_dir, "mail", domain, local, "Maildir", "new")
    deadline = time.monotonic() + (timeout or 10 * SLOW)
    while time.monotonic() < deadline:
        for name in os.listdir(new) if os.path.isdir(new) else ():
            with open(os.path.join(new, name), "rb") as f:
                data = f.read()
            if needle in data:
                return data
        time.sleep(0.05)
    m.fail("no message with %r in %s" % (needle, new))


def smtp_client(m, port=None):
    return smtplib.SMTP("127.0.0.1", port or m.port, local_hostname="client.example",
                        timeout=10 * SLOW)


def send(s, sender, rcpts, msg):
    """MAIL, RCPT..., DATA over smtplib: the queue ID of the 250."""
    code, text = s.mail(sender)
    assert code == 250, (code, text)
    for r in rcpts:
        code, text = s.rcpt(r)
        assert code == 250, (code, text)
    code, text = s.data(msg)
    return queue_id("%d %s" % (code, text.decode()))


def message(sender, rcpt, subject):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nbody of %s\r\n"
            % (sender, rcpt, subject, subject)).encode()


class AuthBase(unittest.TestCase):
    conf = {}
    aliases = None

    @classmethod
    def setUpClass(cls):
        cls.m = start_mta(cls.aliases, **cls.conf)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.m.stop()        # a clean exit: no sanitizer report, no leak
        finally:
            cls.m.cleanup()

    def login(self, user=ALICE, password=ALICE_PW, mech=None):
        s = smtp_client(self.m)
        self.addCleanup(s.close)
        s.ehlo()
        if mech is not None:
            s.esmtp_features["auth"] = mech     # what login() may choose
        code, _ = s.login(user, password)
        self.assertEqual(code, 235)
        return s


class AuthLoopback(AuthBase):
    """auth_plaintext_loopback = yes, mynetworks empty."""
    conf = dict(auth_plaintext_loopback="yes", smtpd_auth_fail_limit=100)
    aliases = "sales@localhost: alice@localhost, bob@localhost\n"

    def test_ehlo_offers_plain_and_login(self):
        s = smtp_client(self.m)
        self.addCleanup(s.close)
        s.ehlo()
        self.assertTrue(s.has_extn("auth"), s.esmtp_features)
        self.assertEqual(s.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
        s.login(ALICE, ALICE_PW)
        code, text = s.ehlo()
        self.assertEqual(code, 250)
        self.assertNotIn(b"AUTH", text, "AUTH offered again after success")

    def test_plain_login_received_header_and_log(self):
        before = len(self.m.log())
        s = self.login(mech="PLAIN")
        qid = send(s, ALICE, [REMOTE], message(ALICE, REMOTE, "plain"))
        hdr, _ = split_received(self.m.cat(qid))
        self.assertIn(b"\t(Authenticated sender: alice@localhost)\r\n", hdr)
        self.assertRegex(hdr, rb"with ESMTPA\r\n")
        self.m.wait_log(r"%s: client=\[127\.0\.0\.1\], sasl_method=PLAIN, "
                        r"sasl_username=alice@localhost, from=<alice@localhost>" % qid,
                        since=before)
        self.m.wait_log(r"mta-smtpd\[\d+\]: client=\[127\.0\.0\.1\], "
                        r"sasl_method=PLAIN, sasl_username=alice@localhost\n",
                        since=before)
        # Without AUTH (to a local user: mynetworks is empty): plain
        # ESMTP, no identity, as delivered into the Maildir.
        with Smtp(self.m.port) as c:
            c.ehlo()
            c.send_message(BOB, [ALICE], message(BOB, ALICE, "anon"))
        stored = wait_maildir(self.m, ALICE, b"Subject: anon")
        self.assertRegex(stored, rb"Received: from client\.example \(rdns-unknown "
                                 rb"\[127\.0\.0\.1\]\)\r?\n\tby test\.example \(mta\) "
                                 rb"with ESMTP\r?\n")
        self.assertNotIn(b"Authenticated", stored)

    def test_login_mechanism(self):
        before = len(self.m.log())
        s = self.login(BOB, BOB_PW, mech="LOGIN")
        s.sendmail(BOB, [ALICE], message(BOB, ALICE, "login"))
        self.m.wait_log(r"sasl_method=LOGIN, sasl_username=bob@localhost, "
                        r"from=<bob@localhost>", since=before)

    def test_login_prompts_raw(self):
        with Smtp(self.m.port) as c:
            c.ehlo()
            self.assertEqual(c.cmd("AUTH LOGIN").text, "334 VXNlcm5hbWU6")
            self.assertEqual(c.cmd(b64(ALICE)).text, "334 UGFzc3dvcmQ6")
            self.assertEqual(c.cmd(b64(ALICE_PW)).text, "235 2.7.0 Authentication successful")
            self.assertEqual(c.cmd("AUTH PLAIN " + plain(ALICE, ALICE_PW)).text,
                             "503 5.5.1 Error: already authenticated")

    def test_cancel_and_bad_base64(self):
        with Smtp(self.m.port) as c:
            c.ehlo()
            self.assertEqual(c.cmd("AUTH PLAIN").text, "334 ")
            self.assertEqual(c.cmd("*").text, "501 5.0.0 Authentication aborted")
            self.assertEqual(c.cmd("AUTH PLAIN " + plain(ALICE, ALICE_PW)[:-1]).code, 501)
            self.assertEqual(c.cmd("AUTH PLAIN " + plain(ALICE, ALICE_PW, BOB)).text,
                             "535 5.7.8 Authentication credentials invalid")
            self.assertEqual(c.cmd("MAIL FROM:<x@example.test>").code, 250)
            self.assertEqual(c.cmd("AUTH PLAIN " + plain(ALICE, ALICE_PW)).text,
                             "503 5.5.1 Error: MAIL transaction in progress")

    def test_wrong_password_gets_535_after_the_delay(self):
        before = len(self.m.log())
        with Smtp(self.m.port) as c:
            c.ehlo()
            t0 = time.monotonic()
            r = c.cmd("AUTH PLAIN " + plain(ALICE, "not the password"))
            waited = time.monotonic() - t0
            self.assertEqual(r.text, "535 5.7.8 Authentication credentials invalid")
            self.assertGreaterEqual(waited, DELAY, "535 before smtpd_auth_fail_delay")
            # The session goes on: a right password still works.
            self.assertEqual(c.cmd("AUTH PLAIN " + plain(ALICE, ALICE_PW)).code, 235)
        log = self.m.log()[before:]
        self.assertRegex(log, r"authentication failed: client=\[127\.0\.0\.1\], "
                              r"sasl_method=PLAIN, sasl_username=alice@localhost")
        self.assertNotIn("not the password", log)
        self.assertNotIn(ALICE_PW, log)

    def test_unknown_user_is_535(self):
        s = smtp_client(self.m)
        self.addCleanup(s.close)
        s.ehlo()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
            s.login("nobody@localhost", ALICE_PW)
        self.assertEqual(e.exception.smtp_code, 535)

    def test_authenticated_client_may_relay_anonymous_may_not(self):
        with Smtp(self.m.port) as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<alice@localhost>").code, 250)
            r = c.cmd("RCPT TO:<friend@remote.example>")
            self.assertEqual(r.code, 554, r)
            self.assertIn("5.7.1", r.text)
        s = self.login()
        s.ehlo()
        self.assertEqual(s.sendmail(ALICE, ["friend@remote.example"],
                                    message(ALICE, "friend@remote.example", "relay")), {})

    def test_cannot_send_as_another_user(self):
        s = self.login()
        with self.assertRaises(smtplib.SMTPSenderRefused) as e:
            s.sendmail(BOB, [ALICE], message(BOB, ALICE, "forged"))
        self.assertEqual(e.exception.smtp_code, 553)
        self.assertIn(b"5.7.1 Sender address rejected: not owned by user alice@localhost",
                      e.exception.smtp_error)
        s.rset()
        with self.assertRaises(smtplib.SMTPSenderRefused):
            s.sendmail("alice@remote.example", [ALICE], message(ALICE, ALICE, "x"))
        s.rset()
        # Its own address in any case, an alias that includes it, and <>.
        self.assertEqual(s.sendmail("ALICE@LocalHost", [BOB], message(ALICE, BOB, "case")), {})
        self.assertEqual(s.sendmail("sales@localhost", [BOB], message(ALICE, BOB, "alias")), {})
        self.assertEqual(s.sendmail("<>", [BOB], message(ALICE, BOB, "null")), {})

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks_auth(self):
        for mech in ("PLAIN", "LOGIN"):
            r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.m.port,
                                "--ehlo", "client.example", "--auth", mech,
                                "--auth-user", ALICE, "--auth-password", ALICE_PW,
                                "--from", ALICE, "--to", "friend@remote.example"],
                               capture_output=True, timeout=30 * SLOW)
            out = r.stdout.decode(errors="replace")
            self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
            self.assertIn("235 2.7.0 Authentication successful", out)
            qid = queue_id(re.search(r"<-  (250 2\.0\.0 Ok: queued as \S+)", out).group(1))
            hdr, _ = split_received(self.m.cat(qid))
            self.assertIn(b"ESMTPA", hdr)
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.m.port,
                            "--auth", "PLAIN", "--auth-user", ALICE,
                            "--auth-password", "wrong", "--from", ALICE, "--to", BOB],
                           capture_output=True, timeout=30 * SLOW)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("535 5.7.8", r.stdout.decode(errors="replace"))

    def test_hang_up_while_the_password_is_checked(self):
        """The session goes away with a check (and its delay) in flight:
        smtpd must not touch it afterwards (ASan build: no report), and it
        keeps serving."""
        pids = self.m.pids("mta-smtpd")
        for pw in (ALICE_PW, "wrong"):
            for _ in range(5):
                c = Smtp(self.m.port)
                c.ehlo()
                c.send("AUTH PLAIN %s\r\nMAIL FROM:<alice@localhost>\r\n" % plain(ALICE, pw))
                c.close()
        time.sleep(DELAY + 0.5)     # let the delayed failures come due
        self.login().noop()
        self.assertEqual(self.m.pids("mta-smtpd"), pids, "smtpd restarted")
        self.m.check_log_clean()

    def test_pipelined_auth_and_mail(self):
        with Smtp(self.m.port) as c:
            c.ehlo()
            c.send("AUTH PLAIN %s\r\nMAIL FROM:<alice@localhost>\r\n"
                   "RCPT TO:<friend@remote.example>\r\n" % plain(ALICE, ALICE_PW))
            self.assertEqual([r.code for r in c.replies(3)], [235, 250, 250])

    def test_long_auth_line_and_long_password(self):
        with Smtp(self.m.port) as c:
            c.ehlo()
            long_pw = "x" * 9000            # longer than any password may be
            r = c.cmd("AUTH PLAIN " + plain(ALICE, long_pw))
            self.assertEqual(r.text, "535 5.7.8 Authentication credentials invalid")
            r = c.cmd("AUTH PLAIN " + "A" * 12300)
            self.assertEqual(r.text, "500 5.5.6 Authentication exchange line is too long")
            self.assertEqual(c.cmd("NOOP " + "y" * 3000).text, "500 5.5.0 Line too long")
            self.assertEqual(c.cmd("NOOP").code, 250)


class AuthBruteForce(AuthBase):
    """A low smtpd_auth_fail_limit: the address is locked out."""
    conf = dict(auth_plaintext_loopback="yes", smtpd_auth_fail_limit=3,
                smtpd_auth_fail_window="1h")

    def test_brute_force_is_blocked(self):
        before = len(self.m.log())
        for i in range(4):                  # a new connection each time
            with Smtp(self.m.port) as c:
                c.ehlo()
                r = c.cmd("AUTH PLAIN " + plain(ALICE, "guess %d" % i))
                self.assertEqual(r.text, "535 5.7.8 Authentication credentials invalid")
        with Smtp(self.m.port) as c:
            c.ehlo()
            r = c.cmd("AUTH PLAIN " + plain(ALICE, ALICE_PW))
            self.assertEqual(r.text, "421 4.7.0 Too many authentication failures")
            self.assertEqual(c.closed(), b"")
        s = smtp_client(self.m)
        self.addCleanup(s.close)
        s.ehlo()
        with self.assertRaises((smtplib.SMTPAuthenticationError,
                                smtplib.SMTPServerDisconnected)):
            s.login(BOB, BOB_PW)
        log = self.m.log()[before:]
        self.assertEqual(len(re.findall(r"authentication failed: client=\[127\.0\.0\.1\]",
                                        log)), 4, log)
        self.assertRegex(log, r"authentication refused: client=\[127\.0\.0\.1\] "
                              r"\(too many failures\)")


class AuthCache(AuthBase):
    """Logins verified within auth_cache_ttl (on by default) skip the
    password hash; the accounts file still decides: a changed password
    or a deleted account is refused as soon as smtpd has reloaded it."""
    conf = dict(auth_plaintext_loopback="yes", smtpd_auth_fail_limit=100)

    def login_code(self, user, password):
        with Smtp(self.m.port) as c:
            c.ehlo()
            return c.cmd("AUTH PLAIN " + plain(user, password)).code

    def until_refused(self, user, password):
        deadline = time.monotonic() + 10 * SLOW
        while self.login_code(user, password) == 235:
            self.assertLess(time.monotonic(), deadline,
                            "%s still logs in with the old password" % user)
            time.sleep(0.2)

    def test_password_change_and_deletion_end_cached_logins(self):
        for _ in range(3):                  # the 2nd and 3rd are cache hits
            self.assertEqual(self.login_code(ALICE, ALICE_PW), 235)
            self.assertEqual(self.login_code(BOB, BOB_PW), 235)
        self.assertEqual(self.login_code(ALICE, ALICE_PW + "x"), 535)
        r = self.m.ctl("user", "passwd", ALICE, "--password-stdin",
                       input=b"alice new pass\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.m.ctl("user", "del", BOB)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.until_refused(ALICE, ALICE_PW)
        self.until_refused(BOB, BOB_PW)
        self.assertEqual(self.login_code(ALICE, "alice new pass"), 235)
        self.assertEqual(self.login_code(ALICE, ALICE_PW), 535)


class AuthDefault(AuthBase):
    """The defaults: no AUTH without TLS, not even from loopback."""

    @classmethod
    def setUpClass(cls):
        cls.sub_port, cls.smtps_port = free_port(), free_port()
        cls.conf = dict(submission_listen="127.0.0.1:%d" % cls.sub_port,
                        smtps_listen="127.0.0.1:%d" % cls.smtps_port)
        super().setUpClass()

    def test_no_auth_before_tls(self):
        with Smtp(self.m.port) as c:
            r = c.ehlo()
            self.assertNotIn("AUTH", r.text)
            self.assertEqual(c.cmd("AUTH PLAIN " + plain(ALICE, ALICE_PW)).text,
                             "530 5.7.0 Must issue a STARTTLS command first")
            self.assertEqual(c.cmd("AUTH LOGIN").code, 530)

    def tls_ctx(self):
        return ssl._create_unverified_context()      # noqa: SLF001 (self-signed)

    def test_starttls_then_login(self):
        s = smtp_client(self.m)
        self.addCleanup(s.close)
        s.ehlo()
        self.assertTrue(s.has_extn("starttls"), "no STARTTLS offered")
        s.starttls(context=self.tls_ctx())
        s.ehlo()
        self.assertEqual(s.esmtp_features.get("auth", "").split(), ["PLAIN", "LOGIN"])
        s.login(ALICE, ALICE_PW)
        self.assertEqual(s.sendmail(ALICE, ["friend@remote.example"],
                                    message(ALICE, "friend@remote.example", "tls")), {})
        self.m.wait_log(r"sasl_method=PLAIN, sasl_username=alice@localhost, from=<alice@")

    def test_submission_requires_auth(self):
        s = smtp_client(self.m, self.sub_port)
        self.addCleanup(s.close)
        s.ehlo()
        code, text = s.mail(ALICE)
        self.assertEqual((code, text), (530, b"5.7.0 Authentication required"))
        s.starttls(context=self.tls_ctx())
        s.ehlo()
        s.login(ALICE, ALICE_PW)
        self.assertEqual(s.sendmail(ALICE, [BOB], message(ALICE, BOB, "submission")), {})

    def test_smtps_requires_auth(self):
        s = smtplib.SMTP_SSL("127.0.0.1", self.smtps_port, local_hostname="client.example",
                             timeout=10 * SLOW, context=self.tls_ctx())
        self.addCleanup(s.close)
        s.ehlo()
        self.assertEqual(s.esmtp_features.get("auth", "").split(), ["PLAIN", "LOGIN"])
        self.assertEqual(s.mail(BOB)[0], 530)
        s.rset()
        s.login(BOB, BOB_PW)
        with self.assertRaises(smtplib.SMTPSenderRefused):
            s.sendmail(ALICE, [REMOTE], message(ALICE, REMOTE, "forged"))
        s.rset()
        qid = send(s, BOB, [REMOTE], message(BOB, REMOTE, "smtps"))
        hdr, _ = split_received(self.m.cat(qid))
        self.assertIn(b"with ESMTPSA", hdr)

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks_tls_auth(self):
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.sub_port,
                            "--ehlo", "client.example", "--tls", "--auth", "LOGIN",
                            "--auth-user", BOB, "--auth-password", BOB_PW,
                            "--from", BOB, "--to", "friend@remote.example"],
                           capture_output=True, timeout=30 * SLOW)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
        qid = queue_id(re.search(r"<~  (250 2\.0\.0 Ok: queued as \S+)", out).group(1))
        hdr, _ = split_received(self.m.cat(qid))
        self.assertIn(b"with ESMTPSA", hdr)
        self.assertIn(b"(Authenticated sender: bob@localhost)", hdr)


if __name__ == "__main__":
    unittest.main()
