"""Decisions as the console and the API page through them: filtered, security-relevant first,
secrets redacted, in pages with a cursor."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

SECURITY_MODELS = re.compile(r"user|group|permission|role|token|account|member", re.IGNORECASE)
SECRET_KEYS = re.compile(r"password|secret|token|api_?key|private|credential|hash|otp|salt", re.IGNORECASE)
REDACTED = "<redacted>"
MAX_LIMIT = 500


def security_relevant(line: dict[str, Any]) -> bool:
    """Decisions about who may do what: created users, and anything on user, group, role or
    permission models (a role mapped onto another row changes who holds it)."""
    return line["kind"] == "created" or bool(SECURITY_MODELS.search(line["model"].rsplit(".", 1)[-1]))


def redact(value: Any) -> Any:
    """``value`` with every secret-looking key's value replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_KEYS.search(str(k)) and v is not None else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def review(lines: list[dict[str, Any]], security_only: bool = False, text: str | None = None) -> list[dict[str, Any]]:
    """Security-relevant decisions first, each with its details redacted."""
    shown = []
    for line in lines:
        relevant = security_relevant(line)
        if security_only and not relevant:
            continue
        if text and text.lower() not in line["text"].lower():
            continue
        shown.append(line | {"security": relevant, "details": redact(line["details"]), "text": _redacted_text(line)})
    return sorted(shown, key=lambda line: not line["security"])


def _redacted_text(line: dict[str, Any]) -> str:
    """A decision's sentence, with the updated values of secret columns left out."""
    text: str = line["text"]
    if line["kind"] == "updated":
        for column in line["details"].get("after", {}):
            if SECRET_KEYS.search(column):
                text = re.sub(rf"{re.escape(column)}: .*?(?=; |$)", f"{column}: {REDACTED}", text)
    return text


def summary(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How many decisions of each kind there are per model."""
    counts = Counter((line["kind"], line["model"]) for line in lines)
    return [{"kind": kind, "model": model, "count": n} for (kind, model), n in counts.items()]


def page(lines: list[dict[str, Any]], cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """One page from ``cursor`` (an opaque position; none for the first page) and the next cursor."""
    start = int(cursor) if cursor and cursor.isdigit() else 0
    limit = max(1, min(limit, MAX_LIMIT))
    end = start + limit
    return lines[start:end], (str(end) if end < len(lines) else None)
