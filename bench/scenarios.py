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

    def relay(self, domains=0, rcpts=1):
        """End to end: loadgen -> MTA -> sink until the sink has them all.
        (msg/s end to end, CPU ms/msg, lost, duplicates) or None if the
        MTA does not relay yet."""
        if not self.relaying:
            return None
        self.drain()
        msgs = self.n(10000 if domains or rcpts > 1 else 20000)
        before = self.sink.counts()
        cpu0 = measure.cpu_seconds(self.mta.pid())
        t0 = time.monotonic()
        _, _, failed = self.load(50, msgs, rcpts=rcpts, domains=domains)
        after = self.wait_sink(before, msgs - failed)
        secs = time.monotonic() - t0
        self.drain()                    # the CPU of removing the files too
        cpu = measure.cpu_seconds(self.mta.pid()) - cpu0
        got = after["messages"] - before["messages"]
        dups = after["duplicate_ids"] - before["duplicate_ids"]
        lost = msgs - failed - (after["unique_ids"] - before["unique_ids"])
        r = (got / secs, cpu * 1000 / msgs, lost, dups)
        self.say("relay%s -r %d: %.0f msg/s end to end, %.3f ms CPU/msg, %d lost,"
                 " %d duplicates" % (" to %d domains" % domains if domains else "",
                                     rcpts, *r))
        return r

    def wait_sink(self, before, n, timeout=900):
        """Until the sink has n more distinct messages than before (or a
        timeout): its counts then."""
        t0 = time.monotonic()
        while True:
            now = self.sink.counts()
            if now["unique_ids"] - before["unique_ids"] >= n:
                return now
            if time.monotonic() - t0 > timeout:
                self.say("the sink never got them all")
                return now
            time.sleep(0.1)

    def backlog(self, n):
        """The sink goes away, n messages pile up (deferred), the sink comes
        back and the queue is flushed: (n, seconds to drain, RSS KiB before
        the drain, max RSS while draining, lost, duplicates), or None."""
        if not self.relaying:
            return None
        self.drain()
        n = self.n(n, 1000)
        port = self.sink.port
        self.sink.kill()
        self.load(50, n)
        time.sleep(2)                  # let the first attempts fail
        self.sink.__init__(self.bindir, port=port)
        before = self.sink.counts()
        rss0 = rss_max = measure.memory_kib(self.mta.pid())[0]
        t0 = time.monotonic()
        self.mta.flush()
        while self.sink.counts()["unique_ids"] - before["unique_ids"] < n:
            rss_max = max(rss_max, measure.memory_kib(self.mta.pid())[0])
            if time.monotonic() - t0 > 1800:
                self.say("backlog: never drained")
                break
            time.sleep(0.5)
        secs = time.monotonic() - t0
        after = self.sink.counts()
        lost = n - (after["unique_ids"] - before["unique_ids"])
        dups = after["duplicate_ids"] - before["duplicate_ids"]
        r = (n, secs, rss0, rss_max, lost, dups)
        self.say("backlog of %d drained in %.1f s after the sink came back;"
                 " RSS %d KiB before, %d KiB max; %d lost, %d duplicates" % r)
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
