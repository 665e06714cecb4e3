"""bench/RESULTS.md and the throughput plot, from bench/run's results."""
import datetime
import os
import platform
import shutil
import subprocess
import sys

from scenarios import SWEEP_CONNS, SWEEP_RCPTS


def ratio(a, b, lower_is_better=False):
    if not a or not b:
        return "-"
    return "%.2fx" % ((b / a) if lower_is_better else (a / b))


def num(v, fmt="%.0f"):
    return "-" if v is None else fmt % v


def header(args, relaying, smtp=True):
    now = datetime.datetime.now(datetime.timezone.utc)
    head = ["# Benchmark results", "",
            "- date: %s" % now.strftime("%Y-%m-%d %H:%M UTC"),
            "- machine: %s, %d CPUs, kernel %s" % (platform.machine(),
                                                  os.cpu_count(), platform.release()),
            "- command: `bench/run %s`" % " ".join(sys.argv[1:])]
    if not smtp:
        return head + [""]
    return head + [
            "- load: %s, 5 KiB messages, one connection per message, recipients"
            " in a remote domain; durability on for both (fsync before 250);"
            " CPU is each MTA's whole process tree, reaped children included."
            % args.driver,
            "- both relay everything to mta-sink on loopback while accepting."
            if relaying else
            "- acceptance only: ours cannot deliver in this build; Postfix puts"
            " every message on hold (check_client_access static:HOLD).", ""]


def sweep_table(ours, peer):
    out = ["## Acceptance (messages/s until the last 250)", "",
           "| concurrency | rcpts | mta msg/s | postfix msg/s | ratio |"
           " mta CPU ms/msg | postfix CPU ms/msg | CPU ratio |",
           "|---|---|---|---|---|---|---|---|"]
    for rcpts in SWEEP_RCPTS:
        for conns in SWEEP_CONNS:
            a = ours["sweep"][(conns, rcpts)]
            b = peer["sweep"][(conns, rcpts)] if peer else (None, None)
            out.append("| %d | %d | %.0f | %s | %s | %.3f | %s | %s |" % (
                conns, rcpts, a[0], num(b[0]), ratio(a[0], b[0]), a[1],
                num(b[1], "%.3f"), ratio(a[1], b[1], lower_is_better=True)))
    return out


def other_table(ours, peer):
    out = ["", "## Other scenarios", "",
           "| scenario | mta | postfix | ratio |", "|---|---|---|---|"]
    la, lb = ours["large"], peer["large"] if peer else None
    out.append("| 1 MiB messages, c=10: MiB/s | %.1f | %s | %s |" % (
        la[1], num(lb and lb[1], "%.1f"), ratio(la[1], lb and lb[1])))
    for key, name in (("relay", "end to end to the sink, c=50"),
                      ("relay10", "end to end, 10 recipients, c=50"),
                      ("many", "end to end, 1,000 domains, c=50")):
        a, b = ours.get(key), peer.get(key) if peer else None
        if a is None:
            out.append("| %s: msg/s | not yet (no delivery in this build) | %s | - |"
                       % (name, num(b and b[0])))
            continue
        out.append("| %s: msg/s | %.0f | %s | %s |" % (
            name, a[0], num(b and b[0]), ratio(a[0], b and b[0])))
        out.append("| %s: CPU s per 1,000 messages | %.2f | %s | %s |" % (
            name, a[1], num(b and b[1], "%.2f"),
            ratio(a[1], b and b[1], lower_is_better=True)))
        out.append("| %s: lost / duplicates | %d / %d | %s | |" % (
            name, a[2], a[3], "%d / %d" % (b[2], b[3]) if b else "-"))
    a, b = ours.get("backlog"), peer.get("backlog") if peer else None
    if a:
        out.append("| backlog of %d after the sink was away: s to drain | %.1f | %s | %s |"
                   % (a[0], a[1], num(b and b[1], "%.1f"),
                      ratio(a[1], b and b[1], lower_is_better=True)))
        out.append("| backlog: RSS MiB before the drain / max while draining |"
                   " %.0f / %.0f | %s | |" % (a[2] / 1024, a[3] / 1024,
                                            "%.0f / %.0f" % (b[2] / 1024, b[3] / 1024)
                                            if b else "-"))
        out.append("| backlog: lost / duplicates | %d / %d | %s | |" % (
            a[4], a[5], "%d / %d" % (b[4], b[5]) if b else "-"))
    ia = ours["idle"]
    ib = peer["idle"] if peer else None
    out.append("| idle connections: KiB PSS (RSS) per connection, %s open | %.1f (%.1f) |"
               " %s | %s |" % ("%d / %d" % (ia[0], ib[0]) if ib else "%d" % ia[0],
                               ia[1][1], ia[1][0],
                               "%.1f (%.1f)" % (ib[1][1], ib[1][0]) if ib else "-",
                               ratio(ia[1][1], ib and ib[1][1], lower_is_better=True)))
    if "recovery" in ours:
        q, secs = ours["recovery"]
        out.append("| restart after kill -9 with %d queued: s to SMTP | %.2f | | |"
                   % (q, secs))
    return out


