"""The backup parsed by a process of its own while this one indexes it, on the second core.

Parsing JSON (ijson) costs about as much as indexing the records it yields, and neither releases the
interpreter: a forked child reads the opened backup (the same checks, limits and digests as a read in
this process) and sends its records in marshal chunks through a pipe; this process indexes each chunk
and spools it as it came, without encoding it again. At most a chunk waits in the pipe: memory does
not grow with the backup. An error of the backup is raised here as the child raised it, and this
process stopping early (an error, or a kill) stops the child.
"""

from __future__ import annotations

import marshal
import pickle
import signal
import sys
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from domain.errors import BackupError
from infrastructure.backup_stream import Backup
from infrastructure.forked import forked

CHUNK = 2000  # records per message, as the spool's chunks
_RECORDS, _DONE, _FAILED = b"R", b"D", b"E"

Records = list[tuple[int, str, Any, dict[str, Any]]]  # (ordinal, model, pk, fields)


def record_chunks(opened: Backup) -> Iterator[tuple[bytes, Records]]:
    """Every record of ``opened`` in order, in chunks: (the chunk's marshal bytes, its records)."""
    with forked(_parse, (opened,), "restore-ledger-parse") as (child, receiving):  # the backup as opened
        while True:
            try:
                message = receiving.recv_bytes()
            except EOFError:
                child.join()
                raise BackupError(f"the process reading the backup stopped (exit code {child.exitcode})") from None
            kind, body = message[:1], message[1:]
            if kind == _DONE:
                opened.expect(pickle.loads(body))
                return
            if kind == _FAILED:
                problem, record = pickle.loads(body)
                raise BackupError(problem, record)
            records: Records = marshal.loads(body)
            for index, (ordinal, model, pk, fields) in enumerate(records):
                records[index] = (ordinal, sys.intern(model), pk, fields)  # one string per model, not per chunk
            yield body, records


def _parse(opened: Backup, sending: Connection) -> None:
    """The child: read the backup, send its records chunk by chunk, then its digests or its error."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops this process
    try:
        chunk: Records = []
        for record in opened.records():
            chunk.append((record.ordinal, record.model, record.pk, record.fields))
            if len(chunk) == CHUNK:
                sending.send_bytes(_RECORDS + marshal.dumps(chunk, 4))
                chunk = []
        if chunk:
            sending.send_bytes(_RECORDS + marshal.dumps(chunk, 4))
        sending.send_bytes(_DONE + pickle.dumps(opened.digests_seen()))
    except BackupError as error:  # the backup's own problem: raised by the parent, as a read there would
        sending.send_bytes(_FAILED + pickle.dumps((error.problem, error.record)))
    except BrokenPipeError:
        pass  # the parent stopped reading: nothing to tell
    finally:
        sending.close()
