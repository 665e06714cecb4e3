"""The attacks that made other MTAs open relays or let mail be smuggled,
against the real daemons: an unauthenticated client outside mynetworks
(mynetworks empty) tries every address trick for relaying through a local
domain (percent hack, source routes, bang paths, quoted local parts, two
@s, address literals) and gets a refusal for each, with nothing queued;
and messages with every end-of-data look-alike inside are relayed to a
sink (mta-sink), which must receive each as one message with the
look-alike inside, never a second, smuggled one."""
import os
import re
import unittest

from mtatest import MtaTestCase, Smtp, queue_id
from relayfix import DEST_DOMAIN, Sink, relay_mta, wait_final
from test_hostile import SMUGGLE_SEPS, SMUGGLE_TAIL

LOCAL = "example.test"

# (RCPT argument, why it must not relay).  Each names a local domain
# somewhere, hoping the server delivers "locally" and then forwards.
TRICKS = [
    ("<u@other.example>", "plain remote domain"),
    ("<u%other.example@example.test>", "percent hack"),
    ("<other.example!u@example.test>", "bang path"),
    ('<"u@other.example"@example.test>', "quoted local part with @"),
    ("<@example.test:u@other.example>", "source route via a local domain"),
    ("<@other.example:u@example.test>", "source route to a local domain"),
    ("<u@other.example@example.test>", "two @"),
    ("<u@example.test@other.example>", "two @, remote last"),
    ("<u@[127.0.0.1]>", "address literal"),
    ("<u@sub.example.test>", "subdomain of a local domain"),
    ("<u@example.test.>", "trailing dot"),
    ("<u@example.test.other.example>", "local domain as a prefix"),
]


class OpenRelay(MtaTestCase):
    def test_every_relay_trick_is_refused_outside_mynetworks(self):
        m = self.mta(mynetworks="", local_domains="localhost, " + LOCAL,
                     start=False)
        users = os.path.join(m.top, "users")
        with open(users, "w") as f:
            f.write("u@%s:$6$salt$%s\n" % (LOCAL, "a" * 86))
        os.chmod(users, 0o644)
        m.conf["users_file"] = users
        m.write_conf()
        m.start()
        before = m.queued_ids()
        with m.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>").code, 250)
            for rcpt, why in TRICKS:
                with self.subTest(why, rcpt=rcpt):
                    r = c.cmd("RCPT TO:%s" % rcpt)
                    self.assertIn(r.code, (501, 550, 553, 554), "%s: %r" % (why, r))
                    if r.code == 554:
                        self.assertRegex(r.text, r"^554 5\.7\.1 ")
            # The one real local user still gets mail, so the refusals
            # above were about relaying, not a broken server.
            self.assertEqual(c.cmd("RCPT TO:<u@%s>" % LOCAL).code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            r = c.cmd("Subject: legit\r\n\r\nhello\r\n.")
            self.assertEqual(r.code, 250, r)
            qid = queue_id(r)
            c.cmd("QUIT")
        m.wait_log(r"%s: to=<u@%s>, relay=local, .*status=sent" % (qid, LOCAL))
        self.assertEqual(m.queued_ids() - before - {qid}, set(),
                         "only the legitimate message was queued")
        self.assertNotRegex(m.log(), r"to=<[^>]*other\.example",
                            "no delivery attempt to the other domain")


class SmuggledThroughTheRelay(MtaTestCase):
    """Each look-alike is normalised or refused at our door; what we relay
    must reach the sink as exactly the one message that was sent."""

    def test_look_alikes_never_split_a_relayed_message(self):
        sink = Sink(self, store=True)
        m = relay_mta(self, transport={DEST_DOMAIN: sink.hop},
                      smtpd_bare_lf="normalize")
        qids = []
        for sep, _bare_cr in SMUGGLE_SEPS:
            with m.smtp() as c:
                c.ehlo()
                self.assertEqual(c.cmd("MAIL FROM:<honest@sender.test>").code, 250)
                self.assertEqual(c.cmd("RCPT TO:<r@%s>" % DEST_DOMAIN).code, 250)
                self.assertEqual(c.cmd("DATA").code, 354)
                c.send(b"Subject: smuggle %r\r\n\r\nfirst part" % sep + sep
                       + SMUGGLE_TAIL + b".\r\nQUIT\r\n")
                first, second = c.reply(), c.reply()
            self.assertEqual(second.code, 221, "smuggled commands ran: %r" % first)
            if first.code == 250:
                qids.append(queue_id(first))
            else:
                self.assertRegex(first.text, r"^550 5\.6\.11 ", sep)
        self.assertTrue(qids, "normalising: some look-alikes are accepted")
        wait_final(m, qids)
        got = sink.wait_messages(len(qids), fail=m.fail)
        self.assertEqual(len(got), len(qids), "one message at the sink per message sent")
        for raw in got:
            head, body = raw.split(b"\r\n\r\n", 1)
            self.assertRegex(head, rb"(?m)^Subject: smuggle ")
            self.assertNotIn(b"smuggled", head, "a smuggled message reached the sink")
            for part in (b"first part", b"smuggler@evil.test", b"second part"):
                self.assertIn(part, body)

if __name__ == "__main__":
    unittest.main()
