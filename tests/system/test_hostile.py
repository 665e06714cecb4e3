"""Hostile clients: a 1 MB line, NUL bytes, bare LF, SMTP smuggling
(CVE-2023-51764 family), 10,000 RCPTs, oversize messages, garbage after
DATA, disconnects mid-DATA/BDAT, slowloris, 1,000 concurrent connections,
too many errors.  Each asserts what was (not) queued and that no daemon
crashed (same pids before and after, exit 0 and a clean log at stop)."""
import random
import selectors
import socket
import struct
import threading
import time

from mtatest import (SLOW, Mta, MtaTestCase, Smtp, dot_stuff, queue_id,
                     scaled)

SMUGGLE_TAIL = (b"MAIL FROM:<smuggler@evil.test>\r\nRCPT TO:<victim@example.test>\r\n"
                b"DATA\r\nSubject: smuggled\r\n\r\nsecond part\r\n")
# (separator, has a bare CR) -- the end-of-data look-alikes.
SMUGGLE_SEPS = [(b"\n.\n", False), (b"\n.\r\n", False), (b"\r\n.\n", False),
                (b"\r.\r", True), (b"\r\n.\r", True), (b"\r.\r\n", True),
                (b"\r.\n", True)]


def send_ignoring_reset(c, data):
    """Send; the server may legitimately close or reset midway."""
    try:
        c.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def replies_until_close_or(c, stop_code):
    """Replies until one with stop_code or EOF: (replies, closed)."""
    got = []
    try:
        while True:
            r = c.reply()
            got.append(r)
            if r.code == stop_code or r.code == 421:
                return got, r.code == 421
    except (EOFError, ConnectionResetError, socket.timeout):
        return got, True


class SmuggleChecks:
    def smuggle(self, c, sep):
        """One DATA with a fake end-of-data; returns (final reply, next)."""
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<honest@example.test>").code, 250)
        self.assertEqual(c.cmd("RCPT TO:<r@example.test>").code, 250)
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(b"Subject: smuggle test\r\n\r\nfirst part" + sep + SMUGGLE_TAIL
               + b".\r\nQUIT\r\n")
        first = c.reply()
        second = c.reply()
        return first, second

    def check_smuggle(self, m, sep, bare_cr, normalise, before):
        with m.smtp() as c:
            first, second = self.smuggle(c, sep)
        # Exactly one answer to the one DATA, then QUIT's: the smuggled
        # MAIL/RCPT/DATA were never seen as commands.
        self.assertEqual(second.code, 221, "smuggled commands were executed: %r %r"
                         % (first, second))
        new = m.wait_new_ids(before) if first.code == 250 else m.queued_ids() - before
        if first.code == 250:
            self.assertTrue(normalise or bare_cr, "%r accepted with bare LF refused" % sep)
            self.assertEqual(len(new), 1, new)
            content = m.cat(queue_id(first))
            for part in (b"first part", b"smuggler@evil.test", b"victim@example.test",
                         b"second part"):
                self.assertIn(part, content, "%r: the body lost %r" % (sep, part))
            before.add(queue_id(first))
        else:
            self.assertFalse(normalise and not bare_cr,
                             "%r: bare LF refused although normalising: %r" % (sep, first))
            self.assertEqual(first.code, 550, first)
            self.assertRegex(first.text, r"^550 5\.6\.11 ")
            self.assertEqual(len(new), 0, new)


