# stats.py - bench/run.sh's helpers; run by /usr/bin/python3
#
#   stats.py time CMD [ARG ...]     run CMD, its output to /dev/null;
#                                   print "wall=S cpu=S" (CPU: user+sys
#                                   of CMD, by getrusage)
#   stats.py sample PGID [PID ...]  every live process in process group
#                                   PGID, and each PID:
#                                   "pid,comm,cpu_ns,hwm_kb,pss_kb;"...
#   stats.py perstat N FILE ...     perf stat --per-thread -x , files:
#                                   counts per message, by process
#   stats.py report DATA META OUT   the tables from run.sh's DATA lines
#                                   and META lines, in Markdown, to OUT
#                                   and stdout
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


def proc(pid):
    """A process's on-CPU time in ns (schedstat: user+sys, exact; else
    proc(5)'s clock ticks), peak and proportional RSS in KiB."""
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
    try:
        with open("/proc/%s/schedstat" % pid) as f:
            ns = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    pss = 0
    try:
        with open("/proc/%s/smaps_rollup" % pid) as f:
            m = re.search(r"^Pss:\s+(\d+)", f.read(), re.M)
            pss = int(m.group(1)) if m else 0
    except OSError:
        pass
    return {"pid": pid, "comm": comm, "pgrp": int(rest[2]), "ns": ns,
            "hwm": int(hwm.group(1)) if hwm else 0, "pss": pss}


def cmd_sample(argv):
    pgid, extra = int(argv[0]), argv[1:]
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        p = proc(pid)
        if p and (p["pgrp"] == pgid or pid in extra) and p["hwm"]:
            out.append("%s,%s,%d,%d,%d" % (
                pid, p["comm"].replace(" ", "_").replace(",", "_"),
                p["ns"], p["hwm"], p["pss"]))
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


def parse_sample(s):
    d = {}
    for it in filter(None, s.split(";")):
        pid, comm, ns, hwm, pss = it.split(",")
        d[pid] = (comm, int(ns), int(hwm), int(pss))
    return d


def role(comm):
    if comm in STAGES or comm.startswith("strophe") or comm == "python3":
        return "bot"
    if comm.startswith("stunnel"):
        return "stunnel"
    if comm == "prosody" or comm == "lua5.4" or comm.startswith("lua"):
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


def echo_row(r, server_pid):
    """Per-run derived figures of one echo run."""
    idle = parse_sample(r.get("idle", ""))
    busy = parse_sample(r.get("busy", ""))
    n = max(int(r["echoed"]), 1)
    out = {k: float(r[k]) for k in ("rate", "p50_ms", "p99_ms")}
    out["lost"] = int(r["lost"]) + int(r.get("bad", 0))
    if "online" in r and "launch" in r:
        out["login_ms"] = (float(r["online"]) - float(r["launch"])) * 1e3
    for k in ("cpu_all", "cpu_stages", "cpu_server", "pss_all"):
        out[k] = 0
    for when, smp in (("idle", idle), ("busy", busy)):
        for k in ("all", "nosh", "stages"):
            out["%s_%s" % (when, k)] = 0
        for pid, (comm, ns, hwm, pss) in smp.items():
            ro = "server" if pid == server_pid else role(comm)
            if ro == "server":
                if when == "busy":
                    out["cpu_server"] += ns - idle.get(pid, (0, 0))[1]
                continue
            out[when + "_all"] += hwm / 1024
            if ro != "launcher":
                out[when + "_nosh"] += hwm / 1024
            if ro == "bot":
                out[when + "_stages"] += hwm / 1024
            if when == "busy":
                d = ns - idle.get(pid, (0, 0))[1]
                out["cpu_all"] += d
                out["pss_all"] += pss / 1024
                if ro == "bot":
                    out["cpu_stages"] += d
    for k in ("cpu_all", "cpu_stages", "cpu_server"):
        out[k] = out[k] / 1e3 / n
    return out


