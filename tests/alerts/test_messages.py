"""zh/en texts: what, where, value against threshold, since when, link; masking of secrets."""

from zoneinfo import ZoneInfo

from stream.alerts.deliver import mask, redact_url
from stream.alerts.messages import AlertFacts, check_template, dashboard_link, format_value, render

SH = ZoneInfo("Asia/Shanghai")
FACTS = AlertFacts(
    kind="firing",
    rule="sl_low",
    severity="critical",
    tenant="acme",
    queue="sales",
    metric="service_level_15",
    window="rolling_15",
    value=0.72,
    threshold=0.8,
    op="<",
    since_ms=1_795_310_100_000,
    now_ms=1_795_310_400_000,
    link=dashboard_link("http://board:8501/", "acme", "sales"),
)


def test_english() -> None:
    title, body = render(FACTS, "en", SH)
    assert title == "FIRING [critical] sl_low · acme / sales"
    assert body.splitlines() == [
        "Service level (15 s) (last 15 min) is 72.0%, threshold < 80.0% (critical)",
        "Where: tenant acme, queue sales",
        "Since: 2026-11-22 09:15:00 +0800 (5m 0s)",
        "Details: http://board:8501/alerts?tenant=acme&queue=sales",
    ]


def test_chinese_uses_the_glossary() -> None:
    title, body = render(FACTS, "zh", SH)
    assert title == "【告警】sl_low · acme / sales"
    assert "15秒接通率（近15分钟）当前 72.0%，阈值 < 80.0%（严重）" in body
    assert (
        "位置：租户 acme，队列 sales" in body and "开始时间：2026-11-22 09:15:00 +0800，持续 5分0秒" in body
    )
    assert "告警详情：http://board:8501/alerts?tenant=acme&queue=sales" in body
    _, rec = render(FACTS.__class__(**{**FACTS.__dict__, "kind": "resolved", "value": 0.85}), "zh", SH)
    assert rec.startswith("15秒接通率（近15分钟）已恢复：当前 85.0%")


def test_template_replaces_the_headline_only() -> None:
    _, body = render(FACTS, "en", SH, template="{queue}: SL {value} (limit {threshold})")
    lines = body.splitlines()
    assert (
        lines[0] == "sales: SL 72.0% (limit 80.0%)"
        and lines[1].startswith("Where:")
        and "Details" in lines[3]
    )
    assert check_template("{queue} {nope}") is not None and check_template("{queue} {{literal}}") is None


def test_values() -> None:
    assert [format_value("oldest_wait_s", v) for v in (None, 5, 75, 200)] == ["—", "5.0s", "75s", "3:20"]
    assert format_value("waiting", 12) == "12" and format_value("abandon_rate", 0.051) == "5.1%"


def test_secrets_are_masked() -> None:
    url = "json://user:s3cretPass@127.0.0.1:9/hooks/T0KEN123456?key=abcdefgh"
    text = f"failed to post to {url}: user:s3cretPass rejected token T0KEN123456 key abcdefgh"
    masked = mask(text, [url])
    for secret in ("s3cretPass", "T0KEN123456", "abcdefgh", url):
        assert secret not in masked
    assert redact_url(url) == "json://***"
