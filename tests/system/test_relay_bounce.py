"""Retries and bounces end to end (issue 4): a remote 4xx is deferred and
retried until delivered; a remote 5xx sends an RFC 3464 DSN to the sender's
own domain (Postfix's smtp-sink stands in for its MX: it records the
envelope), parsed with Python's email package; per-recipient results in one
transaction; no bounce for a bounce; queue_lifetime expiry with a DSN;
one delay warning (Action: delayed) after delay_warning_time."""
import re
import time

from mtatest import HOSTNAME, MtaTestCase
from relayfix import (DEST_DOMAIN, SENDER_DOMAIN, PostfixSink, Sink, make_message,
                      message_id, original_headers, parse_dsn, relay_mta, send_messages,
                      spool_files, status_lines, strip_received,
                      wait_queue_empty, wait_status, wait_until)

SENDER = "alice@" + SENDER_DOMAIN


class Retry(MtaTestCase):

    def test_4xx_deferred_retried_then_sent(self):
        sink = Sink(self, "--defer-pct", "100", store=True)
        m = relay_mta(self, relayhost=sink.hop)
        data = make_message("retry", 0)
        rcpts = ["a@" + DEST_DOMAIN, "b@" + DEST_DOMAIN]
        qid, = send_messages(m, [data], rcpts=rcpts)
        for r in rcpts:
            d = wait_status(m, qid, "deferred", rcpt=r)[0]
            self.assertEqual(d["prog"], "mta-remote", d)
            self.assertRegex(d["dsn"], r"^4\.", d)
            self.assertIn("451 4.3.0 Try again later (sink)", d["text"], d)
            self.assertTrue(d["relay"].endswith("[127.0.0.1]:%d" % sink.port), d)
        # Deferred: the file waits in deferred/, not in incoming/.
        wait_until(lambda: any("/deferred/" in p for p in spool_files(m)), 10,
                   "the message in spool/deferred", m.fail)
        wait_status(m, qid, "deferred", rcpt=rcpts[0], count=2)   # it is retried
        counts = sink.restart()
        self.assertEqual(counts["messages"], 0, counts)
        self.assertGreaterEqual(counts["rcpt_deferred"], 4, counts)
        for r in rcpts:
            wait_status(m, qid, "sent", rcpt=r, timeout=20)
        lines = status_lines(m, qid)
        last_sent = max(i for i, d in enumerate(lines) if d["status"] == "sent")
        first_def = min(i for i, d in enumerate(lines) if d["status"] == "deferred")
        self.assertLess(first_def, last_sent)
        self.assertEqual(len([d for d in lines if d["status"] == "sent"]), 2, lines)
        self.assertFalse([d for d in lines[last_sent:] if d["status"] == "deferred"], lines)
        stored = sink.wait_messages(1, fail=m.fail)
        self.assertEqual(len(stored), 1)
        self.assertEqual(strip_received(stored[0], HOSTNAME)[1], data)
        wait_queue_empty(m)
        m.stop()