def tools_table(tools, agree):
    out = ["", "## The bench tools", "",
           "Loopback ceiling, generator straight into a sink, same run:", "",
           "| mode | mta-loadgen -> mta-sink msg/s | smtp-source -> smtp-sink msg/s |"
           " rate ratio | generator CPU ms/msg (ours / theirs) |"
           " sink CPU ms/msg (ours / theirs) |", "|---|---|---|---|---|---|"]
    for mode, r in tools.items():
        a, b = r["ours"], r["postfix"]
        out.append("| %s | %.0f | %.0f | %s | %.3f / %.3f | %.3f / %.3f |" % (
            mode, a["rate"], b["rate"], ratio(a["rate"], b["rate"]),
            a["gen_ms"], b["gen_ms"], a["sink_ms"], b["sink_ms"]))
    out += ["", "Same target (5 KiB, one connection per message), measured by"
            " both generators (mta-loadgen --no-pipelining: the lock-step"
            " dialogue smtp-source speaks):", "",
            "| target | concurrency | smtp-source msg/s | mta-loadgen msg/s |"
            " difference |", "|---|---|---|---|---|"]
    for target, points in agree.items():
        for conns, r in sorted((points or {}).items()):
            out.append("| %s | %d | %.0f | %.0f | %+.0f %% |" % (
                target, conns, r["smtp-source"], r["mta-loadgen"],
                100 * (r["mta-loadgen"] / r["smtp-source"] - 1)))
    return out


def render(results, tools, agree, args, relaying, plot, mbox=None, tls=None):
    ours, peer = results.get("mta"), results.get("postfix")
    lines = header(args, relaying, smtp=bool(ours))
    if ours:
        lines += sweep_table(ours, peer) + other_table(ours, peer)
    if mbox and "local" in mbox:
        lines += local_table(mbox["local"])
    if mbox and "pop3" in mbox:
        lines += pop3_table(mbox["pop3"])
    if tls:
        lines += tls_table(tls)
    if tools:
        lines += tools_table(tools, agree)
    if plot:
        lines += ["", "Throughput against concurrency: [%s](%s)" % (plot, plot)]
    lines += ["", "## Notes", "",
              "- Ratios, not absolute figures, are the claim: the machine is shared"
              " and the same scenario moves by 20-30 % between runs.",
              "- This VM's ext4 has no journal; there inode allocation skips inodes"
              " deleted in the last minutes (ext4 recently_deleted()), so creating"
              " files right after mass deletions costs both MTAs extra kernel CPU."
              " The work directory has ext4's T attribute (chattr +T), so each"
              " instance's directories start in block groups of their own, and"
              " the run syncs and waits 370 s (--settle) before the relay"
              " scenarios, each side's local delivery and the TLS scenarios,"
              " so that each side pays only for its own deletions (Postfix"
              " unlinks a queue file per message; ours reuses them)."]
    return "\n".join(lines) + "\n"


def plot(results, path):
    """PNG of msg/s against concurrency (1 recipient) with gnuplot."""
    if not shutil.which("gnuplot"):
        return None
    data = path + ".dat"
    with open(data, "w") as f:
        for conns in SWEEP_CONNS:
            row = [str(conns)] + ["%.1f" % results[name]["sweep"][(conns, 1)][0]
                                  if name in results else "NaN"
                                  for name in ("mta", "postfix")]
            f.write(" ".join(row) + "\n")
    script = (
        "set terminal png size 800,500\n"
        "set output '%s'\n"
        "set title 'Acceptance, 5 KiB messages, durability on'\n"
        "set xlabel 'concurrent connections'\nset ylabel 'messages/s'\n"
        "set logscale x\nset key top left\nset grid\nset yrange [0:*]\n"
        "plot '%s' using 1:2 with linespoints title 'mta', "
        "'%s' using 1:3 with linespoints title 'postfix'\n" % (path, data, data))
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
    os.unlink(data)
    return os.path.basename(path)


def _skip_or(r, fmt, key):
    """A cell: fmt % key(r), or why that side did not run."""
    if r is None:
        return "-"
    if "skipped" in r:
        return "skipped"
    return fmt % key(r)


def _ok(r):
    return r is not None and "skipped" not in r


def _skips(pairs):
    return ["", "Skipped: " + "; ".join("%s: %s" % (who, r["skipped"])
                                        for who, r in pairs
                                        if r is not None and "skipped" in r)] \
        if any(r is not None and "skipped" in r for _, r in pairs) else []


