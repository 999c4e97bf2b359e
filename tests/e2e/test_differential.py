"""Differential tests: Django's ``loaddata`` is the oracle.

Each fixture is loaded by ``loaddata`` into one freshly migrated database of tests/djangoproject and restored
by ``restore-ledger restore`` (no profile) into another; then every table must hold the same rows in the same
storage form (pks equal, for dumps that carry every pk) and every object the same values and references by
natural identity (for fixtures whose records may have no pk). What ``loaddata`` refuses, the restore must
refuse, naming the record, with nothing written. Cases the engine gets wrong today are strict xfails whose
reason is the failure seen: they turn into XPASS (a failure) once the engine is fixed, so remove them then.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.djangodiff import (
    CONSTRUCT_DUMPS,
    CONSTRUCTS,
    DUMPS,
    FIXTURES,
    KEEPS_PKS,
    POSTGRESQL_ONLY,
    PROJECT,
    RESTORE_LEDGER,
    Backend,
    Database,
    Source,
    compare,
    ledger_restores,
    manage,
    pairs,
    restore,
    summary,
)
from tests.targets import pg_available

PACKAGE_FIXTURE = "data/dump.jsonl"  # the fixture inside a package (docs/package-format.md)

pytestmark = pytest.mark.differential
IN_CI = os.environ.get("CI") == "true"
DIALECTS = ["sqlite", "postgresql"]
# Hand-written fixtures: two in the styles of Django's documentation, then one per style, each on its own.
HAND_WRITTEN = [
    "docs-style.json",
    "docs-style.jsonl",
    "style-pks-as-strings.json",
    "style-fields-left-out.json",
    "style-natural-keys-without-pk.json",
    "style-no-pk-no-natural-key.json",
    "style-proxy-label.json",
    "style-values-as-strings.json",
    "style-user-flags-left-out.json",  # django.contrib.auth's Python-side defaults, known without a profile
]
# What the refusal of catalog.banner.section (an FK with db_constraint=False, named for no model) says to give.
BANNER_SECTION = (
    '[models."catalog.banner".foreign_keys]\n'
    'section = { column = "section_id", model = "catalog.category", nullable = true }\n'
)
HAND_WRITTEN_POSTGRESQL = ["style-postgresql-arrays.json"]  # ArrayField: lists, strings in them, JSON text


class Project:
    """The test project per backend, made when first needed: a migrated template and a filled source."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.backends: dict[str, Backend] = {}
        self.sources: dict[str, Source] = {}

    def backend(self, dialect: str) -> Backend:
        if dialect == "postgresql" and not pg_available():
            if IN_CI:
                pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
            pytest.skip("PostgreSQL is not reachable (outside CI)")
        if dialect not in self.backends:
            work = self.work / dialect
            work.mkdir()
            self.backends[dialect] = Backend(dialect, work)
        return self.backends[dialect]

    def source(self, dialect: str) -> Source:
        if dialect not in self.sources:
            self.sources[dialect] = Source(self.backend(dialect))
        return self.sources[dialect]

    def fixture(self, dialect: str, name: str) -> Path:
        """A dump by name, a construct's cut of one (``construct:dump``), or a hand-written fixture."""
        if name in DUMPS:
            return self.source(dialect).dump(name, *DUMPS[name])
        if ":" in name:
            construct, dump = name.split(":")
            return self.source(dialect).construct(dump, construct)
        return FIXTURES / name


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    made = Project(tmp_path_factory.mktemp("djangoproject"))
    yield made
    for backend in made.backends.values():
        backend.close()


