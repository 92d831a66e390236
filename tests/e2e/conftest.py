"""Fixtures for the browser journey: the whole stack, started by the test on free ports, and a
real Chromium (the system one) driven by Playwright.

- The Prefect server is the session's (``prefect_server``); the SMTP sink (Maildir in the stack's
  var dir), the runner serving the deployment and the Streamlit app are started here with
  ``flows.stack.Stack`` and stopped at the end of the module, even on failure.
- The journey runs once, on its own SQLite database, whatever ``RAMQ_TEST_DATABASE_URL`` says:
  it tests the screens and the processes wired together, not the database backend (the workflow
  and model tests run on both backends), and one journey costs a few minutes on a small machine.
- The test process reads the same database and Maildir as the stack (``e2e`` fixture), to create
  the staff account and to wait on conditions (a task opened, an email arrived).
- Each screen is saved as a full-page screenshot in ``test-artifacts/e2e/`` (gitignored), and the
  stack's logs are copied there when the module ends.

Chromium: ``/usr/bin/chromium`` or ``$RAMQ_BROWSER``; the test is skipped when it is missing,
except under CI (``$CI`` set), where a missing browser is a failure. Never ``playwright install``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flows.stack import Stack, free_port, wait_until
from models import db as models_db
from models.settings import PROJECT_ROOT, get_settings

CHROMIUM = os.environ.get("RAMQ_BROWSER") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "e2e"

# Generous: a person's decision resumes the flow run, which the runner picks up on its next poll
# and runs in a new process (about 10 s per step on a 2-core machine, more under load).
STEP_TIMEOUT = 180  # seconds, for a flow step (an email, a task)
UI_TIMEOUT_MS = 60_000  # a Streamlit rerun, a page load
VIEWPORT = {"width": 1280, "height": 900}


def _reset_caches() -> None:
    """Forgets the settings and the engines, so the next lookup reads the environment (as
    ``tests.conftest._reset_caches``; not imported from there: a second import of the root
    conftest would choose another Prefect port)."""
    get_settings.cache_clear()
    models_db.dispose_engines()


def wait_for(check: Callable[[], object], *, what: str, timeout: float = STEP_TIMEOUT):
    """Polls ``check`` until it returns something truthy, and returns it (no fixed sleep)."""
    return wait_until(check, timeout=timeout, what=what)


@dataclass
class E2EStack:
    stack: Stack
    database_url: str

    @property
    def url(self) -> str:
        return self.stack.ui_url

    @property
    def var_dir(self) -> Path:
        return self.stack.var_dir

    @property
    def maildir(self) -> Path:
        return self.stack.var_dir / "mail"

    def check_alive(self) -> None:
        dead = [name for name, ok in self.stack.alive().items() if not ok]
        assert not dead, f"stack component(s) ended: {dead}; see {self.var_dir / 'logs'}"

    def wait_mail(self, to: str, subject_contains: str, *, timeout: float = STEP_TIMEOUT):
        """The newest message to ``to`` whose subject contains the text, once it has arrived."""
        from notifications.maildir import find_messages

        def arrived():
            self.check_alive()
            found = find_messages(self.maildir, to=to, subject_contains=subject_contains)
            return found[0] if found else None

        return wait_for(arrived, what=f"email « {subject_contains} » to {to}", timeout=timeout)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM} (install it with apt, or set RAMQ_BROWSER)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def e2e_stack(chromium_path, prefect_server, tmp_path_factory) -> Iterator[E2EStack]:
    """SMTP sink, runner and Streamlit on free ports, on a fresh SQLite database, in dev mode
    (the « Courriels » page), against the session's Prefect server."""
    var_dir = tmp_path_factory.mktemp("e2e-var")
    database_url = f"sqlite:///{var_dir / 'app.db'}"
    models_db.upgrade(database_url)
    models_db.dispose_engines()
    stack = Stack(
        var_dir=var_dir, prefect_port=prefect_server.prefect_port, smtp_port=free_port(),
        ui_port=free_port(),
        # Its own deployment: the session's workflow runner shares this Prefect server.
        extra_env={"RAMQ_DATABASE_URL": database_url, "RAMQ_ENV": "dev",
                   "RAMQ_VAR_DIR": str(var_dir), "RAMQ_DEPLOYMENT_NAME": "access-request/test-browser"},
    )
    try:
        stack.start(("smtp", "runner", "ui"), timeout=180)
        yield E2EStack(stack, database_url)
    finally:
        stack.stop()
        logs = ARTIFACTS / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for log in (var_dir / "logs").glob("*.log"):
            shutil.copyfile(log, logs / log.name)


