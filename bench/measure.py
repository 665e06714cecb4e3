"""Process accounting and load running for the benchmarks.

CPU of an MTA is the CPU of its whole process tree: live descendants'
utime+stime plus cutime+cstime (children already reaped, e.g. Postfix's
short-lived smtpd processes).  Memory is RSS and PSS summed over the tree.
"""
import concurrent.futures
import os
import re
import socket
import subprocess
import time

CLK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_greeting(port, timeout):
    """Wait until 127.0.0.1:port greets with 220; the time it did, or None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 1) as s:
                if s.recv(100).startswith(b"220"):
                    return time.time()
        except OSError:
            pass
        time.sleep(0.05)
    return None


def _children():
    kids = {}
    for d in os.listdir("/proc"):
        st = proc_stat(int(d)) if d.isdigit() else None
        if st is not None:
            kids.setdefault(int(st[1][1]), []).append(int(d))
    return kids


def tree(pid):
    """pid and all its descendants."""
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def proc_stat(pid):
    """(comm, the fields after it) of /proc/pid/stat, or None if gone.
    utime stime cutime cstime (fields 14-17, 1-based) are [11:15]."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return None
    return st[st.index("(") + 1:st.rindex(")")], st[st.rindex(")") + 2:].split()


def cpu_seconds(pid):
    """CPU seconds used so far by the tree under pid (reaped children too)."""
    total = 0
    for p in tree(pid):
        st = proc_stat(p)
        if st is not None:
            total += sum(int(x) for x in st[1][11:15])
    return total / CLK


def memory_kib_one(pid):
    """(RSS, PSS) in KiB of one process ((0, 0) if it is gone)."""
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                m = re.match(r"(Rss|Pss):\s+(\d+)", line)
                if m and m.group(1) == "Rss":
                    rss += int(m.group(2))
                elif m:
                    pss += int(m.group(2))
    except OSError:
        pass
    return rss, pss


def memory_kib(pid):
    """(RSS, PSS) in KiB summed over the tree under pid."""
    rss = pss = 0
    for p in tree(pid):
        r, s = memory_kib_one(p)
        rss, pss = rss + r, pss + s
    return rss, pss


RCPT = "rcpt@dest.bench.test"   # a remote domain: both MTAs relay it


def run_timed(cmd, timeout):
    """Run cmd; (elapsed seconds, its CPU seconds, stdout bytes)."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise
    # communicate() reaped it; its CPU is in our RUSAGE_CHILDREN delta.
    elapsed = time.monotonic() - t
    if p.returncode != 0:
        raise RuntimeError("%s exited %d" % (cmd[0], p.returncode))
    return elapsed, out


def children_cpu():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def smtp_source(port, conns, msgs, size=5120, rcpts=1, per_conn=False,
                timeout=600):
    """Run Postfix's smtp-source; (elapsed seconds, its CPU seconds).
    per_conn: many messages per connection (its -d)."""
    cmd = ["smtp-source", "-s", str(conns), "-m", str(msgs), "-l", str(size),
           "-f", "load@bench.test", "-t", RCPT]
    if rcpts > 1:
        cmd += ["-r", str(rcpts)]
    if per_conn:
        cmd += ["-d"]
    cmd.append("127.0.0.1:%d" % port)
    cpu0 = children_cpu()
    secs, _ = run_timed(cmd, timeout)
    return secs, children_cpu() - cpu0


def loadgen(bindir, port, conns, msgs, size=5120, rcpts=1, per_conn=1,
            domains=0, timeout=900, pipelining=True, to=RCPT, extra=()):
    """Run mta-loadgen (extra: more of its options, e.g. --tls smtps);
    (elapsed, its CPU seconds, its JSON report).  Raises if it fails (a
    message refused)."""
    import json
    cmd = [os.path.join(bindir, "mta-loadgen"), "-c", str(conns), "-m", str(msgs),
           "-s", str(size), "-r", str(rcpts), "--from", "load@bench.test",
           "--to", to, "--messages-per-connection", str(per_conn), "--json"]
    if domains:
        cmd += ["--domains", str(domains)]
    if not pipelining:
        cmd += ["--no-pipelining"]
    cmd += list(extra)
    cmd.append("127.0.0.1:%d" % port)
    cpu0 = children_cpu()
    secs, out = run_timed(cmd, timeout)
    return secs, children_cpu() - cpu0, json.loads(out)


def loadgen_split(bindir, port, conns, msgs, procs, **kw):
    """loadgen in procs processes at once, sharing conns and msgs (one
    client process does its half of every TLS handshake on one core):
    (seconds until the last one finished, their JSON reports)."""
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(procs) as pool:
        runs = [pool.submit(loadgen, bindir, port, max(1, conns // procs),
                            msgs // procs, **kw) for _ in range(procs)]
        reps = [r.result()[2] for r in runs]
    return time.monotonic() - t0, reps


def traversable(path):
    """Let unprivileged daemons (ours after dropping root, Dovecot's)
    reach path by name: +x on it and every parent (a mkdtemp dir is 0700)."""
    d = os.path.abspath(path)
    while d not in ("/", ""):
        os.chmod(d, os.stat(d).st_mode | 0o111)
        d = os.path.dirname(d)


def spread_subdirectories(path):
    """Mark path "top of a directory hierarchy" (ext4's T attribute) so
    that each instance directory made in it lands in a block group of its
    own (the Orlov allocator), away from the inodes earlier runs freed:
    on ext4 without a journal (this VM) a new inode skips, reading each,
    every free inode of its group freed in the last 60 s -- 360 s while
    the inode-table block is dirty, which a run's own creations keep it --
    so a side that happens to share a group with a recent mass deletion
    pays extra kernel CPU per file it creates.  True if the attribute was
    set."""
    r = subprocess.run(["chattr", "+T", path], capture_output=True)
    return r.returncode == 0


def settle(secs):
    """Let the inodes freed before now age out.  On ext4 without a journal
    (this VM) a new inode skips every one freed in the last 60 s (360 s
    while its inode-table block is still dirty), reading each to find out,
    so the side that runs right after a mass deletion (the relay backlog
    just drained) pays for it: the same run measured us at 0.3 and 1.4 ms
    of mta-local CPU per message depending on that alone.  The first
    allocation in an inode-table block makes it dirty again, so only
    deletions older than 360 s are out of the way: wait that long (sync
    first, so that nothing is left to flush during the measurement)."""
    if secs > 0:
        os.sync()
        time.sleep(secs)


def raise_nofile(n):
    """Let this process (and the MTA it starts) hold n descriptors."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n), hard))


def idle_connections(port, n):
    """Open n SMTP sessions that read the greeting and then sit idle."""
    raise_nofile(n + 1000)
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), 10)
        socks.append(s)
    for s in socks:
        s.settimeout(30)
        if not s.recv(512).startswith(b"220"):
            raise RuntimeError("no greeting")
    return socks