def local_table(local):
    """## Local delivery: ours (mta-local) and Postfix (virtual(8))."""
    a, b = local.get("mta"), local.get("postfix")
    out = ["", "## Local delivery", "",
           "mta-loadgen -> smtpd -> queue -> Maildir: %d messages of 5 KiB at"
           " concurrency 50 to one user, timed until every message is a file in"
           " the Maildir's new/ (ours: mta-local; Postfix: its virtual(8) agent,"
           " virtual_mailbox_maps); fresh instances, same run, durability on for"
           " both." % local["msgs"], "",
           "| figure | mta | postfix | ratio |", "|---|---|---|---|"]
    rows = (("messages/s end to end", "%.0f", lambda r: r["rate"], False),
            ("CPU ms per message (whole process tree)", "%.3f",
             lambda r: r["cpu_ms"], True),
            ("messages/s accepted (until the last 250)", "%.0f",
             lambda r: r["accept_rate"], False))
    for name, fmt, key, lower in rows:
        out.append("| %s | %s | %s | %s |" % (
            name, _skip_or(a, fmt, key), _skip_or(b, fmt, key),
            ratio(key(a), key(b), lower) if _ok(a) and _ok(b) else "-"))
    out.append("| in the Maildir / sent | %s | %s | |" % (
        _skip_or(a, "%s", lambda r: "%d / %d" % (r["delivered"], r["msgs"])),
        _skip_or(b, "%s", lambda r: "%d / %d" % (r["delivered"], r["msgs"]))))
    return out + _skips((("mta", a), ("postfix", b)))


def pop3_table(pop3):
    """## POP3 retrieval: mta-pop3d and Dovecot's pop3d on the same Maildir."""
    a, b = pop3.get("mta"), pop3.get("dovecot")
    out = ["", "## POP3 retrieval", "",
           "A Maildir of %d messages of 5 KiB (LF endings, names with S= and W="
           " as lib/maildir.h writes them), a copy for each server.  One"
           " lock-step client for both (bench/pop3_client.py: a command, its"
           " whole reply, the next; sizes checked against LIST): USER/PASS, LIST,"
           " RETR every message, QUIT; the same again; then DELE every message"
           " and QUIT.  The same SHA-512-crypt password hash for both (in"
           " users_file; Dovecot: a private config, passwd-file, maildir:),"
           " same machine, same run." % pop3["n"], "",
           "| figure | mta-pop3d | dovecot | ratio |", "|---|---|---|---|"]
    rows = (("first session (new/ -> cur/): s to RETR all", "%.2f",
             lambda r: r["first"]["secs"], True),
            ("second session: s to RETR all", "%.2f",
             lambda r: r["second"]["secs"], True),
            ("second session: MiB/s", "%.1f",
             lambda r: r["second"]["bytes"] / r["second"]["secs"] / 2**20, False),
            ("DELE all + QUIT: s", "%.2f", lambda r: r["dele"]["secs"], True),
            ("serving process(es): max RSS KiB (mta-pop3d; pop3 + pop3-login)",
             "%d", lambda r: r["rss"], True),
            ("serving process(es): max PSS KiB", "%d", lambda r: r["pss"], True),
            ("serving process(es): RSS KiB before the first login", "%d",
             lambda r: r["idle_rss"], True),
            ("whole server: max PSS KiB (mta-master + mta-pop3d; every"
             " dovecot process)", "%d", lambda r: r["inst_pss"], True),
            ("CPU s, the three sessions (whole process tree)", "%.2f",
             lambda r: r["cpu"], True),
            ("client CPU s, the three sessions (the bench's own process)",
             "%.2f", lambda r: r["client_cpu"], True))
    for name, fmt, key, lower in rows:
        out.append("| %s | %s | %s | %s |" % (
            name, _skip_or(a, fmt, key), _skip_or(b, fmt, key),
            ratio(key(a), key(b), lower) if _ok(a) and _ok(b) else "-"))
    check = lambda r: "%d / %d" % (  # noqa: E731
        r["first"]["mismatches"] + r["second"]["mismatches"], r["left"])
    out.append("| RETR sizes unlike LIST / files left after DELE | %s | %s | |"
               % (_skip_or(a, "%s", check), _skip_or(b, "%s", check)))
    return out + _skips((("mta", a), ("dovecot", b)))



def _tls_value(r, key):
    """One side's TLS figure at key (part, mode[, index]): the number,
    "skipped", or None when that side was not measured."""
    if r is None:
        return None
    if "skipped" in r:
        return "skipped"
    v = r.get(key[0], {}).get(key[1])
    if v is None:
        return None
    if isinstance(v, dict):
        return "skipped"
    return v[key[2] if len(key) > 2 else 0]


