"""The target database: connecting, its identity, and the keys of rows it already holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from domain.errors import RestoreError
from domain.links import Existing
from domain.planning import TargetKeys, flatten_target_keys
from domain.profile import Kind, ModelProfile, Profile, is_symmetrical, key_columns, own_key
from domain.symmetry import Pairing
from infrastructure.fingerprint import fingerprint, of_url
from infrastructure.storage import from_storage, to_storage, uuid_from_storage
from infrastructure.table_keys import where_keys
from infrastructure.urls import parse_url

IDENTITY_TABLE = "restore_ledger_target"
TRACKING_TABLE = "restore_ledger_tracking"
APPLIED_TABLE = "restore_ledger_applied"
OWN_TABLES = {IDENTITY_TABLE, TRACKING_TABLE, APPLIED_TABLE}
RESTORE_LOCK = 0x5245_5354  # held by a restore, apply, rollback, replay or rebuild for its whole run
LOCK_WAIT_SECONDS = 30


class TargetError(RestoreError):
    stage = "target"


def redact(url: str | URL) -> str:
    """The URL with any password replaced, for the ledger, logs and messages."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername.startswith("postgres"):
        parsed = parsed.set(drivername="postgresql")
    return parsed.render_as_string(hide_password=True)


def sqlalchemy_url(url: str) -> URL:
    """``sqlite:///file`` or a plain path for SQLite; ``postgresql://`` with psycopg 3."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    parsed = parse_url(url, "target")
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername != "sqlite":
        raise TargetError(f"target URL scheme {parsed.drivername!r} is not supported (sqlite, postgresql)")
    if not parsed.database or parsed.database == ":memory:":
        raise TargetError("a SQLite target needs a file path: sqlite:///path/to/db.sqlite3")
    return parsed.set(database=str(Path(parsed.database).resolve()))  # recorded absolute


def connect(url: str) -> Engine:
    """An engine on the target. A SQLite file must exist: a typo never creates an empty target."""
    parsed = sqlalchemy_url(url)
    if parsed.drivername == "sqlite":
        path = Path(parsed.database or "")
        if not path.is_file():
            raise TargetError(f"target database {str(path)!r} does not exist")
        engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        raise TargetError(f"target database {redact(parsed)} cannot be opened: {error.orig}") from None
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    dbapi_connection.execute("PRAGMA foreign_keys = ON")
    dbapi_connection.execute("PRAGMA busy_timeout = 30000")


def _sqlite_begin(connection: Connection) -> None:
    """Readers begin deferred; the connection holding the target's lock takes the write lock at once."""
    immediate = connection.get_execution_options().get("write_lock", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def locked(engine: Engine, wait_seconds: int = LOCK_WAIT_SECONDS) -> Iterator[Connection]:
    """The target's write lock, for a whole restore, apply, rollback, replay or rebuild.

    On PostgreSQL an advisory lock of the session; on SQLite the database's own write lock
    (BEGIN IMMEDIATE), whose transaction the projection then writes in. A second command
    waits up to ``wait_seconds`` for the first, then is refused: runs never interleave.
    """
    conn = engine.connect().execution_options(write_lock=True)
    try:
        if engine.dialect.name == "sqlite":
            _driver(conn).execute(f"PRAGMA busy_timeout = {wait_seconds * 1000}")
            # No row-by-row enforcement while the lock is held (a third of an insert's cost): the
            # projection checks every table it writes with foreign_key_check before it commits, and
            # a rollback finds the rows that reference what it removes before it removes anything.
            _driver(conn).execute("PRAGMA foreign_keys = OFF")
            try:
                conn.begin()
            except sa.exc.OperationalError:
                raise TargetError(busy_message(conn, wait_seconds)) from None
        else:
            conn.exec_driver_sql(f"SET lock_timeout = '{wait_seconds}s'")
            try:
                conn.exec_driver_sql(f"SELECT pg_advisory_lock({RESTORE_LOCK})")
            except sa.exc.OperationalError:
                conn.rollback()
                raise TargetError(busy_message(conn, wait_seconds)) from None
            conn.exec_driver_sql("SET lock_timeout = 0")
            conn.commit()
        yield conn
    finally:
        if conn.in_transaction():
            conn.rollback()
        if engine.dialect.name != "sqlite" and not conn.closed:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({RESTORE_LOCK})")
            conn.commit()
        conn.close()


def _driver(conn: Connection) -> Any:
    """The DBAPI connection: for settings that must not start a transaction."""
    return conn.connection.dbapi_connection


def hold(conn: Connection) -> None:
    """Take the lock again where committing released it (SQLite's lock is its write transaction)."""
    if conn.dialect.name == "sqlite" and not conn.in_transaction():
        try:
            conn.begin()
        except sa.exc.OperationalError:
            raise TargetError(busy_message(conn, LOCK_WAIT_SECONDS)) from None


def busy_message(conn: Connection, wait_seconds: int) -> str:
    """Who holds the target, as far as the database can tell: the same words wherever a lock is refused."""
    waited = f"waited {wait_seconds}s, try again when it has finished"
    if conn.dialect.name == "sqlite":
        return (
            "another writer holds this target's lock: a restore-ledger command (restore, apply, rollback, "
            f"replay, rebuild) or the application using the database (SQLite cannot tell which); {waited}"
        )
    holder = conn.exec_driver_sql(
        "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (RESTORE_LOCK,),
    ).first()
    conn.rollback()
    who = f"process {holder[0]} ({holder[1] or 'no application name'})" if holder else "another session"
    return f"{who} holds this target's lock (a restore-ledger command takes it for its whole run); {waited}"


def is_locked(engine: Engine) -> bool:
    """Whether a restore, apply, rollback, replay or rebuild holds the target's lock right now."""
    with engine.connect().execution_options(write_lock=True) as conn:
        if engine.dialect.name == "sqlite":
            _driver(conn).execute("PRAGMA busy_timeout = 0")
            try:
                conn.begin()
            except sa.exc.OperationalError:
                return True
            conn.rollback()
            return False
        if conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({RESTORE_LOCK})").scalar():
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({RESTORE_LOCK})")
            return False
        return True


def applied_in_target(engine: Engine) -> list[dict[str, Any]]:
    """What the projection applied to this target, per restore and action, oldest first."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(APPLIED_TABLE):
            return []
        rows = conn.exec_driver_sql(
            f"SELECT restore_id, action, notification_id, applied_at FROM {quote(conn, APPLIED_TABLE)} "
            "ORDER BY notification_id"
        ).fetchall()
    return [{"restore_id": r[0], "action": r[1], "notification_id": int(r[2]), "applied_at": r[3]} for r in rows]


def same_database(ledger_url: str, engine: Engine) -> bool:
    """Whether the ledger would live in the target: compared by what each database is, after
    connecting (path and inode; system identifier and OID), never by the URLs' text."""
    ledger = of_url(ledger_url)
    if ledger is None:
        return False
    with engine.connect() as conn:
        return fingerprint(conn) == ledger


def quote(engine: Engine | Connection, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


def identity(engine: Engine) -> str | None:
    """The target's own id, kept in the target so that a ledger can tell targets apart.

    None for a target no restore has been applied to yet; the projection writes the
    id in the transaction of the first restore it applies.
    """
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(IDENTITY_TABLE):
            return None
        found = conn.exec_driver_sql(f"SELECT id FROM {quote(conn, IDENTITY_TABLE)}").scalar()
    return str(found) if found else None


def owner(conn: Connection) -> tuple[str | None, str | None, str | None]:
    """The target's id, and the id and URL of the ledger it belongs to (None where not recorded)."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(IDENTITY_TABLE):
        return None, None, None
    columns = {column["name"] for column in inspector.get_columns(IDENTITY_TABLE)}
    wanted = ["id", *(c for c in ("ledger_id", "ledger_url") if c in columns)]
    row = conn.exec_driver_sql(f"SELECT {', '.join(wanted)} FROM {quote(conn, IDENTITY_TABLE)}").first()
    if row is None:
        return None, None, None
    found = dict(zip(wanted, row, strict=True))
    return str(found["id"]), found.get("ledger_id"), found.get("ledger_url")


def claim_identity(conn: Connection, target_id: str, ledger: tuple[str, str] | None = None) -> None:
    """Inside the projection's transaction: give the target ``target_id`` unless it has an id, and
    record the ledger (id, URL) it belongs to."""
    table = quote(conn, IDENTITY_TABLE)
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {table} (id varchar(36) NOT NULL PRIMARY KEY, ledger_id varchar(36), "
        "ledger_url varchar(1000))"
    )
    columns = {column["name"] for column in sa.inspect(conn).get_columns(IDENTITY_TABLE)}
    for column, kind in (("ledger_id", "varchar(36)"), ("ledger_url", "varchar(1000)")):
        if column not in columns:  # a target given its id before ledgers had ids
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    found, ledger_id, _url = owner(conn)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    if found is None:
        conn.exec_driver_sql(f"INSERT INTO {table} (id) VALUES ({mark})", (target_id,))
    elif found != target_id:
        raise TargetError(f"the target is {found}, not {target_id}: the restore was planned for another target")
    if ledger is not None and ledger_id is None:
        conn.exec_driver_sql(f"UPDATE {table} SET ledger_id = {mark}, ledger_url = {mark}", ledger)
    elif ledger is not None and ledger_id != ledger[0]:
        raise TargetError(f"the target belongs to ledger {ledger_id}, not to ledger {ledger[0]} ({ledger[1]})")


def keys_needed(profile: Profile, labels: set[str]) -> set[str]:
    """Models whose existing keys a restore of ``labels`` needs: those, what their foreign keys,
    many-to-many fields and generic foreign keys name, and transitively what natural keys are made of
    (a permission's key holds its content type's)."""
    needed = set(labels)
    for label in labels:
        model = profile.models[label]
        needed |= {fk.model for fk in model.foreign_keys.values()}
        needed |= {m2m.model for m2m in model.many_to_many.values()}
        needed |= {model.parent} if model.parent else set()
    pending = list(needed)
    while pending:
        found = profile.models.get(pending.pop())
        if found is None:
            continue
        for name in found.natural_key:
            fk = found.foreign_keys.get(name)
            if fk is not None and fk.model not in needed:
                needed.add(fk.model)
                pending.append(fk.model)
    return needed & set(profile.models)


def existing_keys(engine: Engine, profile: Profile, labels: set[str]) -> dict[str, TargetKeys]:
    """Natural keys, pks and the largest pk of every table the restore touches: one query each."""
    needed = keys_needed(profile, labels)
    raw: dict[str, list[tuple[Any, tuple[Any, ...]]]] = {}
    max_pks: dict[str, int] = {}
    with engine.connect() as conn:
        for label in sorted(needed):
            model = profile.models[label]
            if model.composite:
                raw[label] = _composite_keys(conn, model)
                continue
            columns = [model.pk.name]
            converters = [uuid_from_storage if model.pk.kind is Kind.UUID else None]
            for name in own_key(model):
                if name in model.foreign_keys:
                    columns.append(model.foreign_keys[name].column)
                    converters.append(None)
                else:
                    columns.append(model.fields[name].name)
                    converters.append(uuid_from_storage if model.fields[name].kind is Kind.UUID else None)
            select = ", ".join(quote(conn, c) for c in columns)
            rows = conn.exec_driver_sql(f"SELECT {select} FROM {quote(conn, model.table)}").fetchall()
            converted = [tuple(c(v) if c else v for c, v in zip(converters, row, strict=True)) for row in rows]
            raw[label] = [(row[0], row[1:]) for row in converted]
            max_pks[label] = max(
                max((row[0] for row in converted if isinstance(row[0], int)), default=0),
                sequence_position(conn, model.table, model.pk.name),
            )
    flat = flatten_target_keys(profile, raw, max_pks)
    return {label: keys for label, keys in flat.items() if label in needed}


def _composite_keys(conn: Connection, model: ModelProfile) -> list[tuple[Any, tuple[Any, ...]]]:
    """(pk tuple, no natural key) of every row of a composite-pk table: its rows are known by the whole key."""
    kinds = [c.kind for c in model.fields.values()]
    converters = {c.name: from_storage(k) for c, k in zip(model.fields.values(), kinds, strict=True)}
    columns = key_columns(model)
    select = ", ".join(quote(conn, c) for c in columns)
    rows = conn.exec_driver_sql(f"SELECT {select} FROM {quote(conn, model.table)}").fetchall()
    convert = [converters.get(c, from_storage(Kind.INTEGER)) for c in columns]
    return [(tuple(c(v) for c, v in zip(convert, row, strict=True)), ()) for row in rows]


def sequence_position(conn: Connection, table: str, pk_column: str) -> int:
    """How far a PostgreSQL table's pk sequence has gone: new pks start after it, never reusing one."""
    if conn.dialect.name != "postgresql":
        return 0
    sequence = conn.exec_driver_sql("SELECT pg_get_serial_sequence(%s, %s)", (quote(conn, table), pk_column)).scalar()
    if sequence is None:
        return 0
    last_value, is_called = conn.exec_driver_sql(f"SELECT last_value, is_called FROM {sequence}").one()
    return int(last_value) if is_called else int(last_value) - 1


def load_rows(engine: Engine, profile: Profile, pks: dict[str, list[Any]]) -> dict[str, dict[Any, dict[str, Any]]]:
    """Existing rows by pk, every column in logical form: what matched backup rows are compared with."""
    result: dict[str, dict[Any, dict[str, Any]]] = {}
    with engine.connect() as conn:
        for label, wanted in sorted(pks.items()):
            model = profile.models[label]
            columns = [] if model.composite else [(model.pk.name, from_storage(model.pk.kind))]
            columns += [(c.name, from_storage(c.kind)) for c in model.fields.values()]
            columns += [(fk.column, from_storage(Kind.INTEGER)) for fk in model.foreign_keys.values()]
            names = ", ".join(quote(conn, name) for name, _ in columns)
            keys = key_columns(model)
            rows: dict[Any, dict[str, Any]] = {}
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                if model.composite:
                    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
                    where, params = where_keys(conn, keys, len(chunk), mark), tuple(v for key in chunk for v in key)
                else:
                    marks = ", ".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in chunk)
                    where, params = f"{quote(conn, model.pk.name)} IN ({marks})", tuple(chunk)
                for row in conn.exec_driver_sql(
                    f"SELECT {names} FROM {quote(conn, model.table)} WHERE {where}", params
                ):
                    values = {name: convert(value) for (name, convert), value in zip(columns, row, strict=True)}
                    rows[tuple(values[c] for c in keys) if model.composite else values[model.pk.name]] = values
            result[label] = rows
    return result


def taken_values(engine: Engine, profile: Profile, columns: list[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
    """Every value the target holds in each (model, UUID field): a backup UUID among them is reassigned."""
    result: dict[tuple[str, str], set[str]] = {}
    with engine.connect() as conn:
        for label, name in columns:
            model = profile.models[label]
            column = model.fields[name].name
            rows = conn.exec_driver_sql(f"SELECT {quote(conn, column)} FROM {quote(conn, model.table)}")
            result[(label, name)] = {uuid_from_storage(value) for (value,) in rows if value is not None}
    return result


def link_max_ids(engine: Engine, profile: Profile, labels: set[str]) -> dict[str, int]:
    """The largest id of each many-to-many through table the restore writes."""
    tables = {m2m.table for label in labels for m2m in profile.models[label].many_to_many.values()}
    result: dict[str, int] = {}
    with engine.connect() as conn:
        for table in sorted(tables):
            found = conn.exec_driver_sql(f"SELECT MAX(id) FROM {quote(conn, table)}").scalar()
            result[table] = max(int(found or 0), sequence_position(conn, table, "id"))
    return result


def reassign_identity(conn: Connection, target_id: str, ledger: tuple[str, str]) -> None:
    """Give a copy of a target its own id (``target adopt``), in one transaction of its own."""
    hold(conn)
    table, mark = quote(conn, IDENTITY_TABLE), "?" if conn.dialect.paramstyle == "qmark" else "%s"
    claim_identity(conn, owner(conn)[0] or target_id, None)
    conn.exec_driver_sql(
        f"UPDATE {table} SET id = {mark}, ledger_id = {mark}, ledger_url = {mark}", (target_id, *ledger)
    )
    conn.commit()


def existing_links(engine: Engine, profile: Profile, pks: dict[str, list[Any]]) -> dict[str, Existing]:
    """The many-to-many links existing rows the backup matched have already, per through table, by source
    and target, with their ids; a symmetrical relation's in both directions."""
    result: dict[str, Existing] = {}
    with engine.connect() as conn:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        for label, wanted in sorted(pks.items()):
            model = profile.models[label]
            for m2m in model.many_to_many.values():
                found = result.setdefault(m2m.table, {})
                source, target = quote(conn, m2m.source_column), quote(conn, m2m.target_column)
                ends = [source, target] if is_symmetrical(model, m2m) else [source]
                source_kind, target_kind = model.pk.kind, profile.models[m2m.model].pk.kind
                from_source, from_target = from_storage(source_kind), from_storage(target_kind)
                for end in ends:
                    for start in range(0, len(wanted), 500):
                        chunk = [to_storage(conn.dialect.name, source_kind)(pk) for pk in wanted[start : start + 500]]
                        sql = (
                            f"SELECT id, {source}, {target} FROM {quote(conn, m2m.table)} "
                            f"WHERE {end} IN ({', '.join(mark for _ in chunk)})"
                        )
                        for link_id, one, other in conn.exec_driver_sql(sql, tuple(chunk)):
                            found.setdefault(from_source(one), {})[from_target(other)] = link_id
    return result


def link_pairing(engine: Engine, relations: list[tuple[str, str, str]]) -> dict[str, Pairing]:
    """For each (through table, source column, target column): how many links it holds, and how many
    lack their reverse (one example named)."""
    result: dict[str, Pairing] = {}
    with engine.connect() as conn:
        for table, source_column, target_column in relations:
            t, s, o = quote(conn, table), quote(conn, source_column), quote(conn, target_column)
            lacking = f"NOT EXISTS (SELECT 1 FROM {t} b WHERE b.{s} = a.{o} AND b.{o} = a.{s})"
            links = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar() or 0
            unpaired = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t} a WHERE {lacking}").scalar() or 0
            example = ""
            if unpaired:
                one = conn.exec_driver_sql(f"SELECT a.{s}, a.{o} FROM {t} a WHERE {lacking} LIMIT 1").one()
                example = f"{table}: {one[0]} -> {one[1]} without {one[1]} -> {one[0]}"
            result[table] = Pairing(int(links), int(unpaired), example)
    return result
