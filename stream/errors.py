"""CallPulse's small exception hierarchy: callers catch the family, messages say what to fix."""

from __future__ import annotations


class CallPulseError(Exception):
    """Base of every error CallPulse raises on purpose."""


class ConfigError(CallPulseError):
    """Settings or the YAML configuration are invalid; the message names the setting and value."""


class InvalidEvent(CallPulseError):
    """An input is not a valid v1 event. ``reason`` is a stable code, ``detail`` a sentence."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
