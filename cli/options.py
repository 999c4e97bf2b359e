"""Options several commands share: the ledger and the target, the backup reader's limits, and free text for
the ledger (--actor, --reason)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import click

from infrastructure.reading import Limits

LEDGER_HELP = "Ledger database URL or SQLite path [env RESTORE_LEDGER_URL; default restore-ledger.sqlite3]."
ledger_option = click.option(
    "--ledger", envvar="RESTORE_LEDGER_URL", default="restore-ledger.sqlite3", show_default=True, help=LEDGER_HELP
)
TARGET_HELP = "Target database URL (sqlite:///file or postgresql://...) [env RESTORE_LEDGER_TARGET]."
_SIZE = re.compile(r"(\d+)\s*([KMGT]i?B?|B)?", re.IGNORECASE)
_FACTORS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_HELP = {
    "max_depth": "Deepest nesting of JSON arrays and objects",
    "max_record_bytes": "Largest record (and manifest.json), in bytes",
    "max_string_bytes": "Longest string value, in bytes",
    "max_total_bytes": "Most bytes the backup may expand to when decompressed",
    "max_ratio": "Largest ratio of decompressed bytes to the backup's size on disk",
    "max_records": "Most records",
    "max_files": "Most files in a package",
}


class Amount(click.ParamType[int, Any]):
    """A whole number; with ``bytes``, also ``64M``, ``2G`` (powers of 1024)."""

    name = "integer"

    def __init__(self, size: bool) -> None:
        self.size = size
        self.name = "size" if size else "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.fullmatch(str(value).strip())
        if match is None or (match.group(2) and not self.size):
            self.fail(f"{value!r} is not a {'size like 64M or 2G' if self.size else 'whole number'}", param, ctx)
        amount = int(match.group(1)) * _FACTORS[(match.group(2) or "")[:1].upper()]
        if amount < 1:
            self.fail(f"{value!r} must be at least 1", param, ctx)
        return amount


def limit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--max-depth`` and the other limits, each also from ``RESTORE_LEDGER_MAX_DEPTH`` etc."""
    defaults = Limits()
    for limit in reversed(fields(Limits)):
        size = limit.name.endswith("_bytes")
        command = click.option(
            f"--{limit.name.replace('_', '-')}",
            limit.name,
            envvar=f"RESTORE_LEDGER_{limit.name.upper()}",
            type=Amount(size),
            default=_shown(getattr(defaults, limit.name)) if size else getattr(defaults, limit.name),
            show_default=True,
            help=f"{_HELP[limit.name]} [env RESTORE_LEDGER_{limit.name.upper()}].",
        )(command)
    return command


def _shown(amount: int) -> str:
    for suffix in "TGMK":
        if amount % _FACTORS[suffix] == 0:
            return f"{amount // _FACTORS[suffix]}{suffix}"
    return str(amount)


def limits_from(options: dict[str, Any]) -> Limits:
    """Take the limit options out of a command's options."""
    return Limits(**{limit.name: options.pop(limit.name) for limit in fields(Limits)})


def free_text(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--reason, --actor: kept in the ledger as given, so they must be text that prints as itself."""
    if value is None:
        return None
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise click.BadParameter("is not valid UTF-8", param=param)
    bad = next((char for char in value if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise click.BadParameter(
            f"holds the control character U+{ord(bad):04X} ({unicodedata.name(bad, 'control')}); give one line of text",
            param=param,
        )
    return value


def _reason(ctx: click.Context, param: click.Parameter, value: str) -> str:
    value = free_text(ctx, param, value) or ""
    if not value.strip():
        raise click.BadParameter("give why, for the ledger: it may not be empty")
    return value


def reason_option(help_text: str) -> Callable[[Any], Any]:
    """--reason, required and not blank [env RESTORE_LEDGER_REASON]."""
    return click.option(
        "--reason",
        envvar="RESTORE_LEDGER_REASON",
        required=True,
        callback=_reason,
        help=f"{help_text} Required [env RESTORE_LEDGER_REASON].",
    )
