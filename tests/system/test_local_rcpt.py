"""Local recipients and aliases, end to end with Python smtplib.

smtpd refuses an unknown user of a local domain at RCPT with 550 5.1.1,
accepts accounts of users_file, aliases of aliases_file and postmaster;
the queue writer replaces an alias by its targets before the queue file
is written (any origin: SMTP and sendmail here), so the queue file holds
the final recipients and a remote target is relayed by qmgr to a sink;
an alias loop is 451 4.3.0 at RCPT; aliases_file and users_file changes
take effect without a restart.  Local targets are either delivered or
deferred, depending on whether the local agent runs: the tests check the
recipients, never the local outcome.
"""
import os
import re
import smtplib
import time

from mtatest import SLOW, MtaTestCase, free_port
from relayfix import Sink, relay_mta, status_lines, wait_until

# users_exists() checks the format only; nobody logs in here.
HASH = "$6$testsalt$" + "a" * 86
USERS = ["alice@localhost", "bob@localhost", "carol@example.test"]
ALIASES = """\
# test aliases
team@localhost: alice, bob@localhost,
    dave@remote.example
held: alice, x@slow.example, y@slow.example
sm@localhost: alice@localhost, z@slow.example
loop1: loop2
loop2: loop1
"""
DATA = b"From: <s@sender.test>\r\nSubject: local rcpt\r\n\r\nhello\r\n"


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


