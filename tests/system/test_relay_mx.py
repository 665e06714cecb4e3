"""MX routing end to end (issue 4) against a real DNS server (dnsmasq on a
loopback port, dns_servers pointing at it) with mta-sink listening on
port 25 of random 127.x.y.z addresses (needs root): the lowest MX
preference gets the mail; the next MX is tried when the first refuses the
connection or greets with 4xx; no MX -> the domain's A record; null MX
(RFC 7505) and NXDOMAIN bounce at once with a DSN to the sender's domain;
an MX host with only an AAAA record is reached over IPv6 ([::1]:25);
REFUSED or an unreachable DNS server defers with 4.4.3 (never bounces).
The DNS server is tests/system/dnsfix.py's DnsServer."""
import re
import socket

from mtatest import MtaTestCase
from dnsfix import NULL_MX
from relayfix import (SENDER_DOMAIN, GreetServer, PostfixSink, Sink,
                      can_bind_port25, dns_server, loopback_addr, make_message, parse_dsn, relay_mta,
                      send_messages, status_lines, strip_received, wait_final,
                      wait_queue_empty, wait_status, wait_until)

SENDER = "bob@" + SENDER_DOMAIN


class MxRouting(MtaTestCase):

    def addrs(self, n):
        """n distinct free 127.x.y.z for sinks on port 25 (skip if not root)."""
        ok, why = can_bind_port25()
        if not ok:
            self.skipTest(why)
        out = []
        for _ in range(n):
            out.append(loopback_addr(avoid=out))
        return out

    def sink25(self, addr, *args):
        return Sink(self, *args, listen=["%s:25" % addr], store=True)

    def check_sent_via(self, m, qids, host, addr):
        fin = wait_final(m, qids)
        for q in qids:
            for d in fin[q]:
                self.assertEqual(d["status"], "sent", d)
                self.assertEqual(d["relay"], "%s[%s]:25" % (host, addr), d)
                self.assertEqual(d["dsn"], "2.0.0", d)

    def test_lowest_preference_gets_the_mail(self):
        a1, a2 = self.addrs(2)
        s1, s2 = self.sink25(a1), self.sink25(a2)
        # Listed high preference first: the order in DNS must not matter.
        dns = dns_server(self, {
            "pref.test": {"mx": [(20, "mx2.pref.test"), (10, "mx1.pref.test")]},
            "mx1.pref.test": {"a": [a1]},
            "mx2.pref.test": {"a": [a2]}})
        m = relay_mta(self, dns_servers=dns.servers)
        msgs = [make_message("pref", i) for i in range(5)]
        qids = send_messages(m, msgs, rcpts=["u@pref.test"])
        self.check_sent_via(m, qids, "mx1.pref.test", a1)
        self.assertEqual(len(s1.wait_messages(5, fail=m.fail)), 5)
        wait_queue_empty(m)
        self.assertEqual(s2.stop()["connections"], 0)
        self.assertEqual(s1.stop()["messages"], 5)
        m.stop()

    def test_next_mx_when_first_refuses_or_greets_4xx(self):
        down, busy, up = self.addrs(3)            # nothing listens on down:25
        greet = GreetServer(self, busy, 25, "421 4.3.2 busy, try later")
        s = self.sink25(up)
        dns = dns_server(self, {
            "fb.test": {"mx": [(10, "mx1.fb.test"), (20, "mx2.fb.test"), (30, "mx3.fb.test")]},
            "mx1.fb.test": {"a": [down]},
            "mx2.fb.test": {"a": [busy]},
            "mx3.fb.test": {"a": [up]}})
        m = relay_mta(self, dns_servers=dns.servers)
        qids = send_messages(m, [make_message("fb", i) for i in range(3)],
                             rcpts=["u@fb.test"])
        self.check_sent_via(m, qids, "mx3.fb.test", up)
        self.assertEqual(status_lines(m, status="deferred"), [])
        s.wait_messages(3, fail=m.fail)
        self.assertGreaterEqual(greet.connections, 1, "the 4xx-greeting MX was not tried")
        self.assertRegex(m.log(), r"connect to mx1\.fb\.test\[%s\]:25: Connection refused"
                         % re.escape(down))
        wait_queue_empty(m)
        m.stop()

    def test_no_mx_uses_the_a_record(self):
        a1, = self.addrs(1)
        s = self.sink25(a1)
        dns = dns_server(self, {"amx.test": {"a": [a1]}})
        m = relay_mta(self, dns_servers=dns.servers)
        data = make_message("amx", 0)
        qids = send_messages(m, [data], rcpts=["u@amx.test"])
        self.check_sent_via(m, qids, "amx.test", a1)
        raw, = s.wait_messages(1, fail=m.fail)
        self.assertEqual(strip_received(raw, m.conf["hostname"])[1], data)
        wait_queue_empty(m)
        m.stop()

    def test_null_mx_and_nxdomain_bounce_at_once(self):
        home = PostfixSink(self)
        dns = dns_server(self, {"nullmx.test": {"mx": NULL_MX}})
        m = relay_mta(self, dns_servers=dns.servers, transport={SENDER_DOMAIN: home.hop})
        cases = [("u@nullmx.test", r"^5\.1\.10$"), ("u@nx.test", r"^5\.1\.2$")]
        qids = send_messages(m, [make_message("nomx", i, sender=SENDER)
                                 for i in range(len(cases))],
                             sender=SENDER, rcpts=lambda i: [cases[i][0]])
        for qid, (rcpt, dsn_rx) in zip(qids, cases):
            d = wait_status(m, qid, "bounced", rcpt=rcpt)[0]
            self.assertRegex(d["dsn"], dsn_rx, d)
            self.assertEqual(status_lines(m, qid, "deferred"), [], "bounce at once")
        txns = wait_until(lambda: (lambda t: t if len(t) >= 2 else None)(home.transactions()),
                          20, "2 DSNs at the sender's sink", m.fail)
        seen = {}
        for env, raw in txns:
            self.assertRegex(env["mail"], r"^<>")
            self.assertEqual(env["rcpts"], ["<%s>" % SENDER])
            _, per_msg, per_rcpt, _ = parse_dsn(strip_received(raw)[1])
            self.assertEqual(len(per_rcpt), 1)
            fr = re.sub(r"(?i)^rfc822;\s*", "", per_rcpt[0]["Final-Recipient"].strip())
            seen[fr] = per_rcpt[0]
        self.assertEqual(sorted(seen), sorted(r for r, _ in cases))
        for rcpt, dsn_rx in cases:
            self.assertEqual(seen[rcpt]["Action"].strip().lower(), "failed")
            self.assertRegex(seen[rcpt]["Status"].strip(), dsn_rx)
        wait_queue_empty(m)
        m.stop()

    def test_aaaa_only_host_over_ipv6(self):
        try:
            probe = socket.socket(socket.AF_INET6)
            probe.bind(("::1", 25))
            probe.close()
        except OSError as e:
            self.skipTest("cannot listen on [::1]:25: %s" % e)
        s = Sink(self, listen=["[::1]:25"], store=True)
        dns = dns_server(self, {"v6.test": {"mx": [(10, "mx.v6.test")]},
                                "mx.v6.test": {"aaaa": ["::1"]}})
        m = relay_mta(self, dns_servers=dns.servers)
        qids = send_messages(m, [make_message("v6", 0)], rcpts=["u@v6.test"])
        self.check_sent_via(m, qids, "mx.v6.test", "::1")
        s.wait_messages(1, fail=m.fail)
        wait_queue_empty(m)
        m.stop()

    def test_dns_tempfail_defers(self):
        """DNS trouble is temporary: REFUSED, and a server nobody answers on
        (the harness's default dns_servers), defer with 4.4.3; no bounce."""
        dns = dns_server(self, {"broken.test": {"tempfail": "refused"}})
        m = relay_mta(self, dns_servers=dns.servers)
        qid, = send_messages(m, [make_message("refused", 0)], rcpts=["u@broken.test"])
        self.check_tempfail(m, qid)

    def test_dns_server_down_defers(self):
        m = relay_mta(self)
        qid, = send_messages(m, [make_message("dnsdown", 0)], rcpts=["u@nowhere.test"])
        self.check_tempfail(m, qid)

    def check_tempfail(self, m, qid):
        d = wait_status(m, qid, "deferred", timeout=30)[0]
        self.assertEqual(d["dsn"], "4.4.3", d)
        self.assertEqual(status_lines(m, qid, "bounced"), [])
        r = m.ctl("delete", qid)
        self.assertEqual(r.returncode, 0, r)
        wait_queue_empty(m)
        m.stop()
