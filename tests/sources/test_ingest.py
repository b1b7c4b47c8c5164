"""HTTP ingest: each status code, events in Kafka before 202, a fuzz run against the OpenAPI description."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sources.ingest import create_app
from sources.settings import IngestTokens
from stream.embedded import Proc
from stream.publish import EventPublisher
from stream.topics import ensure_topics
from tests.sources.helpers import AppClient, read_topic

ACME = "acme-token-0123456789"
BETA = "beta-token-9876543210"
TOKENS = IngestTokens.parse(f"acme={ACME},beta={BETA}")
LIMIT = 16 * 1024
T0 = 1795338000_000


def ev(i: int, **over: Any) -> dict[str, Any]:
    out = {
        "event_id": f"http-{i}",
        "type": "call_offered",
        "ts": T0 + i,
        "call_id": f"c{i}",
        "queue": "sales",
    }
    out.update(over)
    return out


def auth(token: str = ACME) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def topic(tansu: Proc) -> str:
    import uuid

    name = f"ingest-{uuid.uuid4().hex[:8]}"
    asyncio.run(ensure_topics(f"kafka://127.0.0.1:{tansu.port}", {name: 2}))
    return name


@pytest.fixture(scope="module")
def client(tansu: Proc, topic: str) -> Iterator[AppClient]:
    broker = f"kafka://127.0.0.1:{tansu.port}"
    app = create_app(TOKENS, lambda: EventPublisher(broker, topic), max_bytes=LIMIT)
    with AppClient(app) as c:
        yield c


def test_202_and_events_in_kafka_before_the_answer(client: AppClient, tansu: Proc, topic: str) -> None:
    events = [ev(i) for i in range(3)]
    r = client.post("/events", content=orjson.dumps(events), headers=auth())
    assert r.status_code == 202 and r.json() == {"accepted": 3, "rejected": []}
    want = {f"http-{i}" for i in range(3)}
    got = asyncio.run(
        read_topic(f"kafka://127.0.0.1:{tansu.port}", topic, lambda vs: want <= {v["event_id"] for v in vs})
    )
    ids = {e["event_id"]: e for e in got}
    assert {f"http-{i}" for i in range(3)} <= set(ids)
    assert ids["http-0"]["tenant"] == "acme"  # the token's tenant was filled in


def test_202_single_object_and_ndjson(client: AppClient) -> None:
    r = client.post("/events", content=orjson.dumps(ev(10)), headers=auth())
    assert (r.status_code, r.json()["accepted"]) == (202, 1)
    body = b"\n".join(orjson.dumps(ev(i, tenant="acme")) for i in range(11, 15)) + b"\n\n"
    r = client.post(
        "/events", content=body, headers={**auth(), "Content-Type": "application/x-ndjson; charset=utf-8"}
    )
    assert (r.status_code, r.json()["accepted"]) == (202, 4)


def test_400_lists_each_rejected_event_with_index_and_reason(client: AppClient) -> None:
    events = [
        ev(20),
        ev(21, ts="2026-11-22 09:00:00"),
        {"type": "call_offered"},
        ev(23, type="call_answered"),
        7,
    ]
    r = client.post("/events", content=orjson.dumps(events), headers=auth())
    assert r.status_code == 400
    body = r.json()
    assert body["accepted"] == 1
    assert [(x["index"], x["reason"]) for x in body["rejected"]] == [
        (1, "bad_timestamp"),
        (2, "missing_field"),
        (3, "missing_field"),
        (4, "not_an_object"),
    ]
    nd = b'{"event_id":"x","type":"call_offered","ts":1795338000000,"call_id":"c","queue":"q"}\n{oops\n'
    r = client.post("/events", content=nd, headers={**auth(), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and r.json()["rejected"][0]["index"] == 1
    assert r.json()["rejected"][0]["reason"] == "invalid_json"
    assert client.post("/events", content=b"{not json", headers=auth()).status_code == 400
    assert client.post("/events", content=b"[]", headers=auth()).json() == {"error": "no events in the body"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YWNtZTp4"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token-of-anyone"},
        {"Authorization": f"Bearer {ACME}x"},
    ],
)
def test_401_without_a_valid_token(client: AppClient, headers: dict[str, str]) -> None:
    r = client.post(
        "/events", content=orjson.dumps(ev(30)), headers={"Content-Type": "application/json", **headers}
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert ACME not in r.text


def test_403_for_another_tenants_events(client: AppClient) -> None:
    r = client.post("/events", content=orjson.dumps([ev(40), ev(41, tenant="beta")]), headers=auth())
    assert r.status_code == 403 and "beta" in r.json()["error"]
    r = client.post("/events", content=orjson.dumps([ev(42, tenant="beta")]), headers=auth(BETA))
    assert r.status_code == 202


def test_413_above_the_size_limit(client: AppClient) -> None:
    big = [ev(i, caller="x" * 200) for i in range(LIMIT // 200)]
    r = client.post("/events", content=orjson.dumps(big), headers=auth())
    assert r.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(LIMIT // 1000 + 2):
            yield b" " * 1000

    r = client.post("/events", content=chunks(), headers=auth())
    assert r.status_code == 413


def test_415_and_openapi_and_health(client: AppClient) -> None:
    r = client.post("/events", content=b"a,b", headers={**auth(), "Content-Type": "text/csv"})
    assert r.status_code == 415
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1") and "/events" in spec["paths"]
    assert set(spec["paths"]["/events"]["post"]["responses"]) >= {"202", "400", "401", "403", "413"}
    assert client.get("/healthz").json() == {"ok": True}


class BrokenPublisher:
    async def send_many(self, events: Sequence[Mapping[str, Any]], *, batch: int = 1) -> int:
        raise ConnectionError("broker down")


@contextlib.asynccontextmanager
async def broken() -> AsyncIterator[BrokenPublisher]:
    yield BrokenPublisher()


def test_503_when_kafka_is_down() -> None:
    with AppClient(create_app(TOKENS, broken, max_bytes=LIMIT)) as c:
        r = c.post("/events", content=orjson.dumps(ev(50)), headers=auth())
    assert r.status_code == 503 and r.headers["retry-after"]


# -- fuzz: random requests, every answer must be one the OpenAPI description lists, never a 500 ----

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12)
ints = st.integers(-(2**63), 2**63 - 1)  # what JSON encoders write
scalars = st.one_of(st.none(), st.booleans(), ints, st.floats(allow_nan=False), names)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(names, inner, max_size=4)),
    max_leaves=12,
)
event_types = st.sampled_from(
    [
        "call_offered",
        "call_answered",
        "call_abandoned",
        "call_overflowed",
        "call_ended",
        "wrapup_ended",
        "agent_state",
        "bogus",
    ]
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly-valid events with random damage: the interesting border of the schema."""
    base: dict[str, Any] = {
        "event_id": draw(st.one_of(st.text(min_size=1, max_size=20), ints)),
        "type": draw(event_types),
        "ts": draw(
            st.one_of(st.integers(T0 - 10**12, T0 + 10**12), st.just("2026-11-22T09:00:00+08:00"), names)
        ),
        "call_id": draw(st.one_of(st.text(min_size=1, max_size=10), st.none())),
        "queue": draw(st.one_of(st.sampled_from(["sales", ""]), ints)),
        "agent_id": "a1",
        "wait_s": draw(
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**6), names)
        ),
        "talk_s": 10,
        "acw_s": 1,
        "state": draw(st.sampled_from(["available", "aux", "sleeping"])),
    }
    if draw(st.booleans()):
        base["tenant"] = draw(st.sampled_from(["acme", "beta", "bad tenant", 5]))
    drop = draw(st.lists(st.sampled_from(sorted(base)), max_size=3))
    return {k: v for k, v in base.items() if k not in drop}


