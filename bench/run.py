"""Benchmark restore-ledger on generated backups of the example EDMS, per backend and size, in one run.

    python -m bench.run --sizes 10000 100000 1000000 --backends sqlite postgresql

For each backend and size, on one backup written by bench.generate (kept in --work
and reused), each tool a child process whose wall time and peak RSS (``wait4``) are
its own, in this order so that the raw insert's three runs are interleaved:
  1. ``restore`` into a fresh, empty example target (plain);
  2. raw insert #1 of the plain restore's final rows into a fresh target (bench.raw);
  3. ``restore`` into a re-initialised example target (build_target.py --reinitialised);
  4. raw insert #2;
  5. ``replay`` of restore 3 into another fresh re-initialised target;
  6. ``rollback`` of restore 3;
  7. raw insert #3;
  8. Django's ``loaddata`` into a fresh, empty target (sizes up to --loaddata-max).
The ledger lives on the target's backend (a SQLite file; a PostgreSQL database).
Checks before any number counts: every model table holds the generated objects after
each restore and the replay, the many-to-many tables agree across the targets (and
with loaddata's), the rollback leaves exactly the seed, and up to --compare-max
dumpdata of the plain restore's target equals the backup object by object (bench.check).
Prints a table (bench.report) and writes the JSON to --results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.generate import SEED_FILE, Shape
from bench.machine import describe, table_counts
from bench.targets import Targets

BIN = Path(sys.executable).parent
EDMS = Path(__file__).resolve().parent.parent / "examples" / "edms"
TABLES = {"contenttypes.contenttype": "django_content_type"}
LINKS = ("accounts_user_groups", "accounts_user_user_permissions", "auth_group_permissions",
         "documents_document_related", "documents_document_tags")  # fmt: skip


TIMEOUT = [1800.0]  # seconds one child may take (--timeout): a hung child is killed and named


def child(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> dict[str, Any]:
    """Run one child: wall seconds, peak RSS (MiB, ``wait4``) and its stdout; stop on failure or past
    the timeout (a hang: the child is killed, the run stops naming it)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        popen = subprocess.Popen(command, stdout=out, stderr=err, env=env or dict(os.environ), cwd=cwd)
        timer = threading.Timer(TIMEOUT[0], popen.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(popen.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        if seconds >= TIMEOUT[0]:
            raise SystemExit(f"{' '.join(command)} killed after {seconds:.0f}s (--timeout): hung?")
        popen.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if popen.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({popen.returncode}):\n{stdout[-4000:]}\n{stderr[-4000:]}")
    return {"seconds": round(seconds, 3), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "stdout": stdout}


def tool(*args: str) -> list[str]:
    return [str(BIN / "restore-ledger"), *args, "--reason", "benchmark"]


def phases(restore_id: str, ledger: str) -> dict[str, float]:
    """Plan and apply seconds of a restore, from its ledger (``ledger show --json``): plan is
    Started to Recorded, apply is the Applied event's duration (ApplyRequested to Applied)."""
    shown = json.loads(child(tool("ledger", "show", restore_id, "--ledger", ledger, "--json")[:-2])["stdout"])
    at = {step["event"]: datetime.fromisoformat(step["at"]) for step in shown["timeline"]}
    return {"plan_s": round((at["Recorded"] - at["Started"]).total_seconds(), 3), "apply_s": shown["seconds"]}


def expected_tables(shape: Shape) -> dict[str, int]:
    return {TABLES.get(label, label.replace(".", "_")): count for label, count in shape.counts().items()}


def check_tables(found: dict[str, int], expected: dict[str, int], what: str) -> None:
    wrong = {t: (found.get(t), n) for t, n in expected.items() if found.get(t) != n}
    if wrong:
        raise SystemExit(f"{what}: row counts differ from the backup's (found, expected): {wrong}")


def restore(backup: Path, target: str, ledger: str) -> dict[str, Any]:
    run = child(tool("restore", str(backup), "--target", target, "--ledger", ledger, "--quiet", "--json"))
    outcome = json.loads(run.pop("stdout"))
    if outcome["status"] != "applied":
        raise SystemExit(f"restore into {target}: {outcome['status']}")
    return run | {"restore_id": outcome["restore_id"], "rows": outcome["rows_written"],
                  "in_process_s": outcome["seconds"], **phases(outcome["restore_id"], ledger)}  # fmt: skip


def raw(backend: str, restored: str, fresh: str) -> dict[str, Any]:
    run = child([sys.executable, "-m", "bench.raw", backend, restored, fresh])
    result = json.loads(run.pop("stdout"))
    return run | {"insert_s": round(result["seconds"], 3), "rows": result["rows"]}


def measure(backend: str, size: int, args: argparse.Namespace, targets: Targets) -> dict[str, Any]:
    backup = args.work / f"edms-{size}-seed{args.seed}.json"
    shape = Shape(size, args.seed)
    result: dict[str, Any] = {"backend": backend, "objects": size}
    if not backup.exists():
        partial = backup.with_suffix(".partial")
        made = child([sys.executable, "-m", "bench.generate", str(size), str(partial), "--seed", str(args.seed)])
        partial.rename(backup)
        result["generate"] = {k: made[k] for k in ("seconds", "peak_rss_mib")}
    result["backup_bytes"] = backup.stat().st_size
    expected = expected_tables(shape)
    seed_counts = {t["table"]: len(t["rows"]) for t in json.loads(SEED_FILE.read_text())}

    plain = targets.fresh("plain")
    result["restore"] = restore(backup, plain, targets.ledger("plain"))
    counts = table_counts(plain)
    check_tables(counts, expected, "plain restore")
    links = {t: counts.get(t, 0) for t in LINKS}
    raws = [raw(backend, plain, targets.fresh("raw1"))]

    reinit = targets.fresh("reinit", reinitialised=True)
    ledger = targets.ledger("reinit")
    result["restore_reinitialised"] = restore(backup, reinit, ledger)
    check_tables(table_counts(reinit), expected | links, "restore into a re-initialised target")
    raws.append(raw(backend, plain, targets.fresh("raw2")))

    replayed = targets.fresh("replay", reinitialised=True)
    run = child(tool("replay", result["restore_reinitialised"]["restore_id"], "--target", replayed, "--ledger", ledger,
                     "--json"))  # fmt: skip
    result["replay"] = run | {"in_process_s": json.loads(run.pop("stdout"))["seconds"]}
    check_tables(table_counts(replayed), expected | links, "replay")
    run = child(tool("rollback", result["restore_reinitialised"]["restore_id"], "--ledger", ledger, "--json"))
    result["rollback"] = run | {"in_process_s": json.loads(run.pop("stdout"))["seconds"]}
    after = {t: n for t, n in table_counts(reinit).items() if n and not t.startswith(("restore_ledger_", "sqlite_"))}
    if after != {t: n for t, n in seed_counts.items() if n}:
        raise SystemExit(f"rollback left {after}, not the seed {seed_counts}")
    raws.append(raw(backend, plain, targets.fresh("raw3")))
    for each in raws:
        if each["rows"] != result["restore"]["rows"]:
            raise SystemExit(f"raw insert wrote {each['rows']} rows, the restore {result['restore']['rows']}")
    median = statistics.median(r["insert_s"] for r in raws)
    result["raw_insert"] = {"method": "executemany" if backend == "sqlite" else "COPY", "median_s": median,
                            "runs_s": [r["insert_s"] for r in raws],
                            "peak_rss_mib": max(r["peak_rss_mib"] for r in raws)}  # fmt: skip

    if size <= args.loaddata_max:
        django = targets.fresh("loaddata")
        env = {**os.environ, "EDMS_DB": django, "PYTHONWARNINGS": "ignore"}
        run = child([sys.executable, str(EDMS / "manage.py"), "loaddata", str(backup)], env=env, cwd=EDMS)
        result["loaddata"] = {k: run[k] for k in ("seconds", "peak_rss_mib")}
        loaded = table_counts(django)
        check_tables(loaded, expected | links, "loaddata (against the restore's many-to-many links)")
    if size <= args.compare_max:
        result["check"] = check(backup, plain, args.work / f"dumped-{backend}-{size}.json")
    result["ratios"] = ratios(result)
    targets.drop()
    return result


def check(backup: Path, restored: str, dumped: Path) -> str:
    """dumpdata of the plain restore's target equals the backup (bench.check), each in a child."""
    env = {**os.environ, "EDMS_DB": restored, "PYTHONWARNINGS": "ignore"}
    manage = [sys.executable, str(EDMS / "manage.py")]
    child([*manage, "dumpdata", "--natural-foreign", "--natural-primary", "-o", str(dumped)], env=env, cwd=EDMS)
    try:
        return str(child([sys.executable, "-m", "bench.check", str(backup), str(dumped)])["stdout"]).strip()
    finally:
        dumped.unlink(missing_ok=True)


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    restore_s = result["restore"]["seconds"]
    loaddata = result.get("loaddata")
    return {
        "objects_per_s": round(result["objects"] / restore_s),
        "loaddata_over_restore": round(loaddata["seconds"] / restore_s, 1) if loaddata else None,
        "restore_over_raw": round(restore_s / result["raw_insert"]["median_s"], 2),
        "restore_in_process_over_raw": round(result["restore"]["in_process_s"] / result["raw_insert"]["median_s"], 2),
        "rollback_over_restore": round(result["rollback"]["seconds"] / result["restore_reinitialised"]["seconds"], 3),
        "rollback_over_restore_in_process": round(
            result["rollback"]["in_process_s"] / result["restore_reinitialised"]["in_process_s"], 3
        ),
        "replay_over_apply": round(result["replay"]["in_process_s"] / result["restore_reinitialised"]["apply_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "restore-ledger-bench",
                        help="backups are kept and reused here; targets are removed after each size")  # fmt: skip
    parser.add_argument("--loaddata-max", type=int, default=100_000, help="largest size loaddata runs at (0: never)")
    parser.add_argument(
        "--compare-max",
        type=int,
        default=100_000,
        help="largest size whose restore is dumped and compared with the backup",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one step may take before it is killed")
    parser.add_argument("--results", type=Path, default=Path("bench/results/run.json"))
    args = parser.parse_args()
    TIMEOUT[0] = args.timeout
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": describe(args.backends),
        "results": [],
    }
    for backend in args.backends:
        for size in args.sizes:
            targets = Targets(backend, args.work / f"{backend}-{size}")
            try:
                report["results"].append(measure(backend, size, args, targets))
            except SystemExit as stop:  # a step failed, hung or found a wrong target: recorded, the run goes on
                report["results"].append({"backend": backend, "objects": size, "failed": str(stop)[-3000:]})
            finally:
                targets.drop()
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps(report, indent=1) + "\n")
            print(json.dumps(report["results"][-1]), flush=True)
    from bench.report import render

    print(render(report))


if __name__ == "__main__":
    main()