def _tls_rows():
    """(label, key, format, lower is better) for every row of the table."""
    rows = []
    for m, name in (("smtps", "smtps (AUTH) acceptance"),
                    ("starttls", "STARTTLS acceptance"),
                    ("smtps10", "smtps (AUTH) acceptance, 10 messages per"
                     " connection")):
        rows += [("%s: msg/s" % name, ("accept", m), "%.0f", False),
                 ("%s: CPU ms/msg" % name, ("accept", m, 1), "%.3f", True)]
    for m, name in (("smtps", "smtps"), ("starttls", "STARTTLS")):
        rows += [("%s handshakes/s (full)" % name, ("hs", m), "%.0f", False),
                 ("%s: CPU ms per full handshake" % name, ("hs", m, 1), "%.3f",
                  True),
                 ("%s handshakes/s (resumed, tickets)" % name,
                  ("hs_resumed", m), "%.0f", False)]
    for m, name in (("plain", "plaintext"), ("smtps", "smtps"),
                    ("starttls", "STARTTLS")):
        rows += [("idle %s session: KiB RSS per connection" % name,
                  ("idle", m), "%.1f", True),
                 ("idle %s session: KiB PSS per connection" % name,
                  ("idle", m, 1), "%.1f", True)]
    return rows


def _tls_adds(r):
    """"smtps / STARTTLS" KiB RSS that TLS adds per idle connection."""
    if r is None or "skipped" in r:
        return "-"
    i = r["idle"]
    if not all(isinstance(i.get(k), tuple) for k in ("plain", "smtps", "starttls")):
        return "-"
    return "%.1f / %.1f" % (i["smtps"][0] - i["plain"][0],
                            i["starttls"][0] - i["plain"][0])


def _tls_skips(a, b):
    notes = []
    for who, r in (("mta", a), ("postfix", b)):
        if r is None:
            continue
        if "skipped" in r:
            notes.append("%s: %s" % (who, r["skipped"]))
            continue
        for part in ("idle", "hs", "hs_resumed", "accept"):
            for m, v in r.get(part, {}).items():
                if isinstance(v, dict) and "skipped" in v:
                    notes.append("%s %s %s: %s" % (who, part, m, v["skipped"]))
    return ["", "Skipped: " + "; ".join(notes)] if notes else []


def tls_table(tls):
    """## TLS: ours and Postfix, one certificate, same run."""
    a, b = tls.get("mta"), tls.get("postfix")
    n = lambda r: r.get("idle_n", "-") if r and "skipped" not in r else "-"  # noqa: E731
    out = ["", "## TLS", "",
           "One self-signed ECDSA P-256 certificate for both (Postfix:"
           " smtpd_tls_cert_file, STARTTLS on the relay port, an smtps service"
           " with smtpd_tls_wrappermode=yes); each side relays to its own"
           " mta-sink, durability on.  Two mta-loadgen processes share the"
           " 50 connections (the client's half of a handshake costs more than"
           " the server's: one client process would be the bottleneck); they"
           " do not verify certificates"
           " and, unless \"resumed\", make a full handshake per connection."
           "  Acceptance: 5 KiB, c=50, 1 recipient, one connection per message,"
           " until the last 250; smtps with AUTH PLAIN on both (our smtps port"
           " requires AUTH; Postfix's smtps service is made to require it,"
           " SASL through a private Dovecot auth service with the same"
           " SHA-512-crypt hash): Dovecot runs the hash for every AUTH (no"
           " auth cache configured); ours runs it for the first login and"
           " then, with the default auth_cache_ttl, matches an HMAC of it;"
           " smtps again with 10 messages per connection (one AUTH per 10);"
           " STARTTLS without AUTH.  Handshakes:"
           " --handshake-only at c=50 (smtps: handshake, greeting, QUIT;"
           " STARTTLS: greeting, EHLO, STARTTLS, handshake, EHLO, QUIT)."
           "  CPU: the whole process tree (Postfix: plus its Dovecot auth)."
           "  Idle: sessions past the handshake and EHLO (plaintext: past EHLO),"
           " %s / %s open, each kind on a freshly started instance; RSS and"
           " PSS of the smtpd processes (ours: mta-smtpd; Postfix: one smtpd"
           " per connection)." % (n(a), n(b)), "",
           "| figure | mta | postfix | ratio |", "|---|---|---|---|"]
    for name, key, fmt, lower in _tls_rows():
        va, vb = _tls_value(a, key), _tls_value(b, key)
        cell = lambda v: "-" if v is None else v if isinstance(v, str) else fmt % v  # noqa: E731
        both = all(isinstance(v, (int, float)) for v in (va, vb))
        out.append("| %s | %s | %s | %s |" % (name, cell(va), cell(vb),
                                               ratio(va, vb, lower) if both else "-"))
    out.append("| TLS adds per idle connection: KiB RSS (smtps / STARTTLS) |"
               " %s | %s | |" % (_tls_adds(a), _tls_adds(b)))
    return out + _tls_skips(a, b)
