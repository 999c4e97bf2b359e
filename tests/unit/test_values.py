"""Backup values against their column's kind: the logical form the ledger records."""

from __future__ import annotations

import pytest

from domain.profile import Column, Kind
from domain.values import ValueProblem, normalise, parse_duration


def column(kind: Kind, nullable: bool = False, max_length: int | None = None) -> Column:
    return Column("c", kind, nullable, max_length)


@pytest.mark.parametrize(
    ("text", "microseconds"),
    [
        ("730 00:00:00", 730 * 86_400_000_000),
        ("01:02:03.5", 3_723_500_000),
        ("-1 23:00:00", -3_600_000_000),
        ("P1DT2H", 93_600_000_000),
        ("PT0.25S", 250_000),
    ],
)
def test_durations_in_django_and_iso_form_become_microseconds(text: str, microseconds: int) -> None:
    assert parse_duration(text) == microseconds


def test_datetimes_are_recorded_in_utc() -> None:
    assert normalise(column(Kind.DATETIME), "2024-03-01T12:00:00.123+02:00") == "2024-03-01T10:00:00.123000+00:00"
    assert normalise(column(Kind.DATETIME), "2024-03-01T12:00:00Z") == "2024-03-01T12:00:00+00:00"


def test_uuids_are_recorded_in_canonical_form() -> None:
    assert normalise(column(Kind.UUID), "6F9619FF8B86D011B42D00C04FC964FF") == "6f9619ff-8b86-d011-b42d-00c04fc964ff"


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        (Kind.INTEGER, "abc", "expected an integer"),
        (Kind.INTEGER, True, "expected an integer"),
        (Kind.BOOLEAN, "yes", "expected true or false"),
        (Kind.UUID, "not-a-uuid", "expected a UUID"),
        (Kind.DATE, "2024-13-01", "expected an ISO 8601 date"),
        (Kind.DECIMAL, "NaN", "expected a finite decimal"),
        (Kind.TEXT, 12, "expected a string"),
    ],
)
def test_a_value_of_the_wrong_type_is_named(kind: Kind, value: object, problem: str) -> None:
    with pytest.raises(ValueProblem, match=problem):
        normalise(column(kind), value)


def test_null_and_length_are_checked() -> None:
    with pytest.raises(ValueProblem, match="NOT NULL"):
        normalise(column(Kind.TEXT), None)
    with pytest.raises(ValueProblem, match="the column holds 3"):
        normalise(column(Kind.TEXT, max_length=3), "four")
    assert normalise(column(Kind.TEXT, nullable=True), None) is None
