"""The embedded runner: serves the access-request deployment and the sweeper's schedule.

Scale-out uses the same flows through `prefect.yaml` and a process work pool instead.
"""

from __future__ import annotations

import logging

from prefect import serve

from flows.access_request import access_request
from flows.prefect_sync import sync_result
from flows.recovery import ensure_zombie_automation
from flows.sweeper import sweeper_flow
from models.settings import get_settings


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
    serve(
        sync_result(access_request.to_deployment(name=name)),
        sync_result(sweeper_flow.to_deployment(name=name, interval=get_settings().sweep_every_seconds)),
        print_starting_message=True,
    )


if __name__ == "__main__":
    main()
