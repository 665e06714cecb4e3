"""mtactl's queue commands through the real daemons (issue 4): flush retries
a deferred message at once, hold keeps a message out of delivery (even past
its retry time and through a flush) until release, delete logs
status=deleted for each pending recipient and removes the file, stats
prints the counters of docs/delivery-protocol.md."""
import os
import time

from mtatest import MtaTestCase
from relayfix import (DEST_DOMAIN, SENDER_DOMAIN, Sink, ctl_ok, make_message, relay_mta,
                      send_messages, spool_files, stats, status_lines, wait_final,
                      wait_queue_empty, wait_status, wait_until)

STATS_KEYS = ("received", "delivered", "deferred", "bounced", "expired", "queue_active",
              "queue_deferred", "queue_hold", "connections")


def in_dir(m, qid, d):
    sub = "%02X" % ((int(qid, 16) >> 12) & 0xFF)
    return os.path.exists(m.spool(d, sub, qid))


class QueueCommands(MtaTestCase):

    def deferred_message(self, m, tag, rcpts=("r@" + DEST_DOMAIN,)):
        qid, = send_messages(m, [make_message(tag, 0)], rcpts=list(rcpts))
        for r in rcpts:
            wait_status(m, qid, "deferred", rcpt=r)
        wait_until(lambda: in_dir(m, qid, "deferred"), 10, "%s in deferred/" % qid, m.fail)
        return qid

    def test_flush_delivers_deferred_now(self):
        sink = Sink(self, "--defer-pct", "100")
        m = relay_mta(self, relayhost=sink.hop, retry_min="1h", retry_max="1h")
        qid = self.deferred_message(m, "flush")
        sink.restart()
        time.sleep(1.0)
        self.assertEqual(status_lines(m, qid, "sent"), [], "retried before the hour")
        self.assertEqual(len(status_lines(m, qid, "deferred")), 1)
        t0 = time.monotonic()
        ctl_ok(m, "flush")
        wait_status(m, qid, "sent", timeout=5)
        self.assertLess(time.monotonic() - t0, 5)
        wait_queue_empty(m)
        self.assertEqual(sink.stop()["messages"], 1)
        m.stop()

    def test_hold_keeps_release_sends(self):
        sink = Sink(self, "--defer-pct", "100")
        m = relay_mta(self, relayhost=sink.hop)          # retry every 1-2 s
        qid = self.deferred_message(m, "hold")
        out = ctl_ok(m, "hold", qid)
        wait_until(lambda: in_dir(m, qid, "hold"), 5, "%s in hold/" % qid, m.fail)
        self.assertFalse(in_dir(m, qid, "deferred"), out)
        sink.restart()
        ctl_ok(m, "flush")
        time.sleep(3.5)                                   # past retry_max, twice
        self.assertEqual(status_lines(m, qid, "sent"), [], "a held message was sent")
        self.assertTrue(in_dir(m, qid, "hold"), spool_files(m))
        self.assertEqual(stats(m).get("queue_hold"), 1)
        ctl_ok(m, "release", qid)
        wait_status(m, qid, "sent", timeout=10)
        wait_queue_empty(m)
        self.assertEqual(sink.stop()["messages"], 1)
        # Unknown IDs: status 1 (not found).
        r = m.ctl("hold", "0123456789ABCDEF")
        self.assertEqual(r.returncode, 1, r)
        r = m.ctl("release", "0123456789ABCDEF")
        self.assertEqual(r.returncode, 1, r)
        m.stop()

    def test_delete_one_and_all(self):
        sink = Sink(self, "--defer-pct", "100")
        m = relay_mta(self, relayhost=sink.hop)
        q1 = self.deferred_message(m, "del1")
        two = ["p@" + DEST_DOMAIN, "q@" + DEST_DOMAIN]
        q2 = self.deferred_message(m, "del2", rcpts=two)
        ctl_ok(m, "delete", q1)
        d = wait_status(m, q1, "deleted")
        self.assertEqual([x["rcpt"] for x in d], ["r@" + DEST_DOMAIN])
        wait_until(lambda: not any(in_dir(m, q1, x) for x in ("incoming", "deferred", "hold")),
                   5, "%s removed" % q1, m.fail)
        r = m.ctl("delete", q1)
        self.assertEqual(r.returncode, 1, "deleting a deleted message: %r" % (r,))
        ctl_ok(m, "delete", "all")
        lines = wait_status(m, q2, "deleted", count=2)
        self.assertEqual(sorted(x["rcpt"] for x in lines), two)
        wait_queue_empty(m)
        sink.restart()
        time.sleep(2.5)                                   # nothing left to retry
        for q in (q1, q2):
            self.assertEqual(status_lines(m, q, "sent"), [])
            self.assertEqual(len([x for x in status_lines(m, q)
                                  if x["status"] in ("sent", "bounced", "expired", "deleted")]),
                             1 if q == q1 else 2, "exactly one final line per recipient")
        self.assertEqual(sink.stop()["messages"], 0)
        m.stop()

    def test_stats_counters(self):
        ok = Sink(self)
        rej = Sink(self, "--reject-pct", "100")
        slow = Sink(self, "--defer-pct", "100")
        home = Sink(self)
        m = relay_mta(self, transport={"ok.test": ok.hop, "rej.test": rej.hop,
                                       "slow.test": slow.hop, SENDER_DOMAIN: home.hop})
        s0 = stats(m)
        for k in STATS_KEYS:
            self.assertIn(k, s0, "mtactl stats lacks %s" % k)
        self.assertEqual(s0["delivered"], 0)
        msgs = [make_message("st", i) for i in range(5)]
        rc = ["a@ok.test"] * 3 + ["b@rej.test", "c@slow.test"]
        qids = send_messages(m, msgs, rcpts=lambda i: [rc[i]])
        wait_final(m, qids[:4])
        wait_status(m, qids[4], "deferred")
        dsn = wait_until(lambda: [d for d in status_lines(m, status="sent")
                                  if d["rcpt"] == "from@" + SENDER_DOMAIN], 20,
                         "the DSN delivered", m.fail)
        self.assertEqual(len(dsn), 1)
        st = wait_until(lambda: (lambda s: s if s["queue_deferred"] == 1 and
                                 s["queue_active"] == 0 else None)(stats(m)), 10,
                        "queue_deferred 1 and queue_active 0 in mtactl stats", m.fail)
        self.assertEqual(st["received"], 6, st)        # 5 + the DSN
        self.assertEqual(st["delivered"], 4, st)       # 3 + the DSN
        self.assertEqual(st["bounced"], 1, st)
        self.assertGreaterEqual(st["deferred"], 1, st)
        self.assertEqual(st["expired"], 0, st)
        self.assertEqual(st["queue_hold"], 0, st)
        self.assertGreaterEqual(st["connections"], 0, st)
        ctl_ok(m, "delete", "all")
        wait_queue_empty(m)
        wait_until(lambda: stats(m)["queue_deferred"] == 0, 5,
                   "queue_deferred 0 after delete all (stats: %s)" % stats(m), m.fail)
        m.stop()
