"""The embedded runner: serves the access-request deployment and the sweeper's schedule.

Scale-out uses the same flows through `prefect.yaml` and a process work pool instead.
"""

from __future__ import annotations

from prefect import serve

from flows.access_request import access_request
from flows.sweeper import sweeper_flow
from models.settings import get_settings

SWEEP_EVERY_SECONDS = 60


def deployment_suffix() -> str:
    return get_settings().deployment_name.split("/", 1)[-1]


def main() -> None:
    # The deployment's own name comes from the settings, so that two stacks sharing one Prefect
    # server (tests, staging) never pick up each other's runs.
    name = deployment_suffix()
    serve(
        access_request.to_deployment(name=name),
        sweeper_flow.to_deployment(name=name, interval=SWEEP_EVERY_SECONDS),
        print_starting_message=True,
    )


if __name__ == "__main__":
    main()
