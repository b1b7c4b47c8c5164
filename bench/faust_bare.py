"""A bare Faust agent that only iterates (the baseline the full pipeline is compared with).

Run as ``python -m bench.faust_bare worker --without-web`` with BENCH_BROKER, BENCH_TOPIC,
BENCH_EXPECT (events to wait for) and BENCH_OUT (file for the JSON result) in the environment.
"""

from __future__ import annotations

import json
import os
import time

import faust
import orjson

BROKER = os.environ.get("BENCH_BROKER", "kafka://127.0.0.1:9092")
TOPIC = os.environ.get("BENCH_TOPIC", "bench")
EXPECT = int(os.environ.get("BENCH_EXPECT", "0"))
OUT = os.environ.get("BENCH_OUT", "/tmp/faust_bare.json")
DECODE = os.environ.get("BENCH_DECODE", "0") == "1"

app = faust.App(
    f"bare-{TOPIC}-{os.environ.get('BENCH_RUN', '0')}",  # a fresh consumer group per run
    broker=BROKER,
    value_serializer="raw",
    key_serializer="raw",
    broker_session_timeout=6,
    broker_heartbeat_interval=1.5,
    consumer_auto_offset_reset="earliest",
    store="memory://",
    datadir=f"/tmp/faust-bare-{os.getpid()}",
)
topic = app.topic(TOPIC)
state = {"n": 0, "first": 0.0}


@app.agent(topic)
async def bare(stream: faust.Stream) -> None:
    async for value in stream:
        if not state["n"]:
            state["first"] = time.perf_counter()
        if DECODE:
            doc = orjson.loads(value)
            state["n"] += len(doc) if isinstance(doc, list) else 1
        else:
            state["n"] += 1
        if state["n"] >= EXPECT:
            elapsed = time.perf_counter() - state["first"]
            with open(OUT, "w") as f:
                json.dump({"events": state["n"], "seconds": elapsed}, f)
            state["n"] = -(10**12)  # report once


if __name__ == "__main__":
    app.main()
