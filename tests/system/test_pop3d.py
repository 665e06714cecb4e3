"""mta-pop3d with the real master and real clients: Python poplib (every
command), curl pop3:// and fetchmail (Debian).  The test writes the users
file (a SHA-512-crypt hash) and puts messages into the Maildir itself, in
every stored form a Maildir may hold (LF with and without S=/W= in the
name, CRLF, no final newline, lines starting with '.'), so it does not
depend on the local delivery agent.  Also: the mailbox lock ([IN-USE]),
failed logins delayed and counted ([AUTH], lockout), hostile input and the
idle autologout (nothing deleted without QUIT)."""
import base64
import os
import poplib
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest
import warnings

from mtatest import Mta, SLOW, free_port, is_root, scaled, wait_gone

USER = "alice@localhost"
PASSWORD = "s3cret pass"
DELAY = 1                       # pop3_auth_fail_delay

# name in new/, stored bytes; oldest first by the time in the name.
MESSAGES = [
    ("1700000001.M100P7Q1.host,S=%d,W=%d",
     b"Subject: one\nFrom: a@example.test\n\nline 1\n.leading dot\n..two dots\nlast\n"),
    ("1700000002.M5P7Q2.host",
     b"Subject: two\n\nbody of two\n.\nafter a lone dot\n"),
    ("1700000003.M1P7Q3.host",
     b"Subject: three\r\nX-Form: crlf\r\n\r\ncrlf body\r\n.dot crlf\r\n"),
    ("1700000004.M1P7Q4.host,S=%d,W=%d",
     b"Subject: four\n\nno final newline"),
]


def wire(raw):
    """The POP3 wire form (no stuffing): CRLF endings, final CRLF."""
    out = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not out.endswith(b"\r\n") and out:
        out += b"\r\n"
    return out


def stuffed(raw):
    lines = wire(raw).split(b"\r\n")[:-1]
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n"
                    for ln in lines) + b".\r\n"


def names():
    out = []
    for fmt, raw in MESSAGES:
        out.append(fmt % (len(raw), len(wire(raw))) if "%d" in fmt else fmt)
    return out


def sha512_hash(password):
    """A SHA-512-crypt ($6$) hash: Python's crypt module (Debian 12), else
    openssl passwd -6 (crypt is gone from Python 3.13)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt     # noqa: PLC0415
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    except ImportError:
        r = subprocess.run(["openssl", "passwd", "-6", "-stdin"], check=True,
                           input=password.encode(), capture_output=True)
        return r.stdout.decode().strip()


class Raw:
    """A bare POP3 connection: exact bytes, pipelining."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed; have %r" % self.buf[:200])
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def until_dot(self):
        while b"\r\n.\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed in a multi-line answer")
            self.buf += d
        body, self.buf = self.buf.split(b"\r\n.\r\n", 1)
        return body + b"\r\n.\r\n"

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.line()

    def closed(self, timeout=5):
        self.s.settimeout(timeout * SLOW)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except OSError:
            return False

    def close(self):
        self.s.close()


