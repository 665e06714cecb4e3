"""The POP3 side of the mailbox benchmark: one small lock-step client used
for every server (one command, then its whole reply, then the next: no
pipelining), a generator of a realistic Maildir (file names with S= and
W= as lib/maildir.h writes them), and a sampler of the serving processes'
memory while a session runs."""
import os
import socket
import threading
import time

import measure

TERM = b"\r\n.\r\n"


class Pop3Error(Exception):
    pass


class Pop3:
    """A bare POP3 client on 127.0.0.1:port reading replies in big chunks."""

    def __init__(self, port, timeout=120):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = bytearray()
        self.line()

    def _fill(self):
        data = self.sock.recv(1 << 18)
        if not data:
            raise Pop3Error("connection closed")
        self.buf += data

    def line(self):
        """One status line (+OK ...), consumed; raises on -ERR."""
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                break
            self._fill()
        text = bytes(self.buf[:i])
        del self.buf[:i + 2]
        if not text.startswith(b"+OK"):
            raise Pop3Error(text.decode("latin-1"))
        return text

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def multi(self, text):
        """A multi-line reply's payload: the lines after the status line,
        CRLF kept, the final "." removed, not yet un-stuffed."""
        self.sock.sendall(text.encode() + b"\r\n")
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                break
            self._fill()
        if not self.buf.startswith(b"+OK"):
            raise Pop3Error(bytes(self.buf[:i]).decode("latin-1"))
        start = i + 2
        pos = i                          # the status line's CRLF may start TERM
        while True:
            j = self.buf.find(TERM, pos)
            if j >= 0:
                break
            pos = max(i, len(self.buf) - len(TERM))
            self._fill()
        payload = bytes(self.buf[start:j + 2]) if j + 2 > start else b""
        del self.buf[:j + len(TERM)]
        return payload

    def close(self):
        self.sock.close()


def wire_size(payload):
    """Octets of a RETR payload once dot-unstuffed (what LIST announces)."""
    stuffed = payload.count(b"\r\n..") + (1 if payload.startswith(b"..") else 0)
    return len(payload) - stuffed


def session(port, address, password, retr=True, dele=False):
    """Log in, LIST, RETR every message and/or DELE every message, QUIT.
    {"secs", "messages", "bytes", "mismatches"} (mismatches: RETR sizes that
    differ from LIST's)."""
    t0 = time.monotonic()
    c = Pop3(port)
    try:
        c.cmd("USER " + address)
        c.cmd("PASS " + password)
        sizes = [int(l.split()[1]) for l in c.multi("LIST").split(b"\r\n") if l]
        got = mism = 0
        for i, size in enumerate(sizes, 1):
            if retr:
                n = wire_size(c.multi("RETR %d" % i))
                got += n
                mism += n != size
            if dele:
                c.cmd("DELE %d" % i)
        c.cmd("QUIT")
    finally:
        c.close()
    return {"secs": time.monotonic() - t0, "messages": len(sizes), "bytes": got,
            "mismatches": mism}


MESSAGE_HEAD = (
    "Return-Path: <load@bench.test>\n"
    "Delivered-To: {rcpt}\n"
    "Received: from loadgen.localhost (localhost [127.0.0.1])\n"
    "\tby mta.bench.test with ESMTP id {qid:016X}\n"
    "\tfor <{rcpt}>; Thu, 26 Nov 2026 16:00:00 +0000\n"
    "From: load@bench.test\n"
    "To: {rcpt}\n"
    "Subject: bench message {i}\n"
    "Date: Thu, 26 Nov 2026 16:00:00 +0000\n"
    "Message-ID: <{i}.{qid:x}@bench.test>\n\n"
    ".. a line a POP3 server has to dot-stuff\n")


def make_mailbox(path, n, size, rcpt):
    """A Maildir at path with n messages of about size bytes in new/,
    stored with LF endings and named as lib/maildir.h names them."""
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
    body_line = ("x" * 75) + "\n"
    sec = int(time.time()) - n
    for i in range(n):
        text = MESSAGE_HEAD.format(rcpt=rcpt, qid=(sec << 20) + i, i=i)
        text += body_line * max(0, (size - len(text)) // len(body_line))
        data = text.encode()
        wire = len(data) + data.count(b"\n")
        name = "%d.M%06dP%dQ%d.bench.test,S=%d,W=%d" % (
            sec + i, i % 1000000, os.getpid(), i + 1, len(data), wire)
        with open(os.path.join(path, "new", name), "wb") as f:
            f.write(data)


def chown_tree(path, uid, gid):
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for f in files:
            os.chown(os.path.join(root, f), uid, gid)


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


class MemorySampler:
    """Max RSS and PSS (KiB) of groups of processes under root, sampled
    every period seconds (one walk of /proc per sample: the sampler must
    not eat the CPU it measures) until stop().  groups: {name: process
    names (comm), or None for the whole tree}."""

    def __init__(self, root, groups, period=0.1):
        self.root, self.period = root, period
        self.groups = {g: set(n) if n else None for g, n in groups.items()}
        self.max = {g: (0, 0) for g in groups}
        self.lock = threading.Lock()     # sample() runs on both threads
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def sample(self):
        now = {g: [0, 0] for g in self.groups}
        for p in measure.tree(self.root):
            name = comm(p)
            mem = None
            for g, names in self.groups.items():
                if names is None or name in names:
                    mem = mem or measure.memory_kib_one(p)
                    now[g][0] += mem[0]
                    now[g][1] += mem[1]
        with self.lock:
            for g, (rss, pss) in now.items():
                self.max[g] = (max(self.max[g][0], rss), max(self.max[g][1], pss))
        return now

    def _run(self):
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.period)

    def stop(self):
        """{group: (max RSS, max PSS)}."""
        self.done.set()
        self.thread.join()
        self.sample()
        return self.max
