"""Settings of the source adapters: the worker's :class:`stream.config.Settings` (prefix
``CALLPULSE_``: ``CALLPULSE_KAFKA_BROKER``, ``CALLPULSE_EVENTS_TOPIC``, ``CALLPULSE_DEADLETTER_TOPIC``)
plus the ingest endpoint's own. Command-line options override them. Ingest tokens are secrets:
they stay in a ``SecretStr`` and :class:`IngestTokens` never shows them in ``repr`` or logs.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError

from stream.config import Settings, settings_error
from stream.errors import ConfigError
from stream.events import TENANT_RE

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
            if not sep or not TENANT_RE.fullmatch(tenant):
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


class SourceSettings(Settings):
    """The worker's settings plus the ingest endpoint's: one frozen object, read once at start-up.

    ``CALLPULSE_INGEST_TOKENS`` (``tenant=token,…``, a secret) and ``CALLPULSE_INGEST_MAX_BYTES``.
    """

    ingest_tokens: SecretStr = SecretStr("")
    ingest_max_bytes: Annotated[int, Field(ge=1024, le=64 << 20)] = DEFAULT_INGEST_MAX_BYTES

    @cached_property
    def tokens(self) -> IngestTokens:
        return IngestTokens.parse(self.ingest_tokens.get_secret_value())


def load_source_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> SourceSettings:
    """Build and check the settings (environment, or ``env`` in tests); errors name the variable."""
    values = dict(overrides)
    if env is not None:
        values = {k[len("CALLPULSE_") :].lower(): v for k, v in env.items() if k.startswith("CALLPULSE_")}
        values.update(overrides)
    try:
        settings = SourceSettings(**values)
    except ValidationError as e:
        raise settings_error(e) from e
    _ = settings.tokens  # fail at start, not at the first request
    return settings