class Pop3Base(unittest.TestCase):
    conf = {}
    mtactl_users = False    # users_file by mtactl (yescrypt, root:group_auth
                            # 0640) instead of a $6$ line written here


    @classmethod
    def setUpClass(cls):
        cls.pop_port = free_port()
        conf = dict(pop3_listen="127.0.0.1:%d" % cls.pop_port,
                    pop3_auth_fail_delay=DELAY, pop3_auth_fail_limit=5,
                    pop3_auth_fail_window="10m", smtpd_workers=1,
                    remote_workers=1)
        conf.update(cls.conf)
        cls.m = Mta(None, start=False, **conf)
        os.makedirs(cls.m.state_dir, exist_ok=True)
        if cls.mtactl_users:
            cls.m.add_user(USER, PASSWORD)
        else:
            users = os.path.join(cls.m.state_dir, "users")
            with open(users, "w") as f:
                f.write("%s:%s\n" % (USER, sha512_hash(PASSWORD)))
            os.chmod(users, 0o644)
        cls.maildir = os.path.join(cls.m.state_dir, "mail", "localhost", "alice",
                                   "Maildir")
        cls.fill()
        cls.m.start()
        cls.wait_pop3()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.m.stop()        # a clean SIGTERM exit, no sanitizer report
        finally:
            cls.m.cleanup()

    @classmethod
    def fill(cls, entries=None):
        """A fresh Maildir holding entries [(name, raw)] in new/, owned by
        user_local."""
        shutil.rmtree(cls.maildir, ignore_errors=True)
        for d in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(cls.maildir, d))
        if entries is None:
            entries = list(zip(names(), (raw for _, raw in MESSAGES)))
        for name, raw in entries:
            with open(os.path.join(cls.maildir, "new", name), "wb") as f:
                f.write(raw)
        if is_root():
            pw = pwd.getpwnam("mta-local")
            top = os.path.join(cls.m.state_dir, "mail")
            for root, dirs, files in os.walk(top):
                for n in dirs + files:
                    os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)

    @classmethod
    def wait_pop3(cls):
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            try:
                r = Raw(cls.pop_port)
                r.close()
                if r.greeting.startswith(b"+OK"):
                    return
            except (OSError, EOFError):
                pass
            time.sleep(0.05)
        cls.m.fail("pop3d never greeted")

    def setUp(self):
        self.fill()

    def pop(self, login=True):
        p = poplib.POP3("127.0.0.1", self.pop_port, timeout=10 * SLOW)
        self.addCleanup(p.close)
        if login:
            p.user(USER)
            p.pass_(PASSWORD)
        return p

    def files(self, sub="cur"):
        return sorted(os.listdir(os.path.join(self.maildir, sub)))


