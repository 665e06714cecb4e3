"""The TLS scenarios (issue 6), ours and Postfix side by side in one run,
each on a fresh instance that relays to its own mta-sink (the setup of the
plaintext acceptance scenario), durability on for both, one certificate for
both (ECDSA P-256, self-signed, made here with openssl: the kind our master
generates on its first start):
- memory per idle TLS connection: N sessions (a Python ssl client, no
  verification) past the handshake and EHLO, smtps and STARTTLS, and the
  same N plaintext sessions past EHLO, each on a freshly started instance;
  RSS/PSS of the smtpd processes (ours: mta-smtpd; Postfix: smtpd, one per
  connection) before and after, KiB per connection ("TLS adds" is the TLS
  figure minus the plaintext one);
- TLS handshakes/s: mta-loadgen --handshake-only at c=50 (smtps: connect,
  handshake, greeting, QUIT; STARTTLS: greeting, EHLO, STARTTLS, handshake,
  EHLO, QUIT), full handshakes, and again with --tls-resume (tickets);
- TLS acceptance: 5 KiB, c=50, 1 recipient, one connection per message,
  until the last 250: STARTTLS on the relay port (no AUTH, like the
  plaintext scenario) and smtps with AUTH PLAIN on both (our smtps port
  requires AUTH; Postfix's smtps service is made to require it too, SASL
  through a private Dovecot auth service, the same SHA-512-crypt hash;
  ours with its default auth_cache_ttl);
  smtps again with 10 messages per connection (one AUTH per 10).
Called by bench/run; returns plain data for report.tls_table."""
import os
import shutil
import socket
import ssl
import subprocess
import time

import measure
from mailboxes import guarded, sha512_crypt, skipped, write_account
from ours import OurMTA
from postfix_peer import PostfixPeer
from scenarios import Bench
from sinks import MtaSink

CONNS, SIZE = 50, 5120
CLIENTS = 2                             # mta-loadgen processes, CONNS in all
USER = "tls@bench.test"                 # the AUTH account on smtps
PASSWORD = "bench-tls-secret"
MODES = ("smtps", "starttls")


def make_cert(d):
    """A self-signed ECDSA P-256 pair in d: (cert, key)."""
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                    "-subj", "/CN=mta.bench.test", "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    measure.traversable(d)
    return cert, key


def _line_reply(f):
    """One whole SMTP reply from file f: its code."""
    while True:
        line = f.readline()
        if len(line) < 4:
            raise RuntimeError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


def _cmd(f, s, text, want):
    s.sendall(text)
    code = _line_reply(f)
    if code != want:
        raise RuntimeError("%r: %d" % (text, code))


def open_idle(port, mode, ctx):
    """One session past the handshake (if any) and EHLO, left open: the
    socket (an SSLSocket under TLS) and its file, both to be kept."""
    s = socket.create_connection(("127.0.0.1", port), 30)
    if mode == "smtps":
        s = ctx.wrap_socket(s)
    f = s.makefile("rb")
    if _line_reply(f) != 220:
        raise RuntimeError("no greeting")
    _cmd(f, s, b"EHLO idle.bench.test\r\n", 250)
    if mode == "starttls":
        _cmd(f, s, b"STARTTLS\r\n", 220)
        f.close()
        s = ctx.wrap_socket(s)
        f = s.makefile("rb")
        _cmd(f, s, b"EHLO idle.bench.test\r\n", 250)
    return s, f


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


SMTPD_NAMES = ("mta-smtpd", "smtpd")


def smtpd_kib(pid):
    """(RSS, PSS) KiB summed over the smtpd processes under pid."""
    rss = pss = 0
    for p in measure.tree(pid):
        try:
            with open("/proc/%d/comm" % p) as f:
                if f.read().strip() not in SMTPD_NAMES:
                    continue
        except OSError:
            continue
        r, s = measure.memory_kib_one(p)
        rss, pss = rss + r, pss + s
    return rss, pss


def idle(mta, port, mode, n):
    """smtpd (RSS, PSS) KiB per connection with n idle sessions."""
    measure.raise_nofile(n + 1000)
    time.sleep(1)
    rss0, pss0 = smtpd_kib(mta.pid())
    ctx, held = client_ctx(), []
    try:
        for _ in range(n):
            held.append(open_idle(port, mode, ctx))
        time.sleep(1)
        rss1, pss1 = smtpd_kib(mta.pid())
    finally:
        for s, f in held:
            f.close()
            s.close()
    return (rss1 - rss0) / n, (pss1 - pss0) / n


class Side:
    """One MTA with its sink and the two ports: port (STARTTLS offered)
    and smtps_port (implicit TLS, AUTH required)."""

    def __init__(self, name, work, bindir, args, cert, key):
        self.name, self.bindir, self.args = name, bindir, args
        self.sink = MtaSink(bindir)
        port, sport = measure.free_port(), measure.free_port()
        if name == "mta":
            self.mta = OurMTA(os.path.join(work, "tls"), port, self.sink.port,
                              build=args.build, smtps_port=sport,
                              extra="tls_cert_file = %s\ntls_key_file = %s\n"
                              % (cert, key))
        else:
            self.mta = PostfixPeer(os.path.join(work, "tls"), port, self.sink.port,
                                   tls={"cert": cert, "key": key,
                                        "smtps_port": sport})
        self.smtps_port = sport
        self.account = False
        self.bench = Bench(self.mta, self.sink, bindir, args, True)

    def start(self):
        self.mta.start()
        if self.name == "postfix":
            self.mta.sasl_start(USER, sha512_crypt(PASSWORD))
        elif not self.account:
            write_account(self.mta, USER, sha512_crypt(PASSWORD))
            self.account = True

    def stop(self):
        self.mta.stop()

    def kill(self):
        self.stop()
        self.sink.kill()

    def port_of(self, mode):
        return self.smtps_port if mode == "smtps" else self.mta.port

    def say(self, text):
        self.bench.say(text)


