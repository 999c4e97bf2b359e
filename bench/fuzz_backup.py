"""Coverage-guided fuzzing of the backup reader with atheris (not run in CI).

    pip install atheris
    python -m bench.fuzz_backup -max_total_time=300 [-jobs=1] [CORPUS_DIR]

Each input is written to a file and read as a backup: detection, decompression, archives and
manifests, the guarded JSON reader, records. The only exception allowed out is ``BackupError``
(a refusal with a message); anything else is a crash, which atheris reports with the input that
caused it. A seed corpus of small valid backups (every format) is written to CORPUS_DIR
(default bench/fuzz-corpus) when it is empty. Put every crash found into
tests/integration/test_fuzz.py as a regression case.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import sys
import tarfile
import tempfile
import zipfile
from hashlib import sha256
from pathlib import Path

RECORDS = [
    {"model": "accounts.role", "pk": 1, "fields": {"name": "Author", "uuid": "0b6f3c1e-0000-4000-8000-000000000001"}},
    {"model": "documents.document", "pk": 2, "fields": {"title": "SOP \u00e9\U0001f600", "tags": [1, 2], "n": 1.5}},
    {"model": "audit.entry", "pk": 3, "fields": {"data": {"a": [None, True, {"b": 'c\\"d'}]}}},
]
LIMITS = {"max_depth": 16, "max_record_bytes": 1 << 16, "max_string_bytes": 1 << 14, "max_total_bytes": 1 << 22,
          "max_ratio": 50, "max_records": 1000, "max_files": 50}  # fmt: skip


def seeds() -> dict[str, bytes]:
    array = json.dumps(RECORDS, indent=1).encode()
    lines = b"\n".join(json.dumps(r, ensure_ascii=False).encode() for r in RECORDS) + b"\n"
    media = b"media bytes\n"
    manifest = {
        "format_version": 1,
        "files": [
            {"path": "data/edms.json", "sha256": sha256(array).hexdigest(), "size": len(array)},
            {"path": "media/a.txt", "sha256": sha256(media).hexdigest(), "size": len(media)},
        ],
    }
    zipped, tarred, single = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("data/edms.json", array)
        archive.writestr("media/a.txt", media)
    with zipfile.ZipFile(single, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("edms.jsonl", lines)
    with tarfile.open(fileobj=tarred, mode="w:gz") as archive:
        for name, data in (("manifest.json", json.dumps(manifest).encode()), ("data/edms.json", array),
                           ("media/a.txt", media)):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return {
        "array.json": array,
        "lines.jsonl": lines,
        "array.json.gz": gzip.compress(array),
        "lines.jsonl.bz2": bz2.compress(lines),
        "array.json.xz": lzma.compress(array),
        "package.zip": zipped.getvalue(),
        "single.zip": single.getvalue(),
        "package.tar.gz": tarred.getvalue(),
    }


def main() -> None:
    import atheris

    with atheris.instrument_imports():
        from domain.errors import BackupError
        from infrastructure.backup import open_backup
        from infrastructure.reading import Limits

    limits = Limits(**LIMITS)
    work = Path(tempfile.mkdtemp(prefix="fuzz-backup-"))
    path = work / "backup"

    def one_input(data: bytes) -> None:
        path.write_bytes(data)
        try:
            with open_backup(path, limits) as backup:
                for _record in backup.records():
                    pass
        except BackupError:
            pass

    args = [a for a in sys.argv if a.startswith("-")]
    corpus = Path(next((a for a in sys.argv[1:] if not a.startswith("-")), "bench/fuzz-corpus"))
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        for name, data in seeds().items():
            (corpus / name).write_bytes(data)
    atheris.Setup([sys.argv[0], *args, str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
