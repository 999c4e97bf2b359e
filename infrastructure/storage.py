"""Logical values (as the ledger records them) to each backend's storage form, and back.

The storage form is the one Django itself writes on that backend, so that the
application reads restored rows back exactly as it wrote the originals.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Any
from uuid import UUID

from domain.profile import Kind

Converter = Callable[[Any], Any]


def same(value: Any) -> Any:
    return value


def _skip_none(convert: Converter) -> Converter:
    def converter(value: Any) -> Any:
        return None if value is None else convert(value)

    return converter


def _sqlite_datetime(value: str) -> str:
    """Django's SQLite form: naive UTC, ``str(datetime)``. The ledger's form is ISO 8601 in UTC."""
    if value.endswith("+00:00"):
        return value[:-6].replace("T", " ", 1)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return str(moment)


def _json_text(value: Any) -> str:
    return json.dumps(value)


def _binary(value: str) -> bytes:
    return base64.b64decode(value)


_SQLITE: dict[Kind, Converter] = {
    Kind.UUID: _skip_none(lambda value: value.replace("-", "")),
    Kind.DATETIME: _skip_none(_sqlite_datetime),
    Kind.JSON: _skip_none(_json_text),  # None is SQL NULL, as Django stores a JSONField's None
    Kind.BINARY: _skip_none(_binary),
}


def _interval(value: int) -> timedelta:
    return timedelta(microseconds=value)


_POSTGRESQL: dict[Kind, Converter] = {
    Kind.JSON: _skip_none(_json_text),
    Kind.BINARY: _skip_none(_binary),
    Kind.DURATION: _skip_none(_interval),
}


def to_storage(dialect: str, kind: Kind) -> Converter:
    """The function that turns a logical value of ``kind`` into what ``dialect`` stores."""
    table = _SQLITE if dialect == "sqlite" else _POSTGRESQL
    return table.get(kind, same)


def uuid_from_storage(value: Any) -> Any:
    """A stored UUID (hex on SQLite, uuid on PostgreSQL) in the ledger's canonical form."""
    if value is None:
        return None
    text = str(value).replace("-", "")
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}" if len(text) == 32 else value


def _datetime_from_storage(value: Any) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat()


def _iso(value: Any) -> str:
    return value if isinstance(value, str) else str(value.isoformat())


def _json_from_storage(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _duration_from_storage(value: Any) -> int:
    return value // timedelta(microseconds=1) if isinstance(value, timedelta) else int(value)


def _array_from_storage(value: Any) -> Any:
    """A PostgreSQL array as psycopg reads it (nested lists of Python values) in the logical form of its
    items (PostgreSQL's arrays hold the kinds of ``ARRAY_ITEMS``, whose logical form it reads as it is)."""
    if isinstance(value, list):
        return [_array_from_storage(item) for item in value]
    if isinstance(value, datetime):
        return _datetime_from_storage(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID | IPv4Address | IPv6Address):  # inet: an ipaddress object
        return str(value)
    return value


_FROM_STORAGE: dict[Kind, Converter] = {
    Kind.UUID: uuid_from_storage,
    Kind.DATETIME: _skip_none(_datetime_from_storage),
    Kind.DATE: _skip_none(_iso),
    Kind.TIME: _skip_none(_iso),
    Kind.DECIMAL: _skip_none(str),
    Kind.BOOLEAN: _skip_none(bool),
    Kind.JSON: _skip_none(_json_from_storage),
    Kind.DURATION: _skip_none(_duration_from_storage),
    Kind.BINARY: _skip_none(lambda value: base64.b64encode(bytes(value)).decode()),
    Kind.ARRAY: _array_from_storage,
    Kind.IP_ADDRESS: _skip_none(str),  # PostgreSQL's inet comes back as an ipaddress object
}


def from_storage(kind: Kind) -> Converter:
    """The function that turns a stored value (either backend) into the ledger's logical form."""
    return _FROM_STORAGE.get(kind, same)
