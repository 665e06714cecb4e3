"""The DSN builder (queue/dsn.c) as another implementation reads it:
Python's email package (policy.default) must parse each report as an
RFC 6522 multipart/report with an RFC 3464 message/delivery-status part,
without defects, whatever the remote servers said and whatever the
original's headers hold.  The reports come from tests/tools/dsn_dump,
built from a raw message or from a real queue file written by the MTA."""
import email
import email.policy
import email.utils
import os
import subprocess
import tempfile
import unittest

from mtatest import BUILD, SLOW, MtaTestCase

DSN_DUMP = os.path.join(BUILD, "tests", "tools", "dsn_dump")
NOW = 1764160000
ORIGINAL = (b"Received: from client.example ([192.0.2.1])\r\n"
            b"\tby mx.test.example; Wed, 26 Nov 2025 10:00:00 +0000\r\n"
            b"From: Alice <alice@example.test>\r\n"
            b"Subject: quarterly figures\r\n"
            b"Message-ID: <orig.1@example.test>\r\n"
            b"\r\n"
            b"the body stays home\r\n")


def headers_of(raw):
    return raw[:raw.index(b"\r\n\r\n") + 2] if b"\r\n\r\n" in raw else raw


@unittest.skipUnless(os.access(DSN_DUMP, os.X_OK),
                     "%s not built (make %s)" % (DSN_DUMP, DSN_DUMP))
