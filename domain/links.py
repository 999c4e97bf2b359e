"""Many-to-many links as ``loaddata`` leaves them: a record's many-to-many field is its row's links
(Django's ``set()``), record after record.

For a new row that is simply the links the record gives. For a row matched onto an existing one, the
links it lacks are added; with ``--on-conflict update`` the links it has and the record does not give are
removed too, each removal a decision. A symmetrical self relation (Django's ``ManyToManyField("self")``)
holds each link in both directions: a link a record gives adds its reverse, and a link it takes away goes
in both directions, so a later record can undo what an earlier one gave; this is worked out over the whole
backup before any of its links is written.

Pure: the planner hands over resolved pks; links are (source pk, target pk) pairs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Existing = dict[Any, dict[Any, Any]]  # source pk -> target pk -> the link's id


@dataclass(frozen=True, slots=True)
class Change:
    """A link added or removed, and the record whose field decided it."""

    source: Any
    target: Any
    ordinal: int
    link_id: Any = None  # a removed link's id in the through table
    reverse: bool = False  # the reverse of a link of a symmetrical relation


def existing_by_source(rows: Iterable[tuple[Any, Any, Any]]) -> Existing:
    """``(id, source, target)`` rows of a through table, by source and target."""
    found: Existing = {}
    for link_id, source, target in rows:
        found.setdefault(source, {})[target] = link_id
    return found


class SymmetricLinks:
    """The links of one symmetrical self relation, record after record, from the target's links of the
    rows the backup matched (``existing``, loaded in both directions)."""

    def __init__(self, existing: Existing) -> None:
        self.existing = existing
        self._state: dict[Any, dict[Any, None]] = {}  # ordered: links come out in the order they were given
        self._cause: dict[tuple[Any, Any], tuple[int, bool]] = {}

    def _targets(self, pk: Any) -> dict[Any, None]:
        if pk not in self._state:
            self._state[pk] = dict.fromkeys(self.existing.get(pk, {}))
        return self._state[pk]

    def assign(self, ordinal: int, pk: Any, targets: list[Any], replace: bool) -> None:
        """The record ``ordinal`` gives row ``pk`` these links; ``replace``: and no others."""
        old = self._targets(pk)
        wanted = dict.fromkeys(targets)
        if replace:
            for target in [t for t in old if t not in wanted]:
                self._set(pk, target, ordinal, False)
        for target in wanted:
            if target not in old:
                self._set(pk, target, ordinal, True)

    def _set(self, pk: Any, target: Any, ordinal: int, linked: bool) -> None:
        for source, other, reverse in ((pk, target, False), (target, pk, True)):
            targets = self._targets(source)
            if linked:
                targets[other] = None
            else:
                targets.pop(other, None)
            self._cause[(source, other)] = (ordinal, reverse)

    def changes(self) -> tuple[list[Change], list[Change]]:
        """(added, removed): the links the target gains and loses, against what it held."""
        added: list[Change] = []
        removed: list[Change] = []
        for source, targets in self._state.items():
            had = self.existing.get(source, {})
            for target in targets:
                if target not in had:
                    ordinal, reverse = self._cause[(source, target)]
                    added.append(Change(source, target, ordinal, reverse=reverse))
            for target, link_id in had.items():
                if target not in targets:
                    ordinal, reverse = self._cause[(source, target)]
                    removed.append(Change(source, target, ordinal, link_id, reverse))
        return added, removed
