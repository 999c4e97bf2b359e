"""Checking backup values against their column's kind, and bringing them to one logical form.

The logical form is what the ledger records: JSON values that say exactly what the
row holds, whatever the backend (UUIDs as canonical strings, datetimes as ISO 8601
in UTC, durations as microseconds, decimals as strings). Storage forms are the
projection's business.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.profile import ARRAY_ITEMS, Column, Kind

_DJANGO_DURATION = re.compile(
    r"^(?:(?P<days>-?\d+) (days?, )?)?(?P<sign>-?)(?:(?P<hours>\d+):)?(?P<minutes>\d+):"
    r"(?P<seconds>\d+)(?:[.,](?P<micro>\d{1,6})\d*)?$"
)
_ISO_DURATION = re.compile(
    r"^(?P<sign>[-+]?)P(?:(?P<days>\d+(?:[.,]\d+)?)D)?(?:T(?:(?P<hours>\d+(?:[.,]\d+)?)H)?"
    r"(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)


class ValueProblem(ValueError):
    """A value that does not fit its column; the message says why."""


_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")


def _integer(value: Any) -> int:
    """An integer, or its text as Django's ``to_python`` reads it (``"6"``); a duration string too,
    since Django keeps a DurationField in a bigint on SQLite."""
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    if isinstance(value, str) and (_DJANGO_DURATION.match(value) or _ISO_DURATION.match(value)):
        return parse_duration(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueProblem(f"expected an integer, got {value!r}")
    return value


def _float(value: Any) -> float:
    """A number, or its text as Django's ``FloatField.to_python`` reads it (``"1.5"``)."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueProblem(f"expected a number, got {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueProblem(f"expected a finite number, got {value!r}")
        return number
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueProblem(f"expected a number, got {value!r}")
    return float(value)


