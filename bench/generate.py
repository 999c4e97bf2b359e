"""Generate a backup of the example EDMS as ``dumpdata --natural-foreign --natural-primary`` writes it.

    python -m bench.generate 1000000 /tmp/edms-1m.json            # about 500 MB, under a minute
    python -m bench.generate 10000 /tmp/edms-10k.json --seed 7

Exactly N objects of the example project's models, in dumpdata's model order, with wide
rows like a real EDMS backup (about 500 bytes per object): JSON metadata and audit
changes, long transition comments, several datetimes and UUIDs per row, password
hashes, a ``current_version`` forward reference, a self-referencing ``parent`` and
symmetrical ``related`` links. The seeded rows (content types, permissions, system
roles, document and workflow types, ``admin``) are those of examples/edms/schema/seed.json
with the source's own UUIDs, as in examples/edms/backup. Values take Django's serialised
forms: datetimes ISO with milliseconds and ``Z``, decimals as strings, durations as
``duration_string``, UUIDs as strings, natural keys as lists.

Streaming and deterministic: every row is a function of the seed and its index, so
memory stays flat and the same arguments write the same bytes. The shape is proved by
tests/integration/test_bench_generator.py: Django's loaddata loads it into a fresh
example target and dumpdata writes the same objects back.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

SEED_FILE = Path(__file__).resolve().parent.parent / "examples" / "edms" / "schema" / "seed.json"
START = datetime(2023, 1, 2, 8, 0, tzinfo=UTC)
SPAN_MS = 600 * 24 * 3600 * 1000
TYPES = ("SOP", "WI", "POL")
STATES = {"REVIEW": ["draft", "in_review", "reviewed"], "APPROVAL": ["draft", "approved"]}
SITES = ("Basel", "Lyon", "Zürich", "Cork", "Singapore")
DEPARTMENTS = ("QA", "R&D", "Production", "Regulatory affairs", "")
_VOCABULARY = (
    "batch record deviation cleaning validation equipment operator release sampling sterile filter "
    "change control review approve training qualification calibration supplier audit risk "
    "assessment procedure annex specification limit trend investigation root cause corrective "
    "preventive action effectiveness check label packaging stability protocol report signature "
    "électronique contrôle qualité ✓"
)
WORDS = tuple(_VOCABULARY.split())
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Émilie", "Hedy", "John")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "du Châtelet", "Lamarr", "Backus")
FIXED = 14 + 6 + 3 + 12 + 2 + 56 + 1 + 1  # content types, roles, types, tags, workflow types, permissions, group, admin


def uid(kind: str, index: int, seed: int) -> str:
    digest = hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def bits(kind: str, index: int, seed: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=8).digest(), "big")


def stamp(ms: int) -> str:
    """A datetime as Django's JSON encoder writes it: milliseconds, ``Z`` for UTC."""
    moment = START + timedelta(milliseconds=ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}Z" if moment.microsecond else f"{text}Z"


def duration_string(iso: str) -> str:
    """``P730DT00H00M00S`` (the seed's form) as Django's DurationField serialises it: ``730 00:00:00``."""
    days, clock = iso.removeprefix("P").split("DT")
    hours, rest = clock.split("H")
    minutes, seconds = rest.removesuffix("S").split("M")
    text = f"{int(hours):02d}:{int(minutes):02d}:{int(float(seconds)):02d}"
    return f"{int(days)} {text}" if int(days) else text


