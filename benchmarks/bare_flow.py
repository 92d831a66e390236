"""The baseline of the throughput benchmark: a bare Prefect flow that does no work and waits for
``steps`` people (one suspension each, resumed from outside), served the ordinary Prefect way
(``Flow.serve``: a new interpreter per execution). Started by ``benchmarks.throughput``:

    python -m benchmarks.bare_flow
"""

from __future__ import annotations

from prefect import flow
from prefect.flow_runs import suspend_flow_run

DEPLOYMENT = "bare"


@flow(name="bare-human-steps", persist_result=True)
def bare(steps: int) -> int:
    # A replay after each resume passes the keys already resumed at once, as our flow does.
    for i in range(steps):
        suspend_flow_run(key=f"step-{i}", timeout=3600)
    return steps


if __name__ == "__main__":
    bare.serve(name=DEPLOYMENT)
