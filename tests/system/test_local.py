"""The local delivery agent (mta-local) end to end with the real master.

smtplib sends to alice@localhost: a file appears in
mail/localhost/alice/Maildir/new/ whose bytes are exactly Return-Path,
Delivered-To and the received message (Received: header included) with LF
endings, with S= and W= right, mode 0600 (directories 0700, owner the
local user under root), and the log says status=sent relay=local.  An
unknown user (via sendmail, which smtpd would refuse) and a delivery loop
are bounced with a DSN to the sender; over quota is deferred or bounced
per mailbox_quota_action; kill -9 of mta-local in the middle of a run loses
nothing (every message delivered at least once).
"""
import crypt
import glob
import os
import pwd
import re
import signal
import time

from mtatest import SLOW, MtaTestCase, is_root, scaled
from relayfix import relay_mta, status_lines, wait_status, wait_until

USERS = ("alice@localhost", "bob@localhost", "sender@localhost")


def maildir(m, user, sub="new"):
    local, dom = user.split("@")
    return os.path.join(m.state_dir, "mail", dom, local, "Maildir", sub)


def mail_files(m, user):
    return sorted(glob.glob(os.path.join(maildir(m, user), "*")) +
                  glob.glob(os.path.join(maildir(m, user, "cur"), "*")))


def wire_size(stored):
    """POP3 size: every LF as CRLF, plus a final CRLF if none ends it."""
    n = len(stored) + stored.count(b"\n")
    return n if stored.endswith(b"\n") or not stored else n + 2


class Local(MtaTestCase):

    def start(self, **conf):
        m = relay_mta(self, start=False, **conf)
        path = os.path.join(m.top, "users")
        h = crypt.crypt("secret", crypt.mksalt(crypt.METHOD_SHA512))
        with open(path, "w") as f:
            f.write("".join("%s:%s\n" % (u, h) for u in USERS))
        os.chmod(path, 0o644)
        m.conf["users_file"] = path
        m.write_conf()
        m.start()
        wait_until(lambda: m.pids("mta-local"), 10, "mta-local to run", m.fail)
        return m

    def send(self, m, rcpt, body=b"hello\r\n", headers=b"", sender="sender@localhost"):
        data = (b"From: <%s>\r\nSubject: local test\r\n" % sender.encode() +
                headers + b"\r\n" + body)
        s = m.smtplib()
        try:
            s.sendmail(sender, [rcpt], data)
        finally:
            s.quit()
        return data

    def qid_of(self, m, rcpt, status):
        return wait_until(lambda: [d["qid"] for d in status_lines(m, status=status, rcpt=rcpt)],
                          10 * SLOW, "status=%s for %s" % (status, rcpt), m.fail)[0]

    def test_delivery_bytes_sizes_modes_and_log(self):
        m = self.start()
        data = self.send(m, "alice@localhost", body=b"line 1\r\n.dot\r\nlast\r\n")
        qid = self.qid_of(m, "alice@localhost", "sent")
        files = wait_until(lambda: mail_files(m, "alice@localhost"), 5, "a file", m.fail)
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            stored = f.read()
        head = b"Return-Path: <sender@localhost>\nDelivered-To: alice@localhost\n"
        self.assertTrue(stored.startswith(head + b"Received: "), stored[:200])
        self.assertNotIn(b"\r", stored)
        self.assertTrue(stored.endswith(data.replace(b"\r\n", b"\n")), stored)
        name = os.path.basename(files[0])
        self.assertRegex(name, r",S=%d,W=%d$" % (len(stored), wire_size(stored)))
        st = os.stat(files[0])
        self.assertEqual(st.st_mode & 0o777, 0o600)
        for d in ("", "new", "cur", "tmp"):
            p = os.path.join(os.path.dirname(maildir(m, "alice@localhost")), d)
            self.assertEqual(os.stat(p).st_mode & 0o777, 0o700, p)
        self.assertEqual(os.stat(os.path.join(m.state_dir, "mail")).st_mode & 0o777, 0o700)
        if is_root():
            owner = pwd.getpwuid(st.st_uid).pw_name
            self.assertEqual(owner, m.conf.get("user_local", "mta-local"))
        lines = status_lines(m, qid=qid)
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(m.log(), r"mta-local\[\d+\]: %s: to=<alice@localhost>, "
                         r"relay=local, delay=[0-9.]+, dsn=2\.0\.0, "
                         r"status=sent \(delivered to maildir\)" % qid)

    def test_unknown_user_bounces_to_the_sender(self):
        m = self.start()
        r = m.sendmail(["-f", "sender@localhost", "nobody@localhost"],
                       b"Subject: to nobody\n\nhi\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_status(m, None, "bounced", rcpt="nobody@localhost")
        self.assertRegex(m.log(), r"to=<nobody@localhost>, relay=local, .*dsn=5\.1\.1, "
                         r"status=bounced \(unknown user\)")
        files = wait_until(lambda: mail_files(m, "sender@localhost"), 10 * SLOW,
                           "the DSN in sender's mailbox", m.fail)
        with open(files[0], "rb") as f:
            dsn = f.read()
        self.assertIn(b"Return-Path: <>\n", dsn)
        self.assertIn(b"nobody@localhost", dsn)

    def test_loop_is_bounced(self):
        m = self.start()
        self.send(m, "alice@localhost", headers=b"Delivered-To: Alice@Localhost\r\n")
        self.qid_of(m, "alice@localhost", "bounced")
        self.assertRegex(m.log(), r"to=<alice@localhost>, relay=local, .*dsn=5\.4\.6, "
                         r"status=bounced \(mail forwarding loop\)")
        self.assertEqual(mail_files(m, "alice@localhost"), [])

    def test_quota_defer_then_bounce(self):
        m = self.start(mailbox_quota="2k")
        self.send(m, "alice@localhost")
        self.qid_of(m, "alice@localhost", "sent")
        self.send(m, "alice@localhost", body=b"x" * 3000 + b"\r\n")
        self.qid_of(m, "alice@localhost", "deferred")
        self.assertRegex(m.log(), r"dsn=4\.2\.2, status=deferred \(552 5\.2\.2 ")
        m.stop()
        m2 = self.start(mailbox_quota="2k", mailbox_quota_action="bounce")
        self.send(m2, "bob@localhost", body=b"y" * 3000 + b"\r\n")
        self.qid_of(m2, "bob@localhost", "bounced")
        self.assertRegex(m2.log(), r"dsn=5\.2\.2, status=bounced \(552 5\.2\.2 ")

    def test_kill_local_agent_loses_nothing(self):
        m = self.start()
        n = scaled(40, 10)
        for i in range(n):
            self.send(m, "bob@localhost", body=b"message %d\r\n" % i)
            if i == n // 2:
                for p in m.pids("mta-local"):
                    os.kill(p, signal.SIGKILL)
        m.ctl("flush")

        def all_there():
            got = set()
            for p in mail_files(m, "bob@localhost"):
                with open(p, "rb") as f:
                    mt = re.search(rb"message (\d+)", f.read())
                if mt:
                    got.add(int(mt.group(1)))
            if len(got) < n:
                m.ctl("flush")
            return len(got) == n
        wait_until(all_there, 20 * SLOW, "all %d messages in bob's mailbox" % n, m.fail)
