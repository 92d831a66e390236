"""Read-only: the state of flow runs, as Prefect reports it, for the screens.

One call reads many runs (batched ``read_flow_runs`` with a filter on their ids), with a short
timeout and no retries, and never raises: a run Prefect does not know, an id that is not a UUID,
or Prefect unreachable all read as ``("UNKNOWN", "inconnu")``. Nothing here changes a run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from uuid import UUID

LOG = logging.getLogger("ramq.prefect_states")

UNKNOWN = ("UNKNOWN", "inconnu")
TIMEOUT_SECONDS = 3.0
# A run in one of these states no longer works on its request (the sweeper restarts it).
from flows.recovery import DEAD_STATES  # noqa: E402

BAD_STATES = frozenset(DEAD_STATES)
# What run_problem answers (the screens label each: ui.run_problem_<code>).
RUN_PROBLEMS = (*DEAD_STATES, "LATE", "PAUSED_WITHOUT_TASK")


def read_run_states(flow_run_ids: Iterable[str | None], *, timeout: float = TIMEOUT_SECONDS,
                    api_url: str | None = None) -> dict[str, tuple[str, str]]:
    """``{flow_run_id: (state_type, state_name)}`` for every id given (``state_type`` is
    Prefect's, e.g. ``"PAUSED"``; ``state_name`` e.g. ``"Suspended"``). ``api_url`` overrides
    the configured Prefect API (tests)."""
    from flows.recovery import read_run_states as read_states

    ids = list(dict.fromkeys(i for i in flow_run_ids if i))
    states: dict[str, tuple[str, str]] = {i: UNKNOWN for i in ids}
    canonical: dict[str, str] = {}  # Prefect's spelling of each valid id → the id as given
    for i in ids:
        try:
            canonical[str(UUID(str(i)))] = i
        except ValueError:
            continue
    if not canonical:
        return states
    try:
        found = read_states(list(canonical), timeout=timeout, api_url=api_url)
    except Exception as exc:  # noqa: BLE001 - unreachable, refused, timed out: "unknown"
        LOG.warning("Prefect run states unavailable (%s)", type(exc).__name__)
        return states
    for key, state in found.items():
        if key in canonical:
            states[canonical[key]] = (state.state_type, state.state_name)
    return states


def run_problem(state_type: str, state_name: str, *, open_task: bool) -> str | None:
    """Why the run of an open request is in a bad state, or None: ``CRASHED``, ``FAILED`` or
    ``CANCELLED`` (it no longer works on its request), ``LATE`` (scheduled and not started in
    time), ``PAUSED_WITHOUT_TASK`` (suspended or paused while no human task of the request is
    open: nobody will ever resume it). A state read as unknown is not a problem by itself."""
    if state_type in BAD_STATES:
        return state_type
    if state_type == "SCHEDULED" and state_name == "Late":
        return "LATE"
    if state_type == "PAUSED" and not open_task:
        return "PAUSED_WITHOUT_TASK"
    return None
