"""The signed record's costs, on a fresh SQLite database: storing a request (now with its
revision row and signatures), ``verify``, the JSON export, the PDF and its seal; medians over
repeated runs, with the plain canonical export of the same request as the baseline.

    .venv/bin/python -m benchmarks.record --repeat 30

Figures are reported in the issue notes, never asserted by tests (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


BASELINE = "baseline: canonical export"


def bench(quick: bool = False) -> dict:
    """For ``benchmarks.all``: each cost next to the plain canonical export of the same request."""
    repeat = 5 if quick else 30
    figures, pdf_kib = measure(repeat)
    base = figures.pop(BASELINE)
    return {"name": "record", "cores": os.cpu_count() or 0,
            "rows": [{"measure": name, "ours": round(ms, 2), "baseline": round(base, 2), "unit": "ms",
                      "target": None, "met": None,
                      "note": f"median of {repeat}; baseline: the canonical export; PDF {pdf_kib} KiB"
                      if i == 0 else ""} for i, (name, ms) in enumerate(figures.items())],
            "raw": {**figures, BASELINE: base, "pdf_kib": pdf_kib}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    figures, pdf_kib = measure(args.repeat)
    baseline = figures[BASELINE]
    print(f"cores: {os.cpu_count()}, repeat: {args.repeat}, PDF size: {pdf_kib} KiB")
    for name, ms in figures.items():
        print(f"{name:45s} median {ms:8.1f} ms   × baseline {ms / baseline:7.1f}")


def measure(repeat: int) -> tuple[dict[str, float], int]:
    """Median ms of each cost, and the sealed PDF's size in KiB."""
    var_dir = Path(tempfile.mkdtemp(prefix="ramq-bench-record-"))
    os.environ.update({"RAMQ_VAR_DIR": str(var_dir), "RAMQ_ENV": "dev",
                       "RAMQ_DATABASE_URL": f"sqlite:///{var_dir / 'app.db'}"})
    from models.db import session_scope, upgrade
    from models.record import build_record, sealed_pdf
    from models.record_pdf import render_record_pdf
    from models.request_store import get_request_by_reference, request_to_canonical, store_request
    from models.seal import seal_pdf, verify_seal
    from models.signatures import verify_request

    upgrade()
    sample = json.loads((Path(__file__).resolve().parent.parent / "tests" / "data"
                         / "request-establishment.json").read_text(encoding="utf-8"))
    references = []

    def store() -> None:
        with session_scope() as s:
            references.append(store_request(s, normalized=sample, actor="bench").reference)

    store()  # warm-up: imports, the first connection
    ref = references[0]
    with session_scope() as s:
        record = build_record(s, get_request_by_reference(s, ref), with_images=True)
    pdf = seal_pdf(render_record_pdf(record))

    def read(fn):
        def run() -> None:
            with session_scope() as s:
                fn(s, get_request_by_reference(s, ref))
        return run

    figures = {
        "store a request (revision + 2 signatures)": _median_ms(store, repeat),
        BASELINE: _median_ms(read(lambda s, r: request_to_canonical(r, None)), repeat),
        "verify (every signature)": _median_ms(read(verify_request), repeat),
        "export (whole record)": _median_ms(read(build_record), repeat),
        "render the PDF": _median_ms(lambda: render_record_pdf(record), repeat),
        "seal the PDF (PAdES)": _median_ms(lambda: seal_pdf(render_record_pdf(record)), repeat),
        "sealed PDF from the database": _median_ms(read(lambda s, r: sealed_pdf(s, r)), repeat),
        "check a seal": _median_ms(lambda: verify_seal(pdf), repeat),
    }
    return figures, len(pdf) // 1024


if __name__ == "__main__":
    main()
