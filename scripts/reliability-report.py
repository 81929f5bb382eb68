#!/usr/bin/env python3
"""Turns the fault suite's measurements (JSON lines, one per scenario run) into the tables of docs/RELIABILITY.md.

usage: scripts/reliability-report.py [TestResults/fault-report.jsonl]
"""
import json
import math
import sys
from collections import OrderedDict


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))]


def seconds(ms):
    return "-" if ms is None else f"{ms / 1000:.2f} s"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "TestResults/fault-report.jsonl"
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    faults, memory = OrderedDict(), []
    for r in rows:
        if r["fault"].startswith("retention soak"):
            memory.append(r)
            continue
        f = faults.setdefault((r["fault"], r["mode"]), {"runs": 0, "injected": 0, "accepted": 0, "lost": 0, "dup": 0,
                                                       "raw": 0, "commits": 0, "re": 0, "rec": [], "extra": []})
        f["runs"] += 1
        f["injected"] += r["injected"]
        f["accepted"] += r["jobsAccepted"]
        f["lost"] += r["jobsLost"]
        f["dup"] += r["duplicateCommits"]
        f["raw"] += r["rawExecutions"]
        f["commits"] += r["commits"]
        f["re"] += r["reExecutions"]
        f["rec"] += r["recoveryMs"]
        if r.get("extra"):
            f["extra"].append(r["extra"])

    print("| fault | mode | times injected | jobs accepted | jobs lost | duplicate commits | raw executions / commits | raw re-executions | time to recover p50 / p99 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (fault, mode), f in faults.items():
        print(f"| {fault} | {mode} | {f['injected']} | {f['accepted']} | {f['lost']} | {f['dup']} | {f['raw']} / {f['commits']} | "
              f"{f['re']} | {seconds(percentile(f['rec'], 0.5))} / {seconds(percentile(f['rec'], 0.99))} |")
    extras = [(fault, mode, e) for (fault, mode), f in faults.items() for e in f["extra"]]
    if extras:
        print()
        for fault, mode, e in extras:
            print(f"- {fault} ({mode}): " + ", ".join(f"{k} = {v}" for k, v in e.items()))
    if memory:
        mib = lambda b: f"{b / 1048576:.1f} MiB"
        print()
        print("| jobs | mode | Redis used_memory baseline / peak / after | worker RSS baseline / peak / after | keys when the last job ended | until no key left |")
        print("|---:|---|---|---|---:|---:|")
        for r in memory:
            e = r["extra"]
            print(f"| {e['jobs']:,} | {r['mode']} | {mib(e['redisBaselineBytes'])} / {mib(e['redisPeakBytes'])} / {mib(e['redisAfterBytes'])} | "
                  f"{mib(e['workerRssBaselineBytes'])} / {mib(e['workerRssPeakBytes'])} / {mib(e['workerRssAfterBytes'])} | "
                  f"{e['keysAtEnd']:,} | {e['secondsUntilNoKeys']} s |")


if __name__ == "__main__":
    main()
