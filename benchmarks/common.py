"""What the stack benchmarks share: a fresh embedded stack on fresh ports, and the CPU, memory
and process count of a tree of processes read from /proc (Linux; no extra dependency).

Every benchmark module exposes ``bench(quick: bool = False) -> dict`` (see ``benchmarks.all``):
``{"name", "cores", "rows": [{"measure", "ours", "baseline", "unit", "target", "met", "note"}],
"raw"}``. A stack benchmark runs in its own process (``benchmarks.all`` starts one per
module): Prefect reads its settings from the environment this module sets.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def stop_on_sigterm() -> None:
    """SIGTERM ends this process the way Ctrl-C does: ``finally`` blocks run, so the stack a
    benchmark started is stopped instead of being left running with nobody to stop it."""
    def _stop(*_):
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, _stop)


def stop_gently(proc: subprocess.Popen, grace: float) -> None:
    """Asks a benchmark process to stop (SIGTERM: it stops its own stack), and kills it if it
    has not after ``grace`` seconds (a long query in C only sees the signal once it returns)."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_child(cmd: list[str], cwd: Path, grace: float = 120.0) -> None:
    """Runs ``cmd`` (a benchmark process that stops on SIGTERM) to its end. If this process is
    stopped meanwhile, the child is stopped too (:func:`stop_gently`); ``subprocess.run`` would
    kill it at once and leave its stack running."""
    proc = subprocess.Popen(cmd, cwd=cwd)
    try:
        code = proc.wait()
    except BaseException:
        stop_gently(proc, grace)
        raise
    if code:
        raise subprocess.CalledProcessError(code, cmd)


def fresh_stack(components: tuple[str, ...] = ("prefect", "smtp", "runner"), **extra_env: str):
    """A stack on fresh ports and a fresh var/ folder, this process pointed at it (it plays the
    people), its database migrated, ``components`` started. The caller stops it."""
    from flows.stack import Stack, free_port

    var_dir = Path(tempfile.mkdtemp(prefix="ramq-bench-"))
    stack = Stack(var_dir=var_dir, prefect_port=free_port(), smtp_port=free_port(), ui_port=free_port(),
                  extra_env=dict(extra_env))
    os.environ.update({k: v for k, v in stack.env.items() if k.startswith(("PREFECT_", "RAMQ_"))})
    from models.db import upgrade
    from models.settings import get_settings

    get_settings.cache_clear()  # read the stack's RAMQ_* settings
    upgrade()
    stack.start(components, timeout=600)  # a loaded machine starts Prefect slowly
    return stack


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from the state on (the name may hold spaces)


def tree(root: int) -> list[int]:
    """``root`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))):
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if _stat(pid) is None:
            continue
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(roots: list[int]) -> float:
    """CPU time (user + system) of these trees: each live process's own and that of its
    children it has waited for (a flow-run process that ended counts in its runner's)."""
    total = 0
    for root in roots:
        for pid in tree(root):
            if fields := _stat(pid):
                total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK


def _summed_kb(roots: list[int], kb_of: Callable[[int], int]) -> int:
    """``kb_of(pid)`` summed over every live process of these trees (one that ends between the
    listing and the read counts 0)."""
    total = 0
    for root in roots:
        for pid in tree(root):
            try:
                total += kb_of(pid)
            except (OSError, IndexError, StopIteration):
                pass
    return total


def rss_mb(roots: list[int]) -> float:
    """Resident memory of these trees, summed (shared pages counted in each process: an upper bound)."""
    return _summed_kb(roots, lambda pid: int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE // 1024) / 1024


def pss_mb(roots: list[int]) -> float:
    """Proportional memory of these trees, summed: a page shared by n processes (a forked
    flow run and its forkserver) counts 1/n in each, so the sum is what the trees hold."""
    def pss_kb(pid: int) -> int:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        return next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))

    return _summed_kb(roots, pss_kb) / 1024


def wait_until_memory_settles(roots: list[int], timeout: float = 120.0, steady: float = 2.0,
                              within_mb: float = 1.0) -> float:
    """Waits until these trees' resident memory has moved less than ``within_mb`` over
    ``steady`` seconds (a process still importing, like a forkserver loading its preload, is
    not at rest yet); their memory then."""
    started = time.monotonic()
    window: list[tuple[float, float]] = []
    while True:
        now, mem = time.monotonic(), rss_mb(roots)
        window = [(t, m) for t, m in window if now - t <= steady] + [(now, mem)]
        if now - window[0][0] >= steady * 0.9 and max(m for _, m in window) - min(m for _, m in window) < within_mb:
            return mem
        if now - started > timeout:
            raise TimeoutError(f"memory still moving after {timeout:.0f} s")
        time.sleep(0.2)


def process_count(roots: list[int]) -> int:
    return sum(len(tree(root)) for root in roots)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def row(measure: str, ours: float, baseline: float | None, unit: str, target: str | None = None,
        met: bool | None = None, note: str = "") -> dict:
    return {"measure": measure, "ours": round(ours, 3), "unit": unit, "target": target, "met": met,
            "baseline": None if baseline is None else round(baseline, 3), "note": note}
