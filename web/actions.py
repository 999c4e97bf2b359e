"""What the console and the API both do: start a plan from an upload, start a signed apply or
rollback, and look up a restore with its job. Each is a few calls of the application layer; the
work itself runs in a worker process (web.jobs)."""

from __future__ import annotations

import json
import re
import shutil
from typing import IO, Any
from uuid import uuid4

from application.accounts import Identity, LoginRefused, NotAllowed, sign
from application.intents import Refused
from application.report import list_restores
from application.restore import ConfigurationError
from application.signatures import check_second_person, check_state
from domain.accounts import OPERATOR
from domain.errors import RestoreError
from infrastructure.target import redact, sqlalchemy_url
from web import jobs
from web.settings import Settings, TargetConfig

QUICK_SECONDS = 3.0  # a job that fails this fast answers the request itself, with its status
CHOICES = {
    "on_conflict": ("keep-existing", "update"),
    "missing_users": ("create", "fail"),
    "uuids": ("keep", "regenerate"),
}


class InvalidRequest(RestoreError):
    """A field of the request is missing or wrong."""

    stage = "request"


class JobFailed(RestoreError):
    """The job refused or failed within QUICK_SECONDS: the request answers with its status."""

    def __init__(self, message: str, status: int, restore_id: str) -> None:
        super().__init__(message)
        self.status = status
        self.job_restore_id = restore_id


def target_named(settings: Settings, name: str) -> TargetConfig:
    target = settings.targets.get(name)
    if target is None:
        known = ", ".join(sorted(settings.targets))
        raise InvalidRequest(f"no target named {name!r} is configured on this server (known: {known})")
    return target


def target_of_run(settings: Settings, run: dict[str, Any]) -> TargetConfig | None:
    """The configured target a restore went to: the one its web job named, else the one whose
    URL the ledger recorded."""
    spec = jobs.job_dir(settings, run["restore_id"]) / "plan.spec.json"
    if spec.is_file():
        name = json.loads(spec.read_text(encoding="utf-8"))["target"]
        if name in settings.targets:
            return settings.targets[name]
    for target in settings.targets.values():
        if redact(sqlalchemy_url(target.url)) == run["target"].get("url"):
            return target
    return None


def _reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise InvalidRequest("a reason is required: it is recorded in the ledger with your account")
    return reason.strip()


def safe_name(filename: str | None) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return name[:100] or "backup"


def start_plan(
    settings: Settings,
    identity: Identity,
    upload: IO[bytes],
    filename: str | None,
    target_name: str,
    reason: str | None,
    options: dict[str, str],
) -> tuple[str, dict[str, Any]]:
    """Store the uploaded backup and start planning it; the restore id and the job's state."""
    identity.require(OPERATOR, "upload and plan a restore")
    target = target_named(settings, target_name)
    why = _reason(reason)
    for key, value in options.items():
        if value not in CHOICES[key]:
            raise InvalidRequest(f"{key} must be one of {', '.join(CHOICES[key])}, not {value!r}")
    restore_id = str(uuid4())
    directory = jobs.job_dir(settings, restore_id)
    directory.mkdir(parents=True)
    backup = directory / safe_name(filename)
    with backup.open("wb") as out:
        shutil.copyfileobj(upload, out, 1024 * 1024)
    spec = {
        "restore_id": restore_id,
        "target": target.name,
        "targets_file": str(settings.targets_file),
        "backup": str(backup),
        "actor": identity.name,
        "reason": why,
        **{key: options.get(key, choices[0]) for key, choices in CHOICES.items()},
    }
    jobs.start(settings, restore_id, "plan", spec)
    return restore_id, _settled(settings, restore_id, "plan")


def start_signed(
    settings: Settings, identity: Identity, restore_id: str, meaning: str, password: str | None, reason: str | None
) -> dict[str, Any]:
    """Check the electronic signature (password again, reason, four-eyes rule) and start the apply
    or rollback it signs; the job's state."""
    action = "apply" if meaning == "applied" else "rollback"
    identity.require(OPERATOR, f"{action} a restore")
    why = _reason(reason)
    check_state(settings.ledger_url, restore_id, meaning)
    run = next(r for r in list_restores(settings.ledger_url) if r["restore_id"] == str(restore_id))
    target = target_of_run(settings, run)
    if target is None:
        raise ConfigurationError(f"restore {restore_id} went to a target this server does not name in its targets file")
    if meaning == "applied" and target.require_second_person:
        check_second_person(settings.ledger_url, restore_id, identity.name)
    try:
        sign(settings.ledger_url, identity, password or "")
    except LoginRefused as error:
        raise NotAllowed(f"signature refused: {error}") from None
    spec = {
        "restore_id": run["restore_id"],
        "target": target.name,
        "targets_file": str(settings.targets_file),
        "actor": identity.name,
        "reason": why,
    }
    try:
        jobs.start(settings, run["restore_id"], action, spec)
    except jobs.JobBusy as error:
        raise Refused(str(error)) from None
    return _settled(settings, run["restore_id"], action)


def _settled(settings: Settings, restore_id: str, action: str) -> dict[str, Any]:
    state = jobs.wait(settings, restore_id, action, QUICK_SECONDS) or {}
    if state.get("state") in ("failed", "interrupted"):
        error = state["error"]
        raise JobFailed(error["message"], int(error["status"]), restore_id)
    return state


def find_restore(settings: Settings, restore_id: str) -> dict[str, Any] | None:
    """The restore's summary from the ledger, or None while its job has not recorded it yet."""
    return next((r for r in list_restores(settings.ledger_url) if r["restore_id"] == restore_id), None)