BOTS = (("self", "Prosody alone (loader to itself)"),
        ("echobot", "echobot: 3 stages + sh"),
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


def echo_tables(er, mode, w):
    w("## 2-5. Echo, %s\n" % ("plain TCP" if mode == "plain" else
                              "TLS: the bots use STARTTLS, the loader "
                              "stays in clear text"))
    w("| bot | echoes/s | p50 ms | p99 ms | lost | login ms |")
    w("|---|---|---|---|---|---|")
    res = {}
    for bot, label in BOTS:
        rs = [r for r in er if r["bot"] == bot]
        if not rs:
            continue
        d = [echo_row(r, r.get("server_pid")) for r in rs]
        res[bot] = d

        def g(k, nd=1):
            return fmt(med([x.get(k) for x in d]), nd)
        w("| %s | %s | %s | %s | %d | %s |" % (
            label, g("rate", 0), g("p50_ms", 2), g("p99_ms", 2),
            sum(x["lost"] for x in d),
            "-" if bot == "self" else g("login_ms", 0)))
    w("")
    w("| bot | CPU us/msg, all processes | of which the stages "
      "| Prosody us/msg | peak RSS MiB idle: all / w/o sh / stages "
      "| peak RSS MiB load: all / w/o sh / stages | PSS MiB load, all |")
    w("|---|---|---|---|---|---|---|")
    for bot, label in BOTS:
        if bot not in res:
            continue
        d = res[bot]

        def g(k, nd=1):
            return fmt(med([x.get(k) for x in d]), nd)
        if bot == "self":
            w("| %s | - | - | %s | - | - | - |" % (label, g("cpu_server")))
            continue
        w("| %s | %s | %s | %s | %s / %s / %s | %s / %s / %s | %s |" % (
            label, g("cpu_all", 2), g("cpu_stages", 2), g("cpu_server"),
            g("idle_all", 2), g("idle_nosh", 2), g("idle_stages", 2),
            g("busy_all", 2), g("busy_nosh", 2), g("busy_stages", 2),
            g("pss_all", 2)))
    w("")
    # Our processes by name, summed within a run (the launcher is
    # several sh processes), medians over the runs.
    per = {}
    for r in (r for r in er if r["bot"] == "echobot"):
        idle, busy = parse_sample(r["idle"]), parse_sample(r["busy"])
        n = max(int(r["echoed"]), 1)
        run = {}
        for p, (c, ns, h, pss) in busy.items():
            if p == r.get("server_pid"):
                continue
            d = run.setdefault(c, [0, 0.0, 0.0, 0.0])
            d[0] += 1
            d[1] += (ns - idle.get(p, (c, 0))[1]) / 1e3 / n
            d[2] += h / 1024
            d[3] += pss / 1024
        for c, d in run.items():
            per.setdefault(c, []).append(d)
    if per:
        w("Our processes by name (medians over the runs): " + "; ".join(
            "%s%s %.2f us/msg, peak RSS %.2f MiB, PSS %.2f MiB" % (
                c, " x%d" % ds[0][0] if ds[0][0] > 1 else "",
                statistics.median(d[1] for d in ds),
                statistics.median(d[2] for d in ds),
                statistics.median(d[3] for d in ds))
            for c, ds in sorted(per.items())) + ".\n")
    return res


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
    res = {}
    for mode in ("plain", "tls"):
        er = [r for r in rows if r.get("fig") == "echo" and
              r.get("mode") == mode]
        if er:
            res[mode] = echo_tables(er, mode, w)
    w("## Goals\n")
    if "xmpp-parse" in speeds and "expat-bare" in speeds:
        for what, sp in (("wall clock", speeds), ("CPU time", cspeeds)):
            rel = (statistics.median(sp["xmpp-parse"]) /
                   statistics.median(sp["expat-bare"]))
            w("- parser at least 60%% of bare expat, by %s: %.0f%%, %s" % (
                what, 100 * rel, "met" if rel >= 0.6 else "NOT met"))
    for mode, rr in res.items():
        if "echobot" not in rr or "strophe" not in rr:
            continue
        us = statistics.median(x["cpu_all"] for x in rr["echobot"])
        them = statistics.median(x["cpu_all"] for x in rr["strophe"])
        w("- %s: CPU per message at most libstrophe's: %.2f vs %.2f us, "
          "%s" % (mode, us, them, "met" if us <= them else "NOT met"))
        us = statistics.median(x["busy_stages"] for x in rr["echobot"])
        them = statistics.median(x["busy_all"] for x in rr["strophe"])
        w("- %s: peak RSS of the 3 stages at most libstrophe's process: "
          "%.2f vs %.2f MiB, %s" % (mode, us, them,
                                    "met" if us <= them else "NOT met"))
    w("")
    text = "\n".join(out) + "\n"
    with open(argv[2], "w") as f:
        f.write(text)
    sys.stdout.write(text)


cmd = sys.argv[1]
{"time": cmd_time, "sample": cmd_sample, "perstat": cmd_perstat,
 "report": cmd_report}[cmd](
    sys.argv[2:])