def _decimal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueProblem(f"expected a decimal, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueProblem(f"expected a decimal, got {value!r}") from None
    if not number.is_finite():
        raise ValueProblem(f"expected a finite decimal, got {value!r}")
    return str(value)


_BOOLEAN_TEXT = {"t": True, "True": True, "1": True, "f": False, "False": False, "0": False}


def _boolean(value: Any) -> bool:
    """true or false, or what Django's ``BooleanField.to_python`` reads as one (``"t"``, ``1``...)."""
    if value in (0, 1) and not isinstance(value, bool | float):
        return bool(value)
    if isinstance(value, str) and value in _BOOLEAN_TEXT:
        return _BOOLEAN_TEXT[value]
    if not isinstance(value, bool):
        raise ValueProblem(f"expected true or false, got {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"expected a string, got {value!r}")
    return value


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid(value: Any) -> str:
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value
    if not isinstance(value, str):
        raise ValueProblem(f"expected a UUID, got {value!r}")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueProblem(f"expected a UUID, got {value!r}") from None


def _datetime(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"expected an ISO 8601 datetime, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueProblem(f"expected an ISO 8601 datetime, got {value!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat()


def _date(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"expected an ISO 8601 date, got {value!r}")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueProblem(f"expected an ISO 8601 date, got {value!r}") from None


def _time(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"expected an ISO 8601 time, got {value!r}")
    try:
        return time.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueProblem(f"expected an ISO 8601 time, got {value!r}") from None


def parse_duration(value: str) -> int:
    """Microseconds of a duration in Django's own form (``"3 01:02:03.5"``) or ISO 8601."""
    match = _DJANGO_DURATION.match(value)
    if match:
        parts = match.groupdict()
        sign = -1 if parts["sign"] == "-" else 1
        micro = int((parts["micro"] or "0").ljust(6, "0"))
        delta = timedelta(
            hours=int(parts["hours"] or 0),
            minutes=int(parts["minutes"]),
            seconds=int(parts["seconds"]),
            microseconds=micro,
        )
        total = timedelta(days=int(parts["days"] or 0)) + sign * delta
        return total // timedelta(microseconds=1)
    match = _ISO_DURATION.match(value)
    if match and value not in ("P", "PT", "-P", "+P"):
        amounts: dict[str, float] = {
            k: float((v or "0").replace(",", ".")) for k, v in match.groupdict().items() if k != "sign"
        }
        total = timedelta(
            days=amounts["days"], hours=amounts["hours"], minutes=amounts["minutes"], seconds=amounts["seconds"]
        )
        sign = -1 if match.group("sign") == "-" else 1
        return sign * (total // timedelta(microseconds=1))
    raise ValueProblem(f"expected a duration, got {value!r}")


def _duration(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueProblem(f"expected a duration, got {value!r}")
    return value if isinstance(value, int) else parse_duration(value)


def _json(value: Any) -> Any:
    return value


def _binary(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"expected base64 text, got {value!r}")
    return value


def _ip_address(value: Any) -> str:
    """An IP address as Django's ``GenericIPAddressField.to_python`` reads it: stripped, and an IPv6
    address compressed and lower-cased (``2001:DB8::1`` is ``2001:db8::1``); an IPv4-mapped one stays
    ``::ffff:a.b.c.d`` (the field's default ``unpack_ipv4=False``)."""
    if not isinstance(value, str):
        raise ValueProblem(f"expected an IP address, got {value!r}")
    text = value.strip()
    if ":" not in text:
        return text
    value = text
    try:
        if len(value) > 39:
            raise ValueError(value)
        address = ipaddress.IPv6Address(int(ipaddress.IPv6Address(value)))
    except ValueError:
        raise ValueProblem(f"expected an IPv4 or IPv6 address, got {value!r}") from None
    return f"::ffff:{address.ipv4_mapped}" if address.ipv4_mapped else str(address)


_NORMALISERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.INTEGER: _integer,
    Kind.FLOAT: _float,
    Kind.DECIMAL: _decimal,
    Kind.BOOLEAN: _boolean,
    Kind.TEXT: _text,
    Kind.UUID: _uuid,
    Kind.DATETIME: _datetime,
    Kind.DATE: _date,
    Kind.TIME: _time,
    Kind.DURATION: _duration,
    Kind.JSON: _json,
    Kind.BINARY: _binary,
    Kind.IP_ADDRESS: _ip_address,
}


def _array(column: Column, value: Any) -> list[Any]:
    """Django's ``ArrayField.to_python``: ``dumpdata`` writes a JSON text of the items' own text forms
    (``'["1", "2"]'``, a nested array's items each such a text), a hand-written fixture may give a list;
    each item is read as its kind's field reads it. NULL items are kept, as PostgreSQL keeps them."""
    if column.item not in ARRAY_ITEMS:
        kind = column.item.value if column.item else "unknown kind"
        raise ValueProblem(f"is an array of {kind}, which restore-ledger does not restore")
    item = Column(column.name, column.item, True, column.max_length)
    return _items(item, value, max(column.dimensions, 1))


def _items(item: Column, value: Any, depth: int) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueProblem(f"expected a list or its JSON text, got {value!r}") from None
    if not isinstance(value, list):
        raise ValueProblem(f"expected a list or its JSON text, got {value!r}")
    result = []
    for position, each in enumerate(value):
        try:
            if depth == 1:
                result.append(normalise(item, each))
            elif each is None:
                raise ValueProblem("is null where a list is expected (an array's rows cannot be NULL)")
            else:
                result.append(_items(item, each, depth - 1))
        except ValueProblem as problem:
            raise ValueProblem(f"item {position}: {problem}") from None
    if depth > 1 and len({len(inner) for inner in result}) > 1:
        raise ValueProblem("holds lists of different lengths, which a PostgreSQL array cannot store")
    return result


def normalise(column: Column, value: Any) -> Any:
    """The logical form of ``value`` for ``column``; ``ValueProblem`` when it does not fit."""
    if value is None:
        if column.nullable:  # a JSONField's null too: Django stores None as SQL NULL, never as JSON 'null'
            return None
        raise ValueProblem("is null but the column is NOT NULL")
    if column.kind is Kind.ARRAY:
        return _array(column, value)
    result = _NORMALISERS[column.kind](value)
    if result == "" and column.kind is Kind.IP_ADDRESS:  # Django stores a blank IP address as NULL
        if column.nullable:
            return None
        raise ValueProblem("is blank, which Django stores as null, but the column is NOT NULL")
    if column.max_length is not None and isinstance(result, str) and len(result) > column.max_length:
        raise ValueProblem(f"is {len(result)} characters long, the column holds {column.max_length}")
    return result


_NUL = "holds a NUL character (\\x00), which a PostgreSQL text or JSON column cannot store"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def checker(column: Column, allows_nul: bool = True) -> Callable[[Any], Any]:
    """``normalise`` for one column, with a fast path for the values that need no change.

    ``allows_nul`` False (PostgreSQL): text and JSON holding NUL is refused, never stored changed.
    """
    if not allows_nul and column.kind in (Kind.TEXT, Kind.JSON, Kind.ARRAY, Kind.IP_ADDRESS):
        check_value = checker(column)

        def check_nul(value: Any) -> Any:
            if type(value) is str:  # most values: no call into the walk of nested JSON
                if "\x00" in value:
                    raise ValueProblem(_NUL)
            elif _holds_nul(value):
                raise ValueProblem(_NUL)
            return check_value(value)

        return check_nul
    if column.kind is Kind.TEXT:
        limit = column.max_length

        def check_text(value: Any) -> Any:
            if type(value) is str and (limit is None or len(value) <= limit):
                return value
            return normalise(column, value)

        return check_text
    if column.kind is Kind.JSON:  # any JSON value but null is the column's logical form

        def check_json(value: Any) -> Any:
            return value if value is not None else normalise(column, value)

        return check_json
    if column.kind is Kind.UUID:
        canonical = _CANONICAL_UUID.fullmatch

        def check_uuid(value: Any) -> Any:
            if type(value) is str and canonical(value):
                return value
            return normalise(column, value)

        return check_uuid
    exact = {Kind.INTEGER: int, Kind.BOOLEAN: bool, Kind.FLOAT: float}.get(column.kind)
    if exact is not None:

        def check_exact(value: Any) -> Any:
            return value if type(value) is exact else normalise(column, value)

        return check_exact

    def check(value: Any) -> Any:
        return normalise(column, value)

    return check
