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
AUTH_FILE = "prefect-auth"
# A component that dies is started again, at most this often (a crash loop does not spin).
RESTART_BACKOFF = (1, 2, 5, 10, 30)


def prefect_auth_string(var_dir: Path) -> str:
    """The Prefect server's basic-auth string of this stack: made once, kept in var/ (0600)."""
    path = var_dir / AUTH_FILE
    if path.exists():
        return path.read_text().strip()
    import secrets

    var_dir.mkdir(parents=True, exist_ok=True)
    value = f"ramq:{secrets.token_urlsafe(32)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def _auth_headers(auth: str | None) -> dict[str, str]:
    if not auth:
        return {}
    import base64

    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


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


def http_ok(url: str, auth: str | None = None) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=_auth_headers(auth)),
                                    timeout=2) as r:
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
    # Prefect server's basic-auth string; None: the one kept in var/ (made on first start).
    auth: str | None = None
    restarts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.auth is None:
            self.auth = os.environ.get("PREFECT_API_AUTH_STRING") or prefect_auth_string(self.var_dir)

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
            # The server refuses any client without this; every component is a client.
            "PREFECT_API_AUTH_STRING": self.auth or "",
            "PREFECT_SERVER_API_AUTH_STRING": self.auth or "",
            # The embedded server has no CSRF protection unless it is turned on: a client would
            # otherwise ask it for a token (a round trip, answered 422) before its first change,
            # once per client, and the application and every run's execution make new ones.
            "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "true" if _server_csrf_protected(env) else "false",
            # Heartbeats let the zombie automation mark a run whose process died as Crashed.
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": env.get(
                "PREFECT_FLOWS_HEARTBEAT_FREQUENCY", str(_setting("flow_heartbeat_seconds", 30))),
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
        pids = self.var_dir / "pids"
        pids.mkdir(parents=True, exist_ok=True)
        (pids / f"{name}.pid").write_text(f"{proc.pid}\n")
        return proc

    def log(self, name: str) -> Path:
        (self.var_dir / "logs").mkdir(parents=True, exist_ok=True)
        return self.var_dir / "logs" / f"{name}.log"

    def start(self, components: tuple[str, ...] = COMPONENTS, timeout: float = 120) -> Stack:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        try:
            for name in COMPONENTS:
                if name in components:
                    self.start_component(name, timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_component(self, name: str, timeout: float = 120) -> subprocess.Popen:
        py = sys.executable
        if name == "prefect":
            p = self._spawn("prefect", [py, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                        "--port", str(self.prefect_port), "--analytics-off"])
            wait_until(lambda: http_ok(f"{self.api_url}/health", self.auth), timeout=timeout,
                       what="Prefect server", proc=p, log=self.log("prefect"))
        elif name == "smtp":
            p = self._spawn("smtp", [py, "-m", "notifications.sink", "--port", str(self.smtp_port)])
            wait_until(lambda: port_open(self.smtp_port), timeout=30, what="SMTP sink", proc=p,
                       log=self.log("smtp"))
        elif name == "runner":
            p = self._spawn("runner", [py, "-m", "flows.serve"])
            wait_until(self._deployment_ready, timeout=timeout, what="runner", proc=p,
                       log=self.log("runner"))
        elif name == "ui":
            p = self._spawn("ui", [py, "-m", "streamlit", "run", str(PROJECT_ROOT / "ui" / "server.py"),
                                   "--server.port", str(self.ui_port), "--server.headless", "true",
                                   "--server.address", "127.0.0.1",
                                   "--browser.gatherUsageStats", "false",
                                   "--client.toolbarMode", "minimal", *self._streamlit_secrets()])
            wait_until(lambda: http_ok(f"http://127.0.0.1:{self.ui_port}/_stcore/health"),
                       timeout=timeout, what="Streamlit", proc=p, log=self.log("ui"))
        else:
            raise ValueError(name)
        return p

    def _streamlit_secrets(self) -> list[str]:
        """Streamlit's ``--secrets.files`` when staff sign in through an OIDC provider
        (``RAMQ_OIDC_*``): the ``[auth]`` table ``st.login`` reads, written from the settings."""
        if not self.env.get("RAMQ_OIDC_CLIENT_ID"):
            return []
        path = self.var_dir / "streamlit" / "secrets.toml"
        self.run_python(["-m", "models.oidc", str(path)])
        return ["--secrets.files", str(path)] if path.exists() else []

    def _deployment_ready(self) -> bool:
        name = self.env.get("RAMQ_DEPLOYMENT_NAME", "access-request/access-request").split("/", 1)[-1]
        return http_ok(f"{self.api_url}/health", self.auth) and _deployment_exists(self.api_url, name, self.auth)

    def stop(self, timeout: float = 20, *, drain_seconds: float = 0) -> None:
        """Stops every component, the UI first (no new decisions), then the runner. With
        ``drain_seconds``, the runs executing now get that long to finish or suspend before
        the runner stops; a run the runner then cancels is started again by the sweeper."""
        self._stop_one("ui", timeout)
        if drain_seconds and "runner" in self.procs and "prefect" in self.procs:
            try:
                wait_until(lambda: not self.executing_runs(), timeout=drain_seconds, what="drain")
            except Exception:
                pass
        # Other processes of the stack (the scale-out's workers) before the runner and the server.
        others = [name for name in self.procs if name not in COMPONENTS]
        for name in (*others, "runner", "smtp", "prefect"):
            self._stop_one(name, timeout)

    def _stop_one(self, name: str, timeout: float) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of its group (flow-run children)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def executing_runs(self) -> list[str]:
        """Runs of this stack's deployment that are Pending or Running now."""
        import json

        body = json.dumps({"flow_runs": {"state": {"type": {"any_": ["PENDING", "RUNNING"]}}},
                           "deployments": {"name": {"any_": [self.deployment_suffix]}},
                           "limit": 200}).encode()
        req = urllib.request.Request(f"{self.api_url}/flow_runs/filter", data=body, method="POST",
                                     headers={"Content-Type": "application/json", **_auth_headers(self.auth)})
        with urllib.request.urlopen(req, timeout=5) as r:
            return [run["id"] for run in json.load(r)]

    @property
    def deployment_suffix(self) -> str:
        return self.env.get("RAMQ_DEPLOYMENT_NAME", "access-request/access-request").split("/", 1)[-1]

    def revive(self) -> list[str]:
        """Starts again every component that died; the runs a dead runner held are handed
        back at once (marked Crashed, then the sweeper restarts them). Returns the names."""
        revived = []
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its flow-run children die with it
            except ProcessLookupError:
                pass
            n = self.restarts.get(name, 0)
            time.sleep(RESTART_BACKOFF[min(n, len(RESTART_BACKOFF) - 1)] if n else 0)
            self.restarts[name] = n + 1
            self.start_component(name)
            if name == "runner":
                self.hand_back_orphans()
            revived.append(name)
        if "prefect" in revived and "runner" not in revived and self.alive().get("runner"):
            # A runner that lost its server backs its polling off for minutes: start it afresh.
            self._stop_one("runner", timeout=20)
            self.start_component("runner")
            self.hand_back_orphans()
            revived.append("runner")
        return revived

    def hand_back_orphans(self) -> None:
        """Runs left Pending/Running by a dead runner: Crashed now, restarted by a sweep."""
        self.run_python(["-c", "from flows.recovery import crash_orphans; from flows.sweeper import sweep; "
                               f"crash_orphans({self.deployment_suffix!r}); sweep(grace_seconds=0)"])

    def sweep_now(self) -> None:
        """One sweep right away (at start: requests a stop left behind move on at once)."""
        self.run_python(["-m", "flows.sweeper"])

    def run_python(self, args: list[str], timeout: float = 120) -> int:
        with open(self.log("supervisor"), "ab") as log:
            return subprocess.run([sys.executable, *args], env=self.env, cwd=PROJECT_ROOT, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout).returncode


def _server_csrf_protected(env: dict[str, str]) -> bool:
    """Whether the Prefect server started with ``env`` asks its clients for CSRF tokens (off by
    default; the stack's Prefect home is its own, so only the environment can turn it on). Read
    from the environment, not Prefect's settings: importing Prefect here would fix this
    process's Prefect settings before the stack's environment is applied to it."""
    value = env.get("PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED", env.get("PREFECT_SERVER_CSRF_PROTECTION_ENABLED", ""))
    return value.strip().lower() in ("1", "true", "yes", "on")


def _setting(name: str, default):
    try:
        from models.settings import get_settings

        return getattr(get_settings(), name)
    except Exception:
        return default


def _deployment_exists(api_url: str, name: str, auth: str | None = None) -> bool:
    import json

    req = urllib.request.Request(f"{api_url}/deployments/filter", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json", **_auth_headers(auth)})
    try:
        with urllib.request.urlopen(req, timeout=3) as r:
            names = {d["name"] for d in json.load(r)}
    except Exception:
        return False
    return name in names


def _seal_certificate_or_exit() -> Path:
    """The PDF seal's certificate, made on the first start in development (a local self-signed
    one); a production instance without its own certificate stops here, in one line."""
    from models.seal import SealError, seal_certificate
    from models.settings import EXIT_SETTINGS

    try:
        return seal_certificate()
    except SealError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        raise SystemExit(EXIT_SETTINGS) from None


def run_forever(stack: Stack) -> None:
    """`make run`: start everything, print the addresses, keep every component alive (a dead
    one is started again, its runs handed back), and stop everything on Ctrl-C, letting the
    runs executing then finish first."""
    print("Démarrage de la pile locale (Prefect, courriel, exécuteur, application)…", flush=True)
    seal = _seal_certificate_or_exit()
    stack.start()
    stack.sweep_now()
    print(
        f"\n  Application (Streamlit)   {stack.ui_url}\n"
        f"  Prefect (interface)       http://127.0.0.1:{stack.prefect_port}"
        f"  (identifiant : {stack.var_dir / AUTH_FILE})\n"
        f"  SMTP local (Maildir)      127.0.0.1:{stack.smtp_port} → {stack.var_dir / 'mail'}\n"
        f"  Journaux                  {stack.var_dir / 'logs'}\n"
        f"  Certificat du sceau (PDF) {seal}\n\n"
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
                print(f"Arrêt inattendu : {', '.join(dead)} — redémarrage (voir {stack.var_dir / 'logs'})",
                      flush=True)
                try:
                    stack.revive()
                except Exception as exc:  # noqa: BLE001 - keep supervising; retry next turn
                    print(f"Redémarrage impossible pour l'instant ({type(exc).__name__}); nouvel essai.",
                          flush=True)
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("Arrêt… (les traitements en cours se terminent)", flush=True)
        stack.stop(drain_seconds=30)
