"""The guarded reader's scanner against Python's own JSON parser, over random documents cut into random blocks."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.reading import Budget, Limits, Scanner, _cut, array_items, line_items

LONE = st.sampled_from(["\ud800", "\udc00", "\udbff"])
TEXT = st.text() | st.builds(lambda a, s, b: a + s + b, st.text(max_size=3), LONE, st.text(max_size=3))
JSON = st.recursive(
    # -2**63 itself is refused as beyond 64 bits: yajl, ijson's C parser, cannot read it (a known limit)
    st.none() | st.booleans() | st.integers(-(2**63) + 1, 2**63 - 1) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=25,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


def has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return any(map(has_lone_surrogate, value))
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    return False


def scan(raw: bytes, cuts: list[int], limits: Limits) -> tuple[Scanner, bool]:
    """Feed ``raw`` in the blocks ``cuts`` makes, as the reader does (escapes never split)."""
    scanner, carry, position = Scanner(limits), b"", 0
    for size in [*cuts, len(raw)]:
        data = raw[position : position + max(size, 1)]
        position += len(data)
        block, carry = _cut(carry + data) if data and position < len(raw) else (carry + data, b"")
        if scanner.feed(block) is not None:
            return scanner, True
        if position >= len(raw):
            break
    if carry and scanner.feed(carry) is not None:
        return scanner, True
    return scanner, False


@settings(max_examples=300)
@given(value=JSON, ascii_only=st.booleans(), cuts=st.lists(st.integers(1, 40), max_size=30))
def test_the_scanner_tracks_depth_and_surrogates_exactly_across_blocks(
    value: Any, ascii_only: bool, cuts: list[int]
) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    deepest = depth(value)

    scanner, flagged = scan(raw, cuts, Limits(max_depth=max(deepest, 1)))
    if not (ascii_only and has_lone_surrogate(value)):
        assert not flagged
        assert (scanner.depth, scanner.in_string) == (0, False)
    else:
        assert flagged  # a lone surrogate written as an escape is always found
    if deepest > 1:
        _scanner, too_deep = scan(raw, cuts, Limits(max_depth=deepest - 1))
        assert too_deep


@settings(max_examples=100)
@given(values=st.lists(st.dictionaries(st.text(max_size=5), JSON, max_size=3), max_size=6), lines=st.booleans())
def test_the_guarded_readers_give_what_json_loads_gives(values: list[dict[str, Any]], lines: bool) -> None:
    values = [v for v in values if not has_lone_surrogate(v)]
    limits = Limits(max_depth=64)
    if lines:
        raw = b"".join(json.dumps(v).encode() + b"\n" for v in values)
        read = list(line_items(io.BufferedReader(io.BytesIO(raw)), "x", 0, limits, Budget(limits, len(raw))))
    else:
        raw = json.dumps(values).encode()
        read = list(array_items(io.BufferedReader(io.BytesIO(raw)), "x", 0, limits, Budget(limits, len(raw))))

    assert read == values
