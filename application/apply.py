"""Apply a planned restore: the projection writes its recorded rows into the target."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from application.ledger import Ledger
from domain.errors import RestoreError
from domain.ledger import PLANNED, RestoreRun
from infrastructure.backup import Backup, open_backup
from infrastructure.projection import MediaTarget, Projection
from infrastructure.target import connect


class ApplyRefused(RestoreError):
    stage = "apply"


@dataclass
class ApplyOutcome:
    restore_id: str
    status: str
    rows_written: int
    seconds: float


def project(
    ledger: Ledger,
    run: RestoreRun,
    engine: sa.Engine,
    opened: Backup | None,
    media_root: Path | None,
    started: float,
    progress: Callable[[str, int], None] | None = None,
) -> int:
    """Run the projection for the run's target and record the run as applied; rows written."""
    media = MediaTarget(media_root, opened.open_media) if media_root and opened else None
    on_batch = (lambda count: progress("apply", count)) if progress else None
    applied = Projection(engine, ledger, run.target["id"], media, on_batch).run()
    mine = [a for a in applied if a.restore_id == run.id]
    if not mine:
        raise ApplyRefused("the projection did not apply this restore: an earlier restore of this target is unfinished")
    run.complete(mine[0].position, round(time.monotonic() - started, 3))
    ledger.save(run)
    return mine[0].rows


def apply_restore(restore_id: str, target_url: str, ledger_url: str, media_root: Path | None) -> ApplyOutcome:
    """Apply a planned restore; refuse, naming it, when the target changed in a way the plan depends on."""
    started = time.monotonic()
    ledger = Ledger(ledger_url)
    run = ledger.get_run(restore_id)
    if run.status != PLANNED:
        raise ApplyRefused(f"restore {run.id} is {run.status}; only a planned restore can be applied")
    engine = connect(target_url)
    opened = open_backup(Path(run.backup["path"])) if run.backup.get("media_files") else None
    try:
        rows = project(ledger, run, engine, opened, media_root, started)
    except (RestoreError, OSError, sa.exc.SQLAlchemyError) as error:
        cause = error if isinstance(error, RestoreError) else RestoreError(f"{type(error).__name__}: {error}")
        run.fail(cause.stage, cause.problem, cause.record)
        ledger.save(run)
        raise
    finally:
        engine.dispose()
        if opened is not None:
            opened.close()
    return ApplyOutcome(str(run.id), run.status, rows, round(time.monotonic() - started, 3))
