"""Benchmark: ``manage.py restore_ledger_backup`` against plain ``dumpdata``, peak RSS and time.

    python -m bench.backup --documents 2000 14000    # about 15,000 and 100,000 objects, SQLite

For each size, builds a source EDMS with the example project, then, each in its own
process so that its peak RSS is its own (``wait4``):
  1. ``manage.py restore_ledger_backup -o DIR`` (fixture, media, profile, manifest);
  2. ``manage.py dumpdata --natural-foreign --natural-primary -o FILE`` (Django's own);
Flat memory means: the package's peak RSS does not grow with the number of objects,
and stays near dumpdata's. The package is verified by ``restore-ledger inspect``
before any number is reported. Results in bench/results/backup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.restore import timed
from tests.edms import EDMS, build_source


def measure(documents: int, work: Path) -> dict[str, Any]:
    source = build_source(work / f"source-{documents}", documents=documents)
    env = {**os.environ, "EDMS_DB": str(source.db), "EDMS_MEDIA_ROOT": str(source.media), "PYTHONWARNINGS": "ignore"}
    manage = [sys.executable, str(EDMS / "manage.py")]
    package = work / f"package-{documents}"
    ours_s, ours_rss, _ = timed([*manage, "restore_ledger_backup", "-o", str(package), "-v0"], env=env)
    fixture = work / f"dumpdata-{documents}.json"
    dump_s, dump_rss, _ = timed(
        [*manage, "dumpdata", "--natural-foreign", "--natural-primary", "-o", str(fixture), "-v0"], env=env
    )
    _s, _rss, inspected = timed([str(Path(sys.executable).parent / "restore-ledger"), "inspect", str(package)])
    objects = sum(json.loads((package / "manifest.json").read_text())["dump"]["counts"].values())
    assert f"records: {objects}" in inspected, inspected
    return {
        "documents": documents,
        "objects": objects,
        "restore_ledger_backup": {
            "seconds": round(ours_s, 2),
            "peak_rss_mib": round(ours_rss / 1024, 1),
            "package_bytes": sum(p.stat().st_size for p in package.rglob("*") if p.is_file()),
        },
        "dumpdata": {
            "seconds": round(dump_s, 2),
            "peak_rss_mib": round(dump_rss / 1024, 1),
            "fixture_bytes": fixture.stat().st_size,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, nargs="+", default=[2000, 14000])
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "backup.json")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        runs = [measure(documents, Path(work)) for documents in arguments.documents]
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}, "runs": runs}
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
