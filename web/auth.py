"""Who is asking: console sessions (HttpOnly, SameSite=Strict cookies, CSRF token, idle time-out)
and API Bearer tokens. Accounts, passwords and tokens are checked by application.accounts."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from fastapi import HTTPException, Request, Response

from application.accounts import Identity, LoginRefused, token_identity
from web.settings import Settings

SESSION_COOKIE = "rl_session"
LOGIN_CSRF_COOKIE = "rl_login_csrf"


@dataclass
class Session:
    id: str
    identity: Identity
    csrf: str
    last_seen: float = field(default_factory=time.monotonic)


class Sessions:
    """Console sessions, in the server's memory: a restart logs everyone out."""

    def __init__(self, idle_seconds: int) -> None:
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, identity: Identity) -> Session:
        session = Session(secrets.token_urlsafe(32), identity, secrets.token_urlsafe(32))
        with self._lock:
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The session, unless it is unknown or idle too long (then it is closed)."""
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.idle_seconds:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def close(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)


class LoginRequired(Exception):
    """A console page asked for without a session: the answer is a redirect to the log-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def set_cookie(response: Response, settings: Settings, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/", max_age=None
    )


def session_of(request: Request) -> Session:
    """The console session of the request, or a redirect to the log-in page."""
    sessions: Sessions = request.app.state.sessions
    session = sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired(request.url.path)
    return session


def check_csrf(session: Session, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, session.csrf):
        raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page and try again")


def bearer_identity(request: Request) -> Identity:
    """The account of the API request's Bearer token; 401 without a valid one."""
    settings: Settings = request.app.state.settings
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "an API token is needed: Authorization: Bearer TOKEN", headers=challenge)
    try:
        return token_identity(settings.ledger_url, token.strip())
    except LoginRefused as error:
        raise HTTPException(401, str(error), headers=challenge) from None
