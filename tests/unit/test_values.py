"""Backup values against their column's kind: the logical form the ledger records."""

from __future__ import annotations

import pytest

from domain.profile import Column, Kind, ModelProfile
from domain.values import ValueProblem, checker, normalise, parse_duration


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


def array(item: Kind, dimensions: int = 1, max_length: int | None = None) -> Column:
    return Column("c", Kind.ARRAY, True, max_length, item, dimensions)


def test_an_array_in_dumpdatas_form_is_read_item_by_item_as_its_field_reads_them() -> None:
    """``ArrayField.value_to_string``: a JSON text of each item's own text form; nested arrays nest it."""
    assert normalise(array(Kind.INTEGER), '["3", "-1", null]') == [3, -1, None]
    assert normalise(array(Kind.BOOLEAN), '["True", "False"]') == [True, False]
    assert normalise(array(Kind.DATETIME), '["2025-03-02T12:00:00+01:00"]') == ["2025-03-02T11:00:00+00:00"]
    assert normalise(array(Kind.INTEGER, 2), '["[\\"1\\", null]", "[\\"3\\", \\"4\\"]"]') == [[1, None], [3, 4]]


def test_an_array_given_as_a_list_is_read_the_same_way() -> None:
    assert normalise(array(Kind.UUID), ["12345678123456781234567812345678"]) == ["12345678-1234-5678-1234-567812345678"]
    assert normalise(array(Kind.INTEGER, 2), [[1, "2"], ["3", 4]]) == [[1, 2], [3, 4]]
    assert normalise(array(Kind.TEXT), []) == []


@pytest.mark.parametrize(
    ("column_", "value", "problem"),
    [
        (array(Kind.INTEGER), "3", "expected a list or its JSON text, got 3"),
        (array(Kind.INTEGER), "", "expected a list or its JSON text, got ''"),
        (array(Kind.INTEGER), ["1", "x"], "item 1: expected an integer, got 'x'"),
        (array(Kind.TEXT, max_length=2), ["abc"], "item 0: is 3 characters long, the column holds 2"),
        (array(Kind.INTEGER, 2), [[1, 2], [3]], "holds lists of different lengths"),
        (array(Kind.INTEGER, 2), [[1], None], "item 1: is null where a list is expected"),
        (array(Kind.DURATION), ["1 00:00:00"], "is an array of duration, which restore-ledger does not restore"),
    ],
)
def test_an_array_that_postgresql_or_django_would_refuse_is_refused(
    column_: Column, value: object, problem: str
) -> None:
    with pytest.raises(ValueProblem, match=problem.replace("(", r"\(").replace(")", r"\)")):
        normalise(column_, value)


def test_a_profile_keeps_an_arrays_item_kind_and_dimensions_and_other_columns_as_before() -> None:
    model = ModelProfile("a.b", "a_b", Column("id", Kind.INTEGER, False), fields={"grid": array(Kind.INTEGER, 2)})
    data = model.to_dict()

    assert data["pk"] == {"name": "id", "kind": "integer", "nullable": False, "max_length": None}
    assert data["fields"]["grid"]["item"] == "integer" and data["fields"]["grid"]["dimensions"] == 2
    assert ModelProfile.from_dict(data) == model


@pytest.mark.parametrize(
    "text",
    [
        "2001:DB8::1",
        " 2001:0db8:0000:0000:0000:0000:0000:0001 ",
        "::FFFF:192.0.2.1",
        "::ffff:c000:0201",
        "fe80::A",
        "::",
    ],
)
def test_ipv6_addresses_are_recorded_as_djangos_generic_ip_address_field_reads_them(text: str) -> None:
    from django.utils.ipv6 import clean_ipv6_address

    expected = clean_ipv6_address(text.strip())
    assert normalise(column(Kind.IP_ADDRESS), text) == expected
    assert checker(column(Kind.IP_ADDRESS))(text) == expected


def test_ipv4_addresses_are_kept_and_blank_ones_are_null_as_django_stores_them() -> None:
    assert checker(column(Kind.IP_ADDRESS))("192.0.2.1") == "192.0.2.1"
    assert normalise(column(Kind.IP_ADDRESS, nullable=True), "") is None
    with pytest.raises(ValueProblem, match="blank, which Django stores as null"):
        normalise(column(Kind.IP_ADDRESS), " ")
    with pytest.raises(ValueProblem, match="expected an IPv4 or IPv6 address, got '2001:db8::g'"):
        checker(column(Kind.IP_ADDRESS))("2001:db8::g")
