"""Benchmark: a full day of the base center (~42,000 calls, 568 agents) as fast as possible.

    python -m bench.bench_simulator [--days N] [--seed S] [--scenario NAME]

Prints events, seconds and events/s for generating the events (the engine alone), and with
JSON serialisation (what ``run --out`` adds). Acceptance: a day in well under a minute.
"""

from __future__ import annotations

import argparse
import time

import orjson

from simulators import generate, load_center, load_scenario


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_simulator", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--days", type=float, default=1.0, help="simulated days (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", action="append", default=[], help="scenario names to add")
    args = parser.parse_args(argv)
    center = load_center("base").with_scenarios(*(load_scenario(s) for s in args.scenario))
    duration = f"{args.days * 24}h"
    start = "2026-11-23"  # a Monday, the busiest day of the week

    t0 = time.perf_counter()
    n = calls = 0
    for ev in generate(center, seed=args.seed, start=start, duration=duration):
        n += 1
        calls += ev["type"] == "call_offered"
    engine_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    size = sum(
        len(orjson.dumps(ev)) + 1 for ev in generate(center, seed=args.seed, start=start, duration=duration)
    )
    json_s = time.perf_counter() - t0

    print(
        f"simulated {args.days:g} day(s) of the base center ({center.agent_count} agents), seed {args.seed}"
    )
    print(f"engine:      {n:,} events ({calls:,} offers) in {engine_s:.2f} s = {n / engine_s:,.0f} events/s")
    print(f"engine+JSON: {n:,} events ({size / 1e6:.0f} MB) in {json_s:.2f} s = {n / json_s:,.0f} events/s")


if __name__ == "__main__":
    main()