class Bounce(MtaTestCase):

    def bounce_setup(self, *dest_args, **conf):
        dest = Sink(self, *dest_args)
        home = PostfixSink(self)          # the sender's MX: gets the DSN
        m = relay_mta(self, transport={DEST_DOMAIN: dest.hop, SENDER_DOMAIN: home.hop},
                      **conf)
        return dest, home, m

    def wait_dsns(self, m, home, n):
        txns = wait_until(lambda: (lambda t: t if len(t) >= n else None)(home.transactions()),
                          20, "%d DSN(s) at the sender's sink" % n, m.fail)
        time.sleep(0.3)
        txns = home.transactions()
        self.assertEqual(len(txns), n, "expected %d DSN(s): %r" % (n, txns))
        return txns

    def check_dsn(self, env, raw, orig, failed, status_rx, diag):
        """One DSN from <> to SENDER about the recipients failed."""
        self.assertRegex(env["mail"], r"^<>")
        self.assertEqual(env["rcpts"], ["<%s>" % SENDER])
        _, raw = strip_received(raw)          # smtp-sink's own Received:
        msg, per_msg, per_rcpt, returned = parse_dsn(raw)
        self.assertIn(SENDER, msg["To"])
        self.assertRegex(per_msg["Reporting-MTA"] or "", r"(?i)^dns;\s*" + re.escape(HOSTNAME))
        got = {}
        for b in per_rcpt:
            fr = b["Final-Recipient"] or ""
            mt = re.match(r"(?i)^rfc822;\s*(\S+)$", fr.strip())
            self.assertTrue(mt, "Final-Recipient %r" % fr)
            got[mt.group(1)] = b
        self.assertEqual(sorted(got), sorted(failed))
        for b in got.values():
            self.assertEqual((b["Action"] or "").strip().lower(), "failed", b)
            self.assertRegex((b["Status"] or "").strip(), status_rx, b)
            if diag is not None:
                self.assertRegex(b["Diagnostic-Code"] or "", r"(?i)^smtp;", b)
                self.assertIn(diag, b["Diagnostic-Code"], b)
                self.assertRegex(b["Remote-MTA"] or "", r"(?i)^dns;\s*\S", b)
        self.assertIsNotNone(returned, "the original headers are not attached")
        hdrs = original_headers(returned)
        self.assertIn(message_id(orig), hdrs)
        self.assertIn("Subject: " + re.search(rb"Subject: ([^\r]*)", orig).group(1).decode(),
                      hdrs)
        return msg

    def test_5xx_dsn_to_sender_domain(self):
        dest, home, m = self.bounce_setup("--reject-pct", "100")
        data = make_message("bounce", 0, sender=SENDER)
        rcpts = ["a@" + DEST_DOMAIN, "b@" + DEST_DOMAIN]
        qid, = send_messages(m, [data], sender=SENDER, rcpts=rcpts)
        for r in rcpts:
            d = wait_status(m, qid, "bounced", rcpt=r)[0]
            self.assertEqual(d["dsn"], "5.1.1", d)
            self.assertIn("550 5.1.1 No such user (sink)", d["text"])
            self.assertTrue(d["relay"].endswith("[127.0.0.1]:%d" % dest.port), d)
        (env, raw), = self.wait_dsns(m, home, 1)
        self.check_dsn(env, raw, data, rcpts, r"^5\.1\.1$", "550 5.1.1 No such user (sink)")
        self.assertEqual(len(status_lines(m, qid, "sent")), 0)
        self.assertEqual(len(status_lines(m, qid, "deferred")), 0)
        # The DSN itself went out as a message of its own.
        dsn_sent = [d for d in status_lines(m, status="sent") if d["rcpt"] == SENDER]
        self.assertEqual(len(dsn_sent), 1, dsn_sent)
        self.assertNotEqual(dsn_sent[0]["qid"], qid)
        wait_queue_empty(m)
        self.assertEqual(dest.stop()["messages"], 0)
        m.stop()

    def test_data_5xx_and_mixed_recipients(self):
        """Per-recipient mapping: some recipients refused at RCPT (550),
        the rest delivered; only the refused ones are in the DSN.  Then a
        554 after DATA bounces every recipient of the transaction."""
        dest, home, m = self.bounce_setup("--seed", "5", "--reject-pct", "50")
        data = make_message("mixed", 0, sender=SENDER)
        rcpts = ["m%d@%s" % (i, DEST_DOMAIN) for i in range(8)]
        qid, = send_messages(m, [data], sender=SENDER, rcpts=rcpts)
        wait_until(lambda: len([d for d in status_lines(m, qid) if d["status"] != "deferred"])
                   >= len(rcpts), 20, "a final line for every recipient", m.fail)
        fin = [d for d in status_lines(m, qid) if d["status"] != "deferred"]
        self.assertEqual(sorted(d["rcpt"] for d in fin), sorted(rcpts))
        bounced = sorted(d["rcpt"] for d in fin if d["status"] == "bounced")
        sent = [d for d in fin if d["status"] == "sent"]
        self.assertEqual(len(bounced) + len(sent), len(rcpts), fin)
        counts = dest.restart("--data-reject-pct", "100")
        self.assertEqual(counts["rcpt_rejected"], len(bounced), counts)
        self.assertEqual(counts["recipients"], len(sent), counts)
        if bounced:
            (env, raw), = self.wait_dsns(m, home, 1)
            self.check_dsn(env, raw, data, bounced, r"^5\.1\.1$", "No such user (sink)")

        data2 = make_message("datarej", 1, sender=SENDER)
        rc2 = ["d1@" + DEST_DOMAIN, "d2@" + DEST_DOMAIN]
        qid2, = send_messages(m, [data2], sender=SENDER, rcpts=rc2)
        for r in rc2:
            d = wait_status(m, qid2, "bounced", rcpt=r)[0]
            self.assertIn("554 5.6.0 Message rejected (sink)", d["text"])
            self.assertRegex(d["dsn"], r"^5\.6\.0$")
        txns = self.wait_dsns(m, home, 2 if bounced else 1)
        env, raw = txns[-1]
        self.check_dsn(env, raw, data2, rc2, r"^5\.6\.0$", "554 5.6.0 Message rejected (sink)")
        wait_queue_empty(m)
        m.stop()

    def test_no_bounce_loops(self):
        """A message from <> that bounces is logged and dropped; a DSN that
        bounces (the sender's domain refuses it) is not bounced again."""
        dest = Sink(self, "--reject-pct", "100")
        home = Sink(self, "--reject-pct", "100")        # the sender refuses too
        m = relay_mta(self, transport={DEST_DOMAIN: dest.hop, SENDER_DOMAIN: home.hop})
        qid, = send_messages(m, [make_message("null", 0)], sender="",
                             rcpts=["x@" + DEST_DOMAIN])
        wait_status(m, qid, "bounced", rcpt="x@" + DEST_DOMAIN)
        m.wait_log(r"%s: dsn suppressed for null sender" % qid)

        # Now an ordinary sender whose domain refuses the DSN.
        qid2, = send_messages(m, [make_message("loop", 1, sender=SENDER)], sender=SENDER,
                              rcpts=["y@" + DEST_DOMAIN])
        wait_status(m, qid2, "bounced", rcpt="y@" + DEST_DOMAIN)
        dsn = wait_until(lambda: [d for d in status_lines(m, status="bounced")
                                  if d["rcpt"] == SENDER], 20,
                         "the DSN to %s bounced" % SENDER, m.fail)[0]
        m.wait_log(r"%s: dsn suppressed for null sender" % dsn["qid"])
        time.sleep(1.5)            # give a loop the time to show itself
        qids = {d["qid"] for d in status_lines(m)}
        self.assertEqual(qids, {qid, qid2, dsn["qid"]},
                         "one DSN only, for the ordinary sender: %s" % qids)
        self.assertEqual(len(status_lines(m, status="bounced")), 3)
        self.assertEqual(len(re.findall(r"dsn suppressed for null sender", m.log())), 2)
        wait_queue_empty(m)
        self.assertEqual(dest.stop()["rcpt_rejected"], 2)
        self.assertEqual(home.stop()["rcpt_rejected"], 1)
        m.stop()

    def test_expiry_after_queue_lifetime(self):
        dest, home, m = self.bounce_setup("--defer-pct", "100", queue_lifetime="3s")
        data = make_message("expire", 0, sender=SENDER)
        rcpt = "late@" + DEST_DOMAIN
        t0 = time.monotonic()
        qid, = send_messages(m, [data], sender=SENDER, rcpts=[rcpt])
        wait_status(m, qid, "deferred", rcpt=rcpt)
        d = wait_status(m, qid, "expired", rcpt=rcpt, timeout=20)[0]
        # qmgr counts the lifetime in whole seconds of arrival: up to 1 s early.
        self.assertGreaterEqual(time.monotonic() - t0, 2.0, "expired before queue_lifetime")
        self.assertGreaterEqual(float(d["delay"]), 2.0, d)
        self.assertEqual(d["prog"], "mta-qmgr", d)
        self.assertIn("451 4.3.0 Try again later (sink)", d["text"])
        self.assertRegex(d["dsn"], r"^[45]\.\d+\.\d+$", d)
        self.assertEqual(len(status_lines(m, qid, "expired")), 1)
        (env, raw), = self.wait_dsns(m, home, 1)
        self.check_dsn(env, raw, data, [rcpt], r"^[45]\.\d+\.\d+$", None)
        wait_queue_empty(m)
        self.assertEqual(dest.stop()["messages"], 0)
        m.stop()

    def test_delay_warning_once(self):
        dest, home, m = self.bounce_setup("--defer-pct", "100", delay_warning_time="1s")
        data = make_message("delaywarn", 0, sender=SENDER)
        rcpt = "slow@" + DEST_DOMAIN
        qid, = send_messages(m, [data], sender=SENDER, rcpts=[rcpt])
        (env, raw), = self.wait_dsns(m, home, 1)
        k = len(status_lines(m, qid, "deferred"))
        wait_status(m, qid, "deferred", rcpt=rcpt, count=k + 1)     # retried since
        self.assertEqual(len(home.transactions()), 1, "one delay warning per message")
        self.assertRegex(env["mail"], r"^<>")
        self.assertEqual(env["rcpts"], ["<%s>" % SENDER])
        msg, per_msg, per_rcpt, returned = parse_dsn(strip_received(raw)[1])
        self.assertEqual(len(per_rcpt), 1)
        b = per_rcpt[0]
        self.assertIn(rcpt, b["Final-Recipient"])
        self.assertEqual(b["Action"].strip().lower(), "delayed", b)
        self.assertRegex(b["Status"].strip(), r"^4\.\d+\.\d+$", b)
        self.assertIn(message_id(data), original_headers(returned))
        self.assertEqual(status_lines(m, qid, "bounced") + status_lines(m, qid, "expired"), [])
        r = m.ctl("delete", qid)
        self.assertEqual(r.returncode, 0, r)
        wait_queue_empty(m)
        m.stop()
