"""The embedded runner's deployments as Prefect holds them: the scheduled sweeper runs one at a
time (a sweep due while the last one still runs is cancelled, never piled up beside it: on a
starved machine thirteen of them were once starting together)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from flows.stack import _auth_headers, wait_until

pytestmark = pytest.mark.workflow


def test_the_scheduled_sweeper_runs_one_at_a_time(live):
    suffix = live.env["RAMQ_DEPLOYMENT_NAME"].split("/", 1)[-1]

    def sweepers() -> list[dict]:
        request = urllib.request.Request(f"{live.api_url}/deployments/filter", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json", **_auth_headers(live.auth)})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return [d for d in json.load(answer) if d["name"] == suffix and d["schedules"]]

    # The runner registers its deployments one after the other: the sweeper's comes second.
    (sweeper,) = wait_until(sweepers, timeout=120, what="the sweeper's deployment")
    assert sweeper["global_concurrency_limit"]["limit"] == 1
    assert sweeper["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
