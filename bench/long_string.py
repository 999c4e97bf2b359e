"""How long one long string value takes to read: linear, not quadratic, in its length.

    python -m bench.long_string --megabytes 10 20 40 200

Writes a one-record JSON array whose text field holds the string, raises --max-string-bytes
and --max-record-bytes to fit, and times a full pass of the backup reader over it (the
restore reads each backup twice). Prints seconds and peak memory per size.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ONE_PASS = """
import sys, time
from pathlib import Path
from infrastructure.backup import open_backup
from infrastructure.reading import Limits
size = int(sys.argv[2])
limits = Limits(max_string_bytes=size + 1024, max_record_bytes=size + 4096)
started = time.monotonic()
with open_backup(Path(sys.argv[1]), limits) as backup:
    [record] = list(backup.records())
assert len(record.fields["text"]) == size
print(round(time.monotonic() - started, 2))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, nargs="+", default=[10, 20, 40, 200])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for megabytes in args.megabytes:
            size = megabytes * 1_000_000
            path = Path(work) / f"string-{megabytes}.json"
            with open(path, "wb") as out:
                out.write(b'[{"model": "documents.document", "pk": 1, "fields": {"text": "')
                out.write(b"x" * size)
                out.write(b'"}}]')
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            started = time.monotonic()
            seconds = subprocess.run(
                [sys.executable, "-c", ONE_PASS, str(path), str(size)], check=True, capture_output=True, text=True
            ).stdout.strip()
            peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) // 1024
            print(f"{megabytes:>5} MB string: one pass {seconds} s (process {time.monotonic() - started:.2f} s), "
                  f"peak RSS {peak} MiB")  # fmt: skip
            path.unlink()


if __name__ == "__main__":
    main()