class Hostile(MtaTestCase, SmuggleChecks):
    """Shared instance: bare LF normalised, 100k size limit."""

    @classmethod
    def setUpClass(cls):
        cls.m = Mta(None, smtpd_bare_lf="normalize", message_size_limit="100k")
        cls.addClassCleanup(cls.m.cleanup)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def setUp(self):
        self.before = self.m.queued_ids()
        self.pids = self.m.daemon_pids()

    def tearDown(self):
        self.assertNoRestarts(self.m, self.pids)

    def new_ids(self):
        return self.m.queued_ids() - self.before

    def assert_usable(self):
        """A fresh client still gets a message through."""
        data = b"Subject: still alive\r\n\r\nok\r\n"
        with self.m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@example.test"], data)
        self.m.assert_stored(qid, data)
        self.before.add(qid)

    # ---------------------------------------------------------- long lines, NUL

    def test_1mb_command_line(self):
        with self.m.smtp() as c:
            c.ehlo()
            send_ignoring_reset(c, b"MAIL FROM:<" + b"a" * (1 << 20) + b"@example.test>\r\n"
                                b"NOOP\r\n")
            got, closed = replies_until_close_or(c, 250)
        self.assertTrue(got, "no reply at all to a 1 MB line")
        self.assertEqual(got[0].code, 500, got)
        self.assertRegex(got[0].text, r"^500 5\.5\.0 ")
        if not closed:                       # session usable: NOOP answered
            self.assertTrue(all(r.code == 500 for r in got[:-1]), got)
            self.assertEqual(got[-1].code, 250, got)
        self.assertNothingQueued(self.m, self.before)
        self.assert_usable()

    def test_1mb_line_without_newline_then_close(self):
        with self.m.smtp() as c:
            c.ehlo()
            send_ignoring_reset(c, b"X" * (1 << 20))
        self.assert_usable()

    def test_nul_bytes_in_commands(self):
        bad = [b"MAIL FROM:<a\0b@example.test>", b"EHLO cli\0ent.example",
               b"\0\0\0\0", b"NO\0OP", b"RCPT TO:<r@exa\0mple.test>"]
        for line in bad:
            with self.subTest(line=line), self.m.smtp() as c:
                c.ehlo()
                if line.startswith(b"RCPT"):
                    self.assertEqual(c.cmd("MAIL FROM:<a@example.test>").code, 250)
                c.send(line + b"\r\n")
                r = c.reply()
                self.assertEqual(r.code // 100, 5 if r.code != 421 else 4, r)
                if r.code == 421:
                    c.closed()
                    continue
                self.assertEqual(c.cmd("NOOP").code, 250)
        self.assertNothingQueued(self.m, self.before)
        self.assert_usable()

    # ---------------------------------------------------------- bare LF, smuggling

    def test_bare_lf_is_normalised(self):
        data = b"Subject: bare lf\nX-Two: y\r\n\nline1\nline2\r\n"
        with self.m.smtp() as c:
            c.ehlo()
            r = c.mail_transaction("a@example.test", ["b@example.test"], data, stuff=False)
        qid = queue_id(r)
        self.m.assert_stored(qid, data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    def test_smuggling_normalise_mode(self):
        for sep, bare_cr in SMUGGLE_SEPS:
            with self.subTest(sep=sep):
                self.check_smuggle(self.m, sep, bare_cr, True, self.before)

    # ---------------------------------------------------------- size

    def test_oversize_declared(self):
        with self.m.smtp() as c:
            r = c.ehlo()
            self.assertRegex(r.text, r"(?m)^250[- ]SIZE 102400$")
            r = c.cmd("MAIL FROM:<a@example.test> SIZE=200000")
            self.assertEqual(r.code, 552, r)
            self.assertRegex(r.text, r"^552 5\.3\.4 ")
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test> SIZE=1000").code, 250)
        self.assertNothingQueued(self.m, self.before)

    def test_oversize_undeclared_data(self):
        big = (b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 200)
        with self.m.smtp() as c:
            c.ehlo()
            r = c.mail_transaction("a@example.test", ["b@example.test"], big)
            self.assertEqual(r.code, 552, r)
            self.assertRegex(r.text, r"^552 5\.3\.4 ")
            self.assertNothingQueued(self.m, self.before)
            # The session is back in sync and usable.
            self.assertEqual(c.cmd("RSET").code, 250)
            small = b"Subject: small\r\n\r\nfits\r\n"
            qid = c.send_message("a@example.test", ["b@example.test"], small)
        self.m.assert_stored(qid, small)

    def test_oversize_bdat(self):
        chunk = b"z" * 150000
        with self.m.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<b@example.test>").code, 250)
            c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
            r = c.reply()
            self.assertEqual(r.code, 552, r)
            self.assertRegex(r.text, r"^552 5\.3\.4 ")
            self.assertEqual(c.cmd("NOOP").code, 250)
        self.assertNothingQueued(self.m, self.before)

    # ---------------------------------------------------------- garbage, disconnects

    def test_garbage_after_data(self):
        data = b"Subject: garbage follows\r\n\r\nbody\r\n"
        with self.m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@example.test"], data)
            c.send(b"\x01\x02\xff\xfe garbage\r\nthis is not a command\r\n.\r\n")
            for r in c.replies(3):
                self.assertIn(r.code, (500, 502), r)
            self.assertEqual(c.cmd("QUIT").code, 221)
        self.m.assert_stored(qid, data)
        self.assertEqual(self.new_ids(), {qid})

    def wait_no_tmp(self):
        deadline = time.monotonic() + 5 * SLOW
        while self.m.tmp_files() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.m.tmp_files(), [])

    def test_disconnect_mid_data(self):
        for how in ("close", "reset"):
            with self.subTest(how=how):
                c = self.m.smtp()
                c.ehlo()
                c.cmd("MAIL FROM:<a@example.test>")
                c.cmd("RCPT TO:<b@example.test>")
                self.assertEqual(c.cmd("DATA").code, 354)
                c.send(b"Subject: cut\r\n\r\n" + b"partial line\r\n" * 3000 + b"no end")
                if how == "reset":
                    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
                c.close()
                time.sleep(0.5 * SLOW)
                self.assertNothingQueued(self.m, self.before)
                self.wait_no_tmp()
        self.assert_usable()

    def test_disconnect_mid_bdat(self):
        c = self.m.smtp()
        c.ehlo()
        c.cmd("MAIL FROM:<a@example.test>")
        c.cmd("RCPT TO:<b@example.test>")
        c.send(b"BDAT 20\r\n0123456789abcdefghij")
        self.assertEqual(c.reply().code, 250)
        c.send(b"BDAT 50000 LAST\r\n" + b"q" * 1000)
        c.close()
        time.sleep(0.5 * SLOW)
        self.assertNothingQueued(self.m, self.before)
        self.wait_no_tmp()

    def test_many_quick_disconnects(self):
        for i in range(scaled(200)):
            s = socket.create_connection(("127.0.0.1", self.m.port), timeout=5 * SLOW)
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if i % 3 == 0:
                s.sendall(b"EHLO x\r\nMAIL FROM:<a@example.test>\r\n")
            s.close()
        self.assert_usable()


class BareLfReject(MtaTestCase, SmuggleChecks):
    """smtpd_bare_lf = reject: 550 5.6.11, nothing queued, no smuggling."""

    def test_bare_lf_rejected_and_smuggling(self):
        m = self.mta(smtpd_bare_lf="reject")
        before = m.queued_ids()
        with m.smtp() as c:
            c.ehlo()
            r = c.mail_transaction("a@example.test", ["b@example.test"],
                                   b"Subject: bare\n\nline\r\n", stuff=False)
            self.assertEqual(r.code, 550, r)
            self.assertRegex(r.text, r"^550 5\.6\.11 ")
            self.assertNothingQueued(m, before)
            # In sync afterwards: a clean message in the same session works.
            data = b"Subject: clean\r\n\r\nline\r\n"
            qid = c.send_message("a@example.test", ["b@example.test"], data)
        m.assert_stored(qid, data)
        before.add(qid)
        for sep, bare_cr in SMUGGLE_SEPS:
            with self.subTest(sep=sep):
                self.check_smuggle(m, sep, bare_cr, False, before)
        m.stop()


class Recipients(MtaTestCase):
    def test_10000_rcpts(self):
        limit = 1000
        # 452 4.5.3 does not count as a session error (RFC 5321 4.5.3.1.10:
        # the client sends DATA for the recipients accepted so far).
        m = self.mta(max_recipients=limit)
        total = 10000
        codes = []
        with m.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<many@example.test>").code, 250)
            for start in range(0, total, 500):           # pipelined, in batches
                c.send(b"".join(b"RCPT TO:<rcpt%05d@example.test>\r\n" % i
                                for i in range(start, start + 500)))
                for r in c.replies(500):
                    codes.append(r.code)
                    if r.code != 250:
                        self.assertEqual(r.code, 452, r)
                        self.assertRegex(r.text, r"^452 4\.5\.3 ")
            self.assertEqual(codes[:limit], [250] * limit)
            self.assertEqual(codes[limit:], [452] * (total - limit))
            data = b"Subject: many\r\n\r\nmany recipients\r\n"
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(dot_stuff(data) + b".\r\n")
            qid = queue_id(c.reply())
        rcpts = m.envelope(qid)["rcpts"]
        self.assertEqual(rcpts, ["rcpt%05d@example.test" % i for i in range(limit)])
        m.assert_stored(qid, data)
        m.stop()


class Limits(MtaTestCase):
    def test_too_many_errors(self):
        m = self.mta(smtpd_error_limit=5)
        with m.smtp() as c:
            c.ehlo()
            send_ignoring_reset(c, b"BOGUS\r\n" * 20)
            got, _ = replies_until_close_or(c, 0)
            self.assertTrue(got, "no reply")
            self.assertEqual(got[-1].code, 421, got)
            self.assertRegex(got[-1].text, r"^421 4\.7\.0 ")
            self.assertEqual(c.closed(), b"", "data after the 421")
        errors = [r for r in got[:-1] if r.code in (500, 502)]
        self.assertEqual(len(errors), len(got) - 1, got)
        self.assertTrue(1 <= len(errors) <= 5, got)
        m.stop()

    def test_slowloris_timed_out_others_served(self):
        t = 3
        m = self.mta(smtpd_timeout_command="%ds" % t, smtpd_timeout_idle="%ds" % t,
                     smtpd_timeout_data="%ds" % t)
        limit = t + 3 * SLOW + 1
        results = {}

        def loris(name, setup, dribble):
            c = Smtp(m.port)
            setup(c)
            t0 = time.monotonic()
            got = b""
            c.sock.settimeout(1.0)
            n = 0
            dribbling = bool(dribble)
            while time.monotonic() - t0 < limit + 5:
                if dribbling:
                    try:
                        c.send(dribble[n % len(dribble):n % len(dribble) + 1])
                        n += 1
                    except OSError:
                        dribbling = False
                try:
                    d = c.sock.recv(4096)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    d = b""
                if not d:
                    results[name] = (got, time.monotonic() - t0)
                    c.close()
                    return
                got += d
            results[name] = (got, None)
            c.close()

        def in_data(c):
            c.ehlo()
            c.cmd("MAIL FROM:<a@example.test>")
            c.cmd("RCPT TO:<b@example.test>")
            c.cmd("DATA")
            c.send(b"Subject: stalled\r\n\r\nsome")

        specs = [("dribble-before-ehlo", lambda c: None, b"EHLO slowloris.example.and.more"),
                 ("dribble-after-ehlo", lambda c: c.ehlo(), b"MAIL FROM:<slow@example.test>"),
                 ("silent", lambda c: None, b""),
                 ("silent-in-data", in_data, b"")]
        threads = [threading.Thread(target=loris, args=s) for s in specs]
        for th in threads:
            th.start()
        time.sleep(1)
        t0 = time.monotonic()
        data = b"Subject: meanwhile\r\n\r\nnot slowed down\r\n"
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@example.test"], data)
        self.assertLess(time.monotonic() - t0, 2 * SLOW, "a normal client was slowed down")
        for th in threads:
            th.join()
        m.assert_stored(qid, data)
        for name, _, _ in specs:
            got, secs = results[name]
            self.assertIsNotNone(secs, "%s: never cut off (got %r)" % (name, got))
            self.assertRegex(got.decode(errors="replace"), r"(?m)^421 4\.4\.2 ",
                             "%s: %r" % (name, got))
            self.assertLessEqual(secs, limit, "%s cut off only after %.1fs" % (name, secs))
            self.assertGreaterEqual(secs, t - 1, "%s cut off too early" % name)
        self.assertEqual(m.queued_ids(), {qid})
        m.stop()

    def test_1000_concurrent_connections(self):
        n = scaled(1000)
        m = self.mta(smtpd_max_connections=2 * n)
        pids = m.daemon_pids()
        socks = []
        sel = selectors.DefaultSelector()
        try:
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", m.port), timeout=10 * SLOW)
                s.setblocking(False)
                socks.append(s)
            bufs = {s: b"" for s in socks}
            for s in socks:
                sel.register(s, selectors.EVENT_READ)
            self.assertEqual(wait_all(sel, bufs, b"\r\n", 20 * SLOW), n,
                             "not every connection got its greeting")
            for s in socks:
                self.assertTrue(bufs[s].startswith(b"220 "), bufs[s])
            # Transactions on some of them while all stay open.
            sent = []
            for s in random.Random(1).sample(socks, 10):
                c = Smtp.wrap(s)
                c.ehlo()
                data = b"Subject: one of many\r\n\r\nconn %d\r\n" % s.fileno()
                sent.append((c.send_message("a@example.test", ["b@example.test"], data), data))
                s.setblocking(False)
            bufs = {s: b"" for s in socks}
            for s in socks:
                s.send(b"QUIT\r\n")
                sel.register(s, selectors.EVENT_READ)
            self.assertEqual(wait_all(sel, bufs, None, 20 * SLOW), n,
                             "not every connection was closed after QUIT")
            for s in socks:
                self.assertTrue(bufs[s].startswith(b"221 "), bufs[s])
        finally:
            for s in socks:
                s.close()
        for qid, data in sent:
            m.assert_stored(qid, data)
        self.assertNoRestarts(m, pids)
        m.stop()


def wait_all(sel, bufs, until, timeout):
    """Read from every registered socket into bufs[sock] until its buffer
    contains until (or, with until None, until EOF).  How many did."""
    done = set()
    deadline = time.monotonic() + timeout
    while len(done) < len(bufs) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                d = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionResetError:
                d = b""
            bufs[s] += d
            if (until is not None and until in bufs[s]) or not d:
                done.add(s)
                sel.unregister(s)
    return len(done)
