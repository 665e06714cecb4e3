"""mtatest: the system-test harness (Python standard library only).

Starts the real process tree (build/bin/mta-master -F) on loopback with a
temp state_dir and free ports, drives it, inspects the spool and the log,
and always cleans up: every daemon of an instance is found by the absolute
config path on its command line and SIGKILLed if a test leaves it running.
No test touches any address but 127.0.0.1.  Env: MTA_BUILD (build dir),
MTA_SANITIZE=1 (ASan build: slower, loads scaled down), MTA_KEEP=1 (keep
temp dirs).

Queued messages move: the queue manager takes a message from incoming/ at
once and, after an attempt that leaves recipients pending, moves it to
deferred/XX/ID until its next attempt.  With the harness defaults every
attempt is deferred and none is repeated within a test: local_domains is
just localhost (where smtpd accepts only postmaster: no users_file, no
aliases), other domains need DNS and dns_servers points at a port nobody
serves (4.4.3 deferral), and retry_min is 5 minutes.  So a
message settles in deferred/ within milliseconds and stays there;
queue_file() waits for that settled place, and queued_ids() and friends
look in incoming/, deferred/ and hold/.
"""
import glob
import os
import re
import resource
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("MTA_BUILD") or os.path.join(TOP, "build"))
BIN = os.path.join(BUILD, "bin")
SANITIZE = os.environ.get("MTA_SANITIZE") == "1" or BUILD.rstrip("/").endswith("-san")
SLOW = 3 if SANITIZE else 1          # multiply timeouts by this
HOSTNAME = "test.example"
QID_NAME = re.compile(r"^[0-9A-F]{16}$")

_live = []                            # instances not yet cleaned up


