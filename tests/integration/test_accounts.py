"""`restore-ledger accounts`: accounts, roles, tokens and log-ins recorded in the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from application.accounts import LoginRefused, log_in, token_identity
from application.ledger import Ledger
from cli.main import main
from domain.accounts import account_id


def test_accounts_are_added_changed_disabled_and_enabled_with_their_actor(tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger.sqlite3")
    cli = CliRunner()

    def run(*args: str, stdin: str | None = None) -> str:
        result = cli.invoke(main, [*args, "--ledger", ledger], input=stdin)
        assert result.exit_code == 0, result.output
        return result.output

    assert "account alice added, role operator" in run(
        "accounts", "add", "alice", "--role", "operator", "--actor", "root", stdin="long-password\nlong-password\n"
    )
    short = cli.invoke(main, ["accounts", "add", "bob", "--role", "auditor", "--password-stdin", "--ledger", ledger],
                       input="short\n")  # fmt: skip
    assert short.exit_code == 1 and "a password needs at least 10 characters" in short.output
    twice = cli.invoke(
        main, ["accounts", "add", "alice", "--role", "auditor", "--password-stdin", "--ledger", ledger],
        input="long-password\n",
    )  # fmt: skip
    assert twice.exit_code == 1 and "account 'alice' exists already" in twice.output
    assert log_in(ledger, "alice", "long-password").role == "operator"
    token = run("accounts", "tokens", "create", "alice", "--actor", "root").strip()
    assert token_identity(ledger, token).name == "alice"
    with pytest.raises(LoginRefused):
        token_identity(ledger, token[:-1] + ("A" if token[-1] != "A" else "B"))
    run("accounts", "role", "alice", "--role", "admin", "--actor", "carol")
    run("accounts", "disable", "alice", "--actor", "dave")
    assert "alice                    admin     disabled" in run("accounts", "list")
    with pytest.raises(LoginRefused, match="account alice is disabled"):
        log_in(ledger, "alice", "long-password")
    with pytest.raises(LoginRefused, match="account alice is disabled"):
        token_identity(ledger, token)
    run("accounts", "enable", "alice", "--actor", "erin")
    assert log_in(ledger, "alice", "long-password").role == "admin"
    recorded = Ledger(ledger)  # held while its events are read: a collected Ledger closes its connections
    events = [(type(e).__name__, getattr(e, "actor", None)) for e in recorded.events.get(account_id("alice"))]
    assert events == [
        ("Created", "root"),
        ("LoggedIn", None),
        ("TokenCreated", "root"),
        ("RoleChanged", "carol"),
        ("Disabled", "dave"),
        ("Enabled", "erin"),
        ("LoggedIn", None),
    ]
    with pytest.raises(LoginRefused, match="wrong account name or password"):
        log_in(ledger, "nobody", "long-password")
