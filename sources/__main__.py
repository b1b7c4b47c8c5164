"""``python -m sources``: connect a real switch to CallPulse.

    python -m sources queue-log import /var/log/asterisk/queue_log.1 /var/log/asterisk/queue_log --tenant acme
    python -m sources queue-log follow /var/log/asterisk/queue_log --tenant acme \\
        --checkpoint /var/lib/callpulse/queue_log.checkpoint
    python -m sources cdr import export.csv --mapping config/cdr-mapping.example.yaml
    python -m sources ingest serve --host 0.0.0.0 --port 8088
    python -m sources ingest openapi

Kafka and topics come from ``CALLPULSE_KAFKA_BROKER``, ``CALLPULSE_EVENTS_TOPIC`` and
``CALLPULSE_DEADLETTER_TOPIC`` (``--broker``, ``--topic``, ``--deadletter-topic`` override them);
ingest tokens from ``CALLPULSE_INGEST_TOKENS``. ``--dry-run`` prints the events as NDJSON instead
of publishing them. See docs/sources.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from sources.common import KafkaSink, MemorySink, Sink, Summary, write_ndjson
from sources.settings import SourceSettings, load_source_settings
from stream.errors import CallPulseError

log = logging.getLogger("sources")


def _settings(args: argparse.Namespace) -> SourceSettings:
    overrides: dict[str, Any] = {}
    if getattr(args, "broker", None):
        overrides["kafka_broker"] = args.broker
    if getattr(args, "topic", None):
        overrides["events_topic"] = args.topic
    if getattr(args, "deadletter_topic", None):
        overrides["deadletter_topic"] = args.deadletter_topic
    if getattr(args, "max_bytes", None):
        overrides["ingest_max_bytes"] = args.max_bytes
    return load_source_settings(**overrides)


async def _with_sink(args: argparse.Namespace, settings: SourceSettings, work: Any) -> Summary:
    """Run ``work(sink)`` against Kafka, or a memory sink printed as NDJSON with ``--dry-run``."""
    if args.dry_run:
        mem = MemorySink()
        summary = await work(mem)
        write_ndjson(mem.events, print)
        for record in mem.dead:
            log.info("dead letter: %s", orjson.dumps(record).decode())
        return summary
    from stream.topics import ensure_topics

    await ensure_topics(
        settings.kafka_broker, {settings.events_topic: settings.partitions, settings.deadletter_topic: 1}
    )
    async with KafkaSink(settings.kafka_broker, settings.events_topic, settings.deadletter_topic) as sink:
        return await work(sink)


def _report(summary: Summary, args: argparse.Namespace, unit: str) -> int:
    if args.json:
        print(orjson.dumps(summary.as_dict()).decode(), file=sys.stderr)
    else:
        print(summary.render(unit), file=sys.stderr)
    return 2 if args.strict and summary.dead_lettered else 0


def cmd_queue_log_import(args: argparse.Namespace) -> int:
    from sources.follow import import_files
    from sources.queue_log import QueueLogMapper

    settings = _settings(args)
    mapper = QueueLogMapper(args.tenant)

    async def work(sink: Sink) -> Summary:
        return await import_files([Path(p) for p in args.files], mapper, sink)

    return _report(asyncio.run(_with_sink(args, settings, work)), args, "lines")


def cmd_queue_log_follow(args: argparse.Namespace) -> int:
    from sources.follow import Follower
    from sources.queue_log import QueueLogMapper

    settings = _settings(args)

    async def work(sink: Sink) -> Summary:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        follower = Follower(
            Path(args.file), Path(args.checkpoint), QueueLogMapper(args.tenant), sink, from_end=args.from_end
        )
        log.info("following %s for tenant %s (checkpoint %s)", args.file, args.tenant, args.checkpoint)
        return await follower.run(stop, interval=args.poll_interval)

    return _report(asyncio.run(_with_sink(args, settings, work)), args, "lines")


def cmd_cdr_import(args: argparse.Namespace) -> int:
    from sources.cdr import import_cdr
    from sources.cdr_mapping import load_mapping

    settings = _settings(args)
    mapping = load_mapping(Path(args.mapping), tenant=args.tenant)

    async def work(sink: Sink) -> Summary:
        return await import_cdr([Path(p) for p in args.files], mapping, sink)

    return _report(asyncio.run(_with_sink(args, settings, work)), args, "rows")


def cmd_ingest_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sources.ingest import create_app
    from stream.publish import EventPublisher
    from stream.topics import ensure_topics

    settings = _settings(args)
    if not settings.tokens.by_token:
        log.warning("CALLPULSE_INGEST_TOKENS is empty: every request will be refused with 401")
    asyncio.run(ensure_topics(settings.kafka_broker, {settings.events_topic: settings.partitions}))
    app = create_app(
        settings.tokens,
        lambda: EventPublisher(settings.kafka_broker, settings.events_topic),
        max_bytes=settings.ingest_max_bytes,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=settings.log_level, access_log=False)
    return 0


def cmd_ingest_openapi(args: argparse.Namespace) -> int:
    from sources.openapi import openapi_document

    settings = _settings(args)
    print(orjson.dumps(openapi_document(settings.ingest_max_bytes), option=orjson.OPT_INDENT_2).decode())
    return 0


def _kafka_options(p: argparse.ArgumentParser, *, dlq: bool = True) -> None:
    p.add_argument("--broker", help="kafka://host:port (default: CALLPULSE_KAFKA_BROKER)")
    p.add_argument("--topic", help="events topic (default: CALLPULSE_EVENTS_TOPIC)")
    if dlq:
        p.add_argument("--deadletter-topic", help="dead-letter topic (default: CALLPULSE_DEADLETTER_TOPIC)")


def _import_options(p: argparse.ArgumentParser) -> None:
    _kafka_options(p)
    p.add_argument("--dry-run", action="store_true", help="print events as NDJSON, publish nothing")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (stderr)")
    p.add_argument("--strict", action="store_true", help="exit 2 if any record was dead-lettered")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sources", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    top = parser.add_subparsers(dest="source", required=True)

    ql = top.add_parser("queue-log", help="Asterisk / FreePBX queue_log").add_subparsers(
        dest="cmd", required=True
    )
    p = ql.add_parser("import", help="import whole files, oldest first (.gz allowed)")
    p.add_argument("files", nargs="+")
    p.add_argument("--tenant", required=True)
    _import_options(p)
    p.set_defaults(func=cmd_queue_log_import)
    p = ql.add_parser("follow", help="follow a live queue_log like tail -F, with a checkpoint")
    p.add_argument("file")
    p.add_argument("--tenant", required=True)
    p.add_argument("--checkpoint", required=True, help="JSON file kept between restarts")
    p.add_argument("--poll-interval", type=float, default=0.5, help="seconds between looks (default 0.5)")
    p.add_argument("--from-end", action="store_true", help="first start only: skip what the file holds now")
    _import_options(p)
    p.set_defaults(func=cmd_queue_log_follow)

    cdr = top.add_parser("cdr", help="per-call CDR CSV exports").add_subparsers(dest="cmd", required=True)
    p = cdr.add_parser("import", help="import CSV files with a YAML column mapping")
    p.add_argument("files", nargs="+")
    p.add_argument("--mapping", required=True, help="YAML mapping (see config/cdr-mapping.example.yaml)")
    p.add_argument("--tenant", help="override the mapping's tenant")
    _import_options(p)
    p.set_defaults(func=cmd_cdr_import)

    ing = top.add_parser("ingest", help="HTTP push endpoint").add_subparsers(dest="cmd", required=True)
    p = ing.add_parser("serve", help="serve POST /events (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8088)
    p.add_argument("--max-bytes", type=int, help="body size limit (default: CALLPULSE_INGEST_MAX_BYTES)")
    _kafka_options(p, dlq=False)
    p.set_defaults(func=cmd_ingest_serve)
    p = ing.add_parser("openapi", help="print the OpenAPI description")
    p.add_argument("--max-bytes", type=int)
    p.set_defaults(func=cmd_ingest_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except CallPulseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
