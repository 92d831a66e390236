"""Starts and stops the embedded stack: Prefect server (SQLite under var/), the runner serving
the deployment, a local SMTP sink writing a Maildir, and the Streamlit app.

`make run` uses it, and so do the tests, on their own ports and their own var/ folder.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from models.settings import PROJECT_ROOT

COMPONENTS = ("prefect", "smtp", "runner", "ui")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, *, timeout: float, what: str, proc: subprocess.Popen | None = None,
               log: Path | None = None):
    """Polls ``check`` until it returns something truthy, and returns it; fails early if the
    process it waits on has died. The one polling loop of the project and its tests."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what}: the process ended (code {proc.returncode})\n{tail}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return 200 <= r.status < 300
    except Exception:
        return False


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Stack:
    var_dir: Path
    prefect_port: int = 4200
    smtp_port: int = 8025
    ui_port: int = 8501
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"

    @property
    def env(self) -> dict[str, str]:
        prefect_home = self.var_dir / "prefect"
        env = dict(os.environ)
        env.update({
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_UI_URL": f"http://127.0.0.1:{self.prefect_port}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_RUNNER_POLL_FREQUENCY": env.get("PREFECT_RUNNER_POLL_FREQUENCY", "1"),
            "PREFECT_LOCAL_STORAGE_PATH": str(prefect_home / "storage"),
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
            "PREFECT_LOGGING_LEVEL": env.get("PREFECT_LOGGING_LEVEL", "WARNING"),
            "RAMQ_VAR_DIR": str(self.var_dir),
            "RAMQ_SMTP_HOST": "127.0.0.1",
            "RAMQ_SMTP_PORT": str(self.smtp_port),
            "RAMQ_SMTP_STARTTLS": "false",
            "RAMQ_SMTP_TLS": "false",
            "RAMQ_BASE_URL": self.ui_url,
            "RAMQ_PREFECT_UI_URL": f"http://127.0.0.1:{self.prefect_port}",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        logs = self.var_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = open(logs / f"{name}.log", "ab")
        proc = subprocess.Popen(args, env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> Path:
        return self.var_dir / "logs" / f"{name}.log"

    def start(self, components: tuple[str, ...] = COMPONENTS, timeout: float = 120) -> "Stack":
        self.var_dir.mkdir(parents=True, exist_ok=True)
        py = sys.executable
        try:
            if "prefect" in components:
                p = self._spawn("prefect", [py, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                            "--port", str(self.prefect_port), "--analytics-off"])
                wait_until(lambda: http_ok(f"{self.api_url}/health"), timeout=timeout,
                           what="Prefect server", proc=p, log=self.log("prefect"))
            if "smtp" in components:
                p = self._spawn("smtp", [py, "-m", "notifications.sink", "--port", str(self.smtp_port)])
                wait_until(lambda: port_open(self.smtp_port), timeout=30, what="SMTP sink", proc=p,
                           log=self.log("smtp"))
            if "runner" in components:
                p = self._spawn("runner", [py, "-m", "flows.serve"])
                wait_until(self._deployment_ready, timeout=timeout, what="runner", proc=p,
                           log=self.log("runner"))
            if "ui" in components:
                p = self._spawn("ui", [py, "-m", "streamlit", "run", str(PROJECT_ROOT / "ui" / "app.py"),
                                       "--server.port", str(self.ui_port), "--server.headless", "true",
                                       "--server.address", "127.0.0.1",
                                       "--browser.gatherUsageStats", "false",
                                       "--client.toolbarMode", "viewer"])
                wait_until(lambda: http_ok(f"http://127.0.0.1:{self.ui_port}/_stcore/health"),
                           timeout=timeout, what="Streamlit", proc=p, log=self.log("ui"))
        except BaseException:
            self.stop()
            raise
        return self

    def _deployment_ready(self) -> bool:
        name = self.env.get("RAMQ_DEPLOYMENT_NAME", "access-request/access-request").split("/", 1)[-1]
        return http_ok(f"{self.api_url}/health") and _deployment_exists(self.api_url, name)

    def stop(self, timeout: float = 20) -> None:
        """Stops every component, the runner first (it pauses nothing: runs stay suspended)."""
        for name in ("ui", "runner", "smtp", "prefect"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}


def _deployment_exists(api_url: str, name: str) -> bool:
    import json

    req = urllib.request.Request(f"{api_url}/deployments/filter", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=3) as r:
            names = {d["name"] for d in json.load(r)}
    except Exception:
        return False
    return name in names


def run_forever(stack: Stack) -> None:
    """`make run`: start everything, print the addresses, stop everything on Ctrl-C."""
    print("Démarrage de la pile locale (Prefect, courriel, exécuteur, application)…", flush=True)
    stack.start()
    print(
        f"\n  Application (Streamlit)   {stack.ui_url}\n"
        f"  Prefect (interface)       http://127.0.0.1:{stack.prefect_port}\n"
        f"  SMTP local (Maildir)      127.0.0.1:{stack.smtp_port} → {stack.var_dir / 'mail'}\n"
        f"  Journaux                  {stack.var_dir / 'logs'}\n\n"
        "Ctrl-C pour tout arrêter. / Ctrl-C stops everything.\n",
        flush=True,
    )
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)  # set explicitly: a background start may have ignored SIGINT
    try:
        while not stopping:
            dead = [n for n, ok in stack.alive().items() if not ok]
            if dead:
                print(f"Arrêt inattendu : {', '.join(dead)} — voir {stack.var_dir / 'logs'}", flush=True)
                break
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("Arrêt…", flush=True)
        stack.stop()
