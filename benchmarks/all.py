"""`make bench`: every benchmark, one process each (a benchmark that is missing, fails or hangs
is reported as failed and the others go on), JSON under benchmarks/results/ (timestamped, and
``<name>-latest.json``), and the table of docs/performance.md regenerated between its markers
from the latest result of every benchmark.

    .venv/bin/python -m benchmarks.all [--only NAME ...] [--quick] [--requests N]

A benchmark module exposes ``bench(quick: bool = False) -> dict``: ``{"name", "cores", "rows":
[{"measure", "ours", "baseline", "unit", "target", "met", "note"}], "raw"}``. A target reads
``≤ X``/``≥ X`` (in the row's unit) or ``≥ K × baseline``: the table then says by how much a
missed one is missed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import stop_gently, stop_on_sigterm

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"
BENCHMARKS = ("decisions", "throughput", "waiting", "scale", "scaleout", "history", "record")
TIMEOUT = {True: 45 * 60, False: 4 * 3600}  # per benchmark, quick or full


def _child(name: str, quick: bool, out: Path, requests: int | None = None) -> int:
    """Runs one benchmark in this (fresh) process and writes its result, or its failure."""
    started = time.monotonic()
    try:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"benchmarks.{name}":
                raise
            result = {"name": name, "status": "missing", "error": "not written yet"}
        else:
            sized = requests is not None and "requests" in inspect.signature(module.bench).parameters
            extra = {"requests": requests} if sized else {}
            result = {**module.bench(quick=quick, **extra), "status": "ok",
                      **({"requests_asked": requests} if sized else {})}
    except SystemExit as exc:
        result = {"name": name, "status": "failed", "error": f"stopped before its end (exit {exc.code})"}
    except BaseException as exc:  # noqa: BLE001 - reported in the table, the others go on
        traceback.print_exc()
        result = {"name": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500]}
    result.update(name=name, quick=quick, seconds=round(time.monotonic() - started, 1))
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


def _wait(proc: subprocess.Popen, timeout: float) -> int:
    """The child's exit code; if ``make bench`` itself is stopped meanwhile (Ctrl-C, SIGTERM), the
    child is stopped first, gently, so that it stops the stack it started."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise
    except BaseException:
        stop_gently(proc, 150)
        raise


def run_one(name: str, quick: bool, requests: int | None = None) -> dict:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{name}-{stamp}.json"
    cmd = [sys.executable, "-m", "benchmarks.all", "--child", name, "--out", str(out)]
    if quick:
        cmd.append("--quick")
    if requests is not None:
        cmd += ["--requests", str(requests)]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    try:
        error = f"exit code {_wait(proc, TIMEOUT[quick])}"
    except subprocess.TimeoutExpired:
        stop_gently(proc, 90)  # lets it stop its stack
        error = f"timed out after {TIMEOUT[quick]} s"
    if out.exists() and not error.startswith("timed out"):
        result = json.loads(out.read_text(encoding="utf-8"))
    else:
        result = {"name": name, "status": "failed", "error": error, "quick": quick,
                  "seconds": round(time.monotonic() - started, 1)}
    result["at"] = stamp
    result.setdefault("cores", os.cpu_count())
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n"
    out.write_text(text, encoding="utf-8")
    (RESULTS / f"{name}-latest.json").write_text(text, encoding="utf-8")
    return result


# --- the table ------------------------------------------------------------------------------------


def _num(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}".replace(",", " ")
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def verdict(r: dict) -> str:
    """``met``, ``missed by …`` (how much, when the target can be read), or ``—``."""
    if r.get("met") is None:
        return "—"
    if r["met"]:
        return "met"
    target, ours, base = r.get("target") or "", r.get("ours"), r.get("baseline")
    m = re.match(r"\s*(≤|<=|<|≥|>=|>)\s*([\d.]+)\s*(×\s*baseline)?", target)
    if m and ours is not None:
        bound = float(m.group(2))
        if m.group(3):
            if base:
                return f"missed: {ours / base:.2f} × baseline for {bound:g} ×"
        else:
            over = ours - bound if m.group(1) in ("≤", "<=", "<") else bound - ours
            return f"missed by {_num(abs(over))} {r.get('unit', '')} ({ours / bound:.1f} × the target)" \
                if bound else f"missed by {_num(abs(over))} {r.get('unit', '')}"
    return "missed"


def table(results: list[dict]) -> str:
    lines = ["| benchmark | measure | ours | baseline | ratio | target | result | note |",
             "|---|---|---|---|---|---|---|---|"]
    for res in results:
        head = res["name"]
        size = f"{res['requests_asked']} requests" if res.get("requests_asked") else None
        size = size or ("quick" if res.get("quick") else "full")
        how = f"{size}, {res.get('at', '?')}, {res.get('cores', '?')} cores"
        if res.get("load_average"):
            how += f", load {res['load_average'][0]:g}"
        if res.get("status") != "ok":
            what = "not written yet" if res.get("status") == "missing" else f"FAILED: {res.get('error', '')}"
            if "at" in res:
                what = f"{what} ({how})"
            lines.append(f"| {head} | {what} | | | | | | |")
            continue
        for i, r in enumerate(res.get("rows", [])):
            unit = r.get("unit", "")
            base = r.get("baseline")
            ratio = f"{r['ours'] / base:.2f}" if base else "—"
            note = (r.get("note") or "").replace("|", "/").replace("\n", " ")
            if i == 0:
                note = f"{note} ({how})" if note else f"({how})"
            sep = " " if unit else ""
            lines.append(f"| {head if i == 0 else ''} | {r['measure']} | {_num(r.get('ours'))}{sep}{unit} | "
                         f"{_num(base) + sep + unit if base is not None else '—'} | {ratio} | "
                         f"{r.get('target') or '—'} | {verdict(r)} | {note} |")
    return "\n".join(lines)


def latest() -> list[dict]:
    out = []
    for name in BENCHMARKS:
        path = RESULTS / f"{name}-latest.json"
        if path.exists():
            out.append(json.loads(path.read_text(encoding="utf-8")))
        else:
            out.append({"name": name, "status": "missing", "error": "never run"})
    return out


def write_doc(results: list[dict]) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Performance\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    DOC.write_text(f"{before}{START}\n{table(results)}\n{END}{after}", encoding="utf-8")


def _positive(text: str) -> int:
    """A size asked for on the command line: 0 would have meant the full size (hours)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of requests: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1 request, not {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="this benchmark only (repeatable)")
    parser.add_argument("--quick", action="store_true", help="fewer requests: minutes, not hours")
    parser.add_argument("--requests", type=_positive, help="this many requests, for the benchmarks that take a size "
                        "(decisions: per level; throughput, waiting, scale, scaleout)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    stop_on_sigterm()  # the clean-up runs: the child's stack, or the child (``_wait``)
    if args.child:
        raise SystemExit(_child(args.child, args.quick, Path(args.out), args.requests))
    print(f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    for name in args.only or BENCHMARKS:
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        res = run_one(name, args.quick, args.requests)
        print(f"== {name}: {res.get('status')} in {res.get('seconds')} s {res.get('error', '')}", flush=True)
    results = latest()
    write_doc(results)
    print(table(results))
    print(f"\ncores: {os.cpu_count()}; JSON in {RESULTS.relative_to(ROOT)}/, table in {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
