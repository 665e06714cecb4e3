"""mtactl: the start/status/reload/stop lifecycle of a daemonized MTA,
reload with a changed and with a broken config, queue and cat, and config
errors ("file:line: message", exit 2) from mtactl check and mta-master."""
import os
import re
import signal
import subprocess
import time

from mtatest import SLOW, Mta, MtaTestCase, Smtp, program


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
        m = Mta(self, start=False)
        out = self.ctl_ok(m, "start")
        self.assertIn("started", out)
        m.wait_ready()
        self.assertTrue(os.path.exists(os.path.join(m.state_dir, "log", "mta.log")),
                        "a daemonized master logs to state_dir/log/mta.log")
        master = m.pids("mta-master")
        self.assertEqual(len(master), 1, master)

        out = self.ctl_ok(m, "status")
        self.assertRegex(out, r"running \(pid %d\)" % master[0])
        for name in ("mta-smtpd", "mta-qwriter"):
            for pid in m.pids(name):
                self.assertRegex(out, r"(?m)^%s %d running$" % (name, pid))

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
        while not set(m.pids("mta-smtpd")).isdisjoint(old_smtpd):
            if time.monotonic() > deadline:
                m.fail("old smtpd workers %s still run after reload" % old_smtpd)
            time.sleep(0.1)
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
