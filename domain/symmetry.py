"""Whether a self many-to-many relation is symmetrical, where no profile says so.

The schema cannot tell: Django makes the same through table (``from_<model>_id``, ``to_<model>_id``) for
``ManyToManyField("self")`` (symmetrical) and for ``symmetrical=False``. The links can:

- Django keeps both directions of every link of a symmetrical relation, so a link of the target without
  its reverse says the relation is not symmetrical.
- ``dumpdata`` of a symmetrical relation gives every link from both of its rows; a backup that gives one
  link in one direction only is either a dump of an asymmetrical relation or a hand-written fixture of a
  symmetrical one, and nothing tells which: its links are written as given, and that is said.
- Links that all come in both directions, in the target and in the backup, say it is symmetrical (Django
  keeps them so; an asymmetrical relation whose every link is mutual is the unlikely case).

Pure: the backup's links are seen by the forms its records name rows in (a pk, a natural key).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Form = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pairing:
    """How many links one relation holds, and how many of them lack their reverse (with one example)."""

    links: int = 0
    unpaired: int = 0
    example: str = ""


def _flat(value: Any) -> Form:
    if isinstance(value, list | tuple):
        return tuple(part for item in value for part in _flat(item))
    return (str(value),)


def _form(value: Any) -> Form:
    """A reference as a form: a natural key (a list) or a pk."""
    return ("key", *_flat(value)) if isinstance(value, list | tuple) else ("pk", str(value))


class BackupLinks:
    """The links a backup gives the self relations whose symmetry is unknown, per through table."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[Form, int]] = defaultdict(dict)  # form -> the record's ordinal
        self._links: dict[str, list[tuple[int, Form]]] = defaultdict(list)

    def add(self, table: str, ordinal: int, pk: Any, key: Iterable[Any] | None, related: Any) -> None:
        """A record of the relation's model: the forms that name it, and the links its field gives."""
        rows = self._rows[table]
        if pk is not None:
            rows.setdefault(_form(pk), ordinal)
        if key is not None:
            rows.setdefault(_form(list(key)), ordinal)
        if isinstance(related, list):
            self._links[table].extend((ordinal, _form(value)) for value in related)

    def tables(self) -> set[str]:
        return set(self._rows)

    def pairing(self, table: str) -> Pairing:
        rows = self._rows.get(table, {})
        links = {(source, rows.get(form)) for source, form in self._links.get(table, [])}
        unpaired = [(source, target) for source, target in links if target is None or (target, source) not in links]
        example = ""
        if unpaired:
            source, target = min(unpaired, key=lambda link: (link[0], link[1] or 0))
            example = f"record {source} links to " + (f"record {target}" if target else "a row not in the backup")
        return Pairing(len(links), len(unpaired), example)


def decide(target: Pairing, backup: Pairing) -> tuple[bool | None, str]:
    """Symmetrical (True), not (False) or unknown (None: links written as given), and why."""
    if target.unpaired:
        return False, (
            f"not symmetrical: {target.unpaired} of the target's {target.links} links lack their reverse "
            f"({target.example}; Django keeps both directions of a symmetrical relation's links)"
        )
    if backup.unpaired:
        return None, (
            f"symmetry unknown, links written as the backup gives them: {backup.unpaired} of its {backup.links} "
            f"links come in one direction only ({backup.example}): a dump of an asymmetrical relation or a "
            "hand-written fixture of a symmetrical one (give symmetrical = true or false in a profile file)"
        )
    if target.links or backup.links:
        return True, (
            f"symmetrical: every link comes in both directions ({target.links} in the target, {backup.links} in "
            "the backup), as Django keeps a symmetrical relation's; each link is written with its reverse"
        )
    return None, "symmetry unknown: no link in the target or the backup tells; links written as given"
