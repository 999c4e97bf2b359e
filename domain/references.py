"""References that are not foreign keys, and references bound by pk alone: how a plan decides them.

- Soft references: a non-unique UUID column holding another row's UUID (an audit trail's
  ``object_uuid``). Its value is kept, and follows the row when that row's UUID is reassigned.
- Generic foreign keys: a content type and an object id (Django's ``GenericForeignKey``).
  The object id follows the row when that row gets another pk.
- Pk bindings: a pk-only reference to a row that is not in the backup binds to the target's
  row with that pk, as Django's ``loaddata`` does; each binding is recorded with the target
  row's natural key, so that a reviewer sees which row the pk named.

Pure: the planner hands over what it knows; every decision is a plain dict for the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

REFERRERS_SHOWN = 3


@dataclass
class ReferenceDecisions:
    """Decisions about references, by model (and column), each entry a plain dict."""

    soft: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    generic: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    bound: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    links: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    unlinked: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def bind(self, model: str, pk: Any, key: tuple[Any, ...] | None, referrer: str, how: str) -> None:
        """A pk-only reference to ``model`` pk ``pk``, a row the backup does not hold."""
        entry = self.bound[model].get(pk)
        if entry is None:
            entry = {
                "pk": pk,
                "key": None if key is None else list(key),
                "found": key is not None or how != "dangling",
                "how": how,
                "referenced_by": [],
                "references": 0,
            }
            self.bound[model][pk] = entry
        entry["references"] += 1
        if len(entry["referenced_by"]) < REFERRERS_SHOWN:
            entry["referenced_by"].append(referrer)

    def counts(self) -> dict[str, int]:
        return {
            "pks bound": sum(map(len, self.bound.values())),
            "soft references followed": sum(map(len, self.soft.values())),
            "generic references followed": sum(map(len, self.generic.values())),
            "links added": sum(map(len, self.links.values())),
            "links removed": sum(map(len, self.unlinked.values())),
        }


def refused_bindings(bound: dict[str, dict[Any, dict[str, Any]]], seeded: set[str]) -> list[str]:
    """Bindings by pk to seeded models of a re-initialised target: the pks may name other rows now."""
    lines = []
    for model in sorted(bound.keys() & seeded):
        for entry in bound[model].values():
            now = f" (now {tuple(entry['key'])!r})" if entry["key"] is not None else ""
            more = entry["references"] - len(entry["referenced_by"])
            lines.append(
                f"{model} pk={entry['pk']!r}{now} referenced by {', '.join(entry['referenced_by'])}"
                + (f" and {more} more" if more > 0 else "")
            )
    return lines


class UuidFollower:
    """Old -> new UUIDs of restored rows whose identity UUID was reassigned; ambiguous ones are None."""

    def __init__(self) -> None:
        self.new: dict[str, str | None] = {}
        self.owner: dict[str, str] = {}

    def add(self, model: str, old: str, new: str) -> None:
        if old in self.new and self.new[old] != new:
            self.new[old] = None  # two rows had this UUID: a soft reference to it is not followed
            return
        self.new[old] = new
        self.owner[old] = model

    def follow(self, value: Any) -> tuple[str, str] | None:
        """(new UUID, model) when ``value`` is the old UUID of exactly one reassigned row."""
        new = self.new.get(value) if value is not None else None
        return None if new is None else (new, self.owner[value])
