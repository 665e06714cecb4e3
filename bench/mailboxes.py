"""The mailbox scenarios (issue 5), on fresh instances (ours: one for both):
- local delivery end to end: mta-loadgen -> smtpd -> queue -> Maildir
  (ours: mta-local; Postfix: its virtual(8) agent), until every message is
  a file in the Maildir's new/;
- POP3 retrieval of a big Maildir (ours: mta-pop3d; Dovecot's pop3d on a
  copy of the same Maildir): RETR everything twice (the first session
  moves new/ to cur/, Dovecot builds its index), then DELE everything.
Our side is skipped, with a line saying why, while its binary is missing."""
import grp
import os
import pwd
import shutil
import smtplib
import time

import measure
import pop3_client
from dovecot_peer import DovecotPeer
from ours import OurMTA
from postfix_peer import MAILDIR_DOMAIN, PostfixPeer

USER = "bench"                          # local delivery's recipient
ADDRESS = USER + "@" + MAILDIR_DOMAIN
POP3_USER = "pop"                       # the big mailbox POP3 retrieves
POP3_ADDRESS = POP3_USER + "@" + MAILDIR_DOMAIN
PROBE_ADDRESS = "probe@" + MAILDIR_DOMAIN   # is pop3d up? (keeps pop's new/ cold)
PASSWORD = "bench-pop3-secret"
CONNS, SIZE = 50, 5120


def say(who, text):
    print("  %-7s %s" % (who, text), flush=True)


def skipped(what, why, who="mta"):
    say(who, "%s: skipped, %s" % (what, why))
    return {"skipped": why}


def guarded(who, what, fn, *args):
    """fn(*args), or {"skipped": the error} if it raised: one broken side
    must not lose the rest of a long run."""
    try:
        return fn(*args)
    except Exception as e:      # noqa: BLE001 -- reported, not hidden
        return skipped(what, "failed: %s: %s" % (type(e).__name__, e), who)


def count(d):
    try:
        return sum(1 for _ in os.scandir(d))
    except FileNotFoundError:
        return 0


def mailbox_owner():
    """uid, gid for Postfix's and Dovecot's mailboxes: our local user's
    (mta-local) when it exists, else nobody."""
    for name in ("mta-local", "nobody"):
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            continue
    return 65534, 65534


_POP3_HASH = []


def pop3_hash():
    """One SHA-512-crypt hash of PASSWORD, the same for every POP3 server."""
    if not _POP3_HASH:
        _POP3_HASH.append(sha512_crypt(PASSWORD))
    return _POP3_HASH[0]


def sha512_crypt(password):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def add_account(mta, address):
    """`mtactl user add ADDRESS --password-stdin` (yescrypt); while mtactl
    cannot, the users_file line written here (SHA-512-crypt)."""
    r = mta.mtactl("user", "add", address, "--password-stdin", stdin=PASSWORD + "\n")
    if r.returncode == 0:
        return
    say("mta", "mtactl user add failed (%s): writing users_file directly"
        % r.stderr.strip()[-200:])
    write_account(mta, address, sha512_crypt(PASSWORD))


def write_account(mta, address, crypt_hash):
    """Add address:crypt_hash to users_file the way mtactl does (temp file,
    rename; mode 0640, group mta-auth), with a hash of our choosing."""
    path = os.path.join(mta.state_dir(), "users")
    try:
        with open(path) as f:
            text = f.read()
        st = os.stat(path)
        uid, gid = st.st_uid, st.st_gid
    except FileNotFoundError:
        text, uid, gid = "", os.getuid(), os.getgid()
        try:
            gid = grp.getgrnam("mta-auth").gr_gid if os.getuid() == 0 else gid
        except KeyError:
            pass
    tmp = path + ".bench"
    with open(tmp, "w") as f:
        f.write(text + "%s:%s\n" % (address, crypt_hash))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o640)
    os.chown(tmp, uid, gid)
    os.rename(tmp, path)


