"""The discrete-event core: calls, queues and agents on one heap of timed actions.

Time is integer epoch milliseconds, so every emitted ``ts`` and every duration agree exactly
(``wait_s`` is the difference of two ``ts`` divided by 1000). Actions are popped in time order
(ties in the order they were scheduled), and each one emits its events at its own time, so the
output is in global time order and every call's events follow each other naturally.

Model (the textbook one, see docs/simulators.md): Poisson arrivals with a piecewise-constant rate
per queue; a call goes to the longest-idle agent whose skill priority for that queue is best;
otherwise it waits FIFO until an agent frees up, its caller's patience runs out (abandon), or the
queue's overflow timer sends it on. A freed agent takes the oldest call among its best-priority
queues (a higher queue ``priority`` first). Talk, hold and wrap-up are drawn per answer.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import deque
from collections.abc import Iterator
from datetime import timedelta
from heapq import heappop, heappush
from itertools import count

from simulators.calendar import at_local, local_date, rate_segments
from simulators.config import CenterConfig, QueueConfig
from simulators.distributions import sampler
from simulators.roster import AgentSpec, agents_of, plan_day

# Action kinds on the heap (ints: cheap to compare and dispatch).
ARRIVE, ABANDON, OVERFLOW, TALK_END, WRAP_END = 0, 1, 2, 3, 4
LOGIN, LOGOUT, BREAK, AUX_END, AUX_RANDOM, REDIAL, NEW_DAY = 5, 6, 7, 8, 9, 10, 11
# Agent states (the wire names of docs/events.md).
LOGGED_OUT, AVAILABLE, ON_CALL, WRAP_UP, AUX = "logged_out", "available", "on_call", "wrap_up", "aux"
# Pending requests of a busy agent, by rank: a later log-out beats a break beats a random aux.
RANK_AUX, RANK_BREAK, RANK_LOGOUT = 1, 2, 3
#: A call overflows at most this many times (protects against A -> B -> A loops).
MAX_HOPS = 3


class Call:
    __slots__ = ("id", "caller", "entry", "queue", "offered", "deadline", "token", "hops")

    def __init__(self, call_id: str, caller: str, entry: Queue) -> None:
        self.id, self.caller, self.entry, self.queue = call_id, caller, entry, entry
        self.offered = 0
        self.deadline = math.inf  # absolute ms when the caller hangs up if still waiting
        self.token = 0  # bumped when the call leaves a queue: stale waits and timers are skipped
        self.hops = 0


class Agent:
    __slots__ = ("id", "spec", "state", "token", "aux_token", "chain", "session", "pending", "call",
                 "queue", "talk_ms", "hold_ms", "factor", "tiers", "idle", "queue_names")  # fmt: skip

    def __init__(self, spec: AgentSpec) -> None:
        self.id, self.spec = spec.agent_id, spec
        self.state = LOGGED_OUT
        self.token = 0  # bumped when leaving "available": stale idle-list entries are skipped
        self.aux_token = 0
        self.chain = 0  # random-aux chain of the current session
        self.session = -1
        self.pending: tuple[int, str, int] | None = None
        self.call: Call | None = None
        self.queue: Queue | None = None
        self.talk_ms = self.hold_ms = 0
        self.factor = 1.0
        self.tiers: list[list[Queue]] = []
        self.idle: list[deque[tuple[Agent, int]]] = []
        self.queue_names = list(spec.queues)


class Queue:
    __slots__ = ("cfg", "name", "priority", "waiting", "idle", "talk", "hold", "acw", "patience", "redial",
                 "hold_prob", "overflow_ms", "overflow_to", "transfer_prob", "transfer_to", "transfer_w",
                 "redial_prob")  # fmt: skip

    def __init__(self, cfg: QueueConfig, rng: random.Random) -> None:
        self.cfg, self.name, self.priority = cfg, cfg.name, cfg.priority
        self.waiting: deque[tuple[Call, int]] = deque()
        self.idle: list[tuple[int, deque[tuple[Agent, int]]]] = []  # (skill priority, agents), best first
        self.talk, self.hold, self.acw = sampler(cfg.talk, rng), sampler(cfg.hold, rng), sampler(cfg.acw, rng)
        self.patience, self.redial = sampler(cfg.patience, rng), sampler(cfg.redial_delay, rng)
        self.hold_prob, self.redial_prob, self.transfer_prob = (
            cfg.hold_prob,
            cfg.redial_prob,
            cfg.transfer_prob,
        )
        self.overflow_ms = None if cfg.overflow_after_s is None else round(cfg.overflow_after_s * 1000)
        self.overflow_to: Queue | None = None
        self.transfer_to: list[Queue] = []
        self.transfer_w: list[float] = [w for _, w in cfg.transfer_to]

    def head(self) -> Call | None:
        """The oldest call still waiting here (drops entries of calls that left)."""
        w = self.waiting
        while w:
            call, tok = w[0]
            if call.token == tok:
                return call
            w.popleft()
        return None


def run_tag(seed: int, start_ms: int, tenant: str) -> str:
    """Short id prefix for one run: ids are deterministic for a seed and start, unique across runs."""
    return hashlib.blake2b(f"{seed}|{start_ms}|{tenant}".encode(), digest_size=4).hexdigest()


class Simulation:
    """One simulated center from ``start_ms`` for ``duration_ms`` (None: forever).

    Iterate :meth:`events` to get wire-form event dicts in time order. ``stats`` counts what has
    happened so far (offered, answered, abandoned, overflowed, waiting) for progress displays.
    """

    def __init__(self, center: CenterConfig, seed: int, start_ms: int, duration_ms: int | None) -> None:
        self.center, self.seed, self.start = center, seed, start_ms
        self.until = math.inf if duration_ms is None else start_ms + duration_ms
        self.tz = center.tz
        self.tenant = center.tenant
        self.tag = run_tag(seed, start_ms, center.tenant)
        base = f"{seed}"  # not the tenant: renaming a center must not change its traffic
        self.rng_service = random.Random(f"{base}|service")  # noqa: S311 - simulation, not crypto
        self.rng_route = random.Random(f"{base}|route")  # noqa: S311 - simulation, not crypto
        self.rng_caller = random.Random(f"{base}|caller")  # noqa: S311 - simulation, not crypto
        self.rng_roster = random.Random(f"{base}|roster")  # noqa: S311 - simulation, not crypto
        self.rng_aux = random.Random(f"{base}|aux")  # noqa: S311 - simulation, not crypto
        self.queues = {q.name: Queue(q, self.rng_service) for q in center.queues}
        for q in self.queues.values():
            q.overflow_to = self.queues[q.cfg.overflow_to] if q.cfg.overflow_to else None
            q.transfer_to = [self.queues[n] for n, _ in q.cfg.transfer_to]
        self.agents = [Agent(s) for s in agents_of(center)]
        for a in self.agents:
            self._wire_agent(a)
        self.aux_length = {g.name: sampler(g.aux_length, self.rng_aux) for g in center.agents}
        self.staffing = tuple(e for e in center.effects if e.kind == "staffing")
        self.volume = tuple(e for e in center.effects if e.kind == "volume")
        self.timed: list[tuple[str, int, int, float, tuple[str, ...] | None]] = []  # handle_time, patience
        self.heap: list[tuple[int, int, int, object, object]] = []
        self.seq = count()
        self.n = 0
        self.n_calls = 0
        self.out: list[dict] = []
        self.stats = {"offered": 0, "answered": 0, "abandoned": 0, "overflowed": 0, "waiting": 0}

    def _wire_agent(self, a: Agent) -> None:
        by_prio: dict[int, list[Queue]] = {}
        for qname, prio in a.spec.group.skills:
            q = self.queues[qname]
            by_prio.setdefault(prio, []).append(q)
            found = [dq for p, dq in q.idle if p == prio]
            if found:
                idle = found[0]
            else:
                idle = deque()
                q.idle.append((prio, idle))
                q.idle.sort(key=lambda x: x[0])
            a.idle.append(idle)
        a.tiers = [by_prio[p] for p in sorted(by_prio)]

    # --- scheduling -------------------------------------------------------------------------

    def _at(self, t: int, kind: int, a: object = None, b: object = None) -> None:
        heappush(self.heap, (t, next(self.seq), kind, a, b))

    def _arrivals(self, q: Queue) -> Iterator[int]:
        """Arrival instants (ms) of a non-homogeneous Poisson process: exponential gaps, restarted
        at each piece's edge (exact for a piecewise-constant rate, by memorylessness)."""
        rng = random.Random(f"{self.seed}|arrivals|{q.name}")  # noqa: S311 - simulation, not crypto
        expo = rng.expovariate
        windows = [(e.start_min, e.end_min, e.factor) for e in self.volume if e.applies(q.name)]
        profile = q.cfg.profile or self.center.profile
        t = float(self.start)
        for a, b, rate in rate_segments(
            q.cfg.calls_per_day, profile, self.center.day_factors, windows, self.tz, self.start
        ):
            if a >= self.until:
                return
            t = max(t, float(a))
            if rate <= 0.0:
                continue
            while True:
                t += expo(rate)
                if t >= b:
                    t = float(b)
                    break
                yield int(t)

    def _plan(self, day) -> None:  # noqa: ANN001 - a date
        """Schedule every agent's sessions and breaks for shifts starting on local ``day``."""
        for a in self.agents:
            plan = plan_day(a.spec, day, self.tz, self.staffing, self.rng_roster, str(self.seed))
            if plan is None:
                continue
            for login, logout in plan.sessions:
                if logout <= self.start:
                    continue
                sid = next(self.seq)
                self._at(max(login, self.start), LOGIN, a, sid)
                self._at(logout, LOGOUT, a, sid)
            for at, reason, length in plan.breaks:
                if at >= self.start:
                    self._at(at, BREAK, a, (reason, length))
        for e in self.center.effects:
            if e.kind in ("handle_time", "patience"):
                w0, w1 = at_local(day, e.start_min, self.tz), at_local(day, e.end_min, self.tz)
                self.timed.append((e.kind, w0, w1, e.factor, e.queues))

    def _factor(self, kind: str, q: Queue, t: int) -> float:
        f = 1.0
        for k, w0, w1, factor, queues in self.timed:
            if k == kind and w0 <= t < w1 and (queues is None or q.name in queues):
                f *= factor
        return f

    # --- events out ---------------------------------------------------------------------------

    def _ev(self, t: int, etype: str) -> dict:
        self.n += 1
        ev = {"event_id": f"{self.tag}-{self.n}", "type": etype, "ts": t, "tenant": self.tenant}
        self.out.append(ev)
        return ev

    def _agent_state(self, t: int, a: Agent, state: str, reason: str | None = None) -> None:
        a.state = state
        ev = self._ev(t, "agent_state")
        ev["agent_id"] = a.id
        ev["state"] = state
        if reason is not None:
            ev["reason"] = reason
        ev["queues"] = a.queue_names

    # --- calls --------------------------------------------------------------------------------

    def _new_call(self, q: Queue, caller: str | None = None) -> Call:
        self.n_calls += 1
        if caller is None:
            r = self.rng_caller
            caller = f"1{r.randint(30, 99)}{r.randrange(100_000_000):08d}"
        return Call(f"{self.tag}-c{self.n_calls}", caller, q)

    def _offer(self, t: int, call: Call, q: Queue) -> None:
        call.queue, call.offered = q, t
        self.stats["offered"] += 1
        ev = self._ev(t, "call_offered")
        ev["call_id"] = call.id
        ev["queue"] = q.name
        ev["caller"] = call.caller
        if q.priority:
            ev["priority"] = q.priority
        for _, dq in q.idle:
            while dq:
                agent, tok = dq.popleft()
                if agent.token == tok:
                    self._answer(t, agent, call, q)
                    return
        q.waiting.append((call, call.token))
        self.stats["waiting"] += 1
        if call.deadline < self.until:
            self._at(max(t, int(call.deadline)), ABANDON, call, call.token)
        if q.overflow_ms is not None and call.hops < MAX_HOPS:
            self._at(t + q.overflow_ms, OVERFLOW, call, call.token)

    def _patience(self, t: int, q: Queue) -> float:
        p = q.patience()
        if p != math.inf and self.timed:
            p *= self._factor("patience", q, t)
        return t + p * 1000.0

    def _answer(self, t: int, agent: Agent, call: Call, q: Queue) -> None:
        call.token += 1
        agent.token += 1
        self.stats["answered"] += 1
        ev = self._ev(t, "call_answered")
        ev["call_id"] = call.id
        ev["queue"] = q.name
        ev["agent_id"] = agent.id
        ev["wait_s"] = (t - call.offered) / 1000
        self._agent_state(t, agent, ON_CALL)
        f = self._factor("handle_time", q, t) if self.timed else 1.0
        agent.factor = f
        agent.call, agent.queue = call, q
        agent.talk_ms = round(q.talk() * 1000.0 * f)
        agent.hold_ms = round(q.hold() * 1000.0 * f) if self.rng_route.random() < q.hold_prob else 0
        self._at(t + agent.talk_ms + agent.hold_ms, TALK_END, agent)

    def _leave_queue(self, t: int, call: Call, etype: str) -> dict:
        call.token += 1
        self.stats["waiting"] -= 1
        ev = self._ev(t, etype)
        ev["call_id"] = call.id
        ev["queue"] = call.queue.name
        ev["wait_s"] = (t - call.offered) / 1000
        return ev

    def _talk_end(self, t: int, agent: Agent) -> None:
        call, q = agent.call, agent.queue
        assert call is not None and q is not None
        ev = self._ev(t, "call_ended")
        ev["call_id"] = call.id
        ev["queue"] = q.name
        ev["agent_id"] = agent.id
        ev["talk_s"] = agent.talk_ms / 1000
        ev["hold_s"] = agent.hold_ms / 1000
        target = None
        if q.transfer_to and self.rng_route.random() < q.transfer_prob:
            target = self.rng_route.choices(q.transfer_to, q.transfer_w)[0]
            ev["transferred_to"] = target.name
        self._agent_state(t, agent, WRAP_UP)
        if target is not None:
            call.deadline = self._patience(t, target)
            call.hops = 0
            self._offer(t, call, target)
        acw = round(q.acw() * 1000.0 * agent.factor)
        self._at(t + acw, WRAP_END, agent, acw)

    def _wrap_end(self, t: int, agent: Agent, acw: int) -> None:
        call, q = agent.call, agent.queue
        assert call is not None and q is not None
        ev = self._ev(t, "wrapup_ended")
        ev["call_id"] = call.id
        ev["queue"] = q.name
        ev["agent_id"] = agent.id
        ev["acw_s"] = acw / 1000
        agent.call = agent.queue = None
        pending, agent.pending = agent.pending, None
        if pending is None:
            self._available(t, agent)
        elif pending[0] == RANK_LOGOUT:
            self._logged_out(t, agent)
        else:
            self._aux(t, agent, pending[1], pending[2])

    # --- agents -------------------------------------------------------------------------------

    def _available(self, t: int, agent: Agent) -> None:
        """The agent is free: take the best waiting call, or join the idle lists."""
        self._agent_state(t, agent, AVAILABLE)
        for tier in agent.tiers:
            best: Call | None = None
            best_q: Queue | None = None
            for q in tier:
                head = q.head()
                if head is not None and (
                    best is None
                    or q.priority > best_q.priority  # type: ignore[union-attr]
                    or (q.priority == best_q.priority and head.offered < best.offered)  # type: ignore[union-attr]
                ):
                    best, best_q = head, q
            if best is not None and best_q is not None:
                best_q.waiting.popleft()
                self.stats["waiting"] -= 1
                self._answer(t, agent, best, best_q)
                return
        entry = (agent, agent.token)
        for dq in agent.idle:
            dq.append(entry)

    def _aux(self, t: int, agent: Agent, reason: str, length: int) -> None:
        agent.token += 1
        agent.aux_token += 1
        self._agent_state(t, agent, AUX, reason)
        self._at(t + length, AUX_END, agent, agent.aux_token)

    def _logged_out(self, t: int, agent: Agent) -> None:
        agent.token += 1
        agent.aux_token += 1
        agent.chain += 1
        agent.session = -1
        self._agent_state(t, agent, LOGGED_OUT)

    def _request_aux(self, t: int, agent: Agent, rank: int, reason: str, length: int) -> None:
        state = agent.state
        if state == AVAILABLE:
            self._aux(t, agent, reason, length)
        elif state in (ON_CALL, WRAP_UP):
            if agent.pending is None or agent.pending[0] < rank:
                agent.pending = (rank, reason, length)
        elif state == AUX and rank == RANK_BREAK:
            self._aux(t, agent, reason, length)  # a scheduled break takes over a personal aux

    def _login(self, t: int, agent: Agent, sid: int) -> None:
        if agent.session != -1:  # already in a session (overlapping plans): extend it
            agent.session = sid
            return
        agent.session = sid
        agent.chain += 1
        if agent.state in (ON_CALL, WRAP_UP):  # still finishing a call from the last session
            agent.pending = None
        else:
            self._available(t, agent)
        self._next_random_aux(t, agent)

    def _next_random_aux(self, t: int, agent: Agent) -> None:
        rate = agent.spec.group.aux_per_hour
        if rate > 0:
            at = t + self.rng_aux.expovariate(rate) * 3_600_000
            if at < self.until:
                self._at(round(at), AUX_RANDOM, agent, agent.chain)

    def _random_aux(self, t: int, agent: Agent, chain: int) -> None:
        if chain != agent.chain or agent.session == -1:
            return
        g = agent.spec.group
        reasons = g.aux_reasons
        reason = self.rng_aux.choices([r for r, _ in reasons], [w for _, w in reasons])[0]
        length = round(self.aux_length[g.name]() * 1000)
        self._request_aux(t, agent, RANK_AUX, reason, length)
        self._next_random_aux(t, agent)

    def _logout(self, t: int, agent: Agent, sid: int) -> None:
        if agent.session != sid:
            return
        if agent.state in (ON_CALL, WRAP_UP):
            agent.pending = (RANK_LOGOUT, "", 0)
            agent.session = -1
            agent.chain += 1
        elif agent.state != LOGGED_OUT:
            self._logged_out(t, agent)

    # --- the loop -----------------------------------------------------------------------------

    def events(self) -> Iterator[dict]:
        """Wire-form events (docs/events.md, ``ts`` in epoch ms) in time order."""
        first = local_date(self.start, self.tz)
        self._plan(first - timedelta(days=1))  # night shifts that started yesterday
        self._plan(first)
        tomorrow = first + timedelta(days=1)
        self._at(at_local(tomorrow, 0, self.tz), NEW_DAY, None, tomorrow)
        for q in self.queues.values():
            gen = self._arrivals(q)
            t0 = next(gen, None)
            if t0 is not None:
                self._at(t0, ARRIVE, q, gen)
        heap, until = self.heap, self.until
        while heap:
            t, _, kind, a, b = heappop(heap)
            if t >= until:
                break
            if kind == ARRIVE:
                call = self._new_call(a)  # type: ignore[arg-type]
                call.deadline = self._patience(t, a)  # type: ignore[arg-type]
                self._offer(t, call, a)  # type: ignore[arg-type]
                nxt = next(b, None)  # type: ignore[call-overload]
                if nxt is not None:
                    self._at(nxt, ARRIVE, a, b)
            elif kind == TALK_END:
                self._talk_end(t, a)  # type: ignore[arg-type]
            elif kind == WRAP_END:
                self._wrap_end(t, a, b)  # type: ignore[arg-type]
            elif kind == ABANDON:
                self._abandon(t, a, b)  # type: ignore[arg-type]
            elif kind == OVERFLOW:
                self._overflow(t, a, b)  # type: ignore[arg-type]
            else:
                self._agent_action(t, kind, a, b)
            if self.out:
                out, self.out = self.out, []
                yield from out

    def _abandon(self, t: int, call: Call, tok: int) -> None:
        if call.token != tok:
            return
        self.stats["abandoned"] += 1
        q = call.queue
        self._leave_queue(t, call, "call_abandoned")
        if q.redial_prob and self.rng_route.random() < q.redial_prob:
            at = t + max(1.0, call.entry.redial() * 1000)
            if at < self.until:
                self._at(round(at), REDIAL, call.entry, call.caller)

    def _overflow(self, t: int, call: Call, tok: int) -> None:
        if call.token != tok:
            return
        self.stats["overflowed"] += 1
        target = call.queue.overflow_to
        ev = self._leave_queue(t, call, "call_overflowed")
        if target is not None:
            ev["to_queue"] = target.name
            call.hops += 1
            self._offer(t, call, target)

    def _agent_action(self, t: int, kind: int, a: object, b: object) -> None:
        if kind == LOGIN:
            self._login(t, a, b)  # type: ignore[arg-type]
        elif kind == LOGOUT:
            self._logout(t, a, b)  # type: ignore[arg-type]
        elif kind == BREAK:
            if a.session != -1:  # type: ignore[attr-defined]
                reason, length = b  # type: ignore[misc]
                self._request_aux(t, a, RANK_BREAK, reason, length)  # type: ignore[arg-type]
        elif kind == AUX_END:
            if a.aux_token == b and a.state == AUX:  # type: ignore[attr-defined]
                self._available(t, a)  # type: ignore[arg-type]
        elif kind == AUX_RANDOM:
            self._random_aux(t, a, b)  # type: ignore[arg-type]
        elif kind == REDIAL:
            call = self._new_call(a, b)  # type: ignore[arg-type]
            call.deadline = self._patience(t, a)  # type: ignore[arg-type]
            self._offer(t, call, a)  # type: ignore[arg-type]
        elif kind == NEW_DAY:
            self._plan(b)
            self.timed = [w for w in self.timed if w[2] > t]
            nxt = b + timedelta(days=1)  # type: ignore[operator]
            self._at(at_local(nxt, 0, self.tz), NEW_DAY, None, nxt)