def scaled(n, minimum=1):
    """A load figure, scaled down under the sanitizers."""
    return max(minimum, n // 4) if SANITIZE else n


def program(name):
    return os.path.join(BIN, name)


def raise_nofile(want=8192):
    """Raise RLIMIT_NOFILE for this process (and the daemons it starts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        except (ValueError, OSError):
            want = hard
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_root():
    return os.geteuid() == 0


# ---------------------------------------------------------------- /proc

def proc_info(pid):
    """(comm, state, ppid, cmdline list, uids tuple) or None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        uids = None
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Uid:"):
                    uids = tuple(int(x) for x in line.split()[1:5])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    rest = stat[stat.rindex(")") + 2:].split()
    return comm, rest[0], int(rest[1]), cmd, uids


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


# ---------------------------------------------------------------- SMTP

class Reply:
    """One SMTP reply: code, the text lines, and the whole text."""

    def __init__(self, lines):
        self.lines = lines
        self.code = int(lines[-1][:3])
        self.text = "\n".join(lines)

    def __repr__(self):
        return "Reply(%r)" % self.text


class Smtp:
    """A raw SMTP client over one socket, for exact control of the bytes."""

    def __init__(self, port, timeout=None, greet=True):
        self.timeout = timeout or 10 * SLOW
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=self.timeout)
        self.buf = b""
        try:
            self.greeting = self.reply() if greet else None
        except BaseException:
            self.close()
            raise

    @classmethod
    def wrap(cls, sock, buf=b"", timeout=None):
        """A client over an already connected socket."""
        self = cls.__new__(cls)
        self.timeout = timeout or 10 * SLOW
        self.sock = sock
        self.sock.settimeout(self.timeout)
        self.buf = buf
        self.greeting = None
        return self

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            raise EOFError("connection closed by server; unread %r" % self.buf[:200])
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            line = self.line()
            if len(line) < 3 or not line[:3].isdigit():
                raise AssertionError("malformed reply line %r" % line)
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return Reply(lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def ehlo(self, name="client.example"):
        r = self.cmd("EHLO " + name)
        assert r.code == 250, r
        return r

    def closed(self, timeout=None):
        """Wait for EOF; returns everything the server sent before it."""
        self.sock.settimeout(timeout or self.timeout)
        got = self.buf
        self.buf = b""
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return got
                got += d
        except ConnectionResetError:
            return got
        finally:
            self.sock.settimeout(self.timeout)

    def mail_transaction(self, sender, rcpts, data, stuff=True):
        """MAIL, RCPTs, DATA, data (dot-stuffed), end: returns the final Reply."""
        r = self.cmd("MAIL FROM:<%s>" % sender)
        assert r.code == 250, r
        for rc in rcpts:
            r = self.cmd("RCPT TO:<%s>" % rc)
            assert r.code == 250, r
        r = self.cmd("DATA")
        assert r.code == 354, r
        self.send((dot_stuff(data) if stuff else data) + b".\r\n")
        return self.reply()

    def send_message(self, sender, rcpts, data):
        """A whole transaction that must end in 250 ... queued as ID: the ID."""
        r = self.mail_transaction(sender, rcpts, data)
        return queue_id(r)


def queue_id(reply):
    """The ID of a "250 2.0.0 Ok: queued as ID" reply (asserts the form)."""
    text = reply.text if isinstance(reply, Reply) else str(reply)
    m = re.match(r"^250 2\.0\.0 Ok: queued as ([0-9A-F]{16})$", text.splitlines()[-1])
    if not m:
        raise AssertionError("expected '250 2.0.0 Ok: queued as ID', got %r" % text)
    return m.group(1)


def dot_stuff(data):
    assert data.endswith(b"\r\n") or data == b"", "data must end with CRLF"
    out = re.sub(rb"(^|\r\n)\.", rb"\1..", data)
    return out


def split_received(content):
    """(Received: header incl. folded lines, rest) of stored content."""
    if not content.startswith(b"Received:"):
        raise AssertionError("stored content does not start with Received: %r"
                             % content[:200])
    pos = 0
    while True:
        end = content.index(b"\r\n", pos) + 2
        if content[end:end + 1] not in (b" ", b"\t"):
            return content[:end], content[end:]
        pos = end


# ---------------------------------------------------------------- the MTA

class Mta:
    """One instance of the MTA: config, state_dir, master process, log."""

    def __init__(self, testcase=None, start=True, **conf):
        raise_nofile()
        self.top = tempfile.mkdtemp(prefix="mta-sys-")
        os.chmod(self.top, 0o755)     # the unprivileged daemons must traverse it
        self.state_dir = os.path.join(self.top, "state")
        self.conf_path = os.path.join(self.top, "mta.conf")
        self.log_path = os.path.join(self.top, "master.log")
        self.port = free_port()
        self.proc = None
        self.conf = {
            "hostname": HOSTNAME,
            "state_dir": self.state_dir,
            "smtp_listen": "127.0.0.1:%d" % self.port,
            "submission_listen": "",
            "smtps_listen": "",
            "pop3_listen": "",
            "pop3s_listen": "",
            "local_domains": "localhost",
            # A port nobody listens on: any lookup fails fast, on loopback.
            "dns_servers": "127.0.0.1:%d" % free_port(),
        }
        self.conf.update({k: str(v) for k, v in conf.items()})
        self.write_conf()
        _live.append(self)
        if testcase is not None:
            testcase.addCleanup(self.cleanup)
        if start:
            self.start()

    # -- config

    def write_conf(self, extra_text=""):
        with open(self.conf_path, "w") as f:
            f.write("# written by tests/system/mtatest.py\n")
            for k, v in self.conf.items():
                f.write("%s = %s\n" % (k, v))
            f.write(extra_text)
        os.chmod(self.conf_path, 0o644)

    def env(self):
        e = dict(os.environ)
        e["MTA_CONF"] = self.conf_path
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        return e

    # -- lifecycle

    def start(self, wait=True, user=None):
        """Start mta-master -F (as user, a pwd entry, if given); wait until
        the SMTP port greets with 220."""
        self.logf = open(self.log_path, "ab")
        argv = [program("mta-master"), "-F", "-c", self.conf_path]
        ids = {}
        if user is not None:
            ids = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        # Its own session, like a terminal's foreground job: a test can
        # send it Ctrl-C (SIGINT to the group) without hitting the runner.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=self.env(),
                                     cwd=self.top, start_new_session=True, **ids)
        if wait:
            self.wait_ready()
        return self.proc

    def wait_ready(self, timeout=None):
        timeout = timeout or 10 * SLOW
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                self.fail("mta-master exited with %s before the SMTP port answered"
                          % self.proc.returncode)
            try:
                with Smtp(self.port, timeout=2 * SLOW) as c:
                    last = c.greeting
                    if c.greeting.code == 220:
                        try:
                            c.cmd("QUIT")
                        except (EOFError, OSError):
                            pass
                        self.wait_writer(deadline)
                        return
            except (OSError, EOFError, AssertionError) as e:
                last = e
            time.sleep(0.05)
        self.fail("SMTP port %d did not answer 220 within %ss (last: %r)"
                  % (self.port, timeout, last))

    def wait_writer(self, deadline):
        """The queue writer has finished its recovery and serves (so the
        first message is not a race with its start-up)."""
        while time.monotonic() < deadline:
            pids = self.pids("mta-qwriter")
            if pids and re.search(r"mta-qwriter\[%d\]: ready" % pids[0], self.log()):
                return
            time.sleep(0.05)
        self.fail("no mta-qwriter process logged 'ready'")

    def stop(self, check=True, timeout=None, ctrl_c=False):
        """SIGTERM the master (or Ctrl-C: SIGINT to its process group); it
        must exit 0 and take every daemon with it."""
        if self.proc is None:
            return None
        timeout = timeout or 15 * SLOW
        daemons = self.daemon_pids()
        if ctrl_c:
            os.killpg(self.proc.pid, signal.SIGINT)
        else:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.fail("mta-master did not exit within %ss of SIG%s"
                      % (timeout, "INT" if ctrl_c else "TERM"))
        self.proc = None
        self.logf.close()
        if check:
            if rc != 0:
                self.fail("mta-master exited %d after SIG%s (expected 0)"
                          % (rc, "INT" if ctrl_c else "TERM"))
            left = wait_gone(daemons, 5 * SLOW)
            if left:
                self.fail("daemons still running after the master exited: %s"
                          % describe(left))
            self.check_log_clean()
        return rc

    def wait_exit(self, timeout=None):
        """Wait for the master to exit by itself (after a signal sent by the
        test); checks the daemons went too and the log is clean; its status."""
        daemons = self.daemon_pids()
        try:
            rc = self.proc.wait(timeout or 15 * SLOW)
        except subprocess.TimeoutExpired:
            self.fail("mta-master did not exit")
        self.proc = None
        self.logf.close()
        left = wait_gone(daemons, 5 * SLOW)
        if left:
            self.fail("daemons still running after the master exited: %s" % describe(left))
        self.check_log_clean()
        return rc

    def kill_all(self, sig=signal.SIGKILL, pids=None):
        """Signal every process of this instance at once (SIGSTOP first, so
        the master cannot restart anyone in between).  pids: a list taken
        beforehand with daemon_pids(), to strike without scanning /proc."""
        pids = self.daemon_pids() if pids is None else pids
        for p in pids:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(5 * SLOW)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
            self.logf.close()
        wait_gone(pids, 5 * SLOW)
        left = self.daemon_pids()
        if left:                       # started after pids was taken
            self.kill_all(sig)
        return pids

    def cleanup(self):
        if self in _live:
            _live.remove(self)
        try:
            self.kill_all()
        finally:
            if os.environ.get("MTA_KEEP") != "1":
                shutil.rmtree(self.top, ignore_errors=True)

    # -- processes

    def daemon_pids(self):
        """Every live process of this instance (master first)."""
        out = []
        for pid in all_pids():
            info = proc_info(pid)
            if not info or info[1] == "Z":
                continue
            comm, _, _, cmd, _ = info
            if comm.startswith("mta-") and self.conf_path in cmd:
                out.append(pid)
        if self.proc is not None and self.proc.poll() is None and self.proc.pid not in out:
            out.append(self.proc.pid)
        out.sort(key=lambda p: p != (self.proc.pid if self.proc else None))
        return out

    def pids(self, name):
        """Live pids of one program (e.g. "mta-smtpd") of this instance.  A
        task whose parent is the same program is not one: LeakSanitizer's
        exit-time tracer (SANITIZE=1), or a fork not yet exec'd."""
        res = []
        for p in self.daemon_pids():
            info = proc_info(p)
            if info and info[0] == name[:15] and info[1] != "Z":
                parent = proc_info(info[2])
                if parent is None or parent[0] != info[0]:
                    res.append(p)
        return res

    def wait_pids(self, name, count=1, exclude=(), timeout=None):
        """Wait until at least count pids of name (not in exclude) run."""
        deadline = time.monotonic() + (timeout or 10 * SLOW)
        while time.monotonic() < deadline:
            got = [p for p in self.pids(name) if p not in exclude]
            if len(got) >= count:
                return got
            time.sleep(0.05)
        self.fail("no new %s process (have %s, excluded %s)"
                  % (name, self.pids(name), list(exclude)))

    # -- the spool

    def spool(self, *parts):
        return os.path.join(self.state_dir, "spool", *parts)

    def queued_ids(self, dirs=("incoming", "deferred", "hold")):
        """IDs of published queue files (spool/DIR/XX/ID).  incoming/ is
        listed before deferred/, the way the queue manager moves files, so
        a message moving meanwhile is seen at least once."""
        ids = set()
        for d in dirs:
            for path in glob.glob(self.spool(d, "*", "*")):
                name = os.path.basename(path)
                if QID_NAME.match(name):
                    ids.add(name)
        return ids

    def queue_path(self, qid):
        """Where the queue file of qid is right now, or None."""
        # lib/qid.c: the subdirectory is the ID's microsecond low byte.
        sub = "%02X" % ((int(qid, 16) >> 12) & 0xFF)
        for d in ("incoming", "deferred", "hold", "corrupt"):
            p = self.spool(d, sub, qid)
            if os.path.exists(p):
                return p
        return None

    def queue_file(self, qid, timeout=None, settled=True):
        """Path of the queue file of qid.  The writer publishes it right
        after the journal sync that answered 250, so wait a little.  While
        a queue manager runs, also wait (settled=True) until its first
        attempt has moved the file out of incoming/ (module docstring), so
        the path stays valid; if the file stays in incoming/ (no queue
        manager, or a busy one) its path there is returned at the end."""
        deadline = time.monotonic() + (timeout or 5 * SLOW)
        incoming = None
        while True:
            p = self.queue_path(qid)
            if p is not None and (not settled or
                                  os.sep + "incoming" + os.sep not in p[len(self.spool()):]):
                return p
            if p is not None:
                incoming = p
                if not self.pids("mta-qmgr"):
                    return p
            if time.monotonic() > deadline:
                if incoming is not None and os.path.exists(incoming):
                    return incoming
                self.fail("no queue file for %s under %s" % (qid, self.spool()))
            time.sleep(0.01)

    def read_queue_file(self, qid):
        """The bytes of qid's queue file (found again if the queue
        manager moves it while we look)."""
        for _ in range(50):
            try:
                with open(self.queue_file(qid), "rb") as f:
                    return f.read()
            except FileNotFoundError:
                time.sleep(0.01)
        self.fail("the queue file of %s keeps moving" % qid)

    def wait_new_ids(self, before, count=1, timeout=None):
        """Wait until at least count IDs not in before are published."""
        deadline = time.monotonic() + (timeout or 5 * SLOW)
        while True:
            new = self.queued_ids() - set(before)
            if len(new) >= count or time.monotonic() > deadline:
                return new
            time.sleep(0.01)

    def envelope(self, qid):
        """The queue file parsed (docs/queue-format.md): a dict with
        "sender", "rcpts" (addresses), every other header key, "content"."""
        return parse_queue_file(self.read_queue_file(qid), self.fail)

    def tmp_files(self):
        """Files left in spool/tmp (unpublished)."""
        out = []
        for root, _, files in os.walk(self.spool("tmp")):
            out.extend(os.path.join(root, f) for f in files)
        return out

    def incoming_entries(self):
        """Every name under spool/incoming/XX/ (stray temp files too)."""
        out = []
        for root, _, files in os.walk(self.spool("incoming")):
            out.extend(os.path.join(root, f) for f in files)
        return out

    # -- tools

    def ctl(self, *args, input=None, timeout=None):
        argv = [program("mtactl"), "-c", self.conf_path] + list(args)
        return subprocess.run(argv, input=input, capture_output=True,
                              timeout=timeout or 20 * SLOW, env=self.env(), cwd=self.top)

    def add_user(self, address, password):
        """An account, as an operator makes one: mtactl user add
        --password-stdin (fails the test if mtactl does).  Running daemons
        see it within a second (users_file is looked at once a second)."""
        r = self.ctl("user", "add", address, "--password-stdin",
                     input=(password + "\n").encode())
        if r.returncode != 0:
            self.fail("mtactl user add %s exited %d: %s" % (
                address, r.returncode, r.stderr.decode(errors="replace")))

    def cat(self, qid):
        """The stored content of a message (mtactl cat ID), once the queue
        manager has settled it (queue_file), so it does not move meanwhile."""
        self.queue_file(qid)
        r = self.ctl("cat", qid)
        if r.returncode != 0:
            self.fail("mtactl cat %s exited %d: %s" % (qid, r.returncode,
                                                      r.stderr.decode(errors="replace")))
        return r.stdout

    def sendmail(self, args, data, timeout=None):
        return subprocess.run([program("sendmail")] + list(args), input=data,
                              capture_output=True, timeout=timeout or 20 * SLOW,
                              env=self.env(), cwd=self.top)

    def smtp(self, **kw):
        return Smtp(self.port, **kw)

    def smtplib(self):
        s = smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.example",
                         timeout=10 * SLOW)
        return s

    # -- the log

    def log(self):
        """The foreground log (master.log) plus state_dir/log/mta.log."""
        text = ""
        for path in (self.log_path, os.path.join(self.state_dir, "log", "mta.log")):
            try:
                with open(path, "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                pass
        return text

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def wait_log(self, pattern, timeout=None, since=0):
        """Wait for a regex in the log (after offset since); the match."""
        deadline = time.monotonic() + (timeout or 10 * SLOW)
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.log()[since:])
            if m:
                return m
            if time.monotonic() > deadline:
                self.fail("log never matched %r" % pattern)
            time.sleep(0.05)

    def check_log_clean(self):
        bad = re.search(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:"
                        r"|\(panic\)|Segmentation fault", self.log())
        if bad:
            self.fail("sanitizer or panic report in the log: %r" % bad.group(0))

    # -- failures

    def fail(self, msg):
        raise AssertionError("%s\n--- %s (last lines) ---\n%s"
                             % (msg, self.log_path, self.log_tail()))

    # -- checks shared by the tests

    def assert_stored(self, qid, sent, received=True):
        """The queue file holds exactly the Received: header + sent bytes."""
        path = self.queue_file(qid)       # waits for the publication
        content = self.cat(qid)
        if received:
            hdr, rest = split_received(content)
            host = self.conf.get("hostname", HOSTNAME)
            if not re.search(rb"\sby " + re.escape(host.encode()) + rb"\s", hdr):
                self.fail("Received: header lacks 'by %s': %r" % (host, hdr))
        else:
            rest = content
            if content.startswith(b"Received:"):
                rest = split_received(content)[1]
        if rest != sent:
            self.fail("stored content of %s differs from what was sent\n sent:   %r\n stored: %r"
                      % (qid, sent[:600], rest[:600]))
        env = self.envelope(qid)
        if env["content"] != content:
            self.fail("queue file %s content differs from what mtactl cat printed" % path)
        return content