class Pop3Commands(Pop3Base):
    mtactl_users = True

    def test_new_account_without_mailbox_is_empty(self):
        """An account added while pop3d runs works at once; no Maildir yet
        is an empty mailbox."""
        self.m.add_user("bob@localhost", "bobs password")
        time.sleep(1.1)         # users_file is checked at most once a second
        p = poplib.POP3("127.0.0.1", self.pop_port, timeout=10 * SLOW)
        self.addCleanup(p.close)
        p.user("bob@localhost")
        p.pass_("bobs password")
        self.assertEqual(p.stat(), (0, 0))
        self.assertEqual(p.list()[1], [])
        self.assertIn(b"0 messages deleted", p.quit())

    def test_password_change_ends_a_cached_login(self):
        """A login verified a moment ago (auth_cache_ttl) is not one that
        outlives its password: after `mtactl user passwd` only the new
        password opens the mailbox."""
        self.m.add_user("carol@localhost", "carol old")
        time.sleep(2.1)         # seen at the next check a second later
        for _ in range(2):      # the second login is a cache hit
            p = self.pop(login=False)
            p.user("carol@localhost")
            p.pass_("carol old")
            p.quit()
        r = self.m.ctl("user", "passwd", "carol@localhost", "--password-stdin",
                       input=b"carol new\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        deadline = time.monotonic() + 10 * SLOW     # until pop3d reloads
        while True:
            p = self.pop(login=False)
            p.user("carol@localhost")
            try:
                p.pass_("carol old")
            except poplib.error_proto:
                break
            p.quit()
            self.assertLess(time.monotonic(), deadline, "old password works")
            time.sleep(0.2)
        p.user("carol@localhost")
        p.pass_("carol new")
        p.quit()

    @unittest.skipUnless(is_root(), "privilege separation needs root")
    def test_runs_as_user_local(self):
        pid = self.m.pids("mta-pop3d")[0]
        with open("/proc/%d/status" % pid) as f:
            uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
        self.assertEqual({int(u) for u in uids}, {pwd.getpwnam("mta-local").pw_uid})

    def test_capa(self):
        p = self.pop(login=False)
        capa = p.capa()
        for k in ("USER", "UIDL", "TOP", "PIPELINING", "RESP-CODES",
                  "AUTH-RESP-CODE", "IMPLEMENTATION"):
            self.assertIn(k, capa)
        self.assertEqual(capa["SASL"], ["PLAIN"])
        p.quit()

    def test_stat_list_sizes_are_wire_octets(self):
        p = self.pop()
        sizes = [len(wire(raw)) for _, raw in MESSAGES]
        self.assertEqual(p.stat(), (len(MESSAGES), sum(sizes)))
        resp, lines, _ = p.list()
        self.assertEqual(lines, [b"%d %d" % (i + 1, s) for i, s in enumerate(sizes)])
        self.assertEqual(p.list(2), b"+OK 2 %d" % sizes[1])
        with self.assertRaises(poplib.error_proto):
            p.list(99)
        p.quit()
        self.assertEqual(self.files("new"), [])
        self.assertEqual(self.files(), sorted(n + ":2," for n in names()))

    def test_uidl_stable_across_sessions(self):
        p = self.pop()
        first = p.uidl()[1]
        self.assertEqual(p.uidl(3), b"+OK 3 " + names()[2].encode())
        p.quit()
        p = self.pop()
        self.assertEqual(p.uidl()[1], first)
        p.quit()
        self.assertEqual(first, [b"%d %s" % (i + 1, n.encode())
                                 for i, n in enumerate(names())])

    def test_retr_exact_bytes(self):
        r = Raw(self.pop_port)
        self.assertTrue(r.cmd("USER " + USER).startswith(b"+OK"))
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith(b"+OK"))
        for i, (_, raw) in enumerate(MESSAGES):
            self.assertEqual(r.cmd("RETR %d" % (i + 1)),
                             b"+OK %d octets" % len(wire(raw)))
            self.assertEqual(r.until_dot(), stuffed(raw), "message %d" % (i + 1))
        self.assertEqual(r.cmd("QUIT")[:3], b"+OK")
        r.close()
        p = self.pop()
        resp, lines, octets = p.retr(1)
        self.assertEqual(lines, wire(MESSAGES[0][1]).split(b"\r\n")[:-1])
        p.quit()

    def test_retr_of_an_empty_file(self):
        """The +OK line waits for the first chunk of the file, to leave in
        one send with it: an empty message still gets it, then the
        terminator, and the next RETR is whole."""
        self.fill([("1700000009.M1P7Q9.host", b""),
                   ("1700000010.M1P7Q10.host", b"Subject: x\n\nbody\n")])
        r = Raw(self.pop_port)
        self.assertTrue(r.cmd("USER " + USER).startswith(b"+OK"))
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith(b"+OK"))
        raw = b"Subject: x\n\nbody\n"
        self.assertEqual(r.cmd("RETR 1"), b"+OK 0 octets")
        self.assertEqual(r.line(), b".")
        self.assertEqual(r.cmd("RETR 2"), b"+OK %d octets" % len(wire(raw)))
        self.assertEqual(r.until_dot(), stuffed(raw))
        self.assertEqual(r.cmd("TOP 1 0"), b"+OK 0 octets")
        self.assertEqual(r.line(), b".")
        self.assertEqual(r.cmd("QUIT")[:3], b"+OK")
        r.close()

    def test_top(self):
        p = self.pop()
        self.assertEqual(p.top(1, 0)[1],
                         [b"Subject: one", b"From: a@example.test", b""])
        self.assertEqual(p.top(1, 2)[1], [b"Subject: one", b"From: a@example.test",
                                          b"", b"line 1", b".leading dot"])
        self.assertEqual(p.top(3, 1)[1], [b"Subject: three", b"X-Form: crlf", b"",
                                          b"crlf body"])
        self.assertEqual(p.top(4, 10)[1], [b"Subject: four", b"", b"no final newline"])
        p.quit()

    def test_dele_then_rset_keeps(self):
        p = self.pop()
        p.dele(1)
        p.dele(2)
        with self.assertRaises(poplib.error_proto):
            p.retr(1)
        self.assertEqual(p.stat()[0], len(MESSAGES) - 2)
        p.rset()
        self.assertEqual(p.stat()[0], len(MESSAGES))
        p.quit()
        self.assertEqual(len(self.files()), len(MESSAGES))

    def test_dele_then_quit_deletes(self):
        p = self.pop()
        p.dele(2)
        p.dele(4)
        self.assertIn(b"2 messages deleted", p.quit())
        left = self.files()
        self.assertEqual(left, sorted([names()[0] + ":2,", names()[2] + ":2,"]))
        self.m.wait_log(r"mta-pop3d\[\d+\]: logout user=<%s> client=127\.0\.0\.1 "
                        r"retrieved=0 deleted=2" % USER)
        p = self.pop()
        self.assertEqual(p.stat()[0], 2)
        p.quit()

    def test_auth_plain(self):
        p = self.pop(login=False)
        token = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode())
        self.assertTrue(p._shortcmd("AUTH PLAIN " + token.decode()).startswith(b"+OK"))
        self.assertEqual(p.stat()[0], len(MESSAGES))
        p.quit()
        # The continuation form, and '*' cancels.
        r = Raw(self.pop_port)
        self.assertEqual(r.cmd("AUTH PLAIN"), b"+ ")
        self.assertTrue(r.cmd("*").startswith(b"-ERR"))
        self.assertEqual(r.cmd("AUTH PLAIN"), b"+ ")
        self.assertTrue(r.cmd(token.decode()).startswith(b"+OK"))
        self.assertTrue(r.cmd("STAT").startswith(b"+OK 4 "))
        r.cmd("QUIT")
        r.close()

    def test_commands_need_login(self):
        r = Raw(self.pop_port)
        self.assertTrue(r.cmd("STAT").startswith(b"-ERR"))
        self.assertTrue(r.cmd("PASS x").startswith(b"-ERR"))
        self.assertTrue(r.cmd("XYZZY").startswith(b"-ERR"))
        self.assertEqual(r.cmd("QUIT")[:3], b"+OK")
        self.assertTrue(r.closed())
        r.close()

    def test_mailbox_in_use(self):
        p = self.pop()
        q = self.pop(login=False)
        q.user(USER)
        with self.assertRaises(poplib.error_proto) as e:
            q.pass_(PASSWORD)
        self.assertIn(b"[IN-USE]", e.exception.args[0])
        p.quit()
        q = self.pop()          # free again after QUIT
        q.quit()

    def test_wrong_password_is_delayed(self):
        p = self.pop(login=False)
        p.user(USER)
        t0 = time.monotonic()
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_("wrong")
        self.assertGreaterEqual(time.monotonic() - t0, DELAY - 0.05)
        self.assertEqual(e.exception.args[0], b"-ERR [AUTH] Authentication failed")
        self.m.wait_log(r"login failed user=<%s> client=127\.0\.0\.1" % USER)
        self.assertNotIn("wrong", self.m.log())
        self.assertNotIn(PASSWORD, self.m.log())
        p.user(USER)
        p.pass_(PASSWORD)        # the session goes on
        p.quit()

    def test_other_sessions_not_stalled_by_a_login(self):
        """While one client waits for its failure delay, another logs in."""
        p = self.pop(login=False)
        p.user(USER)
        p._putcmd("PASS nope")
        t0 = time.monotonic()
        q = self.pop()
        q.quit()
        self.assertLess(time.monotonic() - t0, DELAY)
        with self.assertRaises(poplib.error_proto):
            p._getresp()

    def test_curl(self):
        url = "pop3://127.0.0.1:%d/" % self.pop_port
        auth = ["-u", "%s:%s" % (USER, PASSWORD)]
        out = subprocess.run(["curl", "-sS"] + auth + [url], capture_output=True,
                             timeout=20 * SLOW)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.splitlines(),
                         [b"%d %d" % (i + 1, len(wire(raw)))
                          for i, (_, raw) in enumerate(MESSAGES)])
        out = subprocess.run(["curl", "-sS"] + auth + [url + "3"], capture_output=True,
                             timeout=20 * SLOW)
        self.assertEqual(out.stdout, wire(MESSAGES[2][1]))
        out = subprocess.run(["curl", "-sS", "-X", "DELE", "-I"] + auth + [url + "1"],
                             capture_output=True, timeout=20 * SLOW)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(len(self.files()), len(MESSAGES) - 1)
        self.assertNotIn(names()[0] + ":2,", self.files())

    @unittest.skipUnless(shutil.which("fetchmail"), "fetchmail not installed "
                         "(scripts/deps installs it)")
    def test_fetchmail(self):
        d = self.m.top
        out = os.path.join(d, "fetched")
        rc = os.path.join(d, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('set no bouncemail\n'
                    'poll 127.0.0.1 with protocol POP3 and port %d and auth password:\n'
                    '  user "%s" there with password "%s" is "%s" here\n'
                    '  options fetchall no keep no rewrite\n'
                    "  sslproto ''\n"
                    '  mda "cat >> %s"\n'
                    % (self.pop_port, USER, PASSWORD, pwd.getpwuid(os.getuid()).pw_name,
                       out))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=d)
        r = subprocess.run(["fetchmail", "-f", rc, "-i", os.path.join(d, "fetchids"),
                            "--nosyslog", "--nodetach"], capture_output=True, env=env,
                           timeout=30 * SLOW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(out, "rb") as f:
            got = f.read()
        for _, raw in MESSAGES:
            body = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
            self.assertIn(body.rstrip(b"\n"), got)
        self.assertEqual(got.count(b"Received: from 127.0.0.1"), len(MESSAGES))
        self.assertEqual(self.files(), [])      # fetched and deleted


class Pop3Hostile(Pop3Base):
    def test_long_line_nul_and_bare_cr(self):
        r = Raw(self.pop_port)
        r.send(b"X" * 2000 + b"\r\n")
        self.assertEqual(r.line(), b"-ERR line too long")
        r.send(b"NO\0OP\r\nUSER a\0b\r\nNOOP\rNOOP\r\n")
        self.assertTrue(r.line().startswith(b"-ERR"))
        self.assertTrue(r.line().startswith(b"-ERR"))
        self.assertTrue(r.line().startswith(b"-ERR"))
        # A NUL must not cut the password short.
        self.assertTrue(r.cmd("USER " + USER).startswith(b"+OK"))
        self.assertEqual(r.cmd("PASS " + PASSWORD + "\0junk"),
                         b"-ERR [AUTH] Authentication failed")
        self.assertTrue(r.cmd("USER " + USER).startswith(b"+OK"))
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith(b"+OK"))
        self.assertTrue(r.cmd("NOOP").startswith(b"+OK"))
        r.cmd("QUIT")
        r.close()

    def test_error_limit_disconnects(self):
        r = Raw(self.pop_port)
        r.send(b"BOGUS\r\n" * 50)
        self.assertTrue(r.closed())
        self.assertIn(b"too many errors", r.buf)
        self.assertLessEqual(r.buf.count(b"-ERR unknown command"), 10)
        r.close()

    def test_ten_thousand_pipelined_commands(self):
        r = Raw(self.pop_port)
        n = scaled(10000, 1000)
        batch = b"USER %s\r\nPASS %s\r\n" % (USER.encode(), PASSWORD.encode())
        batch += b"".join(b"LIST %d\r\n" % (i % 4 + 1) if i % 2 else b"NOOP\r\n"
                          for i in range(n))
        batch += b"QUIT\r\n"
        threading.Thread(target=r.send, args=(batch,), daemon=True).start()
        self.assertTrue(r.line().startswith(b"+OK"))
        self.assertTrue(r.line().startswith(b"+OK mailbox"))
        sizes = [len(wire(raw)) for _, raw in MESSAGES]
        for i in range(n):
            want = b"+OK %d %d" % (i % 4 + 1, sizes[i % 4]) if i % 2 else b"+OK"
            self.assertEqual(r.line(), want, "answer %d" % i)
        self.assertTrue(r.line().startswith(b"+OK bye"))
        r.close()

    def test_disconnect_without_quit_deletes_nothing(self):
        r = Raw(self.pop_port)
        r.cmd("USER " + USER)
        r.cmd("PASS " + PASSWORD)
        for i in range(1, len(MESSAGES) + 1):
            self.assertTrue(r.cmd("DELE %d" % i).startswith(b"+OK"))
        r.close()
        self.m.wait_log(r"logout user=<%s> client=127\.0\.0\.1 retrieved=0 "
                        r"deleted=0 \(connection lost" % USER)
        self.assertEqual(len(self.files()), len(MESSAGES))
        p = self.pop()           # the lock is free again
        self.assertEqual(p.stat()[0], len(MESSAGES))
        p.quit()

    def test_huge_message_streams(self):
        """A message larger than any buffer, read slowly: exact bytes."""
        raw = b"Subject: big\n\n" + b"".join(b"%s line %d\n" % (b"." if i % 7 == 0
                                                               else b"x", i)
                                           for i in range(scaled(200000, 20000)))
        self.fill([("1700000009.M1P1Q9.host", raw)])
        r = Raw(self.pop_port)
        r.cmd("USER " + USER)
        r.cmd("PASS " + PASSWORD)
        self.assertEqual(r.cmd("RETR 1"), b"+OK %d octets" % len(wire(raw)))
        time.sleep(0.5)          # let the server hit its output limit
        self.assertEqual(r.until_dot(), stuffed(raw))
        r.cmd("QUIT")
        r.close()