REQUIRED = {
    "call_offered": {},
    "call_answered": {"agent_id": "a1", "wait_s": 3},
    "call_abandoned": {"wait_s": 9.5},
    "call_overflowed": {"wait_s": 60},
    "call_ended": {"agent_id": "a1", "talk_s": 100},
    "wrapup_ended": {"agent_id": "a1", "acw_s": 10},
}


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """Events that satisfy the v1 schema, of every type."""
    etype = draw(st.sampled_from([*REQUIRED, "agent_state"]))
    out: dict[str, Any] = {
        "event_id": draw(
            st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)
        ),
        "type": etype,
        "ts": draw(
            st.one_of(
                st.integers(946_684_800_000, 4_102_444_799_999), st.just("2026-11-22T09:15:02.120+08:00")
            )
        ),
    }
    if etype == "agent_state":
        out.update(
            agent_id="a1",
            state=draw(st.sampled_from(["logged_out", "available", "on_call", "wrap_up", "aux"])),
        )
    else:
        out.update(
            call_id=draw(
                st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=12)
            ),
            queue="sales",
            **REQUIRED[etype],
        )
    if draw(st.booleans()):
        out["tenant"] = "acme"
    return out


bodies = st.one_of(
    st.lists(valid_events(), min_size=1, max_size=8).map(orjson.dumps),
    st.lists(valid_events(), min_size=1, max_size=8).map(lambda es: b"\n".join(orjson.dumps(e) for e in es)),
    st.lists(events(), min_size=0, max_size=8).map(orjson.dumps),
    events().map(orjson.dumps),
    json_values.map(lambda v: orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS)),
    st.lists(events(), max_size=5).map(lambda es: b"\n".join(orjson.dumps(e) for e in es)),
    st.binary(max_size=300),
    st.just(b"x" * (LIMIT + 1)),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/x-ndjson",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        "application/JSON",
    ]
)
authorizations = st.one_of(
    st.just(f"Bearer {ACME}"),
    st.sampled_from([f"Bearer {ACME}", f"Bearer {BETA}", "Bearer", "Basic abc", "", f"bearer  {ACME}"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)


@pytest.fixture(scope="module")
def spec(client: AppClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def _response_schema(spec: dict[str, Any], status: int) -> dict[str, Any]:
    responses = spec["paths"]["/events"]["post"]["responses"]
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, content_type=content_types, authorization=authorizations)
def test_fuzz_no_500_and_every_answer_is_described(
    client: AppClient, spec: dict[str, Any], body: bytes, content_type: str, authorization: str
) -> None:
    headers = {"Content-Type": content_type}
    if authorization:
        headers["Authorization"] = authorization
    r = client.post("/events", content=body, headers=headers)
    event(f"status {r.status_code}")
    assert str(r.status_code) in spec["paths"]["/events"]["post"]["responses"], r.text
    assert r.status_code < 500, r.text
    schema = _response_schema(spec, r.status_code)
    resolver_schema = {**schema, "$defs": {}}
    jsonschema.validate(r.json(), resolver_schema, cls=jsonschema.Draft202012Validator)
    if r.status_code == 202:
        assert r.json()["rejected"] == [] and r.json()["accepted"] >= 1
