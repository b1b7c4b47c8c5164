"""Acceptance 2: the simulator agrees with queueing theory.

Formulas and sources:

* Erlang C (M/M/c, infinite patience), A. K. Erlang (1917); as stated in Gross, Shortle, Thompson
  & Harris, *Fundamentals of Queueing Theory*, 4th ed., Wiley 2008, §2.3 (eqs. 2.32-2.35): with
  offered load a = λ/μ < c,
      P(wait > 0) = C(c, a) = [a^c/c! · c/(c-a)] / [Σ_{k<c} a^k/k! + a^c/c! · c/(c-a)]
      P(wait ≤ t) = 1 - C(c, a) · exp(-(cμ - λ) t).
* Erlang A (M/M/c+M, exponential patience with rate θ), Garnett, Mandelbaum & Reiman, "Designing a
  call center with impatient customers", Manufacturing & Service Operations Management 4(3),
  2002, §2; Mandelbaum & Zeltyn, "The M/M/n+G queue: summary of performance measures" (2009).
  The number in system is a birth-death chain with birth rate λ and death rate
  min(n, c)·μ + max(n - c, 0)·θ; we solve its stationary distribution π numerically (truncated
  where π is negligible) and use rate conservation: abandonment rate = θ·E[queue length], so
      P(abandon) = θ · Σ_{n>c} (n - c) π_n / λ,     P(wait > 0) = Σ_{n≥c} π_n  (PASTA).

Each test counts ~100,000 simulated calls (≥ 20,000 required; after a two-hour warm-up, and
leaving out the last hour so every counted call has its outcome) with a flat profile and measures
the shares from the events. Queues near saturation decorrelate slowly, so 20,000 calls at 88 %
load scatter by ±0.05 around Erlang C whatever the simulator; at these loads and 100,000 calls,
eight seeds stayed within ±0.013 of theory (most within ±0.008), about 1 s per test.
"""

from __future__ import annotations

import math

import pytest

from simulators import generate
from simulators.config import center_from_dict