def rcpt_accepted(port, timeout=10):
    """Wait until smtpd takes RCPT TO:<ADDRESS> (users_file is re-read at
    most once a second); the last reply if it never does, else None."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                s.ehlo("probe.bench.test")
                s.mail("probe@bench.test")
                last = s.rcpt(ADDRESS)
                if last[0] == 250:
                    return None
        except (OSError, smtplib.SMTPException) as e:
            last = str(e)
        time.sleep(0.1)
    return last


def deliver(mta, maildir, bindir, msgs, stall=30):
    """msgs messages of SIZE at CONNS connections to ADDRESS, until as many
    files are in maildir/new (or nothing arrived for stall seconds)."""
    new = os.path.join(maildir, "new")
    before = count(new)
    cpu0 = measure.cpu_seconds(mta.pid())
    t0 = time.monotonic()
    secs_acc, _, rep = measure.loadgen(bindir, mta.port, CONNS, msgs, SIZE, to=ADDRESS)
    want, have, moved = msgs - rep["failed"], before, time.monotonic()
    while have - before < want and time.monotonic() - moved < stall:
        time.sleep(0.05)
        n = count(new)
        if n != have:
            have, moved = n, time.monotonic()
    secs = time.monotonic() - t0
    t1 = time.monotonic()
    while mta.queue_count() > 0 and time.monotonic() - t1 < stall:
        time.sleep(0.1)                 # the CPU of removing the queue files
    cpu = measure.cpu_seconds(mta.pid()) - cpu0
    r = {"msgs": msgs, "delivered": have - before, "failed": rep["failed"],
         "rate": (have - before) / secs, "accept_rate": msgs / secs_acc,
         "cpu_ms": cpu * 1000 / msgs}
    say(mta.name, "local delivery of %d: %.0f msg/s end to end (%.0f msg/s"
        " accepted), %.3f ms CPU/msg, %d in the Maildir, %d refused"
        % (msgs, r["rate"], r["accept_rate"], r["cpu_ms"], r["delivered"],
           r["failed"]))
    return r


class OurHost:
    """Our MTA for both mailbox scenarios: one instance (local_domains,
    pop3_listen, both accounts), started on first use, stopped by stop()."""

    def __init__(self, work, build, bindir):
        self.work, self.build, self.bindir = work, build, bindir
        self.mta = None

    def get(self):
        if self.mta is None:
            self.pop3_port = measure.free_port()
            mta = OurMTA(os.path.join(self.work, "mailboxes"), measure.free_port(),
                         measure.free_port(), build=self.build,
                         pop3_port=self.pop3_port,
                         extra="local_domains = %s\n" % MAILDIR_DOMAIN)
            mta.start()
            self.mta = mta
            add_account(mta, ADDRESS)
            # The POP3 account gets the SHA-512-crypt hash Dovecot gets:
            # yescrypt's 16 MiB per check would swamp the memory figure.
            write_account(mta, POP3_ADDRESS, pop3_hash())
            write_account(mta, PROBE_ADDRESS, pop3_hash())
            self.added = time.monotonic()
        return self.mta

    def maildir(self, address):
        local, domain = address.split("@")
        return os.path.join(self.mta.state_dir(), "mail", domain, local, "Maildir")

    def users_loaded(self):
        """Daemons re-read users_file at most once a second: a login tried
        sooner fails, and a failed login is answered late on purpose."""
        time.sleep(max(0, self.added + 1.1 - time.monotonic()))

    def stop(self):
        if self.mta:
            self.mta.stop()


def local_ours(host, msgs):
    prog = os.path.join(host.bindir, "mta-local")
    if not os.path.exists(prog):
        return skipped("local delivery", "%s does not exist yet" % prog)
    mta = host.get()
    refused = rcpt_accepted(mta.port)
    if refused:
        return skipped("local delivery", "smtpd refuses <%s>: %s"
                       % (ADDRESS, refused))
    return deliver(mta, host.maildir(ADDRESS), host.bindir, msgs)


def local_postfix(work, bindir, msgs):
    pf = PostfixPeer(os.path.join(work, "local"), measure.free_port(),
                     measure.free_port(), maildir=([USER],) + mailbox_owner())
    pf.start()
    try:
        return deliver(pf, pf.maildir_path(USER), bindir, msgs)
    finally:
        pf.stop()


def local_delivery(host, msgs, peer, settle_s=0):
    """{"msgs": msgs, "mta": result, "postfix": result} (postfix only with
    peer); a result is {"skipped": why} when that side could not run.
    Each side starts after measure.settle(settle_s)."""
    print("local delivery:", flush=True)
    measure.settle(settle_s)
    out = {"msgs": msgs,
           "mta": guarded("mta", "local delivery", local_ours, host, msgs)}
    if peer:
        measure.settle(settle_s)
        out["postfix"] = guarded("postfix", "local delivery", local_postfix,
                                 host.work, host.bindir, msgs)
    return out


def sessions(who, port, root, names, maildir):
    """Cold RETR-all, warm RETR-all, DELE-all; memory of the serving
    processes (names) and of the whole instance (root's tree)."""
    groups = {"serving": names,
              "whole": None if who == "dovecot" else ("mta-master",) + tuple(names)}
    sampler = pop3_client.MemorySampler(root, groups)
    idle = sampler.sample()["serving"]
    cpu0, client0 = measure.cpu_seconds(root), time.process_time()
    r = {"first": pop3_client.session(port, POP3_ADDRESS, PASSWORD),
         "second": pop3_client.session(port, POP3_ADDRESS, PASSWORD),
         "dele": pop3_client.session(port, POP3_ADDRESS, PASSWORD, retr=False, dele=True)}
    r["cpu"] = measure.cpu_seconds(root) - cpu0
    r["client_cpu"] = time.process_time() - client0
    mem = sampler.stop()
    r["rss"], r["pss"] = mem["serving"]
    r["inst_rss"], r["inst_pss"] = mem["whole"]
    r["idle_rss"], r["idle_pss"] = idle
    r["left"] = count(os.path.join(maildir, "new")) + count(os.path.join(maildir, "cur"))
    f, s = r["first"], r["second"]
    say(who, "POP3 %d messages: RETR all %.2f s (first) %.2f s (again), %.0f MiB/s;"
        " DELE all + QUIT %.2f s; %d size mismatches; serving RSS %d KiB"
        " (PSS %d; %d KiB before the first login), whole %d KiB PSS; %.2f s"
        " CPU (client %.2f s); %d left after DELE"
        % (f["messages"], f["secs"], s["secs"], s["bytes"] / s["secs"] / 2**20,
           r["dele"]["secs"], f["mismatches"] + s["mismatches"], r["rss"], r["pss"],
           r["idle_rss"], r["inst_pss"], r["cpu"], r["client_cpu"], r["left"]))
    return r


def pop3_ours(host, template):
    prog = os.path.join(host.bindir, "mta-pop3d")
    if not os.path.exists(prog):
        return skipped("POP3", "%s does not exist yet" % prog)
    mta = host.get()
    mail = os.path.join(mta.state_dir(), "mail")
    st = os.stat(mail)
    maildir = host.maildir(POP3_ADDRESS)
    shutil.copytree(template, maildir)
    pop3_client.chown_tree(os.path.join(mail, MAILDIR_DOMAIN), st.st_uid, st.st_gid)
    host.users_loaded()
    if not wait_login(host.pop3_port):
        return skipped("POP3", "no login on 127.0.0.1:%d (see %s/mta.log)"
                       % (host.pop3_port, mta.dir))
    return sessions("mta", host.pop3_port, mta.pid(), ("mta-pop3d",), maildir)


def wait_login(port, timeout=10):
    """Until USER/PASS work for the probe account (accounts may take a
    second to appear)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = pop3_client.Pop3(port, 10)
            try:
                c.cmd("USER " + PROBE_ADDRESS)
                c.cmd("PASS " + PASSWORD)
                c.cmd("RSET")
                c.cmd("QUIT")
                return True
            finally:
                c.close()
        except (OSError, pop3_client.Pop3Error):
            time.sleep(0.5)
    return False


def pop3_dovecot(work, template):
    maildir = os.path.join(work, "pop3", "dovecot-mail", POP3_USER, "Maildir")
    shutil.copytree(template, maildir)
    pop3_client.chown_tree(os.path.dirname(maildir), *mailbox_owner())
    dv = DovecotPeer(os.path.join(work, "pop3"), measure.free_port(), maildir,
                     POP3_ADDRESS, pop3_hash())
    dv.start()
    try:
        return sessions("dovecot", dv.port, dv.pid(), ("pop3", "pop3-login"),
                        maildir)
    finally:
        dv.stop()


def pop3_retrieval(host, n, peer):
    """{"n": n, "mta": result, "dovecot": result} (dovecot only with
    peer), both on copies of one generated Maildir; {"skipped": why} for
    a side that could not run."""
    print("POP3 retrieval:", flush=True)
    template = os.path.join(host.work, "pop3", "template")
    pop3_client.make_mailbox(template, n, SIZE, POP3_ADDRESS)
    out = {"n": n, "mta": guarded("mta", "POP3", pop3_ours, host, template)}
    if peer:
        out["dovecot"] = guarded("dovecot", "POP3", pop3_dovecot, host.work,
                                 template)
    return out
