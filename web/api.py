"""The REST API, /api/v1, with its OpenAPI schema at /api/v1/openapi.json. Bearer tokens only
(`restore-ledger accounts tokens create NAME`); the same roles as the console."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from jinja2 import Environment
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from application.accounts import Identity
from application.report import KINDS, list_restores, restore_decisions
from domain.errors import RestoreError
from web import actions, jobs
from web.auth import bearer_identity
from web.decisions import page, review
from web.errors import message_of, status_of
from web.reports import FORMATS, render
from web.settings import Settings

Account = Annotated[Identity, Depends(bearer_identity)]


class Problem(BaseModel):
    detail: str


class Job(BaseModel):
    action: str
    state: str
    stage: str | None = None
    counts: dict[str, int] = {}
    totals: dict[str, int] = {}
    error: dict[str, Any] | None = None


class Accepted(BaseModel):
    restore_id: str
    job: Job | None = None
    status_url: str


class RestoreState(BaseModel):
    restore_id: str
    status: str = Field(description="the ledger's state, or 'queued' before the job has recorded it")
    target: str | None = None
    actor: str | None = None
    reason: str | None = None
    started_at: str | None = None
    counts: dict[str, int] = {}
    history: list[dict[str, Any]] = []
    failure: dict[str, Any] | None = None
    job: Job | None = None


class Decision(BaseModel):
    kind: str
    model: str
    text: str
    security: bool
    details: dict[str, Any]


class DecisionPage(BaseModel):
    items: list[Decision]
    next_cursor: str | None


class Signature(BaseModel):
    password: str = Field(description="the signer's password, asked again at each signing (21 CFR 11.200)")
    reason: str = Field(description="why; recorded with the signature")


ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": Problem} for status in (400, 401, 403, 404, 409, 413, 422)}


def _job(state: dict[str, Any] | None) -> Job | None:
    return Job(**{k: v for k, v in state.items() if k in Job.model_fields}) if state else None


def _state(settings: Settings, restore_id: str) -> RestoreState:
    run = actions.find_restore(settings, restore_id)
    job = jobs.latest(settings, restore_id)
    if run is None:
        if job is None:
            raise HTTPException(404, f"no restore {restore_id} in this ledger")
        return RestoreState(
            restore_id=restore_id, status="queued" if job["state"] != "failed" else "failed", job=_job(job)
        )
    target = actions.target_of_run(settings, run)
    return RestoreState(
        restore_id=run["restore_id"],
        status=run["status"],
        target=target.name if target else None,
        actor=run["actor"],
        reason=run["reason"],
        started_at=run["started_at"],
        counts=run["counts"],
        history=run["history"],
        failure=run.get("failure"),
        job=_job(job),
    )


def create_api(settings: Settings, templates: Environment) -> FastAPI:
    api = FastAPI(
        title="restore-ledger API",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        description="Restores of Django dumpdata backups through an audit ledger. Authenticate with "
        "`Authorization: Bearer TOKEN` (`restore-ledger accounts tokens create NAME`).",
    )
    api.state.settings = settings

    @api.exception_handler(RestoreError)
    async def refused(request: Request, error: RestoreError) -> Response:
        return JSONResponse({"detail": message_of(error)}, status_of(error))

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors())
        return JSONResponse({"detail": f"invalid request: {problems}"}, 422)

    @api.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        return JSONResponse({"detail": "internal error; the server log says more"}, 500)

    @api.post("/restores", status_code=202, response_model=Accepted, responses=ERRORS)
    async def upload_restore(
        account: Account,
        backup: Annotated[UploadFile, File(description="dumpdata JSON/JSONL (optionally compressed) or a package")],
        target: Annotated[str, Form(description="the target's name in the server's targets file")],
        reason: Annotated[str, Form(description="why the restore is run, for the ledger")],
        on_conflict: Annotated[Literal["keep-existing", "update"], Form()] = "keep-existing",
        missing_users: Annotated[Literal["create", "fail"], Form()] = "create",
        uuids: Annotated[Literal["keep", "regenerate"], Form()] = "keep",
    ) -> Accepted:
        """Upload a backup and plan its restore into a named target (apply=False). 202 with the
        restore id; the plan runs in a worker: poll GET /restores/{id}."""
        options: dict[str, str] = {"on_conflict": on_conflict, "missing_users": missing_users, "uuids": uuids}
        restore_id, state = await run_in_threadpool(
            actions.start_plan, settings, account, backup.file, backup.filename, target, reason, options
        )
        return Accepted(restore_id=restore_id, job=_job(state), status_url=f"/api/v1/restores/{restore_id}")

    @api.get("/restores", response_model=list[RestoreState], responses=ERRORS)
    def get_restores(account: Account) -> list[RestoreState]:
        """Every restore of the ledger, newest first."""
        return [_state(settings, run["restore_id"]) for run in reversed(list_restores(settings.ledger_url))]

    @api.get("/restores/{restore_id}", response_model=RestoreState, responses=ERRORS)
    def get_restore(account: Account, restore_id: str) -> RestoreState:
        """The restore's state from the ledger and its job's progress."""
        return _state(settings, restore_id)

    @api.get("/restores/{restore_id}/decisions", response_model=DecisionPage, responses=ERRORS)
    def get_decisions(
        account: Account,
        restore_id: str,
        kind: Annotated[Literal[KINDS] | None, Query()] = None,  # type: ignore[valid-type]
        model: str | None = None,
        security_only: bool = False,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> DecisionPage:
        """The restore's decisions, security-relevant first, secrets redacted; page on with next_cursor."""
        lines = review(restore_decisions(settings.ledger_url, restore_id, kind, model), security_only)
        items, next_cursor = page(lines, cursor, limit)
        return DecisionPage(items=[Decision(**line) for line in items], next_cursor=next_cursor)

    async def _signed(account: Identity, restore_id: str, meaning: str, signature: Signature) -> Accepted:
        state = await run_in_threadpool(
            actions.start_signed, settings, account, restore_id, meaning, signature.password, signature.reason
        )
        return Accepted(restore_id=restore_id, job=_job(state), status_url=f"/api/v1/restores/{restore_id}")

    @api.post("/restores/{restore_id}/apply", status_code=202, response_model=Accepted, responses=ERRORS)
    async def apply_restore(account: Account, restore_id: str, signature: Signature) -> Accepted:
        """Apply a planned restore, signed: the password again and a reason (meaning "applied")."""
        return await _signed(account, restore_id, "applied", signature)

    @api.post("/restores/{restore_id}/rollback", status_code=202, response_model=Accepted, responses=ERRORS)
    async def rollback_restore(account: Account, restore_id: str, signature: Signature) -> Accepted:
        """Roll back an applied restore, signed (meaning "rolled back")."""
        return await _signed(account, restore_id, "rolled back", signature)

    @api.get(
        "/restores/{restore_id}/report",
        responses={**ERRORS, 200: {"content": {t: {} for t in FORMATS.values()}, "description": "the report"}},
        response_class=Response,
    )
    def get_report(account: Account, restore_id: str, format: Literal["html", "csv", "json"] = "json") -> Response:
        """The restore's report as HTML, CSV or JSON."""
        body, media_type, name = render(settings.ledger_url, restore_id, format, account.name)
        return Response(body, media_type=media_type, headers={"content-disposition": f'attachment; filename="{name}"'})

    @api.get("/targets", response_model=list[str], responses=ERRORS)
    def get_targets(account: Account) -> list[str]:
        """The names of the targets this server restores into."""
        return sorted(settings.targets)

    return api
