"""Privilege separation.  As root (CI): the master stays root, smtpd runs
as mta-smtpd and cannot write (or create, or remove) spool files, the queue
writer and the queue manager run as mta-queue and own the spool, the remote
agents run as mta-remote with no access to the spool at all (they only
reach run/agent.sock), run/qmgr.sock is root's alone, and only the
daemons that read users_file (smtpd, mta-local, mta-pop3d) get group_auth
(mta-auth) as their one supplementary group.  Started as an
ordinary user, everything runs as that user and the log says privilege
separation is off."""
import grp
import os
import pwd
import re
import socket
import stat
import subprocess
import unittest

from mtatest import SANITIZE, Mta, MtaTestCase, free_port, is_root, proc_info, program
from relayfix import wait_until

CHILD_OK, CHILD_WROTE = 0, 3


def uid_of(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def groups_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Groups:"):
                return {int(g) for g in line.split()[1:]}
    return set()


def gids_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Gid:"):
                return tuple(int(g) for g in line.split()[1:])
    return ()


def status_of(pid):
    """/proc/<pid>/status as a dict of strings."""
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def core_limit(pid):
    """(soft, hard) of "Max core file size" in /proc/<pid>/limits."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return tuple(line.split()[4:6])
    return ()


def try_as(uid, gid, groups, actions):
    """In a forked child with exactly these ids, run each action (a
    callable); exit CHILD_WROTE if any succeeds.  Returns the exit code."""
    pid = os.fork()
    if pid == 0:
        code = CHILD_OK
        try:
            os.setgroups(sorted(groups))
            os.setgid(gid)
            os.setuid(uid)
            for act in actions:
                try:
                    act()
                    code = CHILD_WROTE
                except PermissionError:
                    pass
        except BaseException:           # noqa: BLE001 - child must not return
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@unittest.skipUnless(is_root(), "privilege separation needs root (CI runs as root)")
class Privsep(MtaTestCase):

    def test_daemon_users_and_spool_not_writable_by_smtpd(self):
        for u in ("mta-smtpd", "mta-queue"):
            self.assertIsNotNone(uid_of(u), "user %s missing: run scripts/deps as root" % u)
        m = self.mta()
        data = b"Subject: privsep\r\n\r\nbody\r\n"
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@example.test"], data)
        path = m.queue_file(qid)

        master = proc_info(m.proc.pid)
        self.assertEqual(master[4][:2], (0, 0), "the master runs as root")
        smtpd = m.pids("mta-smtpd")
        self.assertTrue(smtpd)
        spool_uid = os.stat(m.spool("incoming")).st_uid
        self.assertEqual(spool_uid, os.stat(path).st_uid)
        for pid in smtpd:
            uids = proc_info(pid)[4]
            self.assertEqual(set(uids), {uid_of("mta-smtpd")}, "smtpd %d uids %s" % (pid, uids))
            self.assertNotEqual(uids[1], spool_uid, "smtpd runs as the spool owner")
            self.assertNotIn(0, gids_of(pid))
        for pid in m.pids("mta-qwriter"):
            self.assertEqual(set(proc_info(pid)[4]), {uid_of("mta-queue")})
            self.assertEqual(spool_uid, uid_of("mta-queue"))

        # The smtpd's exact credentials cannot touch the spool.
        pid = smtpd[0]
        uid = proc_info(pid)[4][1]
        gid = gids_of(pid)[1]
        groups = groups_of(pid)
        d = os.path.dirname(path)

        def create(where):
            return lambda: os.close(os.open(os.path.join(where, "x"),
                                            os.O_WRONLY | os.O_CREAT, 0o600))
        actions = [lambda: os.close(os.open(path, os.O_WRONLY | os.O_APPEND)),
                   lambda: os.close(os.open(path, os.O_RDWR)),
                   lambda: os.unlink(path),
                   lambda: os.rename(path, path + ".x"),
                   create(d), create(m.spool("tmp")), create(m.spool("incoming")),
                   create(m.spool("journal"))]
        rc = try_as(uid, gid, groups, actions)
        self.assertEqual(rc, CHILD_OK, "the smtpd user could write into the spool")
        # Control: the same probe as the queue user does write.
        q = pwd.getpwnam("mta-queue")
        probe = os.path.join(m.spool("tmp"), "x")
        self.assertEqual(try_as(q.pw_uid, q.pw_gid, [], [create(m.spool("tmp"))]),
                         CHILD_WROTE, "the probe cannot even write as the queue user")
        os.unlink(probe)
        m.assert_stored(qid, data)
        m.stop()

    def test_qmgr_and_remote_agent_users(self):
        for u in ("mta-queue", "mta-remote"):
            self.assertIsNotNone(uid_of(u), "user %s missing: run scripts/deps as root" % u)
        m = self.mta(remote_workers=2)
        data = b"Subject: privsep remote\r\n\r\nbody\r\n"
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@example.test"], data)
        path = m.queue_file(qid)
        qmgr = m.wait_pids("mta-qmgr")
        remote = m.wait_pids("mta-remote", count=2)
        for pid in qmgr:
            self.assertEqual(set(proc_info(pid)[4]), {uid_of("mta-queue")}, "qmgr %d" % pid)
            self.assertNotIn(0, gids_of(pid))
        for pid in remote:
            self.assertEqual(set(proc_info(pid)[4]), {uid_of("mta-remote")}, "remote %d" % pid)
            self.assertNotIn(0, gids_of(pid))
            self.assertEqual(groups_of(pid), set(), "remote %d has groups" % pid)

        # The sockets: agents may connect to agent.sock, only root to qmgr.sock.
        run = os.path.join(m.state_dir, "run")
        st = os.stat(os.path.join(run, "agent.sock"))
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o666)
        st = os.stat(os.path.join(run, "qmgr.sock"))
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid), (0o600, 0))

        # The remote agent inherited nothing of the spool...
        pid = remote[0]
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
        roles = sorted(r.split(b":")[0] for r in env.get(b"MTA_FDS", b"").split(b","))
        self.assertEqual(roles, [b"conf", b"statedir"], env.get(b"MTA_FDS"))
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except FileNotFoundError:
                continue
            self.assertNotIn(m.spool(), target, "mta-remote holds %s open" % target)

        # ...and its exact credentials can neither list nor read it.
        uid, gid, groups = proc_info(pid)[4][1], gids_of(pid)[1], groups_of(pid)
        actions = [lambda: os.listdir(m.spool()),
                   lambda: os.listdir(m.spool("incoming")),
                   lambda: os.listdir(m.spool("deferred")),
                   lambda: os.stat(path),
                   lambda: os.close(os.open(path, os.O_RDONLY)),
                   lambda: os.close(os.open(m.spool("journal"), os.O_RDONLY))]
        self.assertEqual(try_as(uid, gid, groups, actions), CHILD_OK,
                         "the remote agent's user can read the spool")

        # Control: it does reach the agents' socket, but not qmgr's.
        def connect(name):
            def act():
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(os.path.join(run, name))
            return act
        self.assertEqual(try_as(uid, gid, groups, [connect("agent.sock")]), CHILD_WROTE,
                         "mta-remote cannot connect to run/agent.sock")
        self.assertEqual(try_as(uid, gid, groups, [connect("qmgr.sock")]), CHILD_OK,
                         "mta-remote can connect to run/qmgr.sock")
        m.stop()

    def test_users_file_readers_get_group_auth(self):
        """smtpd (and mta-local, mta-pop3d) run with group_auth as their
        only supplementary group and can read users_file (root:mta-auth
        0640); the remote agents and the queue daemons cannot."""
        try:
            auth = grp.getgrnam("mta-auth").gr_gid
        except KeyError:
            self.fail("group mta-auth missing: run scripts/mkusers (scripts/deps) as root")
        m = self.mta(remote_workers=1)
        m.add_user("alice@localhost", "pw")
        users = os.path.join(m.state_dir, "users")
        st = os.stat(users)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (0, auth, 0o640))
        readers = m.wait_pids("mta-smtpd") + m.pids("mta-local") + m.pids("mta-pop3d")
        others = m.wait_pids("mta-remote") + m.wait_pids("mta-qmgr") + m.pids("mta-qwriter")

        def read():
            with open(users, "rb") as f:
                f.read()
        for pid in readers:
            self.assertEqual(groups_of(pid), {auth}, "pid %d groups" % pid)
            creds = proc_info(pid)[4][1], gids_of(pid)[1], groups_of(pid)
            self.assertEqual(try_as(*creds, [read]), CHILD_WROTE,
                             "pid %d cannot read users_file" % pid)
        for pid in others:
            self.assertNotIn(auth, groups_of(pid), "pid %d has mta-auth" % pid)
            creds = proc_info(pid)[4][1], gids_of(pid)[1], groups_of(pid)
            self.assertEqual(try_as(*creds, [read]), CHILD_OK,
                             "pid %d can read users_file" % pid)
        m.stop()

    def test_daemons_hardened(self):
        """Every daemon has no_new_privs; smtpd and pop3d run under their
        seccomp filter (mode 2: filter) on every thread, except in
        sanitizer builds; the daemons that hold keys or passwords (smtpd,
        pop3d, mta-local, mta-remote) have core dumps off: RLIMIT_CORE 0
        and not dumpable, which makes the files in /proc/<pid> root's."""
        m = self.mta(remote_workers=1, pop3_listen="127.0.0.1:%d" % free_port())
        smtpd, pop3d = m.wait_pids("mta-smtpd"), m.wait_pids("mta-pop3d")
        m.wait_log(r"mta-pop3d\[\d+\]: seccomp|mta-pop3d\[\d+\]: sanitizer build")
        local, remote = m.wait_pids("mta-local"), m.wait_pids("mta-remote")
        queue = m.pids("mta-qwriter") + m.wait_pids("mta-qmgr")
        users = {"mta-smtpd": smtpd, "mta-local": pop3d + local,
                 "mta-remote": remote, "mta-queue": queue}
        for user, pids in users.items():
            for pid in pids:
                st = status_of(pid)
                self.assertEqual(st["NoNewPrivs"], "1", "pid %d" % pid)
                self.assertEqual(set(proc_info(pid)[4]), {uid_of(user)}, "pid %d" % pid)
        want = "0" if SANITIZE else "2"
        for pid in smtpd + pop3d:
            for tid in os.listdir("/proc/%d/task" % pid):
                st = status_of(int(tid))
                self.assertEqual(st["Seccomp"], want, "pid %d thread %s" % (pid, tid))
        for pid in smtpd + pop3d + local + remote:
            self.assertEqual(core_limit(pid), ("0", "0"), "pid %d" % pid)
            self.assertEqual(os.stat("/proc/%d/status" % pid).st_uid, 0, "pid %d is dumpable" % pid)
        for pid in queue:
            self.assertNotEqual(os.stat("/proc/%d/status" % pid).st_uid, 0,
                                "the queue daemons stay dumpable")
        # Filtered, they still work: a message in, a POP3 session.
        with m.smtp() as c:
            c.ehlo()
            c.send_message("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\nx\r\n")
        with socket.create_connection(("127.0.0.1", int(m.conf["pop3_listen"].rsplit(":", 1)[1]))) as s:
            self.assertTrue(s.recv(512).startswith(b"+OK"))
        self.assertEqual(m.pids("mta-smtpd"), smtpd, "smtpd restarted (killed by its filter?)")
        self.assertEqual(m.pids("mta-pop3d"), pop3d, "pop3d restarted")
        m.stop()

    def test_smtpd_reads_no_file_outside_its_tables(self):
        """Landlock: smtpd re-reads users_file after an atomic rename in its
        directory, but not once users_file is a symlink to the same bytes
        one directory away, which its user and group may read (so it is
        not the file permissions that refuse it)."""
        m = self.mta()
        m.wait_pids("mta-smtpd")
        if not m.wait_log(r"mta-smtpd\[\d+\]: landlock (ABI|not)").group(0).endswith("ABI"):
            self.skipTest("no Landlock on this kernel")
        for u in ("bob", "carol"):
            m.add_user(u + "@localhost", "pw")
        users = os.path.join(m.state_dir, "users")
        with open(users) as f:
            lines = f.read().splitlines(True)
        carol = [ln for ln in lines if ln.startswith("carol@")]
        self.assertEqual(len(carol), 1)

        def write_users(path, text):
            with open(path, "w") as f:
                f.write(text)
            os.chown(path, 0, grp.getgrnam("mta-auth").gr_gid)
            os.chmod(path, 0o640)

        def rcpt(who):
            c = m.smtplib()
            c.ehlo()
            c.mail("a@example.test")
            code = c.rcpt(who)[0]
            c.quit()
            return code
        wait_until(lambda: rcpt("carol@localhost") == 250, 10, "carol known", m.fail)
        # Without carol, renamed into place in the same directory: reloaded.
        write_users(users + ".new", "".join(ln for ln in lines if ln not in carol))
        os.rename(users + ".new", users)
        wait_until(lambda: rcpt("carol@localhost") == 550, 10, "carol gone", m.fail)
        # With carol again, behind a symlink into another directory.
        outside = os.path.join(m.top, "outside")
        os.mkdir(outside, 0o755)
        write_users(os.path.join(outside, "users"), "".join(lines))
        os.symlink(os.path.join(outside, "users"), users + ".new")
        os.rename(users + ".new", users)
        refused = re.compile(r"mta-smtpd\[\d+\]: warning: users: .*users: "
                             r"Permission denied; previous version kept")
        # (a RCPT makes smtpd look at users_file, once a second at most)
        wait_until(lambda: rcpt("carol@localhost") == 550 and refused.search(m.log()),
                   10, "smtpd refused the read", m.fail)
        self.assertEqual(rcpt("bob@localhost"), 250)
        # Its credentials alone do read it: the refusal is Landlock's.
        pid = m.pids("mta-smtpd")[0]
        creds = proc_info(pid)[4][1], gids_of(pid)[1], groups_of(pid)
        self.assertEqual(try_as(*creds, [lambda: open(users).close()]), CHILD_WROTE)
        m.stop()

    def test_missing_auth_group_stops_the_start(self):
        m = Mta(self, start=False, group_auth="mta-no-such-group")
        r = subprocess.run([program("mta-master"), "-F", "-c", m.conf_path],
                           capture_output=True, timeout=30, env=m.env())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"group_auth = mta-no-such-group: no such group", r.stderr)
        self.assertIn(b"scripts/mkusers", r.stderr)

    def test_state_dir_and_config_under_a_private_directory(self):
        """A checkout under /root (0700): the daemon users cannot traverse
        to the config or the state_dir, yet everything works, because the
        master hands them descriptors."""
        m = Mta(self, start=False)
        os.chmod(m.top, 0o700)
        transport = os.path.join(m.top, "transport")
        with open(transport, "w") as f:
            f.write("example.test [127.0.0.1]:1\n")
        os.chmod(transport, 0o600)
        m.conf["transport_file"] = transport
        m.write_conf()
        m.start()
        data = b"Subject: private\r\n\r\nbody\r\n"
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@example.test"], data)
        m.assert_stored(qid, data)
        daemons = m.pids("mta-smtpd") + m.pids("mta-qwriter") + \
            m.wait_pids("mta-qmgr") + m.wait_pids("mta-remote")
        for pid in daemons:
            self.assertNotIn(0, proc_info(pid)[4], "a daemon runs as root")
        # qmgr read the root-only transport_file (handed over): the
        # message went to its next hop, not to example.test's MX.
        m.wait_log(r"%s: to=<b@example.test>.*status=deferred.*127\.0\.0\.1\]?:1\b" % qid)
        m.stop()


