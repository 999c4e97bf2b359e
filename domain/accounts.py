"""Accounts of the web console and the REST API: who may read, restore or manage accounts.

Every change of an account is one of its events, with the actor who made it: created, role changed,
disabled, enabled, failed log-ins and the lock-out after ``MAX_FAILURES`` failures in a row, API
tokens created. Only hashes are recorded (argon2id for passwords, sha256 for tokens); hashing is
the application's job, the aggregate only holds the results.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

AUDITOR = "auditor"
OPERATOR = "operator"
ADMIN = "admin"
ROLES = (AUDITOR, OPERATOR, ADMIN)  # each role may do what the ones before it may
MAX_FAILURES = 5
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


def account_id(name: str) -> UUID:
    """An account's id follows from its name: one account per name, found without an index."""
    return uuid5(NAMESPACE_URL, f"restore-ledger:account:{name}")


def check_name(name: str) -> None:
    if not name or len(name) > 64 or not set(name) <= NAME_CHARS:
        raise ValueError(f"account name {name!r} must be 1 to 64 letters, digits or . _ - @")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role {role!r} is none of {', '.join(ROLES)}")


def may(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return ROLES.index(role) >= ROLES.index(needed)


class Account(Aggregate):
    """One person's account."""

    class Created(Aggregate.Created):
        name: str
        role: str
        password_hash: str
        actor: str

    class RoleChanged(Aggregate.Event):
        role: str
        actor: str

    class PasswordChanged(Aggregate.Event):
        password_hash: str
        actor: str

    class Disabled(Aggregate.Event):
        actor: str

    class Enabled(Aggregate.Event):
        actor: str

    class LoggedIn(Aggregate.Event):
        via: str

    class LoginFailed(Aggregate.Event):
        via: str
        failures: int

    class LockedOut(Aggregate.Event):
        failures: int

    class TokenCreated(Aggregate.Event):
        token_id: str
        digest: str
        actor: str

    @classmethod
    def create(cls, name: str, role: str, password_hash: str, actor: str) -> Account:
        check_name(name)
        check_role(role)
        return cls._create(
            cls.Created, id=account_id(name), name=name, role=role, password_hash=password_hash, actor=actor
        )

    @event(Created)
    def __init__(self, name: str, role: str, password_hash: str, actor: str) -> None:
        self.name = name
        self.role = role
        self.password_hash = password_hash
        self.disabled = False
        self.locked = False
        self.failures = 0
        self.tokens: dict[str, str] = {}

    @property
    def active(self) -> bool:
        return not (self.disabled or self.locked)

    def change_role(self, role: str, actor: str) -> None:
        check_role(role)
        if role == self.role:
            raise ValueError(f"account {self.name} has the role {role} already")
        self._role_changed(role=role, actor=actor)

    @event(RoleChanged)
    def _role_changed(self, role: str, actor: str) -> None:
        self.role = role

    def change_password(self, password_hash: str, actor: str) -> None:
        self._password_changed(password_hash=password_hash, actor=actor)

    @event(PasswordChanged)
    def _password_changed(self, password_hash: str, actor: str) -> None:
        self.password_hash = password_hash

    def disable(self, actor: str) -> None:
        if self.disabled:
            raise ValueError(f"account {self.name} is disabled already")
        self._disabled(actor=actor)

    @event(Disabled)
    def _disabled(self, actor: str) -> None:
        self.disabled = True

    def enable(self, actor: str) -> None:
        """Enable a disabled account, or unlock a locked one."""
        if self.active:
            raise ValueError(f"account {self.name} is enabled already")
        self._enabled(actor=actor)

    @event(Enabled)
    def _enabled(self, actor: str) -> None:
        self.disabled = False
        self.locked = False
        self.failures = 0

    def log_in(self, via: str) -> None:
        if not self.active:
            raise ValueError(f"account {self.name} is {'disabled' if self.disabled else 'locked'}")
        self._logged_in(via=via)

    @event(LoggedIn)
    def _logged_in(self, via: str) -> None:
        self.failures = 0

    def fail_log_in(self, via: str) -> None:
        """A wrong password; the ``MAX_FAILURES``-th in a row locks the account."""
        self._login_failed(via=via, failures=self.failures + 1)
        if self.failures >= MAX_FAILURES and not self.locked:
            self._locked_out(failures=self.failures)

    @event(LoginFailed)
    def _login_failed(self, via: str, failures: int) -> None:
        self.failures = failures

    @event(LockedOut)
    def _locked_out(self, failures: int) -> None:
        self.locked = True

    def add_token(self, token_id: str, digest: str, actor: str) -> None:
        if token_id in self.tokens:
            raise ValueError(f"account {self.name} has a token {token_id} already")
        self._token_created(token_id=token_id, digest=digest, actor=actor)

    @event(TokenCreated)
    def _token_created(self, token_id: str, digest: str, actor: str) -> None:
        self.tokens[token_id] = digest

    def view(self) -> dict[str, Any]:
        """What may be shown of the account: never a hash."""
        state = "disabled" if self.disabled else "locked" if self.locked else "active"
        return {"name": self.name, "role": self.role, "state": state, "tokens": sorted(self.tokens)}
