"""The embedded runner: serves the access-request deployment and the sweeper's schedule.

Scale-out uses the same flows through `prefect.yaml` and a process work pool instead.
"""

from __future__ import annotations

from prefect import serve

from flows.access_request import access_request
from flows.sweeper import sweeper_flow

SWEEP_EVERY_SECONDS = 60


def main() -> None:
    serve(
        access_request.to_deployment(name="access-request"),
        sweeper_flow.to_deployment(name="sweeper", interval=SWEEP_EVERY_SECONDS),
        print_starting_message=True,
    )


if __name__ == "__main__":
    main()
