"""The scenarios bench/run measures on one MTA (ours or the peer): each
returns plain data for the report.  Loads come from mta-loadgen unless
smtp-source is asked for; CPU is the MTA's whole process tree."""
import statistics
import time

import measure

SWEEP_CONNS = (1, 10, 50, 200)
SWEEP_RCPTS = (1, 10)
SWEEP_MSGS = {1: 2000, 10: 5000, 50: 20000, 200: 20000}
DOMAINS = 1000                      # many-destinations scenario


class Bench:
    """One MTA under test plus the sink it relays to."""

    def __init__(self, mta, sink, bindir, args, relaying):
        self.mta, self.sink, self.bindir = mta, sink, bindir
        self.args, self.relaying = args, relaying

    def n(self, msgs, minimum=200):
        return max(minimum, int(msgs * self.args.scale))

    def load(self, conns, msgs, size=5120, rcpts=1, domains=0):
        """One load; (seconds, MTA CPU seconds, failed messages)."""
        cpu0 = measure.cpu_seconds(self.mta.pid())
        if self.args.driver == "smtp-source":
            secs, _ = measure.smtp_source(self.mta.port, conns, msgs, size, rcpts)
            failed = 0
        else:
            secs, _, rep = measure.loadgen(self.bindir, self.mta.port, conns, msgs,
                                           size, rcpts, domains=domains)
            failed = rep["failed"]
        return secs, measure.cpu_seconds(self.mta.pid()) - cpu0, failed

    def drain(self, timeout=600):
        """Wait for an empty queue (when relaying); seconds waited or None."""
        if not self.relaying:
            return 0.0
        t0 = time.monotonic()
        while self.mta.queue_count() > 0:
            if time.monotonic() - t0 > timeout:
                return None
            time.sleep(0.2)
        return time.monotonic() - t0

    def idle(self, n):
        time.sleep(1)
        rss0, pss0 = measure.memory_kib(self.mta.pid())
        socks = measure.idle_connections(self.mta.port, n)
        time.sleep(1)
        rss1, pss1 = measure.memory_kib(self.mta.pid())
        for s in socks:
            s.close()
        per = ((rss1 - rss0) / n, (pss1 - pss0) / n)
        self.say("idle x%d: %.1f KiB RSS, %.1f KiB PSS per connection" % (n, *per))
        return n, per

    def sweep(self):
        """Acceptance: {(conns, rcpts): (msg/s, CPU ms/msg)}, medians."""
        rows = {}
        for rcpts in SWEEP_RCPTS:
            for conns in SWEEP_CONNS:
                msgs = self.n(SWEEP_MSGS[conns] // (2 if rcpts > 1 else 1))
                rates, cpus = [], []
                for _ in range(self.args.runs):
                    self.drain()
                    secs, cpu, failed = self.load(conns, msgs, rcpts=rcpts)
                    if failed:
                        raise RuntimeError("%d messages refused" % failed)
                    rates.append(msgs / secs)
                    cpus.append(cpu * 1000 / msgs)
                rows[(conns, rcpts)] = (statistics.median(rates),
                                        statistics.median(cpus))
                self.say("c=%-3d -r %-2d %8.0f msg/s  %6.3f ms CPU/msg"
                         % (conns, rcpts, *rows[(conns, rcpts)]))
        return rows

    def large(self):
        """1 MiB messages at c=10: (msg/s, MiB/s, CPU ms/msg)."""
        self.drain()
        msgs = self.n(300, 30)
        secs, cpu, failed = self.load(10, msgs, size=1 << 20)
        if failed:
            raise RuntimeError("%d large messages refused" % failed)
        r = (msgs / secs, msgs / secs, cpu * 1000 / msgs)
        self.say("1 MiB c=10: %.0f msg/s (%.0f MiB/s), %.1f ms CPU/msg" % r)
        return r

    def relay(self, domains=0):
        """End to end: loadgen -> MTA -> sink until the sink has them all.
        (msg/s end to end, CPU ms/msg, lost, duplicates) or None if the
        MTA does not relay yet."""
        if not self.relaying:
            return None
        self.drain()
        msgs = self.n(20000 if not domains else 10000)
        before = self.sink.counts()
        cpu0 = measure.cpu_seconds(self.mta.pid())
        t0 = time.monotonic()
        _, _, failed = self.load(50, msgs, domains=domains)
        if self.drain(timeout=900) is None:
            self.say("relay: queue did not drain")
        secs = time.monotonic() - t0
        cpu = measure.cpu_seconds(self.mta.pid()) - cpu0
        after = self.sink.counts()
        got = after["messages"] - before["messages"]
        dups = after["duplicate_ids"] - before["duplicate_ids"]
        lost = msgs - failed - (after["unique_ids"] - before["unique_ids"])
        r = (got / secs, cpu * 1000 / msgs, lost, dups)
        self.say("relay%s: %.0f msg/s end to end, %.3f ms CPU/msg, %d lost,"
                 " %d duplicates" % (" to %d domains" % domains if domains else "", *r))
        return r

    def recovery(self):
        """Fill the queue, kill -9 the whole tree, time the restart."""
        have, want = self.mta.queue_count(), self.n(self.args.fill)
        if have < want:
            self.load(50, want - have)
        queued = self.mta.queue_count()
        self.mta.kill9()
        t0 = time.time()
        t1 = self.mta.start()
        self.say("restart after kill -9 with %d queued: %.2f s" % (queued, t1 - t0))
        return queued, t1 - t0

    def say(self, text):
        print("  %-7s %s" % (self.mta.name, text), flush=True)
