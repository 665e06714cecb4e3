"""Connection limits (lib/connlimit) with the real master and real clients:
per client address and in total, for smtpd (421 4.7.0 instead of the
greeting, then the connection closes) and pop3d (-ERR [SYS/TEMP]).  With
two smtpd workers the limit is one limit: accepts alternate between the
workers, so each holds some of the connections, and the log says which
worker greeted which client port.  A worker killed with SIGKILL while it
holds connections does not keep their counts.  Other loopback addresses
(127.0.0.2...) are other clients."""
import os
import poplib
import re
import signal
import socket
import ssl
import time

from mtatest import HOSTNAME, SLOW, MtaTestCase, Smtp, free_port, scaled

REFUSED_ADDR = "421 4.7.0 %s Too many connections from your address" % HOSTNAME
REFUSED_TOTAL = "421 4.7.0 %s Too many connections" % HOSTNAME
# mynetworks without the test's loopback clients: the per-address limit
# does not apply to mynetworks.
OUTSIDE = "192.0.2.0/24"


def connect(port, src="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10 * SLOW)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def first_line(s):
    buf = b""
    while b"\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise EOFError("closed before a line: %r" % buf)
        buf += d
    return buf.split(b"\r\n", 1)[0].decode()


def rest_until_eof(s):
    """What the server sends until it closes (it must close)."""
    out = b""
    while True:
        try:
            d = s.recv(4096)
        except ConnectionResetError:
            return out
        if not d:
            return out
        out += d


class Conns:
    """Open SMTP connections of one test, closed at the end."""

    def __init__(self, tc, port):
        self.port, self.socks = port, []
        tc.addCleanup(self.close_all)

    def open(self, src="127.0.0.1"):
        """(socket, first line)."""
        s = connect(self.port, src)
        self.socks.append(s)
        return s, first_line(s)

    def admitted(self, src="127.0.0.1"):
        s, line = self.open(src)
        if not line.startswith("220 "):
            raise AssertionError("not admitted from %s: %r" % (src, line))
        return s

    def refused(self, want, src="127.0.0.1"):
        """The next connection gets exactly `want` and is closed, even
        though it talks first."""
        s = connect(self.port, src)
        s.sendall(b"EHLO pushy.example\r\nMAIL FROM:<a@example.test>\r\n")
        got = b""
        while b"\r\n" not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
        if not got:
            s.close()
            raise EOFError("closed without a word, expected %r" % want)
        if not got.startswith(want.encode() + b"\r\n"):
            s.close()
            raise AssertionError("expected %r, got %r" % (want, got))
        got += rest_until_eof(s)
        s.close()
        if got != want.encode() + b"\r\n":
            raise AssertionError("expected %r and the end, got %r" % (want, got))

    def quit(self, s):
        s.sendall(b"QUIT\r\n")
        rest_until_eof(s)
        s.close()
        self.socks.remove(s)

    def admitted_again(self, src="127.0.0.1"):
        """A place was freed: a new connection is admitted once the
        server has seen the old one go (its count is released when the
        connection is freed, a moment after the client sees EOF)."""
        deadline = time.monotonic() + 10 * SLOW
        while True:
            s, line = self.open(src)
            if line.startswith("220 "):
                return s
            rest_until_eof(s)
            s.close()
            self.socks.remove(s)
            if time.monotonic() > deadline:
                raise AssertionError("never admitted again: %r" % line)
            time.sleep(0.05)

    def close_all(self):
        for s in self.socks:
            s.close()
        self.socks = []


def local_port(s):
    return s.getsockname()[1]


class SmtpdLimits(MtaTestCase):

    def test_per_address_limit(self):
        m = self.mta(smtpd_workers=1, smtpd_client_connection_limit=3, mynetworks=OUTSIDE)
        c = Conns(self, m.port)
        held = [c.admitted() for _ in range(3)]
        c.refused(REFUSED_ADDR)
        c.refused(REFUSED_ADDR)
        # Another client is not this one: admitted while 127.0.0.1 is full.
        other = c.admitted("127.0.0.2")
        m.wait_log(r"mta-smtpd\[\d+\]: warning: refused \[127\.0\.0\.1\]: too many "
                   r"connections from this address \(limit 3\)")
        self.assertNotIn("disconnect from [127.0.0.1] commands=0", m.log(),
                         "a refused connection is one log line, not a session")
        # The admitted sessions still work.
        held[0].sendall(b"NOOP\r\n")
        self.assertEqual(first_line(held[0]), "250 2.0.0 Ok")
        c.quit(held[1])
        c.admitted_again()
        c.refused(REFUSED_ADDR)
        c.quit(other)
        m.stop()

    def test_mynetworks_are_exempt_from_the_per_address_limit(self):
        m = self.mta(smtpd_workers=1, smtpd_client_connection_limit=1,
                     smtpd_max_connections=3)
        c = Conns(self, m.port)
        for _ in range(3):
            c.admitted()            # 127.0.0.1 is in the default mynetworks
        c.refused(REFUSED_TOTAL)    # but counts towards the total
        m.stop()

    def test_total_limit(self):
        m = self.mta(smtpd_workers=1, smtpd_client_connection_limit=2, mynetworks=OUTSIDE,
                     smtpd_max_connections=4)
        c = Conns(self, m.port)
        c.admitted("127.0.0.2")
        c.admitted("127.0.0.3")
        last = c.admitted("127.0.0.4")
        c.admitted("127.0.0.4")
        c.refused(REFUSED_TOTAL, "127.0.0.5")
        c.refused(REFUSED_ADDR, "127.0.0.4")
        m.wait_log(r"refused \[127\.0\.0\.5\]: too many connections \(limit 4\)")
        c.quit(last)
        c.admitted_again("127.0.0.5")
        c.refused(REFUSED_TOTAL, "127.0.0.6")
        m.stop()

    def test_smtps_refusal_is_inside_tls(self):
        """On smtps the 421 comes after the handshake, encrypted."""
        port = free_port()
        m = self.mta(smtpd_workers=1, smtpd_client_connection_limit=1, mynetworks=OUTSIDE,
                     smtps_listen="127.0.0.1:%d" % port)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for want in ("220 ", REFUSED_ADDR):
            s = ctx.wrap_socket(connect(port))
            socks.append(s)
            self.assertTrue(first_line(s).startswith(want))
        try:
            self.assertEqual(s.recv(4096), b"", "closed after the 421")
        except (ssl.SSLError, ConnectionResetError):
            pass
        m.stop()

    def greeted_by(self, m, s, src="127.0.0.1"):
        """The pid of the worker that greeted s (from the log)."""
        r = m.wait_log(r"mta-smtpd\[(\d+)\]: connect from \[%s\]:%d\b"
                       % (re.escape(src), local_port(s)))
        return int(r.group(1))

    def both_ready(self, m):
        """Both workers started and logged ready (their accepts are armed:
        a slow one, under ASan, would otherwise take no connection)."""
        for pid in m.wait_pids("mta-smtpd", 2):
            m.wait_log(r"mta-smtpd\[%d\]: ready:" % pid)

    def spread(self, m, socks, srcs):
        """{worker pid: [its sockets]} for sessions socks opened from srcs;
        both workers must hold some (accepts alternate between them)."""
        by = {}
        for s, src in zip(socks, srcs):
            by.setdefault(self.greeted_by(m, s, src), []).append(s)
        self.assertEqual(len(by), 2, by)
        return by

    def test_connections_alternate_between_workers(self):
        m = self.mta(smtpd_workers=2)
        self.both_ready(m)
        c = Conns(self, m.port)
        greeters = []
        for _ in range(10):
            s = c.admitted()
            greeters.append(self.greeted_by(m, s))
            c.quit(s)
        counts = sorted(greeters.count(p) for p in set(greeters))
        self.assertEqual(len(counts), 2, greeters)
        self.assertGreaterEqual(counts[0], 3, greeters)
        m.stop()

    def test_per_address_limit_holds_across_two_workers(self):
        m = self.mta(smtpd_workers=2, smtpd_client_connection_limit=4, mynetworks=OUTSIDE)
        self.both_ready(m)
        c = Conns(self, m.port)
        held = [c.admitted() for _ in range(4)]
        by = self.spread(m, held, ["127.0.0.1"] * 4)
        # Neither worker holds 4 itself: the refusal counts the other's.
        c.refused(REFUSED_ADDR)
        m.wait_log(r"mta-smtpd\[\d+\]: warning: refused \[127\.0\.0\.1\]")
        # One worker's sessions end: their places are free, whoever
        # accepts next.
        gone = next(iter(by.values()))
        for s in gone:
            c.quit(s)
        c.admitted_again()
        for _ in gone[1:]:
            c.admitted()
        c.refused(REFUSED_ADDR)
        m.stop()

    def test_total_limit_holds_across_two_workers(self):
        m = self.mta(smtpd_workers=2, smtpd_client_connection_limit=0,
                     smtpd_max_connections=3)
        self.both_ready(m)
        c = Conns(self, m.port)
        srcs = ["127.0.0.2", "127.0.0.3", "127.0.0.5"]
        self.spread(m, [c.admitted(src) for src in srcs], srcs)
        c.refused(REFUSED_TOTAL, "127.0.0.4")
        m.wait_log(r"mta-smtpd\[\d+\]: warning: refused \[127\.0\.0\.4\]: "
                   r"too many connections \(limit 3\)")
        m.stop()

    def in_data(self, m, c):
        """A session in the middle of DATA (a worker told to stop lets it
        finish) and the pid of the worker serving it."""
        s = c.admitted()
        t = Smtp.wrap(s)
        t.ehlo()
        self.assertEqual(t.cmd("MAIL FROM:<a@example.test>").code, 250)
        self.assertEqual(t.cmd("RCPT TO:<postmaster@localhost>").code, 250)
        self.assertEqual(t.cmd("DATA").code, 354)
        t.send(b"Subject: held open\r\n\r\nstill typing\r\n")
        return t, self.greeted_by(m, s)

    def refused_past_stopping(self, c, want):
        """c.refused, where a connection the stopping worker accepted just
        before its accept was cancelled is closed without a word."""
        deadline = time.monotonic() + 10 * SLOW
        while True:
            try:
                return c.refused(want)
            except EOFError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def test_stopping_worker_keeps_its_places_until_it_exits(self):
        m = self.mta(smtpd_workers=2, smtpd_client_connection_limit=3, mynetworks=OUTSIDE)
        self.both_ready(m)
        c = Conns(self, m.port)
        busy = [self.in_data(m, c) for _ in range(3)]
        w1 = busy[0][1]
        mine = [t for t, pid in busy if pid == w1]
        os.kill(w1, signal.SIGTERM)
        m.wait_log(r"mta-smtpd\[%d\]: stopping \(%d connections\)" % (w1, len(mine)))
        # Its sessions still hold their places while it drains them.
        self.refused_past_stopping(c, REFUSED_ADDR)
        for t in mine:
            t.send(b".\r\n")
            self.assertEqual(t.reply().code, 250)
            t.closed()              # the stopping worker closes it
            t.close()
        m.wait_log(r"mta-smtpd\[%d\] exited with status 0" % w1)
        c.admitted_again()
        for _ in mine[1:]:
            c.admitted()
        c.refused(REFUSED_ADDR)
        m.stop()

    def test_killed_worker_does_not_leak_its_counts(self):
        m = self.mta(smtpd_workers=2, smtpd_client_connection_limit=3, mynetworks=OUTSIDE)
        c = Conns(self, m.port)
        held = [c.admitted() for _ in range(3)]
        c.refused(REFUSED_ADDR)
        doomed = {self.greeted_by(m, s) for s in held}
        for pid in doomed:
            os.kill(pid, signal.SIGKILL)
        for s in held:              # the connections die with the worker
            rest_until_eof(s)
            s.close()
            c.socks.remove(s)
        for pid in doomed:
            m.wait_log(r"mta-smtpd\[%d\] killed by signal 9" % pid)
        # All three places are free again, and no more.
        c.admitted_again()
        c.admitted()
        c.admitted()
        c.refused(REFUSED_ADDR)
        self.assertEqual(len(m.wait_pids("mta-smtpd", 2, exclude=doomed)), 2)
        m.stop()

    def test_refusal_log_is_rate_limited(self):
        m = self.mta(smtpd_workers=1, smtpd_client_connection_limit=1, mynetworks=OUTSIDE)
        c = Conns(self, m.port)
        c.admitted()
        n = scaled(300, 60)
        t0 = time.monotonic()
        for _ in range(n):
            c.refused(REFUSED_ADDR)
        secs = time.monotonic() - t0
        c.admitted("127.0.0.2")        # still serving
        time.sleep(1.1)
        c.refused(REFUSED_ADDR)        # a new second: logged, with the count
        lines = re.findall(r"refused \[127\.0\.0\.1\].*", m.log())
        # At most 10 lines a second (one worker), over the seconds it took.
        self.assertLessEqual(len(lines), 10 * (int(secs) + 3), lines[-3:])
        if len(lines) < n + 1:
            self.assertRegex(lines[-1], r"; \d+ more not logged$")
        m.stop()


class Pop3From(poplib.POP3):
    """poplib from a chosen loopback address."""

    def __init__(self, port, src="127.0.0.1"):
        self.src = src
        super().__init__("127.0.0.1", port, timeout=10 * SLOW)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.src, 0))


