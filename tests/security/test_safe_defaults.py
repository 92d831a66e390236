"""Safe defaults, as an attacker or a hurried operator would meet them.

- A production start with a weak or missing secret, the local mail sink or no Prefect auth
  string stops at once, with one line that never repeats the secret it refused.
- A development instance says so on every page (published key, local mailbox).
- The « Courriels » page, which shows temporary passwords, needs a staff login even in dev mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.settings import get_settings
from tests.ui.conftest import goto, nav_error, texts

ROOT = Path(__file__).resolve().parents[2]
SECRET = "short-secret-XYZ"
BANNER_WORDS = ("instance de développement", "clé publiée", "boîte aux lettres locale")


def _prod_env(**over: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAMQ_") and k != "PREFECT_API_AUTH_STRING"}
    env.update({"RAMQ_ENV": "prod", "RAMQ_SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT),
                "RAMQ_SMTP_PASSWORD": "smtp-pass-QWERTY"})
    env.update(over)
    return env


def _run(args: list[str], env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def _assert_refused_in_one_line(proc: subprocess.CompletedProcess) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert SECRET not in out and "XYZ" not in out and "QWERTY" not in out, out
    assert "input_value" not in out and "Traceback" not in out
    return lines[0]


@pytest.mark.parametrize("over", [
    {},  # short key, local sink, no Prefect auth
    {"RAMQ_SECRET_KEY": "dev-only-secret-key-change-me-0123456789abcdef",
     "RAMQ_SMTP_HOST": "smtp.relais.example.qc.ca", "RAMQ_PREFECT_AUTH_STRING": "admin:x"},
    {"RAMQ_SECRET_KEY": "s" * 40, "RAMQ_PREFECT_AUTH_STRING": "admin:x"},  # the local sink
    {"RAMQ_SECRET_KEY": "s" * 40, "RAMQ_SMTP_HOST": "smtp.relais.example.qc.ca"},  # no auth
])
def test_a_production_start_with_unsafe_settings_stops_in_one_line(tmp_path, over):
    code = "from models.settings import load_settings_or_exit; load_settings_or_exit(); print('STARTED')"
    proc = _run([sys.executable, "-c", code], _prod_env(**over), tmp_path)
    line = _assert_refused_in_one_line(proc)
    assert "STARTED" not in line
    assert line.index("refus") < line.index("refused")  # French, then English


def test_a_production_start_with_safe_settings_goes_on(tmp_path):
    code = "from models.settings import load_settings_or_exit; load_settings_or_exit(); print('STARTED')"
    env = _prod_env(RAMQ_SECRET_KEY="s" * 40, RAMQ_SMTP_HOST="smtp.relais.example.qc.ca",
                    RAMQ_PREFECT_AUTH_STRING="admin:x")
    proc = _run([sys.executable, "-c", code], env, tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "STARTED", proc.stderr


def test_the_cli_refuses_a_production_start_in_one_line(tmp_path):
    cli = Path(sys.executable).with_name("ramq-access")
    proc = _run([str(cli), "schema"], _prod_env(), tmp_path)
    _assert_refused_in_one_line(proc)


def test_the_app_refuses_a_production_start_in_one_line(app, monkeypatch):
    monkeypatch.setenv("RAMQ_ENV", "prod")
    monkeypatch.setenv("RAMQ_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    try:
        at = app()
        assert not at.exception
        shown = [str(e.value) for e in at.error]
        assert len(shown) == 1 and "\n" not in shown[0] and "RAMQ_SECRET_KEY" in shown[0]
        assert SECRET not in texts(at)
        assert not at.text_input  # no page was built: nothing to fill
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("page", ["submission.py", "staff_login.py", "my_access.py"])
def test_every_development_page_says_it_is_a_development_instance(app, page):
    at = goto(app(), page) if page != "submission.py" else app()
    assert not at.exception
    banner = [str(w.value) for w in at.warning if "développement" in str(w.value)]
    assert banner, texts(at)
    for words in BANNER_WORDS:
        assert words in banner[0].lower()


def test_a_production_instance_has_no_development_banner(app, monkeypatch):
    for name, value in {"RAMQ_ENV": "prod", "RAMQ_SECRET_KEY": "s" * 40,
                        "RAMQ_SMTP_HOST": "smtp.relais.example.qc.ca",
                        "RAMQ_PREFECT_AUTH_STRING": "admin:x"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        at = app()
        assert not at.exception
        assert "instance de développement" not in texts(at).lower()
        assert nav_error(at, "emails.py")
    finally:
        get_settings.cache_clear()


def test_an_anonymous_visitor_cannot_read_the_dev_mailbox(app):
    at = app()
    assert nav_error(at, "emails.py")  # the page file is not in an anonymous navigation