class LocalRcpt(MtaTestCase):

    def setUp(self):
        self.sink = Sink(self, store=True)
        # slow.example: a port nobody listens on, so its recipients stay
        # deferred and the queue file stays to be read.
        self.m = relay_mta(self, start=False,
                           transport={"remote.example": self.sink.hop,
                                      "slow.example": "[127.0.0.1]:%d" % free_port()},
                           local_domains="localhost, example.test")
        self.users = os.path.join(self.m.top, "users")
        self.aliases = os.path.join(self.m.top, "aliases")
        write(self.users, "".join("%s:%s\n" % (u, HASH) for u in USERS))
        write(self.aliases, ALIASES)
        self.m.conf.update(users_file=self.users, aliases_file=self.aliases)
        self.m.write_conf()
        self.m.start()

    def session(self):
        s = self.m.smtplib()
        s.ehlo("client.example")
        self.assertEqual(s.mail("s@sender.test")[0], 250)
        return s

    def qid_of(self, reply):
        m = re.search(r"queued as ([0-9A-F]{16})", reply)
        self.assertIsNotNone(m, reply)
        return m.group(1)

    def send(self, rcpts):
        s = self.session()
        for r in rcpts:
            code, text = s.rcpt(r)
            self.assertEqual(code, 250, (r, text))
        code, text = s.data(DATA)
        self.assertEqual(code, 250, text)
        s.quit()
        return self.qid_of(text.decode())

    def test_unknown_user_refused_known_accepted(self):
        s = self.session()
        code, text = s.rcpt("nobody@localhost")
        self.assertEqual(code, 550, text)
        self.assertTrue(text.startswith(b"5.1.1 <nobody@localhost>: Recipient address "
                                        b"rejected: User unknown in local recipient table"),
                        text)
        for ok in ("alice@localhost", "ALICE@LocalHost", "carol@EXAMPLE.test",
                   "postmaster@localhost", "Postmaster@example.test", "team@localhost",
                   "held@example.test", "someone@remote.example"):
            code, text = s.rcpt(ok)
            self.assertEqual(code, 250, (ok, text))
        # An account in one local domain is not one in the other.
        self.assertEqual(s.rcpt("alice@example.test")[0], 550)
        s.quit()
        self.m.wait_log(r"reject: RCPT from \[127\.0\.0\.1\]: 550 5\.1\.1 <nobody@localhost>")

    def test_postmaster_without_domain(self):
        s = self.session()
        code, text = s.docmd("RCPT TO:<Postmaster>")
        self.assertEqual(code, 250, text)
        s.quit()

    def test_alias_expanded_in_queue_file(self):
        qid = self.send(["held@localhost", "alice@localhost"])
        env = self.m.envelope(qid)
        # alice comes from the alias and directly: once.
        self.assertEqual(sorted(env["rcpts"]),
                         ["alice@localhost", "x@slow.example", "y@slow.example"])
        self.m.wait_log(r"mta-qwriter\[\d+\]: %s: alias <held@localhost> -> "
                        r"<alice@localhost>, <x@slow\.example>, <y@slow\.example>\r?\n" % qid)
        self.m.wait_log(r"%s: from=<s@sender\.test>, size=\d+, nrcpt=3 \(queued\)" % qid)
        r = self.m.ctl("queue")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"x@slow.example", r.stdout)
        self.assertNotIn(b"held@localhost", r.stdout)

    def test_fan_out_to_local_users_and_remote(self):
        qid = self.send(["team@localhost"])
        self.m.wait_log(r"%s: alias <team@localhost> -> <alice@localhost>, "
                        r"<bob@localhost>, <dave@remote\.example>" % qid)
        self.sink.wait_messages(1, fail=self.m.fail)
        wait_until(lambda: status_lines(self.m, qid=qid, status="sent",
                                        rcpt="dave@remote.example"),
                   10, "dave@remote.example sent", self.m.fail)
        for local in ("alice@localhost", "bob@localhost"):
            wait_until(lambda: status_lines(self.m, qid=qid, rcpt=local), 10,
                       "a status line for " + local, self.m.fail)
        self.assertFalse(status_lines(self.m, qid=qid, rcpt="team@localhost"))
        self.assertEqual(len(self.sink.messages()), 1)

    def test_files_reloaded_without_restart(self):
        pids = self.m.daemon_pids()
        s = self.session()
        self.assertEqual(s.rcpt("new@localhost")[0], 550)
        self.assertEqual(s.rcpt("newuser@localhost")[0], 550)
        s.quit()
        write(self.aliases, ALIASES + "new: carol@example.test\n")
        write(self.users, "".join("%s:%s\n" % (u, HASH) for u in USERS + ["newuser@localhost"]))
        time.sleep(1.2)

        def accepted():
            s = self.session()
            ok = s.rcpt("new@localhost")[0] == 250 and s.rcpt("newuser@localhost")[0] == 250
            s.quit()
            return ok
        wait_until(accepted, 10, "the new alias and user to be accepted", self.m.fail)
        qid = self.send(["new@localhost", "x@slow.example"])
        self.assertEqual(sorted(self.m.envelope(qid)["rcpts"]),
                         ["carol@example.test", "x@slow.example"])
        # A broken file: logged, the previous version kept.
        # (the files are looked at when a recipient needs them).
        write(self.aliases, ALIASES + "broken line\n")
        time.sleep(1.2)
        s = self.session()
        self.assertEqual(s.rcpt("new@localhost")[0], 250)
        s.quit()
        self.m.wait_log(r"mta-smtpd\[\d+\]: warning: aliases: %s:\d+: expected "
                        r"`address: target.*previous version kept" % re.escape(self.aliases))
        self.assertNoRestarts(self.m, pids)

    def test_sendmail_to_alias_expands(self):
        r = self.m.sendmail(["sm@localhost"], DATA)
        self.assertEqual(r.returncode, 0, r.stderr)
        mt = self.m.wait_log(r"mta-qwriter\[\d+\]: ([0-9A-F]{16}): alias <sm@localhost> -> "
                             r"<alice@localhost>, <z@slow\.example>")
        env = self.m.envelope(mt.group(1))
        self.assertEqual(sorted(env["rcpts"]), ["alice@localhost", "z@slow.example"])
        self.assertEqual(env["origin"], "sendmail")

    def test_sendmail_alias_loop_is_tempfail(self):
        r = self.m.sendmail(["loop1@localhost"], DATA)
        self.assertEqual(r.returncode, 75, r)       # EX_TEMPFAIL
        self.assertIn(b"alias loop", r.stderr)
        self.m.wait_log(r"alias <loop1@localhost>: 4\.3\.0 .*alias loop")

    def test_alias_loop_is_451_at_rcpt(self):
        s = self.session()
        code, text = s.rcpt("loop1@localhost")
        self.assertEqual(code, 451, text)
        self.assertTrue(text.startswith(b"4.3.0 "), text)
        self.assertEqual(s.rcpt("alice@localhost")[0], 250)
        s.quit()
        self.m.wait_log(r"mta-smtpd\[\d+\]: warning: alias <loop1@localhost> .*loop")
