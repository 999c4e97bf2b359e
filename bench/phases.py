"""Wall and CPU seconds of a restore's apply and of its rollback, timed in process.

    python -m bench.phases BACKUP --backend sqlite|postgresql --work DIR

One restore of BACKUP into a fresh re-initialised example target (ledger on the same
backend), then its rollback, each in this process. Around each projection intent (the
apply, the rollback) it records wall seconds, this process's CPU seconds and, on
PostgreSQL, the CPU seconds of the server process serving the target connection (read
from /proc: the server runs on this machine). Prints one JSON object.

Made to compare two versions of the code on a shared machine: run it as a child with
PYTHONPATH set to each version's tree, interleaved, several times (CPU seconds are
less noisy than wall seconds when others run).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.targets import Targets


def _server_cpu(conn: Any) -> float:
    """CPU seconds (user + system) so far of the PostgreSQL process serving ``conn``; 0 on SQLite."""
    if conn.dialect.name != "postgresql":
        return 0.0
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed_projection(timings: list[dict[str, Any]]) -> None:
    """Wrap the projection's intent so that each one carried out is timed."""
    from infrastructure.projection import Projection

    original = Projection._carry_out

    def carry_out(self: Projection, notification_id: int, event: Any, action: str) -> Any:
        server, wall, cpu = _server_cpu(self.conn), time.perf_counter(), time.process_time()
        try:
            return original(self, notification_id, event, action)
        finally:
            timings.append(
                {
                    "action": action,
                    "wall_s": round(time.perf_counter() - wall, 3),
                    "cpu_s": round(time.process_time() - cpu, 3),
                    "server_cpu_s": round(_server_cpu(self.conn) - server, 3),
                }
            )

    Projection._carry_out = carry_out  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("backup", type=Path)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()

    from application.restore import RestoreRequest, restore
    from application.rollback import rollback_restore

    timings: list[dict[str, Any]] = []
    _timed_projection(timings)
    targets = Targets(args.backend, args.work)
    try:
        target = targets.fresh("phases", reinitialised=True)
        ledger = targets.ledger("phases")
        started = time.perf_counter()
        outcome = restore(RestoreRequest(args.backup.resolve(), target, ledger, "bench", "benchmark"))
        restore_s = time.perf_counter() - started
        if outcome.status != "applied":
            raise SystemExit(f"restore: {outcome.status}")
        started = time.perf_counter()
        rolled = rollback_restore(outcome.restore_id, None, ledger, "bench", "benchmark")
        rollback_s = time.perf_counter() - started
        if rolled.status != "rolled back":
            raise SystemExit(f"rollback: {rolled.status}")
    finally:
        targets.drop()
    result = {"restore_s": round(restore_s, 3), "rollback_s": round(rollback_s, 3), "rows": outcome.rows_written}
    for timing in timings:
        result[timing.pop("action")] = timing
    print(json.dumps(result))


if __name__ == "__main__":
    main()
