"""Helpers for the workflow tests: play the people, wait on conditions (never fixed sleeps)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from uuid import UUID

from sqlmodel import select

from flows.simulate import section3_for
from flows.stack import wait_until as stack_wait_until
from models.accounts import AccountError, create_staff
from models.db import session_scope
from models.enums import TaskStatus
from models.tables import AccessRequest, HumanTask

DATA = Path(__file__).resolve().parent.parent / "data"
RESPONDENT = "repondant.test"
RESPONDENT_PASSWORD = "Repondant-Test-2026"
SOES = "soes.test"


def wait_until(check, *, timeout: float = 90, what: str = "condition"):
    """Polls ``check`` until it returns something truthy, and returns it."""
    return stack_wait_until(check, timeout=timeout, what=what)


def unique_request(**user_overrides) -> dict:
    """The sample establishment request with mailboxes and a name no other test uses."""
    data = json.loads((DATA / "request-establishment.json").read_text())
    data["authorization"] = None
    tag = uuid.uuid4().hex[:10]
    data["user"]["email"] = f"usager.{tag}@cisss.example.qc.ca"
    data["authorizer"]["email"] = f"autorisateur.{tag}@cisss.example.qc.ca"
    data["user"].update(user_overrides)
    return data


def section3(data: dict) -> dict:
    return copy.deepcopy(section3_for(data))


def ensure_respondent(username: str = RESPONDENT, email: str | None = None) -> str:
    with session_scope() as s:
        try:
            create_staff(s, username=username, role="respondent", password=RESPONDENT_PASSWORD,
                         display_name="Répondant Test", email=email or f"{username}@ramq.example.qc.ca")
        except AccountError as exc:
            assert exc.code == "username_taken"
    return username


def ensure_soes(username: str = SOES, email: str | None = None, display_name: str = "Contresignataire Test") -> str:
    """A SOES account (the RAMQ's countersignature of section 4)."""
    with session_scope() as s:
        try:
            create_staff(s, username=username, role="soes", password=RESPONDENT_PASSWORD,
                         display_name=display_name, email=email or f"{username}@ramq.example.qc.ca")
        except AccountError as exc:
            assert exc.code == "username_taken"
    return username


def countersign(request_id: int, round: int = 1, attempt: int = 1, staff: str | None = None) -> int:
    """The SOES claims the countersign task of this approval and countersigns it."""
    from flows import api

    staff = staff or ensure_soes()
    task_id = open_task(request_id, "countersign", round, attempt=attempt)
    api.claim_task(task_id, staff=staff)
    return api.countersign_decide(task_id, staff=staff, outcome="countersign")


def token_in(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    for word in body.split():
        if "?t=" in word:
            return parse_qs(urlparse(word.strip("<>()")).query)["t"][0]
    raise AssertionError("no signed link in the message")


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def mail(smtp, to: str, contains: str, count: int = 1, timeout: float = 90) -> list:
    """Waits until ``to`` received ``count`` messages whose subject contains ``contains``."""
    def found():
        msgs = [m for m in smtp.to(to) if contains.lower() in str(m["Subject"]).lower()]
        return msgs if len(msgs) >= count else None
    return wait_until(found, timeout=timeout, what=f"{count} email(s) '{contains}'")


def open_task(request_id: int, kind: str, round: int = 1, timeout: float = 90, attempt: int = 1) -> int:
    def find():
        with session_scope() as s:
            return s.exec(select(HumanTask.id).where(
                HumanTask.request_id == request_id, HumanTask.kind == kind, HumanTask.round == round,
                HumanTask.attempt == attempt, HumanTask.status == TaskStatus.open.value)).first()
    return wait_until(find, timeout=timeout, what=f"open {kind} task")


def request_status(request_id: int) -> str:
    with session_scope() as s:
        return s.get(AccessRequest, request_id).status


def flow_run(request_id: int):
    from prefect.client.orchestration import get_client

    with session_scope() as s:
        run_id = s.get(AccessRequest, request_id).flow_run_id
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id))


def wait_run_final(request_id: int, timeout: float = 120):
    def final():
        run = flow_run(request_id)
        return run if run.state and run.state.is_final() else None
    return wait_until(final, timeout=timeout, what="flow run to end")
