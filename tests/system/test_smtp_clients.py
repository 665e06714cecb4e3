"""Real SMTP clients against the real process tree: Python smtplib (plain,
8BITMIME/SMTPUTF8, several messages per session), raw pipelining, BDAT,
swaks, curl smtp://, the sendmail command, relay policy and the small
commands.  Each message test asserts the queue file holds exactly the bytes
sent plus the Received: header (mtactl cat ID, and the file on disk)."""
import os
import re
import shutil
import subprocess
import unittest

from mtatest import (HOSTNAME, SLOW, Mta, MtaTestCase, program, queue_id,
                     split_received)


def body(tag, extra=b""):
    """A CRLF message with a dot line (stuffed on the wire, not stored)."""
    return (b"From: Sender <sender@example.test>\r\n"
            b"To: Rcpt <rcpt@example.test>\r\n"
            b"Subject: system test " + tag.encode() + b"\r\n"
            b"Message-ID: <" + tag.encode() + b"@client.example>\r\n"
            b"\r\n"
            b"Hello, this is " + tag.encode() + b".\r\n"
            b".a line that starts with a dot\r\n"
            b"..and one with two\r\n"
            b"\r\n" + extra +
            b"-- \r\nthe end\r\n")


class Clients(MtaTestCase):
    """One instance shared by the client tests (each counts its own IDs)."""

    @classmethod
    def setUpClass(cls):
        cls.m = Mta(None)
        cls.addClassCleanup(cls.m.cleanup)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def envelope_has(self, qid, sender, *rcpts):
        """The queue file's envelope is exactly sender and rcpts."""
        env = self.m.envelope(qid)
        self.assertEqual(env["sender"], sender, env)
        self.assertEqual(sorted(env["rcpts"]), sorted(rcpts), env)

    # ---------------------------------------------------------- smtplib

    def test_greeting_and_ehlo_extensions(self):
        s = self.m.smtplib()
        try:
            code, msg = s.ehlo()
            self.assertEqual(code, 250)
            feats = s.esmtp_features
            for ext in ("pipelining", "size", "8bitmime", "enhancedstatuscodes",
                        "chunking", "smtputf8"):
                self.assertIn(ext, feats, "EHLO lacks %s: %r" % (ext, msg))
            self.assertEqual(feats["size"].strip(), str(50 * 1024 * 1024))
            self.assertTrue(msg.decode().startswith(HOSTNAME), msg)
        finally:
            s.quit()
        with self.m.smtp() as c:
            self.assertEqual(c.greeting.code, 220)
            self.assertIn(HOSTNAME, c.greeting.text)

    def test_smtplib_plain(self):
        data = body("smtplib-plain")
        s = self.m.smtplib()
        try:
            s.ehlo()
            self.assertEqual(s.mail("sender@example.test")[0], 250)
            self.assertEqual(s.rcpt("rcpt@example.test")[0], 250)
            code, msg = s.data(data)
        finally:
            s.quit()
        qid = queue_id("%d %s" % (code, msg.decode()))
        content = self.m.assert_stored(qid, data)
        hdr = split_received(content)[0]
        self.assertIn(b"client.example", hdr)
        self.envelope_has(qid, "sender@example.test", "rcpt@example.test")
        env = self.m.envelope(qid)
        self.assertEqual(env["origin"], "smtp", env)
        self.assertEqual(env["helo"], "client.example", env)
        self.assertIn("127.0.0.1", env["client"], env)
        # INTERFACE.md "Logs": the queue ID is the first field of a message's lines.
        self.m.wait_log(r"(?m)mta-smtpd\[\d+\]: %s: " % qid)
        self.m.wait_log(r"(?m)mta-qwriter\[\d+\]: %s: " % qid)

    def test_smtplib_sendmail_many_recipients(self):
        data = body("smtplib-many")
        rcpts = ["r%d@example.test" % i for i in range(5)] + ["x@remote.test"]
        before = self.m.queued_ids()
        s = self.m.smtplib()
        try:
            refused = s.sendmail("sender@example.test", rcpts, data)
        finally:
            s.quit()
        self.assertEqual(refused, {})
        new = self.m.wait_new_ids(before)
        self.assertEqual(len(new), 1, new)
        qid = new.pop()
        self.m.assert_stored(qid, data)
        self.envelope_has(qid, "sender@example.test", *rcpts)

    def test_smtplib_8bitmime_smtputf8(self):
        data = ("From: Jörg <jörg@example.test>\r\nTo: 用户@example.test\r\n"
                "Subject: grüße\r\n\r\nÄÖÜ 8-bit body ✓\r\n").encode()
        s = self.m.smtplib()
        try:
            s.ehlo()
            code, msg = s.mail("jörg@example.test", ["BODY=8BITMIME", "SMTPUTF8"])
            self.assertEqual(code, 250, msg)
            code, msg = s.rcpt("用户@example.test")
            self.assertEqual(code, 250, msg)
            code, msg = s.data(data)
        finally:
            s.quit()
        qid = queue_id("%d %s" % (code, msg.decode()))
        self.m.assert_stored(qid, data)
        self.envelope_has(qid, "jörg@example.test", "用户@example.test")

    def test_utf8_address_without_smtputf8_is_refused(self):
        with self.m.smtp() as c:
            c.ehlo()
            r = c.cmd("MAIL FROM:<jörg@example.test>")
            self.assertEqual(r.code // 100, 5, r)

    def test_several_messages_one_session(self):
        with self.m.smtp() as c:
            c.ehlo()
            ids = []
            for i in range(3):
                data = body("session-%d" % i)
                ids.append((c.send_message("s@example.test", ["r@example.test"], data), data))
                self.assertEqual(c.cmd("RSET").code, 250)
            self.assertEqual(c.cmd("QUIT").code, 221)
        self.assertEqual(len({q for q, _ in ids}), 3, ids)
        for qid, data in ids:
            self.m.assert_stored(qid, data)

    def test_null_sender(self):
        with self.m.smtp() as c:
            c.ehlo()
            data = body("null-sender")
            r = c.cmd("MAIL FROM:<>")
            self.assertEqual(r.code, 250, r)
            self.assertEqual(c.cmd("RCPT TO:<postmaster@example.test>").code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(data.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            qid = queue_id(c.reply())
        self.m.assert_stored(qid, data)
        self.envelope_has(qid, "", "postmaster@example.test")

    # ---------------------------------------------------------- raw pipelining

    def test_pipelined_mail_rcpt_rcpt_data(self):
        data = body("pipelined")
        with self.m.smtp() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<p@example.test>\r\nRCPT TO:<a@example.test>\r\n"
                   b"RCPT TO:<b@example.test>\r\nDATA\r\n")
            codes = [r.code for r in c.replies(4)]
            self.assertEqual(codes, [250, 250, 250, 354])
            c.send(data.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            qid = queue_id(c.reply())
            self.assertEqual(c.cmd("QUIT").code, 221)
        self.m.assert_stored(qid, data)
        self.envelope_has(qid, "p@example.test", "a@example.test", "b@example.test")

    def test_pipelined_whole_session_in_one_send(self):
        data = body("one-send")
        with self.m.smtp() as c:
            c.send(b"EHLO client.example\r\nMAIL FROM:<p@example.test>\r\n"
                   b"RCPT TO:<a@example.test>\r\nDATA\r\n"
                   + data.replace(b"\r\n.", b"\r\n..") + b".\r\nQUIT\r\n")
            rs = c.replies(6)
            self.assertEqual([r.code for r in rs], [250, 250, 250, 354, 250, 221], rs)
            qid = queue_id(rs[4])
            c.closed()
        self.m.assert_stored(qid, data)

    def test_pipelined_with_a_refused_recipient(self):
        data = body("pipelined-refused")
        with self.m.smtp() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<p@example.test>\r\nRCPT TO:<bad address>\r\n"
                   b"RCPT TO:<ok@example.test>\r\nDATA\r\n")
            rs = c.replies(4)
            self.assertEqual(rs[0].code, 250, rs)
            self.assertEqual(rs[1].code // 100, 5, rs)
            self.assertEqual([rs[2].code, rs[3].code], [250, 354], rs)
            c.send(data.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            qid = queue_id(c.reply())
        self.m.assert_stored(qid, data)

    # ---------------------------------------------------------- BDAT

    def test_bdat_chunks(self):
        data = body("bdat", extra=b"x" * 5000 + b"\r\n")
        cuts = [0, 7, 100, 101, 3000, len(data)]
        with self.m.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<b@example.test> BODY=8BITMIME").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<r@example.test>").code, 250)
            for a, b in zip(cuts, cuts[1:-1]):
                c.send(b"BDAT %d\r\n" % (b - a) + data[a:b])   # one packet
                r = c.reply()
                self.assertEqual(r.code, 250, r)
            a = cuts[-2]
            c.send(b"BDAT %d LAST\r\n" % (len(data) - a) + data[a:])
            qid = queue_id(c.reply())
            self.assertEqual(c.cmd("QUIT").code, 221)
        # BDAT content is not dot-stuffed: stored exactly, dots and all.
        self.m.assert_stored(qid, data)

    def test_bdat_crlf_split_across_chunks_and_bdat0_last(self):
        data = b"Subject: split\r\n\r\n.dot stays\r\nline\r\n"
        i = data.index(b"\r\n") + 1          # chunk ends after CR
        with self.m.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<b@example.test>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<r@example.test>").code, 250)
            c.send(b"BDAT %d\r\n" % i + data[:i] + b"BDAT %d\r\n" % (len(data) - i) + data[i:]
                   + b"BDAT 0 LAST\r\n")
            rs = c.replies(3)
            self.assertEqual([r.code for r in rs[:2]], [250, 250], rs)
            qid = queue_id(rs[2])
        self.m.assert_stored(qid, data)

    def test_bdat_pipelined_with_envelope(self):
        data = b"Subject: pipelined bdat\r\n\r\nbody\r\n"
        with self.m.smtp() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<b@example.test>\r\nRCPT TO:<r@example.test>\r\n"
                   b"BDAT %d LAST\r\n" % len(data) + data + b"QUIT\r\n")
            rs = c.replies(4)
            self.assertEqual([r.code for r in rs], [250, 250, 250, 221], rs)
            qid = queue_id(rs[2])
        self.m.assert_stored(qid, data)

    # ---------------------------------------------------------- other clients

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks(self):
        text = b"From: s@example.test\nTo: r@example.test\nSubject: swaks\n\nvia swaks\nbye"
        path = os.path.join(self.m.top, "swaks.msg")
        with open(path, "wb") as f:
            f.write(text)
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.m.port,
                            "--ehlo", "client.example", "--from", "s@example.test",
                            "--to", "r@example.test", "--data", "@" + path],
                           capture_output=True, timeout=30 * SLOW)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
        m = re.search(r"<-  (250 2\.0\.0 Ok: queued as [0-9A-F]{16})", out)
        self.assertTrue(m, out)
        # swaks turns LF into CRLF and ends the data with CRLF.
        self.m.assert_stored(queue_id(m.group(1)), text.replace(b"\n", b"\r\n") + b"\r\n")

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl(self):
        data = body("curl")
        path = os.path.join(self.m.top, "curl.msg")
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run(["curl", "-sS", "-v", "--max-time", str(30 * SLOW),
                            "smtp://127.0.0.1:%d/client.example" % self.m.port,
                            "--mail-from", "s@example.test", "--mail-rcpt", "r@example.test",
                            "-T", path], capture_output=True, timeout=40 * SLOW)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, err)
        m = re.search(r"< (250 2\.0\.0 Ok: queued as [0-9A-F]{16})", err)
        self.assertTrue(m, err)
        self.m.assert_stored(queue_id(m.group(1)), data)

    # ---------------------------------------------------------- sendmail

    def sendmail(self, args, text):
        before = self.m.queued_ids()
        r = self.m.sendmail(args, text)
        self.assertEqual(r.returncode, 0, "sendmail %s exited %d: %s"
                         % (args, r.returncode, r.stderr.decode(errors="replace")))
        new = self.m.wait_new_ids(before)
        if len(new) != 1:
            self.m.fail("sendmail %s: expected exactly one new queue file, got %s"
                        % (args, sorted(new)))
        return new.pop()

    def test_sendmail_recipients_on_command_line(self):
        text = (b"From: root@example.test\nTo: a@example.test\nSubject: sendmail\n"
                b"Date: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <sm1@test.example>\n"
                b"\nbody line\n.\n.. two dots\nlast\n")
        # Without -i a line "." ends the message (traditional sendmail).
        qid = self.sendmail(["a@example.test", "b@example.test"], text)
        head = text.split(b"\n.\n")[0] + b"\n"
        self.m.assert_stored(qid, head.replace(b"\n", b"\r\n"), received=False)
        env = self.m.envelope(qid)
        self.assertEqual(sorted(env["rcpts"]), ["a@example.test", "b@example.test"], env)
        self.assertEqual(env["origin"], "sendmail", env)

    def test_sendmail_i_keeps_dot_lines(self):
        text = (b"From: root@example.test\nTo: a@example.test\nSubject: sendmail -i\n"
                b"Date: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <sm2@test.example>\n"
                b"\nbody line\n.\n.. two dots\nlast\n")
        for flag in ("-i", "-oi"):
            qid = self.sendmail([flag, "a@example.test"], text)
            self.m.assert_stored(qid, text.replace(b"\n", b"\r\n"), received=False)

    def test_sendmail_t_with_bcc(self):
        text = (b"From: root@example.test\nTo: to1@example.test, Two <to2@example.test>\n"
                b"Cc: cc@example.test\nBcc: hidden@example.test\nSubject: -t\n"
                b"Date: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <sm3@test.example>\n"
                b"\nbody\n")
        qid = self.sendmail(["-t", "-i"], text)
        env = self.m.envelope(qid)
        self.assertEqual(sorted(env["rcpts"]), ["cc@example.test", "hidden@example.test",
                                               "to1@example.test", "to2@example.test"], env)
        content = self.m.cat(qid)
        self.assertNotIn(b"Bcc:", content)
        self.assertNotIn(b"hidden@example.test", content)
        expect = text.replace(b"Bcc: hidden@example.test\n", b"").replace(b"\n", b"\r\n")
        self.m.assert_stored(qid, expect, received=False)

    def test_sendmail_f_sets_envelope_sender(self):
        text = (b"From: someone@example.test\nTo: a@example.test\nSubject: -f\n"
                b"Date: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <sm4@test.example>\n"
                b"\nbody\n")
        qid = self.sendmail(["-f", "bounces@example.test", "-i", "a@example.test"], text)
        self.envelope_has(qid, "bounces@example.test", "a@example.test")
        self.m.assert_stored(qid, text.replace(b"\n", b"\r\n"), received=False)

    def test_sendmail_symlink_and_no_recipient(self):
        link = program("mta-sendmail")
        self.assertTrue(os.path.islink(link) or os.path.isfile(link), link)
        r = self.m.sendmail([], b"Subject: nobody\n\nno recipient\n")
        self.assertNotEqual(r.returncode, 0, "sendmail without recipients must fail")

    # ---------------------------------------------------------- small commands

    def test_vrfy_help_rset_noop_quit(self):
        with self.m.smtp() as c:
            c.ehlo()
            r = c.cmd("VRFY postmaster")
            self.assertEqual(r.code, 252, r)
            r = c.cmd("HELP")
            self.assertEqual(r.code, 214, r)
            self.assertEqual(c.cmd("NOOP").code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>").code, 250)
            self.assertEqual(c.cmd("RSET").code, 250)
            # RSET forgot the transaction: RCPT needs a new MAIL.
            self.assertEqual(c.cmd("RCPT TO:<r@example.test>").code, 503)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>").code, 250)
            r = c.cmd("QUIT")
            self.assertEqual(r.code, 221, r)
            self.assertEqual(c.closed(), b"")

    def test_enhanced_codes_and_sequence_errors(self):
        with self.m.smtp() as c:
            r = c.cmd("HELO client.example")
            self.assertEqual(r.code, 250, r)
            self.assertEqual(c.cmd("DATA").code, 503)
            r = c.cmd("FOOBAR")
            self.assertIn(r.code, (500, 502), r)
            self.assertRegex(r.text, r"^50[02] 5\.5\.[12] ")
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>").code, 250)
            r = c.cmd("MAIL FROM:<a@example.test>")
            self.assertEqual(r.code, 503, r)
            self.assertRegex(r.text, r"^503 5\.5\.1 ")
            self.assertEqual(c.cmd("RCPT TO:<r@example.test>").code, 250)
            r = c.cmd("DATA extra")
            self.assertEqual(r.code, 501, r)
            self.assertEqual(c.cmd("QUIT").code, 221)

    def test_relay_allowed_from_mynetworks(self):
        with self.m.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>").code, 250)
            r = c.cmd("RCPT TO:<someone@remote.test>")
            self.assertEqual(r.code, 250, r)


class RelayPolicy(MtaTestCase):
    """With mynetworks empty, only local domains are accepted."""

    def test_relay_denied_outside_mynetworks(self):
        m = self.mta(mynetworks="", local_domains="localhost, example.test", start=False)
        users = os.path.join(m.top, "users")       # u@example.test exists
        with open(users, "w") as f:
            f.write("u@example.test:$6$salt$%s\n" % ("a" * 86))
        os.chmod(users, 0o644)
        m.conf["users_file"] = users
        m.write_conf()
        m.start()
        with m.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<a@remote.test>").code, 250)
            for rcpt in ("u@example.test", "U@EXAMPLE.TEST", "postmaster@localhost"):
                r = c.cmd("RCPT TO:<%s>" % rcpt)
                self.assertEqual(r.code, 250, "%s: %r" % (rcpt, r))
            for rcpt in ("x@remote.test", "x@sub.example.test", "x@[192.0.2.1]"):
                r = c.cmd("RCPT TO:<%s>" % rcpt)
                self.assertEqual(r.code, 554, "%s: %r" % (rcpt, r))
                self.assertRegex(r.text, r"^554 5\.7\.1 ")
            self.assertEqual(c.cmd("QUIT").code, 221)
        m.stop()