class Shape:
    """How many documents, users, versions, workflows... N objects make, and each document's traits."""

    def __init__(self, objects: int, seed: int) -> None:
        if objects < FIXED + 100:
            raise ValueError(f"at least {FIXED + 100} objects")
        self.seed = seed
        self.documents = (objects - FIXED) * 2 // 15
        self.users = max(5, self.documents // 3)
        self.traits = [bits("doc", i, seed) for i in range(self.documents)]
        self.versions = sum(self.n_versions(i) for i in range(self.documents))
        self.instances = [i for i in range(self.documents) if self.has_instance(i)]
        self.transitions = sum(len(self.steps(i)) for i in self.instances)
        self.user_roles = sum(1 + bits("user", u, seed) % 2 for u in range(self.users))
        self.audit = objects - FIXED - self.users - self.user_roles - self.documents
        self.audit -= self.versions + len(self.instances) + self.transitions
        if self.audit < self.documents // 2:
            raise ValueError(f"{objects} objects leave too few audit entries")

    def counts(self) -> dict[str, int]:
        """Objects per model label: the rows each model's table holds after a restore into an empty target."""
        return {
            "contenttypes.contenttype": 14, "accounts.role": 6, "documents.documenttype": 3, "documents.tag": 12,
            "workflows.workflowtype": 2, "auth.permission": 56, "auth.group": 1, "accounts.user": 1 + self.users,
            "accounts.userrole": self.user_roles, "audit.auditentry": self.audit, "documents.document": self.documents,
            "documents.documentversion": self.versions, "workflows.workflowinstance": len(self.instances),
            "workflows.workflowtransition": self.transitions,
        }  # fmt: skip

    def code(self, i: int) -> str:
        return TYPES[self.traits[i] % 3]

    def number(self, i: int) -> str:
        return f"{self.code(i)}-2024-{i:07d}"

    def n_versions(self, i: int) -> int:
        return 1 + (self.traits[i] >> 4) % 3

    def has_instance(self, i: int) -> bool:
        return (self.traits[i] >> 8) % 10 < 7

    def workflow(self, i: int) -> str:
        return "REVIEW" if (self.traits[i] >> 12) % 2 else "APPROVAL"

    def steps(self, i: int) -> list[tuple[str, str]]:
        states = STATES[self.workflow(i)]
        mask = self.traits[i] >> 16
        return [(a, b) for k, (a, b) in enumerate(itertools.pairwise(states)) if (mask >> k) % 5 < 3]

    def related(self, i: int) -> list[list[str]]:
        """Symmetrical pairs (10k, 10k+1): each side lists the other, as dumpdata writes both."""
        partner = i + 1 if i % 10 == 0 else i - 1 if i % 10 == 1 else None
        return [[self.number(partner)]] if partner is not None and partner < self.documents else []


def seeded() -> dict[str, tuple[list[str], list[list[Any]]]]:
    return {t["table"]: ([c["name"] for c in t["columns"]], t["rows"]) for t in json.loads(SEED_FILE.read_text())}


def fixed_objects(shape: Shape) -> Iterator[dict[str, Any]]:
    """What a fresh EDMS has, with this source's UUIDs, then the group and its permissions."""
    seed = seeded()
    types = {row[0]: (row[1], row[2]) for row in seed["django_content_type"][1]}
    for _id, app, model in seed["django_content_type"][1]:
        yield {"model": "contenttypes.contenttype", "fields": {"app_label": app, "model": model}}
    roles = sorted(seed["accounts_role"][1], key=lambda row: ["Administrator", "Author", "Reviewer", "Approver",
                                                               "Reader"].index(row[2]))  # fmt: skip
    for k, (_id, _uuid, name, description, system) in enumerate(roles):
        fields = {"uuid": uid("role", k, shape.seed), "name": name, "description": description, "is_system": system}
        yield {"model": "accounts.role", "fields": fields}
    qa = {"uuid": uid("role", 9, shape.seed), "name": "QA Lead", "description": "Quality lead", "is_system": False}
    yield {"model": "accounts.role", "fields": qa}
    for k, (_id, _uuid, code, name, period) in enumerate(sorted(seed["documents_documenttype"][1], key=_seed_order)):
        fields = {
            "uuid": uid("type", k, shape.seed),
            "code": code,
            "name": name,
            "review_period": duration_string(period),
        }
        yield {"model": "documents.documenttype", "fields": fields}
    for k in range(12):
        yield {"model": "documents.tag", "fields": {"name": f"tag-{k}"}}
    for k, (_id, _uuid, code, name, states) in enumerate(sorted(seed["workflows_workflowtype"][1], key=_seed_order)):
        fields = {"uuid": uid("workflow", k, shape.seed), "code": code, "name": name, "states": states}
        yield {"model": "workflows.workflowtype", "fields": fields}
    permissions = sorted(seed["auth_permission"][1], key=lambda row: (*types[row[2]], row[3]))
    for _id, name, type_id, codename in permissions:
        fields = {"name": name, "content_type": list(types[type_id]), "codename": codename}
        yield {"model": "auth.permission", "fields": fields}
    documents = [[p[3], *types[p[2]]] for p in permissions if types[p[2]][0] == "documents"]
    yield {"model": "auth.group", "fields": {"name": "Document control", "permissions": documents}}


def _seed_order(row: list[Any]) -> str:
    """seed_system creates SOP, WI, POL and REVIEW, APPROVAL in this order: their source pks."""
    return {"SOP": "0", "WI": "1", "POL": "2", "REVIEW": "0", "APPROVAL": "1"}[row[2]]


def users(shape: Shape) -> Iterator[dict[str, Any]]:
    rng = random.Random(shape.seed * 31 + 1)
    password = "!" + hashlib.sha256(f"{shape.seed}".encode()).hexdigest()[:40]
    admin: dict[str, Any] = {
        "password": password, "last_login": None, "is_superuser": True, "username": "admin",
        "first_name": "Quality", "last_name": "", "email": "qa.admin@edms.example", "is_staff": True,
        "is_active": True, "date_joined": "2022-12-30T09:14:03.417Z", "uuid": uid("user", -1, shape.seed),
        "department": "", "groups": [], "user_permissions": [],
    }  # fmt: skip
    yield {"model": "accounts.user", "fields": admin}
    for u in range(shape.users):
        salt = hashlib.sha256(f"{shape.seed}:salt:{u}".encode()).hexdigest()
        fields = {
            "password": f"pbkdf2_sha256$870000${salt[:22]}${salt[22:64]}=",
            "last_login": stamp(rng.randrange(SPAN_MS)) if rng.random() < 0.8 else None,
            "is_superuser": False,
            "username": f"user{u:06d}",
            "first_name": rng.choice(FIRST),
            "last_name": rng.choice(LAST),
            "email": f"user{u:06d}@edms.example",
            "is_staff": rng.random() < 0.05,
            "is_active": rng.random() > 0.1,
            "date_joined": stamp(rng.randrange(SPAN_MS)),
            "uuid": uid("user", u, shape.seed),
            "department": rng.choice(DEPARTMENTS),
            "groups": [["Document control"]] if u % 4 == 0 else [],
            "user_permissions": [],
        }
        yield {"model": "accounts.user", "fields": fields}


ROLES = ("Administrator", "Author", "Reviewer", "Approver", "Reader", "QA Lead")


def user_roles(shape: Shape) -> Iterator[dict[str, Any]]:
    rng = random.Random(shape.seed * 31 + 2)
    for u in range(shape.users):
        for role in rng.sample(ROLES, 1 + bits("user", u, shape.seed) % 2):
            fields = {"user": [f"user{u:06d}"], "role": [role], "assigned_at": stamp(rng.randrange(SPAN_MS)),
                      "assigned_by": ["admin"]}  # fmt: skip
            yield {"model": "accounts.userrole", "fields": fields}


def text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high))).capitalize() + "."


