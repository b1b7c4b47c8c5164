"""``python -m stream alerts …``: list rules and their state, send a test message, check a file.

* ``alerts list [--tenant T] [--json]`` — the rules of ``CALLPULSE_ALERTS_RULES`` and, per
  tenant, the alerts now pending or firing (from Redis), plus recent delivery failures.
* ``alerts test --channel NAME`` — sends a test message to a channel now (exit 1 on failure,
  with the masked reason).
* ``alerts check [FILE]`` — validates a rules file; problems name the line (exit 2).
* ``alerts run`` — the evaluator and the deliverer without a Faust worker (a watchdog).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import orjson

from stream.errors import ConfigError


def _settings() -> Any:
    from stream.config import load_settings

    settings = load_settings()
    if settings.alerts_rules is None:
        msg = "CALLPULSE_ALERTS_RULES is not set: point it at a rules file (config/alerts.yaml)"
        raise ConfigError(msg)
    return settings


def _now() -> int:
    from stream.app import wall_ms

    return wall_ms()


def cmd_check(args: argparse.Namespace) -> int:
    from stream.alerts.rules import load_rules

    path = Path(args.file) if args.file else _settings().alerts_rules
    rules = load_rules(path)
    print(f"{path}: {len(rules.rules)} rules, channels {', '.join(rules.channels) or 'none'}: OK")
    return 0


def _rule_row(rules: Any, r: Any) -> dict[str, Any]:
    return {
        "name": r.name,
        "tenants": list(r.tenants),
        "queues": list(r.queues),
        "metric": r.metric,
        "window": r.effective_window,
        "op": r.op,
        "threshold": r.threshold,
        "for_s": r.for_s,
        "min_volume": r.min_volume,
        "severity": r.severity,
        "cooldown_s": r.cooldown_s,
        "channels": list(rules.channels_of(r)),
    }


def cmd_list(args: argparse.Namespace) -> int:
    from stream.alerts.runner import build
    from stream.keys import Keys

    settings = _settings()
    keys = Keys(settings.key_prefix)
    part = build(settings, keys, _now)
    rules = part.rules_file.current()
    out: dict[str, Any] = {"rules_file": str(settings.alerts_rules), "rules_error": part.rules_file.error}
    out["rules"] = [_rule_row(rules, r) for r in rules.rules] if rules else []
    tenants = [args.tenant] if args.tenant else part.evaluator.reader.tenants()
    out["alerts"] = {}
    for t in tenants:
        states = {k: orjson.loads(v) for k, v in part.store.states(t).items()}
        if states:
            out["alerts"][t] = states
    out["delivery_failures"] = part.store.failures(10)
    if args.json:
        print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
        return 0
    print(f"rules file: {out['rules_file']}")
    if out["rules_error"]:
        print(f"  INVALID (last good rules in use by the workers):\n  {out['rules_error']}")
    for r in out["rules"]:
        thr = r["threshold"]
        print(
            f"  {r['name']}: {r['metric']} [{r['window']}] {r['op'] or '(board)'} {thr} for {r['for_s']:g}s, "
            f"min volume {r['min_volume']}, {r['severity']}, cooldown {r['cooldown_s']:g}s -> "
            f"{', '.join(r['channels']) or 'no channel'}"
        )
    print("alerts now:" if out["alerts"] else "alerts now: none pending or firing")
    for t, states in out["alerts"].items():
        for aid, st in sorted(states.items()):
            print(
                f"  {t} {aid}: {st['state']} since {st['since_ms']} "
                f"value {st['value']} threshold {st['threshold']}"
            )
    for f in out["delivery_failures"]:
        print(f"  delivery failure: {f['channel']} {f['rule']} attempt {f['attempt']}: {f['error']}")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from stream.alerts.deliver import DeliveryError
    from stream.alerts.runner import build
    from stream.keys import Keys

    settings = _settings()
    part = build(settings, Keys(settings.key_prefix), _now)
    if part.rules_file.current() is None:
        msg = f"the rules file is invalid:\n{part.rules_file.error}"
        raise ConfigError(msg)
    try:
        part.deliverer.send_test(args.channel)
    except DeliveryError as e:
        print(f"test message to {args.channel} failed: {e}", file=sys.stderr)
        return 1
    print(f"test message sent to {args.channel}")
    return 0


def cmd_run(_: argparse.Namespace) -> int:
    from stream.alerts.runner import run_standalone
    from stream.keys import Keys

    settings = _settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_standalone(settings, Keys(settings.key_prefix), _now, stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def add_alerts_parser(subparsers: Any) -> None:
    a = subparsers.add_parser(
        "alerts", help="alert rules: list, test a channel, check a file, run standalone"
    )
    sub = a.add_subparsers(dest="alerts_command", required=True)
    ls = sub.add_parser("list", help="rules and the alerts pending or firing now")
    ls.add_argument("--tenant", help="only this tenant (default: all)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=cmd_list)
    t = sub.add_parser("test", help="send a test message to a channel")
    t.add_argument("--channel", required=True, help="channel name from the rules file")
    t.set_defaults(func=cmd_test)
    c = sub.add_parser("check", help="validate a rules file (default: CALLPULSE_ALERTS_RULES)")
    c.add_argument("file", nargs="?", help="rules file")
    c.set_defaults(func=cmd_check)
    r = sub.add_parser("run", help="evaluate and deliver without a Faust worker (watchdog)")
    r.set_defaults(func=cmd_run)
