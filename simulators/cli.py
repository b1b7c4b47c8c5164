"""``python -m simulators``: run a simulated center, replay a recording, check a stream.

python -m simulators run --speed 1 --broker kafka://127.0.0.1:9092          # live, forever
python -m simulators run --speed max --start 2026-11-23 --duration 1d --out day.jsonl
python -m simulators run --scenario network_outage --speed 60 --broker kafka://127.0.0.1:9092
python -m simulators replay day.jsonl --speed 10 --broker kafka://127.0.0.1:9092
python -m simulators check day.jsonl
python -m simulators scenarios
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from simulators.api import parse_run_duration, run_live, simulation
from simulators.config import BASE_CONFIG, load_center, load_scenario, shipped_scenarios
from simulators.invariants import check
from simulators.output import DEFAULT_TOPIC, Progress
from simulators.replay import read_jsonl, replay
from stream.errors import CallPulseError, ConfigError


def parse_speed(text: str) -> float | None:
    """``max`` (None: as fast as possible) or a factor > 0 (1 = real time)."""
    if text.strip().lower() in ("max", "inf", "0"):
        return None
    try:
        speed = float(text.rstrip("xX"))
    except ValueError as e:
        msg = f"--speed: expected a factor like 1, 60 or max, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from e
    if speed <= 0:
        msg = f"--speed must be > 0 (or max), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return speed


def _output_args(p: argparse.ArgumentParser) -> None:
    out = p.add_argument_group("output (Kafka or a JSON Lines file; default: JSON Lines on stdout)")
    out.add_argument(
        "--broker",
        metavar="URL",
        help="Kafka bootstrap, e.g. kafka://127.0.0.1:9092 (Tansu or Apache Kafka). Events are "
        "keyed tenant:call_id / tenant:agent:agent_id so each call stays in order on one partition.",
    )
    out.add_argument(
        "--topic", default=DEFAULT_TOPIC, help=f"Kafka topic for the events (default {DEFAULT_TOPIC})."
    )
    out.add_argument(
        "--batch",
        type=int,
        default=1,
        metavar="N",
        help="events per Kafka message: 1 (default) sends one JSON event per message; N > 1 packs "
        "up to N events into JSON arrays (fewer messages for fast backfills).",
    )
    out.add_argument(
        "--out", metavar="FILE", help="write JSON Lines to FILE instead of Kafka ('-' = stdout)."
    )
    out.add_argument(
        "--progress-every",
        type=float,
        metavar="SECONDS",
        help="print a progress line (simulated time, events, events/s, %% done, calls) to stderr "
        "every SECONDS of wall time (default 2 at --speed max, 60 otherwise).",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no progress lines.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulators",
        description="CallPulse call-center simulator: emits canonical v1 events (docs/events.md). "
        "See docs/simulators.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="simulate a center and send its events",
        description="Simulate a call center (queues, skilled agents on shifts with breaks and aux, "
        "Poisson arrivals with an intraday profile, lognormal handle times, impatient callers, "
        "overflow, transfers, redials) and send its events in time order. Deterministic for a "
        "seed and start time.",
    )
    run.add_argument(
        "--config",
        default="base",
        metavar="YAML",
        help=f"center configuration: 'base' (default; {BASE_CONFIG.name}, a mid-size center) or a YAML path.",
    )
    run.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME|YAML",
        help="scenario on top of the base day, repeatable: "
        + ", ".join(shipped_scenarios())
        + " or a YAML path. Effects repeat every simulated day at their local times.",
    )
    run.add_argument(
        "--seed", type=int, default=0, help="random seed (default 0): same seed + start = same events."
    )
    run.add_argument(
        "--start",
        default="now",
        help="simulated start (default now): now, today, tomorrow, YYYY-MM-DD (local midnight in "
        "the tenant's zone), an RFC 3339 time, or epoch ms.",
    )
    run.add_argument(
        "--duration",
        default=None,
        help="how much simulated time: e.g. 45m, 8h, 1d, forever "
        "(default: forever at a finite speed, 1d at --speed max).",
    )
    run.add_argument(
        "--speed",
        type=parse_speed,
        default=1.0,
        metavar="N|max",
        help="clock (default 1): 1 = real time (events appear as they happen), N = N times faster (simulated "
        "time runs ahead of the wall clock), max = as fast as possible (simulated time).",
    )
    run.add_argument("--tenant", help="override the tenant name of the configuration (base: demo).")
    run.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply call volumes and head counts (default 1; e.g. 0.1 for a small test center).",
    )
    _output_args(run)

    rp = sub.add_parser(
        "replay",
        help="replay a recorded JSON Lines file into Kafka (or a file)",
        description="Replay a JSON Lines file of v1 events, paced by its timestamps. By default "
        "timestamps are shifted so the first event happens now, and event and call ids get a "
        "per-replay suffix (the worker counts an event_id once per day).",
    )
    rp.add_argument("file", metavar="FILE", help="JSON Lines file, e.g. from 'run --out'.")
    rp.add_argument(
        "--speed",
        type=parse_speed,
        default=1.0,
        metavar="N|max",
        help="pace (default 1): 1 = the recorded pace, N = N times faster, max = as fast as possible.",
    )
    rp.add_argument(
        "--keep-timestamps",
        action="store_true",
        help="send the recorded timestamps unchanged (default: re-time so the first event is now).",
    )
    rp.add_argument(
        "--ids",
        choices=("new", "keep", "auto"),
        default="auto",
        help="event/call ids (default auto): new = add a per-replay suffix, keep = as recorded, "
        "auto = new when re-timing, keep with --keep-timestamps.",
    )
    _output_args(rp)

    ck = sub.add_parser(
        "check",
        help="check a JSON Lines stream against the consistency rules",
        description="Validate every event against the v1 contract and check the stream's "
        "consistency (offer before answer, one call per agent, time order...). Exit 1 if broken.",
    )
    ck.add_argument("file", metavar="FILE")

    sub.add_parser("scenarios", help="list the shipped scenarios")
    return parser


def _progress_every(args: argparse.Namespace) -> float | None:
    if args.quiet:
        return None
    if args.progress_every is not None:
        return args.progress_every
    return 2.0 if args.speed is None else 60.0


def cmd_run(args: argparse.Namespace) -> int:
    center = load_center(args.config)
    center = center.with_scenarios(*(load_scenario(s) for s in args.scenario))
    if args.tenant:
        center = center.renamed(args.tenant)
    if args.scale != 1.0:
        center = center.scaled(args.scale)
    duration = args.duration if args.duration is not None else ("1d" if args.speed is None else None)
    parse_run_duration(duration)  # fail early on a bad value
    simulation(center, args.seed, args.start, duration)  # validates start
    out = args.out if args.out or args.broker else "-"
    n = asyncio.run(
        run_live(
            center,
            args.seed,
            broker=args.broker,
            topic=args.topic,
            out=out,
            speed=args.speed,
            start=args.start,
            duration=duration,
            batch=args.batch,
            progress_every=_progress_every(args),
        )
    )
    if not args.quiet:
        print(f"sent {n:,} events", file=sys.stderr)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from simulators.api import make_sink  # local: keeps 'check' free of Kafka imports

    retime = not args.keep_timestamps
    new_ids = None if args.ids == "auto" else args.ids == "new"
    out = args.out if args.out or args.broker else "-"
    sink = make_sink(args.broker, args.topic, out, args.batch)
    every = _progress_every(args)
    progress = Progress(ZoneInfo("UTC"), every=every) if every is not None else None

    async def go() -> int:
        try:
            return await replay(
                args.file, sink, speed=args.speed, retime=retime, new_ids=new_ids, progress=progress
            )
        finally:
            await sink.close()

    n = asyncio.run(go())
    if not args.quiet:
        print(f"replayed {n:,} events", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    report = check(read_jsonl(args.file))
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(report.counts.items()))
    print(f"{report.events:,} events ({counts})")
    if report.ok:
        print("consistent: no rule broken")
        return 0
    print(f"{len(report.violations)} problem(s) (first ones shown):")
    for v in report.violations:
        print(" -", v)
    return 1


def cmd_scenarios(_: argparse.Namespace) -> int:
    for name in shipped_scenarios():
        sc = load_scenario(name)
        print(f"{name:18} {sc.description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"run": cmd_run, "replay": cmd_replay, "check": cmd_check, "scenarios": cmd_scenarios}
    try:
        return handler[args.command](args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except CallPulseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