def _unescape(v):
    return re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), v)


def parse_queue_file(raw, fail):
    """Header lines "key value" up to "content LEN", the content, "end CRC"."""
    env = {"rcpts": []}
    pos = raw.find(b"\n") + 1
    if not raw.startswith(b"MTAQ "):
        fail("queue file does not start with the MTAQ magic: %r" % raw[:40])
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            fail("queue file header not terminated")
        line = raw[pos:end]
        pos = end + 1
        key, _, val = line.partition(b" ")
        if key == b"content":
            n = int(val)
            env["content"] = raw[pos:pos + n]
            if not re.fullmatch(rb"end [0-9A-F]{8}\n", raw[pos + n:]):
                fail("queue file trailer wrong: %r" % raw[pos + n:pos + n + 40])
            return env
        if key == b"rcpt":
            m = re.fullmatch(rb"(\S) \d{10} \S+ <(.*)>", val)
            if not m:
                fail("bad rcpt line %r" % line)
            env["rcpts"].append(_unescape(m.group(2)).decode("utf-8", "replace"))
            continue
        if key == b"sender":
            val = val[1:-1]
        env[key.decode()] = _unescape(val).decode("utf-8", "replace")


def wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    left = list(pids)
    while left and time.monotonic() < deadline:
        left = [p for p in left if (proc_info(p) or (None, "Z"))[1] != "Z"]
        if left:
            time.sleep(0.05)
    return left