class Pop3Lockout(Pop3Base):
    conf = dict(pop3_auth_fail_delay=0, pop3_auth_fail_limit=2,
                pop3_auth_fail_window="1h")

    def test_lockout_after_too_many_failures(self):
        p = self.pop(login=False)
        for _ in range(3):
            p.user(USER)
            with self.assertRaises(poplib.error_proto):
                p.pass_("bad")
        p.user(USER)
        t0 = time.monotonic()
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_(PASSWORD)    # refused at once, right password or not
        self.assertLess(time.monotonic() - t0, 0.5 * SLOW)
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        self.m.wait_log(r"login refused user=<%s> client=127\.0\.0\.1" % USER)



class Pop3Timeout(Pop3Base):
    conf = dict(pop3_timeout=2)

    def test_idle_timeout_deletes_nothing(self):
        r = Raw(self.pop_port)
        r.cmd("USER " + USER)
        r.cmd("PASS " + PASSWORD)
        self.assertTrue(r.cmd("DELE 1").startswith(b"+OK"))
        t0 = time.monotonic()
        self.assertTrue(r.closed(timeout=10))
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)
        self.assertIn(b"-ERR autologout", r.buf)
        r.close()
        self.m.wait_log(r"logout user=<%s> client=127\.0\.0\.1 retrieved=0 "
                        r"deleted=0 \(idle timeout" % USER)
        self.assertEqual(len(self.files()), len(MESSAGES))


