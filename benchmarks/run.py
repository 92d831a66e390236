"""`make benchmark`: the whole stack on fresh ports and a fresh var/ folder, then
`simulate` against it; prints the per-step latencies (median, p95) and stops everything.

    .venv/bin/python -m benchmarks.run --requests 20 --seed 1

Figures are reported in the issue notes, never asserted by tests (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from flows.stack import Stack, free_port

    var_dir = Path(tempfile.mkdtemp(prefix="ramq-bench-"))
    stack = Stack(var_dir=var_dir, prefect_port=free_port(), smtp_port=free_port(), ui_port=free_port())
    # This process plays the people: it must see the same stack as the components.
    os.environ.update({k: v for k, v in stack.env.items() if k.startswith(("PREFECT_", "RAMQ_"))})
    from models.db import upgrade
    from models.settings import get_settings

    get_settings.cache_clear()  # read the stack's RAMQ_* settings
    upgrade()
    stack.start(("prefect", "smtp", "runner"))
    try:
        from flows.simulate import Simulation

        summary = Simulation(requests=args.requests, seed=args.seed, progress=print).run()
    finally:
        stack.stop()
    print(json.dumps(summary, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
