"""CallPulse's call-center simulator: realistic traffic as canonical v1 events (docs/events.md).

Python API (see docs/simulators.md)::

    from simulators import load_center, load_scenario, generate
    center = load_center("base").with_scenarios(load_scenario("network_outage"))
    for event in generate(center, seed=7, start="2026-11-23T00:00+08:00", duration="1d"):
        ...  # wire-form dicts, ts in epoch ms, in time order

    import asyncio
    from simulators import run_live
    asyncio.run(run_live(center, seed=7, broker="kafka://127.0.0.1:9092", speed=1))
"""

from __future__ import annotations

from simulators.api import generate, parse_start, run_live, simulation
from simulators.config import (
    BASE_CONFIG,
    CenterConfig,
    Scenario,
    load_center,
    load_scenario,
    shipped_scenarios,
)

__all__ = [
    "BASE_CONFIG",
    "CenterConfig",
    "Scenario",
    "generate",
    "load_center",
    "load_scenario",
    "parse_start",
    "run_live",
    "shipped_scenarios",
    "simulation",
]