def describe(pids):
    return ", ".join("%d(%s)" % (p, (proc_info(p) or ("gone",))[0]) for p in pids)


def live_logs(skip=""):
    """Log tails of every instance still alive (for failure reports),
    except those already quoted in skip."""
    return "\n".join("--- %s ---\n%s" % (m.log_path, m.log_tail(25)) for m in list(_live)
                     if m.log_path not in skip)


def cleanup_all():
    for m in list(_live):
        try:
            m.cleanup()
        except Exception:       # noqa: BLE001 - best effort at exit
            pass


class MtaTestCase(unittest.TestCase):
    """Base class: self.mta() makes an instance cleaned up after the test."""

    def mta(self, **conf):
        return Mta(self, **conf)

    def assertNoRestarts(self, m, before):
        """No daemon of m died and was replaced since before=m.daemon_pids()."""
        now = m.daemon_pids()
        if sorted(now) != sorted(before):
            m.fail("daemon processes changed (a crash?): before %s, now %s"
                   % (sorted(before), describe(now)))

    def assertNothingQueued(self, m, before=frozenset()):
        new = m.queued_ids() - set(before)
        if new:
            m.fail("expected nothing queued, found %s" % sorted(new))
        stray = [p for p in m.incoming_entries()
                 if not QID_NAME.match(os.path.basename(p))]
        if stray:
            m.fail("stray files in spool/incoming: %s" % stray)
