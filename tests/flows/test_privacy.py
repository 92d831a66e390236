"""Prefect sees identifiers only: after a whole request, neither the temporary password nor the
user's name or email appears in the Prefect database, its result storage or its logs."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from flows import api
from notifications.templates import read_secret
from tests.flows.test_access_request import _approve, _authorize, authenticate_ok
from tests.flows.workflow_helpers import mail, text_of, unique_request, wait_run_final

pytestmark = pytest.mark.workflow


def _prefect_texts(*stacks) -> dict[str, str]:
    """Everything Prefect keeps: its database (every table), result files and process logs."""
    texts = {}
    for stack in stacks:
        home = stack.var_dir / "prefect"
        for path in home.rglob("*"):
            if path.is_file() and path.name.endswith(".db"):
                with sqlite3.connect(path) as conn:
                    texts[path.name] = "\n".join(conn.iterdump())
            elif path.is_file() and ".db-" not in path.name:
                texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
        for path in (stack.var_dir / "logs").glob("*.log"):
            texts[str(path)] = path.read_text(errors="replace")
    return texts


def test_no_personal_data_nor_password_reaches_prefect(live, prefect_server, smtp_server):
    tag = uuid.uuid4().hex[:8]
    first, last = f"Zébulon{tag}", f"Quartzfeld{tag}"
    data = unique_request(first_name=first, last_name=last)
    sub = api.submit_request(data, actor="test")
    _authorize(smtp_server, data, sub.reference)
    section4 = _approve(sub.request_id)
    assert wait_run_final(sub.request_id).state.is_completed()

    pw_text = text_of(mail(smtp_server, data["user"]["email"], "mot de passe temporaire")[0])
    password = read_secret(pw_text)
    assert authenticate_ok(section4["username"], password)

    secrets = {
        "password": password,
        "first name": first.upper(), "last name": last.upper(),
        "first name (as typed)": first, "last name (as typed)": last,
        "user email": data["user"]["email"], "authorizer email": data["authorizer"]["email"],
    }
    texts = _prefect_texts(prefect_server, live)
    assert any(p.startswith(str(live.var_dir / 'prefect' / 'storage')) for p in texts)  # results were read
    assert "prefect.db" in texts and sub.reference in texts["prefect.db"]  # the scan sees the run
    for label, secret in secrets.items():
        leaks = [where for where, text in texts.items() if secret in text or secret.lower() in text.lower()]
        assert not leaks, f"{label} found in {leaks}"
