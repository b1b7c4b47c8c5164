"""``make bench``: every benchmark in one run, each printing its figures and ratios.

Benchmarks measure speed and memory; tests never do. Run one alone with
``python -m bench.bench_pipeline`` (or ``bench_simulator``, ``bench_dashboard``).
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = ("bench.bench_pipeline", "bench.bench_simulator", "bench.bench_dashboard")


def main() -> int:
    failed = []
    for name in sys.argv[1:] or BENCHES:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(name).main()
        except Exception as e:  # noqa: BLE001 - report and go on with the next benchmark
            print(f"{name} failed: {type(e).__name__}: {e}", flush=True)
            failed.append(name)
        print(f"({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
