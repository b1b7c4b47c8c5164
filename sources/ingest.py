"""HTTP push ingest: ``POST /events`` with JSON or NDJSON, a bearer token per tenant, into Kafka.

A small Starlette (ASGI) service, served by uvicorn (``python -m sources ingest serve``); its
OpenAPI description is ``GET /openapi.json`` (:mod:`sources.openapi`). The contract:

* ``Authorization: Bearer <token>``: the token names the tenant (``CALLPULSE_INGEST_TOKENS``).
  No or unknown token -> 401. An event whose ``tenant`` is another tenant -> 403 (nothing is
  published). Events without ``tenant`` get the token's tenant.
* ``Content-Type: application/json`` (one event or an array) or ``application/x-ndjson`` (one
  event per line); anything else -> 415. A body above the size limit -> 413, before it is read.
* Every event is validated with :func:`stream.events.parse_event`. The valid ones are published
  and acknowledged by Kafka **before** the answer: 202 ``{"accepted": n, "rejected": []}`` when
  all were valid, else 400 with ``rejected: [{"index", "reason", "detail"}]`` (the valid events of
  that request are still published: event ids make re-sending the whole batch harmless).
* Kafka unavailable -> 503 with ``Retry-After``; the client retries with the same event ids.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Protocol

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sources.openapi import openapi_document
from sources.settings import IngestTokens
from stream.errors import InvalidEvent
from stream.events import R_INVALID_JSON, parse_event

log = logging.getLogger("sources.ingest")

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines"}
)
#: Events per Kafka message when publishing an accepted request (JSON arrays, docs/events.md).
PUBLISH_BATCH = 100


class Publisher(Protocol):
    async def send_many(self, events: Sequence[Mapping[str, Any]], *, batch: int = 1) -> int: ...


PublisherFactory = Callable[[], contextlib.AbstractAsyncContextManager[Publisher]]


class _Problem(Exception):  # noqa: N818 - control flow to an error response
    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.headers = headers or {}


def _error(status: int, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _tenant_of(request: Request, tokens: IngestTokens) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="callpulse"'}
    if scheme.lower() != "bearer" or not token.strip():
        raise _Problem(401, "missing bearer token", challenge)
    tenant = tokens.tenant_for(token.strip())
    if tenant is None:
        raise _Problem(
            401, "invalid token", {"WWW-Authenticate": 'Bearer realm="callpulse", error="invalid_token"'}
        )
    return tenant


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > limit
        except ValueError:
            raise _Problem(400, "Content-Length is not a number") from None
        if too_big:
            raise _Problem(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Problem(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise _Problem(400, "client disconnected") from None
    return b"".join(chunks)


def _items(body: bytes, content_type: str) -> list[tuple[Any, str | None]]:
    """(decoded value, None) or (raw text, JSON error) per event in the body."""
    if content_type in JSON_TYPES:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            return [(body[:200].decode("utf-8", "replace"), f"body is not JSON: {e}")]
        return [(item, None) for item in doc] if isinstance(doc, list) else [(doc, None)]
    out: list[tuple[Any, str | None]] = []
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        try:
            out.append((orjson.loads(line), None))
        except orjson.JSONDecodeError as e:
            out.append((line[:200].decode("utf-8", "replace"), f"line is not JSON: {e}"))
    return out


def _validate(items: list[tuple[Any, str | None]], tenant: str) -> tuple[list[Any], list[dict[str, Any]]]:
    """(events to publish, with the tenant filled in; per-event errors with index and reason)."""
    accepted: list[Any] = []
    rejected: list[dict[str, Any]] = []
    for index, (obj, err) in enumerate(items):
        if err is not None:
            rejected.append({"index": index, "reason": R_INVALID_JSON, "detail": err[:300]})
            continue
        if isinstance(obj, dict) and obj.get("tenant") is None:
            obj = {**obj, "tenant": tenant}
        try:
            parse_event(obj)
        except InvalidEvent as e:
            rejected.append({"index": index, "reason": e.reason, "detail": e.detail[:300]})
            continue
        accepted.append(obj)
    return accepted, rejected


def create_app(
    tokens: IngestTokens,
    publisher_factory: PublisherFactory,
    *,
    max_bytes: int,
    publish_batch: int = PUBLISH_BATCH,
) -> Starlette:
    """The ingest ASGI app. ``publisher_factory()`` is entered for the app's lifetime."""
    state: dict[str, Publisher] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with publisher_factory() as publisher:
            state["publisher"] = publisher
            log.info(
                "ingest ready for tenants %s (limit %d bytes)", ", ".join(tokens.tenants) or "-", max_bytes
            )
            yield
            state.clear()

    async def post_events(request: Request) -> Response:
        try:
            tenant = _tenant_of(request, tokens)
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in JSON_TYPES | NDJSON_TYPES:
                raise _Problem(415, "Content-Type must be application/json or application/x-ndjson")
            body = await _body(request, max_bytes)
        except _Problem as p:
            return _error(p.status, p.error, p.headers)
        items = _items(body, content_type)
        if not items:
            return _error(400, "no events in the body")
        foreign = sorted(
            {str(obj["tenant"]) for obj, err in items if err is None and isinstance(obj, dict)
             and isinstance(obj.get("tenant"), str) and obj["tenant"] != tenant}
        )  # fmt: skip
        if foreign:
            return _error(403, f"this token may write tenant {tenant!r} only, not {foreign[:5]!r}")
        accepted, rejected = _validate(items, tenant)
        publisher = state.get("publisher")
        if accepted:
            if publisher is None:
                return _error(503, "not ready", {"Retry-After": "1"})
            try:
                await publisher.send_many(accepted, batch=publish_batch)
            except Exception as e:  # noqa: BLE001 - any broker failure: tell the client to retry
                log.warning("publish for tenant %s failed: %s", tenant, type(e).__name__)
                return _error(503, "event store unavailable, retry later", {"Retry-After": "5"})
        log.debug("tenant %s: %d accepted, %d rejected", tenant, len(accepted), len(rejected))
        status = 400 if rejected else 202
        return JSONResponse({"accepted": len(accepted), "rejected": rejected}, status_code=status)

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(max_bytes))

    async def health(request: Request) -> Response:
        ready = "publisher" in state
        return JSONResponse({"ok": ready}, status_code=200 if ready else 503)

    return Starlette(
        routes=[
            Route("/events", post_events, methods=["POST"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
