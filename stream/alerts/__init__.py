"""Alert rules that post to chat: one message when a rule fires, one on recovery, no storms.

The parts, in the order data flows through them (docs/alerts.md explains the whole):

* :mod:`stream.alerts.rules` — the YAML rules file: model, validation with line numbers, reload;
* :mod:`stream.alerts.evaluate` — pure: a rule against a snapshot, and the state machine
  ok → pending → firing → resolved with ``for``, cooldown and minimum volume;
* :mod:`stream.alerts.state` — Redis: the evaluator lock, atomic state transitions (Lua, with
  the notification enqueued in the same script), history, the outbox;
* :mod:`stream.alerts.deliver` — Apprise delivery from the outbox in worker threads, with
  retries, backoff and recorded failures;
* :mod:`stream.alerts.messages` — zh/en texts;
* :mod:`stream.alerts.runner` — wiring into the Faust worker (timers) or a standalone loop;
* :mod:`stream.alerts.cli` — ``python -m stream alerts list|test|check|run``.
"""
