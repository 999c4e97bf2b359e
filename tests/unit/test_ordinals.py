"""OrdinalMap behaves as the dict it replaces, for any sequence of operations on ordinals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ordinals import OrdinalMap

operations = st.lists(
    st.tuples(st.sampled_from(["set", "del", "pop", "get"]), st.integers(min_value=0, max_value=40), st.integers()),
    max_size=80,
)


@given(operations)
def test_an_ordinal_map_answers_as_a_dict_does(ops: list[tuple[str, int, int]]) -> None:
    expected: dict[int, int] = {}
    actual: OrdinalMap[int] = OrdinalMap()
    for op, ordinal, value in ops:
        if op == "set":
            expected[ordinal] = value
            actual[ordinal] = value
        elif op == "del":
            if ordinal in expected:
                del expected[ordinal]
                del actual[ordinal]
            else:
                with pytest.raises(KeyError):
                    del actual[ordinal]
        elif op == "pop":
            assert actual.pop(ordinal, None) == expected.pop(ordinal, None)
        else:
            assert actual.get(ordinal) == expected.get(ordinal)
        assert len(actual) == len(expected)
    assert dict(actual.items()) == expected
    assert sorted(actual) == sorted(expected)
    assert all((ordinal in actual) == (ordinal in expected) for ordinal in range(-2, 45))


def test_a_missing_or_negative_ordinal_is_a_key_error() -> None:
    found: OrdinalMap[str] = OrdinalMap()
    found[3] = "documents.document"
    for ordinal in (0, 2, 4, 100, -1):
        with pytest.raises(KeyError):
            found[ordinal]
    with pytest.raises(KeyError):
        found[-1] = "x"
    assert found[3] == "documents.document"
    assert found.get(-1, "none") == "none"
    assert "3" not in found
