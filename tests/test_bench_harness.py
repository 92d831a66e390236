"""`make bench`'s harness (benchmarks.all): a benchmark that is missing or fails is reported in
the table and the others go on; the table says by how much a target is missed; the doc's prose
around the table stays."""

from __future__ import annotations

import json
import os

from benchmarks import all as harness


def _ok(name: str, rows: list[dict]) -> dict:
    return {"name": name, "status": "ok", "quick": True, "at": "20260101T000000Z", "cores": 2, "rows": rows}


def _row(measure: str, ours: float, baseline: float | None, unit: str, target: str | None,
         met: bool | None) -> dict:
    return {"measure": measure, "ours": ours, "baseline": baseline, "unit": unit, "target": target,
            "met": met, "note": ""}


def test_verdict_says_by_how_much_a_target_is_missed():
    assert harness.verdict(_row("p95", 0.8, None, "s", "≤ 1.0 s", True)) == "met"
    assert harness.verdict(_row("p95", 2.5, None, "s", "≤ 1.0 s", False)) == "missed by 1.5 s (2.5 × the target)"
    assert harness.verdict(_row("rpm", 9.0, 10.0, "req/min", "≥ 1.2 × baseline", False)) == \
        "missed: 0.90 × baseline for 1.2 ×"
    assert harness.verdict(_row("mem", 120, 100, "MB", "growth < 50 MB", False)) == "missed"
    assert harness.verdict(_row("info", 1, None, "ms", None, None)) == "—"


def test_table_lists_failed_and_missing_benchmarks_beside_the_others():
    text = harness.table([
        _ok("throughput", [_row("requests per minute", 12.0, 10.0, "req/min", "≥ 1.2 × baseline", True)]),
        {"name": "scale", "status": "failed", "error": "RuntimeError: boom", "quick": True},
        {"name": "scaleout", "status": "missing", "error": "not written yet"},
    ])
    lines = text.splitlines()
    assert "| throughput | requests per minute | 12.0 req/min | 10.0 req/min | 1.20 |" in lines[2]
    assert "FAILED: RuntimeError: boom" in lines[3]
    assert "not written yet" in lines[4]


def test_doc_table_is_replaced_between_markers_and_prose_stays(tmp_path, monkeypatch):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Perf\n\nBefore.\n\n{harness.START}\nold table\n{harness.END}\n\nAfter.\n", encoding="utf-8")
    monkeypatch.setattr(harness, "DOC", doc)
    harness.write_doc([_ok("waiting", [_row("runner processes", 3, 3, "", "no process per waiting request", True)])])
    text = doc.read_text(encoding="utf-8")
    assert "old table" not in text
    assert text.startswith("# Perf\n\nBefore.\n\n") and text.endswith("\n\nAfter.\n")
    assert "| waiting | runner processes | 3 | 3 | 1.00 | no process per waiting request | met |" in text


def test_a_missing_benchmark_is_reported_not_raised(tmp_path):
    out = tmp_path / "r.json"
    harness._child("no_such_benchmark", True, out)
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["status"] == "missing" and result["name"] == "no_such_benchmark"


def test_a_failing_benchmark_is_reported_not_raised(tmp_path, monkeypatch):
    class Failing:
        @staticmethod
        def bench(quick: bool = False) -> dict:
            raise RuntimeError("the stack did not start")

    monkeypatch.setattr(harness.importlib, "import_module", lambda name: Failing)
    out = tmp_path / "r.json"
    harness._child("throughput", True, out)
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["status"] == "failed" and result["error"] == "RuntimeError: the stack did not start"