class NotRoot(MtaTestCase):
    """As root, run the master as nobody; otherwise as ourselves."""

    def test_not_root_says_privilege_separation_off(self):
        m = Mta(self, start=False)
        user = None
        uid = os.getuid()
        if is_root():
            user = pwd.getpwnam("nobody")
            uid = user.pw_uid
            os.mkdir(m.state_dir)
            os.chown(m.state_dir, user.pw_uid, user.pw_gid)

            def can_exec():
                if not os.access(program("mta-master"), os.X_OK):
                    raise PermissionError(program("mta-master"))
            if try_as(user.pw_uid, user.pw_gid, [], [can_exec]) != CHILD_WROTE:
                self.skipTest("%s is not executable by nobody" % program("mta-master"))
        m.start(user=user)
        m.wait_log(r"privilege separation is off")
        m.wait_pids("mta-qmgr")
        m.wait_pids("mta-remote")
        for name in ("mta-master", "mta-smtpd", "mta-qwriter", "mta-qmgr", "mta-remote"):
            for pid in m.pids(name):
                self.assertEqual(set(proc_info(pid)[4]), {uid}, name)
        st = os.stat(os.path.join(m.state_dir, "run", "qmgr.sock"))
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid), (0o600, uid),
                         "qmgr.sock belongs to the invoking user")
        data = b"Subject: unprivileged\r\n\r\nbody\r\n"
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@example.test"], data)
        m.assert_stored(qid, data)
        self.assertEqual(os.stat(m.queue_file(qid)).st_uid, uid)
        m.stop()
