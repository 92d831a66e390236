"""Read-only: the state of flow runs, as Prefect reports it, for the screens.

One call reads many runs (batched ``read_flow_runs`` with a filter on their ids), with a short
timeout and no retries, and never raises: a run Prefect does not know, an id that is not a UUID,
or Prefect unreachable all read as ``("UNKNOWN", "inconnu")``. Nothing here changes a run.
"""

from __future__ import annotations

import logging
from typing import Iterable
from uuid import UUID

LOG = logging.getLogger("ramq.prefect_states")

UNKNOWN = ("UNKNOWN", "inconnu")
BATCH = 200
TIMEOUT_SECONDS = 3.0
# A run in one of these states no longer works on its request.
BAD_STATES = frozenset({"CRASHED", "FAILED", "CANCELLED"})


def read_run_states(flow_run_ids: Iterable[str | None], *, timeout: float = TIMEOUT_SECONDS,
                    api_url: str | None = None) -> dict[str, tuple[str, str]]:
    """``{flow_run_id: (state_type, state_name)}`` for every id given (``state_type`` is
    Prefect's, e.g. ``"PAUSED"``; ``state_name`` e.g. ``"Suspended"``). ``api_url`` overrides
    the configured Prefect API (tests)."""
    ids = list(dict.fromkeys(i for i in flow_run_ids if i))
    states: dict[str, tuple[str, str]] = {i: UNKNOWN for i in ids}
    uuids: dict[UUID, str] = {}
    for i in ids:
        try:
            uuids[UUID(str(i))] = i
        except ValueError:
            continue
    if not uuids:
        return states
    try:
        states.update(_read(uuids, timeout=timeout, api_url=api_url))
    except Exception as exc:  # noqa: BLE001 - unreachable, refused, timed out: "unknown"
        LOG.warning("Prefect run states unavailable (%s)", type(exc).__name__)
    return states


def _read(uuids: dict[UUID, str], *, timeout: float,
          api_url: str | None) -> dict[str, tuple[str, str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    updates = {PREFECT_CLIENT_MAX_RETRIES: 0}
    if api_url:
        updates[PREFECT_API_URL] = api_url
    found: dict[str, tuple[str, str]] = {}
    keys = list(uuids)
    with temporary_settings(updates=updates):  # no retries: a screen must not wait
        with get_client(sync_client=True, httpx_settings={"timeout": timeout}) as client:
            for start in range(0, len(keys), BATCH):
                batch = keys[start:start + BATCH]
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=batch)), limit=len(batch))
                for run in runs:
                    if run.id in uuids and run.state is not None:
                        found[uuids[run.id]] = (run.state.type.value, run.state.name or "")
    return found
