"""A request's flow run, as the application drives it: start it, resume it with a stored
decision, restart it after it died.

These are the only calls that change a run in Prefect on the application's behalf, whoever
asks: the human-step API (``flows.api``: a submission starts the run, a decision resumes it)
and the sweeper (``flows.sweeper``: a run Prefect could not start, a resume that did not go
through, a dead run). Finding out *which* runs died (reading run states, marking a silent or
stuck run ``Crashed``, the zombie automation) is detection, and stays in ``flows.recovery``;
restarting a dead run is done here, like every other change of a run.

Only identifiers cross to Prefect: the request id as parameter, the reference as run name,
the decision id as resume input.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import update
from sqlmodel import col

from models.db import get_row, session_scope
from models.settings import get_settings
from models.tables import AccessRequest, Decision, utcnow

# The state name of a dead run scheduled again (shown in Prefect's UI).
RESTART_STATE_NAME = "AwaitingRestart"
# What Prefect's server answers when it could not take a call now and it may be made again.
SERVER_BUSY = frozenset({429, 502, 503})
# How long a call answered busy is tried again here before Prefect's client has the answer.
BUSY_PATIENCE_SECONDS = 10.0


class _BusyAnswersTriedAgain(httpx.HTTPTransport):
    """Sends a call again 50 ms after the server answered it busy (then 100, 200…, at most
    0.5 s apart, for :data:`BUSY_PATIENCE_SECONDS`), before Prefect's client sees the answer.

    Prefect's client tries a busy answer again by itself, but only after 2 s (then 4, 8, 16,
    32), and its server on SQLite answers busy often: it starts a run, and resumes one, in a
    transaction that reads and then writes, and any write in between (the logs and events of an
    execution, another run's step) makes it fail with « database is locked » (503). On an idle
    stack that was one decision in two, 2 s late; with 8 people at once, new requests waited
    up to two minutes for their first email. A busy answer means the server rolled the call
    back, so sending it again is safe (Prefect's client does the same, later)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        delay, deadline = 0.05, time.monotonic() + BUSY_PATIENCE_SECONDS
        while True:
            response = super().handle_request(request)
            if (response.status_code not in SERVER_BUSY or "retry-after" in response.headers
                    or time.monotonic() + delay > deadline):
                return response
            response.read()
            response.close()
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def prefect_client() -> Any:
    """Prefect's sync client, whose calls answered busy are tried again at once
    (:class:`_BusyAnswersTriedAgain`): the one every change of a run made here goes through."""
    from prefect.client.orchestration import get_client

    return get_client(httpx_settings={"transport": _BusyAnswersTriedAgain(retries=3)}, sync_client=True)


def start_flow(request_id: int) -> str | None:
    """Starts the request's flow run (parameters: the id only; run name: the reference).

    Returns None when Prefect cannot be reached; the sweeper starts it later.
    """
    from prefect.states import Scheduled

    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        if req.flow_run_id:
            return req.flow_run_id
        reference = req.reference
        # Unique to this stored request, even if the application database is ever reset while
        # Prefect's is kept (ids alone would then point at an older request's run).
        idempotency_key = f"ramq-access:{reference}:{req.created_at.timestamp():.6f}"
    try:
        # What `run_deployment(..., timeout=0)` does, through a client that tries a busy answer
        # again at once. The idempotency key makes Prefect answer a second start (a retry after
        # a crash between this call and the commit below, a racing sweeper) with the same run.
        with prefect_client() as client:
            deployment = client.read_deployment_by_name(get_settings().deployment_name)
            run = client.create_flow_run_from_deployment(
                deployment.id, parameters={"request_id": request_id}, name=reference,
                state=Scheduled(), idempotency_key=idempotency_key)
    except Exception:
        return None
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        req.flow_run_id = req.flow_run_id or str(run.id)
        s.add(req)
        return req.flow_run_id


def resume(decision_id: int, *, wait_seconds: float = 15.0) -> bool:
    """Resumes the flow run waiting for this decision; True once the flow has it.

    The decision may land before the run reached its suspension: then either the run reads it
    on its way (and marks it), or it suspends and this resumes it. Anything left is the sweeper's.
    """
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus

    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        with session_scope() as s:
            decision = get_row(s, Decision, decision_id)
            if decision.resumed_at is not None:
                return True
            flow_run_id = get_row(s, AccessRequest, decision.request_id).flow_run_id
        if not flow_run_id:
            return False  # the run is not started yet: it will read the decision when it is
        try:
            with prefect_client() as client:
                run = client.read_flow_run(UUID(flow_run_id))
                if run.state and run.state.type == StateType.PAUSED:
                    answer = client.resume_flow_run(UUID(flow_run_id), run_input={"decision_id": decision_id})
                    if answer.status == SetStateStatus.ACCEPT:  # a REJECT also comes back as HTTP 200
                        _mark_resumed(decision_id)
                        return True
                    if _restore_lost_input_schema(client, run):
                        continue  # Prefect can take the resume now
                elif run.state and run.state.is_final():
                    return False
        except Exception:  # Prefect unreachable: the sweeper retries
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


# A live execution stores the schema of its input milliseconds after it is suspended: a run
# suspended this long without it is one whose process was killed in between.
LOST_SCHEMA_AFTER_SECONDS = 5.0


def _restore_lost_input_schema(client: Any, run: Any) -> bool:
    """Stores the input schema a suspended run's process was killed before storing; True if
    it did (or another caller just had).

    Prefect's ``suspend_flow_run`` sets the run ``Suspended`` and then, in a second call, stores
    the schema of the input it waits for; the server refuses every resume of a run whose schema
    is missing (« Run input schema not found », a REJECT). A runner killed with its runs between
    the two calls left such a run: its decision stored, and never acted upon. The schema written
    here is the one the run would have written (``DecisionInput``'s, under the state's keys)."""
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    from flows.access_request import DecisionInput

    state = run.state
    keyset = state.state_details.run_input_keyset
    if not keyset or state.timestamp is None:
        return False
    if (utcnow() - state.timestamp).total_seconds() < LOST_SCHEMA_AFTER_SECONDS:
        return False  # its execution may still be storing it
    try:
        client.read_flow_run_input(run.id, keyset["schema"])
        return False  # there: the refusal had another cause
    except (ObjectNotFound, httpx.HTTPStatusError) as exc:
        if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code != 404:
            raise
    try:
        DecisionInput.save(keyset, flow_run_id=run.id)
    except (ObjectAlreadyExists, httpx.HTTPStatusError) as exc:
        if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code != 409:
            raise
    return True


def resume_soon(decision_id: int, flow_run_id: str | None) -> threading.Thread | None:
    """Resumes in the background, so a click returns as soon as the decision is stored. The
    thread is not a daemon: a short-lived process (the CLI) waits for it before exiting.
    Without a flow run there is nothing to resume: the run reads the decision when it starts."""
    if not flow_run_id:
        return None
    thread = threading.Thread(target=resume, args=(decision_id,), name=f"resume-{decision_id}")
    thread.start()
    return thread


def _mark_resumed(decision_id: int) -> None:
    with session_scope() as s:
        s.execute(update(Decision).where(col(Decision.id) == decision_id, col(Decision.resumed_at).is_(None))
                  .values(resumed_at=utcnow()))


def restart_run(flow_run_id: str) -> bool:
    """Schedules a dead run to run again now (its runner or worker picks it up); True if
    Prefect took it. Forced, since Prefect does not move a run out of a final state by itself.
    The same run replays from the top: the steps before come back cached or find their work done."""
    from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
    from prefect.states import Scheduled

    with prefect_client() as client:
        answer: OrchestrationResult[Any] = client.set_flow_run_state(
            UUID(flow_run_id), Scheduled(name=RESTART_STATE_NAME), force=True)
    return answer.status == SetStateStatus.ACCEPT
