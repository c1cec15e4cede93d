# stats.py - bench/run.sh's helpers; run by /usr/bin/python3
#
#   stats.py time CMD [ARG ...]     run CMD, its output to /dev/null;
#                                   print "wall=S cpu=S" (CPU: user+sys
#                                   of CMD, by getrusage)
#   stats.py sample PGID [PID ...]  every live process in process group
#                                   PGID or under process PGID, and each
#                                   PID: "pid,comm,cpu_ns,hwm_kb,pss_kb,
#                                   ctxsw,ppid;"...
#   stats.py perstat N FILE ...     perf stat --per-thread -x , files:
#                                   counts per message, by process
#   stats.py report DATA META OUT [BEFORE]
#                                   the tables from run.sh's DATA lines
#                                   and META lines, in Markdown, to OUT
#                                   and stdout; with the DATA file of
#                                   an earlier run (its META next to it,
#                                   .meta for .dat), a section comparing
#                                   the two
import os
import re
import resource
import statistics
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def cmd_time(argv):
    t = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    st = subprocess.call(argv, stdout=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic() - t
    cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    print("wall=%.4f cpu=%.4f" % (wall, cpu))
    sys.exit(st)


def threads(pid):
    """A process's on-CPU ns (schedstat) and context switches, summed over
    its threads: /proc/PID/schedstat and status count the main thread
    alone, and stunnel runs a thread per connection."""
    ns = sw = 0
    try:
        tids = os.listdir("/proc/%s/task" % pid)
    except OSError:
        return None, 0
    for tid in tids:
        try:
            with open("/proc/%s/task/%s/schedstat" % (pid, tid)) as f:
                ns += int(f.read().split()[0])
            with open("/proc/%s/task/%s/status" % (pid, tid)) as f:
                for m in re.finditer(r"^\w*ctxt_switches:\s+(\d+)", f.read(),
                                     re.M):
                    sw += int(m.group(1))
        except (OSError, ValueError, IndexError):
            pass
    return ns, sw


def proc(pid):
    """A process's on-CPU time in ns (schedstat: user+sys, exact; else
    proc(5)'s clock ticks), peak and proportional RSS in KiB, context
    switches."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            s = f.read()
        with open("/proc/%s/status" % pid) as f:
            hwm = re.search(r"^VmHWM:\s+(\d+)", f.read(), re.M)
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    # fields 3.. of proc(5): pgrp is rest[2], utime rest[11], stime rest[12]
    ns = (int(rest[11]) + int(rest[12])) * 10**9 // TICK
    tns, sw = threads(pid)
    if tns:
        ns = tns
    pss = 0
    try:
        with open("/proc/%s/smaps_rollup" % pid) as f:
            m = re.search(r"^Pss:\s+(\d+)", f.read(), re.M)
            pss = int(m.group(1)) if m else 0
    except OSError:
        pass
    return {"pid": pid, "comm": comm, "ppid": int(rest[1]),
            "pgrp": int(rest[2]), "ns": ns, "sw": sw,
            "hwm": int(hwm.group(1)) if hwm else 0, "pss": pss}


def cmd_sample(argv):
    """The bot's processes: its process group, and every descendant of
    its first process, which may have left the group (the launcher's
    ticker runs under setsid)."""
    pgid, extra = int(argv[0]), argv[1:]
    ps = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            p = proc(pid)
            if p and p["hwm"]:
                ps[int(pid)] = p
    mine = {pid for pid, p in ps.items() if p["pgrp"] == pgid}
    if pgid in ps:
        mine.add(pgid)
    grew = True
    while grew:
        more = {pid for pid, p in ps.items() if p["ppid"] in mine} - mine
        grew = bool(more)
        mine |= more
    mine |= {int(x) for x in extra if int(x) in ps}
    out = []
    for pid in sorted(mine):
        p = ps[pid]
        out.append("%d,%s,%d,%d,%d,%d,%d" % (
            pid, p["comm"].replace(" ", "_").replace(",", "_"),
            p["ns"], p["hwm"], p["pss"], p["sw"], p["ppid"]))
    print(";".join(out))


def cmd_perstat(argv):
    n = int(argv[0])
    for path in argv[1:]:
        bot = path.rsplit(".", 1)[1]
        per, tot = {}, {}
        for line in open(path):
            f = line.split(",")
            if len(f) < 4 or line.startswith("#"):
                continue
            comm = f[0].rsplit("-", 1)[0]
            try:
                v = int(f[1])
            except ValueError:
                v = 0
            ev = "syscalls" if "sys_enter" in f[3] else "switches"
            per.setdefault(comm, {}).setdefault(ev, 0)
            per[comm][ev] += v
            tot[ev] = tot.get(ev, 0) + v
        print("%-8s total: %.1f syscalls, %.1f context switches / message" %
              (bot, tot.get("syscalls", 0) / n, tot.get("switches", 0) / n))
        for comm, d in sorted(per.items()):
            print("%-8s   %-14s %6.1f syscalls, %5.1f switches" % (
                "", comm, d.get("syscalls", 0) / n, d.get("switches", 0) / n))


# --- report -------------------------------------------------------------

STAGES = ("xmpp-connect", "xmpp-parse", "xmpp-echo")
MODES = (("plain", "clear text"),
         ("direct", "direct TLS (XEP-0368): the bots connect to Prosody's "
          "direct TLS port, the loader stays in clear text"),
         ("starttls", "STARTTLS: the bots use STARTTLS, the loader stays "
          "in clear text"),
         ("tls", "TLS (STARTTLS), an older run"))
# The goals (13): ours / libstrophe's, at most
GOALS = {"plain": {"cpu": 0.8, "pss": 1.0, "rss": 1.3},
         "tls": {"cpu": 1.1, "pss": 1.5, "rss": 2.0}}
LATGOAL = 1.0
METRICS = (("cpu", "CPU per message"), ("pss", "summed PSS"),
           ("rss", "summed peak RSS"), ("sw", "context switches per message"),
           ("lat50", "latency p50, 1 in flight"),
           ("lat99", "latency p99, 1 in flight"),
           ("rate", "echoes/s, 50 in flight (higher is better)"))


def parse_sample(s):
    """pid -> (comm, ns, hwm, pss, ctxsw); older samples lack ctxsw."""
    d = {}
    for it in filter(None, s.split(";")):
        f = it.split(",")
        d[f[0]] = (f[1], int(f[2]), int(f[3]), int(f[4]),
                   int(f[5]) if len(f) > 5 else 0)
    return d


def role(comm):
    if comm in STAGES:
        return "stage"
    if comm.startswith("strophe") or comm == "python3":
        return "bot"
    if comm.startswith("stunnel"):
        return "stunnel"
    if comm == "prosody" or comm.startswith("lua"):
        return "server"
    return "launcher"


def med(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return statistics.median(xs), min(xs), max(xs)


def fmt(t, nd=1, unit=""):
    if t is None:
        return "n/a"
    m, lo, hi = t
    f = "%%.%df" % nd
    if lo == hi:
        return (f % m) + unit
    return (f % m) + unit + " (" + (f % lo) + "-" + (f % hi) + ")"


def load_data(path):
    rows = []
    for line in open(path):
        d = dict(kv.split("=", 1) for kv in line.split())
        rows.append(d)
    return rows


def echo_row(r):
    """Per-run derived figures of one echo run."""
    server_pid = r.get("server_pid")
    idle = parse_sample(r.get("idle", ""))
    busy = parse_sample(r.get("busy", ""))
    n = max(int(r["echoed"]), 1)
    out = {k: float(r[k]) for k in ("rate", "p50_ms", "p99_ms")}
    for k in ("lat1_p50", "lat1_p99"):
        out[k] = float(r[k]) if k in r else None
    out["lost"] = int(r["lost"]) + int(r.get("bad", 0))
    out["tls"] = r.get("tls", "yes")
    if "online" in r and "launch" in r:
        out["login_ms"] = (float(r["online"]) - float(r["launch"])) * 1e3
    for k in ("cpu_sampled", "cpu_stages", "cpu_server", "pss_all", "sw"):
        out[k] = 0
    out["procs"] = {}
    for when, smp in (("idle", idle), ("busy", busy)):
        for k in ("all", "nosh", "stages"):
            out["%s_%s" % (when, k)] = 0
        for pid, (comm, ns, hwm, pss, sw) in smp.items():
            ro = "server" if pid == server_pid else role(comm)
            if ro == "server":
                if when == "busy":
                    out["cpu_server"] += ns - idle.get(pid, (0, 0))[1]
                continue
            out[when + "_all"] += hwm / 1024
            if ro != "launcher":
                out[when + "_nosh"] += hwm / 1024
            if ro in ("stage", "bot"):
                out[when + "_stages"] += hwm / 1024
            if when == "busy":
                i = idle.get(pid, (0, 0, 0, 0, 0))
                d, dsw = ns - i[1], sw - i[4]
                out["cpu_sampled"] += d
                out["sw"] += dsw
                out["pss_all"] += pss / 1024
                if ro in ("stage", "bot"):
                    out["cpu_stages"] += d
                p = out["procs"].setdefault(comm, [0, 0.0, 0.0, 0.0, 0.0])
                p[0] += 1
                p[1] += d / 1e3 / n
                p[2] += hwm / 1024
                p[3] += pss / 1024
                p[4] += dsw / n
    for k in ("cpu_sampled", "cpu_stages", "cpu_server"):
        out[k] = out[k] / 1e3 / n
    out["sw"] /= n
    # the cgroup counts what the samples miss: processes gone before the
    # second one
    cg = int(r.get("cg1", 0)) - int(r.get("cg0", 0))
    out["cpu_all"] = cg / 1e3 / n if cg > 0 else out["cpu_sampled"]
    out["cpu_exited"] = (out["cpu_all"] - out["cpu_sampled"]
                         if cg > 0 else None)
    return out


BOTS = (("self", "Prosody alone (loader to itself)"),
        ("echobot", "echobot (echobot.sh)"),
        ("strophe", "libstrophe bot"),
        ("slixmpp", "slixmpp bot"))


def parse_table(pr, w):
    w("## 1. Parser throughput\n")
    w("| program | MB/s (wall) | MB/s (CPU) | vs bare expat: wall / CPU |")
    w("|---|---|---|---|")
    speeds, cspeeds = {}, {}
    for prog in ("expat-bare", "xmpp-parse"):
        rs = [r for r in pr if r["prog"] == prog]
        if not rs:
            continue
        mb = int(rs[0]["bytes"]) / 1e6
        speeds[prog] = [mb / float(r["wall"]) for r in rs]
        cspeeds[prog] = [mb / float(r["cpu"]) for r in rs
                         if float(r["cpu"]) > 0]
        rel = "100%"
        if prog != "expat-bare" and "expat-bare" in speeds:
            rel = "%.0f%% / %.0f%%" % (
                100 * statistics.median(speeds[prog]) /
                statistics.median(speeds["expat-bare"]),
                100 * statistics.median(cspeeds[prog]) /
                statistics.median(cspeeds["expat-bare"]))
        w("| %s | %s | %s | %s |" % (prog, fmt(med(speeds[prog])),
                                     fmt(med(cspeeds[prog])), rel))
    w("\nThe same %d MB generated stream (bench/gen-stream.py), %d runs "
      "each, median (min-max); xmpp-parse writes its records to "
      "/dev/null.  CPU: user+sys by getrusage.\n" % (
          round(int(pr[0]["bytes"]) / 1e6), len(pr) // 2))
    return speeds, cspeeds


def echo_tables(er, mode, label, w):
    w("## 2-5. Echo, %s\n" % label)
    w("| bot | echoes/s, 50 in flight | p50 / p99 ms, 50 in flight "
      "| p50 / p99 ms, 1 in flight | lost | login ms |")
    w("|---|---|---|---|---|---|")
    res = {}
    for bot, name in BOTS:
        rs = [r for r in er if r["bot"] == bot]
        if not rs:
            continue
        d = [echo_row(r) for r in rs]
        res[bot] = (rs, d)

        def g(k, nd=1):
            return fmt(med([x.get(k) for x in d]), nd)
        w("| %s | %s | %s / %s | %s / %s | %d | %s |" % (
            name, g("rate", 0), g("p50_ms", 2), g("p99_ms", 2),
            g("lat1_p50", 3), g("lat1_p99", 3), sum(x["lost"] for x in d),
            "-" if bot == "self" else g("login_ms", 0)))
    w("")
    w("| bot | CPU us/msg, all | of which live processes sampled "
      "| Prosody us/msg | context switches/msg "
      "| peak RSS MiB idle: all / w/o launcher / bot | peak RSS MiB "
      "load: all / w/o launcher / bot | PSS MiB load, all |")
    w("|---|---|---|---|---|---|---|---|")
    for bot, name in BOTS:
        if bot not in res:
            continue
        d = res[bot][1]

        def g(k, nd=1):
            return fmt(med([x.get(k) for x in d]), nd)
        if bot == "self":
            w("| %s | - | - | %s | - | - | - | - |" % (
                name, g("cpu_server")))
            continue
        w("| %s | %s | %s | %s | %s | %s / %s / %s | %s / %s / %s | %s |" %
          (name, g("cpu_all", 2), g("cpu_sampled", 2), g("cpu_server"),
           g("sw", 2), g("idle_all", 2), g("idle_nosh", 2),
           g("idle_stages", 2), g("busy_all", 2), g("busy_nosh", 2),
           g("busy_stages", 2), g("pss_all", 2)))
    w("")
    notls = ["%s run %s" % (r["bot"], r["rep"])
             for bot in res for r, x in zip(*res[bot]) if x["tls"] != "yes"]
    if mode != "plain":
        w("TLS checked in every run (ours: a stunnel among its processes; "
          "libstrophe's: xmpp_conn_is_secured() after login): %s.\n" % (
              "yes" if not notls else "NOT in " + ", ".join(notls)))
    if "echobot" in res:
        proc_table(res["echobot"][1], w)
    w("1-minute load average at each run's start (run: %s): %s.\n" % (
        " / ".join(b for b, _ in BOTS if b in res),
        "; ".join("%s: %s" % (rep, " / ".join(
            r.get("loadavg", "?") for b, _ in BOTS if b in res
            for r in res[b][0] if r["rep"] == rep))
            for rep in sorted({r["rep"] for r in er}, key=int))))
    return {b: v[1] for b, v in res.items()}


def proc_table(d, w):
    """Our processes by name, summed within a run (several sh), medians
    over the runs."""
    per = {}
    for x in d:
        for c, p in x["procs"].items():
            per.setdefault(c, []).append(p)
    tot = statistics.median(x["cpu_all"] for x in d)
    w("Where our cost goes, by process (medians over the runs; a "
      "name seen more than once per run is summed):\n")
    w("| process | role | CPU us/msg | share of CPU | context switches/msg "
      "| peak RSS MiB | PSS MiB |")
    w("|---|---|---|---|---|---|---|")
    rows = []
    for c, ps in per.items():
        us = statistics.median(p[1] for p in ps)
        rows.append((us, c, ps))
    for us, c, ps in sorted(rows, reverse=True):
        k = max(p[0] for p in ps)
        w("| %s%s | %s | %.2f | %.0f%% | %.2f | %.2f | %.2f |" % (
            c, " x%d" % k if k > 1 else "", role(c), us,
            100 * us / tot if tot else 0,
            statistics.median(p[4] for p in ps),
            statistics.median(p[2] for p in ps),
            statistics.median(p[3] for p in ps)))
    ex = [x["cpu_exited"] for x in d if x["cpu_exited"] is not None]
    if ex:
        e = statistics.median(ex)
        w("| exited during the load (cgroup minus the above) | - | %.2f "
          "| %.0f%% | - | - | - |" % (e, 100 * e / tot if tot else 0))
    w("")


def ratios(res):
    """ours / libstrophe's, per metric, paired by run number."""
    us = {r: x for r, x in zip(res["echobot_reps"], res["echobot"])}
    them = {r: x for r, x in zip(res["strophe_reps"], res["strophe"])}
    keys = {"cpu": "cpu_all", "pss": "pss_all", "rss": "busy_all",
            "sw": "sw", "lat50": "lat1_p50", "lat99": "lat1_p99",
            "rate": "rate"}
    out = {}
    for m, k in keys.items():
        rs = []
        for rep in us:
            if rep in them and us[rep].get(k) is not None and \
                    them[rep].get(k):
                rs.append(us[rep][k] / them[rep][k])
        out[m] = med(rs)
    return out


def goal_of(mode, m):
    if m in ("lat50", "lat99"):
        return LATGOAL
    return GOALS["plain" if mode == "plain" else "tls"].get(m)


def goals(res, w):
    w("## Goals of issue 13: ours / libstrophe's, in the same runs\n")
    w("Each ratio is taken within one run number (our bot and libstrophe's "
      "run one after the other against the same Prosody, each first "
      "in every other run), then the "
      "median (min-max) over the runs.  CPU counts every process of the "
      "bot (launcher, stages, stunnel, processes that exited).  Summed "
      "peak RSS and PSS: every process of the bot after the load.  PSS "
      "splits a library's pages among every process on the machine that "
      "maps them, other people's too (a test's stunnel shares libssl "
      "with ours and with libstrophe's), so it moves with what else "
      "runs; peak RSS does not.\n")
    w("| mode | " + " | ".join(n for _, n in METRICS) + " |")
    w("|---|" + "---|" * len(METRICS))
    verdicts = {}
    for mode, rr in res.items():
        if "echobot" not in rr or "strophe" not in rr:
            continue
        q = ratios(rr)
        cells = []
        for m, _ in METRICS:
            t, g = q[m], goal_of(mode, m)
            c = fmt(t, 2, "x")
            if g is not None and t is not None:
                ok = t[0] <= g
                verdicts[(mode, m)] = (ok, t, g)
                c += ", goal <= %.1fx: %s" % (g, "met" if ok else "NOT met")
                if t[1] <= g <= t[2]:
                    c += " (within the spread)"
            cells.append(c)
        w("| %s | %s |" % (mode, " | ".join(cells)))
    w("")
    return verdicts


def where(res, verdicts, w):
    """For each CPU or memory goal not met: the budget and who spends."""
    lines = []
    for (mode, m), (ok, t, g) in sorted(verdicts.items()):
        if ok or m not in ("cpu", "pss", "rss"):
            continue
        d, s = res[mode]["echobot"], res[mode]["strophe"]
        k, i, unit = {"cpu": ("cpu_all", 1, "us"), "pss": ("pss_all", 3, "MiB"),
                      "rss": ("busy_all", 2, "MiB")}[m]
        ours = statistics.median(x[k] for x in d)
        theirs = statistics.median(x[k] for x in s)
        per = {}
        for x in d:
            for c, p in x["procs"].items():
                per.setdefault(c, []).append(p[i])
        if m == "cpu":
            ex = [x["cpu_exited"] for x in d if x["cpu_exited"] is not None]
            if ex:
                per["(exited)"] = ex
        top = sorted(((statistics.median(v), c) for c, v in per.items()),
                     reverse=True)
        lines.append("- %s, %s: ratio %.2fx against %.1fx; medians ours "
                     "%.2f %s, libstrophe's %.2f %s (%.1fx that: %.2f %s); "
                     "ours by process: %s" % (
                         mode, dict(METRICS)[m], t[0], g, ours, unit,
                         theirs, unit, g, g * theirs, unit, ", ".join(
                             "%s %.2f" % (c, v) for v, c in top if v >= 0.005)))
    if lines:
        w("Where the cost goes where a goal is not met (the ratio is the "
          "median of the runs' ratios, as above; the medians of each bot "
          "alone can differ from it when the runs spread; by process, "
          "roles in the tables above):\n")
        for l in lines:
            w(l)
        w("")


def mode_results(rows, w):
    """Per mode, per bot, the per-run figures (tables through w)."""
    res = {}
    for mode, label in MODES:
        er = [r for r in rows if r.get("fig") == "echo" and
              r.get("mode") == mode]
        if er:
            res[mode] = echo_tables(er, mode, label, w)
            for b in ("echobot", "strophe"):
                res[mode][b + "_reps"] = [r["rep"] for r in er
                                          if r["bot"] == b]
    return res


def before(path, now, w):
    """The goals' ratios and our own figures of an earlier run next to
    this one's."""
    meta = re.sub(r"\.dat$", "", path) + ".meta"
    then = mode_results(load_data(path), lambda x: None)
    w("## Before and after\n")
    w("Our bot's figures and their ratios to libstrophe's (each taken "
      "within its own run, as above), medians (min-max), in an earlier "
      "`make bench` and in this one.  The earlier one:\n")
    try:
        for line in open(meta):
            if line.split(":")[0] in ("date", "source", "load",
                                      "load average before"):
                w("- " + line.rstrip("\n"))
    except OSError:
        pass
    w("")
    w("| mode | figure | before: ours | before: ratio | now: ours "
      "| now: ratio |")
    w("|---|---|---|---|---|---|")
    keys = (("cpu", "cpu_all", "us"), ("pss", "pss_all", "MiB"),
            ("rss", "busy_all", "MiB"), ("sw", "sw", ""),
            ("lat50", "lat1_p50", "ms"), ("lat99", "lat1_p99", "ms"),
            ("rate", "rate", "/s"))
    for mode, _ in MODES:
        if mode not in then or mode not in now:
            continue
        a, b = then[mode], now[mode]
        if not all("echobot" in x and "strophe" in x for x in (a, b)):
            continue
        qa, qb = ratios(a), ratios(b)
        for m, k, unit in keys:
            def ours(x):
                t = med([y.get(k) for y in x["echobot"]])
                return fmt(t, 0 if m == "rate" else 2, " " + unit
                           if unit else "")
            w("| %s | %s | %s | %s | %s | %s |" % (
                mode, dict(METRICS)[m], ours(a), fmt(qa[m], 2, "x"),
                ours(b), fmt(qb[m], 2, "x")))
    w("")


def cmd_report(argv):
    rows = load_data(argv[0])
    out = []
    w = out.append
    w("# echobot benchmarks\n")
    w("`make bench` on this machine (bench/README.md says what each "
      "figure is).\n")
    for line in open(argv[1]):
        w("- " + line.rstrip("\n"))
    er = [r for r in rows if r.get("fig") == "echo"]
    busy = [r for r in er if int(r.get("others", 0)) > 0]
    la = [float(r["loadavg"]) for r in er if "loadavg" in r]
    if er and la:
        w("- concurrent load: other people's tests, fuzzers or builds were "
          "running at the start of %d of the %d echo runs; 1-minute load "
          "average at their starts %.2f-%.2f" % (
              len(busy), len(er), min(la), max(la)))
    w("")
    pr = [r for r in rows if r.get("fig") == "parse"]
    speeds, cspeeds = parse_table(pr, w) if pr else ({}, {})
    res = mode_results(rows, w)
    if "xmpp-parse" in speeds and "expat-bare" in speeds:
        w("## Parser goal\n")
        for what, sp in (("wall clock", speeds), ("CPU time", cspeeds)):
            rel = (statistics.median(sp["xmpp-parse"]) /
                   statistics.median(sp["expat-bare"]))
            w("- parser at least 60%% of bare expat, by %s: %.0f%%, %s" % (
                what, 100 * rel, "met" if rel >= 0.6 else "NOT met"))
        w("")
    verdicts = goals(res, w)
    where(res, verdicts, w)
    if len(argv) > 3 and argv[3]:
        before(argv[3], res, w)
    text = "\n".join(out) + "\n"
    with open(argv[2], "w") as f:
        f.write(text)
    sys.stdout.write(text)


cmd = sys.argv[1]
{"time": cmd_time, "sample": cmd_sample, "perstat": cmd_perstat,
 "report": cmd_report}[cmd](
    sys.argv[2:])
