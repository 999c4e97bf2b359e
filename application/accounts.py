"""Accounts: add, change, disable and enable them, create API tokens, log in and sign.

Accounts live in the ledger beside the restores, so every account change, failed log-in and
lock-out is an event with its actor. Passwords are hashed with argon2id, tokens with sha256 (they
are long random secrets); neither is ever recorded or returned in the clear, except a new token,
which is returned once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from application.ledger import Ledger
from domain.accounts import Account, account_id, check_name, may
from domain.errors import RestoreError

MIN_PASSWORD = 10
TOKEN_PREFIX = "rl"


class AccountError(RestoreError):
    """An account cannot be added or changed as asked."""

    stage = "accounts"


class LoginRefused(RestoreError):
    """Wrong name, wrong password, or an account that is disabled or locked."""

    stage = "log-in"


class NotAllowed(RestoreError):
    """The account's role does not allow this."""

    stage = "authorisation"


@dataclass(frozen=True)
class Identity:
    """An authenticated account, as the adapters see it."""

    name: str
    role: str

    def may(self, needed: str) -> bool:
        return may(self.role, needed)

    def require(self, needed: str, what: str) -> None:
        if not self.may(needed):
            raise NotAllowed(f"account {self.name} ({self.role}) may not {what}: it needs the role {needed}")


def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


def _load(ledger: Ledger, name: str) -> Account | None:
    try:
        account: Any = ledger.repository.get(account_id(name))
    except AggregateNotFoundError:
        return None
    return account if isinstance(account, Account) else None


def _existing(ledger: Ledger, name: str) -> Account:
    account = _load(ledger, name)
    if account is None:
        raise AccountError(f"no account {name!r} in this ledger")
    return account


def _change(ledger: Ledger, account: Account, change: Any) -> None:
    try:
        change()
    except ValueError as error:
        raise AccountError(str(error)) from None
    ledger.save(account)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def add_account(ledger_url: str, name: str, role: str, password: str, actor: str) -> dict[str, Any]:
    ledger = Ledger(ledger_url, create=True)  # the first account may come before the first restore
    if _load(ledger, name) is not None:
        raise AccountError(f"account {name!r} exists already")
    check_password(password)
    try:
        account = Account.create(name, role, _hasher().hash(password), actor)
    except ValueError as error:
        raise AccountError(str(error)) from None
    ledger.save(account)
    return account.view()


def change_role(ledger_url: str, name: str, role: str, actor: str) -> dict[str, Any]:
    ledger = Ledger(ledger_url)
    account = _existing(ledger, name)
    _change(ledger, account, lambda: account.change_role(role, actor))
    return account.view()


def disable_account(ledger_url: str, name: str, actor: str) -> dict[str, Any]:
    ledger = Ledger(ledger_url)
    account = _existing(ledger, name)
    _change(ledger, account, lambda: account.disable(actor))
    return account.view()


def enable_account(ledger_url: str, name: str, actor: str) -> dict[str, Any]:
    ledger = Ledger(ledger_url)
    account = _existing(ledger, name)
    _change(ledger, account, lambda: account.enable(actor))
    return account.view()


def create_token(ledger_url: str, name: str, actor: str) -> str:
    """A new API token for the account: returned once, recorded only as its sha256."""
    ledger = Ledger(ledger_url)
    account = _existing(ledger, name)
    if not account.active:
        raise AccountError(f"account {name!r} is {account.view()['state']}: enable it first")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    _change(ledger, account, lambda: account.add_token(token_id, _digest(secret), actor))
    return f"{TOKEN_PREFIX}_{token_id}_{secret}"


def list_accounts(ledger_url: str) -> list[dict[str, Any]]:
    ledger = Ledger(ledger_url)
    names = []
    position = 0
    topics = [get_topic(Account.Created)]
    while page := ledger.recorder.select_notifications(position, 500, topics=topics, inclusive_of_start=False):
        for notification in page:
            created: Any = ledger.mapper.to_domain_event(notification)
            names.append(created.name)
            position = notification.id
    return [_existing(ledger, name).view() for name in names]


def log_in(ledger_url: str, name: str, password: str, via: str = "console") -> Identity:
    """The account, when the password is right and the account active; a wrong password is
    recorded, and the fifth in a row locks the account."""
    ledger = Ledger(ledger_url)
    refused = LoginRefused("wrong account name or password")
    try:
        check_name(name)
    except ValueError:
        raise refused from None
    account = _load(ledger, name)
    if account is None:
        _hasher().hash(password)  # as long as for a real account: no hint which names exist
        raise refused
    if not _verified(account.password_hash, password):
        account.fail_log_in(via)
        ledger.save(account)
        raise refused
    if not account.active:
        raise LoginRefused(f"account {name} is {account.view()['state']}: an admin can enable it")
    account.log_in(via)
    ledger.save(account)
    return Identity(account.name, account.role)


def sign(ledger_url: str, identity: Identity, password: str) -> None:
    """An electronic signature's second component: the signer's password, checked again (a wrong
    one counts as a failed log-in)."""
    if not password:
        raise LoginRefused("a signature needs the signer's password")
    log_in(ledger_url, identity.name, password, via="signature")


def token_identity(ledger_url: str, token: str) -> Identity:
    """The active account an API token belongs to."""
    refused = LoginRefused("the API token is not valid")
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise refused
    _prefix, token_id, secret = parts
    ledger = Ledger(ledger_url)
    position = 0
    topics = [get_topic(Account.TokenCreated)]
    while page := ledger.recorder.select_notifications(position, 500, topics=topics, inclusive_of_start=False):
        for notification in page:
            created: Any = ledger.mapper.to_domain_event(notification)
            if created.token_id == token_id and hmac.compare_digest(created.digest, _digest(secret)):
                account: Account = ledger.repository.get(created.originator_id)
                if not account.active:
                    raise LoginRefused(f"account {account.name} is {account.view()['state']}")
                return Identity(account.name, account.role)
            position = notification.id
    raise refused


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _verified(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
