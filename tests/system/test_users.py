"""Accounts: the real mtactl against a running MTA.  `mtactl user add`
(password on stdin, or asked twice on a terminal), list, passwd, del; the
refusals (duplicate, unknown user, address outside local_domains, bad
address, a password on the command line, no terminal); the password is
never in the log or the file in clear, the file is 0640 root:mta-auth as
root, and a change made while the MTA runs is in the file the daemons
re-read (lib/users.c users_refresh; the unit test covers the reload)."""
import grp
import os
import pty
import select
import stat
import subprocess
import time
import warnings

from mtatest import MtaTestCase, is_root, program

PASSWORD = b"Tr0ub4dor&3-xyzzy"


def crypt_ok(password, hashed):
    """crypt(3) through Python, or None when the module is gone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt  # noqa: PLC0415 - deprecated, optional
        except ImportError:
            return None
    return crypt.crypt(password, hashed) == hashed


class Users(MtaTestCase):

    def users_path(self, m):
        return os.path.join(m.state_dir, "users")

    def users_text(self, m):
        with open(self.users_path(m), "rb") as f:
            return f.read()

    def add(self, m, address, password=PASSWORD, verb="add"):
        return m.ctl("user", verb, address, "--password-stdin", input=password + b"\n")

    def assertCtl(self, r, code, err=None):
        self.assertEqual(r.returncode, code, "stdout %r stderr %r" % (r.stdout, r.stderr))
        if err is not None:
            self.assertIn(err, r.stderr)

    def test_add_list_passwd_del(self):
        m = self.mta(local_domains="localhost, mail.example")
        self.assertCtl(m.ctl("user", "list"), 0)
        self.assertEqual(m.ctl("user", "list").stdout, b"")
        self.assertCtl(self.add(m, "Alice@LOCALHOST"), 0)
        self.assertCtl(self.add(m, "bob@localhost", b"other\r"), 0)
        r = m.ctl("user", "list")
        self.assertCtl(r, 0)
        self.assertEqual(r.stdout, b"alice@localhost\nbob@localhost\n")
        lines = self.users_text(m).splitlines()
        self.assertEqual([ln.split(b":")[0] for ln in lines],
                         [b"alice@localhost", b"bob@localhost"])
        first = lines[0].split(b":", 1)[1]
        self.assertTrue(first.startswith(b"$y$"), first)
        if crypt_ok(PASSWORD.decode(), first.decode()) is not None:
            self.assertTrue(crypt_ok(PASSWORD.decode(), first.decode()))
            self.assertTrue(crypt_ok("other", lines[1].split(b":", 1)[1].decode()),
                            "the CR of a CRLF line is not part of the password")

        self.assertCtl(self.add(m, "alice@localhost", b"new-password", "passwd"), 0)
        second = self.users_text(m).splitlines()[0].split(b":", 1)[1]
        self.assertNotEqual(first, second)
        if crypt_ok("new-password", second.decode()) is not None:
            self.assertTrue(crypt_ok("new-password", second.decode()))
        self.assertCtl(m.ctl("user", "del", "ALICE@localhost"), 0)
        self.assertEqual(m.ctl("user", "list").stdout, b"bob@localhost\n")

        # The refusals: exit 1 and a clear message.
        self.assertCtl(self.add(m, "bob@localhost"), 1, b"already exists")
        self.assertCtl(m.ctl("user", "del", "alice@localhost"), 1, b"no such user")
        self.assertCtl(self.add(m, "carol@localhost", verb="passwd"), 1, b"no such user")
        self.assertCtl(self.add(m, "carol@elsewhere.test"), 1,
                       b"elsewhere.test is not one of local_domains")
        for bad in ("carol", "../x@localhost", "a/b@localhost", "a..b@localhost", "@localhost"):
            self.assertCtl(self.add(m, bad), 1, b"not a valid mailbox address")
        for pw in (b"", b"\r", b"a\0b"):
            r = m.ctl("user", "add", "carol@localhost", "--password-stdin", input=pw)
            self.assertCtl(r, 1, b"--password-stdin")
        self.assertCtl(self.add(m, "carol@localhost", b"x" * 512), 1, b"longer than 511")
        self.assertCtl(self.add(m, "carol@MAIL.example", b"x" * 511), 0)
        # Never on the command line: a second word is a usage error.
        self.assertCtl(m.ctl("user", "add", "dave@localhost", "secret"), 64, b"usage")
        self.assertCtl(m.ctl("user", "frob"), 64, b"usage: mtactl user")
        self.assertEqual(m.ctl("user", "list").stdout, b"bob@localhost\ncarol@mail.example\n")
        self.assertEqual([n for n in os.listdir(m.state_dir) if "tmp" in n], [],
                         "a temporary file was left beside users_file")
        m.stop()
        self.assertNotIn(PASSWORD.decode(), m.log())
        self.assertNotIn(PASSWORD, self.users_text(m))
        self.assertNotIn(b"other", self.users_text(m))

    def test_file_mode_group_and_visible_while_running(self):
        m = self.mta()
        before = m.daemon_pids()
        self.assertCtl(self.add(m, "erin@localhost"), 0)
        st = os.stat(self.users_path(m))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        if is_root():
            self.assertEqual((st.st_uid, st.st_gid), (0, grp.getgrnam("mta-auth").gr_gid))
        # Added while the MTA runs, no restart: the file the daemons
        # re-read (users_refresh) has it, with a new inode (atomic rename).
        ino = st.st_ino
        self.assertIn(b"erin@localhost:$y$", self.users_text(m))
        self.assertCtl(self.add(m, "frank@localhost"), 0)
        self.assertNotEqual(os.stat(self.users_path(m)).st_ino, ino)
        self.assertIn(b"frank@localhost:$y$", self.users_text(m))
        self.assertNoRestarts(m, before)
        m.stop()

    def test_terminal_prompt_asks_twice_without_echo(self):
        m = self.mta(start=False)
        os.makedirs(m.state_dir)
        out, code = self.with_tty(m, ["user", "add", "gina@localhost"],
                                  [(b"New password for gina@localhost: ", PASSWORD),
                                   (b"Retype the password: ", PASSWORD)])
        self.assertEqual(code, 0, out)
        self.assertNotIn(PASSWORD, out, "the password was echoed")
        self.assertIn(b"gina@localhost:$y$", self.users_text(m))
        out, code = self.with_tty(m, ["user", "passwd", "gina@localhost"],
                                  [(b"New password for", b"one"), (b"Retype", b"two")])
        self.assertEqual(code, 1, out)
        self.assertIn(b"do not match", out)
        # No terminal at all: say how to give the password.
        r = subprocess.run([program("mtactl"), "-c", m.conf_path, "user", "add",
                            "hank@localhost"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=20, env=m.env(),
                           start_new_session=True)
        self.assertCtl(r, 1, b"--password-stdin")

    def with_tty(self, m, args, answers):
        """Run mtactl on a new pseudo-terminal; type each answer after its
        prompt.  Returns (everything it wrote, exit code)."""
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["MTA_CONF"] = m.conf_path
            os.execv(program("mtactl"), [program("mtactl")] + args)
        out = b""
        deadline = time.monotonic() + 20

        def read_some():
            if not select.select([fd], [], [], 0.2)[0]:
                return b""
            try:
                return os.read(fd, 4096) or None
            except OSError:             # EIO: the child has exited
                return None
        try:
            for prompt, answer in answers:
                while prompt not in out and time.monotonic() < deadline:
                    data = read_some()
                    if data is None:
                        break
                    out += data
                # Echo is switched off right after the prompt is written.
                time.sleep(0.2)
                os.write(fd, answer + b"\n")
            while time.monotonic() < deadline:
                data = read_some()
                if data is None:
                    break
                out += data
        finally:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        return out, os.waitstatus_to_exitcode(status)

    def test_config_error_exits_2(self):
        r = subprocess.run([program("mtactl"), "-c", "/nonexistent/mta.conf", "user", "list"],
                           capture_output=True, timeout=20)
        self.assertCtl(r, 2)

    def test_help_lists_the_user_commands(self):
        r = subprocess.run([program("mtactl"), "help"], capture_output=True, timeout=20)
        self.assertCtl(r, 0)
        for cmd in (b"user add ADDRESS", b"user passwd ADDRESS", b"user del ADDRESS",
                    b"user list"):
            self.assertIn(cmd, r.stdout)