@pytest.fixture
def e2e(e2e_stack, monkeypatch) -> Iterator[E2EStack]:
    """The test process on the stack's database and Maildir (like ``app_env``)."""
    monkeypatch.setenv("RAMQ_DATABASE_URL", e2e_stack.database_url)
    monkeypatch.setenv("RAMQ_VAR_DIR", str(e2e_stack.var_dir))
    monkeypatch.setenv("RAMQ_ENV", "dev")
    monkeypatch.setenv("RAMQ_DEPLOYMENT_NAME", "access-request/test-browser")
    _reset_caches()
    e2e_stack.check_alive()
    yield e2e_stack
    _reset_caches()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Screens:
    """Opens one browser context per person and saves each screen they see."""

    browser: object
    name: str
    contexts: list = field(default_factory=list)
    count: int = 0

    def person(self, locale: str = "fr-CA"):
        """A new page in its own context (cookies, Streamlit session): one person's browser, in
        ``locale`` (a Québec browser unless told)."""
        from playwright.sync_api import expect

        expect.set_options(timeout=UI_TIMEOUT_MS)
        context = self.browser.new_context(viewport=VIEWPORT, locale=locale,
                                           timezone_id="America/Montreal")
        context.set_default_timeout(UI_TIMEOUT_MS)
        self.contexts.append(context)
        return context.new_page()

    def shot(self, page, step: str) -> Path:
        """Checks the page shows no traceback, then saves it whole. Streamlit scrolls inside its
        main container, so the viewport is stretched to the content for the screenshot."""
        from playwright.sync_api import expect

        # The rerun is over: no element is greyed out as stale.
        expect(page.locator('[data-stale="true"]')).to_have_count(0)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        content = page.content()
        assert "Traceback" not in content, f"a Python traceback is shown on « {step} »"
        self.count += 1
        path = ARTIFACTS / f"{self.name}-{self.count:02d}-{_slug(step)}.png"
        height = page.evaluate(
            """() => {
                let h = document.documentElement.scrollHeight;
                for (const id of ['stMain', 'stAppViewContainer', 'stSidebar']) {
                    const el = document.querySelector(`[data-testid="${id}"]`);
                    if (el) { el.scrollTo(0, 0); h = Math.max(h, el.scrollHeight); }
                }
                return h;
            }""")
        page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(height, VIEWPORT["height"]), 12_000)})
        try:
            page.screenshot(path=str(path), full_page=True, animations="disabled")
        finally:
            page.set_viewport_size(VIEWPORT)
        return path


@pytest.fixture
def screens(browser, request) -> Iterator[Screens]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = _slug(request.node.name)
    for old in ARTIFACTS.glob(f"{name}-[0-9][0-9]-*.png"):
        old.unlink()
    screens = Screens(browser=browser, name=name)
    try:
        yield screens
    finally:
        for context in screens.contexts:
            context.close()


@contextmanager
def streamlit_only(tmp_path_factory, name: str, extra_env: dict[str, str] | None = None) -> Iterator[E2EStack]:
    """Only Streamlit (``ui/server.py``), on a fresh SQLite database of its own in dev mode, for
    the screens that need no flow run; stopped on leaving, even on failure."""
    var_dir = tmp_path_factory.mktemp(name)
    database_url = f"sqlite:///{var_dir / 'app.db'}"
    models_db.upgrade(database_url)
    models_db.dispose_engines()
    stack = Stack(var_dir=var_dir, prefect_port=free_port(), ui_port=free_port(),
                  extra_env={"RAMQ_DATABASE_URL": database_url, "RAMQ_ENV": "dev",
                             "RAMQ_VAR_DIR": str(var_dir), **(extra_env or {})})
    try:
        stack.start(("ui",), timeout=180)
        yield E2EStack(stack, database_url)
    finally:
        stack.stop()


@contextmanager
def on_stack(stack: E2EStack, monkeypatch) -> Iterator[E2EStack]:
    """The test process on that stack's database and var dir (to make accounts, to wait)."""
    monkeypatch.setenv("RAMQ_DATABASE_URL", stack.database_url)
    monkeypatch.setenv("RAMQ_VAR_DIR", str(stack.var_dir))
    monkeypatch.setenv("RAMQ_ENV", "dev")
    _reset_caches()
    stack.check_alive()
    yield stack
    _reset_caches()
