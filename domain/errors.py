"""Errors of the restore domain. Each names what it is about; the CLI prints them as they are."""

from __future__ import annotations


class RestoreError(Exception):
    """A restore cannot go on. ``stage`` says where it stopped, ``record`` which record."""

    stage = "plan"

    def __init__(self, problem: str, record: str | None = None) -> None:
        self.problem = problem
        self.record = record
        super().__init__(f"{record}: {problem}" if record else problem)


class BackupError(RestoreError):
    """The backup itself cannot be read: format, archive, manifest, JSON."""

    stage = "read"


class ProfileError(RestoreError):
    """The backup and the target schema do not fit together."""

    stage = "profile"


class PlanError(RestoreError):
    """A record cannot be placed: a reference, a value, a key."""

    stage = "plan"


class ApplyError(RestoreError):
    """The target refused the rows; its transaction was rolled back."""

    stage = "apply"
