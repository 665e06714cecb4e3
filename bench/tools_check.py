"""Are the bench tools fast enough to measure an MTA?  The loopback ceiling
(generator straight into a sink) of mta-loadgen + mta-sink against
smtp-source + smtp-sink, same machine, same run; and whether mta-loadgen
and smtp-source agree when they measure the same target."""
import measure
from sinks import MtaSink, SmtpSink

MODES = [  # name, connections, messages, many messages per connection
    ("c=50, 1 msg/conn", 50, 20000, False),
    ("c=50, 100 msgs/conn", 50, 50000, True),
]


def _one(bindir, ours, conns, msgs, reuse):
    sink = MtaSink(bindir) if ours else SmtpSink()
    try:
        cpu0 = measure.cpu_seconds(sink.pid())
        if ours:
            secs, gen_cpu, rep = measure.loadgen(
                bindir, sink.port, conns, msgs, per_conn=100 if reuse else 1)
            if rep["failed"]:
                raise RuntimeError("mta-loadgen: %d failed" % rep["failed"])
        else:
            secs, gen_cpu = measure.smtp_source(sink.port, conns, msgs,
                                                per_conn=reuse)
        sink_cpu = measure.cpu_seconds(sink.pid()) - cpu0
        counts = sink.stop()
        if ours and counts["messages"] != msgs:
            raise RuntimeError("mta-sink counted %d of %d" % (counts["messages"], msgs))
    finally:
        sink.kill()
    return {"rate": msgs / secs, "gen_ms": gen_cpu * 1000 / msgs,
            "sink_ms": sink_cpu * 1000 / msgs}


def ceiling(bindir, scale):
    """{mode: {"ours": {...}, "postfix": {...}}} for each MODES entry."""
    out = {}
    for name, conns, msgs, reuse in MODES:
        msgs = max(1000, int(msgs * scale))
        out[name] = {"ours": _one(bindir, True, conns, msgs, reuse),
                     "postfix": _one(bindir, False, conns, msgs, reuse)}
        for who, r in out[name].items():
            print("  tools %-20s %-8s %8.0f msg/s  gen %.3f  sink %.3f ms CPU/msg"
                  % (name, who, r["rate"], r["gen_ms"], r["sink_ms"]), flush=True)
    return out


def agreement(bindir, port, scale, points=((1, 2000), (50, 10000))):
    """The same target on port, measured by both generators: {conns: {...}}.
    mta-loadgen speaks lock-step here, as smtp-source does: pipelining saves
    round trips, which is the MTA's figure, not a measuring error."""
    out = {}
    for conns, msgs in points:
        msgs = max(500, int(msgs * scale))
        secs_src, _ = measure.smtp_source(port, conns, msgs)
        secs_lg, _, _ = measure.loadgen(bindir, port, conns, msgs,
                                        pipelining=False)
        out[conns] = {"smtp-source": msgs / secs_src, "mta-loadgen": msgs / secs_lg}
        print("  agreement c=%d: smtp-source %.0f, mta-loadgen %.0f msg/s"
              % (conns, out[conns]["smtp-source"], out[conns]["mta-loadgen"]),
              flush=True)
    return out


def agreement_on_sink(bindir, scale):
    """Both generators against mta-sink at c=1 (latency bound, not CPU)."""
    sink = MtaSink(bindir)
    try:
        return agreement(bindir, sink.port, scale, points=((1, 2000),))
    finally:
        sink.kill()