class DsnFormat(MtaTestCase):

    def dump(self, original, rcpts, *opts, sender="alice@example.test"):
        """Run dsn_dump on a raw original; rcpts: (addr, status, remote, diag)."""
        with tempfile.NamedTemporaryFile(prefix="dsn-orig-") as f:
            f.write(original)
            f.flush()
            argv = [DSN_DUMP, "-t", str(NOW)] + list(opts) + ["-s", sender, f.name]
            for r in rcpts:
                argv += [x if x is not None else "-" for x in r]
            p = subprocess.run(argv, capture_output=True, timeout=20 * SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def parse(self, raw):
        """The report, checked for RFC 6522 structure; (msg, parts)."""
        for line in raw.split(b"\r\n")[:-1]:
            self.assertLessEqual(len(line), 998)
            self.assertNotIn(b"\n", line)
            self.assertNotIn(b"\r", line)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg.defects, [])
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        parts = list(msg.iter_parts())
        self.assertIn(len(parts), (2, 3))
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        self.assertEqual(parts[1].get_content_type(), "message/delivery-status")
        if len(parts) == 3:
            self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        for p in parts:
            self.assertEqual(p.defects, [], p.get_content_type())
        return msg, parts

    def blocks(self, part):
        """(per-message fields, [per-recipient fields]) as dicts."""
        blocks = part.get_payload()
        self.assertIsInstance(blocks, list)
        for b in blocks:
            self.assertEqual(b.defects, [])
        as_dict = [{k.lower(): str(v) for k, v in b.items()} for b in blocks]
        for d in as_dict:
            self.assertEqual(len(d), len(set(d)), "a field twice: %r" % d)
        return as_dict[0], as_dict[1:]

    def assertDate(self, text):
        dt = email.utils.parsedate_to_datetime(text)
        self.assertIsNotNone(dt.tzinfo, text)
        return dt

    def test_failed_report_every_field(self):
        raw = self.dump(ORIGINAL, [
            ("bob@example.net", "5.1.1", "mx.example.net",
             "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown"),
            ("carol@example.org", "5.4.4", None, None)])
        msg, parts = self.parse(raw)
        self.assertEqual(msg["From"].addresses[0].addr_spec, "MAILER-DAEMON@mx.test.example")
        self.assertEqual(msg["From"].addresses[0].display_name, "Mail Delivery System")
        self.assertEqual(msg["To"].addresses[0].addr_spec, "alice@example.test")
        self.assertEqual(msg["Subject"], "Undelivered Mail Returned to Sender")
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertRegex(msg["Message-ID"], r"^<[^<>@\s]+@mx\.test\.example>$")
        self.assertEqual(self.assertDate(msg["Date"]).timestamp(), NOW)

        text = parts[0].get_content()
        self.assertIn("mx.test.example", text)
        self.assertIn("<bob@example.net>", text)
        self.assertIn("Recipient address rejected", text)
        self.assertIn("<carol@example.org>", text)

        per_msg, rcpts = self.blocks(parts[1])
        self.assertEqual(per_msg["reporting-mta"], "dns; mx.test.example")
        self.assertDate(per_msg["arrival-date"])
        self.assertEqual(len(rcpts), 2)
        bob, carol = rcpts
        self.assertEqual(bob["final-recipient"], "rfc822; bob@example.net")
        self.assertEqual(bob["action"], "failed")
        self.assertEqual(bob["status"], "5.1.1")
        self.assertEqual(bob["remote-mta"], "dns; mx.example.net")
        self.assertEqual(bob["diagnostic-code"], "smtp; 550 5.1.1 <bob@example.net>: "
                         "Recipient address rejected: User unknown")
        self.assertEqual(self.assertDate(bob["last-attempt-date"]).timestamp(), NOW - 60)
        self.assertNotIn("will-retry-until", bob)
        self.assertEqual(carol["final-recipient"], "rfc822; carol@example.org")
        self.assertEqual(carol["status"], "5.4.4")
        self.assertNotIn("remote-mta", carol)
        self.assertNotIn("diagnostic-code", carol)

        returned = parts[2].get_payload(decode=True)
        self.assertEqual(returned, headers_of(ORIGINAL))
        self.assertNotIn(b"the body stays home", raw)

    def test_delay_warning(self):
        raw = self.dump(ORIGINAL, [("bob@example.net", "4.4.1", "mx.example.net",
                                    "451 4.4.1 try again later")], "-d")
        msg, parts = self.parse(raw)
        self.assertEqual(msg["Subject"], "Delayed Mail (still being retried)")
        _, rcpts = self.blocks(parts[1])
        self.assertEqual(rcpts[0]["action"], "delayed")
        self.assertEqual(rcpts[0]["status"], "4.4.1")
        until = self.assertDate(rcpts[0]["will-retry-until"])
        self.assertEqual(until.timestamp(), NOW + 3 * 86400)

    def test_hostile_remote_text(self):
        diag = ("550 nope\r\nX-Injected: 1\r\n\r\nFinal-Recipient: rfc822; evil@x\r"
                "\x1b[2J\x07" + "long " * 3000)
        raw = self.dump(ORIGINAL, [("bob@example.net", "5.7.1", "mx\r\nX-Evil: 1", diag),
                                   ("carol@example.org", "junk", None, "x" * 5000)])
        msg, parts = self.parse(raw)
        self.assertNotIn("X-Injected", msg)
        _, rcpts = self.blocks(parts[1])
        self.assertEqual([r["final-recipient"] for r in rcpts],
                         ["rfc822; bob@example.net", "rfc822; carol@example.org"])
        self.assertTrue(rcpts[0]["diagnostic-code"].startswith(
            "smtp; 550 nope X-Injected: 1 Final-Recipient: rfc822; evil@x"), rcpts[0])
        self.assertNotIn("\x1b", rcpts[0]["diagnostic-code"])
        self.assertEqual(rcpts[1]["status"], "5.0.0", "a bad status is replaced")
        self.assertNotIn("x-evil", rcpts[0])
        self.assertNotIn(b"\x1b", raw)

    def test_eight_bit_and_broken_headers_come_back_intact(self):
        original = (b"Subject: caf\xc3\xa9 \xe2\x82\xac\r\nX-Nul: a\x00b\r\nX-Lf: bare\nlf\r\n"
                    b"--=_not.a.boundary\r\nX-Long: " + b"y" * 2000 + b"\r\n\r\nbody\r\n")
        raw = self.dump(original, [("bob@example.net", "5.1.1", None, None)])
        self.assertTrue(all(b < 0x80 for b in raw), "the report is 7-bit")
        _, parts = self.parse(raw)
        self.assertEqual(parts[2]["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(parts[2].get_payload(decode=True), headers_of(original))

    def test_original_without_headers(self):
        raw = self.dump(b"\r\nonly a body\r\n", [("bob@example.net", "5.1.1", None, None)])
        _, parts = self.parse(raw)
        self.assertEqual(len(parts), 2)
        self.assertNotIn(b"only a body", raw)

    def test_utf8_recipient_and_sender(self):
        raw = self.dump(ORIGINAL, [("j\u00f6rg@b\u00fccher.example", "5.1.1", None, None)],
                        sender="\u00e9ric@example.test")
        msg, parts = self.parse(raw)
        # RFC 6532 UTF-8 header (Python reads 8-bit headers as surrogates).
        self.assertIn("\r\nTo: <\u00e9ric@example.test>\r\n".encode(), raw)
        self.assertIn("j\u00f6rg@b\u00fccher.example", parts[0].get_content())
        _, rcpts = self.blocks(parts[1])
        self.assertEqual(rcpts[0]["final-recipient"],
                         "utf-8; j\\x{F6}rg@b\\x{FC}cher.example")

    def test_many_recipients(self):
        n = 500
        rcpts = [("u%d@example.net" % i, "5.1.1", "mx.example.net", "550 unknown user %d" % i)
                 for i in range(n)]
        _, parts = self.parse(self.dump(ORIGINAL, rcpts))
        _, blocks = self.blocks(parts[1])
        self.assertEqual([b["final-recipient"] for b in blocks],
                         ["rfc822; u%d@example.net" % i for i in range(n)])
        self.assertEqual(blocks[-1]["diagnostic-code"], "smtp; 550 unknown user %d" % (n - 1))

    def test_from_a_real_queue_file(self):
        m = self.mta()
        data = b"From: alice@example.test\r\nSubject: real queue file\r\n\r\nbody\r\n"
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("alice@example.test", ["b@remote.example", "c@remote.example"],
                                 data)
        m.queue_file(qid)
        m.stop()
        p = subprocess.run([DSN_DUMP, m.queue_file(qid)], capture_output=True,
                           timeout=20 * SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        msg, parts = self.parse(p.stdout)
        self.assertEqual(msg["To"].addresses[0].addr_spec, "alice@example.test")
        per_msg, rcpts = self.blocks(parts[1])
        self.assertEqual(per_msg["x-queue-id"], qid)
        self.assertEqual([r["final-recipient"] for r in rcpts],
                         ["rfc822; b@remote.example", "rfc822; c@remote.example"])
        returned = parts[2].get_payload(decode=True)
        self.assertTrue(returned.startswith(b"Received: "), returned[:100])
        self.assertTrue(returned.endswith(b"Subject: real queue file\r\n"), returned)