def _cpu(side):
    """CPU seconds of the MTA's tree, with Postfix's SASL (Dovecot auth,
    outside Postfix's tree: it checks the smtps passwords) added."""
    cpu = measure.cpu_seconds(side.mta.pid())
    sasl = getattr(side.mta, "sasl", None)
    return cpu + (measure.cpu_seconds(sasl.pid) if sasl is not None else 0)


def _loadgen(side, mode, msgs, extra, per_conn=1):
    """mta-loadgen --tls mode at CONNS: (the JSON summed over the CLIENTS
    processes, MTA CPU s, seconds until the last one finished).  One
    client process does its half of every handshake on one core, which
    costs more than the server's half (it also verifies a signature), so
    one process alone would measure itself rather than the server."""
    cpu0 = _cpu(side)
    secs, reps = measure.loadgen_split(side.bindir, side.port_of(mode), CONNS,
                                       msgs, CLIENTS, size=SIZE,
                                       per_conn=per_conn,
                                       extra=["--tls", mode] + extra)
    tls = {k: sum(r["tls"][k] for r in reps)
           for k in ("handshakes", "resumed", "failed")}
    tls["handshakes_per_s"] = tls["handshakes"] / secs
    rep = {"failed": sum(r["failed"] for r in reps), "tls": tls}
    return rep, _cpu(side) - cpu0, secs


def handshakes(side, mode, n, resume):
    """--handshake-only: (handshakes/s, MTA CPU ms per handshake, resumed)."""
    rep, cpu, _ = _loadgen(side, mode, n, ["--handshake-only"] +
                           (["--tls-resume"] if resume else []))
    t = rep["tls"]
    if rep["failed"] or t["failed"]:
        raise RuntimeError("%d sessions failed" % rep["failed"])
    r = (t["handshakes_per_s"], cpu * 1000 / n, t["resumed"])
    side.say("%s handshakes%s: %.0f/s, %.3f ms CPU each, %d resumed"
             % (mode, " (resumed)" if resume else "", *r))
    return r


def acceptance(side, mode, n, per_conn=1):
    """5 KiB at c=50 over TLS: (msg/s until the last 250, CPU ms/msg)."""
    side.bench.drain()
    extra = ["--auth", "%s:%s" % (USER, PASSWORD), "--from", USER] \
        if mode == "smtps" else []
    rep, cpu, secs = _loadgen(side, mode, n, extra, per_conn)
    if rep["failed"]:
        raise RuntimeError("%d messages refused" % rep["failed"])
    r = (n / secs, cpu * 1000 / n)
    side.say("%s acceptance c=%d, %d per connection: %.0f msg/s, %.3f ms CPU/msg"
             % (mode, CONNS, per_conn, *r))
    return r


def measure_side(side, args):
    """Everything for one MTA: {"idle": {mode: (rss, pss)}, ...}."""
    out = {"idle": {}, "hs": {}, "hs_resumed": {}, "accept": {}}
    n_idle = args.tls_idle if side.name == "mta" else min(args.tls_idle, 200)
    out["idle_n"] = n_idle
    for mode in ("plain",) + MODES:     # each on a fresh instance
        side.start()
        try:
            port = side.port_of(mode)
            out["idle"][mode] = guarded(side.name, "idle " + mode, idle,
                                        side.mta, port, mode, n_idle)
            if "skipped" not in out["idle"][mode]:
                side.say("idle %s x%d: %.1f KiB RSS, %.1f KiB PSS per connection"
                         % (mode, n_idle, *out["idle"][mode]))
            if mode != MODES[-1]:
                continue
            hs = max(200, int(args.tls_handshakes * args.scale))
            msgs = max(200, int(args.tls_messages * args.scale))
            for m in MODES:
                out["hs"][m] = guarded(side.name, m + " handshakes", handshakes,
                                       side, m, hs, False)
                out["hs_resumed"][m] = guarded(side.name, m + " resumed",
                                               handshakes, side, m, hs, True)
            for m in MODES:
                out["accept"][m] = guarded(side.name, m + " acceptance",
                                           acceptance, side, m, msgs)
            # One AUTH per message above (Dovecot hashes each; ours after
            # the first login matches its auth_cache_ttl entry); with 10
            # messages per connection the TLS path shows.
            out["accept"]["smtps10"] = guarded(side.name, "smtps acceptance x10",
                                               acceptance, side, "smtps", msgs, 10)
        finally:
            side.stop()
    return out


def run(work, bindir, args):
    """The TLS scenarios for ours and, with --peer postfix, Postfix:
    {"mta": {...}, "postfix": {...}, "idle_n": ...}."""
    if not shutil.which("openssl"):
        return {"mta": skipped("TLS scenarios", "no openssl command")}
    cert, key = make_cert(os.path.join(work, "tls-cert"))
    out = {}
    for name in ["mta"] + (["postfix"] if args.peer == "postfix" else []):
        print("%s (TLS):" % name, flush=True)
        side = None
        try:
            side = Side(name, work, bindir, args, cert, key)
            out[name] = measure_side(side, args)
        except Exception as e:      # noqa: BLE001 -- reported, not hidden
            out[name] = skipped("TLS scenarios", "failed: %s: %s"
                                % (type(e).__name__, e), name)
        finally:
            if side is not None:
                side.kill()
    return out
