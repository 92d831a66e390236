"""The README's scale-out shape, started for real on one machine: a Prefect server on
PostgreSQL, the application on PostgreSQL, the deployments of `prefect.yaml` made by
`prefect deploy --all`, a process work pool served by workers started with
`prefect worker start`, and a local SMTP sink.

The `scaleout` test runs one request through it (so `prefect.yaml` and the README's commands
cannot rot) and `benchmarks/scaleout.py` measures its throughput; both start it from here.
Each start makes its own two databases (``ramq_so_prefect_<tag>``, ``ramq_so_app_<tag>``) and
:meth:`ScaleOut.stop` drops them, whatever happened before.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from flows.stack import Stack, _auth_headers, free_port, wait_until
from models.settings import PROJECT_ROOT

WORK_POOL = "ramq-process"  # the pool named in prefect.yaml
DEPLOYMENT = "access-request/access-request"  # prefect.yaml's, and the settings' default


def prefect_cli() -> str:
    """The `prefect` command of this environment (the one `.venv/bin/prefect` is)."""
    path = Path(sys.executable).with_name("prefect")
    return str(path) if path.exists() else "prefect"


def ramq_cli() -> str:
    path = Path(sys.executable).with_name("ramq-access")
    return str(path) if path.exists() else "ramq-access"


def _admin_url(pg_url: str) -> URL:
    url = make_url(pg_url)
    return url.set(drivername="postgresql")


def _admin(pg_url: str, sql: str) -> None:
    import psycopg

    url = _admin_url(pg_url)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                         dbname=url.database or "postgres", autocommit=True) as conn:
        conn.execute(sql.encode())  # names made here, never user input


@dataclass
class ScaleOut:
    """``pg_url``: any database of the PostgreSQL server to use (its user creates and drops
    the two databases). ``workers``: how many `prefect worker start` processes."""

    pg_url: str
    var_dir: Path
    workers: int = 2
    # Workers poll the pool every PREFECT_WORKER_QUERY_SECONDS (Prefect's default: 10 s); the
    # embedded runner polls every second, and a resumed run waits for the next poll.
    worker_query_seconds: float = 1.0
    extra_env: dict[str, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    stack: Stack | None = None
    _databases: list[str] = field(default_factory=list)

    @property
    def prefect_database(self) -> str:
        return f"ramq_so_prefect_{self.tag}"

    @property
    def app_database(self) -> str:
        return f"ramq_so_app_{self.tag}"

    def _db_url(self, name: str, driver: str) -> str:
        return _admin_url(self.pg_url).set(drivername=driver, database=name).render_as_string(hide_password=False)

    @property
    def env(self) -> dict[str, str]:
        """What every machine of the README receives (here: every process), plus the server's
        database; the `ramq-access simulate` playing the people runs with it too."""
        if self.stack is None:
            raise RuntimeError("not started")
        return self.stack.env

    def start(self, timeout: float = 240) -> ScaleOut:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        for name in (self.prefect_database, self.app_database):
            _admin(self.pg_url, f'CREATE DATABASE "{name}"')
            self._databases.append(name)
        self.stack = Stack(var_dir=self.var_dir, prefect_port=free_port(), smtp_port=free_port(),
                           extra_env={
                               "PREFECT_API_DATABASE_CONNECTION_URL": self._db_url(self.prefect_database,
                                                                                   "postgresql+asyncpg"),
                               "RAMQ_DATABASE_URL": self._db_url(self.app_database, "postgresql"),
                               "RAMQ_DEPLOYMENT_NAME": DEPLOYMENT,
                               "RAMQ_CHECKOUT_DIR": str(PROJECT_ROOT),
                               "PREFECT_WORKER_QUERY_SECONDS": f"{self.worker_query_seconds:g}",
                               # The embedded stack's setting, so that both shapes compare fairly.
                               "RAMQ_ENV": "test",
                               **self.extra_env,
                           })
        stack = self.stack
        stack.start(("prefect", "smtp"), timeout=timeout)
        # The README's commands, in its order.
        self.run([ramq_cli(), "db", "upgrade"])
        self.run([prefect_cli(), "work-pool", "create", WORK_POOL, "--type", "process"])
        self.run([prefect_cli(), "deploy", "--all"])  # RAMQ_CHECKOUT_DIR is in the environment
        self.run([ramq_cli(), "prefect-setup"])
        for i in range(1, self.workers + 1):
            name = f"worker-{i}"
            stack._spawn(name, [prefect_cli(), "worker", "start", "--pool", WORK_POOL, "--name", name])
        wait_until(lambda: len(self.online_workers()) >= self.workers, timeout=timeout,
                   what=f"{self.workers} workers online", proc=stack.procs["worker-1"],
                   log=stack.log("worker-1"))

    def run(self, args: list[str], timeout: float = 300) -> str:
        """Runs one command of the README with the shared environment, from the checkout;
        its output, or an error carrying it."""
        if self.stack is None:
            raise RuntimeError("not started")
        done = subprocess.run(args, env=self.stack.env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)
        with open(self.stack.log("commands"), "a") as log:
            log.write(f"$ {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(args))}\n"
                      f"{done.stdout}{done.stderr}\n")
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} {' '.join(args[1:3])} failed ({done.returncode}):\n"
                               f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done.stdout

    def api(self, path: str, body: dict | None = None) -> Any:
        """One call to the Prefect server's REST API (POST with a body, else GET)."""
        if self.stack is None:
            raise RuntimeError("not started")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.stack.api_url}{path}", data=data,
                                     method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json",
                                              **_auth_headers(self.stack.auth)})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def online_workers(self) -> list[str]:
        try:
            workers = self.api(f"/work_pools/{WORK_POOL}/workers/filter", {})
        except Exception:
            return []
        return [w["name"] for w in workers if w.get("status") == "ONLINE"]

    def stop(self) -> None:
        """Stops every process (workers and their flow runs first), then drops both databases."""
        if self.stack is not None:
            self.stack.stop()
        errors = []
        for name in reversed(self._databases):
            try:
                _admin(self.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - drop the other one, then report
                errors.append(f"{name}: {exc}")
        self._databases.clear()
        if errors:
            raise RuntimeError("databases not dropped: " + "; ".join(errors))


def simulate(env: dict[str, str], *, requests: int, seed: int = 1, timeout: float = 300) -> dict:
    """`ramq-access simulate` against a running stack (embedded or scale-out), in its own
    process with that stack's environment; its summary (requests, outcomes, elapsed seconds,
    latencies). Its own process: Prefect reads its settings once, at import."""
    done = subprocess.run([ramq_cli(), "simulate", "--requests", str(requests), "--seed", str(seed),
                           "--timeout", str(timeout)], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=timeout * 4 + 60 * requests)
    out = done.stdout
    start = out.rfind("\n{\n")
    if start < 0:
        raise RuntimeError(f"simulate printed no summary ({done.returncode}):\n{out[-2000:]}{done.stderr[-2000:]}")
    summary: dict = json.loads(out[start + 1:])
    return summary
