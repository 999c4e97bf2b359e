"""Database URLs as the user gives them: a URL that does not parse is a usage error, not a traceback."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from domain.errors import RestoreError


class BadUrl(RestoreError):
    """A --target or --ledger that is no database URL (exit code 2, like any usage error)."""

    stage = "configuration"


def parse_url(url: str, what: str) -> URL:
    """``url`` parsed; ``BadUrl`` naming ``what`` (``target``, ``ledger``) and the problem otherwise."""
    try:
        parsed = make_url(url)
        _ = parsed.port  # SQLAlchemy checks the port only here and there: check it now
    except (sa.exc.ArgumentError, ValueError) as error:
        raise BadUrl(f"{what} URL {url!r} is not a database URL ({error})") from None
    return parsed