def run_both(
    project: Project,
    dialect: str,
    backup: Path,
    ledger: Path,
    *options: str,
    base: Database | None = None,
    fixture: Path | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Restore BACKUP into one copy of the empty (or ``base``) database and ``loaddata`` it (or the ``fixture``
    it holds) into another."""
    backend = project.backend(dialect)
    oracle, restored = backend.fresh("oracle", source=base), backend.fresh("restored", source=base)
    try:
        outcome = restore(backup, restored, ledger, *options)
        return outcome, compare(oracle, restored, fixture or backup)
    finally:
        backend.drop(oracle)
        backend.drop(restored)


def taggit_overwritten(fixture: Path) -> int:
    """How many tagged items ``loaddata`` overwrites: django-taggit's ``TaggedItem.natural_key()`` is its
    ``object_id`` alone, so an item without pk (natural primary keys) whose object_id an item loaded before has
    overwrites that item (a tag of another object, or of another model, is lost)."""
    text = fixture.read_text(encoding="utf-8")
    lines = fixture.suffix == ".jsonl"
    records = [json.loads(line) for line in text.splitlines() if line] if lines else json.loads(text)
    items = [r for r in records if r["model"] == "taggit.taggeditem" and r.get("pk") is None]
    return len(items) - len({r["fields"]["object_id"] for r in items})


def same_as_loaddata(report: dict[str, Any], pks: bool, fixture: Path | None = None) -> None:
    """Every object the same by natural identity; with ``pks``, every table the same row by row. One deliberate
    difference: the tagged items ``loaddata`` loses (``taggit_overwritten``) are restored."""
    natural = dict(report["natural"])
    tagged = natural.get("taggit.taggeditem")
    if tagged is not None and fixture is not None and tagged["counts"] == [0, taggit_overwritten(fixture)]:
        del natural["taggit.taggeditem"]
    if natural:
        pytest.fail("objects differ from loaddata's:\n" + summary(natural))
    if pks and report["raw"]:
        pytest.fail("rows differ from loaddata's:\n" + summary(report["raw"]))
    if report["sequences"]:
        pytest.fail(f"sequences behind their tables: {report['sequences']}")


def xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


def known_failures() -> dict[tuple[str, str], str]:
    """What the engine gets wrong today, per (dialect, fixture): tests/djangoproject/known-failures.toml."""
    with (PROJECT / "known-failures.toml").open("rb") as file:
        return {(c["dialect"], c["fixture"]): c["reason"] for c in tomllib.load(file)["case"]}


KNOWN = known_failures()


def cases(names: list[str], dialects: list[str] = DIALECTS) -> list[Any]:
    return [
        pytest.param(
            dialect,
            name,
            id=f"{dialect}-{name}",
            marks=[xfail(KNOWN[dialect, name])] if (dialect, name) in KNOWN else [],
        )
        for dialect in dialects
        for name in names
    ]


def construct_cases() -> list[Any]:
    """Every construct cut from the pk and the natural-key dump on SQLite; from the natural one on PostgreSQL
    (the backends differ in storage, not in how references resolve)."""
    return [
        case
        for dialect, dumps in CONSTRUCT_DUMPS.items()
        for case in cases(
            [f"{c}:{d}" for c in CONSTRUCTS for d in dumps if dialect == "postgresql" or c not in POSTGRESQL_ONLY],
            [dialect],
        )
    ]


@pytest.mark.parametrize(
    ("dialect", "name"),
    [*construct_cases(), *cases([*DUMPS, *HAND_WRITTEN]), *cases(HAND_WRITTEN_POSTGRESQL, ["postgresql"])],
)
def test_restore_matches_loaddata(project: Project, dialect: str, name: str, tmp_path: Path) -> None:
    """No profile, but for the whole project's dumps: they hold catalog.banner.section, an FK without
    constraint whose name names no model and whose values are pks, which nothing but a profile can tell
    (its construct case, fk-without-db-constraint, shows the refusal): one line of a profile file says it."""
    fixture = project.fixture(dialect, name)
    options: tuple[str, ...] = ()
    if name in DUMPS:
        profile = tmp_path / "profile.toml"
        profile.write_text(BANNER_SECTION)
        options = ("--profile", str(profile))
    outcome, report = run_both(project, dialect, fixture, tmp_path / "ledger.sqlite3", *options)
    assert report["loaddata"] is None, f"Django's loaddata refused the fixture: {report['loaddata']}"
    assert outcome.exit_code == 0, outcome.output
    same_as_loaddata(report, pks=name.rsplit(":", 1)[-1] in KEEPS_PKS, fixture=fixture)


# Fixtures Django refuses, with what the restore's message must name: the record's model and the problem.
BAD = {
    "bad-m2m-not-list.json": ("auth.group", "permissions"),
    "bad-unknown-field.json": ("catalog.product", "colour"),
    "bad-wrong-type.json": ("catalog.specimen", "many"),
    "bad-missing-reference.json": ("catalog.product", "999"),
    "bad-unknown-model.json": ("catalog.nosuchmodel", "nosuchmodel"),
    "bad-composite-pk-arity.json": ("catalog.stocklevel", "pk must be a list of 2 values"),
    "bad-composite-pk-part.json": ("catalog.stocklevel", "'bin'"),
}


def check_refused(outcome: Any, report: dict[str, Any], named: tuple[str, ...], ledger: Path) -> None:
    """Refused as loaddata refuses: exit 1, the record and the problem named, the failure recorded in the
    ledger, no row written."""
    assert report["loaddata"] is not None, "Django's loaddata accepted the fixture"
    assert outcome.exit_code == 1, (
        f"exit {outcome.exit_code}, Django refused with {report['loaddata']}:\n{outcome.output}"
    )
    assert "Traceback" not in outcome.output, outcome.output
    for part in named:
        assert part in outcome.output, f"the message does not name {part!r}: {outcome.output}"
    [recorded] = ledger_restores(ledger)
    assert recorded["status"] == "failed", recorded["status"]
    assert named[0] in recorded["failure"]["record"] + recorded["failure"]["reason"], recorded["failure"]
    if report["raw"]:
        pytest.fail("the refused restore wrote rows:\n" + summary(report["raw"]))


BAD_POSTGRESQL = {  # PostgreSQL's arrays
    "bad-array-ragged.json": ("pg_arrays.reading", "grid", "lists of different lengths"),
    "bad-array-not-a-list.json": ("pg_arrays.reading", "values", "expected a list"),
}


@pytest.mark.parametrize(("dialect", "name"), [*cases(list(BAD)), *cases(list(BAD_POSTGRESQL), ["postgresql"])])
def test_restore_refuses_what_loaddata_refuses(project: Project, dialect: str, name: str, tmp_path: Path) -> None:
    outcome, report = run_both(project, dialect, FIXTURES / name, tmp_path / "ledger.sqlite3")
    check_refused(outcome, report, (BAD | BAD_POSTGRESQL)[name], tmp_path / "ledger.sqlite3")


@pytest.mark.parametrize(("dialect", "name"), cases(["nul-from-sqlite"], ["postgresql"]))
def test_text_with_nul_is_refused_on_postgresql_as_by_loaddata(
    project: Project, dialect: str, name: str, tmp_path: Path
) -> None:
    """A SQLite dump holding NUL characters: PostgreSQL cannot store them, and Django refuses the fixture."""
    fixture = project.fixture("sqlite", "dump-natural-exclude.json")
    outcome, report = run_both(project, dialect, fixture, tmp_path / "ledger.sqlite3")
    check_refused(outcome, report, ("catalog.",), tmp_path / "ledger.sqlite3")


CHANGED = FIXTURES / "docs-style-changed.json"
# What docs-style-changed.json changes in rows that exist: Django overwrites them; by default the restore keeps
# the target's values (and the kept product's many-to-many links, on both sides of the symmetrical relation).
KEPT = {"catalog.warehouse": ("Bergen", {"city"}), "catalog.product": ("Hand-made mug", {"name", "related"})}


def loaded_base(project: Project, dialect: str) -> Database:
    backend = project.backend(dialect)
    base = backend.fresh("base")
    manage("loaddata", str(FIXTURES / "docs-style.json"), db=base.django)
    return base


@pytest.mark.parametrize(("dialect", "name"), cases(["keep-existing"]))
def test_existing_rows_are_kept_where_loaddata_overwrites_them(
    project: Project, dialect: str, name: str, tmp_path: Path
) -> None:
    """A deliberate difference: rows whose natural key or pk exists with other values keep the target's values
    (``--on-conflict keep-existing``, the default); ``loaddata`` overwrites them. Nothing else differs: the new
    warehouse is there as loaddata has it."""
    base = loaded_base(project, dialect)
    try:
        outcome, report = run_both(project, dialect, CHANGED, tmp_path / "ledger.sqlite3", base=base)
    finally:
        project.backend(dialect).drop(base)
    assert report["loaddata"] is None, report["loaddata"]
    assert outcome.exit_code == 0, outcome.output
    differences = report["natural"]
    assert set(differences) == set(KEPT), summary(differences)
    for label, (kept, fields) in KEPT.items():
        found = differences[label]
        assert any(kept in row for row in found["extra"]), summary(differences)
        for oracle, restored in pairs(found["missing"], found["extra"]):
            assert oracle is not None and restored is not None, summary(differences)
            changed = {k for k in {*oracle, *restored} if oracle.get(k) != restored.get(k)}
            assert changed <= fields, summary(differences)


@pytest.mark.parametrize(("dialect", "name"), cases(["on-conflict-update"]))
def test_on_conflict_update_overwrites_as_loaddata_does(
    project: Project, dialect: str, name: str, tmp_path: Path
) -> None:
    base = loaded_base(project, dialect)
    try:
        outcome, report = run_both(
            project, dialect, CHANGED, tmp_path / "ledger.sqlite3", "--on-conflict", "update", base=base
        )
    finally:
        project.backend(dialect).drop(base)
    assert report["loaddata"] is None, report["loaddata"]
    assert outcome.exit_code == 0, outcome.output
    same_as_loaddata(report, pks=False)


# Backup packages written by restore-ledger's Django app from a source on one backend, restored into a target on
# the same or the other backend with the package's own profile; the fixture inside is what loaddata loads. The
# whole project, and the project less its composite-pk model (Django 5.2 CompositePrimaryKey).
PACKAGES = {"package-from-sqlite": ("sqlite", ()), "package-from-postgresql": ("postgresql", ())}
PACKAGES |= {f"{name}-without-composite-pk": (source, ("--exclude", "catalog.stocklevel")) for name, (source, _) in
             PACKAGES.items()}  # fmt: skip


def package_cases() -> list[Any]:
    return [
        case
        for name, (source, _) in PACKAGES.items()
        for case in cases([name], ["sqlite"] if source == "sqlite" else DIALECTS)
    ]


@pytest.mark.parametrize(("dialect", "name"), package_cases())
def test_a_package_of_the_project_restores_as_loaddata_loads_its_fixture(
    project: Project, dialect: str, name: str, tmp_path: Path
) -> None:
    source_dialect, flags = PACKAGES[name]
    if source_dialect != dialect:  # PostgreSQL's arrays have no SQLite column: left out of a package for SQLite
        flags = (*flags, "--exclude", "pg_arrays")
    source = project.source(source_dialect)
    package = source.package(f"{name}-for-{dialect}", *flags)
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["source_system"]["database_vendor"] == source_dialect
    assert (package / "profile.toml").is_file()
    ledger = tmp_path / "ledger.sqlite3"

    outcome, report = run_both(project, dialect, package, ledger, fixture=package / PACKAGE_FIXTURE)

    assert report["loaddata"] is None, f"Django's loaddata refused the package's fixture: {report['loaddata']}"
    assert outcome.exit_code == 0, outcome.output
    assert "--profile" not in outcome.output
    same_as_loaddata(report, pks=False, fixture=package / PACKAGE_FIXTURE)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RESTORE_LEDGER), *args, "--reason", "array test"], capture_output=True, text=True)


@pytest.mark.parametrize(("dialect", "name"), cases(["arrays-roll-back"], ["postgresql"]))
def test_restored_arrays_roll_back_and_a_changed_array_is_named(
    project: Project, dialect: str, name: str, tmp_path: Path
) -> None:
    """The rollback's digests cover array columns: an item changed after the restore stops the rollback,
    naming the row; put back, the rollback removes every restored row."""
    backend = project.backend(dialect)
    target, ledger = backend.fresh("arrays"), tmp_path / "ledger.sqlite3"
    try:
        assert restore(FIXTURES / "style-postgresql-arrays.json", target, ledger).exit_code == 0
        [restored] = ledger_restores(ledger)
        with psycopg.connect(target.django, autocommit=True) as conn:
            conn.execute("UPDATE pg_arrays_reading SET grid[1][2] = 99 WHERE id = 1")
            refused = cli("rollback", restored["restore_id"], "--target", target.url, "--ledger", str(ledger))
            conn.execute("UPDATE pg_arrays_reading SET grid[1][2] = NULL WHERE id = 1")
            done = cli("rollback", restored["restore_id"], "--target", target.url, "--ledger", str(ledger))
            left = conn.execute("SELECT count(*) FROM pg_arrays_reading").fetchone()
    finally:
        backend.drop(target)

    assert refused.returncode == 1 and "pg_arrays_reading" in refused.stdout + refused.stderr, refused
    assert done.returncode == 0, done.stdout + done.stderr
    assert left == (0,)


# What the schema cannot tell, and a one-sided backup does not: the product's self M2M is symmetrical.
SYMMETRICAL = """[models."catalog.product".many_to_many]
related = { table = "catalog_product_related", source_column = "from_product_id", target_column = "to_product_id", \
model = "catalog.product", symmetrical = true }
"""


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", ["style-pks-as-strings.json", "style-natural-keys-without-pk.json"])
def test_a_symmetrical_link_given_on_one_side_gets_its_reverse_when_a_profile_says_so(
    project: Project, dialect: str, name: str, tmp_path: Path
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(SYMMETRICAL)
    outcome, report = run_both(project, dialect, FIXTURES / name, tmp_path / "ledger.sqlite3", "--profile", profile)
    assert report["loaddata"] is None, report["loaddata"]
    assert outcome.exit_code == 0, outcome.output
    same_as_loaddata(report, pks=False)


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_profile_show_says_what_is_assumed_of_a_self_relation_given_on_one_side(project: Project, dialect: str) -> None:
    backend = project.backend(dialect)
    target = backend.fresh("shown")
    try:
        shown = subprocess.run(
            [str(RESTORE_LEDGER), "profile", "show", "--target", target.url, "--backup",
             str(FIXTURES / "style-pks-as-strings.json")],
            capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )  # fmt: skip
    finally:
        backend.drop(target)
    assert shown.returncode == 0, shown.stderr
    assert (
        "# many-to-many related: symmetry unknown, links written as the backup gives them: 1 of its 1 links come "
        "in one direction only (record 4 links to record 3)" in shown.stdout
    )


@pytest.mark.parametrize(
    ("dialect", "name"),
    [("sqlite", "fk-without-db-constraint:dump-pk.json"), ("postgresql", "fk-without-db-constraint:dump-natural.json")],
)
def test_a_foreign_key_without_constraint_named_in_a_profile_file_restores_as_loaddata_loads_it(
    project: Project, dialect: str, name: str, tmp_path: Path
) -> None:
    """What the refusal of such a field says to do: name its model in a profile file."""
    profile = tmp_path / "profile.toml"
    profile.write_text(BANNER_SECTION)
    fixture = project.fixture(dialect, name)
    outcome, report = run_both(project, dialect, fixture, tmp_path / "ledger.sqlite3", "--profile", profile)
    assert report["loaddata"] is None, report["loaddata"]
    assert outcome.exit_code == 0, outcome.output
    same_as_loaddata(report, pks=name.rsplit(":", 1)[-1] in KEEPS_PKS)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", ["style-fields-left-out.json", "docs-style.jsonl", "docs-style.json"])
def test_fields_left_out_take_the_model_defaults_the_projects_exported_profile_gives(
    project: Project, dialect: str, name: str, tmp_path: Path
) -> None:
    """Python-side model defaults (treebeard's numchild, a product's description) are known to the profile
    ``manage.py restore_ledger_profile`` exports (as a backup package carries it), and the restore applies them."""
    profile = tmp_path / "profile.toml"
    profile.write_text(manage("restore_ledger_profile", db=project.backend(dialect).template.django))
    outcome, report = run_both(project, dialect, FIXTURES / name, tmp_path / "ledger.sqlite3", "--profile", profile)
    assert report["loaddata"] is None, report["loaddata"]
    assert outcome.exit_code == 0, outcome.output
    same_as_loaddata(report, pks=False)
