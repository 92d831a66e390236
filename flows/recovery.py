"""Prefect's side of "no open request without a live run".

- A run whose process died while ``Running`` stops sending heartbeats; the zombie automation
  (created by `make run` and by `ramq-access prefect-setup` for the scale-out set-up) marks it
  ``Crashed``.
- A run left ``Pending`` by a runner that died before starting it is marked ``Crashed`` by
  the sweeper once it has been pending too long.
- The sweeper then starts every ``Failed``, ``Crashed`` or ``Cancelled`` run of a request that
  is not closed again (same run, rescheduled by ``flows.runs.restart_run``): the steps are
  idempotent and the earlier ones come back cached, so the replay repeats nothing.

This module *detects* (reads run states, marks dead runs ``Crashed``); every change the
application makes to a run (start, resume, restart) is in ``flows.runs``.

Only identifiers cross to Prefect here. The application database decides which requests are
open; Prefect only says how their runs are doing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from flows.prefect_sync import sync_result
from models.settings import get_settings

LOG = logging.getLogger("ramq.recovery")

ZOMBIE_AUTOMATION = "ramq-access: runs sans battement → Crashed"
DEAD_STATES = ("FAILED", "CRASHED", "CANCELLED")


@dataclass(frozen=True)
class RunState:
    flow_run_id: str
    state_type: str  # SCHEDULED, PENDING, RUNNING, PAUSED, COMPLETED, FAILED, CRASHED, CANCELLED…
    state_name: str
    since: datetime | None  # when the run entered this state


def read_run_states(flow_run_ids: list[str], *, batch: int = 200, timeout: float | None = None,
                    api_url: str | None = None) -> dict[str, RunState]:
    """The current state of each of these runs (unknown ids are left out). With ``timeout``
    (the screens) the client does not retry: a page must not wait on Prefect."""
    from contextlib import nullcontext

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    updates: dict = {}
    if timeout is not None:
        updates[PREFECT_CLIENT_MAX_RETRIES] = 0
    if api_url:
        updates[PREFECT_API_URL] = api_url
    states: dict[str, RunState] = {}
    ids = [UUID(i) for i in dict.fromkeys(flow_run_ids) if i]
    httpx_settings = {"timeout": timeout} if timeout is not None else None
    with temporary_settings(updates=updates) if updates else nullcontext():
        with get_client(sync_client=True, httpx_settings=httpx_settings) as client:
            for start in range(0, len(ids), batch):
                chunk = ids[start:start + batch]
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)), limit=len(chunk))
                for run in runs:
                    if run.state is None:
                        continue
                    states[str(run.id)] = RunState(str(run.id), run.state.type.value, run.state.name or "",
                                                   run.state.timestamp)
    return states


def mark_crashed(flow_run_id: str, message: str) -> bool:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
    from prefect.states import Crashed

    with get_client(sync_client=True) as client:
        answer: OrchestrationResult[Any] = client.set_flow_run_state(
            UUID(flow_run_id), Crashed(message=message), force=True)
    return answer.status == SetStateStatus.ACCEPT


def pending_too_long(state: RunState, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return (state.state_type == "PENDING" and state.since is not None
            and now - state.since > timedelta(seconds=get_settings().pending_stuck_seconds))


def crash_orphans(deployment_name: str) -> list[str]:
    """Marks ``Crashed`` every Pending or Running run of a deployment whose only runner has
    died (the embedded stack, which knows it: it saw the process end and killed its group).
    The sweeper restarts them at its next pass instead of waiting for the heartbeats."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    name = deployment_name.split("/", 1)[-1]
    crashed: list[str] = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING]))),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])),
            limit=200)
    for run in runs:
        if mark_crashed(str(run.id), "the runner serving this run died"):
            crashed.append(str(run.id))
    return crashed


# The events after which a run must show a sign of life within zombie_after_seconds.
ZOMBIE_WATCH_STARTS = ("prefect.flow-run.heartbeat", "prefect.flow-run.Running")


def ensure_zombie_automation() -> str:
    """Creates (or re-creates with the current settings) the automation that marks a run
    ``Crashed`` when its heartbeats stop (Prefect's documented zombie detection). Any event
    of the run counts as a sign of life, so a run that suspends (and stops beating, since its
    process ends) is never taken for a zombie. The watch starts at each heartbeat *and* when
    the run enters ``Running``: a process killed before its first heartbeat (a resumed run
    killed at once) sends none, and would otherwise stay ``Running`` for ever."""
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    within = timedelta(seconds=get_settings().zombie_after_seconds)
    automation = Automation(
        name=ZOMBIE_AUTOMATION,
        description="Une exécution qui ne donne plus signe de vie est marquée Crashed; "
                    "le balayeur de ramq-access la relance.",
        trigger=EventTrigger(
            after=set(ZOMBIE_WATCH_STARTS),
            expect={"prefect.flow-run.*"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message="Flow run marked as crashed: its heartbeats stopped.")],
    )
    with get_client(sync_client=True) as client:
        for existing in client.read_automations_by_name(ZOMBIE_AUTOMATION):
            trigger = existing.trigger
            if (getattr(trigger, "within", None) == within and existing.enabled
                    and set(getattr(trigger, "after", ())) == set(ZOMBIE_WATCH_STARTS)):
                return str(existing.id)
            client.delete_automation(existing.id)
    return str(sync_result(automation.create()).id)
