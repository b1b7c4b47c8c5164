"""Random durations (seconds) described in YAML: talk, hold, wrap-up, patience, aux, redial delay.

A :class:`Dist` is a small frozen description (``{dist: lognormal, mean: 240, cv: 0.8}``);
:func:`sampler` turns it into a zero-argument function drawing from a given ``random.Random`` so
that each purpose keeps its own deterministic stream. Means are seconds; ``cv`` is the
coefficient of variation (standard deviation / mean), which is how call-center analysts quote
the spread of handle times.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stream.errors import ConfigError

KINDS = ("lognormal", "exponential", "gamma", "constant", "uniform", "never")


@dataclass(frozen=True, slots=True)
class Dist:
    """A non-negative duration distribution, in seconds.

    ``never`` is an infinite duration (used for patience: a caller who never hangs up).
    ``uniform`` draws between ``low`` and ``high``; the others are set by ``mean`` and ``cv``.
    """

    kind: str = "exponential"
    mean: float = 0.0
    cv: float = 1.0
    low: float = 0.0
    high: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            msg = f"distribution {self.kind!r} is not one of {', '.join(KINDS)}"
            raise ConfigError(msg)
        if not math.isfinite(self.mean) or self.mean < 0:
            msg = f"{self.kind} mean must be a finite number of seconds >= 0, got {self.mean!r}"
            raise ConfigError(msg)
        if self.kind in ("lognormal", "gamma") and not (self.cv > 0 and math.isfinite(self.cv)):
            msg = f"{self.kind} cv must be > 0, got {self.cv!r}"
            raise ConfigError(msg)
        if self.kind == "uniform" and not 0 <= self.low <= self.high:
            msg = f"uniform needs 0 <= low <= high, got low={self.low!r} high={self.high!r}"
            raise ConfigError(msg)

    @property
    def expected(self) -> float:
        """The mean in seconds (``inf`` for ``never``)."""
        if self.kind == "never":
            return math.inf
        if self.kind == "uniform":
            return (self.low + self.high) / 2
        return self.mean

    def scaled(self, factor: float) -> Dist:
        """The same shape with every duration multiplied by ``factor``."""
        return Dist(self.kind, self.mean * factor, self.cv, self.low * factor, self.high * factor)

    @classmethod
    def parse(cls, value: Any, *, default_kind: str, where: str) -> Dist:
        """From YAML: a mapping ``{dist, mean, cv, low, high}``, a number (mean) or ``never``."""
        if value is None or value == "never" or value is False:
            return cls("never")
        if isinstance(value, bool):
            msg = f"{where}: expected a distribution, got {value!r}"
            raise ConfigError(msg)
        if isinstance(value, int | float):
            return cls(default_kind, float(value))
        if not isinstance(value, Mapping):
            msg = f"{where}: expected a mapping like {{dist: lognormal, mean: 240, cv: 0.8}}, got {value!r}"
            raise ConfigError(msg)
        unknown = set(value) - {"dist", "mean", "cv", "low", "high"}
        if unknown:
            msg = f"{where}: unknown keys {sorted(unknown)}"
            raise ConfigError(msg)
        try:
            return cls(
                str(value.get("dist", default_kind)),
                float(value.get("mean", 0.0)),
                float(value.get("cv", 1.0)),
                float(value.get("low", 0.0)),
                float(value.get("high", 0.0)),
            )
        except (TypeError, ValueError) as e:
            msg = f"{where}: {e}"
            raise ConfigError(msg) from e
        except ConfigError as e:
            msg = f"{where}: {e}"
            raise ConfigError(msg) from e


def sampler(dist: Dist, rng: random.Random) -> Callable[[], float]:
    """A function drawing one duration in seconds (``inf`` for ``never``)."""
    kind, mean = dist.kind, dist.mean
    if kind == "never":
        return lambda: math.inf
    if kind == "constant" or mean == 0.0 and kind != "uniform":
        return lambda: mean
    if kind == "exponential":
        expo, rate = rng.expovariate, 1.0 / mean
        return lambda: expo(rate)
    if kind == "lognormal":
        sigma2 = math.log1p(dist.cv * dist.cv)
        mu, sigma = math.log(mean) - sigma2 / 2, math.sqrt(sigma2)
        logn = rng.lognormvariate
        return lambda: logn(mu, sigma)
    if kind == "gamma":
        shape = 1.0 / (dist.cv * dist.cv)
        scale = mean / shape
        gam = rng.gammavariate
        return lambda: gam(shape, scale)
    low, high = dist.low, dist.high
    uni = rng.uniform
    return lambda: uni(low, high)
