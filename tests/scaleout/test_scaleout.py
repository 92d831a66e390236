"""The README's scale-out shape, for real: a Prefect server on PostgreSQL, the application on
PostgreSQL, `prefect deploy --all` from `prefect.yaml`, a process work pool served by two
`prefect worker start` workers. One request goes through it end to end with the people played
by `ramq-access simulate`, so `prefect.yaml` and the README's commands cannot rot."""

from __future__ import annotations

import os

import pytest

from flows.scaleout import WORK_POOL, ScaleOut, simulate
from models.settings import PROJECT_ROOT
from notifications.maildir import find_messages

PG_URL = os.environ.get("RAMQ_TEST_DATABASE_URL")

# Starting the shape is several interpreters (server, CLI commands, workers, flow runs): on a
# loaded two-core machine it takes minutes, not seconds.
pytestmark = [pytest.mark.scaleout, pytest.mark.timeout(1800)]


def _rows(url: str, sql: str) -> list[tuple]:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                         dbname=u.database or "postgres", autocommit=True) as conn:
        return list(conn.execute(sql.encode()).fetchall())


def test_one_request_through_the_readme_scale_out_shape(tmp_path):
    if not PG_URL:
        pytest.skip("RAMQ_TEST_DATABASE_URL n'est pas fixé : la mise à l'échelle tourne sur PostgreSQL "
                    "(.ci/run le fixe) / RAMQ_TEST_DATABASE_URL is not set: the scale-out shape needs PostgreSQL")
    pytest.importorskip("asyncpg", reason="the Prefect server reaches PostgreSQL through asyncpg")
    so = ScaleOut(pg_url=PG_URL, var_dir=tmp_path / "scaleout", workers=2)
    try:
        so.start(timeout=900)
        assert sorted(so.online_workers()) == ["worker-1", "worker-2"]
        deployments = {d["name"]: d for d in so.api("/deployments/filter", {})}
        assert set(deployments) == {"access-request", "sweeper"}
        for d in deployments.values():
            assert d["work_pool_name"] == WORK_POOL
            # The pull step's directory is the checkout given at deploy time, not a template.
            step = d["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]
            assert step["directory"] == str(PROJECT_ROOT)
        sweeper = deployments["sweeper"]  # one sweep at a time: late sweeps do not pile up
        assert sweeper["global_concurrency_limit"]["limit"] == 1
        assert sweeper["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"

        summary = simulate(so.env, requests=1, seed=1, timeout=600)
        assert summary["outcomes"] == {"completed": 1}, summary

        runs = so.api("/flow_runs/filter", {"deployments": {"name": {"any_": ["access-request"]}}})
        assert [(r["state_type"], r["work_pool_name"]) for r in runs] == [("COMPLETED", WORK_POOL)]
        reference = runs[0]["name"]
        # Both databases are the PostgreSQL ones made for this shape.
        env = so.env
        prefect_db = env["PREFECT_API_DATABASE_CONNECTION_URL"].replace("+asyncpg", "")
        assert _rows(prefect_db, f"SELECT state_type FROM flow_run WHERE name = '{reference}'") == [("COMPLETED",)]
        assert _rows(env["RAMQ_DATABASE_URL"],
                     f"SELECT status FROM access_request WHERE reference = '{reference}'") == [("completed",)]
        # The credentials went out, once each, to the two people (never both to one).
        maildir = so.var_dir / "mail"
        passwords = find_messages(maildir, subject_contains="mot de passe temporaire")
        usernames = find_messages(maildir, subject_contains="nom d'utilisateur à transmettre")
        assert len(passwords) == 1 and len(usernames) == 1
        assert reference in passwords[0].subject and reference in usernames[0].subject
        assert passwords[0].to != usernames[0].to
        procs = dict(so.stack.procs)
    finally:
        so.stop()
    assert all(p.poll() is not None for p in procs.values())
    left = _rows(PG_URL, f"SELECT datname FROM pg_database WHERE datname LIKE 'ramq_so_%{so.tag}'")
    assert left == []