def user(rng: random.Random, shape: Shape) -> list[str]:
    return [f"user{rng.randrange(shape.users):06d}"]


def audit(shape: Shape) -> Iterator[dict[str, Any]]:
    rng = random.Random(shape.seed * 31 + 3)
    for k in range(shape.audit):
        i = k * 7919 % shape.documents
        changes: dict[str, Any] = {}
        if rng.random() < 0.7:
            changes = {
                "title": [text(rng, 3, 6), text(rng, 3, 6)],
                "metadata": {"pages": [rng.randint(1, 90), rng.randint(1, 90)], "site": [None, rng.choice(SITES)]},
                "comment": text(rng, 10, 30),
            }
        fields = {
            "uuid": uid("audit", k, shape.seed),
            "at": stamp(rng.randrange(SPAN_MS)),
            "actor": user(rng, shape) if rng.random() > 0.05 else None,
            "action": rng.choice(["create", "update", "view", "approve"]),
            "content_type": ["documents", "document"],
            "object_id": str(i + 1),
            "object_repr": shape.number(i),
            "object_uuid": uid("doc", i, shape.seed),
            "changes": changes,
        }
        yield {"model": "audit.auditentry", "pk": k + 1, "fields": fields}


def documents(shape: Shape) -> Iterator[dict[str, Any]]:
    rng = random.Random(shape.seed * 31 + 4)
    for i in range(shape.documents):
        parent = rng.randrange(i) if i and rng.random() < 0.3 else None
        metadata = {
            "site": rng.choice(SITES),
            "pages": rng.randint(1, 90),
            "language": rng.choice(["en", "de", "fr"]),
            "confidentiality": rng.choice(["internal", "restricted", "public"]),
            "keywords": rng.sample(WORDS, 4),
            "reviewers": [user(rng, shape)[0] for _ in range(2)],
            "review": {"cycle_months": rng.choice([12, 24, 36]), "last": stamp(rng.randrange(SPAN_MS))},
            "checksum": hashlib.md5(f"{shape.seed}:{i}".encode()).hexdigest(),
        }
        effective = (
            (START + timedelta(days=365 + rng.randrange(365))).date().isoformat() if rng.random() > 0.3 else None
        )
        fields = {
            "uuid": uid("doc", i, shape.seed),
            "number": shape.number(i),
            "title": f"{text(rng, 4, 10)} ({shape.code(i)} {i})",
            "document_type": [shape.code(i)],
            "owner": user(rng, shape),
            "parent": [shape.number(parent)] if parent is not None else None,
            "current_version": [shape.number(i), shape.n_versions(i)],
            "metadata": metadata,
            "is_controlled": rng.random() > 0.2,
            "retention_years": rng.choice(["10.00", "15.50", "25.00"]),
            "effective_date": effective,
            "created_at": stamp(rng.randrange(SPAN_MS)),
            "related": shape.related(i),
            "tags": [[f"tag-{t}"] for t in sorted(rng.sample(range(12), rng.randint(0, 3)))],
        }
        yield {"model": "documents.document", "fields": fields}


