"""tlssink: a small SMTP sink with STARTTLS for the system tests of the
remote agent's TLS policy (test_relay_tls.py), standard library only.

    sink = TlsSink(testcase, ctx=server_ctx)         # offers STARTTLS
    sink = TlsSink(testcase)                         # plaintext only
    sink = TlsSink(testcase, ctx=ctx, broken="junk")  # 220 to STARTTLS, then junk
    (broken="hangup": then close; broken="stall": then read and say nothing)
    sink = TlsSink(testcase, ctx=ctx, refuse=True)   # offered, then 454
    sink = TlsSink(testcase, esmtp=False)            # 502 to EHLO: HELO only
    ...
    sink.messages   # [{"tls": "TLSv1.3" or None, "cipher", "sni", "mail",
                    #   "rcpts", "data"}], in arrival order
    sink.sessions   # [{"cmds": [b"EHLO x", ...], "tls": version or None, "sni"}]

Every connection runs in its own thread.  A message is recorded with the
TLS state of the session it came over, so a test can prove that nothing
went in clear.  The handshake's SNI is recorded too.  Certificates for
the tests (a CA, leaves it signs, a self-signed one) come from
make_ca/make_leaf, which run `openssl req`.
"""
import os
import socket
import socketserver
import ssl
import subprocess
import threading

from mtatest import free_port

_local = threading.local()


def _openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def make_ca(d, name="mta test CA"):
    """A CA certificate and key in directory d: (cert path, key path)."""
    cert, key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-subj", "/CN=" + name, "-days", "2", "-keyout", key, "-out", cert,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_leaf(d, name, ca=None, san=None):
    """A server certificate for DNS name `name` (CN, and subjectAltName
    DNS:name unless san gives another, e.g. "IP:127.0.0.1"), signed by
    ca=(cert, key) or self-signed: (cert path, key path)."""
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-subj", "/CN=" + name, "-days", "1", "-keyout", key, "-out", cert,
            "-addext", "subjectAltName=" + (san or "DNS:" + name)]
    if ca is not None:
        args += ["-CA", ca[0], "-CAkey", ca[1], "-addext", "basicConstraints=CA:FALSE"]
    _openssl(*args)
    return cert, key


def server_ctx(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.sni_callback = lambda sobj, name, c: setattr(_local, "sni", name)
    return ctx


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def setup(self):
        super().setup()
        self.sink = self.server.sink
        self.sess = {"cmds": [], "tls": None, "sni": None}
        with self.sink.lock:
            self.sink.sessions.append(self.sess)

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def line(self):
        line = self.rfile.readline(4096)
        if not line:
            raise EOFError
        return line.rstrip(b"\r\n")

    def handle(self):
        try:
            self.reply("220 tlssink.test ESMTP")
            self.converse()
        except (EOFError, OSError, ssl.SSLError):
            pass

    def ehlo(self):
        ext = ["PIPELINING", "8BITMIME"]
        if self.sink.ctx is not None and self.sess["tls"] is None:
            ext.append("STARTTLS")
        lines = ["tlssink.test"] + ext
        for i, e in enumerate(lines):
            self.reply("250%s%s" % (" " if i == len(lines) - 1 else "-", e))

    def starttls(self):
        if self.sink.ctx is None or self.sess["tls"] is not None:
            self.reply("502 5.5.1 no STARTTLS here")
            return
        if self.sink.refuse:
            self.reply("454 4.7.0 TLS not available due to temporary reason")
            return
        self.reply("220 2.0.0 go ahead")
        if self.sink.broken:
            self.request.recv(4096)                     # the ClientHello
            if self.sink.broken == "junk":
                self.request.sendall(b"this is no TLS at all\r\n" * 4)
            while self.sink.broken == "stall" and self.request.recv(4096):
                pass
            raise EOFError
        _local.sni = None
        conn = self.sink.ctx.wrap_socket(self.request, server_side=True)
        self.sess["tls"] = conn.version()
        self.sess["cipher"] = conn.cipher()[0]
        self.sess["sni"] = _local.sni
        self.request = conn
        self.rfile = conn.makefile("rb")
        self.wfile = conn.makefile("wb")

    def data(self):
        self.reply("354 go ahead")
        lines = []
        while True:
            line = self.line()
            if line == b".":
                break
            lines.append(line[1:] if line.startswith(b".") else line)
        return b"".join(x + b"\r\n" for x in lines)

    def converse(self):
        mail, rcpts = None, []
        while True:
            cmd = self.line()
            self.sess["cmds"].append(cmd)
            up = cmd.upper()
            if up.startswith(b"EHLO") and not self.sink.esmtp:
                self.reply("502 5.5.2 no ESMTP here")
            elif up.startswith(b"EHLO"):
                mail, rcpts = None, []
                self.ehlo()
            elif up.startswith(b"HELO"):
                self.reply("250 tlssink.test")
            elif up == b"STARTTLS":
                self.starttls()
                mail, rcpts = None, []
            elif up.startswith(b"MAIL FROM:"):
                mail, rcpts = cmd[10:].decode(errors="replace"), []
                self.reply("250 2.1.0 ok")
            elif up.startswith(b"RCPT TO:"):
                rcpts.append(cmd[8:].decode(errors="replace"))
                self.reply("250 2.1.5 ok")
            elif up == b"DATA":
                body = self.data()
                with self.sink.lock:
                    self.sink.messages.append({
                        "tls": self.sess["tls"], "cipher": self.sess.get("cipher"),
                        "sni": self.sess["sni"], "mail": mail, "rcpts": rcpts,
                        "data": body})
                self.reply("250 2.0.0 stored by tlssink")
                mail, rcpts = None, []
            elif up == b"QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("250 2.0.0 ok")      # RSET, NOOP


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class TlsSink:
    """The sink on host:port (default 127.0.0.1 and a free port); stopped
    at the end of the test."""

    def __init__(self, testcase, ctx=None, broken=False, refuse=False, esmtp=True,
                 host="127.0.0.1", port=None):
        self.ctx, self.broken, self.refuse, self.esmtp = ctx, broken, refuse, esmtp
        self.host, self.port = host, port or free_port()
        self.lock = threading.Lock()
        self.sessions, self.messages = [], []
        self.server = _Server((self.host, self.port), _Handler)
        self.server.sink = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        testcase.addCleanup(self.stop)

    @property
    def hop(self):
        return "[%s]:%d" % (self.host, self.port)

    def commands(self):
        """Every command of every session, in order."""
        with self.lock:
            return [c for s in self.sessions for c in s["cmds"]]

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _selftest():
    import smtplib
    import tempfile
    import unittest

    class T(unittest.TestCase):
        def test_starttls(self):
            d = tempfile.mkdtemp()
            ca = make_ca(d)
            cert, key = make_leaf(d, "mx.self.test", ca)
            s = TlsSink(self, ctx=server_ctx(cert, key))
            c = smtplib.SMTP(s.host, s.port)
            cctx = ssl.create_default_context(cafile=ca[0])
            c.ehlo()
            self.assertTrue(c.has_extn("starttls"))
            cctx.check_hostname = False
            c.starttls(context=cctx)
            c.sendmail("a@b.test", ["c@d.test"], b"Subject: x\r\n\r\nhi\r\n")
            c.quit()
            self.assertEqual(s.messages[0]["tls"], "TLSv1.3")
            self.assertIn(b"STARTTLS", s.commands())
    r = unittest.TextTestRunner().run(unittest.defaultTestLoader.loadTestsFromTestCase(T))
    raise SystemExit(0 if r.wasSuccessful() else 1)


if __name__ == "__main__":
    _selftest()
