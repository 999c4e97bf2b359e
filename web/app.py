"""The ASGI application: console pages at /, the REST API at /api/v1, static assets at /static.

Nothing happens at import time: ``create_app(settings)`` builds it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import RestoreError
from web import api, pages
from web.auth import LoginRequired, Sessions
from web.errors import message_of, status_of
from web.settings import Settings

HERE = Path(__file__).parent
FORM_LIMIT = 64 * 1024
UPLOAD_PATHS = ("/restores", "/api/v1/restores")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class UploadTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the upload is larger than the limit of {limit:,} bytes; nothing was stored")


class Limits:
    """Request bodies within limits, read as they stream: an upload request up to ``max_upload_bytes``
    (backup and form fields), anything else up to FORM_LIMIT; and the security headers on every response."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload_bytes if scope["path"] in UPLOAD_PATHS else FORM_LIMIT
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            message = UploadTooLarge(limit).detail
            response: Response = (
                JSONResponse({"detail": message}, 413, SECURITY_HEADERS)
                if scope["path"].startswith("/api/")
                else HTMLResponse(f"<h1>Too large</h1><p>{escape(message)}</p>", 413, SECURITY_HEADERS)
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise UploadTooLarge(limit)
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, limited, with_headers)


def templates() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)


def create_app(settings: Settings) -> Any:
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="restore-ledger console", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.sessions = Sessions(settings.idle_seconds)
    app.state.templates = templates()
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount("/api/v1", api.create_api(settings, app.state.templates))

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, error: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={error.next_path}", status_code=303)

    @app.exception_handler(RestoreError)
    async def refused(request: Request, error: RestoreError) -> Response:
        return pages.error_page(request, status_of(error), message_of(error))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        return pages.error_page(request, error.status_code, str(error.detail), error.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        return HTMLResponse("<h1>Internal error</h1><p>The server log says more.</p>", status_code=500)

    return Limits(app, settings.max_upload_bytes)