START = "2026-11-25T00:00:00+00:00"
START_MS = 1_795_564_800_000
WARMUP_MS = 2 * 3_600_000
SL_S = 20.0
TOLERANCE = 0.02
CALLS = 100_000  # calls to count per test


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c (Erlang C), a = λ/μ < c."""
    term, total = 1.0, 0.0
    for k in range(c):
        total += term
        term *= a / (k + 1)
    top = term * c / (c - a)  # a^c/c! · c/(c-a)
    return top / (total + top)


def erlang_c_service_level(c: int, lam: float, mu: float, t: float) -> float:
    return 1.0 - erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)


def erlang_a(c: int, lam: float, mu: float, theta: float) -> tuple[float, float]:
    """(P(abandon), P(wait > 0)) of M/M/c+M from the birth-death stationary distribution."""
    weights = [1.0]
    n = 0
    while True:
        n += 1
        death = min(n, c) * mu + max(n - c, 0) * theta
        weights.append(weights[-1] * lam / death)
        if n > c and weights[-1] < 1e-16 * sum(weights):
            break
    z = sum(weights)
    pi = [w / z for w in weights]
    mean_queue = sum((k - c) * p for k, p in enumerate(pi) if k > c)
    return theta * mean_queue / lam, sum(p for k, p in enumerate(pi) if k >= c)


def mmc_center(c: int, lam: float, mu: float, patience: object) -> object:
    """One queue, flat arrivals at λ per second, exponential talk 1/μ, no hold or wrap-up, c agents
    logged in around the clock, no breaks, no aux, no redials."""
    return center_from_dict(
        {
            "tenant": "theory",
            "timezone": "UTC",
            "profile": "flat",
            "day_factors": "flat",
            "queues": {
                "q": {
                    "calls_per_day": lam * 86_400,
                    "talk": {"dist": "exponential", "mean": 1 / mu},
                    "hold_prob": 0,
                    "acw": {"dist": "constant", "mean": 0},
                    "patience": patience,
                    "redial_prob": 0,
                }
            },
            "agents": [{"group": "a", "count": c, "skills": {"q": 1}, "shift": "00:00-24:00", "breaks": []}],
        }
    )


def measure(center: object, seed: int, hours: float) -> dict[str, float]:
    """Shares over calls offered between the warm-up and one hour before the end."""
    end_ms = START_MS + int(hours * 3_600_000)
    offered: dict[str, int] = {}
    n = waited = within = abandoned = 0
    for ev in generate(center, seed=seed, start=START, duration=f"{hours}h"):  # type: ignore[arg-type]
        t = ev["type"]
        if t == "call_offered":
            offered[ev["call_id"]] = ev["ts"]
        elif t in ("call_answered", "call_abandoned"):
            ts0 = offered.pop(ev["call_id"])
            if not START_MS + WARMUP_MS <= ts0 < end_ms - 3_600_000:
                continue
            n += 1
            waited += ev["wait_s"] > 0
            if t == "call_answered":
                within += ev["wait_s"] <= SL_S
            else:
                abandoned += 1
    return {"calls": n, "p_wait": waited / n, "sl": within / n, "abandon": abandoned / n}


@pytest.mark.parametrize(
    ("c", "lam", "mu", "seed"),
    [
        (5, 3.5 / 60, 1 / 60, 11),  # 5 agents at 70 % load, 60 s calls
        (10, 7.5 / 60, 1 / 60, 12),  # 10 agents at 75 % load
    ],
)
def test_erlang_c(c: int, lam: float, mu: float, seed: int) -> None:
    hours = CALLS / lam / 3600 + 3
    got = measure(mmc_center(c, lam, mu, "never"), seed, hours)
    p_wait = erlang_c(c, lam / mu)
    sl = erlang_c_service_level(c, lam, mu, SL_S)
    assert got["calls"] >= 20_000
    assert got["abandon"] == 0
    print(
        f"Erlang C c={c} a={lam / mu:.2f}: P(wait) {got['p_wait']:.4f} vs {p_wait:.4f}, "
        f"SL20 {got['sl']:.4f} vs {sl:.4f} over {got['calls']:,} calls"
    )
    assert abs(got["p_wait"] - p_wait) <= TOLERANCE, (got, p_wait)
    assert abs(got["sl"] - sl) <= TOLERANCE, (got, sl)


@pytest.mark.parametrize(
    ("c", "lam", "mu", "theta", "seed"),
    [
        (10, 10 / 60, 1 / 60, 1 / 120, 21),  # load 1.0: only patience keeps the queue finite
        (20, 18 / 200, 1 / 200, 1 / 90, 22),  # 90 % load, impatient callers
    ],
)
def test_erlang_a_abandonment(c: int, lam: float, mu: float, theta: float, seed: int) -> None:
    hours = CALLS / lam / 3600 + 3
    center = mmc_center(c, lam, mu, {"dist": "exponential", "mean": 1 / theta})
    got = measure(center, seed, hours)
    p_abandon, p_wait = erlang_a(c, lam, mu, theta)
    assert got["calls"] >= 20_000
    print(
        f"Erlang A c={c} a={lam / mu:.2f} θ={theta:.4f}: abandon {got['abandon']:.4f} vs {p_abandon:.4f}, "
        f"P(wait) {got['p_wait']:.4f} vs {p_wait:.4f} over {got['calls']:,} calls"
    )
    assert abs(got["abandon"] - p_abandon) <= TOLERANCE, (got, p_abandon)
    assert abs(got["p_wait"] - p_wait) <= TOLERANCE, (got, p_wait)


def test_formulas_agree_with_each_other() -> None:
    """Erlang A with vanishing impatience tends to Erlang C (a check on the test's own maths)."""
    p_ab, p_wait = erlang_a(10, 8 / 60, 1 / 60, 1e-9)
    assert p_ab < 1e-6
    assert p_wait == pytest.approx(erlang_c(10, 8.0), abs=1e-6)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = ρ
