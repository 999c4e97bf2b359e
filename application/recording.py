"""Recording a restore: the backup read once (indexed and spooled), the plan made, and every decision and
row saved to the ledger as events, a few at a time, before anything is applied."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from application.ledger import Ledger
from application.package_check import profile_differences
from application.progress import Progress
from application.restore_request import RestoreOutcome, RestoreRequest
from application.saving import BackgroundSaves
from application.symmetry import settle_symmetry
from application.unconstrained import settle_unconstrained
from domain.errors import PlanError, ProfileError
from domain.ledger import RestoreRun
from domain.planning import Index, Options, Planner
from domain.profile import ForeignKey, Kind, Profile
from domain.records import Record
from infrastructure.backup import Backup
from infrastructure.checkpoints import checkpoint
from infrastructure.parallel_read import record_chunks
from infrastructure.spool import Spool
from infrastructure.target import (
    existing_keys,
    existing_links,
    link_max_ids,
    load_rows,
    taken_values,
)
from infrastructure.target_schema import applied_migrations, immediate_references, table_columns

BATCH_ROWS = 500
CONTENT_TYPES = "contenttypes.contenttype"
EVENTS_PER_SAVE = 8
# a row event's rows, in bytes as spooled: a save of EVENTS_PER_SAVE events stays near 4 MB before
# compression, under the size at which psycopg's pipeline mode (eventsourcing.postgres) can hang
EVENT_BYTES = 512 * 1024
PROGRESS_STEP = 1000  # records per progress report
RECORDS = "records"  # the spool's key for the backup's records


def record_backup(
    ledger: Ledger,
    run: RestoreRun,
    opened: Backup,
    profile: Profile,
    engine: Engine,
    request: RestoreRequest,
    progress: Progress,
) -> RestoreOutcome:
    """Read the backup once, plan, and record the plan in ``run``: its decisions, then its rows."""
    if opened.info.media and request.media_root is None and not request.dry_run:
        raise PlanError(f"the backup holds {len(opened.info.media)} media files: give --media-root")
    with Spool() as spool:
        index = _read(opened, profile, spool, progress)
        settle_symmetry(profile, set(index.ordinals), index.self_links, engine)
        settle_unconstrained(profile, index, engine)
        if opened.profile_text() is not None:
            check_package_profile(opened, profile, engine, set(index.ordinals))
        planner = _planner(index, profile, engine, request, run)
        planner.identify()
        planner.existing = load_rows(engine, profile, planner.matched_pks())
        planner.existing_links = existing_links(engine, profile, planner.matched_pks())
        planner.taken_uuids = taken_values(engine, profile, planner.uuid_columns())
        planner.decide_uuids()
        total = len(index.model_of)
        for ordinal, model, pk, fields in spool.read(RECORDS):  # the second pass reads the spool back
            built = planner.build(Record(ordinal, model, pk, fields))
            if ordinal % PROGRESS_STEP == 0 or ordinal == total:
                progress("plan", ordinal % PROGRESS_STEP or PROGRESS_STEP, total)
            if built is None:
                continue
            if built.values:
                spool.append(("rows", built.model), built.values)
            for column, row_pk, value in built.deferred:
                spool.append(("deferred", built.model, column), (row_pk, value))
            for table, source, target in built.links:
                spool.append(("links", table), (source, target))
        for table, source, target in planner.symmetric_links():
            spool.append(("links", table), (source, target))
        planner.finish()
        for label, rows in planner.created_rows().items():
            for row in rows:
                spool.append(("rows", label), row)
        link_tables = sorted(str(key[1]) for key in spool.groups() if isinstance(key, tuple) and key[0] == "links")
        link_first = {table: planner.allocate_link_ids(table, spool.count(("links", table))) for table in link_tables}
        with BackgroundSaves(ledger) as saves:  # the ledger's writes overlap the planning
            decisions = _record_decisions(run, planner, lambda items: _saved_chunks(saves, run, items))
            _emit(saves, run, planner, spool, link_first)
    if opened.info.media:
        run.record_media([{"path": m.path, "sha256": m.sha256, "size": m.size} for m in opened.info.media])
    run.finish_recording()
    ledger.save(run)
    return RestoreOutcome(
        restore_id=str(run.id),
        status=run.status,
        backup=opened.info.to_dict(),
        counts=index.counts(),
        decisions=decisions,
        allocations=[
            {"model": a.model, "table": a.table, "first": a.first, "count": a.count, "reason": a.reason}
            for a in planner.allocations
        ],
        deferred={label: sorted(fields) for label, fields in planner.deferred.items() if fields},
        order=planner.order,
        media_files=len(opened.info.media),
        already_present=bool(index.model_of)
        and not run.recorded_rows
        and not planner.decisions.updates
        and not planner.decisions.references.unlinked,
    )


def _read(opened: Backup, profile: Profile, spool: Spool, progress: Progress) -> Index:
    """The backup's one pass: each record is indexed and spooled to disk in a compact form, so that
    planning reads the spool back instead of parsing the backup again (a second parse cost as much
    as the first). A process of its own parses the backup meanwhile, and hashes it as it reads:
    what is restored is what was recorded."""
    index = Index(profile)
    for data, records in record_chunks(opened):
        for ordinal, model, pk, fields in records:
            index.add(Record(ordinal, model, pk, fields))
            if ordinal % PROGRESS_STEP == 0:
                progress("read", PROGRESS_STEP)
            if ordinal == 100:
                checkpoint("read")
        spool.append_encoded(RECORDS, data, len(records))  # as the child encoded it: (ordinal, model, pk, fields)
    progress("read", len(index.model_of) % PROGRESS_STEP)
    return index


def check_package_profile(opened: Backup, profile: Profile, engine: Engine, labels: set[str]) -> None:
    """The backup's own profile against the target's schema: every difference, before anything is written."""
    source = (opened.info.manifest or {}).get("source_system") or {}
    migrations = source.get("migrations", {}) if isinstance(source, dict) else {}
    differences = profile_differences(profile, labels, table_columns(engine), migrations, applied_migrations(engine))
    if differences:
        raise ProfileError(
            f"the backup's profile does not fit the target ({len(differences)} differences): "
            + "; ".join(differences)
            + "; nothing was written"
        )


def _planner(index: Index, profile: Profile, engine: Engine, request: RestoreRequest, run: RestoreRun) -> Planner:
    index.fit_keys()
    labels = set(index.ordinals)
    generic = bool(index.content_types)
    targets = existing_keys(engine, profile, labels | ({CONTENT_TYPES} & set(profile.models) if generic else set()))
    options = Options(
        on_conflict=request.on_conflict,
        missing="fail" if request.missing_users == "fail" else "profile",
        uuids=request.uuids,
        now=datetime.now(UTC).isoformat(),
        text_allows_nul=engine.dialect.name != "postgresql",
        trust_pks=request.trust_pks,
        immediate_references=immediate_references(engine),
    )
    planner = Planner(index, targets, link_max_ids(engine, profile, labels), options)
    labels_named = {planner.label_of_content_type(value) for value in index.content_types}
    named = {label for label in labels_named if label is not None and label in profile.models and label not in targets}
    if named:
        more = existing_keys(engine, profile, named)
        targets.update({label: keys for label, keys in more.items() if label not in targets})
    run.validate(index.counts(), Profile({label: profile.models[label] for label in sorted(targets)}).to_dict())
    return planner


def _chunks(items: list[dict[str, Any]], size: int = BATCH_ROWS) -> list[list[dict[str, Any]]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _saved_chunks(
    saves: BackgroundSaves, run: RestoreRun, items: list[dict[str, Any]]
) -> Iterator[list[dict[str, Any]]]:
    """``items`` in chunks; the events made from each are saved a few at a time, as they come."""
    for chunk in _chunks(items):
        yield chunk
        _save_some(saves, run)


def _record_decisions(
    run: RestoreRun, planner: Planner, chunks: Callable[[list[dict[str, Any]]], Iterator[list[dict[str, Any]]]]
) -> dict[str, int]:
    """Every decision becomes an event before any row it concerns is recorded, a chunk per event
    (``chunks`` saves the events as they come)."""
    profile, decisions = planner.profile, planner.decisions
    if decisions.reinitialised:
        run.detect_reinitialised(decisions.reinitialised)
    for allocation in planner.allocations:
        run.allocate(allocation.model, allocation.table, allocation.first, allocation.count, allocation.reason)
    for label, items in sorted(decisions.mapped.items()):
        for chunk in chunks(items):
            run.map_rows(label, profile.models[label].table, chunk)
    for label, items in sorted(decisions.unchanged.items()):
        for chunk in chunks(items):
            run.mark_unchanged(label, profile.models[label].table, chunk)
    references = decisions.references
    for label, bound in sorted(references.bound.items()):
        for chunk in chunks(list(bound.values())):
            run.bind_pks(label, profile.models[label].table, chunk)
    for label, items in sorted(decisions.conflicts.items()):
        for chunk in chunks(items):
            run.record_conflicts(label, profile.models[label].table, chunk)
    for label, items in sorted(decisions.updates.items()):
        model = profile.models[label]
        kinds = {c.name: c.kind.value for c in model.fields.values()}
        kinds.update({fk.column: Kind.INTEGER.value for fk in model.foreign_keys.values()})
        for chunk in chunks(items):
            run.update_rows(label, model.table, model.pk.name, kinds, chunk)
    for label, created in sorted(decisions.created.items()):
        entries = [{k: v for k, v in c.items() if k != "row"} for c in created.values()]
        for chunk in chunks(entries):
            run.create_missing(label, profile.models[label].table, chunk)
    for (label, name), items in sorted(decisions.uuids.items()):
        for chunk in chunks(items):
            run.reassign_uuids(label, profile.models[label].table, name, chunk)
    for label, items in sorted(decisions.pks.items()):
        for chunk in chunks(items):
            run.reassign_pks(label, profile.models[label].table, chunk)
    for (label, name), items in sorted(references.soft.items()):
        for chunk in chunks(items):
            run.follow_soft_references(label, profile.models[label].table, name, chunk)
    for (label, name), items in sorted(references.generic.items()):
        for chunk in chunks(items):
            run.follow_generic_references(label, profile.models[label].table, name, chunk)
    for (label, name), items in sorted(references.links.items()):
        for chunk in chunks(items):
            run.add_links(label, profile.models[label].many_to_many[name].table, name, chunk)
    for (label, name), items in sorted(references.unlinked.items()):
        model = profile.models[label]
        m2m = model.many_to_many[name]
        ends = [model.pk.kind.value, profile.models[m2m.model].pk.kind.value]
        for chunk in chunks(items):
            run.remove_links(label, m2m.table, name, [m2m.source_column, m2m.target_column], ends, chunk)
    return {
        "mapped": sum(map(len, decisions.mapped.values())),
        "unchanged": sum(map(len, decisions.unchanged.values())),
        "conflicts": sum(map(len, decisions.conflicts.values())),
        "updated": sum(map(len, decisions.updates.values())),
        "created": sum(map(len, decisions.created.values())),
        "uuids reassigned": sum(map(len, decisions.uuids.values())),
        "pks reassigned": sum(map(len, decisions.pks.values())),
        "pks allocated": sum(a.count for a in planner.allocations),
        **references.counts(),
    }


def _emit(saves: BackgroundSaves, run: RestoreRun, planner: Planner, spool: Spool, link_first: dict[str, int]) -> None:
    """Row batches in write order: models, then M2M links, then the deferred references."""

    def batches(model: str, table: str, columns: list[str], kinds: list[str], rows: Any, size: int) -> None:
        per_event = max(1, min(BATCH_ROWS, EVENT_BYTES // size))  # wide rows: fewer per event
        batch: list[list[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == per_event:
                run.record_rows(model, table, columns, kinds, batch)
                batch = []
                _save_some(saves, run)
        if batch:
            run.record_rows(model, table, columns, kinds, batch)
            _save_some(saves, run)

    profile = planner.profile
    for label in planner.order:
        model = profile.models[label]
        kinds = [*([] if model.composite else [model.pk.kind.value]), *(c.kind.value for c in model.fields.values())]
        kinds += [_reference_kind(profile, fk) for fk in model.foreign_keys.values()]
        size = spool.item_size(("rows", label))
        batches(label, model.table, planner.columns(label), kinds, spool.read(("rows", label)), size)
    saves.save(run)
    saves.wait()
    checkpoint("record")
    emitted: set[str] = set()  # a proxy's profile may list its concrete model's through tables too
    for label in sorted(profile.models):
        for m2m in profile.models[label].many_to_many.values():
            if m2m.table not in link_first or m2m.table in emitted:
                continue
            emitted.add(m2m.table)
            first = link_first[m2m.table]
            rows = ([first + i, source, target] for i, (source, target) in enumerate(spool.read(("links", m2m.table))))
            kinds = [Kind.INTEGER.value, profile.models[label].pk.kind.value, profile.models[m2m.model].pk.kind.value]
            size = spool.item_size(("links", m2m.table))
            batches(label, m2m.table, ["id", m2m.source_column, m2m.target_column], kinds, rows, size)
            saves.save(run)
    for label in planner.order:
        model = profile.models[label]
        for name in sorted(planner.deferred.get(label, ())):
            fk = model.foreign_keys[name]
            pairs: list[list[Any]] = []
            for pk, value in spool.read(("deferred", label, fk.column)):
                pairs.append([pk, value])
                if len(pairs) == BATCH_ROWS * 4:
                    run.defer_references(label, model.table, model.pk.name, fk.column, pairs)
                    pairs = []
                    _save_some(saves, run)
            if pairs:
                run.defer_references(label, model.table, model.pk.name, fk.column, pairs)
            saves.save(run)
    saves.save(run)


def _save_some(saves: BackgroundSaves, run: RestoreRun) -> None:
    """Save once a few events are pending: each save stays small (a few MB at most, whatever the
    backup), and memory does not hold more than those events."""
    if len(run.pending_events) >= EVENTS_PER_SAVE:
        saves.save(run)


def _reference_kind(profile: Profile, fk: ForeignKey) -> str:
    """The kind of a foreign key column: the referenced pk's, or its ``to_field``'s."""
    referenced = profile.models.get(fk.model)
    if referenced is None:
        return Kind.INTEGER.value
    if fk.to_field and fk.to_field in referenced.fields:
        return referenced.fields[fk.to_field].kind.value
    return referenced.pk.kind.value
