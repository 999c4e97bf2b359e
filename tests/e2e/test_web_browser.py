"""The console in a real headless Chromium (Debian's), driven by Playwright: an operator uploads a
package, watches progress, reviews role mappings and created users, applies with a signature; an
auditor downloads the HTML report; the operator rolls back with a signature. Hostile values in the
backup are shown as text, and no script of theirs runs. Screenshots of each page go to tmp_path."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from application.timeline import timeline_of
from tests.console import HOSTILE, PASSWORDS, Console, example_package, make_console, serve
from tests.targets import SqliteTarget, sqlite_target

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Console, SqliteTarget, str]]:
    target = sqlite_target(tmp_path / "target.sqlite3", reinitialised=True)
    console = make_console(tmp_path / "console", target.url, str(tmp_path / "ledger.sqlite3"))
    for base in serve(console, tmp_path / "server.log"):
        yield console, target, base


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def log_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/restores")
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{base}/restores")


def log_out(page: Any) -> None:
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login")


def sign(page: Any, form: str, name: str, reason: str) -> None:
    page.fill(f"{form} input[name=password]", PASSWORDS[name])
    page.fill(f"{form} input[name=reason]", reason)
    page.click(f"{form} button[type=submit]")


def test_operator_plans_applies_and_rolls_back_auditor_downloads_the_report(
    served: tuple[Console, SqliteTarget, str], browser: Any, tmp_path: Path
) -> None:
    console, target, base = served
    shots = tmp_path / "screenshots"
    shots.mkdir()
    package = example_package(tmp_path, hostile=True)
    users_before = target.count("accounts_user")
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{base}/login")
    page.screenshot(path=shots / "01-login.png")
    log_in(page, base, "olga")
    page.click("text=Upload & plan")
    page.set_input_files("input[name=backup]", str(package))
    page.fill("input[name=reason]", f"restore after re-initialisation {HOSTILE}")
    page.screenshot(path=shots / "02-upload.png")
    page.click("button:has-text('Upload and plan')")
    page.wait_for_url(re.compile(r"/restores/[0-9a-f-]{36}$"))
    restore_id = page.url.rsplit("/", 1)[-1]
    page.screenshot(path=shots / "03-progress.png")
    page.wait_for_selector("#status:has-text('planned')", timeout=90_000)
    assert "read: 52" in page.inner_text("#job")  # progress counted every record read
    page.screenshot(path=shots / "04-planned.png", full_page=True)

    page.goto(f"{base}/restores/{restore_id}?kind=mapped&model=accounts.role#decisions")
    roles = page.inner_text("table.decisions")
    assert 'accounts.role "Administrator"' in roles and "mapped onto the existing row" in roles
    page.screenshot(path=shots / "05-role-mappings.png", full_page=True)
    page.goto(f"{base}/restores/{restore_id}?kind=created#decisions")
    created = page.inner_text("table.decisions")
    assert "referenced but missing, created with pk" in created
    assert HOSTILE in created  # shown as text
    assert page.evaluate("window.__xss") is None and dialogs == []  # and never run
    page.screenshot(path=shots / "06-created-users.png", full_page=True)

    page.goto(f"{base}/restores/{restore_id}")
    sign(page, "#apply-form", "olga", "reviewed the mappings and created users")
    page.wait_for_selector("#status:has-text('applied')", timeout=90_000)
    created_user = target.query("SELECT is_active, is_staff FROM accounts_user WHERE username LIKE '<script>%'")
    assert created_user == [(0, 0)]  # created inactive, never staff
    assert target.count("accounts_user") == users_before + 20
    page.screenshot(path=shots / "07-applied.png", full_page=True)
    log_out(page)

    log_in(page, base, "aldo")
    page.goto(f"{base}/restores/{restore_id}")
    assert page.locator("#apply-form, #rollback-form").count() == 0  # an auditor signs nothing
    with page.expect_download() as download:
        page.click("a:has-text('HTML')")
    report = tmp_path / "report.html"
    download.value.save_as(report)
    text = report.read_text()
    assert restore_id in text and "signed electronically: applied" in text and "<script>window" not in text
    page.screenshot(path=shots / "08-auditor.png", full_page=True)
    report_page = context.new_page()
    report_page.goto(report.as_uri())
    assert report_page.evaluate("window.__xss") is None
    report_page.screenshot(path=shots / "09-report.png", full_page=True)
    report_page.close()
    log_out(page)

    log_in(page, base, "olga")
    page.goto(f"{base}/restores/{restore_id}")
    sign(page, "#rollback-form", "olga", "wrong backup")
    page.wait_for_selector("#status:has-text('rolled back')", timeout=90_000)
    assert target.count("accounts_user") == users_before
    page.screenshot(path=shots / "10-rolled-back.png", full_page=True)
    page.goto(f"{base}/restores")
    page.screenshot(path=shots / "11-restores.png", full_page=True)
    assert page.evaluate("window.__xss") is None and dialogs == []
    context.close()

    events = timeline_of(console.ledger, restore_id)
    assert events[0]["actor"] == "olga"
    assert [(e["actor"], e["what"]) for e in events if e["event"] == "Signed"] == [
        ("olga", "signed electronically: applied"),
        ("olga", "signed electronically: rolled back"),
    ]
    assert len(list(shots.glob("*.png"))) == 11