def versions(shape: Shape) -> Iterator[dict[str, Any]]:
    rng = random.Random(shape.seed * 31 + 5)
    counter = 0
    for i in range(shape.documents):
        number = shape.number(i)
        for version in range(1, shape.n_versions(i) + 1):
            counter += 1
            named = counter % 10 == 0
            content = hashlib.sha256(f"{number} version {version}".encode()).hexdigest()
            fields = {
                "uuid": uid("version", counter, shape.seed),
                "document": [number],
                "version": version,
                "file": f"documents/{number}-v{version}.pdf" if named else "",
                "sha256": content if named else "",
                "review_time": f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:00",
                "created_by": user(rng, shape),
                "created_at": stamp(rng.randrange(SPAN_MS)),
            }
            yield {"model": "documents.documentversion", "fields": fields}


def workflows(shape: Shape) -> Iterator[dict[str, Any]]:
    rng = random.Random(shape.seed * 31 + 6)
    for i in shape.instances:
        steps = shape.steps(i)
        fields = {
            "uuid": uid("instance", i, shape.seed),
            "workflow_type": [shape.workflow(i)],
            "document": [shape.number(i)],
            "state": steps[-1][1] if steps else "draft",
            "started_by": user(rng, shape),
            "started_at": stamp(rng.randrange(SPAN_MS)),
        }
        yield {"model": "workflows.workflowinstance", "fields": fields}


def transitions(shape: Shape) -> Iterator[dict[str, Any]]:
    rng = random.Random(shape.seed * 31 + 7)
    pk = 0
    for i in shape.instances:
        for before, after in shape.steps(i):
            pk += 1
            fields = {
                "instance": [uid("instance", i, shape.seed)],
                "from_state": before,
                "to_state": after,
                "actor": user(rng, shape),
                "at": stamp(rng.randrange(SPAN_MS)),
                "comment": text(rng, 20, 120) if rng.random() < 0.8 else "",
            }
            yield {"model": "workflows.workflowtransition", "pk": pk, "fields": fields}


def objects(shape: Shape) -> Iterator[dict[str, Any]]:
    """Every object in dumpdata's order for the example project (sort_dependencies of its apps)."""
    for part in (fixed_objects, users, user_roles, audit, documents, versions, workflows, transitions):
        yield from part(shape)


def write(count: int, out: TextIO, seed: int = 42) -> int:
    """Write the backup as dumpdata does with ``indent=None``: ``[{...}, {...}]``."""
    shape = Shape(count, seed)
    encode = json.JSONEncoder(ensure_ascii=False).encode
    written = 0
    out.write("[")
    for obj in objects(shape):
        if written:
            out.write(", ")
        out.write(encode(obj))
        written += 1
    out.write("]")
    assert written == count, (written, count)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("objects", type=int, help="how many objects (exactly)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with open(args.output, "w", encoding="utf-8", buffering=1 << 20) as out:
        written = write(args.objects, out, args.seed)
    print(f"wrote {written} objects, {args.output.stat().st_size} bytes, to {args.output}")


if __name__ == "__main__":
    main()
