"""Mailboxes end to end, as a user sees them: a message goes in with
Python smtplib and comes out with Python poplib, through the real smtpd,
queue writer, qmgr, mta-local and mta-pop3d of one master.

- smtplib to alice@localhost: poplib RETR gives exactly the bytes sent,
  preceded by Return-Path:, Delivered-To: and our Received: header, with
  CRLF endings and a LIST size equal to the octets on the wire; DELE then
  QUIT empties the mailbox.
- an alias fan-out to two local users and one remote address: both local
  users read the message over POP3, the sink gets it once for the remote.
- a message to an unknown local user is refused at RCPT (550 5.1.1) and
  nothing is queued.
- a delivery loop (Delivered-To: naming the recipient) is bounced: the
  sender, a local user, reads an RFC 3464 report over POP3.

Accounts are made with `mtactl user add --password-stdin`, as an
administrator would.
"""
import email
import email.policy
import os
import poplib
import re

from mtatest import SLOW, MtaTestCase, free_port
from relayfix import Sink, relay_mta, status_lines, wait_until

PASSWORD = "correct horse battery"
USERS = ("alice@localhost", "bob@localhost", "sender@localhost")
ALIASES = "team: alice, bob@localhost, dave@remote.example\n"


class MailboxEndToEnd(MtaTestCase):

    def setUp(self):
        self.sink = Sink(self, store=True)
        self.pop_port = free_port()
        m = relay_mta(self, start=False, transport={"remote.example": self.sink.hop},
                      pop3_listen="127.0.0.1:%d" % self.pop_port)
        aliases = os.path.join(m.top, "aliases")
        with open(aliases, "w") as f:
            f.write(ALIASES)
        os.chmod(aliases, 0o644)
        m.conf["aliases_file"] = aliases
        m.write_conf()
        os.makedirs(m.state_dir, exist_ok=True)
        for u in USERS:
            m.add_user(u, PASSWORD)
        m.start()
        wait_until(lambda: m.pids("mta-local") and m.pids("mta-pop3d"), 10,
                   "mta-local and mta-pop3d to run", m.fail)
        self.m = m

    def send(self, rcpts, data, sender="sender@localhost"):
        s = self.m.smtplib()
        try:
            refused = s.sendmail(sender, rcpts, data)
        finally:
            s.quit()
        self.assertEqual(refused, {})

    def wait_sent(self, rcpt, status="sent"):
        return wait_until(lambda: status_lines(self.m, status=status, rcpt=rcpt),
                          15 * SLOW, "status=%s for %s" % (status, rcpt), self.m.fail)[0]

    def pop(self, user):
        p = poplib.POP3("127.0.0.1", self.pop_port, timeout=10 * SLOW)
        self.addCleanup(p.close)
        p.user(user)
        p.pass_(PASSWORD)
        return p

    def retr_all(self, user):
        """Every message in user's mailbox, as the bytes on the wire (CRLF
        lines, dot-unstuffed by poplib), then DELE all and QUIT."""
        p = self.pop(user)
        count, _ = p.stat()
        out = []
        for i in range(1, count + 1):
            resp, lines, octets = p.retr(i)
            raw = b"".join(l + b"\r\n" for l in lines)
            size = int(p.list(i).split()[2])
            # LIST gives the message's octets with CRLF endings, before
            # byte-stuffing; poplib counts the same after unstuffing.
            self.assertEqual(size, octets)
            out.append(raw)
            p.dele(i)
        p.quit()
        return out

    def test_smtplib_in_poplib_out_exact_bytes(self):
        data = (b"From: Sender <sender@localhost>\r\nTo: alice@localhost\r\n"
                b"Subject: end to end\r\nMessage-ID: <e2e.1@localhost>\r\n\r\n"
                b"first line\r\n.a line that starts with a dot\r\n..two dots\r\n"
                b"\r\nlast line\r\n")
        self.send(["alice@localhost"], data)
        d = self.wait_sent("alice@localhost")
        got = self.retr_all("alice@localhost")
        self.assertEqual(len(got), 1)
        raw = got[0]
        head = b"Return-Path: <sender@localhost>\r\nDelivered-To: alice@localhost\r\n"
        self.assertTrue(raw.startswith(head), raw[:200])
        received = raw[len(head):len(raw) - len(data)]
        self.assertTrue(raw.endswith(data), raw)
        self.assertRegex(received, rb"^Received: from client\.example \(rdns-unknown "
                         rb"\[127\.0\.0\.1\]\)\r\n\tby \S+ \(mta\) with ESMTP"
                         rb"\r\n\tfor <alice@localhost>; [^\r\n]+\r\n$")
        self.assertEqual(len(status_lines(self.m, qid=d["qid"])), 1)
        # DELE then QUIT really deleted it.
        p = self.pop("alice@localhost")
        self.assertEqual(p.stat(), (0, 0))
        p.quit()

    def test_alias_fan_out_two_local_one_remote(self):
        data = (b"From: <sender@localhost>\r\nTo: team@localhost\r\n"
                b"Subject: to the team\r\nMessage-ID: <team.1@localhost>\r\n\r\n"
                b"hello team\r\n")
        self.send(["team@localhost"], data)
        self.m.wait_log(r"alias <team@localhost> -> <alice@localhost>, "
                        r"<bob@localhost>, <dave@remote\.example>")
        for user in ("alice@localhost", "bob@localhost"):
            self.wait_sent(user)
            got = self.retr_all(user)
            self.assertEqual(len(got), 1, user)
            self.assertIn(b"\r\nDelivered-To: %s\r\n" % user.encode(), b"\r\n" + got[0])
            self.assertTrue(got[0].endswith(data))
        self.wait_sent("dave@remote.example")
        msgs = self.sink.wait_messages(1, fail=self.m.fail)
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"Message-ID: <team.1@localhost>", msgs[0])
        self.assertFalse(status_lines(self.m, rcpt="team@localhost"))

    def test_unknown_user_refused_at_rcpt(self):
        before = self.m.queued_ids()
        s = self.m.smtplib()
        s.ehlo("client.example")
        self.assertEqual(s.mail("sender@localhost")[0], 250)
        code, text = s.rcpt("nobody@localhost")
        self.assertEqual(code, 550, text)
        self.assertTrue(text.startswith(b"5.1.1 "), text)
        self.assertEqual(s.rcpt("alice@localhost")[0], 250)
        s.rset()
        s.quit()
        self.assertEqual(self.m.queued_ids(), before)
        self.m.wait_log(r"reject: RCPT from \[127\.0\.0\.1\]: 550 5\.1\.1 <nobody@localhost>")

    def test_delivery_loop_bounced_to_sender_mailbox(self):
        data = (b"Delivered-To: alice@localhost\r\nFrom: <sender@localhost>\r\n"
                b"Subject: looping\r\nMessage-ID: <loop.1@localhost>\r\n\r\nround\r\n")
        self.send(["alice@localhost"], data)
        self.wait_sent("alice@localhost", status="bounced")
        self.wait_sent("sender@localhost")      # the DSN, delivered locally
        dsns = self.retr_all("sender@localhost")
        self.assertEqual(len(dsns), 1)
        msg = email.message_from_bytes(dsns[0], policy=email.policy.default)
        self.assertEqual(msg["Return-Path"], "<>")
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        status = [p for p in msg.walk() if p.get_content_type() == "message/delivery-status"]
        self.assertEqual(len(status), 1)
        text = status[0].as_bytes()
        self.assertRegex(text, rb"Final-Recipient: rfc822; ?alice@localhost")
        self.assertRegex(text, rb"Action: failed")
        self.assertRegex(text, rb"Status: 5\.4\.6")
        self.assertIn(b"loop.1@localhost", dsns[0])
        # Nothing reached alice.
        p = self.pop("alice@localhost")
        self.assertEqual(p.stat(), (0, 0))
        p.quit()
