"""Settings of the source adapters, read once from the environment (prefix ``CALLPULSE_``).

The names are those of the worker's settings (``CALLPULSE_KAFKA_BROKER``, ``CALLPULSE_EVENTS_TOPIC``,
``CALLPULSE_DEADLETTER_TOPIC``) plus the ingest endpoint's own. Command-line options override them.
Ingest tokens are secrets: :class:`IngestTokens` never shows them in ``repr`` or logs.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from stream.errors import ConfigError
from stream.events import TENANT_RE

DEFAULT_BROKER = "kafka://127.0.0.1:9092"
DEFAULT_EVENTS_TOPIC = "callpulse.events"
DEFAULT_DEADLETTER_TOPIC = "callpulse.deadletter"
#: Largest request body the ingest endpoint reads, bytes (1 MiB); larger -> 413.
DEFAULT_INGEST_MAX_BYTES = 1 << 20
MIN_TOKEN_LEN = 16


@dataclass(frozen=True)
class IngestTokens:
    """Bearer token -> tenant. Built from ``acme=token1,beta=token2``; tokens are never printed."""

    by_token: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, text: str, *, variable: str = "CALLPULSE_INGEST_TOKENS") -> IngestTokens:
        by_token: dict[str, str] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            tenant, sep, token = part.partition("=")
            tenant, token = tenant.strip(), token.strip()
            if not sep or not TENANT_RE.match(tenant):
                msg = f"{variable}: entry for tenant {tenant!r} must be 'tenant=token' with a valid tenant"
                raise ConfigError(msg)
            if len(token) < MIN_TOKEN_LEN or not token.isprintable() or " " in token:
                msg = f"{variable}: the token of tenant {tenant!r} must be >= {MIN_TOKEN_LEN} printable chars"
                raise ConfigError(msg)
            if token in by_token:
                msg = f"{variable}: tenants {by_token[token]!r} and {tenant!r} share a token"
                raise ConfigError(msg)
            by_token[token] = tenant
        return cls(by_token)

    def tenant_for(self, token: str) -> str | None:
        """The tenant of ``token``, compared in constant time against every configured token."""
        found = None
        for known, tenant in self.by_token.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = tenant
        return found

    @property
    def tenants(self) -> list[str]:
        return sorted(set(self.by_token.values()))


@dataclass(frozen=True)
class SourceSettings:
    """Everything the adapters read from the environment, validated once at start-up."""

    broker: str = DEFAULT_BROKER
    events_topic: str = DEFAULT_EVENTS_TOPIC
    deadletter_topic: str = DEFAULT_DEADLETTER_TOPIC
    ingest_tokens: IngestTokens = field(default_factory=IngestTokens)
    ingest_max_bytes: int = DEFAULT_INGEST_MAX_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SourceSettings:
        max_bytes_text = env.get("CALLPULSE_INGEST_MAX_BYTES", str(DEFAULT_INGEST_MAX_BYTES))
        try:
            max_bytes = int(max_bytes_text)
        except ValueError as e:
            msg = f"CALLPULSE_INGEST_MAX_BYTES must be an integer, got {max_bytes_text!r}"
            raise ConfigError(msg) from e
        if max_bytes < 1024:
            msg = f"CALLPULSE_INGEST_MAX_BYTES must be >= 1024, got {max_bytes}"
            raise ConfigError(msg)
        broker = env.get("CALLPULSE_KAFKA_BROKER", DEFAULT_BROKER)
        if not broker.startswith("kafka://"):
            msg = f"CALLPULSE_KAFKA_BROKER must look like kafka://host:port, got {broker!r}"
            raise ConfigError(msg)
        return cls(
            broker=broker,
            events_topic=env.get("CALLPULSE_EVENTS_TOPIC", DEFAULT_EVENTS_TOPIC),
            deadletter_topic=env.get("CALLPULSE_DEADLETTER_TOPIC", DEFAULT_DEADLETTER_TOPIC),
            ingest_tokens=IngestTokens.parse(env.get("CALLPULSE_INGEST_TOKENS", "")),
            ingest_max_bytes=max_bytes,
        )