def test_a_size_reaches_the_benchmarks_that_take_one_and_the_table_says_it(tmp_path, monkeypatch):
    asked = []

    class Sized:
        @staticmethod
        def bench(quick: bool = False, requests: int | None = None) -> dict:
            asked.append(requests)
            return _ok("waiting", [_row("memory", 1.0, 1.0, "MB", None, None)])

    class Unsized:
        @staticmethod
        def bench(quick: bool = False) -> dict:
            return _ok("record", [_row("store", 1.0, None, "ms", None, None)])

    monkeypatch.setattr(harness.importlib, "import_module", lambda name: Sized if "waiting" in name else Unsized)
    harness._child("waiting", False, tmp_path / "w.json", requests=60)
    harness._child("record", False, tmp_path / "r.json", requests=60)
    waiting = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    record = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert asked == [60] and waiting["requests_asked"] == 60 and "requests_asked" not in record
    assert "(60 requests, " in harness.table([waiting]) and "(full, " in harness.table([record])


_GRANDCHILD = """
import sys, time
from pathlib import Path
from benchmarks.common import stop_on_sigterm
stop_on_sigterm()
here = Path(sys.argv[1])
(here / "started").write_text("yes")
try:
    while True:
        time.sleep(0.1)  # a benchmark playing its people
finally:
    (here / "stack stopped").write_text("yes")  # where a benchmark stops its stack
"""

_CHILD = """
import sys
from pathlib import Path
from benchmarks.common import run_child, stop_on_sigterm
stop_on_sigterm()
run_child([sys.executable, "-c", sys.argv[2], sys.argv[1]], cwd=Path.cwd())
"""


def test_a_benchmark_stopped_with_sigterm_stops_the_process_it_started(tmp_path):
    """Stopping a benchmark (SIGTERM, as `kill` or a timeout sends) reaches the process it started
    for one side of a comparison, which stops its own stack: none is left running."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from flows.stack import wait_until

    root = Path(harness.ROOT)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), _GRANDCHILD], cwd=root)
    try:
        wait_until(lambda: (tmp_path / "started").exists(), timeout=60, what="the benchmark's child")
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) != 0
        assert (tmp_path / "stack stopped").exists()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_size_that_is_not_a_positive_number_is_refused_before_anything_runs():
    """``--requests 0`` fell back to the full size (hours of benchmark) and a negative size went
    through: both are refused at once, before any stack starts."""
    import subprocess
    import sys

    for size in ("0", "-5", "dix"):
        done = subprocess.run([sys.executable, "-m", "benchmarks.all", "--only", "record", "--requests", size],
                              cwd=harness.ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "--requests" in done.stderr, (size, done.stderr[-300:])


_PARENT_WITH_FORKED_CHILD = r"""
import os, sys, time
block = bytearray(os.urandom(64 * 2**20))  # 64 MB written once, then shared with the child
if os.fork() == 0:
    time.sleep(60)
    os._exit(0)
print("ready", flush=True)
time.sleep(60)
"""


def test_memory_of_a_forked_tree_counts_shared_pages_once():
    """A forked child shares its parent's pages: the resident sum counts them twice, the
    proportional sum once (what the waiting benchmark's growth is read from)."""
    import subprocess
    import sys

    from benchmarks.common import pss_mb, rss_mb, tree
    from flows.stack import wait_until

    proc = subprocess.Popen([sys.executable, "-c", _PARENT_WITH_FORKED_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout and proc.stdout.readline().strip() == "ready"
        wait_until(lambda: len(tree(proc.pid)) == 2, timeout=10, what="the forked child")
        resident, proportional = rss_mb([proc.pid]), pss_mb([proc.pid])
        assert resident > 2 * 64
        assert 64 < proportional < resident - 48
    finally:
        for pid in tree(proc.pid):
            os.kill(pid, 9)
        proc.wait()


def test_a_tree_at_rest_is_read_once_it_stops_growing():
    """The idle runner's forkserver imports Prefect after the runner is up: the idle figure is
    read once the tree's memory has settled, not while it is still growing."""
    import subprocess
    import sys

    from benchmarks.common import rss_mb, wait_until_memory_settles

    grower = ("import time\nblocks = []\n"
              "for _ in range(6):\n    blocks.append(b'x' * (16 * 2**20))\n    time.sleep(0.4)\n"
              "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", grower])
    try:
        wait_until_memory_settles([proc.pid], timeout=30)
        assert rss_mb([proc.pid]) > 6 * 16
    finally:
        proc.kill()
        proc.wait()
