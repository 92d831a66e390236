"""The embedded runner: serves the access-request deployment and the sweeper's schedule.

Scale-out uses the same flows through `prefect.yaml` and a process work pool instead.
"""

from __future__ import annotations

import logging

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from flows import fast_start
from flows.access_request import access_request
from flows.prefect_sync import sync_result
from flows.recovery import ensure_zombie_automation
from flows.sweeper import sweeper_flow
from models.settings import get_settings

# One sweep at a time: a sweep due while the last one still runs (a loaded machine, a slow
# start) is cancelled instead of piling up beside it (prefect.yaml says the same for scale-out).
ONE_SWEEP = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def deployment_suffix() -> str:
    return get_settings().deployment_name.split("/", 1)[-1]


def main() -> None:
    # The deployment's own name comes from the settings, so that two stacks sharing one Prefect
    # server (tests, staging) never pick up each other's runs.
    name = deployment_suffix()
    try:
        ensure_zombie_automation()  # a run whose process dies is marked Crashed, then restarted
    except Exception as exc:  # noqa: BLE001 - the sweeper still catches Pending runs; retried at next start
        logging.getLogger("ramq.serve").warning("zombie automation not created (%s)", type(exc).__name__)
    settings = get_settings()
    if fast_start.install():
        # Each execution of a run is forked from a warm interpreter (flows/fast_start.py).
        fast_start.serve((access_request, {"name": name}),
                         (sweeper_flow, {"name": name, "interval": settings.sweep_every_seconds,
                                        "concurrency_limit": ONE_SWEEP}))
        return
    # Prefect's default: each execution is a new `python -m prefect.engine` (the baseline).
    serve(
        sync_result(access_request.to_deployment(name=name)),
        sync_result(sweeper_flow.to_deployment(name=name, interval=settings.sweep_every_seconds,
                                               concurrency_limit=ONE_SWEEP)),
        print_starting_message=True,
    )


if __name__ == "__main__":
    main()
