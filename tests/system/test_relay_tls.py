"""The remote agent's TLS policy end to end (issue 6, item 3): smtpd ->
qwriter -> qmgr -> mta-remote -> tests/system/tlssink.py, a STARTTLS sink
that records, per message, whether it came over TLS.

Opportunistic TLS when offered (the sink sees TLS, the status line carries
tls=VERSION/CIPHER); `tls=none` never tries; `tls=must` in transport_file
defers (4.7.4) when the server offers no STARTTLS, refuses it or speaks
only HELO, and nothing reaches it in clear, and delivers
over TLS when it does; the smtp_tls_policy default applies to hops
without a `tls=` field and an explicit `tls=may` overrides it; `verify`
delivers to a certificate signed by the configured smtp_tls_ca_file for
the next-hop name, and defers (4.7.5, with the verification error) for a
wrong name, a self-signed certificate, or a CA the trust store lacks (an
address literal is checked against the certificate's IP names); a
broken handshake falls back to plaintext under `may` but defers under
`must`; with an MX set, `must` and `verify` move on to the next MX (whose
name is the one verified)."""
import os
import shutil
import tempfile

from mtatest import HOSTNAME, MtaTestCase
from relayfix import (SENDER_DOMAIN, can_bind_port25, dns_server, loopback_addr,
                      make_message, relay_mta, send_messages, status_lines,
                      strip_received, wait_final, wait_status, wait_until)
from tlssink import TlsSink, make_ca, make_leaf, server_ctx

DOM = "dest.test"
RCPT = "to@" + DOM


