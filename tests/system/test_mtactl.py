"""mtactl: the start/status/reload/stop lifecycle of a daemonized MTA,
reload with a changed and with a broken config, queue and cat, the queue
manager's commands (flush, delete, hold, release, stats: argument checks,
exit 69 when no queue manager runs, and the real thing against mta-qmgr),
and config errors ("file:line: message", exit 2) from mtactl check and
mta-master."""
import os
import re
import shutil
import signal
import subprocess
import time

from mtatest import SLOW, TOP, Mta, MtaTestCase, Smtp, free_port, program
from tlssink import make_leaf

QMGR_COMMANDS = [("flush",), ("stats",), ("delete", "all"),
                 ("delete", "0123456789ABCDEF"), ("hold", "0123456789abcdef"),
                 ("release", "0123456789ABCDEF")]
STATS_KEYS = ("received", "delivered", "deferred", "bounced", "expired",
              "queue_active", "queue_deferred", "queue_hold", "connections")


def status_lines(out):
    """{name: [(pid, state)]} from mtactl status output."""
    got = {}
    for line in out.splitlines():
        m = re.fullmatch(r"(mta-[a-z]+) (\d+|-) (\w+)", line)
        if m:
            got.setdefault(m.group(1), []).append((m.group(2), m.group(3)))
    return got


class Lifecycle(MtaTestCase):

    def ctl_ok(self, m, *args):
        r = m.ctl(*args)
        out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, "mtactl %s: %s" % (" ".join(args), out))
        return out

    def greeting(self, m):
        with Smtp(m.port) as c:
            return c.greeting.text

    def test_start_status_reload_stop(self):
        m = Mta(self, start=False, remote_workers=2)
        out = self.ctl_ok(m, "start")
        self.assertIn("started", out)
        m.wait_ready()
        self.assertTrue(os.path.exists(os.path.join(m.state_dir, "log", "mta.log")),
                        "a daemonized master logs to state_dir/log/mta.log")
        master = m.pids("mta-master")
        self.assertEqual(len(master), 1, master)

        m.wait_pids("mta-qmgr")
        old_agents = m.wait_pids("mta-remote", count=2)
        old_qmgr = m.pids("mta-qmgr")
        out = self.ctl_ok(m, "status")
        self.assertRegex(out, r"running \(pid %d\)" % master[0])
        for name in ("mta-smtpd", "mta-qwriter", "mta-qmgr", "mta-remote"):
            self.assertTrue(m.pids(name), name)
            for pid in m.pids(name):
                self.assertRegex(out, r"(?m)^%s %d running$" % (name, pid))
        lines = status_lines(out)
        self.assertEqual(len(lines["mta-qmgr"]), 1, out)
        self.assertEqual(len(lines["mta-remote"]), 2, "remote_workers = 2: " + out)

        r = m.ctl("start")
        self.assertEqual(r.returncode, 1, "a second start must refuse")
        self.assertIn(b"already running", r.stdout + r.stderr)

        # Reload with a changed hostname: new workers greet with it.
        old_smtpd = m.pids("mta-smtpd")
        m.conf["hostname"] = "reloaded.example"
        m.write_conf()
        self.ctl_ok(m, "reload")
        m.wait_log(r"reloaded")
        deadline = time.monotonic() + 10 * SLOW
        while "reloaded.example" not in self.greeting(m):
            if time.monotonic() > deadline:
                m.fail("greeting still %r after reload" % self.greeting(m))
            time.sleep(0.1)
        self.assertEqual(m.pids("mta-master"), master, "reload must not restart the master")
        deadline = time.monotonic() + 10 * SLOW
        while not (set(m.pids("mta-smtpd")).isdisjoint(old_smtpd) and
                   set(m.pids("mta-remote")).isdisjoint(old_agents) and
                   set(m.pids("mta-qmgr")).isdisjoint(old_qmgr)):
            if time.monotonic() > deadline:
                m.fail("old smtpd workers %s, agents %s or qmgr %s still run after reload"
                       % (old_smtpd, old_agents, old_qmgr))
            time.sleep(0.1)
        m.wait_pids("mta-qmgr")
        m.wait_pids("mta-remote", count=2)
        data = b"Subject: after reload\r\n\r\nok\r\n"
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@example.test"], data)
        m.assert_stored(qid, data)

        # A broken config is refused by mtactl and, sent by SIGHUP, by the master.
        with open(m.conf_path, "a") as f:
            f.write("no_such_key = 1\n")
        r = m.ctl("reload")
        self.assertEqual(r.returncode, 2, r)
        os.kill(master[0], signal.SIGHUP)
        time.sleep(0.5 * SLOW)
        self.assertEqual(m.pids("mta-master"), master, "a bad reload killed the master")
        self.assertIn("reloaded.example", self.greeting(m))
        m.write_conf()

        out = self.ctl_ok(m, "stop")
        self.assertIn("stopped", out)
        self.assertEqual(m.daemon_pids(), [], "processes left after mtactl stop")
        r = m.ctl("status")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(b"not running", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(m.state_dir, "run", "master.pid")))
        r = m.ctl("stop")
        self.assertEqual(r.returncode, 0, "stop when stopped is not an error")
        m.check_log_clean()

    def test_status_after_kill_9_and_restart(self):
        m = self.mta()
        m.kill_all()
        r = m.ctl("status")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(b"not running", r.stdout)
        m.start()
        self.assertEqual(m.ctl("status").returncode, 0)
        m.stop()

    def test_queue_and_cat(self):
        m = self.mta()
        data = b"Subject: listed\r\n\r\nin the queue\r\n"
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("lister@example.test", ["r1@example.test", "r2@example.test"],
                                 data)
        m.queue_file(qid)       # published, and settled in deferred/ by the qmgr
        r = m.ctl("queue")
        self.assertEqual(r.returncode, 0, r)
        out = r.stdout.decode(errors="replace")
        self.assertIn(qid, out)
        block = out[out.index(qid):]
        for word in ("lister@example.test", "r1@example.test", "r2@example.test"):
            self.assertIn(word, block)
        self.assertEqual(m.cat(qid)[-len(data):], data)
        r = m.ctl("cat", "0000000000000000")
        self.assertNotEqual(r.returncode, 0, "cat of an unknown ID must fail")
        r = m.ctl("cat", "../../../etc/passwd")
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn(b"root:", r.stdout)
        m.stop()


