"""The fault suite's lab: a runner of its own (on the session's Prefect server), a fresh
application database, a real SMTP server the test controls, and a supervisor thread doing what
`make run` does (revive a dead runner, hand back its runs) plus the sweeper's passes.

Requests are driven as people would: submitted through the API, authorized through the link
found in the authorizer's email, approved by a respondent and countersigned by a SOES. The
verdict of a fault is computed from what the SMTP server received (each expected email exactly
once, to the right person) and from the database (each request at the end it should reach).
Every measured result is appended to ``test-artifacts/faults/results.jsonl``;
``python -m tests.faults.report`` turns it into the table of docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import select

from flows.stack import Stack, wait_until
from models.db import session_scope
from models.enums import TaskStatus
from models.settings import PROJECT_ROOT
from models.tables import AccessRequest, HumanTask
from tests.flows.workflow_helpers import (
    RESPONDENT,
    ensure_respondent,
    ensure_soes,
    section3,
    token_in,
    unique_request,
)

RESULTS = PROJECT_ROOT / "test-artifacts" / "faults" / "results.jsonl"
STEP_TIMEOUT = 240

# What each person must receive, once, for a request that ends with credentials.
EXPECTED = {
    "user": ("accusé de réception", "mot de passe temporaire"),
    "authorizer": ("autorisation est requise", "nom d'utilisateur"),
}
# What must never reach them.
FORBIDDEN = {"user": ("nom d'utilisateur",), "authorizer": ("mot de passe",)}


@dataclass
class Driven:
    """One request the lab drives: its data, ids and the moments that matter."""

    data: dict
    request_id: int
    reference: str
    token: str | None = None

    @property
    def user(self) -> str:
        return self.data["user"]["email"]

    @property
    def authorizer(self) -> str:
        return self.data["authorizer"]["email"]


@dataclass
class Lab:
    runner: Stack
    prefect: Stack
    smtp: object  # tests.smtp_server.SmtpServer
    database_url: str
    deployment: str
    supervise: bool = True
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    sweep_errors: list[str] = field(default_factory=list)

    # -- the supervisor of `make run`, in a thread ------------------------------------------
    def start_supervisor(self, every: float = 2.0) -> None:
        def loop() -> None:
            from flows.sweeper import sweep

            while not self._stop.wait(every):
                if self.supervise:
                    try:
                        self.runner.revive()
                    except Exception as exc:  # noqa: BLE001 - retried next turn, as make run does
                        self.sweep_errors.append(f"revive: {type(exc).__name__}")
                try:
                    sweep(grace_seconds=5)
                except Exception as exc:  # noqa: BLE001
                    self.sweep_errors.append(f"sweep: {type(exc).__name__}")

        self._thread = threading.Thread(target=loop, name="fault-supervisor", daemon=True)
        self._thread.start()

    def stop_supervisor(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)

    # -- faults ------------------------------------------------------------------------------
    def kill_runner(self) -> None:
        """SIGKILL to the runner and every flow-run process it started (a machine that dies)."""
        proc = self.runner.procs["runner"]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def kill_prefect(self) -> None:
        proc = self.prefect.procs["prefect"]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def start_prefect(self) -> None:
        self.prefect.procs.pop("prefect", None)
        self.prefect.start_component("prefect", timeout=180)

    # -- people -------------------------------------------------------------------------------
    def submit(self, n: int) -> list[Driven]:
        from flows import api

        out = []
        for _ in range(n):
            data = unique_request()
            sub = api.submit_request(data, actor="fault-suite")
            out.append(Driven(data, sub.request_id, sub.reference))
        return out

    def authorizer_link(self, req: Driven, timeout: float = STEP_TIMEOUT) -> str:
        msg = self.wait_mail(req.authorizer, "autorisation est requise", timeout=timeout)
        req.token = token_in(msg)
        return req.token

    def authorize(self, req: Driven) -> int:
        from flows import api

        return api.authorizer_decide(req.token or self.authorizer_link(req), outcome="authorize",
                                     section3=section3(req.data))

    def approve(self, req: Driven, timeout: float = STEP_TIMEOUT) -> int:
        """A respondent approves, then the SOES countersigns (the product's default); the id
        of the countersign decision, the one that brings the credentials."""
        from flows import api

        staff = ensure_respondent(RESPONDENT)
        task_id = self.open_task(req, "respondent", timeout=timeout)
        api.claim_task(task_id, staff=staff)
        api.respondent_decide(task_id, staff=staff, outcome="approve", section4=api.proposed_section4(task_id))
        soes = ensure_soes()
        task_id = self.open_task(req, "countersign", timeout=timeout)
        api.claim_task(task_id, staff=soes)
        return api.countersign_decide(task_id, staff=soes, outcome="countersign")

    def open_task(self, req: Driven, kind: str, timeout: float = STEP_TIMEOUT) -> int:
        def find():
            with session_scope() as s:
                return s.exec(select(HumanTask.id).where(
                    HumanTask.request_id == req.request_id, HumanTask.kind == kind,
                    HumanTask.status == TaskStatus.open.value)).first()
        return wait_until(find, timeout=timeout, what=f"open {kind} task of {req.reference}")

    def wait_mail(self, to: str, contains: str, timeout: float = STEP_TIMEOUT):
        def found():
            msgs = [m for m in self.smtp.to(to) if contains.lower() in str(m["Subject"]).lower()]
            return msgs[-1] if msgs else None
        return wait_until(found, timeout=timeout, what=f"email '{contains}'")

    def wait_status(self, reqs: list[Driven], status: str, timeout: float = STEP_TIMEOUT) -> float:
        """Waits until every request has ``status``; returns when (monotonic)."""
        ids = [r.request_id for r in reqs]

        def done():
            with session_scope() as s:
                found = s.exec(select(AccessRequest.status).where(AccessRequest.id.in_(ids))).all()
            return len(found) == len(ids) and all(st == status for st in found)
        wait_until(done, timeout=timeout, what=f"{len(ids)} request(s) {status}")
        return time.monotonic()

    def wait_all_mail(self, reqs: list[Driven], timeout: float = STEP_TIMEOUT) -> float:
        for req in reqs:
            for role, subjects in EXPECTED.items():
                for subject in subjects:
                    self.wait_mail(getattr(req, role), subject, timeout=timeout)
        return time.monotonic()

    def finish(self, fault: str, reqs: list[Driven], recovered: float | None, *,
               authorize: list[Driven] = (), note: str = "") -> None:
        """Plays the people left (these authorizers, then a respondent for every request),
        waits for every email, then judges, records and asserts the fault's outcome."""
        for req in authorize:
            self.authorize(req)
        for req in reqs:
            self.approve(req)
        self.wait_all_mail(reqs)
        verdict = self.verdict(reqs)
        record(fault, len(reqs), verdict, recovered, note)
        assert_clean(verdict)

    # -- verdict -------------------------------------------------------------------------------
    def verdict(self, reqs: list[Driven], *, expected_status: str = "completed") -> dict:
        """Lost (not at its end), duplicated (an email twice) and misdirected (a credential to
        the wrong person) among these requests. The last step (closing the request) follows the
        last email: it gets a moment to land before a request counts as lost."""
        try:
            self.wait_status(reqs, expected_status, timeout=60)
        except TimeoutError:
            pass  # reported below as lost
        with session_scope() as s:
            statuses = dict(s.exec(select(AccessRequest.id, AccessRequest.status).where(
                AccessRequest.id.in_([r.request_id for r in reqs]))).all())
        lost = [r.reference for r in reqs if statuses.get(r.request_id) != expected_status]
        duplicated, misdirected = [], []
        for req in reqs:
            for role in ("user", "authorizer"):
                received = [str(m["Subject"]) for m in self.smtp.to(getattr(req, role))]
                for subject in set(received):
                    if received.count(subject) > 1:
                        duplicated.append(f"{req.reference}:{role}:{subject}")
                for word in FORBIDDEN[role]:
                    misdirected += [f"{req.reference}:{role}:{x}" for x in received if word in x]
                if expected_status == "completed":
                    for subject in EXPECTED[role]:
                        if not any(subject in x for x in received):
                            lost.append(f"{req.reference}:{role}:missing '{subject}'")
        return {"lost": sorted(set(lost)), "duplicated": duplicated, "misdirected": misdirected}


def record(fault: str, driven: int, verdict: dict, recovery_seconds: float | None, note: str = "") -> None:
    """Appends one measured row for docs/reliability.md."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    row = {"fault": fault, "driven": driven, "lost": len(verdict["lost"]),
           "duplicated": len(verdict["duplicated"]), "misdirected": len(verdict["misdirected"]),
           "recovery_s": None if recovery_seconds is None else round(recovery_seconds, 1),
           "note": note, "at": time.strftime("%Y-%m-%d %H:%M:%S")}
    with open(RESULTS, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def assert_clean(verdict: dict) -> None:
    assert verdict == {"lost": [], "duplicated": [], "misdirected": []}, verdict


def until(check: Callable[[], object], what: str, timeout: float = STEP_TIMEOUT):
    return wait_until(check, timeout=timeout, what=what)


def ensure_staff() -> str:
    return ensure_respondent(RESPONDENT)


def results_path() -> Path:
    return RESULTS