class RelayTls(MtaTestCase):

    def setUp(self):
        # Readable by the unprivileged mta-remote (the CA file).
        self.dir = tempfile.mkdtemp(prefix="mta-relay-tls-")
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir, True)

    def ca(self):
        cert, key = make_ca(self.dir)
        os.chmod(cert, 0o644)
        return cert, key

    def ctx(self, name, ca=None, san=None):
        return server_ctx(*make_leaf(self.dir, name, ca, san))

    def send(self, m, tag, rcpt=RCPT):
        msg = make_message(tag, 0, to=rcpt)
        return send_messages(m, [msg], rcpts=[rcpt])[0], msg

    def sent_over_tls(self, m, sink, qid, msg, sni=None):
        """qid's one recipient sent; the sink got msg over TLS; the status
        line's tls= names the sink's version and cipher."""
        fin = wait_final(m, [qid])[qid]
        self.assertEqual([d["status"] for d in fin], ["sent"], fin)
        wait_until(lambda: sink.messages, 10, "the message at the sink", m.fail)
        got = sink.messages[0]
        self.assertEqual(got["tls"], "TLSv1.3", got)
        self.assertEqual(strip_received(got["data"], HOSTNAME)[1], msg)
        self.assertEqual(fin[0]["tls"], "%s/%s" % (got["tls"], got["cipher"]), fin)
        self.assertRegex(fin[0]["text"], r"^250 2\.0\.0 stored by tlssink")
        if sni is not None:
            self.assertEqual(got["sni"], sni)

    def deferred(self, m, qid, dsn, text):
        """qid's first deferral: dsn and a text matching the regex text."""
        d = wait_status(m, qid, "deferred")[0]
        self.assertEqual(d["dsn"], dsn, d)
        self.assertRegex(d["text"], text, d)
        self.assertIsNone(d["tls"], d)
        return d

    def assertNothingInClear(self, sink):
        """No MAIL, RCPT or DATA ever reached the sink, in clear or not."""
        cmds = [c.split(b":")[0].upper() for c in sink.commands()]
        for bad in (b"MAIL FROM", b"RCPT TO", b"DATA"):
            self.assertNotIn(bad, cmds, sink.sessions)
        self.assertEqual(sink.messages, [])

    # ------------------------------------------------------------ may

    def test_opportunistic_tls_when_offered(self):
        sink = TlsSink(self, ctx=self.ctx("self.sink.test"))   # self-signed: may takes it
        plain = TlsSink(self)
        m = relay_mta(self, transport={DOM: sink.hop, "plain.test": plain.hop})
        qid, msg = self.send(m, "may")
        self.sent_over_tls(m, sink, qid, msg)
        self.assertIn(b"STARTTLS", sink.commands())
        # A plaintext delivery has no tls= field at all.
        qid2, _ = self.send(m, "plain", rcpt="u@plain.test")
        d = wait_final(m, [qid2])[qid2][0]
        self.assertEqual((d["status"], d["tls"]), ("sent", None), d)
        self.assertIsNone(plain.messages[0]["tls"])
        self.assertNotRegex(m.log(), qid2 + r": to=.*tls=")
        m.stop()

    def test_may_falls_back_to_plaintext_after_a_failed_handshake(self):
        sink = TlsSink(self, ctx=self.ctx("broken.sink.test"), broken="junk")
        m = relay_mta(self, transport={DOM: sink.hop + " tls=may"})
        qid, msg = self.send(m, "fallback")
        fin = wait_final(m, [qid])[qid]
        self.assertEqual((fin[0]["status"], fin[0]["tls"]), ("sent", None), fin)
        self.assertEqual(len(sink.sessions), 2, sink.sessions)
        self.assertIn(b"STARTTLS", sink.sessions[0]["cmds"])
        self.assertNotIn(b"STARTTLS", sink.sessions[1]["cmds"])
        self.assertIsNone(sink.messages[0]["tls"])
        m.wait_log(qid + r": TLS handshake failed.* with 127\.0\.0\.1\[127\.0\.0\.1\]:%d; "
                   r"retrying without STARTTLS" % sink.port)
        m.stop()

    def test_none_never_tries_starttls(self):
        sink = TlsSink(self, ctx=self.ctx("none.sink.test"))
        m = relay_mta(self, transport={DOM: sink.hop + " tls=none"})
        qid, _ = self.send(m, "none")
        fin = wait_final(m, [qid])[qid]
        self.assertEqual((fin[0]["status"], fin[0]["tls"]), ("sent", None), fin)
        self.assertNotIn(b"STARTTLS", sink.commands())
        self.assertIsNone(sink.messages[0]["tls"])
        m.stop()

    # ------------------------------------------------------------ must

    def test_must_without_starttls_defers_and_sends_nothing(self):
        sink = TlsSink(self)                    # no STARTTLS offered
        m = relay_mta(self, transport={DOM: sink.hop + " tls=must"})
        qid, _ = self.send(m, "must-plain")
        self.deferred(m, qid, "4.7.4", r"^TLS is required but was not offered by "
                      r"127\.0\.0\.1\[127\.0\.0\.1\]:%d$" % sink.port)
        # Retries (retry_min 1s) do the same: still nothing in clear.
        wait_status(m, qid, "deferred", count=2, timeout=30)
        self.assertNothingInClear(sink)
        self.assertGreaterEqual(len(sink.sessions), 2)
        self.assertEqual([d for d in status_lines(m, qid) if d["status"] != "deferred"], [])
        m.stop()

    def test_must_with_a_helo_only_server_defers(self):
        sink = TlsSink(self, esmtp=False)
        m = relay_mta(self, transport={DOM: sink.hop + " tls=must", "may.test": sink.hop})
        qid, _ = self.send(m, "must-helo")
        self.deferred(m, qid, "4.7.4", r"^TLS is required but was not offered by "
                      r"127\.0\.0\.1\[127\.0\.0\.1\]:%d$" % sink.port)
        self.assertNothingInClear(sink)
        self.assertTrue(any(c.startswith(b"HELO ") for c in sink.commands()))
        # "may" takes the same server in plaintext after HELO.
        qid2, _ = self.send(m, "may-helo", rcpt="u@may.test")
        d = wait_final(m, [qid2])[qid2][0]
        self.assertEqual((d["status"], d["tls"]), ("sent", None), d)
        self.assertEqual(sink.messages[0]["rcpts"], ["<u@may.test>"])
        m.stop()

    def test_must_with_starttls_delivers_over_tls(self):
        sink = TlsSink(self, ctx=self.ctx("must.sink.test"))   # not verified under must
        m = relay_mta(self, transport={DOM: sink.hop + " tls=must"})
        qid, msg = self.send(m, "must-tls")
        self.sent_over_tls(m, sink, qid, msg)
        m.stop()

    def test_must_when_starttls_is_refused_defers(self):
        sink = TlsSink(self, ctx=self.ctx("refuse.sink.test"), refuse=True)
        m = relay_mta(self, transport={DOM: sink.hop + " tls=must",
                                       "may.test": sink.hop})
        qid, _ = self.send(m, "must-refused")
        self.deferred(m, qid, "4.7.4", r"^TLS is required but 127\.0\.0\.1\[127\.0\.0\.1\]:%d "
                      r"refused STARTTLS: 454 4\.7\.0 TLS not available" % sink.port)
        self.assertNothingInClear(sink)
        # The same server under "may": on in plaintext.
        qid2, _ = self.send(m, "may-refused", rcpt="u@may.test")
        d = wait_final(m, [qid2])[qid2][0]
        self.assertEqual((d["status"], d["tls"]), ("sent", None), d)
        self.assertIsNone(sink.messages[0]["tls"])
        self.assertEqual(sink.messages[0]["rcpts"], ["<u@may.test>"])
        m.stop()

    def test_must_after_a_failed_handshake_defers(self):
        sink = TlsSink(self, ctx=self.ctx("broken.sink.test"), broken="junk")
        m = relay_mta(self, transport={DOM: sink.hop + " tls=must"})
        qid, _ = self.send(m, "must-broken")
        self.deferred(m, qid, "4.7.5", r"^TLS handshake failed.* with "
                      r"127\.0\.0\.1\[127\.0\.0\.1\]:%d$" % sink.port)
        self.assertNothingInClear(sink)
        self.assertNotRegex(m.log(), qid + r": .*retrying without STARTTLS")
        m.stop()

    def test_must_when_the_server_hangs_up_or_stalls_in_the_handshake(self):
        hang = TlsSink(self, ctx=self.ctx("hang.sink.test"), broken="hangup")
        stall = TlsSink(self, ctx=self.ctx("stall.sink.test"), broken="stall")
        m = relay_mta(self, smtp_command_timeout="2s",
                      transport={DOM: hang.hop + " tls=must",
                                 "stall.test": stall.hop + " tls=must"})
        qid, _ = self.send(m, "must-hangup")
        qid2, _ = self.send(m, "must-stall", rcpt="u@stall.test")
        self.deferred(m, qid, "4.7.5", r"^lost connection with 127\.0\.0\.1\[127\.0\.0\.1\]:%d "
                      r"during the TLS handshake" % hang.port)
        self.deferred(m, qid2, "4.7.5", r"^TLS handshake with 127\.0\.0\.1\[127\.0\.0\.1\]:%d "
                      r"timed out$" % stall.port)
        self.assertNothingInClear(hang)
        self.assertNothingInClear(stall)
        self.assertNotRegex(m.log(), r"retrying without STARTTLS")
        m.stop()

    def test_default_policy_and_an_explicit_override(self):
        tls = TlsSink(self, ctx=self.ctx("dflt.sink.test"))
        plain = TlsSink(self)
        clear = TlsSink(self)
        m = relay_mta(self, smtp_tls_policy="must",
                      relayhost=plain.hop,          # no transport entry: the default
                      transport={DOM: tls.hop, "clear.test": clear.hop + " tls=may"})
        q1, msg1 = self.send(m, "dflt-tls")
        q2, _ = self.send(m, "dflt-plain", rcpt="x@other.test")
        q3, _ = self.send(m, "dflt-clear", rcpt="y@clear.test")
        self.sent_over_tls(m, tls, q1, msg1)
        self.deferred(m, q2, "4.7.4", r"^TLS is required but was not offered by "
                      r"127\.0\.0\.1\[127\.0\.0\.1\]:%d$" % plain.port)
        self.assertNothingInClear(plain)
        d = wait_final(m, [q3])[q3][0]
        self.assertEqual((d["status"], d["tls"]), ("sent", None), d)
        self.assertIsNone(clear.messages[0]["tls"])
        m.stop()

    # ------------------------------------------------------------ verify

    def verify_mta(self, sink, ca_file=None):
        """Transport DOM to [mx.dest.test]:port with tls=verify; the name
        resolves to the sink's address through dnsmasq."""
        dns = dns_server(self, {"mx.dest.test": {"a": [sink.host]}})
        conf = {"dns_servers": dns.servers}
        if ca_file:
            conf["smtp_tls_ca_file"] = ca_file
        return relay_mta(self, transport={DOM: "[mx.dest.test]:%d tls=verify" % sink.port},
                         **conf)

    def test_verify_delivers_to_a_trusted_certificate_for_the_name(self):
        ca = self.ca()
        sink = TlsSink(self, ctx=self.ctx("mx.dest.test", ca))
        m = self.verify_mta(sink, ca[0])
        qid, msg = self.send(m, "verify-ok")
        self.sent_over_tls(m, sink, qid, msg, sni="mx.dest.test")
        self.assertEqual(wait_final(m, [qid])[qid][0]["relay"],
                         "mx.dest.test[127.0.0.1]:%d" % sink.port)
        m.stop()

    def test_verify_refuses_a_wrong_name(self):
        ca = self.ca()
        sink = TlsSink(self, ctx=self.ctx("other.dest.test", ca))
        m = self.verify_mta(sink, ca[0])
        qid, _ = self.send(m, "verify-name")
        self.deferred(m, qid, "4.7.5", r"^server certificate not verified for "
                      r"mx\.dest\.test\[127\.0\.0\.1\]:%d: hostname mismatch$" % sink.port)
        self.assertNothingInClear(sink)
        m.stop()

    def test_verify_refuses_a_self_signed_certificate(self):
        ca = self.ca()
        sink = TlsSink(self, ctx=self.ctx("mx.dest.test"))     # right name, no CA
        m = self.verify_mta(sink, ca[0])
        qid, _ = self.send(m, "verify-self")
        self.deferred(m, qid, "4.7.5", r"^server certificate not verified for "
                      r"mx\.dest\.test\[127\.0\.0\.1\]:%d: self-signed certificate$"
                      % sink.port)
        self.assertNothingInClear(sink)
        m.stop()

    def test_verify_without_the_ca_uses_the_system_store(self):
        ca = self.ca()
        sink = TlsSink(self, ctx=self.ctx("mx.dest.test", ca))
        m = self.verify_mta(sink)               # no smtp_tls_ca_file
        qid, _ = self.send(m, "verify-system")
        self.deferred(m, qid, "4.7.5", r"^server certificate not verified for "
                      r"mx\.dest\.test\[127\.0\.0\.1\]:%d: unable to get local issuer "
                      r"certificate$" % sink.port)
        self.assertNothingInClear(sink)
        m.stop()

    def test_verify_an_address_literal_against_the_ip_names(self):
        ca = self.ca()
        good = TlsSink(self, ctx=self.ctx("ip.sink.test", ca, san="IP:127.0.0.1"))
        bad = TlsSink(self, ctx=self.ctx("127.0.0.1", ca))     # a DNS name only
        m = relay_mta(self, smtp_tls_ca_file=ca[0],
                      transport={DOM: good.hop + " tls=verify",
                                 "bad.test": bad.hop + " tls=verify"})
        qid, msg = self.send(m, "verify-ip")
        self.sent_over_tls(m, good, qid, msg, sni=None)     # no SNI for an address
        self.assertIsNone(good.messages[0]["sni"])
        qid2, _ = self.send(m, "verify-ip-bad", rcpt="u@bad.test")
        self.deferred(m, qid2, "4.7.5", r"^server certificate not verified for "
                      r"127\.0\.0\.1\[127\.0\.0\.1\]:%d: IP address mismatch$" % bad.port)
        self.assertNothingInClear(bad)
        m.stop()

    # ------------------------------------------------------------ MX sets

    def test_verify_moves_on_to_the_next_mx_and_checks_its_name(self):
        ok, why = can_bind_port25()
        if not ok:
            self.skipTest(why)
        ca = self.ca()
        a1 = loopback_addr()
        a2 = loopback_addr(avoid=[a1])
        a3 = loopback_addr(avoid=[a1, a2])
        plain = TlsSink(self, host=a1, port=25)                 # no STARTTLS
        wrong = TlsSink(self, ctx=self.ctx("mx1.mx.test", ca), host=a2, port=25)
        good = TlsSink(self, ctx=self.ctx("mx3.mx.test", ca), host=a3, port=25)
        dns = dns_server(self, {
            "mx.test": {"mx": [(10, "mx1.mx.test"), (20, "mx2.mx.test"), (30, "mx3.mx.test")]},
            "mx1.mx.test": {"a": [a1]},
            "mx2.mx.test": {"a": [a2]},         # presents mx1's certificate
            "mx3.mx.test": {"a": [a3]}})
        m = relay_mta(self, dns_servers=dns.servers, smtp_tls_policy="verify",
                      smtp_tls_ca_file=ca[0])
        qid, msg = self.send(m, "mx-verify", rcpt="u@mx.test")
        self.sent_over_tls(m, good, qid, msg, sni="mx3.mx.test")
        self.assertEqual(wait_final(m, [qid])[qid][0]["relay"], "mx3.mx.test[%s]:25" % a3)
        log = m.log()
        self.assertIn(qid + ": TLS is required but was not offered by mx1.mx.test[%s]:25" % a1,
                      log)
        self.assertIn(qid + ": server certificate not verified for mx2.mx.test[%s]:25: "
                      "hostname mismatch" % a2, log)
        self.assertNothingInClear(plain)
        self.assertNothingInClear(wrong)
        m.stop()


if __name__ == "__main__":
    import unittest
    unittest.main()
