"""The OpenAPI 3.1 description of the ingest endpoint (served at ``GET /openapi.json``).

The event schema is the project's own JSON Schema (``stream/schema/event-v1.json``), embedded, so
the description and the validator cannot drift apart. The tests validate every response of the
fuzz run against the response schemas below.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import orjson

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "stream" / "schema" / "event-v1.json"


@cache
def event_schema() -> dict[str, Any]:
    schema = orjson.loads(SCHEMA_PATH.read_bytes())
    schema.pop("$schema", None)
    schema.pop("$id", None)
    return schema


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(max_bytes: int) -> dict[str, Any]:
    """The whole description; ``max_bytes`` is the configured body limit (shown for 413)."""
    result = {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CallPulse event ingest",
            "version": "1.0.0",
            "description": "Push canonical v1 call-center events (docs/events.md) into CallPulse. "
            "See docs/sources.md.",
        },
        "paths": {
            "/events": {
                "post": {
                    "operationId": "postEvents",
                    "summary": "Publish events (one JSON event, a JSON array, or NDJSON lines)",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "description": f"At most {max_bytes} bytes. Events without `tenant` get the "
                        "token's tenant; an event naming another tenant makes the request 403.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Event"},
                                        {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                                    ]
                                }
                            },
                            "application/x-ndjson": {
                                "schema": {"type": "string", "description": "one JSON event per line"}
                            },
                        },
                    },
                    "responses": {
                        "202": {"description": "all events valid, published to Kafka", "content": result},
                        "400": {
                            "description": "some events rejected (the valid ones are published), "
                            "or the body holds no events",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "oneOf": [
                                            {"$ref": "#/components/schemas/Result"},
                                            {"$ref": "#/components/schemas/Error"},
                                        ]
                                    }
                                }
                            },
                        },
                        "401": _error("no bearer token, or an unknown one"),
                        "403": _error("an event names a tenant the token may not write"),
                        "413": _error(f"body larger than {max_bytes} bytes"),
                        "415": _error("Content-Type is not application/json nor application/x-ndjson"),
                        "503": _error("Kafka unavailable: retry later with the same events"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "responses": {"200": {"description": "ready"}, "503": {"description": "starting"}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Event": copy.deepcopy(event_schema()),
                "Result": {
                    "type": "object",
                    "required": ["accepted", "rejected"],
                    "properties": {
                        "accepted": {"type": "integer", "minimum": 0},
                        "rejected": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["index", "reason", "detail"],
                                "properties": {
                                    "index": {"type": "integer", "minimum": 0},
                                    "reason": {"type": "string"},
                                    "detail": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
            },
        },
    }
