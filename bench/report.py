"""Render bench.run's JSON as the Markdown tables of docs/benchmarks.md.

python -m bench.report bench/results/run.json                 # print the tables
python -m bench.report bench/results/run.json --docs docs/benchmarks.md   # replace them there
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- results: begin (python -m bench.report) -->", "<!-- results: end -->"
TARGETS: tuple[tuple[str, str, Callable[[float], bool]], ...] = (
    ("loaddata_over_restore", ">= 30", lambda v: v >= 30),
    ("restore_over_raw", "<= 3", lambda v: v <= 3),
    ("rollback_over_restore", "< 0.10", lambda v: v < 0.10),
    ("replay_over_apply", "<= 1.5", lambda v: v <= 1.5),
)


def _s(part: dict[str, Any] | None, key: str = "seconds") -> str:
    return "-" if not part else f"{part[key]:.2f}"


def _mark(value: float | None, ok: bool | None) -> str:
    return "-" if value is None else f"{value:g} {'✓' if ok else '✗'}"


def render(everything: dict[str, Any]) -> str:
    report = everything | {"results": [r for r in everything["results"] if "failed" not in r]}
    m = report["machine"]
    lines = [
        f"Run {report['started']}, commit {m['commit']}: `{report['command']}`",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; Python {m['python']}, "
        f"SQLite {m['sqlite']}, PostgreSQL {m.get('postgresql', '-')}, Django {m['django']}, "
        f"SQLAlchemy {m['sqlalchemy']}, psycopg {m['psycopg']}, eventsourcing {m['eventsourcing']}, "
        f"restore-ledger {m['restore_ledger']}.",
        "",
        "Seconds (wall, each a child process) and peak RSS (MiB):",
        "",
        "| backend | objects | MB | restore | plan | apply | RSS | re-init restore | apply | replay | rollback "
        "| raw insert (median of 3) | loaddata | loaddata RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        plain, reinit, raw = r["restore"], r["restore_reinitialised"], r["raw_insert"]
        lines.append(
            f"| {r['backend']} | {r['objects']:,} | {r['backup_bytes'] / 1e6:.0f} | {plain['seconds']:.2f} "
            f"| {plain['plan_s']:.2f} | {plain['apply_s']:.2f} | {plain['peak_rss_mib']:.0f} | {reinit['seconds']:.2f} "
            f"| {reinit['apply_s']:.2f} | {_s(r['replay'])} | {_s(r['rollback'])} "
            f"| {raw['median_s']:.2f} {raw['method']} ({', '.join(f'{s:.2f}' for s in raw['runs_s'])}) "
            f"| {_s(r.get('loaddata'))} | {r['loaddata']['peak_rss_mib']:.0f} |"
            if r.get("loaddata")
            else f"| {r['backend']} | {r['objects']:,} | {r['backup_bytes'] / 1e6:.0f} | {plain['seconds']:.2f} "
            f"| {plain['plan_s']:.2f} | {plain['apply_s']:.2f} | {plain['peak_rss_mib']:.0f} | {reinit['seconds']:.2f} "
            f"| {reinit['apply_s']:.2f} | {_s(r['replay'])} | {_s(r['rollback'])} "
            f"| {raw['median_s']:.2f} {raw['method']} ({', '.join(f'{s:.2f}' for s in raw['runs_s'])}) | - | - |"
        )
    lines += [
        "",
        "Against the targets (✓ met, ✗ not met):",
        "",
        "| backend | objects | objects/s | vs 100k | loaddata / restore (>= 30) | restore / raw (<= 3) "
        "| peak RSS < 1 GiB | rollback / restore (< 0.10) | replay / apply (<= 1.5) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rates = {(r["backend"], r["objects"]): r["ratios"]["objects_per_s"] for r in report["results"]}
    for r in report["results"]:
        q = r["ratios"]
        marks = [_mark(q[key], None if q[key] is None else test(q[key])) for key, _label, test in TARGETS]
        marks[1] += f" ({q['restore_in_process_over_raw']:g})"
        marks[2] += f" ({q['rollback_over_restore_in_process']:g})"
        base = rates.get((r["backend"], 100_000))
        versus = "-" if base is None or r["objects"] <= 100_000 else _mark(  # the target is for 1M against 100k
            round(q["objects_per_s"] / base, 2), q["objects_per_s"] >= 0.8 * base
        )  # fmt: skip
        rss = r["restore"]["peak_rss_mib"]
        lines.append(
            f"| {r['backend']} | {r['objects']:,} | {q['objects_per_s']:,} | {versus} | {marks[0]} | {marks[1]} "
            f"| {_mark(rss, rss < 1024)} | {marks[2]} | {marks[3]} |"
        )
    lines += [
        "",
        "In parentheses: the same ratio with the restore's and the rollback's in-process seconds (their own "
        "`seconds`, without the CLI's start-up).",
    ]
    checks = [f"{r['backend']} {r['objects']:,}: {r['check']}" for r in report["results"] if r.get("check")]
    if checks:
        lines += ["", "dumpdata of the plain restore's target against the backup: " + "; ".join(checks) + "."]
    failed = [r for r in everything["results"] if "failed" in r]
    for r in failed:
        lines += ["", f"Failed, {r['backend']} {r['objects']:,}:", "", "```", r["failed"].strip(), "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+", help="JSON written by bench.run, one section each")
    parser.add_argument("--docs", type=Path, help="replace the results between the markers of this file")
    args = parser.parse_args()
    tables = "\n".join(render(json.loads(path.read_text())) for path in args.results)
    if args.docs is None:
        print(tables)
        return
    text = args.docs.read_text()
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    args.docs.write_text(f"{head}{BEGIN}\n{tables}{END}{tail}")


if __name__ == "__main__":
    main()
