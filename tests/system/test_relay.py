"""Relay routing end to end (issue 4): smtpd -> qwriter -> qmgr -> mta-remote
-> a sink.  relayhost to mta-sink (exact bytes at the sink, the queue
emptied, one INTERFACE.md status=sent line per recipient), transport_file
routing to two sinks with relayhost ignored for those domains, Postfix's
smtp-sink as an independent remote side, and connection reuse observed at
the sink (many messages, few connections)."""
import re

from mtatest import HOSTNAME, MtaTestCase, dot_stuff, queue_id
from relayfix import (DEST_DOMAIN, SENDER_DOMAIN, PostfixSink, Sink, make_message,
                      message_id, relay_mta, send_messages, status_lines,
                      strip_received, wait_final, wait_queue_empty)


class RelayRouting(MtaTestCase):

    def check_sent_lines(self, m, qids, rcpts_of, port):
        """Exactly one final line per recipient, status=sent, in the
        INTERFACE.md form with relay=...[127.0.0.1]:port, delay, dsn=2.0.0."""
        wait_final(m, qids)
        for qid, rcpts in zip(qids, rcpts_of):
            lines = [d for d in status_lines(m, qid) if d["status"] != "deferred"]
            got = sorted(d["rcpt"] for d in lines)
            if got != sorted(rcpts):
                m.fail("%s: final status lines for %s, expected one per %s"
                       % (qid, got, sorted(rcpts)))
            for d in lines:
                self.assertEqual(d["status"], "sent", d)
                self.assertEqual(d["prog"], "mta-remote", d)
                self.assertEqual(d["dsn"], "2.0.0", d)
                self.assertTrue(d["relay"].endswith("[127.0.0.1]:%d" % port), d)
                self.assertLess(float(d["delay"]), 60, d)
                self.assertRegex(d["text"], r"^250[ -]", d)

    def check_bytes(self, stored, sent_by_id):
        """Every stored message is one sent message, byte for byte, after
        our Received: header."""
        seen = set()
        for raw in stored:
            mid = message_id(raw)
            self.assertIn(mid, sent_by_id, "unknown message at the sink: %r" % raw[:300])
            self.assertNotIn(mid, seen, "message %s arrived twice" % mid)
            seen.add(mid)
            _, rest = strip_received(raw, HOSTNAME)
            self.assertEqual(rest, sent_by_id[mid], "content of %s changed in transit" % mid)
        self.assertEqual(seen, set(sent_by_id))

    def test_relayhost_to_mta_sink_exact_bytes(self):
        sink = Sink(self, store=True)
        m = relay_mta(self, relayhost=sink.hop)
        n = 20
        msgs = [make_message("rh", i, size=(i % 4) * 3000) for i in range(n)]
        rcpts_of = [["r%d.%d@%s" % (i, k, DEST_DOMAIN) for k in range(1 + i % 3)]
                    for i in range(n)]
        qids = send_messages(m, msgs, rcpts=lambda i: rcpts_of[i])
        self.check_sent_lines(m, qids, rcpts_of, sink.port)
        stored = sink.wait_messages(n, fail=m.fail)
        self.check_bytes(stored, {message_id(d): d for d in msgs})
        wait_queue_empty(m)
        counts = sink.stop()
        self.assertEqual(counts["messages"], n, counts)
        self.assertEqual(counts["recipients"], sum(len(r) for r in rcpts_of), counts)
        self.assertEqual(counts["unique_ids"], n, counts)
        self.assertEqual(counts["duplicate_ids"], 0, counts)
        self.assertEqual(status_lines(m, status="deferred"), [])
        m.stop()

    def test_transport_file_routes_per_domain(self):
        a = Sink(self, store=True)
        b = Sink(self, store=True)
        rest = Sink(self, store=True)
        m = relay_mta(self, relayhost=rest.hop,
                      transport={"a.test": a.hop, "b.test": b.hop})
        plan = [("a.test", 4), ("b.test", 3), ("other.test", 2)]
        msgs, rcpts = [], []
        for dom, k in plan:
            for i in range(k):
                msgs.append(make_message(dom, i, to="u%d@%s" % (i, dom)))
                rcpts.append(["u%d@%s" % (i, dom)])
        qids = send_messages(m, msgs, rcpts=lambda i: rcpts[i])
        wait_final(m, qids)
        for sink, (dom, k) in zip((a, b, rest), plan):
            got = sink.wait_messages(k, fail=m.fail)
            ids = sorted(message_id(r) for r in got)
            self.assertEqual(ids, sorted("<%s.%d@%s>" % (dom, i, SENDER_DOMAIN)
                                         for i in range(k)),
                             "sink for %s got the wrong messages" % dom)
            for d in status_lines(m, status="sent"):
                if d["rcpt"].endswith("@" + dom):
                    self.assertTrue(d["relay"].endswith("[127.0.0.1]:%d" % sink.port), d)
        wait_queue_empty(m)
        for sink, (dom, k) in zip((a, b, rest), plan):
            self.assertEqual(sink.stop()["messages"], k, dom)
        m.stop()

    def test_postfix_smtp_sink_as_remote(self):
        ps = PostfixSink(self)
        m = relay_mta(self, relayhost=ps.hop)
        msgs = [make_message("pf", i, size=i * 2000) for i in range(3)]
        rcpts = ["x@" + DEST_DOMAIN, "y@" + DEST_DOMAIN]
        qids = send_messages(m, msgs, rcpts=rcpts)
        self.check_sent_lines(m, qids, [rcpts] * len(qids), ps.port)
        wait_queue_empty(m)
        txns = ps.transactions()
        self.assertEqual(len(txns), len(msgs), txns)
        sent_by_id = {message_id(d): d for d in msgs}
        for env, raw in txns:
            self.assertRegex(env.get("mail", ""), r"^<from@%s>" % re.escape(SENDER_DOMAIN))
            self.assertEqual(sorted(env["rcpts"]), ["<%s>" % r for r in rcpts])
            # smtp-sink's own Received: comes first, then ours.
            _, rest = strip_received(raw, HOSTNAME)
            self.assertEqual(rest, sent_by_id[message_id(raw)])
        m.stop()

    def test_8bitmime_body_passes_through(self):
        """A BODY=8BITMIME message keeps its bytes and its BODY parameter."""
        ps = PostfixSink(self)
        m = relay_mta(self, relayhost=ps.hop)
        data = ("From: <from@%s>\r\nSubject: 8bit\r\nMessage-ID: <8bit.0@%s>\r\n\r\n"
                "caf\u00e9 \u00fcber na\u00efve\r\n.dot\r\n" % (SENDER_DOMAIN, SENDER_DOMAIN)
                ).encode("utf-8")
        with m.smtp() as c:
            c.ehlo()
            r = c.cmd("MAIL FROM:<from@%s> BODY=8BITMIME" % SENDER_DOMAIN)
            self.assertEqual(r.code, 250, r)
            self.assertEqual(c.cmd("RCPT TO:<u@%s>" % DEST_DOMAIN).code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(dot_stuff(data) + b".\r\n")
            qid = queue_id(c.reply())
        wait_final(m, [qid])
        wait_queue_empty(m)
        (env, raw), = ps.transactions()
        self.assertRegex(env["mail"], r"(?i)\bBODY=8BITMIME\b")
        self.assertEqual(strip_received(raw, HOSTNAME)[1], data)
        m.stop()

    def test_connection_reuse_few_connections(self):
        sink = Sink(self)
        m = relay_mta(self, relayhost=sink.hop, destination_concurrency=4)
        n = 50
        msgs = [make_message("reuse", i) for i in range(n)]
        qids = send_messages(m, msgs)
        wait_final(m, qids)
        self.assertEqual(len(status_lines(m, status="sent")), n)
        wait_queue_empty(m)
        counts = sink.stop()
        self.assertEqual(counts["messages"], n, counts)
        self.assertEqual(counts["unique_ids"], n, counts)
        # destination_concurrency 4: at most a few sessions, each reused.
        self.assertLessEqual(counts["connections"], 8,
                             "%d connections for %d messages: no connection reuse"
                             % (counts["connections"], n))
        m.stop()