def local_ip():
    """A non-loopback address of this machine, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))     # no packet is sent
        ip = s.getsockname()[0]
        return None if ip.startswith("127.") else ip
    except OSError:
        return None
    finally:
        s.close()


@unittest.skipUnless(local_ip(), "no non-loopback address")
class Pop3NotLoopback(Pop3Base):
    """Until STLS: no plaintext login from a non-loopback client."""

    @classmethod
    def setUpClass(cls):
        cls.conf = dict(pop3_listen="%s:%d" % (local_ip(), free_port()))
        super().setUpClass()

    @classmethod
    def wait_pop3(cls):
        cls.pop_port = int(cls.conf["pop3_listen"].rsplit(":", 1)[1])
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            try:
                socket.create_connection((local_ip(), cls.pop_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        cls.m.fail("pop3d never listened")

    def test_plaintext_refused(self):
        p = poplib.POP3(local_ip(), self.pop_port, timeout=10 * SLOW)
        self.addCleanup(p.close)
        capa = p.capa()
        self.assertNotIn("USER", capa)
        self.assertNotIn("SASL", capa)
        self.assertIn("UIDL", capa)
        want = (b"-ERR [AUTH] Plaintext authentication disallowed on "
                b"non-secure connections")
        for cmd in ("USER " + USER, "PASS x", "AUTH PLAIN AGEAYg=="):
            with self.assertRaises(poplib.error_proto) as e:
                p._shortcmd(cmd)
            self.assertEqual(e.exception.args[0], want)
        p.quit()


class Pop3Shutdown(Pop3Base):
    def test_reload_restarts_pop3d(self):
        old = self.m.pids("mta-pop3d")
        self.assertEqual(len(old), 1)
        self.m.proc.send_signal(signal.SIGHUP)
        new = self.m.wait_pids("mta-pop3d", exclude=old)
        self.assertEqual(len(new), 1)
        wait_gone(old, 10 * SLOW)
        p = self.pop()
        self.assertEqual(p.stat()[0], len(MESSAGES))
        p.quit()

    def test_sigterm_ends_sessions_without_update(self):
        r = Raw(self.pop_port)
        r.cmd("USER " + USER)
        r.cmd("PASS " + PASSWORD)
        self.assertTrue(r.cmd("DELE 1").startswith(b"+OK"))
        idle = Raw(self.pop_port)           # one not logged in, too
        t0 = time.monotonic()
        self.m.stop()
        self.assertLess(time.monotonic() - t0, 10 * SLOW)
        self.assertTrue(r.closed())
        self.assertIn(b"-ERR [SYS/TEMP] server shutting down", r.buf)
        self.assertTrue(idle.closed())
        r.close()
        idle.close()
        self.assertEqual(len(self.files()), len(MESSAGES))
        self.assertRegex(self.m.log(), r"logout user=<%s> client=127\.0\.0\.1 "
                         r"retrieved=0 deleted=0 \(shutdown" % USER)
