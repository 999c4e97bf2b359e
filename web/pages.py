"""The console's pages: server-rendered, readable without JavaScript, every form with a CSRF token."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool

from application.accounts import LoginRefused, log_in
from application.report import KINDS, list_restores, restore_decisions
from application.timeline import timeline_of
from application.verify import verify_ledger
from domain.accounts import OPERATOR
from web import actions, jobs
from web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, Session, check_csrf, session_of, set_cookie
from web.decisions import page, review, summary
from web.reports import FORMATS, render
from web.settings import Settings

router = APIRouter()
PAGE_SIZE = 50


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(request: Request, template: str, code: int = 200, session: Session | None = None, **values: Any) -> Response:
    env: Environment = request.app.state.templates
    html = env.get_template(template).render(session=session, path=request.url.path, **values)
    return HTMLResponse(html, status_code=code)


def error_page(request: Request, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    if request.url.path.startswith("/api/"):
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": message}, status, dict(headers or {}))
    sessions = request.app.state.sessions
    session = sessions.get(request.cookies.get(SESSION_COOKIE))
    response = _page(request, "error.html", status, session, status=status, message=message)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _safe_next(value: str | None) -> str:
    """Only a path of this site: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/restores"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = _page(request, "login.html", csrf=token, next=_safe_next(next), error=None)
    set_cookie(response, _settings(request), LOGIN_CSRF_COOKIE, token)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    given = str(form.get("csrf", ""))
    if not expected or not secrets.compare_digest(expected, given):
        return error_page(request, 403, "the log-in form's CSRF token is missing or wrong: reload the page")
    settings = _settings(request)
    try:
        identity = await run_in_threadpool(
            log_in, settings.ledger_url, str(form.get("name", "")), str(form.get("password", ""))
        )
    except LoginRefused as error:
        token = secrets.token_urlsafe(32)
        response = _page(request, "login.html", 401, csrf=token, next=_safe_next(str(form.get("next"))), error=error)
        set_cookie(response, settings, LOGIN_CSRF_COOKIE, token)
        return response
    session = request.app.state.sessions.open(identity)
    response = RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)
    set_cookie(response, settings, SESSION_COOKIE, session.id)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = session_of(request)
    check_csrf(session, str((await request.form()).get("csrf", "")))
    request.app.state.sessions.close(session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request) -> Response:
    session_of(request)
    return RedirectResponse("/restores", status_code=303)


@router.get("/restores", response_class=HTMLResponse)
def restores(request: Request) -> Response:
    session = session_of(request)
    settings = _settings(request)
    runs = list(reversed(list_restores(settings.ledger_url)))
    for run in runs:
        target = actions.target_of_run(settings, run)
        run["target_name"] = target.name if target else run["target"].get("url", "")
    return _page(request, "restores.html", session=session, runs=runs)


@router.get("/verify", response_class=HTMLResponse)
async def verify(request: Request, target: str = "") -> Response:
    """The ledger verified now: every event against its chain row, optionally a configured target's
    record of what it applied. Any role may run it."""
    session = session_of(request)
    settings = _settings(request)
    config = settings.targets.get(target) if target else None
    if target and config is None:
        return error_page(request, 404, f"no target {target!r} is configured")
    result = await run_in_threadpool(verify_ledger, settings.ledger_url, config.url if config else None)
    return _page(
        request, "verify.html", session=session, result=result, targets=sorted(settings.targets), chosen=target
    )


@router.get("/restores/new", response_class=HTMLResponse)
def new_restore(request: Request) -> Response:
    session = session_of(request)
    session.identity.require(OPERATOR, "upload and plan a restore")
    settings = _settings(request)
    return _page(request, "upload.html", session=session, targets=settings.targets, limit=settings.max_upload_bytes)


@router.post("/restores")
async def upload(request: Request) -> Response:
    session = session_of(request)
    session.identity.require(OPERATOR, "upload and plan a restore")
    form = await request.form(max_files=1, max_fields=20)
    try:
        check_csrf(session, str(form.get("csrf") or request.headers.get("x-csrf-token", "")))
        backup = form.get("backup")
        if backup is None or isinstance(backup, str):
            raise actions.InvalidRequest("choose a backup file to upload")
        options = {key: str(form[key]) for key in actions.CHOICES if form.get(key)}
        restore_id, _state = await run_in_threadpool(
            actions.start_plan,
            _settings(request),
            session.identity,
            backup.file,
            backup.filename,
            str(form.get("target", "")),
            str(form.get("reason", "")),
            options,
        )
    finally:
        await form.close()
    return RedirectResponse(f"/restores/{restore_id}", status_code=303)


@router.get("/restores/{restore_id}", response_class=HTMLResponse)
def restore_page(
    request: Request,
    restore_id: str,
    kind: str | None = None,
    model: str | None = None,
    security: bool = False,
    q: str | None = None,
    cursor: str | None = None,
) -> Response:
    session = session_of(request)
    settings = _settings(request)
    job = jobs.latest(settings, restore_id)
    run = actions.find_restore(settings, restore_id)
    if run is None and job is None:
        return error_page(request, 404, f"no restore {restore_id} in this ledger")
    values: dict[str, Any] = {"run": run, "job": job, "restore_id": restore_id, "kinds": KINDS}
    if run is not None:
        everything = review(restore_decisions(settings.ledger_url, restore_id))
        shown = review(restore_decisions(settings.ledger_url, restore_id, kind or None, model or None), security, q)
        items, next_cursor = page(shown, cursor, PAGE_SIZE)
        target = actions.target_of_run(settings, run)
        filters = {"kind": kind or "", "model": model or "", "security": "1" if security else "", "q": q or ""}
        values.update(
            target=target,
            timeline=timeline_of(settings.ledger_url, restore_id),
            summary=summary(everything),
            models=sorted({line["model"] for line in everything}),
            decisions=items,
            total=len(shown),
            next_cursor=next_cursor,
            filters=filters,
            query="&".join(f"{k}={quote(v)}" for k, v in filters.items() if v),
            formats=FORMATS,
        )
    busy = job is not None and job["state"] in jobs.RUNNING
    return _page(request, "restore.html", session=session, busy=busy, **values)


async def _signed(request: Request, restore_id: str, meaning: str) -> Response:
    session = session_of(request)
    form = await request.form()
    check_csrf(session, str(form.get("csrf", "")))
    await run_in_threadpool(
        actions.start_signed,
        _settings(request),
        session.identity,
        restore_id,
        meaning,
        str(form.get("password", "")),
        str(form.get("reason", "")),
    )
    return RedirectResponse(f"/restores/{restore_id}", status_code=303)


@router.post("/restores/{restore_id}/apply")
async def apply(request: Request, restore_id: str) -> Response:
    return await _signed(request, restore_id, "applied")


@router.post("/restores/{restore_id}/rollback")
async def rollback(request: Request, restore_id: str) -> Response:
    return await _signed(request, restore_id, "rolled back")


@router.get("/restores/{restore_id}/report")
def report(request: Request, restore_id: str, format: str = "html") -> Response:
    session = session_of(request)
    if format not in FORMATS:
        return error_page(request, 422, f"format must be one of {', '.join(FORMATS)}")
    body, media_type, name = render(_settings(request).ledger_url, restore_id, format, session.identity.name)
    return Response(body, media_type=media_type, headers={"content-disposition": f'attachment; filename="{name}"'})
