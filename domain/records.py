"""A record of a Django backup, as ``dumpdata`` writes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """One serialized object: ``ordinal`` counts from 1 in backup order."""

    ordinal: int
    model: str
    pk: Any
    fields: dict[str, Any]


def describe(ordinal: int, model: str, key: tuple[Any, ...] | None = None, pk: Any = None) -> str:
    """``record 12 (documents.document "SOP-1")``: how every message names a record."""
    if key:
        shown = ", ".join(f'"{part}"' if isinstance(part, str) else str(part) for part in key)
        return f"record {ordinal} ({model} {shown})"
    if pk is not None:  # a composite pk as dumpdata writes it: a list
        return f"record {ordinal} ({model} pk={list(pk) if isinstance(pk, tuple) else pk})"
    return f"record {ordinal} ({model})"
