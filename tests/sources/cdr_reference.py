"""A direct pandas computation of queue KPIs from the sample CDR rows — the importer's referee.

Written independently of ``sources.cdr`` (vectorised, straight from the columns), with the same
documented rules: fallbacks for empty/zero queue times, next day for a split time earlier than the
one before it (at most 6 h), negative talk recomputed from the service times, and rows that cannot
be made right left out.
"""

from __future__ import annotations

import pandas as pd

NULLS = ["", "0", "NULL", "0000-00-00 00:00:00"]
TZ = "Asia/Shanghai"


def _split(df: pd.DataFrame, col: str) -> pd.Series:
    text = df["CallDate"] + " " + df[col].where(~df[col].isin(NULLS))
    return pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce").dt.tz_localize(TZ)


def reference_kpis(path: str) -> dict[str, float | int]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df.drop_duplicates()  # the same row exported twice is one call
    df = df[(df["CallType"] != "OUT") & (df["Skill"] != "") & (df["Result"] != "IVR_ONLY")]
    df = df[df["Result"].isin(["ANSWERED", "ABANDONED", "TIMEOUT", "OVERFLOW"])]
    bad_time = df["QueueEnd"].str.match(r"^(2[4-9]|[3-9]\d):") | df["QueueEnd"].str.contains(":6[0-9]:")
    df = df[~bad_time.fillna(False)]
    ivr = pd.to_datetime(
        df["IvrEnd"].where(~df["IvrEnd"].isin(NULLS)), format="%Y-%m-%d %H:%M:%S"
    ).dt.tz_localize(TZ)
    start = _split(df, "AnswerTime")
    entry = _split(df, "QueueStart").fillna(ivr)
    exit_ = _split(df, "QueueEnd").fillna(start)
    end = _split(df, "HangupTime")
    day = pd.Timedelta(days=1)
    six = pd.Timedelta(hours=6)
    bad_order = (exit_ < entry) & (exit_ + day - entry > six)
    end = end.where(~(end < start), end + day)
    df = df.assign(entry=entry, exit=exit_, start=start, end=end)[~bad_order]
    df = df[df["exit"].notna() & df["entry"].notna()]
    talk = pd.to_numeric(df["TalkSec"], errors="coerce")
    talk = talk.where(talk >= 0, (df["end"] - df["start"]).dt.total_seconds())
    hold = pd.to_numeric(df["HoldSec"], errors="coerce").fillna(0)
    acw = pd.to_numeric(df["AcwSec"], errors="coerce")
    df = df.assign(wait=(df["exit"] - df["entry"]).dt.total_seconds(), talk=talk, hold=hold, acw=acw)
    answered = df[df["Result"] == "ANSWERED"]
    answered = answered[answered["hold"] >= 0]  # a negative hold cannot be repaired: left out
    calls = pd.concat([answered, df[df["Result"] != "ANSWERED"]])
    return {
        "offered": len(calls),
        "answered": len(answered),
        "abandoned": int((calls["Result"] == "ABANDONED").sum()),
        "overflowed": int(calls["Result"].isin(["TIMEOUT", "OVERFLOW"]).sum()),
        "talk_ms": int(round(answered["talk"].sum() * 1000)),
        "hold_ms": int(round(answered["hold"].sum() * 1000)),
        "acw_ms": int(round(answered["acw"].fillna(0).sum() * 1000)),
        "wait_ms_answered": int(round(answered["wait"].sum() * 1000)),
        "answered_within_15": int((answered["wait"] <= 15).sum()),
        "max_wait_ms": int(round(calls["wait"].max() * 1000)),
        "first_ms": int(calls["entry"].min().timestamp() * 1000),
        "last_ms": int(calls["end"].max().timestamp() * 1000),
    }
