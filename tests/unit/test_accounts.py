"""The account aggregate: roles, lock-out after five failed log-ins, enabling, tokens."""

from __future__ import annotations

import pytest

from domain.accounts import MAX_FAILURES, Account, account_id, may


def test_roles_include_the_ones_below() -> None:
    assert may("admin", "operator") and may("operator", "auditor") and may("auditor", "auditor")
    assert not may("auditor", "operator") and not may("operator", "admin")


def test_an_account_is_found_by_its_name() -> None:
    account = Account.create("alice", "operator", "$argon2id$...", "root")
    assert account.id == account_id("alice") != account_id("bob")


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "<script>"])
def test_a_name_outside_letters_digits_and_few_signs_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="account name"):
        Account.create(name, "operator", "h", "root")


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="role 'root' is none of auditor, operator, admin"):
        Account.create("alice", "root", "h", "root")


def test_the_fifth_failed_log_in_in_a_row_locks_the_account_until_enabled() -> None:
    account = Account.create("alice", "operator", "h", "root")
    for _ in range(MAX_FAILURES - 1):
        account.fail_log_in("console")
    account.log_in("console")  # a success in between starts the count again
    for _ in range(MAX_FAILURES):
        account.fail_log_in("console")
    names = [type(e).__name__ for e in account.collect_events()]
    assert names[-2:] == ["LoginFailed", "LockedOut"] and names.count("LockedOut") == 1
    assert account.view()["state"] == "locked"
    with pytest.raises(ValueError, match="account alice is locked"):
        account.log_in("console")
    account.enable("admin")
    account.log_in("console")
    assert account.failures == 0


def test_changes_record_their_actor_and_the_view_never_shows_a_hash() -> None:
    account = Account.create("alice", "operator", "secret-hash", "root")
    account.change_role("auditor", "bob")
    account.disable("carol")
    account.add_token("abc", "digest", "dave")
    actors = [getattr(e, "actor", None) for e in account.collect_events()]
    assert actors == ["root", "bob", "carol", "dave"]
    assert "secret-hash" not in repr(account.view()) and "digest" not in repr(account.view())
    with pytest.raises(ValueError, match="has the role auditor already"):
        account.change_role("auditor", "bob")