class Pop3dLimits(MtaTestCase):

    def refused(self, port, want, src="127.0.0.1"):
        s = connect(port, src)
        s.sendall(b"USER alice@localhost\r\n")
        self.assertEqual(rest_until_eof(s), want.encode() + b"\r\n")
        s.close()

    def test_pop3d_limits(self):
        port = free_port()
        m = self.mta(pop3_listen="127.0.0.1:%d" % port,
                     pop3_client_connection_limit=2, pop3_max_connections=3)
        a = Pop3From(port)
        b = Pop3From(port)
        self.assertTrue(a.welcome.startswith(b"+OK"))
        self.assertTrue(b.welcome.startswith(b"+OK"))
        self.refused(port, "-ERR [SYS/TEMP] Too many connections from your "
                     "address")
        c = Pop3From(port, "127.0.0.2")
        self.refused(port, "-ERR [SYS/TEMP] Too many connections", "127.0.0.3")
        m.wait_log(r"mta-pop3d\[\d+\]: warning: refused \[127\.0\.0\.1\]: too many "
                   r"connections from this address \(limit 2\)")
        m.wait_log(r"mta-pop3d\[\d+\]: warning: refused \[127\.0\.0\.3\]: too many "
                   r"connections \(limit 3\)")
        self.assertIn("USER", b.capa(), "the admitted ones still work")
        a.quit()
        deadline = time.monotonic() + 10 * SLOW
        while True:                     # released when pop3d frees it
            try:
                Pop3From(port).quit()
                break
            except poplib.error_proto:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        b.quit()
        c.quit()
        m.stop()

    def test_pop3s_refusal_is_inside_tls(self):
        port, tport = free_port(), free_port()
        m = self.mta(pop3_listen="127.0.0.1:%d" % port,
                     pop3s_listen="127.0.0.1:%d" % tport,
                     pop3_client_connection_limit=1)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        a = Pop3From(port)              # the one place, taken in clear
        s = ctx.wrap_socket(connect(tport))
        self.assertEqual(first_line(s), "-ERR [SYS/TEMP] Too many connections "
                         "from your address")
        try:
            self.assertEqual(s.recv(4096), b"", "closed after the -ERR")
        except (ssl.SSLError, ConnectionResetError):
            pass
        s.close()
        a.quit()
        m.stop()