class QmgrCommands(MtaTestCase):
    """flush, delete, hold, release, stats: mtactl's side (arguments, a
    queue manager that is not there) and, with a real mta-qmgr, the
    effect of each command on a deferred message."""

    def test_usage_errors_need_no_running_mta(self):
        m = Mta(self, start=False)
        bad = [(("flush", "x"), "usage: mtactl flush"),
               (("stats", "x"), "usage: mtactl stats"),
               (("delete",), "usage: mtactl delete ID|all"),
               (("delete", "a", "b"), "usage: mtactl delete ID|all"),
               (("delete", "0123"), "not a queue ID"),
               (("delete", "0123456789ABCDEG"), "not a queue ID"),
               (("hold",), "usage: mtactl hold ID"),
               (("hold", "all"), "not a queue ID"),
               (("hold", "../../etc/passwd"), "not a queue ID"),
               (("release",), "usage: mtactl release ID"),
               (("release", "0123456789ABCDEF0"), "not a queue ID")]
        for args, msg in bad:
            with self.subTest(args):
                r = m.ctl(*args)
                self.assertEqual(r.returncode, 64, r)
                self.assertIn(msg, r.stderr.decode(errors="replace"))
        r = m.ctl("help")
        self.assertEqual(r.returncode, 0)
        for cmd in ("flush", "delete ID|all", "hold ID", "release ID", "stats"):
            self.assertIn("\n  " + cmd, r.stdout.decode())

    def test_not_running_is_exit_69(self):
        m = Mta(self, start=False)
        for args in QMGR_COMMANDS:
            with self.subTest(args):
                r = m.ctl(*args)
                self.assertEqual(r.returncode, 69, r)
                self.assertIn("not running", r.stderr.decode(errors="replace"))

    def test_queue_without_qmgr_shows_dash(self):
        m = self.mta()
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@remote.example"], b"Subject: x\r\n\r\n.\r\n")
        m.queue_file(qid)
        m.stop()
        r = m.ctl("queue")
        self.assertEqual(r.returncode, 0, r)
        line = [x for x in r.stdout.decode().splitlines() if x.startswith(qid)]
        self.assertEqual(len(line), 1, r.stdout)
        self.assertTrue(line[0].endswith("  -"), line[0])

    def test_qmgr_restarting_is_exit_69(self):
        m = self.mta()
        status = os.path.join(m.state_dir, "run", "status")
        for _ in range(5):
            pid = m.wait_pids("mta-qmgr")[0]
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5 * SLOW
            while "mta-qmgr - restarting" not in open(status).read():
                if time.monotonic() > deadline:
                    m.fail("run/status never showed mta-qmgr restarting")
                time.sleep(0.01)
            r = m.ctl("stats", timeout=40 * SLOW)
            if "mta-qmgr - restarting" in open(status).read():
                self.assertEqual(r.returncode, 69, r)
                self.assertIn("not running", r.stderr.decode(errors="replace"))
                break
        else:
            m.fail("mta-qmgr always came back before mtactl ran")
        m.wait_pids("mta-qmgr")
        m.stop()

    def test_commands_on_a_deferred_message(self):
        # Every attempt is refused at once (nobody listens on the relay
        # port): the message is deferred with a last error, for an hour.
        m = self.mta(relayhost="[127.0.0.1]:%d" % free_port(), retry_min="1h",
                     retry_max="2h")
        with m.smtp() as c:
            c.ehlo()
            qid = c.send_message("a@example.test", ["b@remote.example"],
                                 b"Subject: deferred\r\n\r\nbody\r\n")
        m.wait_log(r"%s: to=<b@remote\.example>, .*status=deferred" % qid, timeout=20 * SLOW)
        deadline = time.monotonic() + 10 * SLOW
        while True:
            r = m.ctl("queue")
            self.assertEqual(r.returncode, 0, r)
            line = [x for x in r.stdout.decode().splitlines() if x.startswith(qid)]
            if line and not line[0].endswith("  -") and " now " not in line[0]:
                break
            if time.monotonic() > deadline:
                m.fail("mtactl queue never showed a next attempt and last error: %r"
                       % r.stdout)
            time.sleep(0.1)
        self.assertRegex(line[0], r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  \S", line[0])

        r = m.ctl("stats")
        self.assertEqual(r.returncode, 0, r)
        stats = dict(x.split(None, 1) for x in r.stdout.decode().splitlines() if x.strip())
        for key in STATS_KEYS:
            self.assertIn(key, stats, r.stdout)
            self.assertRegex(stats[key], r"^\d+$", key)
        self.assertGreaterEqual(int(stats["received"]), 1)
        self.assertGreaterEqual(int(stats["deferred"]), 1)

        self.assertEqual(m.ctl("flush").returncode, 0)
        r = m.ctl("hold", "0000000000000001")
        self.assertEqual(r.returncode, 1, "hold of an unknown ID: %r" % (r,))
        self.assertEqual(m.ctl("hold", qid.lower()).returncode, 0)
        self.wait_in(m, qid, "hold")
        self.assertEqual(m.ctl("release", qid).returncode, 0)
        self.wait_in(m, qid, "incoming", "deferred")
        self.assertEqual(m.ctl("delete", qid).returncode, 0)
        m.wait_log(r"%s: to=<b@remote\.example>, .*status=deleted" % qid)
        deadline = time.monotonic() + 10 * SLOW
        while qid in m.queued_ids():
            if time.monotonic() > deadline:
                m.fail("%s still queued after mtactl delete" % qid)
            time.sleep(0.05)
        self.assertEqual(m.ctl("delete", qid).returncode, 1, "deleted twice")
        m.stop()

    def wait_in(self, m, qid, *dirs):
        deadline = time.monotonic() + 10 * SLOW
        while qid not in m.queued_ids(dirs):
            if time.monotonic() > deadline:
                m.fail("%s never showed up in %s" % (qid, "/".join(dirs)))
            time.sleep(0.05)


BAD_CONFIGS = [
    ("unknown key", "hostname = x.example\nno_such_key = 1\n", 2),
    ("bad size", "message_size_limit = lots\n", 1),
    ("bad duration", "\n\nretry_min = 5 fortnights\n", 3),
    ("bad listen", "smtp_listen = 127.0.0.1:99999\n", 1),
    ("bad network", "# comment\nmynetworks = 10.0.0.0/33\n", 2),
    ("no equals sign", "hostname\n", 1),
]


class ConfigErrors(MtaTestCase):

    def write(self, m, text):
        path = os.path.join(m.top, "bad.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_every_key_is_in_the_manual(self):
        """The keys the parser takes (lib/conf.c's table) are exactly the
        keys mta.conf(5) describes under KEYS."""
        with open(os.path.join(TOP, "docs", "mta.conf.5")) as f:
            section = f.read().split(".Sh KEYS")[1].split("\n.Sh ")[0]
        documented = set()
        for line in section.splitlines():
            if line.startswith(".It Cm"):
                documented.update(re.findall(r"Cm (\w+)", line))
        with open(os.path.join(TOP, "lib", "conf.c")) as f:
            parsed = set(re.findall(r"(?m)^\s*[KL]\((\w+),", f.read()))
        self.assertGreater(len(parsed), 50)
        self.assertEqual(sorted(parsed - documented), [], "not in mta.conf(5)")
        self.assertEqual(sorted(documented - parsed), [], "not a key")

    def test_check_good_config(self):
        m = Mta(self, start=False)
        r = m.ctl("check")
        self.assertEqual(r.returncode, 0, r)

    def test_check_bad_configs(self):
        m = Mta(self, start=False)
        for name, text, line in BAD_CONFIGS:
            with self.subTest(name):
                path = self.write(m, text)
                r = subprocess.run([program("mtactl"), "-c", path, "check"], cwd=m.top,
                                   capture_output=True, timeout=20 * SLOW)
                self.assertEqual(r.returncode, 2, r)
                err = r.stderr.decode(errors="replace")
                self.assertRegex(err, r"(?m)^%s:%d: \S" % (re.escape(path), line), err)

    def test_check_reads_the_tables(self):
        """transport_file, aliases_file and users_file are parsed as the
        daemons would: a broken line is "file:line: why" and exit 2."""
        m = Mta(self, start=False)
        tables = {"transport_file": ("example.net [127.0.0.1]:2526\n",
                                     "example.net\n"),
                  "aliases_file": ("team: alice, bob@example.net\n",
                                   "# ok\nteam alice\n"),
                  "users_file": ("alice@localhost:$6$salt$" + "a" * 86 + "\n",
                                 "\n\nalice@localhost:plaintext\n")}
        for key, (good, bad) in tables.items():
            path = os.path.join(m.top, key)
            m.conf[key] = path
        for key, (good, bad) in tables.items():
            with open(m.conf[key], "w") as f:
                f.write(good)
        m.write_conf()
        r = m.ctl("check")
        self.assertEqual(r.returncode, 0, r)
        for key in tables:
            self.assertIn(("%s: ok" % m.conf[key]).encode(), r.stdout)
        for key, (good, bad) in tables.items():
            with self.subTest(key):
                with open(m.conf[key], "w") as f:
                    f.write(bad)
                r = m.ctl("check")
                self.assertEqual(r.returncode, 2, r)
                line = bad.count("\n")
                self.assertRegex(r.stderr.decode(), r"(?m)^%s:%d: \S"
                                 % (re.escape(m.conf[key]), line))
                with open(m.conf[key], "w") as f:
                    f.write(good)

    def test_check_reads_the_certificate(self):
        """No pair yet at the defaults is fine (the first start makes one);
        a key that does not match its certificate is exit 2."""
        m = Mta(self, start=False)
        r = m.ctl("check")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(b"not there yet", r.stdout)
        paths = {name: make_leaf(m.top, name) for name in ("a", "b")}
        m.conf.update(tls_cert_file=paths["a"][0], tls_key_file=paths["a"][1])
        m.write_conf()
        r = m.ctl("check")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(("%s: ok" % paths["a"][0]).encode(), r.stdout)
        m.conf.update(tls_key_file=paths["b"][1])
        m.write_conf()
        r = m.ctl("check")
        self.assertEqual(r.returncode, 2, r)
        self.assertIn(b"tls_key_file does not match tls_cert_file", r.stderr)

    def test_master_bad_config_exits_2(self):
        m = Mta(self, start=False)
        for name, text, line in BAD_CONFIGS[:3]:
            with self.subTest(name):
                path = self.write(m, text)
                r = subprocess.run([program("mta-master"), "-F", "-c", path], cwd=m.top,
                                   capture_output=True, timeout=20 * SLOW)
                self.assertEqual(r.returncode, 2, r)
                self.assertRegex(r.stderr.decode(errors="replace"),
                                 r"%s:%d: " % (re.escape(path), line))
        r = subprocess.run([program("mta-master"), "-F", "-c", "/nonexistent/mta.conf"],
                           cwd=m.top, capture_output=True, timeout=20 * SLOW)
        self.assertEqual(r.returncode, 2, r)
        self.assertFalse(os.path.exists(os.path.join(m.top, "var")),
                         "a bad config must not create the default state_dir")

    def test_master_without_a_daemon_program_refuses_to_start(self):
        """Every daemon is needed: a master that cannot find mta-qmgr (or
        mta-remote) exits 1 naming it, before it binds anything."""
        m = Mta(self, start=False)
        for missing in ("mta-qmgr", "mta-remote"):
            with self.subTest(missing):
                bindir = os.path.join(m.top, "bin-" + missing)
                os.mkdir(bindir)
                for name in ("mta-master", "mta-smtpd", "mta-qwriter", "mta-qmgr",
                             "mta-remote"):
                    if name != missing:
                        shutil.copy(program(name), bindir)
                r = subprocess.run([os.path.join(bindir, "mta-master"), "-F", "-c", m.conf_path],
                                   cwd=m.top, capture_output=True, timeout=20 * SLOW)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn("cannot find %s" % missing, r.stderr.decode(errors="replace"))
                self.assertFalse(os.path.exists(os.path.join(m.state_dir, "run", "master.pid")))
